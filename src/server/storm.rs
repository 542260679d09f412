//! A storm card's controls, the same on both surfaces: which tickets a click acts on (the
//! storm's, and only from the storm's channel unless an admin clicks), as a bulk action the
//! inbox worker runs, a card of its own for one listed comment, or the replies "reply to
//! selected" queues ([`StormReplies`]).

use chrono::Utc;

use crate::core::filter::Filter;
use crate::core::permission::Permission;
use crate::core::storm::{StormAction, StormVerb};
use crate::core::{CardAction, Effect, Status, TicketId, text};
use crate::workers::Services;
use crate::workers::inbox::MAX_BULK_TICKETS;

use super::Refusal;
use super::scope::Scope;

/// What a click on a storm card comes to.
// One per click, returned at once: boxing the bulk variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Plan {
    /// Refused or nothing to do: tell the clicker, change nothing.
    Tell(String),
    /// Ask before closing everything (a surface without a confirm dialog).
    Confirm,
    /// Ask before hiding what contains this word (a surface without a confirm dialog).
    ConfirmHide(String),
    /// Run a bulk action on the storm's tickets.
    Bulk(StormBulk),
    /// The ticket's own card is queued.
    Opened(TicketId),
    /// Open the editor that replies to chosen comments (its submission: [`StormReplies`]).
    ReplyEditor,
    /// Open the form that asks which word or phrase to hide.
    AskWord,
}

/// What a storm control needs the clicker to be allowed to do.
pub fn permission(verb: StormVerb) -> Option<Permission> {
    match verb {
        StormVerb::CloseAll | StormVerb::CloseAllConfirmed => Some(Permission::Close),
        StormVerb::AssignAllToMe | StormVerb::AssignAllTo | StormVerb::AssignAllTeam => {
            Some(Permission::Assign)
        }
        StormVerb::OpenCard => None,
        StormVerb::ReplySelected => Some(Permission::Reply),
        StormVerb::TagAll => Some(CardAction::AcceptTag.bulk_permission()),
        StormVerb::HideMatching | StormVerb::HideMatchingConfirmed | StormVerb::HideTyped => {
            Some(Permission::Moderate)
        }
    }
}

/// Plan a click on storm `a`'s card, made in `here` (channel keys, `slack:C1`: the channel and,
/// on Discord, its parent) by someone whose scope is `scope` (permission already checked).
/// `asks`: the surface has its own confirm dialog, so "Close all" arrives confirmed.
pub async fn plan(
    svc: &Services,
    me: &crate::core::Teammate,
    scope: &Scope,
    here: &[String],
    a: StormAction,
    selected: Option<&str>,
    asks: bool,
) -> Result<Plan, Refusal> {
    let storm = svc
        .store
        .storm(a.storm)
        .await
        .map_err(|e| Refusal::internal("cannot read a storm", e))?;
    let Some(storm) = storm else {
        return Ok(Plan::Tell(text::NO_SUCH_STORM.into()));
    };
    if !in_reach(scope, here, &storm) {
        return Ok(Plan::Tell(text::STORM_NOT_HERE.into()));
    }
    let Ok(route) = scope.route() else {
        return Ok(Plan::Tell(text::NOT_AN_INBOX_CHANNEL.into()));
    };
    let chosen = || {
        selected
            .or(a.arg.as_deref())
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.chars().count() <= crate::core::storm::MAX_CHOICE_CHARS)
            .map(str::to_string)
    };
    let (mut tag, mut keyword, mut assignee) = (None, None, None);
    // Open tickets for the status and assignment actions; every ticket for tags and hiding.
    let mut statuses = vec![Status::Unread, Status::Read];
    let action = match a.verb {
        StormVerb::ReplySelected => return Ok(Plan::ReplyEditor),
        StormVerb::HideTyped => return Ok(Plan::AskWord),
        StormVerb::CloseAll if !asks => return Ok(Plan::Confirm),
        StormVerb::CloseAll | StormVerb::CloseAllConfirmed => CardAction::Close,
        StormVerb::AssignAllToMe => CardAction::AssignToMe,
        StormVerb::AssignAllTo => {
            let Some(user) = chosen() else {
                return Ok(Plan::Tell(text::STORM_NOTHING_CHOSEN.into()));
            };
            assignee = Some(crate::core::Assignee::Person(crate::core::Teammate {
                surface: me.surface,
                id: crate::core::ChatUserId::new(user),
            }));
            CardAction::AssignPerson
        }
        StormVerb::AssignAllTeam => {
            let Some(team) = chosen().and_then(|t| svc.config.team_name(&t)) else {
                return Ok(Plan::Tell(text::NO_SUCH_TEAM.into()));
            };
            assignee = Some(crate::core::Assignee::Team(team));
            CardAction::AssignTeam
        }
        StormVerb::TagAll => {
            let Some(t) = chosen() else {
                return Ok(Plan::Tell(text::STORM_NOTHING_CHOSEN.into()));
            };
            tag = Some(t);
            statuses.clear();
            CardAction::AcceptTag
        }
        StormVerb::HideMatching | StormVerb::HideMatchingConfirmed => {
            let Some(word) = chosen() else {
                return Ok(Plan::Tell(text::STORM_NOTHING_CHOSEN.into()));
            };
            if a.verb == StormVerb::HideMatching && !asks {
                return Ok(Plan::ConfirmHide(word));
            }
            keyword = Some(word);
            statuses.clear();
            CardAction::Hide
        }
        StormVerb::OpenCard => {
            let Some(ticket) = selected.and_then(|v| v.parse::<i64>().ok()).map(TicketId) else {
                return Err(Refusal::new(
                    axum::http::StatusCode::BAD_REQUEST,
                    "no comment chosen",
                ));
            };
            let member = svc
                .store
                .storm_of_ticket(ticket)
                .await
                .map_err(|e| Refusal::internal("cannot read a storm", e))?;
            if member != Some(storm.id) {
                return Ok(Plan::Tell(text::NO_SUCH_TICKET.into()));
            }
            // Its own lane, like a card re-post: never behind the ticket's other chat jobs.
            svc.store
                .enqueue_job_once(
                    &format!("storm-open:{ticket}"),
                    ticket,
                    &crate::store::repost_lane(ticket),
                    &Effect::PostCard,
                    Utc::now(),
                )
                .await
                .map_err(|e| Refusal::internal("cannot queue a card", e))?;
            svc.wake_outbox.notify_one();
            return Ok(Plan::Opened(ticket));
        }
    };
    let filter = Filter {
        statuses,
        route,
        storm: Some(storm.id),
        ..Filter::default()
    };
    let matched = svc
        .store
        .find_tickets(&filter, MAX_BULK_TICKETS)
        .await
        .map_err(|e| Refusal::internal("cannot match tickets", e))?
        .iter()
        .filter(|t| {
            keyword
                .as_deref()
                .is_none_or(|k| crate::core::storm::mentions(&t.state, k))
        })
        .count();
    if matched == 0 {
        return Ok(Plan::Tell(text::NO_MATCH.into()));
    }
    Ok(Plan::Bulk(StormBulk {
        action,
        filter,
        matched,
        tag,
        keyword,
        assignee,
    }))
}

/// `action` on the tickets `filter` matches (`matched` of them now), with the tag it adds, only
/// on those containing `keyword`, or to `assignee`.
#[derive(Debug)]
pub struct StormBulk {
    action: CardAction,
    filter: Filter,
    pub matched: usize,
    tag: Option<String>,
    keyword: Option<String>,
    assignee: Option<crate::core::Assignee>,
}

impl StormBulk {
    /// The inbox event that runs it for `teammate`, reporting back through Slack's
    /// `response_url` or Discord's interaction token where there is one.
    pub fn event(
        self,
        teammate: crate::core::Teammate,
        response_url: Option<String>,
        discord_token: Option<String>,
    ) -> crate::workers::InboxEvent {
        crate::workers::InboxEvent::Bulk {
            teammate,
            action: self.action,
            filter: self.filter,
            response_url,
            discord_token,
            tag: self.tag,
            keyword: self.keyword,
            assignee: self.assignee,
        }
    }
}

/// The storm's open comments a "reply to selected" editor offers, newest first.
pub async fn reply_choices(
    svc: &Services,
    storm: &crate::store::StormRow,
) -> Result<Vec<crate::core::storm::StormLine>, Refusal> {
    let lines = svc
        .store
        .storm_newest(storm.id, 5_000)
        .await
        .map_err(|e| Refusal::internal("cannot read a storm", e))?;
    let view = crate::core::storm::StormView::of(
        crate::core::storm::StormFacts {
            id: storm.id,
            count: storm.count,
            started_at: storm.started_at,
            ended_at: storm.ended_at,
            subject: None,
            link: None,
            lines: &lines,
            // Only the choices are used.
            tally: None,
        },
        Utc::now(),
    );
    // Answered ones are left out: a second editor would answer them again.
    Ok(view.choices.into_iter().filter(|l| !l.answered).collect())
}

/// Whether a control used from `here` (channel keys, as [`plan`] takes them) by someone whose
/// scope is `scope` may act on `storm`: its own channel's members, or an admin from anywhere.
pub fn in_reach(scope: &Scope, here: &[String], storm: &crate::store::StormRow) -> bool {
    matches!(scope, Scope::Everywhere) || here.contains(&storm.channel)
}

/// Why a "reply to selected" submission queues nothing (each surface says it its own way:
/// Slack next to the input, Discord in an ephemeral answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyRefusal {
    /// No comment was chosen.
    NoneChosen,
    /// No saved reply was chosen, or it was deleted since.
    NoSavedReply,
    /// The storm is no longer known.
    NoSuchStorm,
}

impl ReplyRefusal {
    /// The sentence that says it.
    pub fn text(self) -> &'static str {
        match self {
            ReplyRefusal::NoneChosen => text::STORM_REPLY_NONE_CHOSEN,
            ReplyRefusal::NoSavedReply => text::STORM_REPLY_NO_SAVED,
            ReplyRefusal::NoSuchStorm => text::NO_SUCH_STORM,
        }
    }
}

/// A storm's "reply to selected" submission, the same on both surfaces once read: the chosen
/// saved reply, filled for each chosen comment's author, queued as that ticket's reply (each
/// gets its own card, as anything a teammate acts on). The surface checks the Reply
/// permission first, then [`StormReplies::check`], decides the scope, and [`StormReplies::queue`]s.
#[derive(Debug)]
pub struct StormReplies {
    /// The storm answered (its channel is where its card, and so the editor, was).
    pub storm: crate::store::StormRow,
    reply: crate::core::saved_reply::SavedReply,
    tickets: Vec<TicketId>,
}

impl StormReplies {
    /// The submission's choices, checked in this order: at least one comment, a saved reply
    /// that still exists, a storm still known.
    pub async fn check(
        svc: &Services,
        storm: i64,
        tickets: Vec<TicketId>,
        saved: Option<crate::core::saved_reply::SavedReplyId>,
    ) -> Result<Result<Self, ReplyRefusal>, Refusal> {
        if tickets.is_empty() {
            return Ok(Err(ReplyRefusal::NoneChosen));
        }
        let index = svc
            .saved
            .index(&svc.store)
            .await
            .map_err(|e| Refusal::internal("cannot load saved replies", format!("{e:#}")))?;
        let Some(reply) = saved.and_then(|id| index.get(id)).cloned() else {
            return Ok(Err(ReplyRefusal::NoSavedReply));
        };
        let Some(storm) = svc
            .store
            .storm(storm)
            .await
            .map_err(|e| Refusal::internal("cannot read a storm", e))?
        else {
            return Ok(Err(ReplyRefusal::NoSuchStorm));
        };
        Ok(Ok(Self {
            storm,
            reply,
            tickets,
        }))
    }

    /// Queue one reply per chosen comment by `me` (`agent`: their name, for `{agent_name}`),
    /// all in one inbox commit (Slack wants its answer within 3 s, Discord too). Comments no
    /// longer in the storm, outside `scope`, or whose filled reply does not fit the network
    /// are skipped. Each reply is keyed by the submission (`source` and `submission`: Slack's
    /// view id, Discord's interaction id) and its ticket, so a redelivered submission queues
    /// nothing twice. Returns how many were queued and skipped.
    pub async fn queue(
        self,
        svc: &Services,
        scope: &Scope,
        me: &crate::core::Teammate,
        agent: &str,
        source: &str,
        submission: &str,
    ) -> Result<(usize, usize), Refusal> {
        let (mut queued, mut skipped) = (0, 0);
        let mut rows = Vec::new();
        for id in self.tickets {
            let member = svc
                .store
                .storm_of_ticket(id)
                .await
                .map_err(|e| Refusal::internal("cannot read a storm", e))?;
            let Some(t) = svc
                .store
                .ticket(id)
                .await
                .map_err(|e| Refusal::internal("cannot read a ticket", e))?
            else {
                skipped += 1;
                continue;
            };
            if member != Some(self.storm.id) || !scope.admits(svc, &t).await? {
                skipped += 1;
                continue;
            }
            let author = t.state.customer_name();
            let account = svc
                .account(t.state.network, t.state.account.as_str())
                .map(|p| p.name.clone())
                .unwrap_or_else(|| t.state.account.to_string());
            let vars = crate::core::saved_reply::Vars {
                author_name: &author,
                account_name: &account,
                agent_name: agent,
            };
            let Ok(text) = crate::core::saved_reply::fill(&self.reply.body, &vars) else {
                skipped += 1;
                continue;
            };
            if crate::core::capabilities::check_reply(
                &t,
                &svc.capabilities(&t.state),
                &text,
                Utc::now(),
            )
            .is_err()
            {
                skipped += 1;
                continue;
            }
            let event = crate::workers::InboxEvent::ModalReply {
                teammate: me.clone(),
                ticket: id,
                view_id: format!("{submission}:{id}"),
                text,
            };
            rows.push(
                event
                    .to_row_in_thread(source, format!("view:{submission}:{id}"), None)
                    .map_err(|e| Refusal::internal("cannot serialise an inbox event", e))?,
            );
            queued += 1;
        }
        // A redelivered submission finds them stored already.
        if !rows.is_empty() {
            let inserted = svc
                .inbox
                .insert(rows)
                .await
                .map_err(|e| Refusal::internal("cannot store the replies", e))?;
            if inserted > 0 {
                svc.wake_inbox.notify_one();
            }
        }
        Ok((queued, skipped))
    }
}
