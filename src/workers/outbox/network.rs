//! The outbox's network effects (replies, moderation), for every network alike: the
//! ticket's connector is looked up in the registry and called as the ticket's account, with a
//! token from the account's credentials. Nothing here knows a network: refusals come back as
//! [`ConnectorError`]s, which become retries (within the time budget) or decisions the
//! teammates see (a failed reply, a moderation undone on the card).

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::Utc;
use secrecy::SecretString;
use tracing::{info, warn};

use super::{Outcome, token_alert_key};
use crate::accounts::{Account, Credentials};
use crate::core::capabilities::{ReplyRefusal, check_reply};
use crate::core::{
    Delivery, Event, FailureReason, MessageKey, Moderation, Network, NetworkItemId, Ticket,
};
use crate::networks::{Call, ConnectorError, TokenError};
use crate::store::{Consumes, Job};
use crate::workers::Services;
use crate::workers::apply::{Lookup, apply};

/// A usable token for `account`, and the version of the stored credentials it came from
/// (connected accounts); `force` after the network refused the last one. A connected
/// account whose refresh the provider refused as dead turns unhealthy (its polling stops and
/// its channel is told once) and the call fails with [`FailureReason::TokenExpired`].
async fn token(
    svc: &Services,
    account: &Account,
    force: bool,
) -> Result<(SecretString, Option<i64>), ConnectorError> {
    match &account.credentials {
        // A pasted token cannot be refreshed: refused means renew it in the configuration.
        Credentials::Configured(_) if force => {
            Err(ConnectorError::Permanent(FailureReason::TokenExpired))
        }
        Credentials::Configured(token) => Ok((token.clone(), None)),
        Credentials::Missing => Err(ConnectorError::Permanent(
            FailureReason::AccountNotConfigured,
        )),
        Credentials::Connected { .. } => {
            let retry = |reason: String| ConnectorError::Transient {
                retry_after: None,
                reason,
            };
            // By the network's own id, not a cached record id: a reconnect elsewhere (another
            // replica, the CLI) may have replaced the record.
            let stored = svc
                .store
                .account_by_network_id(account.network, account.id.as_str())
                .await
                .map_err(|e| retry(format!("cannot read the account: {e}")))?
                .ok_or(ConnectorError::Permanent(
                    FailureReason::AccountNotConfigured,
                ))?;
            let Some(tokens) = svc.tokens.as_ref() else {
                return Err(ConnectorError::Permanent(
                    FailureReason::AccountNotConfigured,
                ));
            };
            match tokens.access_token(&stored, force).await {
                Ok(t) => Ok((t, Some(stored.credentials_version))),
                Err(TokenError::Dead(reason)) => {
                    dead(svc, stored.id, stored.credentials_version, &reason).await;
                    Err(ConnectorError::Permanent(FailureReason::TokenExpired))
                }
                Err(TokenError::Transient(why)) => Err(retry(why)),
            }
        }
    }
}

/// The same as a poll finding the grant dead: polling stops, the channel is told once.
async fn dead(svc: &Services, record: i64, version: i64, reason: &str) {
    if let Err(e) = svc
        .store
        .mark_credentials_dead(record, version, reason)
        .await
    {
        warn!(error = %e, "cannot mark an account unhealthy");
    }
}

/// Run `op` with a token for `account`: a refused token is refreshed once (connected
/// accounts) and the call made again; refused again, it has expired (and a connected
/// account turns unhealthy).
async fn with_token<T, F, Fut>(
    svc: &Services,
    account: &Account,
    op: F,
) -> Result<T, ConnectorError>
where
    F: Fn(SecretString) -> Fut,
    Fut: Future<Output = Result<T, ConnectorError>>,
{
    let mut force = false;
    loop {
        let (token, version) = token(svc, account, force).await?;
        return match op(token).await {
            Err(ConnectorError::Unauthorized) if !force && account.is_connected() => {
                force = true;
                continue;
            }
            Err(ConnectorError::Unauthorized) => {
                // Refused just after a refresh: the grant is dead. The refresh stored a new
                // version of the credentials, so the version is read again (a reconnect since
                // would have to fall between the refresh and this refusal).
                if version.is_some()
                    && let Ok(Some(stored)) = svc
                        .store
                        .account_by_network_id(account.network, account.id.as_str())
                        .await
                {
                    let reason = "the network refused a freshly refreshed access token";
                    dead(svc, stored.id, stored.credentials_version, reason).await;
                }
                Err(ConnectorError::Permanent(FailureReason::TokenExpired))
            }
            other => other,
        };
    }
}

/// A failure worth retrying, as the outbox retries it.
fn retry(e: ConnectorError) -> Outcome {
    match e {
        ConnectorError::Transient {
            retry_after,
            reason,
        } => Outcome::Retry {
            after: retry_after,
            error: reason,
            rate_limited: false,
        },
        ConnectorError::RateLimited {
            retry_after,
            reason,
        } => Outcome::Retry {
            after: retry_after,
            error: reason,
            rate_limited: true,
        },
        // Out of quota: wait for the provider's reset (the time budget still bounds it).
        ConnectorError::Exhausted { until, reason } => Outcome::Retry {
            after: Some((until - Utc::now()).to_std().unwrap_or(Duration::ZERO)),
            error: reason,
            rate_limited: true,
        },
        // `with_token` turns these into permanent failures; kept total for safety.
        ConnectorError::Unauthorized => Outcome::Fail("the access token was refused".into()),
        ConnectorError::Permanent(reason) => Outcome::Fail(format!("{reason:?}")),
    }
}

/// Charge what calls on a polled network cost to its shared quota (its polls are scheduled
/// by what is left).
async fn charge(svc: &Services, network: Network, units: u32) {
    let Some(polled) = svc.networks.polled(network) else {
        return;
    };
    if units == 0 || polled.quota_plan().is_none() {
        return;
    }
    let now = Utc::now();
    let reset = polled.quota_reset(now);
    if let Err(e) = svc
        .store
        .charge_quota(network, reset, i64::from(units), now)
        .await
    {
        warn!(error = %e, "cannot count the quota a call spent");
    }
}

/// Why a reply that passed its checks when queued cannot go out now.
fn refusal_reason(refusal: ReplyRefusal) -> FailureReason {
    match refusal {
        ReplyRefusal::NotSupported => FailureReason::NotSupported,
        ReplyRefusal::OutsideWindow(_) => FailureReason::OutsideWindow,
        ReplyRefusal::TooLong(e) => FailureReason::TooLong {
            length: e.length,
            max: e.limit.max,
            bytes: e.limit.unit == crate::core::limits::LengthUnit::Bytes,
        },
    }
}

/// The first of `candidates` no reply of ours is recorded with: a reply an unanswered
/// attempt of `key` posted (another ticket's reply with the same text is not it).
async fn unclaimed(
    svc: &Services,
    key: &MessageKey,
    candidates: Vec<NetworkItemId>,
) -> anyhow::Result<Option<NetworkItemId>> {
    for id in candidates {
        match svc.store.reply_by_network_id(&id).await? {
            Some(m) if m.key != *key => continue,
            _ => return Ok(Some(id)),
        }
    }
    Ok(None)
}

/// Send a teammate's reply to the network, under `reply_to` (the customer's item it answers;
/// `None` in older jobs: the ticket's latest); its outcome is a decision (delivered, failed).
pub(super) async fn send_reply(
    svc: &Services,
    job: &Job,
    ticket: &Ticket,
    account: &Account,
    key: &MessageKey,
    reply_to: Option<&NetworkItemId>,
) -> anyhow::Result<Outcome> {
    let Some(msg) = svc.store.message(key).await? else {
        return Ok(Outcome::Fail(format!("reply {key} not found")));
    };
    if msg.delivery != Some(Delivery::Queued) {
        // Already settled by an earlier attempt whose bookkeeping was recorded.
        return Ok(Outcome::Done(vec![]));
    }
    // No teammate: an automatic reply (see `core::autoreply`).
    let teammate = msg.teammate.clone();
    let lookup = Lookup::Id(ticket.id);
    let fail = |reason| Event::ReplyFailed {
        key: key.clone(),
        reason,
    };
    let Some(connector) = svc.networks.get(ticket.state.network).cloned() else {
        let event = fail(FailureReason::AccountNotConfigured);
        apply(svc, &lookup, &event, Consumes::Job(job.claim())).await?;
        return Ok(Outcome::Consumed { delivered: false });
    };
    // Checked again at sending time: the undo window may have crossed the window's end, or
    // an edit in it made the reply too long.
    let caps = connector.capabilities(ticket.state.kind);
    if let Err(refusal) = check_reply(ticket, &caps, &msg.text, Utc::now()) {
        let event = fail(refusal_reason(refusal));
        apply(svc, &lookup, &event, Consumes::Job(job.claim())).await?;
        return Ok(Outcome::Consumed { delivered: false });
    }
    let reply_to = reply_to.unwrap_or(&ticket.state.reply_to);
    // An earlier attempt may have been carried out without an answer (a timeout, a 5xx):
    // where the network can tell, look for the reply it made before posting another.
    let retrying = job.attempts > 1;
    let since = job.created_at - super::LOOK_BACK_MARGIN;
    let polled = svc.networks.polled(ticket.state.network);
    let units = AtomicU32::new(0);
    let result = with_token(svc, account, |token| {
        let connector = connector.clone();
        let text = msg.text.clone();
        let units = &units;
        async move {
            let call = Call {
                account: &account.id,
                token: &token,
                now: Utc::now(),
            };
            if retrying {
                match connector
                    .find_reply(call, ticket, reply_to, &text, since)
                    .await
                {
                    Ok((candidates, spent)) => {
                        units.fetch_add(spent, Ordering::Relaxed);
                        match unclaimed(svc, key, candidates).await {
                            Ok(Some(id)) => {
                                info!(reply = %id, "reply found from an earlier attempt");
                                return Ok(id);
                            }
                            Ok(None) => {}
                            Err(e) => {
                                return Err(ConnectorError::Transient {
                                    retry_after: None,
                                    reason: format!("cannot read our replies: {e:#}"),
                                });
                            }
                        }
                    }
                    // The lookup is refused for good: send it.
                    Err(ConnectorError::Permanent(_)) => {}
                    // The network still unwell: looking again later beats a second copy.
                    Err(e) => return Err(e),
                }
            }
            units.fetch_add(polled.map_or(0, |p| p.reply_units()), Ordering::Relaxed);
            connector.reply(call, ticket, reply_to, &text).await
        }
    })
    .await;
    charge(svc, ticket.state.network, units.into_inner()).await;
    let event = match result {
        Ok(id) => {
            info!(reply = %id, as_account = %account.id, "reply delivered");
            // Bookkeeping only: the reply is out, so a failure here must not retry the job
            // (that would look for, or send, the reply again).
            if let Err(e) = remember_success(svc, ticket, account).await {
                warn!(error = %e, "reply bookkeeping failed");
            }
            Event::ReplyDelivered {
                key: key.clone(),
                network_item_id: id,
                teammate,
                account: (account.id != ticket.state.account).then(|| account.id.clone()),
            }
        }
        Err(ConnectorError::Permanent(reason)) => {
            warn!(?reason, "reply refused by the network");
            fail(reason)
        }
        Err(e) => return Ok(retry(e)),
    };
    let delivered = matches!(event, Event::ReplyDelivered { .. });
    apply(svc, &lookup, &event, Consumes::Job(job.claim())).await?;
    Ok(Outcome::Consumed { delivered })
}

/// After a delivered reply: the token works again (a later expiry alerts again), and this
/// account becomes the profile last used on its network in the ticket's channel.
async fn remember_success(
    svc: &Services,
    ticket: &Ticket,
    account: &Account,
) -> anyhow::Result<()> {
    // The alert is keyed by the ticket's own account: only its token working says anything.
    if account.id == ticket.state.account {
        svc.store.forget(&token_alert_key(ticket)).await?;
    }
    let owner = svc.account(ticket.state.network, ticket.state.account.as_str());
    if let Some(to) = owner
        .as_ref()
        .and_then(|o| svc.config.destination_for(&ticket.state, o))
    {
        let (surface, channel) = crate::workers::profiles::channel_key(&to);
        svc.store
            .note_reply_profile(
                surface,
                &channel,
                ticket.state.network,
                &account.id,
                Utc::now(),
            )
            .await?;
    }
    Ok(())
}

/// Carry out a moderation action on `item` (`None` in older jobs: the ticket's item, or the
/// reply of ours being deleted); a refusal undoes it on the card.
pub(super) async fn moderate(
    svc: &Services,
    job: &Job,
    ticket: &Ticket,
    account: &Account,
    action: Moderation,
    item: Option<&NetworkItemId>,
) -> anyhow::Result<Outcome> {
    let lookup = Lookup::Id(ticket.id);
    let s = &ticket.state;
    let item = match (item, action) {
        (Some(item), _) => Some(item),
        (None, Moderation::DeleteReply) => s.moderation.reply_deleted.as_ref(),
        (None, _) => Some(&s.first_item),
    };
    let units = AtomicU32::new(0);
    let result = match (svc.networks.get(s.network).cloned(), item) {
        (None, _) => Err(ConnectorError::Permanent(
            FailureReason::AccountNotConfigured,
        )),
        (_, None) => Err(ConnectorError::Permanent(FailureReason::NotSupported)),
        (Some(connector), Some(item)) => {
            let cost = svc
                .networks
                .polled(s.network)
                .map_or(0, |p| p.moderation_units(action));
            with_token(svc, account, |token| {
                let connector = connector.clone();
                let units = &units;
                async move {
                    let call = Call {
                        account: &account.id,
                        token: &token,
                        now: Utc::now(),
                    };
                    units.fetch_add(cost, Ordering::Relaxed);
                    connector.moderate(call, ticket, action, item).await
                }
            })
            .await
        }
    };
    charge(svc, s.network, units.into_inner()).await;
    match result {
        Ok(()) => {
            info!(?action, "moderation done");
            Ok(Outcome::Done(vec![]))
        }
        Err(ConnectorError::Permanent(reason)) => {
            warn!(?action, ?reason, "moderation refused by the network");
            let event = Event::ModerationFailed { action, reason };
            apply(svc, &lookup, &event, Consumes::Job(job.claim())).await?;
            Ok(Outcome::Consumed { delivered: false })
        }
        Err(e) => Ok(retry(e)),
    }
}
