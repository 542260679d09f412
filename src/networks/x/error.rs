//! X API failures, classified once into [`ConnectorError`] for whoever retries: the poller,
//! the outbox, the OAuth callback.
//!
//! X answers errors as `application/problem+json`
//! (`{"title":…,"detail":…,"type":"https://api.x.com/2/problems/<kind>"}`, sometimes with an
//! `errors` array) or, on older paths, as `{"errors":[{"code":…,"message":…}]}`; both are
//! read. Every answer carries `x-rate-limit-reset` (Unix seconds): a 429 waits until then.
//! A 429 of type `usage-capped` is the app's pay-per-use cap, not the 15-minute window.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use crate::core::FailureReason;
use crate::networks::ConnectorError;

/// The header naming when the current rate-limit window ends (Unix seconds).
pub const RATE_LIMIT_RESET: &str = "x-rate-limit-reset";
/// The header counting the calls left in the current window.
pub const RATE_LIMIT_REMAINING: &str = "x-rate-limit-remaining";

/// How long to wait after a usage-capped answer without a reset time: the cap is the app's
/// plan (hours to a month), so an hour between attempts costs nothing and spares the calls.
pub const USAGE_CAP_WAIT: Duration = Duration::from_secs(60 * 60);

/// Longest slice of a non-JSON error body kept in a failure reason.
const MAX_BODY_IN_ERROR: usize = 200;

/// What X says when its answer is an error, as far as we read it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Problem {
    title: Option<String>,
    detail: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    errors: Vec<Item>,
}

/// An item of `errors`: a v2 partial error or a legacy `{code, message}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Item {
    message: Option<String>,
    code: Option<i64>,
    title: Option<String>,
    detail: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl Problem {
    /// The problem kinds named (`usage-capped`, `resource-not-found`…), top level first.
    fn kinds(&self) -> Vec<&str> {
        std::iter::once(self.kind.as_deref())
            .chain(self.errors.iter().map(|e| e.kind.as_deref()))
            .flatten()
            .map(|t| t.rsplit('/').next().unwrap_or(t))
            .collect()
    }

    fn codes(&self) -> Vec<i64> {
        self.errors.iter().filter_map(|e| e.code).collect()
    }

    /// X's own words: the detail, else the title, else the first item's.
    fn message(&self) -> Option<String> {
        let item = self.errors.iter().find_map(|e| {
            e.detail
                .clone()
                .or_else(|| e.message.clone())
                .or_else(|| e.title.clone())
        });
        self.detail
            .clone()
            .or(item)
            .or_else(|| self.title.clone())
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
    }
}

/// When the rate-limit window of this answer ends.
pub fn rate_limit_reset(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    let secs: i64 = headers
        .get(RATE_LIMIT_RESET)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    DateTime::from_timestamp(secs, 0)
}

/// A request that never got an answer (timeout, refused connection, reset stream, unreadable
/// body). Always transient; logged without the URL (its query holds ids and page tokens).
pub(super) fn transport(route: &'static str, e: reqwest::Error) -> ConnectorError {
    let (timeout, connect) = (e.is_timeout(), e.is_connect());
    let e = e.without_url();
    tracing::warn!(route, timeout, connect, error = %e, "X API request failed");
    ConnectorError::Transient {
        retry_after: None,
        reason: if timeout {
            "X did not answer in time".into()
        } else {
            "X could not be reached".into()
        },
    }
}

/// Classifies a non-2xx answer from its status, headers and body.
pub fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> ConnectorError {
    let problem: Problem = serde_json::from_slice(body).unwrap_or_default();
    let kinds = problem.kinds();
    let has = |k: &str| kinds.contains(&k);
    let message = problem
        .message()
        .unwrap_or_else(|| fallback_message(status, body));
    let reset = rate_limit_reset(headers).filter(|r| *r > now);

    if status == StatusCode::UNAUTHORIZED {
        return ConnectorError::Unauthorized;
    }
    if has("usage-capped") {
        let wait = chrono::Duration::from_std(USAGE_CAP_WAIT).unwrap_or(chrono::Duration::hours(1));
        return ConnectorError::Exhausted {
            until: reset.unwrap_or(now + wait),
            reason: "the X API usage cap of this app's plan is used up; nothing more is read or \
                     sent for the account until it resets"
                .into(),
        };
    }
    // Legacy code 88: "Rate limit exceeded".
    if status == StatusCode::TOO_MANY_REQUESTS
        || has("rate-limit-exceeded")
        || problem.codes().contains(&88)
    {
        return match reset {
            Some(until) => ConnectorError::Exhausted {
                until,
                reason: format!(
                    "X's rate limit for this call is used up until its 15-minute window resets \
                     at {} UTC",
                    until.format("%H:%M")
                ),
            },
            None => ConnectorError::RateLimited {
                retry_after: None,
                reason: "X's rate limit for this call is used up until its 15-minute window \
                         resets"
                    .into(),
            },
        };
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        return ConnectorError::Transient {
            retry_after: None,
            reason: format!("X answered {status}"),
        };
    }
    let reason = if status == StatusCode::NOT_FOUND
        || has("resource-not-found")
        || has("resource-unavailable")
        // Legacy code 144: "No status found with that ID".
        || problem.codes().contains(&144)
    {
        FailureReason::ItemDeleted
    // Legacy code 453: the app's access level does not include this endpoint.
    } else if has("client-forbidden") || problem.codes().contains(&453) {
        FailureReason::PermissionDenied
    } else if status == StatusCode::FORBIDDEN
        || has("not-authorized-for-resource")
        || has("disallowed-resource")
    {
        FailureReason::Rejected(message)
    } else {
        FailureReason::Other(message)
    };
    ConnectorError::Permanent(reason)
}

/// Something to show when the body is not X's JSON (a proxy's HTML page, nothing).
fn fallback_message(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        format!("HTTP {status}")
    } else {
        let excerpt: String = text.chars().take(MAX_BODY_IN_ERROR).collect();
        format!("HTTP {status}: {excerpt}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + s, 0).expect("time")
    }

    fn headers(reset: Option<i64>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(r) = reset {
            h.insert(
                RATE_LIMIT_RESET,
                (1_780_000_000 + r).to_string().parse().unwrap(),
            );
            h.insert(RATE_LIMIT_REMAINING, "0".parse().unwrap());
        }
        h
    }

    fn code(n: u16) -> StatusCode {
        StatusCode::from_u16(n).expect("status")
    }

    #[test]
    fn a_429_waits_for_the_windows_reset() {
        let body = br#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#;
        match classify(code(429), &headers(Some(600)), body, at(0)) {
            ConnectorError::Exhausted { until, reason } => {
                assert_eq!(until, at(600));
                assert!(
                    reason.contains("15-minute") && reason.ends_with(" UTC"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        // No (or a past) reset time: throttled, the caller's backoff decides.
        for h in [headers(None), headers(Some(-5))] {
            assert!(matches!(
                classify(code(429), &h, body, at(0)),
                ConnectorError::RateLimited {
                    retry_after: None,
                    ..
                }
            ));
        }
        // Legacy shape.
        let legacy = br#"{"errors":[{"code":88,"message":"Rate limit exceeded"}]}"#;
        assert!(matches!(
            classify(code(429), &headers(Some(60)), legacy, at(0)),
            ConnectorError::Exhausted { .. }
        ));
    }

    #[test]
    fn a_usage_cap_says_so_and_waits() {
        let body = br#"{"title":"UsageCapExceeded","detail":"Usage cap exceeded: Monthly product cap","type":"https://api.x.com/2/problems/usage-capped","status":429}"#;
        match classify(code(429), &headers(None), body, at(0)) {
            ConnectorError::Exhausted { until, reason } => {
                assert_eq!(until, at(3600));
                assert!(reason.contains("usage cap"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        match classify(code(429), &headers(Some(86_400)), body, at(0)) {
            ConnectorError::Exhausted { until, .. } => assert_eq!(until, at(86_400)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn outages_are_transient_and_a_refused_token_unauthorized() {
        assert!(matches!(
            classify(
                code(503),
                &headers(None),
                b"<html>Over capacity</html>",
                at(0)
            ),
            ConnectorError::Transient { .. }
        ));
        assert!(matches!(
            classify(code(500), &headers(None), b"", at(0)),
            ConnectorError::Transient { .. }
        ));
        let body = br#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#;
        assert_eq!(
            classify(code(401), &headers(None), body, at(0)),
            ConnectorError::Unauthorized
        );
    }

    #[test]
    fn other_refusals_are_permanent_in_plain_words() {
        let cases: Vec<(u16, &[u8], FailureReason)> = vec![
            (
                404,
                br#"{"title":"Not Found Error","detail":"Could not find tweet with id: [1].","type":"https://api.x.com/2/problems/resource-not-found"}"#,
                FailureReason::ItemDeleted,
            ),
            (
                200,
                br#"{"errors":[{"resource_id":"1","resource_type":"tweet","title":"Not Found Error","detail":"Could not find tweet","type":"https://api.x.com/2/problems/resource-not-found"}]}"#,
                FailureReason::ItemDeleted,
            ),
            (
                403,
                br#"{"title":"Client Forbidden","detail":"This request must be made using an approved developer account that is enrolled in the requested endpoint.","type":"https://api.x.com/2/problems/client-forbidden","reason":"client-not-enrolled"}"#,
                FailureReason::PermissionDenied,
            ),
            (
                403,
                br#"{"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403}"#,
                FailureReason::Rejected(
                    "You are not allowed to create a Tweet with duplicate content.".into(),
                ),
            ),
            (
                400,
                br#"{"errors":[{"parameters":{"reply.in_reply_to_tweet_id":["x"]},"message":"The `reply.in_reply_to_tweet_id` query parameter value [x] is not valid"}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.x.com/2/problems/invalid-request"}"#,
                FailureReason::Other(
                    "One or more parameters to your request was invalid.".into(),
                ),
            ),
            (
                400,
                br#"{"errors":[{"code":214,"message":"Bad <b>request</b>"}]}"#,
                FailureReason::Other("Bad <b>request</b>".into()),
            ),
            (
                400,
                b"plain words",
                FailureReason::Other("HTTP 400 Bad Request: plain words".into()),
            ),
        ];
        for (status, body, want) in cases {
            assert_eq!(
                classify(code(status), &headers(None), body, at(0)),
                ConnectorError::Permanent(want),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
