//! The `switchboard` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use switchboard::cli::SavedRepliesCommand;
use switchboard::config::{Config, process_env};
use switchboard::{app, cli, store};

#[derive(Parser)]
#[command(name = "switchboard", version, about = "A chat-native social inbox")]
struct Cli {
    /// Configuration file (TOML). Secrets may come from SWITCHBOARD_* environment variables.
    #[arg(
        long,
        global = true,
        env = "SWITCHBOARD_CONFIG",
        default_value = "switchboard.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server and the workers (migrates the database first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Check the configuration and say exactly what is missing or wrong.
    CheckConfig,
    /// Ask the running service's `/healthz` (on `server.listen`, or `--url`); exit non-zero
    /// unless it answers 200. For container health checks.
    Healthcheck {
        /// The URL to ask instead.
        #[arg(long)]
        url: Option<String>,
    },
    /// Inspect the outbox; re-queue given-up jobs.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Manage the team's saved replies (migrates the database first).
    SavedReplies {
        #[command(subcommand)]
        command: SavedRepliesCommand,
    },
    /// Write tickets with their messages and history (JSON lines) or one row per ticket
    /// (CSV), for backups and audits.
    Export {
        /// Only tickets active since then: YYYY-MM-DD or an RFC 3339 time (UTC).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, value_enum, default_value = "jsonl")]
        format: cli::ExportFormat,
        /// Write to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Team statistics of every ticket (README "Statistics"): readable text, or CSV rows
    /// `section,key,metric,value` with `--csv`.
    Stats {
        /// The period: 7d (default), 30d, any <N>d up to 366d, or YYYY-MM-DD..YYYY-MM-DD (UTC).
        #[arg(long)]
        since: Option<String>,
        /// Only tickets of this network (facebook, instagram, …).
        #[arg(long)]
        network: Option<String>,
        /// Only tickets assigned to this configured team.
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        csv: bool,
    },
    /// Erase a customer's name and messages from every ticket of theirs on one network (a
    /// data-subject request); only the fact that an erasure happened is kept.
    Erase {
        /// `<network>:<id>`, e.g. `facebook:5001`.
        #[arg(long)]
        customer: String,
    },
    /// Accounts connected by OAuth (YouTube channels, Google Business locations, TikTok
    /// accounts).
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// List connected accounts with their health.
    List,
    /// Print the authorization link that connects an account (youtube, google or tiktok);
    /// after consent its conversations go to the given channel.
    Connect {
        network: String,
        #[arg(
            long,
            required_unless_present = "discord_channel",
            conflicts_with = "discord_channel"
        )]
        slack_channel: Option<String>,
        #[arg(long)]
        discord_channel: Option<String>,
    },
    /// Revoke an account's grant (where the provider allows) and remove it.
    Disconnect { id: i64 },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// List jobs that were given up, with their last error.
    Failed {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Put given-up jobs back in the queue (due now, with a fresh retry budget); a running
    /// service picks them up within its poll interval.
    Retry {
        /// Job ids, as `outbox failed` lists them.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<i64>,
        /// Every given-up job.
        #[arg(long)]
        all: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !cli.config.exists() && !matches!(cli.command, Command::Healthcheck { .. }) {
        eprintln!(
            "note: {} not found; settings come from SWITCHBOARD_* variables only (start from switchboard.example.toml)",
            cli.config.display()
        );
    }
    // Read before logging starts: the configuration chooses the log format.
    let config = match Config::load(&cli.config, &process_env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {:#}", anyhow::Error::new(e));
            return ExitCode::FAILURE;
        }
    };
    switchboard::logging::init(config.log.format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, config: Config) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Healthcheck { url } => {
            let url = match url {
                Some(u) => u,
                None => app::healthz_url(&config.server.listen)?,
            };
            match app::healthcheck(&url).await {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(e) => {
                    eprintln!("unhealthy: {e:#}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Serve => {
            app::serve(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let store = store::connect(&config.database.url).await?;
            store.migrate().await?;
            println!(
                "database {} is up to date",
                app::redact_url(&config.database.url)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig => {
            // Warnings never fail the check.
            for w in config.warnings() {
                eprintln!("warning: {w}");
            }
            let problems = config.validate();
            if problems.is_empty() {
                println!("{}: configuration is complete", cli.config.display());
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{}: configuration is incomplete:", cli.config.display());
                for p in problems {
                    eprintln!("  - {p}");
                }
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Outbox {
            command: OutboxCommand::Failed { limit },
        } => {
            let store = store::connect(&config.database.url).await?;
            let failed = store.failed_jobs(limit).await?;
            if failed.is_empty() {
                println!("no failed jobs");
            }
            for job in failed {
                println!(
                    "job {} ticket {} after {} attempts: {:?}\n  {}",
                    job.id, job.ticket, job.attempts, job.effect, job.last_error
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Outbox {
            command: OutboxCommand::Retry { ids, all },
        } => {
            let store = store::connect(&config.database.url).await?;
            store.migrate().await?;
            let n = store
                .retry_failed_jobs((!all).then_some(ids.as_slice()), chrono::Utc::now())
                .await?;
            if n == 0 {
                eprintln!("no given-up job matched: `switchboard outbox failed` lists them");
                return Ok(ExitCode::FAILURE);
            }
            println!("{n} job(s) queued again");
            Ok(ExitCode::SUCCESS)
        }
        Command::Accounts { command } => accounts(config, command).await,
        Command::Export {
            since,
            format,
            output,
        } => {
            // Checked before anything is opened or written: bad input changes nothing.
            let since = match since.as_deref().map(cli::parse_since).transpose() {
                Ok(since) => since,
                Err(refusal) => {
                    eprintln!("{refusal}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            let store = store::connect(&config.database.url).await?;
            store.migrate().await?;
            let mut out: Box<dyn std::io::Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            cli::export(store.as_ref(), since, format, &mut out).await
        }
        Command::Stats {
            since,
            network,
            team,
            csv,
        } => {
            // Read like the chat command's words, checked before the store is opened.
            let words: Vec<String> = since
                .into_iter()
                .chain(network.map(|n| format!("network:{n}")))
                .chain(team.map(|t| format!("team:{t}")))
                .collect();
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let args = match switchboard::core::stats::parse_args(&words, &config.team_names()) {
                Ok(args) => args,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            let store = store::connect(&config.database.url).await?;
            store.migrate().await?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            cli::stats(store.as_ref(), &args, chrono::Utc::now(), csv, &mut out).await
        }
        Command::Erase { customer } => {
            let store = store::connect(&config.database.url).await?;
            store.migrate().await?;
            cli::erase(store.as_ref(), &customer).await
        }
        Command::SavedReplies { command } => {
            let store = store::connect(&config.database.url).await?;
            store.migrate().await?;
            cli::saved_replies(store.as_ref(), command).await
        }
    }
}

async fn accounts(config: Config, command: AccountsCommand) -> anyhow::Result<ExitCode> {
    use switchboard::core::{Network, Surface, text};
    let store = store::connect(&config.database.url).await?;
    store.migrate().await?;
    match command {
        AccountsCommand::List => {
            let accounts = store.accounts().await?;
            if accounts.is_empty() {
                println!("no account is connected");
            }
            for a in accounts {
                let health = match (&a.unhealthy, &a.last_error) {
                    (Some(why), _) => format!("needs reconnecting: {why}"),
                    (None, Some(err)) => format!("last poll failed: {err}"),
                    (None, None) => "healthy".into(),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{} {}\t{health}",
                    a.id,
                    a.network,
                    a.account_id,
                    a.name,
                    a.surface.as_str(),
                    a.channel
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AccountsCommand::Connect {
            network,
            slack_channel,
            discord_channel,
        } => {
            let svc = app::services(config, store)?;
            let here = svc.networks.connectable();
            let Some(network) = network.parse::<Network>().ok().filter(|n| here.contains(n)) else {
                eprintln!(
                    "error: {network:?} cannot be connected here. {}",
                    text::connect_usage(&here)
                );
                return Ok(ExitCode::FAILURE);
            };
            let config = &svc.config;
            let (surface, workspace, channel) = match (slack_channel, discord_channel) {
                (Some(c), _) => (Surface::Slack, config.slack.team_id.clone(), c),
                (None, Some(c)) => match config.discord_channel(&c) {
                    Some((guild, _)) => (Surface::Discord, guild.to_string(), c),
                    None => {
                        eprintln!(
                            "error: Discord channel {c} is not under a [[discord.servers]] entry"
                        );
                        return Ok(ExitCode::FAILURE);
                    }
                },
                (None, None) => {
                    eprintln!("error: name the channel: --slack-channel C… or --discord-channel …");
                    return Ok(ExitCode::FAILURE);
                }
            };
            match switchboard::server::oauth::authorization_link(
                &svc, network, surface, &workspace, &channel, "cli",
            ) {
                Ok(url) => {
                    println!("{url}");
                    eprintln!(
                        "Open this link (once, within 10 minutes) with the account that manages the {} {}.",
                        text::network_name(network),
                        text::account_noun(network)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(_) => {
                    eprintln!("error: {}", text::OAUTH_NOT_CONFIGURED);
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        AccountsCommand::Disconnect { id } => {
            let svc = app::services(config, store)?;
            match switchboard::workers::accounts::disconnect(&svc, id).await? {
                Some(name) => {
                    println!("disconnected {name}");
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    eprintln!("error: {}", text::account_not_found(id));
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
