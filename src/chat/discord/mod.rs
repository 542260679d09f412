//! The Discord chat surface (in progress): request verification and interaction parsing,
//! used by `server::discord` for `/discord/interactions`; card rendering to embeds and
//! message components, and a per-route REST rate limiter, not used yet (cards are not posted
//! to Discord yet). Discord JSON is built with `serde_json`; the REST/gateway client comes
//! later.

pub mod client;
pub mod inbound;
pub mod ratelimit;
pub mod render;
pub mod signature;

pub use client::{DiscordClient, DiscordError};
pub use inbound::{Interaction, Invoker, Kind, ParseError, parse_custom_id, parse_interaction};
pub use ratelimit::{RateLimitHeaders, RateLimiter};
pub use signature::{SignatureError, verify};
