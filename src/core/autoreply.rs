//! Automatic replies (pure): a first-contact acknowledgement for private conversations, and an
//! out-of-hours answer saying when the team is back. At most one per customer message, and
//! at most one per conversation per period (`every`), so a customer writing five messages in
//! a row gets one. Public comments get none unless the channel says so. They are sent as any
//! reply is (through the outbox, reply windows checked), shown as automatic in the thread,
//! and never count as the team's response (SLA clocks and statistics ignore them).

use chrono::{DateTime, Duration, Utc};

use super::hours::Schedule;
use super::model::{ItemKind, TicketState};
use super::saved_reply::{FillError, Vars, fill};

/// The variable that holds the next opening time in an out-of-hours text.
pub const NEXT_OPEN: &str = "{next_open}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoReplyKind {
    FirstContact,
    OutOfHours,
}

/// A channel's automatic replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy<'a> {
    pub first_contact: Option<&'a str>,
    pub out_of_hours: Option<&'a str>,
    /// At most one automatic reply per conversation in this period.
    pub every: Duration,
    /// Public comments and posts get them too.
    pub public: bool,
}

/// Which automatic reply, if any, a customer message that arrived at `now` (written at
/// `written`) gets on a ticket in `state` (after the message was applied; `before`: as it
/// was, `None` for a new ticket). Out of hours wins over first contact; a first contact is
/// a new conversation or one quiet on both sides for the period (not a busy one).
pub fn choose<'a>(
    policy: &Policy<'a>,
    hours: Option<&Schedule>,
    before: Option<&TicketState>,
    state: &TicketState,
    written: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<(AutoReplyKind, &'a str)> {
    let private = state.kind == ItemKind::DirectMessage;
    if !private && !policy.public {
        return None;
    }
    // A backfilled message (written long before it arrived) gets none: "thanks for your
    // message" hours later reads wrong. The same rule keeps it from starting an SLA clock.
    if !super::sla::counts(written, now) {
        return None;
    }
    if state
        .auto_replied_at
        .is_some_and(|at| now - at < policy.every)
    {
        return None;
    }
    if let (Some(text), Some(hours)) = (policy.out_of_hours, hours)
        && !hours.is_open(now)
    {
        return Some((AutoReplyKind::OutOfHours, text));
    }
    let quiet = before.is_none_or(|b| {
        now - b.last_customer_at >= policy.every
            && b.last_reply_at.is_none_or(|r| now - r >= policy.every)
    });
    policy
        .first_contact
        .filter(|_| quiet)
        .map(|text| (AutoReplyKind::FirstContact, text))
}

/// The text as sent: `{author_name}`, `{account_name}` and `{next_open}` filled in (doubled
/// braces stay literal, as in saved replies). `{agent_name}` has no value here: nobody wrote
/// it, so it is refused like an unknown variable.
pub fn fill_text(
    body: &str,
    author_name: &str,
    account_name: &str,
    next_open: &str,
) -> Result<String, FillError> {
    // `{next_open}` rides in the agent's slot, which automatic replies have no other use for.
    let mut mapped = String::with_capacity(body.len());
    let mut rest = body;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("{{") {
            mapped.push_str("{{");
            rest = after;
        } else if let Some(after) = rest.strip_prefix(NEXT_OPEN) {
            mapped.push_str("{agent_name}");
            rest = after;
        } else if rest.starts_with("{agent_name}") {
            return Err(FillError::UnknownVariables(vec!["agent_name".into()]));
        } else {
            let c = rest.chars().next().unwrap_or_default();
            mapped.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    fill(
        &mapped,
        &Vars {
            author_name,
            account_name,
            agent_name: next_open,
        },
    )
}

/// When the team is next open, as the customer reads it: local time in the schedule's zone.
pub fn next_open_text(hours: &Schedule, now: DateTime<Utc>) -> String {
    match hours.next_open(now) {
        Some(at) => at
            .with_timezone(&hours.tz)
            .format("%A %-d %B, %H:%M %Z")
            .to_string(),
        None => super::text::NEXT_OPEN_UNKNOWN.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{Status, sample_ticket};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn office() -> Schedule {
        Schedule::parse("Europe/Berlin", &["mon-fri 09:00-17:00"], &[]).expect("parses")
    }

    fn policy() -> Policy<'static> {
        Policy {
            first_contact: Some("Thanks {author_name}!"),
            out_of_hours: Some("Back {next_open}."),
            every: Duration::hours(24),
            public: false,
        }
    }

    fn dm() -> TicketState {
        let mut s = sample_ticket(Status::Unread, "hi").state;
        s.kind = ItemKind::DirectMessage;
        s
    }

    #[test]
    fn which_reply_when() {
        let open = utc("2026-12-03T10:00:00Z"); // Thursday 11:00 Berlin
        let closed = utc("2026-12-05T10:00:00Z"); // Saturday
        let p = policy();
        let h = office();
        let kind =
            |state: &TicketState, now| choose(&p, Some(&h), None, state, now, now).map(|r| r.0);
        assert_eq!(kind(&dm(), open), Some(AutoReplyKind::FirstContact));
        assert_eq!(kind(&dm(), closed), Some(AutoReplyKind::OutOfHours));
        // Once per conversation per period.
        let mut replied = dm();
        replied.auto_replied_at = Some(open - Duration::hours(2));
        assert_eq!(kind(&replied, open), None);
        replied.auto_replied_at = Some(open - Duration::hours(25));
        assert_eq!(kind(&replied, open), Some(AutoReplyKind::FirstContact));
        // Public comments only when the channel says so.
        let comment = sample_ticket(Status::Unread, "hi").state;
        assert_eq!(kind(&comment, open), None);
        let public = Policy {
            public: true,
            ..policy()
        };
        assert!(choose(&public, Some(&h), None, &comment, open, open).is_some());
        // A message written long before it arrived (a backfill) gets none.
        assert_eq!(
            choose(&p, Some(&h), None, &dm(), open - Duration::hours(3), open),
            None
        );
        // Without business hours there is no "out of hours".
        assert_eq!(
            choose(&p, None, None, &dm(), closed, closed).map(|r| r.0),
            Some(AutoReplyKind::FirstContact)
        );
        let ooh_only = Policy {
            first_contact: None,
            ..policy()
        };
        assert_eq!(choose(&ooh_only, Some(&h), None, &dm(), open, open), None);
        // A conversation going on (the customer wrote an hour ago, or the team answered
        // then) gets no first-contact reply, however long since the last automatic one;
        // quiet for the period on both sides, it does.
        let mut busy = dm();
        busy.last_customer_at = open - Duration::hours(1);
        let first = |b: &TicketState| choose(&p, Some(&h), Some(b), &dm(), open, open).map(|r| r.0);
        assert_eq!(first(&busy), None);
        busy.last_customer_at = open - Duration::hours(30);
        busy.last_reply_at = Some(open - Duration::hours(2));
        assert_eq!(first(&busy), None);
        busy.last_reply_at = Some(open - Duration::hours(26));
        assert_eq!(first(&busy), Some(AutoReplyKind::FirstContact));
        // Out of hours still answers a busy conversation (once per period).
        busy.last_customer_at = closed - Duration::minutes(5);
        assert_eq!(
            choose(&p, Some(&h), Some(&busy), &dm(), closed, closed).map(|r| r.0),
            Some(AutoReplyKind::OutOfHours)
        );
    }

    #[test]
    fn texts_are_filled_and_next_open_is_local() {
        let h = office();
        let sat = utc("2026-12-05T10:00:00Z");
        assert_eq!(next_open_text(&h, sat), "Monday 7 December, 09:00 CET");
        assert_eq!(
            fill_text(
                "Hi {author_name}, back {next_open}. {{next_open}}",
                "Jo",
                "Acme",
                "Monday"
            )
            .unwrap(),
            "Hi Jo, back Monday. {next_open}"
        );
        assert!(fill_text("From {agent_name}", "Jo", "Acme", "x").is_err());
        assert!(fill_text("{nope}", "Jo", "Acme", "x").is_err());
        // A customer's name is inserted verbatim, never parsed for variables.
        assert_eq!(
            fill_text("Hi {author_name}", "{next_open}", "Acme", "Monday").unwrap(),
            "Hi {next_open}"
        );
    }
}
