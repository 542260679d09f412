//! TikTok API for Business, account-holder flow (network-apis.md §11.5, flow A): the token
//! calls speak their own dialect, so no generic OAuth 2.0 client works with them.
//!
//! - The authorization URL names the app `client_key` (not `client_id`), takes the scopes
//!   comma-separated, and has no PKCE (§11.1 rule 3).
//! - Token requests are **JSON** bodies with the client secret inside: the code exchange
//!   sends `auth_code` (not `code`), the refresh goes to its own endpoint.
//! - Every answer is wrapped: `{"code":0,"message":"OK","request_id":"…","data":{…}}`, and a
//!   refusal comes back as **HTTP 200** with a non-zero `code`.
//! - The access token lasts about a day, the refresh token about a year; the refresh answer
//!   carries a refresh token again, which may or may not be new, so it is always stored
//!   (`TokenSet::refreshed` keeps whatever came back).
//!
//! Classification follows §11.5.3: a non-zero `code` on the refresh grant is
//! [`OAuthError::Dead`] unless it is TikTok's rate limit or a server-side code (then
//! [`OAuthError::Transient`]); on the code exchange it is [`OAuthError::Invalid`]. HTTP 5xx,
//! 429, timeouts and connection failures are transient, as for every provider.

use chrono::{TimeDelta, Utc};
use reqwest::header::ACCEPT;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use super::token::{Revocation, retry_after, transient_status, transport};
use super::{OAuthError, ProviderConfig, TokenSet};

/// TikTok's code for "too many requests" (the per-app and per-account QPM limits).
pub const RATE_LIMIT_CODE: i64 = 40100;

/// Codes from this one up are TikTok's own failures (system error, service busy): retried.
pub const SERVER_ERROR_CODES_FROM: i64 = 50000;

/// Longest slice of TikTok's `message` kept in an error.
const MAX_MESSAGE_IN_ERROR: usize = 300;

/// Whether a non-zero envelope `code` is worth retrying (rate limit, TikTok's own failure).
pub fn is_transient_code(code: i64) -> bool {
    code == RATE_LIMIT_CODE || code >= SERVER_ERROR_CODES_FROM
}

/// TikTok refused a call: HTTP 200 with a non-zero `code` and its `message` (scrubbed).
struct Refused {
    code: i64,
    message: String,
}

impl Refused {
    fn describe(&self) -> String {
        format!("TikTok code {}: {}", self.code, self.message)
    }

    /// Rate limit or TikTok's own failure: try again later.
    fn transient(&self, retry_after: Option<std::time::Duration>) -> Option<OAuthError> {
        is_transient_code(self.code).then(|| OAuthError::Transient {
            reason: self.describe(),
            retry_after,
        })
    }
}

/// Where to send the account holder: `client_key`, `response_type=code`, `scope`
/// (comma-separated), `redirect_uri`, the provider's extra parameters, `state`.
pub(super) fn authorization_url(cfg: &ProviderConfig, redirect_uri: &Url, state: &str) -> Url {
    let mut url = cfg.authorize_url.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_key", &cfg.client_id)
            .append_pair("response_type", "code")
            .append_pair("scope", &cfg.scopes.join(","))
            .append_pair("redirect_uri", redirect_uri.as_str());
        for (k, v) in &cfg.extra_authorize_params {
            q.append_pair(k, v);
        }
        q.append_pair("state", state);
    }
    url
}

/// Exchange the callback's `code` (`POST …/tt_user/oauth2/token/`). `redirect_uri` must be
/// the one registered for the app, character for character.
pub(super) async fn exchange_code(
    http: &reqwest::Client,
    cfg: &ProviderConfig,
    redirect_uri: &Url,
    code: &str,
) -> Result<TokenSet, OAuthError> {
    let body = json!({
        "client_id": cfg.client_id,
        "client_secret": cfg.client_secret.expose_secret(),
        "grant_type": "authorization_code",
        "auth_code": code,
        "redirect_uri": redirect_uri.as_str(),
    });
    match envelope_request(http, cfg, cfg.token_url.clone(), &body, &[code]).await? {
        Ok(data) => token_set(&data, Some(&cfg.scopes)),
        Err((refused, retry_after)) => Err(refused.transient(retry_after).unwrap_or_else(|| {
            OAuthError::Invalid(format!(
                "the token endpoint refused the code: {}",
                refused.describe()
            ))
        })),
    }
}

/// A new token set for `refresh_token` (`POST …/tt_user/oauth2/refresh_token/`).
pub(super) async fn refresh(
    http: &reqwest::Client,
    cfg: &ProviderConfig,
    refresh_url: &Url,
    refresh_token: &SecretString,
) -> Result<TokenSet, OAuthError> {
    let body = json!({
        "client_id": cfg.client_id,
        "client_secret": cfg.client_secret.expose_secret(),
        "grant_type": "refresh_token",
        "refresh_token": refresh_token.expose_secret(),
    });
    let sent = [refresh_token.expose_secret()];
    match envelope_request(http, cfg, refresh_url.clone(), &body, &sent).await? {
        Ok(data) => token_set(&data, None),
        // Any other refusal of the refresh grant is final (§11.5.3): reconnect.
        Err((refused, retry_after)) => {
            Err(refused
                .transient(retry_after)
                .unwrap_or_else(|| OAuthError::Dead {
                    provider_error: refused.describe(),
                }))
        }
    }
}

/// Revoke an access token (`POST …/tt_user/oauth2/revoke/`, the token in the JSON body).
/// A non-zero `code` means the token was already unusable (expired, revoked): done too.
pub(super) async fn revoke(
    http: &reqwest::Client,
    cfg: &ProviderConfig,
    access_token: &SecretString,
) -> Result<Revocation, OAuthError> {
    let Some(url) = cfg.revoke_url.clone() else {
        return Ok(Revocation::Unsupported);
    };
    let body = json!({
        "client_id": cfg.client_id,
        "client_secret": cfg.client_secret.expose_secret(),
        "access_token": access_token.expose_secret(),
    });
    let sent = [access_token.expose_secret()];
    match envelope_request(http, cfg, url, &body, &sent).await? {
        Ok(_) => Ok(Revocation::Revoked),
        Err((refused, retry_after)) => match refused.transient(retry_after) {
            Some(e) => Err(e),
            None => {
                tracing::debug!(
                    code = refused.code,
                    "TikTok refused the revocation: the token was already invalid"
                );
                Ok(Revocation::AlreadyInvalid)
            }
        },
    }
}

/// What an envelope call came back with: the `data` object when `code` is 0, else TikTok's
/// refusal (with any `Retry-After`), for the caller to classify by grant.
type Answer = Result<serde_json::Map<String, Value>, (Refused, Option<std::time::Duration>)>;

/// POST `body` as JSON and open the envelope. Transport failures, 5xx and 429 are
/// [`OAuthError::Transient`], an answer that is no envelope is [`OAuthError::Invalid`].
/// Whatever secret was sent is scrubbed from TikTok's message.
async fn envelope_request(
    http: &reqwest::Client,
    cfg: &ProviderConfig,
    url: Url,
    body: &Value,
    sent_secrets: &[&str],
) -> Result<Answer, OAuthError> {
    let response = http
        .post(url)
        .header(ACCEPT, "application/json")
        .json(body)
        .send()
        .await
        .map_err(|e| transport("TikTok token request", e))?;
    let status = response.status();
    let retry_after = retry_after(response.headers());
    if let Some(e) = transient_status(status, retry_after) {
        return Err(e);
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| transport("reading TikTok's token response", e))?;
    if !status.is_success() {
        // TikTok answers refusals with 200; another status is a proxy or a gateway speaking.
        return Err(OAuthError::Invalid(format!(
            "the TikTok token endpoint answered {status}"
        )));
    }
    let Ok(Value::Object(envelope)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(OAuthError::Invalid(
            "the TikTok token response is not a JSON object".into(),
        ));
    };
    let code = match envelope.get("code") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| OAuthError::Invalid("the TikTok token response has no code".into()))?;
    if code != 0 {
        let mut secrets = sent_secrets.to_vec();
        secrets.push(cfg.client_secret.expose_secret());
        let message = scrub(
            envelope
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message"),
            &secrets,
        );
        return Ok(Err((Refused { code, message }, retry_after)));
    }
    match envelope.get("data") {
        Some(Value::Object(data)) => Ok(Ok(data.clone())),
        _ => Err(OAuthError::Invalid(
            "the TikTok token response has no data object".into(),
        )),
    }
}

/// The token set in an envelope's `data`. Flow A names `expires_in` and
/// `refresh_token_expires_in`; older answers said `expires` / `refresh_expires` (§11.5.2):
/// both are read. `scope` is comma-separated.
fn token_set(
    data: &serde_json::Map<String, Value>,
    default_scope: Option<&[String]>,
) -> Result<TokenSet, OAuthError> {
    let missing =
        |field: &str| OAuthError::Invalid(format!("the TikTok token response has no {field}"));
    let access_token = match data.get("access_token") {
        Some(Value::String(s)) if !s.is_empty() => SecretString::from(s.as_str()),
        _ => return Err(missing("access_token")),
    };
    let seconds = |v: Option<&Value>| match v {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    let expires_in = seconds(data.get("expires_in"))
        .or_else(|| seconds(data.get("expires")))
        .filter(|s| *s > 0)
        .ok_or_else(|| missing("positive expires_in"))?;
    let refresh_token = match data.get("refresh_token") {
        Some(Value::String(s)) if !s.is_empty() => Some(SecretString::from(s.as_str())),
        None | Some(Value::Null) => None,
        Some(_) => {
            return Err(OAuthError::Invalid(
                "the TikTok token response's refresh_token is not a string".into(),
            ));
        }
    };
    let scope = match data.get("scope") {
        Some(Value::String(s)) => s
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => default_scope.map(<[String]>::to_vec).unwrap_or_default(),
    };
    Ok(TokenSet {
        access_token,
        refresh_token,
        expires_at: Utc::now() + TimeDelta::seconds(expires_in),
        scope,
    })
}

/// TikTok's message, shortened, with whatever we sent replaced (in case it is echoed).
fn scrub(message: &str, sent_secrets: &[&str]) -> String {
    // Redacted before it is shortened: a secret cut at the end would no longer match.
    let mut text = message.to_string();
    for s in sent_secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(s, "[redacted]");
    }
    text.chars().take(MAX_MESSAGE_IN_ERROR).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(json: &str) -> serde_json::Map<String, Value> {
        match serde_json::from_str(json) {
            Ok(Value::Object(o)) => o,
            other => panic!("not an object: {other:?}"),
        }
    }

    #[test]
    fn flow_a_and_older_field_names_are_read() {
        let t = token_set(
            &data(
                r#"{"access_token":"act.x","expires_in":86400,"open_id":"-000abc",
                    "refresh_token":"rft.x","refresh_token_expires_in":31536000,
                    "scope":"user.info.basic,video.list,comment.list","token_type":"Bearer"}"#,
            ),
            None,
        )
        .expect("a token set");
        assert_eq!(t.scope, ["user.info.basic", "video.list", "comment.list"]);
        assert_eq!(
            t.refresh_token
                .map(|r| r.expose_secret().to_owned())
                .as_deref(),
            Some("rft.x")
        );
        let left = t.expires_at - Utc::now();
        assert!(left > TimeDelta::hours(23) && left <= TimeDelta::hours(24));

        let old = token_set(
            &data(r#"{"access_token":"act.y","expires":"86400","creator_id":"c1"}"#),
            Some(&["comment.list".to_string()]),
        )
        .expect("a token set");
        assert_eq!(old.scope, ["comment.list"], "no scope: the requested ones");
        assert!(old.refresh_token.is_none());
    }

    #[test]
    fn unusable_data_is_invalid_without_echoing_tokens() {
        for (json, needle) in [
            (r#"{"expires_in":86400}"#, "access_token"),
            (r#"{"access_token":"act.secret"}"#, "expires_in"),
            (
                r#"{"access_token":"act.secret","expires_in":0}"#,
                "expires_in",
            ),
            (
                r#"{"access_token":"act.secret","expires_in":1,"refresh_token":5}"#,
                "refresh_token",
            ),
        ] {
            let err = token_set(&data(json), None).expect_err(json);
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(needle), "{shown}");
            assert!(!shown.contains("act.secret"), "{shown}");
        }
    }

    #[test]
    fn rate_limits_and_server_codes_are_transient() {
        assert!(is_transient_code(40100));
        assert!(is_transient_code(50000));
        assert!(is_transient_code(51021));
        assert!(!is_transient_code(40105));
        assert!(!is_transient_code(40002));
    }

    #[test]
    fn the_authorization_url_names_the_client_key_and_no_pkce() {
        let cfg = ProviderConfig::tiktok_business(
            "7000000000000000001",
            SecretString::from("tt-secret"),
            vec!["user.info.basic".into(), "comment.list".into()],
        );
        let redirect = Url::parse("https://social.example.org/oauth/tiktok/callback").unwrap();
        let url = authorization_url(&cfg, &redirect, "sealed");
        assert_eq!(
            url.as_str().split('?').next(),
            Some(super::super::TIKTOK_AUTHORIZE_URL)
        );
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let want: Vec<(String, String)> = [
            ("client_key", "7000000000000000001"),
            ("response_type", "code"),
            ("scope", "user.info.basic,comment.list"),
            (
                "redirect_uri",
                "https://social.example.org/oauth/tiktok/callback",
            ),
            ("state", "sealed"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(pairs, want);
        assert!(!url.as_str().contains("tt-secret"));
    }

    #[test]
    fn echoed_secrets_are_scrubbed() {
        assert_eq!(
            scrub("refresh token rft.abcdef is invalid", &["rft.abcdef"]),
            "refresh token [redacted] is invalid"
        );
        // A secret straddling the length limit is not left half-shown.
        let secret = "rft.0123456789abcdef";
        let long = format!("{}{secret}", "x".repeat(MAX_MESSAGE_IN_ERROR - 8));
        let shown = scrub(&long, &[secret]);
        assert!(!shown.contains("rft.0123"), "{shown}");
        assert_eq!(shown.chars().count(), MAX_MESSAGE_IN_ERROR);
    }
}
