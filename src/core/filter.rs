//! Ticket filters for queues and bulk actions, parsed from a command's words:
//! `status:unread,read assignee:me network:facebook account:123 type:public`.
//! Parsing resolves `me` and "my teams", so the store receives a plain filter.

use serde::{Deserialize, Serialize};

use super::ids::{AccountId, Network, Teammate};
use super::model::{Assignee, Status};

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
