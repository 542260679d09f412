//! The Slack Web API client (slack-morphism over a hyper-rustls connector).
//!
//! slack-morphism's own rate control is left off: the outbox owns retries, so every call makes
//! exactly one HTTP request and failures are classified for it ([`SlackCallError`]).

use std::fmt;
use std::time::Duration;

use anyhow::Context as _;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

type Connector = SlackClientHyperConnector<HttpsConnector<HttpConnector>>;

/// How a Slack call failed, as the outbox needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackCallError {
    /// HTTP 429: wait (`Retry-After` when Slack sent it) and try again.
    #[error("rate limited by Slack (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },
    /// A transient failure (5xx, connection error, Slack's own internal errors): try again.
    #[error("transient Slack failure: {0}")]
    Retryable(String),
    /// Slack refused the call (`channel_not_found`, `invalid_auth`, …): retrying will not help.
    #[error("Slack refused the call: {code}")]
    Permanent { code: String },
}

/// Slack error codes that mean "try again later".
const RETRYABLE_CODES: [&str; 4] = [
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

impl From<SlackClientError> for SlackCallError {
    fn from(err: SlackClientError) -> Self {
        match err {
            SlackClientError::RateLimitError(e) => SlackCallError::RateLimited {
                retry_after: e.retry_after,
            },
            SlackClientError::ApiError(e) if e.code == "ratelimited" => {
                SlackCallError::RateLimited { retry_after: None }
            }
            SlackClientError::ApiError(e) if RETRYABLE_CODES.contains(&e.code.as_str()) => {
                SlackCallError::Retryable(e.code)
            }
            SlackClientError::ApiError(e) => SlackCallError::Permanent { code: e.code },
            SlackClientError::HttpError(e)
                if e.status_code.is_server_error() || e.status_code.as_u16() == 408 =>
            {
                SlackCallError::Retryable(format!("HTTP {}", e.status_code))
            }
            SlackClientError::HttpError(e) => SlackCallError::Permanent {
                code: format!("http_{}", e.status_code.as_u16()),
            },
            // A 2xx whose body does not match what we expect: the call may well have taken
            // effect, so retrying could post twice.
            SlackClientError::ProtocolError(e) => SlackCallError::Permanent {
                code: format!("invalid_response: {}", e.json_error),
            },
            other @ (SlackClientError::HttpProtocolError(_)
            | SlackClientError::EndOfStream(_)
            | SlackClientError::SystemError(_)
            | SlackClientError::SocketModeProtocolError(_)) => {
                SlackCallError::Retryable(other.to_string())
            }
        }
    }
}

pub struct SlackClient {
    client: slack_morphism::SlackClient<Connector>,
    token: SecretString,
    /// For `response_url`s (plain HTTPS posts, no token).
    http: reqwest::Client,
    /// Whole-call deadline of every Web API call.
    timeout: Duration,
}

impl fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackClient")
            .field("token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl SlackClient {
    /// `api_base_url` is `https://slack.com/api` in production, a local fake in tests (plain
    /// http is allowed for that).
    /// With the default deadlines (`config::HttpConfig::default`).
    pub fn new(api_base_url: &str, bot_token: SecretString) -> anyhow::Result<Self> {
        Self::with_timeouts(
            api_base_url,
            bot_token,
            &crate::config::HttpConfig::default(),
        )
    }

    /// Every call is bounded by `http.timeout_secs` (a call accepted but never answered is
    /// a retryable failure) and its connection by `http.connect_timeout_secs`.
    pub fn with_timeouts(
        api_base_url: &str,
        bot_token: SecretString,
        deadlines: &crate::config::HttpConfig,
    ) -> anyhow::Result<Self> {
        // Only ring is in the graph; make it the process default (a no-op if already set).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(deadlines.connect_timeout()));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .context("Cannot load the system's root CA certificates for Slack")?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let connector = SlackClientHyperConnector::from(https).with_slack_api_url(api_base_url);
        let http = reqwest::Client::builder()
            .timeout(deadlines.timeout())
            .connect_timeout(deadlines.connect_timeout())
            .build()
            .context("Cannot build the HTTP client for Slack response URLs")?;
        Ok(Self {
            client: slack_morphism::SlackClient::new(connector),
            token: bot_token,
            http,
            timeout: deadlines.timeout(),
        })
    }

    /// Bounds one Web API call by the whole-call deadline.
    async fn timed<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, SlackClientError>>,
    ) -> Result<Result<T, SlackClientError>, SlackCallError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| SlackCallError::Retryable(format!("no answer within {:?}", self.timeout)))
    }

    fn api_token(&self) -> SlackApiToken {
        SlackApiToken::new(SlackApiTokenValue::new(
            self.token.expose_secret().to_string(),
        ))
    }

    /// Posts a message (in a thread when `thread_ts` is set) and returns its `ts`.
    pub async fn post_message(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        content: SlackMessageContent,
    ) -> Result<String, SlackCallError> {
        let req = SlackApiChatPostMessageRequest::new(channel_id(channel), content)
            .opt_thread_ts(thread_ts.map(slack_ts));
        self.send_post(req).await
    }

    /// Share a file in `channel` the current way: `files.getUploadURLExternal` for an upload
    /// URL, the bytes POSTed to it (no token: the URL is pre-signed), then
    /// `files.completeUploadExternal` with the channel and `comment` as the message text.
    /// Returns the file id.
    pub async fn upload_file(
        &self,
        channel: &str,
        filename: &str,
        title: &str,
        bytes: Vec<u8>,
        comment: &str,
    ) -> Result<String, SlackCallError> {
        let token = self.api_token();
        let session = self.client.open_session(&token);
        let url =
            self.timed(session.get_upload_url_external(
                &SlackApiFilesGetUploadUrlExternalRequest::new(filename.to_string(), bytes.len()),
            ))
            .await??;
        let res = self
            .http
            .post(url.upload_url.value().clone())
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes)
            .send()
            .await
            // Without the URL: it grants the upload.
            .map_err(|e| SlackCallError::Retryable(format!("upload: {}", e.without_url())))?;
        let status = res.status();
        if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
            return Err(SlackCallError::Retryable(format!("upload: HTTP {status}")));
        }
        if !status.is_success() {
            return Err(SlackCallError::Permanent {
                code: format!("upload_http_{}", status.as_u16()),
            });
        }
        let complete = SlackApiFilesCompleteUploadExternalRequest::new(vec![
            SlackApiFilesComplete::new(url.file_id.clone()).with_title(title.to_string()),
        ])
        .with_channel_id(channel_id(channel))
        .with_initial_comment(comment.to_string());
        self.timed(session.files_complete_upload_external(&complete))
            .await??;
        Ok(url.file_id.0)
    }

    async fn send_post(
        &self,
        req: SlackApiChatPostMessageRequest,
    ) -> Result<String, SlackCallError> {
        let token = self.api_token();
        let res = self
            .timed(self.client.open_session(&token).chat_post_message(&req))
            .await??;
        Ok(res.ts.0)
    }

    pub async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        content: SlackMessageContent,
    ) -> Result<(), SlackCallError> {
        let token = self.api_token();
        let req = SlackApiChatUpdateRequest::new(channel_id(channel), content, slack_ts(ts));
        self.timed(self.client.open_session(&token).chat_update(&req))
            .await??;
        Ok(())
    }

    /// Adds a reaction; one that is already there counts as success.
    pub async fn add_reaction(
        &self,
        channel: &str,
        ts: &str,
        name: &str,
    ) -> Result<(), SlackCallError> {
        let token = self.api_token();
        let req = SlackApiReactionsAddRequest::new(
            channel_id(channel),
            SlackReactionName::new(name.to_string()),
            slack_ts(ts),
        );
        let res = self
            .timed(self.client.open_session(&token).reactions_add(&req))
            .await?;
        ok_unless(res.map(drop), "already_reacted")
    }

    /// Removes a reaction; one that is not there counts as success.
    pub async fn remove_reaction(
        &self,
        channel: &str,
        ts: &str,
        name: &str,
    ) -> Result<(), SlackCallError> {
        let token = self.api_token();
        let req = SlackApiReactionsRemoveRequest::new(SlackReactionName::new(name.to_string()))
            .with_channel(channel_id(channel))
            .with_timestamp(slack_ts(ts));
        let res = self
            .timed(self.client.open_session(&token).reactions_remove(&req))
            .await?;
        ok_unless(res.map(drop), "no_reaction")
    }

    /// A message only `user` sees, in `channel`.
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        text: &str,
    ) -> Result<(), SlackCallError> {
        let token = self.api_token();
        let req = SlackApiChatPostEphemeralRequest::new(
            channel_id(channel),
            SlackUserId::new(user.to_string()),
            SlackMessageContent::new().with_text(text.to_string()),
        );
        self.timed(self.client.open_session(&token).chat_post_ephemeral(&req))
            .await??;
        Ok(())
    }

    /// Like [`Self::post_message`] in a thread, with "Also send to channel" set
    /// (`reply_broadcast`).
    pub async fn post_message_broadcast(
        &self,
        channel: &str,
        thread_ts: &str,
        content: SlackMessageContent,
    ) -> Result<String, SlackCallError> {
        let req = SlackApiChatPostMessageRequest::new(channel_id(channel), content)
            .with_thread_ts(slack_ts(thread_ts))
            .with_reply_broadcast(true);
        self.send_post(req).await
    }

    /// Opens a modal (`views.open`) for the click or command that gave `trigger_id` (valid for
    /// about 3 s, once) and returns the view's id.
    pub async fn open_view(
        &self,
        trigger_id: &str,
        view: SlackView,
    ) -> Result<String, SlackCallError> {
        let token = self.api_token();
        let req = SlackApiViewsOpenRequest::new(SlackTriggerId::new(trigger_id.to_string()), view);
        let res = self
            .timed(self.client.open_session(&token).views_open(&req))
            .await??;
        Ok(res.view.state_params.id.0)
    }

    /// Replaces an open modal's content (`views.update`).
    pub async fn update_view(&self, view_id: &str, view: SlackView) -> Result<(), SlackCallError> {
        let token = self.api_token();
        let req = SlackApiViewsUpdateRequest::new(view)
            .with_view_id(SlackViewId::new(view_id.to_string()));
        self.timed(self.client.open_session(&token).views_update(&req))
            .await??;
        Ok(())
    }

    /// The card this bot already posted for `ticket` in `channel` since `oldest`, if any: its
    /// `ts`. Cards carry message metadata (`render::CARD_EVENT`, the ticket number), so a card
    /// post retried after an unanswered attempt can find what that attempt created
    /// (`conversations.history` with `include_all_metadata`; one page, newest first).
    pub async fn find_card(
        &self,
        channel: &str,
        ticket: i64,
        oldest: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, SlackCallError> {
        self.find_marked(channel, super::render::CARD_EVENT, "ticket", ticket, oldest)
            .await
    }

    /// The storm card this bot already posted for `storm` in `channel` since `oldest` (marked
    /// with `render::STORM_EVENT`), as [`Self::find_card`] finds a ticket's.
    pub async fn find_storm_card(
        &self,
        channel: &str,
        storm: i64,
        oldest: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, SlackCallError> {
        self.find_marked(channel, super::render::STORM_EVENT, "storm", storm, oldest)
            .await
    }

    /// A top-level message in `channel` since `oldest` whose metadata is `event_type` with
    /// `field` = `id` (one page of `conversations.history`, newest first).
    async fn find_marked(
        &self,
        channel: &str,
        event_type: &str,
        field: &str,
        id: i64,
        oldest: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, SlackCallError> {
        let params = vec![
            ("channel", Some(channel.to_string())),
            ("oldest", Some(slack_time(oldest))),
            ("limit", Some("200".to_string())),
            ("include_all_metadata", Some("true".to_string())),
        ];
        let page = self.raw_get("conversations.history", &params).await?;
        Ok(messages(&page)
            .find(|m| {
                let ts = m.get("ts").and_then(Value::as_str);
                let thread = m.get("thread_ts").and_then(Value::as_str);
                (thread.is_none() || thread == ts)
                    && marked(m, event_type, &[(field, id)]).is_some()
            })
            .and_then(|m| m.get("ts").and_then(Value::as_str))
            .map(str::to_string))
    }

    /// The storm thread batch already posted under `thread_ts` for `storm` whose lines start
    /// at `from` (marked with `render::STORM_BATCH_EVENT`), since `oldest`: the last line it
    /// shows, and its `ts`. `conversations.replies` with `include_all_metadata`, a few pages
    /// at most.
    pub async fn find_storm_batch(
        &self,
        channel: &str,
        thread_ts: &str,
        storm: i64,
        from: i64,
        oldest: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<(i64, String)>, SlackCallError> {
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_REPLY_PAGES {
            let params = vec![
                ("channel", Some(channel.to_string())),
                ("ts", Some(thread_ts.to_string())),
                ("oldest", Some(slack_time(oldest))),
                ("limit", Some("200".to_string())),
                ("include_all_metadata", Some("true".to_string())),
                ("cursor", cursor.clone()),
            ];
            let page = self.raw_get("conversations.replies", &params).await?;
            let found = messages(&page).find_map(|m| {
                let payload = marked(
                    m,
                    super::render::STORM_BATCH_EVENT,
                    &[("storm", storm), ("from", from)],
                )?;
                let ts = m.get("ts").and_then(Value::as_str)?;
                Some((number(payload.get("upto")?)?, ts.to_string()))
            });
            if found.is_some() {
                return Ok(found);
            }
            cursor = page
                .pointer("/response_metadata/next_cursor")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        Ok(None)
    }

    /// A Web API read answered as plain JSON: messages carry every app's metadata when asked
    /// for it, whose payloads need not fit a typed model (a number, an object), and must not
    /// make the lookup fail.
    async fn raw_get(
        &self,
        method: &str,
        params: &[(&str, Option<String>)],
    ) -> Result<Value, SlackCallError> {
        let token = self.api_token();
        let session = self.client.open_session(&token);
        let params = params.to_vec();
        Ok(self
            .timed(
                session
                    .http_session_api
                    .http_get::<Value, _, String>(method, &params, None),
            )
            .await??)
    }

    /// A message's permalink (`chat.getPermalink`).
    pub async fn permalink(&self, channel: &str, ts: &str) -> Result<String, SlackCallError> {
        let token = self.api_token();
        let req = SlackApiChatGetPermalinkRequest::new(channel_id(channel), slack_ts(ts));
        let res = self
            .timed(self.client.open_session(&token).chat_get_permalink(&req))
            .await??;
        Ok(res.permalink.to_string())
    }

    /// How a user is called (`users.info`): their display name, else their real name, else
    /// their user name, else the id itself.
    pub async fn user_name(&self, user_id: &str) -> Result<String, SlackCallError> {
        let token = self.api_token();
        let req = SlackApiUsersInfoRequest::new(SlackUserId::new(user_id.to_string()));
        let user = self
            .timed(self.client.open_session(&token).users_info(&req))
            .await??
            .user;
        let (display_name, real_name) = user
            .profile
            .map(|p| (p.display_name, p.real_name))
            .unwrap_or_default();
        Ok([display_name, real_name, user.real_name, user.name]
            .into_iter()
            .flatten()
            .map(|n| n.trim().to_string())
            .find(|n| !n.is_empty())
            .unwrap_or_else(|| user_id.to_string()))
    }

    /// The user ids in a user group (`usergroups.users.list`, needs `usergroups:read`).
    pub async fn usergroup_members(
        &self,
        usergroup_id: &str,
    ) -> Result<Vec<String>, SlackCallError> {
        let token = self.api_token();
        let req = SlackApiUserGroupsUsersListRequest::new(SlackUserGroupId::new(
            usergroup_id.to_string(),
        ));
        let res = self
            .timed(self.client.open_session(&token).usergroups_users_list(&req))
            .await??;
        Ok(res.users.into_iter().map(|u| u.0).collect())
    }

    /// Posts `body` (e.g. `render::saved_reply_search_results`) to a `response_url` from a
    /// verified interaction or slash command. No token is sent. Slack answers these with
    /// `ok`/`{"ok":true}`, or an error status or `{"ok":false,"error":…}`; classified like the
    /// Web API calls (an expired URL, 404, is permanent).
    pub async fn post_to_response_url(
        &self,
        url: &str,
        body: serde_json::Value,
    ) -> Result<(), SlackCallError> {
        let res = self.http.post(url).json(&body).send().await.map_err(|e| {
            if e.is_builder() {
                SlackCallError::Permanent {
                    code: "invalid_response_url".into(),
                }
            } else {
                // Without the URL: a response_url is a credential.
                SlackCallError::Retryable(format!("response_url: {}", e.without_url()))
            }
        })?;
        let status = res.status();
        if status.as_u16() == 429 {
            let retry_after = res
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(SlackCallError::RateLimited { retry_after });
        }
        let text = res.text().await.unwrap_or_default();
        let error_code = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .filter(|v| v.get("ok") == Some(&serde_json::Value::Bool(false)))
            .map(|v| {
                v.get("error")
                    .and_then(|e| e.as_str())
                    .unwrap_or("unknown_error")
                    .to_string()
            });
        if status.is_server_error() || status.as_u16() == 408 {
            return Err(SlackCallError::Retryable(format!("HTTP {status}")));
        }
        if !status.is_success() {
            // Slack's body names the problem in plain text (`expired_url`, `invalid_blocks`).
            let code = error_code.unwrap_or_else(|| {
                let t = text.trim();
                if !t.is_empty() && t.len() <= 64 && !t.contains(char::is_whitespace) {
                    t.to_string()
                } else {
                    format!("http_{}", status.as_u16())
                }
            });
            return Err(SlackCallError::Permanent { code });
        }
        match error_code {
            Some(code) if RETRYABLE_CODES.contains(&code.as_str()) => {
                Err(SlackCallError::Retryable(code))
            }
            Some(code) if code == "ratelimited" => {
                Err(SlackCallError::RateLimited { retry_after: None })
            }
            Some(code) => Err(SlackCallError::Permanent { code }),
            None => Ok(()),
        }
    }
}

/// How many pages of a thread [`SlackClient::find_storm_batch`] reads before giving up (and
/// posting): 1,000 replies since the job was queued.
const MAX_REPLY_PAGES: usize = 5;

/// The messages of a `conversations.history` / `conversations.replies` page.
fn messages(page: &Value) -> impl Iterator<Item = &Value> {
    page.get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A metadata value as a number: we write strings, Slack may hand numbers back.
fn number(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

/// `m`'s metadata payload if it is `event_type` and carries every `(field, value)`.
fn marked<'m>(m: &'m Value, event_type: &str, fields: &[(&str, i64)]) -> Option<&'m Value> {
    let md = m.get("metadata")?;
    let payload = md.get("event_payload")?;
    (md.get("event_type").and_then(Value::as_str) == Some(event_type)
        && fields
            .iter()
            .all(|(f, v)| payload.get(*f).and_then(number) == Some(*v)))
    .then_some(payload)
}

/// A Slack timestamp (`1700000000.000100`) for `oldest` / `latest` parameters.
fn slack_time(at: chrono::DateTime<chrono::Utc>) -> String {
    format!("{}.{:06}", at.timestamp(), at.timestamp_subsec_micros())
}

fn channel_id(channel: &str) -> SlackChannelId {
    SlackChannelId::new(channel.to_string())
}

fn slack_ts(ts: &str) -> SlackTs {
    SlackTs::new(ts.to_string())
}

/// Maps a result to `Ok` when Slack's error code is `benign`, and classifies other errors.
fn ok_unless(res: Result<(), SlackClientError>, benign: &str) -> Result<(), SlackCallError> {
    match res {
        Err(SlackClientError::ApiError(e)) if e.code == benign => Ok(()),
        other => other.map_err(SlackCallError::from),
    }
}
