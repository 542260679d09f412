//! The X API v2 calls Switchboard makes as a connected account: who it is, its mentions and
//! direct messages, replying (a post or a message), and moderating (hide a reply, like,
//! mute, delete our reply). One HTTP call per method; paging, retries and scheduling are the
//! caller's.
//!
//! The OAuth 2.0 user token travels only in the `Authorization: Bearer` header (marked
//! sensitive by reqwest); never in a URL, an error or a log line. Ids that go into a path are
//! checked to be X ids (digits) first, so customer data can never add a path segment.

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::error::{RATE_LIMIT_REMAINING, classify, transport};
use super::payload::{DmPage, PostPage, User};
use crate::core::{FailureReason, NetworkItemId};
use crate::networks::ConnectorError;

/// X API v2's root.
pub const DEFAULT_API_BASE: &str = "https://api.x.com/2";

/// Items per page of the mentions, posts and DM listings: the API's maximum, so a poll
/// makes as few calls as it can.
pub const MAX_RESULTS: u32 = 100;

/// Post fields a poll needs: threading (conversation, reply target), author, time, and the
/// whole text of long posts.
const POST_FIELDS: &str =
    "author_id,conversation_id,created_at,in_reply_to_user_id,referenced_tweets,note_tweet";
/// User fields of the expanded authors: what cards show.
const USER_FIELDS: &str = "name,username";
/// DM event fields a poll needs.
const DM_FIELDS: &str = "id,text,event_type,sender_id,dm_conversation_id,created_at";

/// A configured base URL that API paths cannot be appended to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid X API base URL {url:?}: {reason}")]
pub struct BaseUrlError {
    url: String,
    reason: String,
}

/// Where a mentions listing starts: after `since_id` (X returns only newer posts), or, before
/// any was read, at `start_time`; `pagination_token` continues a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MentionsQuery<'a> {
    pub since_id: Option<&'a str>,
    pub start_time: Option<DateTime<Utc>>,
    pub pagination_token: Option<&'a str>,
}

/// The X API for connected accounts (the token says which).
///
/// Give it the shared `reqwest::Client`, which carries the deadlines: the client adds none.
#[derive(Debug, Clone)]
pub struct XClient {
    http: reqwest::Client,
    base: Url,
}

/// X's ids are decimal numbers of up to 19 digits (`^[0-9]{1,19}$` in the API's schema).
fn is_x_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit())
}

fn bad_id(what: &str) -> ConnectorError {
    ConnectorError::Permanent(FailureReason::Other(format!("{what} is not an X id")))
}

#[derive(Debug, Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Created {
    id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DmCreated {
    dm_event_id: String,
}

impl XClient {
    /// `base` is the API root, [`DEFAULT_API_BASE`] or a local fake's URL.
    pub fn new(http: reqwest::Client, base: &str) -> Result<Self, BaseUrlError> {
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
        Ok(Self { http, base: url })
    }

    /// `base` + `segments`, each one path segment.
    fn url(&self, segments: &[&str]) -> Result<Url, ConnectorError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| bad_id("the API base URL"))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// One call; the body of a 2xx answer, or the classified failure. `route` names the call
    /// in logs (never the URL).
    async fn call(
        &self,
        method: Method,
        url: Url,
        route: &'static str,
        token: &SecretString,
        body: Option<Value>,
    ) -> Result<bytes::Bytes, ConnectorError> {
        let request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(token.expose_secret());
        let request = match body {
            Some(b) => request.json(&b),
            None => request,
        };
        let response = request.send().await.map_err(|e| transport(route, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| transport(route, e))?;
        let remaining = headers
            .get(RATE_LIMIT_REMAINING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?");
        tracing::debug!(%method, route, %status, remaining, "X API call");
        if status.is_success() {
            Ok(body)
        } else {
            let error = classify(status, &headers, &body, Utc::now());
            tracing::debug!(route, %status, ?error, "X API call failed");
            Err(error)
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ConnectorError> {
        serde_json::from_slice(body).map_err(|e| {
            ConnectorError::Permanent(FailureReason::Other(format!(
                "unexpected answer from X to {what}: {e}"
            )))
        })
    }

    /// An action's `{"data":{"<flag>":<bool>}}` must say it happened; a 200 with only
    /// `errors` (X's partial-error shape) is classified like a refusal.
    fn confirm(body: &[u8], flag: &str, want: bool, what: &str) -> Result<(), ConnectorError> {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        match v
            .get("data")
            .and_then(|d| d.get(flag))
            .and_then(Value::as_bool)
        {
            Some(got) if got == want => Ok(()),
            Some(_) => Err(ConnectorError::Permanent(FailureReason::Other(format!(
                "X answered that {what} did not happen"
            )))),
            None => Err(classify(
                reqwest::StatusCode::OK,
                &reqwest::header::HeaderMap::new(),
                body,
                Utc::now(),
            )),
        }
    }

    /// The account the token belongs to (`GET /2/users/me`).
    pub async fn me(&self, token: &SecretString) -> Result<User, ConnectorError> {
        let url = self.url(&["users", "me"])?;
        let body = self
            .call(Method::GET, url, "x.users.me", token, None)
            .await?;
        let me: Data<User> = Self::parse(&body, "users/me")?;
        if !is_x_id(&me.data.id) {
            return Err(ConnectorError::Permanent(FailureReason::Other(
                "X named no account for this token".into(),
            )));
        }
        Ok(me.data)
    }

    /// One page of the posts that mention `user_id`, newest first, with their authors.
    pub async fn mentions(
        &self,
        token: &SecretString,
        user_id: &str,
        query: &MentionsQuery<'_>,
    ) -> Result<PostPage, ConnectorError> {
        if !is_x_id(user_id) {
            return Err(bad_id("the account"));
        }
        let mut url = self.url(&["users", user_id, "mentions"])?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("max_results", &MAX_RESULTS.to_string())
                .append_pair("tweet.fields", POST_FIELDS)
                .append_pair("expansions", "author_id")
                .append_pair("user.fields", USER_FIELDS);
            match (query.since_id.filter(|s| is_x_id(s)), query.start_time) {
                (Some(since), _) => {
                    q.append_pair("since_id", since);
                }
                (None, Some(start)) => {
                    q.append_pair(
                        "start_time",
                        &start.to_rfc3339_opts(SecondsFormat::Secs, true),
                    );
                }
                (None, None) => {}
            }
            if let Some(page) = query.pagination_token.filter(|p| !p.is_empty()) {
                q.append_pair("pagination_token", page);
            }
        }
        let body = self
            .call(Method::GET, url, "x.users.mentions", token, None)
            .await?;
        Self::parse(&body, "the mentions listing")
    }

    /// One page of the account's direct-message events (messages only), newest first.
    pub async fn dm_events(
        &self,
        token: &SecretString,
        pagination_token: Option<&str>,
    ) -> Result<DmPage, ConnectorError> {
        let mut url = self.url(&["dm_events"])?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("max_results", &MAX_RESULTS.to_string())
                .append_pair("event_types", "MessageCreate")
                .append_pair("dm_event.fields", DM_FIELDS)
                .append_pair("expansions", "sender_id")
                .append_pair("user.fields", USER_FIELDS);
            if let Some(page) = pagination_token.filter(|p| !p.is_empty()) {
                q.append_pair("pagination_token", page);
            }
        }
        let body = self
            .call(Method::GET, url, "x.dm_events", token, None)
            .await?;
        Self::parse(&body, "the DM events listing")
    }

    /// The account's own latest posts since `start_time` (one page, newest first): where a
    /// reply whose answer was lost would be.
    pub async fn own_posts(
        &self,
        token: &SecretString,
        user_id: &str,
        start_time: DateTime<Utc>,
    ) -> Result<PostPage, ConnectorError> {
        if !is_x_id(user_id) {
            return Err(bad_id("the account"));
        }
        let mut url = self.url(&["users", user_id, "tweets"])?;
        url.query_pairs_mut()
            .append_pair("max_results", &MAX_RESULTS.to_string())
            .append_pair("tweet.fields", POST_FIELDS)
            .append_pair("exclude", "retweets")
            .append_pair(
                "start_time",
                &start_time.to_rfc3339_opts(SecondsFormat::Secs, true),
            );
        let body = self
            .call(Method::GET, url, "x.users.tweets", token, None)
            .await?;
        Self::parse(&body, "the account's posts")
    }

    /// Publicly replies to post `in_reply_to` (`POST /2/tweets`); the new post's id.
    pub async fn reply(
        &self,
        token: &SecretString,
        in_reply_to: &str,
        text: &str,
    ) -> Result<NetworkItemId, ConnectorError> {
        if !is_x_id(in_reply_to) {
            return Err(bad_id("the post replied to"));
        }
        let url = self.url(&["tweets"])?;
        let body = json!({"text": text, "reply": {"in_reply_to_tweet_id": in_reply_to}});
        let answer = self
            .call(Method::POST, url, "x.tweets.create", token, Some(body))
            .await?;
        let created: Data<Created> = Self::parse(&answer, "the reply")?;
        if !is_x_id(&created.data.id) {
            return Err(ConnectorError::Permanent(FailureReason::Other(
                "X accepted the reply but returned no id".into(),
            )));
        }
        Ok(NetworkItemId::new(created.data.id))
    }

    /// Sends a direct message to `participant` (`POST /2/dm_conversations/with/{id}/messages`,
    /// their one-to-one conversation); the message's event id.
    pub async fn send_dm(
        &self,
        token: &SecretString,
        participant: &str,
        text: &str,
    ) -> Result<NetworkItemId, ConnectorError> {
        if !is_x_id(participant) {
            return Err(bad_id("the customer"));
        }
        let url = self.url(&["dm_conversations", "with", participant, "messages"])?;
        let answer = self
            .call(
                Method::POST,
                url,
                "x.dm_conversations.messages",
                token,
                Some(json!({ "text": text })),
            )
            .await?;
        let created: Data<DmCreated> = Self::parse(&answer, "the message")?;
        if !is_x_id(&created.data.dm_event_id) {
            return Err(ConnectorError::Permanent(FailureReason::Other(
                "X accepted the message but returned no id".into(),
            )));
        }
        Ok(NetworkItemId::new(created.data.dm_event_id))
    }

    /// Hides (or unhides) a reply in a conversation the account started.
    pub async fn set_hidden(
        &self,
        token: &SecretString,
        post: &str,
        hidden: bool,
    ) -> Result<(), ConnectorError> {
        if !is_x_id(post) {
            return Err(bad_id("the post"));
        }
        let url = self.url(&["tweets", post, "hidden"])?;
        let answer = self
            .call(
                Method::PUT,
                url,
                "x.tweets.hidden",
                token,
                Some(json!({ "hidden": hidden })),
            )
            .await?;
        Self::confirm(&answer, "hidden", hidden, "hiding the reply")
    }

    /// Likes `post` as `user_id` (the account).
    pub async fn like(
        &self,
        token: &SecretString,
        user_id: &str,
        post: &str,
    ) -> Result<(), ConnectorError> {
        if !is_x_id(user_id) || !is_x_id(post) {
            return Err(bad_id("the account or the post"));
        }
        let url = self.url(&["users", user_id, "likes"])?;
        let answer = self
            .call(
                Method::POST,
                url,
                "x.users.likes",
                token,
                Some(json!({ "tweet_id": post })),
            )
            .await?;
        Self::confirm(&answer, "liked", true, "the like")
    }

    /// Mutes `target` for `user_id` (the account).
    pub async fn mute(
        &self,
        token: &SecretString,
        user_id: &str,
        target: &str,
    ) -> Result<(), ConnectorError> {
        if !is_x_id(user_id) || !is_x_id(target) {
            return Err(bad_id("the account or the author"));
        }
        let url = self.url(&["users", user_id, "muting"])?;
        let answer = self
            .call(
                Method::POST,
                url,
                "x.users.muting",
                token,
                Some(json!({ "target_user_id": target })),
            )
            .await?;
        Self::confirm(&answer, "muting", true, "the mute")
    }

    /// Deletes a post of the account's (our reply).
    pub async fn delete_post(
        &self,
        token: &SecretString,
        post: &str,
    ) -> Result<(), ConnectorError> {
        if !is_x_id(post) {
            return Err(bad_id("the post"));
        }
        let url = self.url(&["tweets", post])?;
        let answer = self
            .call(Method::DELETE, url, "x.tweets.delete", token, None)
            .await?;
        Self::confirm(&answer, "deleted", true, "deleting the post")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_take_paths() {
        let http = reqwest::Client::new();
        assert!(XClient::new(http.clone(), DEFAULT_API_BASE).is_ok());
        assert!(XClient::new(http.clone(), "http://127.0.0.1:9/x/2/").is_ok());
        for bad in [
            "api.x.com/2",
            "ftp://api.x.com/2",
            "https://api.x.com/2?key=1",
            "mailto:a@b",
        ] {
            assert!(XClient::new(http.clone(), bad).is_err(), "{bad}");
        }
        let c = XClient::new(http, "https://api.x.com/2/").expect("ok");
        assert_eq!(
            c.url(&["users", "1", "mentions"]).expect("url").as_str(),
            "https://api.x.com/2/users/1/mentions"
        );
    }

    #[test]
    fn only_x_ids_go_into_paths() {
        assert!(is_x_id("1924465506158878979"));
        for bad in ["", "12a", "../1", "1/2", "12345678901234567890"] {
            assert!(!is_x_id(bad), "{bad}");
        }
    }

    #[test]
    fn actions_must_say_they_happened() {
        assert!(XClient::confirm(br#"{"data":{"hidden":true}}"#, "hidden", true, "x").is_ok());
        assert!(XClient::confirm(br#"{"data":{"hidden":false}}"#, "hidden", false, "x").is_ok());
        assert!(matches!(
            XClient::confirm(br#"{"data":{"liked":false}}"#, "liked", true, "the like"),
            Err(ConnectorError::Permanent(FailureReason::Other(_)))
        ));
        let partial = br#"{"errors":[{"title":"Not Found Error","detail":"Could not find tweet","type":"https://api.x.com/2/problems/resource-not-found"}]}"#;
        assert_eq!(
            XClient::confirm(partial, "deleted", true, "x"),
            Err(ConnectorError::Permanent(FailureReason::ItemDeleted))
        );
    }
}
