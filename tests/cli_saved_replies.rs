//! `switchboard saved-replies …` as an operator runs it, against a fresh SQLite database.

use std::path::PathBuf;
use std::process::{Command, Output};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        // The test must not inherit a developer's settings.
        for (k, _) in std::env::vars() {
            if k.starts_with("SWITCHBOARD_") {
                c.env_remove(k);
            }
        }
        let config = self.path("absent.toml"); // missing file: empty config
        c.env(
            "SWITCHBOARD_DATABASE_URL",
            format!("sqlite://{}", self.path("x.db").display()),
        )
        .env("RUST_LOG", "warn")
        .arg("--config")
        .arg(config)
        .arg("saved-replies")
        .args(args);
        c.output().expect("runs")
    }

    /// Run, expect success, return stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf8")
    }

    /// Run, expect failure, return stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8(out.stderr).expect("utf8")
    }

    fn write(&self, name: &str, content: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, content).expect("write");
        path.to_str().expect("utf8").to_string()
    }
}

fn rows(csv: &str) -> Vec<(String, String)> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let mut rows: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.expect("csv");
            (r[0].to_string(), r[1].to_string())
        })
        .collect();
    rows.sort_by_key(|(name, _)| name.to_lowercase());
    rows
}

const LIBRARY: &str = "name,body\n\
Refund policy,\"Hi {author_name}, you can get a refund within 30 days.\"\n\
Shipping delays,\"Sorry, deliveries take longer this week; {agent_name} from {account_name}.\"\n\
\"Quotes, commas\",\"She said \"\"hi\"\", then left.\nSecond line, with {{braces}}.\"\n\
Café ☕,Merci !\n";

fn id_of(list: &str, name: &str) -> String {
    list.lines()
        .find(|l| l.contains(&format!("  {name}  ")))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{name} not in {list}"))
        .to_string()
}

#[test]
fn import_then_export_round_trips() {
    let env = Env::new();
    assert!(env.ok(&["list"]).contains("No saved replies yet."));
    let file = env.write("in.csv", LIBRARY);
    let out = env.ok(&["import", &file]);
    assert_eq!(
        out.trim(),
        "Imported 4 saved replies (4 created, 0 updated)."
    );
    let exported = env.ok(&["export"]);
    assert_eq!(rows(&exported), rows(LIBRARY));

    // To a file, the same; importing it again updates every row and changes nothing.
    let path = env.path("out.csv");
    env.ok(&["export", path.to_str().expect("utf8")]);
    assert_eq!(
        rows(&std::fs::read_to_string(&path).expect("read")),
        rows(LIBRARY)
    );
    let again = env.ok(&["import", path.to_str().expect("utf8")]);
    assert_eq!(
        again.trim(),
        "Imported 4 saved replies (0 created, 4 updated)."
    );
    assert_eq!(rows(&env.ok(&["export"])), rows(LIBRARY));
}

#[test]
fn a_bad_row_changes_nothing() {
    let env = Env::new();
    env.ok(&["import", &env.write("in.csv", LIBRARY)]);
    let before = env.ok(&["list"]);
    let long = "x".repeat(2001);
    let cases = [
        (
            "Refund policy,changed\nNew,\"Hi {customer}\"\n",
            "line 3",
            "{customer}",
        ),
        (
            &format!("Refund policy,changed\nLong,{long}\n") as &str,
            "line 3",
            "2,001 characters; the limit is 2,000",
        ),
        (
            "Refund policy,changed\n   ,body\n",
            "line 3",
            "name is empty",
        ),
        ("New,ok\nOther,\"{author_name\"\n", "line 3", "never closed"),
    ];
    for (rows, line, reason) in cases {
        let file = env.write("bad.csv", &format!("name,body\n{rows}"));
        let err = env.fails(&["import", &file]);
        assert!(err.contains("Nothing was imported"), "{err}");
        assert!(err.contains(line), "{err}");
        assert!(err.contains(reason), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(env.ok(&["list"]), before);
    }
    let err = env.fails(&["import", &env.write("bad.csv", "title,text\na,b\n")]);
    assert!(
        err.contains("line 1") && err.contains("`name,body`"),
        "{err}"
    );
    let err = env.fails(&["import", env.path("missing.csv").to_str().expect("utf8")]);
    assert!(err.contains("cannot read"), "{err}");
    assert_eq!(env.ok(&["list"]), before);
}

#[test]
fn add_edit_delete() {
    let env = Env::new();
    let out = env.ok(&["add", "--name", "Refunds", "--body", "Hi {author_name}!"]);
    assert!(out.contains("Created saved reply"), "{out}");
    let list = env.ok(&["list"]);
    let id = id_of(&list, "Refunds");
    assert!(list.contains("Hi {author_name}!"), "{list}");

    // Refusals: unknown variable, duplicate name (any case), too long, unknown id.
    let err = env.fails(&["add", "--name", "Other", "--body", "Hi {name}"]);
    assert!(err.contains("{name}, which is not a variable"), "{err}");
    let err = env.fails(&["add", "--name", "refunds", "--body", "x"]);
    assert!(err.contains("already exists"), "{err}");
    let long = "é".repeat(2001);
    let err = env.fails(&["add", "--name", "Long", "--body", &long]);
    assert!(err.contains("2,001 characters"), "{err}");
    let err = env.fails(&["edit", "999", "--body", "x"]);
    assert!(err.contains("no saved reply with id 999"), "{err}");
    let err = env.fails(&["edit", &id]);
    assert!(err.contains("Nothing to change"), "{err}");

    // Body from a file (the trailing newline is dropped).
    let file = env.write("body.txt", "From a file,\n{agent_name}\n");
    env.ok(&["add", "--name", "Signed", "--file", &file]);

    env.ok(&["edit", &id, "--name", "Refund policy"]);
    env.ok(&["edit", &id, "--body", "We refund within {{30}} days."]);
    let exported = rows(&env.ok(&["export"]));
    assert_eq!(
        exported,
        [
            (
                "Refund policy".to_string(),
                "We refund within {{30}} days.".to_string()
            ),
            (
                "Signed".to_string(),
                "From a file,\n{agent_name}".to_string()
            ),
        ]
    );
    let err = env.fails(&["edit", &id, "--name", "SIGNED"]);
    assert!(err.contains("already exists"), "{err}");

    let out = env.ok(&["delete", &id]);
    assert!(out.contains(&format!("Deleted saved reply {id}.")), "{out}");
    let err = env.fails(&["delete", &id]);
    assert!(err.contains("no saved reply"), "{err}");
    let list = env.ok(&["list"]);
    assert!(
        !list.contains("Refund policy") && list.contains("Signed"),
        "{list}"
    );
}

#[test]
fn usage_errors_are_readable() {
    let env = Env::new();
    let err = env.fails(&["add", "--name", "x"]);
    assert!(err.contains("--body") || err.contains("--file"), "{err}");
    let err = env.fails(&["add", "--name", "x", "--body", "a", "--file", "f"]);
    assert!(err.contains("cannot be used with"), "{err}");
}
