//! Group commit for the workers' writes. Ticket commits and job finishes that arrive while one
//! write transaction runs share the next one, each inside its own savepoint: with
//! `synchronous = FULL` a commit costs an fsync, and one fsync for a batch instead of one each
//! is what lets the workers keep up with a busy inbox while leaving the single writer
//! connection free for the webhook acknowledgements most of the time.
//!
//! A caller is answered only after the shared transaction committed. A write that is refused
//! (a version conflict, a claim no longer held) or fails is rolled back to its savepoint
//! alone; the others commit. If the transaction itself cannot commit, every caller gets the
//! error (and retries, as it would after any failed commit).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::super::{Claim, Commit, CommitOutcome, JobRecord, Result, StoreError};
use super::{commit_on, finish_job_on};

/// Writes one shared transaction takes at most.
const GROUP_MAX: usize = 64;
/// Writes that may wait for the group writer at once (back-pressure beyond this).
const QUEUE_DEPTH: usize = 1024;

pub(super) enum GroupWrite {
    Commit(Box<Commit>, oneshot::Sender<Result<CommitOutcome>>),
    FinishJob {
        claim: Claim,
        records: Vec<JobRecord>,
        now: DateTime<Utc>,
        done: oneshot::Sender<Result<bool>>,
    },
}

/// A write's answer, held until the shared transaction has committed.
enum Reply {
    Commit(
        oneshot::Sender<Result<CommitOutcome>>,
        Result<CommitOutcome>,
    ),
    FinishJob(oneshot::Sender<Result<bool>>, Result<bool>),
}

impl GroupWrite {
    fn fail(self, why: &str) {
        // A caller that has gone (its task was cancelled) needs no answer.
        match self {
            Self::Commit(_, done) => drop(done.send(Err(failed(why)))),
            Self::FinishJob { done, .. } => drop(done.send(Err(failed(why)))),
        }
    }
}

impl Reply {
    fn send(self) {
        match self {
            Self::Commit(done, r) => drop(done.send(r)),
            Self::FinishJob(done, r) => drop(done.send(r)),
        }
    }

    fn fail(self, why: &str) {
        match self {
            Self::Commit(done, _) => drop(done.send(Err(failed(why)))),
            Self::FinishJob(done, _) => drop(done.send(Err(failed(why)))),
        }
    }
}

fn failed(why: &str) -> StoreError {
    StoreError::Group(why.to_string())
}

/// The error of a write whose group writer has stopped.
pub(super) fn gone() -> StoreError {
    failed("the group writer has stopped")
}

/// Webhook inserts waiting for the writer connection. The group writer ends its transaction
/// early while one waits, so an acknowledgement waits behind one grouped write at most, not a
/// whole group of them (other single-statement writes, such as claims, still take the
/// connection first come first served).
#[derive(Clone, Default)]
pub(super) struct Ingest(Arc<AtomicUsize>);

impl Ingest {
    /// Count an insert as waiting until the returned guard drops.
    pub(super) fn waiting(&self) -> Waiting {
        self.0.fetch_add(1, Ordering::SeqCst);
        Waiting(self.0.clone())
    }

    fn is_waiting(&self) -> bool {
        self.0.load(Ordering::SeqCst) > 0
    }
}

pub(super) struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Start the group writer on `pool` (the single writer connection); needs a Tokio runtime.
/// Should the writer ever panic, it is started again: the writes of the failed group are
/// answered with an error (their callers retry), later ones are not refused forever.
pub(super) fn spawn(pool: SqlitePool, ingest: Ingest) -> mpsc::Sender<GroupWrite> {
    let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
    let rx = Arc::new(Mutex::new(rx));
    tokio::spawn(async move {
        loop {
            match tokio::spawn(run(pool.clone(), rx.clone(), ingest.clone())).await {
                // Every sender has gone: the store was dropped.
                Ok(()) => break,
                Err(e) if e.is_panic() => {
                    tracing::error!(error = %e, "the group writer failed; starting it again");
                }
                // The runtime is shutting down.
                Err(_) => break,
            }
        }
    });
    tx
}

async fn run(pool: SqlitePool, rx: Arc<Mutex<mpsc::Receiver<GroupWrite>>>, ingest: Ingest) {
    let mut rx = rx.lock().await;
    // Writes left over when a transaction ended early go first in the next one.
    let mut queue = VecDeque::new();
    loop {
        if queue.is_empty() {
            match rx.recv().await {
                Some(w) => queue.push_back(w),
                None => break,
            }
        }
        while queue.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(w) => queue.push_back(w),
                Err(_) => break,
            }
        }
        write_group(&pool, &mut queue, &ingest).await;
    }
}

/// One transaction of writes taken from the front of `queue`: up to `GROUP_MAX`, fewer when a
/// webhook insert is waiting for the connection.
async fn write_group(pool: &SqlitePool, queue: &mut VecDeque<GroupWrite>, ingest: &Ingest) {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => {
            let why = e.to_string();
            queue.drain(..).for_each(|w| w.fail(&why));
            return;
        }
    };
    let mut replies = Vec::with_capacity(queue.len());
    let mut broken = None;
    while replies.len() < GROUP_MAX {
        if !replies.is_empty() && ingest.is_waiting() {
            break;
        }
        let Some(write) = queue.pop_front() else {
            break;
        };
        let (reply, outcome) = write_one(&mut tx, write).await;
        replies.push(reply);
        if let Err(e) = outcome {
            broken = Some(e);
            break;
        }
    }
    let result = match broken {
        // Dropping the transaction rolls it back.
        Some(e) => Err(e),
        None => tx.commit().await.map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => replies.into_iter().for_each(Reply::send),
        Err(why) => {
            tracing::warn!(error = %why, writes = replies.len(), "shared write transaction failed");
            replies.into_iter().for_each(|r| r.fail(&why));
        }
    }
}

/// A write whose savepoint could not be set, to be answered with the transaction's failure.
fn pending(write: GroupWrite) -> Reply {
    let why = "not attempted";
    match write {
        GroupWrite::Commit(_, done) => Reply::Commit(done, Err(failed(why))),
        GroupWrite::FinishJob { done, .. } => Reply::FinishJob(done, Err(failed(why))),
    }
}

/// One write inside its savepoint. The second value is an error only when the savepoint
/// itself could not be set or undone: the shared transaction is then unusable.
async fn write_one(
    conn: &mut SqliteConnection,
    write: GroupWrite,
) -> (Reply, std::result::Result<(), String>) {
    if let Err(e) = sqlx::query("SAVEPOINT w").execute(&mut *conn).await {
        return (pending(write), Err(e.to_string()));
    }
    let (reply, keep) = match write {
        GroupWrite::Commit(commit, done) => {
            let r = commit_on(conn, *commit).await;
            let keep = matches!(r, Ok(CommitOutcome::Committed { .. }));
            (Reply::Commit(done, r), keep)
        }
        GroupWrite::FinishJob {
            claim,
            records,
            now,
            done,
        } => {
            let r = finish_job_on(conn, claim, &records, now).await;
            let keep = matches!(r, Ok(true));
            (Reply::FinishJob(done, r), keep)
        }
    };
    if !keep && let Err(e) = sqlx::query("ROLLBACK TO w").execute(&mut *conn).await {
        return (reply, Err(e.to_string()));
    }
    match sqlx::query("RELEASE w").execute(&mut *conn).await {
        Ok(_) => (reply, Ok(())),
        Err(e) => (reply, Err(e.to_string())),
    }
}
