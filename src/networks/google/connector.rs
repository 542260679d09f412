//! The two Google networks behind the polled-connector contract ([`PolledConnector`]): one
//! poll pages through the newest items until the account's high-water mark, gathers what the
//! cards need (replies beyond the embedded few, video titles), and hands back envelopes with
//! the new mark as the cursor. Leases, storage and scheduling are the poll worker's.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::capabilities;
use super::error::{GoogleError, next_quota_reset};
use super::youtube::{
    ModerationFilter, ModerationStatus, Thread, YoutubeCall, YoutubeClient, youtube_changes,
};
use super::{BusinessClient, review_changes};
use crate::core::quota::QuotaPlan;
use crate::core::{AccountId, Capabilities, ItemKind, Moderation, Network, NetworkItemId, Ticket};
use crate::networks::{Call, Connector, ConnectorError, Login, PollBatch, PolledConnector};
use crate::store::ConnectedAccount;

/// At most this many pages of one listing per poll: a backlog larger than that is read over
/// the next polls (the mark only moves once a poll reached it, so nothing is skipped).
pub const MAX_PAGES_PER_POLL: u32 = 10;

/// At most this many threads per poll get their further replies fetched (1 unit each).
pub const MAX_REPLY_FETCHES_PER_POLL: usize = 20;

/// Part of the YouTube budget kept back for replies and moderation (50 units each): 40 %.
pub const REPLY_RESERVE_PERCENT: u64 = 40;

/// A poller's durable cursor for a Google account: the newest time already read in full,
/// and, while a backlog takes several polls, where each unfinished listing continues.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoogleCursor {
    pub high_water: Option<DateTime<Utc>>,
    /// Listing name → the page token to continue from (a poll ran out of pages before the
    /// mark).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub resume: std::collections::BTreeMap<String, String>,
    /// The newest time seen while a backlog is being read: the next mark once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<DateTime<Utc>>,
}

impl GoogleCursor {
    /// The stored cursor, or for a first poll the start of the backfill window.
    fn read(cursor: Option<&str>, now: DateTime<Utc>, backfill: chrono::Duration) -> Self {
        cursor
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or(GoogleCursor {
                high_water: Some(now - backfill),
                ..Default::default()
            })
    }

    fn write(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// The cursor after a poll. Every listing read down to the old mark (`resume` empty and
/// `complete`): the mark moves to the newest time seen over the whole backlog. Otherwise the
/// mark stays, the unfinished listings continue from their page tokens next time, and the
/// newest time seen is kept for when they are done (dedupe absorbs any overlap).
fn advance(
    old: &GoogleCursor,
    newest: Option<DateTime<Utc>>,
    resume: std::collections::BTreeMap<String, String>,
    complete: bool,
) -> GoogleCursor {
    let pending = old.pending.max(newest);
    if resume.is_empty() && complete {
        GoogleCursor {
            high_water: pending.max(old.high_water),
            ..Default::default()
        }
    } else {
        GoogleCursor {
            high_water: old.high_water,
            resume,
            pending,
        }
    }
}

/// How Google's refusals reach the poll worker.
pub fn connector_error(e: GoogleError, now: DateTime<Utc>) -> ConnectorError {
    match e {
        GoogleError::Transient { retry_after } => ConnectorError::Transient {
            retry_after,
            reason: "Google did not answer in time".into(),
        },
        GoogleError::RateLimited { retry_after } => ConnectorError::Exhausted {
            until: now
                + chrono::Duration::from_std(retry_after.unwrap_or(Duration::from_secs(60)))
                    .unwrap_or_else(|_| chrono::Duration::minutes(1)),
            reason: "rate-limited by Google".into(),
        },
        GoogleError::QuotaExceeded => ConnectorError::Exhausted {
            until: next_quota_reset(now),
            reason: "the YouTube quota for today is used up (resets at midnight Pacific time)"
                .into(),
        },
        GoogleError::Unauthorized => ConnectorError::Unauthorized,
        GoogleError::Permanent(reason) => ConnectorError::Permanent(reason),
    }
}

/// At most this many pages of a thread's replies are read when looking for a reply whose
/// answer was lost (1 quota unit each).
pub const MAX_REPLY_LOOKUP_PAGES: u32 = 3;

/// The thread a comment belongs to: YouTube has one level of replies, and a reply's id is
/// `<thread id>.<suffix>`.
fn thread_of(comment: &NetworkItemId) -> &str {
    comment
        .as_str()
        .split_once('.')
        .map_or(comment.as_str(), |(thread, _)| thread)
}

/// A moderation action the network does not offer (the core never queues one; an old job
/// might).
fn not_offered(network: Network, action: Moderation) -> ConnectorError {
    tracing::warn!(%network, ?action, "a moderation the network does not offer");
    ConnectorError::Permanent(crate::core::FailureReason::NotSupported)
}

/// YouTube comments on the connected channel's videos.
pub struct YoutubeConnector {
    client: YoutubeClient,
    backfill: chrono::Duration,
    daily_units: u64,
    min_interval: Duration,
}

impl YoutubeConnector {
    pub fn new(
        client: YoutubeClient,
        backfill_days: u32,
        daily_units: u64,
        min_interval: Duration,
    ) -> Self {
        Self {
            client,
            backfill: chrono::Duration::days(i64::from(backfill_days)),
            daily_units,
            min_interval,
        }
    }

    /// Page through one moderation listing until the mark, from `start` (a page token a
    /// previous poll stopped at). The threads read, and the page token to continue from when
    /// the page budget ran out first.
    async fn listing(
        &self,
        token: &SecretString,
        channel: &AccountId,
        filter: ModerationFilter,
        mark: Option<DateTime<Utc>>,
        start: Option<String>,
        units: &mut u32,
    ) -> Result<(Vec<Thread>, Option<String>), GoogleError> {
        let mut threads = Vec::new();
        let mut page = start;
        for _ in 0..MAX_PAGES_PER_POLL {
            let got = self
                .client
                .comment_threads(token, channel, filter, page.as_deref())
                .await?;
            *units += YoutubeCall::CommentThreadsList.cost();
            let reached = youtube_changes(
                channel,
                &got.threads,
                &HashMap::new(),
                &HashMap::new(),
                mark,
            )
            .reached_high_water;
            threads.extend(got.threads);
            match got.next_page_token {
                Some(next) if !reached => page = Some(next),
                // The end of the listing counts as reaching the mark.
                _ => return Ok((threads, None)),
            }
        }
        Ok((threads, page))
    }
}

#[async_trait]
impl Connector for YoutubeConnector {
    fn network(&self) -> Network {
        Network::Youtube
    }

    fn capabilities(&self, kind: ItemKind) -> Capabilities {
        capabilities::youtube(kind)
    }

    /// YouTube has one level of replies: a reply to a reply goes under its thread
    /// (`<thread id>.<suffix>` → `<thread id>`).
    /// YouTube has one level of replies: a reply to a reply goes under its thread.
    async fn reply(
        &self,
        call: Call<'_>,
        _ticket: &Ticket,
        reply_to: &NetworkItemId,
        text: &str,
    ) -> Result<NetworkItemId, ConnectorError> {
        let thread = thread_of(reply_to);
        self.client
            .insert_reply(call.token, &NetworkItemId::new(thread), text)
            .await
            .map_err(|e| connector_error(e, call.now))
    }

    /// Our replies among the thread's (`comments.list`, 1 unit a page): by this channel, with
    /// this text, published since `since`.
    async fn find_reply(
        &self,
        call: Call<'_>,
        _ticket: &Ticket,
        reply_to: &NetworkItemId,
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<(Vec<NetworkItemId>, u32), ConnectorError> {
        let thread = NetworkItemId::new(thread_of(reply_to));
        let mut page: Option<String> = None;
        let mut found: Vec<(DateTime<Utc>, NetworkItemId)> = Vec::new();
        let mut units = 0;
        for _ in 0..MAX_REPLY_LOOKUP_PAGES {
            let got = self
                .client
                .replies(call.token, &thread, page.as_deref())
                .await
                .map_err(|e| connector_error(e, call.now))?;
            units += YoutubeCall::CommentsList.cost();
            found.extend(
                got.comments
                    .iter()
                    .filter(|c| {
                        c.author_channel_id.as_ref().map(|a| a.as_str())
                            == Some(call.account.as_str())
                            && c.published_at >= since
                            && c.text.trim() == text.trim()
                    })
                    .map(|c| (c.published_at, c.id.clone())),
            );
            match got.next_page_token {
                Some(next) => page = Some(next),
                None => break,
            }
        }
        found.sort();
        Ok((found.into_iter().map(|(_, id)| id).collect(), units))
    }

    /// Held comments are approved or rejected (and their author banned) by
    /// `comments.setModerationStatus`; our reply is deleted by `comments.delete`.
    async fn moderate(
        &self,
        call: Call<'_>,
        _ticket: &Ticket,
        action: Moderation,
        item: &NetworkItemId,
    ) -> Result<(), ConnectorError> {
        let items = std::slice::from_ref(item);
        let status = |status, ban| {
            self.client
                .set_moderation_status(call.token, items, status, ban)
        };
        let result = match action {
            Moderation::Approve => status(ModerationStatus::Published, false).await,
            Moderation::Reject => status(ModerationStatus::Rejected, false).await,
            Moderation::BanAuthor => status(ModerationStatus::Rejected, true).await,
            Moderation::DeleteReply => self.client.delete_comment(call.token, item).await,
            _ => return Err(not_offered(Network::Youtube, action)),
        };
        result.map_err(|e| connector_error(e, call.now))
    }
}

#[async_trait]
impl PolledConnector for YoutubeConnector {
    fn login(&self) -> Login {
        Login {
            provider: crate::oauth::GOOGLE,
            scopes: &[crate::oauth::SCOPE_YOUTUBE],
        }
    }

    /// Three listings (published, held for review, likely spam) and a titles lookup.
    fn units_per_poll(&self) -> u32 {
        3 * YoutubeCall::CommentThreadsList.cost() + YoutubeCall::VideosList.cost()
    }

    fn quota_plan(&self) -> Option<QuotaPlan> {
        let daily = u32::try_from(self.daily_units).unwrap_or(u32::MAX);
        let reserve = u32::try_from(self.daily_units * REPLY_RESERVE_PERCENT / 100).unwrap_or(0);
        Some(QuotaPlan {
            daily_units: daily,
            reply_reserve_units: reserve,
            min_interval: self.min_interval,
        })
    }

    fn quota_reset(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        next_quota_reset(now)
    }

    /// `comments.insert`, and the lookup a retry makes first (one page, usually).
    fn reply_units(&self) -> u32 {
        YoutubeCall::CommentsInsert.cost()
    }

    fn moderation_units(&self, action: Moderation) -> u32 {
        match action {
            Moderation::DeleteReply => YoutubeCall::CommentsDelete.cost(),
            _ => YoutubeCall::SetModerationStatus.cost(),
        }
    }

    async fn identify(
        &self,
        token: &SecretString,
    ) -> Result<Vec<(String, String)>, ConnectorError> {
        let channel = self
            .client
            .my_channel(token)
            .await
            .map_err(|e| connector_error(e, Utc::now()))?;
        Ok(vec![(channel.id.as_str().to_string(), channel.title)])
    }

    async fn poll(
        &self,
        account: &ConnectedAccount,
        token: &SecretString,
        cursor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<PollBatch, ConnectorError> {
        let old = GoogleCursor::read(cursor, now, self.backfill);
        let channel = &account.account_id;
        let mut units = 0;
        let err = |e| connector_error(e, now);
        let mut threads = Vec::new();
        let mut complete = true;
        let mut resume = std::collections::BTreeMap::new();
        for (name, filter) in [
            ("published", ModerationFilter::Published),
            ("held_for_review", ModerationFilter::HeldForReview),
            ("likely_spam", ModerationFilter::LikelySpam),
        ] {
            let start = old.resume.get(name).cloned();
            let (got, more) = self
                .listing(token, channel, filter, old.high_water, start, &mut units)
                .await
                .map_err(err)?;
            if let Some(more) = more {
                resume.insert(name.to_string(), more);
            }
            threads.extend(got);
        }
        let mut extra = HashMap::new();
        let busy: Vec<&Thread> = threads.iter().filter(|t| t.has_more_replies()).collect();
        // Threads left out this time keep the mark where it is: the next poll sees them again.
        complete &= busy.len() <= MAX_REPLY_FETCHES_PER_POLL;
        for thread in busy.into_iter().take(MAX_REPLY_FETCHES_PER_POLL) {
            let replies = self
                .client
                .replies(token, &thread.id, None)
                .await
                .map_err(err)?;
            units += YoutubeCall::CommentsList.cost();
            complete &= replies.next_page_token.is_none();
            extra.insert(thread.id.as_str().to_string(), replies.comments);
        }
        let mut videos: Vec<String> = threads
            .iter()
            .filter_map(|t| t.video_id.as_ref().map(|v| v.as_str().to_string()))
            .collect();
        videos.sort_unstable();
        videos.dedup();
        let titles = if videos.is_empty() {
            HashMap::new()
        } else {
            units += YoutubeCall::VideosList.cost()
                * u32::try_from(videos.len().div_ceil(50)).unwrap_or(u32::MAX);
            self.client
                .video_titles(token, &videos)
                .await
                .map_err(err)?
        };
        let poll = youtube_changes(channel, &threads, &extra, &titles, old.high_water);
        Ok(PollBatch {
            cursor: advance(&old, poll.newest, resume, complete).write(),
            envelopes: poll.envelopes,
            units,
        })
    }
}

/// Reviews of one connected Google Business Profile location (the account id is the
/// location's resource name, `accounts/{a}/locations/{l}`).
pub struct ReviewsConnector {
    client: BusinessClient,
    backfill: chrono::Duration,
}

impl ReviewsConnector {
    pub fn new(client: BusinessClient, backfill_days: u32) -> Self {
        Self {
            client,
            backfill: chrono::Duration::days(i64::from(backfill_days)),
        }
    }
}

#[async_trait]
impl Connector for ReviewsConnector {
    fn network(&self) -> Network {
        Network::Google
    }

    fn capabilities(&self, kind: ItemKind) -> Capabilities {
        capabilities::reviews(kind)
    }

    /// One reply per review: a second one replaces the first (`PUT …/reply`). Its id is the
    /// review's with `:reply`.
    async fn reply(
        &self,
        call: Call<'_>,
        _ticket: &Ticket,
        reply_to: &NetworkItemId,
        text: &str,
    ) -> Result<NetworkItemId, ConnectorError> {
        let review = format!("{}/reviews/{}", call.account, reply_to);
        self.client
            .put_reply(call.token, &review, text)
            .await
            .map_err(|e| connector_error(e, call.now))?;
        Ok(NetworkItemId::new(format!("{reply_to}:reply")))
    }

    /// Reviews cannot be moderated; our reply can be deleted (`DELETE …/reply`).
    async fn moderate(
        &self,
        call: Call<'_>,
        ticket: &Ticket,
        action: Moderation,
        _item: &NetworkItemId,
    ) -> Result<(), ConnectorError> {
        if action != Moderation::DeleteReply {
            return Err(not_offered(Network::Google, action));
        }
        let review = format!("{}/reviews/{}", call.account, ticket.state.first_item);
        self.client
            .delete_reply(call.token, &review)
            .await
            .map_err(|e| connector_error(e, call.now))
    }
}

#[async_trait]
impl PolledConnector for ReviewsConnector {
    fn login(&self) -> Login {
        Login {
            provider: crate::oauth::GOOGLE,
            scopes: &[crate::oauth::SCOPE_BUSINESS],
        }
    }

    fn units_per_poll(&self) -> u32 {
        1
    }

    // Business Profile quotas are per minute, not per day: no daily plan, the poll worker's
    // minimum interval paces it.

    /// Every location of every Business Profile account the user manages, each once (every
    /// page of both listings, up to `business::MAX_LISTING_PAGES` each).
    async fn identify(
        &self,
        token: &SecretString,
    ) -> Result<Vec<(String, String)>, ConnectorError> {
        let now = Utc::now();
        let accounts = self
            .client
            .all_accounts(token)
            .await
            .map_err(|e| connector_error(e, now))?;
        let mut found = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for account in accounts {
            let locations = self
                .client
                .all_locations(token, &account.name)
                .await
                .map_err(|e| connector_error(e, now))?;
            for location in locations {
                // A location listed under two accounts (a group and its owner's) would be
                // polled, and its reviews ticketed, twice: the first account keeps it.
                if let Some(parent) = location.reviews_parent(&account.name)
                    && seen.insert(location.name.clone())
                {
                    found.push((parent, location.title));
                }
            }
        }
        Ok(found)
    }

    async fn poll(
        &self,
        account: &ConnectedAccount,
        token: &SecretString,
        cursor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<PollBatch, ConnectorError> {
        let old = GoogleCursor::read(cursor, now, self.backfill);
        let location = account.account_id.as_str();
        let mut reviews = Vec::new();
        let mut page = old.resume.get("reviews").cloned();
        let mut complete = false;
        let mut units = 0;
        for _ in 0..MAX_PAGES_PER_POLL {
            let got = self
                .client
                .reviews(token, location, page.as_deref())
                .await
                .map_err(|e| connector_error(e, now))?;
            units += 1;
            let reached = review_changes(
                &account.account_id,
                &account.name,
                &got.reviews,
                old.high_water,
            )
            .reached_high_water;
            reviews.extend(got.reviews);
            match got.next_page_token {
                Some(next) if !reached => page = Some(next),
                _ => {
                    complete = true;
                    break;
                }
            }
        }
        let poll = review_changes(&account.account_id, &account.name, &reviews, old.high_water);
        let resume = match (complete, page) {
            (false, Some(next)) => [("reviews".to_string(), next)].into(),
            _ => Default::default(),
        };
        Ok(PollBatch {
            cursor: advance(&old, poll.newest, resume, true).write(),
            envelopes: poll.envelopes,
            units,
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
    fn a_first_poll_starts_at_the_backfill_window_and_a_stored_cursor_wins() {
        let week = chrono::Duration::days(7);
        assert_eq!(
            GoogleCursor::read(None, at(0), week).high_water,
            Some(at(0) - week)
        );
        let stored = GoogleCursor {
            high_water: Some(at(-5)),
            ..Default::default()
        }
        .write();
        assert_eq!(
            GoogleCursor::read(Some(&stored), at(0), week).high_water,
            Some(at(-5))
        );
    }

    #[test]
    fn a_backlog_is_read_over_several_polls_and_the_mark_moves_once_it_is_done() {
        let old = GoogleCursor {
            high_water: Some(at(0)),
            ..Default::default()
        };
        // Read down to the mark in one poll: the mark moves to the newest time seen.
        let done = advance(&old, Some(at(50)), Default::default(), true);
        assert_eq!((done.high_water, done.pending), (Some(at(50)), None));
        // The page budget ran out: the mark stays, the listing continues from its token, and
        // the newest time seen waits.
        let first = advance(
            &old,
            Some(at(90)),
            [("published".into(), "p11".into())].into(),
            true,
        );
        assert_eq!(first.high_water, Some(at(0)));
        assert_eq!(
            first.resume.get("published").map(String::as_str),
            Some("p11")
        );
        assert_eq!(first.pending, Some(at(90)));
        // The next poll finishes the backlog (its own newest is older): the mark jumps to
        // the newest of the whole backlog.
        let second = advance(&first, Some(at(20)), Default::default(), true);
        assert_eq!(second.high_water, Some(at(90)));
        assert!(second.resume.is_empty() && second.pending.is_none());
        // Something left unread without a page token (replies): the mark stays.
        let held = advance(&old, Some(at(50)), Default::default(), false);
        assert_eq!(held.high_water, Some(at(0)));
        // Nothing newer seen: the mark stays.
        assert_eq!(
            advance(&old, None, Default::default(), true).high_water,
            Some(at(0))
        );
        // The cursor survives its JSON round trip.
        let again = GoogleCursor::read(Some(&first.write()), at(0), chrono::Duration::days(7));
        assert_eq!(again, first);
    }

    #[test]
    fn quota_and_rate_limits_wait_for_their_reset() {
        let now = at(0);
        match connector_error(GoogleError::QuotaExceeded, now) {
            ConnectorError::Exhausted { until, .. } => assert_eq!(until, next_quota_reset(now)),
            other => panic!("{other:?}"),
        }
        match connector_error(
            GoogleError::RateLimited {
                retry_after: Some(Duration::from_secs(30)),
            },
            now,
        ) {
            ConnectorError::Exhausted { until, .. } => assert_eq!(until, at(30)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            connector_error(GoogleError::Unauthorized, now),
            ConnectorError::Unauthorized
        );
    }
}
