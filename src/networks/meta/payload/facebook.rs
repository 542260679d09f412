//! Facebook Page `changes`: the `feed` field (comments, visitor posts) and the `mention` field.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use url::Url;

use super::short_hash;
use super::wire::{WireId, WireTime};
use crate::core::{
    AccountId, Customer, CustomerId, InboundItem, ItemKind, Network, NetworkChange,
    NetworkEnvelope, NetworkItemId,
};

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
pub(super) fn normalise_feed(
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
                rating: None,
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
                context: Default::default(),
            },
        },
    })
}

/// Turns one Page `mention` change (the Page was @mentioned in a post or comment, possibly on
/// someone else's Page) into an envelope, or says why it was skipped.
///
/// The dedupe key is the one a `feed` comment add would get, so a mention inside a comment
/// on the Page's own post becomes one ticket, not two.
pub(super) fn normalise_mention(
    page: &str,
    entry_time: Option<DateTime<Utc>>,
    value: FeedValue,
) -> Result<NetworkEnvelope, String> {
    let item_name = value.item.as_deref().unwrap_or("");
    let verb_name = value.verb.as_deref().unwrap_or("add");
    let post_id = value
        .post_id
        .map(|id| NetworkItemId::new(id.0))
        .ok_or_else(|| format!("mention {item_name:?} {verb_name:?} without a post_id"))?;
    let comment_id = value.comment_id.map(|id| NetworkItemId::new(id.0));
    let item_id = comment_id.clone().unwrap_or_else(|| post_id.clone());
    let network = Network::Facebook;
    let account = AccountId::new(page);
    match verb_name {
        "add" => {}
        "remove" => {
            return Ok(NetworkEnvelope {
                dedupe_key: format!("facebook:{item_id}:remove"),
                change: NetworkChange::Removed {
                    network,
                    account,
                    item_id,
                },
            });
        }
        _ => {
            return Err(format!(
                "mention {item_name:?} {verb_name:?} is not handled"
            ));
        }
    }

    let (from_id, from_name) = match value.from {
        Some(from) => (from.id, from.name),
        None => (None, None),
    };
    let author_id = from_id.or(value.sender_id).map(|id| id.0);
    if author_id.as_deref() == Some(page) {
        return Err(format!("the Page's own mention ({item_id})"));
    }
    // Meta's mention payloads usually name no author; the post stands in for them, so every
    // anonymous mention under one post lands in one ticket.
    let customer_id = author_id
        .map(CustomerId::new)
        .unwrap_or_else(|| CustomerId::unknown_author_of(&post_id));
    let created_at = value
        .created_time
        .map(|t| t.0)
        .or(entry_time)
        .ok_or_else(|| format!("mention {item_id} without created_time or time"))?;
    let permalink = match &comment_id {
        Some(comment_id) => comment_permalink(&post_id, comment_id),
        None => post_permalink(&post_id),
    };
    Ok(NetworkEnvelope {
        dedupe_key: format!("facebook:{item_id}:add"),
        change: NetworkChange::New {
            item: InboundItem {
                network,
                account,
                item_id,
                kind: ItemKind::Mention,
                post_id,
                customer: Customer {
                    id: customer_id,
                    name: from_name.or(value.sender_name).filter(|n| !n.is_empty()),
                },
                text: value.message.unwrap_or_default(),
                created_at,
                permalink,
                attachments: Vec::new(),
                context: Default::default(),
            },
        },
    })
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

/// `value` of a `feed` change (comments, posts, reactions, …) or of a `mention` change.
#[derive(Debug, Deserialize)]
pub(super) struct FeedValue {
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
