//! `stats` end to end on both surfaces: a signed Slack slash command and a signed Discord
//! interaction reach the real router, which answers ephemerally with the figures of the
//! channel's tickets (an automatic reply never counts as the team's response, customer-derived
//! tags are escaped) and refuses a bad argument, naming it, without storing anything.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use support::*;
use switchboard::core::{
    AccountId, Actor, ChatUserId, Customer, CustomerId, Event, HistoryEntry, HistoryKind,
    InboundItem, ItemKind, MessageKey, Network, NetworkItemId, Status, Surface, Teammate,
};
use switchboard::store::{Commit, Consumes, Target};

/// A Facebook comment of the configured Page opened three hours ago: an automatic reply a
/// minute later, `who`'s reply an hour after opening, closed by `who` two hours after.
async fn seed(w: &World, who: Teammate, tag: &str) {
    let caps = switchboard::networks::meta::capabilities::facebook(ItemKind::Comment, false);
    let opened: DateTime<Utc> = Utc::now() - Duration::hours(3);
    let item = InboundItem {
        network: Network::Facebook,
        account: AccountId::new(PAGE_ID),
        item_id: NetworkItemId::new("1234567890321_9_1"),
        kind: ItemKind::Comment,
        post_id: NetworkItemId::new("1234567890321_9"),
        customer: Customer {
            id: CustomerId::new("5550001"),
            name: Some("Jane".into()),
        },
        text: "Is the oat latte vegan?".into(),
        created_at: opened,
        permalink: None,
        attachments: vec![],
        context: Default::default(),
    };
    let mut decision =
        switchboard::core::decide(None, &Event::CustomerMessage { item }, &caps, opened)
            .expect("opens");
    let who = Actor::Teammate(who);
    let reply = |minutes: i64, actor: Actor| HistoryEntry {
        at: opened + Duration::minutes(minutes),
        actor,
        what: HistoryKind::ReplyDelivered {
            key: MessageKey::new(format!("reply:{minutes}")),
            account: None,
        },
    };
    decision.state.tags = vec![tag.into()];
    decision.history = vec![
        HistoryEntry {
            at: opened,
            actor: Actor::Customer(CustomerId::new("5550001")),
            what: HistoryKind::Opened,
        },
        reply(1, Actor::System),
        reply(60, who.clone()),
        HistoryEntry {
            at: opened + Duration::minutes(120),
            actor: who,
            what: HistoryKind::StatusChanged {
                from: Status::Read,
                to: Status::Closed,
            },
        },
    ];
    // The card is not what is tested here: no jobs.
    decision.effects.clear();
    w.store
        .commit(Commit {
            target: Target::New,
            decision,
            consumes: Consumes::Nothing,
            now: opened,
            storm: None,
        })
        .await
        .expect("commit");
}

#[tokio::test]
async fn slack_stats_answer_ephemerally_with_the_channels_figures() {
    let w = World::new().await;
    let ana = Teammate {
        surface: Surface::Slack,
        id: ChatUserId::new("UANA"),
    };
    seed(&w, ana, "<!channel> vip").await;

    let (status, body) = w.command("UANA", "stats 7d").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["response_type"], "ephemeral");
    let text = answer["text"].as_str().expect("text");
    for want in [
        "*Team statistics* · ",
        "*Tickets opened:* 1 (Facebook 1; comment 1)",
        // The automatic reply after a minute is not the team's first response.
        "*First response* (wall clock): median 1 h 00 min · p90 1 h 00 min · 1 answered, 0 not yet",
        "*Resolution* (wall clock): median 2 h 00 min",
        "• <@UANA>: 1 reply · 1 closed · median first response 1 h 00 min",
        "*Top tags:* &lt;!channel&gt; vip 1",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(!text.contains("<!channel>"), "{text}");

    let inbox = w.store.count_inbox().await.unwrap();
    let (status, body) = w.command("UANA", "stats 7w").await;
    assert_eq!(status, StatusCode::OK);
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["response_type"], "ephemeral");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("`7w` is not a period"),
        "{answer}"
    );
    assert_eq!(
        w.store.count_inbox().await.unwrap(),
        inbox,
        "nothing stored"
    );

    // A period before anything happened says so.
    let (_, body) = w.command("UANA", "stats 2020-01-01..2020-01-31").await;
    assert!(body.contains("Nothing happened in this period"), "{body}");
    w.finish().await;
}

/// The private half of `support::discord::PUBLIC_KEY`: seed 0x00..0x1f.
fn key() -> SigningKey {
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
    SigningKey::from_bytes(&seed)
}

/// A signed, fresh `/inbox` interaction over HTTP; the answer as JSON.
async fn interact(w: &World, body: &Value) -> Value {
    let ts = Utc::now().timestamp();
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

fn stats_command(id: &str, options: Value) -> Value {
    use support::discord::*;
    json!({
        "id": id, "application_id": APP_ID, "type": 2, "token": format!("token-{id}"),
        "version": 1, "guild_id": GUILD, "channel_id": DCHANNEL,
        "member": member(MOD, &[MOD_ROLE]),
        "data": {"id": "1000000000000000500", "name": "inbox", "type": 1,
                 "options": [{"type": 1, "name": "stats", "options": options}]}
    })
}

#[tokio::test]
async fn discord_stats_answer_ephemerally_with_the_channels_figures() {
    use support::discord::*;
    let w = discord_world(|_| {}).await;
    let moderator = Teammate {
        surface: Surface::Discord,
        id: ChatUserId::new(MOD),
    };
    seed(&w, moderator, "@everyone **vip**").await;

    let answer = interact(
        &w,
        &stats_command(
            "7001",
            json!([{"type": 3, "name": "period", "value": "7d"},
                   {"type": 3, "name": "filter", "value": "network:facebook"}]),
        ),
    )
    .await;
    assert_eq!(answer["data"]["flags"], 64, "ephemeral");
    assert_eq!(answer["data"]["allowed_mentions"]["parse"], json!([]));
    let text = answer["data"]["content"].as_str().expect("content");
    for want in [
        "1 answered, 0 not yet",
        "median 1 h 00 min",
        &format!("<@{MOD}>: 1 reply · 1 closed"),
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    // The tag's markdown does not format.
    assert!(!text.contains("**vip**"), "{text}");

    let answer = interact(
        &w,
        &stats_command(
            "7002",
            json!([{"type": 3, "name": "filter", "value": "network:myspace"}]),
        ),
    )
    .await;
    assert_eq!(answer["data"]["flags"], 64);
    let text = answer["data"]["content"].as_str().unwrap();
    assert!(text.contains("is not a network"), "{text}");
    w.finish().await;
}
