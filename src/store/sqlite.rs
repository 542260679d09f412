//! SQLite backend.
//!
//! - Timestamps are stored as INTEGER unix **microseconds** (UTC), so they compare numerically
//!   and round-trip exactly like Postgres TIMESTAMPTZ does. Every timestamp the store writes,
//!   including those inside the ticket state JSON, is truncated to microseconds first: a value
//!   read back equals the value written on both backends.
//! - JSON columns (ticket state, teammate, chat, delivery, actor, history detail, effect) are
//!   TEXT; the ticket's `state` is the source of truth, its plain columns are copies.
//! - Writes go through a single-connection writer pool and every write transaction starts with
//!   `BEGIN IMMEDIATE`, so concurrent writers queue for the lock (busy timeout) instead of
//!   failing with `SQLITE_BUSY` on a lock upgrade. Reads use a separate pool (WAL lets them run
//!   beside the writer). `sqlite::memory:` uses one connection for everything.
//! - The hot writes are group-committed, a savepoint each (see `group`): ticket commits, job
//!   finishes, claims, inbox finishes, pace slots, and the webhook inserts (one statement per
//!   batch), which are served first and share the commit. Rarer writes take the writer pool
//!   directly.

use std::str::FromStr;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row};

use super::codec::{self, RawMessage};
use super::{
    ChatRole, Claim, Commit, CommitOutcome, Consumes, FailedJob, ImportCounts, InboxRow, Job,
    JobRecord, JobStatus, NameTaken, NewInbox, Result, SavedReplyWrite, Store, StormBatch, Target,
};
use crate::core::filter::Filter;
use crate::core::saved_reply::{SavedReply, SavedReplyId};
use crate::core::tags::TagModelData;
use crate::core::{
    ChatRef, Decision, Effect, HistoryEntry, Message, MessageChange, MessageKey, Surface, Ticket,
    TicketId,
};

/// How long a connection waits for the database lock before giving up.
const BUSY_TIMEOUT: StdDuration = StdDuration::from_secs(5);
/// Read connections for a file database (the writer has its own single connection).
const READ_CONNECTIONS: u32 = 4;
/// Inbox rows one INSERT statement takes at most (6 parameters each, well under SQLite's
/// 32,766).
const INBOX_INSERT_CHUNK: usize = 1000;

/// Claim up to `?3` due inbox rows, oldest first, each only when no older row of its lane is
/// pending; `?1` the lease's end, `?2` now.
const CLAIM_INBOX: &str = "UPDATE inbox SET attempts = attempts + 1, claim = claim + 1, locked_until = ?1 \
      WHERE id IN (SELECT i.id FROM inbox i WHERE i.processed_at IS NULL AND i.run_at <= ?2 \
                   AND (i.locked_until IS NULL OR i.locked_until <= ?2) \
                   AND (i.lane IS NULL OR NOT EXISTS (SELECT 1 FROM inbox p \
                        WHERE p.lane = i.lane AND p.processed_at IS NULL AND p.id < i.id)) \
                   ORDER BY i.id LIMIT ?3) \
      RETURNING id, source, dedupe_key, payload, attempts, received_at, lane, claim";

/// Claim up to `?3` due outbox jobs, oldest first, each only at the head of its lane; `?1`
/// the lease's end, `?2` now.
const CLAIM_JOBS: &str = "UPDATE outbox SET attempts = attempts + 1, claim = claim + 1, locked_until = ?1, \
     budget_from = COALESCE(budget_from, ?2) \
     WHERE id IN ( \
         SELECT o.id FROM outbox o \
         WHERE o.status = 'pending' AND o.run_at <= ?2 \
           AND (o.locked_until IS NULL OR o.locked_until <= ?2) \
           AND NOT EXISTS (SELECT 1 FROM outbox p \
                           WHERE p.lane = o.lane AND p.status = 'pending' AND p.id < o.id) \
         ORDER BY o.id LIMIT ?3) \
     RETURNING id, ticket_id, lane, effect, attempts, created_at, budget_from, claim, last_error";

mod group;

use futures_util::future::BoxFuture;
use group::GroupWrite;
use tokio::sync::oneshot;

pub struct SqliteStore {
    /// Single connection: every write goes through it.
    writer: SqlitePool,
    /// Reads; the same pool as `writer` for an in-memory database.
    reader: SqlitePool,
    /// Ticket commits, job finishes and webhook inserts, group-committed on `writer` (see
    /// `group`).
    group: group::Group,
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn at(row: &SqliteRow, column: &str) -> Result<DateTime<Utc>> {
    codec::from_micros(row.try_get(column)?)
}

fn lease_end(now: DateTime<Utc>, lease: Duration) -> Result<i64> {
    Ok(micros(codec::add_lease(now, lease)?))
}

impl SqliteStore {
    /// Open (creating the file if missing) the database `url` names (`sqlite://path`,
    /// `sqlite::memory:`). Does not migrate.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if in_memory {
            // Each connection would otherwise see its own database: keep exactly one, forever.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?;
            return Ok(Self {
                group: group::spawn(pool.clone()),
                writer: pool.clone(),
                reader: pool,
            });
        }
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        // The writer connects first: it creates the file and switches it to WAL.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .connect_with(options)
            .await?;
        Ok(Self {
            group: group::spawn(writer.clone()),
            writer,
            reader,
        })
    }

    async fn group_send(&self, write: GroupWrite) -> Result<()> {
        self.group
            .writes
            .send(write)
            .await
            .map_err(|_| group::gone())
    }

    /// Run `write` on the writer in the group writer's shared transaction (see `group`),
    /// answered once that has committed: one fsync for many such writes instead of one each,
    /// and never between the webhook inserts and the connection.
    async fn grouped<T, F>(&self, write: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        let (done, answer) = oneshot::channel();
        let run: group::Run = Box::new(move |conn| {
            let fut = write(conn);
            Box::pin(async move { fut.await.map(|v| Box::new(v) as group::Erased) })
        });
        self.group_send(GroupWrite::Call { run, done }).await?;
        let value = answer.await.map_err(|_| group::gone())??;
        value
            .downcast::<T>()
            .map(|v| *v)
            .map_err(|_| super::StoreError::Group("a grouped write answered the wrong type".into()))
    }

    /// Run a claim statement (`CLAIM_INBOX`, `CLAIM_JOBS`: `?1` the lease's end, `?2` now,
    /// `?3` the limit) in the group writer's transaction.
    async fn claim(
        &self,
        sql: &'static str,
        limit: i64,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<SqliteRow>> {
        let until = lease_end(now, lease)?;
        self.grouped(move |conn| {
            Box::pin(async move {
                Ok(sqlx::query(sql)
                    .bind(until)
                    .bind(micros(now))
                    .bind(limit)
                    .fetch_all(&mut *conn)
                    .await?)
            })
        })
        .await
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// `Store::commit` on the open transaction. Anything but `Committed` leaves writes the caller
/// must roll back.
async fn commit_on(conn: &mut SqliteConnection, commit: Commit) -> Result<CommitOutcome> {
    let Commit {
        target,
        decision,
        consumes,
        now,
        storm,
    } = commit;
    let state = codec::normalize_state(decision.state.clone());
    let cols = codec::TicketColumns::new(&state)?;
    let (ticket, version) = match target {
        Target::New => {
            let inserted = sqlx::query(
                "INSERT INTO tickets (version, network, account, conversation_key, status, \
                 assignee, kind, customer_id, created_at, updated_at, state, archived_at) \
                 VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(cols.network)
            .bind(cols.account)
            .bind(cols.conversation_key)
            .bind(cols.status)
            .bind(cols.assignee.as_deref())
            .bind(cols.kind)
            .bind(cols.customer_id)
            .bind(micros(state.created_at))
            .bind(micros(state.updated_at))
            .bind(cols.state.as_str())
            .bind(state.archived.map(|a| micros(a.at)))
            .fetch_one(&mut *conn)
            .await;
            match inserted {
                Ok(row) => (TicketId(row.try_get(0)?), 1),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    return Ok(CommitOutcome::Conflict);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Target::Existing { id, version } => {
            let updated = sqlx::query(
                "UPDATE tickets SET version = version + 1, network = ?, account = ?, \
                 conversation_key = ?, status = ?, assignee = ?, kind = ?, customer_id = ?, \
                 created_at = ?, updated_at = ?, state = ?, archived_at = ? \
                 WHERE id = ? AND version = ?",
            )
            .bind(cols.network)
            .bind(cols.account)
            .bind(cols.conversation_key)
            .bind(cols.status)
            .bind(cols.assignee.as_deref())
            .bind(cols.kind)
            .bind(cols.customer_id)
            .bind(micros(state.created_at))
            .bind(micros(state.updated_at))
            .bind(cols.state.as_str())
            .bind(state.archived.map(|a| micros(a.at)))
            .bind(id.0)
            .bind(version)
            .execute(&mut *conn)
            .await;
            match updated {
                Ok(r) if r.rows_affected() == 1 => (id, version + 1),
                Ok(_) => {
                    return Ok(CommitOutcome::Conflict);
                }
                // Another ticket already has the new conversation key.
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    return Ok(CommitOutcome::Conflict);
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    write_decision(conn, ticket, &decision, now).await?;
    if let Some(w) = &storm
        && !write_storm(conn, ticket, w, now).await?
    {
        return Ok(CommitOutcome::Conflict);
    }
    let consumed = match consumes {
        Consumes::Nothing => true,
        Consumes::Inbox(claim) => {
            sqlx::query(
                "UPDATE inbox SET processed_at = ?, locked_until = NULL \
                 WHERE id = ? AND claim = ? AND processed_at IS NULL",
            )
            .bind(micros(now))
            .bind(claim.id)
            .bind(claim.token)
            .execute(&mut *conn)
            .await?
            .rows_affected()
                == 1
        }
        Consumes::Job(claim) => {
            sqlx::query(
                "UPDATE outbox SET status = 'done', finished_at = ?, locked_until = NULL \
                 WHERE id = ? AND claim = ? AND status = 'pending'",
            )
            .bind(micros(now))
            .bind(claim.id)
            .bind(claim.token)
            .execute(&mut *conn)
            .await?
            .rows_affected()
                == 1
        }
    };
    if !consumed {
        return Ok(CommitOutcome::AlreadyConsumed);
    }
    Ok(CommitOutcome::Committed { ticket, version })
}

/// `Store::insert_inbox` on the open transaction: one statement per chunk (every statement is
/// a round trip to the connection's thread).
async fn insert_inbox_on(
    conn: &mut SqliteConnection,
    items: &[NewInbox],
    now: DateTime<Utc>,
) -> Result<u64> {
    let now = micros(now);
    let mut inserted = 0;
    for chunk in items.chunks(INBOX_INSERT_CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO inbox (source, dedupe_key, payload, received_at, run_at, lane) ",
        );
        q.push_values(chunk, |mut row, item| {
            row.push_bind(item.source.as_str())
                .push_bind(item.dedupe_key.as_str())
                .push_bind(item.payload.as_str())
                .push_bind(now)
                .push_bind(now)
                .push_bind(item.lane.as_deref());
        });
        q.push(" ON CONFLICT (source, dedupe_key) DO NOTHING");
        inserted += q.build().execute(&mut *conn).await?.rows_affected();
    }
    Ok(inserted)
}

/// `Store::finish_job` on the open transaction; false (and the caller rolls back) when the
/// claim is no longer held.
async fn finish_job_on(
    conn: &mut SqliteConnection,
    claim: Claim,
    records: &[JobRecord],
    now: DateTime<Utc>,
) -> Result<bool> {
    let now = micros(now);
    let ticket: Option<i64> = sqlx::query_scalar(
        "UPDATE outbox SET status = 'done', finished_at = ?, locked_until = NULL \
         WHERE id = ? AND claim = ? AND status = 'pending' RETURNING ticket_id",
    )
    .bind(now)
    .bind(claim.id)
    .bind(claim.token)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(ticket) = ticket else {
        return Ok(false);
    };
    for record in records {
        match record {
            JobRecord::LinkChat {
                chat,
                role,
                message,
            } => {
                sqlx::query(
                    "INSERT INTO chat_links (surface, workspace, channel, message, \
                     ticket_id, role, message_key, linked_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                )
                .bind(chat.surface.as_str())
                .bind(chat.workspace.as_str())
                .bind(chat.channel.as_str())
                .bind(chat.message.as_str())
                .bind(ticket)
                .bind(codec::role_str(*role))
                .bind(message.as_ref().map(|k| k.as_str()))
                .bind(now)
                .execute(&mut *conn)
                .await?;
            }
            JobRecord::StormCard { storm, chat } => {
                sqlx::query("UPDATE storms SET card = ? WHERE id = ? AND card IS NULL")
                    .bind(codec::to_json(chat)?)
                    .bind(storm)
                    .execute(&mut *conn)
                    .await?;
            }
            JobRecord::StormPosted { storm, upto, batch } => {
                sqlx::query("UPDATE storms SET posted_upto = MAX(posted_upto, ?) WHERE id = ?")
                    .bind(upto)
                    .bind(storm)
                    .execute(&mut *conn)
                    .await?;
                if let Some(b) = batch {
                    sqlx::query(
                        "INSERT INTO storm_batches (storm_id, from_seq, upto_seq, chat) \
                         VALUES (?, ?, ?, ?) ON CONFLICT (storm_id, from_seq) DO NOTHING",
                    )
                    .bind(storm)
                    .bind(b.from)
                    .bind(upto)
                    .bind(codec::to_json(&b.chat)?)
                    .execute(&mut *conn)
                    .await?;
                    // Lines read before an erasure, posted (or found posted) after it: the
                    // erasure saw no batch to edit, so this record queues the edit (also, in
                    // vain but harmlessly, for lines read after it).
                    let effect = Effect::StormBatchEdit {
                        storm: *storm,
                        from: b.from,
                    };
                    sqlx::query(
                        "INSERT INTO outbox (ticket_id, lane, effect, status, attempts, run_at, \
                         created_at) SELECT ?, ?, ?, 'pending', 0, ?, ? WHERE EXISTS (\
                         SELECT 1 FROM storm_members m \
                         JOIN ticket_history h ON h.ticket_id = m.ticket_id \
                         WHERE m.storm_id = ? AND m.seq BETWEEN ? AND ? AND h.code = ?)",
                    )
                    .bind(ticket)
                    .bind(super::storm_edit_lane(*storm))
                    .bind(codec::to_json(&effect)?)
                    .bind(now)
                    .bind(now)
                    .bind(storm)
                    .bind(b.from)
                    .bind(upto)
                    .bind(crate::core::HistoryKind::Erased.code())
                    .execute(&mut *conn)
                    .await?;
                }
                let more: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM storm_members WHERE storm_id = ? AND seq > ?)",
                )
                .bind(storm)
                .bind(upto)
                .fetch_one(&mut *conn)
                .await?;
                if more {
                    let effect = Effect::StormThread { storm: *storm };
                    let lane = super::storm_thread_lane(*storm);
                    enqueue_coalesced(conn, ticket, &lane, &effect, now).await?;
                }
            }
        }
    }
    Ok(true)
}

/// `Store::gave_up_before`: failed jobs are few and indexed by lane (`outbox_failed_lane`);
/// the done jobs after each are looked for in the id range between.
const GAVE_UP_BEFORE_SQLITE: &str = "SELECT MIN(f.created_at) FROM outbox f \
     WHERE f.lane = ?1 AND f.status = 'failed' AND f.id < ?2 \
     AND NOT EXISTS (SELECT 1 FROM outbox d WHERE d.id > f.id AND d.id < ?2 \
                     AND d.lane = ?1 AND d.status = 'done')";

/// Deleting one ticket's rows (`ticket_id`), before the ticket itself.
const DELETE_TICKET_ROWS: [&str; 6] = [
    "DELETE FROM storm_members WHERE ticket_id = ?",
    "DELETE FROM messages WHERE ticket_id = ?",
    "DELETE FROM ticket_history WHERE ticket_id = ?",
    "DELETE FROM chat_links WHERE ticket_id = ?",
    "DELETE FROM undelivered_cards WHERE ticket_id = ?",
    "DELETE FROM outbox WHERE ticket_id = ?",
];

fn ticket_from_row(row: &SqliteRow) -> Result<Ticket> {
    codec::ticket(
        row.try_get("id")?,
        row.try_get("version")?,
        row.try_get("state")?,
    )
}

fn message_from_row(row: &SqliteRow) -> Result<Message> {
    RawMessage {
        key: row.try_get("key")?,
        ticket_id: row.try_get("ticket_id")?,
        kind: row.try_get("kind")?,
        network_item_id: row.try_get("network_item_id")?,
        teammate: row.try_get("teammate")?,
        chat: row.try_get("chat")?,
        text: row.try_get("text")?,
        delivery: row.try_get("delivery")?,
        edited: row.try_get("edited")?,
        deleted: row.try_get("deleted")?,
        created_at: at(row, "created_at")?,
    }
    .into_message()
}

fn job_from_row(row: &SqliteRow) -> Result<Job> {
    let created_at = at(row, "created_at")?;
    let budget_from = match row.try_get::<Option<i64>, _>("budget_from")? {
        Some(m) => codec::from_micros(m)?,
        None => created_at,
    };
    codec::job(
        codec::JobColumns {
            id: row.try_get("id")?,
            ticket: row.try_get("ticket_id")?,
            lane: row.try_get("lane")?,
            effect: row.try_get("effect")?,
            attempts: row.try_get("attempts")?,
            claim: row.try_get("claim")?,
            last_error: row.try_get("last_error")?,
        },
        created_at,
        budget_from,
    )
}

fn chat_from_row(row: &SqliteRow) -> Result<ChatRef> {
    codec::chat_ref(
        row.try_get("surface")?,
        row.try_get("workspace")?,
        row.try_get("channel")?,
        row.try_get("message")?,
    )
}

/// Everything a commit writes after the ticket row, on the open transaction.
async fn write_decision(
    conn: &mut SqliteConnection,
    ticket: TicketId,
    decision: &Decision,
    now: DateTime<Utc>,
) -> Result<()> {
    for change in &decision.messages {
        match change {
            MessageChange::Insert(m) => {
                sqlx::query(
                    "INSERT INTO messages (key, ticket_id, kind, network_item_id, teammate, chat, \
                     text, delivery, edited, deleted, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?) ON CONFLICT (key) DO NOTHING",
                )
                .bind(m.key.as_str())
                .bind(ticket.0)
                .bind(m.kind.as_str())
                .bind(m.network_item_id.as_ref().map(|i| i.as_str()))
                .bind(codec::opt_json(&m.teammate)?)
                .bind(codec::opt_json(&m.chat)?)
                .bind(m.text.as_str())
                .bind(codec::opt_json(&m.delivery)?)
                .bind(micros(codec::trunc(m.created_at)))
                .execute(&mut *conn)
                .await?;
            }
            MessageChange::Update { key, patch } => {
                sqlx::query(
                    "UPDATE messages SET text = COALESCE(?1, text), edited = COALESCE(?2, edited), \
                     deleted = COALESCE(?3, deleted), delivery = COALESCE(?4, delivery), \
                     network_item_id = COALESCE(?5, network_item_id) \
                     WHERE key = ?6 AND ticket_id = ?7",
                )
                .bind(patch.text.as_deref())
                .bind(patch.edited)
                .bind(patch.deleted)
                .bind(codec::opt_json(&patch.delivery)?)
                .bind(patch.network_item_id.as_ref().map(|i| i.as_str()))
                .bind(key.as_str())
                .bind(ticket.0)
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    for entry in &decision.history {
        sqlx::query(
            "INSERT INTO ticket_history (ticket_id, at, actor, code, detail) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(ticket.0)
        .bind(micros(codec::trunc(entry.at)))
        .bind(codec::to_json(&entry.actor)?)
        .bind(entry.what.code())
        .bind(codec::to_json(&entry.what)?)
        .execute(&mut *conn)
        .await?;
    }
    for effect in &decision.effects {
        sqlx::query(
            "INSERT INTO outbox (ticket_id, lane, effect, status, attempts, run_at, created_at) \
             VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?5)",
        )
        .bind(ticket.0)
        .bind(super::lane_of(ticket, effect))
        .bind(codec::to_json(effect)?)
        .bind(micros(super::run_at_of(effect, now)))
        .bind(micros(now))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Queue `effect` in `lane` for `ticket` unless a job of that lane is waiting unclaimed (it will
/// see the latest state when it runs): storm cards and batches coalesce.
async fn enqueue_coalesced(
    conn: &mut SqliteConnection,
    ticket: i64,
    lane: &str,
    effect: &Effect,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (ticket_id, lane, effect, status, attempts, run_at, created_at) \
         SELECT ?1, ?2, ?3, 'pending', 0, ?4, ?4 WHERE NOT EXISTS (SELECT 1 FROM outbox \
         WHERE lane = ?2 AND status = 'pending' AND (locked_until IS NULL OR locked_until <= ?4))",
    )
    .bind(ticket)
    .bind(lane)
    .bind(codec::to_json(effect)?)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A commit's storm write, on the open transaction. False when the post's activity changed
/// since it was read (the commit is then a conflict).
async fn write_storm(
    conn: &mut SqliteConnection,
    ticket: TicketId,
    w: &super::StormWrite,
    now: DateTime<Utc>,
) -> Result<bool> {
    let now_us = micros(now);
    let recent = codec::to_json(&w.recent.iter().map(|t| micros(*t)).collect::<Vec<_>>())?;
    let storm = match &w.join {
        super::StormJoin::No => None,
        super::StormJoin::Existing(id) => {
            let fed = sqlx::query(
                "UPDATE storms SET last_at = ?, count = count + 1 WHERE id = ? AND ended_at IS NULL",
            )
            .bind(now_us)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if fed != 1 {
                return Ok(false);
            }
            Some(*id)
        }
        super::StormJoin::Start(new) => Some(
            sqlx::query_scalar(
                "INSERT INTO storms (post_key, channel, anchor, started_at, last_at, count, post) \
                 VALUES (?, ?, ?, ?, ?, 1, ?) RETURNING id",
            )
            .bind(&new.post_key)
            .bind(&new.channel)
            .bind(ticket.0)
            .bind(now_us)
            .bind(now_us)
            .bind(codec::to_json(&new.post)?)
            .fetch_one(&mut *conn)
            .await?,
        ),
    };
    // While a storm runs its post's activity is not written (detection is over): the
    // comments of a viral post do not queue behind one row. The storm's own row says whether
    // it still runs.
    if !matches!(w.join, super::StormJoin::Existing(_)) {
        let written = match w.version {
            None => sqlx::query(
                "INSERT INTO post_activity (key, recent, storm_id, version, updated_at) \
                 VALUES (?, ?, ?, 1, ?) ON CONFLICT (key) DO NOTHING",
            )
            .bind(&w.key)
            .bind(&recent)
            .bind(storm)
            .bind(now_us)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
            Some(v) => sqlx::query(
                "UPDATE post_activity SET recent = ?, storm_id = ?, version = version + 1, \
                 updated_at = ? WHERE key = ? AND version = ?",
            )
            .bind(&recent)
            .bind(storm)
            .bind(now_us)
            .bind(&w.key)
            .bind(v)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
        };
        if written != 1 {
            return Ok(false);
        }
    }
    if let (Some(id), Some(key)) = (storm, &w.message) {
        sqlx::query(
            "INSERT INTO storm_members (storm_id, ticket_id, message_key, at) VALUES (?, ?, ?, ?)",
        )
        .bind(id)
        .bind(ticket.0)
        .bind(key.as_str())
        .bind(now_us)
        .execute(&mut *conn)
        .await?;
        let anchor: i64 = sqlx::query_scalar("SELECT anchor FROM storms WHERE id = ?")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        for effect in codec::storm_end_effects(id) {
            let lane = super::lane_of(TicketId(anchor), &effect);
            enqueue_coalesced(conn, anchor, &lane, &effect, now_us).await?;
        }
    }
    Ok(true)
}

fn storm_line_from_row(row: &SqliteRow) -> Result<crate::core::storm::StormLine> {
    codec::storm_line(
        row.try_get("seq")?,
        row.try_get("ticket_id")?,
        at(row, "at")?,
        row.try_get("text")?,
        row.try_get::<i64, _>("deleted")? != 0,
        row.try_get("state")?,
    )
}

fn storm_batch_from_row(row: &SqliteRow) -> Result<StormBatch> {
    let chat: String = row.try_get("chat")?;
    Ok(StormBatch {
        storm: row.try_get("storm_id")?,
        from: row.try_get("from_seq")?,
        upto: row.try_get("upto_seq")?,
        chat: codec::from_json(&chat, "storm batch")?,
    })
}

fn storm_from_row(row: &SqliteRow) -> Result<super::StormRow> {
    let card: Option<String> = row.try_get("card")?;
    let post: String = row.try_get("post")?;
    let ended: Option<i64> = row.try_get("ended_at")?;
    Ok(super::StormRow {
        id: row.try_get("id")?,
        post_key: row.try_get("post_key")?,
        channel: row.try_get("channel")?,
        anchor: TicketId(row.try_get("anchor")?),
        started_at: at(row, "started_at")?,
        last_at: at(row, "last_at")?,
        ended_at: ended.map(codec::from_micros).transpose()?,
        count: row.try_get("count")?,
        card: card
            .map(|c| codec::from_json(&c, "storm card"))
            .transpose()?,
        posted_upto: row.try_get("posted_upto")?,
        post: codec::from_json(&post, "storm post")?,
    })
}

fn saved_reply_from_row(row: &SqliteRow) -> Result<SavedReply> {
    Ok(SavedReply {
        id: SavedReplyId(row.try_get("id")?),
        name: row.try_get("name")?,
        body: row.try_get("body")?,
        updated_by: row.try_get("updated_by")?,
        updated_at: at(row, "updated_at")?,
    })
}

/// Inside every transaction that changes saved replies.
async fn bump_saved_replies_revision(conn: &mut SqliteConnection) -> Result<()> {
    sqlx::query("UPDATE saved_replies_revision SET revision = revision + 1 WHERE id = 1")
        .execute(conn)
        .await?;
    Ok(())
}

fn account_from_row(row: &SqliteRow) -> Result<super::ConnectedAccount> {
    let network: String = row.try_get("network")?;
    let surface: String = row.try_get("surface")?;
    let healthy: bool = row.try_get("healthy")?;
    let reason: Option<String> = row.try_get("health_reason")?;
    Ok(super::ConnectedAccount {
        id: row.try_get("id")?,
        network: network.parse().map_err(super::StoreError::Corrupt)?,
        account_id: crate::core::AccountId::new(row.try_get::<String, _>("account_id")?),
        name: row.try_get("display_name")?,
        surface: surface.parse().map_err(super::StoreError::Corrupt)?,
        channel: row.try_get("channel")?,
        credentials: row.try_get("credentials")?,
        credentials_version: row.try_get("credentials_version")?,
        unhealthy: if healthy {
            None
        } else {
            Some(reason.unwrap_or_default())
        },
        connected_by: row.try_get("connected_by")?,
        connected_at: at(row, "connected_at")?,
        cursor: row.try_get("cursor")?,
        next_poll_at: at(row, "next_poll_at")?,
        last_error: row.try_get("last_error")?,
        notice_due: row
            .try_get::<Option<i64>, _>("notice_due_at")?
            .map(codec::from_micros)
            .transpose()?,
    })
}

/// Connect or reconnect one account (see [`Store::connect_account`]), inside the caller's
/// transaction or on its own.
async fn upsert_account(
    conn: &mut SqliteConnection,
    account: &super::NewAccount,
    now: DateTime<Utc>,
) -> Result<super::ConnectedAccount> {
    let row = sqlx::query(
        "INSERT INTO accounts (network, account_id, display_name, surface, channel, \
         credentials, connected_by, connected_at, next_poll_at, notice_due_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8) \
         ON CONFLICT (network, account_id) DO UPDATE SET \
         display_name = excluded.display_name, surface = excluded.surface, \
         channel = excluded.channel, credentials = excluded.credentials, \
         credentials_version = accounts.credentials_version + 1, healthy = 1, \
         health_reason = NULL, alert_pending = 0, connected_by = excluded.connected_by, \
         next_poll_at = excluded.next_poll_at, last_error = NULL, \
         notice_due_at = excluded.notice_due_at, \
         poll_claim = accounts.poll_claim + 1, poll_until = NULL, \
         refresh_claim = accounts.refresh_claim + 1, refresh_until = NULL \
         RETURNING *",
    )
    .bind(account.network.as_str())
    .bind(account.account_id.as_str())
    .bind(account.name.as_str())
    .bind(account.surface.as_str())
    .bind(account.channel.as_str())
    .bind(account.credentials.as_slice())
    .bind(account.connected_by.as_deref())
    .bind(micros(now))
    .fetch_one(conn)
    .await?;
    account_from_row(&row)
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.writer)
            .await?;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn insert_inbox(&self, items: &[NewInbox], now: DateTime<Utc>) -> Result<u64> {
        if items.is_empty() {
            return Ok(0);
        }
        // Served ahead of the workers' writes, committed with them (see `group`).
        let (done, answer) = oneshot::channel();
        self.group
            .inserts
            .send(group::Insert {
                rows: items.to_vec(),
                now,
                done,
            })
            .await
            .map_err(|_| group::gone())?;
        answer.await.map_err(|_| group::gone())?
    }

    async fn claim_inbox(
        &self,
        limit: i64,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<InboxRow>> {
        let rows = self.claim(CLAIM_INBOX, limit, now, lease).await?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                Ok(InboxRow {
                    id: row.try_get("id")?,
                    source: row.try_get("source")?,
                    dedupe_key: row.try_get("dedupe_key")?,
                    payload: row.try_get("payload")?,
                    attempts: row.try_get("attempts")?,
                    received_at: at(row, "received_at")?,
                    lane: row.try_get("lane")?,
                    claim: row.try_get("claim")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        claimed.sort_by_key(|r| r.id);
        Ok(claimed)
    }

    async fn finish_inbox(
        &self,
        claim: Claim,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let note = note.map(str::to_string);
        self.grouped(move |conn| {
            Box::pin(async move {
                let r = sqlx::query(
                    "UPDATE inbox SET processed_at = ?, locked_until = NULL, note = ? \
                     WHERE id = ? AND claim = ? AND processed_at IS NULL",
                )
                .bind(micros(now))
                .bind(note)
                .bind(claim.id)
                .bind(claim.token)
                .execute(&mut *conn)
                .await?;
                Ok(r.rows_affected() == 1)
            })
        })
        .await
    }

    async fn retry_inbox(
        &self,
        claim: Claim,
        error: &str,
        retry_at: DateTime<Utc>,
        count_attempt: bool,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE inbox SET run_at = ?, locked_until = NULL, last_error = ?, \
             attempts = MAX(attempts - ?, 0) WHERE id = ? AND claim = ? AND processed_at IS NULL",
        )
        .bind(micros(retry_at))
        .bind(error)
        .bind(if count_attempt { 0_i32 } else { 1 })
        .bind(claim.id)
        .bind(claim.token)
        .execute(&self.writer)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn count_pending_inbox(&self) -> Result<i64> {
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL")
            .fetch_one(&self.reader)
            .await?;
        Ok(n)
    }

    async fn oldest_pending_inbox(&self) -> Result<Option<DateTime<Utc>>> {
        let m: Option<i64> =
            sqlx::query_scalar("SELECT MIN(received_at) FROM inbox WHERE processed_at IS NULL")
                .fetch_one(&self.reader)
                .await?;
        m.map(codec::from_micros).transpose()
    }

    async fn count_inbox(&self) -> Result<i64> {
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
            .fetch_one(&self.reader)
            .await?;
        Ok(n)
    }

    async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>> {
        sqlx::query("SELECT id, version, state FROM tickets WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(ticket_from_row)
            .transpose()
    }

    async fn ticket_by_conversation(&self, key: &str) -> Result<Option<Ticket>> {
        sqlx::query("SELECT id, version, state FROM tickets WHERE conversation_key = ?")
            .bind(key)
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(ticket_from_row)
            .transpose()
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome> {
        let (done, answer) = oneshot::channel();
        self.group_send(GroupWrite::Commit(Box::new(commit), done))
            .await?;
        answer.await.map_err(|_| group::gone())?
    }

    async fn message(&self, key: &MessageKey) -> Result<Option<Message>> {
        sqlx::query("SELECT * FROM messages WHERE key = ?")
            .bind(key.as_str())
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(message_from_row)
            .transpose()
    }

    async fn first_time(&self, key: &str, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO once_marks (key, at) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(micros(now))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn forget(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM once_marks WHERE key = ?")
            .bind(key)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn is_marked(&self, key: &str) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM once_marks WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.writer)
            .await?;
        Ok(found.is_some())
    }

    async fn reply_by_network_id(
        &self,
        id: &crate::core::NetworkItemId,
    ) -> Result<Option<Message>> {
        sqlx::query(
            "SELECT * FROM messages WHERE network_item_id = ? AND kind = 'reply' \
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.reader)
        .await?
        .as_ref()
        .map(message_from_row)
        .transpose()
    }

    async fn messages(&self, ticket: TicketId) -> Result<Vec<Message>> {
        sqlx::query("SELECT * FROM messages WHERE ticket_id = ? ORDER BY created_at, seq")
            .bind(ticket.0)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(message_from_row)
            .collect()
    }

    async fn history(&self, ticket: TicketId) -> Result<Vec<HistoryEntry>> {
        sqlx::query("SELECT at, actor, detail FROM ticket_history WHERE ticket_id = ? ORDER BY id")
            .bind(ticket.0)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(|row| {
                codec::history_entry(
                    at(row, "at")?,
                    row.try_get("actor")?,
                    row.try_get("detail")?,
                )
            })
            .collect()
    }

    async fn count_tickets(&self) -> Result<i64> {
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
            .fetch_one(&self.reader)
            .await?;
        Ok(n)
    }

    async fn ticket_by_chat(&self, chat: &ChatRef) -> Result<Option<TicketId>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT ticket_id FROM chat_links \
             WHERE surface = ? AND workspace = ? AND channel = ? AND message = ?",
        )
        .bind(chat.surface.as_str())
        .bind(chat.workspace.as_str())
        .bind(chat.channel.as_str())
        .bind(chat.message.as_str())
        .fetch_optional(&self.reader)
        .await?;
        Ok(id.map(TicketId))
    }

    async fn card_of(&self, ticket: TicketId) -> Result<Option<ChatRef>> {
        sqlx::query(
            "SELECT surface, workspace, channel, message FROM chat_links \
             WHERE ticket_id = ? AND role = ? ORDER BY linked_at DESC LIMIT 1",
        )
        .bind(ticket.0)
        .bind(codec::role_str(ChatRole::Card))
        .fetch_optional(&self.reader)
        .await?
        .as_ref()
        .map(chat_from_row)
        .transpose()
    }

    async fn chat_of_message(&self, key: &MessageKey) -> Result<Option<ChatRef>> {
        sqlx::query(
            "SELECT surface, workspace, channel, message FROM chat_links \
             WHERE message_key = ? ORDER BY linked_at DESC LIMIT 1",
        )
        .bind(key.as_str())
        .fetch_optional(&self.reader)
        .await?
        .as_ref()
        .map(chat_from_row)
        .transpose()
    }

    async fn claim_jobs(
        &self,
        limit: i64,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<Job>> {
        let rows = self.claim(CLAIM_JOBS, limit, now, lease).await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for row in &rows {
            match job_from_row(row) {
                Ok(job) => jobs.push(job),
                // An undecodable job would poison every claim once its lease ends: set it
                // aside as failed, visibly, and deliver the rest.
                Err(e) => {
                    let id: i64 = row.try_get("id")?;
                    tracing::error!(job = id, error = %e, "undecodable outbox job marked failed");
                    sqlx::query(
                        "UPDATE outbox SET status = 'failed', last_error = ?, locked_until = NULL \
                         WHERE id = ?",
                    )
                    .bind(e.to_string())
                    .bind(id)
                    .execute(&self.writer)
                    .await?;
                }
            }
        }
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    async fn finish_job(
        &self,
        claim: Claim,
        records: &[JobRecord],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (done, answer) = oneshot::channel();
        self.group_send(GroupWrite::FinishJob {
            claim,
            records: records.to_vec(),
            now,
            done,
        })
        .await?;
        answer.await.map_err(|_| group::gone())?
    }

    async fn retry_job(
        &self,
        claim: Claim,
        retry_at: DateTime<Utc>,
        error: &str,
        count_attempt: bool,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE outbox SET run_at = ?1, locked_until = NULL, \
             last_error = CASE WHEN ?3 = 0 OR last_error IS NULL THEN ?2 ELSE last_error END, \
             attempts = MAX(attempts - ?3, 0) \
             WHERE id = ?4 AND claim = ?5 AND status = 'pending'",
        )
        .bind(micros(retry_at))
        .bind(error)
        .bind(if count_attempt { 0_i32 } else { 1 })
        .bind(claim.id)
        .bind(claim.token)
        .execute(&self.writer)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn fail_job(&self, claim: Claim, error: &str, now: DateTime<Utc>) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE outbox SET status = 'failed', last_error = ?, finished_at = ?, \
             locked_until = NULL WHERE id = ? AND claim = ? AND status = 'pending'",
        )
        .bind(error)
        .bind(micros(now))
        .bind(claim.id)
        .bind(claim.token)
        .execute(&self.writer)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn retry_failed_jobs(&self, ids: Option<&[i64]>, now: DateTime<Utc>) -> Result<u64> {
        if ids.is_some_and(|ids| ids.is_empty()) {
            return Ok(0);
        }
        let only = |qb: &mut QueryBuilder<Sqlite>| {
            if let Some(ids) = ids {
                qb.push(" AND id IN (");
                let mut sep = qb.separated(", ");
                for id in ids {
                    sep.push_bind(*id);
                }
                qb.push(")");
            }
        };
        let mut tx = self.begin_write().await?;
        // A card posted again is no longer "undelivered": no later notice names it.
        let mut forget = QueryBuilder::<Sqlite>::new(
            "DELETE FROM undelivered_cards WHERE ticket_id IN \
             (SELECT ticket_id FROM outbox WHERE status = 'failed'",
        );
        only(&mut forget);
        forget.push(")");
        forget.build().execute(&mut *tx).await?;
        let mut qb = QueryBuilder::<Sqlite>::new(
            "UPDATE outbox SET status = 'pending', attempts = 0, locked_until = NULL, \
             finished_at = NULL, run_at = ",
        );
        qb.push_bind(micros(now))
            .push(", budget_from = ")
            .push_bind(micros(now))
            .push(" WHERE status = 'failed'");
        only(&mut qb);
        let n = qb.build().execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    async fn enqueue_job(
        &self,
        ticket: TicketId,
        lane: &str,
        effect: &Effect,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let id = sqlx::query_scalar(
            "INSERT INTO outbox (ticket_id, lane, effect, status, attempts, run_at, created_at) \
             VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4) RETURNING id",
        )
        .bind(ticket.0)
        .bind(lane)
        .bind(codec::to_json(effect)?)
        .bind(micros(now))
        .fetch_one(&self.writer)
        .await?;
        Ok(id)
    }

    async fn lane_pending(&self, lane: &str) -> Result<bool> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE lane = ? AND status = 'pending'")
                .bind(lane)
                .fetch_one(&self.writer)
                .await?;
        Ok(n > 0)
    }

    async fn gave_up_before(&self, lane: &str, before: i64) -> Result<Option<DateTime<Utc>>> {
        let earliest: Option<i64> = sqlx::query_scalar(GAVE_UP_BEFORE_SQLITE)
            .bind(lane)
            .bind(before)
            .fetch_one(&self.reader)
            .await?;
        earliest.map(codec::from_micros).transpose()
    }

    async fn oldest_due_job(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let m: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(run_at) FROM outbox WHERE status = 'pending' AND run_at <= ?",
        )
        .bind(micros(now))
        .fetch_one(&self.reader)
        .await?;
        m.map(codec::from_micros).transpose()
    }

    async fn any_undelivered_cards(&self) -> Result<bool> {
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM undelivered_cards)")
            .fetch_one(&self.reader)
            .await?;
        Ok(any)
    }

    async fn record_undelivered_card(
        &self,
        ticket: TicketId,
        surface: Surface,
        channel: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO undelivered_cards (ticket_id, surface, channel, failed_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (ticket_id) DO NOTHING",
        )
        .bind(ticket.0)
        .bind(surface.as_str())
        .bind(channel)
        .bind(micros(now))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn requeue_undelivered_cards(
        &self,
        surface: Surface,
        channel: &str,
        posted: TicketId,
        now: DateTime<Utc>,
    ) -> Result<Vec<TicketId>> {
        let mut tx = self.begin_write().await?;
        let taken: Vec<i64> = sqlx::query_scalar(
            "DELETE FROM undelivered_cards WHERE surface = ?1 AND channel = ?2 \
             RETURNING ticket_id",
        )
        .bind(surface.as_str())
        .bind(channel)
        .fetch_all(&mut *tx)
        .await?;
        let lost = super::reposted(taken, posted);
        if lost.is_empty() {
            tx.commit().await?;
            return Ok(lost);
        }
        let notice = Effect::CardsPostedLate {
            tickets: lost.clone(),
        };
        let jobs = lost
            .iter()
            .map(|t| (*t, super::repost_lane(*t), Effect::PostCard))
            .chain(std::iter::once((
                posted,
                super::lane_of(posted, &notice),
                notice.clone(),
            )));
        for (ticket, lane, effect) in jobs {
            sqlx::query(
                "INSERT INTO outbox (ticket_id, lane, effect, status, attempts, run_at, created_at) \
                 VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4)",
            )
            .bind(ticket.0)
            .bind(lane)
            .bind(codec::to_json(&effect)?)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(lost)
    }

    async fn enqueue_job_once(
        &self,
        once: &str,
        ticket: TicketId,
        lane: &str,
        effect: &Effect,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let marked = sqlx::query(
            "INSERT INTO once_marks (key, at) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(once)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if marked {
            sqlx::query(
                "INSERT INTO outbox (ticket_id, lane, effect, status, attempts, run_at, created_at) \
                 VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4)",
            )
            .bind(ticket.0)
            .bind(lane)
            .bind(codec::to_json(effect)?)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(marked)
    }

    async fn connect_account(
        &self,
        account: &super::NewAccount,
        now: DateTime<Utc>,
    ) -> Result<super::ConnectedAccount> {
        let mut conn = self.writer.acquire().await?;
        upsert_account(&mut conn, account, now).await
    }

    async fn connect_accounts_once(
        &self,
        once: &str,
        accounts: &[super::NewAccount],
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<super::ConnectedAccount>>> {
        let mut tx = self.begin_write().await?;
        let marked = sqlx::query(
            "INSERT INTO once_marks (key, at) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(once)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if marked != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let mut connected = Vec::with_capacity(accounts.len());
        for account in accounts {
            connected.push(upsert_account(&mut tx, account, now).await?);
        }
        tx.commit().await?;
        Ok(Some(connected))
    }

    async fn accounts(&self) -> Result<Vec<super::ConnectedAccount>> {
        sqlx::query("SELECT * FROM accounts ORDER BY id")
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(account_from_row)
            .collect()
    }

    async fn account(&self, id: i64) -> Result<Option<super::ConnectedAccount>> {
        sqlx::query("SELECT * FROM accounts WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.writer)
            .await?
            .as_ref()
            .map(account_from_row)
            .transpose()
    }

    async fn account_by_network_id(
        &self,
        network: crate::core::Network,
        account_id: &str,
    ) -> Result<Option<super::ConnectedAccount>> {
        sqlx::query("SELECT * FROM accounts WHERE network = ?1 AND account_id = ?2")
            .bind(network.as_str())
            .bind(account_id)
            .fetch_optional(&self.writer)
            .await?
            .as_ref()
            .map(account_from_row)
            .transpose()
    }

    async fn disconnect_account(&self, id: i64) -> Result<Option<super::ConnectedAccount>> {
        sqlx::query("DELETE FROM accounts WHERE id = ?1 RETURNING *")
            .bind(id)
            .fetch_optional(&self.writer)
            .await?
            .as_ref()
            .map(account_from_row)
            .transpose()
    }

    async fn claim_poll_except(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        skip: &[crate::core::Network],
    ) -> Result<Option<(super::ConnectedAccount, Claim)>> {
        let skip: Vec<&str> = skip.iter().map(|n| n.as_str()).collect();
        let row = sqlx::query(
            "UPDATE accounts SET poll_claim = poll_claim + 1, poll_until = ?1 \
             WHERE id = (SELECT a.id FROM accounts a WHERE a.healthy = 1 \
                         AND a.next_poll_at <= ?2 \
                         AND (a.poll_until IS NULL OR a.poll_until <= ?2) \
                         AND a.network NOT IN (SELECT value FROM json_each(?3)) \
                         ORDER BY a.next_poll_at, a.id LIMIT 1) \
             RETURNING *",
        )
        .bind(lease_end(now, lease)?)
        .bind(micros(now))
        .bind(serde_json::Value::from(skip).to_string())
        .fetch_optional(&self.writer)
        .await?;
        row.map(|row| {
            let account = account_from_row(&row)?;
            let claim = Claim {
                id: account.id,
                token: row.try_get("poll_claim")?,
            };
            Ok((account, claim))
        })
        .transpose()
    }

    async fn finish_poll(
        &self,
        claim: Claim,
        outcome: &super::PollOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        // The lease row first: a stale claim writes nothing (the rows come from the poll
        // that holds the account now).
        let updated = sqlx::query(
            "UPDATE accounts SET cursor = COALESCE(?1, cursor), next_poll_at = ?2, \
             last_error = ?3, poll_until = NULL WHERE id = ?4 AND poll_claim = ?5",
        )
        .bind(outcome.cursor.as_deref())
        .bind(micros(outcome.next_poll_at))
        .bind(outcome.error.as_deref())
        .bind(claim.id)
        .bind(claim.token)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        for item in &outcome.rows {
            sqlx::query(
                "INSERT INTO inbox (source, dedupe_key, payload, received_at, run_at, lane) \
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5) \
                 ON CONFLICT (source, dedupe_key) DO NOTHING",
            )
            .bind(item.source.as_str())
            .bind(item.dedupe_key.as_str())
            .bind(item.payload.as_str())
            .bind(micros(now))
            .bind(item.lane.as_deref())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn claim_refresh(
        &self,
        id: i64,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Claim>> {
        let token: Option<i64> = sqlx::query_scalar(
            "UPDATE accounts SET refresh_claim = refresh_claim + 1, refresh_until = ?1 \
             WHERE id = ?2 AND (refresh_until IS NULL OR refresh_until <= ?3) \
             RETURNING refresh_claim",
        )
        .bind(lease_end(now, lease)?)
        .bind(id)
        .bind(micros(now))
        .fetch_optional(&self.writer)
        .await?;
        Ok(token.map(|token| Claim { id, token }))
    }

    async fn store_refreshed(&self, claim: Claim, credentials: &[u8]) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE accounts SET credentials = ?1, \
             credentials_version = credentials_version + 1, refresh_until = NULL \
             WHERE id = ?2 AND refresh_claim = ?3",
        )
        .bind(credentials)
        .bind(claim.id)
        .bind(claim.token)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn take_account_alerts(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<super::ConnectedAccount>> {
        let mut taken = sqlx::query(
            "UPDATE accounts SET alert_until = ?1 WHERE alert_pending = 1 \
             AND (alert_until IS NULL OR alert_until <= ?2) RETURNING *",
        )
        .bind(micros(until))
        .bind(micros(now))
        .fetch_all(&self.writer)
        .await?
        .iter()
        .map(account_from_row)
        .collect::<Result<Vec<_>>>()?;
        taken.sort_by_key(|a| a.id);
        Ok(taken)
    }

    async fn clear_account_alert(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE accounts SET alert_pending = 0 WHERE id = ?1")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn take_account_notices(
        &self,
        due_by: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<super::ConnectedAccount>> {
        let mut taken = sqlx::query(
            "UPDATE accounts SET notice_due_at = ?1 \
             WHERE notice_due_at <= ?2 AND (surface, channel, network) = \
             (SELECT surface, channel, network FROM accounts WHERE notice_due_at <= ?2 \
              ORDER BY notice_due_at, id LIMIT 1) \
             RETURNING *",
        )
        .bind(micros(until))
        .bind(micros(due_by))
        .fetch_all(&self.writer)
        .await?
        .iter()
        .map(account_from_row)
        .collect::<Result<Vec<_>>>()?;
        taken.sort_by_key(|a| a.id);
        Ok(taken)
    }

    async fn finish_account_notice(
        &self,
        id: i64,
        claim: DateTime<Utc>,
        due_again: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE accounts SET notice_due_at = ?1 WHERE id = ?2 AND notice_due_at = ?3",
        )
        .bind(due_again.map(micros))
        .bind(id)
        .bind(micros(claim))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_account_health(&self, id: i64, unhealthy: Option<&str>) -> Result<bool> {
        let done = match unhealthy {
            Some(reason) => {
                sqlx::query(
                    "UPDATE accounts SET healthy = 0, health_reason = ?1, \
                     alert_pending = 1 WHERE id = ?2 AND healthy = 1",
                )
                .bind(reason)
                .bind(id)
                .execute(&self.writer)
                .await?
            }
            None => {
                sqlx::query(
                    "UPDATE accounts SET healthy = 1, health_reason = NULL, \
                     alert_pending = 0 WHERE id = ?1 AND healthy = 0",
                )
                .bind(id)
                .execute(&self.writer)
                .await?
            }
        };
        Ok(done.rows_affected() == 1)
    }

    async fn note_reply_profile(
        &self,
        surface: crate::core::Surface,
        channel: &str,
        network: crate::core::Network,
        account: &crate::core::AccountId,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO reply_profile_use (surface, channel, network, account, used_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (surface, channel, network) DO UPDATE \
             SET account = excluded.account, used_at = excluded.used_at \
             WHERE excluded.used_at >= reply_profile_use.used_at",
        )
        .bind(surface.as_str())
        .bind(channel)
        .bind(network.as_str())
        .bind(account.as_str())
        .bind(micros(at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn last_reply_profile(
        &self,
        surface: crate::core::Surface,
        channel: &str,
        network: crate::core::Network,
    ) -> Result<Option<crate::core::AccountId>> {
        let account: Option<String> = sqlx::query_scalar(
            "SELECT account FROM reply_profile_use \
             WHERE surface = ?1 AND channel = ?2 AND network = ?3",
        )
        .bind(surface.as_str())
        .bind(channel)
        .bind(network.as_str())
        .fetch_optional(&self.reader)
        .await?;
        Ok(account.map(crate::core::AccountId::new))
    }

    async fn charge_quota(
        &self,
        network: crate::core::Network,
        resets_at: DateTime<Utc>,
        units: i64,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM quota_usage WHERE resets_at < ?1")
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        let total: i64 = sqlx::query_scalar(
            "INSERT INTO quota_usage (network, resets_at, units) VALUES (?1, ?2, ?3) \
             ON CONFLICT (network, resets_at) DO UPDATE SET units = units + excluded.units \
             RETURNING units",
        )
        .bind(network.as_str())
        .bind(micros(resets_at))
        .bind(units)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(total)
    }

    async fn mark_credentials_dead(&self, id: i64, version: i64, reason: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE accounts SET healthy = 0, health_reason = ?1, alert_pending = 1 \
             WHERE id = ?2 AND healthy = 1 AND credentials_version = ?3",
        )
        .bind(reason)
        .bind(id)
        .bind(version)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn count_jobs(&self, status: JobStatus) -> Result<i64> {
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = ?")
            .bind(status.as_str())
            .fetch_one(&self.reader)
            .await?;
        Ok(n)
    }

    async fn failed_jobs(&self, limit: i64) -> Result<Vec<FailedJob>> {
        sqlx::query(
            "SELECT id, ticket_id, effect, attempts, last_error FROM outbox \
             WHERE status = 'failed' ORDER BY id LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|row| {
            codec::failed_job(
                row.try_get("id")?,
                row.try_get("ticket_id")?,
                row.try_get("effect")?,
                row.try_get("attempts")?,
                row.try_get("last_error")?,
            )
        })
        .collect()
    }

    async fn find_tickets(&self, filter: &Filter, limit: i64) -> Result<Vec<Ticket>> {
        codec::find_routed(filter, limit, |limit| async move {
            let mut qb = QueryBuilder::<Sqlite>::new("SELECT id, version, state FROM tickets");
            codec::push_ticket_filter(&mut qb, filter, limit);
            qb.build()
                .fetch_all(&self.reader)
                .await?
                .iter()
                .map(ticket_from_row)
                .collect()
        })
        .await
    }

    async fn team_stats(
        &self,
        period: crate::core::stats::Period,
        scope: &Filter,
        schedule: Option<&crate::core::hours::Schedule>,
    ) -> Result<crate::core::stats::TeamStats> {
        let (from, to) = (micros(period.from), micros(period.to));
        let mut raw = crate::core::stats::StatsRaw::default();
        let mut stats_scope = codec::StatsScope {
            filter: scope,
            ids: None,
        };
        if let (true, Some(route)) = (codec::StatsScope::needs_ids(scope), &scope.route) {
            let mut ids = Vec::new();
            for row in codec::stats_candidates::<Sqlite, _>(scope, from, to)
                .build()
                .fetch_all(&self.reader)
                .await?
            {
                let t = codec::ticket(row.try_get("id")?, 0, row.try_get("state")?)?;
                if route.admits(&t.state) {
                    ids.push(t.id.0);
                }
            }
            stats_scope.ids = Some(ids);
        }
        let optional_at = |row: &SqliteRow, column: &str| -> Result<Option<DateTime<Utc>>> {
            row.try_get::<Option<i64>, _>(column)?
                .map(codec::from_micros)
                .transpose()
        };
        // Three independent statements: run them at once, on separate connections.
        let mut opened = codec::stats_opened::<Sqlite, _>(&stats_scope, from, to)?;
        let mut events = codec::stats_events::<Sqlite, _>(&stats_scope, from, to)?;
        let mut tags =
            codec::stats_tags::<Sqlite, _>(&stats_scope, from, to, codec::TagsFrom::Sqlite);
        let (opened, events, tags) = tokio::try_join!(
            opened.build().fetch_all(&self.reader),
            events.build().fetch_all(&self.reader),
            tags.build().fetch_all(&self.reader),
        )?;
        for row in opened {
            let reply = match (
                optional_at(&row, "reply_at")?,
                row.try_get::<Option<String>, _>("reply_actor")?,
            ) {
                (Some(at), Some(actor)) => Some((at, actor)),
                _ => None,
            };
            raw.opened.push(codec::opened_ticket(
                row.try_get("network")?,
                row.try_get("kind")?,
                at(&row, "opened_at")?,
                reply,
                optional_at(&row, "closed_at")?,
            )?);
        }
        for row in events {
            codec::add_stats_event(
                &mut raw,
                row.try_get("code")?,
                row.try_get("who")?,
                row.try_get("what")?,
                row.try_get("n")?,
                row.try_get("tickets")?,
            )?;
        }
        for row in tags {
            let n: i64 = row.try_get("n")?;
            raw.tags.push((row.try_get("tag")?, n.max(0) as u64));
        }
        Ok(crate::core::stats::summarise(period, raw, schedule))
    }

    async fn saved_replies(&self) -> Result<Vec<SavedReply>> {
        sqlx::query(
            "SELECT id, name, body, updated_by, updated_at FROM saved_replies \
             ORDER BY name_key, id",
        )
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(saved_reply_from_row)
        .collect()
    }

    async fn saved_reply(&self, id: SavedReplyId) -> Result<Option<SavedReply>> {
        sqlx::query("SELECT id, name, body, updated_by, updated_at FROM saved_replies WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(saved_reply_from_row)
            .transpose()
    }

    async fn create_saved_reply(
        &self,
        name: &str,
        body: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<SavedReplyId, NameTaken>> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query_scalar(
            "INSERT INTO saved_replies (name, name_key, body, updated_by, updated_at) \
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(codec::name_key(name))
        .bind(body)
        .bind(by)
        .bind(micros(now))
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok(id) => SavedReplyId(id),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                tx.rollback().await?;
                return Ok(Err(NameTaken));
            }
            Err(e) => return Err(e.into()),
        };
        bump_saved_replies_revision(&mut tx).await?;
        tx.commit().await?;
        Ok(Ok(id))
    }

    async fn update_saved_reply(
        &self,
        id: SavedReplyId,
        name: &str,
        body: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<SavedReplyWrite> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE saved_replies SET name = ?, name_key = ?, body = ?, updated_by = ?, \
             updated_at = ? WHERE id = ?",
        )
        .bind(name)
        .bind(codec::name_key(name))
        .bind(body)
        .bind(by)
        .bind(micros(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await;
        match updated {
            Ok(r) if r.rows_affected() == 1 => {}
            Ok(_) => {
                tx.rollback().await?;
                return Ok(SavedReplyWrite::NotFound);
            }
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                tx.rollback().await?;
                return Ok(SavedReplyWrite::NameTaken);
            }
            Err(e) => return Err(e.into()),
        }
        bump_saved_replies_revision(&mut tx).await?;
        tx.commit().await?;
        Ok(SavedReplyWrite::Done)
    }

    async fn delete_saved_reply(&self, id: SavedReplyId) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM saved_replies WHERE id = ?")
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !deleted {
            tx.rollback().await?;
            return Ok(false);
        }
        bump_saved_replies_revision(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn import_saved_replies(
        &self,
        rows: &[(String, String)],
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<ImportCounts> {
        let rows = codec::merge_import_rows(rows);
        let mut counts = ImportCounts::default();
        if rows.is_empty() {
            return Ok(counts);
        }
        let now = micros(now);
        // The writer is a single connection inside BEGIN IMMEDIATE: nobody else writes between
        // the UPDATE and the INSERT.
        let mut tx = self.begin_write().await?;
        for (name, body) in rows {
            let key = codec::name_key(name);
            let updated = sqlx::query(
                "UPDATE saved_replies SET name = ?, body = ?, updated_by = ?, updated_at = ? \
                 WHERE name_key = ?",
            )
            .bind(name)
            .bind(body)
            .bind(by)
            .bind(now)
            .bind(key.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 1 {
                counts.updated += 1;
                continue;
            }
            sqlx::query(
                "INSERT INTO saved_replies (name, name_key, body, updated_by, updated_at) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(name)
            .bind(key)
            .bind(body)
            .bind(by)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            counts.created += 1;
        }
        bump_saved_replies_revision(&mut tx).await?;
        tx.commit().await?;
        Ok(counts)
    }

    async fn saved_replies_revision(&self) -> Result<i64> {
        let revision =
            sqlx::query_scalar("SELECT revision FROM saved_replies_revision WHERE id = 1")
                .fetch_one(&self.reader)
                .await?;
        Ok(revision)
    }

    async fn known_tags(&self) -> Result<Vec<String>> {
        let tags = sqlx::query_scalar("SELECT tag FROM tag_uses ORDER BY uses DESC, tag")
            .fetch_all(&self.reader)
            .await?;
        Ok(tags)
    }

    async fn record_tagging(&self, tag: &str, tokens: &[String]) -> Result<()> {
        let tokens = codec::distinct_tokens(tokens);
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO tag_uses (tag, uses) VALUES (?, 1) \
             ON CONFLICT (tag) DO UPDATE SET uses = tag_uses.uses + 1",
        )
        .bind(tag)
        .execute(&mut *tx)
        .await?;
        for chunk in tokens.chunks(codec::TOKENS_PER_STATEMENT) {
            let mut qb = QueryBuilder::<Sqlite>::new("INSERT INTO tag_tokens (tag, token, count) ");
            qb.push_values(chunk, |mut row, token| {
                row.push_bind(tag.to_string())
                    .push_bind(token.to_string())
                    .push("1");
            });
            qb.push(" ON CONFLICT (tag, token) DO UPDATE SET count = tag_tokens.count + 1");
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_away(
        &self,
        teammate: &crate::core::Teammate,
        away: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let surface = teammate.surface.as_str();
        let user = teammate.id.as_str();
        if away {
            sqlx::query(
                "INSERT INTO away (surface, user_id, since) VALUES (?, ?, ?) \
                 ON CONFLICT (surface, user_id) DO NOTHING",
            )
            .bind(surface)
            .bind(user)
            .bind(micros(now))
            .execute(&self.writer)
            .await?;
        } else {
            sqlx::query("DELETE FROM away WHERE surface = ? AND user_id = ?")
                .bind(surface)
                .bind(user)
                .execute(&self.writer)
                .await?;
        }
        Ok(())
    }

    async fn is_away(&self, teammate: &crate::core::Teammate) -> Result<bool> {
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM away WHERE surface = ? AND user_id = ?")
                .bind(teammate.surface.as_str())
                .bind(teammate.id.as_str())
                .fetch_optional(&self.reader)
                .await?;
        Ok(found.is_some())
    }

    async fn round_robin_state(
        &self,
        surface: Surface,
        team: &str,
        members: &[crate::core::ChatUserId],
    ) -> Result<super::RoundRobinState> {
        // One read transaction: counts, flags and cursor from the same snapshot.
        let mut tx = self.reader.begin().await?;
        let mut out = Vec::with_capacity(members.len());
        for id in members {
            let assignee = crate::core::Assignee::Person(crate::core::Teammate {
                surface,
                id: id.clone(),
            });
            let open: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM tickets WHERE assignee = ? AND status <> 'closed'",
            )
            .bind(assignee.key())
            .fetch_one(&mut *tx)
            .await?;
            let away: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM away WHERE surface = ? AND user_id = ?")
                    .bind(surface.as_str())
                    .bind(id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            out.push(crate::core::autoassign::Member {
                id: id.clone(),
                open,
                away: away.is_some(),
            });
        }
        let last: Option<String> = sqlx::query_scalar(
            "SELECT last_member FROM round_robin WHERE surface = ? AND team = ?",
        )
        .bind(surface.as_str())
        .bind(team)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(super::RoundRobinState {
            members: out,
            last: last.map(crate::core::ChatUserId::new),
        })
    }

    async fn advance_round_robin(
        &self,
        surface: Surface,
        team: &str,
        expected: Option<&crate::core::ChatUserId>,
        next: &crate::core::ChatUserId,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = match expected {
            None => {
                sqlx::query(
                    "INSERT INTO round_robin (surface, team, last_member, at) \
                     VALUES (?, ?, ?, ?) ON CONFLICT (surface, team) DO NOTHING",
                )
                .bind(surface.as_str())
                .bind(team)
                .bind(next.as_str())
                .bind(micros(now))
                .execute(&self.writer)
                .await?
            }
            Some(expected) => {
                sqlx::query(
                    "UPDATE round_robin SET last_member = ?, at = ? \
                     WHERE surface = ? AND team = ? AND last_member = ?",
                )
                .bind(next.as_str())
                .bind(micros(now))
                .bind(surface.as_str())
                .bind(team)
                .bind(expected.as_str())
                .execute(&self.writer)
                .await?
            }
        };
        Ok(done.rows_affected() == 1)
    }

    async fn tag_model(&self) -> Result<TagModelData> {
        // One read transaction: uses and tokens from the same snapshot.
        let mut tx = self.reader.begin().await?;
        let uses = sqlx::query_as("SELECT tag, uses FROM tag_uses ORDER BY tag")
            .fetch_all(&mut *tx)
            .await?;
        let tokens = sqlx::query_as("SELECT tag, token, count FROM tag_tokens ORDER BY tag, token")
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(TagModelData { uses, tokens })
    }

    async fn archivable(&self, before: DateTime<Utc>, limit: i64) -> Result<Vec<TicketId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM tickets WHERE status = 'closed' AND archived_at IS NULL \
             AND updated_at < ? ORDER BY updated_at, id LIMIT ?",
        )
        .bind(micros(before))
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        Ok(ids.into_iter().map(TicketId).collect())
    }

    async fn purge_archived(&self, before: DateTime<Utc>, limit: i64) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM tickets t WHERE archived_at IS NOT NULL AND archived_at < ? \
             AND status = 'closed' AND NOT EXISTS (SELECT 1 FROM outbox o \
             WHERE o.ticket_id = t.id AND o.status = 'pending') \
             AND id < (SELECT MAX(id) FROM tickets) ORDER BY id LIMIT ?",
        )
        .bind(micros(before))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        for id in &ids {
            for delete in DELETE_TICKET_ROWS {
                sqlx::query(delete).bind(id).execute(&mut *tx).await?;
            }
            sqlx::query("DELETE FROM tickets WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // The once-marks keyed by the ticket's number.
            sqlx::query("DELETE FROM once_marks WHERE key = ? OR key = ?")
                .bind(format!("card-repost:{id}"))
                .bind(format!("discord-forum-post:{id}"))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(ids.len() as u64)
    }

    async fn purge_finished(&self, before: DateTime<Utc>, limit: i64) -> Result<u64> {
        let inbox = sqlx::query(
            "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox \
             WHERE processed_at IS NOT NULL AND processed_at < ? LIMIT ?)",
        )
        .bind(micros(before))
        .bind(limit)
        .execute(&self.writer)
        .await?
        .rows_affected();
        let jobs = sqlx::query(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
             WHERE status = 'done' AND finished_at < ? LIMIT ?)",
        )
        .bind(micros(before))
        .bind(limit)
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(inbox + jobs)
    }

    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool> {
        let taken = sqlx::query(
            "INSERT INTO leases (name, holder, until) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
             WHERE leases.holder = excluded.holder OR leases.until <= ?",
        )
        .bind(name)
        .bind(holder)
        .bind(micros(now + ttl))
        .bind(micros(now))
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(taken == 1)
    }

    async fn customer_tickets(
        &self,
        network: crate::core::Network,
        customer: &crate::core::CustomerId,
    ) -> Result<Vec<TicketId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM tickets WHERE network = ? AND customer_id = ? ORDER BY id",
        )
        .bind(network.as_str())
        .bind(customer.as_str())
        .fetch_all(&self.reader)
        .await?;
        Ok(ids.into_iter().map(TicketId).collect())
    }

    async fn scrub_inbox(&self, needles: &[String]) -> Result<u64> {
        let mut n = 0;
        for needle in needles.iter().filter(|s| !s.is_empty()) {
            n += sqlx::query(
                "UPDATE inbox SET payload = '\"erased\"' \
                 WHERE instr(payload, ?) > 0",
            )
            .bind(needle)
            .execute(&self.writer)
            .await?
            .rows_affected();
        }
        Ok(n)
    }

    async fn scrub_jobs(&self, ticket: TicketId) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE outbox SET effect = '{\"type\":\"update_card\"}' \
             WHERE ticket_id = ? AND instr(effect, '\"type\":\"review_updated\"') > 0",
        )
        .bind(ticket.0)
        .execute(&self.writer)
        .await?
        .rows_affected())
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = ? AND holder = ?")
            .bind(name)
            .bind(holder)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn post_activity(&self, key: &str) -> Result<Option<super::PostActivity>> {
        let Some(row) =
            sqlx::query("SELECT recent, storm_id, version FROM post_activity WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.reader)
                .await?
        else {
            return Ok(None);
        };
        let recent: String = row.try_get("recent")?;
        let recent: Vec<i64> = codec::from_json(&recent, "post activity")?;
        Ok(Some(super::PostActivity {
            activity: crate::core::storm::Activity {
                recent: recent
                    .into_iter()
                    .map(codec::from_micros)
                    .collect::<Result<_>>()?,
                storm: row.try_get("storm_id")?,
            },
            version: row.try_get("version")?,
        }))
    }

    async fn storm(&self, id: i64) -> Result<Option<super::StormRow>> {
        sqlx::query("SELECT * FROM storms WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(storm_from_row)
            .transpose()
    }

    async fn storm_lines(
        &self,
        id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<crate::core::storm::StormLine>> {
        sqlx::query(storm_lines_sql!(
            "WHERE sm.storm_id = ? AND sm.seq > ? ORDER BY sm.seq LIMIT ?"
        ))
        .bind(id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(storm_line_from_row)
        .collect()
    }

    async fn storm_newest(
        &self,
        id: i64,
        limit: i64,
    ) -> Result<Vec<crate::core::storm::StormLine>> {
        let mut lines = sqlx::query(storm_lines_sql!(
            "WHERE sm.storm_id = ? ORDER BY sm.seq DESC LIMIT ?"
        ))
        .bind(id)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(storm_line_from_row)
        .collect::<Result<Vec<_>>>()?;
        lines.reverse();
        Ok(lines)
    }

    async fn storm_of_ticket(&self, ticket: TicketId) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT storm_id FROM storm_members WHERE ticket_id = ? ORDER BY seq DESC LIMIT 1",
        )
        .bind(ticket.0)
        .fetch_optional(&self.reader)
        .await?)
    }

    async fn storm_tally(&self, storm: i64) -> Result<(usize, usize)> {
        let (open, closed): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE t.status <> 'closed'), \
             COUNT(*) FILTER (WHERE t.status = 'closed') FROM tickets t \
             WHERE t.id IN (SELECT ticket_id FROM storm_members WHERE storm_id = ?)",
        )
        .bind(storm)
        .fetch_one(&self.reader)
        .await?;
        Ok((
            usize::try_from(open).unwrap_or_default(),
            usize::try_from(closed).unwrap_or_default(),
        ))
    }

    async fn storm_batches_of_ticket(&self, ticket: TicketId) -> Result<Vec<StormBatch>> {
        sqlx::query(
            "SELECT DISTINCT b.storm_id, b.from_seq, b.upto_seq, b.chat FROM storm_batches b \
             JOIN storm_members m ON m.storm_id = b.storm_id \
             AND m.seq BETWEEN b.from_seq AND b.upto_seq \
             WHERE m.ticket_id = ? ORDER BY b.storm_id, b.from_seq",
        )
        .bind(ticket.0)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(storm_batch_from_row)
        .collect()
    }

    async fn storm_batch(&self, storm: i64, from: i64) -> Result<Option<StormBatch>> {
        sqlx::query(
            "SELECT storm_id, from_seq, upto_seq, chat FROM storm_batches \
             WHERE storm_id = ? AND from_seq = ?",
        )
        .bind(storm)
        .bind(from)
        .fetch_optional(&self.reader)
        .await?
        .as_ref()
        .map(storm_batch_from_row)
        .transpose()
    }

    async fn latest_storm_batch(&self, storm: i64) -> Result<Option<StormBatch>> {
        sqlx::query(
            "SELECT storm_id, from_seq, upto_seq, chat FROM storm_batches \
             WHERE storm_id = ? ORDER BY from_seq DESC LIMIT 1",
        )
        .bind(storm)
        .fetch_optional(&self.reader)
        .await?
        .as_ref()
        .map(storm_batch_from_row)
        .transpose()
    }

    async fn end_quiet_storms(
        &self,
        quiet_before: DateTime<Utc>,
        forget_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>> {
        let now = micros(now);
        let mut tx = self.begin_write().await?;
        let ended: Vec<(i64, i64)> = sqlx::query_as(
            "UPDATE storms SET ended_at = ? WHERE ended_at IS NULL AND last_at < ? \
             RETURNING id, anchor",
        )
        .bind(now)
        .bind(micros(quiet_before))
        .fetch_all(&mut *tx)
        .await?;
        for (id, anchor) in &ended {
            sqlx::query(
                "UPDATE post_activity SET storm_id = NULL, recent = '[]', \
                 version = version + 1, updated_at = ? WHERE storm_id = ?",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            for effect in codec::storm_end_effects(*id) {
                let lane = super::lane_of(TicketId(*anchor), &effect);
                enqueue_coalesced(&mut tx, *anchor, &lane, &effect, now).await?;
            }
        }
        // A storm is forgotten with its thread messages.
        sqlx::query(
            "DELETE FROM storm_batches WHERE storm_id IN (SELECT id FROM storms \
             WHERE ended_at IS NOT NULL AND ended_at < ? \
             AND NOT EXISTS (SELECT 1 FROM storm_members m WHERE m.storm_id = storms.id))",
        )
        .bind(micros(forget_before))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM storms WHERE ended_at IS NOT NULL AND ended_at < ? \
             AND NOT EXISTS (SELECT 1 FROM storm_members m WHERE m.storm_id = storms.id)",
        )
        .bind(micros(forget_before))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM post_activity WHERE storm_id IS NULL AND updated_at < ?")
            .bind(micros(forget_before))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ended.into_iter().map(|(id, _)| id).collect())
    }

    async fn touch_storm(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // The anchor, or (retention purged it) the storm's oldest ticket still there.
        let anchor: Option<i64> = sqlx::query_scalar(
            "SELECT COALESCE((SELECT t.id FROM tickets t WHERE t.id = \
             (SELECT anchor FROM storms WHERE id = ?1)), \
             (SELECT MIN(m.ticket_id) FROM storm_members m WHERE m.storm_id = ?1))",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(a) = anchor {
            sqlx::query("UPDATE storms SET anchor = ? WHERE id = ?")
                .bind(a)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(anchor) = anchor {
            let effect = Effect::StormCard { storm: id };
            let lane = super::storm_card_lane(id);
            enqueue_coalesced(&mut tx, anchor, &lane, &effect, micros(now)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn take_pace(
        &self,
        key: &str,
        gap: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        // Taken when the slot is free (no row, or its time has come); otherwise the row says
        // when it will be. The token tells this call's take from another's at the same instant.
        let token = i64::from_le_bytes(crate::crypto::random_bytes());
        let key = key.to_string();
        let gap = gap.num_microseconds().unwrap_or(i64::MAX / 4);
        let (next, taker): (i64, i64) = self
            .grouped(move |conn| {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "INSERT INTO chat_pacing (key, next_at, taker) VALUES (?1, ?2 + ?3, ?4) \
                         ON CONFLICT (key) DO UPDATE SET \
                         taker = CASE WHEN chat_pacing.next_at <= ?2 THEN ?4 ELSE chat_pacing.taker END, \
                         next_at = CASE WHEN chat_pacing.next_at <= ?2 THEN ?2 + ?3 ELSE chat_pacing.next_at END \
                         RETURNING next_at, taker",
                    )
                    .bind(key)
                    .bind(micros(now))
                    .bind(gap)
                    .bind(token)
                    .fetch_one(&mut *conn)
                    .await?)
                })
            })
            .await?;
        Ok(if taker == token {
            None
        } else {
            Some(codec::from_micros(next)?)
        })
    }

    async fn tickets_since(
        &self,
        since: DateTime<Utc>,
        after: TicketId,
        limit: i64,
    ) -> Result<Vec<Ticket>> {
        sqlx::query(
            "SELECT id, version, state FROM tickets WHERE updated_at >= ? AND id > ? \
             ORDER BY id LIMIT ?",
        )
        .bind(micros(since))
        .bind(after.0)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(ticket_from_row)
        .collect()
    }
}
