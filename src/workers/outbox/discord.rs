//! The outbox's chat effects for tickets whose card lives on Discord. Same effects, same
//! bookkeeping as Slack's: a card is a message (text channel, with a thread started from it)
//! or a forum post (whose tags follow the status); thread messages, delivery reactions,
//! failure notices and assignee notices are Discord messages.
//!
//! A thread started from a message has that message's id, and a forum post's starter message
//! has the thread's id, so "the card's thread" is always the channel named by the card's
//! message id.

use async_trait::async_trait;
use tracing::{info, warn};

use super::{Outcome, SurfaceOutbox, card_view, token_alert_key};
use crate::accounts::Account;
use crate::chat::discord::client::snowflake_at;
use crate::chat::discord::render;
use crate::chat::discord::{DiscordClient, DiscordError};
use crate::config::{Destination, DiscordChannelConfig, DiscordChannelKind};
use crate::core::decide::{AssigneeNotice, Mark};
use crate::core::model::Status;
use crate::core::{Assignee, ChatRef, Delivery, Effect, FailureReason, Surface, Ticket, text};
use crate::store::{ChatRole, Job, JobRecord};
use crate::workers::Services;

/// Discord's "Unknown Channel" error code (a thread that was never started or was deleted).
const UNKNOWN_CHANNEL: i64 = 10003;
/// Discord's "A thread has already been created for this message".
const THREAD_EXISTS: i64 = 160004;
/// Discord's "Thread is archived": idle threads are archived, and then refuse edits and
/// reactions until unarchived.
const THREAD_ARCHIVED: i64 = 50083;

/// Run `op` on something in `thread`; if the thread was archived, unarchive it and run again.
async fn in_thread<T, F, Fut>(
    discord: &DiscordClient,
    thread: &str,
    op: F,
) -> Result<T, DiscordError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, DiscordError>>,
{
    match op().await {
        Err(DiscordError::Permanent {
            code: THREAD_ARCHIVED,
            ..
        }) => {
            discord.unarchive(thread).await?;
            op().await
        }
        other => other,
    }
}

/// The record linking a message posted in the card's thread to the message it mirrors.
fn thread_link(card: &ChatRef, id: String, key: &crate::core::MessageKey) -> JobRecord {
    JobRecord::LinkChat {
        chat: ChatRef {
            surface: Surface::Discord,
            workspace: card.workspace.clone(),
            channel: card.message.clone(),
            message: id,
        },
        role: ChatRole::ThreadMessage,
        message: Some(key.clone()),
    }
}

/// The nonce of a job's message (`part` tells two messages of one job apart).
fn nonce(job: &Job, part: &str) -> String {
    format!("sb{}{part}", job.id)
}

/// A refused (rate-limited) call's error: nothing was posted.
const DISCORD_RATE_LIMITED: &str = "Discord rate limit";
/// A look for an earlier post that Discord rate-limited: told apart from a refused post, so
/// that the next attempt looks again.
const LOOKUP_RATE_LIMITED: &str = "Discord rate limit (looking for an earlier post)";

/// How Discord job errors read (see [`super::may_have_posted`]): `Discord: …` for a stall or
/// a 5xx.
const ERRORS: super::PostErrors = super::PostErrors {
    refused: DISCORD_RATE_LIMITED,
    unanswered: "Discord: ",
    lookup_limited: LOOKUP_RATE_LIMITED,
};

/// A look for an earlier post that failed.
fn lookup_failure(e: DiscordError) -> Outcome {
    match e {
        DiscordError::RateLimited { retry_after } => Outcome::Retry {
            after: Some(retry_after),
            error: LOOKUP_RATE_LIMITED.into(),
            rate_limited: true,
        },
        other => failure(other),
    }
}

fn failure(e: DiscordError) -> Outcome {
    match e {
        DiscordError::RateLimited { retry_after } => Outcome::Retry {
            after: Some(retry_after),
            error: DISCORD_RATE_LIMITED.into(),
            rate_limited: true,
        },
        DiscordError::Retryable(detail) => Outcome::Retry {
            after: None,
            error: format!("Discord: {detail}"),
            rate_limited: false,
        },
        e @ DiscordError::Permanent { .. } => Outcome::Fail(e.to_string()),
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

fn done<T>(r: Result<T, DiscordError>) -> Outcome {
    match r {
        Ok(_) => Outcome::Done(vec![]),
        Err(e) => failure(e),
    }
}

/// The forum tag for a status, when the forum has them configured.
fn status_tag(channel: &DiscordChannelConfig, status: Status) -> Option<&str> {
    let tags = channel.status_tags.as_ref()?;
    Some(match status {
        Status::Unread => &tags.unread,
        Status::Read => &tags.read,
        Status::Closed => &tags.closed,
    })
}

/// The Discord destination of a ticket (for forum tags), if it is one.
fn destination<'a>(
    svc: &'a Services,
    ticket: &Ticket,
    account: &'a Account,
) -> Option<(&'a str, &'a DiscordChannelConfig)> {
    match svc.config.destination_for(&ticket.state, account)? {
        Destination::Discord { guild, channel } => Some((guild, channel)),
        Destination::Slack { .. } => None,
    }
}

/// Post a message in the card's thread; a text channel's thread that does not exist yet (its
/// creation failed after the card was posted) is started first.
async fn post_in_thread(
    discord: &DiscordClient,
    card: &ChatRef,
    body: &serde_json::Value,
    nonce: &str,
) -> Result<String, DiscordError> {
    let thread = card.message.as_str();
    match discord.create_message_once(thread, body, nonce).await {
        Err(DiscordError::Permanent {
            code: UNKNOWN_CHANNEL,
            ..
        }) if card.channel != card.message => {
            start_thread(discord, card, "ticket").await?;
            discord.create_message_once(thread, body, nonce).await
        }
        other => other,
    }
}

async fn start_thread(
    discord: &DiscordClient,
    card: &ChatRef,
    name: &str,
) -> Result<(), DiscordError> {
    match discord
        .start_thread(&card.channel, &card.message, name)
        .await
    {
        Ok(_)
        | Err(DiscordError::Permanent {
            code: THREAD_EXISTS,
            ..
        }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The once-mark recorded before a ticket's forum post is first created.
fn forum_post_key(ticket: &Ticket) -> String {
    format!("discord-forum-post:{}", ticket.id)
}

/// The start of a ticket's forum post name: its number (`#12 Facebook comment on …`).
fn forum_post_marker(ticket: &Ticket) -> String {
    format!("#{} ", ticket.id)
}

/// The ticket's post among a server's active threads: in `forum`, named after the ticket.
fn find_forum_post(threads: &[serde_json::Value], forum: &str, ticket: &Ticket) -> Option<String> {
    let marker = forum_post_marker(ticket);
    threads
        .iter()
        .filter(|t| t.get("parent_id").and_then(|p| p.as_str()) == Some(forum))
        .filter(|t| {
            t.get("name")
                .and_then(|n| n.as_str())
                .is_some_and(|n| n.starts_with(&marker))
        })
        .find_map(|t| t.get("id").and_then(|i| i.as_str()).map(str::to_string))
}

/// Discord, as a surface of the outbox.
pub(super) struct Discord;

#[async_trait]
impl SurfaceOutbox for Discord {
    async fn post_card(
        &self,
        svc: &Services,
        job: &Job,
        ticket: &Ticket,
        account: &Account,
        to: Destination<'_>,
    ) -> anyhow::Result<Outcome> {
        let Destination::Discord { guild, channel } = to else {
            return Ok(Outcome::Fail("not a Discord destination".into()));
        };
        post_card(svc, job, ticket, account, guild, channel).await
    }

    async fn post_storm_card(
        &self,
        svc: &Services,
        _job: &Job,
        storm: &crate::store::StormRow,
        view: &crate::core::storm::StormView,
        to: Destination<'_>,
    ) -> anyhow::Result<Outcome> {
        let Some(discord) = &svc.discord else {
            return Ok(Outcome::Fail("Discord is not configured".into()));
        };
        let Destination::Discord { guild, channel } = to else {
            return Ok(Outcome::Fail("not a Discord destination".into()));
        };
        // One storm card per storm: the nonce makes a retry after a lost answer harmless.
        let once = format!("sbstorm{}", storm.id);
        let body = render::storm_card(view);
        let id = match discord.create_message_once(&channel.id, &body, &once).await {
            Ok(id) => id,
            Err(e) => return Ok(failure(e)),
        };
        info!(channel = %channel.id, message = %id, storm = storm.id, "Discord storm card posted");
        let card = ChatRef {
            surface: Surface::Discord,
            workspace: guild.to_string(),
            channel: channel.id.clone(),
            message: id,
        };
        if let Err(e) = start_thread(discord, &card, "comment storm").await {
            warn!(error = %e, "cannot start the storm card's thread yet");
        }
        Ok(Outcome::Done(vec![JobRecord::StormCard {
            storm: storm.id,
            chat: card,
        }]))
    }

    async fn edit_storm_card(
        &self,
        svc: &Services,
        card: &ChatRef,
        view: &crate::core::storm::StormView,
    ) -> anyhow::Result<Outcome> {
        let Some(discord) = &svc.discord else {
            return Ok(Outcome::Fail("Discord is not configured".into()));
        };
        let body = render::storm_card(view);
        Ok(done(
            discord
                .edit_message(&card.channel, &card.message, &body)
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
        let Some(discord) = &svc.discord else {
            return Ok(Outcome::Fail("Discord is not configured".into()));
        };
        // A Discord message carries 2,000 characters after escaping: a batch is what fits,
        // measured on the rendered text (escapes can double a line).
        let budget = STORM_BATCH_CHARS - STORM_HEADING_CHARS;
        let mut n = crate::core::storm::batch_len(lines, lines.len(), budget, |l| {
            l.author.chars().count() + l.text.chars().count().min(text::STORM_LINE_CHARS) + 16
        });
        while n > 1
            && render::content(&text::storm_batch_headed(&lines[..n]), usize::MAX)
                .chars()
                .count()
                > STORM_BATCH_CHARS
        {
            n -= 1;
        }
        let batch = &lines[..n];
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return Ok(Outcome::Done(vec![]));
        };
        // In the card's thread, whose id is the card message's.
        let posted = |upto: i64, id: String| {
            Outcome::Done(vec![JobRecord::StormPosted {
                storm: storm.id,
                upto,
                batch: Some(crate::store::PostedBatch {
                    from: first.seq,
                    chat: ChatRef {
                        channel: card.message.clone(),
                        message: id,
                        ..card.clone()
                    },
                }),
            }])
        };
        // The nonce below covers a retry within Discord's few minutes; an earlier attempt
        // of this job, or a job of this thread that gave up before it, may have posted these
        // lines without an answer longer ago: its batch is looked for first.
        let may_have = super::may_have_posted(job, &ERRORS);
        if let Some(since) = super::look_back_from(svc, job, may_have).await? {
            // After the batch recorded last, when there is one (one customer's comments can
            // make it start and end with the same tickets as these lines): the thread's lane
            // posts in order, so what an unanswered attempt posted comes after it.
            let recorded = svc.store.latest_storm_batch(storm.id).await?;
            let after = recorded
                .and_then(|b| b.chat.message.parse::<u64>().ok())
                .unwrap_or_else(|| snowflake_at(since));
            match find_batch(discord, &card.message, lines, after).await {
                Ok(Some((upto, id))) => {
                    info!(
                        storm = storm.id,
                        upto, "storm batch found from an earlier attempt"
                    );
                    return Ok(posted(upto, id));
                }
                Ok(None) => {}
                // No thread yet (nothing was posted in it), or no access to its history.
                Err(e @ DiscordError::Permanent { .. }) => {
                    warn!(error = %e, "cannot look for an earlier storm batch; posting")
                }
                Err(e) => return Ok(lookup_failure(e)),
            }
        }
        let body = render::message(&text::storm_batch_headed(batch));
        // The nonce is the batch's range: a retry after a lost answer posts nothing twice
        // unless more comments joined the batch meanwhile (then it shows some twice, never
        // none).
        let nonce = format!("sbsb{}-{}", first.seq, last.seq);
        Ok(match post_in_thread(discord, card, &body, &nonce).await {
            Ok(id) => posted(last.seq, id),
            Err(e) => failure(e),
        })
    }

    async fn edit_storm_batch(
        &self,
        svc: &Services,
        batch: &crate::store::StormBatch,
        lines: &[crate::core::storm::StormLine],
    ) -> anyhow::Result<Outcome> {
        let Some(discord) = &svc.discord else {
            return Ok(Outcome::Fail("Discord is not configured".into()));
        };
        let body = render::message(&text::storm_batch_headed(lines));
        // The thread may be archived by now (erasures come late): opened again first.
        let (thread, message) = (&batch.chat.channel, &batch.chat.message);
        let edit = || discord.edit_message(thread, message, &body);
        Ok(done(in_thread(discord, thread, edit).await))
    }

    async fn deliver(
        &self,
        svc: &Services,
        job: &Job,
        ticket: &Ticket,
        account: &Account,
        card: ChatRef,
    ) -> anyhow::Result<Outcome> {
        deliver(svc, job, ticket, account, card).await
    }
}

/// The characters one storm batch carries at most (Discord's message limit is 2,000).
const STORM_BATCH_CHARS: usize = 1_900;
/// The characters a batch's heading takes at most ("100 comments, #… to #…" with long
/// ticket numbers), kept out of the lines' share.
const STORM_HEADING_CHARS: usize = 64;

/// A batch of this storm's thread that an earlier attempt posted without an answer: our own
/// message in `thread` after the snowflake `after` whose heading names `lines` from the first
/// (the earlier attempt read from the same place): as many comments, the first and the last
/// of them the same tickets. The seq of its last line, and its id.
async fn find_batch(
    discord: &DiscordClient,
    thread: &str,
    lines: &[crate::core::storm::StormLine],
    after: u64,
) -> Result<Option<(i64, String)>, DiscordError> {
    let Some(first) = lines.first() else {
        return Ok(None);
    };
    let me = discord.own_user_id().await?;
    let messages = discord.messages_after(thread, after).await?;
    Ok(messages.iter().filter(|m| m.author == me).find_map(|m| {
        let (count, from, to) = text::storm_batch_range(m.content.lines().next()?)?;
        let last = lines.get(count.checked_sub(1)?)?;
        (from == first.ticket && to == last.ticket).then(|| (last.seq, m.id.clone()))
    }))
}

/// The card an earlier attempt posted for `ticket` in `channel` after the snowflake `since`:
/// the bot's own message whose components carry that ticket's actions.
async fn find_card(
    discord: &DiscordClient,
    channel: &str,
    ticket: crate::core::TicketId,
    since: u64,
) -> Result<Option<String>, DiscordError> {
    let me = discord.own_user_id().await?;
    let messages = discord.messages_after(channel, since).await?;
    Ok(messages
        .into_iter()
        .find(|m| {
            m.author == me
                && m.custom_ids.iter().any(|c| {
                    crate::chat::discord::parse_custom_id(c)
                        .is_some_and(|(a, _)| a.ticket == ticket)
                })
        })
        .map(|m| m.id))
}

/// Create the card: a message and its thread, or a forum post.
async fn post_card(
    svc: &Services,
    job: &Job,
    ticket: &Ticket,
    account: &Account,
    guild: &str,
    channel: &DiscordChannelConfig,
) -> anyhow::Result<Outcome> {
    let Some(discord) = &svc.discord else {
        return Ok(Outcome::Fail("Discord is not configured".into()));
    };
    let view = card_view(svc, ticket, account).await?;
    let body = render::card(&view);
    let name = format!("{}{}", forum_post_marker(ticket), view.headline);
    let link = |channel: &str, message: &str, role| JobRecord::LinkChat {
        chat: ChatRef {
            surface: Surface::Discord,
            workspace: guild.to_string(),
            channel: channel.to_string(),
            message: message.to_string(),
        },
        role,
        message: None,
    };
    match channel.kind {
        DiscordChannelKind::Text => {
            // One card per ticket: the nonce makes a retry within minutes harmless. An
            // attempt longer ago (a job brought back by `outbox retry`, or one after a job of
            // the ticket that gave up) may have posted it without an answer: the bot's own
            // message carrying this ticket's buttons stands for it.
            let may_have = super::may_have_posted(job, &ERRORS);
            let mut found = None;
            if let Some(since) = super::look_back_from(svc, job, may_have).await? {
                match find_card(discord, &channel.id, ticket.id, snowflake_at(since)).await {
                    Ok(card) => found = card,
                    Err(e @ DiscordError::Permanent { .. }) => {
                        warn!(error = %e, "cannot look for an earlier card; posting")
                    }
                    Err(e) => return Ok(lookup_failure(e)),
                }
            }
            let id = match found {
                Some(id) => {
                    info!(channel = %channel.id, message = %id, "Discord card found from an earlier attempt");
                    // It shows the ticket as it was then: shown as it is now (or by the next
                    // card edit, if this one fails).
                    if let Err(e) = discord.edit_message(&channel.id, &id, &body).await {
                        warn!(error = %e, "cannot refresh the card found");
                    }
                    id
                }
                None => {
                    let once = format!("sbcard{}", ticket.id);
                    match discord.create_message_once(&channel.id, &body, &once).await {
                        Ok(id) => {
                            info!(channel = %channel.id, message = %id, "Discord card posted");
                            id
                        }
                        Err(e) => return Ok(failure(e)),
                    }
                }
            };
            let card = ChatRef {
                surface: Surface::Discord,
                workspace: guild.to_string(),
                channel: channel.id.clone(),
                message: id.clone(),
            };
            // The card is recorded even if the thread fails now: the first thread message
            // starts it (see `post_in_thread`), and posting the card again would double it.
            if let Err(e) = start_thread(discord, &card, &name).await {
                warn!(error = %e, "cannot start the card's thread yet");
            }
            Ok(Outcome::Done(vec![
                link(&channel.id, &id, ChatRole::Card),
                // Thread messages arrive in the thread's own channel (= the card's id).
                link(&id, &id, ChatRole::ThreadMessage),
            ]))
        }
        DiscordChannelKind::Forum => {
            // Forum posts take no nonce. The intent is recorded before the first create; any
            // later attempt (its answer may have been lost after Discord created the post)
            // looks for the post, named "#<ticket> …", before creating one.
            let once = forum_post_key(ticket);
            if !svc.store.first_time(&once, chrono::Utc::now()).await? {
                let threads = match discord.active_threads(guild).await {
                    Ok(t) => t,
                    Err(e) => return Ok(failure(e)),
                };
                if let Some(thread) = find_forum_post(&threads, &channel.id, ticket) {
                    info!(forum = %channel.id, %thread, "Discord forum post found after a retry");
                    return Ok(Outcome::Done(vec![link(&thread, &thread, ChatRole::Card)]));
                }
            }
            let tags: Vec<&str> = status_tag(channel, ticket.state.status)
                .into_iter()
                .collect();
            match discord
                .start_forum_post(&channel.id, &name, &body, &tags)
                .await
            {
                Ok(thread) => {
                    info!(forum = %channel.id, %thread, "Discord forum post created");
                    Ok(Outcome::Done(vec![link(&thread, &thread, ChatRole::Card)]))
                }
                Err(e) => Ok(failure(e)),
            }
        }
    }
}

/// Every other chat effect of a ticket whose card is on Discord.
async fn deliver(
    svc: &Services,
    job: &Job,
    ticket: &Ticket,
    account: &Account,
    card: ChatRef,
) -> anyhow::Result<Outcome> {
    let Some(discord) = &svc.discord else {
        return Ok(Outcome::Fail("Discord is not configured".into()));
    };
    let author = ticket.state.customer_name();
    match &job.effect {
        // Delivered before a ticket's card is looked for (see `outbox::deliver`).
        Effect::StormCard { .. } | Effect::StormThread { .. } | Effect::StormBatchEdit { .. } => {
            Ok(Outcome::Done(vec![]))
        }
        Effect::UpdateCard => {
            let body = render::card(&card_view(svc, ticket, account).await?);
            // A forum post's tags follow the status; setting them also unarchives the post,
            // so do it first: an archived post refuses the edit.
            if let Some((_, channel)) = destination(svc, ticket, account)
                && channel.kind == DiscordChannelKind::Forum
                && let Some(tag) = status_tag(channel, ticket.state.status)
                && let Err(e) = discord.set_thread_tags(&card.message, &[tag]).await
            {
                return Ok(failure(e));
            }
            let edit = || discord.edit_message(&card.channel, &card.message, &body);
            Ok(done(in_thread(discord, &card.channel, edit).await))
        }
        Effect::PostThreadMessage { key, broadcast } => {
            let Some(msg) = svc.store.message(key).await? else {
                return Ok(Outcome::Fail(format!("message {key} not found")));
            };
            if svc.store.chat_of_message(key).await?.is_some() {
                return Ok(Outcome::Done(vec![]));
            }
            let body = render::thread_customer_message(&author, &msg.text, msg.edited, msg.deleted);
            let id = match post_in_thread(discord, &card, &body, &nonce(job, "")).await {
                Ok(id) => id,
                Err(e) => return Ok(failure(e)),
            };
            // Slack's "also send to channel": a notice in the card's text channel linking the
            // thread (a forum post is bumped by the message itself). Best effort: the message
            // is in the thread already, and retrying would post it twice.
            if *broadcast && card.channel != card.message {
                let headline =
                    text::card_headline(ticket.state.network, ticket.state.kind, &account.name);
                let notice = render::customer_notice(
                    &author,
                    &headline,
                    &render::card_link(&card),
                    &msg.text,
                    None,
                );
                if let Err(e) = discord
                    .create_message_once(&card.channel, &notice, &nonce(job, "n"))
                    .await
                {
                    warn!(error = %e, "cannot post the channel notice");
                }
            }
            Ok(Outcome::Done(vec![thread_link(&card, id, key)]))
        }
        Effect::UpdateThreadMessage { key } => {
            let (Some(chat), Some(msg)) = (
                svc.store.chat_of_message(key).await?,
                svc.store.message(key).await?,
            ) else {
                return Ok(Outcome::Done(vec![]));
            };
            let body = render::thread_customer_message(&author, &msg.text, msg.edited, msg.deleted);
            let edit = || discord.edit_message(&chat.channel, &chat.message, &body);
            Ok(done(in_thread(discord, &chat.channel, edit).await))
        }
        Effect::PostReplyCopy { key } => {
            let Some(msg) = svc.store.message(key).await? else {
                return Ok(Outcome::Fail(format!("reply {key} not found")));
            };
            if svc.store.chat_of_message(key).await?.is_some() {
                return Ok(Outcome::Done(vec![]));
            }
            let copy = match &msg.teammate {
                Some(t) => text::modal_reply_copy(&render::mention(t), &msg.text),
                None => text::auto_reply_copy(&msg.text),
            };
            let body = render::message(&copy);
            Ok(
                match post_in_thread(discord, &card, &body, &nonce(job, "")).await {
                    Ok(id) => Outcome::Done(vec![thread_link(&card, id, key)]),
                    Err(e) => failure(e),
                },
            )
        }
        Effect::ShowDelivery { key, state } => {
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
                && let Err(e) = in_thread(discord, &chat.channel, || {
                    discord.add_reaction(&chat.channel, &chat.message, reaction(mark))
                })
                .await
            {
                return Ok(failure(e));
            }
            for mark in remove {
                if let Err(e) = in_thread(discord, &chat.channel, || {
                    discord.remove_reaction(&chat.channel, &chat.message, reaction(*mark))
                })
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
                return Ok(Outcome::Done(vec![]));
            };
            let who = msg
                .teammate
                .as_ref()
                .map(render::mention)
                .unwrap_or_else(|| "Teammate".to_string());
            // A configured token that expired also alerts the account's channel, once. A
            // connected account's channel is told by its health alert.
            if *reason == FailureReason::TokenExpired && !account.is_connected() {
                let once = token_alert_key(ticket);
                if svc.store.first_time(&once, chrono::Utc::now()).await? {
                    let alert =
                        render::message(&text::token_alert(ticket.state.network, &account.name));
                    let posted = match svc.config.account_destination(account) {
                        Some(Destination::Discord { channel, .. }) => match channel.kind {
                            // A forum takes posts, not messages: alert in this ticket's thread.
                            DiscordChannelKind::Forum => {
                                post_in_thread(discord, &card, &alert, &nonce(job, "a"))
                                    .await
                                    .map(drop)
                            }
                            DiscordChannelKind::Text => discord
                                .create_message_once(&channel.id, &alert, &nonce(job, "a"))
                                .await
                                .map(drop),
                        },
                        _ => post_in_thread(discord, &card, &alert, &nonce(job, "a"))
                            .await
                            .map(drop),
                    };
                    if let Err(e) = posted {
                        svc.store.forget(&once).await?;
                        return Ok(failure(e));
                    }
                }
            }
            // The author is pinged: their reply did not go out.
            let users: Vec<&str> = msg
                .teammate
                .as_ref()
                .map(|t| t.id.as_str())
                .into_iter()
                .collect();
            let explained = match msg.teammate {
                Some(_) => text::reply_failed(&who, ticket.state.network, reason),
                None => text::auto_reply_failed(ticket.state.network, reason),
            };
            let body = render::pinging(&explained, &users, &[]);
            Ok(done(
                post_in_thread(discord, &card, &body, &nonce(job, "")).await,
            ))
        }
        Effect::NotifyAssignee { notice } => {
            notify(svc, discord, job, ticket, account, &card, notice).await
        }
        Effect::ReviewUpdated {
            before,
            after,
            broadcast,
        } => {
            // Erased since: the review's texts are not the team's to show any more.
            if ticket.state.erased {
                return Ok(Outcome::Done(vec![]));
            }
            let body = render::message(&text::review_updated(&author, before, after));
            if let Err(e) = post_in_thread(discord, &card, &body, &nonce(job, "")).await {
                return Ok(failure(e));
            }
            // The channel notice a customer's new message gets (best effort, as there).
            if *broadcast && card.channel != card.message {
                let headline =
                    text::card_headline(ticket.state.network, ticket.state.kind, &account.name);
                let notice = render::customer_notice(
                    &author,
                    &headline,
                    &render::card_link(&card),
                    &after.text,
                    None,
                );
                if let Err(e) = discord
                    .create_message_once(&card.channel, &notice, &nonce(job, "n"))
                    .await
                {
                    warn!(error = %e, "cannot post the channel notice");
                }
            }
            Ok(Outcome::Done(vec![]))
        }
        // In the card's thread, pinging the SLA's role when one is set; the channel gets a
        // notice linking to the card, as for a customer's new message.
        Effect::SlaAlert {
            target,
            breached,
            since,
        } => {
            let Some(due) = super::sla_alert_due(ticket, *target, *breached, *since) else {
                return Ok(Outcome::Done(vec![]));
            };
            let role = super::sla_notify(svc, ticket, account);
            let group = role.map(|r| format!("<@&{r}> ")).unwrap_or_default();
            let alert = text::sla_alert(
                *target,
                *breached,
                &author,
                ticket.id,
                &group,
                &render::card_link(&card),
                &render::relative_time(due),
            );
            let roles: Vec<&str> = role.into_iter().collect();
            let body = render::pinging(&alert, &[], &roles);
            if card.channel != card.message {
                // A text channel: the alert shows in the channel itself, linking the card.
                return Ok(done(
                    discord
                        .create_message_once(&card.channel, &body, &nonce(job, ""))
                        .await,
                ));
            }
            Ok(done(
                post_in_thread(discord, &card, &body, &nonce(job, "")).await,
            ))
        }
        // A forum takes posts, not messages: there the notice goes in this ticket's post.
        Effect::CardsPostedLate { tickets } => {
            let notice = render::plain(&text::cards_posted_late(tickets));
            Ok(done(
                discord
                    .create_message_once(&card.channel, &notice, &nonce(job, ""))
                    .await,
            ))
        }
        // Not chat effects: the caller handles them.
        Effect::PostCard | Effect::SendReply { .. } | Effect::Moderate { .. } => {
            Ok(Outcome::Done(vec![]))
        }
    }
}

/// What the customer wrote, for a notice.
async fn said(svc: &Services, key: &crate::core::MessageKey) -> anyhow::Result<String> {
    Ok(svc
        .store
        .message(key)
        .await?
        .map(|m| m.text)
        .unwrap_or_default())
}

/// A DM to an assigned member; a role mention in the thread for a team.
async fn notify(
    svc: &Services,
    discord: &DiscordClient,
    job: &Job,
    ticket: &Ticket,
    account: &Account,
    card: &ChatRef,
    notice: &AssigneeNotice,
) -> anyhow::Result<Outcome> {
    let Some(assignee) = ticket.state.assignee.clone() else {
        return Ok(Outcome::Done(vec![]));
    };
    let link = render::card_link(card);
    let headline = text::card_headline(ticket.state.network, ticket.state.kind, &account.name);
    let author = ticket.state.customer_name();
    match (&assignee, notice) {
        (Assignee::Person(t), _) if t.surface != Surface::Discord => Ok(Outcome::Done(vec![])),
        (Assignee::Person(t), notice) => {
            let body = match notice {
                AssigneeNotice::Assigned { by, note } => render::message(&text::assigned_dm(
                    &render::mention(by),
                    &headline,
                    &link,
                    note.as_deref(),
                )),
                AssigneeNotice::AutoAssigned { rule } => {
                    render::message(&text::auto_assigned_dm(&headline, &link, rule))
                }
                AssigneeNotice::CustomerReplied { key } => {
                    let said = said(svc, key).await?;
                    render::customer_notice(&author, &headline, &link, &said, None)
                }
            };
            let dm = match discord.dm_channel(t.id.as_str()).await {
                Ok(c) => c,
                Err(e) => return Ok(failure(e)),
            };
            Ok(done(
                discord
                    .create_message_once(&dm, &body, &nonce(job, ""))
                    .await,
            ))
        }
        (Assignee::Team(name), notice) => {
            let Some(team) = svc.config.discord_team(name) else {
                return Ok(Outcome::Done(vec![]));
            };
            let role = team.role.as_str();
            let msg = match notice {
                AssigneeNotice::Assigned { by, note } => render::pinging(
                    &text::assigned_team(
                        &render::mention(by),
                        &format!("<@&{role}>"),
                        note.as_deref(),
                    ),
                    &[],
                    &[role],
                ),
                AssigneeNotice::AutoAssigned { rule } => render::pinging(
                    &text::auto_assigned_team(&format!("<@&{role}>"), rule),
                    &[],
                    &[role],
                ),
                AssigneeNotice::CustomerReplied { key } => {
                    let said = said(svc, key).await?;
                    render::customer_notice(&author, &headline, &link, &said, Some(role))
                }
            };
            Ok(done(
                post_in_thread(discord, card, &msg, &nonce(job, "")).await,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::TicketId;

    #[test]
    fn an_earlier_post_is_looked_for_only_when_one_may_have_landed() {
        let job = |attempts: i32, last: Option<&str>| Job {
            id: 1,
            ticket: TicketId(1),
            lane: "storm:1:thread".into(),
            effect: Effect::StormThread { storm: 1 },
            attempts,
            created_at: chrono::Utc::now(),
            budget_from: chrono::Utc::now(),
            last_error: last.map(str::to_string),
            claim: 1,
        };
        let refused = DiscordError::Permanent {
            status: 404,
            code: UNKNOWN_CHANNEL,
            message: "Unknown Channel".into(),
        }
        .to_string();
        for (attempts, last, looks) in [
            (1, None, false),
            // A wait (pacing, the card not posted yet) is not an attempt.
            (1, Some("waiting for the storm card"), false),
            // A stall or a 5xx may have posted; a refused (rate-limited) post did not.
            (2, Some("Discord: HTTP 502 Bad Gateway"), true),
            (2, Some(DISCORD_RATE_LIMITED), false),
            (3, Some("waiting for the storm card"), true),
            // A rate-limited lookup looks again, also when brought back by `outbox retry`.
            (3, Some(LOOKUP_RATE_LIMITED), true),
            (1, Some(LOOKUP_RATE_LIMITED), true),
            // Brought back by `outbox retry` (attempts start again).
            (1, Some("Discord: HTTP 503 Service Unavailable"), true),
            (1, Some(refused.as_str()), false),
        ] {
            assert_eq!(
                super::super::may_have_posted(&job(attempts, last), &ERRORS),
                looks,
                "{attempts} {last:?}"
            );
        }
        assert!(refused.starts_with("Discord refused"), "{refused}");
        // The errors the outbox records read as the table says.
        assert!(matches!(
            failure(DiscordError::Retryable("HTTP 502".into())),
            Outcome::Retry { error, rate_limited: false, .. } if error.starts_with(ERRORS.unanswered)
        ));
        let limited = || DiscordError::RateLimited {
            retry_after: std::time::Duration::from_secs(1),
        };
        assert!(matches!(
            failure(limited()),
            Outcome::Retry { error, rate_limited: true, .. } if error == ERRORS.refused
        ));
        assert!(matches!(
            lookup_failure(limited()),
            Outcome::Retry { error, .. } if error == ERRORS.lookup_limited
        ));
    }
}
