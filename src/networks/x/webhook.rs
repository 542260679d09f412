//! X's webhook endpoint (`/webhooks/x`), for the Account Activity API and the X Activity API
//! alike (both deliver through X's V2 Webhooks): the CRC handshake answers
//! `sha256=<base64 HMAC-SHA256(consumer secret, crc_token)>` as JSON; every delivery is
//! checked against `x-twitter-webhooks-signature` (the same HMAC over the raw body, compared
//! in constant time) before it is parsed. X signs no timestamp, so there is no replay window
//! to check: a redelivery is harmless because the inbox deduplicates on X's ids.
//!
//! The CRC answer and a delivery's signature are the same HMAC under the same key, so an
//! endpoint that answered any `crc_token` would sign any body for whoever asks. Only tokens
//! made of base64 / URL-safe characters (what X sends) are answered: no JSON delivery can
//! be signed that way.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::payload::webhook_changes;
use crate::networks::{Handshake, WebhookBatch, WebhookRefusal, WebhookSource};

/// The header X signs deliveries in.
pub const SIGNATURE_HEADER: &str = "x-twitter-webhooks-signature";

const PREFIX: &str = "sha256=";

/// Longest `crc_token` answered (X's are a few dozen characters).
pub const MAX_CRC_TOKEN_LEN: usize = 256;

/// A `crc_token` X could have sent: base64 or URL-safe characters only, never JSON.
fn plausible_crc_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_CRC_TOKEN_LEN
        && token.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_' | b'.')
        })
}

/// X's webhook endpoint, with the app's consumer secret (API secret key).
pub struct XWebhooks {
    consumer_secret: SecretString,
}

impl XWebhooks {
    pub fn new(consumer_secret: SecretString) -> Self {
        Self { consumer_secret }
    }

    fn mac(&self) -> Option<Hmac<Sha256>> {
        let key = self.consumer_secret.expose_secret().as_bytes();
        // An empty secret would make every signature forgeable: refuse instead.
        if key.is_empty() {
            return None;
        }
        Hmac::<Sha256>::new_from_slice(key).ok()
    }
}

/// `sha256=<base64 HMAC-SHA256(secret, message)>`: the CRC answer, and what a delivery's
/// signature header holds.
pub fn signature(secret: &str, message: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(message);
    Some(format!(
        "{PREFIX}{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

impl WebhookSource for XWebhooks {
    fn name(&self) -> &'static str {
        "x"
    }

    fn handshake(&self, q: &HashMap<String, String>) -> Result<Handshake, WebhookRefusal> {
        let Some(token) = q.get("crc_token").filter(|t| !t.is_empty()) else {
            return Err(WebhookRefusal::new(400, "crc_token is missing"));
        };
        if !plausible_crc_token(token) {
            return Err(WebhookRefusal::new(
                400,
                "crc_token must be base64 or URL-safe characters",
            ));
        }
        let Some(mut mac) = self.mac() else {
            return Err(WebhookRefusal::new(403, "no consumer secret is configured"));
        };
        mac.update(token.as_bytes());
        let answer = format!("{PREFIX}{}", STANDARD.encode(mac.finalize().into_bytes()));
        Ok(Handshake {
            content_type: "application/json",
            body: serde_json::json!({ "response_token": answer }).to_string(),
        })
    }

    fn verify(
        &self,
        headers: &axum::http::HeaderMap,
        body: &[u8],
        _now: DateTime<Utc>,
    ) -> Result<(), WebhookRefusal> {
        let refuse = |why: &str| WebhookRefusal::new(401, why);
        let header = headers
            .get(SIGNATURE_HEADER)
            .ok_or_else(|| refuse("x-twitter-webhooks-signature header is missing"))?
            .to_str()
            .map_err(|_| refuse("x-twitter-webhooks-signature header is malformed"))?
            .trim();
        let encoded = header.strip_prefix(PREFIX).ok_or_else(|| {
            refuse("x-twitter-webhooks-signature header is malformed: expected \"sha256=\"")
        })?;
        let expected = STANDARD
            .decode(encoded)
            .map_err(|_| refuse("x-twitter-webhooks-signature is not valid base64"))?;
        let mut mac = self
            .mac()
            .ok_or_else(|| refuse("no consumer secret is configured"))?;
        mac.update(body);
        // `verify_slice` compares in constant time.
        mac.verify_slice(&expected).map_err(|_| {
            refuse("x-twitter-webhooks-signature does not match the body for the consumer secret")
        })
    }

    fn parse(&self, body: &[u8]) -> Result<WebhookBatch, WebhookRefusal> {
        let changes = webhook_changes(body).map_err(|e| WebhookRefusal::new(400, e))?;
        Ok(WebhookBatch {
            envelopes: changes.envelopes,
            ignored: changes.ignored,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// network-apis.md §9, X vectors.
    const SECRET: &str = "test_consumer_secret";
    const BODY: &[u8] = br#"{"for_user_id":"2244994945","tweet_create_events":[]}"#;
    const SIGNATURE: &str = "sha256=Lss4bxd6weR99So6MmhnJFpNn8h7oFFhZH5um9Z5oF4=";

    fn source() -> XWebhooks {
        XWebhooks::new(SecretString::from(SECRET))
    }

    fn signed(value: &str) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        h.insert(SIGNATURE_HEADER, value.parse().expect("header"));
        h
    }

    #[test]
    fn the_crc_answer_matches_the_reference_vector() {
        let q = HashMap::from([("crc_token".to_string(), "challenge_string".to_string())]);
        let h = source().handshake(&q).expect("answered");
        assert_eq!(h.content_type, "application/json");
        assert_eq!(
            h.body,
            r#"{"response_token":"sha256=583uAmerwtjpykYEAEm+CEIRm6dOywK4QKRr0ha/Pd4="}"#
        );
        assert_eq!(
            source().handshake(&HashMap::new()).map_err(|e| e.status),
            Err(400)
        );
        let empty = XWebhooks::new(SecretString::from(""));
        assert_eq!(empty.handshake(&q).map_err(|e| e.status), Err(403));
    }

    #[test]
    fn the_crc_never_signs_a_body_for_whoever_asks() {
        // Asked to "answer" a delivery's bytes, the endpoint would hand out its signature.
        let body = String::from_utf8(BODY.to_vec()).expect("utf-8");
        for token in [body.as_str(), "a b", &"a".repeat(MAX_CRC_TOKEN_LEN + 1)] {
            let q = HashMap::from([("crc_token".to_string(), token.to_string())]);
            assert_eq!(
                source().handshake(&q).map_err(|e| e.status),
                Err(400),
                "{token}"
            );
        }
        let q = HashMap::from([(
            "crc_token".to_string(),
            "NDI2MDE2MjM0NTY3ODkw-_abc+/=.".to_string(),
        )]);
        assert!(source().handshake(&q).is_ok());
    }

    #[test]
    fn deliveries_are_verified_on_the_raw_bytes() {
        let now = Utc::now();
        assert_eq!(signature(SECRET, BODY).as_deref(), Some(SIGNATURE));
        assert!(source().verify(&signed(SIGNATURE), BODY, now).is_ok());
        // One byte changed, another secret, no header, not base64, no prefix: refused.
        let tampered = br#"{"for_user_id":"2244994946","tweet_create_events":[]}"#;
        assert_eq!(
            source()
                .verify(&signed(SIGNATURE), tampered, now)
                .map_err(|e| e.status),
            Err(401)
        );
        let other = XWebhooks::new(SecretString::from("another_secret"));
        assert!(other.verify(&signed(SIGNATURE), BODY, now).is_err());
        assert!(
            source()
                .verify(&axum::http::HeaderMap::new(), BODY, now)
                .is_err()
        );
        assert!(source().verify(&signed("sha256=%%%"), BODY, now).is_err());
        assert!(
            source()
                .verify(&signed(&SIGNATURE[7..]), BODY, now)
                .is_err()
        );
        let empty = XWebhooks::new(SecretString::from(""));
        let forged = signature("", BODY).expect("mac");
        assert!(empty.verify(&signed(&forged), BODY, now).is_err());
    }
}
