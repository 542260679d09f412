//! End-to-end scenarios of auto-assignment: round-robin over a team through the front door
//! (signed Meta webhooks, signed slash commands), asserting on what the fake Slack received
//! and on the database.

mod support;

use axum::http::StatusCode;
use support::*;
use switchboard::core::{
    Actor, Assignee, ChatUserId, HistoryKind, Status, Surface, Teammate, TicketId,
};

const POST: &str = "1234567890321_901097836652708";

fn comment(n: u32, customer: &str, name: &str, text: &str) -> String {
    comment_webhook(
        &format!("901097836652708_9034389930{n:05}"),
        POST,
        customer,
        name,
        text,
    )
}

/// A team of four with a round-robin rule for every ticket.
async fn team_world() -> World {
    World::with(|c| {
        c.slack.teams = vec![switchboard::config::TeamConfig {
            name: "support".into(),
            usergroup: "SSUP".into(),
            members: vec!["UANA".into(), "UBEN".into(), "UCAT".into(), "UDAN".into()],
        }];
        c.slack.auto_assign = vec![switchboard::config::AutoAssignConfig {
            name: Some("front desk".into()),
            network: None,
            account: None,
            kind: None,
            keywords: vec![],
            rule: None,
            person: None,
            team: None,
            round_robin: Some("support".into()),
        }];
    })
    .await
}

async fn assignee(w: &World, id: i64) -> Option<String> {
    let t = w.store.ticket(TicketId(id)).await.unwrap().expect("ticket");
    match t.state.assignee {
        Some(Assignee::Person(p)) => Some(p.id.to_string()),
        Some(Assignee::Team(t)) => Some(format!("team:{t}")),
        None => None,
    }
}

async fn card_ts(w: &World, id: i64) -> String {
    w.store
        .card_of(TicketId(id))
        .await
        .unwrap()
        .expect("card posted")
        .message
}

/// Deliver one new ticket and return the cards and DMs Slack received for it.
async fn new_ticket(w: &World, n: u32) -> (Vec<Seen>, Vec<Seen>) {
    let customer = format!("555{n:04}");
    let (status, _) = w
        .meta_webhook(&comment(
            n,
            &customer,
            &format!("Customer {n}"),
            "Help please",
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    w.settle().await;
    w.take_slack("/chat.postMessage")
        .await
        .into_iter()
        .partition(|s| s.body["channel"] == CHANNEL)
}

#[tokio::test]
async fn round_robin_spreads_five_tickets_over_the_team_and_skips_the_away_member() {
    let w = team_world().await;
    w.slack_ok().await;

    // Dan is away, through the signed slash command; a bad argument changes nothing.
    let (status, body) = w.command("UDAN", "away maybe").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("away on") && body.contains("Nothing was changed"),
        "{body}"
    );
    let dan = Teammate {
        surface: Surface::Slack,
        id: ChatUserId::new("UDAN"),
    };
    assert!(!w.store.is_away(&dan).await.unwrap());
    let (_, body) = w.command("UDAN", "away on").await;
    assert!(body.contains("You are away"), "{body}");
    assert!(w.store.is_away(&dan).await.unwrap());
    let (_, body) = w.command("UDAN", "queue mine").await;
    assert!(body.contains("You are marked away"), "{body}");
    let (_, body) = w.command("UANA", "queue mine").await;
    assert!(!body.contains("away"), "{body}");
    // (The queue command looks up the teammate's groups.)
    w.take_slack("/usergroups.users.list").await;

    let mut got = Vec::new();
    for n in 1..=5 {
        let (cards, dms) = new_ticket(&w, n).await;
        let who = assignee(&w, i64::from(n)).await.expect("assigned");
        // The card, posted once, already says who and why.
        assert_eq!(cards.len(), 1, "ticket {n}");
        let card = blocks_text(&cards[0].body);
        assert!(card.contains(&format!("Assignee: <@{who}>")), "{card}");
        assert!(
            card.contains("Assigned automatically by the rule front desk."),
            "{card}"
        );
        // The assignee is told by DM, as for an assignment by hand, with a link to the card.
        assert_eq!(dms.len(), 1, "ticket {n}");
        assert_eq!(dms[0].body["channel"], who.as_str());
        let dm = dms[0].body.to_string();
        assert!(
            dm.contains("assigned to you automatically")
                && dm.contains(&format!("https://slack.com/archives/{CHANNEL}/p")),
            "{dm}"
        );
        got.push(who);
    }
    assert_eq!(got, ["UANA", "UBEN", "UCAT", "UANA", "UBEN"]);

    // The history says the system did it, by which rule; the ticket is still unread.
    let t = w.store.ticket(TicketId(1)).await.unwrap().expect("ticket");
    assert_eq!(t.state.status, Status::Unread);
    let assigned: Vec<_> = w
        .store
        .history(TicketId(1))
        .await
        .unwrap()
        .into_iter()
        .filter(|h| matches!(h.what, HistoryKind::Assigned { .. }))
        .collect();
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0].actor, Actor::System);
    assert!(
        matches!(&assigned[0].what, HistoryKind::Assigned { rule: Some(r), note: None, .. } if r == "front desk")
    );

    // A redelivered webhook assigns nothing again; the customer writing again on their
    // ticket does not re-assign it: the assignee is told, as always.
    w.meta_webhook(&comment(1, "5550001", "Customer 1", "Help please"))
        .await;
    w.settle().await;
    assert!(w.take_slack("/chat.postMessage").await.is_empty());
    w.meta_webhook(&comment(6, "5550001", "Customer 1", "Anyone there?"))
        .await;
    w.settle().await;
    let posts = w.take_slack("/chat.postMessage").await;
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(posts.iter().any(|p| p.body["channel"] == CHANNEL));
    assert!(
        posts
            .iter()
            .any(|p| p.body["channel"] == "UANA" && p.body.to_string().contains("wrote again"))
    );
    w.take_slack("/chat.update").await;
    assert_eq!(assignee(&w, 1).await.as_deref(), Some("UANA"));
    assert_eq!(w.store.count_tickets().await.unwrap(), 5);

    // Dan is back: with no ticket yet, he is the least loaded.
    let (_, body) = w.command("UDAN", "away off").await;
    assert!(body.contains("Welcome back"), "{body}");
    new_ticket(&w, 7).await;
    assert_eq!(assignee(&w, 6).await.as_deref(), Some("UDAN"));

    // Everyone away: the ticket stays unassigned, in the channel's queue.
    for u in ["UANA", "UBEN", "UCAT", "UDAN"] {
        w.command(u, "away on").await;
    }
    let (cards, dms) = new_ticket(&w, 8).await;
    assert_eq!((cards.len(), dms.len()), (1, 0));
    assert_eq!(assignee(&w, 7).await, None);
    assert!(blocks_text(&cards[0].body).contains("Assignee: —"));
    w.finish().await;
}

#[tokio::test]
async fn rules_go_in_order_to_a_person_or_a_team_on_their_conditions() {
    let w = World::with(|c| {
        c.slack.teams = vec![switchboard::config::TeamConfig {
            name: "billing".into(),
            usergroup: "SBILL".into(),
            members: vec![],
        }];
        let rule = |keywords: &[&str], person: Option<&str>, team: Option<&str>| {
            switchboard::config::AutoAssignConfig {
                name: None,
                network: Some(switchboard::core::Network::Facebook),
                account: None,
                kind: Some(switchboard::core::ItemKind::Comment),
                keywords: keywords.iter().map(|k| k.to_string()).collect(),
                rule: None,
                person: person.map(Into::into),
                team: team.map(Into::into),
                round_robin: None,
            }
        };
        c.slack.auto_assign = vec![
            rule(&["invoice", "refund"], None, Some("billing")),
            rule(&["vip"], Some("UBOSS"), None),
        ];
    })
    .await;
    w.slack_ok().await;

    // "Refund" matches the first rule (any case): the team is mentioned in the card's thread.
    w.meta_webhook(&comment(
        1,
        "5550001",
        "Jane",
        "Where is my REFUND, I am a VIP",
    ))
    .await;
    w.settle().await;
    assert_eq!(assignee(&w, 1).await.as_deref(), Some("team:billing"));
    let posts = w.take_slack("/chat.postMessage").await;
    assert_eq!(posts.len(), 2, "{posts:?}");
    let card = blocks_text(&posts[0].body);
    assert!(
        card.contains("Assignee: team billing")
            && card.contains("Assigned automatically by the rule slack.auto_assign[0]."),
        "{card}"
    );
    let first_card = card_ts(&w, 1).await;
    let notice = &posts[1].body;
    assert_eq!(notice["channel"], CHANNEL);
    assert_eq!(
        notice["thread_ts"],
        first_card.as_str(),
        "in the card's thread"
    );
    assert!(
        notice
            .to_string()
            .contains("assigned automatically to <!subteam^SBILL>"),
        "{notice}"
    );

    // The second rule: a DM to the person.
    w.meta_webhook(&comment(2, "5550002", "Max", "vip here"))
        .await;
    w.settle().await;
    assert_eq!(assignee(&w, 2).await.as_deref(), Some("UBOSS"));
    let posts = w.take_slack("/chat.postMessage").await;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[1].body["channel"], "UBOSS");

    // No rule matches: unassigned, nobody told.
    w.meta_webhook(&comment(3, "5550003", "Eve", "hello")).await;
    w.settle().await;
    assert_eq!(assignee(&w, 3).await, None);
    assert_eq!(w.take_slack("/chat.postMessage").await.len(), 1);

    // A teammate's assignment replaces the rule's, and the card stops saying "automatically".
    w.click("UANA", &card_ts(&w, 2).await, "sb1:assign_me:2")
        .await;
    w.settle().await;
    let updates = w.take_slack("/chat.update").await;
    let card = blocks_text(&updates[0].body);
    assert!(
        card.contains("Assignee: <@UANA>") && !card.contains("automatically"),
        "{card}"
    );
    w.take_slack("/chat.postMessage").await;
    w.finish().await;
}

// ---- Discord ----------------------------------------------------------------------------------

mod on_discord {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use ed25519_dalek::{Signer, SigningKey};
    use serde_json::{Value, json};
    use support::discord::*;

    const MEMBERS: [&str; 4] = [
        "311111111111111111",
        "322222222222222222",
        "333333333333333333",
        "344444444444444444",
    ];

    /// A signed, fresh `/inbox away state:<state>` from `user`; the answer as JSON.
    async fn away(w: &World, id: &str, user: &str, state: &str) -> Value {
        let body = json!({
            "id": id, "application_id": APP_ID, "type": 2, "token": format!("token-{id}"),
            "version": 1, "guild_id": GUILD, "channel_id": DCHANNEL,
            "member": member(user, &[]),
            "data": {"id": "1000000000000000500", "name": "inbox", "type": 1, "options": [
                {"type": 1, "name": "away", "options": [{"type": 3, "name": "state", "value": state}]}
            ]}
        })
        .to_string();
        // The private half of the test application's public key: seed 0x00..0x1f.
        let key = SigningKey::from_bytes(&std::array::from_fn(|i| i as u8));
        let ts = chrono::Utc::now().timestamp();
        let sig = key.sign(format!("{ts}{body}").as_bytes());
        let req = Request::post("/discord/interactions")
            .header("content-type", "application/json")
            .header("x-signature-timestamp", ts.to_string())
            .header("x-signature-ed25519", hex::encode(sig.to_bytes()))
            .body(Body::from(body))
            .unwrap();
        let (status, text) = w.send(req).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        serde_json::from_str(&text).expect("JSON answer")
    }

    #[tokio::test]
    async fn round_robin_spreads_tickets_over_a_discord_team_and_skips_the_away_member() {
        let w = discord_world(|c| {
            if let Some(d) = c.discord.as_mut() {
                d.teams = vec![switchboard::config::DiscordTeamConfig {
                    name: "support".into(),
                    role: TEAM_ROLE.into(),
                    members: MEMBERS.iter().map(|m| m.to_string()).collect(),
                }];
                d.auto_assign = vec![switchboard::config::AutoAssignConfig {
                    name: Some("front desk".into()),
                    network: None,
                    account: None,
                    kind: None,
                    keywords: vec![],
                    rule: None,
                    person: None,
                    team: None,
                    round_robin: Some("support".into()),
                }];
            }
        })
        .await;
        w.discord_ok("").await;

        let bad = away(&w, "7001", MEMBERS[3], "maybe").await;
        assert!(bad.to_string().contains("Nothing was changed"), "{bad}");
        let ok = away(&w, "7002", MEMBERS[3], "on").await;
        assert!(ok.to_string().contains("You are away"), "{ok}");
        assert_eq!(ok["data"]["flags"], 64, "ephemeral");

        let mut got = Vec::new();
        for n in 1..=5u32 {
            w.meta_webhook(&comment(n, &format!("555{n:04}"), "Jane", "Help please"))
                .await;
            w.settle().await;
            let card = w
                .take_discord(&format!("/api/v10/channels/{DCHANNEL}/messages"))
                .await;
            assert_eq!(card.len(), 1, "ticket {n}");
            assert!(
                card[0]
                    .body
                    .to_string()
                    .contains("Assigned automatically by the rule front desk."),
                "{}",
                card[0].body
            );
            let opened = w.take_discord("/api/v10/users/@me/channels").await;
            assert_eq!(opened.len(), 1, "one DM for ticket {n}");
            let recipient = opened[0].body["recipient_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let dm = w
                .take_discord("/api/v10/channels/1000000000000000777/messages")
                .await;
            assert_eq!(dm.len(), 1);
            assert!(
                dm[0]
                    .body
                    .to_string()
                    .contains("assigned to you automatically"),
                "{}",
                dm[0].body
            );
            let who = assignee(&w, i64::from(n)).await.expect("assigned");
            assert_eq!(who, recipient);
            got.push(who);
            // The thread started from the card.
            w.take_discord_matching("^/api/v10/channels/").await;
        }
        assert_eq!(
            got,
            [MEMBERS[0], MEMBERS[1], MEMBERS[2], MEMBERS[0], MEMBERS[1]]
        );
        w.finish().await;
    }
}
