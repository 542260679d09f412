//! Accounts: one record for every account a team connected on any network, whether it is
//! declared in the configuration file (the Meta family: a pasted token) or connected at run
//! time by OAuth (stored in the database with sealed credentials). Cards, routing, replies
//! and moderation read this record and nothing else, so the two kinds behave alike.

use secrecy::SecretString;

use crate::core::{AccountId, Network, Surface};

/// Where an account's tickets go unless a routing rule says otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub surface: Surface,
    pub channel: String,
}

/// How a usable access token is had for an account.
#[derive(Clone)]
pub enum Credentials {
    /// A token from the configuration file. Never refreshed: a refusal means it has to be
    /// renewed there.
    Configured(SecretString),
    /// Sealed in the store with the connected-account record `record`; handed out (and
    /// refreshed before it expires) by the token source.
    Connected { record: i64 },
    /// No token is configured: nothing can be sent as this account.
    Missing,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Configured(_) => f.write_str("Configured(<redacted>)"),
            Credentials::Connected { record } => write!(f, "Connected {{ record: {record} }}"),
            Credentials::Missing => f.write_str("Missing"),
        }
    }
}

/// One account on one network.
#[derive(Debug, Clone)]
pub struct Account {
    pub network: Network,
    /// The network's own id (a Page id, a WhatsApp `phone_number_id`, a YouTube channel id,
    /// a Business Profile location name).
    pub id: AccountId,
    /// Shown on cards.
    pub name: String,
    /// Where its tickets go (`None` only in a configuration `validate` refuses).
    pub home: Option<Home>,
    pub credentials: Credentials,
    /// `None` while healthy; why not otherwise (a refresh the provider refused as dead).
    pub unhealthy: Option<String>,
}

impl Account {
    /// The account's access is renewed by reconnecting it from chat (not in the file).
    pub fn is_connected(&self) -> bool {
        matches!(self.credentials, Credentials::Connected { .. })
    }
}

impl From<&crate::store::ConnectedAccount> for Account {
    fn from(a: &crate::store::ConnectedAccount) -> Self {
        Account {
            network: a.network,
            id: a.account_id.clone(),
            name: a.name.clone(),
            home: Some(Home {
                surface: a.surface,
                channel: a.channel.clone(),
            }),
            credentials: Credentials::Connected { record: a.id },
            unhealthy: a.unhealthy.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_token() {
        let a = Account {
            network: Network::Facebook,
            id: AccountId::new("1"),
            name: "Acme".into(),
            home: None,
            credentials: Credentials::Configured(SecretString::from("EAAG-secret")),
            unhealthy: None,
        };
        let shown = format!("{a:?}");
        assert!(!shown.contains("EAAG"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }
}
