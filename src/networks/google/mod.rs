//! Google's two polled networks: YouTube comments (Data API v3) and Google Business Profile
//! reviews. Neither pushes comments or reviews to us, so a poller pages through the newest
//! items until it reaches its high-water mark.
//!
//! This module is the translation layer only: [`YoutubeClient`] and [`BusinessClient`] make one
//! HTTP call per method (pagination and retries belong to the caller), wire types stay private,
//! and the pure [`youtube_changes`] / [`review_changes`] turn what was read into core
//! [`NetworkEnvelope`]s. Failures are classified once, in [`GoogleError`].
//!
//! A poll of one account, as these pieces expect it: list pages (newest first) until
//! [`Poll::reached_high_water`] or no `next_page_token`; for YouTube also fetch the replies of
//! threads with [`youtube::Thread::has_more_replies`] and the titles of the videos seen; run the
//! pure function over everything read; store the envelopes (their dedupe keys make a re-poll
//! harmless); only then move the mark to [`Poll::newest`].
//!
//! The OAuth access token only ever travels in the `Authorization: Bearer` header (reqwest
//! marks it sensitive); it never goes in a URL, an error or a log line.

pub mod business;
pub mod capabilities;
pub mod connector;
pub mod error;
mod http;
pub mod youtube;

use chrono::{DateTime, Utc};

use crate::core::NetworkEnvelope;

pub use business::{
    ANONYMOUS_REVIEWER, AccountPage, BusinessAccount, BusinessBases, BusinessClient,
    DEFAULT_ACCOUNT_MANAGEMENT_BASE, DEFAULT_BUSINESS_INFORMATION_BASE, DEFAULT_REVIEWS_BASE,
    Location, LocationPage, Review, ReviewPage, ReviewReply, review_changes,
};
pub use error::{GoogleError, next_quota_reset};
pub use http::BaseUrlError;
pub use youtube::{
    Channel, Comment, CommentPage, CommentStatus, DEFAULT_YOUTUBE_BASE, ModerationFilter,
    ModerationStatus, Thread, ThreadPage, YoutubeCall, YoutubeClient, youtube_changes,
};

/// What one poll of a page (or of several pages) of a Google network produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Poll {
    /// New items and edits newer than the high-water mark, oldest first.
    pub envelopes: Vec<NetworkEnvelope>,
    /// The input reached items at or before the high-water mark: the poller need not fetch
    /// further pages.
    pub reached_high_water: bool,
    /// The latest creation or update time seen in the input (whether or not it produced an
    /// envelope), to become the next high-water mark once every page of this poll has been
    /// stored. `None` when the input was empty.
    pub newest: Option<DateTime<Utc>>,
}
