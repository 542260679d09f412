//! Disconnecting an account: revoke its token where the provider allows (best effort: the
//! account goes either way), remove it, and reload the services' view of accounts.

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
        // Revoking the refresh token revokes the grant (Google: every token of it).
        let token = tokens.refresh_token.unwrap_or(tokens.access_token);
        if let Err(e) = crate::oauth::revoke(&svc.oauth_http(), &provider, &token).await {
            warn!(error = %e, account = id, "token revocation failed; disconnecting anyway");
        }
    }
    let removed = svc.store.disconnect_account(id).await?;
    svc.reload_accounts().await?;
    Ok(removed.map(|a| a.name))
}
