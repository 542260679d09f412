//! Group commit for the inbox. Concurrent requests hand their rows to a writer task (one, or
//! `Store::parallel_inserts` of them), which commits everything that queued up while the
//! previous transaction ran in a single transaction, then answers each request. A request is
//! still acknowledged only after its rows are committed; under load, many requests share one
//! commit instead of queueing for the database's write lock one by one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::store::{DynStore, NewInbox};

/// Requests that can wait for the writer at once (back-pressure beyond this).
const QUEUE_DEPTH: usize = 4096;
/// Rows committed in one transaction at most.
const MAX_BATCH_ROWS: usize = 512;
/// Requests waiting for their commit at once from which the writer counts as pressed (see
/// [`InboxWriter::pressed`]). Tried on 2 cores, 32 clients as fast as they can, Postgres,
/// workers on: 4 → 5,979 and 8 → 6,232 acknowledgements/s in one run each, against ~2,600/s
/// never pressed (docs/benchmarks.md).
pub const PRESSED_AT: usize = 8;
/// How long the writer stays pressed after a request last found it so: the count of waiting
/// requests swings from one request to the next, and without a hold (threshold 12) the
/// workers were never held back long enough to matter (measured: no change).
pub const PRESSED_HOLD: Duration = Duration::from_millis(250);

struct Request {
    rows: Vec<NewInbox>,
    done: oneshot::Sender<Result<u64, String>>,
}

#[derive(Clone)]
pub struct InboxWriter {
    tx: mpsc::Sender<Request>,
    pressure: Arc<Pressure>,
}

/// How many requests wait for their commit, and when they last piled up.
#[derive(Debug)]
pub struct Pressure {
    waiting: AtomicUsize,
    /// When a request last arrived to find `at` or more waiting: ms since `epoch`, plus 1
    /// (0: never).
    pressed_at: AtomicU64,
    /// How many times requests began to pile up (after the hold of the last time had passed).
    engaged: AtomicU64,
    epoch: Instant,
    at: usize,
    hold: Duration,
}

impl Pressure {
    pub fn new(at: usize, hold: Duration) -> Self {
        Self {
            waiting: AtomicUsize::new(0),
            pressed_at: AtomicU64::new(0),
            engaged: AtomicU64::new(0),
            epoch: Instant::now(),
            at,
            hold,
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Count a request as waiting for as long as the guard lives (an abandoned request too).
    pub fn arrive(self: &Arc<Self>) -> Waiting {
        let now_waiting = self.waiting.fetch_add(1, Ordering::Relaxed) + 1;
        if now_waiting >= self.at {
            let now = self.now_ms().saturating_add(1);
            let before = self.pressed_at.fetch_max(now, Ordering::Relaxed);
            // Counted when the count crosses the threshold after the last hold ended (not
            // again while it stays above: a commit stall without arrivals is one time).
            if now_waiting == self.at
                && (before == 0 || now >= before.saturating_add(self.hold_ms()))
            {
                self.engaged.fetch_add(1, Ordering::Relaxed);
            }
        }
        Waiting(self.clone())
    }

    fn hold_ms(&self) -> u64 {
        u64::try_from(self.hold.as_millis()).unwrap_or(u64::MAX)
    }

    /// How many times requests began to pile up so far: each time the workers were held
    /// back (for at least the hold).
    pub fn engaged(&self) -> u64 {
        self.engaged.load(Ordering::Relaxed)
    }

    /// Whether requests are piled up now, or were within the last `hold`.
    pub fn pressed(&self) -> bool {
        if self.waiting.load(Ordering::Relaxed) >= self.at {
            return true;
        }
        let last = self.pressed_at.load(Ordering::Relaxed);
        last != 0 && self.now_ms() < last.saturating_add(self.hold_ms())
    }
}

/// One request waiting (see [`Pressure::arrive`]).
pub struct Waiting(Arc<Pressure>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::Relaxed);
    }
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
        Self {
            tx,
            pressure: Arc::new(Pressure::new(PRESSED_AT, PRESSED_HOLD)),
        }
    }

    /// Whether acknowledgements are queueing: [`PRESSED_AT`] requests or more waited for
    /// their commit within the last [`PRESSED_HOLD`]. The queue workers then take one item at
    /// a time (`workers::run_pool`), so that on a machine the database shares, the CPU goes to
    /// acknowledging first (a platform retries, and in the end disables, a webhook it does
    /// not see answered in time); they catch up when the burst is over.
    pub fn pressed(&self) -> bool {
        self.pressure.pressed()
    }

    /// How many times acknowledgements began to queue (see [`Pressure::engaged`]).
    pub fn pressure_engaged(&self) -> u64 {
        self.pressure.engaged()
    }

    /// Commit `rows`; returns how many rows of the shared transaction were new (for "wake
    /// the worker" decisions, not an exact per-request count).
    pub async fn insert(&self, rows: Vec<NewInbox>) -> anyhow::Result<u64> {
        let _waiting = self.pressure.arrive();
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
        let mut batch = {
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
        // Moved, not copied: the rows are the raw deliveries.
        let all: Vec<NewInbox> = batch
            .iter_mut()
            .flat_map(|r| std::mem::take(&mut r.rows))
            .collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_piling_up_press_the_writer_for_the_hold() {
        let hold = Duration::from_millis(300);
        let p = Arc::new(Pressure::new(3, hold));
        assert!(!p.pressed(), "nothing waited yet");
        let a = p.arrive();
        let b = p.arrive();
        assert!(!p.pressed(), "two waiting, three press");
        assert_eq!(p.engaged(), 0);
        let c = p.arrive();
        assert!(p.pressed(), "three waiting");
        assert_eq!(p.engaged(), 1, "it began to press");
        drop(a);
        assert!(p.pressed(), "two still waiting, within the hold");
        drop((b, c));
        assert!(p.pressed(), "held after they are answered");
        std::thread::sleep(hold + Duration::from_millis(30));
        assert!(!p.pressed(), "released after the hold");
        // Answered requests no longer count: two more do not press again.
        let d = p.arrive();
        let e = p.arrive();
        assert!(!p.pressed());
        // Requests still piled up press the writer however long ago they arrived.
        let f = p.arrive();
        assert_eq!(p.engaged(), 2, "pressed again after the hold had passed");
        let g = p.arrive();
        assert_eq!(p.engaged(), 2, "within the hold: the same time");
        std::thread::sleep(hold + Duration::from_millis(30));
        assert!(p.pressed(), "four still waiting after the hold");
        let h = p.arrive();
        assert_eq!(p.engaged(), 2, "never released (a stall): the same time");
        drop((d, e, f, g, h));
        std::thread::sleep(hold + Duration::from_millis(30));
        assert!(!p.pressed(), "answered, and the hold is over");
    }
}
