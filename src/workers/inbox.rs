//! The inbox processor: claims committed inbound events in order and applies them to tickets.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tracing::{Instrument, debug, error, info_span, warn};

use crate::core::{ActionId, ChatRef, Event, MessageKey, NetworkChange, Teammate};
use crate::store::{Consumes, InboxRow};

use super::apply::{Applied, Lookup, apply};
use super::{InboxEvent, Services, backoff};

/// Rows claimed per round. Processed one by one, in order.
const INBOX_BATCH: i64 = 64;
/// Lease on claimed rows; another replica may take them over after this.
const INBOX_LEASE_SECS: i64 = 60;
/// Attempts before an inbox row is set aside (noted, logged as an error).
const INBOX_MAX_ATTEMPTS: i32 = 10;

pub async fn run(svc: Arc<Services>, mut shutdown: watch::Receiver<bool>) {
    let poll = Duration::from_millis(svc.config.outbox.poll_ms);
    loop {
        if *shutdown.borrow() {
            break;
        }
        let handled = match process_batch(&svc).await {
            Ok(n) => n,
            Err(e) => {
                error!(error = format!("{e:#}"), "inbox round failed");
                0
            }
        };
        if handled == 0 {
            tokio::select! {
                _ = svc.wake_inbox.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// Process one batch; returns how many rows were handled.
pub async fn process_batch(svc: &Services) -> anyhow::Result<usize> {
    let rows = svc
        .store
        .claim_inbox(
            INBOX_BATCH,
            Utc::now(),
            chrono::Duration::seconds(INBOX_LEASE_SECS),
        )
        .await?;
    let n = rows.len();
    for row in rows {
        let span = info_span!("inbox", id = row.id, source = %row.source, key = %row.dedupe_key);
        process_row(svc, row).instrument(span).await;
    }
    Ok(n)
}

async fn process_row(svc: &Services, row: InboxRow) {
    let result = handle(svc, &row).await;
    let now = Utc::now();
    let bookkeeping = match result {
        Ok(()) => Ok(()),
        Err(e) if row.attempts >= INBOX_MAX_ATTEMPTS => {
            error!(
                error = format!("{e:#}"),
                attempts = row.attempts,
                "giving up on inbox row"
            );
            svc.store
                .finish_inbox(row.id, Some(&format!("gave up: {e:#}")), now)
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
            svc.store.retry_inbox(row.id, &format!("{e:#}"), at).await
        }
    };
    if let Err(e) = bookkeeping {
        // The lease expires and the row is claimed again: nothing is lost.
        error!(error = %e, "cannot record inbox outcome");
    }
}

async fn handle(svc: &Services, row: &InboxRow) -> anyhow::Result<()> {
    let now = Utc::now();
    let event: InboxEvent = match serde_json::from_str(&row.payload) {
        Ok(e) => e,
        Err(e) => {
            error!(error = %e, "unreadable inbox payload");
            svc.store
                .finish_inbox(row.id, Some(&format!("unreadable payload: {e}")), now)
                .await?;
            return Ok(());
        }
    };
    let consumes = Consumes::Inbox(row.id);
    let (lookup, event) = match event {
        InboxEvent::Network { change } => match change {
            NetworkChange::New { item } => (
                Lookup::Conversation(item.conversation_key()),
                Event::CustomerMessage { item },
            ),
            NetworkChange::Edited {
                network,
                item_id,
                text,
                ..
            } => {
                let key = MessageKey::inbound(network, &item_id);
                match svc.store.message(&key).await? {
                    Some(m) => (Lookup::Id(m.ticket_id), Event::CustomerEdited { key, text }),
                    None => return note(svc, row, "edit of an item we never received").await,
                }
            }
            NetworkChange::Removed {
                network, item_id, ..
            } => {
                let key = MessageKey::inbound(network, &item_id);
                match svc.store.message(&key).await? {
                    Some(m) => (Lookup::Id(m.ticket_id), Event::CustomerDeleted { key }),
                    None => return note(svc, row, "removal of an item we never received").await,
                }
            }
        },
        InboxEvent::CardAction {
            teammate,
            action_id,
        } => match action_id.parse::<ActionId>() {
            Ok(id) => (
                Lookup::Id(id.ticket),
                Event::Action {
                    teammate,
                    action: id.action,
                },
            ),
            Err(e) => return note(svc, row, &format!("action id {action_id:?}: {e}")).await,
        },
        InboxEvent::ThreadMessage {
            teammate,
            thread,
            message,
            text,
        } => match thread_event(svc, teammate, &thread, message, text).await? {
            Some(x) => x,
            None => return note(svc, row, "not a card thread").await,
        },
    };
    match apply(svc, &lookup, &event, consumes).await? {
        Applied::Committed(ticket) => debug!(%ticket, "applied"),
        Applied::Unchanged => debug!("no change"),
        Applied::AlreadyConsumed => debug!("already processed by another worker"),
        Applied::NoTicket => return note(svc, row, "no such ticket").await,
        Applied::Rejected(why) => return note(svc, row, &why).await,
    }
    Ok(())
}

/// A thread message under a card is a reply, or a note when it starts with the note prefix.
async fn thread_event(
    svc: &Services,
    teammate: Teammate,
    thread: &ChatRef,
    message: ChatRef,
    text: String,
) -> anyhow::Result<Option<(Lookup, Event)>> {
    let Some(ticket) = svc.store.ticket_by_chat(thread).await? else {
        return Ok(None);
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let prefix = svc.config.slack.note_prefix.trim();
    let is_note = trimmed
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix));
    let event = if is_note {
        Event::Note {
            teammate,
            chat: message,
            text: trimmed[prefix.len()..].trim().to_string(),
        }
    } else {
        Event::Reply {
            teammate,
            chat: message,
            text: trimmed.to_string(),
        }
    };
    Ok(Some((Lookup::Id(ticket), event)))
}

async fn note(svc: &Services, row: &InboxRow, why: &str) -> anyhow::Result<()> {
    debug!(why, "inbox row needs no action");
    svc.store
        .finish_inbox(row.id, Some(why), Utc::now())
        .await?;
    Ok(())
}
