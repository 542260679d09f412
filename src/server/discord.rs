//! Discord interactions, from either door: `POST /discord/interactions` (verified: Ed25519
//! over timestamp + raw body, a 5-minute window; refused when `[discord]` is missing) or the
//! gateway's `INTERACTION_CREATE` (see `server::gateway`, which posts [`respond`]'s answer to
//! the callback endpoint). Both produce the same answer from [`respond`].
//!
//! State changes go into the inbox (committed before the answer), exactly like Slack's. Modals
//! and ephemeral answers are returned directly: an interaction must be answered within 3
//! seconds, and a modal can only be opened as that answer. Permission checks use the member's
//! roles carried by the interaction, so a refused member is told at once and nothing is stored.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use chrono::Utc;
use serde_json::{Value, json};
use tracing::debug;

use super::scope::{Origin, Scope, command_ticket};
use super::{AppState, Refusal};
use crate::chat::discord::inbound::{
    self, CommandOption, Interaction, Kind, SelectField, TextField,
};
use crate::chat::discord::render::{self, CALLBACK_DEFERRED_UPDATE, CALLBACK_PONG, ephemeral};
use crate::chat::discord::{parse_custom_id, signature};
use crate::config::DiscordChannelKind;
use crate::core::action::ActionIdError;
use crate::core::filter::{self, Filter, Queue};
use crate::core::permission::Permission;
use crate::core::saved_reply::{self, SavedReplyId, Vars};
use crate::core::storm::{StormAction, StormVerb, typed_word};
use crate::core::{ActionId, Assignee, CardAction, ChatUserId, Surface, Teammate, TicketId, text};
use crate::store::SavedReplyWrite;
use crate::workers::inbox::MAX_BULK_TICKETS;
use crate::workers::{InboxEvent, Services};

/// Requests older (or newer) than this are refused, like Slack's window.
const REPLAY_WINDOW_SECS: i64 = 300;
/// Tickets listed by the queue command.
const QUEUE_LIST_LIMIT: i64 = 20;

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
        .is_some_and(|t| Utc::now().timestamp().abs_diff(t) <= REPLAY_WINDOW_SECS.unsigned_abs());
    if !fresh {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "stale or unreadable timestamp",
        ));
    }
    let interaction = inbound::parse_interaction(&body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    Ok(Json(respond(&state, &interaction).await?))
}

/// Who acted, as the core knows them, with their roles (for permissions).
struct Member<'a> {
    teammate: Teammate,
    roles: &'a [String],
    name: String,
}

/// The answer to one interaction: the HTTP response body, or the gateway callback body.
pub async fn respond(svc: &Services, i: &Interaction) -> Result<Value, Refusal> {
    if i.kind == Kind::Ping {
        return Ok(json!({ "type": CALLBACK_PONG }));
    }
    let Some(user) = i.user.as_ref() else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "interaction without a user",
        ));
    };
    let servers = svc
        .config
        .discord
        .as_ref()
        .map(|d| d.servers.as_slice())
        .unwrap_or_default();
    // Only configured servers (and DMs with the bot, where assignees get notices) are served.
    if let Some(guild) = &i.guild_id
        && !servers.iter().any(|s| &s.guild_id == guild)
    {
        return Ok(ephemeral(text::DISCORD_UNKNOWN_SERVER));
    }
    let member = Member {
        teammate: Teammate {
            surface: Surface::Discord,
            id: ChatUserId::new(user.user_id.clone()),
        },
        roles: &user.roles,
        name: user.name.clone().unwrap_or_else(|| user.user_id.clone()),
    };
    match &i.kind {
        Kind::Ping => Ok(json!({ "type": CALLBACK_PONG })),
        Kind::Component {
            custom_id, values, ..
        } => component(svc, i, &member, custom_id, values).await,
        Kind::ModalSubmit {
            custom_id,
            fields,
            selects,
        } => modal_submit(svc, i, &member, custom_id, fields, selects).await,
        Kind::Command { options, .. } => command(svc, i, &member, options).await,
        Kind::Autocomplete { focused, .. } => {
            let typed = focused.as_ref().map(|f| f.value.as_str()).unwrap_or("");
            let index =
                svc.saved.index(&svc.store).await.map_err(|e| {
                    Refusal::internal("cannot load saved replies", format!("{e:#}"))
                })?;
            let choices: Vec<(String, String)> = index
                .search(typed, render::MAX_SELECT_OPTIONS)
                .into_iter()
                .map(|r| (r.name.clone(), r.id.0.to_string()))
                .collect();
            Ok(render::autocomplete(&choices))
        }
    }
}

async fn allowed(svc: &Services, m: &Member<'_>, what: Permission) -> Result<bool, Refusal> {
    svc.directory
        .allowed_as(&svc.slack, &svc.config, &m.teammate, m.roles, what)
        .await
        .map_err(|e| Refusal::internal("cannot check permissions", format!("{e:#}")))
}

/// Commit an inbox event keyed by the interaction id (unique per click or submission).
async fn store(svc: &Services, i: &Interaction, event: InboxEvent) -> Result<(), Refusal> {
    let row = event
        .to_row("discord", i.id.clone())
        .map_err(|e| Refusal::internal("cannot serialise an inbox event", e))?;
    let inserted = svc
        .inbox
        .insert(vec![row])
        .await
        .map_err(|e| Refusal::internal("cannot store a Discord interaction", e))?;
    if inserted > 0 {
        svc.wake_inbox.notify_one();
    } else {
        debug!("duplicate Discord interaction ignored");
    }
    Ok(())
}

async fn ticket(svc: &Services, id: TicketId) -> Result<Option<crate::core::Ticket>, Refusal> {
    svc.store
        .ticket(id)
        .await
        .map_err(|e| Refusal::internal("cannot read a ticket", e))
}

/// Where an interaction came from (a thread counts as its parent channel).
fn origin<'a>(i: &'a Interaction, m: &'a Member<'_>) -> Origin<'a> {
    Origin {
        teammate: &m.teammate,
        roles: m.roles,
        channel: i.channel_id.as_deref(),
        parent: i.channel_parent.as_deref(),
    }
}

/// The refusal for a click about a ticket routed to another channel (`None`: go ahead; a
/// missing ticket is answered by the action itself).
async fn elsewhere(
    svc: &Services,
    i: &Interaction,
    m: &Member<'_>,
    id: TicketId,
) -> Result<Option<Value>, Refusal> {
    let Some(t) = ticket(svc, id).await? else {
        return Ok(None);
    };
    let scope = Scope::of(svc, origin(i, m)).await?;
    Ok((!scope.admits(svc, &t).await?).then(|| ephemeral(&text::ticket_not_here(id.0))))
}

fn deferred_update() -> Value {
    json!({ "type": CALLBACK_DEFERRED_UPDATE })
}

// ---- components -------------------------------------------------------------------------------

async fn component(
    svc: &Services,
    i: &Interaction,
    m: &Member<'_>,
    custom_id: &str,
    values: &[String],
) -> Result<Value, Refusal> {
    // The saved-reply select shown after "Saved reply…": open the editor pre-filled.
    if let Some(rest) = custom_id.strip_prefix(render::SAVED_REPLY_SELECT) {
        let ticket_id = rest.trim_start_matches(':').parse::<i64>().ok();
        let saved = values.first().and_then(|v| v.parse::<i64>().ok());
        let (Some(t), Some(s)) = (ticket_id, saved) else {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "malformed saved-reply select",
            ));
        };
        if let Some(refusal) = elsewhere(svc, i, m, TicketId(t)).await? {
            return Ok(refusal);
        }
        return open_reply(svc, m, TicketId(t), Some(SavedReplyId(s))).await;
    }
    // The tag picker shown after "Tags": set the chosen tags, or open the editor for new ones.
    for (prefix, new) in [(render::TAGS_SELECT, false), (render::TAGS_NEW, true)] {
        let Some(rest) = custom_id.strip_prefix(prefix) else {
            continue;
        };
        let Some(ticket_id) = rest
            .trim_start_matches(':')
            .parse::<i64>()
            .ok()
            .map(TicketId)
        else {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "malformed tag picker",
            ));
        };
        if let Some(p) = CardAction::EditTags.permission()
            && !allowed(svc, m, p).await?
        {
            return Ok(ephemeral(&text::refused(p)));
        }
        if let Some(refusal) = elsewhere(svc, i, m, ticket_id).await? {
            return Ok(refusal);
        }
        let Some(t) = ticket(svc, ticket_id).await? else {
            return Ok(ephemeral(text::NO_SUCH_TICKET));
        };
        if new {
            return Ok(render::tags_modal(ticket_id, &t.state.tags));
        }
        // The select shows at most 25 tags: the ticket's tags it could not show are kept.
        let known = svc
            .store
            .known_tags()
            .await
            .map_err(|e| Refusal::internal("cannot list tags", e))?;
        let offered = render::offered_tags(&known, &t.state.tags);
        let mut tags: Vec<String> = t
            .state
            .tags
            .iter()
            .filter(|tag| !offered.contains(tag))
            .cloned()
            .collect();
        tags.extend(values.iter().cloned());
        let event = InboxEvent::TagsSubmitted {
            teammate: m.teammate.clone(),
            ticket: ticket_id,
            tags,
        };
        store(svc, i, event).await?;
        return Ok(deferred_update());
    }
    if let Ok(a) = custom_id.parse::<StormAction>() {
        return storm_click(svc, i, m, a, values).await;
    }
    let (id, value) = match parse_custom_id(custom_id) {
        Some(x) => x,
        None => {
            return match custom_id
                .split(inbound::VALUE_SEPARATOR)
                .next()
                .unwrap_or("")
                .parse::<ActionId>()
            {
                Err(ActionIdError::Foreign) => Ok(ephemeral(text::UNKNOWN_CONTROL)),
                Err(e) => Err(Refusal::new(StatusCode::BAD_REQUEST, e.to_string())),
                Ok(_) => Err(Refusal::new(StatusCode::BAD_REQUEST, "malformed custom_id")),
            };
        }
    };
    if let Some(p) = id.action.permission()
        && !allowed(svc, m, p).await?
    {
        return Ok(ephemeral(&text::refused(p)));
    }
    if let Some(refusal) = elsewhere(svc, i, m, id.ticket).await? {
        return Ok(refusal);
    }
    match id.action {
        CardAction::Reply => return open_reply(svc, m, id.ticket, None).await,
        CardAction::SavedReply => {
            let index =
                svc.saved.index(&svc.store).await.map_err(|e| {
                    Refusal::internal("cannot load saved replies", format!("{e:#}"))
                })?;
            let replies: Vec<(i64, String)> = index
                .search("", render::MAX_SELECT_OPTIONS)
                .into_iter()
                .map(|r| (r.id.0, r.name.clone()))
                .collect();
            if replies.is_empty() {
                return Ok(ephemeral(text::NO_SAVED_REPLIES));
            }
            return Ok(render::ephemeral_with(
                text::saved_reply_results("", replies.len(), index.len()),
                vec![render::saved_reply_select(id.ticket, &replies)],
            ));
        }
        CardAction::EditTags => {
            let Some(t) = ticket(svc, id.ticket).await? else {
                return Ok(ephemeral(text::NO_SUCH_TICKET));
            };
            let known = svc
                .store
                .known_tags()
                .await
                .map_err(|e| Refusal::internal("cannot list tags", e))?;
            // With nothing to pick: straight to the editor.
            if render::offered_tags(&known, &t.state.tags).is_empty() {
                return Ok(render::tags_modal(id.ticket, &t.state.tags));
            }
            return Ok(render::tags_picker(id.ticket, &known, &t.state.tags));
        }
        a if value != Some(render::CONFIRMED)
            && let Some(ask) = render::confirmation(a, id.ticket) =>
        {
            return Ok(ask);
        }
        _ => {}
    }
    let event = InboxEvent::CardAction {
        teammate: m.teammate.clone(),
        action_id: id.to_string(),
        // Only irreversible actions carry the confirmation marker; any other value is the
        // action's own.
        value: value
            .filter(|v| !(render::needs_confirmation(id.action) && *v == render::CONFIRMED))
            .map(str::to_string),
        selected: values.to_vec(),
    };
    store(svc, i, event).await?;
    Ok(deferred_update())
}

/// A click on a storm card's control (see `server::storm`); Discord has no confirm dialog,
/// so "Close all" asks with a button of its own. Where Slack's card has a menu or a text
/// field, Discord's has a button that opens a modal (reply to selected, assign all to a team,
/// hide all containing a typed word); its submission is [`storm_submit`].
async fn storm_click(
    svc: &Services,
    i: &Interaction,
    m: &Member<'_>,
    a: StormAction,
    values: &[String],
) -> Result<Value, Refusal> {
    use super::storm::{in_reach, permission, plan};
    if let Some(p) = permission(a.verb)
        && !allowed(svc, m, p).await?
    {
        return Ok(ephemeral(&text::refused(p)));
    }
    let scope = Scope::of(svc, origin(i, m)).await?;
    let here = storm_here(i);
    // Chosen in a modal, offered only for this channel's storm; the submission is planned.
    if a.verb == StormVerb::HideTyped || (a.verb == StormVerb::AssignAllTeam && values.is_empty()) {
        let Some(storm) = svc
            .store
            .storm(a.storm)
            .await
            .map_err(|e| Refusal::internal("cannot read a storm", e))?
        else {
            return Ok(ephemeral(text::NO_SUCH_STORM));
        };
        if !in_reach(&scope, &here, &storm) {
            return Ok(ephemeral(text::STORM_NOT_HERE));
        }
        return Ok(match a.verb {
            StormVerb::HideTyped => render::storm_hide_modal(storm.id),
            _ => render::storm_team_modal(storm.id, &svc.config.team_names())
                .unwrap_or_else(|| ephemeral(text::NO_SUCH_TEAM)),
        });
    }
    let storm = a.storm;
    let planned = plan(
        svc,
        &m.teammate,
        &scope,
        &here,
        a,
        values.first().map(String::as_str),
        false,
    )
    .await?;
    storm_answer(svc, i, m, storm, planned).await
}

/// The channel keys a storm control was used from: the card's channel and a thread's parent
/// (a category is a parent too: never a storm's).
fn storm_here(i: &Interaction) -> Vec<String> {
    [&i.channel_id, &i.channel_parent]
        .into_iter()
        .flatten()
        .map(|c| format!("discord:{c}"))
        .collect()
}

/// The answer to a planned storm control (a click or a modal's submission).
async fn storm_answer(
    svc: &Services,
    i: &Interaction,
    m: &Member<'_>,
    storm: i64,
    planned: super::storm::Plan,
) -> Result<Value, Refusal> {
    use super::storm::Plan;
    match planned {
        Plan::Tell(why) => Ok(ephemeral(&why)),
        Plan::Confirm => Ok(json!({
            "type": render::CALLBACK_MESSAGE,
            "data": render::storm_close_confirm(storm),
        })),
        Plan::ConfirmHide(word) => Ok(json!({
            "type": render::CALLBACK_MESSAGE,
            "data": render::storm_hide_confirm(storm, &word),
        })),
        Plan::Opened(ticket) => Ok(ephemeral(&text::storm_card_opened(ticket))),
        Plan::ReplyEditor => storm_reply_editor(svc, storm).await,
        // Discord opens its own form for the word before planning (see `storm_click`).
        Plan::AskWord => Ok(render::storm_hide_modal(storm)),
        Plan::Bulk(bulk) => {
            let matched = bulk.matched;
            let event = bulk.event(m.teammate.clone(), None, Some(i.token.clone()));
            store(svc, i, event).await?;
            Ok(ephemeral(&text::bulk_started(matched)))
        }
    }
}

/// "Reply to selected…": the modal listing the storm's open, unanswered comments and the
/// saved replies, or why there is nothing to choose (as Slack says it).
async fn storm_reply_editor(svc: &Services, storm: i64) -> Result<Value, Refusal> {
    let Some(storm) = svc
        .store
        .storm(storm)
        .await
        .map_err(|e| Refusal::internal("cannot read a storm", e))?
    else {
        return Ok(ephemeral(text::NO_SUCH_STORM));
    };
    let choices = super::storm::reply_choices(svc, &storm).await?;
    if choices.is_empty() {
        return Ok(ephemeral(text::STORM_REPLY_NOTHING_OPEN));
    }
    let index = svc
        .saved
        .index(&svc.store)
        .await
        .map_err(|e| Refusal::internal("cannot load saved replies", format!("{e:#}")))?;
    let saved: Vec<(i64, String)> = index
        .search("", render::MAX_SELECT_OPTIONS)
        .into_iter()
        .map(|r| (r.id.0, r.name.clone()))
        .collect();
    if saved.is_empty() {
        return Ok(ephemeral(text::STORM_REPLY_NO_LIBRARY));
    }
    Ok(render::storm_reply_modal(storm.id, &choices, &saved)
        .unwrap_or_else(|| ephemeral(text::STORM_REPLY_NOTHING_OPEN)))
}

/// A storm modal's submission (its `custom_id` is the control that opened it). Permission is
/// checked again: roles may have changed while the modal was open. Refusals are ephemeral and
/// change nothing.
async fn storm_submit(
    svc: &Services,
    i: &Interaction,
    m: &Member<'_>,
    a: StormAction,
    fields: &[TextField],
    selects: &[SelectField],
) -> Result<Value, Refusal> {
    use super::storm::{StormReplies, in_reach, permission, plan};
    if let Some(p) = permission(a.verb)
        && !allowed(svc, m, p).await?
    {
        return Ok(ephemeral(&text::refused(p)));
    }
    let scope = Scope::of(svc, origin(i, m)).await?;
    let here = storm_here(i);
    let chosen = |id: &str| -> &[String] {
        selects
            .iter()
            .find(|s| s.custom_id == id)
            .map_or(&[], |s| s.values.as_slice())
    };
    let storm = a.storm;
    let (a, choice) = match a.verb {
        StormVerb::ReplySelected => {
            let tickets = chosen(render::STORM_REPLY_COMMENTS_SELECT)
                .iter()
                .filter_map(|t| t.parse::<i64>().ok().map(TicketId))
                .collect();
            let saved = chosen(render::STORM_REPLY_SAVED_SELECT)
                .first()
                .and_then(|v| v.parse::<i64>().ok())
                .map(SavedReplyId);
            let replies = match StormReplies::check(svc, storm, tickets, saved).await? {
                Ok(replies) => replies,
                Err(why) => return Ok(ephemeral(why.text())),
            };
            if !in_reach(&scope, &here, &replies.storm) {
                return Ok(ephemeral(text::STORM_NOT_HERE));
            }
            let (queued, skipped) = replies
                .queue(svc, &scope, &m.teammate, &m.name, "discord", &i.id)
                .await?;
            return Ok(ephemeral(&text::storm_replies_queued(queued, skipped)));
        }
        StormVerb::AssignAllTeam => match chosen(render::STORM_TEAM_SELECT).first() {
            Some(team) => (a, team.clone()),
            None => return Ok(ephemeral(text::STORM_NOTHING_CHOSEN)),
        },
        // The typed word is asked about like a top word chosen from the card's menu.
        StormVerb::HideTyped => match typed_word(field(fields, render::STORM_WORD_INPUT)) {
            Some(word) => (
                StormAction::new(StormVerb::HideMatching, storm),
                word.to_string(),
            ),
            None => return Ok(ephemeral(&text::storm_hide_word_refused())),
        },
        _ => return Ok(ephemeral(text::UNKNOWN_CONTROL)),
    };
    let planned = plan(svc, &m.teammate, &scope, &here, a, Some(&choice), false).await?;
    storm_answer(svc, i, m, storm, planned).await
}

/// The reply editor, pre-filled with a saved reply (variables filled) if one was chosen.
async fn open_reply(
    svc: &Services,
    m: &Member<'_>,
    id: TicketId,
    saved: Option<SavedReplyId>,
) -> Result<Value, Refusal> {
    if !allowed(svc, m, Permission::Reply).await? {
        return Ok(ephemeral(&text::refused(Permission::Reply)));
    }
    let Some(ticket) = ticket(svc, id).await? else {
        return Ok(ephemeral(text::NO_SUCH_TICKET));
    };
    let prefill = match saved {
        None => None,
        Some(sid) => {
            let index =
                svc.saved.index(&svc.store).await.map_err(|e| {
                    Refusal::internal("cannot load saved replies", format!("{e:#}"))
                })?;
            let Some(reply) = index.get(sid) else {
                return Ok(ephemeral(&text::saved_reply_not_found(sid.0)));
            };
            let author = ticket.state.customer_name();
            let account = svc
                .account(ticket.state.network, ticket.state.account.as_str())
                .map(|p| p.name.clone())
                .unwrap_or_else(|| ticket.state.account.to_string());
            let vars = Vars {
                author_name: &author,
                account_name: &account,
                agent_name: &m.name,
            };
            match saved_reply::fill(&reply.body, &vars) {
                Ok(text) => Some(text),
                // Never sent raw: say what is wrong, open nothing.
                Err(e) => return Ok(ephemeral(&e.to_string())),
            }
        }
    };
    Ok(render::reply_modal(id, prefill.as_deref()))
}

// ---- modals -----------------------------------------------------------------------------------

fn field<'a>(fields: &'a [TextField], id: &str) -> &'a str {
    fields
        .iter()
        .find(|f| f.custom_id == id)
        .map(|f| f.value.trim())
        .unwrap_or("")
}

/// `sb1:<kind>:<n>` → n.
fn modal_ticket(custom_id: &str, kind: &str) -> Option<TicketId> {
    let (prefix, n) = custom_id.rsplit_once(':')?;
    (prefix.ends_with(kind)).then_some(())?;
    n.parse().ok().map(TicketId)
}

async fn modal_submit(
    svc: &Services,
    i: &Interaction,
    m: &Member<'_>,
    custom_id: &str,
    fields: &[TextField],
    selects: &[SelectField],
) -> Result<Value, Refusal> {
    if let Ok(a) = custom_id.parse::<StormAction>() {
        return storm_submit(svc, i, m, a, fields, selects).await;
    }
    if let Some(ticket_id) = modal_ticket(custom_id, ":reply_modal") {
        let reply = field(fields, render::REPLY_INPUT);
        // Discord modals cannot show errors next to an input: a refusal is ephemeral and
        // nothing is sent.
        if reply.is_empty() {
            return Ok(ephemeral(text::REPLY_EMPTY));
        }
        if !allowed(svc, m, Permission::Reply).await? {
            return Ok(ephemeral(&text::refused(Permission::Reply)));
        }
        let Some(t) = ticket(svc, ticket_id).await? else {
            return Ok(ephemeral(text::NO_SUCH_TICKET));
        };
        // The network's window and limit for this kind of conversation (the modal allows
        // more).
        if let Err(e) = crate::core::capabilities::check_reply(
            &t,
            &svc.capabilities(&t.state),
            reply,
            Utc::now(),
        ) {
            return Ok(ephemeral(&e.to_string()));
        }
        if let Err(e) = saved_reply::check(reply) {
            return Ok(ephemeral(&e.to_string()));
        }
        let event = InboxEvent::ModalReply {
            teammate: m.teammate.clone(),
            ticket: ticket_id,
            view_id: i.id.clone(),
            text: reply.to_string(),
        };
        store(svc, i, event).await?;
        return Ok(deferred_update());
    }
    if let Some(ticket_id) = modal_ticket(custom_id, ":tags_modal") {
        let tags: Vec<String> = field(fields, render::TAGS_INPUT)
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        let event = InboxEvent::TagsSubmitted {
            teammate: m.teammate.clone(),
            ticket: ticket_id,
            tags,
        };
        store(svc, i, event).await?;
        return Ok(deferred_update());
    }
    if let Some(which) = custom_id
        .strip_prefix(render::SAVED_REPLY_MODAL)
        .map(|r| r.trim_start_matches(':'))
    {
        if !allowed(svc, m, Permission::SavedReplies).await? {
            return Ok(ephemeral(&text::refused(Permission::SavedReplies)));
        }
        let name = field(fields, render::SAVED_REPLY_NAME_INPUT);
        let body = field(fields, render::SAVED_REPLY_BODY_INPUT);
        if let Err(e) = saved_reply::validate_for_save(name, body) {
            return Ok(ephemeral(&e.to_string()));
        }
        let by = format!("discord:{}", m.teammate.id);
        let now = Utc::now();
        let answer = if which == "new" {
            match svc.store.create_saved_reply(name, body, &by, now).await {
                Ok(Ok(id)) => text::saved_reply_created(id.0, name),
                Ok(Err(_)) => text::saved_reply_name_taken(name),
                Err(e) => return Err(Refusal::internal("cannot save a saved reply", e)),
            }
        } else {
            let Ok(id) = which.parse::<i64>() else {
                return Err(Refusal::new(StatusCode::BAD_REQUEST, "malformed modal id"));
            };
            match svc
                .store
                .update_saved_reply(SavedReplyId(id), name, body, &by, now)
                .await
                .map_err(|e| Refusal::internal("cannot save a saved reply", e))?
            {
                SavedReplyWrite::Done => text::saved_reply_updated(id, name),
                SavedReplyWrite::NameTaken => text::saved_reply_name_taken(name),
                SavedReplyWrite::NotFound => text::saved_reply_not_found(id),
            }
        };
        return Ok(ephemeral(&answer));
    }
    Ok(ephemeral(text::UNKNOWN_CONTROL))
}

// ---- the slash command ------------------------------------------------------------------------

fn opt<'a>(options: &'a [CommandOption], name: &str) -> Option<&'a CommandOption> {
    options.iter().find(|o| o.name == name)
}

fn opt_text(options: &[CommandOption], name: &str) -> Option<String> {
    opt(options, name).and_then(CommandOption::value_text)
}

async fn command(
    svc: &Services,
    i: &Interaction,
    m: &Member<'_>,
    options: &[CommandOption],
) -> Result<Value, Refusal> {
    let command = svc
        .config
        .discord
        .as_ref()
        .map(|d| d.command.as_str())
        .unwrap_or(crate::config::DEFAULT_DISCORD_COMMAND);
    let Some(sub) = options.first() else {
        return Ok(ephemeral(&text::discord_help(command)));
    };
    match sub.name.as_str() {
        "queue" => queue(svc, i, m, &sub.options).await,
        "stats" => stats(svc, i, m, &sub.options, command).await,
        "bulk" => bulk(svc, i, m, &sub.options).await,
        "assign" => assign(svc, i, m, &sub.options).await,
        "connect" => connect(svc, i, m, &sub.options).await,
        "accounts" => accounts(svc, m).await,
        "disconnect" => disconnect(svc, m, &sub.options).await,
        "away" => away(svc, m, &sub.options, command).await,
        "saved" => {
            let Some(action) = sub.options.first() else {
                return Ok(ephemeral(&text::discord_help(command)));
            };
            saved(svc, m, &action.name, &action.options).await
        }
        _ => Ok(ephemeral(&text::discord_help(command))),
    }
}

/// `away state:on|off`: the member's own away flag (round-robin rules skip them while it is
/// on). Anything else changes nothing and says how.
async fn away(
    svc: &Services,
    m: &Member<'_>,
    options: &[CommandOption],
    command: &str,
) -> Result<Value, Refusal> {
    let command = format!("/{command}");
    let Some(away) =
        opt_text(options, "state").and_then(|s| crate::core::autoassign::parse_away(&s))
    else {
        return Ok(ephemeral(&text::away_usage(&command)));
    };
    svc.store
        .set_away(&m.teammate, away, Utc::now())
        .await
        .map_err(|e| Refusal::internal("cannot record an away flag", e))?;
    Ok(ephemeral(&text::away_set(away, &command)))
}

/// Teams the member belongs to (by role).
fn teams_of(svc: &Services, m: &Member<'_>) -> Vec<String> {
    svc.config
        .discord
        .iter()
        .flat_map(|d| &d.teams)
        .filter(|t| m.roles.contains(&t.role))
        .map(|t| t.name.clone())
        .collect()
}

async fn queue(
    svc: &Services,
    i: &Interaction,
    m: &Member<'_>,
    options: &[CommandOption],
) -> Result<Value, Refusal> {
    let name = opt_text(options, "name").unwrap_or_default();
    let Some(queue) = Queue::parse(&name) else {
        return Ok(ephemeral(&text::queue_unknown("/queue")));
    };
    let Ok(route) = Scope::of(svc, origin(i, m)).await?.route() else {
        return Ok(ephemeral(text::NOT_AN_INBOX_CHANNEL));
    };
    let teams = teams_of(svc, m);
    let filter = Filter {
        route,
        ..queue.filter(&m.teammate, &teams)
    };
    let tickets = svc
        .store
        .find_tickets(&filter, super::QUEUE_SORT_WINDOW)
        .await
        .map_err(|e| Refusal::internal("cannot list a queue", e))?;
    let listing = super::queue_listing(svc, &name, &tickets, QUEUE_LIST_LIMIT).await?;
    let listing = super::away_reminder(svc, &m.teammate, queue, listing).await?;
    Ok(render::ephemeral_rich(&listing))
}

/// `/inbox stats [period] [filter]`: the statistics of this channel's tickets (every ticket
/// for an admin), ephemeral.
async fn stats(
    svc: &Services,
    i: &Interaction,
    m: &Member<'_>,
    options: &[CommandOption],
    command: &str,
) -> Result<Value, Refusal> {
    let Ok(route) = Scope::of(svc, origin(i, m)).await?.route() else {
        return Ok(ephemeral(text::NOT_AN_INBOX_CHANNEL));
    };
    let typed = [opt_text(options, "period"), opt_text(options, "filter")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let words: Vec<&str> = typed.split_whitespace().collect();
    // Discord user ids are digits; anything else is shown as text, never as markup.
    let mention = |t: &crate::core::Teammate| {
        (t.surface == crate::core::Surface::Discord
            && t.id.as_str().chars().all(|c| c.is_ascii_digit()))
        .then(|| render::mention(t))
    };
    // The channel's business hours (a forum post's: its forum's).
    let hours = [i.channel_id.as_deref(), i.channel_parent.as_deref()]
        .into_iter()
        .flatten()
        .find_map(|c| svc.config.discord_channel(c))
        .and_then(|(guild, channel)| {
            svc.config
                .channel_rules(&crate::config::Destination::Discord { guild, channel })
                .hours
        });
    let answer =
        super::stats_answer(svc, &words, route, &format!("/{command}"), &mention, hours).await?;
    Ok(render::ephemeral_rich(&answer))
}

async fn bulk(
    svc: &Services,
    i: &Interaction,
    m: &Member<'_>,
    options: &[CommandOption],
) -> Result<Value, Refusal> {
    let Some(action) = opt_text(options, "action").and_then(|a| CardAction::from_bulk_verb(&a))
    else {
        return Ok(ephemeral(&text::discord_help(
            &svc.config
                .discord
                .as_ref()
                .map(|d| d.command.clone())
                .unwrap_or_default(),
        )));
    };
    let Ok(route) = Scope::of(svc, origin(i, m)).await?.route() else {
        return Ok(ephemeral(text::NOT_AN_INBOX_CHANNEL));
    };
    let needed = action.bulk_permission();
    if !allowed(svc, m, needed).await? {
        let bulk_set = svc
            .config
            .discord
            .as_ref()
            .is_some_and(|d| d.permissions.bulk.is_some());
        let why = match needed {
            Permission::Bulk => text::refused_bulk(bulk_set),
            p => text::refused(p),
        };
        return Ok(ephemeral(&why));
    }
    let filter_text = opt_text(options, "filter").unwrap_or_default();
    let words: Vec<&str> = filter_text.split_whitespace().collect();
    let filter = match filter::parse(&words, &m.teammate, &svc.config.team_names()) {
        // Only this channel's tickets (the inbox worker matches the same filter later).
        Ok(f) => Filter { route, ..f },
        Err(e) => return Ok(ephemeral(&format!(":warning: {e}"))),
    };
    let matched = svc
        .store
        .find_tickets(&filter, MAX_BULK_TICKETS)
        .await
        .map_err(|e| Refusal::internal("cannot match tickets", e))?
        .len();
    if matched == 0 {
        return Ok(ephemeral(text::NO_MATCH));
    }
    let event = InboxEvent::Bulk {
        teammate: m.teammate.clone(),
        action,
        filter,
        response_url: None,
        discord_token: Some(i.token.clone()),
        tag: None,
        keyword: None,
        assignee: None,
    };
    store(svc, i, event).await?;
    Ok(ephemeral(&text::bulk_started(matched)))
}

async fn assign(
    svc: &Services,
    i: &Interaction,
    m: &Member<'_>,
    options: &[CommandOption],
) -> Result<Value, Refusal> {
    let Some(id) = opt_text(options, "ticket")
        .and_then(|t| t.trim_start_matches('#').parse::<i64>().ok())
        .filter(|n| *n > 0)
        .map(TicketId)
    else {
        return Ok(ephemeral(&text::assign_usage("/assign")));
    };
    let assignee = match (opt_text(options, "who"), opt_text(options, "team")) {
        (Some(user), _) => Some(Assignee::Person(Teammate {
            surface: Surface::Discord,
            id: ChatUserId::new(user),
        })),
        (None, Some(team)) => match svc.config.team_name(&team) {
            Some(name) => Some(Assignee::Team(name)),
            None => return Ok(ephemeral(&text::assign_usage("/assign"))),
        },
        (None, None) => None,
    };
    if !allowed(svc, m, Permission::Assign).await? {
        return Ok(ephemeral(&text::refused(Permission::Assign)));
    }
    let scope = Scope::of(svc, origin(i, m)).await?;
    if let Err(why) = command_ticket(svc, &scope, id).await? {
        return Ok(ephemeral(&why));
    }
    let note = opt_text(options, "note").filter(|n| !n.trim().is_empty());
    let event = InboxEvent::Assign {
        teammate: m.teammate.clone(),
        ticket: id,
        assignee,
        note,
    };
    store(svc, i, event).await?;
    Ok(ephemeral(&text::assign_done(id.0)))
}

// ---- connected accounts -------------------------------------------------------------------

/// Only admins connect, list and disconnect accounts (they choose what the whole team sees).
async fn is_admin(svc: &Services, m: &Member<'_>) -> Result<bool, Refusal> {
    svc.directory
        .is_admin_as(&svc.slack, &svc.config, &m.teammate, m.roles)
        .await
        .map_err(|e| Refusal::internal("cannot check the admin list", format!("{e:#}")))
}

/// `connect network:youtube|google`: the authorization link, routing the account to the
/// channel the command was run in.
async fn connect(
    svc: &Services,
    i: &Interaction,
    m: &Member<'_>,
    options: &[CommandOption],
) -> Result<Value, Refusal> {
    // The conversations go where the command was run: a direct message is no inbox.
    let (Some(guild), Some(channel)) = (i.guild_id.as_deref(), i.channel_id.as_deref()) else {
        return Ok(ephemeral(text::CONNECT_IN_A_DM));
    };
    let network = match super::connectable(svc, &opt_text(options, "network").unwrap_or_default()) {
        Ok(network) => network,
        Err(usage) => return Ok(ephemeral(&usage)),
    };
    if !is_admin(svc, m).await? {
        return Ok(ephemeral(text::DISCORD_ADMINS_ONLY));
    }
    // Cards go only to configured channels, and the account's notices need a text channel.
    let text_channel = svc
        .config
        .discord_channel(channel)
        .is_some_and(|(g, c)| g == guild && c.kind == DiscordChannelKind::Text);
    if !text_channel {
        return Ok(ephemeral(text::DISCORD_CONNECT_ELSEWHERE));
    }
    let link = super::oauth::authorization_link(
        svc,
        network,
        Surface::Discord,
        guild,
        channel,
        m.teammate.id.as_str(),
    );
    Ok(match link {
        Ok(url) => ephemeral(&text::connect_link(network, &url)),
        Err(_) => ephemeral(text::OAUTH_NOT_CONFIGURED),
    })
}

async fn accounts(svc: &Services, m: &Member<'_>) -> Result<Value, Refusal> {
    if !is_admin(svc, m).await? {
        return Ok(ephemeral(text::DISCORD_ADMINS_ONLY));
    }
    Ok(render::ephemeral_rich(&super::accounts_listing(svc).await?))
}

async fn disconnect(
    svc: &Services,
    m: &Member<'_>,
    options: &[CommandOption],
) -> Result<Value, Refusal> {
    let Some(id) =
        opt_text(options, "id").and_then(|t| t.trim_start_matches('#').parse::<i64>().ok())
    else {
        return Ok(ephemeral(text::DISCONNECT_USAGE));
    };
    if !is_admin(svc, m).await? {
        return Ok(ephemeral(text::DISCORD_ADMINS_ONLY));
    }
    let removed = crate::workers::accounts::disconnect(svc, id)
        .await
        .map_err(|e| Refusal::internal("cannot disconnect an account", format!("{e:#}")))?;
    Ok(match removed {
        Some(name) => render::ephemeral_rich(&text::account_disconnected(&name)),
        None => ephemeral(&text::account_not_found(id)),
    })
}

async fn saved(
    svc: &Services,
    m: &Member<'_>,
    action: &str,
    options: &[CommandOption],
) -> Result<Value, Refusal> {
    // The autocomplete value is the saved reply's id; a typed name is looked up too.
    let index = svc
        .saved
        .index(&svc.store)
        .await
        .map_err(|e| Refusal::internal("cannot load saved replies", format!("{e:#}")))?;
    let chosen = opt_text(options, "name").and_then(|v| match v.parse::<i64>() {
        Ok(id) => index.get(SavedReplyId(id)).cloned(),
        Err(_) => index
            .search(&v, 1)
            .first()
            .map(|r| (*r).clone())
            .filter(|r| r.name.eq_ignore_ascii_case(v.trim())),
    });
    let name_typed = opt_text(options, "name").unwrap_or_default();
    match action {
        "find" => Ok(match chosen {
            Some(r) => render::ephemeral_rich(&text::saved_reply_show(r.id.0, &r.name, &r.body)),
            None => {
                let hits = index.search(&name_typed, 10);
                if hits.is_empty() {
                    ephemeral(text::NO_MATCH)
                } else {
                    let mut lines = vec![text::saved_reply_results(
                        &name_typed,
                        hits.len(),
                        hits.len(),
                    )];
                    lines.extend(
                        hits.iter()
                            .map(|r| text::saved_reply_list_line(r.id.0, &r.name, &r.body)),
                    );
                    render::ephemeral_rich(&crate::core::Rich::join(lines, "\n"))
                }
            }
        }),
        "new" | "edit" | "delete" => {
            if !allowed(svc, m, Permission::SavedReplies).await? {
                return Ok(ephemeral(&text::refused(Permission::SavedReplies)));
            }
            match (action, chosen) {
                ("new", _) => Ok(render::saved_reply_modal(None)),
                ("edit", Some(r)) => {
                    Ok(render::saved_reply_modal(Some((r.id.0, &r.name, &r.body))))
                }
                ("delete", Some(r)) => {
                    let deleted = svc
                        .store
                        .delete_saved_reply(r.id)
                        .await
                        .map_err(|e| Refusal::internal("cannot delete a saved reply", e))?;
                    Ok(ephemeral(&if deleted {
                        text::saved_reply_deleted(r.id.0)
                    } else {
                        text::saved_reply_not_found(r.id.0)
                    }))
                }
                _ => Ok(ephemeral(&text::saved_reply_not_found(
                    name_typed.parse().unwrap_or(0),
                ))),
            }
        }
        _ => Ok(ephemeral(text::UNKNOWN_CONTROL)),
    }
}
