//! The HTTP side: verify → parse → normalise → commit to the inbox → acknowledge. Nothing
//! else happens on the request path; workers do the rest.

pub mod discord;
pub mod gateway;
mod health;
pub mod inbox_writer;
pub mod metrics;
pub mod oauth;
mod scope;
mod slack;
pub mod socket_mode;
mod storm;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tower_http::trace::TraceLayer;

use crate::workers::Services;

pub type AppState = Arc<Services>;

pub fn router(state: AppState) -> Router {
    let max_body = state.config.server.max_body_bytes;
    Router::new()
        .route(
            "/webhooks/{source}",
            get(webhooks::handshake).post(webhooks::receive),
        )
        .route("/oauth/{provider}/callback", get(oauth::callback))
        .route("/oauth/{provider}/choose", post(oauth::choose))
        .route("/slack/events", post(slack::events))
        .route("/slack/interactions", post(slack::interactions))
        .route("/slack/commands", post(slack::commands))
        .route("/discord/interactions", post(discord::interactions))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TraceLayer::new_for_http())
        // Outermost: the request span encloses everything else's logs.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::observe,
        ))
        .with_state(state)
}

/// A queue listing (`tickets` fetched with one more than `limit`, to tell there are more): a
/// heading and one line per ticket, each linking its card on the card's own surface. The
/// surface answering renders it (and escapes the customers' names).
/// Tickets a queue listing reads to pick the most urgent from (by SLA due time); the listing
/// shows the first of them.
pub(crate) const QUEUE_SORT_WINDOW: i64 = 500;

pub(crate) async fn queue_listing(
    svc: &Services,
    name: &str,
    tickets: &[crate::core::Ticket],
    limit: i64,
) -> Result<crate::core::Rich, Refusal> {
    use crate::core::{Rich, Surface, text};
    let shown = tickets.len().min(limit as usize);
    let more = tickets.len() > shown;
    let mut lines = vec![text::queue_heading(name, shown, more)];
    // The most urgent response first (the soonest due, overdue on top); the rest as listed.
    let now = chrono::Utc::now();
    let mut tickets: Vec<&crate::core::Ticket> = tickets.iter().collect();
    tickets.sort_by_key(|t| {
        let due = t.state.sla.and_then(|c| c.due);
        (due.is_none(), due)
    });
    for t in tickets.into_iter().take(shown) {
        let card = svc
            .store
            .card_of(t.id)
            .await
            .map_err(|e| Refusal::internal("cannot find a card", e))?;
        let link = card.map(|c| match c.surface {
            Surface::Slack => crate::chat::slack::render::card_link(&c),
            Surface::Discord => crate::chat::discord::render::card_link(&c),
        });
        let account = svc
            .account(t.state.network, t.state.account.as_str())
            .map(|p| p.name)
            .unwrap_or_else(|| t.state.account.to_string());
        let headline = text::card_headline(t.state.network, t.state.kind, &account);
        let mut line = text::queue_line(
            t.state.status,
            link.as_deref(),
            &headline,
            &t.state.customer_name(),
        );
        if let Some(clock) = &t.state.sla
            && let Some(standing) = crate::core::sla::standing(clock, now)
        {
            line = line.then(text::queue_sla(clock.target, &standing, now));
        }
        lines.push(line);
    }
    Ok(Rich::join(lines, "\n"))
}

/// `queue mine` reminds a teammate marked away that round-robin skips them.
pub(crate) async fn away_reminder(
    svc: &Services,
    me: &crate::core::Teammate,
    queue: crate::core::filter::Queue,
    listing: crate::core::Rich,
) -> Result<crate::core::Rich, Refusal> {
    use crate::core::{Rich, text};
    if queue != crate::core::filter::Queue::Mine {
        return Ok(listing);
    }
    let away = svc
        .store
        .is_away(me)
        .await
        .map_err(|e| Refusal::internal("cannot read an away flag", e))?;
    Ok(if away {
        Rich::ours(text::AWAY_REMINDER)
            .then("\n")
            .then_rich(listing)
    } else {
        listing
    })
}

/// The answer to `stats` typed as `words` (ephemeral on every surface): the statistics of the
/// tickets `route` admits (`None`: every ticket, for an admin), or why the words cannot be
/// read (nothing is queried then). `mention` is how the surface writes a teammate.
pub(crate) async fn stats_answer(
    svc: &Services,
    words: &[&str],
    route: Option<crate::core::filter::RouteMatch>,
    command: &str,
    mention: &(dyn Fn(&crate::core::Teammate) -> Option<String> + Sync),
    hours: Option<crate::core::hours::Schedule>,
) -> Result<crate::core::Rich, Refusal> {
    use crate::core::{stats, text};
    let teams = svc.config.team_names();
    let args = match stats::parse_args(words, &teams) {
        Ok(args) => args,
        Err(e) => return Ok(text::stats_refused(&e.to_string(), command)),
    };
    let filter = crate::core::filter::Filter {
        network: args.network,
        assignee: args
            .team_key()
            .map(|k| crate::core::filter::AssigneeMatch::AnyOf(vec![k])),
        route,
        ..Default::default()
    };
    // In the channel's business hours (its zone's days, open time only), when it has them;
    // UTC days and wall-clock time otherwise.
    let tz = hours.as_ref().map_or(chrono_tz::Tz::UTC, |h| h.tz);
    let period = args.period.resolve(chrono::Utc::now(), tz);
    let figures = svc
        .store
        .team_stats(period, &filter, hours.as_ref())
        .await
        .map_err(|e| Refusal::internal("cannot compute statistics", e))?;
    let scope = text::StatsScope {
        network: args.network,
        team: args.team.as_deref(),
    };
    Ok(text::stats_report(
        &figures,
        scope,
        &|t| mention(t).map(crate::core::Rich::ours),
        text::STATS_TEAMMATES_SHOWN,
    ))
}

/// The `accounts` listing: every connected account with its health. The surface answering
/// renders it (and escapes the accounts' names).
pub(crate) async fn accounts_listing(svc: &Services) -> Result<crate::core::Rich, Refusal> {
    use crate::core::text;
    let accounts = svc
        .store
        .accounts()
        .await
        .map_err(|e| Refusal::internal("cannot list accounts", e))?;
    let lines: Vec<text::AccountLine<'_>> = accounts
        .iter()
        .map(|a| text::AccountLine {
            id: a.id,
            network: a.network,
            name: &a.name,
            unhealthy: a.unhealthy.as_deref(),
            last_error: a.last_error.as_deref(),
        })
        .collect();
    Ok(text::accounts_listing(&lines))
}

/// The network a `connect` command names, when this server connects its accounts from chat;
/// otherwise how `connect` is used here.
pub(crate) fn connectable(svc: &Services, word: &str) -> Result<crate::core::Network, String> {
    let here = svc.networks.connectable();
    word.trim()
        .to_ascii_lowercase()
        .parse::<crate::core::Network>()
        .ok()
        .filter(|n| here.contains(n))
        .ok_or_else(|| crate::core::text::connect_usage(&here))
}

/// A refusal the caller can act on: status plus a one-line reason, as JSON.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub reason: String,
}

impl Refusal {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }

    /// An internal failure: logged with its cause chain, the caller gets a generic 500 (the
    /// platform will redeliver; nothing was acknowledged).
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; the event was not stored, please redeliver",
        )
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({ "error": self.reason }))).into_response()
    }
}
