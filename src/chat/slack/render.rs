//! The card view model rendered to Block Kit. Wording comes from `core::text`; this module only
//! lays it out, escapes what other people wrote, and picks Slack's markup (mentions, date
//! tokens, reactions).
//!
//! **Escaping** (every mrkdwn text this module builds goes through [`mrkdwn_of`]): in the
//! words of a [`Rich`] that are someone else's,
//!
//! * `&`, `<` and `>` become `&amp;`, `&lt;`, `&gt;` — `&` first, so a customer's `&lt;!channel&gt;`
//!   is shown as written and never decoded into a live `<!channel>`; no `<!channel>`, `<!here>`,
//!   `<@U…>`, `<#C…>`, `<!subteam^…>`, `<!date…>` or `<url|label>` can be written;
//! * invisible and bidirectional control characters are dropped (`core::rich::visible`);
//! * mrkdwn's formatting characters (`*`, `_`, `~`, `` ` ``, a leading `>`) are left as written:
//!   mrkdwn has no escape for them, and replacing them would change what the customer wrote
//!   (order numbers, e-mail addresses and code are copied from cards). They can only restyle the
//!   customer's own words: they cannot ping, link, or reach outside the message.
//!
//! Plain-text objects (buttons, options, placeholders, modal titles) are never parsed by Slack
//! and are only cut to their limits. Links are built by Slack's `<url|label>` from URLs that
//! passed `core::rich::safe_url`. Messages and blocks are cut to Slack's limits *after*
//! escaping, between two escapes (`core::rich::fit`).

use slack_morphism::prelude::*;

use super::actions::SavedReplyAction;
use crate::core::action::ACTION_ID_VERSION;
use crate::core::card::{Button, ButtonStyle, CardView, Picker};
use crate::core::rich::{Escaped, Laid, Piece, fit, safe_url, visible};
use crate::core::saved_reply::{self, SavedReply, SavedReplyId};
use crate::core::{ActionId, CardAction, Rich, Teammate, TicketId, text};

/// Reaction on a teammate's thread reply while it waits in the outbox.
pub const REACTION_QUEUED: &str = "hourglass_flowing_sand";
/// Reaction once the reply reached the customer on the network.
pub const REACTION_DELIVERED: &str = "white_check_mark";
/// Reaction once the reply failed for good (a thread message explains why).
pub const REACTION_FAILED: &str = "x";
/// The customer has seen the reply (a read receipt).
pub const REACTION_READ: &str = "eyes";

/// `action_id` of the permalink button. Slack reports clicks on link buttons too; they are not
/// Switchboard actions and need only an acknowledgement.
pub const PERMALINK_ACTION_ID: &str = "sb_permalink";

/// Slack's limits on text: a section's text, any other text object (a context element),
/// a confirmation dialog's text, a message's top-level `text` (Slack truncates longer ones).
pub const MAX_SECTION_CHARS: usize = 3000;
const MAX_TEXT_OBJECT_CHARS: usize = 3000;
const MAX_CONFIRM_TEXT_CHARS: usize = 300;
pub const MAX_MESSAGE_TEXT_CHARS: usize = 40_000;
/// A card's top-level `text` is only its notification summary.
const MAX_FALLBACK_CHARS: usize = 3000;

/// How Slack writes a teammate.
pub fn mention(t: &Teammate) -> String {
    format!("<@{}>", t.id)
}

/// Someone else's words, escaped for mrkdwn (see the module documentation); `newline` stands
/// for each line break (it continues a block quote).
fn escaped(s: &str, newline: &str) -> Escaped {
    let mut out = Escaped::default();
    for c in visible(s).chars() {
        match c {
            '&' => out.push("&amp;"),
            '<' => out.push("&lt;"),
            '>' => out.push("&gt;"),
            '\n' => out.push(newline),
            c => out.push(c.encode_utf8(&mut [0; 4])),
        }
    }
    out
}

fn laid(text: &Rich) -> Vec<Laid> {
    let mut laid = Vec::new();
    for piece in text.pieces() {
        match piece {
            Piece::Ours(s) | Piece::Native(s) => laid.push(Laid::Fixed(s.clone())),
            Piece::Theirs(s) => laid.push(Laid::Words(escaped(s, "\n"))),
            Piece::Quote(s) => {
                laid.push(Laid::Fixed("> ".into()));
                laid.push(Laid::Words(escaped(s, "\n> ")));
            }
            Piece::Link { url, label } => match safe_url(url) {
                Some(url) => {
                    laid.push(Laid::Fixed(format!("<{}|", url.replace('&', "&amp;"))));
                    laid.push(Laid::Words(escaped(label, " ")));
                    laid.push(Laid::Fixed(">".into()));
                }
                None => laid.push(Laid::Words(escaped(label, " "))),
            },
        }
    }
    laid
}

/// A text as mrkdwn: our wording as written, everyone else's escaped, within `max_chars`
/// characters after escaping.
pub fn mrkdwn_of(text: &Rich, max_chars: usize) -> String {
    fit(laid(text), max_chars)
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

/// Slack date token: shown in each reader's time zone, with a UTC fallback.
pub fn date_token(at: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
        at.timestamp(),
        at.format("%Y-%m-%d %H:%M UTC")
    )
}

/// A text object of our own wording.
fn mrkdwn(s: String) -> SlackBlockMarkDownText {
    SlackBlockMarkDownText::new(s)
}

/// A text object of a [`Rich`] text.
fn rich(text: &Rich, max_chars: usize) -> SlackBlockMarkDownText {
    SlackBlockMarkDownText::new(mrkdwn_of(text, max_chars))
}

/// Slack's limits: elements per actions block, options per select, characters of an option's
/// text and value, of a button's text.
const MAX_ACTIONS_PER_BLOCK: usize = 25;
const MAX_OPTIONS: usize = 100;
const MAX_OPTION_TEXT_CHARS: usize = 75;
const MAX_VALUE_CHARS: usize = 150;
const MAX_PLACEHOLDER_CHARS: usize = 150;

/// `block_id`s of the card's actions blocks.
pub const BLOCK_ACTIONS: &str = "sb_actions";
pub const BLOCK_PICKERS: &str = "sb_pickers";
pub const BLOCK_SUGGESTIONS: &str = "sb_suggestions";

fn plain_text(s: &str, max_chars: usize) -> SlackBlockPlainTextOnly {
    SlackBlockPlainTextOnly::from(truncate(s, max_chars.saturating_sub(1)))
}

fn actions_block(block_id: &str, elements: Vec<SlackActionBlockElement>) -> SlackBlock {
    SlackActionsBlock::new(elements)
        .with_block_id(SlackBlockId::new(block_id.to_string()))
        .into()
}

fn button(b: &Button, value: &str) -> SlackBlockButtonElement {
    let mut button = SlackBlockButtonElement::new(plain_text(&b.label, MAX_OPTION_TEXT_CHARS))
        .with_action_id(SlackActionId::new(b.action.to_string()))
        .with_value(value.to_string());
    if let Some(c) = &b.confirm {
        button = button.with_confirm(SlackBlockConfirmItem {
            title: plain_text(c.title, 100),
            text: SlackBlockText::Plain(c.text.into()),
            confirm: plain_text(c.ok, 30),
            deny: plain_text(c.deny, 30),
            style: Some("danger".to_string()),
        });
    }
    match b.style {
        ButtonStyle::Primary => button.with_style(SlackBlockButtonStyle::Primary),
        ButtonStyle::Danger => button.with_style(SlackBlockButtonStyle::Danger),
        ButtonStyle::Default => button,
    }
}

/// A select option whose value is `value` exactly; `None` when Slack could not carry it.
fn option(label: &str, value: &str) -> Option<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> {
    (!value.is_empty() && value.chars().count() <= MAX_VALUE_CHARS).then(|| {
        SlackBlockChoiceItem::new(plain_text(label, MAX_OPTION_TEXT_CHARS), value.to_string())
    })
}

fn picker(p: &Picker) -> Option<SlackActionBlockElement> {
    Some(match p {
        Picker::Person {
            action,
            placeholder,
        } => SlackBlockUsersSelectElement::new()
            .with_action_id(SlackActionId::new(action.to_string()))
            .with_placeholder(plain_text(placeholder, MAX_PLACEHOLDER_CHARS))
            .into(),
        Picker::Team {
            action,
            placeholder,
            teams,
        } => {
            let options: Vec<_> = teams
                .iter()
                .filter_map(|t| option(t, t))
                .take(MAX_OPTIONS)
                .collect();
            if options.is_empty() {
                return None;
            }
            SlackBlockStaticSelectElement::new()
                .with_action_id(SlackActionId::new(action.to_string()))
                .with_placeholder(plain_text(placeholder, MAX_PLACEHOLDER_CHARS))
                .with_options(options)
                .into()
        }
        Picker::Profile {
            action,
            placeholder,
            options,
        } => {
            let options: Vec<_> = options
                .iter()
                .filter_map(|(value, label)| option(label, value))
                .take(MAX_OPTIONS)
                .collect();
            if options.len() < 2 {
                return None;
            }
            SlackBlockStaticSelectElement::new()
                .with_action_id(SlackActionId::new(action.to_string()))
                .with_placeholder(plain_text(placeholder, MAX_PLACEHOLDER_CHARS))
                .with_options(options)
                .into()
        }
        Picker::SavedReply {
            action,
            placeholder,
        } => SlackBlockExternalSelectElement::new()
            .with_action_id(SlackActionId::new(action.to_string()))
            .with_placeholder(plain_text(placeholder, MAX_PLACEHOLDER_CHARS))
            .with_min_query_length(0)
            .into(),
    })
}

/// A ticket's card: the customer's message, its state, any failure, and its buttons.
/// The message-metadata event type that marks a card (with the ticket number in its payload),
/// so that a retried card post can find the card an unanswered attempt created.
pub const CARD_EVENT: &str = "switchboard_card";

/// A card's message content, marked with its ticket (see [`CARD_EVENT`]).
pub fn card_for(ticket: TicketId, view: &CardView) -> SlackMessageContent {
    card(view).with_metadata(SlackMessageMetadata {
        event_type: CARD_EVENT.into(),
        event_payload: Some([("ticket".to_string(), ticket.to_string())].into()),
    })
}

pub fn card(view: &CardView) -> SlackMessageContent {
    let message =
        text::customer_message(&view.author, view.text.clone(), view.edited, view.deleted);
    let mut main_text = Rich::ours("*").then_theirs(&view.headline).then("*\n");
    if let Some(about) = &view.about {
        main_text = main_text.then_rich(about.clone()).then("\n");
    }
    let main_text = main_text.then_rich(message);
    let mut main = SlackSectionBlock::new().with_text(rich(&main_text, MAX_SECTION_CHARS).into());
    if let Some(url) = view
        .permalink
        .as_deref()
        .and_then(|p| url::Url::parse(p).ok())
    {
        main = main.with_accessory(
            SlackBlockButtonElement::new(view.view_label.as_str().into())
                .with_action_id(SlackActionId::new(PERMALINK_ACTION_ID.to_string()))
                .with_url(url)
                .into(),
        );
    }

    let status = text::status_line_as(
        view.status,
        view.assignee.as_ref(),
        &view.tags,
        view.last_replied_by.as_ref(),
        view.last_replied_as.as_deref(),
        &mention,
    );
    let mut blocks: Vec<SlackBlock> = vec![
        main.into(),
        SlackContextBlock::new(vec![
            rich(&status, MAX_TEXT_OBJECT_CHARS).into(),
            mrkdwn(date_token(view.created_at)).into(),
        ])
        .into(),
    ];
    if let Some(replying) = text::replying(&view.replying, &mention) {
        blocks.push(SlackContextBlock::new(vec![mrkdwn(replying).into()]).into());
    }
    if let Some(line) = &view.replying_as {
        blocks.push(SlackContextBlock::new(vec![rich(line, MAX_TEXT_OBJECT_CHARS).into()]).into());
    }
    if let Some(line) = &view.moderation {
        blocks.push(SlackContextBlock::new(vec![mrkdwn(line.clone()).into()]).into());
    }
    if let Some(line) = &view.moderation_failure {
        blocks.push(SlackContextBlock::new(vec![rich(line, MAX_TEXT_OBJECT_CHARS).into()]).into());
    }
    if let Some(window) = &view.window {
        blocks.push(SlackContextBlock::new(vec![mrkdwn(window.clone()).into()]).into());
    }
    if let Some((target, standing)) = &view.sla {
        let line = text::sla_line(*target, standing, &date_token(standing.due()));
        blocks.push(SlackContextBlock::new(vec![rich(&line, MAX_TEXT_OBJECT_CHARS).into()]).into());
    }
    if let Some(line) = &view.auto_closed {
        blocks.push(SlackContextBlock::new(vec![mrkdwn(line.clone()).into()]).into());
    }
    if let Some(line) = &view.auto_assigned {
        blocks.push(SlackContextBlock::new(vec![rich(line, MAX_TEXT_OBJECT_CHARS).into()]).into());
    }
    if let Some(line) = &view.archived {
        blocks.push(SlackContextBlock::new(vec![mrkdwn(line.clone()).into()]).into());
    }
    if let Some(failure) = &view.failure {
        blocks.push(
            SlackSectionBlock::new()
                .with_text(rich(failure, MAX_SECTION_CHARS).into())
                .into(),
        );
    }
    if !view.buttons.is_empty() {
        let ticket = view.ticket.to_string();
        let buttons = view
            .buttons
            .iter()
            .take(MAX_ACTIONS_PER_BLOCK)
            .map(|b| button(b, b.value.as_deref().unwrap_or(&ticket)).into())
            .collect();
        blocks.push(actions_block(BLOCK_ACTIONS, buttons));
    }
    let pickers: Vec<SlackActionBlockElement> = view
        .pickers
        .iter()
        .filter_map(picker)
        .take(MAX_ACTIONS_PER_BLOCK)
        .collect();
    if !pickers.is_empty() {
        blocks.push(actions_block(BLOCK_PICKERS, pickers));
    }
    // The tag is the click's value: one too long for a value cannot be offered.
    let suggestions: Vec<SlackActionBlockElement> = view
        .suggestions
        .iter()
        .filter_map(|b| {
            let tag = b.value.as_deref()?;
            (tag.chars().count() <= MAX_VALUE_CHARS).then(|| button(b, tag).into())
        })
        .take(MAX_ACTIONS_PER_BLOCK)
        .collect();
    if !suggestions.is_empty() {
        blocks.push(
            SlackContextBlock::new(vec![mrkdwn(text::SUGGESTED_TAGS.to_string()).into()]).into(),
        );
        blocks.push(actions_block(BLOCK_SUGGESTIONS, suggestions));
    }

    let fallback = text::card_fallback(&view.headline, &view.author, view.text.clone());
    SlackMessageContent::new()
        .with_text(mrkdwn_of(&fallback, MAX_FALLBACK_CHARS))
        .with_blocks(blocks)
}

/// The message-metadata event type that marks a storm card (with the storm's number), so that
/// a retried post can find the card an unanswered attempt created.
pub const STORM_EVENT: &str = "switchboard_storm";

/// A storm card to post: marked with its storm (see [`STORM_EVENT`]).
pub fn storm_card_for(view: &crate::core::storm::StormView) -> SlackMessageContent {
    storm_card(view).with_metadata(SlackMessageMetadata {
        event_type: STORM_EVENT.into(),
        event_payload: Some([("storm".to_string(), view.id.to_string())].into()),
    })
}

/// The message-metadata event type that marks a storm thread batch (its storm and the first
/// and last line it shows), so that a retried batch post finds what an unanswered attempt
/// posted instead of posting it again.
pub const STORM_BATCH_EVENT: &str = "switchboard_storm_batch";

/// A storm thread batch to post: `content` marked with its storm and lines (see
/// [`STORM_BATCH_EVENT`]).
pub fn storm_batch_for(
    content: SlackMessageContent,
    storm: i64,
    from: i64,
    upto: i64,
) -> SlackMessageContent {
    content.with_metadata(SlackMessageMetadata {
        event_type: STORM_BATCH_EVENT.into(),
        event_payload: Some(
            [
                ("storm".to_string(), storm.to_string()),
                ("from".to_string(), from.to_string()),
                ("upto".to_string(), upto.to_string()),
            ]
            .into(),
        ),
    })
}

/// A storm control's "are you sure?": `what` is its title and its confirm button.
fn danger_confirm(what: &str, question: &str) -> SlackBlockConfirmItem {
    SlackBlockConfirmItem {
        title: plain_text(what, 100),
        text: SlackBlockText::Plain(question.into()),
        confirm: plain_text(what, 30),
        deny: plain_text(text::CANCEL, 30),
        style: Some("danger".to_string()),
    }
}

/// The block of a storm card's controls.
pub const BLOCK_STORM: &str = "sb_storm";

/// A storm card: the post's storm in numbers, its newest comments and top words, and what the
/// team can do to all of it at once (see `core::storm`).
pub fn storm_card(view: &crate::core::storm::StormView) -> SlackMessageContent {
    use crate::core::storm::{StormAction, StormVerb};
    let body = text::storm_card(view, &date_token(view.started_at));
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(rich(&body, MAX_SECTION_CHARS).into())
            .into(),
    ];
    let id = |verb| StormAction::new(verb, view.id).to_string();
    let mut controls: Vec<SlackActionBlockElement> = Vec::new();
    if view.open > 0 {
        controls.push(
            SlackBlockButtonElement::new(plain_text(text::STORM_ASSIGN_ME, MAX_OPTION_TEXT_CHARS))
                .with_action_id(SlackActionId::new(id(StormVerb::AssignAllToMe)))
                .with_value(view.id.to_string())
                .into(),
        );
        controls.push(
            SlackBlockButtonElement::new(plain_text(text::STORM_CLOSE_ALL, MAX_OPTION_TEXT_CHARS))
                .with_action_id(SlackActionId::new(id(StormVerb::CloseAll)))
                .with_value(view.id.to_string())
                .with_style(SlackBlockButtonStyle::Danger)
                .with_confirm(danger_confirm(
                    text::STORM_CLOSE_ALL,
                    text::STORM_CLOSE_CONFIRM,
                ))
                .into(),
        );
    }
    let options: Vec<_> = view
        .choices
        .iter()
        .filter_map(|l| option(&text::storm_choice(l), &l.ticket.0.to_string()))
        .take(MAX_OPTIONS)
        .collect();
    if !options.is_empty() {
        controls.push(
            SlackBlockStaticSelectElement::new()
                .with_action_id(SlackActionId::new(id(StormVerb::OpenCard)))
                .with_placeholder(plain_text(text::STORM_OPEN_CARD, MAX_PLACEHOLDER_CHARS))
                .with_options(options)
                .into(),
        );
    }
    if view.open > 0 {
        controls.push(
            SlackBlockUsersSelectElement::new()
                .with_action_id(SlackActionId::new(id(StormVerb::AssignAllTo)))
                .with_placeholder(plain_text(text::STORM_ASSIGN_TO, MAX_PLACEHOLDER_CHARS))
                .into(),
        );
        let teams: Vec<_> = view
            .teams
            .iter()
            .filter_map(|t| option(t, t))
            .take(MAX_OPTIONS)
            .collect();
        if !teams.is_empty() {
            controls.push(
                SlackBlockStaticSelectElement::new()
                    .with_action_id(SlackActionId::new(id(StormVerb::AssignAllTeam)))
                    .with_placeholder(plain_text(text::STORM_ASSIGN_TEAM, MAX_PLACEHOLDER_CHARS))
                    .with_options(teams)
                    .into(),
            );
        }
    }
    if !view.choices.is_empty() {
        controls.push(
            SlackBlockButtonElement::new(plain_text(
                text::STORM_REPLY_SELECTED,
                MAX_OPTION_TEXT_CHARS,
            ))
            .with_action_id(SlackActionId::new(id(StormVerb::ReplySelected)))
            .with_value(view.id.to_string())
            .into(),
        );
    }
    let fits = |s: &str| s.chars().count() <= crate::core::storm::MAX_CHOICE_CHARS;
    let tags: Vec<_> = view
        .tags
        .iter()
        .filter(|t| fits(t))
        .filter_map(|t| option(t, t))
        .take(MAX_OPTIONS)
        .collect();
    if !tags.is_empty() {
        controls.push(
            SlackBlockStaticSelectElement::new()
                .with_action_id(SlackActionId::new(id(StormVerb::TagAll)))
                .with_placeholder(plain_text(text::STORM_TAG_ALL, MAX_PLACEHOLDER_CHARS))
                .with_options(tags)
                .into(),
        );
    }
    let words: Vec<_> = view
        .keywords
        .iter()
        .filter(|(w, _)| fits(w))
        .filter_map(|(w, n)| option(&format!("{} ({n})", visible(w)), w))
        .collect();
    if view.can_hide && !words.is_empty() {
        controls.push(
            SlackBlockStaticSelectElement::new()
                .with_action_id(SlackActionId::new(id(StormVerb::HideMatching)))
                .with_placeholder(plain_text(text::STORM_HIDE_TOP_WORD, MAX_PLACEHOLDER_CHARS))
                .with_options(words)
                .with_confirm(danger_confirm(
                    text::STORM_HIDE_TITLE,
                    text::STORM_HIDE_CONFIRM,
                ))
                .into(),
        );
    }
    if view.can_hide {
        // Any word or phrase, not only the top ones: a form, then its own confirmation.
        controls.push(
            SlackBlockButtonElement::new(plain_text(
                text::STORM_HIDE_MATCHING,
                MAX_OPTION_TEXT_CHARS,
            ))
            .with_action_id(SlackActionId::new(id(StormVerb::HideTyped)))
            .with_value(view.id.to_string())
            .into(),
        );
    }
    if !controls.is_empty() {
        blocks.push(actions_block(BLOCK_STORM, controls));
    }
    SlackMessageContent::new()
        .with_text(mrkdwn_of(&body, MAX_FALLBACK_CHARS))
        .with_blocks(blocks)
}

/// A customer message mirrored into the card's thread.
pub fn thread_customer_message(
    author: &str,
    text: &str,
    edited: bool,
    deleted: bool,
) -> SlackMessageContent {
    message(&text::thread_customer_message(
        author, text, edited, deleted,
    ))
}

/// A message: a DM, a notice, a thread message, an alert.
pub fn message(text: &Rich) -> SlackMessageContent {
    SlackMessageContent::new().with_text(mrkdwn_of(text, MAX_MESSAGE_TEXT_CHARS))
}

/// A message of our own wording only (already mrkdwn, may contain mentions): not escaped.
pub fn plain(text: &str) -> SlackMessageContent {
    SlackMessageContent::new().with_text(text.to_string())
}

/// An ephemeral answer to a slash command (its HTTP answer or a `response_url` post).
pub fn ephemeral(text: &Rich) -> serde_json::Value {
    serde_json::json!({
        "response_type": "ephemeral",
        "text": mrkdwn_of(text, MAX_MESSAGE_TEXT_CHARS),
    })
}

// ---- Modals -------------------------------------------------------------------------------
//
// Modals are returned as slack-morphism `SlackView`s (always `SlackView::Modal`), ready for
// `SlackClient::open_view` / `update_view`, or `serde_json::to_value` for a `response_action`.
// Their `callback_id`s follow the card-action format, so a submission names what it is for:
// `sb1:reply_modal:<ticket>`, `sb1:tags_modal:<ticket>`, `sb1:saved_reply_modal:new|<id>`.

/// `block_id` / `action_id` of the inputs, to read `Interaction::ViewSubmission::values`.
pub const REPLY_BLOCK: &str = "reply";
pub const REPLY_ACTION: &str = "text";
pub const TAGS_KNOWN_BLOCK: &str = "tags";
pub const TAGS_KNOWN_ACTION: &str = "known";
pub const TAGS_NEW_BLOCK: &str = "new_tags";
pub const TAGS_NEW_ACTION: &str = "text";
pub const SAVED_REPLY_NAME_BLOCK: &str = "name";
pub const SAVED_REPLY_NAME_ACTION: &str = "text";
pub const SAVED_REPLY_BODY_BLOCK: &str = "body";
pub const SAVED_REPLY_BODY_ACTION: &str = "text";

/// The longest reply the editor accepts (Slack's plain_text_input maximum is 3000).
pub const MAX_REPLY_CHARS: u64 = crate::core::model::MAX_REPLY_CHARS as u64;
/// A link to a card (a channel message) that Slack resolves for anyone in the workspace, with
/// no API call: `https://slack.com/archives/<channel>/p<ts without the dot>`.
pub fn card_link(card: &crate::core::ChatRef) -> String {
    format!(
        "https://slack.com/archives/{}/p{}",
        card.channel,
        card.message.replace('.', "")
    )
}

/// Slack's cap on a modal's `private_metadata`.
const MAX_PRIVATE_METADATA_CHARS: usize = 3000;

/// `callback_id` of the reply editor for `ticket`.
pub fn reply_modal_callback(ticket: TicketId) -> String {
    format!("{ACTION_ID_VERSION}:reply_modal:{ticket}")
}

/// `callback_id` of the tags editor for `ticket`.
pub fn tags_modal_callback(ticket: TicketId) -> String {
    format!("{ACTION_ID_VERSION}:tags_modal:{ticket}")
}

/// `callback_id` of the saved-reply editor: `…:new` or `…:<id>`.
pub fn saved_reply_modal_callback(id: Option<SavedReplyId>) -> String {
    match id {
        Some(id) => format!("{ACTION_ID_VERSION}:saved_reply_modal:{id}"),
        None => format!("{ACTION_ID_VERSION}:saved_reply_modal:new"),
    }
}

/// What a modal's `callback_id` says it was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModalKind {
    Reply(TicketId),
    Tags(TicketId),
    /// `None`: a new saved reply.
    SavedReply(Option<SavedReplyId>),
    /// A storm's "reply to selected" (the storm's number).
    StormReply(i64),
    /// A storm's "hide a word" form (the storm's number).
    StormHide(i64),
    /// Its confirmation (the word in `private_metadata`).
    StormHideSure(i64),
}

impl ModalKind {
    /// `None` for a callback id that is not one of ours (or of an unknown version).
    pub fn parse(callback_id: &str) -> Option<Self> {
        let rest = callback_id
            .strip_prefix(ACTION_ID_VERSION)?
            .strip_prefix(':')?;
        let (kind, arg) = rest.split_once(':')?;
        let positive = |s: &str| s.parse::<i64>().ok().filter(|n| *n > 0);
        match kind {
            "reply_modal" => positive(arg).map(|n| ModalKind::Reply(TicketId(n))),
            "tags_modal" => positive(arg).map(|n| ModalKind::Tags(TicketId(n))),
            "storm_reply_modal" => positive(arg).map(ModalKind::StormReply),
            "storm_hide_modal" => positive(arg).map(ModalKind::StormHide),
            "storm_hide_sure" => positive(arg).map(ModalKind::StormHideSure),
            "saved_reply_modal" if arg == "new" => Some(ModalKind::SavedReply(None)),
            "saved_reply_modal" => {
                positive(arg).map(|n| ModalKind::SavedReply(Some(SavedReplyId(n))))
            }
            _ => None,
        }
    }
}

fn text_input(
    action_id: &str,
    initial: Option<&str>,
    multiline: bool,
    max_length: u64,
) -> SlackBlockPlainTextInputElement {
    let input = SlackBlockPlainTextInputElement::new()
        .with_action_id(SlackActionId::new(action_id.to_string()))
        .with_multiline(multiline)
        .with_max_length(max_length);
    match initial.filter(|s| !s.is_empty()) {
        // An initial value over max_length makes Slack reject the whole view.
        Some(v) => input.with_initial_value(truncate(v, max_length as usize - 1)),
        None => input,
    }
}

fn input_block(block_id: &str, label: &str, element: SlackInputBlockElement) -> SlackInputBlock {
    SlackInputBlock::new(plain_text(label, 2000), element)
        .with_block_id(SlackBlockId::new(block_id.to_string()))
}

fn modal(
    title: &str,
    submit: &str,
    callback_id: String,
    blocks: Vec<SlackBlock>,
) -> SlackModalView {
    SlackModalView::new(plain_text(title, 24), blocks)
        .with_submit(plain_text(submit, 24))
        .with_close(plain_text(text::CANCEL, 24))
        .with_callback_id(SlackCallbackId::new(callback_id))
}

/// The reply editor, pre-filled with `prefill` (a saved reply, or empty). Slack tells us when it
/// is closed without sending (`notify_on_close`), so the "is replying…" mark can be cleared.
pub fn reply_modal(ticket: TicketId, prefill: &str) -> SlackView {
    let input =
        text_input(REPLY_ACTION, Some(prefill), true, MAX_REPLY_CHARS).with_focus_on_load(true);
    let block = input_block(REPLY_BLOCK, text::REPLY_MODAL_LABEL, input.into())
        .with_hint(plain_text(text::REPLY_MODAL_HINT, 2000));
    SlackView::Modal(
        modal(
            text::REPLY_MODAL_TITLE,
            text::SEND,
            reply_modal_callback(ticket),
            vec![block.into()],
        )
        .with_notify_on_close(true),
    )
}

/// `callback_id` of a storm's "reply to selected" editor.
pub fn storm_reply_modal_callback(storm: i64) -> String {
    format!("{ACTION_ID_VERSION}:storm_reply_modal:{storm}")
}

/// `callback_id` of a storm's "hide a word" form, and of its confirmation.
pub fn storm_hide_modal_callback(storm: i64, sure: bool) -> String {
    let kind = if sure {
        "storm_hide_sure"
    } else {
        "storm_hide_modal"
    };
    format!("{ACTION_ID_VERSION}:{kind}:{storm}")
}

pub const STORM_HIDE_WORD_BLOCK: &str = "word";
pub const STORM_HIDE_WORD_ACTION: &str = "typed";

/// A storm's "hide a word": one line for the word or phrase (as long as a storm control
/// carries); submitting it asks for confirmation with the count.
pub fn storm_hide_modal(storm: i64) -> SlackView {
    let input = text_input(
        STORM_HIDE_WORD_ACTION,
        None,
        false,
        crate::core::storm::MAX_CHOICE_CHARS as u64,
    )
    .with_focus_on_load(true);
    let block = input_block(
        STORM_HIDE_WORD_BLOCK,
        text::STORM_HIDE_WORD_LABEL,
        input.into(),
    )
    .with_hint(plain_text(text::STORM_HIDE_WORD_HINT, 2000));
    SlackView::Modal(modal(
        text::STORM_HIDE_TITLE,
        text::NEXT,
        storm_hide_modal_callback(storm, false),
        vec![block.into()],
    ))
}

/// The confirmation of "hide a word": how many comments contain `word` (customer-chosen text,
/// escaped), with the word kept in `private_metadata` for the submission.
pub fn storm_hide_sure_modal(storm: i64, word: &str, matched: usize) -> SlackView {
    let body = SlackSectionBlock::new()
        .with_text(rich(&text::storm_hide_count(word, matched), MAX_SECTION_CHARS).into());
    SlackView::Modal(
        modal(
            text::STORM_HIDE_TITLE,
            text::STORM_HIDE_SUBMIT,
            storm_hide_modal_callback(storm, true),
            vec![body.into()],
        )
        // A word is at most `MAX_CHOICE_CHARS`, far under the metadata cap.
        .with_private_metadata(word.to_string()),
    )
}

pub const STORM_REPLY_COMMENTS_BLOCK: &str = "comments";
pub const STORM_REPLY_COMMENTS_ACTION: &str = "chosen";
pub const STORM_REPLY_SAVED_BLOCK: &str = "saved";
pub const STORM_REPLY_SAVED_ACTION: &str = "chosen";

/// A storm's "reply to selected": the storm's open comments to choose from (`choices`, newest
/// first: ticket, author, text) and the saved reply to send each.
pub fn storm_reply_modal(
    storm: i64,
    choices: &[crate::core::storm::StormLine],
    saved: &[&SavedReply],
) -> SlackView {
    let comments: Vec<_> = choices
        .iter()
        .filter_map(|l| option(&text::storm_choice(l), &l.ticket.0.to_string()))
        .take(MAX_OPTIONS)
        .collect();
    let replies: Vec<_> = saved
        .iter()
        .filter_map(|r| option(&r.name, &r.id.0.to_string()))
        .take(MAX_OPTIONS)
        .collect();
    let mut blocks: Vec<SlackBlock> = Vec::new();
    if !comments.is_empty() {
        blocks.push(
            input_block(
                STORM_REPLY_COMMENTS_BLOCK,
                text::STORM_REPLY_COMMENTS,
                SlackBlockMultiStaticSelectElement::new()
                    .with_action_id(SlackActionId::new(STORM_REPLY_COMMENTS_ACTION.to_string()))
                    .with_options(comments)
                    .into(),
            )
            .with_hint(plain_text(text::STORM_REPLY_HINT, 2000))
            .into(),
        );
    }
    if !replies.is_empty() {
        blocks.push(
            input_block(
                STORM_REPLY_SAVED_BLOCK,
                text::STORM_REPLY_SAVED,
                SlackBlockStaticSelectElement::new()
                    .with_action_id(SlackActionId::new(STORM_REPLY_SAVED_ACTION.to_string()))
                    .with_options(replies)
                    .into(),
            )
            .into(),
        );
    }
    SlackView::Modal(modal(
        text::STORM_REPLY_TITLE,
        text::SEND,
        storm_reply_modal_callback(storm),
        blocks,
    ))
}

/// The tags editor: a multi-select of `known` tags with `current` selected (current tags are
/// always offered, first, so they can be removed), and a free-text field for new tags.
pub fn tags_modal(ticket: TicketId, current: &[String], known: &[String]) -> SlackView {
    let mut seen = std::collections::BTreeSet::new();
    let options: Vec<_> = current
        .iter()
        .chain(known)
        .filter(|t| seen.insert(t.as_str()))
        .filter_map(|t| option(t, t))
        .take(MAX_OPTIONS)
        .collect();
    let initial: Vec<_> = options
        .iter()
        .filter(|o| current.contains(&o.value))
        .cloned()
        .collect();
    let mut blocks: Vec<SlackBlock> = Vec::new();
    // Slack rejects a select without options.
    if !options.is_empty() {
        let mut select = SlackBlockMultiStaticSelectElement::new()
            .with_action_id(SlackActionId::new(TAGS_KNOWN_ACTION.to_string()))
            .with_placeholder(plain_text(
                text::TAGS_KNOWN_PLACEHOLDER,
                MAX_PLACEHOLDER_CHARS,
            ))
            .with_options(options);
        if !initial.is_empty() {
            select = select.with_initial_options(initial);
        }
        blocks.push(
            input_block(TAGS_KNOWN_BLOCK, text::TAGS_KNOWN_LABEL, select.into())
                .with_optional(true)
                .into(),
        );
    }
    let new_tags = text_input(TAGS_NEW_ACTION, None, false, 500).with_placeholder(plain_text(
        text::TAGS_NEW_PLACEHOLDER,
        MAX_PLACEHOLDER_CHARS,
    ));
    blocks.push(
        input_block(TAGS_NEW_BLOCK, text::TAGS_NEW_LABEL, new_tags.into())
            .with_optional(true)
            .into(),
    );
    SlackView::Modal(modal(
        text::TAGS_MODAL_TITLE,
        text::SAVE,
        tags_modal_callback(ticket),
        blocks,
    ))
}

/// The saved-reply editor: a new one (`None`) or an existing one, pre-filled.
pub fn saved_reply_modal(existing: Option<&SavedReply>) -> SlackView {
    let name = text_input(
        SAVED_REPLY_NAME_ACTION,
        existing.map(|r| r.name.as_str()),
        false,
        saved_reply::MAX_NAME_CHARS as u64,
    );
    let body = text_input(
        SAVED_REPLY_BODY_ACTION,
        existing.map(|r| r.body.as_str()),
        true,
        saved_reply::MAX_BODY_CHARS as u64,
    );
    let title = if existing.is_some() {
        text::SAVED_REPLY_EDIT_TITLE
    } else {
        text::SAVED_REPLY_NEW_TITLE
    };
    SlackView::Modal(modal(
        title,
        text::SAVE,
        saved_reply_modal_callback(existing.map(|r| r.id)),
        vec![
            input_block(
                SAVED_REPLY_NAME_BLOCK,
                text::SAVED_REPLY_NAME_LABEL,
                name.into(),
            )
            .into(),
            input_block(
                SAVED_REPLY_BODY_BLOCK,
                text::SAVED_REPLY_BODY_LABEL,
                body.into(),
            )
            .into(),
        ],
    ))
}

/// Puts `metadata` in a modal's `private_metadata` (truncated to Slack's 3000 characters is
/// *not* done: longer metadata is refused with `None`, as a cut one would be wrong).
pub fn with_private_metadata(view: SlackView, metadata: &str) -> Option<SlackView> {
    if metadata.chars().count() > MAX_PRIVATE_METADATA_CHARS {
        return None;
    }
    Some(match view {
        SlackView::Modal(m) => SlackView::Modal(m.with_private_metadata(metadata.to_string())),
        SlackView::Home(h) => SlackView::Home(h.with_private_metadata(metadata.to_string())),
    })
}

// ---- Saved replies -----------------------------------------------------------------------

/// At most this many matches are listed in a search answer (Slack allows 50 blocks a message).
pub const MAX_SEARCH_RESULTS: usize = 20;
/// Characters of a saved reply's body shown in search results.
const PREVIEW_CHARS: usize = 150;

/// The answer to a `block_suggestion` request from the saved-reply picker: one option per match
/// (name as text, id as value), at most 100.
pub fn saved_reply_options(matches: &[&SavedReply]) -> serde_json::Value {
    let options: Vec<_> = matches
        .iter()
        .filter_map(|r| option(&r.name, &r.id.to_string()))
        .take(MAX_OPTIONS)
        .collect();
    serde_json::json!({ "options": options })
}

/// The ephemeral answer to a saved-reply search (`/switchboard replies <query>`): each match
/// with a preview and Edit/Delete buttons, and a "Use" button when the search was about a
/// ticket (`ticket`). JSON for the command's HTTP answer or its `response_url`.
pub fn saved_reply_search_results(
    query: &str,
    matches: &[&SavedReply],
    ticket: Option<TicketId>,
) -> serde_json::Value {
    let shown = &matches[..matches.len().min(MAX_SEARCH_RESULTS)];
    let heading = text::saved_reply_results(query, shown.len(), matches.len());
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(rich(&heading, MAX_SECTION_CHARS).into())
            .into(),
    ];
    for reply in shown {
        let preview = truncate(&reply.body, PREVIEW_CHARS).replace('\n', " ");
        let entry = Rich::ours("*")
            .then_theirs(&reply.name)
            .then("*\n")
            .then_theirs(preview);
        blocks.push(
            SlackSectionBlock::new()
                .with_text(rich(&entry, MAX_SECTION_CHARS).into())
                .into(),
        );
        let id = reply.id.to_string();
        let mut buttons: Vec<SlackActionBlockElement> = Vec::new();
        if let Some(ticket) = ticket {
            let use_it = ActionId {
                action: CardAction::SavedReply,
                ticket,
            };
            buttons.push(
                SlackBlockButtonElement::new(text::USE.into())
                    .with_action_id(SlackActionId::new(use_it.to_string()))
                    .with_value(id.clone())
                    .with_style(SlackBlockButtonStyle::Primary)
                    .into(),
            );
        }
        for (label, action) in [
            (text::EDIT, SavedReplyAction::Edit(reply.id)),
            (text::DELETE, SavedReplyAction::Delete(reply.id)),
        ] {
            let b = SlackBlockButtonElement::new(label.into())
                .with_action_id(SlackActionId::new(action.to_string()))
                .with_value(id.clone());
            let b = if matches!(action, SavedReplyAction::Delete(_)) {
                b.with_style(SlackBlockButtonStyle::Danger).with_confirm(
                    SlackBlockConfirmItem::new(
                        plain_text(text::DELETE, 100),
                        rich(
                            &text::saved_reply_delete_confirm(&reply.name),
                            MAX_CONFIRM_TEXT_CHARS,
                        )
                        .into(),
                        plain_text(text::DELETE, 30),
                        plain_text(text::CANCEL, 30),
                    ),
                )
            } else {
                b
            };
            buttons.push(b.into());
        }
        blocks.push(actions_block(&format!("sr_{id}"), buttons));
    }
    let new = SlackBlockButtonElement::new(text::NEW_SAVED_REPLY.into())
        .with_action_id(SlackActionId::new(SavedReplyAction::New.to_string()));
    blocks.push(actions_block("sr_footer", vec![new.into()]));
    if ticket.is_none() && !shown.is_empty() {
        blocks.push(
            SlackContextBlock::new(vec![mrkdwn(text::SAVED_REPLY_USE_FROM_CARD.into()).into()])
                .into(),
        );
    }
    serde_json::json!({
        "response_type": "ephemeral",
        "text": mrkdwn_of(&heading, MAX_MESSAGE_TEXT_CHARS),
        "blocks": blocks,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::core::{ChatUserId, FailureReason, Status, Surface, Ticket, TicketId};

    fn teammate(id: &str) -> Teammate {
        Teammate {
            surface: Surface::Slack,
            id: ChatUserId::new(id),
        }
    }

    fn ticket(status: Status) -> Ticket {
        crate::core::model::sample_ticket(
            status,
            "Where is my order? It's been 2 weeks & counting <!channel>",
        )
    }

    fn json(content: &SlackMessageContent) -> String {
        serde_json::to_string_pretty(content).unwrap()
    }

    fn render(t: &Ticket) -> String {
        json(&card(&CardView::of(
            t,
            &crate::networks::test_capabilities(&t.state),
            "Acme Coffee",
            &[],
            t.state.created_at,
        )))
    }

    #[test]
    fn card_unread() {
        insta::assert_snapshot!("card_unread", render(&ticket(Status::Unread)));
    }

    #[test]
    fn card_of_a_held_youtube_comment_and_a_rating_only_review() {
        use crate::core::{Held, ItemContext, ItemKind, Network};
        let mut t = ticket(Status::Unread);
        t.state.network = Network::Youtube;
        t.state.context = ItemContext {
            subject: Some("How we roast *our* beans".into()),
            subject_url: Some("https://www.youtube.com/watch?v=v1".into()),
            rating: None,
            held: Some(Held::ForReview),
        };
        insta::assert_snapshot!("card_youtube_held", render(&t));
        let mut r = ticket(Status::Unread);
        r.state.network = Network::Google;
        r.state.kind = ItemKind::Review;
        r.state.first_text = String::new();
        r.state.context = ItemContext {
            subject: Some("Acme Coffee, Main St".into()),
            rating: Some(4),
            ..Default::default()
        };
        insta::assert_snapshot!("card_review_rating_only", render(&r));
    }

    #[test]
    fn card_read_assigned_and_edited() {
        let mut t = ticket(Status::Read);
        t.state.assignee = Some(crate::core::Assignee::Person(teammate("U0ANA")));
        t.state.tags = vec!["billing".into(), "vip".into()];
        t.state.last_replied_by = Some(teammate("U0BEN"));
        t.state.first_item_edited = true;
        insta::assert_snapshot!("card_read", render(&t));
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
        insta::assert_snapshot!("card_sla_warned", render(&t));
    }

    #[test]
    fn card_closed() {
        let mut t = ticket(Status::Closed);
        t.state.assignee = Some(crate::core::Assignee::Person(teammate("U0ANA")));
        t.state.last_replied_by = Some(teammate("U0ANA"));
        insta::assert_snapshot!("card_closed", render(&t));
    }

    #[test]
    fn card_auto_assigned() {
        let mut t = ticket(Status::Unread);
        t.state.assignee = Some(crate::core::Assignee::Person(teammate("U0ANA")));
        t.state.auto_assigned = Some("refunds <!channel>".into());
        let card = render(&t);
        assert!(
            card.contains("Assigned automatically by the rule refunds &lt;!channel&gt;."),
            "{card}"
        );
        insta::assert_snapshot!("card_auto_assigned", card);
    }

    #[test]
    fn card_auto_closed() {
        let mut t = ticket(Status::Closed);
        t.state.auto_closed = Some(7);
        insta::assert_snapshot!("card_auto_closed", render(&t));
    }

    #[test]
    fn card_archived() {
        let mut t = ticket(Status::Closed);
        t.state.archived = Some(crate::core::model::Archived {
            at: t.state.updated_at,
            after_days: 42,
        });
        insta::assert_snapshot!("card_archived", render(&t));
    }

    #[test]
    fn card_with_failure() {
        let mut t = ticket(Status::Read);
        t.state.last_failure = Some(FailureReason::Rejected("(#100) <b>bad</b>".into()));
        insta::assert_snapshot!("card_failure", render(&t));
    }

    #[test]
    fn card_with_deleted_text_and_no_permalink() {
        let mut t = ticket(Status::Unread);
        t.state.first_item_deleted = true;
        t.state.permalink = None;
        t.state.customer.name = None;
        insta::assert_snapshot!("card_deleted", render(&t));
    }

    #[test]
    fn long_customer_text_is_truncated() {
        let mut t = ticket(Status::Unread);
        t.state.first_text = "é".repeat(5000);
        let content = card(&CardView::of(
            &t,
            &crate::networks::test_capabilities(&t.state),
            "Acme Coffee",
            &[],
            t.state.created_at,
        ));
        let value = serde_json::to_value(&content).unwrap();
        let section = value["blocks"][0]["text"]["text"].as_str().unwrap();
        assert_eq!(section.chars().count(), MAX_SECTION_CHARS);
        assert!(section.ends_with('…'));
    }

    /// Escaping can make a text up to five times longer: the limits hold after it, and a cut
    /// never splits an entity.
    #[test]
    fn limits_hold_after_escaping() {
        let mut t = ticket(Status::Unread);
        t.state.first_text = "a&<>".repeat(1000);
        t.state.first_item_edited = true;
        t.state.last_failure = Some(FailureReason::Other("<&>".repeat(1500)));
        t.state.tags = vec!["&".repeat(2000)];
        let value = serde_json::to_value(card(&CardView::of(
            &t,
            &crate::networks::test_capabilities(&t.state),
            "Acme Coffee",
            &[],
            t.state.created_at,
        )))
        .unwrap();
        let texts = [
            (value["blocks"][0]["text"]["text"].as_str().unwrap(), 3000),
            (
                value["blocks"][1]["elements"][0]["text"].as_str().unwrap(),
                3000,
            ),
            (value["blocks"][2]["text"]["text"].as_str().unwrap(), 3000),
            (value["text"].as_str().unwrap(), 3000),
        ];
        for (text, max) in texts {
            assert!(text.chars().count() <= max, "{}", text.chars().count());
            let cut = text.trim_end_matches(|c| c != '…');
            let before = cut.trim_end_matches('…');
            assert!(
                ["&amp;", "&lt;", "&gt;", "a", ""]
                    .iter()
                    .any(|e| before.ends_with(e)),
                "cut inside an entity: {:?}",
                &before[before.len().saturating_sub(12)..]
            );
        }
        assert!(
            value["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .ends_with("… _(edited)_")
        );
        let confirm = saved_reply_search_results("", &[&saved(1, &"<".repeat(400), "b")], None);
        let text = confirm["blocks"][2]["elements"][1]["confirm"]["text"]["text"]
            .as_str()
            .unwrap();
        assert!(text.chars().count() <= 300, "{text}");
        assert!(text.ends_with("…* for the whole team?"), "{text}");
    }

    fn block<'a>(value: &'a serde_json::Value, block_id: &str) -> &'a serde_json::Value {
        value["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["block_id"] == block_id)
            .unwrap_or_else(|| panic!("no block {block_id}"))
    }

    #[test]
    fn card_with_teams_suggestions_and_replying() {
        let mut t = ticket(Status::Unread);
        let now = t.state.created_at;
        t.state.assignee = Some(crate::core::Assignee::Team("billing".into()));
        t.state.suggested_tags = vec!["refund".into(), "x".repeat(151)];
        t.state.replying = vec![
            crate::core::model::Replying {
                teammate: teammate("U0ANA"),
                since: now,
            },
            crate::core::model::Replying {
                teammate: teammate("U0OLD"),
                since: now - chrono::Duration::hours(1),
            },
        ];
        let teams = vec!["billing".to_string(), "shipping".to_string()];
        let value = serde_json::to_value(card(&CardView::of(
            &t,
            &crate::networks::test_capabilities(&t.state),
            "Acme Coffee",
            &teams,
            now,
        )))
        .unwrap();
        insta::assert_snapshot!(
            "card_team_suggestions_replying",
            serde_json::to_string_pretty(&value).unwrap()
        );
        let pickers = &block(&value, BLOCK_PICKERS)["elements"];
        assert_eq!(pickers[0]["type"], "users_select");
        assert_eq!(pickers[1]["type"], "static_select");
        assert_eq!(pickers[1]["action_id"], "sb1:assign_team:42");
        assert_eq!(pickers[1]["options"][1]["value"], "shipping");
        assert_eq!(pickers[2]["type"], "external_select");
        assert_eq!(pickers[2]["min_query_length"], 0);
        // The over-long tag cannot be a button value: only "refund" is offered.
        let suggestions = &block(&value, BLOCK_SUGGESTIONS)["elements"];
        assert_eq!(suggestions.as_array().unwrap().len(), 1);
        assert_eq!(suggestions[0]["action_id"], "sb1:accept_tag:42");
        assert_eq!(suggestions[0]["value"], "refund");
        assert_eq!(suggestions[0]["text"]["text"], "+ refund");
    }

    #[test]
    fn actions_blocks_respect_slack_limits() {
        let mut view = CardView::of(
            &ticket(Status::Unread),
            &crate::networks::test_capabilities(&ticket(Status::Unread).state),
            "Acme Coffee",
            &[],
            chrono::Utc::now(),
        );
        let b = view.buttons[0].clone();
        view.buttons = vec![b.clone(); 30];
        view.suggestions = (0..30)
            .map(|i| Button {
                value: Some(format!("tag{i}")),
                ..b.clone()
            })
            .collect();
        let teams: Vec<String> = (0..120)
            .map(|i| format!("team {i} {}", "y".repeat(80)))
            .collect();
        view.pickers.push(Picker::Team {
            action: b.action,
            placeholder: "p".into(),
            teams,
        });
        view.pickers.push(Picker::Team {
            action: b.action,
            placeholder: "no teams".into(),
            teams: vec![],
        });
        let value = serde_json::to_value(card(&view)).unwrap();
        let len = |id| block(&value, id)["elements"].as_array().unwrap().len();
        assert_eq!(len(BLOCK_ACTIONS), 25);
        assert_eq!(len(BLOCK_SUGGESTIONS), 25);
        assert_eq!(len(BLOCK_PICKERS), 3, "the empty team picker is left out");
        let options = block(&value, BLOCK_PICKERS)["elements"][2]["options"]
            .as_array()
            .unwrap();
        assert_eq!(options.len(), 100);
        assert!(
            options
                .iter()
                .all(|o| o["text"]["text"].as_str().unwrap().chars().count() <= 75)
        );
        assert!(
            options[0]["value"].as_str().unwrap().chars().count() > 75,
            "values are not cut"
        );
    }

    fn saved(id: i64, name: &str, body: &str) -> SavedReply {
        SavedReply {
            id: SavedReplyId(id),
            name: name.into(),
            body: body.into(),
            updated_by: "slack:U0ANA".into(),
            updated_at: Utc.with_ymd_and_hms(2026, 3, 14, 9, 0, 0).unwrap(),
        }
    }

    fn view_json(view: &SlackView) -> String {
        serde_json::to_string_pretty(view).unwrap()
    }

    #[test]
    fn modals() {
        insta::assert_snapshot!(
            "reply_modal",
            view_json(&reply_modal(TicketId(42), "Hi {author_name},"))
        );
        let empty = serde_json::to_value(reply_modal(TicketId(42), "")).unwrap();
        assert!(empty["blocks"][0]["element"].get("initial_value").is_none());
        insta::assert_snapshot!(
            "tags_modal",
            view_json(&tags_modal(
                TicketId(42),
                &["vip".into(), "legacy".into()],
                &["billing".into(), "vip".into(), "shipping".into()]
            ))
        );
        let no_known = serde_json::to_value(tags_modal(TicketId(7), &[], &[])).unwrap();
        assert_eq!(no_known["blocks"].as_array().unwrap().len(), 1);
        assert_eq!(no_known["blocks"][0]["block_id"], TAGS_NEW_BLOCK);
        let many: Vec<String> = (0..150).map(|i| format!("t{i}")).collect();
        let capped =
            serde_json::to_value(tags_modal(TicketId(7), &["t149".into()], &many)).unwrap();
        let select = &capped["blocks"][0]["element"];
        assert_eq!(select["options"].as_array().unwrap().len(), 100);
        assert_eq!(
            select["options"][0]["value"], "t149",
            "current tags come first"
        );
        assert_eq!(select["initial_options"][0]["value"], "t149");
        insta::assert_snapshot!("saved_reply_modal_new", view_json(&saved_reply_modal(None)));
        insta::assert_snapshot!("storm_hide_modal", view_json(&storm_hide_modal(7)));
        // The typed word is the teammate's, but may be pasted customer text: inert.
        insta::assert_snapshot!(
            "storm_hide_sure_modal",
            view_json(&storm_hide_sure_modal(7, "<!here> *free*", 3))
        );
        let edit = serde_json::to_value(saved_reply_modal(Some(&saved(
            9,
            "Refund",
            "We refunded you.",
        ))))
        .unwrap();
        assert_eq!(edit["callback_id"], "sb1:saved_reply_modal:9");
        assert_eq!(edit["title"]["text"], text::SAVED_REPLY_EDIT_TITLE);
        assert_eq!(edit["blocks"][0]["element"]["initial_value"], "Refund");
        assert_eq!(
            edit["blocks"][1]["element"]["initial_value"],
            "We refunded you."
        );
        assert_eq!(edit["blocks"][1]["element"]["max_length"], 2000);
        let with_meta = with_private_metadata(reply_modal(TicketId(1), ""), "C1:1.2").unwrap();
        assert_eq!(
            serde_json::to_value(with_meta).unwrap()["private_metadata"],
            "C1:1.2"
        );
        assert!(with_private_metadata(reply_modal(TicketId(1), ""), &"x".repeat(3001)).is_none());
    }

    #[test]
    fn modal_callbacks_round_trip() {
        for kind in [
            ModalKind::Reply(TicketId(42)),
            ModalKind::Tags(TicketId(42)),
            ModalKind::SavedReply(None),
            ModalKind::SavedReply(Some(SavedReplyId(9))),
            ModalKind::StormReply(3),
            ModalKind::StormHide(3),
            ModalKind::StormHideSure(3),
        ] {
            let id = match kind {
                ModalKind::Reply(t) => reply_modal_callback(t),
                ModalKind::Tags(t) => tags_modal_callback(t),
                ModalKind::SavedReply(id) => saved_reply_modal_callback(id),
                ModalKind::StormReply(storm) => storm_reply_modal_callback(storm),
                ModalKind::StormHide(storm) => storm_hide_modal_callback(storm, false),
                ModalKind::StormHideSure(storm) => storm_hide_modal_callback(storm, true),
            };
            assert_eq!(ModalKind::parse(&id), Some(kind), "{id}");
        }
        for foreign in [
            "edit-reply",
            "sb1:reply_modal:x",
            "sb1:reply_modal:0",
            "sb2:reply_modal:1",
            "sb1:close:1",
            "",
        ] {
            assert_eq!(ModalKind::parse(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn saved_reply_answers() {
        let long_name = "N".repeat(90);
        let replies = [
            saved(
                1,
                "Refund <done>",
                "Hi {author_name}, we refunded your order.\nSorry & thanks!",
            ),
            saved(2, &long_name, &"b".repeat(400)),
        ];
        let refs: Vec<&SavedReply> = replies.iter().collect();
        let options = saved_reply_options(&refs);
        assert_eq!(
            options["options"][0],
            serde_json::json!({"text": {"type": "plain_text", "text": "Refund <done>"}, "value": "1"})
        );
        assert_eq!(
            options["options"][1]["text"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            75
        );
        assert_eq!(saved_reply_options(&[]), serde_json::json!({"options": []}));
        insta::assert_snapshot!(
            "saved_reply_search_with_ticket",
            serde_json::to_string_pretty(&saved_reply_search_results(
                "ref",
                &refs,
                Some(TicketId(42))
            ))
            .unwrap()
        );
        let without = saved_reply_search_results("", &refs, None);
        assert_eq!(without["response_type"], "ephemeral");
        let first_buttons = &without["blocks"][2]["elements"];
        assert_eq!(first_buttons[0]["action_id"], "sb1sr:edit:1");
        assert_eq!(first_buttons[1]["action_id"], "sb1sr:delete:1");
        assert_eq!(
            first_buttons.as_array().unwrap().len(),
            2,
            "no Use button without a ticket"
        );
        let many: Vec<SavedReply> = (1..=30).map(|i| saved(i, &format!("r{i}"), "b")).collect();
        let many: Vec<&SavedReply> = many.iter().collect();
        let answer = saved_reply_search_results("r", &many, None);
        assert!(answer["blocks"].as_array().unwrap().len() <= 50);
        assert_eq!(
            answer["text"],
            "Saved replies matching “r” (first 20 of 30):"
        );
        let none = saved_reply_search_results("zz<", &[], Some(TicketId(1)));
        assert_eq!(none["text"], "No saved replies match “zz&lt;”.");
    }

    /// Every message kind Slack gets, with the hostile corpus wherever customers (networks,
    /// teammates' stored text) put words: nothing live, everything shown as written. The
    /// messages are built the way the outbox and the command handlers build them.
    #[test]
    fn hostile_text_is_inert_in_every_slack_message() {
        use crate::core::hostile::{CORPUS, slack_live, slack_shows};
        use crate::core::{Assignee, Moderation, Network};
        let link = "https://slack.com/archives/C0CARDS/p1700000001000100";
        let headline = "Facebook comment on Acme Coffee";
        let card_link = format!("<{link}|{headline}>");
        let ana = "<@U0ANA>";
        for h in CORPUS {
            let mut t = ticket(Status::Read);
            t.state.customer.name = Some(h.to_string());
            t.state.first_text = format!("before {h} after");
            t.state.context.subject = Some(format!("video {h} title"));
            t.state.tags = vec![h.to_string(), "vip".into()];
            t.state.assignee = Some(Assignee::Person(teammate("U0ANA")));
            t.state.last_failure = Some(FailureReason::Other(h.to_string()));
            t.state.moderation.failure =
                Some((Moderation::Hide, FailureReason::Rejected(h.to_string())));
            let date = date_token(t.state.created_at);
            let mut deleted = t.clone();
            deleted.state.first_item_deleted = true;
            let card_of = |t: &Ticket| {
                serde_json::to_value(card(&CardView::of(
                    t,
                    &crate::networks::test_capabilities(&t.state),
                    "Acme Coffee",
                    &[],
                    t.state.created_at,
                )))
                .unwrap()
            };
            let value = |c: SlackMessageContent| serde_json::to_value(c).unwrap();
            let replied = text::customer_replied_dm(h, headline, link, h);
            let listing = Rich::join(
                [
                    text::queue_heading("unassigned", 1, false),
                    text::queue_line(Status::Read, Some(link), headline, h),
                ],
                "\n",
            );
            let reply = saved(1, h, h);
            let messages = [
                ("card", card_of(&t), vec![ana, &date]),
                ("deleted card", card_of(&deleted), vec![ana, &date]),
                (
                    "thread message",
                    value(thread_customer_message(h, h, true, false)),
                    vec![],
                ),
                ("assignee DM", value(message(&replied)), vec![&card_link]),
                (
                    "team notice",
                    value(message(
                        &Rich::ours("<!subteam^S1> ").then_rich(replied.clone()),
                    )),
                    vec!["<!subteam^S1>", &card_link],
                ),
                ("queue listing", ephemeral(&listing), vec![&card_link]),
                (
                    "saved-reply search",
                    saved_reply_search_results(h, &[&reply], Some(TicketId(42))),
                    vec![],
                ),
                (
                    "failure explanation",
                    value(message(&text::reply_failed(
                        ana,
                        Network::Facebook,
                        &FailureReason::Other(h.to_string()),
                    ))),
                    vec![ana],
                ),
                (
                    "refusal explanation",
                    value(message(&text::reply_failed(
                        ana,
                        Network::Facebook,
                        &FailureReason::Rejected(h.to_string()),
                    ))),
                    vec![ana],
                ),
                (
                    "token alert",
                    value(message(&text::token_alert(Network::Facebook, h))),
                    vec![],
                ),
                (
                    "reply copy",
                    value(message(&text::modal_reply_copy(ana, h))),
                    vec![ana],
                ),
                (
                    "review update",
                    value(message(&text::review_updated(
                        h,
                        &crate::core::decide::ReviewVersion {
                            rating: Some(4),
                            text: h.to_string(),
                        },
                        &crate::core::decide::ReviewVersion {
                            rating: Some(1),
                            text: format!("{h} (now)"),
                        },
                    ))),
                    vec![],
                ),
                (
                    "account connected",
                    value(message(&text::account_connected(
                        Network::Youtube,
                        &[h.to_string()],
                    ))),
                    vec![],
                ),
                (
                    "account alert",
                    value(message(&text::account_needs_reconnect(
                        Network::Google,
                        h,
                        h,
                        "/switchboard",
                    ))),
                    vec![],
                ),
                (
                    "accounts listing",
                    ephemeral(&text::accounts_listing(&[text::AccountLine {
                        id: 1,
                        network: Network::Youtube,
                        name: h,
                        unhealthy: Some(h),
                        last_error: None,
                    }])),
                    vec![],
                ),
            ];
            for (what, body, ours) in &messages {
                let live = slack_live(body, ours);
                assert!(live.is_empty(), "{what} with {h:?}: {live:#?}");
                assert!(
                    slack_shows(body, h),
                    "{what} does not show {h:?} as written: {body}"
                );
            }
        }
        // Bulk results carry no one's words; still nothing live.
        let bulk = ephemeral(&Rich::ours(text::bulk_done(CardAction::Close, 2, 3)));
        assert!(slack_live(&bulk, &[]).is_empty());
    }

    #[test]
    fn buttons_carry_action_and_ticket() {
        let content = card(&CardView::of(
            &ticket(Status::Unread),
            &crate::networks::test_capabilities(&ticket(Status::Unread).state),
            "Acme Coffee",
            &[],
            chrono::Utc::now(),
        ));
        let value = serde_json::to_value(&content).unwrap();
        let actions = &block(&value, BLOCK_ACTIONS)["elements"];
        assert_eq!(actions[0]["action_id"], "sb1:read:42");
        assert_eq!(actions[0]["value"], "42");
        assert!(actions[0].get("style").is_none());
        assert_eq!(actions[1]["action_id"], "sb1:close:42");
        assert_eq!(actions[1]["style"], "primary");
    }

    #[test]
    fn small_messages() {
        insta::assert_snapshot!(
            "thread_message_edited",
            json(&thread_customer_message(
                "Jane <3",
                "still waiting",
                true,
                false
            ))
        );
        insta::assert_snapshot!(
            "thread_message_deleted",
            json(&thread_customer_message("Jane", "gone", false, true))
        );
        insta::assert_snapshot!("plain", json(&plain("<@U1> closed the ticket")));
        insta::assert_snapshot!(mention(&teammate("U0ANA")), @"<@U0ANA>");
    }
}
