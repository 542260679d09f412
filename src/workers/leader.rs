//! One leader where one is needed: a task that must run on exactly one replica (the Discord
//! gateway) runs only while this replica holds a named lease in the database. The holder
//! renews it every third of its time to live, each renewal itself bounded by that time; a
//! replica that dies stops renewing, and another takes over within one time to live. A holder
//! that learns another replica has the lease stops its task at once; one that cannot reach the
//! database keeps its task only while its last renewal is still good (minus a margin), then
//! stops it. A task that keeps ending by itself (a refused login) is restarted with capped
//! backoff, and the lease is given up meanwhile so another replica may try. Replicas' clocks
//! must agree to well within a third of the time to live (NTP).

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::store::DynStore;

/// The longest wait before a task that keeps ending by itself is started again.
const MAX_RESTART_WAIT: Duration = Duration::from_secs(600);

/// This process's name as a lease holder: host, process id and start time.
pub fn holder_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("{host}:{}:{nanos}", std::process::id())
}

/// What a renewal found.
enum Renewal {
    Held,
    /// Another replica has it.
    Lost,
    /// The database did not answer in time, or failed: the lease may still be ours.
    Unknown,
}

/// Run `task` whenever this replica (`holder`) holds the lease `name`, until `shutdown`.
/// `task` gets its own stop signal, raised when the lease is lost or at shutdown, and is
/// awaited before this replica gives the lease up.
pub async fn lead<F, Fut>(
    store: DynStore,
    name: &str,
    holder: &str,
    ttl: Duration,
    mut shutdown: watch::Receiver<bool>,
    task: F,
) where
    F: Fn(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let every = (ttl / 3).max(Duration::from_millis(10));
    let chrono_ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::seconds(30));
    let renew = || async {
        let asked = store.take_lease(name, holder, Utc::now(), chrono_ttl);
        match tokio::time::timeout(every, asked).await {
            Ok(Ok(true)) => Renewal::Held,
            Ok(Ok(false)) => Renewal::Lost,
            Ok(Err(e)) => {
                warn!(
                    lease = name,
                    error = format!("{e:#}"),
                    "cannot take or renew a lease"
                );
                Renewal::Unknown
            }
            Err(_) => {
                warn!(lease = name, "taking or renewing a lease timed out");
                Renewal::Unknown
            }
        }
    };
    let mut restarts = 0u32;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let mut wait = every;
        if let Renewal::Held = renew().await {
            info!(lease = name, "leading");
            let mut last_ok = Instant::now();
            let started = Instant::now();
            let (stop, stopped) = watch::channel(false);
            let mut running = tokio::spawn(task(stopped));
            let (ended_by_itself, shutting_down) = loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    changed = shutdown.changed() => {
                        if changed.is_err() || *shutdown.borrow() {
                            break (false, true);
                        }
                        continue;
                    }
                    _ = &mut running => break (true, false),
                }
                match renew().await {
                    Renewal::Held => last_ok = Instant::now(),
                    Renewal::Lost => {
                        warn!(lease = name, "lease taken by another replica: stopping");
                        break (false, false);
                    }
                    // Still ours until the last renewal's time runs out (a margin kept).
                    Renewal::Unknown if last_ok.elapsed() + every < ttl => {}
                    Renewal::Unknown => {
                        warn!(lease = name, "lease could not be renewed in time: stopping");
                        break (false, false);
                    }
                }
            };
            if !ended_by_itself {
                let _ = stop.send(true);
                let _ = running.await;
            }
            // Given up, so another replica may take over at once (after a clean stop, or to
            // let another try a task that keeps failing here).
            if let Err(e) = store.release_lease(name, holder).await {
                warn!(
                    lease = name,
                    error = format!("{e:#}"),
                    "cannot release a lease"
                );
            }
            if shutting_down {
                return;
            }
            if ended_by_itself {
                // A task that ran for a while before ending starts the count again.
                restarts = if started.elapsed() > ttl * 10 {
                    1
                } else {
                    restarts.saturating_add(1)
                };
                wait = (every * 2u32.saturating_pow(restarts.min(12))).min(MAX_RESTART_WAIT);
                warn!(
                    lease = name,
                    ?wait,
                    "the leased task ended by itself: restarting later"
                );
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}
