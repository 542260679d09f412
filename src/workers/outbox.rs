//! The outbox worker: claims due jobs (the oldest of each lane), performs them against Slack
//! and the networks, and records the outcome. Retries back off exponentially, honour
//! Retry-After, and end in a visible failure: a failed reply is shown on the teammate's
//! message, in the thread and on the card; any other failed job is logged as an error and
//! listed by `switchboard outbox failed` and `/readyz`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use futures_util::future::join_all;
use tokio::sync::watch;
use tracing::{Instrument, error, info_span, warn};

use crate::accounts::Account;
use crate::config::Destination;
use crate::core::card::CardView;
use crate::core::{ChatRef, Effect, Event, FailureReason, Surface, Ticket};
use crate::store::{ChatRole, Consumes, Job, JobRecord};
use crate::telemetry::{DeliveryOutcome, Target};

use super::apply::{Applied, Lookup, apply};
use super::{Services, backoff};

mod discord;
mod network;
mod slack;
mod storm;

/// A chat surface's side of the outbox: how a ticket's card is posted there, and how every
/// chat effect of a ticket whose card lives there is carried out (the same effects and the
/// same bookkeeping on every surface). Slack and Discord implement it, each in its module.
#[async_trait]
trait SurfaceOutbox: Send + Sync {
    /// Post the ticket's card at `to` (a destination on this surface).
    async fn post_card(
        &self,
        svc: &Services,
        job: &Job,
        ticket: &Ticket,
        account: &Account,
        to: Destination<'_>,
    ) -> anyhow::Result<Outcome>;

    /// Post a storm's card at `to` (a destination on this surface); done with a
    /// [`JobRecord::StormCard`].
    async fn post_storm_card(
        &self,
        svc: &Services,
        job: &Job,
        storm: &crate::store::StormRow,
        view: &crate::core::storm::StormView,
        to: Destination<'_>,
    ) -> anyhow::Result<Outcome>;

    /// Edit a storm's card in place.
    async fn edit_storm_card(
        &self,
        svc: &Services,
        card: &ChatRef,
        view: &crate::core::storm::StormView,
    ) -> anyhow::Result<Outcome>;

    /// Post the next of `lines` that fit one message in the storm card's thread; done with a
    /// [`JobRecord::StormPosted`] up to the last one posted.
    async fn post_storm_batch(
        &self,
        svc: &Services,
        job: &Job,
        storm: &crate::store::StormRow,
        card: &ChatRef,
        lines: &[crate::core::storm::StormLine],
    ) -> anyhow::Result<Outcome>;

    /// Render the storm thread message `batch` again, showing `lines` (its members as they
    /// are now: an erased customer's texts are gone).
    async fn edit_storm_batch(
        &self,
        svc: &Services,
        batch: &crate::store::StormBatch,
        lines: &[crate::core::storm::StormLine],
    ) -> anyhow::Result<Outcome>;

    /// Carry out `job`'s chat effect for a ticket whose card is `card`.
    async fn deliver(
        &self,
        svc: &Services,
        job: &Job,
        ticket: &Ticket,
        account: &Account,
        card: ChatRef,
    ) -> anyhow::Result<Outcome>;
}

/// The outbox side of a surface.
fn surface(s: Surface) -> &'static dyn SurfaceOutbox {
    match s {
        Surface::Slack => &slack::Slack,
        Surface::Discord => &discord::Discord,
    }
}

/// How a delivery attempt ended.
#[derive(Debug)]
enum Outcome {
    /// Done; record these facts with the job.
    Done(Vec<JobRecord>),
    /// A decision consumed the job already: the reply was delivered (`delivered`), or it
    /// failed for good and the team was shown why.
    Consumed { delivered: bool },
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

/// How long a job waits (not an attempt) before looking again for a card being re-posted.
const CARD_WAIT: Duration = Duration::from_millis(500);

/// How far before a job began a look for what an earlier attempt posted reaches back: our
/// clock and the platform's may disagree a little.
pub(super) const LOOK_BACK_MARGIN: chrono::Duration = chrono::Duration::minutes(1);

/// How a chat surface's job errors read, for [`may_have_posted`].
pub(super) struct PostErrors {
    /// A post the platform refused with a rate limit: nothing was posted.
    pub refused: &'static str,
    /// How an error begins after which the platform may have acted (a stall, a 5xx).
    pub unanswered: &'static str,
    /// A look for an earlier post that was rate-limited: the next attempt looks again.
    pub lookup_limited: &'static str,
}

/// Whether an earlier attempt of `job` may have posted without an answer, so the post is
/// looked for first: an attempt that failed other than by a refused (rate-limited) post
/// (waits count no attempt and keep the error before them), or a job brought back by `outbox
/// retry` (attempts start again; its last error says why it gave up).
pub(super) fn may_have_posted(job: &Job, errors: &PostErrors) -> bool {
    let last = job.last_error.as_deref();
    (job.attempts > 1 && last != Some(errors.refused))
        || last.is_some_and(|e| e.starts_with(errors.unanswered) || e == errors.lookup_limited)
}

/// From when to look for what an earlier attempt of `job` (`may_have_posted`), or a job of its
/// lane that gave up before it, may have posted without an answer; `None` when neither may
/// have. The earlier of the two starts, less [`LOOK_BACK_MARGIN`]. A card is posted in the
/// ticket's chat lane first and re-posted in a lane of its own: a re-post also looks back
/// over the first post's lane.
pub(super) async fn look_back_from(
    svc: &Services,
    job: &Job,
    may_have_posted: bool,
) -> anyhow::Result<Option<chrono::DateTime<Utc>>> {
    let mut lanes = vec![job.lane.clone()];
    if job.lane == crate::store::repost_lane(job.ticket) {
        lanes.push(crate::store::lane_of(job.ticket, &Effect::PostCard));
    }
    let mut gave_up: Option<chrono::DateTime<Utc>> = None;
    for lane in &lanes {
        if let Some(at) = svc.store.gave_up_before(lane, job.id).await? {
            gave_up = Some(gave_up.map_or(at, |earlier| earlier.min(at)));
        }
    }
    let from = match gave_up {
        Some(at) => Some(at.min(job.created_at)),
        None => may_have_posted.then_some(job.created_at),
    };
    Ok(from.map(|at| at - LOOK_BACK_MARGIN))
}

/// The worker: up to `outbox.batch_size` jobs in flight, lanes independent (see
/// [`super::run_pool`]).
pub async fn run(svc: Arc<Services>, shutdown: watch::Receiver<bool>) {
    let poll = Duration::from_millis(svc.config.outbox.poll_ms);
    let capacity = usize::try_from(svc.config.outbox.batch_size).unwrap_or(1);
    let work_svc = svc.clone();
    super::run_pool(
        super::Pool {
            name: "outbox",
            wake: &svc.wake_outbox,
            poll,
            capacity,
            pressed: || svc.inbox.pressed(),
            stalled_after: super::PRESSED_STALLED_AFTER,
        },
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
    // Where the job goes, once `deliver` knows (for the metrics).
    let mut target = None;
    let delivery = deliver(svc, &job, &mut target);
    let outcome = match tokio::time::timeout(job_deadline(svc), delivery).await {
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
    if let Err(e) = settle(svc, &job, outcome, target).await {
        // The lease expires and the job runs again.
        error!(error = format!("{e:#}"), "cannot record job outcome");
    }
}

/// Record how a job ended, under its claim: a worker whose claim went stale (its lease ran
/// out and another worker took the job) records nothing.
async fn settle(
    svc: &Services,
    job: &Job,
    outcome: Outcome,
    target: Option<Target>,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let cfg = &svc.config.outbox;
    let claim = job.claim();
    // Unknown only when the job failed before its ticket was read.
    let target = target.unwrap_or(Target::Chat(Surface::Slack));
    let count = |outcome| svc.metrics.delivery(target, outcome, job.created_at, now);
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
            if ok {
                count(DeliveryOutcome::Delivered);
            }
            if ok && posted_card {
                // The channel is reachable: post what could not be posted earlier.
                repost_undelivered(svc, job).await?;
            }
            ok
        }
        Outcome::Consumed { delivered } => {
            count(if delivered {
                DeliveryOutcome::Delivered
            } else {
                DeliveryOutcome::GivenUp
            });
            true
        }
        Outcome::Wait(d, why) => {
            svc.metrics.outbox_wait(Some(target), why == slack::PACING);
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
                count(DeliveryOutcome::GivenUp);
                give_up(svc, job, &error, reason).await?
            } else {
                count(DeliveryOutcome::Retried { rate_limited });
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
            count(DeliveryOutcome::GivenUp);
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
        Effect::Moderate { action, .. } => Some(Event::ModerationFailed {
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
    // The usual case, checked first: no card anywhere waits (no ticket read, no transaction).
    if !svc.store.any_undelivered_cards().await? {
        return Ok(());
    }
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

async fn deliver(
    svc: &Services,
    job: &Job,
    target: &mut Option<Target>,
) -> anyhow::Result<Outcome> {
    let Some(ticket) = svc.store.ticket(job.ticket).await? else {
        return Ok(Outcome::Fail("the ticket no longer exists".into()));
    };
    if matches!(
        job.effect,
        Effect::SendReply { .. } | Effect::Moderate { .. }
    ) {
        *target = Some(Target::Network(ticket.state.network));
    }
    let id = ticket.state.account.as_str();
    let Some(account) = svc.account_fresh(ticket.state.network, id).await? else {
        return Ok(Outcome::Fail(format!("account {id} is not configured")));
    };
    match &job.effect {
        // Network effects: the same for every surface, through the network's connector.
        Effect::SendReply {
            key,
            reply_to,
            as_account,
            ..
        } => {
            let Some(answering) = acting_as(svc, &ticket, account, as_account).await? else {
                return Ok(Outcome::Fail("the answering account is gone".into()));
            };
            network::send_reply(svc, job, &ticket, &answering, key, reply_to.as_ref()).await
        }
        Effect::Moderate {
            action,
            item,
            as_account,
        } => {
            let Some(acting) = acting_as(svc, &ticket, account, as_account).await? else {
                return Ok(Outcome::Fail("the account to act as is gone".into()));
            };
            network::moderate(svc, job, &ticket, &acting, *action, item.as_ref()).await
        }
        Effect::StormCard { storm } | Effect::StormThread { storm } => {
            let thread = matches!(job.effect, Effect::StormThread { .. });
            storm::deliver(svc, job, &ticket, &account, *storm, thread, target).await
        }
        Effect::StormBatchEdit { storm, from } => {
            storm::edit_batch(svc, &ticket, &account, *storm, *from, target).await
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
            let Some(to) = svc.config.destination_for(&ticket.state, &account) else {
                return Ok(Outcome::Fail(format!(
                    "account {id} has no usable destination"
                )));
            };
            let on = match to {
                Destination::Slack { .. } => Surface::Slack,
                Destination::Discord { .. } => Surface::Discord,
            };
            *target = Some(Target::Chat(on));
            surface(on).post_card(svc, job, &ticket, &account, to).await
        }
        // Chat effects go to the surface the card is on.
        effect => match svc.store.card_of(ticket.id).await? {
            Some(card) => {
                *target = Some(Target::Chat(card.surface));
                surface(card.surface)
                    .deliver(svc, job, &ticket, &account, card)
                    .await
            }
            // Nothing was mirrored without a card, so nothing to update.
            None if matches!(
                effect,
                Effect::UpdateThreadMessage { .. } | Effect::ShowDelivery { .. }
            ) =>
            {
                Ok(Outcome::Done(vec![]))
            }
            // A ticket a storm card shows: its card is the storm's, which a bulk action
            // refreshes; a card of its own comes when the customer writes again after the
            // storm, or a teammate opens it.
            // Its SLA alerts too: a storm's comments would otherwise each post a card when
            // their clocks run out together.
            None if matches!(
                effect,
                Effect::UpdateCard | Effect::NotifyAssignee { .. } | Effect::SlaAlert { .. }
            ) && svc.store.storm_of_ticket(ticket.id).await?.is_some() =>
            {
                Ok(Outcome::Done(vec![]))
            }
            None => card_missing(svc, ticket.id).await,
        },
    }
}

/// The account a network effect acts as: the ticket's own, or another of the team's accounts
/// the effect names (a reply profile). `None` when that account is no longer there.
async fn acting_as(
    svc: &Services,
    ticket: &Ticket,
    own: Account,
    as_account: &Option<crate::core::AccountId>,
) -> anyhow::Result<Option<Account>> {
    match as_account {
        Some(id) if *id != ticket.state.account => {
            svc.account_fresh(ticket.state.network, id.as_str()).await
        }
        _ => Ok(Some(own)),
    }
}

/// The once-only key of an account's expired-token alert.
fn token_alert_key(ticket: &Ticket) -> String {
    format!(
        "token-expired:{}:{}",
        ticket.state.network, ticket.state.account
    )
}

/// The card as it should look now (reply window included, and which account replies when
/// the channel has more than one of the ticket's network).
async fn card_view(svc: &Services, ticket: &Ticket, account: &Account) -> anyhow::Result<CardView> {
    let now = Utc::now();
    let caps = svc.capabilities(&ticket.state);
    let mut view = CardView::of(ticket, &caps, &account.name, &svc.config.team_names(), now);
    if ticket.state.archived.is_some() {
        return Ok(view);
    }
    view.window = crate::core::card::window_line(ticket, &caps, now);
    if caps.reply.is_some() {
        let decided = super::profiles::decide(svc, ticket, account).await?;
        view.last_replied_as = ticket
            .state
            .last_replied_as
            .as_ref()
            .map(|id| decided.name_of(id));
        if decided.accounts.len() > 1 {
            let choices: Vec<(String, String)> = decided
                .accounts
                .iter()
                .filter(|a| decided.profile.choices.contains(&a.id))
                .map(|a| (a.id.to_string(), a.name.clone()))
                .collect();
            let name = decided.name_of(&decided.profile.account);
            view = view.with_profile(&decided.profile, &name, &choices);
        }
    }
    Ok(view)
}

/// Wait for the next slot of a pace every replica shares (`key`: what it paces), one per
/// `gap`, or go on. Waiting is not an attempt.
async fn paced(svc: &Services, key: &str, gap: Duration) -> anyhow::Result<Option<Outcome>> {
    if gap.is_zero() {
        return Ok(None);
    }
    let now = Utc::now();
    Ok(svc
        .store
        .take_pace(key, chrono_dur(gap), now)
        .await?
        .map(|at| {
            let wait = (at - now).to_std().unwrap_or_default();
            Outcome::Wait(wait.max(Duration::from_millis(1)), slack::PACING)
        }))
}

/// The channel's next message slot (`channel`: `slack:C1`, `discord:123`): about one message a
/// second per channel on both surfaces.
async fn paced_post(svc: &Services, channel: &str) -> anyhow::Result<Option<Outcome>> {
    let gap = Duration::from_millis(svc.config.outbox.channel_pace_ms);
    paced(svc, &format!("post:{channel}"), gap).await
}

fn chrono_dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::seconds(1))
}

/// When the response an SLA alert is about is due, if the alert still stands: the team may
/// have answered (or closed the ticket) since it was queued, and a breach supersedes its
/// warning.
fn sla_alert_due(
    ticket: &Ticket,
    target: crate::core::SlaTarget,
    breached: bool,
    since: Option<chrono::DateTime<chrono::Utc>>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let clock = ticket
        .state
        .sla
        .filter(|c| c.target == target && since.is_none_or(|s| s == c.since))?;
    if !breached && clock.breached {
        return None;
    }
    clock.due
}

/// Who the SLA alerts of a ticket's channel ping (a user group or role id), if anyone.
fn sla_notify<'a>(svc: &'a Services, ticket: &Ticket, account: &'a Account) -> Option<&'a str> {
    let to = svc.config.destination_for(&ticket.state, account)?;
    svc.config.channel_rules(&to).sla?.notify.as_deref()
}
