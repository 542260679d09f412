//! LinkedIn organization pages (Community Management API): comments on the page's posts and
//! posts that mention the page become tickets, answered as the organization from chat.
//! Written from network-apis.md §3 and §11.4, which mark much of LinkedIn's wire format as
//! secondary (open-source clients, doc extractions): tested against fakes only.
//!
//! The folder only translates: [`client::LinkedinClient`] makes one HTTP call per method
//! (`Authorization: Bearer`, `LinkedIn-Version`, `X-Restli-Protocol-Version: 2.0.0` on every
//! one), [`error`] classifies LinkedIn's answers once, [`changes`] turns notifications (polled
//! or pushed) into the core's envelopes, [`capabilities`] says what a card offers,
//! [`connector::LinkedinConnector`] and [`webhook::LinkedinWebhooks`] plug it all into the
//! seam.
//!
//! **Accounts.** One member's consent gives a token for every page they administer; each
//! page they pick is one connected account (id = the organization's numeric id), all sharing
//! the member's token.
//!
//! **Item ids.** A comment's network id is its URN,
//! `urn:li:comment:(urn:li:activity:7001,9001)`, which names the post (activity) it is on
//! and its own id. A reply to a comment has to name the thread's top-level comment too
//! (LinkedIn threads are two levels), so a nested comment's id is
//! `<comment urn>|<top-level comment urn>` ([`CommentRef`]). A mention's id is the URN of the
//! post that mentions the page (`urn:li:share:…`, `urn:li:ugcPost:…`).

pub mod capabilities;
pub mod changes;
pub mod client;
pub mod connector;
pub mod error;
pub mod webhook;

use serde::Deserialize;

use crate::core::NetworkItemId;

pub use client::{DEFAULT_API_BASE, DEFAULT_VERSION, LinkedinClient};
pub use connector::LinkedinConnector;
pub use webhook::{LinkedinWebhooks, SignatureForm};

/// The scopes a connection asks for (§11.4.2, the classic names of the Community Management
/// product): which pages the member administers, reading the pages' comments and
/// notifications, commenting as the page.
pub const SCOPES: &[&str] = &[
    "rw_organization_admin",
    "r_organization_social",
    "w_organization_social",
];

/// How a LinkedIn page's news reaches Switchboard (`[linkedin] ingest`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ingest {
    /// Switchboard reads the pages' notifications itself.
    #[default]
    Poll,
    /// LinkedIn pushes them to `/webhooks/linkedin` (the app's webhook use case and its event
    /// subscriptions are set up at LinkedIn), and pages are polled as well: a push only
    /// brings a card sooner (one without its decoration is left to the poll).
    Webhook,
}

/// An organization's URN, from its numeric id.
pub fn organization_urn(id: &str) -> String {
    format!("urn:li:organization:{id}")
}

/// The numeric id of `urn:li:organization:<id>`; `None` for anything else.
pub fn organization_id(urn: &str) -> Option<&str> {
    urn.strip_prefix("urn:li:organization:")
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// A URN as one path segment or query value: every reserved character percent-encoded
/// (`urn:li:organization:1` → `urn%3Ali%3Aorganization%3A1`), as Rest.li 2.0 wants.
pub fn encode(urn: &str) -> String {
    url::form_urlencoded::byte_serialize(urn.as_bytes()).collect()
}

/// A comment URN taken apart: `urn:li:comment:(<object>,<id>)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentUrn {
    /// The post (activity, share or ugcPost URN) the comment is on.
    pub object: String,
    /// The comment's own id.
    pub id: String,
}

impl CommentUrn {
    pub fn parse(urn: &str) -> Option<Self> {
        let inner = urn.strip_prefix("urn:li:comment:(")?.strip_suffix(')')?;
        let (object, id) = inner.rsplit_once(',')?;
        let ok = |s: &str| {
            !s.is_empty()
                && !s
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, '|' | '(' | ')' | ','))
        };
        (object.starts_with("urn:li:") && ok(object) && ok(id)).then(|| Self {
            object: object.to_owned(),
            id: id.to_owned(),
        })
    }

    pub fn urn(&self) -> String {
        format!("urn:li:comment:({},{})", self.object, self.id)
    }
}

/// A comment as a LinkedIn item's network id spells it (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentRef {
    pub comment: CommentUrn,
    /// The top-level comment of its thread, for a nested comment.
    pub parent: Option<CommentUrn>,
}

impl CommentRef {
    pub fn item_id(&self) -> NetworkItemId {
        NetworkItemId::new(match &self.parent {
            Some(parent) => format!("{}|{}", self.comment.urn(), parent.urn()),
            None => self.comment.urn(),
        })
    }

    /// Reads a LinkedIn comment's item id; `None` when it is not one.
    pub fn parse(id: &NetworkItemId) -> Option<Self> {
        match id.as_str().split_once('|') {
            Some((comment, parent)) => Some(Self {
                comment: CommentUrn::parse(comment)?,
                parent: Some(CommentUrn::parse(parent)?),
            }),
            None => Some(Self {
                comment: CommentUrn::parse(id.as_str())?,
                parent: None,
            }),
        }
    }

    /// The comment a reply to this one goes under: its thread's top-level comment.
    pub fn thread(&self) -> &CommentUrn {
        self.parent.as_ref().unwrap_or(&self.comment)
    }
}

/// A post's URN as a mention's id: `urn:li:share:…`, `urn:li:ugcPost:…` or
/// `urn:li:activity:…`, with nothing that could break out of a path segment.
pub fn is_post_urn(urn: &str) -> bool {
    ["urn:li:share:", "urn:li:ugcPost:", "urn:li:activity:"]
        .iter()
        .any(|p| {
            urn.strip_prefix(p)
                .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))
        })
}

/// The dedupe key of a comment's arrival, by its URN alone: polled or pushed, one inbox row.
pub fn comment_key(comment_urn: &str) -> String {
    format!("linkedin:comment:{comment_urn}")
}

/// The dedupe key of a mention of one page in one post.
pub fn mention_key(organization: &str, post_urn: &str) -> String {
    format!("linkedin:mention:{organization}:{post_urn}")
}

/// The public page of a post (and of a comment under it).
pub fn permalink(post_urn: &str, comment_urn: Option<&str>) -> String {
    match comment_urn {
        Some(c) => format!(
            "https://www.linkedin.com/feed/update/{post_urn}/?commentUrn={}",
            encode(c)
        ),
        None => format!("https://www.linkedin.com/feed/update/{post_urn}/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_urns_and_item_ids_round_trip() {
        let top = CommentUrn::parse("urn:li:comment:(urn:li:activity:7001,9001)").expect("urn");
        assert_eq!(top.object, "urn:li:activity:7001");
        assert_eq!(top.id, "9001");
        let nested = CommentRef {
            comment: CommentUrn::parse("urn:li:comment:(urn:li:activity:7001,9002)").expect("urn"),
            parent: Some(top.clone()),
        };
        let id = nested.item_id();
        assert_eq!(
            id.as_str(),
            "urn:li:comment:(urn:li:activity:7001,9002)|urn:li:comment:(urn:li:activity:7001,9001)"
        );
        assert_eq!(CommentRef::parse(&id), Some(nested.clone()));
        assert_eq!(nested.thread(), &top);
        let plain = CommentRef {
            comment: top.clone(),
            parent: None,
        };
        assert_eq!(CommentRef::parse(&plain.item_id()), Some(plain.clone()));
        assert_eq!(plain.thread(), &top);
        for bad in [
            "",
            "9001",
            "urn:li:comment:(urn:li:activity:7001)",
            "urn:li:comment:(,9001)",
            "urn:li:comment:(urn:li:activity:7001,)",
            "urn:li:comment:(urn:li:activity:7001,90 01)",
            "urn:li:comment:(urn:li:activity:7001,9001)|x",
            "urn:li:share:7001",
        ] {
            assert_eq!(CommentRef::parse(&NetworkItemId::new(bad)), None, "{bad}");
        }
    }

    #[test]
    fn urns_are_encoded_whole_and_organizations_read_back() {
        assert_eq!(
            encode("urn:li:comment:(urn:li:activity:7001,9001)"),
            "urn%3Ali%3Acomment%3A%28urn%3Ali%3Aactivity%3A7001%2C9001%29"
        );
        assert_eq!(organization_urn("5515715"), "urn:li:organization:5515715");
        assert_eq!(
            organization_id("urn:li:organization:5515715"),
            Some("5515715")
        );
        assert_eq!(organization_id("urn:li:organization:"), None);
        assert_eq!(organization_id("urn:li:person:abc"), None);
        assert!(is_post_urn("urn:li:share:7001") && is_post_urn("urn:li:ugcPost:7002"));
        assert!(!is_post_urn("urn:li:share:70/01") && !is_post_urn("urn:li:person:a"));
    }
}
