//! The end-to-end world: the real router and workers, a real database, and wiremock fakes of
//! Slack and the Graph API that speak the real wire formats and record what they received.
//! A test takes what it checks with `take`; `finish` fails the test if the bot sent anything
//! the test did not look at.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::Sha256;
use tower::ServiceExt;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

pub mod discord;
/// The hostile-text corpus and its checkers, shared with the renderers' unit tests.
#[path = "../../src/core/hostile.rs"]
pub mod hostile;
pub mod pg;

use switchboard::config::{Config, PageConfig};
use switchboard::store::{self, DynStore, JobStatus};
use switchboard::workers::{self, Services};

pub const META_SECRET: &str = "test_app_secret";
pub const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
pub const VERIFY_TOKEN: &str = "meatyhamhock";
pub const PAGE_ID: &str = "1234567890321";
pub const PAGE_TOKEN: &str = "EAAG-page-token";
pub const CHANNEL: &str = "C0CARDS";
pub const TEAM: &str = "T111";
pub const BOT_TOKEN: &str = "xoxb-test-token";
/// Put in `discord.api_url` by a tweak: replaced by the fake Discord's address.
pub const DISCORD_URL_PLACEHOLDER: &str = "http://discord.fake";

/// Matches every request until `end`: an outage window. Counts the card posts it refuses
/// (top-level `chat.postMessage`).
struct Until {
    end: Instant,
    refused: Arc<AtomicU64>,
}

impl wiremock::Match for Until {
    fn matches(&self, req: &wiremock::Request) -> bool {
        let down = Instant::now() < self.end;
        let card_post = req.url.path() == "/chat.postMessage"
            && serde_json::from_slice::<Value>(&req.body)
                .is_ok_and(|b| b.get("thread_ts").is_none_or(Value::is_null));
        if down && card_post {
            self.refused.fetch_add(1, Ordering::SeqCst);
        }
        down
    }
}

/// Answers Slack Web API calls like Slack does, with increasing message timestamps.
struct SlackResponder {
    next_ts: AtomicU64,
    next_view: AtomicU64,
    /// User group id → member ids.
    groups: Arc<std::sync::Mutex<HashMap<String, Vec<String>>>>,
}

fn opened_view(id: &str, callback_id: &str) -> Value {
    json!({
        "ok": true,
        "view": {
            "id": id, "team_id": TEAM, "type": "modal",
            "title": {"type": "plain_text", "text": "Switchboard", "emoji": true},
            "close": {"type": "plain_text", "text": "Cancel", "emoji": true},
            "submit": {"type": "plain_text", "text": "Send", "emoji": true},
            "blocks": [], "private_metadata": "", "callback_id": callback_id,
            "state": {"values": {}}, "hash": "1596530361.3wRYuk3R", "clear_on_close": false,
            "notify_on_close": true, "previous_view_id": null, "root_view_id": id,
            "app_id": "A111", "external_id": "", "app_installed_team_id": TEAM, "bot_id": "BBOT"
        },
        "response_metadata": {"messages": []}
    })
}

fn user_info(id: &str) -> Value {
    json!({
        "ok": true,
        "user": {
            "id": id, "team_id": TEAM, "name": id.to_lowercase(), "deleted": false,
            "real_name": format!("Agent {id}"),
            "profile": {"real_name": format!("Agent {id}"), "display_name": format!("Agent {id}"),
                        "real_name_normalized": format!("Agent {id}"),
                        "display_name_normalized": format!("Agent {id}")},
            "is_admin": false, "is_owner": false, "is_bot": false, "updated": 1700000000
        }
    })
}

impl Respond for SlackResponder {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let channel = body["channel"].as_str().unwrap_or(CHANNEL).to_string();
        match req.url.path() {
            "/chat.postMessage" => {
                let n = self.next_ts.fetch_add(1, Ordering::SeqCst);
                let ts = format!("1700000{n:03}.000100");
                ResponseTemplate::new(200).set_body_json(json!({
                    "ok": true, "channel": channel, "ts": ts,
                    "message": {"type": "message", "text": body["text"], "user": "UBOT", "ts": ts, "bot_id": "BBOT"}
                }))
            }
            "/chat.update" => ResponseTemplate::new(200).set_body_json(json!({
                "ok": true, "channel": channel, "ts": body["ts"], "text": body["text"],
                "message": {"type": "message", "text": body["text"], "user": "UBOT", "bot_id": "BBOT"}
            })),
                        "/chat.postEphemeral" => ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "message_ts": "1700000000.000001"})),
            "/views.open" => {
                let n = self.next_view.fetch_add(1, Ordering::SeqCst);
                let callback = body["view"]["callback_id"].as_str().unwrap_or("").to_string();
                ResponseTemplate::new(200).set_body_json(opened_view(&format!("V{n}"), &callback))
            }
            "/users.info" => {
                let user = req
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "user")
                    .map(|(_, v)| v.into_owned())
                    .or_else(|| body["user"].as_str().map(String::from))
                    .unwrap_or_default();
                ResponseTemplate::new(200).set_body_json(user_info(&user))
            }
            "/usergroups.users.list" => {
                let group = req
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "usergroup")
                    .map(|(_, v)| v.into_owned())
                    .or_else(|| body["usergroup"].as_str().map(String::from))
                    .unwrap_or_default();
                let members = self
                    .groups
                    .lock()
                    .map(|g| g.get(&group).cloned().unwrap_or_default())
                    .unwrap_or_default();
                ResponseTemplate::new(200).set_body_json(json!({"ok": true, "users": members}))
            }
            // The current file upload, as Slack documents it: an upload URL for a named file of
            // a given length, the bytes POSTed there, then the upload completed into a channel.
            "/files.getUploadURLExternal" => {
                let q: HashMap<String, String> = req.url.query_pairs().into_owned().collect();
                let length = q.get("length").and_then(|l| l.parse::<u64>().ok());
                match (q.get("filename"), length) {
                    (Some(name), Some(n)) if !name.is_empty() && n > 0 => {
                        // Back to this same fake, wherever it listens.
                        let host = req
                            .headers
                            .get("host")
                            .and_then(|h| h.to_str().ok())
                            .unwrap_or("127.0.0.1")
                            .to_string();
                        let base = format!("http://{host}");
                        ResponseTemplate::new(200).set_body_json(json!({
                            "ok": true,
                            "upload_url": format!("{base}/upload/F0REPORT?length={n}"),
                            "file_id": "F0REPORT"
                        }))
                    }
                    _ => ResponseTemplate::new(200)
                        .set_body_json(json!({"ok": false, "error": "invalid_arguments"})),
                }
            }
            "/upload/F0REPORT" => {
                let expected = req
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "length")
                    .and_then(|(_, v)| v.parse::<usize>().ok());
                if expected == Some(req.body.len()) {
                    ResponseTemplate::new(200).set_body_string(format!("OK - {}", req.body.len()))
                } else {
                    ResponseTemplate::new(400).set_body_string("length mismatch")
                }
            }
            "/files.completeUploadExternal" => {
                if body["files"][0]["id"] == "F0REPORT" {
                    ResponseTemplate::new(200).set_body_json(json!({
                        "ok": true,
                        "files": [{"id": "F0REPORT", "title": body["files"][0]["title"]}]
                    }))
                } else {
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"ok": false, "error": "file_not_found"}))
                }
            }
            _ => ResponseTemplate::new(200).set_body_json(json!({"ok": true})),
        }
    }
}

/// Answers `POST /{id}/comments` like Graph does.
struct GraphResponder {
    next: AtomicU64,
}

impl Respond for GraphResponder {
    fn respond(&self, _req: &wiremock::Request) -> ResponseTemplate {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(200)
            .set_body_json(json!({ "id": format!("901097836652708_99{n:04}") }))
    }
}

pub struct World {
    pub slack: MockServer,
    pub graph: MockServer,
    /// The fake Discord REST API (only called when a scenario configures `[discord]`).
    pub discord: MockServer,
    pub svc: Arc<Services>,
    pub router: Router,
    pub store: DynStore,
    /// How many requests of each (method, path) the test has taken so far.
    taken: std::sync::Mutex<HashMap<String, usize>>,
    /// User groups the fake Slack knows (id → members).
    pub groups: Arc<std::sync::Mutex<HashMap<String, Vec<String>>>>,
    /// The fake Discord creates this many storm thread batches without answering (502).
    pub discord_lost_batches: Arc<AtomicU64>,
    /// The fake Discord refuses this many storm thread batches (502, nothing created).
    pub discord_refused_batches: Arc<AtomicU64>,
    /// The fake Discord creates this many ticket cards without answering (502).
    pub discord_lost_cards: Arc<AtomicU64>,
    /// The fake Discord dates the messages it creates this long ago.
    pub discord_backdate: Arc<std::sync::Mutex<chrono::Duration>>,
    _dir: Option<tempfile::TempDir>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub path: String,
    pub headers: HashMap<String, String>,
    /// JSON bodies parsed; form bodies as an object of fields.
    pub body: Value,
}

pub fn config(slack_url: &str, graph_url: &str, db_url: &str) -> Config {
    let mut c = Config::default();
    c.database.url = db_url.into();
    c.meta.app_secret = Some(SecretString::from(META_SECRET));
    c.meta.verify_token = Some(SecretString::from(VERIFY_TOKEN));
    c.meta.graph_api_url = graph_url.into();
    c.meta.pages = vec![PageConfig {
        id: PAGE_ID.into(),
        name: "Acme Coffee".into(),
        access_token: Some(SecretString::from(PAGE_TOKEN)),
        slack_channel: Some(CHANNEL.into()),
        discord_channel: None,
    }];
    c.slack.team_id = TEAM.into();
    c.slack.bot_token = Some(SecretString::from(BOT_TOKEN));
    c.slack.signing_secret = Some(SecretString::from(SLACK_SECRET));
    c.slack.api_url = slack_url.into();
    // Fast retries and no pacing, so scenarios run in milliseconds.
    c.outbox.base_backoff_ms = 5;
    c.outbox.max_backoff_secs = 1;
    c.outbox.channel_pace_ms = 0;
    // Many scenarios open a dozen tickets on one post to test cards; storm mode, which would
    // show those on a storm card, has its own scenarios (`e2e_storm.rs`).
    c.storm.enabled = false;
    // Replies go out at once unless a scenario tests the undo window.
    c.slack.undo_seconds = 0;
    c
}

impl World {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// A world whose configuration `tweak` may adjust before start.
    pub async fn with(tweak: impl FnOnce(&mut Config)) -> Self {
        let (db, dir) = temp_sqlite();
        Self::start(db, Some(dir), tweak).await
    }

    pub async fn start(
        db_url: String,
        dir: Option<tempfile::TempDir>,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        let slack = MockServer::start().await;
        let graph = MockServer::start().await;
        let discord = MockServer::start().await;
        let mut c = config(&slack.uri(), &graph.uri(), &db_url);
        if let Some(d) = c.discord.as_mut() {
            d.api_url = discord.uri();
        }
        tweak(&mut c);
        if let Some(d) = c.discord.as_mut()
            && d.api_url == DISCORD_URL_PLACEHOLDER
        {
            d.api_url = discord.uri();
        }
        let store = store::connect(&db_url).await.expect("connect");
        store.migrate().await.expect("migrate");
        let svc = switchboard::app::services(c, store.clone()).expect("services");
        let router = switchboard::server::router(svc.clone());
        World {
            slack,
            graph,
            discord,
            svc,
            router,
            store,
            taken: Default::default(),
            groups: Default::default(),
            discord_lost_batches: Default::default(),
            discord_refused_batches: Default::default(),
            discord_lost_cards: Default::default(),
            discord_backdate: Default::default(),
            _dir: dir,
        }
    }

    /// Slack answers every Web API call successfully.
    pub async fn slack_ok(&self) {
        for verb in ["POST", "GET"] {
            Mock::given(method(verb))
                .respond_with(SlackResponder {
                    next_ts: AtomicU64::new(1),
                    next_view: AtomicU64::new(1),
                    groups: self.groups.clone(),
                })
                .mount(&self.slack)
                .await;
        }
    }

    /// The fake Slack knows a user group with these members.
    pub fn group(&self, id: &str, members: &[&str]) {
        if let Ok(mut g) = self.groups.lock() {
            g.insert(id.into(), members.iter().map(|m| m.to_string()).collect());
        }
    }

    /// A response URL on the fake Slack (slash commands, clicks).
    pub fn response_url(&self) -> String {
        format!("{}/response/1", self.slack.uri())
    }

    /// Graph accepts every comment reply.
    pub async fn graph_ok(&self) {
        Mock::given(method("POST"))
            .and(path_regex(r"^/[0-9_]+/comments$"))
            .respond_with(GraphResponder {
                next: AtomicU64::new(1),
            })
            .mount(&self.graph)
            .await;
    }

    /// Graph accepts every Send API message (Messenger / Instagram DMs).
    pub async fn graph_messages_ok(&self) {
        Mock::given(method("POST"))
            .and(path_regex(r"^/[0-9]+/messages$"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"recipient_id": "6001", "message_id": "m_reply_1"})),
            )
            .mount(&self.graph)
            .await;
    }

    /// Graph accepts every WhatsApp message, answering with message ids `wamid.R<n>`.
    pub async fn graph_whatsapp_ok(&self) {
        Mock::given(method("POST"))
            .and(path_regex(r"^/[0-9]+/messages$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": "491234567890", "wa_id": "491234567890"}],
                "messages": [{"id": "wamid.R1"}]
            })))
            .mount(&self.graph)
            .await;
    }

    /// Graph answers the next `times` comment replies with `status` and `body`.
    pub async fn graph_fails(&self, times: u64, status: u16, body: Value) {
        Mock::given(method("POST"))
            .and(path_regex(r"^/[0-9_]+/comments$"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .up_to_n_times(times)
            .with_priority(1)
            .mount(&self.graph)
            .await;
    }

    /// Slack answers the next `times` calls to `api_path` with a 429 and Retry-After.
    pub async fn slack_rate_limits(&self, api_path: &str, times: u64, retry_after_secs: u32) {
        Mock::given(method("POST"))
            .and(path(api_path))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("Retry-After", retry_after_secs.to_string().as_str())
                    .set_body_json(json!({"ok": false, "error": "ratelimited"})),
            )
            .up_to_n_times(times)
            .with_priority(1)
            .mount(&self.slack)
            .await;
    }

    /// Slack answers every Web API call with `status` until `for_how_long` has passed (an
    /// outage); returns a counter of the card posts it refused.
    pub async fn slack_down_for(&self, for_how_long: Duration, status: u16) -> Arc<AtomicU64> {
        let refused = Arc::new(AtomicU64::new(0));
        Mock::given(Until {
            end: Instant::now() + for_how_long,
            refused: refused.clone(),
        })
        .respond_with(
            ResponseTemplate::new(status).set_body_string("<html>Service Unavailable</html>"),
        )
        .with_priority(1)
        .mount(&self.slack)
        .await;
        refused
    }

    /// Slack accepts `chat.postMessage` calls for `channel` and never answers them (within the
    /// test's lifetime): a stalled call. `times`: how many calls stall (then it answers).
    pub async fn slack_stalls(&self, channel: &str, times: u64) {
        Mock::given(method("POST"))
            .and(path("/chat.postMessage"))
            .and(wiremock::matchers::body_partial_json(
                json!({"channel": channel}),
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"ok": true}))
                    .set_delay(Duration::from_secs(600)),
            )
            .up_to_n_times(times)
            .with_priority(1)
            .mount(&self.slack)
            .await;
    }

    /// Slack answers the next `times` calls to `api_path` with `status`.
    pub async fn slack_fails(&self, api_path: &str, times: u64, status: u16) {
        Mock::given(path(api_path))
            .respond_with(ResponseTemplate::new(status).set_body_string("upstream error"))
            .up_to_n_times(times)
            .with_priority(1)
            .mount(&self.slack)
            .await;
    }

    // ---- requests into the router ---------------------------------------------------------

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, String) {
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("router answers");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    pub async fn meta_webhook(&self, body: &str) -> (StatusCode, String) {
        self.meta_webhook_signed(body, &meta_signature(META_SECRET, body.as_bytes()))
            .await
    }

    pub async fn meta_webhook_signed(&self, body: &str, signature: &str) -> (StatusCode, String) {
        let req = Request::post("/webhooks/meta")
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(Body::from(body.to_string()))
            .expect("request");
        self.send(req).await
    }

    pub async fn slack_post(
        &self,
        uri: &str,
        content_type: &str,
        body: &str,
        extra: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let ts = chrono::Utc::now().timestamp();
        self.slack_post_at(uri, content_type, body, extra, ts).await
    }

    pub async fn slack_post_at(
        &self,
        uri: &str,
        content_type: &str,
        body: &str,
        extra: &[(&str, &str)],
        ts: i64,
    ) -> (StatusCode, String) {
        let mut req = Request::post(uri)
            .header("content-type", content_type)
            .header("x-slack-request-timestamp", ts.to_string())
            .header(
                "x-slack-signature",
                slack_signature(SLACK_SECRET, ts, body.as_bytes()),
            );
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::from(body.to_string())).expect("request"))
            .await
    }

    pub async fn slack_event(&self, body: &Value, extra: &[(&str, &str)]) -> (StatusCode, String) {
        self.slack_post(
            "/slack/events",
            "application/json",
            &body.to_string(),
            extra,
        )
        .await
    }

    /// A teammate writes `text` in the thread of the card whose ts is `thread_ts`.
    pub async fn thread_message(
        &self,
        event_id: &str,
        user: &str,
        thread_ts: &str,
        ts: &str,
        text: &str,
    ) -> (StatusCode, String) {
        let body = json!({
            "token": "verification_token", "team_id": TEAM, "api_app_id": "A111",
            "event": {
                "type": "message", "channel": CHANNEL, "user": user, "text": text,
                "ts": ts, "thread_ts": thread_ts, "team": TEAM, "event_ts": ts,
                "channel_type": "channel", "client_msg_id": format!("cm-{event_id}")
            },
            "type": "event_callback", "event_id": event_id, "event_time": 1700000000,
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": true}]
        });
        self.slack_event(&body, &[]).await
    }

    /// A teammate clicks the card button whose action id is `action_id`.
    pub async fn click(&self, user: &str, card_ts: &str, action_id: &str) -> (StatusCode, String) {
        let payload = json!({
            "type": "block_actions",
            "user": {"id": user, "username": "ana", "name": "ana", "team_id": TEAM},
            "api_app_id": "A111", "token": "verification_token",
            "container": {"type": "message", "message_ts": card_ts, "channel_id": CHANNEL, "is_ephemeral": false},
            "trigger_id": format!("{}.{}.trig", card_ts, action_id.len()),
            "team": {"id": TEAM, "domain": "acme"},
            "channel": {"id": CHANNEL, "name": "social-inbox"},
            "message": {"type": "message", "ts": card_ts, "text": "card", "blocks": []},
            "response_url": "https://hooks.slack.com/actions/T111/1/x",
            "actions": [{"type": "button", "action_id": action_id, "block_id": "actions",
                         "value": "1", "text": {"type": "plain_text", "text": "x"},
                         "action_ts": "1700000100.000001"}],
            "state": {"values": {}}
        });
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish();
        self.slack_post(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            &body,
            &[],
        )
        .await
    }

    /// A click on a card control with a value and/or a picker selection.
    pub async fn pick(
        &self,
        user: &str,
        card_ts: &str,
        action_id: &str,
        value: Option<&str>,
        selected: Option<Value>,
    ) -> (StatusCode, String) {
        let mut action = json!({"action_id": action_id, "block_id": "sb_pickers",
            "action_ts": "1700000100.000002"});
        match selected {
            Some(Value::String(user_id)) if action_id.contains(":assign:") => {
                action["type"] = json!("users_select");
                action["selected_user"] = json!(user_id);
            }
            Some(sel) => {
                action["type"] = json!("static_select");
                action["selected_option"] =
                    json!({"text": {"type": "plain_text", "text": "x"}, "value": sel});
            }
            None => {
                action["type"] = json!("button");
                action["text"] = json!({"type": "plain_text", "text": "x"});
            }
        }
        if let Some(v) = value {
            action["value"] = json!(v);
        }
        let payload = json!({
            "type": "block_actions",
            "user": {"id": user, "username": "u", "name": "u", "team_id": TEAM},
            "api_app_id": "A111", "token": "verification_token",
            "container": {"type": "message", "message_ts": card_ts, "channel_id": CHANNEL, "is_ephemeral": false},
            "trigger_id": format!("trig-{}-{}", action_id, chrono::Utc::now().timestamp_micros()),
            "team": {"id": TEAM, "domain": "acme"},
            "channel": {"id": CHANNEL, "name": "social-inbox"},
            "message": {"type": "message", "ts": card_ts, "text": "card", "blocks": []},
            "response_url": self.response_url(),
            "actions": [action],
            "state": {"values": {}}
        });
        self.interaction(&payload).await
    }

    pub async fn interaction(&self, payload: &Value) -> (StatusCode, String) {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish();
        self.slack_post(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            &body,
            &[],
        )
        .await
    }

    /// Submit a modal: `values` is `{block_id: {action_id: <Slack input state>}}`.
    pub async fn submit(
        &self,
        user: &str,
        view_id: &str,
        callback_id: &str,
        values: Value,
    ) -> (StatusCode, String) {
        self.submit_with_metadata(user, view_id, callback_id, "", values)
            .await
    }

    /// A `view_submission` of a modal that carries `private_metadata`.
    pub async fn submit_with_metadata(
        &self,
        user: &str,
        view_id: &str,
        callback_id: &str,
        private_metadata: &str,
        values: Value,
    ) -> (StatusCode, String) {
        let payload = json!({
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "acme"},
            "user": {"id": user, "username": "u", "name": "u", "team_id": TEAM},
            "api_app_id": "A111", "token": "verification_token", "trigger_id": "1.2.3",
            "view": {"id": view_id, "team_id": TEAM, "type": "modal", "callback_id": callback_id,
                     "private_metadata": private_metadata, "hash": "h", "root_view_id": view_id, "app_id": "A111",
                     "bot_id": "BBOT", "blocks": [], "state": {"values": values}},
            "response_urls": []
        });
        self.interaction(&payload).await
    }

    pub async fn close_view(
        &self,
        user: &str,
        view_id: &str,
        callback_id: &str,
    ) -> (StatusCode, String) {
        let payload = json!({
            "type": "view_closed",
            "team": {"id": TEAM, "domain": "acme"},
            "user": {"id": user, "username": "u", "name": "u", "team_id": TEAM},
            "api_app_id": "A111", "token": "verification_token",
            "view": {"id": view_id, "team_id": TEAM, "type": "modal", "callback_id": callback_id,
                     "private_metadata": "", "hash": "h", "root_view_id": view_id, "app_id": "A111",
                     "bot_id": "BBOT", "blocks": [], "state": {"values": {}}},
            "is_cleared": false
        });
        self.interaction(&payload).await
    }

    pub async fn suggest(&self, user: &str, action_id: &str, typed: &str) -> (StatusCode, String) {
        let payload = json!({
            "type": "block_suggestion",
            "user": {"id": user, "username": "u", "name": "u", "team_id": TEAM},
            "team": {"id": TEAM, "domain": "acme"},
            "api_app_id": "A111", "token": "verification_token",
            "container": {"type": "message", "message_ts": "1.2", "channel_id": CHANNEL, "is_ephemeral": false},
            "action_id": action_id, "block_id": "sb_pickers", "value": typed,
            "channel": {"id": CHANNEL, "name": "social-inbox"}
        });
        self.interaction(&payload).await
    }

    /// `/switchboard <text>` typed by `user`.
    pub async fn command(&self, user: &str, text: &str) -> (StatusCode, String) {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", "verification_token")
            .append_pair("team_id", TEAM)
            .append_pair("team_domain", "acme")
            .append_pair("channel_id", CHANNEL)
            .append_pair("channel_name", "social-inbox")
            .append_pair("user_id", user)
            .append_pair("user_name", "u")
            .append_pair("command", "/switchboard")
            .append_pair("text", text)
            .append_pair("api_app_id", "A111")
            .append_pair("response_url", &self.response_url())
            .append_pair(
                "trigger_id",
                &format!("cmd-{}", chrono::Utc::now().timestamp_micros()),
            )
            .finish();
        self.slack_post(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            &body,
            &[],
        )
        .await
    }

    /// A teammate edits (`Some(text)`) or deletes (`None`) their thread message `ts`.
    pub async fn edit_or_delete(
        &self,
        event_id: &str,
        user: &str,
        thread_ts: &str,
        ts: &str,
        text: Option<&str>,
    ) -> (StatusCode, String) {
        let event = match text {
            Some(t) => json!({
                "type": "message", "subtype": "message_changed", "channel": CHANNEL, "hidden": true,
                "ts": "1700000999.000001", "event_ts": "1700000999.000001",
                "message": {"type": "message", "user": user, "text": t, "ts": ts, "thread_ts": thread_ts,
                            "edited": {"user": user, "ts": "1700000999.000001"}},
                "previous_message": {"type": "message", "user": user, "text": "old", "ts": ts, "thread_ts": thread_ts}
            }),
            None => json!({
                "type": "message", "subtype": "message_deleted", "channel": CHANNEL, "hidden": true,
                "ts": "1700000999.000002", "deleted_ts": ts, "event_ts": "1700000999.000002",
                "previous_message": {"type": "message", "user": user, "text": "old", "ts": ts, "thread_ts": thread_ts}
            }),
        };
        let body = json!({"token": "t", "team_id": TEAM, "api_app_id": "A111", "event": event,
            "type": "event_callback", "event_id": event_id, "event_time": 1700000999});
        self.slack_event(&body, &[]).await
    }

    // ---- driving the workers --------------------------------------------------------------

    /// Run the inbox and outbox workers until nothing is pending (retries included).
    pub async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let a = workers::inbox::process_batch(&self.svc)
                .await
                .expect("inbox");
            let b = workers::outbox::process_batch(&self.svc)
                .await
                .expect("outbox");
            if a + b > 0 {
                continue;
            }
            let pending = self.store.count_pending_inbox().await.expect("count")
                + self
                    .store
                    .count_jobs(JobStatus::Pending)
                    .await
                    .expect("count");
            if pending == 0 {
                return;
            }
            assert!(Instant::now() < deadline, "work still pending after 20 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    // ---- what the fakes received ----------------------------------------------------------

    async fn received(server: &MockServer, api_path: &str) -> Vec<Seen> {
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path() == api_path)
            .map(|r| {
                let headers = r
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect();
                let body = serde_json::from_slice(&r.body).unwrap_or_else(|_| {
                    let fields: serde_json::Map<String, Value> =
                        url::form_urlencoded::parse(&r.body)
                            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                            .collect();
                    Value::Object(fields)
                });
                Seen {
                    path: r.url.path().to_string(),
                    headers,
                    body,
                }
            })
            .collect()
    }

    /// The Slack calls to `api_path` (e.g. "/chat.postMessage") not taken yet.
    pub async fn take_slack(&self, api_path: &str) -> Vec<Seen> {
        self.take(true, api_path).await
    }

    /// How many calls Graph received on `api_path` so far (taken or not).
    pub async fn graph_requests(&self, api_path: &str) -> usize {
        Self::received(&self.graph, api_path).await.len()
    }

    /// The Graph calls to `api_path` not taken yet.
    pub async fn take_graph(&self, api_path: &str) -> Vec<Seen> {
        self.take(false, api_path).await
    }

    /// The Discord REST calls to `api_path` (e.g. "/api/v10/channels/1/messages") not taken yet.
    pub async fn take_discord(&self, api_path: &str) -> Vec<Seen> {
        let all = Self::received(&self.discord, api_path).await;
        self.take_from("discord", api_path, all)
    }

    /// Discord REST calls whose path matches `pattern` (a regex), not taken yet, in order.
    pub async fn take_discord_matching(&self, pattern: &str) -> Vec<Seen> {
        let re = regex::Regex::new(pattern).expect("regex");
        let all = self.discord.received_requests().await.unwrap_or_default();
        let mut paths: Vec<String> = Vec::new();
        for r in &all {
            let p = r.url.path().to_string();
            if re.is_match(&p) && !paths.contains(&p) {
                paths.push(p);
            }
        }
        let mut out = Vec::new();
        for p in paths {
            out.extend(self.take_discord(&p).await);
        }
        out
    }

    fn take_from(&self, server: &str, api_path: &str, all: Vec<Seen>) -> Vec<Seen> {
        let key = format!("{server}{api_path}");
        let mut taken = self.taken.lock().expect("lock");
        let from = *taken.get(&key).unwrap_or(&0);
        taken.insert(key, all.len());
        all.into_iter().skip(from).collect()
    }

    async fn take(&self, slack: bool, api_path: &str) -> Vec<Seen> {
        let server = if slack { &self.slack } else { &self.graph };
        let all = Self::received(server, api_path).await;
        let key = format!("{}{api_path}", if slack { "slack" } else { "graph" });
        let mut taken = self.taken.lock().expect("lock");
        let from = *taken.get(&key).unwrap_or(&0);
        taken.insert(key, all.len());
        all.into_iter().skip(from).collect()
    }

    /// Fail if the bot sent anything the test did not take.
    pub async fn finish(&self) {
        for (name, server) in [
            ("slack", &self.slack),
            ("graph", &self.graph),
            ("discord", &self.discord),
        ] {
            let all = server.received_requests().await.unwrap_or_default();
            let mut per_path: HashMap<String, usize> = HashMap::new();
            for r in &all {
                *per_path.entry(r.url.path().to_string()).or_default() += 1;
            }
            let taken = self.taken.lock().expect("lock").clone();
            for (p, n) in per_path {
                let key = format!("{name}{p}");
                let seen = taken.get(&key).copied().unwrap_or(0);
                assert_eq!(
                    seen, n,
                    "the bot sent {n} request(s) to {key}; the test looked at {seen}"
                );
            }
        }
    }
}

/// A SQLite database in a new temporary directory: its URL, and the directory (whoever holds
/// it keeps the database).
pub fn temp_sqlite() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("e2e.db").display());
    (db, dir)
}

/// Date the given-up jobs of the SQLite database at `db` back by `ago`, as if they had begun
/// that long ago; how many there were.
pub async fn age_failed_jobs(db: &str, ago: chrono::Duration) -> u64 {
    let pool = sqlx::SqlitePool::connect(db).await.expect("connect");
    let aged = sqlx::query("UPDATE outbox SET created_at = created_at - ? WHERE status = 'failed'")
        .bind(ago.num_microseconds().expect("micros"))
        .execute(&pool)
        .await
        .expect("age the jobs that gave up");
    pool.close().await;
    aged.rows_affected()
}

pub fn meta_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn slack_signature(secret: &str, ts: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("v0:{ts}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// A Page `feed` webhook with one comment from a customer.
pub fn comment_webhook(
    comment_id: &str,
    post_id: &str,
    from_id: &str,
    name: &str,
    text: &str,
) -> String {
    json!({
        "object": "page",
        "entry": [{
            "id": PAGE_ID, "time": 1700000000,
            "changes": [{"field": "feed", "value": {
                "item": "comment", "verb": "add",
                "comment_id": comment_id, "post_id": post_id, "parent_id": post_id,
                "from": {"id": from_id, "name": name},
                "created_time": 1700000000, "message": text
            }}]
        }]
    })
    .to_string()
}

/// Every text in a Block Kit message, joined: what a person would read.
pub fn blocks_text(body: &Value) -> String {
    let mut out = Vec::new();
    collect_text(&body["blocks"], &mut out);
    out.join("\n")
}

fn collect_text(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(t)) = m.get("text") {
                out.push(t.clone());
            }
            for (k, x) in m {
                if k != "text" || !x.is_string() {
                    collect_text(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_text(x, out)),
        _ => {}
    }
}

/// The action ids of the card's buttons.
pub fn action_ids(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(blocks) = body["blocks"].as_array() {
        for b in blocks {
            if let Some(els) = b["elements"].as_array() {
                for e in els {
                    if let Some(id) = e["action_id"].as_str() {
                        out.push(id.to_string());
                    }
                }
            }
        }
    }
    out
}
