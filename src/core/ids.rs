//! Newtypes for every identifier, so a Page id can never be passed where a comment id is meant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A connected account on a network: a Facebook Page id, later an Instagram account id…
    AccountId
);
string_id!(
    /// The network's own id of an item (a comment id, a post id).
    NetworkItemId
);
string_id!(
    /// The network's id of the customer who wrote an item.
    CustomerId
);
string_id!(
    /// Our own key of one message in a ticket: `in:<network item id>` for customer messages,
    /// `chat:<surface>:<channel>:<message id>` for teammate messages. Unique, so it dedupes.
    MessageKey
);
string_id!(
    /// A chat surface's user id (Slack `U…`).
    ChatUserId
);

impl CustomerId {
    /// Prefix of a stand-in customer: the network named no author (Facebook and Instagram
    /// mentions), so the post stands in for "whoever wrote it".
    pub const UNKNOWN_PREFIX: &'static str = "unknown:";

    /// The stand-in customer for an item of `post` whose author the network did not name.
    pub fn unknown_author_of(post: &NetworkItemId) -> Self {
        Self(format!("{}{post}", Self::UNKNOWN_PREFIX))
    }

    /// A real user id on the network (not a stand-in): only these can be blocked.
    pub fn is_known(&self) -> bool {
        !self.0.is_empty() && !self.0.starts_with(Self::UNKNOWN_PREFIX)
    }
}

impl MessageKey {
    pub fn inbound(network: Network, item: &NetworkItemId) -> Self {
        Self(format!("in:{}:{}", network.as_str(), item))
    }
    pub fn from_chat(msg: &ChatRef) -> Self {
        Self(format!(
            "chat:{}:{}:{}:{}",
            msg.surface.as_str(),
            msg.workspace,
            msg.channel,
            msg.message
        ))
    }
}

/// Primary key of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketId(pub i64);

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for TicketId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(TicketId)
    }
}

/// The networks Switchboard ingests from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// Facebook Pages: comments, visitor posts, mentions and Messenger conversations.
    Facebook,
    /// Instagram professional accounts: comments, mentions and direct messages.
    Instagram,
    /// WhatsApp Business (Cloud API) phone numbers.
    Whatsapp,
    /// YouTube channels (Data API v3, polled): comments and replies on the channel's videos.
    Youtube,
    /// Google Business Profile locations (polled): customer reviews.
    Google,
    /// X (formerly Twitter) accounts: mentions, replies and direct messages.
    X,
    /// LinkedIn organization pages: comments and mentions.
    Linkedin,
    /// TikTok business accounts: comments on the account's videos.
    Tiktok,
}

impl Network {
    pub const ALL: [Network; 8] = [
        Network::Facebook,
        Network::Instagram,
        Network::Whatsapp,
        Network::Youtube,
        Network::Google,
        Network::X,
        Network::Linkedin,
        Network::Tiktok,
    ];
}

impl Network {
    pub fn as_str(self) -> &'static str {
        match self {
            Network::Facebook => "facebook",
            Network::Instagram => "instagram",
            Network::Whatsapp => "whatsapp",
            Network::Youtube => "youtube",
            Network::Google => "google",
            Network::X => "x",
            Network::Linkedin => "linkedin",
            Network::Tiktok => "tiktok",
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "facebook" => Ok(Network::Facebook),
            "instagram" => Ok(Network::Instagram),
            "whatsapp" => Ok(Network::Whatsapp),
            "youtube" => Ok(Network::Youtube),
            "google" => Ok(Network::Google),
            "x" => Ok(Network::X),
            "linkedin" => Ok(Network::Linkedin),
            "tiktok" => Ok(Network::Tiktok),
            other => Err(format!("unknown network {other:?}")),
        }
    }
}

/// The chat surfaces cards are mirrored to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    Slack,
    Discord,
}

impl Surface {
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Slack => "slack",
            Surface::Discord => "discord",
        }
    }
}

impl FromStr for Surface {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "slack" => Ok(Surface::Slack),
            "discord" => Ok(Surface::Discord),
            other => Err(format!("unknown chat surface {other:?}")),
        }
    }
}

/// Where a chat message lives: (surface, workspace, channel, message id). For Slack the message
/// id is the message `ts`. This is the key of the thread ↔ ticket mapping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChatRef {
    pub surface: Surface,
    pub workspace: String,
    pub channel: String,
    pub message: String,
}

/// A teammate acting in chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Teammate {
    pub surface: Surface,
    pub id: ChatUserId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_display_and_from_str() {
        assert_eq!("42".parse::<TicketId>().unwrap(), TicketId(42));
        assert_eq!(TicketId(42).to_string(), "42");
        assert_eq!(
            "facebook".parse::<Network>().unwrap().to_string(),
            "facebook"
        );
        assert!("myspace".parse::<Network>().is_err());
        assert_eq!("slack".parse::<Surface>().unwrap(), Surface::Slack);
    }

    #[test]
    fn message_keys_are_namespaced() {
        let k = MessageKey::inbound(Network::Facebook, &NetworkItemId::new("1_2"));
        assert_eq!(k.as_str(), "in:facebook:1_2");
        let c = ChatRef {
            surface: Surface::Slack,
            workspace: "T1".into(),
            channel: "C1".into(),
            message: "1.2".into(),
        };
        assert_eq!(MessageKey::from_chat(&c).as_str(), "chat:slack:T1:C1:1.2");
    }
}
