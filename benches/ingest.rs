//! Ingest benchmark: N signed Meta comment webhooks sent over loopback TCP to the real server
//! (router + verification + parsing + inbox commit), on SQLite and on Postgres.
//!
//! Reports (1) throughput: events persisted per second with `BENCH_CONCURRENCY` clients
//! sending as fast as they can, and (2) ack latency p50/p99/max at a paced 1,000 events/s.
//! The workers are not running, so the figures are the ingest path alone.
//!
//! `cargo bench --bench ingest` (env: BENCH_EVENTS, BENCH_CONCURRENCY, BENCH_PACED_SECS,
//! SWITCHBOARD_TEST_POSTGRES_URL for the Postgres run).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use secrecy::SecretString;
use sha2::Sha256;
use switchboard::config::{Config, PageConfig};
use switchboard::store::{self, DynStore};

const SECRET: &str = "bench_app_secret";
const PAGE: &str = "1234567890321";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(db: &str) -> Config {
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
    c.slack.api_url = "http://127.0.0.1:9/api".into();
    c.meta.graph_api_url = "http://127.0.0.1:9".into();
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

struct Server {
    url: String,
    store: DynStore,
}

async fn start(db: &str) -> Server {
    let store = store::connect(db).await.expect("connect");
    store.migrate().await.expect("migrate");
    let svc = switchboard::app::services(config(db), store.clone()).expect("services");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = switchboard::server::router(svc);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Server {
        url: format!("http://{addr}/webhooks/meta"),
        store,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
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
                let resp = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", sig)
                    .body(body.clone())
                    .send()
                    .await
                    .expect("send");
                assert_eq!(resp.status(), 200);
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

async fn paced(server: &Server, rate: u64, secs: u64, offset: u64) -> Vec<Duration> {
    let client = reqwest::Client::new();
    let n = rate * secs;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(n as usize);
    for i in 0..n {
        tick.tick().await;
        let (body, sig) = signed_comment(offset + i);
        let client = client.clone();
        let url = server.url.clone();
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let resp = client
                .post(&url)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", sig)
                .body(body)
                .send()
                .await
                .expect("send");
            assert_eq!(resp.status(), 200);
            t.elapsed()
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.push(t.await.expect("task"));
    }
    lat.sort();
    lat
}

async fn run(label: &str, db: &str) {
    let n = env_num("BENCH_EVENTS", 20_000);
    let concurrency = env_num("BENCH_CONCURRENCY", 32);
    let secs = env_num("BENCH_PACED_SECS", 5);
    let server = start(db).await;
    // Warm-up (connections, statement caches).
    let _ = throughput(&server, 500, concurrency, 10_000_000).await;
    let (rate, lat) = throughput(&server, n, concurrency, 0).await;
    println!(
        "{label:9} throughput: {n} events, {concurrency} clients: {rate:>8.0} events/s persisted; ack p50 {:?} p99 {:?}",
        percentile(&lat, 0.50),
        percentile(&lat, 0.99)
    );
    let lat = paced(&server, 1_000, secs, 20_000_000).await;
    println!(
        "{label:9} paced 1,000 events/s for {secs} s: ack p50 {:?} p99 {:?} max {:?}",
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or_default()
    );
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
        run("sqlite", &sqlite).await;
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
            }
            Err(_) => println!("postgres  skipped: set SWITCHBOARD_TEST_POSTGRES_URL"),
        }
    });
}
