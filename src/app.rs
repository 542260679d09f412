//! Wiring: build the services from configuration, run the HTTP server and the workers, shut
//! down gracefully.

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
use crate::workers::{self, Services, outbox::Pacer};

/// Timeout for calls to the networks (Graph API).
const NETWORK_TIMEOUT: Duration = Duration::from_secs(20);

/// Build the services from a validated configuration (see `Config::validate`; `serve`
/// refuses to start before this) and an opened store.
pub fn services(config: Config, store: DynStore) -> anyhow::Result<Arc<Services>> {
    let bot_token = config
        .slack
        .bot_token
        .clone()
        .unwrap_or_else(|| SecretString::from(""));
    let slack = SlackClient::new(&config.slack.api_url, bot_token)
        .context("cannot build the Slack client")?;
    let http = reqwest::Client::builder()
        .timeout(NETWORK_TIMEOUT)
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
    let pacer = Pacer::new(Duration::from_millis(config.outbox.channel_pace_ms));
    let inbox = InboxWriter::spawn(store.clone());
    Ok(Arc::new(Services {
        directory: Default::default(),
        saved: Default::default(),
        inbox,
        store,
        config: Arc::new(config),
        slack,
        discord,
        graph,
        wake_inbox: Notify::new(),
        wake_outbox: Notify::new(),
        pacer,
    }))
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
        ];
        if svc.config.discord.is_some() {
            // Slash-command registration, then the gateway (thread messages, interactions).
            handles.push(tokio::spawn(crate::server::gateway::run(svc.clone(), rx)));
        }
        Self {
            shutdown: tx,
            handles,
        }
    }

    /// Ask the workers to stop and wait until their in-flight work is finished.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for h in self.handles {
            let _ = h.await;
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
    axum::serve(listener, crate::server::router(svc.clone()))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("HTTP server failed")?;
    info!("HTTP server stopped; finishing in-flight jobs");
    workers.stop().await;
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
