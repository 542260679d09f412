//! Ingest benchmark: signed Meta comment webhooks sent over loopback TCP to the whole service
//! as users run it (the real router, verification, parsing, group-committed inbox insert,
//! AND the inbox and outbox workers turning events into tickets and Slack cards posted to a
//! fake Slack that answers at once), on SQLite and on Postgres.
//!
//! Reports, per store:
//! 1. closed-loop throughput: `BENCH_EVENTS` events sent by `BENCH_CONCURRENCY` clients as
//!    fast as they can, events/s counted as rows persisted;
//! 2. open-loop latency at each rate of `BENCH_RATES` for `BENCH_SECS` s: a schedule of
//!    intended send times is fixed in advance and each request is fired at its time whether
//!    or not earlier ones were answered, and its latency is measured from the *intended* send
//!    time to the ack (no coordinated omission: a stalled server shows up as latency of every
//!    request it delayed, not as fewer requests sent);
//! 3. how far the workers lag: inbox rows and outbox jobs still pending when the last ack
//!    arrived, the time until both drained, tickets created and cards posted.
//!
//! Between phases the bench waits (up to `BENCH_DRAIN_SECS`) until the workers have drained,
//! so each phase starts from an idle service. `BENCH_WORKERS=0` runs the ingest path alone
//! (the earlier measurement).
//!
//! `cargo bench --bench ingest` (env: BENCH_RATES=1000,2000, BENCH_SECS, BENCH_EVENTS,
//! BENCH_CONCURRENCY, BENCH_DRAIN_SECS, BENCH_WORKERS, BENCH_STORES=sqlite,postgres,
//! SWITCHBOARD_TEST_POSTGRES_URL for the Postgres run).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::Sha256;
use switchboard::app::Workers;
use switchboard::config::{Config, PageConfig};
use switchboard::store::{self, DynStore, JobStatus};

const SECRET: &str = "bench_app_secret";
/// How often the drain wait looks at the queues (the drain times' resolution).
const DRAIN_POLL: Duration = Duration::from_millis(100);
const PAGE: &str = "1234567890321";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
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
    // Every card goes to one channel; Slack's per-channel pace (1/s by default) would make
    // the outbox lag by hours and measure Slack's limit, not ours. The fake answers at once.
    c.outbox.channel_pace_ms = 0;
    // Every comment is on one post, which storm mode would show on one storm card: this
    // bench measures a card per event (`benches/burst.rs` measures storms).
    c.storm.enabled = false;
    c
}

fn signed_comment(i: u64) -> (String, String) {
    let body = format!(
        r#"{{"object":"page","entry":[{{"id":"{PAGE}","time":1700000000,"changes":[{{"field":"feed","value":{{"item":"comment","verb":"add","comment_id":"9010978_{i}","post_id":"{PAGE}_9010978","parent_id":"{PAGE}_9010978","from":{{"id":"{}","name":"Customer {i}"}},"created_time":1700000000,"message":"Hello, where is my order number {i}?"}}}}]}}]}}"#,
        5_000_000 + i
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(body.as_bytes());
    let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    (body, sig)
}

/// A fake Slack Web API that answers every call at once, successfully, counting card posts.
#[derive(Default)]
struct FakeSlack {
    posts: AtomicU64,
    updates: AtomicU64,
}

async fn slack_api(
    State(fake): State<Arc<FakeSlack>>,
    Path(method): Path<String>,
    body: axum::body::Bytes,
) -> axum::Json<Value> {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let channel = body["channel"].as_str().unwrap_or("C1").to_string();
    axum::Json(match method.as_str() {
        "chat.postMessage" => {
            let n = fake.posts.fetch_add(1, Ordering::Relaxed);
            let ts = format!("1700000000.{n:06}");
            json!({
                "ok": true, "channel": channel, "ts": ts,
                "message": {"type": "message", "text": body["text"], "user": "UBOT", "ts": ts, "bot_id": "BBOT"}
            })
        }
        "chat.update" => {
            fake.updates.fetch_add(1, Ordering::Relaxed);
            json!({
                "ok": true, "channel": channel, "ts": body["ts"], "text": body["text"],
                "message": {"type": "message", "text": body["text"], "user": "UBOT", "bot_id": "BBOT"}
            })
        }
        _ => json!({"ok": true}),
    })
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

struct Server {
    url: String,
    svc: Arc<switchboard::workers::Services>,
    store: DynStore,
    slack: Arc<FakeSlack>,
    workers: Option<Workers>,
}

async fn start(db: &str, with_workers: bool) -> Server {
    let (slack_url, slack) = start_fake_slack().await;
    let store = store::connect(db).await.expect("connect");
    store.migrate().await.expect("migrate");
    let svc = switchboard::app::services(config(db, &slack_url), store.clone()).expect("services");
    let workers = with_workers.then(|| Workers::spawn(&svc));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = switchboard::server::router(svc.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Server {
        url: format!("http://{addr}/webhooks/meta"),
        svc,
        store,
        slack,
        workers,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// What the workers still had to do at the last ack, and how long they took to finish it.
struct Lag {
    inbox_pending: i64,
    outbox_pending: i64,
    drained_after: Option<Duration>,
}

async fn pending(store: &DynStore) -> (i64, i64) {
    let inbox = store.count_pending_inbox().await.expect("count inbox");
    let outbox = store
        .count_jobs(JobStatus::Pending)
        .await
        .expect("count jobs");
    (inbox, outbox)
}

/// Wait until no inbox row and no outbox job is pending, for at most `cap`.
async fn drain(server: &Server, cap: Duration) -> Lag {
    let started = Instant::now();
    let (inbox_pending, outbox_pending) = pending(&server.store).await;
    if server.workers.is_none() {
        return Lag {
            inbox_pending,
            outbox_pending,
            drained_after: None,
        };
    }
    let mut drained_after = None;
    while started.elapsed() < cap {
        if pending(&server.store).await == (0, 0) {
            drained_after = Some(started.elapsed());
            break;
        }
        // Each look counts the pending rows (a scan of the backlog): looking often would
        // slow the workers it measures.
        tokio::time::sleep(DRAIN_POLL).await;
    }
    Lag {
        inbox_pending,
        outbox_pending,
        drained_after,
    }
}

/// The phase's counts: tickets created, cards posted, and how many times acknowledgements
/// began to queue (the workers then took one item at a time).
struct Counts {
    tickets: i64,
    cards: u64,
    pressed: u64,
}

impl Counts {
    async fn now(server: &Server) -> Self {
        Self {
            tickets: server.store.count_tickets().await.expect("tickets"),
            cards: server.slack.posts.load(Ordering::Relaxed),
            pressed: server.svc.inbox.pressure_engaged(),
        }
    }

    async fn since(self, server: &Server) -> Self {
        let now = Self::now(server).await;
        Self {
            tickets: now.tickets - self.tickets,
            cards: now.cards - self.cards,
            pressed: now.pressed - self.pressed,
        }
    }
}

fn lag_line(label: &str, server: &Server, lag: &Lag, counts: &Counts) -> String {
    let Counts {
        tickets,
        cards,
        pressed,
    } = counts;
    if server.workers.is_none() {
        return format!(
            "{label:9}   workers off: {} inbox rows pending",
            lag.inbox_pending
        );
    }
    let drained = lag
        .drained_after
        .map_or("NOT drained within BENCH_DRAIN_SECS".to_string(), |d| {
            format!("drained {:.2} s after the last ack", d.as_secs_f64())
        });
    format!(
        "{label:9}   workers: at the last ack {} inbox rows and {} outbox jobs pending; {drained}; {tickets} tickets created, {cards} cards posted; acknowledgements queued {pressed} times",
        lag.inbox_pending, lag.outbox_pending
    )
}

async fn post(client: &reqwest::Client, url: &str, body: String, sig: &str) -> bool {
    match client
        .post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sig)
        .body(body)
        .send()
        .await
    {
        Ok(r) => r.status() == 200,
        Err(_) => false,
    }
}

async fn throughput(
    server: &Server,
    n: u64,
    concurrency: u64,
    offset: u64,
) -> (f64, Vec<Duration>) {
    let client = reqwest::Client::new();
    let bodies: Arc<Vec<(String, String)>> =
        Arc::new((0..n).map(|i| signed_comment(offset + i)).collect());
    let before = server.store.count_inbox().await.expect("count");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let client = client.clone();
        let bodies = bodies.clone();
        let url = server.url.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = w;
            while i < n {
                let (body, sig) = &bodies[i as usize];
                let t = Instant::now();
                assert!(post(&client, &url, body.clone(), sig).await, "ack 200");
                lat.push(t.elapsed());
                i += concurrency;
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("task"));
    }
    let elapsed = started.elapsed();
    let persisted = server.store.count_inbox().await.expect("count") - before;
    assert_eq!(persisted as u64, n, "every acknowledged event is persisted");
    lat.sort();
    (n as f64 / elapsed.as_secs_f64(), lat)
}

struct OpenLoop {
    sent: u64,
    errors: u64,
    /// Acks per second over the whole run (first intended send → last ack).
    achieved: f64,
    /// How late the generator fired its requests at worst (its own lag on 2 shared cores).
    worst_fire_delay: Duration,
    lat: Vec<Duration>,
}

/// Fire `rate * secs` requests at fixed intended times; latency from the intended time.
async fn open_loop(server: &Server, rate: u64, secs: u64, offset: u64) -> OpenLoop {
    let client = reqwest::Client::new();
    let n = rate * secs;
    let bodies: Vec<(String, String)> = (0..n).map(|i| signed_comment(offset + i)).collect();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut tasks = Vec::with_capacity(n as usize);
    let mut worst_fire_delay = Duration::ZERO;
    let start = tokio::time::Instant::now() + Duration::from_millis(10);
    for (i, (body, sig)) in bodies.into_iter().enumerate() {
        let intended = start + interval.mul_f64(i as f64);
        // The timer has millisecond resolution: requests due within it go out together.
        if intended > tokio::time::Instant::now() {
            tokio::time::sleep_until(intended).await;
        }
        worst_fire_delay =
            worst_fire_delay.max(tokio::time::Instant::now().saturating_duration_since(intended));
        let client = client.clone();
        let url = server.url.clone();
        tasks.push(tokio::spawn(async move {
            let ok = post(&client, &url, body, &sig).await;
            (ok, intended.elapsed(), tokio::time::Instant::now())
        }));
    }
    let mut lat = Vec::with_capacity(n as usize);
    let mut errors = 0;
    let mut last = start;
    for t in tasks {
        let (ok, l, at) = t.await.expect("task");
        if !ok {
            errors += 1;
        }
        last = last.max(at);
        lat.push(l);
    }
    lat.sort();
    OpenLoop {
        sent: n,
        errors,
        achieved: (n - errors) as f64 / (last - start).as_secs_f64(),
        worst_fire_delay,
        lat,
    }
}

async fn run(label: &str, db: &str) {
    let n = env_num("BENCH_EVENTS", 20_000);
    let concurrency = env_num("BENCH_CONCURRENCY", 32);
    let secs = env_num("BENCH_SECS", 10);
    let cap = Duration::from_secs(env_num("BENCH_DRAIN_SECS", 300));
    let with_workers = env_num("BENCH_WORKERS", 1) != 0;
    let rates: Vec<u64> = env_list("BENCH_RATES", "1000,2000")
        .iter()
        .map(|r| r.parse().expect("BENCH_RATES: numbers"))
        .collect();
    let server = start(db, with_workers).await;
    let workers = if with_workers { "on" } else { "OFF" };
    // Warm-up (connections, statement caches).
    let _ = throughput(&server, 500, concurrency, 10_000_000).await;
    drain(&server, cap).await;

    let counts = Counts::now(&server).await;
    let (rate, lat) = throughput(&server, n, concurrency, 0).await;
    let lag = drain(&server, cap).await;
    println!(
        "{label:9} closed loop, workers {workers}: {n} events, {concurrency} clients: {rate:>8.0} events/s persisted; ack p50 {} p99 {} max {}",
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99)),
        ms(lat.last().copied().unwrap_or_default()),
    );
    let counts = counts.since(&server).await;
    println!("{}", lag_line(label, &server, &lag, &counts));

    for (k, rate) in rates.into_iter().enumerate() {
        let counts = Counts::now(&server).await;
        let r = open_loop(&server, rate, secs, 20_000_000 + k as u64 * 10_000_000).await;
        let lag = drain(&server, cap).await;
        let counts = counts.since(&server).await;
        println!(
            "{label:9} open loop {rate}/s for {secs} s, workers {workers}: {} sent, {} errors, achieved {:.0}/s; ack from intended send p50 {} p90 {} p99 {} p99.9 {} max {} (generator fired at worst {} late)",
            r.sent,
            r.errors,
            r.achieved,
            ms(percentile(&r.lat, 0.50)),
            ms(percentile(&r.lat, 0.90)),
            ms(percentile(&r.lat, 0.99)),
            ms(percentile(&r.lat, 0.999)),
            ms(r.lat.last().copied().unwrap_or_default()),
            ms(r.worst_fire_delay),
        );
        println!("{}", lag_line(label, &server, &lag, &counts));
    }
    if let Some(w) = server.workers {
        let _ = w.stop(Duration::from_secs(5)).await;
    }
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let stores = env_list("BENCH_STORES", "sqlite,postgres");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        if stores.iter().any(|s| s == "sqlite") {
            let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
            run("sqlite", &sqlite).await;
        }
        if !stores.iter().any(|s| s == "postgres") {
            return;
        }
        match std::env::var("SWITCHBOARD_TEST_POSTGRES_URL") {
            Ok(base) => {
                let db = format!("sb_bench_{}", std::process::id());
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
                run("postgres", url.as_str()).await;
                // The service's connections are still open: end them with the database.
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
                )))
                .execute(&admin)
                .await;
            }
            Err(_) => println!("postgres  skipped: set SWITCHBOARD_TEST_POSTGRES_URL"),
        }
    });
}
