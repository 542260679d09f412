//! WhatsApp Cloud API: the `messages` field of a `whatsapp_business_account` entry, carrying
//! customers' `messages[]` (with `contacts[]` naming them) and `statuses[]` of ours.
//!
//! The account is the business phone number (`metadata.phone_number_id`), the one replies are
//! sent from. A customer is their phone number (`from` / `wa_id`), or since 2026, when
//! WhatsApp hides it, their business-scoped user id (`from_user_id` / `user_id`, "BSUID").

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::wire::{WireId, WireTime};
use crate::core::{
    AccountId, Attachment, Customer, CustomerId, FailureReason, InboundItem, ItemKind, Network,
    NetworkChange, NetworkEnvelope, NetworkItemId, ReceiptStatus,
};

/// Error code: more than 24 h since the customer's last message; only a template may go.
const OUTSIDE_WINDOW: i64 = 131047;
/// Error codes meaning the customer cannot receive this message (not on WhatsApp, old app,
/// blocked us, …): 131026 "Receiver is incapable of receiving this message".
const RECIPIENT_UNAVAILABLE: [i64; 1] = [131026];
/// Error code: Cloud API does not support the message type (Meta's unsupported-messages
/// webhook reference).
const UNSUPPORTED_MESSAGE_TYPE: i64 = 131051;

/// Each message and status of one `messages` change value, as an envelope or a note.
/// Notes are prefixed `message #j` / `status #j`; a note about the value as a whole has none.
pub(super) fn normalise_value(value: serde_json::Value) -> Vec<Result<NetworkEnvelope, String>> {
    let value: MessagesValue = match serde_json::from_value(value) {
        Ok(value) => value,
        Err(e) => return vec![Err(format!("malformed messages value: {e}"))],
    };
    let mut out = Vec::new();
    for error in value.errors.iter().flatten() {
        out.push(Err(format!("webhook error {}", error.describe())));
    }
    let messages = value.messages.unwrap_or_default();
    let statuses = value.statuses.unwrap_or_default();
    let Some(account) = value.metadata.and_then(|m| m.phone_number_id) else {
        if !messages.is_empty() || !statuses.is_empty() {
            out.push(Err(format!(
                "{} messages and {} statuses without metadata.phone_number_id",
                messages.len(),
                statuses.len()
            )));
        }
        return out;
    };
    let account = AccountId::new(account.0);
    let contacts = value.contacts.unwrap_or_default();

    for (index, raw) in messages.into_iter().enumerate() {
        out.push(
            serde_json::from_value::<WireMessage>(raw)
                .map_err(|e| format!("malformed message: {e}"))
                .and_then(|m| normalise_message(&account, &contacts, m))
                .map_err(|why| format!("message #{index}: {why}")),
        );
    }
    for (index, raw) in statuses.into_iter().enumerate() {
        out.push(
            serde_json::from_value::<WireStatus>(raw)
                .map_err(|e| format!("malformed status: {e}"))
                .and_then(|s| normalise_status(&account, s))
                .map_err(|why| format!("status #{index}: {why}")),
        );
    }
    out
}

fn normalise_message(
    account: &AccountId,
    contacts: &[WireContact],
    message: WireMessage,
) -> Result<NetworkEnvelope, String> {
    let item_id = NetworkItemId::new(message.id.0);
    // The phone number when WhatsApp shares it, so existing conversations keep their key.
    let customer_id = message
        .from
        .or(message.from_user_id)
        .ok_or_else(|| format!("message {item_id} without `from` or `from_user_id`"))?;
    let name = contacts
        .iter()
        .find(|c| {
            [&c.wa_id, &c.user_id]
                .into_iter()
                .flatten()
                .any(|id| id == &customer_id)
        })
        .and_then(|c| c.profile.as_ref())
        .and_then(|p| p.name.clone())
        .filter(|n| !n.is_empty());
    let created_at: DateTime<Utc> = message
        .timestamp
        .map(|t| t.0)
        .ok_or_else(|| format!("message {item_id} without a timestamp"))?;

    let kind = message.kind.as_deref().unwrap_or("");
    let (text, attachments) = match kind {
        "text" => (
            message.text.and_then(|t| t.body).unwrap_or_default(),
            vec![],
        ),
        "image" | "video" | "audio" | "document" | "sticker" => {
            let media = match kind {
                "image" => message.image,
                "video" => message.video,
                "audio" => message.audio,
                "document" => message.document,
                _ => message.sticker,
            }
            .ok_or_else(|| format!("{kind} message {item_id} without its `{kind}` object"))?;
            let text = media.caption.clone().unwrap_or_default();
            let attachment = Attachment {
                kind: kind.to_owned(),
                url: None,
                media_id: media.id.map(|id| id.0),
                // The caption is the message's text; a document's file name says more here.
                caption: media.filename.or(media.caption).filter(|c| !c.is_empty()),
                mime_type: media.mime_type,
            };
            (text, vec![attachment])
        }
        "location" => {
            let location = message
                .location
                .ok_or_else(|| format!("location message {item_id} without `location`"))?;
            let place = location.name.or(location.address).unwrap_or_default();
            let caption = format!("{},{} {place}", location.latitude, location.longitude);
            let attachment = Attachment {
                kind: "location".into(),
                url: None,
                media_id: None,
                caption: Some(caption.trim_end().to_owned()),
                mime_type: None,
            };
            (String::new(), vec![attachment])
        }
        "contacts" => {
            let cards = message
                .contacts
                .unwrap_or_default()
                .into_iter()
                .map(|card| Attachment {
                    kind: "contact".into(),
                    url: None,
                    media_id: None,
                    caption: card.name.and_then(|n| n.formatted_name),
                    mime_type: None,
                })
                .collect();
            (String::new(), cards)
        }
        "interactive" => {
            let interactive = message.interactive.unwrap_or_default();
            let title = [interactive.button_reply, interactive.list_reply]
                .into_iter()
                .flatten()
                .find_map(|reply| reply.title)
                .or(interactive.nfm_reply.and_then(|r| r.body))
                .ok_or_else(|| {
                    format!(
                        "interactive {:?} message {item_id} is not handled",
                        interactive.kind.unwrap_or_default()
                    )
                })?;
            (title, vec![])
        }
        "button" => (
            message
                .button
                .and_then(|b| b.text.or(b.payload))
                .unwrap_or_default(),
            vec![],
        ),
        "reaction" => {
            let reaction = message.reaction.unwrap_or_default();
            return Err(format!(
                "reaction {} to {} is not handled",
                reaction.emoji.unwrap_or_default(),
                reaction
                    .message_id
                    .map(|m| m.0)
                    .unwrap_or_else(|| "?".into())
            ));
        }
        "system" | "unsupported" => {
            let what = match message.errors.as_deref() {
                Some([error, ..]) => error.describe(),
                _ => message
                    .system
                    .and_then(|s| s.body.or(s.kind))
                    .unwrap_or_else(|| "no detail".into()),
            };
            return Err(format!("{kind} message {item_id} is not handled ({what})"));
        }
        other => return Err(format!("{other:?} message {item_id} is not handled")),
    };
    if text.is_empty() && attachments.is_empty() {
        return Err(format!("{kind} message {item_id} without content"));
    }
    Ok(NetworkEnvelope {
        dedupe_key: format!("whatsapp:msg:{item_id}"),
        change: NetworkChange::New {
            item: InboundItem {
                network: Network::Whatsapp,
                account: account.clone(),
                post_id: item_id.clone(),
                item_id,
                kind: ItemKind::DirectMessage,
                customer: Customer {
                    id: CustomerId::new(customer_id.0),
                    name,
                },
                text,
                created_at,
                permalink: None,
                attachments,
                context: Default::default(),
            },
        },
    })
}

fn normalise_status(account: &AccountId, status: WireStatus) -> Result<NetworkEnvelope, String> {
    let id = status.id.0;
    let name = status.status.unwrap_or_default();
    let receipt = match name.as_str() {
        "sent" => ReceiptStatus::Sent,
        "delivered" => ReceiptStatus::Delivered,
        "read" => ReceiptStatus::Read,
        "failed" => ReceiptStatus::Failed(match status.errors.as_deref() {
            Some([error, ..]) => failure_reason(error),
            _ => FailureReason::Other("WhatsApp reported a failure without an error".into()),
        }),
        other => return Err(format!("status {other:?} of {id} is not handled")),
    };
    Ok(NetworkEnvelope {
        dedupe_key: format!("whatsapp:status:{id}:{name}"),
        change: NetworkChange::Receipt {
            network: Network::Whatsapp,
            account: account.clone(),
            customer: status
                .recipient_id
                .or(status.recipient_user_id)
                .map(|c| CustomerId::new(c.0)),
            ids: vec![NetworkItemId::new(id)],
            watermark: None,
            status: receipt,
        },
    })
}

fn failure_reason(error: &WireError) -> FailureReason {
    match error.code {
        Some(OUTSIDE_WINDOW) => FailureReason::OutsideWindow,
        Some(UNSUPPORTED_MESSAGE_TYPE) => FailureReason::UnsupportedMessageType,
        Some(code) if RECIPIENT_UNAVAILABLE.contains(&code) => FailureReason::RecipientUnavailable,
        _ => {
            let title = error
                .title
                .clone()
                .or_else(|| error.message.clone())
                .unwrap_or_else(|| "Unknown error".into());
            FailureReason::Rejected(match error.details() {
                Some(details) if details != title => format!("{title}: {details}"),
                _ => title,
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Wire structs

#[derive(Debug, Deserialize)]
struct MessagesValue {
    #[serde(default)]
    metadata: Option<WireMetadata>,
    #[serde(default)]
    contacts: Option<Vec<WireContact>>,
    /// Parsed one by one, so one odd message does not drop the others.
    #[serde(default)]
    messages: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    statuses: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    errors: Option<Vec<WireError>>,
}

#[derive(Debug, Deserialize)]
struct WireMetadata {
    #[serde(default)]
    phone_number_id: Option<WireId>,
}

#[derive(Debug, Deserialize)]
struct WireContact {
    #[serde(default)]
    profile: Option<WireProfile>,
    #[serde(default)]
    wa_id: Option<WireId>,
    /// Business-scoped user id (2026).
    #[serde(default)]
    user_id: Option<WireId>,
}

#[derive(Debug, Deserialize)]
struct WireProfile {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireMessage {
    id: WireId,
    #[serde(default)]
    from: Option<WireId>,
    /// Business-scoped user id (2026), alongside or instead of `from`.
    #[serde(default)]
    from_user_id: Option<WireId>,
    #[serde(default)]
    timestamp: Option<WireTime>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    text: Option<WireText>,
    #[serde(default)]
    image: Option<WireMedia>,
    #[serde(default)]
    video: Option<WireMedia>,
    #[serde(default)]
    audio: Option<WireMedia>,
    #[serde(default)]
    document: Option<WireMedia>,
    #[serde(default)]
    sticker: Option<WireMedia>,
    #[serde(default)]
    location: Option<WireLocation>,
    #[serde(default)]
    contacts: Option<Vec<WireContactCard>>,
    #[serde(default)]
    interactive: Option<WireInteractive>,
    #[serde(default)]
    button: Option<WireButton>,
    #[serde(default)]
    reaction: Option<WireReaction>,
    #[serde(default)]
    system: Option<WireSystem>,
    #[serde(default)]
    errors: Option<Vec<WireError>>,
}

#[derive(Debug, Deserialize)]
struct WireText {
    #[serde(default)]
    body: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireMedia {
    #[serde(default)]
    id: Option<WireId>,
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    filename: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireLocation {
    latitude: f64,
    longitude: f64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    address: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireContactCard {
    #[serde(default)]
    name: Option<WireContactName>,
}

#[derive(Debug, Deserialize)]
struct WireContactName {
    #[serde(default)]
    formatted_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireInteractive {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    button_reply: Option<WireReply>,
    #[serde(default)]
    list_reply: Option<WireReply>,
    /// WhatsApp Flows: `body` is the text shown in the chat ("Sent").
    #[serde(default)]
    nfm_reply: Option<WireFlowReply>,
}

#[derive(Debug, Deserialize)]
struct WireReply {
    #[serde(default)]
    title: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireFlowReply {
    #[serde(default)]
    body: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireButton {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    payload: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireReaction {
    #[serde(default)]
    message_id: Option<WireId>,
    #[serde(default)]
    emoji: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireSystem {
    #[serde(default)]
    body: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireStatus {
    id: WireId,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    recipient_id: Option<WireId>,
    /// Business-scoped user id (2026).
    #[serde(default)]
    recipient_user_id: Option<WireId>,
    #[serde(default)]
    errors: Option<Vec<WireError>>,
}

#[derive(Debug, Deserialize)]
struct WireError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error_data: Option<WireErrorData>,
}

#[derive(Debug, Deserialize)]
struct WireErrorData {
    #[serde(default)]
    details: Option<String>,
}

impl WireError {
    fn details(&self) -> Option<String> {
        self.error_data
            .as_ref()
            .and_then(|d| d.details.clone())
            .or_else(|| self.message.clone())
            .filter(|d| !d.is_empty())
    }

    /// `131051 (Unsupported message type: Message type is not currently supported)`.
    fn describe(&self) -> String {
        let code = self.code.map_or_else(|| "?".to_owned(), |c| c.to_string());
        let title = self.title.clone().unwrap_or_default();
        match self.details() {
            Some(d) if d != title => format!("{code} ({title}: {d})"),
            _ => format!("{code} ({title})"),
        }
    }
}
