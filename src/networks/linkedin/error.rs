//! LinkedIn API failures, classified once into [`ConnectorError`] for whoever retries: the
//! poller, the outbox, the OAuth callback.
//!
//! LinkedIn answers errors as `{"status":403,"serviceErrorCode":100,"code":"ACCESS_DENIED",
//! "message":"Not enough permissions to access: …"}` (§3.4; `code` is [U], so every field is
//! optional). 401 is a dead or expired token (refresh once, then unhealthy), 429 a throttle,
//! 5xx and timeouts transient; any other 4xx is permanent, with LinkedIn's message as the
//! reason (renderers escape it).

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;

use crate::core::FailureReason;
use crate::networks::ConnectorError;

/// How long to wait after a 429 that names no time: LinkedIn's limits are daily and per
/// minute, unpublished (§3.4); a minute between attempts spares the day's calls.
pub const RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// Longest slice of LinkedIn's message or of a non-JSON body kept in a reason.
const MAX_TEXT_IN_ERROR: usize = 200;

/// What LinkedIn says when its answer is an error.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Problem {
    status: Option<u16>,
    service_error_code: Option<i64>,
    code: Option<String>,
    message: Option<String>,
}

/// A request that never got an answer (timeout, refused connection, unreadable body). Always
/// transient; logged without the URL (its query holds URNs and times).
pub(super) fn transport(route: &'static str, e: reqwest::Error) -> ConnectorError {
    let (timeout, connect) = (e.is_timeout(), e.is_connect());
    let e = e.without_url();
    tracing::warn!(route, timeout, connect, error = %e, "LinkedIn API request failed");
    ConnectorError::Transient {
        retry_after: None,
        reason: if timeout {
            "LinkedIn did not answer in time".into()
        } else {
            "LinkedIn could not be reached".into()
        },
    }
}

/// `Retry-After` in seconds, when LinkedIn (or a gateway) sends one.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

/// Classifies a non-2xx answer from its status, headers and body.
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ConnectorError {
    let problem: Problem = serde_json::from_slice(body).unwrap_or_default();
    let message = problem
        .message
        .as_deref()
        .map(|m| m.trim().chars().take(MAX_TEXT_IN_ERROR).collect::<String>())
        .filter(|m| !m.is_empty());
    let code = problem.code.as_deref().unwrap_or("");
    tracing::debug!(
        %status,
        service_error_code = problem.service_error_code,
        code,
        body_status = problem.status,
        "LinkedIn refused a call"
    );
    if status == StatusCode::UNAUTHORIZED {
        return ConnectorError::Unauthorized;
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return ConnectorError::RateLimited {
            retry_after: Some(retry_after(headers).unwrap_or(RATE_LIMIT_WAIT)),
            reason: "LinkedIn's rate limit for this app or member is used up".into(),
        };
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        return ConnectorError::Transient {
            retry_after: retry_after(headers),
            reason: format!("LinkedIn answered {status}"),
        };
    }
    // 426 or NONEXISTENT_VERSION: the configured LinkedIn-Version was sunset (§11.4.9).
    if status == StatusCode::UPGRADE_REQUIRED || code.contains("VERSION") {
        return ConnectorError::Permanent(FailureReason::Other(format!(
            "LinkedIn no longer serves the configured API version (linkedin.version): {}",
            message.unwrap_or_else(|| format!("HTTP {status}"))
        )));
    }
    let reason = if status == StatusCode::NOT_FOUND || code == "NOT_FOUND" {
        FailureReason::ItemDeleted
    } else if status == StatusCode::FORBIDDEN || code == "ACCESS_DENIED" {
        FailureReason::PermissionDenied
    } else {
        FailureReason::Other(message.unwrap_or_else(|| fallback(status, body)))
    };
    ConnectorError::Permanent(reason)
}

/// Something to show when the body is not LinkedIn's JSON (a proxy's page, nothing).
fn fallback(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() || text.starts_with('{') {
        format!("LinkedIn answered {status}")
    } else {
        let excerpt: String = text.chars().take(MAX_TEXT_IN_ERROR).collect();
        format!("LinkedIn answered {status}: {excerpt}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(n: u16) -> StatusCode {
        StatusCode::from_u16(n).expect("status")
    }

    #[test]
    fn linkedin_errors_map_to_what_the_workers_do() {
        let none = HeaderMap::new();
        assert_eq!(
            classify(status(401), &none, br#"{"status":401,"serviceErrorCode":65601,"code":"REVOKED_ACCESS_TOKEN","message":"The token used in the request has been revoked by the user"}"#),
            ConnectorError::Unauthorized
        );
        assert_eq!(
            classify(status(403), &none, br#"{"status":403,"serviceErrorCode":100,"code":"ACCESS_DENIED","message":"Not enough permissions to access: partnerApiSocialActions.CREATE.20260601"}"#),
            ConnectorError::Permanent(FailureReason::PermissionDenied)
        );
        assert_eq!(
            classify(
                status(404),
                &none,
                br#"{"status":404,"code":"NOT_FOUND","message":"Not Found"}"#
            ),
            ConnectorError::Permanent(FailureReason::ItemDeleted)
        );
        assert_eq!(
            classify(
                status(422),
                &none,
                br#"{"status":422,"message":"  Comment text <b>too</b> long "}"#
            ),
            ConnectorError::Permanent(FailureReason::Other("Comment text <b>too</b> long".into()))
        );
        assert_eq!(
            classify(status(400), &none, b""),
            ConnectorError::Permanent(FailureReason::Other(
                "LinkedIn answered 400 Bad Request".into()
            ))
        );
        match classify(status(426), &none, br#"{"status":426,"code":"NONEXISTENT_VERSION","message":"Requested version 202401 is not active"}"#) {
            ConnectorError::Permanent(FailureReason::Other(why)) => {
                assert!(why.contains("linkedin.version") && why.contains("202401"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        let mut wait = HeaderMap::new();
        wait.insert(RETRY_AFTER, "7".parse().expect("header"));
        assert!(matches!(
            classify(status(429), &wait, b"{}"),
            ConnectorError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(7)
        ));
        assert!(matches!(
            classify(status(429), &none, b"{}"),
            ConnectorError::RateLimited { retry_after: Some(d), .. } if d == RATE_LIMIT_WAIT
        ));
        assert!(matches!(
            classify(status(503), &none, b"<html>down</html>"),
            ConnectorError::Transient { .. }
        ));
    }
}
