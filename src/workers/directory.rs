//! Who is who in the chat workspace: display names (for `{agent_name}`) and user-group
//! members (teams, permissions), cached for a short while so a burst of clicks does not
//! become a burst of API calls.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::chat::slack::SlackClient;
use crate::config::Config;
use crate::core::permission::{self, Permission};
use crate::core::{Surface, Teammate};

/// How long a looked-up name or group membership is trusted.
pub const DIRECTORY_TTL: Duration = Duration::from_secs(300);

#[derive(Default)]
pub struct Directory {
    names: Mutex<HashMap<String, (Instant, String)>>,
    groups: Mutex<HashMap<String, (Instant, Vec<String>)>>,
}

impl Directory {
    /// A user's display name; falls back to the id when Slack cannot tell.
    pub async fn name(&self, slack: &SlackClient, user: &str) -> String {
        if let Some(n) = fresh(&self.names, user) {
            return n;
        }
        match slack.user_name(user).await {
            Ok(name) => {
                put(&self.names, user, name.clone());
                name
            }
            Err(e) => {
                tracing::warn!(user, error = ?e, "cannot look up a user's name");
                user.to_string()
            }
        }
    }

    /// Members of a user group.
    pub async fn members(&self, slack: &SlackClient, group: &str) -> anyhow::Result<Vec<String>> {
        if let Some(m) = fresh(&self.groups, group) {
            return Ok(m);
        }
        let members = slack
            .usergroup_members(group)
            .await
            .map_err(|e| anyhow::anyhow!("cannot list user group {group}: {e:?}"))?;
        put(&self.groups, group, members.clone());
        Ok(members)
    }

    /// Whether `user` may do `what` under the configuration (admins may do everything).
    pub async fn allowed(
        &self,
        slack: &SlackClient,
        config: &Config,
        user: &str,
        what: Permission,
    ) -> anyhow::Result<bool> {
        let rule = config.permissions.rule(what);
        if rule.is_empty() {
            return Ok(true);
        }
        Ok(self.passes(slack, rule, user).await? || self.is_admin(slack, config, user).await?)
    }

    /// Whether `user` is on Slack's admin list (`permissions.admin`; empty: nobody).
    pub async fn is_admin(
        &self,
        slack: &SlackClient,
        config: &Config,
        user: &str,
    ) -> anyhow::Result<bool> {
        let rule = &config.permissions.admin;
        Ok(!rule.is_empty() && self.passes(slack, rule, user).await?)
    }

    /// `permission::allowed` with the rule's user groups looked up.
    async fn passes(
        &self,
        slack: &SlackClient,
        rule: &[String],
        user: &str,
    ) -> anyhow::Result<bool> {
        if rule.iter().any(|p| p == user) {
            return Ok(true);
        }
        let mut member_of = Vec::new();
        for group in permission::groups(rule) {
            if self.members(slack, group).await?.iter().any(|m| m == user) {
                member_of.push(group.to_string());
            }
        }
        Ok(permission::allowed(rule, user, &|g| {
            member_of.iter().any(|m| m == g)
        }))
    }

    /// Whether a teammate may do `what`: Slack ids and user groups, or Discord ids and roles
    /// (`roles`: the Discord member's role ids, as the event carried them).
    pub async fn allowed_as(
        &self,
        slack: &SlackClient,
        config: &Config,
        teammate: &Teammate,
        roles: &[String],
        what: Permission,
    ) -> anyhow::Result<bool> {
        match teammate.surface {
            Surface::Slack => {
                self.allowed(slack, config, teammate.id.as_str(), what)
                    .await
            }
            Surface::Discord => {
                let Some(d) = &config.discord else {
                    return Ok(false);
                };
                let p = &d.permissions;
                let user = teammate.id.as_str();
                Ok(permission::allowed_by_roles(p.rule(what), user, roles)
                    || permission::is_admin_by_roles(&p.admin, user, roles))
            }
        }
    }

    /// Whether a teammate is an admin: acts on every channel's tickets, from any channel.
    pub async fn is_admin_as(
        &self,
        slack: &SlackClient,
        config: &Config,
        teammate: &Teammate,
        roles: &[String],
    ) -> anyhow::Result<bool> {
        match teammate.surface {
            Surface::Slack => self.is_admin(slack, config, teammate.id.as_str()).await,
            Surface::Discord => Ok(config.discord.as_ref().is_some_and(|d| {
                permission::is_admin_by_roles(&d.permissions.admin, teammate.id.as_str(), roles)
            })),
        }
    }

    /// The configured teams `user` belongs to.
    pub async fn teams_of(&self, slack: &SlackClient, config: &Config, user: &str) -> Vec<String> {
        let mut out = Vec::new();
        for team in &config.slack.teams {
            match self.members(slack, &team.usergroup).await {
                Ok(m) if m.iter().any(|x| x == user) => out.push(team.name.clone()),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "team membership unknown"),
            }
        }
        out
    }
}

fn fresh<T: Clone>(map: &Mutex<HashMap<String, (Instant, T)>>, key: &str) -> Option<T> {
    let map = map.lock().unwrap_or_else(|p| p.into_inner());
    map.get(key)
        .filter(|(at, _)| at.elapsed() < DIRECTORY_TTL)
        .map(|(_, v)| v.clone())
}

fn put<T>(map: &Mutex<HashMap<String, (Instant, T)>>, key: &str, value: T) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    map.insert(key.to_string(), (Instant::now(), value));
}
