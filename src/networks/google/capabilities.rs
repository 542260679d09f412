//! What the two Google networks allow (pure data the core reads).

use crate::core::capabilities::{Capabilities, WindowRule};
use crate::core::limits::ReplyLimit;
use crate::core::{ItemKind, Moderation};

/// YouTube comments (and replies to them): answered under their thread, no window.
pub fn youtube(_kind: ItemKind) -> Capabilities {
    Capabilities {
        // `comments.insert`: a YouTube comment holds at most 10,000 characters (YouTube Help,
        // "comment length"; the Data API rejects longer text as invalidCommentMetadata).
        reply: Some(ReplyLimit::chars(10_000)),
        window: WindowRule::None,
        // A viewer's comment cannot be deleted by the channel, only moderated: held comments
        // are approved or rejected (their author banned); our own replies can be deleted.
        moderation: &[
            Moderation::Approve,
            Moderation::Reject,
            Moderation::BanAuthor,
            Moderation::DeleteReply,
        ],
        edits_reported: true,
        // A removed comment simply stops being listed: nothing says it went.
        deletes_reported: false,
    }
}

/// Google Business Profile reviews: one reply per review (a second one replaces it).
pub fn reviews(_kind: ItemKind) -> Capabilities {
    Capabilities {
        // `reviews.updateReply`: the reply comment is at most 4096 bytes (network-apis.md §5.3).
        reply: Some(ReplyLimit::bytes(4096)),
        window: WindowRule::None,
        // Reviews can be neither hidden nor deleted through the API; our reply can.
        moderation: &[Moderation::DeleteReply],
        edits_reported: true,
        deletes_reported: false,
    }
}
