//! TikTok end to end, as `serve` runs it, against a fake TikTok written from network-apis.md
//! §6 and §11.5: an admin connects an account from a signed Slack slash command, TikTok's
//! callback exchanges the code (JSON, `auth_code`, the envelope) and the account is stored
//! sealed; a poll turns its comments into cards offering only what TikTok allows; a thread
//! reply reaches TikTok under the comment with the account's token in `Access-Token`; Hide
//! from the card reaches TikTok; a reply over 150 characters is refused before it is queued.
//! Then: an expired token is refreshed (the rotated refresh token stored) before a poll, and
//! signed comment events are taken at `/webhooks/tiktok` while tampered or stale ones are not.

mod support;

use std::time::Duration;

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use support::*;
use switchboard::config::TiktokConfig;
use switchboard::core::{AccountId, Delivery, MessageKey, Network, Surface};
use switchboard::oauth::TokenSet;
use switchboard::store::NewAccount;
use switchboard::workers::poll::{PollSettings, Poller, Round};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const APP_ID: &str = "7000000000000000001";
const APP_SECRET: &str = "tt-app-secret";
const BUSINESS: &str = "-000acme-open-id";
const VIDEO: &str = "7299000000000000001";
const ACCESS: &str = "act.connected-token";
const API: &str = "/open_api/v1.3";

/// TikTok's envelope around `data`.
fn ok(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "code": 0, "message": "OK", "request_id": "2026120118000001", "data": data
    }))
}

fn tiktok_config(base: &str) -> TiktokConfig {
    let mut t = TiktokConfig::new(APP_ID);
    t.client_secret = Some(SecretString::from(APP_SECRET));
    t.authorize_url = format!("{base}/v2/auth/authorize");
    t.token_url = format!("{base}{API}/tt_user/oauth2/token/");
    t.refresh_url = format!("{base}{API}/tt_user/oauth2/refresh_token/");
    t.revoke_url = format!("{base}{API}/tt_user/oauth2/revoke/");
    t.api_url = format!("{base}{API}");
    t
}

async fn tiktok_world(tiktok: &MockServer, webhook_secret: Option<&str>) -> World {
    let base = tiktok.uri();
    let w = World::with(|c| {
        let mut t = tiktok_config(&base);
        t.webhook_secret = webhook_secret.map(|s| SecretString::from(s.to_string()));
        c.tiktok = Some(t);
        c.secret_key = Some(SecretString::from(KEY.to_string()));
        c.server.public_url = Some("https://social.example.org".parse().unwrap());
        c.permissions.admin = vec!["UADMIN".into()];
    })
    .await;
    w.slack_ok().await;
    w
}

fn comment(id: &str, user: &str, text: &str, at: i64) -> Value {
    json!({
        "comment_id": id, "video_id": VIDEO, "user_id": format!("uid-{user}"),
        "unique_identifier": format!("+{user}"), "create_time": at, "text": text,
        "likes": 0, "replies": 0, "owner": false, "liked": false, "pinned": false,
        "status": "PUBLIC", "username": user.to_lowercase(), "display_name": user
    })
}

/// The fake's account, videos and comments, behind `token`.
async fn mount_account(tiktok: &MockServer, token: &str) {
    let recent = Utc::now().timestamp() - 600;
    Mock::given(method("POST"))
        .and(path(format!("{API}/tt_user/token_info/get/")))
        .respond_with(ok(json!({
            "app_id": APP_ID, "creator_id": BUSINESS,
            "scope": "user.info.basic,video.list,comment.list,comment.list.manage"
        })))
        .mount(tiktok)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/business/get/")))
        .and(header("access-token", token))
        .respond_with(ok(
            json!({"username": "acmecoffee", "display_name": "Acme <!here> Coffee"}),
        ))
        .mount(tiktok)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/business/video/list/")))
        .and(header("access-token", token))
        .and(query_param("business_id", BUSINESS))
        .respond_with(ok(json!({
            "videos": [{"item_id": VIDEO, "create_time": recent - 86_400,
                        "caption": "How we roast our beans",
                        "share_url": format!("https://www.tiktok.com/@acmecoffee/video/{VIDEO}")}],
            "cursor": 1_780_000_000_000i64, "has_more": false
        })))
        .mount(tiktok)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/business/comment/list/")))
        .and(header("access-token", token))
        .and(query_param("video_id", VIDEO))
        .respond_with(ok(json!({
            "comments": [comment("7301", "Fan", "Where can I buy the <!channel> beans?", recent)],
            "cursor": 30, "has_more": false
        })))
        .mount(tiktok)
        .await;
}

/// `business/comment/reply/create/` and `business/comment/hide/` accept everything.
async fn mount_actions(tiktok: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("{API}/business/comment/reply/create/")))
        .respond_with(ok(json!({
            "comment_id": "7399", "video_id": VIDEO, "create_time": Utc::now().timestamp(),
            "text": "At our shop!", "owner": true, "parent_comment_id": "7301"
        })))
        .mount(tiktok)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/business/comment/hide/")))
        .respond_with(ok(json!({})))
        .mount(tiktok)
        .await;
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

fn poller(w: &World) -> Poller {
    Poller::new(
        w.svc.networks.all_polled(),
        w.svc.tokens.clone().expect("token source"),
        PollSettings {
            lease: Duration::from_secs(60),
            min_interval: Duration::from_secs(60),
            failure_backoff: Duration::from_secs(60),
        },
    )
}

/// What the fake received at `api_path` (under the API root), as (headers, JSON body).
async fn received(tiktok: &MockServer, api_path: &str) -> Vec<(Request, Value)> {
    tiktok
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == format!("{API}{api_path}"))
        .map(|r| {
            let body = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            (r, body)
        })
        .collect()
}

/// Connect from Slack, poll, reply from the card's thread, hide from the card.
#[tokio::test]
async fn an_account_connected_from_slack_is_polled_answered_and_moderated_from_its_card() {
    let tiktok = MockServer::start().await;
    let w = tiktok_world(&tiktok, None).await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/tt_user/oauth2/token/")))
        .respond_with(ok(json!({
            "access_token": ACCESS, "token_type": "Bearer",
            "scope": "user.info.basic,user.info.username,video.list,comment.list,comment.list.manage",
            "expires_in": 86400, "refresh_token": "rft.connected",
            "refresh_token_expires_in": 31536000, "open_id": BUSINESS
        })))
        .mount(&tiktok)
        .await;
    mount_account(&tiktok, ACCESS).await;
    mount_actions(&tiktok).await;

    // `connect tiktok` from a signed slash command: TikTok's authorization page, with its
    // parameters (client_key, comma-separated scopes, our redirect URI; no PKCE).
    let said = ephemeral_text(&w.command("UANA", "connect tiktok").await.1);
    assert_eq!(said, switchboard::core::text::ADMINS_ONLY);
    let said = ephemeral_text(&w.command("UADMIN", "connect tiktok").await.1);
    let url = url::Url::parse(said.rsplit(' ').next().expect("a link")).expect("an URL");
    assert_eq!(url.path(), "/v2/auth/authorize");
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_key"], APP_ID);
    assert_eq!(q["response_type"], "code");
    assert_eq!(
        q["scope"],
        "user.info.basic,video.list,comment.list,comment.list.manage"
    );
    assert_eq!(
        q["redirect_uri"],
        "https://social.example.org/oauth/tiktok/callback"
    );
    assert!(!q.contains_key("code_challenge") && !q.contains_key("client_id"));
    assert!(!said.contains(APP_SECRET));

    // TikTok redirects back with `code`, `scopes` and our state.
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let callback = format!(
        "/oauth/tiktok/callback?code={}&scopes={}&state={}",
        enc("tt-code*123"),
        enc("user.info.basic,video.list"),
        enc(&q["state"])
    );
    let (status, page) = get(&w, &callback).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{page}");
    let exchanges = received(&tiktok, "/tt_user/oauth2/token/").await;
    assert_eq!(exchanges.len(), 1);
    assert_eq!(
        exchanges[0].1,
        json!({
            "client_id": APP_ID, "client_secret": APP_SECRET, "grant_type": "authorization_code",
            "auth_code": "tt-code*123",
            "redirect_uri": "https://social.example.org/oauth/tiktok/callback"
        })
    );
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
        (Network::Tiktok, BUSINESS, "Acme <!here> Coffee", CHANNEL)
    );
    // Stored sealed: no token in the clear.
    let blob = String::from_utf8_lossy(&a.credentials);
    assert!(!blob.contains(ACCESS) && !blob.contains("rft.connected"));
    let key = w.svc.config.credentials_key().unwrap();
    let opened = switchboard::workers::tokens::open(&key, a).unwrap();
    assert_eq!(opened.access_token.expose_secret(), ACCESS);
    // The channel is told, the account's name escaped.
    let told: Vec<String> = w
        .take_slack("/chat.postMessage")
        .await
        .iter()
        .map(|p| p.body.to_string())
        .collect();
    assert!(
        told.iter().any(|b| b.contains("TikTok account")
            && b.contains("Acme &lt;!here&gt; Coffee")
            && b.contains("its comments come here")),
        "{told:?}"
    );

    // A poll: the comment becomes a card, its text data.
    let round = poller(&w).round(&w.store, Utc::now()).await.unwrap();
    assert!(matches!(round, Round::Polled { rows: 1, .. }), "{round:?}");
    w.settle().await;
    let cards = w.take_slack("/chat.postMessage").await;
    assert_eq!(cards.len(), 1, "{cards:?}");
    let shown = blocks_text(&cards[0].body);
    assert!(shown.contains("TikTok comment on Acme"), "{shown}");
    assert!(shown.contains("On “How we roast our beans”"), "{shown}");
    assert!(
        shown.contains("&lt;!channel&gt;") && !shown.contains("<!channel>"),
        "{shown}"
    );
    // Only what TikTok offers: Hide; nothing to approve, delete, like or block, no reply to
    // delete yet.
    let t = w
        .store
        .ticket_by_conversation(&format!("tiktok:{BUSINESS}:{VIDEO}:+Fan"))
        .await
        .unwrap()
        .expect("ticket");
    let ids = action_ids(&cards[0].body);
    assert!(ids.contains(&format!("sb1:hide:{}", t.id)), "{ids:?}");
    for absent in [
        "unhide",
        "delete",
        "like",
        "block",
        "approve",
        "reject",
        "ban",
        "delete_reply",
    ] {
        assert!(
            !ids.contains(&format!("sb1:{absent}:{}", t.id)),
            "{absent} offered: {ids:?}"
        );
    }

    // A reply in the card's thread reaches TikTok under the comment, with the account's token.
    let card = w.store.card_of(t.id).await.unwrap().expect("card");
    let reply_ts = "1700000999.000100";
    w.thread_message("Ev1", "U1", &card.message, reply_ts, "At our shop!")
        .await;
    w.settle().await;
    let replies = received(&tiktok, "/business/comment/reply/create/").await;
    assert_eq!(replies.len(), 1);
    let (request, body) = &replies[0];
    assert_eq!(
        body,
        &json!({"business_id": BUSINESS, "video_id": VIDEO, "comment_id": "7301", "text": "At our shop!"})
    );
    assert_eq!(
        request
            .headers
            .get("access-token")
            .and_then(|v| v.to_str().ok()),
        Some(ACCESS)
    );
    assert!(request.headers.get("authorization").is_none());
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
        Some(format!("{VIDEO}:7301:7399"))
    );
    // The delivered mark in the thread, and the card now offers deleting our reply.
    let reactions = w.take_slack("/reactions.add").await;
    assert!(
        reactions
            .iter()
            .any(|r| r.body["timestamp"] == reply_ts && r.body["name"] == "white_check_mark"),
        "{reactions:?}"
    );
    let updates = w.take_slack("/chat.update").await;
    let ids = action_ids(&updates.last().expect("card updated").body);
    assert!(
        ids.contains(&format!("sb1:delete_reply:{}", t.id)),
        "{ids:?}"
    );

    // Hide from the card reaches TikTok; the card says so and offers Unhide.
    w.click("UMOD", &card.message, &format!("sb1:hide:{}", t.id))
        .await;
    w.settle().await;
    let hides = received(&tiktok, "/business/comment/hide/").await;
    assert_eq!(hides.len(), 1);
    assert_eq!(
        hides[0].1,
        json!({"business_id": BUSINESS, "video_id": VIDEO, "comment_id": "7301", "action": "HIDE"})
    );
    assert_eq!(
        hides[0]
            .0
            .headers
            .get("access-token")
            .and_then(|v| v.to_str().ok()),
        Some(ACCESS)
    );
    let updates = w.take_slack("/chat.update").await;
    let last = &updates.last().expect("card updated").body;
    assert!(
        blocks_text(last).contains("Hidden from the public"),
        "{}",
        blocks_text(last)
    );
    assert!(action_ids(last).contains(&format!("sb1:unhide:{}", t.id)));

    // Over 150 characters: refused before it is queued, with the limit in plain words.
    let long = "x".repeat(151);
    w.thread_message("Ev2", "U1", &card.message, "1700000999.000200", &long)
        .await;
    w.settle().await;
    let told = w.take_slack("/chat.postEphemeral").await;
    assert_eq!(told.len(), 1, "{told:?}");
    let said = told[0].body["text"].as_str().unwrap_or_default();
    assert!(
        said.contains("151 characters")
            && said.contains("at most 150 characters")
            && said.contains("Nothing was sent"),
        "{said}"
    );
    assert_eq!(
        received(&tiktok, "/business/comment/reply/create/")
            .await
            .len(),
        1
    );
    let key = MessageKey::from_chat(&switchboard::core::ChatRef {
        surface: Surface::Slack,
        workspace: TEAM.into(),
        channel: CHANNEL.into(),
        message: "1700000999.000200".into(),
    });
    assert!(w.store.message(&key).await.unwrap().is_none());
    // No token ever travelled in a URL.
    for r in tiktok.received_requests().await.unwrap() {
        assert!(!r.url.as_str().contains(ACCESS), "{}", r.url);
    }
}

/// Connect an account directly in the store, with `tokens`.
async fn connect_stored(w: &World, tokens: &TokenSet) -> i64 {
    let id = store_account(w, tokens).await;
    w.svc.reload_accounts().await.unwrap();
    id
}

/// The account as another replica connects it: in the database, not yet in this one's memory.
async fn store_account(w: &World, tokens: &TokenSet) -> i64 {
    let key = w.svc.config.credentials_key().expect("key");
    let a = w
        .store
        .connect_account(
            &NewAccount {
                network: Network::Tiktok,
                account_id: AccountId::new(BUSINESS),
                name: "Acme Coffee".into(),
                surface: Surface::Slack,
                channel: CHANNEL.into(),
                credentials: switchboard::workers::tokens::seal(
                    &key,
                    Network::Tiktok,
                    BUSINESS,
                    tokens,
                ),
                connected_by: Some("U1".into()),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    a.id
}

/// TikTok's access token lasts a day: an expired one is refreshed before the poll, and the
/// refresh token TikTok sends back is stored (sealed) before the new token is used.
#[tokio::test]
async fn an_expired_token_is_refreshed_and_the_rotated_refresh_token_stored_before_use() {
    let tiktok = MockServer::start().await;
    let w = tiktok_world(&tiktok, None).await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/tt_user/oauth2/refresh_token/")))
        .respond_with(ok(json!({
            "access_token": "act.refreshed", "expires_in": 86400, "open_id": BUSINESS,
            "refresh_token": "rft.rotated", "refresh_token_expires_in": 31449600,
            "scope": "user.info.basic,video.list,comment.list,comment.list.manage",
            "token_type": "Bearer"
        })))
        .mount(&tiktok)
        .await;
    mount_account(&tiktok, "act.refreshed").await;
    let expired = TokenSet {
        access_token: SecretString::from("act.yesterday".to_string()),
        refresh_token: Some(SecretString::from("rft.first".to_string())),
        expires_at: Utc::now() - chrono::Duration::minutes(1),
        scope: switchboard::networks::tiktok::SCOPES
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    let id = connect_stored(&w, &expired).await;
    let round = poller(&w).round(&w.store, Utc::now()).await.unwrap();
    assert!(matches!(round, Round::Polled { rows: 1, .. }), "{round:?}");
    let refreshes = received(&tiktok, "/tt_user/oauth2/refresh_token/").await;
    assert_eq!(refreshes.len(), 1);
    assert_eq!(
        refreshes[0].1,
        json!({"client_id": APP_ID, "client_secret": APP_SECRET,
               "grant_type": "refresh_token", "refresh_token": "rft.first"})
    );
    let key = w.svc.config.credentials_key().unwrap();
    let stored = w.store.account(id).await.unwrap().expect("account");
    let tokens = switchboard::workers::tokens::open(&key, &stored).unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "act.refreshed");
    assert_eq!(
        tokens.refresh_token.as_ref().map(|t| t.expose_secret()),
        Some("rft.rotated")
    );
    // Nothing was asked with yesterday's token.
    for r in tiktok.received_requests().await.unwrap() {
        assert_ne!(
            r.headers.get("access-token").and_then(|v| v.to_str().ok()),
            Some("act.yesterday")
        );
    }
    w.settle().await;
}

/// A refresh TikTok refuses (HTTP 200, non-zero code) marks the account unhealthy: polling
/// stops until it is reconnected.
#[tokio::test]
async fn a_refresh_tiktok_refuses_marks_the_account_unhealthy() {
    let tiktok = MockServer::start().await;
    let w = tiktok_world(&tiktok, None).await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/tt_user/oauth2/refresh_token/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "code": 40105, "message": "The refresh token is invalid or has expired.",
            "request_id": "x", "data": {}
        })))
        .mount(&tiktok)
        .await;
    let expired = TokenSet {
        access_token: SecretString::from("act.yesterday".to_string()),
        refresh_token: Some(SecretString::from("rft.revoked".to_string())),
        expires_at: Utc::now() - chrono::Duration::minutes(1),
        scope: vec![],
    };
    let id = connect_stored(&w, &expired).await;
    let round = poller(&w).round(&w.store, Utc::now()).await.unwrap();
    assert!(matches!(round, Round::Unhealthy { .. }), "{round:?}");
    let a = w.store.account(id).await.unwrap().expect("account");
    assert!(
        a.unhealthy.as_deref().is_some_and(|u| u.contains("40105")),
        "{:?}",
        a.unhealthy
    );
    // No comment call was made with a dead grant.
    assert!(received(&tiktok, "/business/video/list/").await.is_empty());
}

fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},s={}", hex::encode(mac.finalize().into_bytes()))
}

async fn webhook(w: &World, body: &str, signature: Option<&str>) -> axum::http::StatusCode {
    let mut req =
        axum::http::Request::post("/webhooks/tiktok").header("content-type", "application/json");
    if let Some(s) = signature {
        req = req.header("TikTok-Signature", s);
    }
    w.send(req.body(axum::body::Body::from(body.to_string())).unwrap())
        .await
        .0
}

/// The fake's comment event. The Business comment webhook's shape is secondary
/// (network-apis.md §6.1), so each field the parser reads can be left out here.
struct Event<'a> {
    action: &'a str,
    comment: &'a str,
    text: Option<&'a str>,
    owner: Option<bool>,
}

impl Event<'_> {
    fn body(&self) -> String {
        let mut content = json!({
            "comment_id": self.comment, "video_id": VIDEO, "comment_action": self.action,
            "create_time": Utc::now().timestamp(), "unique_identifier": "+Pusher",
            "display_name": "Pusher"
        });
        if let Some(text) = self.text {
            content["text"] = json!(text);
        }
        if let Some(owner) = self.owner {
            content["owner"] = json!(owner);
        }
        json!({
            "client_key": APP_ID, "event": "comment.update",
            "create_time": Utc::now().timestamp(), "user_openid": BUSINESS,
            "content": content.to_string()
        })
        .to_string()
    }
}

/// With a webhook secret, TikTok's signed comment events are taken at `/webhooks/tiktok`:
/// the same ticket a poll would make (a poll of the same comment adds nothing), a deletion
/// marks it; unsigned, tampered and stale deliveries are refused before parsing.
#[tokio::test]
async fn signed_comment_events_become_the_tickets_polling_makes_and_bad_ones_are_refused() {
    let tiktok = MockServer::start().await;
    let w = tiktok_world(&tiktok, Some(APP_SECRET)).await;
    let fresh = TokenSet {
        access_token: SecretString::from(ACCESS.to_string()),
        refresh_token: Some(SecretString::from("rft.x".to_string())),
        expires_at: Utc::now() + chrono::Duration::hours(20),
        scope: vec![],
    };
    connect_stored(&w, &fresh).await;
    w.take_slack("/chat.postMessage").await;
    let now = Utc::now().timestamp();

    let insert = Event {
        action: "insert",
        comment: "7301",
        text: Some("Pushed <@U1> hello"),
        owner: Some(false),
    }
    .body();
    // Refused before anything is stored: unsigned, tampered, stale, wrong secret.
    assert_eq!(
        webhook(&w, &insert, None).await,
        axum::http::StatusCode::UNAUTHORIZED
    );
    let good = signature(APP_SECRET, now, insert.as_bytes());
    let tampered = insert.replace("hello", "hellO");
    assert_eq!(
        webhook(&w, &tampered, Some(&good)).await,
        axum::http::StatusCode::UNAUTHORIZED
    );
    let stale = signature(APP_SECRET, now - 3_600, insert.as_bytes());
    assert_eq!(
        webhook(&w, &insert, Some(&stale)).await,
        axum::http::StatusCode::UNAUTHORIZED
    );
    let wrong = signature("another-secret", now, insert.as_bytes());
    assert_eq!(
        webhook(&w, &insert, Some(&wrong)).await,
        axum::http::StatusCode::UNAUTHORIZED
    );
    assert_eq!(w.store.count_pending_inbox().await.unwrap(), 0);

    // Signed: a card, the customer's text as data.
    assert_eq!(
        webhook(&w, &insert, Some(&good)).await,
        axum::http::StatusCode::OK
    );
    // TikTok delivers at least once: the same event again changes nothing.
    assert_eq!(
        webhook(&w, &insert, Some(&good)).await,
        axum::http::StatusCode::OK
    );
    w.settle().await;
    let cards = w.take_slack("/chat.postMessage").await;
    assert_eq!(cards.len(), 1, "{cards:?}");
    let shown = blocks_text(&cards[0].body);
    assert!(shown.contains("Pushed &lt;@U1&gt; hello"), "{shown}");
    let t = w
        .store
        .ticket_by_conversation(&format!("tiktok:{BUSINESS}:{VIDEO}:+Pusher"))
        .await
        .unwrap()
        .expect("ticket");

    // The poll reads the same comment: the inbox already has it.
    Mock::given(method("GET"))
        .and(path(format!("{API}/business/video/list/")))
        .respond_with(ok(
            json!({"videos": [{"item_id": VIDEO}], "has_more": false}),
        ))
        .mount(&tiktok)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/business/comment/list/")))
        .respond_with(ok(json!({
            "comments": [{"comment_id": "7301", "video_id": VIDEO, "create_time": now,
                          "text": "Pushed <@U1> hello", "unique_identifier": "+Pusher",
                          "display_name": "Pusher", "owner": false, "status": "PUBLIC"}],
            "has_more": false
        })))
        .mount(&tiktok)
        .await;
    let round = poller(&w).round(&w.store, Utc::now()).await.unwrap();
    assert!(matches!(round, Round::Polled { rows: 1, .. }), "{round:?}");
    w.settle().await;
    assert!(w.take_slack("/chat.postMessage").await.is_empty());

    // An event without the owner flag could be our own reply: left to the poller.
    let ours = Event {
        action: "insert",
        comment: "7399",
        text: Some("At our shop!"),
        owner: None,
    }
    .body();
    let signed = signature(APP_SECRET, now, ours.as_bytes());
    assert_eq!(
        webhook(&w, &ours, Some(&signed)).await,
        axum::http::StatusCode::OK
    );
    assert_eq!(w.store.count_pending_inbox().await.unwrap(), 0);

    // The customer deletes the comment: the ticket says so.
    let delete = Event {
        action: "delete",
        comment: "7301",
        text: None,
        owner: None,
    }
    .body();
    let signed = signature(APP_SECRET, now, delete.as_bytes());
    assert_eq!(
        webhook(&w, &delete, Some(&signed)).await,
        axum::http::StatusCode::OK
    );
    w.settle().await;
    let t = w.store.ticket(t.id).await.unwrap().expect("ticket");
    assert!(t.state.first_item_deleted, "{:?}", t.state);
}

/// Without a webhook secret there is no TikTok endpoint at all.
#[tokio::test]
async fn without_a_webhook_secret_there_is_no_endpoint() {
    let tiktok = MockServer::start().await;
    let w = tiktok_world(&tiktok, None).await;
    let body = Event {
        action: "insert",
        comment: "7301",
        text: Some("hi"),
        owner: Some(false),
    }
    .body();
    let signed = signature(APP_SECRET, Utc::now().timestamp(), body.as_bytes());
    assert_eq!(
        webhook(&w, &body, Some(&signed)).await,
        axum::http::StatusCode::NOT_FOUND
    );
}

/// An account another replica connected a moment ago: its first webhook is not dropped.
#[tokio::test]
async fn a_webhook_for_an_account_connected_elsewhere_is_taken() {
    let tiktok = MockServer::start().await;
    let w = tiktok_world(&tiktok, Some(APP_SECRET)).await;
    let fresh = TokenSet {
        access_token: SecretString::from(ACCESS.to_string()),
        refresh_token: Some(SecretString::from("rft.x".to_string())),
        expires_at: Utc::now() + chrono::Duration::hours(20),
        scope: vec![],
    };
    store_account(&w, &fresh).await;
    let insert = Event {
        action: "insert",
        comment: "7301",
        text: Some("hello"),
        owner: Some(false),
    }
    .body();
    let signed = signature(APP_SECRET, Utc::now().timestamp(), insert.as_bytes());
    assert_eq!(
        webhook(&w, &insert, Some(&signed)).await,
        axum::http::StatusCode::OK
    );
    assert_eq!(w.store.count_pending_inbox().await.unwrap(), 1);
}
