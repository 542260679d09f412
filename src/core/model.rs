//! The ticket and its messages, as the core sees them. No I/O, no SDK types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::*;

/// Ticket status as the reference inboxes show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Unread,
    Read,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unread => "unread",
            Status::Read => "read",
            Status::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "unread" => Some(Status::Unread),
            "read" => Some(Status::Read),
            "closed" => Some(Status::Closed),
            _ => None,
        }
    }
}

/// The size of the Reply editor (Slack's text-input maximum), in characters. What a reply
/// may actually hold depends on its network and kind: see `core::capabilities`.
pub const MAX_REPLY_CHARS: usize = 3000;

/// What kind of network item a ticket's conversation hangs off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A comment (or a reply to a comment) under a post.
    Comment,
    /// A post a visitor wrote on the Page.
    VisitorPost,
    /// The account was @mentioned in someone else's post, comment or caption.
    Mention,
    /// A private conversation (Messenger, Instagram DM, WhatsApp).
    DirectMessage,
    /// A customer review with a star rating (Google Business Profile).
    Review,
}

/// Media or other non-text content of an item, shown as a link or preview, never downloaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// image, video, audio, file, sticker, location, story_mention, template, …
    pub kind: String,
    /// A URL the network gave (may expire).
    pub url: Option<String>,
    /// A media id to fetch through the API when there is no URL (WhatsApp).
    pub media_id: Option<String>,
    /// Caption, file name or title.
    pub caption: Option<String>,
    pub mime_type: Option<String>,
}

/// Someone on the network side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: CustomerId,
    pub name: Option<String>,
}

/// One interaction received from a network, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundItem {
    pub network: Network,
    pub account: AccountId,
    pub item_id: NetworkItemId,
    pub kind: ItemKind,
    /// The post the item belongs to (a visitor post is its own post).
    pub post_id: NetworkItemId,
    pub customer: Customer,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub permalink: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// What the card shows beyond the text, when the network has it.
    #[serde(default)]
    pub context: ItemContext,
}

/// What a card shows about an item beyond its text and author (customer text: escaped on
/// every rendering like the rest).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemContext {
    /// What the item is about: a YouTube video's title, a Google location's name.
    #[serde(default)]
    pub subject: Option<String>,
    /// A link to it (the video's watch page).
    #[serde(default)]
    pub subject_url: Option<String>,
    /// A review's stars, 1 to 5.
    #[serde(default)]
    pub rating: Option<u8>,
    /// The network holds the item for the owner's decision (YouTube `heldForReview`,
    /// `likelySpam`): the card offers approve / reject.
    #[serde(default)]
    pub held: Option<Held>,
}

/// Why the network holds an item back from the public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Held {
    /// Waiting for the owner's review.
    ForReview,
    /// The network thinks it is spam.
    LikelySpam,
}

/// The conversation key of a direct-message conversation (one ticket per customer).
pub fn dm_conversation_key(network: Network, account: &AccountId, customer: &CustomerId) -> String {
    format!("{}:{account}:dm:{customer}", network.as_str())
}

impl InboundItem {
    /// Tickets group one customer's items under one post; direct messages form one ticket
    /// per customer conversation.
    pub fn conversation_key(&self) -> String {
        match self.kind {
            ItemKind::DirectMessage => {
                dm_conversation_key(self.network, &self.account, &self.customer.id)
            }
            _ => format!(
                "{}:{}:{}:{}",
                self.network.as_str(),
                self.account,
                self.post_id,
                self.customer.id
            ),
        }
    }
}

impl ItemKind {
    /// Public items are visible to everyone on the network (comments, posts); private ones
    /// are direct messages.
    pub fn is_public(self) -> bool {
        match self {
            ItemKind::Comment | ItemKind::VisitorPost | ItemKind::Mention | ItemKind::Review => {
                true
            }
            ItemKind::DirectMessage => false,
        }
    }
}

/// Who a ticket is assigned to: a teammate, or a team (a configured name mapped to a chat
/// user group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum Assignee {
    Person(Teammate),
    Team(String),
}

impl Assignee {
    /// Stored in the `assignee` column for filtering: `slack:U123` or `team:support`.
    pub fn key(&self) -> String {
        match self {
            Assignee::Person(t) => format!("{}:{}", t.surface.as_str(), t.id),
            Assignee::Team(name) => format!("team:{name}"),
        }
    }
}

/// A moderation action on the ticket's item (its card's comment or post).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Moderation {
    Hide,
    Unhide,
    Delete,
    Like,
    /// Block the author from the Page.
    Block,
    /// Publish an item the network holds for review (YouTube `heldForReview`, `likelySpam`).
    Approve,
    /// Keep an item from the public (YouTube: rejected).
    Reject,
    /// Reject the item and ban its author from the account (YouTube `banAuthor`).
    BanAuthor,
    /// Delete the team's latest reply on the ticket (YouTube: our comment; Google: the
    /// review's reply).
    DeleteReply,
    /// Mute the author: the account no longer sees their posts (X). Unlike a block, they are
    /// not told and can still reply.
    Mute,
}

impl Moderation {
    /// What can be done to this ticket's item: what the network offers (`caps`), minus Block
    /// and Mute when the author is a stand-in (no real user id to block, e.g. a mention whose author
    /// Meta did not name; the block edge must only ever get a real id).
    ///
    /// Approve, reject and ban apply to items the network holds for review; deleting our reply
    /// needs a delivered reply.
    pub fn available(
        state: &TicketState,
        caps: &super::capabilities::Capabilities,
    ) -> Vec<Moderation> {
        caps.moderation
            .iter()
            .copied()
            .filter(|m| match m {
                Moderation::Block | Moderation::Mute => state.customer.id.is_known(),
                Moderation::Approve | Moderation::Reject | Moderation::BanAuthor => {
                    state.context.held.is_some()
                }
                Moderation::DeleteReply => {
                    state.our_reply.is_some() && state.moderation.reply_deleted.is_none()
                }
                Moderation::Hide | Moderation::Unhide | Moderation::Delete | Moderation::Like => {
                    true
                }
            })
            .collect()
    }
}

/// What moderation has done to the ticket's item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationState {
    pub hidden: bool,
    pub deleted: bool,
    pub liked: bool,
    pub author_blocked: bool,
    /// The author was muted (X).
    #[serde(default)]
    pub author_muted: bool,
    /// A held item was published.
    #[serde(default)]
    pub approved: bool,
    /// The item was kept from the public (rejected).
    #[serde(default)]
    pub rejected: bool,
    /// `rejected` was set by banning the author (a refused ban undoes it; an earlier reject
    /// stays).
    #[serde(default)]
    pub rejected_by_ban: bool,
    /// Our latest reply, with this id, was deleted (cleared when another is delivered).
    #[serde(default)]
    pub reply_deleted: Option<NetworkItemId>,
    /// The last moderation the network refused, and why.
    pub failure: Option<(Moderation, FailureReason)>,
}

/// A teammate composing a reply (modal open, or a reply waiting out its undo window).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replying {
    pub teammate: Teammate,
    pub since: DateTime<Utc>,
}

/// The state of a ticket, without its database identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketState {
    pub network: Network,
    pub account: AccountId,
    pub conversation_key: String,
    pub customer: Customer,
    pub kind: ItemKind,
    /// The first item of the conversation (shown on the card).
    pub first_item: NetworkItemId,
    pub first_text: String,
    pub permalink: Option<String>,
    /// The customer's latest item: where a reply goes.
    pub reply_to: NetworkItemId,
    pub status: Status,
    pub assignee: Option<Assignee>,
    pub tags: Vec<String>,
    /// Tags the team's model suggests for this ticket (one click to accept).
    #[serde(default)]
    pub suggested_tags: Vec<String>,
    /// Who is composing a reply right now (the collision notice).
    #[serde(default)]
    pub replying: Vec<Replying>,
    #[serde(default)]
    pub moderation: ModerationState,
    /// The customer's newest message (conversations show it on the card, newest on top).
    #[serde(default)]
    pub last_text: Option<String>,
    pub last_replied_by: Option<Teammate>,
    /// The network's id of the team's latest delivered reply (what "delete our reply" takes).
    #[serde(default)]
    pub our_reply: Option<NetworkItemId>,
    /// The account the latest reply went out as, when not the ticket's own.
    #[serde(default)]
    pub last_replied_as: Option<AccountId>,
    /// The reply profile chosen on the card (see `core::profiles`).
    #[serde(default)]
    pub reply_as: Option<AccountId>,
    /// The reason the latest reply failed, until a reply is delivered again.
    pub last_failure: Option<FailureReason>,
    /// The first item was deleted on the network.
    pub first_item_deleted: bool,
    pub first_item_edited: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_customer_at: DateTime<Utc>,
    /// What the item is about (video, location), its rating, whether it is held: from the
    /// first item, shown on the card.
    #[serde(default)]
    pub context: ItemContext,
    /// Closed long enough to be archived (the retention job): its card says so and offers
    /// nothing, and the ticket is deleted soon after. A customer writing again, or a reopen,
    /// clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<Archived>,
    /// When the team's latest reply was delivered (auto-close counts from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reply_at: Option<DateTime<Utc>>,
    /// Closed automatically after this many days without a customer message (cleared when
    /// the ticket opens again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_closed: Option<u32>,
    /// The customer's texts and name were erased at their request: cards and thread copies
    /// show that instead.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub erased: bool,
    /// The customer is waiting for the team's answer since then (see `core::sla`): cleared
    /// by the team's reply or by closing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<SlaClock>,
    /// When the latest automatic reply was queued (one per conversation per period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_replied_at: Option<DateTime<Utc>>,
    /// The auto-assignment rule (its label) that made the current assignment; cleared by any
    /// assignment a teammate makes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_assigned: Option<String>,
}

/// A response the customer is waiting for, and where its SLA stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaClock {
    pub target: SlaTarget,
    /// When the unanswered customer message arrived.
    pub since: DateTime<Utc>,
    /// When the answer is due, and when to warn: set from the channel's SLA policy, in its
    /// business hours (`None`: no SLA applies to this ticket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_at: Option<DateTime<Utc>>,
    /// The warning was given (the channel pinged once).
    #[serde(default)]
    pub warned: bool,
    /// The target was missed (pinged once, recorded in the history).
    #[serde(default)]
    pub breached: bool,
}

/// When and why a ticket was archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archived {
    pub at: DateTime<Utc>,
    /// The retention period it outlived.
    pub after_days: u32,
}

impl TicketState {
    /// The customer's name as cards and notices show it.
    pub fn customer_name(&self) -> String {
        if self.erased {
            return super::text::ERASED_NAME.to_string();
        }
        self.customer
            .name
            .clone()
            .unwrap_or_else(|| super::text::UNKNOWN_AUTHOR.to_string())
    }
}

/// A stored ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    /// Optimistic-concurrency version, bumped by every commit.
    pub version: i64,
    pub state: TicketState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// From the customer, on the network.
    Customer,
    /// From a teammate, to the customer.
    Reply,
    /// From a teammate, internal only.
    Note,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Customer => "customer",
            MessageKind::Reply => "reply",
            MessageKind::Note => "note",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(MessageKind::Customer),
            "reply" => Some(MessageKind::Reply),
            "note" => Some(MessageKind::Note),
            _ => None,
        }
    }
}

/// Delivery state of a teammate's reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum Delivery {
    Queued,
    Delivered,
    Failed(FailureReason),
    /// Withdrawn by the teammate within the undo window (never sent).
    Cancelled,
}

/// Why a network call failed, in terms a teammate can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum FailureReason {
    /// The account's access token expired or was revoked.
    TokenExpired,
    /// The app lacks a permission for this action.
    PermissionDenied,
    /// The item replied to no longer exists (deleted, or hidden from us).
    ItemDeleted,
    /// The network kept rate-limiting us until we gave up.
    RateLimited,
    /// The network rejected the content (with its own message).
    Rejected(String),
    /// The reply window has closed (Messenger/Instagram 24 h, WhatsApp 24 h: a template is
    /// required).
    OutsideWindow,
    /// The customer cannot receive messages (blocked us, deleted the account, …).
    RecipientUnavailable,
    /// No access token is configured for the account.
    AccountNotConfigured,
    /// The network does not support this type of message (WhatsApp `131051`).
    UnsupportedMessageType,
    /// The reply is longer than the network takes for this conversation (an edit in the undo
    /// window can make it so after it was queued): `length` and `max` in bytes or characters.
    TooLong {
        length: usize,
        max: usize,
        bytes: bool,
    },
    /// The network takes no replies (or no such action) for this kind of item.
    NotSupported,
    /// Anything else, with the network's message.
    Other(String),
}

/// One message in a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub key: MessageKey,
    pub ticket_id: TicketId,
    pub kind: MessageKind,
    /// Customer items: their network id. Replies: the id the network gave once delivered.
    pub network_item_id: Option<NetworkItemId>,
    /// Teammate who wrote it (replies, notes).
    pub teammate: Option<Teammate>,
    /// The chat message this corresponds to (a teammate's thread message, or the mirror of a
    /// customer message in the card's thread), once known.
    pub chat: Option<ChatRef>,
    pub text: String,
    pub delivery: Option<Delivery>,
    pub edited: bool,
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
}

/// Who did something, for the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum Actor {
    Customer(CustomerId),
    Teammate(Teammate),
    System,
}

/// One line of a ticket's append-only history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub what: HistoryKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum HistoryKind {
    Opened,
    CustomerMessage {
        key: MessageKey,
    },
    CustomerEdited {
        key: MessageKey,
    },
    CustomerDeleted {
        key: MessageKey,
    },
    StatusChanged {
        from: Status,
        to: Status,
    },
    ReplyQueued {
        key: MessageKey,
    },
    ReplyDelivered {
        key: MessageKey,
        /// The account that answered, when not the ticket's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<AccountId>,
    },
    ReplyFailed {
        key: MessageKey,
        reason: FailureReason,
    },
    NoteAdded {
        key: MessageKey,
    },
    ReplyEdited {
        key: MessageKey,
    },
    ReplyCancelled {
        key: MessageKey,
    },
    Assigned {
        assignee: Option<Assignee>,
        note: Option<String>,
        /// The auto-assignment rule that made it (the actor is then `System`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
    },
    TagsChanged {
        added: Vec<String>,
        removed: Vec<String>,
    },
    TagsSuggested {
        tags: Vec<String>,
    },
    Moderated {
        action: Moderation,
    },
    /// The reply profile chosen on the card.
    ProfileChosen {
        account: AccountId,
    },
    ModerationFailed {
        action: Moderation,
        reason: FailureReason,
    },
    /// Archived by the retention job, closed for more than `after_days`.
    Archived {
        after_days: u32,
    },
    /// The customer's texts and name were erased (nothing else about them is recorded).
    Erased,
    /// Closed automatically: the team answered last, `after_days` ago.
    AutoClosed {
        after_days: u32,
    },
    /// An SLA clock reached its warning threshold (the channel was pinged once).
    SlaWarned {
        target: SlaTarget,
    },
    /// An SLA clock ran out before the team answered.
    SlaBreached {
        target: SlaTarget,
    },
    /// The team answered within the SLA target.
    SlaMet {
        target: SlaTarget,
    },
}

/// Which response an SLA clock measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaTarget {
    /// From the ticket's first customer message to the team's first reply.
    FirstResponse,
    /// From a customer message the team has not answered yet (after the first reply) to the
    /// team's next reply.
    NextResponse,
}

impl SlaTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            SlaTarget::FirstResponse => "first_response",
            SlaTarget::NextResponse => "next_response",
        }
    }
}

impl HistoryKind {
    /// A short stable code, stored in its own column for querying.
    pub fn code(&self) -> &'static str {
        match self {
            HistoryKind::Opened => "opened",
            HistoryKind::CustomerMessage { .. } => "customer_message",
            HistoryKind::CustomerEdited { .. } => "customer_edited",
            HistoryKind::CustomerDeleted { .. } => "customer_deleted",
            HistoryKind::StatusChanged { .. } => "status_changed",
            HistoryKind::ReplyQueued { .. } => "reply_queued",
            HistoryKind::ReplyDelivered { .. } => "reply_delivered",
            HistoryKind::ReplyFailed { .. } => "reply_failed",
            HistoryKind::NoteAdded { .. } => "note_added",
            HistoryKind::ReplyEdited { .. } => "reply_edited",
            HistoryKind::ReplyCancelled { .. } => "reply_cancelled",
            HistoryKind::Assigned { .. } => "assigned",
            HistoryKind::TagsChanged { .. } => "tags_changed",
            HistoryKind::TagsSuggested { .. } => "tags_suggested",
            HistoryKind::Moderated { .. } => "moderated",
            HistoryKind::ProfileChosen { .. } => "profile_chosen",
            HistoryKind::ModerationFailed { .. } => "moderation_failed",
            HistoryKind::Archived { .. } => "archived",
            HistoryKind::Erased => "erased",
            HistoryKind::AutoClosed { .. } => "auto_closed",
            HistoryKind::SlaWarned { .. } => "sla_warned",
            HistoryKind::SlaBreached { .. } => "sla_breached",
            HistoryKind::SlaMet { .. } => "sla_met",
        }
    }
}

/// A comment ticket as the renderers' tests use it (fixed ids and times, so snapshots hold).
#[cfg(test)]
pub(crate) fn sample_ticket(status: Status, first_text: &str) -> Ticket {
    use chrono::TimeZone;
    let at = Utc.with_ymd_and_hms(2026, 3, 14, 9, 26, 53).unwrap();
    Ticket {
        id: super::TicketId(42),
        version: 3,
        state: TicketState {
            network: super::Network::Facebook,
            account: super::AccountId::new("1001"),
            conversation_key: "facebook:1001:1001_77:9001".into(),
            customer: super::Customer {
                id: super::CustomerId::new("9001"),
                name: Some("Jane Doe".into()),
            },
            kind: ItemKind::Comment,
            first_item: super::NetworkItemId::new("1001_77_5"),
            first_text: first_text.into(),
            permalink: Some("https://www.facebook.com/1001/posts/77?comment_id=5".into()),
            reply_to: super::NetworkItemId::new("1001_77_5"),
            status,
            assignee: None,
            tags: vec![],
            suggested_tags: vec![],
            replying: vec![],
            moderation: Default::default(),
            last_text: None,
            last_replied_by: None,
            our_reply: None,
            last_replied_as: None,
            reply_as: None,
            last_failure: None,
            first_item_deleted: false,
            first_item_edited: false,
            created_at: at,
            updated_at: at,
            last_customer_at: at,
            context: Default::default(),
            archived: None,
            last_reply_at: None,
            auto_closed: None,
            auto_assigned: None,
            erased: false,
            auto_replied_at: None,
            sla: None,
        },
    }
}
