//! The TikTok API for Business calls a connected account needs (network-apis.md §6, §11.5.4):
//! who a token belongs to, the account's recent videos, their comments and replies, and
//! replying, hiding and deleting. One HTTP call per method; paging, budgets and retries
//! belong to the caller.
//!
//! Every call sends the access token in the `Access-Token` header (no `Authorization`, no
//! `Bearer`: TikTok refuses those with 40105), marked sensitive; it is never put in a URL.
//! Answers are envelopes, `{"code":0,"message":"OK","request_id":"…","data":{…}}`: a non-zero
//! `code` is a failure even with HTTP 200 ([`super::error::classify_code`]).

use chrono::{DateTime, Utc};
use reqwest::Method;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use url::Url;

use super::error::{TiktokError, classify_code, classify_status, retry_after, transport};
use crate::core::FailureReason;

/// The API root (§6).
pub const DEFAULT_API_BASE: &str = "https://business-api.tiktok.com/open_api/v1.3";

/// The header TikTok reads the access token from.
pub const ACCESS_TOKEN_HEADER: &str = "Access-Token";

/// Comments per page of `business/comment/list/` and `…/reply/list/`: the API's maximum.
pub const MAX_COMMENTS_PER_PAGE: u32 = 30;

/// Ids per `comment_ids` filter of `business/comment/list/`: the API's maximum.
pub const MAX_COMMENT_IDS_PER_CALL: usize = 30;

/// Videos per page of `business/video/list/`: the API's maximum.
pub const MAX_VIDEOS_PER_PAGE: u32 = 20;

/// A configured base URL that API paths cannot be appended to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid TikTok API base URL {url:?}: {reason}")]
pub struct BaseUrlError {
    url: String,
    reason: String,
}

/// The connected TikTok account, as `business/get/` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The `business_id`: the `open_id` of the OAuth grant.
    pub id: String,
    pub username: Option<String>,
    pub display_name: Option<String>,
}

impl Account {
    /// What cards and listings call it: its display name, else `@username`, else its id.
    pub fn name(&self) -> String {
        self.display_name
            .clone()
            .or_else(|| self.username.as_ref().map(|u| format!("@{u}")))
            .unwrap_or_else(|| self.id.clone())
    }
}

/// One of the account's videos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Video {
    /// `item_id`: the `video_id` of every comment call.
    pub id: String,
    pub created_at: Option<DateTime<Utc>>,
    pub caption: Option<String>,
    pub share_url: Option<String>,
}

/// One page of `business/video/list/`, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoPage {
    pub videos: Vec<Video>,
    /// Where the next page starts (a Unix time in milliseconds, for TikTok).
    pub cursor: Option<i64>,
    pub has_more: bool,
}

/// A comment or a reply, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: String,
    pub video_id: String,
    /// Set on replies: the top-level comment they answer.
    pub parent_id: Option<String>,
    /// Who wrote it: `unique_identifier` (stable across TikTok's APIs), else `user_id`.
    pub author: Option<String>,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub text: String,
    pub created_at: DateTime<Utc>,
    /// How many replies a top-level comment has.
    pub replies: u64,
    /// Written by the account that owns the video (our own comments and replies).
    pub owner: bool,
    /// Hidden by the owner (`status: HIDDEN`).
    pub hidden: bool,
    /// Up to three replies TikTok includes with a top-level comment (`include_replies`).
    pub reply_list: Vec<Comment>,
}

/// One page of comments or replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentPage {
    pub comments: Vec<Comment>,
    /// Where the next page starts.
    pub cursor: Option<i64>,
    pub has_more: bool,
}

/// TikTok API for Business as one or more connected accounts (the token says which).
///
/// Give it a `reqwest::Client` with a request timeout: the client adds none of its own.
#[derive(Debug, Clone)]
pub struct TiktokClient {
    http: reqwest::Client,
    base: Url,
    /// The developer app's id (`app_id` / client key): `tt_user/token_info/get/` needs it.
    app_id: String,
}

impl TiktokClient {
    /// `base` is the API root, [`DEFAULT_API_BASE`] or a local fake's URL.
    pub fn new(
        http: reqwest::Client,
        base: &str,
        app_id: impl Into<String>,
    ) -> Result<Self, BaseUrlError> {
        let error = |reason: &str| BaseUrlError {
            url: base.to_owned(),
            reason: reason.to_owned(),
        };
        let url = Url::parse(base).map_err(|e| error(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(error("the scheme must be http or https"));
        }
        if url.cannot_be_a_base() || url.query().is_some() || url.fragment().is_some() {
            return Err(error(
                "expected a plain http(s) URL without query or fragment",
            ));
        }
        Ok(Self {
            http,
            base: url,
            app_id: app_id.into(),
        })
    }

    /// `base` + `path` (fixed segments, each ending with TikTok's trailing slash).
    fn url(&self, path: &[&str]) -> Result<Url, TiktokError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| {
                TiktokError::Permanent(FailureReason::Other(
                    "the TikTok API base URL cannot take a path".into(),
                ))
            })?
            .pop_if_empty()
            .extend(path)
            .push("");
        Ok(url)
    }

    /// Makes one call and opens the envelope: its `data` when `code` is 0. `route` names
    /// the method in logs (never the URL).
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        route: &'static str,
        token: Option<&SecretString>,
        body: Option<Value>,
    ) -> Result<T, TiktokError> {
        tracing::debug!(%method, route, "TikTok API call");
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            let mut value = HeaderValue::from_str(token.expose_secret()).map_err(|_| {
                TiktokError::Permanent(FailureReason::Other(
                    "the stored TikTok access token is not a valid header value".into(),
                ))
            })?;
            value.set_sensitive(true);
            request = request.header(ACCESS_TOKEN_HEADER, value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| transport(route, e))?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let bytes = response.bytes().await.map_err(|e| transport(route, e))?;
        if !status.is_success() {
            let error = classify_status(status, wait, &bytes);
            tracing::debug!(route, %status, ?error, "TikTok API call failed");
            return Err(error);
        }
        let envelope: wire::Envelope = serde_json::from_slice(&bytes).map_err(|e| {
            TiktokError::Permanent(FailureReason::Other(format!(
                "unexpected TikTok {route} response: {e}"
            )))
        })?;
        let code = envelope.code.as_ref().and_then(wire::int).ok_or_else(|| {
            TiktokError::Permanent(FailureReason::Other(format!(
                "TikTok's {route} response has no code"
            )))
        })?;
        if code != 0 {
            let error = classify_code(code, envelope.message.as_deref().unwrap_or(""), wait);
            tracing::debug!(
                route,
                code,
                request_id = envelope.request_id.as_deref().unwrap_or(""),
                ?error,
                "TikTok refused a call"
            );
            return Err(error);
        }
        // `data` may be absent or `{}` on writes; reads check their own fields.
        serde_json::from_value(envelope.data.unwrap_or_else(|| json!({}))).map_err(|e| {
            TiktokError::Permanent(FailureReason::Other(format!(
                "unexpected TikTok {route} data: {e}"
            )))
        })
    }

    /// Whose token this is (`POST tt_user/token_info/get/`, the token in the JSON body): the
    /// `creator_id`, which is the `open_id` and so the `business_id` of every other call.
    pub async fn token_owner(&self, token: &SecretString) -> Result<String, TiktokError> {
        let url = self.url(&["tt_user", "token_info", "get"])?;
        let body = json!({"app_id": self.app_id, "access_token": token.expose_secret()});
        let info: wire::TokenInfo = self
            .call(
                Method::POST,
                url,
                "tt_user.token_info.get",
                None,
                Some(body),
            )
            .await?;
        info.creator_id
            .or(info.open_id)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                TiktokError::Permanent(FailureReason::Other(
                    "TikTok did not say which account the token belongs to".into(),
                ))
            })
    }

    /// The account's names (`GET business/get/`).
    pub async fn account(
        &self,
        token: &SecretString,
        business_id: &str,
    ) -> Result<Account, TiktokError> {
        let mut url = self.url(&["business", "get"])?;
        url.query_pairs_mut()
            .append_pair("business_id", business_id)
            .append_pair("fields", r#"["username","display_name"]"#);
        let got: wire::Business = self
            .call(Method::GET, url, "business.get", Some(token), None)
            .await?;
        Ok(Account {
            id: business_id.to_owned(),
            username: got.username.filter(|s| !s.is_empty()),
            display_name: got.display_name.filter(|s| !s.is_empty()),
        })
    }

    /// One page of the account's videos, newest first (`GET business/video/list/`).
    pub async fn videos(
        &self,
        token: &SecretString,
        business_id: &str,
        cursor: Option<i64>,
    ) -> Result<VideoPage, TiktokError> {
        let mut url = self.url(&["business", "video", "list"])?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("business_id", business_id)
                .append_pair(
                    "fields",
                    r#"["item_id","create_time","caption","share_url"]"#,
                )
                .append_pair("max_count", &MAX_VIDEOS_PER_PAGE.to_string());
            if let Some(cursor) = cursor {
                q.append_pair("cursor", &cursor.to_string());
            }
        }
        let got: wire::VideoList = self
            .call(Method::GET, url, "business.video.list", Some(token), None)
            .await?;
        let videos = got
            .videos
            .into_iter()
            .filter_map(|v| {
                let id = v.item_id.as_ref().and_then(wire::id)?;
                Some(Video {
                    id,
                    created_at: v.create_time.as_ref().and_then(wire::time),
                    caption: v.caption.filter(|c| !c.trim().is_empty()),
                    share_url: v.share_url.filter(|u| !u.is_empty()),
                })
            })
            .collect();
        Ok(VideoPage {
            videos,
            cursor: got.cursor.as_ref().and_then(wire::int),
            has_more: got.has_more.unwrap_or(false),
        })
    }

    /// One page of a video's comments, public and hidden, newest first, each with up to three
    /// of its replies (`GET business/comment/list/`).
    pub async fn comments(
        &self,
        token: &SecretString,
        business_id: &str,
        video_id: &str,
        cursor: Option<i64>,
    ) -> Result<CommentPage, TiktokError> {
        let mut url = self.url(&["business", "comment", "list"])?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("business_id", business_id)
                .append_pair("video_id", video_id)
                .append_pair("include_replies", "true")
                .append_pair("status", "ALL")
                .append_pair("sort_field", "create_time")
                .append_pair("sort_order", "desc")
                .append_pair("max_count", &MAX_COMMENTS_PER_PAGE.to_string());
            if let Some(cursor) = cursor {
                q.append_pair("cursor", &cursor.to_string());
            }
        }
        let got: wire::CommentList = self
            .call(Method::GET, url, "business.comment.list", Some(token), None)
            .await?;
        Ok(page(got, video_id))
    }

    /// The given comments of a video as they are now (`GET business/comment/list/` with
    /// `comment_ids`, at most [`MAX_COMMENT_IDS_PER_CALL`]): how many replies each has.
    pub async fn comments_by_id(
        &self,
        token: &SecretString,
        business_id: &str,
        video_id: &str,
        ids: &[&str],
    ) -> Result<Vec<Comment>, TiktokError> {
        if ids.is_empty() || ids.len() > MAX_COMMENT_IDS_PER_CALL {
            return Err(TiktokError::Permanent(FailureReason::Other(format!(
                "between 1 and {MAX_COMMENT_IDS_PER_CALL} comment ids per call"
            ))));
        }
        let mut url = self.url(&["business", "comment", "list"])?;
        url.query_pairs_mut()
            .append_pair("business_id", business_id)
            .append_pair("video_id", video_id)
            .append_pair(
                "comment_ids",
                &serde_json::to_string(ids).unwrap_or_default(),
            )
            .append_pair("include_replies", "true")
            .append_pair("status", "ALL")
            .append_pair("max_count", &MAX_COMMENTS_PER_PAGE.to_string());
        let got: wire::CommentList = self
            .call(Method::GET, url, "business.comment.list", Some(token), None)
            .await?;
        Ok(page(got, video_id).comments)
    }

    /// One page of the replies to a top-level comment, newest first
    /// (`GET business/comment/reply/list/`).
    pub async fn replies(
        &self,
        token: &SecretString,
        business_id: &str,
        video_id: &str,
        comment_id: &str,
        cursor: Option<i64>,
    ) -> Result<CommentPage, TiktokError> {
        let mut url = self.url(&["business", "comment", "reply", "list"])?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("business_id", business_id)
                .append_pair("video_id", video_id)
                .append_pair("comment_id", comment_id)
                .append_pair("status", "ALL")
                .append_pair("sort_field", "create_time")
                .append_pair("sort_order", "desc")
                .append_pair("max_count", &MAX_COMMENTS_PER_PAGE.to_string());
            if let Some(cursor) = cursor {
                q.append_pair("cursor", &cursor.to_string());
            }
        }
        let got: wire::CommentList = self
            .call(
                Method::GET,
                url,
                "business.comment.reply.list",
                Some(token),
                None,
            )
            .await?;
        let mut page = page(got, video_id);
        // The listing is of this comment's replies, whether or not each says so.
        for reply in &mut page.comments {
            reply.parent_id.get_or_insert_with(|| comment_id.to_owned());
        }
        Ok(page)
    }

    /// Publicly replies to a comment (`POST business/comment/reply/create/`, text of at most
    /// 150 characters). Not idempotent. Returns the new comment's id.
    pub async fn reply(
        &self,
        token: &SecretString,
        business_id: &str,
        video_id: &str,
        comment_id: &str,
        text: &str,
    ) -> Result<String, TiktokError> {
        let url = self.url(&["business", "comment", "reply", "create"])?;
        let body = json!({
            "business_id": business_id,
            "video_id": video_id,
            "comment_id": comment_id,
            "text": text,
        });
        let created: wire::Created = self
            .call(
                Method::POST,
                url,
                "business.comment.reply.create",
                Some(token),
                Some(body),
            )
            .await?;
        created
            .comment_id
            .as_ref()
            .and_then(wire::id)
            .ok_or_else(|| {
                TiktokError::Permanent(FailureReason::Other(
                    "TikTok accepted the reply but returned no comment id".into(),
                ))
            })
    }

    /// Hides a comment from the public, or shows it again (`POST business/comment/hide/`).
    pub async fn hide(
        &self,
        token: &SecretString,
        business_id: &str,
        video_id: &str,
        comment_id: &str,
        hidden: bool,
    ) -> Result<(), TiktokError> {
        let url = self.url(&["business", "comment", "hide"])?;
        let body = json!({
            "business_id": business_id,
            "video_id": video_id,
            "comment_id": comment_id,
            "action": if hidden { "HIDE" } else { "UNHIDE" },
        });
        let _: Value = self
            .call(
                Method::POST,
                url,
                "business.comment.hide",
                Some(token),
                Some(body),
            )
            .await?;
        Ok(())
    }

    /// Deletes a comment the account wrote (`POST business/comment/delete/`).
    pub async fn delete(
        &self,
        token: &SecretString,
        business_id: &str,
        comment_id: &str,
    ) -> Result<(), TiktokError> {
        let url = self.url(&["business", "comment", "delete"])?;
        let body = json!({"business_id": business_id, "comment_id": comment_id});
        let _: Value = self
            .call(
                Method::POST,
                url,
                "business.comment.delete",
                Some(token),
                Some(body),
            )
            .await?;
        Ok(())
    }
}

/// A wire page → [`CommentPage`] (comments of `video_id`).
fn page(list: wire::CommentList, video_id: &str) -> CommentPage {
    CommentPage {
        comments: list
            .comments
            .into_iter()
            .filter_map(|c| normalise(c, video_id, None))
            .collect(),
        cursor: list.cursor.as_ref().and_then(wire::int),
        has_more: list.has_more.unwrap_or(false),
    }
}

/// A wire comment → [`Comment`]; `None` (logged) without an id or a creation time, or with
/// an id that cannot be part of an item id (it holds a `:`).
fn normalise(c: wire::Comment, video_id: &str, parent: Option<&str>) -> Option<Comment> {
    let id = c.comment_id.as_ref().and_then(wire::id);
    let created_at = c.create_time.as_ref().and_then(wire::time);
    let (Some(id), Some(created_at)) = (id, created_at) else {
        tracing::warn!("TikTok comment without a comment_id or create_time, skipped");
        return None;
    };
    if id.contains(':') {
        tracing::warn!("TikTok comment id with a ':', skipped");
        return None;
    }
    let parent_id = c
        .parent_comment_id
        .as_ref()
        .and_then(wire::id)
        .or_else(|| parent.map(str::to_owned))
        .filter(|p| *p != id && !p.contains(':'));
    let reply_list = c
        .reply_list
        .into_iter()
        .filter_map(|r| normalise(r, video_id, Some(&id)))
        .collect();
    Some(Comment {
        video_id: c
            .video_id
            .as_ref()
            .and_then(wire::id)
            .unwrap_or_else(|| video_id.to_owned()),
        parent_id,
        author: c
            .unique_identifier
            .filter(|s| !s.is_empty())
            .or_else(|| c.user_id.as_ref().and_then(wire::id)),
        username: c.username.filter(|s| !s.is_empty()),
        display_name: c.display_name.filter(|s| !s.is_empty()),
        text: c.text.unwrap_or_default(),
        created_at,
        replies: c
            .replies
            .as_ref()
            .and_then(wire::int)
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
        owner: c.owner.unwrap_or(false),
        hidden: c
            .status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("HIDDEN")),
        reply_list,
        id,
    })
}

/// TikTok's JSON, as far as we read it. Ids and times may come as strings or numbers (ids
/// are 64-bit: kept as strings).
mod wire {
    use chrono::{DateTime, Utc};
    use serde::Deserialize;
    use serde_json::Value;

    #[derive(Debug, Deserialize)]
    pub struct Envelope {
        pub code: Option<Value>,
        pub message: Option<String>,
        pub request_id: Option<String>,
        pub data: Option<Value>,
    }

    #[derive(Debug, Deserialize)]
    pub struct TokenInfo {
        pub creator_id: Option<String>,
        pub open_id: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    pub struct Business {
        pub username: Option<String>,
        pub display_name: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    pub struct VideoList {
        #[serde(default)]
        pub videos: Vec<Video>,
        pub cursor: Option<Value>,
        pub has_more: Option<bool>,
    }

    #[derive(Debug, Deserialize)]
    pub struct Video {
        pub item_id: Option<Value>,
        pub create_time: Option<Value>,
        pub caption: Option<String>,
        pub share_url: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    pub struct CommentList {
        #[serde(default)]
        pub comments: Vec<Comment>,
        pub cursor: Option<Value>,
        pub has_more: Option<bool>,
    }

    #[derive(Debug, Deserialize)]
    pub struct Comment {
        pub comment_id: Option<Value>,
        pub video_id: Option<Value>,
        pub user_id: Option<Value>,
        pub unique_identifier: Option<String>,
        pub create_time: Option<Value>,
        pub text: Option<String>,
        pub replies: Option<Value>,
        pub owner: Option<bool>,
        pub status: Option<String>,
        pub username: Option<String>,
        pub display_name: Option<String>,
        pub parent_comment_id: Option<Value>,
        #[serde(default)]
        pub reply_list: Vec<Comment>,
    }

    #[derive(Debug, Deserialize)]
    pub struct Created {
        pub comment_id: Option<Value>,
    }

    /// A non-empty id, given as a string or an integer.
    pub fn id(v: &Value) -> Option<String> {
        match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
            _ => None,
        }
    }

    /// An integer given as a number or a numeric string.
    pub fn int(v: &Value) -> Option<i64> {
        match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A Unix time in seconds.
    pub fn time(v: &Value) -> Option<DateTime<Utc>> {
        int(v).and_then(|s| DateTime::from_timestamp(s, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_read_with_ids_as_strings_or_numbers_and_replies_know_their_thread() {
        let list: wire::CommentList = serde_json::from_value(json!({
            "comments": [
                {"comment_id": 7300000000000000001u64, "video_id": "7299", "create_time": 1780000000,
                 "text": "hi", "unique_identifier": "+ABc1", "user_id": "u1", "replies": 2,
                 "owner": false, "status": "PUBLIC", "username": "fan", "display_name": "Fan",
                 "reply_list": [{"comment_id": "7300000000000000002", "create_time": "1780000100",
                                 "text": "thanks", "owner": true}]},
                {"comment_id": "7300000000000000003", "create_time": 1780000200, "text": "x",
                 "user_id": "u3", "status": "HIDDEN"},
                {"comment_id": "bad:id", "create_time": 1780000300},
                {"create_time": 1780000400, "text": "no id"},
                {"comment_id": "7300000000000000005", "text": "no time"}
            ],
            "cursor": 30,
            "has_more": true
        }))
        .expect("wire");
        let page = page(list, "7299");
        assert_eq!((page.cursor, page.has_more), (Some(30), true));
        let ids: Vec<&str> = page.comments.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["7300000000000000001", "7300000000000000003"]);
        let first = &page.comments[0];
        assert_eq!(first.author.as_deref(), Some("+ABc1"));
        assert_eq!(first.replies, 2);
        assert_eq!(first.video_id, "7299");
        assert_eq!(
            first.created_at,
            DateTime::from_timestamp(1_780_000_000, 0).expect("time")
        );
        let reply = &first.reply_list[0];
        assert_eq!(reply.parent_id.as_deref(), Some("7300000000000000001"));
        assert!(reply.owner);
        let second = &page.comments[1];
        assert_eq!(second.author.as_deref(), Some("u3"));
        assert!(second.hidden && !second.owner);
    }

    #[test]
    fn a_base_url_must_be_plain_http() {
        let http = reqwest::Client::new();
        assert!(TiktokClient::new(http.clone(), DEFAULT_API_BASE, "app").is_ok());
        assert!(TiktokClient::new(http.clone(), "ftp://x/", "app").is_err());
        assert!(TiktokClient::new(http.clone(), "https://x/?a=b", "app").is_err());
        assert!(TiktokClient::new(http, "not a url", "app").is_err());
        let client = TiktokClient::new(
            reqwest::Client::new(),
            "http://127.0.0.1:9/open_api/v1.3/",
            "a",
        )
        .expect("client");
        assert_eq!(
            client
                .url(&["business", "comment", "list"])
                .expect("url")
                .as_str(),
            "http://127.0.0.1:9/open_api/v1.3/business/comment/list/"
        );
    }

    #[test]
    fn the_account_is_named_by_display_name_then_username() {
        let mut a = Account {
            id: "-000abc".into(),
            username: Some("acme".into()),
            display_name: Some("Acme Coffee".into()),
        };
        assert_eq!(a.name(), "Acme Coffee");
        a.display_name = None;
        assert_eq!(a.name(), "@acme");
        a.username = None;
        assert_eq!(a.name(), "-000abc");
    }
}
