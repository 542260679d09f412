//! X's wire formats and the pure change detection on them: API v2 posts and DM events (from
//! polling and the X Activity API), and the Account Activity API's v1.1 tweets and DM events,
//! all turned into the same envelopes.
//!
//! - A post that names the account becomes an item of its author's ticket for the
//!   conversation (`post_id` = `conversation_id`; without one, as in Account Activity's v1.1
//!   tweets, the post it replies to, else itself). A direct reply to a conversation the
//!   account started is a [`ItemKind::Comment`] (X lets the account hide it); any other is a
//!   [`ItemKind::Mention`].
//! - A one-to-one direct message becomes an item of its sender's conversation ticket. Group
//!   conversations are left out (a reply would go to one member only).
//! - The account's own posts and messages, reposts, and anything without an id are left out,
//!   each with a note saying why.
//! - Dedupe keys are X's ids (`x:post:<id>`, `x:dm:<id>`), the same whichever way an item
//!   arrived, so a poll and a webhook delivering the same post store it once.
//!
//! X escapes `&`, `<` and `>` in post text as HTML entities; they are unescaped here (the
//! text is customer data, escaped by each surface's renderer).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::core::{
    AccountId, Customer, CustomerId, InboundItem, ItemContext, ItemKind, Network, NetworkChange,
    NetworkEnvelope, NetworkItemId,
};

/// X's epoch for snowflake ids (2010-11-04T01:42:54.657Z), in Unix milliseconds: a post or
/// message without a readable time is dated from its id.
const SNOWFLAKE_EPOCH_MS: i64 = 1_288_834_974_657;

/// A post (API v2 `Tweet` object), as far as we read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Post {
    pub id: String,
    pub text: String,
    pub author_id: Option<String>,
    pub conversation_id: Option<String>,
    pub in_reply_to_user_id: Option<String>,
    pub referenced_tweets: Vec<Reference>,
    pub created_at: Option<DateTime<Utc>>,
    /// The whole text of a post longer than 280 (then `text` is cut).
    pub note_tweet: Option<NoteTweet>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Reference {
    /// `replied_to`, `quoted`, `retweeted`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct NoteTweet {
    pub text: String,
}

impl Post {
    /// The post it answers, if it is a reply.
    pub fn replied_to(&self) -> Option<&str> {
        self.referenced_tweets
            .iter()
            .find(|r| r.kind == "replied_to" && !r.id.is_empty())
            .map(|r| r.id.as_str())
    }

    fn is_repost(&self) -> bool {
        self.referenced_tweets.iter().any(|r| r.kind == "retweeted")
    }

    /// The whole text, unescaped.
    pub fn full_text(&self) -> String {
        let text = match &self.note_tweet {
            Some(n) if !n.text.is_empty() => &n.text,
            _ => &self.text,
        };
        unescape(text)
    }
}

/// A user (API v2 `User` object).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct User {
    pub id: String,
    pub name: Option<String>,
    pub username: Option<String>,
}

/// `includes` of a v2 answer (the expanded authors).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Includes {
    pub users: Vec<User>,
}

/// `meta` of a v2 listing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Meta {
    pub result_count: Option<u32>,
    pub newest_id: Option<String>,
    pub oldest_id: Option<String>,
    pub next_token: Option<String>,
}

/// One page of `GET /2/users/{id}/mentions` (or of a user's posts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PostPage {
    pub data: Vec<Post>,
    pub includes: Includes,
    pub meta: Meta,
}

/// A direct-message event (API v2 `DmEvent`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DmEvent {
    pub id: String,
    /// `MessageCreate`, `ParticipantsJoin`, `ParticipantsLeave`.
    pub event_type: String,
    pub text: String,
    pub sender_id: Option<String>,
    /// `<lower id>-<higher id>` for a one-to-one conversation, a plain id for a group.
    pub dm_conversation_id: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    /// Only in Account Activity deliveries (v2 events name the conversation instead).
    #[serde(skip)]
    pub recipient_id: Option<String>,
}

/// One page of `GET /2/dm_events`, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DmPage {
    pub data: Vec<DmEvent>,
    pub includes: Includes,
    pub meta: Meta,
}

/// What was made of a batch: envelopes, and why the rest was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub envelopes: Vec<NetworkEnvelope>,
    pub ignored: Vec<String>,
}

impl Changes {
    fn push(&mut self, change: Result<NetworkEnvelope, String>) {
        match change {
            Ok(e) => self.envelopes.push(e),
            Err(why) => self.ignored.push(why),
        }
    }
}

/// `&amp;`, `&lt;`, `&gt;` (the only entities X puts in post text) back to characters.
pub fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The time an X snowflake id was minted.
pub fn snowflake_time(id: &str) -> Option<DateTime<Utc>> {
    let id: i64 = id.parse().ok()?;
    DateTime::from_timestamp_millis((id >> 22) + SNOWFLAKE_EPOCH_MS)
}

/// Whether X id `a` is newer than `b` (ids are increasing decimal numbers).
pub fn newer(a: &str, b: &str) -> bool {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(a), Ok(b)) => a > b,
        _ => (a.len(), a) > (b.len(), b),
    }
}

/// The newer of two optional ids.
pub fn newest(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if newer(&b, &a) { b } else { a }),
        (a, b) => a.or(b),
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

/// "Jordan Brinks (@furiouscamper)", or whichever part is known.
fn display_name(user: Option<&User>) -> Option<String> {
    let user = user?;
    let name = user
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let handle = user
        .username
        .as_deref()
        .filter(|u| !u.is_empty())
        .map(|u| format!("@{u}"));
    match (name, handle) {
        (Some(n), Some(h)) => Some(format!("{n} ({h})")),
        (Some(n), None) => Some(n.to_string()),
        (None, h) => h,
    }
}

/// A post's page on x.com (the author's handle only when it is a plain handle).
fn post_url(id: &str, author: Option<&User>) -> String {
    match author.and_then(|u| u.username.as_deref()) {
        Some(u) if !u.is_empty() && u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
            format!("https://x.com/{u}/status/{id}")
        }
        _ => format!("https://x.com/i/web/status/{id}"),
    }
}

/// One post from `includes`/`users` → the envelope of a new item of `account`, or why not.
pub fn post_change(
    account: &AccountId,
    post: &Post,
    users: &[User],
) -> Result<NetworkEnvelope, String> {
    if !valid_id(&post.id) {
        return Err(format!("a post without a usable id ({:?})", post.id));
    }
    if post.author_id.as_deref() == Some(account.as_str()) {
        return Err(format!("post {} is the account's own", post.id));
    }
    if post.is_repost() {
        return Err(format!("post {} is a repost", post.id));
    }
    let author = post
        .author_id
        .as_deref()
        .and_then(|a| users.iter().find(|u| u.id == a));
    let conversation = post.conversation_id.as_deref().filter(|c| valid_id(c));
    let replied_to = post.replied_to();
    // A direct reply to a post of ours that opened its conversation (or, without a
    // conversation id, to a post of ours): ours to hide.
    let ours_replied = post.in_reply_to_user_id.as_deref() == Some(account.as_str());
    let direct = conversation.is_none_or(|c| replied_to == Some(c));
    let kind = if ours_replied && direct {
        ItemKind::Comment
    } else {
        ItemKind::Mention
    };
    let post_id = conversation
        .or(replied_to.filter(|r| valid_id(r)))
        .unwrap_or(&post.id);
    let customer_id = post
        .author_id
        .as_deref()
        .filter(|a| valid_id(a))
        .map(CustomerId::new)
        .unwrap_or_else(|| CustomerId::unknown_author_of(&NetworkItemId::new(&post.id)));
    let created_at = post
        .created_at
        .or_else(|| snowflake_time(&post.id))
        .unwrap_or(DateTime::UNIX_EPOCH);
    let item = InboundItem {
        network: Network::X,
        account: account.clone(),
        item_id: NetworkItemId::new(&post.id),
        kind,
        post_id: NetworkItemId::new(post_id),
        customer: Customer {
            id: customer_id,
            name: display_name(author),
        },
        text: post.full_text(),
        created_at,
        permalink: Some(post_url(&post.id, author)),
        attachments: vec![],
        context: ItemContext::default(),
    };
    Ok(NetworkEnvelope {
        dedupe_key: format!("x:post:{}", post.id),
        change: NetworkChange::New { item },
    })
}

/// One direct-message event → the envelope of a new item of `account`, or why not.
pub fn dm_change(
    account: &AccountId,
    event: &DmEvent,
    users: &[User],
) -> Result<NetworkEnvelope, String> {
    if !valid_id(&event.id) {
        return Err(format!("a message without a usable id ({:?})", event.id));
    }
    if !event.event_type.is_empty() && event.event_type != "MessageCreate" {
        return Err(format!("DM event {} is a {}", event.id, event.event_type));
    }
    let Some(sender) = event.sender_id.as_deref().filter(|s| valid_id(s)) else {
        return Err(format!("message {} names no sender", event.id));
    };
    if sender == account.as_str() {
        return Err(format!("message {} is the account's own", event.id));
    }
    if let Some(to) = event.recipient_id.as_deref()
        && to != account.as_str()
    {
        return Err(format!("message {} is not to the account", event.id));
    }
    // One-to-one conversations are `<id>-<id>` of both sides; anything else is a group.
    let one_to_one = |c: &str| {
        c.split_once('-').is_some_and(|(a, b)| {
            valid_id(a) && valid_id(b) && (a == account.as_str() || b == account.as_str())
        })
    };
    let conversation = match event.dm_conversation_id.as_deref() {
        Some(c) if one_to_one(c) => c.to_string(),
        Some(_) => {
            return Err(format!(
                "message {} is in a group conversation (not supported)",
                event.id
            ));
        }
        None => {
            let (a, b) = if newer(sender, account.as_str()) {
                (account.as_str(), sender)
            } else {
                (sender, account.as_str())
            };
            format!("{a}-{b}")
        }
    };
    let created_at = event
        .created_at
        .or_else(|| snowflake_time(&event.id))
        .unwrap_or(DateTime::UNIX_EPOCH);
    let item = InboundItem {
        network: Network::X,
        account: account.clone(),
        item_id: NetworkItemId::new(&event.id),
        kind: ItemKind::DirectMessage,
        post_id: NetworkItemId::new(&conversation),
        customer: Customer {
            id: CustomerId::new(sender),
            name: display_name(users.iter().find(|u| u.id == sender)),
        },
        text: event.text.clone(),
        created_at,
        permalink: Some(format!("https://x.com/messages/{conversation}")),
        attachments: vec![],
        context: ItemContext::default(),
    };
    Ok(NetworkEnvelope {
        dedupe_key: format!("x:dm:{}", event.id),
        change: NetworkChange::New { item },
    })
}

/// Posts that name `account` (a mentions page, or X Activity deliveries), oldest first.
pub fn post_changes(account: &AccountId, posts: &[Post], users: &[User]) -> Changes {
    let mut out = Changes::default();
    let mut sorted: Vec<&Post> = posts.iter().collect();
    sorted.sort_by(|a, b| order(&a.id, &b.id));
    for post in sorted {
        out.push(post_change(account, post, users));
    }
    out
}

/// Direct-message events of `account`, oldest first.
pub fn dm_changes(account: &AccountId, events: &[DmEvent], users: &[User]) -> Changes {
    let mut out = Changes::default();
    let mut sorted: Vec<&DmEvent> = events.iter().collect();
    sorted.sort_by(|a, b| order(&a.id, &b.id));
    for event in sorted {
        out.push(dm_change(account, event, users));
    }
    out
}

/// X ids in the order they were minted.
pub fn order(a: &str, b: &str) -> std::cmp::Ordering {
    if newer(a, b) {
        std::cmp::Ordering::Greater
    } else if newer(b, a) {
        std::cmp::Ordering::Less
    } else {
        std::cmp::Ordering::Equal
    }
}

/// A webhook delivery, in either shape X sends: the Account Activity API's
/// (`for_user_id`, `tweet_create_events`, `direct_message_events`) or the X Activity API's
/// (`data.event_type`, `data.filter.user_id`, `data.payload`). `Err`: not an X delivery.
pub fn webhook_changes(body: &[u8]) -> Result<Changes, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    if value.get("for_user_id").is_some() {
        let aaa: aaa::Delivery = serde_json::from_value(value)
            .map_err(|e| format!("unexpected Account Activity payload: {e}"))?;
        return Ok(aaa.changes());
    }
    match value.get("data") {
        Some(serde_json::Value::Array(items)) => {
            let mut out = Changes::default();
            for item in items {
                let one = xaa::event_changes(item)?;
                out.envelopes.extend(one.envelopes);
                out.ignored.extend(one.ignored);
            }
            Ok(out)
        }
        Some(data) => xaa::event_changes(data),
        None => Err("neither an Account Activity nor an X Activity payload".into()),
    }
}

/// The Account Activity API (v1.1 objects).
mod aaa {
    use std::collections::BTreeMap;

    use super::*;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct Delivery {
        pub for_user_id: String,
        pub tweet_create_events: Vec<Tweet>,
        pub direct_message_events: Vec<DmEventV1>,
        pub users: BTreeMap<String, UserV1>,
        /// Everything else (favorites, follows, typing, reads…): noted, not used.
        #[serde(flatten)]
        pub other: BTreeMap<String, serde_json::Value>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct Tweet {
        pub id_str: String,
        pub text: String,
        pub full_text: Option<String>,
        pub truncated: bool,
        pub extended_tweet: Option<Extended>,
        pub created_at: Option<String>,
        pub in_reply_to_status_id_str: Option<String>,
        pub in_reply_to_user_id_str: Option<String>,
        pub user: UserV1,
        pub entities: Entities,
        pub retweeted_status: Option<serde_json::Value>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct Extended {
        pub full_text: String,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct Entities {
        pub user_mentions: Vec<UserV1>,
    }

    #[derive(Debug, Default, Clone, Deserialize)]
    #[serde(default)]
    pub struct UserV1 {
        pub id_str: String,
        /// In the `users` map of DM deliveries.
        pub id: Option<serde_json::Value>,
        pub screen_name: Option<String>,
        pub name: Option<String>,
    }

    impl UserV1 {
        fn id(&self) -> String {
            if !self.id_str.is_empty() {
                return self.id_str.clone();
            }
            match &self.id {
                Some(serde_json::Value::String(s)) => s.clone(),
                _ => String::new(),
            }
        }

        fn user(&self) -> User {
            User {
                id: self.id(),
                name: self.name.clone(),
                username: self.screen_name.clone(),
            }
        }
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct DmEventV1 {
        #[serde(rename = "type")]
        pub kind: String,
        pub id: String,
        pub created_timestamp: Option<String>,
        pub message_create: Option<MessageCreate>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct MessageCreate {
        pub target: Target,
        pub sender_id: String,
        pub message_data: MessageData,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct Target {
        pub recipient_id: String,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct MessageData {
        pub text: String,
    }

    /// v1.1's `Mon May 19 14:01:46 +0000 2025`.
    fn v1_time(s: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_str(s, "%a %b %d %H:%M:%S %z %Y")
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    impl Tweet {
        /// The v2 shape of this tweet (no conversation id: v1.1 has none).
        fn post(&self) -> Post {
            let text = self
                .extended_tweet
                .as_ref()
                .map(|e| e.full_text.clone())
                .filter(|t| !t.is_empty())
                .or_else(|| self.full_text.clone())
                .unwrap_or_else(|| self.text.clone());
            let mut referenced = Vec::new();
            if let Some(id) = self
                .in_reply_to_status_id_str
                .as_ref()
                .filter(|i| !i.is_empty())
            {
                referenced.push(Reference {
                    kind: "replied_to".into(),
                    id: id.clone(),
                });
            }
            if self.retweeted_status.is_some() {
                referenced.push(Reference {
                    kind: "retweeted".into(),
                    id: String::new(),
                });
            }
            Post {
                id: self.id_str.clone(),
                text,
                author_id: Some(self.user.id()).filter(|a| !a.is_empty()),
                conversation_id: None,
                in_reply_to_user_id: self.in_reply_to_user_id_str.clone(),
                referenced_tweets: referenced,
                created_at: self.created_at.as_deref().and_then(v1_time),
                note_tweet: None,
            }
        }
    }

    impl Delivery {
        pub fn changes(&self) -> Changes {
            let account = AccountId::new(&self.for_user_id);
            let mut out = Changes::default();
            let mut posts = Vec::new();
            let mut users = Vec::new();
            for t in &self.tweet_create_events {
                let names_us = t.in_reply_to_user_id_str.as_deref() == Some(&self.for_user_id)
                    || t.entities
                        .user_mentions
                        .iter()
                        .any(|m| m.id() == self.for_user_id);
                let ours = t.user.id() == self.for_user_id;
                if !names_us && !ours {
                    out.ignored.push(format!(
                        "post {} neither replies to nor mentions the account",
                        t.id_str
                    ));
                    continue;
                }
                users.push(t.user.user());
                posts.push(t.post());
            }
            let found = post_changes(&account, &posts, &users);
            out.envelopes.extend(found.envelopes);
            out.ignored.extend(found.ignored);

            let users: Vec<User> = self.users.values().map(UserV1::user).collect();
            let mut events = Vec::new();
            for e in &self.direct_message_events {
                let Some(m) = e
                    .message_create
                    .as_ref()
                    .filter(|_| e.kind == "message_create")
                else {
                    out.ignored
                        .push(format!("DM event {} is a {:?}", e.id, e.kind));
                    continue;
                };
                let created_at = e
                    .created_timestamp
                    .as_deref()
                    .and_then(|ms| ms.parse::<i64>().ok())
                    .and_then(DateTime::from_timestamp_millis);
                events.push(DmEvent {
                    id: e.id.clone(),
                    event_type: "MessageCreate".into(),
                    text: m.message_data.text.clone(),
                    sender_id: Some(m.sender_id.clone()),
                    dm_conversation_id: None,
                    created_at,
                    recipient_id: Some(m.target.recipient_id.clone()),
                });
            }
            let found = dm_changes(&account, &events, &users);
            out.envelopes.extend(found.envelopes);
            out.ignored.extend(found.ignored);
            for key in self.other.keys().filter(|k| k.ends_with("_events")) {
                out.ignored.push(format!("{key} are not mirrored"));
            }
            out
        }
    }
}

/// The X Activity API: one event per envelope.
mod xaa {
    use super::*;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Event {
        event_type: String,
        filter: Filter,
        payload: serde_json::Value,
        includes: Includes,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Filter {
        user_id: String,
    }

    pub fn event_changes(data: &serde_json::Value) -> Result<Changes, String> {
        let event: Event = serde_json::from_value(data.clone())
            .map_err(|e| format!("unexpected X Activity event: {e}"))?;
        if !valid_id(&event.filter.user_id) {
            return Err("an X Activity event without filter.user_id".into());
        }
        let account = AccountId::new(&event.filter.user_id);
        match event.event_type.as_str() {
            "post.mention.create" | "post.reply.create" => {
                let post: Post = serde_json::from_value(event.payload)
                    .map_err(|e| format!("unexpected post in an X Activity event: {e}"))?;
                Ok(post_changes(&account, &[post], &event.includes.users))
            }
            "dm.received" => {
                // The Account Activity shape, under `payload`.
                let mut payload = event.payload;
                if let Some(o) = payload.as_object_mut() {
                    o.insert(
                        "for_user_id".into(),
                        serde_json::Value::String(event.filter.user_id.clone()),
                    );
                }
                let delivery: aaa::Delivery = serde_json::from_value(payload)
                    .map_err(|e| format!("unexpected DM in an X Activity event: {e}"))?;
                Ok(delivery.changes())
            }
            other => Ok(Changes {
                envelopes: vec![],
                ignored: vec![format!("X Activity event {other:?} is not mirrored")],
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "2244994945";

    fn account() -> AccountId {
        AccountId::new(ACCOUNT)
    }

    fn item(e: &NetworkEnvelope) -> &InboundItem {
        match &e.change {
            NetworkChange::New { item } => item,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn post(id: &str, author: &str, conversation: &str, replied_to: Option<&str>) -> Post {
        Post {
            id: id.into(),
            text: format!("@acme text of {id}"),
            author_id: Some(author.into()),
            conversation_id: Some(conversation.into()),
            in_reply_to_user_id: replied_to.map(|_| ACCOUNT.to_string()),
            referenced_tweets: replied_to
                .map(|r| {
                    vec![Reference {
                        kind: "replied_to".into(),
                        id: r.into(),
                    }]
                })
                .unwrap_or_default(),
            created_at: None,
            note_tweet: None,
        }
    }

    #[test]
    fn a_reply_to_our_post_is_a_hideable_comment_and_a_mention_is_not() {
        let users = vec![User {
            id: "3001969357".into(),
            name: Some("Jordan <b>Brinks</b>".into()),
            username: Some("furiouscamper".into()),
        }];
        let reply = post(
            "1924465506158878979",
            "3001969357",
            "1924465000000000000",
            Some("1924465000000000000"),
        );
        let e = post_change(&account(), &reply, &users).expect("kept");
        assert_eq!(e.dedupe_key, "x:post:1924465506158878979");
        let i = item(&e);
        assert_eq!(i.kind, ItemKind::Comment);
        assert_eq!(i.post_id.as_str(), "1924465000000000000");
        assert_eq!(i.customer.id.as_str(), "3001969357");
        assert_eq!(
            i.customer.name.as_deref(),
            Some("Jordan <b>Brinks</b> (@furiouscamper)")
        );
        assert_eq!(
            i.permalink.as_deref(),
            Some("https://x.com/furiouscamper/status/1924465506158878979")
        );
        // Dated from the snowflake when the post carries no time.
        assert_eq!(
            i.created_at,
            snowflake_time("1924465506158878979").expect("a time")
        );
        assert_eq!(
            i.conversation_key(),
            "x:2244994945:1924465000000000000:3001969357"
        );

        // A reply to a reply of ours deeper in someone else's conversation: only a mention.
        let deeper = post(
            "1924465506158878990",
            "3001969357",
            "1900000000000000000",
            Some("1924465000000000000"),
        );
        let i = post_change(&account(), &deeper, &users).expect("kept");
        assert_eq!(item(&i).kind, ItemKind::Mention);
        // Grouped by the conversation.
        assert_eq!(item(&i).post_id.as_str(), "1900000000000000000");

        // A fresh post naming us: a mention, its own conversation; author unknown to us.
        let fresh = post("1924465506158879000", "999", "1924465506158879000", None);
        let i = post_change(&account(), &fresh, &[]).expect("kept");
        assert_eq!(item(&i).kind, ItemKind::Mention);
        assert_eq!(item(&i).customer.name, None);
        assert_eq!(
            item(&i).permalink.as_deref(),
            Some("https://x.com/i/web/status/1924465506158879000")
        );
    }

    #[test]
    fn our_own_posts_reposts_and_bad_ids_are_left_out_with_a_note() {
        let ours = post("1924465506158878979", ACCOUNT, "1924465506158878979", None);
        assert!(post_change(&account(), &ours, &[]).is_err());
        let mut repost = post("1924465506158878980", "1", "1924465506158878980", None);
        repost.referenced_tweets.push(Reference {
            kind: "retweeted".into(),
            id: "5".into(),
        });
        assert!(post_change(&account(), &repost, &[]).is_err());
        let bad = post("../etc", "1", "1", None);
        assert!(post_change(&account(), &bad, &[]).is_err());
        let changes = post_changes(&account(), &[ours, repost, bad], &[]);
        assert!(changes.envelopes.is_empty());
        assert_eq!(changes.ignored.len(), 3);
    }

    #[test]
    fn text_is_unescaped_and_long_posts_read_whole() {
        let mut p = post("1924465506158878979", "1", "1924465506158878979", None);
        p.text = "a &lt;b&gt; &amp;amp; c…".into();
        assert_eq!(p.full_text(), "a <b> &amp; c…");
        p.note_tweet = Some(NoteTweet {
            text: "the whole &amp; long text".into(),
        });
        assert_eq!(p.full_text(), "the whole & long text");
    }

    #[test]
    fn posts_come_oldest_first_whatever_the_page_order() {
        let posts = vec![
            post("1924465506158879001", "1", "1924465506158879001", None),
            post("999999999999999999", "1", "999999999999999999", None),
            post("1924465506158879000", "1", "1924465506158879000", None),
        ];
        let keys: Vec<String> = post_changes(&account(), &posts, &[])
            .envelopes
            .into_iter()
            .map(|e| e.dedupe_key)
            .collect();
        assert_eq!(
            keys,
            [
                "x:post:999999999999999999",
                "x:post:1924465506158879000",
                "x:post:1924465506158879001"
            ]
        );
    }

    fn dm(id: &str, sender: &str, conversation: Option<&str>) -> DmEvent {
        DmEvent {
            id: id.into(),
            event_type: "MessageCreate".into(),
            text: "Hello <!here>".into(),
            sender_id: Some(sender.into()),
            dm_conversation_id: conversation.map(String::from),
            created_at: None,
            recipient_id: None,
        }
    }

    #[test]
    fn a_direct_message_is_its_senders_conversation_and_ours_are_left_out() {
        let e = dm_change(
            &account(),
            &dm(
                "1050118621198921728",
                "3001969357",
                Some("2244994945-3001969357"),
            ),
            &[],
        )
        .expect("kept");
        assert_eq!(e.dedupe_key, "x:dm:1050118621198921728");
        let i = item(&e);
        assert_eq!(i.kind, ItemKind::DirectMessage);
        assert_eq!(i.post_id.as_str(), "2244994945-3001969357");
        assert_eq!(i.text, "Hello <!here>");
        assert_eq!(i.conversation_key(), "x:2244994945:dm:3001969357");
        // Ours (sent from the account), a group conversation, another event type: not kept.
        for event in [
            dm(
                "1050118621198921729",
                ACCOUNT,
                Some("2244994945-3001969357"),
            ),
            dm(
                "1050118621198921730",
                "3001969357",
                Some("1582838650453413888"),
            ),
            DmEvent {
                event_type: "ParticipantsJoin".into(),
                ..dm("1050118621198921731", "3001969357", None)
            },
        ] {
            assert!(dm_change(&account(), &event, &[]).is_err(), "{event:?}");
        }
        // Without a conversation id (Account Activity), it is made from both ids.
        let e = dm_change(
            &account(),
            &dm("1050118621198921732", "3001969357", None),
            &[],
        )
        .expect("kept");
        assert_eq!(item(&e).post_id.as_str(), "2244994945-3001969357");
        let e = dm_change(&account(), &dm("1050118621198921733", "17", None), &[]).expect("kept");
        assert_eq!(item(&e).post_id.as_str(), "17-2244994945");
    }

    #[test]
    fn ids_compare_as_numbers() {
        assert!(newer("1924465506158878979", "999999999999999999"));
        assert!(!newer("5", "5"));
        assert_eq!(
            newest(Some("10".into()), Some("9".into())),
            Some("10".to_string())
        );
        assert_eq!(newest(None, Some("9".into())), Some("9".to_string()));
        assert_eq!(
            snowflake_time("1924465506158878979").map(|t| t.to_rfc3339()),
            Some("2025-05-19T14:01:46.165+00:00".to_string())
        );
        assert_eq!(snowflake_time("nope"), None);
    }
}
