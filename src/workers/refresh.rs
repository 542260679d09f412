//! Periodic card refresh: conversation cards show a reply-window countdown, which must move
//! with time even when nothing happens. Every `window_refresh_minutes`, open conversations
//! whose window has not been closed for long get a card update. (With several replicas each
//! refreshes; the updates are idempotent.)

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tracing::warn;

use crate::core::filter::{Filter, Visibility};
use crate::core::{Event, Status};
use crate::store::Consumes;

use super::Services;
use super::apply::{Lookup, apply};

/// Conversations refreshed per round at most.
const REFRESH_BATCH: i64 = 1_000;

pub async fn run(svc: Arc<Services>, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_secs(svc.config.outbox.window_refresh_minutes.max(1) * 60);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
        if let Err(e) = refresh_windows(&svc).await {
            warn!(error = format!("{e:#}"), "window refresh round failed");
        }
    }
}

/// One round: re-render the cards of open conversations whose window still matters.
pub async fn refresh_windows(svc: &Services) -> anyhow::Result<usize> {
    let filter = Filter {
        statuses: vec![Status::Unread, Status::Read],
        visibility: Some(Visibility::Private),
        ..Default::default()
    };
    let now = Utc::now();
    let mut n = 0;
    for t in svc.store.find_tickets(&filter, REFRESH_BATCH).await? {
        // Cards whose window closed more than a day ago no longer change.
        let Some(hours) = svc.capabilities(&t.state).window.longest_hours() else {
            continue;
        };
        if t.state.last_customer_at < now - chrono::Duration::hours(hours + 24) {
            continue;
        }
        apply(svc, &Lookup::Id(t.id), &Event::Refresh, Consumes::Nothing).await?;
        n += 1;
    }
    Ok(n)
}
