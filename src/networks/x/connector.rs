//! X behind the connector contract: replies (a post or a direct message, by the ticket's
//! kind), moderation, and the polled-connector half (login, identify, poll). Leases, storage
//! and scheduling are the poll worker's.
//!
//! A poll reads two listings, each with its own part of the cursor: the mentions
//! (`since_id`: X itself returns only newer posts) and the direct messages (X has no
//! `since_id` there: pages are read, newest first, down to the newest id already stored). A
//! listing longer than [`MAX_PAGES_PER_POLL`] pages is finished by the next polls from its
//! page token, and its mark only moves once it is read to the end, so nothing is skipped; the
//! inbox deduplicates on X's ids, so nothing is doubled. A first poll reads back the backfill
//! window.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::Ingest;
use super::capabilities;
use super::client::{MentionsQuery, XClient};
use super::payload::{self, DmEvent, Post, User, newer, newest, snowflake_time};
use crate::core::{
    Capabilities, FailureReason, ItemKind, Moderation, Network, NetworkChange, NetworkEnvelope,
    NetworkItemId, Ticket,
};
use crate::networks::{Call, Connector, ConnectorError, Login, PollBatch, PolledConnector};
use crate::store::ConnectedAccount;

/// At most this many pages of one listing per poll (100 items each): a larger backlog is
/// read over the next polls.
pub const MAX_PAGES_PER_POLL: u32 = 5;

/// Direct messages are read at most this often per account: X allows 15 reads of
/// `/2/dm_events` per 15 minutes per user, and polls may come every minute.
pub const DM_POLL_INTERVAL: Duration = Duration::from_secs(120);

/// How long the direct messages rest after X refused to list them (a token or an app
/// without DM access), while the account's mentions keep being read.
pub const DM_RETRY_AFTER_REFUSAL: Duration = Duration::from_secs(3600);

/// How far before the first attempt of a reply its lookup starts (clock skew between us
/// and X).
pub const FIND_REPLY_SLACK: Duration = Duration::from_secs(60);

/// Everything a login must grant (network-apis.md §11.3.2, plus likes, mutes and DMs):
/// `offline.access` is what makes X issue a refresh token.
pub const SCOPES: &[&str] = &[
    "tweet.read",
    "users.read",
    "tweet.write",
    "tweet.moderate.write",
    "like.write",
    "mute.write",
    "dm.read",
    "dm.write",
    "offline.access",
];

/// One listing's place: the newest id stored (`since_id`), or before any, the backfill
/// window's start; and while a backlog takes several polls, where it continues and the
/// newest id it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stream {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
}

impl Stream {
    /// After a poll that saw ids up to `seen` and stopped at page `resume` (`None`: read
    /// to the end, or to the mark): the mark moves to the newest of the whole backlog once
    /// it is done, never before.
    pub fn advance(&self, seen: Option<String>, resume: Option<String>) -> Stream {
        let pending = newest(self.pending.clone(), seen);
        match resume {
            None => {
                let since_id = newest(self.since_id.clone(), pending);
                Stream {
                    start_time: if since_id.is_some() {
                        None
                    } else {
                        self.start_time
                    },
                    since_id,
                    resume: None,
                    pending: None,
                }
            }
            Some(token) => Stream {
                since_id: self.since_id.clone(),
                start_time: self.start_time,
                resume: Some(token),
                pending,
            },
        }
    }

    /// Whether an item with this id and time was stored by an earlier poll (or is before the
    /// backfill window).
    fn already_read(&self, id: &str, at: Option<DateTime<Utc>>) -> bool {
        match (&self.since_id, self.start_time) {
            (Some(since), _) => !newer(id, since),
            (None, Some(start)) => at.is_some_and(|t| t < start),
            (None, None) => false,
        }
    }
}

/// A poller's durable cursor for one X account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct XCursor {
    pub mentions: Stream,
    pub dms: Stream,
    /// Direct messages are not read before this (see [`DM_POLL_INTERVAL`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dms_due: Option<DateTime<Utc>>,
}

impl XCursor {
    /// The stored cursor, or for a first poll (or an unreadable one) the backfill window.
    pub fn read(cursor: Option<&str>, now: DateTime<Utc>, backfill: chrono::Duration) -> Self {
        if let Some(c) = cursor {
            match serde_json::from_str(c) {
                Ok(c) => return c,
                Err(e) => tracing::warn!(error = %e, "unreadable X cursor: backfilling again"),
            }
        }
        let start = Stream {
            start_time: Some(now - backfill),
            ..Default::default()
        };
        XCursor {
            mentions: start.clone(),
            dms: start,
            dms_due: None,
        }
    }

    pub fn write(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// X accounts: mentions and replies, and direct messages.
pub struct XConnector {
    client: XClient,
    backfill: chrono::Duration,
    ingest: Ingest,
}

impl XConnector {
    pub fn new(client: XClient, backfill_days: u32, ingest: Ingest) -> Self {
        Self {
            client,
            backfill: chrono::Duration::days(i64::from(backfill_days)),
            ingest,
        }
    }

    /// The mentions since the stream's mark, page by page.
    async fn read_mentions(
        &self,
        token: &SecretString,
        account: &str,
        old: &Stream,
        calls: &mut u32,
    ) -> Result<(Vec<Post>, Vec<User>, Stream), ConnectorError> {
        let (mut posts, mut users, mut seen) = (Vec::new(), Vec::new(), None);
        let mut page = old.resume.clone();
        for _ in 0..MAX_PAGES_PER_POLL {
            let query = MentionsQuery {
                since_id: old.since_id.as_deref(),
                start_time: old.start_time,
                pagination_token: page.as_deref(),
            };
            let got = self.client.mentions(token, account, &query).await?;
            *calls += 1;
            for post in &got.data {
                seen = newest(seen, Some(post.id.clone()));
            }
            posts.extend(got.data);
            users.extend(got.includes.users);
            match got.meta.next_token.filter(|t| !t.is_empty()) {
                Some(next) => page = Some(next),
                None => return Ok((posts, users, old.advance(seen, None))),
            }
        }
        Ok((posts, users, old.advance(seen, page)))
    }

    /// The direct messages newer than the stream's mark, page by page until it.
    async fn read_dms(
        &self,
        token: &SecretString,
        old: &Stream,
        calls: &mut u32,
    ) -> Result<(Vec<DmEvent>, Vec<User>, Stream), ConnectorError> {
        let (mut events, mut users, mut seen) = (Vec::new(), Vec::new(), None);
        let mut page = old.resume.clone();
        for _ in 0..MAX_PAGES_PER_POLL {
            let got = self.client.dm_events(token, page.as_deref()).await?;
            *calls += 1;
            let mut reached = false;
            for event in got.data {
                let at = event.created_at.or_else(|| snowflake_time(&event.id));
                if old.already_read(&event.id, at) {
                    reached = true;
                    continue;
                }
                seen = newest(seen, Some(event.id.clone()));
                events.push(event);
            }
            users.extend(got.includes.users);
            match got.meta.next_token.filter(|t| !t.is_empty()) {
                Some(next) if !reached => page = Some(next),
                _ => return Ok((events, users, old.advance(seen, None))),
            }
        }
        Ok((events, users, old.advance(seen, page)))
    }
}

/// What the customer is on X, for a call that needs their id.
fn customer_id(ticket: &Ticket, what: &str) -> Result<String, ConnectorError> {
    let id = &ticket.state.customer.id;
    if id.is_known() {
        Ok(id.as_str().to_string())
    } else {
        Err(ConnectorError::Permanent(FailureReason::Other(format!(
            "the author's X id is unknown, so {what}"
        ))))
    }
}

/// `text` without the `@handle`s X puts at the start of a reply, and without X's entities.
fn reply_body(text: &str) -> String {
    let mut rest = payload::unescape(text).trim().to_string();
    while rest.starts_with('@') {
        match rest.split_once(char::is_whitespace) {
            Some((_, after)) => rest = after.trim_start().to_string(),
            None => return String::new(),
        }
    }
    rest
}

fn item_time(e: &NetworkEnvelope) -> Option<DateTime<Utc>> {
    match &e.change {
        NetworkChange::New { item } => Some(item.created_at),
        _ => None,
    }
}

#[async_trait]
impl Connector for XConnector {
    fn network(&self) -> Network {
        Network::X
    }

    fn capabilities(&self, kind: ItemKind) -> Capabilities {
        capabilities::x(kind)
    }

    /// A direct message in the customer's one-to-one conversation, or a post replying to
    /// `reply_to`.
    async fn reply(
        &self,
        call: Call<'_>,
        ticket: &Ticket,
        reply_to: &NetworkItemId,
        text: &str,
    ) -> Result<NetworkItemId, ConnectorError> {
        match ticket.state.kind {
            ItemKind::DirectMessage => {
                let to = customer_id(ticket, "no message can be sent")?;
                self.client.send_dm(call.token, &to, text).await
            }
            _ => self.client.reply(call.token, reply_to.as_str(), text).await,
        }
    }

    /// Our posts replying to `reply_to` with this text since `since` (one page of the
    /// account's own posts). X may have rewritten the text (links become `t.co` links), so a
    /// reply with a link is not recognised and goes out again; a direct message is not
    /// looked up (X lists messages per conversation only).
    async fn find_reply(
        &self,
        call: Call<'_>,
        ticket: &Ticket,
        reply_to: &NetworkItemId,
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<(Vec<NetworkItemId>, u32), ConnectorError> {
        if ticket.state.kind == ItemKind::DirectMessage {
            // Nothing to look in without a billed read of the whole conversation.
            return Ok((Vec::new(), 0));
        }
        let slack = chrono::Duration::from_std(FIND_REPLY_SLACK).unwrap_or_default();
        let page = self
            .client
            .own_posts(call.token, call.account.as_str(), since - slack)
            .await?;
        let want = reply_body(text);
        let mut found: Vec<&Post> = page
            .data
            .iter()
            .filter(|p| {
                p.replied_to() == Some(reply_to.as_str())
                    && p.author_id
                        .as_deref()
                        .is_none_or(|a| a == call.account.as_str())
                    && reply_body(&p.full_text()) == want
            })
            .collect();
        found.sort_by(|a, b| payload::order(&a.id, &b.id));
        Ok((
            found
                .into_iter()
                .map(|p| NetworkItemId::new(&p.id))
                .collect(),
            1,
        ))
    }

    /// Hide / unhide a reply in our conversation, like a post, mute its author, delete our
    /// reply.
    async fn moderate(
        &self,
        call: Call<'_>,
        ticket: &Ticket,
        action: Moderation,
        item: &NetworkItemId,
    ) -> Result<(), ConnectorError> {
        let (c, token, me) = (&self.client, call.token, call.account.as_str());
        match action {
            Moderation::Hide => c.set_hidden(token, item.as_str(), true).await,
            Moderation::Unhide => c.set_hidden(token, item.as_str(), false).await,
            Moderation::Like => c.like(token, me, item.as_str()).await,
            Moderation::Mute => {
                let target = customer_id(ticket, "they cannot be muted")?;
                c.mute(token, me, &target).await
            }
            Moderation::DeleteReply => c.delete_post(token, item.as_str()).await,
            // Not in X's capabilities (the core never queues them; an old job might).
            Moderation::Delete
            | Moderation::Block
            | Moderation::Approve
            | Moderation::Reject
            | Moderation::BanAuthor => {
                tracing::warn!(?action, "a moderation X does not offer");
                Err(ConnectorError::Permanent(FailureReason::NotSupported))
            }
        }
    }
}

#[async_trait]
impl PolledConnector for XConnector {
    fn login(&self) -> Login {
        Login {
            provider: crate::oauth::X,
            scopes: SCOPES,
        }
    }

    fn polls(&self) -> bool {
        self.ingest == Ingest::Poll
    }

    /// The mentions and, every other poll or so, the direct messages: one page each.
    fn units_per_poll(&self) -> u32 {
        2
    }

    // X's limits are per 15-minute window and per endpoint, answered with 429 and
    // `x-rate-limit-reset`: no daily plan; a refusal waits for its window's reset.

    async fn identify(
        &self,
        token: &SecretString,
    ) -> Result<Vec<(String, String)>, ConnectorError> {
        let me = self.client.me(token).await?;
        let name = me
            .username
            .as_deref()
            .filter(|u| !u.is_empty())
            .map(|u| format!("@{u}"))
            .or(me.name.clone())
            .unwrap_or_else(|| me.id.clone());
        Ok(vec![(me.id, name)])
    }

    async fn poll(
        &self,
        account: &ConnectedAccount,
        token: &SecretString,
        cursor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<PollBatch, ConnectorError> {
        let old = XCursor::read(cursor, now, self.backfill);
        let id = &account.account_id;
        let mut calls = 0;
        let (posts, authors, mentions) = self
            .read_mentions(token, id.as_str(), &old.mentions, &mut calls)
            .await?;
        let mut changes = payload::post_changes(id, &posts, &authors);
        let mut next = XCursor {
            mentions,
            ..old.clone()
        };
        if old.dms_due.is_none_or(|due| now >= due) {
            let rest = |d: Duration| Some(now + chrono::Duration::from_std(d).unwrap_or_default());
            match self.read_dms(token, &old.dms, &mut calls).await {
                Ok((events, senders, dms)) => {
                    let found = payload::dm_changes(id, &events, &senders);
                    changes.envelopes.extend(found.envelopes);
                    changes.ignored.extend(found.ignored);
                    next.dms = dms;
                    next.dms_due = rest(DM_POLL_INTERVAL);
                }
                // The mentions just read are kept whatever the DMs do: their listing is
                // tried again later, from where it stood (nothing of it is skipped).
                Err(e) => {
                    tracing::warn!(account = %id, error = %e, "X direct messages not read");
                    next.dms_due = match e {
                        ConnectorError::Exhausted { until, .. } => Some(until.max(now)),
                        ConnectorError::Transient { retry_after, .. }
                        | ConnectorError::RateLimited { retry_after, .. } => {
                            rest(retry_after.unwrap_or(DM_POLL_INTERVAL))
                        }
                        // Refused (a token without the DM scopes, an app without DM access):
                        // not worth asking every poll.
                        _ => rest(DM_RETRY_AFTER_REFUSAL),
                    };
                }
            }
        }
        for note in &changes.ignored {
            tracing::debug!(account = %id, note, "X item not mirrored");
        }
        // Oldest first across both listings (the sort is stable: each keeps its order).
        changes.envelopes.sort_by_key(item_time);
        Ok(PollBatch {
            envelopes: changes.envelopes,
            cursor: next.write(),
            units: calls,
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
    fn a_first_poll_backfills_and_a_stored_cursor_wins() {
        let week = chrono::Duration::days(7);
        let first = XCursor::read(None, at(0), week);
        assert_eq!(first.mentions.start_time, Some(at(0) - week));
        assert_eq!(first.dms.start_time, Some(at(0) - week));
        assert_eq!(first.mentions.since_id, None);
        let stored = XCursor {
            mentions: Stream {
                since_id: Some("1924465506158878979".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(XCursor::read(Some(&stored.write()), at(0), week), stored);
        // An unreadable cursor backfills again (dedupe absorbs the overlap).
        assert_eq!(XCursor::read(Some("garbage"), at(0), week), first);
    }

    #[test]
    fn the_mark_moves_only_once_a_backlog_is_read() {
        let old = Stream {
            since_id: Some("100".into()),
            ..Default::default()
        };
        // Read to the end in one poll: the mark is the newest seen.
        let done = old.advance(Some("150".into()), None);
        assert_eq!(done.since_id.as_deref(), Some("150"));
        assert_eq!((done.resume, done.pending), (None, None));
        // Out of pages first: the mark stays, the listing continues, the newest waits.
        let first = old.advance(Some("190".into()), Some("tok2".into()));
        assert_eq!(first.since_id.as_deref(), Some("100"));
        assert_eq!(first.resume.as_deref(), Some("tok2"));
        assert_eq!(first.pending.as_deref(), Some("190"));
        // The next poll finishes it (its own newest is older): the mark jumps to 190.
        let second = first.advance(Some("120".into()), None);
        assert_eq!(second.since_id.as_deref(), Some("190"));
        assert!(second.resume.is_none() && second.pending.is_none());
        // Nothing new: the mark stays.
        assert_eq!(old.advance(None, None).since_id.as_deref(), Some("100"));
        // A first poll that found nothing keeps its window; one that found something drops it.
        let fresh = Stream {
            start_time: Some(at(-100)),
            ..Default::default()
        };
        assert_eq!(fresh.advance(None, None).start_time, Some(at(-100)));
        let found = fresh.advance(Some("7".into()), None);
        assert_eq!(
            (found.since_id.as_deref(), found.start_time),
            (Some("7"), None)
        );
        // Ids compare as numbers, not as text.
        let old = Stream {
            since_id: Some("999".into()),
            ..Default::default()
        };
        assert_eq!(
            old.advance(Some("1000".into()), None).since_id.as_deref(),
            Some("1000")
        );
        assert!(old.already_read("999", None) && !old.already_read("1000", None));
    }

    #[test]
    fn our_replys_text_is_recognised_under_xs_leading_handles() {
        assert_eq!(
            reply_body("@furiouscamper @acme At our shop!"),
            "At our shop!"
        );
        assert_eq!(reply_body("  At our shop! "), "At our shop!");
        assert_eq!(reply_body("Fish &amp; chips"), "Fish & chips");
        assert_eq!(reply_body("@only"), "");
    }
}
