//! SLA timers end to end: in a channel with a first-response target, an unanswered ticket's
//! card shows when the answer is due, the channel (its user group) is pinged once at the
//! warning and once at the breach, both recorded in the history; a ticket answered in time
//! records the target met and never pings.

mod support;

use chrono::{Duration, Utc};
use support::*;
use switchboard::config::{ChannelConfig, SlaConfig};
use switchboard::core::TicketId;
use switchboard::workers::sla::round;

/// A comment webhook written just now (an old one, as a backfill is, starts no SLA clock).
fn fresh(webhook: String) -> String {
    webhook.replace("1700000000", &Utc::now().timestamp().to_string())
}

fn with_sla(c: &mut switchboard::config::Config) {
    c.slack.channels = vec![ChannelConfig {
        id: CHANNEL.into(),
        reply_mode: Default::default(),
        reply_as: Default::default(),
        auto_close_days: None,
        hours: None,
        sla: Some(SlaConfig {
            first_response_minutes: Some(60),
            next_response_minutes: None,
            warn_percent: 75,
            notify: Some("S0SUPPORT".into()),
        }),
        auto_reply: None,
    }];
}

#[tokio::test]
async fn an_unanswered_ticket_pings_once_at_the_warning_and_once_at_the_breach() {
    let w = World::with(with_sla).await;
    w.slack_ok().await;
    w.graph_ok().await;
    let now = Utc::now();
    w.meta_webhook(&fresh(comment_webhook(
        "1001_1",
        "1001",
        "5001",
        "<!channel> Jo",
        "anyone there?",
    )))
    .await;
    w.settle().await;
    let posted = w.take_slack("/chat.postMessage").await;
    assert_eq!(posted.len(), 1, "the card");
    let card_text = blocks_text(&posted[0].body);
    assert!(
        card_text.contains("First response due <!date^"),
        "{card_text}"
    );

    // A second ticket, a minute later: the queue lists the soonest due first, with its
    // time left.
    w.meta_webhook(&fresh(comment_webhook(
        "1001_2", "1001", "5002", "Al", "me too",
    )))
    .await;
    w.settle().await;
    w.take_slack("/chat.postMessage").await;
    let (_, body) = w.command("UANA", "queue unassigned").await;
    let listing: serde_json::Value = serde_json::from_str(&body).expect("json");
    let listing = listing["text"].as_str().unwrap_or_default();
    let (jo, al) = (
        listing.find("&lt;!channel&gt; Jo").expect("Jo listed"),
        listing.find("Al ·").expect("Al listed"),
    );
    assert!(jo < al, "{listing}");
    assert!(listing.contains("min to first response"), "{listing}");
    // Closing stops Al's clock: only Jo's alerts follow.
    let al_card = w.store.card_of(TicketId(2)).await.unwrap().unwrap().message;
    w.click("UANA", &al_card, "sb1:close:2").await;
    w.settle().await;
    w.take_slack("/chat.update").await;

    // Not yet at the warning threshold (45 of 60 minutes).
    assert_eq!(
        round(&w.svc, "a", now + Duration::minutes(30))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        round(&w.svc, "a", now + Duration::minutes(50))
            .await
            .unwrap(),
        1
    );
    w.settle().await;
    let alerts = w.take_slack("/chat.postMessage").await;
    assert_eq!(alerts.len(), 1, "one warning");
    let warning = &alerts[0].body;
    let text = warning["text"].as_str().unwrap_or_default();
    assert!(text.contains("<!subteam^S0SUPPORT> SLA warning"), "{text}");
    // In the card's thread and in the channel; the customer's name is inert.
    assert_eq!(warning["reply_broadcast"], true, "{warning}");
    assert!(warning["thread_ts"].is_string(), "{warning}");
    assert!(!text.contains("<!channel>"), "{text}");
    let updates = w.take_slack("/chat.update").await;
    assert!(
        blocks_text(&updates.last().expect("card edited").body).contains("due soon"),
        "{updates:?}"
    );

    // Again before the breach: nothing more.
    assert_eq!(
        round(&w.svc, "a", now + Duration::minutes(55))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        round(&w.svc, "a", now + Duration::minutes(61))
            .await
            .unwrap(),
        1
    );
    w.settle().await;
    let alerts = w.take_slack("/chat.postMessage").await;
    assert_eq!(alerts.len(), 1, "one breach alert");
    let text = alerts[0].body["text"].as_str().unwrap_or_default();
    assert!(text.contains("SLA missed"), "{text}");
    let updates = w.take_slack("/chat.update").await;
    assert!(blocks_text(&updates.last().expect("card edited").body).contains("overdue"));
    // Never twice.
    assert_eq!(
        round(&w.svc, "a", now + Duration::hours(5)).await.unwrap(),
        0
    );

    let codes: Vec<&str> = w
        .store
        .history(TicketId(1))
        .await
        .unwrap()
        .iter()
        .map(|h| h.what.code())
        .filter(|c| c.starts_with("sla_"))
        .collect();
    assert_eq!(codes, ["sla_warned", "sla_breached"]);
    w.finish().await;
}

#[tokio::test]
async fn a_ticket_answered_in_time_records_the_target_met_and_never_pings() {
    let w = World::with(with_sla).await;
    w.slack_ok().await;
    w.graph_ok().await;
    let now = Utc::now();
    w.meta_webhook(&fresh(comment_webhook(
        "1001_1", "1001", "5001", "Jo", "question",
    )))
    .await;
    w.settle().await;
    let card = w.store.card_of(TicketId(1)).await.unwrap().unwrap().message;
    w.thread_message("Ev1", "UANA", &card, "1700000500.000100", "Here you go")
        .await;
    w.settle().await;
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_eq!(t.state.sla, None, "the clock stopped");
    let history = w.store.history(TicketId(1)).await.unwrap();
    assert!(
        history.iter().any(|h| h.what.code() == "sla_met"),
        "{history:?}"
    );
    assert_eq!(
        round(&w.svc, "a", now + Duration::hours(2)).await.unwrap(),
        0
    );

    // A comment written long ago (a backfill) opens a ticket with no clock and no due line.
    w.take_slack("/chat.postMessage").await;
    w.meta_webhook(&comment_webhook(
        "1001_9",
        "1001",
        "5009",
        "Old",
        "from 2023",
    ))
    .await;
    w.settle().await;
    let old = w.store.ticket(TicketId(2)).await.unwrap().unwrap();
    assert_eq!(old.state.sla, None);
    let posted = w.take_slack("/chat.postMessage").await;
    assert!(!blocks_text(&posted[0].body).contains("First response due"));
}

const PSID: &str = "6001";

fn messenger(mid: &str, text: &str, ts_ms: i64) -> String {
    serde_json::json!({"object": "page", "entry": [{"id": PAGE_ID, "time": ts_ms, "messaging": [{
        "sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": ts_ms,
        "message": {"mid": mid, "text": text}
    }]}]})
    .to_string()
}

/// Business hours closed today and tomorrow (holidays), open 09:00–17:00 UTC otherwise.
fn closed_until_the_day_after_tomorrow(c: &mut switchboard::config::Config) {
    let today = Utc::now().date_naive();
    c.hours.insert(
        "office".into(),
        switchboard::config::HoursConfig {
            tz: "UTC".into(),
            week: vec!["daily 09:00-17:00".into()],
            holidays: vec![today.to_string(), (today + Duration::days(1)).to_string()],
        },
    );
    c.slack.channels = vec![ChannelConfig {
        id: CHANNEL.into(),
        reply_mode: Default::default(),
        reply_as: Default::default(),
        auto_close_days: None,
        hours: Some("office".into()),
        sla: Some(SlaConfig {
            first_response_minutes: Some(30),
            next_response_minutes: None,
            warn_percent: 75,
            notify: None,
        }),
        auto_reply: Some(switchboard::config::AutoReplyConfig {
            first_contact: Some("Thanks {author_name}, we got your message.".into()),
            out_of_hours: Some("We are closed right now; we are back {next_open}.".into()),
            every_hours: 24,
            public: false,
        }),
    }];
}

#[tokio::test]
async fn a_dm_out_of_hours_gets_exactly_one_automatic_reply_and_the_card_shows_the_sla_clock() {
    let w = World::with(closed_until_the_day_after_tomorrow).await;
    assert!(
        w.svc.config.validate().is_empty(),
        "{:?}",
        w.svc.config.validate()
    );
    w.slack_ok().await;
    w.graph_messages_ok().await;
    let now = Utc::now();
    let ms = now.timestamp_millis();
    w.meta_webhook(&messenger("m_1", "Hello?", ms - 2_000))
        .await;
    w.settle().await;
    w.meta_webhook(&messenger("m_2", "Anyone?", ms)).await;
    w.settle().await;

    // One automatic reply through the Send API, however many messages.
    let sent = w.take_graph(&format!("/{PAGE_ID}/messages")).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let text = sent[0].body["message"]["text"].as_str().unwrap_or_default();
    let reopen = (now + Duration::days(2))
        .format("%A %-d %B, 09:00")
        .to_string();
    assert!(
        text.starts_with("We are closed right now; we are back ") && text.contains(&reopen),
        "{text} / {reopen}"
    );

    // The card shows the clock, which pauses while closed: due 30 open minutes after the
    // next opening.
    let posts = w.take_slack("/chat.postMessage").await;
    let card = blocks_text(&posts[0].body);
    let due = (now + Duration::days(2))
        .date_naive()
        .and_hms_opt(9, 30, 0)
        .expect("time")
        .and_utc();
    assert!(
        card.contains(&format!("First response due <!date^{}^", due.timestamp())),
        "{card}"
    );
    // Shown as automatic in the thread, with its delivery mark.
    let copies: Vec<String> = posts
        .iter()
        .filter_map(|p| p.body["text"].as_str().map(str::to_string))
        .filter(|t| t.contains("Automatic reply"))
        .collect();
    assert_eq!(copies.len(), 1, "{posts:?}");
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    // Not the team's answer: unread, the clock still running, nobody "last replied".
    assert_eq!(t.state.status, switchboard::core::Status::Unread);
    assert!(t.state.sla.is_some_and(|c| c.due == Some(due)));
    assert_eq!(t.state.last_replied_by, None);
    let history = w.store.history(TicketId(1)).await.unwrap();
    let delivered: Vec<_> = history
        .iter()
        .filter(|h| h.what.code() == "reply_delivered")
        .collect();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].actor, switchboard::core::Actor::System);
    // Nothing is due while closed.
    assert_eq!(
        round(&w.svc, "a", now + Duration::hours(20)).await.unwrap(),
        0
    );
}
