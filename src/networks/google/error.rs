//! Google API failures, classified once for whoever retries: the poller, the outbox, the
//! account-health check.
//!
//! Google answers errors as `{"error":{"code":403,"message":"…","errors":[{"message":"…",
//! "domain":"youtube.quota","reason":"quotaExceeded"}],"status":"RESOURCE_EXHAUSTED"}}`: the
//! v3-style `errors[].reason` (YouTube, GBP v4) and the newer `status` (GBP v1) are both read.

use std::time::Duration;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;

use crate::core::FailureReason;

/// Longest slice of a non-JSON error body kept in a failure reason.
const MAX_BODY_IN_ERROR: usize = 200;

/// What a teammate reads when YouTube refuses a reply because the video takes no comments.
pub const COMMENTS_DISABLED: &str = "comments are disabled on this video";

/// A failed Google API call. Never holds a token or a URL (reqwest errors are stripped of
/// theirs with `without_url`), so `Display` and `Debug` are safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoogleError {
    /// Timeout, connection failure or 5xx: try again later (after `retry_after` when Google
    /// said so).
    #[error("Google API temporarily unavailable")]
    Transient { retry_after: Option<Duration> },
    /// Google throttles us (HTTP 429, `RESOURCE_EXHAUSTED`, `rateLimitExceeded`,
    /// `userRateLimitExceeded`): slow down, and wait `retry_after` when given.
    #[error("Google API rate limit reached")]
    RateLimited { retry_after: Option<Duration> },
    /// The project's daily quota is spent (`quotaExceeded`, `dailyLimitExceeded`): nothing more
    /// until [`next_quota_reset`].
    #[error("Google API daily quota exceeded")]
    QuotaExceeded,
    /// HTTP 401: the access token expired or was revoked. Refresh it once and retry; if that
    /// fails too, mark the account unhealthy.
    #[error("Google refused the access token")]
    Unauthorized,
    /// Retrying will not help.
    #[error("Google API call failed: {0:?}")]
    Permanent(FailureReason),
}

impl GoogleError {
    /// The failure reason to record once the caller stops retrying this error.
    pub fn failure_reason(&self) -> FailureReason {
        match self {
            GoogleError::Transient { .. } => {
                FailureReason::Other("Google did not answer in time".into())
            }
            GoogleError::RateLimited { .. } => FailureReason::RateLimited,
            GoogleError::QuotaExceeded => {
                FailureReason::Other("the daily Google API quota is used up".into())
            }
            GoogleError::Unauthorized => FailureReason::TokenExpired,
            GoogleError::Permanent(reason) => reason.clone(),
        }
    }

    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            GoogleError::Transient { .. }
                | GoogleError::RateLimited { .. }
                | GoogleError::QuotaExceeded
        )
    }
}

/// `{"error": {...}}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<ErrorItem>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    #[serde(default)]
    message: String,
    #[serde(default)]
    reason: Option<String>,
}

/// A request that never got an answer (timeout, refused connection, reset stream, unreadable
/// body). Always transient; the cause is logged with the URL stripped (its query holds page
/// tokens and customer ids).
pub(super) fn transport(route: &'static str, e: reqwest::Error) -> GoogleError {
    let (timeout, connect) = (e.is_timeout(), e.is_connect());
    let e = e.without_url();
    tracing::warn!(route, timeout, connect, error = %e, "Google API request failed");
    GoogleError::Transient { retry_after: None }
}

/// Classifies a non-2xx answer from its status, `Retry-After` and Google's error body.
pub fn classify(status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> GoogleError {
    let detail = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|b| b.error);
    let reasons: Vec<&str> = detail
        .iter()
        .flat_map(|d| d.errors.iter())
        .filter_map(|e| e.reason.as_deref())
        .collect();
    let has = |wanted: &[&str]| reasons.iter().any(|r| wanted.contains(r));
    let api_status = detail.as_ref().and_then(|d| d.status.as_deref());
    // Google's own text, kept as it is (renderers escape it): the top-level message, else the
    // first item's, else the status line or a slice of a non-JSON body.
    let message = detail
        .as_ref()
        .map(|d| d.message.clone())
        .filter(|m| !m.is_empty())
        .or_else(|| {
            detail.as_ref().and_then(|d| {
                d.errors
                    .iter()
                    .map(|e| e.message.clone())
                    .find(|m| !m.is_empty())
            })
        })
        .unwrap_or_else(|| fallback_message(status, body));

    if status == StatusCode::UNAUTHORIZED {
        return GoogleError::Unauthorized;
    }
    // Before the rate-limit test: YouTube's daily-quota 403 may also say RESOURCE_EXHAUSTED,
    // and it must not be retried before the reset.
    if status == StatusCode::FORBIDDEN && has(&["quotaExceeded", "dailyLimitExceeded"]) {
        return GoogleError::QuotaExceeded;
    }
    if status == StatusCode::TOO_MANY_REQUESTS
        || api_status == Some("RESOURCE_EXHAUSTED")
        || has(&["rateLimitExceeded", "userRateLimitExceeded"])
    {
        return GoogleError::RateLimited { retry_after };
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        return GoogleError::Transient { retry_after };
    }
    let reason = if has(&["commentsDisabled"]) {
        FailureReason::Rejected(COMMENTS_DISABLED.into())
    } else if status == StatusCode::NOT_FOUND || has(&["commentNotFound", "notFound"]) {
        FailureReason::ItemDeleted
    } else if status == StatusCode::FORBIDDEN
        && (has(&["forbidden", "insufficientPermissions"])
            || api_status == Some("PERMISSION_DENIED"))
    {
        FailureReason::PermissionDenied
    } else {
        FailureReason::Other(message)
    };
    GoogleError::Permanent(reason)
}

/// Something to show when the body is not Google's JSON (a proxy's HTML page, nothing).
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

/// `Retry-After` as seconds or as an HTTP date (relative to `now`).
pub(super) fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// Pacific standard time, UTC−8.
const PST_OFFSET_HOURS: i64 = -8;
/// Pacific daylight time, UTC−7.
const PDT_OFFSET_HOURS: i64 = -7;

/// When YouTube's daily quota next resets: the next midnight in America/Los_Angeles strictly
/// after `now`. No time-zone database is in the build, so the US rule (since 2007) is applied
/// by hand: daylight time from the second Sunday of March, 02:00 local, to the first Sunday of
/// November, 02:00 local.
pub fn next_quota_reset(now: DateTime<Utc>) -> DateTime<Utc> {
    let local_now = now.naive_utc() + TimeDelta::hours(pacific_offset_hours(now));
    let next_day = local_now
        .date()
        .checked_add_days(Days::new(1))
        .unwrap_or(local_now.date());
    // Midnight is never inside a transition (they happen at 02:00), so the offset of that
    // local midnight follows from its date alone: daylight time runs from the day after the
    // March switch to the day of the November switch, inclusive.
    let (dst_start, dst_end) = dst_dates(next_day.year());
    let offset = if next_day > dst_start && next_day <= dst_end {
        PDT_OFFSET_HOURS
    } else {
        PST_OFFSET_HOURS
    };
    (next_day.and_time(NaiveTime::MIN) - TimeDelta::hours(offset)).and_utc()
}

/// The Pacific offset in force at the instant `at`.
fn pacific_offset_hours(at: DateTime<Utc>) -> i64 {
    let (start, end) = dst_dates(at.year());
    // 02:00 PST on the start date is 10:00 UTC; 02:00 PDT on the end date is 09:00 UTC.
    let start_utc =
        (start.and_time(NaiveTime::MIN) + TimeDelta::hours(2 - PST_OFFSET_HOURS)).and_utc();
    let end_utc = (end.and_time(NaiveTime::MIN) + TimeDelta::hours(2 - PDT_OFFSET_HOURS)).and_utc();
    if at >= start_utc && at < end_utc {
        PDT_OFFSET_HOURS
    } else {
        PST_OFFSET_HOURS
    }
}

/// (second Sunday of March, first Sunday of November) of `year`.
fn dst_dates(year: i32) -> (NaiveDate, NaiveDate) {
    let start = NaiveDate::from_weekday_of_month_opt(year, 3, Weekday::Sun, 2);
    let end = NaiveDate::from_weekday_of_month_opt(year, 11, Weekday::Sun, 1);
    match (start, end) {
        (Some(start), Some(end)) => (start, end),
        // Only for years chrono cannot represent; no daylight time then.
        _ => (NaiveDate::MAX, NaiveDate::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(code: u16, status: Option<&str>, reason: Option<&str>, message: &str) -> Vec<u8> {
        let mut error = json!({"code": code, "message": message});
        if let Some(reason) = reason {
            error["errors"] =
                json!([{"message": message, "domain": "youtube.x", "reason": reason}]);
        }
        if let Some(status) = status {
            error["status"] = json!(status);
        }
        serde_json::to_vec(&json!({ "error": error })).expect("json")
    }

    fn code(n: u16) -> StatusCode {
        StatusCode::from_u16(n).expect("status")
    }

    #[test]
    fn quota_exceeded_wins_over_resource_exhausted() {
        let b = body(
            403,
            Some("RESOURCE_EXHAUSTED"),
            Some("quotaExceeded"),
            "The request cannot be completed because you have exceeded your quota.",
        );
        assert_eq!(classify(code(403), None, &b), GoogleError::QuotaExceeded);
        let b = body(
            403,
            None,
            Some("dailyLimitExceeded"),
            "Daily Limit Exceeded",
        );
        assert_eq!(classify(code(403), None, &b), GoogleError::QuotaExceeded);
        assert!(GoogleError::QuotaExceeded.is_retryable());
    }

    #[test]
    fn throttling_is_rate_limited_with_its_hint() {
        let wait = Some(Duration::from_secs(30));
        let b = body(
            429,
            Some("RESOURCE_EXHAUSTED"),
            None,
            "Quota exceeded per minute",
        );
        assert_eq!(
            classify(code(429), wait, &b),
            GoogleError::RateLimited { retry_after: wait }
        );
        let b = body(403, None, Some("rateLimitExceeded"), "slow down");
        assert_eq!(
            classify(code(403), None, &b),
            GoogleError::RateLimited { retry_after: None }
        );
        let b = body(403, None, Some("userRateLimitExceeded"), "slow down");
        assert!(matches!(
            classify(code(403), None, &b),
            GoogleError::RateLimited { .. }
        ));
        assert_eq!(
            GoogleError::RateLimited { retry_after: None }.failure_reason(),
            FailureReason::RateLimited
        );
    }

    #[test]
    fn server_errors_are_transient_even_without_json() {
        let wait = Some(Duration::from_secs(7));
        assert_eq!(
            classify(code(503), wait, b"<html>Service Unavailable</html>"),
            GoogleError::Transient { retry_after: wait }
        );
        let b = body(500, Some("INTERNAL"), Some("backendError"), "Backend Error");
        assert_eq!(
            classify(code(500), None, &b),
            GoogleError::Transient { retry_after: None }
        );
    }

    #[test]
    fn unauthorized_is_its_own_kind() {
        let b = body(
            401,
            Some("UNAUTHENTICATED"),
            Some("authError"),
            "Invalid Credentials",
        );
        assert_eq!(classify(code(401), None, &b), GoogleError::Unauthorized);
        assert_eq!(
            GoogleError::Unauthorized.failure_reason(),
            FailureReason::TokenExpired
        );
        assert!(!GoogleError::Unauthorized.is_retryable());
    }

    #[test]
    fn permanent_reasons_map_to_what_a_teammate_can_act_on() {
        let b = body(
            403,
            None,
            Some("commentsDisabled"),
            "The video has disabled comments.",
        );
        assert_eq!(
            classify(code(403), None, &b),
            GoogleError::Permanent(FailureReason::Rejected(COMMENTS_DISABLED.into()))
        );
        let b = body(404, None, Some("commentNotFound"), "not found");
        assert_eq!(
            classify(code(404), None, &b),
            GoogleError::Permanent(FailureReason::ItemDeleted)
        );
        let b = body(400, None, Some("commentNotFound"), "gone");
        assert_eq!(
            classify(code(400), None, &b),
            GoogleError::Permanent(FailureReason::ItemDeleted)
        );
        assert_eq!(
            classify(code(404), None, b""),
            GoogleError::Permanent(FailureReason::ItemDeleted)
        );
        for reason in ["forbidden", "insufficientPermissions"] {
            let b = body(403, None, Some(reason), "no");
            assert_eq!(
                classify(code(403), None, &b),
                GoogleError::Permanent(FailureReason::PermissionDenied)
            );
        }
        let b = body(
            403,
            Some("PERMISSION_DENIED"),
            None,
            "The caller does not have permission",
        );
        assert_eq!(
            classify(code(403), None, &b),
            GoogleError::Permanent(FailureReason::PermissionDenied)
        );
    }

    #[test]
    fn other_errors_keep_googles_text_as_is() {
        let text = "Invalid value <b>for</b> & \"textOriginal\"";
        let b = body(
            400,
            Some("INVALID_ARGUMENT"),
            Some("invalidCommentMetadata"),
            text,
        );
        assert_eq!(
            classify(code(400), None, &b),
            GoogleError::Permanent(FailureReason::Other(text.into()))
        );
        assert_eq!(
            classify(code(400), None, b"plain words"),
            GoogleError::Permanent(FailureReason::Other(
                "HTTP 400 Bad Request: plain words".into()
            ))
        );
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .expect("date")
            .with_timezone(&Utc);
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "120".parse().expect("header"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(120)));
        headers.insert(
            RETRY_AFTER,
            "Tue, 01 Dec 2026 10:01:30 GMT".parse().expect("header"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(90)));
        headers.insert(RETRY_AFTER, "soon".parse().expect("header"));
        assert_eq!(retry_after(&headers, now), None);
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("date")
            .with_timezone(&Utc)
    }

    #[test]
    fn quota_resets_at_pacific_midnight_across_dst_changes() {
        // (now, expected next reset), checked against Python's zoneinfo America/Los_Angeles.
        let cases = [
            // Winter: PST, midnight is 08:00 UTC.
            ("2026-01-15T12:00:00Z", "2026-01-16T08:00:00Z"),
            ("2026-01-15T07:59:59Z", "2026-01-15T08:00:00Z"),
            ("2026-01-15T08:00:00Z", "2026-01-16T08:00:00Z"),
            // Summer: PDT, midnight is 07:00 UTC.
            ("2026-07-04T06:30:00Z", "2026-07-04T07:00:00Z"),
            ("2026-07-04T07:00:00Z", "2026-07-05T07:00:00Z"),
            // Spring forward on Sunday 2026-03-08: that midnight is still PST, the next PDT.
            ("2026-03-07T20:00:00Z", "2026-03-08T08:00:00Z"),
            ("2026-03-08T09:59:59Z", "2026-03-09T07:00:00Z"),
            ("2026-03-08T12:00:00Z", "2026-03-09T07:00:00Z"),
            // Fall back on Sunday 2026-11-01: that midnight is still PDT, the next PST.
            ("2026-10-31T20:00:00Z", "2026-11-01T07:00:00Z"),
            ("2026-11-01T08:30:00Z", "2026-11-02T08:00:00Z"),
            ("2026-11-01T10:00:00Z", "2026-11-02T08:00:00Z"),
            // New Year's Eve in Los Angeles after it is already 2027 in UTC.
            ("2027-01-01T05:00:00Z", "2027-01-01T08:00:00Z"),
            // 2027: second Sunday of March is the 14th.
            ("2027-03-13T12:00:00Z", "2027-03-14T08:00:00Z"),
            ("2027-03-14T12:00:00Z", "2027-03-15T07:00:00Z"),
        ];
        for (now, expected) in cases {
            assert_eq!(next_quota_reset(utc(now)), utc(expected), "from {now}");
        }
    }
}
