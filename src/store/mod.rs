//! Persistence: one trait, two real implementations (SQLite, Postgres), one contract suite
//! (`tests/store_contract.rs`) run on both.
//!
//! Invariants every implementation keeps:
//! - the inbox dedupes on `(source, dedupe_key)` with a unique constraint, not a SELECT first;
//! - `commit` persists a whole `Decision` (ticket, history, messages, outbox jobs) and consumes
//!   its input (inbox row or outbox job) in **one transaction** (SQLite may share it with other
//!   commits, each in its own savepoint, all or nothing per commit), guarded by the ticket version
//!   (optimistic concurrency) and the unique conversation key for new tickets;
//! - outbox jobs are delivered in id order per `lane` (one lane per ticket per destination):
//!   a job is claimable only when no earlier pending job of its lane exists;
//! - a claimed row carries a lease; a crashed worker's rows become claimable when it expires.

pub(crate) mod codec;
// Before the backends: they use it (a macro is in scope below its definition).
/// A storm's messages with their tickets (authors, statuses as they are now), followed by
/// `$rest` (each backend's placeholders): the storm, the order and the limit.
macro_rules! storm_lines_sql {
    ($rest:literal) => {
        concat!(
            "SELECT sm.seq, sm.ticket_id, sm.at, m.text, m.deleted, t.state \
             FROM storm_members sm JOIN messages m ON m.key = sm.message_key \
             JOIN tickets t ON t.id = sm.ticket_id ",
            $rest
        )
    };
}

pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::core::filter::Filter;
use crate::core::saved_reply::{SavedReply, SavedReplyId};
use crate::core::tags::TagModelData;
use crate::core::{
    ChatRef, CustomerId, Decision, Effect, HistoryEntry, Message, MessageKey, Network,
    NetworkItemId, Ticket, TicketId,
};

pub type DynStore = Arc<dyn Store>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("unsupported database URL {0:?}: use sqlite://… or postgres://…")]
    UnsupportedUrl(String),
    /// A shared (group-committed) write transaction failed; no write of it took effect.
    #[error("the shared write transaction failed: {0}")]
    Group(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One inbound event to commit before acknowledging the HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInbox {
    /// Where it came from: "meta", "slack".
    pub source: String,
    /// The platform's own id of the event (comment id + verb, Slack `event_id`, …).
    pub dedupe_key: String,
    /// The normalised event, JSON (`crate::workers::InboxEvent`).
    pub payload: String,
    /// Rows of one lane are applied in id order (`crate::workers::InboxEvent::lane`); `None`
    /// for events that order with nothing.
    pub lane: Option<String>,
}

/// A claimed row's identity: its id and the token its claim took. Every claim takes a new
/// token, so a worker whose lease ran out (and whose row another worker claimed since) finds
/// its token stale and records nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub id: i64,
    pub token: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    pub id: i64,
    pub source: String,
    pub dedupe_key: String,
    pub payload: String,
    /// Attempts so far, including the current one.
    pub attempts: i32,
    pub received_at: DateTime<Utc>,
    pub lane: Option<String>,
    /// This claim's token.
    pub claim: i64,
}

impl InboxRow {
    pub fn claim(&self) -> Claim {
        Claim {
            id: self.id,
            token: self.claim,
        }
    }
}

/// An account to connect (or reconnect: same network and network id) at run time.
#[derive(Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub network: crate::core::Network,
    /// The network's own id (a YouTube channel id, a Google location name).
    pub account_id: crate::core::AccountId,
    pub name: String,
    /// Where its tickets go.
    pub surface: crate::core::Surface,
    pub channel: String,
    /// The sealed token set (`crate::crypto`): never plaintext.
    pub credentials: Vec<u8>,
    /// Who connected it (a chat user id, or `cli`).
    pub connected_by: Option<String>,
}

/// A connected account as stored, with its poll state.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectedAccount {
    /// The record's id (what `/switchboard disconnect <id>` takes).
    pub id: i64,
    pub network: crate::core::Network,
    pub account_id: crate::core::AccountId,
    pub name: String,
    pub surface: crate::core::Surface,
    pub channel: String,
    pub credentials: Vec<u8>,
    /// Bumped on every credentials write.
    pub credentials_version: i64,
    /// `None` while healthy; why not otherwise (a refresh the provider refused as dead).
    pub unhealthy: Option<String>,
    pub connected_by: Option<String>,
    pub connected_at: DateTime<Utc>,
    /// The poller's durable cursor (network-specific JSON), advanced with its inbox rows.
    pub cursor: Option<String>,
    pub next_poll_at: DateTime<Utc>,
    /// The last poll's failure (quota, rate limit, outage), shown in `accounts` listings.
    pub last_error: Option<String>,
    /// Its "connected" notice is pending from this time on (`None`: nothing to say). While
    /// taken ([`Store::take_account_notices`]), the end of the taker's lease: its claim.
    pub notice_due: Option<DateTime<Utc>>,
}

// Sealed credentials are not plaintext, but they stay out of logs all the same.
impl std::fmt::Debug for ConnectedAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectedAccount")
            .field("id", &self.id)
            .field("network", &self.network)
            .field("account_id", &self.account_id)
            .field("name", &self.name)
            .field("surface", &self.surface)
            .field("channel", &self.channel)
            .field(
                "credentials",
                &format_args!("<{} sealed bytes>", self.credentials.len()),
            )
            .field("credentials_version", &self.credentials_version)
            .field("unhealthy", &self.unhealthy)
            .field("cursor", &self.cursor)
            .field("next_poll_at", &self.next_poll_at)
            .field("last_error", &self.last_error)
            .field("notice_due", &self.notice_due)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount")
            .field("network", &self.network)
            .field("account_id", &self.account_id)
            .field("name", &self.name)
            .field("surface", &self.surface)
            .field("channel", &self.channel)
            .field(
                "credentials",
                &format_args!("<{} sealed bytes>", self.credentials.len()),
            )
            .finish_non_exhaustive()
    }
}

/// How a poll ended, recorded with its rows in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollOutcome {
    /// The inbox rows the poll produced (deduplicated on their keys like webhook rows).
    pub rows: Vec<NewInbox>,
    /// The new cursor; `None` keeps the old one (a failed poll).
    pub cursor: Option<String>,
    pub next_poll_at: DateTime<Utc>,
    /// Why the poll failed, `None` when it worked (clears the previous error).
    pub error: Option<String>,
}

/// Which ticket a commit writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Insert a new ticket (fails with `Conflict` if its conversation key exists).
    New,
    /// Update this ticket if it is still at `version`.
    Existing { id: TicketId, version: i64 },
}

/// What a commit consumes, atomically with the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumes {
    Nothing,
    Inbox(Claim),
    Job(Claim),
}

#[derive(Debug, Clone)]
pub struct Commit {
    pub target: Target,
    pub decision: Decision,
    pub consumes: Consumes,
    pub now: DateTime<Utc>,
    /// What the customer message of this decision does to its post's storm, written in the
    /// same transaction (`None`: nothing).
    pub storm: Option<StormWrite>,
}

/// A post's storm activity as stored (see `core::storm`), with the version its writes check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostActivity {
    pub activity: crate::core::storm::Activity,
    pub version: i64,
}

/// A commit's write to its post's storm activity. A stale `version` (another message of the
/// post committed first, or the storm ended) makes the whole commit a `Conflict`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StormWrite {
    /// The post's activity key (channel and post).
    pub key: String,
    /// The version read; `None` when there was no row.
    pub version: Option<i64>,
    pub recent: Vec<DateTime<Utc>>,
    pub join: StormJoin,
    /// The customer message that joins the storm (with `Existing` and `Start`).
    pub message: Option<MessageKey>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StormJoin {
    No,
    Existing(i64),
    /// Start a storm with this ticket as its anchor (the ticket its jobs hang on).
    Start(NewStorm),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStorm {
    pub post_key: String,
    /// The channel key (`slack:C1`, `discord:123`).
    pub channel: String,
    pub post: StormPost,
}

/// What a storm card says about its post.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StormPost {
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
}

/// A storm as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StormRow {
    pub id: i64,
    pub post_key: String,
    pub channel: String,
    pub anchor: TicketId,
    pub started_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub count: i64,
    pub card: Option<ChatRef>,
    /// The last member (`seq`) mirrored into the card's thread.
    pub posted_upto: i64,
    pub post: StormPost,
}

/// The outbox lanes of a storm: its card's edits, and its thread batches (posts wait for
/// nothing that edits do).
pub fn storm_card_lane(storm: i64) -> String {
    format!("storm-card:{storm}")
}

pub fn storm_thread_lane(storm: i64) -> String {
    format!("storm-thread:{storm}")
}

/// The lane of a storm's batch edits: apart from its posts, whose next batch is queued only
/// while nothing waits in their own lane.
pub fn storm_edit_lane(storm: i64) -> String {
    format!("storm-edit:{storm}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    Committed {
        ticket: TicketId,
        version: i64,
    },
    /// Someone else changed the ticket (or created it) first: re-read and decide again.
    Conflict,
    /// The input (inbox row / job) was already consumed by another worker whose lease had
    /// run out: nothing was written, the event must not be applied twice.
    AlreadyConsumed,
}

/// Which outbox lane an effect is delivered in: chat calls and network calls of a ticket are
/// ordered separately, so a reply in backoff does not hold up card updates.
pub fn lane_of(ticket: TicketId, effect: &Effect) -> String {
    match effect {
        Effect::StormCard { storm } => storm_card_lane(*storm),
        Effect::StormThread { storm } => storm_thread_lane(*storm),
        Effect::StormBatchEdit { storm, .. } => storm_edit_lane(*storm),
        Effect::SendReply { .. } | Effect::Moderate { .. } => format!("network:{ticket}"),
        _ => format!("chat:{ticket}"),
    }
}

/// The lane of a card post queued outside the ticket's decisions (a re-post of a card that
/// went missing or gave up): never behind the ticket's own chat jobs, which may wait for it.
pub fn repost_lane(ticket: TicketId) -> String {
    format!("card:{ticket}")
}

/// The tickets a requeue re-posts: every taken one but the card just posted, by id.
pub(crate) fn reposted(mut taken: Vec<i64>, posted: TicketId) -> Vec<TicketId> {
    taken.sort_unstable();
    taken.dedup();
    taken
        .into_iter()
        .map(TicketId)
        .filter(|t| *t != posted)
        .collect()
}

/// When a job may first run: now, or later for a reply waiting out its undo window.
pub fn run_at_of(effect: &Effect, now: DateTime<Utc>) -> DateTime<Utc> {
    match effect {
        Effect::SendReply {
            not_before: Some(at),
            ..
        } if *at > now => *at,
        _ => now,
    }
}

/// A claimed outbox job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub ticket: TicketId,
    pub lane: String,
    pub effect: Effect,
    /// Attempts so far, including the current one.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    /// Where the retry time budget started: the first claim (so time spent waiting behind
    /// the lane's head does not count), or the last `outbox retry`.
    pub budget_from: DateTime<Utc>,
    /// What the last failed attempt ended with (a wait after it keeps it; a wait before any
    /// failure records why it waited).
    pub last_error: Option<String>,
    /// This claim's token.
    pub claim: i64,
}

impl Job {
    pub fn claim(&self) -> Claim {
        Claim {
            id: self.id,
            token: self.claim,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Pending,
    Done,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }
}

/// What a chat message posted by the outbox is, for the thread ↔ ticket mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatRole {
    /// The ticket's card (its thread is the conversation).
    Card,
    /// A message in the card's thread (a mirrored customer message, a failure notice).
    ThreadMessage,
}

/// Facts learnt while delivering a job, recorded atomically with finishing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobRecord {
    /// A chat message now exists for this ticket.
    LinkChat {
        chat: ChatRef,
        role: ChatRole,
        message: Option<MessageKey>,
    },
    /// The storm's card was posted.
    StormCard { storm: i64, chat: ChatRef },
    /// The storm's members up to `upto` (a `seq`) are in its thread; if more are waiting, the
    /// next batch is queued in the same transaction. `batch`: the message just posted (or
    /// found) that shows them, remembered so an erasure can edit it.
    StormPosted {
        storm: i64,
        upto: i64,
        batch: Option<PostedBatch>,
    },
}

/// A storm thread message: the first member it shows (its last is the record's `upto`), and
/// where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedBatch {
    pub from: i64,
    pub chat: ChatRef,
}

/// A storm thread message as remembered: members `from`..=`upto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StormBatch {
    pub storm: i64,
    pub from: i64,
    pub upto: i64,
    pub chat: ChatRef,
}

/// A failed outbox job, for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedJob {
    pub id: i64,
    pub ticket: TicketId,
    pub effect: Effect,
    pub attempts: i32,
    pub last_error: String,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The backend's name ("sqlite" / "postgres"), for logs and benchmarks.
    fn backend(&self) -> &'static str;

    /// Apply pending migrations.
    async fn migrate(&self) -> Result<()>;

    /// Cheap round trip, for readiness.
    async fn ping(&self) -> Result<()>;

    // ---- inbox --------------------------------------------------------------------------

    /// Insert in one transaction; rows whose `(source, dedupe_key)` exists are skipped.
    /// Returns how many rows were new.
    async fn insert_inbox(&self, items: &[NewInbox], now: DateTime<Utc>) -> Result<u64>;

    /// How many `insert_inbox` calls are worth running at once (the inbox's group commit keeps
    /// this many batches in flight): 1 where writes share one connection anyway.
    fn parallel_inserts(&self) -> usize {
        1
    }

    /// Claim up to `limit` unprocessed rows, oldest first, whose retry time has come, which no
    /// live lease holds and which are the oldest unprocessed row of their lane (if any);
    /// increments their attempts, takes a new claim token and leases them until `now + lease`.
    async fn claim_inbox(
        &self,
        limit: i64,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<InboxRow>>;

    /// Mark a row processed without a decision (nothing to do, or rejected with `note`).
    /// False (and nothing written) when `claim` is no longer the row's current claim.
    async fn finish_inbox(
        &self,
        claim: Claim,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    /// Release a row for another attempt at `retry_at`, recording `error`; `count_attempt =
    /// false` for waits that are not failures (the claim's attempt increment is undone).
    /// False (and nothing written) when `claim` is stale.
    async fn retry_inbox(
        &self,
        claim: Claim,
        error: &str,
        retry_at: DateTime<Utc>,
        count_attempt: bool,
    ) -> Result<bool>;

    /// Rows not yet processed.
    async fn count_pending_inbox(&self) -> Result<i64>;

    /// When the oldest unprocessed row was received (`None`: nothing pending), for the
    /// inbox age metric.
    async fn oldest_pending_inbox(&self) -> Result<Option<DateTime<Utc>>>;

    /// All rows ever received (processed or not).
    async fn count_inbox(&self) -> Result<i64>;

    // ---- tickets ------------------------------------------------------------------------

    async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>>;

    async fn ticket_by_conversation(&self, key: &str) -> Result<Option<Ticket>>;

    /// Persist a decision atomically (see the module docs).
    async fn commit(&self, commit: Commit) -> Result<CommitOutcome>;

    async fn message(&self, key: &MessageKey) -> Result<Option<Message>>;

    /// The teammate reply the network knows by `id` (the id it returned when it accepted
    /// the reply), for delivery receipts.
    async fn reply_by_network_id(&self, id: &NetworkItemId) -> Result<Option<Message>>;

    /// A ticket's messages, oldest first.
    async fn messages(&self, ticket: TicketId) -> Result<Vec<Message>>;

    /// A ticket's history, oldest first.
    async fn history(&self, ticket: TicketId) -> Result<Vec<HistoryEntry>>;

    async fn count_tickets(&self) -> Result<i64>;

    // ---- chat mapping -------------------------------------------------------------------

    /// The ticket whose card or thread message is `chat`.
    async fn ticket_by_chat(&self, chat: &ChatRef) -> Result<Option<TicketId>>;

    /// The ticket's card, once posted.
    async fn card_of(&self, ticket: TicketId) -> Result<Option<ChatRef>>;

    /// The chat message that mirrors a customer message, once posted.
    async fn chat_of_message(&self, key: &MessageKey) -> Result<Option<ChatRef>>;

    // ---- outbox -------------------------------------------------------------------------

    /// Claim up to `limit` due jobs, each the oldest pending job of its lane and not leased;
    /// increments attempts, takes a new claim token and leases them until `now + lease`.
    async fn claim_jobs(&self, limit: i64, now: DateTime<Utc>, lease: Duration)
    -> Result<Vec<Job>>;

    /// Mark a job done and record what its delivery created, in one transaction. False (and
    /// nothing written) when `claim` is no longer the job's current claim.
    async fn finish_job(
        &self,
        claim: Claim,
        records: &[JobRecord],
        now: DateTime<Utc>,
    ) -> Result<bool>;

    /// Put a job back for `retry_at`. `count_attempt = false` for waits that are not failures
    /// (pacing, waiting for the card to exist): the claim's attempt increment is undone, and
    /// `error` is recorded only when the job has no error yet (a wait must not hide that an
    /// earlier attempt failed, maybe after the platform acted: that attempt is looked for).
    /// False (and nothing written) when `claim` is stale.
    async fn retry_job(
        &self,
        claim: Claim,
        retry_at: DateTime<Utc>,
        error: &str,
        count_attempt: bool,
    ) -> Result<bool>;

    /// Give up on a job: status `failed`, kept for operators, no longer blocks its lane.
    /// False (and nothing written) when `claim` is stale.
    async fn fail_job(&self, claim: Claim, error: &str, now: DateTime<Utc>) -> Result<bool>;

    /// Put given-up jobs back (all of them with `None`): pending, due now, attempts and the
    /// retry budget starting afresh. Returns how many.
    async fn retry_failed_jobs(&self, ids: Option<&[i64]>, now: DateTime<Utc>) -> Result<u64>;

    /// Queue one more job for `ticket` in `lane` (outside a decision: re-posting a card that
    /// went missing). Returns its id.
    async fn enqueue_job(
        &self,
        ticket: TicketId,
        lane: &str,
        effect: &Effect,
        now: DateTime<Utc>,
    ) -> Result<i64>;

    /// True while `lane` has a pending job.
    async fn lane_pending(&self, lane: &str) -> Result<bool>;

    /// When the earliest of the jobs of `lane` that gave up (failed) before job `before`, since
    /// the last one done, was queued: whatever they did, they may have done without an
    /// answer, and a later job of the lane should look for it (since then) before doing it
    /// again. `None` when the last finished job before `before` was done, or none gave up.
    async fn gave_up_before(&self, lane: &str, before: i64) -> Result<Option<DateTime<Utc>>>;

    /// The oldest due pending job's run time, for readiness (a stuck outbox).
    async fn oldest_due_job(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>>;

    /// True when any card anywhere is waiting to be re-posted ([`Store::record_undelivered_card`]):
    /// one cheap read before a posted card looks for cards to re-post in its channel, which
    /// almost always finds none.
    async fn any_undelivered_cards(&self) -> Result<bool>;

    /// Remember that `ticket`'s card could not be posted to `channel` (it gave up).
    async fn record_undelivered_card(
        &self,
        ticket: TicketId,
        surface: crate::core::Surface,
        channel: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// A card was just posted for `posted` in `channel`, so the channel works again: in one
    /// transaction, take (and forget) the tickets whose card gave up there, queue a card post
    /// for each in its re-post lane ([`repost_lane`]) and, when there were any, the
    /// [`Effect::CardsPostedLate`] notice for `posted`. Returns the re-posted tickets, by id.
    /// A crash can never forget a card without queueing it.
    async fn requeue_undelivered_cards(
        &self,
        surface: crate::core::Surface,
        channel: &str,
        posted: TicketId,
        now: DateTime<Utc>,
    ) -> Result<Vec<TicketId>>;

    /// [`Store::enqueue_job`] guarded by a once-mark (`once`, as [`Store::first_time`]), in one
    /// transaction: the job is queued only if the mark was not set, and the mark is never set
    /// without the job. Returns whether it was queued.
    async fn enqueue_job_once(
        &self,
        once: &str,
        ticket: TicketId,
        lane: &str,
        effect: &Effect,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    async fn count_jobs(&self, status: JobStatus) -> Result<i64>;

    // ---- connected accounts ---------------------------------------------------------------

    /// Connect an account, or reconnect it (same network and id): new name, destination and
    /// credentials, healthy again, due for a poll now, its "connected" notice pending from
    /// now; its cursor is kept (no re-backfill).
    async fn connect_account(
        &self,
        account: &NewAccount,
        now: DateTime<Utc>,
    ) -> Result<ConnectedAccount>;

    /// [`Store::connect_account`] for each of `accounts`, and the once-mark `once` (as
    /// [`Store::first_time`]), in one transaction: all of them or nothing. `None`, and nothing
    /// written, when `once` is already marked.
    async fn connect_accounts_once(
        &self,
        once: &str,
        accounts: &[NewAccount],
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<ConnectedAccount>>>;

    /// Every connected account, by id.
    async fn accounts(&self) -> Result<Vec<ConnectedAccount>>;

    async fn account(&self, id: i64) -> Result<Option<ConnectedAccount>>;

    async fn account_by_network_id(
        &self,
        network: crate::core::Network,
        account_id: &str,
    ) -> Result<Option<ConnectedAccount>>;

    /// Remove an account; returns what was removed.
    async fn disconnect_account(&self, id: i64) -> Result<Option<ConnectedAccount>>;

    /// Claim the healthy account most overdue for a poll whose poll lease is free; one
    /// replica polls an account at a time, and a dead replica's lease runs out.
    async fn claim_poll(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<(ConnectedAccount, Claim)>> {
        self.claim_poll_except(now, lease, &[]).await
    }

    /// [`Store::claim_poll`], leaving out the accounts of `skip` (networks whose news comes
    /// by webhook here: nothing to poll, so no lease is taken on them).
    async fn claim_poll_except(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        skip: &[crate::core::Network],
    ) -> Result<Option<(ConnectedAccount, Claim)>>;

    /// Record a poll in one transaction: its inbox rows, the new cursor, when to poll next,
    /// and the lease released. False (and nothing written) when `claim` is stale: another
    /// replica polls the account now, and its rows will come from that poll.
    async fn finish_poll(
        &self,
        claim: Claim,
        outcome: &PollOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    /// Take the account's refresh lock (one token refresh at a time per account, across
    /// replicas). `None` while another holder's lock is live.
    async fn claim_refresh(
        &self,
        id: i64,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Claim>>;

    /// Store refreshed credentials (before they are used: refresh tokens may rotate) and
    /// release the refresh lock. False (and nothing written) when `claim` is stale.
    async fn store_refreshed(&self, claim: Claim, credentials: &[u8]) -> Result<bool>;

    /// Mark an account unhealthy (`Some(reason)`: polling stops until it is reconnected; an
    /// alert for its channel is pending in the same write) or healthy again (no alert
    /// pending). True only when this changed its health.
    async fn set_account_health(&self, id: i64, unhealthy: Option<&str>) -> Result<bool>;

    /// Remember that `account` replied on `network` in a chat channel at `at` (a later use
    /// replaces an earlier one; an older one never replaces a newer).
    async fn note_reply_profile(
        &self,
        surface: crate::core::Surface,
        channel: &str,
        network: crate::core::Network,
        account: &crate::core::AccountId,
        at: DateTime<Utc>,
    ) -> Result<()>;

    /// The account that last replied on `network` in a chat channel.
    async fn last_reply_profile(
        &self,
        surface: crate::core::Surface,
        channel: &str,
        network: crate::core::Network,
    ) -> Result<Option<crate::core::AccountId>>;

    /// Add `units` to what `network` spent in the quota period ending at `resets_at`, for every
    /// replica at once; the period's total so far. Periods that ended are forgotten.
    async fn charge_quota(
        &self,
        network: crate::core::Network,
        resets_at: DateTime<Utc>,
        units: i64,
        now: DateTime<Utc>,
    ) -> Result<i64>;

    /// Mark an account unhealthy because its credentials at `version` were refused as dead
    /// (with an alert pending, as [`Store::set_account_health`]); nothing when they changed
    /// since: a reconnect meanwhile replaced the grant that was refused. True only when this
    /// changed its health.
    async fn mark_credentials_dead(&self, id: i64, version: i64, reason: &str) -> Result<bool>;

    /// Unhealthy accounts whose channel has not been told yet.
    ///
    /// Each is taken until `until` (a lease while it is posted): another taker meanwhile does
    /// not get it, and one whose post failed comes back when the lease ends.
    async fn take_account_alerts(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ConnectedAccount>>;

    /// The channel was told: the account's alert is no longer pending.
    async fn clear_account_alert(&self, id: i64) -> Result<()>;

    /// Take the "connected" notices pending by `due_by` of one destination (the surface,
    /// channel and network of the oldest of them), all at once so they can be told in one
    /// message: each is leased until `until` (its [`ConnectedAccount::notice_due`] is then
    /// `until`, the claim), and no other taker gets it before. By id; empty when none is due.
    async fn take_account_notices(
        &self,
        due_by: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ConnectedAccount>>;

    /// Finish a taken notice: posted (`due_again` `None`: no longer pending) or not (pending
    /// again from `due_again`). False, and nothing written, when `claim` is no longer the
    /// notice's (the account was reconnected meanwhile: its new notice stays pending).
    async fn finish_account_notice(
        &self,
        id: i64,
        claim: DateTime<Utc>,
        due_again: Option<DateTime<Utc>>,
    ) -> Result<bool>;

    async fn failed_jobs(&self, limit: i64) -> Result<Vec<FailedJob>>;

    // ---- queries --------------------------------------------------------------------------

    /// Tickets matching every set field of `filter`, most recently updated first (then by id,
    /// descending), at most `limit`.
    async fn find_tickets(&self, filter: &Filter, limit: i64) -> Result<Vec<Ticket>>;

    /// Team statistics of `period` over the tickets `scope` admits (its network, assignee and
    /// channel route; `Filter::default()`: every ticket), durations measured under `schedule`
    /// (wall-clock without one). The statements select and count (see `core::stats` for the
    /// definitions); percentiles are computed in Rust by `core::stats::summarise`, so both
    /// backends give the same figures.
    async fn team_stats(
        &self,
        period: crate::core::stats::Period,
        scope: &Filter,
        schedule: Option<&crate::core::hours::Schedule>,
    ) -> Result<crate::core::stats::TeamStats>;

    // ---- saved replies --------------------------------------------------------------------

    /// All saved replies, by name (case-insensitive: by `str::to_lowercase`, then bytewise).
    async fn saved_replies(&self) -> Result<Vec<SavedReply>>;

    async fn saved_reply(&self, id: SavedReplyId) -> Result<Option<SavedReply>>;

    /// Create; `Ok(Err(NameTaken))` when a reply of that name (any case) exists. Names are the
    /// same when their `str::to_lowercase` forms are equal (the backends agree beyond ASCII).
    async fn create_saved_reply(
        &self,
        name: &str,
        body: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<SavedReplyId, NameTaken>>;

    /// Change name and body: `NotFound` for an unknown id, `NameTaken` when another reply has
    /// the new name (any case); a reply may change the case of its own name.
    async fn update_saved_reply(
        &self,
        id: SavedReplyId,
        name: &str,
        body: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<SavedReplyWrite>;

    /// True if it existed.
    async fn delete_saved_reply(&self, id: SavedReplyId) -> Result<bool>;

    /// Upsert by name (case-insensitive) in one transaction: all rows or none. An existing
    /// reply keeps its id and takes the imported spelling of the name; rows whose names differ
    /// only by case count as one (the last wins). Counts are of distinct names.
    async fn import_saved_replies(
        &self,
        rows: &[(String, String)],
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<ImportCounts>;

    /// A number that strictly increases whenever saved replies are created, updated, deleted
    /// or imported (bumped in the same transaction; for cache invalidation across replicas).
    async fn saved_replies_revision(&self) -> Result<i64>;

    // ---- once-only notices ----------------------------------------------------------------

    /// Record `key`; true only the first time (until [`Store::forget`]). Backs alerts that
    /// must be posted once, not per message (an expired token).
    async fn first_time(&self, key: &str, now: DateTime<Utc>) -> Result<bool>;

    /// Let `key` be first again (the condition it alerted about has cleared).
    async fn forget(&self, key: &str) -> Result<()>;

    /// Whether `key` is marked (by [`Store::first_time`] or [`Store::connect_accounts_once`])
    /// and not forgotten. Only a hint for an early answer: the mark itself is the guard.
    async fn is_marked(&self, key: &str) -> Result<bool>;

    // ---- tags -----------------------------------------------------------------------------

    /// Every tag ever recorded, most used first, then by name.
    async fn known_tags(&self) -> Result<Vec<String>>;

    /// A tag was added to a ticket whose text has these tokens: +1 use, +1 per distinct token,
    /// in one transaction.
    async fn record_tagging(&self, tag: &str, tokens: &[String]) -> Result<()>;

    /// The whole stored suggestion model, ordered by tag, then token (bytewise).
    async fn tag_model(&self) -> Result<TagModelData>;

    // ---- auto-assignment ------------------------------------------------------------------

    /// Mark a teammate away (round-robin skips them) or back. Setting what is already set
    /// changes nothing.
    async fn set_away(
        &self,
        teammate: &crate::core::Teammate,
        away: bool,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Whether a teammate is marked away.
    async fn is_away(&self, teammate: &crate::core::Teammate) -> Result<bool>;

    /// What round-robin needs about one team on `surface`, read in one snapshot: each of
    /// `members` (in that order) with their open tickets (assigned to them, not closed) and
    /// away flag, and who got the team's last ticket.
    async fn round_robin_state(
        &self,
        surface: crate::core::Surface,
        team: &str,
        members: &[crate::core::ChatUserId],
    ) -> Result<RoundRobinState>;

    /// Record that `next` got the team's ticket, only if its last ticket still went to
    /// `expected` (compare-and-set, `None`: no ticket yet). False when another pick came
    /// first: read again and pick again.
    async fn advance_round_robin(
        &self,
        surface: crate::core::Surface,
        team: &str,
        expected: Option<&crate::core::ChatUserId>,
        next: &crate::core::ChatUserId,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    // ---- retention, leases, export ------------------------------------------------------------

    /// Closed tickets not archived yet whose last activity was before `before`, oldest
    /// first, at most `limit`.
    async fn archivable(&self, before: DateTime<Utc>, limit: i64) -> Result<Vec<TicketId>>;

    /// Delete at most `limit` tickets archived before `before` that are still closed and have
    /// no pending job (their card was edited first), with their messages, history, chat links,
    /// jobs and once-marks, in one transaction. Never the newest ticket: SQLite would give its
    /// number to the next one, and `#N` must never name another customer's ticket. How many
    /// tickets went.
    async fn purge_archived(&self, before: DateTime<Utc>, limit: i64) -> Result<u64>;

    /// Delete at most `limit` processed inbox rows, and at most `limit` done jobs, finished
    /// before `before`. How many rows went.
    async fn purge_finished(&self, before: DateTime<Utc>, limit: i64) -> Result<u64>;

    /// Take the lease `name` for `holder` until `now + ttl`, or renew it when `holder` has it
    /// already; false while another holder's lease runs.
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool>;

    /// Every ticket of one customer on one network, by id (an erasure's scope).
    async fn customer_tickets(
        &self,
        network: Network,
        customer: &CustomerId,
    ) -> Result<Vec<TicketId>>;

    /// Blank the payload of inbox rows (processed or pending) that contain any of `needles`
    /// (the network ids of an erased customer's items), keeping the rows themselves so that a
    /// redelivery is still recognised. How many rows were blanked.
    async fn scrub_inbox(&self, needles: &[String]) -> Result<u64>;

    /// Turn the ticket's jobs that carry customer text (review updates) into plain card
    /// updates, whatever their status. How many jobs were rewritten.
    async fn scrub_jobs(&self, ticket: TicketId) -> Result<u64>;

    /// Give up the lease `name` if `holder` has it (a clean stop: another replica may take it
    /// at once).
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()>;

    // ---- storm mode --------------------------------------------------------------------

    /// A post's storm activity (`key`: channel and post).
    async fn post_activity(&self, key: &str) -> Result<Option<PostActivity>>;

    async fn storm(&self, id: i64) -> Result<Option<StormRow>>;

    /// A storm's messages after member `after` (a `seq`), oldest first, at most `limit`, with
    /// their tickets' authors and statuses as they are now.
    async fn storm_lines(
        &self,
        id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<crate::core::storm::StormLine>>;

    /// A storm's newest `limit` messages, oldest first (what its card describes).
    async fn storm_newest(&self, id: i64, limit: i64)
    -> Result<Vec<crate::core::storm::StormLine>>;

    /// The latest storm a ticket's messages were shown in, if any.
    async fn storm_of_ticket(&self, ticket: TicketId) -> Result<Option<i64>>;

    /// Open and closed tickets among a storm's members (each ticket once, by its status now).
    async fn storm_tally(&self, storm: i64) -> Result<(usize, usize)>;

    /// The storm thread messages that show any of `ticket`'s messages, oldest first.
    async fn storm_batches_of_ticket(&self, ticket: TicketId) -> Result<Vec<StormBatch>>;

    /// The storm thread message whose first member is `from`.
    async fn storm_batch(&self, storm: i64, from: i64) -> Result<Option<StormBatch>>;

    /// The storm's thread message recorded last (its members come last).
    async fn latest_storm_batch(&self, storm: i64) -> Result<Option<StormBatch>>;

    /// End every running storm fed last before `quiet_before`: its post is calm again, and
    /// its card's final edit and last thread batch are queued, in one transaction. Also forgets
    /// calm posts' activity older than `forget_before`, and ended storms none of whose tickets
    /// are left (retention purged them). Returns the storms ended.
    async fn end_quiet_storms(
        &self,
        quiet_before: DateTime<Utc>,
        forget_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>>;

    /// Queue an edit of the storm's card unless one is waiting already (after a bulk action
    /// or an erasure changed its tickets). Its jobs hang on a ticket of the storm that still
    /// exists; with none left, nothing is queued.
    async fn touch_storm(&self, id: i64, now: DateTime<Utc>) -> Result<()>;

    /// Take the next slot of a pace shared by every replica (`key`: channel and method class),
    /// one per `gap`. `None`: taken, go on; `Some(at)`: the next slot is at `at`, wait.
    async fn take_pace(
        &self,
        key: &str,
        gap: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>>;

    /// Tickets whose last activity was at or after `since`, by id, after `after`, at most
    /// `limit` (an export's pages).
    async fn tickets_since(
        &self,
        since: DateTime<Utc>,
        after: TicketId,
        limit: i64,
    ) -> Result<Vec<Ticket>>;
}

/// One team as round-robin sees it (see [`Store::round_robin_state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundRobinState {
    pub members: Vec<crate::core::autoassign::Member>,
    pub last: Option<crate::core::ChatUserId>,
}

/// A saved reply with that name already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameTaken;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavedReplyWrite {
    Done,
    NotFound,
    NameTaken,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub created: u64,
    pub updated: u64,
}

/// Open the store the URL names (`sqlite://…` or `postgres://…`), creating a SQLite file if
/// missing. Does not migrate.
pub async fn connect(url: &str) -> Result<DynStore> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_string()))
    }
}
