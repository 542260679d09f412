//! `[[slack.auto_assign]]` and `[[discord.auto_assign]]`: which new tickets are assigned to
//! whom, as the core's rules (`core::autoassign`). One list per surface, because the people
//! and teams a rule names are that surface's.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::Config;
use crate::core::autoassign::{Rule, Target};
use crate::core::{AccountId, ChatUserId, ItemKind, Network, Surface};

/// One auto-assignment rule as written: conditions (all optional, all must hold) and exactly
/// one of `person`, `team` or `round_robin`.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AutoAssignConfig {
    /// How the card and the history name the rule (default: its place in the list).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub network: Option<Network>,
    /// The account's id on its network (a Page id, …).
    #[serde(default)]
    pub account: Option<String>,
    /// comment, visitor_post, mention, direct_message or review.
    #[serde(default)]
    pub kind: Option<ItemKind>,
    /// Any of these, case-insensitively, in the ticket's first message.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The `name` of the routing rule that routes the ticket.
    #[serde(default)]
    pub rule: Option<String>,
    /// A user id: the ticket goes to them.
    #[serde(default)]
    pub person: Option<String>,
    /// A team name: the ticket goes to the team.
    #[serde(default)]
    pub team: Option<String>,
    /// A team name: the ticket goes to one of the team's `members`, in turn.
    #[serde(default)]
    pub round_robin: Option<String>,
}

impl Config {
    /// The auto-assignment rules for tickets whose card goes to `surface`, in order.
    pub fn auto_assign_rules(&self, surface: Surface) -> Vec<Rule> {
        self.auto_assign_list(surface)
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let target = match (&r.person, &r.team, &r.round_robin) {
                    (Some(p), None, None) => Target::Person(ChatUserId::new(p.trim())),
                    (None, Some(t), None) => Target::Team(self.surface_team(surface, t)?.0),
                    (None, None, Some(t)) => Target::RoundRobin(self.surface_team(surface, t)?.0),
                    // Refused by `validate`.
                    _ => return None,
                };
                Some(Rule {
                    label: r
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("{}.auto_assign[{i}]", surface.as_str())),
                    network: r.network,
                    account: r.account.as_ref().map(|a| AccountId::new(a.trim())),
                    kind: r.kind,
                    keywords: r.keywords.clone(),
                    routing: r.rule.clone(),
                    target,
                })
            })
            .collect()
    }

    /// The members of a team on `surface`, in turn order (empty: round-robin cannot use it).
    pub fn team_members(&self, surface: Surface, team: &str) -> Vec<ChatUserId> {
        self.surface_team(surface, team)
            .map(|(_, members)| members.iter().map(|m| ChatUserId::new(m.trim())).collect())
            .unwrap_or_default()
    }

    /// The name of the routing rule that routes a ticket, if it has one.
    pub fn routing_rule_name(&self, ticket: &crate::core::TicketState) -> Option<&str> {
        self.rule_for(ticket).and_then(|r| r.name.as_deref())
    }

    fn auto_assign_list(&self, surface: Surface) -> &[AutoAssignConfig] {
        match surface {
            Surface::Slack => &self.slack.auto_assign,
            Surface::Discord => self
                .discord
                .as_ref()
                .map(|d| d.auto_assign.as_slice())
                .unwrap_or_default(),
        }
    }

    /// A team on one surface: its canonical name and its members.
    fn surface_team(&self, surface: Surface, name: &str) -> Option<(String, &[String])> {
        match surface {
            Surface::Slack => self
                .team(name)
                .map(|t| (t.name.clone(), t.members.as_slice())),
            Surface::Discord => self
                .discord_team(name)
                .map(|t| (t.name.clone(), t.members.as_slice())),
        }
    }

    /// The rules and the teams' member lists, on both surfaces.
    pub(super) fn validate_auto_assign(&self, problems: &mut Vec<String>) {
        let slack_user = |s: &str| s.starts_with('U') || s.starts_with('W');
        let snowflake = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
        let is_user = |surface: Surface, s: &str| match surface {
            Surface::Slack => slack_user(s),
            Surface::Discord => snowflake(s),
        };
        let user_words = |surface: Surface| match surface {
            Surface::Slack => "a Slack user id (U…/W…)",
            Surface::Discord => "a Discord user id",
        };
        // The teams' member lists.
        let slack_teams = self
            .slack
            .teams
            .iter()
            .map(|t| (Surface::Slack, t.members.as_slice()))
            .enumerate();
        let discord_teams = self
            .discord
            .iter()
            .flat_map(|d| &d.teams)
            .map(|t| (Surface::Discord, t.members.as_slice()))
            .enumerate();
        for (i, (surface, members)) in slack_teams.chain(discord_teams) {
            let at = format!("{}.teams[{i}].members", surface.as_str());
            let mut seen = BTreeSet::new();
            for m in members {
                if !is_user(surface, m.trim()) {
                    problems.push(format!("{at}: {m:?} is not {}", user_words(surface)));
                } else if !seen.insert(m.trim()) {
                    problems.push(format!("{at}: {m} is listed twice"));
                }
            }
        }
        let mut routing_names = BTreeSet::new();
        for (i, r) in self.routing.iter().enumerate() {
            if let Some(name) = &r.name {
                if name.trim().is_empty() {
                    problems.push(format!("routing[{i}].name is empty"));
                } else if !routing_names.insert(name.trim().to_ascii_lowercase()) {
                    problems.push(format!("routing[{i}].name {name} is used twice"));
                }
            }
        }
        for surface in [Surface::Slack, Surface::Discord] {
            for (i, r) in self.auto_assign_list(surface).iter().enumerate() {
                let at = format!("{}.auto_assign[{i}]", surface.as_str());
                if r.name.as_ref().is_some_and(|n| n.trim().is_empty()) {
                    problems.push(format!("{at}.name is empty"));
                }
                if r.account.as_ref().is_some_and(|a| a.trim().is_empty()) {
                    problems.push(format!("{at}.account is empty"));
                }
                if r.keywords.iter().any(|k| k.trim().is_empty()) {
                    problems.push(format!("{at}.keywords has an empty keyword"));
                }
                if let Some(name) = &r.rule
                    && !routing_names.contains(&name.trim().to_ascii_lowercase())
                {
                    problems.push(format!(
                        "{at}.rule {name:?} names no routing rule (give the [[routing]] rule a name)"
                    ));
                }
                match (&r.person, &r.team, &r.round_robin) {
                    (Some(p), None, None) => {
                        if !is_user(surface, p.trim()) {
                            problems.push(format!(
                                "{at}.person must be {}, got {p:?}",
                                user_words(surface)
                            ));
                        }
                    }
                    (None, Some(t), None) => {
                        if self.surface_team(surface, t).is_none() {
                            problems.push(format!(
                                "{at}.team {t:?} is not a team of {}.teams",
                                surface.as_str()
                            ));
                        }
                    }
                    (None, None, Some(t)) => match self.surface_team(surface, t) {
                        None => problems.push(format!(
                            "{at}.round_robin {t:?} is not a team of {}.teams",
                            surface.as_str()
                        )),
                        Some((_, [])) => problems.push(format!(
                            "{at}.round_robin: team {t} has no members (list them in its `members`)"
                        )),
                        Some(_) => {}
                    },
                    _ => problems.push(format!(
                        "{at} must name exactly one of person, team or round_robin"
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
        [slack]
        team_id = "T1"
        [[slack.teams]]
        name = "support"
        usergroup = "S1"
        members = ["U1", "U2", "U3"]
        [[slack.teams]]
        name = "sales"
        usergroup = "S2"
        [[routing]]
        name = "billing"
        keyword = "invoice"
        slack_channel = "C2"
        [[meta.pages]]
        id = "1001"
        name = "Acme"
        slack_channel = "C1"
    "#;

    fn problems(extra: &str) -> String {
        Config::parse(&format!("{BASE}\n{extra}"))
            .expect("parses")
            .validate()
            .join("\n")
    }

    #[test]
    fn rules_become_core_rules_in_order() {
        let config = Config::parse(&format!(
            "{BASE}\n{}",
            r#"
            [[slack.auto_assign]]
            name = "refunds"
            network = "facebook"
            account = "1001"
            kind = "comment"
            keywords = ["refund", "money back"]
            rule = "billing"
            round_robin = "Support"
            [[slack.auto_assign]]
            person = "U9"
            [[slack.auto_assign]]
            team = "sales"
            "#
        ))
        .expect("parses");
        let problems = config.validate().join("\n");
        assert!(!problems.contains("auto_assign"), "{problems}");
        let rules = config.auto_assign_rules(Surface::Slack);
        assert_eq!(
            rules,
            vec![
                Rule {
                    label: "refunds".into(),
                    network: Some(Network::Facebook),
                    account: Some(AccountId::new("1001")),
                    kind: Some(ItemKind::Comment),
                    keywords: vec!["refund".into(), "money back".into()],
                    routing: Some("billing".into()),
                    // The team's own spelling.
                    target: Target::RoundRobin("support".into()),
                },
                Rule {
                    label: "slack.auto_assign[1]".into(),
                    network: None,
                    account: None,
                    kind: None,
                    keywords: vec![],
                    routing: None,
                    target: Target::Person(ChatUserId::new("U9")),
                },
                Rule {
                    label: "slack.auto_assign[2]".into(),
                    network: None,
                    account: None,
                    kind: None,
                    keywords: vec![],
                    routing: None,
                    target: Target::Team("sales".into()),
                },
            ]
        );
        assert!(config.auto_assign_rules(Surface::Discord).is_empty());
        assert_eq!(
            config.team_members(Surface::Slack, "SUPPORT"),
            ["U1", "U2", "U3"].map(ChatUserId::new)
        );
        assert!(config.team_members(Surface::Slack, "sales").is_empty());
        assert!(config.team_members(Surface::Discord, "support").is_empty());
    }

    #[test]
    fn bad_rules_are_reported_clearly() {
        for (rule, needle) in [
            (
                "person = \"U1\"\nteam = \"support\"",
                "slack.auto_assign[0] must name exactly one of person, team or round_robin",
            ),
            (
                "keywords = [\"x\"]",
                "slack.auto_assign[0] must name exactly one of person, team or round_robin",
            ),
            (
                "team = \"nobody\"",
                "slack.auto_assign[0].team \"nobody\" is not a team of slack.teams",
            ),
            (
                "round_robin = \"nobody\"",
                "slack.auto_assign[0].round_robin \"nobody\" is not a team of slack.teams",
            ),
            (
                "round_robin = \"sales\"",
                "slack.auto_assign[0].round_robin: team sales has no members (list them in its `members`)",
            ),
            (
                "person = \"S1\"",
                "slack.auto_assign[0].person must be a Slack user id (U…/W…), got \"S1\"",
            ),
            (
                "person = \"U1\"\nrule = \"sales\"",
                "slack.auto_assign[0].rule \"sales\" names no routing rule",
            ),
            (
                "person = \"U1\"\nkeywords = [\" \"]",
                "slack.auto_assign[0].keywords has an empty keyword",
            ),
            (
                "person = \"U1\"\nname = \"\"",
                "slack.auto_assign[0].name is empty",
            ),
        ] {
            let problems = problems(&format!("[[slack.auto_assign]]\n{rule}\n"));
            assert!(
                problems.contains(needle),
                "{rule}: {needle:?} not in\n{problems}"
            );
        }
        // A bad kind or an unknown key is refused when the file is read.
        let err = Config::parse(&format!(
            "{BASE}\n[[slack.auto_assign]]\nkind = \"tweet\"\nperson = \"U1\"\n"
        ))
        .unwrap_err();
        assert!(err.contains("unknown variant `tweet`"), "{err}");
        let err = Config::parse(&format!(
            "{BASE}\n[[slack.auto_assign]]\nkeyword = \"x\"\nperson = \"U1\"\n"
        ))
        .unwrap_err();
        assert!(err.contains("unknown field `keyword`"), "{err}");
    }

    #[test]
    fn member_lists_and_routing_names_are_checked() {
        let config = Config::parse(
            r#"
            [slack]
            team_id = "T1"
            [[slack.teams]]
            name = "support"
            usergroup = "S1"
            members = ["U1", "C1", "U1"]
            [[routing]]
            name = "a"
            keyword = "x"
            slack_channel = "C2"
            [[routing]]
            name = "A"
            keyword = "y"
            slack_channel = "C2"
            "#,
        )
        .expect("parses");
        let problems = config.validate().join("\n");
        for needle in [
            "slack.teams[0].members: \"C1\" is not a Slack user id (U…/W…)",
            "slack.teams[0].members: U1 is listed twice",
            "routing[1].name A is used twice",
        ] {
            assert!(problems.contains(needle), "{needle:?} not in\n{problems}");
        }
    }

    #[test]
    fn discord_rules_name_discord_teams_and_users() {
        let config = Config::parse(
            r#"
            [discord]
            application_id = "1"
            public_key = "0000000000000000000000000000000000000000000000000000000000000000"
            [[discord.teams]]
            name = "support"
            role = "777"
            members = ["111", "222"]
            [[discord.auto_assign]]
            round_robin = "support"
            [[discord.auto_assign]]
            person = "U1"
            [[discord.auto_assign]]
            team = "sales"
            "#,
        )
        .expect("parses");
        let problems = config.validate().join("\n");
        for needle in [
            "discord.auto_assign[1].person must be a Discord user id, got \"U1\"",
            "discord.auto_assign[2].team \"sales\" is not a team of discord.teams",
        ] {
            assert!(problems.contains(needle), "{needle:?} not in\n{problems}");
        }
        assert!(!problems.contains("discord.auto_assign[0]"), "{problems}");
        assert_eq!(
            config.auto_assign_rules(Surface::Discord)[0].target,
            Target::RoundRobin("support".into())
        );
        assert_eq!(
            config.team_members(Surface::Discord, "support"),
            ["111", "222"].map(ChatUserId::new)
        );
    }

    #[test]
    fn the_example_auto_assignment_section_parses_and_validates_when_uncommented() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("switchboard.example.toml");
        let text = std::fs::read_to_string(path).expect("example");
        let (head, rest) = text
            .split_once("# ---- auto-assignment ")
            .expect("the section");
        let body = rest.split_once("\n# ---- ").map_or(rest, |(b, _)| b);
        let uncommented: Vec<&str> = body
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.starts_with('[')
                    || (l.starts_with(|c: char| c.is_ascii_lowercase()) && l.contains(" = "))
            })
            .collect();
        let config = Config::parse(&format!("{head}\n{}", uncommented.join("\n")))
            .expect("the uncommented example parses");
        let problems = config.validate().join("\n");
        assert!(
            !problems.contains("auto_assign") && !problems.contains("teams"),
            "{problems}"
        );
        let rules = config.auto_assign_rules(Surface::Slack);
        let labels: Vec<&str> = rules.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(
            labels,
            ["refunds", "slack.auto_assign[1]", "everything else"]
        );
        assert_eq!(rules[2].target, Target::RoundRobin("frontline".into()));
        assert_eq!(config.team_members(Surface::Slack, "frontline").len(), 3);
    }
}
