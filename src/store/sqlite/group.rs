//! Group commit for the workers' writes. Ticket commits and job finishes that arrive while one
//! write transaction runs share the next one, each inside its own savepoint: with
//! `synchronous = FULL` a commit costs an fsync, and one fsync for a batch instead of one each
//! is what lets the workers keep up with a busy inbox while leaving the single writer
//! connection free for the webhook acknowledgements most of the time.
//!
//! Webhook inserts go through the same writer on a channel of their own, which it serves
//! first: a transaction takes the worker writes queued while no insert waits (at least one,
//! so that a steady stream of webhooks cannot starve the workers), then every insert waiting,
//! and commits. An acknowledgement waits for one worker write at most, then the commit it
//! shares, never for a queue of other statements on the single writer connection.
//!
//! A caller is answered only after the shared transaction committed. A write that is refused
//! (a version conflict, a claim no longer held) or fails is rolled back to its savepoint
//! alone; the others commit. If the transaction itself cannot commit, every caller gets the
//! error (and retries, as it would after any failed commit; a webhook is answered with an
//! error, and redelivered).

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::super::{Claim, Commit, CommitOutcome, JobRecord, NewInbox, Result, StoreError};
use super::{commit_on, finish_job_on, insert_inbox_on};

/// Writes one shared transaction takes at most.
const GROUP_MAX: usize = 64;
/// Writes that may wait for the group writer at once (back-pressure beyond this).
const QUEUE_DEPTH: usize = 1024;
/// Webhook inserts that may wait for the group writer at once (the inbox writer in front of
/// it already batches concurrent requests into one insert).
const INGEST_DEPTH: usize = 64;

/// Rows for `Store::insert_inbox`, answered with how many were new.
pub(super) struct Insert {
    pub rows: Vec<NewInbox>,
    pub now: DateTime<Utc>,
    pub done: oneshot::Sender<Result<u64>>,
}

/// The two ways into the group writer.
pub(super) struct Group {
    pub writes: mpsc::Sender<GroupWrite>,
    pub inserts: mpsc::Sender<Insert>,
}

/// Any other write's result, type-erased for the trip through the writer (see
/// `SqliteStore::grouped`).
pub(super) type Erased = Box<dyn std::any::Any + Send>;

/// Any other write (a claim, a pace slot): run on the shared transaction, kept when `Ok`.
pub(super) type Run =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<Erased>> + Send>;

pub(super) enum GroupWrite {
    Commit(Box<Commit>, oneshot::Sender<Result<CommitOutcome>>),
    Call {
        run: Run,
        done: oneshot::Sender<Result<Erased>>,
    },
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
    Insert(oneshot::Sender<Result<u64>>, Result<u64>),
    Call(oneshot::Sender<Result<Erased>>, Result<Erased>),
}

impl GroupWrite {
    fn fail(self, why: &str) {
        // A caller that has gone (its task was cancelled) needs no answer.
        match self {
            Self::Commit(_, done) => drop(done.send(Err(failed(why)))),
            Self::FinishJob { done, .. } => drop(done.send(Err(failed(why)))),
            Self::Call { done, .. } => drop(done.send(Err(failed(why)))),
        }
    }
}

impl Reply {
    fn send(self) {
        match self {
            Self::Commit(done, r) => drop(done.send(r)),
            Self::FinishJob(done, r) => drop(done.send(r)),
            Self::Insert(done, r) => drop(done.send(r)),
            Self::Call(done, r) => drop(done.send(r)),
        }
    }

    fn fail(self, why: &str) {
        match self {
            Self::Commit(done, _) => drop(done.send(Err(failed(why)))),
            Self::FinishJob(done, _) => drop(done.send(Err(failed(why)))),
            Self::Insert(done, _) => drop(done.send(Err(failed(why)))),
            Self::Call(done, _) => drop(done.send(Err(failed(why)))),
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

/// Start the group writer on `pool` (the single writer connection); needs a Tokio runtime.
/// Should the writer ever panic, it is started again: the writes of the failed group are
/// answered with an error (their callers retry), later ones are not refused forever.
pub(super) fn spawn(pool: SqlitePool) -> Group {
    let (writes, rx) = mpsc::channel(QUEUE_DEPTH);
    let (inserts, irx) = mpsc::channel(INGEST_DEPTH);
    let rx = Arc::new(Mutex::new(rx));
    let irx = Arc::new(Mutex::new(irx));
    tokio::spawn(async move {
        loop {
            match tokio::spawn(run(pool.clone(), rx.clone(), irx.clone())).await {
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
    Group { writes, inserts }
}

async fn run(
    pool: SqlitePool,
    rx: Arc<Mutex<mpsc::Receiver<GroupWrite>>>,
    irx: Arc<Mutex<mpsc::Receiver<Insert>>>,
) {
    let mut rx = rx.lock().await;
    let mut irx = irx.lock().await;
    // Writes left over when a transaction ended early go first in the next one.
    let mut queue = VecDeque::new();
    loop {
        if queue.is_empty() && irx.is_empty() {
            // Both senders live in the store: either closing means it was dropped.
            tokio::select! {
                biased;
                i = irx.recv() => match i {
                    Some(i) => {
                        write_group(&pool, &mut queue, &mut irx, Some(i)).await;
                        continue;
                    }
                    None => break,
                },
                w = rx.recv() => match w {
                    Some(w) => queue.push_back(w),
                    None => break,
                },
            }
        }
        while queue.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(w) => queue.push_back(w),
                Err(_) => break,
            }
        }
        write_group(&pool, &mut queue, &mut irx, None).await;
    }
}

/// One transaction: writes taken from the front of `queue` (up to `GROUP_MAX`, and only the
/// first while a webhook insert waits), then every insert waiting (`first` and those in
/// `inserts`).
async fn write_group(
    pool: &SqlitePool,
    queue: &mut VecDeque<GroupWrite>,
    inserts: &mut mpsc::Receiver<Insert>,
    first: Option<Insert>,
) {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => {
            let why = e.to_string();
            queue.drain(..).for_each(|w| w.fail(&why));
            first.into_iter().for_each(|i| i.fail(&why));
            while let Ok(i) = inserts.try_recv() {
                i.fail(&why);
            }
            return;
        }
    };
    let mut replies = Vec::with_capacity(queue.len() + 1);
    let mut broken = None;
    let mut first = first;
    if first.is_none() {
        while replies.len() < GROUP_MAX {
            if !replies.is_empty() && !inserts.is_empty() {
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
    }
    // The webhooks waiting now share this commit (an insert arriving later takes the next).
    while broken.is_none() {
        let Some(insert) = first.take().or_else(|| inserts.try_recv().ok()) else {
            break;
        };
        let (reply, outcome) = insert_one(&mut tx, insert).await;
        replies.push(reply);
        if let Err(e) = outcome {
            broken = Some(e);
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
        GroupWrite::Call { done, .. } => Reply::Call(done, Err(failed(why))),
    }
}

impl Insert {
    fn fail(self, why: &str) {
        drop(self.done.send(Err(failed(why))));
    }
}

/// One webhook insert inside its savepoint (see [`write_one`]).
async fn insert_one(
    conn: &mut SqliteConnection,
    insert: Insert,
) -> (Reply, std::result::Result<(), String>) {
    if let Err(e) = sqlx::query("SAVEPOINT w").execute(&mut *conn).await {
        return (
            Reply::Insert(insert.done, Err(failed("not attempted"))),
            Err(e.to_string()),
        );
    }
    let r = insert_inbox_on(conn, &insert.rows, insert.now).await;
    if r.is_err()
        && let Err(e) = sqlx::query("ROLLBACK TO w").execute(&mut *conn).await
    {
        return (Reply::Insert(insert.done, r), Err(e.to_string()));
    }
    match sqlx::query("RELEASE w").execute(&mut *conn).await {
        Ok(_) => (Reply::Insert(insert.done, r), Ok(())),
        Err(e) => (Reply::Insert(insert.done, r), Err(e.to_string())),
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
        GroupWrite::Call { run, done } => {
            let r = run(conn).await;
            let keep = r.is_ok();
            (Reply::Call(done, r), keep)
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
