//! End-to-end scenarios for the Meta family beyond Page comments (issue 4, in progress):
//! Messenger conversations as tickets, replies through the Send API, reply windows.

mod support;

use axum::http::StatusCode;
use serde_json::json;
use support::*;
use switchboard::core::{Delivery, ItemKind, MessageKey, TicketId};

const PSID: &str = "6001";

fn messenger(mid: &str, text: &str, ts_ms: i64) -> String {
    json!({"object": "page", "entry": [{"id": PAGE_ID, "time": ts_ms, "messaging": [{
        "sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": ts_ms,
        "message": {"mid": mid, "text": text}
    }]}]})
    .to_string()
}

#[tokio::test]
async fn a_messenger_conversation_is_one_ticket_and_replies_go_through_the_send_api() {
    let w = World::new().await;
    w.slack_ok().await;
    w.graph_messages_ok().await;
    let now = chrono::Utc::now().timestamp_millis();
    assert_eq!(
        w.meta_webhook(&messenger(
            "m_1",
            "Hi, is the shop open today?",
            now - 60_000
        ))
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        w.meta_webhook(&messenger("m_2", "And tomorrow?", now))
            .await
            .0,
        StatusCode::OK
    );
    // The Page's own echo is not a customer message.
    let echo = json!({"object": "page", "entry": [{"id": PAGE_ID, "time": now, "messaging": [{
        "sender": {"id": PAGE_ID}, "recipient": {"id": PSID}, "timestamp": now,
        "message": {"mid": "m_echo", "is_echo": true, "app_id": 1, "metadata": "switchboard", "text": "Yes!"}
    }]}]});
    assert_eq!(w.meta_webhook(&echo.to_string()).await.0, StatusCode::OK);
    w.settle().await;

    assert_eq!(
        w.store.count_tickets().await.unwrap(),
        1,
        "one ticket per conversation"
    );
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_eq!(t.state.kind, ItemKind::DirectMessage);
    let posts = w.take_slack("/chat.postMessage").await;
    assert_eq!(
        posts.len(),
        2,
        "the card, then the second message in its thread"
    );
    let card = blocks_text(&posts[0].body);
    assert!(
        card.contains("Facebook message on Acme Coffee")
            && card.contains("Reply window: 23 h left"),
        "{card}"
    );
    // Newest on top: the card now shows the second message.
    let updates = w.take_slack("/chat.update").await;
    assert!(blocks_text(&updates.last().unwrap().body).contains("And tomorrow?"));

    w.thread_message(
        "Ev1",
        "UANA",
        "1700000001.000100",
        "1700000050.000001",
        "Open 9 to 5 both days!",
    )
    .await;
    w.settle().await;
    let sent = w.take_graph(&format!("/{PAGE_ID}/messages")).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["recipient"]["id"], PSID);
    assert_eq!(sent[0].body["messaging_type"], "RESPONSE");
    assert_eq!(sent[0].body["message"]["text"], "Open 9 to 5 both days!");
    let key = MessageKey::new(format!("chat:slack:{TEAM}:{CHANNEL}:1700000050.000001"));
    assert_eq!(
        w.store.message(&key).await.unwrap().unwrap().delivery,
        Some(Delivery::Delivered)
    );
    w.take_slack("/reactions.add").await;
    w.take_slack("/reactions.remove").await;
    w.take_slack("/chat.update").await;
    w.finish().await;
}

#[tokio::test]
async fn a_reply_outside_the_window_is_refused_before_sending() {
    let w = World::new().await;
    w.slack_ok().await;
    w.graph_messages_ok().await;
    let old = chrono::Utc::now().timestamp_millis() - 30 * 3600 * 1000;
    w.meta_webhook(&messenger("m_old", "Hello?", old)).await;
    w.settle().await;
    let card = w.take_slack("/chat.postMessage").await;
    assert!(blocks_text(&card[0].body).contains("Reply window closed"));

    w.thread_message(
        "Ev1",
        "UANA",
        "1700000001.000100",
        "1700000050.000001",
        "Sorry for the delay",
    )
    .await;
    w.settle().await;
    assert!(
        w.take_graph(&format!("/{PAGE_ID}/messages"))
            .await
            .is_empty(),
        "nothing sent"
    );
    let told = w.take_slack("/chat.postEphemeral").await;
    assert_eq!(told.len(), 1);
    assert!(
        told[0].body.to_string().contains("reply window has closed"),
        "{}",
        told[0].body
    );
    // The modal refuses too.
    let (_, body) = w
        .submit(
            "UANA",
            "V1",
            "sb1:reply_modal:1",
            json!({"reply": {"text": {"type": "plain_text_input", "value": "Hi"}}}),
        )
        .await;
    assert!(
        body.contains("errors") && body.contains("reply window has closed"),
        "{body}"
    );
    assert_eq!(w.store.messages(TicketId(1)).await.unwrap().len(), 1);
    w.finish().await;
}

#[tokio::test]
async fn with_the_human_agent_tag_a_late_messenger_reply_is_tagged() {
    let w = World::with(|c| c.meta.human_agent_tag = true).await;
    w.slack_ok().await;
    w.graph_messages_ok().await;
    let old = chrono::Utc::now().timestamp_millis() - 30 * 3600 * 1000;
    w.meta_webhook(&messenger("m_old", "Hello?", old)).await;
    w.settle().await;
    let card = w.take_slack("/chat.postMessage").await;
    assert!(blocks_text(&card[0].body).contains("(human agent)"));
    w.thread_message(
        "Ev1",
        "UANA",
        "1700000001.000100",
        "1700000050.000001",
        "Sorry for the delay",
    )
    .await;
    w.settle().await;
    let sent = w.take_graph(&format!("/{PAGE_ID}/messages")).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["messaging_type"], "MESSAGE_TAG");
    assert_eq!(sent[0].body["tag"], "HUMAN_AGENT");
    w.take_slack("/reactions.add").await;
    w.take_slack("/reactions.remove").await;
    w.take_slack("/chat.update").await;
    w.finish().await;
}

const PHONE_ID: &str = "106540352242922";
const WA_CUSTOMER: &str = "491234567890";

fn whatsapp_config(c: &mut switchboard::config::Config) {
    c.meta.whatsapp = vec![switchboard::config::AccountConfig {
        id: PHONE_ID.into(),
        name: "Acme WhatsApp".into(),
        access_token: Some(secrecy::SecretString::from("EAAwa-token")),
        slack_channel: Some("C0WHATSAPP".into()),
        discord_channel: None,
    }];
}

fn wa_message(wamid: &str, text: &str) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "101809759215303", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
            "contacts": [{"profile": {"name": "Test User"}, "wa_id": WA_CUSTOMER}],
            "messages": [{"from": WA_CUSTOMER, "id": wamid, "timestamp": chrono::Utc::now().timestamp().to_string(),
                          "type": "text", "text": {"body": text}}]
        }}]}]})
    .to_string()
}

fn wa_status(wamid: &str, status: &str, errors: Option<serde_json::Value>) -> String {
    let mut st = json!({"id": wamid, "status": status, "timestamp": chrono::Utc::now().timestamp().to_string(),
                        "recipient_id": WA_CUSTOMER});
    if let Some(e) = errors {
        st["errors"] = e;
    }
    json!({"object": "whatsapp_business_account", "entry": [{"id": "101809759215303", "changes": [{
    "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
        "statuses": [st]
    }}]}]})
    .to_string()
}

#[tokio::test]
async fn whatsapp_statuses_update_the_delivery_state_of_replies() {
    let w = World::with(whatsapp_config).await;
    w.slack_ok().await;
    w.graph_whatsapp_ok().await;
    assert_eq!(
        w.meta_webhook(&wa_message("wamid.IN1", "Is my order ready?"))
            .await
            .0,
        StatusCode::OK
    );
    w.settle().await;
    let card = w.take_slack("/chat.postMessage").await;
    assert_eq!(card.len(), 1);
    assert_eq!(
        card[0].body["channel"], "C0WHATSAPP",
        "routed to the number's channel"
    );
    assert!(blocks_text(&card[0].body).contains("WhatsApp message on Acme WhatsApp"));

    // The thread ↔ ticket mapping is keyed by channel too: the same ts in another channel
    // is not this card's thread, and nothing is sent.
    w.thread_message(
        "Ev1",
        "UANA",
        "1700000001.000100",
        "1700000050.000001",
        "Yes, come by!",
    )
    .await;
    w.settle().await;
    assert!(
        w.take_graph(&format!("/{PHONE_ID}/messages"))
            .await
            .is_empty()
    );
    // In the card's own channel it is a reply.
    let thread = json!({
        "team_id": TEAM, "api_app_id": "A111", "type": "event_callback", "event_id": "Ev2", "event_time": 1,
        "event": {"type": "message", "channel": "C0WHATSAPP", "user": "UANA", "text": "Yes, come by!",
                  "ts": "1700000051.000001", "thread_ts": "1700000001.000100", "event_ts": "1700000051.000001"}
    });
    w.slack_event(&thread, &[]).await;
    w.settle().await;
    let sent = w.take_graph(&format!("/{PHONE_ID}/messages")).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["messaging_product"], "whatsapp");
    assert_eq!(sent[0].body["to"], WA_CUSTOMER);
    assert_eq!(sent[0].body["text"]["body"], "Yes, come by!");
    let key = MessageKey::new(format!("chat:slack:{TEAM}:C0WHATSAPP:1700000051.000001"));
    assert_eq!(
        w.store.message(&key).await.unwrap().unwrap().delivery,
        Some(Delivery::Delivered)
    );
    w.take_slack("/reactions.add").await;
    w.take_slack("/reactions.remove").await;
    w.take_slack("/chat.update").await;

    // Read: the seen mark.
    w.meta_webhook(&wa_status("wamid.R1", "read", None)).await;
    w.settle().await;
    let seen = w.take_slack("/reactions.add").await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body["name"], "eyes");

    // A late failure (outside the window): failed mark, the reason in the thread, the card.
    let errors = json!([{"code": 131047, "title": "Re-engagement message",
        "message": "Re-engagement message", "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}]);
    w.meta_webhook(&wa_status("wamid.R1", "failed", Some(errors)))
        .await;
    w.settle().await;
    let marks = w.take_slack("/reactions.add").await;
    assert_eq!(marks[0].body["name"], "x");
    assert_eq!(
        w.take_slack("/reactions.remove").await.len(),
        2,
        "queued and delivered marks removed"
    );
    let notice = w.take_slack("/chat.postMessage").await;
    assert!(
        notice[0]
            .body
            .to_string()
            .contains("reply window has closed"),
        "{}",
        notice[0].body
    );
    assert!(
        blocks_text(&w.take_slack("/chat.update").await.last().unwrap().body)
            .contains("Last reply failed")
    );
    assert!(matches!(
        w.store.message(&key).await.unwrap().unwrap().delivery,
        Some(Delivery::Failed(_))
    ));
    w.finish().await;
}

const COMMENT: &str = "901097836652708_903438993085259";
const POST: &str = "1234567890321_901097836652708";

async fn comment_card(w: &World) {
    w.meta_webhook(&comment_webhook(
        COMMENT,
        POST,
        "5550001",
        "Troll",
        "Buy cheap followers at spam.example",
    ))
    .await;
    w.settle().await;
    assert_eq!(w.take_slack("/chat.postMessage").await.len(), 1);
}

#[tokio::test]
async fn hide_then_unhide_a_comment() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let w = World::new().await;
    w.slack_ok().await;
    Mock::given(method("POST"))
        .and(path(format!("/{COMMENT}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&w.graph)
        .await;
    comment_card(&w).await;

    w.click("UMOD", "1700000001.000100", "sb1:hide:1").await;
    w.settle().await;
    let calls = w.take_graph(&format!("/{COMMENT}")).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].body["is_hidden"], "true");
    assert_eq!(calls[0].body["access_token"], PAGE_TOKEN);
    let card = w.take_slack("/chat.update").await;
    let shown = blocks_text(&card[0].body);
    assert!(shown.contains("Hidden from the public"), "{shown}");
    let ids = action_ids(&card[0].body);
    assert!(ids.contains(&"sb1:unhide:1".to_string()) && !ids.contains(&"sb1:hide:1".to_string()));

    w.click("UMOD", "1700000001.000100", "sb1:unhide:1").await;
    w.settle().await;
    let calls = w.take_graph(&format!("/{COMMENT}")).await;
    assert_eq!(calls[0].body["is_hidden"], "false");
    assert!(!blocks_text(&w.take_slack("/chat.update").await[0].body).contains("Hidden"));
    let history: Vec<_> = w
        .store
        .history(TicketId(1))
        .await
        .unwrap()
        .iter()
        .map(|h| h.what.code())
        .collect();
    assert_eq!(history.iter().filter(|c| **c == "moderated").count(), 2);
    w.finish().await;
}

#[tokio::test]
async fn delete_asks_for_confirmation_and_removes_the_comment() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let w = World::new().await;
    w.slack_ok().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/{COMMENT}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&w.graph)
        .await;
    w.meta_webhook(&comment_webhook(COMMENT, POST, "5550001", "Troll", "spam"))
        .await;
    w.settle().await;
    let card = w.take_slack("/chat.postMessage").await;
    // The Delete button carries Slack's confirmation dialog: the click only comes after "Delete".
    let blocks = card[0].body["blocks"].to_string();
    assert!(
        blocks.contains("\"action_id\":\"sb1:delete:1\"")
            && blocks.contains("Delete this comment?"),
        "{blocks}"
    );

    w.click("UMOD", "1700000001.000100", "sb1:delete:1").await;
    w.settle().await;
    assert_eq!(
        w.take_graph(&format!("/{COMMENT}")).await.len(),
        1,
        "DELETE sent"
    );
    let card = w.take_slack("/chat.update").await;
    assert!(blocks_text(&card[0].body).contains("Deleted on the network"));
    let ids = action_ids(&card[0].body);
    assert!(
        !ids.iter()
            .any(|i| i.contains(":hide:") || i.contains(":delete:")),
        "{ids:?}"
    );
    w.finish().await;
}

#[tokio::test]
async fn a_refused_moderation_is_undone_and_explained_and_permissions_apply() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let w = World::with(|c| c.permissions.moderate = vec!["UMOD".into()]).await;
    w.slack_ok().await;
    Mock::given(method("POST"))
        .and(path(format!("/{COMMENT}/likes")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
            "message": "(#200) Permissions error", "type": "OAuthException", "code": 200, "fbtrace_id": "x"}})))
        .mount(&w.graph)
        .await;
    comment_card(&w).await;

    // Not a moderator: refused, nothing sent.
    w.click("UANA", "1700000001.000100", "sb1:like:1").await;
    w.settle().await;
    assert!(
        w.take_slack("/chat.postEphemeral").await[0]
            .body
            .to_string()
            .contains("not allowed to hide, delete, like or block")
    );
    assert!(w.take_graph(&format!("/{COMMENT}/likes")).await.is_empty());

    // A moderator: the network refuses, the card says so and the like is undone.
    w.click("UMOD", "1700000001.000100", "sb1:like:1").await;
    w.settle().await;
    assert_eq!(w.take_graph(&format!("/{COMMENT}/likes")).await.len(), 1);
    let updates = w.take_slack("/chat.update").await;
    let last = blocks_text(&updates.last().unwrap().body);
    assert!(
        last.contains("Liking failed") && last.contains("missing a permission"),
        "{last}"
    );
    assert!(!last.contains(":shield: Liked"));
    assert!(
        !w.store
            .ticket(TicketId(1))
            .await
            .unwrap()
            .unwrap()
            .state
            .moderation
            .liked
    );
    w.finish().await;
}

#[tokio::test]
async fn routing_rules_send_matching_tickets_to_their_channel() {
    let w = World::with(|c| {
        c.routing = vec![switchboard::config::RoutingRule {
            name: None,
            network: Some(switchboard::core::Network::Facebook),
            kind: Some(switchboard::core::ItemKind::Comment),
            keyword: Some("REFUND".into()),
            slack_channel: Some("C0REFUNDS".into()),
            discord_channel: None,
            reply_as: Default::default(),
        }];
    })
    .await;
    w.slack_ok().await;
    w.meta_webhook(&comment_webhook(
        "901_1",
        POST,
        "5550001",
        "A",
        "I want a refund now",
    ))
    .await;
    w.meta_webhook(&comment_webhook(
        "901_2",
        POST,
        "5550002",
        "B",
        "Nice coffee",
    ))
    .await;
    w.settle().await;
    let mut channels: Vec<String> = w
        .take_slack("/chat.postMessage")
        .await
        .iter()
        .map(|p| p.body["channel"].as_str().unwrap_or("").to_string())
        .collect();
    channels.sort();
    assert_eq!(channels, vec!["C0CARDS", "C0REFUNDS"]);
    w.finish().await;
}

#[tokio::test]
async fn conversation_cards_are_refreshed_so_the_window_countdown_moves() {
    let w = World::new().await;
    w.slack_ok().await;
    let now = chrono::Utc::now().timestamp_millis();
    w.meta_webhook(&messenger("m_1", "Hi", now - 3 * 3600 * 1000))
        .await;
    // A comment ticket has no window: not refreshed.
    w.meta_webhook(&comment_webhook(COMMENT, POST, "5550001", "A", "hello"))
        .await;
    w.settle().await;
    w.take_slack("/chat.postMessage").await;
    let before = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_eq!(
        switchboard::workers::refresh::refresh_windows(&w.svc)
            .await
            .unwrap(),
        1
    );
    w.settle().await;
    let updates = w.take_slack("/chat.update").await;
    assert_eq!(updates.len(), 1);
    assert!(blocks_text(&updates[0].body).contains("Reply window: 20 h left"));
    let after = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_eq!(
        after.state.updated_at, before.state.updated_at,
        "a refresh is not activity"
    );
    w.finish().await;
}

#[tokio::test]
async fn a_messenger_read_receipt_marks_the_newest_reply_seen() {
    let w = World::new().await;
    w.slack_ok().await;
    w.graph_messages_ok().await;
    let now = chrono::Utc::now().timestamp_millis();
    w.meta_webhook(&messenger("m_1", "Hi", now)).await;
    w.settle().await;
    w.take_slack("/chat.postMessage").await;
    w.thread_message(
        "Ev1",
        "UANA",
        "1700000001.000100",
        "1700000050.000001",
        "Hello!",
    )
    .await;
    w.settle().await;
    assert_eq!(w.take_graph(&format!("/{PAGE_ID}/messages")).await.len(), 1);
    w.take_slack("/reactions.add").await;
    w.take_slack("/reactions.remove").await;
    w.take_slack("/chat.update").await;

    let later = chrono::Utc::now().timestamp_millis() + 1000;
    let read = json!({"object": "page", "entry": [{"id": PAGE_ID, "time": later, "messaging": [{
        "sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": later,
        "read": {"watermark": later}
    }]}]});
    assert_eq!(w.meta_webhook(&read.to_string()).await.0, StatusCode::OK);
    w.settle().await;
    let seen = w.take_slack("/reactions.add").await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body["name"], "eyes");
    assert_eq!(seen[0].body["timestamp"], "1700000050.000001");
    w.finish().await;
}

#[tokio::test]
async fn a_messenger_edit_updates_the_thread_and_the_card() {
    let w = World::new().await;
    w.slack_ok().await;
    let now = chrono::Utc::now().timestamp_millis();
    w.meta_webhook(&messenger("m_1", "Hi", now - 1000)).await;
    w.meta_webhook(&messenger("m_2", "And tomorrow?", now))
        .await;
    w.settle().await;
    assert_eq!(w.take_slack("/chat.postMessage").await.len(), 2);
    w.take_slack("/chat.update").await;
    let edit = include_str!("fixtures/meta/messenger_edit.json");
    assert_eq!(w.meta_webhook(edit).await.0, StatusCode::OK);
    assert_eq!(
        w.meta_webhook(edit).await.0,
        StatusCode::OK,
        "a redelivery changes nothing"
    );
    w.settle().await;
    let updates = w.take_slack("/chat.update").await;
    assert_eq!(updates.len(), 2, "the thread message and the card");
    let all = updates
        .iter()
        .map(|u| u.body.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        all.contains("And the day after tomorrow?") && all.contains("edited"),
        "{all}"
    );
    w.finish().await;
}

const IG_ACCOUNT: &str = "17841400000000000";

fn instagram_config(c: &mut switchboard::config::Config) {
    c.meta.instagram = vec![switchboard::config::AccountConfig {
        id: IG_ACCOUNT.into(),
        name: "Acme on Instagram".into(),
        access_token: Some(secrecy::SecretString::from("EAAig-token")),
        slack_channel: Some("C0INSTA".into()),
        discord_channel: None,
    }];
}

#[tokio::test]
async fn an_instagram_comment_is_answered_through_replies_and_a_mention_is_readable() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let w = World::with(instagram_config).await;
    w.slack_ok().await;
    Mock::given(method("POST"))
        .and(path("/17865799348089039/replies"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "17873440459141099"})))
        .mount(&w.graph)
        .await;
    let comment = json!({"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": 1700000000, "changes": [{
        "field": "comments", "value": {"id": "17865799348089039", "from": {"id": "1234536447", "username": "testuser"},
        "text": "Do you ship to Portugal?", "media": {"id": "17887498072083520", "media_product_type": "FEED"}}}]}]});
    let mention = json!({"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": 1700000001, "changes": [{
        "field": "mentions", "value": {"comment_id": "17887498072083999", "media_id": "17887498072083521"}}]}]});
    assert_eq!(w.meta_webhook(&comment.to_string()).await.0, StatusCode::OK);
    assert_eq!(w.meta_webhook(&mention.to_string()).await.0, StatusCode::OK);
    w.settle().await;
    let cards = w.take_slack("/chat.postMessage").await;
    assert_eq!(cards.len(), 2);
    let all = cards
        .iter()
        .map(|c| blocks_text(&c.body))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        all.contains("Instagram comment on Acme on Instagram")
            && all.contains("Do you ship to Portugal?"),
        "{all}"
    );
    assert!(
        all.contains("Instagram mention") && all.contains("mentioned your account"),
        "{all}"
    );
    assert!(cards.iter().all(|c| c.body["channel"] == "C0INSTA"));
    // Instagram comments offer hide/delete but no like/block.
    let ids: Vec<String> = cards.iter().flat_map(|c| action_ids(&c.body)).collect();
    assert!(
        ids.iter().any(|i| i.contains(":hide:"))
            && !ids
                .iter()
                .any(|i| i.contains(":like:") || i.contains(":block:")),
        "{ids:?}"
    );

    // Ticket 1 is the comment (its webhook came first): its card's ts, as mapped.
    let card_ts = w.store.card_of(TicketId(1)).await.unwrap().unwrap().message;
    let thread = json!({
        "team_id": TEAM, "api_app_id": "A111", "type": "event_callback", "event_id": "Ev9", "event_time": 1,
        "event": {"type": "message", "channel": "C0INSTA", "user": "UANA", "text": "Yes, 3-5 days!",
                  "ts": "1700000060.000001", "thread_ts": card_ts, "event_ts": "1700000060.000001"}
    });
    w.slack_event(&thread, &[]).await;
    w.settle().await;
    let sent = w.take_graph("/17865799348089039/replies").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["message"], "Yes, 3-5 days!");
    w.take_slack("/reactions.add").await;
    w.take_slack("/reactions.remove").await;
    w.take_slack("/chat.update").await;
    w.finish().await;
}

/// Instagram DMs through Facebook Login are answered on `/me/messages` with the Page token
/// (never `/{ig-account-id}/messages`), and a reply over Instagram's 1,000 UTF-8 bytes is
/// refused before it is queued, saying so.
#[tokio::test]
async fn an_instagram_dm_is_answered_on_me_messages_within_its_byte_limit() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let w = World::with(instagram_config).await;
    w.slack_ok().await;
    Mock::given(method("POST"))
        .and(path("/me/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"recipient_id": "5614879045272581", "message_id": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAU"}),
        ))
        .mount(&w.graph)
        .await;
    let now = chrono::Utc::now().timestamp_millis();
    let dm = json!({"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": now, "messaging": [{
        "sender": {"id": "5614879045272581"}, "recipient": {"id": IG_ACCOUNT}, "timestamp": now,
        "message": {"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3", "text": "hi, where is my order?"}}]}]});
    assert_eq!(w.meta_webhook(&dm.to_string()).await.0, StatusCode::OK);
    w.settle().await;
    let cards = w.take_slack("/chat.postMessage").await;
    assert_eq!(cards.len(), 1);
    let card_ts = w.store.card_of(TicketId(1)).await.unwrap().unwrap().message;
    let reply = |event_id: &str, ts: &str, text: &str| {
        json!({
            "team_id": TEAM, "api_app_id": "A111", "type": "event_callback", "event_id": event_id,
            "event_time": 1,
            "event": {"type": "message", "channel": "C0INSTA", "user": "UANA", "text": text,
                      "ts": ts, "thread_ts": card_ts, "event_ts": ts}
        })
    };

    // 300 emoji: 300 characters, but 1,200 bytes.
    w.slack_event(&reply("Ev1", "1700000060.000001", &"📦".repeat(300)), &[])
        .await;
    w.settle().await;
    assert!(
        w.take_graph("/me/messages").await.is_empty(),
        "nothing sent"
    );
    let told = w.take_slack("/chat.postEphemeral").await;
    assert_eq!(told.len(), 1);
    let said = told[0].body.to_string();
    assert!(
        said.contains("1,200 bytes") && said.contains("at most 1,000 bytes"),
        "{said}"
    );
    assert_eq!(w.store.messages(TicketId(1)).await.unwrap().len(), 1);

    w.slack_event(&reply("Ev2", "1700000061.000001", "Tomorrow 📦"), &[])
        .await;
    w.settle().await;
    let sent = w.take_graph("/me/messages").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["recipient"]["id"], "5614879045272581");
    assert_eq!(sent[0].body["message"]["text"], "Tomorrow 📦");
    assert_eq!(
        sent[0].headers.get("authorization").map(String::as_str),
        Some("Bearer EAAig-token")
    );
    assert!(
        w.take_graph(&format!("/{IG_ACCOUNT}/messages"))
            .await
            .is_empty()
    );
    w.take_slack("/reactions.add").await;
    w.take_slack("/reactions.remove").await;
    w.take_slack("/chat.update").await;
    w.finish().await;
}

/// Block is offered only where a real user id exists: a Page mention whose author Meta did
/// not name gets Hide but no Block, and a Block click from an old card changes nothing and
/// calls nothing.
#[tokio::test]
async fn an_anonymous_mention_offers_no_block() {
    let w = World::new().await;
    w.slack_ok().await;
    let mention = json!({"object": "page", "entry": [{"id": PAGE_ID, "time": 1614340868, "changes": [{
        "field": "mention", "value": {"message": "Just a test message", "post_id": "1234567890321_7363534231324",
        "comment_id": "7363534231324_3754798971271444", "created_time": 1614340862,
        "item": "comment", "verb": "add"}}]}]});
    assert_eq!(w.meta_webhook(&mention.to_string()).await.0, StatusCode::OK);
    w.settle().await;
    let cards = w.take_slack("/chat.postMessage").await;
    assert_eq!(cards.len(), 1);
    let ids = action_ids(&cards[0].body);
    assert!(ids.iter().any(|i| i.contains(":hide:")), "{ids:?}");
    assert!(!ids.iter().any(|i| i.contains(":block:")), "{ids:?}");

    let card_ts = w.store.card_of(TicketId(1)).await.unwrap().unwrap().message;
    w.click("UANA", &card_ts, "sb1:block:1").await;
    w.settle().await;
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert!(!t.state.moderation.author_blocked);
    assert!(
        w.take_graph(&format!("/{PAGE_ID}/blocked"))
            .await
            .is_empty()
    );
    w.finish().await;
}

/// A WhatsApp customer known only by a business-scoped user id (no phone number in the
/// webhook) is answered with `recipient`, not `to`.
#[tokio::test]
async fn a_whatsapp_customer_known_only_by_bsuid_is_answered_with_recipient() {
    let w = World::with(whatsapp_config).await;
    w.slack_ok().await;
    w.graph_whatsapp_ok().await;
    let bsuid = "US.13491208655302741918";
    let inbound = json!({"object": "whatsapp_business_account", "entry": [{"id": "101809759215303", "changes": [{
    "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
        "contacts": [{"profile": {"name": "Sam", "username": "sam.codes"}, "user_id": bsuid}],
        "messages": [{"from_user_id": bsuid, "id": "wamid.BS1",
                      "timestamp": chrono::Utc::now().timestamp().to_string(),
                      "type": "text", "text": {"body": "Do you open on Sunday?"}}]
    }}]}]});
    assert_eq!(w.meta_webhook(&inbound.to_string()).await.0, StatusCode::OK);
    w.settle().await;
    assert_eq!(w.take_slack("/chat.postMessage").await.len(), 1);
    let card_ts = w.store.card_of(TicketId(1)).await.unwrap().unwrap().message;
    let thread = json!({
        "team_id": TEAM, "api_app_id": "A111", "type": "event_callback", "event_id": "Ev1", "event_time": 1,
        "event": {"type": "message", "channel": "C0WHATSAPP", "user": "UANA", "text": "Yes, 10 to 4.",
                  "ts": "1700000051.000001", "thread_ts": card_ts, "event_ts": "1700000051.000001"}
    });
    w.slack_event(&thread, &[]).await;
    w.settle().await;
    let sent = w.take_graph(&format!("/{PHONE_ID}/messages")).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["recipient"], bsuid);
    assert!(sent[0].body.get("to").is_none(), "{}", sent[0].body);
    assert_eq!(sent[0].body["text"]["body"], "Yes, 10 to 4.");
    w.take_slack("/reactions.add").await;
    w.take_slack("/reactions.remove").await;
    w.take_slack("/chat.update").await;
    w.finish().await;
}
