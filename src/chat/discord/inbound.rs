//! Interaction payloads (HTTP endpoint or gateway `INTERACTION_CREATE`) parsed into our own
//! types. Only what Switchboard reads is kept; unknown fields are ignored.

use serde::Deserialize;
use serde_json::Value;

use crate::core::ActionId;

/// Separates an action id from the value a component carries in its `custom_id`
/// (`sb1:accept_tag:42|billing`).
pub const VALUE_SEPARATOR: char = '|';

/// One interaction, with who sent it from where.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    /// The interaction id: with `token`, what the callback URL names.
    pub id: String,
    pub application_id: String,
    /// Valid 15 minutes for follow-ups; the first response is due within 3 s.
    pub token: String,
    /// Absent in direct messages.
    pub guild_id: Option<String>,
    pub channel_id: Option<String>,
    /// The channel's parent when it is a thread (a card's thread, a forum post): the text or
    /// forum channel it belongs to. For other channels Discord may give their category.
    pub channel_parent: Option<String>,
    /// Who acted: absent only for PING.
    pub user: Option<Invoker>,
    /// The message a component was on (or a modal opened from).
    pub message_id: Option<String>,
    pub kind: Kind,
}

/// The user who acted: `member.user` in guilds (with role ids), `user` in direct messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoker {
    pub user_id: String,
    pub roles: Vec<String>,
    /// Server nickname, else display name, else username (for `{agent_name}`).
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Answer `{"type":1}`.
    Ping,
    /// A slash command with its (possibly nested) options.
    Command {
        name: String,
        options: Vec<CommandOption>,
    },
    /// A button click or a select.
    Component {
        custom_id: String,
        /// 2 button, 3 string select, 5 user select, …
        component_type: u8,
        /// The chosen values of a select (user ids for a user select); empty for a button.
        values: Vec<String>,
    },
    /// The user is typing into a command option that has autocomplete.
    Autocomplete {
        name: String,
        options: Vec<CommandOption>,
        /// The option being typed (`focused: true`), if Discord marked one.
        focused: Option<Focused>,
    },
    /// A modal's text inputs and selects, each in display order.
    ModalSubmit {
        custom_id: String,
        fields: Vec<TextField>,
        selects: Vec<SelectField>,
    },
}

/// A slash-command option. Sub-commands and groups carry `options`; leaves carry `value`
/// (a string, integer, number, boolean or snowflake string as Discord sent it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CommandOption {
    pub name: String,
    #[serde(rename = "type")]
    pub option_type: u8,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub options: Vec<CommandOption>,
    #[serde(default)]
    pub focused: bool,
}

/// The option being autocompleted: its name and what is typed so far (as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Focused {
    pub name: String,
    pub value: String,
}

/// One submitted text input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextField {
    pub custom_id: String,
    pub value: String,
}

/// One submitted select of a modal (inside a Label): the chosen options' values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectField {
    pub custom_id: String,
    pub values: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("interaction is not valid JSON or misses a field: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unsupported interaction type {0}")]
    UnsupportedType(u8),
    #[error("interaction type {0} has no data")]
    MissingData(u8),
    #[error("interaction has no user")]
    MissingUser,
}

impl Interaction {
    /// The user id of who acted, if any.
    pub fn user_id(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.user_id.as_str())
    }
}

impl CommandOption {
    /// The leaf value as text (numbers and booleans written out).
    pub fn value_text(&self) -> Option<String> {
        self.value.as_ref().map(value_text)
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn find_focused(options: &[CommandOption]) -> Option<Focused> {
    options.iter().find_map(|o| {
        if o.focused {
            Some(Focused {
                name: o.name.clone(),
                value: o.value_text().unwrap_or_default(),
            })
        } else {
            find_focused(&o.options)
        }
    })
}

/// Splits a component `custom_id` into its action and carried value (see
/// [`VALUE_SEPARATOR`]). `None` for ids that are not Switchboard actions.
pub fn parse_custom_id(custom_id: &str) -> Option<(ActionId, Option<&str>)> {
    let (id, value) = match custom_id.split_once(VALUE_SEPARATOR) {
        Some((id, value)) => (id, Some(value)),
        None => (custom_id, None),
    };
    Some((id.parse().ok()?, value))
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "type")]
    kind: u8,
    id: String,
    application_id: String,
    token: String,
    #[serde(default)]
    guild_id: Option<String>,
    #[serde(default)]
    channel_id: Option<String>,
    #[serde(default)]
    channel: Option<RawChannel>,
    #[serde(default)]
    member: Option<RawMember>,
    #[serde(default)]
    user: Option<RawUser>,
    #[serde(default)]
    message: Option<RawMessage>,
    #[serde(default)]
    data: Option<Value>,
}

#[derive(Deserialize)]
struct RawMember {
    user: RawUser,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    nick: Option<String>,
}

#[derive(Deserialize)]
struct RawUser {
    id: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    global_name: Option<String>,
}

#[derive(Deserialize)]
struct RawMessage {
    id: String,
}

/// The partial channel interactions carry.
#[derive(Deserialize)]
struct RawChannel {
    #[serde(default)]
    parent_id: Option<String>,
}

#[derive(Deserialize)]
struct RawCommand {
    name: String,
    #[serde(default)]
    options: Vec<CommandOption>,
}

#[derive(Deserialize)]
struct RawComponent {
    custom_id: String,
    component_type: u8,
    /// Absent for buttons; serenity's model writes `null`.
    #[serde(default)]
    values: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawModal {
    custom_id: String,
    #[serde(default)]
    components: Vec<Value>,
}

/// Collects text inputs and selects from a modal submission: inside action rows
/// (`components`) or labels (`component`), at any depth. A select's values that are not
/// strings are left out.
fn modal_fields(components: &[Value], texts: &mut Vec<TextField>, selects: &mut Vec<SelectField>) {
    for c in components {
        let custom_id = c
            .get("custom_id")
            .and_then(Value::as_str)
            .map(str::to_string);
        match (c.get("type").and_then(Value::as_u64), custom_id) {
            (Some(4), Some(custom_id)) => texts.push(TextField {
                custom_id,
                value: c
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            }),
            // String, user, role, mentionable and channel selects all submit `values`.
            (Some(3 | 5..=8), Some(custom_id)) => selects.push(SelectField {
                custom_id,
                values: c
                    .get("values")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            }),
            _ => {}
        }
        if let Some(children) = c.get("components").and_then(Value::as_array) {
            modal_fields(children, texts, selects);
        }
        if let Some(child) = c.get("component") {
            modal_fields(std::slice::from_ref(child), texts, selects);
        }
    }
}

/// Parses an interaction body (after its signature was verified).
pub fn parse_interaction(body: &[u8]) -> Result<Interaction, ParseError> {
    let raw: Raw = serde_json::from_slice(body)?;
    let user = match (raw.member, raw.user) {
        (Some(m), _) => Some(Invoker {
            name: m.nick.or(m.user.global_name).or(m.user.username),
            user_id: m.user.id,
            roles: m.roles,
        }),
        (None, Some(u)) => Some(Invoker {
            name: u.global_name.or(u.username),
            user_id: u.id,
            roles: Vec::new(),
        }),
        (None, None) => None,
    };
    let data = || raw.data.clone().ok_or(ParseError::MissingData(raw.kind));
    let kind = match raw.kind {
        1 => Kind::Ping,
        2 => {
            let c: RawCommand = serde_json::from_value(data()?)?;
            Kind::Command {
                name: c.name,
                options: c.options,
            }
        }
        3 => {
            let c: RawComponent = serde_json::from_value(data()?)?;
            Kind::Component {
                custom_id: c.custom_id,
                component_type: c.component_type,
                values: c.values.unwrap_or_default(),
            }
        }
        4 => {
            let c: RawCommand = serde_json::from_value(data()?)?;
            Kind::Autocomplete {
                focused: find_focused(&c.options),
                name: c.name,
                options: c.options,
            }
        }
        5 => {
            let m: RawModal = serde_json::from_value(data()?)?;
            let (mut fields, mut selects) = (Vec::new(), Vec::new());
            modal_fields(&m.components, &mut fields, &mut selects);
            Kind::ModalSubmit {
                custom_id: m.custom_id,
                fields,
                selects,
            }
        }
        other => return Err(ParseError::UnsupportedType(other)),
    };
    if user.is_none() && kind != Kind::Ping {
        return Err(ParseError::MissingUser);
    }
    Ok(Interaction {
        id: raw.id,
        application_id: raw.application_id,
        token: raw.token,
        guild_id: raw.guild_id,
        channel_id: raw.channel_id,
        channel_parent: raw.channel.and_then(|c| c.parent_id),
        user,
        message_id: raw.message.map(|m| m.id),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{CardAction, TicketId};

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../../../tests/fixtures/discord/", $name, ".json"))
        };
    }

    fn mason(roles: &[&str]) -> Option<Invoker> {
        Some(Invoker {
            user_id: "53908232506183680".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            name: Some("Mason".into()),
        })
    }

    #[test]
    fn ping() {
        let i = parse_interaction(fixture!("ping")).unwrap();
        assert_eq!(i.kind, Kind::Ping);
        assert_eq!(i.id, "786008729715212339");
        assert_eq!(i.token, "A_UNIQUE_TOKEN");
        assert_eq!(i.user, None);
        assert_eq!(i.guild_id, None);
    }

    #[test]
    fn slash_command() {
        let i = parse_interaction(fixture!("slash_command")).unwrap();
        assert_eq!(
            i,
            Interaction {
                id: "786008729715212338".into(),
                application_id: "775799577604522054".into(),
                token: "A_UNIQUE_TOKEN".into(),
                guild_id: Some("290926798626357999".into()),
                channel_id: Some("645027906669510667".into()),
                channel_parent: None,
                user: mason(&["539082325061836999"]),
                message_id: None,
                kind: Kind::Command {
                    name: "cardsearch".into(),
                    options: vec![CommandOption {
                        name: "cardname".into(),
                        option_type: 3,
                        value: Some(Value::String("The Gitrog Monster".into())),
                        options: vec![],
                        focused: false,
                    }],
                },
            }
        );
    }

    #[test]
    fn a_thread_names_its_parent_channel() {
        let body = serde_json::json!({
            "id": "1", "application_id": "2", "type": 2, "token": "t", "version": 1,
            "guild_id": "3", "channel_id": "777",
            "channel": {"id": "777", "type": 11, "parent_id": "645027906669510667"},
            "member": {"user": {"id": "9"}, "roles": []},
            "data": {"id": "5", "name": "inbox", "type": 1}
        });
        let i = parse_interaction(body.to_string().as_bytes()).unwrap();
        assert_eq!(i.channel_id.as_deref(), Some("777"));
        assert_eq!(i.channel_parent.as_deref(), Some("645027906669510667"));
    }

    #[test]
    fn button_click() {
        let i = parse_interaction(fixture!("button_click")).unwrap();
        assert_eq!(i.user, mason(&["539082325061836999", "539082325061836998"]));
        assert_eq!(i.message_id.as_deref(), Some("846462638576959508"));
        assert_eq!(i.channel_id.as_deref(), Some("645027906669510667"));
        let Kind::Component {
            custom_id,
            component_type,
            values,
        } = &i.kind
        else {
            panic!("{:?}", i.kind)
        };
        assert_eq!((custom_id.as_str(), *component_type), ("sb1:close:42", 2));
        assert!(values.is_empty());
        assert_eq!(
            parse_custom_id(custom_id),
            Some((
                ActionId {
                    action: CardAction::Close,
                    ticket: TicketId(42)
                },
                None
            ))
        );
    }

    #[test]
    fn user_select() {
        let i = parse_interaction(fixture!("user_select")).unwrap();
        assert_eq!(i.user, mason(&[]));
        assert_eq!(
            i.kind,
            Kind::Component {
                custom_id: "sb1:assign:42".into(),
                component_type: 5,
                values: vec!["1111111111111111111".into()],
            }
        );
    }

    #[test]
    fn modal_submit() {
        let i = parse_interaction(fixture!("modal_submit")).unwrap();
        assert_eq!(i.message_id.as_deref(), Some("846462638576959508"));
        assert_eq!(
            i.kind,
            Kind::ModalSubmit {
                custom_id: "sb1:reply_modal:42".into(),
                fields: vec![TextField {
                    custom_id: "text".into(),
                    value: "Sorry about that, Jane!".into(),
                }],
                selects: vec![],
            }
        );
    }

    #[test]
    fn modal_submit_with_label_components() {
        let body = br#"{"type":5,"id":"1","application_id":"2","token":"t",
            "user":{"id":"9"},
            "data":{"custom_id":"sb1:reply_modal:7","components":[
              {"type":18,"id":1,"component":{"type":4,"id":2,"custom_id":"text","value":"hi"}}]}}"#;
        let i = parse_interaction(body).unwrap();
        assert_eq!(
            i.kind,
            Kind::ModalSubmit {
                custom_id: "sb1:reply_modal:7".into(),
                fields: vec![TextField {
                    custom_id: "text".into(),
                    value: "hi".into()
                }],
                selects: vec![],
            }
        );
    }

    #[test]
    fn modal_submit_with_label_wrapped_selects() {
        let body = br#"{"type":5,"id":"1","application_id":"2","token":"t",
            "member":{"user":{"id":"9"},"roles":["5"]},
            "data":{"custom_id":"sbs1:reply_selected:3","components":[
              {"type":18,"id":1,"component":{"type":3,"id":2,"custom_id":"comments","values":["4","6"]}},
              {"type":18,"id":3,"component":{"type":3,"id":4,"custom_id":"saved","values":["12"]}},
              {"type":18,"id":5,"component":{"type":3,"id":6,"custom_id":"none","values":[]}},
              {"type":18,"id":7,"component":{"type":4,"id":8,"custom_id":"word","value":"refund"}},
              {"type":10,"id":9,"content":"a text display"}]}}"#;
        let i = parse_interaction(body).unwrap();
        let select = |id: &str, values: &[&str]| SelectField {
            custom_id: id.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        assert_eq!(
            i.kind,
            Kind::ModalSubmit {
                custom_id: "sbs1:reply_selected:3".into(),
                fields: vec![TextField {
                    custom_id: "word".into(),
                    value: "refund".into()
                }],
                selects: vec![
                    select("comments", &["4", "6"]),
                    select("saved", &["12"]),
                    select("none", &[]),
                ],
            }
        );
    }

    #[test]
    fn autocomplete_finds_the_nested_focused_option() {
        let i = parse_interaction(fixture!("autocomplete")).unwrap();
        let Kind::Autocomplete {
            name,
            options,
            focused,
        } = &i.kind
        else {
            panic!("{:?}", i.kind)
        };
        assert_eq!(name, "switchboard");
        assert_eq!(
            focused,
            &Some(Focused {
                name: "saved".into(),
                value: "ship".into()
            })
        );
        assert_eq!(options[0].name, "reply");
        assert_eq!(options[0].options[0].value_text().as_deref(), Some("42"));
    }

    #[test]
    fn direct_message_uses_user() {
        let body = br#"{"type":3,"id":"1","application_id":"2","token":"t","channel_id":"5",
            "user":{"id":"9","username":"x"},
            "data":{"component_type":3,"custom_id":"sb1:assign_team:3","values":["Support"]}}"#;
        let i = parse_interaction(body).unwrap();
        assert_eq!(
            i.user,
            Some(Invoker {
                user_id: "9".into(),
                roles: vec![],
                name: Some("x".into()),
            })
        );
        assert_eq!(i.guild_id, None);
        assert_eq!(i.user_id(), Some("9"));
    }

    #[test]
    fn rejects_bad_interactions() {
        let cases: [(&[u8], &str); 5] = [
            (b"{", "Json"),
            (
                br#"{"type":9,"id":"1","application_id":"2","token":"t","user":{"id":"9"}}"#,
                "UnsupportedType(9)",
            ),
            (
                br#"{"type":3,"id":"1","application_id":"2","token":"t","user":{"id":"9"}}"#,
                "MissingData(3)",
            ),
            (
                br#"{"type":3,"id":"1","application_id":"2","token":"t",
                    "data":{"component_type":2,"custom_id":"sb1:close:1"}}"#,
                "MissingUser",
            ),
            (br#"{"type":1}"#, "Json"),
        ];
        for (body, want) in cases {
            let got = format!("{:?}", parse_interaction(body).unwrap_err());
            assert!(got.starts_with(want), "{got} vs {want}");
        }
    }

    #[test]
    fn custom_ids_carry_values() {
        let id = ActionId {
            action: CardAction::AcceptTag,
            ticket: TicketId(42),
        };
        assert_eq!(
            parse_custom_id("sb1:accept_tag:42|late delivery"),
            Some((id, Some("late delivery")))
        );
        assert_eq!(parse_custom_id("approve:42"), None);
    }
}
