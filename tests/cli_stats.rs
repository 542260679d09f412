//! `switchboard stats` as an operator runs it: the figures as text or CSV (formulas defused),
//! over a date range, and a readable refusal of arguments it cannot read (exit code 1,
//! nothing on stdout).

use std::process::Command;

use chrono::{DateTime, Utc};
use switchboard::core::{
    AccountId, Actor, ChatUserId, Customer, CustomerId, Event, HistoryEntry, HistoryKind,
    InboundItem, ItemKind, MessageKey, Network, NetworkItemId, Status, Surface, Teammate,
};
use switchboard::store::{Commit, Consumes, Target};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SWITCHBOARD_") {
            c.env_remove(k);
        }
    }
    c
}

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/switchboard.example.toml");

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

/// One Facebook comment opened on 2026-11-20 at 10:00, answered by U1 at 10:45 (after an
/// automatic reply at 10:01, which does not count) and closed by U1 at 12:00; tagged with a
/// formula and `billing`.
async fn seed(db: &str) {
    let store = switchboard::store::connect(db).await.expect("connect");
    store.migrate().await.expect("migrate");
    let caps = switchboard::networks::meta::capabilities::facebook(ItemKind::Comment, false);
    let opened = t("2026-11-20T10:00:00Z");
    let item = InboundItem {
        network: Network::Facebook,
        account: AccountId::new("page1"),
        item_id: NetworkItemId::new("post1_1"),
        kind: ItemKind::Comment,
        post_id: NetworkItemId::new("page1_post1"),
        customer: Customer {
            id: CustomerId::new("cust1"),
            name: Some("Jo".into()),
        },
        text: "Where is my order?".into(),
        created_at: opened,
        permalink: None,
        attachments: vec![],
        context: Default::default(),
    };
    let mut decision =
        switchboard::core::decide(None, &Event::CustomerMessage { item }, &caps, opened)
            .expect("opens");
    let u1 = Actor::Teammate(Teammate {
        surface: Surface::Slack,
        id: ChatUserId::new("U1"),
    });
    let reply = |at: &str, actor: Actor| HistoryEntry {
        at: t(at),
        actor,
        what: HistoryKind::ReplyDelivered {
            key: MessageKey::new(format!("reply:{at}")),
            account: None,
        },
    };
    decision.state.tags = vec!["=SUM(A1)".into(), "billing".into()];
    decision.history = vec![
        HistoryEntry {
            at: opened,
            actor: Actor::Customer(CustomerId::new("cust1")),
            what: HistoryKind::Opened,
        },
        reply("2026-11-20T10:01:00Z", Actor::System),
        reply("2026-11-20T10:45:00Z", u1.clone()),
        HistoryEntry {
            at: t("2026-11-20T12:00:00Z"),
            actor: u1,
            what: HistoryKind::StatusChanged {
                from: Status::Read,
                to: Status::Closed,
            },
        },
    ];
    store
        .commit(Commit {
            target: Target::New,
            decision,
            consumes: Consumes::Nothing,
            now: opened,
            storm: None,
        })
        .await
        .expect("commit");
}

#[tokio::test]
async fn stats_are_printed_as_text_or_csv_and_bad_arguments_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("sb.db").display());
    seed(&db).await;
    let run = |args: &[&str]| {
        bin()
            .args(["--config", EXAMPLE, "stats"])
            .args(args)
            .env("SWITCHBOARD_DATABASE_URL", &db)
            .output()
            .expect("runs")
    };

    let out = run(&["--since", "2026-11-01..2026-11-30"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "2026-11-01 00:00 → 2026-12-01 00:00 UTC",
        "*Tickets opened:* 1 (Facebook 1; comment 1)",
        "*First response* (wall clock): median 45 min · p90 45 min · 1 answered, 0 not yet",
        "*Resolution* (wall clock): median 2 h 00 min · p90 2 h 00 min · 1 closed, 0 still open",
        "• slack:U1: 1 reply · 1 closed · median first response 45 min",
        "*Top tags:* =SUM(A1) 1 · billing 1",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }

    let out = run(&["--since", "2026-11-01..2026-11-30", "--csv"]);
    assert!(out.status.success());
    let mut rows = csv::Reader::from_reader(out.stdout.as_slice());
    let header = rows.headers().expect("header").clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        ["section", "key", "metric", "value"]
    );
    let records: Vec<Vec<String>> = rows
        .records()
        .map(|r| r.expect("row").iter().map(str::to_string).collect())
        .collect();
    let value = |section: &str, key: &str, metric: &str| {
        records
            .iter()
            .find(|r| r[0] == section && r[1] == key && r[2] == metric)
            .map(|r| r[3].clone())
            .unwrap_or_else(|| panic!("no {section},{key},{metric} in {records:?}"))
    };
    assert_eq!(value("tickets", "all", "opened"), "1");
    assert_eq!(value("first_response", "all", "p50_seconds"), "2700");
    assert_eq!(value("resolution", "all", "p90_seconds"), "7200");
    assert_eq!(value("teammate", "slack:U1", "replies"), "1");
    assert_eq!(
        value("tag", "'=SUM(A1)", "tickets"),
        "1",
        "a formula is defused"
    );

    // Another month: nothing happened, and it says so.
    let out = run(&["--since", "2026-10-01..2026-10-31"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Nothing happened in this period"));

    for (args, want) in [
        (&["--since", "7w"][..], "`7w` is not a period"),
        (
            &["--since", "2026-11-30..2026-11-01"],
            "ends before it starts",
        ),
        (&["--network", "myspace"], "`myspace` is not a network"),
        (&["--team", "nosuch"], "`nosuch` is not a team"),
    ] {
        let out = run(args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
