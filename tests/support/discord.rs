//! The Discord side of the end-to-end world: a fake REST API (wiremock, answering as Discord
//! does) and a fake gateway (a local websocket server that sends Hello, reads Identify, sends
//! READY and then dispatches what the test gives it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, Respond, ResponseTemplate};

use switchboard::config::{
    DiscordChannelConfig, DiscordChannelKind, DiscordConfig, DiscordServerConfig, StatusTags,
};

use super::{DISCORD_URL_PLACEHOLDER, World};

pub const APP_ID: &str = "775799577604522054";
pub const GUILD: &str = "290926798626357999";
pub const DCHANNEL: &str = "645027906669510667";
pub const FORUM: &str = "645027906669510700";
pub const DISCORD_BOT_TOKEN: &str = "MTk4NjIyNDgzNDcxOTI1MjQ4.test.token";
/// Forum tag ids per status.
pub const TAG_UNREAD: &str = "1000000000000000901";
pub const TAG_READ: &str = "1000000000000000902";
pub const TAG_CLOSED: &str = "1000000000000000903";
/// The test key of network-apis.md §9 (seed 0x00..0x1f), as the application's public key.
pub const PUBLIC_KEY: &str = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
/// The bot's user id and its managed role.
pub const BOT_USER: &str = "1000000000000000999";
pub const BOT_ROLE: &str = "1000000000000000998";
/// A team's role (not mentionable on the fake server).
pub const TEAM_ROLE: &str = "777000000000000000";
/// A moderator and the role that lets members act.
pub const MOD: &str = "53908232506183680";
pub const MOD_ROLE: &str = "539082325061836999";

/// `[discord]` with one server holding a text channel and a forum; the Page posts to the text
/// channel. Replies go out at once.
pub fn discord_config() -> DiscordConfig {
    let mut d = DiscordConfig::new(APP_ID, PUBLIC_KEY);
    d.bot_token = Some(SecretString::from(DISCORD_BOT_TOKEN));
    d.api_url = DISCORD_URL_PLACEHOLDER.into();
    d.undo_seconds = 0;
    d.servers = vec![DiscordServerConfig {
        guild_id: GUILD.into(),
        channels: vec![
            DiscordChannelConfig {
                id: DCHANNEL.into(),
                kind: DiscordChannelKind::Text,
                reply_mode: Default::default(),
                status_tags: None,
                reply_as: Default::default(),
                auto_close_days: None,
                hours: None,
                sla: None,
                auto_reply: None,
            },
            DiscordChannelConfig {
                id: FORUM.into(),
                kind: DiscordChannelKind::Forum,
                reply_mode: Default::default(),
                status_tags: Some(StatusTags {
                    unread: TAG_UNREAD.into(),
                    read: TAG_READ.into(),
                    closed: TAG_CLOSED.into(),
                }),
                reply_as: Default::default(),
                auto_close_days: None,
                hours: None,
                sla: None,
                auto_reply: None,
            },
        ],
    }];
    d
}

/// A Discord-only world: the Page's cards go to `DCHANNEL`; Slack is not configured.
pub async fn discord_world(tweak: impl FnOnce(&mut switchboard::config::Config)) -> World {
    let (db, dir) = super::temp_sqlite();
    discord_world_in(db, Some(dir), tweak).await
}

/// [`discord_world`] on the database at `db_url` (a test that reads or ages rows itself).
pub async fn discord_world_in(
    db_url: String,
    dir: Option<tempfile::TempDir>,
    tweak: impl FnOnce(&mut switchboard::config::Config),
) -> World {
    World::start(db_url, dir, |c| {
        c.meta.pages[0].slack_channel = None;
        c.meta.pages[0].discord_channel = Some(DCHANNEL.into());
        c.slack = Default::default();
        c.discord = Some(discord_config());
        tweak(c);
    })
    .await
}

/// Answers Discord REST calls the way Discord does (ids are sequential snowflakes). Forum
/// posts it creates are listed by `GET /guilds/{id}/threads/active`.
struct DiscordResponder {
    next: AtomicU64,
    gateway_url: Arc<Mutex<String>>,
    forum_posts: Mutex<Vec<Value>>,
    /// This many forum posts are created but answered with a 500 (the answer is "lost").
    lose_forum_answers: AtomicU64,
    /// Messages created, as `GET /channels/{id}/messages` lists them, with when.
    messages: Mutex<Vec<Posted>>,
    /// This many storm thread batches (messages headed "N comments, #…") are created but
    /// answered with a 502.
    lose_batch_answers: Arc<AtomicU64>,
    /// This many storm thread batches are answered with a 502 and not created.
    refuse_batches: Arc<AtomicU64>,
    /// This many ticket cards (messages with a ticket's buttons) are created but answered
    /// with a 502.
    lose_card_answers: Arc<AtomicU64>,
    /// Created messages are dated this long ago (a give-up that happened long before).
    backdate: Arc<Mutex<chrono::Duration>>,
}

/// A message the fake created.
struct Posted {
    channel: String,
    at: chrono::DateTime<chrono::Utc>,
    nonce: Option<String>,
    message: Value,
}

/// How long Discord keeps a message nonce ("a few minutes").
const NONCE_MINUTES: i64 = 5;

/// Discord's epoch in Unix milliseconds (snowflakes count from it).
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// The moment a snowflake was made (`after=` may be any snowflake, also one made from a time).
fn snowflake_time(id: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let n: u64 = id.parse().ok()?;
    chrono::DateTime::from_timestamp_millis((n >> 22) as i64 + DISCORD_EPOCH_MS)
}

impl DiscordResponder {
    fn id(&self) -> String {
        format!(
            "1{:018}",
            200_000 + self.next.fetch_add(1, Ordering::SeqCst)
        )
    }
}

impl Respond for DiscordResponder {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let p = req.url.path().trim_start_matches("/api/v10");
        let parts: Vec<&str> = p.trim_start_matches('/').split('/').collect();
        let m = req.method.as_str();
        let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
        match (m, parts.as_slice()) {
            ("GET", ["gateway"]) | ("GET", ["gateway", "bot"]) => {
                let url = self
                    .gateway_url
                    .lock()
                    .map(|u| u.clone())
                    .unwrap_or_default();
                ok(json!({"url": url, "shards": 1,
                    "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}}))
            }
            ("POST", ["channels", c, "messages"]) => {
                let body = serde_json::from_slice::<Value>(&req.body).unwrap_or(Value::Null);
                let Ok(mut messages) = self.messages.lock() else {
                    return ResponseTemplate::new(500);
                };
                // `enforce_nonce`: the same nonce from the bot within a few minutes answers
                // with the message already created.
                let nonce = body["nonce"].as_str().map(str::to_string);
                let kept_since = chrono::Utc::now() - chrono::Duration::minutes(NONCE_MINUTES);
                if body["enforce_nonce"] == json!(true)
                    && let Some(old) = messages
                        .iter()
                        .find(|m| nonce.is_some() && m.nonce == nonce && m.at > kept_since)
                {
                    return ok(old.message.clone());
                }
                let content = body["content"].as_str().unwrap_or_default().to_string();
                let heading = content.lines().next().unwrap_or_default();
                let batch = heading.contains(" comments, #") || heading.starts_with("1 comment, #");
                let take = |n: &AtomicU64| {
                    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                };
                if batch && take(&self.refuse_batches) {
                    return ResponseTemplate::new(502).set_body_string("bad gateway");
                }
                let message = json!({"id": self.id(), "channel_id": c, "type": 0,
                    "content": content, "embeds": body["embeds"].as_array().cloned().unwrap_or_default(),
                    "components": body["components"].as_array().cloned().unwrap_or_default(),
                    "author": {"id": BOT_USER, "username": "Switchboard",
                    "discriminator": "0", "bot": true}});
                // A ticket's card: its buttons' ids are `sb1:<action>:<ticket>`.
                let card = body["components"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|row| row["components"].as_array().into_iter().flatten())
                    .any(|c| {
                        c["custom_id"]
                            .as_str()
                            .is_some_and(|id| id.starts_with("sb1:"))
                    });
                let backdate = self.backdate.lock().map(|b| *b).unwrap_or_default();
                messages.push(Posted {
                    channel: c.to_string(),
                    at: chrono::Utc::now() - backdate,
                    nonce,
                    message: message.clone(),
                });
                if (batch && take(&self.lose_batch_answers))
                    || (card && take(&self.lose_card_answers))
                {
                    return ResponseTemplate::new(502).set_body_string("bad gateway");
                }
                ok(message)
            }
            // The oldest `limit` after the mark, newest first, as Discord lists them. The
            // fake's ids are not made from time: a mark that is one of its messages counts
            // from that message, any other snowflake by its time.
            ("GET", ["channels", c, "messages"]) => {
                let q: std::collections::HashMap<String, String> =
                    req.url.query_pairs().into_owned().collect();
                let limit = q
                    .get("limit")
                    .and_then(|l| l.parse::<usize>().ok())
                    .unwrap_or(50);
                if !(1..=100).contains(&limit) {
                    return ResponseTemplate::new(400)
                        .set_body_json(json!({"code": 50035, "message": "Invalid Form Body"}));
                }
                let Ok(messages) = self.messages.lock() else {
                    return ResponseTemplate::new(500);
                };
                let mark = q.get("after");
                let known = mark.and_then(|a| messages.iter().position(|m| m.message["id"] == *a));
                let after = mark.and_then(|a| snowflake_time(a));
                let mut listed: Vec<Value> = messages
                    .iter()
                    .enumerate()
                    .filter(|(i, m)| {
                        m.channel == *c
                            && match (known, after) {
                                (Some(k), _) => *i > k,
                                (None, Some(a)) => m.at > a,
                                (None, None) => true,
                            }
                    })
                    .map(|(_, m)| m.message.clone())
                    .collect();
                // The `limit` oldest after the mark, newest first.
                listed.truncate(limit);
                listed.reverse();
                ok(Value::Array(listed))
            }
            ("POST", ["channels", c, "messages", mid, "threads"]) => ResponseTemplate::new(201)
                .set_body_json(json!({"id": mid, "type": 11, "parent_id": c, "guild_id": GUILD})),
            ("POST", ["channels", forum, "threads"]) => {
                let id = self.id();
                let name = serde_json::from_slice::<Value>(&req.body)
                    .ok()
                    .and_then(|b| b["name"].as_str().map(str::to_string))
                    .unwrap_or_default();
                let post = json!({"id": id, "type": 11, "guild_id": GUILD, "parent_id": forum,
                    "name": name, "thread_metadata": {"archived": false, "locked": false,
                    "auto_archive_duration": 10080, "archive_timestamp": "2026-11-21T10:00:00.000000+00:00"},
                    "message": {"id": id, "channel_id": id}});
                if let Ok(mut posts) = self.forum_posts.lock() {
                    posts.push(post.clone());
                }
                let lose = self
                    .lose_forum_answers
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if lose {
                    ResponseTemplate::new(500).set_body_string("upstream connect error")
                } else {
                    ResponseTemplate::new(201).set_body_json(post)
                }
            }
            ("GET", ["guilds", _, "threads", "active"]) => {
                let threads = self
                    .forum_posts
                    .lock()
                    .map(|p| p.clone())
                    .unwrap_or_default();
                ok(json!({"threads": threads, "members": []}))
            }
            ("PATCH", ["channels", c, "messages", mid]) => ok(json!({"id": mid, "channel_id": c})),
            ("PATCH", ["channels", c]) => ok(json!({"id": c, "type": 11})),
            ("PUT" | "DELETE", ["channels", _, "messages", _, "reactions", ..]) => {
                ResponseTemplate::new(204)
            }
            ("GET", ["users", "@me"]) => ok(json!({"id": BOT_USER, "username": "Switchboard",
                "discriminator": "0", "global_name": null, "avatar": null, "bot": true})),
            // The server's roles: @everyone (no Mention Everyone), a team role that is not
            // mentionable, and the bot's own role.
            ("GET", ["guilds", g, "roles"]) => ok(json!([
                {"id": g, "name": "@everyone", "mentionable": false, "permissions": "2048",
                 "position": 0, "color": 0, "hoist": false, "managed": false, "flags": 0},
                {"id": TEAM_ROLE, "name": "support", "mentionable": false, "permissions": "0",
                 "position": 1, "color": 0, "hoist": false, "managed": false, "flags": 0},
                {"id": BOT_ROLE, "name": "Switchboard", "mentionable": false,
                 "permissions": "326417599552", "position": 2, "color": 0, "hoist": false,
                 "managed": true, "flags": 0, "tags": {"bot_id": BOT_USER}},
            ])),
            ("GET", ["guilds", _, "members", u]) => {
                ok(json!({"user": {"id": u}, "roles": [BOT_ROLE],
                "joined_at": "2017-03-13T19:19:14.040000+00:00", "deaf": false, "mute": false}))
            }
            ("POST", ["users", "@me", "channels"]) => {
                ok(json!({"id": "1000000000000000777", "type": 1}))
            }
            ("POST", ["interactions", _, _, "callback"]) => ResponseTemplate::new(204),
            ("POST", ["webhooks", _, _]) => ok(json!({"id": self.id()})),
            ("PUT", ["applications", ..]) => ok(json!([])),
            _ => ResponseTemplate::new(404).set_body_json(
                json!({"code": 0, "message": format!("fake Discord: no route {m} {p}")}),
            ),
        }
    }
}

impl World {
    /// The fake Discord answers every REST call; `gateway_url` is what `GET /gateway` hands out.
    pub async fn discord_ok(&self, gateway_url: &str) {
        self.discord_ok_losing_forum_answers(gateway_url, 0).await;
    }

    /// As [`discord_ok`](Self::discord_ok), but the first `lost` forum posts are created and
    /// then answered with a 500, as when the answer is lost on the way back.
    pub async fn discord_ok_losing_forum_answers(&self, gateway_url: &str, lost: u64) {
        Mock::given(wiremock::matchers::any())
            .respond_with(DiscordResponder {
                next: AtomicU64::new(1),
                gateway_url: Arc::new(Mutex::new(gateway_url.to_string())),
                forum_posts: Mutex::new(Vec::new()),
                lose_forum_answers: AtomicU64::new(lost),
                messages: Mutex::new(Vec::new()),
                lose_batch_answers: self.discord_lost_batches.clone(),
                refuse_batches: self.discord_refused_batches.clone(),
                lose_card_answers: self.discord_lost_cards.clone(),
                backdate: self.discord_backdate.clone(),
            })
            .mount(&self.discord)
            .await;
    }

    /// The next `times` card posts to `channel` get a 429 with `retry_after` seconds.
    pub async fn discord_rate_limits(&self, channel: &str, times: u64, retry_after: f64) {
        Mock::given(method("POST"))
            .and(path(format!("/api/v10/channels/{channel}/messages")))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("X-RateLimit-Limit", "5")
                    .insert_header("X-RateLimit-Remaining", "0")
                    .insert_header("X-RateLimit-Reset-After", format!("{retry_after}").as_str())
                    .insert_header("X-RateLimit-Bucket", "abcd1234")
                    .insert_header("X-RateLimit-Scope", "user")
                    .insert_header("Retry-After", format!("{}", retry_after.ceil()).as_str())
                    .set_body_json(json!({"message": "You are being rate limited.",
                        "retry_after": retry_after, "global": false})),
            )
            .up_to_n_times(times)
            .with_priority(1)
            .mount(&self.discord)
            .await;
    }

    /// Wait until the fake Discord has received a request on a path matching `pattern`.
    pub async fn wait_discord(&self, pattern: &str) {
        let re = regex::Regex::new(pattern).expect("regex");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let all = self.discord.received_requests().await.unwrap_or_default();
            if all.iter().any(|r| re.is_match(r.url.path())) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nothing reached {pattern} in 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Wait until the inbox holds `n` rows (the gateway commits asynchronously).
    pub async fn wait_inbox(&self, n: i64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.store.count_inbox().await.expect("count") < n {
            assert!(
                Instant::now() < deadline,
                "the inbox did not reach {n} rows"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Matches any path under the fake Discord (for `path_regex` users).
pub fn api(p: &str) -> impl wiremock::Match {
    path_regex(format!("^/api/v10{p}$"))
}

/// A fake Discord gateway on a local port.
pub struct FakeGateway {
    pub url: String,
    tx: mpsc::UnboundedSender<(String, Value)>,
    /// The Identify payload the client sent.
    pub identify: Arc<Mutex<Option<Value>>>,
}

impl FakeGateway {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("ws://{}", listener.local_addr().expect("addr"));
        let (tx, mut rx) = mpsc::unbounded_channel::<(String, Value)>();
        let identify = Arc::new(Mutex::new(None));
        let seen = identify.clone();
        tokio::spawn(async move {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            let hello = json!({"op": 10, "d": {"heartbeat_interval": 41250}, "s": null, "t": null});
            if ws.send(WsMessage::Text(hello.to_string())).await.is_err() {
                return;
            }
            // Identify (op 2); heartbeats before it are acknowledged.
            while let Some(Ok(msg)) = ws.next().await {
                let WsMessage::Text(t) = msg else { continue };
                let Ok(v) = serde_json::from_str::<Value>(&t) else {
                    continue;
                };
                match v["op"].as_u64() {
                    Some(2) => {
                        if let Ok(mut s) = seen.lock() {
                            *s = Some(v);
                        }
                        break;
                    }
                    Some(1) => {
                        let _ = ws
                            .send(WsMessage::Text(json!({"op": 11}).to_string()))
                            .await;
                    }
                    _ => {}
                }
            }
            let ready = json!({"op": 0, "s": 1, "t": "READY", "d": {
                "v": 10,
                "user": {"id": "1000000000000000999", "username": "Switchboard", "discriminator": "0",
                         "global_name": null, "avatar": null, "bot": true},
                "guilds": [{"id": GUILD, "unavailable": true}],
                "session_id": "fake-session",
                "resume_gateway_url": "ws://127.0.0.1:9",
                "shard": [0, 1],
                "application": {"id": APP_ID, "flags": 0}
            }});
            if ws.send(WsMessage::Text(ready.to_string())).await.is_err() {
                return;
            }
            let mut seq = 1;
            loop {
                tokio::select! {
                    ev = rx.recv() => {
                        let Some((t, d)) = ev else { break };
                        seq += 1;
                        let frame = json!({"op": 0, "s": seq, "t": t, "d": d});
                        if ws.send(WsMessage::Text(frame.to_string())).await.is_err() {
                            break;
                        }
                    }
                    msg = ws.next() => match msg {
                        Some(Ok(WsMessage::Text(t))) => {
                            if serde_json::from_str::<Value>(&t).ok().and_then(|v| v["op"].as_u64()) == Some(1) {
                                let _ = ws.send(WsMessage::Text(json!({"op": 11}).to_string())).await;
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    }
                }
            }
        });
        Self { url, tx, identify }
    }

    /// Send a dispatch (`t`, `d`) to the connected client.
    pub fn dispatch(&self, t: &str, d: Value) {
        let _ = self.tx.send((t.to_string(), d));
    }

    /// Wait until the client has identified; returns the Identify payload.
    pub async fn identified(&self) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(v) = self.identify.lock().ok().and_then(|v| v.clone()) {
                return v;
            }
            assert!(Instant::now() < deadline, "the bot never identified");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A guild member as Discord sends it in interactions and messages.
pub fn member(user: &str, roles: &[&str]) -> Value {
    json!({
        "user": {"id": user, "username": "mod", "discriminator": "0", "global_name": "Mo", "avatar": null},
        "roles": roles, "joined_at": "2017-03-13T19:19:14.040000+00:00", "deaf": false,
        "mute": false, "flags": 0, "pending": false, "nick": null, "avatar": null,
        "premium_since": null, "permissions": "2147483647"
    })
}

/// A MESSAGE_CREATE from `user` in `channel` (a card's thread).
pub fn message_create(id: &str, channel: &str, user: &str, roles: &[&str], content: &str) -> Value {
    json!({
        "id": id, "channel_id": channel, "guild_id": GUILD,
        "author": {"id": user, "username": "mod", "discriminator": "0", "global_name": "Mo", "avatar": null},
        "member": {"roles": roles, "joined_at": "2017-03-13T19:19:14.040000+00:00", "deaf": false,
                   "mute": false, "flags": 0, "nick": null, "avatar": null, "premium_since": null},
        "content": content, "timestamp": "2026-11-21T10:00:00.000000+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": [], "pinned": false, "type": 0, "flags": 0, "components": []
    })
}

/// An INTERACTION_CREATE for a button click on the card message `message` in `channel`.
pub fn button_interaction(
    id: &str,
    custom_id: &str,
    user: &str,
    roles: &[&str],
    channel: &str,
    message: &str,
) -> Value {
    json!({
        "id": id, "application_id": APP_ID, "type": 3, "token": format!("token-{id}"), "version": 1,
        "guild_id": GUILD, "channel_id": channel,
        "channel": {"id": channel, "type": 0, "guild_id": GUILD},
        "member": member(user, roles),
        "app_permissions": "2147483647", "locale": "en-US", "guild_locale": "en-US",
        "entitlements": [], "authorizing_integration_owners": {}, "context": 0,
        "attachment_size_limit": 10485760,
        "message": {
            "id": message, "channel_id": channel, "guild_id": GUILD,
            "author": {"id": "1000000000000000999", "username": "Switchboard", "discriminator": "0",
                       "global_name": null, "avatar": null, "bot": true},
            "content": "", "timestamp": "2026-11-21T10:00:00.000000+00:00", "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "pinned": false, "type": 0, "flags": 0, "components": []
        },
        "data": {"custom_id": custom_id, "component_type": 2}
    })
}
