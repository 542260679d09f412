//! Erasure (a customer's data-subject request): every ticket of the customer on a network has
//! the customer's name and texts removed, through the core (`Event::Erase`), so that the same
//! commit queues the edits of its card and thread copies in chat; the raw inbound payloads
//! that carried their items are blanked. The history records only that an erasure happened.
//! Works on the store alone, so the CLI runs it without the service (a running service
//! delivers the chat edits).

use anyhow::bail;
use chrono::Utc;

use crate::core::capabilities::Capabilities;
use crate::core::text::ERASED_TEXT;
use crate::core::{Actor, CustomerId, Event, MessageKind, Network, TicketId};
use crate::store::{Commit, CommitOutcome, Consumes, Store, Target};

/// Attempts at one ticket when replicas keep changing it meanwhile.
const MAX_CONFLICTS: usize = 5;

/// What an erasure did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Erased {
    pub tickets: Vec<TicketId>,
    /// Inbound payloads blanked.
    pub payloads: u64,
}

/// Erase the customer `customer` of `network` everywhere.
pub async fn erase_customer(
    store: &dyn Store,
    network: Network,
    customer: &CustomerId,
    actor: &Actor,
) -> anyhow::Result<Erased> {
    let mut done = Erased::default();
    for id in store.customer_tickets(network, customer).await? {
        done.payloads += erase_ticket(store, id, actor).await?;
        done.tickets.push(id);
        // A storm card shows its newest comments and top words: the card of every storm they
        // were part of (their latest, and those whose thread showed them) is rendered again
        // without theirs.
        let batches = store.storm_batches_of_ticket(id).await?;
        let mut storms: Vec<i64> = batches.iter().map(|b| b.storm).collect();
        storms.extend(store.storm_of_ticket(id).await?);
        storms.sort_unstable();
        storms.dedup();
        for storm in storms {
            store.touch_storm(storm, chrono::Utc::now()).await?;
        }
        // So is every thread batch that showed them (once per erasure of the ticket: running
        // the erasure again queues nothing twice).
        for b in batches {
            // On the storm's anchor, like its other jobs (its account and channel); on the
            // erased ticket when retention took the anchor.
            let anchor = match store.storm(b.storm).await? {
                Some(s) if store.ticket(s.anchor).await?.is_some() => s.anchor,
                _ => id,
            };
            let effect = crate::core::Effect::StormBatchEdit {
                storm: b.storm,
                from: b.from,
            };
            let lane = crate::store::lane_of(anchor, &effect);
            let once = format!("erase-batch:{id}:{}:{}", b.storm, b.from);
            store
                .enqueue_job_once(&once, anchor, &lane, &effect, chrono::Utc::now())
                .await?;
        }
    }
    Ok(done)
}

/// Erase one ticket's customer data; how many inbound payloads were blanked.
async fn erase_ticket(store: &dyn Store, id: TicketId, actor: &Actor) -> anyhow::Result<u64> {
    for _ in 0..MAX_CONFLICTS {
        let Some(ticket) = store.ticket(id).await? else {
            return Ok(0);
        };
        let theirs: Vec<_> = store
            .messages(id)
            .await?
            .into_iter()
            .filter(|m| m.kind == MessageKind::Customer)
            .collect();
        // Erased already, with nothing newer from the customer: nothing to do again (a retry
        // adds no second history entry and re-edits nothing).
        if ticket.state.erased && theirs.iter().all(|m| m.text == ERASED_TEXT) {
            return Ok(0);
        }
        let event = Event::Erase {
            actor: actor.clone(),
            customer_messages: theirs.iter().map(|m| m.key.clone()).collect(),
        };
        let now = Utc::now();
        // Erasing reads no capability: it is the same on every network.
        let decision = crate::core::decide(Some(&ticket), &event, &Capabilities::NONE, now)?;
        let outcome = store
            .commit(Commit {
                target: Target::Existing {
                    id,
                    version: ticket.version,
                },
                decision,
                consumes: Consumes::Nothing,
                now,
                storm: None,
            })
            .await?;
        match outcome {
            CommitOutcome::Committed { .. } => {
                let mut needles: Vec<String> = theirs
                    .iter()
                    .filter_map(|m| m.network_item_id.as_ref().map(|i| i.to_string()))
                    .collect();
                needles.push(ticket.state.first_item.to_string());
                needles.sort();
                needles.dedup();
                store.scrub_jobs(id).await?;
                return Ok(store.scrub_inbox(&needles).await?);
            }
            CommitOutcome::Conflict => continue,
            CommitOutcome::AlreadyConsumed => bail!("ticket #{id}: unexpected consumed input"),
        }
    }
    bail!("ticket #{id} kept changing; run the erasure again")
}
