//! Auto-assignment of new tickets: the rules of the surface the card goes to are tried in
//! order (`core::autoassign`); a round-robin rule reads its team from the store and moves the
//! team's cursor there, so every replica takes turns from the same place.
//!
//! The pick and the ticket's commit are two transactions. The cursor is moved by
//! compare-and-set, so two tickets picked at once never both take the same turn; what they
//! may share is the open-ticket counts, which include neither ticket until it commits: when
//! one member is strictly least loaded, both may go to them (the counts even out again with
//! the next tickets). A pick whose ticket then fails to commit has moved the cursor anyway:
//! that member's turn is skipped once. Nothing is assigned twice: the assignment is part of
//! the commit that opens the ticket.

use anyhow::bail;
use chrono::Utc;

use crate::config::Destination;
use crate::core::autoassign::{self, AutoAssigned, Facts, Target};
use crate::core::{Assignee, ChatUserId, Surface, Teammate, TicketState};

use super::Services;

/// How many times a round-robin pick is tried again when another pick moved the team's
/// cursor first.
const MAX_PICK_ATTEMPTS: usize = 8;

/// The assignment the rules make for a ticket about to open (`state` is its opening state);
/// `None`: no rule applies (or every applicable round-robin team is away).
pub async fn plan(svc: &Services, state: &TicketState) -> anyhow::Result<Option<AutoAssigned>> {
    if svc.config.auto_assign_rules(Surface::Slack).is_empty()
        && svc.config.auto_assign_rules(Surface::Discord).is_empty()
    {
        return Ok(None);
    }
    let Some(account) = svc
        .account_fresh(state.network, state.account.as_str())
        .await?
    else {
        return Ok(None);
    };
    let surface = match svc.config.destination_for(state, &account) {
        Some(Destination::Slack { .. }) => Surface::Slack,
        Some(Destination::Discord { .. }) => Surface::Discord,
        None => return Ok(None),
    };
    let rules = svc.config.auto_assign_rules(surface);
    let facts = Facts {
        network: state.network,
        account: &state.account,
        kind: state.kind,
        text: &state.first_text,
        routing: svc.config.routing_rule_name(state),
    };
    for rule in autoassign::matching(&rules, &facts) {
        let assignee = match &rule.target {
            Target::Person(id) => Assignee::Person(Teammate {
                surface,
                id: id.clone(),
            }),
            Target::Team(name) => Assignee::Team(name.clone()),
            Target::RoundRobin(team) => match round_robin(svc, surface, team).await? {
                Some(id) => Assignee::Person(Teammate { surface, id }),
                // Everyone is away: the next rule, if any.
                None => continue,
            },
        };
        return Ok(Some(AutoAssigned {
            assignee,
            rule: rule.label.clone(),
        }));
    }
    Ok(None)
}

/// The member of `team` whose turn it is, with the team's cursor moved to them.
async fn round_robin(
    svc: &Services,
    surface: Surface,
    team: &str,
) -> anyhow::Result<Option<ChatUserId>> {
    let members = svc.config.team_members(surface, team);
    for _ in 0..MAX_PICK_ATTEMPTS {
        let now = Utc::now();
        let seen = svc.store.round_robin_state(surface, team, &members).await?;
        let Some(next) = autoassign::pick(&seen.members, seen.last.as_ref()) else {
            return Ok(None);
        };
        let next = next.id.clone();
        if svc
            .store
            .advance_round_robin(surface, team, seen.last.as_ref(), &next, now)
            .await?
        {
            return Ok(Some(next));
        }
    }
    bail!("the round-robin turn of team {team} kept moving ({MAX_PICK_ATTEMPTS} attempts)")
}
