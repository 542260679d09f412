//! How long a reply may be, per network and kind of conversation. Data, no I/O: the limit is
//! checked before a reply is queued (the teammate is told at once, with the limit and its
//! unit) and again when the outbox sends it (an edit in the undo window may have made it
//! longer), so a reply the network would refuse is never sent.
//!
//! Sources (see `network-apis.md` and the docs named on each line of [`reply_limit`]): Meta
//! documents the Instagram direct-message limit in **bytes** of UTF-8 ("Message text must be
//! UTF-8 and be a 1000 bytes or less"), the others in characters. "Characters" are counted
//! as Unicode scalar values (`str::chars`).

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
    const fn chars(max: usize) -> Self {
        Self {
            max,
            unit: LengthUnit::Chars,
        }
    }

    const fn bytes(max: usize) -> Self {
        Self {
            max,
            unit: LengthUnit::Bytes,
        }
    }

    /// `text`'s length in this limit's unit.
    pub fn measure(self, text: &str) -> usize {
        match self.unit {
            LengthUnit::Chars => text.chars().count(),
            LengthUnit::Bytes => text.len(),
        }
    }
}

/// The reply limit for a ticket of `kind` on `network`.
pub fn reply_limit(network: Network, kind: ItemKind) -> ReplyLimit {
    use ItemKind::*;
    use Network::*;
    match (network, kind) {
        // Messenger Send API: `message.text` "has a 2000 character limit" (Send API reference;
        // also Cequens' Messenger docs). Secondary sources only were readable here.
        (Facebook, DirectMessage) => ReplyLimit::chars(2000),
        // `POST /{id}/comments`: Facebook comments take 8,000 characters (third-party limit
        // tables; Meta's comment reference names no limit).
        (Facebook, Comment | VisitorPost | Mention | Review) => ReplyLimit::chars(8000),
        // Instagram Messaging (Facebook Login), "Send a Message": "Message text must be UTF-8
        // and be a 1000 bytes or less" [C developers.facebook.com].
        (Instagram, DirectMessage) => ReplyLimit::bytes(1000),
        // `POST /{ig-comment-id}/replies`: Instagram comments take 2,200 characters, the caption
        // limit (third-party API docs; Meta's replies reference names no limit).
        (Instagram, Comment | VisitorPost | Mention | Review) => ReplyLimit::chars(2200),
        // Cloud API text messages: `text.body` "Maximum 4096 characters" [C
        // developers.facebook.com/docs/whatsapp/cloud-api/messages/text-messages].
        (Whatsapp, _) => ReplyLimit::chars(4096),
        // `comments.insert`: a YouTube comment holds at most 10,000 characters (YouTube Help,
        // "comment length"; the Data API rejects longer text as invalidCommentMetadata).
        (Youtube, _) => ReplyLimit::chars(10_000),
        // `reviews.updateReply`: the reply comment is at most 4096 bytes
        // (network-apis.md §5.3).
        (Google, _) => ReplyLimit::bytes(4096),
    }
}

/// `Ok` when `text` fits the limit of a reply of `kind` on `network`.
pub fn check_reply(network: Network, kind: ItemKind, text: &str) -> Result<(), TooLong> {
    let limit = reply_limit(network, kind);
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
    fn limits_per_network_and_kind() {
        use ItemKind::*;
        use Network::*;
        let table = [
            (Facebook, Comment, 8000, LengthUnit::Chars),
            (Facebook, VisitorPost, 8000, LengthUnit::Chars),
            (Facebook, Mention, 8000, LengthUnit::Chars),
            (Facebook, DirectMessage, 2000, LengthUnit::Chars),
            (Instagram, Comment, 2200, LengthUnit::Chars),
            (Instagram, Mention, 2200, LengthUnit::Chars),
            (Instagram, DirectMessage, 1000, LengthUnit::Bytes),
            (Whatsapp, DirectMessage, 4096, LengthUnit::Chars),
        ];
        for (network, kind, max, unit) in table {
            assert_eq!(
                reply_limit(network, kind),
                ReplyLimit { max, unit },
                "{network:?} {kind:?}"
            );
        }
    }

    #[test]
    fn instagram_messages_count_bytes_others_characters() {
        // 400 emoji: 400 characters, 1,600 bytes.
        let emoji = "😀".repeat(400);
        let err = check_reply(Network::Instagram, ItemKind::DirectMessage, &emoji)
            .expect_err("1,600 bytes");
        assert_eq!(err.length, 1600);
        assert!(check_reply(Network::Facebook, ItemKind::DirectMessage, &emoji).is_ok());
        assert!(check_reply(Network::Instagram, ItemKind::Comment, &emoji).is_ok());
        // Exactly at the limit is fine; one more is not.
        let at = "a".repeat(1000);
        assert!(check_reply(Network::Instagram, ItemKind::DirectMessage, &at).is_ok());
        assert!(
            check_reply(
                Network::Instagram,
                ItemKind::DirectMessage,
                &format!("{at}a")
            )
            .is_err()
        );
        let at = "é".repeat(2000);
        assert!(check_reply(Network::Facebook, ItemKind::DirectMessage, &at).is_ok());
        let err = check_reply(
            Network::Facebook,
            ItemKind::DirectMessage,
            &format!("{at}é"),
        )
        .expect_err("2,001 characters");
        assert_eq!(err.length, 2001);
        assert!(
            check_reply(
                Network::Whatsapp,
                ItemKind::DirectMessage,
                &"w".repeat(4096)
            )
            .is_ok()
        );
        assert!(
            check_reply(
                Network::Whatsapp,
                ItemKind::DirectMessage,
                &"w".repeat(4097)
            )
            .is_err()
        );
    }
}
