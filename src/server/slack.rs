//! `POST /slack/events`, `/slack/interactions`, `/slack/commands`: every request is verified
//! (v0 signature, 5-minute window) on the raw bytes before it is parsed.
//!
//! State changes go through the inbox (committed before the ack). Opening a modal is the one
//! thing done right here: Slack's `trigger_id` is valid for about 3 seconds, so `views.open`
//! is part of answering the click, not a deferred effect. Permission checks happen here too,
//! so a refused teammate is told at once and nothing is stored.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Utc;
use serde_json::{Value, json};
use tracing::{debug, warn};

use super::scope::{Origin, Scope, command_ticket};
use super::{AppState, Refusal};
use crate::chat::slack::inbound::{
    self, BlockAction, EventsRequest, InputValue, Interaction, SlackEvent, SlashCommand,
    input_value,
};
use crate::chat::slack::render::{self, ModalKind};
use crate::chat::slack::{SavedReplyAction, SavedReplyActionError, signature};
use crate::core::action::ActionIdError;
use crate::core::filter::{self, Filter, Queue};
use crate::core::permission::Permission;
use crate::core::saved_reply::{self, SavedReplyId, Vars};
use crate::core::{
    ActionId, Assignee, CardAction, ChatRef, ChatUserId, Surface, Teammate, TicketId, text,
};
use crate::store::SavedReplyWrite;
use crate::workers::InboxEvent;
use crate::workers::inbox::MAX_BULK_TICKETS;

/// Tickets listed by a queue command.
const QUEUE_LIST_LIMIT: i64 = 20;

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
    store_in_thread(state, dedupe_key, event, None).await
}

/// Commit `event`, which happened in the thread of `ticket`'s card when `ticket` is set.
async fn store_in_thread(
    state: &AppState,
    dedupe_key: String,
    event: InboxEvent,
    ticket: Option<TicketId>,
) -> Result<(), Refusal> {
    let row = event
        .to_row_in_thread("slack", dedupe_key, ticket)
        .map_err(|e| Refusal::internal("cannot serialise an inbox event", e))?;
    let inserted = state
        .inbox
        .insert(vec![row])
        .await
        .map_err(|e| Refusal::internal("cannot store a Slack event", e))?;
    if inserted > 0 {
        state.wake_inbox.notify_one();
    } else {
        debug!("duplicate Slack delivery ignored");
    }
    Ok(())
}

fn teammate(user: &ChatUserId) -> Teammate {
    Teammate {
        surface: Surface::Slack,
        id: user.clone(),
    }
}

/// Where a Slack request came from.
fn origin<'a>(me: &'a Teammate, channel: Option<&'a str>) -> Origin<'a> {
    Origin {
        teammate: me,
        roles: &[],
        channel,
        parent: None,
    }
}

fn ephemeral(text: impl Into<String>) -> Json<Value> {
    Json(json!({ "response_type": "ephemeral", "text": text.into() }))
}

async fn allowed(state: &AppState, user: &ChatUserId, what: Permission) -> Result<bool, Refusal> {
    state
        .directory
        .allowed(&state.slack, &state.config, user.as_str(), what)
        .await
        .map_err(|e| Refusal::internal("cannot check permissions", format!("{e:#}")))
}

/// Tell a teammate something only they see, about a click (in the channel of the card).
async fn tell(
    state: &AppState,
    user: &ChatUserId,
    channel: Option<&str>,
    url: Option<&str>,
    text: &str,
) {
    let result = match (channel, url) {
        (Some(channel), _) => {
            state
                .slack
                .post_ephemeral(channel, user.as_str(), text)
                .await
        }
        (None, Some(url)) => {
            let body =
                json!({"response_type": "ephemeral", "replace_original": false, "text": text});
            state.slack.post_to_response_url(url, body).await
        }
        (None, None) => Ok(()),
    };
    if let Err(e) = result {
        warn!(error = ?e, "cannot tell a teammate");
    }
}

// ---- events ---------------------------------------------------------------------------------

pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    verify(&state, &headers, &body)?;
    event_body(state, &body).await
}

/// An Events API body whose origin is established (signed over HTTP, or from Socket Mode).
pub(crate) async fn event_body(state: AppState, body: &[u8]) -> Result<Response, Refusal> {
    let request = inbound::parse_event(body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let (event_id, team_id, event) = match request {
        EventsRequest::UrlVerification { challenge } => {
            return Ok(Json(json!({ "challenge": challenge })).into_response());
        }
        EventsRequest::Callback {
            event_id,
            team_id,
            event,
        } => (event_id, team_id, event),
        EventsRequest::Other(_) => return Ok(StatusCode::OK.into_response()),
    };
    if team_id != state.config.slack.team_id {
        debug!(team_id, "event from another workspace ignored");
        return Ok(StatusCode::OK.into_response());
    }
    let at = |channel: &str, message: String| ChatRef {
        surface: Surface::Slack,
        workspace: team_id.clone(),
        channel: channel.to_string(),
        message,
    };
    let (thread, inbox_event) = match event {
        SlackEvent::ThreadMessage {
            channel,
            user,
            text,
            ts,
            thread_ts,
        } => (
            Some(at(&channel, thread_ts.clone())),
            InboxEvent::ThreadMessage {
                teammate: teammate(&user),
                thread: at(&channel, thread_ts),
                message: at(&channel, ts),
                text,
                roles: Vec::new(),
            },
        ),
        SlackEvent::MessageEdited {
            channel,
            user,
            ts,
            text,
            thread_ts,
        } => (
            thread_ts.map(|t| at(&channel, t)),
            InboxEvent::MessageEdited {
                teammate: teammate(&user),
                message: at(&channel, ts),
                text,
            },
        ),
        SlackEvent::MessageDeleted {
            channel,
            ts,
            thread_ts,
        } => (
            thread_ts.map(|t| at(&channel, t)),
            InboxEvent::MessageDeleted {
                message: at(&channel, ts),
            },
        ),
        SlackEvent::Ignored(why) => {
            debug!(why, "Slack event ignored");
            return Ok(StatusCode::OK.into_response());
        }
    };
    // In a card's thread, the event joins its ticket's lane (ordered with the card's clicks).
    let ticket = match thread {
        Some(thread) => state
            .store
            .ticket_by_chat(&thread)
            .await
            .map_err(|e| Refusal::internal("cannot look up a Slack thread", e))?,
        None => None,
    };
    // Slack retries reuse the event id: dedupe on it.
    store_in_thread(&state, event_id, inbox_event, ticket).await?;
    Ok(StatusCode::OK.into_response())
}

// ---- interactions ---------------------------------------------------------------------------

pub async fn interactions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    verify(&state, &headers, &body)?;
    interaction_body(state, &body).await
}

/// An interaction's form body (`payload=…`) whose origin is established.
pub(crate) async fn interaction_body(state: AppState, body: &[u8]) -> Result<Response, Refusal> {
    let interaction = inbound::parse_interaction(body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    match interaction {
        Interaction::BlockActions {
            team_id,
            user_id,
            channel_id,
            trigger_id,
            response_url,
            actions,
            ..
        } => {
            if team_id != state.config.slack.team_id {
                return Ok(StatusCode::OK.into_response());
            }
            let click = Click {
                user: user_id,
                channel: channel_id,
                trigger_id,
                response_url,
            };
            for action in actions {
                block_action(&state, &click, action).await?;
            }
            Ok(StatusCode::OK.into_response())
        }
        Interaction::ViewSubmission {
            team_id,
            user_id,
            view_id,
            callback_id,
            private_metadata,
            values,
        } => {
            if team_id != state.config.slack.team_id {
                return Ok(StatusCode::OK.into_response());
            }
            submission(
                &state,
                &user_id,
                &view_id,
                &callback_id,
                &private_metadata,
                &values,
            )
            .await
        }
        Interaction::ViewClosed {
            team_id,
            user_id,
            callback_id,
            ..
        } => {
            if team_id == state.config.slack.team_id
                && let Some(ModalKind::Reply(ticket)) = ModalKind::parse(&callback_id)
            {
                let event = InboxEvent::ReplyModal {
                    teammate: teammate(&user_id),
                    ticket,
                    open: false,
                };
                let key = format!(
                    "closed:{user_id}:{ticket}:{}",
                    Utc::now().timestamp_micros()
                );
                store(&state, key, event).await?;
            }
            Ok(StatusCode::OK.into_response())
        }
        Interaction::BlockSuggestion {
            team_id,
            action_id,
            value,
            ..
        } => {
            let ours = matches!(
                action_id.parse::<ActionId>(),
                Ok(ActionId {
                    action: CardAction::SavedReply,
                    ..
                })
            );
            if team_id != state.config.slack.team_id || !ours {
                return Ok(Json(json!({ "options": [] })).into_response());
            }
            let index =
                state.saved.index(&state.store).await.map_err(|e| {
                    Refusal::internal("cannot load saved replies", format!("{e:#}"))
                })?;
            let matches = index.search(&value, 100);
            Ok(Json(render::saved_reply_options(&matches)).into_response())
        }
        Interaction::Other(kind) => {
            debug!(kind, "interaction ignored");
            Ok(StatusCode::OK.into_response())
        }
    }
}

struct Click {
    user: ChatUserId,
    channel: Option<String>,
    trigger_id: String,
    response_url: Option<String>,
}

impl Click {
    async fn tell(&self, state: &AppState, text: &str) {
        tell(
            state,
            &self.user,
            self.channel.as_deref(),
            self.response_url.as_deref(),
            text,
        )
        .await
    }
}

async fn block_action(state: &AppState, click: &Click, action: BlockAction) -> Result<(), Refusal> {
    if action.action_id == render::PERMALINK_ACTION_ID {
        return Ok(());
    }
    match action.action_id.parse::<SavedReplyAction>() {
        Ok(a) => return library_action(state, click, a).await,
        Err(SavedReplyActionError::Foreign) => {}
        Err(e) => return Err(Refusal::new(StatusCode::BAD_REQUEST, e.to_string())),
    }
    if let Ok(a) = action.action_id.parse::<crate::core::storm::StormAction>() {
        return storm_click(state, click, a, &action).await;
    }
    let id = match action.action_id.parse::<ActionId>() {
        Ok(id) => id,
        // Not one of ours.
        Err(ActionIdError::Foreign) => return Ok(()),
        Err(e) => return Err(Refusal::new(StatusCode::BAD_REQUEST, e.to_string())),
    };
    if let Some(p) = id.action.permission()
        && !allowed(state, &click.user, p).await?
    {
        click.tell(state, &text::refused(p)).await;
        return Ok(());
    }
    let me = teammate(&click.user);
    // Only the tickets of the channel clicked in (a card there, or a saved-reply "Use" button
    // of a search run there).
    if let Some(t) = ticket(state, id.ticket).await? {
        let scope = Scope::of(state, origin(&me, click.channel.as_deref())).await?;
        if !scope.admits(state, &t).await? {
            click.tell(state, &text::ticket_not_here(id.ticket.0)).await;
            return Ok(());
        }
    }
    match id.action {
        CardAction::Reply => open_reply(state, click, id.ticket, None).await,
        CardAction::SavedReply => {
            // From the card's picker (selected option) or a search result's "Use" (value).
            let chosen = action
                .selected
                .first()
                .cloned()
                .or(action.value.clone())
                .and_then(|v| v.parse::<i64>().ok())
                .map(SavedReplyId);
            open_reply(state, click, id.ticket, chosen).await
        }
        CardAction::EditTags => {
            let Some(ticket) = ticket(state, id.ticket).await? else {
                click.tell(state, text::NO_SUCH_TICKET).await;
                return Ok(());
            };
            let known = state
                .store
                .known_tags()
                .await
                .map_err(|e| Refusal::internal("cannot list tags", e))?;
            let view = render::tags_modal(id.ticket, &ticket.state.tags, &known);
            if let Err(e) = state.slack.open_view(&click.trigger_id, view).await {
                warn!(error = ?e, "cannot open the tags editor");
            }
            Ok(())
        }
        _ => {
            let event = InboxEvent::CardAction {
                teammate: me,
                action_id: action.action_id.clone(),
                value: action.value.clone(),
                selected: action.selected.clone(),
            };
            // A trigger id is unique per click.
            store(
                state,
                format!("{}:{}", click.trigger_id, action.action_id),
                event,
            )
            .await
        }
    }
}

/// A click on a storm card's control (see `server::storm`).
async fn storm_click(
    state: &AppState,
    click: &Click,
    a: crate::core::storm::StormAction,
    action: &BlockAction,
) -> Result<(), Refusal> {
    use super::storm::{Plan, permission, plan};
    if let Some(p) = permission(a.verb)
        && !allowed(state, &click.user, p).await?
    {
        click.tell(state, &text::refused(p)).await;
        return Ok(());
    }
    let me = teammate(&click.user);
    let scope = Scope::of(state, origin(&me, click.channel.as_deref())).await?;
    let here: Vec<String> = click.channel.iter().map(|c| format!("slack:{c}")).collect();
    let chosen = action.selected.first().map(String::as_str);
    let a_storm = a.storm;
    // Slack's confirm dialog asked already.
    match plan(state, &me, &scope, &here, a, chosen, true).await? {
        Plan::Tell(why) => click.tell(state, &why).await,
        Plan::Confirm | Plan::ConfirmHide(_) => {}
        Plan::AskWord => {
            let view = render::storm_hide_modal(a_storm);
            if let Err(e) = state.slack.open_view(&click.trigger_id, view).await {
                warn!(error = ?e, "cannot open the storm's hide form");
                click.tell(state, text::FORM_NOT_OPENED).await;
            }
        }
        Plan::ReplyEditor => {
            let Some(storm) = state
                .store
                .storm(a_storm)
                .await
                .map_err(|e| Refusal::internal("cannot read a storm", e))?
            else {
                return Ok(());
            };
            let choices = super::storm::reply_choices(state, &storm).await?;
            if choices.is_empty() {
                click.tell(state, text::STORM_REPLY_NOTHING_OPEN).await;
                return Ok(());
            }
            let index =
                state.saved.index(&state.store).await.map_err(|e| {
                    Refusal::internal("cannot load saved replies", format!("{e:#}"))
                })?;
            let saved = index.search("", 100);
            if saved.is_empty() {
                click.tell(state, text::STORM_REPLY_NO_LIBRARY).await;
                return Ok(());
            }
            let view = render::storm_reply_modal(storm.id, &choices, &saved);
            if let Err(e) = state.slack.open_view(&click.trigger_id, view).await {
                warn!(error = ?e, "cannot open the storm reply editor");
                click.tell(state, text::FORM_NOT_OPENED).await;
            }
        }
        Plan::Opened(ticket) => click.tell(state, &text::storm_card_opened(ticket)).await,
        Plan::Bulk(bulk) => {
            let matched = bulk.matched;
            let event = bulk.event(me, click.response_url.clone(), None);
            store(
                state,
                format!("{}:{}", click.trigger_id, action.action_id),
                event,
            )
            .await?;
            click.tell(state, &text::bulk_started(matched)).await;
        }
    }
    Ok(())
}

async fn ticket(state: &AppState, id: TicketId) -> Result<Option<crate::core::Ticket>, Refusal> {
    state
        .store
        .ticket(id)
        .await
        .map_err(|e| Refusal::internal("cannot read a ticket", e))
}

/// Open the reply editor, pre-filled with a saved reply (variables filled) if one was chosen.
async fn open_reply(
    state: &AppState,
    click: &Click,
    id: TicketId,
    saved: Option<SavedReplyId>,
) -> Result<(), Refusal> {
    let Some(ticket) = ticket(state, id).await? else {
        click.tell(state, text::NO_SUCH_TICKET).await;
        return Ok(());
    };
    let prefill = match saved {
        None => String::new(),
        Some(sid) => {
            let index =
                state.saved.index(&state.store).await.map_err(|e| {
                    Refusal::internal("cannot load saved replies", format!("{e:#}"))
                })?;
            let Some(reply) = index.get(sid) else {
                click.tell(state, &text::saved_reply_not_found(sid.0)).await;
                return Ok(());
            };
            let author = ticket.state.customer_name();
            let account = state
                .account(ticket.state.network, ticket.state.account.as_str())
                .map(|p| p.name.clone())
                .unwrap_or_else(|| ticket.state.account.to_string());
            let agent = state
                .directory
                .name(&state.slack, click.user.as_str())
                .await;
            let vars = Vars {
                author_name: &author,
                account_name: &account,
                agent_name: &agent,
            };
            match saved_reply::fill(&reply.body, &vars) {
                Ok(text) => text,
                Err(e) => {
                    // Never sent raw: say what is wrong, open nothing.
                    click.tell(state, &e.to_string()).await;
                    return Ok(());
                }
            }
        }
    };
    let view = render::reply_modal(id, &prefill);
    match state.slack.open_view(&click.trigger_id, view).await {
        Ok(_) => {
            let event = InboxEvent::ReplyModal {
                teammate: teammate(&click.user),
                ticket: id,
                open: true,
            };
            store(state, format!("{}:reply_open", click.trigger_id), event).await
        }
        Err(e) => {
            warn!(error = ?e, "cannot open the reply editor");
            Ok(())
        }
    }
}

/// Edit / Delete / New buttons of the saved-reply library.
async fn library_action(
    state: &AppState,
    click: &Click,
    action: SavedReplyAction,
) -> Result<(), Refusal> {
    if !allowed(state, &click.user, Permission::SavedReplies).await? {
        click
            .tell(state, &text::refused(Permission::SavedReplies))
            .await;
        return Ok(());
    }
    match action {
        SavedReplyAction::New => {
            if let Err(e) = state
                .slack
                .open_view(&click.trigger_id, render::saved_reply_modal(None))
                .await
            {
                warn!(error = ?e, "cannot open the saved-reply editor");
            }
        }
        SavedReplyAction::Edit(id) => {
            let existing = state
                .store
                .saved_reply(id)
                .await
                .map_err(|e| Refusal::internal("cannot read a saved reply", e))?;
            match existing {
                Some(r) => {
                    let view = render::saved_reply_modal(Some(&r));
                    if let Err(e) = state.slack.open_view(&click.trigger_id, view).await {
                        warn!(error = ?e, "cannot open the saved-reply editor");
                    }
                }
                None => click.tell(state, &text::saved_reply_not_found(id.0)).await,
            }
        }
        SavedReplyAction::Delete(id) => {
            let existing = state
                .store
                .saved_reply(id)
                .await
                .map_err(|e| Refusal::internal("cannot read a saved reply", e))?;
            let deleted = state
                .store
                .delete_saved_reply(id)
                .await
                .map_err(|e| Refusal::internal("cannot delete a saved reply", e))?;
            let answer = match (deleted, existing) {
                (true, Some(_)) => text::saved_reply_deleted(id.0),
                _ => text::saved_reply_not_found(id.0),
            };
            click.tell(state, &answer).await;
        }
    }
    Ok(())
}

type Values = std::collections::BTreeMap<String, std::collections::BTreeMap<String, InputValue>>;

/// A storm's "reply to selected" (see `server::storm::StormReplies`), from the editor opened
/// from the storm's card: its channel decides what may be answered.
async fn storm_reply_submission(
    state: &AppState,
    user: &ChatUserId,
    view_id: &str,
    storm: i64,
    values: &Values,
) -> Result<Response, Refusal> {
    use super::storm::{ReplyRefusal, StormReplies};
    if !allowed(state, user, Permission::Reply).await? {
        return Ok(modal_errors(json!({
            render::STORM_REPLY_COMMENTS_BLOCK: text::refused(Permission::Reply)
        })));
    }
    let tickets: Vec<TicketId> = input_value(
        values,
        render::STORM_REPLY_COMMENTS_BLOCK,
        render::STORM_REPLY_COMMENTS_ACTION,
    )
    .map(|v| v.list())
    .unwrap_or_default()
    .into_iter()
    .filter_map(|t| t.parse::<i64>().ok().map(TicketId))
    .collect();
    let saved = input_value(
        values,
        render::STORM_REPLY_SAVED_BLOCK,
        render::STORM_REPLY_SAVED_ACTION,
    )
    .and_then(InputValue::single)
    .and_then(|v| v.parse::<i64>().ok())
    .map(SavedReplyId);
    let replies = match StormReplies::check(state, storm, tickets, saved).await? {
        Ok(replies) => replies,
        Err(why) => {
            let block = match why {
                ReplyRefusal::NoSavedReply => render::STORM_REPLY_SAVED_BLOCK,
                ReplyRefusal::NoneChosen | ReplyRefusal::NoSuchStorm => {
                    render::STORM_REPLY_COMMENTS_BLOCK
                }
            };
            return Ok(modal_errors(json!({ block: why.text() })));
        }
    };
    let channel = replies
        .storm
        .channel
        .strip_prefix("slack:")
        .map(str::to_string);
    let me = teammate(user);
    let scope = Scope::of(state, origin(&me, channel.as_deref())).await?;
    let agent = state.directory.name(&state.slack, user.as_str()).await;
    let (queued, skipped) = replies
        .queue(state, &scope, &me, &agent, "slack", view_id)
        .await?;
    tell(
        state,
        user,
        channel.as_deref(),
        None,
        &text::storm_replies_queued(queued, skipped),
    )
    .await;
    Ok(StatusCode::OK.into_response())
}

/// "Hide a word" submitted (`sure`: its confirmation, the word carried in the view): the form
/// is answered with the confirmation and the count, the confirmation queues the hiding. Every
/// refusal changes nothing: shown by the word on the form, told ephemerally after it.
async fn storm_hide_submission(
    state: &AppState,
    user: &ChatUserId,
    view_id: &str,
    storm: i64,
    word: Option<&str>,
    sure: bool,
) -> Result<Response, Refusal> {
    use super::storm::{Plan, plan};
    use crate::core::storm::{StormAction, StormVerb, typed_word};
    let Some(row) = state
        .store
        .storm(storm)
        .await
        .map_err(|e| Refusal::internal("cannot read a storm", e))?
    else {
        // The confirmation has no input to show an error by (Slack refuses such an answer):
        // it closes; the storm is gone (retention), so there is nothing to hide.
        return Ok(if sure {
            StatusCode::OK.into_response()
        } else {
            modal_errors(json!({ render::STORM_HIDE_WORD_BLOCK: text::NO_SUCH_STORM }))
        });
    };
    // The form was opened from the storm's card: its channel decides what may be hidden.
    let channel = row.channel.strip_prefix("slack:").map(str::to_string);
    let refuse = async |why: &str| -> Response {
        if sure {
            tell(state, user, channel.as_deref(), None, why).await;
            StatusCode::OK.into_response()
        } else {
            modal_errors(json!({ render::STORM_HIDE_WORD_BLOCK: why }))
        }
    };
    if !allowed(state, user, Permission::Moderate).await? {
        return Ok(refuse(&text::refused(Permission::Moderate)).await);
    }
    let Some(word) = typed_word(word.unwrap_or_default()) else {
        return Ok(refuse(&text::storm_hide_word_refused()).await);
    };
    let me = teammate(user);
    let scope = Scope::of(state, origin(&me, channel.as_deref())).await?;
    let verb = if sure {
        StormVerb::HideMatchingConfirmed
    } else {
        StormVerb::HideMatching
    };
    let a = StormAction {
        verb,
        storm,
        arg: Some(word.to_string()),
    };
    // `asks`: this form is the question, so the plan comes back as the bulk it would run.
    match plan(
        state,
        &me,
        &scope,
        std::slice::from_ref(&row.channel),
        a,
        None,
        true,
    )
    .await?
    {
        Plan::Bulk(bulk) if !sure => Ok(Json(json!({
            "response_action": "update",
            "view": render::storm_hide_sure_modal(storm, word, bulk.matched),
        }))
        .into_response()),
        Plan::Bulk(bulk) => {
            let matched = bulk.matched;
            let event = bulk.event(me, None, None);
            store(state, format!("view:{view_id}"), event).await?;
            tell(
                state,
                user,
                channel.as_deref(),
                None,
                &text::bulk_started(matched),
            )
            .await;
            Ok(StatusCode::OK.into_response())
        }
        Plan::Tell(why) => Ok(refuse(&why).await),
        _ => Ok(StatusCode::OK.into_response()),
    }
}

/// A modal's errors, shown next to its inputs; nothing is stored.
fn modal_errors(errors: Value) -> Response {
    Json(json!({ "response_action": "errors", "errors": errors })).into_response()
}

async fn submission(
    state: &AppState,
    user: &ChatUserId,
    view_id: &str,
    callback_id: &str,
    private_metadata: &str,
    values: &Values,
) -> Result<Response, Refusal> {
    let single = |block: &str, action: &str| {
        input_value(values, block, action)
            .and_then(InputValue::single)
            .map(str::to_string)
    };
    match ModalKind::parse(callback_id) {
        Some(ModalKind::Reply(ticket_id)) => {
            let Some(reply) = single(render::REPLY_BLOCK, render::REPLY_ACTION) else {
                return Ok(modal_errors(
                    json!({ render::REPLY_BLOCK: text::REPLY_EMPTY }),
                ));
            };
            if !allowed(state, user, Permission::Reply).await? {
                return Ok(modal_errors(
                    json!({ render::REPLY_BLOCK: text::refused(Permission::Reply) }),
                ));
            }
            // The network's window and limit for this kind of conversation (the editor
            // allows more).
            if let Some(t) = ticket(state, ticket_id).await?
                && let Err(e) = crate::core::capabilities::check_reply(
                    &t,
                    &state.capabilities(&t.state),
                    &reply,
                    Utc::now(),
                )
            {
                return Ok(modal_errors(json!({ render::REPLY_BLOCK: e.to_string() })));
            }
            // A variable left in the text is never sent raw.
            if let Err(e) = saved_reply::check(&reply) {
                return Ok(modal_errors(json!({ render::REPLY_BLOCK: e.to_string() })));
            }
            let event = InboxEvent::ModalReply {
                teammate: teammate(user),
                ticket: ticket_id,
                view_id: view_id.to_string(),
                text: reply,
            };
            store(state, format!("view:{view_id}"), event).await?;
            Ok(StatusCode::OK.into_response())
        }
        Some(ModalKind::Tags(ticket)) => {
            let mut tags: Vec<String> =
                input_value(values, render::TAGS_KNOWN_BLOCK, render::TAGS_KNOWN_ACTION)
                    .map(|v| v.list().into_iter().map(str::to_string).collect())
                    .unwrap_or_default();
            if let Some(new) = single(render::TAGS_NEW_BLOCK, render::TAGS_NEW_ACTION) {
                tags.extend(new.split(',').map(|t| t.trim().to_string()));
            }
            let event = InboxEvent::TagsSubmitted {
                teammate: teammate(user),
                ticket,
                tags,
            };
            store(state, format!("view:{view_id}"), event).await?;
            Ok(StatusCode::OK.into_response())
        }
        Some(ModalKind::StormReply(storm)) => {
            storm_reply_submission(state, user, view_id, storm, values).await
        }
        Some(ModalKind::StormHide(storm)) => {
            let word = single(
                render::STORM_HIDE_WORD_BLOCK,
                render::STORM_HIDE_WORD_ACTION,
            );
            storm_hide_submission(state, user, view_id, storm, word.as_deref(), false).await
        }
        Some(ModalKind::StormHideSure(storm)) => {
            storm_hide_submission(state, user, view_id, storm, Some(private_metadata), true).await
        }
        Some(ModalKind::SavedReply(id)) => {
            if !allowed(state, user, Permission::SavedReplies).await? {
                return Ok(modal_errors(json!({
                    render::SAVED_REPLY_NAME_BLOCK: text::refused(Permission::SavedReplies)
                })));
            }
            let name = single(
                render::SAVED_REPLY_NAME_BLOCK,
                render::SAVED_REPLY_NAME_ACTION,
            )
            .unwrap_or_default();
            let body = single(
                render::SAVED_REPLY_BODY_BLOCK,
                render::SAVED_REPLY_BODY_ACTION,
            )
            .unwrap_or_default();
            if let Err(e) = saved_reply::validate_for_save(&name, &body) {
                use saved_reply::SavedReplyError as E;
                let about_name =
                    matches!(e, E::NameEmpty | E::NameTooLong { .. } | E::NameMultiline);
                let block = if about_name {
                    render::SAVED_REPLY_NAME_BLOCK
                } else {
                    render::SAVED_REPLY_BODY_BLOCK
                };
                return Ok(modal_errors(json!({ block: e.to_string() })));
            }
            let by = format!("slack:{user}");
            let now = Utc::now();
            let outcome = match id {
                None => match state.store.create_saved_reply(&name, &body, &by, now).await {
                    Ok(Ok(_)) => SavedReplyWrite::Done,
                    Ok(Err(_)) => SavedReplyWrite::NameTaken,
                    Err(e) => return Err(Refusal::internal("cannot save a saved reply", e)),
                },
                Some(id) => state
                    .store
                    .update_saved_reply(id, &name, &body, &by, now)
                    .await
                    .map_err(|e| Refusal::internal("cannot save a saved reply", e))?,
            };
            match outcome {
                SavedReplyWrite::Done => Ok(StatusCode::OK.into_response()),
                SavedReplyWrite::NameTaken => Ok(modal_errors(json!({
                    render::SAVED_REPLY_NAME_BLOCK: text::saved_reply_name_taken(&name)
                }))),
                SavedReplyWrite::NotFound => Ok(modal_errors(json!({
                    render::SAVED_REPLY_NAME_BLOCK: text::saved_reply_not_found(id.map(|i| i.0).unwrap_or(0))
                }))),
            }
        }
        None => Ok(StatusCode::OK.into_response()),
    }
}

// ---- slash commands -------------------------------------------------------------------------

/// Slack's SSL check: with a custom certificate, Slack occasionally POSTs `ssl_check=1` (and a
/// `token`) to a slash command's URL, unsigned, and expects a 200. Answered before
/// verification, with nothing parsed further and nothing stored (as bolt's `SslCheck`
/// middleware does; Slack's slash-command docs).
fn is_ssl_check(body: &[u8]) -> bool {
    url::form_urlencoded::parse(body).any(|(k, v)| k == "ssl_check" && v == "1")
}

pub async fn commands(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    if is_ssl_check(&body) {
        return Ok(StatusCode::OK.into_response());
    }
    verify(&state, &headers, &body)?;
    command_body(state, &body).await
}

/// A slash command's form body whose origin is established.
pub(crate) async fn command_body(state: AppState, body: &[u8]) -> Result<Response, Refusal> {
    let command = inbound::parse_command(body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    if command.team_id != state.config.slack.team_id {
        return Ok(ephemeral(text::command_unknown(&command.command, "")).into_response());
    }
    let words: Vec<&str> = command.text.split_whitespace().collect();
    let answer = match words.split_first() {
        None | Some((&"help", _)) => {
            ephemeral(text::command_help(&command.command)).into_response()
        }
        Some((&"reply", rest)) | Some((&"replies", rest)) => {
            saved_replies_command(&state, &command, rest).await?
        }
        Some((&"queue", rest)) => queue_command(&state, &command, rest).await?,
        Some((&"stats", rest)) => stats_command(&state, &command, rest).await?,
        Some((&"connect", rest)) => connect_command(&state, &command, rest).await?,
        Some((&"accounts", _)) => accounts_command(&state, &command).await?,
        Some((&"disconnect", rest)) => disconnect_command(&state, &command, rest).await?,
        Some((&"erase", rest)) => erase_command(&state, &command, rest).await?,
        Some((&"assign", rest)) => assign_command(&state, &command, rest).await?,
        Some((&"away", rest)) => away_command(&state, &command, rest).await?,
        Some((verb, rest)) => match CardAction::from_bulk_verb(verb) {
            Some(action) => bulk_command(&state, &command, action, rest).await?,
            None => ephemeral(text::command_unknown(&command.command, verb)).into_response(),
        },
    };
    Ok(answer)
}

/// Only admins connect and disconnect accounts (they choose what the whole team sees).
async fn is_admin(state: &AppState, command: &SlashCommand) -> Result<bool, Refusal> {
    state
        .directory
        .is_admin_as(
            &state.slack,
            &state.config,
            &teammate(&command.user_id),
            &[],
        )
        .await
        .map_err(|e| Refusal::internal("cannot check the admin list", format!("{e:#}")))
}

async fn connect_command(
    state: &AppState,
    command: &SlashCommand,
    words: &[&str],
) -> Result<Response, Refusal> {
    // The conversations go where the command was run: a direct message is no inbox.
    if command.in_direct_message() {
        return Ok(ephemeral(text::CONNECT_IN_A_DM).into_response());
    }
    let network = match super::connectable(state, words.first().copied().unwrap_or_default()) {
        Ok(network) => network,
        Err(usage) => return Ok(ephemeral(usage).into_response()),
    };
    if !is_admin(state, command).await? {
        return Ok(ephemeral(text::ADMINS_ONLY).into_response());
    }
    let link = super::oauth::authorization_link(
        state,
        network,
        Surface::Slack,
        &command.team_id,
        &command.channel_id,
        command.user_id.as_str(),
    );
    Ok(match link {
        Ok(url) => ephemeral(text::connect_link(network, &url)).into_response(),
        Err(_) => ephemeral(text::OAUTH_NOT_CONFIGURED).into_response(),
    })
}

async fn accounts_command(state: &AppState, command: &SlashCommand) -> Result<Response, Refusal> {
    if !is_admin(state, command).await? {
        return Ok(ephemeral(text::ADMINS_ONLY).into_response());
    }
    let listing = super::accounts_listing(state).await?;
    Ok(ephemeral(render::mrkdwn_of(&listing, 3000)).into_response())
}

async fn disconnect_command(
    state: &AppState,
    command: &SlashCommand,
    words: &[&str],
) -> Result<Response, Refusal> {
    let Some(id) = words
        .first()
        .and_then(|w| w.trim_start_matches('#').parse::<i64>().ok())
    else {
        return Ok(ephemeral(text::DISCONNECT_USAGE).into_response());
    };
    if !is_admin(state, command).await? {
        return Ok(ephemeral(text::ADMINS_ONLY).into_response());
    }
    let removed = crate::workers::accounts::disconnect(state, id)
        .await
        .map_err(|e| Refusal::internal("cannot disconnect an account", format!("{e:#}")))?;
    Ok(match removed {
        Some(name) => ephemeral(render::mrkdwn_of(&text::account_disconnected(&name), 3000)),
        None => ephemeral(text::account_not_found(id)),
    }
    .into_response())
}

/// `erase #N`: an admin erases the customer of a ticket routed to this channel (all their
/// tickets on that network), off the request path.
async fn erase_command(
    state: &AppState,
    command: &SlashCommand,
    words: &[&str],
) -> Result<Response, Refusal> {
    let Some(id) = words
        .first()
        .and_then(|w| w.trim_start_matches('#').parse::<i64>().ok())
        .map(TicketId)
    else {
        return Ok(ephemeral(text::ERASE_USAGE).into_response());
    };
    if !is_admin(state, command).await? {
        return Ok(ephemeral(text::ADMINS_ONLY).into_response());
    }
    let me = teammate(&command.user_id);
    let scope = Scope::of(state, origin(&me, Some(&command.channel_id))).await?;
    let ticket = match command_ticket(state, &scope, id).await? {
        Ok(t) => t,
        Err(why) => return Ok(ephemeral(why).into_response()),
    };
    let event = InboxEvent::Erase {
        teammate: me,
        ticket: id,
        network: ticket.state.network,
        customer: ticket.state.customer.id.clone(),
    };
    store(state, format!("erase:{}", command.trigger_id), event).await?;
    Ok(ephemeral(text::erase_started(id.0)).into_response())
}

async fn saved_replies_command(
    state: &AppState,
    command: &SlashCommand,
    words: &[&str],
) -> Result<Response, Refusal> {
    if words == ["new"] {
        if !allowed(state, &command.user_id, Permission::SavedReplies).await? {
            return Ok(ephemeral(text::refused(Permission::SavedReplies)).into_response());
        }
        if let Err(e) = state
            .slack
            .open_view(&command.trigger_id, render::saved_reply_modal(None))
            .await
        {
            warn!(error = ?e, "cannot open the saved-reply editor");
        }
        return Ok(StatusCode::OK.into_response());
    }
    // `#42` names the ticket a "Use" button fills a reply for: one of this channel's.
    let ticket = words
        .iter()
        .find_map(|w| w.strip_prefix('#').and_then(|n| n.parse::<i64>().ok()))
        .map(TicketId);
    if let Some(id) = ticket {
        let me = teammate(&command.user_id);
        let scope = Scope::of(state, origin(&me, Some(&command.channel_id))).await?;
        if let Err(why) = command_ticket(state, &scope, id).await? {
            return Ok(ephemeral(why).into_response());
        }
    }
    let query: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !w.starts_with('#'))
        .collect();
    let query = query.join(" ");
    let index = state
        .saved
        .index(&state.store)
        .await
        .map_err(|e| Refusal::internal("cannot load saved replies", format!("{e:#}")))?;
    let matches = index.search(&query, render::MAX_SEARCH_RESULTS);
    Ok(Json(render::saved_reply_search_results(&query, &matches, ticket)).into_response())
}

/// `away on|off`: the teammate's own away flag (round-robin rules skip them while it is on).
/// Anything else changes nothing and says how.
async fn away_command(
    state: &AppState,
    command: &SlashCommand,
    words: &[&str],
) -> Result<Response, Refusal> {
    let Some(away) = (match words {
        [word] => crate::core::autoassign::parse_away(word),
        _ => None,
    }) else {
        return Ok(ephemeral(text::away_usage(&command.command)).into_response());
    };
    state
        .store
        .set_away(&teammate(&command.user_id), away, Utc::now())
        .await
        .map_err(|e| Refusal::internal("cannot record an away flag", e))?;
    Ok(ephemeral(text::away_set(away, &command.command)).into_response())
}

async fn queue_command(
    state: &AppState,
    command: &SlashCommand,
    words: &[&str],
) -> Result<Response, Refusal> {
    let Some(queue) = words.first().and_then(|w| Queue::parse(w)) else {
        return Ok(ephemeral(text::queue_unknown(&command.command)).into_response());
    };
    let me = teammate(&command.user_id);
    let Ok(route) = Scope::of(state, origin(&me, Some(&command.channel_id)))
        .await?
        .route()
    else {
        return Ok(ephemeral(text::NOT_AN_INBOX_CHANNEL).into_response());
    };
    let teams = state
        .directory
        .teams_of(&state.slack, &state.config, command.user_id.as_str())
        .await;
    let filter = Filter {
        route,
        ..queue.filter(&me, &teams)
    };
    let tickets = state
        .store
        .find_tickets(&filter, super::QUEUE_SORT_WINDOW)
        .await
        .map_err(|e| Refusal::internal("cannot list a queue", e))?;
    let listing = super::queue_listing(state, words[0], &tickets, QUEUE_LIST_LIMIT).await?;
    let listing = super::away_reminder(state, &me, queue, listing).await?;
    Ok(Json(render::ephemeral(&listing)).into_response())
}

/// `stats [7d|30d|<from>..<to>] [network:…] [team:…]`: the statistics of this channel's
/// tickets (every ticket for an admin), ephemeral.
async fn stats_command(
    state: &AppState,
    command: &SlashCommand,
    words: &[&str],
) -> Result<Response, Refusal> {
    let me = teammate(&command.user_id);
    let Ok(route) = Scope::of(state, origin(&me, Some(&command.channel_id)))
        .await?
        .route()
    else {
        return Ok(ephemeral(text::NOT_AN_INBOX_CHANNEL).into_response());
    };
    // Slack user ids are letters and digits; anything else is shown as text, never as markup.
    let mention = |t: &Teammate| {
        (t.surface == Surface::Slack && t.id.as_str().chars().all(|c| c.is_ascii_alphanumeric()))
            .then(|| render::mention(t))
    };
    let hours = state
        .config
        .channel_rules(&crate::config::Destination::Slack {
            channel: &command.channel_id,
        })
        .hours;
    let answer =
        super::stats_answer(state, words, route, &command.command, &mention, hours).await?;
    Ok(Json(render::ephemeral(&answer)).into_response())
}

async fn bulk_command(
    state: &AppState,
    command: &SlashCommand,
    action: CardAction,
    words: &[&str],
) -> Result<Response, Refusal> {
    let me = teammate(&command.user_id);
    let Ok(route) = Scope::of(state, origin(&me, Some(&command.channel_id)))
        .await?
        .route()
    else {
        return Ok(ephemeral(text::NOT_AN_INBOX_CHANNEL).into_response());
    };
    let needed = action.bulk_permission();
    if !allowed(state, &command.user_id, needed).await? {
        let why = match needed {
            Permission::Bulk => text::refused_bulk(state.config.permissions.bulk.is_some()),
            p => text::refused(p),
        };
        return Ok(ephemeral(why).into_response());
    }
    let teams = state.config.team_names();
    let filter = match filter::parse(words, &me, &teams) {
        // Only this channel's tickets (the inbox worker matches the same filter later).
        Ok(f) => Filter { route, ..f },
        Err(e) => return Ok(ephemeral(format!(":warning: {e}")).into_response()),
    };
    let matched = state
        .store
        .find_tickets(&filter, MAX_BULK_TICKETS)
        .await
        .map_err(|e| Refusal::internal("cannot match tickets", e))?
        .len();
    if matched == 0 {
        return Ok(ephemeral(text::NO_MATCH).into_response());
    }
    let event = InboxEvent::Bulk {
        teammate: me,
        action,
        filter,
        response_url: Some(command.response_url.clone()),
        discord_token: None,
        tag: None,
        keyword: None,
        assignee: None,
    };
    store(state, format!("bulk:{}", command.trigger_id), event).await?;
    Ok(ephemeral(text::bulk_started(matched)).into_response())
}

/// `assign #42 me|@someone|team:<name>|none [note…]`: an assignment with a note for the
/// assignee (the card's pickers cannot carry one).
async fn assign_command(
    state: &AppState,
    command: &SlashCommand,
    words: &[&str],
) -> Result<Response, Refusal> {
    let usage = || ephemeral(text::assign_usage(&command.command)).into_response();
    let [number, who, note @ ..] = words else {
        return Ok(usage());
    };
    let Some(id) = number
        .strip_prefix('#')
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .map(TicketId)
    else {
        return Ok(usage());
    };
    let me = teammate(&command.user_id);
    let lower = who.to_ascii_lowercase();
    let assignee = if lower == "me" {
        Some(Assignee::Person(me.clone()))
    } else if lower == "none" {
        None
    } else if let Some(name) = lower.strip_prefix("team:") {
        match state.config.team(name) {
            Some(t) => Some(Assignee::Team(t.name.clone())),
            None => return Ok(usage()),
        }
    } else if let Some(inner) = who.strip_prefix("<@").and_then(|w| w.strip_suffix('>')) {
        let user = inner.split('|').next().unwrap_or("");
        if user.is_empty() {
            return Ok(usage());
        }
        Some(Assignee::Person(teammate(&ChatUserId::new(user))))
    } else {
        return Ok(usage());
    };
    if !allowed(state, &command.user_id, Permission::Assign).await? {
        return Ok(ephemeral(text::refused(Permission::Assign)).into_response());
    }
    let scope = Scope::of(state, origin(&me, Some(&command.channel_id))).await?;
    if let Err(why) = command_ticket(state, &scope, id).await? {
        return Ok(ephemeral(why).into_response());
    }
    let note = Some(note.join(" ")).filter(|n| !n.trim().is_empty());
    let event = InboxEvent::Assign {
        teammate: me,
        ticket: id,
        assignee,
        note,
    };
    store(state, format!("assign:{}", command.trigger_id), event).await?;
    Ok(ephemeral(text::assign_done(id.0)).into_response())
}
