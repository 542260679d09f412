//! The pure core: tickets, the state machine, card view model, action ids and all user-facing
//! text. No I/O and no Slack/Discord/network/SQL types in here.

pub mod action;
pub mod autoassign;
pub mod autoreply;
pub mod capabilities;
pub mod card;
pub mod decide;
pub mod filter;
#[cfg(test)]
pub mod hostile;
pub mod hours;
pub mod ids;
pub mod inbound;
pub mod limits;
pub mod model;
pub mod permission;
pub mod profiles;
pub mod quota;
pub mod rich;
pub mod saved_reply;
pub mod sla;
pub mod stats;
pub mod storm;
pub mod tags;
pub mod text;
pub mod window;
pub mod x_length;

pub use action::{ActionId, CardAction};
pub use capabilities::{Capabilities, WindowRule};
pub use decide::{
    Decision, DeliveryMark, Effect, Event, MessageChange, MessagePatch, NewMessage, decide,
};
pub use ids::*;
pub use inbound::{NetworkChange, NetworkEnvelope, ReceiptStatus};
pub use model::*;
pub use rich::Rich;
