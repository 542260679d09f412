//! What the Meta family allows, per network and kind of item (pure data the core reads).
//!
//! Reply limits: Meta documents the Instagram direct-message limit in **bytes** of UTF-8
//! ("Message text must be UTF-8 and be a 1000 bytes or less"), the others in characters.

use crate::core::capabilities::{Capabilities, WindowRule};
use crate::core::limits::ReplyLimit;
use crate::core::{ItemKind, Moderation};

/// The standard messaging window of Messenger, Instagram and WhatsApp.
pub const STANDARD_WINDOW_HOURS: i64 = 24;
/// Messenger's window with the HUMAN_AGENT tag (7 days).
pub const HUMAN_AGENT_WINDOW_HOURS: i64 = 24 * 7;

/// Comments and posts: no window; edits and removals come by webhook.
const fn comments(limit: ReplyLimit, moderation: &'static [Moderation]) -> Capabilities {
    Capabilities {
        reply: Some(limit),
        window: WindowRule::None,
        moderation,
        edits_reported: true,
        deletes_reported: true,
    }
}

/// Private conversations: a window, nothing to moderate.
const fn conversation(limit: ReplyLimit, extended_hours: Option<i64>) -> Capabilities {
    Capabilities {
        reply: Some(limit),
        window: WindowRule::Messaging {
            standard_hours: STANDARD_WINDOW_HOURS,
            extended_hours,
        },
        moderation: &[],
        edits_reported: true,
        deletes_reported: false,
    }
}

/// Facebook Pages. `human_agent`: the app has Messenger's Human Agent permission, so a reply
/// up to 7 days after the customer's last message goes out with the HUMAN_AGENT tag.
pub fn facebook(kind: ItemKind, human_agent: bool) -> Capabilities {
    use Moderation::*;
    match kind {
        // Messenger Send API: `message.text` "has a 2000 character limit" (Send API
        // reference; also Cequens' Messenger docs). Secondary sources only were readable.
        ItemKind::DirectMessage => conversation(
            ReplyLimit::chars(2000),
            if human_agent {
                Some(HUMAN_AGENT_WINDOW_HOURS)
            } else {
                None
            },
        ),
        // `POST /{id}/comments`: Facebook comments take 8,000 characters (third-party limit
        // tables; Meta's comment reference names no limit).
        ItemKind::Comment | ItemKind::VisitorPost | ItemKind::Mention | ItemKind::Review => {
            comments(
                ReplyLimit::chars(8000),
                &[Hide, Unhide, Delete, Like, Block],
            )
        }
    }
}

/// Instagram professional accounts (Facebook Login: replies go through the linked Page).
pub fn instagram(kind: ItemKind) -> Capabilities {
    use Moderation::*;
    match kind {
        // Instagram Messaging (Facebook Login), "Send a Message": "Message text must be UTF-8
        // and be a 1000 bytes or less" [C developers.facebook.com].
        ItemKind::DirectMessage => conversation(ReplyLimit::bytes(1000), None),
        // `POST /{ig-comment-id}/replies`: 2,200 characters, the caption limit (third-party
        // API docs; Meta's replies reference names no limit). No like or block API.
        ItemKind::Comment | ItemKind::VisitorPost | ItemKind::Mention | ItemKind::Review => {
            comments(ReplyLimit::chars(2200), &[Hide, Unhide, Delete])
        }
    }
}

/// WhatsApp Business numbers: every chat is a conversation.
pub fn whatsapp(_kind: ItemKind) -> Capabilities {
    // Cloud API text messages: `text.body` "Maximum 4096 characters" [C
    // developers.facebook.com/docs/whatsapp/cloud-api/messages/text-messages]. After 24 hours
    // only templates may be sent: no extended window.
    conversation(ReplyLimit::chars(4096), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::limits::LengthUnit;

    #[test]
    fn limits_per_network_and_kind() {
        use ItemKind::*;
        let table = [
            (facebook(Comment, false), 8000, LengthUnit::Chars),
            (facebook(VisitorPost, false), 8000, LengthUnit::Chars),
            (facebook(Mention, false), 8000, LengthUnit::Chars),
            (facebook(DirectMessage, false), 2000, LengthUnit::Chars),
            (instagram(Comment), 2200, LengthUnit::Chars),
            (instagram(Mention), 2200, LengthUnit::Chars),
            (instagram(DirectMessage), 1000, LengthUnit::Bytes),
            (whatsapp(DirectMessage), 4096, LengthUnit::Chars),
        ];
        for (i, (caps, max, unit)) in table.into_iter().enumerate() {
            assert_eq!(caps.reply, Some(ReplyLimit { max, unit }), "row {i}");
        }
    }

    #[test]
    fn windows_and_moderation() {
        use ItemKind::*;
        let dm = WindowRule::Messaging {
            standard_hours: 24,
            extended_hours: None,
        };
        assert_eq!(facebook(Comment, true).window, WindowRule::None);
        assert_eq!(facebook(DirectMessage, false).window, dm);
        assert_eq!(
            facebook(DirectMessage, true).window,
            WindowRule::Messaging {
                standard_hours: 24,
                extended_hours: Some(168),
            }
        );
        // Only Messenger has a human-agent window.
        assert_eq!(instagram(DirectMessage).window, dm);
        assert_eq!(whatsapp(DirectMessage).window, dm);
        // Nothing to moderate in private conversations; no like or block on Instagram.
        assert!(facebook(DirectMessage, false).moderation.is_empty());
        assert!(whatsapp(DirectMessage).moderation.is_empty());
        assert!(facebook(Comment, false).offers(Moderation::Block));
        assert!(!instagram(Comment).offers(Moderation::Like));
        assert!(instagram(Comment).offers(Moderation::Hide));
    }
}
