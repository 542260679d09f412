//! Pure translation of LinkedIn's organization notifications (polled from
//! `organizationalEntityNotifications` or pushed as `ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS`)
//! into the core's envelopes, and the poll cursor.
//!
//! A `COMMENT` notification names the comment (`generatedActivity`) on the page's post
//! (`sourcePost`); a `SHARE_MENTION` names the post that mentions the page. Their text and
//! author come from the notification's decoration when LinkedIn includes it (its shape is
//! not documented, §10 item 4: read leniently), else from the comment (read by its id) or the post.
//! `ADMIN_COMMENT` and anything written by the page itself are ours: never a ticket.
//!
//! The cursor is a time: each poll reads `[since - OVERLAP, now]`, so a notification that
//! LinkedIn files a little late is still read; the overlap's repeats are skipped by
//! notification id (kept in the cursor while they can repeat) and, failing that, by the
//! inbox's dedupe keys (the comment's or the post's URN). A poll cut short (more pages than
//! one poll reads, a failure) resumes from the last notification it finished.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{Comment, Post, millis};
use super::{CommentRef, CommentUrn, comment_key, is_post_urn, mention_key, organization_urn};
use crate::core::{
    AccountId, Customer, CustomerId, InboundItem, ItemContext, ItemKind, Network, NetworkChange,
    NetworkEnvelope, NetworkItemId,
};

/// How far back each poll reaches before the previous poll's end, in milliseconds: room
/// for notifications LinkedIn files late.
pub const OVERLAP_MS: i64 = 15 * 60 * 1000;

/// LinkedIn keeps notifications 60 days (§3.1 [S]): a backfill reaches no further.
pub const RETENTION_DAYS: u32 = 60;

/// Longest slice of a post's text shown as a comment's subject.
pub const MAX_SUBJECT_CHARS: usize = 80;

/// What a notification is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Comment,
    ShareMention,
    /// A comment the page itself wrote.
    AdminComment,
    Other(String),
}

/// Text and author a notification carries about its new comment or post, when decorated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decorated {
    pub text: Option<String>,
    pub actor: Option<String>,
    pub parent: Option<String>,
}

/// One notification, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// `notificationId`, as a string (the dedupe key of webhook redeliveries too).
    pub id: String,
    pub action: Action,
    /// `organizationalEntity`: the page's URN.
    pub organization: Option<String>,
    /// The page's post commented on.
    pub source_post: Option<String>,
    /// The new comment's URN, or the mentioning post's.
    pub generated: Option<String>,
    /// `lastModifiedAt`, in milliseconds.
    pub at_ms: i64,
    /// Who acted, when LinkedIn says.
    pub actor: Option<String>,
    pub decorated: Decorated,
}

/// One page of notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationPage {
    pub notifications: Vec<Notification>,
    pub next: Option<u32>,
}

fn string(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn decorated(v: Option<&Value>) -> Decorated {
    let Some(v) = v.filter(|v| v.is_object()) else {
        return Decorated::default();
    };
    // `{comment: {…}}` or `{share: {…}}`, or the entity itself.
    let inner = ["comment", "share", "post", "ugcPost"]
        .iter()
        .find_map(|k| v.get(*k).filter(|x| x.is_object()))
        .unwrap_or(v);
    let text = string(inner, "text")
        .or_else(|| string(inner, "fullText"))
        .or_else(|| string(inner, "commentary"))
        .or_else(|| inner.get("message").and_then(|m| string(m, "text")));
    Decorated {
        text,
        actor: string(inner, "actor")
            .or_else(|| string(inner, "owner"))
            .or_else(|| string(inner, "author")),
        parent: string(inner, "parentComment"),
    }
}

impl Notification {
    /// Reads one element; `None` without a `notificationId`.
    pub fn read(v: &Value) -> Option<Self> {
        let id = string(v, "notificationId")?;
        let action = match string(v, "action").as_deref() {
            Some("COMMENT") => Action::Comment,
            Some("SHARE_MENTION") => Action::ShareMention,
            Some("ADMIN_COMMENT") => Action::AdminComment,
            other => Action::Other(other.unwrap_or("").to_owned()),
        };
        Some(Self {
            id,
            action,
            organization: string(v, "organizationalEntity"),
            source_post: string(v, "sourcePost"),
            generated: string(v, "generatedActivity"),
            at_ms: v.get("lastModifiedAt").and_then(Value::as_i64).unwrap_or(0),
            actor: string(v, "actor"),
            decorated: decorated(v.get("decoratedGeneratedActivity")),
        })
    }
}

/// What a notification asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A customer's comment on the page's post `post`: read it (if not decorated).
    Comment { comment: CommentUrn, post: String },
    /// A post that mentions the page.
    Mention { post: String },
    /// Not a ticket (ours, another action, unreadable), and why.
    Skip(String),
}

/// What `notification` means for the page `organization` (numeric id).
pub fn plan(organization: &str, n: &Notification) -> Plan {
    let ours = organization_urn(organization);
    if n.actor.as_deref() == Some(ours.as_str()) || n.decorated.actor.as_deref() == Some(&ours) {
        return Plan::Skip(format!("notification {} is the page's own", n.id));
    }
    match &n.action {
        Action::AdminComment => Plan::Skip(format!("notification {} is our own comment", n.id)),
        Action::Other(a) => Plan::Skip(format!("notification {} is a {a:?}", n.id)),
        Action::Comment => match n.generated.as_deref().and_then(CommentUrn::parse) {
            Some(comment) => {
                let post = n
                    .source_post
                    .clone()
                    .filter(|p| is_post_urn(p))
                    .unwrap_or_else(|| comment.object.clone());
                Plan::Comment { comment, post }
            }
            None => Plan::Skip(format!("notification {} names no comment", n.id)),
        },
        Action::ShareMention => match n.generated.clone().filter(|p| is_post_urn(p)) {
            Some(post) => Plan::Mention { post },
            None => Plan::Skip(format!("notification {} names no post", n.id)),
        },
    }
}

/// The comment a decorated notification describes, when it says what was written and by
/// whom.
pub fn decorated_comment(n: &Notification, comment: &CommentUrn) -> Option<Comment> {
    Some(Comment {
        urn: comment.clone(),
        actor: Some(n.decorated.actor.clone()?),
        parent: n.decorated.parent.as_deref().and_then(CommentUrn::parse),
        text: n.decorated.text.clone()?,
        created_at: millis(n.at_ms).unwrap_or_else(Utc::now),
        replies: 0,
    })
}

/// The post a decorated mention describes.
pub fn decorated_post(n: &Notification, post: &str) -> Option<Post> {
    Some(Post {
        urn: post.to_owned(),
        author: Some(n.decorated.actor.clone()?),
        text: n.decorated.text.clone()?,
        created_at: millis(n.at_ms),
    })
}

fn subject(text: &str) -> Option<String> {
    let line = text.lines().find(|l| !l.trim().is_empty())?.trim();
    let mut cut: String = line.chars().take(MAX_SUBJECT_CHARS).collect();
    if line.chars().count() > MAX_SUBJECT_CHARS {
        cut.push('…');
    }
    Some(cut)
}

/// A customer's comment on the page's `post` as a Comment ticket's item (one ticket per
/// author per post, like other comment networks); `None` when the page wrote it.
pub fn comment_envelope(
    account: &AccountId,
    post: &str,
    post_text: Option<&str>,
    c: &Comment,
) -> Option<NetworkEnvelope> {
    let actor = c.actor.clone()?;
    if actor == organization_urn(account.as_str()) {
        return None;
    }
    let urn = c.urn.urn();
    let item = InboundItem {
        network: Network::Linkedin,
        account: account.clone(),
        item_id: CommentRef {
            comment: c.urn.clone(),
            parent: c.parent.clone().filter(|p| *p != c.urn),
        }
        .item_id(),
        kind: ItemKind::Comment,
        post_id: NetworkItemId::new(post),
        customer: Customer {
            id: CustomerId::new(actor),
            name: None,
        },
        text: c.text.clone(),
        created_at: c.created_at,
        permalink: Some(super::permalink(post, Some(&urn))),
        attachments: vec![],
        context: ItemContext {
            subject: post_text.and_then(subject),
            subject_url: Some(super::permalink(post, None)),
            rating: None,
            held: None,
        },
    };
    Some(NetworkEnvelope {
        dedupe_key: comment_key(&urn),
        change: NetworkChange::New { item },
    })
}

/// A post that mentions the page as a Mention ticket's item; `None` when the page wrote it.
pub fn mention_envelope(
    account: &AccountId,
    p: &Post,
    at: DateTime<Utc>,
) -> Option<NetworkEnvelope> {
    let author = p.author.clone()?;
    if author == organization_urn(account.as_str()) {
        return None;
    }
    let item = InboundItem {
        network: Network::Linkedin,
        account: account.clone(),
        item_id: NetworkItemId::new(p.urn.clone()),
        kind: ItemKind::Mention,
        post_id: NetworkItemId::new(p.urn.clone()),
        customer: Customer {
            id: CustomerId::new(author),
            name: None,
        },
        text: p.text.clone(),
        created_at: p.created_at.unwrap_or(at),
        permalink: Some(super::permalink(&p.urn, None)),
        attachments: vec![],
        context: ItemContext::default(),
    };
    Some(NetworkEnvelope {
        dedupe_key: mention_key(account.as_str(), &p.urn),
        change: NetworkChange::New { item },
    })
}

/// Where the next poll of a page starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedinCursor {
    /// The end of the last window read, in milliseconds.
    pub since_ms: i64,
    /// Notifications already turned into envelopes (or skipped) that the overlap may
    /// return again: (id, lastModifiedAt).
    #[serde(default)]
    pub seen: Vec<(String, i64)>,
    /// Where the next window starts when a poll was cut short (the page cap, a failure):
    /// the `lastModifiedAt` of the last notification read before the cut, so a backlog
    /// wider than one poll moves on. `None` after a window read whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_ms: Option<i64>,
}

impl LinkedinCursor {
    /// The stored cursor, or a first one reaching `backfill` back (at most LinkedIn's
    /// retention).
    pub fn read(stored: Option<&str>, now: DateTime<Utc>, backfill: chrono::Duration) -> Self {
        stored
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_else(|| {
                let reach = backfill.min(chrono::Duration::days(i64::from(RETENTION_DAYS)));
                Self {
                    since_ms: (now - reach).timestamp_millis(),
                    seen: Vec::new(),
                    resume_ms: None,
                }
            })
    }

    /// Where this poll's window starts.
    pub fn window_start(&self) -> i64 {
        let overlap = self.since_ms - OVERLAP_MS;
        self.resume_ms.map_or(overlap, |r| r.max(overlap)).max(0)
    }

    pub fn has_seen(&self, id: &str) -> bool {
        self.seen.iter().any(|(s, _)| s == id)
    }

    pub fn see(&mut self, n: &Notification) {
        if !self.has_seen(&n.id) {
            self.seen.push((n.id.clone(), n.at_ms));
        }
    }

    /// The window up to `end_ms` was read whole: the next starts there (less the overlap),
    /// and only what the overlap can return again is remembered.
    pub fn advance(&mut self, end_ms: i64) {
        self.since_ms = self.since_ms.max(end_ms);
        self.resume_ms = None;
        self.forget_before_window();
    }

    /// The window was read only up to the notification of `at_ms` (and everything before
    /// it, in time): the next starts there. Those of that very millisecond are still
    /// remembered (the next window returns them again); earlier ones are forgotten.
    pub fn advance_within(&mut self, at_ms: i64) {
        if at_ms > self.window_start() {
            self.resume_ms = Some(at_ms);
        }
        self.forget_before_window();
    }

    fn forget_before_window(&mut self) {
        let keep_from = self.window_start();
        self.seen.retain(|(_, at)| *at >= keep_from);
    }

    pub fn write(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ORG: &str = "5515715";

    fn n(v: Value) -> Notification {
        Notification::read(&v).expect("notification")
    }

    #[test]
    fn notifications_plan_comments_mentions_and_skip_our_own() {
        let comment = n(json!({"notificationId": 4406044, "action": "COMMENT",
            "organizationalEntity": "urn:li:organization:5515715", "sourcePost": "urn:li:share:7001",
            "generatedActivity": "urn:li:comment:(urn:li:activity:7001,9001)", "lastModifiedAt": 1535741320050i64}));
        assert_eq!(comment.id, "4406044");
        assert_eq!(
            plan(ORG, &comment),
            Plan::Comment {
                comment: CommentUrn::parse("urn:li:comment:(urn:li:activity:7001,9001)")
                    .expect("urn"),
                post: "urn:li:share:7001".into()
            }
        );
        let mention = n(json!({"notificationId": 2, "action": "SHARE_MENTION",
            "generatedActivity": "urn:li:share:8001", "lastModifiedAt": 1}));
        assert_eq!(
            plan(ORG, &mention),
            Plan::Mention {
                post: "urn:li:share:8001".into()
            }
        );
        for skipped in [
            json!({"notificationId": 3, "action": "ADMIN_COMMENT", "generatedActivity": "urn:li:comment:(urn:li:activity:7001,9003)"}),
            json!({"notificationId": 4, "action": "COMMENT", "actor": "urn:li:organization:5515715",
                   "generatedActivity": "urn:li:comment:(urn:li:activity:7001,9004)"}),
            json!({"notificationId": 5, "action": "LIKE", "generatedActivity": "urn:li:like:1"}),
            json!({"notificationId": 6, "action": "COMMENT", "generatedActivity": "urn:li:share:1"}),
            json!({"notificationId": 7, "action": "SHARE_MENTION", "generatedActivity": "urn:li:share:../x"}),
        ] {
            assert!(
                matches!(plan(ORG, &n(skipped.clone())), Plan::Skip(_)),
                "{skipped}"
            );
        }
        assert_eq!(Notification::read(&json!({"action": "COMMENT"})), None);
    }

    #[test]
    fn decorated_notifications_carry_their_text() {
        let d = n(
            json!({"notificationId": 9, "action": "COMMENT", "lastModifiedAt": 1700000000000i64,
            "generatedActivity": "urn:li:comment:(urn:li:activity:7001,9002)",
            "decoratedGeneratedActivity": {"comment": {"owner": "urn:li:person:abc", "text": "Hi <!here>",
                "parentComment": "urn:li:comment:(urn:li:activity:7001,9001)"}}}),
        );
        let urn = CommentUrn::parse("urn:li:comment:(urn:li:activity:7001,9002)").expect("urn");
        let c = decorated_comment(&d, &urn).expect("decorated");
        assert_eq!(c.text, "Hi <!here>");
        assert_eq!(c.actor.as_deref(), Some("urn:li:person:abc"));
        let env = comment_envelope(&AccountId::new(ORG), "urn:li:share:7001", None, &c)
            .expect("envelope");
        assert_eq!(
            env.dedupe_key,
            "linkedin:comment:urn:li:comment:(urn:li:activity:7001,9002)"
        );
        let NetworkChange::New { item } = env.change else {
            panic!("new")
        };
        assert_eq!(item.kind, ItemKind::Comment);
        assert_eq!(
            item.item_id.as_str(),
            "urn:li:comment:(urn:li:activity:7001,9002)|urn:li:comment:(urn:li:activity:7001,9001)"
        );
        assert_eq!(item.post_id.as_str(), "urn:li:share:7001");
        // No decoration: nothing to build from.
        let bare = n(json!({"notificationId": 10, "action": "COMMENT"}));
        assert_eq!(decorated_comment(&bare, &urn), None);
        // Written by the page: never a ticket.
        let mut ours = c.clone();
        ours.actor = Some("urn:li:organization:5515715".into());
        assert_eq!(
            comment_envelope(&AccountId::new(ORG), "urn:li:share:7001", None, &ours),
            None
        );
    }

    #[test]
    fn the_cursor_overlaps_and_forgets_only_what_cannot_repeat() {
        let now = DateTime::from_timestamp(1_780_000_000, 0).expect("time");
        let mut c = LinkedinCursor::read(None, now, chrono::Duration::days(365));
        assert_eq!(
            c.since_ms,
            (now - chrono::Duration::days(60)).timestamp_millis()
        );
        let end = now.timestamp_millis();
        c.see(&n(
            json!({"notificationId": 1, "lastModifiedAt": end - 1000}),
        ));
        c.see(&n(
            json!({"notificationId": 2, "lastModifiedAt": end - OVERLAP_MS - 1}),
        ));
        c.advance(end);
        assert_eq!(c.since_ms, end);
        assert_eq!(c.window_start(), end - OVERLAP_MS);
        assert!(c.has_seen("1") && !c.has_seen("2"));
        let back = LinkedinCursor::read(Some(&c.write()), now, chrono::Duration::days(1));
        assert_eq!(back, c);
        // Never moves back.
        c.advance(end - 5);
        assert_eq!(c.since_ms, end);
        // Cut short at a notification: the next window starts there, what is before it is
        // forgotten, what shares its millisecond is kept; a whole read goes back to the
        // overlap.
        let at = end + 60 * 60 * 1000;
        c.see(&n(json!({"notificationId": 3, "lastModifiedAt": at - 1})));
        c.see(&n(json!({"notificationId": 4, "lastModifiedAt": at})));
        c.advance_within(at);
        assert_eq!(c.window_start(), at);
        assert!(!c.has_seen("1") && !c.has_seen("3") && c.has_seen("4"));
        let back = LinkedinCursor::read(Some(&c.write()), now, chrono::Duration::days(1));
        assert_eq!(back, c);
        c.advance_within(at - 10);
        assert_eq!(c.window_start(), at);
        c.advance(at + 1000);
        assert_eq!(c.window_start(), at + 1000 - OVERLAP_MS);
    }
}
