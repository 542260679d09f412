//! The weekly report end to end: once its time has come, one round posts the past week's
//! statistics with a PNG chart through Slack's three-step upload (an upload URL for the
//! named file and its length, the bytes POSTed there, the upload completed into the
//! channel with the figures as its comment); a second round, or a second replica, sends
//! nothing more that week.

mod support;

use chrono::{Duration, Utc};
use support::*;
use switchboard::config::ReportConfig;
use switchboard::report::round;

/// The report is due tomorrow at 00:00 UTC, covering the seven days up to then: today's
/// tickets are in it.
fn report_tomorrow() -> ReportConfig {
    let tomorrow = Utc::now().date_naive() + Duration::days(1);
    ReportConfig {
        slack_channel: Some(CHANNEL.into()),
        discord_channel: None,
        weekday: tomorrow.format("%a").to_string().to_lowercase(),
        hour: 0,
        tz: "UTC".into(),
        hours: None,
        font: switchboard::config::DEFAULT_REPORT_FONT.into(),
    }
}

#[tokio::test]
async fn the_weekly_report_posts_figures_and_a_png_chart_through_the_three_step_upload() {
    let config = report_tomorrow();
    let w = World::with(|c| c.report = Some(report_tomorrow())).await;
    assert!(
        w.svc.config.validate().is_empty(),
        "{:?}",
        w.svc.config.validate()
    );
    w.slack_ok().await;
    w.graph_ok().await;
    w.meta_webhook(&comment_webhook("1001_1", "1001", "5001", "Jo", "hello"))
        .await;
    w.meta_webhook(&comment_webhook(
        "1001_2",
        "1001",
        "5002",
        "<!channel>",
        "hi",
    ))
    .await;
    w.settle().await;
    let card = w
        .store
        .card_of(switchboard::core::TicketId(1))
        .await
        .unwrap()
        .unwrap()
        .message;
    w.thread_message("Ev1", "UANA", &card, "1700000500.000100", "Thanks!")
        .await;
    w.settle().await;

    let tomorrow = (Utc::now().date_naive() + Duration::days(1))
        .and_hms_opt(0, 30, 0)
        .expect("time")
        .and_utc();
    // Not due before its time.
    assert_eq!(
        round(&w.svc, &config, "a", tomorrow - Duration::hours(1))
            .await
            .unwrap(),
        None
    );
    // Slack fails once: nothing is marked sent, and the next round tries again.
    wiremock::Mock::given(wiremock::matchers::path("/files.getUploadURLExternal"))
        .respond_with(wiremock::ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.slack)
        .await;
    assert!(round(&w.svc, &config, "a", tomorrow).await.is_err());
    assert_eq!(w.take_slack("/files.getUploadURLExternal").await.len(), 1);
    assert!(
        w.take_slack("/files.completeUploadExternal")
            .await
            .is_empty()
    );
    let sent = round(&w.svc, &config, "a", tomorrow + Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(sent, Some(tomorrow.date_naive()));

    // 1. An upload URL for a named PNG of the right length.
    let asked = w.take_slack("/files.getUploadURLExternal").await;
    assert_eq!(asked.len(), 1);
    let requests = w.slack.received_requests().await.unwrap_or_default();
    let ask = requests
        .iter()
        .rfind(|r| r.url.path() == "/files.getUploadURLExternal")
        .expect("asked");
    let q: std::collections::HashMap<String, String> = ask.url.query_pairs().into_owned().collect();
    assert!(q["filename"].starts_with("switchboard-week-") && q["filename"].ends_with(".png"));
    // 2. The bytes, a valid PNG of that length, without the bot token.
    let upload = requests
        .iter()
        .find(|r| r.url.path() == "/upload/F0REPORT")
        .expect("uploaded");
    assert_eq!(q["length"], upload.body.len().to_string());
    assert!(
        !upload.headers.contains_key("authorization"),
        "no token on the upload URL"
    );
    assert!(!upload.url.as_str().contains("xox"), "{}", upload.url);
    let png = image::load_from_memory_with_format(&upload.body, image::ImageFormat::Png)
        .expect("a valid PNG");
    assert_eq!(
        (png.width(), png.height()),
        (
            switchboard::report::chart::WIDTH,
            switchboard::report::chart::HEIGHT
        )
    );
    w.take_slack("/upload/F0REPORT").await;
    // 3. Completed into the channel, the figures as the comment, customer text inert.
    let done = w.take_slack("/files.completeUploadExternal").await;
    assert_eq!(done.len(), 1);
    let body = &done[0].body;
    assert_eq!(body["channel_id"], CHANNEL, "{body}");
    assert_eq!(body["files"][0]["id"], "F0REPORT");
    let comment = body["initial_comment"].as_str().unwrap_or_default();
    assert!(comment.contains("Weekly report"), "{comment}");
    assert!(
        comment.contains("*Tickets opened:* 2 (Facebook 2"),
        "{comment}"
    );
    assert!(comment.contains("Agent UANA: 1 reply"), "{comment}");
    assert!(comment.contains("Facebook"), "{comment}");

    // Once a week: later rounds, and another replica, send nothing more.
    assert_eq!(
        round(&w.svc, &config, "a", tomorrow + Duration::minutes(20))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        round(&w.svc, &config, "b", tomorrow + Duration::hours(1))
            .await
            .unwrap(),
        None
    );
    assert!(w.take_slack("/files.getUploadURLExternal").await.is_empty());
}

/// The parts of a `multipart/form-data` body: (name, filename, bytes).
fn multipart_parts(content_type: &str, body: &[u8]) -> Vec<(String, Option<String>, Vec<u8>)> {
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .expect("a boundary")
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let text = body;
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + from)
    };
    let mut at = find(text, delimiter.as_bytes(), 0).expect("first delimiter");
    loop {
        let start = at + delimiter.len();
        if text[start..].starts_with(b"--") {
            break;
        }
        let next = find(text, delimiter.as_bytes(), start).expect("next delimiter");
        let part = &text[start + 2..next - 2];
        let split = find(part, b"\r\n\r\n", 0).expect("headers end");
        let headers = String::from_utf8_lossy(&part[..split]).to_string();
        let value = |key: &str| {
            headers
                .split(&format!("{key}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(str::to_string)
        };
        parts.push((
            value("name").expect("a name"),
            value("filename"),
            part[split + 4..].to_vec(),
        ));
        at = next;
    }
    parts
}

#[tokio::test]
async fn on_discord_the_weekly_report_is_a_message_with_the_png_attached() {
    use support::discord::*;
    let mut config = report_tomorrow();
    config.slack_channel = None;
    config.discord_channel = Some(DCHANNEL.into());
    let in_config = config.clone();
    let w = discord_world(move |c| c.report = Some(in_config)).await;
    w.discord_ok("ws://127.0.0.1:9").await;
    w.meta_webhook(&comment_webhook(
        "1001_1",
        "1001",
        "5001",
        "Jo",
        "@everyone hello",
    ))
    .await;
    w.settle().await;
    let tomorrow = (Utc::now().date_naive() + Duration::days(1))
        .and_hms_opt(0, 30, 0)
        .expect("time")
        .and_utc();
    assert!(
        round(&w.svc, &config, "a", tomorrow)
            .await
            .unwrap()
            .is_some()
    );

    let requests = w.discord.received_requests().await.unwrap_or_default();
    let posted: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == format!("/api/v10/channels/{DCHANNEL}/messages"))
        .filter(|r| {
            r.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("multipart/form-data"))
        })
        .collect();
    assert_eq!(posted.len(), 1, "one message with a file");
    let r = posted[0];
    assert!(r.headers.contains_key("authorization"));
    let parts = multipart_parts(r.headers["content-type"].to_str().expect("header"), &r.body);
    let payload = parts
        .iter()
        .find(|(name, _, _)| name == "payload_json")
        .expect("payload_json");
    let payload: serde_json::Value = serde_json::from_slice(&payload.2).expect("json");
    let content = payload["content"].as_str().unwrap_or_default();
    assert!(content.contains("Weekly report"), "{content}");
    assert_eq!(payload["allowed_mentions"]["parse"], serde_json::json!([]));
    // A retry after a lost answer cannot post it twice.
    assert_eq!(payload["enforce_nonce"], true);
    assert!(
        payload["nonce"]
            .as_str()
            .is_some_and(|n| n.starts_with("report-"))
    );
    let file = parts
        .iter()
        .find(|(name, _, _)| name == "files[0]")
        .expect("files[0]");
    let filename = file.1.clone().expect("a filename");
    assert_eq!(payload["attachments"][0]["filename"], filename.as_str());
    assert_eq!(payload["attachments"][0]["id"], 0);
    image::load_from_memory_with_format(&file.2, image::ImageFormat::Png).expect("a valid PNG");
}
