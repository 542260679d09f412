//! `GET|POST /webhooks/meta`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use secrecy::ExposeSecret;
use tracing::{debug, info, warn};

use super::{AppState, Refusal};
use crate::networks::meta;
use crate::workers::InboxEvent;

/// The header Meta signs webhook bodies with.
const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// The subscription handshake: echo `hub.challenge` when `hub.verify_token` matches.
pub async fn handshake(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<String, Refusal> {
    let mode = q.get("hub.mode").map(String::as_str);
    let token = q.get("hub.verify_token").map(String::as_str).unwrap_or("");
    let Some(challenge) = q.get("hub.challenge") else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "hub.challenge is missing",
        ));
    };
    if mode != Some("subscribe") {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "hub.mode must be subscribe",
        ));
    }
    let expected = state
        .config
        .meta
        .verify_token
        .as_ref()
        .map(|s| s.expose_secret().as_bytes())
        .unwrap_or(&[]);
    if expected.is_empty() || !constant_time_eq(token.as_bytes(), expected) {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "hub.verify_token does not match",
        ));
    }
    info!("Meta webhook subscription verified");
    Ok(challenge.clone())
}

/// Webhook events: verify on the raw bytes, parse, commit every change to the inbox, ack.
pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Refusal> {
    let header = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    meta::verify(&state.config.meta_secrets(), header, &body)
        .map_err(|e| Refusal::new(StatusCode::UNAUTHORIZED, e.to_string()))?;
    let parsed =
        meta::parse(&body).map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    for note in &parsed.ignored {
        debug!(note, "ignored part of a Meta webhook");
    }
    let mut rows = Vec::with_capacity(parsed.envelopes.len());
    for env in parsed.envelopes {
        let account = env.change.account();
        if state
            .config
            .account(env.change.network(), account.as_str())
            .is_none()
        {
            // Meta sends every account the app is subscribed to; only configured ones are inboxes.
            warn!(page = %account, "webhook for an account that is not configured; ignored");
            continue;
        }
        let row = InboxEvent::Network { change: env.change }
            .to_row("meta", env.dedupe_key)
            .map_err(|e| Refusal::internal("cannot serialise an inbox event", e))?;
        rows.push(row);
    }
    if rows.is_empty() {
        return Ok(StatusCode::OK);
    }
    let received = rows.len();
    let inserted = state
        .inbox
        .insert(rows)
        .await
        .map_err(|e| Refusal::internal("cannot store a Meta webhook", e))?;
    if inserted > 0 {
        state.wake_inbox.notify_one();
    }
    debug!(received, inserted, "Meta webhook stored");
    Ok(StatusCode::OK)
}

/// Constant-time comparison of two byte strings (the length is not secret).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
