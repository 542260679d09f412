//! OAuth 2.0 authorization-code flow (with PKCE) for connected social accounts: the
//! authorization URL, the sealed `state`, code exchange, refresh and revocation.
//! Library code only: storing token sets and the HTTP callback route live elsewhere.
//!
//! Rules every caller relies on (network-apis.md §11.1):
//! - Nothing secret (token, code, verifier, client secret) ever appears in an error's
//!   `Display`/`Debug` or in a log line: requests are form bodies, reqwest errors are stripped
//!   of their URL, and a provider's error text is scrubbed of what we sent.
//! - A refused refresh is [`OAuthError::Dead`] (reconnect required; alert once), a timeout,
//!   5xx or 429 is [`OAuthError::Transient`] (retry later), anything else unexpected is
//!   [`OAuthError::Invalid`].
//! - Persist a refreshed [`TokenSet`] (see [`TokenSet::refreshed`]) before using its access
//!   token, and refresh one account at a time: providers that rotate refresh tokens break the
//!   chain when two refreshes race.
//! - The `reqwest::Client` passed in should not follow redirects
//!   (`redirect::Policy::none()`): a 307/308 from a token endpoint would resend the form, client
//!   secret included, to wherever it points. Its timeouts are the calls' deadlines.
//!
//! Why not the `oauth2` crate: 5.0 resolves cleanly here (reqwest 0.12 with
//! `default-features = false`, no aws-lc, no crate we did not already have), but its
//! `RequestTokenError` drops the HTTP status, and classifying refresh failures needs it (any
//! 4xx on the refresh grant is terminal, 429 and 5xx are not), as does treating a 400 from the
//! revocation endpoint as done. The protocol part is small: PKCE is a SHA-256 and the calls
//! are three form POSTs, made with our own reqwest client (its timeouts included).

mod choice;
mod pkce;
mod state;
pub mod tiktok;
mod token;

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

pub use choice::{
    CHOICE_AAD, CHOICE_LIFETIME_SECS, ChoiceClaims, MAX_CHOICE_LEN, open_choice, seal_choice,
};
pub use pkce::{Pkce, VERIFIER_BYTES, challenge_s256};
pub use state::{
    MAX_STATE_LEN, STATE_AAD, STATE_LIFETIME_SECS, StateClaims, StateError, open_state, seal_state,
};
pub use token::{Revocation, exchange_code, refresh, revoke};

/// Google's authorization endpoint (§11.2.1).
pub const GOOGLE_AUTHORIZE_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
/// Google's token endpoint: code exchange and refresh.
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Google's revocation endpoint (the token goes in the form body).
pub const GOOGLE_REVOKE_URL: &str = "https://oauth2.googleapis.com/revoke";
/// The only scope covering every YouTube comment method (list, reply, moderate) (§11.2.2).
/// The provider name of Google's OAuth client (`/oauth/google/callback`).
pub const GOOGLE: &str = "google";
pub const SCOPE_YOUTUBE: &str = "https://www.googleapis.com/auth/youtube.force-ssl";
/// Google Business Profile: accounts, locations, reviews and replies.
pub const SCOPE_BUSINESS: &str = "https://www.googleapis.com/auth/business.manage";

/// The provider name of X's OAuth 2.0 client (`/oauth/x/callback`).
pub const X: &str = "x";
/// X's authorization endpoint (§11.3.1: the x.com one, not the API host's).
pub const X_AUTHORIZE_URL: &str = "https://x.com/i/oauth2/authorize";
/// X's token endpoint: code exchange and refresh.
pub const X_TOKEN_URL: &str = "https://api.x.com/2/oauth2/token";
/// X's revocation endpoint.
pub const X_REVOKE_URL: &str = "https://api.x.com/2/oauth2/revoke";

/// TikTok account holders' authorization page (§11.5, flow A; the app's own URL is shown in
/// TikTok's developer portal).
pub const TIKTOK_AUTHORIZE_URL: &str = "https://www.tiktok.com/v2/auth/authorize";
/// TikTok API for Business: the account holder's code exchange.
pub const TIKTOK_TOKEN_URL: &str =
    "https://business-api.tiktok.com/open_api/v1.3/tt_user/oauth2/token/";
/// TikTok API for Business: refreshing the account holder's access token.
pub const TIKTOK_REFRESH_URL: &str =
    "https://business-api.tiktok.com/open_api/v1.3/tt_user/oauth2/refresh_token/";
/// TikTok API for Business: revoking the account holder's access token.
pub const TIKTOK_REVOKE_URL: &str =
    "https://business-api.tiktok.com/open_api/v1.3/tt_user/oauth2/revoke/";
/// The provider name of TikTok's OAuth client (`/oauth/tiktok/callback`).
pub const TIKTOK: &str = "tiktok";

/// The provider name of LinkedIn's OAuth client (`/oauth/linkedin/callback`).
pub const LINKEDIN: &str = "linkedin";
/// LinkedIn's authorization page (§11.4.1).
pub const LINKEDIN_AUTHORIZE_URL: &str = "https://www.linkedin.com/oauth/v2/authorization";
/// LinkedIn's token endpoint: code exchange and refresh (form bodies, client secret in the
/// body).
pub const LINKEDIN_TOKEN_URL: &str = "https://www.linkedin.com/oauth/v2/accessToken";
/// LinkedIn's revocation endpoint (§11.4.1: community code only, [S]).
pub const LINKEDIN_REVOKE_URL: &str = "https://www.linkedin.com/oauth/v2/revoke";

/// Refresh an access token this long before it expires, in seconds (a call started just
/// before expiry must not reach the provider just after).
pub const REFRESH_MARGIN_SECS: i64 = 5 * 60;

/// How our client proves who it is to the token and revocation endpoints (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body (`client_secret_post`; Google).
    #[default]
    RequestBody,
    /// `Authorization: Basic base64(client_id:client_secret)`, each form-urlencoded first,
    /// and neither in the body (`client_secret_basic`; X's confidential clients must).
    Basic,
}

/// How a provider's endpoints speak OAuth.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Dialect {
    /// RFC 6749 with PKCE: form-encoded token requests, JSON answers, errors as 4xx.
    #[default]
    Standard,
    /// TikTok API for Business, account holders (§11.5 flow A): `client_key` on the
    /// authorization URL, no PKCE, JSON token requests with `auth_code`, answers in a
    /// `{"code","message","data"}` envelope with refusals as HTTP 200, and refresh at its own
    /// endpoint.
    TiktokBusiness { refresh_url: Url },
    /// LinkedIn (§11.4): standard form-encoded token calls with the secret in the body, but
    /// no PKCE (LinkedIn offers it to native apps only; a web app's authorization request
    /// carries no `code_challenge` and its exchange no `code_verifier`), answers without
    /// `token_type`, and `scope` comma-separated.
    Linkedin,
}

impl Dialect {
    /// Whether the provider takes a PKCE challenge and verifier.
    pub fn pkce(&self) -> bool {
        matches!(self, Dialect::Standard)
    }
}

/// One provider's OAuth client. Every URL can be replaced (a proxy, a test fake).
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// How its endpoints speak (Google's is standard).
    pub dialect: Dialect,
    pub authorize_url: Url,
    pub token_url: Url,
    /// `None`: the provider cannot revoke; [`revoke`] does nothing.
    pub revoke_url: Option<Url>,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Requested scopes (sent space-separated).
    pub scopes: Vec<String>,
    /// Sent on the authorization URL after the standard parameters.
    pub extra_authorize_params: Vec<(String, String)>,
    /// How the client secret travels to the token and revocation endpoints.
    pub client_auth: ClientAuth,
}

impl ProviderConfig {
    /// Google (YouTube and Business Profile share one client), with §11.2.3's parameters:
    /// `access_type=offline` (a refresh token), `prompt=consent` (a refresh token on every
    /// reconnect, too; so send users here only on an explicit connect), and
    /// `include_granted_scopes=true` (connecting Business keeps YouTube's grant).
    pub fn google(
        client_id: impl Into<String>,
        client_secret: SecretString,
        scopes: Vec<String>,
    ) -> Self {
        let url = |u: &str| Url::parse(u).expect("constant URL");
        Self {
            dialect: Dialect::Standard,
            authorize_url: url(GOOGLE_AUTHORIZE_URL),
            token_url: url(GOOGLE_TOKEN_URL),
            revoke_url: Some(url(GOOGLE_REVOKE_URL)),
            client_id: client_id.into(),
            client_secret,
            scopes,
            extra_authorize_params: [
                ("access_type", "offline"),
                ("prompt", "consent"),
                ("include_granted_scopes", "true"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            client_auth: ClientAuth::RequestBody,
        }
    }

    /// X's OAuth 2.0 client (§11.3): a confidential client, so its secret goes in a Basic
    /// `Authorization` header; a refresh token only with the `offline.access` scope, and it
    /// rotates on every refresh (keep the new one: [`TokenSet::refreshed`]).
    pub fn x(
        client_id: impl Into<String>,
        client_secret: SecretString,
        scopes: Vec<String>,
    ) -> Self {
        let url = |u: &str| Url::parse(u).expect("constant URL");
        Self {
            dialect: Dialect::Standard,
            authorize_url: url(X_AUTHORIZE_URL),
            token_url: url(X_TOKEN_URL),
            revoke_url: Some(url(X_REVOKE_URL)),
            client_id: client_id.into(),
            client_secret,
            scopes,
            extra_authorize_params: Vec::new(),
            client_auth: ClientAuth::Basic,
        }
    }
}

impl ProviderConfig {
    /// LinkedIn's 3-legged OAuth for Community Management (§11.4): client id and secret in
    /// the form body, no PKCE; a refresh token only for apps LinkedIn enabled for
    /// programmatic refresh (and then the same one back on each refresh).
    pub fn linkedin(
        client_id: impl Into<String>,
        client_secret: SecretString,
        scopes: Vec<String>,
    ) -> Self {
        let url = |u: &str| Url::parse(u).expect("constant URL");
        Self {
            dialect: Dialect::Linkedin,
            authorize_url: url(LINKEDIN_AUTHORIZE_URL),
            token_url: url(LINKEDIN_TOKEN_URL),
            revoke_url: Some(url(LINKEDIN_REVOKE_URL)),
            client_id: client_id.into(),
            client_secret,
            scopes,
            extra_authorize_params: Vec::new(),
            client_auth: ClientAuth::RequestBody,
        }
    }

    /// TikTok API for Business for account holders (§11.5 flow A), at TikTok's URLs.
    pub fn tiktok_business(
        client_key: impl Into<String>,
        client_secret: SecretString,
        scopes: Vec<String>,
    ) -> Self {
        let url = |u: &str| Url::parse(u).expect("constant URL");
        Self {
            dialect: Dialect::TiktokBusiness {
                refresh_url: url(TIKTOK_REFRESH_URL),
            },
            authorize_url: url(TIKTOK_AUTHORIZE_URL),
            token_url: url(TIKTOK_TOKEN_URL),
            revoke_url: Some(url(TIKTOK_REVOKE_URL)),
            client_id: client_key.into(),
            client_secret,
            scopes,
            extra_authorize_params: Vec::new(),
            // The dialect sends the secret in its JSON bodies.
            client_auth: ClientAuth::RequestBody,
        }
    }

    /// The token [`revoke`] takes to end a grant: the refresh token where there is one
    /// (Google: revoking it revokes every token of the grant), else the access token. TikTok
    /// revokes access tokens only.
    pub fn revocation_token<'a>(&self, tokens: &'a TokenSet) -> &'a SecretString {
        match self.dialect {
            Dialect::Standard | Dialect::Linkedin => tokens
                .refresh_token
                .as_ref()
                .unwrap_or(&tokens.access_token),
            Dialect::TiktokBusiness { .. } => &tokens.access_token,
        }
    }
}

/// Where to send the user: `client_id`, `redirect_uri`, `response_type=code`, `scope`, the
/// provider's extra parameters, `state`, `code_challenge`, `code_challenge_method=S256`
/// (TikTok's dialect: see `tiktok::authorization_url`; it takes no PKCE challenge).
pub fn authorization_url(
    cfg: &ProviderConfig,
    redirect_uri: &Url,
    state: &str,
    pkce_challenge: &str,
) -> Url {
    if let Dialect::TiktokBusiness { .. } = cfg.dialect {
        return tiktok::authorization_url(cfg, redirect_uri, state);
    }
    let mut url = cfg.authorize_url.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", &cfg.client_id)
            .append_pair("redirect_uri", redirect_uri.as_str())
            .append_pair("response_type", "code")
            .append_pair("scope", &cfg.scopes.join(" "));
        for (k, v) in &cfg.extra_authorize_params {
            q.append_pair(k, v);
        }
        q.append_pair("state", state);
        if cfg.dialect.pkce() {
            q.append_pair("code_challenge", pkce_challenge)
                .append_pair("code_challenge_method", "S256");
        }
    }
    url
}

/// What a token endpoint granted. Serializable (secrets included) so it can be sealed with
/// [`crate::crypto::SecretKey::seal`]; never store the serialized form unsealed. `Debug`
/// redacts the tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenSet {
    #[serde(serialize_with = "expose")]
    pub access_token: SecretString,
    #[serde(serialize_with = "expose_opt")]
    pub refresh_token: Option<SecretString>,
    pub expires_at: DateTime<Utc>,
    /// The scopes actually granted (users can deselect some on Google's consent screen).
    pub scope: Vec<String>,
}

fn expose<S: serde::Serializer>(s: &SecretString, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.expose_secret())
}

fn expose_opt<S: serde::Serializer>(s: &Option<SecretString>, ser: S) -> Result<S::Ok, S::Error> {
    match s {
        Some(s) => ser.serialize_some(s.expose_secret()),
        None => ser.serialize_none(),
    }
}

impl TokenSet {
    /// The set to store after a refresh: the new one, keeping the old refresh token when the
    /// provider sent none (Google does not rotate; X does) and the old scopes when it did not
    /// repeat them.
    pub fn refreshed(self, new: TokenSet) -> TokenSet {
        TokenSet {
            access_token: new.access_token,
            refresh_token: new.refresh_token.or(self.refresh_token),
            expires_at: new.expires_at,
            scope: if new.scope.is_empty() {
                self.scope
            } else {
                new.scope
            },
        }
    }

    /// The access token expires within [`REFRESH_MARGIN_SECS`] of `now` (or already has).
    pub fn needs_refresh(&self, now: DateTime<Utc>) -> bool {
        now + TimeDelta::seconds(REFRESH_MARGIN_SECS) >= self.expires_at
    }
}

/// The user granted `needed_scope` (granular consent: Google lets users untick scopes).
pub fn granted(tokens: &TokenSet, needed_scope: &str) -> bool {
    tokens.scope.iter().any(|s| s == needed_scope)
}

/// Failures of the token calls. No variant carries a token, code or secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OAuthError {
    /// The provider refused the refresh token (revoked, expired, unused too long…): the
    /// account must be reconnected. Mark it unhealthy, stop refreshing, alert once.
    #[error("the provider refused the refresh token ({provider_error}); reconnect the account")]
    Dead { provider_error: String },
    /// Timeout, connection failure, 5xx or 429: try again later (after `retry_after` if set).
    #[error("the provider is unavailable: {reason}")]
    Transient {
        reason: String,
        retry_after: Option<std::time::Duration>,
    },
    /// A response we cannot use (refused code, missing field, wrong token type, scope not
    /// granted).
    #[error("unusable OAuth response: {0}")]
    Invalid(String),
}

/// [`granted`], or the [`OAuthError::Invalid`] to show the user who unticked the scope.
pub fn require_scope(tokens: &TokenSet, needed_scope: &str) -> Result<(), OAuthError> {
    if granted(tokens, needed_scope) {
        Ok(())
    } else {
        Err(OAuthError::Invalid(format!(
            "the scope {needed_scope} was not granted (it was unticked on the consent screen)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn google() -> ProviderConfig {
        ProviderConfig::google(
            "1234-abc.apps.googleusercontent.com",
            SecretString::from("GOCSPX-secret"),
            vec![SCOPE_YOUTUBE.into(), SCOPE_BUSINESS.into()],
        )
    }

    #[test]
    fn the_google_authorization_url_has_exactly_the_documented_parameters() {
        let redirect = Url::parse("https://social.example.org/oauth/google/callback").unwrap();
        let url = authorization_url(
            &google(),
            &redirect,
            "Zk3q",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        );
        assert_eq!(
            url.as_str().split('?').next(),
            Some("https://accounts.google.com/o/oauth2/v2/auth")
        );
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let want: Vec<(String, String)> = [
            ("client_id", "1234-abc.apps.googleusercontent.com"),
            (
                "redirect_uri",
                "https://social.example.org/oauth/google/callback",
            ),
            ("response_type", "code"),
            (
                "scope",
                "https://www.googleapis.com/auth/youtube.force-ssl https://www.googleapis.com/auth/business.manage",
            ),
            ("access_type", "offline"),
            ("prompt", "consent"),
            ("include_granted_scopes", "true"),
            ("state", "Zk3q"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(pairs, want);
        // The secret never travels in the browser.
        assert!(!url.as_str().contains("GOCSPX"), "{url}");
        // Every value is encoded (no raw `/` or `:` of the redirect URI in the query).
        assert!(
            url.query()
                .unwrap()
                .contains("redirect_uri=https%3A%2F%2Fsocial.example.org%2Foauth"),
            "{url}"
        );
    }

    #[test]
    fn the_x_authorization_url_has_exactly_the_documented_parameters() {
        let cfg = ProviderConfig::x(
            "M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ",
            SecretString::from("x-client-secret"),
            vec![
                "tweet.read".into(),
                "users.read".into(),
                "offline.access".into(),
            ],
        );
        assert_eq!(cfg.client_auth, ClientAuth::Basic);
        let redirect = Url::parse("https://social.example.org/oauth/x/callback").unwrap();
        let url = authorization_url(&cfg, &redirect, "Zk3q", "E9Mel");
        assert_eq!(
            url.as_str().split('?').next(),
            Some("https://x.com/i/oauth2/authorize")
        );
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let want: Vec<(String, String)> = [
            ("client_id", "M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ"),
            (
                "redirect_uri",
                "https://social.example.org/oauth/x/callback",
            ),
            ("response_type", "code"),
            ("scope", "tweet.read users.read offline.access"),
            ("state", "Zk3q"),
            ("code_challenge", "E9Mel"),
            ("code_challenge_method", "S256"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(pairs, want);
        assert!(!url.as_str().contains("x-client-secret"));
        // Scopes are space-separated, encoded as %20 (not +) by X's own examples; either
        // decodes the same, but no raw space travels.
        assert!(!url.as_str().contains(' '));
        assert_eq!(
            ProviderConfig::google("a", SecretString::from("b"), vec![]).client_auth,
            ClientAuth::RequestBody
        );
    }

    #[test]
    fn an_overridden_authorize_url_keeps_its_own_query() {
        let mut cfg = google();
        cfg.authorize_url = Url::parse("http://127.0.0.1:9/auth?tenant=x").unwrap();
        cfg.extra_authorize_params.clear();
        let redirect = Url::parse("http://localhost:8080/oauth/youtube/callback").unwrap();
        let url = authorization_url(&cfg, &redirect, "s", "c");
        let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        assert_eq!(
            keys,
            [
                "tenant",
                "client_id",
                "redirect_uri",
                "response_type",
                "scope",
                "state",
                "code_challenge",
                "code_challenge_method"
            ]
        );
    }

    fn tokens(refresh: Option<&str>, scope: &[&str]) -> TokenSet {
        TokenSet {
            access_token: SecretString::from("ya29.access"),
            refresh_token: refresh.map(SecretString::from),
            expires_at: DateTime::from_timestamp(1_780_003_600, 0).unwrap(),
            scope: scope.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn refreshed_keeps_what_the_provider_did_not_resend() {
        let old = tokens(Some("1//old"), &[SCOPE_YOUTUBE]);
        let kept = old.clone().refreshed(tokens(None, &[]));
        assert_eq!(
            kept.refresh_token.as_ref().map(|s| s.expose_secret()),
            Some("1//old")
        );
        assert_eq!(kept.scope, [SCOPE_YOUTUBE]);
        let rotated = old.refreshed(tokens(Some("1//new"), &[SCOPE_BUSINESS]));
        assert_eq!(
            rotated.refresh_token.as_ref().map(|s| s.expose_secret()),
            Some("1//new")
        );
        assert_eq!(rotated.scope, [SCOPE_BUSINESS]);
    }

    #[test]
    fn needs_refresh_within_the_margin() {
        let t = tokens(None, &[]);
        let at = |s: i64| t.expires_at - TimeDelta::seconds(s);
        assert!(!t.needs_refresh(at(REFRESH_MARGIN_SECS + 1)));
        assert!(t.needs_refresh(at(REFRESH_MARGIN_SECS)));
        assert!(t.needs_refresh(at(-10)));
    }

    #[test]
    fn granted_reads_the_granted_scopes() {
        let t = tokens(None, &[SCOPE_YOUTUBE]);
        assert!(granted(&t, SCOPE_YOUTUBE));
        assert!(!granted(&t, SCOPE_BUSINESS));
        assert!(require_scope(&t, SCOPE_YOUTUBE).is_ok());
        assert!(matches!(
            require_scope(&t, SCOPE_BUSINESS),
            Err(OAuthError::Invalid(m)) if m.contains("business.manage")
        ));
    }

    #[test]
    fn a_token_set_seals_round_trip_and_debug_redacts() {
        let t = tokens(Some("1//refresh"), &[SCOPE_YOUTUBE]);
        let dbg = format!("{t:?}");
        assert!(
            !dbg.contains("ya29.access") && !dbg.contains("1//refresh"),
            "{dbg}"
        );
        let key = crate::crypto::SecretKey::parse(&crate::crypto::SecretKey::generate()).unwrap();
        let sealed = key.seal(&serde_json::to_vec(&t).unwrap(), b"account:7");
        let back: TokenSet =
            serde_json::from_slice(&key.open(&sealed, b"account:7").unwrap()).unwrap();
        assert_eq!(back.access_token.expose_secret(), "ya29.access");
        assert_eq!(
            back.refresh_token.as_ref().map(|s| s.expose_secret()),
            Some("1//refresh")
        );
        assert_eq!(back.expires_at, t.expires_at);
        assert_eq!(back.scope, t.scope);
    }
}
