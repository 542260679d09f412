//! How long a reply may be. A network's connector declares the limit of each kind of item
//! (`core::capabilities`); the core checks it before a reply is queued (the teammate is told
//! at once, with the limit and its unit) and the outbox checks it again when it sends (an edit
//! in the undo window may have made the reply longer), so a reply the network would refuse is
//! never sent. "Characters" are counted as Unicode scalar values (`str::chars`).

use super::ids::Network;
use super::model::ItemKind;
use super::text;

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthUnit {
    /// Unicode characters (scalar values).
    Chars,
    /// Bytes of the UTF-8 encoding (an emoji is 4, an accented letter 2).
    Bytes,
    /// Characters as X weighs them: a link 23, an emoji or a CJK character 2, most others 1
    /// ([`super::x_length::weighted_length`]).
    XWeighted,
}

/// The longest reply a network accepts for one kind of conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyLimit {
    pub max: usize,
    pub unit: LengthUnit,
}

/// A reply over its network's limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", text::reply_too_long(*network, *kind, *length, *limit))]
pub struct TooLong {
    pub network: Network,
    pub kind: ItemKind,
    /// The reply's length, in the limit's unit.
    pub length: usize,
    pub limit: ReplyLimit,
}

impl ReplyLimit {
    pub const fn chars(max: usize) -> Self {
        Self {
            max,
            unit: LengthUnit::Chars,
        }
    }

    pub const fn bytes(max: usize) -> Self {
        Self {
            max,
            unit: LengthUnit::Bytes,
        }
    }

    pub const fn x_weighted(max: usize) -> Self {
        Self {
            max,
            unit: LengthUnit::XWeighted,
        }
    }

    /// `text`'s length in this limit's unit.
    pub fn measure(self, text: &str) -> usize {
        match self.unit {
            LengthUnit::Chars => text.chars().count(),
            LengthUnit::Bytes => text.len(),
            LengthUnit::XWeighted => super::x_length::weighted_length(text),
        }
    }
}

/// `Ok` when `text` fits `limit`, the limit of a reply of `kind` on `network` (named in the
/// refusal).
pub fn check(
    limit: ReplyLimit,
    network: Network,
    kind: ItemKind,
    text: &str,
) -> Result<(), TooLong> {
    let length = limit.measure(text);
    if length > limit.max {
        Err(TooLong {
            network,
            kind,
            length,
            limit,
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_count_utf8_and_characters_count_scalars() {
        let (n, kind) = (Network::Instagram, ItemKind::DirectMessage);
        // 400 emoji: 400 characters, 1,600 bytes.
        let emoji = "😀".repeat(400);
        let err = check(ReplyLimit::bytes(1000), n, kind, &emoji).expect_err("1,600 bytes");
        assert_eq!(err.length, 1600);
        assert!(check(ReplyLimit::chars(2000), n, kind, &emoji).is_ok());
        // Exactly at the limit is fine; one more is not.
        let at = "a".repeat(1000);
        assert!(check(ReplyLimit::bytes(1000), n, kind, &at).is_ok());
        assert!(check(ReplyLimit::bytes(1000), n, kind, &format!("{at}a")).is_err());
        let at = "é".repeat(2000);
        assert!(check(ReplyLimit::chars(2000), n, kind, &at).is_ok());
        let err = check(ReplyLimit::chars(2000), n, kind, &format!("{at}é")).expect_err("2,001");
        assert_eq!(err.length, 2001);
        assert_eq!(err.limit, ReplyLimit::chars(2000));
    }

    #[test]
    fn x_weighs_links_emoji_and_cjk() {
        let (n, kind) = (Network::X, ItemKind::Mention);
        let limit = ReplyLimit::x_weighted(280);
        // 140 CJK characters are X's whole post; one more is over.
        let cjk = "字".repeat(140);
        assert!(check(limit, n, kind, &cjk).is_ok());
        let err = check(limit, n, kind, &format!("{cjk}a")).expect_err("281");
        assert_eq!((err.length, err.limit), (281, limit));
        // A 300-character link is 23, so it fits where counting characters would not.
        let link = format!("https://example.com/{}", "p".repeat(280));
        assert!(check(limit, n, kind, &link).is_ok());
        assert!(check(ReplyLimit::chars(280), n, kind, &link).is_err());
    }
}
