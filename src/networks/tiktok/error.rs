//! TikTok API for Business failures, classified once for whoever retries: the poller, the
//! outbox, the connect callback.
//!
//! TikTok answers almost everything with HTTP 200 and says what happened in the envelope:
//! `{"code":40100,"message":"…","request_id":"…","data":{}}` (network-apis.md §6.3). Only a
//! gateway or proxy in front of it speaks in HTTP statuses (5xx, 429). TikTok's code table
//! was not readable (§10 item 7): the codes below are the ones the reference and the
//! open-source clients name; anything else is kept with TikTok's own message, permanent.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::core::FailureReason;

/// Longest slice of a non-JSON error body or of TikTok's message kept in a failure reason.
const MAX_TEXT_IN_ERROR: usize = 200;

/// Access token refused: 40105 "Access token is incorrect or has been revoked" (§11.5.3;
/// also what a `Bearer ` prefix earns), 40104 empty and 40102 expired token [U].
pub const TOKEN_CODES: &[i64] = &[40102, 40104, 40105];

/// Missing permission or scope: 40001 "no permission to operate" [U].
pub const PERMISSION_CODES: &[i64] = &[40001];

/// What a teammate reads when the comment or video is gone.
pub const NOT_FOUND_WORDS: &[&str] = &["not exist", "not found", "deleted", "does not exist"];

/// A failed TikTok call. Never holds a token or a URL, so `Display` and `Debug` are safe to
/// log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TiktokError {
    /// Timeout, connection failure, 5xx, or TikTok's own failure code (≥ 50000): try again
    /// later.
    #[error("TikTok temporarily unavailable")]
    Transient { retry_after: Option<Duration> },
    /// Too many requests (code 40100, or HTTP 429): TikTok allows 40 calls a minute per
    /// account and endpoint.
    #[error("TikTok rate limit reached")]
    RateLimited { retry_after: Option<Duration> },
    /// The access token was refused: refresh it once; if that fails too the account needs
    /// reconnecting.
    #[error("TikTok refused the access token")]
    Unauthorized,
    /// Retrying will not help.
    #[error("TikTok API call failed: {0:?}")]
    Permanent(FailureReason),
}

impl TiktokError {
    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            TiktokError::Transient { .. } | TiktokError::RateLimited { .. }
        )
    }
}

/// Classifies an envelope whose `code` is not 0, from TikTok's `code` and `message` (kept
/// as it is: renderers escape it).
pub fn classify_code(code: i64, message: &str, retry_after: Option<Duration>) -> TiktokError {
    let message: String = message.trim().chars().take(MAX_TEXT_IN_ERROR).collect();
    let lower = message.to_lowercase();
    if code == crate::oauth::tiktok::RATE_LIMIT_CODE
        || lower.contains("too many requests")
        || lower.contains("rate limit")
    {
        return TiktokError::RateLimited { retry_after };
    }
    if crate::oauth::tiktok::is_transient_code(code) {
        return TiktokError::Transient { retry_after };
    }
    if TOKEN_CODES.contains(&code) {
        return TiktokError::Unauthorized;
    }
    let reason = if PERMISSION_CODES.contains(&code)
        || lower.contains("permission")
        || lower.contains("scope")
    {
        FailureReason::PermissionDenied
    } else if NOT_FOUND_WORDS.iter().any(|w| lower.contains(w)) {
        FailureReason::ItemDeleted
    } else if message.is_empty() {
        FailureReason::Other(format!("TikTok refused the call (code {code})"))
    } else {
        FailureReason::Other(message)
    };
    TiktokError::Permanent(reason)
}

/// Classifies a non-2xx HTTP answer (from a gateway: TikTok itself answers 200).
pub fn classify_status(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
) -> TiktokError {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return TiktokError::RateLimited { retry_after };
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        return TiktokError::Transient { retry_after };
    }
    if status == StatusCode::UNAUTHORIZED {
        return TiktokError::Unauthorized;
    }
    if status == StatusCode::FORBIDDEN {
        return TiktokError::Permanent(FailureReason::PermissionDenied);
    }
    if status == StatusCode::NOT_FOUND {
        // A wrong base URL looks the same as a missing comment; say what was answered.
        return TiktokError::Permanent(FailureReason::Other(format!(
            "TikTok answered {status} (check tiktok.api_url)"
        )));
    }
    let text = String::from_utf8_lossy(body);
    let text: String = text.trim().chars().take(MAX_TEXT_IN_ERROR).collect();
    TiktokError::Permanent(FailureReason::Other(if text.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {text}")
    }))
}

/// A request that never got an answer (timeout, refused connection, unreadable body). Always
/// transient; the cause is logged with the URL stripped (its query holds ids).
pub(super) fn transport(route: &'static str, e: reqwest::Error) -> TiktokError {
    let (timeout, connect) = (e.is_timeout(), e.is_connect());
    let e = e.without_url();
    tracing::warn!(route, timeout, connect, error = %e, "TikTok API request failed");
    TiktokError::Transient { retry_after: None }
}

/// `Retry-After` in seconds, when a gateway sends one.
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_what_the_workers_do_with_them() {
        let wait = Some(Duration::from_secs(30));
        assert_eq!(
            classify_code(40100, "Too many requests", wait),
            TiktokError::RateLimited { retry_after: wait }
        );
        assert_eq!(
            classify_code(40016, "Rate limit exceeded for this app", None),
            TiktokError::RateLimited { retry_after: None }
        );
        assert_eq!(
            classify_code(50000, "System error", None),
            TiktokError::Transient { retry_after: None }
        );
        assert_eq!(
            classify_code(
                40105,
                "Access token is incorrect or has been revoked.",
                None
            ),
            TiktokError::Unauthorized
        );
        assert_eq!(
            classify_code(40001, "No permission to operate", None),
            TiktokError::Permanent(FailureReason::PermissionDenied)
        );
        assert_eq!(
            classify_code(
                40002,
                "The scope comment.list.manage is not authorized",
                None
            ),
            TiktokError::Permanent(FailureReason::PermissionDenied)
        );
        assert_eq!(
            classify_code(40002, "Comment does not exist", None),
            TiktokError::Permanent(FailureReason::ItemDeleted)
        );
        // Anything else keeps TikTok's words as they are (escaped where rendered).
        assert_eq!(
            classify_code(40002, "  Text contains <b>forbidden</b> words ", None),
            TiktokError::Permanent(FailureReason::Other(
                "Text contains <b>forbidden</b> words".into()
            ))
        );
        assert_eq!(
            classify_code(40999, "", None),
            TiktokError::Permanent(FailureReason::Other(
                "TikTok refused the call (code 40999)".into()
            ))
        );
        assert!(TiktokError::RateLimited { retry_after: None }.is_retryable());
        assert!(!TiktokError::Unauthorized.is_retryable());
    }

    #[test]
    fn gateway_statuses_are_classified_too() {
        let code = |n| StatusCode::from_u16(n).expect("status");
        assert_eq!(
            classify_status(code(503), None, b"<html>busy</html>"),
            TiktokError::Transient { retry_after: None }
        );
        assert_eq!(
            classify_status(code(429), Some(Duration::from_secs(5)), b""),
            TiktokError::RateLimited {
                retry_after: Some(Duration::from_secs(5))
            }
        );
        assert_eq!(
            classify_status(code(401), None, b""),
            TiktokError::Unauthorized
        );
        assert_eq!(
            classify_status(code(400), None, b"bad"),
            TiktokError::Permanent(FailureReason::Other("HTTP 400 Bad Request: bad".into()))
        );
    }
}
