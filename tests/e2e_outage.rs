//! Outages are normal: end-to-end scenarios with the real workers running (as `serve` runs
//! them) against fakes that fail for a while, stall (accept a call and never answer) or
//! answer slowly. Budgets and deadlines are configured short; nothing sleeps for minutes.

mod support;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};
use support::*;
use switchboard::app::Workers;
use switchboard::config::{Config, PageConfig};
use switchboard::core::{Delivery, HistoryKind, MessageKey, Status, TicketId};
use switchboard::store::JobStatus;

const POST: &str = "1234567890321_901097836652708";

fn comment(n: u32) -> String {
    comment_webhook(
        &format!("901097836652708_90343899308{n:04}"),
        POST,
        &format!("55500{n:02}"),
        &format!("Customer {n}"),
        &format!("Question number {n}"),
    )
}

/// Fast retries; a retry budget far longer than any outage in these tests.
fn outage_config(c: &mut Config) {
    c.outbox.retry_budget_secs = 3_600;
    c.outbox.base_backoff_ms = 20;
    c.outbox.max_backoff_secs = 1;
    c.outbox.poll_ms = 50;
    c.http.timeout_secs = 1;
    c.http.connect_timeout_secs = 1;
    c.outbox.lease_secs = 11;
}

/// Wait (polling, bounded) until `done` holds.
async fn eventually<F, Fut>(what: &str, limit: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Ticket `n`'s card, which must exist.
async fn card_of(w: &World, n: i64) -> switchboard::core::ChatRef {
    w.store
        .card_of(TicketId(n))
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("ticket {n} has a card"))
}

async fn cards(w: &World, tickets: impl IntoIterator<Item = i64>) -> usize {
    let mut n = 0;
    for t in tickets {
        if w.store.card_of(TicketId(t)).await.expect("read").is_some() {
            n += 1;
        }
    }
    n
}

fn top_level(posts: &[Seen]) -> Vec<&Seen> {
    posts
        .iter()
        .filter(|p| p.body.get("thread_ts").is_none_or(Value::is_null))
        .collect()
}

/// Slack answers 503 for longer than the old attempt budget (8 attempts at these backoffs
/// is well under a second) while 10 comments arrive: afterwards every card is posted exactly
/// once, and a later comment on one of them shows in its thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_outage_loses_no_card() {
    let w = World::with(outage_config).await;
    w.slack_ok().await;
    let refused = w.slack_down_for(Duration::from_secs(3), 503).await;
    let workers = Workers::spawn(&w.svc);
    for n in 1..=10 {
        let (status, _) = w.meta_webhook(&comment(n)).await;
        assert_eq!(status, StatusCode::OK);
    }
    eventually("10 cards", Duration::from_secs(30), || async {
        cards(&w, 1..=10).await == 10
    })
    .await;
    assert!(
        refused.load(std::sync::atomic::Ordering::SeqCst) >= 10,
        "the outage refused calls"
    );
    // A later comment by customer 3 joins ticket 3 and is posted in its thread.
    let later = comment_webhook(
        "901097836652708_903438993089999",
        POST,
        "5550003",
        "Customer 3",
        "Anyone there?",
    );
    assert_eq!(w.meta_webhook(&later).await.0, StatusCode::OK);
    // Customer 3's ticket (ticket numbers follow the order the inbox applied the comments
    // in, which concurrent lanes do not fix).
    let ticket3 = w
        .store
        .ticket_by_conversation(&format!("facebook:{PAGE_ID}:{POST}:5550003"))
        .await
        .expect("read")
        .expect("customer 3's ticket");
    let card3 = card_of(&w, ticket3.id.0).await;
    eventually(
        "the later comment in card 3's thread",
        Duration::from_secs(60),
        || {
            let w = &w;
            let card3 = card3.message.clone();
            async move {
                w.slack
                    .received_requests()
                    .await
                    .unwrap_or_default()
                    .iter()
                    .filter(|r| r.url.path() == "/chat.postMessage")
                    .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
                    .any(|b| {
                        b["thread_ts"] == json!(card3) && b.to_string().contains("Anyone there?")
                    })
            }
        },
    )
    .await;
    assert!(workers.stop(Duration::from_secs(5)).await);
    // Exactly one successful card post per ticket: every post past the outage made a card.
    let posts = w.take_slack("/chat.postMessage").await;
    let refused = refused.load(std::sync::atomic::Ordering::SeqCst) as usize;
    let succeeded_top = top_level(&posts).len() - refused.min(top_level(&posts).len());
    assert_eq!(
        succeeded_top,
        10,
        "{} posts, {refused} refused",
        posts.len()
    );
    assert_eq!(w.store.count_jobs(JobStatus::Failed).await.unwrap(), 0);
    assert_eq!(w.store.count_jobs(JobStatus::Pending).await.unwrap(), 0);
}

/// One Slack call that is accepted and never answered: the other tickets are delivered in
/// the meantime, the stalled call is abandoned at its deadline and retried, and shutdown
/// keeps its deadline even while a call hangs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_call_holds_back_nothing_and_shutdown_keeps_its_deadline() {
    let w = World::with(|c| {
        outage_config(c);
        c.http.timeout_secs = 3;
        c.outbox.lease_secs = 13;
        c.meta.pages.push(PageConfig {
            id: "777000777".into(),
            name: "Acme Stalls".into(),
            access_token: Some("EAAG-other".to_string().into()),
            slack_channel: Some("C0STALL".into()),
            discord_channel: None,
        });
    })
    .await;
    w.slack_ok().await;
    w.slack_stalls("C0STALL", 1).await;
    let workers = Workers::spawn(&w.svc);
    let stalled = comment(1).replace(PAGE_ID, "777000777");
    assert_eq!(w.meta_webhook(&stalled).await.0, StatusCode::OK);
    // Let the stalled post be in flight first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    for n in 2..=4 {
        assert_eq!(w.meta_webhook(&comment(n)).await.0, StatusCode::OK);
    }
    eventually("the other three cards", Duration::from_secs(30), || async {
        cards(&w, 2..=4).await == 3
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "delivered while the stalled call was still hanging ({:?})",
        started.elapsed()
    );
    assert_eq!(
        cards(&w, [1]).await,
        0,
        "the stalled card is not posted yet"
    );
    // The stalled call is abandoned at its 3 s deadline and retried: the card appears.
    eventually(
        "the stalled card, retried",
        Duration::from_secs(30),
        || async { cards(&w, [1]).await == 1 },
    )
    .await;

    // A second stall, then shutdown: it completes within its deadline anyway.
    w.slack_stalls("C0STALL", 1).await;
    let again = comment_webhook(
        "901097836652708_903438993089998",
        POST,
        "5550001",
        "Customer 1",
        "Still there?",
    )
    .replace(PAGE_ID, "777000777");
    assert_eq!(w.meta_webhook(&again).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopping = Instant::now();
    let finished = workers.stop(Duration::from_millis(800)).await;
    assert!(!finished, "the hanging call was abandoned, not waited for");
    assert!(
        stopping.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        stopping.elapsed()
    );
    // Abandoned, not lost: its job is still pending for the next worker.
    assert!(w.store.count_jobs(JobStatus::Pending).await.unwrap() >= 1);
}

/// A teammate deletes their reply inside the undo window while the reply's own event is
/// being retried (the permission check's user-group lookup got a 500): the deletion waits
/// for the reply in its lane, cancels it, and nothing reaches the customer.
#[tokio::test]
async fn a_deletion_in_the_undo_window_wins_even_when_the_reply_is_retried() {
    let w = World::with(|c| {
        c.slack.undo_seconds = 1;
        c.permissions.reply = vec!["SAGENTS".into()];
        // Only the lane protects the order here (no waiting for a missing target).
        c.inbox.orphan_wait_secs = 0;
    })
    .await;
    w.slack_ok().await;
    w.graph_ok().await;
    w.group("SAGENTS", &["U1"]);
    assert_eq!(w.meta_webhook(&comment(1)).await.0, StatusCode::OK);
    w.settle().await;
    let card = card_of(&w, 1).await;
    w.take_slack("/chat.postMessage").await;
    // The directory is down for the next lookups: the reply's event fails and is retried.
    w.slack_fails("/usergroups.users.list", 3, 500).await;
    let reply_ts = "1700000500.000100";
    let (status, _) = w
        .thread_message("Ev1", "U1", &card.message, reply_ts, "Sorry, refund coming")
        .await;
    assert_eq!(status, StatusCode::OK);
    // One round: the reply's row fails (500) and waits for its retry.
    switchboard::workers::inbox::process_batch(&w.svc)
        .await
        .expect("inbox");
    // Deleted within the undo window.
    let (status, _) = w
        .edit_or_delete("Ev2", "U1", &card.message, reply_ts, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    w.settle().await;
    // Past the undo window: nothing was sent to the customer.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    w.settle().await;
    let graph_posts = w
        .graph
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(graph_posts, 0, "nothing reached the customer");
    let key = MessageKey::from_chat(&switchboard::core::ChatRef {
        surface: switchboard::core::Surface::Slack,
        workspace: TEAM.into(),
        channel: CHANNEL.into(),
        message: reply_ts.into(),
    });
    let reply = w.store.message(&key).await.expect("read").expect("reply");
    assert_eq!(reply.delivery, Some(Delivery::Cancelled));
}

/// A reply typed in the card's thread is being retried (the permission check's user-group
/// lookup got a 500) when a teammate closes the ticket from the card: the click waits for the
/// reply in the ticket's lane, so the ticket records the reply, then the close.
#[tokio::test]
async fn a_click_waits_for_the_thread_reply_before_it() {
    let w = World::with(|c| {
        c.permissions.reply = vec!["SAGENTS".into()];
        c.inbox.orphan_wait_secs = 0;
    })
    .await;
    w.slack_ok().await;
    w.graph_ok().await;
    w.group("SAGENTS", &["U1"]);
    assert_eq!(w.meta_webhook(&comment(1)).await.0, StatusCode::OK);
    w.settle().await;
    let card = card_of(&w, 1).await;
    w.slack_fails("/usergroups.users.list", 2, 500).await;
    let (status, _) = w
        .thread_message(
            "Ev1",
            "U1",
            &card.message,
            "1700000500.000100",
            "Refund sent",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // One round: the reply's row fails (500) and waits for its retry.
    switchboard::workers::inbox::process_batch(&w.svc)
        .await
        .expect("inbox");
    assert_eq!(
        w.click("U2", &card.message, "sb1:close:1").await.0,
        StatusCode::OK
    );
    w.settle().await;
    let history = w.store.history(TicketId(1)).await.expect("history");
    let order: Vec<&str> = history
        .iter()
        .filter_map(|h| match &h.what {
            HistoryKind::ReplyQueued { .. } => Some("reply"),
            HistoryKind::StatusChanged { to, .. } if *to == Status::Closed => Some("close"),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["reply", "close"], "{history:#?}");
}

/// Two replicas on one Postgres, and a card post that Slack carries out but never answers:
/// the call is abandoned at its deadline, before its lease could run out (so no other replica
/// claims the job meanwhile), and the retry finds the card the stalled call made (by its
/// message metadata) instead of posting a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_and_a_stalled_call_make_one_card() {
    let Some(db) = support::pg::database().await else {
        return;
    };
    let a = World::start(db.url.clone(), None, outage_config).await;
    a.slack_ok().await;
    a.slack_stalls(CHANNEL, 1).await;
    // What Slack shows after the stalled post: the card it created, marked with its ticket.
    wiremock::Mock::given(wiremock::matchers::path("/conversations.history"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "has_more": false, "pin_count": 0,
            "messages": [
                {"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": "another message",
                 "ts": "1700000998.000100"},
                {"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": "Facebook comment",
                 "ts": "1700000999.000100",
                 "metadata": {"event_type": "switchboard_card", "event_payload": {"ticket": "1"}}}
            ]
        })))
        .with_priority(1)
        .mount(&a.slack)
        .await;
    // Replica B: its own services and workers on the same database and the same fakes.
    let mut config = support::config(&a.slack.uri(), &a.graph.uri(), &db.url);
    outage_config(&mut config);
    let store_b = switchboard::store::connect(&db.url).await.expect("connect");
    let b = switchboard::app::services(config, store_b).expect("services");
    let workers_a = Workers::spawn(&a.svc);
    let workers_b = Workers::spawn(&b);
    assert_eq!(a.meta_webhook(&comment(1)).await.0, StatusCode::OK);
    eventually("the card", Duration::from_secs(20), || async {
        cards(&a, [1]).await == 1
    })
    .await;
    // Give a second claimer every chance to post again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(workers_a.stop(Duration::from_secs(5)).await);
    assert!(workers_b.stop(Duration::from_secs(5)).await);
    let posts = a.take_slack("/chat.postMessage").await;
    assert_eq!(
        top_level(&posts).len(),
        1,
        "only the stalled post: one card"
    );
    assert_eq!(
        posts[0].body["metadata"],
        json!({"event_type": "switchboard_card", "event_payload": {"ticket": "1"}}),
        "cards are marked with their ticket"
    );
    assert_eq!(card_of(&a, 1).await.message, "1700000999.000100");
    assert_eq!(a.take_slack("/conversations.history").await.len(), 1);
    let query: Vec<String> = a
        .slack
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/conversations.history")
        .map(|r| r.url.query().unwrap_or_default().to_string())
        .collect();
    assert!(
        query[0].contains("include_all_metadata=true") && query[0].contains("channel=C0CARDS"),
        "{query:?}"
    );
    assert_eq!(a.store.count_jobs(JobStatus::Pending).await.unwrap(), 0);
    drop(a);
    db.drop_database().await;
}

/// Meta delivers an edit before the comment it edits: the edit waits (bounded) for its item
/// instead of being dropped, and the card shows the edited text.
#[tokio::test]
async fn an_edit_that_overtakes_its_comment_waits_for_it() {
    let w = World::with(|c| c.inbox.orphan_wait_secs = 60).await;
    w.slack_ok().await;
    let id = "901097836652708_903438993080001";
    let edit = json!({"object": "page", "entry": [{"id": PAGE_ID, "time": 1700000100, "changes": [{"field": "feed", "value": {
        "item": "comment", "verb": "edited", "comment_id": id, "post_id": POST, "parent_id": POST,
        "sender_id": 5550001, "sender_name": "Customer 1", "created_time": 1700000100,
        "message": "Question number 1, edited"}}]}]});
    assert_eq!(w.meta_webhook(&edit.to_string()).await.0, StatusCode::OK);
    // The edit alone: nothing to show yet, and it is not dropped.
    switchboard::workers::inbox::process_batch(&w.svc)
        .await
        .expect("inbox");
    assert_eq!(w.store.count_pending_inbox().await.unwrap(), 1);
    assert_eq!(w.meta_webhook(&comment(1)).await.0, StatusCode::OK);
    w.settle().await;
    let posts = w.take_slack("/chat.postMessage").await;
    let updates = w.take_slack("/chat.update").await;
    let last = updates
        .last()
        .map(|u| blocks_text(&u.body))
        .unwrap_or_default();
    assert_eq!(posts.len(), 1, "one card");
    assert!(last.contains("edited"), "the card shows the edit: {last}");
    w.finish().await;
}

/// Slack answers 200 with an error body, as it does for a permanent refusal.
async fn slack_refuses_next_post(w: &World, error: &str) {
    wiremock::Mock::given(wiremock::matchers::path("/chat.postMessage"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(json!({"ok": false, "error": error})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.slack)
        .await;
}

/// A card post that gave up leaves no invisible ticket: the customer's next message finds no
/// card, so the card is posted first and the message then shows in its thread.
#[tokio::test]
async fn a_missing_card_is_posted_before_its_thread_message() {
    let w = World::new().await;
    w.slack_ok().await;
    slack_refuses_next_post(&w, "channel_not_found").await;
    assert_eq!(w.meta_webhook(&comment(1)).await.0, StatusCode::OK);
    w.settle().await;
    assert_eq!(w.store.count_jobs(JobStatus::Failed).await.unwrap(), 1);
    assert_eq!(cards(&w, [1]).await, 0);
    w.take_slack("/chat.postMessage").await;

    let again = comment_webhook(
        "901097836652708_903438993089997",
        POST,
        "5550001",
        "Customer 1",
        "Hello again?",
    );
    assert_eq!(w.meta_webhook(&again).await.0, StatusCode::OK);
    w.settle().await;
    let card = card_of(&w, 1).await;
    let posts = w.take_slack("/chat.postMessage").await;
    assert_eq!(top_level(&posts).len(), 1, "one card");
    let in_thread: Vec<_> = posts
        .iter()
        .filter(|p| p.body["thread_ts"] == json!(card.message))
        .collect();
    assert_eq!(in_thread.len(), 1, "then the message in its thread");
    assert!(in_thread[0].body.to_string().contains("Hello again?"));
    w.take_slack("/chat.update").await;
    // The re-post looked for a card the given-up post might have made (it made none).
    assert_eq!(w.take_slack("/conversations.history").await.len(), 1);
    w.finish().await;
}

/// A card that gave up is announced, and posted, when its channel works again: the next
/// card posted there tells the channel which tickets could not be posted earlier.
#[tokio::test]
async fn cards_that_gave_up_are_announced_and_posted_when_the_channel_works() {
    let w = World::new().await;
    w.slack_ok().await;
    slack_refuses_next_post(&w, "not_in_channel").await;
    assert_eq!(w.meta_webhook(&comment(1)).await.0, StatusCode::OK);
    w.settle().await;
    assert_eq!(cards(&w, [1]).await, 0);
    w.take_slack("/chat.postMessage").await;
    assert_eq!(w.meta_webhook(&comment(2)).await.0, StatusCode::OK);
    w.settle().await;
    assert_eq!(cards(&w, [1, 2]).await, 2);
    let posts = w.take_slack("/chat.postMessage").await;
    let texts: Vec<String> = top_level(&posts)
        .iter()
        .map(|p| p.body.to_string())
        .collect();
    assert_eq!(texts.len(), 3, "card 2, the notice, card 1: {texts:?}");
    let notices: Vec<_> = texts
        .iter()
        .filter(|t| t.contains("could not be posted earlier: #1."))
        .collect();
    assert_eq!(notices.len(), 1, "{texts:?}");
    // Told once: a third card brings no second notice.
    assert_eq!(w.meta_webhook(&comment(3)).await.0, StatusCode::OK);
    w.settle().await;
    let posts = w.take_slack("/chat.postMessage").await;
    assert_eq!(top_level(&posts).len(), 1);
    // Card 1's re-post looked for a card its given-up post might have made.
    assert_eq!(w.take_slack("/conversations.history").await.len(), 1);
    w.finish().await;
}

/// A stalled Slack call while an inbound event is processed (the permission check's user
/// group lookup) holds back only that event's lane: a new comment meanwhile gets its card.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_lookup_holds_back_only_its_own_lane() {
    let w = World::with(|c| {
        outage_config(c);
        c.http.timeout_secs = 4;
        c.outbox.lease_secs = 14;
        c.permissions.reply = vec!["SAGENTS".into()];
    })
    .await;
    w.slack_ok().await;
    w.group("SAGENTS", &["U1"]);
    let workers = Workers::spawn(&w.svc);
    assert_eq!(w.meta_webhook(&comment(1)).await.0, StatusCode::OK);
    eventually("card 1", Duration::from_secs(30), || async {
        cards(&w, [1]).await == 1
    })
    .await;
    let card = card_of(&w, 1).await;
    wiremock::Mock::given(wiremock::matchers::path("/usergroups.users.list"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "users": ["U1"]}))
                .set_delay(Duration::from_secs(600)),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.slack)
        .await;
    let (status, _) = w
        .thread_message("Ev9", "U1", &card.message, "1700000600.000100", "On it")
        .await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    assert_eq!(w.meta_webhook(&comment(2)).await.0, StatusCode::OK);
    eventually(
        "card 2 while the lookup hangs",
        Duration::from_secs(30),
        || async { cards(&w, [2]).await == 1 },
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "card 2 waited for the stalled lookup ({:?})",
        started.elapsed()
    );
    assert!(workers.stop(Duration::from_secs(8)).await);
}
