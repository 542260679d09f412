//! Credentials at rest: AES-256-GCM under one service key.
//!
//! The key is 32 random bytes, base64 in `SWITCHBOARD_SECRET_KEY` (`openssl rand -base64 32`).
//! A sealed blob is `version ‖ nonce (96 bits, random per seal) ‖ ciphertext ‖ tag`. The
//! associated data (`aad`) is not stored: the caller passes what the blob belongs to (an account
//! id, a purpose) on both sides, so a blob copied to another row, or used for another purpose,
//! fails to open. Random 96-bit nonces are safe far beyond the number of seals this service
//! makes (NIST's limit is 2³² per key).

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

/// The first byte of every sealed blob: the format (AES-256-GCM, 96-bit nonce).
pub const SEAL_VERSION: u8 = 1;
/// AES-GCM nonce length, in bytes.
const NONCE_LEN: usize = 12;
/// AES-GCM tag length, in bytes.
const TAG_LEN: usize = 16;
/// Key length, in bytes.
pub const KEY_LEN: usize = 32;
/// The one place that says how to make a key (every key error repeats it).
pub const HOW_TO_GENERATE: &str = "generate one with `openssl rand -base64 32`";

/// The service key. `Debug` never shows it; the cipher zeroizes its key schedule on drop.
#[derive(Clone)]
pub struct SecretKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("{var} is not valid base64; {HOW_TO_GENERATE}", var = crate::config::ENV_SECRET_KEY)]
    Base64,
    #[error(
        "{var} must be {KEY_LEN} bytes of base64, got {0} bytes; {HOW_TO_GENERATE}",
        var = crate::config::ENV_SECRET_KEY
    )]
    Length(usize),
}

/// Why a sealed blob did not open. Deliberately vague: wrong key, wrong `aad` and a changed
/// byte are indistinguishable by design.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("sealed data is truncated or of an unknown format")]
    Malformed,
    #[error("sealed data failed authentication (wrong key, wrong owner or altered)")]
    Unauthentic,
}

impl SecretKey {
    /// Read `SWITCHBOARD_SECRET_KEY`; `Ok(None)` when it is unset or empty.
    pub fn from_env() -> Result<Option<Self>, KeyError> {
        crate::config::process_env(crate::config::ENV_SECRET_KEY)
            .map(|v| Self::parse(&v))
            .transpose()
    }

    /// Base64 of exactly 32 bytes (standard alphabet as `openssl` prints it; URL-safe, with or
    /// without padding, is accepted too). Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let bytes = Zeroizing::new(
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE.decode(text))
                .or_else(|_| URL_SAFE_NO_PAD.decode(text))
                .map_err(|_| KeyError::Base64)?,
        );
        if bytes.len() != KEY_LEN {
            return Err(KeyError::Length(bytes.len()));
        }
        Ok(Self::from_bytes(&bytes))
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        Self {
            cipher: Aes256Gcm::new_from_slice(bytes).expect("length checked: 32 bytes"),
        }
    }

    /// A fresh key, base64 (what `switchboard secret-key generate` prints).
    pub fn generate() -> String {
        let bytes = Zeroizing::new(random_bytes::<KEY_LEN>());
        STANDARD.encode(*bytes)
    }

    /// Encrypt and authenticate `plaintext`, bound to `aad`. Two seals of one text differ.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-GCM encrypts anything shorter than 64 GiB");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypt what [`seal`](Self::seal) made with this key and this `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let Some((&version, rest)) = sealed.split_first() else {
            return Err(CryptoError::Malformed);
        };
        if version != SEAL_VERSION || rest.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at NONCE_LEN");
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Unauthentic)
    }
}

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::parse(&SecretKey::generate()).expect("a generated key parses")
    }

    #[test]
    fn round_trip() {
        let k = key();
        let sealed = k.seal(b"refresh-token-1//0gd", b"account:42");
        assert_eq!(sealed[0], SEAL_VERSION);
        assert_eq!(sealed.len(), 1 + NONCE_LEN + 20 + TAG_LEN);
        let opened = k.open(&sealed, b"account:42").expect("opens");
        assert_eq!(opened.as_slice(), b"refresh-token-1//0gd");
        assert_eq!(k.open(&k.seal(b"", b""), b"").expect("empty").len(), 0);
    }

    #[test]
    fn a_wrong_key_fails() {
        let sealed = key().seal(b"secret", b"a");
        assert_eq!(key().open(&sealed, b"a"), Err(CryptoError::Unauthentic));
    }

    #[test]
    fn every_tampered_byte_fails() {
        let k = key();
        let sealed = k.seal(b"secret", b"a");
        for i in 1..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 0x01;
            assert_eq!(k.open(&t, b"a"), Err(CryptoError::Unauthentic), "byte {i}");
        }
        let mut t = sealed.clone();
        t[0] = 2;
        assert_eq!(k.open(&t, b"a"), Err(CryptoError::Malformed));
        assert_eq!(
            k.open(&sealed[..sealed.len() - 1], b"a"),
            Err(CryptoError::Unauthentic)
        );
        assert_eq!(k.open(&sealed[..20], b"a"), Err(CryptoError::Malformed));
        assert_eq!(k.open(&[], b"a"), Err(CryptoError::Malformed));
    }

    #[test]
    fn a_wrong_aad_fails() {
        let k = key();
        let sealed = k.seal(b"secret", b"account:42");
        assert_eq!(
            k.open(&sealed, b"account:43"),
            Err(CryptoError::Unauthentic)
        );
        assert_eq!(k.open(&sealed, b""), Err(CryptoError::Unauthentic));
    }

    #[test]
    fn two_seals_of_one_text_differ() {
        let k = key();
        assert_ne!(k.seal(b"same", b"a"), k.seal(b"same", b"a"));
    }

    #[test]
    fn debug_shows_no_key() {
        let text = STANDARD.encode([7u8; 32]);
        let k = SecretKey::parse(&text).expect("parses");
        let dbg = format!("{k:?}");
        assert_eq!(dbg, "SecretKey([redacted])");
        assert!(!dbg.contains(&text) && !dbg.contains("7, 7"), "{dbg}");
    }

    #[test]
    fn bad_keys_say_how_to_generate_one() {
        for (text, want) in [
            ("not base64!", KeyError::Base64),
            (&STANDARD.encode([1u8; 16]), KeyError::Length(16)),
            (&STANDARD.encode([1u8; 33]), KeyError::Length(33)),
        ] {
            let err = SecretKey::parse(text).expect_err(text);
            assert_eq!(err, want);
            let msg = err.to_string();
            assert!(
                msg.contains("openssl rand -base64 32") && msg.contains("SWITCHBOARD_SECRET_KEY"),
                "{msg}"
            );
        }
        // What openssl prints (padded, with a newline) and the URL-safe form both load.
        let bytes = [0xfbu8; 32];
        let k = SecretKey::parse(&format!("{}\n", STANDARD.encode(bytes))).expect("standard");
        let sealed = k.seal(b"x", b"");
        let k2 = SecretKey::parse(&URL_SAFE_NO_PAD.encode(bytes)).expect("url-safe");
        assert_eq!(k2.open(&sealed, b"").expect("same key").as_slice(), b"x");
    }
}
