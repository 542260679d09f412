//! Facebook Page webhook payloads: wire structs, and their normalisation into core envelopes.
//!
//! Call [`parse`] only after [`super::signature::verify`] accepted the raw body.
//!
//! Invariants:
//! - Only a body that is not JSON, or not a `{"object": …, "entry": […]}` object, is an error.
//!   Anything else we do not handle (other objects, fields, items, verbs, Messenger entries,
//!   malformed single changes) becomes a note in [`Parsed::ignored`], so the webhook still
//!   answers 200 and Meta does not redeliver forever.
//! - The Page's own comments and posts never become [`NetworkChange::New`] (no bot loops).
//! - Every change of a batched delivery is looked at; one bad change does not drop the others.
//! - `dedupe_key` is built only from the network's ids (and, for edits, the new text), so a
//!   redelivery yields the same key.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};
use url::Url;

use crate::core::{
    AccountId, Customer, CustomerId, InboundItem, ItemKind, Network, NetworkChange,
    NetworkEnvelope, NetworkItemId,
};

/// The result of parsing one webhook delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The changes to hand to the inbox, in delivery order.
    pub envelopes: Vec<NetworkEnvelope>,
    /// Human-readable notes on what was skipped and why, for debug logging.
    pub ignored: Vec<String>,
}

/// The body is not a Meta webhook notification at all.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("Meta webhook body is not valid JSON")]
    Json(#[source] serde_json::Error),
    #[error("Meta webhook body is not a {{\"object\", \"entry\": [...]}} notification")]
    Shape(#[source] serde_json::Error),
}

/// Parses a verified Meta webhook body into normalised envelopes.
pub fn parse(body: &[u8]) -> Result<Parsed, ParseError> {
    let notification: WireNotification = serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            ParseError::Shape(e)
        } else {
            ParseError::Json(e)
        }
    })?;

    let mut parsed = Parsed::default();
    if notification.object != "page" {
        parsed.ignored.push(format!(
            "object {:?} is not handled ({} entries skipped)",
            notification.object,
            notification.entry.len()
        ));
        return Ok(parsed);
    }

    for (entry_index, raw_entry) in notification.entry.into_iter().enumerate() {
        let entry: WireEntry = match from_value(raw_entry) {
            Ok(entry) => entry,
            Err(e) => {
                parsed
                    .ignored
                    .push(format!("entry #{entry_index}: malformed entry: {e}"));
                continue;
            }
        };
        let page = entry.id.0.as_str();
        let Some(changes) = entry.changes else {
            let what = if entry.messaging.is_some() {
                "Messenger `messaging` events are not handled"
            } else if entry.standby.is_some() {
                "handover `standby` events are not handled"
            } else {
                "entry has no `changes`"
            };
            parsed.ignored.push(format!("entry {page}: {what}"));
            continue;
        };

        for (change_index, raw_change) in changes.into_iter().enumerate() {
            let context = format!("entry {page}, change #{change_index}");
            let change: WireChange = match from_value(raw_change) {
                Ok(change) => change,
                Err(e) => {
                    parsed
                        .ignored
                        .push(format!("{context}: malformed change: {e}"));
                    continue;
                }
            };
            if change.field != "feed" {
                parsed.ignored.push(format!(
                    "{context}: field {:?} is not handled",
                    change.field
                ));
                continue;
            }
            let value: FeedValue = match from_value(change.value) {
                Ok(value) => value,
                Err(e) => {
                    parsed
                        .ignored
                        .push(format!("{context}: malformed feed value: {e}"));
                    continue;
                }
            };
            match normalise_feed(page, entry.time.map(|t| t.0), value) {
                Ok(envelope) => parsed.envelopes.push(envelope),
                Err(why) => parsed.ignored.push(format!("{context}: {why}")),
            }
        }
    }
    Ok(parsed)
}

// ---------------------------------------------------------------------------------------------
// Normalisation

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FeedItem {
    Comment,
    Post,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Add,
    Edit,
    Remove,
}

/// Turns one `feed` change into an envelope, or says why it was skipped.
fn normalise_feed(
    page: &str,
    entry_time: Option<DateTime<Utc>>,
    value: FeedValue,
) -> Result<NetworkEnvelope, String> {
    let item_name = value.item.as_deref().unwrap_or("");
    let verb_name = value.verb.as_deref().unwrap_or("");
    let item = match item_name {
        "comment" => FeedItem::Comment,
        "post" | "status" | "photo" | "video" => FeedItem::Post,
        _ => return Err(format!("{item_name:?} {verb_name:?} is not handled")),
    };
    let verb = match verb_name {
        "add" => Verb::Add,
        "edited" | "edit" => Verb::Edit,
        "remove" => Verb::Remove,
        _ => return Err(format!("{item_name:?} {verb_name:?} is not handled")),
    };

    let post_id = value.post_id.map(|id| NetworkItemId::new(id.0));
    let item_id = match item {
        FeedItem::Comment => value.comment_id.map(|id| NetworkItemId::new(id.0)),
        FeedItem::Post => post_id.clone(),
    }
    .ok_or_else(|| match item {
        FeedItem::Comment => format!("{item_name:?} {verb_name:?} without a comment_id"),
        FeedItem::Post => format!("{item_name:?} {verb_name:?} without a post_id"),
    })?;

    let network = Network::Facebook;
    let account = AccountId::new(page);

    if verb == Verb::Remove {
        // Not filtered on the author: who Meta names in a removal is not documented (it may be
        // the moderator), and a removal of an item no ticket knows is harmless downstream.
        return Ok(NetworkEnvelope {
            dedupe_key: format!("facebook:{item_id}:remove"),
            change: NetworkChange::Removed {
                network,
                account,
                item_id,
            },
        });
    }

    let (from_id, from_name) = match value.from {
        Some(from) => (from.id, from.name),
        None => (None, None),
    };
    let author_id = from_id.or(value.sender_id).map(|id| id.0);
    let author_name = from_name.or(value.sender_name);
    let own = match item {
        FeedItem::Comment => "the Page's own comment",
        FeedItem::Post => "the Page's own post",
    };
    if author_id.as_deref() == Some(page) {
        return Err(format!("{own} ({verb_name} {item_id})"));
    }

    let text = value.message.unwrap_or_default();
    if verb == Verb::Edit {
        return Ok(NetworkEnvelope {
            dedupe_key: format!("facebook:{item_id}:edit:{}", short_hash(&text)),
            change: NetworkChange::Edited {
                network,
                account,
                item_id,
                text,
            },
        });
    }

    // Verb::Add
    let author_id =
        author_id.ok_or_else(|| format!("{item_name:?} add {item_id} without an author"))?;
    let post_id =
        post_id.ok_or_else(|| format!("{item_name:?} add {item_id} without a post_id"))?;
    if item == FeedItem::Post && text.is_empty() {
        return Err(format!("{item_name:?} add {item_id} without a message"));
    }
    let created_at = value
        .created_time
        .map(|t| t.0)
        .or(entry_time)
        .ok_or_else(|| format!("{item_name:?} add {item_id} without created_time or time"))?;
    let (kind, permalink) = match item {
        FeedItem::Comment => (ItemKind::Comment, comment_permalink(&post_id, &item_id)),
        FeedItem::Post => (ItemKind::VisitorPost, post_permalink(&post_id)),
    };
    let dedupe_key = format!("facebook:{item_id}:add");
    Ok(NetworkEnvelope {
        dedupe_key,
        change: NetworkChange::New {
            item: InboundItem {
                network,
                account,
                item_id,
                kind,
                post_id,
                customer: Customer {
                    id: CustomerId::new(author_id),
                    name: author_name.filter(|n| !n.is_empty()),
                },
                text,
                created_at,
                permalink,
                attachments: Vec::new(),
            },
        },
    })
}

/// First 8 bytes of SHA-256, as 16 lowercase hex digits.
fn short_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    hex::encode(&digest[..8])
}

/// `https://www.facebook.com/<page>_<post>` (Facebook resolves such ids).
fn post_permalink(post_id: &NetworkItemId) -> Option<String> {
    let mut url = Url::parse("https://www.facebook.com/").ok()?;
    url.path_segments_mut().ok()?.push(post_id.as_str());
    Some(url.into())
}

/// `https://www.facebook.com/<post id>?comment_id=<comment id>`.
fn comment_permalink(post_id: &NetworkItemId, comment_id: &NetworkItemId) -> Option<String> {
    let mut url = Url::parse(&post_permalink(post_id)?).ok()?;
    url.query_pairs_mut()
        .append_pair("comment_id", comment_id.as_str());
    Some(url.into())
}

fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(value)
}

// ---------------------------------------------------------------------------------------------
// Wire structs. Unknown fields are ignored: Meta adds fields without notice.

#[derive(Debug, Deserialize)]
struct WireNotification {
    object: String,
    /// Entries are parsed one by one, so one odd entry does not fail the whole delivery.
    #[serde(default)]
    entry: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct WireEntry {
    /// The Page id.
    id: WireId,
    #[serde(default)]
    time: Option<WireTime>,
    #[serde(default)]
    changes: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    messaging: Option<serde_json::Value>,
    #[serde(default)]
    standby: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct WireChange {
    field: String,
    #[serde(default)]
    value: serde_json::Value,
}

/// `value` of a `feed` change (comments, posts, reactions, …).
#[derive(Debug, Deserialize)]
struct FeedValue {
    #[serde(default)]
    item: Option<String>,
    #[serde(default)]
    verb: Option<String>,
    #[serde(default)]
    comment_id: Option<WireId>,
    #[serde(default)]
    post_id: Option<WireId>,
    #[serde(default)]
    from: Option<WireFrom>,
    /// Older payloads name the author with `sender_id`/`sender_name` instead of `from`.
    #[serde(default)]
    sender_id: Option<WireId>,
    #[serde(default)]
    sender_name: Option<String>,
    #[serde(default)]
    created_time: Option<WireTime>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireFrom {
    #[serde(default)]
    id: Option<WireId>,
    #[serde(default)]
    name: Option<String>,
}

/// A Graph id that arrives as a JSON string or a JSON number; kept as its decimal string.
#[derive(Debug, Clone, PartialEq, Eq)]
struct WireId(String);

impl<'de> Deserialize<'de> for WireId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = WireId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id as a non-empty string or a non-negative integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WireId, E> {
                let v = v.trim();
                if v.is_empty() {
                    return Err(E::invalid_value(de::Unexpected::Str(v), &self));
                }
                Ok(WireId(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WireId, E> {
                Ok(WireId(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WireId, E> {
                u64::try_from(v)
                    .map(|v| WireId(v.to_string()))
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// A timestamp as unix seconds (number or numeric string), or occasionally an ISO 8601 string
/// as the Graph API itself prints them (`2016-01-05T12:00:00+0000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WireTime(DateTime<Utc>);

impl<'de> Deserialize<'de> for WireTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;
        impl TimeVisitor {
            fn secs<E: de::Error>(&self, secs: i64) -> Result<WireTime, E> {
                DateTime::from_timestamp(secs, 0)
                    .map(WireTime)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Signed(secs), self))
            }
        }
        impl Visitor<'_> for TimeVisitor {
            type Value = WireTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("unix seconds as a number or string, or an ISO 8601 time")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WireTime, E> {
                self.secs(v)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WireTime, E> {
                let secs = i64::try_from(v)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))?;
                self.secs(secs)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<WireTime, E> {
                if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
                    // Exact: integral and well inside i64.
                    self.secs(v as i64)
                } else {
                    Err(E::invalid_value(de::Unexpected::Float(v), &self))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WireTime, E> {
                let v = v.trim();
                if let Ok(secs) = v.parse::<i64>() {
                    return self.secs(secs);
                }
                if let Ok(t) = DateTime::parse_from_rfc3339(v) {
                    return Ok(WireTime(t.with_timezone(&Utc)));
                }
                if let Ok(t) = DateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%z") {
                    return Ok(WireTime(t.with_timezone(&Utc)));
                }
                if let Ok(t) = NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S") {
                    return Ok(WireTime(t.and_utc()));
                }
                Err(E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        deserializer.deserialize_any(TimeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../../tests/fixtures/meta/", $name)).as_bytes()
        };
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).expect("valid test timestamp")
    }

    fn new_item(env: &NetworkEnvelope) -> &InboundItem {
        match &env.change {
            NetworkChange::New { item } => item,
            other => panic!("expected New, got {other:?}"),
        }
    }

    fn only(parsed: Parsed) -> NetworkEnvelope {
        assert_eq!(parsed.envelopes.len(), 1, "{parsed:#?}");
        assert!(parsed.ignored.is_empty(), "{:?}", parsed.ignored);
        parsed.envelopes.into_iter().next().expect("one envelope")
    }

    fn comment(
        item_id: &str,
        post_id: &str,
        customer: (&str, Option<&str>),
        text: &str,
        created: i64,
    ) -> InboundItem {
        InboundItem {
            network: Network::Facebook,
            account: AccountId::new("1234567890321"),
            item_id: NetworkItemId::new(item_id),
            kind: ItemKind::Comment,
            post_id: NetworkItemId::new(post_id),
            customer: Customer {
                id: CustomerId::new(customer.0),
                name: customer.1.map(str::to_owned),
            },
            text: text.to_owned(),
            created_at: at(created),
                        permalink: Some(format!(
                "https://www.facebook.com/{post_id}?comment_id={item_id}"
            )),
            attachments: Vec::new(),
        }
    }

    #[test]
    fn new_comments_from_customers() {
        let maria = ("6019283746501928", Some("Maria López"));
        let cases: [(&str, &[u8], InboundItem); 3] = [
            (
                "comment_add",
                fixture!("comment_add.json"),
                comment(
                    "901097836652708_903438993085259",
                    "1234567890321_901097836652708",
                    maria,
                    "Is the blue one still in stock? 💙",
                    1449135001,
                ),
            ),
            (
                "comment_add_numeric_ids",
                fixture!("comment_add_numeric_ids.json"),
                comment(
                    "901097836652708_903438993085260",
                    "1234567890321_901097836652708",
                    maria,
                    "and the next one",
                    1449135002,
                ),
            ),
            (
                "comment_reply",
                fixture!("comment_reply.json"),
                comment(
                    "901097836652708_903440126418479",
                    "1234567890321_901097836652708",
                    ("7730129384756102", Some("Sam Okafor")),
                    "Same question here, size M please",
                    1449136098,
                ),
            ),
        ];
        for (name, body, want) in cases {
            let env = only(parse(body).unwrap_or_else(|e| panic!("{name}: {e}")));
            assert_eq!(
                env.dedupe_key,
                format!("facebook:{}:add", want.item_id),
                "{name}"
            );
            assert_eq!(new_item(&env), &want, "{name}");
        }
    }

    #[test]
    fn comment_permalink_is_the_post_with_comment_id() {
        let env = only(parse(fixture!("comment_add.json")).expect("parses"));
        assert_eq!(
            new_item(&env).permalink.as_deref(),
            Some(
                "https://www.facebook.com/1234567890321_901097836652708?comment_id=901097836652708_903438993085259"
            )
        );
    }

    #[test]
    fn legacy_sender_edit() {
        let env = only(parse(fixture!("comment_edited_legacy.json")).expect("parses"));
        let text = "Let's see the Webhooks in action :D (edited)";
        assert_eq!(
            env.dedupe_key,
            format!(
                "facebook:900728623356296_900744590021366:edit:{}",
                short_hash(text)
            )
        );
        assert_eq!(
            env.change,
            NetworkChange::Edited {
                network: Network::Facebook,
                account: AccountId::new("1234567890321"),
                item_id: NetworkItemId::new("900728623356296_900744590021366"),
                text: text.to_owned(),
            }
        );
    }

    #[test]
    fn edit_keys_follow_the_text() {
        assert_eq!(short_hash("").len(), 16);
        // sha256("") = e3b0c44298fc1c14…
        assert_eq!(short_hash(""), "e3b0c44298fc1c14");
        let body = |text: &str| {
            format!(
                r#"{{"object":"page","entry":[{{"id":"1","time":1,"changes":[{{"field":"feed","value":{{"item":"comment","verb":"edited","comment_id":"2_3","post_id":"1_2","from":{{"id":"9"}},"message":"{text}"}}}}]}}]}}"#
            )
        };
        let key = |text: &str| only(parse(body(text).as_bytes()).expect("parses")).dedupe_key;
        assert_eq!(key("first"), key("first"), "a redelivery keeps its key");
        assert_ne!(key("first"), key("second"), "a second edit is a new key");
    }

    #[test]
    fn removed_comment() {
        let env = only(parse(fixture!("comment_remove.json")).expect("parses"));
        assert_eq!(
            env,
            NetworkEnvelope {
                dedupe_key: "facebook:901097836652708_903438993085259:remove".into(),
                change: NetworkChange::Removed {
                    network: Network::Facebook,
                    account: AccountId::new("1234567890321"),
                    item_id: NetworkItemId::new("901097836652708_903438993085259"),
                },
            }
        );
    }

    #[test]
    fn visitor_post_without_created_time_uses_entry_time() {
        let env = only(parse(fixture!("visitor_post.json")).expect("parses"));
        assert_eq!(env.dedupe_key, "facebook:1234567890321_7293787835232:add");
        assert_eq!(
            new_item(&env),
            &InboundItem {
                network: Network::Facebook,
                account: AccountId::new("1234567890321"),
                item_id: NetworkItemId::new("1234567890321_7293787835232"),
                kind: ItemKind::VisitorPost,
                post_id: NetworkItemId::new("1234567890321_7293787835232"),
                customer: Customer {
                    id: CustomerId::new("8423678347823"),
                    name: Some("John Doe".into()),
                },
                text: "Let's check this".into(),
                created_at: at(1454707020),
                permalink: Some("https://www.facebook.com/1234567890321_7293787835232".into()),
                attachments: Vec::new(),
            }
        );
    }

    #[test]
    fn the_pages_own_comment_is_never_new() {
        let parsed = parse(fixture!("page_own_comment.json")).expect("parses");
        assert_eq!(parsed.envelopes, vec![]);
        assert_eq!(
            parsed.ignored,
            vec![
                "entry 1234567890321, change #0: the Page's own comment \
                 (add 901097836652708_903438993085259)"
            ]
        );
    }

    #[test]
    fn batched_entries_and_changes_are_all_looked_at() {
        let parsed = parse(fixture!("batched.json")).expect("parses");
        let summary: Vec<(&str, &str)> = parsed
            .envelopes
            .iter()
            .map(|e| {
                let kind = match &e.change {
                    NetworkChange::New { .. } => "new",
                    NetworkChange::Edited { .. } => "edited",
                                        NetworkChange::Removed { .. } => "removed",
                    NetworkChange::Receipt { .. } => "receipt",
                };
                (e.dedupe_key.as_str(), kind)
            })
            .collect();
        let edit_key = format!(
            "facebook:9876543210987_1357913579:edit:{}",
            short_hash("Still waiting for a refund, 3 weeks now.")
        );
        assert_eq!(
            summary,
            vec![
                ("facebook:1234567890321_8800112233_9900112233:add", "new"),
                (edit_key.as_str(), "edited"),
                ("facebook:9876543210987_1122334455:add", "new"),
                ("facebook:1357913579_2468024699:remove", "removed"),
            ]
        );
        assert_eq!(
            parsed.ignored,
            vec![
                r#"entry 1234567890321, change #1: "reaction" "add" is not handled"#,
                r#"entry 1234567890321, change #2: field "mention" is not handled"#,
                "entry 1234567890321, change #3: the Page's own comment \
                 (add 1234567890321_8800112233_9900112244)",
                r#"entry 9876543210987, change #1: "comment" "hide" is not handled"#,
            ]
        );

        // The second entry's id arrived as a number; the photo is a visitor post.
        let photo = new_item(&parsed.envelopes[2]);
        assert_eq!(photo.account, AccountId::new("9876543210987"));
        assert_eq!(photo.kind, ItemKind::VisitorPost);
        assert_eq!(photo.customer.id, CustomerId::new("7730129384756102"));
        assert_eq!(photo.text, "This arrived broken");
        assert_eq!(photo.created_at, at(1700000170));
        match &parsed.envelopes[1].change {
            NetworkChange::Edited {
                account, item_id, ..
            } => {
                assert_eq!(account, &AccountId::new("9876543210987"));
                assert_eq!(item_id, &NetworkItemId::new("9876543210987_1357913579"));
            }
            other => panic!("expected Edited, got {other:?}"),
        }
    }

    #[test]
    fn unknown_object_is_ignored_not_an_error() {
        let parsed = parse(fixture!("unknown_object.json")).expect("parses");
        assert_eq!(parsed.envelopes, vec![]);
        assert_eq!(
            parsed.ignored,
            vec![r#"object "user" is not handled (1 entries skipped)"#]
        );
    }

    #[test]
    fn odd_but_valid_deliveries_are_notes() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "messenger entry",
                r#"{"object":"page","entry":[{"id":"1","time":1,"messaging":[{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"m_1","text":"hi"}}]}]}"#,
                "entry 1: Messenger `messaging` events are not handled",
            ),
            (
                "standby entry",
                r#"{"object":"page","entry":[{"id":"1","time":1,"standby":[]}]}"#,
                "entry 1: handover `standby` events are not handled",
            ),
            (
                "entry without id",
                r#"{"object":"page","entry":[{"time":1,"changes":[]}]}"#,
                "entry #0: malformed entry: missing field `id`",
            ),
            (
                "change with a bad created_time",
                r#"{"object":"page","entry":[{"id":"1","changes":[{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"2_3","post_id":"1_2","from":{"id":"9"},"created_time":"soon","message":"x"}}]}]}"#,
                "entry 1, change #0: malformed feed value: invalid value: string \"soon\", \
                 expected unix seconds as a number or string, or an ISO 8601 time",
            ),
            (
                "comment without author",
                r#"{"object":"page","entry":[{"id":"1","time":5,"changes":[{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"2_3","post_id":"1_2","message":"x"}}]}]}"#,
                r#"entry 1, change #0: "comment" add 2_3 without an author"#,
            ),
            (
                "comment without comment_id",
                r#"{"object":"page","entry":[{"id":"1","time":5,"changes":[{"field":"feed","value":{"item":"comment","verb":"add","post_id":"1_2","from":{"id":"9"}}}]}]}"#,
                r#"entry 1, change #0: "comment" "add" without a comment_id"#,
            ),
            (
                "visitor photo without a message",
                r#"{"object":"page","entry":[{"id":"1","time":5,"changes":[{"field":"feed","value":{"item":"photo","verb":"add","post_id":"1_2","from":{"id":"9"}}}]}]}"#,
                r#"entry 1, change #0: "photo" add 1_2 without a message"#,
            ),
            (
                "the Page's own post",
                r#"{"object":"page","entry":[{"id":1,"time":5,"changes":[{"field":"feed","value":{"item":"status","verb":"add","post_id":"1_2","sender_id":"1","message":"Sale!"}}]}]}"#,
                "entry 1, change #0: the Page's own post (add 1_2)",
            ),
            (
                "negative id",
                r#"{"object":"page","entry":[{"id":-1,"changes":[]}]}"#,
                "entry #0: malformed entry: invalid value: integer `-1`, expected an id as a \
                 non-empty string or a non-negative integer",
            ),
        ];
        for (name, body, note) in cases {
            let parsed = parse(body.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(parsed.envelopes, vec![], "{name}");
            assert_eq!(parsed.ignored, vec![note.to_string()], "{name}");
        }
    }

    #[test]
    fn numeric_ids_and_time_formats() {
        let body = |created: &str| {
            format!(
                r#"{{"object":"page","entry":[{{"id":1,"time":7,"changes":[{{"field":"feed","value":{{"item":"comment","verb":"add","comment_id":23,"post_id":12,"from":{{"id":9,"name":""}},"created_time":{created},"message":"x"}}}}]}}]}}"#
            )
        };
        let cases = [
            ("1449135003", at(1449135003)),
            ("\"1449135003\"", at(1449135003)),
            ("1449135003.0", at(1449135003)),
            ("\"2015-12-03T09:30:03+0000\"", at(1449135003)),
            ("\"2015-12-03T09:30:03Z\"", at(1449135003)),
            ("null", at(7)),
        ];
        for (created, want) in cases {
            let env = only(parse(body(created).as_bytes()).expect("parses"));
            let item = new_item(&env);
            assert_eq!(item.created_at, want, "created_time {created}");
            assert_eq!(item.item_id, NetworkItemId::new("23"));
            assert_eq!(item.post_id, NetworkItemId::new("12"));
            assert_eq!(item.account, AccountId::new("1"));
            assert_eq!(item.customer.id, CustomerId::new("9"));
            assert_eq!(item.customer.name, None, "an empty name is no name");
        }
    }

    #[test]
    fn only_broken_bodies_are_errors() {
        for (body, shape) in [
            (&b"not json"[..], false),
            (b"{\"object\":\"page\",\"entry\":[", false),
            (b"", false),
            (b"[]", true),
            (b"{\"entry\":[]}", true),
            (b"{\"object\":\"page\",\"entry\":{}}", true),
            (b"{\"object\":7,\"entry\":[]}", true),
        ] {
            match parse(body) {
                Err(ParseError::Shape(_)) if shape => {}
                Err(ParseError::Json(_)) if !shape => {}
                other => panic!("{:?}: unexpected {other:?}", String::from_utf8_lossy(body)),
            }
        }
    }

    #[test]
    fn signature_reference_body_parses_to_nothing() {
        let parsed =
            parse(br#"{"object":"page","entry":[{"id":"1","time":1700000000,"changes":[]}]}"#)
                .expect("parses");
        assert_eq!(parsed, Parsed::default());
    }
}
