//! The card view model: what a card shows, independent of Slack or Discord. A surface renders
//! it into its own blocks or components.

use chrono::{DateTime, Duration, Utc};

use super::action::{ActionId, CardAction};
use super::capabilities::Capabilities;
use super::ids::{Teammate, TicketId};
use super::model::{Assignee, ItemKind, Moderation, Status, Ticket};
use super::rich::Rich;
use super::text;

/// A "is replying…" mark older than this is ignored (a modal left open, a lost close event).
pub const REPLYING_STALE_AFTER_MINUTES: i64 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonStyle {
    Primary,
    Danger,
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub action: ActionId,
    pub style: ButtonStyle,
    /// Extra data carried by the click (the tag of a suggested-tag button).
    pub value: Option<String>,
    /// Ask before acting (irreversible actions).
    pub confirm: Option<Confirm>,
}

/// A confirmation dialog shown before a button acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub title: &'static str,
    pub text: &'static str,
    pub ok: &'static str,
    pub deny: &'static str,
}

/// The confirmation an action asks for before it acts (irreversible ones), if any.
pub fn confirmation(action: CardAction) -> Option<Confirm> {
    let (title, text, ok) = match action {
        CardAction::Delete => (
            text::DELETE_CONFIRM_TITLE,
            text::DELETE_CONFIRM_TEXT,
            text::DELETE_CONFIRM_OK,
        ),
        CardAction::DeleteReply => (
            text::DELETE_REPLY_CONFIRM_TITLE,
            text::DELETE_REPLY_CONFIRM_TEXT,
            text::DELETE_CONFIRM_OK,
        ),
        CardAction::BanAuthor => (
            text::BAN_CONFIRM_TITLE,
            text::BAN_CONFIRM_TEXT,
            text::BAN_CONFIRM_OK,
        ),
        _ => return None,
    };
    Some(Confirm {
        title,
        text,
        ok,
        deny: text::DELETE_CONFIRM_DENY,
    })
}

/// A picker on the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picker {
    /// Choose a teammate.
    Person {
        action: ActionId,
        placeholder: String,
    },
    /// Choose a configured team.
    Team {
        action: ActionId,
        placeholder: String,
        teams: Vec<String>,
    },
    /// Choose a saved reply (options are searched as the user types).
    SavedReply {
        action: ActionId,
        placeholder: String,
    },
    /// Choose the account that replies: (value, label) pairs, the account's id and name.
    Profile {
        action: ActionId,
        placeholder: String,
        options: Vec<(String, String)>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardView {
    pub ticket: TicketId,
    pub headline: String,
    /// The customer's name.
    pub author: String,
    /// What the item is about, its rating, whether the network holds it (see
    /// [`text::item_about`]); `None` when the network says nothing of the kind.
    pub about: Option<Rich>,
    /// What the customer wrote (or, for a mention without text, our line saying so).
    pub text: Rich,
    pub edited: bool,
    pub deleted: bool,
    pub permalink: Option<String>,
    /// The permalink button's label ("View on YouTube").
    pub view_label: String,
    pub created_at: DateTime<Utc>,
    pub status: Status,
    pub assignee: Option<Assignee>,
    pub tags: Vec<String>,
    pub last_replied_by: Option<Teammate>,
    /// A warning line while the latest reply has failed (quoting the network).
    pub failure: Option<Rich>,
    /// Teammates composing a reply now (fresh marks only).
    pub replying: Vec<Teammate>,
    /// Which account replies (see [`CardView::with_profile`]).
    pub replying_as: Option<Rich>,
    /// The name of the account the last reply went out as, when not the ticket's own.
    pub last_replied_as: Option<String>,
    /// Status, assignment, tags and reply buttons.
    pub buttons: Vec<Button>,
    pub pickers: Vec<Picker>,
    /// One button per suggested tag.
    pub suggestions: Vec<Button>,
    /// The reply-window line of a private conversation (see [`window_line`]).
    pub window: Option<String>,
    /// What moderation has done ("Hidden from the public · Liked").
    pub moderation: Option<String>,
    /// The last moderation the network refused (quoting the network).
    pub moderation_failure: Option<Rich>,
    /// The retention job archived the ticket (see [`text::archived`]).
    pub archived: Option<String>,
    /// Closed automatically (see [`text::auto_closed`]).
    pub auto_closed: Option<String>,
    /// The response the customer waits for and where its SLA stands (the surface renders
    /// the due time; see [`text::sla_line`]).
    pub sla: Option<(super::model::SlaTarget, super::sla::Standing)>,
    /// Assigned by an auto-assignment rule (see [`text::auto_assigned`]).
    pub auto_assigned: Option<Rich>,
}

/// The reply-window line for a ticket at `now` under its network's capabilities (None for
/// comments and posts, and for items that cannot be answered at all).
pub fn window_line(ticket: &Ticket, caps: &Capabilities, now: DateTime<Utc>) -> Option<String> {
    use super::window::{Window, window};
    caps.reply?;
    match window(ticket, &caps.window, now) {
        Window::None => None,
        Window::Open { left } => Some(text::window_left(left, false)),
        Window::Extended { left } => Some(text::window_left(left, true)),
        Window::Closed => Some(text::window_closed(ticket.state.network)),
    }
}

impl CardView {
    /// `caps` are what the ticket's network allows for its kind of item (which buttons show),
    /// `account_name` is the human name of the connected account, `teams` the configured
    /// team names (empty: no team picker), `now` decides which "replying" marks are fresh.
    pub fn of(
        ticket: &Ticket,
        caps: &Capabilities,
        account_name: &str,
        teams: &[String],
        now: DateTime<Utc>,
    ) -> Self {
        let s = &ticket.state;
        let action = |action| ActionId {
            action,
            ticket: ticket.id,
        };
        let button = |a: CardAction, style| Button {
            label: text::button(a).to_string(),
            action: action(a),
            style,
            value: None,
            confirm: confirmation(a),
        };
        let mut buttons = match s.status {
            Status::Unread => vec![
                button(CardAction::MarkRead, ButtonStyle::Default),
                button(CardAction::Close, ButtonStyle::Primary),
            ],
            Status::Read => vec![
                button(CardAction::MarkUnread, ButtonStyle::Default),
                button(CardAction::Close, ButtonStyle::Primary),
            ],
            Status::Closed => vec![button(CardAction::Reopen, ButtonStyle::Default)],
        };
        if caps.reply.is_some() {
            buttons.push(button(CardAction::Reply, ButtonStyle::Default));
        }
        buttons.push(if s.assignee.is_some() {
            button(CardAction::Unassign, ButtonStyle::Default)
        } else {
            button(CardAction::AssignToMe, ButtonStyle::Default)
        });
        buttons.push(button(CardAction::EditTags, ButtonStyle::Default));
        // Moderation, where the network allows it and the item still exists.
        let m = &s.moderation;
        if !m.deleted {
            for allowed in &Moderation::available(s, caps) {
                let b = match allowed {
                    Moderation::Hide if !m.hidden => button(CardAction::Hide, ButtonStyle::Default),
                    Moderation::Unhide if m.hidden => {
                        button(CardAction::Unhide, ButtonStyle::Default)
                    }
                    Moderation::Like if !m.liked => button(CardAction::Like, ButtonStyle::Default),
                    Moderation::Block if !m.author_blocked => {
                        button(CardAction::Block, ButtonStyle::Danger)
                    }
                    Moderation::Delete => button(CardAction::Delete, ButtonStyle::Danger),
                    Moderation::Approve if !m.approved && !m.rejected => {
                        button(CardAction::Approve, ButtonStyle::Primary)
                    }
                    Moderation::Reject if !m.rejected => {
                        button(CardAction::Reject, ButtonStyle::Default)
                    }
                    Moderation::BanAuthor if !m.author_blocked => {
                        button(CardAction::BanAuthor, ButtonStyle::Danger)
                    }
                    Moderation::DeleteReply => button(CardAction::DeleteReply, ButtonStyle::Danger),
                    Moderation::Mute if !m.author_muted => {
                        button(CardAction::Mute, ButtonStyle::Default)
                    }
                    _ => continue,
                };
                buttons.push(b);
            }
        }

        let mut pickers = vec![Picker::Person {
            action: action(CardAction::AssignPerson),
            placeholder: text::button(CardAction::AssignPerson).to_string(),
        }];
        if !teams.is_empty() {
            pickers.push(Picker::Team {
                action: action(CardAction::AssignTeam),
                placeholder: text::button(CardAction::AssignTeam).to_string(),
                teams: teams.to_vec(),
            });
        }
        if caps.reply.is_some() {
            pickers.push(Picker::SavedReply {
                action: action(CardAction::SavedReply),
                placeholder: text::button(CardAction::SavedReply).to_string(),
            });
        }

        let suggestions = s
            .suggested_tags
            .iter()
            .map(|tag| Button {
                label: text::suggested_tag(tag),
                action: action(CardAction::AcceptTag),
                style: ButtonStyle::Default,
                value: Some(tag.clone()),
                confirm: None,
            })
            .collect();
        let fresh = now - Duration::minutes(REPLYING_STALE_AFTER_MINUTES);
        let mut view = CardView {
            ticket: ticket.id,
            headline: text::card_headline(s.network, s.kind, account_name),
            author: s.customer_name(),
            about: text::item_about(&super::model::ItemContext {
                // Decided by the team: no longer waiting.
                held: s.context.held.filter(|_| !m.approved && !m.rejected),
                ..s.context.clone()
            }),
            // A conversation's card shows its newest message; a comment's, the comment.
            text: match (s.kind, &s.last_text) {
                (ItemKind::DirectMessage, Some(last)) => Rich::theirs(last),
                // Instagram sends mentions without their text.
                (ItemKind::Mention, _) if s.first_text.is_empty() => {
                    Rich::ours(text::MENTION_WITHOUT_TEXT)
                }
                // Google reviews may be stars alone.
                (ItemKind::Review, _) if s.first_text.is_empty() => {
                    Rich::ours(text::REVIEW_WITHOUT_TEXT)
                }
                _ => Rich::theirs(&s.first_text),
            },
            edited: s.first_item_edited,
            deleted: s.first_item_deleted,
            permalink: s.permalink.clone(),
            view_label: text::view_on(s.network),
            created_at: s.created_at,
            status: s.status,
            assignee: s.assignee.clone(),
            tags: s.tags.clone(),
            last_replied_by: s.last_replied_by.clone(),
            failure: s
                .last_failure
                .as_ref()
                .map(|r| text::card_failure(s.network, r)),
            replying: s
                .replying
                .iter()
                .filter(|r| r.since > fresh)
                .map(|r| r.teammate.clone())
                .collect(),
            buttons,
            pickers,
            suggestions,
            replying_as: None,
            last_replied_as: None,
            window: None,
            moderation: text::moderation_line(&s.moderation),
            moderation_failure: s
                .moderation
                .failure
                .as_ref()
                .map(|(a, r)| text::moderation_failed(s.network, *a, r)),
            archived: None,
            auto_closed: s
                .auto_closed
                .filter(|_| s.status == Status::Closed)
                .map(text::auto_closed),
            sla: s
                .sla
                .and_then(|c| Some((c.target, super::sla::standing(&c, now)?))),
            auto_assigned: s
                .auto_assigned
                .as_deref()
                .filter(|_| s.assignee.is_some())
                .map(text::auto_assigned),
        };
        if s.erased {
            view.text = Rich::ours(text::ERASED_TEXT);
            view.permalink = None;
        }
        if let Some(a) = s.archived {
            // About to be deleted: nothing on it can be acted on any more.
            view.buttons.clear();
            view.pickers.clear();
            view.suggestions.clear();
            view.archived = Some(text::archived(a.after_days));
        }
        view
    }
}

impl CardView {
    /// Show which account replies (`name`: the answering account's name), and, when more than
    /// one may, a picker of `choices` (id, name) first among the pickers (a surface that caps
    /// its rows keeps it).
    pub fn with_profile(
        mut self,
        profile: &super::profiles::ReplyProfile,
        name: &str,
        choices: &[(String, String)],
    ) -> Self {
        self.replying_as = Some(text::replying_as(name, profile.is_fixed()));
        if !profile.is_fixed() && choices.len() > 1 {
            self.pickers.insert(
                0,
                Picker::Profile {
                    action: ActionId {
                        action: CardAction::ChooseProfile,
                        ticket: self.ticket,
                    },
                    placeholder: text::button(CardAction::ChooseProfile).to_string(),
                    options: choices.to_vec(),
                },
            );
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::core::capabilities::TEST_COMMENTS;
    use crate::core::ids::{AccountId, CustomerId, Network, NetworkItemId};
    use crate::core::model::{Customer, InboundItem};
    use crate::core::{Event, decide};

    fn ticket(kind: ItemKind, customer: CustomerId) -> Ticket {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 1, 9, 0, 0)
            .single()
            .expect("time");
        let item = InboundItem {
            network: Network::Facebook,
            account: AccountId::new("1001"),
            item_id: NetworkItemId::new("1001_77_1"),
            kind,
            post_id: NetworkItemId::new("1001_77"),
            customer: Customer {
                id: customer,
                name: None,
            },
            text: "hello".into(),
            created_at: now,
            permalink: None,
            attachments: Vec::new(),
            context: Default::default(),
        };
        let d = decide(None, &Event::CustomerMessage { item }, &TEST_COMMENTS, now).expect("opens");
        Ticket {
            id: TicketId(1),
            version: 1,
            state: d.state,
        }
    }

    fn actions(t: &Ticket) -> Vec<CardAction> {
        CardView::of(t, &TEST_COMMENTS, "Acme", &[], t.state.created_at)
            .buttons
            .iter()
            .map(|b| b.action.action)
            .collect()
    }

    #[test]
    fn block_is_offered_only_for_a_real_author() {
        let known = ticket(ItemKind::Comment, CustomerId::new("555"));
        assert!(actions(&known).contains(&CardAction::Block));
        let anonymous = ticket(
            ItemKind::Mention,
            CustomerId::unknown_author_of(&NetworkItemId::new("1001_77")),
        );
        let offered = actions(&anonymous);
        assert!(!offered.contains(&CardAction::Block), "{offered:?}");
        assert!(offered.contains(&CardAction::Hide), "{offered:?}");
        // A mention whose author Meta did name can be blocked.
        let named = ticket(ItemKind::Mention, CustomerId::new("556"));
        assert!(actions(&named).contains(&CardAction::Block));
    }

    #[test]
    fn mute_is_a_button_until_the_author_is_muted() {
        use crate::core::capabilities::{Capabilities, WindowRule};
        const MUTING: Capabilities = Capabilities {
            reply: None,
            window: WindowRule::None,
            moderation: &[Moderation::Mute],
            edits_reported: false,
            deletes_reported: false,
        };
        let offered = |t: &Ticket| -> Vec<CardAction> {
            CardView::of(t, &MUTING, "Acme", &[], t.state.created_at)
                .buttons
                .iter()
                .map(|b| b.action.action)
                .collect()
        };
        let mut t = ticket(ItemKind::Mention, CustomerId::new("555"));
        assert!(offered(&t).contains(&CardAction::Mute));
        assert!(!offered(&t).contains(&CardAction::Block));
        t.state.moderation.author_muted = true;
        assert!(!offered(&t).contains(&CardAction::Mute));
        let view = CardView::of(&t, &MUTING, "Acme", &[], t.state.created_at);
        assert_eq!(view.moderation.as_deref(), Some(":shield: Author muted"));
        let anonymous = ticket(
            ItemKind::Mention,
            CustomerId::unknown_author_of(&NetworkItemId::new("1001_77")),
        );
        assert!(!offered(&anonymous).contains(&CardAction::Mute));
    }
}
