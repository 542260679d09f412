//! LinkedIn behind the connector contracts: [`Connector`] (comment as the page under the
//! customer's thread or on the mentioning post, delete our comment, find a reply whose answer
//! was lost) and [`PolledConnector`] (connect the pages a member administers, identify, poll
//! notifications).
//!
//! One poll reads the page's notifications of the window `[since - overlap, now]`, page by
//! page ([`MAX_NOTIFICATION_PAGES`]), and for each new one reads what it does not carry: the
//! comment (from its post's comments, or the replies of the post's comments for a nested
//! one) or the mentioning post, within [`MAX_FETCH_CALLS`]. The cursor only moves past a
//! window read whole; what a cut-short poll read is remembered by notification id.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use super::changes::{
    LinkedinCursor, Notification, OVERLAP_MS, Plan, comment_envelope, decorated_comment,
    decorated_post, mention_envelope, plan,
};
use super::client::{Comment, LinkedinClient};
use super::{CommentRef, CommentUrn, Ingest, capabilities, is_post_urn, organization_urn};
use crate::core::{
    Capabilities, FailureReason, ItemKind, Moderation, Network, NetworkChange, NetworkEnvelope,
    NetworkItemId, Ticket,
};
use crate::networks::{Call, Connector, ConnectorError, Login, PollBatch, PolledConnector};
use crate::store::ConnectedAccount;

/// Pages of notifications one poll reads at most (100 each).
pub const MAX_NOTIFICATION_PAGES: u32 = 10;

/// Comment listings and post reads one poll makes at most.
pub const MAX_FETCH_CALLS: u32 = 30;

/// Pages of a thread's comments read when looking for a reply whose answer was lost.
pub const MAX_REPLY_LOOKUP_PAGES: u32 = 2;

/// Pages of a post's comments read when looking for one comment.
const MAX_COMMENT_PAGES: u32 = 3;

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

/// Comments read during one poll, by the URN they were listed under.
type Listed = HashMap<String, Vec<Comment>>;

/// What became of one notification.
enum Read {
    /// Done with it: its envelope, if it is a ticket.
    Done(Option<Box<NetworkEnvelope>>),
    /// Its comment is not listed (yet: LinkedIn may list it a little later).
    NotListed,
    /// The poll's budget ran out before it could be read.
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

    /// Every comment listed under `target` (up to [`MAX_COMMENT_PAGES`]), read once a poll.
    async fn listed<'a>(
        &self,
        token: &SecretString,
        target: &str,
        listed: &'a mut Listed,
        budget: &mut Budget,
    ) -> Result<Option<&'a Vec<Comment>>, ConnectorError> {
        if !listed.contains_key(target) {
            let mut all = Vec::new();
            let mut start = 0;
            for _ in 0..MAX_COMMENT_PAGES {
                if budget.fetches == 0 {
                    return Ok(None);
                }
                budget.fetches -= 1;
                budget.spent += 1;
                let page = self.client.comments(token, target, start).await?;
                all.extend(page.comments);
                match page.next {
                    Some(next) => start = next,
                    None => break,
                }
            }
            listed.insert(target.to_owned(), all);
        }
        Ok(listed.get(target))
    }

    /// The comment `urn` on `post`: among the post's comments, else among the replies of
    /// those that have some. `Ok(None)` when it is not (yet) listed, `Err(None)` when the
    /// budget ran out.
    async fn find_comment(
        &self,
        token: &SecretString,
        post: &str,
        urn: &CommentUrn,
        listed: &mut Listed,
        budget: &mut Budget,
    ) -> Result<Option<Comment>, Option<ConnectorError>> {
        let Some(tops) = self.listed(token, post, listed, budget).await?.cloned() else {
            return Err(None);
        };
        if let Some(c) = tops.iter().find(|c| c.urn == *urn) {
            return Ok(Some(c.clone()));
        }
        for top in tops.iter().filter(|c| c.replies > 0) {
            let Some(replies) = self.listed(token, &top.urn.urn(), listed, budget).await? else {
                return Err(None);
            };
            if let Some(c) = replies.iter().find(|c| c.urn == *urn) {
                let mut c = c.clone();
                c.parent = c.parent.or_else(|| Some(top.urn.clone()));
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    /// What a new notification gives.
    async fn read_one(
        &self,
        token: &SecretString,
        account: &ConnectedAccount,
        n: &Notification,
        listed: &mut Listed,
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
                    Some(c) => Some(c),
                    None => match self
                        .find_comment(token, &post, &comment, listed, budget)
                        .await
                    {
                        Ok(found) => found,
                        Err(None) => return Ok(Read::OutOfBudget),
                        Err(Some(ConnectorError::Permanent(reason))) => {
                            tracing::warn!(?reason, "cannot read a LinkedIn comment; skipped");
                            return Ok(Read::Done(None));
                        }
                        Err(Some(e)) => return Err(e),
                    },
                };
                Ok(match found {
                    Some(c) => Read::Done(
                        comment_envelope(&account.account_id, &post, None, &c).map(Box::new),
                    ),
                    None => Read::NotListed,
                })
            }
            Plan::Mention { post } => {
                let found = match decorated_post(n, &post) {
                    Some(p) => p,
                    None => {
                        if budget.fetches == 0 {
                            return Ok(Read::OutOfBudget);
                        }
                        budget.fetches -= 1;
                        budget.spent += 1;
                        match self.client.post(token, &post).await {
                            Ok(p) => p,
                            Err(ConnectorError::Permanent(reason)) => {
                                tracing::warn!(
                                    ?reason,
                                    "cannot read a post mentioning a LinkedIn page; skipped"
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
        let mut start = 0;
        let mut calls = 0;
        for _ in 0..MAX_REPLY_LOOKUP_PAGES {
            let page = self.client.comments(call.token, &target, start).await?;
            calls += 1;
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
            match page.next {
                Some(next) => start = next,
                None => break,
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

    fn polls(&self) -> bool {
        self.ingest == Ingest::Poll
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

    /// The pages the member administers, named by their localized names.
    async fn identify(
        &self,
        token: &SecretString,
    ) -> Result<Vec<(String, String)>, ConnectorError> {
        let mut pages = Vec::new();
        for id in self.client.administered(token).await? {
            let name = self
                .client
                .organization_name(token, &id)
                .await?
                .unwrap_or_else(|| format!("LinkedIn page {id}"));
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
        notifications.sort_by_key(|n| n.at_ms);
        let mut found = Vec::new();
        let mut listed = Listed::new();
        for n in &notifications {
            if cursor.has_seen(&n.id) {
                continue;
            }
            match self
                .read_one(token, account, n, &mut listed, &mut budget)
                .await
            {
                Ok(Read::Done(envelope)) => {
                    found.extend(envelope.map(|e| *e));
                    cursor.see(n);
                }
                // Not listed yet: the next window still holds it while it is recent (the
                // overlap); an old one is gone (deleted meanwhile).
                Ok(Read::NotListed) if n.at_ms >= end - OVERLAP_MS => {}
                Ok(Read::NotListed) => {
                    tracing::warn!(
                        notification = n.id,
                        "a LinkedIn comment is no longer listed; skipped"
                    );
                    cursor.see(n);
                }
                // The rest is read next time, from the same window.
                Ok(Read::OutOfBudget) => {
                    whole = false;
                    break;
                }
                Err(e) if found.is_empty() => return Err(e),
                Err(e) => {
                    tracing::info!(error = %e, "LinkedIn poll cut short; the rest is read next time");
                    whole = false;
                    break;
                }
            }
        }
        if whole {
            cursor.advance(end);
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
