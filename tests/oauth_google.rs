//! The Google OAuth calls against a fake token and revocation endpoint (wiremock): what is
//! sent (form fields, nothing in the URL), and how each answer is classified.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use switchboard::oauth::{
    self, OAuthError, ProviderConfig, Revocation, SCOPE_BUSINESS, SCOPE_YOUTUBE, TokenSet,
};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const CLIENT_ID: &str = "1234-abc.apps.googleusercontent.com";
const CLIENT_SECRET: &str = "GOCSPX-client-secret-value";
const CODE: &str = "4/P7q7W91a-oMsCeLvIaQm6bTrgtp7";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REFRESH_TOKEN: &str = "1//0gdVh-refresh-token-value";
const ACCESS_TOKEN: &str = "ya29.a0Af-access-token-value";

fn config(server: &MockServer) -> ProviderConfig {
    let mut cfg = ProviderConfig::google(
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET),
        vec![SCOPE_YOUTUBE.into(), SCOPE_BUSINESS.into()],
    );
    cfg.token_url = Url::parse(&format!("{}/token", server.uri())).unwrap();
    cfg.revoke_url = Some(Url::parse(&format!("{}/revoke", server.uri())).unwrap());
    cfg
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn redirect() -> Url {
    Url::parse("https://social.example.org/oauth/google/callback").unwrap()
}

/// The form fields of the only request the server got, and that its URL had no query.
async fn only_form(server: &MockServer) -> Vec<(String, String)> {
    let requests: Vec<Request> = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let r = &requests[0];
    assert_eq!(r.url.query(), None, "nothing travels in the URL");
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/x-www-form-urlencoded")
    );
    url::form_urlencoded::parse(&r.body).into_owned().collect()
}

fn field<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    let mut values = form
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str());
    let first = values.next();
    assert!(values.next().is_none(), "{key} sent twice");
    first
}

/// Nothing secret in what an error shows.
fn assert_no_secret(err: &OAuthError) {
    let shown = format!("{err} / {err:?}");
    for secret in [CLIENT_SECRET, CODE, VERIFIER, REFRESH_TOKEN, ACCESS_TOKEN] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}

#[tokio::test]
async fn the_code_exchange_sends_the_documented_form_and_reads_the_grant() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": ACCESS_TOKEN,
            "expires_in": 3599,
            "refresh_token": REFRESH_TOKEN,
            // Granular consent: the user unticked Business Profile.
            "scope": SCOPE_YOUTUBE,
            "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;

    let before = chrono::Utc::now();
    let tokens = oauth::exchange_code(
        &http(),
        &config(&server),
        &redirect(),
        CODE,
        &SecretString::from(VERIFIER),
    )
    .await
    .expect("exchanged");

    let form = only_form(&server).await;
    assert_eq!(field(&form, "grant_type"), Some("authorization_code"));
    assert_eq!(field(&form, "code"), Some(CODE));
    assert_eq!(field(&form, "code_verifier"), Some(VERIFIER));
    assert_eq!(
        field(&form, "redirect_uri"),
        Some("https://social.example.org/oauth/google/callback")
    );
    assert_eq!(field(&form, "client_id"), Some(CLIENT_ID));
    assert_eq!(field(&form, "client_secret"), Some(CLIENT_SECRET));
    assert_eq!(form.len(), 6, "{form:?}");

    assert_eq!(tokens.access_token.expose_secret(), ACCESS_TOKEN);
    assert_eq!(
        tokens.refresh_token.as_ref().map(|t| t.expose_secret()),
        Some(REFRESH_TOKEN)
    );
    let lifetime = tokens.expires_at - before;
    assert!(
        lifetime >= chrono::TimeDelta::seconds(3598)
            && lifetime <= chrono::TimeDelta::seconds(3600),
        "{lifetime}"
    );
    assert_eq!(tokens.scope, [SCOPE_YOUTUBE]);
    assert!(oauth::granted(&tokens, SCOPE_YOUTUBE));
    assert!(!oauth::granted(&tokens, SCOPE_BUSINESS));
    let dbg = format!("{tokens:?}");
    assert!(
        !dbg.contains(ACCESS_TOKEN) && !dbg.contains(REFRESH_TOKEN),
        "{dbg}"
    );
}

#[tokio::test]
async fn a_refused_code_is_invalid_not_dead() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_grant", "error_description": "Bad Request"
        })))
        .mount(&server)
        .await;
    let err = oauth::exchange_code(
        &http(),
        &config(&server),
        &redirect(),
        CODE,
        &SecretString::from(VERIFIER),
    )
    .await
    .expect_err("refused");
    assert!(
        matches!(&err, OAuthError::Invalid(m) if m.contains("invalid_grant")),
        "{err:?}"
    );
    assert_no_secret(&err);
}

#[tokio::test]
async fn a_refresh_without_rotation_keeps_the_old_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "ya29.second-access-token",
            "expires_in": 3599,
            "scope": format!("{SCOPE_YOUTUBE} {SCOPE_BUSINESS}"),
            "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;

    let old = TokenSet {
        access_token: SecretString::from(ACCESS_TOKEN),
        refresh_token: Some(SecretString::from(REFRESH_TOKEN)),
        expires_at: chrono::Utc::now(),
        scope: vec![SCOPE_YOUTUBE.into()],
    };
    assert!(old.needs_refresh(chrono::Utc::now()));
    let new = oauth::refresh(
        &http(),
        &config(&server),
        old.refresh_token.as_ref().unwrap(),
    )
    .await
    .expect("refreshed");
    assert!(new.refresh_token.is_none(), "Google does not rotate");

    let form = only_form(&server).await;
    assert_eq!(field(&form, "grant_type"), Some("refresh_token"));
    assert_eq!(field(&form, "refresh_token"), Some(REFRESH_TOKEN));
    assert_eq!(field(&form, "client_id"), Some(CLIENT_ID));
    assert_eq!(field(&form, "client_secret"), Some(CLIENT_SECRET));
    assert_eq!(form.len(), 4, "{form:?}");

    let stored = old.refreshed(new);
    assert_eq!(
        stored.access_token.expose_secret(),
        "ya29.second-access-token"
    );
    assert_eq!(
        stored.refresh_token.as_ref().map(|t| t.expose_secret()),
        Some(REFRESH_TOKEN)
    );
    assert_eq!(stored.scope, [SCOPE_YOUTUBE, SCOPE_BUSINESS]);
    assert!(!stored.needs_refresh(chrono::Utc::now()));
}

#[tokio::test]
async fn a_revoked_refresh_token_is_dead() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_grant",
            "error_description": "Token has been expired or revoked."
        })))
        .mount(&server)
        .await;
    let err = oauth::refresh(
        &http(),
        &config(&server),
        &SecretString::from(REFRESH_TOKEN),
    )
    .await
    .expect_err("dead");
    match &err {
        OAuthError::Dead { provider_error } => assert!(
            provider_error.contains("invalid_grant")
                && provider_error.contains("Token has been expired or revoked."),
            "{provider_error}"
        ),
        other => panic!("expected Dead, got {other:?}"),
    }
    assert_no_secret(&err);
}

#[tokio::test]
async fn any_client_error_on_refresh_is_dead_even_when_the_provider_echoes_the_token() {
    // §11.1 rule 5: not only invalid_grant (X says invalid_request). This one also echoes
    // the token back, which must not reach the error.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_request",
            "error_description": format!("Value passed for the token was invalid: {REFRESH_TOKEN}")
        })))
        .mount(&server)
        .await;
    let err = oauth::refresh(
        &http(),
        &config(&server),
        &SecretString::from(REFRESH_TOKEN),
    )
    .await
    .expect_err("dead");
    assert!(matches!(&err, OAuthError::Dead { .. }), "{err:?}");
    assert_no_secret(&err);
}

#[tokio::test]
async fn unavailable_and_throttled_are_transient() {
    for (status, retry_after) in [(503, None), (500, None), (429, Some(30))] {
        let server = MockServer::start().await;
        let mut response = ResponseTemplate::new(status)
            .set_body_string(format!("<html>error for {REFRESH_TOKEN}</html>"));
        if let Some(s) = retry_after {
            response = response.insert_header("retry-after", s.to_string().as_str());
        }
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(response)
            .mount(&server)
            .await;
        let err = oauth::refresh(
            &http(),
            &config(&server),
            &SecretString::from(REFRESH_TOKEN),
        )
        .await
        .expect_err("transient");
        match &err {
            OAuthError::Transient {
                retry_after: after, ..
            } => assert_eq!(*after, retry_after.map(Duration::from_secs), "{status}"),
            other => panic!("{status}: expected Transient, got {other:?}"),
        }
        assert_no_secret(&err);
    }
}

#[tokio::test]
async fn a_timeout_or_a_closed_port_is_transient() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = oauth::refresh(&quick, &config(&server), &SecretString::from(REFRESH_TOKEN))
        .await
        .expect_err("timeout");
    assert!(
        matches!(&err, OAuthError::Transient { reason, .. } if reason.contains("timed out")),
        "{err:?}"
    );
    assert_no_secret(&err);

    let mut cfg = config(&server);
    cfg.token_url = Url::parse("http://127.0.0.1:9/token").unwrap();
    let err = oauth::refresh(&http(), &cfg, &SecretString::from(REFRESH_TOKEN))
        .await
        .expect_err("closed port");
    assert!(matches!(&err, OAuthError::Transient { .. }), "{err:?}");
    assert_no_secret(&err);
}

#[tokio::test]
async fn an_unusable_success_is_invalid() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "expires_in": 3599, "refresh_token": REFRESH_TOKEN
        })))
        .mount(&server)
        .await;
    let err = oauth::exchange_code(
        &http(),
        &config(&server),
        &redirect(),
        CODE,
        &SecretString::from(VERIFIER),
    )
    .await
    .expect_err("no access token");
    assert!(
        matches!(&err, OAuthError::Invalid(m) if m.contains("access_token")),
        "{err:?}"
    );
    assert_no_secret(&err);
}

#[tokio::test]
async fn revoke_sends_the_token_in_the_form_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let done = oauth::revoke(
        &http(),
        &config(&server),
        &SecretString::from(REFRESH_TOKEN),
    )
    .await
    .expect("revoked");
    assert_eq!(done, Revocation::Revoked);
    let form = only_form(&server).await;
    assert_eq!(form, [("token".to_string(), REFRESH_TOKEN.to_string())]);
}

#[tokio::test]
async fn revoking_an_already_dead_token_is_done_and_outages_are_transient() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_token", "error_description": "Token expired or revoked"
        })))
        .mount(&server)
        .await;
    let done = oauth::revoke(
        &http(),
        &config(&server),
        &SecretString::from(REFRESH_TOKEN),
    )
    .await
    .expect("already dead counts as done");
    assert_eq!(done, Revocation::AlreadyInvalid);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let err = oauth::revoke(
        &http(),
        &config(&server),
        &SecretString::from(REFRESH_TOKEN),
    )
    .await
    .expect_err("outage");
    assert!(matches!(&err, OAuthError::Transient { .. }), "{err:?}");
    assert_no_secret(&err);

    let mut cfg = config(&server);
    cfg.revoke_url = None;
    let done = oauth::revoke(&http(), &cfg, &SecretString::from(REFRESH_TOKEN))
        .await
        .expect("nothing to do");
    assert_eq!(done, Revocation::Unsupported);
}
