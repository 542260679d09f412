//! Load → decide → commit, with optimistic-concurrency retries. The only way ticket state
//! changes.

use anyhow::{Context, bail};
use chrono::Utc;

use crate::core::{Event, TicketId, decide};
use crate::store::{Commit, CommitOutcome, Consumes, Target};

use super::Services;

/// How many times to re-read and re-decide when another writer got there first.
const MAX_CONFLICT_RETRIES: usize = 8;

/// Which ticket an event is for.
#[derive(Debug, Clone)]
pub enum Lookup {
    Id(TicketId),
    /// The conversation key (may not exist yet: a customer message opens it).
    Conversation(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Committed(TicketId),
    /// Nothing changed (a double click); the input was consumed.
    Unchanged,
    /// The ticket does not exist; the input was not consumed.
    NoTicket,
    /// The core refused the event; the input was not consumed.
    Rejected(String),
    /// Another worker consumed the input first (its lease had run out on us): nothing written.
    AlreadyConsumed,
}

/// A clock the core started gets its due time from the SLA of the channel the ticket is
/// routed to, in that channel's business hours (`core::sla::arm`).
fn arm_sla(svc: &Services, decision: &mut crate::core::Decision) {
    let Some(clock) = &decision.state.sla else {
        return;
    };
    // Most installations set no SLA: skip the routing lookup on every event then.
    if clock.due.is_some() || !svc.config.sla_configured() {
        return;
    }
    let state = &decision.state;
    let Some(owner) = svc.account(state.network, state.account.as_str()) else {
        return;
    };
    let Some(to) = svc.config.destination_for(state, &owner) else {
        return;
    };
    let rules = svc.config.channel_rules(&to);
    let policy = rules.sla.map(|s| s.policy());
    if let Some(clock) = &mut decision.state.sla {
        crate::core::sla::arm(clock, policy.as_ref(), rules.hours.as_ref());
    }
}

/// A customer's message that the channel answers automatically (first contact, out of hours)
/// gets its reply in the same commit: queued with the message, or not at all.
fn auto_reply(
    svc: &Services,
    decision: &mut crate::core::Decision,
    before: Option<&crate::core::TicketState>,
    item: &crate::core::InboundItem,
    now: chrono::DateTime<Utc>,
) {
    use crate::core::autoreply;
    let state = &decision.state;
    let Some(owner) = svc.account(state.network, state.account.as_str()) else {
        return;
    };
    let Some(to) = svc.config.destination_for(state, &owner) else {
        return;
    };
    let rules = svc.config.channel_rules(&to);
    let Some(config) = rules.auto_reply else {
        return;
    };
    let policy = config.policy();
    let Some((_, body)) = autoreply::choose(
        &policy,
        rules.hours.as_ref(),
        before,
        state,
        item.created_at,
        now,
    ) else {
        return;
    };
    if svc
        .networks
        .capabilities(state.network, state.kind)
        .reply
        .is_none()
    {
        return;
    }
    let next_open = rules
        .hours
        .as_ref()
        .map(|h| autoreply::next_open_text(h, now))
        .unwrap_or_default();
    let text = match autoreply::fill_text(body, &state.customer_name(), &owner.name, &next_open) {
        Ok(t) => t,
        // Checked at start-up; a filled text can still run too long (a long name).
        Err(e) => {
            tracing::warn!(error = %e, "automatic reply not sent");
            return;
        }
    };
    let key = crate::core::MessageKey::new(format!(
        "auto:{}",
        crate::core::MessageKey::inbound(item.network, &item.item_id)
    ));
    crate::core::decide::add_auto_reply(decision, key, text, now);
}

pub async fn apply(
    svc: &Services,
    lookup: &Lookup,
    event: &Event,
    consumes: Consumes,
) -> anyhow::Result<Applied> {
    Ok(apply_opening(svc, lookup, event, consumes).await?.0)
}

/// [`apply`], and when the commit opened the ticket, the ticket's first text (for the tag
/// suggestions a new ticket gets), so the caller need not read the ticket again.
pub async fn apply_opening(
    svc: &Services,
    lookup: &Lookup,
    event: &Event,
    consumes: Consumes,
) -> anyhow::Result<(Applied, Option<String>)> {
    for _ in 0..MAX_CONFLICT_RETRIES {
        let ticket = match lookup {
            Lookup::Id(id) => match svc.store.ticket(*id).await? {
                Some(t) => Some(t),
                None => return Ok((Applied::NoTicket, None)),
            },
            Lookup::Conversation(key) => svc.store.ticket_by_conversation(key).await?,
        };
        let now = Utc::now();
        // What the network allows: known from the ticket, or from the item opening it.
        let caps = match (&ticket, event) {
            (Some(t), _) => svc.capabilities(&t.state),
            (None, Event::CustomerMessage { item }) => {
                svc.networks.capabilities(item.network, item.kind)
            }
            (None, _) => crate::core::Capabilities::NONE,
        };
        let mut decision = match decide(ticket.as_ref(), event, &caps, now) {
            Ok(d) => d,
            Err(rejection) => return Ok((Applied::Rejected(rejection.to_string()), None)),
        };
        // A ticket opens: the auto-assignment rules assign it in the same commit.
        if ticket.is_none()
            && let Some(auto) = super::autoassign::plan(svc, &decision.state).await?
        {
            crate::core::autoassign::assign_opening(&mut decision, &auto, now);
        }
        arm_sla(svc, &mut decision);
        if let Event::CustomerMessage { item } = event {
            let before = ticket.as_ref().map(|t| &t.state);
            auto_reply(svc, &mut decision, before, item, now);
        }
        if decision.is_noop() {
            let ours = match consumes {
                Consumes::Nothing => true,
                Consumes::Inbox(claim) => svc.store.finish_inbox(claim, None, now).await?,
                Consumes::Job(claim) => svc.store.finish_job(claim, &[], now).await?,
            };
            let applied = if ours {
                Applied::Unchanged
            } else {
                Applied::AlreadyConsumed
            };
            return Ok((applied, None));
        }
        // A post in a storm shows this message on its storm card instead of a card of its own.
        let storm = match event {
            Event::CustomerMessage { item } => {
                super::storm::plan(svc, ticket.as_ref(), &mut decision, item, now).await?
            }
            _ => None,
        };
        let target = match &ticket {
            Some(t) => Target::Existing {
                id: t.id,
                version: t.version,
            },
            None => Target::New,
        };
        let opening = (target == Target::New).then(|| decision.state.first_text.clone());
        // A storm's card and thread jobs are queued by the store with the commit.
        let has_effects = !decision.effects.is_empty()
            || storm
                .as_ref()
                .is_some_and(|w| w.join != crate::store::StormJoin::No);
        let outcome = svc
            .store
            .commit(Commit {
                target,
                decision,
                consumes,
                now,
                storm,
            })
            .await
            .context("cannot commit a ticket decision")?;
        match outcome {
            CommitOutcome::Committed { ticket, .. } => {
                // The ticket of the unit of work under way (an inbox row's span has the field).
                tracing::Span::current().record("ticket", tracing::field::display(ticket));
                if has_effects {
                    svc.wake_outbox.notify_one();
                }
                return Ok((Applied::Committed(ticket), opening));
            }
            CommitOutcome::Conflict => continue,
            CommitOutcome::AlreadyConsumed => return Ok((Applied::AlreadyConsumed, None)),
        }
    }
    bail!("the ticket kept changing under us ({MAX_CONFLICT_RETRIES} conflicts)")
}
