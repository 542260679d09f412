//! Log output: readable lines for people (`log.format = "human"`, the default) or one JSON
//! object per line for collectors (`"json"`), each event carrying the fields of the spans it
//! happened in (`request_id` of an HTTP request, `ticket` and `id` of an inbox row or an outbox
//! job). What is logged never holds a secret: tokens are `SecretString`s whose `Debug`
//! redacts, and the HTTP span records the route template, never the raw URI.

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

/// The filter when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info";

/// A subscriber writing `format` lines to `writer`, filtered by `filter` (`RUST_LOG`
/// syntax). `ansi`: colours, for a terminal only.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Human => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(true)
                .finish(),
        ),
    }
}

/// Install the process's subscriber: `RUST_LOG` or [`DEFAULT_FILTER`], to stdout, colours
/// only for a terminal (logs shipped to files or collectors stay plain).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_FILTER.into());
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let subscriber = subscriber(format, filter, std::io::stdout, ansi);
    // Already set (a test harness): keep that one.
    let _ = tracing::subscriber::set_global_default(subscriber);
}
