//! The OAuth `state` parameter: who asked for the connection, sealed.
//!
//! The claims are JSON, sealed with the service key (AES-GCM: the PKCE verifier inside stays
//! confidential, and nothing can be changed or forged without the key) under
//! [`STATE_AAD`], then base64url without padding. Nothing is stored at authorize time;
//! `open_state` checks the seal and the expiry, and the caller enforces single use by
//! recording [`StateClaims::nonce`] as used (until `expires_at`; after that the seal refuses
//! it anyway).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::crypto::SecretKey;

/// How long a connect link stays usable, in seconds (the user must finish consent by then).
pub const STATE_LIFETIME_SECS: i64 = 10 * 60;
/// Longest `state` produced, in characters: X accepts at most 500 (network-apis.md §11.1).
pub const MAX_STATE_LEN: usize = 500;
/// Associated data of every sealed state: a credential blob cannot pass for a state.
pub const STATE_AAD: &[u8] = b"switchboard/oauth-state/v1";
/// Random bytes of the single-use nonce.
const NONCE_BYTES: usize = 16;

/// Who started the connection, and the PKCE verifier for its code exchange. Field names are
/// short on the wire to keep the state well under [`MAX_STATE_LEN`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateClaims {
    /// Which connection: `youtube`, `google`, … (the callback path's provider).
    #[serde(rename = "p")]
    pub provider: String,
    /// The chat surface (`slack` or `discord`).
    #[serde(rename = "s")]
    pub surface: String,
    /// The Slack team or Discord server.
    #[serde(rename = "w")]
    pub workspace: String,
    #[serde(rename = "c")]
    pub channel: String,
    #[serde(rename = "u")]
    pub user: String,
    /// Random, base64url: the caller marks it used so a state works once.
    #[serde(rename = "n")]
    pub nonce: String,
    #[serde(rename = "v")]
    pub pkce_verifier: String,
    /// Unix seconds.
    #[serde(rename = "e")]
    pub expires_at: i64,
}

impl std::fmt::Debug for StateClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateClaims")
            .field("provider", &self.provider)
            .field("surface", &self.surface)
            .field("workspace", &self.workspace)
            .field("channel", &self.channel)
            .field("user", &self.user)
            .field("nonce", &self.nonce)
            .field("pkce_verifier", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl StateClaims {
    /// Claims with a fresh nonce, expiring [`STATE_LIFETIME_SECS`] after `now`.
    pub fn new(
        provider: impl Into<String>,
        surface: impl Into<String>,
        workspace: impl Into<String>,
        channel: impl Into<String>,
        user: impl Into<String>,
        pkce_verifier: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            provider: provider.into(),
            surface: surface.into(),
            workspace: workspace.into(),
            channel: channel.into(),
            user: user.into(),
            nonce: URL_SAFE_NO_PAD.encode(crate::crypto::random_bytes::<NONCE_BYTES>()),
            pkce_verifier: pkce_verifier.into(),
            expires_at: now.timestamp() + STATE_LIFETIME_SECS,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StateError {
    /// Not something this service produced (bad base64, truncated, unknown format).
    #[error("the state parameter is malformed")]
    Malformed,
    /// Produced with another key, or altered.
    #[error("the state parameter failed authentication")]
    Tampered,
    #[error("the connect link has expired; start again")]
    Expired,
    /// The claims' ids are too long to fit the provider's limit.
    #[error("the state would be {0} characters; at most {MAX_STATE_LEN}")]
    TooLong(usize),
}

/// Seal `claims` into a URL-safe `state` of at most [`MAX_STATE_LEN`] characters.
pub fn seal_state(key: &SecretKey, claims: &StateClaims) -> Result<String, StateError> {
    let json = zeroize::Zeroizing::new(serde_json::to_vec(claims).expect("plain strings"));
    let state = URL_SAFE_NO_PAD.encode(key.seal(&json, STATE_AAD));
    if state.len() > MAX_STATE_LEN {
        return Err(StateError::TooLong(state.len()));
    }
    Ok(state)
}

/// Check and decode a `state` from a callback. The caller then checks that
/// `claims.provider` is the callback path's provider, and marks `claims.nonce` used (single
/// use) before exchanging the code.
pub fn open_state(
    key: &SecretKey,
    state: &str,
    now: DateTime<Utc>,
) -> Result<StateClaims, StateError> {
    if state.len() > MAX_STATE_LEN {
        return Err(StateError::Malformed);
    }
    let sealed = URL_SAFE_NO_PAD
        .decode(state.trim_end_matches('='))
        .map_err(|_| StateError::Malformed)?;
    let json = key.open(&sealed, STATE_AAD).map_err(|e| match e {
        crate::crypto::CryptoError::Malformed => StateError::Malformed,
        crate::crypto::CryptoError::Unauthentic => StateError::Tampered,
    })?;
    let claims: StateClaims = serde_json::from_slice(&json).map_err(|_| StateError::Malformed)?;
    if now.timestamp() >= claims.expires_at {
        return Err(StateError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::Pkce;

    fn key() -> SecretKey {
        SecretKey::parse(&SecretKey::generate()).expect("key")
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000, 0).expect("time")
    }

    /// The longest ids a claim carries today: Discord snowflakes (up to 20 digits).
    fn claims() -> StateClaims {
        StateClaims::new(
            "youtube",
            "discord",
            "12345678901234567890",
            "12345678901234567890",
            "12345678901234567890",
            Pkce::generate().verifier_string(),
            now(),
        )
    }

    #[test]
    fn round_trip() {
        let k = key();
        let c = claims();
        let state = seal_state(&k, &c).expect("seals");
        assert!(
            state
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'),
            "{state}"
        );
        let opened = open_state(&k, &state, now()).expect("opens");
        assert_eq!(opened, c);
        assert_eq!(opened.expires_at, now().timestamp() + STATE_LIFETIME_SECS);
        assert_eq!(opened.nonce.len(), 22);
        assert_ne!(opened.nonce, claims().nonce, "nonces are random");
    }

    #[test]
    fn the_verifier_is_not_readable_in_the_state_or_debug() {
        let c = claims();
        let state = seal_state(&key(), &c).expect("seals");
        assert!(!state.contains(&c.pkce_verifier));
        assert!(!format!("{c:?}").contains(&c.pkce_verifier));
    }

    #[test]
    fn tampered_wrong_key_and_garbage_are_told_apart() {
        let k = key();
        let state = seal_state(&k, &claims()).expect("seals");
        // Flip one character in the middle (stays base64url).
        let mut chars: Vec<char> = state.chars().collect();
        let i = chars.len() / 2;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(open_state(&k, &tampered, now()), Err(StateError::Tampered));
        assert_eq!(open_state(&key(), &state, now()), Err(StateError::Tampered));
        for bad in ["", "not*base64", "AAAA", &"A".repeat(MAX_STATE_LEN + 1)] {
            assert_eq!(
                open_state(&k, bad, now()),
                Err(StateError::Malformed),
                "{bad}"
            );
        }
        // A credential blob sealed with the same key is not a state.
        let blob = URL_SAFE_NO_PAD
            .encode(k.seal(&serde_json::to_vec(&claims()).expect("json"), b"account:1"));
        assert_eq!(open_state(&k, &blob, now()), Err(StateError::Tampered));
    }

    #[test]
    fn it_expires_after_its_lifetime() {
        let k = key();
        let state = seal_state(&k, &claims()).expect("seals");
        let just_before = now() + chrono::TimeDelta::seconds(STATE_LIFETIME_SECS - 1);
        assert!(open_state(&k, &state, just_before).is_ok());
        let at = now() + chrono::TimeDelta::seconds(STATE_LIFETIME_SECS);
        assert_eq!(open_state(&k, &state, at), Err(StateError::Expired));
    }

    #[test]
    fn it_fits_x_s_500_character_limit() {
        let state = seal_state(&key(), &claims()).expect("seals");
        assert!(state.len() <= MAX_STATE_LEN, "{}", state.len());
        // Today's longest claims (20-digit Discord ids) take about 310: room to spare…
        assert!(state.len() < 350, "{}", state.len());
        // …and ids that would not fit are refused, not truncated.
        let mut huge = claims();
        huge.user = "U".repeat(400);
        assert!(matches!(
            seal_state(&key(), &huge),
            Err(StateError::TooLong(n)) if n > MAX_STATE_LEN
        ));
    }
}
