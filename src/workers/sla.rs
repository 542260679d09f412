//! SLA rounds: tickets whose response clock passed its warning threshold or its due time get
//! `Event::SlaCheck` (the core pings once for each and records a breach in the history).
//! One replica at a time runs the rounds (a lease); clocks are armed when they start (see
//! `workers::apply`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::core::sla::{Check, check};
use crate::core::{Event, Status, TicketId};
use crate::store::Consumes;

use super::Services;
use super::apply::{Applied, Lookup, apply};

/// The lease under which one replica runs the rounds.
const LEASE: &str = "sla";

/// How often a round runs: an alert is at most this late.
pub const ROUND_EVERY: Duration = Duration::from_secs(60);

/// Tickets read per page: a round pages through every ticket active within
/// [`LOOK_BACK_DAYS`], by id, so the longest-waiting are never crowded out by newer ones.
const PAGE: i64 = 1_000;

/// Tickets quiet for longer are not looked at: any clock of theirs ran out long ago.
const LOOK_BACK_DAYS: i64 = 90;

pub async fn run(svc: Arc<Services>, mut shutdown: watch::Receiver<bool>) {
    if !svc.config.sla_configured() {
        return;
    }
    let holder = super::leader::holder_id();
    loop {
        match round(&svc, &holder, Utc::now()).await {
            Ok(n) if n > 0 => info!(alerts = n, "SLA round"),
            Ok(_) => {}
            Err(e) => warn!(error = format!("{e:#}"), "SLA round failed"),
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

/// One round at `now` if `holder` gets the lease: how many warnings and breaches it recorded.
pub async fn round(svc: &Services, holder: &str, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let ttl = chrono::Duration::from_std(ROUND_EVERY * 2).unwrap_or(chrono::Duration::minutes(2));
    if !svc.store.take_lease(LEASE, holder, now, ttl).await? {
        return Ok(0);
    }
    let since = now - chrono::Duration::days(LOOK_BACK_DAYS);
    let mut after = TicketId(0);
    let mut alerts = 0;
    loop {
        let page = svc.store.tickets_since(since, after, PAGE).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.id;
        for t in &page {
            let Some(clock) = &t.state.sla else {
                continue;
            };
            let open = matches!(t.state.status, Status::Unread | Status::Read);
            if !open || check(clock, now) == Check::Nothing {
                continue;
            }
            let event = Event::SlaCheck { as_of: now };
            match apply(svc, &Lookup::Id(t.id), &event, Consumes::Nothing).await {
                Ok(Applied::Committed(_)) => alerts += 1,
                Ok(_) => {}
                Err(e) => warn!(ticket = %t.id, error = format!("{e:#}"), "cannot check the SLA"),
            }
        }
    }
    if alerts > 0 {
        svc.wake_outbox.notify_one();
    }
    Ok(alerts)
}
