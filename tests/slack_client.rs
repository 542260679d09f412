//! The Slack Web API client against a wiremock fake that answers in Slack's real format.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use slack_morphism::prelude::{SlackBlockMarkDownText, SlackMessageContent, SlackSectionBlock};
use switchboard::chat::slack::render;
use switchboard::chat::slack::{SlackCallError, SlackClient};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "xoxb-1111-2222-test";

async fn setup() -> (MockServer, SlackClient) {
    let server = MockServer::start().await;
    let client = SlackClient::new(
        &format!("{}/api", server.uri()),
        SecretString::from(TOKEN.to_string()),
    )
    .unwrap();
    (server, client)
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn slack_error(code: &str) -> ResponseTemplate {
    ok(json!({"ok": false, "error": code, "response_metadata": {"messages": []}}))
}

fn posted(channel: &str, ts: &str, thread_ts: Option<&str>) -> Value {
    let mut message = json!({
        "type": "message",
        "subtype": "bot_message",
        "text": "hello",
        "ts": ts,
        "username": "Switchboard",
        "bot_id": "B0SWITCH",
        "app_id": "A111",
        "team": "T111",
        "bot_profile": {
            "id": "B0SWITCH",
            "deleted": false,
            "name": "Switchboard",
            "updated": 1700000000,
            "app_id": "A111",
            "team_id": "T111"
        },
        "blocks": []
    });
    if let Some(t) = thread_ts {
        message["thread_ts"] = json!(t);
        message["parent_user_id"] = json!("U0BOT");
    }
    json!({"ok": true, "channel": channel, "ts": ts, "message": message})
}

#[tokio::test]
async fn post_message_returns_ts_and_sends_blocks_with_the_bearer_token() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ok(posted(
            "C1",
            "1700000001.000200",
            Some("1700000000.000100"),
        )))
        .expect(1)
        .mount(&server)
        .await;

    let content = render::thread_customer_message("Jane", "where is my order?", false, false)
        .with_blocks(vec![
            SlackSectionBlock::new()
                .with_text(SlackBlockMarkDownText::new("*Jane*: where is my order?".into()).into())
                .into(),
        ]);
    let ts = client
        .post_message("C1", Some("1700000000.000100"), content)
        .await
        .unwrap();
    assert_eq!(ts, "1700000001.000200");

    let received = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(body["channel"], "C1");
    assert_eq!(body["thread_ts"], "1700000000.000100");
    assert_eq!(body["text"], "*Jane*: where is my order?");
    assert_eq!(
        body["blocks"],
        json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*Jane*: where is my order?"}}])
    );
}

#[tokio::test]
async fn post_message_of_a_card_sends_its_blocks() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ok(posted("C1", "1.2", None)))
        .mount(&server)
        .await;
    let content = SlackMessageContent::new()
        .with_text("fallback".into())
        .with_blocks(vec![
            SlackSectionBlock::new()
                .with_text(SlackBlockMarkDownText::new("*hi*".into()).into())
                .into(),
        ]);
    assert_eq!(
        client.post_message("C1", None, content).await.unwrap(),
        "1.2"
    );
    let received = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert!(body.get("thread_ts").is_none());
    assert_eq!(body["blocks"][0]["type"], "section");
    assert_eq!(
        body["blocks"][0]["text"],
        json!({"type": "mrkdwn", "text": "*hi*"})
    );
}

#[tokio::test]
async fn rate_limit_carries_retry_after() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "3")
                .set_body_json(json!({"ok": false, "error": "ratelimited"})),
        )
        .expect(1) // slack-morphism's own retries are off
        .mount(&server)
        .await;
    let err = client
        .post_message("C1", None, render::plain("hi"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SlackCallError::RateLimited {
            retry_after: Some(Duration::from_secs(3))
        }
    );
}

#[tokio::test]
async fn api_errors_are_permanent() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(slack_error("channel_not_found"))
        .mount(&server)
        .await;
    let err = client
        .post_message("C404", None, render::plain("hi"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SlackCallError::Permanent {
            code: "channel_not_found".into()
        }
    );
}

#[tokio::test]
async fn server_errors_are_retryable() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.update"))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream exploded"))
        .mount(&server)
        .await;
    let err = client
        .update_message("C1", "1.2", render::plain("hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, SlackCallError::Retryable(_)), "{err:?}");
}

#[tokio::test]
async fn slack_internal_errors_are_retryable() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.update"))
        .respond_with(slack_error("internal_error"))
        .mount(&server)
        .await;
    let err = client
        .update_message("C1", "1.2", render::plain("hi"))
        .await
        .unwrap_err();
    assert_eq!(err, SlackCallError::Retryable("internal_error".into()));
}

#[tokio::test]
async fn connection_errors_are_retryable() {
    // A port nobody listens on: bind, note it, drop.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = SlackClient::new(
        &format!("http://127.0.0.1:{port}/api"),
        SecretString::from(TOKEN.to_string()),
    )
    .unwrap();
    let err = client
        .post_message("C1", None, render::plain("hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, SlackCallError::Retryable(_)), "{err:?}");
}

#[tokio::test]
async fn update_message_sends_channel_ts_and_content() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.update"))
        .and(body_partial_json(json!({"channel": "C1", "ts": "1.2", "text": "new"})))
        .respond_with(ok(json!({
            "ok": true,
            "channel": "C1",
            "ts": "1.2",
            "text": "new",
            "message": {"text": "new", "user": "U0BOT", "bot_id": "B0SWITCH", "type": "message", "blocks": []}
        })))
        .expect(1)
        .mount(&server)
        .await;
    client
        .update_message("C1", "1.2", render::plain("new"))
        .await
        .unwrap();
}

#[tokio::test]
async fn reactions_tolerate_already_done() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/reactions.add"))
        .and(body_partial_json(
            json!({"channel": "C1", "timestamp": "1.2", "name": render::REACTION_QUEUED}),
        ))
        .respond_with(slack_error("already_reacted"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/reactions.remove"))
        .and(body_partial_json(
            json!({"channel": "C1", "timestamp": "1.2", "name": render::REACTION_QUEUED}),
        ))
        .respond_with(slack_error("no_reaction"))
        .expect(1)
        .mount(&server)
        .await;
    client
        .add_reaction("C1", "1.2", render::REACTION_QUEUED)
        .await
        .unwrap();
    client
        .remove_reaction("C1", "1.2", render::REACTION_QUEUED)
        .await
        .unwrap();
}

#[tokio::test]
async fn reactions_succeed_and_fail() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/reactions.add"))
        .and(body_partial_json(
            json!({"name": render::REACTION_DELIVERED}),
        ))
        .respond_with(ok(json!({"ok": true})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/reactions.add"))
        .and(body_partial_json(json!({"name": render::REACTION_FAILED})))
        .respond_with(slack_error("message_not_found"))
        .mount(&server)
        .await;
    client
        .add_reaction("C1", "1.2", render::REACTION_DELIVERED)
        .await
        .unwrap();
    assert_eq!(
        client
            .add_reaction("C1", "1.2", render::REACTION_FAILED)
            .await
            .unwrap_err(),
        SlackCallError::Permanent {
            code: "message_not_found".into()
        }
    );
}

#[tokio::test]
async fn post_ephemeral() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postEphemeral"))
        .and(body_partial_json(
            json!({"channel": "C1", "user": "U0ANA", "text": "Only you"}),
        ))
        .respond_with(ok(json!({"ok": true, "message_ts": "1502210682.580145"})))
        .expect(1)
        .mount(&server)
        .await;
    client
        .post_ephemeral("C1", "U0ANA", "Only you")
        .await
        .unwrap();
}

#[tokio::test]
async fn debug_output_hides_the_token() {
    let (_server, client) = setup().await;
    let debug = format!("{client:?}");
    assert!(!debug.contains(TOKEN), "{debug}");
}

#[tokio::test]
async fn post_message_broadcast_sets_reply_broadcast() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(body_partial_json(
            json!({"channel": "C1", "thread_ts": "1.0", "reply_broadcast": true}),
        ))
        .respond_with(ok(posted("C1", "2.0", Some("1.0"))))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client
            .post_message_broadcast("C1", "1.0", render::plain("hi"))
            .await
            .unwrap(),
        "2.0"
    );
}

fn opened_view(id: &str, callback_id: &str) -> Value {
    json!({
        "ok": true,
        "view": {
            "id": id,
            "team_id": "T111",
            "type": "modal",
            "title": {"type": "plain_text", "text": "Reply to the customer", "emoji": true},
            "close": {"type": "plain_text", "text": "Cancel", "emoji": true},
            "submit": {"type": "plain_text", "text": "Send", "emoji": true},
            "blocks": [],
            "private_metadata": "",
            "callback_id": callback_id,
            "state": {"values": {}},
            "hash": "1596530361.3wRYuk3R",
            "clear_on_close": false,
            "notify_on_close": true,
            "previous_view_id": null,
            "root_view_id": id,
            "app_id": "A111",
            "external_id": "",
            "app_installed_team_id": "T111",
            "bot_id": "B111"
        },
        "response_metadata": {"messages": []}
    })
}

#[tokio::test]
async fn open_and_update_view() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/views.open"))
        .and(body_partial_json(json!({
            "trigger_id": "111.222.valid",
            "view": {"type": "modal", "callback_id": "sb1:reply_modal:42", "notify_on_close": true}
        })))
        .respond_with(ok(opened_view("V1", "sb1:reply_modal:42")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/views.update"))
        .and(body_partial_json(
            json!({"view_id": "V1", "view": {"callback_id": "sb1:reply_modal:42"}}),
        ))
        .respond_with(ok(opened_view("V1", "sb1:reply_modal:42")))
        .expect(1)
        .mount(&server)
        .await;
    let view = render::reply_modal(switchboard::core::TicketId(42), "Hello");
    assert_eq!(
        client
            .open_view("111.222.valid", view.clone())
            .await
            .unwrap(),
        "V1"
    );
    client.update_view("V1", view).await.unwrap();
}

#[tokio::test]
async fn open_view_with_an_expired_trigger_is_permanent() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/views.open"))
        .respond_with(slack_error("expired_trigger_id"))
        .mount(&server)
        .await;
    let view = render::saved_reply_modal(None);
    assert_eq!(
        client.open_view("1.2", view).await.unwrap_err(),
        SlackCallError::Permanent {
            code: "expired_trigger_id".into()
        }
    );
}

#[tokio::test]
async fn permalink() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/chat.getPermalink"))
        .and(wiremock::matchers::query_param("channel", "C1"))
        .and(wiremock::matchers::query_param("message_ts", "1.2"))
        .respond_with(ok(json!({
            "ok": true,
            "channel": "C1",
            "permalink": "https://acme.slack.com/archives/C1/p1000000000000200?thread_ts=1.0&cid=C1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client.permalink("C1", "1.2").await.unwrap(),
        "https://acme.slack.com/archives/C1/p1000000000000200?thread_ts=1.0&cid=C1"
    );
}

fn user_info(display_name: &str, real_name: &str) -> Value {
    json!({
        "ok": true,
        "user": {
            "id": "U0ANA",
            "team_id": "T111",
            "name": "ana",
            "deleted": false,
            "color": "9f69e7",
            "real_name": real_name,
            "tz": "Europe/Lisbon",
            "tz_label": "Western European Time",
            "tz_offset": 0,
            "profile": {
                "avatar_hash": "ge3b51ca72de",
                "status_text": "",
                "status_emoji": "",
                "real_name": real_name,
                "display_name": display_name,
                "real_name_normalized": real_name,
                "display_name_normalized": display_name,
                "email": "ana@example.com",
                "image_24": "https://example.com/a24.jpg",
                "image_32": "https://example.com/a32.jpg",
                "image_48": "https://example.com/a48.jpg",
                "image_72": "https://example.com/a72.jpg",
                "image_192": "https://example.com/a192.jpg",
                "image_512": "https://example.com/a512.jpg",
                "team": "T111",
                "phone": "",
                "title": ""
            },
            "is_admin": false,
            "is_owner": false,
            "is_primary_owner": false,
            "is_restricted": false,
            "is_ultra_restricted": false,
            "is_bot": false,
            "updated": 1502138686,
            "is_app_user": false,
            "has_2fa": false
        }
    })
}

#[tokio::test]
async fn user_name_prefers_display_name() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/users.info"))
        .and(wiremock::matchers::query_param("user", "U0ANA"))
        .respond_with(ok(user_info("Ana", "Ana Silva")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    assert_eq!(client.user_name("U0ANA").await.unwrap(), "Ana");
    Mock::given(method("GET"))
        .and(path("/api/users.info"))
        .respond_with(ok(user_info("", "Ana Silva")))
        .mount(&server)
        .await;
    assert_eq!(client.user_name("U0ANA").await.unwrap(), "Ana Silva");
}

#[tokio::test]
async fn user_name_of_an_unknown_user() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/users.info"))
        .respond_with(slack_error("user_not_found"))
        .mount(&server)
        .await;
    assert_eq!(
        client.user_name("U404").await.unwrap_err(),
        SlackCallError::Permanent {
            code: "user_not_found".into()
        }
    );
}

#[tokio::test]
async fn usergroup_members() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/usergroups.users.list"))
        .and(wiremock::matchers::query_param("usergroup", "S0604QSJC"))
        .respond_with(ok(json!({"ok": true, "users": ["U060R4BJ4", "W123A4BC5"]})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client.usergroup_members("S0604QSJC").await.unwrap(),
        ["U060R4BJ4", "W123A4BC5"]
    );
}

#[tokio::test]
async fn post_to_response_url() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/commands/T111/1/ok"))
        .and(body_partial_json(json!({"response_type": "ephemeral"})))
        .respond_with(ok(json!({"ok": true})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/commands/T111/1/expired"))
        .respond_with(ResponseTemplate::new(404).set_body_string("expired_url"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/commands/T111/1/bad"))
        .respond_with(ok(json!({"ok": false, "error": "invalid_blocks"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/commands/T111/1/busy"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "7"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/commands/T111/1/down"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    // The token never goes to a response URL.
    Mock::given(method("POST"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(418))
        .expect(0)
        .mount(&server)
        .await;
    let body = render::saved_reply_search_results("x", &[], None);
    let url = |p: &str| format!("{}/commands/T111/1/{p}", server.uri());
    client
        .post_to_response_url(&url("ok"), body.clone())
        .await
        .unwrap();
    assert_eq!(
        client
            .post_to_response_url(&url("expired"), body.clone())
            .await
            .unwrap_err(),
        SlackCallError::Permanent {
            code: "expired_url".into()
        }
    );
    assert_eq!(
        client
            .post_to_response_url(&url("bad"), body.clone())
            .await
            .unwrap_err(),
        SlackCallError::Permanent {
            code: "invalid_blocks".into()
        }
    );
    assert_eq!(
        client
            .post_to_response_url(&url("busy"), body.clone())
            .await
            .unwrap_err(),
        SlackCallError::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert!(matches!(
        client
            .post_to_response_url(&url("down"), body.clone())
            .await
            .unwrap_err(),
        SlackCallError::Retryable(_)
    ));
    assert!(matches!(
        client
            .post_to_response_url("not a url", body)
            .await
            .unwrap_err(),
        SlackCallError::Permanent { .. }
    ));
}
