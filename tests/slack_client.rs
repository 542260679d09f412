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
