//! The binary as an operator runs it: configuration errors are readable and non-zero, the
//! service refuses to start without secrets, and SIGTERM stops it cleanly.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    // The test must not inherit a developer's secrets.
    for (k, _) in std::env::vars() {
        if k.starts_with("SWITCHBOARD_") {
            c.env_remove(k);
        }
    }
    c.env("RUST_LOG", "info");
    c
}

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/switchboard.example.toml");

#[test]
fn check_config_says_what_is_missing_and_fails() {
    let out = bin()
        .args(["--config", EXAMPLE, "check-config"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("meta.app_secret is not set"), "{err}");
    assert!(err.contains("SWITCHBOARD_SLACK_SIGNING_SECRET"), "{err}");
}

#[test]
fn check_config_warns_that_discord_team_roles_must_be_pingable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("teams.toml");
    let example = std::fs::read_to_string(EXAMPLE).expect("example");
    std::fs::write(
        &path,
        format!(
            "{example}\n[discord]\napplication_id = \"10\"\npublic_key = \"{}\"\n\
             [[discord.teams]]\nname = \"support\"\nrole = \"777\"\n",
            "0".repeat(64)
        ),
    )
    .expect("write");
    let out = bin()
        .args(["--config", path.to_str().expect("utf8"), "check-config"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: discord.teams") && err.contains("Mention Everyone"),
        "{err}"
    );
    // The warning is not one of the problems (those are the missing secrets).
    assert!(!err.contains("  - discord.teams"), "{err}");
}

#[test]
fn check_config_rejects_unknown_keys_readably() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[slack]\nsigning_secrett = \"x\"\n").expect("write");
    let out = bin()
        .args(["--config", path.to_str().expect("utf8"), "check-config"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field `signing_secrett`"), "{err}");
}

#[test]
fn serve_refuses_to_start_without_secrets() {
    let out = bin()
        .args(["--config", EXAMPLE, "serve"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to start"), "{err}");
    assert!(err.contains("meta.app_secret is not set"), "{err}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// `serve` with `config`, a database in `dir` and every secret set (app secret "s").
fn serve(dir: &std::path::Path, config: &std::path::Path) -> std::process::Child {
    let db = format!("sqlite://{}", dir.join("sb.db").display());
    bin()
        .args(["--config", config.to_str().expect("utf8"), "serve"])
        .env("SWITCHBOARD_DATABASE_URL", &db)
        .env("SWITCHBOARD_META_APP_SECRET", "s")
        .env("SWITCHBOARD_META_VERIFY_TOKEN", "v")
        .env("SWITCHBOARD_META_PAGE_TOKEN_1234567890321", "t")
        .env("SWITCHBOARD_SLACK_BOT_TOKEN", "xoxb-1")
        .env("SWITCHBOARD_SLACK_SIGNING_SECRET", "s")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

#[cfg(unix)]
#[test]
fn serve_migrates_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = dir.path().join("switchboard.toml");
    let example = std::fs::read_to_string(EXAMPLE).expect("example");
    std::fs::write(
        &config,
        example.replace("0.0.0.0:8080", &format!("127.0.0.1:{port}")),
    )
    .expect("write");
    let mut child = serve(dir.path(), &config);

    // Wait for /readyz (database migrated and reachable).
    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::Write;
            let _ = s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut resp = String::new();
            let _ = s.read_to_string(&mut resp);
            if resp.starts_with("HTTP/1.1 200") {
                break resp;
            }
        }
        assert!(Instant::now() < deadline, "server did not become ready");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(ready.contains("\"database\":\"sqlite\""), "{ready}");
    // The container's HEALTHCHECK: the binary asks its own /healthz on server.listen.
    let health = |config: &std::path::Path| {
        bin()
            .args(["--config", config.to_str().expect("utf8"), "healthcheck"])
            .output()
            .expect("runs")
    };
    let out = health(&config);
    assert!(out.status.success(), "{out:?}");

    // SIGTERM: graceful shutdown, exit 0.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut logs = String::new();
    if let Some(mut e) = child.stdout.take() {
        let _ = e.read_to_string(&mut logs);
    }
    assert!(exit.success(), "exit {exit:?}\n{logs}");
    assert!(logs.contains("shutdown requested"), "{logs}");
    let out = health(&config);
    assert!(!out.status.success(), "healthy with the service stopped");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unhealthy"),
        "{out:?}"
    );
}

#[test]
fn outbox_retry_needs_ids_or_all_and_says_when_nothing_matched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("sb.db").display());
    let out = bin()
        .args(["--config", EXAMPLE, "outbox", "retry"])
        .env("SWITCHBOARD_DATABASE_URL", &db)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("required arguments were not provided"),
        "{err}"
    );
    let out = bin()
        .args(["--config", EXAMPLE, "outbox", "retry", "--all"])
        .env("SWITCHBOARD_DATABASE_URL", &db)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no given-up job matched"), "{err}");
}

#[test]
fn check_config_refuses_a_lease_shorter_than_a_call() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("short.toml");
    let example = std::fs::read_to_string(EXAMPLE).expect("example");
    std::fs::write(&path, example.replace("lease_secs = 60", "lease_secs = 20")).expect("write");
    let out = bin()
        .args(["--config", path.to_str().expect("utf8"), "check-config"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("outbox.lease_secs (20) must be at least the longest call"),
        "{err}"
    );
}

/// SIGTERM while a Slack call hangs (a fake that accepts connections and never answers):
/// the process still exits 0 within its shutdown deadline.
#[cfg(unix)]
#[test]
fn sigterm_keeps_its_deadline_while_a_call_hangs() {
    use hmac::{Hmac, KeyInit, Mac};
    use std::io::Write;
    // A "Slack" that accepts and never answers.
    let hang = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let hang_port = hang.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in hang.incoming().flatten() {
            held.push(s);
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = dir.path().join("switchboard.toml");
    let example = std::fs::read_to_string(EXAMPLE).expect("example");
    let text = example
        .replace("0.0.0.0:8080", &format!("127.0.0.1:{port}"))
        .replace("shutdown_grace_secs = 20", "shutdown_grace_secs = 2")
        .replace(
            "api_url = \"https://slack.com/api\"",
            &format!("api_url = \"http://127.0.0.1:{hang_port}/api\""),
        );
    std::fs::write(&config, text).expect("write");
    let mut child = serve(dir.path(), &config);
    let body = r#"{"object":"page","entry":[{"id":"1234567890321","time":1700000000,"changes":[{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"1_2","post_id":"1234567890321_1","parent_id":"1234567890321_1","from":{"id":"555","name":"Jane"},"created_time":1700000000,"message":"hi"}}]}]}"#;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"s").expect("key");
    mac.update(body.as_bytes());
    let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let req = format!(
                "POST /webhooks/meta HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Hub-Signature-256: {sig}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(req.as_bytes());
            let mut resp = String::new();
            let _ = s.read_to_string(&mut resp);
            if resp.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "server did not accept the webhook"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The card post is now hanging on the fake.
    std::thread::sleep(Duration::from_millis(700));
    let sent = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(6),
            "no exit within the 2 s deadline (plus slack)"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut logs = String::new();
    if let Some(mut e) = child.stdout.take() {
        let _ = e.read_to_string(&mut logs);
    }
    assert!(exit.success(), "exit {exit:?}\n{logs}");
    assert!(logs.contains("abandoned"), "{logs}");
}

#[test]
fn accounts_commands_answer_readably_and_refuse_what_cannot_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("cli.db").display());
    let run = |args: &[&str]| {
        bin()
            .env("SWITCHBOARD_DATABASE_URL", &db)
            .args(["--config", EXAMPLE])
            .args(args)
            .output()
            .expect("runs")
    };
    let out = run(&["accounts", "list"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("no account is connected"));
    // Not a connectable network: it says so, and why nothing can be connected here.
    let out = run(&["accounts", "connect", "myspace", "--slack-channel", "C1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"myspace\" cannot be connected here"),
        "{err}"
    );
    // No [google] in the example: nothing to connect with, and it says why.
    let out = run(&["accounts", "connect", "youtube", "--slack-channel", "C1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SWITCHBOARD_SECRET_KEY"), "{err}");
    // An unknown id.
    let out = run(&["accounts", "disconnect", "7"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("No connected account has id 7"));
}
