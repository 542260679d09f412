//! Google Business Profile: the accounts and locations a user manages (v1 Account Management
//! and Business Information APIs) and each location's reviews, with the owner's reply (v4).
//!
//! Reviews are polled newest update first (`orderBy=updateTime desc`); [`review_changes`]
//! turns a page into envelopes and says when the high-water mark is reached. One ticket per
//! review: a reviewer has no id the API shares, so the review stands in for its author.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;
use url::Url;

use super::Poll;
use super::error::GoogleError;
use super::http::{BaseUrlError, call, join, parse_base, parse_json};
use crate::core::{
    AccountId, Customer, CustomerId, FailureReason, InboundItem, ItemContext, ItemKind, Network,
    NetworkChange, NetworkEnvelope, NetworkItemId,
};

/// Account Management API root (`accounts.list`).
pub const DEFAULT_ACCOUNT_MANAGEMENT_BASE: &str =
    "https://mybusinessaccountmanagement.googleapis.com/v1";
/// Business Information API root (`accounts.locations.list`).
pub const DEFAULT_BUSINESS_INFORMATION_BASE: &str =
    "https://mybusinessbusinessinformation.googleapis.com/v1";
/// Reviews still live on the v4 My Business API.
pub const DEFAULT_REVIEWS_BASE: &str = "https://mybusiness.googleapis.com/v4";

/// Accounts per page: the maximum `accounts.list` allows.
pub const ACCOUNTS_PAGE_SIZE: u32 = 20;
/// Locations per page: the maximum `accounts.locations.list` allows.
pub const LOCATIONS_PAGE_SIZE: u32 = 100;
/// Reviews per page: the maximum `reviews.list` allows in the current documentation.
pub const REVIEWS_PAGE_SIZE: u32 = 50;
/// At most this many pages of one listing when reading everything a grant reaches
/// ([`BusinessClient::all_accounts`], [`BusinessClient::all_locations`]): 1,000 accounts,
/// 5,000 locations per account. A listing longer than that (or one whose page tokens never
/// end) is cut there, with a warning, rather than read forever.
pub const MAX_LISTING_PAGES: u32 = 50;
/// The location fields we read; `readMask` is required by `accounts.locations.list`.
pub const LOCATION_READ_MASK: &str = "name,title,storeCode,metadata";

/// What cards call a reviewer Google does not name.
pub const ANONYMOUS_REVIEWER: &str = "A Google user";

/// How close a review's `updateTime` may be to our reply's for the update to count as our
/// reply rather than the customer's edit (replying may bump the review's `updateTime`).
pub const REPLY_ECHO_WINDOW: TimeDelta = TimeDelta::seconds(5);

/// The three API roots, each configurable (local fakes in tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessBases {
    pub account_management: String,
    pub business_information: String,
    pub reviews: String,
}

impl Default for BusinessBases {
    fn default() -> Self {
        Self {
            account_management: DEFAULT_ACCOUNT_MANAGEMENT_BASE.into(),
            business_information: DEFAULT_BUSINESS_INFORMATION_BASE.into(),
            reviews: DEFAULT_REVIEWS_BASE.into(),
        }
    }
}

/// A Business Profile account the user owns or manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessAccount {
    /// `accounts/{accountId}`.
    pub name: String,
    /// Its display name.
    pub account_name: Option<String>,
    /// `PERSONAL`, `LOCATION_GROUP`, `USER_GROUP`, `ORGANIZATION`.
    pub kind: Option<String>,
}

/// One page of `accounts.list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPage {
    pub accounts: Vec<BusinessAccount>,
    pub next_page_token: Option<String>,
}

/// A business location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// `locations/{locationId}` (the v1 name, without the account).
    pub name: String,
    pub title: String,
    pub store_code: Option<String>,
    /// The location on Google Maps.
    pub maps_uri: Option<String>,
}

impl Location {
    /// `accounts/{a}/locations/{l}`: the v4 name reviews hang off, and the [`AccountId`] of a
    /// connected location. `None` when either name is not of the documented shape.
    pub fn reviews_parent(&self, account: &str) -> Option<String> {
        let account_id = single_id(account, "accounts")?;
        let location_id = single_id(&self.name, "locations")?;
        Some(format!("accounts/{account_id}/locations/{location_id}"))
    }
}

/// Read a listing page after page: `page(token)` gives one page's items and the next page's
/// token (`None`: the last page). Stops after [`MAX_LISTING_PAGES`] pages.
async fn all_pages<T, F, Fut>(listing: &str, mut page: F) -> Result<Vec<T>, GoogleError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), GoogleError>>,
{
    let mut all = Vec::new();
    let mut next = None;
    for _ in 0..MAX_LISTING_PAGES {
        let (items, token) = page(next).await?;
        all.extend(items);
        match token {
            Some(token) => next = Some(token),
            None => return Ok(all),
        }
    }
    tracing::warn!(
        listing,
        pages = MAX_LISTING_PAGES,
        "Business Profile listing longer than the page bound: the rest is left out"
    );
    Ok(all)
}

/// `<collection>/<id>` → `id`.
fn single_id<'a>(name: &'a str, collection: &str) -> Option<&'a str> {
    let id = name.strip_prefix(collection)?.strip_prefix('/')?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// One page of `accounts.locations.list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationPage {
    pub locations: Vec<Location>,
    pub next_page_token: Option<String>,
}

/// A customer review, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// `accounts/{a}/locations/{l}/reviews/{r}`: what replies are addressed to.
    pub name: String,
    pub id: NetworkItemId,
    pub reviewer_name: Option<String>,
    pub anonymous: bool,
    /// 1 to 5; `None` when Google sends `STAR_RATING_UNSPECIFIED` or nothing.
    pub rating: Option<u8>,
    /// Absent on rating-only reviews.
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The owner's reply, if any.
    pub reply: Option<ReviewReply>,
}

/// The owner's public reply to a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewReply {
    pub comment: String,
    pub updated_at: Option<DateTime<Utc>>,
}

/// One page of `reviews.list`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewPage {
    pub reviews: Vec<Review>,
    pub next_page_token: Option<String>,
    pub average_rating: Option<f64>,
    pub total_review_count: Option<u64>,
}

/// The Business Profile APIs for the locations a token's user manages.
///
/// Give it a `reqwest::Client` with a request timeout: the client adds none of its own.
#[derive(Debug, Clone)]
pub struct BusinessClient {
    http: reqwest::Client,
    account_management: Url,
    business_information: Url,
    reviews: Url,
}

impl BusinessClient {
    pub fn new(http: reqwest::Client, bases: &BusinessBases) -> Result<Self, BaseUrlError> {
        Ok(Self {
            http,
            account_management: parse_base(&bases.account_management)?,
            business_information: parse_base(&bases.business_information)?,
            reviews: parse_base(&bases.reviews)?,
        })
    }

    /// One page of the accounts the user owns or manages (the personal account first).
    pub async fn accounts(
        &self,
        token: &SecretString,
        page_token: Option<&str>,
    ) -> Result<AccountPage, GoogleError> {
        let mut url = join(&self.account_management, &["accounts"])?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("pageSize", &ACCOUNTS_PAGE_SIZE.to_string());
            if let Some(page) = page_token.filter(|p| !p.is_empty()) {
                q.append_pair("pageToken", page);
            }
        }
        let body = call(
            &self.http,
            Method::GET,
            url,
            "gbp.accounts.list",
            token,
            None,
        )
        .await?;
        let list: wire::AccountList = parse_json(&body, "Business Profile accounts.list")?;
        Ok(AccountPage {
            accounts: list
                .accounts
                .into_iter()
                .filter(|a| single_id(&a.name, "accounts").is_some())
                .map(|a| BusinessAccount {
                    name: a.name,
                    account_name: a.account_name,
                    kind: a.kind,
                })
                .collect(),
            next_page_token: list.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// Every account the user owns or manages, page after page (at most
    /// [`MAX_LISTING_PAGES`]).
    pub async fn all_accounts(
        &self,
        token: &SecretString,
    ) -> Result<Vec<BusinessAccount>, GoogleError> {
        all_pages("accounts.list", |page: Option<String>| async move {
            let got = self.accounts(token, page.as_deref()).await?;
            Ok((got.accounts, got.next_page_token))
        })
        .await
    }

    /// Every location of `account`, page after page (at most [`MAX_LISTING_PAGES`]).
    pub async fn all_locations(
        &self,
        token: &SecretString,
        account: &str,
    ) -> Result<Vec<Location>, GoogleError> {
        all_pages(
            "accounts.locations.list",
            |page: Option<String>| async move {
                let got = self.locations(token, account, page.as_deref()).await?;
                Ok((got.locations, got.next_page_token))
            },
        )
        .await
    }

    /// One page of an account's locations (`account` is `accounts/{accountId}`).
    pub async fn locations(
        &self,
        token: &SecretString,
        account: &str,
        page_token: Option<&str>,
    ) -> Result<LocationPage, GoogleError> {
        let account_id = single_id(account, "accounts").ok_or_else(|| bad_name(account))?;
        let mut url = join(
            &self.business_information,
            &["accounts", account_id, "locations"],
        )?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("readMask", LOCATION_READ_MASK)
                .append_pair("pageSize", &LOCATIONS_PAGE_SIZE.to_string());
            if let Some(page) = page_token.filter(|p| !p.is_empty()) {
                q.append_pair("pageToken", page);
            }
        }
        let body = call(
            &self.http,
            Method::GET,
            url,
            "gbp.locations.list",
            token,
            None,
        )
        .await?;
        let list: wire::LocationList = parse_json(&body, "Business Profile locations.list")?;
        Ok(LocationPage {
            locations: list
                .locations
                .into_iter()
                .filter(|l| single_id(&l.name, "locations").is_some())
                .map(|l| Location {
                    name: l.name,
                    title: l.title.unwrap_or_default(),
                    store_code: l.store_code.filter(|s| !s.is_empty()),
                    maps_uri: l.metadata.and_then(|m| m.maps_uri),
                })
                .collect(),
            next_page_token: list.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// One page of a location's reviews, most recently updated first. `location_name` is
    /// `accounts/{a}/locations/{l}` ([`Location::reviews_parent`]).
    pub async fn reviews(
        &self,
        token: &SecretString,
        location_name: &str,
        page_token: Option<&str>,
    ) -> Result<ReviewPage, GoogleError> {
        let segments = resource_segments(location_name, &["accounts", "locations"])?;
        let mut path = segments.clone();
        path.push("reviews");
        let mut url = join(&self.reviews, &path)?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("pageSize", &REVIEWS_PAGE_SIZE.to_string());
            if let Some(page) = page_token.filter(|p| !p.is_empty()) {
                q.append_pair("pageToken", page);
            }
        }
        // Google's guides write the space as %20; form encoding would make it '+'.
        let query = format!(
            "{}&orderBy=updateTime%20desc",
            url.query().unwrap_or_default()
        );
        url.set_query(Some(&query));
        let body = call(
            &self.http,
            Method::GET,
            url,
            "gbp.reviews.list",
            token,
            None,
        )
        .await?;
        let list: wire::ReviewList = parse_json(&body, "Business Profile reviews.list")?;
        Ok(ReviewPage {
            reviews: list
                .reviews
                .into_iter()
                .filter_map(normalise_review)
                .collect(),
            next_page_token: list.next_page_token.filter(|t| !t.is_empty()),
            average_rating: list.average_rating,
            total_review_count: list.total_review_count,
        })
    }

    /// Creates or replaces the owner's public reply (`review_name` is
    /// `accounts/{a}/locations/{l}/reviews/{r}`; verified locations only).
    pub async fn put_reply(
        &self,
        token: &SecretString,
        review_name: &str,
        text: &str,
    ) -> Result<(), GoogleError> {
        let url = self.reply_url(review_name)?;
        let body = call(
            &self.http,
            Method::PUT,
            url,
            "gbp.reviews.updateReply",
            token,
            Some(json!({ "comment": text })),
        )
        .await?;
        // The answer is the ReviewReply; not needed beyond knowing it is one.
        let _: wire::Reply = parse_json(&body, "Business Profile reviews.updateReply")?;
        Ok(())
    }

    /// Removes the owner's reply.
    pub async fn delete_reply(
        &self,
        token: &SecretString,
        review_name: &str,
    ) -> Result<(), GoogleError> {
        let url = self.reply_url(review_name)?;
        call(
            &self.http,
            Method::DELETE,
            url,
            "gbp.reviews.deleteReply",
            token,
            None,
        )
        .await?;
        Ok(())
    }

    fn reply_url(&self, review_name: &str) -> Result<Url, GoogleError> {
        let mut path = resource_segments(review_name, &["accounts", "locations", "reviews"])?;
        path.push("reply");
        join(&self.reviews, &path)
    }
}

/// A resource name `c1/id1/c2/id2/…` with exactly the given collections, as path segments.
fn resource_segments<'a>(name: &'a str, collections: &[&str]) -> Result<Vec<&'a str>, GoogleError> {
    let parts: Vec<&str> = name.split('/').collect();
    let shaped = parts.len() == collections.len() * 2
        && parts.chunks(2).zip(collections).all(|(pair, collection)| {
            pair[0] == *collection && !pair[1].is_empty() && pair[1] != "." && pair[1] != ".."
        });
    if shaped {
        Ok(parts)
    } else {
        Err(bad_name(name))
    }
}

fn bad_name(name: &str) -> GoogleError {
    GoogleError::Permanent(FailureReason::Other(format!(
        "not a Business Profile resource name: {name:?}"
    )))
}

/// A wire review → [`Review`]; `None` (logged) without an id or creation time.
fn normalise_review(r: wire::Review) -> Option<Review> {
    let (Some(created_at), false) = (r.create_time, r.review_id.is_empty()) else {
        tracing::warn!("Business Profile review without reviewId or createTime, skipped");
        return None;
    };
    let reviewer = r.reviewer.unwrap_or_default();
    let rating = match r.star_rating.as_deref() {
        Some("ONE") => Some(1),
        Some("TWO") => Some(2),
        Some("THREE") => Some(3),
        Some("FOUR") => Some(4),
        Some("FIVE") => Some(5),
        _ => None,
    };
    Some(Review {
        name: r.name,
        id: NetworkItemId::new(r.review_id),
        reviewer_name: reviewer.display_name.filter(|n| !n.is_empty()),
        anonymous: reviewer.is_anonymous.unwrap_or(false),
        rating,
        comment: r.comment.filter(|c| !c.is_empty()),
        created_at,
        updated_at: r.update_time.unwrap_or(created_at).max(created_at),
        reply: r.review_reply.map(|reply| ReviewReply {
            comment: reply.comment.unwrap_or_default(),
            updated_at: reply.update_time,
        }),
    })
}

/// Turns a page of reviews of one location into envelopes. `account` is the location's v4 name
/// (`accounts/{a}/locations/{l}`), `location_title` what cards show as the subject. A review
/// created after `high_water` is new; an older one updated after it is an edit carrying its
/// current text and rating, unless the update is our own reply landing
/// ([`REPLY_ECHO_WINDOW`]). Envelopes come oldest first.
pub fn review_changes(
    account: &AccountId,
    location_title: &str,
    reviews: &[Review],
    high_water: Option<DateTime<Utc>>,
) -> Poll {
    // At or after: Google's times are per second, so an item from the mark's own second may
    // arrive after the poll that set it. Re-reading one is harmless (dedupe on its key).
    let after_mark = |t: DateTime<Utc>| high_water.is_none_or(|mark| t >= mark);
    let mut changes: Vec<(DateTime<Utc>, NetworkEnvelope)> = Vec::new();
    let mut newest: Option<DateTime<Utc>> = None;
    let mut reached_high_water = false;

    for review in reviews {
        newest = newest.max(Some(review.updated_at));
        if !after_mark(review.updated_at) {
            // Sorted by updateTime desc: everything after this one is older still.
            reached_high_water = true;
            continue;
        }
        let text = review.comment.clone().unwrap_or_default();
        if after_mark(review.created_at) {
            changes.push((
                review.created_at,
                NetworkEnvelope {
                    dedupe_key: format!("google:review:{}", review.id),
                    change: NetworkChange::New {
                        item: review_item(account, location_title, review, text.clone()),
                    },
                },
            ));
        }
        // Created before the mark, or at the mark's own second (the poll that set the mark
        // may have read it, and the "new" above is then a duplicate), and updated since, not
        // by our reply: an edit.
        if review.updated_at > review.created_at
            && high_water.is_some_and(|mark| review.created_at <= mark)
            && !is_reply_echo(review)
        {
            changes.push((
                review.updated_at,
                NetworkEnvelope {
                    dedupe_key: format!(
                        "google:review:{}:edit:{}",
                        review.id,
                        review
                            .updated_at
                            .to_rfc3339_opts(SecondsFormat::AutoSi, true)
                    ),
                    change: NetworkChange::Edited {
                        network: Network::Google,
                        account: account.clone(),
                        item_id: review.id.clone(),
                        text,
                        // Stars can change with or without the text.
                        rating: review.rating,
                    },
                },
            ));
        }
    }

    changes.sort_by_key(|c| c.0);
    Poll {
        envelopes: changes.into_iter().map(|(_, e)| e).collect(),
        reached_high_water,
        newest,
    }
}

/// The review's last update is (within [`REPLY_ECHO_WINDOW`]) the owner's reply.
fn is_reply_echo(review: &Review) -> bool {
    review
        .reply
        .as_ref()
        .and_then(|r| r.updated_at)
        .is_some_and(|replied| (review.updated_at - replied).abs() <= REPLY_ECHO_WINDOW)
}

fn review_item(
    account: &AccountId,
    location_title: &str,
    review: &Review,
    text: String,
) -> InboundItem {
    let name = if review.anonymous {
        None
    } else {
        review.reviewer_name.clone()
    };
    InboundItem {
        network: Network::Google,
        account: account.clone(),
        item_id: review.id.clone(),
        kind: ItemKind::Review,
        // One ticket per review: the review is its own "post".
        post_id: review.id.clone(),
        customer: Customer {
            // Google shares no reviewer id: the review stands in for its author.
            id: CustomerId::unknown_author_of(&review.id),
            name: Some(name.unwrap_or_else(|| ANONYMOUS_REVIEWER.to_owned())),
        },
        text,
        created_at: review.created_at,
        // The v4 API gives no link to a single review.
        permalink: None,
        attachments: vec![],
        context: ItemContext {
            subject: Some(location_title.to_owned()).filter(|t| !t.is_empty()),
            subject_url: None,
            rating: review.rating,
            held: None,
        },
    }
}

/// The Business Profile JSON, as far as we read it.
mod wire {
    use chrono::{DateTime, Utc};
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct AccountList {
        #[serde(default)]
        pub accounts: Vec<Account>,
        pub next_page_token: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Account {
        #[serde(default)]
        pub name: String,
        pub account_name: Option<String>,
        #[serde(rename = "type")]
        pub kind: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct LocationList {
        #[serde(default)]
        pub locations: Vec<Location>,
        pub next_page_token: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Location {
        #[serde(default)]
        pub name: String,
        pub title: Option<String>,
        pub store_code: Option<String>,
        pub metadata: Option<Metadata>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Metadata {
        pub maps_uri: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ReviewList {
        #[serde(default)]
        pub reviews: Vec<Review>,
        pub next_page_token: Option<String>,
        pub average_rating: Option<f64>,
        pub total_review_count: Option<u64>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Review {
        #[serde(default)]
        pub name: String,
        #[serde(default)]
        pub review_id: String,
        pub reviewer: Option<Reviewer>,
        pub star_rating: Option<String>,
        pub comment: Option<String>,
        pub create_time: Option<DateTime<Utc>>,
        pub update_time: Option<DateTime<Utc>>,
        pub review_reply: Option<Reply>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Reviewer {
        pub display_name: Option<String>,
        pub is_anonymous: Option<bool>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Reply {
        pub comment: Option<String>,
        pub update_time: Option<DateTime<Utc>>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCATION: &str = "accounts/111/locations/222";

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("date")
            .with_timezone(&Utc)
    }

    fn review(id: &str, created: &str, updated: &str) -> Review {
        Review {
            name: format!("{LOCATION}/reviews/{id}"),
            id: NetworkItemId::new(id),
            reviewer_name: Some("Jane D.".into()),
            anonymous: false,
            rating: Some(4),
            comment: Some(format!("review {id}")),
            created_at: at(created),
            updated_at: at(updated),
            reply: None,
        }
    }

    fn account() -> AccountId {
        AccountId::new(LOCATION)
    }

    fn keys(poll: &Poll) -> Vec<&str> {
        poll.envelopes
            .iter()
            .map(|e| e.dedupe_key.as_str())
            .collect()
    }

    fn new_item(poll: &Poll, i: usize) -> &InboundItem {
        match &poll.envelopes[i].change {
            NetworkChange::New { item } => item,
            other => panic!("expected a new item, got {other:?}"),
        }
    }

    #[test]
    fn new_reviews_become_one_ticket_each_and_paging_stops_at_the_mark() {
        // updateTime desc, as listed.
        let reviews = [
            review("R3", "2026-08-01T12:30:00Z", "2026-08-01T12:30:00Z"),
            review("R2", "2026-08-01T12:10:00Z", "2026-08-01T12:10:00Z"),
            review("R1", "2026-08-01T11:00:00Z", "2026-08-01T11:00:00Z"),
        ];
        let poll = review_changes(
            &account(),
            "Café <Central>",
            &reviews,
            Some(at("2026-08-01T12:00:00Z")),
        );
        assert_eq!(keys(&poll), ["google:review:R2", "google:review:R3"]);
        assert!(poll.reached_high_water);
        assert_eq!(poll.newest, Some(at("2026-08-01T12:30:00Z")));

        let item = new_item(&poll, 0);
        assert_eq!(item.network, Network::Google);
        assert_eq!(item.account.as_str(), LOCATION);
        assert_eq!(item.kind, ItemKind::Review);
        assert_eq!(item.item_id.as_str(), "R2");
        assert_eq!(item.post_id.as_str(), "R2");
        assert_eq!(item.text, "review R2");
        assert_eq!(item.customer.name.as_deref(), Some("Jane D."));
        assert_eq!(
            item.customer.id,
            CustomerId::unknown_author_of(&NetworkItemId::new("R2"))
        );
        assert_eq!(item.context.rating, Some(4));
        assert_eq!(item.context.subject.as_deref(), Some("Café <Central>"));
        assert_eq!(item.created_at, at("2026-08-01T12:10:00Z"));
        // Two reviews by the same-named person are still two tickets.
        assert_ne!(
            item.conversation_key(),
            new_item(&poll, 1).conversation_key()
        );
    }

    #[test]
    fn rating_only_and_anonymous_reviews() {
        let mut silent = review("R1", "2026-08-01T12:10:00Z", "2026-08-01T12:10:00Z");
        silent.comment = None;
        silent.rating = Some(1);
        let mut anonymous = review("R2", "2026-08-01T12:20:00Z", "2026-08-01T12:20:00Z");
        anonymous.anonymous = true;
        anonymous.reviewer_name = Some("Someone Real".into());
        let mut nameless = review("R3", "2026-08-01T12:30:00Z", "2026-08-01T12:30:00Z");
        nameless.reviewer_name = None;
        let poll = review_changes(
            &account(),
            "Café",
            &[nameless, anonymous, silent],
            Some(at("2026-08-01T12:00:00Z")),
        );
        assert!(!poll.reached_high_water);
        let silent = new_item(&poll, 0);
        assert_eq!(silent.text, "");
        assert_eq!(silent.context.rating, Some(1));
        assert_eq!(
            new_item(&poll, 1).customer.name.as_deref(),
            Some(ANONYMOUS_REVIEWER)
        );
        assert_eq!(
            new_item(&poll, 2).customer.name.as_deref(),
            Some(ANONYMOUS_REVIEWER)
        );
    }

    #[test]
    fn a_review_from_the_marks_second_updated_later_is_new_and_edited() {
        // The poll that set the mark read R1 when it was created; Jane changed it since.
        let mut changed = review("R1", "2026-08-01T12:00:00Z", "2026-08-01T14:00:00Z");
        changed.rating = Some(2);
        let poll = review_changes(
            &account(),
            "Café",
            std::slice::from_ref(&changed),
            Some(at("2026-08-01T12:00:00Z")),
        );
        assert_eq!(
            keys(&poll),
            [
                "google:review:R1",
                "google:review:R1:edit:2026-08-01T14:00:00Z"
            ]
        );
        match &poll.envelopes[1].change {
            NetworkChange::Edited { rating, .. } => assert_eq!(*rating, Some(2)),
            other => panic!("{other:?}"),
        }
        // Created well after the mark: only new (its current text and stars).
        let poll = review_changes(
            &account(),
            "Café",
            &[changed],
            Some(at("2026-08-01T11:00:00Z")),
        );
        assert_eq!(keys(&poll), ["google:review:R1"]);
    }

    #[test]
    fn an_old_review_updated_after_the_mark_is_an_edit_unless_it_is_our_reply() {
        let edited = review("R1", "2026-07-01T09:00:00Z", "2026-08-01T12:30:00.250Z");
        let mut replied = review("R2", "2026-07-02T09:00:00Z", "2026-08-01T12:20:00Z");
        replied.reply = Some(ReviewReply {
            comment: "Thanks!".into(),
            updated_at: Some(at("2026-08-01T12:20:00Z")),
        });
        let poll = review_changes(
            &account(),
            "Café",
            &[edited, replied],
            Some(at("2026-08-01T12:00:00Z")),
        );
        assert_eq!(
            keys(&poll),
            ["google:review:R1:edit:2026-08-01T12:30:00.250Z"]
        );
        assert_eq!(
            poll.envelopes[0].change,
            NetworkChange::Edited {
                network: Network::Google,
                account: account(),
                item_id: NetworkItemId::new("R1"),
                text: "review R1".into(),
                rating: Some(4),
            }
        );
        assert!(!poll.reached_high_water);
    }

    #[test]
    fn resource_names_are_checked_before_they_become_paths() {
        let location = Location {
            name: "locations/222".into(),
            title: "Café".into(),
            store_code: None,
            maps_uri: None,
        };
        assert_eq!(
            location.reviews_parent("accounts/111").as_deref(),
            Some(LOCATION)
        );
        assert_eq!(location.reviews_parent("accounts/1/2"), None);
        assert_eq!(location.reviews_parent("111"), None);
        assert!(resource_segments(LOCATION, &["accounts", "locations"]).is_ok());
        for bad in [
            "accounts/111",
            "accounts/../locations/2",
            "accounts/1/locations/",
            "accounts/1/things/2",
            "accounts/1/locations/2/reviews/3",
        ] {
            assert!(
                resource_segments(bad, &["accounts", "locations"]).is_err(),
                "{bad}"
            );
        }
    }
}
