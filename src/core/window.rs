//! Reply windows: some networks take a reply to a private conversation only within a time
//! after the customer's last message (Messenger and Instagram 24 hours, Messenger 7 days with
//! the HUMAN_AGENT tag when the app has it; WhatsApp 24 hours, then only templates). The
//! network's connector declares its rule ([`WindowRule`]); comments have none.

use chrono::{DateTime, Duration, Utc};

use super::capabilities::WindowRule;
use super::model::Ticket;

/// How a reply may be sent right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// No window applies (comments, posts, mentions).
    None,
    /// Inside the standard window; `left` remains.
    Open { left: Duration },
    /// Outside the standard window but inside the extended one (Messenger's human-agent
    /// window): send with the tag that opens it.
    Extended { left: Duration },
    /// Closed: a free-form reply would be refused by the network.
    Closed,
}

impl Window {
    pub fn allows_reply(self) -> bool {
        !matches!(self, Window::Closed)
    }
}

/// The window of `ticket` at `now` under its network's `rule`.
pub fn window(ticket: &Ticket, rule: &WindowRule, now: DateTime<Utc>) -> Window {
    let WindowRule::Messaging {
        standard_hours,
        extended_hours,
    } = *rule
    else {
        return Window::None;
    };
    let since = now - ticket.state.last_customer_at;
    let standard = Duration::hours(standard_hours);
    if since < standard {
        return Window::Open {
            left: standard - since,
        };
    }
    match extended_hours.map(Duration::hours) {
        Some(extended) if since < extended => Window::Extended {
            left: extended - since,
        },
        _ => Window::Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Status;
    use crate::core::model::sample_ticket;
    use chrono::TimeZone;

    #[test]
    fn windows_table() {
        let t0 = Utc
            .with_ymd_and_hms(2026, 11, 1, 9, 0, 0)
            .single()
            .expect("valid");
        let mut t = sample_ticket(Status::Unread, "hi");
        t.state.last_customer_at = t0;
        let h = Duration::hours;
        let day = WindowRule::Messaging {
            standard_hours: 24,
            extended_hours: None,
        };
        let tagged = WindowRule::Messaging {
            standard_hours: 24,
            extended_hours: Some(24 * 7),
        };
        let cases = [
            (WindowRule::None, h(500), Window::None),
            (day, h(1), Window::Open { left: h(23) }),
            (day, h(23), Window::Open { left: h(1) }),
            (day, h(24), Window::Closed),
            (day, h(25), Window::Closed),
            (tagged, h(25), Window::Extended { left: h(143) }),
            (tagged, h(24 * 7), Window::Closed),
            (tagged, h(24 * 8), Window::Closed),
        ];
        for (i, (rule, age, want)) in cases.into_iter().enumerate() {
            assert_eq!(window(&t, &rule, t0 + age), want, "case {i}");
        }
    }
}
