//! A choice among the accounts one sign-in gives access to (LinkedIn: the pages a member
//! administers), offered on the callback page as a POST form per account.
//!
//! The code was exchanged and the state used at the callback, so each choice carries what
//! connecting needs: who asked, from which channel (copied from the state), the account, and
//! the token set. It is sealed like the state (AES-GCM under the service key, its own
//! associated data, so neither can pass for the other), expires after
//! [`CHOICE_LIFETIME_SECS`], and the caller makes it single-use by its nonce. It travels in a
//! form body only, never in a URL.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{StateClaims, StateError, TokenSet};
use crate::crypto::SecretKey;

/// How long the choices of a callback page stay usable, in seconds.
pub const CHOICE_LIFETIME_SECS: i64 = 10 * 60;
/// Associated data of every sealed choice.
pub const CHOICE_AAD: &[u8] = b"switchboard/oauth-choice/v1";
/// Longest sealed choice opened (tokens included: LinkedIn's are up to ~1,000 characters).
pub const MAX_CHOICE_LEN: usize = 8 * 1024;

/// One account offered for connecting. `Debug` shows no token (the token set redacts).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChoiceClaims {
    /// The network (`linkedin`), as the state named it.
    pub network: String,
    pub surface: String,
    pub workspace: String,
    pub channel: String,
    pub user: String,
    /// The account's id on the network, and its name.
    pub account_id: String,
    pub name: String,
    /// Random: the caller marks it used so a choice works once.
    pub nonce: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub tokens: TokenSet,
}

impl ChoiceClaims {
    /// A choice of `account_id` for whoever `state` names, expiring
    /// [`CHOICE_LIFETIME_SECS`] after `now`.
    pub fn new(
        state: &StateClaims,
        account_id: impl Into<String>,
        name: impl Into<String>,
        tokens: TokenSet,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            network: state.provider.clone(),
            surface: state.surface.clone(),
            workspace: state.workspace.clone(),
            channel: state.channel.clone(),
            user: state.user.clone(),
            account_id: account_id.into(),
            name: name.into(),
            nonce: URL_SAFE_NO_PAD.encode(crate::crypto::random_bytes::<16>()),
            expires_at: now.timestamp() + CHOICE_LIFETIME_SECS,
            tokens,
        }
    }
}

/// Seal a choice for a form field (base64url).
pub fn seal_choice(key: &SecretKey, claims: &ChoiceClaims) -> String {
    let json = zeroize::Zeroizing::new(serde_json::to_vec(claims).unwrap_or_default());
    URL_SAFE_NO_PAD.encode(key.seal(&json, CHOICE_AAD))
}

/// Check and decode a posted choice: sealed by us, for a choice, not expired. The caller
/// then checks its network against the path's provider and marks its nonce used.
pub fn open_choice(
    key: &SecretKey,
    sealed: &str,
    now: DateTime<Utc>,
) -> Result<ChoiceClaims, StateError> {
    if sealed.len() > MAX_CHOICE_LEN {
        return Err(StateError::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(sealed.trim_end_matches('='))
        .map_err(|_| StateError::Malformed)?;
    let json = zeroize::Zeroizing::new(key.open(&bytes, CHOICE_AAD).map_err(|e| match e {
        crate::crypto::CryptoError::Malformed => StateError::Malformed,
        crate::crypto::CryptoError::Unauthentic => StateError::Tampered,
    })?);
    let claims: ChoiceClaims = serde_json::from_slice(&json).map_err(|_| StateError::Malformed)?;
    if now.timestamp() >= claims.expires_at {
        return Err(StateError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::{ExposeSecret, SecretString};

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000, 0).expect("time")
    }

    #[test]
    fn a_choice_round_trips_expires_and_cannot_pass_for_a_state() {
        let key = SecretKey::parse(&SecretKey::generate()).expect("key");
        let state = StateClaims::new("linkedin", "slack", "T1", "C1", "U1", "v", now());
        let tokens = TokenSet {
            access_token: SecretString::from("AQX-access"),
            refresh_token: None,
            expires_at: now(),
            scope: vec![],
        };
        let c = ChoiceClaims::new(&state, "5515715", "Acme", tokens, now());
        assert!(!format!("{c:?}").contains("AQX-access"));
        let sealed = seal_choice(&key, &c);
        assert!(!sealed.contains("AQX"));
        let back = open_choice(&key, &sealed, now()).expect("opens");
        assert_eq!((back.channel.as_str(), back.user.as_str()), ("C1", "U1"));
        assert_eq!(back.tokens.access_token.expose_secret(), "AQX-access");
        let later = now() + chrono::TimeDelta::seconds(CHOICE_LIFETIME_SECS);
        assert_eq!(
            open_choice(&key, &sealed, later).map(|_| ()),
            Err(StateError::Expired)
        );
        let other = SecretKey::parse(&SecretKey::generate()).expect("key");
        assert_eq!(
            open_choice(&other, &sealed, now()).map(|_| ()),
            Err(StateError::Tampered)
        );
        // A state is not a choice, and a choice is not a state.
        let state_sealed = super::super::seal_state(&key, &state).expect("seals");
        assert_eq!(
            open_choice(&key, &state_sealed, now()).map(|_| ()),
            Err(StateError::Tampered)
        );
        assert!(super::super::open_state(&key, &sealed, now()).is_err());
    }
}
