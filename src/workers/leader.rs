//! One leader where one is needed: a task that must run on exactly one replica (the Discord
//! gateway) runs only while this replica holds a named lease in the database. The holder
//! renews it every third of its time to live; a replica that dies stops renewing, and
//! another takes over within one time to live. A holder that fails to renew (the database
//! unreachable, or the lease taken) stops its task at once.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::store::DynStore;

/// This process's name as a lease holder: host, process id and start time.
pub fn holder_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("{host}:{}:{nanos}", std::process::id())
}

/// Run `task` whenever this replica (`holder`) holds the lease `name`, until `shutdown`.
/// `task` gets its own stop signal, raised when the lease is lost or at shutdown, and is
/// awaited before the lease can go to anyone else through this replica.
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
    let take = |store: DynStore| async move {
        match store.take_lease(name, holder, Utc::now(), chrono_ttl).await {
            Ok(held) => held,
            Err(e) => {
                warn!(
                    lease = name,
                    error = format!("{e:#}"),
                    "cannot take or renew a lease"
                );
                false
            }
        }
    };
    loop {
        if *shutdown.borrow() {
            return;
        }
        if take(store.clone()).await {
            info!(lease = name, "leading");
            let (stop, stopped) = watch::channel(false);
            let mut running = tokio::spawn(task(stopped));
            let ended_by_itself = loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = shutdown.changed() => break false,
                    _ = &mut running => break true,
                }
                if !take(store.clone()).await {
                    warn!(lease = name, "lease lost: stopping");
                    break false;
                }
            };
            if !ended_by_itself {
                let _ = stop.send(true);
                let _ = running.await;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
    }
}
