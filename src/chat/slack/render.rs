//! The card view model rendered to Block Kit. Wording comes from `core::text`; this module only
//! lays it out, escapes what customers wrote, and picks Slack's markup (mentions, date tokens,
//! reactions).

use slack_morphism::prelude::*;

use crate::core::card::{ButtonStyle, CardView};
use crate::core::{Teammate, text};

/// Reaction on a teammate's thread reply while it waits in the outbox.
pub const REACTION_QUEUED: &str = "hourglass_flowing_sand";
/// Reaction once the reply reached the customer on the network.
pub const REACTION_DELIVERED: &str = "white_check_mark";
/// Reaction once the reply failed for good (a thread message explains why).
pub const REACTION_FAILED: &str = "x";

/// `action_id` of the permalink button. Slack reports clicks on link buttons too; they are not
/// Switchboard actions and need only an acknowledgement.
pub const PERMALINK_ACTION_ID: &str = "sb_permalink";

/// Slack rejects a section whose text exceeds 3000 characters; leave room for the headline,
/// author and marks.
const MAX_CUSTOMER_TEXT_CHARS: usize = 2500;

/// How Slack writes a teammate.
pub fn mention(t: &Teammate) -> String {
    format!("<@{}>", t.id)
}

/// Escapes the three characters Slack's mrkdwn treats as control characters, so a customer
/// cannot ping `<!channel>` or forge a link.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

/// Slack date token: shown in each reader's time zone, with a UTC fallback.
fn date_token(at: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
        at.timestamp(),
        at.format("%Y-%m-%d %H:%M UTC")
    )
}

fn mrkdwn(s: String) -> SlackBlockMarkDownText {
    SlackBlockMarkDownText::new(s)
}

/// A ticket's card: the customer's message, its state, any failure, and its buttons.
pub fn card(view: &CardView) -> SlackMessageContent {
    let author = escape(&view.author);
    let body = escape(&truncate(&view.text, MAX_CUSTOMER_TEXT_CHARS));
    let headline = escape(&view.headline);

    let mut main = SlackSectionBlock::new().with_text(
        mrkdwn(format!(
            "*{headline}*\n{}",
            text::thread_customer_message(&author, &body, view.edited, view.deleted)
        ))
        .into(),
    );
    if let Some(url) = view
        .permalink
        .as_deref()
        .and_then(|p| url::Url::parse(p).ok())
    {
        main = main.with_accessory(
            SlackBlockButtonElement::new(text::VIEW_ON_NETWORK.into())
                .with_action_id(SlackActionId::new(PERMALINK_ACTION_ID.to_string()))
                .with_url(url)
                .into(),
        );
    }

    let status = text::status_line(
        view.status,
        view.assignee.as_ref(),
        &view.tags,
        view.last_replied_by.as_ref(),
        &mention,
    );
    let mut blocks: Vec<SlackBlock> = vec![
        main.into(),
        SlackContextBlock::new(vec![
            mrkdwn(status).into(),
            mrkdwn(date_token(view.created_at)).into(),
        ])
        .into(),
    ];
    if let Some(failure) = &view.failure {
        blocks.push(
            SlackSectionBlock::new()
                .with_text(mrkdwn(escape(failure)).into())
                .into(),
        );
    }
    if !view.buttons.is_empty() {
        let ticket = view.ticket.to_string();
        let buttons = view
            .buttons
            .iter()
            .map(|b| {
                let button = SlackBlockButtonElement::new(b.label.into())
                    .with_action_id(SlackActionId::new(b.action.to_string()))
                    .with_value(ticket.clone());
                let button = match b.style {
                    ButtonStyle::Primary => button.with_style(SlackBlockButtonStyle::Primary),
                    ButtonStyle::Danger => button.with_style(SlackBlockButtonStyle::Danger),
                    ButtonStyle::Default => button,
                };
                button.into()
            })
            .collect();
        blocks.push(SlackActionsBlock::new(buttons).into());
    }

    SlackMessageContent::new()
        .with_text(text::card_fallback(&headline, &author, &body))
        .with_blocks(blocks)
}

/// A customer message mirrored into the card's thread.
pub fn thread_customer_message(
    author: &str,
    text: &str,
    edited: bool,
    deleted: bool,
) -> SlackMessageContent {
    let body = escape(&truncate(text, MAX_CUSTOMER_TEXT_CHARS));
    SlackMessageContent::new().with_text(text::thread_customer_message(
        &escape(author),
        &body,
        edited,
        deleted,
    ))
}

/// A message of our own text (already mrkdwn, may contain mentions): not escaped.
pub fn plain(text: &str) -> SlackMessageContent {
    SlackMessageContent::new().with_text(text.to_string())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::core::{
        AccountId, ChatUserId, Customer, CustomerId, FailureReason, ItemKind, Network,
        NetworkItemId, Status, Surface, Ticket, TicketId, TicketState,
    };

    fn teammate(id: &str) -> Teammate {
        Teammate {
            surface: Surface::Slack,
            id: ChatUserId::new(id),
        }
    }

    fn ticket(status: Status) -> Ticket {
        let at = Utc.with_ymd_and_hms(2026, 3, 14, 9, 26, 53).unwrap();
        Ticket {
            id: TicketId(42),
            version: 3,
            state: TicketState {
                network: Network::Facebook,
                account: AccountId::new("1001"),
                conversation_key: "facebook:1001:1001_77:9001".into(),
                customer: Customer {
                    id: CustomerId::new("9001"),
                    name: Some("Jane Doe".into()),
                },
                kind: ItemKind::Comment,
                first_item: NetworkItemId::new("1001_77_5"),
                first_text: "Where is my order? It's been 2 weeks & counting <!channel>".into(),
                permalink: Some("https://www.facebook.com/1001/posts/77?comment_id=5".into()),
                reply_to: NetworkItemId::new("1001_77_5"),
                status,
                assignee: None,
                tags: vec![],
                last_replied_by: None,
                last_failure: None,
                first_item_deleted: false,
                first_item_edited: false,
                created_at: at,
                updated_at: at,
                last_customer_at: at,
            },
        }
    }

    fn json(content: &SlackMessageContent) -> String {
        serde_json::to_string_pretty(content).unwrap()
    }

    fn render(t: &Ticket) -> String {
        json(&card(&CardView::of(t, "Acme Coffee")))
    }

    #[test]
    fn card_unread() {
        insta::assert_snapshot!("card_unread", render(&ticket(Status::Unread)));
    }

    #[test]
    fn card_read_assigned_and_edited() {
        let mut t = ticket(Status::Read);
        t.state.assignee = Some(teammate("U0ANA"));
        t.state.tags = vec!["billing".into(), "vip".into()];
        t.state.last_replied_by = Some(teammate("U0BEN"));
        t.state.first_item_edited = true;
        insta::assert_snapshot!("card_read", render(&t));
    }

    #[test]
    fn card_closed() {
        let mut t = ticket(Status::Closed);
        t.state.assignee = Some(teammate("U0ANA"));
        t.state.last_replied_by = Some(teammate("U0ANA"));
        insta::assert_snapshot!("card_closed", render(&t));
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
        let content = card(&CardView::of(&t, "Acme Coffee"));
        let value = serde_json::to_value(&content).unwrap();
        let section = value["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(section.chars().count() < 3000, "{}", section.len());
        assert!(section.ends_with('…'));
    }

    #[test]
    fn buttons_carry_action_and_ticket() {
        let content = card(&CardView::of(&ticket(Status::Unread), "Acme Coffee"));
        let value = serde_json::to_value(&content).unwrap();
        let actions = &value["blocks"][2]["elements"];
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
