//! TikTok business accounts (TikTok API for Business, "TikTok Accounts" organic comments):
//! comments on the connected account's recent videos become tickets, answered and moderated
//! from chat. Written from network-apis.md §6 and §11.5, which mark most of TikTok's wire
//! format as secondary (open-source clients, not TikTok's pages): tested against fakes only.
//!
//! This module is the translation layer only: [`TiktokClient`] makes one HTTP call per method
//! (the token in the `Access-Token` header), the pure [`changes`] turn what a poll read into
//! core [`NetworkEnvelope`](crate::core::NetworkEnvelope)s, [`connector`] pages and budgets a
//! poll, and [`webhook`] verifies and parses TikTok's pushed comment events into the same
//! envelopes. Failures are classified once, in [`TiktokError`].
//!
//! **Item ids.** Every call on a comment needs its video (and a reply goes under its thread's
//! top-level comment), so a TikTok item's network id carries them ([`CommentRef`]):
//! `<video>:<comment>` for a comment on a video, `<video>:<parent>:<comment>` for a reply.
//! Dedupe keys use the comment id alone (`tiktok:comment:<id>`), so a comment polled and
//! pushed is one inbox row whichever way it came.

pub mod capabilities;
pub mod changes;
pub mod client;
pub mod connector;
pub mod error;
pub mod webhook;

use crate::core::NetworkItemId;

pub use client::{Account, Comment, CommentPage, DEFAULT_API_BASE, TiktokClient, Video, VideoPage};
pub use connector::TiktokConnector;
pub use error::TiktokError;
pub use webhook::TiktokWebhooks;

/// The scopes a connected account must grant (§11.5.1): its name, its videos, reading and
/// managing their comments.
pub const SCOPES: &[&str] = &[
    "user.info.basic",
    "video.list",
    "comment.list",
    "comment.list.manage",
];

/// Where a comment is, as a TikTok item's network id spells it (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentRef {
    pub video: String,
    /// The top-level comment a reply answers; `None` for a top-level comment.
    pub parent: Option<String>,
    pub comment: String,
}

impl CommentRef {
    /// The network id of this comment.
    pub fn item_id(&self) -> NetworkItemId {
        NetworkItemId::new(match &self.parent {
            Some(parent) => format!("{}:{parent}:{}", self.video, self.comment),
            None => format!("{}:{}", self.video, self.comment),
        })
    }

    /// Reads a TikTok item id; `None` when it is not one (wrong shape, empty part).
    pub fn parse(id: &NetworkItemId) -> Option<Self> {
        let parts: Vec<&str> = id.as_str().split(':').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        match parts.as_slice() {
            [video, comment] => Some(Self {
                video: (*video).to_owned(),
                parent: None,
                comment: (*comment).to_owned(),
            }),
            [video, parent, comment] => Some(Self {
                video: (*video).to_owned(),
                parent: Some((*parent).to_owned()),
                comment: (*comment).to_owned(),
            }),
            _ => None,
        }
    }

    /// The comment a reply to this one goes under: its thread's top-level comment (TikTok
    /// threads are one level deep).
    pub fn thread(&self) -> &str {
        self.parent.as_deref().unwrap_or(&self.comment)
    }
}

/// The dedupe key of a comment's arrival, by its TikTok id alone.
pub fn dedupe_key(comment_id: &str) -> String {
    format!("tiktok:comment:{comment_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_ids_carry_the_video_and_a_replys_thread() {
        let top = CommentRef {
            video: "7299".into(),
            parent: None,
            comment: "7301".into(),
        };
        assert_eq!(top.item_id().as_str(), "7299:7301");
        assert_eq!(CommentRef::parse(&top.item_id()), Some(top.clone()));
        assert_eq!(top.thread(), "7301");
        let reply = CommentRef {
            video: "7299".into(),
            parent: Some("7301".into()),
            comment: "7305".into(),
        };
        assert_eq!(reply.item_id().as_str(), "7299:7301:7305");
        assert_eq!(CommentRef::parse(&reply.item_id()), Some(reply.clone()));
        assert_eq!(reply.thread(), "7301");
        for bad in ["7301", "", "a::b", ":7301", "a:b:c:d", "7299:"] {
            assert_eq!(CommentRef::parse(&NetworkItemId::new(bad)), None, "{bad}");
        }
    }
}
