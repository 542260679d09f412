//! Every sentence a user reads, in one place, so wording is reviewed together and pinned by
//! snapshot tests. Chat surfaces pass a `mention` function for how they write a teammate.
//!
//! Customer text is data: a function whose sentence embeds words someone else wrote (a
//! customer's name or message, a network's error text, a saved reply, a tag) returns a
//! [`Rich`] that marks those words, and the surface renderer escapes them (see
//! [`super::rich`]). Functions returning `String` hold only Switchboard's wording (and numbers,
//! ids, mentions).

use super::action::CardAction;
use super::ids::{Network, Teammate};
use super::model::{Assignee, FailureReason, ItemKind, SlaTarget, Status};
use super::rich::Rich;

pub fn network_name(network: Network) -> &'static str {
    match network {
        Network::Facebook => "Facebook",
        Network::Instagram => "Instagram",
        Network::Whatsapp => "WhatsApp",
        Network::Youtube => "YouTube",
        Network::Google => "Google",
        Network::X => "X",
        Network::Linkedin => "LinkedIn",
        Network::Tiktok => "TikTok",
    }
}

pub fn item_kind(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Comment => "comment",
        ItemKind::VisitorPost => "visitor post",
        ItemKind::Mention => "mention",
        ItemKind::DirectMessage => "message",
        ItemKind::Review => "review",
    }
}

/// "New Facebook comment on Acme Coffee"
pub fn card_headline(network: Network, kind: ItemKind, account_name: &str) -> String {
    format!(
        "{} {} on {}",
        network_name(network),
        item_kind(kind),
        account_name
    )
}

pub fn status(status: Status) -> &'static str {
    match status {
        Status::Unread => "Unread",
        Status::Read => "Read",
        Status::Closed => "Closed",
    }
}

pub fn button(action: CardAction) -> &'static str {
    match action {
        CardAction::Close => "Close",
        CardAction::Reopen => "Reopen",
        CardAction::MarkRead => "Mark read",
        CardAction::MarkUnread => "Mark unread",
        CardAction::AssignToMe => "Assign to me",
        CardAction::Unassign => "Unassign",
        CardAction::AssignPerson => "Assign to…",
        CardAction::AssignTeam => "Assign to team…",
        CardAction::EditTags => "Tags",
        CardAction::AcceptTag => "Add tag",
        CardAction::Reply => "Reply",
        CardAction::SavedReply => "Saved reply…",
        CardAction::Hide => "Hide",
        CardAction::Unhide => "Unhide",
        CardAction::Delete => "Delete",
        CardAction::Like => "Like",
        CardAction::Block => "Block author",
        CardAction::Approve => "Approve",
        CardAction::Reject => "Reject",
        CardAction::BanAuthor => "Ban author",
        CardAction::DeleteReply => "Delete our reply",
        CardAction::Mute => "Mute author",
        CardAction::ChooseProfile => "Reply as…",
    }
}

pub const NOBODY: &str = "—";

/// The label of a card's permalink button.
pub fn view_on(network: Network) -> String {
    format!("View on {}", network_name(network))
}
pub const DELETED_MARK: &str = "deleted by the customer";
pub const EDITED_MARK: &str = "edited";
pub const UNKNOWN_AUTHOR: &str = "Someone";

/// The one-line state summary shown on every card. Tags are teammates' free text: theirs.
pub fn status_line(
    status: Status,
    assignee: Option<&Assignee>,
    tags: &[String],
    last_replied_by: Option<&Teammate>,
    mention: &dyn Fn(&Teammate) -> String,
) -> Rich {
    let line = Rich::ours(format!("*{}* · Assignee: ", self::status(status)));
    let line = match assignee {
        Some(Assignee::Person(t)) => line.then(mention(t)),
        Some(Assignee::Team(name)) => line.then("team ").then_theirs(name),
        None => line.then(NOBODY),
    };
    let tags = if tags.is_empty() {
        Rich::ours(NOBODY)
    } else {
        Rich::join(tags.iter().map(Rich::theirs), ", ")
    };
    let replied = last_replied_by
        .map(mention)
        .unwrap_or_else(|| NOBODY.to_string());
    line.then(" · Tags: ")
        .then_rich(tags)
        .then(format!(" · Last replied by: {replied}"))
}

/// [`status_line`], naming the account the last reply went out as when it was not the
/// ticket's own ("Last replied by @Ana as *Acme Support*").
pub fn status_line_as(
    status: Status,
    assignee: Option<&Assignee>,
    tags: &[String],
    last_replied_by: Option<&Teammate>,
    replied_as: Option<&str>,
    mention: &dyn Fn(&Teammate) -> String,
) -> Rich {
    let line = status_line(status, assignee, tags, last_replied_by, mention);
    match (last_replied_by, replied_as) {
        (Some(_), Some(name)) => line.then_rich(replied_as_line(name)),
        _ => line,
    }
}

/// Which account replies on the card: "Replying as *Acme Support*", and why when it cannot
/// be changed (the item is that account's own). The name is the network's: escaped.
pub fn replying_as(name: &str, fixed: bool) -> Rich {
    let line = Rich::ours(":bust_in_silhouette: Replying as *")
        .then_theirs(name)
        .then("*");
    if fixed {
        line.then(" (it is that account's post or conversation: only it can answer)")
    } else {
        line
    }
}

/// " as *Acme Support*" after who replied last on the card's status line.
fn replied_as_line(name: &str) -> Rich {
    Rich::ours(" as *").then_theirs(name).then("*")
}

/// The collision notice: "<@U1> is replying…", "<@U1> and <@U2> are replying…".
pub fn replying(who: &[Teammate], mention: &dyn Fn(&Teammate) -> String) -> Option<String> {
    let names: Vec<String> = who.iter().map(mention).collect();
    match names.as_slice() {
        [] => None,
        [one] => Some(format!(":pencil2: {one} is replying…")),
        [init @ .., last] => Some(format!(
            ":pencil2: {} and {last} are replying…",
            init.join(", ")
        )),
    }
}

/// The label of a suggested-tag button.
pub fn suggested_tag(tag: &str) -> String {
    format!("+ {tag}")
}

pub const SUGGESTED_TAGS: &str = "Suggested tags:";

// Editors (modals). Slack caps titles and submit/close labels at 24 characters.

pub const REPLY_MODAL_TITLE: &str = "Reply to the customer";
pub const REPLY_MODAL_LABEL: &str = "Your reply";
pub const REPLY_MODAL_HINT: &str = "Sent to the customer on the network, in the card's thread too.";
pub const TAGS_MODAL_TITLE: &str = "Tags";
pub const TAGS_KNOWN_LABEL: &str = "Tags";
pub const TAGS_KNOWN_PLACEHOLDER: &str = "Choose tags";
pub const TAGS_NEW_LABEL: &str = "New tags";
pub const TAGS_NEW_PLACEHOLDER: &str = "new tags, comma-separated";
pub const SAVED_REPLY_NEW_TITLE: &str = "New saved reply";
pub const SAVED_REPLY_EDIT_TITLE: &str = "Edit saved reply";
pub const SAVED_REPLY_NAME_LABEL: &str = "Name";
pub const SAVED_REPLY_BODY_LABEL: &str = "Text";
pub const SEND: &str = "Send";
pub const SAVE: &str = "Save";
pub const CANCEL: &str = "Cancel";
pub const USE: &str = "Use";
pub const EDIT: &str = "Edit";
pub const DELETE: &str = "Delete";
pub const NEW_SAVED_REPLY: &str = "New saved reply";

/// Heading of a saved-reply search answer; `query` is shown as typed.
pub fn saved_reply_results(query: &str, shown: usize, total: usize) -> Rich {
    let query = query.trim();
    let what = if query.is_empty() {
        Rich::ours("Saved replies")
    } else {
        Rich::ours("Saved replies matching “")
            .then_theirs(query)
            .then("”")
    };
    match (shown, total) {
        (_, 0) if query.is_empty() => Rich::ours("There are no saved replies yet."),
        (_, 0) => Rich::ours("No saved replies match “")
            .then_theirs(query)
            .then("”."),
        (s, t) if s < t => what.then(format!(" (first {s} of {t}):")),
        (_, t) => what.then(format!(" ({t}):")),
    }
}

/// The confirmation shown before a saved reply is deleted.
pub fn saved_reply_delete_confirm(name: &str) -> Rich {
    Rich::ours("Delete the saved reply *")
        .then_theirs(name)
        .then("* for the whole team?")
}

/// Under a saved-reply search run outside a card: how to use one on a ticket.
pub const SAVED_REPLY_USE_FROM_CARD: &str =
    "To send one, pick it from a card's “Saved reply…” menu.";

/// What a network calls the account Switchboard acts as ("Page", "channel", …).
pub fn account_noun(network: Network) -> &'static str {
    match network {
        Network::Facebook => "Page",
        Network::Instagram => "account",
        Network::Whatsapp => "number",
        Network::Youtube => "channel",
        Network::Google => "location",
        Network::X => "account",
        Network::Linkedin => "page",
        Network::Tiktok => "account",
    }
}

/// What the customer must do once a conversation's reply window has closed.
fn after_the_window(network: Network) -> &'static str {
    match network {
        Network::Whatsapp => "WhatsApp takes only an approved template now",
        _ => "the customer must write again",
    }
}

/// Plain words for why a reply (or a moderation) did not go through on `network`. What the
/// network said is theirs.
pub fn failure_reason(network: Network, reason: &FailureReason) -> Rich {
    let name = network_name(network);
    let noun = account_noun(network);
    match reason {
        FailureReason::TokenExpired => Rich::ours(format!(
            "the {name} {noun}'s access token has expired or was revoked; renew it (or reconnect the {noun}) and try again"
        )),
        FailureReason::PermissionDenied => Rich::ours(format!(
            "the app is missing a permission on the {name} {noun} needed for this"
        )),
        FailureReason::ItemDeleted => Rich::ours(format!(
            "the item was deleted (or hidden) on {name}, so there is nothing to act on"
        )),
        FailureReason::RateLimited => Rich::ours(format!(
            "{name} kept rate-limiting us and we gave up; try again in a few minutes"
        )),
        FailureReason::Rejected(msg) => Rich::ours(format!("{name} refused it: ")).then_theirs(msg),
        // The only network that weighs what it counts (`core::x_length`).
        FailureReason::TooLong {
            length,
            max,
            bytes: false,
        } if network == Network::X => Rich::ours(format!(
            "the reply is {} characters as X counts them (a link counts as 23, an emoji or a CJK character as 2); X takes at most {}, so shorten it and send it again",
            count(*length),
            count(*max)
        )),
        FailureReason::TooLong { length, max, bytes } => {
            let unit = if *bytes { "bytes" } else { "characters" };
            Rich::ours(format!(
                "the reply is {} {unit}; this conversation takes at most {} {unit}, so shorten it and send it again",
                count(*length),
                count(*max)
            ))
        }
        FailureReason::OutsideWindow => Rich::ours(format!(
            "the reply window has closed (the customer's last message is too old); {}",
            after_the_window(network)
        )),
        FailureReason::RecipientUnavailable => Rich::ours(
            "the customer cannot receive messages right now (they may have blocked the account)",
        ),
        FailureReason::AccountNotConfigured => Rich::ours(format!(
            "this {name} {noun} is not set up in Switchboard (no access token), so nothing was sent"
        )),
        FailureReason::NotSupported => Rich::ours(format!(
            "{name} does not take this from Switchboard for this kind of item"
        )),
        FailureReason::Other(msg) => {
            Rich::ours(format!("an unexpected error from {name}: ")).then_theirs(msg)
        }
        FailureReason::UnsupportedMessageType => {
            Rich::ours("WhatsApp does not support this type of message (error 131051)")
        }
    }
}

/// Posted in the card's thread when a reply fails for good. `author` is a mention.
pub fn reply_failed(author: &str, network: Network, reason: &FailureReason) -> Rich {
    Rich::ours(format!(
        ":warning: {author}, your reply was *not delivered*: "
    ))
    .then_rich(failure_reason(network, reason))
    .then(".")
}

/// In the thread when an automatic reply (see `core::autoreply`) was not delivered.
pub fn auto_reply_failed(network: Network, reason: &FailureReason) -> Rich {
    Rich::ours(":warning: The automatic reply was *not delivered*: ")
        .then_rich(failure_reason(network, reason))
        .then(".")
}

/// The card's warning line while the latest reply has failed.
pub fn card_failure(network: Network, reason: &FailureReason) -> Rich {
    Rich::ours(":warning: Last reply failed: ")
        .then_rich(failure_reason(network, reason))
        .then(".")
}

/// A customer message (`text`: what they wrote, or our line standing for it) mirrored into the
/// card's thread, and shown on the card.
pub fn customer_message(author: &str, text: Rich, edited: bool, deleted: bool) -> Rich {
    let line = Rich::ours("*").then_theirs(author).then("*: ");
    if deleted {
        return line
            .then("~")
            .then_rich(text)
            .then(format!("~ _({DELETED_MARK})_"));
    }
    let line = line.then_rich(text);
    if edited {
        line.then(format!(" _({EDITED_MARK})_"))
    } else {
        line
    }
}

/// [`customer_message`] of words the customer wrote.
pub fn thread_customer_message(author: &str, text: &str, edited: bool, deleted: bool) -> Rich {
    customer_message(author, Rich::theirs(text), edited, deleted)
}

/// Plain-text fallback of a card (notifications, screen readers).
pub fn card_fallback(headline: &str, author: &str, text: Rich) -> Rich {
    Rich::ours("New ")
        .then_theirs(headline)
        .then(" from ")
        .then_theirs(author)
        .then(": ")
        .then_rich(text)
}

/// Answer to `/<command>` and `/<command> help`.
pub fn command_help(command: &str) -> String {
    format!(
        "*Switchboard* mirrors your social accounts' comments, messages and reviews here as cards.\n\
         • Use the card's buttons to mark it read or unread, close or reopen it, assign it, tag it or reply.\n\
         • Write in the card's thread to reply to the customer on the network (unless the channel is in explicit mode).\n\
         • Start a thread message with `note:` to keep it internal.\n\
         `{command} queue unassigned|team|mine|done` lists a queue; `{command} away on|off` keeps round-robin from giving you new tickets while you are away.\n\
         `{command} close|open|read|unread <filters>` acts on every matching ticket; filters: \
         `status:unread,read,closed` `assignee:me|none|any|team:<name>|@someone` `network:facebook|instagram|whatsapp|youtube|google|tiktok|x|linkedin` `account:<id>` `type:public|private`.\n\
         `{command} reply <words>` finds saved replies; `{command} reply new` creates one.\n\
         `{command} stats [7d|30d|YYYY-MM-DD..YYYY-MM-DD] [network:<name>] [team:<name>]` shows this channel's statistics (only you see them).\n\
         Admins: `{command} connect <network>`, `{command} accounts`, `{command} disconnect <id>`; \
         `{command} erase #<ticket>` erases that ticket's customer (name and messages).\n\
         `{command} help` shows this message."
    )
}

/// What a refused teammate is told (ephemeral).
pub fn refused(what: super::permission::Permission) -> String {
    use super::permission::Permission::*;
    let action = match what {
        Reply => "reply to customers",
        Close => "close or reopen tickets",
        Assign => "assign tickets",
        SavedReplies => "create, edit or delete saved replies",
        Moderate => "hide, delete, like or block on the network",
        Bulk => "mark tickets read or unread in bulk",
    };
    format!(
        ":no_entry: You are not allowed to {action} here (`{}` in Switchboard's configuration). Nothing was changed.",
        what.config_key()
    )
}

/// A refused bulk read / unread: `permissions.bulk`, which is the `close` list when unset.
pub fn refused_bulk(bulk_set: bool) -> String {
    if bulk_set {
        return refused(super::permission::Permission::Bulk);
    }
    ":no_entry: You are not allowed to mark tickets read or unread in bulk here (`permissions.bulk`, which is `permissions.close` while it is not set, in Switchboard's configuration). Nothing was changed.".into()
}

/// A command about tickets run in a channel no account or routing rule sends tickets to.
pub const NOT_AN_INBOX_CHANNEL: &str = ":no_entry: This channel is not an inbox: no account or routing rule sends tickets here, so there is nothing to list or change. Run the command in the channel whose tickets you mean. Nothing was changed.";

/// A command or click about a ticket that is routed to another channel.
pub fn ticket_not_here(ticket: i64) -> String {
    format!(
        ":no_entry: Ticket #{ticket} is not in this channel: act on it from the channel its card is in. Nothing was changed."
    )
}

/// The note a teammate wrote for the assignee, as typed on their surface.
fn with_note(line: Rich, note: Option<&str>) -> Rich {
    match note.map(str::trim).filter(|n| !n.is_empty()) {
        Some(note) => line.then("\n> ").then_native(note),
        None => line,
    }
}

/// Direct message to a teammate a ticket was assigned to. `by` is a mention.
pub fn assigned_dm(by: &str, headline: &str, link: &str, note: Option<&str>) -> Rich {
    let line = Rich::ours(format!(":bust_in_silhouette: {by} assigned you a ticket: "))
        .then_link(link, headline);
    with_note(line, note)
}

/// Thread notice when a ticket is assigned to a team. `by` and `group_mention` are mentions.
pub fn assigned_team(by: &str, group_mention: &str, note: Option<&str>) -> Rich {
    let line = Rich::ours(format!(
        ":busts_in_silhouette: {by} assigned this ticket to {group_mention}."
    ));
    with_note(line, note)
}

/// Direct message to the assignee (or notice to the team) when the customer writes again.
pub fn customer_replied_dm(author: &str, headline: &str, link: &str, text: &str) -> Rich {
    Rich::ours(":speech_balloon: ")
        .then_theirs(author)
        .then(" wrote again on ")
        .then_link(link, headline)
        .then(":\n")
        .then_quote(text)
}

/// The thread copy of a reply sent from the Reply modal: exactly what the customer was sent
/// (a saved reply's variables filled in with their words), so shown literally. `who` is a
/// mention.
pub fn modal_reply_copy(who: &str, text: &str) -> Rich {
    Rich::ours(format!("{who} replied: ")).then_theirs(text)
}

/// A bulk action's result.
pub fn bulk_done(action: CardAction, changed: usize, matched: usize) -> String {
    let verb = match action {
        CardAction::Close => "Closed",
        CardAction::Reopen => "Reopened",
        CardAction::MarkRead => "Marked read",
        CardAction::MarkUnread => "Marked unread",
        _ => "Changed",
    };
    let noun = if changed == 1 { "ticket" } else { "tickets" };
    if changed == matched {
        format!("{verb} {changed} {noun}.")
    } else {
        format!(
            "{verb} {changed} {noun} ({} already were).",
            matched - changed
        )
    }
}

/// A bulk action accepted, running in the background.
pub fn bulk_started(matched: usize) -> String {
    format!("Working on {matched} matching tickets…")
}

/// No ticket matched a filter.
pub const NO_MATCH: &str = "No ticket matches that filter.";

/// The heading of a queue listing (`name` as typed).
pub fn queue_heading(name: &str, shown: usize, more: bool) -> Rich {
    let heading = Rich::ours("*").then_theirs(name);
    if shown == 0 {
        return heading.then("*: nothing here.");
    }
    let more = if more {
        " (newest first; more not shown)"
    } else {
        ""
    };
    heading.then(format!("*: {shown} tickets{more}"))
}

/// The Reply modal was submitted empty.
pub const REPLY_EMPTY: &str = "Write a reply first.";

/// A click or command about a ticket that does not exist (any more).
pub const NO_SUCH_TICKET: &str = "That ticket no longer exists.";

/// A reply longer than its network accepts for this kind of conversation (see
/// `core::limits`): the teammate is told the limit and what it counts.
pub fn reply_too_long(
    network: Network,
    kind: ItemKind,
    length: usize,
    limit: super::limits::ReplyLimit,
) -> String {
    use super::limits::LengthUnit;
    let network = network_name(network);
    // "an X mention": the letter is read "ex".
    let article = if network.starts_with(['A', 'E', 'I', 'O', 'U']) || network == "X" {
        "an"
    } else {
        "a"
    };
    let what = format!("a reply to {article} {network} {}", item_kind(kind));
    match limit.unit {
        LengthUnit::Chars => format!(
            "The reply is {} characters; {what} can have at most {} characters. Nothing was sent.",
            count(length),
            count(limit.max)
        ),
        LengthUnit::Bytes => format!(
            "The reply is {} bytes; {what} can have at most {} bytes of UTF-8 text (an emoji \
             counts as 4, an accented letter as 2). Nothing was sent.",
            count(length),
            count(limit.max)
        ),
        LengthUnit::XWeighted => format!(
            "The reply is {} characters as {network} counts them (every link counts as 23, an \
             emoji or a CJK character as 2); {what} can have at most {}. Nothing was sent.",
            count(length),
            count(limit.max)
        ),
    }
}

/// `/<command> assign` without a usable ticket or assignee.
pub fn assign_usage(command: &str) -> String {
    format!(
        "Use `{command} assign #<ticket> me|@someone|team:<name>|none [note for the assignee]`."
    )
}

/// `/<command> assign` accepted.
pub fn assign_done(ticket: i64) -> String {
    format!("Assigning ticket #{ticket}…")
}

/// The card's reply-window line.
pub fn window_left(left: chrono::Duration, human_agent: bool) -> String {
    let hours = left.num_hours();
    let left = if hours >= 1 {
        format!("{hours} h")
    } else {
        format!("{} min", left.num_minutes().max(1))
    };
    if human_agent {
        format!(":hourglass: Reply window: {left} left (human agent)")
    } else {
        format!(":hourglass: Reply window: {left} left")
    }
}

/// `erase` without a ticket number.
pub const ERASE_USAGE: &str = "Usage: `erase #<ticket>` erases that ticket's customer (their name and messages, on every ticket of theirs on that network). Admins only.";

/// The answer to an accepted `erase` command.
pub fn erase_started(ticket: i64) -> String {
    format!(
        ":wastebasket: Erasing the customer of #{ticket}: their name and messages are removed from Switchboard, and their cards and thread copies are edited to say so. Only the fact that an erasure happened is kept."
    )
}

/// What is shown instead of an erased customer's name.
pub const ERASED_NAME: &str = "(erased)";

/// What is stored and shown instead of an erased customer's messages.
pub const ERASED_TEXT: &str = "[erased at the customer's request]";

/// The card's line of a ticket closed automatically.
pub fn auto_closed(after_days: u32) -> String {
    let days = if after_days == 1 { "day" } else { "days" };
    format!(
        ":hourglass: Closed automatically: the team answered last and the customer has not written for {after_days} {days}. A new message from them reopens it."
    )
}

/// The weekly report's title (the chart's file title).
pub fn weekly_report_title(first: chrono::NaiveDate, last: chrono::NaiveDate) -> String {
    format!(
        "Switchboard weekly report {} – {}",
        first.format("%a %-d %b"),
        last.format("%a %-d %b %Y")
    )
}

/// The weekly report's message: its heading, the week's statistics (see [`stats_report`])
/// and what the chart's colours mean.
pub fn weekly_report(
    first: chrono::NaiveDate,
    last: chrono::NaiveDate,
    stats: &super::stats::TeamStats,
    name: &dyn Fn(&Teammate) -> Option<Rich>,
) -> Rich {
    let legend: Vec<String> = stats
        .by_network
        .iter()
        .map(|(n, _)| format!("{} {}", colour_square(*n), network_name(*n)))
        .collect();
    let mut out = Rich::ours(format!(
        ":bar_chart: *Weekly report* · {} – {}\n",
        first.format("%a %-d %b"),
        last.format("%a %-d %b %Y")
    ))
    .then_rich(stats_report(stats, StatsScope::default(), name, 10));
    if !legend.is_empty() {
        out = out.then(format!(
            "\nChart: new tickets per day ({}); the line is the first-response median per day.",
            legend.join(", ")
        ));
    }
    out
}

/// The square emoji nearest a network's colour on the chart.
fn colour_square(n: Network) -> &'static str {
    match n {
        Network::Facebook | Network::Linkedin => ":large_blue_square:",
        Network::Instagram => ":large_purple_square:",
        Network::Whatsapp | Network::Tiktok => ":large_green_square:",
        Network::X => ":black_large_square:",
        Network::Youtube => ":large_red_square:",
        Network::Google => ":large_yellow_square:",
    }
}

/// `{next_open}` in an out-of-hours reply when the schedule opens on no day within a year.
pub const NEXT_OPEN_UNKNOWN: &str = "as soon as we can";

/// The thread copy of an automatic reply: exactly what the customer was sent.
pub fn auto_reply_copy(text: &str) -> Rich {
    Rich::ours(":robot_face: Automatic reply: ").then_theirs(text)
}

/// What an SLA clock measures, as cards and alerts name it.
fn sla_target(target: SlaTarget) -> &'static str {
    match target {
        SlaTarget::FirstResponse => "First response",
        SlaTarget::NextResponse => "Next response",
    }
}

/// The card's SLA line; `when` is the due time as the surface shows it (its date markup).
pub fn sla_line(target: SlaTarget, standing: &super::sla::Standing, when: &str) -> Rich {
    use super::sla::Standing;
    let what = sla_target(target);
    let head = match standing {
        Standing::OnTrack { .. } => format!(":stopwatch: {what} due "),
        Standing::Warned { .. } => format!(":warning: {what} due soon: "),
        Standing::Breached { .. } => format!(":red_circle: {what} overdue: it was due "),
    };
    Rich::ours(head).then_native(when).then(".")
}

/// The SLA warning or breach, in the card's thread and the channel. `group` is a mention of
/// who is pinged (empty: nobody in particular), `link` the card's link, `when` the due time
/// as the surface shows it.
pub fn sla_alert(
    target: SlaTarget,
    breached: bool,
    author: &str,
    ticket: super::TicketId,
    group: &str,
    link: &str,
    when: &str,
) -> Rich {
    let what = sla_target(target).to_lowercase();
    let head = if breached {
        format!(":red_circle: {group}SLA missed: the {what} to ")
    } else {
        format!(":warning: {group}SLA warning: the {what} to ")
    };
    let tail = if breached {
        (" was due ", " and nobody has answered yet.")
    } else {
        (" is due ", ".")
    };
    Rich::ours(head)
        .then_theirs(author)
        .then(" on ")
        .then_link(link, format!("ticket #{}", ticket.0))
        .then(tail.0)
        .then_native(when)
        .then(tail.1)
}

/// The card's line once the retention job archived its ticket.
pub fn archived(after_days: u32) -> String {
    format!(
        ":file_cabinet: Archived: closed for more than {after_days} days. Switchboard no longer \
         keeps this ticket or its history (retention policy); a new message from the customer \
         opens a new ticket."
    )
}

/// The card's line when the window has closed.
pub fn window_closed(network: Network) -> String {
    format!(
        ":no_entry_sign: Reply window closed: {}.",
        after_the_window(network)
    )
}

/// A reply refused because the network takes none for this kind of item.
pub const REPLY_NOT_SUPPORTED: &str = ":no_entry_sign: This network does not take replies to this kind of item from Switchboard, so nothing was sent.";

/// A reply refused because the window has closed.
pub fn reply_outside_window(network: Network) -> String {
    format!(
        ":no_entry_sign: The {} reply window has closed (the customer's last message is too old), so nothing was sent: {}.",
        network_name(network),
        after_the_window(network)
    )
}

/// What moderation has done, for the card ("Hidden from the public · Liked").
pub fn moderation_line(m: &super::model::ModerationState) -> Option<String> {
    let mut parts = Vec::new();
    if m.deleted {
        parts.push("Deleted on the network");
    } else if m.rejected {
        parts.push("Rejected: kept from the public");
    } else if m.hidden {
        parts.push("Hidden from the public");
    } else if m.approved {
        parts.push("Approved: now public");
    }
    if m.liked {
        parts.push("Liked");
    }
    if m.author_blocked {
        parts.push("Author blocked");
    }
    if m.author_muted {
        parts.push("Author muted");
    }
    if m.reply_deleted.is_some() {
        parts.push("Our reply deleted");
    }
    (!parts.is_empty()).then(|| format!(":shield: {}", parts.join(" · ")))
}

fn moderation_verb(action: super::model::Moderation) -> &'static str {
    use super::model::Moderation::*;
    match action {
        Hide => "Hiding",
        Unhide => "Unhiding",
        Delete => "Deleting",
        Like => "Liking",
        Block => "Blocking the author",
        Approve => "Approving",
        Reject => "Rejecting",
        BanAuthor => "Banning the author",
        DeleteReply => "Deleting our reply",
        Mute => "Muting the author",
    }
}

/// The card's warning when the network refused a moderation action.
pub fn moderation_failed(
    network: Network,
    action: super::model::Moderation,
    reason: &FailureReason,
) -> Rich {
    Rich::ours(format!(":warning: {} failed: ", moderation_verb(action)))
        .then_rich(failure_reason(network, reason))
        .then(".")
}

/// The confirmation asked before deleting.
pub const DELETE_CONFIRM_TITLE: &str = "Delete this comment?";
pub const DELETE_CONFIRM_TEXT: &str =
    "It is removed from the network for everyone. This cannot be undone.";
pub const DELETE_CONFIRM_OK: &str = "Delete";
pub const DELETE_CONFIRM_DENY: &str = "Keep it";

/// The confirmation asked before deleting the team's reply.
pub const DELETE_REPLY_CONFIRM_TITLE: &str = "Delete our reply?";
pub const DELETE_REPLY_CONFIRM_TEXT: &str =
    "The team's latest reply is removed from the network for everyone. This cannot be undone.";

/// The confirmation asked before banning an author.
pub const BAN_CONFIRM_TITLE: &str = "Ban the author?";
pub const BAN_CONFIRM_TEXT: &str =
    "The comment is rejected and its author's future comments are hidden from the channel.";
pub const BAN_CONFIRM_OK: &str = "Ban";

/// One attachment as a line of the customer's message. The line becomes part of what the
/// customer wrote (stored with it, escaped like it on every surface), so it is plain text with
/// no markup: the URL as is, which every surface turns into a link by itself.
pub fn attachment(a: &super::model::Attachment) -> String {
    let label = match &a.caption {
        Some(c) => format!("{}: {c}", a.kind),
        None => a.kind.clone(),
    };
    match (&a.url, &a.media_id) {
        (Some(url), _) => format!("📎 {label} — {url}"),
        (None, Some(id)) => format!("📎 {label} (media {id}, open it on the network)"),
        (None, None) => format!("📎 {label}"),
    }
}

/// Posted once in an account's channel when its token stops working.
pub fn token_alert(network: Network, account_name: &str) -> Rich {
    Rich::ours(format!(
        ":rotating_light: The {} access token for *",
        network_name(network)
    ))
        .then_theirs(account_name)
        .then("* has expired or was revoked: replies and moderation are failing until it is renewed in Switchboard's configuration. (This alert is posted once.)")
}

/// Posted in a channel that works again after some cards could not be posted to it; the
/// cards follow. Ticket numbers only: nothing a customer wrote.
pub fn cards_posted_late(tickets: &[super::TicketId]) -> String {
    let list = tickets
        .iter()
        .map(|t| format!("#{t}"))
        .collect::<Vec<_>>()
        .join(", ");
    match tickets.len() {
        1 => {
            format!(":warning: 1 ticket could not be posted earlier: {list}. Its card follows now.")
        }
        n => format!(
            ":warning: {n} tickets could not be posted earlier: {list}. Their cards follow now."
        ),
    }
}

// ---- connecting accounts (OAuth) -----------------------------------------------------------

pub const OAUTH_DENIED: &str =
    "Access was not granted, so nothing was connected. Run the connect command again to retry.";
pub const OAUTH_REFUSED: &str =
    "The provider refused the request, so nothing was connected. Run the connect command again.";
pub const OAUTH_INCOMPLETE: &str =
    "This link is incomplete. Start again from the connect command in Slack or Discord.";
pub const OAUTH_NOT_CONFIGURED: &str = "This server is not set up to connect these accounts from chat (the network's section, such as [google], server.public_url or SWITCHBOARD_SECRET_KEY is missing).";
pub const OAUTH_EXPIRED: &str =
    "This link has expired (links last 10 minutes). Run the connect command again.";
pub const OAUTH_BAD_STATE: &str =
    "This link is not valid here. Start again from the connect command in Slack or Discord.";
pub const OAUTH_REPLAYED: &str =
    "This link was already used. Run the connect command again to connect another account.";
pub const OAUTH_TRY_AGAIN: &str = "Switchboard could not save the connection just now, so nothing was connected. In a minute, open the link again (it works until it expires) or run the connect command again.";
pub const OAUTH_EXCHANGE_FAILED: &str =
    "The provider did not confirm the connection. Run the connect command again.";
pub const OAUTH_SCOPE_MISSING: &str = "The permission Switchboard needs was unticked on the consent screen. Run the connect command again and keep it ticked.";
pub const OAUTH_NOTHING_TO_CONNECT: &str = "The account you signed in with manages nothing Switchboard can connect here (no channel, page or location).";
pub const OAUTH_CONNECTED_PAGE: &str = "Done: the account is connected and its conversations will appear in the channel. You can close this tab.";

/// In the channel an account was connected from: "✅ YouTube channel *Acme* connected — its
/// comments come here". Names are the network's: escaped.
pub fn account_connected(network: Network, names: &[String]) -> Rich {
    let (what, items) = connected_what(network);
    let mut line = Rich::ours(format!("✅ {what} "));
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            line = line.then(", ");
        }
        line = line.then("*").then_theirs(name).then("*");
    }
    line.then(format!(" connected — its {items} come here"))
}

/// What a connected account of `network` is, and what of it comes to the channel.
fn connected_what(network: Network) -> (&'static str, &'static str) {
    match network {
        Network::Youtube => ("YouTube channel", "comments"),
        Network::Google => ("Google Business Profile location", "reviews"),
        Network::Facebook => ("Facebook Page", "comments and messages"),
        Network::Instagram => ("Instagram account", "comments and messages"),
        Network::Whatsapp => ("WhatsApp number", "messages"),
        Network::X => ("X account", "mentions and messages"),
        Network::Linkedin => ("LinkedIn page", "comments and mentions"),
        Network::Tiktok => ("TikTok account", "comments"),
    }
}

/// The word `connect` takes for `network` (its id in filters and the configuration).
pub fn connect_word(network: Network) -> &'static str {
    network.as_str()
}

/// A Discord choice's label for connecting `network`: "YouTube channel (comments)".
pub fn connect_choice(network: Network) -> String {
    let (what, items) = connected_what(network);
    format!("{what} ({items})")
}

/// How `connect` is used, naming the networks this server connects from chat (none: it is
/// not set up for it).
pub fn connect_usage(connectable: &[Network]) -> String {
    if connectable.is_empty() {
        return OAUTH_NOT_CONFIGURED.to_string();
    }
    let choices: Vec<String> = connectable
        .iter()
        .map(|n| {
            let (what, items) = connected_what(*n);
            format!("`connect {}` (a {what}'s {items})", connect_word(*n))
        })
        .collect();
    format!("Usage: {}.", choices.join(" or "))
}
pub const DISCONNECT_USAGE: &str = "Usage: `disconnect <id>`, with the id `accounts` lists.";
pub const ADMINS_ONLY: &str =
    "Only admins (`permissions.admin`) connect, list and disconnect accounts. Nothing was changed.";
/// [`ADMINS_ONLY`] on Discord.
pub const DISCORD_ADMINS_ONLY: &str = "Only admins (`discord.permissions.admin`) connect, list and disconnect accounts. Nothing was changed.";
/// `connect` run in a direct message: an account's conversations go to the channel the
/// command was run in.
pub const CONNECT_IN_A_DM: &str = ":no_entry: Run `connect` in the channel the conversations should go to, not in a direct message. Nothing was changed.";
/// `connect` run in a Discord channel that is not a configured text channel (cards can only
/// go to configured channels; a forum cannot take the account's notices yet).
pub const DISCORD_CONNECT_ELSEWHERE: &str = ":no_entry: Run `connect` in the text channel the conversations should go to: one listed under [[discord.servers]] (not a thread or a forum). Nothing was changed.";

/// One line of the `accounts` listing.
#[derive(Debug, Clone, Copy)]
pub struct AccountLine<'a> {
    pub id: i64,
    pub network: Network,
    pub name: &'a str,
    pub unhealthy: Option<&'a str>,
    pub last_error: Option<&'a str>,
}

/// `accounts`: every connected account with its health. Names are the network's: escaped.
pub fn accounts_listing(accounts: &[AccountLine<'_>]) -> Rich {
    if accounts.is_empty() {
        return Rich::ours("No account is connected yet. `connect <network>` adds one.");
    }
    let mut out = Rich::ours("*Connected accounts*");
    for a in accounts {
        out = out
            .then(format!("\n`{}` · {} · *", a.id, network_name(a.network)))
            .then_theirs(a.name)
            .then("* · ");
        out = match (a.unhealthy, a.last_error) {
            (Some(why), _) => out
                .then("⚠️ needs reconnecting (")
                .then_theirs(why)
                .then(")"),
            (None, Some(err)) => out.then("⏳ ").then_theirs(err),
            (None, None) => out.then("✅ healthy"),
        };
    }
    out
}

pub fn account_disconnected(name: &str) -> Rich {
    Rich::ours("Disconnected *")
        .then_theirs(name)
        .then("*: it is no longer polled, and its token was revoked where the provider allows.")
}

pub fn account_not_found(id: i64) -> String {
    format!("No connected account has id {id} (`accounts` lists them). Nothing was changed.")
}

/// In an account's channel, once, when its token died: what happened and how to fix it
/// (`command`: the surface's slash command, `/switchboard` or `/inbox`). The reason is the
/// provider's words: escaped.
pub fn account_needs_reconnect(network: Network, name: &str, reason: &str, command: &str) -> Rich {
    let connect = format!("connect {}", connect_word(network));
    Rich::ours(format!("⚠️ {} account *", network_name(network)))
        .then_theirs(name)
        .then("* needs reconnecting: its access was refused (")
        .then_theirs(reason)
        .then(format!(
            "). Its conversations are not fetched until then. An admin runs `{command} {connect}` in this channel to reconnect it."
        ))
}

/// In an account's channel, once, some days before an access token that cannot be refreshed
/// expires (LinkedIn apps without programmatic refresh get 60-day tokens): when, and how to
/// renew it.
pub fn account_token_expiring(
    network: Network,
    name: &str,
    expires_at: chrono::DateTime<chrono::Utc>,
    command: &str,
) -> Rich {
    let connect = format!("connect {}", connect_word(network));
    Rich::ours(format!("⏳ {} account *", network_name(network)))
        .then_theirs(name)
        .then(format!(
            "*: its access ends on {} UTC and cannot be renewed automatically. Before then, an admin runs `{command} {connect}` in this channel and signs in again; nothing else changes.",
            expires_at.format("%Y-%m-%d %H:%M")
        ))
}

/// The title of the page that lets a user pick which account to connect.
pub const OAUTH_CHOOSE_TITLE: &str = "Choose what to connect";
/// Above the choices (each a button named after the account).
pub const OAUTH_CHOOSE_PAGE: &str = "Your sign-in gives access to several accounts. Pick the one whose conversations should come to the channel where you ran the connect command (to connect another, run the command again). These choices work once, for 10 minutes.";

/// The link a connect command answers with (ephemeral: only the asker sees it).
pub fn connect_link(network: Network, url: &str) -> String {
    format!(
        "Open this link to connect a {} account (it works once, for 10 minutes; its conversations will come to this channel): {url}",
        network_name(network)
    )
}

/// A Google review with a rating and no text.
pub const REVIEW_WITHOUT_TEXT: &str = "_(rating only, no text)_";

/// Stars for a 1–5 rating: "★★★★☆".
pub fn stars(rating: u8) -> String {
    let full = usize::from(rating.min(5));
    format!("{}{}", "★".repeat(full), "☆".repeat(5 - full))
}

/// The card's line about what an item concerns: "On “Video title” · ★★★★☆ · Held for
/// review". The subject is the network's (a video's, a location's) text: escaped like a
/// customer's. `None` when there is nothing to say.
pub fn item_about(context: &super::model::ItemContext) -> Option<Rich> {
    use super::model::Held;
    let mut parts: Vec<Rich> = Vec::new();
    if let Some(subject) = context.subject.as_deref().filter(|s| !s.trim().is_empty()) {
        parts.push(Rich::ours("On “").then_theirs(subject).then("”"));
    }
    if let Some(rating) = context.rating {
        parts.push(Rich::ours(stars(rating)));
    }
    match context.held {
        Some(Held::ForReview) => {
            parts.push(Rich::ours("⏳ Held for review: not public until approved"))
        }
        Some(Held::LikelySpam) => parts.push(Rich::ours(
            "🚫 Held as likely spam: not public until approved",
        )),
        None => {}
    }
    let mut parts = parts.into_iter();
    let first = parts.next()?;
    Some(parts.fold(first, |line, part| line.then(" · ").then_rich(part)))
}

/// Posted in a review's thread (and shown in the channel) when the customer changed it:
/// stars before and after, and the text before and after when it changed. The texts are
/// the customer's: escaped.
pub fn review_updated(
    author: &str,
    before: &super::decide::ReviewVersion,
    after: &super::decide::ReviewVersion,
) -> Rich {
    let rating = |r: Option<u8>| r.map(stars).unwrap_or_else(|| "no stars".to_string());
    let mut line = Rich::ours(":pencil2: *")
        .then_theirs(author)
        .then("* updated the review");
    line = if before.rating != after.rating {
        line.then(format!(
            ": {} → {}",
            rating(before.rating),
            rating(after.rating)
        ))
    } else {
        line.then(format!(" ({})", rating(after.rating)))
    };
    if before.text == after.text {
        return line.then(". The text is unchanged.");
    }
    let quoted = |line: Rich, text: &str| {
        if text.is_empty() {
            line.then(REVIEW_WITHOUT_TEXT)
        } else {
            line.then_quote(text)
        }
    };
    let line = quoted(line.then("\n*Now:*\n"), &after.text);
    quoted(line.then("\n*Before:*\n"), &before.text)
}

/// The card of a mention whose text the network did not send.
pub const MENTION_WITHOUT_TEXT: &str =
    "_mentioned your account; the network does not send the text, open it there to read it._";

/// A Discord interaction this version does not handle yet.
pub const DISCORD_UNKNOWN_SERVER: &str =
    "Switchboard is not set up for this server: ask an admin to add it under [[discord.servers]].";

/// A control Switchboard does not know (another app's, or from a retired version).
pub const UNKNOWN_CONTROL: &str = "That control is not Switchboard's, or is from an older version: use the card's current buttons.";

/// A saved reply shown by the lookup command.
pub fn saved_reply_show(id: i64, name: &str, body: &str) -> Rich {
    Rich::ours("*")
        .then_theirs(name)
        .then(format!("* (saved reply {id})\n"))
        .then_theirs(body)
}

/// Discord's `/inbox` help.
pub fn discord_help(command: &str) -> String {
    format!(
        "*Switchboard* mirrors your social accounts here as cards.\n\
         • Use the card's buttons to mark it read or unread, close or reopen it, assign it, tag it or reply.\n\
         • Write in the card's thread to reply to the customer (unless the channel is in explicit mode); start with `note:` to keep it internal.\n\
         `/{command} queue` lists a queue; `/{command} bulk` acts on every ticket matching a filter \
         (`status:unread,read,closed` `assignee:me|none|any|team:<name>` `network:facebook|instagram|whatsapp|youtube|google` `account:<id>` `type:public|private`).\n\
         `/{command} saved find|new|edit|delete` manages saved replies; `/{command} assign` assigns a ticket with a note; `/{command} away` keeps round-robin from giving you new tickets while you are away; `/{command} stats` shows this channel's statistics (only you see them).\n\
         Admins: `/{command} connect` connects an account (such as a YouTube channel or a Google Business Profile) to this channel; `/{command} accounts` lists connected accounts; `/{command} disconnect` removes one."
    )
}

/// One line of a queue listing.
pub fn queue_line(status: Status, link: Option<&str>, headline: &str, author: &str) -> Rich {
    let line = Rich::ours("• ");
    let line = match link {
        Some(l) => line.then_link(l, headline),
        None => line.then_theirs(headline),
    };
    line.then(" from ")
        .then_theirs(author)
        .then(format!(" · {}", self::status(status)))
}

/// A queue line's SLA part, as of the listing (wall-clock time to the due time).
pub fn queue_sla(
    target: SlaTarget,
    standing: &super::sla::Standing,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    use super::sla::Standing;
    let what = sla_target(target).to_lowercase();
    match standing {
        Standing::Breached { .. } => format!(" · :red_circle: {what} overdue"),
        Standing::Warned { due } | Standing::OnTrack { due } => {
            format!(" · :stopwatch: {} to {what}", duration(*due - now))
        }
    }
}

/// `/<command> queue` without a known queue name.
pub fn queue_unknown(command: &str) -> String {
    format!("Which queue? `{command} queue unassigned`, `team`, `mine` or `done`.")
}

/// Answer to an unknown subcommand.
pub fn command_unknown(command: &str, word: &str) -> String {
    format!("`{command} {word}` is not a command I know. Try `{command} help`.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::{ChatUserId, Surface};
    use crate::core::model::{Moderation, ModerationState};

    fn slack_mention(t: &Teammate) -> String {
        format!("<@{}>", t.id)
    }

    #[test]
    fn the_about_line_joins_subject_stars_and_hold() {
        use super::super::model::{Held, ItemContext};
        assert_eq!(item_about(&ItemContext::default()), None);
        let full = ItemContext {
            subject: Some("<!channel> video".into()),
            subject_url: None,
            rating: Some(2),
            held: Some(Held::LikelySpam),
        };
        insta::assert_snapshot!(
            item_about(&full).unwrap().annotated(),
            @"On “⟨<!channel> video⟩” · ★★☆☆☆ · 🚫 Held as likely spam: not public until approved"
        );
        assert_eq!(stars(5), "★★★★★");
        assert_eq!(stars(0), "☆☆☆☆☆");
        assert_eq!(stars(9), "★★★★★");
    }

    #[test]
    fn snapshots_of_sla_lines_and_alerts() {
        use crate::core::TicketId;
        use crate::core::sla::Standing;
        let due = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let when = "<!date^1800000000^{time}|10:40>";
        insta::assert_snapshot!(
            sla_line(SlaTarget::FirstResponse, &Standing::OnTrack { due }, when).annotated(),
            @":stopwatch: First response due ⟪<!date^1800000000^{time}|10:40>⟫."
        );
        insta::assert_snapshot!(
            sla_line(SlaTarget::NextResponse, &Standing::Warned { due }, when).annotated(),
            @":warning: Next response due soon: ⟪<!date^1800000000^{time}|10:40>⟫."
        );
        insta::assert_snapshot!(
            sla_line(SlaTarget::FirstResponse, &Standing::Breached { due }, when).annotated(),
            @":red_circle: First response overdue: it was due ⟪<!date^1800000000^{time}|10:40>⟫."
        );
        // The customer's name is theirs (escaped by the surface); the group mention ours.
        insta::assert_snapshot!(
            sla_alert(
                SlaTarget::FirstResponse,
                false,
                "<!channel> *Jane*",
                TicketId(42),
                "<!subteam^S1> ",
                "https://example.slack.com/archives/C1/p1",
                when,
            )
            .annotated(),
            @":warning: <!subteam^S1> SLA warning: the first response to ⟨<!channel> *Jane*⟩ on <https://example.slack.com/archives/C1/p1|⟨ticket #42⟩> is due ⟪<!date^1800000000^{time}|10:40>⟫."
        );
        insta::assert_snapshot!(
            sla_alert(
                SlaTarget::NextResponse,
                true,
                "Jane",
                TicketId(42),
                "",
                "https://example.slack.com/archives/C1/p1",
                when,
            )
            .annotated(),
            @":red_circle: SLA missed: the next response to ⟨Jane⟩ on <https://example.slack.com/archives/C1/p1|⟨ticket #42⟩> was due ⟪<!date^1800000000^{time}|10:40>⟫ and nobody has answered yet."
        );
    }

    #[test]
    fn an_automatic_reply_failure_names_no_teammate() {
        insta::assert_snapshot!(
            auto_reply_failed(Network::Facebook, &FailureReason::OutsideWindow).annotated(),
            @"
        :warning: The automatic reply was *not delivered*: the reply window has closed (the customer's last message is too old); the customer must write again.
        "
        );
    }

    #[test]
    fn queue_sla_parts() {
        use crate::core::sla::Standing;
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let due = |m| now + chrono::Duration::minutes(m);
        insta::assert_snapshot!(
            queue_sla(SlaTarget::FirstResponse, &Standing::OnTrack { due: due(14) }, now),
            @" · :stopwatch: 14 min to first response"
        );
        insta::assert_snapshot!(
            queue_sla(SlaTarget::NextResponse, &Standing::Warned { due: due(125) }, now),
            @" · :stopwatch: 2 h 05 min to next response"
        );
        insta::assert_snapshot!(
            queue_sla(SlaTarget::FirstResponse, &Standing::Breached { due: due(-5) }, now),
            @" · :red_circle: first response overdue"
        );
    }

    #[test]
    fn snapshots_of_late_cards() {
        use crate::core::TicketId;
        insta::assert_snapshot!(
            cards_posted_late(&[TicketId(7)]),
            @":warning: 1 ticket could not be posted earlier: #7. Its card follows now."
        );
        insta::assert_snapshot!(
            cards_posted_late(&[TicketId(7), TicketId(9), TicketId(12)]),
            @":warning: 3 tickets could not be posted earlier: #7, #9, #12. Their cards follow now."
        );
    }

    fn ana() -> Teammate {
        Teammate {
            surface: Surface::Slack,
            id: ChatUserId::new("U1"),
        }
    }

    #[test]
    fn snapshots_of_card_text() {
        let ana = ana();
        insta::assert_snapshot!(
            card_headline(Network::Facebook, ItemKind::Comment, "Acme Coffee"),
            @"Facebook comment on Acme Coffee"
        );
        insta::assert_snapshot!(
            card_headline(Network::Whatsapp, ItemKind::DirectMessage, "Acme Support"),
            @"WhatsApp message on Acme Support"
        );
        insta::assert_snapshot!(
            status_line(Status::Unread, None, &[], None, &slack_mention).annotated(),
            @"*Unread* · Assignee: — · Tags: — · Last replied by: —"
        );
        insta::assert_snapshot!(
            status_line(Status::Closed, Some(&Assignee::Person(ana.clone())), &["billing".into(), "vip".into()], Some(&ana), &slack_mention).annotated(),
            @"*Closed* · Assignee: <@U1> · Tags: ⟨billing⟩, ⟨vip⟩ · Last replied by: <@U1>"
        );
        insta::assert_snapshot!(
            status_line(Status::Read, Some(&Assignee::Team("billing".into())), &[], None, &slack_mention).annotated(),
            @"*Read* · Assignee: team ⟨billing⟩ · Tags: — · Last replied by: —"
        );
        insta::assert_snapshot!(
            thread_customer_message("Jane", "where is my order?", true, false).annotated(),
            @"*⟨Jane⟩*: ⟨where is my order?⟩ _(edited)_"
        );
        insta::assert_snapshot!(
            thread_customer_message("Jane", "rude words", false, true).annotated(),
            @"*⟨Jane⟩*: ~⟨rude words⟩~ _(deleted by the customer)_"
        );
        insta::assert_snapshot!(
            customer_message("Jane", Rich::ours(MENTION_WITHOUT_TEXT), false, false).annotated(),
            @"*⟨Jane⟩*: _mentioned your account; the network does not send the text, open it there to read it._"
        );
        insta::assert_snapshot!(
            card_fallback("Facebook comment on Acme", "Jane", Rich::theirs("hi")).annotated(),
            @"New ⟨Facebook comment on Acme⟩ from ⟨Jane⟩: ⟨hi⟩"
        );
        insta::assert_snapshot!(
            replying(std::slice::from_ref(&ana), &slack_mention).unwrap(),
            @":pencil2: <@U1> is replying…"
        );
        let ben = Teammate {
            id: ChatUserId::new("U2"),
            ..ana.clone()
        };
        let cy = Teammate {
            id: ChatUserId::new("U3"),
            ..ana.clone()
        };
        insta::assert_snapshot!(
            replying(&[ana, ben, cy], &slack_mention).unwrap(),
            @":pencil2: <@U1>, <@U2> and <@U3> are replying…"
        );
        assert_eq!(replying(&[], &slack_mention), None);
        insta::assert_snapshot!(suggested_tag("refund"), @"+ refund");
        let labels: Vec<&str> = [
            CardAction::MarkRead,
            CardAction::AssignTeam,
            CardAction::SavedReply,
            CardAction::Block,
        ]
        .map(button)
        .into();
        insta::assert_snapshot!(labels.join(" | "), @"Mark read | Assign to team… | Saved reply… | Block author");
    }

    #[test]
    fn snapshots_of_review_updates() {
        use crate::core::decide::ReviewVersion;
        let v = |rating, text: &str| ReviewVersion {
            rating,
            text: text.into(),
        };
        insta::assert_snapshot!(
            review_updated("Jane <D>", &v(Some(4), "Good *coffee*"), &v(Some(2), "Cold coffee")).annotated(),
            @r"
        :pencil2: *⟨Jane <D>⟩* updated the review: ★★★★☆ → ★★☆☆☆
        *Now:*
        > ⟨Cold coffee⟩
        *Before:*
        > ⟨Good *coffee*⟩
        "
        );
        insta::assert_snapshot!(
            review_updated("Jane", &v(Some(4), "ok"), &v(Some(5), "ok")).annotated(),
            @":pencil2: *⟨Jane⟩* updated the review: ★★★★☆ → ★★★★★. The text is unchanged."
        );
        insta::assert_snapshot!(
            review_updated("Jane", &v(Some(3), ""), &v(Some(3), "Now with words")).annotated(),
            @r"
        :pencil2: *⟨Jane⟩* updated the review (★★★☆☆)
        *Now:*
        > ⟨Now with words⟩
        *Before:*
        _(rating only, no text)_
        "
        );
    }

    #[test]
    fn snapshots_of_reply_limits() {
        let too_long = |network, kind, length| {
            let limit = crate::networks::test_capabilities(&crate::core::model::TicketState {
                network,
                kind,
                ..crate::core::model::sample_ticket(Status::Unread, "").state
            })
            .reply
            .expect("replies");
            reply_too_long(network, kind, length, limit)
        };
        insta::assert_snapshot!(
            too_long(Network::Instagram, ItemKind::DirectMessage, 1204),
            @"The reply is 1,204 bytes; a reply to an Instagram message can have at most 1,000 bytes of UTF-8 text (an emoji counts as 4, an accented letter as 2). Nothing was sent."
        );
        insta::assert_snapshot!(
            too_long(Network::Facebook, ItemKind::DirectMessage, 2001),
            @"The reply is 2,001 characters; a reply to a Facebook message can have at most 2,000 characters. Nothing was sent."
        );
        insta::assert_snapshot!(
            too_long(Network::Facebook, ItemKind::Comment, 8100),
            @"The reply is 8,100 characters; a reply to a Facebook comment can have at most 8,000 characters. Nothing was sent."
        );
        insta::assert_snapshot!(
            too_long(Network::Instagram, ItemKind::Comment, 2201),
            @"The reply is 2,201 characters; a reply to an Instagram comment can have at most 2,200 characters. Nothing was sent."
        );
        insta::assert_snapshot!(
            too_long(Network::Whatsapp, ItemKind::DirectMessage, 5000),
            @"The reply is 5,000 characters; a reply to a WhatsApp message can have at most 4,096 characters. Nothing was sent."
        );
        insta::assert_snapshot!(
            reply_too_long(Network::X, ItemKind::Mention, 291, super::super::limits::ReplyLimit::x_weighted(280)),
            @"The reply is 291 characters as X counts them (every link counts as 23, an emoji or a CJK character as 2); a reply to an X mention can have at most 280. Nothing was sent."
        );
        insta::assert_snapshot!(
            failure_reason(Network::X, &FailureReason::TooLong { length: 290, max: 280, bytes: false }).annotated(),
            @"the reply is 290 characters as X counts them (a link counts as 23, an emoji or a CJK character as 2); X takes at most 280, so shorten it and send it again"
        );
        insta::assert_snapshot!(
            moderation_failed(Network::X, super::super::model::Moderation::Mute, &FailureReason::PermissionDenied).annotated(),
            @":warning: Muting the author failed: the app is missing a permission on the X account needed for this."
        );
        assert_eq!(button(CardAction::Mute), "Mute author");
    }

    #[test]
    fn snapshots_of_failure_text() {
        use Network::*;
        insta::assert_snapshot!(
            reply_failed("<@U1>", Facebook, &FailureReason::TokenExpired).annotated(),
            @":warning: <@U1>, your reply was *not delivered*: the Facebook Page's access token has expired or was revoked; renew it (or reconnect the Page) and try again."
        );
        insta::assert_snapshot!(
            card_failure(Youtube, &FailureReason::ItemDeleted).annotated(),
            @":warning: Last reply failed: the item was deleted (or hidden) on YouTube, so there is nothing to act on."
        );
        insta::assert_snapshot!(
            failure_reason(Facebook, &FailureReason::Rejected("(#100) Message too long".into())).annotated(),
            @"Facebook refused it: ⟨(#100) Message too long⟩"
        );
        insta::assert_snapshot!(
            failure_reason(Google, &FailureReason::Other("HTTP 502 <html>".into())).annotated(),
            @"an unexpected error from Google: ⟨HTTP 502 <html>⟩"
        );
        insta::assert_snapshot!(
            failure_reason(Instagram, &FailureReason::TooLong {
                length: 1_200,
                max: 1_000,
                bytes: true
            })
            .annotated(),
            @"the reply is 1,200 bytes; this conversation takes at most 1,000 bytes, so shorten it and send it again"
        );
        let others: Vec<String> = [
            (Instagram, FailureReason::PermissionDenied),
            (Youtube, FailureReason::RateLimited),
            (Whatsapp, FailureReason::OutsideWindow),
            (Facebook, FailureReason::OutsideWindow),
            (Facebook, FailureReason::RecipientUnavailable),
            (Whatsapp, FailureReason::AccountNotConfigured),
            (Google, FailureReason::TokenExpired),
            (Google, FailureReason::NotSupported),
        ]
        .iter()
        .map(|(n, r)| failure_reason(*n, r).annotated())
        .collect();
        insta::assert_snapshot!(others.join("\n"), @"
        the app is missing a permission on the Instagram account needed for this
        YouTube kept rate-limiting us and we gave up; try again in a few minutes
        the reply window has closed (the customer's last message is too old); WhatsApp takes only an approved template now
        the reply window has closed (the customer's last message is too old); the customer must write again
        the customer cannot receive messages right now (they may have blocked the account)
        this WhatsApp number is not set up in Switchboard (no access token), so nothing was sent
        the Google location's access token has expired or was revoked; renew it (or reconnect the location) and try again
        Google does not take this from Switchboard for this kind of item
        ");
        insta::assert_snapshot!(
            moderation_failed(Youtube, Moderation::Reject, &FailureReason::Rejected("forbidden".into())).annotated(),
            @":warning: Rejecting failed: YouTube refused it: ⟨forbidden⟩."
        );
        insta::assert_snapshot!(
            token_alert(Network::Instagram, "Acme").annotated(),
            @":rotating_light: The Instagram access token for *⟨Acme⟩* has expired or was revoked: replies and moderation are failing until it is renewed in Switchboard's configuration. (This alert is posted once.)"
        );
        // Nothing names a network the ticket is not on.
        for network in Network::ALL {
            for reason in [
                FailureReason::TokenExpired,
                FailureReason::ItemDeleted,
                FailureReason::RateLimited,
                FailureReason::Rejected("x".into()),
                FailureReason::Other("x".into()),
                FailureReason::AccountNotConfigured,
            ] {
                let said = failure_reason(network, &reason).annotated();
                for other in Network::ALL.iter().filter(|o| **o != network) {
                    assert!(!said.contains(network_name(*other)), "{network:?}: {said}");
                }
            }
        }
    }

    #[test]
    fn snapshots_of_card_lines() {
        let m = ModerationState {
            hidden: true,
            liked: true,
            ..Default::default()
        };
        insta::assert_snapshot!(moderation_line(&m).unwrap(), @":shield: Hidden from the public · Liked");
        assert_eq!(moderation_line(&ModerationState::default()), None);
        insta::assert_snapshot!(window_left(chrono::Duration::minutes(150), false), @":hourglass: Reply window: 2 h left");
        insta::assert_snapshot!(window_left(chrono::Duration::seconds(20), true), @":hourglass: Reply window: 1 min left (human agent)");
        insta::assert_snapshot!(window_closed(Network::Whatsapp), @":no_entry_sign: Reply window closed: WhatsApp takes only an approved template now.");
        insta::assert_snapshot!(window_closed(Network::Instagram), @":no_entry_sign: Reply window closed: the customer must write again.");
        insta::assert_snapshot!(reply_outside_window(Network::Facebook), @":no_entry_sign: The Facebook reply window has closed (the customer's last message is too old), so nothing was sent: the customer must write again.");
    }

    #[test]
    fn snapshots_of_notices() {
        let link = "https://slack.com/archives/C1/p1";
        insta::assert_snapshot!(
            assigned_dm("<@U2>", "Facebook comment on Acme", link, Some(" call her back ")).annotated(),
            @r"
        :bust_in_silhouette: <@U2> assigned you a ticket: <https://slack.com/archives/C1/p1|⟨Facebook comment on Acme⟩>
        > ⟪call her back⟫
        "
        );
        insta::assert_snapshot!(
            assigned_dm("<@U2>", "Facebook comment on Acme", link, Some("  ")).annotated(),
            @":bust_in_silhouette: <@U2> assigned you a ticket: <https://slack.com/archives/C1/p1|⟨Facebook comment on Acme⟩>"
        );
        insta::assert_snapshot!(
            assigned_team("<@U2>", "<!subteam^S1>", None).annotated(),
            @":busts_in_silhouette: <@U2> assigned this ticket to <!subteam^S1>."
        );
        insta::assert_snapshot!(
            customer_replied_dm("Jane", "Facebook comment on Acme", link, "hello?\nanyone?").annotated(),
            @r"
        :speech_balloon: ⟨Jane⟩ wrote again on <https://slack.com/archives/C1/p1|⟨Facebook comment on Acme⟩>:
        > ⟨hello?
        > anyone?⟩
        "
        );
        insta::assert_snapshot!(
            modal_reply_copy("<@U2>", "Hi Jane").annotated(),
            @"<@U2> replied: ⟨Hi Jane⟩"
        );
        insta::assert_snapshot!(
            reply_failed("<@U1>", Network::Whatsapp, &FailureReason::UnsupportedMessageType).annotated(),
            @":warning: <@U1>, your reply was *not delivered*: WhatsApp does not support this type of message (error 131051)."
        );
    }

    #[test]
    fn snapshots_of_saved_reply_results() {
        insta::assert_snapshot!(saved_reply_results("refund", 2, 2).annotated(), @"Saved replies matching “⟨refund⟩” (2):");
        insta::assert_snapshot!(saved_reply_results(" ", 20, 31).annotated(), @"Saved replies (first 20 of 31):");
        insta::assert_snapshot!(saved_reply_results("zzz", 0, 0).annotated(), @"No saved replies match “⟨zzz⟩”.");
        insta::assert_snapshot!(saved_reply_results("", 0, 0).annotated(), @"There are no saved replies yet.");
        insta::assert_snapshot!(saved_reply_delete_confirm("Refund").annotated(), @"Delete the saved reply *⟨Refund⟩* for the whole team?");
        for title in [
            REPLY_MODAL_TITLE,
            TAGS_MODAL_TITLE,
            SAVED_REPLY_NEW_TITLE,
            SAVED_REPLY_EDIT_TITLE,
            SEND,
            SAVE,
            CANCEL,
        ] {
            assert!(title.chars().count() <= 24, "{title}");
        }
    }

    #[test]
    fn snapshots_of_command_answers() {
        insta::assert_snapshot!(command_unknown("/switchboard", "frobnicate"),
            @"`/switchboard frobnicate` is not a command I know. Try `/switchboard help`.");
        insta::assert_snapshot!(command_help("/switchboard"), @"
        *Switchboard* mirrors your social accounts' comments, messages and reviews here as cards.
        • Use the card's buttons to mark it read or unread, close or reopen it, assign it, tag it or reply.
        • Write in the card's thread to reply to the customer on the network (unless the channel is in explicit mode).
        • Start a thread message with `note:` to keep it internal.
        `/switchboard queue unassigned|team|mine|done` lists a queue; `/switchboard away on|off` keeps round-robin from giving you new tickets while you are away.
        `/switchboard close|open|read|unread <filters>` acts on every matching ticket; filters: `status:unread,read,closed` `assignee:me|none|any|team:<name>|@someone` `network:facebook|instagram|whatsapp|youtube|google|tiktok|x|linkedin` `account:<id>` `type:public|private`.
        `/switchboard reply <words>` finds saved replies; `/switchboard reply new` creates one.
        `/switchboard stats [7d|30d|YYYY-MM-DD..YYYY-MM-DD] [network:<name>] [team:<name>]` shows this channel's statistics (only you see them).
        Admins: `/switchboard connect <network>`, `/switchboard accounts`, `/switchboard disconnect <id>`; `/switchboard erase #<ticket>` erases that ticket's customer (name and messages).
        `/switchboard help` shows this message.
        ");
        insta::assert_snapshot!(refused(crate::core::permission::Permission::Assign),
            @":no_entry: You are not allowed to assign tickets here (`permissions.assign` in Switchboard's configuration). Nothing was changed.");
        insta::assert_snapshot!(queue_unknown("/switchboard"),
            @"Which queue? `/switchboard queue unassigned`, `team`, `mine` or `done`.");
        insta::assert_snapshot!(assign_usage("/switchboard"),
            @"Use `/switchboard assign #<ticket> me|@someone|team:<name>|none [note for the assignee]`.");
        insta::assert_snapshot!(assign_done(42), @"Assigning ticket #42…");
        insta::assert_snapshot!(erase_started(42),
            @":wastebasket: Erasing the customer of #42: their name and messages are removed from Switchboard, and their cards and thread copies are edited to say so. Only the fact that an erasure happened is kept.");
    }

    #[test]
    fn snapshots_of_listings_and_bulk_results() {
        insta::assert_snapshot!(queue_heading("unassigned", 0, false).annotated(), @"*⟨unassigned⟩*: nothing here.");
        insta::assert_snapshot!(queue_heading("mine", 20, true).annotated(), @"*⟨mine⟩*: 20 tickets (newest first; more not shown)");
        insta::assert_snapshot!(
            queue_line(Status::Read, Some("https://slack.com/archives/C1/p1"), "Facebook comment on Acme", "Jane").annotated(),
            @"• <https://slack.com/archives/C1/p1|⟨Facebook comment on Acme⟩> from ⟨Jane⟩ · Read"
        );
        insta::assert_snapshot!(
            queue_line(Status::Unread, None, "Facebook comment on Acme", "Jane").annotated(),
            @"• ⟨Facebook comment on Acme⟩ from ⟨Jane⟩ · Unread"
        );
        insta::assert_snapshot!(bulk_done(CardAction::Close, 3, 3), @"Closed 3 tickets.");
        insta::assert_snapshot!(bulk_done(CardAction::MarkRead, 1, 4), @"Marked read 1 ticket (3 already were).");
        insta::assert_snapshot!(bulk_started(12), @"Working on 12 matching tickets…");
        insta::assert_snapshot!(NO_MATCH, @"No ticket matches that filter.");
    }
}

// ---- saved replies ------------------------------------------------------------------------

/// A count with thousands separators: 2134 → "2,134".
pub fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// "1 saved reply", "3 saved replies".
pub fn saved_replies_count(n: usize) -> String {
    match n {
        1 => "1 saved reply".into(),
        n => format!("{} saved replies", count(n)),
    }
}

/// "a", "a and b", "a, b and c".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

pub const SAVED_REPLY_NAME_EMPTY: &str = "The name is empty: give the saved reply a name.";
pub const SAVED_REPLY_NAME_MULTILINE: &str = "The name must fit on one line.";
pub const SAVED_REPLY_BODY_EMPTY: &str = "The reply is empty.";

pub fn saved_reply_name_too_long(chars: usize, max: usize) -> String {
    format!(
        "The name is {} characters; the limit is {}.",
        count(chars),
        count(max)
    )
}

pub fn saved_reply_body_too_long(chars: usize, max: usize) -> String {
    format!(
        "The reply is {} characters; the limit is {}.",
        count(chars),
        count(max)
    )
}

/// Names between braces that are not variables (`unknown` as written, `known` the variables).
pub fn unknown_variables(unknown: &[String], known: &[&str]) -> String {
    let braced = |n: &str| format!("{{{n}}}");
    let unknown: Vec<String> = unknown.iter().map(|n| braced(n)).collect();
    let known: Vec<String> = known.iter().map(|n| braced(n)).collect();
    let what = if unknown.len() == 1 {
        "which is not a variable"
    } else {
        "which are not variables"
    };
    format!(
        "The reply uses {}, {what}. The variables are {}; write {{{{ and }}}} for literal braces.",
        and_list(&unknown),
        and_list(&known)
    )
}

pub fn unclosed_brace(near: &str) -> String {
    format!(
        "The reply has a {{ that is never closed, near “{near}”. Write {{{{ for a literal brace."
    )
}

pub fn unmatched_close_brace(near: &str) -> String {
    format!(
        "The reply has a }} that closes nothing, near “{near}”. Write }}}} for a literal brace."
    )
}

pub fn filled_reply_too_long(chars: usize, max: usize) -> String {
    format!(
        "With the variables filled in, the reply is {} characters; the limit is {}.",
        count(chars),
        count(max)
    )
}

// The `switchboard saved-replies` command line.

pub const NO_SAVED_REPLIES: &str = "No saved replies yet.";

/// One line of `saved-replies list` (and of a lookup on Discord): id, name and the start of
/// the body on one line.
pub fn saved_reply_list_line(id: i64, name: &str, body: &str) -> Rich {
    const PREVIEW_CHARS: usize = 60;
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let preview: String = flat.chars().take(PREVIEW_CHARS).collect();
    let more = if flat.chars().count() > PREVIEW_CHARS {
        "…"
    } else {
        ""
    };
    Rich::ours(format!("{id:>5}  "))
        .then_theirs(name)
        .then("  —  ")
        .then_theirs(preview)
        .then(more)
}

pub fn saved_reply_created(id: i64, name: &str) -> String {
    format!("Created saved reply {id} “{name}”.")
}

pub fn saved_reply_updated(id: i64, name: &str) -> String {
    format!("Updated saved reply {id} “{name}”.")
}

pub fn saved_reply_deleted(id: i64) -> String {
    format!("Deleted saved reply {id}.")
}

pub fn saved_reply_not_found(id: i64) -> String {
    format!("There is no saved reply with id {id}.")
}

pub fn saved_reply_name_taken(name: &str) -> String {
    format!("A saved reply named “{name}” already exists (names ignore case).")
}

pub const SAVED_REPLY_EDIT_NOTHING: &str = "Nothing to change: give --name, --body or --file.";

/// "Imported 3 saved replies (2 created, 1 updated)."
pub fn saved_replies_imported(created: u64, updated: u64) -> String {
    let total = usize::try_from(created + updated).unwrap_or(usize::MAX);
    format!(
        "Imported {} ({created} created, {updated} updated).",
        saved_replies_count(total)
    )
}

pub fn saved_replies_exported(n: usize, path: &str) -> String {
    format!("Exported {} to {path}.", saved_replies_count(n))
}

/// Heading of a refused import; each problem follows on its own line.
pub fn saved_replies_import_refused(file: &str, problems: usize) -> String {
    let rows = if problems == 1 {
        "1 problem".to_string()
    } else {
        format!("{} problems", count(problems))
    };
    format!("Nothing was imported: {file} has {rows}.")
}

/// One problem of an import, at a line of the CSV file.
pub fn csv_line_problem(line: u64, problem: &str) -> String {
    format!("line {line}: {problem}")
}

pub fn csv_bad_header(found: &str) -> String {
    format!("The first line must be the header `name,body`; found `{found}`.")
}

pub fn csv_unreadable(reason: &str) -> String {
    format!("This line cannot be read as CSV: {reason}.")
}

pub fn csv_wrong_field_count(found: usize) -> String {
    format!("A row needs 2 fields, name and body; this one has {found}.")
}

pub fn csv_duplicate_name(name: &str, first_line: u64) -> String {
    format!("“{name}” is already on line {first_line} (names ignore case).")
}

#[cfg(test)]
mod saved_reply_text_tests {
    use super::*;

    #[test]
    fn counts() {
        let counts: Vec<String> = [0, 7, 999, 1000, 2134, 1_234_567].map(count).into();
        assert_eq!(counts, ["0", "7", "999", "1,000", "2,134", "1,234,567"]);
        insta::assert_snapshot!(saved_replies_count(1), @"1 saved reply");
        insta::assert_snapshot!(saved_replies_count(10000), @"10,000 saved replies");
    }

    #[test]
    fn snapshots_of_saved_reply_errors() {
        insta::assert_snapshot!(saved_reply_body_too_long(2134, 2000),
            @"The reply is 2,134 characters; the limit is 2,000.");
        insta::assert_snapshot!(unknown_variables(&["name".into()], &["author_name", "agent_name"]),
            @"The reply uses {name}, which is not a variable. The variables are {author_name} and {agent_name}; write {{ and }} for literal braces.");
        insta::assert_snapshot!(unclosed_brace("{name"),
            @"The reply has a { that is never closed, near “{name”. Write {{ for a literal brace.");
        insta::assert_snapshot!(unmatched_close_brace("Hi :}"),
            @"The reply has a } that closes nothing, near “Hi :}”. Write }} for a literal brace.");
    }

    #[test]
    fn snapshots_of_saved_reply_cli_text() {
        insta::assert_snapshot!(saved_reply_list_line(12, "Refund policy", "Hi {author_name},\n\nyou can get a refund within 30 days of your order; just reply here.").annotated(),
            @"   12  ⟨Refund policy⟩  —  ⟨Hi {author_name}, you can get a refund within 30 days of you⟩…");
        insta::assert_snapshot!(saved_replies_imported(2, 1),
            @"Imported 3 saved replies (2 created, 1 updated).");
        insta::assert_snapshot!(saved_replies_imported(1, 0),
            @"Imported 1 saved reply (1 created, 0 updated).");
        insta::assert_snapshot!(saved_replies_import_refused("replies.csv", 2),
            @"Nothing was imported: replies.csv has 2 problems.");
        insta::assert_snapshot!(csv_line_problem(4, &csv_duplicate_name("Refunds", 2)),
            @"line 4: “Refunds” is already on line 2 (names ignore case).");
        insta::assert_snapshot!(csv_bad_header("title,text"),
            @"The first line must be the header `name,body`; found `title,text`.");
        insta::assert_snapshot!(csv_wrong_field_count(3),
            @"A row needs 2 fields, name and body; this one has 3.");
        insta::assert_snapshot!(saved_reply_name_taken("Refunds"),
            @"A saved reply named “Refunds” already exists (names ignore case).");
        insta::assert_snapshot!(saved_reply_not_found(7), @"There is no saved reply with id 7.");
    }
}

#[cfg(test)]
mod attachment_tests {
    use super::*;
    use crate::core::model::Attachment;

    #[test]
    fn snapshots_of_attachment_lines() {
        let with_url = Attachment {
            kind: "image".into(),
            url: Some("https://scontent.example/img.jpg".into()),
            media_id: None,
            caption: None,
            mime_type: None,
        };
        insta::assert_snapshot!(attachment(&with_url), @"📎 image — https://scontent.example/img.jpg");
        let media = Attachment {
            kind: "document".into(),
            url: None,
            media_id: Some("1013859600285441".into()),
            caption: Some("invoice.pdf".into()),
            mime_type: Some("application/pdf".into()),
        };
        insta::assert_snapshot!(attachment(&media), @"📎 document: invoice.pdf (media 1013859600285441, open it on the network)");
    }
}

#[cfg(test)]
mod discord_text_tests {
    use super::*;

    #[test]
    fn snapshots_of_discord_texts() {
        insta::assert_snapshot!(saved_reply_show(3, "Hours", "We open at 8.").annotated(), @r"
        *⟨Hours⟩* (saved reply 3)
        ⟨We open at 8.⟩
        ");
        insta::assert_snapshot!(DISCORD_UNKNOWN_SERVER, @"Switchboard is not set up for this server: ask an admin to add it under [[discord.servers]].");
        insta::assert_snapshot!(discord_help("inbox"), @"
        *Switchboard* mirrors your social accounts here as cards.
        • Use the card's buttons to mark it read or unread, close or reopen it, assign it, tag it or reply.
        • Write in the card's thread to reply to the customer (unless the channel is in explicit mode); start with `note:` to keep it internal.
        `/inbox queue` lists a queue; `/inbox bulk` acts on every ticket matching a filter (`status:unread,read,closed` `assignee:me|none|any|team:<name>` `network:facebook|instagram|whatsapp|youtube|google` `account:<id>` `type:public|private`).
        `/inbox saved find|new|edit|delete` manages saved replies; `/inbox assign` assigns a ticket with a note; `/inbox away` keeps round-robin from giving you new tickets while you are away; `/inbox stats` shows this channel's statistics (only you see them).
        Admins: `/inbox connect` connects an account (such as a YouTube channel or a Google Business Profile) to this channel; `/inbox accounts` lists connected accounts; `/inbox disconnect` removes one.
        ");
    }
}

#[cfg(test)]
mod authz_text_tests {
    use super::*;
    use crate::core::permission::Permission;

    #[test]
    fn snapshots_of_channel_and_bulk_refusals() {
        insta::assert_snapshot!(NOT_AN_INBOX_CHANNEL, @":no_entry: This channel is not an inbox: no account or routing rule sends tickets here, so there is nothing to list or change. Run the command in the channel whose tickets you mean. Nothing was changed.");
        insta::assert_snapshot!(ticket_not_here(42), @":no_entry: Ticket #42 is not in this channel: act on it from the channel its card is in. Nothing was changed.");
        insta::assert_snapshot!(refused(Permission::Bulk), @":no_entry: You are not allowed to mark tickets read or unread in bulk here (`permissions.bulk` in Switchboard's configuration). Nothing was changed.");
        insta::assert_snapshot!(refused_bulk(false), @":no_entry: You are not allowed to mark tickets read or unread in bulk here (`permissions.bulk`, which is `permissions.close` while it is not set, in Switchboard's configuration). Nothing was changed.");
        assert_eq!(refused_bulk(true), refused(Permission::Bulk));
    }
}

#[cfg(test)]
mod account_text_tests {
    use super::*;

    #[test]
    fn snapshots_of_connected_account_texts() {
        insta::assert_snapshot!(
            account_connected(Network::Google, &["Downtown".into(), "<!here> Airport".into()]).annotated(),
            @"✅ Google Business Profile location *⟨Downtown⟩*, *⟨<!here> Airport⟩* connected — its reviews come here"
        );
        insta::assert_snapshot!(
            account_needs_reconnect(Network::Youtube, "Acme TV", "Token has been revoked.", "/inbox").annotated(),
            @"⚠️ YouTube account *⟨Acme TV⟩* needs reconnecting: its access was refused (⟨Token has been revoked.⟩). Its conversations are not fetched until then. An admin runs `/inbox connect youtube` in this channel to reconnect it."
        );
        insta::assert_snapshot!(
            account_token_expiring(
                Network::Linkedin,
                "<!here> Acme",
                chrono::DateTime::from_timestamp(1_780_000_000, 0).expect("time"),
                "/switchboard"
            )
            .annotated(),
            @"⏳ LinkedIn account *⟨<!here> Acme⟩*: its access ends on 2026-05-28 20:26 UTC and cannot be renewed automatically. Before then, an admin runs `/switchboard connect linkedin` in this channel and signs in again; nothing else changes."
        );
        insta::assert_snapshot!(
            format!("{OAUTH_CHOOSE_TITLE}: {OAUTH_CHOOSE_PAGE}"),
            @"Choose what to connect: Your sign-in gives access to several accounts. Pick the one whose conversations should come to the channel where you ran the connect command (to connect another, run the command again). These choices work once, for 10 minutes."
        );
        let lines = [
            AccountLine {
                id: 1,
                network: Network::Youtube,
                name: "Acme TV",
                unhealthy: None,
                last_error: None,
            },
            AccountLine {
                id: 2,
                network: Network::Google,
                name: "Downtown",
                unhealthy: Some("invalid_grant"),
                last_error: None,
            },
        ];
        insta::assert_snapshot!(accounts_listing(&lines).annotated(), @r"
        *Connected accounts*
        `1` · YouTube · *⟨Acme TV⟩* · ✅ healthy
        `2` · Google · *⟨Downtown⟩* · ⚠️ needs reconnecting (⟨invalid_grant⟩)
        ");
        insta::assert_snapshot!(OAUTH_TRY_AGAIN, @"Switchboard could not save the connection just now, so nothing was connected. In a minute, open the link again (it works until it expires) or run the connect command again.");
        insta::assert_snapshot!(account_not_found(7), @"No connected account has id 7 (`accounts` lists them). Nothing was changed.");
        insta::assert_snapshot!(CONNECT_IN_A_DM, @":no_entry: Run `connect` in the channel the conversations should go to, not in a direct message. Nothing was changed.");
        insta::assert_snapshot!(DISCORD_ADMINS_ONLY, @"Only admins (`discord.permissions.admin`) connect, list and disconnect accounts. Nothing was changed.");
        insta::assert_snapshot!(DISCORD_CONNECT_ELSEWHERE, @":no_entry: Run `connect` in the text channel the conversations should go to: one listed under [[discord.servers]] (not a thread or a forum). Nothing was changed.");
    }
}

// ---- auto-assignment -------------------------------------------------------------------------

/// The card's line while its assignment is the one an auto-assignment rule made. The rule's
/// name is the configuration's: shown literally.
pub fn auto_assigned(rule: &str) -> Rich {
    Rich::ours(":robot_face: Assigned automatically by the rule ")
        .then_theirs(rule)
        .then(".")
}

/// Direct message to a teammate an auto-assignment rule gave a new ticket.
pub fn auto_assigned_dm(headline: &str, link: &str, rule: &str) -> Rich {
    Rich::ours(":robot_face: A new ticket was assigned to you automatically: ")
        .then_link(link, headline)
        .then(" (rule ")
        .then_theirs(rule)
        .then(").")
}

/// Thread notice when an auto-assignment rule gave a new ticket to a team. `group_mention` is
/// a mention.
pub fn auto_assigned_team(group_mention: &str, rule: &str) -> Rich {
    Rich::ours(format!(
        ":robot_face: This ticket was assigned automatically to {group_mention} (rule "
    ))
    .then_theirs(rule)
    .then(").")
}

/// `away` without `on` or `off`.
pub fn away_usage(command: &str) -> String {
    format!(
        "Use `{command} away on` while you are away (round-robin rules give you no new tickets) and `{command} away off` when you are back. Nothing was changed."
    )
}

/// `away on|off` accepted (ephemeral).
pub fn away_set(away: bool, command: &str) -> String {
    if away {
        format!(
            ":palm_tree: You are away: round-robin rules give you no new tickets until you run `{command} away off`. Tickets already yours stay yours."
        )
    } else {
        ":wave: Welcome back: round-robin rules give you new tickets again.".to_string()
    }
}

/// The line a queue listing starts with while its reader is away.
pub const AWAY_REMINDER: &str =
    ":palm_tree: You are marked away: round-robin rules give you no new tickets.";

#[cfg(test)]
mod auto_assign_text_tests {
    use super::*;

    #[test]
    fn snapshots_of_auto_assignment_texts() {
        let link = "https://slack.com/archives/C1/p1";
        insta::assert_snapshot!(
            auto_assigned("refunds <!here>").annotated(),
            @":robot_face: Assigned automatically by the rule ⟨refunds <!here>⟩."
        );
        insta::assert_snapshot!(
            auto_assigned_dm("Facebook comment on Acme", link, "refunds").annotated(),
            @":robot_face: A new ticket was assigned to you automatically: <https://slack.com/archives/C1/p1|⟨Facebook comment on Acme⟩> (rule ⟨refunds⟩)."
        );
        insta::assert_snapshot!(
            auto_assigned_team("<!subteam^S1>", "slack.auto_assign[0]").annotated(),
            @":robot_face: This ticket was assigned automatically to <!subteam^S1> (rule ⟨slack.auto_assign[0]⟩)."
        );
        insta::assert_snapshot!(away_usage("/switchboard"), @"Use `/switchboard away on` while you are away (round-robin rules give you no new tickets) and `/switchboard away off` when you are back. Nothing was changed.");
        insta::assert_snapshot!(away_set(true, "/switchboard"), @":palm_tree: You are away: round-robin rules give you no new tickets until you run `/switchboard away off`. Tickets already yours stay yours.");
        insta::assert_snapshot!(away_set(false, "/switchboard"), @":wave: Welcome back: round-robin rules give you new tickets again.");
        insta::assert_snapshot!(AWAY_REMINDER, @":palm_tree: You are marked away: round-robin rules give you no new tickets.");
    }
}

// ---- statistics -----------------------------------------------------------------------------

/// Teammates listed by a chat `stats` answer (the busiest; the CLI lists everyone).
pub const STATS_TEAMMATES_SHOWN: usize = 10;

/// A duration as people read it: "45 s", "12 min", "1 h 05 min", "2 d 03 h".
pub fn duration(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    let (days, hours, mins) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{mins} min"),
        3600..86_400 => format!("{hours} h {mins:02} min"),
        _ => format!("{days} d {hours:02} h"),
    }
}

/// "median 1 h 05 min · p90 3 h 10 min", or "—" when nothing was measured.
fn percentiles(d: &super::stats::Durations) -> String {
    match (d.p50, d.p90) {
        (Some(p50), Some(p90)) => format!("median {} · p90 {}", duration(p50), duration(p90)),
        _ => NOBODY.to_string(),
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n as usize), if n == 1 { one } else { many })
}

/// What `stats` was asked about, for its heading.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatsScope<'a> {
    pub network: Option<Network>,
    pub team: Option<&'a str>,
}

/// The answer to `stats`. `mention` is how the answering surface writes a teammate (`None`:
/// it cannot, e.g. a teammate of the other surface, or the terminal); then the teammate's
/// `surface:id` is shown literally. Tags and team names are other people's words.
pub fn stats_report(
    s: &super::stats::TeamStats,
    scope: StatsScope<'_>,
    mention: &dyn Fn(&Teammate) -> Option<Rich>,
    max_teammates: usize,
) -> Rich {
    let when = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    let mut out = Rich::ours(format!(
        "*Team statistics* · {} → {} UTC",
        when(s.period.from),
        when(s.period.to)
    ));
    if let Some(n) = scope.network {
        out = out.then(format!(" · {}", network_name(n)));
    }
    if let Some(team) = scope.team {
        out = out.then(" · team ").then_theirs(team);
    }
    if s.is_empty() {
        return out
            .then("\nNothing happened in this period: no ticket was opened, answered or closed.");
    }
    let networks: Vec<String> = s
        .by_network
        .iter()
        .map(|(n, c)| format!("{} {}", network_name(*n), count(*c as usize)))
        .collect();
    let kinds: Vec<String> = s
        .by_kind
        .iter()
        .map(|(k, c)| format!("{} {}", item_kind(*k), count(*c as usize)))
        .collect();
    out = out.then(format!("\n*Tickets opened:* {}", count(s.opened as usize)));
    if s.opened > 0 {
        out = out.then(format!(" ({}; {})", networks.join(", "), kinds.join(", ")));
    }
    let clock = if s.business_hours {
        "business hours"
    } else {
        "wall clock"
    };
    out = out.then(format!(
        "\n*First response* ({clock}): {} · {} answered, {} not yet",
        percentiles(&s.first_response),
        count(s.first_response.count as usize),
        count(s.opened.saturating_sub(s.first_response.count) as usize),
    ));
    out = out.then(format!(
        "\n*Resolution* ({clock}): {} · {} closed, {} still open",
        percentiles(&s.resolution),
        count(s.resolution.count as usize),
        count(s.opened.saturating_sub(s.resolution.count) as usize),
    ));
    if !s.sla.is_empty() {
        let lines: Vec<String> = s
            .sla
            .iter()
            .map(|c| {
                let target = match c.target {
                    super::model::SlaTarget::FirstResponse => "first response",
                    super::model::SlaTarget::NextResponse => "next response",
                };
                format!(
                    "{target} {} met, {} breached",
                    count(c.met as usize),
                    count(c.breached as usize)
                )
            })
            .collect();
        out = out.then(format!("\n*SLA:* {}", lines.join(" · ")));
    }
    out = out.then(format!(
        "\n*Auto-closed:* {}",
        count(s.auto_closed as usize)
    ));
    if !s.teammates.is_empty() {
        out = out.then("\n*Teammates:*");
        for t in s.teammates.iter().take(max_teammates) {
            out = out.then("\n• ");
            out = match mention(&t.teammate) {
                Some(m) => out.then_rich(m),
                None => {
                    out.then_theirs(format!("{}:{}", t.teammate.surface.as_str(), t.teammate.id))
                }
            };
            let median = match t.median_first_response {
                Some(d) => format!(" · median first response {}", duration(d)),
                None => String::new(),
            };
            out = out.then(format!(
                ": {} · {} closed{median}",
                plural(t.replies, "reply", "replies"),
                count(t.closed as usize),
            ));
        }
        if s.teammates.len() > max_teammates {
            out = out.then(format!(
                "\n…and {} more (`switchboard stats` lists everyone)",
                count(s.teammates.len() - max_teammates)
            ));
        }
    }
    if !s.top_tags.is_empty() {
        out = out.then("\n*Top tags:* ");
        for (i, (tag, n)) in s.top_tags.iter().enumerate() {
            if i > 0 {
                out = out.then(" · ");
            }
            out = out
                .then_theirs(tag.as_str())
                .then(format!(" {}", count(*n as usize)));
        }
    }
    out
}

/// A `stats` argument that cannot be read (`reason` quotes what was typed).
pub fn stats_refused(reason: &str, command: &str) -> Rich {
    Rich::ours(":warning: ").then_theirs(reason).then(format!(
        ". Usage: `{command} stats [7d|30d|YYYY-MM-DD..YYYY-MM-DD] [network:<name>] [team:<name>]`."
    ))
}

#[cfg(test)]
mod stats_text_tests {
    use super::*;
    use crate::core::ids::{ChatUserId, Surface};
    use crate::core::model::SlaTarget;
    use crate::core::stats::{Durations, Period, SlaCounts, TeamStats, TeammateStats};
    use chrono::{Duration, TimeZone, Utc};

    fn slack(id: &str) -> Teammate {
        Teammate {
            surface: Surface::Slack,
            id: ChatUserId::new(id),
        }
    }

    fn sample() -> TeamStats {
        let from = Utc.with_ymd_and_hms(2026, 11, 27, 18, 0, 0).unwrap();
        TeamStats {
            period: Period {
                from,
                to: from + Duration::days(7),
            },
            business_hours: false,
            opened: 12,
            by_network: vec![(Network::Facebook, 7), (Network::Instagram, 5)],
            by_kind: vec![(ItemKind::Comment, 8), (ItemKind::DirectMessage, 4)],
            first_response: Durations {
                count: 10,
                p50: Some(Duration::minutes(65)),
                p90: Some(Duration::minutes(190)),
            },
            resolution: Durations {
                count: 9,
                p50: Some(Duration::hours(26)),
                p90: Some(Duration::days(3) + Duration::hours(4)),
            },
            sla: vec![
                SlaCounts {
                    target: SlaTarget::FirstResponse,
                    met: 8,
                    breached: 2,
                },
                SlaCounts {
                    target: SlaTarget::NextResponse,
                    met: 3,
                    breached: 0,
                },
            ],
            auto_closed: 2,
            teammates: vec![
                TeammateStats {
                    teammate: slack("U1"),
                    replies: 14,
                    closed: 5,
                    first_responses: 6,
                    median_first_response: Some(Duration::seconds(2400)),
                },
                TeammateStats {
                    teammate: Teammate {
                        surface: Surface::Discord,
                        id: ChatUserId::new("<@&1>"),
                    },
                    replies: 1,
                    closed: 0,
                    first_responses: 0,
                    median_first_response: None,
                },
            ],
            top_tags: vec![("billing".into(), 4), ("<!channel> vip".into(), 2)],
        }
    }

    fn slack_only(t: &Teammate) -> Option<Rich> {
        (t.surface == Surface::Slack).then(|| Rich::ours(format!("<@{}>", t.id)))
    }

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(duration(Duration::seconds(45)), "45 s");
        assert_eq!(duration(Duration::seconds(-5)), "0 s");
        assert_eq!(duration(Duration::minutes(12)), "12 min");
        assert_eq!(duration(Duration::minutes(65)), "1 h 05 min");
        assert_eq!(duration(Duration::hours(51)), "2 d 03 h");
    }

    #[test]
    fn snapshots_of_the_stats_answer() {
        insta::assert_snapshot!(
            stats_report(&sample(), StatsScope { network: None, team: Some("support") }, &slack_only, 10).annotated(),
            @r"
        *Team statistics* · 2026-11-27 18:00 → 2026-12-04 18:00 UTC · team ⟨support⟩
        *Tickets opened:* 12 (Facebook 7, Instagram 5; comment 8, message 4)
        *First response* (wall clock): median 1 h 05 min · p90 3 h 10 min · 10 answered, 2 not yet
        *Resolution* (wall clock): median 1 d 02 h · p90 3 d 04 h · 9 closed, 3 still open
        *SLA:* first response 8 met, 2 breached · next response 3 met, 0 breached
        *Auto-closed:* 2
        *Teammates:*
        • <@U1>: 14 replies · 5 closed · median first response 40 min
        • ⟨discord:<@&1>⟩: 1 reply · 0 closed
        *Top tags:* ⟨billing⟩ 4 · ⟨<!channel> vip⟩ 2
        "
        );
        insta::assert_snapshot!(
            stats_report(&sample(), StatsScope { network: Some(Network::Facebook), team: None }, &slack_only, 1).annotated(),
            @r"
        *Team statistics* · 2026-11-27 18:00 → 2026-12-04 18:00 UTC · Facebook
        *Tickets opened:* 12 (Facebook 7, Instagram 5; comment 8, message 4)
        *First response* (wall clock): median 1 h 05 min · p90 3 h 10 min · 10 answered, 2 not yet
        *Resolution* (wall clock): median 1 d 02 h · p90 3 d 04 h · 9 closed, 3 still open
        *SLA:* first response 8 met, 2 breached · next response 3 met, 0 breached
        *Auto-closed:* 2
        *Teammates:*
        • <@U1>: 14 replies · 5 closed · median first response 40 min
        …and 1 more (`switchboard stats` lists everyone)
        *Top tags:* ⟨billing⟩ 4 · ⟨<!channel> vip⟩ 2
        "
        );
        let empty = crate::core::stats::summarise(sample().period, Default::default(), None);
        insta::assert_snapshot!(
            stats_report(&empty, StatsScope::default(), &slack_only, 10).annotated(),
            @r"
        *Team statistics* · 2026-11-27 18:00 → 2026-12-04 18:00 UTC
        Nothing happened in this period: no ticket was opened, answered or closed.
        "
        );
        insta::assert_snapshot!(
            stats_refused("`7x` is not a period", "/switchboard").annotated(),
            @":warning: ⟨`7x` is not a period⟩. Usage: `/switchboard stats [7d|30d|YYYY-MM-DD..YYYY-MM-DD] [network:<name>] [team:<name>]`."
        );
    }
}

// ---- storm mode -----------------------------------------------------------------------------

/// Characters of a customer's message a storm card or batch line shows.
pub const STORM_LINE_CHARS: usize = 200;

/// A customer's message on one line, cut to `max` characters.
fn storm_snippet(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// One storm message as a line: "• *Ana* (#12): text".
pub fn storm_line(line: &super::storm::StormLine) -> Rich {
    let text = if line.text.is_empty() {
        Rich::ours("_(removed)_")
    } else {
        Rich::theirs(storm_snippet(&line.text, STORM_LINE_CHARS))
    };
    Rich::ours("• *")
        .then_theirs(&line.author)
        .then(format!("* (#{}): ", line.ticket.0))
        .then_rich(text)
}

/// The storm card's text (`since`: when it started, in the surface's date markup).
pub fn storm_card(view: &super::storm::StormView, since: &str) -> Rich {
    let post = match (&view.link, &view.subject) {
        (Some(link), Some(subject)) => Rich::new().then_link(link, subject),
        (Some(link), None) => Rich::new().then_link(link, "the post"),
        (None, Some(subject)) => Rich::theirs(subject),
        (None, None) => Rich::ours("one post"),
    };
    let mut card = match view.ended_at {
        None => Rich::ours(":cyclone: *Comment storm* on ")
            .then_rich(post)
            .then(format!("\n*{}* comments since ", view.count))
            .then_native(since)
            .then(format!(" · {} in the last minute", view.per_minute)),
        Some(end) => Rich::ours(":white_check_mark: *Comment storm over* on ")
            .then_rich(post)
            .then(format!(
                "\n*{}* comments in {} · *{}* open, {} closed",
                view.count,
                duration(end - view.started_at),
                view.open,
                view.closed
            )),
    };
    if !view.keywords.is_empty() {
        card = card.then("\n*Top words:* ");
        for (i, (word, n)) in view.keywords.iter().enumerate() {
            if i > 0 {
                card = card.then(" · ");
            }
            card = card.then_theirs(word).then(format!(" {n}"));
        }
    }
    if !view.newest.is_empty() && view.ended_at.is_none() {
        card = card.then("\n*Newest:*");
        for l in &view.newest {
            card = card.then("\n").then_rich(storm_line(l));
        }
    }
    card.then(match view.ended_at {
        None => "\nEvery comment is its own ticket: the thread lists them all. A customer who writes again after the storm, or a comment you open, gets its own card.",
        Some(_) => "\nThe thread lists every comment; open any of them as a card below.",
    })
}

/// A storm comment as a menu choice ("#12 Ana: text"): plain text, which both surfaces show
/// literally, with invisible characters taken out. Each surface cuts it to its limit.
pub fn storm_choice(line: &super::storm::StormLine) -> String {
    use super::rich::visible;
    format!(
        "#{} {}: {}",
        line.ticket.0,
        visible(&line.author),
        visible(&line.text)
    )
}

/// A batch of storm messages posted in the storm card's thread.
pub fn storm_batch(lines: &[super::storm::StormLine]) -> Rich {
    let mut batch = Rich::new();
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            batch = batch.then("\n");
        }
        batch = batch.then_rich(storm_line(l));
    }
    batch
}

/// The first line of a storm thread batch on Discord: how many comments follow and the first
/// and last ticket. Discord keeps no metadata on a message, so a retry after a lost answer
/// finds an earlier batch by this line ([`storm_batch_range`] reads it back).
pub fn storm_batch_heading(count: usize, first: super::TicketId, last: super::TicketId) -> String {
    if count <= 1 {
        format!("1 comment, #{}", first.0)
    } else {
        format!("{count} comments, #{} to #{}", first.0, last.0)
    }
}

/// A storm batch under its [`storm_batch_heading`] (Discord's batches).
pub fn storm_batch_headed(lines: &[super::storm::StormLine]) -> Rich {
    let (Some(first), Some(last)) = (lines.first(), lines.last()) else {
        return Rich::new();
    };
    Rich::ours(storm_batch_heading(lines.len(), first.ticket, last.ticket))
        .then("\n")
        .then_rich(storm_batch(lines))
}

/// The count, first and last ticket a [`storm_batch_heading`] names; `None` for any other
/// line.
pub fn storm_batch_range(line: &str) -> Option<(usize, super::TicketId, super::TicketId)> {
    let ticket = |s: &str| {
        s.strip_prefix('#')?
            .parse::<i64>()
            .ok()
            .map(super::TicketId)
    };
    if let Some(one) = line.strip_prefix("1 comment, ") {
        let t = ticket(one)?;
        return Some((1, t, t));
    }
    let (count, rest) = line.split_once(" comments, ")?;
    let count = count.parse::<usize>().ok().filter(|n| *n > 1)?;
    let (first, last) = rest.split_once(" to ")?;
    Some((count, ticket(first)?, ticket(last)?))
}

/// The storm card's buttons and menu.
pub const STORM_CLOSE_ALL: &str = "Close all";
pub const STORM_ASSIGN_ME: &str = "Assign all to me";
pub const STORM_OPEN_CARD: &str = "Open a comment as a card";
pub const STORM_CLOSE_CONFIRM: &str = "Close every open ticket of this storm?";
pub const STORM_TAG_ALL: &str = "Tag all…";
pub const STORM_REPLY_SELECTED: &str = "Reply to selected…";
pub const STORM_REPLY_TITLE: &str = "Reply to comments";
pub const STORM_REPLY_COMMENTS: &str = "Comments";
pub const STORM_REPLY_SAVED: &str = "Saved reply";
pub const STORM_REPLY_NONE_CHOSEN: &str = "Choose at least one comment.";
pub const STORM_REPLY_NO_SAVED: &str = "Choose a saved reply.";
/// "Reply to selected" on a storm whose comments are all answered or closed.
pub const STORM_REPLY_NOTHING_OPEN: &str = "Every comment of this storm is answered or closed: there is nothing to reply to. Nothing was changed.";
/// A storm control without its choice (a stale menu).
pub const STORM_NOTHING_CHOSEN: &str = "Nothing was chosen. Nothing was changed.";
/// The storm's open comments did not fit the editor: the newest are offered.
pub const STORM_REPLY_HINT: &str = "The newest open comments; each gets the saved reply with its author's name filled in, and its own card.";
/// [`STORM_REPLY_HINT`] within Discord's 100 characters of a label's description.
pub const STORM_REPLY_HINT_SHORT: &str =
    "The newest open comments; each gets the saved reply with its author's name, and its own card.";
/// Nothing to reply with.
pub const STORM_REPLY_NO_LIBRARY: &str =
    ":warning: There are no saved replies yet: create one with `saved new`. Nothing was changed.";

/// What "reply to selected" did.
pub fn storm_replies_queued(queued: usize, skipped: usize) -> String {
    match skipped {
        0 => format!(":white_check_mark: {queued} replies queued."),
        n => format!(
            ":white_check_mark: {queued} replies queued; {n} comments skipped (no longer in this storm, or the reply does not fit there)."
        ),
    }
}
pub const STORM_ASSIGN_TO: &str = "Assign all to…";
pub const STORM_ASSIGN_TEAM: &str = "Assign all to team…";
/// Discord's "Assign all to team…" modal: its title and its select's label.
pub const STORM_ASSIGN_TEAM_TITLE: &str = "Assign all to a team";
pub const STORM_TEAM_LABEL: &str = "Team";
pub const STORM_HIDE_MATCHING: &str = "Hide all containing…";
pub const STORM_HIDE_TITLE: &str = "Hide comments";
pub const STORM_HIDE_CONFIRM: &str =
    "Hide on the network every comment of this storm that contains the chosen word?";
/// The menu of the storm's top words to hide (the "Hide all containing…" button takes a typed
/// word).
pub const STORM_HIDE_TOP_WORD: &str = "Hide all containing a top word…";
/// The "Hide all containing…" form: its input's label and hint.
pub const STORM_HIDE_WORD_LABEL: &str = "Word or phrase";
pub const STORM_HIDE_WORD_HINT: &str =
    "Comments of this storm containing it (whole words, any case) are hidden after you confirm.";

/// A typed word to hide that is empty, too long or no word at all.
pub fn storm_hide_word_refused() -> String {
    format!(
        ":warning: Type a word or phrase of 1 to {} characters, with letters or digits. Nothing was changed.",
        super::storm::MAX_CHOICE_CHARS
    )
}

/// A form Slack did not open (its trigger expired, Slack was away): nothing was changed.
pub const FORM_NOT_OPENED: &str =
    ":warning: Slack did not open the form. Nothing was changed; click again.";

/// Slack's form asks, then hides: its buttons.
pub const NEXT: &str = "Next";
pub const STORM_HIDE_SUBMIT: &str = "Hide";

/// The form's confirmation step: how many comments contain the typed word, literally.
pub fn storm_hide_count(word: &str, matched: usize) -> Rich {
    let comments = if matched == 1 { "comment" } else { "comments" };
    Rich::ours(format!(
        "Hide on the network the {matched} {comments} of this storm that contain "
    ))
    .then_theirs(word)
    .then("? They stay in the inbox as tickets.")
}

/// Discord's confirmation for hiding (it has no confirm dialog): the word, literally.
pub fn storm_hide_confirm(word: &str) -> Rich {
    Rich::ours("Hide on the network every comment of this storm that contains ")
        .then_theirs(word)
        .then("?")
}

/// The answer to "open as card".
pub fn storm_card_opened(ticket: super::TicketId) -> String {
    format!(":white_check_mark: Ticket #{} gets its own card.", ticket.0)
}

/// "Assign all to team" naming a team that is not configured.
pub const NO_SUCH_TEAM: &str = "That team is not configured. Nothing was changed.";

/// A storm control of a storm that is no longer known.
pub const NO_SUCH_STORM: &str = "That storm is no longer known.";

/// A storm action refused because the storm is another channel's.
pub const STORM_NOT_HERE: &str = ":no_entry: This storm belongs to another channel.";

#[cfg(test)]
mod storm_tests {
    use chrono::{DateTime, Duration};

    use super::*;
    use crate::core::storm::{StormLine, StormView};

    fn t(s: i64) -> DateTime<chrono::Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn view(ended: bool) -> StormView {
        let line = |seq: i64, author: &str, text: &str| StormLine {
            seq,
            ticket: crate::core::TicketId(seq + 100),
            author: author.into(),
            text: text.into(),
            at: t(seq),
            status: Status::Unread,
            answered: false,
        };
        StormView {
            id: 3,
            count: 240,
            per_minute: 57,
            started_at: t(0),
            ended_at: ended.then(|| t(0) + Duration::minutes(14)),
            subject: Some("Launch *video*".into()),
            link: Some("https://www.facebook.com/1/posts/2".into()),
            newest: vec![
                line(2, "<!channel> Eve", "Refund *now* <https://x.y|click>"),
                line(1, "Bo", &"long ".repeat(80)),
            ],
            keywords: vec![("refund".into(), 40), ("<@U1>".into(), 3)],
            open: 200,
            closed: 40,
            choices: vec![],
            tags: vec![],
            teams: vec![],
            can_hide: false,
        }
    }

    #[test]
    fn the_storm_card_keeps_customer_words_literal() {
        insta::assert_snapshot!(storm_card(&view(false), "<!date^1800000000^{time}|12:00>").annotated(), @r"
        :cyclone: *Comment storm* on <https://www.facebook.com/1/posts/2|⟨Launch *video*⟩>
        *240* comments since ⟪<!date^1800000000^{time}|12:00>⟫ · 57 in the last minute
        *Top words:* ⟨refund⟩ 40 · ⟨<@U1>⟩ 3
        *Newest:*
        • *⟨<!channel> Eve⟩* (#102): ⟨Refund *now* <https://x.y|click>⟩
        • *⟨Bo⟩* (#101): ⟨long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long…⟩
        Every comment is its own ticket: the thread lists them all. A customer who writes again after the storm, or a comment you open, gets its own card.
        ");
        insta::assert_snapshot!(storm_card(&view(true), "").annotated(), @r"
        :white_check_mark: *Comment storm over* on <https://www.facebook.com/1/posts/2|⟨Launch *video*⟩>
        *240* comments in 14 min · *200* open, 40 closed
        *Top words:* ⟨refund⟩ 40 · ⟨<@U1>⟩ 3
        The thread lists every comment; open any of them as a card below.
        ");
    }

    #[test]
    fn a_batch_lists_one_comment_per_line() {
        let v = view(false);
        insta::assert_snapshot!(storm_batch(&v.newest).annotated(), @r"
        • *⟨<!channel> Eve⟩* (#102): ⟨Refund *now* <https://x.y|click>⟩
        • *⟨Bo⟩* (#101): ⟨long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long…⟩
        ");
    }

    #[test]
    fn a_batch_heading_names_its_tickets_and_reads_back() {
        use crate::core::TicketId;
        let many = storm_batch_heading(5, TicketId(104), TicketId(131));
        let one = storm_batch_heading(1, TicketId(7), TicketId(7));
        insta::assert_snapshot!(format!("{many}\n{one}"), @r"
        5 comments, #104 to #131
        1 comment, #7
        ");
        assert_eq!(
            storm_batch_range(&many),
            Some((5, TicketId(104), TicketId(131)))
        );
        assert_eq!(storm_batch_range(&one), Some((1, TicketId(7), TicketId(7))));
        let v = view(false);
        insta::assert_snapshot!(storm_batch_headed(&v.newest).annotated(), @r"
        2 comments, #102 to #101
        • *⟨<!channel> Eve⟩* (#102): ⟨Refund *now* <https://x.y|click>⟩
        • *⟨Bo⟩* (#101): ⟨long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long…⟩
        ");
        assert_eq!(storm_batch_headed(&[]).annotated(), "");
        // Any other first line (a customer's, a teammate's) names nothing.
        for other in [
            "• *Ana* (#12): 5 comments, #1 to #2",
            "1 comments, #1 to #2",
            "5 comments, #1",
            "5 comments, #x to #2",
            "1 comment, #7 and more",
            "",
        ] {
            assert_eq!(storm_batch_range(other), None, "{other}");
        }
    }
}
