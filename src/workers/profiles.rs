//! Gathering what decides a ticket's reply profile (`core::profiles`): its routing rule's and
//! channel's settings, the profile last used in its channel, and the accounts of its network
//! routed to the same channel.

use crate::accounts::Account;
use crate::config::Destination;
use crate::core::profiles::{Profile, ProfileInputs, ReplyProfile, reply_profile};
use crate::core::{Surface, Ticket};

use super::Services;

/// A ticket's reply profile, with the accounts that could answer (for names and choices).
#[derive(Debug, Clone)]
pub struct Decided {
    pub profile: ReplyProfile,
    /// Every account of the ticket's network routed to its channel, the ticket's own first
    /// when it is not among them.
    pub accounts: Vec<Account>,
}

impl Decided {
    /// The answering account's record.
    pub fn account(&self) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == self.profile.account)
    }

    /// How an account is shown (its name, else its id).
    pub fn name_of(&self, id: &crate::core::AccountId) -> String {
        self.accounts
            .iter()
            .find(|a| a.id == *id)
            .map_or_else(|| id.to_string(), |a| a.name.clone())
    }
}

/// The chat channel a destination names, as the "last used here" key.
pub fn channel_key(to: &Destination<'_>) -> (Surface, String) {
    match to {
        Destination::Slack { channel } => (Surface::Slack, channel.to_string()),
        Destination::Discord { channel, .. } => (Surface::Discord, channel.id.clone()),
    }
}

/// Who answers `ticket` (owned by `owner`), and who could.
pub async fn decide(svc: &Services, ticket: &Ticket, owner: &Account) -> anyhow::Result<Decided> {
    let s = &ticket.state;
    let to = svc.config.destination_for(s, owner);
    let mut accounts: Vec<Account> = Vec::new();
    let (rule, channel, last_used) = match &to {
        Some(to) => {
            let here = channel_key(to);
            // Every account of this network whose own channel is this one.
            accounts = svc
                .config
                .accounts()
                .into_iter()
                .chain(svc.connected_accounts())
                .filter(|a| a.network == s.network && a.unhealthy.is_none())
                // An account without a token cannot answer anything.
                .filter(|a| !matches!(a.credentials, crate::accounts::Credentials::Missing))
                .filter(|a| {
                    svc.config
                        .account_destination(a)
                        .is_some_and(|d| channel_key(&d) == here)
                })
                .collect();
            let (rule, channel) = svc.config.reply_as(s, to);
            // Only an item any of the team's accounts may answer looks at the account last
            // used (`core::profiles`): skip the read for every other card.
            let last = if crate::core::profiles::is_shared(s.network, s.kind) {
                svc.store
                    .last_reply_profile(here.0, &here.1, s.network)
                    .await?
            } else {
                None
            };
            (rule, channel, last)
        }
        None => (None, None, None),
    };
    // Only the accounts truly routed here: the core adds the receiver to the choices itself.
    let routed: Vec<Profile> = accounts
        .iter()
        .map(|a| Profile {
            account: a.id.clone(),
            name: a.name.clone(),
            handle: None,
        })
        .collect();
    if !accounts.iter().any(|a| a.id == owner.id) {
        accounts.push(owner.clone());
    }
    let text = s.last_text.as_deref().unwrap_or(&s.first_text);
    let profile = reply_profile(&ProfileInputs {
        network: s.network,
        kind: s.kind,
        owner: &s.account,
        chosen: s.reply_as.as_ref(),
        rule: rule.as_ref(),
        channel: channel.as_ref(),
        last_used: last_used.as_ref(),
        text,
        routed: &routed,
    });
    Ok(Decided { profile, accounts })
}
