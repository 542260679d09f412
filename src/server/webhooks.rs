//! `GET|POST /webhooks/{source}`: every pushed network's endpoint. The handshake and the
//! signature check belong to the network's [`WebhookSource`]; what is left here is the same
//! for every network: verify before parsing, commit every change of a known account to the
//! inbox, then acknowledge.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Utc;
use tracing::{debug, info, warn};

use super::{AppState, Refusal};
use crate::networks::{WebhookRefusal, WebhookSource};
use crate::workers::InboxEvent;

fn source<'a>(state: &'a AppState, name: &str) -> Result<&'a dyn WebhookSource, Refusal> {
    state
        .networks
        .webhook(name)
        .map(|s| s.as_ref())
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "no such webhook endpoint"))
}

fn refused(e: WebhookRefusal) -> Refusal {
    Refusal::new(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        e.reason,
    )
}

/// The subscription handshake.
pub async fn handshake(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Refusal> {
    let answer = source(&state, &name)?.handshake(&q).map_err(refused)?;
    info!(source = name, "webhook subscription verified");
    Ok(([(header::CONTENT_TYPE, answer.content_type)], answer.body).into_response())
}

/// Deliveries: verify on the raw bytes, parse, commit every change to the inbox, ack.
pub async fn receive(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Refusal> {
    let source = source(&state, &name)?;
    source
        .verify(&headers, &body, Utc::now())
        .map_err(refused)?;
    let parsed = source.parse(&body).map_err(refused)?;
    for note in &parsed.ignored {
        debug!(note, source = name, "ignored part of a webhook");
    }
    let mut rows = Vec::with_capacity(parsed.envelopes.len());
    // The accounts are re-read from the store at most once per delivery.
    let mut reloaded = false;
    for env in parsed.envelopes {
        let account = env.change.account();
        let network = env.change.network();
        let mut known = state.account(network, account.as_str());
        if known.is_none() && !reloaded {
            // Fresh: an account connected a moment ago (on another replica too) is known here.
            reloaded = true;
            known = state
                .account_fresh(network, account.as_str())
                .await
                .map_err(|e| Refusal::internal("cannot read the connected accounts", e))?;
        }
        if known.is_none() {
            // Platforms send every account the app is subscribed to; only ours are inboxes.
            warn!(account = %account, source = name, "webhook for an account that is not configured; ignored");
            continue;
        }
        let row = InboxEvent::Network { change: env.change }
            .to_row(source.name(), env.dedupe_key)
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
        .map_err(|e| Refusal::internal("cannot store a webhook", e))?;
    if inserted > 0 {
        state.wake_inbox.notify_one();
    }
    debug!(received, inserted, source = name, "webhook stored");
    Ok(StatusCode::OK)
}
