//! The outbox worker: claims due jobs (the oldest of each lane), performs them against Slack
//! and the networks, and records the outcome. Retries back off exponentially, honour
//! Retry-After, and end in a visible failure: a failed reply is shown on the teammate's
//! message, in the thread and on the card; any other failed job is logged as an error and
//! listed by `switchboard outbox failed` and `/readyz`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::future::join_all;
use tokio::sync::watch;
use tracing::{Instrument, error, info, info_span, warn};

use crate::chat::slack::{SlackCallError, render};
use crate::core::card::CardView;
use crate::core::decide::{AssigneeNotice, Mark};
use crate::core::window::{Window, window};
use crate::core::{
    Assignee, ChatRef, Delivery, Effect, Event, FailureReason, MessageKey, Rich, Surface, text,
};
use crate::core::{ItemKind, Moderation, Network};
use crate::networks::meta::GraphError;
use crate::networks::meta::{MessageTag, SendAs, WhatsappRecipient};
use crate::store::{ChatRole, Consumes, Job, JobRecord};

use super::apply::{Applied, Lookup, apply};
use crate::config::Destination;

mod discord;
use super::{Services, backoff};

/// How a delivery attempt ended.
#[derive(Debug)]
enum Outcome {
    /// Done; record these facts with the job.
    Done(Vec<JobRecord>),
    /// A decision consumed the job already (reply delivered / failed).
    Consumed,
    /// Not a failure: try again at the given time (pacing, waiting for the card).
    Wait(Duration, &'static str),
    /// A failure worth retrying (`after`: the server's Retry-After).
    Retry {
        after: Option<Duration>,
        error: String,
        rate_limited: bool,
    },
    /// A failure retrying will not fix.
    Fail(String),
}

/// Per-channel pacing of `chat.postMessage` (per process).
pub struct Pacer {
    gap: Duration,
    next: Mutex<HashMap<String, Instant>>,
}

impl Pacer {
    pub fn new(gap: Duration) -> Self {
        Self {
            gap,
            next: Mutex::new(HashMap::new()),
        }
    }

    /// Take the channel's next slot, or say how long to wait for it.
    fn take(&self, channel: &str) -> Result<(), Duration> {
        if self.gap.is_zero() {
            return Ok(());
        }
        let now = Instant::now();
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        match next.get(channel) {
            Some(at) if *at > now => Err(*at - now),
            _ => {
                next.insert(channel.to_string(), now + self.gap);
                Ok(())
            }
        }
    }
}

/// The recorded error of a rate-limited Slack call (Slack refused it: nothing happened).
const SLACK_RATE_LIMITED: &str = "Slack rate limit";

/// How long a job waits (not an attempt) before looking again for a card being re-posted.
const CARD_WAIT: Duration = Duration::from_millis(500);

/// The worker: up to `outbox.batch_size` jobs in flight, lanes independent (see
/// [`super::run_pool`]).
pub async fn run(svc: Arc<Services>, shutdown: watch::Receiver<bool>) {
    let poll = Duration::from_millis(svc.config.outbox.poll_ms);
    let capacity = usize::try_from(svc.config.outbox.batch_size).unwrap_or(1);
    let work_svc = svc.clone();
    super::run_pool(
        "outbox",
        &svc.wake_outbox,
        poll,
        capacity,
        shutdown,
        |free| claim(&svc, free as i64),
        move |job: Job| {
            let svc = work_svc.clone();
            let span = job_span(&job);
            async move { run_job(&svc, job).await }.instrument(span)
        },
    )
    .await;
}

async fn claim(svc: &Services, limit: i64) -> anyhow::Result<Vec<Job>> {
    Ok(svc
        .store
        .claim_jobs(
            limit,
            Utc::now(),
            chrono::Duration::seconds(svc.config.outbox.lease_secs),
        )
        .await?)
}

fn job_span(job: &Job) -> tracing::Span {
    info_span!("job", id = job.id, ticket = %job.ticket, attempt = job.attempts)
}

/// Claim and deliver one batch concurrently, waiting for all of it; returns how many jobs
/// were handled. For tests and benchmarks that drive the worker step by step.
pub async fn process_batch(svc: &Services) -> anyhow::Result<usize> {
    let jobs = claim(svc, svc.config.outbox.batch_size).await?;
    let n = jobs.len();
    join_all(jobs.into_iter().map(|job| {
        let span = job_span(&job);
        run_job(svc, job).instrument(span)
    }))
    .await;
    Ok(n)
}

/// How long one job may run: its lease less the margin, so that no other worker can claim
/// it while this one is still at work.
fn job_deadline(svc: &Services) -> Duration {
    let lease = Duration::from_secs(svc.config.outbox.lease_secs.max(1) as u64);
    lease
        .saturating_sub(Duration::from_secs(crate::config::LEASE_MARGIN_SECS))
        .max(svc.config.http.timeout())
}

async fn run_job(svc: &Services, job: Job) {
    let outcome = match tokio::time::timeout(job_deadline(svc), deliver(svc, &job)).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => Outcome::Retry {
            after: None,
            error: format!("{e:#}"),
            rate_limited: false,
        },
        Err(_) => Outcome::Retry {
            after: None,
            error: "the delivery did not finish before its deadline".into(),
            rate_limited: false,
        },
    };
    if let Err(e) = settle(svc, &job, outcome).await {
        // The lease expires and the job runs again.
        error!(error = format!("{e:#}"), "cannot record job outcome");
    }
}

/// Record how a job ended, under its claim: a worker whose claim went stale (its lease ran
/// out and another worker took the job) records nothing.
async fn settle(svc: &Services, job: &Job, outcome: Outcome) -> anyhow::Result<()> {
    let now = Utc::now();
    let cfg = &svc.config.outbox;
    let claim = job.claim();
    let recorded = match outcome {
        Outcome::Done(records) => {
            let posted_card = records.iter().any(|r| {
                matches!(
                    r,
                    JobRecord::LinkChat {
                        role: ChatRole::Card,
                        ..
                    }
                )
            });
            let ok = svc.store.finish_job(claim, &records, now).await?;
            if ok && posted_card {
                // The channel is reachable: post what could not be posted earlier.
                repost_undelivered(svc, job).await?;
            }
            ok
        }
        Outcome::Consumed => true,
        Outcome::Wait(d, why) => {
            svc.store
                .retry_job(claim, now + chrono_dur(d), why, false)
                .await?
        }
        Outcome::Retry {
            after,
            error,
            rate_limited,
        } => {
            let spent = (now - job.budget_from).to_std().unwrap_or_default();
            if spent >= Duration::from_secs(cfg.retry_budget_secs) {
                let reason = if rate_limited {
                    FailureReason::RateLimited
                } else {
                    FailureReason::Other(error.clone())
                };
                give_up(svc, job, &error, reason).await?
            } else {
                let delay = backoff(
                    job.attempts,
                    Duration::from_millis(cfg.base_backoff_ms),
                    Duration::from_secs(cfg.max_backoff_secs),
                    after,
                );
                warn!(
                    error,
                    retry_in_ms = delay.as_millis() as u64,
                    "job will be retried"
                );
                svc.store
                    .retry_job(claim, now + chrono_dur(delay), &error, true)
                    .await?
            }
        }
        Outcome::Fail(error) => {
            give_up(svc, job, &error, FailureReason::Other(error.clone())).await?
        }
    };
    if !recorded {
        warn!("another worker holds this job now; its result here is discarded");
    }
    Ok(())
}

/// A network job that cannot succeed becomes a decision the teammates see: a reply turns
/// `ReplyFailed` (marks, thread, card), a moderation `ModerationFailed` (undone on the card).
/// Any other job is marked failed for operators; a card that could not be posted is also
/// remembered, so that its channel is told and the card posted once the channel works again.
/// False when the claim went stale.
async fn give_up(
    svc: &Services,
    job: &Job,
    error: &str,
    reason: FailureReason,
) -> anyhow::Result<bool> {
    let event = match &job.effect {
        Effect::SendReply { key, .. } => Some(Event::ReplyFailed {
            key: key.clone(),
            reason,
        }),
        Effect::Moderate { action } => Some(Event::ModerationFailed {
            action: *action,
            reason,
        }),
        _ => None,
    };
    if let Some(event) = event {
        match apply(
            svc,
            &Lookup::Id(job.ticket),
            &event,
            Consumes::Job(job.claim()),
        )
        .await?
        {
            Applied::Committed(_) | Applied::Unchanged => return Ok(true),
            Applied::AlreadyConsumed => return Ok(false),
            Applied::NoTicket | Applied::Rejected(_) => {}
        }
    }
    error!(error, effect = ?job.effect, "giving up on job");
    // Remembered first: a crash before the job is marked failed leaves a record of a card
    // that may still get posted (harmless), never a failed card nobody re-posts.
    if job.effect == Effect::PostCard
        && let Some((surface, channel)) = card_destination(svc, job.ticket).await?
    {
        svc.store
            .record_undelivered_card(job.ticket, surface, &channel, Utc::now())
            .await?;
    }
    svc.store
        .fail_job(job.claim(), error, Utc::now())
        .await
        .map_err(Into::into)
}

/// Where a ticket's card goes (surface and channel id), from its route.
async fn card_destination(
    svc: &Services,
    ticket: crate::core::TicketId,
) -> anyhow::Result<Option<(Surface, String)>> {
    let Some(ticket) = svc.store.ticket(ticket).await? else {
        return Ok(None);
    };
    let Some(page) = svc
        .account_fresh(ticket.state.network, ticket.state.account.as_str())
        .await?
    else {
        return Ok(None);
    };
    Ok(match svc.config.destination_for(&ticket.state, &page) {
        Some(Destination::Slack { channel }) => Some((Surface::Slack, channel.to_string())),
        Some(Destination::Discord { channel, .. }) => Some((Surface::Discord, channel.id.clone())),
        None => None,
    })
}

/// A card was just posted for `job.ticket`: its channel works. Cards that gave up there
/// earlier are queued again, and the channel is told which (once: the records are taken).
/// Records are kept by destination (a forum's id, not the post's), as `give_up` wrote them.
async fn repost_undelivered(svc: &Services, job: &Job) -> anyhow::Result<()> {
    let Some((surface, channel)) = card_destination(svc, job.ticket).await? else {
        return Ok(());
    };
    // The re-posts and the explanation (a job like any other: retried, never lost; it follows
    // the card) are queued in the same transaction that forgets the records.
    let lost = svc
        .store
        .requeue_undelivered_cards(surface, &channel, job.ticket, Utc::now())
        .await?;
    if lost.is_empty() {
        return Ok(());
    }
    svc.wake_outbox.notify_one();
    Ok(())
}

/// Post the late-cards notice in the ticket's channel (a forum takes posts, not messages:
/// there it goes in the ticket's own post).
async fn cards_posted_late(
    svc: &Services,
    ticket: crate::core::TicketId,
    tickets: &[crate::core::TicketId],
) -> anyhow::Result<Outcome> {
    let Some(card) = svc.store.card_of(ticket).await? else {
        return card_missing(svc, ticket).await;
    };
    let notice = text::cards_posted_late(tickets);
    Ok(match card.surface {
        Surface::Slack => {
            let Some((_, channel)) = card_destination(svc, ticket).await? else {
                return Ok(Outcome::Fail("the ticket has no destination".into()));
            };
            if let Err(wait) = svc.pacer.take(&channel) {
                return Ok(Outcome::Wait(wait, "channel pacing"));
            }
            done_or_failure(
                svc.slack
                    .post_message(&channel, None, render::plain(&notice))
                    .await,
            )
        }
        Surface::Discord => match &svc.discord {
            Some(d) => discord::done(
                d.create_message(&card.channel, &crate::chat::discord::render::plain(&notice))
                    .await,
            ),
            None => Outcome::Fail("Discord is not configured".into()),
        },
    })
}

/// A chat effect found no card (its post gave up, or never ran): queue the card post once,
/// in its own lane, and wait for it (a wait is not an attempt). If that post gave up too,
/// this job fails visibly instead of counting as done.
async fn card_missing(svc: &Services, ticket: crate::core::TicketId) -> anyhow::Result<Outcome> {
    let lane = crate::store::repost_lane(ticket);
    if svc.store.lane_pending(&lane).await? {
        return Ok(Outcome::Wait(
            CARD_WAIT,
            "waiting for the card to be posted",
        ));
    }
    if svc
        .store
        .enqueue_job_once(
            &format!("card-repost:{ticket}"),
            ticket,
            &lane,
            &Effect::PostCard,
            Utc::now(),
        )
        .await?
    {
        warn!("no card for this ticket: posting it first");
        svc.wake_outbox.notify_one();
        return Ok(Outcome::Wait(
            CARD_WAIT,
            "waiting for the card to be posted",
        ));
    }
    Ok(Outcome::Fail(
        "the ticket's card could not be posted, so this could not be shown".into(),
    ))
}

async fn deliver(svc: &Services, job: &Job) -> anyhow::Result<Outcome> {
    let Some(ticket) = svc.store.ticket(job.ticket).await? else {
        return Ok(Outcome::Fail("the ticket no longer exists".into()));
    };
    let account = ticket.state.account.as_str();
    let Some(page) = svc.account_fresh(ticket.state.network, account).await? else {
        return Ok(Outcome::Fail(format!(
            "account {account} is not configured"
        )));
    };
    let page = &page;
    let team = svc.config.slack.team_id.clone();
    // Network effects are the same for every surface; chat effects go to the card's surface.
    match &job.effect {
        Effect::SendReply { .. } | Effect::Moderate { .. } => {}
        Effect::CardsPostedLate { tickets } => {
            return cards_posted_late(svc, ticket.id, tickets).await;
        }
        Effect::PostCard => {
            if svc.store.card_of(ticket.id).await?.is_some() {
                return Ok(Outcome::Done(vec![]));
            }
            // One card post at a time per ticket: a re-post queued meanwhile (its own lane)
            // goes first, and this one then finds the card.
            let repost = crate::store::repost_lane(ticket.id);
            if job.lane != repost && svc.store.lane_pending(&repost).await? {
                return Ok(Outcome::Wait(
                    CARD_WAIT,
                    "a re-post of this card is under way",
                ));
            }
            if let Some(Destination::Discord { guild, channel }) =
                svc.config.destination_for(&ticket.state, page)
            {
                return discord::post_card(svc, &ticket, page, guild, channel).await;
            }
        }
        _ => {
            if let Some(card) = svc.store.card_of(ticket.id).await?
                && card.surface == Surface::Discord
            {
                return discord::deliver(svc, job, &ticket, page, card).await;
            }
        }
    }
    match &job.effect {
        Effect::PostCard => {
            let Some(Destination::Slack { channel }) =
                svc.config.destination_for(&ticket.state, page)
            else {
                return Ok(Outcome::Fail(format!(
                    "account {account} has no usable destination"
                )));
            };
            let channel = channel.to_string();
            if let Err(wait) = svc.pacer.take(&channel) {
                return Ok(Outcome::Wait(wait, "channel pacing"));
            }
            let link = |ts: String| JobRecord::LinkChat {
                chat: ChatRef {
                    surface: Surface::Slack,
                    workspace: team.clone(),
                    channel: channel.clone(),
                    message: ts,
                },
                role: ChatRole::Card,
                message: None,
            };
            if job.attempts > 1 && job.last_error.as_deref() != Some(SLACK_RATE_LIMITED) {
                // An earlier attempt may have been carried out without an answer (a stall
                // past its deadline, a 5xx): look for the card it made before posting another.
                // A rate-limited attempt was refused, so there is nothing to look for.
                let since = job.created_at - chrono::Duration::minutes(1);
                match svc.slack.find_card(&channel, ticket.id.0, since).await {
                    Ok(Some(ts)) => {
                        info!(%channel, ts, "card found from an earlier attempt");
                        return Ok(Outcome::Done(vec![link(ts)]));
                    }
                    Ok(None) => {}
                    // History not readable (a missing scope): post, as without the lookup.
                    Err(e @ SlackCallError::Permanent { .. }) => {
                        warn!(error = %e, "cannot look for an earlier card; posting")
                    }
                    // Slack still unwell: looking again later is safer than a second card.
                    Err(e) => return Ok(slack_failure(e)),
                }
            }
            let content = render::card_for(ticket.id, &card_view(svc, &ticket, &page.name));
            Ok(
                match svc.slack.post_message(&channel, None, content).await {
                    Ok(ts) => {
                        info!(%channel, ts, "card posted");
                        Outcome::Done(vec![link(ts)])
                    }
                    Err(e) => slack_failure(e),
                },
            )
        }
        Effect::UpdateCard => {
            let Some(card) = svc.store.card_of(ticket.id).await? else {
                return card_missing(svc, ticket.id).await;
            };
            let content = render::card(&card_view(svc, &ticket, &page.name));
            Ok(
                match svc
                    .slack
                    .update_message(&card.channel, &card.message, content)
                    .await
                {
                    Ok(()) => Outcome::Done(vec![]),
                    Err(e) => slack_failure(e),
                },
            )
        }
        Effect::PostThreadMessage { key, broadcast } => {
            let Some(card) = svc.store.card_of(ticket.id).await? else {
                return card_missing(svc, ticket.id).await;
            };
            let Some(msg) = svc.store.message(key).await? else {
                return Ok(Outcome::Fail(format!("message {key} not found")));
            };
            if svc.store.chat_of_message(key).await?.is_some() {
                return Ok(Outcome::Done(vec![]));
            }
            if let Err(wait) = svc.pacer.take(&card.channel) {
                return Ok(Outcome::Wait(wait, "channel pacing"));
            }
            let author = ticket.state.customer_name();
            let content =
                render::thread_customer_message(&author, &msg.text, msg.edited, msg.deleted);
            // Broadcast ("also send to channel") is how the channel is notified.
            let posted = if *broadcast {
                svc.slack
                    .post_message_broadcast(&card.channel, &card.message, content)
                    .await
            } else {
                svc.slack
                    .post_message(&card.channel, Some(&card.message), content)
                    .await
            };
            Ok(match posted {
                Ok(ts) => Outcome::Done(vec![JobRecord::LinkChat {
                    chat: ChatRef {
                        message: ts,
                        ..card
                    },
                    role: ChatRole::ThreadMessage,
                    message: Some(key.clone()),
                }]),
                Err(e) => slack_failure(e),
            })
        }
        Effect::UpdateThreadMessage { key } => {
            let (Some(chat), Some(msg)) = (
                svc.store.chat_of_message(key).await?,
                svc.store.message(key).await?,
            ) else {
                return Ok(Outcome::Done(vec![]));
            };
            let author = ticket.state.customer_name();
            let content =
                render::thread_customer_message(&author, &msg.text, msg.edited, msg.deleted);
            Ok(
                match svc
                    .slack
                    .update_message(&chat.channel, &chat.message, content)
                    .await
                {
                    Ok(()) => Outcome::Done(vec![]),
                    Err(e) => slack_failure(e),
                },
            )
        }
        Effect::SendReply { key, .. } => send_reply(svc, job, &ticket, page, key).await,
        Effect::PostReplyCopy { key } => {
            let Some(card) = svc.store.card_of(ticket.id).await? else {
                return card_missing(svc, ticket.id).await;
            };
            let Some(msg) = svc.store.message(key).await? else {
                return Ok(Outcome::Fail(format!("reply {key} not found")));
            };
            if svc.store.chat_of_message(key).await?.is_some() {
                return Ok(Outcome::Done(vec![]));
            }
            if let Err(wait) = svc.pacer.take(&card.channel) {
                return Ok(Outcome::Wait(wait, "channel pacing"));
            }
            let who = msg
                .teammate
                .as_ref()
                .map(render::mention)
                .unwrap_or_default();
            let content = render::message(&text::modal_reply_copy(&who, &msg.text));
            Ok(
                match svc
                    .slack
                    .post_message(&card.channel, Some(&card.message), content)
                    .await
                {
                    Ok(ts) => Outcome::Done(vec![JobRecord::LinkChat {
                        chat: ChatRef {
                            message: ts,
                            ..card
                        },
                        role: ChatRole::ThreadMessage,
                        message: Some(key.clone()),
                    }]),
                    Err(e) => slack_failure(e),
                },
            )
        }
        Effect::NotifyAssignee { notice } => notify_assignee(svc, &ticket, page, notice).await,
        // Handled above for every surface.
        Effect::CardsPostedLate { tickets } => cards_posted_late(svc, ticket.id, tickets).await,
        Effect::Moderate { action } => moderate(svc, job, &ticket, page, *action).await,
        Effect::ShowDelivery { key, state } => {
            // A thread reply's marks sit on the teammate's message; a modal reply's on the
            // bot's copy of it.
            let own = svc.store.message(key).await?.and_then(|m| m.chat);
            let chat = match own {
                Some(c) => Some(c),
                None => svc.store.chat_of_message(key).await?,
            };
            let Some(chat) = chat else {
                return Ok(Outcome::Done(vec![]));
            };
            let (add, remove) = state.marks();
            if let Some(mark) = add
                && let Err(e) = svc
                    .slack
                    .add_reaction(&chat.channel, &chat.message, slack_reaction(mark))
                    .await
            {
                return Ok(slack_failure(e));
            }
            for mark in remove {
                if let Err(e) = svc
                    .slack
                    .remove_reaction(&chat.channel, &chat.message, slack_reaction(*mark))
                    .await
                {
                    return Ok(slack_failure(e));
                }
            }
            Ok(Outcome::Done(vec![]))
        }
        Effect::ExplainFailure { key } => {
            let Some(msg) = svc.store.message(key).await? else {
                return Ok(Outcome::Fail(format!("message {key} not found")));
            };
            let Some(Delivery::Failed(reason)) = &msg.delivery else {
                // Delivered after all (a later retry): nothing to explain.
                return Ok(Outcome::Done(vec![]));
            };
            let Some(card) = svc.store.card_of(ticket.id).await? else {
                return card_missing(svc, ticket.id).await;
            };
            if let Err(wait) = svc.pacer.take(&card.channel) {
                return Ok(Outcome::Wait(wait, "channel pacing"));
            }
            let who = msg
                .teammate
                .as_ref()
                .map(render::mention)
                .unwrap_or_else(|| "Teammate".to_string());
            let content = render::message(&text::reply_failed(&who, reason));
            // An expired token also alerts the account's channel, once (not per message).
            if *reason == FailureReason::TokenExpired {
                let once = token_alert_key(&ticket);
                if svc.store.first_time(&once, Utc::now()).await? {
                    let alert = text::token_alert(ticket.state.network, &page.name);
                    let channel = match svc.config.account_destination(page) {
                        Some(Destination::Slack { channel }) => channel,
                        _ => card.channel.as_str(),
                    };
                    if let Err(e) = svc
                        .slack
                        .post_message(channel, None, render::message(&alert))
                        .await
                    {
                        // Let the next failure try again.
                        svc.store.forget(&once).await?;
                        return Ok(slack_failure(e));
                    }
                }
            }
            Ok(done_or_failure(
                svc.slack
                    .post_message(&card.channel, Some(&card.message), content)
                    .await,
            ))
        }
    }
}

async fn send_reply(
    svc: &Services,
    job: &Job,
    ticket: &crate::core::Ticket,
    page: &crate::config::PageConfig,
    key: &MessageKey,
) -> anyhow::Result<Outcome> {
    let Some(msg) = svc.store.message(key).await? else {
        return Ok(Outcome::Fail(format!("reply {key} not found")));
    };
    if msg.delivery != Some(Delivery::Queued) {
        // Already settled by an earlier attempt whose bookkeeping was recorded.
        return Ok(Outcome::Done(vec![]));
    }
    let Some(teammate) = msg.teammate.clone() else {
        return Ok(Outcome::Fail(format!("reply {key} has no author")));
    };
    let lookup = Lookup::Id(ticket.id);
    // Polled networks reply through their connector, with the connected account's token.
    let polled = svc.polled.get(&ticket.state.network).cloned();
    let token = page.access_token.as_ref();
    if token.is_none() && polled.is_none() {
        let event = Event::ReplyFailed {
            key: key.clone(),
            reason: FailureReason::AccountNotConfigured,
        };
        apply(svc, &lookup, &event, Consumes::Job(job.claim())).await?;
        return Ok(Outcome::Consumed);
    }
    // Checked again at sending time: the undo window may have crossed the boundary.
    let window = window(ticket, Utc::now(), svc.config.meta.human_agent_tag);
    if !window.allows_reply() {
        let event = Event::ReplyFailed {
            key: key.clone(),
            reason: FailureReason::OutsideWindow,
        };
        apply(svc, &lookup, &event, Consumes::Job(job.claim())).await?;
        return Ok(Outcome::Consumed);
    }
    let s = &ticket.state;
    // Checked again too: an edit in the undo window may have made the reply too long.
    if let Err(e) = crate::core::limits::check_reply(s.network, s.kind, &msg.text) {
        let event = Event::ReplyFailed {
            key: key.clone(),
            reason: FailureReason::TooLong {
                length: e.length,
                max: e.limit.max,
                bytes: e.limit.unit == crate::core::limits::LengthUnit::Bytes,
            },
        };
        apply(svc, &lookup, &event, Consumes::Job(job.claim())).await?;
        return Ok(Outcome::Consumed);
    }
    let graph = &svc.graph;
    let result = match (polled, token) {
        (Some(connector), _) => polled_reply(svc, connector.as_ref(), ticket, &msg.text).await,
        (None, Some(token)) => graph_reply(graph, token, window, s, &msg.text).await,
        (None, None) => Err(GraphError::Permanent(FailureReason::AccountNotConfigured)),
    };
    let event = match result {
        Ok(id) => {
            info!(reply = %id, "reply delivered");
            // The token works again: a later expiry alerts again.
            svc.store.forget(&token_alert_key(ticket)).await?;
            Event::ReplyDelivered {
                key: key.clone(),
                network_item_id: id,
                teammate,
            }
        }
        Err(GraphError::Permanent(reason)) => {
            warn!(?reason, "reply refused by the network");
            Event::ReplyFailed {
                key: key.clone(),
                reason,
            }
        }
        Err(e) => return Ok(graph_retry(e)),
    };
    apply(svc, &lookup, &event, Consumes::Job(job.claim())).await?;
    Ok(Outcome::Consumed)
}

/// A reply on a Meta network, through the Graph API.
async fn graph_reply(
    graph: &crate::networks::meta::GraphClient,
    token: &secrecy::SecretString,
    window: Window,
    s: &crate::core::TicketState,
    text: &str,
) -> Result<crate::core::NetworkItemId, GraphError> {
    let msg_text = text;
    match (s.network, s.kind) {
        (Network::Facebook, ItemKind::DirectMessage) => {
            let tag = match window {
                Window::HumanAgent { .. } => MessageTag::HumanAgent,
                _ => MessageTag::None,
            };
            graph
                .send_message(
                    token,
                    SendAs::Page(s.account.as_str()),
                    s.customer.id.as_str(),
                    msg_text,
                    tag,
                )
                .await
        }
        // Facebook Login: the Page linked to the Instagram account sends, with its token.
        (Network::Instagram, ItemKind::DirectMessage) => {
            graph
                .send_message(
                    token,
                    SendAs::TokenPage,
                    s.customer.id.as_str(),
                    msg_text,
                    MessageTag::None,
                )
                .await
        }
        (Network::Instagram, _) => {
            graph
                .reply_to_instagram_comment(token, &s.reply_to, msg_text)
                .await
        }
        (Network::Whatsapp, _) => {
            graph
                .send_whatsapp_text(
                    token,
                    s.account.as_str(),
                    WhatsappRecipient::of(s.customer.id.as_str()),
                    msg_text,
                    None,
                )
                .await
        }
        // Comments, visitor posts, mentions: `POST /{id}/comments` under the latest item.
        (Network::Facebook, _) => graph.comment(token, &s.reply_to, msg_text).await,
        // Polled networks reply through their own connectors, not the Graph API.
        (Network::Youtube | Network::Google, _) => Err(
            crate::networks::meta::GraphError::Permanent(FailureReason::AccountNotConfigured),
        ),
    }
}

/// A reply on a polled network, through its connector and the connected account's token
/// (refreshed once when the network refuses it). Errors are shaped like the Graph's so the
/// outbox treats them alike: transient ones retry within the time budget, quota and rate
/// limits wait for their reset, refusals fail the reply with their reason.
async fn polled_reply(
    svc: &Services,
    connector: &dyn crate::networks::PolledConnector,
    ticket: &crate::core::Ticket,
    text: &str,
) -> Result<crate::core::NetworkItemId, GraphError> {
    use crate::networks::{ConnectorError, TokenError};
    let s = &ticket.state;
    let retry = |detail: String, after: Option<Duration>| GraphError::Retryable { after, detail };
    let account = svc
        .store
        .account_by_network_id(s.network, s.account.as_str())
        .await
        .map_err(|e| retry(format!("cannot read the account: {e}"), None))?
        .ok_or(GraphError::Permanent(FailureReason::AccountNotConfigured))?;
    let Some(tokens) = svc.tokens.as_ref() else {
        return Err(GraphError::Permanent(FailureReason::AccountNotConfigured));
    };
    let mut force = false;
    loop {
        let token = match tokens.access_token(&account, force).await {
            Ok(t) => t,
            Err(TokenError::Dead(reason)) => {
                // The same as a poll finding it dead: polling stops, the channel is told.
                if let Err(e) = svc
                    .store
                    .set_account_health(account.id, Some(&reason))
                    .await
                {
                    warn!(error = %e, "cannot mark an account unhealthy");
                }
                return Err(GraphError::Permanent(FailureReason::TokenExpired));
            }
            Err(TokenError::Transient(why)) => return Err(retry(why, None)),
        };
        return match connector.reply(&account, &token, &s.reply_to, text).await {
            Ok(id) => Ok(id),
            Err(ConnectorError::Unauthorized) if !force => {
                force = true;
                continue;
            }
            Err(ConnectorError::Unauthorized) => {
                Err(GraphError::Permanent(FailureReason::TokenExpired))
            }
            Err(ConnectorError::Permanent(reason)) => Err(GraphError::Permanent(reason)),
            Err(ConnectorError::Transient {
                retry_after,
                reason,
            }) => Err(retry(reason, retry_after)),
            Err(ConnectorError::Exhausted { until, reason }) => Err(retry(
                format!("{}{reason}", crate::networks::meta::RATE_LIMIT_HINT),
                (until - Utc::now()).to_std().ok(),
            )),
        };
    }
}

/// Tell the assignee: a DM for a person, a group mention in the card's thread for a team.
async fn notify_assignee(
    svc: &Services,
    ticket: &crate::core::Ticket,
    page: &crate::config::PageConfig,
    notice: &AssigneeNotice,
) -> anyhow::Result<Outcome> {
    let Some(assignee) = ticket.state.assignee.clone() else {
        // Unassigned since: nobody to tell.
        return Ok(Outcome::Done(vec![]));
    };
    if let Assignee::Person(t) = &assignee
        && t.surface != Surface::Slack
    {
        // Direct messages on Discord come with the Discord surface.
        return Ok(Outcome::Done(vec![]));
    }
    let Some(card) = svc.store.card_of(ticket.id).await? else {
        return card_missing(svc, ticket.id).await;
    };
    let link = render::card_link(&card);
    let headline = text::card_headline(ticket.state.network, ticket.state.kind, &page.name);
    let author = ticket.state.customer_name();
    let body = match (notice, &assignee) {
        (AssigneeNotice::Assigned { by, note }, Assignee::Person(_)) => {
            text::assigned_dm(&render::mention(by), &headline, &link, note.as_deref())
        }
        (AssigneeNotice::Assigned { by, note }, Assignee::Team(name)) => {
            let group = svc
                .config
                .team(name)
                .map(|t| format!("<!subteam^{}>", t.usergroup))
                .unwrap_or_else(|| format!("team {name}"));
            text::assigned_team(&render::mention(by), &group, note.as_deref())
        }
        (AssigneeNotice::CustomerReplied { key }, _) => {
            let said = svc
                .store
                .message(key)
                .await?
                .map(|m| m.text)
                .unwrap_or_default();
            text::customer_replied_dm(&author, &headline, &link, &said)
        }
    };
    let (channel, thread) = match &assignee {
        // Posting to a user id lands in the app's DM with them.
        Assignee::Person(t) => (t.id.to_string(), None),
        Assignee::Team(name) => {
            let Some(team) = svc.config.team(name) else {
                return Ok(Outcome::Done(vec![]));
            };
            let text = match notice {
                AssigneeNotice::CustomerReplied { .. } => {
                    Rich::ours(format!("<!subteam^{}> ", team.usergroup)).then_rich(body)
                }
                AssigneeNotice::Assigned { .. } => body,
            };
            return Ok(done_or_failure(
                svc.slack
                    .post_message(&card.channel, Some(&card.message), render::message(&text))
                    .await,
            ));
        }
    };
    Ok(done_or_failure(
        svc.slack
            .post_message(&channel, thread, render::message(&body))
            .await,
    ))
}

/// Carry out a moderation action on the ticket's item; a refusal undoes it on the card.
async fn moderate(
    svc: &Services,
    job: &Job,
    ticket: &crate::core::Ticket,
    account: &crate::config::AccountConfig,
    action: Moderation,
) -> anyhow::Result<Outcome> {
    let lookup = Lookup::Id(ticket.id);
    let Some(token) = account.access_token.as_ref() else {
        let event = Event::ModerationFailed {
            action,
            reason: FailureReason::AccountNotConfigured,
        };
        apply(svc, &lookup, &event, Consumes::Job(job.claim())).await?;
        return Ok(Outcome::Consumed);
    };
    let s = &ticket.state;
    let item = &s.first_item;
    let graph = &svc.graph;
    let result = match action {
        Moderation::Hide => graph.set_hidden(token, s.network, item, true).await,
        Moderation::Unhide => graph.set_hidden(token, s.network, item, false).await,
        Moderation::Delete => graph.delete(token, item).await,
        Moderation::Like => graph.like(token, item).await,
        // Never with a stand-in id (the core does not offer it; an old job might).
        Moderation::Block if !s.customer.id.is_known() => Err(GraphError::Permanent(
            FailureReason::Other("the author's id is unknown, so they cannot be blocked".into()),
        )),
        Moderation::Block => {
            graph
                .block(token, s.account.as_str(), s.customer.id.as_str())
                .await
        }
    };
    match result {
        Ok(()) => {
            info!(?action, "moderation done");
            Ok(Outcome::Done(vec![]))
        }
        Err(GraphError::Permanent(reason)) => {
            warn!(?action, ?reason, "moderation refused by the network");
            let event = Event::ModerationFailed { action, reason };
            apply(svc, &lookup, &event, Consumes::Job(job.claim())).await?;
            Ok(Outcome::Consumed)
        }
        Err(e) => Ok(graph_retry(e)),
    }
}

/// The once-only key of an account's expired-token alert.
fn token_alert_key(ticket: &crate::core::Ticket) -> String {
    format!(
        "token-expired:{}:{}",
        ticket.state.network, ticket.state.account
    )
}

/// The card as it should look now (reply window included).
fn card_view(svc: &Services, ticket: &crate::core::Ticket, account_name: &str) -> CardView {
    let now = Utc::now();
    let mut view = CardView::of(ticket, account_name, &svc.config.team_names(), now);
    view.window = crate::core::card::window_line(ticket, now, svc.config.meta.human_agent_tag);
    view
}

/// A Slack call whose only result is success or a failure to classify.
fn done_or_failure<T>(result: Result<T, SlackCallError>) -> Outcome {
    match result {
        Ok(_) => Outcome::Done(vec![]),
        Err(e) => slack_failure(e),
    }
}

/// A Graph error that is not a permanent refusal: retry (honouring Retry-After), or fail.
fn graph_retry(e: GraphError) -> Outcome {
    let rate_limited = e.is_rate_limit();
    match e {
        GraphError::Retryable { after, detail } => Outcome::Retry {
            after,
            rate_limited,
            error: detail,
        },
        other => Outcome::Fail(other.to_string()),
    }
}

fn slack_failure(e: SlackCallError) -> Outcome {
    match e {
        SlackCallError::RateLimited { retry_after } => Outcome::Retry {
            after: retry_after,
            error: SLACK_RATE_LIMITED.into(),
            rate_limited: true,
        },
        SlackCallError::Retryable(detail) => Outcome::Retry {
            after: None,
            error: format!("Slack: {detail}"),
            rate_limited: false,
        },
        SlackCallError::Permanent { code } => Outcome::Fail(format!("Slack refused: {code}")),
    }
}

fn slack_reaction(mark: Mark) -> &'static str {
    match mark {
        Mark::Queued => render::REACTION_QUEUED,
        Mark::Delivered => render::REACTION_DELIVERED,
        Mark::Failed => render::REACTION_FAILED,
        Mark::Read => render::REACTION_READ,
    }
}

fn chrono_dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::seconds(1))
}
