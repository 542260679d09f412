//! Network adapters: verify, parse and normalise webhooks at the edge, and the outbound clients
//! that reply on each network.
//!
//! Polled networks (no webhooks: YouTube, Google reviews, …) plug in through
//! [`PolledConnector`]: one implementation per network folder, translating only. The poll
//! worker (`workers::poll`) owns leases, cursors, quota and token refresh.

pub mod google;
pub mod meta;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::core::{FailureReason, Network, NetworkEnvelope};
use crate::store::ConnectedAccount;

/// How a network refused or failed a call, as the workers need to know it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// Try again later (timeout, connection error, 5xx): after `retry_after` when the
    /// network said.
    #[error("the network is unavailable: {reason}")]
    Transient {
        retry_after: Option<Duration>,
        reason: String,
    },
    /// Out of quota or rate-limited until `until` (the provider's reset).
    #[error("quota or rate limit exhausted until {until}: {reason}")]
    Exhausted {
        until: DateTime<Utc>,
        reason: String,
    },
    /// The access token was refused: refresh it once, then the account is unhealthy.
    #[error("the access token was refused")]
    Unauthorized,
    /// Will not work as asked.
    #[error("refused: {0:?}")]
    Permanent(FailureReason),
}

/// One poll's result: new changes and the cursor to store with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollBatch {
    /// Oldest first, each keyed by the network's own ids (overlap with an earlier poll is
    /// harmless: the inbox deduplicates on the key).
    pub envelopes: Vec<NetworkEnvelope>,
    /// The connector's own cursor (JSON), stored in the same transaction as the envelopes.
    pub cursor: String,
    /// Quota units the poll spent.
    pub units: u32,
}

/// A network that is polled rather than pushed. Implementations only translate: HTTP calls
/// and wire formats in, normalised envelopes out.
#[async_trait]
pub trait PolledConnector: Send + Sync {
    fn network(&self) -> Network;

    /// Quota units one poll of one account usually costs (for scheduling).
    fn units_per_poll(&self) -> u32;

    /// The network's shared budget, `None` when it has none worth scheduling by.
    fn quota_plan(&self) -> Option<crate::core::quota::QuotaPlan> {
        None
    }

    /// When the network's quota next resets (YouTube: midnight Pacific time).
    fn quota_reset(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::days(1)
    }

    /// The accounts a fresh token gives access to, as (network id, display name): the
    /// YouTube channel, or each Business Profile location. Called once, when connecting.
    async fn identify(&self, token: &SecretString)
    -> Result<Vec<(String, String)>, ConnectorError>;

    /// Reply as `account` to `reply_to` (the customer's latest item on the ticket); the
    /// reply's id on the network.
    async fn reply(
        &self,
        account: &ConnectedAccount,
        token: &SecretString,
        reply_to: &crate::core::NetworkItemId,
        text: &str,
    ) -> Result<crate::core::NetworkItemId, ConnectorError>;

    /// Fetch what changed on `account` since `cursor` (`None`: first poll, backfill the
    /// recent window that `now` and the connector's configuration define).
    async fn poll(
        &self,
        account: &ConnectedAccount,
        token: &SecretString,
        cursor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<PollBatch, ConnectorError>;
}

/// Why no access token could be had for an account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The provider refused the refresh as dead (revoked, expired): reconnect needed.
    #[error("the account must be reconnected: {0}")]
    Dead(String),
    /// Try again later (the token endpoint is unavailable, another replica is refreshing).
    #[error("no token right now: {0}")]
    Transient(String),
}

/// Access tokens for connected accounts: unsealed from the store, refreshed before they
/// expire (one refresh at a time per account, stored before use).
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// A usable access token; `force_refresh` after the network refused the current one.
    async fn access_token(
        &self,
        account: &ConnectedAccount,
        force_refresh: bool,
    ) -> Result<SecretString, TokenError>;
}
