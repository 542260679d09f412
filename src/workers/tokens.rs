//! Access tokens for connected accounts, from their sealed credentials in the store. A token
//! about to expire (or refused by the network) is refreshed under the account's refresh lock
//! (one refresh at a time across replicas), and the new set is stored before it is used:
//! providers that rotate refresh tokens break the chain when a refreshed set is lost.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::Utc;
use secrecy::SecretString;

use crate::core::Network;
use crate::crypto::SecretKey;
use crate::networks::{TokenError, TokenSource};
use crate::oauth::{OAuthError, ProviderConfig, TokenSet};
use crate::store::{ConnectedAccount, DynStore};

/// How long a refresh may hold an account's refresh lock (a token call has its timeout). A
/// failed refresh keeps it until it runs out: the next attempt waits that long.
pub const REFRESH_LEASE_SECS: i64 = 60;

/// What binds a sealed token set to its account: a blob copied onto another row fails to open.
fn aad(network: Network, account_id: &str) -> Vec<u8> {
    format!("switchboard:credentials:{network}:{account_id}").into_bytes()
}

/// Seal a token set for storing with the account `network`/`account_id`.
pub fn seal(key: &SecretKey, network: Network, account_id: &str, tokens: &TokenSet) -> Vec<u8> {
    // A TokenSet always serialises (strings and a timestamp).
    let plain = zeroize::Zeroizing::new(serde_json::to_vec(tokens).unwrap_or_default());
    key.seal(&plain, &aad(network, account_id))
}

/// Open an account's sealed token set.
pub fn open(key: &SecretKey, account: &ConnectedAccount) -> Result<TokenSet, TokenError> {
    let plain = key
        .open(
            &account.credentials,
            &aad(account.network, account.account_id.as_str()),
        )
        .map_err(|_| {
            TokenError::Dead(
                "the stored credentials cannot be opened with this SWITCHBOARD_SECRET_KEY".into(),
            )
        })?;
    serde_json::from_slice(&plain)
        .map_err(|_| TokenError::Dead("the stored credentials are unreadable".into()))
}

/// The token source the poll worker and the outbox use in production.
pub struct OAuthTokens {
    store: DynStore,
    key: SecretKey,
    http: reqwest::Client,
    providers: HashMap<Network, ProviderConfig>,
}

impl OAuthTokens {
    /// `http` should not follow redirects (see `crate::oauth`).
    pub fn new(
        store: DynStore,
        key: SecretKey,
        http: reqwest::Client,
        providers: HashMap<Network, ProviderConfig>,
    ) -> Self {
        Self {
            store,
            key,
            http,
            providers,
        }
    }

    async fn latest(&self, id: i64) -> Result<ConnectedAccount, TokenError> {
        self.store
            .account(id)
            .await
            .map_err(|e| TokenError::Transient(format!("cannot read the account: {e}")))?
            .ok_or_else(|| TokenError::Dead("the account was disconnected".into()))
    }
}

#[async_trait]
impl TokenSource for OAuthTokens {
    async fn access_token(
        &self,
        account: &ConnectedAccount,
        force_refresh: bool,
    ) -> Result<SecretString, TokenError> {
        let now = Utc::now();
        let current = self.latest(account.id).await?;
        let tokens = open(&self.key, &current)?;
        // Refreshed by someone else since the caller read the account: use that.
        let refreshed_meanwhile = current.credentials_version != account.credentials_version;
        if !tokens.needs_refresh(now) && (!force_refresh || refreshed_meanwhile) {
            return Ok(tokens.access_token);
        }
        let provider = self.providers.get(&account.network).ok_or_else(|| {
            TokenError::Transient(format!("{} is not configured here", account.network))
        })?;
        let lease = chrono::Duration::seconds(REFRESH_LEASE_SECS);
        let Some(claim) = self
            .store
            .claim_refresh(account.id, now, lease)
            .await
            .map_err(|e| TokenError::Transient(format!("cannot lock the account: {e}")))?
        else {
            return Err(TokenError::Transient(
                "another worker is refreshing this account's token".into(),
            ));
        };
        // Another replica may have refreshed between our read and our lock: use its token
        // rather than refreshing a set that may be rotated out already.
        let locked = self.latest(account.id).await?;
        let tokens = if locked.credentials_version != current.credentials_version {
            let fresh = open(&self.key, &locked)?;
            if !fresh.needs_refresh(now) {
                // Give the lock back at once (the same credentials, version bumped).
                let _ = self.store.store_refreshed(claim, &locked.credentials).await;
                return Ok(fresh.access_token);
            }
            fresh
        } else {
            tokens
        };
        let Some(refresh_token) = tokens.refresh_token.clone() else {
            return Err(TokenError::Dead(
                "the provider gave no refresh token; reconnect the account".into(),
            ));
        };
        let new = match crate::oauth::refresh(&self.http, provider, &refresh_token).await {
            Ok(new) => tokens.refreshed(new),
            Err(OAuthError::Dead { provider_error }) => {
                return Err(TokenError::Dead(provider_error));
            }
            Err(e) => return Err(TokenError::Transient(e.to_string())),
        };
        let sealed = seal(
            &self.key,
            account.network,
            account.account_id.as_str(),
            &new,
        );
        // Stored before use: a rotated refresh token must never exist only in memory.
        let stored = self
            .store
            .store_refreshed(claim, &sealed)
            .await
            .map_err(|e| TokenError::Transient(format!("cannot store the new token: {e}")))?;
        if !stored {
            return Err(TokenError::Transient(
                "the refresh lock expired before the new token was stored".into(),
            ));
        }
        Ok(new.access_token)
    }
}
