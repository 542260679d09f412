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

/// A world with a YouTube channel connected to the cards channel (its token sealed in the
/// store), the Data API faked by `google`, and one poll done: two cards, one held.
async fn polled_youtube_world(google: &MockServer) -> World {
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
    youtube_fake(google, now).await;
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
        w.svc.networks.all_polled(),
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
    w
}

#[tokio::test]
async fn a_polled_comment_becomes_a_card_and_a_thread_reply_reaches_youtube() {
    let google = MockServer::start().await;
    let w = polled_youtube_world(&google).await;
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
    // The poll (three listings and the titles) and the reply (comments.insert) are charged
    // to the budget every replica schedules its polls by.
    let now = Utc::now();
    let reset = switchboard::networks::google::next_quota_reset(now);
    assert_eq!(
        w.store
            .charge_quota(Network::Youtube, reset, 0, now)
            .await
            .unwrap(),
        4 + 50
    );
}

/// The ticket of `author`'s comment, and its card's `ts`.
async fn card_of(w: &World, author: &str) -> (switchboard::core::TicketId, String) {
    // Held comments are tickets of their own.
    let post = match author {
        "Stranger" => "UgzHeld1",
        _ => "vid1",
    };
    let t = w
        .store
        .ticket_by_conversation(&format!("youtube:{CHANNEL_ID}:{post}:UC_{author}"))
        .await
        .unwrap()
        .expect("ticket");
    let card = w.store.card_of(t.id).await.unwrap().expect("card");
    (t.id, card.message)
}

/// The moderation calls YouTube received: (path, query), in order.
async fn moderation_calls(google: &MockServer) -> Vec<(String, String)> {
    google
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| {
            r.url.path() == "/youtube/v3/comments/setModerationStatus"
                || r.method.as_str() == "DELETE"
        })
        .map(|r| {
            (
                format!("{} {}", r.method, r.url.path()),
                r.url.query().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn held_comments_are_approved_or_banned_and_our_reply_deleted_from_the_card() {
    let google = MockServer::start().await;
    let w = polled_youtube_world(&google).await;
    // The held comment's card offers the decisions; the published one's does not.
    let cards = w.take_slack("/chat.postMessage").await;
    let ids: Vec<String> = cards.iter().flat_map(|c| action_ids(&c.body)).collect();
    let (held, held_ts) = card_of(&w, "Stranger").await;
    let (published, published_ts) = card_of(&w, "Fan").await;
    for action in ["approve", "reject", "ban"] {
        assert!(ids.contains(&format!("sb1:{action}:{held}")), "{ids:?}");
        assert!(
            !ids.contains(&format!("sb1:{action}:{published}")),
            "{ids:?}"
        );
    }
    assert!(
        !ids.iter().any(|i| i.starts_with("sb1:delete_reply")),
        "{ids:?}"
    );
    Mock::given(method("POST"))
        .and(path("/youtube/v3/comments/setModerationStatus"))
        .and(header("authorization", "Bearer ya29.channel-token"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&google)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/youtube/v3/comments"))
        .and(header("authorization", "Bearer ya29.channel-token"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&google)
        .await;

    // Approve: published on YouTube, the card no longer says it is held.
    w.click("UMOD", &held_ts, &format!("sb1:approve:{held}"))
        .await;
    w.settle().await;
    assert_eq!(
        moderation_calls(&google).await,
        vec![(
            "POST /youtube/v3/comments/setModerationStatus".to_string(),
            "id=UgzHeld1&moderationStatus=published".to_string()
        )]
    );
    let update = w.take_slack("/chat.update").await;
    let shown = blocks_text(&update.last().expect("card updated").body);
    assert!(
        shown.contains("Approved") && !shown.contains("Held for review"),
        "{shown}"
    );
    let ids = action_ids(&update.last().unwrap().body);
    assert!(!ids.contains(&format!("sb1:approve:{held}")), "{ids:?}");

    // Ban the author: rejected with banAuthor.
    w.click("UMOD", &held_ts, &format!("sb1:ban:{held}")).await;
    w.settle().await;
    let calls = moderation_calls(&google).await;
    assert_eq!(
        calls.last().map(|c| c.1.as_str()),
        Some("id=UgzHeld1&moderationStatus=rejected&banAuthor=true")
    );
    let shown = blocks_text(&w.take_slack("/chat.update").await.last().unwrap().body);
    assert!(
        shown.contains("Author blocked") && shown.contains("Rejected"),
        "{shown}"
    );

    // Our reply, delivered, can be deleted from the card: exactly that comment goes.
    w.thread_message(
        "Ev9",
        "U1",
        &published_ts,
        "1700000999.000100",
        "At our shop!",
    )
    .await;
    w.settle().await;
    let update = w.take_slack("/chat.update").await;
    let ids = action_ids(&update.last().expect("card updated").body);
    assert!(
        ids.contains(&format!("sb1:delete_reply:{published}")),
        "{ids:?}"
    );
    w.click(
        "UMOD",
        &published_ts,
        &format!("sb1:delete_reply:{published}"),
    )
    .await;
    w.settle().await;
    assert_eq!(
        moderation_calls(&google).await.last().cloned(),
        Some((
            "DELETE /youtube/v3/comments".to_string(),
            "id=UgzPublished1.reply1".to_string()
        ))
    );
    let update = w.take_slack("/chat.update").await;
    let last = &update.last().expect("card updated").body;
    assert!(
        blocks_text(last).contains("Our reply deleted"),
        "{}",
        blocks_text(last)
    );
    assert!(!action_ids(last).contains(&format!("sb1:delete_reply:{published}")));
    // Each decision is in the ticket's history.
    for (t, want) in [(held, 2), (published, 1)] {
        let history = w.store.history(t).await.unwrap();
        let moderated = history.iter().filter(|h| h.what.code() == "moderated");
        assert_eq!(moderated.count(), want, "{history:?}");
    }
}

#[tokio::test]
async fn a_moderation_youtube_refuses_is_undone_on_the_card_with_the_reason() {
    let google = MockServer::start().await;
    let w = polled_youtube_world(&google).await;
    let (held, held_ts) = card_of(&w, "Stranger").await;
    Mock::given(method("POST"))
        .and(path("/youtube/v3/comments/setModerationStatus"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
            "code": 403,
            "message": "The comment cannot be moderated by the authenticated user.",
            "errors": [{"domain": "youtube.comment", "reason": "forbidden",
                        "message": "The comment cannot be moderated by the authenticated user."}]
        }})))
        .mount(&google)
        .await;
    w.take_slack("/chat.update").await;
    w.click("UMOD", &held_ts, &format!("sb1:reject:{held}"))
        .await;
    w.settle().await;
    let updates = w.take_slack("/chat.update").await;
    let last = blocks_text(&updates.last().expect("card updated").body);
    assert!(last.contains("Rejecting failed"), "{last}");
    assert!(!last.contains("Rejected:"), "{last}");
    let t = w.store.ticket(held).await.unwrap().unwrap();
    assert!(!t.state.moderation.rejected);
    // Offered again.
    let ids = action_ids(&updates.last().unwrap().body);
    assert!(ids.contains(&format!("sb1:reject:{held}")), "{ids:?}");
}

/// A reply whose first attempt got no answer (YouTube may have posted it) is looked up before
/// it is sent again: found under the thread, it is not posted twice.
#[tokio::test]
async fn a_reply_whose_answer_was_lost_is_found_not_posted_twice() {
    let google = MockServer::start().await;
    let w = polled_youtube_world(&google).await;
    let (_, published_ts) = card_of(&w, "Fan").await;
    let (_, held_ts) = card_of(&w, "Stranger").await;
    // Another ticket's reply with the same words is already delivered
    // (`UgzPublished1.reply1`, as the fake answers inserts): the lookup must not take it.
    w.thread_message("Ev6", "U1", &held_ts, "1700000999.000150", "At our shop!")
        .await;
    w.settle().await;
    // The first insert is answered with a 503 (as after a lost answer); the thread then
    // shows the reply among others.
    google.reset().await;
    Mock::given(method("POST"))
        .and(path("/youtube/v3/comments"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&google)
        .await;
    let later = (Utc::now() + chrono::Duration::seconds(5)).to_rfc3339();
    let latest = (Utc::now() + chrono::Duration::seconds(6)).to_rfc3339();
    let mine = |id: &str, text: &str, at: &str| {
        let mut c = comment(id, "acme", text, at, "published");
        c["snippet"]["authorChannelId"]["value"] = json!(CHANNEL_ID);
        c["snippet"]["parentId"] = json!("UgzPublished1");
        c
    };
    Mock::given(method("GET"))
        .and(path("/youtube/v3/comments"))
        .and(query_param("parentId", "UgzPublished1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "youtube#commentListResponse",
            "items": [
                comment("UgzPublished1.other", "Fan", "At our shop!", &later, "published"),
                mine("UgzPublished1.older", "Come by!", &later),
                // Oldest first: the other ticket's comes before ours.
                mine("UgzPublished1.reply1", "At our shop!", &later),
                mine("UgzPublished1.mine", "At our shop!", &latest)
            ]
        })))
        .mount(&google)
        .await;
    w.thread_message(
        "Ev7",
        "U1",
        &published_ts,
        "1700000999.000200",
        "At our shop!",
    )
    .await;
    w.settle().await;
    let calls: Vec<String> = google
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        calls,
        ["POST /youtube/v3/comments", "GET /youtube/v3/comments"],
        "one insert, then the lookup"
    );
    let key = MessageKey::from_chat(&switchboard::core::ChatRef {
        surface: Surface::Slack,
        workspace: TEAM.into(),
        channel: CHANNEL.into(),
        message: "1700000999.000200".into(),
    });
    let reply = w.store.message(&key).await.unwrap().expect("reply");
    assert_eq!(reply.delivery, Some(Delivery::Delivered));
    assert_eq!(
        reply.network_item_id.map(|id| id.to_string()),
        Some("UgzPublished1.mine".into())
    );
}

/// A token YouTube refuses even just after a refresh: the reply fails (expired token) and
/// the account turns unhealthy, so its channel is told once and polling stops.
#[tokio::test]
async fn a_token_refused_after_a_refresh_marks_the_account_unhealthy() {
    let google = MockServer::start().await;
    let w = polled_youtube_world(&google).await;
    let (_, published_ts) = card_of(&w, "Fan").await;
    google.reset().await;
    Mock::given(method("POST"))
        .and(path("/youtube/v3/comments"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "code": 401, "message": "Request had invalid authentication credentials.",
            "errors": [{"message": "Invalid Credentials", "domain": "global",
                        "reason": "authError"}], "status": "UNAUTHENTICATED"}})))
        .mount(&google)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ya29.fresh", "expires_in": 3599, "token_type": "Bearer",
            "scope": switchboard::oauth::SCOPE_YOUTUBE
        })))
        .mount(&google)
        .await;
    w.thread_message("Ev8", "U1", &published_ts, "1700000999.000400", "Hello?")
        .await;
    w.settle().await;
    let tokens: Vec<String> = google
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/youtube/v3/comments")
        .map(|r| {
            r.headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(
        tokens,
        ["Bearer ya29.channel-token", "Bearer ya29.fresh"],
        "refreshed once, tried again once"
    );
    let key = MessageKey::from_chat(&switchboard::core::ChatRef {
        surface: Surface::Slack,
        workspace: TEAM.into(),
        channel: CHANNEL.into(),
        message: "1700000999.000400".into(),
    });
    let reply = w.store.message(&key).await.unwrap().expect("reply");
    assert_eq!(
        reply.delivery,
        Some(Delivery::Failed(
            switchboard::core::FailureReason::TokenExpired
        ))
    );
    let account = w
        .store
        .account_by_network_id(Network::Youtube, CHANNEL_ID)
        .await
        .unwrap()
        .unwrap();
    assert!(account.unhealthy.is_some(), "{account:?}");
}

const LOCATION: &str = "accounts/111/locations/222";

fn review_json(stars: &str, text: &str, created: &str, updated: &str) -> Value {
    json!({
        "name": format!("{LOCATION}/reviews/R1"),
        "reviewId": "R1",
        "reviewer": {"displayName": "Jane <D>", "isAnonymous": false},
        "starRating": stars,
        "comment": text,
        "createTime": created,
        "updateTime": updated
    })
}

#[tokio::test]
async fn a_review_is_polled_replied_to_updated_and_its_reply_deleted() {
    let google = MockServer::start().await;
    let base = google.uri();
    let w = World::with(|c| {
        let mut g = GoogleConfig::new("1234-abc.apps.googleusercontent.com");
        g.client_secret = Some(SecretString::from("GOCSPX-test".to_string()));
        g.token_url = format!("{base}/token");
        g.reviews_api_url = format!("{base}/v4");
        c.google = Some(g);
        c.secret_key = Some(SecretString::from(KEY.to_string()));
        c.server.public_url = Some("https://social.example.org".parse().unwrap());
    })
    .await;
    w.slack_ok().await;
    let now = Utc::now();
    let created = (now - chrono::Duration::hours(3)).to_rfc3339();
    let updated = (now + chrono::Duration::minutes(30)).to_rfc3339();
    let reviews = || {
        Mock::given(method("GET"))
            .and(path(format!("/v4/{LOCATION}/reviews")))
            .and(query_param("orderBy", "updateTime desc"))
            .and(header("authorization", "Bearer ya29.business"))
    };
    let page = |review: Value| {
        ResponseTemplate::new(200).set_body_json(json!({
            "reviews": [review], "averageRating": 4.0, "totalReviewCount": 1
        }))
    };
    reviews()
        .respond_with(page(review_json("FOUR", "Good coffee", &created, &created)))
        .up_to_n_times(1)
        .mount(&google)
        .await;
    reviews()
        .respond_with(page(review_json(
            "TWO",
            "Cold coffee <!here>",
            &created,
            &updated,
        )))
        .mount(&google)
        .await;
    let reply_path = format!("/v4/{LOCATION}/reviews/R1/reply");
    Mock::given(method("PUT"))
        .and(path(reply_path.clone()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"comment": "Sorry!", "updateTime": updated})),
        )
        .mount(&google)
        .await;
    Mock::given(method("DELETE"))
        .and(path(reply_path.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&google)
        .await;
    let key = w.svc.config.credentials_key().expect("key");
    let tokens = TokenSet {
        access_token: SecretString::from("ya29.business".to_string()),
        refresh_token: Some(SecretString::from("1//biz".to_string())),
        expires_at: now + chrono::Duration::hours(3),
        scope: vec![switchboard::oauth::SCOPE_BUSINESS.into()],
    };
    w.store
        .connect_account(
            &NewAccount {
                network: Network::Google,
                account_id: AccountId::new(LOCATION),
                name: "Café Central".into(),
                surface: Surface::Slack,
                channel: CHANNEL.into(),
                credentials: switchboard::workers::tokens::seal(
                    &key,
                    Network::Google,
                    LOCATION,
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
        w.svc.networks.all_polled(),
        w.svc.tokens.clone().expect("token source"),
        // Due again at once: the test polls when it wants.
        PollSettings {
            lease: std::time::Duration::from_secs(60),
            min_interval: std::time::Duration::ZERO,
            failure_backoff: std::time::Duration::from_secs(60),
        },
    );
    let round = poller.round(&w.store, now).await.unwrap();
    assert!(matches!(round, Round::Polled { rows: 1, .. }), "{round:?}");
    w.settle().await;
    let card = w.take_slack("/chat.postMessage").await;
    let shown = blocks_text(&card[0].body);
    assert!(
        shown.contains("★★★★☆") && shown.contains("Good coffee"),
        "{shown}"
    );
    let t = w
        .store
        .ticket_by_conversation(&format!("google:{LOCATION}:R1:unknown:R1"))
        .await
        .unwrap()
        .expect("ticket");
    let card = w.store.card_of(t.id).await.unwrap().expect("card");

    // The team answers and closes it.
    w.thread_message("Ev1", "U1", &card.message, "1700000999.000100", "Sorry!")
        .await;
    w.settle().await;
    w.click("U1", &card.message, &format!("sb1:close:{}", t.id))
        .await;
    w.settle().await;
    assert_eq!(
        w.store.ticket(t.id).await.unwrap().unwrap().state.status,
        switchboard::core::Status::Closed
    );
    w.take_slack("/chat.update").await;
    w.take_slack("/chat.postMessage").await;

    // Jane changes her mind: the ticket reopens, the channel sees before and after.
    let round = poller.round(&w.store, Utc::now()).await.unwrap();
    // The review again (created at the mark's second: a duplicate the inbox drops) and its
    // update.
    assert!(matches!(round, Round::Polled { rows: 2, .. }), "{round:?}");
    w.settle().await;
    let t = w.store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(t.state.status, switchboard::core::Status::Unread);
    assert_eq!(t.state.context.rating, Some(2));
    let posted = w.take_slack("/chat.postMessage").await;
    assert_eq!(posted.len(), 1, "{posted:?}");
    let notice = &posted[0].body;
    assert_eq!(notice["thread_ts"], card.message.as_str());
    assert_eq!(notice["reply_broadcast"], true);
    let said = notice["text"].as_str().unwrap_or_default();
    assert!(said.contains("★★★★☆ → ★★☆☆☆"), "{said}");
    assert!(
        said.contains("Cold coffee &lt;!here&gt;") && !said.contains("<!here>"),
        "{said}"
    );
    assert!(said.contains("Good coffee"), "{said}");
    let update = w.take_slack("/chat.update").await;
    let shown = blocks_text(&update.last().expect("card updated").body);
    assert!(
        shown.contains("★★☆☆☆") && shown.contains("Unread"),
        "{shown}"
    );
    // The same update polled again changes nothing.
    poller.round(&w.store, Utc::now()).await.unwrap();
    w.settle().await;
    assert!(w.take_slack("/chat.postMessage").await.is_empty());

    // Our reply is deleted from the card.
    let ids = action_ids(&update.last().unwrap().body);
    let delete = format!("sb1:delete_reply:{}", t.id);
    assert!(ids.contains(&delete), "{ids:?}");
    w.click("U1", &card.message, &delete).await;
    w.settle().await;
    let shown = blocks_text(&w.take_slack("/chat.update").await.last().unwrap().body);
    assert!(shown.contains("Our reply deleted"), "{shown}");
    // A new reply (Google keeps one per review, under the same name) can be deleted in its
    // turn, and the card no longer says the reply was deleted.
    w.thread_message(
        "Ev2",
        "U1",
        &card.message,
        "1700000999.000300",
        "Sorry again!",
    )
    .await;
    w.settle().await;
    let update = w.take_slack("/chat.update").await;
    let last = &update.last().expect("card updated").body;
    assert!(
        !blocks_text(last).contains("Our reply deleted"),
        "{}",
        blocks_text(last)
    );
    assert!(action_ids(last).contains(&delete), "{:?}", action_ids(last));
    // (A second click: its own trigger id.)
    w.pick("U1", &card.message, &delete, None, None).await;
    w.settle().await;
    let calls: Vec<String> = google
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == reply_path)
        .map(|r| format!("{} {}", r.method, String::from_utf8_lossy(&r.body)))
        .collect();
    assert_eq!(
        calls,
        [
            r#"PUT {"comment":"Sorry!"}"#.to_string(),
            "DELETE ".to_string(),
            r#"PUT {"comment":"Sorry again!"}"#.to_string(),
            "DELETE ".to_string()
        ]
    );
}

fn ephemeral_text(answer: &str) -> String {
    let v: Value = serde_json::from_str(answer).expect("JSON answer");
    assert_eq!(v["response_type"], "ephemeral", "{answer}");
    v["text"].as_str().unwrap_or_default().to_string()
}

async fn get(w: &World, uri: &str) -> (axum::http::StatusCode, String) {
    let req = axum::http::Request::builder()
        .method("GET")
        .uri(uri)
        .body(axum::body::Body::empty())
        .unwrap();
    w.send(req).await
}

/// Connecting from chat: an admin's `connect youtube` answers with Google's authorization
/// URL (PKCE, sealed state, our redirect URI); the callback exchanges the code, finds the
/// channel, stores it sealed and routed to the command's channel, and says so there. A
/// replayed or forged callback stores nothing; `accounts` lists it; `disconnect` revokes the
/// grant and removes it.
#[tokio::test]
async fn an_admin_connects_a_channel_from_slack_and_disconnects_it() {
    let google = MockServer::start().await;
    let base = google.uri();
    let w = World::with(|c| {
        let mut g = GoogleConfig::new("1234-abc.apps.googleusercontent.com");
        g.client_secret = Some(SecretString::from("GOCSPX-test".to_string()));
        g.authorize_url = format!("{base}/o/oauth2/v2/auth");
        g.token_url = format!("{base}/token");
        g.revoke_url = format!("{base}/revoke");
        g.youtube_api_url = format!("{base}/youtube/v3");
        c.google = Some(g);
        c.secret_key = Some(SecretString::from(KEY.to_string()));
        c.server.public_url = Some("https://social.example.org".parse().unwrap());
        c.permissions.admin = vec!["UADMIN".into()];
    })
    .await;
    w.slack_ok().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(wiremock::matchers::body_string_contains(
            "grant_type=authorization_code",
        ))
        .and(wiremock::matchers::body_string_contains(
            "code=4%2Fgood-code",
        ))
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
            "items": [{"kind": "youtube#channel", "id": "UC_acme", "snippet": {"title": "Acme <!here> TV"}}]
        })))
        .mount(&google)
        .await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&google)
        .await;

    // Not an admin: refused, nothing handed out.
    let said = ephemeral_text(&w.command("UANA", "connect youtube").await.1);
    assert_eq!(said, switchboard::core::text::ADMINS_ONLY);
    let said = ephemeral_text(&w.command("UADMIN", "connect youtube").await.1);
    let url = said.rsplit(' ').next().expect("a link");
    let url = url::Url::parse(url).expect("an URL");
    assert_eq!(url.path(), "/o/oauth2/v2/auth");
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "1234-abc.apps.googleusercontent.com");
    assert_eq!(
        q["redirect_uri"],
        "https://social.example.org/oauth/google/callback"
    );
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["access_type"], "offline");
    assert!(q["scope"].contains("youtube.force-ssl"));
    let state = q["state"].clone();

    // A forged state stores nothing.
    let (status, page) = get(&w, "/oauth/google/callback?state=forged&code=4%2Fgood-code").await;
    assert_eq!(status, axum::http::StatusCode::BAD_REQUEST, "{page}");
    assert!(w.store.accounts().await.unwrap().is_empty());

    let callback = format!(
        "/oauth/google/callback?state={}&code=4%2Fgood-code",
        url::form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>()
    );
    let (status, page) = get(&w, &callback).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{page}");
    let accounts = w.store.accounts().await.unwrap();
    assert_eq!(accounts.len(), 1);
    let a = &accounts[0];
    assert_eq!(
        (a.network, a.account_id.as_str(), a.channel.as_str()),
        (Network::Youtube, "UC_acme", CHANNEL)
    );
    assert_eq!(a.connected_by.as_deref(), Some("UADMIN"));
    let blob = String::from_utf8_lossy(&a.credentials);
    assert!(!blob.contains("ya29.connected") && !blob.contains("1//fresh"));
    let key = w.svc.config.credentials_key().unwrap();
    let opened = switchboard::workers::tokens::open(&key, a).unwrap();
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&opened.access_token),
        "ya29.connected"
    );
    // The channel is told, the name escaped.
    let told = w.take_slack("/chat.postMessage").await;
    let told: Vec<String> = told.iter().map(|p| p.body.to_string()).collect();
    assert!(
        told.iter()
            .any(|b| b.contains("YouTube channel") && b.contains("Acme &lt;!here&gt; TV")),
        "{told:?}"
    );
    assert!(!told.iter().any(|b| b.contains("<!here>")));

    // The same callback again: already used, nothing new.
    let (status, page) = get(&w, &callback).await;
    assert_eq!(status, axum::http::StatusCode::BAD_REQUEST);
    assert!(page.contains("already used"), "{page}");
    assert_eq!(w.store.accounts().await.unwrap().len(), 1);

    let listed = ephemeral_text(&w.command("UADMIN", "accounts").await.1);
    assert!(
        listed.contains(&format!("`{}`", a.id)) && listed.contains("healthy"),
        "{listed}"
    );
    let said = ephemeral_text(&w.command("UANA", &format!("disconnect {}", a.id)).await.1);
    assert_eq!(said, switchboard::core::text::ADMINS_ONLY);
    let said = ephemeral_text(&w.command("UADMIN", &format!("disconnect {}", a.id)).await.1);
    assert!(said.contains("Disconnected"), "{said}");
    assert!(w.store.accounts().await.unwrap().is_empty());
    let revoked: Vec<String> = google
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/revoke")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(revoked, vec!["token=1%2F%2Ffresh".to_string()]);
}

/// A refresh Google refuses as dead: the account turns unhealthy, its channel is told once
/// (with how to reconnect), and it is not polled again until reconnected.
#[tokio::test]
async fn a_revoked_refresh_token_alerts_once_and_stops_polling() {
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
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "Token has been expired or revoked."
        })))
        .mount(&google)
        .await;
    let now = Utc::now();
    let key = w.svc.config.credentials_key().expect("key");
    let expired = TokenSet {
        access_token: SecretString::from("ya29.old".to_string()),
        refresh_token: Some(SecretString::from("1//revoked".to_string())),
        expires_at: now - chrono::Duration::minutes(1),
        scope: vec![switchboard::oauth::SCOPE_YOUTUBE.into()],
    };
    let a = w
        .store
        .connect_account(
            &NewAccount {
                network: Network::Youtube,
                account_id: AccountId::new(CHANNEL_ID),
                name: "Acme <@U0BOSS> TV".into(),
                surface: Surface::Slack,
                channel: CHANNEL.into(),
                credentials: switchboard::workers::tokens::seal(
                    &key,
                    Network::Youtube,
                    CHANNEL_ID,
                    &expired,
                ),
                connected_by: None,
            },
            now,
        )
        .await
        .unwrap();
    let poller = Poller::new(
        w.svc.networks.all_polled(),
        w.svc.tokens.clone().expect("token source"),
        PollSettings {
            lease: std::time::Duration::from_secs(60),
            min_interval: std::time::Duration::from_secs(60),
            failure_backoff: std::time::Duration::from_secs(60),
        },
    );
    assert!(matches!(
        poller.round(&w.store, now).await.unwrap(),
        Round::Unhealthy { .. }
    ));
    assert_eq!(
        switchboard::workers::accounts::deliver_alerts(&w.svc)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        switchboard::workers::accounts::deliver_alerts(&w.svc)
            .await
            .unwrap(),
        0,
        "once"
    );
    let told: Vec<String> = w
        .take_slack("/chat.postMessage")
        .await
        .iter()
        .map(|p| p.body.to_string())
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("needs reconnecting") && told[0].contains("connect youtube"));
    assert!(told[0].contains("&lt;@U0BOSS&gt;") && !told[0].contains("<@U0BOSS>"));
    // Never polled again meanwhile: no API call at all.
    assert_eq!(
        poller
            .round(&w.store, now + chrono::Duration::hours(2))
            .await
            .unwrap(),
        Round::Idle
    );
    let api_calls = google
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().starts_with("/youtube/"))
        .count();
    assert_eq!(api_calls, 0);
    let now_a = w.store.account(a.id).await.unwrap().unwrap();
    assert!(now_a.unhealthy.is_some());
}

/// A channel that only a connected account routes to is an inbox: its queue and bulk
/// commands work there (before the account, it is not one).
#[tokio::test]
async fn a_connected_accounts_channel_is_an_inbox() {
    let w = World::with(|c| {
        let mut g = GoogleConfig::new("1234-abc.apps.googleusercontent.com");
        g.client_secret = Some(SecretString::from("GOCSPX-test".to_string()));
        c.google = Some(g);
        c.secret_key = Some(SecretString::from(KEY.to_string()));
        c.server.public_url = Some("https://social.example.org".parse().unwrap());
    })
    .await;
    w.slack_ok().await;
    let queue_in = |channel: &'static str| {
        let w = &w;
        async move {
            let body: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("team_id", TEAM)
                .append_pair("channel_id", channel)
                .append_pair("user_id", "UANA")
                .append_pair("command", "/switchboard")
                .append_pair("text", "queue unassigned")
                .append_pair("response_url", &w.response_url())
                .append_pair("trigger_id", "t1")
                .finish();
            let (_, answer) = w
                .slack_post(
                    "/slack/commands",
                    "application/x-www-form-urlencoded",
                    &body,
                    &[],
                )
                .await;
            ephemeral_text(&answer)
        }
    };
    assert_eq!(
        queue_in("CYOUTUBE").await,
        switchboard::core::text::NOT_AN_INBOX_CHANNEL
    );
    w.store
        .connect_account(
            &NewAccount {
                network: Network::Youtube,
                account_id: AccountId::new(CHANNEL_ID),
                name: "Acme TV".into(),
                surface: Surface::Slack,
                channel: "CYOUTUBE".into(),
                credentials: vec![1, 2, 3],
                connected_by: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    w.svc.reload_accounts().await.unwrap();
    assert_ne!(
        queue_in("CYOUTUBE").await,
        switchboard::core::text::NOT_AN_INBOX_CHANNEL
    );
}

/// A world that can connect YouTube channels from chat against the `google` fake: a token
/// endpoint that grants any code, and the channel `UC_acme` behind the granted token.
async fn connecting_world(google: &MockServer) -> World {
    let base = google.uri();
    let w = World::with(|c| {
        let mut g = GoogleConfig::new("1234-abc.apps.googleusercontent.com");
        g.client_secret = Some(SecretString::from("GOCSPX-test".to_string()));
        g.authorize_url = format!("{base}/o/oauth2/v2/auth");
        g.token_url = format!("{base}/token");
        g.revoke_url = format!("{base}/revoke");
        g.youtube_api_url = format!("{base}/youtube/v3");
        c.google = Some(g);
        c.secret_key = Some(SecretString::from(KEY.to_string()));
        c.server.public_url = Some("https://social.example.org".parse().unwrap());
        c.permissions.admin = vec!["UADMIN".into()];
    })
    .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(wiremock::matchers::body_string_contains(
            "grant_type=authorization_code",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ya29.connected", "expires_in": 3599, "refresh_token": "1//fresh",
            "scope": "https://www.googleapis.com/auth/youtube.force-ssl", "token_type": "Bearer"
        })))
        .mount(google)
        .await;
    Mock::given(method("GET"))
        .and(path("/youtube/v3/channels"))
        .and(query_param("mine", "true"))
        .and(header("authorization", "Bearer ya29.connected"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "youtube#channelListResponse",
            "items": [{"kind": "youtube#channel", "id": "UC_acme", "snippet": {"title": "Acme TV"}}]
        })))
        .mount(google)
        .await;
    w
}

/// The callback URL Google would redirect to for the link `said` hands out, with `code`.
fn callback_for(said: &str, code: &str) -> String {
    let link = url::Url::parse(said.rsplit(' ').next().expect("a link")).expect("an URL");
    let state = link
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("a state");
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "/oauth/google/callback?state={}&code={}",
        enc(&state),
        enc(code)
    )
}

async fn token_exchanges(google: &MockServer) -> usize {
    google
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/token")
        .count()
}

/// The database refuses to store the account: the teammate is asked to try again, nothing is
/// stored, and the same link still works afterwards (the once-mark went with the failed
/// transaction). Used once, it is refused without asking Google again.
#[tokio::test]
async fn a_failure_to_store_leaves_the_link_usable_and_a_replay_is_refused() {
    let google = MockServer::start().await;
    let w = connecting_world(&google).await;
    w.slack_ok().await;
    let said = ephemeral_text(&w.command("UADMIN", "connect youtube").await.1);
    // Simulate a database failure on the accounts table, from another connection.
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&w.svc.config.database.url)
        .await
        .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse_accounts BEFORE INSERT ON accounts \
         BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let (status, page) = get(&w, &callback_for(&said, "4/first-code")).await;
    assert_eq!(
        status,
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "{page}"
    );
    assert!(page.contains("open the link again"), "{page}");
    assert!(w.store.accounts().await.unwrap().is_empty());
    assert!(w.take_slack("/chat.postMessage").await.is_empty());

    // The database is back: the same link (Google hands out a new code) connects.
    sqlx::query("DROP TRIGGER refuse_accounts")
        .execute(&mut db)
        .await
        .unwrap();
    let callback = callback_for(&said, "4/second-code");
    let (status, page) = get(&w, &callback).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{page}");
    assert_eq!(w.store.accounts().await.unwrap().len(), 1);
    let told = w.take_slack("/chat.postMessage").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].body.to_string().contains("Acme TV"), "{told:?}");
    assert_eq!(token_exchanges(&google).await, 2);

    // Used now: refused before any exchange, nothing stored or said again.
    for code in ["4/second-code", "4/third-code"] {
        let (status, page) = get(&w, &callback_for(&said, code)).await;
        assert_eq!(status, axum::http::StatusCode::BAD_REQUEST);
        assert!(page.contains("already used"), "{page}");
    }
    assert_eq!(token_exchanges(&google).await, 2);
    assert_eq!(w.store.accounts().await.unwrap().len(), 1);
    w.finish().await;
}

/// Slack fails the "connected" notice the callback posts at once: the account is connected
/// all the same, and the notice stays pending until the accounts loop posts it, once.
#[tokio::test]
async fn a_connected_notice_whose_post_failed_is_posted_later_once() {
    let google = MockServer::start().await;
    let w = connecting_world(&google).await;
    w.slack_ok().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(500).set_body_string("<html>Server Error</html>"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.slack)
        .await;
    let said = ephemeral_text(&w.command("UADMIN", "connect youtube").await.1);
    let (status, page) = get(&w, &callback_for(&said, "4/good-code")).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{page}");
    let accounts = w.store.accounts().await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert!(accounts[0].notice_due.is_some(), "still to be told");
    assert_eq!(
        w.take_slack("/chat.postMessage").await.len(),
        1,
        "the failed try"
    );

    use switchboard::workers::accounts::{NOTICE_RETRY, deliver_notices};
    // Not before its retry time.
    assert_eq!(deliver_notices(&w.svc, Utc::now()).await.unwrap(), 0);
    assert!(w.take_slack("/chat.postMessage").await.is_empty());
    let later = Utc::now() + chrono::Duration::from_std(NOTICE_RETRY).unwrap();
    let later = later + chrono::Duration::seconds(1);
    assert_eq!(deliver_notices(&w.svc, later).await.unwrap(), 1);
    let told = w.take_slack("/chat.postMessage").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].body["channel"], CHANNEL);
    let said = blocks_text(&told[0].body) + &told[0].body["text"].to_string();
    assert!(
        said.contains("YouTube channel") && said.contains("Acme TV"),
        "{said}"
    );
    // Told: never again.
    let much_later = later + chrono::Duration::days(1);
    assert_eq!(deliver_notices(&w.svc, much_later).await.unwrap(), 0);
    assert_eq!(
        w.store
            .account(accounts[0].id)
            .await
            .unwrap()
            .unwrap()
            .notice_due,
        None
    );
    w.finish().await;
}

/// `connect` in a direct message is refused (the conversations would have nowhere to go):
/// no link, nothing else.
#[tokio::test]
async fn connect_in_a_direct_message_is_refused() {
    let google = MockServer::start().await;
    let w = connecting_world(&google).await;
    w.slack_ok().await;
    // A one-to-one DM, and a group DM (its id looks like a private channel's).
    for (channel, name) in [("D0DIRECT", "directmessage"), ("G0GROUP", "mpdm-ana--bo-1")] {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("team_id", TEAM)
            .append_pair("channel_id", channel)
            .append_pair("channel_name", name)
            .append_pair("user_id", "UADMIN")
            .append_pair("command", "/switchboard")
            .append_pair("text", "connect youtube")
            .append_pair("response_url", &w.response_url())
            .append_pair("trigger_id", &format!("t-{channel}"))
            .finish();
        let (status, answer) = w
            .slack_post(
                "/slack/commands",
                "application/x-www-form-urlencoded",
                &body,
                &[],
            )
            .await;
        assert_eq!(status, axum::http::StatusCode::OK);
        assert_eq!(
            ephemeral_text(&answer),
            switchboard::core::text::CONNECT_IN_A_DM,
            "{channel}"
        );
    }
    assert!(w.store.accounts().await.unwrap().is_empty());
    w.finish().await;
}

/// `connect google` connects every location the grant reaches: both listings are read to
/// their last page, a location listed under two accounts is connected once, and the channel
/// is told about all of them in one message (names escaped).
#[tokio::test]
async fn connecting_google_reads_every_page_of_accounts_and_locations() {
    let google = MockServer::start().await;
    let base = google.uri();
    let w = World::with(|c| {
        let mut g = GoogleConfig::new("1234-abc.apps.googleusercontent.com");
        g.client_secret = Some(SecretString::from("GOCSPX-test".to_string()));
        g.authorize_url = format!("{base}/o/oauth2/v2/auth");
        g.token_url = format!("{base}/token");
        g.account_management_url = format!("{base}/am/v1");
        g.business_information_url = format!("{base}/bi/v1");
        c.google = Some(g);
        c.secret_key = Some(SecretString::from(KEY.to_string()));
        c.server.public_url = Some("https://social.example.org".parse().unwrap());
        c.permissions.admin = vec!["UADMIN".into()];
    })
    .await;
    w.slack_ok().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ya29.business", "expires_in": 3599, "refresh_token": "1//biz",
            "scope": switchboard::oauth::SCOPE_BUSINESS, "token_type": "Bearer"
        })))
        .mount(&google)
        .await;
    let page = |p: &str, token: Option<&str>, body: Value| {
        let m = Mock::given(method("GET"))
            .and(path(p.to_string()))
            .and(header("authorization", "Bearer ya29.business"));
        let m = match token {
            Some(t) => m.and(query_param("pageToken", t)),
            None => m.and(wiremock::matchers::query_param_is_missing("pageToken")),
        };
        m.respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
    };
    page(
        "/am/v1/accounts",
        None,
        json!({"accounts": [{"name": "accounts/111", "accountName": "Jane", "type": "PERSONAL"}],
               "nextPageToken": "acc-2"}),
    )
    .mount(&google)
    .await;
    page(
        "/am/v1/accounts",
        Some("acc-2"),
        json!({"accounts": [{"name": "accounts/333", "accountName": "Cafés", "type": "LOCATION_GROUP"}]}),
    )
    .mount(&google)
    .await;
    page(
        "/bi/v1/accounts/111/locations",
        None,
        json!({"locations": [{"name": "locations/1", "title": "Downtown"}], "nextPageToken": "loc-2"}),
    )
    .mount(&google)
    .await;
    page(
        "/bi/v1/accounts/111/locations",
        Some("loc-2"),
        json!({"locations": [{"name": "locations/2", "title": "Airport <!here>"}]}),
    )
    .mount(&google)
    .await;
    page(
        "/bi/v1/accounts/333/locations",
        None,
        json!({"locations": [{"name": "locations/2", "title": "Airport <!here>"},
                             {"name": "locations/3", "title": "Harbour"}]}),
    )
    .mount(&google)
    .await;

    let said = ephemeral_text(&w.command("UADMIN", "connect google").await.1);
    let (status, page) = get(&w, &callback_for(&said, "4/business-code")).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{page}");
    let connected: Vec<(String, String)> = w
        .store
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.account_id.to_string(), a.name))
        .collect();
    assert_eq!(
        connected,
        vec![
            ("accounts/111/locations/1".into(), "Downtown".into()),
            ("accounts/111/locations/2".into(), "Airport <!here>".into()),
            ("accounts/333/locations/3".into(), "Harbour".into()),
        ]
    );
    let told = w.take_slack("/chat.postMessage").await;
    assert_eq!(told.len(), 1, "one message for the grant: {told:?}");
    let body = told[0].body.to_string();
    for name in ["Downtown", "Airport &lt;!here&gt;", "Harbour"] {
        assert!(body.contains(name), "{name} in {body}");
    }
    assert!(!body.contains("<!here>"), "{body}");
    w.finish().await;
}
