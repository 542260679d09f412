//! Connecting accounts by OAuth: the authorization link a `connect` command hands out, and
//! the callback that stores the account. The `state` is sealed (AES-GCM: who asked, from
//! which channel, the PKCE verifier), expires, and is used once: its nonce is marked in the
//! transaction that stores the accounts. A wrong, expired or replayed one gets a clear error
//! page and stores nothing; a failure to store leaves the link usable.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use tracing::{info, warn};

use super::AppState;
use crate::core::{AccountId, Network, Surface, text};
use crate::oauth::{Pkce, StateClaims, StateError};
use crate::store::NewAccount;

/// Why no link could be made (shown to the teammate as is: our words only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// This server cannot connect the network's accounts from chat (a pushed network whose
    /// accounts live in the file, or one whose section is not configured).
    NotConnectable,
    /// The credentials key or the public URL is missing.
    NotConfigured,
}

/// The authorization URL for connecting a `network` account, routed to `channel`.
pub fn authorization_link(
    state: &crate::workers::Services,
    network: Network,
    surface: Surface,
    workspace: &str,
    channel: &str,
    user: &str,
) -> Result<String, LinkError> {
    let (login, cfg) = state
        .networks
        .login(network)
        .ok_or(LinkError::NotConnectable)?;
    let (Some(key), Some(redirect)) = (
        state.config.credentials_key(),
        state.config.server.redirect_uri(login.provider),
    ) else {
        return Err(LinkError::NotConfigured);
    };
    let pkce = Pkce::generate();
    let claims = StateClaims::new(
        network.as_str(),
        surface.as_str(),
        workspace,
        channel,
        user,
        pkce.verifier_string(),
        Utc::now(),
    );
    let sealed = crate::oauth::seal_state(&key, &claims).map_err(|_| LinkError::NotConfigured)?;
    Ok(crate::oauth::authorization_url(&cfg, &redirect, &sealed, pkce.challenge()).to_string())
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    // Our own words only; nothing from the request is echoed into the page.
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>Switchboard</title>\
         <h1>{title}</h1><p>{body}</p>"
    );
    (status, Html(html)).into_response()
}

fn refused(reason: &str) -> Response {
    page(StatusCode::BAD_REQUEST, "Not connected", reason)
}

/// `GET /oauth/{provider}/callback`.
pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Query(q): Query<Callback>,
) -> Response {
    if !state.networks.has_provider(&provider) {
        return page(
            StatusCode::NOT_FOUND,
            "Not found",
            "No such OAuth provider here.",
        );
    }
    if let Some(error) = q.error {
        // access_denied and friends: the user said no, or Google refused the request.
        let why = if error == "access_denied" {
            text::OAUTH_DENIED
        } else {
            text::OAUTH_REFUSED
        };
        return refused(why);
    }
    let (Some(sealed), Some(code)) = (q.state, q.code) else {
        return refused(text::OAUTH_INCOMPLETE);
    };
    let (Some(key), Some(redirect)) = (
        state.config.credentials_key(),
        state.config.server.redirect_uri(&provider),
    ) else {
        return refused(text::OAUTH_NOT_CONFIGURED);
    };
    let claims = match crate::oauth::open_state(&key, &sealed, Utc::now()) {
        Ok(c) => c,
        Err(StateError::Expired) => return refused(text::OAUTH_EXPIRED),
        Err(_) => return refused(text::OAUTH_BAD_STATE),
    };
    let (Ok(network), Ok(surface)) = (
        claims.provider.parse::<Network>(),
        claims.surface.parse::<Surface>(),
    ) else {
        return refused(text::OAUTH_BAD_STATE);
    };
    // The network's login, through the provider this callback is for (a state made for
    // another provider is not valid here).
    let Some((login, cfg)) = state
        .networks
        .login(network)
        .filter(|(login, _)| login.provider == provider)
    else {
        return refused(text::OAUTH_BAD_STATE);
    };
    // Single use. The nonce is marked in the same transaction that stores the accounts
    // (below), so a failure to store leaves the link usable and a success burns it; a
    // replay is answered here, before Google is asked to exchange a used code. Two
    // callbacks racing past this check both exchange, and the transaction lets one win.
    let once = format!("oauth-state:{}", claims.nonce);
    match state.store.is_marked(&once).await {
        Ok(false) => {}
        Ok(true) => return refused(text::OAUTH_REPLAYED),
        Err(e) => {
            warn!(error = %e, "cannot read an OAuth state's mark");
            return try_again();
        }
    }
    let verifier = secrecy::SecretString::from(claims.pkce_verifier.clone());
    let tokens =
        match crate::oauth::exchange_code(&state.oauth_http, &cfg, &redirect, &code, &verifier)
            .await
        {
            Ok(t) => t,
            Err(e) => {
                warn!(error = %e, "OAuth code exchange failed");
                return refused(text::OAUTH_EXCHANGE_FAILED);
            }
        };
    if login
        .scopes
        .iter()
        .any(|scope| crate::oauth::require_scope(&tokens, scope).is_err())
    {
        return refused(text::OAUTH_SCOPE_MISSING);
    }
    let Some(connector) = state.networks.polled(network).cloned() else {
        return refused(text::OAUTH_NOT_CONFIGURED);
    };
    let found = match connector.identify(&tokens.access_token).await {
        Ok(found) if !found.is_empty() => found,
        Ok(_) => return refused(text::OAUTH_NOTHING_TO_CONNECT),
        Err(e) => {
            warn!(error = %e, "cannot tell which account was connected");
            return refused(text::OAUTH_EXCHANGE_FAILED);
        }
    };
    // Several accounts the user picks from: the state is used now (its code is spent), and
    // the page offers one sealed, single-use choice per account.
    if connector.choose_account() && found.len() > 1 {
        match state.store.first_time(&once, Utc::now()).await {
            Ok(true) => {}
            Ok(false) => return refused(text::OAUTH_REPLAYED),
            Err(e) => {
                warn!(error = %e, "cannot mark an OAuth state used");
                return try_again();
            }
        }
        let now = Utc::now();
        let choices: Vec<(String, String)> = found
            .into_iter()
            .map(|(account_id, name)| {
                let claims = crate::oauth::ChoiceClaims::new(
                    &claims,
                    account_id,
                    name.clone(),
                    tokens.clone(),
                    now,
                );
                (crate::oauth::seal_choice(&key, &claims), name)
            })
            .collect();
        return choose_page(&provider, &choices);
    }
    let accounts: Vec<NewAccount> = found
        .into_iter()
        .map(|(account_id, name)| NewAccount {
            network,
            credentials: crate::workers::tokens::seal(&key, network, &account_id, &tokens),
            account_id: AccountId::new(account_id),
            name,
            surface,
            channel: claims.channel.clone(),
            connected_by: Some(claims.user.clone()),
        })
        .collect();
    match state
        .store
        .connect_accounts_once(&once, &accounts, Utc::now())
        .await
    {
        Ok(Some(connected)) => {
            info!(network = %network, accounts = connected.len(), "accounts connected")
        }
        Ok(None) => return refused(text::OAUTH_REPLAYED),
        Err(e) => {
            warn!(error = %e, "cannot store a connected account");
            return try_again();
        }
    }
    if let Err(e) = state.reload_accounts().await {
        warn!(error = format!("{e:#}"), "cannot reload connected accounts");
    }
    // The "connected" notice is pending in the store with the accounts: try it now; if the
    // chat is down, the poll worker posts it later.
    if let Err(e) = crate::workers::accounts::deliver_notices(&state, Utc::now()).await {
        warn!(
            error = format!("{e:#}"),
            "cannot announce a connected account yet"
        );
    }
    page(StatusCode::OK, "Connected", text::OAUTH_CONNECTED_PAGE)
}

/// `&`, `<`, `>`, `"` and `'` as HTML entities: account names are the network's text.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page listing the accounts to pick from: one POST form per account, its sealed choice
/// in a hidden field (never in a URL), its name escaped.
fn choose_page(provider: &str, choices: &[(String, String)]) -> Response {
    let mut forms = String::new();
    for (sealed, name) in choices {
        forms.push_str(&format!(
            "<form method=post action=\"/oauth/{}/choose\"><input type=hidden name=choice value=\"{}\"><button type=submit>{}</button></form>",
            html_escape(provider),
            html_escape(sealed),
            html_escape(name)
        ));
    }
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>Switchboard</title>\
         <h1>{}</h1><p>{}</p>{forms}",
        text::OAUTH_CHOOSE_TITLE,
        text::OAUTH_CHOOSE_PAGE
    );
    (StatusCode::OK, Html(html)).into_response()
}

#[derive(Debug, Deserialize)]
pub struct Choice {
    choice: Option<String>,
}

/// `POST /oauth/{provider}/choose`: connect the account a choice names, routed where the
/// connect command was run. A wrong, expired or replayed choice stores nothing.
pub async fn choose(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Form(form): Form<Choice>,
) -> Response {
    if !state.networks.has_provider(&provider) {
        return page(
            StatusCode::NOT_FOUND,
            "Not found",
            "No such OAuth provider here.",
        );
    }
    let Some(sealed) = form.choice.filter(|c| !c.is_empty()) else {
        return refused(text::OAUTH_INCOMPLETE);
    };
    let Some(key) = state.config.credentials_key() else {
        return refused(text::OAUTH_NOT_CONFIGURED);
    };
    let claims = match crate::oauth::open_choice(&key, &sealed, Utc::now()) {
        Ok(c) => c,
        Err(StateError::Expired) => return refused(text::OAUTH_EXPIRED),
        Err(_) => return refused(text::OAUTH_BAD_STATE),
    };
    let (Ok(network), Ok(surface)) = (
        claims.network.parse::<Network>(),
        claims.surface.parse::<Surface>(),
    ) else {
        return refused(text::OAUTH_BAD_STATE);
    };
    // Only a network that offers choices, through this provider.
    let offers = state
        .networks
        .polled(network)
        .is_some_and(|c| c.choose_account() && c.login().provider == provider);
    if !offers {
        return refused(text::OAUTH_BAD_STATE);
    }
    let account = NewAccount {
        network,
        credentials: crate::workers::tokens::seal(
            &key,
            network,
            &claims.account_id,
            &claims.tokens,
        ),
        account_id: AccountId::new(claims.account_id.clone()),
        name: claims.name.clone(),
        surface,
        channel: claims.channel.clone(),
        connected_by: Some(claims.user.clone()),
    };
    let once = format!("oauth-choice:{}", claims.nonce);
    match state
        .store
        .connect_accounts_once(&once, &[account], Utc::now())
        .await
    {
        Ok(Some(_)) => info!(network = %network, "account chosen and connected"),
        Ok(None) => return refused(text::OAUTH_REPLAYED),
        Err(e) => {
            warn!(error = %e, "cannot store a chosen account");
            return try_again();
        }
    }
    if let Err(e) = state.reload_accounts().await {
        warn!(error = format!("{e:#}"), "cannot reload connected accounts");
    }
    if let Err(e) = crate::workers::accounts::deliver_notices(&state, Utc::now()).await {
        warn!(
            error = format!("{e:#}"),
            "cannot announce a connected account yet"
        );
    }
    page(StatusCode::OK, "Connected", text::OAUTH_CONNECTED_PAGE)
}

fn try_again() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again",
        text::OAUTH_TRY_AGAIN,
    )
}
