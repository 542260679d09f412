//! The Discord chat surface: request verification and interaction parsing (`inbound`,
//! `signature`), the card, modals, selects and slash-command definitions as Discord JSON
//! (`render`), and the REST client with its own per-route rate limiter (`client`,
//! `ratelimit`). The gateway connection (serenity) is an inbound edge and lives in
//! `server::gateway`; what the outbox posts for a Discord card is in `workers::outbox`.
//! Nothing from serenity or reqwest leaves this folder and the gateway module.

pub mod client;
pub mod inbound;
pub mod ratelimit;
pub mod render;
pub mod roles;
pub mod signature;

pub use client::{DiscordClient, DiscordError};
pub use inbound::{Interaction, Invoker, Kind, ParseError, parse_custom_id, parse_interaction};
pub use ratelimit::{RateLimitHeaders, RateLimiter};
pub use signature::{SignatureError, verify};
