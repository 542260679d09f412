//! The one HTTP call both Google clients make: Bearer token in the header, failures
//! classified into [`GoogleError`], URLs kept out of every error and log line.

use reqwest::{Method, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::error::{GoogleError, classify, retry_after, transport};
use crate::core::FailureReason;

/// A configured base URL that Google API paths cannot be appended to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Google API base URL {url:?}: {reason}")]
pub struct BaseUrlError {
    url: String,
    reason: String,
}

/// Parses a configured API root (`https://www.googleapis.com/youtube/v3`, or a local fake).
pub(super) fn parse_base(base: &str) -> Result<Url, BaseUrlError> {
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
    Ok(url)
}

/// `base` + `segments`, each percent-encoded as exactly one path segment (so an id can never
/// add a segment of its own).
pub(super) fn join(base: &Url, segments: &[&str]) -> Result<Url, GoogleError> {
    if segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == "..")
    {
        return Err(GoogleError::Permanent(FailureReason::Other(
            "empty or relative id in a Google API path".into(),
        )));
    }
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| {
            GoogleError::Permanent(FailureReason::Other(
                "the Google API base URL cannot take a path".into(),
            ))
        })?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// Makes one call and returns the body of a 2xx answer; any other answer is classified.
/// `route` names the method in logs (never the URL: it carries customer ids and page tokens).
pub(super) async fn call(
    http: &reqwest::Client,
    method: Method,
    url: Url,
    route: &'static str,
    token: &SecretString,
    json: Option<serde_json::Value>,
) -> Result<bytes::Bytes, GoogleError> {
    tracing::debug!(%method, route, "Google API call");
    let request: RequestBuilder = http.request(method, url).bearer_auth(token.expose_secret());
    let request = match json {
        Some(body) => request.json(&body),
        None => request,
    };
    let response = request.send().await.map_err(|e| transport(route, e))?;
    let status = response.status();
    let retry_after = retry_after(response.headers(), chrono::Utc::now());
    let body = response.bytes().await.map_err(|e| transport(route, e))?;
    if status.is_success() {
        Ok(body)
    } else {
        let error = classify(status, retry_after, &body);
        tracing::debug!(route, %status, ?error, "Google API call failed");
        Err(error)
    }
}

/// Reads a 2xx JSON answer into its wire type. An answer we cannot read is permanent: for
/// writes the action may well have happened, and a read that cannot be parsed now will not
/// parse on a retry either.
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &str,
) -> Result<T, GoogleError> {
    serde_json::from_slice(body).map_err(|e| {
        GoogleError::Permanent(FailureReason::Other(format!(
            "unexpected {what} response: {e}"
        )))
    })
}
