//! Disconnecting an account: revoke its token where the provider allows (best effort: the
//! account goes either way), remove it, and reload the services' view of accounts. And what
//! an account's channel is told: that it was connected, and (once) that its token died. Both
//! are pending in the store until their post succeeded, so an outage delays them but never
//! loses them.

use chrono::{DateTime, Utc};
use tracing::warn;

use super::Services;
use crate::core::{Rich, Surface, text};

/// After a failed post, a "connected" notice waits this long before it is tried again.
pub const NOTICE_RETRY: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a replica holds the "needs reconnecting" alerts it took while it posts them
/// (alerts are rare; this outlasts several posts at their longest deadline). One whose post
/// failed is tried again when it ends.
pub const ALERT_LEASE: std::time::Duration = std::time::Duration::from_secs(300);

/// Disconnect account `id`; its name, or `None` when there is no such account.
pub async fn disconnect(svc: &Services, id: i64) -> anyhow::Result<Option<String>> {
    let Some(account) = svc.store.account(id).await? else {
        return Ok(None);
    };
    let provider = svc.networks.login(account.network).map(|(_, p)| p);
    if let (Some(key), Some(provider)) = (svc.config.credentials_key(), provider)
        && let Ok(tokens) = super::tokens::open(&key, &account)
    {
        use secrecy::ExposeSecret;
        // Revoking the refresh token revokes the grant (Google: every token of it; the
        // provider says which token it takes). Locations connected in one go share it:
        // revoke only when no other account still uses it.
        let token = provider.revocation_token(&tokens).clone();
        let shared = svc.store.accounts().await?.iter().any(|other| {
            other.id != account.id
                && super::tokens::open(&key, other).is_ok_and(|t| {
                    provider.revocation_token(&t).expose_secret() == token.expose_secret()
                })
        });
        if !shared && let Err(e) = crate::oauth::revoke(&svc.oauth_http, &provider, &token).await {
            warn!(error = %e, account = id, "token revocation failed; disconnecting anyway");
        }
    }
    let removed = svc.store.disconnect_account(id).await?;
    svc.reload_accounts().await?;
    Ok(removed.map(|a| a.name))
}

/// Post `message` in a channel of `surface` (the account's own, not a card's thread);
/// `nonce` names the message on Discord, so a retry after a lost answer does not post it
/// twice.
async fn post(
    svc: &Services,
    surface: Surface,
    channel: &str,
    message: &Rich,
    nonce: &str,
) -> Result<(), String> {
    match surface {
        Surface::Slack => svc
            .slack
            .post_message(channel, None, crate::chat::slack::render::message(message))
            .await
            .map(drop)
            .map_err(|e| format!("{e:?}")),
        Surface::Discord => match &svc.discord {
            Some(d) => d
                .create_message_once(
                    channel,
                    &crate::chat::discord::render::message(message),
                    nonce,
                )
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            None => Err("Discord is not configured".into()),
        },
    }
}

/// The slash command teammates type on `surface` (`/switchboard`, `/inbox`).
fn command_of(svc: &Services, surface: Surface) -> String {
    match surface {
        Surface::Slack => svc.config.slack.command.clone(),
        Surface::Discord => {
            let name = svc
                .config
                .discord
                .as_ref()
                .map_or(crate::config::DEFAULT_DISCORD_COMMAND, |d| {
                    d.command.as_str()
                });
            format!("/{name}")
        }
    }
}

/// Tell the channels of accounts that turned unhealthy. The alert is pending in the store
/// from the moment the account turned unhealthy until its post succeeded, so a crash or an
/// outage delays it but never loses it. Returns how many were posted.
///
/// Alerts are taken under a lease while they are posted, so two replicas never post one
/// twice; one whose post failed is tried again when its lease ends.
pub async fn deliver_alerts(svc: &Services) -> anyhow::Result<usize> {
    let mut posted = 0;
    let now = Utc::now();
    let lease = chrono::Duration::from_std(ALERT_LEASE).unwrap_or(chrono::Duration::minutes(1));
    for account in svc.store.take_account_alerts(now, now + lease).await? {
        let reason = account.unhealthy.clone().unwrap_or_default();
        let alert = text::account_needs_reconnect(
            account.network,
            &account.name,
            &reason,
            &command_of(svc, account.surface),
        );
        // One alert per grant that died.
        let nonce = format!("sba{}v{}", account.id, account.credentials_version);
        match post(svc, account.surface, &account.channel, &alert, &nonce).await {
            Ok(()) => {
                svc.store.clear_account_alert(account.id).await?;
                posted += 1;
            }
            Err(e) => warn!(account = account.id, error = %e, "cannot post an account alert yet"),
        }
    }
    Ok(posted)
}

/// The once-only key of an account's expiry warning: one per grant (a reconnect brings a new
/// token, warned about in its turn).
pub fn expiry_warning_key(account: &crate::store::ConnectedAccount) -> String {
    format!(
        "token-expiring:{}:v{}",
        account.id, account.credentials_version
    )
}

/// Warn the channels of healthy accounts whose access token cannot be refreshed (no refresh
/// token was issued) and expires within their network's warning lead
/// ([`crate::networks::PolledConnector::expiry_warning`]): once per grant, marked before the
/// post (two replicas never both post) and unmarked when the post fails (tried again next
/// round). Returns how many were posted.
pub async fn deliver_expiry_warnings(svc: &Services, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let Some(key) = svc.config.credentials_key() else {
        return Ok(0);
    };
    let mut posted = 0;
    for account in svc.store.accounts().await? {
        if account.unhealthy.is_some() {
            continue;
        }
        let Some(lead) = svc
            .networks
            .polled(account.network)
            .and_then(|c| c.expiry_warning())
        else {
            continue;
        };
        let Ok(tokens) = super::tokens::open(&key, &account) else {
            continue;
        };
        if tokens.refresh_token.is_some() || now + lead < tokens.expires_at {
            continue;
        }
        let once = expiry_warning_key(&account);
        if !svc.store.first_time(&once, now).await? {
            continue;
        }
        let warning = text::account_token_expiring(
            account.network,
            &account.name,
            tokens.expires_at,
            &command_of(svc, account.surface),
        );
        let nonce = format!("sbx{}v{}", account.id, account.credentials_version);
        match post(svc, account.surface, &account.channel, &warning, &nonce).await {
            Ok(()) => posted += 1,
            Err(e) => {
                warn!(account = account.id, error = %e, "cannot post a token expiry warning yet");
                svc.store.forget(&once).await?;
            }
        }
    }
    Ok(posted)
}

/// Announce the accounts connected (or reconnected) since, in their channels: one message
/// per channel and network, so the locations of one grant come together. Each notice is
/// pending in the store from the write that connected its account until its post
/// succeeded; a notice is taken under a lease while it is posted, so the OAuth callback
/// (posting at once) and every replica's poll worker (catching up) never post it twice. A
/// failed post is tried again [`NOTICE_RETRY`] later. Only notices due by `now` are taken,
/// so a round ends however the posts go. Returns how many messages were posted.
pub async fn deliver_notices(svc: &Services, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let http = &svc.config.http;
    // The lease outlasts one post (the longest call deadline) by the usual margin.
    let lease_secs = http
        .timeout_secs
        .max(http.connect_timeout_secs)
        .saturating_add(crate::config::LEASE_MARGIN_SECS);
    let day = chrono::Duration::days(1);
    let lease = chrono::Duration::from_std(std::time::Duration::from_secs(lease_secs))
        .map_or(day, |l| l.min(day));
    let retry = chrono::Duration::from_std(NOTICE_RETRY).unwrap_or(day);
    let mut posted = 0;
    loop {
        // Leased from the clock, not from `now`: earlier posts of this round took time.
        let from = now.max(Utc::now());
        let taken = svc.store.take_account_notices(now, from + lease).await?;
        let Some(first) = taken.first() else {
            return Ok(posted);
        };
        let names: Vec<String> = taken.iter().map(|a| a.name.clone()).collect();
        let notice = text::account_connected(first.network, &names);
        // One notice per connection of the first account.
        let nonce = format!("sbn{}v{}", first.id, first.credentials_version);
        let sent = post(svc, first.surface, &first.channel, &notice, &nonce).await;
        let due_again = match &sent {
            Ok(()) => None,
            Err(e) => {
                warn!(account = first.id, error = %e, "cannot post a connected notice yet");
                Some(now.max(Utc::now()) + retry)
            }
        };
        for account in &taken {
            if let Some(claim) = account.notice_due {
                svc.store
                    .finish_account_notice(account.id, claim, due_again)
                    .await?;
            }
        }
        if sent.is_ok() {
            posted += 1;
        }
    }
}
