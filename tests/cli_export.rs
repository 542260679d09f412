//! `switchboard export` as an operator runs it: JSON lines with each ticket's messages and
//! history, CSV rows with formulas defused, `--since` filtering, and a readable refusal of a
//! date it cannot read.

use std::process::Command;

use chrono::{DateTime, Utc};
use switchboard::core::{
    AccountId, Customer, CustomerId, Event, InboundItem, ItemKind, Network, NetworkItemId,
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

fn comment(id: &str, name: &str, text: &str, at: DateTime<Utc>) -> InboundItem {
    InboundItem {
        network: Network::Facebook,
        account: AccountId::new("page1"),
        item_id: NetworkItemId::new(format!("post1_{id}")),
        kind: ItemKind::Comment,
        post_id: NetworkItemId::new("page1_post1"),
        customer: Customer {
            id: CustomerId::new(format!("cust{id}")),
            name: Some(name.into()),
        },
        text: text.into(),
        created_at: at,
        permalink: None,
        attachments: vec![],
        context: Default::default(),
    }
}

async fn seed(db: &str) {
    let store = switchboard::store::connect(db).await.expect("connect");
    store.migrate().await.expect("migrate");
    let caps = switchboard::networks::meta::capabilities::facebook(ItemKind::Comment, false);
    let t = |s| {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    };
    for (id, name, text, at) in [
        (
            "1",
            "=HYPERLINK(\"http://evil\")",
            "old one",
            t("2026-10-01T10:00:00Z"),
        ),
        (
            "2",
            "Jo",
            "new, with \"quotes\"\nand a line",
            t("2026-11-20T10:00:00Z"),
        ),
    ] {
        let item = comment(id, name, text, at);
        let decision = switchboard::core::decide(None, &Event::CustomerMessage { item }, &caps, at)
            .expect("opens");
        store
            .commit(Commit {
                target: Target::New,
                decision,
                consumes: Consumes::Nothing,
                now: at,
                storm: None,
            })
            .await
            .expect("commit");
    }
}

#[tokio::test]
async fn tickets_are_exported_as_json_lines_or_csv() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("sb.db").display());
    seed(&db).await;
    let run = |args: &[&str]| {
        bin()
            .args(["--config", EXAMPLE, "export"])
            .args(args)
            .env("SWITCHBOARD_DATABASE_URL", &db)
            .output()
            .expect("runs")
    };

    let out = run(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["customer"]["name"], "Jo");
    assert_eq!(lines[1]["status"], "unread");
    assert_eq!(
        lines[1]["messages"][0]["text"],
        "new, with \"quotes\"\nand a line"
    );
    assert_eq!(lines[1]["history"][0]["what"]["kind"], "opened");

    let out = run(&["--since", "2026-11-01"]);
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(lines, 1, "only the ticket active since then");

    let out = run(&["--format", "csv"]);
    assert!(out.status.success());
    let mut rows = csv::Reader::from_reader(out.stdout.as_slice());
    let header = rows.headers().expect("header").clone();
    assert_eq!(&header[0], "id");
    let records: Vec<csv::StringRecord> = rows.records().map(|r| r.expect("row")).collect();
    assert_eq!(records.len(), 2);
    let name = header
        .iter()
        .position(|h| h == "customer_name")
        .expect("column");
    assert_eq!(
        &records[0][name], "'=HYPERLINK(\"http://evil\")",
        "a formula is defused"
    );
    let text = header
        .iter()
        .position(|h| h == "first_text")
        .expect("column");
    assert_eq!(&records[1][text], "new, with \"quotes\"\nand a line");

    let out = run(&["--since", "last week"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a date"), "{err}");
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn erase_removes_a_customers_name_and_texts_and_refuses_what_it_cannot_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("sb.db").display());
    seed(&db).await;
    let run = |args: &[&str]| {
        bin()
            .args(["--config", EXAMPLE])
            .args(args)
            .env("SWITCHBOARD_DATABASE_URL", &db)
            .output()
            .expect("runs")
    };
    for bad in ["cust2", "myspace:cust2", "facebook:"] {
        let out = run(&["erase", "--customer", bad]);
        assert!(!out.status.success(), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("is not <network>:<id>"), "{err}");
    }
    let out = run(&["erase", "--customer", "facebook:nobody"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was erased"));

    let out = run(&["erase", "--customer", "facebook:cust2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("#2"));
    let out = run(&["export"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("quotes") && !text.contains("\"Jo\""),
        "{text}"
    );
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines[1]["customer"]["name"], serde_json::Value::Null);
    assert_eq!(
        lines[1]["messages"][0]["text"],
        switchboard::core::text::ERASED_TEXT
    );
    let history = lines[1]["history"].as_array().expect("history");
    assert_eq!(history.last().expect("entries")["what"]["kind"], "erased");
    // The other customer is untouched.
    assert_eq!(lines[0]["messages"][0]["text"], "old one");
}
