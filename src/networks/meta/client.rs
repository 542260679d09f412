//! Graph API client for the Meta family: Facebook Page comments, Messenger and Instagram
//! messages, Instagram comment replies, WhatsApp Cloud API texts, and comment moderation.
//!
//! The client makes exactly one HTTP call per method and classifies failures for the outbox,
//! which owns retries. The access token never goes in the URL and is never logged:
//!
//! * form-encoded calls (comments, hide, like, block) carry it as the `access_token` form field,
//!   as the Graph API documents for POST parameters;
//! * calls with a JSON body (Send API, WhatsApp) or no body (`DELETE`) carry it as
//!   `Authorization: Bearer <token>`, the form the WhatsApp Cloud API documents and which the
//!   Graph API accepts on every endpoint (reqwest marks that header sensitive).

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::core::{FailureReason, Network, NetworkItemId};

/// Prefix of [`GraphError::Retryable::detail`] when the Graph API throttled us.
pub const RATE_LIMIT_HINT: &str = "rate limited: ";

/// Longest slice of an unexpected response body kept in an error message.
const MAX_BODY_IN_ERROR: usize = 300;

/// Echoed back in Messenger/Instagram `message_echoes` so our own sends can be recognised.
pub const MESSAGE_METADATA: &str = "switchboard";

/// A failed Graph API call, classified for the outbox.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Worth trying again later (network error, 5xx, transient or throttling Graph codes).
    /// `after` is the server's hint (`Retry-After`), if any. Throttling is marked by a `detail`
    /// starting with [`RATE_LIMIT_HINT`]; see [`GraphError::is_rate_limit`].
    #[error("Graph API call failed, retryable: {detail}")]
    Retryable {
        after: Option<Duration>,
        detail: String,
    },
    /// Retrying will not help.
    #[error("Graph API call failed permanently: {0:?}")]
    Permanent(FailureReason),
}

impl GraphError {
    /// Whether this is the Graph API throttling us (codes 4, 17, 32, 341, 613, 80001–80014,
    /// WhatsApp 130429 and 131056, or HTTP 429). When the outbox gives up on such an error it
    /// should record [`FailureReason::RateLimited`].
    pub fn is_rate_limit(&self) -> bool {
        matches!(self, GraphError::Retryable { detail, .. } if detail.starts_with(RATE_LIMIT_HINT))
    }

    /// The failure reason to record once the outbox stops retrying this error.
    pub fn failure_reason(&self) -> FailureReason {
        match self {
            GraphError::Permanent(reason) => reason.clone(),
            GraphError::Retryable { .. } if self.is_rate_limit() => FailureReason::RateLimited,
            GraphError::Retryable { detail, .. } => FailureReason::Other(detail.clone()),
        }
    }
}

/// How a Messenger / Instagram message is sent (`messaging_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageTag {
    /// `"messaging_type":"RESPONSE"`: inside the standard 24 h window.
    #[default]
    None,
    /// `"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT"`: a human answering up to 7 days
    /// after the customer's last message (needs the Human Agent permission).
    HumanAgent,
}

/// Whose Send API edge a Messenger or Instagram direct message goes through (always with the
/// Page token, on graph.facebook.com).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendAs<'a> {
    /// `POST /{page-id}/messages`: Messenger, as the Page.
    Page(&'a str),
    /// `POST /me/messages`: the Page the token belongs to. Instagram direct messages through
    /// Facebook Login go here (as the Page linked to the Instagram account, which our config
    /// does not name); `/{ig-account-id}/messages` exists only on graph.instagram.com with an
    /// Instagram-Login token and must not be used with a Page token.
    TokenPage,
}

impl SendAs<'_> {
    fn path_segment(&self) -> &str {
        match self {
            SendAs::Page(id) => id,
            SendAs::TokenPage => "me",
        }
    }
}

/// Who a WhatsApp message goes to. Since 2026 a customer who adopted a username may be known
/// only by a business-scoped user id (BSUID, `US.13491208655302741918`: a country code, a dot,
/// letters and digits); the Messages API takes it in `recipient`, a phone number in `to` (if
/// both are sent, `to` wins). [S: Meta's BSUID guide as mirrored by dualhook.com and
/// 8x8/Bird/ycloud partner docs; network-apis.md §10a.]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhatsappRecipient<'a> {
    /// A phone number / `wa_id` (digits, maybe a leading `+`): `"to"`.
    Phone(&'a str),
    /// A business-scoped user id (or parent BSUID): `"recipient"`.
    Bsuid(&'a str),
}

impl<'a> WhatsappRecipient<'a> {
    /// The customer id our webhooks store: the phone number when WhatsApp shares it, else
    /// the BSUID.
    pub fn of(customer_id: &'a str) -> Self {
        let digits = customer_id.strip_prefix('+').unwrap_or(customer_id);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            WhatsappRecipient::Phone(customer_id)
        } else {
            WhatsappRecipient::Bsuid(customer_id)
        }
    }
}

/// The base URL is not something Graph paths can be appended to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Graph API base URL {url:?}: {reason}")]
pub struct BaseUrlError {
    url: String,
    reason: String,
}

/// Body of one Graph call. The token is added by [`GraphClient::call`].
enum Body<'a> {
    /// Form-encoded; `access_token` is appended as a form field.
    Form(Vec<(&'static str, &'a str)>),
    /// JSON; the token goes in `Authorization: Bearer`.
    Json(serde_json::Value),
    /// No body; the token goes in `Authorization: Bearer`.
    Empty,
}

/// Replies and moderates on Facebook, Messenger, Instagram and WhatsApp through the Graph API.
///
/// Give it a `reqwest::Client` with a request timeout: the client adds none of its own.
#[derive(Debug, Clone)]
pub struct GraphClient {
    base_url: Url,
    http: reqwest::Client,
}

impl GraphClient {
    /// `base_url` is the versioned API root, e.g. [`super::DEFAULT_GRAPH_BASE_URL`] or a local
    /// fake's URL.
    pub fn new(base_url: &str, http: reqwest::Client) -> Result<Self, BaseUrlError> {
        let error = |reason: &str| BaseUrlError {
            url: base_url.to_owned(),
            reason: reason.to_owned(),
        };
        let url = Url::parse(base_url).map_err(|e| error(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(error("the scheme must be http or https"));
        }
        if url.cannot_be_a_base() || url.query().is_some() || url.fragment().is_some() {
            return Err(error(
                "expected a plain http(s) URL without query or fragment",
            ));
        }
        Ok(Self {
            base_url: url,
            http,
        })
    }

    /// Publicly comments under a Facebook object: a reply to a comment, or a comment on a
    /// (visitor) post — both are `POST /{object-id}/comments`. Returns the new comment id.
    pub async fn comment(
        &self,
        page_token: &SecretString,
        object_id: &NetworkItemId,
        text: &str,
    ) -> Result<NetworkItemId, GraphError> {
        let url = self.url(&[object_id.as_str(), "comments"])?;
        let body = self
            .call(
                Method::POST,
                url,
                "/{object-id}/comments",
                page_token,
                Body::Form(vec![("message", text)]),
            )
            .await?;
        created_id(&body)
    }

    /// Publicly replies to an Instagram comment: `POST /{ig-comment-id}/replies` with
    /// `message`. Returns the new comment id. (Instagram attaches replies to replies to the
    /// top-level comment, and refuses replies to hidden comments.)
    pub async fn reply_to_instagram_comment(
        &self,
        token: &SecretString,
        comment_id: &NetworkItemId,
        text: &str,
    ) -> Result<NetworkItemId, GraphError> {
        let url = self.url(&[comment_id.as_str(), "replies"])?;
        let body = self
            .call(
                Method::POST,
                url,
                "/{ig-comment-id}/replies",
                token,
                Body::Form(vec![("message", text)]),
            )
            .await?;
        created_id(&body)
    }

    /// Sends a Messenger or Instagram direct message through the Send API:
    /// `POST /{page-id}/messages` or `POST /me/messages` (see [`SendAs`]) with
    /// `{"recipient":{"id":…},"messaging_type":"RESPONSE","message":{"text":…,"metadata":"switchboard"}}`
    /// (with [`MessageTag::HumanAgent`]: `"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT"`).
    /// Returns the new `message_id` (`m_…`).
    pub async fn send_message(
        &self,
        token: &SecretString,
        send_as: SendAs<'_>,
        recipient: &str,
        text: &str,
        tag: MessageTag,
    ) -> Result<NetworkItemId, GraphError> {
        let url = self.url(&[send_as.path_segment(), "messages"])?;
        let mut payload = json!({
            "recipient": {"id": recipient},
            "messaging_type": "RESPONSE",
            "message": {"text": text, "metadata": MESSAGE_METADATA},
        });
        if tag == MessageTag::HumanAgent {
            payload["messaging_type"] = json!("MESSAGE_TAG");
            payload["tag"] = json!("HUMAN_AGENT");
        }
        let body = self
            .call(
                Method::POST,
                url,
                "/{page-id}/messages",
                token,
                Body::Json(payload),
            )
            .await?;
        match serde_json::from_slice::<MessageSent>(&body) {
            Ok(sent) if !sent.message_id.is_empty() => Ok(NetworkItemId::new(sent.message_id)),
            _ => Err(unexpected_success(&body)),
        }
    }

    /// Sends a WhatsApp text through the Cloud API: `POST /{phone-number-id}/messages` with
    /// `{"messaging_product":"whatsapp","recipient_type":"individual","to":…,"type":"text",
    /// "text":{"body":…,"preview_url":false}}` (a business-scoped user id goes in `recipient`
    /// instead of `to`, see [`WhatsappRecipient`]), plus `"context":{"message_id":<wamid>}` to
    /// quote the customer's message. Returns the new message's `wamid`.
    pub async fn send_whatsapp_text(
        &self,
        token: &SecretString,
        phone_number_id: &str,
        to: WhatsappRecipient<'_>,
        text: &str,
        context: Option<&str>,
    ) -> Result<NetworkItemId, GraphError> {
        let url = self.url(&[phone_number_id, "messages"])?;
        let mut payload = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "type": "text",
            "text": {"body": text, "preview_url": false},
        });
        match to {
            WhatsappRecipient::Phone(phone) => payload["to"] = json!(phone),
            WhatsappRecipient::Bsuid(id) => payload["recipient"] = json!(id),
        }
        if let Some(wamid) = context {
            payload["context"] = json!({"message_id": wamid});
        }
        let body = self
            .call(
                Method::POST,
                url,
                "/{phone-number-id}/messages",
                token,
                Body::Json(payload),
            )
            .await?;
        match serde_json::from_slice::<WhatsappSent>(&body) {
            Ok(sent) => match sent.messages.into_iter().next() {
                Some(first) if !first.id.is_empty() => Ok(NetworkItemId::new(first.id)),
                _ => Err(unexpected_success(&body)),
            },
            Err(_) => Err(unexpected_success(&body)),
        }
    }

    /// Hides or unhides a comment. Facebook: `POST /{comment-id}` with `is_hidden=true|false`;
    /// Instagram: `POST /{ig-comment-id}` with `hide=true|false`. Expects `{"success":true}`.
    /// WhatsApp has no comments: refused without a call.
    pub async fn set_hidden(
        &self,
        token: &SecretString,
        network: Network,
        item_id: &NetworkItemId,
        hidden: bool,
    ) -> Result<(), GraphError> {
        let field = match network {
            Network::Facebook => "is_hidden",
            Network::Instagram => "hide",
            Network::Whatsapp => {
                return Err(GraphError::Permanent(FailureReason::Other(
                    "WhatsApp messages cannot be hidden".into(),
                )));
            }
            Network::Youtube
            | Network::Google
            | Network::X
            | Network::Linkedin
            | Network::Tiktok => {
                return Err(GraphError::Permanent(FailureReason::Other(format!(
                    "{network} items are not moderated through the Graph API"
                ))));
            }
        };
        let url = self.url(&[item_id.as_str()])?;
        let value = if hidden { "true" } else { "false" };
        let body = self
            .call(
                Method::POST,
                url,
                "/{comment-id} (hide)",
                token,
                Body::Form(vec![(field, value)]),
            )
            .await?;
        expect_success(&body, None)
    }

    /// Deletes a comment (Facebook or Instagram): `DELETE /{id}`. Expects `{"success":true}`.
    pub async fn delete(
        &self,
        token: &SecretString,
        item_id: &NetworkItemId,
    ) -> Result<(), GraphError> {
        let url = self.url(&[item_id.as_str()])?;
        let body = self
            .call(Method::DELETE, url, "/{object-id}", token, Body::Empty)
            .await?;
        expect_success(&body, None)
    }

    /// Likes a post or comment as the Page: `POST /{object-id}/likes`. Expects
    /// `{"success":true}`. (Facebook only; publishing likes as a Page is marked unconfirmed in
    /// the reference, and Instagram has no like API.)
    pub async fn like(
        &self,
        token: &SecretString,
        item_id: &NetworkItemId,
    ) -> Result<(), GraphError> {
        let url = self.url(&[item_id.as_str(), "likes"])?;
        let body = self
            .call(
                Method::POST,
                url,
                "/{object-id}/likes",
                token,
                Body::Form(Vec::new()),
            )
            .await?;
        expect_success(&body, None)
    }

    /// Blocks a person from the Page: `POST /{page-id}/blocked` with `user=<id>`. Accepts
    /// `{"<user id>":true}` or `{"success":true}`.
    ///
    /// Unconfirmed: Meta documents reading this edge, not the POST parameters (`user`, `uid`,
    /// `psid` and `asid` are all mentioned by secondary sources). We send `user`, which takes a
    /// PSID or user id; check against the live API before relying on it.
    pub async fn block(
        &self,
        token: &SecretString,
        page_id: &str,
        user_id: &str,
    ) -> Result<(), GraphError> {
        let url = self.url(&[page_id, "blocked"])?;
        let body = self
            .call(
                Method::POST,
                url,
                "/{page-id}/blocked",
                token,
                Body::Form(vec![("user", user_id)]),
            )
            .await?;
        expect_success(&body, Some(user_id))
    }

    /// Makes one call and returns the body of a 2xx answer; any other answer is classified.
    async fn call(
        &self,
        method: Method,
        url: Url,
        route: &'static str,
        token: &SecretString,
        body: Body<'_>,
    ) -> Result<bytes::Bytes, GraphError> {
        tracing::debug!(%method, route, "Graph API call");
        let request = self.http.request(method, url);
        let request = match body {
            Body::Form(mut fields) => {
                fields.push(("access_token", token.expose_secret()));
                request.form(&fields)
            }
            Body::Json(value) => request.bearer_auth(token.expose_secret()).json(&value),
            Body::Empty => request.bearer_auth(token.expose_secret()),
        };
        let response = request.send().await.map_err(|e| GraphError::Retryable {
            after: None,
            detail: format!("request to the Graph API failed: {}", e.without_url()),
        })?;

        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = response.bytes().await.map_err(|e| GraphError::Retryable {
            after: None,
            detail: format!("reading the Graph API response failed: {}", e.without_url()),
        })?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(classify(status, retry_after, &body))
        }
    }

    /// `base_url` + the given path segments, each percent-encoded as one segment.
    fn url(&self, segments: &[&str]) -> Result<Url, GraphError> {
        if segments.iter().any(|s| s.is_empty()) {
            return Err(GraphError::Permanent(FailureReason::Other(
                "empty id in a Graph API path".into(),
            )));
        }
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| {
                GraphError::Permanent(FailureReason::Other(
                    "the Graph API base URL cannot take a path".into(),
                ))
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    #[cfg(test)]
    fn edge_url(&self, object_id: &NetworkItemId, edge: &str) -> Result<Url, GraphError> {
        self.url(&[object_id.as_str(), edge])
    }
}

/// A 2xx answer we cannot read. Not retryable: the message or action may well have happened,
/// and retrying could send it twice.
fn unexpected_success(body: &[u8]) -> GraphError {
    GraphError::Permanent(FailureReason::Other(format!(
        "unexpected Graph API response: {}",
        excerpt(body)
    )))
}

/// `{"id": …}` from a create call.
fn created_id(body: &[u8]) -> Result<NetworkItemId, GraphError> {
    match serde_json::from_slice::<CreatedId>(body) {
        Ok(created) if !created.id.is_empty() => Ok(NetworkItemId::new(created.id)),
        _ => Err(unexpected_success(body)),
    }
}

/// `{"success": true}`, or (when `key` is given) `{"<key>": true}`.
fn expect_success(body: &[u8], key: Option<&str>) -> Result<(), GraphError> {
    let value = serde_json::from_slice::<serde_json::Value>(body).ok();
    let ok = value.as_ref().is_some_and(|v| {
        v.get("success") == Some(&serde_json::Value::Bool(true))
            || key.is_some_and(|k| v.get(k) == Some(&serde_json::Value::Bool(true)))
    });
    if ok {
        Ok(())
    } else {
        Err(unexpected_success(body))
    }
}

#[derive(Debug, Deserialize)]
struct MessageSent {
    message_id: String,
}

#[derive(Debug, Deserialize)]
struct WhatsappSent {
    #[serde(default)]
    messages: Vec<CreatedId>,
}

#[derive(Debug, Deserialize)]
struct CreatedId {
    id: String,
}

/// `{"error": {...}}` as in the Graph API error-handling guide.
#[derive(Debug, Deserialize)]
struct GraphErrorBody {
    error: GraphErrorDetail,
}

#[derive(Debug, Deserialize)]
struct GraphErrorDetail {
    #[serde(default)]
    message: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    error_subcode: Option<i64>,
    #[serde(default)]
    is_transient: Option<bool>,
    #[serde(default)]
    fbtrace_id: Option<String>,
    /// WhatsApp: `{"messaging_product":"whatsapp","details":"…"}`. Kept loose: older Graph
    /// errors put a string here.
    #[serde(default)]
    error_data: Option<serde_json::Value>,
}

impl GraphErrorDetail {
    /// WhatsApp's `error_data.details`, if any.
    fn details(&self) -> Option<&str> {
        self.error_data
            .as_ref()?
            .get("details")?
            .as_str()
            .map(str::trim)
            .filter(|d| !d.is_empty())
    }

    /// The message for [`FailureReason::Rejected`] / [`FailureReason::Other`]: Graph's message,
    /// followed by WhatsApp's `error_data.details` when it adds something.
    fn full_message(&self) -> String {
        match self.details() {
            Some(details) if !self.message.contains(details) => {
                format!("{}: {details}", self.message)
            }
            _ => self.message.clone(),
        }
    }
}

/// Throttling: Graph platform / Business-Use-Case limits (4, 17, 32, 341, 613, 80001–80014) and
/// WhatsApp's throughput (130429) and pair rate (131056, ≈1 message per 6 s per customer) limits.
fn is_throttling(code: i64) -> bool {
    matches!(
        code,
        4 | 17 | 32 | 341 | 613 | 80001..=80014 | 130429 | 131056
    )
}

/// The messaging window has closed:
/// * Messenger / Instagram `10` / `2018278` and `10` / `2534022` ("sent outside of allowed
///   window"; the 24 h window, or 7 days with the HUMAN_AGENT tag);
/// * WhatsApp `131047` (re-engagement: more than 24 h since the customer's last message, only a
///   template can be sent).
fn is_outside_window(code: i64, subcode: Option<i64>) -> bool {
    matches!((code, subcode), (10, Some(2018278 | 2534022)) | (131047, _))
}

/// The customer cannot receive our message:
/// * Messenger `551` (any subcode, e.g. `1545041` "This person isn't available right now") and
///   subcode `1545041` with any code; `100` / `2018001` ("No matching user found");
/// * WhatsApp `131026` (undeliverable: not on WhatsApp, outdated app, terms not accepted, or
///   blocked us) and `131050` (the customer stopped marketing messages).
///
/// Deliberately not here: WhatsApp `131051` (unsupported message *type*: its own reason) and
/// `131045` (our number's registration/certificate: a configuration problem, reported as is).
fn is_recipient_unavailable(code: i64, subcode: Option<i64>) -> bool {
    matches!(
        (code, subcode),
        (551, _) | (_, Some(1545041)) | (100, Some(2018001)) | (131026 | 131050, _)
    )
}

/// Maps a non-2xx response to a [`GraphError`].
fn classify(status: StatusCode, after: Option<Duration>, body: &[u8]) -> GraphError {
    let retryable = |detail: String| GraphError::Retryable { after, detail };
    let permanent = GraphError::Permanent;

    let Ok(GraphErrorBody { error }) = serde_json::from_slice::<GraphErrorBody>(body) else {
        let detail = format!("HTTP {status}: {}", excerpt(body));
        return if status.is_server_error() {
            retryable(detail)
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            retryable(format!("{RATE_LIMIT_HINT}{detail}"))
        } else if status == StatusCode::NOT_FOUND {
            permanent(FailureReason::ItemDeleted)
        } else {
            permanent(FailureReason::Other(detail))
        };
    };

    let code = error.code.unwrap_or(0);
    let subcode = error.error_subcode;
    let detail = describe(status, &error);
    match code {
        190 => permanent(FailureReason::TokenExpired),
        c if is_throttling(c) => retryable(format!("{RATE_LIMIT_HINT}{detail}")),
        c if is_outside_window(c, subcode) => permanent(FailureReason::OutsideWindow),
        c if is_recipient_unavailable(c, subcode) => permanent(FailureReason::RecipientUnavailable),
        // Messenger: the Page is temporarily restricted from sending messages.
        10 if subcode == Some(1893063) => permanent(FailureReason::Rejected(error.full_message())),
        // Generic (1, 2) and WhatsApp (131016 "service unavailable") temporary failures.
        1 | 2 | 131016 => retryable(detail),
        _ if error.is_transient == Some(true) => retryable(detail),
        10 | 200..=299 => permanent(FailureReason::PermissionDenied),
        100 if subcode == Some(33) => permanent(FailureReason::ItemDeleted),
        // WhatsApp: "Cloud API does not support the message type" (Meta's unsupported-messages
        // webhook reference).
        131051 => permanent(FailureReason::UnsupportedMessageType),
        _ if status == StatusCode::NOT_FOUND => permanent(FailureReason::ItemDeleted),
        // Invalid parameter, policy block, duplicate; WhatsApp: missing / invalid parameter,
        // sender = recipient, a business-scoped user id this message cannot go to (131062).
        100 | 368 | 506 | 131008 | 131009 | 131021 | 131062 => {
            permanent(FailureReason::Rejected(error.full_message()))
        }
        // Includes WhatsApp 131000 ("something went wrong") when served as a 5xx.
        _ if status.is_server_error() => retryable(detail),
        _ if status == StatusCode::TOO_MANY_REQUESTS => {
            retryable(format!("{RATE_LIMIT_HINT}{detail}"))
        }
        _ => permanent(FailureReason::Other(error.full_message())),
    }
}

/// `HTTP 400, Graph error 100/33 (GraphMethodException): message [fbtrace_id …]`.
fn describe(status: StatusCode, error: &GraphErrorDetail) -> String {
    let mut out = format!("HTTP {status}, Graph error");
    if let Some(code) = error.code {
        out.push_str(&format!(" {code}"));
    }
    if let Some(sub) = error.error_subcode {
        out.push_str(&format!("/{sub}"));
    }
    if let Some(kind) = &error.kind {
        out.push_str(&format!(" ({kind})"));
    }
    out.push_str(&format!(": {}", error.message));
    if let Some(details) = error.details() {
        out.push_str(&format!(" ({details})"));
    }
    if let Some(trace) = &error.fbtrace_id {
        out.push_str(&format!(" [fbtrace_id {trace}]"));
    }
    out
}

/// How long to wait before calling again: `Retry-After` in seconds (the HTTP-date form is not
/// used by the Graph API) or the usage headers' `estimated_time_to_regain_access` (minutes),
/// whichever is longer.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let explicit = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let regain = ["x-business-use-case-usage", "x-app-usage"]
        .iter()
        .filter_map(|name| headers.get(*name)?.to_str().ok())
        .filter_map(|v| serde_json::from_str::<serde_json::Value>(v).ok())
        .filter_map(|v| regain_minutes(&v))
        .max()
        .filter(|m| *m > 0)
        .map(|m| Duration::from_secs(m.saturating_mul(60)));
    explicit.max(regain)
}

/// The largest `estimated_time_to_regain_access` anywhere in a usage header's JSON: the
/// Business Use Case header nests it per business id and per use-case type.
fn regain_minutes(v: &serde_json::Value) -> Option<u64> {
    match v {
        serde_json::Value::Object(map) => {
            let own = map
                .get("estimated_time_to_regain_access")
                .and_then(serde_json::Value::as_u64);
            map.values().filter_map(regain_minutes).chain(own).max()
        }
        serde_json::Value::Array(items) => items.iter().filter_map(regain_minutes).max(),
        _ => None,
    }
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    match text.char_indices().nth(MAX_BODY_IN_ERROR) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_headers_extend_the_wait() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, "30".parse().expect("header"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(30)));
        h.insert(
            "x-business-use-case-usage",
            r#"{"1234":[{"type":"messenger","call_count":100,"total_cputime":9,"total_time":9,"estimated_time_to_regain_access":7},{"type":"pages","call_count":5,"estimated_time_to_regain_access":0}]}"#
                .parse()
                .expect("header"),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7 * 60)));
        let mut h = HeaderMap::new();
        h.insert(
            "x-app-usage",
            r#"{"call_count":100,"total_time":20,"total_cputime":20,"estimated_time_to_regain_access":2}"#
                .parse()
                .expect("header"),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        h.insert("x-app-usage", "not json".parse().expect("header"));
        assert_eq!(retry_after(&h), None);
    }

    fn graph_error(code: i64, subcode: Option<i64>, transient: Option<bool>) -> Vec<u8> {
        serde_json::json!({"error": {
            "message": "the message",
            "type": "OAuthException",
            "code": code,
            "error_subcode": subcode,
            "is_transient": transient,
            "fbtrace_id": "EJplcsCHuLu"
        }})
        .to_string()
        .into_bytes()
    }

    /// (name, status, body, expected: `Ok(error)`, or `Err(is_rate_limit)` for a retryable)
    type Case = (&'static str, StatusCode, Vec<u8>, Result<GraphError, bool>);

    #[test]
    fn classification_table() {
        let bad = StatusCode::BAD_REQUEST;
        let rejected = || GraphError::Permanent(FailureReason::Rejected("the message".into()));
        let cases: Vec<Case> = vec![
            (
                "190 expired",
                bad,
                graph_error(190, Some(463), None),
                Ok(GraphError::Permanent(FailureReason::TokenExpired)),
            ),
            (
                "10 permission",
                StatusCode::FORBIDDEN,
                graph_error(10, None, None),
                Ok(GraphError::Permanent(FailureReason::PermissionDenied)),
            ),
            (
                "200 permission",
                StatusCode::FORBIDDEN,
                graph_error(200, None, None),
                Ok(GraphError::Permanent(FailureReason::PermissionDenied)),
            ),
            (
                "299 permission",
                StatusCode::FORBIDDEN,
                graph_error(299, None, None),
                Ok(GraphError::Permanent(FailureReason::PermissionDenied)),
            ),
            (
                "100/33 deleted",
                bad,
                graph_error(100, Some(33), None),
                Ok(GraphError::Permanent(FailureReason::ItemDeleted)),
            ),
            (
                "404 with other code",
                StatusCode::NOT_FOUND,
                graph_error(803, None, None),
                Ok(GraphError::Permanent(FailureReason::ItemDeleted)),
            ),
            (
                "404 without body",
                StatusCode::NOT_FOUND,
                b"Not Found".to_vec(),
                Ok(GraphError::Permanent(FailureReason::ItemDeleted)),
            ),
            (
                "100 other",
                bad,
                graph_error(100, None, None),
                Ok(rejected()),
            ),
            (
                "368 policy",
                bad,
                graph_error(368, Some(1390008), None),
                Ok(rejected()),
            ),
            (
                "506 duplicate",
                bad,
                graph_error(506, None, None),
                Ok(rejected()),
            ),
            (
                "unknown code",
                bad,
                graph_error(12345, None, None),
                Ok(GraphError::Permanent(FailureReason::Other(
                    "the message".into(),
                ))),
            ),
            (
                "unknown body",
                bad,
                b"<html>oops</html>".to_vec(),
                Ok(GraphError::Permanent(FailureReason::Other(
                    "HTTP 400 Bad Request: <html>oops</html>".into(),
                ))),
            ),
            (
                "code 1",
                StatusCode::INTERNAL_SERVER_ERROR,
                graph_error(1, None, None),
                Err(false),
            ),
            (
                "code 2",
                StatusCode::SERVICE_UNAVAILABLE,
                graph_error(2, None, None),
                Err(false),
            ),
            (
                "is_transient",
                bad,
                graph_error(9999, None, Some(true)),
                Err(false),
            ),
            (
                "500 unknown code",
                StatusCode::INTERNAL_SERVER_ERROR,
                graph_error(9999, None, None),
                Err(false),
            ),
            (
                "502 no body",
                StatusCode::BAD_GATEWAY,
                Vec::new(),
                Err(false),
            ),
            ("code 4", bad, graph_error(4, None, None), Err(true)),
            ("code 17", bad, graph_error(17, None, None), Err(true)),
            ("code 32", bad, graph_error(32, None, None), Err(true)),
            ("code 341", bad, graph_error(341, None, None), Err(true)),
            ("code 613", bad, graph_error(613, None, None), Err(true)),
            ("code 80001", bad, graph_error(80001, None, None), Err(true)),
            ("code 80014", bad, graph_error(80014, None, None), Err(true)),
            (
                "429 no body",
                StatusCode::TOO_MANY_REQUESTS,
                Vec::new(),
                Err(true),
            ),
        ];
        for (name, status, body, want) in cases {
            let got = classify(status, None, &body);
            match want {
                Ok(want) => assert_eq!(got, want, "{name}"),
                Err(rate_limit) => {
                    assert!(
                        matches!(got, GraphError::Retryable { .. }),
                        "{name}: {got:?}"
                    );
                    assert_eq!(got.is_rate_limit(), rate_limit, "{name}: {got:?}");
                }
            }
        }
    }

    fn whatsapp_error(code: i64, message: &str, details: &str) -> Vec<u8> {
        serde_json::json!({"error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "error_subcode": 2494010,
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"
        }})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn messaging_classification_table() {
        let bad = StatusCode::BAD_REQUEST;
        let outside = || Ok(GraphError::Permanent(FailureReason::OutsideWindow));
        let unavailable = || Ok(GraphError::Permanent(FailureReason::RecipientUnavailable));
        let cases: Vec<Case> = vec![
            (
                "10/2018278 window",
                bad,
                graph_error(10, Some(2018278), None),
                outside(),
            ),
            (
                "10/2534022 window",
                bad,
                graph_error(10, Some(2534022), None),
                outside(),
            ),
            (
                "wa 131047",
                bad,
                whatsapp_error(131047, "Re-engagement message", "24h"),
                outside(),
            ),
            ("551", bad, graph_error(551, None, None), unavailable()),
            (
                "551/1545041",
                bad,
                graph_error(551, Some(1545041), None),
                unavailable(),
            ),
            (
                "x/1545041",
                bad,
                graph_error(200, Some(1545041), None),
                unavailable(),
            ),
            (
                "100/2018001",
                bad,
                graph_error(100, Some(2018001), None),
                unavailable(),
            ),
            (
                "wa 131026",
                bad,
                whatsapp_error(131026, "Message undeliverable", "x"),
                unavailable(),
            ),
            (
                "wa 131050",
                bad,
                whatsapp_error(131050, "Stopped marketing", "x"),
                unavailable(),
            ),
            (
                "10/1893063 restricted",
                StatusCode::FORBIDDEN,
                graph_error(10, Some(1893063), None),
                Ok(GraphError::Permanent(FailureReason::Rejected(
                    "the message".into(),
                ))),
            ),
            (
                "10/other still permission",
                StatusCode::FORBIDDEN,
                graph_error(10, Some(2018065), None),
                Ok(GraphError::Permanent(FailureReason::PermissionDenied)),
            ),
            (
                "wa 131051 unsupported message type, in plain words",
                bad,
                whatsapp_error(
                    131051,
                    "Unsupported message type",
                    "Message type is not currently supported.",
                ),
                Ok(GraphError::Permanent(FailureReason::UnsupportedMessageType)),
            ),
            (
                "wa 131062 BSUID not supported for this message: rejected",
                bad,
                whatsapp_error(
                    131062,
                    "Business-scoped User ID recipients are not supported for this message.",
                    "x",
                ),
                Ok(GraphError::Permanent(FailureReason::Rejected(
                    "Business-scoped User ID recipients are not supported for this message.: x"
                        .into(),
                ))),
            ),
            (
                "wa unknown: other with details",
                bad,
                whatsapp_error(
                    131045,
                    "Incorrect certificate",
                    "Message failed to send due to a phone number registration error.",
                ),
                Ok(GraphError::Permanent(FailureReason::Other(
                    "Incorrect certificate: Message failed to send due to a phone number \
                     registration error."
                        .into(),
                ))),
            ),
            (
                "wa 130429",
                bad,
                whatsapp_error(130429, "Rate limit hit", "x"),
                Err(true),
            ),
            (
                "wa 131056",
                bad,
                whatsapp_error(131056, "Pair rate limit hit", "x"),
                Err(true),
            ),
            (
                "wa 131016",
                bad,
                whatsapp_error(131016, "Service unavailable", "x"),
                Err(false),
            ),
            (
                "wa 131000 500",
                StatusCode::INTERNAL_SERVER_ERROR,
                whatsapp_error(131000, "Something went wrong", "x"),
                Err(false),
            ),
            (
                "wa 131000 transient",
                bad,
                graph_error(131000, None, Some(true)),
                Err(false),
            ),
            (
                "wa 131000 400",
                bad,
                whatsapp_error(131000, "Something went wrong", "Something went wrong"),
                Ok(GraphError::Permanent(FailureReason::Other(
                    "Something went wrong".into(),
                ))),
            ),
            (
                "string error_data still parses",
                bad,
                serde_json::to_vec(&serde_json::json!({"error": {
                    "message": "the message", "code": 100, "error_data": "{\"x\":1}"
                }}))
                .expect("json"),
                Ok(GraphError::Permanent(FailureReason::Rejected(
                    "the message".into(),
                ))),
            ),
        ];
        for (name, status, body, want) in cases {
            let got = classify(status, None, &body);
            match want {
                Ok(want) => assert_eq!(got, want, "{name}"),
                Err(rate_limit) => {
                    assert!(
                        matches!(got, GraphError::Retryable { .. }),
                        "{name}: {got:?}"
                    );
                    assert_eq!(got.is_rate_limit(), rate_limit, "{name}: {got:?}");
                }
            }
        }
    }

    #[test]
    fn retryable_detail_includes_whatsapp_details() {
        let got = classify(
            StatusCode::BAD_REQUEST,
            None,
            &whatsapp_error(
                130429,
                "(#130429) Rate limit hit",
                "Cloud API message throughput has been reached.",
            ),
        );
        let GraphError::Retryable { detail, .. } = &got else {
            panic!("{got:?}")
        };
        assert!(
            detail.contains("Graph error 130429/2494010")
                && detail.contains("(Cloud API message throughput has been reached.)"),
            "{detail}"
        );
    }

    #[test]
    fn whatsapp_recipients_are_phone_numbers_or_business_scoped_ids() {
        assert_eq!(
            WhatsappRecipient::of("491234567890"),
            WhatsappRecipient::Phone("491234567890")
        );
        assert_eq!(
            WhatsappRecipient::of("+16505551234"),
            WhatsappRecipient::Phone("+16505551234")
        );
        assert_eq!(
            WhatsappRecipient::of("US.13491208655302741918"),
            WhatsappRecipient::Bsuid("US.13491208655302741918")
        );
        assert_eq!(
            WhatsappRecipient::of("IN.1648738043044942"),
            WhatsappRecipient::Bsuid("IN.1648738043044942")
        );
    }

    #[test]
    fn empty_ids_are_refused() {
        let client = GraphClient::new("https://graph.facebook.com/v21.0", reqwest::Client::new())
            .expect("valid");
        assert!(matches!(
            client.url(&["", "messages"]),
            Err(GraphError::Permanent(FailureReason::Other(_)))
        ));
    }

    #[test]
    fn retryable_detail_names_the_error() {
        let got = classify(
            StatusCode::BAD_REQUEST,
            Some(Duration::from_secs(60)),
            &graph_error(4, None, None),
        );
        assert_eq!(
            got,
            GraphError::Retryable {
                after: Some(Duration::from_secs(60)),
                detail: "rate limited: HTTP 400 Bad Request, Graph error 4 (OAuthException): \
                         the message [fbtrace_id EJplcsCHuLu]"
                    .into(),
            }
        );
        assert_eq!(got.failure_reason(), FailureReason::RateLimited);
    }

    #[test]
    fn base_url_must_be_http() {
        let http = reqwest::Client::new();
        assert!(GraphClient::new("https://graph.facebook.com/v21.0", http.clone()).is_ok());
        assert!(GraphClient::new("http://127.0.0.1:1234/", http.clone()).is_ok());
        assert!(GraphClient::new("mailto:x@example.com", http.clone()).is_err());
        assert!(GraphClient::new("graph.facebook.com", http.clone()).is_err());
        assert!(GraphClient::new("https://graph.facebook.com/v21.0?x=1", http).is_err());
    }

    #[test]
    fn edge_urls_encode_ids() {
        let client = GraphClient::new("https://graph.facebook.com/v21.0/", reqwest::Client::new())
            .expect("valid");
        let url = client
            .edge_url(&NetworkItemId::new("1_2"), "comments")
            .expect("url");
        assert_eq!(
            url.as_str(),
            "https://graph.facebook.com/v21.0/1_2/comments"
        );
        let url = client
            .edge_url(&NetworkItemId::new("../me?x"), "comments")
            .expect("url");
        assert_eq!(
            url.as_str(),
            "https://graph.facebook.com/v21.0/..%2Fme%3Fx/comments"
        );
    }
}
