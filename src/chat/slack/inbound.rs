//! Slack's inbound payloads (Events API, interactivity, slash commands) turned into our own
//! types. The wire structs are private to this module; call these only after
//! [`super::signature::verify`] has accepted the raw body.

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
    /// Known but irrelevant: bot messages, edits and deletions, top-level messages, other
    /// event types. The reason is for logs.
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
    /// Any other interaction type (`view_submission`, `shortcut`…), with that type.
    Other(String),
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
    let wire: WireInteraction = serde_json::from_str(&payload)?;
    if wire.kind != "block_actions" {
        return Ok(Interaction::Other(wire.kind));
    }
    let user = wire.user.ok_or(ParseError::MissingField("user"))?;
    // `team` is null for some org-wide installs; the user's team is then the one.
    let team_id = wire
        .team
        .and_then(|t| t.id)
        .or(user.team_id)
        .ok_or(ParseError::MissingField("team"))?;
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
        user_id: ChatUserId::new(user.id),
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
    pub user_id: ChatUserId,
    /// With its slash, e.g. `/switchboard`.
    pub command: String,
    /// Everything after the command; may be empty.
    pub text: String,
    pub response_url: String,
    pub trigger_id: String,
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
        assert_eq!(
            ignored_reason("message_changed.json"),
            "message subtype message_changed"
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
        assert_eq!(
            parse(
                r#"{"type":"message","subtype":"message_deleted","hidden":true,"channel":"C1","ts":"3.0","deleted_ts":"2.0"}"#
            ),
            SlackEvent::Ignored("message subtype message_deleted".into())
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
    fn other_interactions() {
        let body = form_payload(&fixture("view_submission.json"));
        assert_eq!(
            parse_interaction(&body).unwrap(),
            Interaction::Other("view_submission".into())
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
                user_id: ChatUserId::new("U2CERLKJA"),
                command: "/webhook-collect".into(),
                text: "".into(),
                response_url:
                    "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN"
                        .into(),
                trigger_id: "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c".into(),
            }
        );
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
