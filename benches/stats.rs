//! Team statistics over 1,000,000 history rows, the way `/switchboard stats` computes them
//! (`Store::team_stats`: the statements, then percentiles in Rust). 100,000 tickets over 90
//! days, 10 history entries each (opened, customer message, an automatic reply, a teammate's
//! reply queued and delivered, read, tagged, an SLA result, closed, and an auto-close or a
//! note), seeded with multi-row INSERTs in one transaction. Times `stats 7d` and `stats 30d`
//! for every ticket and confined to a channel's route, on SQLite and (with
//! SWITCHBOARD_TEST_POSTGRES_URL) Postgres.
//!
//! `cargo bench --bench stats` (env: BENCH_TICKETS, default 100000; 10 rows per ticket)

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use sqlx::QueryBuilder;
use switchboard::core::filter::{Filter, RouteAccount, RouteMatch};
use switchboard::core::stats::Period;
use switchboard::core::{
    AccountId, Actor, ChatUserId, Customer, CustomerId, Event, HistoryKind, InboundItem, ItemKind,
    MessageKey, Network, NetworkItemId, SlaTarget, Status, Surface, Teammate, TicketState,
};

const PAGE: &str = "1234567890321";
/// History rows written per ticket.
const ROWS_PER_TICKET: u64 = 10;
/// Tickets per INSERT statement (history: 10 rows each, 5 parameters a row).
const CHUNK: usize = 500;
/// The seeded span, ending at `end()`.
const DAYS: i64 = 90;

fn end() -> DateTime<Utc> {
    DateTime::from_timestamp(1_796_000_000, 0).expect("time")
}

struct Row {
    at: DateTime<Utc>,
    actor: String,
    code: &'static str,
    detail: String,
}

struct Seeded {
    id: i64,
    state: TicketState,
    history: Vec<Row>,
}

fn ticket(i: u64, n: u64, template: &TicketState) -> Seeded {
    let network = [Network::Facebook, Network::Instagram, Network::Youtube][(i % 3) as usize];
    let kind = [ItemKind::Comment, ItemKind::DirectMessage][(i % 2) as usize];
    let span = Duration::days(DAYS).num_seconds() as u64;
    let opened = end() - Duration::days(DAYS) + Duration::seconds((i * span / n) as i64);
    let mut state = template.clone();
    state.network = network;
    state.kind = kind;
    state.conversation_key = format!("bench:{i}");
    state.customer.id = CustomerId::new(format!("c{i}"));
    state.tags = vec![format!("tag{}", i % 12), format!("topic{}", i % 5)];
    state.status = Status::Closed;
    state.created_at = opened;
    state.updated_at = opened;
    let teammate = Actor::Teammate(Teammate {
        surface: Surface::Slack,
        id: ChatUserId::new(format!("U{:02}", i % 20)),
    });
    let json = |v: &dyn erased::Json| v.json();
    let key = MessageKey::new(format!("m{i}"));
    let at = |minutes: u64| opened + Duration::minutes(minutes as i64);
    let entry = |at: DateTime<Utc>, actor: &Actor, what: HistoryKind| Row {
        at,
        actor: json(actor),
        code: what.code(),
        detail: json(&what),
    };
    let customer = Actor::Customer(CustomerId::new(format!("c{i}")));
    let first = 5 + i % 240;
    let history = vec![
        entry(at(0), &customer, HistoryKind::Opened),
        entry(
            at(0),
            &customer,
            HistoryKind::CustomerMessage { key: key.clone() },
        ),
        entry(
            at(1),
            &Actor::System,
            HistoryKind::ReplyDelivered {
                key: MessageKey::new(format!("a{i}")),
                account: None,
            },
        ),
        entry(
            at(first - 1),
            &teammate,
            HistoryKind::ReplyQueued {
                key: MessageKey::new(format!("r{i}")),
            },
        ),
        entry(
            at(first),
            &teammate,
            HistoryKind::ReplyDelivered {
                key: MessageKey::new(format!("r{i}")),
                account: None,
            },
        ),
        entry(
            at(first),
            &teammate,
            HistoryKind::StatusChanged {
                from: Status::Unread,
                to: Status::Read,
            },
        ),
        entry(
            at(first + 1),
            &teammate,
            HistoryKind::TagsChanged {
                added: state.tags.clone(),
                removed: vec![],
            },
        ),
        if first < 120 {
            entry(
                at(first),
                &Actor::System,
                HistoryKind::SlaMet {
                    target: SlaTarget::FirstResponse,
                },
            )
        } else {
            entry(
                at(120),
                &Actor::System,
                HistoryKind::SlaBreached {
                    target: SlaTarget::FirstResponse,
                },
            )
        },
        entry(
            at(first + 60 + i % 600),
            &teammate,
            HistoryKind::StatusChanged {
                from: Status::Read,
                to: Status::Closed,
            },
        ),
        if i.is_multiple_of(4) {
            entry(
                at(first + 61 + i % 600),
                &Actor::System,
                HistoryKind::AutoClosed { after_days: 7 },
            )
        } else {
            entry(
                at(first + 2),
                &teammate,
                HistoryKind::NoteAdded {
                    key: MessageKey::new(format!("n{i}")),
                },
            )
        },
    ];
    debug_assert_eq!(history.len() as u64, ROWS_PER_TICKET);
    Seeded {
        id: i as i64 + 1,
        state,
        history,
    }
}

/// `serde_json::to_string` behind a trait object, for the closures above.
mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).expect("json")
        }
    }
}

fn template() -> TicketState {
    let caps = switchboard::networks::meta::capabilities::facebook(ItemKind::Comment, false);
    let item = InboundItem {
        network: Network::Facebook,
        account: AccountId::new(PAGE),
        item_id: NetworkItemId::new("777_1"),
        kind: ItemKind::Comment,
        post_id: NetworkItemId::new(format!("{PAGE}_777")),
        customer: Customer {
            id: CustomerId::new("c"),
            name: Some("Customer".into()),
        },
        text: "Question about my order".into(),
        created_at: end(),
        permalink: None,
        attachments: Vec::new(),
        context: Default::default(),
    };
    switchboard::core::decide(None, &Event::CustomerMessage { item }, &caps, end())
        .expect("opens")
        .state
}

/// Insert every ticket and its history in one transaction, `CHUNK` tickets per statement.
/// `time` encodes a timestamp as the backend stores it.
macro_rules! seed {
    ($db:ty, $conn:expr, $n:expr, $time:expr, $tickets_insert:expr) => {{
        let template = template();
        let mut tx = $conn.begin().await.expect("begin");
        let mut i = 0u64;
        while i < $n {
            let batch: Vec<Seeded> = (i..($n).min(i + CHUNK as u64))
                .map(|i| ticket(i, $n, &template))
                .collect();
            let mut qb = QueryBuilder::<$db>::new($tickets_insert);
            qb.push_values(&batch, |mut b, t| {
                let s = &t.state;
                b.push_bind(t.id)
                    .push_bind(1i64)
                    .push_bind(s.network.as_str())
                    .push_bind(s.account.as_str().to_string())
                    .push_bind(s.conversation_key.clone())
                    .push_bind(s.status.as_str())
                    .push_bind(None::<String>)
                    .push_bind(switchboard::core::stats::kind_word(s.kind))
                    .push_bind(s.customer.id.as_str().to_string())
                    .push_bind($time(s.created_at))
                    .push_bind($time(s.updated_at))
                    .push_bind(serde_json::to_string(s).expect("state"));
            });
            qb.build().execute(&mut *tx).await.expect("tickets");
            let rows: Vec<(i64, &Row)> = batch
                .iter()
                .flat_map(|t| t.history.iter().map(move |r| (t.id, r)))
                .collect();
            let mut qb = QueryBuilder::<$db>::new(
                "INSERT INTO ticket_history (ticket_id, at, actor, code, detail) ",
            );
            qb.push_values(&rows, |mut b, (id, r)| {
                b.push_bind(*id)
                    .push_bind($time(r.at))
                    .push_bind(r.actor.clone())
                    .push_bind(r.code)
                    .push_bind(r.detail.clone());
            });
            qb.build().execute(&mut *tx).await.expect("history");
            i += CHUNK as u64;
        }
        tx.commit().await.expect("commit");
    }};
}

const TICKET_COLUMNS: &str = "(id, version, network, account, conversation_key, status, assignee, \
     kind, customer_id, created_at, updated_at, state)";

async fn run(label: &str, url: &str, n: u64) {
    let store = switchboard::store::connect(url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let started = Instant::now();
    if url.starts_with("sqlite:") {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        seed!(
            sqlx::Sqlite,
            conn,
            n,
            |t: DateTime<Utc>| t.timestamp_micros(),
            format!("INSERT INTO tickets {TICKET_COLUMNS} ")
        );
        sqlx::query("ANALYZE")
            .execute(&mut conn)
            .await
            .expect("analyze");
    } else {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
        seed!(
            sqlx::Postgres,
            conn,
            n,
            |t: DateTime<Utc>| t,
            format!("INSERT INTO tickets {TICKET_COLUMNS} OVERRIDING SYSTEM VALUE ")
        );
        sqlx::query("ANALYZE")
            .execute(&mut conn)
            .await
            .expect("analyze");
    }
    println!(
        "{label:9} seeded {n} tickets, {} history rows in {:?}",
        n * ROWS_PER_TICKET,
        started.elapsed()
    );

    // A channel's route, as `Config::route_to` gives it: the Page's channel is this one.
    let route = Filter {
        route: Some(RouteMatch {
            rules: vec![],
            accounts: vec![RouteAccount {
                network: Network::Facebook,
                account: AccountId::new(PAGE),
                here: true,
            }],
        }),
        ..Default::default()
    };
    for (what, days, filter) in [
        ("7d, every ticket", 7, Filter::default()),
        ("30d, every ticket", 30, Filter::default()),
        ("7d, one channel", 7, route.clone()),
        ("30d, one channel", 30, route),
    ] {
        let period = Period {
            from: end() - Duration::days(days),
            to: end(),
        };
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..5 {
            let t = Instant::now();
            last = Some(
                store
                    .team_stats(period, &filter, None)
                    .await
                    .expect("stats"),
            );
            times.push(t.elapsed());
        }
        times.sort();
        let s = last.expect("ran");
        println!(
            "{label:9} stats {what:18}: median of 5 {:?}, max {:?} ({} tickets opened, {} teammates, first response p50 {:?})",
            times[2],
            times[4],
            s.opened,
            s.teammates.len(),
            s.first_response.p50.map(|d| d.num_minutes()),
        );
    }
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let n: u64 = std::env::var("BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let sqlite = format!("sqlite://{}", dir.path().join("stats.db").display());
        run("sqlite", &sqlite, n).await;
        match std::env::var("SWITCHBOARD_TEST_POSTGRES_URL") {
            Ok(base) => {
                let db = format!("sb_bench_stats_{}", std::process::id());
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
                // BENCH_KEEP_DB=1 keeps the database, to look at the query plans.
                if std::env::var_os("BENCH_KEEP_DB").is_some() {
                    println!("postgres  kept database {db}");
                } else {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}")))
                        .execute(&admin)
                        .await
                        .expect("drop");
                }
                admin.close().await;
            }
            Err(_) => println!("postgres  skipped: set SWITCHBOARD_TEST_POSTGRES_URL"),
        }
    });
}
