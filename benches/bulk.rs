//! Bulk close of 10,000 tickets, the way `/switchboard close <filter>` does it (confined to
//! the channel it is run in): the bulk event is committed to the inbox and the inbox worker
//! matches the filter and applies Close to every ticket (one version-checked commit each, with
//! its card-update job). Reports the total time and the per-ticket apply time p50/p99, on SQLite
//! and (with SWITCHBOARD_TEST_POSTGRES_URL) Postgres. The outbox is not run.
//!
//! `cargo bench --bench bulk` (env: BENCH_TICKETS, default 10000)

use std::time::Instant;

use chrono::Utc;
use secrecy::SecretString;
use switchboard::config::{Config, PageConfig};
use switchboard::core::filter::Filter;
use switchboard::core::{
    AccountId, CardAction, ChatUserId, Customer, CustomerId, Event, InboundItem, ItemKind, Network,
    NetworkItemId, Status, Surface, Teammate,
};
use switchboard::store::{self, Consumes, JobStatus, NewInbox};
use switchboard::workers::apply::{Lookup, apply};
use switchboard::workers::{InboxEvent, inbox};

const PAGE: &str = "1234567890321";

fn config(db: &str) -> Config {
    let mut c = Config::default();
    c.database.url = db.into();
    c.meta.app_secret = Some(SecretString::from("s"));
    c.meta.verify_token = Some(SecretString::from("v"));
    c.meta.pages = vec![PageConfig {
        id: PAGE.into(),
        name: "Bench".into(),
        access_token: Some(SecretString::from("t")),
        slack_channel: Some("C1".into()),
        discord_channel: None,
    }];
    c.slack.team_id = "T1".into();
    c.slack.bot_token = Some(SecretString::from("xoxb-bench"));
    c.slack.signing_secret = Some(SecretString::from("s"));
    c.slack.api_url = "http://127.0.0.1:9/api".into();
    c.meta.graph_api_url = "http://127.0.0.1:9".into();
    c
}

fn item(i: u64) -> InboundItem {
    InboundItem {
        network: Network::Facebook,
        account: AccountId::new(PAGE),
        item_id: NetworkItemId::new(format!("777_{i}")),
        kind: ItemKind::Comment,
        post_id: NetworkItemId::new(format!("{PAGE}_777")),
        customer: Customer {
            id: CustomerId::new(format!("{}", 9_000_000 + i)),
            name: Some(format!("Customer {i}")),
        },
        text: format!("Question number {i} about my order"),
        created_at: Utc::now(),
        permalink: None,
        attachments: Vec::new(),
        context: Default::default(),
    }
}

fn pct(sorted: &[std::time::Duration], p: f64) -> std::time::Duration {
    let i = ((sorted.len().max(1) - 1) as f64 * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

async fn run(label: &str, db: &str, n: u64) {
    let store = store::connect(db).await.expect("connect");
    store.migrate().await.expect("migrate");
    let svc = switchboard::app::services(config(db), store.clone()).expect("services");
    let seed = Instant::now();
    for i in 0..n {
        let item = item(i);
        let key = Lookup::Conversation(item.conversation_key());
        apply(
            &svc,
            &key,
            &Event::CustomerMessage { item },
            Consumes::Nothing,
        )
        .await
        .expect("seed");
    }
    println!("{label:9} seeded {n} tickets in {:?}", seed.elapsed());

    let ana = Teammate {
        surface: Surface::Slack,
        id: ChatUserId::new("UANA"),
    };
    // The bulk is timed as a whole; per-ticket latency is sampled afterwards on 1,000 single
    // status changes (reopening closed tickets), so the sample does not slow the bulk.
    let event = InboxEvent::Bulk {
        teammate: ana.clone(),
        action: CardAction::Close,
        // As `/switchboard close status:unread` run in the Page's channel: confined to it.
        filter: Filter {
            statuses: vec![Status::Unread],
            route: svc.config.route_to(Surface::Slack, "C1"),
            ..Default::default()
        },
        response_url: None,
        discord_token: None,
        tag: None,
        keyword: None,
        assignee: None,
    };
    let jobs_before = store.count_jobs(JobStatus::Pending).await.expect("count");
    let started = Instant::now();
    store
        .insert_inbox(
            &[NewInbox {
                source: "bench".into(),
                dedupe_key: "bulk".into(),
                payload: serde_json::to_string(&event).expect("json"),
                lane: None,
            }],
            Utc::now(),
        )
        .await
        .expect("inbox");
    while store.count_pending_inbox().await.expect("count") > 0 {
        inbox::process_batch(&svc).await.expect("process");
    }
    let total = started.elapsed();
    let closed = store
        .find_tickets(
            &Filter {
                statuses: vec![Status::Closed],
                ..Default::default()
            },
            n as i64,
        )
        .await
        .expect("find")
        .len();
    let card_jobs = store.count_jobs(JobStatus::Pending).await.expect("count") - jobs_before;
    assert_eq!(closed as u64, n, "every ticket closed");
    println!(
        "{label:9} bulk close of {n} tickets: total {total:?} ({:.0} tickets/s), {card_jobs} card updates queued",
        n as f64 / total.as_secs_f64()
    );

    let mut lat = Vec::new();
    for t in store
        .find_tickets(
            &Filter {
                statuses: vec![Status::Closed],
                ..Default::default()
            },
            1000,
        )
        .await
        .expect("find")
    {
        let t0 = Instant::now();
        apply(
            &svc,
            &Lookup::Id(t.id),
            &Event::Action {
                teammate: ana.clone(),
                action: CardAction::Reopen,
            },
            Consumes::Nothing,
        )
        .await
        .expect("apply");
        lat.push(t0.elapsed());
    }
    lat.sort();
    println!(
        "{label:9} one ticket's status change (read, decide, commit with its job), {} samples: p50 {:?} p99 {:?}",
        lat.len(),
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let n: u64 = std::env::var("BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let sqlite = format!("sqlite://{}", dir.path().join("bulk.db").display());
        run("sqlite", &sqlite, n).await;
        match std::env::var("SWITCHBOARD_TEST_POSTGRES_URL") {
            Ok(base) => {
                let db = format!("sb_bench_bulk_{}", std::process::id());
                let admin = sqlx::PgPool::connect(&base).await.expect("postgres");
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}")))
                    .execute(&admin)
                    .await
                    .expect("drop");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
                    .execute(&admin)
                    .await
                    .expect("create");
                let mut url = url::Url::parse(&base).expect("url");
                url.set_path(&db);
                run("postgres", url.as_str(), n).await;
                admin.close().await;
            }
            Err(_) => println!("postgres  skipped: set SWITCHBOARD_TEST_POSTGRES_URL"),
        }
    });
}
