//! Graph API client for replies on Facebook Pages.
//!
//! The client makes exactly one HTTP call per method and classifies failures for the outbox,
//! which owns retries. The Page access token goes in the form body (`access_token`), never in
//! the URL, and is never logged.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::core::{FailureReason, NetworkItemId};

/// Prefix of [`GraphError::Retryable::detail`] when the Graph API throttled us.
pub const RATE_LIMIT_HINT: &str = "rate limited: ";

/// Longest slice of an unexpected response body kept in an error message.
const MAX_BODY_IN_ERROR: usize = 300;

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
    /// Whether this is the Graph API throttling us (codes 4, 17, 32, 341, 613, 80001–80014, or
    /// HTTP 429). When the outbox gives up on such an error it should record
    /// [`FailureReason::RateLimited`].
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

/// The base URL is not something Graph paths can be appended to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Graph API base URL {url:?}: {reason}")]
pub struct BaseUrlError {
    url: String,
    reason: String,
}

/// Replies on Facebook through the Graph API.
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

    /// The API root this client talks to.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// Publicly replies to a comment: `POST /{comment-id}/comments`. Returns the new comment id.
    pub async fn reply_to_comment(
        &self,
        page_token: &SecretString,
        comment_id: &NetworkItemId,
        text: &str,
    ) -> Result<NetworkItemId, GraphError> {
        self.post_comment(page_token, comment_id, text).await
    }

    /// Comments on a post (used to answer visitor posts): `POST /{post-id}/comments`. Returns
    /// the new comment id.
    pub async fn comment_on_post(
        &self,
        page_token: &SecretString,
        post_id: &NetworkItemId,
        text: &str,
    ) -> Result<NetworkItemId, GraphError> {
        self.post_comment(page_token, post_id, text).await
    }

    async fn post_comment(
        &self,
        page_token: &SecretString,
        object_id: &NetworkItemId,
        text: &str,
    ) -> Result<NetworkItemId, GraphError> {
        let url = self.edge_url(object_id, "comments")?;
        tracing::debug!(object_id = %object_id, "POST /{{object-id}}/comments");
        let response = self
            .http
            .post(url)
            .form(&[
                ("message", text),
                ("access_token", page_token.expose_secret()),
            ])
            .send()
            .await
            .map_err(|e| GraphError::Retryable {
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
            return match serde_json::from_slice::<CreatedId>(&body) {
                Ok(created) if !created.id.is_empty() => Ok(NetworkItemId::new(created.id)),
                // The comment may well exist: retrying could post it twice.
                _ => Err(GraphError::Permanent(FailureReason::Other(format!(
                    "unexpected Graph API response (HTTP {status}): {}",
                    excerpt(&body)
                )))),
            };
        }
        Err(classify(status, retry_after, &body))
    }

    fn edge_url(&self, object_id: &NetworkItemId, edge: &str) -> Result<Url, GraphError> {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| {
                GraphError::Permanent(FailureReason::Other(
                    "the Graph API base URL cannot take a path".into(),
                ))
            })?
            .pop_if_empty()
            .push(object_id.as_str())
            .push(edge);
        Ok(url)
    }
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
}

fn is_throttling(code: i64) -> bool {
    matches!(code, 4 | 17 | 32 | 341 | 613 | 80001..=80014)
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
    let detail = describe(status, &error);
    match code {
        190 => permanent(FailureReason::TokenExpired),
        c if is_throttling(c) => retryable(format!("{RATE_LIMIT_HINT}{detail}")),
        1 | 2 => retryable(detail),
        _ if error.is_transient == Some(true) => retryable(detail),
        10 | 200..=299 => permanent(FailureReason::PermissionDenied),
        100 if error.error_subcode == Some(33) => permanent(FailureReason::ItemDeleted),
        _ if status == StatusCode::NOT_FOUND => permanent(FailureReason::ItemDeleted),
        100 | 368 | 506 => permanent(FailureReason::Rejected(error.message)),
        _ if status.is_server_error() => retryable(detail),
        _ if status == StatusCode::TOO_MANY_REQUESTS => {
            retryable(format!("{RATE_LIMIT_HINT}{detail}"))
        }
        _ => permanent(FailureReason::Other(error.message)),
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
    if let Some(trace) = &error.fbtrace_id {
        out.push_str(&format!(" [fbtrace_id {trace}]"));
    }
    out
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the Graph API).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
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
