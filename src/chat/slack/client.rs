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
    pub fn new(api_base_url: &str, bot_token: SecretString) -> anyhow::Result<Self> {
        // Only ring is in the graph; make it the process default (a no-op if already set).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .context("Cannot load the system's root CA certificates for Slack")?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let connector = SlackClientHyperConnector::from(https).with_slack_api_url(api_base_url);
        Ok(Self {
            client: slack_morphism::SlackClient::new(connector),
            token: bot_token,
        })
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
        let token = self.api_token();
        let req = SlackApiChatPostMessageRequest::new(channel_id(channel), content)
            .opt_thread_ts(thread_ts.map(slack_ts));
        let res = self
            .client
            .open_session(&token)
            .chat_post_message(&req)
            .await?;
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
        self.client.open_session(&token).chat_update(&req).await?;
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
        let res = self.client.open_session(&token).reactions_add(&req).await;
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
            .client
            .open_session(&token)
            .reactions_remove(&req)
            .await;
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
        self.client
            .open_session(&token)
            .chat_post_ephemeral(&req)
            .await?;
        Ok(())
    }
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
