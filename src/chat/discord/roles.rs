//! Can the bot ping a team's role? Discord notifies a role mention only if the role is
//! *mentionable* or the sender has the **Mention Everyone** permission (discord-api-docs,
//! `resources/message.mdx`, Allowed Mentions); `allowed_mentions.roles` alone is not enough.
//! Pure: the caller fetches `GET /guilds/{id}/roles` and the bot's member object.

use serde_json::Value;

/// `MENTION_EVERYONE`: also lets the bot ping roles that are not mentionable.
pub const MENTION_EVERYONE: u64 = 1 << 17;
/// `ADMINISTRATOR`: every permission.
pub const ADMINISTRATOR: u64 = 1 << 3;

/// What the check needs of a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: String,
    pub mentionable: bool,
    /// The permission bits (Discord sends them as a decimal string).
    pub permissions: u64,
}

/// The roles of a `GET /guilds/{id}/roles` answer (entries it cannot read are skipped).
pub fn parse_roles(v: &Value) -> Vec<Role> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some(Role {
                id: r.get("id")?.as_str()?.to_string(),
                mentionable: r
                    .get("mentionable")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                permissions: r
                    .get("permissions")
                    .and_then(Value::as_str)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0),
            })
        })
        .collect()
}

/// The role ids of a member object (`GET /guilds/{id}/members/{user}`).
pub fn member_roles(v: &Value) -> Vec<String> {
    v.get("roles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect()
}

/// Whether a member with `member_roles` in the server `guild` may mention every role: the
/// server-wide permissions of `@everyone` (the role whose id is the server's) and of their
/// roles include Mention Everyone or Administrator. (Channel overwrites are not looked at.)
pub fn may_mention_every_role(guild: &str, roles: &[Role], member_roles: &[String]) -> bool {
    let bits = roles
        .iter()
        .filter(|r| r.id == guild || member_roles.contains(&r.id))
        .fold(0, |acc, r| acc | r.permissions);
    bits & (MENTION_EVERYONE | ADMINISTRATOR) != 0
}

/// Of the teams' `(name, role id)`, those whose role is in this server and that the bot
/// cannot ping: not mentionable, and the bot has no Mention Everyone.
pub fn unpingable<'a>(
    guild: &str,
    roles: &[Role],
    bot_roles: &[String],
    teams: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    if may_mention_every_role(guild, roles, bot_roles) {
        return Vec::new();
    }
    teams
        .iter()
        .filter(|(_, role)| roles.iter().any(|r| r.id == *role && !r.mentionable))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GUILD: &str = "100";

    fn roles(everyone: u64, bot: u64) -> Vec<Role> {
        parse_roles(&json!([
            {"id": GUILD, "name": "@everyone", "mentionable": false, "permissions": everyone.to_string()},
            {"id": "7", "name": "support", "mentionable": false, "permissions": "0"},
            {"id": "8", "name": "billing", "mentionable": true, "permissions": "0"},
            {"id": "9", "name": "Switchboard", "mentionable": false, "permissions": bot.to_string(),
             "tags": {"bot_id": "42"}},
        ]))
    }

    #[test]
    fn a_role_that_is_not_mentionable_needs_mention_everyone() {
        let teams = [("support", "7"), ("billing", "8"), ("elsewhere", "99")];
        let bot = member_roles(&json!({"user": {"id": "42"}, "roles": ["9"]}));
        assert_eq!(bot, ["9"]);
        // Send Messages only: "support" cannot be pinged; "billing" is mentionable; a role
        // of another server is not this server's business.
        assert_eq!(
            unpingable(GUILD, &roles(1 << 11, 1 << 11), &bot, &teams),
            [("support", "7")]
        );
        // Mention Everyone on the bot's role, on @everyone, or Administrator: all pingable.
        assert!(unpingable(GUILD, &roles(0, MENTION_EVERYONE), &bot, &teams).is_empty());
        assert!(unpingable(GUILD, &roles(MENTION_EVERYONE, 0), &bot, &teams).is_empty());
        assert!(unpingable(GUILD, &roles(0, ADMINISTRATOR), &bot, &teams).is_empty());
        // A role the bot does not have gives it nothing.
        assert_eq!(
            unpingable(GUILD, &roles(0, MENTION_EVERYONE), &[], &teams),
            [("support", "7")]
        );
    }
}
