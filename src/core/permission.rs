//! Who may do what. A rule is a list of user ids and user-group ids; empty means everyone.
//!
//! The admin list is the exception: empty means nobody. An admin passes every rule and acts on
//! the tickets of every channel, from any channel; everyone else acts only on the tickets
//! routed to the channel they are in (see `server::scope`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    Reply,
    Close,
    Assign,
    SavedReplies,
    Moderate,
    /// Mark read / unread by filter (`read|unread <filters>`); close / reopen by filter need
    /// `Close`.
    Bulk,
}

impl Permission {
    pub fn config_key(self) -> &'static str {
        match self {
            Permission::Reply => "permissions.reply",
            Permission::Close => "permissions.close",
            Permission::Assign => "permissions.assign",
            Permission::SavedReplies => "permissions.saved_replies",
            Permission::Moderate => "permissions.moderate",
            Permission::Bulk => "permissions.bulk",
        }
    }
}

/// Whether `user` is on the admin list (`rule`; empty: nobody is).
pub fn is_admin(rule: &[String], user: &str, in_group: &dyn Fn(&str) -> bool) -> bool {
    !rule.is_empty() && allowed(rule, user, in_group)
}

/// Discord: whether `user`, holding `roles`, is on the admin list (empty: nobody is).
pub fn is_admin_by_roles(rule: &[String], user: &str, roles: &[String]) -> bool {
    !rule.is_empty() && allowed_by_roles(rule, user, roles)
}

/// Whether `user` passes `rule`. `in_group(group_id)` answers membership of a user group.
pub fn allowed(rule: &[String], user: &str, in_group: &dyn Fn(&str) -> bool) -> bool {
    rule.is_empty()
        || rule
            .iter()
            .any(|p| p == user || (p.starts_with('S') && in_group(p)))
}

/// Discord: whether `user`, holding `roles`, passes `rule` (a list of user ids and role ids;
/// both are snowflakes, so one list holds both).
pub fn allowed_by_roles(rule: &[String], user: &str, roles: &[String]) -> bool {
    rule.is_empty() || rule.iter().any(|p| p == user || roles.contains(p))
}

/// The user groups a rule mentions (to look up before calling `allowed`).
pub fn groups(rule: &[String]) -> impl Iterator<Item = &str> {
    rule.iter()
        .map(String::as_str)
        .filter(|p| p.starts_with('S'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_rules_match_user_ids_and_roles() {
        let rule = vec!["111".to_string(), "900".to_string()];
        assert!(allowed_by_roles(&rule, "111", &[]));
        assert!(allowed_by_roles(&rule, "222", &["5".into(), "900".into()]));
        assert!(!allowed_by_roles(&rule, "222", &["5".into()]));
        assert!(allowed_by_roles(&[], "222", &[]));
    }

    #[test]
    fn an_empty_admin_list_makes_nobody_admin() {
        let rule = vec!["111".to_string(), "SADMINS".to_string()];
        let admins = |g: &str| g == "SADMINS";
        assert!(is_admin(&rule, "111", &|_| false));
        assert!(is_admin(&rule, "222", &admins));
        assert!(!is_admin(&rule, "222", &|_| false));
        assert!(!is_admin(&[], "111", &admins));
        assert!(is_admin_by_roles(&["900".into()], "222", &["900".into()]));
        assert!(!is_admin_by_roles(&["900".into()], "222", &["5".into()]));
        assert!(!is_admin_by_roles(&[], "222", &["900".into()]));
    }

    #[test]
    fn rules_table() {
        let support = |g: &str| g == "SSUPPORT";
        let nobody = |_: &str| false;
        let rule = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        type Case<'a> = (Vec<String>, &'a str, &'a dyn Fn(&str) -> bool, bool);
        let cases: Vec<Case> = vec![
            (rule(&[]), "UANY", &nobody, true),
            (rule(&["UANA"]), "UANA", &nobody, true),
            (rule(&["UANA"]), "UBEN", &nobody, false),
            (rule(&["SSUPPORT"]), "UBEN", &support, true),
            (rule(&["SSUPPORT"]), "UBEN", &nobody, false),
            (rule(&["UANA", "SSALES"]), "UBEN", &support, false),
        ];
        for (i, (r, user, groups, want)) in cases.into_iter().enumerate() {
            assert_eq!(allowed(&r, user, groups), want, "case {i}");
        }
        assert_eq!(
            groups(&rule(&["UANA", "SSALES"])).collect::<Vec<_>>(),
            vec!["SSALES"]
        );
    }
}
