//! The ticket state machine: `decide(ticket, event, caps, now)` returns the new state, the
//! history lines and the effects to perform. Pure: the caller persists the decision atomically
//! and the outbox performs the effects.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::action::CardAction;
use super::capabilities::Capabilities;
use super::ids::*;
use super::model::*;
use super::sla;

/// Something that happened to a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Event {
    /// A new item from the customer.
    CustomerMessage { item: InboundItem },
    /// The customer edited an item on the network (`rating`: its rating after the edit, where
    /// it has one).
    CustomerEdited {
        key: MessageKey,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rating: Option<u8>,
    },
    /// The customer (or a moderator) removed an item on the network.
    CustomerDeleted { key: MessageKey },
    /// A teammate clicked a card button.
    Action {
        teammate: Teammate,
        action: CardAction,
    },
    /// A teammate wrote a reply to the customer (in the card's thread). It is sent at
    /// `send_at` (the end of the undo window).
    Reply {
        teammate: Teammate,
        chat: ChatRef,
        text: String,
        send_at: DateTime<Utc>,
        /// The account that answers (its reply profile), when not the ticket's own: decided
        /// once, when the reply is written, so every attempt goes out as the same account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        as_account: Option<AccountId>,
    },
    /// A teammate sent a reply from the Reply modal (`key` is unique per submission). The
    /// bot posts a copy in the thread, which carries the delivery marks.
    ModalReply {
        teammate: Teammate,
        key: MessageKey,
        text: String,
        send_at: DateTime<Utc>,
        /// As [`Event::Reply`]'s.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        as_account: Option<AccountId>,
    },
    /// A teammate edited a reply still in its undo window.
    ReplyEdited { key: MessageKey, text: String },
    /// A teammate withdrew a reply still in its undo window (deleted the chat message).
    ReplyCancelled { key: MessageKey },
    /// A teammate opened the Reply modal.
    ReplyStarted { teammate: Teammate },
    /// A teammate closed the Reply modal without sending.
    ReplyStopped { teammate: Teammate },
    /// Assign (None: unassign), optionally with a note for the assignee.
    Assign {
        teammate: Teammate,
        assignee: Option<Assignee>,
        note: Option<String>,
    },
    /// Replace the ticket's tags.
    SetTags {
        teammate: Teammate,
        tags: Vec<String>,
    },
    /// The suggestion model's tags for this ticket.
    TagsSuggested { tags: Vec<String> },
    /// A teammate moderates the ticket's item (shown at once; undone if the network refuses).
    Moderate {
        teammate: Teammate,
        action: Moderation,
    },
    /// The network refused a moderation action.
    ModerationFailed {
        action: Moderation,
        reason: FailureReason,
    },
    /// A teammate wrote an internal note (in the card's thread, with the note prefix).
    Note {
        teammate: Teammate,
        chat: ChatRef,
        text: String,
    },
    /// The network accepted a reply.
    ReplyDelivered {
        key: MessageKey,
        network_item_id: NetworkItemId,
        /// Who wrote the reply (shown as "last replied by"); `None` for an automatic reply,
        /// which is never the team's response.
        #[serde(default)]
        teammate: Option<Teammate>,
        /// The account that answered (its reply profile), when it is not the ticket's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<AccountId>,
    },
    /// A teammate chose which connected account replies on this ticket.
    ChooseProfile {
        teammate: Teammate,
        account: AccountId,
    },
    /// Re-render the card (time passed: the reply window's countdown).
    Refresh,
    /// Erase the customer's texts and name (a data-subject request): the ticket's state, and
    /// `customer_messages` (the keys of their messages in it); cards and thread copies are
    /// re-rendered to say so.
    Erase {
        actor: Actor,
        customer_messages: Vec<MessageKey>,
    },
    /// The auto-close job closes a ticket whose last message is the team's, delivered at
    /// least `after_days` before `as_of` (the round's time; nothing happens otherwise).
    AutoClose {
        after_days: u32,
        as_of: DateTime<Utc>,
    },
    /// The retention job archives a ticket closed for more than `after_days`, with no
    /// activity since `quiet_since` (nothing happens when it is open again or active by now,
    /// or archived already).
    Archive {
        after_days: u32,
        quiet_since: DateTime<Utc>,
    },
    /// The SLA round at `as_of`: warn once, or record a breach, when the ticket's clock says
    /// so (see `core::sla`; nothing happens otherwise).
    SlaCheck { as_of: DateTime<Utc> },
    /// The customer saw a delivered reply (a read receipt).
    ReplySeen { key: MessageKey },
    /// The outbox gave up on a reply.
    ReplyFailed {
        key: MessageKey,
        reason: FailureReason,
    },
}

/// A side effect for the outbox. Effects name what to do, not how: the worker renders the
/// card from the ticket as it is when the job runs, so a late job never shows stale state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Effect {
    /// Post the ticket's card in its channel.
    PostCard,
    /// Re-render the card in place.
    UpdateCard,
    /// Mirror a customer message into the card's thread; `broadcast` also shows it in the
    /// channel (the channel is notified).
    PostThreadMessage { key: MessageKey, broadcast: bool },
    /// Re-render a mirrored customer message (edited or deleted on the network).
    UpdateThreadMessage { key: MessageKey },
    /// Deliver a teammate's reply to the network, not before `not_before` (undo window).
    SendReply {
        key: MessageKey,
        not_before: Option<DateTime<Utc>>,
        /// The customer's item the reply answers: the latest when the teammate wrote it, so a
        /// retry goes (and looks) where the first attempt went. `None` in jobs queued before
        /// it was recorded: the ticket's latest item.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<NetworkItemId>,
        /// The account that answers, when not the ticket's own (see `core::profiles`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        as_account: Option<AccountId>,
    },
    /// Post a copy of a modal reply in the card's thread (it carries the delivery marks).
    PostReplyCopy { key: MessageKey },
    /// Tell the assignee (a DM for a person, a group mention in the thread for a team).
    NotifyAssignee { notice: AssigneeNotice },
    /// Carry out a moderation action on the network, on `item` (the ticket's item; for
    /// deleting our reply, the reply the teammate saw). `None` in jobs queued before it was
    /// recorded: the ticket's item or deleted reply.
    Moderate {
        action: Moderation,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        item: Option<NetworkItemId>,
        /// The account to act as, when not the ticket's own (deleting a reply another of the
        /// team's accounts posted).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        as_account: Option<AccountId>,
    },
    /// Show a reply's delivery state on the teammate's chat message.
    ShowDelivery {
        key: MessageKey,
        state: DeliveryMark,
    },
    /// Tell the thread, in plain words, why a reply failed.
    ExplainFailure { key: MessageKey },
    /// Show, in the card's thread, what the customer changed in a review; `broadcast` also
    /// tells the channel (as for a new customer message).
    ReviewUpdated {
        before: ReviewVersion,
        after: ReviewVersion,
        #[serde(default)]
        broadcast: bool,
    },
    /// Tell the ticket's channel (for a forum: the ticket's post) that these tickets' cards
    /// could not be posted earlier and follow now. Queued by the outbox itself, never by
    /// `decide`.
    CardsPostedLate { tickets: Vec<TicketId> },
    /// Tell the ticket's channel (its SLA group, if one is set) that a response is due soon
    /// or overdue (`breached`): about the clock started at `since` (a later clock is another
    /// wait, which this alert is not about).
    SlaAlert {
        target: SlaTarget,
        breached: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<DateTime<Utc>>,
    },
    /// Post or edit the storm card of storm `storm` (see `core::storm`). Queued by the store
    /// (one waiting at a time), never by `decide`; the job hangs on the storm's first ticket.
    StormCard { storm: i64 },
    /// Post the storm's next batch of messages in its card's thread.
    StormThread { storm: i64 },
    /// Render again the storm thread message whose first member is `from` (its members'
    /// texts changed: a customer was erased). Queued by the erasure, never by `decide`.
    StormBatchEdit { storm: i64, from: i64 },
}

/// A review as it read at one time: what changed is shown side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewVersion {
    pub rating: Option<u8>,
    pub text: String,
}

/// Why the assignee is notified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum AssigneeNotice {
    /// The ticket was assigned to them.
    Assigned { by: Teammate, note: Option<String> },
    /// The customer wrote again on a ticket assigned to them.
    CustomerReplied { key: MessageKey },
    /// An auto-assignment rule assigned the new ticket to them.
    AutoAssigned { rule: String },
}

/// The delivery marks a teammate sees on their own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMark {
    Queued,
    Delivered,
    Failed,
    /// Withdrawn in the undo window: the queued mark is removed.
    Cancelled,
    /// The customer has seen it.
    Read,
}

/// One mark a surface draws on a reply (Slack and Discord use reactions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Queued,
    Delivered,
    Failed,
    Read,
}

impl DeliveryMark {
    /// The mark to add and the marks to take away: a delivered reply loses its queued mark; a
    /// failure (even a late one, after "delivered") replaces both.
    pub fn marks(self) -> (Option<Mark>, &'static [Mark]) {
        match self {
            DeliveryMark::Queued => (Some(Mark::Queued), &[]),
            DeliveryMark::Delivered => (Some(Mark::Delivered), &[Mark::Queued]),
            DeliveryMark::Failed => (Some(Mark::Failed), &[Mark::Queued, Mark::Delivered]),
            DeliveryMark::Cancelled => (None, &[Mark::Queued]),
            DeliveryMark::Read => (Some(Mark::Read), &[]),
        }
    }
}

/// A message change to persist with the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageChange {
    Insert(NewMessage),
    Update {
        key: MessageKey,
        patch: MessagePatch,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMessage {
    pub key: MessageKey,
    pub kind: MessageKind,
    pub network_item_id: Option<NetworkItemId>,
    pub teammate: Option<Teammate>,
    pub chat: Option<ChatRef>,
    pub text: String,
    pub delivery: Option<Delivery>,
    pub created_at: DateTime<Utc>,
}

/// Fields of a message to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePatch {
    pub text: Option<String>,
    pub edited: Option<bool>,
    pub deleted: Option<bool>,
    pub delivery: Option<Delivery>,
    pub network_item_id: Option<NetworkItemId>,
}

/// What `decide` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub state: TicketState,
    pub history: Vec<HistoryEntry>,
    pub messages: Vec<MessageChange>,
    pub effects: Vec<Effect>,
}

impl Decision {
    /// Nothing changed: nothing to persist, nothing to do.
    pub fn is_noop(&self) -> bool {
        self.history.is_empty() && self.messages.is_empty() && self.effects.is_empty()
    }
}

/// Why an event cannot apply. The caller turns these into a user-facing message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the event needs an existing ticket")]
    NoTicket,
    #[error("a ticket can only be opened by a customer message")]
    NotAnOpeningEvent,
}

/// Apply `event` to `ticket` (None: no ticket for this conversation yet); `caps` are what
/// the ticket's network allows for its kind of item.
pub fn decide(
    ticket: Option<&Ticket>,
    event: &Event,
    caps: &Capabilities,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    let Some(ticket) = ticket else {
        return open(event, now);
    };
    let mut d = Decision {
        state: ticket.state.clone(),
        history: Vec::new(),
        messages: Vec::new(),
        effects: Vec::new(),
    };
    // The customer spoke: the team no longer has the last word (auto-close counts from the
    // team's next reply).
    if matches!(
        event,
        Event::CustomerMessage { .. } | Event::CustomerEdited { .. }
    ) {
        d.state.last_reply_at = None;
    }
    match event {
        Event::CustomerMessage { item } => {
            let key = MessageKey::inbound(item.network, &item.item_id);
            d.messages
                .push(MessageChange::Insert(customer_message(item, key.clone())));
            d.state.reply_to = item.item_id.clone();
            d.state.last_customer_at = item.created_at;
            d.state.last_text = Some(full_text(item));
            if item.customer.name.is_some() {
                d.state.customer.name = item.customer.name.clone();
            }
            start_clock(&mut d, item.created_at, now);
            d.history.push(entry(
                now,
                Actor::Customer(item.customer.id.clone()),
                HistoryKind::CustomerMessage { key: key.clone() },
            ));
            // New customer content is unread, and reopens a closed ticket.
            let was_closed = ticket.state.status == Status::Closed;
            set_status(
                &mut d,
                Status::Unread,
                Actor::Customer(item.customer.id.clone()),
                now,
            );
            // Notifications as the reference inboxes do: a reply on a closed or unassigned
            // ticket tells the channel; on an assigned ticket, only the assignee.
            let assigned = ticket.state.assignee.is_some();
            d.effects.push(Effect::PostThreadMessage {
                key: key.clone(),
                broadcast: was_closed || !assigned,
            });
            if assigned && !was_closed {
                d.effects.push(Effect::NotifyAssignee {
                    notice: AssigneeNotice::CustomerReplied { key },
                });
            }
            d.effects.push(Effect::UpdateCard);
        }
        // A review changed (stars or text): the review is the ticket, so it reopens as new
        // customer content, and the thread shows before and after.
        Event::CustomerEdited { key, text, rating }
            if ticket.state.kind == ItemKind::Review && is_first(ticket, key) =>
        {
            let before = ReviewVersion {
                rating: ticket.state.context.rating,
                text: ticket.state.first_text.clone(),
            };
            let after = ReviewVersion {
                rating: rating.or(before.rating),
                text: text.clone(),
            };
            if before == after {
                return Ok(d);
            }
            d.messages.push(MessageChange::Update {
                key: key.clone(),
                patch: MessagePatch {
                    text: Some(text.clone()),
                    edited: Some(true),
                    ..Default::default()
                },
            });
            let customer = Actor::Customer(ticket.state.customer.id.clone());
            d.history.push(entry(
                now,
                customer.clone(),
                HistoryKind::CustomerEdited { key: key.clone() },
            ));
            d.state.first_text = text.clone();
            d.state.last_text = Some(text.clone());
            d.state.first_item_edited = true;
            d.state.context.rating = after.rating;
            set_status(&mut d, Status::Unread, customer, now);
            start_clock(&mut d, now, now);
            // Told like a new customer message: the channel when the ticket was closed or
            // unassigned, else only the assignee.
            let was_closed = ticket.state.status == Status::Closed;
            let assigned = ticket.state.assignee.is_some();
            d.effects.push(Effect::ReviewUpdated {
                before,
                after,
                broadcast: was_closed || !assigned,
            });
            if assigned && !was_closed {
                d.effects.push(Effect::NotifyAssignee {
                    notice: AssigneeNotice::CustomerReplied { key: key.clone() },
                });
            }
            d.effects.push(Effect::UpdateCard);
        }
        Event::CustomerEdited { key, text, .. } => {
            d.messages.push(MessageChange::Update {
                key: key.clone(),
                patch: MessagePatch {
                    text: Some(text.clone()),
                    edited: Some(true),
                    ..Default::default()
                },
            });
            d.history.push(entry(
                now,
                Actor::Customer(ticket.state.customer.id.clone()),
                HistoryKind::CustomerEdited { key: key.clone() },
            ));
            let newest = *key == MessageKey::inbound(ticket.state.network, &ticket.state.reply_to);
            if newest {
                d.state.last_text = Some(text.clone());
            }
            if is_first(ticket, key) {
                d.state.first_text = text.clone();
                d.state.first_item_edited = true;
                d.effects.push(Effect::UpdateCard);
            } else {
                d.effects
                    .push(Effect::UpdateThreadMessage { key: key.clone() });
                if newest && ticket.state.kind == ItemKind::DirectMessage {
                    d.effects.push(Effect::UpdateCard);
                }
            }
        }
        Event::CustomerDeleted { key } => {
            d.messages.push(MessageChange::Update {
                key: key.clone(),
                patch: MessagePatch {
                    deleted: Some(true),
                    ..Default::default()
                },
            });
            d.history.push(entry(
                now,
                Actor::Customer(ticket.state.customer.id.clone()),
                HistoryKind::CustomerDeleted { key: key.clone() },
            ));
            if is_first(ticket, key) {
                d.state.first_item_deleted = true;
                d.effects.push(Effect::UpdateCard);
            } else {
                d.effects
                    .push(Effect::UpdateThreadMessage { key: key.clone() });
            }
        }
        Event::Action { teammate, action } => {
            let actor = Actor::Teammate(teammate.clone());
            let target = match (action, ticket.state.status) {
                (CardAction::Close, Status::Unread | Status::Read) => Some(Status::Closed),
                (CardAction::Reopen, Status::Closed) => Some(Status::Read),
                (CardAction::MarkRead, Status::Unread) => Some(Status::Read),
                (CardAction::MarkUnread, Status::Read) => Some(Status::Unread),
                // Already in the wanted state (a double click, two teammates at once).
                _ => None,
            };
            if let Some(to) = target {
                set_status(&mut d, to, actor, now);
                d.effects.push(Effect::UpdateCard);
            }
        }
        Event::Reply {
            teammate,
            chat,
            text,
            send_at,
            as_account,
        } => {
            let key = MessageKey::from_chat(chat);
            let reply = PendingReply {
                teammate,
                key: key.clone(),
                chat: Some(chat.clone()),
                text,
                send_at: *send_at,
                as_account: as_account.clone(),
            };
            queue_reply(&mut d, ticket, reply, now);
            d.effects.push(Effect::ShowDelivery {
                key,
                state: DeliveryMark::Queued,
            });
            d.effects.push(Effect::UpdateCard);
        }
        Event::ModalReply {
            teammate,
            key,
            text,
            send_at,
            as_account,
        } => {
            let reply = PendingReply {
                teammate,
                key: key.clone(),
                chat: None,
                text,
                send_at: *send_at,
                as_account: as_account.clone(),
            };
            queue_reply(&mut d, ticket, reply, now);
            // The copy goes first (same lane), so the marks have a message to sit on.
            d.effects
                .insert(0, Effect::PostReplyCopy { key: key.clone() });
            d.effects.push(Effect::ShowDelivery {
                key: key.clone(),
                state: DeliveryMark::Queued,
            });
            d.effects.push(Effect::UpdateCard);
        }
        Event::ReplyEdited { key, text } => {
            d.messages.push(MessageChange::Update {
                key: key.clone(),
                patch: MessagePatch {
                    text: Some(text.clone()),
                    edited: Some(true),
                    ..Default::default()
                },
            });
            d.history.push(entry(
                now,
                Actor::System,
                HistoryKind::ReplyEdited { key: key.clone() },
            ));
        }
        Event::ReplyCancelled { key } => {
            d.messages.push(MessageChange::Update {
                key: key.clone(),
                patch: MessagePatch {
                    delivery: Some(Delivery::Cancelled),
                    ..Default::default()
                },
            });
            d.history.push(entry(
                now,
                Actor::System,
                HistoryKind::ReplyCancelled { key: key.clone() },
            ));
            d.state.replying.clear();
            d.effects.push(Effect::ShowDelivery {
                key: key.clone(),
                state: DeliveryMark::Cancelled,
            });
            d.effects.push(Effect::UpdateCard);
        }
        Event::ReplyStarted { teammate } => {
            if !d.state.replying.iter().any(|r| r.teammate == *teammate) {
                d.state.replying.push(Replying {
                    teammate: teammate.clone(),
                    since: now,
                });
                d.effects.push(Effect::UpdateCard);
            }
        }
        Event::ReplyStopped { teammate } => {
            let before = d.state.replying.len();
            d.state.replying.retain(|r| r.teammate != *teammate);
            if d.state.replying.len() != before {
                d.effects.push(Effect::UpdateCard);
            }
        }
        Event::Assign {
            teammate,
            assignee,
            note,
        } => {
            if ticket.state.assignee != *assignee || note.is_some() {
                d.state.assignee = assignee.clone();
                // A teammate's choice replaces the rule's.
                d.state.auto_assigned = None;
                d.history.push(entry(
                    now,
                    Actor::Teammate(teammate.clone()),
                    HistoryKind::Assigned {
                        assignee: assignee.clone(),
                        note: note.clone(),
                        rule: None,
                    },
                ));
                if ticket.state.status == Status::Unread {
                    set_status(&mut d, Status::Read, Actor::Teammate(teammate.clone()), now);
                }
                d.effects.push(Effect::UpdateCard);
                if assignee.is_some() {
                    d.effects.push(Effect::NotifyAssignee {
                        notice: AssigneeNotice::Assigned {
                            by: teammate.clone(),
                            note: note.clone(),
                        },
                    });
                }
            }
        }
        Event::SetTags { teammate, tags } => {
            let tags = normalise_tags(tags);
            let added: Vec<String> = tags
                .iter()
                .filter(|t| !ticket.state.tags.contains(t))
                .cloned()
                .collect();
            let removed: Vec<String> = ticket
                .state
                .tags
                .iter()
                .filter(|t| !tags.contains(t))
                .cloned()
                .collect();
            if !added.is_empty() || !removed.is_empty() {
                d.state.tags = tags;
                let tags = d.state.tags.clone();
                d.state.suggested_tags.retain(|t| !tags.contains(t));
                d.history.push(entry(
                    now,
                    Actor::Teammate(teammate.clone()),
                    HistoryKind::TagsChanged { added, removed },
                ));
                d.effects.push(Effect::UpdateCard);
            }
        }
        Event::TagsSuggested { tags } => {
            let tags: Vec<String> = normalise_tags(tags)
                .into_iter()
                .filter(|t| !ticket.state.tags.contains(t))
                .collect();
            if tags != ticket.state.suggested_tags {
                d.state.suggested_tags = tags.clone();
                d.history.push(entry(
                    now,
                    Actor::System,
                    HistoryKind::TagsSuggested { tags },
                ));
                d.effects.push(Effect::UpdateCard);
            }
        }

        Event::Note {
            teammate,
            chat,
            text,
        } => {
            let key = MessageKey::from_chat(chat);
            d.messages.push(MessageChange::Insert(NewMessage {
                key: key.clone(),
                kind: MessageKind::Note,
                network_item_id: None,
                teammate: Some(teammate.clone()),
                chat: Some(chat.clone()),
                text: text.clone(),
                delivery: None,
                created_at: now,
            }));
            d.history.push(entry(
                now,
                Actor::Teammate(teammate.clone()),
                HistoryKind::NoteAdded { key },
            ));
            if ticket.state.status == Status::Unread {
                set_status(&mut d, Status::Read, Actor::Teammate(teammate.clone()), now);
                d.effects.push(Effect::UpdateCard);
            }
        }
        Event::ReplyDelivered {
            key,
            network_item_id,
            teammate,
            account,
        } => {
            d.messages.push(MessageChange::Update {
                key: key.clone(),
                patch: MessagePatch {
                    delivery: Some(Delivery::Delivered),
                    network_item_id: Some(network_item_id.clone()),
                    ..Default::default()
                },
            });
            // The history names who answered; an automatic reply is the system's.
            let actor = teammate.clone().map_or(Actor::System, Actor::Teammate);
            d.history.push(entry(
                now,
                actor,
                HistoryKind::ReplyDelivered {
                    key: key.clone(),
                    account: account.clone(),
                },
            ));
            d.state.our_reply = Some(network_item_id.clone());
            // A new reply of ours: it can be deleted in its turn.
            d.state.moderation.reply_deleted = None;
            d.state.last_failure = None;
            if let Some(teammate) = teammate {
                // The team answered: its last word (auto-close), and the SLA clock stops.
                d.state.last_replied_by = Some(teammate.clone());
                d.state.last_replied_as = account.clone();
                d.state.last_reply_at = Some(now);
                d.state.replying.retain(|r| r.teammate != *teammate);
                if let Some(clock) = d.state.sla.take()
                    && clock.due.is_some()
                    && !clock.breached
                {
                    d.history.push(entry(
                        now,
                        Actor::System,
                        HistoryKind::SlaMet {
                            target: clock.target,
                        },
                    ));
                }
            }
            d.effects.push(Effect::ShowDelivery {
                key: key.clone(),
                state: DeliveryMark::Delivered,
            });
            d.effects.push(Effect::UpdateCard);
        }
        Event::Moderate { teammate, action } => {
            let our_reply = d.state.our_reply.clone();
            let m = &mut d.state.moderation;
            let changed = match action {
                Moderation::Hide => !std::mem::replace(&mut m.hidden, true),
                Moderation::Unhide => std::mem::replace(&mut m.hidden, false),
                Moderation::Delete => !std::mem::replace(&mut m.deleted, true),
                Moderation::Like => !std::mem::replace(&mut m.liked, true),
                Moderation::Block => !std::mem::replace(&mut m.author_blocked, true),
                Moderation::Mute => !std::mem::replace(&mut m.author_muted, true),
                Moderation::Approve => !std::mem::replace(&mut m.approved, true),
                Moderation::Reject => !std::mem::replace(&mut m.rejected, true),
                Moderation::BanAuthor => {
                    // Remembered, so that a refusal undoes only what the ban did.
                    m.rejected_by_ban = !m.rejected;
                    m.rejected = true;
                    !std::mem::replace(&mut m.author_blocked, true)
                }
                Moderation::DeleteReply => {
                    our_reply.is_some() && m.reply_deleted.is_none() && {
                        m.reply_deleted = our_reply.clone();
                        true
                    }
                }
            };
            // Block needs a real author id, approve / reject a held item, deleting our reply
            // a delivered one (see `Moderation::available`).
            let allowed = Moderation::available(&ticket.state, caps).contains(action);
            if changed && allowed && !ticket.state.moderation.deleted {
                d.state.moderation.failure = None;
                d.history.push(entry(
                    now,
                    Actor::Teammate(teammate.clone()),
                    HistoryKind::Moderated { action: *action },
                ));
                if ticket.state.status == Status::Unread {
                    set_status(&mut d, Status::Read, Actor::Teammate(teammate.clone()), now);
                }
                // What the action is about: the reply the teammate saw (as the account that
                // posted it), or the item.
                let (item, as_account) = match action {
                    Moderation::DeleteReply => (our_reply, ticket.state.last_replied_as.clone()),
                    _ => (Some(ticket.state.first_item.clone()), None),
                };
                d.effects.push(Effect::Moderate {
                    action: *action,
                    item,
                    as_account,
                });
                d.effects.push(Effect::UpdateCard);
            } else {
                // Nothing to do: already so, not allowed here, or the item is gone.
                d.state.moderation = ticket.state.moderation.clone();
            }
        }
        Event::ModerationFailed { action, reason } => {
            let m = &mut d.state.moderation;
            match action {
                Moderation::Hide => m.hidden = false,
                Moderation::Unhide => m.hidden = true,
                Moderation::Delete => m.deleted = false,
                Moderation::Like => m.liked = false,
                Moderation::Block => m.author_blocked = false,
                Moderation::Mute => m.author_muted = false,
                Moderation::Approve => m.approved = false,
                Moderation::Reject => m.rejected = false,
                Moderation::BanAuthor => {
                    m.author_blocked = false;
                    if std::mem::take(&mut m.rejected_by_ban) {
                        m.rejected = false;
                    }
                }
                Moderation::DeleteReply => m.reply_deleted = None,
            }
            m.failure = Some((*action, reason.clone()));
            d.history.push(entry(
                now,
                Actor::System,
                HistoryKind::ModerationFailed {
                    action: *action,
                    reason: reason.clone(),
                },
            ));
            d.effects.push(Effect::UpdateCard);
        }
        // Only where another account may answer (see `core::profiles`); the outbox checks the
        // choice against the accounts that can answer when it sends.
        Event::ChooseProfile { teammate, account } => {
            let changed = super::profiles::is_shared(ticket.state.network, ticket.state.kind)
                && d.state.reply_as.as_ref() != Some(account);
            if changed {
                d.state.reply_as = Some(account.clone());
                d.history.push(entry(
                    now,
                    Actor::Teammate(teammate.clone()),
                    HistoryKind::ProfileChosen {
                        account: account.clone(),
                    },
                ));
                d.effects.push(Effect::UpdateCard);
            }
        }
        Event::Refresh => d.effects.push(Effect::UpdateCard),
        Event::SlaCheck { as_of } => {
            if let Some(clock) = &mut d.state.sla {
                let (target, since) = (clock.target, clock.since);
                let breached = match sla::check(clock, *as_of) {
                    sla::Check::Nothing => return Ok(d),
                    sla::Check::Warn => {
                        clock.warned = true;
                        false
                    }
                    sla::Check::Breach => {
                        // Found late, the breach stands for the warning too.
                        clock.warned = true;
                        clock.breached = true;
                        true
                    }
                };
                let what = if breached {
                    HistoryKind::SlaBreached { target }
                } else {
                    HistoryKind::SlaWarned { target }
                };
                d.history.push(entry(now, Actor::System, what));
                d.effects.push(Effect::SlaAlert {
                    target,
                    breached,
                    since: Some(since),
                });
                d.effects.push(Effect::UpdateCard);
            }
        }
        Event::ReplySeen { key } => {
            d.effects.push(Effect::ShowDelivery {
                key: key.clone(),
                state: DeliveryMark::Read,
            });
        }
        Event::ReplyFailed { key, reason } => {
            d.messages.push(MessageChange::Update {
                key: key.clone(),
                patch: MessagePatch {
                    delivery: Some(Delivery::Failed(reason.clone())),
                    ..Default::default()
                },
            });
            d.history.push(entry(
                now,
                Actor::System,
                HistoryKind::ReplyFailed {
                    key: key.clone(),
                    reason: reason.clone(),
                },
            ));
            d.state.last_failure = Some(reason.clone());
            // The pending mark clears whatever the outcome.
            d.state.replying.clear();
            d.effects.push(Effect::ShowDelivery {
                key: key.clone(),
                state: DeliveryMark::Failed,
            });
            d.effects.push(Effect::ExplainFailure { key: key.clone() });
            d.effects.push(Effect::UpdateCard);
        }
        Event::Erase {
            actor,
            customer_messages,
        } => {
            let s = &mut d.state;
            s.erased = true;
            s.customer.name = None;
            s.first_text = String::new();
            s.last_text = None;
            // A permalink may name the customer (`/@user/video/…`).
            s.permalink = None;
            s.replying.clear();
            for key in customer_messages {
                d.messages.push(MessageChange::Update {
                    key: key.clone(),
                    patch: MessagePatch {
                        text: Some(crate::core::text::ERASED_TEXT.to_string()),
                        ..Default::default()
                    },
                });
                d.effects
                    .push(Effect::UpdateThreadMessage { key: key.clone() });
            }
            d.history
                .push(entry(now, actor.clone(), HistoryKind::Erased));
            d.effects.push(Effect::UpdateCard);
        }
        Event::AutoClose { after_days, as_of } => {
            let s = &d.state;
            let due = *as_of - chrono::Duration::days(i64::from(*after_days));
            // `last_reply_at` is cleared by every customer message and every reopening, so it
            // is set only while the team has the last word (no clock comparison with the
            // network's times). An unread ticket is never closed unseen.
            let ours_last = s.last_reply_at.is_some_and(|r| r <= due);
            if s.status == Status::Read && ours_last {
                set_status(&mut d, Status::Closed, Actor::System, now);
                d.state.auto_closed = Some(*after_days);
                d.history.push(entry(
                    now,
                    Actor::System,
                    HistoryKind::AutoClosed {
                        after_days: *after_days,
                    },
                ));
                d.effects.push(Effect::UpdateCard);
            }
        }
        Event::Archive {
            after_days,
            quiet_since,
        } => {
            if d.state.status == Status::Closed
                && d.state.archived.is_none()
                && d.state.updated_at < *quiet_since
            {
                d.state.archived = Some(crate::core::model::Archived {
                    at: now,
                    after_days: *after_days,
                });
                d.history.push(entry(
                    now,
                    Actor::System,
                    HistoryKind::Archived {
                        after_days: *after_days,
                    },
                ));
                d.effects.push(Effect::UpdateCard);
            }
        }
    }
    // Only real changes count as activity (a refresh or a read mark does not reorder queues).
    // Nor do SLA alerts: the clock is not the conversation.
    if (!d.history.is_empty() || !d.messages.is_empty()) && !matches!(event, Event::SlaCheck { .. })
    {
        d.state.updated_at = now;
        // Anything happening on an archived ticket (a note, a reply) keeps it.
        if !matches!(event, Event::Archive { .. }) {
            d.state.archived = None;
        }
    }
    Ok(d)
}

fn open(event: &Event, now: DateTime<Utc>) -> Result<Decision, Rejection> {
    let Event::CustomerMessage { item } = event else {
        return Err(Rejection::NotAnOpeningEvent);
    };
    let key = MessageKey::inbound(item.network, &item.item_id);
    let state = TicketState {
        network: item.network,
        account: item.account.clone(),
        conversation_key: item.conversation_key(),
        customer: item.customer.clone(),
        kind: item.kind,
        first_item: item.item_id.clone(),
        first_text: full_text(item),
        permalink: item.permalink.clone(),
        reply_to: item.item_id.clone(),
        status: Status::Unread,
        assignee: None,
        tags: Vec::new(),
        suggested_tags: Vec::new(),
        replying: Vec::new(),
        moderation: Default::default(),
        last_text: Some(full_text(item)),
        last_replied_by: None,
        our_reply: None,
        last_replied_as: None,
        reply_as: None,
        last_failure: None,
        first_item_deleted: false,
        first_item_edited: false,
        created_at: now,
        updated_at: now,
        last_customer_at: item.created_at,
        context: item.context.clone(),
        archived: None,
        last_reply_at: None,
        auto_closed: None,
        auto_assigned: None,
        erased: false,
        auto_replied_at: None,
        sla: sla::counts(item.created_at, now).then_some(SlaClock {
            target: SlaTarget::FirstResponse,
            since: now,
            due: None,
            warn_at: None,
            warned: false,
            breached: false,
        }),
    };
    let actor = Actor::Customer(item.customer.id.clone());
    Ok(Decision {
        state,
        history: vec![
            entry(now, actor.clone(), HistoryKind::Opened),
            entry(
                now,
                actor,
                HistoryKind::CustomerMessage { key: key.clone() },
            ),
        ],
        messages: vec![MessageChange::Insert(customer_message(item, key))],
        effects: vec![Effect::PostCard],
    })
}

fn customer_message(item: &InboundItem, key: MessageKey) -> NewMessage {
    NewMessage {
        key,
        kind: MessageKind::Customer,
        network_item_id: Some(item.item_id.clone()),
        teammate: None,
        chat: None,
        text: full_text(item),
        delivery: None,
        created_at: item.created_at,
    }
}

/// The item's text followed by one line per attachment (links, never the media itself).
fn full_text(item: &InboundItem) -> String {
    let mut out = item.text.clone();
    for a in &item.attachments {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&super::text::attachment(a));
    }
    out
}

/// A reply on its way (thread or modal).
struct PendingReply<'a> {
    teammate: &'a Teammate,
    key: MessageKey,
    chat: Option<ChatRef>,
    text: &'a str,
    send_at: DateTime<Utc>,
    as_account: Option<AccountId>,
}

/// Record a teammate's reply and schedule its sending (shared by thread and modal replies).
fn queue_reply(d: &mut Decision, ticket: &Ticket, reply: PendingReply<'_>, now: DateTime<Utc>) {
    let teammate = reply.teammate;
    d.messages.push(MessageChange::Insert(NewMessage {
        key: reply.key.clone(),
        kind: MessageKind::Reply,
        network_item_id: None,
        teammate: Some(teammate.clone()),
        chat: reply.chat,
        text: reply.text.to_string(),
        delivery: Some(Delivery::Queued),
        created_at: now,
    }));
    d.history.push(entry(
        now,
        Actor::Teammate(teammate.clone()),
        HistoryKind::ReplyQueued {
            key: reply.key.clone(),
        },
    ));
    if ticket.state.status == Status::Unread {
        set_status(d, Status::Read, Actor::Teammate(teammate.clone()), now);
    }
    // A reply waiting out its undo window shows as "is replying…" (replacing the modal's
    // mark, if any) until it is sent or withdrawn.
    d.state.replying.retain(|r| r.teammate != *teammate);
    if reply.send_at > now {
        d.state.replying.push(Replying {
            teammate: teammate.clone(),
            since: now,
        });
    }
    d.effects.push(Effect::SendReply {
        key: reply.key,
        not_before: (reply.send_at > now).then_some(reply.send_at),
        reply_to: Some(ticket.state.reply_to.clone()),
        as_account: reply.as_account,
    });
}

/// Tags are trimmed, lower-cased, deduplicated, sorted; empty ones dropped.
pub fn normalise_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = tags
        .iter()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn set_status(d: &mut Decision, to: Status, actor: Actor, now: DateTime<Utc>) {
    let from = d.state.status;
    if from != to {
        d.state.status = to;
        // Closed: nobody is waiting for an answer any more.
        if to == Status::Closed {
            d.state.sla = None;
        }
        // Open again: no longer archived (nor about to be deleted), nor auto-closed, and
        // auto-close waits for the team's next reply.
        if to != Status::Closed {
            d.state.archived = None;
            d.state.auto_closed = None;
            d.state.last_reply_at = None;
        }
        d.history
            .push(entry(now, actor, HistoryKind::StatusChanged { from, to }));
    }
}

/// Add an automatic reply (see `core::autoreply`) to the decision that applied a customer's
/// message: queued as the system, copied into the card's thread as automatic, sent through
/// the outbox like any reply. It leaves the ticket unread and the SLA clock running.
pub fn add_auto_reply(d: &mut Decision, key: MessageKey, text: String, now: DateTime<Utc>) {
    d.messages.push(MessageChange::Insert(NewMessage {
        key: key.clone(),
        kind: MessageKind::Reply,
        network_item_id: None,
        teammate: None,
        chat: None,
        text,
        delivery: Some(Delivery::Queued),
        created_at: now,
    }));
    d.history.push(entry(
        now,
        Actor::System,
        HistoryKind::ReplyQueued { key: key.clone() },
    ));
    d.state.auto_replied_at = Some(now);
    d.effects.push(Effect::PostReplyCopy { key: key.clone() });
    d.effects.push(Effect::SendReply {
        key,
        not_before: None,
        reply_to: Some(d.state.reply_to.clone()),
        as_account: None,
    });
}

/// The customer is waiting from `now`, unless they already were: for the team's first
/// response, or its next one once a teammate has answered. The channel's policy arms it
/// (`sla::arm`). A message written long before it arrived (a backfill) starts none.
fn start_clock(d: &mut Decision, written: DateTime<Utc>, now: DateTime<Utc>) {
    if !sla::counts(written, now) {
        return;
    }
    if d.state.sla.is_none() {
        d.state.sla = Some(SlaClock {
            target: if d.state.last_replied_by.is_some() {
                SlaTarget::NextResponse
            } else {
                SlaTarget::FirstResponse
            },
            since: now,
            due: None,
            warn_at: None,
            warned: false,
            breached: false,
        });
    }
}

fn entry(at: DateTime<Utc>, actor: Actor, what: HistoryKind) -> HistoryEntry {
    HistoryEntry { at, actor, what }
}

fn is_first(ticket: &Ticket, key: &MessageKey) -> bool {
    *key == MessageKey::inbound(ticket.state.network, &ticket.state.first_item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// `decide` for a comment network that allows everything.
    fn decide(
        ticket: Option<&Ticket>,
        event: &Event,
        now: DateTime<Utc>,
    ) -> Result<Decision, Rejection> {
        super::decide(
            ticket,
            event,
            &crate::core::capabilities::TEST_COMMENTS,
            now,
        )
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0)
            .single()
            .expect("valid time")
    }

    fn ana() -> Teammate {
        Teammate {
            surface: Surface::Slack,
            id: ChatUserId::new("UANA"),
        }
    }

    fn item(id: &str, text: &str) -> InboundItem {
        InboundItem {
            network: Network::Facebook,
            account: AccountId::new("1001"),
            item_id: NetworkItemId::new(id),
            kind: ItemKind::Comment,
            post_id: NetworkItemId::new("1001_77"),
            customer: Customer {
                id: CustomerId::new("555"),
                name: Some("Jane".into()),
            },
            text: text.into(),
            created_at: t0(),
            permalink: None,
            attachments: Vec::new(),
            context: Default::default(),
        }
    }

    fn chat(ts: &str) -> ChatRef {
        ChatRef {
            surface: Surface::Slack,
            workspace: "T1".into(),
            channel: "C1".into(),
            message: ts.into(),
        }
    }

    fn ticket(status: Status) -> Ticket {
        let d = decide(
            None,
            &Event::CustomerMessage {
                item: item("77_1", "hi"),
            },
            t0(),
        )
        .expect("opens");
        let mut state = d.state;
        state.status = status;
        Ticket {
            id: TicketId(1),
            version: 1,
            state,
        }
    }

    fn action(a: CardAction) -> Event {
        Event::Action {
            teammate: ana(),
            action: a,
        }
    }

    /// Apply `event` to `t` at `at`, keeping the result as the ticket.
    fn step(t: &mut Ticket, event: &Event, at: DateTime<Utc>) -> Decision {
        let d = decide(Some(t), event, at).expect("applies");
        t.state = d.state.clone();
        d
    }

    #[test]
    fn sla_clocks_start_warn_breach_and_stop() {
        let mins = |m| t0() + chrono::Duration::minutes(m);
        let mut t = ticket(Status::Unread);
        let clock = t
            .state
            .sla
            .expect("a new ticket waits for the first response");
        assert_eq!(
            (clock.target, clock.since),
            (SlaTarget::FirstResponse, t0())
        );
        // Armed by the channel's policy: due in 60 min, warned after 45.
        let policy = sla::SlaPolicy {
            first_response: Some(chrono::Duration::minutes(60)),
            next_response: Some(chrono::Duration::minutes(120)),
            warn_percent: 75,
        };
        let arm = |t: &mut Ticket| {
            if let Some(c) = &mut t.state.sla {
                sla::arm(c, Some(&policy), None);
            }
        };
        arm(&mut t);
        let check = |m| Event::SlaCheck { as_of: mins(m) };

        assert!(step(&mut t, &check(30), mins(30)).is_noop());
        let warned = step(&mut t, &check(46), mins(46));
        assert_eq!(
            warned.effects,
            vec![
                Effect::SlaAlert {
                    target: SlaTarget::FirstResponse,
                    breached: false,
                    since: Some(t0()),
                },
                Effect::UpdateCard
            ]
        );
        assert_eq!(
            warned.history[0].what,
            HistoryKind::SlaWarned {
                target: SlaTarget::FirstResponse
            }
        );
        // An alert is not activity: queues and retention do not move.
        assert_eq!(warned.state.updated_at, t0());
        // Once only.
        assert!(step(&mut t, &check(50), mins(50)).is_noop());

        // An automatic reply is not the team's answer: the clock runs on.
        let auto = step(
            &mut t,
            &Event::ReplyDelivered {
                key: MessageKey::new("auto:1"),
                network_item_id: NetworkItemId::new("77_90"),
                teammate: None,
                account: None,
            },
            mins(52),
        );
        assert_eq!(auto.history[0].actor, Actor::System);
        assert!(t.state.sla.is_some());
        assert_eq!(
            (t.state.last_replied_by.clone(), t.state.last_reply_at),
            (None, None)
        );

        // The team answers in time: met, and the clock stops.
        let met = step(
            &mut t,
            &Event::ReplyDelivered {
                key: MessageKey::new("chat:slack:T1:C1:5.5"),
                network_item_id: NetworkItemId::new("77_100"),
                teammate: Some(ana()),
                account: None,
            },
            mins(55),
        );
        assert_eq!(met.history[0].actor, Actor::Teammate(ana()));
        assert!(met.history.iter().any(|h| h.what
            == HistoryKind::SlaMet {
                target: SlaTarget::FirstResponse
            }));
        assert_eq!(t.state.sla, None);

        // The customer writes again: the next response is awaited from then.
        step(
            &mut t,
            &Event::CustomerMessage {
                item: InboundItem {
                    created_at: mins(120),
                    ..item("77_2", "and?")
                },
            },
            mins(120),
        );
        let next = t.state.sla.expect("waiting again");
        assert_eq!(
            (next.target, next.since),
            (SlaTarget::NextResponse, mins(120))
        );
        // A second message while waiting keeps the clock where it was.
        step(
            &mut t,
            &Event::CustomerMessage {
                item: InboundItem {
                    created_at: mins(130),
                    ..item("77_3", "hello??")
                },
            },
            mins(130),
        );
        assert_eq!(t.state.sla.map(|c| c.since), Some(mins(120)));
        arm(&mut t);
        // Found late: straight to the breach.
        let breached = step(&mut t, &check(300), mins(300));
        assert_eq!(
            breached.history[0].what,
            HistoryKind::SlaBreached {
                target: SlaTarget::NextResponse
            }
        );
        assert!(breached.effects.contains(&Effect::SlaAlert {
            target: SlaTarget::NextResponse,
            breached: true,
            since: Some(mins(120)),
        }));
        assert!(step(&mut t, &check(400), mins(400)).is_noop());
        // Answered after the breach: no "met", and the clock stops.
        let late = step(
            &mut t,
            &Event::ReplyDelivered {
                key: MessageKey::new("chat:slack:T1:C1:6.6"),
                network_item_id: NetworkItemId::new("77_101"),
                teammate: Some(ana()),
                account: None,
            },
            mins(410),
        );
        assert!(!late.history.iter().any(|h| h.what.code() == "sla_met"));
        assert_eq!(t.state.sla, None);

        // A message written hours before it arrived (a backfill) starts no clock, on a new
        // ticket or an answered one.
        let old = decide(
            None,
            &Event::CustomerMessage {
                item: item("77_9", "from last week"),
            },
            mins(180),
        )
        .expect("opens");
        assert_eq!(old.state.sla, None);
        // Closing stops a running clock; an unarmed clock (no SLA) never alerts.
        let mut other = ticket(Status::Unread);
        assert!(step(&mut other, &check(10_000), mins(10_000)).is_noop());
        step(&mut other, &action(CardAction::Close), mins(1));
        assert_eq!(other.state.sla, None);
    }

    #[test]
    fn status_transitions_table() {
        use CardAction::*;
        use Status::*;
        let reply = Event::Reply {
            teammate: ana(),
            chat: chat("1.1"),
            text: "hello".into(),
            send_at: t0(),
            as_account: None,
        };
        let note = Event::Note {
            teammate: ana(),
            chat: chat("1.2"),
            text: "vip".into(),
        };
        let customer = Event::CustomerMessage {
            item: item("77_2", "any news?"),
        };
        // (from, event, expected status, card updated?)
        let table: Vec<(Status, Event, Status, bool)> = vec![
            (Unread, action(MarkRead), Read, true),
            (Unread, action(Close), Closed, true),
            (Unread, action(Reopen), Unread, false),
            (Unread, action(MarkUnread), Unread, false),
            (Read, action(MarkUnread), Unread, true),
            (Read, action(Close), Closed, true),
            (Read, action(MarkRead), Read, false),
            (Closed, action(Reopen), Read, true),
            (Closed, action(Close), Closed, false),
            (Closed, action(MarkRead), Closed, false),
            (Unread, reply.clone(), Read, true),
            (Read, reply.clone(), Read, true),
            (Closed, reply, Closed, true),
            (Unread, note.clone(), Read, true),
            (Read, note.clone(), Read, false),
            (Closed, note, Closed, false),
            (Unread, customer.clone(), Unread, true),
            (Read, customer.clone(), Unread, true),
            (Closed, customer, Unread, true),
        ];
        for (i, (from, event, want, card)) in table.into_iter().enumerate() {
            let d = decide(Some(&ticket(from)), &event, t0()).expect("applies");
            assert_eq!(d.state.status, want, "row {i}: {from:?} + {event:?}");
            assert_eq!(
                d.effects.contains(&Effect::UpdateCard),
                card,
                "row {i}: card update for {from:?} + {event:?}"
            );
            let changed = d.history.iter().any(|h| {
                matches!(h.what, HistoryKind::StatusChanged { from: f, to } if f == from && to == want)
            });
            assert_eq!(changed, from != want, "row {i}: history records the change");
        }
    }

    #[test]
    fn a_customer_message_opens_an_unread_ticket_and_posts_a_card() {
        let d = decide(
            None,
            &Event::CustomerMessage {
                item: item("77_1", "hi"),
            },
            t0(),
        )
        .expect("opens");
        assert_eq!(d.state.status, Status::Unread);
        assert_eq!(d.state.conversation_key, "facebook:1001:1001_77:555");
        assert_eq!(d.state.reply_to, NetworkItemId::new("77_1"));
        assert_eq!(d.effects, vec![Effect::PostCard]);
        assert_eq!(d.history.len(), 2);
        assert!(
            matches!(&d.messages[..], [MessageChange::Insert(m)] if m.kind == MessageKind::Customer)
        );
    }

    #[test]
    fn only_a_customer_message_can_open_a_ticket() {
        for event in [
            action(CardAction::Close),
            Event::CustomerDeleted {
                key: MessageKey::new("in:facebook:x"),
            },
        ] {
            assert_eq!(
                decide(None, &event, t0()),
                Err(Rejection::NotAnOpeningEvent)
            );
        }
    }

    #[test]
    fn a_later_comment_moves_the_reply_target_and_goes_to_the_thread() {
        let d = decide(
            Some(&ticket(Status::Read)),
            &Event::CustomerMessage {
                item: item("77_9", "still waiting"),
            },
            t0(),
        )
        .expect("applies");
        assert_eq!(d.state.reply_to, NetworkItemId::new("77_9"));
        assert_eq!(
            d.effects,
            vec![
                Effect::PostThreadMessage {
                    key: MessageKey::new("in:facebook:77_9"),
                    broadcast: true
                },
                Effect::UpdateCard
            ]
        );
    }

    #[test]
    fn a_reply_is_queued_sent_and_marked() {
        let d = decide(
            Some(&ticket(Status::Unread)),
            &Event::Reply {
                teammate: ana(),
                chat: chat("5.5"),
                text: "on it".into(),
                send_at: t0(),
                as_account: None,
            },
            t0(),
        )
        .expect("applies");
        let key = MessageKey::new("chat:slack:T1:C1:5.5");
        assert_eq!(
            d.effects,
            vec![
                Effect::SendReply {
                    key: key.clone(),
                    not_before: None,
                    reply_to: Some(ticket(Status::Unread).state.reply_to),
                    as_account: None,
                },
                Effect::ShowDelivery {
                    key,
                    state: DeliveryMark::Queued
                },
                Effect::UpdateCard
            ]
        );
        assert!(
            matches!(&d.messages[..], [MessageChange::Insert(m)] if m.delivery == Some(Delivery::Queued))
        );
    }

    #[test]
    fn delivery_outcomes_update_card_and_message() {
        let key = MessageKey::new("chat:slack:T1:C1:5.5");
        let delivered = decide(
            Some(&ticket(Status::Read)),
            &Event::ReplyDelivered {
                key: key.clone(),
                network_item_id: NetworkItemId::new("77_100"),
                teammate: Some(ana()),
                account: None,
            },
            t0(),
        )
        .expect("applies");
        assert_eq!(delivered.state.last_replied_by, Some(ana()));
        assert_eq!(delivered.state.last_failure, None);
        assert!(delivered.effects.contains(&Effect::ShowDelivery {
            key: key.clone(),
            state: DeliveryMark::Delivered
        }));

        let failed = decide(
            Some(&ticket(Status::Read)),
            &Event::ReplyFailed {
                key: key.clone(),
                reason: FailureReason::TokenExpired,
            },
            t0(),
        )
        .expect("applies");
        assert_eq!(failed.state.last_failure, Some(FailureReason::TokenExpired));
        assert_eq!(
            failed.effects,
            vec![
                Effect::ShowDelivery {
                    key: key.clone(),
                    state: DeliveryMark::Failed
                },
                Effect::ExplainFailure { key },
                Effect::UpdateCard
            ]
        );
    }

    #[test]
    fn edits_and_deletes_of_the_first_item_show_on_the_card() {
        let t = ticket(Status::Read);
        let first = MessageKey::new("in:facebook:77_1");
        let later = MessageKey::new("in:facebook:77_2");
        let edited = decide(
            Some(&t),
            &Event::CustomerEdited {
                key: first.clone(),
                text: "hi!!".into(),
                rating: None,
            },
            t0(),
        )
        .expect("applies");
        assert_eq!(edited.state.first_text, "hi!!");
        assert!(edited.state.first_item_edited);
        assert_eq!(edited.effects, vec![Effect::UpdateCard]);

        let deleted =
            decide(Some(&t), &Event::CustomerDeleted { key: first }, t0()).expect("applies");
        assert!(deleted.state.first_item_deleted);
        assert_eq!(deleted.effects, vec![Effect::UpdateCard]);

        let later_deleted = decide(
            Some(&t),
            &Event::CustomerDeleted { key: later.clone() },
            t0(),
        )
        .expect("applies");
        assert_eq!(
            later_deleted.effects,
            vec![Effect::UpdateThreadMessage { key: later }]
        );
        // Status never changes because of an edit or a delete.
        assert_eq!(later_deleted.state.status, Status::Read);
    }

    #[test]
    fn block_needs_a_real_author_id() {
        let block = Event::Moderate {
            teammate: ana(),
            action: Moderation::Block,
        };
        // A comment by a known person: blocked (a job for the network).
        let t = ticket(Status::Read);
        let d = decide(Some(&t), &block, t0()).expect("applies");
        assert!(d.state.moderation.author_blocked);
        assert!(d.effects.contains(&Effect::Moderate {
            action: Moderation::Block,
            item: Some(t.state.first_item.clone()),
            as_account: None,
        }));
        // A mention whose author Meta did not name: nothing to block, nothing happens.
        let mut anonymous = ticket(Status::Read);
        anonymous.state.kind = ItemKind::Mention;
        anonymous.state.customer.id = CustomerId::unknown_author_of(&NetworkItemId::new("1001_77"));
        let d = decide(Some(&anonymous), &block, t0()).expect("applies");
        assert!(d.is_noop(), "{d:?}");
        assert!(!d.state.moderation.author_blocked);
        // Other moderation still works on it.
        let hide = Event::Moderate {
            teammate: ana(),
            action: Moderation::Hide,
        };
        let d = decide(Some(&anonymous), &hide, t0()).expect("applies");
        assert!(d.effects.contains(&Effect::Moderate {
            action: Moderation::Hide,
            item: Some(anonymous.state.first_item.clone()),
            as_account: None,
        }));
    }

    #[test]
    fn mute_mutes_a_real_author_once_and_a_refusal_undoes_it() {
        use crate::core::capabilities::{Capabilities, WindowRule};
        const MUTING: Capabilities = Capabilities {
            reply: Some(crate::core::limits::ReplyLimit::x_weighted(280)),
            window: WindowRule::None,
            moderation: &[Moderation::Like, Moderation::Mute],
            edits_reported: false,
            deletes_reported: false,
        };
        let mute = |t: &Ticket| {
            super::decide(
                Some(t),
                &Event::Moderate {
                    teammate: ana(),
                    action: Moderation::Mute,
                },
                &MUTING,
                t0(),
            )
            .expect("applies")
        };
        let t = ticket(Status::Unread);
        let d = mute(&t);
        assert!(d.state.moderation.author_muted);
        assert!(!d.state.moderation.author_blocked);
        assert!(d.effects.contains(&Effect::Moderate {
            action: Moderation::Mute,
            item: Some(t.state.first_item.clone()),
            as_account: None,
        }));
        // Once: muted already, nothing more.
        let muted = Ticket {
            state: d.state,
            ..t.clone()
        };
        assert!(mute(&muted).is_noop());
        // Refused by the network: the card no longer says so, with the reason.
        let refused = super::decide(
            Some(&muted),
            &Event::ModerationFailed {
                action: Moderation::Mute,
                reason: FailureReason::PermissionDenied,
            },
            &MUTING,
            t0(),
        )
        .expect("applies");
        assert!(!refused.state.moderation.author_muted);
        assert_eq!(
            refused.state.moderation.failure,
            Some((Moderation::Mute, FailureReason::PermissionDenied))
        );
        // An author with a stand-in id cannot be muted.
        let mut anonymous = ticket(Status::Read);
        anonymous.state.customer.id = CustomerId::unknown_author_of(&NetworkItemId::new("1001_77"));
        assert!(mute(&anonymous).is_noop());
        // Not offered by the network: nothing happens.
        let d = decide(
            Some(&t),
            &Event::Moderate {
                teammate: ana(),
                action: Moderation::Mute,
            },
            t0(),
        )
        .expect("applies");
        assert!(d.is_noop(), "{d:?}");
    }

    #[test]
    fn held_items_are_approved_or_rejected_and_our_reply_deleted() {
        use crate::core::capabilities::{Capabilities, WindowRule};
        const YOUTUBE: Capabilities = Capabilities {
            reply: Some(crate::core::limits::ReplyLimit::chars(10_000)),
            window: WindowRule::None,
            moderation: &[
                Moderation::Approve,
                Moderation::Reject,
                Moderation::BanAuthor,
                Moderation::DeleteReply,
            ],
            edits_reported: true,
            deletes_reported: false,
        };
        let moderate = |t: &Ticket, action| {
            super::decide(
                Some(t),
                &Event::Moderate {
                    teammate: ana(),
                    action,
                },
                &YOUTUBE,
                t0(),
            )
            .expect("applies")
        };
        let queued = |d: &Decision, action| {
            d.effects
                .iter()
                .any(|e| matches!(e, Effect::Moderate { action: a, .. } if *a == action))
        };
        // A published comment: nothing to approve, reject or ban; no reply to delete yet.
        let published = ticket(Status::Unread);
        for action in [
            Moderation::Approve,
            Moderation::Reject,
            Moderation::BanAuthor,
            Moderation::DeleteReply,
        ] {
            assert!(moderate(&published, action).is_noop(), "{action:?}");
        }
        // Held for review: approved (once), or rejected with its author banned.
        let mut held = ticket(Status::Unread);
        held.state.context.held = Some(Held::ForReview);
        let approved = moderate(&held, Moderation::Approve);
        assert!(approved.state.moderation.approved && queued(&approved, Moderation::Approve));
        let again = Ticket {
            state: approved.state.clone(),
            ..held.clone()
        };
        assert!(moderate(&again, Moderation::Approve).is_noop());
        let banned = moderate(&held, Moderation::BanAuthor);
        assert!(banned.state.moderation.author_blocked && banned.state.moderation.rejected);
        assert!(queued(&banned, Moderation::BanAuthor));
        // The network refused the ban: undone on the card, with the reason.
        let refused = super::decide(
            Some(&Ticket {
                state: banned.state.clone(),
                ..held.clone()
            }),
            &Event::ModerationFailed {
                action: Moderation::BanAuthor,
                reason: FailureReason::PermissionDenied,
            },
            &YOUTUBE,
            t0(),
        )
        .expect("applies");
        let m = &refused.state.moderation;
        assert!(!m.author_blocked && !m.rejected && m.failure.is_some());
        // Rejected first, then a ban the network refuses: the comment stays rejected.
        let rejected = moderate(&held, Moderation::Reject);
        let rejected = Ticket {
            state: rejected.state,
            ..held.clone()
        };
        let banned = moderate(&rejected, Moderation::BanAuthor);
        let refused = super::decide(
            Some(&Ticket {
                state: banned.state,
                ..held.clone()
            }),
            &Event::ModerationFailed {
                action: Moderation::BanAuthor,
                reason: FailureReason::PermissionDenied,
            },
            &YOUTUBE,
            t0(),
        )
        .expect("applies");
        let m = &refused.state.moderation;
        assert!(!m.author_blocked && m.rejected, "{m:?}");
        // A delivered reply can be deleted: the one delivered when the teammate clicked.
        let mut answered = ticket(Status::Read);
        answered.state.our_reply = Some(NetworkItemId::new("Ugz.reply1"));
        let deleting = moderate(&answered, Moderation::DeleteReply);
        assert_eq!(
            deleting.state.moderation.reply_deleted,
            Some(NetworkItemId::new("Ugz.reply1"))
        );
        assert!(queued(&deleting, Moderation::DeleteReply));
        let deleted = Ticket {
            state: deleting.state.clone(),
            ..answered.clone()
        };
        assert!(moderate(&deleted, Moderation::DeleteReply).is_noop());
        // A later reply can be deleted in its turn.
        let delivered = super::decide(
            Some(&deleted),
            &Event::ReplyDelivered {
                key: MessageKey::new("chat:slack:T1:C1:2.2"),
                network_item_id: NetworkItemId::new("Ugz.reply2"),
                teammate: Some(ana()),
                account: None,
            },
            &YOUTUBE,
            t0(),
        )
        .expect("applies");
        // The card no longer says it was deleted.
        assert_eq!(delivered.state.moderation.reply_deleted, None);
        let replied_again = Ticket {
            state: delivered.state,
            ..answered
        };
        assert!(queued(
            &moderate(&replied_again, Moderation::DeleteReply),
            Moderation::DeleteReply
        ));
    }

    #[test]
    fn an_updated_review_reopens_its_ticket_and_shows_what_changed() {
        let mut review = ticket(Status::Closed);
        review.state.kind = ItemKind::Review;
        review.state.first_text = "Good coffee".into();
        review.state.context.rating = Some(4);
        let first = MessageKey::inbound(review.state.network, &review.state.first_item);
        let edit = |text: &str, rating| Event::CustomerEdited {
            key: first.clone(),
            text: text.into(),
            rating,
        };
        let d = decide(Some(&review), &edit("Cold coffee", Some(2)), t0()).expect("applies");
        assert_eq!(d.state.status, Status::Unread);
        assert_eq!(
            (d.state.first_text.as_str(), d.state.context.rating),
            ("Cold coffee", Some(2))
        );
        assert_eq!(
            d.effects,
            vec![
                Effect::ReviewUpdated {
                    before: ReviewVersion {
                        rating: Some(4),
                        text: "Good coffee".into()
                    },
                    after: ReviewVersion {
                        rating: Some(2),
                        text: "Cold coffee".into()
                    },
                    broadcast: true,
                },
                Effect::UpdateCard
            ]
        );
        // Open and assigned: only the assignee hears of it.
        let mut assigned = review.clone();
        assigned.state.status = Status::Read;
        assigned.state.assignee = Some(Assignee::Person(ana()));
        let d = decide(Some(&assigned), &edit("Cold coffee", Some(2)), t0()).expect("applies");
        assert!(matches!(
            d.effects[..],
            [
                Effect::ReviewUpdated {
                    broadcast: false,
                    ..
                },
                Effect::NotifyAssignee { .. },
                Effect::UpdateCard
            ]
        ));
        let codes: Vec<_> = d.history.iter().map(|h| h.what.code()).collect();
        assert_eq!(codes, ["customer_edited", "status_changed"]);
        // Stars alone count; a rating the network left out keeps the old one.
        let stars = decide(Some(&review), &edit("Good coffee", Some(5)), t0()).expect("applies");
        assert_eq!(stars.state.context.rating, Some(5));
        assert!(matches!(stars.effects[0], Effect::ReviewUpdated { .. }));
        // Nothing changed (Google bumped its update time): nothing happens.
        assert!(
            decide(Some(&review), &edit("Good coffee", Some(4)), t0())
                .expect("applies")
                .is_noop()
        );
        assert!(
            decide(Some(&review), &edit("Good coffee", None), t0())
                .expect("applies")
                .is_noop()
        );
    }

    #[test]
    fn a_profile_is_chosen_only_where_another_account_may_answer() {
        let choose = |t: &Ticket| {
            decide(
                Some(t),
                &Event::ChooseProfile {
                    teammate: ana(),
                    account: AccountId::new("2"),
                },
                t0(),
            )
            .expect("applies")
        };
        let mut mention = ticket(Status::Read);
        mention.state.kind = ItemKind::Mention;
        let d = choose(&mention);
        assert_eq!(d.state.reply_as, Some(AccountId::new("2")));
        assert_eq!(d.history[0].what.code(), "profile_chosen");
        assert_eq!(d.effects, vec![Effect::UpdateCard]);
        // Chosen already: nothing more.
        let chosen = Ticket {
            state: d.state,
            ..mention
        };
        assert!(choose(&chosen).is_noop());
        // A comment belongs to its account: nothing to choose.
        assert!(choose(&ticket(Status::Read)).is_noop());
        // A reply sent as another account shows so.
        let d = decide(
            Some(&chosen),
            &Event::ReplyDelivered {
                key: MessageKey::new("chat:slack:T1:C1:2.2"),
                network_item_id: NetworkItemId::new("r1"),
                teammate: Some(ana()),
                account: Some(AccountId::new("2")),
            },
            t0(),
        )
        .expect("applies");
        assert_eq!(d.state.last_replied_as, Some(AccountId::new("2")));
    }

    #[test]
    fn noop_actions_change_nothing() {
        let t = ticket(Status::Closed);
        let d = decide(
            Some(&t),
            &action(CardAction::Close),
            t0() + chrono::Duration::hours(1),
        )
        .expect("applies");
        assert!(d.is_noop());
        assert_eq!(d.state, t.state, "not even updated_at");
    }

    #[test]
    fn only_a_closed_ticket_is_archived_and_reopening_clears_it() {
        let archive = Event::Archive {
            after_days: 42,
            quiet_since: t0() + chrono::Duration::seconds(1),
        };
        let open = ticket(Status::Read);
        let d = decide(Some(&open), &archive, t0()).expect("applies");
        assert_eq!(d.state.archived, None);
        assert!(d.effects.is_empty() && d.history.is_empty());

        let closed = ticket(Status::Closed);
        let d = decide(Some(&closed), &archive, t0()).expect("applies");
        assert_eq!(
            d.state.archived,
            Some(crate::core::model::Archived {
                at: t0(),
                after_days: 42
            })
        );
        assert_eq!(d.effects, vec![Effect::UpdateCard]);
        assert_eq!(d.history[0].what, HistoryKind::Archived { after_days: 42 });

        // Archived already: nothing more.
        let mut archived = closed.clone();
        archived.state = d.state.clone();
        let again = decide(Some(&archived), &archive, t0()).expect("applies");
        assert!(again.effects.is_empty() && again.history.is_empty());

        // Active since the cut (closed again after a reopen meanwhile): not archived.
        let early = Event::Archive {
            after_days: 42,
            quiet_since: closed.state.updated_at,
        };
        let d2 = decide(Some(&closed), &early, t0()).expect("applies");
        assert_eq!(d2.state.archived, None);
        // A note on an archived ticket keeps it.
        let note = Event::Note {
            teammate: ana(),
            chat: chat("9.9"),
            text: "keep this".into(),
        };
        let kept = decide(Some(&archived), &note, t0()).expect("applies");
        assert_eq!(kept.state.archived, None);

        // Reopened by a teammate: no longer archived.
        let reopen = Event::Action {
            teammate: ana(),
            action: CardAction::Reopen,
        };
        let d = decide(Some(&archived), &reopen, t0()).expect("applies");
        assert_eq!(d.state.status, Status::Read);
        assert_eq!(d.state.archived, None);
    }

    #[test]
    fn a_ticket_the_team_answered_last_closes_after_the_period_and_reopens_on_a_message() {
        let day = chrono::Duration::days(1);
        let mut t = ticket(Status::Read);
        t.state.last_customer_at = t0();
        t.state.last_reply_at = Some(t0() + chrono::Duration::hours(1));
        // Unread (something the team has not seen): never closed unseen.
        let mut unread = t.clone();
        unread.state.status = Status::Unread;
        let at30 = t0() + day * 30;
        let d = decide(
            Some(&unread),
            &Event::AutoClose {
                after_days: 7,
                as_of: at30,
            },
            at30,
        )
        .expect("applies");
        assert_eq!(d.state.status, Status::Unread);
        let close_at = |at| Event::AutoClose {
            after_days: 7,
            as_of: at,
        };
        // Six days after the reply: nothing.
        let d = decide(Some(&t), &close_at(t0() + day * 6), t0() + day * 6).expect("applies");
        assert_eq!(d.state.status, Status::Read);
        assert!(d.effects.is_empty());
        // Eight days: closed by the system, with the note.
        let close = close_at(t0() + day * 8);
        let d = decide(Some(&t), &close, t0() + day * 8).expect("applies");
        assert_eq!(d.state.status, Status::Closed);
        assert_eq!(d.state.auto_closed, Some(7));
        assert!(
            d.history
                .iter()
                .any(|h| h.what == HistoryKind::AutoClosed { after_days: 7 })
        );
        assert_eq!(d.effects, vec![Effect::UpdateCard]);
        // The customer wrote after the reply: it no longer counts.
        let theirs = decide(
            Some(&t),
            &Event::CustomerEdited {
                key: MessageKey::inbound(t.state.network, &t.state.first_item),
                text: "edited".into(),
                rating: None,
            },
            t0() + day,
        )
        .expect("applies");
        assert_eq!(theirs.state.last_reply_at, None);
        // Reopened: the note goes.
        let mut closed = t.clone();
        closed.state = decide(Some(&t), &close, t0() + day * 8).unwrap().state;
        let reopen = Event::Action {
            teammate: ana(),
            action: CardAction::Reopen,
        };
        let d = decide(Some(&closed), &reopen, t0() + day * 9).expect("applies");
        assert_eq!(d.state.auto_closed, None);
        // …and is not closed again by the next round: the period waits for a new reply.
        let mut reopened = closed.clone();
        reopened.state = d.state;
        reopened.state.status = Status::Read;
        let at10 = t0() + day * 10;
        let again = Event::AutoClose {
            after_days: 7,
            as_of: at10,
        };
        let d = decide(Some(&reopened), &again, at10).expect("applies");
        assert_eq!(d.state.status, Status::Read);
    }
}
