//! LinkedIn behind the connector contracts: [`Connector`] (comment as the page under the
//! customer's thread or on the mentioning post, delete our comment, find a reply whose answer
//! was lost) and [`PolledConnector`] (connect the pages a member administers, identify, poll
//! notifications).
//!
//! One poll reads the page's notifications of the window `[since - overlap, now]`, page by
//! page ([`MAX_NOTIFICATION_PAGES`]), and for each new one reads what it does not carry: the
//! comment (fetched by its id, one call: LinkedIn's "Get a Comment") or the mentioning post,
//! within [`MAX_FETCH_CALLS`]. The cursor moves past a
//! window read whole; a poll cut short (the page cap, the budget, a failure) moves the next
//! window's start to the last notification it finished, and what shares that instant is
//! remembered by notification id.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use super::changes::{
    LinkedinCursor, Notification, Plan, comment_envelope, decorated_comment, decorated_post,
    mention_envelope, plan,
};
use super::client::{self, Comment, LinkedinClient};
use super::{CommentRef, CommentUrn, Ingest, capabilities, is_post_urn, organization_urn};
use crate::core::{
    Capabilities, FailureReason, ItemKind, Moderation, Network, NetworkChange, NetworkEnvelope,
    NetworkItemId, Ticket,
};
use crate::networks::{Call, Connector, ConnectorError, Login, PollBatch, PolledConnector};
use crate::store::ConnectedAccount;

/// Pages of notifications one poll reads at most (100 each).
pub const MAX_NOTIFICATION_PAGES: u32 = 10;

/// Comment and post reads one poll makes at most (one per notification that needs one);
/// what is left over is read by the next poll, never dropped.
pub const MAX_FETCH_CALLS: u32 = 100;

/// Pages of a thread's comments read when looking for a reply whose answer was lost, after
/// the first: its newest end when LinkedIn says how many there are.
pub const MAX_REPLY_LOOKUP_PAGES: u32 = 2;

fn bad_item(item: &NetworkItemId) -> ConnectorError {
    ConnectorError::Permanent(FailureReason::Other(format!(
        "{item} is not a LinkedIn comment or post id"
    )))
}

/// Pages of LinkedIn organizations.
pub struct LinkedinConnector {
    client: LinkedinClient,
    backfill: chrono::Duration,
    ingest: Ingest,
    expiry_warning: chrono::Duration,
}

/// What a poll may still spend, and has spent.
struct Budget {
    fetches: u32,
    spent: u32,
}

impl Budget {
    /// Takes one call from the budget; `false` when none is left.
    fn take(&mut self) -> bool {
        if self.fetches == 0 {
            return false;
        }
        self.fetches -= 1;
        self.spent += 1;
        true
    }
}

/// What became of one notification.
enum Read {
    /// Done with it: its envelope, if it is a ticket.
    Done(Option<Box<NetworkEnvelope>>),
    /// The poll's budget ran out before it could be read: it is read next time.
    OutOfBudget,
}

impl LinkedinConnector {
    /// `expiry_warning_days`: how long before a token without refresh expires its page's
    /// channel is warned.
    pub fn new(
        client: LinkedinClient,
        backfill_days: u32,
        ingest: Ingest,
        expiry_warning_days: u32,
    ) -> Self {
        Self {
            client,
            backfill: chrono::Duration::days(i64::from(backfill_days)),
            ingest,
            expiry_warning: chrono::Duration::days(i64::from(expiry_warning_days)),
        }
    }

    /// The comment `urn`, read by its id (one call): under its top-level comment when the
    /// notification names one, else under the post (activity) its URN names.
    async fn fetch_comment(
        &self,
        token: &SecretString,
        n: &Notification,
        urn: &CommentUrn,
    ) -> Result<Comment, ConnectorError> {
        let parent = n
            .decorated
            .parent
            .as_deref()
            .and_then(CommentUrn::parse)
            .filter(|p| p != urn);
        let target = parent
            .as_ref()
            .map_or_else(|| urn.object.clone(), CommentUrn::urn);
        let mut c = self.client.comment(token, &target, &urn.id).await?;
        c.parent = c.parent.or(parent).filter(|p| p != &c.urn);
        Ok(c)
    }

    /// What a new notification gives.
    async fn read_one(
        &self,
        token: &SecretString,
        account: &ConnectedAccount,
        n: &Notification,
        budget: &mut Budget,
    ) -> Result<Read, ConnectorError> {
        let org = account.account_id.as_str();
        match plan(org, n) {
            Plan::Skip(why) => {
                tracing::debug!(why, "LinkedIn notification is not a ticket");
                Ok(Read::Done(None))
            }
            Plan::Comment { comment, post } => {
                let found = match decorated_comment(n, &comment) {
                    Some(c) => c,
                    None => {
                        if !budget.take() {
                            return Ok(Read::OutOfBudget);
                        }
                        match self.fetch_comment(token, n, &comment).await {
                            Ok(c) => c,
                            Err(ConnectorError::Permanent(FailureReason::ItemDeleted)) => {
                                tracing::info!(
                                    notification = n.id,
                                    "the LinkedIn comment is gone; skipped"
                                );
                                return Ok(Read::Done(None));
                            }
                            // Anything else (refused, unreadable, throttled, down) stops
                            // the poll here: it is read again next time, never dropped.
                            Err(e) => return Err(e),
                        }
                    }
                };
                Ok(Read::Done(
                    comment_envelope(&account.account_id, &post, None, &found).map(Box::new),
                ))
            }
            Plan::Mention { post } => {
                let found = match decorated_post(n, &post) {
                    Some(p) => p,
                    None => {
                        if !budget.take() {
                            return Ok(Read::OutOfBudget);
                        }
                        match self.client.post(token, &post).await {
                            Ok(p) => p,
                            Err(ConnectorError::Permanent(FailureReason::ItemDeleted)) => {
                                tracing::info!(
                                    notification = n.id,
                                    "the post mentioning a LinkedIn page is gone; skipped"
                                );
                                return Ok(Read::Done(None));
                            }
                            Err(e) => return Err(e),
                        }
                    }
                };
                let at = super::client::millis(n.at_ms).unwrap_or_else(Utc::now);
                Ok(Read::Done(
                    mention_envelope(&account.account_id, &found, at).map(Box::new),
                ))
            }
        }
    }
}

#[async_trait]
impl Connector for LinkedinConnector {
    fn network(&self) -> Network {
        Network::Linkedin
    }

    fn capabilities(&self, kind: ItemKind) -> Capabilities {
        capabilities::linkedin(kind)
    }

    /// A comment as the page: nested under the thread's top-level comment (LinkedIn threads
    /// are two levels), or on the post that mentions the page.
    async fn reply(
        &self,
        call: Call<'_>,
        _ticket: &Ticket,
        reply_to: &NetworkItemId,
        text: &str,
    ) -> Result<NetworkItemId, ConnectorError> {
        let actor = organization_urn(call.account.as_str());
        if let Some(at) = CommentRef::parse(reply_to) {
            let thread = at.thread().clone();
            let created = self
                .client
                .create_comment(call.token, &actor, &thread.object, Some(&thread), text)
                .await?;
            return Ok(CommentRef {
                comment: created,
                parent: Some(thread),
            }
            .item_id());
        }
        if is_post_urn(reply_to.as_str()) {
            let created = self
                .client
                .create_comment(call.token, &actor, reply_to.as_str(), None, text)
                .await?;
            return Ok(CommentRef {
                comment: created,
                parent: None,
            }
            .item_id());
        }
        Err(bad_item(reply_to))
    }

    /// The page's comments with this text under the thread (or the mentioning post), written
    /// since `since`.
    async fn find_reply(
        &self,
        call: Call<'_>,
        _ticket: &Ticket,
        reply_to: &NetworkItemId,
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<(Vec<NetworkItemId>, u32), ConnectorError> {
        let (target, parent) = match CommentRef::parse(reply_to) {
            Some(at) => (at.thread().urn(), Some(at.thread().clone())),
            None if is_post_urn(reply_to.as_str()) => (reply_to.as_str().to_owned(), None),
            None => return Err(bad_item(reply_to)),
        };
        let actor = organization_urn(call.account.as_str());
        let since = since - chrono::Duration::seconds(1);
        let mut found: Vec<(DateTime<Utc>, NetworkItemId)> = Vec::new();
        let mut keep = |page: super::client::CommentPage| {
            found.extend(
                page.comments
                    .into_iter()
                    .filter(|c| {
                        c.actor.as_deref() == Some(actor.as_str())
                            && c.created_at >= since
                            && c.text.trim() == text.trim()
                    })
                    .map(|c| {
                        let id = CommentRef {
                            comment: c.urn,
                            parent: parent.clone(),
                        }
                        .item_id();
                        (c.created_at, id)
                    }),
            );
        };
        // LinkedIn lists oldest first and the lost reply is recent: the first page says how
        // many there are, then the newest pages are read, newest first.
        let first = self.client.comments(call.token, &target, 0).await?;
        let mut calls = 1;
        let (total, mut next) = (first.total, first.next);
        let first_len = u32::try_from(first.comments.len()).unwrap_or(u32::MAX);
        keep(first);
        match total {
            Some(total) if next.is_some() => {
                let mut end = total;
                for _ in 0..MAX_REPLY_LOOKUP_PAGES {
                    if end <= first_len {
                        break;
                    }
                    let start = end.saturating_sub(client::PAGE_SIZE).max(first_len);
                    keep(self.client.comments(call.token, &target, start).await?);
                    calls += 1;
                    end = start;
                }
            }
            // No total: on from the start, as far as the pages go.
            _ => {
                for _ in 0..MAX_REPLY_LOOKUP_PAGES {
                    let Some(start) = next else { break };
                    let page = self.client.comments(call.token, &target, start).await?;
                    calls += 1;
                    next = page.next;
                    keep(page);
                }
            }
        }
        found.sort_by_key(|(at, _)| *at);
        Ok((found.into_iter().map(|(_, id)| id).collect(), calls))
    }

    /// Delete our comment (the only moderation LinkedIn offers here).
    async fn moderate(
        &self,
        call: Call<'_>,
        _ticket: &Ticket,
        action: Moderation,
        item: &NetworkItemId,
    ) -> Result<(), ConnectorError> {
        match action {
            Moderation::DeleteReply => {
                let at = CommentRef::parse(item).ok_or_else(|| bad_item(item))?;
                let actor = organization_urn(call.account.as_str());
                self.client
                    .delete_comment(call.token, &actor, &at.comment)
                    .await
            }
            _ => {
                tracing::warn!(?action, "a moderation LinkedIn does not offer");
                Err(ConnectorError::Permanent(FailureReason::NotSupported))
            }
        }
    }
}

#[async_trait]
impl PolledConnector for LinkedinConnector {
    fn login(&self) -> Login {
        Login {
            provider: crate::oauth::LINKEDIN,
            scopes: super::SCOPES,
        }
    }

    /// Always, pushed pages too: a pushed notification without its (undocumented)
    /// decoration carries no text to build a card from, and LinkedIn's deliveries can be
    /// missed; the poll reads it, and the inbox's dedupe keys absorb what both bring.
    fn polls(&self) -> bool {
        match self.ingest {
            Ingest::Poll | Ingest::Webhook => true,
        }
    }

    /// The notifications listing, usually one page.
    fn units_per_poll(&self) -> u32 {
        1
    }

    /// A member may administer many pages: they pick which to connect.
    fn choose_account(&self) -> bool {
        true
    }

    fn expiry_warning(&self) -> Option<chrono::Duration> {
        Some(self.expiry_warning)
    }

    /// The pages the member administers, named by their localized names. A name LinkedIn
    /// does not give (no name, or the lookup fails) is "LinkedIn page {id}": one page's
    /// name never fails the connection; only a refused token does.
    async fn identify(
        &self,
        token: &SecretString,
    ) -> Result<Vec<(String, String)>, ConnectorError> {
        let mut pages = Vec::new();
        for id in self.client.administered(token).await? {
            let name = match self.client.organization_name(token, &id).await {
                Ok(name) => name,
                Err(ConnectorError::Unauthorized) => return Err(ConnectorError::Unauthorized),
                Err(e) => {
                    tracing::warn!(organization = id, error = %e, "cannot read a LinkedIn page's name");
                    None
                }
            };
            let name = name.unwrap_or_else(|| format!("LinkedIn page {id}"));
            pages.push((id, name));
        }
        Ok(pages)
    }

    async fn poll(
        &self,
        account: &ConnectedAccount,
        token: &SecretString,
        cursor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<PollBatch, ConnectorError> {
        let mut cursor = LinkedinCursor::read(cursor, now, self.backfill);
        let org = account.account_id.as_str();
        let end = now.timestamp_millis();
        let from = cursor.window_start();
        let mut budget = Budget {
            fetches: MAX_FETCH_CALLS,
            spent: 0,
        };
        // The window's notifications, every page.
        let mut notifications = Vec::new();
        let mut start = 0;
        let mut whole = false;
        for _ in 0..MAX_NOTIFICATION_PAGES {
            let page = self
                .client
                .notifications(token, org, from, end, start)
                .await?;
            budget.spent += 1;
            notifications.extend(page.notifications);
            match page.next {
                Some(next) => start = next,
                None => {
                    whole = true;
                    break;
                }
            }
        }
        // A window cut at the page cap can resume from its last notification only if what
        // was read is its oldest part: LinkedIn lists it oldest first (checked, not assumed).
        let oldest_first = notifications.windows(2).all(|w| w[0].at_ms <= w[1].at_ms);
        let resumable = whole || oldest_first;
        if !resumable {
            tracing::warn!(
                "LinkedIn listed a page's notifications newest first past the page cap; the window cannot move on"
            );
        }
        notifications.sort_by_key(|n| n.at_ms);
        let mut found = Vec::new();
        // The time of the last notification finished, all before it finished too.
        let mut finished: Option<i64> = None;
        for n in &notifications {
            if cursor.has_seen(&n.id) {
                finished = Some(n.at_ms);
                continue;
            }
            match self.read_one(token, account, n, &mut budget).await {
                Ok(Read::Done(envelope)) => {
                    found.extend(envelope.map(|e| *e));
                    cursor.see(n);
                    finished = Some(n.at_ms);
                }
                // The rest is read next time, from the same window.
                Ok(Read::OutOfBudget) => {
                    whole = false;
                    break;
                }
                // Only a comment or post LinkedIn says is gone is skipped; any other failure
                // stops the poll at this notification (not marked seen, the window kept). What
                // was read before it is kept when there is any; else the poll fails, so the
                // account shows why.
                Err(e) if found.is_empty() => return Err(e),
                Err(e) => {
                    tracing::info!(
                        notification = n.id,
                        error = %e,
                        "LinkedIn poll cut short; the rest is read next time"
                    );
                    whole = false;
                    break;
                }
            }
        }
        if whole {
            cursor.advance(end);
        } else if let Some(at) = finished.filter(|_| resumable) {
            cursor.advance_within(at);
        }
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
