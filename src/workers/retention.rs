//! Retention: closed tickets are not kept forever (`retention.days`, default 42). A round,
//! run by one replica at a time under a lease, archives the tickets closed for longer than
//! that (their card is edited to say so, through the outbox like any card change), deletes
//! the archived ones whose card edit is done, with their messages, history and jobs, and
//! deletes processed inbox rows and delivered jobs older than the period. Every statement
//! handles at most `retention.batch` rows, so none holds the database for long.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::core::Event;
use crate::store::Consumes;

use super::Services;
use super::apply::{Applied, Lookup, apply};

/// The lease under which one replica runs the rounds.
const LEASE: &str = "retention";

/// Batches one round handles per step at most, so a large backlog is spread over rounds.
const MAX_BATCHES_PER_ROUND: usize = 50;

/// What a round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// False when another replica holds the lease (or retention is off).
    pub ran: bool,
    pub archived: usize,
    pub deleted_tickets: u64,
    pub deleted_rows: u64,
}

pub async fn run(svc: Arc<Services>, mut shutdown: watch::Receiver<bool>) {
    if svc.config.retention.days == 0 {
        return;
    }
    let holder = super::leader::holder_id();
    let every = Duration::from_secs(svc.config.retention.interval_secs.max(1));
    loop {
        match round(&svc, &holder, Utc::now()).await {
            Ok(r) if r.archived > 0 || r.deleted_tickets > 0 || r.deleted_rows > 0 => {
                info!(
                    archived = r.archived,
                    deleted_tickets = r.deleted_tickets,
                    deleted_rows = r.deleted_rows,
                    "retention round"
                );
            }
            Ok(_) => {}
            Err(e) => warn!(error = format!("{e:#}"), "retention round failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}

/// One round at `now`, if `holder` gets the lease.
pub async fn round(svc: &Services, holder: &str, now: DateTime<Utc>) -> anyhow::Result<Round> {
    let r = &svc.config.retention;
    if r.days == 0 {
        return Ok(Round::default());
    }
    let ttl = chrono::Duration::seconds(i64::try_from(r.interval_secs).unwrap_or(i64::MAX / 2));
    if !svc.store.take_lease(LEASE, holder, now, ttl).await? {
        return Ok(Round::default());
    }
    let mut done = Round {
        ran: true,
        ..Default::default()
    };
    let cut = now - chrono::Duration::days(i64::from(r.days));
    let batch = r.batch.max(1);
    let full = |n: u64| n >= batch.unsigned_abs();

    // Renewed between batches: a long round never runs beside another replica's.
    let started = std::time::Instant::now();
    let still_ours = || async {
        // The round's clock (`now`) moved on by the time the round has taken.
        let at = now + chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
        svc.store
            .take_lease(LEASE, holder, at, ttl)
            .await
            .unwrap_or(false)
    };
    // Archive: each ticket through the core, so its card is edited by the outbox.
    for _ in 0..MAX_BATCHES_PER_ROUND {
        if !still_ours().await {
            return Ok(done);
        }
        let ids = svc.store.archivable(cut, batch).await?;
        for id in &ids {
            let event = Event::Archive {
                after_days: r.days,
                quiet_since: cut,
            };
            // One ticket failing must not stop the round (nor every later one).
            match apply(svc, &Lookup::Id(*id), &event, Consumes::Nothing).await {
                Ok(Applied::Committed(_)) => done.archived += 1,
                Ok(_) => {}
                Err(e) => warn!(ticket = %id, error = format!("{e:#}"), "cannot archive a ticket"),
            }
        }
        if !full(ids.len() as u64) {
            break;
        }
    }
    svc.wake_outbox.notify_one();

    // Delete what was archived long enough ago for its card edit to be done.
    let grace = chrono::Duration::seconds(i64::try_from(r.archive_grace_secs).unwrap_or(0));
    for _ in 0..MAX_BATCHES_PER_ROUND {
        if !still_ours().await {
            return Ok(done);
        }
        let n = svc.store.purge_archived(now - grace, batch).await?;
        done.deleted_tickets += n;
        if !full(n) {
            break;
        }
    }
    for _ in 0..MAX_BATCHES_PER_ROUND {
        if !still_ours().await {
            return Ok(done);
        }
        let n = svc.store.purge_finished(cut, batch).await?;
        done.deleted_rows += n;
        // Two tables per call: a full batch of either means more may be left.
        if n < batch.unsigned_abs() {
            break;
        }
    }
    Ok(done)
}
