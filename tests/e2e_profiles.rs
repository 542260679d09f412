//! Reply profiles end to end: two Facebook Pages send their tickets to one Slack channel. A
//! mention (anyone's post) may be answered by either: the card says which, offers the other,
//! and the reply goes out with the chosen Page's token; the next mention defaults to the Page
//! used last. A comment belongs to its Page: fixed, and the card says why. Settings on the
//! channel and on a routing rule decide when set, the rule's first.

mod support;

use serde_json::{Value, json};
use support::*;
use switchboard::config::{ChannelConfig, PageConfig, RoutingRule};
use switchboard::core::{Network, TicketId};

const PAGE_B: &str = "7777777777777";
const PAGE_B_TOKEN: &str = "EAAG-page-b-token";

fn two_pages(c: &mut switchboard::config::Config) {
    c.meta.pages.push(PageConfig {
        id: PAGE_B.into(),
        name: "Acme Roastery".into(),
        access_token: Some(secrecy::SecretString::from(PAGE_B_TOKEN)),
        slack_channel: Some(CHANNEL.into()),
        discord_channel: None,
    });
}

fn mention(comment: &str, author: &str, text: &str) -> String {
    json!({"object": "page", "entry": [{"id": PAGE_ID, "time": 1614340868, "changes": [{
        "field": "mention", "value": {"message": text, "post_id": format!("999_{comment}"),
        "comment_id": format!("888_{comment}"), "created_time": 1614340862,
        "from": {"id": author, "name": format!("Fan {author}")},
        "item": "comment", "verb": "add"}}]}]})
    .to_string()
}

/// The card's "Replying as" line, and the profile picker's options (value, label).
fn profile_of(card: &Value) -> (String, Vec<(String, String)>) {
    let text = blocks_text(card);
    let line = text
        .lines()
        .find(|l| l.contains("Replying as"))
        .unwrap_or_default()
        .to_string();
    let options = card["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .filter(|e| {
            e["action_id"]
                .as_str()
                .is_some_and(|a| a.starts_with("sb1:profile:"))
        })
        .flat_map(|e| e["options"].as_array().cloned().unwrap_or_default())
        .map(|o| {
            (
                o["value"].as_str().unwrap_or_default().to_string(),
                o["text"]["text"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    (line, options)
}

#[tokio::test]
async fn a_mention_is_answered_by_the_chosen_page_and_the_next_defaults_to_it() {
    let w = World::with(two_pages).await;
    w.slack_ok().await;
    w.graph_ok().await;
    w.meta_webhook(&mention("1", "5001", "Love it @Acme")).await;
    w.settle().await;
    let cards = w.take_slack("/chat.postMessage").await;
    let (line, options) = profile_of(&cards[0].body);
    assert!(line.contains("Replying as *Acme Coffee*"), "{line}");
    assert_eq!(
        options,
        [
            (PAGE_ID.to_string(), "Acme Coffee".to_string()),
            (PAGE_B.to_string(), "Acme Roastery".to_string())
        ]
    );
    let card_ts = w.store.card_of(TicketId(1)).await.unwrap().unwrap().message;

    // Chosen on the card: recorded, shown.
    w.pick("UANA", &card_ts, "sb1:profile:1", None, Some(json!(PAGE_B)))
        .await;
    w.settle().await;
    let update = w.take_slack("/chat.update").await;
    let (line, _) = profile_of(&update.last().expect("card updated").body);
    assert!(line.contains("Replying as *Acme Roastery*"), "{line}");
    let history = w.store.history(TicketId(1)).await.unwrap();
    assert!(history.iter().any(|h| h.what.code() == "profile_chosen"));

    // The reply goes out as that Page, with its token.
    w.thread_message("Ev1", "UANA", &card_ts, "1700000500.000100", "Thanks!")
        .await;
    w.settle().await;
    let replies = w.take_graph("/888_1/comments").await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].body["access_token"], PAGE_B_TOKEN);
    let update = w.take_slack("/chat.update").await;
    let shown = blocks_text(&update.last().expect("card updated").body);
    assert!(shown.contains("as *Acme Roastery*"), "{shown}");
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_eq!(
        t.state.last_replied_as.map(|a| a.to_string()),
        Some(PAGE_B.into())
    );

    // The next mention in this channel defaults to the Page used last.
    w.meta_webhook(&mention("2", "5002", "hello")).await;
    w.settle().await;
    let cards = w.take_slack("/chat.postMessage").await;
    let card = cards
        .iter()
        .find(|c| c.body.get("thread_ts").is_none())
        .expect("a card");
    let (line, _) = profile_of(&card.body);
    assert!(line.contains("Replying as *Acme Roastery*"), "{line}");
}

#[tokio::test]
async fn a_comment_is_answered_by_its_own_page_whatever_the_settings() {
    let w = World::with(|c| {
        two_pages(c);
        c.slack.channels = vec![ChannelConfig {
            id: CHANNEL.into(),
            reply_mode: Default::default(),
            reply_as: [(Network::Facebook, PAGE_B.to_string())].into(),
            auto_close_days: None,
            hours: None,
            sla: None,
            auto_reply: None,
        }];
    })
    .await;
    w.slack_ok().await;
    w.graph_ok().await;
    w.meta_webhook(&comment_webhook(
        "1234567890321_55",
        "1234567890321_44",
        "5001",
        "Jo",
        "hi",
    ))
    .await;
    w.settle().await;
    let cards = w.take_slack("/chat.postMessage").await;
    let (line, options) = profile_of(&cards[0].body);
    assert!(
        line.contains("Replying as *Acme Coffee*") && line.contains("only it can answer"),
        "{line}"
    );
    assert!(options.is_empty(), "{options:?}");
    let card_ts = w.store.card_of(TicketId(1)).await.unwrap().unwrap().message;
    w.thread_message("Ev1", "UANA", &card_ts, "1700000500.000100", "Thanks!")
        .await;
    w.settle().await;
    let replies = w.take_graph("/1234567890321_55/comments").await;
    assert_eq!(replies[0].body["access_token"], PAGE_TOKEN);
}

#[tokio::test]
async fn a_rules_setting_wins_over_the_channels() {
    let w = World::with(|c| {
        two_pages(c);
        c.slack.channels = vec![ChannelConfig {
            id: CHANNEL.into(),
            reply_mode: Default::default(),
            reply_as: [(Network::Facebook, PAGE_B.to_string())].into(),
            auto_close_days: None,
            hours: None,
            sla: None,
            auto_reply: None,
        }];
        c.routing = vec![RoutingRule {
            name: None,
            network: None,
            kind: None,
            keyword: Some("vip".into()),
            slack_channel: Some(CHANNEL.into()),
            discord_channel: None,
            reply_as: [(Network::Facebook, PAGE_ID.to_string())].into(),
        }];
    })
    .await;
    w.slack_ok().await;
    w.meta_webhook(&mention("1", "5001", "a vip question"))
        .await;
    w.meta_webhook(&mention("2", "5002", "an ordinary question"))
        .await;
    w.settle().await;
    let cards = w.take_slack("/chat.postMessage").await;
    let lines: Vec<String> = cards.iter().map(|c| profile_of(&c.body).0).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Replying as *Acme Coffee*")),
        "the rule's Page: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Replying as *Acme Roastery*")),
        "the channel's Page: {lines:?}"
    );
}

#[tokio::test]
async fn a_retried_reply_goes_out_as_the_account_decided_when_it_was_written() {
    let w = World::with(two_pages).await;
    w.slack_ok().await;
    w.graph_ok().await;
    w.meta_webhook(&mention("1", "5001", "Love it")).await;
    w.settle().await;
    let card_ts = w.store.card_of(TicketId(1)).await.unwrap().unwrap().message;

    // The first attempt meets a Graph outage…
    w.graph_fails(1, 500, json!({"error": {"message": "down", "code": 2}}))
        .await;
    w.thread_message("Ev1", "UANA", &card_ts, "1700000500.000100", "Thanks!")
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while w.graph_requests("/888_1/comments").await == 0 {
        assert!(std::time::Instant::now() < deadline, "no attempt made");
        switchboard::workers::inbox::process_batch(&w.svc)
            .await
            .unwrap();
        switchboard::workers::outbox::process_batch(&w.svc)
            .await
            .unwrap();
    }
    // …and meanwhile a teammate picks the other Page for the ticket.
    w.pick("UBEN", &card_ts, "sb1:profile:1", None, Some(json!(PAGE_B)))
        .await;
    w.settle().await;

    // The reply written before the choice still goes out as the Page it was written for.
    let posts: Vec<_> = w
        .take_graph("/888_1/comments")
        .await
        .into_iter()
        .filter(|s| s.body.get("message").is_some())
        .collect();
    assert_eq!(
        posts.len(),
        2,
        "one failed attempt, one delivery: {posts:?}"
    );
    assert!(
        posts.iter().all(|p| p.body["access_token"] == PAGE_TOKEN),
        "{posts:?}"
    );
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_eq!(
        t.state.last_replied_as, None,
        "answered as the ticket's own Page"
    );
}

#[tokio::test]
async fn our_own_reply_seen_back_as_a_mention_is_not_a_customer_ticket() {
    let w = World::with(two_pages).await;
    w.slack_ok().await;
    w.graph_ok().await;
    w.meta_webhook(&mention("1", "5001", "Love it")).await;
    w.settle().await;
    let card_ts = w.store.card_of(TicketId(1)).await.unwrap().unwrap().message;
    w.pick("UANA", &card_ts, "sb1:profile:1", None, Some(json!(PAGE_B)))
        .await;
    w.thread_message(
        "Ev1",
        "UANA",
        &card_ts,
        "1700000500.000100",
        "Thanks @Acme!",
    )
    .await;
    w.settle().await;
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    let ours = t.state.our_reply.expect("delivered").to_string();

    // Page A is told it was mentioned in Page B's reply: that is the team talking.
    let echo = json!({"object": "page", "entry": [{"id": PAGE_ID, "time": 1614340900,
        "changes": [{"field": "mention", "value": {"message": "Thanks @Acme!",
        "post_id": "999_1", "comment_id": ours, "created_time": 1614340899,
        "from": {"id": PAGE_B, "name": "Acme Roastery"}, "item": "comment", "verb": "add"}}]}]});
    w.meta_webhook(&echo.to_string()).await;
    w.settle().await;
    assert!(
        w.store.ticket(TicketId(2)).await.unwrap().is_none(),
        "our own reply became a ticket"
    );
}

#[tokio::test]
async fn a_post_by_another_of_our_accounts_is_not_a_customer_ticket() {
    let w = World::with(two_pages).await;
    w.slack_ok().await;
    // Page B mentions Page A (written outside Switchboard, or before its reply was recorded).
    let by_us = json!({"object": "page", "entry": [{"id": PAGE_ID, "time": 1614340900,
        "changes": [{"field": "mention", "value": {"message": "Thanks @Acme!",
        "post_id": "999_7", "comment_id": "888_7", "created_time": 1614340899,
        "from": {"id": PAGE_B, "name": "Acme Roastery"}, "item": "comment", "verb": "add"}}]}]});
    w.meta_webhook(&by_us.to_string()).await;
    w.meta_webhook(&mention("8", "5008", "a real customer"))
        .await;
    w.settle().await;
    assert_eq!(w.store.count_tickets().await.unwrap(), 1);
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_eq!(t.state.customer.id.as_str(), "5008");
}
