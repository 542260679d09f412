//! Storm mode, the worker side: which storm a customer's message joins (decided with the
//! message's commit, see `workers::apply`), and the round that ends quiet storms.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::Destination;
use crate::core::storm::{self, Join};
use crate::core::{Decision, Effect, InboundItem, MessageKey, Ticket};
use crate::store::{NewStorm, StormJoin, StormPost, StormWrite};

use super::Services;

/// The key of a destination's storms and pacing (`slack:C1`, `discord:123`).
pub fn channel_key(to: &Destination<'_>) -> String {
    match to {
        Destination::Slack { channel } => format!("slack:{channel}"),
        Destination::Discord { channel, .. } => format!("discord:{}", channel.id),
    }
}

/// What a customer's message under a post does to the post's storm in its channel, and the
/// decision's chat effects dropped when the storm shows it instead (its network effects, an
/// automatic reply, stay). `None`: nothing to write.
pub async fn plan(
    svc: &Services,
    before: Option<&Ticket>,
    decision: &mut Decision,
    item: &InboundItem,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<StormWrite>> {
    let cfg = &svc.config.storm;
    if !cfg.enabled || !storm::storms(item.kind) {
        return Ok(None);
    }
    let state = &decision.state;
    let Some(owner) = svc.account(state.network, state.account.as_str()) else {
        return Ok(None);
    };
    let Some(to) = svc.config.destination_for(state, &owner) else {
        return Ok(None);
    };
    // A forum's tickets are posts of their own: a storm there stays a post per comment.
    if let Destination::Discord { channel, .. } = &to
        && channel.kind == crate::config::DiscordChannelKind::Forum
    {
        return Ok(None);
    }
    let channel = channel_key(&to);
    let post_key = format!(
        "{}:{}:{}",
        item.network.as_str(),
        item.account,
        item.post_id
    );
    let key = format!("{channel}|{post_key}");
    let stored = svc.store.post_activity(&key).await?;
    if let Some(t) = before {
        // A customer writing again: only a ticket this storm shows (one of its members, with
        // no card of its own) stays in it, and only while the storm runs. A ticket from before
        // the storm keeps its card, even one still waiting to be posted.
        let running = stored.as_ref().and_then(|a| a.activity.storm);
        if running.is_none()
            || svc.store.storm_of_ticket(t.id).await? != running
            || svc.store.card_of(t.id).await?.is_some()
        {
            return Ok(None);
        }
    }
    let o = storm::observe(
        stored.as_ref().map(|a| &a.activity),
        before.is_none(),
        now,
        &cfg.policy(),
    );
    let join = match o.join {
        Join::No if !o.changed => return Ok(None),
        Join::No => StormJoin::No,
        Join::Existing(id) => StormJoin::Existing(id),
        Join::Start => StormJoin::Start(NewStorm {
            post_key,
            channel,
            post: StormPost {
                subject: item.context.subject.clone(),
                link: item
                    .context
                    .subject_url
                    .clone()
                    .or_else(|| item.permalink.as_deref().and_then(post_link)),
            },
        }),
    };
    let message = if join == StormJoin::No {
        None
    } else {
        // The storm card and its thread show this message: no card, no thread copy.
        decision
            .effects
            .retain(|e| matches!(e, Effect::SendReply { .. } | Effect::Moderate { .. }));
        Some(MessageKey::inbound(item.network, &item.item_id))
    };
    Ok(Some(StormWrite {
        key,
        version: stored.map(|a| a.version),
        recent: o.recent,
        join,
        message,
    }))
}

/// The post's link from a comment's (`…/posts/1?comment_id=2` → `…/posts/1`): the comment,
/// and so its author, is not named.
fn post_link(comment: &str) -> Option<String> {
    let mut url = url::Url::parse(comment).ok()?;
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

/// Ends quiet storms (their final card edit and last batch are queued with the end) every
/// `storm.check_secs`. Any replica may run it: the end is one conditional update.
pub async fn run(svc: Arc<Services>, mut shutdown: watch::Receiver<bool>) {
    if !svc.config.storm.enabled {
        return;
    }
    let every = Duration::from_secs(svc.config.storm.check_secs.max(1));
    loop {
        match end_quiet(&svc, Utc::now()).await {
            Ok(ended) if !ended.is_empty() => info!(?ended, "storms ended"),
            Ok(_) => {}
            Err(e) => warn!(error = format!("{e:#}"), "cannot end quiet storms"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}

/// One round at `now`: the storms it ended.
pub async fn end_quiet(svc: &Services, now: DateTime<Utc>) -> anyhow::Result<Vec<i64>> {
    let policy = svc.config.storm.policy();
    let ended = svc
        .store
        .end_quiet_storms(now - policy.quiet, now - policy.window, now)
        .await?;
    if !ended.is_empty() {
        svc.wake_outbox.notify_one();
    }
    Ok(ended)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_post_link_names_no_comment() {
        assert_eq!(
            super::post_link("https://www.facebook.com/1_2?comment_id=3#x").as_deref(),
            Some("https://www.facebook.com/1_2")
        );
        assert_eq!(super::post_link("not a url"), None);
    }
}
