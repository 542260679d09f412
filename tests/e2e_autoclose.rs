//! Auto-close end to end: in a channel with `auto_close_days = 7`, a ticket the team answered
//! last is closed by the system after seven days (its card says why, in Slack), one the
//! customer answered last is not, and a customer's new message reopens it.

mod support;

use chrono::{Duration, Utc};
use support::*;
use switchboard::config::ChannelConfig;
use switchboard::core::{Status, TicketId};
use switchboard::workers::autoclose::round;

#[tokio::test]
async fn a_ticket_the_team_answered_last_closes_after_the_period_and_reopens_on_a_message() {
    let w = World::with(|c| {
        c.slack.channels = vec![ChannelConfig {
            id: CHANNEL.into(),
            reply_mode: Default::default(),
            reply_as: Default::default(),
            auto_close_days: Some(7),
            hours: None,
            sla: None,
            auto_reply: None,
        }];
    })
    .await;
    w.slack_ok().await;
    w.graph_ok().await;
    w.meta_webhook(&comment_webhook("1001_1", "1001", "5001", "Jo", "question"))
        .await;
    w.meta_webhook(&comment_webhook(
        "1001_2",
        "1001",
        "5002",
        "Al",
        "unanswered",
    ))
    .await;
    w.settle().await;
    let card = w.store.card_of(TicketId(1)).await.unwrap().unwrap().message;
    w.thread_message(
        "Ev1",
        "UANA",
        &card,
        "1700000500.000100",
        "Here is the answer",
    )
    .await;
    w.settle().await;
    w.take_slack("/chat.update").await;

    let now = Utc::now();
    assert_eq!(
        round(&w.svc, "a", now + Duration::days(6)).await.unwrap(),
        0
    );
    assert_eq!(
        round(&w.svc, "a", now + Duration::days(8)).await.unwrap(),
        1
    );
    w.settle().await;
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_eq!(t.state.status, Status::Closed);
    let history = w.store.history(TicketId(1)).await.unwrap();
    assert!(history.iter().any(|h| h.what.code() == "auto_closed"));
    let updates = w.take_slack("/chat.update").await;
    let last = &updates.last().expect("card edited").body;
    assert!(blocks_text(last).contains("Closed automatically"), "{last}");
    // Nobody answered Al: left open.
    let al = w.store.ticket(TicketId(2)).await.unwrap().unwrap();
    assert_eq!(al.state.status, Status::Unread);

    // Jo writes again: reopened, the note gone.
    w.meta_webhook(&comment_webhook(
        "1001_3",
        "1001",
        "5001",
        "Jo",
        "one more thing",
    ))
    .await;
    w.settle().await;
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_ne!(t.state.status, Status::Closed);
    assert_eq!(t.state.auto_closed, None);
    // The customer has the last word now: later rounds leave it open, even once read.
    let card = w.store.card_of(TicketId(1)).await.unwrap().unwrap().message;
    w.click("UANA", &card, "sb1:read:1").await;
    w.settle().await;
    assert_eq!(
        round(&w.svc, "a", now + Duration::days(30)).await.unwrap(),
        0
    );
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_eq!(t.state.status, Status::Read);
}
