//! Every sentence a user reads, in one place, so wording is reviewed together and pinned by
//! snapshot tests. Chat surfaces pass a `mention` function for how they write a teammate.

use super::action::CardAction;
use super::ids::{Network, Teammate};
use super::model::{FailureReason, ItemKind, Status};

pub fn network_name(network: Network) -> &'static str {
    match network {
        Network::Facebook => "Facebook",
    }
}

pub fn item_kind(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Comment => "comment",
        ItemKind::VisitorPost => "visitor post",
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
    }
}

pub const NOBODY: &str = "—";
pub const VIEW_ON_NETWORK: &str = "View on Facebook";
pub const DELETED_MARK: &str = "deleted by the customer";
pub const EDITED_MARK: &str = "edited";
pub const UNKNOWN_AUTHOR: &str = "Someone";

/// The one-line state summary shown on every card.
pub fn status_line(
    status: Status,
    assignee: Option<&Teammate>,
    tags: &[String],
    last_replied_by: Option<&Teammate>,
    mention: &dyn Fn(&Teammate) -> String,
) -> String {
    let assignee = assignee.map(mention).unwrap_or_else(|| NOBODY.to_string());
    let tags = if tags.is_empty() {
        NOBODY.to_string()
    } else {
        tags.join(", ")
    };
    let replied = last_replied_by
        .map(mention)
        .unwrap_or_else(|| NOBODY.to_string());
    format!(
        "*{}* · Assignee: {assignee} · Tags: {tags} · Last replied by: {replied}",
        self::status(status)
    )
}

/// Plain words for why a reply did not reach the customer.
pub fn failure_reason(reason: &FailureReason) -> String {
    match reason {
        FailureReason::TokenExpired => {
            "the Page's access token has expired or was revoked; reconnect the Page and send the reply again".into()
        }
        FailureReason::PermissionDenied => {
            "the app is missing a permission on the Page needed to reply".into()
        }
        FailureReason::ItemDeleted => {
            "the comment was deleted (or hidden) on Facebook, so there is nothing to reply to".into()
        }
        FailureReason::RateLimited => {
            "Facebook kept rate-limiting us and we gave up; try again in a few minutes".into()
        }
        FailureReason::Rejected(msg) => format!("Facebook rejected the reply: {msg}"),
        FailureReason::AccountNotConfigured => {
            "no access token is configured for this Page in Switchboard".into()
        }
        FailureReason::Other(msg) => format!("an unexpected error from Facebook: {msg}"),
    }
}

/// Posted in the card's thread when a reply fails for good.
pub fn reply_failed(author: &str, reason: &FailureReason) -> String {
    format!(
        ":warning: {author}, your reply was *not delivered*: {}.",
        failure_reason(reason)
    )
}

/// The card's warning line while the latest reply has failed.
pub fn card_failure(reason: &FailureReason) -> String {
    format!(":warning: Last reply failed: {}.", failure_reason(reason))
}

/// A customer message mirrored into the card's thread.
pub fn thread_customer_message(author: &str, text: &str, edited: bool, deleted: bool) -> String {
    if deleted {
        return format!("*{author}*: ~{text}~ _({DELETED_MARK})_");
    }
    let mark = if edited {
        format!(" _({EDITED_MARK})_")
    } else {
        String::new()
    };
    format!("*{author}*: {text}{mark}")
}

/// Plain-text fallback of a card (notifications, screen readers).
pub fn card_fallback(headline: &str, author: &str, text: &str) -> String {
    format!("New {headline} from {author}: {text}")
}

/// Answer to `/<command>` and `/<command> help`.
pub fn command_help(command: &str) -> String {
    format!(
        "*Switchboard* mirrors your Facebook Page comments here as cards.\n\
         • Use the card's buttons to mark it read or unread, close or reopen it.\n\
         • Write in the card's thread to reply to the customer on Facebook.\n\
         • Start a thread message with `note:` to keep it internal.\n\
         `{command} help` shows this message."
    )
}

/// Answer to an unknown subcommand.
pub fn command_unknown(command: &str, word: &str) -> String {
    format!("`{command} {word}` is not a command I know. Try `{command} help`.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::{ChatUserId, Surface};

    fn slack_mention(t: &Teammate) -> String {
        format!("<@{}>", t.id)
    }

    #[test]
    fn snapshots_of_card_text() {
        let ana = Teammate {
            surface: Surface::Slack,
            id: ChatUserId::new("U1"),
        };
        insta::assert_snapshot!(
            card_headline(Network::Facebook, ItemKind::Comment, "Acme Coffee"),
            @"Facebook comment on Acme Coffee"
        );
        insta::assert_snapshot!(
            status_line(Status::Unread, None, &[], None, &slack_mention),
            @"*Unread* · Assignee: — · Tags: — · Last replied by: —"
        );
        insta::assert_snapshot!(
            status_line(Status::Closed, Some(&ana), &["billing".into(), "vip".into()], Some(&ana), &slack_mention),
            @"*Closed* · Assignee: <@U1> · Tags: billing, vip · Last replied by: <@U1>"
        );
        insta::assert_snapshot!(
            thread_customer_message("Jane", "where is my order?", true, false),
            @"*Jane*: where is my order? _(edited)_"
        );
        insta::assert_snapshot!(
            thread_customer_message("Jane", "rude words", false, true),
            @"*Jane*: ~rude words~ _(deleted by the customer)_"
        );
    }

    #[test]
    fn snapshots_of_failure_text() {
        insta::assert_snapshot!(
            reply_failed("<@U1>", &FailureReason::TokenExpired),
            @":warning: <@U1>, your reply was *not delivered*: the Page's access token has expired or was revoked; reconnect the Page and send the reply again."
        );
        insta::assert_snapshot!(
            card_failure(&FailureReason::ItemDeleted),
            @":warning: Last reply failed: the comment was deleted (or hidden) on Facebook, so there is nothing to reply to."
        );
        insta::assert_snapshot!(
            failure_reason(&FailureReason::Rejected("(#100) Message too long".into())),
            @"Facebook rejected the reply: (#100) Message too long"
        );
    }

    #[test]
    fn snapshots_of_command_answers() {
        insta::assert_snapshot!(command_unknown("/switchboard", "frobnicate"),
            @"`/switchboard frobnicate` is not a command I know. Try `/switchboard help`.");
        insta::assert_snapshot!(command_help("/switchboard"), @r"
        *Switchboard* mirrors your Facebook Page comments here as cards.
        • Use the card's buttons to mark it read or unread, close or reopen it.
        • Write in the card's thread to reply to the customer on Facebook.
        • Start a thread message with `note:` to keep it internal.
        `/switchboard help` shows this message.
        ");
    }
}
