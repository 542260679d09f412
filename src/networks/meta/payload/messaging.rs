//! Messenger and Instagram direct messages: `entry[].messaging[]` / `standby[]` events (and the
//! same event as a `changes[].value`, as the App Dashboard's test button sends it).
//!
//! One shape for both networks; only the network, the echo wording and the read receipt
//! differ (Messenger reads carry a `watermark`, Instagram reads the `mid` that was seen).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::wire::{WireId, WireMillis};
use crate::core::{
    AccountId, Attachment, Customer, CustomerId, InboundItem, ItemKind, Network, NetworkChange,
    NetworkEnvelope, NetworkItemId, ReceiptStatus,
};

/// Turns one messaging event into an envelope, or says why it was skipped.
///
/// `account` is `entry.id` (Page id or Instagram account id); `entry_time` stands in for an
/// event without a `timestamp`.
pub(super) fn normalise_event(
    network: Network,
    account: &str,
    entry_time: Option<DateTime<Utc>>,
    event: serde_json::Value,
) -> Result<NetworkEnvelope, String> {
    let event: WireEvent =
        serde_json::from_value(event).map_err(|e| format!("malformed messaging event: {e}"))?;
    let net = network.as_str();
    let what = event.what();
    let Some(sender) = event.sender.map(|s| s.id) else {
        return Err(format!("{what} event without a sender"));
    };
    let own_account = sender.as_str() == account;
    let at = event.timestamp.map(|t| t.at).or(entry_time);
    let customer = Customer {
        id: CustomerId::new(sender.as_str()),
        name: None,
    };
    let account_id = AccountId::new(account);

    if let Some(message) = event.message {
        let mid = message
            .mid
            .ok_or_else(|| "message without a mid".to_owned())?;
        if message.is_echo || own_account {
            return Err(format!("{} (echo {})", own_message(network), mid.as_str()));
        }
        let item_id = NetworkItemId::new(mid.0);
        if message.is_deleted {
            return Ok(NetworkEnvelope {
                dedupe_key: format!("{net}:msg:{item_id}:remove"),
                change: NetworkChange::Removed {
                    network,
                    account: account_id,
                    item_id,
                },
            });
        }
        let text = message.text.unwrap_or_default();
        let mut attachments: Vec<Attachment> = message
            .attachments
            .unwrap_or_default()
            .into_iter()
            .map(WireAttachment::normalise)
            .collect();
        if let Some(story) = message.reply_to.and_then(|r| r.story) {
            attachments.push(Attachment {
                kind: "story_reply".into(),
                url: story.url,
                media_id: story.id.map(|id| id.0),
                caption: None,
                mime_type: None,
            });
        }
        if text.is_empty() && attachments.is_empty() {
            return Err(format!(
                "message {item_id} has neither text nor attachments"
            ));
        }
        let created_at = at.ok_or_else(|| format!("message {item_id} without a timestamp"))?;
        return Ok(new_dm(
            network,
            account_id,
            item_id,
            customer,
            text,
            created_at,
            attachments,
        ));
    }

    if let Some(postback) = event.postback {
        if own_account {
            return Err(format!("{} (postback)", own_message(network)));
        }
        let created_at = at.ok_or_else(|| "postback without a timestamp".to_owned())?;
        let item_id = match (postback.mid, event.timestamp) {
            (Some(mid), _) => NetworkItemId::new(mid.0),
            // Older postbacks carry no id; sender and time identify them across redeliveries.
            (None, Some(ts)) => NetworkItemId::new(format!("postback:{sender}:{}", ts.raw)),
            (None, None) => return Err("postback without a mid or a timestamp".to_owned()),
        };
        let text = [postback.title, postback.payload]
            .into_iter()
            .flatten()
            .find(|t| !t.trim().is_empty())
            .ok_or_else(|| format!("postback {item_id} without a title or payload"))?;
        return Ok(new_dm(
            network,
            account_id,
            item_id,
            customer,
            text,
            created_at,
            Vec::new(),
        ));
    }

    if let Some(edit) = event.message_edit {
        // The customer edited a message (Messenger `message_edits`): the text changes.
        let mid = edit
            .mid
            .ok_or_else(|| "message_edit without a mid".to_owned())?;
        if own_account {
            return Err(format!("{} (edit {})", own_message(network), mid.as_str()));
        }
        let text = edit.text.unwrap_or_default();
        let hash = Sha256::digest(text.as_bytes());
        return Ok(NetworkEnvelope {
            dedupe_key: format!(
                "{net}:msg:{}:edit:{}",
                mid.as_str(),
                &hex::encode(hash)[..16]
            ),
            change: NetworkChange::Edited {
                network,
                account: account_id,
                item_id: NetworkItemId::new(mid.0),
                text,
                rating: None,
            },
        });
    }

    if let Some(reaction) = event.reaction {
        return Err(format!(
            "reaction {:?} {} to {} is not handled",
            reaction.action.unwrap_or_default(),
            reaction.emoji.or(reaction.reaction).unwrap_or_default(),
            reaction.mid.map(|m| m.0).unwrap_or_else(|| "?".into()),
        ));
    }

    if let Some(read) = event.read {
        let ids: Vec<NetworkItemId> = read
            .mid
            .iter()
            .map(|m| NetworkItemId::new(m.as_str()))
            .collect();
        let mark = match (&read.watermark, &read.mid) {
            (Some(w), _) => w.raw.to_string(),
            (None, Some(mid)) => mid.0.clone(),
            (None, None) => return Err("read receipt without a watermark or mid".to_owned()),
        };
        return Ok(NetworkEnvelope {
            dedupe_key: format!("{net}:read:{sender}:{mark}"),
            change: NetworkChange::Receipt {
                network,
                account: account_id,
                customer: Some(customer.id),
                ids,
                watermark: read.watermark.map(|w| w.at),
                status: ReceiptStatus::Read,
            },
        });
    }

    if let Some(delivery) = event.delivery {
        let mids = delivery.mids.unwrap_or_default();
        let mark = match (mids.as_slice(), &delivery.watermark) {
            ([mid], _) => mid.0.clone(),
            (_, Some(w)) => format!("{sender}:{}", w.raw),
            ([], None) => return Err("delivery receipt without mids or a watermark".to_owned()),
            (mids, None) => mids
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(","),
        };
        return Ok(NetworkEnvelope {
            dedupe_key: format!("{net}:delivery:{mark}"),
            change: NetworkChange::Receipt {
                network,
                account: account_id,
                customer: Some(customer.id),
                ids: mids.into_iter().map(|m| NetworkItemId::new(m.0)).collect(),
                watermark: delivery.watermark.map(|w| w.at),
                status: ReceiptStatus::Delivered,
            },
        });
    }

    Err(format!("{what} event is not handled"))
}

fn own_message(network: Network) -> &'static str {
    match network {
        Network::Facebook => "the Page's own message",
        _ => "the account's own message",
    }
}

fn new_dm(
    network: Network,
    account: AccountId,
    item_id: NetworkItemId,
    customer: Customer,
    text: String,
    created_at: DateTime<Utc>,
    attachments: Vec<Attachment>,
) -> NetworkEnvelope {
    NetworkEnvelope {
        dedupe_key: format!("{}:msg:{item_id}", network.as_str()),
        change: NetworkChange::New {
            item: InboundItem {
                network,
                account,
                post_id: item_id.clone(),
                item_id,
                kind: ItemKind::DirectMessage,
                customer,
                text,
                created_at,
                permalink: None,
                attachments,
                context: Default::default(),
            },
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Wire structs

#[derive(Debug, Deserialize)]
struct WireEvent {
    #[serde(default)]
    sender: Option<WireParty>,
    #[serde(default)]
    timestamp: Option<WireMillis>,
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    postback: Option<WirePostback>,
    #[serde(default)]
    reaction: Option<WireReaction>,
    #[serde(default)]
    read: Option<WireRead>,
    #[serde(default)]
    delivery: Option<WireDelivery>,
    #[serde(default)]
    message_edit: Option<WireMessageEdit>,
    /// Everything else (`recipient`, `optin`, `referral`, …), named in notes.
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

impl WireEvent {
    /// What the event is, for notes: its keys other than sender, recipient and timestamp.
    fn what(&self) -> String {
        let mut keys: Vec<&str> = [
            ("message", self.message.is_some()),
            ("postback", self.postback.is_some()),
            ("reaction", self.reaction.is_some()),
            ("read", self.read.is_some()),
            ("delivery", self.delivery.is_some()),
            ("message_edit", self.message_edit.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, present)| present.then_some(k))
        .chain(
            self.other
                .keys()
                .map(String::as_str)
                .filter(|k| *k != "recipient"),
        )
        .collect();
        keys.sort_unstable();
        if keys.is_empty() {
            "an empty".to_owned()
        } else {
            format!("`{}`", keys.join("`/`"))
        }
    }
}

/// Messenger `message_edits`: `{"mid": …, "text": …, "num_edit": n}`.
#[derive(Debug, Deserialize)]
struct WireMessageEdit {
    #[serde(default)]
    mid: Option<WireId>,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireParty {
    id: WireId,
}

#[derive(Debug, Deserialize)]
struct WireMessage {
    #[serde(default)]
    mid: Option<WireId>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    is_echo: bool,
    /// Instagram: the customer unsent the message.
    #[serde(default)]
    is_deleted: bool,
    #[serde(default)]
    attachments: Option<Vec<WireAttachment>>,
    /// Instagram story replies.
    #[serde(default)]
    reply_to: Option<WireReplyTo>,
    // `quick_reply.payload` is deliberately not read: the text the customer tapped is what a
    // teammate needs; the payload is the bot-builder's own code.
}

#[derive(Debug, Deserialize)]
struct WireAttachment {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    payload: Option<WireAttachmentPayload>,
}

#[derive(Debug, Default, Deserialize)]
struct WireAttachmentPayload {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    coordinates: Option<WireCoordinates>,
}

#[derive(Debug, Deserialize)]
struct WireCoordinates {
    lat: f64,
    long: f64,
}

impl WireAttachment {
    fn normalise(self) -> Attachment {
        let payload = self.payload.unwrap_or_default();
        let caption = match payload.coordinates {
            Some(c) => Some(format!("{},{}", c.lat, c.long)),
            None => self.title.or(payload.title),
        };
        Attachment {
            kind: self.kind.unwrap_or_else(|| "unknown".into()),
            url: payload.url,
            media_id: None,
            caption: caption.filter(|c| !c.is_empty()),
            mime_type: None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct WireReplyTo {
    #[serde(default)]
    story: Option<WireStory>,
}

#[derive(Debug, Deserialize)]
struct WireStory {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    id: Option<WireId>,
}

#[derive(Debug, Deserialize)]
struct WirePostback {
    #[serde(default)]
    mid: Option<WireId>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    payload: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireReaction {
    #[serde(default)]
    mid: Option<WireId>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    emoji: Option<String>,
    #[serde(default)]
    reaction: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireRead {
    #[serde(default)]
    watermark: Option<WireMillis>,
    /// Instagram: the message that was seen.
    #[serde(default)]
    mid: Option<WireId>,
}

#[derive(Debug, Deserialize)]
struct WireDelivery {
    #[serde(default)]
    mids: Option<Vec<WireId>>,
    #[serde(default)]
    watermark: Option<WireMillis>,
}
