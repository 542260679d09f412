//! SLA clocks (pure): how long the team may take to answer a waiting customer, counted in
//! the channel's business hours. `decide` starts a clock when a customer starts waiting
//! (a new ticket: first response; a message after the team answered: next response) and stops
//! it at the team's reply or at closing; [`arm`] gives it its due and warning times from the
//! channel's policy; [`check`] says whether the SLA round should warn or record a breach.

use chrono::{DateTime, Duration, Utc};

use super::hours::Schedule;
use super::model::{SlaClock, SlaTarget};

/// The default share of the target after which the channel is warned, in percent.
pub const DEFAULT_WARN_PERCENT: u8 = 75;

/// A customer message written more than this long before Switchboard saw it (a backfill
/// when an account is connected, a poll after an outage) starts no SLA clock and gets no
/// automatic reply: the team could not have answered it in time, and a batch of breach
/// pings or late acknowledgements would bury the channel and the customers.
pub const MAX_MESSAGE_AGE_MINUTES: i64 = 60;

/// Whether a customer message written at `written` and seen at `now` starts a clock.
pub fn counts(written: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - written <= Duration::minutes(MAX_MESSAGE_AGE_MINUTES)
}

/// A channel's response targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaPolicy {
    pub first_response: Option<Duration>,
    pub next_response: Option<Duration>,
    /// Warn once this share of the target has passed (1–99).
    pub warn_percent: u8,
}

impl SlaPolicy {
    pub fn target(&self, target: SlaTarget) -> Option<Duration> {
        match target {
            SlaTarget::FirstResponse => self.first_response,
            SlaTarget::NextResponse => self.next_response,
        }
    }
}

/// Give `clock` its due and warning times from `policy`, counted in `hours` when the channel
/// has business hours (wall-clock time otherwise). A clock already armed keeps its times (a
/// policy changed since applies to the next clock). Whether anything changed.
pub fn arm(clock: &mut SlaClock, policy: Option<&SlaPolicy>, hours: Option<&Schedule>) -> bool {
    if clock.due.is_some() {
        return false;
    }
    let Some((policy, target)) = policy.and_then(|p| Some((p, p.target(clock.target)?))) else {
        return false;
    };
    let warn_after = target * i32::from(policy.warn_percent.clamp(1, 99)) / 100;
    let after = |d: Duration| match hours {
        Some(s) => s.advance(clock.since, d),
        None => Some(clock.since + d),
    };
    // A schedule that never opens has no due time: nothing to warn about.
    let Some(due) = after(target) else {
        return false;
    };
    clock.due = Some(due);
    clock.warn_at = after(warn_after);
    true
}

/// What the SLA round does about a clock at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Nothing,
    /// The warning threshold passed: ping once.
    Warn,
    /// The due time passed unanswered: ping once and record the breach (a breach found late
    /// skips the warning).
    Breach,
}

pub fn check(clock: &SlaClock, now: DateTime<Utc>) -> Check {
    let Some(due) = clock.due else {
        return Check::Nothing;
    };
    if now >= due {
        return if clock.breached {
            Check::Nothing
        } else {
            Check::Breach
        };
    }
    match clock.warn_at {
        Some(w) if now >= w && !clock.warned => Check::Warn,
        _ => Check::Nothing,
    }
}

/// Where a clock stands, for the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Due at this time.
    OnTrack { due: DateTime<Utc> },
    /// Past the warning threshold, due at this time.
    Warned { due: DateTime<Utc> },
    /// Missed: it was due at this time.
    Breached { due: DateTime<Utc> },
}

impl Standing {
    /// When the response is (or was) due.
    pub fn due(&self) -> DateTime<Utc> {
        match self {
            Standing::OnTrack { due } | Standing::Warned { due } | Standing::Breached { due } => {
                *due
            }
        }
    }
}

pub fn standing(clock: &SlaClock, now: DateTime<Utc>) -> Option<Standing> {
    let due = clock.due?;
    Some(if clock.breached || now >= due {
        Standing::Breached { due }
    } else if clock.warned || clock.warn_at.is_some_and(|w| now >= w) {
        Standing::Warned { due }
    } else {
        Standing::OnTrack { due }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn clock(target: SlaTarget, since: &str) -> SlaClock {
        SlaClock {
            target,
            since: utc(since),
            due: None,
            warn_at: None,
            warned: false,
            breached: false,
        }
    }

    fn policy() -> SlaPolicy {
        SlaPolicy {
            first_response: Some(Duration::minutes(60)),
            next_response: Some(Duration::minutes(240)),
            warn_percent: 75,
        }
    }

    #[test]
    fn wall_clock_targets_without_business_hours() {
        let mut c = clock(SlaTarget::FirstResponse, "2026-12-24T09:00:00Z");
        assert!(arm(&mut c, Some(&policy()), None));
        assert_eq!(c.due, Some(utc("2026-12-24T10:00:00Z")));
        assert_eq!(c.warn_at, Some(utc("2026-12-24T09:45:00Z")));
        // Armed once: a second arm changes nothing.
        assert!(!arm(&mut c, Some(&policy()), None));

        let mut n = clock(SlaTarget::NextResponse, "2026-12-24T09:00:00Z");
        arm(&mut n, Some(&policy()), None);
        assert_eq!(n.due, Some(utc("2026-12-24T13:00:00Z")));
    }

    #[test]
    fn clocks_pause_outside_business_hours() {
        let office = Schedule::parse("Europe/Berlin", &["mon-fri 09:00-17:00"], &["2026-12-25"])
            .expect("parses");
        // Thursday 16:30 Berlin: 30 min that day, then Friday is a holiday and the weekend is
        // closed, so the last 30 min run on Monday from 09:00 (08:00 UTC).
        let mut c = clock(SlaTarget::FirstResponse, "2026-12-24T15:30:00Z");
        assert!(arm(&mut c, Some(&policy()), Some(&office)));
        assert_eq!(c.due, Some(utc("2026-12-28T08:30:00Z")));
        // 45 min: 30 on Thursday, 15 on Monday.
        assert_eq!(c.warn_at, Some(utc("2026-12-28T08:15:00Z")));
        // Over the holiday weekend nothing is due.
        assert_eq!(check(&c, utc("2026-12-26T12:00:00Z")), Check::Nothing);
        assert_eq!(check(&c, utc("2026-12-28T08:20:00Z")), Check::Warn);
        assert_eq!(check(&c, utc("2026-12-28T08:30:00Z")), Check::Breach);
    }

    #[test]
    fn no_policy_or_no_target_leaves_the_clock_unarmed() {
        let mut c = clock(SlaTarget::NextResponse, "2026-12-24T09:00:00Z");
        assert!(!arm(&mut c, None, None));
        let first_only = SlaPolicy {
            next_response: None,
            ..policy()
        };
        assert!(!arm(&mut c, Some(&first_only), None));
        assert_eq!(c.due, None);
        assert_eq!(check(&c, utc("2027-01-01T00:00:00Z")), Check::Nothing);
        assert_eq!(standing(&c, utc("2027-01-01T00:00:00Z")), None);
        // A schedule that never opens gives no due time rather than a breach.
        let closed = Schedule::parse("UTC", &[], &[]).expect("parses");
        let mut f = clock(SlaTarget::FirstResponse, "2026-12-24T09:00:00Z");
        assert!(!arm(&mut f, Some(&policy()), Some(&closed)));
    }

    #[test]
    fn warn_once_then_breach_once() {
        let mut c = clock(SlaTarget::FirstResponse, "2026-12-24T09:00:00Z");
        arm(&mut c, Some(&policy()), None);
        let at = |s| check(&c, utc(s));
        assert_eq!(at("2026-12-24T09:44:59Z"), Check::Nothing);
        assert_eq!(at("2026-12-24T09:45:00Z"), Check::Warn);
        c.warned = true;
        assert_eq!(check(&c, utc("2026-12-24T09:50:00Z")), Check::Nothing);
        assert_eq!(
            standing(&c, utc("2026-12-24T09:50:00Z")),
            Some(Standing::Warned {
                due: utc("2026-12-24T10:00:00Z")
            })
        );
        assert_eq!(check(&c, utc("2026-12-24T10:00:00Z")), Check::Breach);
        c.breached = true;
        assert_eq!(check(&c, utc("2026-12-24T11:00:00Z")), Check::Nothing);
        // Found late (the service was down): straight to the breach, no warning first.
        let mut late = clock(SlaTarget::FirstResponse, "2026-12-24T09:00:00Z");
        arm(&mut late, Some(&policy()), None);
        assert_eq!(check(&late, utc("2026-12-24T12:00:00Z")), Check::Breach);
        assert_eq!(
            standing(&late, utc("2026-12-24T09:10:00Z")),
            Some(Standing::OnTrack {
                due: utc("2026-12-24T10:00:00Z")
            })
        );
    }
}
