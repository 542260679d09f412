//! The token endpoint (code exchange, refresh) and revocation: form-encoded POSTs with the
//! client credentials in the body (`client_secret_post`, as Google documents) or in a Basic
//! `Authorization` header (`client_secret_basic`, which X requires of confidential clients),
//! as the provider's [`ClientAuth`] says.
//!
//! The caller's `reqwest::Client` carries the deadlines (`http.timeout_secs`); these calls
//! add none and retry nothing: a [`OAuthError::Transient`] is for the caller to retry.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, HeaderMap, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::{ClientAuth, Dialect, OAuthError, ProviderConfig, TokenSet};

/// Which grant a token request is: they classify 4xx differently.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grant {
    /// A refused code (reused, expired, wrong verifier) is the user's to retry: `Invalid`.
    Code,
    /// A refused refresh token is final: `Dead` (§11.1 rule 5: any 4xx, not only
    /// `invalid_grant`, since providers signal it differently).
    Refresh,
}

/// Exchange the callback's `code` (with the PKCE `verifier` from the state) for tokens.
/// `redirect_uri` must be the one sent in the authorization URL, byte for byte.
pub async fn exchange_code(
    http: &reqwest::Client,
    cfg: &ProviderConfig,
    redirect_uri: &Url,
    code: &str,
    verifier: &SecretString,
) -> Result<TokenSet, OAuthError> {
    if let Dialect::TiktokBusiness { .. } = cfg.dialect {
        return super::tiktok::exchange_code(http, cfg, redirect_uri, code).await;
    }
    let pkce = [("code_verifier", verifier.expose_secret())];
    let form = with_client(
        cfg,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri.as_str()),
        ],
        if cfg.dialect.pkce() { &pkce } else { &[] },
    );
    let secrets = [code, verifier.expose_secret()];
    let body = token_request(http, cfg, &form, &secrets, Grant::Code).await?;
    // RFC 6749 §5.1: no `scope` in the answer means the requested scopes were granted.
    token_set(&body, Some(&cfg.scopes))
}

/// A new access token for `refresh_token`. The result's `refresh_token` is `None` unless the
/// provider rotated it: store `old.refreshed(new)` ([`TokenSet::refreshed`]), not `new`.
pub async fn refresh(
    http: &reqwest::Client,
    cfg: &ProviderConfig,
    refresh_token: &SecretString,
) -> Result<TokenSet, OAuthError> {
    if let Dialect::TiktokBusiness { refresh_url } = &cfg.dialect {
        return super::tiktok::refresh(http, cfg, refresh_url, refresh_token).await;
    }
    let form = with_client(
        cfg,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ],
        &[],
    );
    let secrets = [refresh_token.expose_secret()];
    let body = token_request(http, cfg, &form, &secrets, Grant::Refresh).await?;
    token_set(&body, None)
}

/// What [`revoke`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    /// The provider answered 400: the token was already expired or revoked. Done, too.
    AlreadyInvalid,
    /// The provider has no revocation endpoint (`revoke_url` is `None`); nothing was sent.
    Unsupported,
}

/// Revoke an access or refresh token (for Google, revoking either revokes the grant). The
/// token travels in the form body, never in the URL.
pub async fn revoke(
    http: &reqwest::Client,
    cfg: &ProviderConfig,
    token: &SecretString,
) -> Result<Revocation, OAuthError> {
    if let Dialect::TiktokBusiness { .. } = cfg.dialect {
        return super::tiktok::revoke(http, cfg, token).await;
    }
    let Some(url) = cfg.revoke_url.clone() else {
        return Ok(Revocation::Unsupported);
    };
    let response = authenticated(http.post(url), cfg)
        .header(ACCEPT, "application/json")
        .form(&[("token", token.expose_secret())])
        .send()
        .await
        .map_err(|e| transport("revocation request", e))?;
    let status = response.status();
    let retry_after = retry_after(response.headers());
    if status.is_success() {
        return Ok(Revocation::Revoked);
    }
    if status == StatusCode::BAD_REQUEST {
        tracing::debug!("revocation answered 400: the token was already invalid");
        return Ok(Revocation::AlreadyInvalid);
    }
    if let Some(e) = transient_status(status, retry_after) {
        return Err(e);
    }
    let body = response.bytes().await.unwrap_or_default();
    let secrets = [token.expose_secret(), cfg.client_secret.expose_secret()];
    Err(OAuthError::Invalid(format!(
        "the revocation endpoint answered {status}: {}",
        provider_error(&body, &secrets)
    )))
}

/// POST the form; the parsed JSON object of a 2xx answer, or the classified failure.
async fn token_request(
    http: &reqwest::Client,
    cfg: &ProviderConfig,
    form: &[(&str, &str)],
    sent_secrets: &[&str],
    grant: Grant,
) -> Result<serde_json::Map<String, Value>, OAuthError> {
    let response = authenticated(http.post(cfg.token_url.clone()), cfg)
        .header(ACCEPT, "application/json")
        .form(form)
        .send()
        .await
        .map_err(|e| transport("token request", e))?;
    let status = response.status();
    let retry_after = retry_after(response.headers());
    if let Some(e) = transient_status(status, retry_after) {
        return Err(e);
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| transport("reading the token response", e))?;
    let mut secrets = sent_secrets.to_vec();
    secrets.push(cfg.client_secret.expose_secret());
    let refused = |what: String| match grant {
        Grant::Refresh => OAuthError::Dead {
            provider_error: what,
        },
        Grant::Code => OAuthError::Invalid(format!("the token endpoint refused the code: {what}")),
    };
    // Our own client being refused (a wrong or rotated client secret) says nothing about the
    // user's grant: fixing the configuration must not require every account to reconnect.
    if status == reqwest::StatusCode::REQUEST_TIMEOUT
        || (matches!(grant, Grant::Refresh)
            && serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
                .is_some_and(|e| e == "invalid_client" || e == "unauthorized_client"))
    {
        return Err(OAuthError::Transient {
            reason: format!(
                "the token endpoint refused our OAuth client ({status}): check the provider's client_id and client secret in the configuration"
            ),
            retry_after,
        });
    }
    if status.is_client_error() {
        return Err(refused(format!(
            "{status}, {}",
            provider_error(&body, &secrets)
        )));
    }
    if !status.is_success() {
        return Err(OAuthError::Invalid(format!(
            "the token endpoint answered {status}"
        )));
    }
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&body) else {
        return Err(OAuthError::Invalid(
            "the token response is not a JSON object".into(),
        ));
    };
    // Some providers answer 200 with an error object.
    if !object.contains_key("access_token") && object.contains_key("error") {
        return Err(refused(provider_error(&body, &secrets)));
    }
    Ok(object)
}

/// The token set in a token endpoint's JSON answer. `default_scope` is used when the answer
/// has no `scope` (a refresh answer without one keeps the old scopes in `refreshed`).
fn token_set(
    body: &serde_json::Map<String, Value>,
    default_scope: Option<&[String]>,
) -> Result<TokenSet, OAuthError> {
    let missing = |field: &str| OAuthError::Invalid(format!("the token response has no {field}"));
    let access_token = match body.get("access_token") {
        Some(Value::String(s)) if !s.is_empty() => SecretString::from(s.as_str()),
        _ => return Err(missing("access_token")),
    };
    match body.get("token_type") {
        None => {}
        Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => {}
        Some(_) => {
            return Err(OAuthError::Invalid(
                "the token response's token_type is not Bearer".into(),
            ));
        }
    }
    let expires_in = match body.get("expires_in") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .filter(|s| *s > 0)
    .ok_or_else(|| missing("positive expires_in"))?;
    let refresh_token = match body.get("refresh_token") {
        Some(Value::String(s)) if !s.is_empty() => Some(SecretString::from(s.as_str())),
        None | Some(Value::Null) => None,
        Some(_) => {
            return Err(OAuthError::Invalid(
                "the token response's refresh_token is not a string".into(),
            ));
        }
    };
    let scope = match body.get("scope") {
        // RFC 6749 says space-separated; LinkedIn documents a comma-separated list (§11.4.4).
        Some(Value::String(s)) => s
            .split(|c: char| c.is_whitespace() || c == ',')
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

/// The form of a token request: `fields`, the client's credentials when they travel in the
/// body, then `after`.
fn with_client<'a>(
    cfg: &'a ProviderConfig,
    fields: &[(&'a str, &'a str)],
    after: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = fields.to_vec();
    if cfg.client_auth == ClientAuth::RequestBody {
        form.push(("client_id", cfg.client_id.as_str()));
        form.push(("client_secret", cfg.client_secret.expose_secret()));
    }
    form.extend_from_slice(after);
    form
}

/// `request` with the client's Basic credentials when the provider takes them so: id and
/// secret each form-urlencoded, joined by `:`, base64 (RFC 6749 §2.3.1). The header is marked
/// sensitive (kept out of debug output).
fn authenticated(
    request: reqwest::RequestBuilder,
    cfg: &ProviderConfig,
) -> reqwest::RequestBuilder {
    if cfg.client_auth != ClientAuth::Basic {
        return request;
    }
    use base64::Engine;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = zeroize::Zeroizing::new(format!(
        "{}:{}",
        enc(&cfg.client_id),
        enc(cfg.client_secret.expose_secret())
    ));
    let value = zeroize::Zeroizing::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
    ));
    match reqwest::header::HeaderValue::from_str(&value) {
        Ok(mut header) => {
            header.set_sensitive(true);
            request.header(reqwest::header::AUTHORIZATION, header)
        }
        // Base64 is always a valid header value; nothing is sent without credentials anyway.
        Err(_) => request,
    }
}

/// 5xx and 429 are worth retrying; everything else is an answer.
pub(super) fn transient_status(
    status: StatusCode,
    retry_after: Option<Duration>,
) -> Option<OAuthError> {
    (status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS).then(|| {
        OAuthError::Transient {
            reason: format!("the provider answered {status}"),
            retry_after,
        }
    })
}

/// A failed send or read: the network's fault, so retryable. The URL is stripped (ours carry
/// no secret, but a configured URL might carry credentials).
pub(super) fn transport(what: &str, e: reqwest::Error) -> OAuthError {
    let e = e.without_url();
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    OAuthError::Transient {
        reason: format!("{what} {kind}: {e}"),
        retry_after: None,
    }
}

/// `error: error_description` of an OAuth error body (RFC 6749 §5.2), or a short note that
/// there was none. Whatever we sent is scrubbed out, in case a provider echoes it.
fn provider_error(body: &[u8], sent_secrets: &[&str]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(v) => {
            let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
            match (field("error"), field("error_description")) {
                (Some(e), Some(d)) => format!("{e}: {d}"),
                (Some(e), None) => e,
                _ => "no OAuth error in the response".into(),
            }
        }
        Err(_) => "no OAuth error in the response".into(),
    };
    let mut text: String = text.chars().take(300).collect();
    for s in sent_secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(s, "[redacted]");
    }
    text
}

/// `Retry-After` in seconds (the HTTP-date form is not used by these endpoints).
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<TokenSet, OAuthError> {
        let Value::Object(o) = serde_json::from_str(json).unwrap() else {
            panic!("object")
        };
        token_set(&o, Some(&["s1".to_string()]))
    }

    #[test]
    fn token_responses_are_checked_field_by_field_without_echoing_values() {
        let t =
            parse(r#"{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}"#).unwrap();
        assert_eq!(t.scope, ["s1"], "no scope: the requested ones");
        assert!(t.refresh_token.is_none());
        let left = t.expires_at - Utc::now();
        assert!(left <= TimeDelta::seconds(3599) && left > TimeDelta::seconds(3500));

        for (json, needle) in [
            (r#"{"expires_in":3599}"#, "no access_token"),
            (r#"{"access_token":"ya29.x"}"#, "expires_in"),
            (
                r#"{"access_token":"ya29.x","expires_in":"ya29.y"}"#,
                "expires_in",
            ),
            (
                r#"{"access_token":"ya29.x","expires_in":1,"token_type":"mac"}"#,
                "token_type",
            ),
            (
                r#"{"access_token":"ya29.x","expires_in":1,"refresh_token":7}"#,
                "refresh_token",
            ),
        ] {
            let err = parse(json).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(needle), "{shown}");
            assert!(!shown.contains("ya29"), "{shown}");
        }
    }

    #[test]
    fn provider_errors_are_scrubbed_of_what_was_sent() {
        let body = br#"{"error":"invalid_grant","error_description":"bad token 1//secret-rt"}"#;
        assert_eq!(
            provider_error(body, &["1//secret-rt"]),
            "invalid_grant: bad token [redacted]"
        );
        assert_eq!(
            provider_error(b"<html>oops</html>", &[]),
            "no OAuth error in the response"
        );
    }
}
