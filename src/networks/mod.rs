//! Network adapters: verify, parse and normalise webhooks at the edge, and the outbound clients
//! that reply on each network.

pub mod google;
pub mod meta;
