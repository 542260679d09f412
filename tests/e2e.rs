//! End-to-end scenarios through the real router, with signed requests, a real database and
//! fakes of Slack and the Graph API. Each scenario asserts what the fakes received and ends
//! with `finish()`, which fails if the bot sent anything the scenario did not look at.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use support::*;
use switchboard::core::{Delivery, MessageKey, NetworkItemId, Status, TicketId};
use switchboard::store::JobStatus;

const COMMENT: &str = "901097836652708_903438993085259";
const POST: &str = "1234567890321_901097836652708";
const CUSTOMER: &str = "5550001";

async fn ticket_status(w: &World, id: i64) -> Status {
    w.store
        .ticket(TicketId(id))
        .await
        .expect("read")
        .expect("ticket exists")
        .state
        .status
}

/// A new comment becomes a card; returns the card's ts.
async fn new_card(w: &World) -> String {
    let (status, _) = w
        .meta_webhook(&comment_webhook(
            COMMENT,
            POST,
            CUSTOMER,
            "Jane Doe",
            "Where is my order #1234?",
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    w.settle().await;
    let posts = w.take_slack("/chat.postMessage").await;
    assert_eq!(posts.len(), 1, "one card");
    // The ts Slack gave the card, as the bot recorded it in the thread ↔ ticket mapping.
    w.store
        .card_of(TicketId(1))
        .await
        .unwrap()
        .expect("the card is mapped to its ticket")
        .message
}

#[tokio::test]
async fn comment_to_card_close_and_thread_reply_delivered() {
    let w = World::new().await;
    w.slack_ok().await;
    w.graph_ok().await;

    // 1. A signed Meta webhook: committed before the 200, then a card on the fake Slack.
    let (status, _) = w
        .meta_webhook(&comment_webhook(
            COMMENT,
            POST,
            CUSTOMER,
            "Jane Doe",
            "Where is my order #1234?",
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        w.store.count_inbox().await.unwrap(),
        1,
        "stored before the ack"
    );
    w.settle().await;

    let posts = w.take_slack("/chat.postMessage").await;
    assert_eq!(posts.len(), 1);
    let card = &posts[0];
    assert_eq!(
        card.headers.get("authorization").map(String::as_str),
        Some("Bearer xoxb-test-token")
    );
    assert_eq!(card.body["channel"], CHANNEL);
    assert!(card.body.get("thread_ts").is_none_or(|t| t.is_null()));
    let shown = blocks_text(&card.body);
    for needle in [
        "Facebook comment on Acme Coffee",
        "Jane Doe",
        "Where is my order #1234?",
        "Unread",
    ] {
        assert!(shown.contains(needle), "card lacks {needle:?}:\n{shown}");
    }
    assert!(
        card.body
            .to_string()
            .contains(&format!("comment_id={COMMENT}")),
        "link to the comment"
    );
    let ids = action_ids(&card.body);
    assert!(
        ids.starts_with(&["sb1:read:1".to_string(), "sb1:close:1".to_string()]),
        "{ids:?}"
    );
    assert!(!ids.contains(&"sb1:reopen:1".to_string()));
    assert_eq!(ticket_status(&w, 1).await, Status::Unread);
    let card_ts = "1700000001.000100";

    // 2. Close, with a signed interaction: the card is updated in place.
    let (status, _) = w.click("UANA", card_ts, "sb1:close:1").await;
    assert_eq!(status, StatusCode::OK);
    w.settle().await;
    let updates = w.take_slack("/chat.update").await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].body["ts"], card_ts);
    assert_eq!(updates[0].body["channel"], CHANNEL);
    assert!(blocks_text(&updates[0].body).contains("Closed"));
    let ids = action_ids(&updates[0].body);
    assert_eq!(
        ids.first().map(String::as_str),
        Some("sb1:reopen:1"),
        "{ids:?}"
    );
    assert!(!ids.contains(&"sb1:close:1".to_string()));
    assert_eq!(ticket_status(&w, 1).await, Status::Closed);

    // 3. A teammate writes in the card's thread: the reply goes to Graph as the Page.
    let (status, _) = w
        .thread_message(
            "Ev001",
            "UANA",
            card_ts,
            "1700000050.000200",
            "It ships tomorrow, sorry for the wait!",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    w.settle().await;

    let replies = w.take_graph(&format!("/{COMMENT}/comments")).await;
    assert_eq!(replies.len(), 1);
    assert_eq!(
        replies[0].body["message"],
        "It ships tomorrow, sorry for the wait!"
    );
    assert_eq!(replies[0].body["access_token"], PAGE_TOKEN);

    // Delivery state on the teammate's message: queued, then delivered.
    let added: Vec<_> = w
        .take_slack("/reactions.add")
        .await
        .into_iter()
        .map(|r| r.body)
        .collect();
    assert_eq!(added.len(), 2);
    assert_eq!(added[0]["name"], "hourglass_flowing_sand");
    assert_eq!(added[1]["name"], "white_check_mark");
    for r in &added {
        assert_eq!(r["timestamp"], "1700000050.000200");
        assert_eq!(r["channel"], CHANNEL);
    }
    let removed = w.take_slack("/reactions.remove").await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].body["name"], "hourglass_flowing_sand");

    // The card shows who replied.
    let updates = w.take_slack("/chat.update").await;
    let last = updates.last().expect("card updated after delivery");
    assert!(
        blocks_text(&last.body).contains("Last replied by: <@UANA>"),
        "{}",
        blocks_text(&last.body)
    );

    let key = MessageKey::new(format!("chat:slack:{TEAM}:{CHANNEL}:1700000050.000200"));
    let reply = w.store.message(&key).await.unwrap().expect("reply stored");
    assert_eq!(reply.delivery, Some(Delivery::Delivered));
    assert_eq!(
        reply.network_item_id,
        Some(NetworkItemId::new("901097836652708_990001"))
    );

    let history: Vec<String> = w
        .store
        .history(TicketId(1))
        .await
        .unwrap()
        .iter()
        .map(|h| h.what.code().to_string())
        .collect();
    assert_eq!(
        history,
        [
            "opened",
            "customer_message",
            "status_changed",
            "reply_queued",
            "reply_delivered"
        ]
    );
    assert_eq!(w.take_slack("/chat.postMessage").await.len(), 0);
    w.finish().await;
}

#[tokio::test]
async fn redelivered_webhook_makes_no_second_card() {
    let w = World::new().await;
    w.slack_ok().await;
    let body = comment_webhook(COMMENT, POST, CUSTOMER, "Jane Doe", "hello?");
    for _ in 0..3 {
        let (status, _) = w.meta_webhook(&body).await;
        assert_eq!(status, StatusCode::OK);
    }
    w.settle().await;
    assert_eq!(w.store.count_inbox().await.unwrap(), 1);
    assert_eq!(w.store.count_tickets().await.unwrap(), 1);
    assert_eq!(w.take_slack("/chat.postMessage").await.len(), 1);
    w.finish().await;
}

#[tokio::test]
async fn bad_signature_is_refused_and_nothing_is_stored() {
    let w = World::new().await;
    let body = comment_webhook(COMMENT, POST, CUSTOMER, "Jane Doe", "hello?");
    let wrong = meta_signature("not_the_secret", body.as_bytes());
    let tampered_sig = meta_signature(META_SECRET, b"something else");
    for sig in [wrong.as_str(), tampered_sig.as_str(), "sha256=zz", ""] {
        let (status, reason) = w.meta_webhook_signed(&body, sig).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{sig:?}");
        assert!(reason.contains("error"), "{reason}");
    }
    // No header at all.
    let req = Request::post("/webhooks/meta")
        .body(Body::from(body.clone()))
        .unwrap();
    let (status, reason) = w.send(req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(reason.contains("X-Hub-Signature-256"), "{reason}");
    w.settle().await;
    assert_eq!(w.store.count_inbox().await.unwrap(), 0);
    assert_eq!(w.store.count_tickets().await.unwrap(), 0);
    w.finish().await;
}

#[tokio::test]
async fn graph_500_then_200_is_delivered_once() {
    let w = World::new().await;
    w.slack_ok().await;
    w.graph_ok().await;
    w.graph_fails(1, 500, json!({"error": {"message": "An unknown error occurred", "type": "OAuthException", "code": 1, "fbtrace_id": "x"}}))
        .await;
    let card_ts = new_card(&w).await;
    w.thread_message(
        "Ev002",
        "UANA",
        &card_ts,
        "1700000060.000100",
        "Thanks for reaching out!",
    )
    .await;
    w.settle().await;

    let replies = w.take_graph(&format!("/{COMMENT}/comments")).await;
    assert_eq!(replies.len(), 2, "one failed attempt, one success");
    let added: Vec<_> = w
        .take_slack("/reactions.add")
        .await
        .into_iter()
        .map(|r| r.body["name"].clone())
        .collect();
    assert_eq!(
        added,
        vec![json!("hourglass_flowing_sand"), json!("white_check_mark")]
    );
    assert_eq!(w.take_slack("/reactions.remove").await.len(), 1);
    w.take_slack("/chat.update").await;
    let key = MessageKey::new(format!("chat:slack:{TEAM}:{CHANNEL}:1700000060.000100"));
    let reply = w.store.message(&key).await.unwrap().unwrap();
    assert_eq!(reply.delivery, Some(Delivery::Delivered));
    assert_eq!(w.store.count_jobs(JobStatus::Failed).await.unwrap(), 0);
    w.finish().await;
}

#[tokio::test]
async fn expired_token_is_explained_in_the_thread_and_on_the_card() {
    let w = World::new().await;
    w.slack_ok().await;
    w.graph_fails(
        5,
        400,
        json!({"error": {"message": "Error validating access token: Session has expired on Friday", "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id": "EJplcsCHuLu"}}),
    )
    .await;
    let card_ts = new_card(&w).await;
    w.thread_message(
        "Ev003",
        "UANA",
        &card_ts,
        "1700000070.000100",
        "We're on it!",
    )
    .await;
    w.settle().await;

    assert_eq!(
        w.take_graph(&format!("/{COMMENT}/comments")).await.len(),
        1,
        "not retried"
    );
    let added: Vec<_> = w
        .take_slack("/reactions.add")
        .await
        .into_iter()
        .map(|r| r.body["name"].clone())
        .collect();
    assert_eq!(added, vec![json!("hourglass_flowing_sand"), json!("x")]);
    // Both the queued and (for late failures) the delivered mark are cleared.
    let removed: Vec<_> = w
        .take_slack("/reactions.remove")
        .await
        .into_iter()
        .map(|r| r.body["name"].clone())
        .collect();
    assert!(
        removed.contains(&json!("hourglass_flowing_sand")),
        "{removed:?}"
    );

    let mut notices = w.take_slack("/chat.postMessage").await;
    assert_eq!(
        notices.len(),
        2,
        "the reason in the thread, and one alert in the channel"
    );
    notices.sort_by_key(|n| n.body["thread_ts"].is_null());
    assert_eq!(notices[0].body["thread_ts"], card_ts.as_str());
    let said = notices[0].body.to_string();
    assert!(
        said.contains("<@UANA>")
            && said.contains("not delivered")
            && said.contains("access token has expired"),
        "{said}"
    );
    assert!(notices[1].body.get("thread_ts").is_none_or(|t| t.is_null()));
    assert!(
        notices[1]
            .body
            .to_string()
            .contains("access token for *Acme Coffee* has expired")
    );

    let updates = w.take_slack("/chat.update").await;
    let card = blocks_text(&updates.last().unwrap().body);
    assert!(card.contains("Last reply failed"), "{card}");
    let key = MessageKey::new(format!("chat:slack:{TEAM}:{CHANNEL}:1700000070.000100"));
    let reply = w.store.message(&key).await.unwrap().unwrap();
    assert!(matches!(reply.delivery, Some(Delivery::Failed(_))));

    // A second failing reply: explained in the thread, but no second channel alert.
    w.thread_message(
        "Ev004",
        "UANA",
        &card_ts,
        "1700000071.000100",
        "Hello again",
    )
    .await;
    w.settle().await;
    assert_eq!(w.take_graph(&format!("/{COMMENT}/comments")).await.len(), 1);
    let notices = w.take_slack("/chat.postMessage").await;
    assert_eq!(notices.len(), 1, "alert posted once, not per message");
    assert_eq!(notices[0].body["thread_ts"], card_ts.as_str());
    w.take_slack("/reactions.add").await;
    w.take_slack("/reactions.remove").await;
    w.take_slack("/chat.update").await;
    w.finish().await;
}

#[tokio::test]
async fn slack_retries_and_notes_never_duplicate_or_leak() {
    let w = World::new().await;
    w.slack_ok().await;
    w.graph_ok().await;
    let card_ts = new_card(&w).await;

    // The same event delivered three times (Slack retries after a slow ack).
    for retry in ["", "1", "2"] {
        let extra: Vec<(&str, &str)> = if retry.is_empty() {
            vec![]
        } else {
            vec![
                ("x-slack-retry-num", retry),
                ("x-slack-retry-reason", "http_timeout"),
            ]
        };
        let body = json!({
            "team_id": TEAM, "api_app_id": "A111", "type": "event_callback", "event_id": "Ev010",
            "event_time": 1700000000,
            "event": {"type": "message", "channel": CHANNEL, "user": "UBEN", "text": "On its way!",
                      "ts": "1700000080.000100", "thread_ts": card_ts, "event_ts": "1700000080.000100"}
        });
        let (status, _) = w.slack_event(&body, &extra).await;
        assert_eq!(status, StatusCode::OK);
    }
    // A note stays internal.
    w.thread_message(
        "Ev011",
        "UBEN",
        &card_ts,
        "1700000081.000100",
        "NOTE: customer is a VIP",
    )
    .await;
    w.settle().await;

    assert_eq!(
        w.take_graph(&format!("/{COMMENT}/comments")).await.len(),
        1,
        "one reply only"
    );
    assert_eq!(w.take_slack("/reactions.add").await.len(), 2);
    assert_eq!(w.take_slack("/reactions.remove").await.len(), 1);
    w.take_slack("/chat.update").await;
    let note = w
        .store
        .message(&MessageKey::new(format!(
            "chat:slack:{TEAM}:{CHANNEL}:1700000081.000100"
        )))
        .await
        .unwrap()
        .expect("note stored");
    assert_eq!(note.text, "customer is a VIP");
    assert_eq!(note.delivery, None);
    w.finish().await;
}

#[tokio::test]
async fn more_comments_from_the_same_customer_join_the_ticket_thread() {
    let w = World::new().await;
    w.slack_ok().await;
    let card_ts = new_card(&w).await;
    w.click("UANA", &card_ts, "sb1:close:1").await;
    w.settle().await;
    w.take_slack("/chat.update").await;

    // Same author, same post: joins ticket 1, reopens it as Unread, lands in the thread.
    let (status, _) = w
        .meta_webhook(&comment_webhook(
            "901097836652708_903438993085300",
            POST,
            CUSTOMER,
            "Jane Doe",
            "Any news?",
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Another customer on the same post: a new ticket.
    w.meta_webhook(&comment_webhook(
        "901097836652708_903438993085301",
        POST,
        "5550002",
        "Max",
        "Me too",
    ))
    .await;
    w.settle().await;

    assert_eq!(w.store.count_tickets().await.unwrap(), 2);
    assert_eq!(ticket_status(&w, 1).await, Status::Unread);
    let posts = w.take_slack("/chat.postMessage").await;
    assert_eq!(posts.len(), 2);
    let in_thread: Vec<_> = posts
        .iter()
        .filter(|p| p.body["thread_ts"] == card_ts.as_str())
        .collect();
    assert_eq!(in_thread.len(), 1);
    assert!(in_thread[0].body.to_string().contains("Any news?"));
    let updates = w.take_slack("/chat.update").await;
    assert!(blocks_text(&updates.last().unwrap().body).contains("Unread"));
    w.finish().await;
}

#[tokio::test]
async fn customer_edit_and_delete_update_the_card() {
    let w = World::new().await;
    w.slack_ok().await;
    let _ = new_card(&w).await;
    let edit = json!({"object": "page", "entry": [{"id": PAGE_ID, "time": 1700000100, "changes": [{"field": "feed", "value": {
        "item": "comment", "verb": "edited", "comment_id": COMMENT, "post_id": POST, "parent_id": POST,
        "sender_id": CUSTOMER.parse::<i64>().unwrap(), "sender_name": "Jane Doe", "created_time": 1700000100,
        "message": "Where is my order #1235?"}}]}]});
    assert_eq!(w.meta_webhook(&edit.to_string()).await.0, StatusCode::OK);
    w.settle().await;
    let updates = w.take_slack("/chat.update").await;
    assert_eq!(updates.len(), 1);
    let shown = blocks_text(&updates[0].body);
    assert!(
        shown.contains("#1235") && shown.contains("edited"),
        "{shown}"
    );

    let remove = json!({"object": "page", "entry": [{"id": PAGE_ID, "time": 1700000200, "changes": [{"field": "feed", "value": {
        "item": "comment", "verb": "remove", "comment_id": COMMENT, "post_id": POST, "parent_id": POST,
        "from": {"id": CUSTOMER, "name": "Jane Doe"}, "created_time": 1700000200}}]}]});
    assert_eq!(w.meta_webhook(&remove.to_string()).await.0, StatusCode::OK);
    w.settle().await;
    let updates = w.take_slack("/chat.update").await;
    assert_eq!(updates.len(), 1);
    assert!(blocks_text(&updates[0].body).contains("deleted"));
    w.finish().await;
}

#[tokio::test]
async fn the_pages_own_comments_do_not_make_tickets() {
    let w = World::new().await;
    let body = comment_webhook(COMMENT, POST, PAGE_ID, "Acme Coffee", "Thanks!");
    assert_eq!(w.meta_webhook(&body).await.0, StatusCode::OK);
    w.settle().await;
    assert_eq!(w.store.count_tickets().await.unwrap(), 0);
    w.finish().await;
}

#[tokio::test]
async fn slack_429_is_retried_after_retry_after_and_posts_once() {
    let w = World::new().await;
    w.slack_ok().await;
    w.slack_rate_limits("/chat.postMessage", 1, 1).await;
    let started = std::time::Instant::now();
    let (status, _) = w
        .meta_webhook(&comment_webhook(COMMENT, POST, CUSTOMER, "Jane Doe", "hi"))
        .await;
    assert_eq!(status, StatusCode::OK);
    w.settle().await;
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "waited for Retry-After"
    );
    let posts = w.take_slack("/chat.postMessage").await;
    assert_eq!(posts.len(), 2, "one 429, one success");
    assert!(w.store.card_of(TicketId(1)).await.unwrap().is_some());
    w.finish().await;
}

#[tokio::test]
async fn handshakes_and_refusals() {
    let w = World::new().await;
    let get = |q: &str| {
        Request::get(format!("/webhooks/meta?{q}"))
            .body(Body::empty())
            .unwrap()
    };
    let (s, body) = w
        .send(get(&format!(
            "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY_TOKEN}"
        )))
        .await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, "1158201444"));
    let (s, body) = w
        .send(get(
            "hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope",
        ))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body.contains("verify_token"));
    // A network this server does not run has no endpoint, pushed or handshaken.
    let (s, _) = w
        .send(
            Request::get("/webhooks/myspace?hub.mode=subscribe&hub.challenge=1")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = w
        .send(
            Request::post("/webhooks/myspace")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Slack URL verification is answered; a stale timestamp is refused.
    let challenge = json!({"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"});
    let (s, body) = w.slack_event(&challenge, &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"));
    let stale = chrono::Utc::now().timestamp() - 301;
    let (s, _) = w
        .slack_post_at(
            "/slack/events",
            "application/json",
            &challenge.to_string(),
            &[],
            stale,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Not JSON, validly signed: a clear 400, nothing stored.
    let (s, body) = w.meta_webhook("{not json").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("error"));
    // Over the body limit.
    let big = "x".repeat(2 * 1024 * 1024);
    let (s, _) = w.meta_webhook(&big).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    // A malformed action id of ours is refused.
    let (s, body) = w.click("UANA", "1.2", "sb1:explode:1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("unknown action"), "{body}");
    // The slash command answers ephemerally.
    let form = "team_id=T111&channel_id=C1&user_id=U1&command=%2Fswitchboard&text=frobnicate&response_url=https%3A%2F%2Fhooks.slack.com%2Fx&trigger_id=1.2.3";
    let (s, body) = w
        .slack_post(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            form,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("ephemeral") && body.contains("not a command I know"),
        "{body}"
    );
    // Slack's SSL check (unsigned, `ssl_check=1`) is answered 200 with nothing else done…
    let (s, body) = w
        .send(
            Request::post("/slack/commands")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("ssl_check=1&token=verification_token"))
                .unwrap(),
        )
        .await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, ""));
    // …but an unsigned command without it is still refused.
    let (s, _) = w
        .send(
            Request::post("/slack/commands")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = w
        .send(
            Request::post("/slack/commands")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("ssl_check=0&token=verification_token"))
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    assert_eq!(w.store.count_inbox().await.unwrap(), 0);
    let (s, body) = w
        .send(Request::get("/readyz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("sqlite"), "{body}");
    w.finish().await;
}

#[tokio::test]
async fn webhooks_for_unconfigured_pages_are_ignored() {
    let w = World::new().await;
    let body = comment_webhook(COMMENT, POST, CUSTOMER, "Jane", "hi").replace(PAGE_ID, "999000999");
    assert_eq!(w.meta_webhook(&body).await.0, StatusCode::OK);
    w.settle().await;
    assert_eq!(w.store.count_inbox().await.unwrap(), 0);
    w.finish().await;
}
