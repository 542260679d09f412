//! Meta webhook payloads (Facebook Pages, Messenger, Instagram, WhatsApp Cloud API): wire
//! structs, and their normalisation into core envelopes.
//!
//! Call [`parse`] only after [`super::signature::verify`] accepted the raw body.
//!
//! | `object`                    | handled                                                    |
//! |-----------------------------|------------------------------------------------------------|
//! | `page`                      | `feed` and `mention` changes (`facebook`); `messaging[]`, `standby[]` (`messaging`) |
//! | `instagram`                 | `comments`, `live_comments`, `mentions` changes (`instagram`); `messaging[]`, `standby[]` |
//! | `whatsapp_business_account` | `messages` changes: messages and statuses (`whatsapp`)  |
//!
//! Invariants:
//! - Only a body that is not JSON, or not a `{"object": …, "entry": […]}` object, is an error.
//!   Anything else we do not handle (other objects, fields, items, verbs, event types,
//!   malformed single changes or events) becomes a note in [`Parsed::ignored`], so the webhook
//!   still answers 200 and Meta does not redeliver forever.
//! - The account's own comments, posts and messages (Messenger/Instagram echoes) never become
//!   [`crate::core::NetworkChange::New`] (no bot loops).
//! - Every entry, change, messaging event, WhatsApp message and status of a batched delivery
//!   is looked at; one bad one does not drop the others.
//! - `dedupe_key` is built only from the network's ids (and, for edits, the new text), so a
//!   redelivery yields the same key.

mod facebook;
mod instagram;
mod messaging;
#[cfg(test)]
mod tests_family;
mod whatsapp;
mod wire;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use self::facebook::FeedValue;
use self::wire::{WireChange, WireEntry, WireNotification};
use crate::core::{Network, NetworkEnvelope};

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

impl Parsed {
    fn push(&mut self, context: &str, result: Result<NetworkEnvelope, String>) {
        match result {
            Ok(envelope) => self.envelopes.push(envelope),
            Err(why) => self.ignored.push(format!("{context}: {why}")),
        }
    }
}

/// The Meta products a webhook `object` stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Object {
    Page,
    Instagram,
    Whatsapp,
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
    let object = match notification.object.as_str() {
        "page" => Object::Page,
        "instagram" => Object::Instagram,
        "whatsapp_business_account" => Object::Whatsapp,
        other => {
            parsed.ignored.push(format!(
                "object {other:?} is not handled ({} entries skipped)",
                notification.entry.len()
            ));
            return Ok(parsed);
        }
    };

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
        let account = entry.id.as_str();
        let entry_time = entry.time.map(|t| t.0);
        if entry.changes.is_none() && entry.messaging.is_none() && entry.standby.is_none() {
            parsed.ignored.push(format!(
                "entry {account}: entry has no `changes`, `messaging` or `standby`"
            ));
            continue;
        }

        for (change_index, raw_change) in entry.changes.into_iter().flatten().enumerate() {
            let context = format!("entry {account}, change #{change_index}");
            let change: WireChange = match from_value(raw_change) {
                Ok(change) => change,
                Err(e) => {
                    parsed
                        .ignored
                        .push(format!("{context}: malformed change: {e}"));
                    continue;
                }
            };
            parse_change(object, account, entry_time, change, &context, &mut parsed);
        }

        // Handover protocol: `standby` carries the same events while another app owns the
        // conversation; the customer still wrote to us.
        for (list, events) in [("messaging", entry.messaging), ("standby", entry.standby)] {
            for (index, event) in events.into_iter().flatten().enumerate() {
                let context = format!("entry {account}, {list} #{index}");
                let result = match messaging_network(object) {
                    Some(network) => {
                        messaging::normalise_event(network, account, entry_time, event)
                    }
                    None => Err(format!("`{list}` events are not handled for this object")),
                };
                parsed.push(&context, result);
            }
        }
    }
    Ok(parsed)
}

fn messaging_network(object: Object) -> Option<Network> {
    match object {
        Object::Page => Some(Network::Facebook),
        Object::Instagram => Some(Network::Instagram),
        Object::Whatsapp => None,
    }
}

/// Messaging fields whose `changes[].value` is one `messaging[]` event (the shape the App
/// Dashboard's "Test" button sends).
const MESSAGING_FIELDS: [&str; 8] = [
    "messages",
    "messaging_postbacks",
    "message_echoes",
    "message_reactions",
    "message_reads",
    "message_deliveries",
    "messaging_seen",
    "standby",
];

fn parse_change(
    object: Object,
    account: &str,
    entry_time: Option<DateTime<Utc>>,
    change: WireChange,
    context: &str,
    parsed: &mut Parsed,
) {
    let field = change.field.as_str();
    let result = match (object, field) {
        (Object::Page, "feed" | "mention") => match from_value::<FeedValue>(change.value) {
            Ok(value) if field == "feed" => facebook::normalise_feed(account, entry_time, value),
            Ok(value) => facebook::normalise_mention(account, entry_time, value),
            Err(e) => Err(format!("malformed {field} value: {e}")),
        },
        (Object::Instagram, "comments" | "live_comments") => {
            instagram::normalise_comment(account, entry_time, change.value)
        }
        (Object::Instagram, "mentions") => {
            instagram::normalise_mention(account, entry_time, change.value)
        }
        (Object::Page | Object::Instagram, f) if MESSAGING_FIELDS.contains(&f) => {
            let network = messaging_network(object).unwrap_or(Network::Facebook);
            messaging::normalise_event(network, account, entry_time, change.value)
        }
        (Object::Whatsapp, "messages") => {
            for result in whatsapp::normalise_value(change.value) {
                parsed.push(context, result);
            }
            return;
        }
        _ => Err(format!("field {field:?} is not handled")),
    };
    parsed.push(context, result);
}

/// First 8 bytes of SHA-256, as 16 lowercase hex digits.
fn short_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    hex::encode(&digest[..8])
}

fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{
        AccountId, Customer, CustomerId, InboundItem, ItemKind, NetworkChange, NetworkItemId,
    };

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
            context: Default::default(),
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
                rating: None,
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
                context: Default::default(),
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
                ("facebook:4445556667778_1112223334445:add", "new"),
                (edit_key.as_str(), "edited"),
                ("facebook:9876543210987_1122334455:add", "new"),
                ("facebook:1357913579_2468024699:remove", "removed"),
            ]
        );
        assert_eq!(
            parsed.ignored,
            vec![
                r#"entry 1234567890321, change #1: "reaction" "add" is not handled"#,
                "entry 1234567890321, change #3: the Page's own comment \
                 (add 1234567890321_8800112233_9900112244)",
                r#"entry 9876543210987, change #1: "comment" "hide" is not handled"#,
            ]
        );

        // The second entry's id arrived as a number; the photo is a visitor post.
        let photo = new_item(&parsed.envelopes[3]);
        assert_eq!(photo.account, AccountId::new("9876543210987"));
        assert_eq!(photo.kind, ItemKind::VisitorPost);
        assert_eq!(photo.customer.id, CustomerId::new("7730129384756102"));
        assert_eq!(photo.text, "This arrived broken");
        assert_eq!(photo.created_at, at(1700000170));
        match &parsed.envelopes[2].change {
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
                "entry with nothing in it",
                r#"{"object":"page","entry":[{"id":"1","time":1}]}"#,
                "entry 1: entry has no `changes`, `messaging` or `standby`",
            ),
            (
                "page mention of an unknown verb",
                r#"{"object":"page","entry":[{"id":"1","time":1,"changes":[{"field":"mention","value":{"item":"post","verb":"hide","post_id":"5_6"}}]}]}"#,
                r#"entry 1, change #0: mention "post" "hide" is not handled"#,
            ),
            (
                "messaging under a WhatsApp entry",
                r#"{"object":"whatsapp_business_account","entry":[{"id":"1","messaging":[{}]}]}"#,
                "entry 1, messaging #0: `messaging` events are not handled for this object",
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
