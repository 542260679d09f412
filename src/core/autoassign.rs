//! Auto-assignment: which rule assigns a new ticket, and, for a round-robin rule, which team
//! member gets it. Pure: the worker reads the members' open-ticket counts, away flags and the
//! team's cursor from the store and records the pick (see `workers::autoassign`).
//!
//! Round-robin is "least open tickets first, ties in turn": the member with the fewest open
//! tickets assigned to them gets the ticket; among equals, the first after the member who got
//! the team's previous ticket, in the order the team lists its members. Away members are
//! skipped. When every member is away the rule does not apply and the next rule is tried;
//! with none left the ticket stays unassigned, in the channel's unassigned queue where the
//! whole channel sees it (a team assignment would make it look owned while nobody is there).

use serde::{Deserialize, Serialize};

use super::ids::{AccountId, ChatUserId, Network};
use super::model::ItemKind;

/// One auto-assignment rule: every condition given must hold (none given: every ticket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// How the history and the card name the rule.
    pub label: String,
    pub network: Option<Network>,
    pub account: Option<AccountId>,
    pub kind: Option<ItemKind>,
    /// Any of these, case-insensitively, in the ticket's first message (plain text, never a
    /// pattern).
    pub keywords: Vec<String>,
    /// The routing rule that routes the ticket, by name.
    pub routing: Option<String>,
    pub target: Target,
}

/// Who a rule assigns to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Person(ChatUserId),
    Team(String),
    /// A member of this team, in turn (see the module's doc).
    RoundRobin(String),
}

/// What the rules look at on a new ticket.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub network: Network,
    pub account: &'a AccountId,
    pub kind: ItemKind,
    /// The ticket's first message.
    pub text: &'a str,
    /// The name of the routing rule that routes it, if that rule has a name.
    pub routing: Option<&'a str>,
}

impl Rule {
    pub fn matches(&self, f: &Facts<'_>) -> bool {
        let text = f.text.to_lowercase();
        self.network.is_none_or(|n| n == f.network)
            && self.account.as_ref().is_none_or(|a| a == f.account)
            && self.kind.is_none_or(|k| k == f.kind)
            && (self.keywords.is_empty()
                || self
                    .keywords
                    .iter()
                    .any(|k| text.contains(&k.to_lowercase())))
            && self
                .routing
                .as_deref()
                .is_none_or(|r| f.routing.is_some_and(|name| name.eq_ignore_ascii_case(r)))
    }
}

/// The rules that match, in order: the first one that can assign wins (a round-robin rule
/// whose members are all away cannot).
pub fn matching<'r>(rules: &'r [Rule], facts: &Facts<'_>) -> impl Iterator<Item = &'r Rule> {
    rules.iter().filter(move |r| r.matches(facts))
}

/// A team member as round-robin sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: ChatUserId,
    /// Open (not closed) tickets assigned to them.
    pub open: i64,
    pub away: bool,
}

/// The member who gets the next ticket: fewest open tickets, ties in turn after `last` (the
/// member who got the previous one), in the team's order. `None` when everyone is away (or
/// the team is empty).
pub fn pick<'m>(members: &'m [Member], last: Option<&ChatUserId>) -> Option<&'m Member> {
    let n = members.len();
    let start = last
        .and_then(|l| members.iter().position(|m| &m.id == l))
        .map_or(0, |i| i + 1);
    (0..n)
        .map(|k| &members[(start + k) % n])
        .filter(|m| !m.away)
        // `min_by_key` keeps the first of equals: the next in turn.
        .min_by_key(|m| m.open)
}

/// `away on|off` as typed: `Some(true)` for on. Anything else is a usage error.
pub fn parse_away(word: &str) -> Option<bool> {
    match word.trim().to_ascii_lowercase().as_str() {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

/// An assignment an auto-assignment rule made when the ticket opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoAssigned {
    pub assignee: super::model::Assignee,
    /// The rule's label.
    pub rule: String,
}

/// Fold an automatic assignment into the decision that opens a ticket, so that opening and
/// assigning are one commit: a crash cannot leave the ticket opened but unassigned, and a
/// redelivered event finds the ticket and assigns nothing. Recorded as `Assigned` by the
/// system, with the rule; the card says so, and the assignee is told as for an assignment by
/// hand (after the card is posted: the notice links to it). The ticket stays unread: nobody
/// has looked at it yet.
pub fn assign_opening(
    d: &mut super::decide::Decision,
    auto: &AutoAssigned,
    now: chrono::DateTime<chrono::Utc>,
) {
    use super::decide::{AssigneeNotice, Effect};
    use super::model::{Actor, HistoryEntry, HistoryKind};
    d.state.assignee = Some(auto.assignee.clone());
    d.state.auto_assigned = Some(auto.rule.clone());
    d.history.push(HistoryEntry {
        at: now,
        actor: Actor::System,
        what: HistoryKind::Assigned {
            assignee: Some(auto.assignee.clone()),
            note: None,
            rule: Some(auto.rule.clone()),
        },
    });
    d.effects.push(Effect::NotifyAssignee {
        notice: AssigneeNotice::AutoAssigned {
            rule: auto.rule.clone(),
        },
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, open: i64, away: bool) -> Member {
        Member {
            id: ChatUserId::new(id),
            open,
            away,
        }
    }

    fn ids(members: &[Member], last: Option<&str>) -> Option<String> {
        let last = last.map(ChatUserId::new);
        pick(members, last.as_ref()).map(|m| m.id.to_string())
    }

    /// Why, the team, who got the last ticket, who gets the next.
    type Case<'a> = (&'a str, Vec<Member>, Option<&'a str>, Option<&'a str>);

    #[test]
    fn round_robin_picks_least_open_then_in_turn_and_skips_away_members() {
        let m = |spec: &[(&str, i64, bool)]| -> Vec<Member> {
            spec.iter().map(|(i, o, a)| member(i, *o, *a)).collect()
        };
        #[rustfmt::skip]
        let cases: &[Case] = &[
            ("first ever ticket: the first member", m(&[("A", 0, false), ("B", 0, false), ("C", 0, false)]), None, Some("A")),
            ("ties go to the next after the last", m(&[("A", 0, false), ("B", 0, false), ("C", 0, false)]), Some("A"), Some("B")),
            ("the turn wraps around", m(&[("A", 1, false), ("B", 1, false), ("C", 1, false)]), Some("C"), Some("A")),
            ("least open wins over the turn", m(&[("A", 2, false), ("B", 3, false), ("C", 1, false)]), Some("B"), Some("C")),
            ("the last one again if clearly least loaded", m(&[("A", 0, false), ("B", 4, false)]), Some("A"), Some("A")),
            ("among equals after the last, in turn", m(&[("A", 1, false), ("B", 2, false), ("C", 1, false)]), Some("A"), Some("C")),
            ("an away member is skipped even when least loaded", m(&[("A", 0, true), ("B", 3, false), ("C", 5, false)]), None, Some("B")),
            ("an away member's turn passes to the next", m(&[("A", 0, false), ("B", 0, true), ("C", 0, false)]), Some("A"), Some("C")),
            ("a last member no longer listed: from the top", m(&[("A", 0, false), ("B", 0, false)]), Some("Z"), Some("A")),
            ("everyone away: nobody", m(&[("A", 0, true), ("B", 0, true)]), Some("A"), None),
            ("no members: nobody", vec![], None, None),
        ];
        for (why, members, last, want) in cases {
            assert_eq!(ids(members, *last).as_deref(), *want, "{why}");
        }
    }

    #[test]
    fn round_robin_spreads_tickets_fairly_over_time() {
        // Five tickets, nobody closes any: 2/2/1 in the team's order.
        let mut members = vec![
            member("A", 0, false),
            member("B", 0, false),
            member("C", 0, false),
        ];
        let mut last: Option<ChatUserId> = None;
        let mut got = Vec::new();
        for _ in 0..5 {
            let id = pick(&members, last.as_ref()).expect("someone").id.clone();
            if let Some(m) = members.iter_mut().find(|m| m.id == id) {
                m.open += 1;
            }
            got.push(id.to_string());
            last = Some(id);
        }
        assert_eq!(got, ["A", "B", "C", "A", "B"]);
        // B closes both of theirs: B catches up before the turn goes on.
        members[1].open = 0;
        let next = pick(&members, last.as_ref()).expect("someone");
        assert_eq!(next.id.as_str(), "B");
        // A member back from away with fewer tickets is served first, then the turn resumes.
        let members = vec![
            member("A", 3, false),
            member("B", 3, false),
            member("C", 0, false),
        ];
        assert_eq!(ids(&members, Some("A")).as_deref(), Some("C"));
        // 1000 tickets over 4 members never differ by more than one.
        let mut members: Vec<Member> = ["A", "B", "C", "D"]
            .iter()
            .map(|i| member(i, 0, false))
            .collect();
        let mut last: Option<ChatUserId> = None;
        for _ in 0..1000 {
            let id = pick(&members, last.as_ref()).expect("someone").id.clone();
            if let Some(m) = members.iter_mut().find(|m| m.id == id) {
                m.open += 1;
            }
            last = Some(id);
        }
        assert!(members.iter().all(|m| m.open == 250), "{members:?}");
    }

    fn rule(label: &str, target: Target) -> Rule {
        Rule {
            label: label.into(),
            network: None,
            account: None,
            kind: None,
            keywords: vec![],
            routing: None,
            target,
        }
    }

    #[test]
    fn rules_match_on_every_condition_given_and_in_order() {
        let account = AccountId::new("1001");
        let facts = Facts {
            network: Network::Facebook,
            account: &account,
            kind: ItemKind::Comment,
            text: "Where is my REFUND? (order #12)",
            routing: Some("billing"),
        };
        let person = Target::Person(ChatUserId::new("U1"));
        #[rustfmt::skip]
        let cases: Vec<(&str, Rule, bool)> = vec![
            ("no condition: every ticket", rule("r", person.clone()), true),
            ("network", Rule { network: Some(Network::Facebook), ..rule("r", person.clone()) }, true),
            ("other network", Rule { network: Some(Network::Instagram), ..rule("r", person.clone()) }, false),
            ("account", Rule { account: Some(AccountId::new("1001")), ..rule("r", person.clone()) }, true),
            ("other account", Rule { account: Some(AccountId::new("1002")), ..rule("r", person.clone()) }, false),
            ("kind", Rule { kind: Some(ItemKind::Comment), ..rule("r", person.clone()) }, true),
            ("other kind", Rule { kind: Some(ItemKind::DirectMessage), ..rule("r", person.clone()) }, false),
            ("keyword, any case", Rule { keywords: vec!["refund".into()], ..rule("r", person.clone()) }, true),
            ("any of the keywords", Rule { keywords: vec!["invoice".into(), "Refund".into()], ..rule("r", person.clone()) }, true),
            ("no keyword present", Rule { keywords: vec!["invoice".into()], ..rule("r", person.clone()) }, false),
            ("pattern characters are plain text", Rule { keywords: vec!["(order #12)".into()], ..rule("r", person.clone()) }, true),
            ("a pattern is not a pattern", Rule { keywords: vec![".*".into()], ..rule("r", person.clone()) }, false),
            ("routing rule by name", Rule { routing: Some("Billing".into()), ..rule("r", person.clone()) }, true),
            ("other routing rule", Rule { routing: Some("sales".into()), ..rule("r", person.clone()) }, false),
            ("all conditions hold", Rule { network: Some(Network::Facebook), kind: Some(ItemKind::Comment), keywords: vec!["refund".into()], ..rule("r", person.clone()) }, true),
            ("one condition fails", Rule { network: Some(Network::Facebook), kind: Some(ItemKind::Review), keywords: vec!["refund".into()], ..rule("r", person.clone()) }, false),
        ];
        for (why, r, want) in cases {
            assert_eq!(r.matches(&facts), want, "{why}");
        }
        let unrouted = Facts {
            routing: None,
            ..facts
        };
        let by_route = Rule {
            routing: Some("billing".into()),
            ..rule("r", person.clone())
        };
        assert!(!by_route.matches(&unrouted), "no routing rule: no match");

        let rules = vec![
            Rule {
                network: Some(Network::Instagram),
                ..rule("instagram", person.clone())
            },
            Rule {
                keywords: vec!["refund".into()],
                ..rule("refunds", Target::RoundRobin("billing".into()))
            },
            rule("everything else", Target::Team("support".into())),
        ];
        let labels: Vec<&str> = matching(&rules, &facts).map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["refunds", "everything else"]);
    }

    #[test]
    fn away_takes_on_or_off_only() {
        assert_eq!(parse_away("on"), Some(true));
        assert_eq!(parse_away(" OFF "), Some(false));
        for bad in ["", "yes", "onn", "true", "1"] {
            assert_eq!(parse_away(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_automatic_assignment_is_part_of_the_opening_and_a_teammate_replaces_it() {
        use crate::core::decide::{AssigneeNotice, Effect, Event, decide};
        use crate::core::model::{Actor, Assignee, HistoryKind, Status, sample_ticket};
        use crate::core::{Surface, Teammate};
        use chrono::TimeZone;
        let now = chrono::Utc.with_ymd_and_hms(2026, 3, 14, 10, 0, 0).unwrap();
        let sample = sample_ticket(Status::Unread, "refund please");
        let item = crate::core::InboundItem {
            network: sample.state.network,
            account: sample.state.account.clone(),
            item_id: sample.state.first_item.clone(),
            kind: sample.state.kind,
            post_id: crate::core::NetworkItemId::new("1001_77"),
            customer: sample.state.customer.clone(),
            text: "refund please".into(),
            created_at: now,
            permalink: None,
            attachments: vec![],
            context: Default::default(),
        };
        let caps = crate::core::capabilities::Capabilities::NONE;
        let mut d = decide(None, &Event::CustomerMessage { item }, &caps, now).expect("opens");
        let ana = Assignee::Person(Teammate {
            surface: Surface::Slack,
            id: ChatUserId::new("U1"),
        });
        let auto = AutoAssigned {
            assignee: ana.clone(),
            rule: "refunds".into(),
        };
        assign_opening(&mut d, &auto, now);
        assert_eq!(d.state.assignee, Some(ana.clone()));
        assert_eq!(d.state.auto_assigned.as_deref(), Some("refunds"));
        assert_eq!(d.state.status, Status::Unread, "nobody has read it yet");
        let last = d.history.last().expect("history");
        assert_eq!(last.actor, Actor::System);
        assert_eq!(
            last.what,
            HistoryKind::Assigned {
                assignee: Some(ana.clone()),
                note: None,
                rule: Some("refunds".into()),
            }
        );
        // The card is posted first: the notice links to it.
        assert_eq!(
            d.effects,
            vec![
                Effect::PostCard,
                Effect::NotifyAssignee {
                    notice: AssigneeNotice::AutoAssigned {
                        rule: "refunds".into()
                    }
                }
            ]
        );

        // A teammate's assignment is theirs: the card no longer says "automatically".
        let ticket = crate::core::Ticket {
            id: crate::core::TicketId(1),
            version: 1,
            state: d.state,
        };
        let bob = Teammate {
            surface: Surface::Slack,
            id: ChatUserId::new("U2"),
        };
        let d = decide(
            Some(&ticket),
            &Event::Assign {
                teammate: bob.clone(),
                assignee: Some(Assignee::Person(bob)),
                note: None,
            },
            &caps,
            now,
        )
        .expect("assigns");
        assert_eq!(d.state.auto_assigned, None);
    }
}
