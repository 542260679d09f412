//! Stateless buttons: every card button carries its action and ticket in one versioned string
//! (`sb1:<action>:<ticket id>`), so a click is understood by any replica, after any restart.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ids::TicketId;

/// Version prefix of the action-id format. Bump it when the format changes and keep parsing
/// the old one for as long as old cards may still be clicked.
pub const ACTION_ID_VERSION: &str = "sb1";

/// What a teammate can do to a ticket from its card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardAction {
    Close,
    Reopen,
    MarkRead,
    MarkUnread,
    AssignToMe,
    Unassign,
    /// A user picker: the chosen user comes with the click.
    AssignPerson,
    /// A team picker: the chosen team name comes with the click.
    AssignTeam,
    /// Opens the tags editor.
    EditTags,
    /// Accepts one suggested tag (the tag comes as the button's value).
    AcceptTag,
    /// Opens the reply editor.
    Reply,
    /// A saved-reply picker: opens the reply editor pre-filled.
    SavedReply,
    Hide,
    Unhide,
    /// Irreversible: the button asks for confirmation.
    Delete,
    Like,
    Block,
    /// Publish an item the network holds for review.
    Approve,
    /// Keep a held item from the public.
    Reject,
    /// Reject a held item and ban its author (asks for confirmation).
    BanAuthor,
    /// Delete the team's latest reply on the network (asks for confirmation).
    DeleteReply,
    /// Mute the author (X).
    Mute,
    /// A picker of the account that replies (its id comes with the click).
    ChooseProfile,
}

impl CardAction {
    /// The status action a bulk command's verb names (`close`, `open`/`reopen`, `read`,
    /// `unread`), on either surface.
    pub fn from_bulk_verb(verb: &str) -> Option<CardAction> {
        match verb.to_ascii_lowercase().as_str() {
            "close" => Some(CardAction::Close),
            "open" | "reopen" => Some(CardAction::Reopen),
            "read" => Some(CardAction::MarkRead),
            "unread" => Some(CardAction::MarkUnread),
            _ => None,
        }
    }

    /// What a teammate must be allowed to do to run this action by filter: close / reopen
    /// need `Close`, mark read / unread need `Bulk`.
    pub fn bulk_permission(self) -> super::permission::Permission {
        use super::permission::Permission;
        match self {
            CardAction::Close | CardAction::Reopen => Permission::Close,
            _ => Permission::Bulk,
        }
    }

    pub const ALL: [CardAction; 23] = [
        CardAction::Hide,
        CardAction::Unhide,
        CardAction::Delete,
        CardAction::Like,
        CardAction::Block,
        CardAction::Approve,
        CardAction::Reject,
        CardAction::BanAuthor,
        CardAction::DeleteReply,
        CardAction::ChooseProfile,
        CardAction::Close,
        CardAction::Reopen,
        CardAction::MarkRead,
        CardAction::MarkUnread,
        CardAction::AssignToMe,
        CardAction::Unassign,
        CardAction::AssignPerson,
        CardAction::AssignTeam,
        CardAction::EditTags,
        CardAction::AcceptTag,
        CardAction::Reply,
        CardAction::SavedReply,
        CardAction::Mute,
    ];

    /// What a teammate must be allowed to do for this control (None: anyone may).
    pub fn permission(self) -> Option<super::permission::Permission> {
        use super::permission::Permission;
        match self {
            CardAction::Close | CardAction::Reopen => Some(Permission::Close),
            CardAction::AssignToMe
            | CardAction::Unassign
            | CardAction::AssignPerson
            | CardAction::AssignTeam => Some(Permission::Assign),
            CardAction::Reply | CardAction::SavedReply | CardAction::ChooseProfile => {
                Some(Permission::Reply)
            }
            CardAction::Hide
            | CardAction::Unhide
            | CardAction::Delete
            | CardAction::Like
            | CardAction::Block
            | CardAction::Approve
            | CardAction::Reject
            | CardAction::BanAuthor
            | CardAction::DeleteReply
            | CardAction::Mute => Some(Permission::Moderate),
            CardAction::MarkRead
            | CardAction::MarkUnread
            | CardAction::EditTags
            | CardAction::AcceptTag => None,
        }
    }

    /// The moderation action this control asks for, if it is one.
    pub fn moderation(self) -> Option<super::model::Moderation> {
        use super::model::Moderation;
        Some(match self {
            CardAction::Hide => Moderation::Hide,
            CardAction::Unhide => Moderation::Unhide,
            CardAction::Delete => Moderation::Delete,
            CardAction::Like => Moderation::Like,
            CardAction::Block => Moderation::Block,
            CardAction::Approve => Moderation::Approve,
            CardAction::Reject => Moderation::Reject,
            CardAction::BanAuthor => Moderation::BanAuthor,
            CardAction::DeleteReply => Moderation::DeleteReply,
            CardAction::Mute => Moderation::Mute,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CardAction::Close => "close",
            CardAction::Reopen => "reopen",
            CardAction::MarkRead => "read",
            CardAction::MarkUnread => "unread",
            CardAction::AssignToMe => "assign_me",
            CardAction::Unassign => "unassign",
            CardAction::AssignPerson => "assign",
            CardAction::AssignTeam => "assign_team",
            CardAction::EditTags => "tags",
            CardAction::AcceptTag => "accept_tag",
            CardAction::Reply => "reply",
            CardAction::SavedReply => "saved_reply",
            CardAction::Hide => "hide",
            CardAction::Unhide => "unhide",
            CardAction::Delete => "delete",
            CardAction::Like => "like",
            CardAction::Block => "block",
            CardAction::Approve => "approve",
            CardAction::Reject => "reject",
            CardAction::BanAuthor => "ban",
            CardAction::DeleteReply => "delete_reply",
            CardAction::Mute => "mute",
            CardAction::ChooseProfile => "profile",
        }
    }
}

/// A button's identity: the action and the ticket it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActionId {
    pub action: CardAction,
    pub ticket: TicketId,
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ACTION_ID_VERSION}:{}:{}",
            self.action.as_str(),
            self.ticket
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionIdError {
    #[error("not a Switchboard action id")]
    Foreign,
    #[error("action id version {0:?} is not supported")]
    Version(String),
    #[error("unknown action {0:?}")]
    UnknownAction(String),
    #[error("bad ticket id {0:?}")]
    BadTicket(String),
}

impl FromStr for ActionId {
    type Err = ActionIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, ':');
        let (Some(version), Some(action), Some(ticket)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(ActionIdError::Foreign);
        };
        if !version.starts_with("sb") {
            return Err(ActionIdError::Foreign);
        }
        if version != ACTION_ID_VERSION {
            return Err(ActionIdError::Version(version.to_string()));
        }
        let action = CardAction::ALL
            .into_iter()
            .find(|a| a.as_str() == action)
            .ok_or_else(|| ActionIdError::UnknownAction(action.to_string()))?;
        let ticket = ticket
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(TicketId)
            .ok_or_else(|| ActionIdError::BadTicket(ticket.to_string()))?;
        Ok(ActionId { action, ticket })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_action() {
        for action in CardAction::ALL {
            let id = ActionId {
                action,
                ticket: TicketId(7),
            };
            assert_eq!(id.to_string().parse::<ActionId>(), Ok(id));
        }
        assert_eq!(
            ActionId {
                action: CardAction::Close,
                ticket: TicketId(42)
            }
            .to_string(),
            "sb1:close:42"
        );
    }

    #[test]
    fn every_bulk_verb_needs_a_permission() {
        use crate::core::permission::Permission;
        let cases = [
            ("close", Permission::Close),
            ("open", Permission::Close),
            ("reopen", Permission::Close),
            ("read", Permission::Bulk),
            ("unread", Permission::Bulk),
        ];
        for (verb, want) in cases {
            let action = CardAction::from_bulk_verb(verb).expect(verb);
            assert_eq!(action.bulk_permission(), want, "{verb}");
        }
    }

    #[test]
    fn rejects_malformed_ids() {
        let cases = [
            ("approve_reply", ActionIdError::Foreign),
            ("x:y:z", ActionIdError::Foreign),
            ("sb9:close:1", ActionIdError::Version("sb9".into())),
            (
                "sb1:explode:1",
                ActionIdError::UnknownAction("explode".into()),
            ),
            ("sb1:close:abc", ActionIdError::BadTicket("abc".into())),
            ("sb1:close:-3", ActionIdError::BadTicket("-3".into())),
            ("sb1:close:", ActionIdError::BadTicket("".into())),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<ActionId>(), Err(want), "{input}");
        }
    }
}
