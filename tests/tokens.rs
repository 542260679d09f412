//! Access tokens from sealed credentials: refreshed before expiry against a fake Google token
//! endpoint, stored (sealed, never plaintext) before use, one refresh at a time, and a dead
//! refresh token reported as such.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use switchboard::core::{AccountId, Network, Surface};
use switchboard::crypto::SecretKey;
use switchboard::networks::{TokenError, TokenSource};
use switchboard::oauth::{ProviderConfig, TokenSet};
use switchboard::store::{ConnectedAccount, DynStore, NewAccount};
use switchboard::workers::tokens::{OAuthTokens, open, seal};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn key() -> SecretKey {
    SecretKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").expect("32 bytes")
}

fn tokens(access: &str, expires_in: i64) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(access.to_string()),
        refresh_token: Some(SecretString::from("1//refresh-secret".to_string())),
        expires_at: Utc::now() + Duration::seconds(expires_in),
        scope: vec!["https://www.googleapis.com/auth/youtube.force-ssl".into()],
    }
}

async fn world(set: &TokenSet) -> (DynStore, ConnectedAccount, MockServer, OAuthTokens) {
    let store = switchboard::store::connect("sqlite::memory:")
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let account = store
        .connect_account(
            &NewAccount {
                network: Network::Youtube,
                account_id: AccountId::new("UC1"),
                name: "Acme".into(),
                surface: Surface::Slack,
                channel: "C1".into(),
                credentials: seal(&key(), Network::Youtube, "UC1", set),
                connected_by: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let google = MockServer::start().await;
    let mut provider = ProviderConfig::google(
        "client-1",
        SecretString::from("client-secret".to_string()),
        vec![],
    );
    provider.token_url = format!("{}/token", google.uri()).parse().unwrap();
    let source = OAuthTokens::new(
        store.clone(),
        key(),
        reqwest::Client::new(),
        HashMap::from([(Network::Youtube, provider)]),
    );
    (store, account, google, source)
}

#[tokio::test]
async fn a_fresh_token_is_used_as_stored_and_nothing_is_plaintext() {
    let (store, account, google, source) = world(&tokens("ya29.fresh", 3_600)).await;
    let got = source.access_token(&account, false).await.unwrap();
    assert_eq!(got.expose_secret(), "ya29.fresh");
    assert!(google.received_requests().await.unwrap().is_empty());
    let stored = store.account(account.id).await.unwrap().unwrap();
    let blob = String::from_utf8_lossy(&stored.credentials);
    assert!(!blob.contains("ya29.fresh") && !blob.contains("refresh-secret"));
    // Bound to its account: the blob does not open as another account's.
    let mut other = stored.clone();
    other.account_id = AccountId::new("UC2");
    assert!(matches!(open(&key(), &other), Err(TokenError::Dead(_))));
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_stored_then_used() {
    let (store, account, google, source) = world(&tokens("ya29.old", 60)).await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ya29.new", "expires_in": 3599, "token_type": "Bearer",
            "scope": "https://www.googleapis.com/auth/youtube.force-ssl"
        })))
        .expect(1)
        .mount(&google)
        .await;
    let got = source.access_token(&account, false).await.unwrap();
    assert_eq!(got.expose_secret(), "ya29.new");
    let stored = store.account(account.id).await.unwrap().unwrap();
    assert_eq!(stored.credentials_version, 2);
    let reopened = open(&key(), &stored).unwrap();
    assert_eq!(reopened.access_token.expose_secret(), "ya29.new");
    // Google does not rotate: the old refresh token is kept.
    assert_eq!(
        reopened.refresh_token.unwrap().expose_secret(),
        "1//refresh-secret"
    );
    // Now fresh: no second refresh (the mock expects exactly one call).
    let again = source.access_token(&stored, false).await.unwrap();
    assert_eq!(again.expose_secret(), "ya29.new");
}

#[tokio::test]
async fn a_dead_refresh_token_says_so_and_a_held_lock_waits() {
    let (store, account, google, source) = world(&tokens("ya29.old", 3_600)).await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "Token has been expired or revoked."
        })))
        .mount(&google)
        .await;
    // Refused by the network: forced refresh, and Google says the grant is dead.
    match source.access_token(&account, true).await {
        Err(TokenError::Dead(why)) => {
            assert!(why.contains("invalid_grant"), "{why}");
            assert!(!why.contains("refresh-secret"));
        }
        other => panic!("{other:?}"),
    }
    // The failed attempt keeps the refresh lock until its lease runs out: nobody refreshes
    // in parallel meanwhile, not even this process.
    let locked = store
        .claim_refresh(account.id, Utc::now(), Duration::seconds(60))
        .await
        .unwrap();
    assert!(locked.is_none(), "the lock is held");
    let calls = google.received_requests().await.unwrap().len();
    assert!(matches!(
        source.access_token(&account, true).await,
        Err(TokenError::Transient(_))
    ));
    assert_eq!(google.received_requests().await.unwrap().len(), calls);
}
