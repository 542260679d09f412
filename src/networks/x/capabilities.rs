//! What X allows (pure data the core reads).
//!
//! Replies are posts, counted the way X counts them (`core::x_length`: a link 23, an emoji or
//! a CJK character 2), 280 at most. Only replies in a conversation the account started can be
//! hidden (`PUT /2/tweets/{id}/hidden`), so the payload parser files a direct reply to one of
//! the account's posts as a [`ItemKind::Comment`] (hideable) and every other post that names
//! the account as a [`ItemKind::Mention`] (no Hide). X reports neither edits (an edit is a new
//! post) nor deletions to a poller.

use crate::core::capabilities::{Capabilities, WindowRule};
use crate::core::limits::ReplyLimit;
use crate::core::x_length::MAX_POST_WEIGHT;
use crate::core::{ItemKind, Moderation};

/// A direct message's longest text: "Direct Messages can be up to 10,000 characters" (X Help
/// Center). Counted by weight like posts (X wraps links in DMs too), which never counts a
/// reply shorter than it is.
pub const MAX_DM_WEIGHT: usize = 10_000;

const fn public(moderation: &'static [Moderation]) -> Capabilities {
    Capabilities {
        reply: Some(ReplyLimit::x_weighted(MAX_POST_WEIGHT)),
        window: WindowRule::None,
        moderation,
        edits_reported: false,
        deletes_reported: false,
    }
}

/// X accounts: replies to the account's posts, other mentions, and direct messages.
pub fn x(kind: ItemKind) -> Capabilities {
    use Moderation::*;
    match kind {
        // A direct reply to one of our posts: hide / unhide it (a conversation we own), like
        // it, mute its author, delete our reply to it.
        ItemKind::Comment => public(&[Hide, Unhide, Like, Mute, DeleteReply]),
        // A post elsewhere that names us: not ours to hide.
        ItemKind::Mention => public(&[Like, Mute, DeleteReply]),
        // X documents no reply window for direct messages: an account that accepts the
        // customer's messages can answer at any time. Nothing to moderate in them.
        ItemKind::DirectMessage => Capabilities {
            reply: Some(ReplyLimit::x_weighted(MAX_DM_WEIGHT)),
            window: WindowRule::None,
            moderation: &[],
            edits_reported: false,
            deletes_reported: false,
        },
        // X has no visitor posts or reviews: nothing of the kind is ever filed.
        ItemKind::VisitorPost | ItemKind::Review => Capabilities::NONE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::limits::LengthUnit;

    #[test]
    fn replies_are_weighed_and_only_our_conversations_can_be_hidden() {
        use ItemKind::*;
        for (kind, max) in [(Comment, 280), (Mention, 280), (DirectMessage, 10_000)] {
            let caps = x(kind);
            assert_eq!(
                caps.reply,
                Some(ReplyLimit {
                    max,
                    unit: LengthUnit::XWeighted
                }),
                "{kind:?}"
            );
            assert_eq!(caps.window, WindowRule::None, "{kind:?}");
        }
        assert!(x(Comment).offers(Moderation::Hide) && x(Comment).offers(Moderation::Unhide));
        assert!(!x(Mention).offers(Moderation::Hide));
        for kind in [Comment, Mention] {
            for action in [Moderation::Like, Moderation::Mute, Moderation::DeleteReply] {
                assert!(x(kind).offers(action), "{kind:?} {action:?}");
            }
            // No delete of someone else's post, no block endpoint in X's API.
            assert!(!x(kind).offers(Moderation::Delete));
            assert!(!x(kind).offers(Moderation::Block));
        }
        assert!(x(DirectMessage).moderation.is_empty());
        assert_eq!(x(Review), Capabilities::NONE);
    }
}
