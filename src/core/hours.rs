//! Business hours (pure): a time zone, a weekly schedule and holiday dates answer "is it open
//! at this instant", "when does it open next" and "how much open time lies between two
//! instants" (SLA clocks pause outside business hours). Intervals may run past midnight
//! (`22:00-06:00`); local times are resolved in the zone, so a DST change shortens or
//! lengthens a day as it does for the team: a local time skipped by a spring-forward change
//! starts at the first instant after the gap, one repeated in autumn at its first occurrence.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

/// Days looked ahead for the next opening (a schedule closed for longer never opens).
const MAX_LOOKAHEAD_DAYS: i64 = 400;

/// One opening interval, in local time; `end <= start` runs past midnight into the next day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// A channel's or an account's business hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub tz: Tz,
    /// Opening intervals per weekday, Monday first, each starting on that day.
    pub week: [Vec<Interval>; 7],
    /// Local dates on which nothing opens (an interval from the evening before still runs on).
    pub holidays: BTreeSet<NaiveDate>,
}

/// Why a schedule could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("unknown time zone {0:?} (use an IANA name such as Europe/Berlin)")]
    Zone(String),
    #[error("{0:?} is not `<days> HH:MM-HH:MM` (days: mon, mon-fri, sat,sun, daily)")]
    Line(String),
    #[error("{0:?} is not a date (YYYY-MM-DD)")]
    Date(String),
}

impl Schedule {
    /// Read `lines` such as `mon-fri 09:00-17:30` or `sat 10:00-14:00, 15:00-18:00`, and
    /// holiday dates `YYYY-MM-DD`, in the IANA zone `tz`.
    pub fn parse(tz: &str, lines: &[&str], holidays: &[&str]) -> Result<Self, ScheduleError> {
        let tz: Tz = tz
            .parse()
            .map_err(|_| ScheduleError::Zone(tz.to_string()))?;
        let mut week: [Vec<Interval>; 7] = Default::default();
        for line in lines {
            let bad = || ScheduleError::Line(line.to_string());
            let (days, times) = line.trim().split_once(' ').ok_or_else(bad)?;
            let days = parse_days(days).ok_or_else(bad)?;
            for range in times.split(',') {
                let (a, b) = range.trim().split_once('-').ok_or_else(bad)?;
                let at = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| bad());
                let interval = Interval {
                    start: at(a)?,
                    end: at(b)?,
                };
                for d in &days {
                    week[d.num_days_from_monday() as usize].push(interval);
                }
            }
        }
        let holidays = holidays
            .iter()
            .map(|h| {
                NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d")
                    .map_err(|_| ScheduleError::Date(h.to_string()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { tz, week, holidays })
    }

    /// The opening intervals that start on local date `day`, as instants.
    fn openings(&self, day: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.holidays.contains(&day) {
            return Vec::new();
        }
        self.week[day.weekday().num_days_from_monday() as usize]
            .iter()
            .filter_map(|i| {
                let end_day = if i.end <= i.start {
                    day.succ_opt()?
                } else {
                    day
                };
                let start = self.instant(day, i.start)?;
                let end = self.instant(end_day, i.end)?;
                (end > start).then_some((start, end))
            })
            .collect()
    }

    /// A local date and time as an instant (see the module's DST rule).
    fn instant(&self, day: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
        let local = day.and_time(time);
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
            // In a spring-forward gap: the first minute after it.
            LocalResult::None => (1..=180).find_map(|m| {
                self.tz
                    .from_local_datetime(&(local + Duration::minutes(m)))
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
            }),
        }
    }

    /// Every opening interval that may touch `[from, to)`, in order.
    fn spans(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        // Start a day early: an interval from the evening before may still run.
        let first = from.with_timezone(&self.tz).date_naive() - Duration::days(1);
        let last = to.with_timezone(&self.tz).date_naive();
        let mut spans = Vec::new();
        let mut day = first;
        while day <= last {
            spans.extend(self.openings(day));
            match day.succ_opt() {
                Some(d) => day = d,
                None => break,
            }
        }
        spans.sort();
        spans
    }

    /// Whether it is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.spans(at, at).iter().any(|(s, e)| *s <= at && at < *e)
    }

    /// `at` itself when open, else the next opening; `None` when nothing opens within a year.
    pub fn next_open(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // A week at a time: the usual answer is found in the first.
        let week = Duration::days(7);
        let mut from = at;
        while from < at + Duration::days(MAX_LOOKAHEAD_DAYS) {
            let found = self
                .spans(from, from + week)
                .into_iter()
                .filter(|(_, e)| *e > at)
                .map(|(s, _)| s.max(at))
                .min();
            if found.is_some() {
                return found;
            }
            from += week;
        }
        None
    }

    /// The open time between `from` and `to` (zero when `to <= from`).
    pub fn open_time(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        // Overlapping intervals of one day are counted once.
        let mut total = Duration::zero();
        let mut covered_until = from;
        for (s, e) in self.spans(from, to) {
            let (s, e) = (s.max(covered_until), e.min(to));
            if e > s {
                total += e - s;
                covered_until = e;
            }
        }
        total
    }
}

impl Schedule {
    /// The instant at which `open` business time has passed since `from` (an SLA's due time):
    /// the clock runs only while open. `None` when the schedule does not open enough within
    /// a year.
    pub fn advance(&self, from: DateTime<Utc>, open: Duration) -> Option<DateTime<Utc>> {
        if open <= Duration::zero() {
            return Some(from);
        }
        let week = Duration::days(7);
        let mut left = open;
        let mut covered_until = from;
        let mut window = from;
        while window < from + Duration::days(MAX_LOOKAHEAD_DAYS) {
            for (s, e) in self.spans(window, window + week) {
                let (s, e) = (s.max(covered_until), e.min(window + week));
                if e <= s {
                    continue;
                }
                if e - s >= left {
                    return Some(s + left);
                }
                left -= e - s;
                covered_until = e;
            }
            window += week;
            covered_until = covered_until.max(window);
        }
        None
    }
}

fn parse_days(s: &str) -> Option<Vec<Weekday>> {
    let day = |d: &str| -> Option<Weekday> { d.trim().parse().ok() };
    if s == "daily" {
        return Some(vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]);
    }
    let mut out = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (mut d, end) = (day(a)?, day(b)?);
                loop {
                    out.push(d);
                    if d == end {
                        break;
                    }
                    d = d.succ();
                }
            }
            None => out.push(day(part)?),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn office() -> Schedule {
        Schedule::parse("Europe/Berlin", &["mon-fri 09:00-17:00"], &["2026-12-25"]).expect("parses")
    }

    #[test]
    fn advance_counts_only_open_time() {
        let s = office();
        let cases = [
            // Thursday 10:00 Berlin + 30 min: 10:30 the same day.
            ("2026-12-24T09:00:00Z", 30, "2026-12-24T09:30:00Z"),
            // Thursday 16:45 + 30 min: 15 min left for Monday (Friday is a holiday).
            ("2026-12-24T15:45:00Z", 30, "2026-12-28T08:15:00Z"),
            // Saturday: the clock starts on Monday's opening.
            ("2026-12-26T12:00:00Z", 60, "2026-12-28T09:00:00Z"),
            // Across the spring DST change: Friday 16:30 (UTC+1) + 60 min ends Monday 09:30
            // local, which is 07:30 UTC after the change.
            ("2026-03-27T15:30:00Z", 60, "2026-03-30T07:30:00Z"),
            // A whole working day (8 h) from Monday's opening ends at closing time.
            ("2026-12-28T08:00:00Z", 480, "2026-12-28T16:00:00Z"),
        ];
        for (from, minutes, due) in cases {
            assert_eq!(
                s.advance(utc(from), Duration::minutes(minutes)),
                Some(utc(due)),
                "{from} + {minutes} min"
            );
            // The inverse: exactly that much open time lies between them.
            assert_eq!(
                s.open_time(utc(from), utc(due)),
                Duration::minutes(minutes),
                "{from}"
            );
        }
        assert_eq!(
            s.advance(utc("2026-12-24T09:00:00Z"), Duration::zero()),
            Some(utc("2026-12-24T09:00:00Z"))
        );
        let never = Schedule::parse("UTC", &[], &[]).expect("parses");
        assert_eq!(
            never.advance(utc("2026-12-24T09:00:00Z"), Duration::minutes(1)),
            None
        );
        // Across a whole week and more: 45 h of an 8 h day is five days and 5 h.
        assert_eq!(
            s.advance(utc("2027-01-04T08:00:00Z"), Duration::hours(45)),
            Some(utc("2027-01-11T13:00:00Z"))
        );
    }

    #[test]
    fn open_and_closed_across_weekends_holidays_and_dst() {
        let s = office();
        // (instant, open?, next opening)
        let cases = [
            // Thursday 2026-12-24 10:00 Berlin (UTC+1): open.
            ("2026-12-24T09:00:00Z", true, "2026-12-24T09:00:00Z"),
            // 17:00 local is closing time: closed, next is Monday (Friday is a holiday).
            ("2026-12-24T16:00:00Z", false, "2026-12-28T08:00:00Z"),
            // Saturday: closed.
            ("2026-12-26T12:00:00Z", false, "2026-12-28T08:00:00Z"),
            // Before the DST change (UTC+1) and after it (UTC+2): 09:00 local moves in UTC.
            ("2026-03-27T08:30:00Z", true, "2026-03-27T08:30:00Z"),
            ("2026-03-30T07:30:00Z", true, "2026-03-30T07:30:00Z"),
            ("2026-03-30T06:30:00Z", false, "2026-03-30T07:00:00Z"),
            // Autumn: back to UTC+1.
            ("2026-10-26T07:30:00Z", false, "2026-10-26T08:00:00Z"),
        ];
        for (at, open, next) in cases {
            assert_eq!(s.is_open(utc(at)), open, "{at}");
            assert_eq!(s.next_open(utc(at)), Some(utc(next)), "{at}");
        }
    }

    #[test]
    fn overnight_intervals_run_past_midnight_and_past_a_holiday() {
        let s = Schedule::parse("UTC", &["fri 22:00-06:00"], &["2026-12-05"]).unwrap();
        // Friday 2026-12-04 23:00 and Saturday 05:00: open (Saturday is a holiday, but the
        // interval began on Friday).
        assert!(s.is_open(utc("2026-12-04T23:00:00Z")));
        assert!(s.is_open(utc("2026-12-05T05:59:00Z")));
        assert!(!s.is_open(utc("2026-12-05T06:00:00Z")));
        assert_eq!(
            s.next_open(utc("2026-12-05T07:00:00Z")),
            Some(utc("2026-12-11T22:00:00Z"))
        );
    }

    #[test]
    fn a_time_skipped_by_spring_forward_opens_after_the_gap() {
        // 02:30 does not exist in Berlin on 2026-03-29 (02:00 → 03:00).
        let s = Schedule::parse("Europe/Berlin", &["sun 02:30-04:00"], &[]).unwrap();
        assert_eq!(
            s.next_open(utc("2026-03-28T12:00:00Z")),
            Some(utc("2026-03-29T01:00:00Z")),
            "03:00 local, the first minute after the gap"
        );
        // The day is an hour short: 03:00-04:00 local is one hour.
        assert_eq!(
            s.open_time(utc("2026-03-29T00:00:00Z"), utc("2026-03-29T12:00:00Z")),
            Duration::hours(1)
        );
    }

    #[test]
    fn open_time_pauses_outside_business_hours() {
        let s = office();
        // Friday 2026-12-18 16:00 local → Monday 2026-12-21 10:00 local: 1 h + 1 h.
        assert_eq!(
            s.open_time(utc("2026-12-18T15:00:00Z"), utc("2026-12-21T09:00:00Z")),
            Duration::hours(2)
        );
        // Over the holiday Friday 2026-12-25: Thursday 16:00 → Monday 10:00 is still 2 h.
        assert_eq!(
            s.open_time(utc("2026-12-24T15:00:00Z"), utc("2026-12-28T09:00:00Z")),
            Duration::hours(2)
        );
        assert_eq!(
            s.open_time(utc("2026-12-21T09:00:00Z"), utc("2026-12-21T08:00:00Z")),
            Duration::zero()
        );
        // Overlapping intervals count once.
        let twice = Schedule::parse("UTC", &["mon 09:00-12:00, 10:00-11:00"], &[]).unwrap();
        assert_eq!(
            twice.open_time(utc("2026-12-07T00:00:00Z"), utc("2026-12-08T00:00:00Z")),
            Duration::hours(3)
        );
    }

    #[test]
    fn a_schedule_never_open_has_no_next_opening_and_bad_input_is_named() {
        let closed = Schedule::parse("UTC", &[], &[]).unwrap();
        assert_eq!(closed.next_open(utc("2026-12-04T00:00:00Z")), None);
        assert_eq!(
            Schedule::parse("Mars/Olympus", &[], &[]),
            Err(ScheduleError::Zone("Mars/Olympus".into()))
        );
        assert!(matches!(
            Schedule::parse("UTC", &["weekdays 9-5"], &[]),
            Err(ScheduleError::Line(_))
        ));
        assert!(matches!(
            Schedule::parse("UTC", &[], &["25/12/2026"]),
            Err(ScheduleError::Date(_))
        ));
        let s = Schedule::parse("UTC", &["sat,sun 10:00-12:00", "daily 20:00-21:00"], &[]).unwrap();
        assert_eq!(s.week[5].len(), 2);
        assert_eq!(s.week[0].len(), 1);
    }
}
