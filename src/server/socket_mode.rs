//! Slack Socket Mode: with an app-level token (`slack.app_token`), Slack delivers events,
//! interactions and slash commands over websockets that Switchboard opens, so no public URL
//! is needed for Slack. Each envelope is handled exactly as its HTTP twin (the same parsing,
//! the same durable inbox commit, the same dedupe and answers) and acknowledged with its
//! `envelope_id` only after that, carrying the answer an HTTP response would have had.
//! `slack.socket_connections` connections are kept open; each reconnects when Slack asks
//! (`disconnect`), when the socket drops, or when it goes quiet.

use std::sync::Arc;
use std::time::Duration;

use axum::body::to_bytes;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tracing::{debug, info, warn};

use super::{AppState, slack};
use crate::workers::Services;

/// The longest wait between two reconnection attempts.
const MAX_RECONNECT_WAIT: Duration = Duration::from_secs(60);

/// A connection that hears nothing (not even a ping) for this long is replaced.
const QUIET_LIMIT: Duration = Duration::from_secs(120);

/// The largest answer body read back from a handler to carry in an acknowledgement.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// One Socket Mode message (`hello`, `disconnect`, or an envelope).
#[derive(Debug, Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    envelope_id: Option<String>,
    #[serde(default)]
    payload: Option<Value>,
    #[serde(default)]
    reason: Option<String>,
}

/// Keep `slack.socket_connections` connections open until `shutdown`.
pub async fn run(svc: Arc<Services>, shutdown: watch::Receiver<bool>) {
    let Some(token) = svc.config.slack.app_token.clone() else {
        return;
    };
    let n = svc.config.slack.socket_connections.max(1);
    let mut tasks = Vec::new();
    for i in 0..n {
        let (svc, token, shutdown) = (svc.clone(), token.clone(), shutdown.clone());
        tasks.push(tokio::spawn(async move {
            keep_open(svc, token, shutdown, i).await
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// One connection slot: connect, serve, reconnect with capped backoff.
async fn keep_open(
    svc: Arc<Services>,
    token: SecretString,
    mut shutdown: watch::Receiver<bool>,
    slot: u8,
) {
    let mut failures = 0u32;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let mut wait = None;
        match serve_one(&svc, &token, &mut shutdown, slot).await {
            // Served (Slack said hello): reconnect at once.
            Ok(End::Reconnect { served: true }) => failures = 0,
            Ok(End::Reconnect { served: false }) => failures = failures.saturating_add(1),
            Ok(End::Wait(w)) => {
                failures = failures.saturating_add(1);
                wait = Some(w);
            }
            Ok(End::Stop) => return,
            Err(e) => {
                failures = failures.saturating_add(1);
                warn!(
                    slot,
                    error = format!("{e:#}"),
                    "Slack Socket Mode connection failed"
                );
            }
        }
        let backoff = if failures == 0 {
            Duration::ZERO
        } else {
            Duration::from_millis(250u64.saturating_mul(1 << failures.min(8)))
        };
        let wait = wait.unwrap_or(backoff).max(backoff).min(MAX_RECONNECT_WAIT);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// `apps.connections.open`: a fresh websocket URL (single use).
async fn open_url(svc: &Services, token: &SecretString) -> anyhow::Result<String> {
    let url = format!(
        "{}/apps.connections.open",
        svc.config.slack.api_url.trim_end_matches('/')
    );
    let answer: Value = svc
        .oauth_http
        .post(url)
        .bearer_auth(token.expose_secret())
        .timeout(Duration::from_secs(svc.config.http.timeout_secs.max(1)))
        .send()
        .await?
        .json()
        .await?;
    match answer["url"].as_str() {
        Some(url) if answer["ok"] == true => Ok(url.to_string()),
        _ => anyhow::bail!(
            "apps.connections.open refused: {}",
            answer["error"].as_str().unwrap_or("no url in the answer")
        ),
    }
}

/// How a connection ended.
enum End {
    /// Open another (`served`: Slack said hello on this one).
    Reconnect { served: bool },
    /// Open another after this wait (Slack said so).
    Wait(Duration),
    /// Slack disabled the app's Socket Mode, or the service is stopping.
    Stop,
}

/// Serve one connection until Slack or the socket ends it (Ok) or it fails (Err). Envelopes
/// are handled concurrently (a slow one never holds up the others past Slack's 3 s); their
/// acknowledgements go out through one writer.
async fn serve_one(
    svc: &Arc<Services>,
    token: &SecretString,
    shutdown: &mut watch::Receiver<bool>,
    slot: u8,
) -> anyhow::Result<End> {
    let url = match open_url(svc, token).await {
        Ok(url) => url,
        Err(e) if e.to_string().contains("ratelimited") => {
            warn!(slot, "apps.connections.open is rate-limited: waiting");
            return Ok(End::Wait(MAX_RECONNECT_WAIT));
        }
        Err(e) => return Err(e),
    };
    let connect = tokio_tungstenite::connect_async(url.as_str());
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(svc.config.http.timeout_secs.max(1)),
        connect,
    )
    .await??;
    debug!(slot, "Slack Socket Mode connected");
    let send_limit = Duration::from_secs(svc.config.http.timeout_secs.max(1));
    let (acks, mut to_send) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut served = false;
    loop {
        let next = tokio::select! {
            m = tokio::time::timeout(QUIET_LIMIT, ws.next()) => m,
            Some(ack) = to_send.recv() => {
                tokio::time::timeout(send_limit, ws.send(Message::Text(ack))).await??;
                continue;
            }
            _ = shutdown.changed() => {
                let _ = tokio::time::timeout(send_limit, ws.close(None)).await;
                return Ok(End::Stop);
            }
        };
        let message = match next {
            Err(_) => anyhow::bail!("no message for {QUIET_LIMIT:?}"),
            Ok(None) => return Ok(End::Reconnect { served }),
            Ok(Some(m)) => m?,
        };
        // Pings are answered by the websocket library itself.
        let text = match message {
            Message::Text(t) => t,
            Message::Close(_) => return Ok(End::Reconnect { served }),
            _ => continue,
        };
        let frame: Frame = match serde_json::from_str(&text) {
            Ok(f) => f,
            Err(e) => {
                warn!(slot, error = %e, "unreadable Socket Mode message");
                continue;
            }
        };
        match frame.kind.as_str() {
            "hello" => {
                served = true;
                info!(slot, "Slack Socket Mode ready");
            }
            "disconnect" => {
                let reason = frame.reason.as_deref().unwrap_or("");
                let _ = tokio::time::timeout(send_limit, ws.close(None)).await;
                return Ok(match reason {
                    // Socket Mode was turned off for the app: nothing to reconnect to.
                    "link_disabled" => {
                        warn!(
                            slot,
                            "Slack disabled Socket Mode for the app: not reconnecting"
                        );
                        End::Stop
                    }
                    "too_many_websockets" => {
                        warn!(
                            slot,
                            "Slack refuses more sockets: lower slack.socket_connections or the replicas"
                        );
                        End::Wait(MAX_RECONNECT_WAIT)
                    }
                    _ => {
                        info!(slot, reason, "Slack asks to reconnect");
                        End::Reconnect { served }
                    }
                });
            }
            kind => {
                let Some(envelope) = frame.envelope_id else {
                    debug!(
                        slot,
                        kind, "Socket Mode message without an envelope ignored"
                    );
                    continue;
                };
                let payload = frame.payload.unwrap_or(Value::Null);
                let (svc, acks, kind) = (svc.clone(), acks.clone(), kind.to_string());
                tokio::spawn(async move {
                    // Handled (committed) first; only then acknowledged, with the answer.
                    match handle(svc, &kind, &payload).await {
                        Ok(answer) => {
                            let mut ack = json!({ "envelope_id": envelope });
                            if let Some(a) = answer {
                                ack["payload"] = a;
                            }
                            let _ = acks.send(ack.to_string());
                        }
                        // Not acknowledged: Slack retries an event (to this or another
                        // socket); a click or command shows the teammate an error.
                        Err(e) => warn!(slot, kind, error = %e, "Socket Mode envelope not handled"),
                    }
                });
            }
        }
    }
}

/// Handle one envelope as its HTTP twin; the answer to carry in the acknowledgement. An
/// error means nothing was committed and the envelope must not be acknowledged.
async fn handle(state: AppState, kind: &str, payload: &Value) -> anyhow::Result<Option<Value>> {
    let response = match kind {
        "events_api" => slack::event_body(state, payload.to_string().as_bytes()).await,
        "interactive" => {
            let body: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("payload", &payload.to_string())
                .finish();
            slack::interaction_body(state, body.as_bytes()).await
        }
        "slash_commands" => {
            let body = command_form(payload);
            slack::command_body(state, body.as_bytes()).await
        }
        other => {
            debug!(
                kind = other,
                "Socket Mode envelope of an unknown type acknowledged"
            );
            return Ok(None);
        }
    };
    match response {
        Ok(r) => answer_of(r).await,
        Err(refusal) if refusal.status.is_client_error() => {
            // What HTTP would refuse with a 4xx is refused for good: acknowledge it.
            warn!(
                kind,
                reason = refusal.reason,
                "Socket Mode envelope refused"
            );
            Ok(None)
        }
        Err(refusal) => anyhow::bail!("{}", refusal.reason),
    }
}

/// A slash command's fields (a JSON object in Socket Mode) as the form HTTP would post.
fn command_form(payload: &Value) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in payload.as_object().into_iter().flatten() {
        if let Some(v) = v.as_str() {
            form.append_pair(k, v);
        }
    }
    form.finish()
}

/// The JSON body of a handler's answer, if it has one.
async fn answer_of(response: Response) -> anyhow::Result<Option<Value>> {
    if !response.status().is_success() {
        anyhow::bail!("answered {}", response.status());
    }
    let bytes = to_bytes(response.into_body(), MAX_ANSWER_BYTES).await?;
    if bytes.is_empty() {
        return Ok(None);
    }
    Ok(serde_json::from_slice(&bytes).ok())
}
