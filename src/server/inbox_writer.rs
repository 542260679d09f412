//! Group commit for the inbox. Concurrent requests hand their rows to a writer task (one, or
//! `Store::parallel_inserts` of them), which commits everything that queued up while the
//! previous transaction ran in a single transaction, then answers each request. A request is
//! still acknowledged only after its rows are committed; under load, many requests share one
//! commit instead of queueing for the database's write lock one by one.

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::store::{DynStore, NewInbox};

/// Requests that can wait for the writer at once (back-pressure beyond this).
const QUEUE_DEPTH: usize = 4096;
/// Rows committed in one transaction at most.
const MAX_BATCH_ROWS: usize = 512;

struct Request {
    rows: Vec<NewInbox>,
    done: oneshot::Sender<Result<u64, String>>,
}

#[derive(Clone)]
pub struct InboxWriter {
    tx: mpsc::Sender<Request>,
}

impl InboxWriter {
    /// Start the writer task (needs a Tokio runtime).
    pub fn spawn(store: DynStore) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        // Several batches in flight where the store can take them (Postgres: one waits for
        // its WAL flush while the next is sent); each takes what queued up meanwhile.
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..store.parallel_inserts().max(1) {
            tokio::spawn(run(store.clone(), rx.clone()));
        }
        Self { tx }
    }

    /// Commit `rows`; returns how many rows of the shared transaction were new (for "wake
    /// the worker" decisions, not an exact per-request count).
    pub async fn insert(&self, rows: Vec<NewInbox>) -> anyhow::Result<u64> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Request { rows, done })
            .await
            .map_err(|_| anyhow::anyhow!("the inbox writer has stopped"))?;
        wait.await
            .map_err(|_| anyhow::anyhow!("the inbox writer dropped the request"))?
            .map_err(|e| anyhow::anyhow!(e))
    }
}

async fn run(store: DynStore, rx: Arc<Mutex<mpsc::Receiver<Request>>>) {
    loop {
        let batch = {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else {
                break;
            };
            let mut batch = vec![first];
            let mut rows = batch[0].rows.len();
            while rows < MAX_BATCH_ROWS {
                match rx.try_recv() {
                    Ok(r) => {
                        rows += r.rows.len();
                        batch.push(r);
                    }
                    Err(_) => break,
                }
            }
            batch
        };
        let all: Vec<NewInbox> = batch.iter().flat_map(|r| r.rows.iter().cloned()).collect();
        let result = store
            .insert_inbox(&all, Utc::now())
            .await
            .map_err(|e| e.to_string());
        for r in batch {
            // The requester may have gone (client hung up): nothing to do.
            let _ = r.done.send(result.clone());
        }
    }
}
