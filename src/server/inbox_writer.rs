//! Group commit for the inbox. Concurrent requests hand their rows to one writer task, which
//! commits everything that queued up while the previous transaction ran in a single
//! transaction, then answers each request. A request is still acknowledged only after its
//! rows are committed; under load, many requests share one commit instead of queueing for the
//! database's write lock one by one.

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};

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
        tokio::spawn(run(store, rx));
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

async fn run(store: DynStore, mut rx: mpsc::Receiver<Request>) {
    while let Some(first) = rx.recv().await {
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
