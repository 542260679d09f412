//! TikTok's pushed comment events, `/webhooks/tiktok`: the `TikTok-Signature` check on the
//! raw bytes, then parsing into the same envelopes polling produces (same dedupe keys, so a
//! comment pushed and polled is one inbox row).
//!
//! The signature scheme is TikTok's documented one (network-apis.md §0, §6.1: `t=<unix>,
//! s=<hex HMAC-SHA256(client secret, t + "." + raw body)>`, stale timestamps refused). The
//! Business comment event's shape is **secondary** (§6.1, one third-party implementation):
//! an envelope `{"client_key","event":"comment.update","create_time","user_openid",
//! "content":"<JSON string>"}` whose content names the comment, its video and a
//! `comment_action` (`insert`, `delete`, `set_to_hidden`, `set_to_friends_only`,
//! `set_to_public`). So the parser reads several spellings, and takes a pushed comment as a
//! ticket only when the event says everything polling would (its text, its author, and that
//! the account did not write it); otherwise it is noted and left to the poller, which always
//! runs. Deletions are applied as they come.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::Sha256;

use super::client::Comment;
use super::{CommentRef, changes, dedupe_key};
use crate::core::{AccountId, Network, NetworkChange, NetworkEnvelope};
use crate::networks::{Handshake, WebhookBatch, WebhookRefusal, WebhookSource};

/// The header TikTok signs deliveries in (header names are case-insensitive).
pub const SIGNATURE_HEADER: &str = "TikTok-Signature";

/// Replay window: a delivery whose signed timestamp is further than this from our clock, in
/// seconds, is refused (a replayed body, or a clock badly off). Five minutes, as Slack's.
pub const MAX_SKEW_SECS: i64 = 300;

/// Length of a hex-encoded SHA-256 MAC.
const HEX_LEN: usize = 64;

/// The event TikTok sends for comments.
pub const COMMENT_EVENT: &str = "comment.update";

/// TikTok's webhook endpoint, with the secrets deliveries may be signed with (the current
/// client secret, and the previous one while rotating).
pub struct TiktokWebhooks {
    secrets: Vec<SecretString>,
}

impl TiktokWebhooks {
    pub fn new(secrets: Vec<SecretString>) -> Self {
        Self { secrets }
    }
}

/// Why a delivery's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("TikTok-Signature header is missing")]
    Missing,
    #[error("TikTok-Signature header is malformed: {0}")]
    Malformed(&'static str),
    #[error("TikTok-Signature timestamp is outside the {MAX_SKEW_SECS} s replay window")]
    Stale,
    #[error("TikTok-Signature does not match the body for any configured secret")]
    Mismatch,
}

/// Checks a `TikTok-Signature` value (`t=<unix seconds>,s=<hex>`, in any order) against the
/// raw `body`: the timestamp within [`MAX_SKEW_SECS`] of `now`, the MAC (constant time) for
/// any of `secrets`. With no secret nothing matches.
pub fn verify(
    secrets: &[&[u8]],
    header: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => timestamp = Some(v.trim()),
            Some(("s", v)) => signature = Some(v.trim()),
            _ => {}
        }
    }
    let (Some(t), Some(s)) = (timestamp, signature) else {
        return Err(SignatureError::Malformed(
            "expected t=<timestamp>,s=<signature>",
        ));
    };
    let seconds: i64 = t
        .parse()
        .map_err(|_| SignatureError::Malformed("the timestamp is not a number"))?;
    if now.timestamp().abs_diff(seconds) > MAX_SKEW_SECS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    if s.len() != HEX_LEN {
        return Err(SignatureError::Malformed("expected 64 hex digits after s="));
    }
    let expected =
        hex::decode(s).map_err(|_| SignatureError::Malformed("the signature is not valid hex"))?;
    for secret in secrets {
        // HMAC takes keys of any length, so this cannot fail; skip rather than unwrap anyway.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
            continue;
        };
        mac.update(t.as_bytes());
        mac.update(b".");
        mac.update(body);
        if mac.verify_slice(&expected).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

impl WebhookSource for TiktokWebhooks {
    fn name(&self) -> &'static str {
        "tiktok"
    }

    /// TikTok sends no subscription handshake (the callback URL is registered with
    /// `POST /business/webhook/update/`).
    fn handshake(&self, _query: &HashMap<String, String>) -> Result<Handshake, WebhookRefusal> {
        Err(WebhookRefusal::new(
            405,
            "TikTok webhooks have no subscription handshake; deliveries are POSTs",
        ))
    }

    fn verify(
        &self,
        headers: &axum::http::HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), WebhookRefusal> {
        let header = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
        let secrets: Vec<&[u8]> = self
            .secrets
            .iter()
            .map(|s| s.expose_secret().as_bytes())
            .collect();
        verify(&secrets, header, body, now).map_err(|e| WebhookRefusal::new(401, e.to_string()))
    }

    fn parse(&self, body: &[u8]) -> Result<WebhookBatch, WebhookRefusal> {
        parse(body).map_err(|e| WebhookRefusal::new(400, e))
    }
}

/// A text field under any of `names`.
fn text<'a>(v: &'a Value, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| v.get(n).and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An id under any of `names`, given as a string or an integer.
fn id(v: &Value, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| match v.get(n)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    })
}

/// A Unix time in seconds under any of `names`.
fn time(v: &Value, names: &[&str]) -> Option<DateTime<Utc>> {
    names.iter().find_map(|n| {
        let seconds = match v.get(n)? {
            Value::Number(x) => x.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }?;
        DateTime::from_timestamp(seconds, 0)
    })
}

/// Turns a verified delivery into envelopes; a body that is not a JSON object is refused.
pub fn parse(body: &[u8]) -> Result<WebhookBatch, String> {
    let outer: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    if !outer.is_object() {
        return Err("the body is not a JSON object".into());
    }
    let mut batch = WebhookBatch::default();
    let event = text(&outer, &["event", "event_type"]).unwrap_or("");
    if event != COMMENT_EVENT {
        batch
            .ignored
            .push(format!("event {event:?} is not a comment event"));
        return Ok(batch);
    }
    // `content` is a JSON string; an object is read as well.
    let content = match outer.get("content") {
        Some(Value::String(s)) => {
            serde_json::from_str::<Value>(s).map_err(|e| format!("the content is not JSON: {e}"))?
        }
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return Err("the comment event has no content".into()),
    };
    let account = text(&outer, &["user_openid", "business_id"])
        .or_else(|| text(&content, &["business_id", "user_openid"]));
    let comment = id(&content, &["comment_id"]);
    let video = id(&content, &["video_id", "item_id"]);
    let (Some(account), Some(comment), Some(video)) = (account, comment, video) else {
        batch
            .ignored
            .push("a comment event without its account, comment or video".into());
        return Ok(batch);
    };
    if comment.contains(':') || video.contains(':') {
        return Err("a comment or video id with a ':'".into());
    }
    let account = AccountId::new(account);
    let parent = id(&content, &["parent_comment_id"]).filter(|p| *p != comment && !p.contains(':'));
    let at = CommentRef {
        video: video.clone(),
        parent: parent.clone(),
        comment: comment.clone(),
    };
    let action = text(&content, &["comment_action", "action"]).unwrap_or("");
    match action {
        "insert" => {
            // The owner flag must be there and false: our own replies must never become
            // customer messages, and nothing else in the event tells them apart.
            let owner = ["owner", "is_owner"]
                .iter()
                .find_map(|n| content.get(n).and_then(Value::as_bool));
            let created = time(&content, &["create_time", "timestamp"])
                .or_else(|| time(&outer, &["create_time"]));
            let author = text(&content, &["unique_identifier"])
                .map(str::to_owned)
                .or_else(|| id(&content, &["user_id"]));
            let said = content.get("text").and_then(Value::as_str);
            match (owner, created, author, said) {
                (Some(false), Some(created_at), Some(author), Some(said)) => {
                    let c = Comment {
                        id: comment,
                        video_id: video,
                        parent_id: parent,
                        author: Some(author),
                        username: text(&content, &["username"]).map(str::to_owned),
                        display_name: text(&content, &["display_name"]).map(str::to_owned),
                        text: said.to_owned(),
                        created_at,
                        replies: 0,
                        owner: false,
                        hidden: false,
                        reply_list: vec![],
                    };
                    batch.envelopes.extend(changes::envelope(&account, None, &c));
                }
                (Some(true), ..) => batch
                    .ignored
                    .push(format!("comment {comment} is the account's own")),
                _ => batch.ignored.push(format!(
                    "comment {comment} was pushed without its text, author or owner flag; the poller reads it"
                )),
            }
        }
        "delete" => batch.envelopes.push(NetworkEnvelope {
            dedupe_key: format!("{}:delete", dedupe_key(&comment)),
            change: NetworkChange::Removed {
                network: Network::Tiktok,
                account,
                item_id: at.item_id(),
            },
        }),
        other => batch
            .ignored
            .push(format!("comment {comment}: {other:?} changes nothing here")),
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// network-apis.md §9, TikTok vector.
    const SECRET: &[u8] = b"test_client_secret";
    const BODY: &[u8] = br#"{"event":"comment.update"}"#;
    const HEADER: &str =
        "t=1633174587,s=53c20fdbfb810f23457f40102c5addfb3ee6c75931ddd9f45b4d472772ee58d9";

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("valid")
    }

    #[test]
    fn the_reference_vector_is_valid_within_the_window() {
        assert_eq!(
            verify(&[SECRET], Some(HEADER), BODY, at(1_633_174_587)),
            Ok(())
        );
        assert_eq!(
            verify(&[SECRET], Some(HEADER), BODY, at(1_633_174_587 + 300)),
            Ok(())
        );
        // Order and spaces do not matter; a second secret (rotation) is tried too.
        let swapped =
            "s=53c20fdbfb810f23457f40102c5addfb3ee6c75931ddd9f45b4d472772ee58d9, t=1633174587";
        assert_eq!(
            verify(&[b"new", SECRET], Some(swapped), BODY, at(1_633_174_600)),
            Ok(())
        );
    }

    #[test]
    fn tampered_stale_and_malformed_deliveries_are_refused() {
        let now = at(1_633_174_587);
        let tampered = br#"{"event":"comment.updatf"}"#;
        assert_eq!(
            verify(&[SECRET], Some(HEADER), tampered, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&[b"other"], Some(HEADER), BODY, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&[], Some(HEADER), BODY, now),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed: moving it breaks the MAC; an old one is stale.
        let moved = HEADER.replace("t=1633174587", "t=1633174588");
        assert_eq!(
            verify(&[SECRET], Some(&moved), BODY, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&[SECRET], Some(HEADER), BODY, at(1_633_174_587 + 301)),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&[SECRET], Some(HEADER), BODY, at(1_633_174_587 - 301)),
            Err(SignatureError::Stale)
        );
        // A timestamp at the ends of the range is stale, not an overflow.
        for extreme in [i64::MIN, i64::MAX] {
            let far = HEADER.replace("t=1633174587", &format!("t={extreme}"));
            assert_eq!(
                verify(&[SECRET], Some(&far), BODY, now),
                Err(SignatureError::Stale)
            );
        }
        assert_eq!(
            verify(&[SECRET], None, BODY, now),
            Err(SignatureError::Missing)
        );
        for bad in [
            "53c20fdbfb810f23457f40102c5addfb3ee6c75931ddd9f45b4d472772ee58d9",
            "t=1633174587",
            "t=soon,s=53c20fdbfb810f23457f40102c5addfb3ee6c75931ddd9f45b4d472772ee58d9",
            "t=1633174587,s=53c2",
            "t=1633174587,s=zzc20fdbfb810f23457f40102c5addfb3ee6c75931ddd9f45b4d472772ee58d9",
        ] {
            assert!(
                matches!(
                    verify(&[SECRET], Some(bad), BODY, now),
                    Err(SignatureError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    fn event(content: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "client_key": "7000000000000000001",
            "event": "comment.update",
            "create_time": 1780000000,
            "user_openid": "-000acme",
            "content": content.to_string(),
        }))
        .expect("json")
    }

    #[test]
    fn a_complete_insert_is_the_envelope_polling_makes() {
        let batch = parse(&event(json!({
            "comment_id": "7301", "video_id": "7299", "parent_comment_id": "7300",
            "comment_action": "insert", "create_time": 1780000000, "owner": false,
            "unique_identifier": "+ABc1", "display_name": "Ann", "text": "<!channel> hi"
        })))
        .expect("parsed");
        assert_eq!(batch.envelopes.len(), 1, "{batch:?}");
        assert_eq!(batch.envelopes[0].dedupe_key, "tiktok:comment:7301");
        let NetworkChange::New { item } = &batch.envelopes[0].change else {
            panic!("expected a new item");
        };
        assert_eq!(item.item_id.as_str(), "7299:7300:7301");
        assert_eq!(item.account.as_str(), "-000acme");
        assert_eq!(item.customer.id.as_str(), "+ABc1");
        assert_eq!(item.text, "<!channel> hi");
        assert_eq!(item.conversation_key(), "tiktok:-000acme:7299:+ABc1");
    }

    #[test]
    fn an_insert_without_what_polling_knows_is_left_to_the_poller() {
        for content in [
            // No owner flag: it could be our own reply.
            json!({"comment_id": "7301", "video_id": "7299", "comment_action": "insert",
                   "create_time": 1780000000, "unique_identifier": "+A", "text": "hi"}),
            json!({"comment_id": "7301", "video_id": "7299", "comment_action": "insert",
                   "create_time": 1780000000, "owner": true, "unique_identifier": "+A", "text": "hi"}),
            // No text.
            json!({"comment_id": "7301", "video_id": "7299", "comment_action": "insert",
                   "create_time": 1780000000, "owner": false, "unique_identifier": "+A"}),
        ] {
            let batch = parse(&event(content.clone())).expect("parsed");
            assert!(batch.envelopes.is_empty(), "{content}");
            assert_eq!(batch.ignored.len(), 1, "{batch:?}");
        }
    }

    #[test]
    fn a_deletion_removes_the_item_and_other_actions_change_nothing() {
        let batch = parse(&event(json!({
            "comment_id": 7301, "video_id": "7299", "comment_action": "delete"
        })))
        .expect("parsed");
        assert_eq!(
            batch.envelopes,
            vec![NetworkEnvelope {
                dedupe_key: "tiktok:comment:7301:delete".into(),
                change: NetworkChange::Removed {
                    network: Network::Tiktok,
                    account: AccountId::new("-000acme"),
                    item_id: crate::core::NetworkItemId::new("7299:7301"),
                },
            }]
        );
        let batch = parse(&event(json!({
            "comment_id": "7301", "video_id": "7299", "comment_action": "set_to_hidden"
        })))
        .expect("parsed");
        assert!(batch.envelopes.is_empty() && batch.ignored.len() == 1);
        let other =
            parse(br#"{"event":"video.publish.completed","content":"{}"}"#).expect("parsed");
        assert!(other.envelopes.is_empty() && other.ignored.len() == 1);
        assert!(parse(b"not json").is_err());
        assert!(parse(br#"{"event":"comment.update","content":"{broken"}"#).is_err());
        assert!(parse(br#"{"event":"comment.update"}"#).is_err());
    }
}
