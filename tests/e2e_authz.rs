//! Access scoped to the ticket's channel, end to end (the real router, signed requests, a real
//! database, the fakes): a teammate acts only on the tickets routed to the channel they act
//! from, every bulk verb needs a permission, and the admin list acts everywhere. Every refusal
//! is ephemeral, says why, stores nothing and lists nothing.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ed25519_dalek::{Signer, SigningKey};
use secrecy::SecretString;
use serde_json::{Value, json};
use support::discord::*;
use support::*;
use switchboard::config::{Config, PageConfig, RoutingRule};
use switchboard::core::{Assignee, Status, TicketId};

/// A second Page, whose cards go to their own channel.
const OTHER_PAGE: &str = "1234567890999";
const OTHER: &str = "C0OTHER";
/// A channel no account or rule sends tickets to.
const RANDOM: &str = "C0RANDOM";
/// The cards' timestamps: Jane's (ticket 1, in `CHANNEL`), Max's (ticket 2, in `OTHER`).
const JANE_CARD: &str = "1700000001.000100";

fn two_pages(c: &mut Config) {
    c.meta.pages.push(PageConfig {
        id: OTHER_PAGE.into(),
        name: "Beans & Co".into(),
        access_token: Some(SecretString::from("EAAG-other-token")),
        slack_channel: Some(OTHER.into()),
        discord_channel: None,
    });
}

/// A Page `feed` webhook with one comment on `page`.
fn comment_on(page: &str, n: u32, customer: &str, name: &str, text: &str) -> String {
    json!({
        "object": "page",
        "entry": [{
            "id": page, "time": 1700000000,
            "changes": [{"field": "feed", "value": {
                "item": "comment", "verb": "add",
                "comment_id": format!("901097836652708_90{n:05}"), "post_id": format!("{page}_777"),
                "parent_id": format!("{page}_777"),
                "from": {"id": customer, "name": name},
                "created_time": 1700000000, "message": text
            }}]
        }]
    })
    .to_string()
}

/// Ticket 1 (Jane, first Page, card in `CHANNEL`) and ticket 2 (Max, second Page, card in
/// `OTHER`).
async fn two_tickets(w: &World) {
    for (page, n, customer, name) in [
        (PAGE_ID, 1, "5550001", "Jane Doe"),
        (OTHER_PAGE, 2, "5550002", "Max Mustermann"),
    ] {
        let (s, _) = w
            .meta_webhook(&comment_on(page, n, customer, name, "Where is my refund?"))
            .await;
        assert_eq!(s, StatusCode::OK);
        w.settle().await;
    }
    let cards = w.take_slack("/chat.postMessage").await;
    let channels: Vec<&str> = cards
        .iter()
        .map(|c| c.body["channel"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(channels, [CHANNEL, OTHER]);
}

/// `/switchboard <text>` typed by `user` in `channel`.
async fn command_in(w: &World, channel: &str, user: &str, text: &str) -> String {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", "verification_token")
        .append_pair("team_id", TEAM)
        .append_pair("team_domain", "acme")
        .append_pair("channel_id", channel)
        .append_pair("channel_name", "somewhere")
        .append_pair("user_id", user)
        .append_pair("user_name", "u")
        .append_pair("command", "/switchboard")
        .append_pair("text", text)
        .append_pair("api_app_id", "A111")
        .append_pair("response_url", &w.response_url())
        .append_pair(
            "trigger_id",
            &format!("cmd-{}", chrono::Utc::now().timestamp_micros()),
        )
        .finish();
    let (s, answer) = w
        .slack_post(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            &body,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{answer}");
    answer
}

/// The ephemeral text of a command answer.
fn ephemeral_text(answer: &str) -> String {
    let v: Value = serde_json::from_str(answer).expect("JSON answer");
    assert_eq!(v["response_type"], "ephemeral", "{answer}");
    v["text"].as_str().unwrap_or_default().to_string()
}

async fn status(w: &World, id: i64) -> Status {
    w.store
        .ticket(TicketId(id))
        .await
        .unwrap()
        .expect("ticket")
        .state
        .status
}

/// What the store holds that a refusal must not change: inbox rows and every ticket.
async fn snapshot(w: &World) -> (i64, Vec<switchboard::core::Ticket>) {
    let mut tickets = Vec::new();
    for id in 1..=2 {
        if let Some(t) = w.store.ticket(TicketId(id)).await.unwrap() {
            tickets.push(t);
        }
    }
    (w.store.count_inbox().await.unwrap(), tickets)
}

// ---- Slack ------------------------------------------------------------------------------------

#[tokio::test]
async fn bulk_read_and_unread_need_the_bulk_permission_which_defaults_to_close() {
    let w = World::with(|c| {
        two_pages(c);
        c.permissions.close = vec!["UADMIN".into()];
    })
    .await;
    w.slack_ok().await;
    two_tickets(&w).await;
    let before = snapshot(&w).await;

    for verb in [
        "read status:unread",
        "unread status:unread",
        "close",
        "open",
    ] {
        let said = ephemeral_text(&command_in(&w, CHANNEL, "UANA", verb).await);
        assert!(said.contains("You are not allowed to"), "{verb}: {said}");
        assert!(said.contains("Nothing was changed"), "{verb}: {said}");
    }
    let said = ephemeral_text(&command_in(&w, CHANNEL, "UANA", "read").await);
    assert!(
        said.contains("mark tickets read or unread in bulk")
            && said
                .contains("`permissions.bulk`, which is `permissions.close` while it is not set"),
        "{said}"
    );
    w.settle().await;
    assert_eq!(
        snapshot(&w).await,
        before,
        "nothing stored, nothing changed"
    );

    // Someone on the close list may, and only on this channel's tickets.
    let said = ephemeral_text(&command_in(&w, CHANNEL, "UADMIN", "read status:unread").await);
    assert!(said.contains("Working on 1 matching tickets"), "{said}");
    w.settle().await;
    assert_eq!(status(&w, 1).await, Status::Read);
    assert_eq!(status(&w, 2).await, Status::Unread, "the other channel's");
    let updates = w.take_slack("/chat.update").await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].body["channel"], CHANNEL);
    let report = w.take_slack("/response/1").await;
    assert!(
        report[0].body.to_string().contains("Marked read 1 ticket."),
        "{}",
        report[0].body
    );
    w.finish().await;
}

#[tokio::test]
async fn a_bulk_permission_of_its_own_replaces_the_close_list() {
    let w = World::with(|c| {
        c.permissions.close = vec!["UADMIN".into()];
        c.permissions.bulk = Some(vec!["UANA".into()]);
    })
    .await;
    w.slack_ok().await;
    let (s, _) = w
        .meta_webhook(&comment_on(PAGE_ID, 1, "5550001", "Jane", "hi"))
        .await;
    assert_eq!(s, StatusCode::OK);
    w.settle().await;
    w.take_slack("/chat.postMessage").await;

    let said = ephemeral_text(&command_in(&w, CHANNEL, "UADMIN", "read").await);
    assert!(
        said.contains(
            "not allowed to mark tickets read or unread in bulk here (`permissions.bulk` in"
        ),
        "{said}"
    );
    let said = ephemeral_text(&command_in(&w, CHANNEL, "UANA", "close").await);
    assert!(said.contains("not allowed to close or reopen"), "{said}");
    let said = ephemeral_text(&command_in(&w, CHANNEL, "UANA", "read").await);
    assert!(said.contains("Working on 1"), "{said}");
    w.settle().await;
    assert_eq!(status(&w, 1).await, Status::Read);
    w.take_slack("/chat.update").await;
    w.take_slack("/response/1").await;
    w.finish().await;
}

#[tokio::test]
async fn queues_list_only_the_channels_own_tickets() {
    let w = World::with(two_pages).await;
    w.slack_ok().await;
    two_tickets(&w).await;

    // A channel member sees their own channel's queue, with links to its cards.
    let said = ephemeral_text(&command_in(&w, CHANNEL, "UANA", "queue unassigned").await);
    assert!(
        said.contains("Jane Doe")
            && said.contains("https://slack.com/archives/C0CARDS/p1700000001000100")
            && said.contains("1 tickets"),
        "{said}"
    );
    assert!(!said.contains("Max"), "{said}");
    let said = ephemeral_text(&command_in(&w, OTHER, "UANA", "queue unassigned").await);
    assert!(
        said.contains("Max Mustermann") && !said.contains("Jane"),
        "{said}"
    );

    // Anywhere else: said so, nothing listed.
    let before = snapshot(&w).await;
    for queue in ["unassigned", "mine", "team", "done"] {
        let said = ephemeral_text(&command_in(&w, RANDOM, "UANA", &format!("queue {queue}")).await);
        assert_eq!(said, switchboard::core::text::NOT_AN_INBOX_CHANNEL);
    }
    for verb in ["close", "read status:unread", "assign #1 me"] {
        let said = ephemeral_text(&command_in(&w, RANDOM, "UANA", verb).await);
        assert_eq!(
            said,
            switchboard::core::text::NOT_AN_INBOX_CHANNEL,
            "{verb}"
        );
    }
    w.settle().await;
    assert_eq!(snapshot(&w).await, before);
    w.finish().await;
}

#[tokio::test]
async fn bulk_actions_change_only_the_channels_tickets() {
    let w = World::with(two_pages).await;
    w.slack_ok().await;
    two_tickets(&w).await;

    // `account:` naming the other channel's Page matches nothing here.
    let said = ephemeral_text(
        &command_in(&w, CHANNEL, "UANA", &format!("close account:{OTHER_PAGE}")).await,
    );
    assert!(said.contains("No ticket matches"), "{said}");
    let said = ephemeral_text(&command_in(&w, OTHER, "UANA", "close status:unread").await);
    assert!(said.contains("Working on 1 matching tickets"), "{said}");
    w.settle().await;
    assert_eq!(status(&w, 1).await, Status::Unread);
    assert_eq!(status(&w, 2).await, Status::Closed);
    let updates = w.take_slack("/chat.update").await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].body["channel"], OTHER);
    assert!(
        w.take_slack("/response/1").await[0]
            .body
            .to_string()
            .contains("Closed 1 ticket.")
    );
    w.finish().await;
}

#[tokio::test]
async fn a_ticket_number_of_another_channel_is_refused() {
    let w = World::with(two_pages).await;
    w.slack_ok().await;
    two_tickets(&w).await;
    let before = snapshot(&w).await;

    let said = ephemeral_text(&command_in(&w, OTHER, "UANA", "assign #1 me please").await);
    assert_eq!(said, switchboard::core::text::ticket_not_here(1));
    assert!(said.contains("Ticket #1 is not in this channel"), "{said}");
    w.settle().await;
    assert_eq!(
        snapshot(&w).await,
        before,
        "nothing stored, nothing changed"
    );

    // In its own channel it works.
    let said = ephemeral_text(&command_in(&w, CHANNEL, "UANA", "assign #1 me").await);
    assert!(said.contains("Assigning ticket #1"), "{said}");
    w.settle().await;
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert!(matches!(t.state.assignee, Some(Assignee::Person(p)) if p.id.as_str() == "UANA"));
    w.take_slack("/chat.update").await;
    w.take_slack("/chat.postMessage").await;
    w.finish().await;
}

/// A click on a saved-reply search result's "Use" button (an ephemeral message in `channel`).
async fn use_click(w: &World, channel: &str, ticket: i64, saved: i64) -> (StatusCode, String) {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": "UANA", "username": "ana", "name": "ana", "team_id": TEAM},
        "api_app_id": "A111", "token": "verification_token",
        "container": {"type": "message", "message_ts": "1700000500.000001", "channel_id": channel,
                      "is_ephemeral": true},
        "trigger_id": format!("use-{ticket}-{}", chrono::Utc::now().timestamp_micros()),
        "team": {"id": TEAM, "domain": "acme"},
        "channel": {"id": channel, "name": "somewhere"},
        "response_url": w.response_url(),
        "actions": [{"type": "button", "action_id": format!("sb1:saved_reply:{ticket}"),
                     "block_id": format!("sr_{saved}"), "value": saved.to_string(),
                     "text": {"type": "plain_text", "text": "Use"},
                     "action_ts": "1700000500.000002"}],
        "state": {"values": {}}
    });
    w.interaction(&payload).await
}

#[tokio::test]
async fn saved_reply_use_works_only_for_the_channels_tickets() {
    let w = World::with(two_pages).await;
    w.slack_ok().await;
    two_tickets(&w).await;
    let saved = w
        .store
        .create_saved_reply(
            "Refund policy",
            "Hi {author_name}, refunds take 5 days.",
            "cli",
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
    let before = snapshot(&w).await;

    // Searching for another channel's ticket shows nothing.
    let answer = command_in(&w, OTHER, "UANA", "reply refund #1").await;
    let said = ephemeral_text(&answer);
    assert_eq!(said, switchboard::core::text::ticket_not_here(1));
    assert!(!answer.contains("Refund policy"), "{answer}");
    // A "Use" click for it (a result shown before, or a made-up one) opens nothing.
    let (s, _) = use_click(&w, OTHER, 1, saved.0).await;
    assert_eq!(s, StatusCode::OK);
    let told = w.take_slack("/chat.postEphemeral").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].body["channel"], OTHER);
    assert_eq!(told[0].body["user"], "UANA");
    assert!(
        told[0]
            .body
            .to_string()
            .contains("Ticket #1 is not in this channel"),
        "{}",
        told[0].body
    );
    assert!(w.take_slack("/views.open").await.is_empty(), "no editor");
    w.settle().await;
    assert_eq!(
        snapshot(&w).await,
        before,
        "nothing stored, nothing changed"
    );

    // From the ticket's own channel: results with Use, and Use opens the editor pre-filled.
    let answer = command_in(&w, CHANNEL, "UANA", "reply refund #1").await;
    assert!(
        answer.contains("Refund policy") && answer.contains("sb1:saved_reply:1"),
        "{answer}"
    );
    use_click(&w, CHANNEL, 1, saved.0).await;
    let opened = w.take_slack("/views.open").await;
    assert_eq!(opened.len(), 1);
    assert!(
        opened[0].body["view"]
            .to_string()
            .contains("Hi Jane Doe, refunds take 5 days."),
        "{}",
        opened[0].body
    );
    w.take_slack("/users.info").await;
    w.settle().await;
    w.take_slack("/chat.update").await;
    w.finish().await;
}

#[tokio::test]
async fn card_clicks_act_on_the_ticket_of_the_channel_they_come_from() {
    let w = World::with(two_pages).await;
    w.slack_ok().await;
    two_tickets(&w).await;
    let before = snapshot(&w).await;
    // A click naming ticket 1 that does not come from ticket 1's channel.
    let payload = json!({
        "type": "block_actions",
        "user": {"id": "UANA", "username": "ana", "name": "ana", "team_id": TEAM},
        "api_app_id": "A111", "token": "verification_token",
        "container": {"type": "message", "message_ts": "1700000002.000100", "channel_id": OTHER,
                      "is_ephemeral": false},
        "trigger_id": "forged.1", "team": {"id": TEAM, "domain": "acme"},
        "channel": {"id": OTHER, "name": "other"},
        "actions": [{"type": "button", "action_id": "sb1:close:1", "block_id": "actions",
                     "text": {"type": "plain_text", "text": "Close"}, "action_ts": "1.2"}],
        "state": {"values": {}}
    });
    w.interaction(&payload).await;
    w.settle().await;
    assert_eq!(snapshot(&w).await, before);
    let told = w.take_slack("/chat.postEphemeral").await;
    assert!(
        told[0]
            .body
            .to_string()
            .contains("Ticket #1 is not in this channel")
    );
    // On its own card it works.
    w.click("UANA", JANE_CARD, "sb1:close:1").await;
    w.settle().await;
    assert_eq!(status(&w, 1).await, Status::Closed);
    w.take_slack("/chat.update").await;
    w.finish().await;
}

#[tokio::test]
async fn admins_act_on_every_channels_tickets_from_anywhere() {
    let w = World::with(|c| {
        two_pages(c);
        c.permissions.admin = vec!["SADMINS".into()];
        c.permissions.close = vec!["ULEAD".into()];
        c.permissions.assign = vec!["ULEAD".into()];
    })
    .await;
    w.slack_ok().await;
    w.group("SADMINS", &["UBOSS"]);
    two_tickets(&w).await;

    let said = ephemeral_text(&command_in(&w, RANDOM, "UBOSS", "queue unassigned").await);
    assert!(
        said.contains("Jane Doe") && said.contains("Max Mustermann"),
        "{said}"
    );
    // An admin passes every rule too.
    let said = ephemeral_text(&command_in(&w, CHANNEL, "UBOSS", "assign #2 me").await);
    assert!(said.contains("Assigning ticket #2"), "{said}");
    let said = ephemeral_text(&command_in(&w, RANDOM, "UBOSS", "close").await);
    assert!(said.contains("Working on 2 matching tickets"), "{said}");
    w.settle().await;
    assert_eq!(status(&w, 1).await, Status::Closed);
    assert_eq!(status(&w, 2).await, Status::Closed);
    let t2 = w.store.ticket(TicketId(2)).await.unwrap().unwrap();
    assert!(matches!(t2.state.assignee, Some(Assignee::Person(p)) if p.id.as_str() == "UBOSS"));
    // …and a non-admin in the same spot does not.
    let said = ephemeral_text(&command_in(&w, RANDOM, "UANA", "queue unassigned").await);
    assert_eq!(said, switchboard::core::text::NOT_AN_INBOX_CHANNEL);
    w.take_slack("/chat.update").await;
    w.take_slack("/chat.postMessage").await;
    w.take_slack("/response/1").await;
    w.take_slack("/usergroups.users.list").await;
    w.finish().await;
}

/// The admin list names a user group and Slack cannot answer who is in it: teammates keep
/// the scope of their channel (their own tickets still work), and nobody gains more.
#[tokio::test]
async fn an_unanswered_admin_list_leaves_the_channel_scope() {
    let w = World::with(|c| {
        two_pages(c);
        c.permissions.admin = vec!["SADMINS".into()];
    })
    .await;
    w.slack_ok().await;
    w.group("SADMINS", &["UBOSS"]);
    two_tickets(&w).await;
    w.slack_fails("/usergroups.users.list", 20, 500).await;
    let card = w.store.card_of(TicketId(1)).await.unwrap().expect("card 1");
    assert_eq!(
        w.click("UANA", &card.message, "sb1:close:1").await.0,
        StatusCode::OK
    );
    w.settle().await;
    assert_eq!(status(&w, 1).await, Status::Closed);
    // The admin, unconfirmed, has no reach beyond an inbox channel meanwhile.
    let said = ephemeral_text(&command_in(&w, RANDOM, "UBOSS", "queue unassigned").await);
    assert_eq!(said, switchboard::core::text::NOT_AN_INBOX_CHANNEL);
    w.take_slack("/chat.update").await;
    w.take_slack("/chat.postMessage").await;
    w.take_slack("/usergroups.users.list").await;
    w.finish().await;
}

// ---- Discord ----------------------------------------------------------------------------------

/// A Discord channel nothing is configured for.
const UNCONFIGURED: &str = "645027906669510999";
/// A member with no useful role.
const NOBODY: &str = "222";
const ADMIN: &str = "333";
const ADMIN_ROLE: &str = "539082325061836777";

/// The private half of `PUBLIC_KEY`: seed 0x00..0x1f.
fn key() -> SigningKey {
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
    SigningKey::from_bytes(&seed)
}

/// A signed, fresh interaction over HTTP; the answer as JSON.
async fn interact(w: &World, body: &Value) -> Value {
    let ts = chrono::Utc::now().timestamp();
    let body = body.to_string();
    let sig = key().sign(format!("{ts}{body}").as_bytes());
    let req = Request::post("/discord/interactions")
        .header("content-type", "application/json")
        .header("x-signature-timestamp", ts.to_string())
        .header("x-signature-ed25519", hex::encode(sig.to_bytes()))
        .body(Body::from(body))
        .unwrap();
    let (s, text) = w.send(req).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    serde_json::from_str(&text).expect("JSON answer")
}

/// `/inbox …` typed by `user` in `channel` (a thread when `parent` is given).
fn slash(
    id: &str,
    channel: &str,
    parent: Option<&str>,
    user: &str,
    roles: &[&str],
    options: Value,
) -> Value {
    let mut v = json!({
        "id": id, "application_id": APP_ID, "type": 2, "token": format!("token-{id}"),
        "version": 1, "guild_id": GUILD, "channel_id": channel,
        "channel": {"id": channel, "type": 0, "guild_id": GUILD},
        "member": member(user, roles),
        "data": {"id": "1000000000000000500", "name": "inbox", "type": 1, "options": options}
    });
    if let Some(p) = parent {
        v["channel"]["type"] = json!(11);
        v["channel"]["parent_id"] = json!(p);
    }
    v
}

fn queue(name: &str) -> Value {
    json!([{"type": 1, "name": "queue", "options": [{"type": 3, "name": "name", "value": name}]}])
}

fn bulk(action: &str, filter: &str) -> Value {
    json!([{"type": 1, "name": "bulk", "options": [
        {"type": 3, "name": "action", "value": action},
        {"type": 3, "name": "filter", "value": filter}]}])
}

/// Whether a Discord answer is `text` (Discord shows `:no_entry:` as the emoji itself).
fn is_text(said: &str, text: &str) -> bool {
    said.ends_with(text.trim_start_matches(":no_entry: ")) && said.starts_with('⛔')
}

fn content(answer: &Value) -> String {
    assert_eq!(answer["data"]["flags"], 64, "ephemeral: {answer}");
    answer["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A Discord world whose Page posts to `DCHANNEL`, with the forum an inbox too (a rule no
/// ticket here matches), `close` for the moderators' role and an admin role.
async fn discord_inbox() -> World {
    let w = discord_world(|c| {
        c.routing = vec![RoutingRule {
            name: None,
            network: None,
            kind: None,
            keyword: Some("for the forum only".into()),
            slack_channel: None,
            discord_channel: Some(FORUM.into()),
            reply_as: Default::default(),
        }];
        let d = c.discord.as_mut().expect("discord");
        d.permissions.close = vec![MOD_ROLE.into()];
        d.permissions.admin = vec![ADMIN_ROLE.into()];
    })
    .await;
    assert_eq!(w.svc.config.validate(), Vec::<String>::new());
    w.discord_ok("").await;
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
    let posted = w
        .take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages"))
        .await;
    assert_eq!(posted.len(), 1, "ticket 1's card, in the text channel");
    w.take_discord_matching("^/api/v10/channels/").await;
    w
}

/// The card message id the fake handed out for the first post (= its thread's id).
const CARD: &str = "1000000000000200001";

#[tokio::test]
async fn discord_the_command_is_for_moderators_and_unconfigured_channels_get_nothing() {
    let w = discord_inbox().await;
    switchboard::server::gateway::register_commands(&w.svc)
        .await
        .expect("registered");
    let registered = w
        .take_discord(&format!(
            "/api/v10/applications/{APP_ID}/guilds/{GUILD}/commands"
        ))
        .await;
    assert_eq!(registered.len(), 1);
    assert_eq!(
        registered[0].body[0]["default_member_permissions"], "8192",
        "Manage Messages"
    );

    let before = snapshot(&w).await;
    for (n, options) in [
        queue("unassigned"),
        queue("done"),
        bulk("close", "status:unread"),
        json!([{"type": 1, "name": "assign", "options": [{"type": 4, "name": "ticket", "value": 1}]}]),
    ]
    .into_iter()
    .enumerate()
    {
        let answer = interact(
            &w,
            &slash(&format!("81{n}"), UNCONFIGURED, None, MOD, &[MOD_ROLE], options),
        )
        .await;
        let said = content(&answer);
        assert!(
            is_text(&said, switchboard::core::text::NOT_AN_INBOX_CHANNEL),
            "{answer}"
        );
        assert!(!said.contains("Jane"));
    }
    // A thread whose parent is not an inbox either.
    let answer = interact(
        &w,
        &slash(
            "820",
            "777",
            Some(UNCONFIGURED),
            MOD,
            &[MOD_ROLE],
            queue("unassigned"),
        ),
    )
    .await;
    assert!(is_text(
        &content(&answer),
        switchboard::core::text::NOT_AN_INBOX_CHANNEL
    ));
    w.settle().await;
    assert_eq!(
        snapshot(&w).await,
        before,
        "nothing stored, nothing changed"
    );

    // In the channel, or in a card's thread there, the member sees its queue.
    for (id, channel, parent) in [("830", DCHANNEL, None), ("831", CARD, Some(DCHANNEL))] {
        let answer = interact(
            &w,
            &slash(id, channel, parent, MOD, &[MOD_ROLE], queue("unassigned")),
        )
        .await;
        let said = content(&answer);
        assert!(
            said.contains("Jane")
                && said.contains(&format!(
                    "https://discord.com/channels/{GUILD}/{DCHANNEL}/{CARD}"
                )),
            "{said}"
        );
    }
    // Another inbox channel (the forum) lists none of this channel's tickets.
    let said = content(
        &interact(
            &w,
            &slash(
                "832",
                "888",
                Some(FORUM),
                MOD,
                &[MOD_ROLE],
                queue("unassigned"),
            ),
        )
        .await,
    );
    assert!(
        said.contains("nothing here") && !said.contains("Jane"),
        "{said}"
    );
    w.finish().await;
}

#[tokio::test]
async fn discord_members_without_the_role_cannot_bulk() {
    let w = discord_inbox().await;
    let before = snapshot(&w).await;
    for (id, action) in [
        ("840", "read"),
        ("841", "unread"),
        ("842", "close"),
        ("843", "reopen"),
    ] {
        let answer = interact(
            &w,
            &slash(id, DCHANNEL, None, NOBODY, &["5"], bulk(action, "")),
        )
        .await;
        let said = content(&answer);
        assert!(
            said.contains("You are not allowed to") && said.contains("Nothing was changed"),
            "{action}: {said}"
        );
    }
    w.settle().await;
    assert_eq!(
        snapshot(&w).await,
        before,
        "nothing stored, nothing changed"
    );

    // With the role: done, as a follow-up.
    let said = content(
        &interact(
            &w,
            &slash(
                "844",
                DCHANNEL,
                None,
                MOD,
                &[MOD_ROLE],
                bulk("read", "status:unread"),
            ),
        )
        .await,
    );
    assert!(said.contains("Working on 1"), "{said}");
    w.settle().await;
    assert_eq!(status(&w, 1).await, Status::Read);
    let followups = w
        .take_discord(&format!("/api/v10/webhooks/{APP_ID}/token-844"))
        .await;
    assert!(
        followups[0]
            .body
            .to_string()
            .contains("Marked read 1 ticket.")
    );
    w.take_discord_matching("^/api/v10/channels/").await;
    w.finish().await;
}

#[tokio::test]
async fn discord_foreign_tickets_are_refused_and_admins_reach_everywhere() {
    let w = discord_inbox().await;
    let saved = w
        .store
        .create_saved_reply(
            "Vegan",
            "Yes {author_name}, it is!",
            "cli",
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
    let before = snapshot(&w).await;

    // `assign` of ticket 1 from the forum (another inbox): refused.
    let assign = json!([{"type": 1, "name": "assign", "options": [
        {"type": 4, "name": "ticket", "value": 1}, {"type": 6, "name": "who", "value": MOD}]}]);
    let said = content(
        &interact(
            &w,
            &slash("850", "888", Some(FORUM), MOD, &[MOD_ROLE], assign.clone()),
        )
        .await,
    );
    assert!(
        is_text(&said, &switchboard::core::text::ticket_not_here(1)),
        "{said}"
    );
    // The saved-reply select for ticket 1, used from the forum: no editor.
    let mut pick = button_interaction(
        "851",
        "sb1sr:use:1",
        MOD,
        &[MOD_ROLE],
        "888",
        "1000000000000209999",
    );
    pick["channel"] = json!({"id": "888", "type": 11, "parent_id": FORUM});
    pick["data"] = json!({"custom_id": "sb1sr:use:1", "component_type": 3,
                          "values": [saved.0.to_string()]});
    let answer = interact(&w, &pick).await;
    assert_ne!(answer["type"], 9, "no modal: {answer}");
    assert!(is_text(
        &content(&answer),
        &switchboard::core::text::ticket_not_here(1)
    ));
    // A card button naming ticket 1, clicked anywhere but on its card.
    let click = button_interaction(
        "852",
        "sb1:close:1",
        MOD,
        &[MOD_ROLE],
        FORUM,
        "1000000000000209998",
    );
    assert!(is_text(
        &content(&interact(&w, &click).await),
        &switchboard::core::text::ticket_not_here(1)
    ));
    // A bulk from the forum finds none of the text channel's tickets.
    let said = content(
        &interact(
            &w,
            &slash(
                "856",
                "888",
                Some(FORUM),
                MOD,
                &[MOD_ROLE],
                bulk("close", ""),
            ),
        )
        .await,
    );
    assert_eq!(said, switchboard::core::text::NO_MATCH);
    w.settle().await;
    assert_eq!(
        snapshot(&w).await,
        before,
        "nothing stored, nothing changed"
    );

    // From its own channel the select opens the editor, pre-filled.
    let mut pick = pick.clone();
    pick["id"] = json!("853");
    pick["channel_id"] = json!(DCHANNEL);
    pick["channel"] = json!({"id": DCHANNEL, "type": 0});
    let answer = interact(&w, &pick).await;
    assert_eq!(answer["type"], 9, "{answer}");
    assert!(answer.to_string().contains("Yes Jane, it is!"), "{answer}");

    // An admin, from a channel nothing is routed to: the queue, and an assignment.
    let said = content(
        &interact(
            &w,
            &slash(
                "854",
                UNCONFIGURED,
                None,
                ADMIN,
                &[ADMIN_ROLE],
                queue("unassigned"),
            ),
        )
        .await,
    );
    assert!(said.contains("Jane"), "{said}");
    let said = content(
        &interact(
            &w,
            &slash("855", UNCONFIGURED, None, ADMIN, &[ADMIN_ROLE], assign),
        )
        .await,
    );
    assert!(said.contains("Assigning ticket #1"), "{said}");
    w.settle().await;
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert!(matches!(t.state.assignee, Some(Assignee::Person(p)) if p.id.as_str() == MOD));
    w.take_discord_matching("^/api/v10/channels/").await;
    w.take_discord_matching("^/api/v10/users/").await;
    w.finish().await;
}
