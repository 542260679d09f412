//! Meta Graph API: webhook signature, payload parsing (Facebook Pages, Messenger, Instagram, WhatsApp) and the Graph client.
//!
//! Inbound: [`verify`] the raw body against `X-Hub-Signature-256`, then [`parse`] it into core
//! envelopes. Outbound: [`GraphClient`] replies to comments and visitor posts.

pub mod capabilities;
pub mod client;
pub mod connector;
pub mod payload;
pub mod signature;
pub mod webhook;

pub use client::{
    BaseUrlError, GraphClient, GraphError, MESSAGE_METADATA, MessageTag, RATE_LIMIT_HINT, SendAs,
    WhatsappRecipient,
};
pub use connector::MetaConnector;
pub use payload::{ParseError, Parsed, parse};
pub use signature::{SIGNATURE_HEADER, SignatureError, verify};

/// Graph API root used when the configuration names none. Meta supports each version for about
/// two years after release; bump it deliberately and re-run the Meta tests when doing so.
pub const DEFAULT_GRAPH_BASE_URL: &str = "https://graph.facebook.com/v25.0";
