//! A filter confined to one channel's tickets (`Filter::route`), on both stores: the store
//! returns exactly the tickets `Config::destination_for` sends to that channel, newest first,
//! within the limit, also when a keyword rule makes the SQL a superset that Rust narrows.
//! SQLite always; Postgres with `SWITCHBOARD_TEST_POSTGRES_URL` (required under `CI`).

use chrono::{DateTime, Duration, Utc};
use sqlx::Connection;

use switchboard::config::{Config, Destination};
use switchboard::core::filter::Filter;
use switchboard::core::{
    AccountId, Customer, CustomerId, Event, InboundItem, ItemKind, Network, NetworkItemId, Status,
    Surface, Ticket, TicketId,
};
use switchboard::store::{Commit, CommitOutcome, Consumes, DynStore, Target};

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

const CONFIG: &str = r#"
[[meta.pages]]
id = "1"
name = "Acme"
slack_channel = "CPAGE"
[[meta.pages]]
id = "2"
name = "Beans"
slack_channel = "CBEANS"
[[meta.whatsapp]]
id = "3"
name = "Acme WhatsApp"
slack_channel = "CPAGE"
[[routing]]
kind = "direct_message"
network = "facebook"
slack_channel = "CDM"
[[routing]]
keyword = "RÜCKERSTATTUNG"
slack_channel = "CREFUND"
[[routing]]
keyword = "refund"
slack_channel = "CREFUND"
"#;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(1_780_000_000_000_000).expect("valid timestamp")
}

async fn open(
    store: &DynStore,
    n: u32,
    network: Network,
    account: &str,
    kind: ItemKind,
    text: &str,
) -> Ticket {
    let now = t0() + Duration::seconds(i64::from(n));
    let item = InboundItem {
        network,
        account: AccountId::new(account),
        item_id: NetworkItemId::new(format!("item_{n}")),
        kind,
        post_id: NetworkItemId::new("post"),
        customer: Customer {
            id: CustomerId::new(format!("c{n}")),
            name: Some(format!("Customer {n}")),
        },
        text: text.into(),
        created_at: now,
        permalink: None,
        attachments: Vec::new(),
        context: Default::default(),
    };
    let decision = decide(None, &Event::CustomerMessage { item }, now).expect("opens");
    let outcome = store
        .commit(Commit {
            target: Target::New,
            decision,
            consumes: Consumes::Nothing,
            now,
            storm: None,
        })
        .await
        .expect("commit");
    let CommitOutcome::Committed { ticket, .. } = outcome else {
        panic!("{outcome:?}");
    };
    store.ticket(ticket).await.expect("read").expect("ticket")
}

fn routed_to(config: &Config, t: &Ticket) -> Option<String> {
    let account = config.account(t.state.network, t.state.account.as_str())?;
    match config.destination_for(&t.state, &account)? {
        Destination::Slack { channel } => Some(channel.to_string()),
        Destination::Discord { channel, .. } => Some(channel.id.clone()),
    }
}

async fn found(store: &DynStore, filter: &Filter, limit: i64) -> Vec<TicketId> {
    store
        .find_tickets(filter, limit)
        .await
        .expect("find_tickets")
        .into_iter()
        .map(|t| t.id)
        .collect()
}

async fn a_channel_filter_returns_exactly_its_tickets(store: DynStore) {
    use ItemKind::*;
    use Network::*;
    let config = Config::parse(CONFIG).expect("config");
    let mut tickets = Vec::new();
    let plain = [
        (Facebook, "1", Comment, "hello"),
        (Facebook, "2", Comment, "hello"),
        (Whatsapp, "3", DirectMessage, "hi"),
        (
            Facebook,
            "1",
            DirectMessage,
            "a refund, a DM: the DM rule comes first",
        ),
        (Facebook, "9", Comment, "an account that is not configured"),
    ];
    for (i, (network, account, kind, text)) in plain.into_iter().enumerate() {
        tickets.push(open(&store, i as u32, network, account, kind, text).await);
    }
    // The newest tickets all go to the keyword channel: a channel's first page of SQL rows is
    // all of them, and the store must look further.
    for i in 0..12u32 {
        let text = if i % 2 == 0 {
            "Where is my REFUND?"
        } else {
            "Meine Rückerstattung bitte"
        };
        let account = if i % 3 == 0 { "2" } else { "1" };
        tickets.push(open(&store, 100 + i, Facebook, account, Comment, text).await);
    }
    tickets.push(open(&store, 200, Whatsapp, "3", DirectMessage, "refund please").await);

    // Newest first, as find_tickets orders.
    tickets.sort_by_key(|t| std::cmp::Reverse((t.state.updated_at, t.id)));
    for channel in ["CPAGE", "CBEANS", "CDM", "CREFUND"] {
        let route = config
            .route_to(Surface::Slack, channel)
            .expect("an inbox channel");
        let want: Vec<TicketId> = tickets
            .iter()
            .filter(|t| routed_to(&config, t).as_deref() == Some(channel))
            .map(|t| t.id)
            .collect();
        assert!(!want.is_empty(), "{channel} has tickets");
        let filter = Filter {
            route: Some(route.clone()),
            ..Filter::default()
        };
        assert_eq!(found(&store, &filter, 100).await, want, "{channel}");
        for limit in [0, 1, 2, 3] {
            let head: Vec<TicketId> = want.iter().copied().take(limit).collect();
            assert_eq!(
                found(&store, &filter, limit as i64).await,
                head,
                "{channel}, limit {limit}"
            );
        }
        // With the other filters too: nothing of another channel comes back.
        let unread_comments = Filter {
            statuses: vec![Status::Unread],
            network: Some(Facebook),
            route: Some(route),
            ..Filter::default()
        };
        let want: Vec<TicketId> = tickets
            .iter()
            .filter(|t| {
                t.state.network == Facebook && routed_to(&config, t).as_deref() == Some(channel)
            })
            .map(|t| t.id)
            .collect();
        assert_eq!(
            found(&store, &unread_comments, 100).await,
            want,
            "{channel}"
        );
    }
    assert_eq!(
        found(&store, &Filter::default(), 100).await.len(),
        tickets.len(),
        "without a route: every channel's"
    );
}

// ---- both backends ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_channel_filter() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("route.db").display());
    let store = switchboard::store::connect(&url).await.expect("sqlite");
    store.migrate().await.expect("migrate");
    a_channel_filter_returns_exactly_its_tickets(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_channel_filter() {
    let Ok(admin_url) = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "SWITCHBOARD_TEST_POSTGRES_URL must be set in CI"
        );
        eprintln!("skipping the Postgres channel filter: SWITCHBOARD_TEST_POSTGRES_URL is not set");
        return;
    };
    let name = format!(
        "sb_route_{}_{}",
        std::process::id(),
        Utc::now().timestamp_micros()
    );
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to SWITCHBOARD_TEST_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create database");
    let mut url = url::Url::parse(&admin_url).expect("URL");
    url.set_path(&format!("/{name}"));
    let store = switchboard::store::connect(url.as_str())
        .await
        .expect("postgres");
    store.migrate().await.expect("migrate");
    let outcome = tokio::spawn(a_channel_filter_returns_exactly_its_tickets(store.clone())).await;
    drop(store);
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await;
    let _ = admin.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
