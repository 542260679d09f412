//! Discord's HTTP interactions endpoint (the first slice of the Discord surface): signed with
//! the reference Ed25519 key, answered as Discord expects, clicks applied to tickets.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use support::*;
use switchboard::core::{Status, TicketId};

/// The test key of network-apis.md §9: seed 0x00..0x1f.
fn key() -> SigningKey {
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
    SigningKey::from_bytes(&seed)
}
const PUBLIC_KEY: &str = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";

async fn with_discord() -> World {
    World::with(|c| {
        c.discord = Some(switchboard::config::DiscordConfig {
            application_id: "775799577604522054".into(),
            public_key: PUBLIC_KEY.into(),
        });
    })
    .await
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

fn click(custom_id: &str, user: &str) -> Value {
    json!({
        "type": 3, "id": format!("int-{custom_id}-{user}"), "application_id": "775799577604522054",
        "token": "A_UNIQUE_TOKEN", "version": 1, "guild_id": "290926798626357999",
        "channel_id": "645027906669510667",
        "member": {"user": {"id": user, "username": "mod"}, "roles": ["539082325061836999"],
                   "permissions": "2147483647", "joined_at": "2017-03-13T19:19:14.040000+00:00"},
        "message": {"id": "1111", "channel_id": "645027906669510667"},
        "data": {"component_type": 2, "custom_id": custom_id}
    })
}

#[tokio::test]
async fn pings_are_answered_and_bad_signatures_refused() {
    let w = with_discord().await;
    let now = chrono::Utc::now().timestamp();
    let ping = json!({"type": 1, "id": "1", "application_id": "775799577604522054", "token": "t", "version": 1});
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

#[tokio::test]
async fn a_discord_click_closes_the_ticket() {
    let w = with_discord().await;
    w.slack_ok().await;
    w.meta_webhook(&comment_webhook(
        "901_1",
        "1234567890321_9",
        "5550001",
        "Jane",
        "hello",
    ))
    .await;
    w.settle().await;
    w.take_slack("/chat.postMessage").await;

    let now = chrono::Utc::now().timestamp();
    let (s, body) = post(
        &w,
        &click("sb1:close:1", "53908232506183680"),
        Some(&key()),
        now,
    )
    .await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, r#"{"type":6}"#));
    // A redelivered interaction is stored once (deduplicated on the interaction id).
    post(
        &w,
        &click("sb1:close:1", "53908232506183680"),
        Some(&key()),
        now,
    )
    .await;
    assert_eq!(
        w.store.count_inbox().await.unwrap(),
        2,
        "the webhook and one click"
    );
    w.settle().await;
    assert_eq!(
        w.store
            .ticket(TicketId(1))
            .await
            .unwrap()
            .unwrap()
            .state
            .status,
        Status::Closed
    );
    assert_eq!(
        w.take_slack("/chat.update").await.len(),
        1,
        "the card (in Slack) follows"
    );
    let history = w.store.history(TicketId(1)).await.unwrap();
    assert_eq!(
        history
            .iter()
            .filter(|h| h.what.code() == "status_changed")
            .count(),
        1
    );

    // Not yet on Discord: a clear ephemeral answer, nothing stored.
    let (_, body) = post(
        &w,
        &click("sb1:reply:1", "53908232506183680"),
        Some(&key()),
        now,
    )
    .await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["type"], 4);
    assert_eq!(v["data"]["flags"], 64);
    assert_eq!(w.store.count_inbox().await.unwrap(), 2, "nothing stored");
    w.finish().await;
}

#[tokio::test]
async fn discord_clicks_respect_permissions() {
    let w = World::with(|c| {
        c.discord = Some(switchboard::config::DiscordConfig {
            application_id: "775799577604522054".into(),
            public_key: PUBLIC_KEY.into(),
        });
        c.permissions.close = vec!["UBOSS".into()];
    })
    .await;
    w.slack_ok().await;
    w.meta_webhook(&comment_webhook(
        "901_1",
        "1234567890321_9",
        "5550001",
        "Jane",
        "hello",
    ))
    .await;
    w.settle().await;
    w.take_slack("/chat.postMessage").await;
    let (_, body) = post(
        &w,
        &click("sb1:close:1", "53908232506183680"),
        Some(&key()),
        chrono::Utc::now().timestamp(),
    )
    .await;
    assert!(body.contains("not allowed to close"), "{body}");
    w.settle().await;
    assert_eq!(
        w.store
            .ticket(TicketId(1))
            .await
            .unwrap()
            .unwrap()
            .state
            .status,
        Status::Unread
    );
    w.finish().await;
}
