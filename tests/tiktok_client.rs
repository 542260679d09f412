//! TikTok API for Business against wiremock fakes speaking its formats (network-apis.md §6,
//! §11.5): the account-holder token calls (JSON bodies, the `{code,message,data}` envelope,
//! refusals as HTTP 200), the comment endpoints with the `Access-Token` header, how each
//! answer is classified, a whole poll through the connector, and the webhook signature.

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use switchboard::core::{
    AccountId, FailureReason, Moderation, Network, NetworkChange, NetworkItemId, Surface,
};
use switchboard::networks::tiktok::webhook::{SignatureError, verify};
use switchboard::networks::tiktok::{TiktokClient, TiktokConnector, TiktokError};
use switchboard::networks::{Call, Connector, ConnectorError, PolledConnector};
use switchboard::oauth::{self, Dialect, OAuthError, ProviderConfig, Revocation, TokenSet};
use switchboard::store::ConnectedAccount;
use url::Url;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const APP_ID: &str = "7000000000000000001";
const APP_SECRET: &str = "tt-app-secret-value";
const TOKEN: &str = "act.example-access-token";
const BUSINESS: &str = "-000acme-open-id";
const VIDEO: &str = "7299000000000000001";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("http client")
}

fn token() -> SecretString {
    SecretString::from(TOKEN)
}

/// TikTok's envelope around `data`.
fn ok(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "code": 0, "message": "OK", "request_id": "2026120118000001", "data": data
    }))
}

/// A refusal: HTTP 200 with a non-zero code.
fn refused(code: i64, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "code": code, "message": message, "request_id": "2026120118000002", "data": {}
    }))
}

// ---- OAuth (flow A) ----------------------------------------------------------------------

fn provider(server: &MockServer) -> ProviderConfig {
    let mut cfg = ProviderConfig::tiktok_business(
        APP_ID,
        SecretString::from(APP_SECRET),
        vec!["user.info.basic".into(), "comment.list".into()],
    );
    let url = |p: &str| Url::parse(&format!("{}{p}", server.uri())).expect("url");
    cfg.token_url = url("/open_api/v1.3/tt_user/oauth2/token/");
    cfg.revoke_url = Some(url("/open_api/v1.3/tt_user/oauth2/revoke/"));
    cfg.dialect = Dialect::TiktokBusiness {
        refresh_url: url("/open_api/v1.3/tt_user/oauth2/refresh_token/"),
    };
    cfg
}

fn redirect() -> Url {
    Url::parse("https://social.example.org/oauth/tiktok/callback").expect("url")
}

/// The JSON body of the only request the fake got; its URL carried no query.
async fn only_json(server: &MockServer) -> Value {
    let requests: Vec<Request> = server.received_requests().await.expect("recording");
    assert_eq!(requests.len(), 1, "{requests:?}");
    let r = &requests[0];
    assert_eq!(r.url.query(), None, "nothing travels in the URL");
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    serde_json::from_slice(&r.body).expect("a JSON body")
}

fn assert_no_secret(err: &OAuthError) {
    let shown = format!("{err} {err:?}");
    for secret in [APP_SECRET, "rft.", "act."] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[tokio::test]
async fn the_code_exchange_posts_json_with_auth_code_and_opens_the_envelope() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/open_api/v1.3/tt_user/oauth2/token/"))
        .respond_with(ok(json!({
            "access_token": "act.fresh", "token_type": "Bearer",
            "scope": "user.info.basic,video.list,comment.list,comment.list.manage",
            "expires_in": 86400, "refresh_token": "rft.fresh",
            "refresh_token_expires_in": 31536000, "open_id": BUSINESS
        })))
        .mount(&server)
        .await;
    let tokens = oauth::exchange_code(
        &http(),
        &provider(&server),
        &redirect(),
        "code-from-tiktok",
        &SecretString::from("unused-pkce-verifier"),
    )
    .await
    .expect("exchanged");
    assert_eq!(tokens.access_token.expose_secret(), "act.fresh");
    assert_eq!(
        tokens.refresh_token.as_ref().map(|t| t.expose_secret()),
        Some("rft.fresh")
    );
    assert_eq!(
        tokens.scope,
        [
            "user.info.basic",
            "video.list",
            "comment.list",
            "comment.list.manage"
        ]
    );
    let left = tokens.expires_at - Utc::now();
    assert!(left > chrono::Duration::hours(23) && left <= chrono::Duration::hours(24));
    assert_eq!(
        only_json(&server).await,
        json!({
            "client_id": APP_ID,
            "client_secret": APP_SECRET,
            "grant_type": "authorization_code",
            "auth_code": "code-from-tiktok",
            "redirect_uri": "https://social.example.org/oauth/tiktok/callback"
        })
    );
}

#[tokio::test]
async fn a_refused_code_is_invalid_and_says_tiktoks_code() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(refused(40002, "auth_code is invalid or expired"))
        .mount(&server)
        .await;
    let err = oauth::exchange_code(
        &http(),
        &provider(&server),
        &redirect(),
        "xYz-expired-code",
        &SecretString::from("v"),
    )
    .await
    .expect_err("refused");
    assert!(
        matches!(&err, OAuthError::Invalid(m) if m.contains("40002") && m.contains("auth_code is invalid")),
        "{err:?}"
    );
    assert_no_secret(&err);
}

#[tokio::test]
async fn a_refresh_goes_to_its_own_endpoint_and_keeps_the_rotated_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/open_api/v1.3/tt_user/oauth2/refresh_token/"))
        .and(body_json(json!({
            "client_id": APP_ID,
            "client_secret": APP_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": "rft.old"
        })))
        .respond_with(ok(json!({
            "access_token": "act.new", "expires_in": 86400, "open_id": BUSINESS,
            "refresh_token": "rft.rotated", "refresh_token_expires_in": 31527314,
            "scope": "user.info.basic,comment.list", "token_type": "Bearer"
        })))
        .mount(&server)
        .await;
    let old = TokenSet {
        access_token: SecretString::from("act.old"),
        refresh_token: Some(SecretString::from("rft.old")),
        expires_at: Utc::now(),
        scope: vec!["user.info.basic".into(), "comment.list".into()],
    };
    let new = oauth::refresh(&http(), &provider(&server), &SecretString::from("rft.old"))
        .await
        .expect("refreshed");
    let stored = old.refreshed(new);
    assert_eq!(stored.access_token.expose_secret(), "act.new");
    assert_eq!(
        stored.refresh_token.as_ref().map(|t| t.expose_secret()),
        Some("rft.rotated")
    );
    assert!(stored.expires_at > Utc::now() + chrono::Duration::hours(23));
}

#[tokio::test]
async fn a_refused_refresh_is_dead_but_throttling_and_outages_are_transient() {
    for (answer, dead) in [
        (
            refused(40105, "Refresh token rft.old is invalid or expired"),
            true,
        ),
        (refused(40002, "Invalid parameter"), true),
        (refused(40100, "Too many requests"), false),
        (refused(50000, "System error"), false),
        (ResponseTemplate::new(503), false),
        (
            ResponseTemplate::new(429).insert_header("retry-after", "7"),
            false,
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let err = oauth::refresh(&http(), &provider(&server), &SecretString::from("rft.old"))
            .await
            .expect_err("refused");
        if dead {
            assert!(matches!(err, OAuthError::Dead { .. }), "{err:?}");
        } else {
            assert!(matches!(err, OAuthError::Transient { .. }), "{err:?}");
        }
        assert_no_secret(&err);
    }
}

#[tokio::test]
async fn an_answer_that_is_no_envelope_is_invalid() {
    for body in [
        ResponseTemplate::new(200).set_body_string("<html>gateway</html>"),
        ResponseTemplate::new(200).set_body_json(json!({"access_token": "act.x"})),
        ok(json!({"expires_in": 86400})),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(body)
            .mount(&server)
            .await;
        let err = oauth::refresh(&http(), &provider(&server), &SecretString::from("rft.old"))
            .await
            .expect_err("unusable");
        assert!(matches!(err, OAuthError::Invalid(_)), "{err:?}");
    }
}

#[tokio::test]
async fn revoking_sends_the_access_token_in_the_json_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/open_api/v1.3/tt_user/oauth2/revoke/"))
        .respond_with(ok(json!({})))
        .mount(&server)
        .await;
    let cfg = provider(&server);
    let tokens = TokenSet {
        access_token: SecretString::from("act.live"),
        refresh_token: Some(SecretString::from("rft.live")),
        expires_at: Utc::now(),
        scope: vec![],
    };
    // TikTok revokes access tokens, not refresh tokens.
    let revocable = cfg.revocation_token(&tokens);
    assert_eq!(revocable.expose_secret(), "act.live");
    assert_eq!(
        oauth::revoke(&http(), &cfg, revocable).await,
        Ok(Revocation::Revoked)
    );
    assert_eq!(
        only_json(&server).await,
        json!({"client_id": APP_ID, "client_secret": APP_SECRET, "access_token": "act.live"})
    );
    // Already dead: done too.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(refused(
            40105,
            "Access token is incorrect or has been revoked.",
        ))
        .mount(&server)
        .await;
    assert_eq!(
        oauth::revoke(&http(), &provider(&server), revocable).await,
        Ok(Revocation::AlreadyInvalid)
    );
}

// ---- The comment API ---------------------------------------------------------------------

async fn client() -> (MockServer, TiktokClient) {
    let server = MockServer::start().await;
    let client = TiktokClient::new(http(), &format!("{}/open_api/v1.3", server.uri()), APP_ID)
        .expect("base url");
    (server, client)
}

fn access_token() -> wiremock::matchers::HeaderExactMatcher {
    header("access-token", TOKEN)
}

/// Every request carried the token in `Access-Token` only: never in a URL, never as
/// `Authorization`.
async fn token_only_in_its_header(server: &MockServer) {
    for r in server.received_requests().await.expect("recording") {
        assert!(!r.url.as_str().contains(TOKEN), "token in {}", r.url);
        assert!(r.headers.get("authorization").is_none(), "{:?}", r.headers);
    }
}

fn comment(id: &str, user: &str, text: &str, at: i64, replies: u64) -> Value {
    json!({
        "comment_id": id, "video_id": VIDEO, "user_id": format!("uid-{user}"),
        "unique_identifier": format!("+{user}"), "create_time": at, "text": text,
        "likes": 0, "replies": replies, "owner": false, "liked": false, "pinned": false,
        "status": "PUBLIC", "username": user.to_lowercase(), "display_name": user,
        "profile_image": "https://p16.tiktokcdn.example/avatar.jpeg"
    })
}

#[tokio::test]
async fn comment_pages_are_asked_for_newest_first_and_read_with_their_cursor() {
    let (server, client) = client().await;
    Mock::given(method("GET"))
        .and(path("/open_api/v1.3/business/comment/list/"))
        .and(access_token())
        .and(query_param("business_id", BUSINESS))
        .and(query_param("video_id", VIDEO))
        .and(query_param("include_replies", "true"))
        .and(query_param("status", "ALL"))
        .and(query_param("sort_field", "create_time"))
        .and(query_param("sort_order", "desc"))
        .and(query_param("max_count", "30"))
        .and(query_param("cursor", "30"))
        .respond_with(ok(json!({
            "comments": [comment("7301", "Ann", "second page", 1_780_000_000, 0)],
            "cursor": 60, "has_more": false
        })))
        .mount(&server)
        .await;
    let page = client
        .comments(&token(), BUSINESS, VIDEO, Some(30))
        .await
        .expect("a page");
    assert_eq!((page.cursor, page.has_more), (Some(60), false));
    assert_eq!(page.comments.len(), 1);
    let c = &page.comments[0];
    assert_eq!((c.id.as_str(), c.text.as_str()), ("7301", "second page"));
    assert_eq!(c.author.as_deref(), Some("+Ann"));
    token_only_in_its_header(&server).await;
}

#[tokio::test]
async fn non_zero_codes_are_mapped_to_what_the_workers_do() {
    for (answer, want) in [
        (
            refused(40100, "Too many requests. Please retry in some time."),
            TiktokError::RateLimited { retry_after: None },
        ),
        (
            refused(40105, "Access token is incorrect or has been revoked."),
            TiktokError::Unauthorized,
        ),
        (
            refused(40001, "No permission to operate this account."),
            TiktokError::Permanent(FailureReason::PermissionDenied),
        ),
        (
            refused(40002, "The comment does not exist."),
            TiktokError::Permanent(FailureReason::ItemDeleted),
        ),
        (
            refused(40002, "Text exceeds <150> characters"),
            TiktokError::Permanent(FailureReason::Other("Text exceeds <150> characters".into())),
        ),
        (
            refused(50002, "Service temporarily unavailable"),
            TiktokError::Transient { retry_after: None },
        ),
        (
            ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"),
            TiktokError::Transient { retry_after: None },
        ),
        (
            ResponseTemplate::new(429).insert_header("retry-after", "12"),
            TiktokError::RateLimited {
                retry_after: Some(Duration::from_secs(12)),
            },
        ),
    ] {
        let (server, client) = client().await;
        Mock::given(method("GET"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let got = client.comments(&token(), BUSINESS, VIDEO, None).await;
        assert_eq!(got, Err(want));
    }
}

#[tokio::test]
async fn a_stalled_call_is_transient() {
    let (server, _) = client().await;
    Mock::given(method("GET"))
        .respond_with(ok(json!({"comments": []})).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("http");
    let client =
        TiktokClient::new(quick, &format!("{}/open_api/v1.3", server.uri()), APP_ID).expect("url");
    assert_eq!(
        client.comments(&token(), BUSINESS, VIDEO, None).await,
        Err(TiktokError::Transient { retry_after: None })
    );
}

fn connected(cursor: Option<String>) -> ConnectedAccount {
    ConnectedAccount {
        id: 1,
        network: Network::Tiktok,
        account_id: AccountId::new(BUSINESS),
        name: "Acme Coffee".into(),
        surface: Surface::Slack,
        channel: "C0CARDS".into(),
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

#[tokio::test]
async fn reply_hide_unhide_and_delete_send_tiktoks_bodies_with_the_access_token() {
    let (server, client) = client().await;
    Mock::given(method("POST"))
        .and(path("/open_api/v1.3/business/comment/reply/create/"))
        .and(access_token())
        .respond_with(ok(json!({
            "comment_id": "7399", "video_id": VIDEO, "create_time": 1_780_000_100,
            "text": "Thanks!", "owner": true, "parent_comment_id": "7301"
        })))
        .mount(&server)
        .await;
    for p in ["hide", "delete"] {
        Mock::given(method("POST"))
            .and(path(format!("/open_api/v1.3/business/comment/{p}/")))
            .and(access_token())
            .respond_with(ok(json!({})))
            .mount(&server)
            .await;
    }
    let connector = TiktokConnector::new(client, 7);
    let (account, token) = (AccountId::new(BUSINESS), token());
    let ticket = sample_ticket();
    let call = Call {
        account: &account,
        token: &token,
        now: Utc::now(),
    };
    // A reply to a customer's reply goes under its thread; its id is in that thread.
    let id = connector
        .reply(
            call,
            &ticket,
            &NetworkItemId::new(format!("{VIDEO}:7301:7305")),
            "Thanks!",
        )
        .await
        .expect("replied");
    assert_eq!(id.as_str(), format!("{VIDEO}:7301:7399"));
    connector
        .moderate(
            call,
            &ticket,
            Moderation::Hide,
            &NetworkItemId::new(format!("{VIDEO}:7301")),
        )
        .await
        .expect("hidden");
    connector
        .moderate(
            call,
            &ticket,
            Moderation::Unhide,
            &NetworkItemId::new(format!("{VIDEO}:7301")),
        )
        .await
        .expect("shown");
    connector
        .moderate(call, &ticket, Moderation::DeleteReply, &id)
        .await
        .expect("deleted");
    // Offered nowhere: refused without a call.
    assert_eq!(
        connector
            .moderate(call, &ticket, Moderation::Block, &id)
            .await,
        Err(ConnectorError::Permanent(FailureReason::NotSupported))
    );
    let bodies: Vec<(String, Value)> = server
        .received_requests()
        .await
        .expect("recording")
        .into_iter()
        .map(|r| {
            (
                r.url.path().to_string(),
                serde_json::from_slice(&r.body).expect("json"),
            )
        })
        .collect();
    assert_eq!(
        bodies,
        vec![
            (
                "/open_api/v1.3/business/comment/reply/create/".into(),
                json!({"business_id": BUSINESS, "video_id": VIDEO, "comment_id": "7301", "text": "Thanks!"})
            ),
            (
                "/open_api/v1.3/business/comment/hide/".into(),
                json!({"business_id": BUSINESS, "video_id": VIDEO, "comment_id": "7301", "action": "HIDE"})
            ),
            (
                "/open_api/v1.3/business/comment/hide/".into(),
                json!({"business_id": BUSINESS, "video_id": VIDEO, "comment_id": "7301", "action": "UNHIDE"})
            ),
            (
                "/open_api/v1.3/business/comment/delete/".into(),
                json!({"business_id": BUSINESS, "comment_id": "7399"})
            ),
        ]
    );
    token_only_in_its_header(&server).await;
}

/// A reply whose answer was lost is looked for among the thread's replies before it is sent
/// again: ours, with the same text, since the first attempt.
#[tokio::test]
async fn a_reply_whose_answer_was_lost_is_found_in_its_thread() {
    let (server, client) = client().await;
    let now = Utc::now().timestamp();
    let mut ours = comment("7399", "Acme", "Thanks!", now, 0);
    ours["owner"] = json!(true);
    let mut older = comment("7390", "Acme", "Thanks!", now - 7_200, 0);
    older["owner"] = json!(true);
    Mock::given(method("GET"))
        .and(path("/open_api/v1.3/business/comment/reply/list/"))
        .and(access_token())
        .and(query_param("comment_id", "7301"))
        .respond_with(ok(json!({
            "comments": [ours, comment("7398", "Ann", "Thanks!", now, 0), older],
            "cursor": 3, "has_more": false
        })))
        .mount(&server)
        .await;
    let connector = TiktokConnector::new(client, 7);
    let (account, token) = (AccountId::new(BUSINESS), token());
    let call = Call {
        account: &account,
        token: &token,
        now: Utc::now(),
    };
    let since = Utc::now() - chrono::Duration::minutes(5);
    let found = connector
        .find_reply(
            call,
            &sample_ticket(),
            &NetworkItemId::new(format!("{VIDEO}:7301:7305")),
            "Thanks!",
            since,
        )
        .await
        .expect("looked up");
    assert_eq!(
        found,
        (vec![NetworkItemId::new(format!("{VIDEO}:7301:7399"))], 0)
    );
}

#[tokio::test]
async fn a_refused_moderation_comes_back_classified() {
    let (server, client) = client().await;
    Mock::given(method("POST"))
        .respond_with(refused(
            40105,
            "Access token is incorrect or has been revoked.",
        ))
        .mount(&server)
        .await;
    let connector = TiktokConnector::new(client, 7);
    let (account, token) = (AccountId::new(BUSINESS), token());
    let got = connector
        .moderate(
            Call {
                account: &account,
                token: &token,
                now: Utc::now(),
            },
            &sample_ticket(),
            Moderation::Hide,
            &NetworkItemId::new(format!("{VIDEO}:7301")),
        )
        .await;
    assert_eq!(got, Err(ConnectorError::Unauthorized));
}

fn sample_ticket() -> switchboard::core::Ticket {
    serde_json::from_value(json!({
        "id": 1, "version": 1,
        "state": {
            "network": "tiktok", "account": BUSINESS,
            "conversation_key": format!("tiktok:{BUSINESS}:{VIDEO}:+Ann"),
            "customer": {"id": "+Ann", "name": "Ann"}, "kind": "comment",
            "first_item": format!("{VIDEO}:7301"), "first_text": "hi", "permalink": null,
            "reply_to": format!("{VIDEO}:7301"), "status": "unread", "assignee": null,
            "tags": [], "last_replied_by": null, "last_failure": null,
            "first_item_deleted": false, "first_item_edited": false,
            "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z",
            "last_customer_at": "2026-12-01T10:00:00Z"
        }
    }))
    .expect("a ticket")
}

#[tokio::test]
async fn identify_asks_whose_token_it_is_then_the_accounts_name() {
    let (server, client) = client().await;
    Mock::given(method("POST"))
        .and(path("/open_api/v1.3/tt_user/token_info/get/"))
        .and(body_json(json!({"app_id": APP_ID, "access_token": TOKEN})))
        .respond_with(ok(json!({
            "app_id": APP_ID, "creator_id": BUSINESS,
            "scope": "user.info.basic,video.list,comment.list,comment.list.manage"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/open_api/v1.3/business/get/"))
        .and(access_token())
        .and(query_param("business_id", BUSINESS))
        .and(query_param("fields", r#"["username","display_name"]"#))
        .respond_with(ok(
            json!({"username": "acmecoffee", "display_name": "Acme <Coffee>"}),
        ))
        .mount(&server)
        .await;
    let connector = TiktokConnector::new(client, 7);
    assert_eq!(
        connector.identify(&token()).await,
        Ok(vec![(BUSINESS.to_string(), "Acme <Coffee>".to_string())])
    );
    // The token travels in token_info's JSON body (as TikTok asks), never in a URL.
    for r in server.received_requests().await.expect("recording") {
        assert!(!r.url.as_str().contains(TOKEN));
    }
}

// ---- A poll through the connector --------------------------------------------------------

fn at(offset: i64) -> i64 {
    Utc::now().timestamp() - 3_600 + offset
}

async fn mount_videos(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/open_api/v1.3/business/video/list/"))
        .and(access_token())
        .and(query_param("business_id", BUSINESS))
        .and(query_param("fields", r#"["item_id","create_time","caption","share_url"]"#))
        .respond_with(ok(json!({
            "videos": [{"item_id": VIDEO, "create_time": at(-86_400),
                        "caption": "Our new roast", "share_url": format!("https://www.tiktok.com/@acmecoffee/video/{VIDEO}")}],
            "cursor": 1_780_000_000_000i64, "has_more": false
        })))
        .mount(server)
        .await;
}

/// `business/comment/list/` answers by `cursor` (absent: the first page).
fn comment_pages(
    pages: Vec<(Option<&'static str>, Value)>,
) -> impl Fn(&Request) -> ResponseTemplate {
    move |r: &Request| {
        let cursor = r
            .url
            .query_pairs()
            .find(|(k, _)| k == "cursor")
            .map(|(_, v)| v.into_owned());
        if r.url.query_pairs().any(|(k, _)| k == "comment_ids") {
            return ok(json!({"comments": [], "has_more": false}));
        }
        pages
            .iter()
            .find(|(c, _)| c.map(str::to_owned) == cursor)
            .map(|(_, body)| ok(body.clone()))
            .unwrap_or_else(|| refused(40002, "unexpected cursor"))
    }
}

#[tokio::test]
async fn a_poll_reads_pages_and_replies_skips_our_own_and_only_moves_on_when_read_down() {
    let (server, client) = client().await;
    mount_videos(&server).await;
    let mut ours = comment("7350", "Acme", "We ship Monday", at(200), 0);
    ours["owner"] = json!(true);
    ours["parent_comment_id"] = json!("7301");
    let mut busy = comment("7301", "Ann", "Is it <b>decaf</b>?", at(100), 5);
    busy["reply_list"] = json!([ours.clone()]);
    Mock::given(method("GET"))
        .and(path("/open_api/v1.3/business/comment/list/"))
        .respond_with(comment_pages(vec![
            (
                None,
                json!({"comments": [comment("7303", "Bob", "Love it", at(300), 0), busy],
                       "cursor": 30, "has_more": true}),
            ),
            (
                Some("30"),
                json!({"comments": [comment("7300", "Cid", "first!", at(50), 0)],
                       "cursor": 60, "has_more": false}),
            ),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/open_api/v1.3/business/comment/reply/list/"))
        .and(query_param("comment_id", "7301"))
        .and(query_param("sort_order", "desc"))
        .respond_with(ok(json!({
            "comments": [comment("7360", "Ann", "thanks!", at(250), 0), ours],
            "cursor": 2, "has_more": false
        })))
        .mount(&server)
        .await;
    let connector = TiktokConnector::new(client, 7);
    let now = Utc::now();
    let batch = connector
        .poll(&connected(None), &token(), None, now)
        .await
        .expect("polled");
    let keys: Vec<&str> = batch
        .envelopes
        .iter()
        .map(|e| e.dedupe_key.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "tiktok:comment:7300",
            "tiktok:comment:7301",
            "tiktok:comment:7360",
            "tiktok:comment:7303"
        ]
    );
    let NetworkChange::New { item } = &batch.envelopes[2].change else {
        panic!("a new item");
    };
    // The customer's reply to our answer: in Ann's ticket for this video, in its thread.
    assert_eq!(item.item_id.as_str(), format!("{VIDEO}:7301:7360"));
    assert_eq!(
        item.conversation_key(),
        format!("tiktok:{BUSINESS}:{VIDEO}:+Ann")
    );
    assert_eq!(item.context.subject.as_deref(), Some("Our new roast"));
    // One video listing, two comment pages, one reply page.
    assert_eq!(batch.units, 4);

    // Polled again with nothing new: only the newest comment again (it is at the mark's own
    // second, which is read again; the inbox drops the duplicate), and no reply listing (the
    // thread's count is known now).
    let again = connector
        .poll(&connected(None), &token(), Some(&batch.cursor), now)
        .await
        .expect("polled");
    let keys: Vec<&str> = again
        .envelopes
        .iter()
        .map(|e| e.dedupe_key.as_str())
        .collect();
    assert_eq!(keys, ["tiktok:comment:7303"]);
    let reply_lists = server
        .received_requests()
        .await
        .expect("recording")
        .iter()
        .filter(|r| r.url.path().ends_with("/reply/list/"))
        .count();
    assert_eq!(reply_lists, 1);
    token_only_in_its_header(&server).await;
}

#[tokio::test]
async fn a_new_reply_under_an_old_thread_is_found_by_its_reply_count() {
    let (server, client) = client().await;
    mount_videos(&server).await;
    // First poll: two threads, no replies yet.
    let first = Mock::given(method("GET"))
        .and(path("/open_api/v1.3/business/comment/list/"))
        .respond_with(ok(json!({
            "comments": [comment("7301", "Ann", "Is it decaf?", at(100), 0),
                         comment("7300", "Cid", "first", at(50), 0)],
            "cursor": 30, "has_more": false
        })))
        .mount_as_scoped(&server)
        .await;
    let connector = TiktokConnector::new(client, 7);
    let now = Utc::now();
    let batch = connector
        .poll(&connected(None), &token(), None, now)
        .await
        .expect("polled");
    assert_eq!(batch.envelopes.len(), 2);
    drop(first);
    // Later: a newer comment on top (the page reaches the mark without showing 7301 again),
    // and the old thread 7301 has grown replies TikTok did not embed (more than three).
    Mock::given(method("GET"))
        .and(path("/open_api/v1.3/business/comment/list/"))
        .respond_with(move |r: &Request| {
            if let Some((_, ids)) = r.url.query_pairs().find(|(k, _)| k == "comment_ids") {
                assert_eq!(ids, r#"["7301"]"#);
                ok(
                    json!({"comments": [comment("7301", "Ann", "Is it decaf?", at(100), 4)],
                          "has_more": false}),
                )
            } else {
                ok(
                    json!({"comments": [comment("7310", "Bob", "new", at(400), 0),
                                       comment("7300", "Cid", "first", at(50), 0)],
                          "cursor": 30, "has_more": true}),
                )
            }
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/open_api/v1.3/business/comment/reply/list/"))
        .and(query_param("comment_id", "7301"))
        .respond_with(ok(json!({
            "comments": [comment("7320", "Ann", "and vegan?", at(350), 0),
                         comment("7319", "Dee", "same question", at(340), 0),
                         comment("7318", "Dee", "old", at(30), 0)],
            "cursor": 3, "has_more": true
        })))
        .mount(&server)
        .await;
    let later = now + chrono::Duration::minutes(5);
    let batch = connector
        .poll(&connected(None), &token(), Some(&batch.cursor), later)
        .await
        .expect("polled");
    let keys: Vec<&str> = batch
        .envelopes
        .iter()
        .map(|e| e.dedupe_key.as_str())
        .collect();
    // 7301's count was asked for by id, and its reply page reached the mark (a reply older
    // than it): one page was enough. (7301 itself is at the mark's own second: read again, a
    // duplicate the inbox drops.)
    assert_eq!(
        keys,
        [
            "tiktok:comment:7301",
            "tiktok:comment:7319",
            "tiktok:comment:7320",
            "tiktok:comment:7310"
        ]
    );
    let by_id = server
        .received_requests()
        .await
        .expect("recording")
        .iter()
        .filter(|r| r.url.query_pairs().any(|(k, _)| k == "comment_ids"))
        .count();
    assert_eq!(by_id, 1);
}

#[tokio::test]
async fn a_video_whose_comments_cannot_be_read_does_not_stop_the_poll_but_a_dead_token_does() {
    let (server, client) = client().await;
    Mock::given(method("GET"))
        .and(path("/open_api/v1.3/business/video/list/"))
        .respond_with(ok(json!({
            "videos": [{"item_id": "7001", "create_time": at(0)},
                       {"item_id": "7002", "create_time": at(-10)}],
            "has_more": false
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/open_api/v1.3/business/comment/list/"))
        .and(query_param("video_id", "7001"))
        .respond_with(refused(40002, "Video does not exist"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/open_api/v1.3/business/comment/list/"))
        .and(query_param("video_id", "7002"))
        .respond_with(ok(
            json!({"comments": [comment("7401", "Ann", "hi", at(10), 0)],
                                "has_more": false}),
        ))
        .mount(&server)
        .await;
    let connector = TiktokConnector::new(client, 7);
    let batch = connector
        .poll(&connected(None), &token(), None, Utc::now())
        .await
        .expect("polled");
    assert_eq!(batch.envelopes.len(), 1);
    let cursor: Value = serde_json::from_str(&batch.cursor).expect("json cursor");
    assert!(cursor["videos"]["7002"]["read_at"].is_string(), "{cursor}");
    assert!(cursor["videos"]["7001"]["read_at"].is_null(), "{cursor}");

    let (server, dead) = self::client().await;
    Mock::given(method("GET"))
        .respond_with(refused(
            40105,
            "Access token is incorrect or has been revoked.",
        ))
        .mount(&server)
        .await;
    let connector = TiktokConnector::new(dead, 7);
    assert_eq!(
        connector
            .poll(&connected(None), &token(), None, Utc::now())
            .await,
        Err(ConnectorError::Unauthorized)
    );
}

// ---- Webhook signature (network-apis.md §9) -----------------------------------------------

fn signed(secret: &[u8], t: i64, body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("key");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},s={}", hex::encode(mac.finalize().into_bytes()))
}

#[test]
fn the_signature_vector_and_good_tampered_and_stale_deliveries() {
    let secret: &[u8] = b"test_client_secret";
    let at = |t: i64| DateTime::from_timestamp(t, 0).expect("time");
    // §9's vector.
    let body = br#"{"event":"comment.update"}"#;
    let header = "t=1633174587,s=53c20fdbfb810f23457f40102c5addfb3ee6c75931ddd9f45b4d472772ee58d9";
    assert_eq!(signed(secret, 1_633_174_587, body), header);
    assert_eq!(
        verify(&[secret], Some(header), body, at(1_633_174_600)),
        Ok(())
    );
    // A delivery signed now.
    let now = Utc::now().timestamp();
    let body = br#"{"event":"comment.update","content":"{}"}"#;
    let good = signed(secret, now, body);
    assert_eq!(verify(&[secret], Some(&good), body, at(now)), Ok(()));
    let tampered = br#"{"event":"comment.update","content":"{ }"}"#;
    assert_eq!(
        verify(&[secret], Some(&good), tampered, at(now)),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify(&[secret], Some(&good), body, at(now + 301)),
        Err(SignatureError::Stale)
    );
    let stale = signed(secret, now - 3_600, body);
    assert_eq!(
        verify(&[secret], Some(&stale), body, at(now)),
        Err(SignatureError::Stale)
    );
}

#[tokio::test]
async fn a_comment_written_after_the_listing_is_not_skipped_for_a_newer_reply() {
    let (server, client) = client().await;
    mount_videos(&server).await;
    // The poll reads the listing at `listed`; a reply written after it is read next.
    let listed = DateTime::from_timestamp(at(300), 0).expect("valid");
    let first = Mock::given(method("GET"))
        .and(path("/open_api/v1.3/business/comment/list/"))
        .respond_with(ok(json!({
            "comments": [comment("7301", "Ann", "Is it decaf?", at(100), 1)],
            "cursor": 30, "has_more": false
        })))
        .mount_as_scoped(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/open_api/v1.3/business/comment/reply/list/"))
        .and(query_param("comment_id", "7301"))
        .respond_with(ok(json!({
            "comments": [comment("7360", "Bob", "me too", at(400), 0)],
            "cursor": 1, "has_more": false
        })))
        .mount(&server)
        .await;
    let connector = TiktokConnector::new(client, 7);
    let batch = connector
        .poll(&connected(None), &token(), None, listed)
        .await
        .expect("polled");
    assert_eq!(batch.envelopes.len(), 2);
    drop(first);
    // A top-level comment written between the listing and the reply: older than the reply.
    Mock::given(method("GET"))
        .and(path("/open_api/v1.3/business/comment/list/"))
        .respond_with(ok(json!({
            "comments": [comment("7305", "Cid", "between", at(350), 0),
                         comment("7301", "Ann", "Is it decaf?", at(100), 1)],
            "cursor": 30, "has_more": false
        })))
        .mount(&server)
        .await;
    let later = listed + chrono::Duration::minutes(5);
    let again = connector
        .poll(&connected(None), &token(), Some(&batch.cursor), later)
        .await
        .expect("polled");
    assert!(
        again
            .envelopes
            .iter()
            .any(|e| e.dedupe_key.as_str() == "tiktok:comment:7305"),
        "{:?}",
        again
            .envelopes
            .iter()
            .map(|e| &e.dedupe_key)
            .collect::<Vec<_>>()
    );
}
