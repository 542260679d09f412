//! X against wiremock fakes speaking X's formats (network-apis.md §2 and §11.3): OAuth 2.0
//! with HTTP Basic client authentication and rotating refresh tokens, the mentions and DM
//! listings with their pagination and marks, 429 until `x-rate-limit-reset`, replies and
//! moderation as X takes them, the webhook's CRC and signatures, and both webhook payload
//! shapes turned into the same envelopes as polling.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use switchboard::core::{
    AccountId, FailureReason, InboundItem, ItemKind, Network, NetworkChange, NetworkEnvelope,
    NetworkItemId, Surface,
};
use switchboard::networks::x::payload::webhook_changes;
use switchboard::networks::x::{Ingest, MentionsQuery, XClient, XConnector, XCursor, XWebhooks};
use switchboard::networks::{
    Call, Connector, ConnectorError, PolledConnector, TokenError, TokenSource, WebhookSource,
};
use switchboard::oauth::{self, OAuthError, ProviderConfig, Revocation, TokenSet};
use switchboard::store::{ConnectedAccount, NewAccount};
use switchboard::workers::tokens::{OAuthTokens, open, seal};
use url::Url;
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "Q0Mzb0VhZ0V5dmNXSTEy-access";
const ACCOUNT: &str = "2244994945";
const CLIENT_ID: &str = "M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ";
const CLIENT_SECRET: &str = "x-client-secret-value";
const CONSUMER_SECRET: &str = "test_consumer_secret";

fn token() -> SecretString {
    SecretString::from(TOKEN)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("http client")
}

fn bearer() -> wiremock::matchers::HeaderExactMatcher {
    header("authorization", format!("Bearer {TOKEN}").as_str())
}

fn basic() -> String {
    let pair = format!("{CLIENT_ID}:{CLIENT_SECRET}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

async fn x() -> (MockServer, XClient) {
    let server = MockServer::start().await;
    let client = XClient::new(http(), &format!("{}/2", server.uri())).expect("base url");
    (server, client)
}

fn connector(client: XClient) -> XConnector {
    XConnector::new(client, 7, Ingest::Poll)
}

fn account(cursor: Option<String>) -> ConnectedAccount {
    ConnectedAccount {
        id: 1,
        network: Network::X,
        account_id: AccountId::new(ACCOUNT),
        name: "@XDevelopers".into(),
        surface: Surface::Slack,
        channel: "C1".into(),
        credentials: vec![],
        credentials_version: 1,
        unhealthy: None,
        connected_by: None,
        connected_at: Utc::now(),
        cursor,
        next_poll_at: Utc::now(),
        last_error: None,
        notice_due: None,
    }
}

fn item(e: &NetworkEnvelope) -> &InboundItem {
    match &e.change {
        NetworkChange::New { item } => item,
        other => panic!("unexpected {other:?}"),
    }
}

fn keys(envelopes: &[NetworkEnvelope]) -> Vec<&str> {
    envelopes.iter().map(|e| e.dedupe_key.as_str()).collect()
}

/// Every request the fake saw kept the token out of its URL.
async fn token_never_in_urls(server: &MockServer) {
    for r in server.received_requests().await.expect("recording on") {
        assert!(!r.url.as_str().contains(TOKEN), "token in {}", r.url);
    }
}

// ---- OAuth ------------------------------------------------------------------------------------

fn provider(server: &MockServer) -> ProviderConfig {
    let mut cfg = ProviderConfig::x(
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET),
        vec!["tweet.read".into(), "offline.access".into()],
    );
    cfg.token_url = Url::parse(&format!("{}/2/oauth2/token", server.uri())).unwrap();
    cfg.revoke_url = Some(Url::parse(&format!("{}/2/oauth2/revoke", server.uri())).unwrap());
    cfg
}

fn form(r: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&r.body).into_owned().collect()
}

fn grant(access: &str, refresh: &str) -> Value {
    json!({
        "token_type": "bearer", "expires_in": 7200, "access_token": access,
        "scope": "tweet.read users.read tweet.write tweet.moderate.write offline.access",
        "refresh_token": refresh
    })
}

#[tokio::test]
async fn the_code_exchange_authenticates_with_basic_and_sends_no_secret_in_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        .and(header("authorization", basic().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(grant("acc-1", "ref-1")))
        .expect(1)
        .mount(&server)
        .await;
    let redirect = Url::parse("https://social.example.org/oauth/x/callback").unwrap();
    let verifier = SecretString::from("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    let set = oauth::exchange_code(
        &http(),
        &provider(&server),
        &redirect,
        "VGNibzFW",
        &verifier,
    )
    .await
    .expect("granted");
    assert_eq!(set.access_token.expose_secret(), "acc-1");
    assert_eq!(
        set.refresh_token.as_ref().map(|t| t.expose_secret()),
        Some("ref-1")
    );
    assert!(set.scope.contains(&"offline.access".to_string()));
    let requests = server.received_requests().await.unwrap();
    let f = form(&requests[0]);
    assert_eq!(
        f.get("grant_type").map(String::as_str),
        Some("authorization_code")
    );
    assert_eq!(f.get("code").map(String::as_str), Some("VGNibzFW"));
    assert_eq!(
        f.get("redirect_uri").map(String::as_str),
        Some("https://social.example.org/oauth/x/callback")
    );
    assert_eq!(
        f.get("code_verifier").map(String::as_str),
        Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    );
    assert!(
        !f.contains_key("client_secret") && !f.contains_key("client_id"),
        "{f:?}"
    );
    assert_eq!(requests[0].url.query(), None);
}

/// A store with one X account whose sealed token set is `set`, and the token source over
/// the fake token endpoint.
async fn tokens_world(
    server: &MockServer,
    set: &TokenSet,
) -> (switchboard::store::DynStore, ConnectedAccount, OAuthTokens) {
    let key = switchboard::crypto::SecretKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        .expect("key");
    let store = switchboard::store::connect("sqlite::memory:")
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let account = store
        .connect_account(
            &NewAccount {
                network: Network::X,
                account_id: AccountId::new(ACCOUNT),
                name: "@XDevelopers".into(),
                surface: Surface::Slack,
                channel: "C1".into(),
                credentials: seal(&key, Network::X, ACCOUNT, set),
                connected_by: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let source = OAuthTokens::new(
        store.clone(),
        key,
        http(),
        HashMap::from([(Network::X, provider(server))]),
    );
    (store, account, source)
}

fn expiring(access: &str, refresh: &str) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(access.to_string()),
        refresh_token: Some(SecretString::from(refresh.to_string())),
        expires_at: Utc::now() + chrono::Duration::seconds(30),
        scope: vec!["tweet.read".into(), "offline.access".into()],
    }
}

#[tokio::test]
async fn a_refresh_authenticates_with_basic_and_the_rotated_refresh_token_is_stored_and_used_next()
{
    let server = MockServer::start().await;
    let key = switchboard::crypto::SecretKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        .unwrap();
    for (old, new) in [("ref-1", "2"), ("ref-2", "3")] {
        Mock::given(method("POST"))
            .and(path("/2/oauth2/token"))
            .and(header("authorization", basic().as_str()))
            .and(wiremock::matchers::body_string_contains(format!(
                "refresh_token={old}"
            )))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(grant(&format!("acc-{new}"), &format!("ref-{new}"))),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let (store, account, source) = tokens_world(&server, &expiring("acc-1", "ref-1")).await;
    let got = source
        .access_token(&account, false)
        .await
        .expect("refreshed");
    assert_eq!(got.expose_secret(), "acc-2");
    let stored = store.account(account.id).await.unwrap().unwrap();
    let opened = open(&key, &stored).unwrap();
    assert_eq!(
        opened.refresh_token.as_ref().map(|t| t.expose_secret()),
        Some("ref-2"),
        "the rotated refresh token replaces the used one"
    );
    let blob = String::from_utf8_lossy(&stored.credentials);
    assert!(!blob.contains("ref-2") && !blob.contains("acc-2"));
    // Refused by X: forced refresh, with the stored (rotated) refresh token.
    let again = source.access_token(&stored, true).await.expect("refreshed");
    assert_eq!(again.expose_secret(), "acc-3");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        let f = form(r);
        assert_eq!(
            f.get("grant_type").map(String::as_str),
            Some("refresh_token")
        );
        assert!(!f.contains_key("client_secret"), "{f:?}");
    }
}

#[tokio::test]
async fn a_dead_refresh_token_is_dead_but_a_refused_client_is_not() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        .and(header("authorization", basic().as_str()))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_request",
            "error_description": "Value passed for the token was invalid."
        })))
        .mount(&server)
        .await;
    let (_, account, source) = tokens_world(&server, &expiring("acc-1", "ref-dead")).await;
    match source.access_token(&account, false).await {
        Err(TokenError::Dead(why)) => {
            assert!(why.contains("invalid_request"), "{why}");
            assert!(!why.contains("ref-dead") && !why.contains(CLIENT_SECRET));
        }
        other => panic!("{other:?}"),
    }
    // Our client refused (a missing or wrong Basic header): fix the configuration, the
    // account's grant is not dead.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "unauthorized_client",
            "error_description": "Missing valid authorization header"
        })))
        .mount(&server)
        .await;
    let refresh = SecretString::from("ref-1");
    match oauth::refresh(&http(), &provider(&server), &refresh).await {
        Err(OAuthError::Transient { reason, .. }) => {
            assert!(reason.contains("client_id"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn revoking_authenticates_with_basic_too() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/oauth2/revoke"))
        .and(header("authorization", basic().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"revoked": true})))
        .expect(1)
        .mount(&server)
        .await;
    let got = oauth::revoke(&http(), &provider(&server), &SecretString::from("ref-1"))
        .await
        .expect("revoked");
    assert_eq!(got, Revocation::Revoked);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        form(&requests[0]).get("token").map(String::as_str),
        Some("ref-1")
    );
}

// ---- polling ----------------------------------------------------------------------------------

fn mention(id: &str, author: &str, conversation: &str, reply_to_us: bool, at: &str) -> Value {
    let mut p = json!({
        "id": id, "text": format!("@XDevelopers question {id} &amp; more"),
        "author_id": author, "conversation_id": conversation, "created_at": at,
        "edit_history_tweet_ids": [id]
    });
    if reply_to_us {
        p["in_reply_to_user_id"] = json!(ACCOUNT);
        p["referenced_tweets"] = json!([{"type": "replied_to", "id": conversation}]);
    }
    p
}

fn users() -> Value {
    json!([
        {"id": "3001969357", "username": "furiouscamper", "name": "Jordan Brinks"},
        {"id": ACCOUNT, "username": "XDevelopers", "name": "X Developers"}
    ])
}

async fn empty_dms(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/2/dm_events"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"meta": {"result_count": 0}})),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn mentions_are_paged_from_the_since_id_and_the_mark_moves_to_the_newest() {
    let (server, client) = x().await;
    let since = "1924465000000000000";
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{ACCOUNT}/mentions")))
        .and(bearer())
        .and(query_param("since_id", since))
        .and(query_param_is_missing("pagination_token"))
        .and(query_param_is_missing("start_time"))
        .and(query_param("max_results", "100"))
        .and(query_param("expansions", "author_id"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                mention("1924465506158878990", "3001969357", "1924465000000000001", true, "2026-08-12T18:02:00.000Z"),
                // Our own post that names us: never a customer message.
                mention("1924465506158878985", ACCOUNT, "1924465506158878985", false, "2026-08-12T18:01:30.000Z"),
            ],
            "includes": {"users": users()},
            "meta": {"result_count": 2, "newest_id": "1924465506158878990",
                     "oldest_id": "1924465506158878985", "next_token": "7140dibdnow9c7btw"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{ACCOUNT}/mentions")))
        .and(bearer())
        .and(query_param("since_id", since))
        .and(query_param("pagination_token", "7140dibdnow9c7btw"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                mention("1924465506158878979", "3001969357", "1924465000000000001", true, "2026-08-12T18:00:00.000Z"),
            ],
            "includes": {"users": users()},
            "meta": {"result_count": 1, "newest_id": "1924465506158878979",
                     "oldest_id": "1924465506158878979"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    empty_dms(&server).await;
    let cursor = XCursor {
        mentions: switchboard::networks::x::connector::Stream {
            since_id: Some(since.into()),
            ..Default::default()
        },
        dms: switchboard::networks::x::connector::Stream {
            since_id: Some("1".into()),
            ..Default::default()
        },
        dms_due: None,
    };
    let batch = connector(client)
        .poll(&account(None), &token(), Some(&cursor.write()), Utc::now())
        .await
        .expect("polled");
    // Oldest first, our own post left out.
    assert_eq!(
        keys(&batch.envelopes),
        ["x:post:1924465506158878979", "x:post:1924465506158878990"]
    );
    let first = item(&batch.envelopes[0]);
    assert_eq!(first.kind, ItemKind::Comment);
    assert_eq!(first.post_id.as_str(), "1924465000000000001");
    assert_eq!(
        first.text,
        "@XDevelopers question 1924465506158878979 & more"
    );
    assert_eq!(
        first.customer.name.as_deref(),
        Some("Jordan Brinks (@furiouscamper)")
    );
    // Both posts of one author in one conversation: one ticket.
    assert_eq!(
        first.conversation_key(),
        item(&batch.envelopes[1]).conversation_key()
    );
    assert_eq!(batch.units, 3, "two mentions pages and the DMs");
    let next = XCursor::read(Some(&batch.cursor), Utc::now(), chrono::Duration::days(7));
    assert_eq!(
        next.mentions.since_id.as_deref(),
        Some("1924465506158878990")
    );
    assert!(next.mentions.resume.is_none());
    // The DMs were read, so they rest for a while.
    assert!(next.dms_due.is_some_and(|d| d > Utc::now()));
    token_never_in_urls(&server).await;
}

#[tokio::test]
async fn a_first_poll_backfills_its_window_and_a_long_backlog_continues_where_it_stopped() {
    let (server, client) = x().await;
    let now = Utc::now();
    // Every page says there is more: the poll stops at its page budget.
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{ACCOUNT}/mentions")))
        .and(query_param_is_missing("since_id"))
        .respond_with(move |r: &Request| {
            let n = r
                .url
                .query_pairs()
                .find(|(k, _)| k == "pagination_token")
                .map(|(_, v)| v.trim_start_matches("page").parse::<u64>().unwrap_or(0))
                .unwrap_or(0);
            let id = (1_924_465_506_158_879_000u64 - n).to_string();
            ResponseTemplate::new(200).set_body_json(json!({
                "data": [mention(&id, "3001969357", &id, false, "2026-08-12T18:00:00.000Z")],
                "meta": {"result_count": 1, "next_token": format!("page{}", n + 1)}
            }))
        })
        .mount(&server)
        .await;
    // DMs: one inside the window, then one older than it (the listing stops there).
    let recent = (now - chrono::Duration::days(1)).to_rfc3339();
    let old = (now - chrono::Duration::days(30)).to_rfc3339();
    Mock::given(method("GET"))
        .and(path("/2/dm_events"))
        .and(query_param("event_types", "MessageCreate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                {"id": "1050118621198921800", "event_type": "MessageCreate", "text": "recent",
                 "sender_id": "3001969357", "dm_conversation_id": "2244994945-3001969357",
                 "created_at": recent},
                {"id": "1050118621198921700", "event_type": "MessageCreate", "text": "old",
                 "sender_id": "3001969357", "dm_conversation_id": "2244994945-3001969357",
                 "created_at": old}
            ],
            "meta": {"result_count": 2, "next_token": "dmpage2dmpage2dm"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let c = connector(client);
    let first = c
        .poll(&account(None), &token(), None, now)
        .await
        .expect("polled");
    let mentions = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().ends_with("/mentions"))
        .collect::<Vec<_>>();
    assert_eq!(mentions.len(), 5, "the page budget");
    let start = mentions[0]
        .url
        .query_pairs()
        .find(|(k, _)| k == "start_time")
        .map(|(_, v)| v.into_owned())
        .expect("the backfill window");
    let start = DateTime::parse_from_rfc3339(&start).expect("RFC 3339");
    assert!(
        (now - chrono::Duration::days(7) - start.with_timezone(&Utc))
            .num_seconds()
            .abs()
            <= 1
    );
    assert_eq!(first.envelopes.len(), 6, "5 mentions and the recent DM");
    assert!(keys(&first.envelopes).contains(&"x:dm:1050118621198921800"));
    assert!(!keys(&first.envelopes).contains(&"x:dm:1050118621198921700"));
    let cursor = XCursor::read(Some(&first.cursor), now, chrono::Duration::days(7));
    // The mentions backlog is unfinished: no mark yet, the next poll continues from page 5.
    assert_eq!(cursor.mentions.since_id, None);
    assert_eq!(cursor.mentions.resume.as_deref(), Some("page5"));
    assert_eq!(
        cursor.mentions.pending.as_deref(),
        Some("1924465506158879000")
    );
    // The DMs reached the window's edge: their mark is the newest message.
    assert_eq!(cursor.dms.since_id.as_deref(), Some("1050118621198921800"));

    let second = c
        .poll(&account(None), &token(), Some(&first.cursor), now)
        .await
        .expect("polled");
    // Pages 5 to 9 (ids …995 down to …991), oldest first: nothing skipped, nothing twice.
    assert_eq!(
        keys(&second.envelopes),
        (991..=995)
            .map(|n| format!("x:post:1924465506158878{n}"))
            .collect::<Vec<_>>()
    );
    let resumed = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().ends_with("/mentions"))
        .nth(5)
        .expect("a sixth call");
    assert!(
        resumed
            .url
            .query()
            .unwrap_or_default()
            .contains("pagination_token=page5")
    );
    // The DMs rest: not read again on this poll.
    assert_eq!(second.units, 5);
}

#[tokio::test]
async fn mentions_are_kept_when_x_refuses_the_direct_messages() {
    let (server, client) = x().await;
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{ACCOUNT}/mentions")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [mention("1924465506158878990", "3001969357", "1924465000000000001", true, "2026-08-12T18:02:00.000Z")],
            "includes": {"users": users()},
            "meta": {"result_count": 1, "newest_id": "1924465506158878990",
                     "oldest_id": "1924465506158878990"}
        })))
        .mount(&server)
        .await;
    // An app without DM access: X refuses the listing.
    Mock::given(method("GET"))
        .and(path("/2/dm_events"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "title": "Unsupported Authentication", "status": 403, "type": "about:blank",
            "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint."
        })))
        .mount(&server)
        .await;
    let now = Utc::now();
    let old = XCursor {
        dms: switchboard::networks::x::connector::Stream {
            since_id: Some("1".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let batch = connector(client)
        .poll(&account(None), &token(), Some(&old.write()), now)
        .await
        .expect("the mentions still come through");
    assert_eq!(keys(&batch.envelopes), ["x:post:1924465506158878990"]);
    let next = XCursor::read(Some(&batch.cursor), now, chrono::Duration::days(7));
    assert_eq!(
        next.mentions.since_id.as_deref(),
        Some("1924465506158878990")
    );
    // The DMs keep their place and rest before X is asked again.
    assert_eq!(next.dms, old.dms);
    assert!(
        next.dms_due
            .is_some_and(|d| d >= now + chrono::Duration::minutes(59))
    );
    assert_eq!(
        batch.units, 1,
        "the refused DM call is not billed: {}",
        batch.units
    );
}

#[tokio::test]
async fn a_429_waits_until_the_rate_limit_resets_and_a_usage_cap_says_so() {
    let (server, client) = x().await;
    let reset = Utc::now().timestamp() + 600;
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{ACCOUNT}/mentions")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-rate-limit-limit", "300")
                .insert_header("x-rate-limit-remaining", "0")
                .insert_header("x-rate-limit-reset", reset.to_string().as_str())
                .insert_header("content-type", "application/problem+json")
                .set_body_json(json!({
                    "title": "Too Many Requests", "detail": "Too Many Requests",
                    "type": "about:blank", "status": 429
                })),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{ACCOUNT}/mentions")))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({
            "title": "UsageCapExceeded", "detail": "Usage cap exceeded: Monthly product cap",
            "type": "https://api.x.com/2/problems/usage-capped", "status": 429
        })))
        .mount(&server)
        .await;
    let c = connector(client);
    match c.poll(&account(None), &token(), None, Utc::now()).await {
        Err(ConnectorError::Exhausted { until, reason }) => {
            assert_eq!(until.timestamp(), reset);
            assert!(reason.contains("rate limit"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let now = Utc::now();
    match c.poll(&account(None), &token(), None, now).await {
        Err(ConnectorError::Exhausted { until, reason }) => {
            assert!(until > now + chrono::Duration::minutes(59));
            assert!(reason.contains("usage cap"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_refused_token_and_an_outage_are_classified_for_the_poller() {
    let (server, client) = x().await;
    Mock::given(method("GET"))
        .and(path("/2/users/me"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2/users/me"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>Over capacity</html>"))
        .mount(&server)
        .await;
    assert_eq!(client.me(&token()).await, Err(ConnectorError::Unauthorized));
    assert!(matches!(
        client.me(&token()).await,
        Err(ConnectorError::Transient { .. })
    ));
}

#[tokio::test]
async fn identify_names_the_account_by_its_handle() {
    let (server, client) = x().await;
    Mock::given(method("GET"))
        .and(path("/2/users/me"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"id": ACCOUNT, "name": "X Developers", "username": "XDevelopers"}
        })))
        .mount(&server)
        .await;
    let found = connector(client).identify(&token()).await.expect("found");
    assert_eq!(
        found,
        vec![(ACCOUNT.to_string(), "@XDevelopers".to_string())]
    );
    let q = MentionsQuery::default();
    assert_eq!(q.since_id, None);
}

// ---- replies and moderation -------------------------------------------------------------------

fn ticket(kind: ItemKind, customer: &str) -> switchboard::core::Ticket {
    let now = Utc::now();
    switchboard::core::Ticket {
        id: switchboard::core::TicketId(1),
        version: 1,
        state: switchboard::core::TicketState {
            network: Network::X,
            account: AccountId::new(ACCOUNT),
            conversation_key: "k".into(),
            customer: switchboard::core::Customer {
                id: switchboard::core::CustomerId::new(customer),
                name: None,
            },
            kind,
            first_item: NetworkItemId::new("1924465506158878979"),
            first_text: "hi".into(),
            permalink: None,
            reply_to: NetworkItemId::new("1924465506158878979"),
            status: switchboard::core::Status::Unread,
            assignee: None,
            tags: vec![],
            suggested_tags: vec![],
            replying: vec![],
            moderation: Default::default(),
            last_text: None,
            last_replied_by: None,
            our_reply: None,
            last_replied_as: None,
            reply_as: None,
            last_failure: None,
            first_item_deleted: false,
            first_item_edited: false,
            created_at: now,
            updated_at: now,
            last_customer_at: now,
            context: Default::default(),
            archived: None,
            last_reply_at: None,
            auto_closed: None,
            auto_assigned: None,
            erased: false,
            auto_replied_at: None,
            sla: None,
        },
    }
}

#[tokio::test]
async fn replies_and_moderation_go_out_in_xs_formats() {
    let (server, client) = x().await;
    let c = connector(client);
    let me = AccountId::new(ACCOUNT);
    let tok = token();
    let call = Call {
        account: &me,
        token: &tok,
        now: Utc::now(),
    };
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(bearer())
        .and(body_json(json!({
            "text": "Thanks <b>&</b> sorry!",
            "reply": {"in_reply_to_tweet_id": "1924465506158878979"}
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "data": {"id": "1924465506158879999", "text": "@furiouscamper Thanks <b>&amp;</b> sorry!",
                     "edit_history_tweet_ids": ["1924465506158879999"]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/dm_conversations/with/3001969357/messages"))
        .and(bearer())
        .and(body_json(json!({"text": "Check your DMs"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "data": {"dm_conversation_id": "2244994945-3001969357", "dm_event_id": "1582838650453413899"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    for (verb, route, body, answer) in [
        (
            "PUT",
            "/2/tweets/1924465506158878979/hidden".to_string(),
            json!({"hidden": true}),
            json!({"data": {"hidden": true}}),
        ),
        (
            "POST",
            format!("/2/users/{ACCOUNT}/likes"),
            json!({"tweet_id": "1924465506158878979"}),
            json!({"data": {"liked": true}}),
        ),
        (
            "POST",
            format!("/2/users/{ACCOUNT}/muting"),
            json!({"target_user_id": "3001969357"}),
            json!({"data": {"muting": true}}),
        ),
    ] {
        Mock::given(method(verb))
            .and(path(route))
            .and(bearer())
            .and(body_json(body))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("DELETE"))
        .and(path("/2/tweets/1924465506158879999"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"deleted": true}})))
        .expect(1)
        .mount(&server)
        .await;

    let public = ticket(ItemKind::Comment, "3001969357");
    let reply_to = NetworkItemId::new("1924465506158878979");
    let id = c
        .reply(call, &public, &reply_to, "Thanks <b>&</b> sorry!")
        .await
        .expect("posted");
    assert_eq!(id.as_str(), "1924465506158879999");
    let dm = ticket(ItemKind::DirectMessage, "3001969357");
    let id = c
        .reply(
            call,
            &dm,
            &NetworkItemId::new("1050118621198921800"),
            "Check your DMs",
        )
        .await
        .expect("sent");
    assert_eq!(id.as_str(), "1582838650453413899");
    use switchboard::core::Moderation::*;
    for action in [Hide, Like, Mute] {
        c.moderate(call, &public, action, &reply_to)
            .await
            .expect("moderated");
    }
    c.moderate(
        call,
        &public,
        DeleteReply,
        &NetworkItemId::new("1924465506158879999"),
    )
    .await
    .expect("deleted");
    // What X does not offer is refused without a call; so is muting an unknown author.
    assert_eq!(
        c.moderate(call, &public, Block, &reply_to).await,
        Err(ConnectorError::Permanent(FailureReason::NotSupported))
    );
    let mut anonymous = ticket(ItemKind::Mention, "3001969357");
    anonymous.state.customer.id =
        switchboard::core::CustomerId::unknown_author_of(&NetworkItemId::new("1"));
    assert!(c.moderate(call, &anonymous, Mute, &reply_to).await.is_err());
    token_never_in_urls(&server).await;
}

#[tokio::test]
async fn a_refused_reply_carries_xs_words_and_a_lost_one_is_found() {
    let (server, client) = x().await;
    let c = connector(client);
    let me = AccountId::new(ACCOUNT);
    let tok = token();
    let call = Call {
        account: &me,
        token: &tok,
        now: Utc::now(),
    };
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "detail": "You are not allowed to create a Tweet with duplicate content.",
            "type": "about:blank", "title": "Forbidden", "status": 403
        })))
        .mount(&server)
        .await;
    let public = ticket(ItemKind::Mention, "3001969357");
    let reply_to = NetworkItemId::new("1924465506158878979");
    assert_eq!(
        c.reply(call, &public, &reply_to, "At our shop!").await,
        Err(ConnectorError::Permanent(FailureReason::Rejected(
            "You are not allowed to create a Tweet with duplicate content.".into()
        )))
    );
    // The account's own posts since the attempt: ours under that post with that text.
    let since = Utc::now() - chrono::Duration::minutes(5);
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{ACCOUNT}/tweets")))
        .and(bearer())
        .and(query_param("exclude", "retweets"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                {"id": "1924465506158879999", "text": "@furiouscamper At our shop!", "author_id": ACCOUNT,
                 "referenced_tweets": [{"type": "replied_to", "id": "1924465506158878979"}]},
                {"id": "1924465506158879998", "text": "@someone At our shop!", "author_id": ACCOUNT,
                 "referenced_tweets": [{"type": "replied_to", "id": "1111111111111111111"}]},
                {"id": "1924465506158879997", "text": "@furiouscamper Something else", "author_id": ACCOUNT,
                 "referenced_tweets": [{"type": "replied_to", "id": "1924465506158878979"}]}
            ],
            "meta": {"result_count": 3}
        })))
        .mount(&server)
        .await;
    let (found, units) = c
        .find_reply(call, &public, &reply_to, "At our shop!", since)
        .await
        .expect("looked");
    assert_eq!(found, vec![NetworkItemId::new("1924465506158879999")]);
    assert_eq!(units, 1);
    let lookup = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().ends_with("/tweets") && r.method.as_str() == "GET")
        .expect("looked up");
    assert!(
        lookup
            .url
            .query()
            .unwrap_or_default()
            .contains("start_time=")
    );
    // A direct message is not looked for: X would bill a read of the whole conversation.
    let gets = |n: &Vec<Request>| n.iter().filter(|r| r.method.as_str() == "GET").count();
    let before = gets(&server.received_requests().await.unwrap());
    let dm = ticket(ItemKind::DirectMessage, "3001969357");
    let (found, units) = c
        .find_reply(call, &dm, &reply_to, "At our shop!", since)
        .await
        .expect("looked");
    assert_eq!((found, units), (vec![], 0));
    assert_eq!(gets(&server.received_requests().await.unwrap()), before);
}

#[test]
fn replies_are_checked_the_way_x_counts_them() {
    use switchboard::core::capabilities::{ReplyRefusal, check_reply};
    let caps = switchboard::networks::x::capabilities::x(ItemKind::Mention);
    let t = ticket(ItemKind::Mention, "3001969357");
    let now = Utc::now();
    let table: &[(String, bool)] = &[
        ("a".repeat(280), true),
        ("a".repeat(281), false),
        ("字".repeat(140), true),
        (format!("{}字", "a".repeat(279)), false),
        ("😀".repeat(140), true),
        ("👍🏽".repeat(141), false),
        (
            format!(
                "{} https://example.com/{}",
                "a".repeat(256),
                "p".repeat(400)
            ),
            true,
        ),
    ];
    for (text, fits) in table {
        assert_eq!(check_reply(&t, &caps, text, now).is_ok(), *fits, "{text:?}");
    }
    match check_reply(&t, &caps, &"字".repeat(141), now) {
        Err(ReplyRefusal::TooLong(e)) => {
            assert_eq!(e.length, 282);
            assert!(e.to_string().contains("as X counts them"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

// ---- webhooks ---------------------------------------------------------------------------------

fn webhooks() -> XWebhooks {
    XWebhooks::new(SecretString::from(CONSUMER_SECRET))
}

fn signed(value: &str) -> axum::http::HeaderMap {
    let mut h = axum::http::HeaderMap::new();
    h.insert("x-twitter-webhooks-signature", value.parse().unwrap());
    h
}

#[test]
fn the_crc_and_the_signatures_follow_the_reference_vectors() {
    let q = HashMap::from([("crc_token".to_string(), "challenge_string".to_string())]);
    let answer = webhooks().handshake(&q).expect("answered");
    assert_eq!(answer.content_type, "application/json");
    let v: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(
        v,
        json!({"response_token": "sha256=583uAmerwtjpykYEAEm+CEIRm6dOywK4QKRr0ha/Pd4="})
    );
    let body = br#"{"for_user_id":"2244994945","tweet_create_events":[]}"#;
    let good = "sha256=Lss4bxd6weR99So6MmhnJFpNn8h7oFFhZH5um9Z5oF4=";
    let now = Utc::now();
    assert!(webhooks().verify(&signed(good), body, now).is_ok());
    // The same JSON re-serialised with a space is other bytes: refused.
    let reserialised = br#"{"for_user_id": "2244994945","tweet_create_events":[]}"#;
    let refused = webhooks()
        .verify(&signed(good), reserialised, now)
        .expect_err("tampered");
    assert_eq!(refused.status, 401);
    let missing = webhooks()
        .verify(&axum::http::HeaderMap::new(), body, now)
        .expect_err("missing");
    assert_eq!(missing.status, 401);
    assert!(missing.reason.contains("missing"), "{}", missing.reason);
}

/// The Account Activity example of network-apis.md §2.2, with our own reply, a repost and
/// an unrelated post beside it.
fn account_activity_posts() -> Value {
    json!({
      "for_user_id": "2244994945",
      "user_has_blocked": "false",
      "tweet_create_events": [{
        "created_at": "Mon May 19 14:01:46 +0000 2025",
        "id": 1924465506158879000u64,
        "id_str": "1924465506158878979",
        "text": "@XDevelopers is the reply API down?",
        "in_reply_to_status_id_str": "1924465000000000000",
        "in_reply_to_user_id_str": "2244994945",
        "in_reply_to_screen_name": "XDevelopers",
        "user": { "id_str": "3001969357", "screen_name": "furiouscamper", "name": "Jordan Brinks" },
        "entities": { "hashtags": [], "urls": [], "symbols": [],
          "user_mentions": [{ "screen_name": "XDevelopers", "id_str": "2244994945", "indices": [0, 12] }] },
        "truncated": false
      }, {
        "created_at": "Mon May 19 14:05:00 +0000 2025",
        "id_str": "1924465506158879100",
        "text": "@furiouscamper No, all good!",
        "in_reply_to_status_id_str": "1924465506158878979",
        "in_reply_to_user_id_str": "3001969357",
        "user": { "id_str": "2244994945", "screen_name": "XDevelopers", "name": "X Developers" },
        "entities": { "user_mentions": [{ "screen_name": "furiouscamper", "id_str": "3001969357" }] }
      }, {
        "created_at": "Mon May 19 14:06:00 +0000 2025",
        "id_str": "1924465506158879200",
        "text": "RT @XDevelopers: news",
        "user": { "id_str": "77", "screen_name": "fan", "name": "Fan" },
        "entities": { "user_mentions": [{ "screen_name": "XDevelopers", "id_str": "2244994945" }] },
        "retweeted_status": { "id_str": "1" }
      }, {
        "created_at": "Mon May 19 14:07:00 +0000 2025",
        "id_str": "1924465506158879300",
        "text": "a quote without naming anyone",
        "user": { "id_str": "78", "screen_name": "other", "name": "Other" },
        "entities": { "user_mentions": [] }
      }]
    })
}

/// The Account Activity DM example of §2.2 (verbatim), and our own outbound message.
fn account_activity_dms() -> Value {
    json!({
      "for_user_id": "4337869213",
      "direct_message_events": [{
        "type": "message_create",
        "id": "954491830116155396",
        "created_timestamp": "1516403560557",
        "message_create": {
          "target": { "recipient_id": "4337869213" },
          "sender_id": "3001969357",
          "source_app_id": "13090192",
          "message_data": { "text": "Hello World!",
            "entities": { "hashtags": [], "symbols": [], "user_mentions": [], "urls": [] } }
        }
      }, {
        "type": "message_create",
        "id": "954491830116155397",
        "created_timestamp": "1516403560999",
        "message_create": {
          "target": { "recipient_id": "3001969357" },
          "sender_id": "4337869213",
          "message_data": { "text": "Hi, how can we help?" }
        }
      }],
      "apps": { "13090192": { "id": "13090192", "name": "FuriousCamperTestApp1", "url": "https://x.com/furiouscamper" } },
      "users": { "3001969357": { "id": "3001969357", "name": "Jordan Brinks", "screen_name": "furiouscamper" } }
    })
}

#[test]
fn account_activity_payloads_keep_customers_and_leave_our_own_out() {
    let got = webhook_changes(account_activity_posts().to_string().as_bytes()).expect("parsed");
    assert_eq!(keys(&got.envelopes), ["x:post:1924465506158878979"]);
    let i = item(&got.envelopes[0]);
    assert_eq!(i.account.as_str(), "2244994945");
    assert_eq!(i.kind, ItemKind::Comment);
    assert_eq!(i.post_id.as_str(), "1924465000000000000");
    assert_eq!(i.customer.id.as_str(), "3001969357");
    assert_eq!(
        i.customer.name.as_deref(),
        Some("Jordan Brinks (@furiouscamper)")
    );
    assert_eq!(i.text, "@XDevelopers is the reply API down?");
    assert_eq!(
        i.created_at,
        DateTime::parse_from_rfc3339("2025-05-19T14:01:46Z")
            .unwrap()
            .with_timezone(&Utc)
    );
    assert_eq!(got.ignored.len(), 3, "{:?}", got.ignored);

    let got = webhook_changes(account_activity_dms().to_string().as_bytes()).expect("parsed");
    assert_eq!(keys(&got.envelopes), ["x:dm:954491830116155396"]);
    let i = item(&got.envelopes[0]);
    assert_eq!(i.kind, ItemKind::DirectMessage);
    assert_eq!(i.account.as_str(), "4337869213");
    assert_eq!(i.text, "Hello World!");
    assert_eq!(
        i.customer.name.as_deref(),
        Some("Jordan Brinks (@furiouscamper)")
    );
    assert_eq!(i.conversation_key(), "x:4337869213:dm:3001969357");
    assert_eq!(i.created_at.timestamp_millis(), 1_516_403_560_557);
    assert!(
        got.ignored.iter().any(|n| n.contains("own")),
        "{:?}",
        got.ignored
    );
}

#[test]
fn x_activity_events_become_the_same_envelopes_as_a_poll() {
    // §2.3's example, verbatim.
    let reply = json!({"data":{"event_uuid":"3091827364059182736","filter":{"user_id":"1111111111111111111"},
     "event_type":"post.reply.create","tag":"replies",
     "payload":{"id":"2090000000000000001","text":"@ExampleUser Great post — thanks for sharing!",
       "author_id":"2222222222222222222","conversation_id":"2080761390344937796",
       "in_reply_to_tweet_id":"2080761390344937796","in_reply_to_user_id":"1111111111111111111",
       "referenced_tweets":[{"type":"replied_to","id":"2080761390344937796"}],
       "created_at":"2026-08-12T18:00:00.000Z","lang":"en","reply_settings":"everyone"},
     "includes":{}}});
    let got = webhook_changes(reply.to_string().as_bytes()).expect("parsed");
    assert_eq!(keys(&got.envelopes), ["x:post:2090000000000000001"]);
    let pushed = item(&got.envelopes[0]).clone();
    assert_eq!(pushed.kind, ItemKind::Comment);
    assert_eq!(pushed.account.as_str(), "1111111111111111111");
    assert_eq!(pushed.post_id.as_str(), "2080761390344937796");
    assert_eq!(pushed.text, "@ExampleUser Great post — thanks for sharing!");
    // The same post read by a poll: the same key and the same item.
    let polled = switchboard::networks::x::payload::post_changes(
        &AccountId::new("1111111111111111111"),
        &[serde_json::from_value(reply["data"]["payload"].clone()).unwrap()],
        &[],
    );
    assert_eq!(polled.envelopes, got.envelopes);

    let dm = json!({"data":{"event_uuid":"1","filter":{"user_id":"4337869213"},
      "event_type":"dm.received","tag":"dms",
      "payload": account_activity_dms(), "includes":{}}});
    let got = webhook_changes(dm.to_string().as_bytes()).expect("parsed");
    assert_eq!(keys(&got.envelopes), ["x:dm:954491830116155396"]);

    // Our own post, and events Switchboard does not mirror: nothing, with notes.
    let own = json!({"data":{"filter":{"user_id":"1111111111111111111"},"event_type":"post.mention.create",
      "payload":{"id":"2090000000000000002","text":"@ExampleUser hi","author_id":"1111111111111111111",
                 "conversation_id":"2090000000000000002"}}});
    let like = json!({"data":{"filter":{"user_id":"1111111111111111111"},"event_type":"like.create","payload":{}}});
    for body in [own, like] {
        let got = webhook_changes(body.to_string().as_bytes()).expect("parsed");
        assert!(
            got.envelopes.is_empty() && got.ignored.len() == 1,
            "{got:?}"
        );
    }
    // Not X's at all: refused.
    assert!(webhook_changes(b"{\"object\":\"page\"}").is_err());
    assert!(webhook_changes(b"not json").is_err());
}

#[tokio::test]
async fn webhook_mode_never_polls() {
    let (_server, client) = x().await;
    let pushed = XConnector::new(client.clone(), 7, Ingest::Webhook);
    assert!(!pushed.polls());
    assert!(connector(client).polls());
}
