//! X (formerly Twitter), API v2: the account's mentions and replies, and its direct
//! messages, connected by OAuth 2.0 (PKCE, a confidential client with rotating refresh
//! tokens), read by polling or pushed by webhooks (Account Activity API or X Activity API),
//! answered as posts or messages.
//!
//! The folder only translates: [`client::XClient`] makes one HTTP call per method (the token
//! only in the `Authorization` header), [`error`] classifies X's answers once, [`payload`]
//! turns what was read (either way) into the core's envelopes, [`capabilities`] says what a
//! card offers, [`connector::XConnector`] and [`webhook::XWebhooks`] plug it all into the
//! seam.

pub mod capabilities;
pub mod client;
pub mod connector;
pub mod error;
pub mod payload;
pub mod webhook;

use serde::Deserialize;

pub use client::{DEFAULT_API_BASE, MentionsQuery, XClient};
pub use connector::{XConnector, XCursor};
pub use webhook::XWebhooks;

/// How an X account's news reaches Switchboard (`[x] ingest`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ingest {
    /// Switchboard reads the mentions and direct messages itself.
    #[default]
    Poll,
    /// X pushes them to `/webhooks/x` (the app's webhook and its subscriptions are set up at
    /// X); accounts are never polled.
    Webhook,
}
