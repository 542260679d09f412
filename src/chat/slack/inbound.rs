//! Slack's inbound payloads (Events API, interactivity, slash commands) turned into our own
//! types. The wire structs are private to this module; call these only after
//! [`super::signature::verify`] has accepted the raw body.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::core::ChatUserId;

/// Why a (correctly signed) body could not be understood. The `Display` text is meant for a
/// 400 response body: it names the problem, never echoes the payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("invalid JSON payload: {0}")]
    Json(String),
    #[error("missing required field `{0}`")]
    MissingField(&'static str),
}

impl From<serde_json::Error> for ParseError {
    fn from(err: serde_json::Error) -> Self {
        ParseError::Json(err.to_string())
    }
}

/// An Events API request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventsRequest {
    /// The endpoint handshake: answer with the challenge.
    UrlVerification { challenge: String },
    /// An event; `event_id` is Slack's dedupe key across retries.
    Callback {
        event_id: String,
        team_id: String,
        event: SlackEvent,
    },
    /// Any other envelope type (e.g. `app_rate_limited`), with that type.
    Other(String),
}

/// An event we act on, or the reason we ignore it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackEvent {
    /// A human's reply in a thread (`thread_ts` present and different from `ts`).
    ThreadMessage {
        channel: String,
        user: ChatUserId,
        text: String,
        ts: String,
        thread_ts: String,
    },
    /// A human edited a message (`message_changed` with an `edited` mark). `thread_ts` is
    /// `None` for a top-level message (a thread's parent included).
    MessageEdited {
        channel: String,
        user: ChatUserId,
        ts: String,
        thread_ts: Option<String>,
        text: String,
    },
    /// A message was deleted (`message_deleted`): `ts` is the deleted message's. `thread_ts` is
    /// `None` for a top-level message (a thread's parent included) or when Slack did not say.
    /// Whose message it was is not known here: look `ts` up.
    MessageDeleted {
        channel: String,
        ts: String,
        thread_ts: Option<String>,
    },
    /// Known but irrelevant: bot messages and bots' edits, link unfurls and thread-reply counts
    /// (`message_changed` without an edit), top-level messages, other event types. The reason
    /// is for logs.
    Ignored(String),
}

#[derive(Deserialize)]
struct WireEnvelope {
    #[serde(rename = "type")]
    kind: String,
    challenge: Option<String>,
    event_id: Option<String>,
    team_id: Option<String>,
    event: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct WireMessageEvent {
    subtype: Option<String>,
    bot_id: Option<String>,
    user: Option<String>,
    text: Option<String>,
    channel: Option<String>,
    ts: Option<String>,
    thread_ts: Option<String>,
    /// `message_changed`: the message as it is now.
    message: Option<WireInnerMessage>,
    /// `message_deleted`: the message as it was.
    previous_message: Option<WireInnerMessage>,
    /// `message_deleted`: the deleted message's ts.
    deleted_ts: Option<String>,
}

#[derive(Deserialize)]
struct WireInnerMessage {
    subtype: Option<String>,
    bot_id: Option<String>,
    user: Option<String>,
    text: Option<String>,
    ts: Option<String>,
    thread_ts: Option<String>,
    /// Present when a human edited the message (absent for unfurls, reply-count updates).
    edited: Option<serde_json::Value>,
}

/// `thread_ts` when the message is a reply in a thread, not the thread's parent.
fn reply_thread(thread_ts: Option<String>, ts: &str) -> Option<String> {
    thread_ts.filter(|t| t != ts)
}

/// Message subtypes that are still a human writing in the channel.
const HUMAN_SUBTYPES: [&str; 2] = ["thread_broadcast", "file_share"];

pub fn parse_event(body: &[u8]) -> Result<EventsRequest, ParseError> {
    let envelope: WireEnvelope = serde_json::from_slice(body)?;
    match envelope.kind.as_str() {
        "url_verification" => Ok(EventsRequest::UrlVerification {
            challenge: envelope
                .challenge
                .ok_or(ParseError::MissingField("challenge"))?,
        }),
        "event_callback" => {
            let event_id = envelope
                .event_id
                .ok_or(ParseError::MissingField("event_id"))?;
            let team_id = envelope
                .team_id
                .ok_or(ParseError::MissingField("team_id"))?;
            let event = envelope.event.ok_or(ParseError::MissingField("event"))?;
            Ok(EventsRequest::Callback {
                event_id,
                team_id,
                event: parse_inner_event(event)?,
            })
        }
        _ => Ok(EventsRequest::Other(envelope.kind)),
    }
}

fn parse_inner_event(event: serde_json::Value) -> Result<SlackEvent, ParseError> {
    let kind = event
        .get("type")
        .and_then(|t| t.as_str())
        .ok_or(ParseError::MissingField("event.type"))?;
    if kind != "message" {
        return Ok(SlackEvent::Ignored(format!("event type {kind}")));
    }
    let msg: WireMessageEvent = serde_json::from_value(event)?;
    match msg.subtype.as_deref() {
        Some("message_changed") => return parse_edit(msg),
        Some("message_deleted") => return parse_delete(msg),
        _ => {}
    }
    if let Some(bot) = msg.bot_id {
        return Ok(SlackEvent::Ignored(format!("message from bot {bot}")));
    }
    if let Some(subtype) = msg
        .subtype
        .filter(|s| !HUMAN_SUBTYPES.contains(&s.as_str()))
    {
        return Ok(SlackEvent::Ignored(format!("message subtype {subtype}")));
    }
    let ts = msg.ts.ok_or(ParseError::MissingField("event.ts"))?;
    let Some(thread_ts) = msg.thread_ts.filter(|t| *t != ts) else {
        return Ok(SlackEvent::Ignored("top-level message".into()));
    };
    Ok(SlackEvent::ThreadMessage {
        channel: msg
            .channel
            .ok_or(ParseError::MissingField("event.channel"))?,
        user: ChatUserId::new(msg.user.ok_or(ParseError::MissingField("event.user"))?),
        text: msg.text.unwrap_or_default(),
        ts,
        thread_ts,
    })
}

fn parse_edit(msg: WireMessageEvent) -> Result<SlackEvent, ParseError> {
    let channel = msg
        .channel
        .ok_or(ParseError::MissingField("event.channel"))?;
    let edited = msg
        .message
        .ok_or(ParseError::MissingField("event.message"))?;
    if let Some(bot) = edited.bot_id {
        return Ok(SlackEvent::Ignored(format!(
            "edit of a message from bot {bot}"
        )));
    }
    if edited.subtype.as_deref() == Some("bot_message") {
        return Ok(SlackEvent::Ignored("edit of a bot message".into()));
    }
    if edited.edited.is_none() {
        return Ok(SlackEvent::Ignored(
            "message_changed without an edit (unfurl or thread update)".into(),
        ));
    }
    let ts = edited
        .ts
        .ok_or(ParseError::MissingField("event.message.ts"))?;
    Ok(SlackEvent::MessageEdited {
        channel,
        user: ChatUserId::new(
            edited
                .user
                .ok_or(ParseError::MissingField("event.message.user"))?,
        ),
        thread_ts: reply_thread(edited.thread_ts, &ts),
        ts,
        text: edited.text.unwrap_or_default(),
    })
}

fn parse_delete(msg: WireMessageEvent) -> Result<SlackEvent, ParseError> {
    let channel = msg
        .channel
        .ok_or(ParseError::MissingField("event.channel"))?;
    let previous = msg.previous_message;
    let ts = msg
        .deleted_ts
        .or_else(|| previous.as_ref().and_then(|p| p.ts.clone()))
        .ok_or(ParseError::MissingField("event.deleted_ts"))?;
    Ok(SlackEvent::MessageDeleted {
        channel,
        thread_ts: reply_thread(previous.and_then(|p| p.thread_ts), &ts),
        ts,
    })
}

/// An interactivity request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interaction {
    /// A teammate clicked a button or picked from a menu.
    BlockActions {
        team_id: String,
        user_id: ChatUserId,
        channel_id: Option<String>,
        message_ts: Option<String>,
        trigger_id: String,
        response_url: Option<String>,
        actions: Vec<BlockAction>,
    },
    /// A modal was submitted.
    ViewSubmission {
        team_id: String,
        user_id: ChatUserId,
        view_id: String,
        /// Says which modal it is (see `render::ModalKind::parse`).
        callback_id: String,
        /// Empty when the modal had none.
        private_metadata: String,
        /// The inputs' values by `block_id`, then `action_id`.
        values: BTreeMap<String, BTreeMap<String, InputValue>>,
    },
    /// A modal opened with `notify_on_close` was closed without submitting.
    ViewClosed {
        team_id: String,
        user_id: ChatUserId,
        callback_id: String,
        private_metadata: String,
    },
    /// An external select asks for options; answer with `render::saved_reply_options`.
    BlockSuggestion {
        team_id: String,
        user_id: ChatUserId,
        action_id: String,
        /// What the user has typed so far (may be empty).
        value: String,
    },
    /// Any other interaction type (`shortcut`, `message_action`…), with that type.
    Other(String),
}

/// The value of one input of a submitted modal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputValue {
    /// A text input (`plain_text_input` and the other text-like inputs); `None` when empty.
    Text(Option<String>),
    /// A single select's (or radio buttons') chosen option value; `None` when nothing chosen.
    Option(Option<String>),
    /// A multi select's (or checkboxes') chosen option values.
    Options(Vec<String>),
    /// A user picker's chosen user.
    User(Option<String>),
    /// A multi user picker's chosen users.
    Users(Vec<String>),
    /// An input type we do not read (date pickers, files…), with that type.
    Other(String),
}

impl InputValue {
    /// The single value (text, option or user), trimmed; `None` when empty.
    pub fn single(&self) -> Option<&str> {
        match self {
            InputValue::Text(v) | InputValue::Option(v) | InputValue::User(v) => {
                v.as_deref().map(str::trim).filter(|v| !v.is_empty())
            }
            _ => None,
        }
    }

    /// Every chosen value: a multi select's, or the single value as a list.
    pub fn list(&self) -> Vec<&str> {
        match self {
            InputValue::Options(v) | InputValue::Users(v) => v.iter().map(String::as_str).collect(),
            other => other.single().into_iter().collect(),
        }
    }
}

/// The value at `block_id` / `action_id` of a submission's `values`, if the modal had it.
pub fn input_value<'a>(
    values: &'a BTreeMap<String, BTreeMap<String, InputValue>>,
    block_id: &str,
    action_id: &str,
) -> Option<&'a InputValue> {
    values.get(block_id)?.get(action_id)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockAction {
    pub action_id: String,
    pub value: Option<String>,
    /// Values picked in a select menu: options' values or user ids.
    pub selected: Vec<String>,
}

#[derive(Deserialize)]
struct WireInteraction {
    #[serde(rename = "type")]
    kind: String,
    team: Option<WireId>,
    user: Option<WireUser>,
    channel: Option<WireId>,
    container: Option<WireContainer>,
    message: Option<WireMessageRef>,
    trigger_id: Option<String>,
    response_url: Option<String>,
    #[serde(default)]
    actions: Vec<WireAction>,
    view: Option<WireView>,
    /// `block_suggestion`: the select asking, and the typed query.
    action_id: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
struct WireView {
    id: Option<String>,
    callback_id: Option<String>,
    private_metadata: Option<String>,
    state: Option<WireViewState>,
}

#[derive(Deserialize)]
struct WireViewState {
    #[serde(default)]
    values: BTreeMap<String, BTreeMap<String, WireStateValue>>,
}

#[derive(Deserialize)]
struct WireStateValue {
    #[serde(rename = "type")]
    kind: String,
    value: Option<String>,
    selected_option: Option<WireOption>,
    selected_options: Option<Vec<WireOption>>,
    selected_user: Option<String>,
    selected_users: Option<Vec<String>>,
}

impl WireStateValue {
    fn into_input(self) -> InputValue {
        match self.kind.as_str() {
            "plain_text_input" | "email_text_input" | "url_text_input" | "number_input" => {
                InputValue::Text(self.value)
            }
            "static_select" | "external_select" | "radio_buttons" => {
                InputValue::Option(self.selected_option.map(|o| o.value))
            }
            "multi_static_select" | "multi_external_select" | "checkboxes" => InputValue::Options(
                self.selected_options
                    .unwrap_or_default()
                    .into_iter()
                    .map(|o| o.value)
                    .collect(),
            ),
            "users_select" => InputValue::User(self.selected_user),
            "multi_users_select" => InputValue::Users(self.selected_users.unwrap_or_default()),
            _ => InputValue::Other(self.kind),
        }
    }
}

#[derive(Deserialize)]
struct WireId {
    id: Option<String>,
}

#[derive(Deserialize)]
struct WireUser {
    id: String,
    team_id: Option<String>,
}

#[derive(Deserialize)]
struct WireContainer {
    channel_id: Option<String>,
    message_ts: Option<String>,
}

#[derive(Deserialize)]
struct WireMessageRef {
    ts: Option<String>,
}

#[derive(Deserialize)]
struct WireOption {
    value: String,
}

#[derive(Deserialize)]
struct WireAction {
    action_id: String,
    value: Option<String>,
    selected_option: Option<WireOption>,
    #[serde(default)]
    selected_options: Vec<WireOption>,
    selected_user: Option<String>,
    #[serde(default)]
    selected_users: Vec<String>,
}

/// Parses a form-encoded `payload=<json>` interactivity body.
pub fn parse_interaction(body: &[u8]) -> Result<Interaction, ParseError> {
    let payload = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
        .ok_or(ParseError::MissingField("payload"))?;
    let mut wire: WireInteraction = serde_json::from_str(&payload)?;
    if !matches!(
        wire.kind.as_str(),
        "block_actions" | "view_submission" | "view_closed" | "block_suggestion"
    ) {
        return Ok(Interaction::Other(wire.kind));
    }
    let user = wire.user.take().ok_or(ParseError::MissingField("user"))?;
    // `team` is null for some org-wide installs; the user's team is then the one.
    let team_id = wire
        .team
        .take()
        .and_then(|t| t.id)
        .or(user.team_id)
        .ok_or(ParseError::MissingField("team"))?;
    let user_id = ChatUserId::new(user.id);
    match wire.kind.as_str() {
        "view_submission" | "view_closed" => {
            let view = wire.view.ok_or(ParseError::MissingField("view"))?;
            let callback_id = view.callback_id.unwrap_or_default();
            let private_metadata = view.private_metadata.unwrap_or_default();
            if wire.kind == "view_closed" {
                return Ok(Interaction::ViewClosed {
                    team_id,
                    user_id,
                    callback_id,
                    private_metadata,
                });
            }
            let values = view
                .state
                .map(|s| s.values)
                .unwrap_or_default()
                .into_iter()
                .map(|(block, actions)| {
                    let actions = actions
                        .into_iter()
                        .map(|(action, v)| (action, v.into_input()))
                        .collect();
                    (block, actions)
                })
                .collect();
            return Ok(Interaction::ViewSubmission {
                team_id,
                user_id,
                view_id: view.id.ok_or(ParseError::MissingField("view.id"))?,
                callback_id,
                private_metadata,
                values,
            });
        }
        "block_suggestion" => {
            return Ok(Interaction::BlockSuggestion {
                team_id,
                user_id,
                action_id: wire
                    .action_id
                    .ok_or(ParseError::MissingField("action_id"))?,
                value: wire.value.unwrap_or_default(),
            });
        }
        _ => {}
    }
    let container = wire.container;
    let channel_id = container
        .as_ref()
        .and_then(|c| c.channel_id.clone())
        .or_else(|| wire.channel.and_then(|c| c.id));
    let message_ts = container
        .and_then(|c| c.message_ts)
        .or_else(|| wire.message.and_then(|m| m.ts));
    let actions = wire
        .actions
        .into_iter()
        .map(|a| {
            let mut selected: Vec<String> =
                a.selected_option.map(|o| o.value).into_iter().collect();
            selected.extend(a.selected_options.into_iter().map(|o| o.value));
            selected.extend(a.selected_user);
            selected.extend(a.selected_users);
            BlockAction {
                action_id: a.action_id,
                value: a.value,
                selected,
            }
        })
        .collect();
    Ok(Interaction::BlockActions {
        team_id,
        user_id,
        channel_id,
        message_ts,
        trigger_id: wire
            .trigger_id
            .ok_or(ParseError::MissingField("trigger_id"))?,
        response_url: wire.response_url,
        actions,
    })
}

/// A slash command invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashCommand {
    pub team_id: String,
    pub channel_id: String,
    /// `directmessage` in a one-to-one DM, `mpdm-…` in a group DM, else the channel's name
    /// (empty when Slack left it out).
    pub channel_name: String,
    pub user_id: ChatUserId,
    /// With its slash, e.g. `/switchboard`.
    pub command: String,
    /// Everything after the command; may be empty.
    pub text: String,
    pub response_url: String,
    pub trigger_id: String,
}

impl SlashCommand {
    /// Run in a direct message (one-to-one or a group DM), not a channel.
    pub fn in_direct_message(&self) -> bool {
        self.channel_id.starts_with('D')
            || self.channel_name == "directmessage"
            || self.channel_name.starts_with("mpdm-")
    }
}

/// Parses a form-encoded slash-command body.
pub fn parse_command(body: &[u8]) -> Result<SlashCommand, ParseError> {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &'static str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or(ParseError::MissingField(name))
    };
    Ok(SlashCommand {
        team_id: field("team_id")?,
        channel_id: field("channel_id")?,
        channel_name: field("channel_name").unwrap_or_default(),
        user_id: ChatUserId::new(field("user_id")?),
        command: field("command")?,
        text: field("text")?,
        response_url: field("response_url")?,
        trigger_id: field("trigger_id")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/slack/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn form_payload(json: &[u8]) -> Vec<u8> {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", std::str::from_utf8(json).unwrap())
            .finish()
            .into_bytes()
    }

    fn ignored_reason(name: &str) -> String {
        match parse_event(&fixture(name)).unwrap() {
            EventsRequest::Callback {
                event: SlackEvent::Ignored(reason),
                ..
            } => reason,
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn url_verification() {
        assert_eq!(
            parse_event(&fixture("url_verification.json")).unwrap(),
            EventsRequest::UrlVerification {
                challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P".into()
            }
        );
    }

    #[test]
    fn thread_message() {
        assert_eq!(
            parse_event(&fixture("thread_message.json")).unwrap(),
            EventsRequest::Callback {
                event_id: "Ev0THREAD1".into(),
                team_id: "T111".into(),
                event: SlackEvent::ThreadMessage {
                    channel: "C111".into(),
                    user: ChatUserId::new("U0ANA"),
                    text: "Thanks for reaching out! We'll send a new cup today.".into(),
                    ts: "1595926230.009600".into(),
                    thread_ts: "1595926000.000100".into(),
                }
            }
        );
    }

    #[test]
    fn ignores_what_is_not_a_human_thread_reply() {
        assert_eq!(
            ignored_reason("bot_message.json"),
            "message from bot B0SWITCH"
        );
        assert_eq!(
            ignored_reason("top_level_message.json"),
            "top-level message"
        );
    }

    #[test]
    fn message_edited() {
        assert_eq!(
            parse_event(&fixture("message_changed.json")).unwrap(),
            EventsRequest::Callback {
                event_id: "Ev0CHANGED1".into(),
                team_id: "T111".into(),
                event: SlackEvent::MessageEdited {
                    channel: "C111".into(),
                    user: ChatUserId::new("U0ANA"),
                    ts: "1595926230.009600".into(),
                    thread_ts: Some("1595926000.000100".into()),
                    text: "Thanks for reaching out! We'll send a new cup tomorrow.".into(),
                }
            }
        );
    }

    #[test]
    fn message_deleted() {
        assert_eq!(
            parse_event(&fixture("message_deleted.json")).unwrap(),
            EventsRequest::Callback {
                event_id: "Ev0DELETED1".into(),
                team_id: "T111".into(),
                event: SlackEvent::MessageDeleted {
                    channel: "C111".into(),
                    ts: "1595926230.009600".into(),
                    thread_ts: Some("1595926000.000100".into()),
                }
            }
        );
    }

    #[test]
    fn ignores_other_events_and_subtypes() {
        let parse = |event: &str| {
            let body = format!(
                r#"{{"type":"event_callback","team_id":"T1","event_id":"Ev1","event_time":1,"event":{event}}}"#
            );
            match parse_event(body.as_bytes()).unwrap() {
                EventsRequest::Callback { event, .. } => event,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            parse(r#"{"type":"reaction_added","user":"U1","reaction":"x","item":{}}"#),
            SlackEvent::Ignored("event type reaction_added".into())
        );
        assert_eq!(
            parse(r#"{"type":"user_change","user":{"id":"U1"}}"#),
            SlackEvent::Ignored("event type user_change".into())
        );
        // A deletion without previous_message (Slack omits it for old messages).
        assert_eq!(
            parse(
                r#"{"type":"message","subtype":"message_deleted","hidden":true,"channel":"C1","ts":"3.0","deleted_ts":"2.0"}"#
            ),
            SlackEvent::MessageDeleted {
                channel: "C1".into(),
                ts: "2.0".into(),
                thread_ts: None
            }
        );
        // A thread's parent deleted: not "in a thread".
        assert_eq!(
            parse(
                r#"{"type":"message","subtype":"message_deleted","channel":"C1","ts":"3.0","deleted_ts":"2.0","previous_message":{"type":"message","user":"U1","text":"x","ts":"2.0","thread_ts":"2.0"}}"#
            ),
            SlackEvent::MessageDeleted {
                channel: "C1".into(),
                ts: "2.0".into(),
                thread_ts: None
            }
        );
        // A top-level edit.
        assert_eq!(
            parse(
                r#"{"type":"message","subtype":"message_changed","channel":"C1","ts":"3.0","message":{"type":"message","user":"U1","text":"new","ts":"2.0","edited":{"user":"U1","ts":"3.0"}}}"#
            ),
            SlackEvent::MessageEdited {
                channel: "C1".into(),
                user: ChatUserId::new("U1"),
                ts: "2.0".into(),
                thread_ts: None,
                text: "new".into()
            }
        );
        // Our own card updated (chat.update), another bot's edit, an unfurl.
        assert_eq!(
            parse(
                r#"{"type":"message","subtype":"message_changed","channel":"C1","ts":"3.0","message":{"type":"message","subtype":"bot_message","bot_id":"B0SWITCH","text":"card","ts":"2.0","edited":{"user":"B0SWITCH","ts":"3.0"}}}"#
            ),
            SlackEvent::Ignored("edit of a message from bot B0SWITCH".into())
        );
        assert_eq!(
            parse(
                r#"{"type":"message","subtype":"message_changed","channel":"C1","ts":"3.0","message":{"type":"message","subtype":"bot_message","text":"card","ts":"2.0"}}"#
            ),
            SlackEvent::Ignored("edit of a bot message".into())
        );
        assert_eq!(
            parse(
                r#"{"type":"message","subtype":"message_changed","channel":"C1","ts":"3.0","message":{"type":"message","user":"U1","text":"see https://x.y","ts":"2.0","thread_ts":"1.0","attachments":[{"id":1}]}}"#
            ),
            SlackEvent::Ignored("message_changed without an edit (unfurl or thread update)".into())
        );
        assert_eq!(
            parse_event(
                br#"{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"message","subtype":"message_changed","channel":"C1","ts":"3.0"}}"#
            ),
            Err(ParseError::MissingField("event.message"))
        );
        assert_eq!(
            parse(
                r#"{"type":"message","subtype":"channel_join","user":"U1","text":"<@U1> has joined","channel":"C1","ts":"3.0"}"#
            ),
            SlackEvent::Ignored("message subtype channel_join".into())
        );
        // A thread's parent message carries its own ts as thread_ts.
        assert_eq!(
            parse(
                r#"{"type":"message","user":"U1","text":"hi","channel":"C1","ts":"3.0","thread_ts":"3.0"}"#
            ),
            SlackEvent::Ignored("top-level message".into())
        );
        // "Also send to channel" is still a human reply in the thread.
        assert!(matches!(
            parse(
                r#"{"type":"message","subtype":"thread_broadcast","user":"U1","text":"hi","channel":"C1","ts":"3.0","thread_ts":"1.0"}"#
            ),
            SlackEvent::ThreadMessage { .. }
        ));
    }

    #[test]
    fn other_envelopes() {
        let body = br#"{"token":"t","team_id":"T1","minute_rate_limited":1518467820,"api_app_id":"A1","type":"app_rate_limited"}"#;
        assert_eq!(
            parse_event(body).unwrap(),
            EventsRequest::Other("app_rate_limited".into())
        );
    }

    #[test]
    fn event_errors_name_the_problem() {
        assert!(matches!(parse_event(b"not json"), Err(ParseError::Json(_))));
        assert_eq!(
            parse_event(br#"{"type":"event_callback","team_id":"T1","event":{"type":"message"}}"#),
            Err(ParseError::MissingField("event_id"))
        );
        assert_eq!(
            parse_event(br#"{"type":"event_callback","event_id":"E","team_id":"T1","event":{"type":"message","user":"U1","text":"x","channel":"C1","ts":"2.0","thread_ts":"1.0","bot_id":null}}"#)
                .map(|_| ()),
            Ok(())
        );
        insta::assert_snapshot!(
            ParseError::MissingField("team_id").to_string(),
            @"missing required field `team_id`"
        );
    }

    #[test]
    fn block_actions_from_a_form_body() {
        let body = form_payload(&fixture("block_actions.json"));
        assert!(body.starts_with(b"payload=%7B"));
        assert_eq!(
            parse_interaction(&body).unwrap(),
            Interaction::BlockActions {
                team_id: "T111".into(),
                user_id: ChatUserId::new("W111"),
                channel_id: Some("C111".into()),
                message_ts: Some("111.222".into()),
                trigger_id: "111.222.valid".into(),
                response_url: Some("https://hooks.slack.com/actions/T111/111/random-value".into()),
                actions: vec![
                    BlockAction {
                        action_id: "sb1:close:42".into(),
                        value: Some("42".into()),
                        selected: vec![],
                    },
                    BlockAction {
                        action_id: "pick_tone".into(),
                        value: None,
                        selected: vec!["formal".into()],
                    },
                    BlockAction {
                        action_id: "tags".into(),
                        value: None,
                        selected: vec!["billing".into(), "vip".into()],
                    },
                    BlockAction {
                        action_id: "assign".into(),
                        value: None,
                        selected: vec!["U0123ABC".into()],
                    },
                    BlockAction {
                        action_id: "watchers".into(),
                        value: None,
                        selected: vec!["U1".into(), "U2".into()],
                    },
                ],
            }
        );
    }

    #[test]
    fn view_submission() {
        let body = form_payload(&fixture("view_submission.json"));
        assert_eq!(
            parse_interaction(&body).unwrap(),
            Interaction::ViewSubmission {
                team_id: "T111".into(),
                user_id: ChatUserId::new("W111"),
                view_id: "V111".into(),
                callback_id: "edit-reply".into(),
                private_metadata: "draft:42".into(),
                values: BTreeMap::from([(
                    "hspI".to_string(),
                    BTreeMap::from([("maBWU".to_string(), InputValue::Text(Some("test".into())))])
                )]),
            }
        );
    }

    #[test]
    fn view_submission_of_every_input_kind() {
        let body = form_payload(&fixture("view_submission_tags.json"));
        let Interaction::ViewSubmission {
            view_id,
            callback_id,
            private_metadata,
            values,
            ..
        } = parse_interaction(&body).unwrap()
        else {
            panic!("not a submission");
        };
        assert_eq!(
            (
                view_id.as_str(),
                callback_id.as_str(),
                private_metadata.as_str()
            ),
            ("V222", "sb1:tags_modal:42", "")
        );
        let get = |block, action| input_value(&values, block, action).cloned();
        assert_eq!(
            get("tags", "known"),
            Some(InputValue::Options(vec!["billing".into(), "vip".into()]))
        );
        assert_eq!(get("new_tags", "text"), Some(InputValue::Text(None)));
        assert_eq!(get("team", "pick"), Some(InputValue::Option(None)));
        assert_eq!(
            get("who", "pick"),
            Some(InputValue::User(Some("U0BEN".into())))
        );
        assert_eq!(
            get("watchers", "pick"),
            Some(InputValue::Users(vec!["U1".into(), "U2".into()]))
        );
        assert_eq!(
            get("when", "pick"),
            Some(InputValue::Other("datepicker".into()))
        );
        assert_eq!(get("nope", "text"), None);
        assert_eq!(get("tags", "known").unwrap().list(), ["billing", "vip"]);
        assert_eq!(get("who", "pick").unwrap().single(), Some("U0BEN"));
        assert_eq!(InputValue::Text(Some("  ".into())).single(), None);
        assert_eq!(InputValue::Text(Some(" hi ".into())).list(), ["hi"]);
    }

    #[test]
    fn view_closed() {
        let body = form_payload(&fixture("view_closed.json"));
        assert_eq!(
            parse_interaction(&body).unwrap(),
            Interaction::ViewClosed {
                team_id: "T111".into(),
                user_id: ChatUserId::new("W111"),
                callback_id: "sb1:reply_modal:42".into(),
                private_metadata: "".into(),
            }
        );
    }

    #[test]
    fn block_suggestion() {
        let body = form_payload(&fixture("block_suggestion.json"));
        assert_eq!(
            parse_interaction(&body).unwrap(),
            Interaction::BlockSuggestion {
                team_id: "T111".into(),
                user_id: ChatUserId::new("W111"),
                action_id: "sb1:saved_reply:42".into(),
                value: "refu".into(),
            }
        );
    }

    #[test]
    fn other_interactions() {
        let body = form_payload(
            br#"{"type":"shortcut","team":{"id":"T1"},"user":{"id":"U1"},"callback_id":"x","trigger_id":"1.2"}"#,
        );
        assert_eq!(
            parse_interaction(&body).unwrap(),
            Interaction::Other("shortcut".into())
        );
        assert_eq!(
            parse_interaction(&form_payload(
                br#"{"type":"view_submission","team":{"id":"T1"},"user":{"id":"U1"}}"#
            )),
            Err(ParseError::MissingField("view"))
        );
    }

    #[test]
    fn interaction_errors() {
        assert_eq!(
            parse_interaction(b"token=x"),
            Err(ParseError::MissingField("payload"))
        );
        assert!(matches!(
            parse_interaction(b"payload=%7Bnope"),
            Err(ParseError::Json(_))
        ));
        assert_eq!(
            parse_interaction(&form_payload(
                br#"{"type":"block_actions","team":{"id":"T1"},"actions":[]}"#
            )),
            Err(ParseError::MissingField("user"))
        );
    }

    /// The body of the §9 signing test vector.
    const COMMAND_BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

    #[test]
    fn slash_command() {
        assert_eq!(
            parse_command(COMMAND_BODY).unwrap(),
            SlashCommand {
                team_id: "T1DC2JH3J".into(),
                channel_id: "G8PSS9T3V".into(),
                channel_name: "foobar".into(),
                user_id: ChatUserId::new("U2CERLKJA"),
                command: "/webhook-collect".into(),
                text: "".into(),
                response_url:
                    "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN"
                        .into(),
                trigger_id: "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c".into(),
            }
        );
        assert!(!parse_command(COMMAND_BODY).unwrap().in_direct_message());
        let group_dm = parse_command(
            b"team_id=T1&channel_id=G1&channel_name=mpdm-ana--bo-1&user_id=U1&command=%2Fsb&text=&response_url=https%3A%2F%2Fx&trigger_id=1.2",
        )
        .unwrap();
        assert!(group_dm.in_direct_message());
        let with_text = parse_command(
            b"team_id=T1&channel_id=C1&user_id=U1&command=%2Fsb&text=close+42&response_url=https%3A%2F%2Fx&trigger_id=1.2",
        )
        .unwrap();
        assert_eq!(with_text.text, "close 42");
    }

    #[test]
    fn slash_command_missing_field() {
        let body = String::from_utf8(COMMAND_BODY.to_vec())
            .unwrap()
            .replace("&user_id=U2CERLKJA", "");
        assert_eq!(
            parse_command(body.as_bytes()),
            Err(ParseError::MissingField("user_id"))
        );
    }
}
