//! Discord's REST API (v10), as Switchboard uses it: messages, threads, forum posts, reactions,
//! direct messages, interaction responses and slash-command registration. Plain `reqwest`
//! against a configurable base URL (Discord, a Discord-API proxy, or a test fake), paced by our
//! own [`RateLimiter`]: per-route buckets from the `X-RateLimit-*` headers, 429 `retry_after`,
//! and the global limit. Nothing here knows about tickets.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::ratelimit::{RateLimitHeaders, RateLimiter, parse_seconds};

/// The API version in every path.
pub const API_PREFIX: &str = "/api/v10";
/// Where Switchboard lives, for the User-Agent (`repository` in `Cargo.toml`).
pub const PROJECT_URL: &str = env!("CARGO_PKG_REPOSITORY");
/// Discord requires `User-Agent: DiscordBot ($url, $versionNumber)` on every REST call and
/// may block other agents (Cloudflare error 40333); discord-api-docs, Reference → User Agent.
pub const USER_AGENT: &str = concat!(
    "DiscordBot (https://github.com/switchboard-inbox/switchboard, ",
    env!("CARGO_PKG_VERSION"),
    ")"
);
/// A wait for a rate-limit bucket up to this long is slept through inside the call; a longer
/// one is returned as [`DiscordError::RateLimited`] so the outbox reschedules the job instead of
/// holding a worker.
pub const MAX_INLINE_WAIT: Duration = Duration::from_secs(2);
/// Threads started for tickets are archived by Discord after this many minutes without
/// activity (a new message unarchives them). One week, Discord's longest.
pub const THREAD_AUTO_ARCHIVE_MINUTES: u32 = 10080;
/// Discord's limit on a message nonce.
pub const MAX_NONCE_CHARS: usize = 25;
/// Discord's limit on thread names.
pub const MAX_THREAD_NAME_CHARS: usize = 100;
/// Messages per page of `GET /channels/{id}/messages` (Discord's maximum).
const LISTED_PER_PAGE: usize = 100;
/// Pages [`DiscordClient::messages_after`] reads at most: a look for our own recent message
/// after a lost answer, not a history export.
const MAX_LISTED_PAGES: usize = 5;
/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds: snowflakes count from it.
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// The smallest snowflake of a moment (its worker, process and increment bits zero), which
/// Discord's `before` / `after` pagination accepts in place of a message id.
pub fn snowflake_at(at: chrono::DateTime<chrono::Utc>) -> u64 {
    let ms = (at.timestamp_millis() - DISCORD_EPOCH_MS).max(0);
    (ms as u64) << 22
}

/// A message as `GET /channels/{id}/messages` lists it: what finding our own needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelMessage {
    pub id: String,
    /// The author's user id.
    pub author: String,
    pub content: String,
    /// The `custom_id`s of its buttons and selects (in action rows).
    pub custom_ids: Vec<String>,
}

/// The `custom_id`s of a message's components: action rows and what they hold.
fn custom_ids(message: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    let rows = message.get("components").and_then(Value::as_array);
    for row in rows.into_iter().flatten() {
        let inner = row.get("components").and_then(Value::as_array);
        for c in std::iter::once(row).chain(inner.into_iter().flatten()) {
            if let Some(id) = c.get("custom_id").and_then(Value::as_str) {
                ids.push(id.to_string());
            }
        }
    }
    ids
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DiscordError {
    /// 429, or a bucket that is empty for longer than [`MAX_INLINE_WAIT`].
    #[error("Discord rate limit (retry after {retry_after:?})")]
    RateLimited { retry_after: Duration },
    /// Network trouble or a 5xx: worth retrying.
    #[error("Discord: {0}")]
    Retryable(String),
    /// A 4xx other than 429: retrying will not help. `code` is Discord's JSON error code.
    #[error("Discord refused ({status}): {code} {message}")]
    Permanent {
        status: u16,
        code: i64,
        message: String,
    },
}

/// A Discord REST client. Cheap to share behind an `Arc`/reference.
pub struct DiscordClient {
    base: String,
    token: SecretString,
    http: reqwest::Client,
    limiter: Mutex<RateLimiter>,
    /// The bot's own user id, once asked.
    me: std::sync::OnceLock<String>,
}

/// Interaction callback types whose `data` is a message.
const CALLBACK_MESSAGE: u64 = 4;
const CALLBACK_UPDATE_MESSAGE: u64 = 7;

/// A message body that pings nobody it does not name: `allowed_mentions.parse` is emptied,
/// whatever the caller built (its explicit `users` and `roles` lists are kept). The renderer
/// already does this; the client makes it true of every message Switchboard sends.
fn no_pings(message: &mut Value) {
    let Some(body) = message.as_object_mut() else {
        return;
    };
    let mentions = body.entry("allowed_mentions").or_insert_with(|| json!({}));
    if !mentions.is_object() {
        *mentions = json!({});
    }
    mentions["parse"] = json!([]);
}

/// [`no_pings`] applied to a copy of `message`.
fn without_pings(message: &Value) -> Value {
    let mut message = message.clone();
    no_pings(&mut message);
    message
}

/// Percent-encodes an emoji (or `name:id`) for a reactions path.
fn encode_emoji(emoji: &str) -> String {
    url::form_urlencoded::byte_serialize(emoji.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A thread name from a headline: Discord allows 1–100 characters.
pub fn thread_name(s: &str) -> String {
    let s = s.trim();
    let name: String = s.chars().take(MAX_THREAD_NAME_CHARS).collect();
    if name.is_empty() {
        "ticket".into()
    } else {
        name
    }
}

impl DiscordClient {
    /// `base`: e.g. `https://discord.com` (`/api/v10` is appended).
    pub fn new(base: &str, token: SecretString, http: reqwest::Client) -> anyhow::Result<Self> {
        let u = url::Url::parse(base)?;
        anyhow::ensure!(
            matches!(u.scheme(), "http" | "https"),
            "not an http(s) URL: {base}"
        );
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            token,
            http,
            limiter: Mutex::new(RateLimiter::new()),
            me: std::sync::OnceLock::new(),
        })
    }

    /// Wait for the route's bucket (briefly) or say how long it is empty. Interaction
    /// answers (`auth` false) are exempt from the global limit.
    async fn pace(&self, route: &str, exempt: bool) -> Result<(), DiscordError> {
        loop {
            let wait = {
                let mut l = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
                if exempt {
                    l.before_exempt(route, Instant::now())
                } else {
                    l.before(route, Instant::now())
                }
            };
            match wait {
                None => return Ok(()),
                Some(d) if d <= MAX_INLINE_WAIT => tokio::time::sleep(d).await,
                Some(d) => return Err(DiscordError::RateLimited { retry_after: d }),
            }
        }
    }

    /// One paced request. `route` is the limiter's key (major ids kept, others as `{id}`).
    async fn call(
        &self,
        method: Method,
        route: &str,
        path: &str,
        body: Option<&Value>,
        auth: bool,
    ) -> Result<Option<Value>, DiscordError> {
        // Interaction callbacks and follow-ups are the unauthenticated calls.
        self.pace(route, !auth).await?;
        let mut req = self
            .http
            .request(method, format!("{}{API_PREFIX}{path}", self.base))
            .header(reqwest::header::USER_AGENT, USER_AGENT);
        if auth {
            req = req.header(
                "Authorization",
                format!("Bot {}", self.token.expose_secret()),
            );
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        self.respond(route, req).await
    }

    /// Send a built request and classify its answer (rate limits, retryable, permanent).
    async fn respond(
        &self,
        route: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<Option<Value>, DiscordError> {
        // Errors without the URL: interaction callbacks and follow-ups carry their token in it.
        let resp = req
            .send()
            .await
            .map_err(|e| DiscordError::Retryable(e.without_url().to_string()))?;
        let status = resp.status();
        let headers =
            RateLimitHeaders::from_lookup(|n| resp.headers().get(n).and_then(|v| v.to_str().ok()));
        let retry_header = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_seconds);
        let text = resp
            .text()
            .await
            .map_err(|e| DiscordError::Retryable(e.without_url().to_string()))?;
        let json: Option<Value> = serde_json::from_str(&text).ok();
        let now = Instant::now();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let body_after = json
                .as_ref()
                .and_then(|j| j.get("retry_after"))
                .and_then(Value::as_f64)
                .and_then(|s| Duration::try_from_secs_f64(s).ok());
            let retry_after = body_after
                .or(retry_header)
                .unwrap_or(Duration::from_secs(1));
            let global = headers.global
                || json
                    .as_ref()
                    .and_then(|j| j.get("global"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
            let mut l = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
            l.after(route, &headers, now);
            l.on_429(route, retry_after, global, now);
            return Err(DiscordError::RateLimited { retry_after });
        }
        {
            let mut l = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
            l.after(route, &headers, now);
        }
        if status.is_server_error() {
            return Err(DiscordError::Retryable(format!("HTTP {status}")));
        }
        if !status.is_success() {
            let j = json.unwrap_or(Value::Null);
            return Err(DiscordError::Permanent {
                status: status.as_u16(),
                code: j.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: j
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or(&text)
                    .chars()
                    .take(300)
                    .collect(),
            });
        }
        Ok(json)
    }

    fn id_of(v: Option<Value>) -> Result<String, DiscordError> {
        v.as_ref()
            .and_then(|v| v.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| DiscordError::Retryable("response without an id".into()))
    }

    /// `POST /channels/{channel}/messages`; returns the message id.
    pub async fn create_message(
        &self,
        channel: &str,
        body: &Value,
    ) -> Result<String, DiscordError> {
        let route = format!("POST /channels/{channel}/messages");
        let path = format!("/channels/{channel}/messages");
        let body = without_pings(body);
        Self::id_of(
            self.call(Method::POST, &route, &path, Some(&body), true)
                .await?,
        )
    }

    /// [`create_message`](Self::create_message) that cannot double: with `enforce_nonce`,
    /// Discord answers a repeated `nonce` (from the same bot, within minutes) with the message
    /// it already created, so a retry after a lost response posts nothing new.
    pub async fn create_message_once(
        &self,
        channel: &str,
        body: &Value,
        nonce: &str,
    ) -> Result<String, DiscordError> {
        let mut body = body.clone();
        body["nonce"] = nonce
            .chars()
            .take(MAX_NONCE_CHARS)
            .collect::<String>()
            .into();
        body["enforce_nonce"] = true.into();
        self.create_message(channel, &body).await
    }

    /// `POST /channels/{channel}/messages` with one attached file (`multipart/form-data`:
    /// the message as `payload_json`, the file as `files[0]`); returns the message id.
    pub async fn create_message_with_file(
        &self,
        channel: &str,
        body: &Value,
        filename: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<String, DiscordError> {
        let route = format!("POST /channels/{channel}/messages");
        self.pace(&route, false).await?;
        let mut body = without_pings(body);
        body["attachments"] = serde_json::json!([{"id": 0, "filename": filename}]);
        let file = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_string())
            .mime_str(content_type)
            .map_err(|e| DiscordError::Retryable(e.to_string()))?;
        let form = reqwest::multipart::Form::new()
            .text("payload_json", body.to_string())
            .part("files[0]", file);
        let req = self
            .http
            .post(format!(
                "{}{API_PREFIX}/channels/{channel}/messages",
                self.base
            ))
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .header(
                "Authorization",
                format!("Bot {}", self.token.expose_secret()),
            )
            .multipart(form);
        Self::id_of(self.respond(&route, req).await?)
    }

    /// `PATCH /channels/{channel}/messages/{message}`.
    pub async fn edit_message(
        &self,
        channel: &str,
        message: &str,
        body: &Value,
    ) -> Result<(), DiscordError> {
        let route = format!("PATCH /channels/{channel}/messages/{{id}}");
        let path = format!("/channels/{channel}/messages/{message}");
        let body = without_pings(body);
        self.call(Method::PATCH, &route, &path, Some(&body), true)
            .await
            .map(drop)
    }

    /// `POST /channels/{channel}/messages/{message}/threads`: a public thread started from a
    /// message. Its id is the message's id.
    pub async fn start_thread(
        &self,
        channel: &str,
        message: &str,
        name: &str,
    ) -> Result<String, DiscordError> {
        let route = format!("POST /channels/{channel}/messages/{{id}}/threads");
        let path = format!("/channels/{channel}/messages/{message}/threads");
        let body = json!({
            "name": thread_name(name),
            "auto_archive_duration": THREAD_AUTO_ARCHIVE_MINUTES,
        });
        Self::id_of(
            self.call(Method::POST, &route, &path, Some(&body), true)
                .await?,
        )
    }

    /// `POST /channels/{forum}/threads`: a forum post whose starter message is `message`.
    /// Returns the thread id (also the starter message's id). Forum posts take no `nonce`
    /// (only Create Message does), so a retry after a lost answer can double the post: the
    /// caller looks it up first (see [`active_threads`](Self::active_threads)).
    pub async fn start_forum_post(
        &self,
        forum: &str,
        name: &str,
        message: &Value,
        applied_tags: &[&str],
    ) -> Result<String, DiscordError> {
        let route = format!("POST /channels/{forum}/threads");
        let path = format!("/channels/{forum}/threads");
        let body = json!({
            "name": thread_name(name),
            "auto_archive_duration": THREAD_AUTO_ARCHIVE_MINUTES,
            "message": without_pings(message),
            "applied_tags": applied_tags,
        });
        Self::id_of(
            self.call(Method::POST, &route, &path, Some(&body), true)
                .await?,
        )
    }

    /// `GET /guilds/{guild}/threads/active`: the server's active (not archived) threads,
    /// public and private, as channel objects (`id`, `parent_id`, `name`, …).
    pub async fn active_threads(&self, guild: &str) -> Result<Vec<Value>, DiscordError> {
        let route = format!("GET /guilds/{guild}/threads/active");
        let path = format!("/guilds/{guild}/threads/active");
        let body = self.call(Method::GET, &route, &path, None, true).await?;
        Ok(body
            .and_then(|mut b| b.get_mut("threads").map(Value::take))
            .and_then(|t| match t {
                Value::Array(threads) => Some(threads),
                _ => None,
            })
            .unwrap_or_default())
    }

    /// `PATCH /channels/{thread}` with the forum tags to show; also unarchives the post
    /// (Discord archives an idle thread, and an archived one refuses edits).
    pub async fn set_thread_tags(&self, thread: &str, tags: &[&str]) -> Result<(), DiscordError> {
        let route = format!("PATCH /channels/{thread}");
        let path = format!("/channels/{thread}");
        let body = json!({ "archived": false, "applied_tags": tags });
        self.call(Method::PATCH, &route, &path, Some(&body), true)
            .await
            .map(drop)
    }

    /// `PATCH /channels/{thread}` `{"archived": false}`: an archived thread refuses edits and
    /// reactions until it is unarchived.
    pub async fn unarchive(&self, thread: &str) -> Result<(), DiscordError> {
        let route = format!("PATCH /channels/{thread}");
        let path = format!("/channels/{thread}");
        let body = json!({ "archived": false });
        self.call(Method::PATCH, &route, &path, Some(&body), true)
            .await
            .map(drop)
    }

    /// `PUT /channels/{channel}/messages/{message}/reactions/{emoji}/@me`.
    pub async fn add_reaction(
        &self,
        channel: &str,
        message: &str,
        emoji: &str,
    ) -> Result<(), DiscordError> {
        let route = format!("PUT /channels/{channel}/messages/{{id}}/reactions");
        let path = format!(
            "/channels/{channel}/messages/{message}/reactions/{}/@me",
            encode_emoji(emoji)
        );
        self.call(Method::PUT, &route, &path, None, true)
            .await
            .map(drop)
    }

    /// `DELETE /channels/{channel}/messages/{message}/reactions/{emoji}/@me`; removing a
    /// reaction that is not there succeeds.
    pub async fn remove_reaction(
        &self,
        channel: &str,
        message: &str,
        emoji: &str,
    ) -> Result<(), DiscordError> {
        let route = format!("DELETE /channels/{channel}/messages/{{id}}/reactions");
        let path = format!(
            "/channels/{channel}/messages/{message}/reactions/{}/@me",
            encode_emoji(emoji)
        );
        match self.call(Method::DELETE, &route, &path, None, true).await {
            Err(DiscordError::Permanent { status: 404, .. }) => Ok(()),
            other => other.map(drop),
        }
    }

    /// `POST /users/@me/channels`: the DM channel with a user.
    pub async fn dm_channel(&self, user: &str) -> Result<String, DiscordError> {
        let body = json!({ "recipient_id": user });
        Self::id_of(
            self.call(
                Method::POST,
                "POST /users/@me/channels",
                "/users/@me/channels",
                Some(&body),
                true,
            )
            .await?,
        )
    }

    /// `GET /users/@me`: the bot's own user id (asked once, then remembered).
    pub async fn own_user_id(&self) -> Result<String, DiscordError> {
        if let Some(me) = self.me.get() {
            return Ok(me.clone());
        }
        let me = Self::id_of(
            self.call(Method::GET, "GET /users/@me", "/users/@me", None, true)
                .await?,
        )?;
        Ok(self.me.get_or_init(|| me).clone())
    }

    /// `GET /channels/{channel}/messages?after=…&limit=100`, a few pages: the messages posted
    /// in `channel` after the snowflake `after` (a message's id, or [`snowflake_at`] a time,
    /// as Discord's pagination allows), oldest first, at most [`MAX_LISTED_PAGES`] pages.
    pub async fn messages_after(
        &self,
        channel: &str,
        after: u64,
    ) -> Result<Vec<ChannelMessage>, DiscordError> {
        let route = format!("GET /channels/{channel}/messages");
        let mut after = after;
        let mut found: Vec<(u64, ChannelMessage)> = Vec::new();
        for _ in 0..MAX_LISTED_PAGES {
            let path =
                format!("/channels/{channel}/messages?after={after}&limit={LISTED_PER_PAGE}");
            let Some(Value::Array(page)) =
                self.call(Method::GET, &route, &path, None, true).await?
            else {
                return Err(DiscordError::Retryable(
                    "a message list that is not a list".into(),
                ));
            };
            let full = page.len() >= LISTED_PER_PAGE;
            // A page is the oldest messages after the mark, newest first: the next page
            // starts after its newest.
            let mut newest = after;
            for m in &page {
                let Some(id) = m.get("id").and_then(Value::as_str) else {
                    continue;
                };
                let Ok(n) = id.parse::<u64>() else {
                    continue;
                };
                newest = newest.max(n);
                found.push((
                    n,
                    ChannelMessage {
                        id: id.to_string(),
                        author: m
                            .pointer("/author/id")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        content: m
                            .get("content")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        custom_ids: custom_ids(m),
                    },
                ));
            }
            if !full || newest == after {
                break;
            }
            after = newest;
        }
        found.sort_by_key(|(n, _)| *n);
        found.dedup_by_key(|(n, _)| *n);
        Ok(found.into_iter().map(|(_, m)| m).collect())
    }

    /// `GET /guilds/{guild}/roles`: the server's roles (id, `mentionable`, `permissions`).
    pub async fn guild_roles(&self, guild: &str) -> Result<Value, DiscordError> {
        let route = format!("GET /guilds/{guild}/roles");
        let path = format!("/guilds/{guild}/roles");
        Ok(self
            .call(Method::GET, &route, &path, None, true)
            .await?
            .unwrap_or(Value::Null))
    }

    /// `GET /guilds/{guild}/members/{user}`: a member, with the role ids they have.
    pub async fn guild_member(&self, guild: &str, user: &str) -> Result<Value, DiscordError> {
        let route = format!("GET /guilds/{guild}/members/{{id}}");
        let path = format!("/guilds/{guild}/members/{user}");
        Ok(self
            .call(Method::GET, &route, &path, None, true)
            .await?
            .unwrap_or(Value::Null))
    }

    /// `POST /interactions/{id}/{token}/callback`: the answer to an interaction received over
    /// the gateway (due within 3 seconds, so a short rate-limit wait is slept through once).
    pub async fn interaction_callback(
        &self,
        interaction_id: &str,
        token: &str,
        body: &Value,
    ) -> Result<(), DiscordError> {
        // One key for every callback: ids are unique per interaction and must not pile up.
        let route = "POST /interactions/callback";
        let path = format!("/interactions/{interaction_id}/{token}/callback");
        let mut body = body.clone();
        if matches!(
            body["type"].as_u64(),
            Some(CALLBACK_MESSAGE | CALLBACK_UPDATE_MESSAGE)
        ) && let Some(data) = body.get_mut("data")
        {
            no_pings(data);
        }
        let body = &body;
        match self
            .call(Method::POST, route, &path, Some(body), false)
            .await
        {
            Err(DiscordError::RateLimited { retry_after }) if retry_after <= MAX_INLINE_WAIT => {
                tokio::time::sleep(retry_after).await;
                self.call(Method::POST, route, &path, Some(body), false)
                    .await
                    .map(drop)
            }
            other => other.map(drop),
        }
    }

    /// `POST /webhooks/{application}/{token}`: a follow-up message to an interaction (valid
    /// 15 minutes), e.g. the result of a bulk action.
    pub async fn followup(
        &self,
        application: &str,
        token: &str,
        body: &Value,
    ) -> Result<(), DiscordError> {
        let route = format!("POST /webhooks/{application}/followup");
        let path = format!("/webhooks/{application}/{token}");
        let body = without_pings(body);
        self.call(Method::POST, &route, &path, Some(&body), false)
            .await
            .map(drop)
    }

    /// `PUT /applications/{app}/guilds/{guild}/commands` (or `/applications/{app}/commands`
    /// without a guild): replaces the application's commands with `commands`.
    pub async fn register_commands(
        &self,
        application: &str,
        guild: Option<&str>,
        commands: &Value,
    ) -> Result<(), DiscordError> {
        let path = match guild {
            Some(g) => format!("/applications/{application}/guilds/{g}/commands"),
            None => format!("/applications/{application}/commands"),
        };
        let route = format!("PUT {path}");
        self.call(Method::PUT, &route, &path, Some(commands), true)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_agent_names_the_project_and_version() {
        assert_eq!(
            USER_AGENT,
            format!("DiscordBot ({PROJECT_URL}, {})", env!("CARGO_PKG_VERSION"))
        );
    }

    /// Discord's own example: snowflake 175928847299117063 was made at
    /// 2016-04-30T11:18:25.796Z (its timestamp bits are 41944705796).
    #[test]
    fn a_moment_becomes_the_smallest_snowflake_of_its_millisecond() {
        let at = chrono::DateTime::parse_from_rfc3339("2016-04-30T11:18:25.796Z")
            .expect("time")
            .to_utc();
        assert_eq!(snowflake_at(at), 175_928_847_298_985_984);
        assert_eq!(snowflake_at(at) >> 22, 175_928_847_299_117_063 >> 22);
        assert!(snowflake_at(at) <= 175_928_847_299_117_063);
        assert_eq!(
            snowflake_at(at + chrono::Duration::milliseconds(1)) - snowflake_at(at),
            1 << 22
        );
    }

    #[test]
    fn every_message_pings_only_whom_it_names() {
        assert_eq!(
            without_pings(&json!({"content": "@everyone"})),
            json!({"content": "@everyone", "allowed_mentions": {"parse": []}})
        );
        assert_eq!(
            without_pings(
                &json!({"allowed_mentions": {"parse": ["everyone", "users"], "roles": ["7"]}})
            ),
            json!({"allowed_mentions": {"parse": [], "roles": ["7"]}})
        );
        assert_eq!(
            without_pings(&json!({"allowed_mentions": null})),
            json!({"allowed_mentions": {"parse": []}})
        );
    }

    #[test]
    fn emoji_and_thread_names_are_made_safe() {
        assert_eq!(encode_emoji("✅"), "%E2%9C%85");
        assert_eq!(encode_emoji("name:123"), "name%3A123");
        assert_eq!(thread_name("  "), "ticket");
        assert_eq!(thread_name(&"x".repeat(150)).chars().count(), 100);
    }
}
