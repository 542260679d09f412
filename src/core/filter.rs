//! Ticket filters for queues and bulk actions, parsed from a command's words:
//! `status:unread,read assignee:me network:facebook account:123 type:public`.
//! Parsing resolves `me` and "my teams", so the store receives a plain filter.
//!
//! A filter may also be confined to one chat channel's tickets ([`RouteMatch`]): the tickets
//! the configuration routes there, described by the ticket's own fields (network, account,
//! kind, first text), so the store can match it without knowing the configuration.

use serde::{Deserialize, Serialize};

use super::ids::{AccountId, Network, Teammate};
use super::model::{Assignee, ItemKind, Status, TicketState};

/// Which assignees match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AssigneeMatch {
    /// Unassigned tickets only.
    Nobody,
    /// Any assigned ticket.
    Anyone,
    /// Tickets assigned to any of these (`Assignee::key()` values).
    AnyOf(Vec<String>),
}

/// Public (comments, posts) or private (direct messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Visibility {
    Public,
    Private,
}

/// A resolved filter: every field set narrows the match; an empty filter matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Empty: any status.
    pub statuses: Vec<Status>,
    pub assignee: Option<AssigneeMatch>,
    pub network: Option<Network>,
    pub account: Option<AccountId>,
    pub visibility: Option<Visibility>,
    /// Only the tickets routed to one channel (a teammate acting from that channel); `None`:
    /// every channel's (an admin, or the workers themselves).
    #[serde(default)]
    pub route: Option<RouteMatch>,
    /// Only the tickets shown in this storm (a storm card's bulk actions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storm: Option<i64>,
}

/// The tickets routed to one chat channel: the configuration's routing rules in order (the
/// first whose conditions a ticket meets decides where it goes), and, for a ticket no rule
/// matches, its account's own channel. A ticket of an account that is not configured goes
/// nowhere. This mirrors `Config::destination_for` exactly (a test holds them together).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteMatch {
    pub rules: Vec<RouteRule>,
    /// Every configured account, and whether its own channel is this one.
    pub accounts: Vec<RouteAccount>,
}

/// One routing rule's conditions, and whether it sends its tickets to this channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRule {
    pub network: Option<Network>,
    pub kind: Option<ItemKind>,
    /// Matched case-insensitively in the ticket's first message.
    pub keyword: Option<String>,
    pub here: bool,
}

/// A configured account, and whether its own channel is this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteAccount {
    pub network: Network,
    pub account: AccountId,
    pub here: bool,
}

/// Whether a routing rule with these conditions matches a ticket (the one definition, used by
/// the configuration's routing and by [`RouteMatch`]).
pub fn rule_matches(
    network: Option<Network>,
    kind: Option<ItemKind>,
    keyword: Option<&str>,
    ticket: &TicketState,
) -> bool {
    network.is_none_or(|n| n == ticket.network)
        && kind.is_none_or(|k| k == ticket.kind)
        && keyword.is_none_or(|k| ticket.first_text.to_lowercase().contains(&k.to_lowercase()))
}

impl RouteRule {
    pub fn matches(&self, ticket: &TicketState) -> bool {
        rule_matches(self.network, self.kind, self.keyword.as_deref(), ticket)
    }
}

impl RouteMatch {
    /// Whether the ticket is routed to this channel.
    pub fn admits(&self, ticket: &TicketState) -> bool {
        let Some(account) = self
            .accounts
            .iter()
            .find(|a| a.network == ticket.network && a.account == ticket.account)
        else {
            return false;
        };
        match self.rules.iter().find(|r| r.matches(ticket)) {
            Some(rule) => rule.here,
            None => account.here,
        }
    }

    /// Whether some ticket could be routed here at all (an inbox channel).
    pub fn is_inbox(&self) -> bool {
        self.rules.iter().any(|r| r.here) || self.accounts.iter().any(|a| a.here)
    }
}

/// The built-in queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Open and nobody assigned.
    Unassigned,
    /// Open and assigned to one of my teams.
    MyTeams,
    /// Open and assigned to me.
    Mine,
    /// Closed.
    Done,
}

impl Queue {
    pub fn parse(word: &str) -> Option<Self> {
        match word.to_ascii_lowercase().as_str() {
            "unassigned" => Some(Queue::Unassigned),
            "team" | "teams" | "assigned" => Some(Queue::MyTeams),
            "mine" | "me" => Some(Queue::Mine),
            "done" | "closed" => Some(Queue::Done),
            _ => None,
        }
    }

    pub fn filter(self, me: &Teammate, my_teams: &[String]) -> Filter {
        let open = vec![Status::Unread, Status::Read];
        match self {
            Queue::Unassigned => Filter {
                statuses: open,
                assignee: Some(AssigneeMatch::Nobody),
                ..Default::default()
            },
            Queue::MyTeams => Filter {
                statuses: open,
                assignee: Some(AssigneeMatch::AnyOf(
                    my_teams
                        .iter()
                        .map(|t| Assignee::Team(t.clone()).key())
                        .collect(),
                )),
                ..Default::default()
            },
            Queue::Mine => Filter {
                statuses: open,
                assignee: Some(AssigneeMatch::AnyOf(vec![
                    Assignee::Person(me.clone()).key(),
                ])),
                ..Default::default()
            },
            Queue::Done => Filter {
                statuses: vec![Status::Closed],
                ..Default::default()
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("`{0}` is not a filter; use status:, assignee:, network:, account: or type:")]
    UnknownKey(String),
    #[error("`{0}` is not a status; use unread, read or closed")]
    BadStatus(String),
    #[error("`{0}` is not an assignee; use me, none, any, team:<name> or a @mention")]
    BadAssignee(String),
    #[error("`{0}` is not a network; use facebook, instagram or whatsapp")]
    BadNetwork(String),
    #[error("`{0}` is not a message type; use public or private")]
    BadType(String),
    #[error("`{0}` is not a team; known teams: {1}")]
    UnknownTeam(String, String),
    #[error("`{0}:` is given twice")]
    Repeated(String),
    #[error("`{0}` has no value")]
    Empty(String),
}

/// Parse `key:value` words. `me` resolves to the caller, `team:<name>` must be a configured
/// team, a Slack mention `<@U123>` or `<@U123|name>` names a person.
pub fn parse(words: &[&str], me: &Teammate, teams: &[String]) -> Result<Filter, FilterError> {
    let mut f = Filter::default();
    let mut seen = Vec::new();
    for word in words {
        let Some((key, value)) = word.split_once(':') else {
            return Err(FilterError::UnknownKey((*word).to_string()));
        };
        let key = key.to_ascii_lowercase();
        if value.is_empty() {
            return Err(FilterError::Empty(format!("{key}:")));
        }
        if seen.contains(&key) {
            return Err(FilterError::Repeated(key));
        }
        seen.push(key.clone());
        match key.as_str() {
            "status" => {
                for v in value.split(',') {
                    let s = Status::parse(&v.to_ascii_lowercase())
                        .ok_or_else(|| FilterError::BadStatus(v.to_string()))?;
                    if !f.statuses.contains(&s) {
                        f.statuses.push(s);
                    }
                }
            }
            "assignee" => f.assignee = Some(parse_assignee(value, me, teams)?),
            "network" => {
                f.network = Some(
                    value
                        .to_ascii_lowercase()
                        .parse()
                        .map_err(|_| FilterError::BadNetwork(value.to_string()))?,
                )
            }
            "account" => f.account = Some(AccountId::new(value)),
            "type" => {
                f.visibility = Some(match value.to_ascii_lowercase().as_str() {
                    "public" => Visibility::Public,
                    "private" => Visibility::Private,
                    _ => return Err(FilterError::BadType(value.to_string())),
                })
            }
            _ => return Err(FilterError::UnknownKey(format!("{key}:"))),
        }
    }
    Ok(f)
}

fn parse_assignee(
    value: &str,
    me: &Teammate,
    teams: &[String],
) -> Result<AssigneeMatch, FilterError> {
    let lower = value.to_ascii_lowercase();
    match lower.as_str() {
        "me" => {
            return Ok(AssigneeMatch::AnyOf(vec![
                Assignee::Person(me.clone()).key(),
            ]));
        }
        "none" | "nobody" | "unassigned" => return Ok(AssigneeMatch::Nobody),
        "any" | "anyone" => return Ok(AssigneeMatch::Anyone),
        _ => {}
    }
    if let Some(name) = lower.strip_prefix("team:") {
        return match teams.iter().find(|t| t.eq_ignore_ascii_case(name)) {
            Some(t) => Ok(AssigneeMatch::AnyOf(vec![Assignee::Team(t.clone()).key()])),
            None => Err(FilterError::UnknownTeam(name.to_string(), teams.join(", "))),
        };
    }
    // A Slack mention: <@U123> or <@U123|name>.
    if let Some(inner) = value.strip_prefix("<@").and_then(|v| v.strip_suffix('>')) {
        let id = inner.split('|').next().unwrap_or("");
        if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) {
            let person = Teammate {
                surface: me.surface,
                id: super::ids::ChatUserId::new(id),
            };
            return Ok(AssigneeMatch::AnyOf(vec![Assignee::Person(person).key()]));
        }
    }
    Err(FilterError::BadAssignee(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::{ChatUserId, Surface};

    fn me() -> Teammate {
        Teammate {
            surface: Surface::Slack,
            id: ChatUserId::new("UME"),
        }
    }

    #[test]
    fn parses_combined_filters() {
        let teams = vec!["support".to_string()];
        let f = parse(
            &[
                "status:unread,read",
                "assignee:me",
                "network:facebook",
                "account:123",
                "type:public",
            ],
            &me(),
            &teams,
        )
        .expect("parses");
        assert_eq!(f.statuses, vec![Status::Unread, Status::Read]);
        assert_eq!(
            f.assignee,
            Some(AssigneeMatch::AnyOf(vec!["slack:UME".into()]))
        );
        assert_eq!(f.network, Some(Network::Facebook));
        assert_eq!(f.account, Some(AccountId::new("123")));
        assert_eq!(f.visibility, Some(Visibility::Public));
        let team = parse(&["assignee:team:Support"], &me(), &teams).expect("parses");
        assert_eq!(
            team.assignee,
            Some(AssigneeMatch::AnyOf(vec!["team:support".into()]))
        );
        let person = parse(&["assignee:<@U42|ana>"], &me(), &teams).expect("parses");
        assert_eq!(
            person.assignee,
            Some(AssigneeMatch::AnyOf(vec!["slack:U42".into()]))
        );
        assert_eq!(parse(&[], &me(), &teams), Ok(Filter::default()));
    }

    #[test]
    fn bad_filters_say_what_is_wrong() {
        let teams = vec!["support".to_string()];
        let cases = [
            (
                "colour:red",
                "`colour:` is not a filter; use status:, assignee:, network:, account: or type:",
            ),
            (
                "status:open",
                "`open` is not a status; use unread, read or closed",
            ),
            (
                "assignee:bob",
                "`bob` is not an assignee; use me, none, any, team:<name> or a @mention",
            ),
            (
                "assignee:team:sales",
                "`sales` is not a team; known teams: support",
            ),
            (
                "network:myspace",
                "`myspace` is not a network; use facebook, instagram or whatsapp",
            ),
            (
                "type:secret",
                "`secret` is not a message type; use public or private",
            ),
            ("status:", "`status:` has no value"),
            (
                "closed",
                "`closed` is not a filter; use status:, assignee:, network:, account: or type:",
            ),
        ];
        for (word, want) in cases {
            let err = parse(&[word], &me(), &teams).expect_err(word);
            assert_eq!(err.to_string(), want, "{word}");
        }
        let err = parse(&["status:read", "status:closed"], &me(), &teams).expect_err("repeat");
        assert_eq!(err.to_string(), "`status:` is given twice");
    }

    #[test]
    fn queues_resolve_to_filters() {
        let f = Queue::MyTeams.filter(&me(), &["support".into()]);
        assert_eq!(
            f.assignee,
            Some(AssigneeMatch::AnyOf(vec!["team:support".into()]))
        );
        assert_eq!(
            Queue::Done.filter(&me(), &[]).statuses,
            vec![Status::Closed]
        );
        assert_eq!(Queue::parse("Mine"), Some(Queue::Mine));
        assert_eq!(Queue::parse("later"), None);
    }
}
