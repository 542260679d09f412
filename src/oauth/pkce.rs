//! PKCE (RFC 7636), S256 only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Random bytes behind a verifier: 32 bytes → 43 characters, RFC 7636's minimum length and
/// its recommended construction.
pub const VERIFIER_BYTES: usize = 32;

/// A verifier (kept secret until the code exchange) and its S256 challenge (sent in the
/// authorization URL).
#[derive(Debug)]
pub struct Pkce {
    verifier: SecretString,
    challenge: String,
}

impl Pkce {
    /// A fresh random verifier.
    pub fn generate() -> Self {
        let bytes = zeroize::Zeroizing::new(crate::crypto::random_bytes::<VERIFIER_BYTES>());
        Self::from_verifier(URL_SAFE_NO_PAD.encode(*bytes))
    }

    /// The pair for a known verifier (e.g. one carried in the `state`).
    pub fn from_verifier(verifier: String) -> Self {
        let challenge = challenge_s256(&verifier);
        Self {
            verifier: verifier.into(),
            challenge,
        }
    }

    pub fn verifier(&self) -> &SecretString {
        &self.verifier
    }

    /// `code_challenge` (with `code_challenge_method=S256`).
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// The verifier as the `StateClaims::pkce_verifier` string.
    pub fn verifier_string(&self) -> String {
        self.verifier.expose_secret().to_owned()
    }
}

/// `BASE64URL-NOPAD(SHA256(ASCII(verifier)))`.
pub fn challenge_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_vector() {
        // RFC 7636 Appendix B (also the challenge in network-apis.md §11.2.3's example).
        assert_eq!(
            challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_verifiers_are_43_url_safe_characters_and_differ() {
        let a = Pkce::generate();
        let b = Pkce::generate();
        let v = a.verifier_string();
        assert_eq!(v.len(), 43);
        assert!(
            v.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(v, b.verifier_string());
        assert_eq!(a.challenge(), challenge_s256(&v));
        assert!(!format!("{a:?}").contains(&v));
    }
}
