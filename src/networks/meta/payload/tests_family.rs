//! Messenger, Instagram, WhatsApp and Page mention parsing, against realistic fixtures in
//! `tests/fixtures/meta/`.

use super::*;
use crate::core::{
    AccountId, Attachment, Customer, CustomerId, FailureReason, InboundItem, ItemKind,
    NetworkChange, NetworkItemId, ReceiptStatus,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/meta/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse_fixture(name: &str) -> Parsed {
    parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn secs(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(s, 0).expect("valid")
}

fn millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("valid")
}

fn attachment(kind: &str) -> Attachment {
    Attachment {
        kind: kind.into(),
        url: None,
        media_id: None,
        caption: None,
        mime_type: None,
    }
}

const PAGE: &str = "1234567890321";
const PSID: &str = "6019283746501928";
const IG: &str = "17841400000000000";
const PNID: &str = "10634295353625";

#[allow(clippy::too_many_arguments)]
fn item(
    network: Network,
    account: &str,
    kind: ItemKind,
    item_id: &str,
    post_id: &str,
    customer: (&str, Option<&str>),
    text: &str,
    created_at: DateTime<Utc>,
    attachments: Vec<Attachment>,
) -> InboundItem {
    InboundItem {
        network,
        account: AccountId::new(account),
        item_id: NetworkItemId::new(item_id),
        kind,
        post_id: NetworkItemId::new(post_id),
        customer: Customer {
            id: CustomerId::new(customer.0),
            name: customer.1.map(str::to_owned),
        },
        text: text.into(),
        created_at,
        permalink: None,
        attachments,
        context: Default::default(),
    }
}

fn dm(
    network: Network,
    account: &str,
    mid: &str,
    customer: (&str, Option<&str>),
    text: &str,
    at: DateTime<Utc>,
    attachments: Vec<Attachment>,
) -> InboundItem {
    item(
        network,
        account,
        ItemKind::DirectMessage,
        mid,
        mid,
        customer,
        text,
        at,
        attachments,
    )
}

/// Every fixture that yields new items: (fixture, [(dedupe key, item)]), nothing ignored.
#[test]
fn new_items_are_normalised_exactly() {
    let mid_text =
        "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P";
    let ig_mid = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDUyNjkxNjAwMDk4OjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1OTU4MjYwNTQ5MzI0NjI1NQZDZD";
    let fb = Network::Facebook;
    let wa = Network::Whatsapp;
    let maria_wa = ("491234567890", Some("Maria López"));
    let wamid = |s: &str| format!("wamid.HBgNNDkxMjM0NTY3ODkwFQIAEhgg{s}");
    let mut mention = item(
        fb,
        PAGE,
        ItemKind::Mention,
        "7363534231324_3754798971271444",
        "5550001112223_7363534231324",
        ("unknown:5550001112223_7363534231324", None),
        "Huge thanks to @Acme Shop for the quick refund!",
        secs(1614340862),
        vec![],
    );
    mention.permalink = Some(
        "https://www.facebook.com/5550001112223_7363534231324?comment_id=7363534231324_3754798971271444"
            .into(),
    );
    let cases: Vec<(&str, Vec<(String, InboundItem)>)> = vec![
        ("messenger_text.json", vec![(
            format!("facebook:msg:{mid_text}"),
            dm(fb, PAGE, mid_text, (PSID, None), "Hi, my order #4411 never arrived 😕", millis(1700000000500), vec![]),
        )]),
        ("messenger_attachments.json", vec![(
            "facebook:msg:m_attachments_1".into(),
            dm(fb, PAGE, "m_attachments_1", (PSID, None), "", millis(1700000000500), vec![
                Attachment { url: Some("https://scontent.xx.fbcdn.net/v/t1.15752-9/photo_broken_box.jpg?_nc_cat=1&oh=abc&oe=65A0".into()), ..attachment("image") },
                Attachment { url: Some("https://cdn.fbsbx.com/v/t59.2708-21/invoice_4411.pdf/invoice_4411.pdf?_nc_cat=1&oh=def".into()), ..attachment("file") },
            ]),
        )]),
        ("messenger_quick_reply.json", vec![(
            "facebook:msg:m_quick_reply_1".into(),
            dm(fb, PAGE, "m_quick_reply_1", (PSID, None), "Track my order", millis(1700000000500), vec![]),
        )]),
        ("messenger_postback.json", vec![(
            "facebook:msg:m_postback_1".into(),
            dm(fb, PAGE, "m_postback_1", (PSID, None), "Talk to a human", millis(1700000000500), vec![]),
        )]),
        ("page_mention.json", vec![("facebook:7363534231324_3754798971271444:add".into(), mention)]),
        ("instagram_comment.json", vec![(
            "instagram:17865799348089039:add".into(),
            item(Network::Instagram, IG, ItemKind::Comment, "17865799348089039", "17887498072083520",
                 ("1234536447", Some("maria.lopez")), "Do you ship to Spain? 🇪🇸", secs(1519399307), vec![]),
        )]),
        ("instagram_comment_reply.json", vec![(
            "instagram:17873440459141021:add".into(),
            item(Network::Instagram, IG, ItemKind::Comment, "17873440459141021", "17887498072083520",
                 ("7730129384", Some("sam_okafor")), "@maria.lopez they do, got mine in 3 days", secs(1519399400), vec![]),
        )]),
        ("instagram_mention.json", vec![(
            "instagram:17894227972186120:add".into(),
            item(Network::Instagram, IG, ItemKind::Mention, "17894227972186120", "17918195224117851",
                 ("unknown:17918195224117851", None), "", secs(1519399310), vec![]),
        )]),
        ("instagram_dm.json", vec![(
            format!("instagram:msg:{ig_mid}"),
            dm(Network::Instagram, IG, ig_mid, ("5614879045272581", None), "hi, is the blue one back in stock?", millis(1668022333735), vec![]),
        )]),
        ("whatsapp_text.json", vec![
            (format!("whatsapp:msg:{}", wamid("QTFCMkMzRDRFNUY2QTdCOEM5RDBFMUYyQTNCNEM1RDYA")),
             dm(wa, PNID, &wamid("QTFCMkMzRDRFNUY2QTdCOEM5RDBFMUYyQTNCNEM1RDYA"), maria_wa, "Hello, my parcel is damaged", secs(1700000000), vec![])),
            (format!("whatsapp:msg:{}", wamid("QjJDM0Q0RTVGNkE3QjhDOUQwRTFGMkEzQjRDNUQ2RTcA")),
             dm(wa, PNID, &wamid("QjJDM0Q0RTVGNkE3QjhDOUQwRTFGMkEzQjRDNUQ2RTcA"), maria_wa, "Order #4411", secs(1700000012), vec![])),
        ]),
        ("whatsapp_image.json", vec![
            (format!("whatsapp:msg:{}", wamid("SU1BR0UxAA==")),
             dm(wa, PNID, &wamid("SU1BR0UxAA=="), maria_wa, "This is how it arrived", secs(1700000100), vec![Attachment {
                 media_id: Some("1479537139650973".into()), caption: Some("This is how it arrived".into()),
                 mime_type: Some("image/jpeg".into()), ..attachment("image") }])),
            (format!("whatsapp:msg:{}", wamid("RE9DVU1FTlQxAA==")),
             dm(wa, PNID, &wamid("RE9DVU1FTlQxAA=="), maria_wa, "", secs(1700000101), vec![Attachment {
                 media_id: Some("2718281828459045".into()), caption: Some("invoice_4411.pdf".into()),
                 mime_type: Some("application/pdf".into()), ..attachment("document") }])),
            (format!("whatsapp:msg:{}", wamid("TE9DQVRJT04xAA==")),
             dm(wa, PNID, &wamid("TE9DQVRJT04xAA=="), maria_wa, "", secs(1700000102), vec![Attachment {
                 caption: Some("52.520008,13.404954 Packstation 123".into()), ..attachment("location") }])),
        ]),
        ("whatsapp_interactive.json", vec![
            (format!("whatsapp:msg:{}", wamid("QlVUVE9OMQA=")),
             dm(wa, PNID, &wamid("QlVUVE9OMQA="), maria_wa, "Refund please", secs(1700000200), vec![])),
            (format!("whatsapp:msg:{}", wamid("TElTVDEA")),
             dm(wa, PNID, &wamid("TElTVDEA"), maria_wa, "Size M", secs(1700000201), vec![])),
            (format!("whatsapp:msg:{}", wamid("VEVNUExBVEUxAA==")),
             dm(wa, PNID, &wamid("VEVNUExBVEUxAA=="), maria_wa, "Stop promotions", secs(1700000202), vec![])),
        ]),
        ("whatsapp_bsuid.json", vec![(
            "whatsapp:msg:wamid.HBgLQlNVSUQxFQIAEhgUQlNVSUQxAA==".into(),
            dm(wa, PNID, "wamid.HBgLQlNVSUQxFQIAEhgUQlNVSUQxAA==", ("US.13491208655302741918", Some("Sam Okafor")),
               "Is my warranty still valid?", secs(1774000000), vec![]),
        )]),
    ];
    for (name, want) in cases {
        let parsed = parse_fixture(name);
        assert!(parsed.ignored.is_empty(), "{name}: {:?}", parsed.ignored);
        let got: Vec<(String, InboundItem)> = parsed
            .envelopes
            .into_iter()
            .map(|e| match e.change {
                NetworkChange::New { item } => (e.dedupe_key, item),
                other => panic!("{name}: expected New, got {other:?}"),
            })
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

/// Receipts: (fixture, dedupe key, network, account, customer, ids, watermark, status).
#[test]
fn receipts_are_normalised_exactly() {
    let failed_wamid = "wamid.HBgLMzI0NzY3NTUzNzYVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3MTAA";
    let cases: Vec<(&str, &str, NetworkChange)> = vec![
        (
            "messenger_read.json",
            "facebook:read:6019283746501928:1700000100000",
            NetworkChange::Receipt {
                network: Network::Facebook,
                account: AccountId::new(PAGE),
                customer: Some(CustomerId::new(PSID)),
                ids: vec![],
                watermark: Some(millis(1700000100000)),
                status: ReceiptStatus::Read,
            },
        ),
        (
            "messenger_delivery.json",
            "facebook:delivery:m_our_reply_1",
            NetworkChange::Receipt {
                network: Network::Facebook,
                account: AccountId::new(PAGE),
                customer: Some(CustomerId::new(PSID)),
                ids: vec![NetworkItemId::new("m_our_reply_1")],
                watermark: Some(millis(1700000090000)),
                status: ReceiptStatus::Delivered,
            },
        ),
        (
            "whatsapp_status_delivered.json",
            "whatsapp:status:wamid.HBgLMzI0NzY3NTUzNzYVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA:delivered",
            NetworkChange::Receipt {
                network: Network::Whatsapp,
                account: AccountId::new(PNID),
                customer: Some(CustomerId::new("32476755376")),
                ids: vec![NetworkItemId::new(
                    "wamid.HBgLMzI0NzY3NTUzNzYVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA",
                )],
                watermark: None,
                status: ReceiptStatus::Delivered,
            },
        ),
        (
            "whatsapp_status_failed.json",
            "whatsapp:status:wamid.HBgLMzI0NzY3NTUzNzYVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3MTAA:failed",
            NetworkChange::Receipt {
                network: Network::Whatsapp,
                account: AccountId::new(PNID),
                customer: Some(CustomerId::new("32476755376")),
                ids: vec![NetworkItemId::new(failed_wamid)],
                watermark: None,
                status: ReceiptStatus::Failed(FailureReason::RecipientUnavailable),
            },
        ),
        (
            "whatsapp_status_failed_window.json",
            "whatsapp:status:wamid.HBgLMzI0NzY3NTUzNzYVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3MTAA:failed",
            NetworkChange::Receipt {
                network: Network::Whatsapp,
                account: AccountId::new(PNID),
                customer: Some(CustomerId::new("32476755376")),
                ids: vec![NetworkItemId::new(failed_wamid)],
                watermark: None,
                status: ReceiptStatus::Failed(FailureReason::OutsideWindow),
            },
        ),
        (
            "whatsapp_status_failed_unsupported.json",
            "whatsapp:status:wamid.HBgLMzI0NzY3NTUzNzYVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3MTAA:failed",
            NetworkChange::Receipt {
                network: Network::Whatsapp,
                account: AccountId::new(PNID),
                customer: Some(CustomerId::new("32476755376")),
                ids: vec![NetworkItemId::new(failed_wamid)],
                watermark: None,
                status: ReceiptStatus::Failed(FailureReason::UnsupportedMessageType),
            },
        ),
    ];
    for (name, key, change) in cases {
        let parsed = parse_fixture(name);
        assert!(parsed.ignored.is_empty(), "{name}: {:?}", parsed.ignored);
        assert_eq!(
            parsed.envelopes,
            vec![NetworkEnvelope {
                dedupe_key: key.into(),
                change
            }],
            "{name}"
        );
    }
}

/// Known but irrelevant deliveries: no envelope, one note saying why.
#[test]
fn echoes_own_comments_and_reactions_are_notes() {
    let cases = [
        (
            "messenger_echo.json",
            "entry 1234567890321, messaging #0: the Page's own message (echo m_echo_1)",
        ),
        (
            "instagram_dm_echo.json",
            "entry 17841400000000000, messaging #0: the account's own message (echo aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDUyNjkxNjAwMDk4OjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1OTU4MjYwNTQ5MzI0NjI1NgZDZD)",
        ),
        (
            "instagram_own_comment.json",
            "entry 17841400000000000, change #0: the account's own comment (17890000000000001)",
        ),
        (
            "messenger_reaction.json",
            "entry 1234567890321, messaging #0: reaction \"react\" ❤\u{fe0f} to m_our_reply_1 is not handled",
        ),
        (
            "whatsapp_reaction.json",
            "entry 101809759215303, change #0: message #0: reaction 👍 to wamid.OUR_REPLY is not handled",
        ),
    ];
    for (name, note) in cases {
        let parsed = parse_fixture(name);
        assert_eq!(parsed.envelopes, vec![], "{name}");
        assert_eq!(parsed.ignored, vec![note.to_owned()], "{name}");
    }
}

#[test]
fn a_redelivery_yields_the_same_dedupe_keys() {
    for name in [
        "messenger_text.json",
        "messenger_postback.json",
        "messenger_read.json",
        "messenger_delivery.json",
        "page_mention.json",
        "instagram_comment.json",
        "instagram_mention.json",
        "instagram_dm.json",
        "whatsapp_text.json",
        "whatsapp_image.json",
        "whatsapp_status_failed.json",
    ] {
        let keys = |p: Parsed| {
            p.envelopes
                .into_iter()
                .map(|e| e.dedupe_key)
                .collect::<Vec<_>>()
        };
        let first = keys(parse_fixture(name));
        assert!(!first.is_empty(), "{name}");
        assert_eq!(first, keys(parse_fixture(name)), "{name}");
    }
}

#[test]
fn two_messages_of_one_whatsapp_customer_share_a_conversation_key() {
    let parsed = parse_fixture("whatsapp_text.json");
    let keys: Vec<String> = parsed
        .envelopes
        .iter()
        .map(|e| match &e.change {
            NetworkChange::New { item } => item.conversation_key(),
            other => panic!("expected New, got {other:?}"),
        })
        .collect();
    assert_eq!(keys, vec!["whatsapp:10634295353625:dm:491234567890"; 2]);
    assert_ne!(
        parsed.envelopes[0].dedupe_key,
        parsed.envelopes[1].dedupe_key
    );
}

#[test]
fn messenger_events_as_changes_and_standby_parse_like_messaging() {
    let value = r#"{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":"1700000000000","message":{"mid":"m_1","text":"hi"}}"#;
    let as_change = format!(
        r#"{{"object":"page","entry":[{{"id":1,"time":1,"changes":[{{"field":"messages","value":{value}}}]}}]}}"#
    );
    let as_standby = format!(
        r#"{{"object":"page","entry":[{{"id":"1","time":1700000000001,"standby":[{value}]}}]}}"#
    );
    for body in [as_change, as_standby] {
        let parsed = parse(body.as_bytes()).expect("parses");
        assert!(parsed.ignored.is_empty(), "{:?}", parsed.ignored);
        assert_eq!(parsed.envelopes.len(), 1);
        assert_eq!(parsed.envelopes[0].dedupe_key, "facebook:msg:m_1");
        match &parsed.envelopes[0].change {
            NetworkChange::New { item } => {
                assert_eq!(item.created_at, millis(1700000000000));
                assert_eq!(item.customer.id, CustomerId::new("2"));
                assert_eq!(item.account, AccountId::new("1"));
            }
            other => panic!("expected New, got {other:?}"),
        }
    }
}

#[test]
fn odd_messaging_and_whatsapp_deliveries_are_notes() {
    let page = |ev: &str| {
        format!(r#"{{"object":"page","entry":[{{"id":"1","time":1,"messaging":[{ev}]}}]}}"#)
    };
    let wa = |value: &str| {
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"9","changes":[{{"field":"messages","value":{value}}}]}}]}}"#
        )
    };
    let meta = r#""metadata":{"phone_number_id":"5"}"#;
    let cases: Vec<(&str, String, &str)> = vec![
        ("optin", page(r#"{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"optin":{"ref":"x"}}"#),
         "entry 1, messaging #0: `optin` event is not handled"),
        ("no sender", page(r#"{"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"m","text":"x"}}"#),
         "entry 1, messaging #0: `message` event without a sender"),
        ("page writes without is_echo", page(r#"{"sender":{"id":"1"},"recipient":{"id":"2"},"timestamp":1,"message":{"mid":"m","text":"x"}}"#),
         "entry 1, messaging #0: the Page's own message (echo m)"),
        ("empty message", page(r#"{"sender":{"id":"2"},"timestamp":1,"message":{"mid":"m"}}"#),
         "entry 1, messaging #0: message m has neither text nor attachments"),
        ("read without watermark", page(r#"{"sender":{"id":"2"},"timestamp":1,"read":{}}"#),
         "entry 1, messaging #0: read receipt without a watermark or mid"),
        ("no from at all", wa(&format!(r#"{{{meta},"messages":[{{"id":"wamid.1","timestamp":"1","type":"text","text":{{"body":"x"}}}}]}}"#)),
         "entry 9, change #0: message #0: message wamid.1 without `from` or `from_user_id`"),
        ("unsupported", wa(&format!(r#"{{{meta},"messages":[{{"from":"4","id":"wamid.2","timestamp":"1","type":"unsupported","errors":[{{"code":131051,"title":"Message type unknown","error_data":{{"details":"Message type is currently not supported."}}}}]}}]}}"#)),
         "entry 9, change #0: message #0: unsupported message wamid.2 is not handled (131051 (Message type unknown: Message type is currently not supported.))"),
        ("system", wa(&format!(r#"{{{meta},"messages":[{{"from":"4","id":"wamid.3","timestamp":"1","type":"system","system":{{"body":"User A changed from 4 to 5","type":"user_changed_number"}}}}]}}"#)),
         "entry 9, change #0: message #0: system message wamid.3 is not handled (User A changed from 4 to 5)"),
        ("no metadata", wa(r#"{"messages":[{"from":"4","id":"wamid.4","timestamp":"1","type":"text","text":{"body":"x"}}]}"#),
         "entry 9, change #0: 1 messages and 0 statuses without metadata.phone_number_id"),
        ("other field", r#"{"object":"whatsapp_business_account","entry":[{"id":"9","changes":[{"field":"message_template_status_update","value":{}}]}]}"#.to_owned(),
         r#"entry 9, change #0: field "message_template_status_update" is not handled"#),
    ];
    for (name, body, note) in cases {
        let parsed = parse(body.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(parsed.envelopes, vec![], "{name}");
        assert_eq!(parsed.ignored, vec![note.to_owned()], "{name}");
    }
}

#[test]
fn other_whatsapp_failures_are_rejections_with_title_and_details() {
    let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"9","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"5"},"statuses":[{"id":"wamid.9","status":"failed","timestamp":"1","recipient_user_id":"US.1","errors":[{"code":131053,"title":"Media upload error","error_data":{"details":"Unsupported file type"}}]}]}}]}]}"#;
    let parsed = parse(body.as_bytes()).expect("parses");
    match &parsed.envelopes[..] {
        [
            NetworkEnvelope {
                change:
                    NetworkChange::Receipt {
                        customer, status, ..
                    },
                ..
            },
        ] => {
            assert_eq!(customer, &Some(CustomerId::new("US.1")));
            assert_eq!(
                status,
                &ReceiptStatus::Failed(FailureReason::Rejected(
                    "Media upload error: Unsupported file type".into()
                ))
            );
        }
        other => panic!("{other:?}"),
    }
}
