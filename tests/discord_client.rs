//! The Discord REST client against a wiremock fake: paths, auth, error mapping, and its own
//! pacing (per-route buckets from `X-RateLimit-*`, 429 `retry_after`, the global limit).

use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::json;
use switchboard::chat::discord::{DiscordClient, DiscordError};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn client() -> (MockServer, DiscordClient) {
    let server = MockServer::start().await;
    let c = DiscordClient::new(
        &server.uri(),
        SecretString::from("tok"),
        reqwest::Client::new(),
    )
    .expect("client");
    (server, c)
}

fn msg(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"id": id, "channel_id": "1"}))
}

#[tokio::test]
async fn messages_are_posted_with_the_bot_token() {
    let (s, c) = client().await;
    Mock::given(method("POST"))
        .and(path("/api/v10/channels/1/messages"))
        .and(header("authorization", "Bot tok"))
        .respond_with(msg("55"))
        .expect(1)
        .mount(&s)
        .await;
    assert_eq!(
        c.create_message("1", &json!({"content": "hi"})).await,
        Ok("55".into())
    );
}

/// Discord requires `User-Agent: DiscordBot ($url, $versionNumber)` on every REST call,
/// authenticated or not (discord-api-docs, Reference → User Agent).
#[tokio::test]
async fn every_call_sends_the_discord_bot_user_agent() {
    let (s, c) = client().await;
    Mock::given(method("POST"))
        .and(path("/api/v10/channels/1/messages"))
        .respond_with(msg("56"))
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v10/interactions/9/tok9/callback"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&s)
        .await;
    c.create_message("1", &json!({"content": "hi"}))
        .await
        .expect("posted");
    c.interaction_callback("9", "tok9", &json!({"type": 6}))
        .await
        .expect("answered");
    // (wiremock's `header` matcher splits values at commas, so compare the raw header.)
    let agent = format!(
        "DiscordBot (https://github.com/switchboard-inbox/switchboard, {})",
        env!("CARGO_PKG_VERSION")
    );
    let seen = s.received_requests().await.expect("recording");
    assert_eq!(seen.len(), 2);
    for r in seen {
        assert_eq!(
            r.headers.get("user-agent").and_then(|v| v.to_str().ok()),
            Some(agent.as_str()),
            "{}",
            r.url.path()
        );
    }
}

#[tokio::test]
async fn an_exhausted_bucket_is_waited_for_or_reported() {
    let (s, c) = client().await;
    // The first answer says the bucket is empty for 0.3 s: the next call waits that long.
    Mock::given(method("POST"))
        .and(path("/api/v10/channels/1/messages"))
        .respond_with(
            msg("1")
                .insert_header("X-RateLimit-Bucket", "b1")
                .insert_header("X-RateLimit-Limit", "5")
                .insert_header("X-RateLimit-Remaining", "0")
                .insert_header("X-RateLimit-Reset-After", "0.3"),
        )
        .mount(&s)
        .await;
    c.create_message("1", &json!({})).await.expect("first");
    let t = Instant::now();
    c.create_message("1", &json!({})).await.expect("second");
    assert!(
        t.elapsed() >= Duration::from_millis(280),
        "{:?}",
        t.elapsed()
    );

    // A bucket empty for longer than the inline wait is reported, without a request.
    Mock::given(method("POST"))
        .and(path("/api/v10/channels/2/messages"))
        .respond_with(
            msg("2")
                .insert_header("X-RateLimit-Remaining", "0")
                .insert_header("X-RateLimit-Reset-After", "30"),
        )
        .mount(&s)
        .await;
    c.create_message("2", &json!({})).await.expect("first");
    let before = s.received_requests().await.unwrap().len();
    match c.create_message("2", &json!({})).await {
        Err(DiscordError::RateLimited { retry_after }) => {
            assert!(retry_after > Duration::from_secs(25))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.received_requests().await.unwrap().len(), before);
}

#[tokio::test]
async fn a_global_429_holds_every_route() {
    let (s, c) = client().await;
    Mock::given(method("POST"))
        .and(path("/api/v10/channels/1/messages"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("X-RateLimit-Global", "true")
                .insert_header("X-RateLimit-Scope", "global")
                .set_body_json(json!({"message": "You are being rate limited.", "retry_after": 0.4, "global": true})),
        )
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v10/channels/2/messages"))
        .respond_with(msg("9"))
        .mount(&s)
        .await;
    assert_eq!(
        c.create_message("1", &json!({})).await,
        Err(DiscordError::RateLimited {
            retry_after: Duration::from_millis(400)
        })
    );
    let t = Instant::now();
    c.create_message("2", &json!({}))
        .await
        .expect("after the global wait");
    assert!(
        t.elapsed() >= Duration::from_millis(350),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn errors_are_classified() {
    let (s, c) = client().await;
    Mock::given(method("PATCH"))
        .and(path("/api/v10/channels/1/messages/2"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"code": 50013, "message": "Missing Permissions"})),
        )
        .mount(&s)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/api/v10/channels/1/messages/3"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&s)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"code": 10014, "message": "Unknown Emoji"})),
        )
        .mount(&s)
        .await;
    assert_eq!(
        c.edit_message("1", "2", &json!({})).await,
        Err(DiscordError::Permanent {
            status: 403,
            code: 50013,
            message: "Missing Permissions".into()
        })
    );
    assert!(matches!(
        c.edit_message("1", "3", &json!({})).await,
        Err(DiscordError::Retryable(_))
    ));
    // Removing a reaction that is not there is done.
    assert_eq!(c.remove_reaction("1", "2", "⏳").await, Ok(()));
}

/// `messages_after` asks for the messages after a snowflake (here one made from a time), 100
/// a page, and pages on from the newest id it got (Discord lists a page newest first) while
/// pages are full; it returns them oldest first.
#[tokio::test]
async fn messages_after_pages_forward_from_a_time_snowflake() {
    use wiremock::matchers::query_param;
    let (s, c) = client().await;
    let since = chrono::DateTime::parse_from_rfc3339("2016-04-30T11:18:25.796Z")
        .expect("time")
        .to_utc();
    let first = switchboard::chat::discord::client::snowflake_at(since);
    assert_eq!(first, 175_928_847_298_985_984);
    let page = |from: u64, n: u64| {
        // Newest first.
        let msgs: Vec<_> = (0..n)
            .rev()
            .map(|i| {
                json!({"id": (from + 1 + i).to_string(), "channel_id": "7", "type": 0,
                       "content": format!("m{i}"), "author": {"id": "42", "bot": true},
                       "components": [{"type": 1, "components": [
                           {"type": 2, "style": 2, "label": "Close", "custom_id": format!("sb1:close:{i}")},
                           {"type": 2, "style": 5, "label": "Open", "url": "https://example.com"}]}]})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(msgs)
    };
    Mock::given(method("GET"))
        .and(path("/api/v10/channels/7/messages"))
        .and(query_param("after", first.to_string()))
        .and(query_param("limit", "100"))
        .respond_with(page(first, 100))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v10/channels/7/messages"))
        .and(query_param("after", (first + 100).to_string()))
        .respond_with(page(first + 100, 3))
        .expect(1)
        .mount(&s)
        .await;
    let got = c.messages_after("7", first).await.expect("listed");
    assert_eq!(got.len(), 103);
    assert_eq!(got[0].id, (first + 1).to_string());
    assert_eq!(got[102].id, (first + 103).to_string());
    assert_eq!(got[0].author, "42");
    assert_eq!(got[0].content, "m0");
    // Buttons' ids, not a link button's (it has none).
    assert_eq!(got[0].custom_ids, vec!["sb1:close:0".to_string()]);
}

/// An answer that is not a list is an error, not "no messages".
#[tokio::test]
async fn a_message_list_that_is_not_a_list_is_an_error() {
    let (s, c) = client().await;
    Mock::given(method("GET"))
        .and(path("/api/v10/channels/7/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messages": []})))
        .mount(&s)
        .await;
    assert!(matches!(
        c.messages_after("7", 1).await,
        Err(DiscordError::Retryable(_))
    ));
}
