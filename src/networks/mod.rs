//! The network connectors: one folder per network (or family sharing an API), each only
//! translating between a network's wire formats and the core's vocabulary.
//!
//! Every network plugs in through one contract, [`Connector`]: what it allows for each kind
//! of item ([`Capabilities`], pure data the core reads), replying and moderating as one of
//! its accounts. How its news arrives is a second contract: pushed networks verify and parse
//! webhooks ([`WebhookSource`]), polled ones answer `poll(account, cursor)`
//! ([`PolledConnector`]). [`Networks`] is the registry the workers and the HTTP server look
//! connectors up in; they never name a network themselves. Leases, cursors, quota, token
//! refresh, retries and ordering belong to the central module (`workers`), not to connectors.

pub mod google;
pub mod linkedin;
pub mod meta;
pub mod tiktok;
pub mod x;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::core::{
    AccountId, Capabilities, FailureReason, ItemKind, Moderation, Network, NetworkEnvelope,
    NetworkItemId, Ticket,
};
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
    /// Throttled: try again after `retry_after` (when the network said). Counted as a rate
    /// limit when the time budget runs out.
    #[error("rate-limited by the network: {reason}")]
    RateLimited {
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

/// One call as one of a network's accounts: the account's id on the network and a usable
/// access token for it.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    pub account: &'a AccountId,
    pub token: &'a SecretString,
    pub now: DateTime<Utc>,
}

/// A network: what it allows, and acting on it as one of its accounts. Implementations only
/// translate (wire formats in and out, errors classified as [`ConnectorError`]); the outbox
/// owns retries, time budgets, tokens and ordering.
#[async_trait]
pub trait Connector: Send + Sync {
    fn network(&self) -> Network;

    /// What the network allows for a kind of item (pure data; see [`Capabilities`]).
    fn capabilities(&self, kind: ItemKind) -> Capabilities;

    /// Reply to `ticket`'s customer (where depends on the kind of item: under `reply_to`, the
    /// customer's item the teammate answered, or in the conversation); the reply's id on the
    /// network. Called only for kinds whose capabilities allow replies, inside their window.
    async fn reply(
        &self,
        call: Call<'_>,
        ticket: &Ticket,
        reply_to: &NetworkItemId,
        text: &str,
    ) -> Result<NetworkItemId, ConnectorError>;

    /// Replies with `text` this account posted under `reply_to` since `since` (candidates,
    /// oldest first), if the network can tell, and how many quota units the lookup cost.
    /// Asked before a reply is sent again after an attempt that got no answer (the network
    /// may have posted it then); the outbox takes the first candidate no other reply of ours
    /// is recorded with. The default, for networks that cannot tell or need not (their
    /// replies are idempotent): none, and a lost answer may then mean a second copy.
    async fn find_reply(
        &self,
        _call: Call<'_>,
        _ticket: &Ticket,
        _reply_to: &NetworkItemId,
        _text: &str,
        _since: DateTime<Utc>,
    ) -> Result<(Vec<NetworkItemId>, u32), ConnectorError> {
        Ok((Vec::new(), 0))
    }

    /// Carry out a moderation action the capabilities offer on `item` of `ticket` (its item,
    /// or for [`Moderation::DeleteReply`] the reply of ours to delete).
    async fn moderate(
        &self,
        call: Call<'_>,
        ticket: &Ticket,
        action: Moderation,
        item: &NetworkItemId,
    ) -> Result<(), ConnectorError>;
}

/// How an account of a network is connected from chat: the OAuth provider it signs in with
/// (`/oauth/<provider>/callback`; one provider may serve several networks) and the scopes it
/// needs (all must be granted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Login {
    pub provider: &'static str,
    pub scopes: &'static [&'static str],
}

/// A network that is polled rather than pushed. Implementations only translate: HTTP calls
/// and wire formats in, normalised envelopes out.
#[async_trait]
pub trait PolledConnector: Connector {
    /// How its accounts are connected.
    fn login(&self) -> Login;

    /// Whether its accounts are polled here. `false` when their news comes by webhook
    /// instead (X can do either): the poll worker then never claims them, and the connector
    /// is still what connects accounts, refreshes their tokens and replies.
    fn polls(&self) -> bool {
        true
    }

    /// Quota units one poll of one account usually costs (for scheduling).
    fn units_per_poll(&self) -> u32;

    /// Whether a login that gives access to several accounts lets the user pick the one to
    /// connect (LinkedIn: each page the member administers) rather than connecting them all
    /// (Google: every Business Profile location of the grant).
    fn choose_account(&self) -> bool {
        false
    }

    /// How long before an access token that cannot be refreshed (no refresh token was
    /// issued) expires its account's channel is warned, once; `None`: never warned (the
    /// network always issues refresh tokens, or its tokens do not expire).
    fn expiry_warning(&self) -> Option<chrono::Duration> {
        None
    }

    /// The network's shared budget, `None` when it has none worth scheduling by.
    fn quota_plan(&self) -> Option<crate::core::quota::QuotaPlan> {
        None
    }

    /// When the network's quota next resets (YouTube: midnight Pacific time; by default the
    /// next midnight UTC). The same instant for every call of a period: it keys the shared
    /// ledger.
    fn quota_reset(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let tomorrow = now.date_naive() + chrono::Days::new(1);
        tomorrow.and_time(chrono::NaiveTime::MIN).and_utc()
    }

    /// Quota units one reply costs (charged to the shared budget polls are scheduled by).
    fn reply_units(&self) -> u32 {
        0
    }

    /// Quota units one moderation call costs.
    fn moderation_units(&self, _action: Moderation) -> u32 {
        0
    }

    /// The accounts a fresh token gives access to, as (network id, display name): the
    /// YouTube channel, or each Business Profile location. Called once, when connecting.
    async fn identify(&self, token: &SecretString)
    -> Result<Vec<(String, String)>, ConnectorError>;

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

/// A webhook request refused (a 4xx with its reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct WebhookRefusal {
    /// The HTTP status to answer with.
    pub status: u16,
    pub reason: String,
}

impl WebhookRefusal {
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }
}

/// The answer to a subscription handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    pub content_type: &'static str,
    pub body: String,
}

/// A parsed webhook: the envelopes to commit, and notes about parts that were not for us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookBatch {
    pub envelopes: Vec<NetworkEnvelope>,
    pub ignored: Vec<String>,
}

/// A pushed network's webhook endpoint, `/webhooks/<name>`: the subscription handshake, the
/// signature check on the raw bytes, and parsing. The server commits what `parse` returns to
/// the inbox before acknowledging; one source may carry several networks (Meta's carries
/// Facebook, Instagram and WhatsApp).
pub trait WebhookSource: Send + Sync {
    /// The path segment (`meta` → `/webhooks/meta`), also the inbox rows' source.
    fn name(&self) -> &'static str;

    /// Answer the platform's subscription handshake (a `GET` with `query`).
    fn handshake(&self, query: &HashMap<String, String>) -> Result<Handshake, WebhookRefusal>;

    /// Check the request's signature on the raw `body`, in constant time and within the
    /// platform's replay window; nothing is parsed before this passes.
    fn verify(
        &self,
        headers: &axum::http::HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), WebhookRefusal>;

    /// Turn a verified body into envelopes.
    fn parse(&self, body: &[u8]) -> Result<WebhookBatch, WebhookRefusal>;
}

/// The connectors this server runs, by network: the one place a network is looked up.
#[derive(Default, Clone)]
pub struct Networks {
    connectors: HashMap<Network, Arc<dyn Connector>>,
    polled: HashMap<Network, Arc<dyn PolledConnector>>,
    webhooks: HashMap<&'static str, Arc<dyn WebhookSource>>,
    /// OAuth clients by provider name (scopes are each login's).
    providers: HashMap<&'static str, crate::oauth::ProviderConfig>,
}

impl Networks {
    /// Register a pushed network's connector.
    pub fn add(&mut self, connector: Arc<dyn Connector>) {
        self.connectors.insert(connector.network(), connector);
    }

    /// Register a polled network's connector (also its [`Connector`]).
    pub fn add_polled(&mut self, connector: Arc<dyn PolledConnector>) {
        let network = connector.network();
        self.connectors
            .insert(network, connector.clone() as Arc<dyn Connector>);
        self.polled.insert(network, connector);
    }

    pub fn get(&self, network: Network) -> Option<&Arc<dyn Connector>> {
        self.connectors.get(&network)
    }

    /// What `network` allows for `kind` ([`Capabilities::NONE`] for a network this server
    /// does not run: its items get no buttons and no replies).
    pub fn capabilities(&self, network: Network, kind: ItemKind) -> Capabilities {
        self.get(network)
            .map_or(Capabilities::NONE, |c| c.capabilities(kind))
    }

    /// Register an OAuth client (`provider` as polled connectors' [`Login`]s name it).
    pub fn add_provider(&mut self, provider: &'static str, config: crate::oauth::ProviderConfig) {
        self.providers.insert(provider, config);
    }

    /// Whether an OAuth provider of that name is configured here.
    pub fn has_provider(&self, provider: &str) -> bool {
        self.providers.contains_key(provider)
    }

    /// How `network`'s accounts are connected, with the OAuth client to do it (asking for the
    /// login's scope); `None` when this server cannot connect them.
    pub fn login(&self, network: Network) -> Option<(Login, crate::oauth::ProviderConfig)> {
        let login = self.polled(network)?.login();
        let mut provider = self.providers.get(login.provider)?.clone();
        provider.scopes = login.scopes.iter().map(|s| s.to_string()).collect();
        Some((login, provider))
    }

    /// The networks whose accounts can be connected from chat here.
    pub fn connectable(&self) -> Vec<Network> {
        Network::ALL
            .into_iter()
            .filter(|n| self.login(*n).is_some())
            .collect()
    }

    /// Register a webhook endpoint.
    pub fn add_webhook(&mut self, source: Arc<dyn WebhookSource>) {
        self.webhooks.insert(source.name(), source);
    }

    /// The webhook endpoint named `name`.
    pub fn webhook(&self, name: &str) -> Option<&Arc<dyn WebhookSource>> {
        self.webhooks.get(name)
    }

    /// The polled network's connector.
    pub fn polled(&self, network: Network) -> Option<&Arc<dyn PolledConnector>> {
        self.polled.get(&network)
    }

    /// Every polled network's connector.
    pub fn all_polled(&self) -> Vec<Arc<dyn PolledConnector>> {
        self.polled.values().cloned().collect()
    }

    pub fn is_polled(&self, network: Network) -> bool {
        self.polled.contains_key(&network)
    }
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

/// What a network allows, from its folder's data, for tests that render or decide without a
/// running registry.
#[cfg(test)]
pub(crate) fn test_capabilities(state: &crate::core::TicketState) -> Capabilities {
    let kind = state.kind;
    match state.network {
        Network::Facebook => meta::capabilities::facebook(kind, false),
        Network::Instagram => meta::capabilities::instagram(kind),
        Network::Whatsapp => meta::capabilities::whatsapp(kind),
        Network::Youtube => google::capabilities::youtube(kind),
        Network::Google => google::capabilities::reviews(kind),
        Network::Tiktok => tiktok::capabilities::comments(kind),
        Network::X => x::capabilities::x(kind),
        Network::Linkedin => linkedin::capabilities::linkedin(kind),
    }
}
