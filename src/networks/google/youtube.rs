//! YouTube Data API v3: the connected channel, its comment threads (published, held for review,
//! likely spam), replies, video titles, and the reply / moderation calls.
//!
//! YouTube has no push for comments, so a poller lists `commentThreads` newest first
//! (`order=time`) and [`youtube_changes`] turns what it read into envelopes, stopping at the
//! high-water mark. Every call spends quota units ([`YoutubeCall::cost`]) from a daily budget
//! that resets at midnight Pacific time.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;
use url::Url;

use super::Poll;
use super::error::GoogleError;
use super::http::{BaseUrlError, call, join, parse_base, parse_json};
use crate::core::{
    AccountId, Customer, CustomerId, FailureReason, Held, InboundItem, ItemContext, ItemKind,
    Network, NetworkChange, NetworkEnvelope, NetworkItemId,
};

/// The Data API root Google's guides use (discovery's `https://youtube.googleapis.com/youtube/v3`
/// serves the same API).
pub const DEFAULT_YOUTUBE_BASE: &str = "https://www.googleapis.com/youtube/v3";

/// Items per page of `commentThreads.list` and `comments.list`: the API's maximum, so one unit
/// of quota buys as many comments as possible.
pub const MAX_RESULTS: u32 = 100;

/// Ids per `videos.list` call: the API's limit for the `id` filter.
pub const MAX_VIDEO_IDS_PER_CALL: usize = 50;

/// Quota units of any `*.list` call (channels, commentThreads, comments, videos), per page.
pub const LIST_COST: u32 = 1;
/// Quota units of `comments.insert` (a reply).
pub const INSERT_COST: u32 = 50;
/// Quota units of `comments.update` (editing our reply).
pub const UPDATE_COST: u32 = 50;
/// Quota units of `comments.setModerationStatus`, whatever the number of ids.
pub const SET_MODERATION_STATUS_COST: u32 = 50;
/// Quota units of `comments.delete`.
pub const DELETE_COST: u32 = 50;
/// Quota units of `videos.list` per call (up to [`MAX_VIDEO_IDS_PER_CALL`] ids).
pub const VIDEOS_LIST_COST: u32 = 1;

/// One kind of Data API call, for quota accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum YoutubeCall {
    ChannelsList,
    CommentThreadsList,
    CommentsList,
    VideosList,
    CommentsInsert,
    CommentsUpdate,
    SetModerationStatus,
    CommentsDelete,
}

impl YoutubeCall {
    /// Quota units one call costs (Google's "Quota costs" table; invalid calls cost too).
    pub fn cost(self) -> u32 {
        match self {
            YoutubeCall::ChannelsList
            | YoutubeCall::CommentThreadsList
            | YoutubeCall::CommentsList => LIST_COST,
            YoutubeCall::VideosList => VIDEOS_LIST_COST,
            YoutubeCall::CommentsInsert => INSERT_COST,
            YoutubeCall::CommentsUpdate => UPDATE_COST,
            YoutubeCall::SetModerationStatus => SET_MODERATION_STATUS_COST,
            YoutubeCall::CommentsDelete => DELETE_COST,
        }
    }
}

/// The channel the token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// `UC…`: the account id of a connected YouTube channel.
    pub id: AccountId,
    pub title: String,
}

/// Which threads `commentThreads.list` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModerationFilter {
    Published,
    HeldForReview,
    LikelySpam,
}

impl ModerationFilter {
    fn status(self) -> CommentStatus {
        match self {
            ModerationFilter::Published => CommentStatus::Published,
            ModerationFilter::HeldForReview => CommentStatus::HeldForReview,
            ModerationFilter::LikelySpam => CommentStatus::LikelySpam,
        }
    }
}

/// What the channel owner can set a comment to (`likelySpam` is YouTube's to set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModerationStatus {
    Published,
    HeldForReview,
    Rejected,
}

impl ModerationStatus {
    fn as_str(self) -> &'static str {
        match self {
            ModerationStatus::Published => "published",
            ModerationStatus::HeldForReview => "heldForReview",
            ModerationStatus::Rejected => "rejected",
        }
    }
}

/// A comment's moderation state as YouTube reports it (only to the channel owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentStatus {
    Published,
    HeldForReview,
    LikelySpam,
    Rejected,
}

impl CommentStatus {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "published" => Some(CommentStatus::Published),
            "heldForReview" => Some(CommentStatus::HeldForReview),
            "likelySpam" => Some(CommentStatus::LikelySpam),
            "rejected" => Some(CommentStatus::Rejected),
            _ => None,
        }
    }
}

/// One comment (top-level or reply), normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: NetworkItemId,
    /// Set on replies: the top-level comment (= thread) id.
    pub parent_id: Option<NetworkItemId>,
    /// The video, when the snippet names it (replies from `comments.list` may not).
    pub video_id: Option<NetworkItemId>,
    /// `authorChannelId.value`; absent for some deleted or unlinked authors.
    pub author_channel_id: Option<CustomerId>,
    pub author_name: Option<String>,
    /// `textOriginal`, else `textDisplay` (asked for as plain text).
    pub text: String,
    pub status: Option<CommentStatus>,
    pub published_at: DateTime<Utc>,
    /// Equal to `published_at` until the author edits the comment.
    pub updated_at: DateTime<Utc>,
}

/// A top-level comment with the replies YouTube included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    /// Same as the top-level comment's id.
    pub id: NetworkItemId,
    pub video_id: Option<NetworkItemId>,
    pub top: Comment,
    pub total_reply_count: u32,
    /// Only a subset (YouTube includes a few): see [`Thread::has_more_replies`].
    pub replies: Vec<Comment>,
}

impl Thread {
    /// Whether some replies are missing from [`Thread::replies`]: fetch them with
    /// [`YoutubeClient::replies`] and pass them to [`youtube_changes`] as extras.
    pub fn has_more_replies(&self) -> bool {
        (self.replies.len() as u64) < u64::from(self.total_reply_count)
    }
}

/// One page of `commentThreads.list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadPage {
    pub threads: Vec<Thread>,
    pub next_page_token: Option<String>,
}

/// One page of `comments.list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentPage {
    pub comments: Vec<Comment>,
    pub next_page_token: Option<String>,
}

/// The YouTube Data API for one or more connected channels (the token says which).
///
/// Give it a `reqwest::Client` with a request timeout: the client adds none of its own.
#[derive(Debug, Clone)]
pub struct YoutubeClient {
    http: reqwest::Client,
    base: Url,
}

impl YoutubeClient {
    /// `base` is the API root, [`DEFAULT_YOUTUBE_BASE`] or a local fake's URL.
    pub fn new(http: reqwest::Client, base: &str) -> Result<Self, BaseUrlError> {
        Ok(Self {
            http,
            base: parse_base(base)?,
        })
    }

    /// The channel the token was granted for (`channels.list?mine=true`).
    pub async fn my_channel(&self, token: &SecretString) -> Result<Channel, GoogleError> {
        let mut url = join(&self.base, &["channels"])?;
        url.query_pairs_mut()
            .append_pair("part", "id,snippet")
            .append_pair("mine", "true");
        let body = call(
            &self.http,
            Method::GET,
            url,
            "youtube.channels.list",
            token,
            None,
        )
        .await?;
        let list: wire::ChannelList = parse_json(&body, "YouTube channels.list")?;
        list.items
            .into_iter()
            .find(|c| !c.id.is_empty())
            .map(|c| Channel {
                id: AccountId::new(c.id),
                title: c.snippet.map(|s| s.title).unwrap_or_default(),
            })
            .ok_or_else(|| {
                GoogleError::Permanent(FailureReason::Other(
                    "this Google account has no YouTube channel".into(),
                ))
            })
    }

    /// One page of the threads on all of the channel's videos, newest first.
    pub async fn comment_threads(
        &self,
        token: &SecretString,
        channel_id: &AccountId,
        filter: ModerationFilter,
        page_token: Option<&str>,
    ) -> Result<ThreadPage, GoogleError> {
        let mut url = join(&self.base, &["commentThreads"])?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("part", "snippet,replies")
                .append_pair("allThreadsRelatedToChannelId", channel_id.as_str())
                .append_pair("maxResults", &MAX_RESULTS.to_string())
                .append_pair("order", "time")
                .append_pair("textFormat", "plainText");
            match filter {
                // `published` is the default: leave it out, as Google's examples do.
                ModerationFilter::Published => {}
                ModerationFilter::HeldForReview => {
                    q.append_pair("moderationStatus", "heldForReview");
                }
                ModerationFilter::LikelySpam => {
                    q.append_pair("moderationStatus", "likelySpam");
                }
            }
            if let Some(page) = page_token.filter(|p| !p.is_empty()) {
                q.append_pair("pageToken", page);
            }
        }
        let body = call(
            &self.http,
            Method::GET,
            url,
            "youtube.commentThreads.list",
            token,
            None,
        )
        .await?;
        let list: wire::ThreadList = parse_json(&body, "YouTube commentThreads.list")?;
        let threads = list
            .items
            .into_iter()
            .filter_map(|t| normalise_thread(t, filter))
            .collect();
        Ok(ThreadPage {
            threads,
            next_page_token: list.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// One page of the replies to a top-level comment.
    pub async fn replies(
        &self,
        token: &SecretString,
        parent_id: &NetworkItemId,
        page_token: Option<&str>,
    ) -> Result<CommentPage, GoogleError> {
        let mut url = join(&self.base, &["comments"])?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("part", "snippet")
                .append_pair("parentId", parent_id.as_str())
                .append_pair("maxResults", &MAX_RESULTS.to_string())
                .append_pair("textFormat", "plainText");
            if let Some(page) = page_token.filter(|p| !p.is_empty()) {
                q.append_pair("pageToken", page);
            }
        }
        let body = call(
            &self.http,
            Method::GET,
            url,
            "youtube.comments.list",
            token,
            None,
        )
        .await?;
        let list: wire::CommentList = parse_json(&body, "YouTube comments.list")?;
        Ok(CommentPage {
            comments: list
                .items
                .into_iter()
                .filter_map(normalise_comment)
                .collect(),
            next_page_token: list.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// Titles of the given videos, by id, in calls of at most [`MAX_VIDEO_IDS_PER_CALL`] ids
    /// ([`VIDEOS_LIST_COST`] each). Videos YouTube no longer returns (deleted, private) are
    /// simply missing from the map.
    pub async fn video_titles(
        &self,
        token: &SecretString,
        ids: &[String],
    ) -> Result<HashMap<String, String>, GoogleError> {
        let mut seen = HashSet::new();
        let unique: Vec<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|id| !id.is_empty() && seen.insert(*id))
            .collect();
        let mut titles = HashMap::new();
        for chunk in unique.chunks(MAX_VIDEO_IDS_PER_CALL) {
            let mut url = join(&self.base, &["videos"])?;
            url.query_pairs_mut()
                .append_pair("part", "snippet")
                .append_pair("id", &chunk.join(","))
                .append_pair("maxResults", &MAX_VIDEO_IDS_PER_CALL.to_string());
            let body = call(
                &self.http,
                Method::GET,
                url,
                "youtube.videos.list",
                token,
                None,
            )
            .await?;
            let list: wire::VideoList = parse_json(&body, "YouTube videos.list")?;
            titles.extend(
                list.items
                    .into_iter()
                    .filter_map(|v| Some((v.id, v.snippet?.title))),
            );
        }
        Ok(titles)
    }

    /// Publicly replies to a top-level comment (`comments.insert`, [`INSERT_COST`] units).
    /// Returns the new comment's id.
    pub async fn insert_reply(
        &self,
        token: &SecretString,
        parent_id: &NetworkItemId,
        text: &str,
    ) -> Result<NetworkItemId, GoogleError> {
        if parent_id.as_str().is_empty() {
            return Err(GoogleError::Permanent(FailureReason::Other(
                "no comment to reply to".into(),
            )));
        }
        let mut url = join(&self.base, &["comments"])?;
        url.query_pairs_mut().append_pair("part", "snippet");
        let body = json!({"snippet": {"parentId": parent_id.as_str(), "textOriginal": text}});
        let answer = call(
            &self.http,
            Method::POST,
            url,
            "youtube.comments.insert",
            token,
            Some(body),
        )
        .await?;
        let created: wire::Created = parse_json(&answer, "YouTube comments.insert")?;
        if created.id.is_empty() {
            return Err(GoogleError::Permanent(FailureReason::Other(
                "YouTube accepted the reply but returned no id".into(),
            )));
        }
        Ok(NetworkItemId::new(created.id))
    }

    /// Publishes, holds or rejects comments on the channel's videos (owner only;
    /// [`SET_MODERATION_STATUS_COST`] units). `ban_author` also hides the authors' future
    /// comments and is only allowed with [`ModerationStatus::Rejected`]: refused here
    /// otherwise, without spending quota.
    pub async fn set_moderation_status(
        &self,
        token: &SecretString,
        ids: &[NetworkItemId],
        status: ModerationStatus,
        ban_author: bool,
    ) -> Result<(), GoogleError> {
        if ban_author && status != ModerationStatus::Rejected {
            return Err(GoogleError::Permanent(FailureReason::Other(
                "YouTube bans an author only when rejecting the comment".into(),
            )));
        }
        if ids.is_empty() || ids.iter().any(|id| id.as_str().is_empty()) {
            return Err(GoogleError::Permanent(FailureReason::Other(
                "no comment to moderate".into(),
            )));
        }
        let joined = ids
            .iter()
            .map(NetworkItemId::as_str)
            .collect::<Vec<_>>()
            .join(",");
        let mut url = join(&self.base, &["comments", "setModerationStatus"])?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("id", &joined)
                .append_pair("moderationStatus", status.as_str());
            if ban_author {
                q.append_pair("banAuthor", "true");
            }
        }
        call(
            &self.http,
            Method::POST,
            url,
            "youtube.comments.setModerationStatus",
            token,
            None,
        )
        .await?;
        Ok(())
    }

    /// Deletes a comment the channel wrote (our reply; [`DELETE_COST`] units).
    pub async fn delete_comment(
        &self,
        token: &SecretString,
        id: &NetworkItemId,
    ) -> Result<(), GoogleError> {
        if id.as_str().is_empty() {
            return Err(GoogleError::Permanent(FailureReason::Other(
                "no comment to delete".into(),
            )));
        }
        let mut url = join(&self.base, &["comments"])?;
        url.query_pairs_mut().append_pair("id", id.as_str());
        call(
            &self.http,
            Method::DELETE,
            url,
            "youtube.comments.delete",
            token,
            None,
        )
        .await?;
        Ok(())
    }
}

/// A wire thread → [`Thread`]; `None` (logged) when it lacks what every thread has.
/// `filter` fills in the top-level comment's status when YouTube leaves it out: a thread listed
/// under `heldForReview` is held whether or not its snippet says so.
fn normalise_thread(t: wire::Thread, filter: ModerationFilter) -> Option<Thread> {
    let Some(snippet) = t.snippet else {
        tracing::warn!("YouTube comment thread without a snippet, skipped");
        return None;
    };
    let mut top = normalise_comment(snippet.top_level_comment?)?;
    top.status = top.status.or(Some(filter.status()));
    let video_id = snippet
        .video_id
        .filter(|v| !v.is_empty())
        .map(NetworkItemId::new)
        .or_else(|| top.video_id.clone());
    let id = if t.id.is_empty() {
        top.id.clone()
    } else {
        NetworkItemId::new(t.id)
    };
    let replies = t
        .replies
        .map(|r| r.comments)
        .unwrap_or_default()
        .into_iter()
        .filter_map(normalise_comment)
        .collect();
    Some(Thread {
        id,
        video_id,
        top,
        total_reply_count: snippet.total_reply_count.unwrap_or(0),
        replies,
    })
}

/// A wire comment → [`Comment`]; `None` (logged) without an id or a publication time.
fn normalise_comment(c: wire::Comment) -> Option<Comment> {
    let Some(snippet) = c.snippet else {
        tracing::warn!("YouTube comment without a snippet, skipped");
        return None;
    };
    let (Some(published_at), false) = (snippet.published_at, c.id.is_empty()) else {
        tracing::warn!("YouTube comment without an id or publishedAt, skipped");
        return None;
    };
    let text = snippet
        .text_original
        .or(snippet.text_display)
        .unwrap_or_default();
    Some(Comment {
        id: NetworkItemId::new(c.id),
        parent_id: snippet
            .parent_id
            .filter(|p| !p.is_empty())
            .map(NetworkItemId::new),
        video_id: snippet
            .video_id
            .filter(|v| !v.is_empty())
            .map(NetworkItemId::new),
        author_channel_id: snippet
            .author_channel_id
            .map(|a| a.value)
            .filter(|v| !v.is_empty())
            .map(CustomerId::new),
        author_name: snippet.author_display_name.filter(|n| !n.is_empty()),
        text,
        status: snippet
            .moderation_status
            .as_deref()
            .and_then(CommentStatus::parse),
        published_at,
        updated_at: snippet.updated_at.unwrap_or(published_at).max(published_at),
    })
}

/// The watch page of a video.
fn watch_url(video: &NetworkItemId) -> String {
    format!("https://www.youtube.com/watch?v={video}")
}

/// Turns what one poll read into envelopes for `account` (the channel id): every comment or
/// reply published after `high_water` is new, every older one updated after it is an edit.
/// Comments the channel wrote itself (our replies) are skipped, and so are comments the owner
/// already rejected. `replies_extra` holds, per thread id, replies fetched with
/// [`YoutubeClient::replies`] beyond the few a thread carries; `titles` maps video ids to
/// titles for the cards. Envelopes come oldest first.
///
/// With no `high_water` everything is new: the poller should start a fresh account at its
/// connection time rather than import the channel's whole history. Edits are only noticed on
/// the pages read, since editing does not move a thread up in `order=time`.
pub fn youtube_changes(
    account: &AccountId,
    threads: &[Thread],
    replies_extra: &HashMap<String, Vec<Comment>>,
    titles: &HashMap<String, String>,
    high_water: Option<DateTime<Utc>>,
) -> Poll {
    // At or after: Google's times are per second, so an item from the mark's own second may
    // arrive after the poll that set it. Re-reading one is harmless (dedupe on its key).
    let after_mark = |t: DateTime<Utc>| high_water.is_none_or(|mark| t >= mark);
    let mut changes: Vec<(DateTime<Utc>, NetworkEnvelope)> = Vec::new();
    let mut newest: Option<DateTime<Utc>> = None;
    let mut reached_high_water = false;

    for thread in threads {
        let extra = replies_extra
            .get(thread.id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        // The thread's replies and the fetched ones, each once (the fetched copy wins).
        let mut seen = HashSet::new();
        let replies: Vec<&Comment> = extra
            .iter()
            .chain(thread.replies.iter())
            .filter(|c| seen.insert(c.id.as_str()))
            .collect();
        let comments = std::iter::once(&thread.top).chain(replies.iter().copied());

        let mut thread_active = false;
        for comment in comments {
            let latest = comment.published_at.max(comment.updated_at);
            newest = newest.max(Some(latest));
            // Paging stops at a thread wholly at or before the mark (strictly: what is at the
            // mark's second was read by the poll that set it, bar the race `after_mark` covers).
            thread_active |= high_water.is_none_or(|mark| latest > mark);
            if comment.author_channel_id.as_ref().map(CustomerId::as_str) == Some(account.as_str())
                || comment.status == Some(CommentStatus::Rejected)
            {
                continue;
            }
            if after_mark(comment.published_at) {
                let item = inbound_item(account, thread, comment, titles);
                changes.push((
                    comment.published_at,
                    NetworkEnvelope {
                        dedupe_key: format!("youtube:comment:{}", comment.id),
                        change: NetworkChange::New { item },
                    },
                ));
            }
            // Published before the mark, or at the mark's own second (so the poll that set
            // the mark may have read it already, and the "new" above is a duplicate), and
            // updated since: an edit.
            if after_mark(comment.updated_at)
                && comment.updated_at > comment.published_at
                && high_water.is_some_and(|mark| comment.published_at <= mark)
            {
                changes.push((
                    comment.updated_at,
                    NetworkEnvelope {
                        dedupe_key: format!(
                            "youtube:comment:{}:edit:{}",
                            comment.id,
                            comment
                                .updated_at
                                .to_rfc3339_opts(SecondsFormat::AutoSi, true)
                        ),
                        change: NetworkChange::Edited {
                            network: Network::Youtube,
                            account: account.clone(),
                            item_id: comment.id.clone(),
                            text: comment.text.clone(),
                            rating: None,
                        },
                    },
                ));
            }
        }
        // A thread with nothing after the mark: with `order=time` every later page is older.
        reached_high_water |= high_water.is_some() && !thread_active;
    }

    changes.sort_by_key(|c| c.0);
    Poll {
        envelopes: changes.into_iter().map(|(_, e)| e).collect(),
        reached_high_water,
        newest,
    }
}

fn inbound_item(
    account: &AccountId,
    thread: &Thread,
    comment: &Comment,
    titles: &HashMap<String, String>,
) -> InboundItem {
    let video = thread.video_id.clone().or_else(|| comment.video_id.clone());
    // No author channel: a stand-in per comment, so two anonymous viewers never share a ticket.
    let customer_id = comment
        .author_channel_id
        .clone()
        .unwrap_or_else(|| CustomerId::unknown_author_of(&comment.id));
    let held = match comment.status {
        Some(CommentStatus::HeldForReview) => Some(Held::ForReview),
        Some(CommentStatus::LikelySpam) => Some(Held::LikelySpam),
        _ => None,
    };
    // A held comment waits for its own decision (approve, reject): it is its own ticket,
    // whatever else its author wrote. Others group per author and video; without a video (a
    // channel-level discussion), the thread is what the item hangs off.
    let post_id = match (&held, &video) {
        (Some(_), _) => comment.id.clone(),
        (None, Some(video)) => video.clone(),
        (None, None) => thread.id.clone(),
    };
    InboundItem {
        network: Network::Youtube,
        account: account.clone(),
        item_id: comment.id.clone(),
        kind: ItemKind::Comment,
        post_id,
        customer: Customer {
            id: customer_id,
            name: comment.author_name.clone(),
        },
        text: comment.text.clone(),
        created_at: comment.published_at,
        permalink: video
            .as_ref()
            .map(|v| format!("{}&lc={}", watch_url(v), comment.id)),
        attachments: vec![],
        context: ItemContext {
            subject: video.as_ref().and_then(|v| titles.get(v.as_str()).cloned()),
            subject_url: video.as_ref().map(watch_url),
            rating: None,
            held,
        },
    }
}

/// The Data API's JSON, as far as we read it.
mod wire {
    use chrono::{DateTime, Utc};
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    pub struct ChannelList {
        #[serde(default)]
        pub items: Vec<Channel>,
    }

    #[derive(Debug, Deserialize)]
    pub struct Channel {
        #[serde(default)]
        pub id: String,
        pub snippet: Option<ChannelSnippet>,
    }

    #[derive(Debug, Deserialize)]
    pub struct ChannelSnippet {
        #[serde(default)]
        pub title: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ThreadList {
        #[serde(default)]
        pub items: Vec<Thread>,
        pub next_page_token: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    pub struct Thread {
        #[serde(default)]
        pub id: String,
        pub snippet: Option<ThreadSnippet>,
        pub replies: Option<Replies>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ThreadSnippet {
        pub video_id: Option<String>,
        pub total_reply_count: Option<u32>,
        pub top_level_comment: Option<Comment>,
    }

    #[derive(Debug, Deserialize)]
    pub struct Replies {
        #[serde(default)]
        pub comments: Vec<Comment>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct CommentList {
        #[serde(default)]
        pub items: Vec<Comment>,
        pub next_page_token: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    pub struct Comment {
        #[serde(default)]
        pub id: String,
        pub snippet: Option<CommentSnippet>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct CommentSnippet {
        pub video_id: Option<String>,
        pub parent_id: Option<String>,
        pub text_original: Option<String>,
        pub text_display: Option<String>,
        pub author_display_name: Option<String>,
        pub author_channel_id: Option<AuthorChannelId>,
        pub moderation_status: Option<String>,
        pub published_at: Option<DateTime<Utc>>,
        pub updated_at: Option<DateTime<Utc>>,
    }

    #[derive(Debug, Deserialize)]
    pub struct AuthorChannelId {
        #[serde(default)]
        pub value: String,
    }

    #[derive(Debug, Deserialize)]
    pub struct VideoList {
        #[serde(default)]
        pub items: Vec<Video>,
    }

    #[derive(Debug, Deserialize)]
    pub struct Video {
        #[serde(default)]
        pub id: String,
        pub snippet: Option<VideoSnippet>,
    }

    #[derive(Debug, Deserialize)]
    pub struct VideoSnippet {
        pub title: String,
    }

    #[derive(Debug, Deserialize)]
    pub struct Created {
        #[serde(default)]
        pub id: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHANNEL: &str = "UC_owner";
    const VIDEO: &str = "dQw4w9WgXcQ";

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("date")
            .with_timezone(&Utc)
    }

    fn comment(id: &str, author: Option<&str>, published: &str, updated: &str) -> Comment {
        Comment {
            id: NetworkItemId::new(id),
            parent_id: id.split_once('.').map(|(p, _)| NetworkItemId::new(p)),
            video_id: Some(NetworkItemId::new(VIDEO)),
            author_channel_id: author.map(CustomerId::new),
            author_name: author.map(|a| format!("@{a}")),
            text: format!("text of {id}"),
            status: Some(CommentStatus::Published),
            published_at: at(published),
            updated_at: at(updated),
        }
    }

    fn thread(top: Comment, replies: Vec<Comment>) -> Thread {
        Thread {
            id: top.id.clone(),
            video_id: Some(NetworkItemId::new(VIDEO)),
            total_reply_count: replies.len() as u32,
            top,
            replies,
        }
    }

    fn titles() -> HashMap<String, String> {
        HashMap::from([(VIDEO.to_owned(), "How to <b>bake</b>".to_owned())])
    }

    fn keys(poll: &Poll) -> Vec<&str> {
        poll.envelopes
            .iter()
            .map(|e| e.dedupe_key.as_str())
            .collect()
    }

    fn account() -> AccountId {
        AccountId::new(CHANNEL)
    }

    #[test]
    fn new_comments_become_items_oldest_first_and_paging_stops_at_the_mark() {
        let threads = vec![
            thread(
                comment(
                    "Ug2",
                    Some("UCb"),
                    "2026-08-01T12:30:00Z",
                    "2026-08-01T12:30:00Z",
                ),
                vec![],
            ),
            thread(
                comment(
                    "Ug1",
                    Some("UCa"),
                    "2026-08-01T12:10:00Z",
                    "2026-08-01T12:10:00Z",
                ),
                vec![],
            ),
            // At the mark exactly: read again (it may have arrived after the poll that set
            // the mark; dedupe absorbs a repeat), and the page need go no further.
            thread(
                comment(
                    "Ug0",
                    Some("UCz"),
                    "2026-08-01T12:00:00Z",
                    "2026-08-01T12:00:00Z",
                ),
                vec![],
            ),
        ];
        let poll = youtube_changes(
            &account(),
            &threads,
            &HashMap::new(),
            &titles(),
            Some(at("2026-08-01T12:00:00Z")),
        );
        assert_eq!(
            keys(&poll),
            [
                "youtube:comment:Ug0",
                "youtube:comment:Ug1",
                "youtube:comment:Ug2"
            ]
        );
        assert!(poll.reached_high_water);
        assert_eq!(poll.newest, Some(at("2026-08-01T12:30:00Z")));

        let NetworkChange::New { item } = &poll.envelopes[1].change else {
            panic!("expected a new item");
        };
        assert_eq!(item.network, Network::Youtube);
        assert_eq!(item.account.as_str(), CHANNEL);
        assert_eq!(item.item_id.as_str(), "Ug1");
        assert_eq!(item.kind, ItemKind::Comment);
        assert_eq!(item.post_id.as_str(), VIDEO);
        assert_eq!(item.customer.id.as_str(), "UCa");
        assert_eq!(item.customer.name.as_deref(), Some("@UCa"));
        assert_eq!(item.text, "text of Ug1");
        assert_eq!(item.created_at, at("2026-08-01T12:10:00Z"));
        assert_eq!(
            item.permalink.as_deref(),
            Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ&lc=Ug1")
        );
        assert_eq!(item.context.subject.as_deref(), Some("How to <b>bake</b>"));
        assert_eq!(
            item.context.subject_url.as_deref(),
            Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
        );
        assert_eq!(item.context.held, None);
        assert_eq!(item.context.rating, None);
        assert_eq!(item.conversation_key(), "youtube:UC_owner:dQw4w9WgXcQ:UCa");
    }

    #[test]
    fn without_a_mark_everything_is_new_and_paging_goes_on() {
        let threads = vec![thread(
            comment(
                "Ug1",
                Some("UCa"),
                "2020-01-01T00:00:00Z",
                "2020-01-01T00:00:00Z",
            ),
            vec![],
        )];
        let poll = youtube_changes(&account(), &threads, &HashMap::new(), &titles(), None);
        assert_eq!(keys(&poll), ["youtube:comment:Ug1"]);
        assert!(!poll.reached_high_water);
    }

    #[test]
    fn a_comment_from_the_marks_second_edited_later_is_new_and_edited() {
        // The poll that set the mark at 12:00:00 read this comment; it was edited since.
        let threads = vec![thread(
            comment(
                "Ug1",
                Some("UCa"),
                "2026-08-01T12:00:00Z",
                "2026-08-01T12:45:10Z",
            ),
            vec![],
        )];
        let poll = youtube_changes(
            &account(),
            &threads,
            &HashMap::new(),
            &titles(),
            Some(at("2026-08-01T12:00:00Z")),
        );
        // "New" again (a duplicate the inbox drops, or news if that poll missed it), then
        // the edit.
        assert_eq!(
            keys(&poll),
            [
                "youtube:comment:Ug1",
                "youtube:comment:Ug1:edit:2026-08-01T12:45:10Z"
            ]
        );
        // A comment well after the mark, edited before we saw it, is only new.
        let poll = youtube_changes(
            &account(),
            &threads,
            &HashMap::new(),
            &titles(),
            Some(at("2026-08-01T11:00:00Z")),
        );
        assert_eq!(keys(&poll), ["youtube:comment:Ug1"]);
    }

    #[test]
    fn an_old_comment_updated_after_the_mark_is_an_edit() {
        let threads = vec![thread(
            comment(
                "Ug1",
                Some("UCa"),
                "2026-08-01T10:00:00Z",
                "2026-08-01T12:45:10Z",
            ),
            vec![],
        )];
        let poll = youtube_changes(
            &account(),
            &threads,
            &HashMap::new(),
            &titles(),
            Some(at("2026-08-01T12:00:00Z")),
        );
        assert_eq!(
            keys(&poll),
            ["youtube:comment:Ug1:edit:2026-08-01T12:45:10Z"]
        );
        assert_eq!(
            poll.envelopes[0].change,
            NetworkChange::Edited {
                network: Network::Youtube,
                account: account(),
                item_id: NetworkItemId::new("Ug1"),
                text: "text of Ug1".into(),
                rating: None,
            }
        );
        // The thread had activity after the mark: keep paging.
        assert!(!poll.reached_high_water);
        assert_eq!(poll.newest, Some(at("2026-08-01T12:45:10Z")));
    }

    #[test]
    fn new_replies_under_old_threads_count_and_our_own_replies_are_skipped() {
        let top = comment(
            "Ug1",
            Some("UCa"),
            "2026-08-01T10:00:00Z",
            "2026-08-01T10:00:00Z",
        );
        let ours = comment(
            "Ug1.r1",
            Some(CHANNEL),
            "2026-08-01T12:10:00Z",
            "2026-08-01T12:10:00Z",
        );
        let theirs = comment(
            "Ug1.r2",
            Some("UCa"),
            "2026-08-01T12:20:00Z",
            "2026-08-01T12:20:00Z",
        );
        let threads = vec![thread(top, vec![ours])];
        // The extra replies (comments.list) repeat ours and add the customer's answer.
        let extra = HashMap::from([(
            "Ug1".to_owned(),
            vec![
                comment(
                    "Ug1.r1",
                    Some(CHANNEL),
                    "2026-08-01T12:10:00Z",
                    "2026-08-01T12:10:00Z",
                ),
                theirs,
            ],
        )]);
        let poll = youtube_changes(
            &account(),
            &threads,
            &extra,
            &titles(),
            Some(at("2026-08-01T12:00:00Z")),
        );
        assert_eq!(keys(&poll), ["youtube:comment:Ug1.r2"]);
        let NetworkChange::New { item } = &poll.envelopes[0].change else {
            panic!("expected a new item");
        };
        // Grouped with the author's top-level comment: same video, same author.
        assert_eq!(item.post_id.as_str(), VIDEO);
        assert_eq!(item.customer.id.as_str(), "UCa");
        assert_eq!(
            item.permalink.as_deref(),
            Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ&lc=Ug1.r2")
        );
        assert_eq!(poll.newest, Some(at("2026-08-01T12:20:00Z")));
    }

    #[test]
    fn held_and_spam_comments_say_so_and_rejected_ones_are_dropped() {
        let mut held = comment(
            "UgH",
            Some("UCh"),
            "2026-08-01T12:01:00Z",
            "2026-08-01T12:01:00Z",
        );
        held.status = Some(CommentStatus::HeldForReview);
        let mut spam = comment(
            "UgS",
            Some("UCs"),
            "2026-08-01T12:02:00Z",
            "2026-08-01T12:02:00Z",
        );
        spam.status = Some(CommentStatus::LikelySpam);
        let mut rejected = comment(
            "UgR",
            Some("UCr"),
            "2026-08-01T12:03:00Z",
            "2026-08-01T12:03:00Z",
        );
        rejected.status = Some(CommentStatus::Rejected);
        let threads = vec![
            thread(held, vec![]),
            thread(spam, vec![]),
            thread(rejected, vec![]),
        ];
        let poll = youtube_changes(
            &account(),
            &threads,
            &HashMap::new(),
            &titles(),
            Some(at("2026-08-01T12:00:00Z")),
        );
        let held: Vec<Option<Held>> = poll
            .envelopes
            .iter()
            .map(|e| match &e.change {
                NetworkChange::New { item } => item.context.held,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(keys(&poll), ["youtube:comment:UgH", "youtube:comment:UgS"]);
        assert_eq!(held, [Some(Held::ForReview), Some(Held::LikelySpam)]);
    }

    #[test]
    fn a_held_comment_is_a_ticket_of_its_own() {
        // The same author, the same video: one published comment, one held.
        let published = comment(
            "UgP",
            Some("UCh"),
            "2026-08-01T12:01:00Z",
            "2026-08-01T12:01:00Z",
        );
        let mut held = comment(
            "UgH",
            Some("UCh"),
            "2026-08-01T12:02:00Z",
            "2026-08-01T12:02:00Z",
        );
        held.status = Some(CommentStatus::HeldForReview);
        let poll = youtube_changes(
            &account(),
            &[thread(published, vec![]), thread(held, vec![])],
            &HashMap::new(),
            &titles(),
            Some(at("2026-08-01T12:00:00Z")),
        );
        let conversations: Vec<String> = poll
            .envelopes
            .iter()
            .map(|e| match &e.change {
                NetworkChange::New { item } => item.conversation_key(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            conversations,
            [
                format!("youtube:{}:{VIDEO}:UCh", account()),
                format!("youtube:{}:UgH:UCh", account())
            ]
        );
    }

    #[test]
    fn an_author_without_a_channel_gets_a_stand_in_per_comment() {
        let threads = vec![
            thread(
                comment("Ug1", None, "2026-08-01T12:01:00Z", "2026-08-01T12:01:00Z"),
                vec![],
            ),
            thread(
                comment("Ug2", None, "2026-08-01T12:02:00Z", "2026-08-01T12:02:00Z"),
                vec![],
            ),
        ];
        let poll = youtube_changes(
            &account(),
            &threads,
            &HashMap::new(),
            &HashMap::new(),
            Some(at("2026-08-01T12:00:00Z")),
        );
        let ids: Vec<CustomerId> = poll
            .envelopes
            .iter()
            .map(|e| match &e.change {
                NetworkChange::New { item } => {
                    // No title known: no subject, but still the link.
                    assert_eq!(item.context.subject, None);
                    assert!(item.context.subject_url.is_some());
                    item.customer.id.clone()
                }
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            ids,
            [
                CustomerId::unknown_author_of(&NetworkItemId::new("Ug1")),
                CustomerId::unknown_author_of(&NetworkItemId::new("Ug2")),
            ]
        );
        assert!(!ids[0].is_known());
    }

    #[test]
    fn quota_costs_follow_googles_table() {
        assert_eq!(YoutubeCall::CommentThreadsList.cost(), 1);
        assert_eq!(YoutubeCall::CommentsList.cost(), 1);
        assert_eq!(YoutubeCall::ChannelsList.cost(), 1);
        assert_eq!(YoutubeCall::VideosList.cost(), 1);
        assert_eq!(YoutubeCall::CommentsInsert.cost(), 50);
        assert_eq!(YoutubeCall::CommentsUpdate.cost(), 50);
        assert_eq!(YoutubeCall::SetModerationStatus.cost(), 50);
        assert_eq!(YoutubeCall::CommentsDelete.cost(), 50);
    }

    #[test]
    fn threads_know_when_replies_are_missing() {
        let mut t = thread(
            comment(
                "Ug1",
                Some("UCa"),
                "2026-08-01T12:01:00Z",
                "2026-08-01T12:01:00Z",
            ),
            vec![],
        );
        assert!(!t.has_more_replies());
        t.total_reply_count = 7;
        assert!(t.has_more_replies());
    }
}
