//! Instagram `changes`: `comments` / `live_comments` (incl. replies) and `mentions`.
//! Instagram direct messages share Messenger's shape: see [`super::messaging`].

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::wire::WireId;
use crate::core::{
    AccountId, Customer, CustomerId, InboundItem, ItemKind, Network, NetworkChange,
    NetworkEnvelope, NetworkItemId,
};

/// A comment (or a reply: `parent_id`) on one of the account's media.
///
/// Instagram gives no permalink for a comment and no time of its own: `entry.time` is used.
pub(super) fn normalise_comment(
    account: &str,
    entry_time: Option<DateTime<Utc>>,
    value: serde_json::Value,
) -> Result<NetworkEnvelope, String> {
    let value: CommentValue =
        serde_json::from_value(value).map_err(|e| format!("malformed comment value: {e}"))?;
    let item_id = NetworkItemId::new(value.id.0);
    let from = value
        .from
        .ok_or_else(|| format!("comment {item_id} without an author"))?;
    if from.id.as_str() == account {
        return Err(format!("the account's own comment ({item_id})"));
    }
    let post_id = value
        .media
        .map(|m| NetworkItemId::new(m.id.0))
        .ok_or_else(|| format!("comment {item_id} without a media id"))?;
    let created_at = entry_time.ok_or_else(|| format!("comment {item_id} without a time"))?;
    Ok(NetworkEnvelope {
        dedupe_key: format!("instagram:{item_id}:add"),
        change: NetworkChange::New {
            item: InboundItem {
                network: Network::Instagram,
                account: AccountId::new(account),
                item_id,
                kind: ItemKind::Comment,
                post_id,
                customer: Customer {
                    id: CustomerId::new(from.id.0),
                    name: from.username.filter(|n| !n.is_empty()),
                },
                text: value.text.unwrap_or_default(),
                created_at,
                permalink: None,
                attachments: Vec::new(),
                context: Default::default(),
            },
        },
    })
}

/// The account was @mentioned in a comment (`comment_id`) or a caption (`media_id` only).
///
/// The webhook carries neither the text nor the author: the item is emitted with an empty
/// text and a customer standing for "whoever mentioned us on this media"
/// (`unknown:<media id>`); fetching the details is the API's job, not the parser's.
pub(super) fn normalise_mention(
    account: &str,
    entry_time: Option<DateTime<Utc>>,
    value: serde_json::Value,
) -> Result<NetworkEnvelope, String> {
    let value: MentionValue =
        serde_json::from_value(value).map_err(|e| format!("malformed mentions value: {e}"))?;
    let post_id = NetworkItemId::new(value.media_id.0);
    let item_id = value
        .comment_id
        .map(|c| NetworkItemId::new(c.0))
        .unwrap_or_else(|| post_id.clone());
    let created_at = entry_time.ok_or_else(|| format!("mention {item_id} without a time"))?;
    Ok(NetworkEnvelope {
        dedupe_key: format!("instagram:{item_id}:add"),
        change: NetworkChange::New {
            item: InboundItem {
                network: Network::Instagram,
                account: AccountId::new(account),
                item_id,
                kind: ItemKind::Mention,
                customer: Customer {
                    id: CustomerId::unknown_author_of(&post_id),
                    name: None,
                },
                post_id,
                text: String::new(),
                created_at,
                permalink: None,
                attachments: Vec::new(),
                context: Default::default(),
            },
        },
    })
}

#[derive(Debug, Deserialize)]
struct CommentValue {
    id: WireId,
    #[serde(default)]
    from: Option<CommentFrom>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    media: Option<CommentMedia>,
    // `parent_id` (a reply's top-level comment) is not needed: a reply goes to the same
    // ticket through its media and author, and Instagram attaches replies to the top level.
}

#[derive(Debug, Deserialize)]
struct CommentFrom {
    id: WireId,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CommentMedia {
    id: WireId,
}

#[derive(Debug, Deserialize)]
struct MentionValue {
    media_id: WireId,
    #[serde(default)]
    comment_id: Option<WireId>,
}
