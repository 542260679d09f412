//! Disconnecting an account: revoke its token where the provider allows (best effort: the
//! account goes either way), remove it, and reload the services' view of accounts. And the
//! one alert an account's channel gets when its token dies.

use tracing::warn;

use super::Services;

/// Disconnect account `id`; its name, or `None` when there is no such account.
pub async fn disconnect(svc: &Services, id: i64) -> anyhow::Result<Option<String>> {
    let Some(account) = svc.store.account(id).await? else {
        return Ok(None);
    };
    let provider = svc.config.google.as_ref().and_then(|g| g.provider(vec![]));
    if let (Some(key), Some(provider)) = (svc.config.credentials_key(), provider)
        && let Ok(tokens) = super::tokens::open(&key, &account)
    {
        use secrecy::ExposeSecret;
        // Revoking the refresh token revokes the grant (Google: every token of it). Locations
        // connected in one go share it: revoke only when no other account still uses it.
        let token = tokens.refresh_token.unwrap_or(tokens.access_token);
        let shared = svc.store.accounts().await?.iter().any(|other| {
            other.id != account.id
                && super::tokens::open(&key, other).is_ok_and(|t| {
                    t.refresh_token
                        .as_ref()
                        .unwrap_or(&t.access_token)
                        .expose_secret()
                        == token.expose_secret()
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

/// Tell the channels of accounts that turned unhealthy. The alert is pending in the store
/// from the moment the account turned unhealthy until its post succeeded, so a crash or an
/// outage delays it but never loses it. Returns how many were posted.
pub async fn deliver_alerts(svc: &Services) -> anyhow::Result<usize> {
    use crate::core::{Surface, text};
    let mut posted = 0;
    for account in svc.store.pending_account_alerts().await? {
        let reason = account.unhealthy.clone().unwrap_or_default();
        let alert = text::account_needs_reconnect(account.network, &account.name, &reason);
        let sent = match account.surface {
            Surface::Slack => svc
                .slack
                .post_message(
                    &account.channel,
                    None,
                    crate::chat::slack::render::message(&alert),
                )
                .await
                .map(drop)
                .map_err(|e| format!("{e:?}")),
            Surface::Discord => match &svc.discord {
                Some(d) => d
                    .create_message(
                        &account.channel,
                        &crate::chat::discord::render::message(&alert),
                    )
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string()),
                None => Err("Discord is not configured".into()),
            },
        };
        match sent {
            Ok(()) => {
                svc.store.clear_account_alert(account.id).await?;
                posted += 1;
            }
            Err(e) => warn!(account = account.id, error = %e, "cannot post an account alert yet"),
        }
    }
    Ok(posted)
}
