//! TikTok behind the connector contracts: [`Connector`] (reply under the comment, hide,
//! unhide, delete our reply) and [`PolledConnector`] (connect, identify, poll).
//!
//! One poll reads the account's most recent videos ([`MAX_VIDEOS_PER_POLL`]), each down to
//! its own mark, and the followed threads' new replies (see [`super::changes`]), within a
//! budget of calls per endpoint: TikTok allows 40 calls a minute per account and endpoint
//! (network-apis.md §6.3) and polls are at least `poll.min_interval_secs` (60 s by default)
//! apart. What the budget leaves unread is read by the next polls; marks only move over what
//! was read. Leases, storage and scheduling are the poll worker's.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use super::changes::{TiktokCursor, VideoChanges, VideoMark, reached_mark, video_changes};
use super::client::{Comment, MAX_COMMENT_IDS_PER_CALL, MAX_VIDEOS_PER_PAGE, TiktokClient, Video};
use super::error::TiktokError;
use super::{CommentRef, capabilities};
use crate::core::{
    AccountId, Capabilities, FailureReason, ItemKind, Moderation, Network, NetworkChange,
    NetworkItemId, Ticket,
};
use crate::networks::{Call, Connector, ConnectorError, Login, PollBatch, PolledConnector};
use crate::store::ConnectedAccount;

/// Videos a poll looks at: the account's most recent, one page of `business/video/list/`.
/// Comments on older videos are not read.
pub const MAX_VIDEOS_PER_POLL: u32 = MAX_VIDEOS_PER_PAGE;

/// `business/comment/list/` calls per poll (pages of new comments, followed-thread checks):
/// below TikTok's 40 a minute per account, with room for the outbox's calls.
pub const MAX_COMMENT_CALLS_PER_POLL: u32 = 30;

/// `business/comment/reply/list/` calls per poll.
pub const MAX_REPLY_CALLS_PER_POLL: u32 = 30;

/// Pages of a thread's replies read when looking for a reply whose answer was lost.
pub const MAX_REPLY_LOOKUP_PAGES: u32 = 2;

/// How long to wait after TikTok's rate limit when it names no time: its limits are per
/// minute.
pub const RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// How TikTok's refusals reach the workers.
pub fn connector_error(e: TiktokError, now: DateTime<Utc>) -> ConnectorError {
    match e {
        TiktokError::Transient { retry_after } => ConnectorError::Transient {
            retry_after,
            reason: "TikTok did not answer in time".into(),
        },
        TiktokError::RateLimited { retry_after } => ConnectorError::Exhausted {
            until: now
                + chrono::Duration::from_std(retry_after.unwrap_or(RATE_LIMIT_WAIT))
                    .unwrap_or_else(|_| chrono::Duration::minutes(1)),
            reason: "rate-limited by TikTok (40 calls a minute per account)".into(),
        },
        TiktokError::Unauthorized => ConnectorError::Unauthorized,
        TiktokError::Permanent(reason) => ConnectorError::Permanent(reason),
    }
}

/// The item a call is about, or a refusal naming what is wrong with its id.
fn comment_ref(item: &NetworkItemId) -> Result<CommentRef, ConnectorError> {
    CommentRef::parse(item).ok_or_else(|| {
        ConnectorError::Permanent(FailureReason::Other(format!(
            "{item} is not a TikTok comment id (<video>:<comment>)"
        )))
    })
}

/// What a poll may still spend, per endpoint.
#[derive(Debug)]
struct Budget {
    comment_calls: u32,
    reply_calls: u32,
    /// Calls made.
    spent: u32,
}

impl Budget {
    fn new() -> Self {
        Self {
            comment_calls: MAX_COMMENT_CALLS_PER_POLL,
            reply_calls: MAX_REPLY_CALLS_PER_POLL,
            spent: 0,
        }
    }
}

/// Comments on a TikTok business account's videos.
pub struct TiktokConnector {
    client: TiktokClient,
    backfill: chrono::Duration,
}

impl TiktokConnector {
    pub fn new(client: TiktokClient, backfill_days: u32) -> Self {
        Self {
            client,
            backfill: chrono::Duration::days(i64::from(backfill_days)),
        }
    }

    /// Read one video for a poll: its new comments down to `mark` (or from where the last
    /// poll stopped), the followed threads' reply counts, and the replies of threads whose
    /// count grew. The changes found, and the video's mark after them. Needs at least one
    /// comment call left in `budget`.
    async fn read_video(
        &self,
        token: &SecretString,
        account: &AccountId,
        video: &Video,
        mut mark: VideoMark,
        budget: &mut Budget,
        now: DateTime<Utc>,
    ) -> Result<(VideoChanges, VideoMark), TiktokError> {
        let business = account.as_str();
        let old = mark.high_water;
        // New top-level comments, newest first, down to the mark.
        let mut tops: Vec<Comment> = Vec::new();
        let mut page_cursor = mark.resume;
        let resume = loop {
            let page = self
                .client
                .comments(token, business, &video.id, page_cursor)
                .await?;
            budget.comment_calls -= 1;
            budget.spent += 1;
            let reached = reached_mark(&page.comments, old);
            tops.extend(page.comments);
            match page.cursor {
                Some(next) if page.has_more && !reached => {
                    page_cursor = Some(next);
                    if budget.comment_calls == 0 {
                        break Some(next);
                    }
                }
                // The end of the listing counts as reaching the mark.
                _ => break None,
            }
        };
        // The followed threads not on those pages: how many replies they have now.
        let mut complete = true;
        let read: std::collections::HashSet<&str> = tops.iter().map(|c| c.id.as_str()).collect();
        let others: Vec<&str> = mark
            .threads
            .keys()
            .map(String::as_str)
            .filter(|id| !read.contains(id))
            .take(MAX_COMMENT_IDS_PER_CALL)
            .collect();
        let mut threads = tops.clone();
        if !others.is_empty() {
            if budget.comment_calls == 0 {
                complete = false;
            } else {
                let now_seen = self
                    .client
                    .comments_by_id(token, business, &video.id, &others)
                    .await?;
                budget.comment_calls -= 1;
                budget.spent += 1;
                threads.extend(now_seen);
            }
        }
        // The replies of threads whose count grew, newest first, down to the mark.
        let mut fetched: HashMap<String, Vec<Comment>> = HashMap::new();
        for top in &threads {
            if !mark.needs_replies(top) {
                mark.record_thread(top, &[], true);
                continue;
            }
            let mut replies = Vec::new();
            let mut cursor = None;
            let thread_complete = loop {
                if budget.reply_calls == 0 {
                    break false;
                }
                let page = self
                    .client
                    .replies(token, business, &video.id, &top.id, cursor)
                    .await?;
                budget.reply_calls -= 1;
                budget.spent += 1;
                let reached = reached_mark(&page.comments, old);
                replies.extend(page.comments);
                match page.cursor {
                    Some(next) if page.has_more && !reached => cursor = Some(next),
                    _ => break true,
                }
            };
            complete &= thread_complete;
            mark.record_thread(top, &replies, thread_complete);
            fetched.insert(top.id.clone(), replies);
        }
        let changes = video_changes(account, video, &threads, &fetched, old);
        // Never past the moment the listing was read: a reply read afterwards may be newer
        // than a top-level comment written after the listing, which the next poll must still
        // reach (what is at or above the mark is read again, and deduplicated).
        let newest = changes.newest.map(|n| n.min(now));
        let mark = mark.advance(newest, resume, complete, now);
        Ok((changes, mark))
    }
}

#[async_trait]
impl Connector for TiktokConnector {
    fn network(&self) -> Network {
        Network::Tiktok
    }

    fn capabilities(&self, kind: ItemKind) -> Capabilities {
        capabilities::comments(kind)
    }

    /// TikTok threads are one level deep: a reply to a reply goes under its thread's
    /// top-level comment. The reply's id is a TikTok item id in that thread.
    async fn reply(
        &self,
        call: Call<'_>,
        _ticket: &Ticket,
        reply_to: &NetworkItemId,
        text: &str,
    ) -> Result<NetworkItemId, ConnectorError> {
        let at = comment_ref(reply_to)?;
        let thread = at.thread().to_owned();
        let id = self
            .client
            .reply(call.token, call.account.as_str(), &at.video, &thread, text)
            .await
            .map_err(|e| connector_error(e, call.now))?;
        Ok(CommentRef {
            video: at.video,
            parent: Some(thread),
            comment: id,
        }
        .item_id())
    }

    /// Our replies in the thread (`business/comment/reply/list/`): written by the account,
    /// with this text, created since `since` (TikTok's times are whole seconds).
    async fn find_reply(
        &self,
        call: Call<'_>,
        _ticket: &Ticket,
        reply_to: &NetworkItemId,
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<(Vec<NetworkItemId>, u32), ConnectorError> {
        let at = comment_ref(reply_to)?;
        let thread = at.thread();
        let since = since - chrono::Duration::seconds(1);
        let mut found: Vec<(DateTime<Utc>, String)> = Vec::new();
        let mut cursor = None;
        for _ in 0..MAX_REPLY_LOOKUP_PAGES {
            let page = self
                .client
                .replies(call.token, call.account.as_str(), &at.video, thread, cursor)
                .await
                .map_err(|e| connector_error(e, call.now))?;
            found.extend(
                page.comments
                    .iter()
                    .filter(|c| c.owner && c.created_at >= since && c.text.trim() == text.trim())
                    .map(|c| (c.created_at, c.id.clone())),
            );
            match page.cursor {
                Some(next) if page.has_more && !reached_mark(&page.comments, since) => {
                    cursor = Some(next)
                }
                _ => break,
            }
        }
        found.sort();
        let ids = found
            .into_iter()
            .map(|(_, id)| {
                CommentRef {
                    video: at.video.clone(),
                    parent: Some(thread.to_owned()),
                    comment: id,
                }
                .item_id()
            })
            .collect();
        Ok((ids, 0))
    }

    /// Hide and unhide a viewer's comment (`business/comment/hide/`); delete our reply
    /// (`business/comment/delete/`).
    async fn moderate(
        &self,
        call: Call<'_>,
        _ticket: &Ticket,
        action: Moderation,
        item: &NetworkItemId,
    ) -> Result<(), ConnectorError> {
        let at = comment_ref(item)?;
        let business = call.account.as_str();
        let result = match action {
            Moderation::Hide | Moderation::Unhide => {
                self.client
                    .hide(
                        call.token,
                        business,
                        &at.video,
                        &at.comment,
                        action == Moderation::Hide,
                    )
                    .await
            }
            Moderation::DeleteReply => self.client.delete(call.token, business, &at.comment).await,
            _ => {
                tracing::warn!(?action, "a moderation TikTok does not offer");
                return Err(ConnectorError::Permanent(FailureReason::NotSupported));
            }
        };
        result.map_err(|e| connector_error(e, call.now))
    }
}

#[async_trait]
impl PolledConnector for TiktokConnector {
    fn login(&self) -> Login {
        Login {
            provider: crate::oauth::TIKTOK,
            scopes: super::SCOPES,
        }
    }

    /// The video listing and a first page per video.
    fn units_per_poll(&self) -> u32 {
        1 + MAX_VIDEOS_PER_POLL
    }

    // TikTok's limits are per minute, not per day: no daily plan; the poll worker's minimum
    // interval and the per-poll budget pace it.

    /// The account the token was granted for: its `open_id` (`tt_user/token_info/get/`),
    /// named by `business/get/`.
    async fn identify(
        &self,
        token: &SecretString,
    ) -> Result<Vec<(String, String)>, ConnectorError> {
        let now = Utc::now();
        let id = self
            .client
            .token_owner(token)
            .await
            .map_err(|e| connector_error(e, now))?;
        let account = self
            .client
            .account(token, &id)
            .await
            .map_err(|e| connector_error(e, now))?;
        Ok(vec![(account.id.clone(), account.name())])
    }

    async fn poll(
        &self,
        account: &ConnectedAccount,
        token: &SecretString,
        cursor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<PollBatch, ConnectorError> {
        let mut cursor = TiktokCursor::read(cursor, now, self.backfill);
        let listing = self
            .client
            .videos(token, account.account_id.as_str(), None)
            .await
            .map_err(|e| connector_error(e, now))?;
        let mut budget = Budget::new();
        budget.spent += 1;
        let mut found = Vec::new();
        let mut read_any = false;
        let order = cursor.order(&listing.videos);
        for video in order {
            if budget.comment_calls == 0 {
                break;
            }
            let mark = cursor.take(&video.id);
            let before = mark.clone();
            match self
                .read_video(token, &account.account_id, video, mark, &mut budget, now)
                .await
            {
                Ok((changes, mark)) => {
                    found.extend(changes.envelopes);
                    cursor.videos.insert(video.id.clone(), mark);
                    read_any = true;
                }
                Err(e) => {
                    // This video keeps its mark: what it would have given is read later.
                    cursor.videos.insert(video.id.clone(), before);
                    match e {
                        // A video whose comments cannot be read (deleted meanwhile, comments
                        // turned off) must not stop the others.
                        TiktokError::Permanent(reason) => {
                            tracing::warn!(
                                video = video.id,
                                ?reason,
                                "cannot read a TikTok video's comments; skipped"
                            );
                        }
                        // Throttled or down after some progress: keep what was read.
                        e if e.is_retryable() && read_any => {
                            tracing::info!(error = %e, "TikTok poll cut short; the rest is read next time");
                            break;
                        }
                        e => return Err(connector_error(e, now)),
                    }
                }
            }
        }
        cursor.keep_only(&listing.videos);
        found.sort_by_key(|e| match &e.change {
            NetworkChange::New { item } => Some(item.created_at),
            _ => None,
        });
        Ok(PollBatch {
            envelopes: found,
            cursor: cursor.write(),
            units: budget.spent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + s, 0).expect("valid")
    }

    #[test]
    fn rate_limits_wait_for_a_minute_or_what_tiktok_says() {
        match connector_error(TiktokError::RateLimited { retry_after: None }, at(0)) {
            ConnectorError::Exhausted { until, .. } => assert_eq!(until, at(60)),
            other => panic!("{other:?}"),
        }
        match connector_error(
            TiktokError::RateLimited {
                retry_after: Some(Duration::from_secs(5)),
            },
            at(0),
        ) {
            ConnectorError::Exhausted { until, .. } => assert_eq!(until, at(5)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            connector_error(TiktokError::Unauthorized, at(0)),
            ConnectorError::Unauthorized
        );
        assert!(matches!(
            connector_error(TiktokError::Transient { retry_after: None }, at(0)),
            ConnectorError::Transient { .. }
        ));
    }

    #[test]
    fn an_id_that_is_not_tiktoks_is_refused_in_plain_words() {
        match comment_ref(&NetworkItemId::new("UgzPublished1")) {
            Err(ConnectorError::Permanent(FailureReason::Other(why))) => {
                assert!(why.contains("not a TikTok comment id"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }
}
