//! YouTube end to end, as `serve` runs it: a connected channel (sealed token in the store) is
//! polled from a fake speaking the Data API's formats, its comments become tickets with cards
//! in Slack (the held one marked so), and a reply typed in a card's thread reaches YouTube as
//! `comments.insert` under the thread, with the channel's token.

mod support;

use chrono::Utc;
use secrecy::SecretString;
use serde_json::{Value, json};
use support::*;
use switchboard::config::GoogleConfig;
use switchboard::core::{AccountId, Delivery, MessageKey, Network, Surface};
use switchboard::oauth::TokenSet;
use switchboard::store::NewAccount;
use switchboard::workers::poll::{PollSettings, Poller, Round};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const CHANNEL_ID: &str = "UC_acme";

fn comment(id: &str, author: &str, text: &str, at: &str, status: &str) -> Value {
    json!({
        "kind": "youtube#comment",
        "id": id,
        "snippet": {
            "channelId": CHANNEL_ID,
            "videoId": "vid1",
            "textDisplay": text,
            "textOriginal": text,
            "authorDisplayName": author,
            "authorChannelUrl": "http://www.youtube.com/@viewer",
            "authorChannelId": {"value": format!("UC_{author}")},
            "canRate": true, "viewerRating": "none", "likeCount": 0,
            "moderationStatus": status,
            "publishedAt": at,
            "updatedAt": at
        }
    })
}

fn threads(items: Vec<Value>) -> Value {
    let items: Vec<Value> = items
        .into_iter()
        .map(|c| {
            json!({
                "kind": "youtube#commentThread",
                "id": c["id"],
                "snippet": {
                    "channelId": CHANNEL_ID, "videoId": "vid1", "canReply": true,
                    "totalReplyCount": 0, "isPublic": true, "topLevelComment": c
                }
            })
        })
        .collect();
    json!({
        "kind": "youtube#commentThreadListResponse",
        "pageInfo": {"totalResults": items.len(), "resultsPerPage": 100},
        "items": items
    })
}

async fn youtube_fake(google: &MockServer, now: chrono::DateTime<Utc>) {
    let recent = (now - chrono::Duration::hours(1)).to_rfc3339();
    let listing = |status: &str, body: Value| {
        Mock::given(method("GET"))
            .and(path("/youtube/v3/commentThreads"))
            .and(query_param("allThreadsRelatedToChannelId", CHANNEL_ID))
            .and(header("authorization", "Bearer ya29.channel-token"))
            .and({
                // The published listing names no status; the others name theirs.
                let want = (status != "published").then(|| status.to_string());
                move |r: &wiremock::Request| {
                    r.url
                        .query_pairs()
                        .find(|(k, _)| k == "moderationStatus")
                        .map(|(_, v)| v.into_owned())
                        == want
                }
            })
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
    };
    listing(
        "published",
        threads(vec![comment(
            "UgzPublished1",
            "Fan",
            "Where can I buy the <!channel> beans?",
            &recent,
            "published",
        )]),
    )
    .mount(google)
    .await;
    listing(
        "heldForReview",
        threads(vec![comment(
            "UgzHeld1",
            "Stranger",
            "check my channel",
            &recent,
            "heldForReview",
        )]),
    )
    .mount(google)
    .await;
    listing("likelySpam", threads(vec![])).mount(google).await;
    Mock::given(method("GET"))
        .and(path("/youtube/v3/videos"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "youtube#videoListResponse",
            "items": [{"kind": "youtube#video", "id": "vid1",
                       "snippet": {"title": "How we roast our beans"}}]
        })))
        .mount(google)
        .await;
    Mock::given(method("POST"))
        .and(path("/youtube/v3/comments"))
        .and(query_param("part", "snippet"))
        .and(header("authorization", "Bearer ya29.channel-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "youtube#comment",
            "id": "UgzPublished1.reply1",
            "snippet": {"parentId": "UgzPublished1", "textOriginal": "At our shop!"}
        })))
        .mount(google)
        .await;
}

#[tokio::test]
async fn a_polled_comment_becomes_a_card_and_a_thread_reply_reaches_youtube() {
    let google = MockServer::start().await;
    let base = google.uri();
    let w = World::with(|c| {
        let mut g = GoogleConfig::new("1234-abc.apps.googleusercontent.com");
        g.client_secret = Some(SecretString::from("GOCSPX-test".to_string()));
        g.token_url = format!("{base}/token");
        g.youtube_api_url = format!("{base}/youtube/v3");
        c.google = Some(g);
        c.secret_key = Some(SecretString::from(KEY.to_string()));
        c.server.public_url = Some("https://social.example.org".parse().unwrap());
    })
    .await;
    w.slack_ok().await;
    let now = Utc::now();
    youtube_fake(&google, now).await;
    let key = w.svc.config.credentials_key().expect("key");
    let tokens = TokenSet {
        access_token: SecretString::from("ya29.channel-token".to_string()),
        refresh_token: Some(SecretString::from("1//refresh".to_string())),
        expires_at: now + chrono::Duration::hours(1),
        scope: vec![switchboard::oauth::SCOPE_YOUTUBE.into()],
    };
    w.store
        .connect_account(
            &NewAccount {
                network: Network::Youtube,
                account_id: AccountId::new(CHANNEL_ID),
                name: "Acme Coffee TV".into(),
                surface: Surface::Slack,
                channel: CHANNEL.into(),
                credentials: switchboard::workers::tokens::seal(
                    &key,
                    Network::Youtube,
                    CHANNEL_ID,
                    &tokens,
                ),
                connected_by: Some("U1".into()),
            },
            now,
        )
        .await
        .unwrap();
    w.svc.reload_accounts().await.unwrap();
    let poller = Poller::new(
        w.svc.polled.values().cloned().collect(),
        w.svc.tokens.clone().expect("token source"),
        PollSettings {
            lease: std::time::Duration::from_secs(60),
            min_interval: std::time::Duration::from_secs(60),
            failure_backoff: std::time::Duration::from_secs(60),
        },
    );
    let round = poller.round(&w.store, now).await.unwrap();
    assert!(matches!(round, Round::Polled { rows: 2, .. }), "{round:?}");
    w.settle().await;

    let cards = w.take_slack("/chat.postMessage").await;
    let tops: Vec<&Seen> = cards
        .iter()
        .filter(|p| p.body.get("thread_ts").is_none())
        .collect();
    assert_eq!(tops.len(), 2, "{cards:?}");
    let all = tops
        .iter()
        .map(|p| blocks_text(&p.body))
        .collect::<Vec<_>>()
        .join("\n---\n");
    assert!(all.contains("YouTube comment on Acme Coffee TV"), "{all}");
    assert!(all.contains("On “How we roast our beans”"), "{all}");
    assert!(all.contains("Held for review"), "{all}");
    // Customer text stays data.
    assert!(
        all.contains("&lt;!channel&gt;") && !all.contains("<!channel>"),
        "{all}"
    );

    // A reply in the published comment's card thread.
    let t = w
        .store
        .ticket_by_conversation(&format!("youtube:{CHANNEL_ID}:vid1:UC_Fan"))
        .await
        .unwrap()
        .expect("ticket");
    let card = w.store.card_of(t.id).await.unwrap().expect("card");
    let reply_ts = "1700000999.000100";
    w.thread_message("Ev1", "U1", &card.message, reply_ts, "At our shop!")
        .await;
    w.settle().await;
    let inserts: Vec<Value> = google
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == "/youtube/v3/comments")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        inserts,
        vec![json!({"snippet": {"parentId": "UgzPublished1", "textOriginal": "At our shop!"}})]
    );
    let key = MessageKey::from_chat(&switchboard::core::ChatRef {
        surface: Surface::Slack,
        workspace: TEAM.into(),
        channel: CHANNEL.into(),
        message: reply_ts.into(),
    });
    let reply = w.store.message(&key).await.unwrap().expect("reply");
    assert_eq!(reply.delivery, Some(Delivery::Delivered));
    assert_eq!(
        reply.network_item_id.map(|id| id.to_string()),
        Some("UgzPublished1.reply1".into())
    );
}
