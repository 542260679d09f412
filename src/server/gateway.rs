//! Discord's gateway (serenity): the inbound edge for thread messages, their edits and
//! deletions, and interactions when the application has no HTTP endpoint URL. Serenity's REST
//! client is pointed at `discord.api_url` (its "proxy" setting) with its own rate limiter
//! off; Switchboard's [`DiscordClient`](crate::chat::discord::DiscordClient) paces every REST
//! call it makes itself. Events are translated here into the same inbox events as Slack's and
//! committed before anything else happens; interactions get the same answer as over HTTP
//! ([`super::discord::respond`]), posted to the interaction callback endpoint.
//!
//! At start-up the slash command is registered (per configured server, or globally), and
//! the teams' roles are checked: a role the bot cannot ping is logged as a warning.

use std::sync::Arc;

use serenity::all::{
    ChannelId, Context, EventHandler, GatewayIntents, GuildId, HttpBuilder, Interaction, Message,
    MessageId, MessageUpdateEvent, Ready,
};
use tokio::sync::watch;
use tracing::{debug, error, info, warn};

use crate::chat::discord::{inbound, render, roles};
use crate::config::CommandScope;
use crate::core::{ChatRef, ChatUserId, Surface, Teammate};
use crate::workers::{InboxEvent, Services};

/// Intents: GUILDS (1), GUILD_MESSAGES (512), MESSAGE_CONTENT (32768) = 33281, as the set-up
/// guide (`manifests/discord-app.md`) asks the application to enable.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT
}

struct Handler {
    svc: Arc<Services>,
}

impl Handler {
    fn served(&self, guild: Option<GuildId>) -> Option<String> {
        let guild = guild?.to_string();
        let d = self.svc.config.discord.as_ref()?;
        d.servers
            .iter()
            .any(|s| s.guild_id == guild)
            .then_some(guild)
    }

    /// The ticket whose card thread `channel` is, if it is one. A failed lookup is logged and
    /// the event keeps its own lane: the gateway does not redeliver, so committing it in a
    /// weaker order beats losing it.
    async fn thread_ticket(
        &self,
        guild: &str,
        channel: ChannelId,
    ) -> Option<crate::core::TicketId> {
        match self
            .svc
            .store
            .ticket_by_chat(&thread_of(guild, channel))
            .await
        {
            Ok(t) => t,
            Err(e) => {
                error!(error = %e, "cannot look up a Discord thread");
                None
            }
        }
    }

    /// Commit `event`, which happened in the thread of `ticket`'s card when `ticket` is set.
    async fn commit_in_thread(
        &self,
        dedupe_key: String,
        event: InboxEvent,
        ticket: Option<crate::core::TicketId>,
    ) {
        let row = match event.to_row_in_thread("discord", dedupe_key, ticket) {
            Ok(r) => r,
            Err(e) => return error!(error = %e, "cannot serialise a Discord event"),
        };
        match self.svc.inbox.insert(vec![row]).await {
            Ok(n) if n > 0 => self.svc.wake_inbox.notify_one(),
            Ok(_) => debug!("duplicate Discord event ignored"),
            // The gateway does not redeliver: this message is lost to Switchboard, so say so
            // loudly (the teammate sees no queued mark either).
            Err(e) => error!(error = %e, "cannot store a Discord event"),
        }
    }
}

/// The card thread a channel is (a Discord thread's channel id is its card's id).
fn thread_of(guild: &str, channel: ChannelId) -> ChatRef {
    chat(guild, channel, MessageId::new(channel.get()))
}

fn chat(guild: &str, channel: ChannelId, message: MessageId) -> ChatRef {
    ChatRef {
        surface: Surface::Discord,
        workspace: guild.to_string(),
        channel: channel.to_string(),
        message: message.to_string(),
    }
}

fn teammate(id: impl ToString) -> Teammate {
    Teammate {
        surface: Surface::Discord,
        id: ChatUserId::new(id.to_string()),
    }
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        info!(user = %ready.user.name, guilds = ready.guilds.len(), "Discord gateway ready");
    }

    async fn message(&self, _ctx: Context, msg: Message) {
        if msg.author.bot || msg.webhook_id.is_some() {
            return;
        }
        let Some(guild) = self.served(msg.guild_id) else {
            return;
        };
        // Only messages in a card's thread matter; the thread's channel id is its card's id.
        let thread = thread_of(&guild, msg.channel_id);
        let ticket = match self.svc.store.ticket_by_chat(&thread).await {
            Ok(Some(t)) => Some(t),
            Ok(None) => return,
            // The gateway does not redeliver: commit it in its own lane rather than lose it
            // (the processor looks the thread up again).
            Err(e) => {
                error!(error = %e, "cannot look up a Discord thread");
                None
            }
        };
        let roles = msg
            .member
            .as_ref()
            .map(|m| m.roles.iter().map(|r| r.to_string()).collect())
            .unwrap_or_default();
        let event = InboxEvent::ThreadMessage {
            teammate: teammate(msg.author.id),
            message: chat(&guild, msg.channel_id, msg.id),
            thread,
            text: msg.content.clone(),
            roles,
        };
        self.commit_in_thread(format!("msg:{}", msg.id), event, ticket)
            .await;
    }

    async fn message_update(
        &self,
        _ctx: Context,
        _old: Option<Message>,
        _new: Option<Message>,
        event: MessageUpdateEvent,
    ) {
        let (Some(guild), Some(author), Some(text)) =
            (self.served(event.guild_id), event.author, event.content)
        else {
            return;
        };
        if author.bot {
            return;
        }
        // Two quick edits are two events: key on the full timestamp (milliseconds).
        let edited = event
            .edited_timestamp
            .map(|t| t.to_string())
            .unwrap_or_default();
        let ticket = self.thread_ticket(&guild, event.channel_id).await;
        let e = InboxEvent::MessageEdited {
            teammate: teammate(author.id),
            message: chat(&guild, event.channel_id, event.id),
            text,
        };
        self.commit_in_thread(format!("edit:{}:{edited}", event.id), e, ticket)
            .await;
    }

    async fn message_delete(
        &self,
        _ctx: Context,
        channel: ChannelId,
        message: MessageId,
        guild: Option<GuildId>,
    ) {
        let Some(guild) = self.served(guild) else {
            return;
        };
        let ticket = self.thread_ticket(&guild, channel).await;
        let e = InboxEvent::MessageDeleted {
            message: chat(&guild, channel, message),
        };
        self.commit_in_thread(format!("delete:{message}"), e, ticket)
            .await;
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        // One parser for both doors: serenity's model back to Discord's JSON (its serialiser
        // leaves out the interaction type, which the variant tells).
        let kind = match &interaction {
            Interaction::Ping(_) => 1,
            Interaction::Command(_) => 2,
            Interaction::Component(_) => 3,
            Interaction::Autocomplete(_) => 4,
            Interaction::Modal(_) => 5,
            _ => return warn!("an interaction type Switchboard does not know"),
        };
        let parsed = serde_json::to_value(&interaction)
            .map_err(|e| e.to_string())
            .and_then(|mut raw| {
                raw["type"] = kind.into();
                inbound::parse_interaction(raw.to_string().as_bytes()).map_err(|e| e.to_string())
            });
        let i = match parsed {
            Ok(i) => i,
            Err(e) => return warn!(error = %e, "unreadable gateway interaction"),
        };
        let answer = match super::discord::respond(&self.svc, &i).await {
            Ok(a) => a,
            Err(r) => {
                warn!(reason = %r.reason, "interaction refused");
                render::ephemeral(&r.reason)
            }
        };
        if let Some(discord) = &self.svc.discord
            && let Err(e) = discord.interaction_callback(&i.id, &i.token, &answer).await
        {
            warn!(error = %e, "cannot answer an interaction");
        }
    }
}

/// Register the slash command where the configuration says (replacing what was there).
pub async fn register_commands(svc: &Services) -> anyhow::Result<()> {
    let (Some(d), Some(discord)) = (&svc.config.discord, &svc.discord) else {
        return Ok(());
    };
    let commands = render::commands(&d.command, &svc.networks.connectable());
    match d.command_scope {
        CommandScope::Global => {
            discord
                .register_commands(&d.application_id, None, &commands)
                .await?
        }
        CommandScope::Guild => {
            for s in &d.servers {
                discord
                    .register_commands(&d.application_id, Some(&s.guild_id), &commands)
                    .await?;
            }
        }
    }
    info!(command = %d.command, scope = ?d.command_scope, "Discord slash command registered");
    Ok(())
}

/// Warn about every team role the bot cannot ping: Discord notifies a role mention only if
/// the role is mentionable or the bot has Mention Everyone. Returns the warnings (also
/// logged); a server that cannot be read is reported and skipped.
pub async fn check_team_roles(svc: &Services) -> Vec<String> {
    let (Some(d), Some(discord)) = (&svc.config.discord, &svc.discord) else {
        return Vec::new();
    };
    let teams: Vec<(&str, &str)> = d
        .teams
        .iter()
        .map(|t| (t.name.as_str(), t.role.as_str()))
        .collect();
    if teams.is_empty() {
        return Vec::new();
    }
    let mut warnings = Vec::new();
    let bot = match discord.own_user_id().await {
        Ok(id) => id,
        Err(e) => {
            let w = format!("cannot check whether the teams' roles can be pinged: {e}");
            warn!("{w}");
            return vec![w];
        }
    };
    let mut found = Vec::new();
    let mut all_read = true;
    for s in &d.servers {
        let guild = s.guild_id.as_str();
        let (all, member) = match (
            discord.guild_roles(guild).await,
            discord.guild_member(guild, &bot).await,
        ) {
            (Ok(r), Ok(m)) => (roles::parse_roles(&r), m),
            (Err(e), _) | (_, Err(e)) => {
                let w = format!("cannot read the roles of Discord server {guild}: {e}");
                warn!("{w}");
                warnings.push(w);
                all_read = false;
                continue;
            }
        };
        found.extend(
            teams
                .iter()
                .filter(|(_, role)| all.iter().any(|r| r.id == *role)),
        );
        for (name, role) in roles::unpingable(guild, &all, &roles::member_roles(&member), &teams) {
            let w = format!(
                "team {name}: role {role} in server {guild} is not mentionable and the bot lacks \
                 the Mention Everyone permission, so team notices will not ping anyone; make \
                 the role mentionable or grant the bot Mention Everyone"
            );
            warn!("{w}");
            warnings.push(w);
        }
    }
    for (name, role) in teams.iter().filter(|t| all_read && !found.contains(t)) {
        let w = format!("team {name}: role {role} is not a role of any configured Discord server");
        warn!("{w}");
        warnings.push(w);
    }
    warnings
}

/// Connect to the gateway and dispatch until shutdown. Serenity reconnects by itself; this
/// returns when asked to stop or when the connection cannot be made at all.
pub async fn run(svc: Arc<Services>, shutdown: watch::Receiver<bool>) {
    let Some(d) = svc.config.discord.as_ref() else {
        return;
    };
    if let Err(e) = register_commands(&svc).await {
        // Cards and thread replies work without the command: log and go on.
        error!(error = %e, "cannot register the Discord slash command");
    }
    check_team_roles(&svc).await;
    if !d.gateway {
        return;
    }
    // One replica at a time holds the gateway (each would receive every event); another
    // takes over within the lease's time when it dies.
    let ttl = std::time::Duration::from_secs(d.gateway_lease_secs.max(1));
    let holder = crate::workers::leader::holder_id();
    let store = svc.store.clone();
    crate::workers::leader::lead(store, GATEWAY_LEASE, &holder, ttl, shutdown, |stop| {
        connect(svc.clone(), stop)
    })
    .await;
}

/// The lease whose holder runs the Discord gateway.
pub const GATEWAY_LEASE: &str = "discord-gateway";

/// Connect to the gateway and handle its events until `shutdown`.
pub async fn connect(svc: Arc<Services>, mut shutdown: watch::Receiver<bool>) {
    let Some(d) = svc.config.discord.as_ref() else {
        return;
    };
    use secrecy::ExposeSecret;
    let token = d
        .bot_token
        .as_ref()
        .map(|t| t.expose_secret().to_string())
        .unwrap_or_default();
    let mut client = match serenity::client::ClientBuilder::new_with_http(
        HttpBuilder::new(&token)
            .proxy(d.api_url.trim_end_matches('/'))
            .ratelimiter_disabled(true)
            .build(),
        intents(),
    )
    .event_handler(Handler { svc: svc.clone() })
    .await
    {
        Ok(c) => c,
        Err(e) => return error!(error = %e, "cannot build the Discord client"),
    };
    let shards = client.shard_manager.clone();
    tokio::select! {
        r = client.start() => {
            if let Err(e) = r {
                error!(error = %e, "Discord gateway stopped");
            }
        }
        _ = shutdown.changed() => {
            shards.shutdown_all().await;
        }
    }
}
