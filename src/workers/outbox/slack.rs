//! The outbox's chat effects for tickets whose card lives on Slack: the card is a message in
//! the channel, its thread holds the conversation; delivery marks are reactions; failure and
//! assignee notices are messages (a DM for a person). Messages are paced per channel, on every
//! replica together (`outbox::paced_post`).

use async_trait::async_trait;
use chrono::Utc;
use tracing::{info, warn};

use super::{Outcome, SurfaceOutbox, card_view, token_alert_key};
use crate::accounts::Account;
use crate::chat::slack::{SlackCallError, render};
use crate::config::Destination;
use crate::core::decide::{AssigneeNotice, Mark};
use crate::core::{
    Assignee, ChatRef, Delivery, Effect, FailureReason, Rich, Surface, Ticket, text,
};
use crate::store::{ChatRole, Job, JobRecord};
use crate::workers::Services;

/// The recorded error of a rate-limited Slack call (Slack refused it: nothing happened).
const SLACK_RATE_LIMITED: &str = "Slack rate limit";

/// Why a job waits for its channel's pacing slot (also how the metrics tell it apart).
pub(super) const PACING: &str = "channel pacing";

/// The characters of customer text one storm batch carries at most.
const STORM_BATCH_CHARS: usize = 4_000;

/// Wait for the channel's next `chat.postMessage` slot (shared by every replica), or go on.
async fn paced(svc: &Services, channel: &str) -> anyhow::Result<Option<Outcome>> {
    super::paced_post(svc, &format!("slack:{channel}")).await
}

/// A Slack call whose only result is success or a failure to classify.
fn done_or_failure<T>(result: Result<T, SlackCallError>) -> Outcome {
    match result {
        Ok(_) => Outcome::Done(vec![]),
        Err(e) => failure(e),
    }
}

/// A lookup for an earlier post that Slack rate-limited: told apart from a refused post, so
/// that the next attempt looks again.
const LOOKUP_RATE_LIMITED: &str = "Slack rate limit (looking for an earlier post)";

/// How Slack job errors read (see [`super::may_have_posted`]).
const ERRORS: super::PostErrors = super::PostErrors {
    refused: SLACK_RATE_LIMITED,
    unanswered: "Slack: ",
    lookup_limited: LOOKUP_RATE_LIMITED,
};

fn may_have_posted(job: &Job) -> bool {
    super::may_have_posted(job, &ERRORS)
}

/// A storm thread batch posted as `ts` in the thread of the storm card `card`.
fn batch_at(card: &ChatRef, from: i64, ts: String) -> crate::store::PostedBatch {
    crate::store::PostedBatch {
        from,
        chat: ChatRef {
            message: ts,
            ..card.clone()
        },
    }
}

/// A failed lookup for an earlier post (Slack still unwell: looking again later is safer than
/// posting twice).
fn lookup_failure(e: SlackCallError) -> Outcome {
    match e {
        SlackCallError::RateLimited { retry_after } => Outcome::Retry {
            after: retry_after,
            error: LOOKUP_RATE_LIMITED.into(),
            rate_limited: true,
        },
        other => failure(other),
    }
}

fn failure(e: SlackCallError) -> Outcome {
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

fn reaction(mark: Mark) -> &'static str {
    match mark {
        Mark::Queued => render::REACTION_QUEUED,
        Mark::Delivered => render::REACTION_DELIVERED,
        Mark::Failed => render::REACTION_FAILED,
        Mark::Read => render::REACTION_READ,
    }
}

/// The record linking a message posted in the card's thread to the message it mirrors.
fn thread_link(card: &ChatRef, ts: String, key: &crate::core::MessageKey) -> JobRecord {
    JobRecord::LinkChat {
        chat: ChatRef {
            message: ts,
            ..card.clone()
        },
        role: ChatRole::ThreadMessage,
        message: Some(key.clone()),
    }
}

/// Slack, as a surface of the outbox.
pub(super) struct Slack;

#[async_trait]
impl SurfaceOutbox for Slack {
    async fn post_card(
        &self,
        svc: &Services,
        job: &Job,
        ticket: &Ticket,
        account: &Account,
        to: Destination<'_>,
    ) -> anyhow::Result<Outcome> {
        let Destination::Slack { channel } = to else {
            return Ok(Outcome::Fail("not a Slack destination".into()));
        };
        let channel = channel.to_string();
        if let Some(wait) = paced(svc, &channel).await? {
            return Ok(wait);
        }
        let team = svc.config.slack.team_id.clone();
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
        // An earlier attempt, or a card job of this ticket that gave up before this one, may
        // have been carried out without an answer (a stall past its deadline, a 5xx): look
        // for the card it made before posting another. A rate-limited attempt was refused,
        // so there is nothing to look for.
        if let Some(since) = super::look_back_from(svc, job, may_have_posted(job)).await? {
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
                Err(e) => return Ok(lookup_failure(e)),
            }
        }
        let content = render::card_for(ticket.id, &card_view(svc, ticket, account).await?);
        Ok(
            match svc.slack.post_message(&channel, None, content).await {
                Ok(ts) => {
                    info!(%channel, ts, "card posted");
                    Outcome::Done(vec![link(ts)])
                }
                Err(e) => failure(e),
            },
        )
    }

    async fn post_storm_card(
        &self,
        svc: &Services,
        job: &Job,
        storm: &crate::store::StormRow,
        view: &crate::core::storm::StormView,
        to: Destination<'_>,
    ) -> anyhow::Result<Outcome> {
        let Destination::Slack { channel } = to else {
            return Ok(Outcome::Fail("not a Slack destination".into()));
        };
        let record = |ts: String| {
            Outcome::Done(vec![JobRecord::StormCard {
                storm: storm.id,
                chat: ChatRef {
                    surface: Surface::Slack,
                    workspace: svc.config.slack.team_id.clone(),
                    channel: channel.to_string(),
                    message: ts,
                },
            }])
        };
        if may_have_posted(job) {
            // As for a ticket's card: an unanswered attempt may have posted it.
            let since = storm.started_at - super::LOOK_BACK_MARGIN;
            match svc.slack.find_storm_card(channel, storm.id, since).await {
                Ok(Some(ts)) => {
                    info!(%channel, ts, storm = storm.id, "storm card found from an earlier attempt");
                    return Ok(record(ts));
                }
                Ok(None) => {}
                Err(e @ SlackCallError::Permanent { .. }) => {
                    warn!(error = %e, "cannot look for an earlier storm card; posting")
                }
                Err(e) => return Ok(lookup_failure(e)),
            }
        }
        Ok(
            match svc
                .slack
                .post_message(channel, None, render::storm_card_for(view))
                .await
            {
                Ok(ts) => {
                    info!(%channel, ts, storm = storm.id, "storm card posted");
                    record(ts)
                }
                Err(e) => failure(e),
            },
        )
    }

    async fn edit_storm_card(
        &self,
        svc: &Services,
        card: &ChatRef,
        view: &crate::core::storm::StormView,
    ) -> anyhow::Result<Outcome> {
        Ok(done_or_failure(
            svc.slack
                .update_message(&card.channel, &card.message, render::storm_card(view))
                .await,
        ))
    }

    async fn post_storm_batch(
        &self,
        svc: &Services,
        job: &Job,
        storm: &crate::store::StormRow,
        card: &ChatRef,
        lines: &[crate::core::storm::StormLine],
    ) -> anyhow::Result<Outcome> {
        // Slack shows about 4,000 characters before "show more": a batch stays within that.
        let n = crate::core::storm::batch_len(lines, lines.len(), STORM_BATCH_CHARS, |l| {
            l.author.chars().count() + l.text.chars().count().min(text::STORM_LINE_CHARS) + 16
        });
        let batch = &lines[..n];
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return Ok(Outcome::Done(vec![]));
        };
        // An earlier attempt, or a job of this thread that gave up before this one (its
        // lookups failing too, until its budget ran out), may have posted these lines
        // without an answer.
        if let Some(since) = super::look_back_from(svc, job, may_have_posted(job)).await? {
            // Slack has no idempotency key: an attempt it carried out without answering left
            // a marked batch in the thread, which stands for this one (its lines start here).
            match svc
                .slack
                .find_storm_batch(&card.channel, &card.message, storm.id, first.seq, since)
                .await
            {
                Ok(Some((upto, ts))) => {
                    info!(
                        storm = storm.id,
                        upto, "storm batch found from an earlier attempt"
                    );
                    return Ok(Outcome::Done(vec![JobRecord::StormPosted {
                        storm: storm.id,
                        upto,
                        batch: Some(batch_at(card, first.seq, ts)),
                    }]));
                }
                Ok(None) => {}
                Err(e @ SlackCallError::Permanent { .. }) => {
                    warn!(error = %e, "cannot look for an earlier storm batch; posting")
                }
                Err(e) => return Ok(lookup_failure(e)),
            }
        }
        let content = render::storm_batch_for(
            render::message(&text::storm_batch(batch)),
            storm.id,
            first.seq,
            last.seq,
        );
        Ok(
            match svc
                .slack
                .post_message(&card.channel, Some(&card.message), content)
                .await
            {
                Ok(ts) => Outcome::Done(vec![JobRecord::StormPosted {
                    storm: storm.id,
                    upto: last.seq,
                    batch: Some(batch_at(card, first.seq, ts)),
                }]),
                Err(e) => failure(e),
            },
        )
    }

    async fn edit_storm_batch(
        &self,
        svc: &Services,
        batch: &crate::store::StormBatch,
        lines: &[crate::core::storm::StormLine],
    ) -> anyhow::Result<Outcome> {
        // The same text and marks as when it was posted, its members as they are now.
        let content = render::storm_batch_for(
            render::message(&text::storm_batch(lines)),
            batch.storm,
            batch.from,
            batch.upto,
        );
        Ok(done_or_failure(
            svc.slack
                .update_message(&batch.chat.channel, &batch.chat.message, content)
                .await,
        ))
    }

    async fn deliver(
        &self,
        svc: &Services,
        job: &Job,
        ticket: &Ticket,
        account: &Account,
        card: ChatRef,
    ) -> anyhow::Result<Outcome> {
        let author = ticket.state.customer_name();
        match &job.effect {
            // Delivered before a ticket's card is looked for (see `outbox::deliver`).
            Effect::StormCard { .. }
            | Effect::StormThread { .. }
            | Effect::StormBatchEdit { .. } => Ok(Outcome::Done(vec![])),
            Effect::UpdateCard => {
                let content = render::card(&card_view(svc, ticket, account).await?);
                Ok(done_or_failure(
                    svc.slack
                        .update_message(&card.channel, &card.message, content)
                        .await,
                ))
            }
            Effect::PostThreadMessage { key, broadcast } => {
                let Some(msg) = svc.store.message(key).await? else {
                    return Ok(Outcome::Fail(format!("message {key} not found")));
                };
                if svc.store.chat_of_message(key).await?.is_some() {
                    return Ok(Outcome::Done(vec![]));
                }
                if let Some(wait) = paced(svc, &card.channel).await? {
                    return Ok(wait);
                }
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
                    Ok(ts) => Outcome::Done(vec![thread_link(&card, ts, key)]),
                    Err(e) => failure(e),
                })
            }
            Effect::UpdateThreadMessage { key } => {
                let (Some(chat), Some(msg)) = (
                    svc.store.chat_of_message(key).await?,
                    svc.store.message(key).await?,
                ) else {
                    return Ok(Outcome::Done(vec![]));
                };
                let content =
                    render::thread_customer_message(&author, &msg.text, msg.edited, msg.deleted);
                Ok(done_or_failure(
                    svc.slack
                        .update_message(&chat.channel, &chat.message, content)
                        .await,
                ))
            }
            Effect::PostReplyCopy { key } => {
                let Some(msg) = svc.store.message(key).await? else {
                    return Ok(Outcome::Fail(format!("reply {key} not found")));
                };
                if svc.store.chat_of_message(key).await?.is_some() {
                    return Ok(Outcome::Done(vec![]));
                }
                if let Some(wait) = paced(svc, &card.channel).await? {
                    return Ok(wait);
                }
                let copy = match &msg.teammate {
                    Some(t) => text::modal_reply_copy(&render::mention(t), &msg.text),
                    None => text::auto_reply_copy(&msg.text),
                };
                let content = render::message(&copy);
                Ok(
                    match svc
                        .slack
                        .post_message(&card.channel, Some(&card.message), content)
                        .await
                    {
                        Ok(ts) => Outcome::Done(vec![thread_link(&card, ts, key)]),
                        Err(e) => failure(e),
                    },
                )
            }
            Effect::NotifyAssignee { notice } => {
                notify_assignee(svc, ticket, account, &card, notice).await
            }
            // In the thread and, like a customer's new message, in the channel when told to.
            Effect::ReviewUpdated {
                before,
                after,
                broadcast,
            } => {
                // Erased since: the review's texts are not the team's to show any more.
                if ticket.state.erased {
                    return Ok(Outcome::Done(vec![]));
                }
                if let Some(wait) = paced(svc, &card.channel).await? {
                    return Ok(wait);
                }
                let content = render::message(&text::review_updated(&author, before, after));
                let posted = if *broadcast {
                    svc.slack
                        .post_message_broadcast(&card.channel, &card.message, content)
                        .await
                } else {
                    svc.slack
                        .post_message(&card.channel, Some(&card.message), content)
                        .await
                };
                Ok(done_or_failure(posted))
            }
            // In the thread and the channel, pinging the SLA's group when one is set.
            Effect::SlaAlert {
                target,
                breached,
                since,
            } => {
                let Some(due) = super::sla_alert_due(ticket, *target, *breached, *since) else {
                    return Ok(Outcome::Done(vec![]));
                };
                if let Some(wait) = paced(svc, &card.channel).await? {
                    return Ok(wait);
                }
                let group = match super::sla_notify(svc, ticket, account) {
                    Some(id) if id.starts_with('S') => format!("<!subteam^{id}> "),
                    Some(id) => format!("<@{id}> "),
                    None => String::new(),
                };
                let alert = text::sla_alert(
                    *target,
                    *breached,
                    &author,
                    ticket.id,
                    &group,
                    &render::card_link(&card),
                    &render::date_token(due),
                );
                Ok(done_or_failure(
                    svc.slack
                        .post_message_broadcast(
                            &card.channel,
                            &card.message,
                            render::message(&alert),
                        )
                        .await,
                ))
            }
            Effect::CardsPostedLate { tickets } => {
                if let Some(wait) = paced(svc, &card.channel).await? {
                    return Ok(wait);
                }
                let notice = text::cards_posted_late(tickets);
                Ok(done_or_failure(
                    svc.slack
                        .post_message(&card.channel, None, render::plain(&notice))
                        .await,
                ))
            }
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
                        .add_reaction(&chat.channel, &chat.message, reaction(mark))
                        .await
                {
                    return Ok(failure(e));
                }
                for mark in remove {
                    if let Err(e) = svc
                        .slack
                        .remove_reaction(&chat.channel, &chat.message, reaction(*mark))
                        .await
                    {
                        return Ok(failure(e));
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
                if let Some(wait) = paced(svc, &card.channel).await? {
                    return Ok(wait);
                }
                let who = msg
                    .teammate
                    .as_ref()
                    .map(render::mention)
                    .unwrap_or_else(|| "Teammate".to_string());
                let content = render::message(&match msg.teammate {
                    Some(_) => text::reply_failed(&who, ticket.state.network, reason),
                    None => text::auto_reply_failed(ticket.state.network, reason),
                });
                // A configured token that expired also alerts the account's channel, once (not
                // per message). A connected account's channel is told by its health alert.
                if *reason == FailureReason::TokenExpired && !account.is_connected() {
                    let once = token_alert_key(ticket);
                    if svc.store.first_time(&once, Utc::now()).await? {
                        let alert = text::token_alert(ticket.state.network, &account.name);
                        let channel = match svc.config.account_destination(account) {
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
                            return Ok(failure(e));
                        }
                    }
                }
                Ok(done_or_failure(
                    svc.slack
                        .post_message(&card.channel, Some(&card.message), content)
                        .await,
                ))
            }
            // Not chat effects: the caller handles them.
            Effect::PostCard | Effect::SendReply { .. } | Effect::Moderate { .. } => {
                Ok(Outcome::Done(vec![]))
            }
        }
    }
}

/// Tell the assignee: a DM for a person, a group mention in the card's thread for a team.
async fn notify_assignee(
    svc: &Services,
    ticket: &Ticket,
    account: &Account,
    card: &ChatRef,
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
    let link = render::card_link(card);
    let headline = text::card_headline(ticket.state.network, ticket.state.kind, &account.name);
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
        (AssigneeNotice::AutoAssigned { rule }, Assignee::Person(_)) => {
            text::auto_assigned_dm(&headline, &link, rule)
        }
        (AssigneeNotice::AutoAssigned { rule }, Assignee::Team(name)) => {
            let group = svc
                .config
                .team(name)
                .map(|t| format!("<!subteam^{}>", t.usergroup))
                .unwrap_or_else(|| format!("team {name}"));
            text::auto_assigned_team(&group, rule)
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
    match &assignee {
        // Posting to a user id lands in the app's DM with them.
        Assignee::Person(t) => Ok(done_or_failure(
            svc.slack
                .post_message(t.id.as_str(), None, render::message(&body))
                .await,
        )),
        Assignee::Team(name) => {
            let Some(team) = svc.config.team(name) else {
                return Ok(Outcome::Done(vec![]));
            };
            let text = match notice {
                AssigneeNotice::CustomerReplied { .. } => {
                    Rich::ours(format!("<!subteam^{}> ", team.usergroup)).then_rich(body)
                }
                AssigneeNotice::Assigned { .. } | AssigneeNotice::AutoAssigned { .. } => body,
            };
            Ok(done_or_failure(
                svc.slack
                    .post_message(&card.channel, Some(&card.message), render::message(&text))
                    .await,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Effect, TicketId};

    fn job(attempts: i32, last_error: Option<&str>) -> Job {
        Job {
            id: 1,
            ticket: TicketId(1),
            lane: "ticket:1".into(),
            effect: Effect::PostCard,
            attempts,
            created_at: Utc::now(),
            budget_from: Utc::now(),
            last_error: last_error.map(str::to_string),
            claim: 1,
        }
    }

    #[test]
    fn an_earlier_post_is_looked_for_only_when_one_may_have_landed() {
        for (attempts, last, looks) in [
            (1, None, false),
            // Waiting for a pacing slot is not an attempt.
            (1, Some(PACING), false),
            // A stall or a 5xx may have posted; a refused (rate-limited) post did not.
            (2, Some("Slack: no answer within 15s"), true),
            (2, Some(SLACK_RATE_LIMITED), false),
            (3, Some(PACING), true),
            // A rate-limited lookup looks again, also when brought back by `outbox retry`.
            (3, Some(LOOKUP_RATE_LIMITED), true),
            (1, Some(LOOKUP_RATE_LIMITED), true),
            // Brought back by `outbox retry` (attempts start again).
            (1, Some("Slack: HTTP 503 Service Unavailable"), true),
            (1, Some("Slack refused: channel_not_found"), false),
        ] {
            assert_eq!(
                may_have_posted(&job(attempts, last)),
                looks,
                "{attempts} {last:?}"
            );
        }
    }
}
