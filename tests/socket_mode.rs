//! Slack Socket Mode against a local websocket server speaking Slack's envelope format: the
//! bot opens the URL `apps.connections.open` hands out (with the app token), and every
//! envelope — a thread reply, a click, a slash command — is committed to the inbox like its
//! HTTP twin before it is acknowledged with its `envelope_id` (a command's answer rides on
//! the acknowledgement); `disconnect` makes it reconnect with a fresh URL.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::*;
use switchboard::core::TicketId;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

const APP_TOKEN: &str = "xapp-1-A111-1-socket";

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn accept(listener: &TcpListener) -> Ws {
    let (tcp, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .expect("the bot connects")
        .expect("accept");
    let mut ws = tokio_tungstenite::accept_async(tcp)
        .await
        .expect("handshake");
    let hello = json!({"type": "hello", "num_connections": 1,
        "connection_info": {"app_id": "A111"}, "debug_info": {"host": "fake"}});
    ws.send(Message::Text(hello.to_string()))
        .await
        .expect("hello");
    ws
}

/// Send an envelope and wait for its acknowledgement.
async fn deliver(ws: &mut Ws, id: &str, kind: &str, payload: Value) -> Value {
    let envelope = json!({"envelope_id": id, "type": kind, "payload": payload,
        "accepts_response_payload": kind != "events_api", "retry_attempt": 0, "retry_reason": ""});
    ws.send(Message::Text(envelope.to_string()))
        .await
        .expect("send");
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("an acknowledgement")
            .expect("open")
            .expect("frame");
        if let Message::Text(t) = m {
            return serde_json::from_str(&t).expect("JSON ack");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelopes_are_committed_then_acknowledged_and_disconnect_reconnects() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let ws_url = format!("ws://{}/link/?ticket=1", listener.local_addr().unwrap());
    let w = World::with(|c| {
        c.slack.app_token = Some(secrecy::SecretString::from(APP_TOKEN));
        c.slack.socket_connections = 1;
    })
    .await;
    Mock::given(method("POST"))
        .and(path("/apps.connections.open"))
        .and(header(
            "authorization",
            format!("Bearer {APP_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "url": ws_url})))
        .with_priority(1)
        .mount(&w.slack)
        .await;
    w.slack_ok().await;
    w.meta_webhook(&comment_webhook("1001_1", "1001", "5001", "Jo", "hello"))
        .await;
    w.settle().await;
    let card = w.store.card_of(TicketId(1)).await.unwrap().unwrap().message;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(switchboard::server::socket_mode::run(
        w.svc.clone(),
        stopped,
    ));
    let mut ws = accept(&listener).await;

    // A thread reply: stored in the inbox before the acknowledgement.
    let before = w.store.count_inbox().await.unwrap();
    let event = json!({"token": "x", "team_id": TEAM, "api_app_id": "A111",
        "event": {"type": "message", "channel": CHANNEL, "user": "UANA", "text": "note: from a laptop",
                  "ts": "1700000600.000100", "thread_ts": card, "channel_type": "channel"},
        "type": "event_callback", "event_id": "EvSOCK1", "event_time": 1700000600});
    let ack = deliver(&mut ws, "env-1", "events_api", event.clone()).await;
    assert_eq!(ack, json!({"envelope_id": "env-1"}));
    assert_eq!(w.store.count_inbox().await.unwrap(), before + 1);
    // Slack retries reuse the event id: deduplicated like over HTTP.
    let ack = deliver(&mut ws, "env-2", "events_api", event).await;
    assert_eq!(ack["envelope_id"], "env-2");
    assert_eq!(w.store.count_inbox().await.unwrap(), before + 1);

    // A click on the card.
    let click = json!({"type": "block_actions",
        "user": {"id": "UANA", "username": "ana", "name": "ana", "team_id": TEAM},
        "api_app_id": "A111", "token": "x",
        "container": {"type": "message", "message_ts": card, "channel_id": CHANNEL, "is_ephemeral": false},
        "trigger_id": "1.2.trig", "team": {"id": TEAM, "domain": "acme"},
        "channel": {"id": CHANNEL, "name": "social-inbox"},
        "message": {"type": "message", "ts": card, "text": "card", "blocks": []},
        "response_url": "https://hooks.slack.com/actions/T111/1/x",
        "actions": [{"type": "button", "action_id": "sb1:close:1", "block_id": "actions",
                     "value": "1", "text": {"type": "plain_text", "text": "x"},
                     "action_ts": "1700000700.000001"}],
        "state": {"values": {}}});
    let ack = deliver(&mut ws, "env-3", "interactive", click).await;
    assert_eq!(ack["envelope_id"], "env-3");
    w.settle().await;
    let t = w.store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_eq!(t.state.status, switchboard::core::Status::Closed);
    let notes = w.store.messages(TicketId(1)).await.unwrap();
    assert!(
        notes.iter().any(|m| m.text.contains("from a laptop")),
        "{notes:?}"
    );

    // A slash command: its answer rides on the acknowledgement.
    let command = json!({"token": "x", "team_id": TEAM, "team_domain": "acme",
        "channel_id": CHANNEL, "channel_name": "social-inbox", "user_id": "UANA",
        "user_name": "ana", "command": "/switchboard", "text": "help", "api_app_id": "A111",
        "response_url": "https://hooks.slack.com/commands/T111/1/x", "trigger_id": "3.4.trig"});
    let ack = deliver(&mut ws, "env-4", "slash_commands", command).await;
    assert_eq!(ack["envelope_id"], "env-4");
    assert_eq!(ack["payload"]["response_type"], "ephemeral");
    assert!(
        ack["payload"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("queue"),
        "{ack}"
    );

    // Slack rotates connections: after `disconnect` the bot opens a new one.
    let bye = json!({"type": "disconnect", "reason": "refresh_requested",
        "debug_info": {"host": "fake"}});
    ws.send(Message::Text(bye.to_string())).await.unwrap();
    let mut again = accept(&listener).await;
    let ack = deliver(
        &mut again,
        "env-5",
        "slash_commands",
        json!({"token": "x",
        "team_id": TEAM, "channel_id": CHANNEL, "user_id": "UANA", "command": "/switchboard",
        "text": "help", "response_url": "https://hooks.slack.com/commands/T111/1/y",
        "trigger_id": "5.6.trig"}),
    )
    .await;
    assert_eq!(ack["envelope_id"], "env-5");
    let opened = w
        .slack
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/apps.connections.open")
        .count();
    assert_eq!(opened, 2, "a fresh URL per connection");

    // Socket Mode turned off for the app: the bot stops instead of hammering Slack.
    let off = json!({"type": "disconnect", "reason": "link_disabled",
        "debug_info": {"host": "fake"}});
    again.send(Message::Text(off.to_string())).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the only slot stops by itself")
        .expect("no panic");
    let opened = w
        .slack
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/apps.connections.open")
        .count();
    assert_eq!(opened, 2, "no reconnection after link_disabled");
    drop(stop);
}
