//! `GET /metrics`, the optional bearer token in front of it (and of `/readyz`'s details), and
//! the middleware that gives every request a request id span and counts it by route.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tracing::Instrument;

use super::AppState;

/// The header carrying the request id, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// Longest caller-supplied request id kept; a longer one (or one with other characters than
/// letters, digits, `-`, `_`, `.`) is replaced by ours.
const MAX_REQUEST_ID_LEN: usize = 64;

/// True when no token is configured, or the request carries `Authorization: Bearer <token>`.
/// Both sides are hashed first, so the comparison is constant-time and length-blind.
pub fn authorized(headers: &HeaderMap, token: Option<&SecretString>) -> bool {
    let Some(token) = token else {
        return true;
    };
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let expected = Sha256::digest(token.expose_secret().as_bytes());
    let given = Sha256::digest(given.trim().as_bytes());
    expected.ct_eq(&given).into()
}

/// `GET /metrics`: the Prometheus text exposition, gauges refreshed from the store first.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !authorized(&headers, state.config.server.metrics_token.as_ref()) {
        return unauthorized();
    }
    state
        .metrics
        .refresh(&state.store, chrono::Utc::now())
        .await;
    state.metrics.ingest_pressed(state.inbox.pressure_engaged());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// 401 with the scheme to use.
pub fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
        "a bearer token is required\n",
    )
        .into_response()
}

/// Every request: a `request` span with its request id (the caller's `x-request-id` when it is
/// sane, else a new one; echoed in the response), method and route template, and one count
/// by route and status. The raw URI is never recorded (query strings carry OAuth codes).
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let method = req.method().as_str().to_string();
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane_request_id(v))
        .map_or_else(new_request_id, str::to_string);
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    let started = Instant::now();
    let mut response = next.run(req).instrument(span).await;
    state.metrics.http_request(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    response
}

fn sane_request_id(v: &str) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A process-unique id: this process's start time and a counter, in hex.
fn new_request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let prefix = PREFIX.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64)
    });
    format!("{prefix:x}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_checked_only_when_configured() {
        let token = SecretString::from("s3cret");
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            h
        };
        assert!(authorized(&HeaderMap::new(), None));
        assert!(!authorized(&HeaderMap::new(), Some(&token)));
        assert!(!authorized(&with("Bearer nope"), Some(&token)));
        assert!(!authorized(&with("Basic s3cret"), Some(&token)));
        assert!(authorized(&with("Bearer s3cret"), Some(&token)));
    }

    #[test]
    fn only_sane_request_ids_are_kept() {
        assert!(sane_request_id("abc-123_x.y"));
        assert!(!sane_request_id(""));
        assert!(!sane_request_id("a b"));
        assert!(!sane_request_id(&"a".repeat(65)));
        assert_ne!(new_request_id(), new_request_id());
    }
}
