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
