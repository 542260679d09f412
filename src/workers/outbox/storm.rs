//! A storm's jobs: its card (posted once, then edited in place under its own pace) and its
//! thread batches (several messages per post, under the channel's message pace, which cards
//! and batches share on every replica).

use std::time::Duration;

use chrono::Utc;

use crate::accounts::Account;
use crate::config::Destination;
use crate::core::storm::{StormFacts, StormView};
use crate::core::{Surface, Ticket};
use crate::telemetry::Target;

use super::{CARD_WAIT, Outcome, Services, paced, paced_post, surface};

/// The most messages a storm card reads for its rate, newest, keywords and choices: a storm of
/// more still counts them all in its total and its open / closed tickets (a count in the
/// store); its top words describe the latest this many.
const MAX_LINES_READ: i64 = 5_000;

/// Render a posted thread batch again (an erasure changed its members' texts), under the
/// channel's edit pace. Nothing to do when the batch was never posted: a post renders the
/// texts as they are then.
pub(super) async fn edit_batch(
    svc: &Services,
    anchor: &Ticket,
    account: &Account,
    storm: i64,
    from: i64,
    target: &mut Option<Target>,
) -> anyhow::Result<Outcome> {
    let Some(batch) = svc.store.storm_batch(storm, from).await? else {
        return Ok(Outcome::Done(vec![]));
    };
    *target = Some(Target::Chat(batch.chat.surface));
    // Member seqs are numbered across storms: read at most the span, keep the batch's own.
    let span = (batch.upto - batch.from).saturating_add(1);
    let lines: Vec<_> = svc
        .store
        .storm_lines(storm, batch.from - 1, span)
        .await?
        .into_iter()
        .filter(|l| l.seq <= batch.upto)
        .collect();
    if let Some(to) = svc.config.destination_for(&anchor.state, account) {
        let channel = super::super::storm::channel_key(&to);
        let gap = Duration::from_millis(svc.config.storm.update_gap_ms);
        if let Some(wait) = paced(svc, &format!("update:{channel}"), gap).await? {
            return Ok(wait);
        }
    }
    surface(batch.chat.surface)
        .edit_storm_batch(svc, &batch, &lines)
        .await
}

pub(super) async fn deliver(
    svc: &Services,
    job: &crate::store::Job,
    anchor: &Ticket,
    account: &Account,
    id: i64,
    thread: bool,
    target: &mut Option<Target>,
) -> anyhow::Result<Outcome> {
    let Some(storm) = svc.store.storm(id).await? else {
        return Ok(Outcome::Done(vec![]));
    };
    let Some(to) = svc.config.destination_for(&anchor.state, account) else {
        return Ok(Outcome::Fail(format!(
            "account {} has no usable destination",
            anchor.state.account
        )));
    };
    let on = match to {
        Destination::Slack { .. } => Surface::Slack,
        Destination::Discord { .. } => Surface::Discord,
    };
    *target = Some(Target::Chat(on));
    let channel = super::super::storm::channel_key(&to);
    if thread {
        let Some(card) = &storm.card else {
            // The card job is queued with this one: wait for it (not an attempt). If it gave
            // up, this job gives up too when its budget runs out; both are listed as failed
            // and `outbox retry` brings them back.
            if svc
                .store
                .lane_pending(&crate::store::storm_card_lane(id))
                .await?
            {
                return Ok(Outcome::Wait(CARD_WAIT, "waiting for the storm card"));
            }
            return Ok(Outcome::Retry {
                after: Some(CARD_WAIT),
                error: "the storm card could not be posted".into(),
                rate_limited: false,
            });
        };
        let batch = svc.config.storm.batch_max as i64;
        let lines = svc.store.storm_lines(id, storm.posted_upto, batch).await?;
        if lines.is_empty() {
            // A member committing while this read ran found this job waiting and queued
            // none: recording "shown up to here" checks again once that commit is done (its
            // lock is held until then) and queues a batch for it.
            return Ok(Outcome::Done(vec![crate::store::JobRecord::StormPosted {
                storm: id,
                upto: storm.posted_upto,
                batch: None,
            }]));
        }
        if let Some(wait) = paced_post(svc, &channel).await? {
            return Ok(wait);
        }
        return surface(on)
            .post_storm_batch(svc, job, &storm, card, &lines)
            .await;
    }
    let lines = svc.store.storm_newest(id, MAX_LINES_READ).await?;
    // A storm larger than what was read: its open and closed tickets are counted in full.
    let tally = if lines.len() as i64 >= MAX_LINES_READ {
        Some(svc.store.storm_tally(id).await?)
    } else {
        None
    };
    let mut view = StormView::of(
        StormFacts {
            id,
            count: storm.count,
            started_at: storm.started_at,
            ended_at: storm.ended_at,
            subject: storm.post.subject.clone(),
            link: storm.post.link.clone(),
            lines: &lines,
            tally,
        },
        Utc::now(),
    );
    view.tags = svc.store.known_tags().await?;
    view.teams = svc.config.team_names();
    view.can_hide = svc
        .capabilities(&anchor.state)
        .offers(crate::core::Moderation::Hide);
    match &storm.card {
        None => {
            if let Some(wait) = paced_post(svc, &channel).await? {
                return Ok(wait);
            }
            surface(on)
                .post_storm_card(svc, job, &storm, &view, to)
                .await
        }
        Some(card) => {
            let gap = Duration::from_millis(svc.config.storm.update_gap_ms);
            if let Some(wait) = paced(svc, &format!("update:{channel}"), gap).await? {
                return Ok(wait);
            }
            surface(on).edit_storm_card(svc, card, &view).await
        }
    }
}
