//! A pure per-route rate limiter for Discord's REST API (no clock, no I/O: callers pass
//! `Instant`s). Serenity's own limiter is disabled when pointed at a fake (crate notes), so the
//! app paces Discord calls itself.
//!
//! Usage per request: `before(route, now)` → sleep for the returned duration and ask again, or
//! send when it returns `None` (the call reserves one request of the bucket); then `after` with
//! the response's `X-RateLimit-*` headers, or `on_429` for a 429.
//!
//! `route` is the caller's key for a route *with its major parameters*, e.g.
//! `POST /channels/123/messages` (channel, guild and webhook ids+token are major; other ids are
//! not and should be replaced, e.g. `PATCH /channels/123/messages/{id}`). Routes Discord reports
//! with the same `X-RateLimit-Bucket` share one budget. Interaction callbacks are exempt from
//! the global limit but still carry per-route headers.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The rate-limit headers of one response. Build it with [`RateLimitHeaders::from_lookup`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateLimitHeaders {
    /// `X-RateLimit-Bucket`: an opaque id shared by routes with one budget.
    pub bucket: Option<String>,
    /// `X-RateLimit-Limit`.
    pub limit: Option<u32>,
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<u32>,
    /// `X-RateLimit-Reset-After` (seconds with decimals).
    pub reset_after: Option<Duration>,
    /// `X-RateLimit-Global: true` (429 only).
    pub global: bool,
    /// `X-RateLimit-Scope`: `user`, `global` or `shared` (429 only).
    pub scope: Option<String>,
}

impl RateLimitHeaders {
    /// Reads the headers through `get` (a case-insensitive header lookup). Unparsable values
    /// are ignored.
    pub fn from_lookup<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        let text = |name: &str| get(name).map(str::trim).filter(|v| !v.is_empty());
        RateLimitHeaders {
            bucket: text("x-ratelimit-bucket").map(str::to_string),
            limit: text("x-ratelimit-limit").and_then(|v| v.parse().ok()),
            remaining: text("x-ratelimit-remaining").and_then(|v| v.parse().ok()),
            reset_after: text("x-ratelimit-reset-after").and_then(parse_seconds),
            global: text("x-ratelimit-global").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            scope: text("x-ratelimit-scope").map(str::to_string),
        }
    }
}

/// Seconds with decimals (`"64.57"`), as `Retry-After`, `retry_after` and `Reset-After` give.
pub fn parse_seconds(s: &str) -> Option<Duration> {
    s.trim()
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
}

#[derive(Debug, Clone)]
struct Bucket {
    remaining: u32,
    reset_at: Instant,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct RateLimiter {
    /// Route → the bucket id Discord reported for it.
    route_bucket: HashMap<String, String>,
    /// Bucket id (or the route itself until Discord names a bucket) → its state.
    buckets: HashMap<String, Bucket>,
    /// Every route waits until then after a global 429.
    global_until: Option<Instant>,
}

impl RateLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    fn key(&self, route: &str) -> String {
        self.route_bucket
            .get(route)
            .cloned()
            .unwrap_or_else(|| route.to_string())
    }

    /// How long to wait before sending on `route`, or `None`: send now (one request of the
    /// bucket is then counted as used).
    pub fn before(&mut self, route: &str, now: Instant) -> Option<Duration> {
        self.before_with(route, now, true)
    }

    /// [`before`](Self::before) for interaction responses and follow-ups, which Discord exempts
    /// from the global limit (their route buckets still apply).
    pub fn before_exempt(&mut self, route: &str, now: Instant) -> Option<Duration> {
        self.before_with(route, now, false)
    }

    fn before_with(&mut self, route: &str, now: Instant, global_applies: bool) -> Option<Duration> {
        let global = self
            .global_until
            .filter(|until| global_applies && *until > now)
            .map(|until| until - now);
        if self.global_until.is_some_and(|until| until <= now) {
            self.global_until = None;
        }
        let key = self.key(route);
        let bucket_wait = match self.buckets.get_mut(&key) {
            Some(b) if b.reset_at <= now => {
                // The window has reset: the next response will tell the new budget.
                self.buckets.remove(&key);
                None
            }
            Some(b) if b.remaining == 0 => Some(b.reset_at - now),
            Some(b) => {
                if global.is_none() {
                    b.remaining -= 1;
                }
                None
            }
            None => None,
        };
        match (global, bucket_wait) {
            (None, None) => None,
            (a, b) => a.max(b),
        }
    }

    /// Records a response's rate-limit headers for `route`.
    pub fn after(&mut self, route: &str, headers: &RateLimitHeaders, now: Instant) {
        if let Some(bucket) = &headers.bucket {
            // A bucket is shared by routes with the same major parameter only (Discord limits
            // each channel, guild or webhook separately under one bucket id).
            let shared = format!("{bucket}@{}", major(route));
            let previous = self.route_bucket.insert(route.to_string(), shared);
            // A route learning its bucket stops using the route-keyed state.
            if previous.is_none() {
                self.buckets.remove(route);
            }
        }
        let key = self.key(route);
        match (headers.remaining, headers.reset_after) {
            (Some(remaining), Some(reset_after)) => {
                self.buckets.insert(
                    key,
                    Bucket {
                        remaining,
                        reset_at: now + reset_after,
                    },
                );
            }
            (Some(remaining), None) => {
                if let Some(b) = self.buckets.get_mut(&key) {
                    b.remaining = remaining;
                }
            }
            _ => {}
        }
    }

    /// Records a 429: `retry_after` from the body (or `Retry-After`); `global` from the body or
    /// `X-RateLimit-Global`. A global 429 blocks every route.
    pub fn on_429(&mut self, route: &str, retry_after: Duration, global: bool, now: Instant) {
        let until = now + retry_after;
        if global {
            self.global_until = Some(self.global_until.map_or(until, |u| u.max(until)));
            return;
        }
        let key = self.key(route);
        let b = self.buckets.entry(key).or_insert(Bucket {
            remaining: 0,
            reset_at: until,
        });
        b.remaining = 0;
        b.reset_at = b.reset_at.max(until);
    }
}

/// The major parameter of a route key: the id after `channels/`, `guilds/` or `webhooks/`.
fn major(route: &str) -> &str {
    for prefix in ["/channels/", "/guilds/", "/webhooks/"] {
        if let Some(i) = route.find(prefix) {
            let rest = &route[i + prefix.len()..];
            return rest.split('/').next().unwrap_or("");
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGES: &str = "POST /channels/1/messages";
    const EDIT: &str = "PATCH /channels/1/messages/{id}";
    const OTHER: &str = "POST /channels/2/messages";

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn headers(bucket: Option<&str>, remaining: u32, reset_after_ms: u64) -> RateLimitHeaders {
        RateLimitHeaders {
            bucket: bucket.map(str::to_string),
            limit: Some(5),
            remaining: Some(remaining),
            reset_after: Some(ms(reset_after_ms)),
            ..Default::default()
        }
    }

    enum Step {
        /// At `t` ms, `before(route)` answers this wait (ms).
        Before(u64, &'static str, Option<u64>),
        After(u64, &'static str, RateLimitHeaders),
        TooMany(u64, &'static str, u64, bool),
    }
    use Step::*;

    fn run(name: &str, steps: Vec<Step>) {
        let base = Instant::now();
        let mut rl = RateLimiter::new();
        for (i, step) in steps.into_iter().enumerate() {
            match step {
                Before(t, route, want) => assert_eq!(
                    rl.before(route, base + ms(t)),
                    want.map(ms),
                    "{name}: step {i} ({route} at {t} ms)"
                ),
                After(t, route, h) => rl.after(route, &h, base + ms(t)),
                TooMany(t, route, retry, global) => {
                    rl.on_429(route, ms(retry), global, base + ms(t))
                }
            }
        }
    }

    #[test]
    fn table() {
        let cases: Vec<(&str, Vec<Step>)> = vec![
            (
                "unknown routes go at once",
                vec![Before(0, MESSAGES, None), Before(0, MESSAGES, None)],
            ),
            (
                "an exhausted bucket waits for its reset",
                vec![
                    After(0, MESSAGES, headers(Some("b1"), 0, 1500)),
                    Before(500, MESSAGES, Some(1000)),
                    Before(1500, MESSAGES, None),
                ],
            ),
            (
                "remaining requests are reserved by before",
                vec![
                    After(0, MESSAGES, headers(Some("b1"), 2, 1000)),
                    Before(10, MESSAGES, None),
                    Before(20, MESSAGES, None),
                    Before(30, MESSAGES, Some(970)),
                    Before(1000, MESSAGES, None),
                ],
            ),
            (
                "routes with the same bucket share it",
                vec![
                    After(0, MESSAGES, headers(Some("shared"), 5, 1000)),
                    After(0, EDIT, headers(Some("shared"), 0, 800)),
                    Before(100, MESSAGES, Some(700)),
                    Before(100, EDIT, Some(700)),
                    Before(100, OTHER, None),
                ],
            ),
            (
                "routes without a bucket header are keyed by route",
                vec![
                    After(0, MESSAGES, headers(None, 0, 300)),
                    Before(0, MESSAGES, Some(300)),
                    Before(0, OTHER, None),
                ],
            ),
            (
                "a route 429 blocks that bucket only",
                vec![
                    After(0, MESSAGES, headers(Some("b1"), 3, 1000)),
                    TooMany(0, MESSAGES, 2500, false),
                    Before(500, MESSAGES, Some(2000)),
                    Before(500, OTHER, None),
                    Before(2500, MESSAGES, None),
                ],
            ),
            (
                "a 429 on a route never seen still blocks it",
                vec![TooMany(0, EDIT, 400, false), Before(100, EDIT, Some(300))],
            ),
            (
                "a global 429 blocks every route",
                vec![
                    TooMany(0, MESSAGES, 1000, true),
                    Before(200, OTHER, Some(800)),
                    Before(200, EDIT, Some(800)),
                    Before(1000, OTHER, None),
                ],
            ),
            (
                "the longer of global and bucket waits wins",
                vec![
                    After(0, MESSAGES, headers(Some("b1"), 0, 3000)),
                    TooMany(0, OTHER, 1000, true),
                    Before(0, MESSAGES, Some(3000)),
                    Before(0, OTHER, Some(1000)),
                ],
            ),
            (
                "waiting on the global limit does not use the bucket",
                vec![
                    After(0, MESSAGES, headers(Some("b1"), 1, 5000)),
                    TooMany(0, OTHER, 1000, true),
                    Before(0, MESSAGES, Some(1000)),
                    Before(1000, MESSAGES, None),
                    Before(1000, MESSAGES, Some(4000)),
                ],
            ),
            (
                "a later global 429 cannot shorten the block",
                vec![
                    TooMany(0, MESSAGES, 2000, true),
                    TooMany(100, MESSAGES, 100, true),
                    Before(500, MESSAGES, Some(1500)),
                ],
            ),
        ];
        for (name, steps) in cases {
            run(name, steps);
        }
    }

    #[test]
    fn reads_headers() {
        let pairs = [
            ("x-ratelimit-bucket", "abcd1234"),
            ("x-ratelimit-limit", "5"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset-after", "64.57"),
            ("x-ratelimit-global", "true"),
            ("x-ratelimit-scope", "user"),
        ];
        let h = RateLimitHeaders::from_lookup(|name| {
            pairs
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        });
        assert_eq!(
            h,
            RateLimitHeaders {
                bucket: Some("abcd1234".into()),
                limit: Some(5),
                remaining: Some(0),
                reset_after: Some(Duration::from_millis(64_570)),
                global: true,
                scope: Some("user".into()),
            }
        );
        assert_eq!(
            RateLimitHeaders::from_lookup(|_| None),
            RateLimitHeaders::default()
        );
        assert_eq!(parse_seconds("nope"), None);
        assert_eq!(parse_seconds("-1"), None);
    }

    #[test]
    fn interaction_answers_skip_the_global_wait_and_channels_have_their_own_budgets() {
        let mut l = RateLimiter::new();
        let t0 = Instant::now();
        l.on_429(MESSAGES, ms(500), true, t0);
        assert!(
            l.before(OTHER, t0).is_some(),
            "global holds ordinary routes"
        );
        assert_eq!(l.before_exempt("POST /interactions/callback", t0), None);
        assert!(l.before(OTHER, t0).is_some(), "and is still in force after");
        // One bucket id, two channels: separate budgets.
        let mut l = RateLimiter::new();
        let empty = RateLimitHeaders {
            bucket: Some("b".into()),
            remaining: Some(0),
            reset_after: Some(ms(1000)),
            ..Default::default()
        };
        l.after(MESSAGES, &empty, t0);
        assert!(l.before(MESSAGES, t0).is_some());
        assert_eq!(l.before(OTHER, t0), None);
    }
}
