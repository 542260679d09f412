//! The Slack chat surface: request verification, inbound payload parsing, card rendering to
//! Block Kit and the Web API client.
//!
//! slack-morphism types stop at this module's edge: inbound payloads become our own types in
//! [`inbound`], and only [`render`] and [`client`] speak `SlackMessageContent`.

pub mod actions;
pub mod client;
pub mod inbound;
pub mod render;
pub mod signature;

pub use actions::{SavedReplyAction, SavedReplyActionError};
pub use client::{SlackCallError, SlackClient};
pub use inbound::{
    BlockAction, EventsRequest, Interaction, ParseError, SlackEvent, SlashCommand, parse_command,
    parse_event, parse_interaction,
};
pub use signature::{REPLAY_WINDOW_SECS, SignatureError, verify};
