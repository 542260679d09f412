//! Wiring: build the services from configuration, run the HTTP server and the workers, shut
//! down gracefully.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::SecretString;
use tokio::sync::{Notify, watch};
use tracing::info;

use crate::chat::discord::DiscordClient;
use crate::chat::slack::SlackClient;
use crate::config::Config;
use crate::networks::meta::GraphClient;
use crate::server::inbox_writer::InboxWriter;
use crate::store::{self, DynStore};
use crate::workers::{self, Services};

/// Build the services from a validated configuration (see `Config::validate`; `serve`
/// refuses to start before this) and an opened store.
pub fn services(config: Config, store: DynStore) -> anyhow::Result<Arc<Services>> {
    let bot_token = config
        .slack
        .bot_token
        .clone()
        .unwrap_or_else(|| SecretString::from(""));
    let slack = SlackClient::with_timeouts(&config.slack.api_url, bot_token, &config.http)
        .context("cannot build the Slack client")?;
    // Every outbound call has a deadline: a call accepted but never answered is a retryable
    // failure, never a frozen worker.
    let http = reqwest::Client::builder()
        .timeout(config.http.timeout())
        .connect_timeout(config.http.connect_timeout())
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot build the HTTP client")?;
    let graph = GraphClient::new(&config.meta.graph_api_url, http.clone())
        .context("meta.graph_api_url is not a usable base URL")?;
    let discord = match &config.discord {
        Some(d) => Some(
            DiscordClient::new(
                &d.api_url,
                d.bot_token
                    .clone()
                    .unwrap_or_else(|| SecretString::from("")),
                http.clone(),
            )
            .context("discord.api_url is not a usable base URL")?,
        ),
        None => None,
    };
    let inbox = InboxWriter::spawn(store.clone());
    // Token calls never follow redirects: a 307 would resend the client secret elsewhere.
    let oauth_http = reqwest::Client::builder()
        .timeout(config.http.timeout())
        .connect_timeout(config.http.connect_timeout())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot build the OAuth HTTP client")?;
    let mut networks = crate::networks::Networks::default();
    for meta in crate::networks::meta::MetaConnector::family(&graph, config.meta.human_agent_tag) {
        networks.add(Arc::new(meta));
    }
    networks.add_webhook(Arc::new(crate::networks::meta::webhook::MetaWebhooks::new(
        [&config.meta.app_secret, &config.meta.previous_app_secret]
            .into_iter()
            .flatten()
            .cloned()
            .collect(),
        config.meta.verify_token.clone(),
    )));
    let tokens = polled_networks(&config, &http, &oauth_http, &store, &mut networks)?;
    Ok(Arc::new(Services {
        networks,
        tokens,
        oauth_http,
        connected: Default::default(),
        directory: Default::default(),
        saved: Default::default(),
        suggestions: Default::default(),
        inbox,
        store,
        config: Arc::new(config),
        slack,
        discord,
        wake_inbox: Notify::new(),
        wake_outbox: Notify::new(),
        metrics: Default::default(),
    }))
}

/// Register the polled networks `[google]`, `[tiktok]`, `[x]` and `[linkedin]` enable, and build the token
/// source of their connected accounts (which needs the credentials key: `validate` refuses to
/// start without).
fn polled_networks(
    config: &Config,
    http: &reqwest::Client,
    oauth_http: &reqwest::Client,
    store: &DynStore,
    networks: &mut crate::networks::Networks,
) -> anyhow::Result<Option<Arc<dyn crate::networks::TokenSource>>> {
    google_networks(config, http, networks)?;
    tiktok_network(config, http, networks)?;
    x_network(config, http, networks)?;
    linkedin_network(config, http, networks)?;
    if networks.all_polled().is_empty() {
        return Ok(None);
    }
    let key = config
        .credentials_key()
        .context("SWITCHBOARD_SECRET_KEY is missing or malformed")?;
    // Each polled network refreshes its tokens with its login's client.
    let providers = networks
        .all_polled()
        .iter()
        .filter_map(|c| Some((c.network(), networks.login(c.network())?.1)))
        .collect();
    let tokens =
        crate::workers::tokens::OAuthTokens::new(store.clone(), key, oauth_http.clone(), providers);
    Ok(Some(Arc::new(tokens)))
}

/// YouTube and Google reviews, when `[google]` is configured.
fn google_networks(
    config: &Config,
    http: &reqwest::Client,
    networks: &mut crate::networks::Networks,
) -> anyhow::Result<()> {
    use crate::networks::google::connector::{ReviewsConnector, YoutubeConnector};
    use crate::networks::google::{BusinessBases, BusinessClient, YoutubeClient};
    let Some(g) = &config.google else {
        return Ok(());
    };
    let youtube = YoutubeClient::new(http.clone(), &g.youtube_api_url)
        .context("google.youtube_api_url is not a usable base URL")?;
    let business = BusinessClient::new(
        http.clone(),
        &BusinessBases {
            account_management: g.account_management_url.clone(),
            business_information: g.business_information_url.clone(),
            reviews: g.reviews_api_url.clone(),
        },
    )
    .context("a google.*_url is not a usable base URL")?;
    let min_interval = Duration::from_secs(config.poll.min_interval_secs);
    networks.add_polled(Arc::new(YoutubeConnector::new(
        youtube,
        g.backfill_days,
        g.daily_quota_units,
        min_interval,
    )));
    networks.add_polled(Arc::new(ReviewsConnector::new(business, g.backfill_days)));
    networks.add_provider(
        crate::oauth::GOOGLE,
        g.provider(vec![])
            .context("google.client_secret is not set")?,
    );
    Ok(())
}

/// TikTok, when `[tiktok]` is configured: its connector, its OAuth client, and its webhook
/// endpoint when a webhook secret is set.
fn tiktok_network(
    config: &Config,
    http: &reqwest::Client,
    networks: &mut crate::networks::Networks,
) -> anyhow::Result<()> {
    use crate::networks::tiktok::{TiktokClient, TiktokConnector, TiktokWebhooks};
    let Some(t) = &config.tiktok else {
        return Ok(());
    };
    let client = TiktokClient::new(http.clone(), &t.api_url, t.client_id.clone())
        .context("tiktok.api_url is not a usable base URL")?;
    networks.add_polled(Arc::new(TiktokConnector::new(client, t.backfill_days)));
    networks.add_provider(
        crate::oauth::TIKTOK,
        t.provider(vec![])
            .context("tiktok.client_secret is not set or a tiktok.*_url does not parse")?,
    );
    if let Some(secret) = t.webhook_secret.clone() {
        networks.add_webhook(Arc::new(TiktokWebhooks::new(vec![secret])));
    }
    Ok(())
}

/// X, when `[x]` is configured: its connector (polling unless `ingest = "webhook"`), its
/// OAuth client (HTTP Basic client authentication), and `/webhooks/x` when the consumer
/// secret is set.
fn x_network(
    config: &Config,
    http: &reqwest::Client,
    networks: &mut crate::networks::Networks,
) -> anyhow::Result<()> {
    use crate::networks::x::{XClient, XConnector, XWebhooks};
    let Some(x) = &config.x else {
        return Ok(());
    };
    let client =
        XClient::new(http.clone(), &x.api_url).context("x.api_url is not a usable base URL")?;
    networks.add_polled(Arc::new(XConnector::new(client, x.backfill_days, x.ingest)));
    networks.add_provider(
        crate::oauth::X,
        x.provider().context("x.client_secret is not set")?,
    );
    if let Some(secret) = x.webhook_secret() {
        networks.add_webhook(Arc::new(XWebhooks::new(secret)));
    }
    Ok(())
}

/// LinkedIn pages, when `[linkedin]` is configured: its connector (polling, pushed pages
/// too), its OAuth client, and `/webhooks/linkedin` when pages are pushed.
fn linkedin_network(
    config: &Config,
    http: &reqwest::Client,
    networks: &mut crate::networks::Networks,
) -> anyhow::Result<()> {
    use crate::networks::linkedin::{Ingest, LinkedinClient, LinkedinConnector, LinkedinWebhooks};
    let Some(l) = &config.linkedin else {
        return Ok(());
    };
    let client = LinkedinClient::new(http.clone(), &l.api_url, l.version.clone())
        .context("linkedin.api_url or linkedin.version is not usable")?;
    networks.add_polled(Arc::new(LinkedinConnector::new(
        client,
        l.backfill_days,
        l.ingest,
        l.expiry_warning_days,
    )));
    networks.add_provider(
        crate::oauth::LINKEDIN,
        l.provider()
            .context("linkedin.client_secret is not set or a linkedin.*_url does not parse")?,
    );
    if l.ingest == Ingest::Webhook
        && let Some(secret) = l.secret()
    {
        networks.add_webhook(Arc::new(LinkedinWebhooks::new(secret, l.signature)));
    }
    Ok(())
}

/// Handles of the background workers.
pub struct Workers {
    shutdown: watch::Sender<bool>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Workers {
    pub fn spawn(svc: &Arc<Services>) -> Self {
        let (tx, rx) = watch::channel(false);
        let mut handles = vec![
            tokio::spawn(workers::inbox::run(svc.clone(), rx.clone())),
            tokio::spawn(workers::outbox::run(svc.clone(), rx.clone())),
            tokio::spawn(workers::refresh::run(svc.clone(), rx.clone())),
            tokio::spawn(workers::retention::run(svc.clone(), rx.clone())),
            tokio::spawn(workers::autoclose::run(svc.clone(), rx.clone())),
            tokio::spawn(workers::sla::run(svc.clone(), rx.clone())),
            tokio::spawn(workers::storm::run(svc.clone(), rx.clone())),
            tokio::spawn(crate::report::run(svc.clone(), rx.clone())),
            tokio::spawn(metrics_upkeep(svc.clone(), rx.clone())),
        ];
        let polled = svc.networks.all_polled();
        if let (false, Some(tokens)) = (polled.is_empty(), svc.tokens.clone()) {
            let poller = workers::poll::Poller::new(polled, tokens, svc.config.poll.settings());
            svc.metrics.polling(poller.networks(), chrono::Utc::now());
            handles.push(tokio::spawn(workers::poll::run(
                svc.clone(),
                Arc::new(poller),
                rx.clone(),
            )));
        }
        if svc.config.slack.app_token.is_some() {
            handles.push(tokio::spawn(crate::server::socket_mode::run(
                svc.clone(),
                rx.clone(),
            )));
        }
        if svc.config.discord.is_some() {
            // Slash-command registration, then the gateway (thread messages, interactions).
            handles.push(tokio::spawn(crate::server::gateway::run(svc.clone(), rx)));
        }
        Self {
            shutdown: tx,
            handles,
        }
    }

    /// Ask the workers to stop and wait until their in-flight work is finished, for at most
    /// `grace`; what is still running then is abandoned (its jobs stay claimed until their
    /// lease runs out, then any worker retries them). True if everything finished in time.
    pub async fn stop(self, grace: Duration) -> bool {
        let _ = self.shutdown.send(true);
        let aborts: Vec<_> = self.handles.iter().map(|h| h.abort_handle()).collect();
        let all = async {
            for h in self.handles {
                let _ = h.await;
            }
        };
        if tokio::time::timeout(grace, all).await.is_ok() {
            return true;
        }
        for a in aborts {
            a.abort();
        }
        false
    }
}

/// Fold the metrics' buffered histogram samples now and then, scraped or not.
async fn metrics_upkeep(svc: Arc<Services>, mut shutdown: watch::Receiver<bool>) {
    loop {
        svc.metrics.upkeep();
        tokio::select! {
            _ = tokio::time::sleep(crate::telemetry::UPKEEP_INTERVAL) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// `switchboard serve`.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let problems = config.validate();
    if !problems.is_empty() {
        bail!(
            "refusing to start, the configuration is incomplete:\n  - {}",
            problems.join("\n  - ")
        );
    }
    for w in config.warnings() {
        tracing::warn!("{w}");
    }
    let addr: SocketAddr = config.server.listen.parse().context("server.listen")?;
    let store = store::connect(&config.database.url)
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                redact_url(&config.database.url)
            )
        })?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    info!(backend = store.backend(), "database ready");
    let svc = services(config, store)?;
    let workers = Workers::spawn(&svc);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    info!(%addr, "switchboard listening");
    let grace = Duration::from_secs(svc.config.server.shutdown_grace_secs);
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let server = axum::serve(listener, crate::server::router(svc.clone()))
        .with_graceful_shutdown(async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        })
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => return r.context("HTTP server failed"),
        _ = shutdown_signal() => {}
    }
    let _ = stop_tx.send(true);
    let deadline = tokio::time::Instant::now() + grace;
    // Requests in flight get the grace period too; a hung one is abandoned with it.
    if tokio::time::timeout_at(deadline, &mut server)
        .await
        .is_err()
    {
        tracing::warn!("HTTP requests still open at the shutdown deadline: abandoned");
    }
    info!("HTTP server stopped; finishing in-flight jobs");
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    if !workers.stop(left).await {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            "in-flight jobs abandoned at the shutdown deadline; they are retried after their lease"
        );
    }
    info!("bye");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    info!("shutdown requested");
}

/// The `/healthz` URL of a service listening on `listen` (a wildcard address is asked on
/// loopback).
pub fn healthz_url(listen: &str) -> anyhow::Result<String> {
    let addr: SocketAddr = listen.parse().context("server.listen")?;
    let ip = match addr.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    Ok(format!(
        "http://{}/healthz",
        SocketAddr::new(ip, addr.port())
    ))
}

/// How long `switchboard healthcheck` waits for an answer (Docker's default check timeout is
/// 30 s; a live service answers in milliseconds).
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// GET `url`; an error unless it answers 200.
pub async fn healthcheck(url: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(HEALTHCHECK_TIMEOUT)
        .build()
        .context("cannot build the HTTP client")?;
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("no answer from {url}"))?;
    if !response.status().is_success() {
        bail!("{url} answered {}", response.status());
    }
    Ok(())
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
