//! Reply windows: Messenger and Instagram allow a reply within 24 hours of the customer's
//! last message (Messenger: 7 days with the HUMAN_AGENT tag, when the app has it); WhatsApp
//! allows free-form replies within 24 hours (after that, only templates). Comments have no
//! window.

use chrono::{DateTime, Duration, Utc};

use super::ids::Network;
use super::model::{ItemKind, Ticket};

/// The standard messaging window.
pub const STANDARD_WINDOW_HOURS: i64 = 24;
/// Messenger's window with the HUMAN_AGENT tag.
pub const HUMAN_AGENT_WINDOW_DAYS: i64 = 7;

/// How a reply may be sent right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// No window applies (comments, posts, mentions).
    None,
    /// Inside the standard window; `left` remains.
    Open { left: Duration },
    /// Outside the standard window but inside Messenger's human-agent window: send with the
    /// HUMAN_AGENT tag.
    HumanAgent { left: Duration },
    /// Closed: a free-form reply would be refused by the network.
    Closed,
}

impl Window {
    pub fn allows_reply(self) -> bool {
        !matches!(self, Window::Closed)
    }
}

/// The window of `ticket` at `now`. `human_agent` says whether the app may use Messenger's
/// HUMAN_AGENT tag.
pub fn window(ticket: &Ticket, now: DateTime<Utc>, human_agent: bool) -> Window {
    let s = &ticket.state;
    if s.kind != ItemKind::DirectMessage {
        return Window::None;
    }
    let since = now - s.last_customer_at;
    let standard = Duration::hours(STANDARD_WINDOW_HOURS);
    if since < standard {
        return Window::Open {
            left: standard - since,
        };
    }
    let extended = Duration::days(HUMAN_AGENT_WINDOW_DAYS);
    if s.network == Network::Facebook && human_agent && since < extended {
        return Window::HumanAgent {
            left: extended - since,
        };
    }
    Window::Closed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::decide::{Event, decide};
    use crate::core::ids::*;
    use crate::core::model::*;
    use chrono::TimeZone;

    fn dm(network: Network, kind: ItemKind, last: DateTime<Utc>) -> Ticket {
        let item = InboundItem {
            network,
            account: AccountId::new("1"),
            item_id: NetworkItemId::new("m1"),
            kind,
            post_id: NetworkItemId::new("m1"),
            customer: Customer {
                id: CustomerId::new("c"),
                name: None,
            },
            text: "hi".into(),
            created_at: last,
            permalink: None,
            attachments: Vec::new(),
            context: Default::default(),
        };
        let d = decide(None, &Event::CustomerMessage { item }, last).expect("opens");
        Ticket {
            id: TicketId(1),
            version: 1,
            state: d.state,
        }
    }

    #[test]
    fn windows_table() {
        let t0 = Utc
            .with_ymd_and_hms(2026, 11, 1, 9, 0, 0)
            .single()
            .expect("valid");
        let h = Duration::hours;
        use ItemKind::*;
        use Network::*;
        let cases = [
            (Facebook, Comment, h(500), false, Window::None),
            (
                Facebook,
                DirectMessage,
                h(1),
                false,
                Window::Open { left: h(23) },
            ),
            (Facebook, DirectMessage, h(25), false, Window::Closed),
            (
                Facebook,
                DirectMessage,
                h(25),
                true,
                Window::HumanAgent { left: h(143) },
            ),
            (Facebook, DirectMessage, h(24 * 8), true, Window::Closed),
            (Instagram, DirectMessage, h(25), true, Window::Closed),
            (
                Whatsapp,
                DirectMessage,
                h(23),
                false,
                Window::Open { left: h(1) },
            ),
            (Whatsapp, DirectMessage, h(24), false, Window::Closed),
        ];
        for (i, (network, kind, age, human, want)) in cases.into_iter().enumerate() {
            let t = dm(network, kind, t0);
            assert_eq!(window(&t, t0 + age, human), want, "case {i}");
        }
    }
}
