//! Admin commands of the `switchboard` binary that work on the store: `saved-replies …`.
//! What the operator did wrong is printed readably on stderr with a failing exit code; store
//! errors go up as `anyhow` errors.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use clap::{ArgGroup, Subcommand};

use crate::core::saved_reply::{self, SavedReplyId};
use crate::core::text;
use crate::store::{NameTaken, SavedReplyWrite, Store};

/// Who the command line records as the author of changes.
pub const CLI_USER: &str = "cli";

#[derive(Debug, Subcommand)]
pub enum SavedRepliesCommand {
    /// List the saved replies, by name.
    List,
    /// Create a saved reply.
    #[command(group(ArgGroup::new("text").required(true).args(["body", "file"])))]
    Add {
        #[arg(long)]
        name: String,
        /// The reply; may use {author_name}, {account_name}, {agent_name}.
        #[arg(long)]
        body: Option<String>,
        /// Read the reply from this file instead.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Change a saved reply's name and/or body.
    #[command(group(ArgGroup::new("text").args(["body", "file"])))]
    Edit {
        id: i64,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        body: Option<String>,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Delete a saved reply.
    Delete { id: i64 },
    /// Create or update (by name) every reply of a CSV file with the header `name,body`; all
    /// rows or none.
    Import { file: PathBuf },
    /// Write every reply as CSV (`name,body`), to the file or to stdout.
    Export { file: Option<PathBuf> },
}

/// What the operator did wrong: printed as is on stderr, exit code 1.
type Refusal = String;

/// Run a `saved-replies` command; prints results on stdout and refusals on stderr.
pub async fn saved_replies(
    store: &dyn Store,
    command: SavedRepliesCommand,
) -> anyhow::Result<ExitCode> {
    match run(store, command).await? {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(refusal) => {
            eprintln!("{refusal}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn read_body(body: Option<String>, file: Option<&Path>) -> anyhow::Result<Option<String>> {
    match (body, file) {
        (Some(b), _) => Ok(Some(b)),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok(Some(text.trim_end_matches(['\n', '\r']).to_string()))
        }
        (None, None) => Ok(None),
    }
}

fn check(name: &str, body: &str) -> Result<(), String> {
    saved_reply::validate_for_save(name, body).map_err(|e| e.to_string())
}

async fn run(
    store: &dyn Store,
    command: SavedRepliesCommand,
) -> anyhow::Result<Result<(), Refusal>> {
    let now = Utc::now();
    match command {
        SavedRepliesCommand::List => {
            let replies = store.saved_replies().await?;
            if replies.is_empty() {
                println!("{}", text::NO_SAVED_REPLIES);
            }
            for r in replies {
                println!(
                    "{}",
                    text::saved_reply_list_line(r.id.0, &r.name, &r.body).for_terminal()
                );
            }
        }
        SavedRepliesCommand::Add { name, body, file } => {
            let name = name.trim();
            let body = read_body(body, file.as_deref())?.unwrap_or_default();
            if let Err(e) = check(name, &body) {
                return Ok(Err(e));
            }
            match store.create_saved_reply(name, &body, CLI_USER, now).await? {
                Ok(id) => println!("{}", text::saved_reply_created(id.0, name)),
                Err(NameTaken) => return Ok(Err(text::saved_reply_name_taken(name))),
            }
        }
        SavedRepliesCommand::Edit {
            id,
            name,
            body,
            file,
        } => {
            let body = read_body(body, file.as_deref())?;
            if name.is_none() && body.is_none() {
                return Ok(Err(text::SAVED_REPLY_EDIT_NOTHING.to_string()));
            }
            let Some(old) = store.saved_reply(SavedReplyId(id)).await? else {
                return Ok(Err(text::saved_reply_not_found(id)));
            };
            let name = name.as_deref().map(str::trim).unwrap_or(&old.name);
            let body = body.as_deref().unwrap_or(&old.body);
            if let Err(e) = check(name, body) {
                return Ok(Err(e));
            }
            match store
                .update_saved_reply(SavedReplyId(id), name, body, CLI_USER, now)
                .await?
            {
                SavedReplyWrite::Done => println!("{}", text::saved_reply_updated(id, name)),
                SavedReplyWrite::NotFound => {
                    return Ok(Err(text::saved_reply_not_found(id)));
                }
                SavedReplyWrite::NameTaken => {
                    return Ok(Err(text::saved_reply_name_taken(name)));
                }
            }
        }
        SavedRepliesCommand::Delete { id } => {
            if store.delete_saved_reply(SavedReplyId(id)).await? {
                println!("{}", text::saved_reply_deleted(id));
            } else {
                return Ok(Err(text::saved_reply_not_found(id)));
            }
        }
        SavedRepliesCommand::Import { file } => {
            let data =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let rows = match parse_csv(&data) {
                Ok(rows) => rows,
                Err(problems) => {
                    let mut msg = text::saved_replies_import_refused(
                        &file.display().to_string(),
                        problems.len(),
                    );
                    for p in problems {
                        msg.push_str("\n  ");
                        msg.push_str(&p);
                    }
                    return Ok(Err(msg));
                }
            };
            let counts = store.import_saved_replies(&rows, CLI_USER, now).await?;
            println!(
                "{}",
                text::saved_replies_imported(counts.created, counts.updated)
            );
        }
        SavedRepliesCommand::Export { file } => {
            let replies = store.saved_replies().await?;
            let rows: Vec<(&str, &str)> = replies
                .iter()
                .map(|r| (r.name.as_str(), r.body.as_str()))
                .collect();
            let csv = write_csv(&rows)?;
            match file {
                Some(path) => {
                    std::fs::write(&path, csv)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!(
                        "{}",
                        text::saved_replies_exported(replies.len(), &path.display().to_string())
                    );
                }
                None => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(&csv).context("cannot write to stdout")?;
                    out.flush().context("cannot write to stdout")?;
                }
            }
        }
    }
    Ok(Ok(()))
}

/// The rows of a `name,body` CSV file (names trimmed), or every problem found, each starting
/// with its line number.
pub fn parse_csv(data: &[u8]) -> Result<Vec<(String, String)>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut header_done = false;
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                let reason = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "it is not valid UTF-8".to_string(),
                    _ => e.to_string(),
                };
                problems.push(text::csv_line_problem(line, &text::csv_unreadable(&reason)));
                // The reader cannot resynchronise reliably after a broken record.
                if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
                    break;
                }
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if !header_done {
            header_done = true;
            let fields: Vec<String> = record
                .iter()
                .map(|f| f.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
                .collect();
            if fields != ["name", "body"] {
                let found: Vec<&str> = record.iter().collect();
                problems.push(text::csv_line_problem(
                    line,
                    &text::csv_bad_header(&found.join(",")),
                ));
                break;
            }
            continue;
        }
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty()) {
            continue; // a blank line
        }
        if record.len() != 2 {
            problems.push(text::csv_line_problem(
                line,
                &text::csv_wrong_field_count(record.len()),
            ));
            continue;
        }
        let name = record[0].trim().to_string();
        let body = record[1].to_string();
        if let Err(e) = check(&name, &body) {
            problems.push(text::csv_line_problem(line, &e));
            continue;
        }
        match seen.get(&name.to_lowercase()) {
            Some(first) => problems.push(text::csv_line_problem(
                line,
                &text::csv_duplicate_name(&name, *first),
            )),
            None => {
                seen.insert(name.to_lowercase(), line);
                rows.push((name, body));
            }
        }
    }
    if !header_done && problems.is_empty() {
        problems.push(text::csv_line_problem(1, &text::csv_bad_header("")));
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// `name,body` CSV with a header.
pub fn write_csv(rows: &[(&str, &str)]) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["name", "body"])?;
    for (name, body) in rows {
        writer.write_record([name, body])?;
    }
    writer.into_inner().context("cannot write CSV")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trip_keeps_commas_quotes_and_newlines() {
        let rows = [
            ("Refunds", "Hi {author_name},\n\"sorry\", we'll refund you."),
            ("Café", "Ça va? {{literal}}"),
        ];
        let csv = write_csv(&rows).expect("csv");
        let back = parse_csv(&csv).expect("valid");
        let back: Vec<(&str, &str)> = back.iter().map(|(n, b)| (n.as_str(), b.as_str())).collect();
        assert_eq!(back, rows);
    }

    #[test]
    fn csv_problems_name_their_line() {
        let long = "x".repeat(2001);
        let csv = format!(
            "name,body\nOk,fine\nBad,\"Hi {{customer}}\"\n\"Multi\",\"line\nbody\"\n  ,blank name\nLong,{long}\nok,again\nthree,fields,here\n"
        );
        let problems = parse_csv(csv.as_bytes()).expect_err("invalid");
        insta::assert_snapshot!(problems.join("\n"), @r"
        line 3: The reply uses {customer}, which is not a variable. The variables are {author_name}, {account_name} and {agent_name}; write {{ and }} for literal braces.
        line 6: The name is empty: give the saved reply a name.
        line 7: The reply is 2,001 characters; the limit is 2,000.
        line 8: “ok” is already on line 2 (names ignore case).
        line 9: A row needs 2 fields, name and body; this one has 3.
        ");
    }

    #[test]
    fn csv_needs_the_header() {
        let problems = parse_csv(b"title,text\na,b\n").expect_err("invalid");
        assert_eq!(
            problems,
            ["line 1: The first line must be the header `name,body`; found `title,text`."]
        );
        assert!(parse_csv(b"").is_err());
        assert_eq!(parse_csv("\u{feff}Name,Body\r\n".as_bytes()), Ok(vec![]));
    }
}

/// How `switchboard export` writes tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per ticket per line, with its messages and history.
    Jsonl,
    /// One row per ticket (no messages or history; for spreadsheets).
    Csv,
}

enum Sink<'a> {
    Csv(Box<csv::Writer<&'a mut dyn Write>>),
    Jsonl(&'a mut dyn Write),
}

/// Tickets read per page while exporting.
const EXPORT_PAGE: i64 = 500;

/// `switchboard export`: every ticket whose last activity is at or after `since` (all when
/// absent), by id, to `out`.
pub async fn export(
    store: &dyn Store,
    since: Option<chrono::DateTime<Utc>>,
    format: ExportFormat,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    // The epoch, not `MIN_UTC`: Postgres' timestamptz starts at 4713 BC.
    let since = since.unwrap_or(chrono::DateTime::<Utc>::UNIX_EPOCH);
    let mut sink = match format {
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(EXPORT_CSV_HEADER)?;
            Sink::Csv(Box::new(w))
        }
        ExportFormat::Jsonl => Sink::Jsonl(out),
    };
    let mut after = crate::core::TicketId(0);
    let mut count = 0usize;
    loop {
        let page = store.tickets_since(since, after, EXPORT_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for t in &page {
            match &mut sink {
                Sink::Csv(w) => w.write_record(csv_row(t))?,
                Sink::Jsonl(out) => {
                    let line =
                        export_json(t, &store.messages(t.id).await?, &store.history(t.id).await?);
                    serde_json::to_writer(&mut **out, &line)?;
                    out.write_all(b"\n")?;
                }
            }
            count += 1;
        }
    }
    match &mut sink {
        Sink::Csv(w) => w.flush()?,
        Sink::Jsonl(out) => out.flush()?,
    }
    eprintln!("{count} tickets exported");
    Ok(ExitCode::SUCCESS)
}

/// `--since`: an RFC 3339 time or a `YYYY-MM-DD` date (UTC); the refusal says what to write.
pub fn parse_since(s: &str) -> Result<chrono::DateTime<Utc>, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            format!("--since {s:?} is not a date: use YYYY-MM-DD or an RFC 3339 time such as 2026-11-01T09:00:00Z")
        })
}

/// The CSV columns, one row per ticket.
const EXPORT_CSV_HEADER: [&str; 13] = [
    "id",
    "network",
    "account",
    "kind",
    "status",
    "assignee",
    "tags",
    "customer_id",
    "customer_name",
    "created_at",
    "updated_at",
    "first_text",
    "permalink",
];

fn csv_row(t: &crate::core::Ticket) -> Vec<String> {
    let s = &t.state;
    vec![
        t.id.to_string(),
        s.network.as_str().to_string(),
        s.account.to_string(),
        crate::store::codec::kind_str(s.kind).to_string(),
        s.status.as_str().to_string(),
        s.assignee
            .as_ref()
            .map(crate::core::Assignee::key)
            .unwrap_or_default(),
        s.tags.join(" "),
        s.customer.id.to_string(),
        spreadsheet_safe(s.customer.name.as_deref().unwrap_or_default()),
        s.created_at.to_rfc3339(),
        s.updated_at.to_rfc3339(),
        spreadsheet_safe(&s.first_text),
        s.permalink.clone().unwrap_or_default(),
    ]
}

/// Customer text is data in a spreadsheet too: a cell a spreadsheet would read as a formula
/// (`=`, `+`, `-`, `@`, a tab or a carriage return first) is written with a leading `'`.
fn spreadsheet_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn export_json(
    t: &crate::core::Ticket,
    messages: &[crate::core::Message],
    history: &[crate::core::HistoryEntry],
) -> serde_json::Value {
    let s = &t.state;
    serde_json::json!({
        "id": t.id.0,
        "network": s.network.as_str(),
        "account": s.account.as_str(),
        "kind": crate::store::codec::kind_str(s.kind),
        "status": s.status.as_str(),
        "assignee": s.assignee.as_ref().map(crate::core::Assignee::key),
        "tags": s.tags,
        "customer": {"id": s.customer.id.as_str(), "name": s.customer.name},
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "permalink": s.permalink,
        "messages": messages,
        "history": history,
    })
}

#[cfg(test)]
mod export_tests {
    use super::*;

    #[test]
    fn since_takes_a_date_or_a_time_and_refuses_the_rest() {
        assert_eq!(
            parse_since("2026-11-01").unwrap().to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_since("2026-11-01T09:00:00+01:00")
                .unwrap()
                .to_rfc3339(),
            "2026-11-01T08:00:00+00:00"
        );
        assert!(parse_since("last week").unwrap_err().contains("YYYY-MM-DD"));
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("@everyone"), "'@everyone");
        assert_eq!(spreadsheet_safe("hello = world"), "hello = world");
    }
}

/// `switchboard stats`: the statistics of every ticket (no channel scope: the operator sees
/// the whole store) as the chat answer's text, or as CSV records (`section,key,metric,value`,
/// cells guarded against formulas).
pub async fn stats(
    store: &dyn Store,
    args: &crate::core::stats::StatsArgs,
    now: chrono::DateTime<Utc>,
    csv: bool,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let filter = crate::core::filter::Filter {
        network: args.network,
        assignee: args
            .team_key()
            .map(|k| crate::core::filter::AssigneeMatch::AnyOf(vec![k])),
        ..Default::default()
    };
    // The CLI speaks for no channel: UTC days and wall-clock durations (a channel's business
    // hours apply to its `stats` in chat).
    let period = args.period.resolve(now, chrono_tz::Tz::UTC);
    let figures = store.team_stats(period, &filter, None).await?;
    if csv {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(STATS_CSV_HEADER)?;
        for row in crate::core::stats::csv_rows(&figures) {
            w.write_record(row.iter().map(|cell| spreadsheet_safe(cell)))?;
        }
        w.flush()?;
    } else {
        let scope = text::StatsScope {
            network: args.network,
            team: args.team.as_deref(),
        };
        let report = text::stats_report(&figures, scope, &|_| None, usize::MAX);
        writeln!(out, "{}", report.for_terminal())?;
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The columns of `switchboard stats --csv`.
const STATS_CSV_HEADER: [&str; 4] = ["section", "key", "metric", "value"];

/// `switchboard erase --customer <network>:<id>`: erase a customer's name and messages from
/// every ticket of theirs on that network (see `workers::erase`). A running service edits
/// their cards and thread copies in chat.
pub async fn erase(store: &dyn Store, customer: &str) -> anyhow::Result<ExitCode> {
    let parsed = customer
        .split_once(':')
        .and_then(|(n, id)| Some((n.parse::<crate::core::Network>().ok()?, id.trim())))
        .filter(|(_, id)| !id.is_empty());
    let Some((network, id)) = parsed else {
        eprintln!(
            "--customer {customer:?} is not <network>:<id> (for example facebook:5001 or x:2244994945; the id is the customer's id on that network, as `switchboard export` shows it)"
        );
        return Ok(ExitCode::FAILURE);
    };
    let done = crate::workers::erase::erase_customer(
        store,
        network,
        &crate::core::CustomerId::new(id),
        &crate::core::Actor::System,
    )
    .await?;
    if done.tickets.is_empty() {
        eprintln!("no ticket of {customer} was found: nothing was erased");
        return Ok(ExitCode::FAILURE);
    }
    let ids: Vec<String> = done.tickets.iter().map(|t| format!("#{t}")).collect();
    println!(
        "erased {customer} from {} ({} stored payloads blanked); a running service edits their cards in chat",
        ids.join(", "),
        done.payloads
    );
    Ok(ExitCode::SUCCESS)
}
