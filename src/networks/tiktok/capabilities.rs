//! What TikTok allows on the connected account's videos (pure data the core reads).

use crate::core::capabilities::{Capabilities, WindowRule};
use crate::core::limits::ReplyLimit;
use crate::core::{ItemKind, Moderation};

/// The longest reply `business/comment/reply/create/` takes: 150 characters (network-apis.md
/// §6.2; TikTok counts UTF-8 characters, so Unicode scalar values here).
pub const MAX_REPLY_CHARS: usize = 150;

/// Comments (and replies) on the account's videos: answered under their thread, no window.
pub fn comments(_kind: ItemKind) -> Capabilities {
    Capabilities {
        reply: Some(ReplyLimit::chars(MAX_REPLY_CHARS)),
        window: WindowRule::None,
        // `business/comment/hide/` hides or unhides a viewer's comment; only comments the
        // account wrote can be deleted (`business/comment/delete/`), i.e. our replies.
        moderation: &[
            Moderation::Hide,
            Moderation::Unhide,
            Moderation::DeleteReply,
        ],
        // TikTok comments cannot be edited.
        edits_reported: false,
        // Deletions come only by webhook (`comment_action: delete`), which is optional.
        deletes_reported: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_up_to_150_characters_hide_unhide_and_delete_our_reply() {
        let caps = comments(ItemKind::Comment);
        assert_eq!(caps.reply, Some(ReplyLimit::chars(150)));
        assert_eq!(caps.window, WindowRule::None);
        for offered in [
            Moderation::Hide,
            Moderation::Unhide,
            Moderation::DeleteReply,
        ] {
            assert!(caps.offers(offered), "{offered:?}");
        }
        for not in [
            Moderation::Delete,
            Moderation::Like,
            Moderation::Block,
            Moderation::Approve,
            Moderation::Reject,
            Moderation::BanAuthor,
        ] {
            assert!(!caps.offers(not), "{not:?}");
        }
    }
}
