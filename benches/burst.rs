//! Burst benchmark: a viral post. `BENCH_COMMENTS` (1,000) signed Meta comment webhooks on one
//! post, spread evenly over `BENCH_SPREAD_SECS` (60), sent over loopback to the whole service
//! as users run it (real router, inbox and outbox workers, storm mode with its default
//! settings, the default per-channel pace), against a fake Slack that enforces Slack's limits:
//! one `chat.postMessage` per second per channel, one `chat.update` per second per channel,
//! each refused over the limit with HTTP 429 and `Retry-After: 1`.
//!
//! `BENCH_SURFACES=discord` runs the same burst against a fake Discord that enforces five
//! messages per five seconds per channel (and five edits per five seconds per channel), with
//! Discord's 429 body and `X-RateLimit-*` headers.
//!
//! Reports, per store:
//! - when the last comment became visible in chat (a card, or a line of a thread message),
//!   from the first send; and each comment's delay from its own send to its visibility
//!   (p50, p99, max);
//! - the 429s received per method (goal: 0), the calls per method, comments shown twice
//!   (goal: 0), storm cards posted.
//!
//! `cargo bench --bench burst` (env: BENCH_COMMENTS, BENCH_SPREAD_SECS, BENCH_WAIT_SECS,
//! BENCH_STORES=sqlite,postgres, BENCH_SURFACES=slack,discord, SWITCHBOARD_TEST_POSTGRES_URL for
//! the Postgres run).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::Sha256;
use switchboard::app::Workers;
use switchboard::config::{Config, PageConfig};
use switchboard::store::{self, DynStore};

const SECRET: &str = "bench_app_secret";
const PAGE: &str = "1234567890321";
const POST: &str = "1234567890321_777";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(db: &str, slack_url: &str) -> Config {
    let mut c = Config::default();
    c.database.url = db.into();
    c.meta.app_secret = Some(SecretString::from(SECRET));
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
    c.slack.api_url = slack_url.into();
    c.meta.graph_api_url = "http://127.0.0.1:9".into();
    // Everything else as shipped: 1 message/s per channel, storm mode on.
    c
}

const GUILD: &str = "290926798626357999";
const DCHANNEL: &str = "645027906669510667";

/// The same service with the Page's tickets going to a Discord text channel instead.
fn discord_config(db: &str, discord_url: &str) -> Config {
    let mut c = config(db, "http://127.0.0.1:9");
    c.meta.pages[0].slack_channel = None;
    c.meta.pages[0].discord_channel = Some(DCHANNEL.into());
    c.slack = Default::default();
    let mut d = switchboard::config::DiscordConfig::new(
        "775799577604522054",
        "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",
    );
    d.bot_token = Some(SecretString::from("bench.discord.token"));
    d.api_url = discord_url.into();
    d.servers = vec![
        serde_json::from_value(json!({"guild_id": GUILD, "channels": [{"id": DCHANNEL}]}))
            .expect("server config"),
    ];
    c.discord = Some(d);
    c
}

/// A fake Discord REST API with Discord's per-channel limits (5 per 5 s for messages, and
/// for edits), answering 429s as Discord does.
async fn discord_api(
    State(fake): State<Arc<FakeSlack>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> Response {
    let path = uri.path().trim_start_matches("/api/v10").to_string();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let now = Instant::now();
    let mut seen = fake.inner.lock().expect("lock");
    let kind = match (method.as_str(), parts.as_slice()) {
        ("POST", ["channels", _, "messages"]) => "create message",
        ("PATCH", ["channels", _, "messages", _]) => "edit message",
        ("POST", ["channels", _, "messages", _, "threads"]) => "start thread",
        _ => "other",
    };
    *seen.calls.entry(kind.to_string()).or_default() += 1;
    let channel = parts.get(1).copied().unwrap_or_default().to_string();
    // Discord's buckets: a budget of five that resets all at once five seconds after the
    // window's first request.
    let (mut remaining, mut reset_after) = (5u32, 0.0f64);
    if matches!(kind, "create message" | "edit message") {
        let window = seen
            .windows
            .entry((kind.to_string(), channel.clone()))
            .or_insert((now, 0));
        if now.duration_since(window.0) >= Duration::from_secs(5) {
            *window = (now, 0);
        }
        reset_after = 5.0 - now.duration_since(window.0).as_secs_f64();
        if window.1 >= 5 {
            *seen.limited.entry(kind.to_string()).or_default() += 1;
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("x-ratelimit-limit", "5".to_string()),
                    ("x-ratelimit-remaining", "0".to_string()),
                    ("x-ratelimit-reset-after", format!("{reset_after:.3}")),
                    ("x-ratelimit-bucket", format!("{kind}-{channel}")),
                    ("x-ratelimit-scope", "user".to_string()),
                ],
                axum::Json(json!({"message": "You are being rate limited.", "retry_after": reset_after, "global": false})),
            )
                .into_response();
        }
        window.1 += 1;
        remaining = 5 - window.1;
    }
    seen.next_ts += 1;
    let id = format!("1{:018}", 300_000 + seen.next_ts);
    if kind == "create message" {
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let description = body["embeds"][0]["description"]
            .as_str()
            .unwrap_or_default();
        let storm_card = description.contains("Comment storm");
        if storm_card {
            seen.storm_cards += 1;
        }
        // Visible: a ticket's card (its embed), or a message in a thread (not the channel).
        let text = if channel == DCHANNEL {
            if storm_card {
                String::new()
            } else {
                description.to_string()
            }
        } else {
            body["content"].as_str().unwrap_or_default().to_string()
        };
        for m in markers(&text) {
            let e = seen.visible.entry(m).or_insert((now, 0));
            e.1 += 1;
        }
    }
    let answer = match kind {
        "start thread" => json!({"id": parts.get(3).copied().unwrap_or_default(), "type": 11}),
        "create message" | "edit message" => json!({"id": id, "channel_id": channel}),
        _ => json!([]),
    };
    (
        [
            ("x-ratelimit-limit", "5".to_string()),
            ("x-ratelimit-remaining", remaining.to_string()),
            ("x-ratelimit-reset-after", format!("{reset_after:.3}")),
            ("x-ratelimit-bucket", format!("{kind}-{channel}")),
        ],
        axum::Json(answer),
    )
        .into_response()
}

async fn start_fake_discord() -> (String, Arc<FakeSlack>) {
    let fake = Arc::new(FakeSlack::default());
    let app = axum::Router::new()
        .fallback(discord_api)
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), fake)
}

/// Comment `i`: its text starts with a marker the fake reads back (`c<i>:`).
fn signed_comment(i: u64) -> (String, String) {
    let body = format!(
        r#"{{"object":"page","entry":[{{"id":"{PAGE}","time":1700000000,"changes":[{{"field":"feed","value":{{"item":"comment","verb":"add","comment_id":"777_{i}","post_id":"{POST}","parent_id":"{POST}","from":{{"id":"{}","name":"Fan {i}"}},"created_time":1700000000,"message":"c{i}: this is amazing, where can I buy it?"}}}}]}}]}}"#,
        6_000_000 + i
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(body.as_bytes());
    let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    (body, sig)
}

/// A fake Slack Web API with Slack's per-channel limits.
#[derive(Default)]
struct FakeSlack {
    inner: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    /// When each (method, channel) last succeeded.
    last: HashMap<(String, String), Instant>,
    calls: BTreeMap<String, u64>,
    limited: BTreeMap<String, u64>,
    /// Comment marker → when it was first visible, and how many messages showed it.
    visible: HashMap<u64, (Instant, u32)>,
    storm_cards: u64,
    next_ts: u64,
    /// Discord: per (kind, channel), when its window started and how much of it was used.
    windows: HashMap<(String, String), (Instant, u32)>,
}

/// The comment markers (`c<i>:`) in a message's text.
fn markers(text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(p) = rest.find('c') {
        rest = &rest[p + 1..];
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !digits.is_empty()
            && rest[digits.len()..].starts_with(':')
            && let Ok(n) = digits.parse()
        {
            out.push(n);
        }
    }
    out
}

async fn slack_api(
    State(fake): State<Arc<FakeSlack>>,
    Path(method): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let channel = body["channel"].as_str().unwrap_or("C1").to_string();
    let now = Instant::now();
    let mut seen = fake.inner.lock().expect("lock");
    *seen.calls.entry(method.clone()).or_default() += 1;
    if matches!(method.as_str(), "chat.postMessage" | "chat.update") {
        let key = (method.clone(), channel.clone());
        if let Some(last) = seen.last.get(&key)
            && now.duration_since(*last) < Duration::from_secs(1)
        {
            *seen.limited.entry(method.clone()).or_default() += 1;
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                axum::Json(json!({"ok": false, "error": "ratelimited"})),
            )
                .into_response();
        }
        seen.last.insert(key, now);
    }
    let answer = match method.as_str() {
        "chat.postMessage" => {
            seen.next_ts += 1;
            let ts = format!("1700000000.{:06}", seen.next_ts);
            let text = body["text"].as_str().unwrap_or_default();
            // Visible: a card (it carries its ticket in its metadata) or a thread message.
            let card = body["metadata"]["event_type"] == "switchboard_card";
            let in_thread = !body["thread_ts"].is_null();
            if !card && !in_thread && text.contains("Comment storm") {
                seen.storm_cards += 1;
            }
            if card || in_thread {
                for m in markers(text) {
                    let e = seen.visible.entry(m).or_insert((now, 0));
                    e.1 += 1;
                }
            }
            json!({
                "ok": true, "channel": channel, "ts": ts,
                "message": {"type": "message", "text": text, "user": "UBOT", "ts": ts, "bot_id": "BBOT"}
            })
        }
        "chat.update" => json!({
            "ok": true, "channel": channel, "ts": body["ts"], "text": body["text"],
            "message": {"type": "message", "text": body["text"], "user": "UBOT", "bot_id": "BBOT"}
        }),
        _ => json!({"ok": true}),
    };
    axum::Json(answer).into_response()
}

async fn start_fake_slack() -> (String, Arc<FakeSlack>) {
    let fake = Arc::new(FakeSlack::default());
    let app = axum::Router::new()
        .route("/{method}", axum::routing::any(slack_api))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), fake)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

async fn run(surface: &str, store_label: &str, db: &str) {
    let n = env_num("BENCH_COMMENTS", 1_000);
    let spread = Duration::from_secs(env_num("BENCH_SPREAD_SECS", 60));
    let wait = Duration::from_secs(env_num("BENCH_WAIT_SECS", 300));
    let label = format!("{surface}/{store_label}");

    let (config, slack) = if surface == "discord" {
        let (url, fake) = start_fake_discord().await;
        (discord_config(db, &url), fake)
    } else {
        let (url, fake) = start_fake_slack().await;
        (config(db, &url), fake)
    };
    let store: DynStore = store::connect(db).await.expect("connect");
    store.migrate().await.expect("migrate");
    let svc = switchboard::app::services(config, store.clone()).expect("services");
    let workers = Workers::spawn(&svc);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = switchboard::server::router(svc);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let url = format!("http://{addr}/webhooks/meta");

    // Open loop: comment i goes out at its time whatever happened to the others.
    let client = reqwest::Client::new();
    let interval = spread.div_f64(n as f64);
    let start = Instant::now();
    let mut sent_at = Vec::with_capacity(n as usize);
    let mut tasks = Vec::with_capacity(n as usize);
    for i in 0..n {
        let due = start + interval.mul_f64(i as f64);
        if let Some(d) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(d).await;
        }
        sent_at.push(Instant::now());
        let (body, sig) = signed_comment(i);
        let client = client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(&url)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", sig)
                .body(body)
                .send()
                .await
                .map(|r| r.status() == 200)
                .unwrap_or(false)
        }));
    }
    let mut errors = 0;
    for t in tasks {
        if !t.await.expect("task") {
            errors += 1;
        }
    }
    // Wait until every comment is visible (or the cap).
    let deadline = Instant::now() + wait;
    loop {
        let shown = slack.inner.lock().expect("lock").visible.len() as u64;
        if shown >= n || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A little longer, to catch late duplicates and card edits.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let tickets = store.count_tickets().await.expect("tickets");
    let _ = workers.stop(Duration::from_secs(5)).await;

    let seen = slack.inner.lock().expect("lock");
    let mut delays: Vec<Duration> = seen
        .visible
        .iter()
        .filter_map(|(i, (at, _))| sent_at.get(*i as usize).map(|s| at.duration_since(*s)))
        .collect();
    delays.sort();
    let last = seen
        .visible
        .values()
        .map(|(at, _)| at.duration_since(start))
        .max()
        .unwrap_or_default();
    let twice = seen.visible.values().filter(|(_, k)| *k > 1).count();
    println!(
        "{label:9} {n} comments on one post over {}: {errors} ack errors, {tickets} tickets; {} of {n} visible, the last {} after the first send; delay from send to visible p50 {} p99 {} max {}",
        secs(spread),
        seen.visible.len(),
        secs(last),
        secs(percentile(&delays, 0.5)),
        secs(percentile(&delays, 0.99)),
        secs(delays.last().copied().unwrap_or_default()),
    );
    println!(
        "{label:9} {surface}: calls {:?}; 429s {:?}; comments shown twice: {twice}; storm cards posted: {}",
        seen.calls, seen.limited, seen.storm_cards
    );
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let stores = std::env::var("BENCH_STORES").unwrap_or_else(|_| "sqlite,postgres".into());
    let surfaces = std::env::var("BENCH_SURFACES").unwrap_or_else(|_| "slack,discord".into());
    rt.block_on(async {
        for surface in ["slack", "discord"] {
            if !surfaces.contains(surface) {
                continue;
            }
            let dir = tempfile::tempdir().expect("tempdir");
            if stores.contains("sqlite") {
                let sqlite = format!("sqlite://{}", dir.path().join("burst.db").display());
                run(surface, "sqlite", &sqlite).await;
            }
            if !stores.contains("postgres") {
                continue;
            }
            match std::env::var("SWITCHBOARD_TEST_POSTGRES_URL") {
                Ok(base) => {
                    let db = format!("sb_burst_{}_{surface}", std::process::id());
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
                    run(surface, "postgres", url.as_str()).await;
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
                    )))
                    .execute(&admin)
                    .await;
                }
                Err(_) => println!("postgres  skipped: set SWITCHBOARD_TEST_POSTGRES_URL"),
            }
        }
    });
}
