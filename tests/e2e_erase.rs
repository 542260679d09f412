//! Erasure end to end: an admin's `/switchboard erase #N` removes the customer's name and
//! messages from every ticket of theirs (cards and thread copies edited in Slack, stored
//! texts and raw payloads blanked, the history saying only that it happened); anyone else is
//! refused and nothing changes; another customer is untouched.

mod support;

use support::*;
use switchboard::core::text::{ERASED_NAME, ERASED_TEXT};
use switchboard::core::{MessageKind, TicketId};

const SECRET_TEXT: &str = "my phone is 555-0100";

#[tokio::test]
async fn an_admin_erases_a_customer_everywhere_and_nobody_else_can() {
    let w = World::with(|c| c.permissions.admin = vec!["UADMIN".into()]).await;
    w.slack_ok().await;
    w.meta_webhook(&comment_webhook(
        "1001_1",
        "1001",
        "5001",
        "Jo Private",
        SECRET_TEXT,
    ))
    .await;
    w.meta_webhook(&comment_webhook(
        "1001_2",
        "1001",
        "5001",
        "Jo Private",
        "and again",
    ))
    .await;
    w.meta_webhook(&comment_webhook(
        "1001_3",
        "1001",
        "5002",
        "Al Other",
        "unrelated",
    ))
    .await;
    w.settle().await;
    w.take_slack("/chat.postMessage").await;
    w.take_slack("/chat.update").await;
    let jo: Vec<TicketId> = {
        let mut v = vec![];
        for id in 1..=3 {
            if let Some(t) = w.store.ticket(TicketId(id)).await.unwrap()
                && t.state.customer.id.as_str() == "5001"
            {
                v.push(t.id);
            }
        }
        v
    };
    assert!(!jo.is_empty());

    // Not an admin: refused, nothing queued or changed.
    let (_, answer) = w.command("UANA", "erase #1").await;
    assert!(answer.contains("admin"), "{answer}");
    w.settle().await;
    let t = w.store.ticket(jo[0]).await.unwrap().unwrap();
    assert_eq!(t.state.customer.name.as_deref(), Some("Jo Private"));
    let (_, answer) = w.command("UADMIN", "erase").await;
    assert!(answer.contains("Usage"), "{answer}");

    let (_, answer) = w.command("UADMIN", &format!("erase #{}", jo[0])).await;
    assert!(answer.contains("Erasing"), "{answer}");
    w.settle().await;

    for id in &jo {
        let t = w.store.ticket(*id).await.unwrap().unwrap();
        assert!(t.state.erased);
        assert_eq!(t.state.customer.name, None);
        assert_eq!(t.state.customer_name(), ERASED_NAME);
        assert!(!t.state.first_text.contains("555"));
        for m in w.store.messages(*id).await.unwrap() {
            if m.kind == MessageKind::Customer {
                assert_eq!(m.text, ERASED_TEXT);
            }
        }
        let history = w.store.history(*id).await.unwrap();
        assert_eq!(history.last().map(|h| h.what.code()), Some("erased"));
    }
    // The cards in Slack now say so; nothing of what Jo wrote is sent again.
    let updates = w.take_slack("/chat.update").await;
    assert!(!updates.is_empty());
    for u in &updates {
        let shown = u.body.to_string();
        assert!(
            !shown.contains("555-0100") && !shown.contains("Jo Private"),
            "{shown}"
        );
    }
    assert!(
        updates
            .iter()
            .any(|u| blocks_text(&u.body).contains(ERASED_TEXT)),
        "{updates:?}"
    );
    // Asked again: nothing more is recorded or re-edited.
    w.command("UADMIN", &format!("erase #{}", jo[0])).await;
    w.settle().await;
    let history = w.store.history(jo[0]).await.unwrap();
    assert_eq!(
        history.iter().filter(|h| h.what.code() == "erased").count(),
        1
    );
    assert!(w.take_slack("/chat.update").await.is_empty());
    // Al is untouched.
    let al = w
        .store
        .customer_tickets(
            switchboard::core::Network::Facebook,
            &switchboard::core::CustomerId::new("5002"),
        )
        .await
        .unwrap();
    let al = w.store.ticket(al[0]).await.unwrap().unwrap();
    assert_eq!(al.state.customer.name.as_deref(), Some("Al Other"));
    assert!(!al.state.erased);
}
