//! LinkedIn against wiremock fakes speaking LinkedIn's formats (network-apis.md §3 and §11.4):
//! OAuth with the secret in the form body and no PKCE, comma-separated scopes, refresh and a
//! dead refresh; the pages a member administers; notifications paged by time window with an
//! overlap that never skips and never doubles; each comment read by its id;
//! comments as the page nested under the top-level comment, the id from `x-restli-id`;
//! deleting our comment; LinkedIn's error shapes; the webhook challenge and both signature
//! forms.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use switchboard::core::{
    AccountId, FailureReason, InboundItem, ItemKind, Network, NetworkChange, NetworkEnvelope,
    NetworkItemId, Surface,
};
use switchboard::networks::linkedin::changes::LinkedinCursor;
use switchboard::networks::linkedin::{
    CommentUrn, Ingest, LinkedinClient, LinkedinConnector, LinkedinWebhooks, SignatureForm,
};
use switchboard::networks::{
    Call, Connector, ConnectorError, PolledConnector, TokenError, TokenSource, WebhookSource,
};
use switchboard::oauth::{self, ProviderConfig, TokenSet};
use switchboard::store::{ConnectedAccount, NewAccount};
use switchboard::workers::tokens::{OAuthTokens, open, seal};
use url::Url;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "AQXNnd2kXITHELmWblJigbHEuoFdfRhOwGA0QNnumBI8X";
const ORG: &str = "5515715";
const ORG_URN: &str = "urn:li:organization:5515715";
const CLIENT_ID: &str = "86abcdefgh";
const CLIENT_SECRET: &str = "test_client_secret";
const VERSION: &str = "202611";

fn token() -> SecretString {
    SecretString::from(TOKEN)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("http client")
}

/// Every call carries the token, the version and the Rest.li protocol.
fn linkedin_headers(m: wiremock::MockBuilder) -> wiremock::MockBuilder {
    m.and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("linkedin-version", VERSION))
        .and(header("x-restli-protocol-version", "2.0.0"))
}

async fn linkedin() -> (MockServer, LinkedinClient) {
    let server = MockServer::start().await;
    let client =
        LinkedinClient::new(http(), &format!("{}/rest", server.uri()), VERSION).expect("base");
    (server, client)
}

fn connector(client: LinkedinClient) -> LinkedinConnector {
    LinkedinConnector::new(client, 7, Ingest::Poll, 7)
}

fn account(cursor: Option<String>) -> ConnectedAccount {
    ConnectedAccount {
        id: 1,
        network: Network::Linkedin,
        account_id: AccountId::new(ORG),
        name: "Acme".into(),
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

/// The raw (undecoded) path and query LinkedIn saw.
fn raw(r: &Request) -> String {
    format!("{}?{}", r.url.path(), r.url.query().unwrap_or(""))
}

async fn token_never_in_urls(server: &MockServer) {
    for r in server.received_requests().await.expect("recording on") {
        assert!(!r.url.as_str().contains(TOKEN), "token in {}", r.url);
    }
}

// ---- OAuth ------------------------------------------------------------------------------------

fn provider(server: &MockServer) -> ProviderConfig {
    let mut cfg = ProviderConfig::linkedin(
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET),
        switchboard::networks::linkedin::SCOPES
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    cfg.authorize_url = Url::parse(&format!("{}/oauth/v2/authorization", server.uri())).unwrap();
    cfg.token_url = Url::parse(&format!("{}/oauth/v2/accessToken", server.uri())).unwrap();
    cfg.revoke_url = Some(Url::parse(&format!("{}/oauth/v2/revoke", server.uri())).unwrap());
    cfg
}

fn form(r: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&r.body).into_owned().collect()
}

#[tokio::test]
async fn the_code_is_exchanged_with_the_secret_in_the_body_and_without_pkce() {
    let server = MockServer::start().await;
    // LinkedIn's answer: no token_type, scopes comma-separated, no refresh token (an app not
    // enabled for programmatic refresh).
    Mock::given(method("POST"))
        .and(path("/oauth/v2/accessToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": TOKEN, "expires_in": 5184000,
            "scope": "r_organization_social,rw_organization_admin,w_organization_social"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let cfg = provider(&server);
    let redirect = Url::parse("https://social.example.org/oauth/linkedin/callback").unwrap();
    let url = oauth::authorization_url(&cfg, &redirect, "Zk3q", "challenge-not-sent");
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["response_type"], "code");
    assert_eq!(
        q["scope"],
        "rw_organization_admin r_organization_social w_organization_social"
    );
    assert_eq!(q["state"], "Zk3q");
    assert!(!q.contains_key("code_challenge") && !q.contains_key("code_challenge_method"));
    assert!(!url.as_str().contains(CLIENT_SECRET));

    let tokens = oauth::exchange_code(
        &http(),
        &cfg,
        &redirect,
        "AQRqdB-code",
        &SecretString::from("verifier-not-sent"),
    )
    .await
    .expect("exchanged");
    assert_eq!(tokens.access_token.expose_secret(), TOKEN);
    assert!(tokens.refresh_token.is_none());
    for scope in switchboard::networks::linkedin::SCOPES {
        assert!(oauth::granted(&tokens, scope), "{scope}");
    }
    let left = tokens.expires_at - Utc::now();
    assert!(left > chrono::Duration::days(59), "{left}");
    let sent = server.received_requests().await.unwrap();
    let f = form(&sent[0]);
    assert_eq!(f["grant_type"], "authorization_code");
    assert_eq!(f["code"], "AQRqdB-code");
    assert_eq!(f["client_id"], CLIENT_ID);
    assert_eq!(f["client_secret"], CLIENT_SECRET);
    assert_eq!(
        f["redirect_uri"],
        "https://social.example.org/oauth/linkedin/callback"
    );
    assert!(!f.contains_key("code_verifier"));
    assert!(sent[0].headers.get("authorization").is_none());
}

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
                network: Network::Linkedin,
                account_id: AccountId::new(ORG),
                name: "Acme".into(),
                surface: Surface::Slack,
                channel: "C1".into(),
                credentials: seal(&key, Network::Linkedin, ORG, set),
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
        HashMap::from([(Network::Linkedin, provider(server))]),
    );
    (store, account, source)
}

fn expiring(access: &str, refresh: &str) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(access.to_string()),
        refresh_token: Some(SecretString::from(refresh.to_string())),
        expires_at: Utc::now() + chrono::Duration::seconds(30),
        scope: vec!["rw_organization_admin".into()],
    }
}

#[tokio::test]
async fn a_refresh_stores_what_linkedin_sends_back_and_uses_it_next() {
    let server = MockServer::start().await;
    for (old, new) in [("ref-1", "2"), ("ref-2", "3")] {
        Mock::given(method("POST"))
            .and(path("/oauth/v2/accessToken"))
            .and(wiremock::matchers::body_string_contains(format!(
                "refresh_token={old}"
            )))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": format!("acc-{new}"), "expires_in": 5184000,
                "refresh_token": format!("ref-{new}"), "refresh_token_expires_in": 439200
            })))
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
    let key = switchboard::crypto::SecretKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        .unwrap();
    let stored = store.account(account.id).await.unwrap().unwrap();
    let opened = open(&key, &stored).unwrap();
    assert_eq!(
        opened.refresh_token.as_ref().map(|t| t.expose_secret()),
        Some("ref-2")
    );
    let again = source.access_token(&stored, true).await.expect("refreshed");
    assert_eq!(again.expose_secret(), "acc-3");
    for r in server.received_requests().await.unwrap() {
        let f = form(&r);
        assert_eq!(f["grant_type"], "refresh_token");
        assert_eq!(f["client_id"], CLIENT_ID);
        assert_eq!(f["client_secret"], CLIENT_SECRET);
    }
}

#[tokio::test]
async fn a_refresh_linkedin_refuses_is_dead() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/accessToken"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_request",
            "error_description": "The provided authorization grant or refresh token is invalid, expired or revoked"
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
}

// ---- Pages, notifications, comments ------------------------------------------------------------

#[tokio::test]
async fn identify_lists_the_administered_pages_with_their_names() {
    let (server, client) = linkedin().await;
    linkedin_headers(Mock::given(method("GET")).and(path("/rest/organizationAcls")))
        .and(query_param("q", "roleAssignee"))
        .and(query_param("role", "ADMINISTRATOR"))
        .and(query_param("state", "APPROVED"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "elements": [
                {"organization": ORG_URN, "roleAssignee": "urn:li:person:ABC123", "role": "ADMINISTRATOR", "state": "APPROVED"},
                {"organization": "urn:li:organization:10002687", "roleAssignee": "urn:li:person:ABC123", "role": "ADMINISTRATOR", "state": "APPROVED"},
                {"organization": "urn:li:organization:77", "role": "ADMINISTRATOR", "state": "REQUESTED"}
            ],
            "paging": {"start": 0, "count": 100}
        })))
        .expect(1)
        .mount(&server)
        .await;
    for (id, name) in [(ORG, "Acme <b>Coffee</b>"), ("10002687", "Acme Roasters")] {
        linkedin_headers(Mock::given(method("GET")).and(path(format!("/rest/organizations/{id}"))))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": id.parse::<i64>().unwrap(), "localizedName": name, "vanityName": "acme"
            })))
            .mount(&server)
            .await;
    }
    let pages = connector(client).identify(&token()).await.expect("pages");
    assert_eq!(
        pages,
        [
            (ORG.to_string(), "Acme <b>Coffee</b>".to_string()),
            ("10002687".to_string(), "Acme Roasters".to_string())
        ]
    );
    token_never_in_urls(&server).await;
}

/// A page whose name LinkedIn will not give (403 on `organizations/{id}`) is still offered,
/// under a plain name; the other keeps its own.
#[tokio::test]
async fn a_page_whose_name_cannot_be_read_is_still_offered() {
    let (server, client) = linkedin().await;
    linkedin_headers(Mock::given(method("GET")).and(path("/rest/organizationAcls")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "elements": [
                {"organization": ORG_URN, "role": "ADMINISTRATOR", "state": "APPROVED"},
                {"organization": "urn:li:organization:10002687", "role": "ADMINISTRATOR", "state": "APPROVED"}
            ],
            "paging": {"start": 0, "count": 100, "total": 2}
        })))
        .mount(&server)
        .await;
    linkedin_headers(Mock::given(method("GET")).and(path(format!("/rest/organizations/{ORG}"))))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
            "message": "Not enough permissions to access: organizations.GET.20261101"
        })))
        .mount(&server)
        .await;
    linkedin_headers(Mock::given(method("GET")).and(path("/rest/organizations/10002687")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 10002687, "localizedName": "Acme Roasters"
        })))
        .mount(&server)
        .await;
    let pages = connector(client).identify(&token()).await.expect("pages");
    assert_eq!(
        pages,
        [
            (ORG.to_string(), format!("LinkedIn page {ORG}")),
            ("10002687".to_string(), "Acme Roasters".to_string())
        ]
    );
}

fn notification(id: i64, action: &str, generated: &str, at: i64) -> Value {
    json!({
        "notificationId": id, "action": action, "organizationalEntity": ORG_URN,
        "sourcePost": "urn:li:share:7001", "generatedActivity": generated, "lastModifiedAt": at
    })
}

fn comment(id: &str, actor: &str, text: &str, at: i64, parent: Option<&str>) -> Value {
    let urn = format!("urn:li:comment:(urn:li:activity:7001,{id})");
    let mut c = json!({
        "$URN": urn, "commentUrn": urn, "id": id, "actor": actor,
        "object": "urn:li:activity:7001", "message": {"text": text, "attributes": []},
        "created": {"actor": actor, "time": at}, "lastModified": {"actor": actor, "time": at},
        "commentsSummary": {"totalFirstLevelComments": 0}
    });
    if let Some(p) = parent {
        c["parentComment"] = Value::String(format!("urn:li:comment:(urn:li:activity:7001,{p})"));
    }
    c
}

/// LinkedIn's "Get a Comment": `GET socialActions/{target}/comments/{id}`, read once.
async fn mount_comment(server: &MockServer, target: &str, c: Value) {
    let id = c["id"].as_str().expect("id").to_owned();
    linkedin_headers(Mock::given(method("GET")).and(path(format!(
        "/rest/socialActions/{}/comments/{id}",
        switchboard::networks::linkedin::encode(target)
    ))))
    .respond_with(ResponseTemplate::new(200).set_body_json(c))
    .expect(1)
    .mount(server)
    .await;
}

#[tokio::test]
async fn a_poll_pages_notifications_reads_comments_and_mentions_and_skips_our_own() {
    let (server, client) = linkedin().await;
    let now = Utc::now();
    let at = now.timestamp_millis() - 60_000;
    // Page 1 is full (count 2), page 2 ends the window.
    linkedin_headers(
        Mock::given(method("GET")).and(path("/rest/organizationalEntityNotifications")),
    )
    .and(query_param("start", "0"))
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "elements": [
            notification(4406044, "COMMENT", "urn:li:comment:(urn:li:activity:7001,9001)", at),
            notification(4406045, "ADMIN_COMMENT", "urn:li:comment:(urn:li:activity:7001,9003)", at + 1),
        ],
        "paging": {"start": 0, "count": 2, "links": [{"rel": "next"}]}
    })))
    .mount(&server)
    .await;
    linkedin_headers(
        Mock::given(method("GET")).and(path("/rest/organizationalEntityNotifications")),
    )
    .and(query_param("start", "2"))
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "elements": [
            notification(4406046, "SHARE_MENTION", "urn:li:share:8001", at + 2),
            notification(4406047, "COMMENT", "urn:li:comment:(urn:li:activity:7001,9004)", at + 3),
        ],
        "paging": {"start": 2, "count": 2, "total": 4}
    })))
    .mount(&server)
    .await;
    // Each comment read by its id: the customer's, and one the page wrote.
    mount_comment(
        &server,
        "urn:li:activity:7001",
        comment(
            "9001",
            "urn:li:person:abc",
            "Where can I buy the <!channel> beans?",
            at,
            None,
        ),
    )
    .await;
    mount_comment(
        &server,
        "urn:li:activity:7001",
        comment("9004", ORG_URN, "Our own words", at + 3, None),
    )
    .await;
    linkedin_headers(Mock::given(method("GET")).and(path("/rest/posts/urn%3Ali%3Ashare%3A8001")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "urn:li:share:8001", "author": "urn:li:person:xyz",
            "commentary": "Loving the new blend from @Acme", "createdAt": at + 2,
            "visibility": "PUBLIC"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let c = connector(client);
    let batch = c
        .poll(&account(None), &token(), None, now)
        .await
        .expect("poll");
    let keys: Vec<&str> = batch
        .envelopes
        .iter()
        .map(|e| e.dedupe_key.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "linkedin:comment:urn:li:comment:(urn:li:activity:7001,9001)",
            "linkedin:mention:5515715:urn:li:share:8001"
        ]
    );
    let comment = item(&batch.envelopes[0]);
    assert_eq!(comment.kind, ItemKind::Comment);
    assert_eq!(comment.customer.id.as_str(), "urn:li:person:abc");
    assert_eq!(comment.text, "Where can I buy the <!channel> beans?");
    assert_eq!(comment.post_id.as_str(), "urn:li:share:7001");
    let mention = item(&batch.envelopes[1]);
    assert_eq!(mention.kind, ItemKind::Mention);
    assert_eq!(mention.item_id.as_str(), "urn:li:share:8001");
    assert_eq!(mention.text, "Loving the new blend from @Acme");
    // The window: from the backfill to now, URN encoded, Rest.li structure as is.
    let requests = server.received_requests().await.unwrap();
    let listing = requests
        .iter()
        .find(|r| r.url.path() == "/rest/organizationalEntityNotifications")
        .expect("listed");
    let q = raw(listing);
    let cursor = LinkedinCursor::read(None, now, chrono::Duration::days(7));
    assert!(
        q.contains(&format!(
            "q=criteria&organizationalEntity=urn%3Ali%3Aorganization%3A5515715&actions=List(COMMENT,SHARE_MENTION,ADMIN_COMMENT)&timeRange=(start:{},end:{})",
            cursor.window_start(),
            now.timestamp_millis()
        )),
        "{q}"
    );
    // The cursor moved to now; the overlap's notifications are remembered.
    let stored: LinkedinCursor = serde_json::from_str(&batch.cursor).expect("cursor");
    assert_eq!(stored.since_ms, now.timestamp_millis());
    assert!(stored.has_seen("4406044") && stored.has_seen("4406047"));

    // The next poll reaches back over the overlap, reads the same notifications again and
    // gives nothing twice (no comment listing, no post read again).
    let later = now + chrono::Duration::minutes(5);
    let again = c
        .poll(&account(None), &token(), Some(&batch.cursor), later)
        .await
        .expect("poll");
    assert!(again.envelopes.is_empty(), "{:?}", again.envelopes);
    let requests = server.received_requests().await.unwrap();
    let last = requests
        .iter()
        .rev()
        .find(|r| r.url.path() == "/rest/organizationalEntityNotifications")
        .expect("listed");
    assert!(
        raw(last).contains(&format!(
            "timeRange=(start:{},end:{})",
            now.timestamp_millis() - switchboard::networks::linkedin::changes::OVERLAP_MS,
            later.timestamp_millis()
        )),
        "{}",
        raw(last)
    );
    token_never_in_urls(&server).await;
}

#[tokio::test]
async fn a_nested_comment_is_read_by_its_id_with_its_thread_and_a_throttle_keeps_the_window() {
    let (server, client) = linkedin().await;
    let now = Utc::now();
    let at = now.timestamp_millis() - 60_000;
    linkedin_headers(
        Mock::given(method("GET")).and(path("/rest/organizationalEntityNotifications")),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "elements": [notification(1, "COMMENT", "urn:li:comment:(urn:li:activity:7001,9002)", at)],
        "paging": {"start": 0, "count": 100, "total": 1}
    })))
    .mount(&server)
    .await;
    // Undecorated: the reply is read by its id under its post; LinkedIn names its parent.
    mount_comment(
        &server,
        "urn:li:activity:7001",
        comment("9002", "urn:li:person:def", "Me too", at, Some("9001")),
    )
    .await;
    let batch = connector(client)
        .poll(&account(None), &token(), None, now)
        .await
        .expect("poll");
    assert_eq!(batch.envelopes.len(), 1);
    assert_eq!(
        item(&batch.envelopes[0]).item_id.as_str(),
        "urn:li:comment:(urn:li:activity:7001,9002)|urn:li:comment:(urn:li:activity:7001,9001)"
    );

    // Throttled: a rate limit, nothing stored, the window kept for the next poll.
    let (server, client) = linkedin().await;
    Mock::given(method("GET"))
        .and(path("/rest/organizationalEntityNotifications"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({
            "status": 429, "message": "Resource level throttle APPLICATION DAY limit for calls to this resource is reached."
        })))
        .mount(&server)
        .await;
    match connector(client)
        .poll(&account(None), &token(), None, now)
        .await
    {
        Err(ConnectorError::RateLimited { .. }) => {}
        other => panic!("{other:?}"),
    }
}

/// A notification's comment is read by its id, one call each: one far down a busy post's
/// listing is found, one LinkedIn no longer has (404) is skipped, and neither holds up the
/// other.
#[tokio::test]
async fn each_comment_is_read_by_its_id_and_only_a_gone_one_is_skipped() {
    let (server, client) = linkedin().await;
    let now = Utc::now();
    let at = now.timestamp_millis() - 60_000;
    linkedin_headers(
        Mock::given(method("GET")).and(path("/rest/organizationalEntityNotifications")),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "elements": [
            notification(11, "COMMENT", "urn:li:comment:(urn:li:activity:7001,9100)", at),
            notification(12, "COMMENT", "urn:li:comment:(urn:li:activity:7001,9500)", at + 1),
        ],
        "paging": {"start": 0, "count": 100, "total": 2}
    })))
    .mount(&server)
    .await;
    // A busy post: 400 comments, oldest first; the new one is far past the first pages.
    let old: Vec<Value> = (1..=100)
        .map(|i| {
            comment(
                &i.to_string(),
                "urn:li:person:zz",
                "old",
                at - 1_000_000,
                None,
            )
        })
        .collect();
    linkedin_headers(
        Mock::given(method("GET"))
            .and(path("/rest/socialActions/urn%3Ali%3Ashare%3A7001/comments")),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "elements": old, "paging": {"start": 0, "count": 100, "total": 400}
    })))
    .mount(&server)
    .await;
    linkedin_headers(Mock::given(method("GET")).and(path(
        "/rest/socialActions/urn%3Ali%3Aactivity%3A7001/comments/9100",
    )))
    .respond_with(ResponseTemplate::new(404).set_body_json(json!({
        "status": 404, "serviceErrorCode": 0, "code": "NOT_FOUND",
        "message": "Comment 9100 not found"
    })))
    .expect(1)
    .mount(&server)
    .await;
    mount_comment(
        &server,
        "urn:li:activity:7001",
        comment(
            "9500",
            "urn:li:person:abc",
            "Still no answer?",
            at + 1,
            None,
        ),
    )
    .await;
    let c = connector(client);
    let batch = c
        .poll(&account(None), &token(), None, now)
        .await
        .expect("poll");
    let keys: Vec<&str> = batch
        .envelopes
        .iter()
        .map(|e| e.dedupe_key.as_str())
        .collect();
    assert_eq!(
        keys,
        ["linkedin:comment:urn:li:comment:(urn:li:activity:7001,9500)"]
    );
    assert_eq!(item(&batch.envelopes[0]).text, "Still no answer?");
    let stored: LinkedinCursor = serde_json::from_str(&batch.cursor).expect("cursor");
    assert_eq!(stored.since_ms, now.timestamp_millis());
    assert!(stored.has_seen("11") && stored.has_seen("12"));
    // Never a listing: one call per notification.
    let requests = server.received_requests().await.unwrap();
    assert!(
        !requests
            .iter()
            .any(|r| r.url.path() == "/rest/socialActions/urn%3Ali%3Ashare%3A7001/comments"),
        "a comments listing was read"
    );
    // The next poll reads neither again (the mocks expect one call each).
    let again = c
        .poll(
            &account(None),
            &token(),
            Some(&batch.cursor),
            now + chrono::Duration::minutes(1),
        )
        .await
        .expect("poll");
    assert!(again.envelopes.is_empty());
}

// ---- Replies and moderation ---------------------------------------------------------------------

fn call(now: chrono::DateTime<Utc>) -> (AccountId, SecretString, chrono::DateTime<Utc>) {
    (AccountId::new(ORG), token(), now)
}

fn ticket() -> switchboard::core::Ticket {
    let now = Utc::now();
    let first = NetworkItemId::new("urn:li:comment:(urn:li:activity:7001,9001)");
    switchboard::core::Ticket {
        id: switchboard::core::TicketId(1),
        version: 1,
        state: switchboard::core::TicketState {
            network: Network::Linkedin,
            account: AccountId::new(ORG),
            conversation_key: "k".into(),
            customer: switchboard::core::Customer {
                id: switchboard::core::CustomerId::new("urn:li:person:abc"),
                name: None,
            },
            kind: ItemKind::Comment,
            first_item: first.clone(),
            first_text: "hi".into(),
            permalink: None,
            reply_to: first,
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
async fn replies_go_as_the_page_under_the_top_level_comment_and_our_comment_can_be_deleted() {
    let (server, client) = linkedin().await;
    let top = "urn:li:comment:(urn:li:activity:7001,9001)";
    linkedin_headers(Mock::given(method("POST")).and(path(
        "/rest/socialActions/urn%3Ali%3Acomment%3A%28urn%3Ali%3Aactivity%3A7001%2C9001%29/comments",
    )))
    .and(body_json(json!({
        "actor": ORG_URN, "object": "urn:li:activity:7001",
        "message": {"text": "Thanks for asking!"}, "parentComment": top
    })))
    .respond_with(
        ResponseTemplate::new(201)
            .insert_header("x-restli-id", "urn:li:comment:(urn:li:activity:7001,9100)"),
    )
    .expect(1)
    .mount(&server)
    .await;
    // A mention: a top-level comment on the mentioning post; the id as a bare number.
    linkedin_headers(
        Mock::given(method("POST"))
            .and(path("/rest/socialActions/urn%3Ali%3Ashare%3A8001/comments")),
    )
    .and(body_json(json!({
        "actor": ORG_URN, "object": "urn:li:share:8001", "message": {"text": "Thank you!"}
    })))
    .respond_with(ResponseTemplate::new(201).insert_header("x-restli-id", "9200"))
    .expect(1)
    .mount(&server)
    .await;
    linkedin_headers(Mock::given(method("DELETE")).and(path(
        "/rest/socialActions/urn%3Ali%3Aactivity%3A7001/comments/9100",
    )))
    .and(query_param("actor", ORG_URN))
    .respond_with(ResponseTemplate::new(204))
    .expect(1)
    .mount(&server)
    .await;
    let c = connector(client);
    let (account_id, tok, now) = call(Utc::now());
    let call = Call {
        account: &account_id,
        token: &tok,
        now,
    };
    let t = ticket();
    // Replying to a nested comment goes under its top-level comment.
    let nested = NetworkItemId::new(format!("urn:li:comment:(urn:li:activity:7001,9002)|{top}"));
    let id = c
        .reply(call, &t, &nested, "Thanks for asking!")
        .await
        .expect("replied");
    assert_eq!(
        id.as_str(),
        format!("urn:li:comment:(urn:li:activity:7001,9100)|{top}")
    );
    let id2 = c
        .reply(
            call,
            &t,
            &NetworkItemId::new("urn:li:share:8001"),
            "Thank you!",
        )
        .await
        .expect("replied");
    assert_eq!(id2.as_str(), "urn:li:comment:(urn:li:share:8001,9200)");
    c.moderate(call, &t, switchboard::core::Moderation::DeleteReply, &id)
        .await
        .expect("deleted");
    // The raw request carried the encoded actor.
    let deletes: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method == wiremock::http::Method::DELETE)
        .map(raw)
        .collect();
    assert_eq!(
        deletes,
        [
            "/rest/socialActions/urn%3Ali%3Aactivity%3A7001/comments/9100?actor=urn%3Ali%3Aorganization%3A5515715"
        ]
    );
    // Hide is not LinkedIn's.
    assert_eq!(
        c.moderate(call, &t, switchboard::core::Moderation::Hide, &id)
            .await,
        Err(ConnectorError::Permanent(FailureReason::NotSupported))
    );
    assert!(
        CommentUrn::parse("urn:li:comment:(urn:li:activity:7001,9100)").is_some(),
        "ids stay readable"
    );
    token_never_in_urls(&server).await;
}

#[tokio::test]
async fn a_lost_reply_is_found_among_the_threads_comments_and_errors_read_plainly() {
    let (server, client) = linkedin().await;
    let now = Utc::now();
    let at = now.timestamp_millis();
    linkedin_headers(Mock::given(method("GET")).and(path(
        "/rest/socialActions/urn%3Ali%3Acomment%3A%28urn%3Ali%3Aactivity%3A7001%2C9001%29/comments",
    )))
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "elements": [
            comment("9100", ORG_URN, "Thanks!", at, Some("9001")),
            comment("9101", "urn:li:person:abc", "Thanks!", at, Some("9001")),
            comment("9102", ORG_URN, "Other words", at, Some("9001")),
        ],
        "paging": {"start": 0, "count": 100, "total": 3}
    })))
    .mount(&server)
    .await;
    linkedin_headers(
        Mock::given(method("POST"))
            .and(path("/rest/socialActions/urn%3Ali%3Ashare%3A8001/comments")),
    )
    .respond_with(ResponseTemplate::new(403).set_body_json(json!({
        "status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
        "message": "Not enough permissions to access: partnerApiSocialActions.CREATE.20261101"
    })))
    .mount(&server)
    .await;
    linkedin_headers(Mock::given(method("DELETE")))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "status": 401, "serviceErrorCode": 65600, "code": "INVALID_ACCESS_TOKEN",
            "message": "Invalid access token"
        })))
        .mount(&server)
        .await;
    let c = connector(client);
    let account_id = AccountId::new(ORG);
    let tok = token();
    let call = Call {
        account: &account_id,
        token: &tok,
        now,
    };
    let (found, _) = c
        .find_reply(
            call,
            &ticket(),
            &NetworkItemId::new("urn:li:comment:(urn:li:activity:7001,9001)"),
            "Thanks!",
            now - chrono::Duration::minutes(1),
        )
        .await
        .expect("looked");
    assert_eq!(
        found.iter().map(|i| i.as_str()).collect::<Vec<_>>(),
        ["urn:li:comment:(urn:li:activity:7001,9100)|urn:li:comment:(urn:li:activity:7001,9001)"]
    );
    let t = ticket();
    assert_eq!(
        c.reply(call, &t, &NetworkItemId::new("urn:li:share:8001"), "x")
            .await,
        Err(ConnectorError::Permanent(FailureReason::PermissionDenied))
    );
    assert_eq!(
        c.moderate(
            call,
            &t,
            switchboard::core::Moderation::DeleteReply,
            &NetworkItemId::new("urn:li:comment:(urn:li:activity:7001,9100)")
        )
        .await,
        Err(ConnectorError::Unauthorized)
    );
    assert!(matches!(
        c.reply(call, &t, &NetworkItemId::new("not/a/urn"), "x")
            .await,
        Err(ConnectorError::Permanent(FailureReason::Other(_)))
    ));
}

// ---- Webhooks -----------------------------------------------------------------------------------

#[test]
fn webhook_challenge_and_both_signature_forms_with_tampering_refused() {
    let body = br#"{"type":"ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS","notifications":[]}"#;
    let now = Utc::now();
    let headers = |sig: &str| {
        let mut h = axum::http::HeaderMap::new();
        h.insert("x-li-signature", sig.parse().expect("header"));
        h
    };
    // The §9 vector, prefixed form (the default).
    let prefixed =
        LinkedinWebhooks::new(SecretString::from(CLIENT_SECRET), SignatureForm::Prefixed);
    let vector = "402cf9cdc626c0ebaf382709c0e3f3c720807c24074c439a734f7e72dd1ec03a";
    assert!(prefixed.verify(&headers(vector), body, now).is_ok());
    assert!(
        prefixed
            .verify(&headers(&format!("hmacsha256={vector}")), body, now)
            .is_ok()
    );
    let mut tampered = body.to_vec();
    tampered[10] ^= 1;
    assert_eq!(
        prefixed
            .verify(&headers(vector), &tampered, now)
            .unwrap_err()
            .status,
        401
    );
    assert!(
        prefixed
            .verify(&axum::http::HeaderMap::new(), body, now)
            .is_err()
    );
    assert!(prefixed.verify(&headers("zz-not-hex"), body, now).is_err());
    // The plain form: HMAC over the body alone; the prefixed vector does not pass it.
    let plain = LinkedinWebhooks::new(SecretString::from(CLIENT_SECRET), SignatureForm::Plain);
    let sig = switchboard::networks::linkedin::webhook::signature(
        CLIENT_SECRET,
        SignatureForm::Plain,
        body,
    )
    .expect("sig");
    assert!(plain.verify(&headers(&sig), body, now).is_ok());
    assert!(plain.verify(&headers(vector), body, now).is_err());
    assert!(prefixed.verify(&headers(&sig), body, now).is_err());
    assert!(plain.verify(&headers(&sig), &tampered, now).is_err());
    // The challenge (§9 vector).
    let q = HashMap::from([(
        "challengeCode".to_string(),
        "890e4665-4dfe-4ab1-b689-ed553bceeed0".to_string(),
    )]);
    let answer = prefixed.handshake(&q).expect("answered");
    assert_eq!(answer.content_type, "application/json");
    let v: Value = serde_json::from_str(&answer.body).expect("json");
    assert_eq!(
        v,
        json!({"challengeCode": "890e4665-4dfe-4ab1-b689-ed553bceeed0",
               "challengeResponse": "2f02d4233a0396d6b4632fc7be62fd3ab68183421f688efcda0c1fcb2615273e"})
    );
    // A delivery with decorated notifications becomes envelopes; our own does not.
    let delivery = json!({
        "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
        "notifications": [
            {"notificationId": 77, "action": "COMMENT", "organizationalEntity": ORG_URN,
             "sourcePost": "urn:li:share:7001", "lastModifiedAt": 1780000000000i64,
             "generatedActivity": "urn:li:comment:(urn:li:activity:7001,9301)",
             "decoratedGeneratedActivity": {"comment": {"owner": "urn:li:person:abc", "text": "Pushed!"}}},
            {"notificationId": 78, "action": "ADMIN_COMMENT", "organizationalEntity": ORG_URN,
             "generatedActivity": "urn:li:comment:(urn:li:activity:7001,9302)"}
        ]
    });
    let batch = prefixed
        .parse(delivery.to_string().as_bytes())
        .expect("parsed");
    assert_eq!(batch.envelopes.len(), 1);
    assert_eq!(item(&batch.envelopes[0]).text, "Pushed!");
    assert_eq!(batch.ignored.len(), 1);
}

/// A comment LinkedIn refuses (403) or answers unreadably stops the poll at that
/// notification: what came before is kept, nothing after it is read, and it is read again
/// (not dropped) once LinkedIn answers.
#[tokio::test]
async fn a_refused_or_unreadable_comment_stops_the_poll_there_and_is_read_again() {
    let (server, client) = linkedin().await;
    let now = Utc::now();
    let at = now.timestamp_millis() - 60_000;
    linkedin_headers(
        Mock::given(method("GET")).and(path("/rest/organizationalEntityNotifications")),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "elements": [
            notification(20, "COMMENT", "urn:li:comment:(urn:li:activity:7001,9200)", at),
            notification(21, "COMMENT", "urn:li:comment:(urn:li:activity:7001,9201)", at + 1),
            notification(22, "COMMENT", "urn:li:comment:(urn:li:activity:7001,9202)", at + 2),
        ],
        "paging": {"start": 0, "count": 100, "total": 3}
    })))
    .mount(&server)
    .await;
    mount_comment(
        &server,
        "urn:li:activity:7001",
        comment("9200", "urn:li:person:a", "first", at, None),
    )
    .await;
    let c9201 = "/rest/socialActions/urn%3Ali%3Aactivity%3A7001/comments/9201";
    // First refused, then unreadable, then readable.
    linkedin_headers(Mock::given(method("GET")).and(path(c9201)))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
            "message": "Not enough permissions to access: partnerApiSocialActions.GET.20261101"
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    linkedin_headers(Mock::given(method("GET")).and(path(c9201)))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>upstream hiccup</html>"))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    linkedin_headers(Mock::given(method("GET")).and(path(c9201)))
        .respond_with(ResponseTemplate::new(200).set_body_json(comment(
            "9201",
            "urn:li:person:b",
            "second",
            at + 1,
            None,
        )))
        .with_priority(3)
        .mount(&server)
        .await;
    mount_comment(
        &server,
        "urn:li:activity:7001",
        comment("9202", "urn:li:person:c", "third", at + 2, None),
    )
    .await;
    let c = connector(client);
    let keys = |b: &switchboard::networks::PollBatch| -> Vec<String> {
        b.envelopes.iter().map(|e| e.dedupe_key.clone()).collect()
    };
    // 403: the first is kept, the window stays, nothing past the refused one is read.
    let first = c
        .poll(&account(None), &token(), None, now)
        .await
        .expect("partial batch");
    assert_eq!(
        keys(&first),
        ["linkedin:comment:urn:li:comment:(urn:li:activity:7001,9200)"]
    );
    let stored: LinkedinCursor = serde_json::from_str(&first.cursor).expect("cursor");
    assert!(stored.has_seen("20") && !stored.has_seen("21") && !stored.has_seen("22"));
    assert!(stored.window_start() <= at + 1, "{stored:?}");
    let requests = server.received_requests().await.unwrap();
    assert!(
        !requests
            .iter()
            .any(|r| r.url.path().ends_with("/comments/9202")),
        "read past the refused comment"
    );
    // Unreadable, with nothing read before it this time: the poll fails, the cursor stays.
    let later = now + chrono::Duration::minutes(1);
    match c
        .poll(&account(None), &token(), Some(&first.cursor), later)
        .await
    {
        Err(ConnectorError::Permanent(FailureReason::Other(why))) => {
            assert!(why.contains("unexpected LinkedIn"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    // LinkedIn answers: both are read, the window moves on.
    let last = now + chrono::Duration::minutes(2);
    let batch = c
        .poll(&account(None), &token(), Some(&first.cursor), last)
        .await
        .expect("poll");
    assert_eq!(
        keys(&batch),
        [
            "linkedin:comment:urn:li:comment:(urn:li:activity:7001,9201)",
            "linkedin:comment:urn:li:comment:(urn:li:activity:7001,9202)"
        ]
    );
    let stored: LinkedinCursor = serde_json::from_str(&batch.cursor).expect("cursor");
    assert_eq!(stored.since_ms, last.timestamp_millis());
}

/// A fake `organizationalEntityNotifications` that honours `timeRange` and `start`/`count`
/// over a fixed backlog, oldest first, as LinkedIn pages a listing.
struct Backlog(Vec<Value>);

impl wiremock::Respond for Backlog {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let q: HashMap<String, String> = r.url.query_pairs().into_owned().collect();
        let range = q.get("timeRange").cloned().unwrap_or_default();
        let bound = |k: &str| -> i64 {
            range
                .split(['(', ')', ','])
                .find_map(|p| p.strip_prefix(k))
                .and_then(|v| v.parse().ok())
                .expect("timeRange bound")
        };
        let (from, to) = (bound("start:"), bound("end:"));
        let start: usize = q.get("start").and_then(|v| v.parse().ok()).unwrap_or(0);
        let count: usize = q.get("count").and_then(|v| v.parse().ok()).unwrap_or(10);
        let inside: Vec<&Value> = self
            .0
            .iter()
            .filter(|n| {
                let at = n["lastModifiedAt"].as_i64().unwrap_or(0);
                at >= from && at <= to
            })
            .collect();
        let page: Vec<&Value> = inside.iter().skip(start).take(count).copied().collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "elements": page,
            "paging": {"start": start, "count": count, "total": inside.len()}
        }))
    }
}

/// More notifications than one poll's pages: the next poll resumes after the last one
/// finished (never from the same start again), the remembered ids stay few, and the
/// backlog's last comment arrives.
#[tokio::test]
async fn a_backlog_past_the_page_cap_moves_on_and_forgets_what_cannot_repeat() {
    let (server, client) = linkedin().await;
    let now = Utc::now();
    let t0 = now.timestamp_millis() - 3 * 60 * 60 * 1000;
    // 1,500 notifications a second apart: our own comments, then a customer's.
    let mut backlog: Vec<Value> = (0..1499)
        .map(|i| {
            notification(
                100_000 + i,
                "ADMIN_COMMENT",
                &format!("urn:li:comment:(urn:li:activity:7001,{})", 50_000 + i),
                t0 + i * 1000,
            )
        })
        .collect();
    backlog.push(notification(
        101_499,
        "COMMENT",
        "urn:li:comment:(urn:li:activity:7001,9999)",
        t0 + 1499 * 1000,
    ));
    linkedin_headers(
        Mock::given(method("GET")).and(path("/rest/organizationalEntityNotifications")),
    )
    .respond_with(Backlog(backlog))
    .mount(&server)
    .await;
    mount_comment(
        &server,
        "urn:li:activity:7001",
        comment("9999", "urn:li:person:abc", "At last", t0 + 1_499_000, None),
    )
    .await;
    let c = connector(client);
    let first = c
        .poll(&account(None), &token(), None, now)
        .await
        .expect("poll");
    assert!(first.envelopes.is_empty());
    let stored: LinkedinCursor = serde_json::from_str(&first.cursor).expect("cursor");
    // Ten pages of 100 read: the next window starts at the 1,000th.
    assert_eq!(stored.window_start(), t0 + 999 * 1000);
    assert!(stored.seen.len() <= 1, "{}", stored.seen.len());
    let later = now + chrono::Duration::minutes(1);
    let second = c
        .poll(&account(None), &token(), Some(&first.cursor), later)
        .await
        .expect("poll");
    assert_eq!(
        second
            .envelopes
            .iter()
            .map(|e| e.dedupe_key.as_str())
            .collect::<Vec<_>>(),
        ["linkedin:comment:urn:li:comment:(urn:li:activity:7001,9999)"]
    );
    let stored: LinkedinCursor = serde_json::from_str(&second.cursor).expect("cursor");
    assert_eq!(stored.since_ms, later.timestamp_millis());
    assert_eq!(stored.resume_ms, None);
    assert!(stored.seen.len() <= 1, "{}", stored.seen.len());
}

/// A short page with LinkedIn's `rel=next` link is not the end: the poll follows the link.
#[tokio::test]
async fn a_short_page_with_a_next_link_is_followed() {
    let (server, client) = linkedin().await;
    let now = Utc::now();
    let at = now.timestamp_millis() - 60_000;
    linkedin_headers(
        Mock::given(method("GET")).and(path("/rest/organizationalEntityNotifications")),
    )
    .and(query_param("start", "0"))
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "elements": [notification(31, "ADMIN_COMMENT", "urn:li:comment:(urn:li:activity:7001,9310)", at)],
        "paging": {"start": 0, "count": 100, "links": [{
            "rel": "next", "type": "application/json",
            "href": "/rest/organizationalEntityNotifications?q=criteria&start=100&count=100"
        }]}
    })))
    .mount(&server)
    .await;
    linkedin_headers(
        Mock::given(method("GET")).and(path("/rest/organizationalEntityNotifications")),
    )
    .and(query_param("start", "100"))
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "elements": [notification(32, "COMMENT", "urn:li:comment:(urn:li:activity:7001,9311)", at + 1)],
        "paging": {"start": 100, "count": 100, "links": [{
            "rel": "prev", "type": "application/json",
            "href": "/rest/organizationalEntityNotifications?q=criteria&start=0&count=100"
        }]}
    })))
    .mount(&server)
    .await;
    mount_comment(
        &server,
        "urn:li:activity:7001",
        comment("9311", "urn:li:person:abc", "On page two", at + 1, None),
    )
    .await;
    let batch = connector(client)
        .poll(&account(None), &token(), None, now)
        .await
        .expect("poll");
    assert_eq!(batch.envelopes.len(), 1);
    assert_eq!(item(&batch.envelopes[0]).text, "On page two");
}

/// A thread's comments, oldest first, paged by `start`/`count` with `total`.
struct Thread(Vec<Value>);

impl wiremock::Respond for Thread {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let q: HashMap<String, String> = r.url.query_pairs().into_owned().collect();
        let start: usize = q.get("start").and_then(|v| v.parse().ok()).unwrap_or(0);
        let count: usize = q.get("count").and_then(|v| v.parse().ok()).unwrap_or(10);
        let page: Vec<&Value> = self.0.iter().skip(start).take(count).collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "elements": page,
            "paging": {"start": start, "count": count, "total": self.0.len()}
        }))
    }
}

/// A lost reply on a long thread is at its newest end: that is where the lookup reads.
#[tokio::test]
async fn a_lost_reply_on_a_long_thread_is_found_at_its_newest_end() {
    let (server, client) = linkedin().await;
    let now = Utc::now();
    let at = now.timestamp_millis();
    let mut thread: Vec<Value> = (0..249)
        .map(|i| {
            comment(
                &(20_000 + i).to_string(),
                "urn:li:person:abc",
                "me too",
                at - 86_400_000,
                Some("9001"),
            )
        })
        .collect();
    thread.push(comment("29999", ORG_URN, "Thanks!", at, Some("9001")));
    linkedin_headers(Mock::given(method("GET")).and(path(
        "/rest/socialActions/urn%3Ali%3Acomment%3A%28urn%3Ali%3Aactivity%3A7001%2C9001%29/comments",
    )))
    .respond_with(Thread(thread))
    .mount(&server)
    .await;
    let account_id = AccountId::new(ORG);
    let tok = token();
    let call = Call {
        account: &account_id,
        token: &tok,
        now,
    };
    let (found, calls) = connector(client)
        .find_reply(
            call,
            &ticket(),
            &NetworkItemId::new("urn:li:comment:(urn:li:activity:7001,9001)"),
            "Thanks!",
            now - chrono::Duration::minutes(1),
        )
        .await
        .expect("looked");
    assert_eq!(
        found.iter().map(|i| i.as_str()).collect::<Vec<_>>(),
        ["urn:li:comment:(urn:li:activity:7001,29999)|urn:li:comment:(urn:li:activity:7001,9001)"]
    );
    assert!(calls <= 3, "{calls}");
}
