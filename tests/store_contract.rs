//! The store contract: one set of test bodies, each taking a `DynStore`, run against SQLite
//! (a fresh temp-file database per test) and Postgres (a fresh database per test, created on
//! the server named by `SWITCHBOARD_TEST_POSTGRES_URL`).
//!
//! Without `SWITCHBOARD_TEST_POSTGRES_URL` the Postgres tests are skipped locally and fail in CI
//! (`CI` set), so a misconfigured pipeline cannot pass silently.

mod support;

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use sqlx::Connection;

use switchboard::core::filter::{AssigneeMatch, Filter, Visibility};
use switchboard::core::saved_reply::{SavedReply, SavedReplyId};
use switchboard::core::tags::TagModelData;
use switchboard::core::{
    AccountId, Actor, Assignee, CardAction, ChatRef, ChatUserId, Customer, CustomerId, Decision,
    Delivery, Effect, Event, FailureReason, HistoryKind, InboundItem, ItemKind, Message,
    MessageKey, MessageKind, Network, NetworkItemId, Status, Surface, Teammate, Ticket, TicketId,
};
use switchboard::store::{
    ChatRole, Commit, CommitOutcome, Consumes, DynStore, ImportCounts, JobRecord, JobStatus,
    NameTaken, NewAccount, NewInbox, PollOutcome, SavedReplyWrite, StoreError, Target, lane_of,
};

/// The state machine for a Facebook comment (what these tickets are).
fn decide(
    ticket: Option<&switchboard::core::Ticket>,
    event: &switchboard::core::Event,
    now: DateTime<Utc>,
) -> Result<switchboard::core::Decision, switchboard::core::decide::Rejection> {
    switchboard::core::decide(
        ticket,
        event,
        &switchboard::networks::meta::capabilities::facebook(
            switchboard::core::ItemKind::Comment,
            false,
        ),
        now,
    )
}

// ---- fixtures ---------------------------------------------------------------------------------

/// A fixed instant with microsecond precision (what both backends store).
fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(1_780_000_000_123_456).expect("valid timestamp")
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(seconds)
}

fn lease() -> Duration {
    Duration::seconds(30)
}

/// A Facebook comment by `customer` under post `post1` of Page `page1`.
fn comment(id: &str, customer: &str, text: &str, created_at: DateTime<Utc>) -> InboundItem {
    InboundItem {
        network: Network::Facebook,
        account: AccountId::new("page1"),
        item_id: NetworkItemId::new(format!("post1_{id}")),
        kind: ItemKind::Comment,
        post_id: NetworkItemId::new("page1_post1"),
        customer: Customer {
            id: CustomerId::new(customer),
            name: Some(format!("Customer {customer}")),
        },
        text: text.to_string(),
        created_at,
        permalink: Some(format!(
            "https://facebook.com/page1/posts/1?comment_id={id}"
        )),
        attachments: Vec::new(),
        context: Default::default(),
    }
}

fn key_of(item: &InboundItem) -> MessageKey {
    MessageKey::inbound(item.network, &item.item_id)
}

fn teammate() -> Teammate {
    Teammate {
        surface: Surface::Slack,
        id: ChatUserId::new("U123"),
    }
}

fn chat(ts: &str) -> ChatRef {
    ChatRef {
        surface: Surface::Slack,
        workspace: "T1".into(),
        channel: "C1".into(),
        message: ts.into(),
    }
}

fn inbox(key: &str) -> NewInbox {
    NewInbox {
        source: "meta".into(),
        dedupe_key: key.into(),
        payload: format!(r#"{{"key":"{key}"}}"#),
        lane: None,
    }
}

/// Decide `event` on `ticket` and commit it; returns the outcome.
async fn apply(
    store: &DynStore,
    ticket: Option<&Ticket>,
    event: Event,
    now: DateTime<Utc>,
    consumes: Consumes,
) -> CommitOutcome {
    let decision = decide(ticket, &event, now).expect("event applies");
    let target = match ticket {
        None => Target::New,
        Some(t) => Target::Existing {
            id: t.id,
            version: t.version,
        },
    };
    store
        .commit(Commit {
            target,
            decision,
            consumes,
            now,
            storm: None,
        })
        .await
        .expect("commit")
}

async fn get(store: &DynStore, id: TicketId) -> Ticket {
    store
        .ticket(id)
        .await
        .expect("read")
        .expect("ticket exists")
}

/// Apply and expect success; returns the ticket as stored.
async fn apply_ok(
    store: &DynStore,
    ticket: Option<&Ticket>,
    event: Event,
    now: DateTime<Utc>,
) -> Ticket {
    match apply(store, ticket, event, now, Consumes::Nothing).await {
        CommitOutcome::Committed { ticket, .. } => get(store, ticket).await,
        other => panic!("unexpected {other:?}"),
    }
}

/// Open a ticket from a comment by `customer`.
async fn open(store: &DynStore, id: &str, customer: &str, now: DateTime<Utc>) -> Ticket {
    let item = comment(
        id,
        customer,
        "Where is my order?",
        now - Duration::seconds(5),
    );
    apply_ok(store, None, Event::CustomerMessage { item }, now).await
}

fn reply_event(ts: &str, text: &str) -> Event {
    Event::Reply {
        teammate: teammate(),
        chat: chat(ts),
        text: text.into(),
        // Sent at once (no undo window): every use applies it later than this.
        send_at: t0(),
        as_account: None,
    }
}

// ---- backends ---------------------------------------------------------------------------------

struct SqliteDb {
    store: DynStore,
    _dir: tempfile::TempDir,
}

async fn sqlite_db() -> SqliteDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = switchboard::store::connect(&url)
        .await
        .expect("connect sqlite");
    store.migrate().await.expect("migrate sqlite");
    SqliteDb { store, _dir: dir }
}

struct PgDb {
    store: DynStore,
    db: support::pg::TestDb,
}

impl PgDb {
    async fn drop_database(self) {
        drop(self.store);
        self.db.drop_database().await;
    }
}

/// A fresh, migrated Postgres database, or `None` to skip (outside CI only).
async fn pg_db() -> Option<PgDb> {
    let db = support::pg::database().await?;
    let store = switchboard::store::connect(&db.url)
        .await
        .expect("connect postgres");
    store.migrate().await.expect("migrate postgres");
    Some(PgDb { store, db })
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = super::sqlite_db().await;
                    assert_eq!(db.store.backend(), "sqlite");
                    super::$name(db.store.clone()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(db) = super::pg_db().await else { return };
                    assert_eq!(db.store.backend(), "postgres");
                    // Run the body as a task so the database is dropped even if it panics.
                    let outcome = tokio::spawn(super::$name(db.store.clone())).await;
                    db.drop_database().await;
                    if let Err(e) = outcome {
                        std::panic::resume_unwind(e.into_panic());
                    }
                }
            )*
        }
    };
}

contract!(
    inbox_dedupes,
    inbox_batch_keeps_its_order,
    a_claim_reaches_past_rows_waiting_for_retry,
    inbox_claim_respects_run_at_and_leases,
    inbox_finish_and_retry,
    commit_new_then_existing,
    timestamps_are_stored_at_microsecond_precision,
    version_conflict_writes_nothing,
    new_ticket_with_existing_conversation_conflicts,
    messages_round_trip,
    history_keeps_order_and_content,
    jobs_are_created_per_effect_in_their_lanes,
    lanes_deliver_in_order,
    retry_job_counts_attempts_only_when_asked,
    fail_job_unblocks_the_lane,
    finish_job_records_chat_links,
    commit_consumes_a_job,
    once_marks_are_first_only_once_until_forgotten,
    finished_rows_are_never_overwritten_by_a_late_worker,
    commit_refuses_an_already_processed_inbox_row,
    concurrent_claimers_never_share_rows,
    concurrent_commits_on_one_ticket_conflict,
    concurrent_commits_stand_or_fall_alone,
    webhook_inserts_and_worker_writes_both_progress,
    find_tickets_filters_orders_and_limits,
    find_tickets_follows_updates,
    saved_replies_crud,
    saved_replies_import,
    tag_model_counts_uses_and_distinct_tokens,
    a_stale_job_claim_records_nothing,
    inbox_lanes_apply_in_order,
    failed_jobs_can_be_retried,
    enqueued_jobs_and_pending_lanes,
    undelivered_cards_are_taken_once,
    a_lane_knows_when_its_last_job_gave_up,
    jobs_can_be_queued_once,
    a_job_claim_reaches_past_jobs_waiting_for_retry,
    accounts_connect_reconnect_and_disconnect,
    polls_are_leased_and_recorded_with_their_rows,
    concurrent_pollers_never_share_an_account,
    refreshes_are_one_at_a_time_and_health_changes_once,
    account_alerts_are_pending_until_told,
    connecting_under_a_once_mark_is_all_or_nothing,
    account_notices_are_pending_until_posted,
    concurrent_notice_takers_never_share_a_notice,
    a_reconnect_outdates_work_on_the_old_grant,
    quota_is_counted_per_network_and_period,
    the_profile_last_used_is_remembered_per_channel_and_network,
    networks_fed_by_webhooks_are_not_claimed_for_polls,
    closed_tickets_are_archived_then_purged_with_everything_about_them,
    finished_rows_are_purged_after_the_period,
    a_lease_has_one_holder_until_it_ends,
    the_newest_ticket_is_kept_so_its_number_is_never_reused,
    tickets_since_pages_by_id,
    a_customers_tickets_and_raw_payloads_are_found_for_erasure,
    the_oldest_pending_inbox_row_is_reported,
    away_flags_are_per_teammate_and_surface,
    round_robin_counts_open_tickets_and_moves_its_cursor_once,
    statistics_count_a_known_history,
    a_storm_is_started_fed_and_ended_with_its_jobs,
    a_stale_storm_write_conflicts_and_writes_nothing,
    a_batch_recorded_after_an_erasure_queues_its_edit,
    an_ended_storm_is_forgotten_with_its_batches_once_its_tickets_are_purged,
    pacing_is_shared_by_concurrent_takers,
);

// ---- not backend-specific -------------------------------------------------------------------

#[tokio::test]
async fn connect_dispatches_on_the_url_scheme() {
    match switchboard::store::connect("mysql://localhost/db").await {
        Err(StoreError::UnsupportedUrl(url)) => assert_eq!(url, "mysql://localhost/db"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("mysql must be rejected"),
    }
    let store = switchboard::store::connect("sqlite::memory:")
        .await
        .expect("in-memory sqlite");
    store.migrate().await.expect("migrate");
    store.ping().await.expect("ping");
    assert_eq!(store.insert_inbox(&[inbox("a")], t0()).await.unwrap(), 1);
    assert_eq!(store.count_inbox().await.unwrap(), 1);
}

/// Two stores (two pools, as two replicas would have) writing the same SQLite file at once:
/// `BEGIN IMMEDIATE` + the busy timeout make them queue instead of failing with SQLITE_BUSY.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_writers_do_not_fail_busy() {
    let db = sqlite_db().await;
    let url = format!("sqlite://{}", db._dir.path().join("store.db").display());
    let second = switchboard::store::connect(&url).await.unwrap();
    let mut tasks = Vec::new();
    for (n, store) in [db.store.clone(), second]
        .into_iter()
        .cycle()
        .take(8)
        .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                let batch = [inbox(&format!("w{n}_{i}")), inbox(&format!("shared_{i}"))];
                store.insert_inbox(&batch, t0()).await.unwrap();
                store.claim_inbox(3, t0(), lease()).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(db.store.count_inbox().await.unwrap(), 8 * 50 + 50);
}

/// Data that does not decode is reported as corrupt, never unwrapped.
#[tokio::test]
async fn sqlite_corrupt_rows_are_reported() {
    let db = sqlite_db().await;
    let ticket = open(&db.store, "c1", "cust1", t0()).await;
    let url = format!("sqlite://{}", db._dir.path().join("store.db").display());
    let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE tickets SET state = '{\"not\": \"a ticket\"}'")
        .execute(&mut raw)
        .await
        .unwrap();
    sqlx::query("UPDATE outbox SET effect = 'garbage'")
        .execute(&mut raw)
        .await
        .unwrap();
    sqlx::query("UPDATE messages SET kind = 'shout'")
        .execute(&mut raw)
        .await
        .unwrap();
    raw.close().await.unwrap();
    let corrupt = |r: Result<_, StoreError>| matches!(r, Err(StoreError::Corrupt(_)));
    assert!(corrupt(db.store.ticket(ticket.id).await.map(|_| ())));
    // An undecodable job is set aside as failed (visible), not returned, not poisoning claims.
    assert_eq!(
        db.store.claim_jobs(10, t0(), lease()).await.unwrap(),
        vec![]
    );
    assert_eq!(db.store.count_jobs(JobStatus::Failed).await.unwrap(), 1);
    let failed = db.store.claim_jobs(10, at(1000), lease()).await.unwrap();
    assert!(failed.is_empty(), "not claimed again after its lease");
    assert!(corrupt(db.store.messages(ticket.id).await.map(|_| ())));
}

// ---- inbox ----------------------------------------------------------------------------------

async fn inbox_dedupes(store: DynStore) {
    // Duplicates inside one batch count once.
    let n = store
        .insert_inbox(&[inbox("a"), inbox("b"), inbox("a")], t0())
        .await
        .unwrap();
    assert_eq!(n, 2);
    // A redelivery inserts nothing.
    assert_eq!(store.insert_inbox(&[inbox("a")], at(1)).await.unwrap(), 0);
    // Mixed batch: only the new one counts.
    assert_eq!(
        store
            .insert_inbox(&[inbox("c"), inbox("b")], at(2))
            .await
            .unwrap(),
        1
    );
    // Same key from another source is another event.
    let slack = NewInbox {
        source: "slack".into(),
        ..inbox("a")
    };
    assert_eq!(store.insert_inbox(&[slack], at(3)).await.unwrap(), 1);
    assert_eq!(store.insert_inbox(&[], at(3)).await.unwrap(), 0);
    assert_eq!(store.count_inbox().await.unwrap(), 4);
    assert_eq!(store.count_pending_inbox().await.unwrap(), 4);
}

/// One batch's rows are claimed in the batch's order (their keys do not sort that way), one
/// lane included: that order is the order its events apply in.
async fn inbox_batch_keeps_its_order(store: DynStore) {
    let keys: Vec<String> = (0..40).map(|i| format!("k{}", (i * 7) % 40)).collect();
    let rows: Vec<NewInbox> = keys.iter().map(|k| laned(k, Some("ticket-1"))).collect();
    assert_eq!(store.insert_inbox(&rows, t0()).await.unwrap(), 40);
    let mut seen = Vec::new();
    for step in 1..=40 {
        let claimed = store.claim_inbox(40, at(step), lease()).await.unwrap();
        assert_eq!(claimed.len(), 1, "one lane: one row at a time");
        let row = claimed.into_iter().next().unwrap();
        seen.push(row.dedupe_key.clone());
        assert!(
            store
                .finish_inbox(row.claim(), None, at(step))
                .await
                .unwrap()
        );
    }
    assert_eq!(seen, keys);
}

/// Rows waiting for a retry at the head of the queue do not hide the claimable ones behind
/// them, however many there are (Postgres first looks at a window of the oldest rows).
async fn a_claim_reaches_past_rows_waiting_for_retry(store: DynStore) {
    let rows: Vec<NewInbox> = (0..40).map(|i| inbox(&format!("r{i:02}"))).collect();
    assert_eq!(store.insert_inbox(&rows, t0()).await.unwrap(), 40);
    let head = store.claim_inbox(30, t0(), lease()).await.unwrap();
    assert_eq!(head.len(), 30);
    for row in &head {
        let later = at(3600);
        assert!(
            store
                .retry_inbox(row.claim(), "down", later, true)
                .await
                .unwrap()
        );
    }
    let claimed = store.claim_inbox(2, at(1), lease()).await.unwrap();
    let keys: Vec<&str> = claimed.iter().map(|r| r.dedupe_key.as_str()).collect();
    assert_eq!(keys, ["r30", "r31"]);
    let rest = store.claim_inbox(50, at(1), lease()).await.unwrap();
    assert_eq!(rest.len(), 8, "the other rows behind the retries");
}

async fn inbox_claim_respects_run_at_and_leases(store: DynStore) {
    store.insert_inbox(&[inbox("a")], t0()).await.unwrap();
    // Not due before it was received.
    assert!(
        store
            .claim_inbox(10, at(-1), lease())
            .await
            .unwrap()
            .is_empty()
    );

    let claimed = store.claim_inbox(10, t0(), lease()).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let row = &claimed[0];
    assert_eq!(
        (
            row.source.as_str(),
            row.dedupe_key.as_str(),
            row.payload.as_str()
        ),
        ("meta", "a", r#"{"key":"a"}"#)
    );
    assert_eq!(row.attempts, 1);
    assert_eq!(row.received_at, t0());

    // Leased: nobody else gets it until the lease ends.
    assert!(
        store
            .claim_inbox(10, at(29), lease())
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_inbox(10, at(30), lease()).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, row.id);
    assert_eq!(again[0].attempts, 2);

    // Limit and order.
    store
        .insert_inbox(&[inbox("b"), inbox("c"), inbox("d")], at(31))
        .await
        .unwrap();
    let two = store.claim_inbox(2, at(31), lease()).await.unwrap();
    let keys: Vec<_> = two.iter().map(|r| r.dedupe_key.as_str()).collect();
    assert_eq!(keys, ["b", "c"]);
    assert!(two[0].id < two[1].id);
}

async fn inbox_finish_and_retry(store: DynStore) {
    store
        .insert_inbox(&[inbox("a"), inbox("b")], t0())
        .await
        .unwrap();
    let claimed = store.claim_inbox(10, t0(), lease()).await.unwrap();
    let (a, b) = (claimed[0].claim(), claimed[1].claim());

    // Finish: gone for good, still counted as received.
    assert!(
        store
            .finish_inbox(b, Some("irrelevant"), at(1))
            .await
            .unwrap()
    );
    assert_eq!(store.count_pending_inbox().await.unwrap(), 1);

    // Retry: the lease is released but the row waits for its retry time.
    assert!(store.retry_inbox(a, "boom", at(60), true).await.unwrap());
    assert!(
        store
            .claim_inbox(10, at(59), lease())
            .await
            .unwrap()
            .is_empty()
    );
    let retried = store.claim_inbox(10, at(60), lease()).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].id, retried[0].attempts), (a.id, 2));

    // The first claim is stale now: its holder records nothing.
    assert!(!store.finish_inbox(a, None, at(61)).await.unwrap());
    assert!(
        store
            .finish_inbox(retried[0].claim(), None, at(61))
            .await
            .unwrap()
    );
    // Retrying a processed row does not bring it back.
    assert!(
        !store
            .retry_inbox(retried[0].claim(), "late", at(62), true)
            .await
            .unwrap()
    );
    assert_eq!(store.count_pending_inbox().await.unwrap(), 0);
    assert_eq!(store.count_inbox().await.unwrap(), 2);
    assert!(
        store
            .claim_inbox(10, at(1000), lease())
            .await
            .unwrap()
            .is_empty()
    );
}

// ---- tickets --------------------------------------------------------------------------------

async fn commit_new_then_existing(store: DynStore) {
    let item = comment("c1", "cust1", "Where is my order?", at(-5));
    let decision = decide(None, &Event::CustomerMessage { item: item.clone() }, t0()).unwrap();
    let state = decision.state.clone();
    let outcome = store
        .commit(Commit {
            target: Target::New,
            decision,
            consumes: Consumes::Nothing,
            now: t0(),
            storm: None,
        })
        .await
        .unwrap();
    let CommitOutcome::Committed {
        ticket: id,
        version,
    } = outcome
    else {
        panic!("conflict on a new ticket");
    };
    assert_eq!(version, 1);
    let ticket = get(&store, id).await;
    assert_eq!(ticket.version, 1);
    assert_eq!(ticket.state, state);
    assert_eq!(
        store
            .ticket_by_conversation(&item.conversation_key())
            .await
            .unwrap(),
        Some(ticket.clone())
    );
    assert_eq!(store.ticket_by_conversation("nope").await.unwrap(), None);
    assert_eq!(store.ticket(TicketId(id.0 + 1000)).await.unwrap(), None);

    let event = Event::Action {
        teammate: teammate(),
        action: CardAction::Close,
    };
    let decision = decide(Some(&ticket), &event, at(10)).unwrap();
    let closed_state = decision.state.clone();
    let outcome = store
        .commit(Commit {
            target: Target::Existing { id, version: 1 },
            decision,
            consumes: Consumes::Nothing,
            now: at(10),
            storm: None,
        })
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CommitOutcome::Committed {
            ticket: id,
            version: 2
        }
    );
    let ticket = get(&store, id).await;
    assert_eq!(ticket.version, 2);
    assert_eq!(ticket.state, closed_state);
    assert_eq!(ticket.state.status, Status::Closed);
    assert_eq!(store.count_tickets().await.unwrap(), 1);
}

async fn timestamps_are_stored_at_microsecond_precision(store: DynStore) {
    let precise = t0() + Duration::nanoseconds(789);
    let item = comment("c1", "cust1", "hi", precise);
    let ticket = apply_ok(
        &store,
        None,
        Event::CustomerMessage { item: item.clone() },
        precise,
    )
    .await;
    assert_eq!(ticket.state.created_at, t0());
    assert_eq!(ticket.state.updated_at, t0());
    assert_eq!(ticket.state.last_customer_at, t0());
    let history = store.history(ticket.id).await.unwrap();
    assert_eq!(history.len(), 2, "opened + the first message");
    assert!(history.iter().all(|h| h.at == t0()));
    let message = store.message(&key_of(&item)).await.unwrap().unwrap();
    assert_eq!(message.created_at, t0());
    let jobs = store.claim_jobs(10, precise, lease()).await.unwrap();
    assert_eq!(jobs[0].created_at, t0());
}

async fn version_conflict_writes_nothing(store: DynStore) {
    let ticket = open(&store, "c1", "cust1", t0()).await;
    store.insert_inbox(&[inbox("e1")], t0()).await.unwrap();
    let inbox_id = store.claim_inbox(1, t0(), lease()).await.unwrap()[0].claim();
    // Someone else commits first.
    let closed = apply_ok(
        &store,
        Some(&ticket),
        Event::Action {
            teammate: teammate(),
            action: CardAction::MarkRead,
        },
        at(1),
    )
    .await;
    assert_eq!(closed.version, 2);
    let history_before = store.history(ticket.id).await.unwrap();
    let messages_before = store.messages(ticket.id).await.unwrap();
    let jobs_before = store.count_jobs(JobStatus::Pending).await.unwrap();

    // A stale decision (from version 1) with new content and effects.
    let item = comment("c2", "cust1", "Hello?", at(2));
    let outcome = apply(
        &store,
        Some(&ticket),
        Event::CustomerMessage { item: item.clone() },
        at(3),
        Consumes::Inbox(inbox_id),
    )
    .await;
    assert_eq!(outcome, CommitOutcome::Conflict);
    assert_eq!(get(&store, ticket.id).await, closed);
    assert_eq!(store.history(ticket.id).await.unwrap(), history_before);
    assert_eq!(store.messages(ticket.id).await.unwrap(), messages_before);
    assert_eq!(store.message(&key_of(&item)).await.unwrap(), None);
    assert_eq!(
        store.count_jobs(JobStatus::Pending).await.unwrap(),
        jobs_before
    );
    assert_eq!(store.count_pending_inbox().await.unwrap(), 1);

    // Re-read and decide again: it commits, and consumes the inbox row.
    let outcome = apply(
        &store,
        Some(&closed),
        Event::CustomerMessage { item },
        at(4),
        Consumes::Inbox(inbox_id),
    )
    .await;
    assert_eq!(
        outcome,
        CommitOutcome::Committed {
            ticket: ticket.id,
            version: 3
        }
    );
    assert_eq!(store.count_pending_inbox().await.unwrap(), 0);
    assert!(
        store
            .claim_inbox(10, at(100), lease())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn new_ticket_with_existing_conversation_conflicts(store: DynStore) {
    let ticket = open(&store, "c1", "cust1", t0()).await;
    let history_before = store.history(ticket.id).await.unwrap();
    let jobs_before = store.count_jobs(JobStatus::Pending).await.unwrap();
    // A second comment by the same customer under the same post, decided as if no ticket
    // existed yet (a race between two workers).
    let item = comment("c2", "cust1", "Anyone?", at(1));
    let outcome = apply(
        &store,
        None,
        Event::CustomerMessage { item: item.clone() },
        at(1),
        Consumes::Nothing,
    )
    .await;
    assert_eq!(outcome, CommitOutcome::Conflict);
    assert_eq!(store.count_tickets().await.unwrap(), 1);
    assert_eq!(store.history(ticket.id).await.unwrap(), history_before);
    assert_eq!(
        store.count_jobs(JobStatus::Pending).await.unwrap(),
        jobs_before
    );
    assert_eq!(store.message(&key_of(&item)).await.unwrap(), None);
    // Another customer under the same post is another conversation.
    let other = open(&store, "c3", "cust2", at(2)).await;
    assert_ne!(other.id, ticket.id);
    assert_eq!(store.count_tickets().await.unwrap(), 2);
}

async fn messages_round_trip(store: DynStore) {
    let first = comment("c1", "cust1", "Where is my order?", at(-5));
    let ticket = apply_ok(
        &store,
        None,
        Event::CustomerMessage {
            item: first.clone(),
        },
        t0(),
    )
    .await;
    let first_msg = Message {
        key: key_of(&first),
        ticket_id: ticket.id,
        kind: MessageKind::Customer,
        network_item_id: Some(first.item_id.clone()),
        teammate: None,
        chat: None,
        text: "Where is my order?".into(),
        delivery: None,
        edited: false,
        deleted: false,
        created_at: at(-5),
    };
    assert_eq!(
        store.message(&first_msg.key).await.unwrap(),
        Some(first_msg.clone())
    );

    // A teammate's reply: queued, then failed with a reason carrying text.
    let ticket = apply_ok(
        &store,
        Some(&ticket),
        reply_event("1.5", "On its way!"),
        at(10),
    )
    .await;
    let reply_key = MessageKey::from_chat(&chat("1.5"));
    let mut reply = Message {
        key: reply_key.clone(),
        ticket_id: ticket.id,
        kind: MessageKind::Reply,
        network_item_id: None,
        teammate: Some(teammate()),
        chat: Some(chat("1.5")),
        text: "On its way!".into(),
        delivery: Some(Delivery::Queued),
        edited: false,
        deleted: false,
        created_at: at(10),
    };
    assert_eq!(
        store.message(&reply_key).await.unwrap(),
        Some(reply.clone())
    );
    let reason = FailureReason::Rejected("Content looks like spam".into());
    let ticket = apply_ok(
        &store,
        Some(&ticket),
        Event::ReplyFailed {
            key: reply_key.clone(),
            reason: reason.clone(),
        },
        at(11),
    )
    .await;
    reply.delivery = Some(Delivery::Failed(reason.clone()));
    assert_eq!(
        store.message(&reply_key).await.unwrap(),
        Some(reply.clone())
    );
    assert_eq!(ticket.state.last_failure, Some(reason));

    // Then delivered: delivery and the network id change, nothing else.
    let ticket = apply_ok(
        &store,
        Some(&ticket),
        Event::ReplyDelivered {
            key: reply_key.clone(),
            network_item_id: NetworkItemId::new("post1_r9"),
            teammate: Some(teammate()),
            account: None,
        },
        at(12),
    )
    .await;
    reply.delivery = Some(Delivery::Delivered);
    reply.network_item_id = Some(NetworkItemId::new("post1_r9"));
    assert_eq!(
        store.message(&reply_key).await.unwrap(),
        Some(reply.clone())
    );

    // A second customer comment, edited then deleted.
    let second = comment("c2", "cust1", "Hello??", at(20));
    let ticket = apply_ok(
        &store,
        Some(&ticket),
        Event::CustomerMessage {
            item: second.clone(),
        },
        at(20),
    )
    .await;
    let ticket = apply_ok(
        &store,
        Some(&ticket),
        Event::CustomerEdited {
            key: key_of(&second),
            text: "Hello? Thanks!".into(),
            rating: None,
        },
        at(21),
    )
    .await;
    let mut second_msg = Message {
        key: key_of(&second),
        ticket_id: ticket.id,
        kind: MessageKind::Customer,
        network_item_id: Some(second.item_id.clone()),
        teammate: None,
        chat: None,
        text: "Hello? Thanks!".into(),
        delivery: None,
        edited: true,
        deleted: false,
        created_at: at(20),
    };
    assert_eq!(
        store.message(&second_msg.key).await.unwrap(),
        Some(second_msg.clone())
    );
    let ticket = apply_ok(
        &store,
        Some(&ticket),
        Event::CustomerDeleted {
            key: key_of(&second),
        },
        at(22),
    )
    .await;
    second_msg.deleted = true;
    assert_eq!(
        store.message(&second_msg.key).await.unwrap(),
        Some(second_msg.clone())
    );

    // A note (no delivery) and a redelivered insert that must not overwrite anything.
    let ticket = apply_ok(
        &store,
        Some(&ticket),
        Event::Note {
            teammate: teammate(),
            chat: chat("1.9"),
            text: "VIP customer".into(),
        },
        at(23),
    )
    .await;
    let note = store
        .message(&MessageKey::from_chat(&chat("1.9")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (note.kind, note.delivery.clone()),
        (MessageKind::Note, None)
    );
    let _ = apply_ok(
        &store,
        Some(&ticket),
        Event::CustomerMessage {
            item: comment("c2", "cust1", "duplicate insert", at(20)),
        },
        at(24),
    )
    .await;
    assert_eq!(
        store.message(&second_msg.key).await.unwrap(),
        Some(second_msg.clone())
    );

    // Oldest first.
    let all = store.messages(ticket.id).await.unwrap();
    assert_eq!(all, vec![first_msg, reply, second_msg, note]);
    assert_eq!(
        store
            .message(&MessageKey::new("in:facebook:nope"))
            .await
            .unwrap(),
        None
    );
}

async fn history_keeps_order_and_content(store: DynStore) {
    let item = comment("c1", "cust1", "Hi", at(-5));
    let d1 = decide(None, &Event::CustomerMessage { item: item.clone() }, t0()).unwrap();
    let ticket = apply_ok(
        &store,
        None,
        Event::CustomerMessage { item: item.clone() },
        t0(),
    )
    .await;
    let close = Event::Action {
        teammate: teammate(),
        action: CardAction::Close,
    };
    let d2 = decide(Some(&ticket), &close, at(5)).unwrap();
    let ticket = apply_ok(&store, Some(&ticket), close, at(5)).await;
    let failed = Event::ReplyFailed {
        key: MessageKey::new("chat:slack:T1:C1:9.9"),
        reason: FailureReason::Other("boom".into()),
    };
    let d3 = decide(Some(&ticket), &failed, at(6)).unwrap();
    apply_ok(&store, Some(&ticket), failed, at(6)).await;

    let history = store.history(ticket.id).await.unwrap();
    let expected: Vec<_> = [d1.history, d2.history, d3.history].concat();
    assert_eq!(history, expected);
    let kinds: Vec<_> = history.iter().map(|h| h.what.code()).collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "customer_message",
            "status_changed",
            "reply_failed"
        ]
    );
    assert_eq!(history[0].actor, Actor::Customer(CustomerId::new("cust1")));
    assert_eq!(history[2].actor, Actor::Teammate(teammate()));
    assert_eq!(
        history[2].what,
        HistoryKind::StatusChanged {
            from: Status::Unread,
            to: Status::Closed
        }
    );
    assert_eq!(history[3].actor, Actor::System);
    assert_eq!(
        store.history(TicketId(ticket.id.0 + 1)).await.unwrap(),
        vec![]
    );
}

// ---- outbox ---------------------------------------------------------------------------------

async fn jobs_are_created_per_effect_in_their_lanes(store: DynStore) {
    let ticket = open(&store, "c1", "cust1", t0()).await;
    let decision = decide(Some(&ticket), &reply_event("1.5", "Hi"), at(1)).unwrap();
    let effects = decision.effects.clone();
    assert_eq!(effects.len(), 3);
    store
        .commit(Commit {
            target: Target::Existing {
                id: ticket.id,
                version: ticket.version,
            },
            decision,
            consumes: Consumes::Nothing,
            now: at(1),
            storm: None,
        })
        .await
        .unwrap();
    assert_eq!(store.count_jobs(JobStatus::Pending).await.unwrap(), 4);

    // Drain the lanes in order, collecting every job.
    let mut jobs = Vec::new();
    for step in 0..10 {
        let claimed = store.claim_jobs(10, at(2 + step), lease()).await.unwrap();
        for job in &claimed {
            store
                .finish_job(job.claim(), &[], at(2 + step))
                .await
                .unwrap();
        }
        jobs.extend(claimed);
    }
    jobs.sort_by_key(|j| j.id);
    let got: Vec<_> = jobs
        .iter()
        .map(|j| (j.ticket, j.lane.clone(), j.effect.clone(), j.attempts))
        .collect();
    let mut want = vec![(
        ticket.id,
        format!("chat:{}", ticket.id),
        Effect::PostCard,
        1,
    )];
    for effect in effects {
        want.push((ticket.id, lane_of(ticket.id, &effect), effect, 1));
    }
    assert_eq!(got, want);
    assert_eq!(jobs[1].lane, format!("network:{}", ticket.id));
    assert_eq!(jobs[0].created_at, t0());
    assert_eq!(jobs[1].created_at, at(1));
    assert_eq!(store.count_jobs(JobStatus::Done).await.unwrap(), 4);
    assert_eq!(store.count_jobs(JobStatus::Pending).await.unwrap(), 0);
}

async fn lanes_deliver_in_order(store: DynStore) {
    let a = open(&store, "c1", "cust1", t0()).await;
    // PostCard (chat lane) is job 1; the reply adds SendReply (network), ShowDelivery and
    // UpdateCard (chat).
    apply_ok(&store, Some(&a), reply_event("1.5", "Hi"), at(1)).await;
    let claimed = store.claim_jobs(10, at(2), lease()).await.unwrap();
    let effects: Vec<_> = claimed.iter().map(|j| j.effect.clone()).collect();
    assert_eq!(
        effects,
        [
            Effect::PostCard,
            Effect::SendReply {
                key: MessageKey::from_chat(&chat("1.5")),
                not_before: None,
                reply_to: Some(a.state.reply_to.clone()),
                as_account: None,
            }
        ]
    );
    let (post_card, send_reply) = (claimed[0].claim(), claimed[1].id);

    // Another ticket's lane is not held up.
    let b = open(&store, "c9", "cust2", at(3)).await;
    let other = store.claim_jobs(10, at(3), lease()).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(
        (other[0].ticket, &other[0].effect),
        (b.id, &Effect::PostCard)
    );

    // The chat lane's second job waits for the first, even past its lease.
    assert!(
        store
            .claim_jobs(10, at(4), lease())
            .await
            .unwrap()
            .is_empty()
    );
    store.finish_job(post_card, &[], at(5)).await.unwrap();
    let next = store.claim_jobs(10, at(5), lease()).await.unwrap();
    assert_eq!(next.len(), 1);
    assert!(matches!(next[0].effect, Effect::ShowDelivery { .. }));
    store.finish_job(next[0].claim(), &[], at(6)).await.unwrap();
    let last = store.claim_jobs(10, at(6), lease()).await.unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].effect, Effect::UpdateCard);

    // The reply's lease expires: it is claimable again, with one more attempt.
    let again = store
        .claim_jobs(10, at(2) + lease(), lease())
        .await
        .unwrap();
    let ids: Vec<_> = again.iter().map(|j| (j.id, j.attempts)).collect();
    assert!(ids.contains(&(send_reply, 2)), "{ids:?}");
}

async fn retry_job_counts_attempts_only_when_asked(store: DynStore) {
    open(&store, "c1", "cust1", t0()).await;
    let job = store.claim_jobs(10, t0(), lease()).await.unwrap().remove(0);
    assert_eq!(job.attempts, 1);

    // A wait that is not a failure: the attempt is given back.
    store
        .retry_job(job.claim(), at(10), "waiting for pacing", false)
        .await
        .unwrap();
    assert!(
        store
            .claim_jobs(10, at(9), lease())
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_jobs(10, at(10), lease()).await.unwrap();
    assert_eq!((again[0].id, again[0].attempts), (job.id, 1));

    // A failure: the attempt counts.
    store
        .retry_job(again[0].claim(), at(20), "HTTP 500", true)
        .await
        .unwrap();
    assert!(
        store
            .claim_jobs(10, at(19), lease())
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_jobs(10, at(20), lease()).await.unwrap();
    assert_eq!((again[0].id, again[0].attempts), (job.id, 2));
    assert_eq!(again[0].last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(store.count_jobs(JobStatus::Pending).await.unwrap(), 1);

    // A wait after a failure keeps the failure's error (the next attempt must know that one
    // failed, maybe after the platform acted); a wait first records why it waits.
    store
        .retry_job(again[0].claim(), at(30), "waiting for pacing", false)
        .await
        .unwrap();
    let after_wait = store.claim_jobs(10, at(30), lease()).await.unwrap();
    assert_eq!(
        (after_wait[0].attempts, after_wait[0].last_error.as_deref()),
        (2, Some("HTTP 500"))
    );
    let fresh = open(&store, "c2", "cust2", at(31)).await;
    let waiting = store.claim_jobs(10, at(31), lease()).await.unwrap();
    let waiting = waiting
        .into_iter()
        .find(|j| j.ticket == fresh.id)
        .expect("the new ticket's job");
    store
        .retry_job(waiting.claim(), at(32), "waiting for pacing", false)
        .await
        .unwrap();
    let waited = store.claim_jobs(10, at(32), lease()).await.unwrap();
    let waited = waited
        .iter()
        .find(|j| j.id == waiting.id)
        .expect("claimed again");
    assert_eq!(
        (waited.attempts, waited.last_error.as_deref()),
        (1, Some("waiting for pacing"))
    );
}

async fn fail_job_unblocks_the_lane(store: DynStore) {
    let ticket = open(&store, "c1", "cust1", t0()).await;
    apply_ok(
        &store,
        Some(&ticket),
        Event::Action {
            teammate: teammate(),
            action: CardAction::MarkRead,
        },
        at(1),
    )
    .await;
    let first = store.claim_jobs(10, at(2), lease()).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].effect, Effect::PostCard);
    store
        .retry_job(first[0].claim(), at(2), "HTTP 500", true)
        .await
        .unwrap();
    let first = store.claim_jobs(10, at(2), lease()).await.unwrap();
    assert_eq!(first[0].attempts, 2);
    store
        .fail_job(first[0].claim(), "channel_not_found", at(3))
        .await
        .unwrap();

    assert_eq!(store.count_jobs(JobStatus::Failed).await.unwrap(), 1);
    assert_eq!(store.count_jobs(JobStatus::Pending).await.unwrap(), 1);
    let failed = store.failed_jobs(10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, first[0].id);
    assert_eq!(failed[0].ticket, ticket.id);
    assert_eq!(failed[0].effect, Effect::PostCard);
    assert_eq!(failed[0].attempts, 2);
    assert_eq!(failed[0].last_error, "channel_not_found");

    let next = store.claim_jobs(10, at(3), lease()).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].effect, Effect::UpdateCard);
    assert_eq!(store.failed_jobs(0).await.unwrap(), vec![]);
}

async fn finish_job_records_chat_links(store: DynStore) {
    let ticket = open(&store, "c1", "cust1", t0()).await;
    let first = comment("c1", "cust1", "", t0());
    let job = store.claim_jobs(10, t0(), lease()).await.unwrap().remove(0);
    let card = chat("100.1");
    let mirror = chat("100.2");
    let records = [
        JobRecord::LinkChat {
            chat: card.clone(),
            role: ChatRole::Card,
            message: None,
        },
        JobRecord::LinkChat {
            chat: mirror.clone(),
            role: ChatRole::ThreadMessage,
            message: Some(key_of(&first)),
        },
    ];
    assert_eq!(store.card_of(ticket.id).await.unwrap(), None);
    assert!(
        store
            .finish_job(job.claim(), &records, at(1))
            .await
            .unwrap()
    );
    // Finishing again is refused and harmless.
    assert!(
        !store
            .finish_job(job.claim(), &records, at(2))
            .await
            .unwrap()
    );

    assert_eq!(store.count_jobs(JobStatus::Done).await.unwrap(), 1);
    assert_eq!(store.ticket_by_chat(&card).await.unwrap(), Some(ticket.id));
    assert_eq!(
        store.ticket_by_chat(&mirror).await.unwrap(),
        Some(ticket.id)
    );
    assert_eq!(store.card_of(ticket.id).await.unwrap(), Some(card.clone()));
    assert_eq!(
        store.chat_of_message(&key_of(&first)).await.unwrap(),
        Some(mirror)
    );
    // The full reference matters: another channel or workspace is another message.
    let elsewhere = ChatRef {
        channel: "C2".into(),
        ..card.clone()
    };
    assert_eq!(store.ticket_by_chat(&elsewhere).await.unwrap(), None);
    let other_ws = ChatRef {
        workspace: "T2".into(),
        ..card
    };
    assert_eq!(store.ticket_by_chat(&other_ws).await.unwrap(), None);
    assert_eq!(
        store
            .chat_of_message(&MessageKey::new("in:facebook:nope"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.card_of(TicketId(ticket.id.0 + 1)).await.unwrap(),
        None
    );
}

async fn commit_consumes_a_job(store: DynStore) {
    let ticket = open(&store, "c1", "cust1", t0()).await;
    let ticket = apply_ok(&store, Some(&ticket), reply_event("1.5", "Hi"), at(1)).await;
    let key = MessageKey::from_chat(&chat("1.5"));
    let send = store
        .claim_jobs(10, at(2), lease())
        .await
        .unwrap()
        .into_iter()
        .find(|j| matches!(j.effect, Effect::SendReply { .. }))
        .expect("SendReply claimed");

    // The network accepted the reply: the worker commits the outcome and consumes the job.
    let outcome = apply(
        &store,
        Some(&ticket),
        Event::ReplyDelivered {
            key: key.clone(),
            network_item_id: NetworkItemId::new("post1_r1"),
            teammate: Some(teammate()),
            account: None,
        },
        at(3),
        Consumes::Job(send.claim()),
    )
    .await;
    assert!(matches!(
        outcome,
        CommitOutcome::Committed { version: 3, .. }
    ));
    let message = store.message(&key).await.unwrap().unwrap();
    assert_eq!(message.delivery, Some(Delivery::Delivered));
    assert_eq!(store.count_jobs(JobStatus::Done).await.unwrap(), 1);
    // Not claimable any more, even after its lease would have ended.
    let later = store.claim_jobs(100, at(1000), lease()).await.unwrap();
    assert!(later.iter().all(|j| j.id != send.id));
    assert_eq!(
        get(&store, ticket.id).await.state.last_replied_by,
        Some(teammate())
    );

    // A second worker whose lease ran out commits the same outcome: refused, nothing written.
    let current = get(&store, ticket.id).await;
    let history = store.history(ticket.id).await.unwrap();
    let outcome = apply(
        &store,
        Some(&current),
        Event::ReplyDelivered {
            key: key.clone(),
            network_item_id: NetworkItemId::new("post1_r2"),
            teammate: Some(teammate()),
            account: None,
        },
        at(4),
        Consumes::Job(send.claim()),
    )
    .await;
    assert_eq!(outcome, CommitOutcome::AlreadyConsumed);
    assert_eq!(get(&store, ticket.id).await, current);
    assert_eq!(store.history(ticket.id).await.unwrap(), history);
    let message = store.message(&key).await.unwrap().unwrap();
    assert_eq!(
        message.network_item_id,
        Some(NetworkItemId::new("post1_r1"))
    );
}

async fn commit_refuses_an_already_processed_inbox_row(store: DynStore) {
    assert_eq!(store.insert_inbox(&[inbox("e1")], t0()).await.unwrap(), 1);
    let row = store.claim_inbox(1, t0(), lease()).await.unwrap().remove(0);
    store.finish_inbox(row.claim(), None, at(1)).await.unwrap();
    let item = comment("c1", "cust1", "Hello?", at(2));
    let outcome = apply(
        &store,
        None,
        Event::CustomerMessage { item },
        at(3),
        Consumes::Inbox(row.claim()),
    )
    .await;
    assert_eq!(outcome, CommitOutcome::AlreadyConsumed);
    assert_eq!(store.count_tickets().await.unwrap(), 0);
    assert_eq!(store.count_jobs(JobStatus::Pending).await.unwrap(), 0);
}

/// Writes that arrive together may share one transaction (SQLite's group commit): a refused
/// one (its inbox claim no longer held, found after the ticket was written) leaves nothing,
/// the others all commit.
async fn concurrent_commits_stand_or_fall_alone(store: DynStore) {
    let rows: Vec<NewInbox> = (0..16).map(|i| inbox(&format!("e{i}"))).collect();
    assert_eq!(store.insert_inbox(&rows, t0()).await.unwrap(), 16);
    let claimed = store.claim_inbox(16, t0(), lease()).await.unwrap();
    assert_eq!(claimed.len(), 16);
    let mut tasks = Vec::new();
    for (i, row) in claimed.into_iter().enumerate() {
        let store = store.clone();
        let mut claim = row.claim();
        if i % 2 == 1 {
            claim.token += 1; // another worker's claim now
        }
        tasks.push(tokio::spawn(async move {
            let item = comment(&format!("c{i}"), &format!("cust{i}"), "Hello?", at(1));
            let key = key_of(&item);
            let event = Event::CustomerMessage { item };
            let outcome = apply(&store, None, event, at(2), Consumes::Inbox(claim)).await;
            (i, key, outcome)
        }));
    }
    let mut committed = HashSet::new();
    for task in tasks {
        let (i, key, outcome) = task.await.unwrap();
        let stored = store.message(&key).await.unwrap();
        match outcome {
            CommitOutcome::Committed { ticket, .. } if i % 2 == 0 => {
                assert_eq!(stored.map(|m| m.ticket_id), Some(ticket), "c{i} kept");
                committed.insert(ticket);
            }
            CommitOutcome::AlreadyConsumed if i % 2 == 1 => {
                assert!(stored.is_none(), "c{i} left nothing");
            }
            other => panic!("c{i}: unexpected {other:?}"),
        }
    }
    assert_eq!(committed.len(), 8);
    assert_eq!(store.count_tickets().await.unwrap(), 8);
    assert_eq!(
        store.count_pending_inbox().await.unwrap(),
        8,
        "refused rows still pending"
    );
    let jobs = store.claim_jobs(1000, at(3), lease()).await.unwrap();
    assert!(!jobs.is_empty());
    assert!(
        jobs.iter().all(|j| committed.contains(&j.ticket)),
        "jobs only for committed tickets"
    );
}

/// Webhook inserts are served ahead of the workers' writes, but a steady stream of them does
/// not starve the workers: commits queued behind a busy writer finish while webhooks keep
/// coming.
async fn webhook_inserts_and_worker_writes_both_progress(store: DynStore) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    const COMMITS: usize = 40;
    const STREAM_MAX: usize = 1_500;
    let stop = Arc::new(AtomicBool::new(false));
    let inserted = Arc::new(AtomicUsize::new(0));
    // Three webhook streams, each bounded so that a starving writer fails instead of hanging.
    let streams: Vec<_> = (0..3)
        .map(|s| {
            let (store, stop, inserted) = (store.clone(), stop.clone(), inserted.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) && n < STREAM_MAX {
                    store
                        .insert_inbox(&[inbox(&format!("s{s}-{n}"))], t0())
                        .await
                        .unwrap();
                    inserted.fetch_add(1, Ordering::SeqCst);
                    n += 1;
                }
                n
            })
        })
        .collect();
    let commits: Vec<_> = (0..COMMITS)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let item = comment(&format!("w{i}"), &format!("cust{i}"), "Hi", at(1));
                let event = Event::CustomerMessage { item };
                apply(&store, None, event, at(2), Consumes::Nothing).await
            })
        })
        .collect();
    // One more webhook while the commits are queued: answered (how long it waits behind them
    // is timing, which the ingest benchmark measures).
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    store.insert_inbox(&[inbox("probe")], t0()).await.unwrap();
    for c in commits {
        assert!(matches!(c.await.unwrap(), CommitOutcome::Committed { .. }));
    }
    stop.store(true, Ordering::SeqCst);
    for s in streams {
        assert!(
            s.await.unwrap() < STREAM_MAX,
            "the commits finished only after a webhook stream ended"
        );
    }
    assert_eq!(store.count_tickets().await.unwrap(), COMMITS as i64);
}

async fn concurrent_claimers_never_share_rows(store: DynStore) {
    // 30 tickets, one PostCard job each (30 lanes), and 200 inbox rows.
    for i in 0..30 {
        open(&store, &format!("c{i}"), &format!("cust{i}"), t0()).await;
    }
    let items: Vec<_> = (0..200).map(|i| inbox(&format!("e{i}"))).collect();
    assert_eq!(store.insert_inbox(&items, t0()).await.unwrap(), 200);

    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let (mut jobs, mut rows) = (Vec::new(), Vec::new());
            loop {
                let j = store.claim_jobs(3, at(1), lease()).await.unwrap();
                let r = store.claim_inbox(7, at(1), lease()).await.unwrap();
                if j.is_empty() && r.is_empty() {
                    break;
                }
                jobs.extend(j.into_iter().map(|j| j.id));
                rows.extend(r.into_iter().map(|r| r.id));
                tokio::task::yield_now().await;
            }
            (jobs, rows)
        }));
    }
    let (mut all_jobs, mut all_rows) = (Vec::new(), Vec::new());
    for task in tasks {
        let (jobs, rows) = task.await.unwrap();
        all_jobs.extend(jobs);
        all_rows.extend(rows);
    }
    let unique_jobs: HashSet<_> = all_jobs.iter().collect();
    let unique_rows: HashSet<_> = all_rows.iter().collect();
    assert_eq!(all_jobs.len(), 30, "every job claimed exactly once");
    assert_eq!(unique_jobs.len(), 30);
    assert_eq!(all_rows.len(), 200, "every inbox row claimed exactly once");
    assert_eq!(unique_rows.len(), 200);
}

async fn concurrent_commits_on_one_ticket_conflict(store: DynStore) {
    let ticket = open(&store, "c1", "cust1", t0()).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (store, ticket) = (store.clone(), ticket.clone());
        tasks.push(tokio::spawn(async move {
            let event = Event::Action {
                teammate: teammate(),
                action: CardAction::Close,
            };
            apply(&store, Some(&ticket), event, at(i + 1), Consumes::Nothing).await
        }));
    }
    let mut committed = 0;
    for task in tasks {
        match task.await.unwrap() {
            CommitOutcome::Committed { version, .. } => {
                assert_eq!(version, 2);
                committed += 1;
            }
            CommitOutcome::Conflict => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(committed, 1, "exactly one writer wins");
    assert_eq!(get(&store, ticket.id).await.version, 2);
    // One status change and one UpdateCard job from the winner only.
    assert_eq!(store.history(ticket.id).await.unwrap().len(), 3);
    assert_eq!(store.count_jobs(JobStatus::Pending).await.unwrap(), 2);
}

// ---- queries --------------------------------------------------------------------------------

/// Open a ticket and rewrite its filterable state directly (one commit of a hand-made decision).
async fn ticket_with(
    store: &DynStore,
    id: &str,
    status: Status,
    assignee: Option<Assignee>,
    account: &str,
    kind: ItemKind,
    updated_at: DateTime<Utc>,
) -> Ticket {
    let opened = open(store, id, &format!("cust_{id}"), t0()).await;
    let mut state = opened.state.clone();
    state.status = status;
    state.assignee = assignee;
    state.account = AccountId::new(account);
    state.kind = kind;
    state.updated_at = updated_at;
    let decision = Decision {
        state,
        history: vec![],
        messages: vec![],
        effects: vec![],
    };
    match store
        .commit(Commit {
            target: Target::Existing {
                id: opened.id,
                version: opened.version,
            },
            decision,
            consumes: Consumes::Nothing,
            now: updated_at,
            storm: None,
        })
        .await
        .expect("commit")
    {
        CommitOutcome::Committed { ticket, .. } => get(store, ticket).await,
        other => panic!("unexpected {other:?}"),
    }
}

fn person(id: &str) -> Assignee {
    Assignee::Person(Teammate {
        surface: Surface::Slack,
        id: ChatUserId::new(id),
    })
}

fn team(name: &str) -> Assignee {
    Assignee::Team(name.to_string())
}

async fn found(store: &DynStore, filter: Filter, limit: i64) -> Vec<TicketId> {
    store
        .find_tickets(&filter, limit)
        .await
        .expect("find_tickets")
        .into_iter()
        .map(|t| t.id)
        .collect()
}

async fn find_tickets_filters_orders_and_limits(store: DynStore) {
    use ItemKind::{Comment, VisitorPost};
    let s = &store;
    let t1 = ticket_with(s, "f1", Status::Unread, None, "page1", Comment, at(10)).await;
    let t2 = ticket_with(
        s,
        "f2",
        Status::Read,
        Some(person("U123")),
        "page1",
        VisitorPost,
        at(20),
    )
    .await;
    let t3 = ticket_with(
        s,
        "f3",
        Status::Closed,
        Some(team("support")),
        "page2",
        Comment,
        at(30),
    )
    .await;
    // Same updated_at as t3: the higher id comes first.
    let t4 = ticket_with(
        s,
        "f4",
        Status::Unread,
        Some(person("U999")),
        "page2",
        VisitorPost,
        at(30),
    )
    .await;
    let t5 = ticket_with(
        s,
        "f5",
        Status::Read,
        Some(team("sales")),
        "page1",
        Comment,
        at(5),
    )
    .await;
    let [t1, t2, t3, t4, t5] = [&t1, &t2, &t3, &t4, &t5].map(|t| t.id);
    assert!(t4 > t3);
    let f = Filter::default;

    // Empty filter: everything, most recently updated first, then id descending.
    assert_eq!(found(s, f(), 100).await, vec![t4, t3, t2, t1, t5]);
    assert_eq!(found(s, f(), 2).await, vec![t4, t3]);
    assert_eq!(found(s, f(), 0).await, vec![]);
    // Full tickets, as stored.
    let all = store.find_tickets(&f(), 100).await.unwrap();
    assert_eq!(all[0], get(s, t4).await);
    assert_eq!(all[0].state.assignee, Some(person("U999")));

    // Statuses.
    let statuses = |v: Vec<Status>| Filter { statuses: v, ..f() };
    assert_eq!(
        found(s, statuses(vec![Status::Unread]), 100).await,
        vec![t4, t1]
    );
    assert_eq!(
        found(s, statuses(vec![Status::Read, Status::Closed]), 100).await,
        vec![t3, t2, t5]
    );

    // Assignee.
    let assignee = |m: AssigneeMatch| Filter {
        assignee: Some(m),
        ..f()
    };
    assert_eq!(
        found(s, assignee(AssigneeMatch::Nobody), 100).await,
        vec![t1]
    );
    assert_eq!(
        found(s, assignee(AssigneeMatch::Anyone), 100).await,
        vec![t4, t3, t2, t5]
    );
    let keys = vec![person("U123").key(), team("support").key()];
    assert_eq!(
        found(s, assignee(AssigneeMatch::AnyOf(keys)), 100).await,
        vec![t3, t2]
    );
    let mine = vec![person("U999").key()];
    assert_eq!(
        found(s, assignee(AssigneeMatch::AnyOf(mine)), 100).await,
        vec![t4]
    );
    let sales = vec![team("sales").key()];
    assert_eq!(
        found(s, assignee(AssigneeMatch::AnyOf(sales)), 100).await,
        vec![t5]
    );
    assert_eq!(
        found(s, assignee(AssigneeMatch::AnyOf(vec![])), 100).await,
        vec![]
    );
    let unknown = vec!["team:nobody".to_string()];
    assert_eq!(
        found(s, assignee(AssigneeMatch::AnyOf(unknown)), 100).await,
        vec![]
    );

    // Network and account.
    let network = Filter {
        network: Some(Network::Facebook),
        ..f()
    };
    assert_eq!(found(s, network, 100).await, vec![t4, t3, t2, t1, t5]);
    let account = |a: &str| Filter {
        account: Some(AccountId::new(a)),
        ..f()
    };
    assert_eq!(found(s, account("page2"), 100).await, vec![t4, t3]);
    assert_eq!(found(s, account("page1"), 100).await, vec![t2, t1, t5]);
    assert_eq!(found(s, account("page3"), 100).await, vec![]);

    // Visibility: comments and visitor posts are public; no kind is private yet.
    let visibility = |v: Visibility| Filter {
        visibility: Some(v),
        ..f()
    };
    assert_eq!(
        found(s, visibility(Visibility::Public), 100).await,
        vec![t4, t3, t2, t1, t5]
    );
    assert_eq!(found(s, visibility(Visibility::Private), 100).await, vec![]);

    // Combined: every field narrows.
    let open_assigned_page1 = Filter {
        statuses: vec![Status::Unread, Status::Read],
        assignee: Some(AssigneeMatch::Anyone),
        network: Some(Network::Facebook),
        account: Some(AccountId::new("page1")),
        visibility: Some(Visibility::Public),
        route: None,
        storm: None,
    };
    assert_eq!(
        found(s, open_assigned_page1.clone(), 100).await,
        vec![t2, t5]
    );
    assert_eq!(found(s, open_assigned_page1, 1).await, vec![t2]);
    let queue = Filter {
        statuses: vec![Status::Unread],
        assignee: Some(AssigneeMatch::AnyOf(vec![
            person("U999").key(),
            person("U123").key(),
        ])),
        account: Some(AccountId::new("page2")),
        ..f()
    };
    assert_eq!(found(s, queue, 100).await, vec![t4]);
    let none = Filter {
        statuses: vec![Status::Closed],
        assignee: Some(AssigneeMatch::Nobody),
        ..f()
    };
    assert_eq!(found(s, none, 100).await, vec![]);
    let private_unread = Filter {
        statuses: vec![Status::Unread],
        visibility: Some(Visibility::Private),
        ..f()
    };
    assert_eq!(found(s, private_unread, 100).await, vec![]);
}

/// A ticket changing moves in the order and in and out of filters.
async fn find_tickets_follows_updates(store: DynStore) {
    let s = &store;
    let t1 = ticket_with(
        s,
        "u1",
        Status::Unread,
        None,
        "page1",
        ItemKind::Comment,
        at(10),
    )
    .await;
    let t2 = ticket_with(
        s,
        "u2",
        Status::Unread,
        None,
        "page1",
        ItemKind::Comment,
        at(20),
    )
    .await;
    assert_eq!(found(s, Filter::default(), 10).await, vec![t2.id, t1.id]);
    let assign = Event::Assign {
        teammate: teammate(),
        assignee: Some(team("support")),
        note: None,
    };
    let t1 = apply_ok(s, Some(&t1), assign, at(30)).await;
    assert_eq!(t1.state.updated_at, at(30));
    assert_eq!(found(s, Filter::default(), 10).await, vec![t1.id, t2.id]);
    let unassigned = Filter {
        assignee: Some(AssigneeMatch::Nobody),
        ..Filter::default()
    };
    assert_eq!(found(s, unassigned, 10).await, vec![t2.id]);
    let support = Filter {
        assignee: Some(AssigneeMatch::AnyOf(vec!["team:support".into()])),
        ..Filter::default()
    };
    assert_eq!(found(s, support, 10).await, vec![t1.id]);
}

// ---- saved replies --------------------------------------------------------------------------

async fn create(store: &DynStore, name: &str, body: &str, now: DateTime<Utc>) -> SavedReplyId {
    store
        .create_saved_reply(name, body, "slack:U123", now)
        .await
        .expect("create")
        .expect("name is free")
}

async fn names(store: &DynStore) -> Vec<String> {
    store
        .saved_replies()
        .await
        .expect("saved replies")
        .into_iter()
        .map(|r| r.name)
        .collect()
}

async fn revision(store: &DynStore) -> i64 {
    store.saved_replies_revision().await.expect("revision")
}

async fn saved_replies_crud(store: DynStore) {
    let s = &store;
    let mut rev = revision(s).await;
    assert_eq!(store.saved_replies().await.unwrap(), vec![]);

    // Create; the timestamp is stored at microsecond precision.
    let written_at = at(1) + Duration::nanoseconds(789);
    let shipping = create(s, "Shipping", "It ships in 2 days.", written_at).await;
    assert!(revision(s).await > rev);
    rev = revision(s).await;
    let stored = store.saved_reply(shipping).await.unwrap().expect("exists");
    assert_eq!(
        stored,
        SavedReply {
            id: shipping,
            name: "Shipping".into(),
            body: "It ships in 2 days.".into(),
            updated_by: "slack:U123".into(),
            updated_at: at(1),
        }
    );

    // The same name in another case is taken, beyond ASCII too; nothing changes.
    for taken in ["SHIPPING", "shipping", "Shipping"] {
        let r = store
            .create_saved_reply(taken, "other", "slack:U9", at(2))
            .await
            .unwrap();
        assert_eq!(r, Err(NameTaken), "{taken}");
    }
    assert_eq!(revision(s).await, rev);
    let cafe = create(s, "Café", "Coffee.", at(2)).await;
    let r = store
        .create_saved_reply("CAFÉ", "More coffee.", "slack:U9", at(2))
        .await
        .unwrap();
    assert_eq!(r, Err(NameTaken));
    let returns = create(s, "returns", "Send it back.", at(3)).await;
    create(s, "apology", "Sorry!", at(3)).await;
    create(s, "Zebra", "Stripes.", at(3)).await;
    assert!(revision(s).await > rev);
    rev = revision(s).await;

    // Listed by name, case-insensitively.
    assert_eq!(
        names(s).await,
        vec!["apology", "Café", "returns", "Shipping", "Zebra"]
    );

    // Reads do not change the revision.
    store.saved_replies().await.unwrap();
    store.saved_reply(cafe).await.unwrap();
    assert_eq!(revision(s).await, rev);

    // Update body and name.
    let w = store
        .update_saved_reply(shipping, "shipping times", "3 days.", "slack:U7", at(4))
        .await
        .unwrap();
    assert_eq!(w, SavedReplyWrite::Done);
    assert!(revision(s).await > rev);
    rev = revision(s).await;
    let stored = store.saved_reply(shipping).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.name.as_str(),
            stored.body.as_str(),
            stored.updated_by.as_str()
        ),
        ("shipping times", "3 days.", "slack:U7")
    );
    assert_eq!(stored.updated_at, at(4));

    // Renaming onto another reply's name (any case) is refused; nothing changes.
    for taken in ["RETURNS", "café"] {
        let w = store
            .update_saved_reply(shipping, taken, "x", "slack:U7", at(5))
            .await
            .unwrap();
        assert_eq!(w, SavedReplyWrite::NameTaken, "{taken}");
    }
    assert_eq!(revision(s).await, rev);
    assert_eq!(store.saved_reply(shipping).await.unwrap(), Some(stored));

    // Changing the case of its own name is fine.
    let w = store
        .update_saved_reply(shipping, "Shipping Times", "3 days.", "slack:U7", at(6))
        .await
        .unwrap();
    assert_eq!(w, SavedReplyWrite::Done);
    assert!(revision(s).await > rev);
    rev = revision(s).await;

    // Unknown id.
    let w = store
        .update_saved_reply(SavedReplyId(999_999), "Ghost", "boo", "slack:U7", at(7))
        .await
        .unwrap();
    assert_eq!(w, SavedReplyWrite::NotFound);
    assert_eq!(revision(s).await, rev);

    // Delete.
    assert!(store.delete_saved_reply(returns).await.unwrap());
    assert!(revision(s).await > rev);
    rev = revision(s).await;
    assert_eq!(store.saved_reply(returns).await.unwrap(), None);
    assert!(!store.delete_saved_reply(returns).await.unwrap());
    assert_eq!(revision(s).await, rev);
    assert_eq!(
        names(s).await,
        vec!["apology", "Café", "Shipping Times", "Zebra"]
    );
    // The freed name can be used again.
    create(s, "Returns", "Send it back.", at(8)).await;
    assert!(revision(s).await > rev);
}

async fn saved_replies_import(store: DynStore) {
    let s = &store;
    let greeting = create(s, "Greeting", "Hi.", at(1)).await;
    let mut rev = revision(s).await;
    let rows = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(n, b)| (n.to_string(), b.to_string()))
            .collect()
    };

    // Nothing to import: nothing changes.
    let counts = store.import_saved_replies(&[], "cli", at(2)).await.unwrap();
    assert_eq!(counts, ImportCounts::default());
    assert_eq!(revision(s).await, rev);

    // Upsert by name, case-insensitively; names differing only by case within one import are
    // one upsert (the last row wins).
    let batch = rows(&[
        ("greeting", "Hello."),
        ("Thanks", "Thank you."),
        ("THANKS", "Thank you!"),
        ("Bye", "Goodbye."),
    ]);
    let counts = store
        .import_saved_replies(&batch, "cli", at(3))
        .await
        .unwrap();
    assert_eq!(
        counts,
        ImportCounts {
            created: 2,
            updated: 1
        }
    );
    assert!(revision(s).await > rev);
    rev = revision(s).await;
    let updated = store.saved_reply(greeting).await.unwrap().unwrap();
    assert_eq!(
        updated,
        SavedReply {
            id: greeting,
            name: "greeting".into(),
            body: "Hello.".into(),
            updated_by: "cli".into(),
            updated_at: at(3),
        }
    );
    let listed = store.saved_replies().await.unwrap();
    let summary: Vec<_> = listed
        .iter()
        .map(|r| (r.name.as_str(), r.body.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Bye", "Goodbye."),
            ("greeting", "Hello."),
            ("THANKS", "Thank you!")
        ]
    );

    // Importing the same rows again creates nothing and leaves the same content.
    let counts = store
        .import_saved_replies(&batch, "cli", at(3))
        .await
        .unwrap();
    assert_eq!(
        counts,
        ImportCounts {
            created: 0,
            updated: 3
        }
    );
    assert_eq!(store.saved_replies().await.unwrap(), listed);
    assert!(revision(s).await > rev);
    rev = revision(s).await;

    // All or nothing: a row the database refuses (a blank name) undoes the rows before it.
    let bad = rows(&[
        ("Brand new", "x"),
        ("greeting", "changed"),
        ("   ", "blank"),
    ]);
    let err = store.import_saved_replies(&bad, "cli", at(4)).await;
    assert!(err.is_err(), "a blank name must be refused: {err:?}");
    assert_eq!(store.saved_replies().await.unwrap(), listed);
    assert_eq!(revision(s).await, rev);
}

// ---- tags -----------------------------------------------------------------------------------

async fn tag_model_counts_uses_and_distinct_tokens(store: DynStore) {
    let s = &store;
    let tokens = |v: &[&str]| -> Vec<String> { v.iter().map(|t| t.to_string()).collect() };
    assert_eq!(store.tag_model().await.unwrap(), TagModelData::default());
    assert_eq!(store.known_tags().await.unwrap(), Vec::<String>::new());

    s.record_tagging("billing", &tokens(&["refund", "card", "refund"]))
        .await
        .unwrap();
    s.record_tagging("billing", &tokens(&["refund"]))
        .await
        .unwrap();
    s.record_tagging("shipping", &tokens(&["late", "box"]))
        .await
        .unwrap();
    s.record_tagging("shipping", &tokens(&["late", "late"]))
        .await
        .unwrap();
    s.record_tagging("shipping", &[]).await.unwrap();
    s.record_tagging("abuse", &tokens(&["spam"])).await.unwrap();
    s.record_tagging("Zeta", &tokens(&["Zoo", "apple"]))
        .await
        .unwrap();

    let owned = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
        v.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    };
    let triples = |v: &[(&str, &str, i64)]| -> Vec<(String, String, i64)> {
        v.iter()
            .map(|(t, k, n)| (t.to_string(), k.to_string(), *n))
            .collect()
    };
    // Ordered by tag then token, bytewise (the same on both backends).
    assert_eq!(
        store.tag_model().await.unwrap(),
        TagModelData {
            uses: owned(&[("Zeta", 1), ("abuse", 1), ("billing", 2), ("shipping", 3)]),
            tokens: triples(&[
                ("Zeta", "Zoo", 1),
                ("Zeta", "apple", 1),
                ("abuse", "spam", 1),
                ("billing", "card", 1),
                ("billing", "refund", 2),
                ("shipping", "box", 1),
                ("shipping", "late", 2),
            ]),
        }
    );
    // Most used first, then by name.
    assert_eq!(
        store.known_tags().await.unwrap(),
        vec!["shipping", "billing", "Zeta", "abuse"]
    );

    // Many tokens at once (more than one statement's worth), with repeats.
    let many: Vec<String> = (0..1_200)
        .chain(0..300)
        .map(|i| format!("tok{i:04}"))
        .collect();
    s.record_tagging("bulk", &many).await.unwrap();
    s.record_tagging("bulk", &many[..10]).await.unwrap();
    let model = store.tag_model().await.unwrap();
    let bulk: Vec<_> = model.tokens.iter().filter(|t| t.0 == "bulk").collect();
    assert_eq!(bulk.len(), 1_200);
    assert_eq!(bulk.iter().filter(|t| t.2 == 2).count(), 10);
    assert!(bulk.windows(2).all(|w| w[0].1 < w[1].1));
    assert!(model.uses.contains(&("bulk".to_string(), 2)));
    assert_eq!(
        store.known_tags().await.unwrap(),
        vec!["shipping", "billing", "bulk", "Zeta", "abuse"]
    );
}

/// Rough ingest rate, one event per transaction (the webhook path). Run with
/// `cargo test --release --test store_contract sqlite_ingest_rate -- --ignored --nocapture`;
/// the real benchmark is `benches/ingest.rs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore]
async fn sqlite_ingest_rate() {
    let db = sqlite_db().await;
    let started = std::time::Instant::now();
    let n = 5_000;
    for i in 0..n {
        db.store
            .insert_inbox(&[inbox(&format!("e{i}"))], t0())
            .await
            .unwrap();
    }
    let rate = f64::from(n) / started.elapsed().as_secs_f64();
    eprintln!("sqlite insert_inbox: {rate:.0} events/s");
}

async fn once_marks_are_first_only_once_until_forgotten(store: DynStore) {
    assert!(store.first_time("token:facebook:1", t0()).await.unwrap());
    assert!(!store.first_time("token:facebook:1", at(1)).await.unwrap());
    assert!(
        store.first_time("token:facebook:2", at(2)).await.unwrap(),
        "keys are independent"
    );
    store.forget("token:facebook:1").await.unwrap();
    assert!(store.first_time("token:facebook:1", at(3)).await.unwrap());
    store.forget("never-set").await.unwrap();
}

async fn finished_rows_are_never_overwritten_by_a_late_worker(store: DynStore) {
    // Two tickets, one card-post job each.
    open(&store, "c1", "cust1", t0()).await;
    open(&store, "c2", "cust2", t0()).await;
    let jobs = store.claim_jobs(10, t0(), lease()).await.unwrap();
    assert_eq!(jobs.len(), 2);
    // A job done, then failed by a worker whose lease had run out: stays done.
    assert!(store.finish_job(jobs[0].claim(), &[], at(1)).await.unwrap());
    assert!(
        !store
            .fail_job(jobs[0].claim(), "late", at(2))
            .await
            .unwrap()
    );
    // A job failed, then finished late: stays failed, and its records are not kept.
    assert!(
        store
            .fail_job(jobs[1].claim(), "gave up", at(1))
            .await
            .unwrap()
    );
    let late = ChatRef {
        surface: Surface::Slack,
        workspace: "T1".into(),
        channel: "C1".into(),
        message: "9.9".into(),
    };
    let record = JobRecord::LinkChat {
        chat: late.clone(),
        role: ChatRole::Card,
        message: None,
    };
    store
        .finish_job(jobs[1].claim(), &[record], at(2))
        .await
        .unwrap();
    assert_eq!(store.count_jobs(JobStatus::Done).await.unwrap(), 1);
    assert_eq!(store.count_jobs(JobStatus::Failed).await.unwrap(), 1);
    assert_eq!(store.ticket_by_chat(&late).await.unwrap(), None);
}

// ---- claims, lanes, retries --------------------------------------------------------------

/// A worker whose lease ran out (another claimed the job since) records nothing: not done,
/// not retried, not failed, and its decision is not committed.
async fn a_stale_job_claim_records_nothing(store: DynStore) {
    open(&store, "c1", "cust1", t0()).await;
    let first = store.claim_jobs(10, t0(), lease()).await.unwrap().remove(0);
    // The lease runs out; a second worker claims the same job.
    let second = store
        .claim_jobs(10, t0() + lease(), lease())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(first.id, second.id);
    assert_ne!(first.claim, second.claim);
    assert!(!store.finish_job(first.claim(), &[], at(100)).await.unwrap());
    assert!(
        !store
            .retry_job(first.claim(), at(100), "late", true)
            .await
            .unwrap()
    );
    assert!(
        !store
            .fail_job(first.claim(), "late", at(100))
            .await
            .unwrap()
    );
    assert_eq!(store.count_jobs(JobStatus::Pending).await.unwrap(), 1);
    // The holder's result counts.
    assert!(
        store
            .finish_job(second.claim(), &[], at(101))
            .await
            .unwrap()
    );
    assert_eq!(store.count_jobs(JobStatus::Done).await.unwrap(), 1);
}

fn laned(key: &str, lane: Option<&str>) -> NewInbox {
    NewInbox {
        lane: lane.map(str::to_string),
        ..inbox(key)
    }
}

/// Rows of one lane are claimable one at a time, in id order, even while the earlier one
/// waits for a retry; other lanes (and unlaned rows) are not held up.
async fn inbox_lanes_apply_in_order(store: DynStore) {
    store
        .insert_inbox(
            &[
                laned("reply", Some("chat:m1")),
                laned("other", Some("chat:m2")),
                laned("delete", Some("chat:m1")),
                laned("free", None),
            ],
            t0(),
        )
        .await
        .unwrap();
    let claimed = store.claim_inbox(10, t0(), lease()).await.unwrap();
    let keys: Vec<_> = claimed.iter().map(|r| r.dedupe_key.as_str()).collect();
    assert_eq!(keys, ["reply", "other", "free"]);
    assert_eq!(claimed[0].lane.as_deref(), Some("chat:m1"));
    // The first of the lane fails and waits for its retry: the deletion still waits.
    assert!(
        store
            .retry_inbox(claimed[0].claim(), "HTTP 500", at(60), true)
            .await
            .unwrap()
    );
    for r in &claimed[1..] {
        store.finish_inbox(r.claim(), None, at(1)).await.unwrap();
    }
    assert!(
        store
            .claim_inbox(10, at(30), lease())
            .await
            .unwrap()
            .is_empty()
    );
    let retried = store.claim_inbox(10, at(60), lease()).await.unwrap();
    let keys: Vec<_> = retried.iter().map(|r| r.dedupe_key.as_str()).collect();
    assert_eq!(keys, ["reply"]);
    // A wait (not a failure) gives the attempt back.
    assert_eq!(retried[0].attempts, 2);
    assert!(
        store
            .retry_inbox(retried[0].claim(), "waiting", at(61), false)
            .await
            .unwrap()
    );
    let again = store.claim_inbox(10, at(61), lease()).await.unwrap();
    assert_eq!(again[0].attempts, 2);
    store
        .finish_inbox(again[0].claim(), None, at(62))
        .await
        .unwrap();
    let last = store.claim_inbox(10, at(62), lease()).await.unwrap();
    let keys: Vec<_> = last.iter().map(|r| r.dedupe_key.as_str()).collect();
    assert_eq!(keys, ["delete"]);
}

/// `outbox retry`: given-up jobs become pending and due, attempts and budget start afresh.
async fn failed_jobs_can_be_retried(store: DynStore) {
    open(&store, "c1", "cust1", t0()).await;
    open(&store, "c2", "cust2", t0()).await;
    let jobs = store.claim_jobs(10, t0(), lease()).await.unwrap();
    assert_eq!(jobs.len(), 2);
    for j in &jobs {
        assert!(store.fail_job(j.claim(), "gave up", at(1)).await.unwrap());
        store
            .record_undelivered_card(j.ticket, Surface::Slack, "C1", at(1))
            .await
            .unwrap();
    }
    assert_eq!(store.count_jobs(JobStatus::Failed).await.unwrap(), 2);
    assert_eq!(store.retry_failed_jobs(Some(&[]), at(5)).await.unwrap(), 0);
    assert_eq!(
        store
            .retry_failed_jobs(Some(&[jobs[1].id, 9_999]), at(5))
            .await
            .unwrap(),
        1
    );
    let again = store.claim_jobs(10, at(5), lease()).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].id, again[0].attempts, again[0].budget_from),
        (jobs[1].id, 1, at(5))
    );
    assert_eq!(store.retry_failed_jobs(None, at(6)).await.unwrap(), 1);
    assert_eq!(store.count_jobs(JobStatus::Failed).await.unwrap(), 0);
    assert_eq!(store.count_jobs(JobStatus::Pending).await.unwrap(), 2);
    // Retried cards are no longer undelivered: a card posted in C1 re-posts neither.
    let c = open(&store, "c3", "cust3", at(7)).await;
    assert!(
        store
            .requeue_undelivered_cards(Surface::Slack, "C1", c.id, at(7))
            .await
            .unwrap()
            .is_empty()
    );
}

/// A job queued outside a decision runs in its own lane; `lane_pending` sees it until done;
/// the oldest due job is reported for readiness.
async fn enqueued_jobs_and_pending_lanes(store: DynStore) {
    let t = open(&store, "c1", "cust1", t0()).await;
    assert_eq!(store.oldest_due_job(t0()).await.unwrap(), Some(t0()));
    let first = store.claim_jobs(10, t0(), lease()).await.unwrap().remove(0);
    store.finish_job(first.claim(), &[], at(1)).await.unwrap();
    assert_eq!(store.oldest_due_job(at(1)).await.unwrap(), None);
    assert!(!store.lane_pending("card:1").await.unwrap());
    let id = store
        .enqueue_job(t.id, &format!("card:{}", t.id), &Effect::PostCard, at(2))
        .await
        .unwrap();
    assert!(store.lane_pending(&format!("card:{}", t.id)).await.unwrap());
    // Not due before its time.
    assert_eq!(store.oldest_due_job(at(1)).await.unwrap(), None);
    let job = store
        .claim_jobs(10, at(2), lease())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (job.id, job.ticket, &job.effect),
        (id, t.id, &Effect::PostCard)
    );
    store.finish_job(job.claim(), &[], at(3)).await.unwrap();
    assert!(!store.lane_pending(&format!("card:{}", t.id)).await.unwrap());
}

/// The jobs of a lane that gave up since its last done one are told (with when the earliest
/// was queued) to the jobs after them, until one of those finishes as done; other lanes are
/// apart.
async fn a_lane_knows_when_its_last_job_gave_up(store: DynStore) {
    let t = open(&store, "c1", "cust1", t0()).await;
    for j in store.claim_jobs(10, t0(), lease()).await.unwrap() {
        store.finish_job(j.claim(), &[], t0()).await.unwrap();
    }
    let lane = "storm-thread:1";
    let queue = |at| {
        let store = store.clone();
        async move {
            store
                .enqueue_job(t.id, lane, &Effect::PostCard, at)
                .await
                .unwrap()
        }
    };
    let claim_one = || async {
        let mut jobs = store.claim_jobs(10, at(10), lease()).await.unwrap();
        assert_eq!(jobs.len(), 1);
        jobs.remove(0)
    };
    // Two give up in a row: the next job hears of the earlier one.
    let first = queue(at(1)).await;
    assert_eq!(store.gave_up_before(lane, first).await.unwrap(), None);
    let job = claim_one().await;
    assert!(
        store
            .fail_job(job.claim(), "Slack: 500", at(2))
            .await
            .unwrap()
    );
    let second = queue(at(3)).await;
    assert_eq!(
        store.gave_up_before(lane, second).await.unwrap(),
        Some(at(1))
    );
    let job = claim_one().await;
    assert!(
        store
            .fail_job(job.claim(), "Slack: 500", at(4))
            .await
            .unwrap()
    );
    let third = queue(at(5)).await;
    let fourth = queue(at(6)).await;
    assert_eq!(
        store.gave_up_before(lane, third).await.unwrap(),
        Some(at(1)),
        "the earliest since the last done"
    );
    // Not before the jobs that gave up, not in another lane.
    assert_eq!(store.gave_up_before(lane, first).await.unwrap(), None);
    let elsewhere = store.gave_up_before("storm-thread:2", third).await;
    assert_eq!(elsewhere.unwrap(), None);
    // A pending job in between does not count; a job done after them clears them.
    assert_eq!(
        store.gave_up_before(lane, fourth).await.unwrap(),
        Some(at(1))
    );
    let job = claim_one().await;
    assert_eq!(job.id, third);
    assert!(store.finish_job(job.claim(), &[], at(7)).await.unwrap());
    assert_eq!(store.gave_up_before(lane, fourth).await.unwrap(), None);
    // A done job at or after `before` does not clear what came before it.
    assert_eq!(
        store.gave_up_before(lane, third).await.unwrap(),
        Some(at(1))
    );
    // Done, then another gives up: the later one counts.
    let job = claim_one().await;
    assert_eq!(job.id, fourth);
    assert!(
        store
            .fail_job(job.claim(), "Slack: 500", at(8))
            .await
            .unwrap()
    );
    // A job of another lane done meanwhile clears nothing here.
    let other = store
        .enqueue_job(t.id, "storm-thread:2", &Effect::PostCard, at(9))
        .await
        .unwrap();
    let job = claim_one().await;
    assert_eq!(job.id, other);
    assert!(store.finish_job(job.claim(), &[], at(9)).await.unwrap());
    let fifth = queue(at(10)).await;
    assert_eq!(
        store.gave_up_before(lane, fifth).await.unwrap(),
        Some(at(6))
    );
}

/// Cards that could not be posted are remembered per channel and, once a card is posted
/// there, re-queued exactly once (with the notice for the posted card), in one transaction.
async fn undelivered_cards_are_taken_once(store: DynStore) {
    let a = open(&store, "c1", "cust1", t0()).await;
    let b = open(&store, "c2", "cust2", t0()).await;
    let c = open(&store, "c3", "cust3", t0()).await;
    let d = open(&store, "c4", "cust4", t0()).await;
    for j in store.claim_jobs(10, t0(), lease()).await.unwrap() {
        store.finish_job(j.claim(), &[], t0()).await.unwrap();
    }
    assert!(!store.any_undelivered_cards().await.unwrap());
    for t in [&c, &b, &a] {
        store
            .record_undelivered_card(t.id, Surface::Slack, "C1", at(1))
            .await
            .unwrap();
    }
    // Recording twice is harmless.
    store
        .record_undelivered_card(b.id, Surface::Slack, "C1", at(2))
        .await
        .unwrap();
    store
        .record_undelivered_card(d.id, Surface::Discord, "C1", at(1))
        .await
        .unwrap();
    let requeue = |surface, channel: &'static str, posted| {
        let store = store.clone();
        async move {
            store
                .requeue_undelivered_cards(surface, channel, posted, at(3))
                .await
                .unwrap()
        }
    };
    assert!(store.any_undelivered_cards().await.unwrap());
    assert!(requeue(Surface::Slack, "C2", a.id).await.is_empty());
    assert_eq!(store.count_jobs(JobStatus::Pending).await.unwrap(), 0);
    // `a`'s own card was just posted: its record goes, the others are re-posted.
    assert_eq!(requeue(Surface::Slack, "C1", a.id).await, vec![b.id, c.id]);
    let mut queued: Vec<_> = store
        .claim_jobs(10, at(3), lease())
        .await
        .unwrap()
        .into_iter()
        .map(|j| (j.ticket, j.lane, j.effect))
        .collect();
    queued.sort_by_key(|(t, lane, _)| (*t, lane.clone()));
    let notice = Effect::CardsPostedLate {
        tickets: vec![b.id, c.id],
    };
    assert_eq!(
        queued,
        vec![
            (a.id, switchboard::store::lane_of(a.id, &notice), notice),
            (b.id, format!("card:{}", b.id), Effect::PostCard),
            (c.id, format!("card:{}", c.id), Effect::PostCard),
        ]
    );
    assert!(requeue(Surface::Slack, "C1", a.id).await.is_empty());
    assert!(
        store.any_undelivered_cards().await.unwrap(),
        "d's record is left"
    );
    assert_eq!(requeue(Surface::Discord, "C1", a.id).await, vec![d.id]);
    // Nothing lost, nothing queued without its record being taken.
    assert!(requeue(Surface::Discord, "C1", a.id).await.is_empty());
    assert!(!store.any_undelivered_cards().await.unwrap());
}

/// Jobs waiting for a retry at the head of the outbox do not hide the ones behind them
/// (Postgres first looks at a window of the oldest jobs).
async fn a_job_claim_reaches_past_jobs_waiting_for_retry(store: DynStore) {
    let t = open(&store, "c1", "cust1", t0()).await;
    for j in store.claim_jobs(10, t0(), lease()).await.unwrap() {
        store.finish_job(j.claim(), &[], t0()).await.unwrap();
    }
    // Each job in its own lane, so none waits behind another.
    for i in 0..40 {
        let (key, lane) = (format!("job:{i:02}"), format!("lane:{i:02}"));
        let queued = store.enqueue_job_once(&key, t.id, &lane, &Effect::PostCard, at(1));
        assert!(queued.await.unwrap());
    }
    let head = store.claim_jobs(30, at(2), lease()).await.unwrap();
    assert_eq!(head.len(), 30);
    for j in &head {
        assert!(
            store
                .retry_job(j.claim(), at(3600), "down", true)
                .await
                .unwrap()
        );
    }
    let claimed = store.claim_jobs(2, at(3), lease()).await.unwrap();
    let lanes: Vec<&str> = claimed.iter().map(|j| j.lane.as_str()).collect();
    assert_eq!(lanes, ["lane:30", "lane:31"]);
    assert_eq!(store.claim_jobs(50, at(3), lease()).await.unwrap().len(), 8);
}

/// A job guarded by a once-mark is queued with the mark, and only the first time.
async fn jobs_can_be_queued_once(store: DynStore) {
    let t = open(&store, "c1", "cust1", t0()).await;
    for j in store.claim_jobs(10, t0(), lease()).await.unwrap() {
        store.finish_job(j.claim(), &[], t0()).await.unwrap();
    }
    let lane = format!("card:{}", t.id);
    let once = |at| {
        let (store, lane) = (store.clone(), lane.clone());
        async move {
            store
                .enqueue_job_once("card-repost:1", t.id, &lane, &Effect::PostCard, at)
                .await
                .unwrap()
        }
    };
    assert!(once(at(1)).await);
    assert!(!once(at(2)).await);
    assert_eq!(store.count_jobs(JobStatus::Pending).await.unwrap(), 1);
    assert!(!store.first_time("card-repost:1", at(3)).await.unwrap());
    store.forget("card-repost:1").await.unwrap();
    assert!(once(at(4)).await);
    assert_eq!(store.count_jobs(JobStatus::Pending).await.unwrap(), 2);
}

// ---- connected accounts -----------------------------------------------------------------------

fn youtube(id: &str, name: &str, credentials: &[u8]) -> NewAccount {
    NewAccount {
        network: Network::Youtube,
        account_id: AccountId::new(id),
        name: name.into(),
        surface: Surface::Slack,
        channel: "C1".into(),
        credentials: credentials.to_vec(),
        connected_by: Some("U1".into()),
    }
}

fn polled(rows: Vec<NewInbox>, cursor: Option<&str>, next: DateTime<Utc>) -> PollOutcome {
    PollOutcome {
        rows,
        cursor: cursor.map(str::to_string),
        next_poll_at: next,
        error: None,
    }
}

/// Connecting stores the account due now; reconnecting the same network id replaces its
/// name, destination and credentials, makes it healthy, and keeps its cursor.
async fn accounts_connect_reconnect_and_disconnect(store: DynStore) {
    let a = store
        .connect_account(&youtube("UC1", "Acme", b"sealed-1"), t0())
        .await
        .unwrap();
    assert_eq!(
        (
            a.network,
            a.account_id.as_str(),
            a.name.as_str(),
            a.channel.as_str()
        ),
        (Network::Youtube, "UC1", "Acme", "C1")
    );
    assert_eq!(
        (a.credentials.as_slice(), a.credentials_version),
        (&b"sealed-1"[..], 1)
    );
    assert_eq!(
        (a.unhealthy.clone(), a.next_poll_at, a.connected_at),
        (None, t0(), t0())
    );
    assert!(
        !format!("{a:?}").contains("sealed-1"),
        "credentials stay out of Debug"
    );
    let b = store
        .connect_account(&youtube("UC2", "Beta", b"sealed-2"), at(1))
        .await
        .unwrap();
    assert_ne!(a.id, b.id);
    // A poll gives it a cursor; it goes unhealthy; then it is reconnected elsewhere.
    let (_, claim) = store.claim_poll(at(2), lease()).await.unwrap().unwrap();
    assert_eq!(claim.id, a.id);
    assert!(
        store
            .finish_poll(claim, &polled(vec![], Some("mark-1"), at(60)), at(2))
            .await
            .unwrap()
    );
    assert!(
        store
            .set_account_health(a.id, Some("invalid_grant"))
            .await
            .unwrap()
    );
    let mut again = youtube("UC1", "Acme Channel", b"sealed-3");
    again.channel = "C9".into();
    let r = store.connect_account(&again, at(3)).await.unwrap();
    assert_eq!(r.id, a.id);
    assert_eq!(
        (
            r.name.as_str(),
            r.channel.as_str(),
            r.credentials.as_slice()
        ),
        ("Acme Channel", "C9", &b"sealed-3"[..])
    );
    assert_eq!(r.credentials_version, 2);
    assert_eq!(
        (r.unhealthy, r.cursor.as_deref(), r.next_poll_at),
        (None, Some("mark-1"), at(3))
    );
    let listed: Vec<_> = store
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(listed, vec![a.id, b.id]);
    assert_eq!(
        store
            .account_by_network_id(Network::Youtube, "UC2")
            .await
            .unwrap()
            .map(|x| x.id),
        Some(b.id)
    );
    assert!(
        store
            .account_by_network_id(Network::Google, "UC2")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .disconnect_account(b.id)
            .await
            .unwrap()
            .map(|x| x.name),
        Some("Beta".into())
    );
    assert!(store.disconnect_account(b.id).await.unwrap().is_none());
    assert!(store.account(b.id).await.unwrap().is_none());
    assert_eq!(store.account(a.id).await.unwrap().map(|x| x.id), Some(a.id));
}

/// One poll per account at a time: a claimed account is not claimed again until its lease
/// runs out; a poll's rows, cursor and next time are written together; a stale claim writes
/// nothing; unhealthy accounts are not polled.
async fn polls_are_leased_and_recorded_with_their_rows(store: DynStore) {
    let a = store
        .connect_account(&youtube("UC1", "A", b"x"), t0())
        .await
        .unwrap();
    let b = store
        .connect_account(&youtube("UC2", "B", b"x"), at(1))
        .await
        .unwrap();
    assert!(
        store
            .claim_poll(t0() - Duration::seconds(1), lease())
            .await
            .unwrap()
            .is_none()
    );
    let (first, c1) = store.claim_poll(at(2), lease()).await.unwrap().unwrap();
    let (second, c2) = store.claim_poll(at(2), lease()).await.unwrap().unwrap();
    assert_eq!((first.id, second.id), (a.id, b.id), "most overdue first");
    assert!(store.claim_poll(at(2), lease()).await.unwrap().is_none());
    // The poll of `a` records two rows (one a duplicate of a webhook-era row) and its mark.
    assert_eq!(
        store.insert_inbox(&[inbox("yt:1")], at(2)).await.unwrap(),
        1
    );
    let rows = vec![inbox("yt:1"), inbox("yt:2")];
    assert!(
        store
            .finish_poll(c1, &polled(rows, Some("mark-a"), at(100)), at(3))
            .await
            .unwrap()
    );
    assert_eq!(store.count_inbox().await.unwrap(), 2);
    let a_now = store.account(a.id).await.unwrap().unwrap();
    assert_eq!(
        (a_now.cursor.as_deref(), a_now.next_poll_at),
        (Some("mark-a"), at(100))
    );
    // `b`'s poller died: its lease runs out and another replica takes it over; the old
    // claim then records nothing, not even its rows.
    assert!(
        store
            .claim_poll(at(2) + lease() - Duration::seconds(1), lease())
            .await
            .unwrap()
            .is_none()
    );
    let (taken, c2b) = store
        .claim_poll(at(2) + lease(), lease())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.id, b.id);
    assert_ne!(c2b.token, c2.token);
    assert!(
        !store
            .finish_poll(
                c2,
                &polled(vec![inbox("yt:3")], Some("stale"), at(200)),
                at(40)
            )
            .await
            .unwrap()
    );
    assert_eq!(store.count_inbox().await.unwrap(), 2);
    // A failed poll keeps its cursor and says why.
    let failed = PollOutcome {
        rows: vec![],
        cursor: None,
        next_poll_at: at(300),
        error: Some("quotaExceeded".into()),
    };
    assert!(store.finish_poll(c2b, &failed, at(41)).await.unwrap());
    let b_now = store.account(b.id).await.unwrap().unwrap();
    assert_eq!(
        (
            b_now.cursor,
            b_now.next_poll_at,
            b_now.last_error.as_deref()
        ),
        (None, at(300), Some("quotaExceeded"))
    );
    // Due again, but unhealthy: not polled.
    assert!(
        store
            .set_account_health(a.id, Some("revoked"))
            .await
            .unwrap()
    );
    assert!(store.claim_poll(at(150), lease()).await.unwrap().is_none());
    assert!(store.set_account_health(a.id, None).await.unwrap());
    assert_eq!(
        store
            .claim_poll(at(150), lease())
            .await
            .unwrap()
            .map(|(x, _)| x.id),
        Some(a.id)
    );
}

/// A reconnect replaces the grant: a poll or a refresh still running on the old one records
/// nothing, and the old grant's death does not mark the reconnected account.
async fn a_reconnect_outdates_work_on_the_old_grant(store: DynStore) {
    let a = store
        .connect_account(&youtube("UCre", "Re", b"old grant"), t0())
        .await
        .unwrap();
    let (polling, poll) = store
        .claim_poll(at(1), lease())
        .await
        .unwrap()
        .expect("due");
    let refresh = store
        .claim_refresh(a.id, at(1), lease())
        .await
        .unwrap()
        .expect("free");
    // Reconnected while both run.
    let again = store
        .connect_account(&youtube("UCre", "Re", b"new grant"), at(2))
        .await
        .unwrap();
    assert_eq!(again.id, a.id);
    assert!(again.credentials_version > polling.credentials_version);
    let outcome = PollOutcome {
        rows: vec![inbox("yt:old")],
        cursor: Some("from the old grant".into()),
        next_poll_at: at(60),
        error: None,
    };
    assert!(!store.finish_poll(poll, &outcome, at(3)).await.unwrap());
    assert!(
        !store
            .store_refreshed(refresh, b"refreshed old grant")
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_credentials_dead(a.id, polling.credentials_version, "invalid_grant")
            .await
            .unwrap()
    );
    let now = store.account(a.id).await.unwrap().unwrap();
    assert_eq!(now.credentials, b"new grant".to_vec());
    assert_eq!((now.unhealthy, now.cursor), (None, None));
    assert_eq!(store.count_inbox().await.unwrap(), 0);
    // The new grant's own death does mark it, once.
    assert!(
        store
            .mark_credentials_dead(a.id, now.credentials_version, "invalid_grant")
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_credentials_dead(a.id, now.credentials_version, "invalid_grant")
            .await
            .unwrap()
    );
    // Free to poll and refresh at once under the new grant.
    assert!(
        store
            .claim_refresh(a.id, at(4), lease())
            .await
            .unwrap()
            .is_some()
    );
}

/// Quota units add up per network and period, whoever spends them; ended periods go.
async fn quota_is_counted_per_network_and_period(store: DynStore) {
    let today = at(86_400);
    let tomorrow = at(2 * 86_400);
    let charge = |network, resets_at, units, now| {
        let store = store.clone();
        async move {
            store
                .charge_quota(network, resets_at, units, now)
                .await
                .unwrap()
        }
    };
    assert_eq!(charge(Network::Youtube, today, 4, at(1)).await, 4);
    assert_eq!(charge(Network::Youtube, today, 50, at(2)).await, 54);
    assert_eq!(charge(Network::Google, today, 1, at(3)).await, 1);
    // Concurrent charges all count.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .charge_quota(Network::Youtube, today, 1, at(4))
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(charge(Network::Youtube, today, 0, at(5)).await, 62);
    // A new period starts from nothing; the ended one is forgotten.
    assert_eq!(charge(Network::Youtube, tomorrow, 3, at(86_401)).await, 3);
    assert_eq!(charge(Network::Youtube, today, 0, at(86_402)).await, 0);
}

/// The reply profile last used in a channel on a network: the newest use wins, per channel
/// and network.
async fn the_profile_last_used_is_remembered_per_channel_and_network(store: DynStore) {
    use switchboard::core::Surface;
    let last = |surface, channel: &'static str, network| {
        let store = store.clone();
        async move {
            store
                .last_reply_profile(surface, channel, network)
                .await
                .unwrap()
                .map(|a| a.to_string())
        }
    };
    assert_eq!(last(Surface::Slack, "C1", Network::X).await, None);
    let note = |channel: &'static str, network, account: &'static str, t| {
        let store = store.clone();
        async move {
            store
                .note_reply_profile(
                    Surface::Slack,
                    channel,
                    network,
                    &AccountId::new(account),
                    t,
                )
                .await
                .unwrap()
        }
    };
    note("C1", Network::X, "a", at(1)).await;
    note("C1", Network::X, "b", at(3)).await;
    // An older use (a reply whose bookkeeping came late) does not replace a newer one.
    note("C1", Network::X, "c", at(2)).await;
    note("C2", Network::X, "d", at(4)).await;
    note("C1", Network::Facebook, "e", at(5)).await;
    assert_eq!(
        last(Surface::Slack, "C1", Network::X).await.as_deref(),
        Some("b")
    );
    assert_eq!(
        last(Surface::Slack, "C2", Network::X).await.as_deref(),
        Some("d")
    );
    assert_eq!(
        last(Surface::Slack, "C1", Network::Facebook)
            .await
            .as_deref(),
        Some("e")
    );
    assert_eq!(last(Surface::Discord, "C1", Network::X).await, None);
}

/// Replicas polling at once never hold one account together.
async fn concurrent_pollers_never_share_an_account(store: DynStore) {
    for i in 0..5 {
        store
            .connect_account(&youtube(&format!("UC{i}"), "A", b"x"), t0())
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some((a, _)) = store.claim_poll(at(1), lease()).await.unwrap() {
                got.push(a.id);
                tokio::task::yield_now().await;
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    let before = all.len();
    all.dedup();
    assert_eq!((before, all.len()), (5, 5));
}

/// One refresh at a time per account: the lock is exclusive until stored or expired; a
/// stale holder cannot overwrite newer credentials; health changes report only transitions.
async fn refreshes_are_one_at_a_time_and_health_changes_once(store: DynStore) {
    let a = store
        .connect_account(&youtube("UC1", "A", b"old"), t0())
        .await
        .unwrap();
    let first = store
        .claim_refresh(a.id, at(1), lease())
        .await
        .unwrap()
        .expect("lock");
    assert!(
        store
            .claim_refresh(a.id, at(2), lease())
            .await
            .unwrap()
            .is_none()
    );
    // The first holder stalls past its lease; a second takes over and stores.
    let second = store
        .claim_refresh(a.id, at(1) + lease(), lease())
        .await
        .unwrap()
        .expect("lock after expiry");
    assert!(store.store_refreshed(second, b"new").await.unwrap());
    assert!(!store.store_refreshed(first, b"stale").await.unwrap());
    let now = store.account(a.id).await.unwrap().unwrap();
    assert_eq!(
        (now.credentials.as_slice(), now.credentials_version),
        (&b"new"[..], 2)
    );
    // Stored: the lock is free at once.
    assert!(
        store
            .claim_refresh(a.id, at(40), lease())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .claim_refresh(9_999, at(40), lease())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .set_account_health(a.id, Some("invalid_grant"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_account_health(a.id, Some("invalid_grant"))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .account(a.id)
            .await
            .unwrap()
            .unwrap()
            .unhealthy
            .as_deref(),
        Some("invalid_grant")
    );
    assert!(store.set_account_health(a.id, None).await.unwrap());
    assert!(!store.set_account_health(a.id, None).await.unwrap());
}

/// An account turning unhealthy has its alert pending in the same write; it stays pending
/// until cleared (the post succeeded) and goes away with a reconnect or recovery. A taker
/// holds it for its lease: nobody else gets it meanwhile; unposted, it comes back after.
async fn account_alerts_are_pending_until_told(store: DynStore) {
    let a = store
        .connect_account(&youtube("UC1", "A", b"x"), t0())
        .await
        .unwrap();
    let b = store
        .connect_account(&youtube("UC2", "B", b"x"), t0())
        .await
        .unwrap();
    let take = |now: i64| {
        let store = store.clone();
        async move {
            store
                .take_account_alerts(at(now), at(now + 60))
                .await
                .unwrap()
        }
    };
    assert!(take(0).await.is_empty());
    assert!(
        store
            .set_account_health(a.id, Some("invalid_grant"))
            .await
            .unwrap()
    );
    assert!(
        store
            .set_account_health(b.id, Some("revoked"))
            .await
            .unwrap()
    );
    let pending: Vec<_> = take(1)
        .await
        .into_iter()
        .map(|x| (x.id, x.unhealthy))
        .collect();
    assert_eq!(
        pending,
        vec![
            (a.id, Some("invalid_grant".into())),
            (b.id, Some("revoked".into()))
        ]
    );
    // Taken: another replica gets nothing until the lease ends.
    assert!(take(30).await.is_empty());
    // A second refusal does not alert again once told.
    store.clear_account_alert(a.id).await.unwrap();
    assert!(
        !store
            .set_account_health(a.id, Some("invalid_grant"))
            .await
            .unwrap()
    );
    // B's post failed (never cleared): it comes back once its lease is over.
    let ids: Vec<_> = take(61).await.into_iter().map(|x| x.id).collect();
    assert_eq!(ids, vec![b.id]);
    // Reconnected before the alert went out: nothing to say any more.
    store
        .connect_account(&youtube("UC2", "B", b"y"), at(1))
        .await
        .unwrap();
    assert!(take(500).await.is_empty());
}

/// The accounts of one OAuth grant are stored with its once-mark in one transaction: a second
/// use of the mark stores nothing, and the mark shows as used.
async fn connecting_under_a_once_mark_is_all_or_nothing(store: DynStore) {
    assert!(!store.is_marked("oauth-state:n1").await.unwrap());
    let both = [youtube("UC1", "A", b"x"), youtube("UC2", "B", b"x")];
    let stored = store
        .connect_accounts_once("oauth-state:n1", &both, t0())
        .await
        .unwrap()
        .expect("first use");
    let names: Vec<_> = stored.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["A", "B"]);
    assert!(stored.iter().all(|a| a.notice_due == Some(t0())));
    assert!(store.is_marked("oauth-state:n1").await.unwrap());
    // Used: nothing is written, not even the other account or the new credentials.
    let again = [youtube("UC1", "A2", b"y"), youtube("UC3", "C", b"y")];
    assert!(
        store
            .connect_accounts_once("oauth-state:n1", &again, at(1))
            .await
            .unwrap()
            .is_none()
    );
    let now: Vec<_> = store
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.name, a.credentials, a.credentials_version))
        .collect();
    assert_eq!(
        now,
        vec![
            ("A".into(), b"x".to_vec(), 1),
            ("B".into(), b"x".to_vec(), 1)
        ]
    );
    // A first_time mark is the same mark.
    assert!(store.first_time("oauth-state:n2", at(2)).await.unwrap());
    assert!(store.is_marked("oauth-state:n2").await.unwrap());
    assert!(
        store
            .connect_accounts_once("oauth-state:n2", &again, at(2))
            .await
            .unwrap()
            .is_none()
    );
    // A fresh mark reconnects.
    let r = store
        .connect_accounts_once("oauth-state:n3", &again[..1], at(3))
        .await
        .unwrap()
        .expect("fresh mark");
    assert_eq!((r[0].name.as_str(), r[0].credentials_version), ("A2", 2));
    assert_eq!(store.accounts().await.unwrap().len(), 2);
}

/// A connect leaves its "connected" notice pending; a taker gets one destination's due
/// notices at once, under a lease; a posted notice is gone, a failed one is due again later,
/// a lease that ran out lets another taker have it, and a reconnect meanwhile keeps the new
/// notice pending.
async fn account_notices_are_pending_until_posted(store: DynStore) {
    let a = store
        .connect_account(&youtube("UC1", "A", b"x"), t0())
        .await
        .unwrap();
    let b = store
        .connect_account(&youtube("UC2", "B", b"x"), t0())
        .await
        .unwrap();
    let mut elsewhere = youtube("UC3", "C", b"x");
    elsewhere.channel = "C2".into();
    let c = store.connect_account(&elsewhere, at(1)).await.unwrap();
    assert_eq!(a.notice_due, Some(t0()));
    let ids = |v: Vec<switchboard::store::ConnectedAccount>| -> Vec<(i64, Option<DateTime<Utc>>)> {
        v.into_iter().map(|x| (x.id, x.notice_due)).collect()
    };
    // Nothing is due before it was connected.
    assert!(
        store
            .take_account_notices(at(-1), at(30))
            .await
            .unwrap()
            .is_empty()
    );
    // One destination at a time, the oldest first, each under the lease.
    assert_eq!(
        ids(store.take_account_notices(at(2), at(32)).await.unwrap()),
        vec![(a.id, Some(at(32))), (b.id, Some(at(32)))]
    );
    assert_eq!(
        ids(store.take_account_notices(at(2), at(32)).await.unwrap()),
        vec![(c.id, Some(at(32)))]
    );
    assert!(
        store
            .take_account_notices(at(3), at(33))
            .await
            .unwrap()
            .is_empty()
    );
    // A posted; B failed and is due again at 40; C's taker vanished.
    assert!(
        store
            .finish_account_notice(a.id, at(32), None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_account_notice(a.id, at(32), None)
            .await
            .unwrap(),
        "finished once"
    );
    assert!(
        store
            .finish_account_notice(b.id, at(32), Some(at(40)))
            .await
            .unwrap()
    );
    assert_eq!(store.account(a.id).await.unwrap().unwrap().notice_due, None);
    // C's lease ran out at 32: C alone is due at 35, B joins at 40.
    assert_eq!(
        ids(store.take_account_notices(at(35), at(65)).await.unwrap()),
        vec![(c.id, Some(at(65)))]
    );
    assert_eq!(
        ids(store.take_account_notices(at(40), at(70)).await.unwrap()),
        vec![(b.id, Some(at(70)))]
    );
    // B is reconnected while its notice is being posted: the old claim finishes nothing and
    // the new notice stays pending.
    store
        .connect_account(&youtube("UC2", "B2", b"y"), at(41))
        .await
        .unwrap();
    assert!(
        !store
            .finish_account_notice(b.id, at(70), None)
            .await
            .unwrap()
    );
    assert_eq!(
        store.account(b.id).await.unwrap().unwrap().notice_due,
        Some(at(41))
    );
    // A reconnect of a told account has something to say again.
    store
        .connect_account(&youtube("UC1", "A", b"z"), at(42))
        .await
        .unwrap();
    assert_eq!(
        ids(store.take_account_notices(at(42), at(72)).await.unwrap()),
        vec![(a.id, Some(at(72))), (b.id, Some(at(72)))]
    );
}

/// Concurrent takers never get the same notice.
async fn concurrent_notice_takers_never_share_a_notice(store: DynStore) {
    for i in 0..6 {
        let mut account = youtube(&format!("UC{i}"), "A", b"x");
        account.channel = format!("C{}", i % 3);
        store.connect_account(&account, t0()).await.unwrap();
    }
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let taken = store.take_account_notices(at(1), at(31)).await.unwrap();
                if taken.is_empty() {
                    return got;
                }
                got.extend(taken.into_iter().map(|a| a.id));
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    let before = all.len();
    all.dedup();
    assert_eq!((before, all.len()), (6, 6));
}

/// Accounts of a network whose news comes by webhook are never claimed for a poll (no lease
/// taken, nothing touched); the others are, as before.
async fn networks_fed_by_webhooks_are_not_claimed_for_polls(store: DynStore) {
    let mut x = youtube("2244994945", "@acme", b"x");
    x.network = Network::X;
    let x = store.connect_account(&x, t0()).await.unwrap();
    let yt = store
        .connect_account(&youtube("UC1", "A", b"x"), at(1))
        .await
        .unwrap();
    let (first, _) = store
        .claim_poll_except(at(2), lease(), &[Network::X])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first.id, yt.id,
        "the X account is more overdue, but not polled"
    );
    assert!(
        store
            .claim_poll_except(at(2), lease(), &[Network::X, Network::Tiktok])
            .await
            .unwrap()
            .is_none()
    );
    let untouched = store.account(x.id).await.unwrap().unwrap();
    assert_eq!(untouched.next_poll_at, x.next_poll_at);
    // Polled here (nothing skipped): claimed like any other.
    let (taken, _) = store.claim_poll(at(2), lease()).await.unwrap().unwrap();
    assert_eq!(taken.id, x.id);
}

/// Finish every due job, lane after lane (their cards are "posted").
async fn finish_all_jobs(store: &DynStore, now: DateTime<Utc>) {
    loop {
        let jobs = store.claim_jobs(100, now, lease()).await.unwrap();
        if jobs.is_empty() {
            return;
        }
        for j in jobs {
            assert!(store.finish_job(j.claim(), &[], now).await.unwrap());
        }
    }
}

fn close_event() -> Event {
    Event::Action {
        teammate: teammate(),
        action: CardAction::Close,
    }
}

/// Retention: a ticket closed long enough is archived (its card edited by a job), then
/// deleted with its messages, history, links and jobs once that job is done; open tickets,
/// reopened ones and recently closed ones stay.
async fn closed_tickets_are_archived_then_purged_with_everything_about_them(store: DynStore) {
    let old = open(&store, "c1", "cust1", t0()).await;
    let open_one = open(&store, "c2", "cust2", t0()).await;
    let recent = open(&store, "c3", "cust3", t0()).await;
    finish_all_jobs(&store, at(1)).await;
    let old = apply_ok(&store, Some(&old), close_event(), at(10)).await;
    let recent = apply_ok(&store, Some(&recent), close_event(), at(100)).await;
    finish_all_jobs(&store, at(101)).await;

    assert_eq!(store.archivable(at(50), 10).await.unwrap(), vec![old.id]);
    assert_eq!(
        store.archivable(at(200), 10).await.unwrap(),
        vec![old.id, recent.id]
    );
    assert_eq!(store.archivable(at(200), 1).await.unwrap(), vec![old.id]);

    let archived = apply_ok(
        &store,
        Some(&old),
        Event::Archive {
            after_days: 42,
            quiet_since: at(200),
        },
        at(300),
    )
    .await;
    assert!(archived.state.archived.is_some());
    assert_eq!(
        store.archivable(at(1_000), 10).await.unwrap(),
        vec![recent.id],
        "archived already"
    );
    // Its card edit is pending: not deleted yet.
    assert_eq!(store.purge_archived(at(400), 10).await.unwrap(), 0);
    finish_all_jobs(&store, at(301)).await;
    // Not archived long enough before the cut.
    assert_eq!(store.purge_archived(at(300), 10).await.unwrap(), 0);
    // A reopened one is not deleted even after being archived.
    let recent = apply_ok(
        &store,
        Some(&recent),
        Event::Archive {
            after_days: 42,
            quiet_since: at(200),
        },
        at(302),
    )
    .await;
    let reopen = Event::Action {
        teammate: teammate(),
        action: CardAction::Reopen,
    };
    let recent = apply_ok(&store, Some(&recent), reopen, at(303)).await;
    assert_eq!(recent.state.archived, None);
    finish_all_jobs(&store, at(304)).await;

    assert_eq!(store.purge_archived(at(400), 10).await.unwrap(), 1);
    assert!(store.ticket(old.id).await.unwrap().is_none());
    assert!(store.messages(old.id).await.unwrap().is_empty());
    assert!(store.history(old.id).await.unwrap().is_empty());
    assert!(store.card_of(old.id).await.unwrap().is_none());
    assert!(
        store
            .ticket_by_conversation(&old.state.conversation_key)
            .await
            .unwrap()
            .is_none()
    );
    for kept in [open_one.id, recent.id] {
        assert!(store.ticket(kept).await.unwrap().is_some());
        assert!(!store.history(kept).await.unwrap().is_empty());
    }
    assert_eq!(store.count_tickets().await.unwrap(), 2);
    assert_eq!(store.purge_archived(at(400), 10).await.unwrap(), 0);
    // The customer writing again opens a new ticket for the same conversation.
    let again = open(&store, "c1b", "cust1", at(500)).await;
    assert_ne!(again.id, old.id);
}

/// Processed inbox rows and done jobs go after the period; pending ones never.
async fn finished_rows_are_purged_after_the_period(store: DynStore) {
    store
        .insert_inbox(&[inbox("a"), inbox("b"), inbox("c")], t0())
        .await
        .unwrap();
    let rows = store.claim_inbox(2, t0(), lease()).await.unwrap();
    for r in &rows {
        assert!(store.finish_inbox(r.claim(), None, at(10)).await.unwrap());
    }
    open(&store, "c1", "cust1", t0()).await;
    open(&store, "c2", "cust2", t0()).await;
    let jobs = store.claim_jobs(1, at(1), lease()).await.unwrap();
    assert!(
        store
            .finish_job(jobs[0].claim(), &[], at(10))
            .await
            .unwrap()
    );

    assert_eq!(store.purge_finished(at(10), 100).await.unwrap(), 0);
    assert_eq!(
        store.purge_finished(at(11), 1).await.unwrap(),
        2,
        "one of each"
    );
    assert_eq!(store.purge_finished(at(11), 100).await.unwrap(), 1);
    assert_eq!(store.purge_finished(at(11), 100).await.unwrap(), 0);
    assert_eq!(store.count_inbox().await.unwrap(), 1);
    assert_eq!(store.count_pending_inbox().await.unwrap(), 1);
    assert_eq!(store.count_jobs(JobStatus::Pending).await.unwrap(), 1);
    assert_eq!(store.count_jobs(JobStatus::Done).await.unwrap(), 0);
}

async fn a_lease_has_one_holder_until_it_ends(store: DynStore) {
    let ttl = Duration::seconds(60);
    assert!(store.take_lease("retention", "a", t0(), ttl).await.unwrap());
    assert!(
        !store
            .take_lease("retention", "b", at(30), ttl)
            .await
            .unwrap()
    );
    // Another name is another lease.
    assert!(store.take_lease("gateway", "b", at(30), ttl).await.unwrap());
    // Renewed by its holder: until 90 now.
    assert!(
        store
            .take_lease("retention", "a", at(30), ttl)
            .await
            .unwrap()
    );
    assert!(
        !store
            .take_lease("retention", "b", at(80), ttl)
            .await
            .unwrap()
    );
    // Ended: anyone takes it, and its former holder has lost it.
    assert!(
        store
            .take_lease("retention", "b", at(91), ttl)
            .await
            .unwrap()
    );
    assert!(
        !store
            .take_lease("retention", "a", at(92), ttl)
            .await
            .unwrap()
    );
}

async fn tickets_since_pages_by_id(store: DynStore) {
    let a = open(&store, "c1", "cust1", t0()).await;
    let b = open(&store, "c2", "cust2", at(10)).await;
    let c = open(&store, "c3", "cust3", at(20)).await;
    let ids = |v: Vec<Ticket>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .tickets_since(DateTime::UNIX_EPOCH, TicketId(0), 2)
            .await
            .unwrap()),
        vec![a.id, b.id]
    );
    assert_eq!(
        ids(store.tickets_since(t0(), b.id, 2).await.unwrap()),
        vec![c.id]
    );
    assert_eq!(
        ids(store.tickets_since(at(10), TicketId(0), 10).await.unwrap()),
        vec![b.id, c.id]
    );
}

async fn a_customers_tickets_and_raw_payloads_are_found_for_erasure(store: DynStore) {
    let a = open(&store, "c1", "cust1", t0()).await;
    let _other = open(&store, "c2", "cust2", t0()).await;
    // The same customer under another post: another ticket.
    let mut elsewhere = comment("c3", "cust1", "hello again", t0());
    elsewhere.post_id = NetworkItemId::new("page1_post2");
    let b = apply_ok(
        &store,
        None,
        Event::CustomerMessage { item: elsewhere },
        at(1),
    )
    .await;
    assert_ne!(a.id, b.id);
    assert_eq!(
        store
            .customer_tickets(Network::Facebook, &CustomerId::new("cust1"))
            .await
            .unwrap(),
        vec![a.id, b.id]
    );
    assert!(
        store
            .customer_tickets(Network::Instagram, &CustomerId::new("cust1"))
            .await
            .unwrap()
            .is_empty()
    );
    let row = |key: &str, payload: &str| NewInbox {
        payload: payload.into(),
        ..inbox(key)
    };
    store
        .insert_inbox(
            &[
                row("k1", r#"{"item_id":"post1_c1","text":"secret"}"#),
                row("k2", r#"{"item_id":"post1_c2","text":"other"}"#),
                row("k3", r#"{"item_id":"post1_c1","text":"edited secret"}"#),
            ],
            t0(),
        )
        .await
        .unwrap();
    // Two processed, the third still pending: both of the customer's are blanked.
    for r in store.claim_inbox(2, t0(), lease()).await.unwrap() {
        assert!(store.finish_inbox(r.claim(), None, at(1)).await.unwrap());
    }
    let needles = vec!["post1_c1".to_string(), String::new()];
    assert_eq!(store.scrub_inbox(&needles).await.unwrap(), 2);
    assert_eq!(
        store.scrub_inbox(&needles).await.unwrap(),
        0,
        "already blank"
    );
    // The rows stay, so a redelivery is still recognised as a duplicate.
    assert_eq!(store.count_inbox().await.unwrap(), 3);
    let pending = store.claim_inbox(10, at(2), lease()).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].payload, "\"erased\"");

    // A review update's job carries the texts: it becomes a plain card update.
    let version = |text: &str| switchboard::core::decide::ReviewVersion {
        rating: Some(1),
        text: text.into(),
    };
    let review = Effect::ReviewUpdated {
        before: version("secret before"),
        after: version("secret after"),
        broadcast: false,
    };
    store.enqueue_job(a.id, "x", &review, at(3)).await.unwrap();
    store.enqueue_job(b.id, "y", &review, at(3)).await.unwrap();
    assert_eq!(store.scrub_jobs(a.id).await.unwrap(), 1);
    assert_eq!(store.scrub_jobs(a.id).await.unwrap(), 0);
    let jobs = store.claim_jobs(100, at(4), lease()).await.unwrap();
    let of = |t: TicketId| {
        jobs.iter()
            .filter(|j| j.ticket == t && j.lane.len() == 1)
            .map(|j| j.effect.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(of(a.id), vec![Effect::UpdateCard]);
    assert_eq!(of(b.id), vec![review]);
    assert_eq!(store.insert_inbox(&[inbox("k1")], at(2)).await.unwrap(), 0);
}

/// The inbox age metric: the oldest unprocessed row's receipt time, whatever its claims and
/// retries; nothing once every row is processed.
async fn the_oldest_pending_inbox_row_is_reported(store: DynStore) {
    assert_eq!(store.oldest_pending_inbox().await.unwrap(), None);
    store.insert_inbox(&[inbox("a")], t0()).await.unwrap();
    store.insert_inbox(&[inbox("b")], at(5)).await.unwrap();
    assert_eq!(store.oldest_pending_inbox().await.unwrap(), Some(t0()));
    let claimed = store.claim_inbox(1, at(6), lease()).await.unwrap();
    assert_eq!(claimed[0].dedupe_key, "a");
    // Claimed or waiting for a retry, it is still pending.
    assert_eq!(store.oldest_pending_inbox().await.unwrap(), Some(t0()));
    assert!(
        store
            .finish_inbox(claimed[0].claim(), None, at(7))
            .await
            .unwrap()
    );
    assert_eq!(store.oldest_pending_inbox().await.unwrap(), Some(at(5)));
    let b = store.claim_inbox(1, at(8), lease()).await.unwrap();
    assert!(store.finish_inbox(b[0].claim(), None, at(9)).await.unwrap());
    assert_eq!(store.oldest_pending_inbox().await.unwrap(), None);
}

/// SQLite gives a deleted newest row's id to the next insert: the newest ticket is never
/// purged, so `#N` never names another customer's ticket on either backend.
async fn the_newest_ticket_is_kept_so_its_number_is_never_reused(store: DynStore) {
    let only = open(&store, "c1", "cust1", t0()).await;
    finish_all_jobs(&store, at(1)).await;
    let only = apply_ok(&store, Some(&only), close_event(), at(10)).await;
    let archive = Event::Archive {
        after_days: 42,
        quiet_since: at(200),
    };
    apply_ok(&store, Some(&only), archive, at(300)).await;
    finish_all_jobs(&store, at(301)).await;
    assert_eq!(store.purge_archived(at(400), 10).await.unwrap(), 0);
    let next = open(&store, "c2", "cust2", at(500)).await;
    assert_eq!(store.purge_archived(at(600), 10).await.unwrap(), 1);
    assert!(store.ticket(only.id).await.unwrap().is_none());
    let after = open(&store, "c3", "cust3", at(700)).await;
    assert!(after.id.0 > next.id.0 && next.id.0 > only.id.0);
}

// ---- auto-assignment ----------------------------------------------------------------------

async fn away_flags_are_per_teammate_and_surface(store: DynStore) {
    let ana = teammate();
    let on_discord = Teammate {
        surface: Surface::Discord,
        id: ana.id.clone(),
    };
    assert!(!store.is_away(&ana).await.expect("read"));
    store.set_away(&ana, true, t0()).await.expect("away");
    // Twice is once.
    store.set_away(&ana, true, at(5)).await.expect("away again");
    assert!(store.is_away(&ana).await.expect("read"));
    assert!(
        !store.is_away(&on_discord).await.expect("read"),
        "per surface"
    );
    store.set_away(&ana, false, at(10)).await.expect("back");
    assert!(!store.is_away(&ana).await.expect("read"));
    store
        .set_away(&ana, false, at(11))
        .await
        .expect("back again");
    assert!(!store.is_away(&ana).await.expect("read"));
}

async fn round_robin_counts_open_tickets_and_moves_its_cursor_once(store: DynStore) {
    use switchboard::core::autoassign::Member;
    let members = ["U1", "U2", "U3"].map(ChatUserId::new);
    // U1: two open and one closed; U2: one open; a team assignment and another surface's U3
    // count for nobody here.
    ticket_with(
        &store,
        "1",
        Status::Unread,
        Some(person("U1")),
        "page1",
        ItemKind::Comment,
        t0(),
    )
    .await;
    ticket_with(
        &store,
        "2",
        Status::Read,
        Some(person("U1")),
        "page1",
        ItemKind::Comment,
        t0(),
    )
    .await;
    ticket_with(
        &store,
        "3",
        Status::Closed,
        Some(person("U1")),
        "page1",
        ItemKind::Comment,
        t0(),
    )
    .await;
    ticket_with(
        &store,
        "4",
        Status::Read,
        Some(person("U2")),
        "page1",
        ItemKind::Comment,
        t0(),
    )
    .await;
    ticket_with(
        &store,
        "5",
        Status::Read,
        Some(team("support")),
        "page1",
        ItemKind::Comment,
        t0(),
    )
    .await;
    let elsewhere = Assignee::Person(Teammate {
        surface: Surface::Discord,
        id: ChatUserId::new("U3"),
    });
    ticket_with(
        &store,
        "6",
        Status::Read,
        Some(elsewhere),
        "page1",
        ItemKind::Comment,
        t0(),
    )
    .await;
    store
        .set_away(
            &Teammate {
                surface: Surface::Slack,
                id: ChatUserId::new("U2"),
            },
            true,
            t0(),
        )
        .await
        .expect("away");

    let state = store
        .round_robin_state(Surface::Slack, "support", &members)
        .await
        .expect("read");
    let member = |id: &str, open, away| Member {
        id: ChatUserId::new(id),
        open,
        away,
    };
    assert_eq!(
        state.members,
        vec![
            member("U1", 2, false),
            member("U2", 1, true),
            member("U3", 0, false)
        ]
    );
    assert_eq!(state.last, None);

    // The first pick takes the empty cursor; a second one expecting it empty loses.
    let next = |s: &str| ChatUserId::new(s);
    assert!(
        store
            .advance_round_robin(Surface::Slack, "support", None, &next("U3"), t0())
            .await
            .expect("advance")
    );
    assert!(
        !store
            .advance_round_robin(Surface::Slack, "support", None, &next("U1"), t0())
            .await
            .expect("advance")
    );
    // Compare-and-set: only from the member it last went to.
    assert!(
        !store
            .advance_round_robin(
                Surface::Slack,
                "support",
                Some(&next("U1")),
                &next("U2"),
                at(1)
            )
            .await
            .expect("advance")
    );
    assert!(
        store
            .advance_round_robin(
                Surface::Slack,
                "support",
                Some(&next("U3")),
                &next("U1"),
                at(1)
            )
            .await
            .expect("advance")
    );
    let state = store
        .round_robin_state(Surface::Slack, "support", &members)
        .await
        .expect("read");
    assert_eq!(state.last, Some(next("U1")));
    // Per team and per surface.
    for (surface, team) in [(Surface::Slack, "sales"), (Surface::Discord, "support")] {
        let other = store
            .round_robin_state(surface, team, &members)
            .await
            .expect("read");
        assert_eq!(other.last, None, "{team} on {surface:?}");
    }

    // Two pickers racing on the same cursor: exactly one wins.
    let (a, b) = tokio::join!(
        store.advance_round_robin(
            Surface::Slack,
            "support",
            Some(&members[0]),
            &members[1],
            at(2)
        ),
        store.advance_round_robin(
            Surface::Slack,
            "support",
            Some(&members[0]),
            &members[2],
            at(2)
        ),
    );
    assert_eq!(
        [a.expect("a"), b.expect("b")]
            .iter()
            .filter(|w| **w)
            .count(),
        1
    );
}

// ---- statistics -------------------------------------------------------------------------------

/// A ticket with exactly this history (and these current network, kind, tags, assignee and
/// first text), committed as one hand-made decision.
#[allow(clippy::too_many_arguments)]
async fn ticket_with_history(
    store: &DynStore,
    id: &str,
    network: Network,
    kind: ItemKind,
    tags: &[&str],
    assignee: Option<Assignee>,
    first_text: &str,
    history: Vec<switchboard::core::HistoryEntry>,
) -> TicketId {
    let item = comment(id, &format!("cust_{id}"), first_text, t0());
    let mut decision = decide(None, &Event::CustomerMessage { item }, t0()).expect("opens");
    decision.state.network = network;
    decision.state.kind = kind;
    decision.state.tags = tags.iter().map(|t| t.to_string()).collect();
    decision.state.assignee = assignee;
    decision.state.conversation_key = format!("stats:{id}");
    decision.history = history;
    decision.effects.clear();
    match store
        .commit(Commit {
            target: Target::New,
            decision,
            consumes: Consumes::Nothing,
            now: t0(),
            storm: None,
        })
        .await
        .expect("commit")
    {
        CommitOutcome::Committed { ticket, .. } => ticket,
        other => panic!("unexpected {other:?}"),
    }
}

/// The figures of a stats answer that a test compares, in one printable value.
fn figures(s: &switchboard::core::stats::TeamStats) -> String {
    use switchboard::core::stats::kind_word;
    let mins = |d: Option<Duration>| d.map_or("-".to_string(), |d| d.num_minutes().to_string());
    let mut out = format!("opened {}\n", s.opened);
    let nets: Vec<String> = s
        .by_network
        .iter()
        .map(|(n, c)| format!("{}={c}", n.as_str()))
        .collect();
    let kinds: Vec<String> = s
        .by_kind
        .iter()
        .map(|(k, c)| format!("{}={c}", kind_word(*k)))
        .collect();
    out += &format!("networks {}\nkinds {}\n", nets.join(" "), kinds.join(" "));
    for (name, d) in [("first", &s.first_response), ("resolution", &s.resolution)] {
        out += &format!(
            "{name} n={} p50={} p90={}\n",
            d.count,
            mins(d.p50),
            mins(d.p90)
        );
    }
    for c in &s.sla {
        out += &format!(
            "sla {} met={} breached={}\n",
            c.target.as_str(),
            c.met,
            c.breached
        );
    }
    out += &format!("auto_closed {}\n", s.auto_closed);
    for t in &s.teammates {
        out += &format!(
            "teammate {} replies={} closed={} firsts={} median={}\n",
            t.teammate.id,
            t.replies,
            t.closed,
            t.first_responses,
            mins(t.median_first_response)
        );
    }
    let tags: Vec<String> = s.top_tags.iter().map(|(t, n)| format!("{t}={n}")).collect();
    out += &format!("tags {}", tags.join(" "));
    out
}

async fn statistics_count_a_known_history(store: DynStore) {
    use switchboard::core::filter::{RouteAccount, RouteMatch, RouteRule};
    use switchboard::core::stats::Period;
    use switchboard::core::{HistoryEntry, SlaTarget};

    let m = |minutes: i64| t0() + Duration::minutes(minutes);
    let who = |id: &str| {
        Actor::Teammate(Teammate {
            surface: Surface::Slack,
            id: ChatUserId::new(id),
        })
    };
    let entry = |minutes: i64, actor: Actor, what: HistoryKind| HistoryEntry {
        at: m(minutes),
        actor,
        what,
    };
    let opened = |minutes: i64| {
        entry(
            minutes,
            Actor::Customer(CustomerId::new("c")),
            HistoryKind::Opened,
        )
    };
    let reply = |minutes: i64, actor: Actor| {
        entry(
            minutes,
            actor,
            HistoryKind::ReplyDelivered {
                key: MessageKey::new(format!("reply:{minutes}")),
                account: None,
            },
        )
    };
    let status = |minutes: i64, actor: Actor, from: Status, to: Status| {
        entry(minutes, actor, HistoryKind::StatusChanged { from, to })
    };
    let sla = |minutes: i64, met: bool, target: SlaTarget| {
        let what = if met {
            HistoryKind::SlaMet { target }
        } else {
            HistoryKind::SlaBreached { target }
        };
        entry(minutes, Actor::System, what)
    };
    let week = 7 * 24 * 60;
    let (fb, ig) = (Network::Facebook, Network::Instagram);

    // 1: answered by an automatic reply first (never the team's response), then by A.
    ticket_with_history(
        &store,
        "1",
        fb,
        ItemKind::Comment,
        &["billing", "vip"],
        Some(team("support")),
        "Where is my order?",
        vec![
            opened(60),
            reply(65, Actor::System),
            reply(90, who("UA")),
            sla(90, true, SlaTarget::FirstResponse),
            reply(100, who("UB")),
            status(180, who("UA"), Status::Read, Status::Closed),
        ],
    )
    .await;
    // 2: a direct message answered by B, auto-closed by the system.
    ticket_with_history(
        &store,
        "2",
        fb,
        ItemKind::DirectMessage,
        &["billing"],
        None,
        "URGENT refund",
        vec![
            opened(120),
            reply(130, who("UB")),
            sla(300, false, SlaTarget::NextResponse),
            entry(
                2000,
                Actor::System,
                HistoryKind::AutoClosed { after_days: 1 },
            ),
            status(2000, Actor::System, Status::Read, Status::Closed),
        ],
    )
    .await;
    // 3: only an automatic reply in the period; A answers exactly at its end (excluded from
    // the period's replies, but it is the ticket's first response).
    ticket_with_history(
        &store,
        "3",
        ig,
        ItemKind::Comment,
        &["shipping"],
        Some(team("support")),
        "Late parcel",
        vec![
            opened(200),
            reply(201, Actor::System),
            sla(400, false, SlaTarget::FirstResponse),
            reply(week, who("UA")),
        ],
    )
    .await;
    // 4: opened before the period: its reply, close and SLA result in the period count, the
    // ticket and its tag do not.
    ticket_with_history(
        &store,
        "4",
        fb,
        ItemKind::Comment,
        &["old"],
        None,
        "Hello",
        vec![
            opened(-24 * 60),
            reply(10, who("UA")),
            sla(10, true, SlaTarget::NextResponse),
            status(20, who("UA"), Status::Read, Status::Closed),
        ],
    )
    .await;
    // 5: after the period: nothing counts.
    ticket_with_history(
        &store,
        "5",
        fb,
        ItemKind::Comment,
        &["later"],
        None,
        "Hi",
        vec![
            opened(week + 60),
            reply(week + 61, who("UA")),
            status(week + 62, who("UA"), Status::Read, Status::Closed),
        ],
    )
    .await;
    // 6: closed twice by B (one ticket closed); resolution is the first close.
    ticket_with_history(
        &store,
        "6",
        ig,
        ItemKind::Comment,
        &["billing", "shipping"],
        None,
        "Size?",
        vec![
            opened(300),
            reply(360, who("UB")),
            status(400, who("UB"), Status::Read, Status::Closed),
            status(
                500,
                Actor::Customer(CustomerId::new("c")),
                Status::Closed,
                Status::Unread,
            ),
            status(600, who("UB"), Status::Unread, Status::Closed),
        ],
    )
    .await;

    let period = Period {
        from: t0(),
        to: m(week),
    };
    let all = store
        .team_stats(period, &Filter::default(), None)
        .await
        .expect("stats");
    assert_eq!(all.period, period);
    assert!(!all.business_hours);
    assert_eq!(
        figures(&all),
        "opened 4\n\
         networks facebook=2 instagram=2\n\
         kinds comment=3 direct_message=1\n\
         first n=4 p50=30 p90=9880\n\
         resolution n=3 p50=120 p90=1880\n\
         sla first_response met=1 breached=1\n\
         sla next_response met=1 breached=1\n\
         auto_closed 1\n\
         teammate UB replies=3 closed=1 firsts=2 median=10\n\
         teammate UA replies=2 closed=2 firsts=2 median=30\n\
         tags billing=3 shipping=2 vip=1"
    );

    // network: only Instagram's tickets and what happened on them.
    let instagram = Filter {
        network: Some(ig),
        ..Default::default()
    };
    let s = store
        .team_stats(period, &instagram, None)
        .await
        .expect("stats");
    assert_eq!(
        figures(&s),
        "opened 2\n\
         networks instagram=2\n\
         kinds comment=2\n\
         first n=2 p50=60 p90=9880\n\
         resolution n=1 p50=100 p90=100\n\
         sla first_response met=0 breached=1\n\
         auto_closed 0\n\
         teammate UB replies=1 closed=1 firsts=1 median=60\n\
         teammate UA replies=0 closed=0 firsts=1 median=9880\n\
         tags shipping=2 billing=1"
    );

    // team: the tickets currently assigned to it.
    let support = Filter {
        assignee: Some(AssigneeMatch::AnyOf(vec![team("support").key()])),
        ..Default::default()
    };
    let s = store
        .team_stats(period, &support, None)
        .await
        .expect("stats");
    assert_eq!(
        figures(&s),
        "opened 2\n\
         networks facebook=1 instagram=1\n\
         kinds comment=2\n\
         first n=2 p50=30 p90=9880\n\
         resolution n=1 p50=120 p90=120\n\
         sla first_response met=1 breached=1\n\
         auto_closed 0\n\
         teammate UA replies=1 closed=1 firsts=2 median=30\n\
         teammate UB replies=1 closed=0 firsts=0 median=-\n\
         tags billing=1 shipping=1 vip=1"
    );

    // A channel's route: Facebook's account is routed here, Instagram's elsewhere, and a
    // keyword rule sends "urgent" tickets elsewhere (decided in Rust: ticket 2 is left out).
    let here = RouteMatch {
        rules: vec![RouteRule {
            network: None,
            kind: None,
            keyword: Some("urgent".into()),
            here: false,
        }],
        accounts: vec![
            RouteAccount {
                network: fb,
                account: AccountId::new("page1"),
                here: true,
            },
            RouteAccount {
                network: ig,
                account: AccountId::new("page1"),
                here: false,
            },
        ],
    };
    let routed = Filter {
        route: Some(here.clone()),
        ..Default::default()
    };
    let s = store
        .team_stats(period, &routed, None)
        .await
        .expect("stats");
    assert_eq!(
        figures(&s),
        "opened 1\n\
         networks facebook=1\n\
         kinds comment=1\n\
         first n=1 p50=30 p90=30\n\
         resolution n=1 p50=120 p90=120\n\
         sla first_response met=1 breached=0\n\
         sla next_response met=1 breached=0\n\
         auto_closed 0\n\
         teammate UA replies=2 closed=2 firsts=1 median=30\n\
         teammate UB replies=1 closed=0 firsts=0 median=-\n\
         tags billing=1 vip=1"
    );
    // Without the keyword rule the SQL decides alone: ticket 2 is in.
    let plain = Filter {
        route: Some(RouteMatch {
            rules: vec![],
            ..here
        }),
        ..Default::default()
    };
    let s = store.team_stats(period, &plain, None).await.expect("stats");
    assert_eq!((s.opened, s.auto_closed), (2, 1));

    // Business hours: 21:00-22:00 UTC daily. Opened at 21:26:40 and answered at 21:56:40
    // (30 min); 2 and 6 are answered while closed (0); 3 waits over six evenings (6 h).
    let schedule = switchboard::core::hours::Schedule::parse("UTC", &["daily 21:00-22:00"], &[])
        .expect("schedule");
    assert_eq!(m(60).format("%H:%M:%S").to_string(), "21:26:40");
    let s = store
        .team_stats(period, &Filter::default(), Some(&schedule))
        .await
        .expect("stats");
    assert!(s.business_hours);
    assert_eq!(
        (
            s.first_response.count,
            s.first_response.p50,
            s.first_response.p90
        ),
        (4, Some(Duration::zero()), Some(Duration::hours(6)))
    );

    // A period with nothing in it says so.
    let empty = Period {
        from: m(-3 * week),
        to: m(-2 * week),
    };
    let s = store
        .team_stats(empty, &Filter::default(), None)
        .await
        .expect("stats");
    assert!(s.is_empty(), "{}", figures(&s));
}

// ---- storm mode -------------------------------------------------------------------------------

fn storm_write(
    version: Option<i64>,
    join: switchboard::store::StormJoin,
    message: Option<MessageKey>,
    recent: Vec<DateTime<Utc>>,
) -> switchboard::store::StormWrite {
    switchboard::store::StormWrite {
        key: "slack:C1|facebook:page1:page1_post1".into(),
        version,
        recent,
        join,
        message,
    }
}

/// Open a ticket from a comment, with a storm write in the same commit.
async fn open_in_storm(
    store: &DynStore,
    id: &str,
    customer: &str,
    now: DateTime<Utc>,
    w: switchboard::store::StormWrite,
) -> CommitOutcome {
    let item = comment(id, customer, &format!("comment {id}"), now);
    let decision = decide(None, &Event::CustomerMessage { item }, now).expect("applies");
    store
        .commit(Commit {
            target: Target::New,
            decision,
            consumes: Consumes::Nothing,
            now,
            storm: Some(w),
        })
        .await
        .expect("commit")
}

fn committed(o: CommitOutcome) -> TicketId {
    match o {
        CommitOutcome::Committed { ticket, .. } => ticket,
        other => panic!("unexpected {other:?}"),
    }
}

async fn a_storm_is_started_fed_and_ended_with_its_jobs(s: DynStore) {
    use switchboard::store::{NewStorm, StormJoin, StormPost};
    let key = "slack:C1|facebook:page1:page1_post1";
    // A calm comment records the post's activity only.
    let t1 = committed(
        open_in_storm(
            &s,
            "c1",
            "u1",
            at(0),
            storm_write(None, StormJoin::No, None, vec![at(0)]),
        )
        .await,
    );
    let a = s.post_activity(key).await.expect("read").expect("row");
    assert_eq!(a.activity.recent, vec![at(0)]);
    assert_eq!(a.activity.storm, None);
    // The next starts a storm, anchored on its ticket, with a card and a thread job.
    let start = StormJoin::Start(NewStorm {
        post_key: "facebook:page1:page1_post1".into(),
        channel: "slack:C1".into(),
        post: StormPost {
            subject: None,
            link: Some("https://facebook.com/page1/posts/1".into()),
        },
    });
    let m2 = MessageKey::new("in:facebook:post1_c2");
    let t2 = committed(
        open_in_storm(
            &s,
            "c2",
            "u2",
            at(1),
            storm_write(Some(a.version), start, Some(m2), vec![at(0), at(1)]),
        )
        .await,
    );
    let a = s.post_activity(key).await.expect("read").expect("row");
    let storm = a.activity.storm.expect("a storm runs");
    let row = s.storm(storm).await.expect("read").expect("storm");
    assert_eq!(row.anchor, t2);
    assert_eq!(row.count, 1);
    assert_eq!(row.card, None);
    assert_eq!(
        row.post.link.as_deref(),
        Some("https://facebook.com/page1/posts/1")
    );
    // A third joins it: counted and listed; the waiting jobs are not doubled.
    let t3 = committed(
        open_in_storm(
            &s,
            "c3",
            "u3",
            at(2),
            storm_write(
                Some(a.version),
                StormJoin::Existing(storm),
                Some(MessageKey::new("in:facebook:post1_c3")),
                vec![at(0), at(1), at(2)],
            ),
        )
        .await,
    );
    assert_eq!(s.storm(storm).await.expect("read").expect("storm").count, 2);
    let lines = s.storm_lines(storm, 0, 100).await.expect("lines");
    assert_eq!(
        lines
            .iter()
            .map(|l| (l.ticket, l.text.as_str()))
            .collect::<Vec<_>>(),
        vec![(t2, "comment c2"), (t3, "comment c3")]
    );
    assert_eq!(lines[0].author, "Customer u2");
    let newest = s.storm_newest(storm, 1).await.expect("newest");
    assert_eq!(
        newest.iter().map(|l| l.ticket).collect::<Vec<_>>(),
        vec![t3]
    );
    assert_eq!(s.storm_of_ticket(t3).await.expect("read"), Some(storm));
    assert_eq!(s.storm_of_ticket(t1).await.expect("read"), None);
    // Open and closed over the whole storm (t1 is not in it).
    assert_eq!(s.storm_tally(storm).await.expect("tally"), (2, 0));
    assert_eq!(s.storm_tally(storm + 100).await.expect("tally"), (0, 0));
    // The storm's own jobs, one of each, on its anchor; the tickets' cards are not queued.
    let jobs = s.claim_jobs(100, at(3), lease()).await.expect("claim");
    let effects: Vec<&Effect> = jobs.iter().map(|j| &j.effect).collect();
    assert!(
        effects.contains(&&Effect::StormCard { storm }),
        "{effects:?}"
    );
    assert!(
        effects.contains(&&Effect::StormThread { storm }),
        "{effects:?}"
    );
    let storm_jobs: Vec<_> = jobs
        .iter()
        .filter(|j| {
            matches!(
                j.effect,
                Effect::StormCard { .. } | Effect::StormThread { .. }
            )
        })
        .collect();
    assert_eq!(storm_jobs.len(), 2, "{storm_jobs:?}");
    assert!(storm_jobs.iter().all(|j| j.ticket == t2));
    // The card is recorded once; the thread batch records how far it got and queues the rest.
    let card_job = storm_jobs
        .iter()
        .find(|j| matches!(j.effect, Effect::StormCard { .. }))
        .expect("card job");
    assert!(
        s.finish_job(
            card_job.claim(),
            &[JobRecord::StormCard {
                storm,
                chat: chat("9.1")
            }],
            at(3)
        )
        .await
        .expect("finish")
    );
    let thread_job = storm_jobs
        .iter()
        .find(|j| matches!(j.effect, Effect::StormThread { .. }))
        .expect("thread job");
    assert!(
        s.finish_job(
            thread_job.claim(),
            &[JobRecord::StormPosted {
                storm,
                upto: lines[0].seq,
                batch: Some(switchboard::store::PostedBatch {
                    from: lines[0].seq,
                    chat: chat("9.2"),
                }),
            }],
            at(3)
        )
        .await
        .expect("finish")
    );
    let row = s.storm(storm).await.expect("read").expect("storm");
    assert_eq!(row.card, Some(chat("9.1")));
    assert_eq!(row.posted_upto, lines[0].seq);
    let next = s.claim_jobs(100, at(4), lease()).await.expect("claim");
    assert_eq!(
        next.iter().map(|j| &j.effect).collect::<Vec<_>>(),
        vec![&Effect::StormThread { storm }],
        "one more batch for the member not yet shown"
    );
    assert!(
        s.finish_job(
            next[0].claim(),
            &[JobRecord::StormPosted {
                storm,
                upto: lines[1].seq,
                batch: Some(switchboard::store::PostedBatch {
                    from: lines[1].seq,
                    chat: chat("9.3"),
                }),
            }],
            at(4)
        )
        .await
        .expect("finish")
    );
    // Each thread message is remembered with the members it shows.
    let batch = |from: i64, message: &str| switchboard::store::StormBatch {
        storm,
        from,
        upto: from,
        chat: chat(message),
    };
    assert_eq!(
        s.storm_batches_of_ticket(t2).await.expect("batches"),
        vec![batch(lines[0].seq, "9.2")]
    );
    assert_eq!(
        s.storm_batches_of_ticket(t3).await.expect("batches"),
        vec![batch(lines[1].seq, "9.3")]
    );
    assert!(
        s.storm_batches_of_ticket(t1)
            .await
            .expect("batches")
            .is_empty()
    );
    assert_eq!(
        s.storm_batch(storm, lines[1].seq).await.expect("batch"),
        Some(batch(lines[1].seq, "9.3"))
    );
    assert_eq!(
        s.storm_batch(storm, lines[1].seq + 1000)
            .await
            .expect("batch"),
        None
    );
    assert_eq!(
        s.latest_storm_batch(storm).await.expect("batch"),
        Some(batch(lines[1].seq, "9.3"))
    );
    assert_eq!(s.latest_storm_batch(storm + 1).await.expect("batch"), None);
    assert!(
        s.claim_jobs(100, at(5), lease())
            .await
            .expect("claim")
            .is_empty()
    );
    // A bulk filter finds exactly the storm's tickets.
    let filter = Filter {
        storm: Some(storm),
        ..Filter::default()
    };
    let mut found: Vec<TicketId> = s
        .find_tickets(&filter, 100)
        .await
        .expect("find")
        .iter()
        .map(|t| t.id)
        .collect();
    found.sort();
    assert_eq!(found, vec![t2, t3]);
    // Not quiet yet: nothing ends. Quiet: it ends once, the post is calm again, and the final
    // card edit and last batch are queued.
    assert!(
        s.end_quiet_storms(at(1), at(-100), at(5))
            .await
            .expect("end")
            .is_empty()
    );
    assert_eq!(
        s.end_quiet_storms(at(10), at(-100), at(10))
            .await
            .expect("end"),
        vec![storm]
    );
    assert!(
        s.end_quiet_storms(at(20), at(-100), at(20))
            .await
            .expect("end")
            .is_empty()
    );
    let row = s.storm(storm).await.expect("read").expect("storm");
    assert_eq!(row.ended_at, Some(at(10)));
    let a = s.post_activity(key).await.expect("read").expect("row");
    assert_eq!(a.activity.storm, None);
    assert!(a.activity.recent.is_empty());
    let last = s.claim_jobs(100, at(11), lease()).await.expect("claim");
    let mut effects: Vec<String> = last.iter().map(|j| format!("{:?}", j.effect)).collect();
    effects.sort();
    assert_eq!(
        effects,
        vec![
            format!("{:?}", Effect::StormCard { storm }),
            format!("{:?}", Effect::StormThread { storm })
        ]
    );
    // A refresh after a bulk action is queued once while one waits.
    for j in &last {
        assert!(s.finish_job(j.claim(), &[], at(11)).await.expect("finish"));
    }
    s.touch_storm(storm, at(12)).await.expect("touch");
    s.touch_storm(storm, at(12)).await.expect("touch");
    assert_eq!(
        s.claim_jobs(100, at(12), lease())
            .await
            .expect("claim")
            .len(),
        1
    );
    // Calm activity is forgotten after the window.
    s.end_quiet_storms(at(100), at(100), at(100))
        .await
        .expect("end");
    assert_eq!(s.post_activity(key).await.expect("read"), None);
}

/// A thread batch recorded after one of its members was erased (its lines read before the
/// erasure, or found posted by a lookup) queues its own edit, in the storm's edit lane; a
/// batch of members nobody erased queues nothing.
async fn a_batch_recorded_after_an_erasure_queues_its_edit(s: DynStore) {
    use switchboard::store::{NewStorm, PostedBatch, StormJoin, StormPost};
    let key = "slack:C1|facebook:page1:page1_post1";
    open_in_storm(
        &s,
        "c1",
        "u1",
        at(0),
        storm_write(None, StormJoin::No, None, vec![at(0)]),
    )
    .await;
    let a = s.post_activity(key).await.expect("read").expect("row");
    let start = StormJoin::Start(NewStorm {
        post_key: "facebook:page1:page1_post1".into(),
        channel: "slack:C1".into(),
        post: StormPost {
            subject: None,
            link: None,
        },
    });
    let m2 = Some(MessageKey::new("in:facebook:post1_c2"));
    let t2 = committed(
        open_in_storm(
            &s,
            "c2",
            "u2",
            at(1),
            storm_write(Some(a.version), start, m2, vec![at(1)]),
        )
        .await,
    );
    let a = s.post_activity(key).await.expect("read").expect("row");
    let storm = a.activity.storm.expect("a storm runs");
    let joins = StormJoin::Existing(storm);
    let m3 = Some(MessageKey::new("in:facebook:post1_c3"));
    let t3 = committed(
        open_in_storm(
            &s,
            "c3",
            "u3",
            at(2),
            storm_write(Some(a.version), joins, m3, vec![at(2)]),
        )
        .await,
    );
    let lines = s.storm_lines(storm, 0, 100).await.expect("lines");
    assert_eq!(lines.len(), 2);
    let jobs = s.claim_jobs(100, at(3), lease()).await.expect("claim");
    for j in &jobs {
        let records = match j.effect {
            Effect::StormCard { .. } => vec![JobRecord::StormCard {
                storm,
                chat: chat("9.1"),
            }],
            // The first batch shows t2 only, nobody erased: no edit.
            Effect::StormThread { .. } => vec![JobRecord::StormPosted {
                storm,
                upto: lines[0].seq,
                batch: Some(PostedBatch {
                    from: lines[0].seq,
                    chat: chat("9.2"),
                }),
            }],
            _ => vec![],
        };
        assert!(
            s.finish_job(j.claim(), &records, at(3))
                .await
                .expect("finish")
        );
    }
    let next = s.claim_jobs(100, at(4), lease()).await.expect("claim");
    assert_eq!(
        next.iter().map(|j| &j.effect).collect::<Vec<_>>(),
        vec![&Effect::StormThread { storm }],
        "no edit for a batch nobody in it was erased from"
    );
    // t3 is erased while the next batch is under way.
    let ticket = s.ticket(t3).await.expect("read").expect("ticket");
    let theirs = s.messages(t3).await.expect("messages");
    let erase = switchboard::core::Event::Erase {
        actor: switchboard::core::Actor::System,
        customer_messages: theirs.iter().map(|m| m.key.clone()).collect(),
    };
    let decision = decide(Some(&ticket), &erase, at(4)).expect("applies");
    let target = Target::Existing {
        id: t3,
        version: ticket.version,
    };
    let erased = s.commit(Commit {
        target,
        decision,
        consumes: Consumes::Nothing,
        now: at(4),
        storm: None,
    });
    committed(erased.await.expect("commit"));
    let batch = PostedBatch {
        from: lines[1].seq,
        chat: chat("9.3"),
    };
    let posted = JobRecord::StormPosted {
        storm,
        upto: lines[1].seq,
        batch: Some(batch),
    };
    assert!(
        s.finish_job(next[0].claim(), &[posted], at(5))
            .await
            .expect("finish")
    );
    let edits = s.claim_jobs(100, at(6), lease()).await.expect("claim");
    // (The erasure's own effects, its card's thread copies, are queued too.)
    assert_eq!(
        edits
            .iter()
            .filter(|j| matches!(j.effect, Effect::StormBatchEdit { .. }))
            .map(|j| (j.ticket, j.lane.as_str(), &j.effect))
            .collect::<Vec<_>>(),
        vec![(
            t2,
            switchboard::store::storm_edit_lane(storm).as_str(),
            &Effect::StormBatchEdit {
                storm,
                from: lines[1].seq
            }
        )]
    );
}

/// An ended storm is kept while any of its tickets is (the card's "open as card" and bulk
/// actions still reach them); once retention has purged them all and the storm ended long
/// enough ago, it is forgotten with the thread batches it recorded.
async fn an_ended_storm_is_forgotten_with_its_batches_once_its_tickets_are_purged(s: DynStore) {
    use switchboard::store::{NewStorm, PostedBatch, StormJoin, StormPost};
    let key = "slack:C1|facebook:page1:page1_post1";
    let calm = storm_write(None, StormJoin::No, None, vec![at(0)]);
    let t1 = committed(open_in_storm(&s, "c1", "u1", at(0), calm).await);
    let a = s.post_activity(key).await.expect("read").expect("row");
    let start = StormJoin::Start(NewStorm {
        post_key: "facebook:page1:page1_post1".into(),
        channel: "slack:C1".into(),
        post: StormPost {
            subject: None,
            link: None,
        },
    });
    let m2 = Some(MessageKey::new("in:facebook:post1_c2"));
    let joined = storm_write(Some(a.version), start, m2, vec![at(1)]);
    let t2 = committed(open_in_storm(&s, "c2", "u2", at(1), joined).await);
    let storm = s
        .post_activity(key)
        .await
        .expect("read")
        .expect("row")
        .activity
        .storm
        .expect("a storm runs");
    let lines = s.storm_lines(storm, 0, 100).await.expect("lines");
    assert_eq!(lines.iter().map(|l| l.ticket).collect::<Vec<_>>(), vec![t2]);
    let from = lines[0].seq;
    for j in s.claim_jobs(100, at(2), lease()).await.expect("claim") {
        let records = match j.effect {
            Effect::StormCard { .. } => vec![JobRecord::StormCard {
                storm,
                chat: chat("9.1"),
            }],
            Effect::StormThread { .. } => vec![JobRecord::StormPosted {
                storm,
                upto: from,
                batch: Some(PostedBatch {
                    from,
                    chat: chat("9.2"),
                }),
            }],
            _ => vec![],
        };
        assert!(
            s.finish_job(j.claim(), &records, at(2))
                .await
                .expect("finish")
        );
    }
    assert_eq!(
        s.end_quiet_storms(at(10), at(-100), at(10))
            .await
            .expect("end"),
        vec![storm]
    );
    finish_all_jobs(&s, at(11)).await;
    let kept = |s: DynStore| async move {
        (
            s.storm(storm).await.expect("read").is_some(),
            s.storm_batch(storm, from).await.expect("read").is_some(),
        )
    };
    // Ended long before the cut, but its ticket is still there: kept, batch and all.
    s.end_quiet_storms(at(20), at(1_000), at(20))
        .await
        .expect("end");
    assert_eq!(kept(s.clone()).await, (true, true));

    // Retention: the storm's ticket is closed, archived and purged (the calm one stays open,
    // and a newer ticket keeps the numbering).
    open(&s, "c9", "u9", at(25)).await;
    let ticket = get(&s, t2).await;
    let closed = apply_ok(&s, Some(&ticket), close_event(), at(30)).await;
    let archive = Event::Archive {
        after_days: 42,
        quiet_since: at(200),
    };
    let archived = apply_ok(&s, Some(&closed), archive, at(300)).await;
    assert!(archived.state.archived.is_some());
    finish_all_jobs(&s, at(301)).await;
    assert_eq!(s.purge_archived(at(400), 10).await.expect("purge"), 1);
    assert!(s.ticket(t1).await.expect("read").is_some());
    // Not yet past the cut: kept.
    s.end_quiet_storms(at(500), at(5), at(500))
        .await
        .expect("end");
    assert_eq!(kept(s.clone()).await, (true, true));
    // Past it: forgotten, with its batch.
    s.end_quiet_storms(at(600), at(550), at(600))
        .await
        .expect("end");
    assert_eq!(kept(s.clone()).await, (false, false));
    assert_eq!(s.latest_storm_batch(storm).await.expect("batch"), None);
}

async fn a_stale_storm_write_conflicts_and_writes_nothing(s: DynStore) {
    use switchboard::store::StormJoin;
    let key = "slack:C1|facebook:page1:page1_post1";
    committed(
        open_in_storm(
            &s,
            "c1",
            "u1",
            at(0),
            storm_write(None, StormJoin::No, None, vec![at(0)]),
        )
        .await,
    );
    // Another writer read "no row" too: its commit conflicts, and its ticket is not written.
    let late = open_in_storm(
        &s,
        "c2",
        "u2",
        at(1),
        storm_write(None, StormJoin::No, None, vec![at(1)]),
    )
    .await;
    assert_eq!(late, CommitOutcome::Conflict);
    let stale = open_in_storm(
        &s,
        "c2",
        "u2",
        at(1),
        storm_write(Some(7), StormJoin::No, None, vec![at(1)]),
    )
    .await;
    assert_eq!(stale, CommitOutcome::Conflict);
    assert_eq!(s.count_tickets().await.expect("count"), 1);
    // Joining a storm that has ended conflicts as well.
    let a = s.post_activity(key).await.expect("read").expect("row");
    let gone = open_in_storm(
        &s,
        "c3",
        "u3",
        at(2),
        storm_write(
            Some(a.version),
            StormJoin::Existing(999),
            Some(MessageKey::new("in:facebook:post1_c3")),
            vec![],
        ),
    )
    .await;
    assert_eq!(gone, CommitOutcome::Conflict);
    assert_eq!(s.count_tickets().await.expect("count"), 1);
}

async fn pacing_is_shared_by_concurrent_takers(s: DynStore) {
    let gap = Duration::seconds(1);
    // Two replicas ask at the same moment: one gets the slot, the other the time of the next.
    let (a, b) = tokio::join!(
        s.take_pace("post:slack:C1", gap, at(0)),
        s.take_pace("post:slack:C1", gap, at(0) + Duration::microseconds(1))
    );
    let (a, b) = (a.expect("pace"), b.expect("pace"));
    assert_eq!(
        [a.is_none(), b.is_none()].iter().filter(|x| **x).count(),
        1,
        "exactly one slot: {a:?} {b:?}"
    );
    let waits: Vec<_> = [a, b].into_iter().flatten().collect();
    assert_eq!(waits.len(), 1);
    assert!(
        waits[0] == at(1) || waits[0] == at(1) + Duration::microseconds(1),
        "the next slot is one gap after the one taken: {waits:?}"
    );
    // Before the slot: still waiting, for the same time. At it: taken. Other keys are apart.
    assert!(
        s.take_pace("post:slack:C1", gap, at(0) + Duration::milliseconds(500))
            .await
            .expect("pace")
            .is_some()
    );
    assert_eq!(
        s.take_pace("post:slack:C2", gap, at(0))
            .await
            .expect("pace"),
        None
    );
    assert_eq!(
        s.take_pace("update:slack:C1", gap, at(0))
            .await
            .expect("pace"),
        None
    );
    assert_eq!(
        s.take_pace("post:slack:C1", gap, at(2))
            .await
            .expect("pace"),
        None
    );
    // Many takers over three seconds of attempts: never two slots within one gap.
    let mut taken = Vec::new();
    for ms in (3_000..6_000).step_by(100) {
        let now = at(0) + Duration::milliseconds(ms);
        let (x, y) = tokio::join!(
            s.take_pace("post:slack:C1", gap, now),
            s.take_pace("post:slack:C1", gap, now)
        );
        for r in [x, y] {
            if r.expect("pace").is_none() {
                taken.push(now);
            }
        }
    }
    assert_eq!(taken.len(), 3, "{taken:?}");
    assert!(taken.windows(2).all(|w| w[1] - w[0] >= gap), "{taken:?}");
}

/// Rows the scans of `table` produced in an `EXPLAIN (ANALYZE, FORMAT JSON)` plan node and
/// below (rows × loops).
fn rows_scanned(node: &serde_json::Value, table: &str) -> i64 {
    // What a scan returned and what its filter read and threw away, over all its loops.
    let own = if node["Relation Name"] == table {
        let read = node["Actual Rows"].as_i64().unwrap_or(0)
            + node["Rows Removed by Filter"].as_i64().unwrap_or(0)
            + node["Rows Removed by Index Recheck"].as_i64().unwrap_or(0);
        read * node["Actual Loops"].as_i64().unwrap_or(1)
    } else {
        0
    };
    let below: i64 = node["Plans"]
        .as_array()
        .map(|plans| plans.iter().map(|p| rows_scanned(p, table)).sum())
        .unwrap_or(0);
    own + below
}

/// The plan a claims connection runs `window` (a window claim) with, at `now` for `limit`
/// rows among `window_rows`: its generic plan under the claim settings, carried out with
/// `EXPLAIN (ANALYZE, BUFFERS)` and rolled back.
async fn explain_claim(
    conn: &mut sqlx::PgConnection,
    window: &str,
    now: DateTime<Utc>,
    limit: i64,
    window_rows: i64,
) -> serde_json::Value {
    sqlx::raw_sql(switchboard::store::postgres::CLAIM_SETTINGS)
        .execute(&mut *conn)
        .await
        .expect("settings");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "PREPARE w(timestamptz, timestamptz, bigint, bigint) AS {window}"
    )))
    .execute(&mut *conn)
    .await
    .expect("prepare");
    let until = (now + lease()).to_rfc3339();
    let now = now.to_rfc3339();
    let mut tx = conn.begin().await.expect("begin");
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) \
         EXECUTE w('{until}', '{now}', {limit}, {window_rows})"
    )))
    .fetch_one(&mut *tx)
    .await
    .expect("explain");
    // A `json` value: its text, whatever the wire format.
    let text: String = sqlx::Row::try_get_unchecked(&row, 0).expect("plan text");
    tx.rollback().await.expect("rollback");
    serde_json::from_str(&text).expect("plan json")
}

/// Postgres plans a claim as a bounded walk even with statistics taken while the queue was
/// empty (as after a quiet period): a window of rows that are all behind their lane must not
/// send the walk through every pending row. Counted in rows the claim's generic plan (on a
/// claims connection's settings) scanned.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_claims_walk_a_bounded_part_of_a_stale_queue() {
    let Some(db) = pg_db().await else { return };
    let outcome = tokio::spawn({
        let store = db.store.clone();
        let url = db.db.url.clone();
        async move {
            let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
            sqlx::raw_sql("ANALYZE inbox")
                .execute(&mut conn)
                .await
                .expect("analyze");
            // 20 rows in one lane at the head, then 3,000 more.
            let mut rows: Vec<NewInbox> = (0..20)
                .map(|i| NewInbox {
                    lane: Some("ticket:1".into()),
                    ..inbox(&format!("l{i:02}"))
                })
                .collect();
            rows.extend((0..3000).map(|i| inbox(&format!("r{i:04}"))));
            store.insert_inbox(&rows, t0()).await.expect("insert");
            // The lane's first row in flight: the next window (rows 2–9) is all behind it.
            let first = store.claim_inbox(1, t0(), lease()).await.expect("claim");
            assert_eq!(first[0].dedupe_key, "l00");
            let window = switchboard::store::postgres::CLAIM_INBOX_WINDOW;
            let plan = explain_claim(&mut conn, window, at(1), 1, 8).await;
            let walked = rows_scanned(&plan[0]["Plan"], "inbox");
            assert!(
                walked < 200,
                "the window claim walked {walked} inbox rows: {}",
                serde_json::to_string_pretty(&plan).unwrap_or_default()
            );
            // Nothing of the window was claimable; the whole queue finds a row of another lane.
            let next = store.claim_inbox(1, at(1), lease()).await.expect("claim");
            assert_eq!(next[0].dedupe_key, "r0000");
        }
    })
    .await;
    db.drop_database().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// The outbox claim, planned on statistics taken while the queue was nearly empty, checks
/// each candidate's lane with one probe of the pending-lane index, not a walk over every older
/// pending job: with 60 jobs in flight at the head of the queue (a worker's own claims) and
/// 3,000 behind them, the window claim reads a bounded number of outbox rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_outbox_claims_check_lanes_with_a_probe_on_a_stale_queue() {
    let Some(db) = pg_db().await else { return };
    let outcome = tokio::spawn({
        let store = db.store.clone();
        let url = db.db.url.clone();
        async move {
            let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
            let ticket = open(&store, "c1", "cust1", t0()).await;
            finish_all_jobs(&store, at(1)).await;
            sqlx::raw_sql("ANALYZE outbox")
                .execute(&mut conn)
                .await
                .expect("analyze");
            // 3,060 pending jobs, each in a lane of its own, made like the card job.
            let made = sqlx::query(
                "INSERT INTO outbox (ticket_id, lane, effect, status, attempts, run_at, created_at) \
                 SELECT $1, 'lane:' || g, (SELECT effect FROM outbox LIMIT 1), 'pending', 0, \
                        $2, $2 FROM generate_series(1, 3060) g",
            )
            .bind(ticket.id.0)
            .bind(at(2))
            .execute(&mut conn)
            .await
            .expect("insert");
            assert_eq!(made.rows_affected(), 3060);
            // The worker's own claims: the 60 oldest in flight.
            let flying = store.claim_jobs(60, at(3), lease()).await.expect("claim");
            assert_eq!(flying.len(), 60);
            let window = switchboard::store::postgres::CLAIM_JOBS_WINDOW;
            let plan = explain_claim(&mut conn, window, at(4), 8, 64).await;
            let read = rows_scanned(&plan[0]["Plan"], "outbox");
            // The window (64 rows), its 8 claimed rows, one probe per candidate.
            assert!(
                read < 400,
                "the outbox window claim read {read} outbox rows: {}",
                serde_json::to_string_pretty(&plan).unwrap_or_default()
            );
            // The claim itself takes the next 8 in order.
            let next = store.claim_jobs(8, at(4), lease()).await.expect("claim");
            let first = flying.iter().map(|j| j.id).max().expect("ids");
            assert_eq!(
                next.iter().map(|j| j.id).collect::<Vec<_>>(),
                (first + 1..=first + 8).collect::<Vec<_>>()
            );
        }
    })
    .await;
    db.drop_database().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
