//! End-to-end scenarios of storm mode: a burst of comments on one post through the front door
//! (signed Meta webhooks, signed Slack clicks), asserting on what the fake Slack received and
//! on the database.

mod support;

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::json;
use support::*;
use switchboard::core::{Assignee, Status, TicketId};

const POST: &str = "1234567890321_901097836652708";
const OTHER_POST: &str = "1234567890321_555";

fn comment(n: u32, post: &str, text: &str) -> String {
    comment_webhook(
        &format!("901097836652708_7{n:05}"),
        post,
        &format!("777{n:04}"),
        &format!("Fan {n}"),
        text,
    )
}

/// Storms start at the fourth new ticket on a post; batches of at most five.
async fn storm_world() -> World {
    let w = World::with(|c| {
        c.storm.enabled = true;
        c.storm.threshold = 3;
        c.storm.batch_max = 5;
        // Storms end only when a scenario runs the round (no worker runs in the background).
        c.storm.quiet_secs = 1;
    })
    .await;
    w.slack_ok().await;
    w.graph_ok().await;
    w
}

/// Messages posted in the channel itself (cards, storm cards), and in threads, by thread.
fn split(posts: &[Seen]) -> (Vec<&Seen>, HashMap<String, Vec<&Seen>>) {
    let mut top = Vec::new();
    let mut threads: HashMap<String, Vec<&Seen>> = HashMap::new();
    for p in posts {
        match p.body["thread_ts"].as_str() {
            Some(ts) => threads.entry(ts.to_string()).or_default().push(p),
            None => top.push(p),
        }
    }
    (top, threads)
}

fn text_of(p: &Seen) -> String {
    let blocks = blocks_text(&p.body);
    if blocks.is_empty() {
        p.body["text"].as_str().unwrap_or_default().to_string()
    } else {
        blocks
    }
}

async fn storm_id(w: &World, ticket: i64) -> i64 {
    w.store
        .storm_of_ticket(TicketId(ticket))
        .await
        .unwrap()
        .expect("in a storm")
}

async fn storm_card_ts(w: &World, storm: i64) -> String {
    w.store
        .storm(storm)
        .await
        .unwrap()
        .expect("storm")
        .card
        .expect("storm card posted")
        .message
}

/// A click on a storm card control, from `channel`.
async fn storm_click(
    w: &World,
    user: &str,
    channel: &str,
    card_ts: &str,
    action_id: &str,
    selected: Option<&str>,
) -> (StatusCode, String) {
    let mut action = json!({"action_id": action_id, "block_id": "sb_storm",
        "action_ts": "1700000100.000002"});
    match selected {
        Some(v) => {
            action["type"] = json!("static_select");
            action["selected_option"] =
                json!({"text": {"type": "plain_text", "text": "x"}, "value": v});
        }
        None => {
            action["type"] = json!("button");
            action["text"] = json!({"type": "plain_text", "text": "x"});
            action["value"] = json!("1");
        }
    }
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user, "username": "u", "name": "u", "team_id": TEAM},
        "api_app_id": "A111", "token": "verification_token",
        "container": {"type": "message", "message_ts": card_ts, "channel_id": channel, "is_ephemeral": false},
        "trigger_id": format!("trig-{action_id}-{}", chrono::Utc::now().timestamp_micros()),
        "team": {"id": TEAM, "domain": "acme"},
        "channel": {"id": channel, "name": "somewhere"},
        "message": {"type": "message", "ts": card_ts, "text": "card", "blocks": []},
        "response_url": w.response_url(),
        "actions": [action],
        "state": {"values": {}}
    });
    w.interaction(&payload).await
}

/// Let the storms go quiet (one second here) and run the round that ends them.
async fn end_storms(w: &World) -> Vec<i64> {
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    switchboard::workers::storm::end_quiet(&w.svc, chrono::Utc::now())
        .await
        .unwrap()
}

/// The storm card's own text (its section: markup Slack renders; menu labels are plain text).
fn card_text(p: &Seen) -> String {
    p.body["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_burst_on_one_post_becomes_one_storm_card_with_every_comment_in_its_thread() {
    let w = storm_world().await;
    // A comment on another post first (ticket #1), then fifteen fans on one post at once
    // (tickets #2 to #16, numbered in the order they commit); a hostile text among them.
    let (status, _) = w.meta_webhook(&comment(99, OTHER_POST, "hello")).await;
    assert_eq!(status, StatusCode::OK);
    w.settle().await;
    for n in 1..=15 {
        let text = if n == 9 {
            "<!channel> *free* <https://evil.example|money>".to_string()
        } else {
            format!("refund please, order {n} arrived broken")
        };
        let (status, _) = w.meta_webhook(&comment(n, POST, &text)).await;
        assert_eq!(status, StatusCode::OK);
    }
    w.settle().await;

    // Nothing merged away: sixteen tickets.
    assert_eq!(w.store.count_tickets().await.unwrap(), 16);
    let posts = w.take_slack("/chat.postMessage").await;
    let (top, threads) = split(&posts);
    let storm_cards: Vec<_> = top
        .iter()
        .filter(|p| text_of(p).contains("Comment storm"))
        .collect();
    assert_eq!(storm_cards.len(), 1, "one storm card: {top:?}");
    // The first three and the other post's comment have cards; the storm holds the rest.
    assert_eq!(top.len(), 5, "{top:?}");
    let storm = storm_id(&w, 5).await;
    for t in 1..=4 {
        assert!(w.store.card_of(TicketId(t)).await.unwrap().is_some());
        assert_eq!(w.store.storm_of_ticket(TicketId(t)).await.unwrap(), None);
    }
    for t in 5..=16 {
        assert_eq!(w.store.card_of(TicketId(t)).await.unwrap(), None, "#{t}");
        assert_eq!(storm_id(&w, t).await, storm);
    }
    // Every storm comment is in the storm card's thread exactly once, in batches of at most
    // five, and the hostile one is inert.
    let card_ts = storm_card_ts(&w, storm).await;
    let batches = threads.get(&card_ts).expect("thread batches");
    assert!(
        batches.len() >= 3,
        "12 comments in batches of 5: {}",
        batches.len()
    );
    let all: String = batches
        .iter()
        .map(|b| text_of(b))
        .collect::<Vec<_>>()
        .join("\n");
    for t in 5..=16 {
        assert_eq!(
            all.matches(&format!("(#{t})")).count(),
            1,
            "#{t} once in {all}"
        );
    }
    for b in batches {
        assert!(text_of(b).lines().count() <= 5);
    }
    assert!(
        !all.contains("<!channel>") && !all.contains("<https://evil"),
        "{all}"
    );
    assert!(all.contains("&lt;!channel&gt;"), "{all}");
    // The card was edited in place as comments came in, and says what is going on.
    let updates = w.take_slack("/chat.update").await;
    let last = updates
        .iter()
        .rfind(|u| u.body["ts"] == json!(card_ts))
        .map(card_text)
        .unwrap_or_else(|| card_text(storm_cards[0]));
    assert!(last.contains("*12* comments"), "{last}");
    assert!(last.contains("refund"), "top words: {last}");
    assert!(!last.contains("<!channel>"), "{last}");
    let ids = action_ids(&storm_cards[0].body);
    assert!(ids.contains(&format!("sbs1:close_all:{storm}")), "{ids:?}");
    assert!(ids.contains(&format!("sbs1:open_card:{storm}")), "{ids:?}");

    // Quiet: the storm ends with its tally; a late comment on the post is a card again.
    let ended = end_storms(&w).await;
    assert_eq!(ended, vec![storm]);
    w.settle().await;
    let updates = w.take_slack("/chat.update").await;
    let tally = updates
        .iter()
        .rfind(|u| u.body["ts"] == json!(card_ts))
        .map(text_of)
        .expect("final edit");
    assert!(tally.contains("Comment storm over"), "{tally}");
    assert!(tally.contains("*12* open, 0 closed"), "{tally}");
    assert!(w.take_slack("/chat.postMessage").await.is_empty());
}

#[tokio::test]
async fn storm_card_actions_act_on_the_storms_tickets_only_from_its_channel() {
    let w = storm_world().await;
    for n in 1..=8 {
        w.meta_webhook(&comment(n, POST, "so late")).await;
    }
    w.settle().await;
    let storm = storm_id(&w, 4).await;
    let card_ts = storm_card_ts(&w, storm).await;
    w.take_slack("/chat.postMessage").await;

    // From another channel: refused, nothing changes.
    let (status, _) = storm_click(
        &w,
        "UANA",
        "C_ELSEWHERE",
        &card_ts,
        &format!("sbs1:close_all:{storm}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    w.settle().await;
    for t in 4..=8 {
        let s = w
            .store
            .ticket(TicketId(t))
            .await
            .unwrap()
            .unwrap()
            .state
            .status;
        assert_ne!(s, Status::Closed);
    }

    // Assign all to me: the storm's five tickets, not the three with cards.
    storm_click(
        &w,
        "UANA",
        CHANNEL,
        &card_ts,
        &format!("sbs1:assign_all_me:{storm}"),
        None,
    )
    .await;
    w.settle().await;
    for t in 1..=8 {
        let a = w
            .store
            .ticket(TicketId(t))
            .await
            .unwrap()
            .unwrap()
            .state
            .assignee;
        match (t, a) {
            (1..=3, None) => {}
            (4..=8, Some(Assignee::Person(p))) => assert_eq!(p.id.as_str(), "UANA"),
            (t, a) => panic!("#{t}: {a:?}"),
        }
    }
    // No card and no notice per ticket for it.
    let posts = w.take_slack("/chat.postMessage").await;
    assert!(
        posts.iter().all(|p| !p.body["thread_ts"].is_null()),
        "{posts:?}"
    );
    // Assign all to someone else; a team that is not configured changes nothing.
    storm_click(
        &w,
        "UANA",
        CHANNEL,
        &card_ts,
        &format!("sbs1:assign_all:{storm}"),
        Some("UBEN"),
    )
    .await;
    storm_click(
        &w,
        "UANA",
        CHANNEL,
        &card_ts,
        &format!("sbs1:assign_all_team:{storm}"),
        Some("nobody"),
    )
    .await;
    w.settle().await;
    for t in 4..=8 {
        let a = w
            .store
            .ticket(TicketId(t))
            .await
            .unwrap()
            .unwrap()
            .state
            .assignee;
        assert!(
            matches!(&a, Some(Assignee::Person(p)) if p.id.as_str() == "UBEN"),
            "#{t}: {a:?}"
        );
    }
    w.take_slack("/chat.postMessage").await;

    // Open one as a card: it gets its own card, once.
    storm_click(
        &w,
        "UANA",
        CHANNEL,
        &card_ts,
        &format!("sbs1:open_card:{storm}"),
        Some("6"),
    )
    .await;
    storm_click(
        &w,
        "UANA",
        CHANNEL,
        &card_ts,
        &format!("sbs1:open_card:{storm}"),
        Some("6"),
    )
    .await;
    w.settle().await;
    assert!(w.store.card_of(TicketId(6)).await.unwrap().is_some());
    let cards: Vec<_> = w
        .take_slack("/chat.postMessage")
        .await
        .into_iter()
        .filter(|p| p.body["thread_ts"].is_null() && text_of(p).contains("so late"))
        .collect();
    assert_eq!(cards.len(), 1, "{cards:?}");
    // A ticket this storm does not show cannot be opened from it.
    storm_click(
        &w,
        "UANA",
        CHANNEL,
        &card_ts,
        &format!("sbs1:open_card:{storm}"),
        Some("2"),
    )
    .await;
    w.settle().await;
    assert!(w.take_slack("/chat.postMessage").await.is_empty());

    // Close all (Slack asked first): every storm ticket closes, the card says so.
    storm_click(
        &w,
        "UANA",
        CHANNEL,
        &card_ts,
        &format!("sbs1:close_all:{storm}"),
        None,
    )
    .await;
    w.settle().await;
    for t in 4..=8 {
        let s = w
            .store
            .ticket(TicketId(t))
            .await
            .unwrap()
            .unwrap()
            .state
            .status;
        assert_eq!(s, Status::Closed, "#{t}");
    }
    for t in 1..=3 {
        let s = w
            .store
            .ticket(TicketId(t))
            .await
            .unwrap()
            .unwrap()
            .state
            .status;
        assert_ne!(s, Status::Closed, "#{t}");
    }
    let updates = w.take_slack("/chat.update").await;
    let card = updates
        .iter()
        .rfind(|u| u.body["ts"] == json!(card_ts))
        .map(text_of)
        .expect("storm card refreshed");
    assert!(
        !action_ids(
            &updates
                .iter()
                .rfind(|u| u.body["ts"] == json!(card_ts))
                .unwrap()
                .body
        )
        .iter()
        .any(|a| a.contains("close_all")),
        "{card}"
    );
}

#[tokio::test]
async fn a_customer_writing_again_after_the_storm_gets_a_card_of_their_own() {
    let w = storm_world().await;
    // One at a time: fan n is ticket #n.
    for n in 1..=6 {
        w.meta_webhook(&comment(n, POST, "first words")).await;
        w.settle().await;
    }
    let storm = storm_id(&w, 5).await;
    // During the storm, the fan's second comment joins the storm's thread, no card.
    let again = comment_webhook(
        "901097836652708_8000001",
        POST,
        "7770005",
        "Fan 5",
        "me again",
    );
    w.meta_webhook(&again).await;
    w.settle().await;
    assert_eq!(w.store.card_of(TicketId(5)).await.unwrap(), None);
    let thread = storm_card_ts(&w, storm).await;
    let posts = w.take_slack("/chat.postMessage").await;
    assert!(
        posts
            .iter()
            .any(|p| p.body["thread_ts"] == json!(thread) && text_of(p).contains("me again"))
    );
    // After it: a card of its own, with the message in its thread.
    end_storms(&w).await;
    w.settle().await;
    let later = comment_webhook(
        "901097836652708_8000002",
        POST,
        "7770005",
        "Fan 5",
        "still waiting",
    );
    w.meta_webhook(&later).await;
    w.settle().await;
    let card = w
        .store
        .card_of(TicketId(5))
        .await
        .unwrap()
        .expect("its own card");
    let posts = w.take_slack("/chat.postMessage").await;
    assert!(
        posts
            .iter()
            .any(|p| p.body["thread_ts"].is_null() && text_of(p).contains("first words")),
        "{posts:?}"
    );
    assert!(
        posts
            .iter()
            .any(|p| p.body["thread_ts"] == json!(card.message)
                && text_of(p).contains("still waiting")),
        "{posts:?}"
    );
}

/// Slack creates the storm card but the answer is lost (a 500 after the fact): the retry finds
/// the card by its metadata instead of posting a second one, and the storm goes on in it.
#[tokio::test]
async fn a_storm_card_slack_made_without_answering_is_found_not_posted_twice() {
    use wiremock::matchers::{body_partial_json, method, path};
    use wiremock::{Mock, ResponseTemplate};
    let w = World::with(|c| {
        c.storm.enabled = true;
        c.storm.threshold = 3;
    })
    .await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .and(body_partial_json(
            json!({"metadata": {"event_type": "switchboard_storm"}}),
        ))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream error"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.slack)
        .await;
    Mock::given(path("/conversations.history"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "has_more": false, "pin_count": 0,
            "messages": [{"type": "message", "user": "UBOT", "bot_id": "BBOT",
                "text": "Comment storm", "ts": "1700000999.000100",
                "metadata": {"event_type": "switchboard_storm", "event_payload": {"storm": "1"}}}]
        })))
        .with_priority(1)
        .mount(&w.slack)
        .await;
    w.slack_ok().await;
    w.graph_ok().await;
    for n in 1..=6 {
        w.meta_webhook(&comment(n, POST, "so good")).await;
    }
    w.settle().await;
    let storm = storm_id(&w, 4).await;
    assert_eq!(storm, 1);
    assert_eq!(storm_card_ts(&w, storm).await, "1700000999.000100");
    let posts = w.take_slack("/chat.postMessage").await;
    let storm_posts = posts
        .iter()
        .filter(|p| p.body["metadata"]["event_type"] == "switchboard_storm")
        .count();
    assert_eq!(storm_posts, 1, "only the attempt Slack did not answer");
    let thread: String = posts
        .iter()
        .filter(|p| p.body["thread_ts"] == "1700000999.000100")
        .map(text_of)
        .collect::<Vec<_>>()
        .join("\n");
    for t in 4..=6 {
        assert_eq!(thread.matches(&format!("(#{t})")).count(), 1, "{thread}");
    }
    assert_eq!(
        w.store
            .count_jobs(switchboard::store::JobStatus::Pending)
            .await
            .unwrap(),
        0
    );
}

/// A fake Slack that carries out a thread batch's first post but answers 500 (the answer lost
/// on the way back), and then lists that reply in `conversations.replies` (only replies at or
/// after `oldest`), metadata included only when asked for, as Slack does. The reply's `ts` is
/// when it was posted, less `backdate`.
#[derive(Clone, Default)]
struct LostBatch {
    posted: std::sync::Arc<std::sync::Mutex<Option<(serde_json::Value, String)>>>,
    backdate: chrono::Duration,
}

/// A Slack `ts` for a moment.
fn slack_ts(at: chrono::DateTime<chrono::Utc>) -> String {
    format!("{}.{:06}", at.timestamp(), at.timestamp_subsec_micros())
}

impl wiremock::Respond for LostBatch {
    fn respond(&self, req: &wiremock::Request) -> wiremock::ResponseTemplate {
        let Ok(mut posted) = self.posted.lock() else {
            return wiremock::ResponseTemplate::new(500);
        };
        if req.url.path() == "/chat.postMessage" {
            let ts = slack_ts(chrono::Utc::now() - self.backdate);
            *posted = serde_json::from_slice(&req.body).ok().map(|b| (b, ts));
            return wiremock::ResponseTemplate::new(500).set_body_string("upstream error");
        }
        let oldest: f64 = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "oldest")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0.0);
        let metadata = req
            .url
            .query_pairs()
            .any(|(k, v)| k == "include_all_metadata" && v == "true");
        let thread = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "ts")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        let mut messages = vec![json!({"type": "message", "user": "UBOT", "bot_id": "BBOT",
            "text": "Comment storm", "ts": thread, "thread_ts": thread, "reply_count": 1})];
        // Another app's reply in the thread, just now, its metadata of its own shape.
        let mut other = json!({"type": "message", "user": "UOTHER", "bot_id": "BOTHER",
            "text": "poll", "ts": slack_ts(chrono::Utc::now()), "thread_ts": thread});
        if metadata {
            other["metadata"] =
                json!({"event_type": "poll_app", "event_payload": {"votes": 5, "by": {"a": 1}}});
        }
        messages.push(other);
        let since = |ts: &str| ts.parse::<f64>().is_ok_and(|t| t >= oldest);
        if let Some((p, ts)) = posted
            .as_ref()
            .filter(|(p, ts)| p["thread_ts"] == json!(thread) && since(ts))
        {
            let mut reply = json!({"type": "message", "user": "UBOT", "bot_id": "BBOT",
                "text": p["text"], "ts": ts, "thread_ts": thread});
            if metadata {
                reply["metadata"] = p["metadata"].clone();
            }
            messages.push(reply);
        }
        wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "has_more": false, "messages": messages,
            "response_metadata": {"next_cursor": ""}
        }))
    }
}

/// A storm world (batches of five) whose fake Slack carries out the first thread batch post
/// but answers 500 (`LostBatch`), and lists that batch in the thread when asked; `budget`: the
/// outbox's retry budget in seconds (0: a failed job gives up at once).
async fn lost_batch_world(budget: Option<u64>) -> World {
    let (db, dir) = temp_sqlite();
    lost_batch_world_in(db, Some(dir), budget, chrono::Duration::zero()).await
}

/// [`lost_batch_world`] on the database at `db`, the lost batch dated `backdate` ago.
async fn lost_batch_world_in(
    db: String,
    dir: Option<tempfile::TempDir>,
    budget: Option<u64>,
    backdate: chrono::Duration,
) -> World {
    use wiremock::Mock;
    use wiremock::matchers::{body_partial_json, method, path};
    let w = World::start(db, dir, |c| {
        c.storm.enabled = true;
        c.storm.threshold = 3;
        c.storm.batch_max = 5;
        if let Some(secs) = budget {
            c.outbox.retry_budget_secs = secs;
        }
    })
    .await;
    let lost = LostBatch {
        backdate,
        ..LostBatch::default()
    };
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .and(body_partial_json(
            json!({"metadata": {"event_type": "switchboard_storm_batch"}}),
        ))
        .respond_with(lost.clone())
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.slack)
        .await;
    Mock::given(path("/conversations.replies"))
        .respond_with(lost)
        .with_priority(1)
        .mount(&w.slack)
        .await;
    w.slack_ok().await;
    w.graph_ok().await;
    w
}

/// Slack posts a thread batch but the answer is lost: the retry finds the batch by its
/// metadata in the thread instead of posting those comments again.
#[tokio::test]
async fn a_storm_batch_slack_posted_without_answering_is_not_posted_twice() {
    let w = lost_batch_world(None).await;
    for n in 1..=6 {
        w.meta_webhook(&comment(n, POST, "so good")).await;
    }
    w.settle().await;
    let storm = storm_id(&w, 4).await;
    let (card, thread) = storm_thread(&w).await;
    // Slack's own copy (the unanswered post) counts: every comment shows once.
    shown_once(&thread, 4..=6);
    let lookups: Vec<_> = w
        .slack
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == "/conversations.replies")
        .collect();
    assert!(!lookups.is_empty(), "the retry looked in the thread");
    assert!(
        lookups.iter().all(|r| r
            .url
            .query_pairs()
            .any(|(k, v)| k == "ts" && v == card.as_str())),
        "{lookups:?}"
    );
    assert_eq!(
        w.store
            .storm(storm)
            .await
            .unwrap()
            .expect("storm")
            .posted_upto,
        w.store
            .storm_newest(storm, 10)
            .await
            .unwrap()
            .iter()
            .map(|l| l.seq)
            .max()
            .expect("lines"),
        "the storm knows its lines are shown"
    );
    assert_eq!(
        w.store
            .count_jobs(switchboard::store::JobStatus::Pending)
            .await
            .unwrap(),
        0
    );
}

/// Slack posts a thread batch without answering, and its job gives up at once (a zero retry
/// budget): the storm's next batch job, new and on its first attempt, still looks in the
/// thread first (its lane's last job gave up) and does not post those comments again.
#[tokio::test]
async fn a_storm_batch_whose_job_gave_up_is_not_posted_again_by_the_next_job() {
    let w = lost_batch_world(Some(0)).await;
    for n in 1..=6 {
        w.meta_webhook(&comment(n, POST, "so good")).await;
    }
    w.settle().await;
    let failed = w.store.count_jobs(switchboard::store::JobStatus::Failed);
    assert_eq!(failed.await.unwrap(), 1, "the batch job gave up");
    assert_eq!(lookups(&w).await, 0, "it never looked: it gave up at once");
    // The storm goes on: the next batch job is a new one.
    w.meta_webhook(&comment(7, POST, "so good")).await;
    w.settle().await;
    assert!(lookups(&w).await > 0, "the next job looked in the thread");
    // Slack's own copy of the unanswered post counts: every comment shows once.
    shown_once(&storm_thread(&w).await.1, 4..=7);
}

/// The give-up was ten minutes ago: the next batch job looks in the thread from when the job
/// that gave up began (less a minute), not from its own start, and finds the batch there.
#[tokio::test]
async fn a_batch_from_a_give_up_long_ago_is_looked_for_from_when_that_job_began() {
    let (db, dir) = temp_sqlite();
    let ago = chrono::Duration::minutes(10);
    let w = lost_batch_world_in(db.clone(), Some(dir), Some(0), ago).await;
    for n in 1..=6 {
        w.meta_webhook(&comment(n, POST, "so good")).await;
    }
    w.settle().await;
    assert_eq!(age_failed_jobs(&db, ago).await, 1, "the batch job gave up");
    w.meta_webhook(&comment(7, POST, "so good")).await;
    w.settle().await;
    assert!(lookups(&w).await > 0, "the next job looked in the thread");
    shown_once(&storm_thread(&w).await.1, 4..=7);
}

/// Erasing a customer whose comment a storm thread batch showed edits that batch (and only
/// that one): their name and text are gone from it, the others' stay, nothing is posted again.
#[tokio::test]
async fn erasing_a_customer_edits_the_storm_batch_that_showed_them() {
    let w = World::with(|c| {
        c.storm.enabled = true;
        c.storm.threshold = 3;
        c.storm.batch_max = 5;
        c.permissions.admin = vec!["UADMIN".into()];
    })
    .await;
    w.slack_ok().await;
    w.graph_ok().await;
    for n in 1..=9 {
        w.meta_webhook(&comment(n, POST, &format!("private words {n}")))
            .await;
    }
    w.settle().await;
    let storm = storm_id(&w, 4).await;
    let card = storm_card_ts(&w, storm).await;
    let in_thread = |posts: &[Seen]| {
        posts
            .iter()
            .filter(|p| p.body["thread_ts"] == json!(card))
            .count()
    };
    assert_eq!(in_thread(&w.take_slack("/chat.postMessage").await), 2);
    w.take_slack("/chat.update").await;
    // #4–#8 in the first batch, #9 in the second.
    let shown = w.store.storm_batches_of_ticket(TicketId(6)).await.unwrap();
    assert_eq!(shown.len(), 1, "{shown:?}");
    let batch = &shown[0];
    assert_eq!(batch.chat.channel, CHANNEL);

    let (_, answer) = w.command("UADMIN", "erase #6").await;
    assert!(answer.contains("Erasing"), "{answer}");
    w.settle().await;
    let edits: Vec<Seen> = w
        .take_slack("/chat.update")
        .await
        .into_iter()
        .filter(|u| u.body["metadata"]["event_type"] == json!("switchboard_storm_batch"))
        .collect();
    assert_eq!(edits.len(), 1, "{edits:?}");
    let edit = &edits[0];
    assert_eq!(edit.body["ts"], json!(batch.chat.message));
    assert_eq!(edit.body["channel"], json!(CHANNEL));
    let text = text_of(edit);
    assert!(
        !text.contains("Fan 6") && !text.contains("private words 6"),
        "{text}"
    );
    assert!(
        text.contains(switchboard::core::text::ERASED_TEXT),
        "{text}"
    );
    for n in [4, 5, 7, 8] {
        assert!(text.contains(&format!("private words {n}")), "#{n}: {text}");
    }
    assert!(!text.contains("private words 9"), "{text}");
    assert_eq!(
        edit.body["metadata"]["event_payload"],
        json!({"storm": storm.to_string(), "from": batch.from.to_string(),
               "upto": batch.upto.to_string()})
    );
    assert_eq!(in_thread(&w.take_slack("/chat.postMessage").await), 0);
    // Erasing again edits nothing again.
    w.command("UADMIN", "erase #6").await;
    w.settle().await;
    let again = w.take_slack("/chat.update").await;
    assert!(
        again
            .iter()
            .all(|u| u.body["metadata"]["event_type"] != json!("switchboard_storm_batch")),
        "{again:?}"
    );
}

/// A batch Slack posted without answering, whose job gave up, is found by the next job
/// after the customer it showed was erased (the erasure saw no batch to edit): recording it
/// queues its edit, which shows the comment erased.
#[tokio::test]
async fn a_batch_found_after_an_erasure_is_edited() {
    let w = lost_batch_world(Some(0)).await;
    for n in 1..=6 {
        w.meta_webhook(&comment(n, POST, &format!("private words {n}")))
            .await;
    }
    w.settle().await;
    let failed = w.store.count_jobs(switchboard::store::JobStatus::Failed);
    assert_eq!(failed.await.unwrap(), 1, "the batch job gave up");
    let erased = switchboard::workers::erase::erase_customer(
        &*w.store,
        switchboard::core::Network::Facebook,
        &switchboard::core::CustomerId::new("7770005"),
        &switchboard::core::Actor::System,
    )
    .await
    .unwrap();
    assert_eq!(erased.tickets, vec![TicketId(5)]);
    w.settle().await;
    w.take_slack("/chat.update").await;
    w.meta_webhook(&comment(7, POST, "private words 7")).await;
    w.settle().await;
    let edits: Vec<Seen> = w
        .take_slack("/chat.update")
        .await
        .into_iter()
        .filter(|u| u.body["metadata"]["event_type"] == json!("switchboard_storm_batch"))
        .collect();
    assert_eq!(edits.len(), 1, "{edits:?}");
    // The message the lookup found (the fake's ts for it, recorded as the batch's).
    let shown = w.store.storm_batches_of_ticket(TicketId(4)).await.unwrap();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(edits[0].body["ts"], json!(shown[0].chat.message));
    assert_ne!(shown[0].chat.message, storm_card_ts(&w, 1).await);
    let text = text_of(&edits[0]);
    assert!(
        !text.contains("private words 5") && !text.contains("Fan 5"),
        "{text}"
    );
    assert!(text.contains("private words 4"), "{text}");
}

/// The card of the storm holding ticket #4 (its `ts`), and the text of every message posted in
/// its thread that the test has not taken yet.
async fn storm_thread(w: &World) -> (String, String) {
    let card = storm_card_ts(w, storm_id(w, 4).await).await;
    let thread = w
        .take_slack("/chat.postMessage")
        .await
        .iter()
        .filter(|p| p.body["thread_ts"] == json!(card))
        .map(text_of)
        .collect::<Vec<_>>()
        .join("\n");
    (card, thread)
}

/// Each of `tickets` shows exactly once in `thread`.
fn shown_once(thread: &str, tickets: std::ops::RangeInclusive<i64>) {
    for t in tickets {
        assert_eq!(
            thread.matches(&format!("(#{t})")).count(),
            1,
            "#{t}: {thread}"
        );
    }
}

/// How many times the fake Slack was asked for a thread's replies.
async fn lookups(w: &World) -> usize {
    w.slack
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == "/conversations.replies")
        .count()
}

/// A fake Slack that answers every call and notes when each message post arrived.
struct Clocked {
    at: std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
    next: std::sync::atomic::AtomicU64,
}

impl wiremock::Respond for Clocked {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        if let Ok(mut at) = self.at.lock() {
            at.push(std::time::Instant::now());
        }
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ts = format!("1700000000.{n:06}");
        wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "channel": CHANNEL, "ts": ts,
            "message": {"type": "message", "text": "x", "user": "UBOT", "ts": ts, "bot_id": "BBOT"}
        }))
    }
}

/// Two replicas on one Postgres, both delivering one channel's cards: the channel's pace is
/// kept in the database, so together they never post faster than it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_one_channel_pace() {
    use switchboard::app::Workers;
    let Some(db) = support::pg::database().await else {
        return;
    };
    let pace = std::time::Duration::from_millis(250);
    let tweak = |c: &mut switchboard::config::Config| {
        c.outbox.channel_pace_ms = 250;
        c.outbox.poll_ms = 20;
    };
    let a = World::start(db.url.clone(), None, tweak).await;
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    wiremock::Mock::given(wiremock::matchers::path("/chat.postMessage"))
        .respond_with(Clocked {
            at: arrivals.clone(),
            next: 1.into(),
        })
        .with_priority(1)
        .mount(&a.slack)
        .await;
    a.slack_ok().await;
    a.graph_ok().await;
    let mut config = support::config(&a.slack.uri(), &a.graph.uri(), &db.url);
    tweak(&mut config);
    let store_b = switchboard::store::connect(&db.url).await.expect("connect");
    let b = switchboard::app::services(config, store_b).expect("services");
    // Eight tickets on eight posts (no storm): eight cards for one channel.
    for n in 1..=8 {
        let post = format!("1234567890321_90{n}");
        assert_eq!(
            a.meta_webhook(&comment(n, &post, "hello")).await.0,
            StatusCode::OK
        );
    }
    let workers_a = Workers::spawn(&a.svc);
    let workers_b = Workers::spawn(&b);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while arrivals.lock().map(|v| v.len()).unwrap_or(0) < 8 {
        assert!(std::time::Instant::now() < deadline, "cards not all posted");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(workers_a.stop(std::time::Duration::from_secs(5)).await);
    assert!(workers_b.stop(std::time::Duration::from_secs(5)).await);
    let mut at = arrivals.lock().map(|v| v.clone()).unwrap_or_default();
    at.sort();
    assert_eq!(at.len(), 8, "one post per card");
    // Slots are a pace apart; arrivals may jitter by the round trip.
    let tolerance = std::time::Duration::from_millis(60);
    for w in at.windows(2) {
        let gap = w[1].duration_since(w[0]);
        assert!(gap + tolerance >= pace, "two posts {gap:?} apart");
    }
    drop(a);
    db.drop_database().await;
}

/// "Tag all" adds a tag to every ticket of the storm; "Hide all containing" hides, on the
/// network, the storm's comments with the chosen word and no others.
#[tokio::test]
async fn tag_all_and_hide_all_containing_a_word() {
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, ResponseTemplate};
    let w = storm_world().await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/901097836652708_7\d{5}$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .with_priority(1)
        .mount(&w.graph)
        .await;
    // The team has used a tag before: the storm card offers it.
    w.store.record_tagging("campaign", &[]).await.unwrap();
    for n in 1..=9 {
        let text = if n % 2 == 0 {
            "cheap PILLS here"
        } else {
            "love it"
        };
        w.meta_webhook(&comment(n, POST, text)).await;
        w.settle().await;
    }
    let storm = storm_id(&w, 4).await;
    let card_ts = storm_card_ts(&w, storm).await;
    let (status, _) = storm_click(
        &w,
        "UANA",
        CHANNEL,
        &card_ts,
        &format!("sbs1:tag_all:{storm}"),
        Some("campaign"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    w.settle().await;
    for t in 1..=9 {
        let tags = w
            .store
            .ticket(TicketId(t))
            .await
            .unwrap()
            .unwrap()
            .state
            .tags;
        assert_eq!(
            tags.contains(&"campaign".to_string()),
            t >= 4,
            "#{t}: {tags:?}"
        );
    }
    // The card offers the team's tags and its top words to hide.
    let edits = w.take_slack("/chat.update").await;
    let last = edits
        .iter()
        .rfind(|u| u.body["ts"] == json!(card_ts))
        .expect("card edit");
    let ids = action_ids(&last.body);
    assert!(ids.contains(&format!("sbs1:tag_all:{storm}")), "{ids:?}");
    assert!(
        ids.contains(&format!("sbs1:hide_matching:{storm}")),
        "{ids:?}"
    );

    storm_click(
        &w,
        "UANA",
        CHANNEL,
        &card_ts,
        &format!("sbs1:hide_matching:{storm}"),
        Some("pills"),
    )
    .await;
    w.settle().await;
    let mut hidden = Vec::new();
    for t in 1..=9 {
        let state = w.store.ticket(TicketId(t)).await.unwrap().unwrap().state;
        if state.moderation.hidden {
            hidden.push(t);
        }
    }
    // Storm members are #4 to #9; of them, the even fans wrote the word.
    assert_eq!(hidden, vec![4, 6, 8]);
    let calls: usize = w
        .graph
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            r.method.as_str() == "POST"
                && String::from_utf8_lossy(&r.body).contains("is_hidden=true")
        })
        .count();
    assert_eq!(calls, 3);
}

/// How many hide calls the fake Graph API received.
async fn hide_calls(w: &World) -> usize {
    w.graph
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            r.method.as_str() == "POST"
                && String::from_utf8_lossy(&r.body).contains("is_hidden=true")
        })
        .count()
}

/// "Hide a word": any typed phrase, not only a top word. The form answers with the count to
/// confirm; the confirmation, from a moderator only, hides exactly the storm's comments with
/// that phrase.
#[tokio::test]
async fn hide_a_typed_phrase_asks_with_the_count_and_hides_only_those() {
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, ResponseTemplate};
    let w = World::with(|c| {
        c.storm.enabled = true;
        c.storm.threshold = 3;
        c.storm.batch_max = 5;
        c.permissions.moderate = vec!["UMOD".into()];
    })
    .await;
    w.slack_ok().await;
    w.graph_ok().await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/901097836652708_7\d{5}$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .with_priority(1)
        .mount(&w.graph)
        .await;
    for n in 1..=9 {
        let text = match n % 3 {
            0 => "Totally a SCAM, <!channel> call *now*",
            1 => "scam? no, love it",
            _ => "great post",
        };
        w.meta_webhook(&comment(n, POST, text)).await;
        w.settle().await;
    }
    let storm = storm_id(&w, 4).await;
    let card_ts = storm_card_ts(&w, storm).await;
    let edits = w.take_slack("/chat.update").await;
    let ids = action_ids(&edits.last().expect("card edit").body);
    assert!(ids.contains(&format!("sbs1:hide_typed:{storm}")), "{ids:?}");

    // Without the moderate permission the form does not open.
    let open = format!("sbs1:hide_typed:{storm}");
    storm_click(&w, "UANA", CHANNEL, &card_ts, &open, None).await;
    assert!(w.take_slack("/views.open").await.is_empty());
    storm_click(&w, "UMOD", CHANNEL, &card_ts, &open, None).await;
    let opened = w.take_slack("/views.open").await;
    assert_eq!(opened.len(), 1);
    assert_eq!(
        opened[0].body["view"]["callback_id"],
        json!(format!("sb1:storm_hide_modal:{storm}"))
    );

    let form = format!("sb1:storm_hide_modal:{storm}");
    let typed =
        |word: &str| json!({"word": {"typed": {"type": "plain_text_input", "value": word}}});
    // Nothing typed, and a phrase nobody wrote: errors on the form, nothing stored.
    for nothing in ["  ", "refund please"] {
        let (_, body) = w
            .submit_with_metadata("UMOD", "VHIDE", &form, "", typed(nothing))
            .await;
        assert!(body.contains("\"response_action\":\"errors\""), "{body}");
    }
    // The phrase "a scam" (storm members are #4 to #9: #6 and #9 wrote it): asked with the
    // count.
    let (status, body) = w
        .submit_with_metadata("UMOD", "VHIDE", &form, "", typed("a SCAM"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let answer: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(answer["response_action"], "update");
    assert_eq!(
        answer["view"]["callback_id"],
        json!(format!("sb1:storm_hide_sure:{storm}"))
    );
    assert_eq!(answer["view"]["private_metadata"], "a SCAM");
    let question = answer["view"]["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(question.contains("the 2 comments"), "{question}");
    assert_eq!(hide_calls(&w).await, 0, "asking hid nothing");

    // The confirmation from someone without the permission: refused, nothing hidden.
    let sure = format!("sb1:storm_hide_sure:{storm}");
    w.submit_with_metadata("UANA", "VHIDE", &sure, "a SCAM", json!({}))
        .await;
    w.settle().await;
    assert_eq!(hide_calls(&w).await, 0);
    let (status, _) = w
        .submit_with_metadata("UMOD", "VHIDE", &sure, "a SCAM", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    w.settle().await;
    let mut hidden = Vec::new();
    for t in 1..=9 {
        let state = w.store.ticket(TicketId(t)).await.unwrap().unwrap().state;
        if state.moderation.hidden {
            hidden.push(t);
        }
    }
    assert_eq!(hidden, vec![6, 9]);
    assert_eq!(hide_calls(&w).await, 2);
}

/// "Reply to selected": the editor lists the storm's open comments and the saved replies; the
/// chosen saved reply goes to each chosen comment with its author's name, and those comments
/// get their own cards.
#[tokio::test]
async fn reply_to_selected_comments_with_a_saved_reply() {
    let w = storm_world().await;
    let saved = w
        .store
        .create_saved_reply(
            "Thanks",
            "Thanks {author_name}, we are on it!",
            "slack:UANA",
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .expect("a new name");
    for n in 1..=6 {
        w.meta_webhook(&comment(n, POST, "where is my order")).await;
        w.settle().await;
    }
    let storm = storm_id(&w, 4).await;
    let card_ts = storm_card_ts(&w, storm).await;
    w.take_slack("/chat.postMessage").await;
    storm_click(
        &w,
        "UANA",
        CHANNEL,
        &card_ts,
        &format!("sbs1:reply_selected:{storm}"),
        None,
    )
    .await;
    let opened = w.take_slack("/views.open").await;
    assert_eq!(opened.len(), 1);
    let view = serde_json::to_string(&opened[0].body).unwrap();
    for t in 4..=6 {
        assert!(view.contains(&format!("#{t} Fan {t}")), "{view}");
    }
    assert!(
        view.contains(&format!("sb1:storm_reply_modal:{storm}")),
        "{view}"
    );
    assert!(view.contains("Thanks"), "{view}");

    // Slack may deliver the submission twice: the replies are not doubled.
    for _ in 0..2 {
        let (status, _) = w
            .submit(
                "UANA",
                "VSTORM1",
                &format!("sb1:storm_reply_modal:{storm}"),
                json!({
                    "comments": {"chosen": {"type": "multi_static_select",
                        "selected_options": [{"value": "4"}, {"value": "6"}, {"value": "2"}]}},
                    "saved": {"chosen": {"type": "static_select",
                        "selected_option": {"value": saved.0.to_string()}}}
                }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    w.settle().await;
    // Two replies (#2 is not in this storm), each with its author's name.
    let replies = w.graph.received_requests().await.unwrap_or_default();
    let sent: Vec<String> = replies
        .iter()
        .filter(|r| r.url.path().ends_with("/comments"))
        .map(|r| String::from_utf8_lossy(&r.body).to_string())
        .collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent.iter()
            .any(|b| b.contains("Fan+4") || b.contains("Fan%204") || b.contains("Fan 4")),
        "{sent:?}"
    );
    assert!(
        sent.iter()
            .any(|b| b.contains("Fan+6") || b.contains("Fan%206") || b.contains("Fan 6")),
        "{sent:?}"
    );
    // The answered comments have their own cards now; the other did not get one.
    assert!(w.store.card_of(TicketId(4)).await.unwrap().is_some());
    assert!(w.store.card_of(TicketId(6)).await.unwrap().is_some());
    assert_eq!(w.store.card_of(TicketId(5)).await.unwrap(), None);
    // A second editor leaves out the comments already answered.
    storm_click(
        &w,
        "UANA",
        CHANNEL,
        &card_ts,
        &format!("sbs1:reply_selected:{storm}"),
        None,
    )
    .await;
    let opened = w.take_slack("/views.open").await;
    let view = serde_json::to_string(&opened[0].body).unwrap();
    assert!(view.contains("#5 Fan 5"), "{view}");
    assert!(
        !view.contains("#4 Fan 4") && !view.contains("#6 Fan 6"),
        "{view}"
    );
}
