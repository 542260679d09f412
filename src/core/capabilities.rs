//! What a network allows for one kind of item, as data. Each connector declares its
//! networks' capabilities (`networks::<network>`); the core reads them, so a card shows only
//! the buttons the network allows, a reply over the network's limit is refused before it is
//! queued, and a private conversation's reply window is the network's own.
//!
//! Pure data: no I/O, nothing about how a network is called.

use chrono::{DateTime, Utc};

use super::limits::{ReplyLimit, TooLong};
use super::model::{Moderation, Ticket};

/// When a reply may still be sent, counted from the customer's last message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowRule {
    /// Always (comments, posts, reviews).
    None,
    /// Within `standard_hours` of the customer's last message; `extended_hours`: a longer
    /// window a message tag opens (Messenger's HUMAN_AGENT), when the app may use it.
    Messaging {
        standard_hours: i64,
        extended_hours: Option<i64>,
    },
}

/// What a network allows for one kind of item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// The item can be answered from chat, with replies up to this limit; `None`: it cannot.
    pub reply: Option<ReplyLimit>,
    /// When a reply may be sent.
    pub window: WindowRule,
    /// The moderation actions the network offers on the item (a card shows those that apply
    /// to the item's current state; see [`Moderation::available`]).
    pub moderation: &'static [Moderation],
    /// The network reports the customer's edits (so cards follow them).
    pub edits_reported: bool,
    /// The network reports deletions.
    pub deletes_reported: bool,
}

impl Capabilities {
    /// A network this server has no connector for: nothing can be done to its items.
    pub const NONE: Capabilities = Capabilities {
        reply: None,
        window: WindowRule::None,
        moderation: &[],
        edits_reported: false,
        deletes_reported: false,
    };

    /// Whether the network offers `action` on this kind of item at all.
    pub fn offers(&self, action: Moderation) -> bool {
        self.moderation.contains(&action)
    }
}

/// Why a reply to a ticket cannot go out now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyRefusal {
    /// The network takes no replies to this kind of item.
    #[error("{}", super::text::REPLY_NOT_SUPPORTED)]
    NotSupported,
    /// The conversation's reply window on `0` has closed.
    #[error("{}", super::text::reply_outside_window(*.0))]
    OutsideWindow(super::ids::Network),
    /// Longer than the network takes.
    #[error(transparent)]
    TooLong(#[from] TooLong),
}

/// Whether `text` may be sent as a reply to `ticket` at `now`, under its network's `caps`:
/// checked before a reply is queued, and again when it is sent.
pub fn check_reply(
    ticket: &Ticket,
    caps: &Capabilities,
    text: &str,
    now: DateTime<Utc>,
) -> Result<(), ReplyRefusal> {
    let limit = caps.reply.ok_or(ReplyRefusal::NotSupported)?;
    if !super::window::window(ticket, &caps.window, now).allows_reply() {
        return Err(ReplyRefusal::OutsideWindow(ticket.state.network));
    }
    let s = &ticket.state;
    super::limits::check(limit, s.network, s.kind, text)?;
    Ok(())
}

impl WindowRule {
    /// The longest a conversation can stay answerable, in hours (`None`: always).
    pub fn longest_hours(&self) -> Option<i64> {
        match *self {
            WindowRule::None => None,
            WindowRule::Messaging {
                standard_hours,
                extended_hours,
            } => Some(extended_hours.unwrap_or(standard_hours).max(standard_hours)),
        }
    }
}

/// Capabilities for the core's own tests: a comment network that allows everything.
#[cfg(test)]
pub(crate) const TEST_COMMENTS: Capabilities = Capabilities {
    reply: Some(ReplyLimit::chars(8000)),
    window: WindowRule::None,
    moderation: &[
        Moderation::Hide,
        Moderation::Unhide,
        Moderation::Delete,
        Moderation::Like,
        Moderation::Block,
    ],
    edits_reported: true,
    deletes_reported: true,
};
