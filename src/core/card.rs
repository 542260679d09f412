//! The card view model: what a card shows, independent of Slack or Discord. A surface renders
//! it into its own blocks or components.

use chrono::{DateTime, Utc};

use super::action::{ActionId, CardAction};
use super::ids::{Teammate, TicketId};
use super::model::{Status, Ticket};
use super::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonStyle {
    Primary,
    Danger,
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: &'static str,
    pub action: ActionId,
    pub style: ButtonStyle,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardView {
    pub ticket: TicketId,
    pub headline: String,
    pub author: String,
    pub text: String,
    pub edited: bool,
    pub deleted: bool,
    pub permalink: Option<String>,
    pub created_at: DateTime<Utc>,
    pub status: Status,
    pub assignee: Option<Teammate>,
    pub tags: Vec<String>,
    pub last_replied_by: Option<Teammate>,
    /// A warning line while the latest reply has failed.
    pub failure: Option<String>,
    pub buttons: Vec<Button>,
}

impl CardView {
    /// `account_name` is the human name of the connected account (from configuration).
    pub fn of(ticket: &Ticket, account_name: &str) -> Self {
        let s = &ticket.state;
        let action = |action| ActionId {
            action,
            ticket: ticket.id,
        };
        let buttons = match s.status {
            Status::Unread => vec![
                Button {
                    label: text::button(CardAction::MarkRead),
                    action: action(CardAction::MarkRead),
                    style: ButtonStyle::Default,
                },
                Button {
                    label: text::button(CardAction::Close),
                    action: action(CardAction::Close),
                    style: ButtonStyle::Primary,
                },
            ],
            Status::Read => vec![
                Button {
                    label: text::button(CardAction::MarkUnread),
                    action: action(CardAction::MarkUnread),
                    style: ButtonStyle::Default,
                },
                Button {
                    label: text::button(CardAction::Close),
                    action: action(CardAction::Close),
                    style: ButtonStyle::Primary,
                },
            ],
            Status::Closed => vec![Button {
                label: text::button(CardAction::Reopen),
                action: action(CardAction::Reopen),
                style: ButtonStyle::Default,
            }],
        };
        CardView {
            ticket: ticket.id,
            headline: text::card_headline(s.network, s.kind, account_name),
            author: s
                .customer
                .name
                .clone()
                .unwrap_or_else(|| text::UNKNOWN_AUTHOR.to_string()),
            text: s.first_text.clone(),
            edited: s.first_item_edited,
            deleted: s.first_item_deleted,
            permalink: s.permalink.clone(),
            created_at: s.created_at,
            status: s.status,
            assignee: s.assignee.clone(),
            tags: s.tags.clone(),
            last_replied_by: s.last_replied_by.clone(),
            failure: s.last_failure.as_ref().map(text::card_failure),
            buttons,
        }
    }
}
