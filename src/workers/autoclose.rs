//! Auto-close: in a channel with `auto_close_days`, a ticket whose last message is the team's
//! and that the customer has not answered for that many days is closed by the system, with a
//! note on its card (`Event::AutoClose`, decided in the core); the customer writing again
//! reopens it as any message does. One replica at a time runs the rounds (a lease).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::MAX_AUTO_CLOSE_DAYS;
use crate::core::filter::Filter;
use crate::core::{Event, Status};
use crate::store::Consumes;

use super::Services;
use super::apply::{Applied, Lookup, apply};

/// The lease under which one replica runs the rounds.
const LEASE: &str = "auto-close";

/// How often a round runs: auto-close counts in days, so a quarter of an hour late is fine.
pub const ROUND_EVERY: Duration = Duration::from_secs(900);

/// Open tickets looked at per round at most (the oldest activity first is not needed: a
/// ticket left for a later round closes then).
const ROUND_LIMIT: i64 = 5_000;

pub async fn run(svc: Arc<Services>, mut shutdown: watch::Receiver<bool>) {
    if !svc.config.auto_close_configured() {
        return;
    }
    let holder = super::leader::holder_id();
    loop {
        match round(&svc, &holder, Utc::now()).await {
            Ok(n) if n > 0 => info!(closed = n, "auto-close round"),
            Ok(_) => {}
            Err(e) => warn!(error = format!("{e:#}"), "auto-close round failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(ROUND_EVERY) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}

/// One round at `now` if `holder` gets the lease: how many tickets it closed.
pub async fn round(svc: &Services, holder: &str, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let ttl = chrono::Duration::from_std(ROUND_EVERY).unwrap_or(chrono::Duration::minutes(15));
    if !svc.store.take_lease(LEASE, holder, now, ttl).await? {
        return Ok(0);
    }
    // Only read tickets: an unread one is never closed unseen.
    let filter = Filter {
        statuses: vec![Status::Read],
        ..Default::default()
    };
    let shortest = svc.config.shortest_auto_close_days().unwrap_or(u32::MAX);
    let due = now - chrono::Duration::days(i64::from(shortest.min(MAX_AUTO_CLOSE_DAYS)));
    let mut closed = 0;
    for t in svc.store.find_tickets(&filter, ROUND_LIMIT).await? {
        let s = &t.state;
        // Cheap checks first: the team answered last, long enough ago for any channel.
        if s.last_reply_at.is_none_or(|r| r > due) {
            continue;
        }
        if closed % 100 == 99 && !svc.store.take_lease(LEASE, holder, now, ttl).await? {
            break;
        }
        let Some(owner) = svc.account(s.network, s.account.as_str()) else {
            continue;
        };
        let Some(days) = svc
            .config
            .destination_for(s, &owner)
            .and_then(|to| svc.config.auto_close_days(&to))
        else {
            continue;
        };
        let event = Event::AutoClose {
            after_days: days,
            as_of: now,
        };
        match apply(svc, &Lookup::Id(t.id), &event, Consumes::Nothing).await {
            Ok(Applied::Committed(_)) => closed += 1,
            Ok(_) => {}
            Err(e) => warn!(ticket = %t.id, error = format!("{e:#}"), "cannot auto-close"),
        }
    }
    if closed > 0 {
        svc.wake_outbox.notify_one();
    }
    Ok(closed)
}
