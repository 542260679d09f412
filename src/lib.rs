//! Switchboard: social-network interactions become tickets, mirrored as cards in chat.
//!
//! Data flows one way: webhook → verify → parse → normalise → inbox (committed before the ack)
//! → core decides → effects into the outbox (same transaction) → workers deliver. See
//! `docs/design.md`.

pub mod core;
pub mod store;
