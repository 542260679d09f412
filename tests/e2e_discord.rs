//! The Discord surface end to end: the real router, workers and serenity gateway client
//! against a fake Discord REST API (wiremock) and a fake gateway (a local websocket server),
//! with interactions signed by the reference Ed25519 key of network-apis.md §9.

mod support;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use support::discord::*;
use support::*;
use switchboard::core::{Status, TicketId};
use tokio::sync::watch;

/// The private half of `PUBLIC_KEY`: seed 0x00..0x1f.
fn key() -> SigningKey {
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
    SigningKey::from_bytes(&seed)
}

async fn post(
    w: &World,
    body: &Value,
    sign_with: Option<&SigningKey>,
    ts: i64,
) -> (StatusCode, String) {
    let body = body.to_string();
    let mut req = Request::post("/discord/interactions")
        .header("content-type", "application/json")
        .header("x-signature-timestamp", ts.to_string());
    if let Some(k) = sign_with {
        let sig = k.sign(format!("{ts}{body}").as_bytes());
        req = req.header("x-signature-ed25519", hex::encode(sig.to_bytes()));
    }
    w.send(req.body(Body::from(body)).unwrap()).await
}

/// A signed, fresh interaction over HTTP; the answer as JSON.
async fn interact(w: &World, body: &Value) -> Value {
    let (s, text) = post(w, body, Some(&key()), chrono::Utc::now().timestamp()).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    serde_json::from_str(&text).expect("JSON answer")
}

fn click(id: &str, custom_id: &str, user: &str, roles: &[&str]) -> Value {
    button_interaction(id, custom_id, user, roles, DCHANNEL, "1000000000000200001")
}

/// Start the gateway task; returns the fake gateway and the task's shutdown switch.
async fn connect(w: &World) -> (FakeGateway, watch::Sender<bool>) {
    let gw = FakeGateway::start().await;
    w.discord_ok(&gw.url).await;
    let (tx, rx) = watch::channel(false);
    tokio::spawn(switchboard::server::gateway::run(w.svc.clone(), rx));
    let identify = gw.identified().await;
    assert_eq!(
        identify["d"]["intents"], 33281,
        "guilds, guild messages, message content"
    );
    assert!(
        identify["d"]["token"]
            .as_str()
            .unwrap_or("")
            .contains(DISCORD_BOT_TOKEN)
    );
    // The slash command was registered in the configured server at start-up.
    let registered = w
        .take_discord(&format!(
            "/api/v10/applications/{APP_ID}/guilds/{GUILD}/commands"
        ))
        .await;
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].body[0]["name"], "inbox");
    assert_eq!(
        registered[0]
            .headers
            .get("authorization")
            .map(String::as_str),
        Some(format!("Bot {DISCORD_BOT_TOKEN}").as_str())
    );
    w.take_discord("/api/v10/gateway").await;
    w.take_discord("/api/v10/gateway/bot").await;
    (gw, tx)
}

async fn new_comment(w: &World) {
    let (s, _) = w
        .meta_webhook(&comment_webhook(
            "901_1",
            "1234567890321_9",
            "5550001",
            "Jane",
            "Is the oat latte vegan?",
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    w.settle().await;
}

fn custom_ids(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for row in body["components"].as_array().into_iter().flatten() {
        for c in row["components"].as_array().into_iter().flatten() {
            if let Some(id) = c["custom_id"].as_str() {
                out.push(id.to_string());
            }
        }
    }
    out
}

/// The card message id the fake handed out for the first post.
const CARD: &str = "1000000000000200001";

#[tokio::test]
async fn a_new_comment_becomes_a_card_with_its_thread() {
    let w = discord_world(|_| {}).await;
    w.discord_ok("").await;
    new_comment(&w).await;
    let posts = w
        .take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages"))
        .await;
    assert_eq!(posts.len(), 1);
    let card = &posts[0].body;
    assert_eq!(
        card["embeds"][0]["title"],
        "Facebook comment on Acme Coffee"
    );
    assert!(
        card["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .contains("Is the oat latte vegan?")
    );
    assert_eq!(card["allowed_mentions"]["parse"], json!([]));
    let ids = custom_ids(card);
    for id in [
        "sb1:close:1",
        "sb1:assign_me:1",
        "sb1:reply:1",
        "sb1:hide:1",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
    assert_eq!(
        posts[0].headers.get("authorization").map(String::as_str),
        Some(format!("Bot {DISCORD_BOT_TOKEN}").as_str())
    );
    let threads = w
        .take_discord(&format!(
            "/api/v10/channels/{DCHANNEL}/messages/{CARD}/threads"
        ))
        .await;
    assert_eq!(threads.len(), 1);
    assert!(
        threads[0].body["name"]
            .as_str()
            .unwrap()
            .starts_with("#1 Facebook comment")
    );
    // A redelivered webhook makes no second card.
    new_comment(&w).await;
    assert!(
        w.take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages"))
            .await
            .is_empty()
    );
    w.finish().await;
}

#[tokio::test]
async fn a_forum_post_per_ticket_with_status_tags() {
    let w = discord_world(|c| c.meta.pages[0].discord_channel = Some(FORUM.into())).await;
    w.discord_ok("").await;
    new_comment(&w).await;
    let posts = w
        .take_discord(&format!("/api/v10/channels/{FORUM}/threads"))
        .await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].body["applied_tags"], json!([TAG_UNREAD]));
    assert_eq!(
        posts[0].body["message"]["embeds"][0]["title"],
        "Facebook comment on Acme Coffee"
    );
    let thread = CARD; // the fake's first id is the post (and its starter message)
    // The card is the post's starter message: a click on it comes from the post's channel.
    let on_post = button_interaction("7001", "sb1:close:1", MOD, &[MOD_ROLE], thread, thread);
    let answer = interact(&w, &on_post).await;
    assert_eq!(answer, json!({"type": 6}));
    w.settle().await;
    let edits = w
        .take_discord(&format!("/api/v10/channels/{thread}/messages/{thread}"))
        .await;
    assert_eq!(edits.len(), 1);
    assert!(
        edits[0].body["embeds"][0]["fields"][0]["value"]
            .as_str()
            .unwrap()
            .contains("Closed")
    );
    let tags = w.take_discord(&format!("/api/v10/channels/{thread}")).await;
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].body["applied_tags"], json!([TAG_CLOSED]));
    w.finish().await;
}

/// Forum posts take no nonce: when Discord creates the post but the answer is lost (here a
/// 500 after creating it), the retry finds the post among the server's active threads by
/// its "#<ticket>" name instead of creating a second one.
#[tokio::test]
async fn a_forum_post_whose_answer_was_lost_is_found_not_doubled() {
    let w = discord_world(|c| c.meta.pages[0].discord_channel = Some(FORUM.into())).await;
    w.discord_ok_losing_forum_answers("", 1).await;
    new_comment(&w).await;
    let posts = w
        .take_discord(&format!("/api/v10/channels/{FORUM}/threads"))
        .await;
    assert_eq!(posts.len(), 1, "exactly one forum post");
    assert!(
        posts[0].body["name"].as_str().unwrap().starts_with("#1 "),
        "{}",
        posts[0].body
    );
    let looked = w
        .take_discord(&format!("/api/v10/guilds/{GUILD}/threads/active"))
        .await;
    assert_eq!(looked.len(), 1, "the retry looked for it first");
    let card = w.store.card_of(TicketId(1)).await.unwrap().expect("card");
    assert_eq!((card.channel.as_str(), card.message.as_str()), (CARD, CARD));
    // The card works as usual afterwards: a close edits the post found.
    // A click on the post comes from the post's own channel.
    let on_post = button_interaction("7011", "sb1:close:1", MOD, &[MOD_ROLE], CARD, CARD);
    let answer = interact(&w, &on_post).await;
    assert_eq!(answer, json!({"type": 6}));
    w.settle().await;
    assert_eq!(
        w.take_discord(&format!("/api/v10/channels/{CARD}/messages/{CARD}"))
            .await
            .len(),
        1
    );
    w.take_discord(&format!("/api/v10/channels/{CARD}")).await;
    w.finish().await;
}

/// A create that failed before Discord made anything: the retry looks, finds nothing, and
/// creates the post.
#[tokio::test]
async fn a_forum_post_that_failed_before_creation_is_created_on_retry() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let w = discord_world(|c| c.meta.pages[0].discord_channel = Some(FORUM.into())).await;
    w.discord_ok("").await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/channels/{FORUM}/threads")))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.discord)
        .await;
    new_comment(&w).await;
    let posts = w
        .take_discord(&format!("/api/v10/channels/{FORUM}/threads"))
        .await;
    assert_eq!(posts.len(), 2, "refused, then created");
    assert_eq!(
        w.take_discord(&format!("/api/v10/guilds/{GUILD}/threads/active"))
            .await
            .len(),
        1
    );
    assert!(w.store.card_of(TicketId(1)).await.unwrap().is_some());
    w.finish().await;
}

#[tokio::test]
async fn the_gateway_carries_clicks_and_thread_replies() {
    let w = discord_world(|_| {}).await;
    w.graph_ok().await;
    let (gw, stop) = connect(&w).await;
    new_comment(&w).await;
    w.take_discord_matching(&format!("^/api/v10/channels/{DCHANNEL}/messages"))
        .await;

    // A click (INTERACTION_CREATE) → the callback, then the card is edited.
    gw.dispatch(
        "INTERACTION_CREATE",
        button_interaction("8001", "sb1:close:1", MOD, &[MOD_ROLE], DCHANNEL, CARD),
    );
    w.wait_discord("/callback$").await;
    let callback = w
        .take_discord("/api/v10/interactions/8001/token-8001/callback")
        .await;
    assert_eq!(callback.len(), 1);
    assert_eq!(callback[0].body, json!({"type": 6}));
    w.wait_inbox(2).await;
    w.settle().await;
    let edits = w
        .take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages/{CARD}"))
        .await;
    assert_eq!(edits.len(), 1);
    assert!(
        edits[0].body["embeds"][0]["fields"][0]["value"]
            .as_str()
            .unwrap()
            .contains("Closed")
    );

    // A message in the card's thread (MESSAGE_CREATE) → a reply on Facebook.
    gw.dispatch(
        "MESSAGE_CREATE",
        message_create("9001", CARD, MOD, &[MOD_ROLE], "Yes, with oat milk it is!"),
    );
    w.wait_inbox(3).await;
    w.settle().await;
    let replies = w.take_graph("/901_1/comments").await;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].body["message"], "Yes, with oat milk it is!");
    // Delivery state on the moderator's message: queued, then delivered.
    let marks = w
        .take_discord_matching(&format!(
            "^/api/v10/channels/{CARD}/messages/9001/reactions/"
        ))
        .await;
    let paths: Vec<&str> = marks.iter().map(|m| m.path.as_str()).collect();
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with(&format!("/reactions/{}/@me", "%E2%9C%85"))),
        "{paths:?}"
    );
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with(&format!("/reactions/{}/@me", "%E2%8F%B3"))),
        "{paths:?}"
    );
    // The card shows who replied.
    let edits = w
        .take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages/{CARD}"))
        .await;
    let status = edits.last().expect("the card was edited").body["embeds"][0]["fields"][0]["value"]
        .to_string();
    assert!(status.contains(&format!("<@{MOD}>")), "{status}");
    // The bot's own messages are ignored: after a bot message and a teammate's note, only
    // the note is in the inbox.
    let mut own = message_create("9002", CARD, "1000000000000000999", &[], "echo");
    own["author"]["bot"] = json!(true);
    gw.dispatch("MESSAGE_CREATE", own);
    gw.dispatch(
        "MESSAGE_CREATE",
        message_create("9003", CARD, MOD, &[MOD_ROLE], "note: she is a regular"),
    );
    w.wait_inbox(4).await;
    w.settle().await;
    assert_eq!(w.store.count_inbox().await.unwrap(), 4);
    w.take_discord_matching(&format!("^/api/v10/channels/{DCHANNEL}/messages/"))
        .await;
    let _ = stop.send(true);
    w.finish().await;
}

#[tokio::test]
async fn a_thread_reply_from_a_member_without_the_role_is_refused() {
    let w = discord_world(|c| {
        if let Some(d) = c.discord.as_mut() {
            d.permissions.reply = vec![MOD_ROLE.into()];
        }
    })
    .await;
    let (gw, stop) = connect(&w).await;
    new_comment(&w).await;
    w.take_discord_matching(&format!("^/api/v10/channels/{DCHANNEL}/messages"))
        .await;
    gw.dispatch(
        "MESSAGE_CREATE",
        message_create("9101", CARD, "111111111111111111", &["42"], "sure!"),
    );
    w.wait_inbox(2).await;
    w.settle().await;
    // Nothing goes to Facebook; the author is told in the thread, pinged alone.
    let told = w
        .take_discord(&format!("/api/v10/channels/{CARD}/messages"))
        .await;
    assert_eq!(told.len(), 1);
    assert!(
        told[0].body["content"]
            .as_str()
            .unwrap()
            .contains("not allowed to reply"),
        "{}",
        told[0].body
    );
    assert_eq!(
        told[0].body["allowed_mentions"]["users"],
        json!(["111111111111111111"])
    );
    assert_eq!(told[0].body["message_reference"]["message_id"], "9101");
    let _ = stop.send(true);
    w.finish().await;
}

#[tokio::test]
async fn a_refused_click_is_ephemeral_and_changes_nothing() {
    let w = discord_world(|c| {
        if let Some(d) = c.discord.as_mut() {
            d.permissions.close = vec![MOD_ROLE.into()];
        }
    })
    .await;
    w.discord_ok("").await;
    new_comment(&w).await;
    w.take_discord_matching("^/api/v10/channels/").await;
    let rows = w.store.count_inbox().await.unwrap();
    let answer = interact(&w, &click("7101", "sb1:close:1", "222", &["5"])).await;
    assert_eq!(answer["type"], 4);
    assert_eq!(answer["data"]["flags"], 64);
    assert!(
        answer["data"]["content"]
            .as_str()
            .unwrap()
            .contains("not allowed to close"),
        "{answer}"
    );
    assert_eq!(w.store.count_inbox().await.unwrap(), rows, "nothing stored");
    w.settle().await;
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_eq!(t.state.status, Status::Unread);
    // With the role it works.
    assert_eq!(
        interact(&w, &click("7102", "sb1:close:1", MOD, &[MOD_ROLE])).await,
        json!({"type": 6})
    );
    w.settle().await;
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_eq!(t.state.status, Status::Closed);
    w.take_discord_matching("^/api/v10/channels/").await;
    w.finish().await;
}

fn command(id: &str, kind: u8, options: Value) -> Value {
    json!({
        "id": id, "application_id": APP_ID, "type": kind, "token": format!("token-{id}"),
        "version": 1, "guild_id": GUILD, "channel_id": DCHANNEL,
        "member": member(MOD, &[MOD_ROLE]),
        "data": {"id": "1000000000000000500", "name": "inbox", "type": 1, "options": options}
    })
}

#[tokio::test]
async fn slash_commands_with_autocomplete_and_modals() {
    let w = discord_world(|_| {}).await;
    w.discord_ok("").await;
    let now = chrono::Utc::now();
    let id = w
        .store
        .create_saved_reply("Opening hours", "We open at 8, {author_name}!", "cli", now)
        .await
        .unwrap()
        .unwrap();
    w.store
        .create_saved_reply("Refunds", "Refunds take 5 days.", "cli", now)
        .await
        .unwrap()
        .unwrap();

    // Typing "open" offers the matching reply, valued by its id.
    let typed = command(
        "6001",
        4,
        json!([{"type": 2, "name": "saved", "options": [{"type": 1, "name": "find",
            "options": [{"type": 3, "name": "name", "value": "open", "focused": true}]}]}]),
    );
    let answer = interact(&w, &typed).await;
    assert_eq!(
        answer,
        json!({"type": 8, "data": {"choices": [{"name": "Opening hours", "value": id.0.to_string()}]}})
    );
    // Choosing it shows the text, ephemerally.
    let chosen = command(
        "6002",
        2,
        json!([{"type": 2, "name": "saved", "options": [{"type": 1, "name": "find",
            "options": [{"type": 3, "name": "name", "value": id.0.to_string()}]}]}]),
    );
    let answer = interact(&w, &chosen).await;
    assert_eq!(answer["data"]["flags"], 64);
    assert!(
        answer["data"]["content"]
            .as_str()
            .unwrap()
            .contains("We open at 8"),
        "{answer}"
    );
    // `saved new` opens the editor; submitting it creates the reply.
    let answer = interact(
        &w,
        &command(
            "6003",
            2,
            json!([{"type": 2, "name": "saved", "options": [{"type": 1, "name": "new"}]}]),
        ),
    )
    .await;
    assert_eq!(answer["type"], 9);
    let modal_id = answer["data"]["custom_id"].as_str().unwrap().to_string();
    let submit = json!({
        "id": "6004", "application_id": APP_ID, "type": 5, "token": "t6004", "version": 1,
        "guild_id": GUILD, "channel_id": DCHANNEL, "member": member(MOD, &[MOD_ROLE]),
        "data": {"custom_id": modal_id, "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "name", "value": "Thanks"}]},
            {"type": 1, "components": [{"type": 4, "custom_id": "body", "value": "Thank you!"}]}]}
    });
    let answer = interact(&w, &submit).await;
    assert!(
        answer["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Created saved reply"),
        "{answer}"
    );
    assert_eq!(w.store.saved_replies().await.unwrap().len(), 3);

    // Queue listing and a bulk action with the Slack filters; the result is a follow-up.
    new_comment(&w).await;
    w.take_discord_matching("^/api/v10/channels/").await;
    let answer = interact(
        &w,
        &command(
            "6005",
            2,
            json!([{"type": 1, "name": "queue", "options": [{"type": 3, "name": "name", "value": "unassigned"}]}]),
        ),
    )
    .await;
    let listing = answer["data"]["content"].as_str().unwrap();
    assert!(
        listing.contains(&format!(
            "https://discord.com/channels/{GUILD}/{DCHANNEL}/{CARD}"
        )),
        "{listing}"
    );
    let answer = interact(
        &w,
        &command(
            "6006",
            2,
            json!([{"type": 1, "name": "bulk", "options": [
                {"type": 3, "name": "action", "value": "close"},
                {"type": 3, "name": "filter", "value": "status:unread network:facebook"}]}]),
        ),
    )
    .await;
    assert_eq!(answer["data"]["flags"], 64);
    w.settle().await;
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_eq!(t.state.status, Status::Closed);
    let followups = w
        .take_discord(&format!("/api/v10/webhooks/{APP_ID}/token-6006"))
        .await;
    assert_eq!(followups.len(), 1);
    assert_eq!(followups[0].body["flags"], 64);
    w.take_discord_matching("^/api/v10/channels/").await;
    w.finish().await;
}

#[tokio::test]
async fn a_discord_429_is_retried_after_retry_after_and_delivered_once() {
    let w = discord_world(|_| {}).await;
    w.discord_ok("").await;
    w.discord_rate_limits(DCHANNEL, 1, 1.2).await;
    let started = Instant::now();
    new_comment(&w).await;
    let elapsed = started.elapsed();
    let posts = w
        .take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages"))
        .await;
    assert_eq!(posts.len(), 2, "one 429, one success");
    assert!(
        elapsed >= Duration::from_millis(1200),
        "retried after {elapsed:?}, before retry_after"
    );
    assert_eq!(
        w.take_discord_matching("/threads$").await.len(),
        1,
        "one card, one thread"
    );
    assert!(w.store.card_of(TicketId(1)).await.unwrap().is_some());
    w.finish().await;
}

#[tokio::test]
async fn pings_are_answered_and_bad_signatures_refused() {
    let w = discord_world(|_| {}).await;
    let now = chrono::Utc::now().timestamp();
    let ping = json!({"type": 1, "id": "1", "application_id": APP_ID, "token": "t", "version": 1});
    let (s, body) = post(&w, &ping, Some(&key()), now).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, r#"{"type":1}"#));
    // Discord's routine security checks send invalid signatures: they must get 401.
    let other = SigningKey::from_bytes(&[7u8; 32]);
    assert_eq!(
        post(&w, &ping, Some(&other), now).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(post(&w, &ping, None, now).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        post(&w, &ping, Some(&key()), now - 3600).await.0,
        StatusCode::UNAUTHORIZED,
        "stale"
    );
    // Another server's interaction is answered, but nothing is done.
    let mut foreign = click("7201", "sb1:close:1", MOD, &[MOD_ROLE]);
    foreign["guild_id"] = json!("1");
    let answer = interact(&w, &foreign).await;
    assert!(
        answer["data"]["content"]
            .as_str()
            .unwrap()
            .contains("not set up for this server")
    );
    assert_eq!(w.store.count_inbox().await.unwrap(), 0);
    w.finish().await;
}

#[tokio::test]
async fn without_a_public_key_every_request_is_refused() {
    let w = World::new().await;
    let ping = json!({"type": 1, "id": "1", "application_id": "1", "token": "t", "version": 1});
    let (s, body) = post(&w, &ping, Some(&key()), chrono::Utc::now().timestamp()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(body.contains("not configured"), "{body}");
    w.finish().await;
}

fn component(id: &str, custom_id: &str, component_type: u8, values: &[&str]) -> Value {
    let mut v = click(id, custom_id, MOD, &[MOD_ROLE]);
    v["data"] = json!({"custom_id": custom_id, "component_type": component_type, "values": values});
    v
}

fn modal_submit(id: &str, custom_id: &str, input: &str, value: &str) -> Value {
    json!({
        "id": id, "application_id": APP_ID, "type": 5, "token": format!("token-{id}"), "version": 1,
        "guild_id": GUILD, "channel_id": DCHANNEL, "member": member(MOD, &[MOD_ROLE]),
        "message": {"id": CARD, "channel_id": DCHANNEL},
        "data": {"custom_id": custom_id, "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": input, "value": value}]}]}
    })
}

#[tokio::test]
async fn reply_and_tags_modals_assignment_dms_and_a_confirmed_delete() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let w = discord_world(|_| {}).await;
    w.discord_ok("").await;
    w.graph_ok().await;
    Mock::given(method("DELETE"))
        .and(path("/901_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&w.graph)
        .await;
    new_comment(&w).await;
    w.take_discord_matching("^/api/v10/channels/").await;

    // Reply → the editor (a modal); sending it replies on Facebook and copies it in the thread.
    let answer = interact(&w, &click("7401", "sb1:reply:1", MOD, &[MOD_ROLE])).await;
    assert_eq!(answer["type"], 9);
    assert_eq!(answer["data"]["custom_id"], "sb1:reply_modal:1");
    let answer = interact(
        &w,
        &modal_submit("7402", "sb1:reply_modal:1", "text", "Yes it is!"),
    )
    .await;
    assert_eq!(answer, json!({"type": 6}));
    w.settle().await;
    let replies = w.take_graph("/901_1/comments").await;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].body["message"], "Yes it is!");
    let copies = w
        .take_discord(&format!("/api/v10/channels/{CARD}/messages"))
        .await;
    assert_eq!(copies.len(), 1);
    assert_eq!(
        copies[0].body["content"],
        format!("<@{MOD}> replied: Yes it is!")
    );
    // A too-long reply (Facebook comments take 8,000 characters) is refused ephemerally and
    // nothing is stored.
    let rows = w.store.count_inbox().await.unwrap();
    let long = "x".repeat(8001);
    let answer = interact(
        &w,
        &modal_submit("7403", "sb1:reply_modal:1", "text", &long),
    )
    .await;
    assert_eq!(answer["data"]["flags"], 64);
    assert!(
        answer["data"]["content"]
            .as_str()
            .unwrap()
            .contains("at most 8,000 characters"),
        "{answer}"
    );
    assert_eq!(w.store.count_inbox().await.unwrap(), rows);

    // Tags: the editor is pre-filled; what is submitted is on the card.
    let answer = interact(&w, &click("7404", "sb1:tags:1", MOD, &[MOD_ROLE])).await;
    assert_eq!(answer["data"]["custom_id"], "sb1:tags_modal:1");
    interact(
        &w,
        &modal_submit("7405", "sb1:tags_modal:1", "tags", "vegan, menu"),
    )
    .await;
    w.settle().await;
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_eq!(t.state.tags, vec!["menu".to_string(), "vegan".to_string()]);
    // Once tags exist, "Tags" offers them in a select (current ones pre-selected).
    let answer = interact(&w, &click("7409", "sb1:tags:1", MOD, &[MOD_ROLE])).await;
    let select = &answer["data"]["components"][0]["components"][0];
    assert_eq!(select["custom_id"], "sb1tag:set:1");
    assert_eq!(
        select["options"],
        json!([{"label": "menu", "value": "menu", "default": true},
               {"label": "vegan", "value": "vegan", "default": true}])
    );
    interact(&w, &component("7410", "sb1tag:set:1", 3, &["vegan"])).await;
    w.settle().await;
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_eq!(t.state.tags, vec!["vegan".to_string()]);

    // Assigning a member sends them a DM linking to the card.
    let answer = interact(
        &w,
        &component("7406", "sb1:assign:1", 5, &["333333333333333333"]),
    )
    .await;
    assert_eq!(answer, json!({"type": 6}));
    w.settle().await;
    let dm = w.take_discord("/api/v10/users/@me/channels").await;
    assert_eq!(dm.len(), 1);
    assert_eq!(dm[0].body["recipient_id"], "333333333333333333");
    let sent = w
        .take_discord("/api/v10/channels/1000000000000000777/messages")
        .await;
    assert_eq!(sent.len(), 1);
    let text = sent[0].body["content"].as_str().unwrap();
    assert!(
        text.contains(&format!(
            "[Facebook comment on Acme Coffee](https://discord.com/channels/{GUILD}/{DCHANNEL}/{CARD})"
        )),
        "{text}"
    );

    // Delete asks first (Discord has no confirm dialog); only the confirmed click deletes.
    let answer = interact(&w, &click("7407", "sb1:delete:1", MOD, &[MOD_ROLE])).await;
    assert_eq!(answer["data"]["flags"], 64);
    assert_eq!(
        answer["data"]["components"][0]["components"][0]["custom_id"],
        "sb1:delete:1|confirmed"
    );
    w.settle().await;
    assert!(w.take_graph("/901_1").await.is_empty(), "not yet");
    interact(
        &w,
        &click("7408", "sb1:delete:1|confirmed", MOD, &[MOD_ROLE]),
    )
    .await;
    w.settle().await;
    assert_eq!(w.take_graph("/901_1").await.len(), 1);
    // The card followed every change.
    assert!(
        !w.take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages/{CARD}"))
            .await
            .is_empty()
    );
    w.take_discord_matching("/reactions/").await;
    w.finish().await;
}

#[tokio::test]
async fn slack_and_discord_together_each_get_their_tickets() {
    let w = World::with(|c| {
        c.discord = Some(discord_config());
        // Comments mentioning "discord" go to the Discord server; the rest stay in Slack.
        c.routing = vec![switchboard::config::RoutingRule {
            name: None,
            network: None,
            kind: None,
            keyword: Some("discord".into()),
            slack_channel: None,
            discord_channel: Some(DCHANNEL.into()),
            reply_as: Default::default(),
        }];
    })
    .await;
    assert!(
        w.svc.config.validate().is_empty(),
        "{:?}",
        w.svc.config.validate()
    );
    w.slack_ok().await;
    w.discord_ok("").await;
    w.meta_webhook(&comment_webhook(
        "901_1",
        "1234567890321_9",
        "5550001",
        "Jane",
        "hello",
    ))
    .await;
    w.meta_webhook(&comment_webhook(
        "901_2",
        "1234567890321_9",
        "5550002",
        "Joe",
        "saw you on Discord",
    ))
    .await;
    w.settle().await;
    let slack_cards = w.take_slack("/chat.postMessage").await;
    assert_eq!(slack_cards.len(), 1);
    assert!(slack_cards[0].body.to_string().contains("hello"));
    let discord_cards = w
        .take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages"))
        .await;
    assert_eq!(discord_cards.len(), 1);
    assert!(
        discord_cards[0]
            .body
            .to_string()
            .contains("saw you on Discord")
    );
    w.take_discord_matching("/threads$").await;
    w.finish().await;
}

#[tokio::test]
async fn channel_and_team_notices_and_the_undo_window() {
    let w = discord_world(|c| {
        if let Some(d) = c.discord.as_mut() {
            d.undo_seconds = 3;
            d.teams = vec![switchboard::config::DiscordTeamConfig {
                name: "support".into(),
                role: "777000000000000000".into(),
                members: vec![],
            }];
        }
    })
    .await;
    w.graph_ok().await;
    let (gw, stop) = connect(&w).await;
    // At start-up the team's role was checked: not mentionable, and the bot has no Mention
    // Everyone, so a warning says the team notices will not ping.
    w.wait_discord(&format!("^/api/v10/guilds/{GUILD}/members/"))
        .await;
    let warnings = switchboard::server::gateway::check_team_roles(&w.svc).await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(TEAM_ROLE) && warnings[0].contains("Mention Everyone"),
        "{warnings:?}"
    );
    // The bot's own id is asked once and remembered.
    assert_eq!(w.take_discord("/api/v10/users/@me").await.len(), 1);
    assert_eq!(
        w.take_discord(&format!("/api/v10/guilds/{GUILD}/roles"))
            .await
            .len(),
        2
    );
    assert_eq!(
        w.take_discord(&format!("/api/v10/guilds/{GUILD}/members/{BOT_USER}"))
            .await
            .len(),
        2
    );
    new_comment(&w).await;
    w.take_discord_matching(&format!("^/api/v10/channels/{DCHANNEL}/messages"))
        .await;

    // The customer writes again on an unassigned ticket: in the thread, and a notice in the
    // channel (Slack's "also send to channel"), customer words escaped.
    w.meta_webhook(&comment_webhook(
        "901_3",
        "1234567890321_9",
        "5550001",
        "Jane",
        "**hello?** @everyone",
    ))
    .await;
    w.settle().await;
    let in_thread = w
        .take_discord(&format!("/api/v10/channels/{CARD}/messages"))
        .await;
    assert_eq!(in_thread.len(), 1);
    let notice = w
        .take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages"))
        .await;
    assert_eq!(notice.len(), 1);
    let text = notice[0].body["content"].as_str().unwrap();
    assert!(text.contains(r"\*\*hello?\*\* \@everyone"), "{text}");
    assert_eq!(notice[0].body["allowed_mentions"]["parse"], json!([]));

    // Assigned to a team: the role is mentioned (and pinged) in the thread.
    interact(&w, &component("7501", "sb1:assign_team:1", 3, &["support"])).await;
    w.settle().await;
    let told = w
        .take_discord(&format!("/api/v10/channels/{CARD}/messages"))
        .await;
    assert_eq!(told.len(), 1);
    assert!(
        told[0].body["content"]
            .as_str()
            .unwrap()
            .contains("<@&777000000000000000>")
    );
    assert_eq!(
        told[0].body["allowed_mentions"]["roles"],
        json!(["777000000000000000"])
    );
    assert_eq!(told[0].body["allowed_mentions"]["parse"], json!([]));

    // The customer writes again on the team's ticket: the notice pings the role, and only it.
    w.meta_webhook(&comment_webhook(
        "901_4",
        "1234567890321_9",
        "5550001",
        "Jane",
        "still there? @everyone",
    ))
    .await;
    w.settle().await;
    let in_thread = w
        .take_discord(&format!("/api/v10/channels/{CARD}/messages"))
        .await;
    assert_eq!(in_thread.len(), 2, "the message, then the team notice");
    let notice = &in_thread[1].body;
    assert!(
        notice["content"]
            .as_str()
            .unwrap()
            .starts_with("<@&777000000000000000>"),
        "{notice}"
    );
    assert_eq!(
        notice["allowed_mentions"],
        json!({"parse": [], "roles": ["777000000000000000"], "users": []})
    );

    // A reply deleted within the undo window is never sent.
    gw.dispatch(
        "MESSAGE_CREATE",
        message_create("9201", CARD, MOD, &[MOD_ROLE], "oops, wrong ticket"),
    );
    w.wait_inbox(5).await;
    gw.dispatch(
        "MESSAGE_DELETE",
        json!({"id": "9201", "channel_id": CARD, "guild_id": GUILD}),
    );
    w.wait_inbox(6).await;
    w.settle().await;
    assert!(w.take_graph("/901_4/comments").await.is_empty());
    assert!(w.take_graph("/901_3/comments").await.is_empty());
    assert!(w.take_graph("/901_1/comments").await.is_empty());
    let marks = w
        .take_discord_matching(&format!(
            "^/api/v10/channels/{CARD}/messages/9201/reactions/"
        ))
        .await;
    assert_eq!(marks.len(), 2, "queued, then taken away");
    w.take_discord_matching(&format!("^/api/v10/channels/{DCHANNEL}/messages/"))
        .await;
    let _ = stop.send(true);
    w.finish().await;
}

#[tokio::test]
async fn an_archived_thread_is_unarchived_and_the_edit_retried() {
    let w = discord_world(|_| {}).await;
    w.discord_ok("").await;
    new_comment(&w).await;
    let card = w
        .take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages"))
        .await;
    assert_eq!(
        card[0].body["nonce"], "sbcard1",
        "a retried post cannot double"
    );
    assert_eq!(card[0].body["enforce_nonce"], true);
    w.meta_webhook(&comment_webhook(
        "901_3",
        "1234567890321_9",
        "5550001",
        "Jane",
        "hello?",
    ))
    .await;
    w.settle().await;
    let mirrored = w
        .take_discord(&format!("/api/v10/channels/{CARD}/messages"))
        .await;
    assert_eq!(mirrored.len(), 1);
    w.take_discord_matching("^/api/v10/channels/").await;
    // Discord archived the idle thread: the first edit is refused.
    let thread_message = "1000000000000200002";
    refuse_first_edit_as_archived(
        &w,
        &format!("/api/v10/channels/{CARD}/messages/{thread_message}"),
    )
    .await;
    let edited = comment_webhook("901_3", "1234567890321_9", "5550001", "Jane", "hello??")
        .replace("\"verb\":\"add\"", "\"verb\":\"edited\"");
    assert!(edited.contains("edited"));
    w.meta_webhook(&edited).await;
    w.settle().await;
    let unarchived = w.take_discord(&format!("/api/v10/channels/{CARD}")).await;
    assert_eq!(unarchived.len(), 1);
    assert_eq!(unarchived[0].body, json!({"archived": false}));
    let edits = w
        .take_discord(&format!(
            "/api/v10/channels/{CARD}/messages/{thread_message}"
        ))
        .await;
    assert_eq!(edits.len(), 2, "refused, then done");
    assert!(
        edits[1].body["content"]
            .as_str()
            .unwrap()
            .contains("hello??")
    );
    w.take_discord_matching("^/api/v10/channels/").await;
    w.finish().await;
}

/// The Discord side of the outside tester's report: every message customer words reach (the
/// card, its thread, the member's DM, the channel and team notices, the queue listing, a saved
/// reply looked up) shows the whole hostile corpus as written, nothing in it is live, and
/// nothing pings but the ids a message names.
#[tokio::test]
async fn customer_markup_is_never_live_in_any_discord_message() {
    use support::hostile::{CORPUS, discord_live, discord_shows};
    const MEMBER: &str = "333333333333333333";
    const DM: &str = "1000000000000000777";
    const ROLE: &str = "777000000000000000";
    let name = CORPUS[0];
    let said = CORPUS.join(" ");
    let w = discord_world(|c| {
        if let Some(d) = c.discord.as_mut() {
            d.teams = vec![switchboard::config::DiscordTeamConfig {
                name: "support".into(),
                role: ROLE.into(),
                members: vec![],
            }];
        }
    })
    .await;
    w.discord_ok("").await;
    let card_link = format!(
        "[Facebook comment on Acme Coffee](https://discord.com/channels/{GUILD}/{DCHANNEL}/{CARD})"
    );
    let role = format!("<@&{ROLE}>");
    let moderator = format!("<@{MOD}>");
    let member = format!("<@{MEMBER}>");
    let ours = [
        card_link.as_str(),
        role.as_str(),
        moderator.as_str(),
        member.as_str(),
    ];
    let pings = [ROLE, MOD];
    // Every message body sent (posts and edits; not thread starts or reactions).
    let messages = |seen: Vec<Seen>| -> Vec<Value> {
        seen.into_iter()
            .filter(|s| s.path.ends_with("/messages") || s.body.get("embeds").is_some())
            .map(|s| s.body)
            .collect()
    };
    let inert = |what: &str, bodies: &[Value]| {
        assert!(!bodies.is_empty(), "{what}: nothing sent");
        for b in bodies {
            let live = discord_live(b, &ours, &pings);
            assert!(live.is_empty(), "{what}: {live:#?}");
        }
    };
    let shows_all = |what: &str, body: &Value| {
        for h in CORPUS {
            assert!(discord_shows(body, h), "{what} does not show {h:?}: {body}");
        }
    };
    let comment = |n: u32| {
        comment_webhook(
            &format!("901_{n}"),
            "1234567890321_9",
            "5550001",
            name,
            &said,
        )
    };

    // A new ticket: its card (and the thread started from it).
    w.meta_webhook(&comment(1)).await;
    w.settle().await;
    let card = messages(w.take_discord_matching("^/api/v10/channels/").await);
    assert_eq!(card.len(), 1);
    inert("card", &card);
    shows_all("card", &card[0]);

    // The unassigned queue lists it under the customer's name.
    let queue = command(
        "6101",
        2,
        json!([{"type": 1, "name": "queue", "options": [{"type": 3, "name": "name", "value": "unassigned"}]}]),
    );
    let listing = interact(&w, &queue).await;
    inert("queue listing", std::slice::from_ref(&listing));
    assert!(discord_shows(&listing, name), "{listing}");

    // Assigned to a member: their DM; the card.
    interact(&w, &component("6102", "sb1:assign:1", 5, &[MEMBER])).await;
    w.settle().await;
    w.take_discord("/api/v10/users/@me/channels").await;
    inert(
        "assignment DM",
        &messages(
            w.take_discord(&format!("/api/v10/channels/{DM}/messages"))
                .await,
        ),
    );
    inert(
        "card update",
        &messages(w.take_discord_matching("^/api/v10/channels/").await),
    );

    // The customer writes again: the thread, and the member's DM.
    w.meta_webhook(&comment(2)).await;
    w.settle().await;
    let thread = messages(
        w.take_discord(&format!("/api/v10/channels/{CARD}/messages"))
            .await,
    );
    let dm = messages(
        w.take_discord(&format!("/api/v10/channels/{DM}/messages"))
            .await,
    );
    w.take_discord("/api/v10/users/@me/channels").await;
    inert("thread message", &thread);
    inert("DM", &dm);
    shows_all("thread message", &thread[0]);
    shows_all("DM", &dm[0]);
    inert(
        "card update",
        &messages(w.take_discord_matching("^/api/v10/channels/").await),
    );

    // Assigned to a team: the customer's next words are a notice pinging the role only.
    interact(&w, &component("6103", "sb1:assign_team:1", 3, &["support"])).await;
    w.settle().await;
    inert(
        "team assignment",
        &messages(w.take_discord_matching("^/api/v10/channels/").await),
    );
    w.meta_webhook(&comment(3)).await;
    w.settle().await;
    let thread = messages(
        w.take_discord(&format!("/api/v10/channels/{CARD}/messages"))
            .await,
    );
    assert_eq!(thread.len(), 2, "the thread message and the team notice");
    inert("thread message and team notice", &thread);
    let notice = &thread[1];
    assert!(notice["content"].as_str().unwrap().starts_with(&role));
    assert_eq!(notice["allowed_mentions"]["roles"], json!([ROLE]));
    shows_all("team notice", notice);
    inert(
        "card update",
        &messages(w.take_discord_matching("^/api/v10/channels/").await),
    );

    // Saved replies are teammates' words for everyone: looked up, they are shown as written.
    let id = w
        .store
        .create_saved_reply(name, &said, "discord:1", chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    let find = |value: &str| {
        command(
            "6104",
            2,
            json!([{"type": 2, "name": "saved", "options": [{"type": 1, "name": "find",
                "options": [{"type": 3, "name": "name", "value": value}]}]}]),
        )
    };
    let shown = interact(&w, &find(&id.0.to_string())).await;
    inert("saved reply shown", std::slice::from_ref(&shown));
    shows_all("saved reply shown", &shown);
    let listed = interact(&w, &find("channel")).await;
    inert("saved replies found", std::slice::from_ref(&listed));
    assert!(discord_shows(&listed, name), "{listed}");
    w.finish().await;
}

/// A forum card that gave up (Discord refused the post for good) is posted once the forum
/// works again: the next ticket's post there re-queues it, and the notice goes in the new
/// post (a forum takes posts, not messages).
#[tokio::test]
async fn a_forum_card_that_gave_up_is_posted_when_the_forum_works() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let w = discord_world(|c| c.meta.pages[0].discord_channel = Some(FORUM.into())).await;
    w.discord_ok("").await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v10/channels/{FORUM}/threads")))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "Missing Access", "code": 50001})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.discord)
        .await;
    new_comment(&w).await;
    assert!(w.store.card_of(TicketId(1)).await.unwrap().is_none());
    assert_eq!(
        w.store
            .count_jobs(switchboard::store::JobStatus::Failed)
            .await
            .unwrap(),
        1
    );
    let (s, _) = w
        .meta_webhook(&comment_webhook(
            "901_2",
            "1234567890321_9",
            "5550002",
            "Omar",
            "Do you deliver?",
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    w.settle().await;
    assert!(
        w.store.card_of(TicketId(1)).await.unwrap().is_some(),
        "card 1 posted after all"
    );
    assert!(w.store.card_of(TicketId(2)).await.unwrap().is_some());
    let posts = w
        .take_discord(&format!("/api/v10/channels/{FORUM}/threads"))
        .await;
    let names: Vec<&str> = posts
        .iter()
        .filter_map(|p| p.body["name"].as_str())
        .collect();
    assert_eq!(
        names.len(),
        3,
        "refused, ticket 2, ticket 1 again: {names:?}"
    );
    assert!(
        names[1].starts_with("#2 ") && names[2].starts_with("#1 "),
        "{names:?}"
    );
    let card2 = w.store.card_of(TicketId(2)).await.unwrap().expect("card 2");
    let notice: Vec<_> = w
        .take_discord(&format!("/api/v10/channels/{}/messages", card2.channel))
        .await
        .into_iter()
        .filter(|m| {
            m.body["content"]
                .as_str()
                .is_some_and(|c| c.contains("could not be posted earlier: #1."))
        })
        .collect();
    assert_eq!(notice.len(), 1, "told once, in the new post");
}

// ---- connecting accounts from Discord ---------------------------------------------------------

const GOOGLE_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A Discord-only world whose admins are the moderators (by role); with `google`, the
/// `[google]` client points at that fake.
async fn accounts_world(google: Option<&wiremock::MockServer>) -> World {
    let base = google.map(|g| g.uri());
    let w = discord_world(|c| {
        if let Some(base) = base {
            let mut g =
                switchboard::config::GoogleConfig::new("1234-abc.apps.googleusercontent.com");
            g.client_secret = Some(secrecy::SecretString::from("GOCSPX-test".to_string()));
            g.authorize_url = format!("{base}/o/oauth2/v2/auth");
            g.token_url = format!("{base}/token");
            g.revoke_url = format!("{base}/revoke");
            g.youtube_api_url = format!("{base}/youtube/v3");
            c.google = Some(g);
        }
        c.secret_key = Some(secrecy::SecretString::from(GOOGLE_KEY.to_string()));
        c.server.public_url = Some("https://social.example.org".parse().unwrap());
        if let Some(d) = c.discord.as_mut() {
            d.permissions.admin = vec![MOD_ROLE.into()];
        }
    })
    .await;
    w.discord_ok("").await;
    w
}

/// `/inbox <sub> …` typed by `user` (with `roles`) in `channel` of the server.
fn slash(id: &str, user: &str, roles: &[&str], channel: &str, sub: Value) -> Value {
    json!({
        "id": id, "application_id": APP_ID, "type": 2, "token": format!("token-{id}"),
        "version": 1, "guild_id": GUILD, "channel_id": channel,
        "channel": {"id": channel, "type": 0, "guild_id": GUILD},
        "member": member(user, roles), "context": 0,
        "data": {"id": "1000000000000000500", "name": "inbox", "type": 1, "options": [sub]}
    })
}

/// Our wording `s` as Discord shows it (shortcodes as Unicode, bold doubled).
fn shown(s: &str) -> String {
    let answer = switchboard::chat::discord::render::ephemeral(s);
    answer["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The text of an ephemeral answer (type 4, flag 64).
fn ephemeral_content(answer: &Value) -> String {
    assert_eq!(answer["type"], 4, "{answer}");
    assert_eq!(answer["data"]["flags"], 64, "{answer}");
    answer["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

const NOBODY: &str = "53908232506183777";

/// An admin connects a YouTube channel from Discord: the link is Google's (PKCE, sealed
/// state, our client), the callback routes the account to the Discord channel and says so
/// there (the name escaped); `accounts` lists it; `disconnect` removes it. Anyone else is
/// refused, ephemerally, and nothing changes; so is an unknown id or network.
#[tokio::test]
async fn an_admin_connects_lists_and_disconnects_an_account_from_discord() {
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, ResponseTemplate};
    let google = wiremock::MockServer::start().await;
    let w = accounts_world(Some(&google)).await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ya29.connected", "expires_in": 3599, "refresh_token": "1//fresh",
            "scope": "https://www.googleapis.com/auth/youtube.force-ssl", "token_type": "Bearer"
        })))
        .mount(&google)
        .await;
    Mock::given(method("GET"))
        .and(path("/youtube/v3/channels"))
        .and(query_param("mine", "true"))
        .and(header("authorization", "Bearer ya29.connected"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "youtube#channelListResponse",
            "items": [{"kind": "youtube#channel", "id": "UC_acme", "snippet": {"title": "Acme *TV* @everyone"}}]
        })))
        .mount(&google)
        .await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&google)
        .await;
    let connect = |id: &str, user: &str, roles: &[&str], channel: &str, network: &str| {
        slash(
            id,
            user,
            roles,
            channel,
            json!({"type": 1, "name": "connect",
                   "options": [{"type": 3, "name": "network", "value": network}]}),
        )
    };

    // Not an admin; not a connectable network; not a text channel of the server: refused.
    let said =
        ephemeral_content(&interact(&w, &connect("7001", NOBODY, &[], DCHANNEL, "youtube")).await);
    assert_eq!(said, shown(switchboard::core::text::DISCORD_ADMINS_ONLY));
    let said = ephemeral_content(
        &interact(&w, &connect("7002", MOD, &[MOD_ROLE], DCHANNEL, "tiktok")).await,
    );
    assert_eq!(
        said,
        shown(&switchboard::core::text::connect_usage(&[
            switchboard::core::Network::Youtube,
            switchboard::core::Network::Google
        ]))
    );
    // Facebook Pages are set up in the configuration file, not connected from chat.
    let said = ephemeral_content(
        &interact(&w, &connect("7012", MOD, &[MOD_ROLE], DCHANNEL, "facebook")).await,
    );
    assert!(said.starts_with("Usage: `connect youtube`"), "{said}");
    let said = ephemeral_content(
        &interact(&w, &connect("7003", MOD, &[MOD_ROLE], FORUM, "youtube")).await,
    );
    assert_eq!(
        said,
        shown(switchboard::core::text::DISCORD_CONNECT_ELSEWHERE)
    );

    // The admin gets Google's authorization link.
    let said = ephemeral_content(
        &interact(&w, &connect("7004", MOD, &[MOD_ROLE], DCHANNEL, "youtube")).await,
    );
    let link = url::Url::parse(said.rsplit(' ').next().expect("a link")).expect("an URL");
    assert_eq!(link.path(), "/o/oauth2/v2/auth");
    let q: std::collections::HashMap<String, String> = link.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "1234-abc.apps.googleusercontent.com");
    assert_eq!(
        q["redirect_uri"],
        "https://social.example.org/oauth/google/callback"
    );
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(
        q["code_challenge"].len(),
        43,
        "a S256 challenge: {}",
        q["code_challenge"]
    );
    assert!(!q["state"].is_empty());
    assert!(
        w.store.accounts().await.unwrap().is_empty(),
        "nothing stored before consent"
    );

    // Consent: the account goes to the Discord channel, which is told.
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let callback = format!(
        "/oauth/google/callback?state={}&code={}",
        enc(&q["state"]),
        enc("4/good-code")
    );
    let (status, page) = w
        .send(Request::get(callback.as_str()).body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let accounts = w.store.accounts().await.unwrap();
    assert_eq!(accounts.len(), 1);
    let a = &accounts[0];
    assert_eq!(
        (a.surface, a.channel.as_str(), a.connected_by.as_deref()),
        (switchboard::core::Surface::Discord, DCHANNEL, Some(MOD))
    );
    assert_eq!(a.notice_due, None, "told at once");
    let told = w
        .take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages"))
        .await;
    assert_eq!(told.len(), 1, "{told:?}");
    let content = told[0].body["content"].as_str().unwrap_or_default();
    assert!(content.contains("YouTube channel"), "{content}");
    assert!(content.contains(r"Acme \*TV\* \@everyone"), "{content}");
    assert_eq!(told[0].body["allowed_mentions"], json!({"parse": []}));

    // `accounts`: admins only.
    let accounts_cmd = |id: &str, user: &str, roles: &[&str]| {
        slash(
            id,
            user,
            roles,
            DCHANNEL,
            json!({"type": 1, "name": "accounts"}),
        )
    };
    let said = ephemeral_content(&interact(&w, &accounts_cmd("7005", NOBODY, &[])).await);
    assert_eq!(said, shown(switchboard::core::text::DISCORD_ADMINS_ONLY));
    let listed = ephemeral_content(&interact(&w, &accounts_cmd("7006", MOD, &[MOD_ROLE])).await);
    assert!(
        listed.contains(&format!("`{}`", a.id)) && listed.contains("healthy"),
        "{listed}"
    );
    assert!(listed.contains(r"Acme \*TV\*"), "{listed}");

    // `disconnect`: an unknown id, or someone not an admin, changes nothing.
    let disconnect = |id: &str, user: &str, roles: &[&str], account: i64| {
        slash(
            id,
            user,
            roles,
            DCHANNEL,
            json!({"type": 1, "name": "disconnect",
                   "options": [{"type": 4, "name": "id", "value": account}]}),
        )
    };
    let said =
        ephemeral_content(&interact(&w, &disconnect("7007", MOD, &[MOD_ROLE], a.id + 100)).await);
    assert_eq!(
        said,
        shown(&switchboard::core::text::account_not_found(a.id + 100))
    );
    let said = ephemeral_content(&interact(&w, &disconnect("7008", NOBODY, &[], a.id)).await);
    assert_eq!(said, shown(switchboard::core::text::DISCORD_ADMINS_ONLY));
    assert_eq!(w.store.accounts().await.unwrap().len(), 1);
    let said = ephemeral_content(&interact(&w, &disconnect("7009", MOD, &[MOD_ROLE], a.id)).await);
    assert!(said.contains("Disconnected"), "{said}");
    assert!(w.store.accounts().await.unwrap().is_empty());
    let revoked = google
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/revoke")
        .count();
    assert_eq!(revoked, 1);
    w.finish().await;
}

/// `connect` outside a server (a direct message with the bot) is refused before anything
/// else; in the server without `[google]`, the admin is told it is not set up. Nothing is
/// stored, nothing is posted.
#[tokio::test]
async fn connect_from_a_direct_message_or_without_google_is_refused() {
    let w = accounts_world(None).await;
    let dm = json!({
        "id": "7101", "application_id": APP_ID, "type": 2, "token": "token-7101", "version": 1,
        "channel_id": "1000000000000000777",
        "channel": {"id": "1000000000000000777", "type": 1},
        "user": {"id": MOD, "username": "mod", "discriminator": "0", "global_name": "Mo", "avatar": null},
        "context": 1,
        "data": {"id": "1000000000000000500", "name": "inbox", "type": 1, "options": [
            {"type": 1, "name": "connect", "options": [{"type": 3, "name": "network", "value": "youtube"}]}]}
    });
    let said = ephemeral_content(&interact(&w, &dm).await);
    assert_eq!(said, shown(switchboard::core::text::CONNECT_IN_A_DM));
    let in_channel = slash(
        "7102",
        MOD,
        &[MOD_ROLE],
        DCHANNEL,
        json!({"type": 1, "name": "connect",
               "options": [{"type": 3, "name": "network", "value": "google"}]}),
    );
    let said = ephemeral_content(&interact(&w, &in_channel).await);
    assert_eq!(said, shown(switchboard::core::text::OAUTH_NOT_CONFIGURED));
    assert!(w.store.accounts().await.unwrap().is_empty());
    w.finish().await;
}

/// A Google review whose card is on Discord: when the customer changes it, the ticket
/// reopens and the card's thread shows before and after (escaped, pinging nobody), with the
/// channel notice a customer's new message gets.
#[tokio::test]
async fn an_updated_review_shows_before_and_after_in_the_discord_thread() {
    use switchboard::core::{AccountId, Network, Surface};
    use switchboard::workers::poll::{PollSettings, Poller, Round};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    const LOCATION: &str = "accounts/111/locations/222";
    let google = MockServer::start().await;
    let base = google.uri();
    let w = discord_world(|c| {
        let mut g = switchboard::config::GoogleConfig::new("1234-abc.apps.googleusercontent.com");
        g.client_secret = Some(secrecy::SecretString::from("GOCSPX-test".to_string()));
        g.token_url = format!("{base}/token");
        g.reviews_api_url = format!("{base}/v4");
        c.google = Some(g);
        c.secret_key = Some(secrecy::SecretString::from(GOOGLE_KEY.to_string()));
        c.server.public_url = Some("https://social.example.org".parse().unwrap());
    })
    .await;
    w.discord_ok("").await;
    let now = chrono::Utc::now();
    let created = (now - chrono::Duration::hours(3)).to_rfc3339();
    let updated = (now + chrono::Duration::minutes(30)).to_rfc3339();
    let review = |stars: &str, text: &str, at: &str| {
        ResponseTemplate::new(200).set_body_json(json!({"reviews": [{
            "name": format!("{LOCATION}/reviews/R1"), "reviewId": "R1",
            "reviewer": {"displayName": "Jane @everyone", "isAnonymous": false},
            "starRating": stars, "comment": text, "createTime": created, "updateTime": at
        }]}))
    };
    Mock::given(method("GET"))
        .and(path(format!("/v4/{LOCATION}/reviews")))
        .respond_with(review("FOUR", "Good coffee", &created))
        .up_to_n_times(1)
        .mount(&google)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v4/{LOCATION}/reviews")))
        .respond_with(review("TWO", "Cold **coffee** <@&1>", &updated))
        .mount(&google)
        .await;
    let key = w.svc.config.credentials_key().expect("key");
    let tokens = switchboard::oauth::TokenSet {
        access_token: secrecy::SecretString::from("ya29.business".to_string()),
        refresh_token: Some(secrecy::SecretString::from("1//biz".to_string())),
        expires_at: now + chrono::Duration::hours(3),
        scope: vec![switchboard::oauth::SCOPE_BUSINESS.into()],
    };
    w.store
        .connect_account(
            &switchboard::store::NewAccount {
                network: Network::Google,
                account_id: AccountId::new(LOCATION),
                name: "Café Central".into(),
                surface: Surface::Discord,
                channel: DCHANNEL.into(),
                credentials: switchboard::workers::tokens::seal(
                    &key,
                    Network::Google,
                    LOCATION,
                    &tokens,
                ),
                connected_by: Some(MOD.into()),
            },
            now,
        )
        .await
        .unwrap();
    w.svc.reload_accounts().await.unwrap();
    let poller = Poller::new(
        w.svc.networks.all_polled(),
        w.svc.tokens.clone().expect("token source"),
        PollSettings {
            lease: Duration::from_secs(60),
            min_interval: Duration::ZERO,
            failure_backoff: Duration::from_secs(60),
        },
    );
    assert!(matches!(
        poller.round(&w.store, chrono::Utc::now()).await.unwrap(),
        Round::Polled { .. }
    ));
    w.settle().await;
    let card = w
        .take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages"))
        .await;
    assert_eq!(card.len(), 1, "{card:?}");
    let t = w
        .store
        .ticket_by_conversation(&format!("google:{LOCATION}:R1:unknown:R1"))
        .await
        .unwrap()
        .expect("ticket");
    let thread = w.store.card_of(t.id).await.unwrap().expect("card").message;
    w.take_discord_matching(".*").await;

    poller.round(&w.store, chrono::Utc::now()).await.unwrap();
    w.settle().await;
    let in_thread = w
        .take_discord(&format!("/api/v10/channels/{thread}/messages"))
        .await;
    assert_eq!(in_thread.len(), 1, "{in_thread:?}");
    let body = &in_thread[0].body;
    let said = body["content"].as_str().unwrap_or_default();
    assert!(said.contains("★★★★☆ → ★★☆☆☆"), "{said}");
    assert!(said.contains("Good coffee"), "{said}");
    // The customer's words are escaped and ping nobody.
    assert!(
        said.contains(r"\*\*coffee\*\*") && said.contains(r"\<\@&1\>"),
        "{said}"
    );
    assert!(said.contains(r"\@everyone"), "{said}");
    assert_eq!(body["allowed_mentions"], json!({"parse": []}));
    // Unassigned: the channel is told too.
    let notice = w
        .take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages"))
        .await;
    assert_eq!(notice.len(), 1, "{notice:?}");
    assert_eq!(notice[0].body["allowed_mentions"], json!({"parse": []}));
    let t = w.store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(
        (t.state.status, t.state.context.rating),
        (Status::Unread, Some(2))
    );
}

/// Reply profiles on Discord: two Pages route to one channel; a mention's card offers a
/// "Reply as…" select, the choice is applied from a select interaction, and the reply from
/// the editor goes out with the chosen Page's token.
#[tokio::test]
async fn a_mention_is_answered_by_the_page_chosen_in_the_discord_select() {
    const PAGE_B: &str = "7777777777777";
    const PAGE_B_TOKEN: &str = "EAAG-page-b-token";
    let w = discord_world(|c| {
        c.meta.pages.push(switchboard::config::PageConfig {
            id: PAGE_B.into(),
            name: "Acme Roastery".into(),
            access_token: Some(secrecy::SecretString::from(PAGE_B_TOKEN)),
            slack_channel: None,
            discord_channel: Some(DCHANNEL.into()),
        });
    })
    .await;
    w.discord_ok("").await;
    w.graph_ok().await;
    let mention = json!({"object": "page", "entry": [{"id": PAGE_ID, "time": 1614340868,
        "changes": [{"field": "mention", "value": {"message": "Love it", "post_id": "999_1",
        "comment_id": "888_1", "created_time": 1614340862,
        "from": {"id": "5001", "name": "Fan"}, "item": "comment", "verb": "add"}}]}]});
    w.meta_webhook(&mention.to_string()).await;
    w.settle().await;
    let cards = w
        .take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages"))
        .await;
    let card = &cards.first().expect("a card").body;
    assert!(
        custom_ids(card).contains(&"sb1:profile:1".to_string()),
        "{card}"
    );

    let answer = interact(&w, &component("7501", "sb1:profile:1", 3, &[PAGE_B])).await;
    assert!(answer["type"] == 6 || answer["type"] == 7, "{answer}");
    w.settle().await;
    let t = w
        .store
        .ticket(switchboard::core::TicketId(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.state.reply_as.map(|a| a.to_string()), Some(PAGE_B.into()));

    interact(&w, &click("7502", "sb1:reply:1", MOD, &[MOD_ROLE])).await;
    interact(
        &w,
        &modal_submit("7503", "sb1:reply_modal:1", "text", "Thank you!"),
    )
    .await;
    w.settle().await;
    let replies = w.take_graph("/888_1/comments").await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].body["access_token"], PAGE_B_TOKEN);
}

/// Two replicas on one Postgres: only the one holding the gateway lease connects; when it
/// stops, the other connects within the lease's time and its gateway's messages are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_one_gateway_and_the_second_takes_over() {
    let Some(db) = support::pg::database().await else {
        return;
    };
    let tweak = |c: &mut switchboard::config::Config| {
        c.meta.pages[0].slack_channel = None;
        c.meta.pages[0].discord_channel = Some(DCHANNEL.into());
        c.slack = Default::default();
        let mut d = discord_config();
        d.gateway_lease_secs = 1;
        c.discord = Some(d);
    };
    let a = World::start(db.url.clone(), None, tweak).await;
    let b = World::start(db.url.clone(), None, tweak).await;
    let (gw_a, gw_b) = (FakeGateway::start().await, FakeGateway::start().await);
    a.discord_ok(&gw_a.url).await;
    b.discord_ok(&gw_b.url).await;
    let (stop_a, rx_a) = watch::channel(false);
    let (stop_b, rx_b) = watch::channel(false);
    let run_a = tokio::spawn(switchboard::server::gateway::run(a.svc.clone(), rx_a));
    gw_a.identified().await;
    let run_b = tokio::spawn(switchboard::server::gateway::run(b.svc.clone(), rx_b));
    // Several lease renewals later, b has not connected.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(
        gw_b.identify.lock().unwrap().is_none(),
        "two gateways at once"
    );

    // a stops; b connects within the lease's time.
    let _ = stop_a.send(true);
    let stopped = Instant::now();
    let _ = run_a.await;
    gw_b.identified().await;
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "{:?}",
        stopped.elapsed()
    );

    // What b's gateway delivers is stored: a reply in a card's thread.
    new_comment(&b).await;
    let before = b.store.count_inbox().await.unwrap();
    gw_b.dispatch(
        "MESSAGE_CREATE",
        message_create("9001", CARD, MOD, &[MOD_ROLE], "note: from replica b"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.store.count_inbox().await.unwrap() == before {
        assert!(Instant::now() < deadline, "b's gateway stored nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_b.send(true);
    let _ = run_b.await;
    db.drop_database().await;
}

/// Storm mode on Discord: a burst on one post becomes one storm embed (edited in place) with
/// the comments in batches in its thread; "Close all" asks first with a button of its own.
#[tokio::test]
async fn a_burst_becomes_a_storm_embed_and_close_all_asks_first() {
    let w = discord_world(|c| {
        c.storm.enabled = true;
        c.storm.threshold = 3;
        c.storm.batch_max = 5;
        if let Some(d) = c.discord.as_mut() {
            d.permissions.close = vec![MOD_ROLE.into()];
        }
    })
    .await;
    w.discord_ok("").await;
    // One at a time: fan n is ticket #n.
    for n in 1..=8 {
        let text = if n == 6 {
            "@everyone **free** [money](https://evil.example)".to_string()
        } else {
            format!("fan {n} says hi")
        };
        let body = comment_webhook(
            &format!("901_2{n}"),
            "1234567890321_77",
            &format!("555100{n}"),
            &format!("Fan {n}"),
            &text,
        );
        assert_eq!(w.meta_webhook(&body).await.0, StatusCode::OK);
        w.settle().await;
    }
    let posts = w
        .take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages"))
        .await;
    let storm_cards: Vec<_> = posts
        .iter()
        .filter(|p| {
            p.body["embeds"][0]["description"]
                .as_str()
                .is_some_and(|d| d.contains("Comment storm"))
        })
        .collect();
    assert_eq!(storm_cards.len(), 1, "{posts:?}");
    assert_eq!(posts.len(), 4, "three cards and the storm card");
    assert_eq!(storm_cards[0].body["allowed_mentions"]["parse"], json!([]));
    assert!(custom_ids(&storm_cards[0].body).contains(&"sbs1:close_all:1".to_string()));
    let storm = w.store.storm(1).await.unwrap().expect("storm");
    let card = storm.card.expect("storm card recorded").message;
    // Every storm comment in the card's thread once; the hostile one inert.
    // The posts (a retry's look for an earlier batch reads the same path, without a body).
    let batches: Vec<Seen> = w
        .take_discord(&format!("/api/v10/channels/{card}/messages"))
        .await
        .into_iter()
        .filter(|b| !b.body.is_null())
        .collect();
    let all: String = batches
        .iter()
        .map(|b| b.body["content"].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    for t in 4..=8 {
        assert_eq!(all.matches(&format!("(#{t})")).count(), 1, "{all}");
    }
    assert!(
        all.contains("\\@everyone") && !all.contains(" @everyone"),
        "{all}"
    );
    assert!(
        batches
            .iter()
            .all(|b| b.body["allowed_mentions"]["parse"] == json!([])),
        "{batches:?}"
    );

    // "Close all" without the role: refused, nothing stored.
    let rows = w.store.count_inbox().await.unwrap();
    let storm_click = |id: &str, custom: &str, user: &str, roles: &[&str]| {
        button_interaction(id, custom, user, roles, DCHANNEL, &card)
    };
    let answer = interact(&w, &storm_click("7201", "sbs1:close_all:1", "222", &["5"])).await;
    assert!(
        answer["data"]["content"]
            .as_str()
            .unwrap()
            .contains("not allowed to close")
    );
    // With it: a question first, then the confirmed button closes the storm's tickets only.
    let ask = interact(
        &w,
        &storm_click("7202", "sbs1:close_all:1", MOD, &[MOD_ROLE]),
    )
    .await;
    assert_eq!(ask["type"], 4);
    assert_eq!(ask["data"]["flags"], 64);
    assert_eq!(
        custom_ids(&ask["data"]),
        vec!["sbs1:close_all_sure:1".to_string()]
    );
    assert_eq!(
        w.store.count_inbox().await.unwrap(),
        rows,
        "asking stores nothing"
    );
    let done = interact(
        &w,
        &storm_click("7203", "sbs1:close_all_sure:1", MOD, &[MOD_ROLE]),
    )
    .await;
    assert_eq!(done["data"]["flags"], 64);
    w.settle().await;
    for t in 1..=8 {
        let s = w
            .store
            .ticket(TicketId(t))
            .await
            .unwrap()
            .unwrap()
            .state
            .status;
        assert_eq!(s == Status::Closed, t >= 4, "#{t}: {s:?}");
    }
    // "Hide all containing" asks first, the word shown literally, and its button carries it.
    let mut pick = storm_click("7204", "sbs1:hide_matching:1", MOD, &[MOD_ROLE]);
    pick["data"]["component_type"] = json!(3);
    pick["data"]["values"] = json!(["says"]);
    let rows = w.store.count_inbox().await.unwrap();
    let ask = interact(&w, &pick).await;
    assert_eq!(ask["data"]["flags"], 64);
    assert!(
        ask["data"]["content"].as_str().unwrap().contains("says"),
        "{ask}"
    );
    assert_eq!(
        custom_ids(&ask["data"]),
        vec!["sbs1:hide_sure:1:says".to_string()]
    );
    assert_eq!(
        w.store.count_inbox().await.unwrap(),
        rows,
        "asking stores nothing"
    );
    // Confirmed: the storm's comments with the word are hidden on Facebook, no others.
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path_regex(r"^/901_2\d$"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&w.graph)
        .await;
    let sure = interact(
        &w,
        &storm_click("7205", "sbs1:hide_sure:1:says", MOD, &[MOD_ROLE]),
    )
    .await;
    assert_eq!(sure["data"]["flags"], 64);
    w.settle().await;
    let mut hidden = Vec::new();
    for t in 1..=8 {
        if w.store
            .ticket(TicketId(t))
            .await
            .unwrap()
            .unwrap()
            .state
            .moderation
            .hidden
        {
            hidden.push(t);
        }
    }
    assert_eq!(hidden, vec![4, 5, 7, 8]);
    // The storm embed was edited in place.
    let edits = w
        .take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages/{card}"))
        .await;
    assert!(!edits.is_empty());
    w.take_discord_matching("^/").await;
}

// ---- the storm card's modals ------------------------------------------------------------------

/// A Discord world in storm mode where only `MOD_ROLE` may reply, assign, close and moderate,
/// with the team "Support"; one comment per entry of `texts` on one post (fan n is ticket #n):
/// the fourth starts storm 1. Returns the storm card's message id, all Discord calls so far
/// taken.
async fn discord_storm(texts: &[&str]) -> (World, String) {
    let w = discord_world(|c| {
        c.storm.enabled = true;
        c.storm.threshold = 3;
        c.storm.batch_max = 5;
        if let Some(d) = c.discord.as_mut() {
            let only_mods = vec![MOD_ROLE.to_string()];
            d.permissions.reply = only_mods.clone();
            d.permissions.close = only_mods.clone();
            d.permissions.assign = only_mods.clone();
            d.permissions.moderate = only_mods;
            d.teams = vec![switchboard::config::DiscordTeamConfig {
                name: "Support".into(),
                role: TEAM_ROLE.into(),
                members: vec![],
            }];
        }
    })
    .await;
    w.discord_ok("").await;
    for (i, text) in texts.iter().enumerate() {
        let n = i + 1;
        let body = comment_webhook(
            &format!("901_2{n}"),
            "1234567890321_77",
            &format!("555100{n}"),
            &format!("Fan {n}"),
            text,
        );
        assert_eq!(w.meta_webhook(&body).await.0, StatusCode::OK);
        w.settle().await;
    }
    let storm = w.store.storm(1).await.unwrap().expect("storm");
    let card = storm.card.expect("storm card recorded").message;
    let posts = w
        .take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages"))
        .await;
    let storm_card = posts
        .iter()
        .find(|p| {
            p.body["embeds"][0]["description"]
                .as_str()
                .is_some_and(|d| d.contains("Comment storm"))
        })
        .expect("a storm card");
    // The card offers the modals' buttons (the team exists, Facebook hides comments).
    let ids = custom_ids(&storm_card.body);
    for id in [
        "sbs1:reply_selected:1",
        "sbs1:assign_all_team:1",
        "sbs1:hide_typed:1",
    ] {
        assert!(ids.contains(&id.to_string()), "{id} in {ids:?}");
    }
    w.take_discord_matching("^/").await;
    (w, card)
}

/// Erasing a customer whose comment a storm thread batch showed edits that message in the
/// card's thread: their name and text are gone.
#[tokio::test]
async fn erasing_a_customer_edits_the_discord_storm_batch_that_showed_them() {
    let texts: Vec<String> = (1..=9).map(|n| format!("private words {n}")).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (w, card) = discord_storm(&texts).await;
    let shown = w
        .store
        .storm_batches_of_ticket(switchboard::core::TicketId(6))
        .await
        .unwrap();
    assert_eq!(shown.len(), 1, "{shown:?}");
    let batch = &shown[0];
    assert_eq!(batch.chat.channel, card, "in the card's thread");
    // Erasures come late: Discord archived the idle thread, and refuses the first edit.
    let edit_path = format!("/api/v10/channels/{card}/messages/{}", batch.chat.message);
    refuse_first_edit_as_archived(&w, &edit_path).await;
    let done = switchboard::workers::erase::erase_customer(
        &*w.store,
        switchboard::core::Network::Facebook,
        &switchboard::core::CustomerId::new("5551006"),
        &switchboard::core::Actor::System,
    )
    .await
    .unwrap();
    assert_eq!(done.tickets, vec![switchboard::core::TicketId(6)]);
    w.settle().await;
    let unarchived = w.take_discord(&format!("/api/v10/channels/{card}")).await;
    assert_eq!(unarchived.len(), 1);
    assert_eq!(unarchived[0].body, json!({"archived": false}));
    let edits = w.take_discord(&edit_path).await;
    assert_eq!(edits.len(), 2, "refused, then done: {edits:?}");
    let content = edits[1].body["content"].as_str().unwrap_or_default();
    assert!(
        !content.contains("Fan 6") && !content.contains("private words 6"),
        "{content}"
    );
    assert!(content.contains("erased at the customer"), "{content}");
    // Comments came one at a time here, so each batch shows one: #6's line is still there,
    // erased (the Slack test checks a batch of several).
    assert_eq!((batch.from, batch.upto), (batch.upto, batch.upto));
    assert!(content.contains("(#6)"), "{content}");
    assert!(!content.contains("private words"), "{content}");
}

/// Discord archived the idle thread: the first edit of the message at `api_path` is refused
/// (50083), later ones go to the fake's usual answer.
async fn refuse_first_edit_as_archived(w: &World, api_path: &str) {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    Mock::given(method("PATCH"))
        .and(path(api_path))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"code": 50083, "message": "Thread is archived"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.discord)
        .await;
}

/// A click on the storm card `card` (in `DCHANNEL`).
fn storm_button(id: &str, custom_id: &str, card: &str, user: &str, roles: &[&str]) -> Value {
    button_interaction(id, custom_id, user, roles, DCHANNEL, card)
}

/// A storm modal's submission as Discord sends it: Label components (type 18) around selects
/// (`values`) or text inputs (`value`).
fn storm_modal_submit(
    id: &str,
    custom_id: &str,
    card: &str,
    user: &str,
    roles: &[&str],
    labels: Value,
) -> Value {
    json!({
        "id": id, "application_id": APP_ID, "type": 5, "token": format!("token-{id}"), "version": 1,
        "guild_id": GUILD, "channel_id": DCHANNEL,
        "channel": {"id": DCHANNEL, "type": 0, "guild_id": GUILD},
        "member": member(user, roles),
        "message": {"id": card, "channel_id": DCHANNEL},
        "data": {"custom_id": custom_id, "components": labels}
    })
}

fn label_select(n: u64, custom_id: &str, values: &[&str]) -> Value {
    json!({"type": 18, "id": n, "component":
        {"type": 3, "id": n + 1, "custom_id": custom_id, "values": values}})
}

fn label_input(n: u64, custom_id: &str, value: &str) -> Value {
    json!({"type": 18, "id": n, "component":
        {"type": 4, "id": n + 1, "custom_id": custom_id, "value": value}})
}

/// Graph calls to the storm's comments (`/901_2n` + `suffix`) not taken yet: path and body.
async fn storm_graph_calls(w: &World, suffix: &str) -> Vec<(String, Value)> {
    let mut calls = Vec::new();
    for n in 1..=9 {
        let p = format!("/901_2{n}{suffix}");
        for seen in w.take_graph(&p).await {
            calls.push((p.clone(), seen.body));
        }
    }
    calls
}

/// "Reply to selected…": the button opens a modal of the storm's comments and the saved
/// replies; its submission sends the saved reply, filled with each author's name, to the
/// chosen comments of the storm only, once even when Discord delivers it twice. Without the
/// Reply role both the click and the submission are refused and nothing is sent.
#[tokio::test]
async fn storm_reply_to_selected_sends_the_saved_reply_to_the_chosen_comments() {
    let (w, card) = discord_storm(&["hi"; 8]).await;
    w.graph_ok().await;
    let saved = w
        .store
        .create_saved_reply(
            "Thanks",
            "Thanks {author_name}, we are on it!",
            "cli",
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .expect("a new name");
    let rows = w.store.count_inbox().await.unwrap();

    // Without the role: refused at the click.
    let refused = interact(
        &w,
        &storm_button("7601", "sbs1:reply_selected:1", &card, "222", &["5"]),
    )
    .await;
    assert_eq!(refused["data"]["flags"], 64);
    assert!(
        ephemeral_content(&refused).contains("not allowed to reply"),
        "{refused}"
    );

    // With it: the modal lists the storm's five comments (newest first) and the saved reply.
    let modal = interact(
        &w,
        &storm_button("7602", "sbs1:reply_selected:1", &card, MOD, &[MOD_ROLE]),
    )
    .await;
    assert_eq!(modal["type"], 9, "{modal}");
    assert_eq!(modal["data"]["custom_id"], "sbs1:reply_selected:1");
    let labels = modal["data"]["components"].as_array().unwrap();
    assert_eq!(labels.len(), 2);
    assert!(labels.iter().all(|l| l["type"] == 18), "{modal}");
    let comments = &labels[0]["component"];
    assert_eq!(comments["type"], 3);
    let values: Vec<&str> = comments["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["8", "7", "6", "5", "4"]);
    assert_eq!(comments["options"][4]["label"], "#4 Fan 4: hi");
    assert_eq!(comments["max_values"], 5);
    let replies = &labels[1]["component"];
    assert_eq!(replies["type"], 3);
    assert_eq!(
        replies["options"],
        json!([{"label": "Thanks", "value": saved.0.to_string()}])
    );
    assert_eq!(
        w.store.count_inbox().await.unwrap(),
        rows,
        "asking stores nothing"
    );

    let chosen = |ids: &[&str]| {
        json!([
            label_select(1, "comments", ids),
            label_select(3, "saved", &[&saved.0.to_string()]),
        ])
    };
    // A submission from a member without the role is refused; nothing is stored or sent.
    let refused = interact(
        &w,
        &storm_modal_submit(
            "7603",
            "sbs1:reply_selected:1",
            &card,
            "222",
            &["5"],
            chosen(&["4", "6"]),
        ),
    )
    .await;
    assert_eq!(refused["data"]["flags"], 64);
    assert!(
        ephemeral_content(&refused).contains("not allowed to reply"),
        "{refused}"
    );
    assert_eq!(w.store.count_inbox().await.unwrap(), rows);
    w.settle().await;
    assert!(storm_graph_calls(&w, "/comments").await.is_empty());

    // #2 is not in this storm: skipped. Delivered twice, the submission queues once.
    let submit = storm_modal_submit(
        "7604",
        "sbs1:reply_selected:1",
        &card,
        MOD,
        &[MOD_ROLE],
        chosen(&["4", "6", "2"]),
    );
    for _ in 0..2 {
        let done = interact(&w, &submit).await;
        assert_eq!(done["data"]["flags"], 64);
        assert_eq!(
            ephemeral_content(&done),
            shown(&switchboard::core::text::storm_replies_queued(2, 1)),
            "{done}"
        );
    }
    w.settle().await;
    let sent: Vec<(String, Value)> = storm_graph_calls(&w, "/comments")
        .await
        .into_iter()
        .map(|(p, body)| (p, body["message"].clone()))
        .collect();
    assert_eq!(
        sent,
        [
            (
                "/901_24/comments".into(),
                json!("Thanks Fan 4, we are on it!")
            ),
            (
                "/901_26/comments".into(),
                json!("Thanks Fan 6, we are on it!")
            ),
        ]
    );
    w.take_discord_matching("^/").await;
    w.finish().await;
}

/// "Assign all to team…": the button opens a modal with the teams; the submission assigns the
/// storm's open tickets to the chosen team, and no other ticket.
#[tokio::test]
async fn storm_assign_all_to_a_team_from_the_modal() {
    let (w, card) = discord_storm(&["hi"; 6]).await;
    let modal = interact(
        &w,
        &storm_button("7701", "sbs1:assign_all_team:1", &card, MOD, &[MOD_ROLE]),
    )
    .await;
    assert_eq!(modal["type"], 9, "{modal}");
    assert_eq!(modal["data"]["custom_id"], "sbs1:assign_all_team:1");
    let select = &modal["data"]["components"][0]["component"];
    assert_eq!(modal["data"]["components"][0]["type"], 18);
    assert_eq!(select["type"], 3);
    assert_eq!(
        select["options"],
        json!([{"label": "Support", "value": "Support"}])
    );
    // Without the Assign role the submission is refused and changes nothing.
    let rows = w.store.count_inbox().await.unwrap();
    let submit = |id: &str, user: &str, roles: &[&str], team: &str| {
        storm_modal_submit(
            id,
            "sbs1:assign_all_team:1",
            &card,
            user,
            roles,
            json!([label_select(1, "team", &[team])]),
        )
    };
    let refused = interact(&w, &submit("7702", "222", &["5"], "Support")).await;
    assert!(
        ephemeral_content(&refused).contains("not allowed to assign"),
        "{refused}"
    );
    // A team that is not configured is refused too.
    let unknown = interact(&w, &submit("7703", MOD, &[MOD_ROLE], "Sales")).await;
    assert_eq!(unknown["data"]["flags"], 64);
    assert!(
        ephemeral_content(&unknown).contains("not configured"),
        "{unknown}"
    );
    assert_eq!(w.store.count_inbox().await.unwrap(), rows);

    let done = interact(&w, &submit("7704", MOD, &[MOD_ROLE], "Support")).await;
    assert_eq!(done["data"]["flags"], 64);
    w.settle().await;
    for t in 1..=6 {
        let assignee = w
            .store
            .ticket(TicketId(t))
            .await
            .unwrap()
            .unwrap()
            .state
            .assignee;
        let team = Some(switchboard::core::Assignee::Team("Support".into()));
        assert_eq!(assignee == team, t >= 4, "#{t}: {assignee:?}");
    }
    w.take_discord_matching("^/").await;
    w.finish().await;
}

/// "Hide all containing…" with a typed word: the button opens a modal with one text input;
/// the submission asks first (the word shown literally, nothing stored), and the confirmation
/// hides on Facebook the storm's comments containing the word, no others. A word that is no
/// word is refused.
#[tokio::test]
async fn storm_hide_a_typed_word_asks_then_hides_only_those() {
    let (w, card) = discord_storm(&[
        "refund",
        "hi",
        "hi",
        "Refund please",
        "hello",
        "where is my REFUND?",
        "refunds are slow",
        "no refund needed",
    ])
    .await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path_regex(r"^/901_2\d$"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&w.graph)
        .await;
    let refused = interact(
        &w,
        &storm_button("7801", "sbs1:hide_typed:1", &card, "222", &["5"]),
    )
    .await;
    assert!(
        ephemeral_content(&refused).contains("not allowed to hide"),
        "{refused}"
    );
    let modal = interact(
        &w,
        &storm_button("7802", "sbs1:hide_typed:1", &card, MOD, &[MOD_ROLE]),
    )
    .await;
    assert_eq!(modal["type"], 9, "{modal}");
    assert_eq!(modal["data"]["custom_id"], "sbs1:hide_typed:1");
    let input = &modal["data"]["components"][0]["component"];
    assert_eq!(modal["data"]["components"][0]["type"], 18);
    assert_eq!(input["type"], 4);
    assert_eq!(input["max_length"], 60);

    let rows = w.store.count_inbox().await.unwrap();
    let typed = |id: &str, word: &str| {
        storm_modal_submit(
            id,
            "sbs1:hide_typed:1",
            &card,
            MOD,
            &[MOD_ROLE],
            json!([label_input(1, "word", word)]),
        )
    };
    // Without the Moderate role the submission is refused too.
    let mut other = typed("7808", "Refund");
    other["member"] = member("222", &["5"]);
    let answer = interact(&w, &other).await;
    assert!(
        ephemeral_content(&answer).contains("not allowed to hide"),
        "{answer}"
    );
    // Nothing usable typed: a clear refusal, nothing stored.
    for (id, word) in [("7803", "   "), ("7804", "?!"), ("7805", &"x".repeat(61))] {
        let answer = interact(&w, &typed(id, word)).await;
        assert_eq!(answer["data"]["flags"], 64);
        assert_eq!(
            ephemeral_content(&answer),
            shown(&switchboard::core::text::storm_hide_word_refused()),
            "{word:?}"
        );
    }
    // A word: asked first, nothing stored yet.
    let ask = interact(&w, &typed("7806", " Refund ")).await;
    assert_eq!(ask["type"], 4);
    assert_eq!(ask["data"]["flags"], 64);
    assert!(
        ephemeral_content(&ask).contains("contains Refund?"),
        "{ask}"
    );
    assert_eq!(
        custom_ids(&ask["data"]),
        vec!["sbs1:hide_sure:1:Refund".to_string()]
    );
    assert_eq!(
        w.store.count_inbox().await.unwrap(),
        rows,
        "asking stores nothing"
    );
    assert!(storm_graph_calls(&w, "").await.is_empty());

    // Confirmed: only the storm's comments with the word as a word (#4, #6, #8).
    let sure = interact(
        &w,
        &storm_button("7807", "sbs1:hide_sure:1:Refund", &card, MOD, &[MOD_ROLE]),
    )
    .await;
    assert_eq!(sure["data"]["flags"], 64);
    w.settle().await;
    let mut hidden = Vec::new();
    for t in 1..=8 {
        let state = w.store.ticket(TicketId(t)).await.unwrap().unwrap().state;
        if state.moderation.hidden {
            hidden.push(t);
        }
    }
    assert_eq!(hidden, vec![4, 6, 8]);
    let hides: Vec<String> = storm_graph_calls(&w, "")
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(hides, ["/901_24", "/901_26", "/901_28"]);
    w.take_discord_matching("^/").await;
    w.finish().await;
}

/// The storm modals from another channel: a moderator who is not an admin, clicking or
/// submitting where the storm is not routed, is refused each time and nothing is stored or
/// sent.
#[tokio::test]
async fn storm_modals_from_another_channel_are_refused() {
    let (w, card) = discord_storm(&["refund now"; 6]).await;
    w.graph_ok().await;
    let saved = w
        .store
        .create_saved_reply("Thanks", "Thanks!", "cli", chrono::Utc::now())
        .await
        .unwrap()
        .expect("a new name")
        .0
        .to_string();
    let rows = w.store.count_inbox().await.unwrap();
    let elsewhere = |mut v: Value| {
        v["channel_id"] = json!("424242");
        v["channel"]["id"] = json!("424242");
        v
    };
    for (n, custom_id) in [
        "sbs1:reply_selected:1",
        "sbs1:assign_all_team:1",
        "sbs1:hide_typed:1",
    ]
    .iter()
    .enumerate()
    {
        let click = elsewhere(storm_button(
            &format!("780{n}"),
            custom_id,
            &card,
            MOD,
            &[MOD_ROLE],
        ));
        let answer = interact(&w, &click).await;
        assert_ne!(answer["type"], 9, "{custom_id}: no modal elsewhere");
        assert!(
            ephemeral_content(&answer).contains("another channel"),
            "{custom_id}: {answer}"
        );
    }
    let submits = [
        (
            "sbs1:reply_selected:1",
            json!([
                label_select(1, "comments", &["4", "5"]),
                label_select(3, "saved", &[saved.as_str()])
            ]),
        ),
        (
            "sbs1:assign_all_team:1",
            json!([label_select(1, "team", &["Support"])]),
        ),
        (
            "sbs1:hide_typed:1",
            json!([label_input(1, "word", "refund")]),
        ),
    ];
    for (n, (custom_id, labels)) in submits.into_iter().enumerate() {
        let submit = elsewhere(storm_modal_submit(
            &format!("781{n}"),
            custom_id,
            &card,
            MOD,
            &[MOD_ROLE],
            labels,
        ));
        let answer = interact(&w, &submit).await;
        assert!(
            ephemeral_content(&answer).contains("another channel"),
            "{custom_id}: {answer}"
        );
    }
    w.settle().await;
    assert_eq!(w.store.count_inbox().await.unwrap(), rows, "nothing stored");
    assert!(storm_graph_calls(&w, "").await.is_empty(), "nothing sent");
    for t in 4..=6 {
        let state = w.store.ticket(TicketId(t)).await.unwrap().unwrap().state;
        assert_eq!(state.assignee, None);
        assert!(!state.moderation.hidden);
    }
}

// ---- storm batches Discord posted without answering ---------------------------------------------

/// A Discord storm world (batches of five, a zero retry budget: a failed job gives up at once)
/// on the database at `db`, whose fake Discord creates the first thread batch but answers
/// 502, dating what it creates `backdate` ago; comments #1–#6 on one post, the storm from #4.
async fn lost_batch_storm(
    db: String,
    dir: Option<tempfile::TempDir>,
    backdate: chrono::Duration,
) -> World {
    let w = discord_world_in(db, dir, |c| {
        c.storm.enabled = true;
        c.storm.threshold = 3;
        c.storm.batch_max = 5;
        c.outbox.retry_budget_secs = 0;
    })
    .await;
    w.discord_ok("").await;
    w.discord_lost_batches
        .store(1, std::sync::atomic::Ordering::SeqCst);
    *w.discord_backdate.lock().expect("lock") = backdate;
    for n in 1..=6 {
        w.meta_webhook(&storm_comment(n)).await;
    }
    w.settle().await;
    let failed = w.store.count_jobs(switchboard::store::JobStatus::Failed);
    assert_eq!(failed.await.unwrap(), 1, "the batch job gave up");
    w
}

fn storm_comment(n: u32) -> String {
    comment_webhook(
        &format!("901_2{n}"),
        "1234567890321_77",
        &format!("555100{n}"),
        &format!("Fan {n}"),
        &format!("fan {n} says hi"),
    )
}

/// The storm card's thread, and what was posted in it (message bodies, in order) and looked
/// up in it (the `after` of each listing).
async fn storm_thread(w: &World) -> (String, Vec<String>, Vec<String>) {
    let storm = w.store.storm(1).await.unwrap().expect("storm");
    let thread = storm.card.expect("storm card").message;
    let at = format!("/api/v10/channels/{thread}/messages");
    let all = w.discord.received_requests().await.unwrap_or_default();
    let on = |m: &str| {
        all.iter()
            .filter(|r| r.url.path() == at && r.method.as_str() == m)
            .collect::<Vec<_>>()
    };
    let posts = on("POST")
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            body["content"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    let lookups = on("GET")
        .iter()
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "after")
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        })
        .collect();
    (thread, posts, lookups)
}

/// Discord creates a thread batch but its answer is lost, and the job gives up at once: the
/// storm's next batch job finds that batch in the thread by its heading (Discord keeps the
/// nonce only minutes) and posts only what it did not show.
#[tokio::test]
async fn a_storm_batch_discord_posted_without_answering_is_not_posted_again() {
    let (db, dir) = temp_sqlite();
    let w = lost_batch_storm(db, Some(dir), chrono::Duration::zero()).await;
    let (_, posts, lookups) = storm_thread(&w).await;
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(posts[0].starts_with("3 comments, #4 to #6\n"), "{posts:?}");
    assert!(lookups.is_empty(), "it gave up at once, without looking");

    w.meta_webhook(&storm_comment(7)).await;
    w.settle().await;
    let (_, posts, lookups) = storm_thread(&w).await;
    assert!(!lookups.is_empty(), "the next job looked in the thread");
    let all = posts.join("\n");
    for t in 4..=7 {
        assert_eq!(all.matches(&format!("(#{t})")).count(), 1, "#{t}: {all}");
    }
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(posts[1].starts_with("1 comment, #7\n"), "{posts:?}");
    // The batch found is recorded (an erasure can edit it), and every line counts as shown.
    let storm = w.store.storm(1).await.unwrap().expect("storm");
    let shown = w.store.storm_batches_of_ticket(TicketId(5)).await.unwrap();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].chat.channel, storm.card.expect("card").message);
    let newest = w.store.storm_newest(1, 10).await.unwrap();
    let last = newest.iter().map(|l| l.seq).max().expect("lines");
    assert_eq!(storm.posted_upto, last);
    assert_eq!(
        w.store
            .count_jobs(switchboard::store::JobStatus::Pending)
            .await
            .unwrap(),
        0
    );
}

/// The give-up was long ago (ten minutes; Discord's nonce has expired): the next job looks
/// from when the job that gave up began, not from its own start, and still finds the batch.
#[tokio::test]
async fn a_batch_from_a_give_up_long_ago_is_found_from_when_that_job_began() {
    let (db, dir) = temp_sqlite();
    let ago = chrono::Duration::minutes(10);
    let w = lost_batch_storm(db.clone(), Some(dir), ago).await;
    // What is created from now on is dated now; the job that gave up began ten minutes ago.
    *w.discord_backdate.lock().expect("lock") = chrono::Duration::zero();
    assert_eq!(age_failed_jobs(&db, ago).await, 1);

    w.meta_webhook(&storm_comment(7)).await;
    w.settle().await;
    let (_, posts, lookups) = storm_thread(&w).await;
    // Looked from before the job that gave up began (less the minute of slack).
    let after: u64 = lookups[0].parse().expect("a snowflake");
    let from = chrono::DateTime::from_timestamp_millis((after >> 22) as i64 + 1_420_070_400_000)
        .expect("time");
    let age = chrono::Utc::now() - from;
    assert!(
        age > ago && age < ago + chrono::Duration::minutes(2),
        "{age}"
    );
    let all = posts.join("\n");
    for t in 4..=7 {
        assert_eq!(all.matches(&format!("(#{t})")).count(), 1, "#{t}: {all}");
    }
}

/// One customer writes again and again during a storm, so batches in a row start and end with
/// the same ticket. A batch Discord refused (nothing created), whose job gave up, is posted by
/// the next job: the look back does not take the batch recorded before it for this one.
#[tokio::test]
async fn a_refused_batch_is_posted_though_the_batch_before_names_the_same_tickets() {
    let w = discord_world(|c| {
        c.storm.enabled = true;
        c.storm.threshold = 3;
        c.storm.batch_max = 2;
        c.outbox.retry_budget_secs = 0;
    })
    .await;
    w.discord_ok("").await;
    let said = |n: u32, from: &str, text: &str| {
        comment_webhook(
            &format!("901_4{n}"),
            "1234567890321_77",
            from,
            &format!("Fan {from}"),
            text,
        )
    };
    for n in 1..=3 {
        w.meta_webhook(&said(n, &format!("556100{n}"), &format!("calm {n}")))
            .await;
        w.settle().await;
    }
    // Customer 5561009 (ticket #4) starts the storm and goes on writing.
    for n in 1..=2 {
        w.meta_webhook(&said(3 + n, "5561009", &format!("say {n}")))
            .await;
    }
    w.settle().await;
    w.discord_refused_batches
        .store(1, std::sync::atomic::Ordering::SeqCst);
    for n in 3..=4 {
        w.meta_webhook(&said(3 + n, "5561009", &format!("say {n}")))
            .await;
    }
    w.settle().await;
    let failed = w.store.count_jobs(switchboard::store::JobStatus::Failed);
    assert_eq!(failed.await.unwrap(), 1, "the refused batch's job gave up");
    w.meta_webhook(&said(8, "5561009", "say 5")).await;
    w.settle().await;
    let (_, posts, lookups) = storm_thread(&w).await;
    assert!(!lookups.is_empty(), "the next job looked in the thread");
    let all = posts.join("\n");
    // Once each, except the refused batch's (members join one at a time, so it held only
    // "say 3"): refused once, then posted.
    for (n, times) in [(1, 1), (2, 1), (3, 2), (4, 1), (5, 1)] {
        assert_eq!(
            all.matches(&format!("say {n}")).count(),
            times,
            "say {n}: {posts:#?}"
        );
    }
    assert!(
        posts
            .iter()
            .all(|p| p.starts_with("2 comments, #4 to #4\n") || p.starts_with("1 comment, #4\n")),
        "{posts:#?}"
    );
    let storm = w.store.storm(1).await.unwrap().expect("storm");
    let newest = w.store.storm_newest(1, 10).await.unwrap();
    assert_eq!(newest.len(), 5);
    assert_eq!(
        storm.posted_upto,
        newest.iter().map(|l| l.seq).max().expect("lines")
    );
    let shown = w.store.storm_batches_of_ticket(TicketId(4)).await.unwrap();
    let mut messages: Vec<_> = shown.iter().map(|b| b.chat.message.clone()).collect();
    messages.dedup();
    assert_eq!(
        messages.len(),
        3,
        "three batches, three messages: {shown:?}"
    );
}

/// Discord creates a thread batch but its answer is lost, and the job retries (its budget
/// holds): the retry looks in the thread first and records the batch it finds, so every
/// comment shows once and nothing is posted twice.
#[tokio::test]
async fn a_storm_batch_whose_answer_was_lost_is_found_by_the_retry() {
    let w = discord_world(|c| {
        c.storm.enabled = true;
        c.storm.threshold = 3;
        c.storm.batch_max = 5;
    })
    .await;
    w.discord_ok("").await;
    w.discord_lost_batches
        .store(1, std::sync::atomic::Ordering::SeqCst);
    for n in 1..=6 {
        w.meta_webhook(&storm_comment(n)).await;
    }
    w.settle().await;
    let (thread, posts, lookups) = storm_thread(&w).await;
    assert!(!lookups.is_empty(), "the retry looked in the thread");
    let all = posts.join("\n");
    for t in 4..=6 {
        assert_eq!(
            all.matches(&format!("(#{t})")).count(),
            1,
            "#{t}: {posts:#?}"
        );
    }
    assert_eq!(posts.len(), 1, "{posts:#?}");
    let shown = w.store.storm_batches_of_ticket(TicketId(4)).await.unwrap();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].chat.channel, thread);
    let failed = w.store.count_jobs(switchboard::store::JobStatus::Failed);
    assert_eq!(failed.await.unwrap(), 0);
}

/// Discord creates a ticket's card but its answer is lost, and the job gives up (a zero
/// budget). Ten minutes later, when Discord has forgotten the nonce, an operator brings the job
/// back (`outbox retry`): it finds the card it made among the bot's messages in the channel,
/// by the ticket's buttons, records it, and posts no second card.
#[tokio::test]
async fn a_card_posted_without_an_answer_is_found_when_its_job_is_brought_back() {
    let (db, dir) = temp_sqlite();
    let w = discord_world_in(db.clone(), Some(dir), |c| c.outbox.retry_budget_secs = 0).await;
    w.discord_ok("").await;
    w.discord_lost_cards
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let ago = chrono::Duration::minutes(10);
    *w.discord_backdate.lock().expect("lock") = ago;
    w.meta_webhook(&storm_comment(1)).await;
    w.settle().await;
    let failed = w.store.count_jobs(switchboard::store::JobStatus::Failed);
    assert_eq!(failed.await.unwrap(), 1, "the card's job gave up");
    assert!(w.store.card_of(TicketId(1)).await.unwrap().is_none());
    *w.discord_backdate.lock().expect("lock") = chrono::Duration::zero();
    assert_eq!(age_failed_jobs(&db, ago).await, 1);

    let brought_back = w.store.retry_failed_jobs(None, chrono::Utc::now());
    assert_eq!(brought_back.await.unwrap(), 1);
    w.settle().await;
    let at = format!("/api/v10/channels/{DCHANNEL}/messages");
    let all = w.discord.received_requests().await.unwrap_or_default();
    let count = |m: &str| {
        all.iter()
            .filter(|r| r.url.path() == at && r.method.as_str() == m)
            .count()
    };
    assert_eq!(count("POST"), 1, "one card, posted once");
    assert!(count("GET") >= 1, "the job looked in the channel");
    let card = w.store.card_of(TicketId(1)).await.unwrap().expect("card");
    assert_eq!(
        (card.channel.as_str(), card.message.as_str()),
        (DCHANNEL, CARD)
    );
    assert_eq!(
        w.store
            .count_jobs(switchboard::store::JobStatus::Pending)
            .await
            .unwrap(),
        0
    );
}

/// Discord creates a ticket's card but its answer is lost, and the job gives up. Ten minutes
/// later the customer writes again: their message finds no card and queues the card again (its
/// own lane). That job looks back from when the given-up one began, finds the card, shows the
/// ticket as it is now on it, and posts no second card; the new message goes to its thread.
#[tokio::test]
async fn a_card_reposted_after_a_give_up_finds_the_card_the_lost_attempt_made() {
    let (db, dir) = temp_sqlite();
    let w = discord_world_in(db.clone(), Some(dir), |c| c.outbox.retry_budget_secs = 0).await;
    w.discord_ok("").await;
    w.discord_lost_cards
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let ago = chrono::Duration::minutes(10);
    *w.discord_backdate.lock().expect("lock") = ago;
    w.meta_webhook(&storm_comment(1)).await;
    w.settle().await;
    let failed = w.store.count_jobs(switchboard::store::JobStatus::Failed);
    assert_eq!(failed.await.unwrap(), 1, "the card's job gave up");
    *w.discord_backdate.lock().expect("lock") = chrono::Duration::zero();
    assert_eq!(age_failed_jobs(&db, ago).await, 1);

    // The same customer on the same post: the same ticket.
    let again = comment_webhook(
        "901_29",
        "1234567890321_77",
        "5551001",
        "Fan 1",
        "anyone there?",
    );
    w.meta_webhook(&again).await;
    w.settle().await;
    let at = format!("/api/v10/channels/{DCHANNEL}/messages");
    let all = w.discord.received_requests().await.unwrap_or_default();
    let count = |m: &str, p: &str| {
        all.iter()
            .filter(|r| r.url.path() == p && r.method.as_str() == m)
            .count()
    };
    // Cards carry the ticket's buttons (the channel also gets a "wrote again" notice).
    let cards = all
        .iter()
        .filter(|r| r.url.path() == at && r.method.as_str() == "POST")
        .filter(|r| String::from_utf8_lossy(&r.body).contains("\"sb1:close:1\""))
        .count();
    assert_eq!(cards, 1, "one card, posted once");
    assert!(count("GET", &at) >= 1, "the re-post looked in the channel");
    // Refreshed as the ticket is now.
    assert!(count("PATCH", &format!("{at}/{CARD}")) >= 1);
    let card = w.store.card_of(TicketId(1)).await.unwrap().expect("card");
    assert_eq!(
        (card.channel.as_str(), card.message.as_str()),
        (DCHANNEL, CARD)
    );
    let thread = w
        .take_discord(&format!("/api/v10/channels/{CARD}/messages"))
        .await;
    assert!(
        thread.iter().any(|m| m.body["content"]
            .as_str()
            .is_some_and(|c| c.contains("anyone there?"))),
        "{thread:?}"
    );
    assert_eq!(
        w.store
            .count_jobs(switchboard::store::JobStatus::Pending)
            .await
            .unwrap(),
        0
    );
}
