//! The inbox processor: claims committed inbound events in order and applies them to tickets.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tracing::{Instrument, debug, error, info_span, warn};

use crate::config::ReplyMode;
use crate::core::permission::Permission;
use crate::core::tags::tokens;
use crate::core::{
    ActionId, Assignee, CardAction, ChatRef, ChatUserId, Delivery, Event, MessageKey, MessageKind,
    NetworkChange, Surface, Teammate, TicketId, text,
};
use crate::core::{Moderation, ReceiptStatus};
use crate::store::{Consumes, InboxRow};

use super::apply::{Applied, Lookup, apply, apply_opening};
use super::{InboxEvent, Services, backoff};

/// Rows claimed per step by [`process_batch`]. Processed one by one, in order.
const INBOX_BATCH: i64 = 64;
/// Rows in flight at once in the running worker (each the head of its lane).
const INBOX_CONCURRENCY: usize = 16;
/// Lease on claimed rows; another replica may take them over after this.
const INBOX_LEASE_SECS: i64 = 60;
/// Longest wait between two looks for an item an edit or removal is about.
const ORPHAN_MAX_WAIT: Duration = Duration::from_secs(30);
/// Tags suggested on a new ticket at most.
const MAX_SUGGESTED_TAGS: usize = 3;
/// Tickets one bulk action may touch.
pub const MAX_BULK_TICKETS: i64 = 10_000;

pub async fn run(svc: Arc<Services>, shutdown: watch::Receiver<bool>) {
    let poll = Duration::from_millis(svc.config.outbox.poll_ms);
    let work_svc = svc.clone();
    // Rows of different lanes are processed concurrently (a stalled directory lookup holds
    // back only its own lane); rows of one lane one at a time, in order (the claim query).
    super::run_pool(
        super::Pool {
            name: "inbox",
            wake: &svc.wake_inbox,
            poll,
            capacity: INBOX_CONCURRENCY,
            pressed: || svc.inbox.pressed(),
            stalled_after: super::PRESSED_STALLED_AFTER,
        },
        shutdown,
        |free| claim(&svc, free as i64),
        move |row: InboxRow| {
            let svc = work_svc.clone();
            let span = row_span(&row);
            async move { process_row(&svc, row).await }.instrument(span)
        },
    )
    .await;
}

async fn claim(svc: &Services, limit: i64) -> anyhow::Result<Vec<InboxRow>> {
    Ok(svc
        .store
        .claim_inbox(
            limit,
            Utc::now(),
            chrono::Duration::seconds(INBOX_LEASE_SECS),
        )
        .await?)
}

/// The span of one inbox row; `ticket` is recorded once the row's ticket is known (see
/// `apply`).
fn row_span(row: &InboxRow) -> tracing::Span {
    info_span!(
        "inbox",
        id = row.id,
        source = %row.source,
        key = %row.dedupe_key,
        ticket = tracing::field::Empty
    )
}

/// Process one batch, row by row in order; returns how many rows were handled. For tests
/// and benchmarks that drive the worker step by step.
pub async fn process_batch(svc: &Services) -> anyhow::Result<usize> {
    let rows = claim(svc, INBOX_BATCH).await?;
    let n = rows.len();
    for row in rows {
        let span = row_span(&row);
        process_row(svc, row).instrument(span).await;
    }
    Ok(n)
}

/// Not a failure: the row's target does not exist yet (an edit that overtook its item).
#[derive(Debug, thiserror::Error)]
#[error("waiting for {what}")]
struct Waiting {
    what: &'static str,
    after: Duration,
}

/// How long one row may be processed: its lease less the margin, so that no other worker
/// claims it while this one is still at work.
fn row_deadline() -> Duration {
    Duration::from_secs(INBOX_LEASE_SECS as u64 - crate::config::LEASE_MARGIN_SECS)
}

async fn process_row(svc: &Services, row: InboxRow) {
    let result = match tokio::time::timeout(row_deadline(), handle(svc, &row)).await {
        Ok(r) => r,
        Err(_) => Err(anyhow::anyhow!(
            "processing did not finish before its deadline"
        )),
    };
    let now = Utc::now();
    let budget = Duration::from_secs(svc.config.inbox.retry_budget_secs);
    let spent = (now - row.received_at).to_std().unwrap_or_default();
    let outcome = match &result {
        Ok(()) => "processed",
        Err(e) if e.downcast_ref::<Waiting>().is_some() => "waiting",
        Err(_) if spent >= budget => "given_up",
        Err(_) => "retried",
    };
    svc.metrics.inbox_row(&row.source, outcome);
    let bookkeeping = match result {
        Ok(()) => Ok(true),
        Err(e) if e.downcast_ref::<Waiting>().is_some() => {
            let after = e
                .downcast_ref::<Waiting>()
                .map_or(Duration::from_secs(1), |w| w.after);
            debug!(error = format!("{e:#}"), "inbox row waits");
            let at =
                now + chrono::Duration::from_std(after).unwrap_or(chrono::Duration::seconds(1));
            svc.store
                .retry_inbox(row.claim(), &format!("{e:#}"), at, false)
                .await
        }
        Err(e) if spent >= budget => {
            error!(
                error = format!("{e:#}"),
                attempts = row.attempts,
                "giving up on inbox row"
            );
            svc.store
                .finish_inbox(row.claim(), Some(&format!("gave up: {e:#}")), now)
                .await
        }
        Err(e) => {
            warn!(
                error = format!("{e:#}"),
                attempts = row.attempts,
                "inbox row will be retried"
            );
            let delay = backoff(
                row.attempts,
                Duration::from_millis(svc.config.outbox.base_backoff_ms),
                Duration::from_secs(svc.config.outbox.max_backoff_secs),
                None,
            );
            let at =
                now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(1));
            svc.store
                .retry_inbox(row.claim(), &format!("{e:#}"), at, true)
                .await
        }
    };
    match bookkeeping {
        Ok(true) => {}
        Ok(false) => warn!("another worker holds this inbox row now; nothing recorded here"),
        // The lease expires and the row is claimed again: nothing is lost.
        Err(e) => error!(error = %e, "cannot record inbox outcome"),
    }
}

/// An edit or removal whose item we do not have (yet): Meta may deliver it before the item
/// itself, or the item's own row may be in retry. Wait for it, for `inbox.orphan_wait_secs`,
/// then note it and move on.
async fn orphan(svc: &Services, row: &InboxRow, why: &'static str) -> anyhow::Result<()> {
    let waited = (Utc::now() - row.received_at).to_std().unwrap_or_default();
    if waited < Duration::from_secs(svc.config.inbox.orphan_wait_secs) {
        let after = backoff(
            row.attempts,
            Duration::from_millis(svc.config.outbox.base_backoff_ms),
            ORPHAN_MAX_WAIT,
            None,
        );
        return Err(Waiting { what: why, after }.into());
    }
    note(svc, row, why).await
}

/// What `Store::scrub_inbox` leaves of an erased customer's payload.
const ERASED_PAYLOAD: &str = "\"erased\"";

async fn handle(svc: &Services, row: &InboxRow) -> anyhow::Result<()> {
    let now = Utc::now();
    if row.payload == ERASED_PAYLOAD {
        return note(svc, row, "erased at the customer's request").await;
    }
    let event: InboxEvent = match serde_json::from_str(&row.payload) {
        Ok(e) => e,
        Err(e) => {
            error!(error = %e, "unreadable inbox payload");
            svc.store
                .finish_inbox(row.claim(), Some(&format!("unreadable payload: {e}")), now)
                .await?;
            return Ok(());
        }
    };
    let consumes = Consumes::Inbox(row.claim());
    let (lookup, event) = match event {
        InboxEvent::Network { change } => match change {
            NetworkChange::New { item } => {
                // One of the team's own replies seen back (another of our accounts was
                // mentioned in it, or a network echoes what we post): never a customer's.
                if svc
                    .store
                    .reply_by_network_id(&item.item_id)
                    .await?
                    .is_some()
                    // Written by one of the team's accounts (its reply seen before its
                    // delivery was recorded, or posted outside Switchboard).
                    || svc
                        .account(item.network, item.customer.id.as_str())
                        .is_some()
                {
                    return note(svc, row, "our own reply, not a customer's message").await;
                }
                let lookup = Lookup::Conversation(item.conversation_key());
                let event = Event::CustomerMessage { item };
                let (applied, opened) = apply_opening(svc, &lookup, &event, consumes).await?;
                if let (Some(first_text), Applied::Committed(ticket)) = (opened, &applied) {
                    suggest_tags(svc, *ticket, &first_text).await;
                }
                return settle(svc, row, applied).await;
            }
            NetworkChange::Edited {
                network,
                item_id,
                text,
                rating,
                ..
            } => {
                let key = MessageKey::inbound(network, &item_id);
                match svc.store.message(&key).await? {
                    Some(m) => (
                        Lookup::Id(m.ticket_id),
                        Event::CustomerEdited { key, text, rating },
                    ),
                    None => return orphan(svc, row, "the item this edit is about").await,
                }
            }
            NetworkChange::Receipt {
                network,
                account,
                customer,
                ids,
                watermark,
                status,
            } => {
                if ids.is_empty() {
                    // Messenger reads: everything up to the watermark was seen; mark our
                    // newest delivered reply before it.
                    let (Some(customer), Some(watermark), ReceiptStatus::Read) =
                        (customer, watermark, &status)
                    else {
                        return note(svc, row, "a receipt without ids (nothing to apply)").await;
                    };
                    let key = crate::core::model::dm_conversation_key(network, &account, &customer);
                    let Some(t) = svc.store.ticket_by_conversation(&key).await? else {
                        return note(svc, row, "a read receipt for no known conversation").await;
                    };
                    let newest = svc.store.messages(t.id).await?.into_iter().rfind(|m| {
                        m.kind == MessageKind::Reply
                            && m.delivery == Some(Delivery::Delivered)
                            && m.created_at <= watermark
                    });
                    if let Some(m) = newest {
                        let event = Event::ReplySeen { key: m.key };
                        apply(svc, &Lookup::Id(t.id), &event, Consumes::Nothing).await?;
                    }
                    return note(svc, row, "read receipt applied").await;
                }
                let mut applied = 0;
                for id in ids {
                    let Some(reply) = svc.store.reply_by_network_id(&id).await? else {
                        continue;
                    };
                    let event = match &status {
                        ReceiptStatus::Failed(reason) => Event::ReplyFailed {
                            key: reply.key.clone(),
                            reason: reason.clone(),
                        },
                        ReceiptStatus::Read => Event::ReplySeen {
                            key: reply.key.clone(),
                        },
                        // Accepted by the API means delivered as far as the card shows.
                        ReceiptStatus::Sent | ReceiptStatus::Delivered => continue,
                    };
                    let lookup = Lookup::Id(reply.ticket_id);
                    if let Applied::Committed(_) =
                        apply(svc, &lookup, &event, Consumes::Nothing).await?
                    {
                        applied += 1;
                    }
                }
                return note(svc, row, &format!("receipt applied to {applied} replies")).await;
            }
            NetworkChange::Removed {
                network, item_id, ..
            } => {
                let key = MessageKey::inbound(network, &item_id);
                match svc.store.message(&key).await? {
                    Some(m) => (Lookup::Id(m.ticket_id), Event::CustomerDeleted { key }),
                    None => return orphan(svc, row, "the item this removal is about").await,
                }
            }
        },
        InboxEvent::CardAction {
            teammate,
            action_id,
            value,
            selected,
        } => {
            let id = match action_id.parse::<ActionId>() {
                Ok(id) => id,
                Err(e) => return note(svc, row, &format!("action id {action_id:?}: {e}")).await,
            };
            let before = if id.action == CardAction::AcceptTag {
                svc.store.ticket(id.ticket).await?
            } else {
                None
            };
            let Some((lookup, event)) = card_event(svc, id, teammate, value, selected).await?
            else {
                return note(svc, row, "a control that changes nothing by itself").await;
            };
            let applied = apply(svc, &lookup, &event, consumes).await?;
            if let (Some(before), Applied::Committed(_)) = (before, &applied) {
                // Learn from an accepted suggestion like from any tagging.
                learn_tags(svc, &before).await;
            }
            return settle(svc, row, applied).await;
        }
        InboxEvent::ThreadMessage {
            teammate,
            thread,
            message,
            text,
            roles,
        } => match thread_event(svc, teammate, &roles, &thread, message, text).await? {
            Some(x) => x,
            None => return note(svc, row, "not a card thread, or not a reply").await,
        },
        InboxEvent::MessageEdited {
            teammate,
            message,
            text,
        } => {
            let key = MessageKey::from_chat(&message);
            match svc.store.message(&key).await? {
                Some(m)
                    if m.kind == MessageKind::Reply
                        && m.delivery == Some(Delivery::Queued)
                        && m.teammate.as_ref() == Some(&teammate) =>
                {
                    (Lookup::Id(m.ticket_id), Event::ReplyEdited { key, text })
                }
                Some(_) => {
                    return note(svc, row, "edit of a message that is not a pending reply").await;
                }
                None => return orphan(svc, row, "the message this edit is about").await,
            }
        }
        InboxEvent::MessageDeleted { message } => {
            let key = MessageKey::from_chat(&message);
            match svc.store.message(&key).await? {
                Some(m) if m.kind == MessageKind::Reply && m.delivery == Some(Delivery::Queued) => {
                    (Lookup::Id(m.ticket_id), Event::ReplyCancelled { key })
                }
                None => return orphan(svc, row, "the message this deletion is about").await,
                Some(_) => {
                    return note(
                        svc,
                        row,
                        "deletion of a message that is not a pending reply",
                    )
                    .await;
                }
            }
        }
        InboxEvent::ModalReply {
            teammate,
            ticket,
            view_id,
            text,
        } => {
            let as_account = match svc.store.ticket(ticket).await? {
                Some(t) => answering_account(svc, &t).await?,
                None => None,
            };
            (
                Lookup::Id(ticket),
                Event::ModalReply {
                    key: MessageKey::new(format!("modal:{}:{view_id}", teammate.surface.as_str())),
                    send_at: now + undo(svc, teammate.surface),
                    teammate,
                    text,
                    as_account,
                },
            )
        }
        InboxEvent::ReplyModal {
            teammate,
            ticket,
            open,
        } => (
            Lookup::Id(ticket),
            if open {
                Event::ReplyStarted { teammate }
            } else {
                Event::ReplyStopped { teammate }
            },
        ),
        InboxEvent::Assign {
            teammate,
            ticket,
            assignee,
            note,
        } => (
            Lookup::Id(ticket),
            Event::Assign {
                teammate,
                assignee,
                note,
            },
        ),
        InboxEvent::TagsSubmitted {
            teammate,
            ticket,
            tags,
        } => {
            let before = svc.store.ticket(ticket).await?;
            let applied = apply(
                svc,
                &Lookup::Id(ticket),
                &Event::SetTags { teammate, tags },
                consumes,
            )
            .await?;
            if let (Some(before), Applied::Committed(_)) = (before, &applied) {
                learn_tags(svc, &before).await;
            }
            return settle(svc, row, applied).await;
        }
        InboxEvent::Erase {
            teammate,
            network,
            customer,
            ..
        } => {
            // Idempotent: a retry after a crash erases what is left. The customer was named
            // when the command was accepted, so a ticket purged meanwhile changes nothing.
            let done = super::erase::erase_customer(
                svc.store.as_ref(),
                network,
                &customer,
                &crate::core::Actor::Teammate(teammate),
            )
            .await?;
            svc.wake_outbox.notify_one();
            let what = format!(
                "customer erased from {} tickets ({} inbound payloads blanked)",
                done.tickets.len(),
                done.payloads
            );
            return note(svc, row, &what).await;
        }
        InboxEvent::Bulk {
            teammate,
            action,
            filter,
            response_url,
            discord_token,
            tag,
            keyword,
            assignee,
        } => {
            let mut tickets = svc.store.find_tickets(&filter, MAX_BULK_TICKETS).await?;
            // A storm's "hide all containing": only the comments with the word.
            if let Some(word) = &keyword {
                tickets.retain(|t| crate::core::storm::mentions(&t.state, word));
            }
            let mut changed = 0;
            for t in &tickets {
                // A storm card's "Assign all to me" is an assignment, like the card's button.
                let event = match action {
                    CardAction::AssignToMe => Event::Assign {
                        assignee: Some(Assignee::Person(teammate.clone())),
                        teammate: teammate.clone(),
                        note: None,
                    },
                    // A storm's "assign all to…".
                    CardAction::AssignPerson | CardAction::AssignTeam => {
                        let Some(who) = &assignee else { continue };
                        Event::Assign {
                            assignee: Some(who.clone()),
                            teammate: teammate.clone(),
                            note: None,
                        }
                    }
                    // A storm's "tag all": the tag added to what the ticket has.
                    CardAction::AcceptTag => {
                        let Some(tag) = &tag else { continue };
                        // Read now, not when the run began: a tag added meanwhile is kept.
                        let Some(now) = svc.store.ticket(t.id).await? else {
                            continue;
                        };
                        if now.state.tags.iter().any(|x| x.eq_ignore_ascii_case(tag)) {
                            continue;
                        }
                        let mut tags = now.state.tags.clone();
                        tags.push(tag.clone());
                        Event::SetTags {
                            teammate: teammate.clone(),
                            tags,
                        }
                    }
                    a if a.moderation().is_some() => Event::Moderate {
                        teammate: teammate.clone(),
                        action: a.moderation().unwrap_or(crate::core::Moderation::Hide),
                    },
                    action => Event::Action {
                        teammate: teammate.clone(),
                        action,
                    },
                };
                if let Applied::Committed(_) =
                    apply(svc, &Lookup::Id(t.id), &event, Consumes::Nothing).await?
                {
                    changed += 1;
                }
            }
            // A storm card's counts and choices follow what its tickets became.
            if let Some(storm) = filter.storm {
                svc.store.touch_storm(storm, chrono::Utc::now()).await?;
                svc.wake_outbox.notify_one();
            }
            let answer = if tickets.is_empty() {
                text::NO_MATCH.to_string()
            } else {
                text::bulk_done(action, changed, tickets.len())
            };
            // The answer to the teammate's own command rides on their interaction (a Slack
            // response_url lives 30 minutes, a Discord token 15): one timed call here, not an
            // outbox job retried for hours. Each ticket it changed went through the outbox.
            if let Some(url) = response_url {
                let body = serde_json::json!({"response_type": "ephemeral", "text": answer});
                if let Err(e) = svc.slack.post_to_response_url(&url, body).await {
                    warn!(error = ?e, "cannot report the bulk result");
                }
            }
            if let (Some(token), Some(discord), Some(cfg)) =
                (discord_token, &svc.discord, &svc.config.discord)
            {
                let mut body = crate::chat::discord::render::plain(&answer);
                body["flags"] = crate::chat::discord::render::EPHEMERAL.into();
                if let Err(e) = discord.followup(&cfg.application_id, &token, &body).await {
                    warn!(error = %e, "cannot report the bulk result");
                }
            }
            return note(svc, row, &answer).await;
        }
    };
    let applied = apply(svc, &lookup, &event, consumes).await?;
    settle(svc, row, applied).await
}

async fn settle(svc: &Services, row: &InboxRow, applied: Applied) -> anyhow::Result<()> {
    match applied {
        Applied::Committed(ticket) => debug!(%ticket, "applied"),
        Applied::Unchanged => debug!("no change"),
        Applied::AlreadyConsumed => debug!("already processed by another worker"),
        Applied::NoTicket => return note(svc, row, "no such ticket").await,
        Applied::Rejected(why) => return note(svc, row, &why).await,
    }
    Ok(())
}

fn undo(svc: &Services, surface: Surface) -> chrono::Duration {
    chrono::Duration::seconds(svc.config.undo_seconds(surface) as i64)
}

/// A card control's click as a ticket event (None: nothing to change, e.g. an empty picker).
async fn card_event(
    svc: &Services,
    id: ActionId,
    teammate: Teammate,
    value: Option<String>,
    selected: Vec<String>,
) -> anyhow::Result<Option<(Lookup, Event)>> {
    let lookup = Lookup::Id(id.ticket);
    let event = match id.action {
        a @ (CardAction::Close
        | CardAction::Reopen
        | CardAction::MarkRead
        | CardAction::MarkUnread) => Event::Action {
            teammate,
            action: a,
        },
        CardAction::AssignToMe => Event::Assign {
            assignee: Some(Assignee::Person(teammate.clone())),
            teammate,
            note: None,
        },
        CardAction::Unassign => Event::Assign {
            teammate,
            assignee: None,
            note: None,
        },
        CardAction::AssignPerson => {
            let Some(user) = selected.into_iter().next() else {
                return Ok(None);
            };
            Event::Assign {
                assignee: Some(Assignee::Person(Teammate {
                    surface: teammate.surface,
                    id: ChatUserId::new(user),
                })),
                teammate,
                note: None,
            }
        }
        CardAction::AssignTeam => {
            let Some(team) = selected
                .into_iter()
                .next()
                .and_then(|t| svc.config.team_name(&t))
            else {
                return Ok(None);
            };
            Event::Assign {
                teammate,
                assignee: Some(Assignee::Team(team)),
                note: None,
            }
        }
        CardAction::ChooseProfile => {
            let Some(account) = selected.into_iter().next().filter(|a| !a.is_empty()) else {
                return Ok(None);
            };
            Event::ChooseProfile {
                teammate,
                account: crate::core::AccountId::new(account),
            }
        }
        CardAction::AcceptTag => {
            let (Some(tag), Some(ticket)) = (value, svc.store.ticket(id.ticket).await?) else {
                return Ok(None);
            };
            let mut tags = ticket.state.tags.clone();
            tags.push(tag);
            Event::SetTags { teammate, tags }
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
        | CardAction::Mute => match id.action.moderation() {
            Some(action) => moderate(teammate, action),
            None => return Ok(None),
        },
        // These open modals; the handler did that.
        CardAction::EditTags | CardAction::Reply | CardAction::SavedReply => return Ok(None),
    };
    Ok(Some((lookup, event)))
}

/// A thread message under a card: a reply (thread mode, permitted) or a note.
async fn thread_event(
    svc: &Services,
    teammate: Teammate,
    roles: &[String],
    thread: &ChatRef,
    message: ChatRef,
    text: String,
) -> anyhow::Result<Option<(Lookup, Event)>> {
    let Some(id) = svc.store.ticket_by_chat(thread).await? else {
        return Ok(None);
    };
    let Some(ticket) = svc.store.ticket(id).await? else {
        return Ok(None);
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let surface = teammate.surface;
    let prefix = svc.config.note_prefix(surface).trim();
    let has_prefix = trimmed
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix));
    // A Discord thread is its own channel: the mode is that of the channel the ticket is
    // routed to (a text channel or a forum).
    let account = svc
        .account_fresh(ticket.state.network, ticket.state.account.as_str())
        .await?;
    let routed = account
        .as_ref()
        .and_then(|a| svc.config.destination_for(&ticket.state, a));
    let mode_channel = match routed {
        Some(crate::config::Destination::Discord { channel, .. })
            if surface == Surface::Discord =>
        {
            channel.id.as_str()
        }
        _ => thread.channel.as_str(),
    };
    let explicit = svc.config.reply_mode(surface, mode_channel) == ReplyMode::Explicit;
    let lookup = Lookup::Id(id);
    if has_prefix || explicit {
        let body = if has_prefix {
            trimmed[prefix.len()..].trim()
        } else {
            trimmed
        };
        return Ok(Some((
            lookup,
            Event::Note {
                teammate,
                chat: message,
                text: body.to_string(),
            },
        )));
    }
    let allowed = svc
        .directory
        .allowed_as(&svc.slack, &svc.config, &teammate, roles, Permission::Reply)
        .await?;
    let caps = svc.capabilities(&ticket.state);
    let refusal = if !allowed {
        Some(text::refused(Permission::Reply))
    } else {
        crate::core::capabilities::check_reply(&ticket, &caps, trimmed, Utc::now())
            .err()
            .map(|e| e.to_string())
    };
    if let Some(refusal) = refusal {
        let told = match (surface, &svc.discord) {
            (Surface::Slack, _) => svc
                .slack
                .post_ephemeral(&thread.channel, teammate.id.as_str(), &refusal)
                .await
                .map_err(|e| format!("{e:?}")),
            // Discord has no ephemeral messages outside interactions: answer the message,
            // pinging only its author.
            (Surface::Discord, Some(discord)) => {
                let mut body = crate::chat::discord::render::pinging(
                    &crate::core::Rich::ours(format!("<@{}> {refusal}", teammate.id)),
                    &[teammate.id.as_str()],
                    &[],
                );
                body["message_reference"] = serde_json::json!({ "message_id": message.message });
                discord
                    .create_message(&message.channel, &body)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
            (Surface::Discord, None) => Ok(()),
        };
        if let Err(e) = told {
            warn!(error = %e, "cannot tell a teammate their reply was refused");
        }
        return Ok(None);
    }
    let as_account = answering_account(svc, &ticket).await?;
    Ok(Some((
        lookup,
        Event::Reply {
            teammate,
            chat: message,
            text: trimmed.to_string(),
            send_at: Utc::now() + undo(svc, surface),
            as_account,
        },
    )))
}

/// The account that answers a reply written now, when it is not the ticket's own: decided
/// once (see `core::profiles`), so that every attempt goes out, and is looked for, as the
/// same account whatever changes meanwhile.
async fn answering_account(
    svc: &Services,
    ticket: &crate::core::Ticket,
) -> anyhow::Result<Option<crate::core::AccountId>> {
    let s = &ticket.state;
    let Some(owner) = svc.account_fresh(s.network, s.account.as_str()).await? else {
        return Ok(None);
    };
    let decided = super::profiles::decide(svc, ticket, &owner).await?;
    Ok((decided.profile.account != s.account).then_some(decided.profile.account))
}

/// Score a new ticket against the team's tag model and show the suggestions.
async fn suggest_tags(svc: &Services, ticket: TicketId, first_text: &str) {
    let result: anyhow::Result<()> = async {
        let model = svc.suggestions.model(&svc.store).await?;
        let tags = model.suggest(first_text, MAX_SUGGESTED_TAGS);
        if !tags.is_empty() {
            apply(
                svc,
                &Lookup::Id(ticket),
                &Event::TagsSuggested { tags },
                Consumes::Nothing,
            )
            .await?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        // Suggestions are a convenience: never fail the ticket for them.
        warn!(error = format!("{e:#}"), "cannot suggest tags");
    }
}

/// Record, for the suggestion model, the tags a ticket gained (compared with `before`).
async fn learn_tags(svc: &Services, before: &crate::core::Ticket) {
    let Ok(Some(after)) = svc.store.ticket(before.id).await else {
        return;
    };
    let added: Vec<&String> = after
        .state
        .tags
        .iter()
        .filter(|t| !before.state.tags.contains(t))
        .collect();
    let toks = tokens(&before.state.first_text);
    for tag in added {
        if let Err(e) = svc.store.record_tagging(tag, &toks).await {
            warn!(error = %e, tag, "cannot record tagging for suggestions");
        }
    }
    svc.suggestions.forget().await;
}

fn moderate(teammate: Teammate, action: Moderation) -> Event {
    Event::Moderate { teammate, action }
}

async fn note(svc: &Services, row: &InboxRow, why: &str) -> anyhow::Result<()> {
    debug!(why, "inbox row needs no action");
    svc.store
        .finish_inbox(row.claim(), Some(why), Utc::now())
        .await?;
    Ok(())
}
