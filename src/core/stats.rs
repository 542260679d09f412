//! Team statistics, pure: the arguments of `stats` (period, `network:`, `team:`), the period
//! as instants, nearest-rank percentiles, durations in business hours, and the summary built
//! from the rows the store selects ([`StatsRaw`] → [`TeamStats`]).
//!
//! Definitions (README "Statistics" says the same to users):
//! - a ticket counts in the period when its `opened` history entry is in it; a reply, a close,
//!   an SLA result or an auto-close counts when its entry is in it;
//! - first response: `opened` → the first `reply_delivered` whose actor is a teammate
//!   (automatic replies, actor `System`, never count); resolution: `opened` → the first
//!   `status_changed` to closed, by anyone. Both are measured for the tickets opened in the
//!   period, whenever the answer came;
//! - durations are business hours when a schedule is given, wall-clock otherwise;
//! - percentiles are nearest-rank: the smallest value with at least p % of the values at or
//!   below it (so p50 of 1, 2, 3, 4 is 2, and every percentile is a measured value).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::filter::FilterError;
use super::hours::Schedule;
use super::ids::{Network, Teammate};
use super::model::{Assignee, ItemKind, SlaTarget};

/// The period when none is given: the last 7 days.
pub const DEFAULT_DAYS: u32 = 7;
/// The longest period asked for (`<N>d` or a date range), in days: a year and a day, so a
/// whole leap year fits; longer asks are refused rather than scanning all history.
pub const MAX_DAYS: i64 = 366;
/// How many tags the summary lists.
pub const TOP_TAGS: usize = 5;

/// The period as asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodSpec {
    /// The last `n` days, ending now.
    LastDays(u32),
    /// From the start of `from` to the end of `to` (both days included), local dates.
    Dates { from: NaiveDate, to: NaiveDate },
}

/// A half-open span of time `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// What is wrong with a `stats` argument; every message names the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsArgError {
    #[error(
        "`{0}` is not a period: use 7d, 30d (any 1d to 366d) or <from>..<to> as YYYY-MM-DD..YYYY-MM-DD"
    )]
    BadPeriod(String),
    #[error("`{0}` ends before it starts")]
    Backwards(String),
    #[error("`{0}` is longer than {MAX_DAYS} days")]
    TooLong(String),
    #[error(
        "`{0}` is not a stats option: use 7d, 30d, <from>..<to>, network:<name> or team:<name>"
    )]
    Unknown(String),
    #[error("`{0}` is given twice")]
    Repeated(String),
    #[error(transparent)]
    Filter(#[from] FilterError),
}

impl PeriodSpec {
    /// `7d`, `30d` (any `<N>d`, 1 ≤ N ≤ [`MAX_DAYS`]) or `YYYY-MM-DD..YYYY-MM-DD`.
    pub fn parse(word: &str) -> Result<Self, StatsArgError> {
        let bad = || StatsArgError::BadPeriod(word.to_string());
        if let Some((a, b)) = word.split_once("..") {
            let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad());
            let (from, to) = (date(a)?, date(b)?);
            if to < from {
                return Err(StatsArgError::Backwards(word.to_string()));
            }
            if (to - from).num_days() + 1 > MAX_DAYS {
                return Err(StatsArgError::TooLong(word.to_string()));
            }
            return Ok(PeriodSpec::Dates { from, to });
        }
        let days = word
            .strip_suffix(['d', 'D'])
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(bad)?;
        // All digits, but maybe too many for a u32.
        let days: u32 = days
            .parse()
            .map_err(|_| StatsArgError::TooLong(word.to_string()))?;
        match days {
            0 => Err(bad()),
            d if i64::from(d) > MAX_DAYS => Err(StatsArgError::TooLong(word.to_string())),
            d => Ok(PeriodSpec::LastDays(d)),
        }
    }

    /// The instants: `LastDays` ends at `now`; dates are whole days in `tz`.
    pub fn resolve(&self, now: DateTime<Utc>, tz: Tz) -> Period {
        match *self {
            PeriodSpec::LastDays(n) => Period {
                from: now - Duration::days(i64::from(n)),
                to: now,
            },
            PeriodSpec::Dates { from, to } => Period {
                from: start_of(from, tz),
                to: start_of(to + Duration::days(1), tz),
            },
        }
    }
}

/// The first instant of a local date (a day starting in a DST gap starts after it).
pub fn start_of(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    (0..=180)
        .find_map(|m| {
            tz.from_local_datetime(&(midnight + Duration::minutes(m)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        // No zone skips three hours; fall back to UTC midnight rather than fail.
        .unwrap_or_else(|| midnight.and_utc())
}

/// The arguments of `stats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsArgs {
    pub period: PeriodSpec,
    pub network: Option<Network>,
    /// A configured team's name (as configured).
    pub team: Option<String>,
}

/// Parse `[7d|30d|<from>..<to>] [network:<name>] [team:<name>]`, in any order; `teams` are the
/// configured team names (matched case-insensitively).
pub fn parse_args(words: &[&str], teams: &[String]) -> Result<StatsArgs, StatsArgError> {
    let mut period = None;
    let mut network = None;
    let mut team = None;
    for word in words {
        let repeated = || StatsArgError::Repeated(word.to_string());
        match word.split_once(':') {
            Some((key, value)) if key.eq_ignore_ascii_case("network") => {
                if value.is_empty() {
                    return Err(FilterError::Empty("network:".into()).into());
                }
                if network.is_some() {
                    return Err(repeated());
                }
                network = Some(
                    value
                        .to_ascii_lowercase()
                        .parse::<Network>()
                        .map_err(|_| FilterError::BadNetwork(value.to_string()))?,
                );
            }
            Some((key, value)) if key.eq_ignore_ascii_case("team") => {
                if value.is_empty() {
                    return Err(FilterError::Empty("team:".into()).into());
                }
                if team.is_some() {
                    return Err(repeated());
                }
                let found = teams.iter().find(|t| t.eq_ignore_ascii_case(value));
                team = Some(found.cloned().ok_or_else(|| {
                    FilterError::UnknownTeam(value.to_string(), teams.join(", "))
                })?);
            }
            Some(_) => return Err(StatsArgError::Unknown(word.to_string())),
            None => {
                if period.is_some() {
                    return Err(repeated());
                }
                let first = word.chars().next().unwrap_or(' ');
                if !first.is_ascii_digit() {
                    return Err(StatsArgError::Unknown(word.to_string()));
                }
                period = Some(PeriodSpec::parse(word)?);
            }
        }
    }
    Ok(StatsArgs {
        period: period.unwrap_or(PeriodSpec::LastDays(DEFAULT_DAYS)),
        network,
        team,
    })
}

impl StatsArgs {
    /// The `Assignee::key` of the team, for the store's ticket filter.
    pub fn team_key(&self) -> Option<String> {
        self.team.as_ref().map(|t| Assignee::Team(t.clone()).key())
    }
}

/// The nearest-rank `p`-th percentile (1 ≤ p ≤ 100) of values sorted ascending; `None` when
/// there are none.
pub fn percentile(sorted: &[Duration], p: u32) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(1, 100) as usize;
    // rank = ceil(p/100 · n), at least 1.
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// The time between two instants that counts: open time under `schedule`, else wall-clock
/// (never negative).
pub fn elapsed(from: DateTime<Utc>, to: DateTime<Utc>, schedule: Option<&Schedule>) -> Duration {
    match schedule {
        Some(s) => s.open_time(from, to),
        None => (to - from).max(Duration::zero()),
    }
}

/// One ticket opened in the period, as the store selects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedTicket {
    pub network: Network,
    pub kind: ItemKind,
    pub opened_at: DateTime<Utc>,
    /// The first reply a teammate delivered, and who.
    pub first_response: Option<(DateTime<Utc>, Teammate)>,
    /// The first close.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// What the store selects for a period and scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsRaw {
    pub opened: Vec<OpenedTicket>,
    /// `(target, met?, entries)`.
    pub sla: Vec<(SlaTarget, bool, u64)>,
    pub auto_closed: u64,
    /// Replies delivered per teammate.
    pub replies: Vec<(Teammate, u64)>,
    /// Distinct tickets each teammate closed.
    pub closed: Vec<(Teammate, u64)>,
    /// Current tags of the tickets opened, with how many of those tickets carry each.
    pub tags: Vec<(String, u64)>,
}

/// Percentiles of a set of durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Durations {
    /// How many were measured.
    pub count: u64,
    pub p50: Option<Duration>,
    pub p90: Option<Duration>,
}

impl Durations {
    pub fn of(mut values: Vec<Duration>) -> Self {
        values.sort();
        Self {
            count: values.len() as u64,
            p50: percentile(&values, 50),
            p90: percentile(&values, 90),
        }
    }
}

/// SLA results of one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaCounts {
    pub target: SlaTarget,
    pub met: u64,
    pub breached: u64,
}

/// One teammate's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeammateStats {
    pub teammate: Teammate,
    pub replies: u64,
    pub closed: u64,
    /// Tickets opened in the period whose first response was theirs.
    pub first_responses: u64,
    pub median_first_response: Option<Duration>,
}

/// The statistics of a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamStats {
    pub period: Period,
    /// Durations are business hours (a schedule was given) rather than wall-clock.
    pub business_hours: bool,
    pub opened: u64,
    /// Most first, then in `Network::ALL` order.
    pub by_network: Vec<(Network, u64)>,
    /// Most first, then by kind name.
    pub by_kind: Vec<(ItemKind, u64)>,
    pub first_response: Durations,
    pub resolution: Durations,
    /// First response, then next response; targets without entries left out.
    pub sla: Vec<SlaCounts>,
    pub auto_closed: u64,
    /// Most replies first, then most closed, then by `surface:id`.
    pub teammates: Vec<TeammateStats>,
    /// At most [`TOP_TAGS`], most used first, then by name (bytewise).
    pub top_tags: Vec<(String, u64)>,
}

impl TeamStats {
    /// Nothing happened in the period.
    pub fn is_empty(&self) -> bool {
        self.opened == 0
            && self.sla.is_empty()
            && self.auto_closed == 0
            && self.teammates.is_empty()
    }
}

fn teammate_key(t: &Teammate) -> String {
    Assignee::Person(t.clone()).key()
}

/// Add `n` to the entry of `k` (few distinct keys: a scan is enough).
fn bump<K: PartialEq>(counts: &mut Vec<(K, u64)>, k: K, n: u64) {
    match counts.iter_mut().find(|(key, _)| *key == k) {
        Some((_, c)) => *c += n,
        None => counts.push((k, n)),
    }
}

fn kind_order(k: ItemKind) -> usize {
    [
        ItemKind::Comment,
        ItemKind::VisitorPost,
        ItemKind::Mention,
        ItemKind::DirectMessage,
        ItemKind::Review,
    ]
    .iter()
    .position(|x| *x == k)
    .unwrap_or(usize::MAX)
}

/// The summary of what the store selected.
pub fn summarise(period: Period, raw: StatsRaw, schedule: Option<&Schedule>) -> TeamStats {
    let mut by_network = Vec::new();
    let mut by_kind = Vec::new();
    let mut first = Vec::new();
    let mut resolution = Vec::new();
    // Per teammate key: (teammate, their first-response durations).
    let mut firsts: Vec<(String, Teammate, Vec<Duration>)> = Vec::new();
    for t in &raw.opened {
        bump(&mut by_network, t.network, 1);
        bump(&mut by_kind, t.kind, 1);
        if let Some((at, who)) = &t.first_response {
            let d = elapsed(t.opened_at, *at, schedule);
            first.push(d);
            let key = teammate_key(who);
            match firsts.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, _, ds)) => ds.push(d),
                None => firsts.push((key, who.clone(), vec![d])),
            }
        }
        if let Some(at) = t.resolved_at {
            resolution.push(elapsed(t.opened_at, at, schedule));
        }
    }
    let network_order = |n: &Network| Network::ALL.iter().position(|x| x == n);
    by_network.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then(network_order(&a.0).cmp(&network_order(&b.0)))
    });
    by_kind.sort_by(|a, b| b.1.cmp(&a.1).then(kind_order(a.0).cmp(&kind_order(b.0))));

    let mut sla = Vec::new();
    for target in [SlaTarget::FirstResponse, SlaTarget::NextResponse] {
        let sum = |met: bool| {
            raw.sla
                .iter()
                .filter(|(t, m, _)| *t == target && *m == met)
                .map(|(_, _, n)| n)
                .sum::<u64>()
        };
        let (met, breached) = (sum(true), sum(false));
        if met + breached > 0 {
            sla.push(SlaCounts {
                target,
                met,
                breached,
            });
        }
    }

    let mut teammates: Vec<(String, TeammateStats)> = Vec::new();
    let entry = |teammates: &mut Vec<(String, TeammateStats)>, who: &Teammate| -> usize {
        let key = teammate_key(who);
        match teammates.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                teammates.push((
                    key,
                    TeammateStats {
                        teammate: who.clone(),
                        replies: 0,
                        closed: 0,
                        first_responses: 0,
                        median_first_response: None,
                    },
                ));
                teammates.len() - 1
            }
        }
    };
    for (who, n) in &raw.replies {
        let i = entry(&mut teammates, who);
        teammates[i].1.replies += n;
    }
    for (who, n) in &raw.closed {
        let i = entry(&mut teammates, who);
        teammates[i].1.closed += n;
    }
    for (_, who, ds) in firsts {
        let i = entry(&mut teammates, &who);
        let d = Durations::of(ds);
        teammates[i].1.first_responses = d.count;
        teammates[i].1.median_first_response = d.p50;
    }
    teammates.sort_by(|(ka, a), (kb, b)| {
        b.replies
            .cmp(&a.replies)
            .then(b.closed.cmp(&a.closed))
            .then(ka.cmp(kb))
    });

    let mut top_tags = raw.tags;
    top_tags.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top_tags.truncate(TOP_TAGS);

    TeamStats {
        period,
        business_hours: schedule.is_some(),
        opened: raw.opened.len() as u64,
        by_network,
        by_kind,
        first_response: Durations::of(first),
        resolution: Durations::of(resolution),
        sla,
        auto_closed: raw.auto_closed,
        teammates: teammates.into_iter().map(|(_, t)| t).collect(),
        top_tags,
    }
}

/// The statistics as CSV records `section, key, metric, value` (durations in whole seconds;
/// a percentile with nothing measured is an empty value). Keys may be user-derived (tags):
/// the writer guards cells against formulas.
pub fn csv_rows(s: &TeamStats) -> Vec<[String; 4]> {
    let row = |section: &str, key: &str, metric: &str, value: String| {
        [
            section.to_string(),
            key.to_string(),
            metric.to_string(),
            value,
        ]
    };
    let secs = |d: Option<Duration>| d.map(|d| d.num_seconds().to_string()).unwrap_or_default();
    let mut rows = vec![
        row("period", "", "from", s.period.from.to_rfc3339()),
        row("period", "", "to", s.period.to.to_rfc3339()),
        row(
            "period",
            "",
            "durations",
            if s.business_hours {
                "business_hours"
            } else {
                "wall_clock"
            }
            .into(),
        ),
        row("tickets", "all", "opened", s.opened.to_string()),
    ];
    for (n, c) in &s.by_network {
        rows.push(row("network", n.as_str(), "opened", c.to_string()));
    }
    for (k, c) in &s.by_kind {
        rows.push(row("kind", kind_word(*k), "opened", c.to_string()));
    }
    for (section, d, done) in [
        ("first_response", &s.first_response, "answered"),
        ("resolution", &s.resolution, "resolved"),
    ] {
        rows.push(row(section, "all", done, d.count.to_string()));
        rows.push(row(section, "all", "p50_seconds", secs(d.p50)));
        rows.push(row(section, "all", "p90_seconds", secs(d.p90)));
    }
    for c in &s.sla {
        rows.push(row("sla", c.target.as_str(), "met", c.met.to_string()));
        rows.push(row(
            "sla",
            c.target.as_str(),
            "breached",
            c.breached.to_string(),
        ));
    }
    rows.push(row(
        "auto_closed",
        "all",
        "count",
        s.auto_closed.to_string(),
    ));
    for t in &s.teammates {
        let key = teammate_key(&t.teammate);
        rows.push(row("teammate", &key, "replies", t.replies.to_string()));
        rows.push(row("teammate", &key, "closed", t.closed.to_string()));
        rows.push(row(
            "teammate",
            &key,
            "first_responses",
            t.first_responses.to_string(),
        ));
        rows.push(row(
            "teammate",
            &key,
            "median_first_response_seconds",
            secs(t.median_first_response),
        ));
    }
    for (tag, n) in &s.top_tags {
        rows.push(row("tag", tag, "tickets", n.to_string()));
    }
    rows
}

/// The stable word of an item kind (as the store's `kind` column and the export write it).
pub fn kind_word(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Comment => "comment",
        ItemKind::VisitorPost => "visitor_post",
        ItemKind::Mention => "mention",
        ItemKind::DirectMessage => "direct_message",
        ItemKind::Review => "review",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::{ChatUserId, Surface};

    fn mins(m: i64) -> Duration {
        Duration::minutes(m)
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn who(id: &str) -> Teammate {
        Teammate {
            surface: Surface::Slack,
            id: ChatUserId::new(id),
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<Duration> = [1, 2, 3, 4].map(mins).to_vec();
        assert_eq!(percentile(&v, 50), Some(mins(2)));
        assert_eq!(percentile(&v, 90), Some(mins(4)));
        assert_eq!(percentile(&v, 100), Some(mins(4)));
        assert_eq!(percentile(&v, 1), Some(mins(1)));
        assert_eq!(percentile(&[mins(7)], 50), Some(mins(7)));
        assert_eq!(percentile(&[], 50), None);
        // 10 values: p90 is the 9th, p50 the 5th.
        let ten: Vec<Duration> = (1..=10).map(mins).collect();
        assert_eq!(percentile(&ten, 90), Some(mins(9)));
        assert_eq!(percentile(&ten, 50), Some(mins(5)));
        // 11 values: p50 is the 6th (ceil 5.5), p90 the 10th (ceil 9.9).
        let eleven: Vec<Duration> = (1..=11).map(mins).collect();
        assert_eq!(percentile(&eleven, 50), Some(mins(6)));
        assert_eq!(percentile(&eleven, 90), Some(mins(10)));
        // Unsorted input is sorted by `Durations::of`.
        let d = Durations::of(vec![mins(30), mins(10), mins(20)]);
        assert_eq!((d.count, d.p50, d.p90), (3, Some(mins(20)), Some(mins(30))));
    }

    #[test]
    fn elapsed_counts_open_time_under_a_schedule() {
        let s = Schedule::parse("UTC", &["mon-fri 09:00-17:00"], &[]).unwrap();
        // Friday 16:00 → Monday 10:00: one hour on Friday, one on Monday.
        let (a, b) = (t("2026-12-04T16:00:00Z"), t("2026-12-07T10:00:00Z"));
        assert_eq!(elapsed(a, b, Some(&s)), Duration::hours(2));
        assert_eq!(elapsed(a, b, None), Duration::hours(66));
        assert_eq!(elapsed(b, a, None), Duration::zero());
    }

    #[test]
    fn periods_parse_and_resolve() {
        let now = t("2026-12-04T18:00:00Z");
        assert_eq!(PeriodSpec::parse("7d"), Ok(PeriodSpec::LastDays(7)));
        assert_eq!(PeriodSpec::parse("30D"), Ok(PeriodSpec::LastDays(30)));
        let p = PeriodSpec::LastDays(7).resolve(now, Tz::UTC);
        assert_eq!((p.from, p.to), (t("2026-11-27T18:00:00Z"), now));
        let range = PeriodSpec::parse("2026-11-01..2026-11-30").unwrap();
        let p = range.resolve(now, Tz::UTC);
        assert_eq!(
            (p.from, p.to),
            (t("2026-11-01T00:00:00Z"), t("2026-12-01T00:00:00Z"))
        );
        // Dates are whole local days of the schedule's zone.
        let p = range.resolve(now, "Europe/Berlin".parse().unwrap());
        assert_eq!(
            (p.from, p.to),
            (t("2026-10-31T23:00:00Z"), t("2026-11-30T23:00:00Z"))
        );
        let one = PeriodSpec::parse("2026-12-01..2026-12-01").unwrap();
        let p = one.resolve(now, Tz::UTC);
        assert_eq!(p.to - p.from, Duration::days(1));
    }

    #[test]
    fn bad_periods_name_the_token() {
        let cases = [
            ("0d", "`0d` is not a period"),
            ("7", "`7` is not a period"),
            ("7w", "`7w` is not a period"),
            ("d", "`d` is not a period"),
            ("367d", "`367d` is longer than 366 days"),
            ("99999999999d", "`99999999999d` is longer than 366 days"),
            (
                "2026-13-01..2026-12-01",
                "`2026-13-01..2026-12-01` is not a period",
            ),
            ("2026-12-01..", "`2026-12-01..` is not a period"),
            (
                "2026-12-05..2026-12-01",
                "`2026-12-05..2026-12-01` ends before it starts",
            ),
            (
                "2024-01-01..2026-01-01",
                "`2024-01-01..2026-01-01` is longer than 366 days",
            ),
        ];
        for (word, want) in cases {
            let err = PeriodSpec::parse(word).expect_err(word).to_string();
            assert!(err.starts_with(want), "{word}: {err}");
        }
    }

    #[test]
    fn arguments_parse_in_any_order_and_refuse_the_rest() {
        let teams = vec!["Support".to_string()];
        let a = parse_args(&["team:support", "network:Facebook", "30d"], &teams).unwrap();
        assert_eq!(a.period, PeriodSpec::LastDays(30));
        assert_eq!(a.network, Some(Network::Facebook));
        assert_eq!(a.team.as_deref(), Some("Support"));
        assert_eq!(a.team_key().as_deref(), Some("team:Support"));
        let none = parse_args(&[], &teams).unwrap();
        assert_eq!(none.period, PeriodSpec::LastDays(DEFAULT_DAYS));
        assert_eq!((none.network, none.team), (None, None));
        let cases = [
            ("network:myspace", "`myspace` is not a network"),
            ("team:sales", "`sales` is not a team; known teams: Support"),
            ("team:", "`team:` has no value"),
            ("status:closed", "`status:closed` is not a stats option"),
            ("weekly", "`weekly` is not a stats option"),
            ("7x", "`7x` is not a period"),
        ];
        for (word, want) in cases {
            let err = parse_args(&[word], &teams).expect_err(word).to_string();
            assert!(err.starts_with(want), "{word}: {err}");
        }
        let err = parse_args(&["7d", "30d"], &teams).unwrap_err();
        assert_eq!(err.to_string(), "`30d` is given twice");
    }

    #[test]
    fn the_summary_counts_and_measures() {
        let at = |m: i64| t("2026-12-01T09:00:00Z") + mins(m);
        let period = Period {
            from: at(-60),
            to: at(24 * 60),
        };
        let opened = |network, kind, open: i64, first: Option<(i64, &str)>, closed: Option<i64>| {
            OpenedTicket {
                network,
                kind,
                opened_at: at(open),
                first_response: first.map(|(m, w)| (at(m), who(w))),
                resolved_at: closed.map(at),
            }
        };
        let raw = StatsRaw {
            opened: vec![
                opened(
                    Network::Facebook,
                    ItemKind::Comment,
                    0,
                    Some((10, "U1")),
                    Some(60),
                ),
                opened(
                    Network::Facebook,
                    ItemKind::DirectMessage,
                    0,
                    Some((30, "U2")),
                    None,
                ),
                opened(
                    Network::Instagram,
                    ItemKind::Comment,
                    0,
                    Some((20, "U1")),
                    Some(120),
                ),
                opened(Network::Instagram, ItemKind::Comment, 5, None, None),
            ],
            sla: vec![
                (SlaTarget::FirstResponse, true, 2),
                (SlaTarget::FirstResponse, false, 1),
            ],
            auto_closed: 1,
            replies: vec![(who("U2"), 1), (who("U1"), 3)],
            closed: vec![(who("U1"), 2), (who("U3"), 1)],
            tags: (1..=7)
                .map(|i| (format!("t{i}"), (i % 3) as u64 + 1))
                .collect(),
        };
        let s = summarise(period, raw, None);
        assert_eq!(s.opened, 4);
        assert_eq!(
            s.by_network,
            vec![(Network::Facebook, 2), (Network::Instagram, 2)]
        );
        assert_eq!(
            s.by_kind,
            vec![(ItemKind::Comment, 3), (ItemKind::DirectMessage, 1)]
        );
        assert_eq!(
            (
                s.first_response.count,
                s.first_response.p50,
                s.first_response.p90
            ),
            (3, Some(mins(20)), Some(mins(30)))
        );
        assert_eq!(
            (s.resolution.count, s.resolution.p50, s.resolution.p90),
            (2, Some(mins(60)), Some(mins(120)))
        );
        assert_eq!(
            s.sla,
            vec![SlaCounts {
                target: SlaTarget::FirstResponse,
                met: 2,
                breached: 1
            }]
        );
        let people: Vec<(String, u64, u64, u64, Option<Duration>)> = s
            .teammates
            .iter()
            .map(|t| {
                (
                    t.teammate.id.to_string(),
                    t.replies,
                    t.closed,
                    t.first_responses,
                    t.median_first_response,
                )
            })
            .collect();
        assert_eq!(
            people,
            vec![
                ("U1".into(), 3, 2, 2, Some(mins(10))),
                ("U2".into(), 1, 0, 1, Some(mins(30))),
                ("U3".into(), 0, 1, 0, None),
            ]
        );
        // Counts 2,3,1,2,3,1,2 → the 3s, then the 2s by name, five in all.
        let tags: Vec<&str> = s.top_tags.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(tags, ["t2", "t5", "t1", "t4", "t7"]);
        assert!(!s.is_empty());
        assert!(summarise(period, StatsRaw::default(), None).is_empty());
    }

    #[test]
    fn csv_rows_carry_every_figure() {
        let period = Period {
            from: t("2026-12-01T00:00:00Z"),
            to: t("2026-12-02T00:00:00Z"),
        };
        let raw = StatsRaw {
            opened: vec![OpenedTicket {
                network: Network::X,
                kind: ItemKind::Mention,
                opened_at: period.from,
                first_response: Some((period.from + mins(90), who("U1"))),
                resolved_at: None,
            }],
            tags: vec![("=cmd".into(), 1)],
            ..Default::default()
        };
        let rows = summarise(period, raw, None);
        let csv: Vec<String> = csv_rows(&rows).iter().map(|r| r.join(",")).collect();
        assert_eq!(
            csv,
            [
                "period,,from,2026-12-01T00:00:00+00:00",
                "period,,to,2026-12-02T00:00:00+00:00",
                "period,,durations,wall_clock",
                "tickets,all,opened,1",
                "network,x,opened,1",
                "kind,mention,opened,1",
                "first_response,all,answered,1",
                "first_response,all,p50_seconds,5400",
                "first_response,all,p90_seconds,5400",
                "resolution,all,resolved,0",
                "resolution,all,p50_seconds,",
                "resolution,all,p90_seconds,",
                "auto_closed,all,count,0",
                "teammate,slack:U1,replies,0",
                "teammate,slack:U1,closed,0",
                "teammate,slack:U1,first_responses,1",
                "teammate,slack:U1,median_first_response_seconds,5400",
                "tag,=cmd,tickets,1",
            ]
        );
    }
}
