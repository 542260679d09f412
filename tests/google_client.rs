//! The YouTube and Business Profile clients against wiremock fakes speaking Google's formats.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;
use switchboard::core::{AccountId, FailureReason, NetworkChange, NetworkItemId};
use switchboard::networks::google::{
    BusinessBases, BusinessClient, CommentStatus, GoogleError, ModerationFilter, ModerationStatus,
    YoutubeClient, review_changes, youtube_changes,
};
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "ya29.a0Af-secret-access-token";
const CHANNEL: &str = "UC_x5XG1OV2P6uZZ5FSM9Ttw";

fn token() -> SecretString {
    SecretString::from(TOKEN)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("http client")
}

async fn youtube() -> (MockServer, YoutubeClient) {
    let server = MockServer::start().await;
    let client =
        YoutubeClient::new(http(), &format!("{}/youtube/v3", server.uri())).expect("base url");
    (server, client)
}

async fn business() -> (MockServer, BusinessClient) {
    let server = MockServer::start().await;
    let bases = BusinessBases {
        account_management: format!("{}/am/v1", server.uri()),
        business_information: format!("{}/bi/v1", server.uri()),
        reviews: format!("{}/v4", server.uri()),
    };
    let client = BusinessClient::new(http(), &bases).expect("base urls");
    (server, client)
}

fn bearer() -> wiremock::matchers::HeaderExactMatcher {
    header("authorization", format!("Bearer {TOKEN}").as_str())
}

/// Every request the fake saw kept the token out of its URL.
async fn token_never_in_urls(server: &MockServer) {
    for request in server.received_requests().await.expect("recording on") {
        assert!(
            !request.url.as_str().contains(TOKEN),
            "token in {}",
            request.url
        );
    }
}

fn google_error(code: u16, status: &str, reason: &str, message: &str) -> serde_json::Value {
    json!({"error": {
        "code": code,
        "message": message,
        "errors": [{"message": message, "domain": "youtube.quota", "reason": reason}],
        "status": status
    }})
}

fn top_comment(
    id: &str,
    author: &str,
    text: &str,
    published: &str,
    status: &str,
) -> serde_json::Value {
    json!({
        "kind": "youtube#comment",
        "etag": "e1",
        "id": id,
        "snippet": {
            "channelId": CHANNEL,
            "videoId": "dQw4w9WgXcQ",
            "textDisplay": text,
            "textOriginal": text,
            "authorDisplayName": format!("@{author}"),
            "authorProfileImageUrl": "https://yt3.ggpht.com/a",
            "authorChannelUrl": format!("http://www.youtube.com/@{author}"),
            "authorChannelId": {"value": author},
            "canRate": true,
            "viewerRating": "none",
            "likeCount": 0,
            "moderationStatus": status,
            "publishedAt": published,
            "updatedAt": published
        }
    })
}

fn thread(top: serde_json::Value, replies: Vec<serde_json::Value>) -> serde_json::Value {
    let id = top["id"].clone();
    let mut t = json!({
        "kind": "youtube#commentThread",
        "etag": "t1",
        "id": id,
        "snippet": {
            "channelId": CHANNEL,
            "videoId": "dQw4w9WgXcQ",
            "topLevelComment": top,
            "canReply": true,
            "totalReplyCount": replies.len(),
            "isPublic": true
        }
    });
    if !replies.is_empty() {
        t["replies"] = json!({ "comments": replies });
    }
    t
}

#[tokio::test]
async fn my_channel_reads_the_mine_listing() {
    let (server, client) = youtube().await;
    Mock::given(method("GET"))
        .and(path("/youtube/v3/channels"))
        .and(query_param("part", "id,snippet"))
        .and(query_param("mine", "true"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "youtube#channelListResponse",
            "etag": "x",
            "pageInfo": {"totalResults": 1, "resultsPerPage": 5},
            "items": [{
                "kind": "youtube#channel",
                "etag": "y",
                "id": CHANNEL,
                "snippet": {"title": "Google for Developers", "description": "", "customUrl": "@googledevelopers",
                            "publishedAt": "2007-08-23T00:34:43Z"}
            }]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let channel = client.my_channel(&token()).await.expect("channel");
    assert_eq!(channel.id, AccountId::new(CHANNEL));
    assert_eq!(channel.title, "Google for Developers");
    token_never_in_urls(&server).await;
}

#[tokio::test]
async fn my_channel_without_items_is_a_clear_permanent_error() {
    let (server, client) = youtube().await;
    Mock::given(method("GET"))
        .and(path("/youtube/v3/channels"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "youtube#channelListResponse",
            "etag": "x",
            "pageInfo": {"totalResults": 0, "resultsPerPage": 5}
        })))
        .mount(&server)
        .await;
    let error = client.my_channel(&token()).await.expect_err("no channel");
    assert_eq!(
        error,
        GoogleError::Permanent(FailureReason::Other(
            "this Google account has no YouTube channel".into()
        ))
    );
}

#[tokio::test]
async fn comment_threads_page_through_and_feed_youtube_changes() {
    let (server, client) = youtube().await;
    let account = AccountId::new(CHANNEL);
    // Page 1: a new comment with our own reply and a customer reply.
    Mock::given(method("GET"))
        .and(path("/youtube/v3/commentThreads"))
        .and(query_param("part", "snippet,replies"))
        .and(query_param("allThreadsRelatedToChannelId", CHANNEL))
        .and(query_param("maxResults", "100"))
        .and(query_param("order", "time"))
        .and(query_param("textFormat", "plainText"))
        .and(query_param_is_missing("moderationStatus"))
        .and(query_param_is_missing("pageToken"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "youtube#commentThreadListResponse",
            "etag": "p1",
            "nextPageToken": "QURTSl9pM_page2",
            "pageInfo": {"totalResults": 2, "resultsPerPage": 100},
            "items": [thread(
                top_comment("UgzNEW", "UCviewer", "Great video", "2026-08-01T12:30:00Z", "published"),
                vec![
                    json!({"kind": "youtube#comment", "id": "UgzNEW.r1", "snippet": {
                        "parentId": "UgzNEW", "videoId": "dQw4w9WgXcQ", "textOriginal": "thanks!",
                        "authorDisplayName": "@owner", "authorChannelId": {"value": CHANNEL},
                        "publishedAt": "2026-08-01T12:40:00Z", "updatedAt": "2026-08-01T12:40:00Z"}}),
                    json!({"kind": "youtube#comment", "id": "UgzNEW.r2", "snippet": {
                        "parentId": "UgzNEW", "videoId": "dQw4w9WgXcQ", "textOriginal": "you're welcome",
                        "authorDisplayName": "@viewer", "authorChannelId": {"value": "UCviewer"},
                        "publishedAt": "2026-08-01T12:50:00Z", "updatedAt": "2026-08-01T12:50:00Z"}}),
                ],
            )]
        })))
        .expect(1)
        .mount(&server)
        .await;
    // Page 2: an old thread, below the mark.
    Mock::given(method("GET"))
        .and(path("/youtube/v3/commentThreads"))
        .and(query_param("pageToken", "QURTSl9pM_page2"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "youtube#commentThreadListResponse",
            "etag": "p2",
            "pageInfo": {"totalResults": 2, "resultsPerPage": 100},
            "items": [thread(
                top_comment("UgzOLD", "UCother", "first!", "2026-07-01T08:00:00Z", "published"),
                vec![],
            )]
        })))
        .expect(1)
        .mount(&server)
        .await;

    let mark = chrono::DateTime::parse_from_rfc3339("2026-08-01T12:00:00Z")
        .expect("date")
        .with_timezone(&chrono::Utc);
    let first = client
        .comment_threads(&token(), &account, ModerationFilter::Published, None)
        .await
        .expect("page 1");
    assert_eq!(first.next_page_token.as_deref(), Some("QURTSl9pM_page2"));
    assert_eq!(first.threads[0].replies.len(), 2);
    let second = client
        .comment_threads(
            &token(),
            &account,
            ModerationFilter::Published,
            first.next_page_token.as_deref(),
        )
        .await
        .expect("page 2");
    assert_eq!(second.next_page_token, None);

    let titles = client
        .video_titles(&token(), &[])
        .await
        .expect("no ids, no call");
    let all: Vec<_> = first.threads.into_iter().chain(second.threads).collect();
    let poll = youtube_changes(&account, &all, &Default::default(), &titles, Some(mark));
    let keys: Vec<&str> = poll
        .envelopes
        .iter()
        .map(|e| e.dedupe_key.as_str())
        .collect();
    assert_eq!(
        keys,
        ["youtube:comment:UgzNEW", "youtube:comment:UgzNEW.r2"]
    );
    assert!(poll.reached_high_water);
    token_never_in_urls(&server).await;
}

#[tokio::test]
async fn held_for_review_threads_are_asked_for_and_marked_held() {
    let (server, client) = youtube().await;
    Mock::given(method("GET"))
        .and(path("/youtube/v3/commentThreads"))
        .and(query_param("moderationStatus", "heldForReview"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "youtube#commentThreadListResponse",
            "etag": "h",
            "pageInfo": {"totalResults": 1, "resultsPerPage": 100},
            "items": [thread(
                top_comment("UgzHELD", "UCspammy", "buy now http://x", "2026-08-01T12:05:00Z", "heldForReview"),
                vec![],
            )]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let page = client
        .comment_threads(
            &token(),
            &AccountId::new(CHANNEL),
            ModerationFilter::HeldForReview,
            None,
        )
        .await
        .expect("held page");
    assert_eq!(
        page.threads[0].top.status,
        Some(CommentStatus::HeldForReview)
    );
    let poll = youtube_changes(
        &AccountId::new(CHANNEL),
        &page.threads,
        &Default::default(),
        &Default::default(),
        None,
    );
    let NetworkChange::New { item } = &poll.envelopes[0].change else {
        panic!("expected a new item");
    };
    assert_eq!(item.context.held, Some(switchboard::core::Held::ForReview));
}

#[tokio::test]
async fn replies_and_video_titles_are_listed() {
    let (server, client) = youtube().await;
    Mock::given(method("GET"))
        .and(path("/youtube/v3/comments"))
        .and(query_param("part", "snippet"))
        .and(query_param("parentId", "UgzNEW"))
        .and(query_param("maxResults", "100"))
        .and(query_param("textFormat", "plainText"))
        .and(query_param("pageToken", "next"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "youtube#commentListResponse",
            "etag": "c",
            "items": [{"kind": "youtube#comment", "id": "UgzNEW.r9", "snippet": {
                "parentId": "UgzNEW", "textDisplay": "late reply", "textOriginal": "late reply",
                "authorDisplayName": "@late", "authorChannelId": {"value": "UClate"},
                "publishedAt": "2026-08-02T09:00:00Z", "updatedAt": "2026-08-02T09:00:00Z"}}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/youtube/v3/videos"))
        .and(query_param("part", "snippet"))
        .and(query_param("id", "dQw4w9WgXcQ,abc123"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "youtube#videoListResponse",
            "etag": "v",
            "items": [{"kind": "youtube#video", "etag": "v1", "id": "dQw4w9WgXcQ",
                       "snippet": {"title": "Never Gonna Give You Up", "channelId": CHANNEL}}],
            "pageInfo": {"totalResults": 1, "resultsPerPage": 1}
        })))
        .expect(1)
        .mount(&server)
        .await;

    let page = client
        .replies(&token(), &NetworkItemId::new("UgzNEW"), Some("next"))
        .await
        .expect("replies");
    assert_eq!(page.comments.len(), 1);
    assert_eq!(page.comments[0].text, "late reply");
    assert_eq!(
        page.comments[0].parent_id,
        Some(NetworkItemId::new("UgzNEW"))
    );
    let titles = client
        .video_titles(
            &token(),
            &["dQw4w9WgXcQ".into(), "abc123".into(), "dQw4w9WgXcQ".into()],
        )
        .await
        .expect("titles");
    assert_eq!(
        titles.get("dQw4w9WgXcQ").map(String::as_str),
        Some("Never Gonna Give You Up")
    );
    assert_eq!(titles.len(), 1);
}

#[tokio::test]
async fn video_titles_go_fifty_ids_at_a_time() {
    let (server, client) = youtube().await;
    Mock::given(method("GET"))
        .and(path("/youtube/v3/videos"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []})))
        .expect(2)
        .mount(&server)
        .await;
    let ids: Vec<String> = (0..51).map(|i| format!("vid{i}")).collect();
    client.video_titles(&token(), &ids).await.expect("titles");
    let requests = server.received_requests().await.expect("recording on");
    let counts: Vec<usize> = requests
        .iter()
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "id")
                .map(|(_, v)| v.split(',').count())
                .unwrap_or(0)
        })
        .collect();
    assert_eq!(counts, [50, 1]);
}

#[tokio::test]
async fn insert_reply_posts_the_snippet_and_returns_the_new_id() {
    let (server, client) = youtube().await;
    Mock::given(method("POST"))
        .and(path("/youtube/v3/comments"))
        .and(query_param("part", "snippet"))
        .and(bearer())
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"snippet": {
            "parentId": "UgzDE2tasfmrYLyNkGt4AaABAg",
            "textOriginal": "Thanks for watching! <3 & more"
        }})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "youtube#comment",
            "etag": "n",
            "id": "UgzDE2tasfmrYLyNkGt4AaABAg.9xYzNEW",
            "snippet": {"parentId": "UgzDE2tasfmrYLyNkGt4AaABAg", "textOriginal": "Thanks for watching! <3 & more",
                        "authorChannelId": {"value": CHANNEL}, "publishedAt": "2026-08-01T13:00:00Z",
                        "updatedAt": "2026-08-01T13:00:00Z"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let id = client
        .insert_reply(
            &token(),
            &NetworkItemId::new("UgzDE2tasfmrYLyNkGt4AaABAg"),
            "Thanks for watching! <3 & more",
        )
        .await
        .expect("reply");
    assert_eq!(id.as_str(), "UgzDE2tasfmrYLyNkGt4AaABAg.9xYzNEW");
    token_never_in_urls(&server).await;
}

#[tokio::test]
async fn set_moderation_status_and_delete_answer_204() {
    let (server, client) = youtube().await;
    Mock::given(method("POST"))
        .and(path("/youtube/v3/comments/setModerationStatus"))
        .and(query_param("id", "Ugz1,Ugz2"))
        .and(query_param("moderationStatus", "rejected"))
        .and(query_param("banAuthor", "true"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/youtube/v3/comments/setModerationStatus"))
        .and(query_param("id", "Ugz3"))
        .and(query_param("moderationStatus", "published"))
        .and(query_param_is_missing("banAuthor"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/youtube/v3/comments"))
        .and(query_param("id", "Ugz1.ours"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let ids = [NetworkItemId::new("Ugz1"), NetworkItemId::new("Ugz2")];
    client
        .set_moderation_status(&token(), &ids, ModerationStatus::Rejected, true)
        .await
        .expect("reject and ban");
    client
        .set_moderation_status(
            &token(),
            &[NetworkItemId::new("Ugz3")],
            ModerationStatus::Published,
            false,
        )
        .await
        .expect("approve");
    // Banning without rejecting is refused before any call.
    let refused = client
        .set_moderation_status(&token(), &ids, ModerationStatus::HeldForReview, true)
        .await
        .expect_err("ban needs rejected");
    assert!(matches!(
        refused,
        GoogleError::Permanent(FailureReason::Other(_))
    ));
    client
        .delete_comment(&token(), &NetworkItemId::new("Ugz1.ours"))
        .await
        .expect("delete");
    assert_eq!(server.received_requests().await.expect("on").len(), 3);
}

#[tokio::test]
async fn quota_unauthorized_and_server_errors_are_classified() {
    let (server, client) = youtube().await;
    Mock::given(method("POST"))
        .and(path("/youtube/v3/comments"))
        .respond_with(ResponseTemplate::new(403).set_body_json(google_error(
            403,
            "RESOURCE_EXHAUSTED",
            "quotaExceeded",
            "The request cannot be completed because you have exceeded your quota.",
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/youtube/v3/channels"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "code": 401,
            "message": "Request had invalid authentication credentials.",
            "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError",
                        "location": "Authorization", "locationType": "header"}],
            "status": "UNAUTHENTICATED"
        }})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/youtube/v3/comments"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("Retry-After", "12")
                .set_body_string("<html>backend unavailable</html>"),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/youtube/v3/comments"))
        .respond_with(ResponseTemplate::new(403).set_body_json(google_error(
            403,
            "PERMISSION_DENIED",
            "forbidden",
            "The comment could not be deleted.",
        )))
        .mount(&server)
        .await;

    let quota = client
        .insert_reply(&token(), &NetworkItemId::new("Ugz1"), "hi")
        .await
        .expect_err("quota");
    assert_eq!(quota, GoogleError::QuotaExceeded);
    let unauthorized = client.my_channel(&token()).await.expect_err("401");
    assert_eq!(unauthorized, GoogleError::Unauthorized);
    let transient = client
        .replies(&token(), &NetworkItemId::new("Ugz1"), None)
        .await
        .expect_err("503");
    assert_eq!(
        transient,
        GoogleError::Transient {
            retry_after: Some(Duration::from_secs(12))
        }
    );
    let forbidden = client
        .delete_comment(&token(), &NetworkItemId::new("Ugz1"))
        .await
        .expect_err("403");
    assert_eq!(
        forbidden,
        GoogleError::Permanent(FailureReason::PermissionDenied)
    );
    for error in [&quota, &unauthorized, &transient, &forbidden] {
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(TOKEN) && !shown.contains("http"), "{shown}");
    }
}

#[tokio::test]
async fn an_unreachable_server_is_transient_and_leaks_no_url() {
    // Bind and drop a listener so the port refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let client =
        YoutubeClient::new(http(), &format!("http://127.0.0.1:{port}/youtube/v3")).expect("base");
    let error = client
        .replies(
            &token(),
            &NetworkItemId::new("UgzSECRETID"),
            Some("pagetok"),
        )
        .await
        .expect_err("refused");
    assert_eq!(error, GoogleError::Transient { retry_after: None });
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("127.0.0.1") && !shown.contains("UgzSECRETID"));
}

fn review_json(
    id: &str,
    created: &str,
    updated: &str,
    stars: &str,
    comment: Option<&str>,
) -> serde_json::Value {
    let mut r = json!({
        "name": format!("accounts/111/locations/222/reviews/{id}"),
        "reviewId": id,
        "reviewer": {"profilePhotoUrl": "https://lh3.googleusercontent.com/a", "displayName": "Jane D.", "isAnonymous": false},
        "starRating": stars,
        "createTime": created,
        "updateTime": updated
    });
    if let Some(comment) = comment {
        r["comment"] = json!(comment);
    }
    r
}

#[tokio::test]
async fn accounts_and_locations_are_paged() {
    let (server, client) = business().await;
    Mock::given(method("GET"))
        .and(path("/am/v1/accounts"))
        .and(query_param("pageSize", "20"))
        .and(query_param_is_missing("pageToken"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "accounts": [{"name": "accounts/111", "accountName": "Jane's Café", "type": "PERSONAL",
                          "role": "PRIMARY_OWNER", "verificationState": "UNVERIFIED", "vettedState": "NOT_VETTED"}],
            "nextPageToken": "acc2"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/am/v1/accounts"))
        .and(query_param("pageToken", "acc2"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "accounts": [{"name": "accounts/333", "accountName": "Group", "type": "LOCATION_GROUP"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bi/v1/accounts/111/locations"))
        .and(query_param("readMask", "name,title,storeCode,metadata"))
        .and(query_param("pageSize", "100"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "locations": [{"name": "locations/222", "title": "Jane's Café Downtown", "storeCode": "DT-1",
                           "metadata": {"mapsUri": "https://maps.google.com/maps?cid=1", "placeId": "ChIJ",
                                        "newReviewUri": "https://search.google.com/local/writereview?placeid=ChIJ"}}],
            "totalSize": 1
        })))
        .expect(1)
        .mount(&server)
        .await;

    let first = client.accounts(&token(), None).await.expect("accounts");
    assert_eq!(first.accounts[0].name, "accounts/111");
    assert_eq!(first.accounts[0].kind.as_deref(), Some("PERSONAL"));
    let second = client
        .accounts(&token(), first.next_page_token.as_deref())
        .await
        .expect("page 2");
    assert_eq!(second.accounts[0].name, "accounts/333");
    assert_eq!(second.next_page_token, None);

    let locations = client
        .locations(&token(), "accounts/111", None)
        .await
        .expect("locations");
    let location = &locations.locations[0];
    assert_eq!(location.title, "Jane's Café Downtown");
    assert_eq!(location.store_code.as_deref(), Some("DT-1"));
    assert_eq!(
        location.reviews_parent("accounts/111").as_deref(),
        Some("accounts/111/locations/222")
    );
    token_never_in_urls(&server).await;
}

/// `all_accounts` and `all_locations` follow `nextPageToken` to the last page, sending each
/// token back as `pageToken` with the same page size (and `readMask`).
#[tokio::test]
async fn every_page_of_accounts_and_locations_is_read() {
    let (server, client) = business().await;
    let accounts_page = |token: Option<&str>, names: &[&str], next: Option<&str>| {
        let mut body = json!({
            "accounts": names.iter().map(|n| json!({"name": n, "accountName": format!("Account {n}"),
                "type": "LOCATION_GROUP", "role": "OWNER"})).collect::<Vec<_>>()
        });
        if let Some(next) = next {
            body["nextPageToken"] = json!(next);
        }
        let m = Mock::given(method("GET"))
            .and(path("/am/v1/accounts"))
            .and(query_param("pageSize", "20"))
            .and(bearer());
        let m = match token {
            Some(t) => m.and(query_param("pageToken", t)),
            None => m.and(query_param_is_missing("pageToken")),
        };
        m.respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
    };
    accounts_page(None, &["accounts/1"], Some("acc-p2"))
        .mount(&server)
        .await;
    accounts_page(Some("acc-p2"), &["accounts/2"], Some("acc-p3"))
        .mount(&server)
        .await;
    // The last page: an empty token counts as none.
    Mock::given(method("GET"))
        .and(path("/am/v1/accounts"))
        .and(query_param("pageToken", "acc-p3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "accounts": [{"name": "accounts/3", "type": "PERSONAL"}], "nextPageToken": ""
        })))
        .expect(1)
        .mount(&server)
        .await;
    let all = client.all_accounts(&token()).await.expect("accounts");
    let names: Vec<&str> = all.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["accounts/1", "accounts/2", "accounts/3"]);

    let location =
        |id: u32| json!({"name": format!("locations/{id}"), "title": format!("Shop {id}")});
    Mock::given(method("GET"))
        .and(path("/bi/v1/accounts/1/locations"))
        .and(query_param("readMask", "name,title,storeCode,metadata"))
        .and(query_param("pageSize", "100"))
        .and(query_param_is_missing("pageToken"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "locations": (1..=100).map(location).collect::<Vec<_>>(),
            "nextPageToken": "loc-p2", "totalSize": 101
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bi/v1/accounts/1/locations"))
        .and(query_param("readMask", "name,title,storeCode,metadata"))
        .and(query_param("pageSize", "100"))
        .and(query_param("pageToken", "loc-p2"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "locations": [location(101)], "totalSize": 101
        })))
        .expect(1)
        .mount(&server)
        .await;
    let all = client
        .all_locations(&token(), "accounts/1")
        .await
        .expect("locations");
    assert_eq!(all.len(), 101);
    assert_eq!(
        (all[0].title.as_str(), all[100].name.as_str()),
        ("Shop 1", "locations/101")
    );
    token_never_in_urls(&server).await;
}

/// A listing whose pages never end is read up to the bound, not forever; an error on a
/// later page is the listing's error.
#[tokio::test]
async fn an_endless_listing_stops_at_the_page_bound() {
    use switchboard::networks::google::business::MAX_LISTING_PAGES;
    let (server, client) = business().await;
    Mock::given(method("GET"))
        .and(path("/bi/v1/accounts/1/locations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "locations": [{"name": "locations/7", "title": "Again"}], "nextPageToken": "same"
        })))
        .expect(u64::from(MAX_LISTING_PAGES))
        .mount(&server)
        .await;
    let all = client
        .all_locations(&token(), "accounts/1")
        .await
        .expect("locations");
    assert_eq!(all.len(), MAX_LISTING_PAGES as usize);

    Mock::given(method("GET"))
        .and(path("/am/v1/accounts"))
        .and(query_param_is_missing("pageToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "accounts": [{"name": "accounts/1"}], "nextPageToken": "p2"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/am/v1/accounts"))
        .and(query_param("pageToken", "p2"))
        .respond_with(ResponseTemplate::new(503).set_body_json(google_error(
            503,
            "UNAVAILABLE",
            "backendError",
            "The service is currently unavailable.",
        )))
        .mount(&server)
        .await;
    assert!(matches!(
        client.all_accounts(&token()).await,
        Err(GoogleError::Transient { .. })
    ));
}

#[tokio::test]
async fn reviews_are_listed_newest_update_first_and_become_envelopes() {
    let (server, client) = business().await;
    Mock::given(method("GET"))
        .and(path("/v4/accounts/111/locations/222/reviews"))
        .and(query_param("pageSize", "50"))
        .and(query_param("orderBy", "updateTime desc"))
        .and(query_param_is_missing("pageToken"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "reviews": [
                review_json("AbNew", "2026-08-01T12:30:00Z", "2026-08-01T12:30:00Z", "FIVE", None),
                review_json("AbEdit", "2026-07-01T10:00:00Z", "2026-08-01T12:20:00.5Z", "TWO", Some("Changed my mind")),
            ],
            "averageRating": 4.3,
            "totalReviewCount": 187,
            "nextPageToken": "rev2"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v4/accounts/111/locations/222/reviews"))
        .and(query_param("pageToken", "rev2"))
        .and(query_param("orderBy", "updateTime desc"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "reviews": [{
                "name": "accounts/111/locations/222/reviews/AbOld",
                "reviewId": "AbOld",
                "reviewer": {"displayName": "A Google User", "isAnonymous": true},
                "starRating": "FOUR",
                "comment": "Friendly staff, slow checkout.",
                "createTime": "2026-06-01T10:00:00Z",
                "updateTime": "2026-06-01T10:00:00Z",
                "reviewReply": {"comment": "Thanks!", "updateTime": "2026-06-02T09:00:00Z"}
            }],
            "averageRating": 4.3,
            "totalReviewCount": 187
        })))
        .expect(1)
        .mount(&server)
        .await;

    let location = "accounts/111/locations/222";
    let first = client
        .reviews(&token(), location, None)
        .await
        .expect("page 1");
    assert_eq!(first.total_review_count, Some(187));
    assert_eq!(first.reviews[0].rating, Some(5));
    assert_eq!(first.reviews[0].comment, None);
    let second = client
        .reviews(&token(), location, first.next_page_token.as_deref())
        .await
        .expect("page 2");
    assert!(second.reviews[0].anonymous);
    assert!(second.reviews[0].reply.is_some());

    let mark = chrono::DateTime::parse_from_rfc3339("2026-08-01T12:00:00Z")
        .expect("date")
        .with_timezone(&chrono::Utc);
    let all: Vec<_> = first.reviews.into_iter().chain(second.reviews).collect();
    let poll = review_changes(&AccountId::new(location), "Jane's Café", &all, Some(mark));
    let keys: Vec<&str> = poll
        .envelopes
        .iter()
        .map(|e| e.dedupe_key.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "google:review:AbEdit:edit:2026-08-01T12:20:00.500Z",
            "google:review:AbNew"
        ]
    );
    assert!(poll.reached_high_water);
    let NetworkChange::New { item } = &poll.envelopes[1].change else {
        panic!("expected a new review");
    };
    assert_eq!(item.text, "");
    assert_eq!(item.context.rating, Some(5));

    let raw = server.received_requests().await.expect("on");
    assert!(
        raw[0]
            .url
            .query()
            .unwrap_or_default()
            .contains("orderBy=updateTime%20desc"),
        "{:?}",
        raw[0].url.query()
    );
}

#[tokio::test]
async fn review_replies_are_put_and_deleted() {
    let (server, client) = business().await;
    Mock::given(method("PUT"))
        .and(path("/v4/accounts/111/locations/222/reviews/AbFvOqm/reply"))
        .and(bearer())
        .and(body_json(
            json!({"comment": "Thank you for the feedback, Jane!"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "comment": "Thank you for the feedback, Jane!",
            "updateTime": "2026-08-02T09:00:00Z"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v4/accounts/111/locations/222/reviews/AbFvOqm/reply"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;

    let review = "accounts/111/locations/222/reviews/AbFvOqm";
    client
        .put_reply(&token(), review, "Thank you for the feedback, Jane!")
        .await
        .expect("reply");
    client.delete_reply(&token(), review).await.expect("delete");
    // A name that is not a review never reaches the network.
    let bad = client
        .put_reply(&token(), "accounts/111/locations/222/../../x", "hi")
        .await
        .expect_err("bad name");
    assert!(matches!(bad, GoogleError::Permanent(_)));
    assert_eq!(server.received_requests().await.expect("on").len(), 2);
    token_never_in_urls(&server).await;
}

#[tokio::test]
async fn business_rate_limits_carry_retry_after() {
    let (server, client) = business().await;
    Mock::given(method("GET"))
        .and(path("/v4/accounts/111/locations/222/reviews"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "30")
                .set_body_json(json!({"error": {
                    "code": 429,
                    "message": "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute'.",
                    "status": "RESOURCE_EXHAUSTED"
                }})),
        )
        .mount(&server)
        .await;
    let error = client
        .reviews(&token(), "accounts/111/locations/222", None)
        .await
        .expect_err("429");
    assert_eq!(
        error,
        GoogleError::RateLimited {
            retry_after: Some(Duration::from_secs(30))
        }
    );
}
