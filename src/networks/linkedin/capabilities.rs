//! What LinkedIn allows on an organization page (pure data the core reads).
//!
//! Comments on the page's posts and posts that mention the page are answered with a comment
//! as the organization, 1,250 characters at most (§3.3). The Community Management API has no
//! hide and no block (§3.3: "Hide/block: not available"); only the page's own comments can
//! be deleted, i.e. our replies. LinkedIn's notifications report edits and deletions
//! (`COMMENT_EDIT`, `COMMENT_DELETE`), but they are not read yet.

use crate::core::capabilities::{Capabilities, WindowRule};
use crate::core::limits::ReplyLimit;
use crate::core::{ItemKind, Moderation};

/// The longest comment LinkedIn takes: 1,250 characters (§3.3 [S]).
pub const MAX_COMMENT_CHARS: usize = 1_250;

const fn public() -> Capabilities {
    Capabilities {
        reply: Some(ReplyLimit::chars(MAX_COMMENT_CHARS)),
        window: WindowRule::None,
        moderation: &[Moderation::DeleteReply],
        edits_reported: false,
        deletes_reported: false,
    }
}

/// LinkedIn pages: comments (and replies) on the page's posts, and mentions.
pub fn linkedin(kind: ItemKind) -> Capabilities {
    match kind {
        ItemKind::Comment | ItemKind::Mention => public(),
        // Pages have no direct messages, visitor posts or reviews in this API.
        ItemKind::DirectMessage | ItemKind::VisitorPost | ItemKind::Review => Capabilities::NONE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_up_to_1250_characters_and_only_our_reply_deleted() {
        for kind in [ItemKind::Comment, ItemKind::Mention] {
            let caps = linkedin(kind);
            assert_eq!(caps.reply, Some(ReplyLimit::chars(1_250)), "{kind:?}");
            assert_eq!(caps.window, WindowRule::None);
            assert!(caps.offers(Moderation::DeleteReply));
            for not in [
                Moderation::Hide,
                Moderation::Unhide,
                Moderation::Block,
                Moderation::Delete,
                Moderation::Like,
                Moderation::Mute,
                Moderation::Approve,
                Moderation::Reject,
                Moderation::BanAuthor,
            ] {
                assert!(!caps.offers(not), "{kind:?} {not:?}");
            }
        }
        assert_eq!(linkedin(ItemKind::DirectMessage), Capabilities::NONE);
        assert_eq!(linkedin(ItemKind::Review), Capabilities::NONE);
    }
}
