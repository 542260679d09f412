//! SLA rounds: tickets whose response clock passed its warning threshold or its due time get
//! `Event::SlaCheck` (the core pings once for each and records a breach in the history).
//! One replica at a time runs the rounds (a lease); clocks are armed when they start (see
//! `workers::apply`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::core::filter::Filter;
use crate::core::sla::{Check, check};
use crate::core::{Event, Status};
use crate::store::Consumes;

use super::Services;
use super::apply::{Applied, Lookup, apply};

/// The lease under which one replica runs the rounds.
const LEASE: &str = "sla";

/// How often a round runs: an alert is at most this late.
pub const ROUND_EVERY: Duration = Duration::from_secs(60);

/// Open tickets looked at per round at most.
const ROUND_LIMIT: i64 = 5_000;

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
    let filter = Filter {
        statuses: vec![Status::Unread, Status::Read],
        ..Default::default()
    };
    let mut alerts = 0;
    for t in svc.store.find_tickets(&filter, ROUND_LIMIT).await? {
        let Some(clock) = &t.state.sla else {
            continue;
        };
        if check(clock, now) == Check::Nothing {
            continue;
        }
        let event = Event::SlaCheck { as_of: now };
        match apply(svc, &Lookup::Id(t.id), &event, Consumes::Nothing).await {
            Ok(Applied::Committed(_)) => alerts += 1,
            Ok(_) => {}
            Err(e) => warn!(ticket = %t.id, error = format!("{e:#}"), "cannot check the SLA"),
        }
    }
    if alerts > 0 {
        svc.wake_outbox.notify_one();
    }
    Ok(alerts)
}
