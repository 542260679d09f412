//! The poll worker: for networks without webhooks. It claims the account most overdue for a
//! poll (a lease in the database: one replica polls an account at a time), gets a usable
//! token, asks the network's connector what changed since the account's cursor, and records
//! the inbox rows and the new cursor in one transaction. A crash before that commit re-polls
//! the same window; the inbox deduplicates on the network's ids, so nothing is lost or doubled.
//!
//! The next poll is scheduled from the network's quota ([`crate::core::quota`]): the budget
//! left after the replies' reserve, spread over the time to the provider's reset.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::core::Network;
use crate::core::quota::{NextPoll, QuotaPlan, next_poll};
use crate::networks::{ConnectorError, PollBatch, PolledConnector, TokenError, TokenSource};
use crate::store::{Claim, ConnectedAccount, DynStore, PollOutcome};

/// How the poll worker runs (`[poll]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSettings {
    /// How long a claimed account stays ours; longer than the slowest poll (its calls have
    /// timeouts, a poll makes a bounded number of them).
    pub lease: Duration,
    /// Never poll an account more often than this.
    pub min_interval: Duration,
    /// After a failed poll (outage, timeout), wait this long before the next (doubling up to
    /// `max_backoff` is the connector's Retry-After's job; this is the floor).
    pub failure_backoff: Duration,
}

/// What one round of the worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Round {
    /// No account was due.
    Idle,
    /// Polled `account`; `rows` changes recorded (before deduplication).
    Polled { account: i64, rows: usize },
    /// The poll failed and was rescheduled (the error is on the account).
    Failed { account: i64, error: String },
    /// The account turned unhealthy: polling stops until it is reconnected.
    Unhealthy { account: i64, reason: String },
    /// Our lease was taken over meanwhile: nothing was recorded (the new holder's poll will).
    Stale { account: i64 },
}

/// The poll worker's state: the connectors and the token source. Quota spent is counted in
/// the store ([`crate::store::Store::charge_quota`]), shared by every replica and by the
/// outbox's replies and moderation.
pub struct Poller {
    connectors: HashMap<Network, Arc<dyn PolledConnector>>,
    /// Networks whose connector does not poll here (news by webhook): never claimed.
    skip: Vec<Network>,
    tokens: Arc<dyn TokenSource>,
    settings: PollSettings,
}

impl Poller {
    pub fn new(
        connectors: Vec<Arc<dyn PolledConnector>>,
        tokens: Arc<dyn TokenSource>,
        settings: PollSettings,
    ) -> Self {
        let skip = connectors
            .iter()
            .filter(|c| !c.polls())
            .map(|c| c.network())
            .collect();
        Self {
            connectors: connectors.into_iter().map(|c| (c.network(), c)).collect(),
            skip,
            tokens,
            settings,
        }
    }

    /// The networks this worker polls.
    pub fn networks(&self) -> Vec<Network> {
        self.connectors
            .keys()
            .copied()
            .filter(|n| !self.skip.contains(n))
            .collect()
    }

    /// Claim one due account and poll it.
    pub async fn round(&self, store: &DynStore, now: DateTime<Utc>) -> anyhow::Result<Round> {
        let lease = chrono::Duration::from_std(self.settings.lease)?;
        let Some((account, claim)) = store.claim_poll_except(now, lease, &self.skip).await? else {
            return Ok(Round::Idle);
        };
        let Some(connector) = self.connectors.get(&account.network).cloned() else {
            // Connected earlier, but this process has no connector for it (its section was
            // removed from the configuration): say so on the account, look again later.
            let error = format!("{} is not configured on this server", account.network);
            let next = now + chrono::Duration::hours(1);
            return self.failed(store, &account, claim, error, next, now).await;
        };
        let token = match self.tokens.access_token(&account, false).await {
            Ok(t) => t,
            Err(TokenError::Dead(reason)) => {
                return self.unhealthy(store, &account, claim, reason, now).await;
            }
            Err(TokenError::Transient(why)) => {
                let next = now + chrono::Duration::from_std(self.settings.failure_backoff)?;
                return self.failed(store, &account, claim, why, next, now).await;
            }
        };
        let cursor = account.cursor.as_deref();
        // The whole poll ends inside its lease, so no other replica polls the account while
        // this one still works on it.
        let deadline = self
            .settings
            .lease
            .saturating_sub(Duration::from_secs(crate::config::LEASE_MARGIN_SECS));
        let timed_out = || ConnectorError::Transient {
            retry_after: None,
            reason: "the poll did not finish in time".into(),
        };
        let mut result =
            tokio::time::timeout(deadline, connector.poll(&account, &token, cursor, now))
                .await
                .unwrap_or_else(|_| Err(timed_out()));
        // Failed calls are billed too: a failed poll made at least its failing call (what it
        // read before is not reported, so this counts low).
        let mut failed_calls = 0;
        if result == Err(ConnectorError::Unauthorized) {
            failed_calls += 1;
            // Refused before its expiry (revoked, rotated elsewhere): refresh once, retry once.
            result = match self.tokens.access_token(&account, true).await {
                Ok(token) => {
                    tokio::time::timeout(deadline, connector.poll(&account, &token, cursor, now))
                        .await
                        .unwrap_or_else(|_| Err(timed_out()))
                }
                Err(TokenError::Dead(reason)) => {
                    return self.unhealthy(store, &account, claim, reason, now).await;
                }
                Err(TokenError::Transient(why)) => Err(ConnectorError::Transient {
                    retry_after: None,
                    reason: why,
                }),
            };
        }
        // A quota refusal itself costs nothing.
        if matches!(
            result,
            Err(ConnectorError::Unauthorized
                | ConnectorError::Transient { .. }
                | ConnectorError::RateLimited { .. }
                | ConnectorError::Permanent(_))
        ) {
            failed_calls += 1;
        }
        if failed_calls > 0 && connector.quota_plan().is_some() {
            let reset = connector.quota_reset(now);
            if let Err(e) = store
                .charge_quota(account.network, reset, i64::from(failed_calls), now)
                .await
            {
                warn!(error = %e, "cannot count the quota a failed poll spent");
            }
        }
        match result {
            Ok(batch) => {
                self.record(store, connector.as_ref(), &account, claim, batch, now)
                    .await
            }
            Err(ConnectorError::Unauthorized) => {
                let reason = format!("{} refused the account's access token", account.network);
                self.unhealthy(store, &account, claim, reason, now).await
            }
            Err(ConnectorError::Exhausted { until, reason }) => {
                self.failed(store, &account, claim, reason, until.max(now), now)
                    .await
            }
            Err(
                ConnectorError::Transient {
                    retry_after,
                    reason,
                }
                | ConnectorError::RateLimited {
                    retry_after,
                    reason,
                },
            ) => {
                let wait = retry_after
                    .unwrap_or(self.settings.failure_backoff)
                    .max(self.settings.failure_backoff);
                let next = now + chrono::Duration::from_std(wait)?;
                self.failed(store, &account, claim, reason, next, now).await
            }
            Err(ConnectorError::Permanent(reason)) => {
                let next = now + chrono::Duration::hours(1);
                self.failed(store, &account, claim, format!("{reason:?}"), next, now)
                    .await
            }
        }
    }

    async fn record(
        &self,
        store: &DynStore,
        connector: &dyn PolledConnector,
        account: &ConnectedAccount,
        claim: Claim,
        batch: PollBatch,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Round> {
        let source = account.network.as_str();
        let rows = batch
            .envelopes
            .iter()
            .map(|e| {
                crate::workers::InboxEvent::Network {
                    change: e.change.clone(),
                }
                .to_row(source, e.dedupe_key.clone())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let accounts = self.accounts_on(store, account.network).await?;
        // The batch is recorded whatever the ledger says: a ledger that cannot be written
        // leaves the minimum interval.
        let wait = match self
            .schedule(store, connector, batch.units, accounts, now)
            .await
        {
            Ok(wait) => wait,
            Err(e) => {
                warn!(
                    error = format!("{e:#}"),
                    "cannot count the quota a poll spent"
                );
                self.settings.min_interval
            }
        };
        let outcome = PollOutcome {
            rows,
            cursor: Some(batch.cursor),
            next_poll_at: now + chrono::Duration::from_std(wait)?,
            error: None,
        };
        let n = outcome.rows.len();
        if !store.finish_poll(claim, &outcome, now).await? {
            warn!(
                account = account.id,
                "poll lease taken over: this poll's rows are dropped"
            );
            return Ok(Round::Stale {
                account: account.id,
            });
        }
        if n > 0 {
            info!(account = account.id, network = %account.network, changes = n, "polled");
        }
        Ok(Round::Polled {
            account: account.id,
            rows: n,
        })
    }

    /// Charge `units` to the network's shared budget and say when to poll next.
    async fn schedule(
        &self,
        store: &DynStore,
        connector: &dyn PolledConnector,
        units: u32,
        accounts: u32,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Duration> {
        let Some(plan) = connector.quota_plan() else {
            return Ok(self.settings.min_interval);
        };
        let reset_at = connector.quota_reset(now);
        let spent = store
            .charge_quota(connector.network(), reset_at, i64::from(units), now)
            .await?;
        let spent = u32::try_from(spent.max(0)).unwrap_or(u32::MAX);
        let until_reset = (reset_at - now).to_std().unwrap_or_default();
        let plan = QuotaPlan {
            min_interval: plan.min_interval.max(self.settings.min_interval),
            ..plan
        };
        Ok(
            match next_poll(
                plan,
                spent,
                until_reset,
                accounts,
                connector.units_per_poll(),
            ) {
                NextPoll::In(d) => d,
                // Only the replies' reserve is left: the next poll waits for the reset.
                NextPoll::AtReset => until_reset.max(self.settings.min_interval),
            },
        )
    }

    /// Healthy accounts on `network` (they share its quota).
    async fn accounts_on(&self, store: &DynStore, network: Network) -> anyhow::Result<u32> {
        let n = store
            .accounts()
            .await?
            .iter()
            .filter(|a| a.network == network && a.unhealthy.is_none())
            .count();
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn failed(
        &self,
        store: &DynStore,
        account: &ConnectedAccount,
        claim: Claim,
        error: String,
        next_poll_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Round> {
        warn!(account = account.id, network = %account.network, error, "poll failed");
        let outcome = PollOutcome {
            rows: Vec::new(),
            cursor: None,
            next_poll_at,
            error: Some(error.clone()),
        };
        if !store.finish_poll(claim, &outcome, now).await? {
            return Ok(Round::Stale {
                account: account.id,
            });
        }
        Ok(Round::Failed {
            account: account.id,
            error,
        })
    }

    async fn unhealthy(
        &self,
        store: &DynStore,
        account: &ConnectedAccount,
        claim: Claim,
        reason: String,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Round> {
        // Only the grant that was refused: a reconnect meanwhile keeps the account healthy.
        if store
            .mark_credentials_dead(account.id, account.credentials_version, &reason)
            .await?
        {
            warn!(account = account.id, network = %account.network, reason, "account needs reconnecting: polling stops");
        }
        let outcome = PollOutcome {
            rows: Vec::new(),
            cursor: None,
            next_poll_at: now,
            error: Some(reason.clone()),
        };
        store.finish_poll(claim, &outcome, now).await?;
        Ok(Round::Unhealthy {
            account: account.id,
            reason,
        })
    }
}

/// What accounts' channels are still to be told: alerts, and "connected" notices whose
/// first post failed.
async fn alerts(svc: &crate::workers::Services) {
    if let Err(e) = crate::workers::accounts::deliver_alerts(svc).await {
        tracing::warn!(error = format!("{e:#}"), "cannot deliver account alerts");
    }
    if let Err(e) = crate::workers::accounts::deliver_notices(svc, Utc::now()).await {
        tracing::warn!(error = format!("{e:#}"), "cannot deliver connected notices");
    }
    if let Err(e) = crate::workers::accounts::deliver_expiry_warnings(svc, Utc::now()).await {
        tracing::warn!(
            error = format!("{e:#}"),
            "cannot deliver token expiry warnings"
        );
    }
}

/// How long the worker waits before looking again when no account is due.
const IDLE_WAIT: Duration = Duration::from_secs(5);

/// Run rounds until shutdown: back to back while accounts are due, waking the inbox
/// processor whenever a poll recorded changes.
pub async fn run(
    svc: Arc<crate::workers::Services>,
    poller: Arc<Poller>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if let Err(e) = svc.reload_accounts().await {
        tracing::warn!(error = format!("{e:#}"), "cannot load connected accounts");
    }
    loop {
        if *shutdown.borrow() {
            return;
        }
        let round = poller.round(&svc.store, Utc::now()).await;
        let (outcome, polled) = match &round {
            Ok(Round::Idle) | Err(_) => ("", None),
            Ok(Round::Polled { account, .. }) => ("polled", Some(*account)),
            Ok(Round::Failed { .. }) => ("failed", None),
            Ok(Round::Unhealthy { .. }) => ("unhealthy", None),
            Ok(Round::Stale { .. }) => ("stale", None),
        };
        if !outcome.is_empty() {
            svc.metrics.poll_round(outcome, polled, Utc::now());
        }
        let wait = match round {
            Ok(Round::Polled { rows, .. }) => {
                if rows > 0 {
                    svc.wake_inbox.notify_one();
                }
                continue;
            }
            Ok(Round::Idle) => {
                // Accounts connected or removed meanwhile (by another replica too), and
                // alerts still to post.
                if let Err(e) = svc.reload_accounts().await {
                    tracing::warn!(error = format!("{e:#}"), "cannot reload connected accounts");
                }
                alerts(&svc).await;
                IDLE_WAIT
            }
            Ok(Round::Unhealthy { .. }) => {
                alerts(&svc).await;
                continue;
            }
            Ok(_) => continue,
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "poll round failed");
                IDLE_WAIT
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
    }
}
