//! Typed settings. The only place that reads the environment.
//!
//! A TOML file (default `switchboard.toml`) with every secret overridable from the environment
//! (`SWITCHBOARD_…`, see `ENV_*`). `validate` lists every problem at once, in words that say
//! which key to set; `serve` refuses to start while any remains. There is no way to disable a
//! signature check.

use std::collections::BTreeMap;
use std::path::Path;

use crate::accounts::{Account, Credentials};
use crate::core::hours::Schedule;
use crate::core::sla::SlaPolicy;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

mod auto_assign;
mod storm;
pub use auto_assign::AutoAssignConfig;
pub use storm::StormConfig;

pub const ENV_DATABASE_URL: &str = "SWITCHBOARD_DATABASE_URL";
pub const ENV_META_APP_SECRET: &str = "SWITCHBOARD_META_APP_SECRET";
pub const ENV_META_VERIFY_TOKEN: &str = "SWITCHBOARD_META_VERIFY_TOKEN";
/// Followed by the Page id: `SWITCHBOARD_META_PAGE_TOKEN_1234567890`.
pub const ENV_META_PAGE_TOKEN_PREFIX: &str = "SWITCHBOARD_META_PAGE_TOKEN_";
/// Followed by the Instagram account id.
pub const ENV_INSTAGRAM_TOKEN_PREFIX: &str = "SWITCHBOARD_INSTAGRAM_TOKEN_";
/// Followed by the WhatsApp phone number id.
pub const ENV_WHATSAPP_TOKEN_PREFIX: &str = "SWITCHBOARD_WHATSAPP_TOKEN_";
pub const ENV_SLACK_BOT_TOKEN: &str = "SWITCHBOARD_SLACK_BOT_TOKEN";
pub const ENV_SLACK_SIGNING_SECRET: &str = "SWITCHBOARD_SLACK_SIGNING_SECRET";
pub const ENV_SLACK_APP_TOKEN: &str = "SWITCHBOARD_SLACK_APP_TOKEN";
pub const ENV_DISCORD_BOT_TOKEN: &str = "SWITCHBOARD_DISCORD_BOT_TOKEN";
pub const ENV_GOOGLE_CLIENT_SECRET: &str = "SWITCHBOARD_GOOGLE_CLIENT_SECRET";
pub const ENV_TIKTOK_CLIENT_SECRET: &str = "SWITCHBOARD_TIKTOK_CLIENT_SECRET";
pub const ENV_TIKTOK_WEBHOOK_SECRET: &str = "SWITCHBOARD_TIKTOK_WEBHOOK_SECRET";
/// X's OAuth 2.0 client secret (its confidential client).
pub const ENV_X_CLIENT_SECRET: &str = "SWITCHBOARD_X_CLIENT_SECRET";
/// X's app consumer secret (API secret key): signs webhook deliveries and CRC answers.
pub const ENV_X_CONSUMER_SECRET: &str = "SWITCHBOARD_X_CONSUMER_SECRET";
/// LinkedIn's client secret: OAuth, and the key of webhook signatures and challenges.
pub const ENV_LINKEDIN_CLIENT_SECRET: &str = "SWITCHBOARD_LINKEDIN_CLIENT_SECRET";
/// The key that seals stored credentials (base64 of 32 bytes; see `crypto::SecretKey`).
/// Environment only: it must not sit in the file next to what it protects.
/// The bearer token that protects `/metrics` and the details of `/readyz`.
pub const ENV_METRICS_TOKEN: &str = "SWITCHBOARD_METRICS_TOKEN";
/// `human` or `json`: overrides `log.format`.
pub const ENV_LOG_FORMAT: &str = "SWITCHBOARD_LOG_FORMAT";
pub const ENV_SECRET_KEY: &str = "SWITCHBOARD_SECRET_KEY";
/// Discord's REST base (`/api/v10` is appended); a proxy or a local fake replaces it.
pub const DEFAULT_DISCORD_API_URL: &str = "https://discord.com";
/// The slash command registered on Discord (lower case, no slash: Discord's rule).
pub const DEFAULT_DISCORD_COMMAND: &str = "inbox";

/// Default database: an SQLite file next to the process, created if missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://switchboard.db";
/// Default listen address.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
/// Largest webhook body accepted (Meta batches stay far below this).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Slack Web API base URL.
pub const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api";
/// The slash command, as registered in `manifests/slack-app.yaml`.
pub const DEFAULT_COMMAND: &str = "/switchboard";
/// Default undo window for replies, in seconds.
pub const DEFAULT_UNDO_SECONDS: u64 = 5;
/// Longest undo window accepted (a reply should not wait minutes).
pub const MAX_UNDO_SECONDS: u64 = 60;
/// A thread message starting with this stays internal (a note), case-insensitively.
pub const DEFAULT_NOTE_PREFIX: &str = "note:";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub meta: MetaConfig,
    #[serde(default)]
    pub slack: SlackConfig,
    #[serde(default)]
    pub outbox: OutboxConfig,
    #[serde(default)]
    pub storm: StormConfig,
    #[serde(default)]
    pub inbox: InboxConfig,
    #[serde(default)]
    pub poll: PollConfig,
    #[serde(default)]
    pub retention: RetentionConfig,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub permissions: PermissionsConfig,
    #[serde(default)]
    pub log: LogConfig,
    /// Routing rules, tried in order.
    #[serde(default)]
    pub routing: Vec<RoutingRule>,
    /// Named business hours (`[hours.<name>]`), used by channels' `hours = "<name>"`.
    #[serde(default)]
    pub hours: BTreeMap<String, HoursConfig>,
    /// The weekly report (optional; see `report`).
    #[serde(default)]
    pub report: Option<ReportConfig>,
    /// The Discord application (optional; see `server::discord`).
    #[serde(default)]
    pub discord: Option<DiscordConfig>,
    /// The Google OAuth client for YouTube and Business Profile (optional; see `oauth`).
    #[serde(default)]
    pub google: Option<GoogleConfig>,
    /// The TikTok for Business developer app (optional; see `networks::tiktok`).
    #[serde(default)]
    pub tiktok: Option<TiktokConfig>,
    /// The X app: its OAuth 2.0 client, webhooks and API base URLs (optional; see
    /// `networks::x`).
    #[serde(default)]
    pub x: Option<XConfig>,
    /// The LinkedIn app (Community Management API): organization pages connected from chat
    /// (optional; see `networks::linkedin`).
    #[serde(default)]
    pub linkedin: Option<LinkedinConfig>,
    /// The key that seals connected accounts' credentials (`crate::crypto`). Never in the
    /// file: env `SWITCHBOARD_SECRET_KEY` only.
    #[serde(skip)]
    pub secret_key: Option<SecretString>,
}

/// Google's OAuth client (one for YouTube and Business Profile) and its API base URLs.
/// Accounts are connected from chat, so they are not listed here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleConfig {
    /// The OAuth client id (`….apps.googleusercontent.com`).
    pub client_id: String,
    /// Env: `SWITCHBOARD_GOOGLE_CLIENT_SECRET`.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    #[serde(default = "default_google_authorize_url")]
    pub authorize_url: String,
    #[serde(default = "default_google_token_url")]
    pub token_url: String,
    #[serde(default = "default_google_revoke_url")]
    pub revoke_url: String,
    #[serde(default = "default_youtube_api_url")]
    pub youtube_api_url: String,
    #[serde(default = "default_account_management_url")]
    pub account_management_url: String,
    #[serde(default = "default_business_information_url")]
    pub business_information_url: String,
    #[serde(default = "default_reviews_api_url")]
    pub reviews_api_url: String,
    /// How far back a newly connected account's comments and reviews are fetched, in days.
    #[serde(default = "default_backfill_days")]
    pub backfill_days: u32,
    /// The Google Cloud project's YouTube Data API quota per day, in units.
    #[serde(default = "default_daily_quota_units")]
    pub daily_quota_units: u64,
}

/// YouTube Data API v3 base URL.
pub const DEFAULT_YOUTUBE_API_URL: &str = "https://www.googleapis.com/youtube/v3";
/// Business Profile Account Management API base URL.
pub const DEFAULT_ACCOUNT_MANAGEMENT_URL: &str =
    "https://mybusinessaccountmanagement.googleapis.com/v1";
/// Business Profile Business Information API base URL.
pub const DEFAULT_BUSINESS_INFORMATION_URL: &str =
    "https://mybusinessbusinessinformation.googleapis.com/v1";
/// Reviews still live on the v4 My Business API.
pub const DEFAULT_REVIEWS_API_URL: &str = "https://mybusiness.googleapis.com/v4";
/// Days of history fetched when an account is connected.
pub const DEFAULT_BACKFILL_DAYS: u32 = 7;
/// YouTube Data API's default daily quota for a project.
pub const DEFAULT_DAILY_QUOTA_UNITS: u64 = 10_000;

fn default_google_authorize_url() -> String {
    crate::oauth::GOOGLE_AUTHORIZE_URL.into()
}
fn default_google_token_url() -> String {
    crate::oauth::GOOGLE_TOKEN_URL.into()
}
fn default_google_revoke_url() -> String {
    crate::oauth::GOOGLE_REVOKE_URL.into()
}
fn default_youtube_api_url() -> String {
    DEFAULT_YOUTUBE_API_URL.into()
}
fn default_account_management_url() -> String {
    DEFAULT_ACCOUNT_MANAGEMENT_URL.into()
}
fn default_business_information_url() -> String {
    DEFAULT_BUSINESS_INFORMATION_URL.into()
}
fn default_reviews_api_url() -> String {
    DEFAULT_REVIEWS_API_URL.into()
}
fn default_backfill_days() -> u32 {
    DEFAULT_BACKFILL_DAYS
}
fn default_daily_quota_units() -> u64 {
    DEFAULT_DAILY_QUOTA_UNITS
}

impl GoogleConfig {
    /// A client with every other setting at its default.
    pub fn new(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: None,
            authorize_url: default_google_authorize_url(),
            token_url: default_google_token_url(),
            revoke_url: default_google_revoke_url(),
            youtube_api_url: default_youtube_api_url(),
            account_management_url: default_account_management_url(),
            business_information_url: default_business_information_url(),
            reviews_api_url: default_reviews_api_url(),
            backfill_days: DEFAULT_BACKFILL_DAYS,
            daily_quota_units: DEFAULT_DAILY_QUOTA_UNITS,
        }
    }

    /// The OAuth client asking for `scopes`, with this file's URLs. `None` while the secret
    /// is missing or a URL does not parse (`validate` reports both).
    pub fn provider(&self, scopes: Vec<String>) -> Option<crate::oauth::ProviderConfig> {
        let secret = self
            .client_secret
            .clone()
            .filter(|s| !s.expose_secret().trim().is_empty())?;
        let mut p = crate::oauth::ProviderConfig::google(self.client_id.clone(), secret, scopes);
        p.authorize_url = url::Url::parse(&self.authorize_url).ok()?;
        p.token_url = url::Url::parse(&self.token_url).ok()?;
        p.revoke_url = Some(url::Url::parse(&self.revoke_url).ok()?);
        Some(p)
    }
}

/// The TikTok for Business developer app (account-holder OAuth, network-apis.md §11.5 flow A)
/// and its URLs. Accounts are connected from chat, so they are not listed here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TiktokConfig {
    /// The app's id: `client_key` on TikTok's authorization page, `client_id` / `app_id` in
    /// the API's bodies.
    pub client_id: String,
    /// Env: `SWITCHBOARD_TIKTOK_CLIENT_SECRET`.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// The secret TikTok signs comment events with (the app's client secret). Set it to
    /// accept them at `/webhooks/tiktok`; polling runs either way. Env:
    /// `SWITCHBOARD_TIKTOK_WEBHOOK_SECRET`.
    #[serde(default)]
    pub webhook_secret: Option<SecretString>,
    #[serde(default = "default_tiktok_authorize_url")]
    pub authorize_url: String,
    #[serde(default = "default_tiktok_token_url")]
    pub token_url: String,
    #[serde(default = "default_tiktok_refresh_url")]
    pub refresh_url: String,
    #[serde(default = "default_tiktok_revoke_url")]
    pub revoke_url: String,
    /// The Business API root every comment call is made under.
    #[serde(default = "default_tiktok_api_url")]
    pub api_url: String,
    /// How far back a newly connected account's comments are fetched, in days.
    #[serde(default = "default_backfill_days")]
    pub backfill_days: u32,
}

fn default_tiktok_authorize_url() -> String {
    crate::oauth::TIKTOK_AUTHORIZE_URL.into()
}
fn default_tiktok_token_url() -> String {
    crate::oauth::TIKTOK_TOKEN_URL.into()
}
fn default_tiktok_refresh_url() -> String {
    crate::oauth::TIKTOK_REFRESH_URL.into()
}
fn default_tiktok_revoke_url() -> String {
    crate::oauth::TIKTOK_REVOKE_URL.into()
}
fn default_tiktok_api_url() -> String {
    crate::networks::tiktok::DEFAULT_API_BASE.into()
}

impl TiktokConfig {
    /// An app with every other setting at its default.
    pub fn new(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: None,
            webhook_secret: None,
            authorize_url: default_tiktok_authorize_url(),
            token_url: default_tiktok_token_url(),
            refresh_url: default_tiktok_refresh_url(),
            revoke_url: default_tiktok_revoke_url(),
            api_url: default_tiktok_api_url(),
            backfill_days: DEFAULT_BACKFILL_DAYS,
        }
    }

    /// The OAuth client asking for `scopes`, with this file's URLs. `None` while the secret
    /// is missing or a URL does not parse (`validate` reports both).
    pub fn provider(&self, scopes: Vec<String>) -> Option<crate::oauth::ProviderConfig> {
        let secret = self
            .client_secret
            .clone()
            .filter(|s| !s.expose_secret().trim().is_empty())?;
        let mut p =
            crate::oauth::ProviderConfig::tiktok_business(self.client_id.clone(), secret, scopes);
        p.dialect = crate::oauth::Dialect::TiktokBusiness {
            refresh_url: url::Url::parse(&self.refresh_url).ok()?,
        };
        p.authorize_url = url::Url::parse(&self.authorize_url).ok()?;
        p.token_url = url::Url::parse(&self.token_url).ok()?;
        p.revoke_url = Some(url::Url::parse(&self.revoke_url).ok()?);
        Some(p)
    }
}

/// The X app (developer portal → Projects & Apps → the app): its OAuth 2.0 client (type "Web
/// App", a confidential client), its consumer secret for webhooks, and X's URLs. Accounts
/// are connected from chat.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XConfig {
    /// The OAuth 2.0 Client ID (Keys and tokens → OAuth 2.0 Client ID and Client Secret).
    pub client_id: String,
    /// Env: `SWITCHBOARD_X_CLIENT_SECRET`.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// The app's API secret key: signs webhook deliveries. Set, `/webhooks/x` is served.
    /// Env: `SWITCHBOARD_X_CONSUMER_SECRET`.
    #[serde(default)]
    pub consumer_secret: Option<SecretString>,
    #[serde(default = "default_x_api_url")]
    pub api_url: String,
    #[serde(default = "default_x_authorize_url")]
    pub authorize_url: String,
    #[serde(default = "default_x_token_url")]
    pub token_url: String,
    #[serde(default = "default_x_revoke_url")]
    pub revoke_url: String,
    /// How far back a newly connected account's mentions and messages are read, in days.
    #[serde(default = "default_backfill_days")]
    pub backfill_days: u32,
    /// `poll` (Switchboard reads mentions and messages) or `webhook` (X pushes them to
    /// `/webhooks/x`; needs `consumer_secret`).
    #[serde(default)]
    pub ingest: crate::networks::x::Ingest,
}

fn default_x_api_url() -> String {
    crate::networks::x::DEFAULT_API_BASE.into()
}
fn default_x_authorize_url() -> String {
    crate::oauth::X_AUTHORIZE_URL.into()
}
fn default_x_token_url() -> String {
    crate::oauth::X_TOKEN_URL.into()
}
fn default_x_revoke_url() -> String {
    crate::oauth::X_REVOKE_URL.into()
}

impl XConfig {
    /// A client with every other setting at its default.
    pub fn new(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: None,
            consumer_secret: None,
            api_url: default_x_api_url(),
            authorize_url: default_x_authorize_url(),
            token_url: default_x_token_url(),
            revoke_url: default_x_revoke_url(),
            backfill_days: DEFAULT_BACKFILL_DAYS,
            ingest: Default::default(),
        }
    }

    /// The OAuth client (HTTP Basic client authentication) with this file's URLs. `None`
    /// while the secret is missing or a URL does not parse (`validate` reports both).
    pub fn provider(&self) -> Option<crate::oauth::ProviderConfig> {
        let secret = self
            .client_secret
            .clone()
            .filter(|s| !s.expose_secret().trim().is_empty())?;
        let mut p = crate::oauth::ProviderConfig::x(self.client_id.clone(), secret, vec![]);
        p.authorize_url = url::Url::parse(&self.authorize_url).ok()?;
        p.token_url = url::Url::parse(&self.token_url).ok()?;
        p.revoke_url = Some(url::Url::parse(&self.revoke_url).ok()?);
        Some(p)
    }

    /// The consumer secret, when set and not blank.
    pub fn webhook_secret(&self) -> Option<SecretString> {
        self.consumer_secret
            .clone()
            .filter(|s| !s.expose_secret().trim().is_empty())
    }
}

/// The LinkedIn app (developer portal → My apps → the app, with the Community Management API
/// product): its OAuth client, LinkedIn's URLs and API version, and how pages' news arrives.
/// Pages are connected from chat.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkedinConfig {
    /// The app's Client ID (Auth tab).
    pub client_id: String,
    /// The app's Primary Client Secret: OAuth, and the key of webhook signatures.
    /// Env: `SWITCHBOARD_LINKEDIN_CLIENT_SECRET`.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    #[serde(default = "default_linkedin_api_url")]
    pub api_url: String,
    #[serde(default = "default_linkedin_authorize_url")]
    pub authorize_url: String,
    #[serde(default = "default_linkedin_token_url")]
    pub token_url: String,
    #[serde(default = "default_linkedin_revoke_url")]
    pub revoke_url: String,
    /// The `LinkedIn-Version` header (YYYYMM). LinkedIn sunsets a version about a year after
    /// it ships: keep it current.
    #[serde(default = "default_linkedin_version")]
    pub version: String,
    /// How far back a newly connected page's notifications are read, in days (LinkedIn
    /// keeps 60).
    #[serde(default = "default_backfill_days")]
    pub backfill_days: u32,
    /// `poll` (Switchboard reads the pages' notifications) or `webhook` (LinkedIn pushes
    /// them to `/webhooks/linkedin` too, for sooner cards; pages are still polled).
    #[serde(default)]
    pub ingest: crate::networks::linkedin::Ingest,
    /// What `X-LI-Signature` is computed over: `prefixed` (`"hmacsha256=" + body`, the
    /// reading of LinkedIn's guide) or `plain` (the body).
    #[serde(default)]
    pub signature: crate::networks::linkedin::SignatureForm,
    /// Apps LinkedIn did not enable for refresh tokens get 60-day access tokens: a page's
    /// channel is told this many days before its token expires, once.
    #[serde(default = "default_linkedin_expiry_warning_days")]
    pub expiry_warning_days: u32,
}

fn default_linkedin_api_url() -> String {
    crate::networks::linkedin::DEFAULT_API_BASE.into()
}
fn default_linkedin_authorize_url() -> String {
    crate::oauth::LINKEDIN_AUTHORIZE_URL.into()
}
fn default_linkedin_token_url() -> String {
    crate::oauth::LINKEDIN_TOKEN_URL.into()
}
fn default_linkedin_revoke_url() -> String {
    crate::oauth::LINKEDIN_REVOKE_URL.into()
}
fn default_linkedin_version() -> String {
    crate::networks::linkedin::DEFAULT_VERSION.into()
}
/// Days before a LinkedIn token without refresh expires that its page's channel is told.
pub const DEFAULT_LINKEDIN_EXPIRY_WARNING_DAYS: u32 = 7;
fn default_linkedin_expiry_warning_days() -> u32 {
    DEFAULT_LINKEDIN_EXPIRY_WARNING_DAYS
}

impl LinkedinConfig {
    /// A client with every other setting at its default.
    pub fn new(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: None,
            api_url: default_linkedin_api_url(),
            authorize_url: default_linkedin_authorize_url(),
            token_url: default_linkedin_token_url(),
            revoke_url: default_linkedin_revoke_url(),
            version: default_linkedin_version(),
            backfill_days: DEFAULT_BACKFILL_DAYS,
            ingest: Default::default(),
            signature: Default::default(),
            expiry_warning_days: DEFAULT_LINKEDIN_EXPIRY_WARNING_DAYS,
        }
    }

    /// The client secret, when set and not blank.
    pub fn secret(&self) -> Option<SecretString> {
        self.client_secret
            .clone()
            .filter(|s| !s.expose_secret().trim().is_empty())
    }

    /// The OAuth client with this file's URLs. `None` while the secret is missing or a URL
    /// does not parse (`validate` reports both).
    pub fn provider(&self) -> Option<crate::oauth::ProviderConfig> {
        let mut p =
            crate::oauth::ProviderConfig::linkedin(self.client_id.clone(), self.secret()?, vec![]);
        p.authorize_url = url::Url::parse(&self.authorize_url).ok()?;
        p.token_url = url::Url::parse(&self.token_url).ok()?;
        p.revoke_url = Some(url::Url::parse(&self.revoke_url).ok()?);
        Some(p)
    }
}

/// The Discord application: its bot posts cards, reads thread messages over the gateway and
/// answers interactions (over the gateway, or over HTTP at `/discord/interactions`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    pub application_id: String,
    /// The application's public key (64 hex digits): verifies every interaction request.
    pub public_key: String,
    /// The bot token. Env: `SWITCHBOARD_DISCORD_BOT_TOKEN`.
    #[serde(default)]
    pub bot_token: Option<SecretString>,
    /// REST base URL (Discord's, a Discord-API proxy's, or a test fake's).
    #[serde(default = "default_discord_api_url")]
    pub api_url: String,
    /// Connect to the gateway (thread messages; interactions too when no endpoint URL is set).
    #[serde(default = "yes")]
    pub gateway: bool,
    /// Every replica may hold the gateway, one at a time (a lease in the database): when the
    /// holder dies another connects within this many seconds.
    #[serde(default = "default_gateway_lease_secs")]
    pub gateway_lease_secs: u64,
    /// Register the slash command in each configured server (`guild`, instant) or once for
    /// every server (`global`, may take up to an hour to appear).
    #[serde(default)]
    pub command_scope: CommandScope,
    /// The slash command's name.
    #[serde(default = "default_discord_command")]
    pub command: String,
    /// A thread message starting with this stays internal (a note).
    #[serde(default = "default_note_prefix")]
    pub note_prefix: String,
    /// Seconds a reply waits before it is sent (delete or edit the message to undo).
    #[serde(default = "default_undo_seconds")]
    pub undo_seconds: u64,
    /// Who may do what: Discord user ids and role ids; an empty list means everyone.
    #[serde(default)]
    pub permissions: PermissionsConfig,
    /// Teams on Discord: a name (shared with Slack's teams, if any) and a role.
    #[serde(default)]
    pub teams: Vec<DiscordTeamConfig>,
    /// Auto-assignment rules for tickets whose card goes to Discord, tried in order.
    #[serde(default)]
    pub auto_assign: Vec<AutoAssignConfig>,
    /// The servers (guilds) Switchboard posts to, with their ticket channels.
    #[serde(default)]
    pub servers: Vec<DiscordServerConfig>,
}

impl DiscordConfig {
    /// An application with every other setting at its default (no servers yet).
    pub fn new(application_id: impl Into<String>, public_key: impl Into<String>) -> Self {
        Self {
            application_id: application_id.into(),
            public_key: public_key.into(),
            bot_token: None,
            api_url: default_discord_api_url(),
            gateway: true,
            gateway_lease_secs: default_gateway_lease_secs(),
            command_scope: CommandScope::default(),
            command: default_discord_command(),
            note_prefix: default_note_prefix(),
            undo_seconds: default_undo_seconds(),
            permissions: PermissionsConfig::default(),
            teams: Vec::new(),
            auto_assign: Vec::new(),
            servers: Vec::new(),
        }
    }
}

fn default_discord_api_url() -> String {
    DEFAULT_DISCORD_API_URL.into()
}
fn default_discord_command() -> String {
    DEFAULT_DISCORD_COMMAND.into()
}
fn default_note_prefix() -> String {
    DEFAULT_NOTE_PREFIX.into()
}
fn default_undo_seconds() -> u64 {
    DEFAULT_UNDO_SECONDS
}
fn yes() -> bool {
    true
}

/// Where slash commands are registered.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum CommandScope {
    #[default]
    Guild,
    Global,
}

/// A team whose members hold a Discord role.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct DiscordTeamConfig {
    pub name: String,
    /// The role id; members with it are the team, and a team notice mentions it.
    pub role: String,
    /// The members round-robin assigns to (user ids), in turn in this order.
    #[serde(default)]
    pub members: Vec<String>,
}

/// One Discord server.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct DiscordServerConfig {
    pub guild_id: String,
    /// Channels cards are posted to (accounts and routing rules name them).
    #[serde(default)]
    pub channels: Vec<DiscordChannelConfig>,
}

/// How tickets live in a Discord channel.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum DiscordChannelKind {
    /// One message per ticket, and a thread started from it for the conversation.
    #[default]
    Text,
    /// One forum post per ticket; its tags show the status.
    Forum,
}

/// A Discord channel tickets go to.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct DiscordChannelConfig {
    pub id: String,
    #[serde(default)]
    pub kind: DiscordChannelKind,
    #[serde(default)]
    pub reply_mode: ReplyMode,
    /// Forum channels: the forum tag ids applied for each status.
    #[serde(default)]
    pub status_tags: Option<StatusTags>,
    /// As `[[slack.channels]] reply_as`.
    #[serde(default)]
    pub reply_as: BTreeMap<crate::core::Network, String>,
    /// As [`ChannelConfig::auto_close_days`].
    #[serde(default)]
    pub auto_close_days: Option<u32>,
    /// As [`ChannelConfig::hours`].
    #[serde(default)]
    pub hours: Option<String>,
    /// As [`ChannelConfig::sla`]; `notify` is a role id.
    #[serde(default)]
    pub sla: Option<SlaConfig>,
    /// As [`ChannelConfig::auto_reply`].
    #[serde(default)]
    pub auto_reply: Option<AutoReplyConfig>,
}

/// Forum tag ids, one per status.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct StatusTags {
    pub unread: String,
    pub read: String,
    pub closed: String,
}

/// Where a ticket's card goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination<'a> {
    Slack {
        channel: &'a str,
    },
    Discord {
        guild: &'a str,
        channel: &'a DiscordChannelConfig,
    },
}

impl PartialEq for DiscordChannelConfig {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for DiscordChannelConfig {}

/// Who may do what. Each list holds Slack user ids (`U…`/`W…`) and user-group ids (`S…`)
/// (on Discord: user ids and role ids); an empty list means everyone in the workspace may.
/// `admin` is the exception: empty means nobody.
///
/// Everyone but an admin acts only on the tickets routed to the channel they act from.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct PermissionsConfig {
    pub reply: Vec<String>,
    pub close: Vec<String>,
    pub assign: Vec<String>,
    pub saved_replies: Vec<String>,
    /// Hide / unhide, delete, like, block.
    pub moderate: Vec<String>,
    /// Mark read / unread by filter; while not set, the `close` list applies.
    pub bulk: Option<Vec<String>>,
    /// Admins pass every rule and act on the tickets of every channel, from any channel.
    /// Empty: nobody.
    pub admin: Vec<String>,
}

impl PermissionsConfig {
    /// The list that rules `what`.
    pub fn rule(&self, what: crate::core::permission::Permission) -> &[String] {
        use crate::core::permission::Permission::*;
        match what {
            Reply => &self.reply,
            Close => &self.close,
            Assign => &self.assign,
            SavedReplies => &self.saved_replies,
            Moderate => &self.moderate,
            Bulk => self.bulk.as_deref().unwrap_or(&self.close),
        }
    }

    /// Every list with its key under `permissions.` (for validation).
    fn lists(&self) -> [(&'static str, &[String]); 7] {
        [
            ("reply", &self.reply),
            ("close", &self.close),
            ("assign", &self.assign),
            ("saved_replies", &self.saved_replies),
            ("moderate", &self.moderate),
            ("bulk", self.bulk.as_deref().unwrap_or_default()),
            ("admin", &self.admin),
        ]
    }
}

/// A team tickets can be assigned to.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    /// Shown on cards and used in filters (`assignee:team:<name>`).
    pub name: String,
    /// The Slack user group (`S…`) whose members are the team.
    pub usergroup: String,
    /// The members round-robin assigns to (user ids), in turn in this order. Listed here
    /// because the user group's membership is not known to the configuration.
    #[serde(default)]
    pub members: Vec<String>,
}

/// How thread messages under a card are treated.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReplyMode {
    /// A thread message is a reply; one starting with the note prefix stays internal.
    #[default]
    Thread,
    /// Thread chatter is internal; replies are sent only from the Reply button / modal.
    Explicit,
}

/// Per-channel settings.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    pub id: String,
    #[serde(default)]
    pub reply_mode: ReplyMode,
    /// Which account answers, per network, the tickets routed here that any of the team's
    /// accounts may answer (mentions): network → the account's id (see `core::profiles`).
    #[serde(default)]
    pub reply_as: BTreeMap<crate::core::Network, String>,
    /// Close a ticket routed here whose last message is the team's after this many days
    /// without a customer message (off when absent; see `workers::autoclose`).
    #[serde(default)]
    pub auto_close_days: Option<u32>,
    /// The business hours (a `[hours.<name>]` entry) this channel's SLA clocks count in and
    /// its out-of-hours replies follow; absent: always open.
    #[serde(default)]
    pub hours: Option<String>,
    /// Response targets for the tickets routed here (see `core::sla`).
    #[serde(default)]
    pub sla: Option<SlaConfig>,
    /// Automatic replies to the customers of the tickets routed here (see `core::autoreply`).
    #[serde(default)]
    pub auto_reply: Option<AutoReplyConfig>,
}

/// The default period in which a conversation gets at most one automatic reply, in hours.
pub const DEFAULT_AUTO_REPLY_EVERY_HOURS: u32 = 24;

/// A channel's automatic replies. Texts take `{author_name}`, `{account_name}` and (out of
/// hours) `{next_open}`.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AutoReplyConfig {
    /// Sent to a customer who starts (or, after the period, resumes) a private conversation.
    #[serde(default)]
    pub first_contact: Option<String>,
    /// Sent instead while the channel's business hours are closed (needs `hours`).
    #[serde(default)]
    pub out_of_hours: Option<String>,
    /// At most one automatic reply per conversation in this many hours.
    #[serde(default = "default_auto_reply_every_hours")]
    pub every_hours: u32,
    /// Also answer public comments and posts (off: private conversations only).
    #[serde(default)]
    pub public: bool,
}

fn default_auto_reply_every_hours() -> u32 {
    DEFAULT_AUTO_REPLY_EVERY_HOURS
}

impl AutoReplyConfig {
    pub fn policy(&self) -> crate::core::autoreply::Policy<'_> {
        crate::core::autoreply::Policy {
            first_contact: self.first_contact.as_deref(),
            out_of_hours: self.out_of_hours.as_deref(),
            every: chrono::Duration::hours(i64::from(self.every_hours)),
            public: self.public,
        }
    }
}

/// Business hours: an IANA time zone, weekly opening lines and holiday dates (see
/// `core::hours::Schedule::parse`).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct HoursConfig {
    /// `Europe/Berlin`, `America/New_York`, …
    pub tz: String,
    /// Lines such as `mon-fri 09:00-17:30` or `sat 10:00-14:00, 15:00-18:00`.
    pub week: Vec<String>,
    /// Dates `YYYY-MM-DD` on which nothing opens.
    #[serde(default)]
    pub holidays: Vec<String>,
}

impl HoursConfig {
    pub fn schedule(&self) -> Result<Schedule, crate::core::hours::ScheduleError> {
        let week: Vec<&str> = self.week.iter().map(String::as_str).collect();
        let holidays: Vec<&str> = self.holidays.iter().map(String::as_str).collect();
        Schedule::parse(&self.tz, &week, &holidays)
    }
}

/// The longest SLA target accepted, in minutes (30 days of business time).
pub const MAX_SLA_MINUTES: u32 = 30 * 24 * 60;

/// A channel's response targets, in business minutes.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    /// From a new ticket to the team's first reply.
    #[serde(default)]
    pub first_response_minutes: Option<u32>,
    /// From a customer's message after the team answered to the team's next reply.
    #[serde(default)]
    pub next_response_minutes: Option<u32>,
    /// Warn once this share of the target has passed, in percent (1–99).
    #[serde(default = "default_sla_warn_percent")]
    pub warn_percent: u8,
    /// Who the warning and the breach ping: a Slack user group (`S…`) or a Discord role id.
    /// Absent: the alert goes to the channel without a mention.
    #[serde(default)]
    pub notify: Option<String>,
}

fn default_sla_warn_percent() -> u8 {
    crate::core::sla::DEFAULT_WARN_PERCENT
}

impl SlaConfig {
    pub fn policy(&self) -> SlaPolicy {
        let minutes = |m: Option<u32>| m.map(|m| chrono::Duration::minutes(i64::from(m)));
        SlaPolicy {
            first_response: minutes(self.first_response_minutes),
            next_response: minutes(self.next_response_minutes),
            warn_percent: self.warn_percent,
        }
    }
}

/// One channel's automation settings, for validation.
struct Automation<'a> {
    id: &'a str,
    hours: Option<&'a String>,
    sla: Option<&'a SlaConfig>,
    auto_reply: Option<&'a AutoReplyConfig>,
}

fn validate_auto_reply(id: &str, has_hours: bool, a: &AutoReplyConfig, problems: &mut Vec<String>) {
    if a.first_contact.is_none() && a.out_of_hours.is_none() {
        problems.push(format!(
            "channel {id}: auto_reply needs first_contact or out_of_hours"
        ));
    }
    if a.out_of_hours.is_some() && !has_hours {
        problems.push(format!(
            "channel {id}: auto_reply.out_of_hours needs the channel's hours"
        ));
    }
    if a.every_hours == 0 {
        problems.push(format!(
            "channel {id}: auto_reply.every_hours must be at least 1"
        ));
    }
    for (key, text) in [
        ("first_contact", &a.first_contact),
        ("out_of_hours", &a.out_of_hours),
    ] {
        let Some(text) = text else { continue };
        if text.trim().is_empty() {
            problems.push(format!("channel {id}: auto_reply.{key} must not be empty"));
        } else if let Err(e) = crate::core::autoreply::fill_text(text, "x", "x", "x") {
            problems.push(format!("channel {id}: auto_reply.{key}: {e}"));
        }
    }
}

/// What a channel automates, as the workers need it.
#[derive(Debug, Clone, Default)]
pub struct ChannelRules<'a> {
    pub hours: Option<Schedule>,
    pub sla: Option<&'a SlaConfig>,
    pub auto_reply: Option<&'a AutoReplyConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    pub max_body_bytes: usize,
    /// After SIGTERM, how long in-flight work may take before it is abandoned (its jobs stay
    /// claimed until their lease runs out, then another worker retries them).
    pub shutdown_grace_secs: u64,
    /// Where the service is reachable from browsers (`https://social.example.org`); OAuth
    /// redirect URIs are `<public_url>/oauth/<provider>/callback`.
    pub public_url: Option<url::Url>,
    /// The bearer token `/metrics` and the details of `/readyz` require. Unset: `/metrics` is
    /// open to whoever reaches the port (keep it off the public internet). Env:
    /// `SWITCHBOARD_METRICS_TOKEN`.
    pub metrics_token: Option<SecretString>,
    /// `/readyz` answers 503 when the oldest due outbox job has waited longer than this, in
    /// seconds: deliveries are stuck (0: never, only a database outage fails it).
    pub ready_max_outbox_age_secs: u64,
}

impl ServerConfig {
    /// `<public_url>/oauth/<provider>/callback` (the exact URL to register with the provider).
    pub fn redirect_uri(&self, provider: &str) -> Option<url::Url> {
        let mut url = self.public_url.clone()?;
        url.path_segments_mut()
            .ok()?
            .pop_if_empty()
            .extend(["oauth", provider, "callback"]);
        Some(url)
    }
}

/// Default age, in seconds, of the oldest due outbox job past which `/readyz` fails: well
/// past the longest backoff step (5 min by default) and any Retry-After a chat API sends, so a
/// slow but moving outbox never trips it.
pub const DEFAULT_READY_MAX_OUTBOX_AGE_SECS: u64 = 900;

/// How log lines are written (`[log]`).
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `human` (default: one readable line per event) or `json` (one JSON object per line,
    /// with the span fields: request id, ticket, job). Env: `SWITCHBOARD_LOG_FORMAT`.
    pub format: LogFormat,
    /// A `SWITCHBOARD_LOG_FORMAT` value that is neither: ignored, and said in `warnings`.
    #[serde(skip)]
    pub ignored_env_format: Option<String>,
}

/// See [`LogConfig::format`].
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

/// Default shutdown deadline, in seconds (Kubernetes' default grace period is 30 s).
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 20;

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.into(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            shutdown_grace_secs: DEFAULT_SHUTDOWN_GRACE_SECS,
            public_url: None,
            metrics_token: None,
            ready_max_outbox_age_secs: DEFAULT_READY_MAX_OUTBOX_AGE_SECS,
        }
    }
}

/// Deadlines of every outbound HTTP call (Slack, Discord, Graph and every later network).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Whole-call deadline: a call accepted but never answered fails (retryably) after this.
    pub timeout_secs: u64,
    /// Deadline for establishing the connection (TCP + TLS).
    pub connect_timeout_secs: u64,
}

/// Default whole-call deadline, in seconds.
pub const DEFAULT_HTTP_TIMEOUT_SECS: u64 = 15;
/// Default connect deadline, in seconds.
pub const DEFAULT_HTTP_CONNECT_TIMEOUT_SECS: u64 = 5;
/// A job's lease must outlast its longest call by this much, so a lease never runs out
/// while its worker is still within a call's deadline.
pub const LEASE_MARGIN_SECS: u64 = 10;
/// A poll's deadline is its lease minus [`LEASE_MARGIN_SECS`]; the lease must leave room for
/// at least this many calls at `http.timeout_secs` each.
pub const POLL_DEADLINE_FACTOR: u64 = 4;

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout_secs: DEFAULT_HTTP_TIMEOUT_SECS,
            connect_timeout_secs: DEFAULT_HTTP_CONNECT_TIMEOUT_SECS,
        }
    }
}

impl HttpConfig {
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_secs)
    }

    pub fn connect_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.connect_timeout_secs)
    }
}

/// The inbound queue's processing.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct InboxConfig {
    /// How long an event whose target does not exist yet (an edit or removal that arrived
    /// before its item) waits for it before it is noted and dropped.
    pub orphan_wait_secs: u64,
    /// How long an event whose processing keeps failing transiently (a chat directory lookup
    /// got a 500, the database is briefly away) is retried before it is set aside.
    pub retry_budget_secs: u64,
}

impl Default for InboxConfig {
    fn default() -> Self {
        Self {
            orphan_wait_secs: 300,
            retry_budget_secs: 86_400,
        }
    }
}

fn default_gateway_lease_secs() -> u64 {
    30
}

/// The longest auto-close period accepted (ten years).
pub const MAX_AUTO_CLOSE_DAYS: u32 = 3_650;

/// The longest retention period accepted (a century: longer means "forever", which is `0`).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// The longest retention interval or grace period accepted (30 days).
pub const MAX_RETENTION_INTERVAL_SECS: u64 = 30 * 86_400;

/// Where the TrueType font for the report's chart is read from by default (Debian's
/// `fonts-dejavu-core`, which the container image installs).
pub const DEFAULT_REPORT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// The weekly report: the past week's statistics and a chart, posted once a week (one
/// replica sends it) in a Slack channel, a Discord channel, or both.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    #[serde(default)]
    pub slack_channel: Option<String>,
    #[serde(default)]
    pub discord_channel: Option<String>,
    /// The day it is sent (`mon` … `sun`), covering the seven days before it.
    #[serde(default = "default_report_weekday")]
    pub weekday: String,
    /// The local hour it is sent at (0–23).
    #[serde(default = "default_report_hour")]
    pub hour: u32,
    /// The zone of `weekday` and `hour` and of the report's days (IANA name).
    #[serde(default = "default_report_tz")]
    pub tz: String,
    /// Business hours the durations are measured in (a `[hours.<name>]`); absent: wall-clock.
    #[serde(default)]
    pub hours: Option<String>,
    /// The chart's font (a TrueType file); unreadable: the chart is drawn without text.
    #[serde(default = "default_report_font")]
    pub font: String,
}

fn default_report_weekday() -> String {
    "mon".into()
}
fn default_report_hour() -> u32 {
    9
}
fn default_report_tz() -> String {
    "UTC".into()
}
fn default_report_font() -> String {
    DEFAULT_REPORT_FONT.into()
}

impl ReportConfig {
    pub fn weekday(&self) -> Option<chrono::Weekday> {
        self.weekday.parse().ok()
    }
    pub fn tz(&self) -> Option<chrono_tz::Tz> {
        self.tz.parse().ok()
    }
}

/// How long closed tickets and finished queue rows are kept (see `workers::retention`).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Closed tickets whose last activity is older than this many days are archived (their
    /// card says so) and then deleted with their messages and history; processed inbox rows
    /// and delivered jobs older than this go too. 0 keeps everything forever. Default 42
    /// (six weeks, as Hootsuite keeps its inbox).
    pub days: u32,
    /// How often a round runs (one replica at a time, under a lease).
    pub interval_secs: u64,
    /// Rows handled per statement, so no statement holds the database for long.
    pub batch: i64,
    /// How long an archived ticket is kept before it is deleted, so its card is edited first
    /// (a ticket with a pending job is never deleted).
    pub archive_grace_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            days: 42,
            interval_secs: 3_600,
            batch: 200,
            archive_grace_secs: 3_600,
        }
    }
}

/// The poll worker of networks without webhooks (YouTube, Google reviews).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct PollConfig {
    /// How long a replica holds an account it polls; longer than a poll takes (its calls
    /// each have `http.timeout_secs`, a poll makes at most a few dozen).
    pub lease_secs: u64,
    /// Never poll an account more often than this, however much quota is left.
    pub min_interval_secs: u64,
    /// After a failed poll (outage, timeout), at least this long before the next.
    pub failure_backoff_secs: u64,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            lease_secs: 300,
            min_interval_secs: 60,
            failure_backoff_secs: 120,
        }
    }
}

impl PollConfig {
    pub fn settings(&self) -> crate::workers::poll::PollSettings {
        crate::workers::poll::PollSettings {
            lease: std::time::Duration::from_secs(self.lease_secs.max(LEASE_MARGIN_SECS + 1)),
            min_interval: std::time::Duration::from_secs(self.min_interval_secs),
            failure_backoff: std::time::Duration::from_secs(self.failure_backoff_secs),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: DEFAULT_DATABASE_URL.into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetaConfig {
    /// App secret: signs every webhook (`X-Hub-Signature-256`).
    pub app_secret: Option<SecretString>,
    /// The previous app secret, accepted too while rotating.
    pub previous_app_secret: Option<SecretString>,
    /// The token typed into the App Dashboard for the GET handshake.
    pub verify_token: Option<SecretString>,
    pub graph_api_url: String,
    /// The app has Messenger's Human Agent permission: replies up to 7 days after the
    /// customer's last message are sent with the HUMAN_AGENT tag.
    pub human_agent_tag: bool,
    pub pages: Vec<PageConfig>,
    /// Instagram professional accounts.
    pub instagram: Vec<AccountConfig>,
    /// WhatsApp Business phone numbers.
    pub whatsapp: Vec<AccountConfig>,
}

impl Default for MetaConfig {
    fn default() -> Self {
        Self {
            app_secret: None,
            previous_app_secret: None,
            verify_token: None,
            graph_api_url: crate::networks::meta::DEFAULT_GRAPH_BASE_URL.into(),
            human_agent_tag: false,
            pages: Vec::new(),
            instagram: Vec::new(),
            whatsapp: Vec::new(),
        }
    }
}

/// A connected account: a Facebook Page, an Instagram professional account or a WhatsApp
/// phone number.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// The id webhooks carry: the Page id (`entry.id`), the Instagram account id
    /// (`entry.id`), or the WhatsApp `phone_number_id`.
    pub id: String,
    /// Shown on cards.
    pub name: String,
    /// Access token used to reply: the Page token (Facebook, and the Page linked to an
    /// Instagram account), or a system-user token (WhatsApp).
    pub access_token: Option<SecretString>,
    /// The Slack channel id cards of this account go to (unless a routing rule says
    /// otherwise); exactly one of `slack_channel` and `discord_channel` is set.
    #[serde(default)]
    pub slack_channel: Option<String>,
    /// The Discord channel id (listed under a `[[discord.servers]]`) cards go to.
    #[serde(default)]
    pub discord_channel: Option<String>,
}

/// Facebook Pages were the first accounts; the name stays for them.
pub type PageConfig = AccountConfig;

impl AccountConfig {
    /// The account record of a declared account on `network`.
    pub fn to_account(&self, network: crate::core::Network) -> Account {
        let home = match (&self.slack_channel, &self.discord_channel) {
            (Some(channel), _) => Some(crate::accounts::Home {
                surface: crate::core::Surface::Slack,
                channel: channel.clone(),
            }),
            (None, Some(channel)) => Some(crate::accounts::Home {
                surface: crate::core::Surface::Discord,
                channel: channel.clone(),
            }),
            (None, None) => None,
        };
        Account {
            network,
            id: crate::core::AccountId::new(self.id.clone()),
            name: self.name.clone(),
            home,
            credentials: match &self.access_token {
                Some(t) => Credentials::Configured(t.clone()),
                None => Credentials::Missing,
            },
            unhealthy: None,
        }
    }
}

/// A routing rule: tickets matching every given condition go to its channel (Slack or
/// Discord) instead of their account's channel. Rules are tried in order; the first match wins.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    /// A name auto-assignment rules can refer to (`rule = "<name>"`).
    #[serde(default)]
    pub name: Option<String>,
    /// facebook, instagram or whatsapp.
    pub network: Option<crate::core::Network>,
    /// comment, visitor_post, mention or direct_message.
    pub kind: Option<crate::core::ItemKind>,
    /// Matched case-insensitively in the ticket's first message.
    pub keyword: Option<String>,
    /// The destination: exactly one of these.
    #[serde(default)]
    pub slack_channel: Option<String>,
    #[serde(default)]
    pub discord_channel: Option<String>,
    /// Which account answers the tickets this rule routes, per network (wins over the
    /// channel's `reply_as`).
    #[serde(default)]
    pub reply_as: BTreeMap<crate::core::Network, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    /// The workspace id (`T…`); events from other workspaces are ignored.
    pub team_id: String,
    pub bot_token: Option<SecretString>,
    pub signing_secret: Option<SecretString>,
    /// The previous signing secret, accepted too while rotating.
    pub previous_signing_secret: Option<SecretString>,
    /// An app-level token (`xapp-…`, scope `connections:write`): with it, events,
    /// interactions and commands also arrive over Socket Mode (no public URL needed for
    /// Slack). Env: `SWITCHBOARD_SLACK_APP_TOKEN`.
    pub app_token: Option<SecretString>,
    /// Socket Mode connections held open at once (Slack sends each envelope to one of them;
    /// several keep events flowing while one reconnects).
    pub socket_connections: u8,
    pub api_url: String,
    pub note_prefix: String,
    /// The slash command as registered in the Slack app.
    pub command: String,
    /// Seconds a reply waits before it is sent; deleting or editing the Slack message in
    /// that window cancels or changes it.
    pub undo_seconds: u64,
    pub teams: Vec<TeamConfig>,
    /// Channels whose reply mode is not the default `thread`.
    pub channels: Vec<ChannelConfig>,
    /// Auto-assignment rules for tickets whose card goes to Slack, tried in order.
    pub auto_assign: Vec<AutoAssignConfig>,
}

impl Default for SlackConfig {
    fn default() -> Self {
        Self {
            team_id: String::new(),
            bot_token: None,
            signing_secret: None,
            previous_signing_secret: None,
            app_token: None,
            socket_connections: 2,
            api_url: DEFAULT_SLACK_API_URL.into(),
            note_prefix: DEFAULT_NOTE_PREFIX.into(),
            command: DEFAULT_COMMAND.into(),
            undo_seconds: DEFAULT_UNDO_SECONDS,
            teams: Vec::new(),
            channels: Vec::new(),
            auto_assign: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// No longer used: transient failures are retried for `retry_budget_secs`, permanent
    /// ones fail at once. Accepted so that older configuration files still load.
    pub max_attempts: i32,
    /// How long transient failures (timeouts, connection errors, 5xx, 429) are retried, from
    /// the job's creation (or its last `outbox retry`), before the job is given up.
    pub retry_budget_secs: u64,
    /// First retry delay; doubles each attempt.
    pub base_backoff_ms: u64,
    /// Cap on the retry delay.
    pub max_backoff_secs: u64,
    /// Minimum gap between two messages posted to one channel (Slack allows about one message
    /// per second per channel; the 5% margin keeps network jitter from bringing two posts
    /// closer than that). Kept in the database: every replica shares it.
    pub channel_pace_ms: u64,
    /// Jobs claimed per round and delivered concurrently.
    pub batch_size: i64,
    /// How long a claimed job is leased before another worker may take it over.
    pub lease_secs: i64,
    /// Poll interval when idle (a commit also wakes the worker at once).
    pub poll_ms: u64,
    /// How often conversation cards are re-rendered so the reply-window countdown moves.
    pub window_refresh_minutes: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            retry_budget_secs: 86_400,
            base_backoff_ms: 1_000,
            max_backoff_secs: 300,
            channel_pace_ms: 1_050,
            batch_size: 16,
            lease_secs: 60,
            poll_ms: 500,
            window_refresh_minutes: 30,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid configuration: {message}")]
    Parse { path: String, message: String },
}

/// Where the environment comes from (a closure, so tests need not touch the process env).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// Read the file (a missing file is an empty config: everything from the environment).
    pub fn load(path: &Path, env: Env<'_>) -> Result<Self, LoadError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(LoadError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let mut config = Self::parse(&text).map_err(|message| LoadError::Parse {
            path: path.display().to_string(),
            message,
        })?;
        config.apply_env(env);
        Ok(config)
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    fn apply_env(&mut self, env: Env<'_>) {
        if let Some(v) = env(ENV_DATABASE_URL) {
            self.database.url = v;
        }
        let secret = |name: &str| env(name).map(SecretString::from);
        if let Some(v) = secret(ENV_META_APP_SECRET) {
            self.meta.app_secret = Some(v);
        }
        if let Some(v) = secret(ENV_META_VERIFY_TOKEN) {
            self.meta.verify_token = Some(v);
        }
        for (list, prefix) in [
            (&mut self.meta.pages, ENV_META_PAGE_TOKEN_PREFIX),
            (&mut self.meta.instagram, ENV_INSTAGRAM_TOKEN_PREFIX),
            (&mut self.meta.whatsapp, ENV_WHATSAPP_TOKEN_PREFIX),
        ] {
            for account in list.iter_mut() {
                if let Some(v) = secret(&format!("{prefix}{}", account.id)) {
                    account.access_token = Some(v);
                }
            }
        }
        if let Some(v) = secret(ENV_SLACK_BOT_TOKEN) {
            self.slack.bot_token = Some(v);
        }
        if let Some(v) = secret(ENV_SLACK_SIGNING_SECRET) {
            self.slack.signing_secret = Some(v);
        }
        if let Some(v) = secret(ENV_SLACK_APP_TOKEN) {
            self.slack.app_token = Some(v);
        }
        if let (Some(d), Some(v)) = (self.discord.as_mut(), secret(ENV_DISCORD_BOT_TOKEN)) {
            d.bot_token = Some(v);
        }
        if let (Some(g), Some(v)) = (self.google.as_mut(), secret(ENV_GOOGLE_CLIENT_SECRET)) {
            g.client_secret = Some(v);
        }
        if let Some(t) = self.tiktok.as_mut() {
            if let Some(v) = secret(ENV_TIKTOK_CLIENT_SECRET) {
                t.client_secret = Some(v);
            }
            if let Some(v) = secret(ENV_TIKTOK_WEBHOOK_SECRET) {
                t.webhook_secret = Some(v);
            }
        }
        if let (Some(l), Some(v)) = (self.linkedin.as_mut(), secret(ENV_LINKEDIN_CLIENT_SECRET)) {
            l.client_secret = Some(v);
        }
        if let Some(x) = self.x.as_mut() {
            if let Some(v) = secret(ENV_X_CLIENT_SECRET) {
                x.client_secret = Some(v);
            }
            if let Some(v) = secret(ENV_X_CONSUMER_SECRET) {
                x.consumer_secret = Some(v);
            }
        }
        if let Some(v) = secret(ENV_SECRET_KEY) {
            self.secret_key = Some(v);
        }
        if let Some(v) = secret(ENV_METRICS_TOKEN) {
            self.server.metrics_token = Some(v);
        }
        match env(ENV_LOG_FORMAT).map(|v| v.trim().to_ascii_lowercase()) {
            Some(v) if v == "json" => self.log.format = LogFormat::Json,
            Some(v) if v == "human" => self.log.format = LogFormat::Human,
            Some(v) => self.log.ignored_env_format = Some(v),
            None => {}
        }
    }

    /// The credentials key, when set and well-formed.
    pub fn credentials_key(&self) -> Option<crate::crypto::SecretKey> {
        use secrecy::ExposeSecret;
        let raw = self.secret_key.as_ref()?;
        crate::crypto::SecretKey::parse(raw.expose_secret()).ok()
    }

    /// Things that do not stop `serve` but may not work as expected, one sentence each
    /// (`check-config` prints them; the service logs them at start-up).
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some(v) = &self.log.ignored_env_format {
            warnings.push(format!(
                "{ENV_LOG_FORMAT}={v:?} is neither \"human\" nor \"json\": ignored"
            ));
        }
        if let Some(d) = &self.discord
            && !d.teams.is_empty()
        {
            let roles: Vec<String> = d
                .teams
                .iter()
                .map(|t| format!("{} ({})", t.role, t.name))
                .collect();
            warnings.push(format!(
                "discord.teams: Discord pings a team's role only if the role is mentionable \
                 or the bot has the Mention Everyone permission (1 << 17); otherwise team \
                 notices arrive silently. Check role {} (the service also checks at start-up)",
                roles.join(", ")
            ));
        }
        warnings
    }

    /// Every problem that stops `serve`, one sentence each.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        self.storm.validate(&mut problems);
        let mut missing = |key: &str, env: &str| {
            problems.push(format!("{key} is not set (set it in the file or {env})"));
        };
        if is_blank(&self.meta.app_secret) {
            missing("meta.app_secret", ENV_META_APP_SECRET);
        }
        if is_blank(&self.meta.verify_token) {
            missing("meta.verify_token", ENV_META_VERIFY_TOKEN);
        }
        let uses_slack = self.uses_slack();
        if uses_slack && is_blank(&self.slack.bot_token) {
            missing("slack.bot_token", ENV_SLACK_BOT_TOKEN);
        }
        if uses_slack && is_blank(&self.slack.signing_secret) {
            missing("slack.signing_secret", ENV_SLACK_SIGNING_SECRET);
        }
        if let Some(t) = &self.slack.app_token {
            use secrecy::ExposeSecret;
            if !t.expose_secret().starts_with("xapp-") {
                problems.push(
                    "slack.app_token must be an app-level token (xapp-…, scope connections:write)"
                        .into(),
                );
            }
            if !(1..=10).contains(&self.slack.socket_connections) {
                problems.push("slack.socket_connections must be between 1 and 10".into());
            }
        }
        if uses_slack && self.slack.team_id.trim().is_empty() {
            problems.push("slack.team_id is not set (the workspace id, T…)".into());
        }
        if self.slack.note_prefix.trim().is_empty() {
            problems.push("slack.note_prefix must not be empty".into());
        }
        if self
            .auto_close_periods()
            .any(|d| d == 0 || d > MAX_AUTO_CLOSE_DAYS)
        {
            problems.push(format!(
                "auto_close_days must be between 1 and {MAX_AUTO_CLOSE_DAYS} (leave it out to keep tickets open)"
            ));
        }
        self.validate_automation(&mut problems);
        if let Some(r) = &self.report {
            self.validate_report(r, &mut problems);
        }
        let r = &self.retention;
        if r.days > 0 && (r.interval_secs == 0 || r.batch < 1) {
            problems.push(
                "retention.interval_secs and retention.batch must be at least 1 (retention.days = 0 turns retention off)"
                    .into(),
            );
        }
        if r.days > MAX_RETENTION_DAYS
            || r.interval_secs > MAX_RETENTION_INTERVAL_SECS
            || r.archive_grace_secs > MAX_RETENTION_INTERVAL_SECS
        {
            problems.push(format!(
                "retention.days may be at most {MAX_RETENTION_DAYS} (use 0 to keep everything), retention.interval_secs and retention.archive_grace_secs at most {MAX_RETENTION_INTERVAL_SECS}"
            ));
        }
        if self.slack.undo_seconds > MAX_UNDO_SECONDS {
            problems.push(format!(
                "slack.undo_seconds is {}; at most {MAX_UNDO_SECONDS}",
                self.slack.undo_seconds
            ));
        }
        if !self.slack.command.starts_with('/') || self.slack.command.len() < 2 {
            problems.push(format!(
                "slack.command must start with /, got {:?}",
                self.slack.command
            ));
        }
        let mut team_names = BTreeMap::new();
        for (i, team) in self.slack.teams.iter().enumerate() {
            let at = format!("slack.teams[{i}]");
            let ok_name = !team.name.is_empty()
                && team
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok_name {
                problems.push(format!(
                    "{at}.name must be letters, digits, - or _ (it is used in filters), got {:?}",
                    team.name
                ));
            }
            if let Some(first) = team_names.insert(team.name.to_ascii_lowercase(), i) {
                problems.push(format!(
                    "{at}.name {} repeats slack.teams[{first}]",
                    team.name
                ));
            }
            if !team.usergroup.starts_with('S') {
                problems.push(format!(
                    "{at}.usergroup must be a user group id (S…), got {:?}",
                    team.usergroup
                ));
            }
        }
        for (key, list) in self.permissions.lists() {
            for p in list {
                if !(p.starts_with('U') || p.starts_with('W') || p.starts_with('S')) {
                    problems.push(format!(
                        "permissions.{key}: {p:?} is neither a user id (U…/W…) nor a user group id (S…)"
                    ));
                }
            }
        }
        if self.uses_discord() && self.discord.is_none() {
            problems.push(
                "a discord_channel is used but there is no [discord] section (application_id, public_key, bot_token)"
                    .into(),
            );
        }
        if let Some(d) = &self.discord {
            if is_blank(&d.bot_token) {
                problems.push(format!(
                    "discord.bot_token is not set (set it in the file or {ENV_DISCORD_BOT_TOKEN})"
                ));
            }
            let cmd = &d.command;
            let ok_cmd = (1..=32).contains(&cmd.chars().count())
                && cmd
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if !ok_cmd {
                problems.push(format!(
                    "discord.command must be 1-32 lower-case letters, digits, - or _ (no slash), got {cmd:?}"
                ));
            }
            if d.note_prefix.trim().is_empty() {
                problems.push("discord.note_prefix must not be empty".into());
            }
            if d.undo_seconds > MAX_UNDO_SECONDS {
                problems.push(format!(
                    "discord.undo_seconds is {}; at most {MAX_UNDO_SECONDS}",
                    d.undo_seconds
                ));
            }
            match url::Url::parse(&d.api_url) {
                Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
                _ => problems.push(format!(
                    "discord.api_url is not an http(s) URL: {:?}",
                    d.api_url
                )),
            }
            let snowflake = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
            for (key, list) in d.permissions.lists() {
                for p in list.iter().filter(|p| !snowflake(p)) {
                    problems.push(format!(
                        "discord.permissions.{key}: {p:?} is not a Discord user or role id"
                    ));
                }
            }
            for (i, t) in d.teams.iter().enumerate() {
                if !snowflake(&t.role) {
                    problems.push(format!(
                        "discord.teams[{i}].role must be a role id, got {:?}",
                        t.role
                    ));
                }
                if t.name.trim().is_empty() {
                    problems.push(format!("discord.teams[{i}].name is empty"));
                }
            }
            let mut seen = BTreeMap::new();
            for (i, server) in d.servers.iter().enumerate() {
                if !snowflake(&server.guild_id) {
                    problems.push(format!(
                        "discord.servers[{i}].guild_id must be a server id, got {:?}",
                        server.guild_id
                    ));
                }
                for (j, c) in server.channels.iter().enumerate() {
                    let at = format!("discord.servers[{i}].channels[{j}]");
                    if !snowflake(&c.id) {
                        problems.push(format!("{at}.id must be a channel id, got {:?}", c.id));
                    }
                    if seen.insert(c.id.clone(), at.clone()).is_some() {
                        problems.push(format!("{at}.id {} is listed twice", c.id));
                    }
                    if c.status_tags.is_some() && c.kind != DiscordChannelKind::Forum {
                        problems.push(format!("{at}.status_tags only apply to kind = \"forum\""));
                    }
                }
            }
            let hex_key = d.public_key.trim();
            if hex_key.len() != 64 || !hex_key.chars().all(|c| c.is_ascii_hexdigit()) {
                problems.push(
                    "discord.public_key must be the application's public key (64 hex digits)"
                        .into(),
                );
            }
            if d.application_id.trim().is_empty() {
                problems.push("discord.application_id is empty".into());
            }
        }
        if let Some(g) = &self.google {
            self.validate_google(g, &mut problems);
        }
        if let Some(t) = &self.tiktok {
            self.validate_tiktok(t, &mut problems);
        }
        if let Some(x) = &self.x {
            self.validate_x(x, &mut problems);
        }
        if let Some(l) = &self.linkedin {
            self.validate_linkedin(l, &mut problems);
        }
        // Accounts of polled networks are connected at run time, not listed here.
        if self.meta.pages.is_empty()
            && self.meta.instagram.is_empty()
            && self.meta.whatsapp.is_empty()
            && self.google.is_none()
            && self.tiktok.is_none()
            && self.x.is_none()
            && self.linkedin.is_none()
        {
            problems.push(
                "no account is configured: add at least one [[meta.pages]], [[meta.instagram]] or [[meta.whatsapp]]"
                    .into(),
            );
        }
        self.validate_auto_assign(&mut problems);
        for (i, rule) in self.routing.iter().enumerate() {
            let at = format!("routing[{i}]");
            if rule.network.is_none() && rule.kind.is_none() && rule.keyword.is_none() {
                problems.push(format!("{at} has no condition (network, kind or keyword)"));
            }
            self.check_destination(
                &at,
                rule.slack_channel.as_deref(),
                rule.discord_channel.as_deref(),
                &mut problems,
            );
        }
        for (list, key, what, prefix) in [
            (
                &self.meta.pages,
                "meta.pages",
                "Page id",
                ENV_META_PAGE_TOKEN_PREFIX,
            ),
            (
                &self.meta.instagram,
                "meta.instagram",
                "Instagram account id",
                ENV_INSTAGRAM_TOKEN_PREFIX,
            ),
            (
                &self.meta.whatsapp,
                "meta.whatsapp",
                "phone_number_id",
                ENV_WHATSAPP_TOKEN_PREFIX,
            ),
        ] {
            let mut seen = BTreeMap::new();
            for (i, a) in list.iter().enumerate() {
                let at = format!("{key}[{i}]");
                if a.id.trim().is_empty() || !a.id.chars().all(|c| c.is_ascii_digit()) {
                    problems.push(format!(
                        "{at}.id must be the numeric {what}, got {:?}",
                        a.id
                    ));
                }
                if let Some(first) = seen.insert(a.id.clone(), i) {
                    problems.push(format!("{at}.id {} repeats {key}[{first}]", a.id));
                }
                if a.name.trim().is_empty() {
                    problems.push(format!("{at}.name is empty"));
                }
                self.check_destination(
                    &at,
                    a.slack_channel.as_deref(),
                    a.discord_channel.as_deref(),
                    &mut problems,
                );
                if is_blank(&a.access_token) {
                    problems.push(format!(
                        "{at}.access_token is not set (set it in the file or {prefix}{})",
                        a.id
                    ));
                }
            }
        }
        for (key, url) in [
            ("meta.graph_api_url", &self.meta.graph_api_url),
            ("slack.api_url", &self.slack.api_url),
        ] {
            match url::Url::parse(url) {
                Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
                _ => problems.push(format!("{key} is not an http(s) URL: {url:?}")),
            }
        }
        let db = &self.database.url;
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            problems.push(format!(
                "database.url must start with sqlite: or postgres://, got {db:?}"
            ));
        }
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            problems.push(format!(
                "server.listen is not an address like 0.0.0.0:8080: {:?}",
                self.server.listen
            ));
        }
        let o = &self.outbox;
        if o.batch_size < 1 || o.lease_secs < 1 {
            problems.push("outbox.batch_size and outbox.lease_secs must be ≥ 1".into());
        }
        let h = &self.http;
        if h.timeout_secs < 1 || h.connect_timeout_secs < 1 {
            problems.push("http.timeout_secs and http.connect_timeout_secs must be ≥ 1".into());
        }
        let longest = h.timeout_secs.max(h.connect_timeout_secs);
        let p = &self.poll;
        if p.min_interval_secs < 1 || p.failure_backoff_secs < 1 {
            problems
                .push("poll.min_interval_secs and poll.failure_backoff_secs must be ≥ 1".into());
        }
        if p.lease_secs < POLL_DEADLINE_FACTOR * longest + LEASE_MARGIN_SECS {
            problems.push(format!(
                "poll.lease_secs ({}) must be at least {POLL_DEADLINE_FACTOR} calls \
                 (http.timeout_secs = {}) plus {LEASE_MARGIN_SECS} s: a poll makes several calls \
                 and must end inside its lease",
                p.lease_secs, h.timeout_secs
            ));
        }
        if (o.lease_secs.max(0) as u64) < longest + LEASE_MARGIN_SECS {
            problems.push(format!(
                "outbox.lease_secs ({}) must be at least the longest call (http.timeout_secs = {}) \
                 plus {LEASE_MARGIN_SECS} s, or a slow call could be claimed twice",
                o.lease_secs, h.timeout_secs
            ));
        }
        problems
    }

    /// `[google]`: the client, its URLs, and what connecting accounts needs
    /// ([`Config::validate_connected`]).
    fn validate_google(&self, g: &GoogleConfig, problems: &mut Vec<String>) {
        if g.client_id.trim().is_empty() {
            problems.push("google.client_id is empty".into());
        }
        if is_blank(&g.client_secret) {
            problems.push(format!(
                "google.client_secret is not set (set it in the file or {ENV_GOOGLE_CLIENT_SECRET})"
            ));
        }
        for (key, url) in [
            ("google.authorize_url", &g.authorize_url),
            ("google.token_url", &g.token_url),
            ("google.revoke_url", &g.revoke_url),
            ("google.youtube_api_url", &g.youtube_api_url),
            ("google.account_management_url", &g.account_management_url),
            (
                "google.business_information_url",
                &g.business_information_url,
            ),
            ("google.reviews_api_url", &g.reviews_api_url),
        ] {
            match url::Url::parse(url) {
                Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
                _ => problems.push(format!("{key} is not an http(s) URL: {url:?}")),
            }
        }
        if g.daily_quota_units < 1 {
            problems.push("google.daily_quota_units must be ≥ 1".into());
        }
        self.validate_connected("[google]", "Google", problems);
    }

    /// `[tiktok]`: the app, its URLs, the credentials key, and a public https URL for the
    /// redirect URI (TikTok matches it character for character; §11.1 rule 1).
    fn validate_tiktok(&self, t: &TiktokConfig, problems: &mut Vec<String>) {
        if t.client_id.trim().is_empty() {
            problems.push("tiktok.client_id is empty".into());
        }
        if is_blank(&t.client_secret) {
            problems.push(format!(
                "tiktok.client_secret is not set (set it in the file or {ENV_TIKTOK_CLIENT_SECRET})"
            ));
        }
        if t.webhook_secret.is_some() && is_blank(&t.webhook_secret) {
            problems.push(format!(
                "tiktok.webhook_secret is empty (leave it out, or set it or {ENV_TIKTOK_WEBHOOK_SECRET} to the app's client secret)"
            ));
        }
        for (key, url) in [
            ("tiktok.authorize_url", &t.authorize_url),
            ("tiktok.token_url", &t.token_url),
            ("tiktok.refresh_url", &t.refresh_url),
            ("tiktok.revoke_url", &t.revoke_url),
            ("tiktok.api_url", &t.api_url),
        ] {
            match url::Url::parse(url) {
                Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
                _ => problems.push(format!("{key} is not an http(s) URL: {url:?}")),
            }
        }
        if t.backfill_days < 1 {
            problems.push("tiktok.backfill_days must be ≥ 1".into());
        }
        // Connected accounts' tokens are sealed at rest: no key, no TikTok.
        match &self.secret_key {
            None => problems.push(format!(
                "{ENV_SECRET_KEY} is not set: [tiktok] stores OAuth tokens encrypted with it ({})",
                crate::crypto::HOW_TO_GENERATE
            )),
            Some(raw) => {
                if let Err(e) = crate::crypto::SecretKey::parse(raw.expose_secret()) {
                    problems.push(e.to_string());
                }
            }
        }
        let Some(url) = &self.server.public_url else {
            problems.push(
                "server.public_url is not set: [tiktok] needs it for the OAuth redirect URI \
                 (<public_url>/oauth/tiktok/callback)"
                    .into(),
            );
            return;
        };
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if url.scheme() != "https" && !loopback {
            problems.push(format!(
                "server.public_url must be https for TikTok's redirect URI (except on localhost), got {url}"
            ));
        }
    }

    /// `[x]`: the client, its URLs, and the webhook secret when X pushes.
    fn validate_x(&self, x: &XConfig, problems: &mut Vec<String>) {
        if x.client_id.trim().is_empty() {
            problems.push("x.client_id is empty".into());
        }
        if is_blank(&x.client_secret) {
            problems.push(format!(
                "x.client_secret is not set (set it in the file or {ENV_X_CLIENT_SECRET})"
            ));
        }
        if x.ingest == crate::networks::x::Ingest::Webhook && is_blank(&x.consumer_secret) {
            problems.push(format!(
                "x.consumer_secret is not set (set it in the file or {ENV_X_CONSUMER_SECRET}): \
                 ingest = \"webhook\" needs it to check X's signatures"
            ));
        }
        for (key, url) in [
            ("x.api_url", &x.api_url),
            ("x.authorize_url", &x.authorize_url),
            ("x.token_url", &x.token_url),
            ("x.revoke_url", &x.revoke_url),
        ] {
            match url::Url::parse(url) {
                Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
                _ => problems.push(format!("{key} is not an http(s) URL: {url:?}")),
            }
        }
        // Said once when [google], whose rules are the same, says it already.
        if self.google.is_none() {
            self.validate_connected("[x]", "X", problems);
        }
    }

    /// `[linkedin]`: the client, its URLs and version, and the secret its webhooks need.
    fn validate_linkedin(&self, l: &LinkedinConfig, problems: &mut Vec<String>) {
        if l.client_id.trim().is_empty() {
            problems.push("linkedin.client_id is empty".into());
        }
        if is_blank(&l.client_secret) {
            let why = if l.ingest == crate::networks::linkedin::Ingest::Webhook {
                ": ingest = \"webhook\" needs it to check LinkedIn's signatures, and OAuth needs it"
            } else {
                ""
            };
            problems.push(format!(
                "linkedin.client_secret is not set (set it in the file or {ENV_LINKEDIN_CLIENT_SECRET}){why}"
            ));
        }
        if l.version.len() != 6 || !l.version.bytes().all(|b| b.is_ascii_digit()) {
            problems.push(format!(
                "linkedin.version must be a LinkedIn-Version month, YYYYMM: {:?}",
                l.version
            ));
        }
        if l.backfill_days == 0 {
            problems.push("linkedin.backfill_days must be ≥ 1".into());
        }
        for (key, url) in [
            ("linkedin.api_url", &l.api_url),
            ("linkedin.authorize_url", &l.authorize_url),
            ("linkedin.token_url", &l.token_url),
            ("linkedin.revoke_url", &l.revoke_url),
        ] {
            match url::Url::parse(url) {
                Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
                _ => problems.push(format!("{key} is not an http(s) URL: {url:?}")),
            }
        }
        // Said once when [google] or [x], whose rules are the same, say it already.
        if self.google.is_none() && self.x.is_none() {
            self.validate_connected("[linkedin]", "LinkedIn", problems);
        }
    }

    /// What a section whose accounts are connected by OAuth needs: the key their tokens are
    /// sealed with, and a public URL the provider accepts as a redirect URI
    /// (network-apis.md §11.1 rule 1: https, no raw IP address; loopback exempt from both).
    fn validate_connected(&self, section: &str, provider: &str, problems: &mut Vec<String>) {
        // Connected accounts' tokens are sealed at rest: no key, no connected accounts.
        match &self.secret_key {
            None => problems.push(format!(
                "{ENV_SECRET_KEY} is not set: {section} stores OAuth tokens encrypted with it ({})",
                crate::crypto::HOW_TO_GENERATE
            )),
            Some(raw) => {
                use secrecy::ExposeSecret;
                if let Err(e) = crate::crypto::SecretKey::parse(raw.expose_secret()) {
                    problems.push(e.to_string());
                }
            }
        }
        let Some(url) = &self.server.public_url else {
            problems.push(format!(
                "server.public_url is not set: {section} needs it for the OAuth redirect URI \
                 (<public_url>/oauth/<provider>/callback)"
            ));
            return;
        };
        let host = url.host();
        let loopback = match &host {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if host.is_none() || !(url.scheme() == "https" || url.scheme() == "http") {
            problems.push(format!("server.public_url is not an http(s) URL: {url}"));
        } else if !loopback && url.scheme() != "https" {
            problems.push(format!(
                "server.public_url must be https ({provider} refuses other redirect URIs unless on localhost), got {url}"
            ));
        } else if !loopback && !matches!(host, Some(url::Host::Domain(_))) {
            problems.push(format!(
                "server.public_url must use a DNS name: {provider} refuses redirect URIs on a raw IP address, got {url}"
            ));
        }
        if !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            problems.push(format!(
                "server.public_url must be a plain base URL (no user, query or fragment), got {url}"
            ));
        }
    }

    /// Exactly one destination, and a Discord one must be a configured channel.
    fn check_destination(
        &self,
        at: &str,
        slack: Option<&str>,
        discord: Option<&str>,
        problems: &mut Vec<String>,
    ) {
        match (slack, discord) {
            (Some(s), None) if s.trim().is_empty() => {
                problems.push(format!("{at}.slack_channel is empty"))
            }
            (None, Some(d)) if self.discord_channel(d).is_none() && self.discord.is_some() => {
                problems.push(format!(
                    "{at}.discord_channel {d} is not listed under [[discord.servers]] channels"
                ))
            }
            (Some(_), None) | (None, Some(_)) => {}
            (None, None) => problems.push(format!(
                "{at} has no channel: set slack_channel or discord_channel"
            )),
            (Some(_), Some(_)) => problems.push(format!(
                "{at} sets both slack_channel and discord_channel: choose one"
            )),
        }
    }

    fn destinations(&self) -> impl Iterator<Item = (Option<&String>, Option<&String>)> {
        self.meta
            .pages
            .iter()
            .chain(&self.meta.instagram)
            .chain(&self.meta.whatsapp)
            .map(|a| (a.slack_channel.as_ref(), a.discord_channel.as_ref()))
            .chain(
                self.routing
                    .iter()
                    .map(|r| (r.slack_channel.as_ref(), r.discord_channel.as_ref())),
            )
    }

    /// Some account or rule posts to Slack (so Slack's settings are required).
    pub fn uses_slack(&self) -> bool {
        // Accounts connected at run time go to Slack channels, from Slack's `connect`.
        self.google.is_some()
            || self.tiktok.is_some()
            || self.x.is_some()
            || self.linkedin.is_some()
            || self.destinations().any(|(s, _)| s.is_some())
    }

    /// Some account or rule posts to Discord.
    pub fn uses_discord(&self) -> bool {
        self.destinations().any(|(_, d)| d.is_some())
    }

    /// A configured Discord channel and its server id.
    pub fn discord_channel(&self, id: &str) -> Option<(&str, &DiscordChannelConfig)> {
        self.discord.as_ref()?.servers.iter().find_map(|s| {
            s.channels
                .iter()
                .find(|c| c.id == id)
                .map(|c| (s.guild_id.as_str(), c))
        })
    }

    fn destination<'a>(
        &'a self,
        slack: Option<&'a String>,
        discord: Option<&'a String>,
    ) -> Option<Destination<'a>> {
        match (slack, discord) {
            (Some(channel), _) => Some(Destination::Slack { channel }),
            (None, Some(id)) => self
                .discord_channel(id)
                .map(|(guild, channel)| Destination::Discord { guild, channel }),
            (None, None) => None,
        }
    }

    /// An account's own destination (alerts about the account go there).
    pub fn account_destination<'a>(&'a self, account: &'a Account) -> Option<Destination<'a>> {
        let home = account.home.as_ref()?;
        match home.surface {
            crate::core::Surface::Slack => Some(Destination::Slack {
                channel: &home.channel,
            }),
            crate::core::Surface::Discord => self
                .discord_channel(&home.channel)
                .map(|(guild, channel)| Destination::Discord { guild, channel }),
        }
    }

    /// The configured account a network's id belongs to.
    pub fn account(&self, network: crate::core::Network, id: &str) -> Option<Account> {
        self.declared_accounts()
            .find(|(n, a)| *n == network && a.id == id)
            .map(|(n, a)| a.to_account(n))
    }

    /// Where a ticket's card goes: the first matching routing rule, else its account's
    /// channel. `None` only for a configuration `validate` refuses.
    pub fn destination_for<'a>(
        &'a self,
        ticket: &crate::core::TicketState,
        account: &'a Account,
    ) -> Option<Destination<'a>> {
        match self.rule_for(ticket) {
            Some(r) => self.destination(r.slack_channel.as_ref(), r.discord_channel.as_ref()),
            None => self.account_destination(account),
        }
    }

    /// The routing rule that routes a ticket (the first that matches).
    pub fn rule_for(&self, ticket: &crate::core::TicketState) -> Option<&RoutingRule> {
        self.routing.iter().find(|r| {
            crate::core::filter::rule_matches(r.network, r.kind, r.keyword.as_deref(), ticket)
        })
    }

    /// The reply-profile settings for a ticket routed to `to`: its routing rule's and its
    /// channel's, for the ticket's network (see `core::profiles`).
    pub fn reply_as(
        &self,
        ticket: &crate::core::TicketState,
        to: &Destination<'_>,
    ) -> (
        Option<crate::core::AccountId>,
        Option<crate::core::AccountId>,
    ) {
        let network = ticket.network;
        let pick = |m: &BTreeMap<crate::core::Network, String>| {
            m.get(&network)
                .map(|id| crate::core::AccountId::new(id.clone()))
        };
        let rule = self.rule_for(ticket).and_then(|r| pick(&r.reply_as));
        let channel = match to {
            Destination::Slack { channel } => self
                .slack
                .channels
                .iter()
                .find(|c| c.id == *channel)
                .and_then(|c| pick(&c.reply_as)),
            Destination::Discord { channel, .. } => pick(&channel.reply_as),
        };
        (rule, channel)
    }

    /// Every channel's auto-close period, where set.
    fn auto_close_periods(&self) -> impl Iterator<Item = u32> + '_ {
        let slack = self.slack.channels.iter().filter_map(|c| c.auto_close_days);
        let discord = self.discord.iter().flat_map(|d| {
            d.servers
                .iter()
                .flat_map(|s| s.channels.iter().filter_map(|c| c.auto_close_days))
        });
        slack.chain(discord)
    }

    /// Whether any channel closes tickets automatically.
    pub fn auto_close_configured(&self) -> bool {
        self.shortest_auto_close_days().is_some()
    }

    /// The shortest auto-close period of any channel.
    pub fn shortest_auto_close_days(&self) -> Option<u32> {
        self.auto_close_periods().filter(|d| *d > 0).min()
    }

    /// Every channel's business hours and SLA settings, with the channel's id.
    fn channel_automation(&self) -> impl Iterator<Item = Automation<'_>> + '_ {
        let slack = self.slack.channels.iter().map(|c| Automation {
            id: &c.id,
            hours: c.hours.as_ref(),
            sla: c.sla.as_ref(),
            auto_reply: c.auto_reply.as_ref(),
        });
        let discord = self.discord.iter().flat_map(|d| {
            d.servers.iter().flat_map(|s| {
                s.channels.iter().map(|c| Automation {
                    id: &c.id,
                    hours: c.hours.as_ref(),
                    sla: c.sla.as_ref(),
                    auto_reply: c.auto_reply.as_ref(),
                })
            })
        });
        slack.chain(discord)
    }

    /// Whether any channel has response targets (the SLA round runs only then).
    pub fn sla_configured(&self) -> bool {
        self.channel_automation().any(|c| c.sla.is_some())
    }

    /// The business hours and SLA of the channel a ticket is routed to.
    pub fn channel_rules<'a>(&'a self, to: &Destination<'a>) -> ChannelRules<'a> {
        let (hours, sla, auto_reply) = match to {
            Destination::Slack { channel } => self
                .slack
                .channels
                .iter()
                .find(|c| c.id == *channel)
                .map(|c| (c.hours.as_ref(), c.sla.as_ref(), c.auto_reply.as_ref()))
                .unwrap_or_default(),
            Destination::Discord { channel, .. } => (
                channel.hours.as_ref(),
                channel.sla.as_ref(),
                channel.auto_reply.as_ref(),
            ),
        };
        ChannelRules {
            auto_reply,
            // Validated at start-up: a name that does not resolve cannot reach here.
            hours: hours
                .and_then(|name| self.hours.get(name))
                .and_then(|h| h.schedule().ok()),
            sla,
        }
    }

    fn validate_report(&self, r: &ReportConfig, problems: &mut Vec<String>) {
        if r.slack_channel.is_none() && r.discord_channel.is_none() {
            problems.push("report needs slack_channel or discord_channel".into());
        }
        if r.discord_channel.is_some() && self.discord.is_none() {
            problems.push("report.discord_channel needs the [discord] section".into());
        }
        if r.weekday().is_none() {
            problems.push(format!(
                "report.weekday {:?} is not a day (mon, tue, … sun)",
                r.weekday
            ));
        }
        if r.hour > 23 {
            problems.push("report.hour must be between 0 and 23".into());
        }
        if r.tz().is_none() {
            problems.push(format!(
                "report.tz: unknown time zone {:?} (use an IANA name such as Europe/Berlin)",
                r.tz
            ));
        }
        if let Some(name) = &r.hours
            && !self.hours.contains_key(name)
        {
            problems.push(format!(
                "report.hours = {name:?} names no [hours.{name}] section"
            ));
        }
    }

    fn validate_automation(&self, problems: &mut Vec<String>) {
        for (name, h) in &self.hours {
            if let Err(e) = h.schedule() {
                problems.push(format!("hours.{name}: {e}"));
            }
        }
        for Automation {
            id,
            hours,
            sla,
            auto_reply,
        } in self.channel_automation()
        {
            if let Some(a) = auto_reply {
                validate_auto_reply(id, hours.is_some(), a, problems);
            }
            if let Some(name) = hours
                && !self.hours.contains_key(name)
            {
                problems.push(format!(
                    "channel {id}: hours = {name:?} names no [hours.{name}] section"
                ));
            }
            let Some(sla) = sla else { continue };
            let targets = [sla.first_response_minutes, sla.next_response_minutes];
            if targets.iter().all(Option::is_none) {
                problems.push(format!(
                    "channel {id}: sla needs first_response_minutes or next_response_minutes"
                ));
            }
            if targets
                .iter()
                .flatten()
                .any(|m| *m == 0 || *m > MAX_SLA_MINUTES)
            {
                problems.push(format!(
                    "channel {id}: SLA targets must be between 1 and {MAX_SLA_MINUTES} minutes"
                ));
            }
            if !(1..=99).contains(&sla.warn_percent) {
                problems.push(format!(
                    "channel {id}: sla.warn_percent must be between 1 and 99"
                ));
            }
            if let Some(n) = sla.notify.as_deref() {
                // A Slack channel's group (S…) or person (U…/W…); a Discord channel's role id.
                let discord = id.chars().all(|c| c.is_ascii_digit());
                let ok = if discord {
                    !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())
                } else {
                    n.starts_with(['S', 'U', 'W'])
                        && n.len() > 1
                        && n.chars().all(|c| c.is_ascii_alphanumeric())
                };
                if !ok {
                    problems.push(format!(
                        "channel {id}: sla.notify {n:?} must be a Slack user group (S…) or user (U…), or a Discord role id"
                    ));
                }
            }
        }
    }

    /// The auto-close period of the channel a ticket is routed to (see `workers::autoclose`).
    pub fn auto_close_days(&self, to: &Destination<'_>) -> Option<u32> {
        match to {
            Destination::Slack { channel } => self
                .slack
                .channels
                .iter()
                .find(|c| c.id == *channel)
                .and_then(|c| c.auto_close_days),
            Destination::Discord { channel, .. } => channel.auto_close_days,
        }
        .filter(|d| *d > 0)
    }

    /// Every account declared in the file, with its network.
    fn declared_accounts(&self) -> impl Iterator<Item = (crate::core::Network, &AccountConfig)> {
        use crate::core::Network::*;
        self.meta
            .pages
            .iter()
            .map(|a| (Facebook, a))
            .chain(self.meta.instagram.iter().map(|a| (Instagram, a)))
            .chain(self.meta.whatsapp.iter().map(|a| (Whatsapp, a)))
    }

    /// Every account declared in the file, as account records.
    pub fn accounts(&self) -> Vec<Account> {
        self.declared_accounts()
            .map(|(n, a)| a.to_account(n))
            .collect()
    }

    /// The tickets routed to a chat channel, as a filter constraint (the same decision as
    /// [`Config::destination_for`]); `None` when no account or routing rule sends tickets
    /// there: not an inbox channel.
    pub fn route_to(
        &self,
        surface: crate::core::Surface,
        channel: &str,
    ) -> Option<crate::core::filter::RouteMatch> {
        self.route_to_with(surface, channel, &[])
    }

    /// [`Config::route_to`], counting `connected` accounts (connected at run time) too.
    pub fn route_to_with(
        &self,
        surface: crate::core::Surface,
        channel: &str,
        connected: &[Account],
    ) -> Option<crate::core::filter::RouteMatch> {
        use crate::core::filter::{RouteAccount, RouteMatch, RouteRule};
        let here = |d: Option<Destination<'_>>| match (d, surface) {
            (Some(Destination::Slack { channel: c }), crate::core::Surface::Slack) => c == channel,
            (Some(Destination::Discord { channel: c, .. }), crate::core::Surface::Discord) => {
                c.id == channel
            }
            _ => false,
        };
        let route = RouteMatch {
            rules: self
                .routing
                .iter()
                .map(|r| RouteRule {
                    network: r.network,
                    kind: r.kind,
                    keyword: r.keyword.clone(),
                    here: here(
                        self.destination(r.slack_channel.as_ref(), r.discord_channel.as_ref()),
                    ),
                })
                .collect(),
            accounts: self
                .accounts()
                .iter()
                .chain(connected)
                .map(|a| RouteAccount {
                    network: a.network,
                    account: a.id.clone(),
                    here: here(self.account_destination(a)),
                })
                .collect(),
        };
        route.is_inbox().then_some(route)
    }

    /// The reply mode of a chat channel (for Discord, the channel cards are posted in).
    pub fn reply_mode(&self, surface: crate::core::Surface, channel: &str) -> ReplyMode {
        match surface {
            crate::core::Surface::Slack => self
                .slack
                .channels
                .iter()
                .find(|c| c.id == channel)
                .map(|c| c.reply_mode)
                .unwrap_or_default(),
            crate::core::Surface::Discord => self
                .discord_channel(channel)
                .map(|(_, c)| c.reply_mode)
                .unwrap_or_default(),
        }
    }

    /// The note prefix on a surface.
    pub fn note_prefix(&self, surface: crate::core::Surface) -> &str {
        match (surface, &self.discord) {
            (crate::core::Surface::Discord, Some(d)) => &d.note_prefix,
            _ => &self.slack.note_prefix,
        }
    }

    /// The undo window on a surface, in seconds.
    pub fn undo_seconds(&self, surface: crate::core::Surface) -> u64 {
        match (surface, &self.discord) {
            (crate::core::Surface::Discord, Some(d)) => d.undo_seconds,
            _ => self.slack.undo_seconds,
        }
    }

    /// Every team name, Slack's then Discord's (a name on both is one team).
    pub fn team_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.slack.teams.iter().map(|t| t.name.clone()).collect();
        for t in self.discord.iter().flat_map(|d| &d.teams) {
            if !names.iter().any(|n| n.eq_ignore_ascii_case(&t.name)) {
                names.push(t.name.clone());
            }
        }
        names
    }

    /// A team's Discord role.
    pub fn discord_team(&self, name: &str) -> Option<&DiscordTeamConfig> {
        self.discord
            .as_ref()?
            .teams
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// The canonical name of a team known on either surface.
    pub fn team_name(&self, name: &str) -> Option<String> {
        self.team(name)
            .map(|t| t.name.clone())
            .or_else(|| self.discord_team(name).map(|t| t.name.clone()))
    }

    pub fn team(&self, name: &str) -> Option<&TeamConfig> {
        self.slack
            .teams
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// The Slack signing secrets accepted (current first).
    pub fn slack_secrets(&self) -> Vec<&[u8]> {
        secrets(
            &self.slack.signing_secret,
            &self.slack.previous_signing_secret,
        )
    }
}

fn secrets<'a>(a: &'a Option<SecretString>, b: &'a Option<SecretString>) -> Vec<&'a [u8]> {
    [a, b]
        .into_iter()
        .flatten()
        .map(|s| s.expose_secret().as_bytes())
        .filter(|s| !s.is_empty())
        .collect()
}

fn is_blank(s: &Option<SecretString>) -> bool {
    s.as_ref()
        .is_none_or(|s| s.expose_secret().trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_committed_example_loads_and_only_lacks_secrets() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("switchboard.example.toml");
        let config = Config::load(&path, &no_env).expect("example config parses");
        assert_eq!(config.database.url, DEFAULT_DATABASE_URL);
        assert_eq!(config.meta.pages.len(), 1);
        // The example ships no secrets: every problem is a secret to set.
        let problems = config.validate();
        assert_eq!(
            problems,
            vec![
                "meta.app_secret is not set (set it in the file or SWITCHBOARD_META_APP_SECRET)",
                "meta.verify_token is not set (set it in the file or SWITCHBOARD_META_VERIFY_TOKEN)",
                "slack.bot_token is not set (set it in the file or SWITCHBOARD_SLACK_BOT_TOKEN)",
                "slack.signing_secret is not set (set it in the file or SWITCHBOARD_SLACK_SIGNING_SECRET)",
                "meta.pages[0].access_token is not set (set it in the file or SWITCHBOARD_META_PAGE_TOKEN_1234567890321)",
            ]
        );
        // …and the environment fills them in.
        let env = |name: &str| match name {
            ENV_META_APP_SECRET
            | ENV_META_VERIFY_TOKEN
            | ENV_SLACK_BOT_TOKEN
            | ENV_SLACK_SIGNING_SECRET
            | "SWITCHBOARD_META_PAGE_TOKEN_1234567890321" => Some("x".to_string()),
            _ => None,
        };
        let config = Config::load(&path, &env).expect("example config parses");
        assert_eq!(config.validate(), Vec::<String>::new());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_reported() {
        let err = Config::parse("[slack]\nsigning_secrett = \"x\"\n").unwrap_err();
        assert!(err.contains("unknown field `signing_secrett`"), "{err}");

        let config = Config::parse(
            r#"
            [database]
            url = "mysql://x"
            [[meta.pages]]
            id = "abc"
            name = ""
            slack_channel = ""
            "#,
        )
        .expect("parses");
        let problems = config.validate().join("\n");
        for needle in [
            "database.url must start with sqlite: or postgres://",
            "meta.pages[0].id must be the numeric Page id",
            "meta.pages[0].name is empty",
            "meta.pages[0].slack_channel is empty",
            "slack.team_id is not set",
        ] {
            assert!(
                problems.contains(needle),
                "missing {needle:?} in:\n{problems}"
            );
        }
    }

    #[test]
    fn routing_rules_are_validated_and_matched_in_order() {
        let config = Config::parse(
            r#"
            [[meta.pages]]
            id = "1"
            name = "P"
            slack_channel = "CPAGE"
            [[routing]]
            slack_channel = "CNOCOND"
            "#,
        )
        .expect("parses");
        let problems = config.validate().join("\n");
        assert!(
            problems.contains("routing[0] has no condition"),
            "{problems}"
        );
        // Unknown networks and kinds are refused when the file is read, naming the choices.
        for (rule, needle) in [
            (
                "network = \"myspace\"",
                "unknown variant `myspace`, expected one of `facebook`, `instagram`, `whatsapp`",
            ),
            (
                "kind = \"tweet\"",
                "unknown variant `tweet`, expected one of `comment`, `visitor_post`, `mention`, `direct_message`",
            ),
        ] {
            let err = Config::parse(&format!("[[routing]]\n{rule}\nslack_channel = \"C\"\n"))
                .expect_err(rule);
            assert!(err.contains(needle), "{err}");
        }
        let config = Config::parse(
            r#"
            [[meta.pages]]
            id = "1"
            name = "P"
            slack_channel = "CPAGE"
            [[routing]]
            kind = "direct_message"
            slack_channel = "CDM"
            [[routing]]
            keyword = "refund"
            slack_channel = "CREFUND"
            "#,
        )
        .expect("parses");
        let item = |kind, text: &str| crate::core::InboundItem {
            network: crate::core::Network::Facebook,
            account: crate::core::AccountId::new("1"),
            item_id: crate::core::NetworkItemId::new("x"),
            kind,
            post_id: crate::core::NetworkItemId::new("p"),
            customer: crate::core::Customer {
                id: crate::core::CustomerId::new("c"),
                name: None,
            },
            text: text.into(),
            created_at: chrono::Utc::now(),
            permalink: None,
            attachments: vec![],
            context: Default::default(),
        };
        let state = |kind, text: &str| {
            crate::core::decide(
                None,
                &crate::core::Event::CustomerMessage {
                    item: item(kind, text),
                },
                &crate::core::Capabilities::NONE,
                chrono::Utc::now(),
            )
            .expect("opens")
            .state
        };
        let page = &config.meta.pages[0].to_account(crate::core::Network::Facebook);
        use crate::core::ItemKind::*;
        let slack = |channel| Some(Destination::Slack { channel });
        assert_eq!(
            config.destination_for(&state(DirectMessage, "a Refund please"), page),
            slack("CDM")
        );
        assert_eq!(
            config.destination_for(&state(Comment, "a Refund please"), page),
            slack("CREFUND")
        );
        assert_eq!(
            config.destination_for(&state(Comment, "hello"), page),
            slack("CPAGE")
        );
    }

    #[test]
    fn every_account_list_is_checked_the_same_way() {
        let config = Config::parse(
            r#"
            [[meta.whatsapp]]
            id = "106540352242922"
            name = "A"
            slack_channel = "C1"
            access_token = "t"
            [[meta.whatsapp]]
            id = "106540352242922"
            name = "B"
            slack_channel = "C2"
            access_token = "t"
            [[meta.instagram]]
            id = "ig"
            name = "I"
            slack_channel = "C3"
            "#,
        )
        .expect("parses");
        let problems = config.validate().join("\n");
        for needle in [
            "meta.whatsapp[1].id 106540352242922 repeats meta.whatsapp[0]",
            "meta.instagram[0].id must be the numeric Instagram account id",
            "meta.instagram[0].access_token is not set (set it in the file or SWITCHBOARD_INSTAGRAM_TOKEN_ig)",
        ] {
            assert!(
                problems.contains(needle),
                "missing {needle:?} in:\n{problems}"
            );
        }
    }

    #[test]
    fn the_example_discord_section_parses_when_uncommented() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("switchboard.example.toml");
        let text = std::fs::read_to_string(path).expect("example");
        let (head, discord) = text
            .split_once("# ---- Discord")
            .expect("a Discord section");
        let uncommented: Vec<&str> = discord
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.starts_with('[')
                    || (l.starts_with(|c: char| c.is_ascii_lowercase()) && l.contains(" = "))
            })
            .collect();
        let config = Config::parse(&format!("{head}\n{}", uncommented.join("\n")))
            .expect("the uncommented example parses");
        let d = config.discord.expect("[discord]");
        assert_eq!(d.servers[0].channels.len(), 2);
        assert_eq!(d.servers[0].channels[1].kind, DiscordChannelKind::Forum);
        assert_eq!(d.teams[0].name, "support");
        assert_eq!(d.permissions.admin, ["<role id>"]);
        assert_eq!(
            d.permissions
                .rule(crate::core::permission::Permission::Bulk),
            ["<role id>"]
        );
    }

    /// The example's top part with `server.public_url` set, and its optional section headed
    /// `# ---- <section>` uncommented (its table and `key = value` lines, but those starting
    /// with one of `skip`).
    fn example_with(section: &str, skip: &[&str]) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("switchboard.example.toml");
        let text = std::fs::read_to_string(path).expect("example");
        let (head, _) = text
            .split_once("# ---- TikTok")
            .expect("the optional sections start with TikTok");
        let (_, rest) = text
            .split_once(&format!("# ---- {section} "))
            .or_else(|| text.split_once(&format!("# ---- {section}\n")))
            .expect("the section");
        let body = rest.split_once("\n# ---- ").map_or(rest, |(b, _)| b);
        let uncommented: Vec<&str> = body
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.starts_with('[')
                    || (l.starts_with(|c: char| c.is_ascii_lowercase()) && l.contains(" = "))
            })
            .filter(|l| !skip.iter().any(|k| l.starts_with(k)))
            .collect();
        let head = head.replace("# public_url = ", "public_url = ");
        format!("{head}\n{}", uncommented.join("\n"))
    }

    #[test]
    fn the_example_hours_sla_and_auto_replies_parse_and_validate() {
        let text = example_with("Business hours, SLAs and automatic replies", &[]);
        let config = Config::parse(&text).expect("parses");
        assert!(
            config
                .validate()
                .iter()
                .all(|p| !p.contains("channel C0SUPPORT01") && !p.contains("hours.")),
            "{:?}",
            config.validate()
        );
        let to = Destination::Slack {
            channel: "C0SUPPORT01",
        };
        let rules = config.channel_rules(&to);
        let hours = rules.hours.expect("the office hours");
        assert_eq!(hours.tz, chrono_tz::Europe::Berlin);
        let sla = rules.sla.expect("sla");
        assert_eq!(
            sla.policy().first_response,
            Some(chrono::Duration::minutes(60))
        );
        assert_eq!(sla.notify.as_deref(), Some("S0123456789"));
        assert!(
            rules
                .auto_reply
                .and_then(|a| a.out_of_hours.as_ref())
                .is_some()
        );
        assert!(config.sla_configured());
    }

    #[test]
    fn bad_hours_sla_and_auto_replies_are_named() {
        let base = example_with("Business hours, SLAs and automatic replies", &[]);
        let cases = [
            (
                "tz = \"Europe/Berlin\"",
                "tz = \"Mars/Olympus\"",
                "hours.office: unknown time zone",
            ),
            (
                "\"sat 10:00-14:00\"",
                "\"sat 10-14\"",
                "hours.office: \"sat 10-14\" is not",
            ),
            (
                "hours = \"office\"",
                "hours = \"shop\"",
                "names no [hours.shop] section",
            ),
            (
                "first_response_minutes = 60, next_response_minutes = 240",
                "first_response_minutes = 0",
                "SLA targets must be between 1 and",
            ),
            (
                "first_response_minutes = 60, next_response_minutes = 240, ",
                "",
                "sla needs first_response_minutes",
            ),
            (
                "warn_percent = 75",
                "warn_percent = 100",
                "warn_percent must be between 1 and 99",
            ),
            (
                "we got your message",
                "{agent_name} got your message",
                "auto_reply.first_contact",
            ),
            (
                "back {next_open}",
                "back {next_opening}",
                "auto_reply.out_of_hours",
            ),
            (
                "every_hours = 24",
                "every_hours = 0",
                "every_hours must be at least 1",
            ),
        ];
        for (from, to, problem) in cases {
            assert!(base.contains(from), "{from}");
            let config = Config::parse(&base.replace(from, to)).expect("parses");
            let problems = config.validate();
            assert!(
                problems.iter().any(|p| p.contains(problem)),
                "{to}: {problems:?}"
            );
        }
        // Out-of-hours replies need business hours.
        let config = Config::parse(&base.replace("hours = \"office\"\n", "")).expect("parses");
        assert!(
            config
                .validate()
                .iter()
                .any(|p| p.contains("out_of_hours needs the channel's hours")),
            "{:?}",
            config.validate()
        );
    }

    #[test]
    fn the_example_weekly_report_parses_and_bad_settings_are_named() {
        let hours = example_with("Business hours, SLAs and automatic replies", &[]);
        let report = example_with("Weekly report", &["discord_channel"]);
        let (_, report_lines) = report.split_once("[report]").expect("the section");
        let text = format!("{hours}\n[report]{report_lines}");
        let config = Config::parse(&text).expect("parses");
        let r = config.report.as_ref().expect("[report]");
        assert_eq!(r.weekday(), Some(chrono::Weekday::Mon));
        assert_eq!((r.hour, r.tz()), (9, Some(chrono_tz::Europe::Berlin)));
        assert!(
            config.validate().iter().all(|p| !p.contains("report")),
            "{:?}",
            config.validate()
        );
        for (from, to, problem) in [
            (
                "weekday = \"mon\"",
                "weekday = \"monday-ish\"",
                "report.weekday",
            ),
            (
                "hour = 9",
                "hour = 24",
                "report.hour must be between 0 and 23",
            ),
            (
                "tz = \"Europe/Berlin\"\nhours",
                "tz = \"Berlin\"\nhours",
                "report.tz: unknown time zone",
            ),
            (
                "hours = \"office\"\nfont",
                "hours = \"shop\"\nfont",
                "report.hours = \"shop\"",
            ),
            (
                "slack_channel = \"C0REPORTS01\"",
                "",
                "report needs slack_channel or discord_channel",
            ),
        ] {
            assert!(text.contains(from), "{from}");
            let config = Config::parse(&text.replace(from, to)).expect("parses");
            assert!(
                config.validate().iter().any(|p| p.contains(problem)),
                "{to}: {:?}",
                config.validate()
            );
        }
        // A Discord channel needs Discord.
        let config = Config::parse(&text.replace(
            "slack_channel = \"C0REPORTS01\"",
            "discord_channel = \"645027906669510667\"",
        ))
        .expect("parses");
        assert!(
            config
                .validate()
                .iter()
                .any(|p| p.contains("report.discord_channel needs the [discord] section"))
        );
    }

    /// The example's `[google]` block and `server.public_url`, uncommented.
    fn example_with_google() -> String {
        example_with("Google", &[])
    }

    #[test]
    fn the_example_google_section_parses_when_uncommented_and_needs_only_its_secret() {
        let config = Config::parse(&example_with_google()).expect("parses");
        let g = config.google.as_ref().expect("[google]");
        assert_eq!(g.client_id, "1234-abc.apps.googleusercontent.com");
        assert_eq!(g.token_url, crate::oauth::GOOGLE_TOKEN_URL);
        assert_eq!(g.youtube_api_url, DEFAULT_YOUTUBE_API_URL);
        assert_eq!(g.reviews_api_url, DEFAULT_REVIEWS_API_URL);
        assert_eq!((g.backfill_days, g.daily_quota_units), (7, 10_000));
        assert_eq!(
            config.server.redirect_uri("youtube").map(String::from),
            Some("https://social.example.org/oauth/youtube/callback".into())
        );
        let google_problems: Vec<String> = config
            .validate()
            .into_iter()
            .filter(|p| p.contains("google") || p.contains("public_url"))
            .collect();
        assert_eq!(
            google_problems,
            [
                "google.client_secret is not set (set it in the file or SWITCHBOARD_GOOGLE_CLIENT_SECRET)",
                "SWITCHBOARD_SECRET_KEY is not set: [google] stores OAuth tokens encrypted with it \
                 (generate one with `openssl rand -base64 32`)"
            ]
        );
        assert!(g.provider(vec![]).is_none(), "no secret yet");

        // The environment supplies the secret, and the provider config follows the file.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("google.toml");
        let text = example_with_google().replace(
            "token_url = \"https://oauth2.googleapis.com/token\"",
            "token_url = \"http://127.0.0.1:9/token\"",
        );
        std::fs::write(&path, text).expect("write");
        let env = |name: &str| match name {
            ENV_GOOGLE_CLIENT_SECRET => Some("GOCSPX-s".to_string()),
            ENV_SECRET_KEY => Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string()),
            _ => None,
        };
        let config = Config::load(&path, &env).expect("loads");
        let g = config.google.as_ref().expect("[google]");
        assert!(!config.validate().iter().any(|p| p.contains("google")));
        assert!(config.credentials_key().is_some());
        // A malformed key is refused with a reason.
        let mut bad = Config::load(&path, &env).expect("loads");
        bad.secret_key = Some(SecretString::from("short"));
        assert!(
            bad.validate()
                .iter()
                .any(|p| p.contains("openssl rand -base64 32")),
            "{:?}",
            bad.validate()
        );
        let p = g
            .provider(vec![crate::oauth::SCOPE_YOUTUBE.into()])
            .expect("complete");
        assert_eq!(p.token_url.as_str(), "http://127.0.0.1:9/token");
        assert_eq!(p.client_secret.expose_secret(), "GOCSPX-s");
        assert_eq!(p.client_id, g.client_id);
        assert!(!format!("{config:?}").contains("GOCSPX-s"));
    }

    /// The example's `[tiktok]` block and `server.public_url`, uncommented.
    fn example_with_tiktok() -> String {
        example_with("TikTok", &["webhook_secret"])
    }

    #[test]
    fn the_example_tiktok_section_parses_when_uncommented_and_needs_only_its_secrets() {
        let config = Config::parse(&example_with_tiktok()).expect("parses");
        let t = config.tiktok.as_ref().expect("[tiktok]");
        assert_eq!(t.client_id, "7000000000000000001");
        assert_eq!(t.token_url, crate::oauth::TIKTOK_TOKEN_URL);
        assert_eq!(t.refresh_url, crate::oauth::TIKTOK_REFRESH_URL);
        assert_eq!(t.api_url, crate::networks::tiktok::DEFAULT_API_BASE);
        assert_eq!(t.backfill_days, 7);
        assert!(t.webhook_secret.is_none());
        let problems: Vec<String> = config
            .validate()
            .into_iter()
            .filter(|p| p.contains("tiktok") || p.contains("public_url"))
            .collect();
        assert_eq!(
            problems,
            [
                "tiktok.client_secret is not set (set it in the file or SWITCHBOARD_TIKTOK_CLIENT_SECRET)",
                "SWITCHBOARD_SECRET_KEY is not set: [tiktok] stores OAuth tokens encrypted with it \
                 (generate one with `openssl rand -base64 32`)"
            ]
        );
        assert!(t.provider(vec![]).is_none(), "no secret yet");

        // The environment supplies the secrets; the provider follows the file's URLs.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tiktok.toml");
        let text = example_with_tiktok().replace(
            "refresh_url = \"https://business-api.tiktok.com/open_api/v1.3/tt_user/oauth2/refresh_token/\"",
            "refresh_url = \"http://127.0.0.1:9/refresh/\"",
        );
        std::fs::write(&path, text).expect("write");
        let env = |name: &str| match name {
            ENV_TIKTOK_CLIENT_SECRET => Some("tt-client-secret".to_string()),
            ENV_TIKTOK_WEBHOOK_SECRET => Some("tt-client-secret".to_string()),
            ENV_SECRET_KEY => Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string()),
            _ => None,
        };
        let config = Config::load(&path, &env).expect("loads");
        assert!(
            !config.validate().iter().any(|p| p.contains("tiktok")),
            "{:?}",
            config.validate()
        );
        let t = config.tiktok.as_ref().expect("[tiktok]");
        assert!(t.webhook_secret.is_some());
        let p = t.provider(vec!["comment.list".into()]).expect("complete");
        assert_eq!(
            p.dialect,
            crate::oauth::Dialect::TiktokBusiness {
                refresh_url: url::Url::parse("http://127.0.0.1:9/refresh/").expect("url")
            }
        );
        assert_eq!(p.token_url.as_str(), crate::oauth::TIKTOK_TOKEN_URL);
        assert_eq!(p.client_secret.expose_secret(), "tt-client-secret");
        assert!(!format!("{config:?}").contains("tt-client-secret"));
        // Connected accounts post to Slack: its settings are required.
        assert!(config.uses_slack());
    }

    #[test]
    fn tiktok_needs_an_https_public_url_and_usable_urls() {
        let mut config = Config::parse("").expect("empty config");
        let mut t = TiktokConfig::new("7000000000000000001");
        t.client_secret = Some(SecretString::from("s"));
        t.api_url = "business-api.tiktok.com".into();
        t.backfill_days = 0;
        t.webhook_secret = Some(SecretString::from(" "));
        config.tiktok = Some(t);
        config.secret_key = Some(SecretString::from(
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ));
        let problems = config.validate();
        for needle in [
            "server.public_url is not set: [tiktok] needs it",
            "tiktok.api_url is not an http(s) URL",
            "tiktok.backfill_days must be ≥ 1",
            "tiktok.webhook_secret is empty",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(needle)),
                "{needle}: {problems:?}"
            );
        }
        // A TikTok app alone is a configured account source.
        assert!(
            !problems
                .iter()
                .any(|p| p.contains("no account is configured"))
        );
        config.server.public_url = Some("http://social.example.org".parse().expect("url"));
        assert!(
            config
                .validate()
                .iter()
                .any(|p| p.contains("must be https for TikTok")),
        );
        config.server.public_url = Some("http://localhost:8080".parse().expect("url"));
        assert!(!config.validate().iter().any(|p| p.contains("public_url")));
    }

    /// The example's `[x]` block and `server.public_url`, uncommented.
    fn example_with_x() -> String {
        example_with("X", &[])
    }

    /// The example's `[linkedin]` block and `server.public_url`, uncommented.
    fn example_with_linkedin() -> String {
        example_with("LinkedIn", &[])
    }

    #[test]
    fn the_example_linkedin_section_parses_and_a_webhook_needs_the_secret() {
        let config = Config::parse(&example_with_linkedin()).expect("parses");
        let l = config.linkedin.as_ref().expect("[linkedin]");
        assert_eq!(l.api_url, crate::networks::linkedin::DEFAULT_API_BASE);
        assert_eq!(l.token_url, crate::oauth::LINKEDIN_TOKEN_URL);
        assert_eq!(l.version, crate::networks::linkedin::DEFAULT_VERSION);
        assert_eq!(l.ingest, crate::networks::linkedin::Ingest::Poll);
        assert_eq!(
            l.signature,
            crate::networks::linkedin::SignatureForm::Prefixed
        );
        assert_eq!(l.expiry_warning_days, 7);
        let problems: Vec<String> = config
            .validate()
            .into_iter()
            .filter(|p| p.contains("linkedin") || p.contains("public_url"))
            .collect();
        assert_eq!(
            problems,
            [
                "linkedin.client_secret is not set (set it in the file or SWITCHBOARD_LINKEDIN_CLIENT_SECRET)",
                "SWITCHBOARD_SECRET_KEY is not set: [linkedin] stores OAuth tokens encrypted with it \
                 (generate one with `openssl rand -base64 32`)"
            ]
        );
        assert!(l.provider().is_none(), "no secret yet");
        // A webhook without the secret is refused, saying why; a bad version too.
        let text = example_with_linkedin()
            .replace("ingest = \"poll\"", "ingest = \"webhook\"")
            .replace("version = \"202611\"", "version = \"2026-11\"");
        let config = Config::parse(&text).expect("parses");
        let problems = config.validate();
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("linkedin.client_secret") && p.contains("webhook")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("linkedin.version")),
            "{problems:?}"
        );
        // The environment supplies the secret; the provider is LinkedIn's dialect.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("linkedin.toml");
        std::fs::write(&path, example_with_linkedin()).expect("write");
        let env = |name: &str| match name {
            ENV_LINKEDIN_CLIENT_SECRET => Some("li-secret".to_string()),
            ENV_SECRET_KEY => Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string()),
            _ => None,
        };
        let config = Config::load(&path, &env).expect("loads");
        let p = config
            .linkedin
            .as_ref()
            .and_then(LinkedinConfig::provider)
            .expect("provider");
        assert_eq!(p.dialect, crate::oauth::Dialect::Linkedin);
        assert_eq!(p.client_auth, crate::oauth::ClientAuth::RequestBody);
        assert!(!format!("{:?}", config.linkedin).contains("li-secret"));
    }

    #[test]
    fn the_example_x_section_parses_when_uncommented_and_needs_only_its_secret() {
        let config = Config::parse(&example_with_x()).expect("parses");
        let x = config.x.as_ref().expect("[x]");
        assert!(config.google.is_none());
        assert_eq!(x.client_id, "M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ");
        assert_eq!(x.api_url, crate::networks::x::DEFAULT_API_BASE);
        assert_eq!(x.authorize_url, crate::oauth::X_AUTHORIZE_URL);
        assert_eq!(x.token_url, crate::oauth::X_TOKEN_URL);
        assert_eq!(x.revoke_url, crate::oauth::X_REVOKE_URL);
        assert_eq!(x.backfill_days, 7);
        assert_eq!(x.ingest, crate::networks::x::Ingest::Poll);
        let problems: Vec<String> = config
            .validate()
            .into_iter()
            .filter(|p| p.contains("x.") || p.contains("[x]") || p.contains("public_url"))
            .collect();
        assert_eq!(
            problems,
            [
                "x.client_secret is not set (set it in the file or SWITCHBOARD_X_CLIENT_SECRET)",
                "SWITCHBOARD_SECRET_KEY is not set: [x] stores OAuth tokens encrypted with it \
                 (generate one with `openssl rand -base64 32`)"
            ]
        );
        assert!(x.provider().is_none() && x.webhook_secret().is_none());

        // The environment supplies both secrets; the provider authenticates with Basic.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.toml");
        let text = example_with_x().replace(
            "ingest = \"poll\"",
            "ingest = \"webhook\"\ntoken_url = \"http://127.0.0.1:9/2/oauth2/token\"",
        );
        let text = text.replace("token_url = \"https://api.x.com/2/oauth2/token\"\n", "");
        std::fs::write(&path, text).expect("write");
        let env = |name: &str| match name {
            ENV_X_CLIENT_SECRET => Some("x-client-secret".to_string()),
            ENV_X_CONSUMER_SECRET => Some("x-consumer-secret".to_string()),
            ENV_SECRET_KEY => Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string()),
            _ => None,
        };
        let config = Config::load(&path, &env).expect("loads");
        let left: Vec<String> = config
            .validate()
            .into_iter()
            .filter(|p| !p.starts_with("meta.") && !p.starts_with("slack."))
            .collect();
        assert_eq!(left, Vec::<String>::new());
        let x = config.x.as_ref().expect("[x]");
        assert_eq!(x.ingest, crate::networks::x::Ingest::Webhook);
        let p = x.provider().expect("complete");
        assert_eq!(p.client_auth, crate::oauth::ClientAuth::Basic);
        assert_eq!(p.token_url.as_str(), "http://127.0.0.1:9/2/oauth2/token");
        assert_eq!(p.client_secret.expose_secret(), "x-client-secret");
        assert_eq!(
            x.webhook_secret().map(|s| s.expose_secret().to_string()),
            Some("x-consumer-secret".into())
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("x-client-secret") && !shown.contains("x-consumer-secret"));
        assert!(
            config.uses_slack(),
            "accounts connected from Slack land in Slack"
        );
    }

    #[test]
    fn x_checks_its_urls_its_webhook_secret_and_what_connecting_needs() {
        let mut config = Config::default();
        let mut x = XConfig::new("client");
        x.client_secret = Some(SecretString::from("s"));
        x.ingest = crate::networks::x::Ingest::Webhook;
        x.api_url = "api.x.com/2".into();
        config.x = Some(x);
        config.secret_key = Some(SecretString::from(
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ));
        config.server.public_url = Some(url::Url::parse("http://x.example.org").expect("url"));
        let problems: Vec<String> = config
            .validate()
            .into_iter()
            .filter(|p| !p.starts_with("slack.") && !p.starts_with("meta."))
            .collect();
        assert_eq!(
            problems,
            [
                "x.consumer_secret is not set (set it in the file or SWITCHBOARD_X_CONSUMER_SECRET): \
                 ingest = \"webhook\" needs it to check X's signatures",
                "x.api_url is not an http(s) URL: \"api.x.com/2\"",
                "server.public_url must be https (X refuses other redirect URIs unless on localhost), \
                 got http://x.example.org/"
            ]
        );
        // With [google] too, the shared requirements are said once.
        config.google = Some(GoogleConfig::new("id"));
        config.server.public_url = None;
        let public: Vec<String> = config
            .validate()
            .into_iter()
            .filter(|p| p.contains("public_url"))
            .collect();
        assert_eq!(public.len(), 1, "{public:?}");
        // An unknown ingest mode is refused when the file is read.
        let err =
            Config::parse("[x]\nclient_id = \"c\"\ningest = \"stream\"\n").expect_err("refused");
        assert!(err.contains("poll") && err.contains("webhook"), "{err}");
    }

    #[test]
    fn google_needs_a_public_url_google_accepts() {
        let problems = |public_url: Option<&str>| {
            let mut config = Config::default();
            let mut g = GoogleConfig::new("id.apps.googleusercontent.com");
            g.client_secret = Some(SecretString::from("s"));
            config.google = Some(g);
            config.server.public_url = public_url.map(|u| url::Url::parse(u).expect("url"));
            config
                .validate()
                .into_iter()
                .filter(|p| p.contains("public_url"))
                .collect::<Vec<_>>()
        };
        for ok in [
            "https://social.example.org",
            "https://social.example.org:8443/switchboard/",
            "http://localhost:8080",
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
        ] {
            assert_eq!(problems(Some(ok)), Vec::<String>::new(), "{ok}");
        }
        for (bad, needle) in [
            (None, "server.public_url is not set: [google] needs it"),
            (Some("http://social.example.org"), "must be https"),
            (Some("https://192.168.1.5"), "raw IP address"),
            (Some("https://user@social.example.org"), "plain base URL"),
            (Some("https://social.example.org/?a=b"), "plain base URL"),
            (Some("ftp://social.example.org"), "not an http(s) URL"),
        ] {
            let p = problems(bad);
            assert!(p.len() == 1 && p[0].contains(needle), "{bad:?}: {p:?}");
        }
        // Without [google], public_url is optional and unchecked.
        let mut config = Config::default();
        config.server.public_url = Some(url::Url::parse("http://10.0.0.1").expect("url"));
        assert!(!config.validate().iter().any(|p| p.contains("public_url")));
        // Redirect URIs keep a path prefix and never double a slash.
        let mut server = ServerConfig::default();
        assert_eq!(server.redirect_uri("google"), None);
        for base in ["https://x.example.org/sb", "https://x.example.org/sb/"] {
            server.public_url = Some(url::Url::parse(base).expect("url"));
            assert_eq!(
                server.redirect_uri("google").map(String::from),
                Some("https://x.example.org/sb/oauth/google/callback".into())
            );
        }
    }

    #[test]
    fn discord_teams_warn_that_their_roles_must_be_pingable() {
        let base = r#"
            [discord]
            application_id = "10"
            public_key = "0000000000000000000000000000000000000000000000000000000000000000"
            "#;
        assert!(Config::parse(base).expect("parses").warnings().is_empty());
        let config = Config::parse(&format!(
            "{base}\n[[discord.teams]]\nname = \"support\"\nrole = \"777\"\n"
        ))
        .expect("parses");
        let warnings = config.warnings();
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("mentionable")
                && warnings[0].contains("Mention Everyone")
                && warnings[0].contains("777 (support)"),
            "{warnings:?}"
        );
        // A warning, not a problem.
        assert!(!config.validate().iter().any(|p| p.contains("mentionable")));
    }

    #[test]
    fn discord_only_deployments_need_no_slack_and_check_their_channels() {
        let config = Config::parse(
            r#"
            [meta]
            app_secret = "s"
            verify_token = "v"
            [[meta.pages]]
            id = "1"
            name = "P"
            access_token = "t"
            discord_channel = "200"
            [[meta.instagram]]
            id = "2"
            name = "I"
            access_token = "t"
            discord_channel = "999"
            [[routing]]
            kind = "direct_message"
            discord_channel = "300"
            slack_channel = "C1"
            [discord]
            application_id = "10"
            public_key = "0000000000000000000000000000000000000000000000000000000000000000"
            [discord.permissions]
            reply = ["role-x"]
            [[discord.servers]]
            guild_id = "100"
            [[discord.servers.channels]]
            id = "200"
            [[discord.servers.channels]]
            id = "300"
            kind = "forum"
            status_tags = { unread = "1", read = "2", closed = "3" }
            "#,
        )
        .expect("parses");
        let problems = config.validate();
        assert_eq!(
            problems,
            vec![
                "slack.bot_token is not set (set it in the file or SWITCHBOARD_SLACK_BOT_TOKEN)",
                "slack.signing_secret is not set (set it in the file or SWITCHBOARD_SLACK_SIGNING_SECRET)",
                "slack.team_id is not set (the workspace id, T…)",
                "discord.bot_token is not set (set it in the file or SWITCHBOARD_DISCORD_BOT_TOKEN)",
                "discord.permissions.reply: \"role-x\" is not a Discord user or role id",
                "routing[0] sets both slack_channel and discord_channel: choose one",
                "meta.instagram[0].discord_channel 999 is not listed under [[discord.servers]] channels",
            ]
        );
        // Without Slack destinations, Slack settings are not required.
        let mut config = config;
        config.routing.clear();
        config.meta.instagram.clear();
        if let Some(d) = config.discord.as_mut() {
            d.bot_token = Some(SecretString::from("b"));
            d.permissions.reply = vec!["900".into()];
        }
        assert_eq!(config.validate(), Vec::<String>::new());
        assert!(!config.uses_slack());
        let page = &config.meta.pages[0].to_account(crate::core::Network::Facebook);
        let state = crate::core::decide(
            None,
            &crate::core::Event::CustomerMessage {
                item: crate::core::InboundItem {
                    network: crate::core::Network::Facebook,
                    account: crate::core::AccountId::new("1"),
                    item_id: crate::core::NetworkItemId::new("x"),
                    kind: crate::core::ItemKind::Comment,
                    post_id: crate::core::NetworkItemId::new("p"),
                    customer: crate::core::Customer {
                        id: crate::core::CustomerId::new("c"),
                        name: None,
                    },
                    text: "hi".into(),
                    created_at: chrono::Utc::now(),
                    permalink: None,
                    attachments: vec![],
                    context: Default::default(),
                },
            },
            &crate::core::Capabilities::NONE,
            chrono::Utc::now(),
        )
        .expect("opens")
        .state;
        match config.destination_for(&state, page) {
            Some(Destination::Discord { guild, channel }) => {
                assert_eq!((guild, channel.id.as_str()), ("100", "200"));
                assert_eq!(channel.kind, DiscordChannelKind::Text);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_channel_route_admits_exactly_the_tickets_routed_there() {
        use crate::core::{ItemKind::*, Network::*, Surface};
        let config = Config::parse(
            r#"
            [[meta.pages]]
            id = "1"
            name = "P"
            slack_channel = "CPAGE"
            [[meta.pages]]
            id = "2"
            name = "Q"
            discord_channel = "200"
            [[meta.instagram]]
            id = "3"
            name = "I"
            slack_channel = "CPAGE"
            [[meta.whatsapp]]
            id = "4"
            name = "W"
            slack_channel = "CWA"
            [[routing]]
            kind = "direct_message"
            keyword = "RÜCKERSTATTUNG"
            slack_channel = "CREFUND"
            [[routing]]
            network = "instagram"
            discord_channel = "300"
            [[routing]]
            keyword = "refund"
            slack_channel = "CREFUND"
            [discord]
            application_id = "10"
            public_key = "0000000000000000000000000000000000000000000000000000000000000000"
            [[discord.servers]]
            guild_id = "100"
            [[discord.servers.channels]]
            id = "200"
            [[discord.servers.channels]]
            id = "300"
            "#,
        )
        .expect("parses");
        let ticket = |network, account: &str, kind, text: &str| {
            let item = crate::core::InboundItem {
                network,
                account: crate::core::AccountId::new(account),
                item_id: crate::core::NetworkItemId::new("x"),
                kind,
                post_id: crate::core::NetworkItemId::new("p"),
                customer: crate::core::Customer {
                    id: crate::core::CustomerId::new("c"),
                    name: None,
                },
                text: text.into(),
                created_at: chrono::Utc::now(),
                permalink: None,
                attachments: vec![],
                context: Default::default(),
            };
            crate::core::decide(
                None,
                &crate::core::Event::CustomerMessage { item },
                &crate::core::Capabilities::NONE,
                chrono::Utc::now(),
            )
            .expect("opens")
            .state
        };
        let tickets = [
            ticket(Facebook, "1", Comment, "hello"),
            ticket(Facebook, "1", Comment, "a Refund please"),
            ticket(Facebook, "1", DirectMessage, "meine rückerstattung bitte"),
            ticket(Facebook, "2", Comment, "hello"),
            ticket(Facebook, "2", Mention, "REFUND"),
            ticket(Instagram, "3", Comment, "refund"),
            ticket(Instagram, "3", DirectMessage, "Rückerstattung!"),
            ticket(Whatsapp, "4", DirectMessage, "hi"),
            // Accounts that are not configured go nowhere, whatever a rule says.
            ticket(Facebook, "9", Comment, "refund"),
            ticket(Whatsapp, "1", DirectMessage, "hi"),
        ];
        let channels = [
            (Surface::Slack, "CPAGE"),
            (Surface::Slack, "CWA"),
            (Surface::Slack, "CREFUND"),
            (Surface::Discord, "200"),
            (Surface::Discord, "300"),
        ];
        let routed_to = |t: &crate::core::TicketState| {
            config.account(t.network, t.account.as_str()).and_then(|a| {
                config.destination_for(t, &a).map(|d| match d {
                    Destination::Slack { channel } => (Surface::Slack, channel.to_string()),
                    Destination::Discord { channel, .. } => (Surface::Discord, channel.id.clone()),
                })
            })
        };
        for (surface, channel) in channels {
            let route = config.route_to(surface, channel).expect("an inbox channel");
            for t in &tickets {
                let want = routed_to(t) == Some((surface, channel.to_string()));
                assert_eq!(route.admits(t), want, "{channel}: {t:?}");
            }
        }
        // Every ticket above that has a destination is admitted by exactly one channel.
        assert_eq!(tickets.iter().filter(|t| routed_to(t).is_some()).count(), 8);
        // Channels nothing is routed to are not inbox channels; ids do not cross surfaces.
        assert_eq!(config.route_to(Surface::Slack, "CELSEWHERE"), None);
        assert_eq!(config.route_to(Surface::Slack, "200"), None);
        assert_eq!(config.route_to(Surface::Discord, "CPAGE"), None);
    }

    #[test]
    fn bulk_defaults_to_the_close_list_and_admin_ids_are_checked() {
        let config = Config::parse(
            r#"
            [permissions]
            close = ["ULEAD"]
            admin = ["SADMINS", "bob"]
            "#,
        )
        .expect("parses");
        use crate::core::permission::Permission;
        assert_eq!(config.permissions.rule(Permission::Bulk), ["ULEAD"]);
        let problems = config.validate().join("\n");
        assert!(
            problems.contains(
                "permissions.admin: \"bob\" is neither a user id (U…/W…) nor a user group id (S…)"
            ),
            "{problems}"
        );
        let config =
            Config::parse("[permissions]\nclose = [\"ULEAD\"]\nbulk = []\n").expect("parses");
        assert!(
            config.permissions.rule(Permission::Bulk).is_empty(),
            "set: everyone"
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let mut config = Config::default();
        config.meta.app_secret = Some(SecretString::from("hunter2"));
        let dbg = format!("{config:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
    }
}
