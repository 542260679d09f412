//! Postgres backend.
//!
//! - Timestamps are TIMESTAMPTZ (microsecond precision). Every timestamp the store writes,
//!   including those inside the ticket state JSON, is truncated to microseconds first, so a
//!   value read back equals the value written, exactly as on SQLite.
//! - JSON columns are TEXT (same encoding as SQLite; the shared codec lives in
//!   `super::codec`); the ticket's `state` is the source of truth, its plain columns
//!   are copies kept for filtering.
//! - Claims lock their rows with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never receive
//!   the same row and do not wait on each other.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions, PgRow, Postgres};
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

/// Pool size: workers, HTTP handlers and pollers share it.
const MAX_CONNECTIONS: u32 = 10;
/// Connections kept for webhook inserts alone, one per inbox batch in flight
/// (`Store::parallel_inserts`), so an acknowledgement never queues behind the workers for a
/// connection. Measured (docs/benchmarks.md): 1 batch at a time ~1,500–2,000 events/s, 2 →
/// 2,190/s, 4 → 3,509/s, 8 → 3,198/s with a shorter tail.
const INGEST_CONNECTIONS: u32 = 4;
/// Connections kept for the workers' claims (inbox and outbox), planned with the ordered
/// index walk forced (see `CLAIM_SETTINGS`).
const CLAIM_CONNECTIONS: u32 = 2;

/// `claim_inbox` and `claim_jobs` look first at this many oldest pending rows per row asked
/// for.
const CLAIM_WINDOW: i64 = 8;

/// Claim up to `$3` inbox rows among the `$4` oldest pending ones not in flight. The window
/// is an ordered walk of the pending index that stops early (on the claim connections, see
/// `CLAIM_SETTINGS`), where a search of the whole queue reads (and checks the lane of) every
/// pending row before sorting: 15 ms against 2 ms with 8,800 pending, measured. Rows in flight are left out of the window: the worker's own
/// claims sit at the head of the queue, and counting them left a window of nothing to claim.
/// Every row also carries `window_rows`, how many rows the window held (one row of NULLs
/// carries it when nothing was claimed): a window that was not full saw the whole queue.
/// `id <= MAX(c.id)` bounds the walk: ordered by id without a sort, the join may walk the
/// pending index and would go on past the window when the window holds fewer claimable rows
/// than asked for (rows waiting for a retry, or behind their lane).
#[doc(hidden)]
pub const CLAIM_INBOX_WINDOW: &str = "WITH c AS MATERIALIZED (SELECT id FROM inbox \
         WHERE processed_at IS NULL AND (locked_until IS NULL OR locked_until <= $2) \
         ORDER BY id LIMIT $4), \
     u AS (UPDATE inbox SET attempts = attempts + 1, claim = claim + 1, \
     locked_until = $1 WHERE id IN (SELECT i.id \
         FROM c JOIN inbox i ON i.id = c.id \
         WHERE i.processed_at IS NULL AND i.run_at <= $2 \
           AND i.id <= (SELECT MAX(id) FROM c) \
           AND (i.locked_until IS NULL OR i.locked_until <= $2) \
           AND (i.lane IS NULL OR NOT EXISTS (SELECT 1 FROM inbox p \
                WHERE p.lane = i.lane AND p.processed_at IS NULL AND p.id < i.id)) \
         ORDER BY i.id LIMIT $3 FOR UPDATE OF i SKIP LOCKED) \
     RETURNING id, source, dedupe_key, payload, attempts, received_at, lane, claim) \
     SELECT w.window_rows, u.* FROM (SELECT COUNT(*) AS window_rows FROM c) w LEFT JOIN u ON TRUE";

/// Claim up to `$3` inbox rows anywhere in the queue (`$4` unused).
const CLAIM_INBOX_ALL: &str = "UPDATE inbox SET attempts = attempts + 1, claim = claim + 1, \
     locked_until = $1 WHERE id IN (SELECT i.id FROM inbox i \
         WHERE i.processed_at IS NULL AND i.run_at <= $2 \
           AND (i.locked_until IS NULL OR i.locked_until <= $2) \
           AND (i.lane IS NULL OR NOT EXISTS (SELECT 1 FROM inbox p \
                WHERE p.lane = i.lane AND p.processed_at IS NULL AND p.id < i.id)) \
           AND $4::bigint IS NOT NULL \
         ORDER BY i.id LIMIT $3 FOR UPDATE OF i SKIP LOCKED) \
     RETURNING id, source, dedupe_key, payload, attempts, received_at, lane, claim";

/// Claim up to `$3` outbox jobs among the `$4` oldest pending ones not in flight, with
/// `window_rows` (see `CLAIM_INBOX_WINDOW`). `OFFSET 0` keeps the lane check a lookup per
/// candidate: flattened into an anti-join, with statistics that saw nothing pending, it read
/// every pending job once per candidate (1.7 ms each with 5,000 pending, measured).
#[doc(hidden)]
pub const CLAIM_JOBS_WINDOW: &str = "WITH c AS MATERIALIZED (SELECT id FROM outbox \
         WHERE status = 'pending' AND (locked_until IS NULL OR locked_until <= $2) \
         ORDER BY id LIMIT $4), \
     u AS (UPDATE outbox SET attempts = attempts + 1, claim = claim + 1, \
     locked_until = $1, budget_from = COALESCE(budget_from, $2) WHERE id IN (SELECT o.id \
         FROM c JOIN outbox o ON o.id = c.id \
         WHERE o.status = 'pending' AND o.run_at <= $2 \
           AND o.id <= (SELECT MAX(id) FROM c) \
           AND (o.locked_until IS NULL OR o.locked_until <= $2) \
           AND NOT EXISTS (SELECT 1 FROM outbox p \
                           WHERE p.lane = o.lane AND p.status = 'pending' AND p.id < o.id \
                           OFFSET 0) \
         ORDER BY o.id LIMIT $3 FOR UPDATE OF o SKIP LOCKED) \
     RETURNING id, ticket_id, lane, effect, attempts, created_at, budget_from, claim, last_error) \
     SELECT w.window_rows, u.* FROM (SELECT COUNT(*) AS window_rows FROM c) w LEFT JOIN u ON TRUE";

/// Claim up to `$3` outbox jobs anywhere in the queue (`$4` unused).
const CLAIM_JOBS_ALL: &str = "UPDATE outbox SET attempts = attempts + 1, claim = claim + 1, \
     locked_until = $1, budget_from = COALESCE(budget_from, $2) WHERE id IN (SELECT o.id \
         FROM outbox o \
         WHERE o.status = 'pending' AND o.run_at <= $2 \
           AND (o.locked_until IS NULL OR o.locked_until <= $2) \
           AND NOT EXISTS (SELECT 1 FROM outbox p \
                           WHERE p.lane = o.lane AND p.status = 'pending' AND p.id < o.id \
                           OFFSET 0) \
           AND $4::bigint IS NOT NULL \
         ORDER BY o.id LIMIT $3 FOR UPDATE OF o SKIP LOCKED) \
     RETURNING id, ticket_id, lane, effect, attempts, created_at, budget_from, claim, last_error";

/// The two statements of a claim: the window over the oldest pending rows, then the whole
/// queue.
struct ClaimSql {
    window: &'static str,
    all: &'static str,
    queue: &'static str,
}

const CLAIM_INBOX: ClaimSql = ClaimSql {
    window: CLAIM_INBOX_WINDOW,
    all: CLAIM_INBOX_ALL,
    queue: "inbox",
};

const CLAIM_JOBS: ClaimSql = ClaimSql {
    window: CLAIM_JOBS_WINDOW,
    all: CLAIM_JOBS_ALL,
    queue: "outbox",
};

/// Claim up to `limit` rows: the oldest pending rows first, cheap however long the backlog.
/// Only when they cannot fill the claim (waiting for a retry, behind their lane) and there is
/// more queue beyond them (the window was full) is the whole queue searched, so nothing
/// beyond them waits for them. The first statement's rows are claimed (committed) already:
/// if the second fails they are still returned, not left locked for a lease.
async fn claim_rows(
    pool: &PgPool,
    sql: &ClaimSql,
    limit: i64,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<Vec<PgRow>> {
    let until = codec::add_lease(now, lease)?;
    let run = |statement: &'static str, limit: i64| {
        // Prepared once per connection, one generic plan (`CLAIM_SETTINGS`).
        sqlx::query(statement)
            .bind(until)
            .bind(t(now))
            .bind(limit)
            .bind(limit.saturating_mul(CLAIM_WINDOW))
            .fetch_all(pool)
    };
    let window = limit.saturating_mul(CLAIM_WINDOW);
    let window_rows = run(sql.window, limit).await?;
    let seen: i64 = match window_rows.first() {
        Some(row) => row.try_get("window_rows")?,
        None => 0,
    };
    // The placeholder row of a claim that took nothing. (An id that cannot be read cannot
    // happen with a BIGINT column; if it did, the claim fails loudly.)
    let mut rows = Vec::with_capacity(window_rows.len());
    for row in window_rows {
        if row.try_get::<Option<i64>, _>("id")?.is_some() {
            rows.push(row);
        }
    }
    if (rows.len() as i64) < limit && seen >= window {
        match run(sql.all, limit - rows.len() as i64).await {
            Ok(more) => rows.extend(more),
            Err(e) if !rows.is_empty() => {
                tracing::warn!(queue = sql.queue, error = %e, "claim beyond the oldest rows failed");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(rows)
}

pub struct PgStore {
    pool: PgPool,
    /// `Store::insert_inbox` only.
    ingest: PgPool,
    /// `claim_inbox` and `claim_jobs` only (`CLAIM_SETTINGS`).
    claims: PgPool,
}

/// The claim connections' planner settings. A claim wants the oldest pending rows: an
/// ordered walk of the pending index that stops after a few rows. Queue tables' statistics
/// lag their bursts (analysed when everything was processed, or never), so the planner,
/// expecting a handful of pending rows, chose a bitmap scan of *every* pending row and a sort:
/// 2.2 ms per claim with ~8,000 pending, the workers' most expensive statement (measured with
/// `pg_stat_statements`, docs/benchmarks.md). With bitmap and sequential scans and sorts
/// priced out, the planner is steered to ordered index walks however stale the statistics, so
/// one generic plan serves every claim: planning each claim cost more than running it
/// (~1 ms against ~0.4 ms). (`enable_*` are cost penalties, not bans: the claim statements are
/// written so that the walks are bounded, see `CLAIM_INBOX_WINDOW`.) Set after connecting
/// rather than as startup options, which connection poolers such as PgBouncer refuse or drop.
#[doc(hidden)]
pub const CLAIM_SETTINGS: &str = "SET enable_bitmapscan = off; SET enable_seqscan = off; \
     SET enable_sort = off; SET plan_cache_mode = force_generic_plan";

impl PgStore {
    /// Connect to the database `url` names (`postgres://…`). Does not migrate.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect(url)
            .await?;
        let ingest = PgPoolOptions::new()
            .max_connections(INGEST_CONNECTIONS)
            .connect(url)
            .await?;
        let claims = PgPoolOptions::new()
            .max_connections(CLAIM_CONNECTIONS)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::raw_sql(CLAIM_SETTINGS).execute(conn).await?;
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        Ok(Self {
            pool,
            ingest,
            claims,
        })
    }

    /// The underlying pool (tests, admin commands).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn t(v: DateTime<Utc>) -> DateTime<Utc> {
    codec::trunc(v)
}

/// Deleting one ticket's rows (`ticket_id`), before the ticket itself.
const DELETE_TICKET_ROWS: [&str; 6] = [
    "DELETE FROM storm_members WHERE ticket_id = $1",
    "DELETE FROM messages WHERE ticket_id = $1",
    "DELETE FROM ticket_history WHERE ticket_id = $1",
    "DELETE FROM chat_links WHERE ticket_id = $1",
    "DELETE FROM undelivered_cards WHERE ticket_id = $1",
    "DELETE FROM outbox WHERE ticket_id = $1",
];

fn ticket_from_row(row: &PgRow) -> Result<Ticket> {
    codec::ticket(
        row.try_get("id")?,
        row.try_get("version")?,
        row.try_get("state")?,
    )
}

fn message_from_row(row: &PgRow) -> Result<Message> {
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
        created_at: row.try_get("created_at")?,
    }
    .into_message()
}

fn job_from_row(row: &PgRow) -> Result<Job> {
    let created_at: DateTime<Utc> = row.try_get("created_at")?;
    let budget_from: Option<DateTime<Utc>> = row.try_get("budget_from")?;
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
        budget_from.unwrap_or(created_at),
    )
}

fn chat_from_row(row: &PgRow) -> Result<ChatRef> {
    codec::chat_ref(
        row.try_get("surface")?,
        row.try_get("workspace")?,
        row.try_get("channel")?,
        row.try_get("message")?,
    )
}

/// Everything a commit writes after the ticket row, on the open transaction.
async fn write_decision(
    conn: &mut PgConnection,
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
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, FALSE, $9) \
                     ON CONFLICT (key) DO NOTHING",
                )
                .bind(m.key.as_str())
                .bind(ticket.0)
                .bind(m.kind.as_str())
                .bind(m.network_item_id.as_ref().map(|i| i.as_str()))
                .bind(codec::opt_json(&m.teammate)?)
                .bind(codec::opt_json(&m.chat)?)
                .bind(m.text.as_str())
                .bind(codec::opt_json(&m.delivery)?)
                .bind(t(m.created_at))
                .execute(&mut *conn)
                .await?;
            }
            MessageChange::Update { key, patch } => {
                sqlx::query(
                    "UPDATE messages SET text = COALESCE($1, text), edited = COALESCE($2, edited), \
                     deleted = COALESCE($3, deleted), delivery = COALESCE($4, delivery), \
                     network_item_id = COALESCE($5, network_item_id) \
                     WHERE key = $6 AND ticket_id = $7",
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
            "INSERT INTO ticket_history (ticket_id, at, actor, code, detail) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(ticket.0)
        .bind(t(entry.at))
        .bind(codec::to_json(&entry.actor)?)
        .bind(entry.what.code())
        .bind(codec::to_json(&entry.what)?)
        .execute(&mut *conn)
        .await?;
    }
    for effect in &decision.effects {
        sqlx::query(
            "INSERT INTO outbox (ticket_id, lane, effect, status, attempts, run_at, created_at) \
             VALUES ($1, $2, $3, 'pending', 0, $4, $5)",
        )
        .bind(ticket.0)
        .bind(super::lane_of(ticket, effect))
        .bind(codec::to_json(effect)?)
        .bind(t(super::run_at_of(effect, now)))
        .bind(t(now))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Queue `effect` in `lane` for `ticket` unless a job of that lane is waiting unclaimed (it will
/// see the latest state when it runs): storm cards and batches coalesce.
async fn enqueue_coalesced(
    conn: &mut PgConnection,
    ticket: i64,
    lane: &str,
    effect: &Effect,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (ticket_id, lane, effect, status, attempts, run_at, created_at) \
         SELECT $1, $2, $3, 'pending', 0, $4, $4 WHERE NOT EXISTS (SELECT 1 FROM outbox \
         WHERE lane = $2 AND status = 'pending' AND (locked_until IS NULL OR locked_until <= $4))",
    )
    .bind(ticket)
    .bind(lane)
    .bind(codec::to_json(effect)?)
    .bind(t(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A commit's storm write, on the open transaction. False when the post's activity changed
/// since it was read (the commit is then a conflict).
async fn write_storm(
    conn: &mut PgConnection,
    ticket: TicketId,
    w: &super::StormWrite,
    now: DateTime<Utc>,
) -> Result<bool> {
    let now = t(now);
    let recent = codec::to_json(
        &w.recent
            .iter()
            .map(|at| t(*at).timestamp_micros())
            .collect::<Vec<_>>(),
    )?;
    let storm = match &w.join {
        super::StormJoin::No => None,
        super::StormJoin::Existing(id) => {
            let fed = sqlx::query(
                "UPDATE storms SET last_at = $1, count = count + 1 \
                 WHERE id = $2 AND ended_at IS NULL",
            )
            .bind(now)
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
                 VALUES ($1, $2, $3, $4, $4, 1, $5) RETURNING id",
            )
            .bind(&new.post_key)
            .bind(&new.channel)
            .bind(ticket.0)
            .bind(now)
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
                 VALUES ($1, $2, $3, 1, $4) ON CONFLICT (key) DO NOTHING",
            )
            .bind(&w.key)
            .bind(&recent)
            .bind(storm)
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
            Some(v) => sqlx::query(
                "UPDATE post_activity SET recent = $1, storm_id = $2, version = version + 1, \
                 updated_at = $3 WHERE key = $4 AND version = $5",
            )
            .bind(&recent)
            .bind(storm)
            .bind(now)
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
            "INSERT INTO storm_members (storm_id, ticket_id, message_key, at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(ticket.0)
        .bind(key.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
        let anchor: i64 = sqlx::query_scalar("SELECT anchor FROM storms WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        for effect in codec::storm_end_effects(id) {
            let lane = super::lane_of(TicketId(anchor), &effect);
            enqueue_coalesced(conn, anchor, &lane, &effect, now).await?;
        }
    }
    Ok(true)
}

fn storm_line_from_row(row: &PgRow) -> Result<crate::core::storm::StormLine> {
    codec::storm_line(
        row.try_get("seq")?,
        row.try_get("ticket_id")?,
        row.try_get("at")?,
        row.try_get("text")?,
        row.try_get("deleted")?,
        row.try_get("state")?,
    )
}

fn storm_batch_from_row(row: &PgRow) -> Result<StormBatch> {
    let chat: String = row.try_get("chat")?;
    Ok(StormBatch {
        storm: row.try_get("storm_id")?,
        from: row.try_get("from_seq")?,
        upto: row.try_get("upto_seq")?,
        chat: codec::from_json(&chat, "storm batch")?,
    })
}

fn storm_from_row(row: &PgRow) -> Result<super::StormRow> {
    let card: Option<String> = row.try_get("card")?;
    let post: String = row.try_get("post")?;
    Ok(super::StormRow {
        id: row.try_get("id")?,
        post_key: row.try_get("post_key")?,
        channel: row.try_get("channel")?,
        anchor: TicketId(row.try_get("anchor")?),
        started_at: row.try_get("started_at")?,
        last_at: row.try_get("last_at")?,
        ended_at: row.try_get("ended_at")?,
        count: row.try_get("count")?,
        card: card
            .map(|c| codec::from_json(&c, "storm card"))
            .transpose()?,
        posted_upto: row.try_get("posted_upto")?,
        post: codec::from_json(&post, "storm post")?,
    })
}

fn saved_reply_from_row(row: &PgRow) -> Result<SavedReply> {
    Ok(SavedReply {
        id: SavedReplyId(row.try_get("id")?),
        name: row.try_get("name")?,
        body: row.try_get("body")?,
        updated_by: row.try_get("updated_by")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// First statement of every transaction that changes saved replies: bumps the revision and
/// holds its row lock until commit, so saved-reply writers run one at a time.
async fn bump_saved_replies_revision(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("UPDATE saved_replies_revision SET revision = revision + 1 WHERE id = 1")
        .execute(conn)
        .await?;
    Ok(())
}

fn account_from_row(row: &PgRow) -> Result<super::ConnectedAccount> {
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
        connected_at: row.try_get("connected_at")?,
        cursor: row.try_get("cursor")?,
        next_poll_at: row.try_get("next_poll_at")?,
        last_error: row.try_get("last_error")?,
        notice_due: row.try_get("notice_due_at")?,
    })
}

/// Connect or reconnect one account (see [`Store::connect_account`]), inside the caller's
/// transaction or on its own.
async fn upsert_account(
    conn: &mut PgConnection,
    account: &super::NewAccount,
    now: DateTime<Utc>,
) -> Result<super::ConnectedAccount> {
    let row = sqlx::query(
        "INSERT INTO accounts (network, account_id, display_name, surface, channel, \
         credentials, connected_by, connected_at, next_poll_at, notice_due_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8) \
         ON CONFLICT (network, account_id) DO UPDATE SET \
         display_name = excluded.display_name, surface = excluded.surface, \
         channel = excluded.channel, credentials = excluded.credentials, \
         credentials_version = accounts.credentials_version + 1, healthy = TRUE, \
         health_reason = NULL, alert_pending = FALSE, connected_by = excluded.connected_by, \
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
    .bind(t(now))
    .fetch_one(conn)
    .await?;
    account_from_row(&row)
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn parallel_inserts(&self) -> usize {
        INGEST_CONNECTIONS as usize
    }

    async fn insert_inbox(&self, items: &[NewInbox], now: DateTime<Utc>) -> Result<u64> {
        if items.is_empty() {
            return Ok(0);
        }
        // One statement (one round trip) for the whole batch, rows in the batch's order (ids,
        // and so the order events of one lane are applied in, follow it).
        let column = |f: fn(&NewInbox) -> Option<&str>| -> Vec<Option<&str>> {
            items.iter().map(f).collect()
        };
        let inserted = sqlx::query(
            "INSERT INTO inbox (source, dedupe_key, payload, received_at, run_at, lane) \
             SELECT r.source, r.dedupe_key, r.payload, $4, $4, r.lane \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $5::text[]) WITH ORDINALITY \
                  AS r(source, dedupe_key, payload, lane, n) \
             ORDER BY r.n ON CONFLICT (source, dedupe_key) DO NOTHING",
        )
        .bind(column(|i| Some(i.source.as_str())))
        .bind(column(|i| Some(i.dedupe_key.as_str())))
        .bind(column(|i| Some(i.payload.as_str())))
        .bind(t(now))
        .bind(column(|i| i.lane.as_deref()))
        .execute(&self.ingest)
        .await?
        .rows_affected();
        Ok(inserted)
    }

    async fn claim_inbox(
        &self,
        limit: i64,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<InboxRow>> {
        let rows = claim_rows(&self.claims, &CLAIM_INBOX, limit, now, lease).await?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                Ok(InboxRow {
                    id: row.try_get("id")?,
                    source: row.try_get("source")?,
                    dedupe_key: row.try_get("dedupe_key")?,
                    payload: row.try_get("payload")?,
                    attempts: row.try_get("attempts")?,
                    received_at: row.try_get("received_at")?,
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
        let r = sqlx::query(
            "UPDATE inbox SET processed_at = $1, locked_until = NULL, note = $2 \
             WHERE id = $3 AND claim = $4 AND processed_at IS NULL",
        )
        .bind(t(now))
        .bind(note)
        .bind(claim.id)
        .bind(claim.token)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn retry_inbox(
        &self,
        claim: Claim,
        error: &str,
        retry_at: DateTime<Utc>,
        count_attempt: bool,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE inbox SET run_at = $1, locked_until = NULL, last_error = $2, \
             attempts = GREATEST(attempts - $3, 0) \
             WHERE id = $4 AND claim = $5 AND processed_at IS NULL",
        )
        .bind(t(retry_at))
        .bind(error)
        .bind(if count_attempt { 0_i32 } else { 1 })
        .bind(claim.id)
        .bind(claim.token)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn count_pending_inbox(&self) -> Result<i64> {
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    async fn oldest_pending_inbox(&self) -> Result<Option<DateTime<Utc>>> {
        let m: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT MIN(received_at) FROM inbox WHERE processed_at IS NULL")
                .fetch_one(&self.pool)
                .await?;
        Ok(m)
    }

    async fn count_inbox(&self) -> Result<i64> {
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>> {
        sqlx::query("SELECT id, version, state FROM tickets WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(ticket_from_row)
            .transpose()
    }

    async fn ticket_by_conversation(&self, key: &str) -> Result<Option<Ticket>> {
        sqlx::query("SELECT id, version, state FROM tickets WHERE conversation_key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(ticket_from_row)
            .transpose()
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome> {
        let Commit {
            target,
            decision,
            consumes,
            now,
            storm,
        } = commit;
        let state = codec::normalize_state(decision.state.clone());
        let cols = codec::TicketColumns::new(&state)?;
        let mut tx = self.pool.begin().await?;
        let (ticket, version) = match target {
            Target::New => {
                let inserted = sqlx::query(
                    "INSERT INTO tickets (version, network, account, conversation_key, status, \
                     assignee, kind, customer_id, created_at, updated_at, state, archived_at) \
                     VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                )
                .bind(cols.network)
                .bind(cols.account)
                .bind(cols.conversation_key)
                .bind(cols.status)
                .bind(cols.assignee.as_deref())
                .bind(cols.kind)
                .bind(cols.customer_id)
                .bind(state.created_at)
                .bind(state.updated_at)
                .bind(cols.state.as_str())
                .bind(state.archived.map(|a| a.at))
                .fetch_one(&mut *tx)
                .await;
                match inserted {
                    Ok(row) => (TicketId(row.try_get(0)?), 1),
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        tx.rollback().await?;
                        return Ok(CommitOutcome::Conflict);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Target::Existing { id, version } => {
                let updated = sqlx::query(
                    "UPDATE tickets SET version = version + 1, network = $1, account = $2, \
                     conversation_key = $3, status = $4, assignee = $5, kind = $6, \
                     customer_id = $7, created_at = $8, updated_at = $9, state = $10, \
                     archived_at = $11 WHERE id = $12 AND version = $13",
                )
                .bind(cols.network)
                .bind(cols.account)
                .bind(cols.conversation_key)
                .bind(cols.status)
                .bind(cols.assignee.as_deref())
                .bind(cols.kind)
                .bind(cols.customer_id)
                .bind(state.created_at)
                .bind(state.updated_at)
                .bind(cols.state.as_str())
                .bind(state.archived.map(|a| a.at))
                .bind(id.0)
                .bind(version)
                .execute(&mut *tx)
                .await;
                match updated {
                    Ok(r) if r.rows_affected() == 1 => (id, version + 1),
                    Ok(_) => {
                        tx.rollback().await?;
                        return Ok(CommitOutcome::Conflict);
                    }
                    // Another ticket already has the new conversation key.
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        tx.rollback().await?;
                        return Ok(CommitOutcome::Conflict);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        write_decision(&mut tx, ticket, &decision, now).await?;
        if let Some(w) = &storm
            && !write_storm(&mut tx, ticket, w, now).await?
        {
            tx.rollback().await?;
            return Ok(CommitOutcome::Conflict);
        }
        let consumed = match consumes {
            Consumes::Nothing => true,
            Consumes::Inbox(claim) => {
                sqlx::query(
                    "UPDATE inbox SET processed_at = $1, locked_until = NULL \
                     WHERE id = $2 AND claim = $3 AND processed_at IS NULL",
                )
                .bind(t(now))
                .bind(claim.id)
                .bind(claim.token)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1
            }
            Consumes::Job(claim) => {
                sqlx::query(
                    "UPDATE outbox SET status = 'done', finished_at = $1, locked_until = NULL \
                     WHERE id = $2 AND claim = $3 AND status = 'pending'",
                )
                .bind(t(now))
                .bind(claim.id)
                .bind(claim.token)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1
            }
        };
        if !consumed {
            tx.rollback().await?;
            return Ok(CommitOutcome::AlreadyConsumed);
        }
        tx.commit().await?;
        Ok(CommitOutcome::Committed { ticket, version })
    }

    async fn message(&self, key: &MessageKey) -> Result<Option<Message>> {
        sqlx::query("SELECT * FROM messages WHERE key = $1")
            .bind(key.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(message_from_row)
            .transpose()
    }

    async fn first_time(&self, key: &str, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO once_marks (key, at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(t(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn forget(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM once_marks WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn is_marked(&self, key: &str) -> Result<bool> {
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM once_marks WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    async fn reply_by_network_id(
        &self,
        id: &crate::core::NetworkItemId,
    ) -> Result<Option<Message>> {
        sqlx::query(
            "SELECT * FROM messages WHERE network_item_id = $1 AND kind = 'reply' \
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(message_from_row)
        .transpose()
    }

    async fn messages(&self, ticket: TicketId) -> Result<Vec<Message>> {
        sqlx::query("SELECT * FROM messages WHERE ticket_id = $1 ORDER BY created_at, seq")
            .bind(ticket.0)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(message_from_row)
            .collect()
    }

    async fn history(&self, ticket: TicketId) -> Result<Vec<HistoryEntry>> {
        sqlx::query("SELECT at, actor, detail FROM ticket_history WHERE ticket_id = $1 ORDER BY id")
            .bind(ticket.0)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                codec::history_entry(
                    row.try_get("at")?,
                    row.try_get("actor")?,
                    row.try_get("detail")?,
                )
            })
            .collect()
    }

    async fn count_tickets(&self) -> Result<i64> {
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    async fn ticket_by_chat(&self, chat: &ChatRef) -> Result<Option<TicketId>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT ticket_id FROM chat_links \
             WHERE surface = $1 AND workspace = $2 AND channel = $3 AND message = $4",
        )
        .bind(chat.surface.as_str())
        .bind(chat.workspace.as_str())
        .bind(chat.channel.as_str())
        .bind(chat.message.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(id.map(TicketId))
    }

    async fn card_of(&self, ticket: TicketId) -> Result<Option<ChatRef>> {
        sqlx::query(
            "SELECT surface, workspace, channel, message FROM chat_links \
             WHERE ticket_id = $1 AND role = $2 ORDER BY linked_at DESC LIMIT 1",
        )
        .bind(ticket.0)
        .bind(codec::role_str(ChatRole::Card))
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(chat_from_row)
        .transpose()
    }

    async fn chat_of_message(&self, key: &MessageKey) -> Result<Option<ChatRef>> {
        sqlx::query(
            "SELECT surface, workspace, channel, message FROM chat_links \
             WHERE message_key = $1 ORDER BY linked_at DESC LIMIT 1",
        )
        .bind(key.as_str())
        .fetch_optional(&self.pool)
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
        let rows = claim_rows(&self.claims, &CLAIM_JOBS, limit, now, lease).await?;
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
                        "UPDATE outbox SET status = 'failed', last_error = $1, locked_until = NULL \
                         WHERE id = $2",
                    )
                    .bind(e.to_string())
                    .bind(id)
                    .execute(&self.pool)
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
        let now = t(now);
        let mut tx = self.pool.begin().await?;
        let ticket: Option<i64> = sqlx::query_scalar(
            "UPDATE outbox SET status = 'done', finished_at = $1, locked_until = NULL \
             WHERE id = $2 AND claim = $3 AND status = 'pending' RETURNING ticket_id",
        )
        .bind(now)
        .bind(claim.id)
        .bind(claim.token)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(ticket) = ticket else {
            tx.rollback().await?;
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
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                    )
                    .bind(chat.surface.as_str())
                    .bind(chat.workspace.as_str())
                    .bind(chat.channel.as_str())
                    .bind(chat.message.as_str())
                    .bind(ticket)
                    .bind(codec::role_str(*role))
                    .bind(message.as_ref().map(|k| k.as_str()))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                JobRecord::StormCard { storm, chat } => {
                    sqlx::query("UPDATE storms SET card = $1 WHERE id = $2 AND card IS NULL")
                        .bind(codec::to_json(chat)?)
                        .bind(storm)
                        .execute(&mut *tx)
                        .await?;
                }
                JobRecord::StormPosted { storm, upto, batch } => {
                    sqlx::query(
                        "UPDATE storms SET posted_upto = GREATEST(posted_upto, $1) WHERE id = $2",
                    )
                    .bind(upto)
                    .bind(storm)
                    .execute(&mut *tx)
                    .await?;
                    if let Some(b) = batch {
                        sqlx::query(
                            "INSERT INTO storm_batches (storm_id, from_seq, upto_seq, chat) \
                             VALUES ($1, $2, $3, $4) ON CONFLICT (storm_id, from_seq) DO NOTHING",
                        )
                        .bind(storm)
                        .bind(b.from)
                        .bind(upto)
                        .bind(codec::to_json(&b.chat)?)
                        .execute(&mut *tx)
                        .await?;
                        // Lines read before an erasure, posted (or found posted) after it: the
                        // erasure saw no batch to edit, so this record queues the edit (also,
                        // in vain but harmlessly, for lines read after it). A concurrent
                        // erasure's `touch_storm` waits for this transaction's storm row lock.
                        let effect = Effect::StormBatchEdit {
                            storm: *storm,
                            from: b.from,
                        };
                        sqlx::query(
                            "INSERT INTO outbox (ticket_id, lane, effect, status, attempts, \
                             run_at, created_at) SELECT $1, $2, $3, 'pending', 0, $4, $4 \
                             WHERE EXISTS (SELECT 1 FROM storm_members m \
                             JOIN ticket_history h ON h.ticket_id = m.ticket_id \
                             WHERE m.storm_id = $5 AND m.seq BETWEEN $6 AND $7 AND h.code = $8)",
                        )
                        .bind(ticket)
                        .bind(super::storm_edit_lane(*storm))
                        .bind(codec::to_json(&effect)?)
                        .bind(now)
                        .bind(storm)
                        .bind(b.from)
                        .bind(upto)
                        .bind(crate::core::HistoryKind::Erased.code())
                        .execute(&mut *tx)
                        .await?;
                    }
                    let more: bool = sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM storm_members \
                         WHERE storm_id = $1 AND seq > $2)",
                    )
                    .bind(storm)
                    .bind(upto)
                    .fetch_one(&mut *tx)
                    .await?;
                    if more {
                        let effect = Effect::StormThread { storm: *storm };
                        let lane = super::storm_thread_lane(*storm);
                        enqueue_coalesced(&mut tx, ticket, &lane, &effect, now).await?;
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn retry_job(
        &self,
        claim: Claim,
        retry_at: DateTime<Utc>,
        error: &str,
        count_attempt: bool,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE outbox SET run_at = $1, locked_until = NULL, \
             last_error = CASE WHEN $3 = 0 OR last_error IS NULL THEN $2 ELSE last_error END, \
             attempts = GREATEST(attempts - $3, 0) \
             WHERE id = $4 AND claim = $5 AND status = 'pending'",
        )
        .bind(t(retry_at))
        .bind(error)
        .bind(if count_attempt { 0_i32 } else { 1 })
        .bind(claim.id)
        .bind(claim.token)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn fail_job(&self, claim: Claim, error: &str, now: DateTime<Utc>) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE outbox SET status = 'failed', last_error = $1, finished_at = $2, \
             locked_until = NULL WHERE id = $3 AND claim = $4 AND status = 'pending'",
        )
        .bind(error)
        .bind(t(now))
        .bind(claim.id)
        .bind(claim.token)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn retry_failed_jobs(&self, ids: Option<&[i64]>, now: DateTime<Utc>) -> Result<u64> {
        if ids.is_some_and(|ids| ids.is_empty()) {
            return Ok(0);
        }
        let only = |qb: &mut QueryBuilder<Postgres>| {
            if let Some(ids) = ids {
                qb.push(" AND id = ANY(").push_bind(ids.to_vec()).push(")");
            }
        };
        let mut tx = self.pool.begin().await?;
        // A card posted again is no longer "undelivered": no later notice names it.
        let mut forget = QueryBuilder::<Postgres>::new(
            "DELETE FROM undelivered_cards WHERE ticket_id IN \
             (SELECT ticket_id FROM outbox WHERE status = 'failed'",
        );
        only(&mut forget);
        forget.push(")");
        forget.build().execute(&mut *tx).await?;
        let mut qb = QueryBuilder::<Postgres>::new(
            "UPDATE outbox SET status = 'pending', attempts = 0, locked_until = NULL, \
             finished_at = NULL, run_at = ",
        );
        qb.push_bind(t(now))
            .push(", budget_from = ")
            .push_bind(t(now))
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
             VALUES ($1, $2, $3, 'pending', 0, $4, $4) RETURNING id",
        )
        .bind(ticket.0)
        .bind(lane)
        .bind(codec::to_json(effect)?)
        .bind(t(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    async fn lane_pending(&self, lane: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE lane = $1 AND status = 'pending'",
        )
        .bind(lane)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    async fn gave_up_before(&self, lane: &str, before: i64) -> Result<Option<DateTime<Utc>>> {
        // Failed jobs are few and indexed by lane (`outbox_failed_lane`); the done jobs after
        // each are looked for in the id range between.
        let earliest: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT MIN(f.created_at) FROM outbox f \
             WHERE f.lane = $1 AND f.status = 'failed' AND f.id < $2 \
             AND NOT EXISTS (SELECT 1 FROM outbox d WHERE d.id > f.id AND d.id < $2 \
                             AND d.lane = $1 AND d.status = 'done')",
        )
        .bind(lane)
        .bind(before)
        .fetch_one(&self.pool)
        .await?;
        Ok(earliest)
    }

    async fn oldest_due_job(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let m: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT MIN(run_at) FROM outbox WHERE status = 'pending' AND run_at <= $1",
        )
        .bind(t(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(m)
    }

    async fn any_undelivered_cards(&self) -> Result<bool> {
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM undelivered_cards)")
            .fetch_one(&self.pool)
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
             VALUES ($1, $2, $3, $4) ON CONFLICT (ticket_id) DO NOTHING",
        )
        .bind(ticket.0)
        .bind(surface.as_str())
        .bind(channel)
        .bind(t(now))
        .execute(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        let taken: Vec<i64> = sqlx::query_scalar(
            "DELETE FROM undelivered_cards WHERE surface = $1 AND channel = $2 \
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
                 VALUES ($1, $2, $3, 'pending', 0, $4, $4)",
            )
            .bind(ticket.0)
            .bind(lane)
            .bind(codec::to_json(&effect)?)
            .bind(t(now))
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
        let mut tx = self.pool.begin().await?;
        let marked = sqlx::query(
            "INSERT INTO once_marks (key, at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(once)
        .bind(t(now))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if marked {
            sqlx::query(
                "INSERT INTO outbox (ticket_id, lane, effect, status, attempts, run_at, created_at) \
                 VALUES ($1, $2, $3, 'pending', 0, $4, $4)",
            )
            .bind(ticket.0)
            .bind(lane)
            .bind(codec::to_json(effect)?)
            .bind(t(now))
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
        let mut conn = self.pool.acquire().await?;
        upsert_account(&mut conn, account, now).await
    }

    async fn connect_accounts_once(
        &self,
        once: &str,
        accounts: &[super::NewAccount],
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<super::ConnectedAccount>>> {
        let mut tx = self.pool.begin().await?;
        // A concurrent transaction with the same key waits here for this one's outcome.
        let marked = sqlx::query(
            "INSERT INTO once_marks (key, at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(once)
        .bind(t(now))
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
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(account_from_row)
            .collect()
    }

    async fn account(&self, id: i64) -> Result<Option<super::ConnectedAccount>> {
        sqlx::query("SELECT * FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
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
        sqlx::query("SELECT * FROM accounts WHERE network = $1 AND account_id = $2")
            .bind(network.as_str())
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(account_from_row)
            .transpose()
    }

    async fn disconnect_account(&self, id: i64) -> Result<Option<super::ConnectedAccount>> {
        sqlx::query("DELETE FROM accounts WHERE id = $1 RETURNING *")
            .bind(id)
            .fetch_optional(&self.pool)
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
        let skip: Vec<String> = skip.iter().map(|n| n.as_str().to_string()).collect();
        let row = sqlx::query(
            "UPDATE accounts SET poll_claim = poll_claim + 1, poll_until = $1 \
             WHERE id = (SELECT a.id FROM accounts a WHERE a.healthy = TRUE \
                         AND a.next_poll_at <= $2 \
                         AND (a.poll_until IS NULL OR a.poll_until <= $2) \
                         AND NOT (a.network = ANY($3)) \
                         ORDER BY a.next_poll_at, a.id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING *",
        )
        .bind(t(codec::add_lease(now, lease)?))
        .bind(t(now))
        .bind(skip)
        .fetch_optional(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        // The lease row first: a stale claim writes nothing (the rows come from the poll
        // that holds the account now).
        let updated = sqlx::query(
            "UPDATE accounts SET cursor = COALESCE($1, cursor), next_poll_at = $2, \
             last_error = $3, poll_until = NULL WHERE id = $4 AND poll_claim = $5",
        )
        .bind(outcome.cursor.as_deref())
        .bind(t(outcome.next_poll_at))
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
                 VALUES ($1, $2, $3, $4, $4, $5) \
                 ON CONFLICT (source, dedupe_key) DO NOTHING",
            )
            .bind(item.source.as_str())
            .bind(item.dedupe_key.as_str())
            .bind(item.payload.as_str())
            .bind(t(now))
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
            "UPDATE accounts SET refresh_claim = refresh_claim + 1, refresh_until = $1 \
             WHERE id = $2 AND (refresh_until IS NULL OR refresh_until <= $3) \
             RETURNING refresh_claim",
        )
        .bind(t(codec::add_lease(now, lease)?))
        .bind(id)
        .bind(t(now))
        .fetch_optional(&self.pool)
        .await?;
        Ok(token.map(|token| Claim { id, token }))
    }

    async fn store_refreshed(&self, claim: Claim, credentials: &[u8]) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE accounts SET credentials = $1, \
             credentials_version = credentials_version + 1, refresh_until = NULL \
             WHERE id = $2 AND refresh_claim = $3",
        )
        .bind(credentials)
        .bind(claim.id)
        .bind(claim.token)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn take_account_alerts(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<super::ConnectedAccount>> {
        let mut taken = sqlx::query(
            "UPDATE accounts SET alert_until = $1 WHERE alert_pending = TRUE \
             AND (alert_until IS NULL OR alert_until <= $2) RETURNING *",
        )
        .bind(until)
        .bind(now)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(account_from_row)
        .collect::<Result<Vec<_>>>()?;
        taken.sort_by_key(|a| a.id);
        Ok(taken)
    }

    async fn clear_account_alert(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE accounts SET alert_pending = FALSE WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn take_account_notices(
        &self,
        due_by: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<super::ConnectedAccount>> {
        // A concurrent taker blocks on the same rows, then finds them no longer due.
        let mut taken = sqlx::query(
            "UPDATE accounts SET notice_due_at = $1 \
             WHERE notice_due_at <= $2 AND (surface, channel, network) = \
             (SELECT surface, channel, network FROM accounts WHERE notice_due_at <= $2 \
              ORDER BY notice_due_at, id LIMIT 1) \
             RETURNING *",
        )
        .bind(t(until))
        .bind(t(due_by))
        .fetch_all(&self.pool)
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
            "UPDATE accounts SET notice_due_at = $1 WHERE id = $2 AND notice_due_at = $3",
        )
        .bind(due_again.map(t))
        .bind(id)
        .bind(t(claim))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_account_health(&self, id: i64, unhealthy: Option<&str>) -> Result<bool> {
        let done = match unhealthy {
            Some(reason) => {
                sqlx::query(
                    "UPDATE accounts SET healthy = FALSE, health_reason = $1, \
                     alert_pending = TRUE WHERE id = $2 AND healthy = TRUE",
                )
                .bind(reason)
                .bind(id)
                .execute(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "UPDATE accounts SET healthy = TRUE, health_reason = NULL, \
                     alert_pending = FALSE WHERE id = $1 AND healthy = FALSE",
                )
                .bind(id)
                .execute(&self.pool)
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
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (surface, channel, network) DO UPDATE \
             SET account = excluded.account, used_at = excluded.used_at \
             WHERE excluded.used_at >= reply_profile_use.used_at",
        )
        .bind(surface.as_str())
        .bind(channel)
        .bind(network.as_str())
        .bind(account.as_str())
        .bind(t(at))
        .execute(&self.pool)
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
             WHERE surface = $1 AND channel = $2 AND network = $3",
        )
        .bind(surface.as_str())
        .bind(channel)
        .bind(network.as_str())
        .fetch_optional(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM quota_usage WHERE resets_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let total: i64 = sqlx::query_scalar(
            "INSERT INTO quota_usage (network, resets_at, units) VALUES ($1, $2, $3) \
             ON CONFLICT (network, resets_at) DO UPDATE \
             SET units = quota_usage.units + excluded.units RETURNING units",
        )
        .bind(network.as_str())
        .bind(resets_at)
        .bind(units)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(total)
    }

    async fn mark_credentials_dead(&self, id: i64, version: i64, reason: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE accounts SET healthy = FALSE, health_reason = $1, alert_pending = TRUE \
             WHERE id = $2 AND healthy = TRUE AND credentials_version = $3",
        )
        .bind(reason)
        .bind(id)
        .bind(version)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn count_jobs(&self, status: JobStatus) -> Result<i64> {
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = $1")
            .bind(status.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    async fn failed_jobs(&self, limit: i64) -> Result<Vec<FailedJob>> {
        sqlx::query(
            "SELECT id, ticket_id, effect, attempts, last_error FROM outbox \
             WHERE status = 'failed' ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
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
            let mut qb = QueryBuilder::<Postgres>::new("SELECT id, version, state FROM tickets");
            codec::push_ticket_filter(&mut qb, filter, limit);
            qb.build()
                .fetch_all(&self.pool)
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
        let (from, to) = (period.from, period.to);
        let mut raw = crate::core::stats::StatsRaw::default();
        let mut stats_scope = codec::StatsScope {
            filter: scope,
            ids: None,
        };
        if let (true, Some(route)) = (codec::StatsScope::needs_ids(scope), &scope.route) {
            let mut ids = Vec::new();
            for row in codec::stats_candidates::<Postgres, _>(scope, from, to)
                .build()
                .fetch_all(&self.pool)
                .await?
            {
                let t = codec::ticket(row.try_get("id")?, 0, row.try_get("state")?)?;
                if route.admits(&t.state) {
                    ids.push(t.id.0);
                }
            }
            stats_scope.ids = Some(ids);
        }
        // Three independent statements: run them at once, on separate connections.
        let mut opened = codec::stats_opened::<Postgres, _>(&stats_scope, from, to)?;
        let mut events = codec::stats_events::<Postgres, _>(&stats_scope, from, to)?;
        let mut tags =
            codec::stats_tags::<Postgres, _>(&stats_scope, from, to, codec::TagsFrom::Postgres);
        let (opened, events, tags) = tokio::try_join!(
            opened.build().fetch_all(&self.pool),
            events.build().fetch_all(&self.pool),
            tags.build().fetch_all(&self.pool),
        )?;
        for row in opened {
            let reply = match (
                row.try_get::<Option<DateTime<Utc>>, _>("reply_at")?,
                row.try_get::<Option<String>, _>("reply_actor")?,
            ) {
                (Some(at), Some(actor)) => Some((at, actor)),
                _ => None,
            };
            raw.opened.push(codec::opened_ticket(
                row.try_get("network")?,
                row.try_get("kind")?,
                row.try_get("opened_at")?,
                reply,
                row.try_get("closed_at")?,
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
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(saved_reply_from_row)
        .collect()
    }

    async fn saved_reply(&self, id: SavedReplyId) -> Result<Option<SavedReply>> {
        sqlx::query(
            "SELECT id, name, body, updated_by, updated_at FROM saved_replies WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        bump_saved_replies_revision(&mut tx).await?;
        let inserted = sqlx::query_scalar(
            "INSERT INTO saved_replies (name, name_key, body, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name)
        .bind(codec::name_key(name))
        .bind(body)
        .bind(by)
        .bind(t(now))
        .fetch_one(&mut *tx)
        .await;
        match inserted {
            Ok(id) => {
                tx.commit().await?;
                Ok(Ok(SavedReplyId(id)))
            }
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                tx.rollback().await?;
                Ok(Err(NameTaken))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn update_saved_reply(
        &self,
        id: SavedReplyId,
        name: &str,
        body: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<SavedReplyWrite> {
        let mut tx = self.pool.begin().await?;
        bump_saved_replies_revision(&mut tx).await?;
        let updated = sqlx::query(
            "UPDATE saved_replies SET name = $1, name_key = $2, body = $3, updated_by = $4, \
             updated_at = $5 WHERE id = $6",
        )
        .bind(name)
        .bind(codec::name_key(name))
        .bind(body)
        .bind(by)
        .bind(t(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await;
        let outcome = match updated {
            Ok(r) if r.rows_affected() == 1 => SavedReplyWrite::Done,
            Ok(_) => SavedReplyWrite::NotFound,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => SavedReplyWrite::NameTaken,
            Err(e) => return Err(e.into()),
        };
        if outcome == SavedReplyWrite::Done {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(outcome)
    }

    async fn delete_saved_reply(&self, id: SavedReplyId) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        bump_saved_replies_revision(&mut tx).await?;
        let deleted = sqlx::query("DELETE FROM saved_replies WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if deleted {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(deleted)
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
        let now = t(now);
        let mut tx = self.pool.begin().await?;
        // Taken first: it serialises saved-reply writers, so no other transaction inserts a
        // name between this one's UPDATE and INSERT.
        bump_saved_replies_revision(&mut tx).await?;
        for (name, body) in rows {
            let key = codec::name_key(name);
            let updated = sqlx::query(
                "UPDATE saved_replies SET name = $1, body = $2, updated_by = $3, updated_at = $4 \
                 WHERE name_key = $5",
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
                 VALUES ($1, $2, $3, $4, $5)",
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
        tx.commit().await?;
        Ok(counts)
    }

    async fn saved_replies_revision(&self) -> Result<i64> {
        let revision =
            sqlx::query_scalar("SELECT revision FROM saved_replies_revision WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(revision)
    }

    async fn known_tags(&self) -> Result<Vec<String>> {
        let tags = sqlx::query_scalar("SELECT tag FROM tag_uses ORDER BY uses DESC, tag")
            .fetch_all(&self.pool)
            .await?;
        Ok(tags)
    }

    async fn record_tagging(&self, tag: &str, tokens: &[String]) -> Result<()> {
        // Sorted and distinct: concurrent taggings lock rows in the same order (no deadlock),
        // and no statement upserts one row twice.
        let tokens = codec::distinct_tokens(tokens);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO tag_uses (tag, uses) VALUES ($1, 1) \
             ON CONFLICT (tag) DO UPDATE SET uses = tag_uses.uses + 1",
        )
        .bind(tag)
        .execute(&mut *tx)
        .await?;
        for chunk in tokens.chunks(codec::TOKENS_PER_STATEMENT) {
            let mut qb =
                QueryBuilder::<Postgres>::new("INSERT INTO tag_tokens (tag, token, count) ");
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
                "INSERT INTO away (surface, user_id, since) VALUES ($1, $2, $3) \
                 ON CONFLICT (surface, user_id) DO NOTHING",
            )
            .bind(surface)
            .bind(user)
            .bind(now)
            .execute(&self.pool)
            .await?;
        } else {
            sqlx::query("DELETE FROM away WHERE surface = $1 AND user_id = $2")
                .bind(surface)
                .bind(user)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    async fn is_away(&self, teammate: &crate::core::Teammate) -> Result<bool> {
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM away WHERE surface = $1 AND user_id = $2")
                .bind(teammate.surface.as_str())
                .bind(teammate.id.as_str())
                .fetch_optional(&self.pool)
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
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        let mut out = Vec::with_capacity(members.len());
        for id in members {
            let assignee = crate::core::Assignee::Person(crate::core::Teammate {
                surface,
                id: id.clone(),
            });
            let open: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM tickets WHERE assignee = $1 AND status <> 'closed'",
            )
            .bind(assignee.key())
            .fetch_one(&mut *tx)
            .await?;
            let away: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM away WHERE surface = $1 AND user_id = $2")
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
            "SELECT last_member FROM round_robin WHERE surface = $1 AND team = $2",
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
                     VALUES ($1, $2, $3, $4) ON CONFLICT (surface, team) DO NOTHING",
                )
                .bind(surface.as_str())
                .bind(team)
                .bind(next.as_str())
                .bind(now)
                .execute(&self.pool)
                .await?
            }
            Some(expected) => {
                sqlx::query(
                    "UPDATE round_robin SET last_member = $1, at = $2 \
                     WHERE surface = $3 AND team = $4 AND last_member = $5",
                )
                .bind(next.as_str())
                .bind(now)
                .bind(surface.as_str())
                .bind(team)
                .bind(expected.as_str())
                .execute(&self.pool)
                .await?
            }
        };
        Ok(done.rows_affected() == 1)
    }

    async fn tag_model(&self) -> Result<TagModelData> {
        // One snapshot for uses and tokens.
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
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
             AND updated_at < $1 ORDER BY updated_at, id LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(TicketId).collect())
    }

    async fn purge_archived(&self, before: DateTime<Utc>, limit: i64) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM tickets t WHERE archived_at IS NOT NULL AND archived_at < $1 \
             AND status = 'closed' AND NOT EXISTS (SELECT 1 FROM outbox o \
             WHERE o.ticket_id = t.id AND o.status = 'pending') \
             AND id < (SELECT MAX(id) FROM tickets) ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        for id in &ids {
            for delete in DELETE_TICKET_ROWS {
                sqlx::query(delete).bind(id).execute(&mut *tx).await?;
            }
            sqlx::query("DELETE FROM tickets WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // The once-marks keyed by the ticket's number.
            sqlx::query("DELETE FROM once_marks WHERE key = $1 OR key = $2")
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
             WHERE processed_at IS NOT NULL AND processed_at < $1 LIMIT $2)",
        )
        .bind(before)
        .bind(limit)
        .execute(&self.pool)
        .await?
        .rows_affected();
        let jobs = sqlx::query(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
             WHERE status = 'done' AND finished_at < $1 LIMIT $2)",
        )
        .bind(before)
        .bind(limit)
        .execute(&self.pool)
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
            "INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
             WHERE leases.holder = excluded.holder OR leases.until <= $4",
        )
        .bind(name)
        .bind(holder)
        .bind(now + ttl)
        .bind(now)
        .execute(&self.pool)
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
            "SELECT id FROM tickets WHERE network = $1 AND customer_id = $2 ORDER BY id",
        )
        .bind(network.as_str())
        .bind(customer.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(TicketId).collect())
    }

    async fn scrub_inbox(&self, needles: &[String]) -> Result<u64> {
        let mut n = 0;
        for needle in needles.iter().filter(|s| !s.is_empty()) {
            n += sqlx::query(
                "UPDATE inbox SET payload = '\"erased\"' \
                 WHERE strpos(payload, $1) > 0",
            )
            .bind(needle)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(n)
    }

    async fn scrub_jobs(&self, ticket: TicketId) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE outbox SET effect = '{\"type\":\"update_card\"}' \
             WHERE ticket_id = $1 AND strpos(effect, '\"type\":\"review_updated\"') > 0",
        )
        .bind(ticket.0)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn post_activity(&self, key: &str) -> Result<Option<super::PostActivity>> {
        let Some(row) =
            sqlx::query("SELECT recent, storm_id, version FROM post_activity WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
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
        sqlx::query("SELECT * FROM storms WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
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
            "WHERE sm.storm_id = $1 AND sm.seq > $2 ORDER BY sm.seq LIMIT $3"
        ))
        .bind(id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
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
            "WHERE sm.storm_id = $1 ORDER BY sm.seq DESC LIMIT $2"
        ))
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(storm_line_from_row)
        .collect::<Result<Vec<_>>>()?;
        lines.reverse();
        Ok(lines)
    }

    async fn storm_of_ticket(&self, ticket: TicketId) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT storm_id FROM storm_members WHERE ticket_id = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(ticket.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn storm_tally(&self, storm: i64) -> Result<(usize, usize)> {
        let (open, closed): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE t.status <> 'closed'), \
             COUNT(*) FILTER (WHERE t.status = 'closed') FROM tickets t \
             WHERE t.id IN (SELECT ticket_id FROM storm_members WHERE storm_id = $1)",
        )
        .bind(storm)
        .fetch_one(&self.pool)
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
             WHERE m.ticket_id = $1 ORDER BY b.storm_id, b.from_seq",
        )
        .bind(ticket.0)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(storm_batch_from_row)
        .collect()
    }

    async fn storm_batch(&self, storm: i64, from: i64) -> Result<Option<StormBatch>> {
        sqlx::query(
            "SELECT storm_id, from_seq, upto_seq, chat FROM storm_batches \
             WHERE storm_id = $1 AND from_seq = $2",
        )
        .bind(storm)
        .bind(from)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(storm_batch_from_row)
        .transpose()
    }

    async fn latest_storm_batch(&self, storm: i64) -> Result<Option<StormBatch>> {
        sqlx::query(
            "SELECT storm_id, from_seq, upto_seq, chat FROM storm_batches \
             WHERE storm_id = $1 ORDER BY from_seq DESC LIMIT 1",
        )
        .bind(storm)
        .fetch_optional(&self.pool)
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
        let now = t(now);
        let mut tx = self.pool.begin().await?;
        let ended: Vec<(i64, i64)> = sqlx::query_as(
            "UPDATE storms SET ended_at = $1 WHERE ended_at IS NULL AND last_at < $2 \
             RETURNING id, anchor",
        )
        .bind(now)
        .bind(t(quiet_before))
        .fetch_all(&mut *tx)
        .await?;
        for (id, anchor) in &ended {
            sqlx::query(
                "UPDATE post_activity SET storm_id = NULL, recent = '[]', \
                 version = version + 1, updated_at = $1 WHERE storm_id = $2",
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
             WHERE ended_at IS NOT NULL AND ended_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM storm_members m WHERE m.storm_id = storms.id))",
        )
        .bind(t(forget_before))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM storms WHERE ended_at IS NOT NULL AND ended_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM storm_members m WHERE m.storm_id = storms.id)",
        )
        .bind(t(forget_before))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM post_activity WHERE storm_id IS NULL AND updated_at < $1")
            .bind(t(forget_before))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ended.into_iter().map(|(id, _)| id).collect())
    }

    async fn touch_storm(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // The anchor, or (retention purged it) the storm's oldest ticket still there.
        let anchor: Option<i64> = sqlx::query_scalar(
            "SELECT COALESCE((SELECT t.id FROM tickets t WHERE t.id = \
             (SELECT anchor FROM storms WHERE id = $1)), \
             (SELECT MIN(m.ticket_id) FROM storm_members m WHERE m.storm_id = $1))",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(a) = anchor {
            sqlx::query("UPDATE storms SET anchor = $1 WHERE id = $2")
                .bind(a)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(anchor) = anchor {
            let effect = Effect::StormCard { storm: id };
            let lane = super::storm_card_lane(id);
            enqueue_coalesced(&mut tx, anchor, &lane, &effect, now).await?;
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
        // The row lock serialises replicas: each sees the slot the previous one left. The token
        // tells this call's take from another's at the same instant.
        let now = t(now);
        let token = i64::from_le_bytes(crate::crypto::random_bytes());
        let (next, taker): (DateTime<Utc>, i64) = sqlx::query_as(
            "INSERT INTO chat_pacing (key, next_at, taker) VALUES ($1, $3, $4) \
             ON CONFLICT (key) DO UPDATE SET \
             taker = CASE WHEN chat_pacing.next_at <= $2 THEN $4 ELSE chat_pacing.taker END, \
             next_at = CASE WHEN chat_pacing.next_at <= $2 THEN $3 ELSE chat_pacing.next_at END \
             RETURNING next_at, taker",
        )
        .bind(key)
        .bind(now)
        .bind(t(now + gap))
        .bind(token)
        .fetch_one(&self.pool)
        .await?;
        Ok(if taker == token { None } else { Some(next) })
    }

    async fn tickets_since(
        &self,
        since: DateTime<Utc>,
        after: TicketId,
        limit: i64,
    ) -> Result<Vec<Ticket>> {
        sqlx::query(
            "SELECT id, version, state FROM tickets WHERE updated_at >= $1 AND id > $2 \
             ORDER BY id LIMIT $3",
        )
        .bind(since)
        .bind(after.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(ticket_from_row)
        .collect()
    }
}
