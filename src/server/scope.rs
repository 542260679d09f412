//! Where a teammate may act. Every command and click comes from a chat channel, and everyone
//! but an admin acts only on the tickets routed to that channel: the same decision that picks
//! the channel a card is posted to (`Config::route_to`, mirroring `Config::destination_for`).
//! One ticket is also in reach from the channel its card is in (a card posted before the
//! configuration moved its account elsewhere stays usable where it is).
//!
//! - Listings and bulk actions carry the route as a filter constraint, so the store (and the
//!   inbox worker, which runs the bulk later) only ever sees the channel's tickets.
//! - A command about tickets in a channel no account or routing rule sends tickets to (not an
//!   inbox channel) is refused; so is a `#N` of a ticket routed elsewhere.
//! - An admin (`permissions.admin`, `[discord.permissions] admin`; empty: nobody) acts on
//!   every channel's tickets, from any channel.
//!
//! Discord threads (a card's thread, a forum post) belong to their parent channel.

use crate::core::filter::RouteMatch;
use crate::core::{Surface, Teammate, Ticket, TicketId, text};
use crate::workers::Services;

use super::Refusal;

/// Where a request came from.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub teammate: &'a Teammate,
    /// Discord role ids of the member (empty on Slack).
    pub roles: &'a [String],
    /// The channel the command was typed in or the clicked message is in.
    pub channel: Option<&'a str>,
    /// Discord: the channel's parent, when it is a thread.
    pub parent: Option<&'a str>,
}

/// What a teammate may act on from where they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// An admin: every ticket.
    Everywhere,
    /// Everyone else: the tickets routed to this channel (`route`, `None` when it is not an
    /// inbox channel), and a ticket whose card is in it.
    Channel {
        surface: Surface,
        channel: Option<String>,
        route: Option<RouteMatch>,
    },
}

/// A command about tickets, run where no tickets are routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAnInbox;

impl Scope {
    /// The scope of a request: admin or not, and the route of its channel (or the thread's
    /// parent).
    pub async fn of(svc: &Services, origin: Origin<'_>) -> Result<Self, Refusal> {
        // The admin list may name Slack user groups: when Slack cannot answer, the teammate
        // keeps the channel's scope (least privilege) instead of losing every action.
        let admin = match svc
            .directory
            .is_admin_as(&svc.slack, &svc.config, origin.teammate, origin.roles)
            .await
        {
            Ok(admin) => admin,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "cannot check the admin list: channel scope only");
                false
            }
        };
        Ok(Self::resolve_with(
            &svc.config,
            &svc.connected_accounts(),
            origin,
            admin,
        ))
    }

    /// [`Scope::of`] once the admin question is answered.
    #[cfg(test)]
    pub fn resolve(config: &crate::config::Config, origin: Origin<'_>, admin: bool) -> Self {
        Self::resolve_with(config, &[], origin, admin)
    }

    /// [`Scope::resolve`], with the accounts connected at run time.
    pub fn resolve_with(
        config: &crate::config::Config,
        connected: &[crate::accounts::Account],
        origin: Origin<'_>,
        admin: bool,
    ) -> Self {
        if admin {
            return Scope::Everywhere;
        }
        let surface = origin.teammate.surface;
        let route = [origin.channel, origin.parent]
            .into_iter()
            .flatten()
            .find_map(|c| config.route_to_with(surface, c, connected));
        Scope::Channel {
            surface,
            channel: origin.channel.map(str::to_string),
            route,
        }
    }

    /// The constraint for a listing or a bulk filter (`None`: no constraint, an admin), or
    /// [`NotAnInbox`].
    pub fn route(&self) -> Result<Option<RouteMatch>, NotAnInbox> {
        match self {
            Scope::Everywhere => Ok(None),
            Scope::Channel { route: Some(r), .. } => Ok(Some(r.clone())),
            Scope::Channel { route: None, .. } => Err(NotAnInbox),
        }
    }

    /// Whether one ticket may be acted on from here: routed here, or its card is here.
    pub async fn admits(&self, svc: &Services, ticket: &Ticket) -> Result<bool, Refusal> {
        let Scope::Channel {
            surface,
            channel,
            route,
        } = self
        else {
            return Ok(true);
        };
        if route.as_ref().is_some_and(|r| r.admits(&ticket.state)) {
            return Ok(true);
        }
        let Some(channel) = channel else {
            return Ok(false);
        };
        let card = svc
            .store
            .card_of(ticket.id)
            .await
            .map_err(|e| Refusal::internal("cannot find a card", e))?;
        Ok(card.is_some_and(|c| c.surface == *surface && c.channel == *channel))
    }
}

/// The ticket a command's `#N` names, if it may be acted on from here; otherwise what to
/// answer (not an inbox channel, no such ticket, or a ticket routed elsewhere).
pub async fn command_ticket(
    svc: &Services,
    scope: &Scope,
    id: TicketId,
) -> Result<Result<Ticket, String>, Refusal> {
    if scope.route().is_err() {
        return Ok(Err(text::NOT_AN_INBOX_CHANNEL.to_string()));
    }
    let Some(ticket) = svc
        .store
        .ticket(id)
        .await
        .map_err(|e| Refusal::internal("cannot read a ticket", e))?
    else {
        return Ok(Err(text::NO_SUCH_TICKET.to_string()));
    };
    if !scope.admits(svc, &ticket).await? {
        return Ok(Err(text::ticket_not_here(id.0)));
    }
    Ok(Ok(ticket))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ChatUserId;

    #[test]
    fn admins_reach_everywhere_and_threads_belong_to_their_parent() {
        let config = crate::config::Config::parse(
            r#"
            [[meta.pages]]
            id = "1"
            name = "P"
            slack_channel = "CPAGE"
            [[meta.pages]]
            id = "2"
            name = "Q"
            discord_channel = "200"
            [discord]
            application_id = "10"
            public_key = "0000000000000000000000000000000000000000000000000000000000000000"
            [[discord.servers]]
            guild_id = "100"
            [[discord.servers.channels]]
            id = "200"
            "#,
        )
        .expect("parses");
        let slack = Teammate {
            surface: Surface::Slack,
            id: ChatUserId::new("U1"),
        };
        let discord = Teammate {
            surface: Surface::Discord,
            id: ChatUserId::new("9"),
        };
        let origin = |teammate, channel, parent| Origin {
            teammate,
            roles: &[],
            channel,
            parent,
        };
        let at = |o, admin| Scope::resolve(&config, o, admin).route();
        assert_eq!(at(origin(&slack, Some("CELSE"), None), true), Ok(None));
        assert_eq!(
            at(origin(&slack, Some("CELSE"), None), false),
            Err(NotAnInbox)
        );
        assert_eq!(at(origin(&slack, None, None), false), Err(NotAnInbox));
        let page = at(origin(&slack, Some("CPAGE"), None), false).expect("inbox");
        assert_eq!(page, config.route_to(Surface::Slack, "CPAGE"));
        // A card's thread (its own channel id) belongs to the channel it hangs off.
        let thread = at(origin(&discord, Some("777"), Some("200")), false).expect("inbox");
        assert_eq!(thread, config.route_to(Surface::Discord, "200"));
        assert_eq!(
            at(origin(&discord, Some("777"), Some("999")), false),
            Err(NotAnInbox)
        );
    }
}
