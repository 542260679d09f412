//! `POST /slack/events`, `/slack/interactions`, `/slack/commands`: every request is verified
//! (v0 signature, 5-minute window) on the raw bytes before it is parsed.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Utc;
use serde_json::json;
use tracing::debug;

use super::{AppState, Refusal};
use crate::chat::slack::inbound::{self, EventsRequest, Interaction, SlackEvent};
use crate::chat::slack::signature;
use crate::core::{ActionId, ChatRef, Surface, Teammate, text};
use crate::store::NewInbox;
use crate::workers::InboxEvent;

fn verify(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    signature::verify(
        &state.config.slack_secrets(),
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        body,
        Utc::now().timestamp(),
    )
    .map_err(|e| Refusal::new(StatusCode::UNAUTHORIZED, e.to_string()))
}

async fn store(state: &AppState, dedupe_key: String, event: InboxEvent) -> Result<(), Refusal> {
    let payload = serde_json::to_string(&event)
        .map_err(|e| Refusal::internal("cannot serialise an inbox event", e))?;
    let inserted = state
        .store
        .insert_inbox(
            &[NewInbox {
                source: "slack".into(),
                dedupe_key,
                payload,
            }],
            Utc::now(),
        )
        .await
        .map_err(|e| Refusal::internal("cannot store a Slack event", e))?;
    if inserted > 0 {
        state.wake_inbox.notify_one();
    } else {
        debug!("duplicate Slack delivery ignored");
    }
    Ok(())
}

pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    verify(&state, &headers, &body)?;
    let request = inbound::parse_event(&body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    match request {
        EventsRequest::UrlVerification { challenge } => {
            Ok(Json(json!({ "challenge": challenge })).into_response())
        }
        EventsRequest::Callback {
            event_id,
            team_id,
            event,
        } => {
            if team_id != state.config.slack.team_id {
                debug!(team_id, "event from another workspace ignored");
                return Ok(StatusCode::OK.into_response());
            }
            match event {
                SlackEvent::ThreadMessage {
                    channel,
                    user,
                    text,
                    ts,
                    thread_ts,
                } => {
                    let at = |message: String| ChatRef {
                        surface: Surface::Slack,
                        workspace: team_id.clone(),
                        channel: channel.clone(),
                        message,
                    };
                    let event = InboxEvent::ThreadMessage {
                        teammate: Teammate {
                            surface: Surface::Slack,
                            id: user,
                        },
                        thread: at(thread_ts),
                        message: at(ts),
                        text,
                    };
                    // Slack retries reuse the event id: dedupe on it.
                    store(&state, event_id, event).await?;
                }
                SlackEvent::Ignored(why) => debug!(why, "Slack event ignored"),
            }
            Ok(StatusCode::OK.into_response())
        }
        EventsRequest::Other(_) => Ok(StatusCode::OK.into_response()),
    }
}

pub async fn interactions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Refusal> {
    verify(&state, &headers, &body)?;
    let interaction = inbound::parse_interaction(&body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let Interaction::BlockActions {
        team_id,
        user_id,
        trigger_id,
        actions,
        ..
    } = interaction
    else {
        return Ok(StatusCode::OK);
    };
    if team_id != state.config.slack.team_id {
        return Ok(StatusCode::OK);
    }
    for action in actions {
        // Only our own buttons; a malformed one of ours is refused before anything is stored.
        match action.action_id.parse::<ActionId>() {
            Ok(_) => {}
            Err(crate::core::action::ActionIdError::Foreign) => continue,
            Err(e) => return Err(Refusal::new(StatusCode::BAD_REQUEST, e.to_string())),
        }
        let event = InboxEvent::CardAction {
            teammate: Teammate {
                surface: Surface::Slack,
                id: user_id.clone(),
            },
            action_id: action.action_id.clone(),
        };
        // A trigger id is unique per click.
        store(&state, format!("{trigger_id}:{}", action.action_id), event).await?;
    }
    Ok(StatusCode::OK)
}

pub async fn commands(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, Refusal> {
    verify(&state, &headers, &body)?;
    let command = inbound::parse_command(&body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let words: Vec<&str> = command.text.split_whitespace().collect();
    let reply = match words.first().copied() {
        None | Some("help") => text::command_help(&command.command),
        Some(other) => text::command_unknown(&command.command, other),
    };
    Ok(Json(json!({ "response_type": "ephemeral", "text": reply })))
}
