//! End-to-end scenarios of the team workflow in Slack: assignment, permissions, the reply
//! modal, the undo window, saved replies, tags and suggestions, queues, bulk actions and
//! notifications. Same world as `e2e.rs`: the real router, signed requests, a real database,
//! fakes of Slack and Graph; every request the bot sends must be looked at.

mod support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use support::*;
use switchboard::core::{Assignee, Delivery, MessageKey, Status, TicketId};

const POST: &str = "1234567890321_901097836652708";
const CARD: &str = "1700000001.000100";

fn comment(n: u32, customer: &str, name: &str, text: &str) -> String {
    comment_webhook(
        &format!("901097836652708_9034389930{n:05}"),
        POST,
        customer,
        name,
        text,
    )
}

/// One new ticket (#1) with its card posted (ts CARD).
async fn with_card(w: &World) {
    assert_eq!(
        w.meta_webhook(&comment(1, "5550001", "Jane Doe", "Where is my refund?"))
            .await
            .0,
        StatusCode::OK
    );
    w.settle().await;
    assert_eq!(w.take_slack("/chat.postMessage").await.len(), 1);
}

async fn ticket(w: &World, id: i64) -> switchboard::core::Ticket {
    w.store.ticket(TicketId(id)).await.unwrap().expect("ticket")
}

fn shown(seen: &Seen) -> String {
    blocks_text(&seen.body)
}

#[tokio::test]
async fn assign_to_me_shows_on_the_card_and_dms_the_assignee() {
    let w = World::new().await;
    w.slack_ok().await;
    with_card(&w).await;

    assert_eq!(
        w.click("UANA", CARD, "sb1:assign_me:1").await.0,
        StatusCode::OK
    );
    w.settle().await;
    let t = ticket(&w, 1).await;
    assert!(matches!(&t.state.assignee, Some(Assignee::Person(p)) if p.id.as_str() == "UANA"));
    assert_eq!(t.state.status, Status::Read, "acting on a ticket reads it");

    let updates = w.take_slack("/chat.update").await;
    assert_eq!(updates.len(), 1);
    assert!(
        shown(&updates[0]).contains("Assignee: <@UANA>"),
        "{}",
        shown(&updates[0])
    );
    assert!(action_ids(&updates[0].body).contains(&"sb1:unassign:1".to_string()));

    let dms = w.take_slack("/chat.postMessage").await;
    assert_eq!(dms.len(), 1);
    assert_eq!(dms[0].body["channel"], "UANA", "a DM to the assignee");
    let dm = dms[0].body.to_string();
    assert!(
        dm.contains("assigned you a ticket")
            && dm.contains(&format!(
                "https://slack.com/archives/{CHANNEL}/p1700000001000100"
            )),
        "{dm}"
    );

    // Unassign: the card says so, nobody is notified.
    w.click("UBEN", CARD, "sb1:unassign:1").await;
    w.settle().await;
    assert!(ticket(&w, 1).await.state.assignee.is_none());
    assert!(shown(&w.take_slack("/chat.update").await[0]).contains("Assignee: —"));
    w.finish().await;
}

#[tokio::test]
async fn assign_to_a_person_or_a_team_from_the_pickers() {
    let w = World::with(|c| {
        c.slack.teams = vec![switchboard::config::TeamConfig {
            name: "billing".into(),
            usergroup: "SBILL".into(),
            members: vec![],
        }];
    })
    .await;
    w.slack_ok().await;
    with_card(&w).await;

    w.pick("UANA", CARD, "sb1:assign:1", None, Some(json!("UBEN")))
        .await;
    w.settle().await;
    assert!(
        matches!(&ticket(&w, 1).await.state.assignee, Some(Assignee::Person(p)) if p.id.as_str() == "UBEN")
    );
    let dm = w.take_slack("/chat.postMessage").await;
    assert_eq!(dm[0].body["channel"], "UBEN");
    assert!(dm[0].body.to_string().contains("<@UANA> assigned you"));
    w.take_slack("/chat.update").await;

    w.pick(
        "UANA",
        CARD,
        "sb1:assign_team:1",
        None,
        Some(json!("billing")),
    )
    .await;
    w.settle().await;
    assert_eq!(
        ticket(&w, 1).await.state.assignee,
        Some(Assignee::Team("billing".into()))
    );
    let notice = w.take_slack("/chat.postMessage").await;
    assert_eq!(notice.len(), 1);
    assert_eq!(notice[0].body["thread_ts"], CARD);
    assert!(
        notice[0].body.to_string().contains("<!subteam^SBILL>"),
        "{}",
        notice[0].body
    );
    assert!(shown(&w.take_slack("/chat.update").await[0]).contains("Assignee: team billing"));
    w.finish().await;
}

#[tokio::test]
async fn a_teammate_without_permission_is_refused_and_nothing_changes() {
    let w = World::with(|c| {
        c.permissions.close = vec!["SLEADS".into()];
        c.permissions.reply = vec!["UBOSS".into()];
    })
    .await;
    w.slack_ok().await;
    w.graph_ok().await;
    w.group("SLEADS", &["ULEAD"]);
    with_card(&w).await;

    assert_eq!(w.click("UANA", CARD, "sb1:close:1").await.0, StatusCode::OK);
    w.settle().await;
    assert_eq!(ticket(&w, 1).await.state.status, Status::Unread);
    let refusals = w.take_slack("/chat.postEphemeral").await;
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].body["user"], "UANA");
    assert!(
        refusals[0]
            .body
            .to_string()
            .contains("not allowed to close or reopen"),
        "{}",
        refusals[0].body
    );
    w.take_slack("/usergroups.users.list").await;

    // A member of the group may.
    w.click("ULEAD", CARD, "sb1:close:1").await;
    w.settle().await;
    assert_eq!(ticket(&w, 1).await.state.status, Status::Closed);
    assert_eq!(w.take_slack("/chat.update").await.len(), 1);

    // A thread reply from someone not allowed to reply: refused, not sent.
    w.thread_message("Ev1", "UANA", CARD, "1700000050.000001", "hello there")
        .await;
    w.settle().await;
    assert!(
        w.take_graph("/901097836652708_903438993000001/comments")
            .await
            .is_empty()
    );
    let refusals = w.take_slack("/chat.postEphemeral").await;
    assert!(
        refusals[0]
            .body
            .to_string()
            .contains("not allowed to reply")
    );
    assert_eq!(
        w.store.messages(TicketId(1)).await.unwrap().len(),
        1,
        "only the customer's"
    );
    w.take_slack("/usergroups.users.list").await;
    w.finish().await;
}

#[tokio::test]
async fn the_reply_modal_shows_who_is_replying_and_sends_with_a_thread_copy() {
    let w = World::new().await;
    w.slack_ok().await;
    w.graph_ok().await;
    with_card(&w).await;

    w.click("UANA", CARD, "sb1:reply:1").await;
    w.settle().await;
    let opened = w.take_slack("/views.open").await;
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].body["view"]["callback_id"], "sb1:reply_modal:1");
    let card = w.take_slack("/chat.update").await;
    assert!(
        shown(&card[0]).contains("<@UANA> is replying"),
        "{}",
        shown(&card[0])
    );

    let (s, body) = w
        .submit("UANA", "V1", "sb1:reply_modal:1", json!({"reply": {"text": {"type": "plain_text_input", "value": "Refund is on its way!"}}}))
        .await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, ""));
    w.settle().await;

    let sent = w
        .take_graph("/901097836652708_903438993000001/comments")
        .await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["message"], "Refund is on its way!");
    let copy = w.take_slack("/chat.postMessage").await;
    assert_eq!(copy.len(), 1);
    assert_eq!(copy[0].body["thread_ts"], CARD);
    assert!(
        copy[0]
            .body
            .to_string()
            .contains("<@UANA> replied: Refund is on its way!")
    );
    // Marks on the copy (ts of the second post).
    let marks = w.take_slack("/reactions.add").await;
    assert_eq!(
        marks
            .iter()
            .map(|m| m.body["name"].clone())
            .collect::<Vec<_>>(),
        vec![json!("hourglass_flowing_sand"), json!("white_check_mark")]
    );
    assert!(
        marks
            .iter()
            .all(|m| m.body["timestamp"] == "1700000002.000100")
    );
    w.take_slack("/reactions.remove").await;
    let last = w.take_slack("/chat.update").await;
    let card = shown(last.last().unwrap());
    assert!(
        card.contains("Last replied by: <@UANA>") && !card.contains("is replying"),
        "{card}"
    );
    w.finish().await;
}

#[tokio::test]
async fn closing_the_reply_modal_clears_the_notice_and_an_empty_reply_is_refused() {
    let w = World::new().await;
    w.slack_ok().await;
    with_card(&w).await;
    w.click("UANA", CARD, "sb1:reply:1").await;
    w.settle().await;
    w.take_slack("/views.open").await;
    w.take_slack("/chat.update").await;

    let (s, body) = w
        .submit(
            "UANA",
            "V1",
            "sb1:reply_modal:1",
            json!({"reply": {"text": {"type": "plain_text_input", "value": "  "}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["response_action"], "errors");
    assert_eq!(v["errors"]["reply"], "Write a reply first.");
    let (_, body) = w
        .submit(
            "UANA",
            "V1",
            "sb1:reply_modal:1",
            json!({"reply": {"text": {"type": "plain_text_input", "value": "Hi {name}"}}}),
        )
        .await;
    assert!(
        body.contains("errors") && body.contains("name"),
        "unknown variable refused: {body}"
    );

    w.close_view("UANA", "V1", "sb1:reply_modal:1").await;
    w.settle().await;
    let card = w.take_slack("/chat.update").await;
    assert!(!shown(&card[0]).contains("is replying"));
    assert_eq!(
        w.store.messages(TicketId(1)).await.unwrap().len(),
        1,
        "nothing sent"
    );
    w.finish().await;
}

#[tokio::test]
async fn the_undo_window_lets_a_reply_be_withdrawn_or_changed() {
    let w = World::with(|c| c.slack.undo_seconds = 1).await;
    w.slack_ok().await;
    w.graph_ok().await;
    with_card(&w).await;

    // Withdrawn: deleted within the window → never sent.
    w.thread_message(
        "Ev1",
        "UANA",
        CARD,
        "1700000050.000001",
        "Oops, wrong customer",
    )
    .await;
    w.edit_or_delete("Ev2", "UANA", CARD, "1700000050.000001", None)
        .await;
    w.settle().await;
    let key = MessageKey::new(format!("chat:slack:{TEAM}:{CHANNEL}:1700000050.000001"));
    assert_eq!(
        w.store.message(&key).await.unwrap().unwrap().delivery,
        Some(Delivery::Cancelled)
    );
    assert!(
        w.take_graph("/901097836652708_903438993000001/comments")
            .await
            .is_empty()
    );
    assert_eq!(w.take_slack("/reactions.add").await.len(), 1, "queued mark");
    assert_eq!(w.take_slack("/reactions.remove").await.len(), 1, "…removed");
    w.take_slack("/chat.update").await;

    // Changed: edited within the window → the edited text is sent.
    w.thread_message("Ev3", "UANA", CARD, "1700000060.000001", "Refund in 3 days")
        .await;
    w.edit_or_delete(
        "Ev4",
        "UANA",
        CARD,
        "1700000060.000001",
        Some("Refund in 2 days"),
    )
    .await;
    w.settle().await;
    let sent = w
        .take_graph("/901097836652708_903438993000001/comments")
        .await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["message"], "Refund in 2 days");
    w.take_slack("/reactions.add").await;
    w.take_slack("/reactions.remove").await;
    w.take_slack("/chat.update").await;
    w.finish().await;
}

/// An edit in the undo window cannot slip past the network's limit: the reply is checked
/// again when it is sent, fails with the limit in plain words, and nothing goes out.
#[tokio::test]
async fn a_reply_edited_past_the_limit_is_not_sent() {
    let w = World::with(|c| c.slack.undo_seconds = 1).await;
    w.slack_ok().await;
    w.graph_ok().await;
    with_card(&w).await;
    w.thread_message("Ev1", "UANA", CARD, "1700000060.000001", "Refund in 3 days")
        .await;
    let long = "x".repeat(8001);
    w.edit_or_delete("Ev2", "UANA", CARD, "1700000060.000001", Some(&long))
        .await;
    w.settle().await;
    assert!(
        w.take_graph("/901097836652708_903438993000001/comments")
            .await
            .is_empty(),
        "nothing sent"
    );
    let key = MessageKey::new(format!("chat:slack:{TEAM}:{CHANNEL}:1700000060.000001"));
    assert!(
        matches!(
            w.store.message(&key).await.unwrap().unwrap().delivery,
            Some(Delivery::Failed(_))
        ),
        "failed"
    );
    let explained = w.take_slack("/chat.postMessage").await;
    assert!(
        explained
            .iter()
            .any(|p| p.body.to_string().contains("at most 8,000 characters")),
        "{explained:?}"
    );
    w.take_slack("/reactions.add").await;
    w.take_slack("/reactions.remove").await;
    w.take_slack("/chat.update").await;
    w.finish().await;
}

#[tokio::test]
async fn saved_replies_created_searched_and_used_with_variables() {
    let w = World::new().await;
    w.slack_ok().await;
    with_card(&w).await;

    // Create from the modal.
    let values = |name: &str, body: &str| {
        json!({
            "name": {"text": {"type": "plain_text_input", "value": name}},
            "body": {"text": {"type": "plain_text_input", "value": body}}
        })
    };
    let (s, body) = w
        .submit(
            "UANA",
            "V9",
            "sb1:saved_reply_modal:new",
            values(
                "Refund policy",
                "Hi {author_name}, {agent_name} from {account_name} here: refunds take 3 days.",
            ),
        )
        .await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, ""));
    // Same name in another case: refused in the modal.
    let (_, body) = w
        .submit(
            "UANA",
            "V10",
            "sb1:saved_reply_modal:new",
            values("refund POLICY", "x"),
        )
        .await;
    assert!(body.contains("errors"), "{body}");
    // Too long: refused.
    let (_, body) = w
        .submit(
            "UANA",
            "V11",
            "sb1:saved_reply_modal:new",
            values("Long", &"x".repeat(2001)),
        )
        .await;
    assert!(body.contains("errors") && body.contains("2,000"), "{body}");
    assert_eq!(w.store.saved_replies().await.unwrap().len(), 1);

    // Search with the slash command.
    let (s, body) = w.command("UANA", "reply refund").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("ephemeral") && body.contains("Refund policy"),
        "{body}"
    );
    // The card's picker loads options.
    let (_, body) = w.suggest("UANA", "sb1:saved_reply:1", "ref").await;
    let options: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(options["options"][0]["text"]["text"], "Refund policy");
    let id = options["options"][0]["value"].as_str().unwrap().to_string();

    // Choosing it opens the reply modal with the variables filled.
    w.pick("UANA", CARD, "sb1:saved_reply:1", None, Some(json!(id)))
        .await;
    w.settle().await;
    let opened = w.take_slack("/views.open").await;
    assert_eq!(opened.len(), 1);
    let view = opened[0].body["view"].to_string();
    assert!(
        view.contains("Hi Jane Doe, Agent UANA from Acme Coffee here"),
        "{view}"
    );
    w.take_slack("/users.info").await;
    w.take_slack("/chat.update").await;
    w.finish().await;
}

#[tokio::test]
async fn an_unknown_variable_in_a_saved_reply_is_reported_not_sent() {
    let w = World::new().await;
    w.slack_ok().await;
    with_card(&w).await;
    // Imported by the CLI without the check is impossible; write it through the store.
    let id = w
        .store
        .create_saved_reply("Bad", "Hello {first_name}", "cli", chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    w.pick(
        "UANA",
        CARD,
        "sb1:saved_reply:1",
        None,
        Some(json!(id.0.to_string())),
    )
    .await;
    w.settle().await;
    assert!(w.take_slack("/views.open").await.is_empty());
    let told = w.take_slack("/chat.postEphemeral").await;
    assert_eq!(told.len(), 1);
    assert!(
        told[0].body.to_string().contains("first_name"),
        "{}",
        told[0].body
    );
    w.take_slack("/users.info").await;
    w.finish().await;
}

#[tokio::test]
async fn tags_are_edited_learned_and_suggested() {
    let w = World::new().await;
    w.slack_ok().await;
    // The team's history: 10 refund tickets tagged "refund" (the first also "urgent"), 10
    // delivery tickets tagged "shipping".
    for n in 1..=20u32 {
        let text = if n <= 10 {
            format!("I want my money back, refund order {n} please, charged twice")
        } else {
            format!("Where is my parcel {n}? The tracking shows no delivery, courier lost it")
        };
        w.meta_webhook(&comment(n, &format!("55500{n:02}"), "C", &text))
            .await;
    }
    w.settle().await;
    w.take_slack("/chat.postMessage").await;
    for n in 1..=20i64 {
        w.click("UANA", CARD, &format!("sb1:tags:{n}")).await;
        let tags = match n {
            1 => "Refund, urgent",
            2..=10 => "refund",
            _ => "shipping",
        };
        let (s, _) = w
            .submit(
                "UANA",
                &format!("VT{n}"),
                &format!("sb1:tags_modal:{n}"),
                json!({
                    "tags": {"known": {"type": "multi_static_select", "selected_options": []}},
                    "new_tags": {"text": {"type": "plain_text_input", "value": tags}}
                }),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    w.settle().await;
    assert_eq!(w.take_slack("/views.open").await.len(), 20);
    let updates = w.take_slack("/chat.update").await;
    assert_eq!(updates.len(), 20);
    // Cards of different tickets update concurrently: find ticket 1's by its ts.
    let card1 = w
        .store
        .card_of(TicketId(1))
        .await
        .unwrap()
        .expect("card")
        .message;
    let first = updates
        .iter()
        .find(|u| u.body["ts"] == card1.as_str())
        .expect("ticket 1's card updated");
    assert!(
        shown(first).contains("Tags: refund, urgent"),
        "{}",
        shown(first)
    );
    assert_eq!(ticket(&w, 1).await.state.tags, vec!["refund", "urgent"]);
    let model = w.store.tag_model().await.unwrap();
    assert!(
        model.uses.contains(&("refund".to_string(), 10)),
        "{:?}",
        model.uses
    );

    // A new refund-like ticket gets "refund" suggested (not "shipping", not the rare
    // "urgent"); an unrelated one gets nothing.
    w.meta_webhook(&comment(
        50,
        "5559999",
        "Max",
        "Please refund my money, I was charged twice",
    ))
    .await;
    w.meta_webhook(&comment(
        51,
        "5558888",
        "Lu",
        "Lovely coffee and great music yesterday",
    ))
    .await;
    w.settle().await;
    w.take_slack("/chat.postMessage").await;
    assert_eq!(ticket(&w, 21).await.state.suggested_tags, vec!["refund"]);
    assert!(ticket(&w, 22).await.state.suggested_tags.is_empty());
    let updates = w.take_slack("/chat.update").await;
    assert_eq!(
        updates.len(),
        1,
        "only the similar ticket's card shows a suggestion"
    );
    assert!(action_ids(&updates[0].body).contains(&"sb1:accept_tag:21".to_string()));

    // One click accepts it.
    w.pick("UANA", CARD, "sb1:accept_tag:21", Some("refund"), None)
        .await;
    w.settle().await;
    assert_eq!(ticket(&w, 21).await.state.tags, vec!["refund"]);
    assert!(ticket(&w, 21).await.state.suggested_tags.is_empty());
    assert!(
        w.store
            .tag_model()
            .await
            .unwrap()
            .uses
            .contains(&("refund".to_string(), 11))
    );
    w.take_slack("/chat.update").await;
    w.finish().await;
}

#[tokio::test]
async fn bulk_actions_over_a_filter_report_and_update_every_card() {
    let w = World::new().await;
    w.slack_ok().await;
    for n in 1..=3u32 {
        w.meta_webhook(&comment(n, &format!("55500{n:02}"), "C", "hello"))
            .await;
    }
    w.settle().await;
    w.take_slack("/chat.postMessage").await;
    w.click("UANA", "1700000002.000100", "sb1:read:2").await;
    w.settle().await;
    w.take_slack("/chat.update").await;

    // Invalid filter: a clear error, nothing changes.
    let (_, body) = w.command("UANA", "close status:open").await;
    assert!(body.contains("`open` is not a status"), "{body}");
    let (_, body) = w.command("UANA", "close colour:red").await;
    assert!(body.contains("is not a filter"), "{body}");

    let (s, body) = w
        .command("UANA", "close status:unread network:facebook")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("Working on 2 matching tickets"), "{body}");
    w.settle().await;
    assert_eq!(ticket(&w, 1).await.state.status, Status::Closed);
    assert_eq!(ticket(&w, 2).await.state.status, Status::Read);
    assert_eq!(ticket(&w, 3).await.state.status, Status::Closed);
    assert_eq!(
        w.take_slack("/chat.update").await.len(),
        2,
        "every affected card"
    );
    let report = w.take_slack("/response/1").await;
    assert_eq!(report.len(), 1);
    assert!(
        report[0].body.to_string().contains("Closed 2 tickets."),
        "{}",
        report[0].body
    );

    let (_, body) = w.command("UANA", "unread status:closed").await;
    assert!(body.contains("Working on 2"), "{body}");
    w.settle().await;
    // Closed tickets are not "read", so mark-unread changes none of them.
    assert!(
        w.take_slack("/response/1").await[0]
            .body
            .to_string()
            .contains("Marked unread 0 tickets (2 already were)")
    );
    let (_, body) = w.command("UANA", "open status:closed").await;
    assert!(body.contains("Working on 2"));
    w.settle().await;
    assert_eq!(ticket(&w, 1).await.state.status, Status::Read);
    assert_eq!(w.take_slack("/chat.update").await.len(), 2);
    w.take_slack("/response/1").await;
    let (_, body) = w.command("UANA", "close assignee:me").await;
    assert!(body.contains("No ticket matches"), "{body}");
    w.finish().await;
}

#[tokio::test]
async fn bulk_close_is_permission_checked() {
    let w = World::with(|c| c.permissions.close = vec!["UBOSS".into()]).await;
    w.slack_ok().await;
    with_card(&w).await;
    let (_, body) = w.command("UANA", "close status:unread").await;
    assert!(body.contains("not allowed to close"), "{body}");
    w.settle().await;
    assert_eq!(ticket(&w, 1).await.state.status, Status::Unread);
    w.finish().await;
}

#[tokio::test]
async fn queues_list_tickets_with_links() {
    let w = World::new().await;
    w.slack_ok().await;
    with_card(&w).await;
    w.meta_webhook(&comment(2, "5550002", "Max", "second"))
        .await;
    w.settle().await;
    w.take_slack("/chat.postMessage").await;
    w.click("UANA", "1700000002.000100", "sb1:assign_me:2")
        .await;
    w.settle().await;
    w.take_slack("/chat.update").await;
    w.take_slack("/chat.postMessage").await;

    let (_, body) = w.command("UANA", "queue unassigned").await;
    assert!(body.contains("Jane Doe") && !body.contains("Max"), "{body}");
    assert!(
        body.contains("https://slack.com/archives/C0CARDS/p1700000001000100"),
        "{body}"
    );
    let (_, body) = w.command("UANA", "queue mine").await;
    assert!(body.contains("Max") && !body.contains("Jane"), "{body}");
    let (_, body) = w.command("UANA", "queue done").await;
    assert!(body.contains("nothing here"), "{body}");
    let (_, body) = w.command("UANA", "queue later").await;
    assert!(body.contains("Which queue?"), "{body}");
    w.finish().await;
}

#[tokio::test]
async fn customer_replies_notify_the_channel_or_only_the_assignee() {
    let w = World::new().await;
    w.slack_ok().await;
    with_card(&w).await;
    // Unassigned: the thread message is broadcast to the channel.
    w.meta_webhook(&comment(2, "5550001", "Jane Doe", "hello?"))
        .await;
    w.settle().await;
    let posts = w.take_slack("/chat.postMessage").await;
    assert_eq!(posts[0].body["reply_broadcast"], true);
    w.take_slack("/chat.update").await;

    // Assigned: not broadcast; the assignee gets a DM.
    w.click("UANA", CARD, "sb1:assign_me:1").await;
    w.settle().await;
    w.take_slack("/chat.postMessage").await;
    w.take_slack("/chat.update").await;
    w.meta_webhook(&comment(3, "5550001", "Jane Doe", "anyone there?"))
        .await;
    w.settle().await;
    let posts = w.take_slack("/chat.postMessage").await;
    assert_eq!(posts.len(), 2);
    assert!(
        posts[0]
            .body
            .get("reply_broadcast")
            .is_none_or(|b| b == false)
    );
    assert_eq!(posts[1].body["channel"], "UANA");
    assert!(posts[1].body.to_string().contains("anyone there?"));
    w.take_slack("/chat.update").await;
    w.finish().await;
}

#[tokio::test]
async fn in_explicit_channels_thread_chatter_stays_internal() {
    let w = World::with(|c| {
        c.slack.channels = vec![switchboard::config::ChannelConfig {
            id: CHANNEL.into(),
            reply_mode: switchboard::config::ReplyMode::Explicit,
            reply_as: Default::default(),
            auto_close_days: None,
            hours: None,
            sla: None,
            auto_reply: None,
        }];
    })
    .await;
    w.slack_ok().await;
    w.graph_ok().await;
    with_card(&w).await;
    w.thread_message(
        "Ev1",
        "UANA",
        CARD,
        "1700000050.000001",
        "I think this is a refund case",
    )
    .await;
    w.settle().await;
    assert!(
        w.take_graph("/901097836652708_903438993000001/comments")
            .await
            .is_empty()
    );
    let msgs = w.store.messages(TicketId(1)).await.unwrap();
    assert_eq!(
        msgs.last().unwrap().kind,
        switchboard::core::MessageKind::Note
    );
    w.take_slack("/chat.update").await;
    w.finish().await;
}

#[tokio::test]
async fn assign_by_command_carries_a_note_to_the_assignee() {
    let w = World::new().await;
    w.slack_ok().await;
    with_card(&w).await;
    let (_, body) = w
        .command(
            "UANA",
            "assign #1 <@UBEN|ben> VIP customer, please call back",
        )
        .await;
    assert!(body.contains("Assigning ticket #1"), "{body}");
    w.settle().await;
    let dm = w.take_slack("/chat.postMessage").await;
    assert_eq!(dm.len(), 1);
    assert_eq!(dm[0].body["channel"], "UBEN");
    let said = dm[0].body.to_string();
    assert!(
        said.contains("VIP customer, please call back") && said.contains("<@UANA> assigned you"),
        "{said}"
    );
    assert!(shown(&w.take_slack("/chat.update").await[0]).contains("Assignee: <@UBEN>"));

    // Bad input: a clear answer, nothing changes.
    for bad in [
        "assign",
        "assign 1 me",
        "assign #1 bob",
        "assign #1 team:nope",
    ] {
        let (_, body) = w.command("UANA", bad).await;
        assert!(body.contains("assign #<ticket>"), "{bad}: {body}");
    }
    let (_, body) = w.command("UANA", "assign #99 me").await;
    assert!(body.contains("no longer exists"), "{body}");
    w.settle().await;
    assert_eq!(
        w.store
            .history(TicketId(1))
            .await
            .unwrap()
            .iter()
            .filter(|h| h.what.code() == "assigned")
            .count(),
        1
    );
    w.finish().await;
}

#[tokio::test]
async fn over_long_replies_are_refused_before_sending() {
    let w = World::new().await;
    w.slack_ok().await;
    w.graph_ok().await;
    with_card(&w).await;
    // Facebook comments take 8,000 characters.
    let long = "x".repeat(8001);
    let (_, body) = w
        .submit(
            "UANA",
            "V1",
            "sb1:reply_modal:1",
            json!({"reply": {"text": {"type": "plain_text_input", "value": long}}}),
        )
        .await;
    assert!(
        body.contains("errors")
            && body.contains(
                "8,001 characters; a reply to a Facebook comment can have at most 8,000 characters"
            ),
        "{body}"
    );
    w.thread_message("Ev1", "UANA", CARD, "1700000050.000001", &long)
        .await;
    w.settle().await;
    let told = w.take_slack("/chat.postEphemeral").await;
    assert_eq!(told.len(), 1);
    assert!(told[0].body.to_string().contains("8,001 characters"));
    assert!(
        w.take_graph("/901097836652708_903438993000001/comments")
            .await
            .is_empty()
    );
    assert_eq!(w.store.messages(TicketId(1)).await.unwrap().len(), 1);
    w.finish().await;
}

#[tokio::test]
async fn a_customer_reply_on_a_closed_ticket_reopens_it_and_tells_the_channel() {
    let w = World::new().await;
    w.slack_ok().await;
    with_card(&w).await;
    w.click("UANA", CARD, "sb1:assign_me:1").await;
    w.click("UANA", CARD, "sb1:close:1").await;
    w.settle().await;
    w.take_slack("/chat.postMessage").await;
    w.take_slack("/chat.update").await;
    w.meta_webhook(&comment(
        2,
        "5550001",
        "Jane Doe",
        "It still has not arrived",
    ))
    .await;
    w.settle().await;
    let posts = w.take_slack("/chat.postMessage").await;
    assert_eq!(posts.len(), 1, "no DM: the channel is told");
    assert_eq!(posts[0].body["reply_broadcast"], true);
    assert_eq!(ticket(&w, 1).await.state.status, Status::Unread);
    w.take_slack("/chat.update").await;
    w.finish().await;
}

#[tokio::test]
async fn saved_replies_are_edited_and_deleted_from_slack_by_permitted_teammates() {
    let w = World::with(|c| c.permissions.saved_replies = vec!["SEDITORS".into()]).await;
    w.slack_ok().await;
    w.group("SEDITORS", &["UED"]);
    let id = w
        .store
        .create_saved_reply("Hours", "We open at 9.", "cli", chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();

    // Someone outside the group: refused, nothing opens, nothing changes.
    w.pick("UANA", CARD, &format!("sb1sr:edit:{id}"), None, None)
        .await;
    let (_, body) = w
        .submit(
            "UANA",
            "V1",
            &format!("sb1:saved_reply_modal:{id}"),
            json!({
                "name": {"text": {"type": "plain_text_input", "value": "Hours"}},
                "body": {"text": {"type": "plain_text_input", "value": "Hacked"}}
            }),
        )
        .await;
    assert!(
        body.contains("not allowed to create, edit or delete saved replies"),
        "{body}"
    );
    let (_, body) = w.command("UANA", "reply new").await;
    assert!(body.contains("not allowed"), "{body}");
    assert!(w.take_slack("/views.open").await.is_empty());
    assert_eq!(w.take_slack("/chat.postEphemeral").await.len(), 1);
    assert_eq!(
        w.store.saved_reply(id).await.unwrap().unwrap().body,
        "We open at 9."
    );
    w.take_slack("/usergroups.users.list").await;

    // An editor: Edit opens the editor with the reply, Save changes it.
    w.pick("UED", CARD, &format!("sb1sr:edit:{id}"), None, None)
        .await;
    let opened = w.take_slack("/views.open").await;
    assert_eq!(opened.len(), 1);
    assert!(opened[0].body["view"].to_string().contains("We open at 9."));
    let (s, body) = w
        .submit("UED", "V2", &format!("sb1:saved_reply_modal:{id}"), json!({
            "name": {"text": {"type": "plain_text_input", "value": "Opening hours"}},
            "body": {"text": {"type": "plain_text_input", "value": "We open at 8, {author_name}."}}
        }))
        .await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, ""));
    let r = w.store.saved_reply(id).await.unwrap().unwrap();
    assert_eq!(
        (r.name.as_str(), r.body.as_str()),
        ("Opening hours", "We open at 8, {author_name}.")
    );
    assert_eq!(r.updated_by, "slack:UED");

    // Delete.
    w.pick("UED", CARD, &format!("sb1sr:delete:{id}"), None, None)
        .await;
    assert!(w.store.saved_reply(id).await.unwrap().is_none());
    let told = w.take_slack("/chat.postEphemeral").await;
    assert!(
        told[0]
            .body
            .to_string()
            .contains(&format!("Deleted saved reply {id}")),
        "{}",
        told[0].body
    );
    w.finish().await;
}

/// An outside tester's report: a customer who wrote `<!channel> <@U123> <https://…|Open
/// ticket>` on an assigned ticket had it delivered live in the assignee's DM. Every Slack
/// message customer words reach (the card, its thread, the assignee's DM, a team notice, the
/// queue listing, a failure explanation quoting the network, saved-reply search) shows the
/// whole hostile corpus as written, and nothing in it is live.
#[tokio::test]
async fn customer_markup_is_never_live_in_any_slack_message() {
    use support::hostile::{CORPUS, slack_live, slack_shows};
    let name = CORPUS[0];
    let said = CORPUS.join(" ");
    let w = World::with(|c| {
        c.slack.teams = vec![switchboard::config::TeamConfig {
            name: "billing".into(),
            usergroup: "SBILL".into(),
            members: vec![],
        }];
    })
    .await;
    w.slack_ok().await;
    w.graph_fails(
        1,
        400,
        json!({"error": {"message": said, "type": "OAuthException", "code": 999, "fbtrace_id": "x"}}),
    )
    .await;
    let card_link = format!(
        "<https://slack.com/archives/{CHANNEL}/p1700000001000100|Facebook comment on Acme Coffee>"
    );
    let ours = ["<@UANA>", "<!subteam^SBILL>", card_link.as_str()];
    let inert = |what: &str, seen: &[Seen]| {
        for s in seen {
            let live = slack_live(&s.body, &ours);
            assert!(live.is_empty(), "{what}: {live:#?}");
        }
    };
    let shows_all = |what: &str, body: &Value| {
        for h in CORPUS {
            assert!(slack_shows(body, h), "{what} does not show {h:?}: {body}");
        }
    };

    // A new ticket: its card.
    w.meta_webhook(&comment(1, "5550001", name, &said)).await;
    w.settle().await;
    let cards = w.take_slack("/chat.postMessage").await;
    assert_eq!(cards.len(), 1);
    inert("card", &cards);
    shows_all("card", &cards[0].body);

    // The unassigned queue lists it under the customer's name.
    let (_, body) = w.command("UANA", "queue unassigned").await;
    let listing: Value = serde_json::from_str(&body).unwrap();
    assert!(slack_live(&listing, &ours).is_empty(), "{listing}");
    assert!(slack_shows(&listing, name), "{listing}");
    // (The queue command looks up the teammate's groups.)
    w.take_slack("/usergroups.users.list").await;

    // Assigned to Ana: her DM, the card.
    w.click("UANA", CARD, "sb1:assign_me:1").await;
    w.settle().await;
    inert("assignment DM", &w.take_slack("/chat.postMessage").await);
    inert("card update", &w.take_slack("/chat.update").await);

    // The customer writes again: the thread, and the assignee's DM (the reported bug).
    w.meta_webhook(&comment(2, "5550001", name, &said)).await;
    w.settle().await;
    let posts = w.take_slack("/chat.postMessage").await;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[1].body["channel"], "UANA");
    inert("thread message and DM", &posts);
    for p in &posts {
        shows_all("thread message / DM", &p.body);
    }
    inert("card update", &w.take_slack("/chat.update").await);

    // A reply the network refuses with the corpus as its error text: the thread explains
    // why, the card warns; both quote the network's words as written.
    w.thread_message("Ev9", "UANA", CARD, "1700000090.000100", "We're on it")
        .await;
    w.settle().await;
    assert_eq!(
        w.take_graph("/901097836652708_903438993000002/comments")
            .await
            .len(),
        1
    );
    let explained = w.take_slack("/chat.postMessage").await;
    assert_eq!(explained.len(), 1);
    inert("failure explanation", &explained);
    shows_all("failure explanation", &explained[0].body);
    let updates = w.take_slack("/chat.update").await;
    inert("card with the failure", &updates);
    shows_all("card with the failure", &updates.last().unwrap().body);
    w.take_slack("/reactions.add").await;
    w.take_slack("/reactions.remove").await;

    // Assigned to a team: the customer's next words are a notice to the group in the thread.
    w.pick(
        "UANA",
        CARD,
        "sb1:assign_team:1",
        None,
        Some(json!("billing")),
    )
    .await;
    w.settle().await;
    inert("team assignment", &w.take_slack("/chat.postMessage").await);
    inert("card update", &w.take_slack("/chat.update").await);
    w.meta_webhook(&comment(3, "5550001", name, &said)).await;
    w.settle().await;
    let posts = w.take_slack("/chat.postMessage").await;
    assert_eq!(posts.len(), 2, "the thread message and the team notice");
    inert("thread message and team notice", &posts);
    assert!(
        posts[1].body["text"]
            .as_str()
            .unwrap()
            .starts_with("<!subteam^SBILL>")
    );
    shows_all("team notice", &posts[1].body);
    inert("card update", &w.take_slack("/chat.update").await);

    // Saved replies are teammates' words for everyone: their search shows them as written.
    w.store
        .create_saved_reply(name, &said, "slack:UANA", chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    let (_, body) = w.command("UANA", "reply").await;
    let found: Value = serde_json::from_str(&body).unwrap();
    assert!(slack_live(&found, &ours).is_empty(), "{found}");
    assert!(slack_shows(&found, name), "{found}");
    w.finish().await;
}
