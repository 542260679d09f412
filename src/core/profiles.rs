//! Reply profiles: which connected account answers a ticket when several of one network could
//! (two X accounts, several Facebook Pages for a mention). Pure: the caller gathers the
//! settings and the accounts; [`reply_profile`] decides.
//!
//! The rules, as the reference inboxes apply them (Qualtrics Social Connect):
//! - Comments, visitor posts, reviews and private conversations belong to the account that
//!   owns the post or conversation: only it can answer, whatever any setting says.
//! - Otherwise (mentions), in order: the profile chosen on the ticket's card; the routing
//!   rule's setting (the "folder"); the channel's setting (the "mailbox"); the profile last
//!   used to reply on that network in this channel; a connected profile the customer's
//!   message mentions; the first connected profile of that network routed to this channel;
//!   the account that received the item.
//!
//! A setting naming an account that cannot answer here (not connected, another network) is
//! skipped.

use super::ids::{AccountId, Network};
use super::model::ItemKind;

/// One account that could answer: its id and how it is named on the network (its handle,
/// without any `@`, for mention matching; its display name otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub account: AccountId,
    pub name: String,
    /// The handle the customer would write (`acme_support` for `@acme_support`).
    pub handle: Option<String>,
}

/// What decides a ticket's reply profile.
#[derive(Debug, Clone, Copy)]
pub struct ProfileInputs<'a> {
    pub network: Network,
    pub kind: ItemKind,
    /// The account that received the item (the ticket's account).
    pub owner: &'a AccountId,
    /// Chosen on the ticket's card.
    pub chosen: Option<&'a AccountId>,
    /// The routing rule's setting for this network (the rule that routed the ticket).
    pub rule: Option<&'a AccountId>,
    /// The destination channel's setting for this network.
    pub channel: Option<&'a AccountId>,
    /// The profile last used to reply on this network in this channel.
    pub last_used: Option<&'a AccountId>,
    /// What the customer wrote.
    pub text: &'a str,
    /// The connected profiles of this network routed to this channel, in the order they
    /// came (the first is the one that received items first).
    pub routed: &'a [Profile],
}

/// Why a profile answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The post or conversation is this account's: only it can answer.
    Owner,
    /// Chosen on the card.
    Chosen,
    /// The routing rule says so.
    Rule,
    /// The channel says so.
    Channel,
    /// It replied last on this network in this channel.
    LastUsed,
    /// The customer mentioned it.
    Mentioned,
    /// Routed here: the receiver when it is, else the first of this network's profiles.
    Routed,
    /// Nothing else applied: the account that received the item.
    Received,
}

/// The decision: who answers, why, and who else could (the card offers a choice when there is
/// more than one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyProfile {
    pub account: AccountId,
    pub why: Why,
    /// Everyone who could answer this ticket (the owner alone when it is fixed).
    pub choices: Vec<AccountId>,
}

impl ReplyProfile {
    /// The profile cannot be changed (the item belongs to one account).
    pub fn is_fixed(&self) -> bool {
        self.why == Why::Owner
    }
}

/// Whether the item can be answered by another account than the one that received it: a
/// mention on X, Facebook or LinkedIn is someone else's public post, which any of the team's
/// accounts there may answer. Comments, visitor posts, reviews and conversations are the
/// receiving account's, and so is an Instagram mention (only the mentioned account can answer
/// it, through its own mentions edge).
pub fn is_shared(network: Network, kind: ItemKind) -> bool {
    kind == ItemKind::Mention
        && matches!(network, Network::X | Network::Facebook | Network::Linkedin)
}

/// Who answers the ticket (see the module's rules).
pub fn reply_profile(i: &ProfileInputs<'_>) -> ReplyProfile {
    if !is_shared(i.network, i.kind) {
        return ReplyProfile {
            account: i.owner.clone(),
            why: Why::Owner,
            choices: vec![i.owner.clone()],
        };
    }
    // Everyone routed here, and the owner (it received the item, so it can answer).
    let mut choices: Vec<AccountId> = i.routed.iter().map(|p| p.account.clone()).collect();
    if !choices.contains(i.owner) {
        choices.push(i.owner.clone());
    }
    let usable = |a: Option<&AccountId>| a.filter(|a| choices.contains(a)).cloned();
    let mentioned = i
        .routed
        .iter()
        .find(|p| mentions(i.text, p))
        .map(|p| p.account.clone());
    let (account, why) = [
        (usable(i.chosen), Why::Chosen),
        (usable(i.rule), Why::Rule),
        (usable(i.channel), Why::Channel),
        (usable(i.last_used), Why::LastUsed),
        (mentioned, Why::Mentioned),
        // Routed here: the account that received the item when it is, else the first.
        (
            i.routed
                .iter()
                .find(|p| p.account == *i.owner)
                .or(i.routed.first())
                .map(|p| p.account.clone()),
            Why::Routed,
        ),
    ]
    .into_iter()
    .find_map(|(a, why)| a.map(|a| (a, why)))
    .unwrap_or_else(|| (i.owner.clone(), Why::Received));
    ReplyProfile {
        account,
        why,
        choices,
    }
}

/// Whether `text` mentions the profile: `@handle` as a whole word, case-insensitively (X and
/// Instagram handles are), or its name after an `@` (Facebook tags a Page by its name).
fn mentions(text: &str, p: &Profile) -> bool {
    let lower = text.to_lowercase();
    let at = |word: &str| {
        let needle = format!("@{}", word.to_lowercase());
        lower.match_indices(&needle).any(|(start, _)| {
            let end = start + needle.len();
            // Not a longer handle (`@acme_support2` is not `@acme_support`).
            !lower[end..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    };
    // A name that is a handle already (an X account is named `@acme`) is matched as one.
    let name = p.name.trim().trim_start_matches('@');
    p.handle.as_deref().is_some_and(at) || (!name.is_empty() && at(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(id: &str, handle: &str) -> Profile {
        Profile {
            account: AccountId::new(id),
            name: format!("{handle} team"),
            handle: Some(handle.into()),
        }
    }

    fn id(s: &str) -> AccountId {
        AccountId::new(s)
    }

    #[test]
    fn every_branch_of_the_fallback() {
        let routed = [profile("1", "acme_support"), profile("2", "acme")];
        let owner = id("2");
        let none = ProfileInputs {
            network: Network::X,
            kind: ItemKind::Mention,
            owner: &owner,
            chosen: None,
            rule: None,
            channel: None,
            last_used: None,
            text: "hello",
            routed: &routed,
        };
        let decide = |i: ProfileInputs<'_>| {
            let p = reply_profile(&i);
            (p.account.to_string(), p.why)
        };
        let (one, two, stranger) = (id("1"), id("2"), id("9"));
        let cases: Vec<(&str, ProfileInputs<'_>, (&str, Why))> = vec![
            (
                "chosen on the card wins over everything",
                ProfileInputs {
                    chosen: Some(&two),
                    rule: Some(&one),
                    channel: Some(&one),
                    last_used: Some(&one),
                    ..none
                },
                ("2", Why::Chosen),
            ),
            (
                "the rule wins over the channel",
                ProfileInputs {
                    rule: Some(&two),
                    channel: Some(&one),
                    ..none
                },
                ("2", Why::Rule),
            ),
            (
                "the channel's setting",
                ProfileInputs {
                    channel: Some(&two),
                    last_used: Some(&one),
                    ..none
                },
                ("2", Why::Channel),
            ),
            (
                "a setting naming an account that cannot answer here is skipped",
                ProfileInputs {
                    rule: Some(&stranger),
                    channel: Some(&two),
                    ..none
                },
                ("2", Why::Channel),
            ),
            (
                "the profile last used in the channel",
                ProfileInputs {
                    last_used: Some(&two),
                    text: "@acme_support help",
                    ..none
                },
                ("2", Why::LastUsed),
            ),
            (
                "a mentioned profile",
                ProfileInputs {
                    text: "hey @ACME is this broken?",
                    ..none
                },
                ("2", Why::Mentioned),
            ),
            (
                "a longer handle is not a mention",
                ProfileInputs {
                    text: "hey @acme_supporters",
                    ..none
                },
                ("2", Why::Routed),
            ),
            (
                "routed here: the account that received it first",
                none,
                ("2", Why::Routed),
            ),
            (
                "the receiver not routed here: the first profile routed here",
                ProfileInputs {
                    owner: &stranger,
                    ..none
                },
                ("1", Why::Routed),
            ),
            (
                "nothing routed: the account that received it",
                ProfileInputs {
                    routed: &[],
                    ..none
                },
                ("2", Why::Received),
            ),
        ];
        for (what, inputs, (account, why)) in cases {
            assert_eq!(decide(inputs), (account.to_string(), why), "{what}");
        }
    }

    #[test]
    fn comments_and_conversations_belong_to_their_account() {
        let routed = [profile("1", "acme_support"), profile("2", "acme")];
        let owner = id("2");
        let one = id("1");
        for kind in [
            ItemKind::Comment,
            ItemKind::DirectMessage,
            ItemKind::VisitorPost,
            ItemKind::Review,
        ] {
            let p = reply_profile(&ProfileInputs {
                network: Network::X,
                kind,
                owner: &owner,
                chosen: Some(&one),
                rule: Some(&one),
                channel: Some(&one),
                last_used: Some(&one),
                text: "@acme_support",
                routed: &routed,
            });
            assert_eq!((p.account.as_str(), p.why), ("2", Why::Owner), "{kind:?}");
            assert!(p.is_fixed());
            assert_eq!(p.choices, std::slice::from_ref(&owner));
        }
    }

    #[test]
    fn only_the_mentioned_account_answers_an_instagram_mention() {
        let routed = [profile("1", "acme_support"), profile("2", "acme")];
        let owner = id("2");
        let one = id("1");
        for (network, shared) in [
            (Network::Instagram, false),
            (Network::X, true),
            (Network::Facebook, true),
            (Network::Linkedin, true),
        ] {
            let p = reply_profile(&ProfileInputs {
                network,
                kind: ItemKind::Mention,
                owner: &owner,
                chosen: Some(&one),
                rule: None,
                channel: None,
                last_used: None,
                text: "hi",
                routed: &routed,
            });
            assert_eq!(!p.is_fixed(), shared, "{network:?}");
            assert_eq!(p.account.as_str(), if shared { "1" } else { "2" });
        }
    }

    #[test]
    fn the_choices_are_everyone_routed_here_and_the_receiver() {
        let routed = [profile("1", "a"), profile("3", "c")];
        let owner = id("2");
        let p = reply_profile(&ProfileInputs {
            network: Network::Facebook,
            kind: ItemKind::Mention,
            owner: &owner,
            chosen: None,
            rule: None,
            channel: None,
            last_used: None,
            text: "",
            routed: &routed,
        });
        assert_eq!(p.choices, [id("1"), id("3"), id("2")]);
        assert!(!p.is_fixed());
    }

    #[test]
    fn an_account_named_by_its_handle_is_recognised_when_mentioned() {
        let named = |id: &str, name: &str| Profile {
            account: AccountId::new(id),
            name: name.into(),
            handle: None,
        };
        assert!(mentions(
            "thanks @XDevelopers!",
            &named("1", "@XDevelopers")
        ));
        assert!(mentions("cc @acme", &named("2", "acme")));
        assert!(!mentions("cc @XDevelopers2", &named("1", "@XDevelopers")));
        assert!(!mentions("no handle here", &named("3", "@")));
    }
}
