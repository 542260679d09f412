//! Meta's webhook endpoint (`/webhooks/meta`): one subscription for Pages, Instagram and
//! WhatsApp. The handshake echoes `hub.challenge` when `hub.verify_token` matches; every
//! delivery is checked against `X-Hub-Signature-256` (any configured app secret, for
//! rotation) before it is parsed. Meta signs no timestamp, so there is no replay window to
//! check: redeliveries are harmless because the inbox deduplicates on Meta's ids.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::networks::{Handshake, WebhookBatch, WebhookRefusal, WebhookSource};

/// Meta's webhook endpoint, with the app secrets and the verify token.
pub struct MetaWebhooks {
    secrets: Vec<SecretString>,
    verify_token: Option<SecretString>,
}

impl MetaWebhooks {
    /// `secrets`: the app secret, and the previous one while rotating.
    pub fn new(secrets: Vec<SecretString>, verify_token: Option<SecretString>) -> Self {
        Self {
            secrets,
            verify_token,
        }
    }
}

/// Constant-time comparison of two byte strings (the length is not secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl WebhookSource for MetaWebhooks {
    fn name(&self) -> &'static str {
        "meta"
    }

    fn handshake(&self, q: &HashMap<String, String>) -> Result<Handshake, WebhookRefusal> {
        let mode = q.get("hub.mode").map(String::as_str);
        let token = q.get("hub.verify_token").map(String::as_str).unwrap_or("");
        let Some(challenge) = q.get("hub.challenge") else {
            return Err(WebhookRefusal::new(400, "hub.challenge is missing"));
        };
        if mode != Some("subscribe") {
            return Err(WebhookRefusal::new(400, "hub.mode must be subscribe"));
        }
        let expected = self
            .verify_token
            .as_ref()
            .map(|s| s.expose_secret().as_bytes())
            .unwrap_or(&[]);
        if expected.is_empty() || !constant_time_eq(token.as_bytes(), expected) {
            return Err(WebhookRefusal::new(403, "hub.verify_token does not match"));
        }
        Ok(Handshake {
            content_type: "text/plain; charset=utf-8",
            body: challenge.clone(),
        })
    }

    fn verify(
        &self,
        headers: &axum::http::HeaderMap,
        body: &[u8],
        _now: DateTime<Utc>,
    ) -> Result<(), WebhookRefusal> {
        let header = headers
            .get(super::SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok());
        let secrets: Vec<&[u8]> = self
            .secrets
            .iter()
            .map(|s| s.expose_secret().as_bytes())
            .collect();
        super::verify(&secrets, header, body).map_err(|e| WebhookRefusal::new(401, e.to_string()))
    }

    fn parse(&self, body: &[u8]) -> Result<WebhookBatch, WebhookRefusal> {
        let parsed = super::parse(body).map_err(|e| WebhookRefusal::new(400, e.to_string()))?;
        Ok(WebhookBatch {
            envelopes: parsed.envelopes,
            ignored: parsed.ignored,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> MetaWebhooks {
        MetaWebhooks::new(
            vec![SecretString::from("test_app_secret")],
            Some(SecretString::from("meatyhamhock")),
        )
    }

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_handshake_needs_the_verify_token() {
        let ok = source().handshake(&query(&[
            ("hub.mode", "subscribe"),
            ("hub.verify_token", "meatyhamhock"),
            ("hub.challenge", "1158201444"),
        ]));
        assert_eq!(ok.map(|h| h.body), Ok("1158201444".to_string()));
        let wrong = source().handshake(&query(&[
            ("hub.mode", "subscribe"),
            ("hub.verify_token", "meatyhamhocks"),
            ("hub.challenge", "1"),
        ]));
        assert_eq!(wrong.map_err(|e| e.status), Err(403));
        let unset = MetaWebhooks::new(vec![], None).handshake(&query(&[
            ("hub.mode", "subscribe"),
            ("hub.verify_token", ""),
            ("hub.challenge", "1"),
        ]));
        assert_eq!(unset.map_err(|e| e.status), Err(403));
    }

    #[test]
    fn deliveries_are_verified_on_the_raw_bytes() {
        // network-apis.md §9, Meta vector.
        let body = br#"{"object":"page","entry":[{"id":"1","time":1700000000,"changes":[]}]}"#;
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "x-hub-signature-256",
            "sha256=2b0ced7d4d4f425d6d23a91f4dc2f94d9fe95f1abc6cbc128053b5ce66c5ddf1"
                .parse()
                .unwrap(),
        );
        assert_eq!(source().verify(&headers, body, Utc::now()), Ok(()));
        let mut tampered = body.to_vec();
        tampered[10] ^= 1;
        assert_eq!(
            source()
                .verify(&headers, &tampered, Utc::now())
                .map_err(|e| e.status),
            Err(401)
        );
        assert_eq!(
            source()
                .verify(&axum::http::HeaderMap::new(), body, Utc::now())
                .map_err(|e| e.status),
            Err(401)
        );
    }
}
