//! The Graph client against a wiremock fake of graph.facebook.com.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;
use switchboard::core::{FailureReason, NetworkItemId};
use switchboard::networks::meta::{GraphClient, GraphError};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "EAAB-page-token-do-not-log";

async fn setup() -> (MockServer, GraphClient) {
    let server = MockServer::start().await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("http client");
    let client = GraphClient::new(&format!("{}/v21.0", server.uri()), http).expect("base url");
    (server, client)
}

fn token() -> SecretString {
    SecretString::from(TOKEN)
}

fn graph_error(code: i64, subcode: Option<i64>, message: &str) -> serde_json::Value {
    json!({"error": {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "error_subcode": subcode,
        "fbtrace_id": "AbCdEfGh123"
    }})
}

/// The single request the fake received, as (path, content type, form fields).
async fn only_request(server: &MockServer) -> (String, String, HashMap<String, String>) {
    let requests = server.received_requests().await.expect("recording on");
    assert_eq!(requests.len(), 1, "expected exactly one request");
    let req = &requests[0];
    let content_type = req
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let form = url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect::<HashMap<_, _>>();
    assert_eq!(
        req.url.query(),
        None,
        "nothing (least of all the token) in the URL"
    );
    (req.url.path().to_owned(), content_type, form)
}

#[tokio::test]
async fn reply_to_comment_posts_the_form_and_returns_the_new_id() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v21.0/901097836652708_903438993085259/comments"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "901097836652708_903438993085999"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let text = "Hi Maria — yes, size M & L are back in stock!";
    let id = client
        .reply_to_comment(
            &token(),
            &NetworkItemId::new("901097836652708_903438993085259"),
            text,
        )
        .await
        .expect("reply delivered");
    assert_eq!(id, NetworkItemId::new("901097836652708_903438993085999"));

    let (path, content_type, form) = only_request(&server).await;
    assert_eq!(path, "/v21.0/901097836652708_903438993085259/comments");
    assert_eq!(content_type, "application/x-www-form-urlencoded");
    assert_eq!(
        form,
        HashMap::from([
            ("message".to_owned(), text.to_owned()),
            ("access_token".to_owned(), TOKEN.to_owned()),
        ])
    );
}

#[tokio::test]
async fn comment_on_a_visitor_post_hits_the_post_edge() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v21.0/1234567890321_7293787835232/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "7293787835232_555"})))
        .expect(1)
        .mount(&server)
        .await;

    let id = client
        .comment_on_post(
            &token(),
            &NetworkItemId::new("1234567890321_7293787835232"),
            "Thanks John, we're on it.",
        )
        .await
        .expect("comment delivered");
    assert_eq!(id, NetworkItemId::new("7293787835232_555"));
    let (path, _, form) = only_request(&server).await;
    assert_eq!(path, "/v21.0/1234567890321_7293787835232/comments");
    assert_eq!(form["message"], "Thanks John, we're on it.");
}

async fn reply_with(status: u16, body: serde_json::Value, retry_after: Option<&str>) -> GraphError {
    let (server, client) = setup().await;
    let mut response = ResponseTemplate::new(status).set_body_json(body);
    if let Some(secs) = retry_after {
        response = response.insert_header("Retry-After", secs);
    }
    Mock::given(method("POST"))
        .and(path("/v21.0/1_2/comments"))
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .reply_to_comment(&token(), &NetworkItemId::new("1_2"), "hello")
        .await
        .expect_err("the fake refuses");
    assert!(
        !format!("{err} {err:?}").contains(TOKEN),
        "token leaked: {err:?}"
    );
    err
}

#[tokio::test]
async fn expired_token_is_permanent() {
    let err = reply_with(
        400,
        graph_error(
            190,
            Some(463),
            "Error validating access token: Session has expired on Friday, 20-Nov-26.",
        ),
        None,
    )
    .await;
    assert_eq!(err, GraphError::Permanent(FailureReason::TokenExpired));
    assert!(!err.is_rate_limit());
}

#[tokio::test]
async fn server_error_is_retryable() {
    let err = reply_with(
        500,
        json!({"error": {"message": "An unknown error has occurred.", "type": "OAuthException",
                         "code": 1, "fbtrace_id": "AbC"}}),
        None,
    )
    .await;
    assert!(
        matches!(err, GraphError::Retryable { after: None, .. }),
        "{err:?}"
    );
    assert!(!err.is_rate_limit());
}

#[tokio::test]
async fn throttling_is_retryable_and_flagged_with_retry_after() {
    let err = reply_with(
        400,
        graph_error(4, None, "(#4) Application request limit reached"),
        Some("120"),
    )
    .await;
    match &err {
        GraphError::Retryable { after, detail } => {
            assert_eq!(*after, Some(Duration::from_secs(120)));
            assert!(
                detail.contains("Application request limit reached"),
                "{detail}"
            );
        }
        other => panic!("expected Retryable, got {other:?}"),
    }
    assert!(err.is_rate_limit());
    assert_eq!(err.failure_reason(), FailureReason::RateLimited);
}

#[tokio::test]
async fn deleted_comment_is_item_deleted() {
    let err = reply_with(
        400,
        graph_error(
            100,
            Some(33),
            "Unsupported post request. Object with ID '1_2' does not exist, cannot be loaded due \
             to missing permissions, or does not support this operation.",
        ),
        None,
    )
    .await;
    assert_eq!(err, GraphError::Permanent(FailureReason::ItemDeleted));
}

#[tokio::test]
async fn connection_failure_is_retryable() {
    // A port that was free a moment ago: nothing listens there. (A dropped wiremock server goes
    // back to wiremock's pool and keeps answering, so it cannot be used for this.)
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let client = GraphClient::new(
        &format!("http://127.0.0.1:{port}/v21.0"),
        reqwest::Client::new(),
    )
    .expect("base url");
    let err = client
        .reply_to_comment(&token(), &NetworkItemId::new("1_2"), "hello")
        .await
        .expect_err("nobody listens");
    assert!(matches!(err, GraphError::Retryable { .. }), "{err:?}");
    assert!(!err.is_rate_limit());
    assert!(
        !format!("{err} {err:?}").contains(TOKEN),
        "token leaked: {err:?}"
    );
}
