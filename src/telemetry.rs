//! Operational metrics, exposed in Prometheus text format at `GET /metrics`
//! (`server::metrics`).
//!
//! Each [`Services`](crate::workers::Services) owns its recorder instead of installing the
//! process-global one: several services built in one process (the tests) never share or
//! overwrite each other's series, and nothing has to be installed exactly once. Recording goes
//! through [`metrics::with_local_recorder`], so the `metrics` macros are used as usual.
//!
//! Labels carry bounded, non-secret values only: route templates (never the raw URI), status
//! codes, surface and network names, fixed outcome words and account record ids. Never a
//! token, a customer's name or text.
//!
//! Counters and histograms are recorded where the work happens; queue depths, ages, poll lag
//! and account health are gauges refreshed from the store when `/metrics` is scraped
//! ([`Metrics::refresh`]), so they are right on every replica whichever one did the work.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::core::{Network, Surface};
use crate::store::{DynStore, JobStatus};

/// Histogram buckets of the delivery latency (job committed → delivered), in seconds: from
/// an instant delivery to the default 24 h retry budget.
const LATENCY_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0,
];

/// Histogram buckets of the HTTP request duration, in seconds (an acknowledgement is a
/// database commit: milliseconds; Slack gives up after 3 s).
const REQUEST_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// How often buffered histogram samples are folded into their buckets when nobody scrapes
/// (the recorder keeps raw samples until then).
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Where a job was delivered: a chat surface, or a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Chat(Surface),
    Network(Network),
}

impl Target {
    fn labels(self) -> (&'static str, &'static str) {
        match self {
            Target::Chat(s) => ("chat", s.as_str()),
            Target::Network(n) => ("network", n.as_str()),
        }
    }
}

/// How one delivery attempt ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    /// A failure that will be retried (`rate_limited`: the server said to slow down).
    Retried {
        rate_limited: bool,
    },
    /// Given up: shown to the team or listed by `switchboard outbox failed`.
    GivenUp,
}

impl DeliveryOutcome {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Retried { .. } => "retried",
            DeliveryOutcome::GivenUp => "given_up",
        }
    }
}

/// The series this service records, and its scrape-time gauges.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    polls: Mutex<PollTrack>,
}

/// What the poll lag is computed from: when this process started polling which networks, and
/// each account's last successful poll here.
#[derive(Default)]
struct PollTrack {
    since: Option<DateTime<Utc>>,
    networks: Vec<Network>,
    last_ok: HashMap<i64, DateTime<Utc>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let builder = PrometheusBuilder::new();
        let builder = match builder.set_buckets(LATENCY_BUCKETS) {
            Ok(b) => b,
            Err(_) => PrometheusBuilder::new(),
        };
        let builder = match builder.set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(HTTP_DURATION.into()),
            REQUEST_BUCKETS,
        ) {
            Ok(b) => b,
            Err(_) => PrometheusBuilder::new(),
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        let this = Self {
            recorder,
            handle,
            polls: Mutex::new(PollTrack::default()),
        };
        this.describe();
        this
    }

    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, f)
    }

    fn describe(&self) {
        self.with(|| {
            use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
            describe_gauge!(BUILD_INFO, "The running version (always 1).");
            describe_counter!(
                HTTP_REQUESTS,
                "Inbound HTTP requests by route template and status."
            );
            describe_histogram!(
                HTTP_DURATION,
                Unit::Seconds,
                "Inbound HTTP request duration."
            );
            describe_gauge!(INBOX_PENDING, "Inbox rows not processed yet.");
            describe_gauge!(
                INBOX_AGE,
                Unit::Seconds,
                "Age of the oldest unprocessed inbox row."
            );
            describe_gauge!(OUTBOX_PENDING, "Outbox jobs pending (due or scheduled).");
            describe_gauge!(
                OUTBOX_AGE,
                Unit::Seconds,
                "How long the oldest due job has waited."
            );
            describe_gauge!(OUTBOX_FAILED, "Given-up outbox jobs kept for operators.");
            describe_counter!(DELIVERIES, "Delivery attempts by kind, target and outcome.");
            describe_histogram!(LATENCY, Unit::Seconds, "Job committed to delivered.");
            describe_counter!(
                RETRIES,
                "Delivery attempts that will be retried, by reason."
            );
            describe_counter!(
                RATE_LIMIT_WAITS,
                "Waits imposed by a rate limit or by pacing."
            );
            describe_counter!(GIVEN_UP, "Outbox jobs given up.");
            describe_counter!(
                INGEST_PRESSED,
                "Times webhook acknowledgements began to queue and the workers took one item at a time."
            );
            describe_counter!(
                INBOX_PROCESSED,
                "Inbox rows handled, by source and outcome."
            );
            describe_counter!(POLLS, "Poll rounds by outcome.");
            describe_gauge!(
                POLL_LAG,
                Unit::Seconds,
                "Time since the account's last successful poll here."
            );
            describe_gauge!(
                ACCOUNTS_UNHEALTHY,
                "Connected accounts that need reconnecting."
            );
            gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        });
    }

    /// One inbound request answered: `route` is the matched route template.
    pub fn http_request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let (route, method) = (route.to_string(), method.to_string());
        self.with(|| {
            counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method, "status" => status.to_string())
                .increment(1);
            histogram!(HTTP_DURATION, "route" => route).record(took.as_secs_f64());
        });
    }

    /// One delivery attempt ended; `committed` is when its job was queued.
    pub fn delivery(
        &self,
        target: Target,
        outcome: DeliveryOutcome,
        committed: DateTime<Utc>,
        now: DateTime<Utc>,
    ) {
        let (kind, to) = target.labels();
        self.with(|| {
            counter!(DELIVERIES, "kind" => kind, "target" => to, "outcome" => outcome.as_str())
                .increment(1);
            match outcome {
                DeliveryOutcome::Delivered => {
                    let secs = (now - committed).num_milliseconds().max(0) as f64 / 1000.0;
                    histogram!(LATENCY, "kind" => kind, "target" => to).record(secs);
                }
                DeliveryOutcome::Retried { rate_limited } => {
                    let reason = if rate_limited { "rate_limited" } else { "error" };
                    counter!(RETRIES, "kind" => kind, "target" => to, "reason" => reason)
                        .increment(1);
                    if rate_limited {
                        counter!(RATE_LIMIT_WAITS, "kind" => kind, "target" => to, "source" => "server")
                            .increment(1);
                    }
                }
                DeliveryOutcome::GivenUp => {
                    counter!(GIVEN_UP, "kind" => kind, "target" => to).increment(1);
                }
            }
        });
    }

    /// A job waits without it being a failure; pacing counts as a rate-limit wait.
    pub fn outbox_wait(&self, target: Option<Target>, pacing: bool) {
        if !pacing {
            return;
        }
        let (kind, to) = target.map_or(("chat", "unknown"), Target::labels);
        self.with(|| {
            counter!(RATE_LIMIT_WAITS, "kind" => kind, "target" => to, "source" => "pacing")
                .increment(1);
        });
    }

    /// How many times acknowledgements began to queue in this process (a count kept by the
    /// inbox writer, set here when `/metrics` is scraped).
    pub fn ingest_pressed(&self, times: u64) {
        self.with(|| counter!(INGEST_PRESSED).absolute(times));
    }

    /// An inbox row was handled (`outcome`: processed, waiting, retried, given_up).
    pub fn inbox_row(&self, source: &str, outcome: &'static str) {
        // Sources are the endpoints' fixed names; anything else is folded, never echoed.
        let source = match source {
            s if s.len() <= 24 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') => {
                s.to_string()
            }
            _ => "other".to_string(),
        };
        self.with(|| {
            counter!(INBOX_PROCESSED, "source" => source, "outcome" => outcome).increment(1);
        });
    }

    /// This process polls the accounts of `networks` from `now` on.
    pub fn polling(&self, networks: Vec<Network>, now: DateTime<Utc>) {
        let mut p = self.polls.lock().unwrap_or_else(|e| e.into_inner());
        p.since = Some(now);
        p.networks = networks;
    }

    /// A poll round ended (`outcome`: polled, failed, unhealthy, stale); a successful poll of
    /// `account` resets its lag.
    pub fn poll_round(&self, outcome: &'static str, polled: Option<i64>, now: DateTime<Utc>) {
        if let Some(id) = polled {
            let mut p = self.polls.lock().unwrap_or_else(|e| e.into_inner());
            p.last_ok.insert(id, now);
        }
        self.with(|| counter!(POLLS, "outcome" => outcome).increment(1));
    }

    /// Fold buffered histogram samples (see [`UPKEEP_INTERVAL`]).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Refresh the scrape-time gauges from the store. A figure the store cannot give keeps
    /// its last value (the failure is logged).
    pub async fn refresh(&self, store: &DynStore, now: DateTime<Utc>) {
        let age = |t: DateTime<Utc>| (now - t).num_milliseconds().max(0) as f64 / 1000.0;
        let warn = |what: &str, e: &dyn std::fmt::Display| {
            tracing::warn!(error = %e, "metrics: cannot read {what}");
        };
        let mut set: Vec<GaugeValue> = Vec::new();
        match store.count_pending_inbox().await {
            Ok(n) => set.push((INBOX_PENDING, vec![], n as f64)),
            Err(e) => warn("the inbox depth", &e),
        }
        match store.oldest_pending_inbox().await {
            Ok(t) => set.push((INBOX_AGE, vec![], t.map_or(0.0, age))),
            Err(e) => warn("the inbox age", &e),
        }
        match store.count_jobs(JobStatus::Pending).await {
            Ok(n) => set.push((OUTBOX_PENDING, vec![], n as f64)),
            Err(e) => warn("the outbox depth", &e),
        }
        match store.count_jobs(JobStatus::Failed).await {
            Ok(n) => set.push((OUTBOX_FAILED, vec![], n as f64)),
            Err(e) => warn("the given-up jobs", &e),
        }
        match store.oldest_due_job(now).await {
            Ok(t) => set.push((OUTBOX_AGE, vec![], t.map_or(0.0, age))),
            Err(e) => warn("the outbox age", &e),
        }
        match store.accounts().await {
            Ok(accounts) => {
                let mut unhealthy: HashMap<Network, u64> = HashMap::new();
                let p = self.polls.lock().unwrap_or_else(|e| e.into_inner());
                for a in &accounts {
                    let bad = unhealthy.entry(a.network).or_default();
                    if a.unhealthy.is_some() {
                        *bad += 1;
                        continue;
                    }
                    let Some(since) = p.since.filter(|_| p.networks.contains(&a.network)) else {
                        continue;
                    };
                    let last = p.last_ok.get(&a.id).copied().unwrap_or(since);
                    set.push((
                        POLL_LAG,
                        vec![
                            ("network", a.network.as_str().to_string()),
                            ("account", a.id.to_string()),
                        ],
                        age(last),
                    ));
                }
                for (network, n) in unhealthy {
                    set.push((
                        ACCOUNTS_UNHEALTHY,
                        vec![("network", network.as_str().to_string())],
                        n as f64,
                    ));
                }
            }
            Err(e) => warn("the accounts", &e),
        }
        self.with(|| {
            for (name, labels, value) in set {
                let labels: Vec<metrics::Label> = labels
                    .into_iter()
                    .map(|(k, v)| metrics::Label::new(k, v))
                    .collect();
                gauge!(name, labels).set(value);
            }
        });
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }
}

/// A scrape-time gauge: its name, labels and value.
type GaugeValue = (&'static str, Vec<(&'static str, String)>, f64);

const BUILD_INFO: &str = "switchboard_build_info";
const HTTP_REQUESTS: &str = "switchboard_http_requests_total";
const HTTP_DURATION: &str = "switchboard_http_request_duration_seconds";
const INBOX_PENDING: &str = "switchboard_inbox_pending";
const INBOX_AGE: &str = "switchboard_inbox_oldest_pending_age_seconds";
const OUTBOX_PENDING: &str = "switchboard_outbox_pending";
const OUTBOX_AGE: &str = "switchboard_outbox_oldest_due_age_seconds";
const OUTBOX_FAILED: &str = "switchboard_outbox_failed";
const DELIVERIES: &str = "switchboard_deliveries_total";
const LATENCY: &str = "switchboard_delivery_latency_seconds";
const RETRIES: &str = "switchboard_delivery_retries_total";
const RATE_LIMIT_WAITS: &str = "switchboard_rate_limit_waits_total";
const GIVEN_UP: &str = "switchboard_jobs_given_up_total";
const INGEST_PRESSED: &str = "switchboard_ingest_pressed_total";
const INBOX_PROCESSED: &str = "switchboard_inbox_rows_total";
const POLLS: &str = "switchboard_poll_rounds_total";
const POLL_LAG: &str = "switchboard_poll_lag_seconds";
const ACCOUNTS_UNHEALTHY: &str = "switchboard_accounts_unhealthy";
