//! The LinkedIn calls Switchboard makes as a member who administers organization pages
//! (network-apis.md §3, §11.4.7–8): which pages they administer and their names, a page's
//! notifications, the comments under a post or a comment, a post, commenting as the page,
//! and deleting the page's comment. One HTTP call per method; paging, budgets and retries
//! are the caller's.
//!
//! Every call carries `Authorization: Bearer <token>` (marked sensitive; never in a URL, an
//! error or a log line), `LinkedIn-Version: <YYYYMM>` and `X-Restli-Protocol-Version: 2.0.0`.
//! URNs in paths and query values are percent-encoded whole ([`super::encode`]); the Rest.li
//! structure around them (`List(…)`, `(start:…,end:…)`) is written as is.

use chrono::{DateTime, Utc};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use super::changes::{Notification, NotificationPage};
use super::error::{classify, transport};
use super::{CommentUrn, encode, organization_id};
use crate::core::FailureReason;
use crate::networks::ConnectorError;

/// LinkedIn's versioned REST root.
pub const DEFAULT_API_BASE: &str = "https://api.linkedin.com/rest";

/// The `LinkedIn-Version` sent unless configured: versions sunset about a year after they
/// ship (§11.4.9), so keep `linkedin.version` current.
pub const DEFAULT_VERSION: &str = "202611";

/// The Rest.li protocol every call speaks.
pub const RESTLI_PROTOCOL: &str = "2.0.0";

/// The header naming a created entity's id.
pub const CREATED_ID_HEADER: &str = "x-restli-id";

/// Items per page of the listings.
pub const PAGE_SIZE: u32 = 100;

/// Pages of `organizationAcls` read when connecting (100 pages each).
pub const MAX_ACL_PAGES: u32 = 5;

/// A configured base URL that API paths cannot be appended to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid LinkedIn API base URL {url:?}: {reason}")]
pub struct BaseUrlError {
    url: String,
    reason: String,
}

/// A comment (or a reply to one), normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub urn: CommentUrn,
    /// Who wrote it: a person or organization URN.
    pub actor: Option<String>,
    /// The top-level comment it answers, for a nested comment.
    pub parent: Option<CommentUrn>,
    pub text: String,
    pub created_at: DateTime<Utc>,
    /// How many replies a top-level comment has.
    pub replies: u64,
}

/// One page of comments, oldest first as LinkedIn lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentPage {
    pub comments: Vec<Comment>,
    /// Where the next page starts, when there may be one.
    pub next: Option<u32>,
    /// How many the whole listing holds, when LinkedIn says.
    pub total: Option<u32>,
}

/// A post, as far as a mention's card needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub urn: String,
    pub author: Option<String>,
    pub text: String,
    pub created_at: Option<DateTime<Utc>>,
}

/// The LinkedIn API for connected members (the token says which).
///
/// Give it the shared `reqwest::Client`, which carries the deadlines: the client adds none.
#[derive(Debug, Clone)]
pub struct LinkedinClient {
    http: reqwest::Client,
    base: Url,
    version: String,
}

mod wire {
    use serde::Deserialize;
    use serde_json::Value;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct Paging {
        pub start: Option<u32>,
        pub count: Option<u32>,
        pub total: Option<u32>,
        pub links: Vec<Link>,
    }

    /// A Rest.li paging link: `{"rel": "next", "href": "/rest/…?start=10&count=10"}`.
    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct Link {
        pub rel: Option<String>,
        pub href: Option<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct List<T> {
        pub elements: Vec<T>,
        pub paging: Paging,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct Acl {
        pub organization: Option<String>,
        #[serde(rename = "organizationTarget")]
        pub organization_target: Option<String>,
        pub role: Option<String>,
        pub state: Option<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default, rename_all = "camelCase")]
    pub struct Organization {
        pub localized_name: Option<String>,
        pub vanity_name: Option<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct Text {
        pub text: Option<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct Stamp {
        pub actor: Option<String>,
        pub time: Option<i64>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default, rename_all = "camelCase")]
    pub struct Summary {
        pub total_first_level_comments: Option<u64>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default, rename_all = "camelCase")]
    pub struct Comment {
        #[serde(rename = "$URN")]
        pub dollar_urn: Option<String>,
        pub comment_urn: Option<String>,
        pub id: Option<Value>,
        pub actor: Option<String>,
        pub object: Option<String>,
        pub parent_comment: Option<String>,
        pub message: Text,
        pub created: Stamp,
        pub comments_summary: Summary,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default, rename_all = "camelCase")]
    pub struct Post {
        pub id: Option<String>,
        pub author: Option<String>,
        pub commentary: Option<String>,
        pub created_at: Option<i64>,
        pub published_at: Option<i64>,
    }
}

/// Milliseconds since the epoch as a time.
pub fn millis(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A listed comment, normalised; `None` when it has no readable URN.
fn comment(c: wire::Comment) -> Option<Comment> {
    let urn = c
        .comment_urn
        .as_deref()
        .or(c.dollar_urn.as_deref())
        .and_then(CommentUrn::parse)
        .or_else(|| {
            let object = c.object.clone()?;
            let id = c.id.as_ref().and_then(id_string)?;
            CommentUrn::parse(&format!("urn:li:comment:({object},{id})"))
        })?;
    Some(Comment {
        urn,
        actor: c.actor.or(c.created.actor).filter(|a| !a.is_empty()),
        parent: c.parent_comment.as_deref().and_then(CommentUrn::parse),
        text: c.message.text.unwrap_or_default(),
        created_at: c.created.time.and_then(millis).unwrap_or_else(Utc::now),
        replies: c.comments_summary.total_first_level_comments.unwrap_or(0),
    })
}

/// The `start` a paging link's `href` names.
fn href_start(href: &str) -> Option<u32> {
    let query = href.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "start")
        .and_then(|(_, v)| v.parse().ok())
}

/// The next page's start, when the listing may go on: where LinkedIn's `rel=next` link
/// points when it gives one (a page can hold fewer than `count` and still have a next),
/// else from `total`, else while pages come full.
fn next_start(paging: &wire::Paging, got: usize) -> Option<u32> {
    let start = paging.start.unwrap_or(0);
    let count = paging.count.unwrap_or(PAGE_SIZE).max(1);
    let got = u32::try_from(got).unwrap_or(u32::MAX);
    let next = start.saturating_add(got);
    if let Some(link) = paging
        .links
        .iter()
        .find(|l| l.rel.as_deref() == Some("next"))
    {
        let to = link.href.as_deref().and_then(href_start).unwrap_or(next);
        // Only forward: a link that points back would loop.
        return (to > start).then_some(to);
    }
    match paging.total {
        Some(total) => (next < total && got > 0).then_some(next),
        None => (got >= count).then_some(next),
    }
}

impl LinkedinClient {
    /// `base` is the REST root, [`DEFAULT_API_BASE`] or a local fake's URL; `version` the
    /// `LinkedIn-Version` (YYYYMM).
    pub fn new(
        http: reqwest::Client,
        base: &str,
        version: impl Into<String>,
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
        let version = version.into();
        if version.len() != 6 || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error("the LinkedIn-Version must be YYYYMM"));
        }
        Ok(Self {
            http,
            base: url,
            version,
        })
    }

    /// `base` + `/` + `path` (already encoded) + `?query` (already encoded, Rest.li
    /// structure kept).
    fn url(&self, path: &str, query: Option<&str>) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}/{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url.set_query(query);
        url
    }

    /// One call; the headers and body of a 2xx answer, or the classified failure. `route`
    /// names the call in logs (never the URL).
    async fn call(
        &self,
        method: Method,
        url: Url,
        route: &'static str,
        token: &SecretString,
        body: Option<Value>,
    ) -> Result<(HeaderMap, bytes::Bytes), ConnectorError> {
        tracing::debug!(%method, route, "LinkedIn API call");
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .map_err(|_| {
                ConnectorError::Permanent(FailureReason::Other(
                    "the stored LinkedIn access token is not a valid header value".into(),
                ))
            })?;
        auth.set_sensitive(true);
        let mut request = self
            .http
            .request(method, url)
            .header(reqwest::header::AUTHORIZATION, auth)
            .header("LinkedIn-Version", &self.version)
            .header("X-Restli-Protocol-Version", RESTLI_PROTOCOL);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| transport(route, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(|e| transport(route, e))?;
        if !status.is_success() {
            return Err(classify(status, &headers, &bytes));
        }
        Ok((headers, bytes))
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        route: &'static str,
        token: &SecretString,
    ) -> Result<T, ConnectorError> {
        let (_, body) = self.call(Method::GET, url, route, token, None).await?;
        serde_json::from_slice(&body).map_err(|e| {
            ConnectorError::Permanent(FailureReason::Other(format!(
                "unexpected LinkedIn {route} response: {e}"
            )))
        })
    }

    /// The organizations the token's member administers (approved ADMINISTRATOR role), by
    /// numeric id, in LinkedIn's order (`GET organizationAcls?q=roleAssignee`).
    pub async fn administered(&self, token: &SecretString) -> Result<Vec<String>, ConnectorError> {
        let mut ids: Vec<String> = Vec::new();
        let mut start = 0;
        for _ in 0..MAX_ACL_PAGES {
            let query = format!(
                "q=roleAssignee&role=ADMINISTRATOR&state=APPROVED&start={start}&count={PAGE_SIZE}"
            );
            let page: wire::List<wire::Acl> = self
                .get(
                    self.url("organizationAcls", Some(&query)),
                    "organizationAcls",
                    token,
                )
                .await?;
            let got = page.elements.len();
            for acl in page.elements {
                let approved = acl.state.as_deref().is_none_or(|s| s == "APPROVED")
                    && acl.role.as_deref().is_none_or(|r| r == "ADMINISTRATOR");
                let org = acl.organization.or(acl.organization_target);
                if let Some(id) = org.as_deref().and_then(organization_id)
                    && approved
                    && !ids.iter().any(|known| known == id)
                {
                    ids.push(id.to_owned());
                }
            }
            match next_start(&page.paging, got) {
                Some(next) => start = next,
                None => break,
            }
        }
        Ok(ids)
    }

    /// An organization's name (`GET organizations/{id}`): its localized name, else its vanity
    /// name, else `None`.
    pub async fn organization_name(
        &self,
        token: &SecretString,
        id: &str,
    ) -> Result<Option<String>, ConnectorError> {
        if organization_id(&super::organization_urn(id)).is_none() {
            return Err(ConnectorError::Permanent(FailureReason::Other(format!(
                "{id} is not a LinkedIn organization id"
            ))));
        }
        let org: wire::Organization = self
            .get(
                self.url(&format!("organizations/{id}"), None),
                "organizations",
                token,
            )
            .await?;
        Ok(org
            .localized_name
            .or(org.vanity_name)
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty()))
    }

    /// One page of an organization's notifications whose time is within
    /// `[start_ms, end_ms]` (`GET organizationalEntityNotifications?q=criteria`), for the
    /// actions a ticket can come from (and our own comments, to tell them apart).
    pub async fn notifications(
        &self,
        token: &SecretString,
        organization: &str,
        start_ms: i64,
        end_ms: i64,
        start: u32,
    ) -> Result<NotificationPage, ConnectorError> {
        let query = format!(
            "q=criteria&organizationalEntity={}&actions=List(COMMENT,SHARE_MENTION,ADMIN_COMMENT)\
             &timeRange=(start:{start_ms},end:{end_ms})&start={start}&count={PAGE_SIZE}",
            encode(&super::organization_urn(organization))
        );
        let page: wire::List<Value> = self
            .get(
                self.url("organizationalEntityNotifications", Some(&query)),
                "organizationalEntityNotifications",
                token,
            )
            .await?;
        let got = page.elements.len();
        Ok(NotificationPage {
            notifications: page
                .elements
                .iter()
                .filter_map(Notification::read)
                .collect(),
            next: next_start(&page.paging, got),
        })
    }

    /// One page of the comments under a post, or the replies under a comment
    /// (`GET socialActions/{urn}/comments`).
    pub async fn comments(
        &self,
        token: &SecretString,
        target: &str,
        start: u32,
    ) -> Result<CommentPage, ConnectorError> {
        let query = format!("start={start}&count={PAGE_SIZE}");
        let page: wire::List<wire::Comment> = self
            .get(
                self.url(
                    &format!("socialActions/{}/comments", encode(target)),
                    Some(&query),
                ),
                "socialActions.comments",
                token,
            )
            .await?;
        let got = page.elements.len();
        Ok(CommentPage {
            next: next_start(&page.paging, got),
            total: page.paging.total,
            comments: page.elements.into_iter().filter_map(comment).collect(),
        })
    }

    /// One comment, by its id under `target` (the post it is on, or the top-level comment
    /// a reply is under): `GET socialActions/{target}/comments/{id}` (the Comments API's
    /// "Get a Comment"). A comment LinkedIn no longer has is a 404, so
    /// [`FailureReason::ItemDeleted`].
    pub async fn comment(
        &self,
        token: &SecretString,
        target: &str,
        id: &str,
    ) -> Result<Comment, ConnectorError> {
        let got: wire::Comment = self
            .get(
                self.url(
                    &format!("socialActions/{}/comments/{}", encode(target), encode(id)),
                    None,
                ),
                "socialActions.comments.get",
                token,
            )
            .await?;
        comment(got).ok_or_else(|| {
            ConnectorError::Permanent(FailureReason::Other(
                "LinkedIn's comment has no id we can read".into(),
            ))
        })
    }

    /// A post (`GET posts/{urn}`): who wrote it and its text.
    pub async fn post(&self, token: &SecretString, urn: &str) -> Result<Post, ConnectorError> {
        let got: wire::Post = self
            .get(
                self.url(&format!("posts/{}", encode(urn)), None),
                "posts",
                token,
            )
            .await?;
        Ok(Post {
            urn: got.id.unwrap_or_else(|| urn.to_owned()),
            author: got.author.filter(|a| !a.is_empty()),
            text: got.commentary.unwrap_or_default(),
            created_at: got.created_at.or(got.published_at).and_then(millis),
        })
    }

    /// Comment as `actor` (an organization URN) on `object` (the post), under `parent` (a
    /// top-level comment) when given (`POST socialActions/{parent or object}/comments`). The
    /// new comment's URN, from `x-restli-id` (or the body).
    pub async fn create_comment(
        &self,
        token: &SecretString,
        actor: &str,
        object: &str,
        parent: Option<&CommentUrn>,
        text: &str,
    ) -> Result<CommentUrn, ConnectorError> {
        let target = parent.map_or_else(|| object.to_owned(), CommentUrn::urn);
        let mut body = json!({
            "actor": actor,
            "object": object,
            "message": {"text": text},
        });
        if let Some(parent) = parent {
            body["parentComment"] = Value::String(parent.urn());
        }
        let (headers, bytes) = self
            .call(
                Method::POST,
                self.url(&format!("socialActions/{}/comments", encode(&target)), None),
                "socialActions.comments.create",
                token,
                Some(body),
            )
            .await?;
        let from_header = headers
            .get(CREATED_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|s| {
                // The header may come percent-encoded.
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            })
            .filter(|s| !s.is_empty());
        let from_body = serde_json::from_slice::<wire::Comment>(&bytes)
            .ok()
            .and_then(|c| {
                c.comment_urn
                    .or(c.dollar_urn)
                    .or_else(|| c.id.as_ref().and_then(id_string))
            });
        let id = from_header.or(from_body).ok_or_else(|| {
            ConnectorError::Permanent(FailureReason::Other(
                "LinkedIn did not say which comment it created".into(),
            ))
        })?;
        CommentUrn::parse(&id)
            .or_else(|| CommentUrn::parse(&format!("urn:li:comment:({object},{id})")))
            .ok_or_else(|| {
                ConnectorError::Permanent(FailureReason::Other(
                    "LinkedIn's id for the new comment is not one we can read".into(),
                ))
            })
    }

    /// Delete the page's comment (`DELETE socialActions/{object}/comments/{id}?actor=…`).
    pub async fn delete_comment(
        &self,
        token: &SecretString,
        actor: &str,
        comment: &CommentUrn,
    ) -> Result<(), ConnectorError> {
        let query = format!("actor={}", encode(actor));
        self.call(
            Method::DELETE,
            self.url(
                &format!(
                    "socialActions/{}/comments/{}",
                    encode(&comment.object),
                    encode(&comment.id)
                ),
                Some(&query),
            ),
            "socialActions.comments.delete",
            token,
            None,
        )
        .await
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_restli_structure_and_encode_urns() {
        let c = LinkedinClient::new(reqwest::Client::new(), "http://127.0.0.1:9/rest/", "202611")
            .expect("client");
        let url = c.url(
            &format!("socialActions/{}/comments", encode("urn:li:share:7001")),
            Some("actions=List(COMMENT,SHARE_MENTION)&timeRange=(start:1,end:2)"),
        );
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/rest/socialActions/urn%3Ali%3Ashare%3A7001/comments?actions=List(COMMENT,SHARE_MENTION)&timeRange=(start:1,end:2)"
        );
        assert!(LinkedinClient::new(reqwest::Client::new(), "ftp://x/", "202611").is_err());
        assert!(LinkedinClient::new(reqwest::Client::new(), DEFAULT_API_BASE, "2026-11").is_err());
    }

    #[test]
    fn paging_goes_on_while_pages_are_full_or_below_the_total() {
        let p = |start, count, total| wire::Paging {
            start: Some(start),
            count: Some(count),
            total,
            links: vec![],
        };
        assert_eq!(next_start(&p(0, 10, None), 10), Some(10));
        assert_eq!(next_start(&p(0, 10, None), 3), None);
        assert_eq!(next_start(&p(0, 10, Some(25)), 10), Some(10));
        assert_eq!(next_start(&p(20, 10, Some(25)), 5), None);
        // LinkedIn's next link wins: a short page with one goes on, where it points.
        let linked = |href: Option<&str>| wire::Paging {
            links: vec![wire::Link {
                rel: Some("next".into()),
                href: href.map(str::to_owned),
            }],
            ..p(0, 10, None)
        };
        assert_eq!(
            next_start(&linked(Some("/rest/x?q=criteria&start=10&count=10")), 3),
            Some(10)
        );
        assert_eq!(next_start(&linked(None), 3), Some(3));
        assert_eq!(
            next_start(&linked(Some("/rest/x?start=0&count=10")), 3),
            None
        );
    }
}
