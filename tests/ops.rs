//! Operating the service: `/metrics` (parsed as Prometheus text after a scenario through the
//! real router), its bearer token, `/readyz` failing on a stuck outbox, and JSON log lines.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use secrecy::SecretString;
use serde_json::Value;
use support::*;
use switchboard::config::LogFormat;
use switchboard::core::{Effect, TicketId};

const COMMENT: &str = "901097836652708_903438993085259";
const POST: &str = "1234567890321_901097836652708";
const CUSTOMER: &str = "5550001";
const METRICS_TOKEN: &str = "metrics-token-for-tests";

/// One sample of the exposition: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// A small parser of the Prometheus text format (what a scraper reads): comments skipped,
/// `name{k="v",…} value` lines parsed; anything else fails the test.
fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a value after the series");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), HashMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels end with }");
                let mut labels = HashMap::new();
                let mut rest = body;
                while !rest.is_empty() {
                    let (k, after) = rest.split_once("=\"").expect("k=\"v\"");
                    // Values here never hold escaped quotes (bounded label values).
                    let (v, after) = after.split_once('"').expect("closing quote");
                    labels.insert(k.to_string(), v.to_string());
                    rest = after.strip_prefix(',').unwrap_or(after);
                }
                (name.to_string(), labels)
            }
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name {name:?}"
        );
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    out
}

/// The value of the series `name` whose labels include `want` (0 when absent: a counter not
/// yet incremented).
fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            want.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape(w: &World, token: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::get("/metrics");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    w.send(req.body(Body::empty()).unwrap()).await
}

async fn metrics(w: &World) -> Vec<Sample> {
    let (status, body) = scrape(w, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    parse(&body)
}

#[tokio::test]
async fn a_scenario_shows_in_the_metrics() {
    let w = World::new().await;
    w.slack_ok().await;
    w.graph_ok().await;
    let before = metrics(&w).await;
    assert_eq!(value(&before, "switchboard_outbox_pending", &[]), 0.0);
    assert_eq!(value(&before, "switchboard_build_info", &[]), 1.0);

    // A Meta webhook: committed, then processed into a card.
    let (status, _) = w
        .meta_webhook(&comment_webhook(
            COMMENT,
            POST,
            CUSTOMER,
            "Jane Doe",
            "Where is my order #1234?",
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Before the workers run: one inbox row pending.
    let queued = metrics(&w).await;
    assert_eq!(value(&queued, "switchboard_inbox_pending", &[]), 1.0);
    w.settle().await;
    assert_eq!(w.take_slack("/chat.postMessage").await.len(), 1);

    // A reply in the card's thread goes to the network.
    let card_ts = w.store.card_of(TicketId(1)).await.unwrap().unwrap().message;
    let (status, _) = w
        .thread_message(
            "Ev001",
            "UANA",
            &card_ts,
            "1700000050.000200",
            "On its way!",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    w.settle().await;
    assert_eq!(w.take_graph(&format!("/{COMMENT}/comments")).await.len(), 1);
    w.take_slack("/reactions.add").await;
    w.take_slack("/reactions.remove").await;
    w.take_slack("/chat.update").await;

    let after = metrics(&w).await;
    let webhook = [
        ("route", "/webhooks/{source}"),
        ("method", "POST"),
        ("status", "200"),
    ];
    assert_eq!(
        value(&after, "switchboard_http_requests_total", &webhook)
            - value(&before, "switchboard_http_requests_total", &webhook),
        1.0,
        "one webhook request counted by its route template"
    );
    assert!(
        after
            .iter()
            .all(|s| !s.labels.values().any(|v| v.contains(PAGE_ID))),
        "no raw URI or id in a label"
    );
    let card = [
        ("kind", "chat"),
        ("target", "slack"),
        ("outcome", "delivered"),
    ];
    assert!(value(&after, "switchboard_deliveries_total", &card) >= 1.0);
    let reply = [
        ("kind", "network"),
        ("target", "facebook"),
        ("outcome", "delivered"),
    ];
    assert_eq!(value(&after, "switchboard_deliveries_total", &reply), 1.0);
    assert_eq!(
        value(
            &after,
            "switchboard_delivery_latency_seconds_count",
            &[("kind", "network"), ("target", "facebook")]
        ),
        1.0
    );
    assert_eq!(value(&after, "switchboard_outbox_pending", &[]), 0.0);
    assert_eq!(value(&after, "switchboard_inbox_pending", &[]), 0.0);
    assert_eq!(
        value(&after, "switchboard_outbox_oldest_due_age_seconds", &[]),
        0.0
    );
    assert_eq!(
        value(
            &after,
            "switchboard_inbox_rows_total",
            &[("source", "meta"), ("outcome", "processed")]
        ),
        1.0
    );
    // The customer's text and the tokens appear nowhere.
    let (_, text) = scrape(&w, None).await;
    for secret in ["Where is my order", "On its way", PAGE_TOKEN, BOT_TOKEN] {
        assert!(!text.contains(secret), "{secret:?} in /metrics");
    }
    w.finish().await;
}

#[tokio::test]
async fn retries_and_given_up_jobs_are_counted() {
    let w = World::new().await;
    w.slack_fails("/chat.postMessage", 2, 500).await;
    w.slack_ok().await;
    let (status, _) = w
        .meta_webhook(&comment_webhook(COMMENT, POST, CUSTOMER, "Jane", "hi"))
        .await;
    assert_eq!(status, StatusCode::OK);
    w.settle().await;
    w.take_slack("/chat.postMessage").await;
    // Before a retried post, the bot looks whether the failed one landed after all.
    w.take_slack("/conversations.history").await;
    let m = metrics(&w).await;
    let slack = [("kind", "chat"), ("target", "slack")];
    assert_eq!(
        value(
            &m,
            "switchboard_delivery_retries_total",
            &[slack[0], slack[1], ("reason", "error")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &m,
            "switchboard_deliveries_total",
            &[slack[0], slack[1], ("outcome", "delivered")]
        ),
        1.0
    );
    assert_eq!(value(&m, "switchboard_jobs_given_up_total", &[]), 0.0);
    // Exposed, and one webhook at a time never queues acknowledgements.
    assert!(
        m.iter()
            .any(|s| s.name == "switchboard_ingest_pressed_total")
    );
    assert_eq!(value(&m, "switchboard_ingest_pressed_total", &[]), 0.0);
    w.finish().await;
}

#[tokio::test]
async fn a_reply_the_network_refuses_is_counted_as_given_up() {
    let w = World::new().await;
    w.slack_ok().await;
    w.graph_fails(
        5,
        400,
        serde_json::json!({"error": {"message": "Error validating access token", "type": "OAuthException", "code": 190, "error_subcode": 463}}),
    )
    .await;
    let (status, _) = w
        .meta_webhook(&comment_webhook(COMMENT, POST, CUSTOMER, "Jane", "hi"))
        .await;
    assert_eq!(status, StatusCode::OK);
    w.settle().await;
    let card_ts = w.store.card_of(TicketId(1)).await.unwrap().unwrap().message;
    w.thread_message("Ev002", "UANA", &card_ts, "1700000070.000100", "On it")
        .await;
    w.settle().await;
    let m = metrics(&w).await;
    let facebook = [("kind", "network"), ("target", "facebook")];
    assert_eq!(
        value(
            &m,
            "switchboard_deliveries_total",
            &[facebook[0], facebook[1], ("outcome", "given_up")]
        ),
        1.0
    );
    assert_eq!(value(&m, "switchboard_jobs_given_up_total", &facebook), 1.0);
    assert_eq!(
        value(
            &m,
            "switchboard_deliveries_total",
            &[facebook[0], facebook[1], ("outcome", "delivered")]
        ),
        0.0
    );
}

#[tokio::test]
async fn the_metrics_token_is_required_when_set() {
    let w = World::with(|c| c.server.metrics_token = Some(SecretString::from(METRICS_TOKEN))).await;
    assert_eq!(scrape(&w, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(scrape(&w, Some("wrong")).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = scrape(&w, Some(METRICS_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("switchboard_outbox_pending"), "{body}");
    // /readyz answers everyone, its details only with the token.
    let (status, body) = w
        .send(Request::get("/readyz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["ready"], true);
    assert!(body.get("outbox_pending").is_none(), "{body}");
    let (status, body) = w
        .send(
            Request::get("/readyz")
                .header("authorization", format!("Bearer {METRICS_TOKEN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["outbox_pending"], 0);
    assert_eq!(body["database"], "sqlite");
    w.finish().await;
}

async fn ready(w: &World) -> (StatusCode, Value) {
    let (s, b) = w
        .send(Request::get("/readyz").body(Body::empty()).unwrap())
        .await;
    (s, serde_json::from_str(&b).expect("JSON"))
}

#[tokio::test]
async fn readyz_fails_when_the_oldest_due_job_is_too_old() {
    let w = World::with(|c| c.server.ready_max_outbox_age_secs = 600).await;
    // A ticket to hang jobs on.
    let (status, _) = w
        .meta_webhook(&comment_webhook(COMMENT, POST, CUSTOMER, "Jane", "hi"))
        .await;
    assert_eq!(status, StatusCode::OK);
    switchboard::workers::inbox::process_batch(&w.svc)
        .await
        .unwrap();
    // Due a minute ago: moving, ready.
    let now = chrono::Utc::now();
    w.store
        .enqueue_job(
            TicketId(1),
            "test-lane-recent",
            &Effect::PostCard,
            now - chrono::Duration::seconds(60),
        )
        .await
        .unwrap();
    let (s, body) = ready(&w).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["ready"], true);
    // Due 20 minutes ago and never delivered: stuck.
    w.store
        .enqueue_job(
            TicketId(1),
            "test-lane-old",
            &Effect::PostCard,
            now - chrono::Duration::seconds(1200),
        )
        .await
        .unwrap();
    let (s, body) = ready(&w).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["ready"], false);
    let reason = body["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("outbox stuck"), "{reason}");
    assert!(body["outbox_oldest_due_secs"].as_i64().unwrap_or(0) >= 1200);
    // The gauge says the same.
    let m = metrics(&w).await;
    assert!(value(&m, "switchboard_outbox_oldest_due_age_seconds", &[]) >= 1200.0);
    assert_eq!(value(&m, "switchboard_outbox_pending", &[]), 3.0);
    // 0 turns the check off.
    let off = World::with(|c| c.server.ready_max_outbox_age_secs = 0).await;
    let (status, _) = off
        .meta_webhook(&comment_webhook(COMMENT, POST, CUSTOMER, "Jane", "hi"))
        .await;
    assert_eq!(status, StatusCode::OK);
    switchboard::workers::inbox::process_batch(&off.svc)
        .await
        .unwrap();
    off.store
        .enqueue_job(
            TicketId(1),
            "test-lane-old",
            &Effect::PostCard,
            now - chrono::Duration::seconds(1200),
        )
        .await
        .unwrap();
    assert_eq!(ready(&off).await.0, StatusCode::OK);
}

#[tokio::test]
async fn requests_carry_a_request_id() {
    let w = World::new().await;
    let resp = tower::ServiceExt::oneshot(
        w.router.clone(),
        Request::get("/healthz")
            .header("x-request-id", "abc-123")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    let resp = tower::ServiceExt::oneshot(
        w.router.clone(),
        Request::get("/healthz")
            .header("x-request-id", "not ok; <script>")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(!id.is_empty() && !id.contains('<'), "{id}");
}

/// A writer the subscriber writes lines into, for the test to read.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn json_logs_are_one_object_per_line_with_span_fields_and_no_secret() {
    let buffer = Buffer::default();
    let subscriber = switchboard::logging::subscriber(
        LogFormat::Json,
        tracing_subscriber::EnvFilter::new("info"),
        buffer.clone(),
        false,
    );
    let token = SecretString::from("xoxb-very-secret-token");
    let config =
        switchboard::config::Config::parse("[server]\nlisten = \"127.0.0.1:1\"").expect("config");
    tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!(
            "request",
            request_id = "req-42",
            route = "/webhooks/{source}"
        );
        let _r = request.enter();
        let job = tracing::info_span!("job", id = 7, ticket = 3);
        let _j = job.enter();
        tracing::info!(token = ?token, config = ?config.server, "delivered");
        tracing::warn!(error = "boom", "job will be retried");
    });
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    let first = &lines[0];
    assert_eq!(first["message"], "delivered");
    assert_eq!(first["level"], "INFO");
    assert_eq!(first["span"]["name"], "job");
    assert_eq!(first["span"]["ticket"], 3);
    assert_eq!(first["span"]["id"], 7);
    let spans = first["spans"].as_array().expect("span list");
    assert_eq!(spans[0]["request_id"], "req-42");
    assert_eq!(lines[1]["error"], "boom");
    assert!(!text.contains("xoxb-very-secret-token"), "{text}");

    // The human format stays the default.
    let human = Buffer::default();
    let subscriber = switchboard::logging::subscriber(
        LogFormat::Human,
        tracing_subscriber::EnvFilter::new("info"),
        human.clone(),
        false,
    );
    tracing::subscriber::with_default(subscriber, || tracing::info!("hello"));
    let text = String::from_utf8(human.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("hello") && serde_json::from_str::<Value>(text.trim()).is_err());
}

#[test]
fn log_format_and_metrics_token_come_from_the_file_or_the_environment() {
    let c = switchboard::config::Config::parse(
        "[log]\nformat = \"json\"\n[server]\nready_max_outbox_age_secs = 60",
    )
    .expect("config");
    assert_eq!(c.log.format, LogFormat::Json);
    assert_eq!(c.server.ready_max_outbox_age_secs, 60);
    assert!(c.server.metrics_token.is_none());
    assert!(switchboard::config::Config::parse("[log]\nformat = \"xml\"").is_err());
    let dir = tempfile::tempdir().unwrap();
    let env = |name: &str| match name {
        "SWITCHBOARD_LOG_FORMAT" => Some("JSON".to_string()),
        "SWITCHBOARD_METRICS_TOKEN" => Some("t0k".to_string()),
        _ => None,
    };
    let c = switchboard::config::Config::load(&dir.path().join("none.toml"), &env).unwrap();
    assert_eq!(c.log.format, LogFormat::Json);
    assert!(c.server.metrics_token.is_some());
    assert!(!format!("{:?}", c.server).contains("t0k"));
    let env = |name: &str| (name == "SWITCHBOARD_LOG_FORMAT").then(|| "yaml".to_string());
    let c = switchboard::config::Config::load(&dir.path().join("none.toml"), &env).unwrap();
    assert_eq!(c.log.format, LogFormat::Human);
    assert!(
        c.warnings()
            .iter()
            .any(|w| w.contains("SWITCHBOARD_LOG_FORMAT"))
    );
}
