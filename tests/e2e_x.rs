//! X end to end, as `serve` runs it, against a fake speaking X's formats: an admin connects
//! an account from a signed Slack slash command (OAuth 2.0 with PKCE, the code exchanged with
//! HTTP Basic client authentication at the callback, the token set stored sealed); a poll
//! turns a mention and a direct message into cards with the buttons X offers; a reply typed
//! in a card's thread reaches X as a reply post (or a DM) with the account's token, and the
//! delivered mark follows. With `ingest = "webhook"`, signed deliveries of both payload shapes
//! become cards, a bad signature stores nothing, and the account is never polled.

mod support;

use chrono::Utc;
use secrecy::SecretString;
use serde_json::{Value, json};
use support::*;
use switchboard::config::XConfig;
use switchboard::core::{AccountId, ChatRef, Delivery, MessageKey, Network, Surface};
use switchboard::networks::x::Ingest;
use switchboard::oauth::TokenSet;
use switchboard::store::NewAccount;
use switchboard::workers::poll::{PollSettings, Poller, Round};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const ACCOUNT: &str = "2244994945";
const CUSTOMER: &str = "3001969357";
const CLIENT_ID: &str = "M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ";
const CLIENT_SECRET: &str = "x-client-secret";
const CONSUMER_SECRET: &str = "test_consumer_secret";
const ACCESS: &str = "Q0Mzb0VhZ0V5dmNXSTEy-account";

/// A world whose `[x]` talks to the `fake` (every URL), with the credentials key and a
/// public URL, ingesting by `ingest`.
async fn x_world(fake: &MockServer, ingest: Ingest) -> World {
    let base = fake.uri();
    let w = World::with(|c| {
        let mut x = XConfig::new(CLIENT_ID);
        x.client_secret = Some(SecretString::from(CLIENT_SECRET));
        x.consumer_secret = Some(SecretString::from(CONSUMER_SECRET));
        x.api_url = format!("{base}/2");
        x.authorize_url = format!("{base}/i/oauth2/authorize");
        x.token_url = format!("{base}/2/oauth2/token");
        x.revoke_url = format!("{base}/2/oauth2/revoke");
        x.ingest = ingest;
        c.x = Some(x);
        c.secret_key = Some(SecretString::from(KEY.to_string()));
        c.server.public_url = Some("https://social.example.org".parse().unwrap());
        c.permissions.admin = vec!["UADMIN".into()];
    })
    .await;
    w.slack_ok().await;
    w
}

/// The account connected (its token sealed in the store), as a callback would leave it.
async fn connect(w: &World) {
    let key = w.svc.config.credentials_key().expect("key");
    let tokens = TokenSet {
        access_token: SecretString::from(ACCESS.to_string()),
        refresh_token: Some(SecretString::from("ref-1".to_string())),
        expires_at: Utc::now() + chrono::Duration::hours(2),
        scope: vec!["tweet.read".into()],
    };
    w.store
        .connect_account(
            &NewAccount {
                network: Network::X,
                account_id: AccountId::new(ACCOUNT),
                name: "@XDevelopers".into(),
                surface: Surface::Slack,
                channel: CHANNEL.into(),
                credentials: switchboard::workers::tokens::seal(&key, Network::X, ACCOUNT, &tokens),
                connected_by: Some("UADMIN".into()),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    w.svc.reload_accounts().await.unwrap();
    // The "connected" notice of a direct store write is not what these scenarios look at.
    switchboard::workers::accounts::deliver_notices(&w.svc, Utc::now())
        .await
        .unwrap();
    w.take_slack("/chat.postMessage").await;
}

fn poller(w: &World) -> Poller {
    Poller::new(
        w.svc.networks.all_polled(),
        w.svc.tokens.clone().expect("token source"),
        PollSettings {
            lease: std::time::Duration::from_secs(60),
            min_interval: std::time::Duration::from_secs(60),
            failure_backoff: std::time::Duration::from_secs(60),
        },
    )
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

async fn x_webhook(
    w: &World,
    body: &str,
    signature: Option<&str>,
) -> (axum::http::StatusCode, String) {
    let mut req =
        axum::http::Request::post("/webhooks/x").header("content-type", "application/json");
    if let Some(s) = signature {
        req = req.header("x-twitter-webhooks-signature", s);
    }
    w.send(req.body(axum::body::Body::from(body.to_string())).unwrap())
        .await
}

fn sign(body: &str) -> String {
    switchboard::networks::x::webhook::signature(CONSUMER_SECRET, body.as_bytes()).expect("mac")
}

#[tokio::test]
async fn an_admin_connects_an_x_account_from_slack() {
    let fake = MockServer::start().await;
    let w = x_world(&fake, Ingest::Poll).await;
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{CLIENT_ID}:{CLIENT_SECRET}")
        )
    );
    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        .and(header("authorization", basic.as_str()))
        .and(wiremock::matchers::body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "bearer", "expires_in": 7200, "access_token": "acc-connected",
            "scope": "tweet.read users.read tweet.write tweet.moderate.write like.write mute.write dm.read dm.write offline.access",
            "refresh_token": "ref-connected"
        })))
        .expect(1)
        .mount(&fake)
        .await;
    Mock::given(method("GET"))
        .and(path("/2/users/me"))
        .and(header("authorization", "Bearer acc-connected"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"id": ACCOUNT, "name": "X Developers", "username": "XDevelopers"}
        })))
        .mount(&fake)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/oauth2/revoke"))
        .and(header("authorization", basic.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"revoked": true})))
        .expect(1)
        .mount(&fake)
        .await;

    let said = ephemeral_text(&w.command("UADMIN", "connect x").await.1);
    let link = url::Url::parse(said.rsplit(' ').next().expect("a link")).expect("an URL");
    assert_eq!(link.path(), "/i/oauth2/authorize");
    let q: std::collections::HashMap<String, String> = link.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(
        q["redirect_uri"],
        "https://social.example.org/oauth/x/callback"
    );
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(
        q["scope"],
        "tweet.read users.read tweet.write tweet.moderate.write like.write mute.write dm.read dm.write offline.access"
    );
    assert!(q["state"].len() <= 500, "X's limit");
    assert!(!link.as_str().contains(CLIENT_SECRET));

    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let callback = format!("/oauth/x/callback?state={}&code=VGNibzFW", enc(&q["state"]));
    let (status, page) = get(&w, &callback).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{page}");
    let accounts = w.store.accounts().await.unwrap();
    assert_eq!(accounts.len(), 1);
    let a = &accounts[0];
    assert_eq!(
        (
            a.network,
            a.account_id.as_str(),
            a.name.as_str(),
            a.channel.as_str()
        ),
        (Network::X, ACCOUNT, "@XDevelopers", CHANNEL)
    );
    let blob = String::from_utf8_lossy(&a.credentials);
    assert!(!blob.contains("acc-connected") && !blob.contains("ref-connected"));
    let opened = switchboard::workers::tokens::open(&w.svc.config.credentials_key().unwrap(), a)
        .expect("opens");
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&opened.access_token),
        "acc-connected"
    );
    // The exchange: the PKCE verifier and no client secret in the body.
    let exchange = fake
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/2/oauth2/token")
        .expect("exchanged");
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&exchange.body)
            .into_owned()
            .collect();
    assert!(
        form.contains_key("code_verifier") && !form.contains_key("client_secret"),
        "{form:?}"
    );
    // The channel is told.
    let told: Vec<String> = w
        .take_slack("/chat.postMessage")
        .await
        .iter()
        .map(|p| p.body.to_string())
        .collect();
    assert!(
        told.iter()
            .any(|b| b.contains("X account") && b.contains("@XDevelopers")),
        "{told:?}"
    );

    // Disconnecting revokes the grant with the client's Basic credentials.
    let said = ephemeral_text(&w.command("UADMIN", &format!("disconnect {}", a.id)).await.1);
    assert!(said.contains("Disconnected"), "{said}");
    assert!(w.store.accounts().await.unwrap().is_empty());
}

/// X's fake for a polled account: a reply to our post (hostile text), our own post, and a
/// direct message (with our own message beside it); replies, DMs and moderation accepted.
async fn x_fake(fake: &MockServer) {
    let bearer = format!("Bearer {ACCESS}");
    let recent = (Utc::now() - chrono::Duration::minutes(10)).to_rfc3339();
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{ACCOUNT}/mentions")))
        .and(header("authorization", bearer.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                {"id": "1924465506158878979", "text": "@XDevelopers is the reply API down? <!channel>",
                 "author_id": CUSTOMER, "conversation_id": "1924465000000000000",
                 "in_reply_to_user_id": ACCOUNT, "created_at": recent,
                 "referenced_tweets": [{"type": "replied_to", "id": "1924465000000000000"}]},
                {"id": "1924465506158878980", "text": "@XDevelopers thanks all", "author_id": ACCOUNT,
                 "conversation_id": "1924465506158878980", "created_at": recent}
            ],
            "includes": {"users": [{"id": CUSTOMER, "username": "furiouscamper", "name": "Jordan Brinks"}]},
            "meta": {"result_count": 2, "newest_id": "1924465506158878980", "oldest_id": "1924465506158878979"}
        })))
        .mount(fake)
        .await;
    Mock::given(method("GET"))
        .and(path("/2/dm_events"))
        .and(header("authorization", bearer.as_str()))
        .and(query_param("event_types", "MessageCreate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                {"id": "1582838650453413888", "event_type": "MessageCreate", "text": "Thanks, sent it",
                 "sender_id": ACCOUNT, "dm_conversation_id": "2244994945-3001969357", "created_at": recent},
                {"id": "1582838650453413887", "event_type": "MessageCreate", "text": "Can I DM my order number?",
                 "sender_id": CUSTOMER, "dm_conversation_id": "2244994945-3001969357", "created_at": recent}
            ],
            "includes": {"users": [{"id": CUSTOMER, "username": "furiouscamper", "name": "Jordan Brinks"}]},
            "meta": {"result_count": 2}
        })))
        .mount(fake)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(header("authorization", bearer.as_str()))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "data": {"id": "1924465506158879999", "text": "@furiouscamper Not down, looking!",
                     "edit_history_tweet_ids": ["1924465506158879999"]}
        })))
        .mount(fake)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/2/dm_conversations/with/{CUSTOMER}/messages")))
        .and(header("authorization", bearer.as_str()))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "data": {"dm_conversation_id": "2244994945-3001969357", "dm_event_id": "1582838650453413999"}
        })))
        .mount(fake)
        .await;
    Mock::given(method("PUT"))
        .and(path("/2/tweets/1924465506158878979/hidden"))
        .and(header("authorization", bearer.as_str()))
        .and(body_partial_json(json!({"hidden": true})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"hidden": true}})))
        .mount(fake)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/2/users/{ACCOUNT}/muting")))
        .and(header("authorization", bearer.as_str()))
        .and(body_partial_json(json!({"target_user_id": CUSTOMER})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"muting": true}})))
        .mount(fake)
        .await;
}

/// The requests X's fake got for `route` (method and path), with their JSON bodies.
async fn sent(fake: &MockServer, verb: &str, route: &str) -> Vec<(Value, String)> {
    fake.received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == route)
        .map(|r| {
            let auth = r
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            (serde_json::from_slice(&r.body).unwrap_or(Value::Null), auth)
        })
        .collect()
}

async fn delivered(w: &World, ts: &str) -> (Option<Delivery>, Option<String>) {
    let key = MessageKey::from_chat(&ChatRef {
        surface: Surface::Slack,
        workspace: TEAM.into(),
        channel: CHANNEL.into(),
        message: ts.into(),
    });
    let m = w
        .store
        .message(&key)
        .await
        .unwrap()
        .expect("reply recorded");
    (m.delivery, m.network_item_id.map(|i| i.to_string()))
}

#[tokio::test]
async fn a_polled_mention_and_message_become_cards_and_thread_replies_reach_x() {
    let fake = MockServer::start().await;
    let w = x_world(&fake, Ingest::Poll).await;
    x_fake(&fake).await;
    connect(&w).await;
    let round = poller(&w).round(&w.store, Utc::now()).await.unwrap();
    assert!(matches!(round, Round::Polled { rows: 2, .. }), "{round:?}");
    w.settle().await;

    let cards: Vec<Seen> = w
        .take_slack("/chat.postMessage")
        .await
        .into_iter()
        .filter(|p| p.body.get("thread_ts").is_none())
        .collect();
    assert_eq!(
        cards.len(),
        2,
        "our own post and message are not cards: {cards:?}"
    );
    let mention = w
        .store
        .ticket_by_conversation(&format!("x:{ACCOUNT}:1924465000000000000:{CUSTOMER}"))
        .await
        .unwrap()
        .expect("the reply's ticket");
    let dm = w
        .store
        .ticket_by_conversation(&format!("x:{ACCOUNT}:dm:{CUSTOMER}"))
        .await
        .unwrap()
        .expect("the conversation's ticket");
    let card_of = |id: switchboard::core::TicketId| {
        cards
            .iter()
            .find(|c| {
                action_ids(&c.body)
                    .iter()
                    .any(|a| a.ends_with(&format!(":{id}")))
            })
            .expect("a card")
            .clone()
    };
    let mention_card = card_of(mention.id);
    let text = blocks_text(&mention_card.body);
    assert!(text.contains("X comment on @XDevelopers"), "{text}");
    assert!(text.contains("Jordan Brinks (@furiouscamper)"), "{text}");
    assert!(
        text.contains("&lt;!channel&gt;") && !text.contains("<!channel>"),
        "{text}"
    );
    let ids = action_ids(&mention_card.body);
    for offered in ["hide", "like", "mute", "reply"] {
        assert!(
            ids.contains(&format!("sb1:{offered}:{}", mention.id)),
            "{offered}: {ids:?}"
        );
    }
    for not_offered in [
        "block",
        "delete",
        "approve",
        "reject",
        "ban",
        "delete_reply",
        "unhide",
    ] {
        assert!(
            !ids.contains(&format!("sb1:{not_offered}:{}", mention.id)),
            "{not_offered}: {ids:?}"
        );
    }
    let dm_card = card_of(dm.id);
    assert!(blocks_text(&dm_card.body).contains("X message on @XDevelopers"));
    let ids = action_ids(&dm_card.body);
    assert!(ids.contains(&format!("sb1:reply:{}", dm.id)), "{ids:?}");
    for not_offered in ["hide", "like", "mute", "block", "delete"] {
        assert!(
            !ids.contains(&format!("sb1:{not_offered}:{}", dm.id)),
            "{not_offered}: {ids:?}"
        );
    }

    // A reply in the mention's card thread: a reply post, with the account's token.
    let mention_ts = w
        .store
        .card_of(mention.id)
        .await
        .unwrap()
        .expect("card")
        .message;
    w.thread_message(
        "Ev1",
        "U1",
        &mention_ts,
        "1700000999.000100",
        "Not down, looking!",
    )
    .await;
    w.settle().await;
    assert_eq!(
        sent(&fake, "POST", "/2/tweets").await,
        vec![(
            json!({"text": "Not down, looking!", "reply": {"in_reply_to_tweet_id": "1924465506158878979"}}),
            format!("Bearer {ACCESS}")
        )]
    );
    assert_eq!(
        delivered(&w, "1700000999.000100").await,
        (
            Some(Delivery::Delivered),
            Some("1924465506158879999".into())
        )
    );
    // Now our reply can be deleted from the card.
    let update = w.take_slack("/chat.update").await;
    let ids = action_ids(&update.last().expect("card updated").body);
    assert!(
        ids.contains(&format!("sb1:delete_reply:{}", mention.id)),
        "{ids:?}"
    );

    // A reply in the conversation's thread: a direct message to the customer.
    let dm_ts = w.store.card_of(dm.id).await.unwrap().expect("card").message;
    w.thread_message(
        "Ev2",
        "U1",
        &dm_ts,
        "1700000999.000200",
        "Yes please, DM it here",
    )
    .await;
    w.settle().await;
    assert_eq!(
        sent(
            &fake,
            "POST",
            &format!("/2/dm_conversations/with/{CUSTOMER}/messages")
        )
        .await,
        vec![(
            json!({"text": "Yes please, DM it here"}),
            format!("Bearer {ACCESS}")
        )]
    );
    assert_eq!(
        delivered(&w, "1700000999.000200").await,
        (
            Some(Delivery::Delivered),
            Some("1582838650453413999".into())
        )
    );

    // Hide the reply and mute its author from the card.
    w.click("UMOD", &mention_ts, &format!("sb1:hide:{}", mention.id))
        .await;
    w.click("UMOD", &mention_ts, &format!("sb1:mute:{}", mention.id))
        .await;
    w.settle().await;
    assert_eq!(
        sent(&fake, "PUT", "/2/tweets/1924465506158878979/hidden")
            .await
            .len(),
        1
    );
    assert_eq!(
        sent(&fake, "POST", &format!("/2/users/{ACCOUNT}/muting"))
            .await
            .len(),
        1
    );
    let update = w.take_slack("/chat.update").await;
    let last = &update.last().expect("card updated").body;
    let shown = blocks_text(last);
    assert!(
        shown.contains("Hidden from the public") && shown.contains("Author muted"),
        "{shown}"
    );
    let ids = action_ids(last);
    assert!(
        ids.contains(&format!("sb1:unhide:{}", mention.id)),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&format!("sb1:mute:{}", mention.id)),
        "{ids:?}"
    );

    // Polled again: the same items are not doubled.
    let later = Utc::now() + chrono::Duration::minutes(5);
    let round = poller(&w).round(&w.store, later).await.unwrap();
    assert!(matches!(round, Round::Polled { .. }), "{round:?}");
    w.settle().await;
    let again: Vec<Seen> = w
        .take_slack("/chat.postMessage")
        .await
        .into_iter()
        .filter(|p| p.body.get("thread_ts").is_none())
        .collect();
    assert!(again.is_empty(), "{again:?}");
    let cursor = w.store.accounts().await.unwrap()[0]
        .cursor
        .clone()
        .expect("a cursor");
    assert!(cursor.contains("1924465506158878980"), "{cursor}");
}

#[tokio::test]
async fn signed_webhook_deliveries_of_both_shapes_become_cards_and_forgeries_store_nothing() {
    let fake = MockServer::start().await;
    let w = x_world(&fake, Ingest::Webhook).await;
    connect(&w).await;

    // The CRC handshake (network-apis.md §9's vector).
    let (status, body) = get(&w, "/webhooks/x?crc_token=challenge_string").await;
    assert_eq!(status, axum::http::StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"response_token": "sha256=583uAmerwtjpykYEAEm+CEIRm6dOywK4QKRr0ha/Pd4="})
    );

    // The CRC is no signing oracle: a delivery's bytes as a crc_token are refused.
    let aaa_probe = json!({"for_user_id": ACCOUNT, "tweet_create_events": []}).to_string();
    let probe = format!(
        "/webhooks/x?crc_token={}",
        url::form_urlencoded::byte_serialize(aaa_probe.as_bytes()).collect::<String>()
    );
    let (status, _) = get(&w, &probe).await;
    assert_eq!(status, axum::http::StatusCode::BAD_REQUEST);

    // Forged, unsigned: 401, nothing stored.
    let aaa = json!({
      "for_user_id": ACCOUNT,
      "tweet_create_events": [{
        "created_at": "Mon May 19 14:01:46 +0000 2025",
        "id_str": "1924465506158878979",
        "text": "@XDevelopers is the reply API down?",
        "in_reply_to_status_id_str": "1924465000000000000",
        "in_reply_to_user_id_str": ACCOUNT,
        "user": { "id_str": CUSTOMER, "screen_name": "furiouscamper", "name": "Jordan Brinks" },
        "entities": { "user_mentions": [{ "screen_name": "XDevelopers", "id_str": ACCOUNT }] },
        "truncated": false
      }]
    })
    .to_string();
    let forged = sign(&aaa.replace("down?", "down!!"));
    let (status, _) = x_webhook(&w, &aaa, Some(&forged)).await;
    assert_eq!(status, axum::http::StatusCode::UNAUTHORIZED);
    let (status, _) = x_webhook(&w, &aaa, None).await;
    assert_eq!(status, axum::http::StatusCode::UNAUTHORIZED);
    assert_eq!(w.store.count_inbox().await.unwrap(), 0);

    // Account Activity: a reply to our post.
    let (status, _) = x_webhook(&w, &aaa, Some(&sign(&aaa))).await;
    assert_eq!(status, axum::http::StatusCode::OK);
    // X Activity API: a direct message (and the same reply again, pushed twice: one card).
    let xaa = json!({"data": {"event_uuid": "1", "filter": {"user_id": ACCOUNT},
      "event_type": "dm.received", "tag": "dms",
      "payload": {
        "direct_message_events": [{
          "type": "message_create", "id": "954491830116155396", "created_timestamp": "1516403560557",
          "message_create": {"target": {"recipient_id": ACCOUNT}, "sender_id": CUSTOMER,
            "message_data": {"text": "Hello World! <@U0BOSS>"}}
        }],
        "users": {CUSTOMER: {"id": CUSTOMER, "name": "Jordan Brinks", "screen_name": "furiouscamper"}}
      },
      "includes": {}}})
    .to_string();
    let (status, _) = x_webhook(&w, &xaa, Some(&sign(&xaa))).await;
    assert_eq!(status, axum::http::StatusCode::OK);
    let (status, _) = x_webhook(&w, &aaa, Some(&sign(&aaa))).await;
    assert_eq!(status, axum::http::StatusCode::OK);
    w.settle().await;
    let cards: Vec<Seen> = w
        .take_slack("/chat.postMessage")
        .await
        .into_iter()
        .filter(|p| p.body.get("thread_ts").is_none())
        .collect();
    assert_eq!(cards.len(), 2, "{cards:?}");
    let all = cards
        .iter()
        .map(|c| blocks_text(&c.body))
        .collect::<Vec<_>>()
        .join("\n---\n");
    assert!(all.contains("X comment on @XDevelopers"), "{all}");
    assert!(all.contains("X message on @XDevelopers"), "{all}");
    assert!(
        all.contains("&lt;@U0BOSS&gt;") && !all.contains("<@U0BOSS>"),
        "{all}"
    );
    assert!(
        w.store
            .ticket_by_conversation(&format!("x:{ACCOUNT}:dm:{CUSTOMER}"))
            .await
            .unwrap()
            .is_some()
    );

    // With webhooks, the account is never claimed for a poll: no call to X at all.
    assert_eq!(
        poller(&w)
            .round(&w.store, Utc::now() + chrono::Duration::hours(1))
            .await
            .unwrap(),
        Round::Idle
    );
    assert!(fake.received_requests().await.unwrap().is_empty());
}
