//! What a network adapter hands to the core after verifying and parsing a webhook.

use serde::{Deserialize, Serialize};

use super::ids::{AccountId, CustomerId, Network, NetworkItemId};
use super::model::{FailureReason, InboundItem};

/// One normalised change on a network, with the key it is deduplicated on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkEnvelope {
    /// Unique per delivery-worthy change, built from the network's own ids (e.g.
    /// `facebook:comment:<id>:add`). A redelivered webhook yields the same key.
    pub dedupe_key: String,
    pub change: NetworkChange,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum NetworkChange {
    /// A new item from a customer.
    New { item: InboundItem },
    /// A customer edited an item.
    Edited {
        network: Network,
        account: AccountId,
        item_id: NetworkItemId,
        text: String,
        /// The item's rating after the edit, where it has one (a Google review's stars).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rating: Option<u8>,
    },
    /// An item was removed on the network.
    Removed {
        network: Network,
        account: AccountId,
        item_id: NetworkItemId,
    },
    /// What the network says about messages we sent (WhatsApp statuses, Messenger
    /// deliveries and reads). `ids` are the network ids of our messages; when the network
    /// gives only a `watermark`, every message of ours to `customer` up to it is meant.
    Receipt {
        network: Network,
        account: AccountId,
        customer: Option<CustomerId>,
        ids: Vec<NetworkItemId>,
        watermark: Option<chrono::DateTime<chrono::Utc>>,
        status: ReceiptStatus,
    },
}

/// A delivery state reported by the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum ReceiptStatus {
    Sent,
    Delivered,
    Read,
    Failed(FailureReason),
}

impl NetworkChange {
    /// The network the change happened on.
    pub fn network(&self) -> Network {
        match self {
            NetworkChange::New { item } => item.network,
            NetworkChange::Edited { network, .. }
            | NetworkChange::Removed { network, .. }
            | NetworkChange::Receipt { network, .. } => *network,
        }
    }

    /// The connected account the change belongs to.
    pub fn account(&self) -> &AccountId {
        match self {
            NetworkChange::New { item } => &item.account,
            NetworkChange::Edited { account, .. }
            | NetworkChange::Removed { account, .. }
            | NetworkChange::Receipt { account, .. } => account,
        }
    }
}
