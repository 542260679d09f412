//! `POST /discord/interactions`: Discord's HTTP interactions. Every request is verified
//! (Ed25519 over timestamp + raw body, and a 5-minute timestamp window) before it is parsed;
//! without a configured public key every request is refused. PING is answered; card button
//! clicks and selects go into the inbox exactly like Slack's (the core is surface-neutral) and
//! are acknowledged with a deferred update. Rendering cards on Discord comes with the rest of
//! the Discord surface.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use chrono::Utc;
use serde_json::{Value, json};

use super::{AppState, Refusal};
use crate::chat::discord::inbound::{self, Kind, parse_custom_id};
use crate::chat::discord::signature;
use crate::core::action::ActionIdError;
use crate::core::{ActionId, CardAction, ChatUserId, Surface, Teammate, text};
use crate::store::NewInbox;
use crate::workers::InboxEvent;

/// Requests older (or newer) than this are refused, like Slack's window.
const REPLAY_WINDOW_SECS: i64 = 300;
/// Interaction response types.
const PONG: u8 = 1;
const CHANNEL_MESSAGE: u8 = 4;
const DEFERRED_UPDATE_MESSAGE: u8 = 6;
/// Message flag: only the user who acted sees it.
const EPHEMERAL: u32 = 64;

fn ephemeral(content: &str) -> Json<Value> {
    Json(json!({"type": CHANNEL_MESSAGE, "data": {"content": content, "flags": EPHEMERAL}}))
}

pub async fn interactions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Refusal> {
    let Some(discord) = state.config.discord.as_ref() else {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "Discord is not configured",
        ));
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let ts = header("x-signature-timestamp");
    signature::verify(
        &discord.public_key,
        ts,
        header("x-signature-ed25519"),
        &body,
    )
    .map_err(|e| Refusal::new(StatusCode::UNAUTHORIZED, e.to_string()))?;
    let fresh = ts
        .and_then(|t| t.parse::<i64>().ok())
        .is_some_and(|t| (Utc::now().timestamp() - t).abs() <= REPLAY_WINDOW_SECS);
    if !fresh {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "stale or unreadable timestamp",
        ));
    }
    let interaction = inbound::parse_interaction(&body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let Kind::Component {
        custom_id, values, ..
    } = &interaction.kind
    else {
        return Ok(match interaction.kind {
            Kind::Ping => Json(json!({ "type": PONG })),
            _ => ephemeral(text::DISCORD_NOT_YET),
        });
    };
    let Some(user) = interaction.user.as_ref() else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "interaction without a user",
        ));
    };
    let (id, value) = match parse_custom_id(custom_id) {
        Some(x) => x,
        None => match custom_id
            .split('|')
            .next()
            .unwrap_or("")
            .parse::<ActionId>()
        {
            Err(ActionIdError::Foreign) => return Ok(ephemeral(text::DISCORD_NOT_YET)),
            Err(e) => return Err(Refusal::new(StatusCode::BAD_REQUEST, e.to_string())),
            Ok(_) => return Err(Refusal::new(StatusCode::BAD_REQUEST, "malformed custom_id")),
        },
    };
    if matches!(
        id.action,
        CardAction::Reply | CardAction::SavedReply | CardAction::EditTags
    ) {
        // Modals (reply, tags, saved replies) come with the rest of the Discord surface.
        return Ok(ephemeral(text::DISCORD_NOT_YET));
    }
    if let Some(p) = id.action.permission() {
        // Permission lists hold chat user ids; a Discord user passes only an open rule
        // until roles are mapped (the Discord surface issue).
        let allowed = state
            .directory
            .allowed(&state.slack, &state.config, &user.user_id, p)
            .await
            .map_err(|e| Refusal::internal("cannot check permissions", format!("{e:#}")))?;
        if !allowed {
            return Ok(ephemeral(&text::refused(p)));
        }
    }
    let event = InboxEvent::CardAction {
        teammate: Teammate {
            surface: Surface::Discord,
            id: ChatUserId::new(user.user_id.clone()),
        },
        action_id: id.to_string(),
        value: value.map(str::to_string),
        selected: values.clone(),
    };
    let payload = serde_json::to_string(&event)
        .map_err(|e| Refusal::internal("cannot serialise an inbox event", e))?;
    let inserted = state
        .inbox
        .insert(vec![NewInbox {
            source: "discord".into(),
            // An interaction id is unique per click.
            dedupe_key: interaction.id.clone(),
            payload,
        }])
        .await
        .map_err(|e| Refusal::internal("cannot store a Discord interaction", e))?;
    if inserted > 0 {
        state.wake_inbox.notify_one();
    }
    Ok(Json(json!({ "type": DEFERRED_UPDATE_MESSAGE })))
}
