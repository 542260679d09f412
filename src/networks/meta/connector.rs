//! The Meta family behind the connector contract: one [`MetaConnector`] per network
//! (Facebook, Instagram, WhatsApp), all calling the Graph API through one [`GraphClient`].
//! Webhooks come through [`super::webhook::MetaWebhooks`].

use async_trait::async_trait;

use super::capabilities;
use super::client::{GraphClient, GraphError, MessageTag, SendAs, WhatsappRecipient};
use crate::core::window::{Window, window};
use crate::core::{
    Capabilities, FailureReason, ItemKind, Moderation, Network, NetworkItemId, Ticket,
};
use crate::networks::{Call, Connector, ConnectorError};

/// How the Graph API's failures reach the workers.
pub fn connector_error(e: GraphError) -> ConnectorError {
    let rate_limited = e.is_rate_limit();
    match e {
        // Meta tokens are pasted into the configuration: refused means renew it there.
        GraphError::Permanent(FailureReason::TokenExpired) => ConnectorError::Unauthorized,
        GraphError::Permanent(reason) => ConnectorError::Permanent(reason),
        GraphError::Retryable { after, detail } if rate_limited => ConnectorError::RateLimited {
            retry_after: after,
            reason: detail,
        },
        GraphError::Retryable { after, detail } => ConnectorError::Transient {
            retry_after: after,
            reason: detail,
        },
    }
}

/// One network of the Meta family.
pub struct MetaConnector {
    network: Network,
    graph: GraphClient,
    /// The app has Messenger's Human Agent permission (`meta.human_agent_tag`).
    human_agent: bool,
}

impl MetaConnector {
    /// `network` is Facebook, Instagram or WhatsApp.
    pub fn new(network: Network, graph: GraphClient, human_agent: bool) -> Self {
        Self {
            network,
            graph,
            human_agent,
        }
    }

    /// The three Meta networks on one Graph client.
    pub fn family(graph: &GraphClient, human_agent: bool) -> [MetaConnector; 3] {
        [Network::Facebook, Network::Instagram, Network::Whatsapp]
            .map(|n| MetaConnector::new(n, graph.clone(), human_agent))
    }

    async fn send(
        &self,
        call: Call<'_>,
        ticket: &Ticket,
        reply_to: &NetworkItemId,
        text: &str,
    ) -> Result<NetworkItemId, GraphError> {
        let s = &ticket.state;
        let token = call.token;
        let g = &self.graph;
        match (self.network, s.kind) {
            (Network::Facebook, ItemKind::DirectMessage) => {
                let rule = self.capabilities(s.kind).window;
                let tag = match window(ticket, &rule, call.now) {
                    Window::Extended { .. } => MessageTag::HumanAgent,
                    _ => MessageTag::None,
                };
                g.send_message(
                    token,
                    SendAs::Page(call.account.as_str()),
                    s.customer.id.as_str(),
                    text,
                    tag,
                )
                .await
            }
            // Facebook Login: the Page linked to the Instagram account sends, with its token.
            (Network::Instagram, ItemKind::DirectMessage) => {
                g.send_message(
                    token,
                    SendAs::TokenPage,
                    s.customer.id.as_str(),
                    text,
                    MessageTag::None,
                )
                .await
            }
            (Network::Instagram, _) => g.reply_to_instagram_comment(token, reply_to, text).await,
            (Network::Whatsapp, _) => {
                g.send_whatsapp_text(
                    token,
                    call.account.as_str(),
                    WhatsappRecipient::of(s.customer.id.as_str()),
                    text,
                    None,
                )
                .await
            }
            // Comments, visitor posts, mentions: `POST /{id}/comments` under the latest item.
            (Network::Facebook, _) => g.comment(token, reply_to, text).await,
            (other, _) => Err(GraphError::Permanent(FailureReason::Other(format!(
                "{other} is not a Meta network"
            )))),
        }
    }
}

#[async_trait]
impl Connector for MetaConnector {
    fn network(&self) -> Network {
        self.network
    }

    fn capabilities(&self, kind: ItemKind) -> Capabilities {
        match self.network {
            Network::Facebook => capabilities::facebook(kind, self.human_agent),
            Network::Instagram => capabilities::instagram(kind),
            Network::Whatsapp => capabilities::whatsapp(kind),
            _ => Capabilities::NONE,
        }
    }

    async fn reply(
        &self,
        call: Call<'_>,
        ticket: &Ticket,
        reply_to: &NetworkItemId,
        text: &str,
    ) -> Result<NetworkItemId, ConnectorError> {
        self.send(call, ticket, reply_to, text)
            .await
            .map_err(connector_error)
    }

    async fn moderate(
        &self,
        call: Call<'_>,
        ticket: &Ticket,
        action: Moderation,
        item: &NetworkItemId,
    ) -> Result<(), ConnectorError> {
        let s = &ticket.state;
        let (g, token) = (&self.graph, call.token);
        let result = match action {
            Moderation::Hide => g.set_hidden(token, self.network, item, true).await,
            Moderation::Unhide => g.set_hidden(token, self.network, item, false).await,
            Moderation::Delete => g.delete(token, item).await,
            Moderation::Like => g.like(token, item).await,
            // Never with a stand-in id (the core does not offer it; an old job might).
            Moderation::Block if !s.customer.id.is_known() => {
                Err(GraphError::Permanent(FailureReason::Other(
                    "the author's id is unknown, so they cannot be blocked".into(),
                )))
            }
            Moderation::Block => {
                g.block(token, call.account.as_str(), s.customer.id.as_str())
                    .await
            }
            // Not in the family's capabilities (the core never queues them; an old job might).
            Moderation::Approve
            | Moderation::Reject
            | Moderation::BanAuthor
            | Moderation::DeleteReply
            | Moderation::Mute => Err(GraphError::Permanent(FailureReason::NotSupported)),
        };
        result.map_err(connector_error)
    }
}
