//! Retention end to end: a ticket closed for longer than `retention.days` is archived (its
//! card edited in Slack to say so, with nothing left to click), then deleted with everything
//! about it; one replica at a time runs the round; an open ticket is never touched.

mod support;

use chrono::{Duration, Utc};
use support::*;
use switchboard::core::TicketId;
use switchboard::workers::retention::round;

#[tokio::test]
async fn a_ticket_closed_long_ago_is_archived_in_chat_then_deleted() {
    let w = World::new().await;
    w.slack_ok().await;
    w.meta_webhook(&comment_webhook(
        "1001_1",
        "1001",
        "5001",
        "Jo",
        "old question",
    ))
    .await;
    w.meta_webhook(&comment_webhook(
        "1001_2",
        "1001",
        "5002",
        "Al",
        "still open",
    ))
    .await;
    w.settle().await;
    w.take_slack("/chat.postMessage").await;
    let card = w.store.card_of(TicketId(1)).await.unwrap().unwrap().message;
    w.click("UANA", &card, "sb1:close:1").await;
    w.settle().await;
    w.take_slack("/chat.update").await;

    // Not closed for long enough: nothing happens.
    let now = Utc::now();
    let r = round(&w.svc, "replica-a", now + Duration::days(41))
        .await
        .unwrap();
    assert!(r.ran);
    assert_eq!(r.archived, 0);

    // 43 days later: archived, and the card says so.
    let later = now + Duration::days(43);
    let r = round(&w.svc, "replica-a", later).await.unwrap();
    assert_eq!(r.archived, 1, "{r:?}");
    // The processed webhooks and delivered jobs are older than the period too.
    assert!(r.deleted_rows > 0, "{r:?}");
    // Another replica in the same period does nothing.
    let other = round(&w.svc, "replica-b", later).await.unwrap();
    assert!(!other.ran);
    w.settle().await;
    let updates = w.take_slack("/chat.update").await;
    let last = &updates.last().expect("card edited").body;
    assert_eq!(last["ts"], card.as_str());
    assert!(blocks_text(last).contains("Archived: closed for more than 42 days"));
    assert!(action_ids(last).is_empty(), "{:?}", action_ids(last));
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert!(t.state.archived.is_some());

    // After the grace period the ticket is gone; the open one stays.
    let r = round(&w.svc, "replica-a", later + Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(r.deleted_tickets, 1, "{r:?}");
    assert!(w.store.ticket(TicketId(1)).await.unwrap().is_none());
    assert!(w.store.history(TicketId(1)).await.unwrap().is_empty());
    assert!(w.store.ticket(TicketId(2)).await.unwrap().is_some());
}

#[tokio::test]
async fn retention_zero_keeps_everything() {
    let w = World::with(|c| c.retention.days = 0).await;
    w.slack_ok().await;
    w.meta_webhook(&comment_webhook("1001_1", "1001", "5001", "Jo", "hi"))
        .await;
    w.settle().await;
    let card = w.store.card_of(TicketId(1)).await.unwrap().unwrap().message;
    w.click("UANA", &card, "sb1:close:1").await;
    w.settle().await;
    let r = round(&w.svc, "replica-a", Utc::now() + Duration::days(4_000))
        .await
        .unwrap();
    assert!(!r.ran);
    assert!(w.store.ticket(TicketId(1)).await.unwrap().is_some());
}
