//! The weekly report: the past week's statistics (`Store::team_stats`, as `/switchboard
//! stats` shows them) and a chart (new tickets per day by network, first-response median per
//! day), posted once a week in the configured Slack and/or Discord channel. One replica sends
//! it (a lease), and a once-mark per week keeps a second replica or a restart from sending it
//! again; a failed send forgets the mark so the next round tries again.

pub mod chart;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::ReportConfig;
use crate::core::filter::Filter;
use crate::core::stats::{Period, start_of};
use crate::core::text;
use crate::workers::Services;

/// The lease under which one replica checks whether the report is due.
const LEASE: &str = "weekly-report";

/// How often a replica checks: the report goes out at most this late.
pub const ROUND_EVERY: Duration = Duration::from_secs(600);

/// A report not sent within this long of its time (the service was down) is skipped: last
/// week's figures on a Thursday help nobody.
const LATEST_AFTER_HOURS: i64 = 24;

/// The week a report is due for at `now`: the local date it is scheduled on (the week runs
/// the seven days before it), when that time has come within the last day.
pub fn due(now: DateTime<Utc>, weekday: Weekday, hour: u32, tz: Tz) -> Option<NaiveDate> {
    let today = now.with_timezone(&tz).date_naive();
    let back = (7 + today.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
    let mut day = today - chrono::Duration::days(i64::from(back));
    // An hour skipped by a DST change runs at the first instant after the gap.
    let at = |d: NaiveDate| {
        let local = d.and_time(chrono::NaiveTime::MIN) + chrono::Duration::hours(i64::from(hour));
        (0..=180)
            .find_map(|m| {
                use chrono::TimeZone;
                tz.from_local_datetime(&(local + chrono::Duration::minutes(m)))
                    .earliest()
            })
            .map_or_else(|| start_of(d, tz), |t| t.with_timezone(&Utc))
    };
    let mut when = at(day);
    if when > now {
        day -= chrono::Duration::days(7);
        when = at(day);
    }
    (now - when < chrono::Duration::hours(LATEST_AFTER_HOURS)).then_some(day)
}

/// The local day `d` as an instant span (23 or 25 hours long across DST changes).
fn day_span(d: NaiveDate, tz: Tz) -> Option<Period> {
    Some(Period {
        from: start_of(d, tz),
        to: start_of(d.succ_opt()?, tz),
    })
}

pub async fn run(svc: Arc<Services>, mut shutdown: watch::Receiver<bool>) {
    let Some(config) = svc.config.report.clone() else {
        return;
    };
    let holder = crate::workers::leader::holder_id();
    loop {
        match round(&svc, &config, &holder, Utc::now()).await {
            Ok(Some(week)) => info!(%week, "weekly report sent"),
            Ok(None) => {}
            Err(e) => warn!(error = format!("{e:#}"), "weekly report failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(ROUND_EVERY) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}

/// One round at `now` if `holder` gets the lease: the week whose report it sent, if any.
pub async fn round(
    svc: &Services,
    config: &ReportConfig,
    holder: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<NaiveDate>> {
    let (Some(weekday), Some(tz)) = (config.weekday(), config.tz()) else {
        anyhow::bail!("report.weekday or report.tz is invalid");
    };
    let Some(week) = due(now, weekday, config.hour, tz) else {
        return Ok(None);
    };
    let ttl = chrono::Duration::from_std(ROUND_EVERY * 2).unwrap_or(chrono::Duration::minutes(20));
    if !svc.store.take_lease(LEASE, holder, now, ttl).await? {
        return Ok(None);
    }
    // One mark per destination, taken before the report is built: a channel that got it is
    // never sent it again when the other fails and a later round retries.
    let mark = |surface: &str| format!("weekly-report:{week}:{surface}");
    let mut slack = None;
    if let Some(channel) = &config.slack_channel
        && svc.store.first_time(&mark("slack"), now).await?
    {
        slack = Some(channel);
    }
    let mut discord = None;
    if let (Some(channel), Some(client)) = (&config.discord_channel, &svc.discord)
        && svc.store.first_time(&mark("discord"), now).await?
    {
        discord = Some((channel, client));
    }
    if slack.is_none() && discord.is_none() {
        return Ok(None);
    }
    let report = match build(svc, config, week, tz).await {
        Ok(r) => r,
        Err(e) => {
            for (taken, surface) in [(slack.is_some(), "slack"), (discord.is_some(), "discord")] {
                if taken {
                    svc.store.forget(&mark(surface)).await?;
                }
            }
            return Err(e);
        }
    };
    let mut failure = None;
    if let Some(channel) = slack
        && let Err(e) = send_slack(svc, channel, &report).await
    {
        svc.store.forget(&mark("slack")).await?;
        failure = Some(e);
    }
    if let Some((channel, client)) = discord
        && let Err(e) = send_discord(client, channel, week, &report).await
    {
        svc.store.forget(&mark("discord")).await?;
        failure = Some(e);
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(Some(week)),
    }
}

/// A week's report, ready for either surface.
struct Report {
    slack_text: String,
    discord_body: serde_json::Value,
    filename: String,
    title: String,
    png: Vec<u8>,
}

async fn send_slack(svc: &Services, channel: &str, r: &Report) -> anyhow::Result<()> {
    svc.slack
        .upload_file(channel, &r.filename, &r.title, r.png.clone(), &r.slack_text)
        .await
        .map_err(|e| anyhow::anyhow!("Slack upload: {e}"))?;
    Ok(())
}

async fn send_discord(
    discord: &crate::chat::discord::client::DiscordClient,
    channel: &str,
    week: NaiveDate,
    r: &Report,
) -> anyhow::Result<()> {
    // A nonce per week: a retry after a lost answer posts nothing new.
    let mut body = r.discord_body.clone();
    body["nonce"] = format!("report-{}", week.format("%Y%m%d")).into();
    body["enforce_nonce"] = true.into();
    discord
        .create_message_with_file(channel, &body, &r.filename, "image/png", r.png.clone())
        .await
        .map_err(|e| anyhow::anyhow!("Discord upload: {e}"))?;
    Ok(())
}

/// The report of the week before `week` (its seven local days).
async fn build(
    svc: &Services,
    config: &ReportConfig,
    week: NaiveDate,
    tz: Tz,
) -> anyhow::Result<Report> {
    let schedule = config
        .hours
        .as_ref()
        .and_then(|name| svc.config.hours.get(name))
        .and_then(|h| h.schedule().ok());
    let first = week - chrono::Duration::days(7);
    let (Some(start), Some(end)) = (day_span(first, tz), day_span(week, tz)) else {
        anyhow::bail!("the report's week cannot be placed in {tz}");
    };
    let period = Period {
        from: start.from,
        to: end.from,
    };
    let all = Filter::default();
    let stats = svc
        .store
        .team_stats(period, &all, schedule.as_ref())
        .await?;
    let mut days = Vec::with_capacity(7);
    for i in 0..7 {
        let day = first + chrono::Duration::days(i);
        let Some(span) = day_span(day, tz) else {
            continue;
        };
        let s = svc.store.team_stats(span, &all, schedule.as_ref()).await?;
        days.push(chart::DayPoint {
            day,
            tickets: s.by_network.iter().copied().collect(),
            first_response_p50_minutes: s.first_response.p50.map(|d| d.num_seconds() as f64 / 60.0),
        });
    }
    let text_ok = chart::load_font(&config.font);
    let png = chart::render_png(&days, text_ok)?;
    let last = week - chrono::Duration::days(1);
    // Teammates by name, not by mention: a weekly post must not ping everyone it lists.
    let mut names: Vec<(crate::core::Teammate, String)> = Vec::new();
    for t in &stats.teammates {
        let name = match t.teammate.surface {
            crate::core::Surface::Slack => {
                svc.directory.name(&svc.slack, t.teammate.id.as_str()).await
            }
            crate::core::Surface::Discord => continue,
        };
        names.push((t.teammate.clone(), name));
    }
    let slack_summary = text::weekly_report(first, last, &stats, &|t| {
        names
            .iter()
            .find(|(who, _)| who == t)
            .map(|(_, n)| crate::core::Rich::theirs(n.as_str()))
    });
    // Discord shows a mention as the member's name without notifying them (no pings allowed).
    let discord_summary = text::weekly_report(first, last, &stats, &|t| {
        (t.surface == crate::core::Surface::Discord)
            .then(|| crate::core::Rich::ours(format!("<@{}>", t.id)))
    });
    Ok(Report {
        slack_text: crate::chat::slack::render::mrkdwn_of(&slack_summary, MAX_COMMENT_CHARS),
        discord_body: crate::chat::discord::render::message(&discord_summary),
        filename: format!("switchboard-week-{first}.png"),
        title: text::weekly_report_title(first, last),
        png,
    })
}

/// Slack's message text limit applies to an upload's comment too.
const MAX_COMMENT_CHARS: usize = 3_900;

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_report_is_due_from_its_hour_for_a_day() {
        let berlin: Tz = "Europe/Berlin".parse().expect("zone");
        let mon = |s| due(utc(s), Weekday::Mon, 9, berlin);
        let week = NaiveDate::from_ymd_opt(2026, 11, 30).expect("date");
        // Monday 2026-11-30 09:00 Berlin is 08:00 UTC.
        assert_eq!(
            mon("2026-11-30T07:59:00Z"),
            None,
            "not yet (last week's is too old)"
        );
        assert_eq!(mon("2026-11-30T08:00:00Z"), Some(week));
        assert_eq!(
            mon("2026-12-01T07:59:00Z"),
            Some(week),
            "late, within a day"
        );
        assert_eq!(mon("2026-12-01T08:00:00Z"), None, "a day late: skipped");
        assert_eq!(mon("2026-12-03T12:00:00Z"), None);
        // In UTC and on another day.
        let fri = due(
            utc("2026-12-04T17:30:00Z"),
            Weekday::Fri,
            17,
            chrono_tz::UTC,
        );
        assert_eq!(fri, NaiveDate::from_ymd_opt(2026, 12, 4));
        // A week's days are local days, 23 or 25 hours long across DST.
        let day =
            day_span(NaiveDate::from_ymd_opt(2026, 3, 29).expect("date"), berlin).expect("span");
        assert_eq!(day.to - day.from, chrono::Duration::hours(23));
        // A zone whose clocks skip midnight (Santiago, September 2026): the day starts at
        // 01:00, and a report at hour 0 runs then rather than never.
        let santiago: Tz = "America/Santiago".parse().expect("zone");
        let sun = NaiveDate::from_ymd_opt(2026, 9, 6).expect("date");
        let span = day_span(sun, santiago).expect("span");
        assert_eq!(span.to - span.from, chrono::Duration::hours(23));
        assert_eq!(
            due(
                span.from + chrono::Duration::minutes(5),
                Weekday::Sun,
                0,
                santiago
            ),
            Some(sun)
        );
    }
}
