//! LinkedIn end to end, as `serve` runs it, against a fake LinkedIn written from
//! network-apis.md §3 and §11.4: an admin connects from a signed Slack slash command, the
//! callback exchanges the code (no PKCE, the secret in the body), the member administers two
//! pages and picks one on the callback page (a sealed, single-use choice), which is stored
//! sealed and announced in the channel; a poll turns a comment and a mention into cards with
//! only LinkedIn's buttons, our own comments into nothing, and a second poll doubles nothing;
//! a thread reply reaches LinkedIn as the page nested under the top-level comment; a reply
//! over 1,250 characters is refused before it is queued. Then: signed webhook deliveries
//! become cards and forged ones store nothing, a webhook-fed page is never polled; a token
//! without refresh warns its channel once before it expires; a refused refresh marks the
//! page unhealthy and alerts once.

mod support;

use std::time::Duration;

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use support::*;
use switchboard::config::LinkedinConfig;
use switchboard::core::{AccountId, Delivery, MessageKey, Network, Surface};
use switchboard::networks::linkedin::{Ingest, SignatureForm};
use switchboard::oauth::TokenSet;
use switchboard::store::NewAccount;
use switchboard::workers::poll::{PollSettings, Poller, Round};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const CLIENT_ID: &str = "86abcdefgh";
const SECRET: &str = "test_client_secret";
const ORG: &str = "5515715";
const ORG_URN: &str = "urn:li:organization:5515715";
const OTHER_ORG: &str = "10002687";
const ACCESS: &str = "AQXNnd-connected";
const TOP: &str = "urn:li:comment:(urn:li:activity:7001,9001)";

fn linkedin_config(base: &str) -> LinkedinConfig {
    let mut l = LinkedinConfig::new(CLIENT_ID);
    l.client_secret = Some(SecretString::from(SECRET));
    l.authorize_url = format!("{base}/oauth/v2/authorization");
    l.token_url = format!("{base}/oauth/v2/accessToken");
    l.revoke_url = format!("{base}/oauth/v2/revoke");
    l.api_url = format!("{base}/rest");
    l
}

async fn linkedin_world(linkedin: &MockServer, ingest: Ingest) -> World {
    let base = linkedin.uri();
    let w = World::with(|c| {
        let mut l = linkedin_config(&base);
        l.ingest = ingest;
        c.linkedin = Some(l);
        c.secret_key = Some(SecretString::from(KEY.to_string()));
        c.server.public_url = Some("https://social.example.org".parse().unwrap());
        c.permissions.admin = vec!["UADMIN".into()];
    })
    .await;
    w.slack_ok().await;
    w
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

async fn get(w: &World, uri: &str) -> (axum::http::StatusCode, String) {
    let req = axum::http::Request::builder()
        .method("GET")
        .uri(uri)
        .body(axum::body::Body::empty())
        .unwrap();
    w.send(req).await
}

async fn choose(w: &World, sealed: &str) -> (axum::http::StatusCode, String) {
    let body = format!(
        "choice={}",
        url::form_urlencoded::byte_serialize(sealed.as_bytes()).collect::<String>()
    );
    let req = axum::http::Request::post("/oauth/linkedin/choose")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(body))
        .unwrap();
    w.send(req).await
}

fn ephemeral_text(answer: &str) -> String {
    let v: Value = serde_json::from_str(answer).expect("JSON answer");
    assert_eq!(v["response_type"], "ephemeral", "{answer}");
    v["text"].as_str().unwrap_or_default().to_string()
}

async fn received(linkedin: &MockServer, p: &str) -> Vec<(Request, Value)> {
    linkedin
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .map(|r| {
            let body = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            (r, body)
        })
        .collect()
}

/// Two administered pages, with names (one hostile).
async fn mount_pages(linkedin: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/rest/organizationAcls"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "elements": [
                {"organization": ORG_URN, "role": "ADMINISTRATOR", "state": "APPROVED"},
                {"organization": format!("urn:li:organization:{OTHER_ORG}"), "role": "ADMINISTRATOR", "state": "APPROVED"}
            ],
            "paging": {"start": 0, "count": 100, "total": 2}
        })))
        .mount(linkedin)
        .await;
    for (id, name) in [(ORG, "Acme <!here> Coffee"), (OTHER_ORG, "Acme Roasters")] {
        Mock::given(method("GET"))
            .and(path(format!("/rest/organizations/{id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"localizedName": name})))
            .mount(linkedin)
            .await;
    }
}

fn notification(id: i64, action: &str, generated: &str, at: i64) -> Value {
    json!({"notificationId": id, "action": action, "organizationalEntity": ORG_URN,
           "sourcePost": "urn:li:share:7001", "generatedActivity": generated, "lastModifiedAt": at})
}

fn comment(id: &str, actor: &str, text: &str, at: i64) -> Value {
    let urn = format!("urn:li:comment:(urn:li:activity:7001,{id})");
    json!({"commentUrn": urn, "id": id, "actor": actor, "object": "urn:li:activity:7001",
           "message": {"text": text}, "created": {"actor": actor, "time": at},
           "commentsSummary": {"totalFirstLevelComments": 0}})
}

/// The page's notifications (a customer's comment, a mention, our own comment twice over)
/// and what they name.
async fn mount_notifications(linkedin: &MockServer) {
    let at = Utc::now().timestamp_millis() - 60_000;
    Mock::given(method("GET"))
        .and(path("/rest/organizationalEntityNotifications"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "elements": [
                notification(1, "COMMENT", TOP, at),
                notification(2, "SHARE_MENTION", "urn:li:share:8001", at + 1),
                notification(3, "ADMIN_COMMENT", "urn:li:comment:(urn:li:activity:7001,9003)", at + 2),
                notification(4, "COMMENT", "urn:li:comment:(urn:li:activity:7001,9004)", at + 3)
            ],
            "paging": {"start": 0, "count": 100, "total": 4}
        })))
        .mount(linkedin)
        .await;
    // Each comment read by its id (LinkedIn's "Get a Comment").
    for c in [
        comment(
            "9001",
            "urn:li:person:abc",
            "Where can I buy the <!channel> beans?",
            at,
        ),
        comment("9004", ORG_URN, "Also ours", at + 3),
    ] {
        let id = c["id"].as_str().unwrap_or_default().to_owned();
        Mock::given(method("GET"))
            .and(path(format!(
                "/rest/socialActions/urn%3Ali%3Aactivity%3A7001/comments/{id}"
            )))
            .respond_with(ResponseTemplate::new(200).set_body_json(c))
            .mount(linkedin)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/rest/posts/urn%3Ali%3Ashare%3A8001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "urn:li:share:8001", "author": "urn:li:person:xyz",
            "commentary": "Loving the new blend from Acme", "createdAt": at + 1
        })))
        .mount(linkedin)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/rest/socialActions/urn%3Ali%3Acomment%3A%28urn%3Ali%3Aactivity%3A7001%2C9001%29/comments",
        ))
        .respond_with(ResponseTemplate::new(201).insert_header(
            "x-restli-id",
            "urn:li:comment:(urn:li:activity:7001,9100)",
        ))
        .mount(linkedin)
        .await;
}

/// Connect from Slack, pick a page, poll, reply from the card's thread.
#[tokio::test]
async fn a_page_picked_after_connecting_from_slack_is_polled_and_answered_as_the_page() {
    let linkedin = MockServer::start().await;
    let w = linkedin_world(&linkedin, Ingest::Poll).await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/accessToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": ACCESS, "expires_in": 5184000,
            "scope": "r_organization_social,rw_organization_admin,w_organization_social"
        })))
        .mount(&linkedin)
        .await;
    mount_pages(&linkedin).await;
    mount_notifications(&linkedin).await;

    // `connect linkedin`: LinkedIn's authorization page, no PKCE.
    let said = ephemeral_text(&w.command("UADMIN", "connect linkedin").await.1);
    let url = url::Url::parse(said.rsplit(' ').next().expect("a link")).expect("an URL");
    assert_eq!(url.path(), "/oauth/v2/authorization");
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(
        q["redirect_uri"],
        "https://social.example.org/oauth/linkedin/callback"
    );
    assert!(!q.contains_key("code_challenge"));
    assert!(!said.contains(SECRET));

    // The callback: the member administers two pages, so the page lists them as choices.
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let callback = format!(
        "/oauth/linkedin/callback?code=AQRqdB&state={}",
        enc(&q["state"])
    );
    let (status, page) = get(&w, &callback).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{page}");
    assert!(
        w.store.accounts().await.unwrap().is_empty(),
        "nothing stored yet"
    );
    let exchange = received(&linkedin, "/oauth/v2/accessToken").await;
    assert_eq!(exchange.len(), 1);
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&exchange[0].0.body)
            .into_owned()
            .collect();
    assert_eq!(form["client_secret"], SECRET);
    assert!(!form.contains_key("code_verifier"));
    assert!(
        page.contains("Acme &lt;!here&gt; Coffee") && page.contains("Acme Roasters"),
        "{page}"
    );
    assert!(!page.contains(ACCESS), "the token is sealed in the choices");
    let choices: Vec<String> = page
        .split("name=choice value=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_owned))
        .collect();
    assert_eq!(choices.len(), 2, "{page}");
    for c in &choices {
        assert!(page.contains(&format!(
            "action=\"/oauth/linkedin/choose\"><input type=hidden name=choice value=\"{c}\""
        )));
    }
    // The state is spent: the callback again is a replay.
    let (status, _) = get(&w, &callback).await;
    assert_eq!(status, axum::http::StatusCode::BAD_REQUEST);

    // A tampered choice stores nothing.
    let mut tampered: Vec<char> = choices[0].chars().collect();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let (status, _) = choose(&w, &tampered).await;
    assert_eq!(status, axum::http::StatusCode::BAD_REQUEST);
    assert!(w.store.accounts().await.unwrap().is_empty());

    // Picking the first page connects it, routed to the channel, sealed.
    let (status, done) = choose(&w, &choices[0]).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{done}");
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
        (Network::Linkedin, ORG, "Acme <!here> Coffee", CHANNEL)
    );
    assert_eq!(a.connected_by.as_deref(), Some("UADMIN"));
    let blob = String::from_utf8_lossy(&a.credentials);
    assert!(!blob.contains(ACCESS));
    // The same choice again: replayed, nothing more.
    let (status, _) = choose(&w, &choices[0]).await;
    assert_eq!(status, axum::http::StatusCode::BAD_REQUEST);
    assert_eq!(w.store.accounts().await.unwrap().len(), 1);
    let told: Vec<String> = w
        .take_slack("/chat.postMessage")
        .await
        .iter()
        .map(|p| p.body.to_string())
        .collect();
    assert!(
        told.iter()
            .any(|b| b.contains("LinkedIn page") && b.contains("Acme &lt;!here&gt; Coffee")),
        "{told:?}"
    );

    // A poll: the comment and the mention become cards; our own comments do not.
    let round = poller(&w).round(&w.store, Utc::now()).await.unwrap();
    assert!(matches!(round, Round::Polled { rows: 2, .. }), "{round:?}");
    w.settle().await;
    let cards = w.take_slack("/chat.postMessage").await;
    assert_eq!(cards.len(), 2, "{cards:?}");
    let texts: Vec<String> = cards.iter().map(|c| blocks_text(&c.body)).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("&lt;!channel&gt;") && !t.contains("<!channel>")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("Loving the new blend")),
        "{texts:?}"
    );
    assert!(
        !texts
            .iter()
            .any(|t| t.contains("Our earlier answer") || t.contains("Also ours"))
    );
    let t = w
        .store
        .ticket_by_conversation(&format!(
            "linkedin:{ORG}:urn:li:share:7001:urn:li:person:abc"
        ))
        .await
        .unwrap()
        .expect("comment ticket");
    let m = w
        .store
        .ticket_by_conversation(&format!(
            "linkedin:{ORG}:urn:li:share:8001:urn:li:person:xyz"
        ))
        .await
        .unwrap()
        .expect("mention ticket");
    for card in &cards {
        let ids = action_ids(&card.body);
        for id in [t.id, m.id] {
            for absent in [
                "hide", "unhide", "block", "delete", "like", "mute", "approve", "ban",
            ] {
                assert!(
                    !ids.contains(&format!("sb1:{absent}:{id}")),
                    "{absent}: {ids:?}"
                );
            }
        }
    }

    // A thread reply goes to LinkedIn as the page, nested under the top-level comment.
    let card = w.store.card_of(t.id).await.unwrap().expect("card");
    let reply_ts = "1700000999.000100";
    w.thread_message("Ev1", "U1", &card.message, reply_ts, "At our shop!")
        .await;
    w.settle().await;
    let replies = received(
        &linkedin,
        "/rest/socialActions/urn%3Ali%3Acomment%3A%28urn%3Ali%3Aactivity%3A7001%2C9001%29/comments",
    )
    .await;
    let posted: Vec<&(Request, Value)> = replies
        .iter()
        .filter(|(r, _)| r.method == wiremock::http::Method::POST)
        .collect();
    assert_eq!(posted.len(), 1);
    let (request, body) = posted[0];
    assert_eq!(
        body,
        &json!({"actor": ORG_URN, "object": "urn:li:activity:7001",
                "message": {"text": "At our shop!"}, "parentComment": TOP})
    );
    let h = |k: &str| {
        request
            .headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(h("authorization"), Some(format!("Bearer {ACCESS}")));
    assert_eq!(h("linkedin-version").as_deref(), Some("202611"));
    assert_eq!(h("x-restli-protocol-version").as_deref(), Some("2.0.0"));
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
        Some(format!("urn:li:comment:(urn:li:activity:7001,9100)|{TOP}"))
    );
    w.take_slack("/reactions.add").await;
    let updates = w.take_slack("/chat.update").await;
    let ids = action_ids(&updates.last().expect("card updated").body);
    assert!(
        ids.contains(&format!("sb1:delete_reply:{}", t.id)),
        "{ids:?}"
    );

    // A second poll doubles nothing.
    let round = poller(&w)
        .round(&w.store, Utc::now() + chrono::Duration::hours(1))
        .await
        .unwrap();
    assert!(matches!(round, Round::Polled { rows: 0, .. }), "{round:?}");
    assert_eq!(
        received(&linkedin, "/rest/organizationalEntityNotifications")
            .await
            .len(),
        2,
        "the second poll read the notifications again"
    );
    w.settle().await;
    assert!(w.take_slack("/chat.postMessage").await.is_empty());

    // 1,251 characters: refused before it is queued.
    let long = "x".repeat(1_251);
    w.thread_message("Ev2", "U1", &card.message, "1700000999.000200", &long)
        .await;
    w.settle().await;
    let told = w.take_slack("/chat.postEphemeral").await;
    assert_eq!(told.len(), 1, "{told:?}");
    let said = told[0].body["text"].as_str().unwrap_or_default();
    assert!(
        said.contains("1251 characters") || said.contains("1,251 characters"),
        "{said}"
    );
    assert!(said.contains("Nothing was sent"), "{said}");
    assert_eq!(
        received(
            &linkedin,
            "/rest/socialActions/urn%3Ali%3Acomment%3A%28urn%3Ali%3Aactivity%3A7001%2C9001%29/comments"
        )
        .await
        .iter()
        .filter(|(r, _)| r.method == wiremock::http::Method::POST)
        .count(),
        1
    );
    for r in linkedin.received_requests().await.unwrap() {
        assert!(!r.url.as_str().contains(ACCESS), "{}", r.url);
    }
}

/// A page connected directly in the store, with `tokens`.
async fn connect_stored(w: &World, tokens: &TokenSet) -> i64 {
    let key = w.svc.config.credentials_key().expect("key");
    let a = w
        .store
        .connect_account(
            &NewAccount {
                network: Network::Linkedin,
                account_id: AccountId::new(ORG),
                name: "Acme Coffee".into(),
                surface: Surface::Slack,
                channel: CHANNEL.into(),
                credentials: switchboard::workers::tokens::seal(
                    &key,
                    Network::Linkedin,
                    ORG,
                    tokens,
                ),
                connected_by: Some("U1".into()),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    w.svc.reload_accounts().await.unwrap();
    a.id
}

fn tokens(refresh: Option<&str>, expires_in: chrono::Duration) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(ACCESS.to_string()),
        refresh_token: refresh.map(|r| SecretString::from(r.to_string())),
        expires_at: Utc::now() + expires_in,
        scope: vec![],
    }
}

async fn webhook(w: &World, body: &str, signature: Option<&str>) -> axum::http::StatusCode {
    let mut req =
        axum::http::Request::post("/webhooks/linkedin").header("content-type", "application/json");
    if let Some(s) = signature {
        req = req.header("X-LI-Signature", s);
    }
    w.send(req.body(axum::body::Body::from(body.to_string())).unwrap())
        .await
        .0
}

/// Pushed: the challenge is answered, a signed delivery becomes a card, a forged one stores
/// nothing, and the page is polled as well, so a push without its decoration is not lost.
#[tokio::test]
async fn signed_deliveries_become_cards_forged_ones_nothing_and_a_pushed_page_is_polled_too() {
    let linkedin = MockServer::start().await;
    let w = linkedin_world(&linkedin, Ingest::Webhook).await;
    connect_stored(&w, &tokens(Some("ref"), chrono::Duration::days(30))).await;
    w.take_slack("/chat.postMessage").await;

    let (status, answer) = get(
        &w,
        "/webhooks/linkedin?challengeCode=890e4665-4dfe-4ab1-b689-ed553bceeed0",
    )
    .await;
    assert_eq!(status, axum::http::StatusCode::OK, "{answer}");
    let v: Value = serde_json::from_str(&answer).expect("json");
    assert_eq!(
        v["challengeResponse"],
        "2f02d4233a0396d6b4632fc7be62fd3ab68183421f688efcda0c1fcb2615273e"
    );

    let delivery = json!({
        "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
        "notifications": [{
            "notificationId": 77, "action": "COMMENT", "organizationalEntity": ORG_URN,
            "sourcePost": "urn:li:share:7001", "lastModifiedAt": Utc::now().timestamp_millis(),
            "generatedActivity": "urn:li:comment:(urn:li:activity:7001,9301)",
            "decoratedGeneratedActivity": {"comment": {"owner": "urn:li:person:abc", "text": "Pushed <@U1> hello"}}
        }, {
            "notificationId": 78, "action": "ADMIN_COMMENT", "organizationalEntity": ORG_URN,
            "generatedActivity": "urn:li:comment:(urn:li:activity:7001,9302)",
            "decoratedGeneratedActivity": {"comment": {"owner": ORG_URN, "text": "ours"}}
        }]
    })
    .to_string();
    let good = switchboard::networks::linkedin::webhook::signature(
        SECRET,
        SignatureForm::Prefixed,
        delivery.as_bytes(),
    )
    .expect("sig");
    let forged = switchboard::networks::linkedin::webhook::signature(
        "another-secret",
        SignatureForm::Prefixed,
        delivery.as_bytes(),
    )
    .expect("sig");
    assert_eq!(
        webhook(&w, &delivery, None).await,
        axum::http::StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        webhook(&w, &delivery, Some(&forged)).await,
        axum::http::StatusCode::UNAUTHORIZED
    );
    let tampered = delivery.replace("hello", "hellO");
    assert_eq!(
        webhook(&w, &tampered, Some(&good)).await,
        axum::http::StatusCode::UNAUTHORIZED
    );
    assert_eq!(w.store.count_pending_inbox().await.unwrap(), 0);
    assert_eq!(
        webhook(&w, &delivery, Some(&good)).await,
        axum::http::StatusCode::OK
    );
    // Redelivered: nothing more.
    assert_eq!(
        webhook(&w, &delivery, Some(&good)).await,
        axum::http::StatusCode::OK
    );
    w.settle().await;
    let cards = w.take_slack("/chat.postMessage").await;
    assert_eq!(cards.len(), 1, "{cards:?}");
    let shown = blocks_text(&cards[0].body);
    assert!(shown.contains("Pushed &lt;@U1&gt; hello"), "{shown}");
    assert!(!shown.contains("ours"));

    // Pushed without its decoration: no text to show, so no card from the push itself...
    let bare_at = Utc::now().timestamp_millis();
    let bare = json!({
        "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
        "notifications": [{
            "notificationId": 79, "action": "COMMENT", "organizationalEntity": ORG_URN,
            "sourcePost": "urn:li:share:7001", "lastModifiedAt": bare_at,
            "generatedActivity": "urn:li:comment:(urn:li:activity:7001,9303)"
        }]
    })
    .to_string();
    let signed = switchboard::networks::linkedin::webhook::signature(
        SECRET,
        SignatureForm::Prefixed,
        bare.as_bytes(),
    )
    .expect("sig");
    assert_eq!(
        webhook(&w, &bare, Some(&signed)).await,
        axum::http::StatusCode::OK
    );
    w.settle().await;
    assert!(w.take_slack("/chat.postMessage").await.is_empty());
    // ...but the page is polled too: the poll reads the comment, and what the push already
    // brought is not shown twice.
    Mock::given(method("GET"))
        .and(path("/rest/organizationalEntityNotifications"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "elements": [
                notification(77, "COMMENT", "urn:li:comment:(urn:li:activity:7001,9301)", bare_at - 5),
                notification(79, "COMMENT", "urn:li:comment:(urn:li:activity:7001,9303)", bare_at)
            ],
            "paging": {"start": 0, "count": 100, "total": 2}
        })))
        .mount(&linkedin)
        .await;
    for (id, who, text) in [
        ("9301", "urn:li:person:abc", "Pushed <@U1> hello"),
        ("9303", "urn:li:person:ghi", "Is the shop open on Sunday?"),
    ] {
        Mock::given(method("GET"))
            .and(path(format!(
                "/rest/socialActions/urn%3Ali%3Aactivity%3A7001/comments/{id}"
            )))
            .respond_with(ResponseTemplate::new(200).set_body_json(comment(id, who, text, bare_at)))
            .mount(&linkedin)
            .await;
    }
    let round = poller(&w).round(&w.store, Utc::now()).await.unwrap();
    assert!(matches!(round, Round::Polled { .. }), "{round:?}");
    assert_eq!(
        received(&linkedin, "/rest/organizationalEntityNotifications")
            .await
            .len(),
        1
    );
    w.settle().await;
    let cards = w.take_slack("/chat.postMessage").await;
    assert_eq!(cards.len(), 1, "{cards:?}");
    let shown = blocks_text(&cards[0].body);
    assert!(shown.contains("Is the shop open on Sunday?"), "{shown}");
}

/// No refresh token (an app LinkedIn did not enable for refresh): the channel is told once,
/// within the lead, that the token expires; a page with a refresh token is not.
#[tokio::test]
async fn a_token_without_refresh_warns_its_channel_once_before_it_expires() {
    let linkedin = MockServer::start().await;
    let w = linkedin_world(&linkedin, Ingest::Poll).await;
    connect_stored(&w, &tokens(None, chrono::Duration::days(3))).await;
    w.take_slack("/chat.postMessage").await;
    let now = Utc::now();
    let first = switchboard::workers::accounts::deliver_expiry_warnings(&w.svc, now)
        .await
        .unwrap();
    let again = switchboard::workers::accounts::deliver_expiry_warnings(&w.svc, now)
        .await
        .unwrap();
    assert_eq!((first, again), (1, 0));
    let told = w.take_slack("/chat.postMessage").await;
    assert_eq!(told.len(), 1, "{told:?}");
    let said = told[0].body.to_string();
    assert!(
        said.contains("cannot be renewed automatically") && said.contains("connect linkedin"),
        "{said}"
    );

    // Far from expiry, or refreshable: nothing.
    let linkedin = MockServer::start().await;
    let w = linkedin_world(&linkedin, Ingest::Poll).await;
    connect_stored(&w, &tokens(None, chrono::Duration::days(30))).await;
    w.take_slack("/chat.postMessage").await;
    assert_eq!(
        switchboard::workers::accounts::deliver_expiry_warnings(&w.svc, Utc::now())
            .await
            .unwrap(),
        0
    );
    let linkedin = MockServer::start().await;
    let w = linkedin_world(&linkedin, Ingest::Poll).await;
    connect_stored(&w, &tokens(Some("ref"), chrono::Duration::days(3))).await;
    w.take_slack("/chat.postMessage").await;
    assert_eq!(
        switchboard::workers::accounts::deliver_expiry_warnings(&w.svc, Utc::now())
            .await
            .unwrap(),
        0
    );
    assert!(w.take_slack("/chat.postMessage").await.is_empty());
}

/// A refresh LinkedIn refuses (400 invalid_request) marks the page unhealthy: polling stops
/// and the channel is alerted once.
#[tokio::test]
async fn a_refused_refresh_marks_the_page_unhealthy_and_alerts_once() {
    let linkedin = MockServer::start().await;
    let w = linkedin_world(&linkedin, Ingest::Poll).await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/accessToken"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_request",
            "error_description": "The provided authorization grant or refresh token is invalid, expired or revoked"
        })))
        .mount(&linkedin)
        .await;
    let id = connect_stored(&w, &tokens(Some("ref-dead"), -chrono::Duration::minutes(1))).await;
    w.take_slack("/chat.postMessage").await;
    let round = poller(&w).round(&w.store, Utc::now()).await.unwrap();
    assert!(matches!(round, Round::Unhealthy { .. }), "{round:?}");
    let a = w.store.account(id).await.unwrap().expect("account");
    assert!(a.unhealthy.is_some());
    let posted = switchboard::workers::accounts::deliver_alerts(&w.svc)
        .await
        .unwrap()
        + switchboard::workers::accounts::deliver_alerts(&w.svc)
            .await
            .unwrap();
    assert_eq!(posted, 1);
    let told = w.take_slack("/chat.postMessage").await;
    assert_eq!(told.len(), 1);
    assert!(told[0].body.to_string().contains("needs reconnecting"));
    let key = w.svc.config.credentials_key().unwrap();
    let kept = switchboard::workers::tokens::open(&key, &a).unwrap();
    assert_eq!(kept.access_token.expose_secret(), ACCESS);
}
