//! The card view model rendered to a Discord message body (embed + message components), built
//! as plain JSON for `POST /channels/{id}/messages`, `PATCH …/messages/{id}` or an interaction
//! callback's `data`. Wording comes from `core::text`; this module lays it out, escapes what
//! customers wrote, and picks Discord's markup. Choices mirror the Slack renderer:
//!
//! * embed `title` = headline (linked to the permalink through the embed `url`, where Slack uses
//!   a link button), `description` = author and customer text, `timestamp` = when the item was
//!   created (Discord shows it in each reader's time zone, like Slack's date token);
//! * the status line, then the "replying", moderation, window and failure lines, are embed
//!   fields (fields render markdown and `<@id>` mentions; a footer would not). Field names are
//!   a zero-width space: the lines carry their own wording;
//! * Slack emoji shortcodes in `core::text` (`:warning:` …) are turned into Unicode, since
//!   Discord renders shortcodes only when a user types them;
//! * `allowed_mentions.parse` is empty, so nothing in a card ever pings.
//!
//! **Escaping** (every message text this module builds goes through [`content`]): in the words
//! of a [`Rich`] that are someone else's, every character Discord markdown gives a meaning is
//! backslash-escaped (`\ * _ ~ ` | > < [ ] # @`), so they cannot format, write a heading or a
//! quote, forge a masked link `[x](https://…)`, or write a mention (`@everyone`, `@here`,
//! `<@id>`, `<@&id>`, `<#id>`, `<t:…>`, custom emoji); invisible and bidirectional control
//! characters are dropped (`core::rich::visible`). On top of that every message carries
//! `allowed_mentions: {"parse": []}` (plus only the user and role ids a message means to ping),
//! here and again in the client, so even a mention that slipped through would not ping. Texts
//! are cut to Discord's limits *after* escaping, never between `\` and what it escapes
//! (`core::rich::fit`). Plain-text fields (button and option labels, placeholders, modal
//! titles) are not markdown and are only cut.
//!
//! Components: action rows (type 1) in priority order, anything past Discord's fifth row
//! dropped (see [`card`]).

use serde_json::{Map, Value, json};

use super::inbound::VALUE_SEPARATOR;
use crate::core::action::ACTION_ID_VERSION;
use crate::core::card::{Button, ButtonStyle, CardView, Picker};
use crate::core::model::{MAX_REPLY_CHARS, Status};
use crate::core::rich::{Escaped, Laid, Piece, fit, safe_url, visible};
use crate::core::{CardAction, Rich, Teammate, TicketId, text};

/// Discord's limits.
pub const MAX_CUSTOM_ID_CHARS: usize = 100;
pub const MAX_ACTION_ROWS: usize = 5;
pub const MAX_BUTTONS_PER_ROW: usize = 5;
pub const MAX_SELECT_OPTIONS: usize = 25;
const MAX_EMBED_TITLE_CHARS: usize = 256;
const MAX_EMBED_DESCRIPTION_CHARS: usize = 4096;
const MAX_FIELD_VALUE_CHARS: usize = 1024;
/// All of an embed's text together (title, description, field names and values).
const MAX_EMBED_TOTAL_CHARS: usize = 6000;
const MAX_BUTTON_LABEL_CHARS: usize = 80;
const MAX_PLACEHOLDER_CHARS: usize = 150;
const MAX_OPTION_CHARS: usize = 100;
const MAX_MODAL_TITLE_CHARS: usize = 45;
const MAX_TEXT_INPUT_LABEL_CHARS: usize = 45;
const MAX_TEXT_INPUT_PLACEHOLDER_CHARS: usize = 100;
/// A Label component's text and description (what a modal's select or input is for).
const MAX_LABEL_CHARS: usize = 45;
const MAX_LABEL_DESCRIPTION_CHARS: usize = 100;
/// Discord's text inputs accept up to 4000 characters; Switchboard's replies are capped lower.
pub const MAX_REPLY_INPUT_CHARS: usize = if MAX_REPLY_CHARS < 4000 {
    MAX_REPLY_CHARS
} else {
    4000
};

/// Component types and button styles.
const ACTION_ROW: u8 = 1;
const BUTTON: u8 = 2;
const STRING_SELECT: u8 = 3;
const TEXT_INPUT: u8 = 4;
const USER_SELECT: u8 = 5;
/// Wraps one select or text input of a modal with its label (Discord's current modal layout).
const LABEL: u8 = 18;
const STYLE_PRIMARY: u8 = 1;
const STYLE_SECONDARY: u8 = 2;
const STYLE_DANGER: u8 = 4;
const TEXT_INPUT_SHORT: u8 = 1;
const TEXT_INPUT_PARAGRAPH: u8 = 2;
/// Interaction callback type MODAL.
const CALLBACK_MODAL: u8 = 9;

/// Embed colours by status.
pub const COLOUR_UNREAD: u32 = 0x5865F2;
pub const COLOUR_READ: u32 = 0xFEE75C;
pub const COLOUR_CLOSED: u32 = 0x57F287;

/// `custom_id` of the reply modal's text input.
pub const REPLY_INPUT: &str = "text";

const ZERO_WIDTH_SPACE: &str = "\u{200b}";

/// How Discord writes a teammate.
pub fn mention(t: &Teammate) -> String {
    format!("<@{}>", t.id)
}

fn colour(status: Status) -> u32 {
    match status {
        Status::Unread => COLOUR_UNREAD,
        Status::Read => COLOUR_READ,
        Status::Closed => COLOUR_CLOSED,
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => {
            // Leave room for the ellipsis.
            let cut = s[..cut].char_indices().last().map_or(0, |(i, _)| i);
            format!("{}…", &s[..cut])
        }
        None => s.to_string(),
    }
}

/// Someone else's words, backslash-escaped for Discord markdown (see the module
/// documentation); `newline` stands for each line break (it continues a block quote).
fn escaped(s: &str, newline: &str) -> Escaped {
    let mut out = Escaped::default();
    let mut buf = [0; 4];
    for c in visible(s).chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '[' | ']' | '#' | '@' => {
                out.push(&format!("\\{c}"))
            }
            '\n' => out.push(newline),
            c => out.push(c.encode_utf8(&mut buf)),
        }
    }
    out
}

fn laid(text: &Rich) -> Vec<Laid> {
    let mut laid = Vec::new();
    for piece in text.pieces() {
        match piece {
            Piece::Ours(s) => laid.push(Laid::Fixed(markup(s))),
            Piece::Native(s) => laid.push(Laid::Fixed(s.clone())),
            Piece::Theirs(s) => laid.push(Laid::Words(escaped(s, "\n"))),
            Piece::Quote(s) => {
                laid.push(Laid::Fixed("> ".into()));
                laid.push(Laid::Words(escaped(s, "\n> ")));
            }
            Piece::Link { url, label } => match safe_url(url) {
                Some(url) => {
                    laid.push(Laid::Fixed("[".into()));
                    laid.push(Laid::Words(escaped(label, " ")));
                    laid.push(Laid::Fixed(format!("]({url})")));
                }
                None => laid.push(Laid::Words(escaped(label, " "))),
            },
        }
    }
    laid
}

/// A text in Discord markup: our wording converted by [`markup`], everyone else's escaped,
/// within `max_chars` characters after escaping.
pub fn content(text: &Rich, max_chars: usize) -> String {
    fit(laid(text), max_chars)
}

/// A time as Discord shows it to each reader: relative ("in 14 minutes"), kept current by
/// the client, with the exact time on hover.
pub fn relative_time(at: chrono::DateTime<chrono::Utc>) -> String {
    format!("<t:{}:R>", at.timestamp())
}

/// The Slack shortcodes `core::text` uses, as Unicode.
fn emoji(s: &str) -> String {
    const CODES: [(&str, &str); 24] = [
        (":cyclone:", "🌀"),
        (":bar_chart:", "📊"),
        (":large_blue_square:", "🟦"),
        (":large_purple_square:", "🟪"),
        (":large_green_square:", "🟩"),
        (":black_large_square:", "⬛"),
        (":large_red_square:", "🟥"),
        (":large_yellow_square:", "🟨"),
        (":robot_face:", "🤖"),
        (":stopwatch:", "⏱️"),
        (":red_circle:", "🔴"),
        (":file_cabinet:", "🗄️"),
        (":bust_in_silhouette:", "👤"),
        (":busts_in_silhouette:", "👥"),
        (":rotating_light:", "🚨"),
        (":white_check_mark:", "✅"),
        (":mag:", "🔍"),
        (":warning:", "⚠️"),
        (":pencil2:", "✏️"),
        (":shield:", "🛡️"),
        (":hourglass:", "⌛"),
        (":no_entry_sign:", "🚫"),
        (":no_entry:", "⛔"),
        (":speech_balloon:", "💬"),
    ];
    CODES
        .iter()
        .fold(s.to_string(), |s, (code, e)| s.replace(code, e))
}

/// Slack's `*bold*` and `~strike~` in `core::text` lines are Discord's `**bold**` and
/// `~~strike~~`.
fn bold(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '*' => out.push_str("**"),
            '~' => out.push_str("~~"),
            c => out.push(c),
        }
    }
    out
}

/// Reactions on a teammate's reply (the same meaning as Slack's).
pub const REACTION_QUEUED: &str = "⏳";
pub const REACTION_DELIVERED: &str = "✅";
pub const REACTION_FAILED: &str = "❌";
pub const REACTION_READ: &str = "👀";

/// Message flag: only the user who acted sees it.
pub const EPHEMERAL: u32 = 64;
/// Interaction response types.
pub const CALLBACK_PONG: u8 = 1;
pub const CALLBACK_MESSAGE: u8 = 4;
pub const CALLBACK_DEFERRED_UPDATE: u8 = 6;
pub const CALLBACK_AUTOCOMPLETE: u8 = 8;

/// A `core::text` line in Discord markup: Slack links `<url|label>` become `[label](url)`,
/// `*bold*` becomes `**bold**`, shortcodes become Unicode. Mentions (`<@id>`, `<@&role>`) pass
/// through.
pub fn markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        match tail.find('>') {
            Some(end) => {
                let inner = &tail[1..end];
                match inner.split_once('|') {
                    Some((url, label)) if url.starts_with("http") => {
                        out.push_str(&format!("[{label}]({url})"))
                    }
                    _ => out.push_str(&tail[..=end]),
                }
                rest = &tail[end + 1..];
            }
            None => {
                out.push_str(tail);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    emoji(&bold(&out))
}

/// A message body of our own wording only; it pings nobody.
pub fn plain(text: &str) -> Value {
    message(&Rich::ours(text))
}

/// A message body; it pings nobody.
pub fn message(text: &Rich) -> Value {
    json!({ "content": content(text, MAX_CONTENT_CHARS), "allowed_mentions": { "parse": [] } })
}

/// A message that pings exactly these users and roles.
pub fn pinging(text: &Rich, users: &[&str], roles: &[&str]) -> Value {
    json!({
        "content": content(text, MAX_CONTENT_CHARS),
        "allowed_mentions": { "parse": [], "users": users, "roles": roles },
    })
}

/// Discord's limit on a message's `content`.
pub const MAX_CONTENT_CHARS: usize = 2000;

/// A customer message mirrored in the card's thread.
pub fn thread_customer_message(author: &str, text: &str, edited: bool, deleted: bool) -> Value {
    message(&text::thread_customer_message(
        author, text, edited, deleted,
    ))
}

/// "<customer> wrote again on <card>"; only `role` (a team's) is pinged, when given.
pub fn customer_notice(
    author: &str,
    headline: &str,
    link: &str,
    said: &str,
    role: Option<&str>,
) -> Value {
    let notice = text::customer_replied_dm(author, headline, link, said);
    match role {
        Some(r) => pinging(
            &Rich::ours(format!("<@&{r}> ")).then_rich(notice),
            &[],
            &[r],
        ),
        None => message(&notice),
    }
}

/// A link to a message: `https://discord.com/channels/{guild}/{channel}/{message}`.
pub fn card_link(card: &crate::core::ChatRef) -> String {
    format!(
        "https://discord.com/channels/{}/{}/{}",
        card.workspace, card.channel, card.message
    )
}

/// An ephemeral interaction answer (type 4, flag 64) of our own wording.
pub fn ephemeral(text: &str) -> Value {
    ephemeral_rich(&Rich::ours(text))
}

/// An ephemeral interaction answer (type 4, flag 64).
pub fn ephemeral_rich(text: &Rich) -> Value {
    json!({
        "type": CALLBACK_MESSAGE,
        "data": {
            "content": content(text, MAX_CONTENT_CHARS),
            "flags": EPHEMERAL,
            "allowed_mentions": { "parse": [] },
        }
    })
}

/// An ephemeral answer with components (a saved-reply list, a confirmation).
pub fn ephemeral_with(text: impl Into<Rich>, components: Vec<Value>) -> Value {
    let mut v = ephemeral_rich(&text.into());
    v["data"]["components"] = components.into();
    v
}

/// The confirmation an irreversible action (Delete, Delete our reply, Ban author) asks for:
/// Discord has no confirm dialog, so the click answers with this ephemeral message whose
/// danger button carries the action id with `|confirmed`. `None` for other actions.
pub fn confirmation(action: CardAction, ticket: TicketId) -> Option<Value> {
    let c = crate::core::card::confirmation(action)?;
    let confirm = format!(
        "{}{VALUE_SEPARATOR}{CONFIRMED}",
        crate::core::ActionId { action, ticket }
    );
    Some(ephemeral_with(
        Rich::ours(format!("*{}* {}", c.title, c.text)),
        vec![row(vec![json!({
            "type": BUTTON,
            "style": STYLE_DANGER,
            "label": c.ok,
            "custom_id": confirm,
        })])],
    ))
}

/// The value a confirmed irreversible action carries.
pub const CONFIRMED: &str = "confirmed";

/// `custom_id` prefix of the saved-reply select shown after "Saved reply…" (`…:<ticket>`).
pub const SAVED_REPLY_SELECT: &str = "sb1sr:use";

/// The saved-reply select for a ticket: up to 25 replies (id as value, name as label).
pub fn saved_reply_select(ticket: TicketId, replies: &[(i64, String)]) -> Value {
    let options: Vec<Value> = replies
        .iter()
        .take(MAX_SELECT_OPTIONS)
        .map(|(id, name)| json!({ "label": truncate(name, MAX_OPTION_CHARS), "value": id.to_string() }))
        .collect();
    row(vec![json!({
        "type": STRING_SELECT,
        "custom_id": format!("{SAVED_REPLY_SELECT}:{ticket}"),
        "placeholder": truncate(text::SAVED_REPLY_USE_FROM_CARD, MAX_PLACEHOLDER_CHARS),
        "options": options,
        "min_values": 1,
        "max_values": 1,
    })])
}

/// `custom_id` prefixes of the tag picker shown after "Tags": the multi-select that sets the
/// tags (`…:<ticket>`), and the button that opens the editor for new ones.
pub const TAGS_SELECT: &str = "sb1tag:set";
pub const TAGS_NEW: &str = "sb1tag:new";

/// The tag picker (ephemeral): the team's tags in a multi-select, the ticket's current ones
/// pre-selected, and a button for new tags. Discord selects hold 25 options: the current tags
/// first, then the others.
pub fn tags_picker(ticket: TicketId, known: &[String], current: &[String]) -> Value {
    let options: Vec<Value> = offered_tags(known, current)
        .iter()
        .map(|t| json!({ "label": t, "value": t, "default": current.contains(t) }))
        .collect();
    let n = options.len();
    ephemeral_with(
        text::TAGS_MODAL_TITLE,
        vec![
            row(vec![json!({
                "type": STRING_SELECT,
                "custom_id": format!("{TAGS_SELECT}:{ticket}"),
                "placeholder": text::TAGS_KNOWN_PLACEHOLDER,
                "options": options,
                "min_values": 0,
                "max_values": n,
            })]),
            row(vec![json!({
                "type": BUTTON,
                "style": STYLE_SECONDARY,
                "label": text::TAGS_NEW_LABEL,
                "custom_id": format!("{TAGS_NEW}:{ticket}"),
            })]),
        ],
    )
}

/// The tags the picker offers: the ticket's first, then the team's others, as many as a
/// select holds, leaving out names too long for an option.
pub fn offered_tags(known: &[String], current: &[String]) -> Vec<String> {
    let mut names: Vec<&String> = current.iter().collect();
    names.extend(known.iter().filter(|k| !current.contains(k)));
    names
        .into_iter()
        .filter(|t| !t.is_empty() && t.chars().count() <= MAX_OPTION_CHARS)
        .take(MAX_SELECT_OPTIONS)
        .cloned()
        .collect()
}

/// `custom_id` of the tags modal for `ticket`, and of its input.
pub fn tags_modal_custom_id(ticket: TicketId) -> String {
    format!("{ACTION_ID_VERSION}:tags_modal:{ticket}")
}
pub const TAGS_INPUT: &str = "tags";

/// The tags editor: one text input, comma-separated, pre-filled with the current tags.
pub fn tags_modal(ticket: TicketId, current: &[String]) -> Value {
    let mut input = json!({
        "type": TEXT_INPUT,
        "custom_id": TAGS_INPUT,
        "style": 1,
        "label": truncate(text::TAGS_KNOWN_LABEL, MAX_TEXT_INPUT_LABEL_CHARS),
        "placeholder": truncate(text::TAGS_NEW_PLACEHOLDER, MAX_TEXT_INPUT_PLACEHOLDER_CHARS),
        "required": false,
        "max_length": 400,
    });
    if !current.is_empty() {
        input["value"] = current.join(", ").into();
    }
    json!({
        "type": CALLBACK_MODAL,
        "data": {
            "custom_id": tags_modal_custom_id(ticket),
            "title": truncate(text::TAGS_MODAL_TITLE, MAX_MODAL_TITLE_CHARS),
            "components": [row(vec![input])],
        }
    })
}

/// `custom_id` of the saved-reply editor (`…:new` or `…:<id>`), and of its inputs.
pub const SAVED_REPLY_MODAL: &str = "sb1sr:modal";
pub const SAVED_REPLY_NAME_INPUT: &str = "name";
pub const SAVED_REPLY_BODY_INPUT: &str = "body";

/// The saved-reply editor: name and text, pre-filled when editing.
pub fn saved_reply_modal(existing: Option<(i64, &str, &str)>) -> Value {
    let (id, title, name, body) = match existing {
        Some((id, name, body)) => (id.to_string(), text::SAVED_REPLY_EDIT_TITLE, name, body),
        None => ("new".to_string(), text::SAVED_REPLY_NEW_TITLE, "", ""),
    };
    let mut name_input = json!({
        "type": TEXT_INPUT, "custom_id": SAVED_REPLY_NAME_INPUT, "style": 1,
        "label": text::SAVED_REPLY_NAME_LABEL, "required": true, "max_length": 100,
    });
    let mut body_input = json!({
        "type": TEXT_INPUT, "custom_id": SAVED_REPLY_BODY_INPUT, "style": TEXT_INPUT_PARAGRAPH,
        "label": text::SAVED_REPLY_BODY_LABEL, "required": true, "max_length": 4000,
    });
    if !name.is_empty() {
        name_input["value"] = name.into();
    }
    if !body.is_empty() {
        body_input["value"] = body.into();
    }
    json!({
        "type": CALLBACK_MODAL,
        "data": {
            "custom_id": format!("{SAVED_REPLY_MODAL}:{id}"),
            "title": title,
            "components": [row(vec![name_input]), row(vec![body_input])],
        }
    })
}

/// Autocomplete choices (type 8): `(label, value)` pairs, at most 25.
pub fn autocomplete(choices: &[(String, String)]) -> Value {
    let choices: Vec<Value> = choices
        .iter()
        .take(MAX_SELECT_OPTIONS)
        .map(|(name, value)| json!({ "name": truncate(name, MAX_OPTION_CHARS), "value": value }))
        .collect();
    json!({ "type": CALLBACK_AUTOCOMPLETE, "data": { "choices": choices } })
}

/// Who sees the slash command until a server admin says otherwise (Server Settings →
/// Integrations): members with Manage Messages (bit 13, 8192), the moderators of a server.
/// Discord enforces it in the client only; the handler checks the permission lists and the
/// channel itself.
pub const COMMAND_MEMBER_PERMISSIONS: &str = "8192";

/// The slash command's definition, for `PUT /applications/{app}/…/commands` (a bulk
/// overwrite with this one command); `connectable`: the networks `connect` offers. Option
/// types: 1 sub-command, 2 group, 3 string, 4 integer, 6 user.
pub fn commands(name: &str, connectable: &[crate::core::Network]) -> Value {
    let saved_name = |what: &str| {
        json!({"type": 3, "name": "name", "description": format!("The saved reply to {what}"),
               "required": true, "autocomplete": true})
    };
    let choices =
        |vs: &[&str]| -> Vec<Value> { vs.iter().map(|v| json!({"name": v, "value": v})).collect() };
    let queues = choices(&["unassigned", "team", "mine", "done"]);
    let actions = choices(&["close", "reopen", "read", "unread"]);
    let choices_of_networks: Vec<Value> = connectable
        .iter()
        .map(|n| json!({"name": text::connect_choice(*n), "value": text::connect_word(*n)}))
        .collect();
    let mut network =
        json!({"type": 3, "name": "network", "description": "Which network", "required": true});
    // Discord takes 1 to 25 choices; with none connectable here the command says so itself.
    if !choices_of_networks.is_empty() {
        network["choices"] = choices_of_networks.into();
    }
    json!([{
        "name": name,
        "type": 1,
        "description": "Switchboard social inbox",
        "contexts": [0],
        "default_member_permissions": COMMAND_MEMBER_PERMISSIONS,
        "options": [
            {"type": 1, "name": "queue", "description": "List a queue of tickets",
             "options": [{"type": 3, "name": "name", "description": "Which queue", "required": true,
                          "choices": queues}]},
            {"type": 1, "name": "bulk", "description": "Act on every ticket matching a filter",
             "options": [
                {"type": 3, "name": "action", "description": "What to do", "required": true,
                 "choices": actions},
                {"type": 3, "name": "filter", "description": "e.g. status:unread assignee:none network:facebook"}]},
            {"type": 1, "name": "assign", "description": "Assign a ticket, with a note for the assignee",
             "options": [
                {"type": 4, "name": "ticket", "description": "The ticket number", "required": true, "min_value": 1},
                {"type": 6, "name": "who", "description": "A member (leave out to unassign)"},
                {"type": 3, "name": "team", "description": "Or a team"},
                {"type": 3, "name": "note", "description": "A note for the assignee"}]},
            {"type": 2, "name": "saved", "description": "Saved replies",
             "options": [
                {"type": 1, "name": "find", "description": "Look up a saved reply", "options": [saved_name("show")]},
                {"type": 1, "name": "new", "description": "Create a saved reply"},
                {"type": 1, "name": "edit", "description": "Edit a saved reply", "options": [saved_name("edit")]},
                {"type": 1, "name": "delete", "description": "Delete a saved reply", "options": [saved_name("delete")]}]},
            {"type": 1, "name": "connect", "description": "Connect an account whose conversations come to this channel (admins)",
             "options": [network]},
            {"type": 1, "name": "accounts", "description": "List connected accounts with their health (admins)"},
            {"type": 1, "name": "disconnect", "description": "Revoke and remove a connected account (admins)",
             "options": [{"type": 4, "name": "id", "description": "The account's id, as accounts lists it",
                          "required": true, "min_value": 1}]},
            {"type": 1, "name": "away", "description": "Mark yourself away (round-robin gives you no new tickets) or back",
             "options": [{"type": 3, "name": "state", "description": "on: away; off: back", "required": true,
                          "choices": choices(&["on", "off"])}]},
            {"type": 1, "name": "stats", "description": "Team statistics of this channel's tickets",
             "options": [
                {"type": 3, "name": "period", "description": "7d (default), 30d or YYYY-MM-DD..YYYY-MM-DD"},
                {"type": 3, "name": "filter", "description": "e.g. network:facebook team:support"}]}
        ]
    }])
}

/// A field of one line, already within [`MAX_FIELD_VALUE_CHARS`].
fn field(value: String) -> Value {
    json!({
        "name": ZERO_WIDTH_SPACE,
        "value": value,
        "inline": false,
    })
}

/// `<action id>|<value>`, or the action id alone; `None` when it would not fit a `custom_id`.
pub fn custom_id(b: &Button) -> Option<String> {
    let id = match &b.value {
        Some(v) => format!("{}{VALUE_SEPARATOR}{v}", b.action),
        None => b.action.to_string(),
    };
    (id.chars().count() <= MAX_CUSTOM_ID_CHARS).then_some(id)
}

/// A button. A button with `confirm` (Delete) gets the plain action id too: Discord has no
/// confirmation dialog, so the interaction handler must ask first, with an ephemeral
/// follow-up built from the [`Confirm`](crate::core::card::Confirm) texts.
fn button(b: &Button) -> Option<Value> {
    let style = match b.style {
        ButtonStyle::Primary => STYLE_PRIMARY,
        ButtonStyle::Default => STYLE_SECONDARY,
        ButtonStyle::Danger => STYLE_DANGER,
    };
    Some(json!({
        "type": BUTTON,
        "style": style,
        "label": truncate(&b.label, MAX_BUTTON_LABEL_CHARS),
        "custom_id": custom_id(b)?,
    }))
}

fn row(components: Vec<Value>) -> Value {
    json!({ "type": ACTION_ROW, "components": components })
}

fn button_rows(buttons: Vec<Value>) -> Vec<Value> {
    buttons
        .chunks(MAX_BUTTONS_PER_ROW)
        .map(|c| row(c.to_vec()))
        .collect()
}

/// A select row for a person or team picker; `None` for the saved-reply picker (a button).
fn select(p: &Picker) -> Option<Value> {
    match p {
        Picker::Person {
            action,
            placeholder,
        } => Some(row(vec![json!({
            "type": USER_SELECT,
            "custom_id": action.to_string(),
            "placeholder": truncate(placeholder, MAX_PLACEHOLDER_CHARS),
            "min_values": 1,
            "max_values": 1,
        })])),
        Picker::Team {
            action,
            placeholder,
            teams,
        } => {
            // The team name is the option's value: one too long to carry is not offered.
            let options: Vec<Value> = teams
                .iter()
                .filter(|t| !t.is_empty() && t.chars().count() <= MAX_OPTION_CHARS)
                .take(MAX_SELECT_OPTIONS)
                .map(|t| json!({ "label": t, "value": t }))
                .collect();
            (!options.is_empty()).then(|| {
                row(vec![json!({
                    "type": STRING_SELECT,
                    "custom_id": action.to_string(),
                    "placeholder": truncate(placeholder, MAX_PLACEHOLDER_CHARS),
                    "options": options,
                    "min_values": 1,
                    "max_values": 1,
                })])
            })
        }
        Picker::Profile {
            action,
            placeholder,
            options,
        } => {
            // The account's id is the option's value: one too long to carry is not offered.
            let options: Vec<Value> = options
                .iter()
                .filter(|(v, _)| !v.is_empty() && v.chars().count() <= MAX_OPTION_CHARS)
                .take(MAX_SELECT_OPTIONS)
                .map(|(v, label)| json!({ "label": truncate(label, MAX_OPTION_CHARS), "value": v }))
                .collect();
            (options.len() > 1).then(|| {
                row(vec![json!({
                    "type": STRING_SELECT,
                    "custom_id": action.to_string(),
                    "placeholder": truncate(placeholder, MAX_PLACEHOLDER_CHARS),
                    "options": options,
                    "min_values": 1,
                    "max_values": 1,
                })])
            })
        }
        Picker::SavedReply { .. } => None,
    }
}

/// String selects cannot load options as the user types, so the saved-reply picker is a
/// button ("Saved reply…"); the handler answers with a list, and the slash command's
/// autocomplete covers search.
fn saved_reply_button(p: &Picker) -> Option<Value> {
    let Picker::SavedReply {
        action,
        placeholder,
    } = p
    else {
        return None;
    };
    button(&Button {
        label: placeholder.clone(),
        action: *action,
        style: ButtonStyle::Default,
        value: None,
        confirm: None,
    })
}

/// The customer's message, Discord-style: `**author**: text`, struck through when deleted,
/// within `max_chars`.
fn description(view: &CardView, max_chars: usize) -> String {
    let message =
        text::customer_message(&view.author, view.text.clone(), view.edited, view.deleted);
    content(&message, max_chars.min(MAX_EMBED_DESCRIPTION_CHARS))
}

/// A ticket's card as a Discord message body:
/// `{"embeds":[…], "components":[…], "allowed_mentions":{"parse":[]}}`.
///
/// Action rows, in priority order: the card's buttons followed by "Saved reply…" (rows of 5),
/// the person select, the team select, then the suggested-tag buttons (rows of 5). Discord
/// allows 5 rows: whatever comes after the fifth is dropped, so suggestions go first, then
/// the team select. Buttons whose `custom_id` (with its value) would exceed 100 characters are
/// left out, like Slack leaves out values too long to carry.
pub fn card(view: &CardView) -> Value {
    let status = text::status_line_as(
        view.status,
        view.assignee.as_ref(),
        &view.tags,
        view.last_replied_by.as_ref(),
        view.last_replied_as.as_deref(),
        &mention,
    );
    let lines = [
        view.about.clone(),
        Some(status),
        text::replying(&view.replying, &mention).map(Rich::ours),
        view.replying_as.clone(),
        view.moderation.clone().map(Rich::ours),
        view.moderation_failure.clone(),
        view.window.clone().map(Rich::ours),
        view.sla.as_ref().map(|(target, standing)| {
            text::sla_line(*target, standing, &relative_time(standing.due()))
        }),
        view.failure.clone(),
        view.auto_closed.clone().map(Rich::ours),
        view.auto_assigned.clone(),
        view.archived.clone().map(Rich::ours),
    ];
    let fields: Vec<Value> = lines
        .iter()
        .flatten()
        .map(|line| field(content(line, MAX_FIELD_VALUE_CHARS)))
        .collect();

    let mut embed = Map::new();
    embed.insert(
        "title".into(),
        truncate(&view.headline, MAX_EMBED_TITLE_CHARS).into(),
    );
    if let Some(url) = view
        .permalink
        .as_deref()
        .and_then(|p| url::Url::parse(p).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
    {
        embed.insert("url".into(), url.to_string().into());
    }
    // Discord also caps an embed's text as a whole: the description gives way.
    let others: usize = view.headline.chars().count().min(MAX_EMBED_TITLE_CHARS)
        + fields
            .iter()
            .map(|f| f["value"].as_str().map_or(0, |v| v.chars().count()) + 1)
            .sum::<usize>();
    let room = MAX_EMBED_TOTAL_CHARS.saturating_sub(others);
    embed.insert("description".into(), description(view, room).into());
    embed.insert("color".into(), colour(view.status).into());
    embed.insert("fields".into(), fields.into());
    embed.insert("timestamp".into(), view.created_at.to_rfc3339().into());

    let mut buttons: Vec<Value> = view.buttons.iter().filter_map(button).collect();
    buttons.extend(view.pickers.iter().filter_map(saved_reply_button));
    let mut rows = button_rows(buttons);
    rows.extend(view.pickers.iter().filter_map(select));
    let suggestions: Vec<Value> = view
        .suggestions
        .iter()
        .filter(|b| b.value.is_some())
        .filter_map(button)
        .collect();
    rows.extend(button_rows(suggestions));
    rows.truncate(MAX_ACTION_ROWS);

    json!({
        "embeds": [Value::Object(embed)],
        "components": rows,
        "allowed_mentions": { "parse": [] },
    })
}

/// A storm card (see `core::storm`): an embed edited in place, with the storm's controls.
///
/// At most five rows: one of buttons (assign all to me, close all, reply to selected, assign
/// all to a team, hide all containing a typed word; the last three open a modal), then one
/// menu a row: open a comment as a card, assign all to a person, tag all, hide all containing
/// a top word.
pub fn storm_card(view: &crate::core::storm::StormView) -> Value {
    use crate::core::storm::{StormAction, StormVerb};
    let body = text::storm_card(view, &relative_time(view.started_at));
    let id = |verb| StormAction::new(verb, view.id).to_string();
    let button = |verb, style, label: &str| {
        json!({
            "type": BUTTON,
            "style": style,
            "label": truncate(label, MAX_BUTTON_LABEL_CHARS),
            "custom_id": id(verb),
        })
    };
    let mut buttons = Vec::new();
    if view.open > 0 {
        buttons.push(button(
            StormVerb::AssignAllToMe,
            STYLE_SECONDARY,
            text::STORM_ASSIGN_ME,
        ));
        buttons.push(button(
            StormVerb::CloseAll,
            STYLE_DANGER,
            text::STORM_CLOSE_ALL,
        ));
    }
    if !view.choices.is_empty() {
        buttons.push(button(
            StormVerb::ReplySelected,
            STYLE_SECONDARY,
            text::STORM_REPLY_SELECTED,
        ));
    }
    if view.open > 0 && !team_options(&view.teams).is_empty() {
        buttons.push(button(
            StormVerb::AssignAllTeam,
            STYLE_SECONDARY,
            text::STORM_ASSIGN_TEAM,
        ));
    }
    // Hiding acts on closed tickets' comments too.
    if view.can_hide {
        buttons.push(button(
            StormVerb::HideTyped,
            STYLE_SECONDARY,
            text::STORM_HIDE_MATCHING,
        ));
    }
    let mut rows = button_rows(buttons);
    let options: Vec<Value> = view
        .choices
        .iter()
        .take(MAX_SELECT_OPTIONS)
        .map(|l| {
            // Option labels are plain text on Discord.
            let label = truncate(&text::storm_choice(l), MAX_OPTION_CHARS);
            json!({ "label": label, "value": l.ticket.0.to_string() })
        })
        .collect();
    if !options.is_empty() {
        rows.push(row(vec![json!({
            "type": STRING_SELECT,
            "custom_id": id(StormVerb::OpenCard),
            "placeholder": truncate(text::STORM_OPEN_CARD, MAX_PLACEHOLDER_CHARS),
            "options": options,
        })]));
    }
    let select = |verb, placeholder: &str, options: Vec<Value>| {
        row(vec![json!({
            "type": STRING_SELECT,
            "custom_id": id(verb),
            "placeholder": truncate(placeholder, MAX_PLACEHOLDER_CHARS),
            "options": options,
        })])
    };
    if view.open > 0 {
        rows.push(row(vec![json!({
            "type": USER_SELECT,
            "custom_id": id(StormVerb::AssignAllTo),
            "placeholder": truncate(text::STORM_ASSIGN_TO, MAX_PLACEHOLDER_CHARS),
            "min_values": 1,
            "max_values": 1,
        })]));
    }
    let tags: Vec<Value> = view
        .tags
        .iter()
        .filter(|t| t.chars().count() <= crate::core::storm::MAX_CHOICE_CHARS)
        .take(MAX_SELECT_OPTIONS)
        .map(|t| json!({ "label": t, "value": t }))
        .collect();
    if !tags.is_empty() {
        rows.push(select(StormVerb::TagAll, text::STORM_TAG_ALL, tags));
    }
    let words: Vec<Value> = view
        .keywords
        .iter()
        .filter(|(w, _)| w.chars().count() <= crate::core::storm::MAX_CHOICE_CHARS)
        .map(|(w, n)| json!({ "label": format!("{} ({n})", visible(w)), "value": w }))
        .collect();
    if view.can_hide && !words.is_empty() {
        rows.push(select(
            StormVerb::HideMatching,
            text::STORM_HIDE_TOP_WORD,
            words,
        ));
    }
    rows.truncate(MAX_ACTION_ROWS);
    let colour = if view.ended_at.is_some() {
        COLOUR_CLOSED
    } else {
        COLOUR_UNREAD
    };
    json!({
        "embeds": [{
            "description": content(&body, MAX_EMBED_DESCRIPTION_CHARS),
            "color": colour,
        }],
        "components": rows,
        "allowed_mentions": { "parse": [] },
    })
}

/// The confirmation a storm's "Close all" asks for (Discord has no confirm dialog): an
/// ephemeral message with the button that does it.
pub fn storm_close_confirm(storm: i64) -> Value {
    use crate::core::storm::{StormAction, StormVerb};
    json!({
        "content": text::STORM_CLOSE_CONFIRM,
        "flags": EPHEMERAL,
        "components": [row(vec![json!({
            "type": BUTTON,
            "style": STYLE_DANGER,
            "label": truncate(text::STORM_CLOSE_ALL, MAX_BUTTON_LABEL_CHARS),
            "custom_id": StormAction::new(StormVerb::CloseAllConfirmed, storm).to_string(),
        })])],
        "allowed_mentions": { "parse": [] },
    })
}

/// The confirmation "Hide all containing" asks for on Discord: the word, and the button that
/// hides (its `custom_id` carries the word).
pub fn storm_hide_confirm(storm: i64, word: &str) -> Value {
    use crate::core::storm::{StormAction, StormVerb};
    let sure = StormAction {
        verb: StormVerb::HideMatchingConfirmed,
        storm,
        arg: Some(word.to_string()),
    }
    .to_string();
    let mut components = Vec::new();
    if sure.chars().count() <= MAX_CUSTOM_ID_CHARS {
        components.push(row(vec![json!({
            "type": BUTTON,
            "style": STYLE_DANGER,
            "label": truncate(text::STORM_HIDE_TITLE, MAX_BUTTON_LABEL_CHARS),
            "custom_id": sure,
        })]));
    }
    json!({
        "content": content(&text::storm_hide_confirm(word), MAX_CONTENT_CHARS),
        "flags": EPHEMERAL,
        "components": components,
        "allowed_mentions": { "parse": [] },
    })
}

/// `custom_id`s of the inputs of the storm modals (the modal's own is the storm control that
/// opened it: `sbs1:<verb>:<storm>`).
pub const STORM_REPLY_COMMENTS_SELECT: &str = "comments";
pub const STORM_REPLY_SAVED_SELECT: &str = "saved";
pub const STORM_TEAM_SELECT: &str = "team";
pub const STORM_WORD_INPUT: &str = "word";

/// A modal (interaction response type 9) of Label components, its title cut to Discord's limit.
fn modal(custom_id: String, title: &str, labels: Vec<Value>) -> Value {
    json!({
        "type": CALLBACK_MODAL,
        "data": {
            "custom_id": custom_id,
            "title": truncate(title, MAX_MODAL_TITLE_CHARS),
            "components": labels,
        }
    })
}

/// A Label (type 18): what a modal's select or text input is for, and an optional hint.
fn label(text: &str, hint: Option<&str>, component: Value) -> Value {
    let mut l = json!({
        "type": LABEL,
        "label": truncate(text, MAX_LABEL_CHARS),
        "component": component,
    });
    if let Some(hint) = hint {
        l["description"] = truncate(hint, MAX_LABEL_DESCRIPTION_CHARS).into();
    }
    l
}

/// A storm's "Reply to selected…" modal: a multi-select of the storm's open comments
/// (`choices`, newest first, at most 25) and a select of saved replies (`saved`: id and name,
/// at most 25). Option labels are plain text, cut to Discord's limit. `None` when either
/// would be empty (Discord refuses a select without options).
pub fn storm_reply_modal(
    storm: i64,
    choices: &[crate::core::storm::StormLine],
    saved: &[(i64, String)],
) -> Option<Value> {
    use crate::core::storm::{StormAction, StormVerb};
    let comments: Vec<Value> = choices
        .iter()
        .take(MAX_SELECT_OPTIONS)
        .map(|l| {
            json!({
                "label": truncate(&text::storm_choice(l), MAX_OPTION_CHARS),
                "value": l.ticket.0.to_string(),
            })
        })
        .collect();
    let replies: Vec<Value> = saved
        .iter()
        .take(MAX_SELECT_OPTIONS)
        .map(|(id, name)| {
            json!({ "label": truncate(&visible(name), MAX_OPTION_CHARS), "value": id.to_string() })
        })
        .collect();
    if comments.is_empty() || replies.is_empty() {
        return None;
    }
    let n = comments.len();
    Some(modal(
        StormAction::new(StormVerb::ReplySelected, storm).to_string(),
        text::STORM_REPLY_TITLE,
        vec![
            label(
                text::STORM_REPLY_COMMENTS,
                Some(text::STORM_REPLY_HINT_SHORT),
                json!({
                    "type": STRING_SELECT,
                    "custom_id": STORM_REPLY_COMMENTS_SELECT,
                    "options": comments,
                    "min_values": 1,
                    "max_values": n,
                    "required": true,
                }),
            ),
            label(
                text::STORM_REPLY_SAVED,
                None,
                json!({
                    "type": STRING_SELECT,
                    "custom_id": STORM_REPLY_SAVED_SELECT,
                    "options": replies,
                    "min_values": 1,
                    "max_values": 1,
                    "required": true,
                }),
            ),
        ],
    ))
}

/// The teams a storm's team select offers: the name is the value, so one too long to carry
/// is left out.
fn team_options(teams: &[String]) -> Vec<Value> {
    teams
        .iter()
        .filter(|t| !t.is_empty() && t.chars().count() <= MAX_OPTION_CHARS)
        .take(MAX_SELECT_OPTIONS)
        .map(|t| json!({ "label": t, "value": t }))
        .collect()
}

/// A storm's "Assign all to team…" modal: a select of the teams (see [`team_options`]).
/// `None` without a team to offer.
pub fn storm_team_modal(storm: i64, teams: &[String]) -> Option<Value> {
    use crate::core::storm::{StormAction, StormVerb};
    let options = team_options(teams);
    (!options.is_empty()).then(|| {
        modal(
            StormAction::new(StormVerb::AssignAllTeam, storm).to_string(),
            text::STORM_ASSIGN_TEAM_TITLE,
            vec![label(
                text::STORM_TEAM_LABEL,
                None,
                json!({
                    "type": STRING_SELECT,
                    "custom_id": STORM_TEAM_SELECT,
                    "options": options,
                    "min_values": 1,
                    "max_values": 1,
                    "required": true,
                }),
            )],
        )
    })
}

/// A storm's "Hide all containing…" modal: one short text input for the word or phrase
/// (1 to [`MAX_CHOICE_CHARS`](crate::core::storm::MAX_CHOICE_CHARS) characters; its
/// submission asks for confirmation like the top-words menu does).
pub fn storm_hide_modal(storm: i64) -> Value {
    use crate::core::storm::{MAX_CHOICE_CHARS, StormAction, StormVerb};
    modal(
        StormAction::new(StormVerb::HideTyped, storm).to_string(),
        text::STORM_HIDE_TITLE,
        vec![label(
            text::STORM_HIDE_WORD_LABEL,
            Some(text::STORM_HIDE_WORD_HINT),
            json!({
                "type": TEXT_INPUT,
                "custom_id": STORM_WORD_INPUT,
                "style": TEXT_INPUT_SHORT,
                "min_length": 1,
                "max_length": MAX_CHOICE_CHARS,
                "required": true,
            }),
        )],
    )
}

/// `custom_id` of the reply modal for `ticket`.
pub fn reply_modal_custom_id(ticket: TicketId) -> String {
    format!("{ACTION_ID_VERSION}:reply_modal:{ticket}")
}

/// The reply editor, as an interaction response (type 9, MODAL) to a Reply click or a
/// saved-reply choice: one paragraph text input ([`REPLY_INPUT`]), pre-filled with `prefill`.
pub fn reply_modal(ticket: TicketId, prefill: Option<&str>) -> Value {
    let mut input = json!({
        "type": TEXT_INPUT,
        "custom_id": REPLY_INPUT,
        "style": TEXT_INPUT_PARAGRAPH,
        "label": truncate(text::REPLY_MODAL_LABEL, MAX_TEXT_INPUT_LABEL_CHARS),
        "placeholder": truncate(text::REPLY_MODAL_HINT, MAX_TEXT_INPUT_PLACEHOLDER_CHARS),
        "min_length": 1,
        "max_length": MAX_REPLY_INPUT_CHARS,
        "required": true,
    });
    if let Some(prefill) = prefill.filter(|p| !p.is_empty()) {
        input["value"] = truncate(prefill, MAX_REPLY_INPUT_CHARS).into();
    }
    json!({
        "type": CALLBACK_MODAL,
        "data": {
            "custom_id": reply_modal_custom_id(ticket),
            "title": truncate(text::REPLY_MODAL_TITLE, MAX_MODAL_TITLE_CHARS),
            "components": [row(vec![input])],
        }
    })
}

/// Whether a click needs the handler to confirm first (Discord has no confirm dialog).
pub fn needs_confirmation(action: CardAction) -> bool {
    crate::core::card::confirmation(action).is_some()
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::core::{Assignee, ChatUserId, Surface, Ticket};

    fn teammate(id: &str) -> Teammate {
        Teammate {
            surface: Surface::Discord,
            id: ChatUserId::new(id),
        }
    }

    fn ticket(status: Status) -> Ticket {
        crate::core::model::sample_ticket(
            status,
            "Where is my order? It's been 2 weeks & counting @everyone [x](https://evil.example) <@1>",
        )
    }

    fn render(t: &Ticket, teams: &[String]) -> Value {
        card(&CardView::of(
            t,
            &crate::networks::test_capabilities(&t.state),
            "Acme Coffee",
            teams,
            t.state.created_at,
        ))
    }

    fn pretty(v: &Value) -> String {
        serde_json::to_string_pretty(v).unwrap()
    }

    fn rows(v: &Value) -> &Vec<Value> {
        v["components"].as_array().unwrap()
    }

    #[test]
    fn card_unread() {
        insta::assert_snapshot!("card_unread", pretty(&render(&ticket(Status::Unread), &[])));
    }

    #[test]
    fn card_sla_warned() {
        let mut t = ticket(Status::Unread);
        let since = t.state.created_at;
        t.state.sla = Some(crate::core::SlaClock {
            target: crate::core::SlaTarget::FirstResponse,
            since,
            due: Some(since + chrono::Duration::minutes(60)),
            warn_at: Some(since + chrono::Duration::minutes(45)),
            warned: true,
            breached: false,
        });
        insta::assert_snapshot!("card_sla_warned", pretty(&render(&t, &[])));
    }

    #[test]
    fn card_closed_assigned_tagged() {
        let mut t = ticket(Status::Closed);
        t.state.assignee = Some(Assignee::Person(teammate("111")));
        t.state.tags = vec!["billing".into(), "vip".into()];
        t.state.last_replied_by = Some(teammate("222"));
        t.state.first_item_edited = true;
        insta::assert_snapshot!("card_closed", pretty(&render(&t, &[])));
    }

    #[test]
    fn card_auto_assigned_says_so_escaped() {
        let mut t = ticket(Status::Unread);
        t.state.assignee = Some(Assignee::Person(teammate("111")));
        t.state.auto_assigned = Some("*vip* @everyone".into());
        let card = pretty(&render(&t, &[]));
        assert!(
            card.contains(r"Assigned automatically by the rule \\*vip\\* \\@everyone."),
            "{card}"
        );
    }

    #[test]
    fn card_archived_has_no_components() {
        let mut t = ticket(Status::Closed);
        t.state.archived = Some(crate::core::model::Archived {
            at: t.state.updated_at,
            after_days: 42,
        });
        let card = render(&t, &[]);
        assert!(
            card["components"].as_array().is_none_or(|c| c.is_empty()),
            "{card}"
        );
        insta::assert_snapshot!("card_archived", pretty(&card));
    }

    #[test]
    fn reply_modal_snapshot() {
        insta::assert_snapshot!(
            "reply_modal",
            pretty(&reply_modal(
                TicketId(42),
                Some("Hi Jane, thanks for waiting!")
            ))
        );
    }

    #[test]
    fn reply_modal_without_prefill_has_no_value() {
        let m = reply_modal(TicketId(7), None);
        assert_eq!(m["type"], 9);
        assert_eq!(m["data"]["custom_id"], "sb1:reply_modal:7");
        let input = &m["data"]["components"][0]["components"][0];
        assert_eq!(input["max_length"], 3000);
        assert!(input.get("value").is_none());
        let long = "x".repeat(5000);
        let m = reply_modal(TicketId(7), Some(&long));
        let value = m["data"]["components"][0]["components"][0]["value"]
            .as_str()
            .unwrap();
        assert_eq!(value.chars().count(), MAX_REPLY_INPUT_CHARS);
    }

    #[test]
    fn every_card_respects_discord_limits() {
        let mut t = ticket(Status::Unread);
        t.state.first_text = "é".repeat(10_000);
        t.state.suggested_tags = (0..12).map(|i| format!("tag{i}")).collect();
        t.state.suggested_tags.push("x".repeat(120));
        // Long tags and a long failure make long field lines: together with a full
        // description they would pass Discord's total; the description gives way.
        t.state.tags = (0..40).map(|i| format!("{i}{}", "t".repeat(60))).collect();
        t.state.last_failure = Some(crate::core::FailureReason::Other("f".repeat(2000)));
        let teams: Vec<String> = (0..40).map(|i| format!("Team {i}")).collect();
        let v = render(&t, &teams);
        let embed = &v["embeds"][0];
        let desc = embed["description"].as_str().unwrap();
        assert!(desc.chars().count() <= MAX_EMBED_DESCRIPTION_CHARS);
        assert!(desc.ends_with('…'));
        let chars = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
        let total = chars(&embed["title"])
            + chars(&embed["description"])
            + embed["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| chars(&f["name"]) + chars(&f["value"]))
                .sum::<usize>();
        assert!(total <= MAX_EMBED_TOTAL_CHARS, "{total}");
        let rows = rows(&v);
        assert!(rows.len() <= MAX_ACTION_ROWS);
        let mut ids = std::collections::HashSet::new();
        for r in rows {
            assert_eq!(r["type"], 1);
            let cs = r["components"].as_array().unwrap();
            assert!((1..=MAX_BUTTONS_PER_ROW).contains(&cs.len()));
            for c in cs {
                let id = c["custom_id"].as_str().unwrap();
                assert!(id.chars().count() <= MAX_CUSTOM_ID_CHARS, "{id}");
                assert!(ids.insert(id.to_string()), "duplicate {id}");
                if c["type"] == 3 {
                    assert!(c["options"].as_array().unwrap().len() <= MAX_SELECT_OPTIONS);
                }
                if c["type"] != 2 {
                    assert_eq!(cs.len(), 1, "a select is alone in its row");
                }
            }
        }
    }

    fn custom_ids(v: &Value) -> Vec<String> {
        rows(v)
            .iter()
            .flat_map(|r| r["components"].as_array().unwrap())
            .map(|c| c["custom_id"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn suggestions_carry_the_tag_and_are_dropped_first() {
        let mut t = ticket(Status::Unread);
        t.state.suggested_tags = (0..7).map(|i| format!("late delivery {i}")).collect();
        // 2 button rows, the person select, 2 suggestion rows.
        let v = render(&t, &[]);
        assert_eq!(rows(&v).len(), 5);
        let last = rows(&v).last().unwrap();
        assert_eq!(
            last["components"][1]["custom_id"],
            "sb1:accept_tag:42|late delivery 6"
        );
        assert_eq!(last["components"][1]["label"], "+ late delivery 6");
        // A team select takes a row: the last suggestion row no longer fits.
        let v = render(&t, &["Support".to_string()]);
        assert_eq!(rows(&v).len(), 5);
        let ids = custom_ids(&v);
        assert!(ids.contains(&"sb1:assign_team:42".to_string()));
        assert!(ids.contains(&"sb1:accept_tag:42|late delivery 4".to_string()));
        assert!(!ids.contains(&"sb1:accept_tag:42|late delivery 5".to_string()));
    }

    #[test]
    fn values_too_long_for_a_custom_id_are_left_out() {
        let mut t = ticket(Status::Read);
        t.state.suggested_tags = vec!["x".repeat(90), "ok".into()];
        let ids = custom_ids(&render(&t, &[]));
        assert!(ids.contains(&"sb1:accept_tag:42|ok".to_string()));
        assert!(!ids.iter().any(|i| i.contains("xxx")));
    }

    #[test]
    fn extra_lines_are_fields_in_slack_order() {
        use crate::core::{FailureReason, Moderation, Replying};
        let mut t = ticket(Status::Read);
        t.state.replying = vec![Replying {
            teammate: teammate("333"),
            since: t.state.created_at,
        }];
        t.state.moderation.hidden = true;
        t.state.moderation.failure =
            Some((Moderation::Like, FailureReason::Rejected("no *way*".into())));
        t.state.last_failure = Some(FailureReason::RateLimited);
        let mut view = CardView::of(
            &t,
            &crate::networks::test_capabilities(&t.state),
            "Acme Coffee",
            &[],
            t.state.created_at,
        );
        view.window = Some(text::window_closed(crate::core::Network::Whatsapp));
        let v = card(&view);
        let values: Vec<&str> = v["embeds"][0]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["value"].as_str().unwrap())
            .collect();
        assert_eq!(values.len(), 6, "{values:?}");
        assert!(values[0].starts_with("**Read** · "));
        assert_eq!(values[1], "✏️ <@333> is replying…");
        assert_eq!(values[2], "🛡️ Hidden from the public");
        assert!(values[3].starts_with("⚠️ Liking failed") && values[3].contains(r"no \*way\*"));
        assert!(values[4].starts_with("🚫 Reply window closed"));
        assert!(values[5].starts_with("⚠️ Last reply failed"));
        assert_eq!(v["embeds"][0]["color"], COLOUR_READ);
    }

    #[test]
    fn a_shared_ticket_shows_who_replies_and_a_select_of_the_others() {
        use crate::core::profiles::{ReplyProfile, Why};
        let mut t = ticket(Status::Unread);
        t.state.kind = crate::core::ItemKind::Mention;
        let profile = ReplyProfile {
            account: crate::core::AccountId::new("1001"),
            why: Why::Routed,
            choices: vec![
                crate::core::AccountId::new("1001"),
                crate::core::AccountId::new("2002"),
            ],
        };
        let view = CardView::of(
            &t,
            &crate::networks::test_capabilities(&t.state),
            "Acme Coffee",
            &["billing".into()],
            t.state.created_at,
        )
        .with_profile(
            &profile,
            "Acme <Coffee>",
            &[
                ("1001".into(), "Acme <Coffee>".into()),
                ("2002".into(), "Acme Roastery".into()),
            ],
        );
        let v = card(&view);
        let fields: Vec<&str> = v["embeds"][0]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["value"].as_str())
            .collect();
        assert!(
            fields.contains(&r"👤 Replying as **Acme \<Coffee\>**"),
            "{fields:?}"
        );
        let select = rows(&v)
            .iter()
            .flat_map(|r| r["components"].as_array().unwrap())
            .find(|c| c["custom_id"] == "sb1:profile:42")
            .cloned()
            .expect("the profile select");
        assert_eq!(select["type"], STRING_SELECT);
        assert_eq!(
            select["options"],
            json!([{"label": "Acme <Coffee>", "value": "1001"},
                   {"label": "Acme Roastery", "value": "2002"}])
        );
        // It comes before the other selects, so the row cap never drops it.
        let customs: Vec<&str> = rows(&v)
            .iter()
            .flat_map(|r| r["components"].as_array().unwrap())
            .filter(|c| c["type"] != BUTTON)
            .filter_map(|c| c["custom_id"].as_str())
            .collect();
        assert_eq!(customs.first(), Some(&"sb1:profile:42"), "{customs:?}");
    }

    #[test]
    fn delete_keeps_its_action_id() {
        let v = render(&ticket(Status::Unread), &[]);
        let delete = rows(&v)
            .iter()
            .flat_map(|r| r["components"].as_array().unwrap())
            .find(|c| c["custom_id"] == "sb1:delete:42")
            .expect("delete button");
        assert_eq!(delete["style"], 4);
        assert!(needs_confirmation(CardAction::Delete));
        assert!(needs_confirmation(CardAction::DeleteReply));
        assert!(needs_confirmation(CardAction::BanAuthor));
        assert!(!needs_confirmation(CardAction::Approve));
        let ban = confirmation(CardAction::BanAuthor, TicketId(4)).expect("asks");
        assert_eq!(
            ban["data"]["components"][0]["components"][0]["custom_id"],
            "sb1:ban:4|confirmed"
        );
    }

    #[test]
    fn customer_text_is_escaped_and_nothing_pings() {
        let v = render(&ticket(Status::Unread), &[]);
        let desc = v["embeds"][0]["description"].as_str().unwrap();
        assert!(
            desc.contains(r"\@everyone \[x\](https://evil.example) \<\@1\>"),
            "{desc}"
        );
        assert_eq!(v["allowed_mentions"], json!({ "parse": [] }));
    }

    /// Every message kind Discord gets, with the hostile corpus wherever customers (networks,
    /// teammates' stored text) put words: nothing live, nothing pings, everything shown as
    /// written. The messages are built the way the outbox and the command handlers build them.
    #[test]
    fn hostile_text_is_inert_in_every_discord_message() {
        use crate::core::hostile::{CORPUS, discord_live, discord_shows};
        use crate::core::{FailureReason, Moderation, Network};
        let link = "https://discord.com/channels/1/2/3";
        let headline = "Facebook comment on Acme Coffee";
        let card_link = format!("[{headline}]({link})");
        let ana = "<@111>";
        for h in CORPUS {
            let mut t = ticket(Status::Read);
            t.state.customer.name = Some(h.to_string());
            t.state.first_text = format!("before {h} after");
            t.state.context.subject = Some(format!("video {h} title"));
            t.state.tags = vec![h.to_string(), "vip".into()];
            t.state.assignee = Some(Assignee::Person(teammate("111")));
            t.state.last_failure = Some(FailureReason::Other(h.to_string()));
            t.state.moderation.failure =
                Some((Moderation::Hide, FailureReason::Rejected(h.to_string())));
            let mut deleted = t.clone();
            deleted.state.first_item_deleted = true;
            let listing = Rich::join(
                [
                    text::queue_heading("unassigned", 1, false),
                    text::queue_line(Status::Read, Some(link), headline, h),
                ],
                "\n",
            );
            let found = Rich::join(
                [
                    text::saved_reply_results(h, 1, 1),
                    text::saved_reply_list_line(1, h, h),
                ],
                "\n",
            );
            let team = "<@&777>";
            let messages = [
                ("card", render(&t, &[]), vec![ana], vec![]),
                ("deleted card", render(&deleted, &[]), vec![ana], vec![]),
                (
                    "thread message",
                    thread_customer_message(h, h, true, false),
                    vec![],
                    vec![],
                ),
                (
                    "assignee DM",
                    customer_notice(h, headline, link, h, None),
                    vec![card_link.as_str()],
                    vec![],
                ),
                (
                    "team notice",
                    customer_notice(h, headline, link, h, Some("777")),
                    vec![team, &card_link],
                    vec!["777"],
                ),
                (
                    "queue listing",
                    ephemeral_rich(&listing),
                    vec![&card_link],
                    vec![],
                ),
                (
                    "saved reply shown",
                    ephemeral_rich(&text::saved_reply_show(1, h, h)),
                    vec![],
                    vec![],
                ),
                ("saved-reply search", ephemeral_rich(&found), vec![], vec![]),
                (
                    "failure explanation",
                    pinging(
                        &text::reply_failed(
                            ana,
                            Network::Facebook,
                            &FailureReason::Other(h.to_string()),
                        ),
                        &["111"],
                        &[],
                    ),
                    vec![ana],
                    vec!["111"],
                ),
                (
                    "refusal explanation",
                    pinging(
                        &text::reply_failed(
                            ana,
                            Network::Facebook,
                            &FailureReason::Rejected(h.to_string()),
                        ),
                        &["111"],
                        &[],
                    ),
                    vec![ana],
                    vec!["111"],
                ),
                (
                    "token alert",
                    message(&text::token_alert(Network::Facebook, h)),
                    vec![],
                    vec![],
                ),
                (
                    "reply copy",
                    message(&text::modal_reply_copy(ana, h)),
                    vec![ana],
                    vec![],
                ),
                (
                    "review update",
                    message(&text::review_updated(
                        h,
                        &crate::core::decide::ReviewVersion {
                            rating: Some(4),
                            text: h.to_string(),
                        },
                        &crate::core::decide::ReviewVersion {
                            rating: Some(1),
                            text: format!("{h} (now)"),
                        },
                    )),
                    vec![],
                    vec![],
                ),
                (
                    "account connected",
                    message(&text::account_connected(Network::Youtube, &[h.to_string()])),
                    vec![],
                    vec![],
                ),
                (
                    "account alert",
                    message(&text::account_needs_reconnect(
                        Network::Google,
                        h,
                        h,
                        "/inbox",
                    )),
                    vec![],
                    vec![],
                ),
                (
                    "accounts listing",
                    ephemeral_rich(&text::accounts_listing(&[text::AccountLine {
                        id: 1,
                        network: Network::Youtube,
                        name: h,
                        unhealthy: Some(h),
                        last_error: None,
                    }])),
                    vec![],
                    vec![],
                ),
            ];
            for (what, body, ours, pings) in &messages {
                let live = discord_live(body, ours, pings);
                assert!(live.is_empty(), "{what} with {h:?}: {live:#?}");
                assert!(
                    discord_shows(body, h),
                    "{what} does not show {h:?} as written: {body}"
                );
            }
            // The saved-reply select shows names as plain labels, and pings nobody.
            let select = ephemeral_with(
                text::saved_reply_results("", 1, 1),
                vec![saved_reply_select(TicketId(1), &[(1, h.to_string())])],
            );
            assert!(discord_live(&select, &[], &[]).is_empty());
        }
        let bulk = plain(&text::bulk_done(CardAction::Close, 2, 3));
        assert!(discord_live(&bulk, &[], &[]).is_empty());
    }

    #[test]
    fn lines_use_unicode_emoji() {
        assert_eq!(emoji(":warning: Last reply failed"), "⚠️ Last reply failed");
        assert_eq!(bold("*Closed* · x"), "**Closed** · x");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abcd", 4), "abcd");
    }

    #[test]
    fn core_text_becomes_discord_markup() {
        assert_eq!(
            markup(
                ":bust_in_silhouette: <@1> assigned you a ticket: <https://discord.com/channels/1/2/3|Facebook comment>"
            ),
            "👤 <@1> assigned you a ticket: [Facebook comment](https://discord.com/channels/1/2/3)"
        );
        assert_eq!(
            markup("your reply was *not delivered*"),
            "your reply was **not delivered**"
        );
        // Mentions and a lone `<` pass through.
        assert_eq!(markup("<@&9> and 3 < 4"), "<@&9> and 3 < 4");
        let p = plain("hi <@1>");
        assert_eq!(
            p["allowed_mentions"]["parse"],
            json!([]),
            "nothing pings by default"
        );
        let p = pinging(&Rich::ours("hi"), &["1"], &["2"]);
        assert_eq!(
            p["allowed_mentions"],
            json!({"parse": [], "users": ["1"], "roles": ["2"]})
        );
    }

    #[test]
    fn peoples_words_are_never_re_marked_up() {
        let m = thread_customer_message("Jane *", "**hi** <@1>", false, true);
        assert_eq!(
            m["content"],
            r"**Jane \***: ~~\*\*hi\*\* \<\@1\>~~ _(deleted by the customer)_"
        );
        let copy = message(&text::modal_reply_copy("<@1>", "**yes** ~~no~~"));
        assert_eq!(copy["content"], r"<@1> replied: \*\*yes\*\* \~\~no\~\~");
    }

    #[test]
    fn delete_confirmation_and_saved_reply_select() {
        let c = confirmation(CardAction::Delete, TicketId(4)).expect("asks");
        assert_eq!(c["data"]["flags"], EPHEMERAL);
        assert_eq!(
            c["data"]["components"][0]["components"][0],
            json!({"type": BUTTON, "style": STYLE_DANGER, "label": "Delete", "custom_id": "sb1:delete:4|confirmed"})
        );
        let s = saved_reply_select(TicketId(4), &[(7, "Hours".into())]);
        assert_eq!(s["components"][0]["custom_id"], "sb1sr:use:4");
        assert_eq!(
            s["components"][0]["options"],
            json!([{"label": "Hours", "value": "7"}])
        );
        let m = tags_modal(TicketId(4), &["a".into(), "b".into()]);
        assert_eq!(m["data"]["custom_id"], "sb1:tags_modal:4");
        assert_eq!(m["data"]["components"][0]["components"][0]["value"], "a, b");
    }

    #[test]
    fn the_slash_command_definition() {
        let c = commands(
            "inbox",
            &[crate::core::Network::Youtube, crate::core::Network::Google],
        );
        assert_eq!(c[0]["name"], "inbox");
        assert_eq!(
            c[0]["default_member_permissions"], "8192",
            "Manage Messages"
        );
        let subs: Vec<&str> = c[0]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            subs,
            [
                "queue",
                "bulk",
                "assign",
                "saved",
                "connect",
                "accounts",
                "disconnect",
                "away",
                "stats"
            ]
        );
        let find = &c[0]["options"][3]["options"][0];
        assert_eq!(find["name"], "find");
        assert_eq!(find["options"][0]["autocomplete"], true);
        // `connect` takes a string choice of the connectable networks; `disconnect` an id.
        let network = &c[0]["options"][4]["options"][0];
        assert_eq!(
            (network["type"].as_u64(), network["required"].as_bool()),
            (Some(3), Some(true))
        );
        let values: Vec<&str> = network["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, ["youtube", "google"]);
        let id = &c[0]["options"][6]["options"][0];
        assert_eq!(
            (id["name"].as_str(), id["type"].as_u64()),
            (Some("id"), Some(4))
        );
        // Discord's limits: 1-100 characters per description, 1-100 per choice name.
        fn descriptions(v: &Value, out: &mut Vec<String>) {
            if let Some(d) = v["description"].as_str() {
                out.push(d.to_string());
            }
            for o in v["options"].as_array().into_iter().flatten() {
                descriptions(o, out);
            }
        }
        let mut all = Vec::new();
        descriptions(&c[0], &mut all);
        assert!(
            all.iter().all(|d| (1..=100).contains(&d.chars().count())),
            "{all:?}"
        );
        let a = autocomplete(&[("Hours".into(), "7".into())]);
        assert_eq!(
            a,
            json!({"type": 8, "data": {"choices": [{"name": "Hours", "value": "7"}]}})
        );
    }

    // ---- storm card and modals ----------------------------------------------------------------

    fn storm_line(n: i64, author: &str, text: &str) -> crate::core::storm::StormLine {
        crate::core::storm::StormLine {
            seq: n,
            ticket: TicketId(n),
            author: author.into(),
            text: text.into(),
            at: chrono::DateTime::from_timestamp(1_800_000_000 + n, 0).unwrap(),
            status: Status::Unread,
            answered: false,
        }
    }

    /// A running storm with every control's material: 30 open comments, tags, top words.
    fn storm_view(teams: &[&str], can_hide: bool) -> crate::core::storm::StormView {
        let choices: Vec<_> = (1..=30)
            .map(|n| storm_line(n, &format!("Fan {n}"), "where is my refund"))
            .collect();
        crate::core::storm::StormView {
            id: 3,
            count: 30,
            per_minute: 12,
            started_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            ended_at: None,
            subject: None,
            link: None,
            newest: choices[..5].to_vec(),
            keywords: vec![("refund".into(), 30)],
            open: 30,
            closed: 0,
            choices,
            tags: vec!["billing".into()],
            teams: teams.iter().map(|t| t.to_string()).collect(),
            can_hide,
        }
    }

    fn buttons(v: &Value) -> Vec<String> {
        rows(v)
            .iter()
            .flat_map(|r| r["components"].as_array().unwrap())
            .filter(|c| c["type"] == 2)
            .map(|c| c["custom_id"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn the_storm_card_offers_every_control_within_discord_limits() {
        let v = storm_card(&storm_view(&["Support", &"x".repeat(120)], true));
        let rows = rows(&v);
        assert_eq!(rows.len(), MAX_ACTION_ROWS, "{}", pretty(&v));
        assert_eq!(
            buttons(&v),
            [
                "sbs1:assign_all_me:3",
                "sbs1:close_all:3",
                "sbs1:reply_selected:3",
                "sbs1:assign_all_team:3",
                "sbs1:hide_typed:3",
            ]
        );
        assert_eq!(rows[0]["components"][4]["label"], text::STORM_HIDE_MATCHING);
        let mut ids = std::collections::HashSet::new();
        for r in rows {
            let cs = r["components"].as_array().unwrap();
            assert!((1..=MAX_BUTTONS_PER_ROW).contains(&cs.len()));
            for c in cs {
                let id = c["custom_id"].as_str().unwrap();
                assert!(id.chars().count() <= MAX_CUSTOM_ID_CHARS, "{id}");
                assert!(ids.insert(id.to_string()), "duplicate {id}");
                if c["type"] != 2 {
                    assert_eq!(cs.len(), 1, "a select is alone in its row");
                }
                if c["type"] == 3 {
                    assert!(c["options"].as_array().unwrap().len() <= MAX_SELECT_OPTIONS);
                }
            }
        }
        // The menus after the buttons, in order.
        let menus: Vec<&str> = rows[1..]
            .iter()
            .map(|r| r["components"][0]["custom_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            menus,
            [
                "sbs1:open_card:3",
                "sbs1:assign_all:3",
                "sbs1:tag_all:3",
                "sbs1:hide_matching:3"
            ]
        );
        assert_eq!(
            rows[4]["components"][0]["placeholder"],
            text::STORM_HIDE_TOP_WORD
        );
    }

    #[test]
    fn the_storm_cards_modal_buttons_come_and_go_with_what_they_need() {
        // No teams (or only names too long to carry), no hiding: neither button.
        for teams in [&[][..], &["y".repeat(101).as_str()][..]] {
            let ids = buttons(&storm_card(&storm_view(teams, false)));
            assert!(
                !ids.iter().any(|i| i.contains("assign_all_team")),
                "{ids:?}"
            );
            assert!(!ids.iter().any(|i| i.contains("hide_typed")), "{ids:?}");
            assert!(ids.contains(&"sbs1:reply_selected:3".to_string()));
        }
        // Nothing open: nothing to assign, close or reply to; hiding still works.
        let mut over = storm_view(&["Support"], true);
        over.open = 0;
        over.choices.clear();
        over.ended_at = Some(over.started_at);
        let v = storm_card(&over);
        assert_eq!(buttons(&v), ["sbs1:hide_typed:3"]);
        assert!(rows(&v).len() <= MAX_ACTION_ROWS);
        // Nothing at all: no empty row.
        over.can_hide = false;
        over.tags.clear();
        assert!(rows(&storm_card(&over)).is_empty());
    }

    /// A modal's Label components, checked against Discord's limits.
    fn labels(m: &Value) -> &Vec<Value> {
        assert_eq!(m["type"], 9, "a modal");
        let title = m["data"]["title"].as_str().unwrap();
        assert!(title.chars().count() <= MAX_MODAL_TITLE_CHARS, "{title}");
        let id = m["data"]["custom_id"].as_str().unwrap();
        assert!(id.chars().count() <= MAX_CUSTOM_ID_CHARS);
        let labels = m["data"]["components"].as_array().unwrap();
        for l in labels {
            assert_eq!(l["type"], 18, "{l}");
            assert!(l["label"].as_str().unwrap().chars().count() <= MAX_LABEL_CHARS);
            if let Some(d) = l.get("description") {
                assert!(d.as_str().unwrap().chars().count() <= MAX_LABEL_DESCRIPTION_CHARS);
            }
            let c = &l["component"];
            assert!(c.get("label").is_none(), "the Label carries the label: {c}");
            if c["type"] == 3 {
                let options = c["options"].as_array().unwrap();
                assert!((1..=MAX_SELECT_OPTIONS).contains(&options.len()));
                for o in options {
                    assert!(o["label"].as_str().unwrap().chars().count() <= MAX_OPTION_CHARS);
                    assert!(o["value"].as_str().unwrap().chars().count() <= MAX_OPTION_CHARS);
                }
                let max = c["max_values"].as_u64().unwrap();
                assert!(c["min_values"] == 1 && max as usize <= options.len());
            }
        }
        labels
    }

    #[test]
    fn the_reply_to_selected_modal_is_two_labelled_selects() {
        let view = storm_view(&[], false);
        let mut choices = view.choices.clone();
        choices[0] = storm_line(
            1,
            "Eve\u{202E}<@1>",
            &format!("{} @everyone", "long ".repeat(40)),
        );
        let saved: Vec<(i64, String)> = (1..=30).map(|n| (n, format!("Reply {n}"))).collect();
        let m = storm_reply_modal(3, &choices, &saved).expect("a modal");
        assert_eq!(m["data"]["custom_id"], "sbs1:reply_selected:3");
        let both = labels(&m);
        assert_eq!(both.len(), 2);
        let comments = &both[0]["component"];
        assert_eq!(
            (comments["type"].as_u64(), comments["custom_id"].as_str()),
            (Some(3), Some(STORM_REPLY_COMMENTS_SELECT))
        );
        assert_eq!(comments["max_values"], 25, "as many as it offers");
        assert_eq!(comments["options"][0]["value"], "1");
        // Plain text: invisible characters out, cut to the option limit.
        let first = comments["options"][0]["label"].as_str().unwrap();
        assert!(first.starts_with("#1 Eve<@1>: long"), "{first}");
        assert!(first.ends_with('…') && first.chars().count() == MAX_OPTION_CHARS);
        let replies = &both[1]["component"];
        assert_eq!(replies["custom_id"], STORM_REPLY_SAVED_SELECT);
        assert_eq!(replies["max_values"], 1);
        assert_eq!(replies["options"].as_array().unwrap().len(), 25);
        assert_eq!(
            replies["options"][0],
            json!({"label": "Reply 1", "value": "1"})
        );
        // Fewer comments: at most as many chosen as offered.
        let m = storm_reply_modal(3, &choices[..2], &saved[..1]).unwrap();
        assert_eq!(labels(&m)[0]["component"]["max_values"], 2);
        // Nothing to choose from: no modal (Discord refuses an empty select).
        assert!(storm_reply_modal(3, &[], &saved).is_none());
        assert!(storm_reply_modal(3, &choices, &[]).is_none());
    }

    #[test]
    fn the_team_and_hide_modals_are_a_labelled_select_and_a_labelled_input() {
        let m = storm_team_modal(3, &["Support".into(), "z".repeat(101)]).expect("a modal");
        assert_eq!(m["data"]["custom_id"], "sbs1:assign_all_team:3");
        let select = &labels(&m)[0]["component"];
        assert_eq!(select["type"], 3);
        assert_eq!(select["custom_id"], STORM_TEAM_SELECT);
        assert_eq!(
            select["options"],
            json!([{"label": "Support", "value": "Support"}])
        );
        assert_eq!(select["max_values"], 1);
        assert!(storm_team_modal(3, &[]).is_none());
        assert!(storm_team_modal(3, &["z".repeat(101)]).is_none());

        let m = storm_hide_modal(3);
        assert_eq!(m["data"]["custom_id"], "sbs1:hide_typed:3");
        let labels = labels(&m);
        assert_eq!(labels.len(), 1);
        let input = &labels[0]["component"];
        assert_eq!(input["type"], 4);
        assert_eq!(input["custom_id"], STORM_WORD_INPUT);
        assert_eq!(input["style"], 1, "a short input");
        assert_eq!(input["min_length"], 1);
        assert_eq!(input["max_length"], crate::core::storm::MAX_CHOICE_CHARS);
        assert_eq!(input["required"], true);
    }

    #[test]
    fn a_typed_word_is_inert_in_the_hide_confirmation() {
        use crate::core::hostile::{CORPUS, discord_live, discord_shows};
        for h in CORPUS {
            let body = json!({ "type": CALLBACK_MESSAGE, "data": storm_hide_confirm(3, h) });
            let live = discord_live(&body, &[], &[]);
            assert!(live.is_empty(), "{h:?}: {live:#?}");
            assert!(discord_shows(&body, h), "{h:?}: {body}");
        }
    }
}
