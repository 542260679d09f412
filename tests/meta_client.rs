//! The Graph client against a wiremock fake of graph.facebook.com.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;
use switchboard::core::{FailureReason, Network, NetworkItemId};
use switchboard::networks::meta::{GraphClient, GraphError, MessageTag, SendAs, WhatsappRecipient};
use wiremock::matchers::{body_json, header, method, path};
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
        .comment(
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
        .comment(
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
        .comment(&token(), &NetworkItemId::new("1_2"), "hello")
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
        .comment(&token(), &NetworkItemId::new("1_2"), "hello")
        .await
        .expect_err("nobody listens");
    assert!(matches!(err, GraphError::Retryable { .. }), "{err:?}");
    assert!(!err.is_rate_limit());
    assert!(
        !format!("{err} {err:?}").contains(TOKEN),
        "token leaked: {err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Messenger / Instagram / WhatsApp sends and moderation.

/// The single request the fake received.
struct Seen {
    method: String,
    path: String,
    content_type: String,
    authorization: Option<String>,
    body: Vec<u8>,
}

impl Seen {
    fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// JSON and bodyless calls: the token is in `Authorization: Bearer`, not in the body.
    fn assert_bearer(&self) {
        assert_eq!(
            self.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert!(
            !String::from_utf8_lossy(&self.body).contains(TOKEN),
            "token duplicated in the body"
        );
    }

    /// Form calls: the token is the `access_token` field, no Authorization header.
    fn assert_form_token(&self) {
        assert_eq!(self.content_type, "application/x-www-form-urlencoded");
        assert_eq!(
            self.form().get("access_token").map(String::as_str),
            Some(TOKEN)
        );
        assert_eq!(self.authorization, None);
    }
}

async fn seen(server: &MockServer) -> Seen {
    let requests = server.received_requests().await.expect("recording on");
    assert_eq!(requests.len(), 1, "expected exactly one request");
    let req = &requests[0];
    assert_eq!(
        req.url.query(),
        None,
        "nothing (least of all the token) in the URL"
    );
    let get = |name: &str| {
        req.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Seen {
        method: req.method.to_string(),
        path: req.url.path().to_owned(),
        content_type: get("content-type").unwrap_or_default(),
        authorization: get("authorization"),
        body: req.body.clone(),
    }
}

/// A fake answering `status` + `body` to `verb` on `route`, expecting one call.
async fn fake(
    verb: &str,
    route: &str,
    status: u16,
    body: serde_json::Value,
) -> (MockServer, GraphClient) {
    let (server, client) = setup().await;
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    (server, client)
}

fn no_token_in(err: &GraphError) {
    assert!(
        !format!("{err} {err:?}").contains(TOKEN),
        "token leaked: {err:?}"
    );
}

const PAGE: &str = "1234567890321";
const PSID: &str = "6543210987654321";
const PHONE_ID: &str = "106540352242922";
const WAMID_IN: &str = "wamid.HBgNNDkxNTIwOTgzMzM5OBUCABIYHGDEHJVFHJEVCFHJEVBCMTkyODk1OEIyAA==";
const WAMID_OUT: &str = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3N0EzRTMyMzFDNjdCN0UwNzIA";

#[tokio::test]
async fn send_message_posts_a_response_and_returns_the_mid() {
    let (server, client) = fake(
        "POST",
        "/v21.0/1234567890321/messages",
        200,
        json!({"recipient_id": PSID, "message_id": "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P"}),
    )
    .await;
    let id = client
        .send_message(
            &token(),
            SendAs::Page(PAGE),
            PSID,
            "Your order ships tomorrow.",
            MessageTag::None,
        )
        .await
        .expect("sent");
    assert_eq!(
        id,
        NetworkItemId::new(
            "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P"
        )
    );
    let req = seen(&server).await;
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v21.0/1234567890321/messages");
    assert!(
        req.content_type.starts_with("application/json"),
        "{}",
        req.content_type
    );
    req.assert_bearer();
    assert_eq!(
        req.json(),
        json!({
            "recipient": {"id": PSID},
            "messaging_type": "RESPONSE",
            "message": {"text": "Your order ships tomorrow.", "metadata": "switchboard"}
        })
    );
}

#[tokio::test]
async fn send_message_with_human_agent_tag() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v21.0/1234567890321/messages"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(json!({
            "recipient": {"id": "1254459154682919"},
            "messaging_type": "MESSAGE_TAG",
            "tag": "HUMAN_AGENT",
            "message": {"text": "Sorry for the wait!", "metadata": "switchboard"}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"recipient_id": "1254459154682919", "message_id": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let id = client
        .send_message(
            &token(),
            SendAs::Page(PAGE),
            "1254459154682919",
            "Sorry for the wait!",
            MessageTag::HumanAgent,
        )
        .await
        .expect("sent");
    assert_eq!(
        id.as_str(),
        "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0"
    );
}

/// Instagram DMs through Facebook Login: the Page token on `/me/messages` (the Page linked to
/// the account), never `/{ig-account-id}/messages` (that edge is graph.instagram.com's, for
/// Instagram-Login tokens). developers.facebook.com/docs/messenger-platform/instagram/features/send-message
#[tokio::test]
async fn an_instagram_message_goes_to_me_messages_with_the_page_token() {
    let (server, client) = fake(
        "POST",
        "/v21.0/me/messages",
        200,
        json!({"recipient_id": "5614879045272581", "message_id": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAU"}),
    )
    .await;
    let id = client
        .send_message(
            &token(),
            SendAs::TokenPage,
            "5614879045272581",
            "Hi! It ships tomorrow.",
            MessageTag::None,
        )
        .await
        .expect("sent");
    assert_eq!(id.as_str(), "aWdfZAG1faXRlbToxOklHTWVzc2FnZAU");
    let req = seen(&server).await;
    assert_eq!(req.path, "/v21.0/me/messages");
    req.assert_bearer();
    assert_eq!(req.json()["recipient"], json!({"id": "5614879045272581"}));
}

#[tokio::test]
async fn messenger_outside_window_is_permanent() {
    let (_server, client) = fake(
        "POST",
        "/v21.0/1234567890321/messages",
        400,
        json!({"error": {
            "message": "(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview",
            "type": "OAuthException",
            "code": 10,
            "error_subcode": 2018278,
            "fbtrace_id": "HRpzdcUfUY5"
        }}),
    )
    .await;
    let err = client
        .send_message(
            &token(),
            SendAs::Page(PAGE),
            PSID,
            "hello",
            MessageTag::None,
        )
        .await
        .expect_err("window closed");
    no_token_in(&err);
    assert_eq!(err, GraphError::Permanent(FailureReason::OutsideWindow));
}

#[tokio::test]
async fn messenger_recipient_unavailable() {
    let (_server, client) = fake(
        "POST",
        "/v21.0/1234567890321/messages",
        400,
        json!({"error": {
            "message": "(#551) This person isn't available right now.",
            "type": "OAuthException",
            "code": 551,
            "error_subcode": 1545041,
            "fbtrace_id": "AvR5uy9kFtD"
        }}),
    )
    .await;
    let err = client
        .send_message(
            &token(),
            SendAs::Page(PAGE),
            PSID,
            "hello",
            MessageTag::None,
        )
        .await
        .expect_err("unavailable");
    assert_eq!(
        err,
        GraphError::Permanent(FailureReason::RecipientUnavailable)
    );
}

#[tokio::test]
async fn send_message_unexpected_success_body_is_not_retried() {
    let (_server, client) = fake(
        "POST",
        "/v21.0/1234567890321/messages",
        200,
        json!({"recipient_id": PSID}),
    )
    .await;
    let err = client
        .send_message(
            &token(),
            SendAs::Page(PAGE),
            PSID,
            "hello",
            MessageTag::None,
        )
        .await
        .expect_err("no message_id");
    assert!(
        matches!(err, GraphError::Permanent(FailureReason::Other(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn instagram_comment_reply_posts_to_replies() {
    let (server, client) = fake(
        "POST",
        "/v21.0/17870913679156914/replies",
        200,
        json!({"id": "17873440459141021"}),
    )
    .await;
    let id = client
        .reply_to_instagram_comment(
            &token(),
            &NetworkItemId::new("17870913679156914"),
            "Thank you! 💛",
        )
        .await
        .expect("replied");
    assert_eq!(id, NetworkItemId::new("17873440459141021"));
    let req = seen(&server).await;
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v21.0/17870913679156914/replies");
    req.assert_form_token();
    assert_eq!(req.form()["message"], "Thank you! 💛");
    assert_eq!(req.form().len(), 2);
}

fn whatsapp_sent() -> serde_json::Value {
    json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": "491234567890", "wa_id": "491234567890"}],
        "messages": [{"id": WAMID_OUT, "message_status": "accepted"}]
    })
}

#[tokio::test]
async fn whatsapp_text_with_context_returns_the_wamid() {
    let (server, client) = fake(
        "POST",
        "/v21.0/106540352242922/messages",
        200,
        whatsapp_sent(),
    )
    .await;
    let id = client
        .send_whatsapp_text(
            &token(),
            PHONE_ID,
            WhatsappRecipient::Phone("491234567890"),
            "Hi! Yes, we deliver on Sundays.",
            Some(WAMID_IN),
        )
        .await
        .expect("sent");
    assert_eq!(id, NetworkItemId::new(WAMID_OUT));
    let req = seen(&server).await;
    assert_eq!(req.method, "POST");
    assert!(
        req.content_type.starts_with("application/json"),
        "{}",
        req.content_type
    );
    req.assert_bearer();
    assert_eq!(
        req.json(),
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "491234567890",
            "type": "text",
            "text": {"body": "Hi! Yes, we deliver on Sundays.", "preview_url": false},
            "context": {"message_id": WAMID_IN}
        })
    );
}

#[tokio::test]
async fn whatsapp_text_without_context_omits_it() {
    let (server, client) = fake(
        "POST",
        "/v21.0/106540352242922/messages",
        200,
        whatsapp_sent(),
    )
    .await;
    client
        .send_whatsapp_text(
            &token(),
            PHONE_ID,
            WhatsappRecipient::Phone("491234567890"),
            "hello",
            None,
        )
        .await
        .expect("sent");
    let body = seen(&server).await.json();
    assert!(body.get("context").is_none(), "{body}");
    assert_eq!(body["to"], "491234567890");
}

/// A customer known only by a business-scoped user id (BSUID) is answered with `recipient`,
/// not `to` (Meta's BSUID guide: `to` takes phone numbers, `recipient` BSUIDs).
#[tokio::test]
async fn whatsapp_text_to_a_business_scoped_user_id_uses_recipient() {
    let (server, client) = fake(
        "POST",
        "/v21.0/106540352242922/messages",
        200,
        json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": "US.13491208655302741918", "user_id": "US.13491208655302741918"}],
            "messages": [{"id": WAMID_OUT}]
        }),
    )
    .await;
    let id = client
        .send_whatsapp_text(
            &token(),
            PHONE_ID,
            WhatsappRecipient::of("US.13491208655302741918"),
            "hello",
            None,
        )
        .await
        .expect("sent");
    assert_eq!(id, NetworkItemId::new(WAMID_OUT));
    let body = seen(&server).await.json();
    assert_eq!(
        body,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "recipient": "US.13491208655302741918",
            "type": "text",
            "text": {"body": "hello", "preview_url": false}
        })
    );
}

/// 131051: "Cloud API does not support the message type" becomes its own plain reason.
#[tokio::test]
async fn whatsapp_unsupported_message_type_is_a_plain_reason() {
    let err = whatsapp_fails(
        400,
        131051,
        "Unsupported message type",
        "Message type is not currently supported.",
    )
    .await;
    assert_eq!(
        err,
        GraphError::Permanent(FailureReason::UnsupportedMessageType)
    );
}

/// A WhatsApp Cloud API error as the API returns it (with `error_data.details`).
async fn whatsapp_fails(status: u16, code: i64, message: &str, details: &str) -> GraphError {
    let (_server, client) = fake(
        "POST",
        "/v21.0/106540352242922/messages",
        status,
        json!({"error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "error_subcode": 2494010,
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"
        }}),
    )
    .await;
    let err = client
        .send_whatsapp_text(
            &token(),
            PHONE_ID,
            WhatsappRecipient::Phone("491234567890"),
            "hello",
            None,
        )
        .await
        .expect_err("the fake refuses");
    no_token_in(&err);
    err
}

#[tokio::test]
async fn whatsapp_reengagement_is_outside_window() {
    let err = whatsapp_fails(
        400,
        131047,
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
    )
    .await;
    assert_eq!(err, GraphError::Permanent(FailureReason::OutsideWindow));
}

#[tokio::test]
async fn whatsapp_undeliverable_is_recipient_unavailable() {
    let err = whatsapp_fails(
        400,
        131026,
        "(#131026) Message Undeliverable.",
        "Message Undeliverable.",
    )
    .await;
    assert_eq!(
        err,
        GraphError::Permanent(FailureReason::RecipientUnavailable)
    );
}

#[tokio::test]
async fn whatsapp_throughput_is_a_retryable_rate_limit() {
    let err = whatsapp_fails(
        400,
        130429,
        "(#130429) Rate limit hit",
        "Cloud API message throughput has been reached.",
    )
    .await;
    assert!(matches!(err, GraphError::Retryable { .. }), "{err:?}");
    assert!(err.is_rate_limit());
    assert_eq!(err.failure_reason(), FailureReason::RateLimited);
}

#[tokio::test]
async fn whatsapp_pair_rate_limit_is_a_retryable_rate_limit() {
    let err = whatsapp_fails(
        400,
        131056,
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.",
    )
    .await;
    assert!(err.is_rate_limit(), "{err:?}");
}

#[tokio::test]
async fn whatsapp_other_errors_carry_the_details() {
    let err = whatsapp_fails(
        400,
        131009,
        "(#131009) Parameter value is not valid",
        "The phone number is not valid.",
    )
    .await;
    assert_eq!(
        err,
        GraphError::Permanent(FailureReason::Rejected(
            "(#131009) Parameter value is not valid: The phone number is not valid.".into()
        ))
    );
}

#[tokio::test]
async fn whatsapp_transient_error_is_retryable() {
    let err = whatsapp_fails(
        500,
        131000,
        "(#131000) Something went wrong",
        "Message failed to send due to an unknown error.",
    )
    .await;
    assert!(matches!(err, GraphError::Retryable { .. }), "{err:?}");
    assert!(!err.is_rate_limit());
}

#[tokio::test]
async fn facebook_hide_sends_is_hidden() {
    let (server, client) = fake(
        "POST",
        "/v21.0/901097836652708_903438993085259",
        200,
        json!({"success": true}),
    )
    .await;
    client
        .set_hidden(
            &token(),
            Network::Facebook,
            &NetworkItemId::new("901097836652708_903438993085259"),
            true,
        )
        .await
        .expect("hidden");
    let req = seen(&server).await;
    assert_eq!(req.method, "POST");
    req.assert_form_token();
    assert_eq!(
        req.form(),
        HashMap::from([
            ("is_hidden".to_owned(), "true".to_owned()),
            ("access_token".to_owned(), TOKEN.to_owned()),
        ])
    );
}

#[tokio::test]
async fn instagram_hide_sends_hide() {
    let (server, client) = fake(
        "POST",
        "/v21.0/17870913679156914",
        200,
        json!({"success": true}),
    )
    .await;
    client
        .set_hidden(
            &token(),
            Network::Instagram,
            &NetworkItemId::new("17870913679156914"),
            true,
        )
        .await
        .expect("hidden");
    let req = seen(&server).await;
    req.assert_form_token();
    assert_eq!(req.form()["hide"], "true");
    assert!(!req.form().contains_key("is_hidden"));
}

#[tokio::test]
async fn unhide_sends_false() {
    let (server, client) = fake(
        "POST",
        "/v21.0/17870913679156914",
        200,
        json!({"success": true}),
    )
    .await;
    client
        .set_hidden(
            &token(),
            Network::Instagram,
            &NetworkItemId::new("17870913679156914"),
            false,
        )
        .await
        .expect("unhidden");
    assert_eq!(seen(&server).await.form()["hide"], "false");
}

#[tokio::test]
async fn hide_answered_success_false_is_an_error() {
    let (_server, client) = fake("POST", "/v21.0/1_2", 200, json!({"success": false})).await;
    let err = client
        .set_hidden(
            &token(),
            Network::Facebook,
            &NetworkItemId::new("1_2"),
            true,
        )
        .await
        .expect_err("not hidden");
    assert!(
        matches!(err, GraphError::Permanent(FailureReason::Other(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn whatsapp_cannot_hide_and_makes_no_call() {
    let (server, client) = setup().await;
    let err = client
        .set_hidden(
            &token(),
            Network::Whatsapp,
            &NetworkItemId::new(WAMID_IN),
            true,
        )
        .await
        .expect_err("unsupported");
    assert!(
        matches!(err, GraphError::Permanent(FailureReason::Other(_))),
        "{err:?}"
    );
    assert!(
        server
            .received_requests()
            .await
            .expect("recording")
            .is_empty()
    );
}

#[tokio::test]
async fn delete_uses_http_delete() {
    let (server, client) = fake(
        "DELETE",
        "/v21.0/901097836652708_903438993085259",
        200,
        json!({"success": true}),
    )
    .await;
    client
        .delete(
            &token(),
            &NetworkItemId::new("901097836652708_903438993085259"),
        )
        .await
        .expect("deleted");
    let req = seen(&server).await;
    assert_eq!(req.method, "DELETE");
    assert_eq!(req.path, "/v21.0/901097836652708_903438993085259");
    req.assert_bearer();
    assert!(req.body.is_empty());
}

#[tokio::test]
async fn delete_of_a_gone_comment_is_item_deleted() {
    let (_server, client) = fake(
        "DELETE",
        "/v21.0/1_2",
        400,
        graph_error(
            100,
            Some(33),
            "Unsupported delete request. Object with ID '1_2' does not exist, cannot be loaded \
             due to missing permissions, or does not support this operation.",
        ),
    )
    .await;
    let err = client
        .delete(&token(), &NetworkItemId::new("1_2"))
        .await
        .expect_err("gone");
    no_token_in(&err);
    assert_eq!(err, GraphError::Permanent(FailureReason::ItemDeleted));
}

#[tokio::test]
async fn like_posts_to_likes() {
    let (server, client) = fake(
        "POST",
        "/v21.0/1234567890321_7293787835232/likes",
        200,
        json!({"success": true}),
    )
    .await;
    client
        .like(&token(), &NetworkItemId::new("1234567890321_7293787835232"))
        .await
        .expect("liked");
    let req = seen(&server).await;
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v21.0/1234567890321_7293787835232/likes");
    req.assert_form_token();
    assert_eq!(req.form().len(), 1, "only the token");
}

#[tokio::test]
async fn block_posts_the_user_field_and_accepts_the_id_map() {
    let (server, client) = fake(
        "POST",
        "/v21.0/1234567890321/blocked",
        200,
        json!({PSID: true}),
    )
    .await;
    client.block(&token(), PAGE, PSID).await.expect("blocked");
    let req = seen(&server).await;
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v21.0/1234567890321/blocked");
    req.assert_form_token();
    assert_eq!(
        req.form(),
        HashMap::from([
            ("user".to_owned(), PSID.to_owned()),
            ("access_token".to_owned(), TOKEN.to_owned()),
        ])
    );
}

#[tokio::test]
async fn block_accepts_success_true() {
    let (_server, client) = fake(
        "POST",
        "/v21.0/1234567890321/blocked",
        200,
        json!({"success": true}),
    )
    .await;
    client.block(&token(), PAGE, PSID).await.expect("blocked");
}

#[tokio::test]
async fn block_refused_for_another_user_is_an_error() {
    let (_server, client) = fake(
        "POST",
        "/v21.0/1234567890321/blocked",
        200,
        json!({PSID: false}),
    )
    .await;
    let err = client
        .block(&token(), PAGE, PSID)
        .await
        .expect_err("not blocked");
    assert!(
        matches!(err, GraphError::Permanent(FailureReason::Other(_))),
        "{err:?}"
    );
}
