//! Backend-independent encoding of domain values into columns and back, shared by the
//! SQLite and Postgres backends.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::core::filter::{AssigneeMatch, Filter, RouteAccount, RouteMatch, RouteRule, Visibility};

use crate::core::{
    ChatRef, HistoryEntry, ItemKind, Message, MessageKey, MessageKind, NetworkItemId, Surface,
    Ticket, TicketId, TicketState,
};
use crate::store::{ChatRole, FailedJob, Job, Result, StoreError};

/// The store keeps microseconds (Postgres TIMESTAMPTZ precision).
pub fn trunc(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

pub fn from_micros(v: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(v)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {v} out of range")))
}

pub fn add_lease(now: DateTime<Utc>, lease: Duration) -> Result<DateTime<Utc>> {
    now.checked_add_signed(lease)
        .map(trunc)
        .ok_or_else(|| StoreError::Corrupt(format!("lease {lease} out of range")))
}

pub fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("cannot encode: {e}")))
}

pub fn opt_json<T: Serialize>(v: &Option<T>) -> Result<Option<String>> {
    v.as_ref().map(to_json).transpose()
}

pub fn from_json<T: DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn opt_from_json<T: DeserializeOwned>(s: Option<String>, what: &str) -> Result<Option<T>> {
    s.as_deref().map(|s| from_json(s, what)).transpose()
}

/// The state as stored: timestamps truncated to microseconds.
pub fn normalize_state(mut state: TicketState) -> TicketState {
    state.created_at = trunc(state.created_at);
    state.updated_at = trunc(state.updated_at);
    state.last_customer_at = trunc(state.last_customer_at);
    state
}

/// The plain ticket columns, copies of the state kept for filtering.
pub struct TicketColumns {
    pub network: &'static str,
    pub account: String,
    pub conversation_key: String,
    pub status: &'static str,
    /// `Assignee::key()`: `slack:U123`, `team:support`.
    pub assignee: Option<String>,
    pub kind: &'static str,
    pub customer_id: String,
    pub state: String,
}

impl TicketColumns {
    pub fn new(state: &TicketState) -> Result<Self> {
        Ok(Self {
            network: state.network.as_str(),
            account: state.account.to_string(),
            conversation_key: state.conversation_key.clone(),
            status: state.status.as_str(),
            assignee: state.assignee.as_ref().map(crate::core::Assignee::key),
            kind: kind_str(state.kind),
            customer_id: state.customer.id.to_string(),
            state: to_json(state)?,
        })
    }
}

/// The `kind` column of a ticket.
pub fn kind_str(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Comment => "comment",
        ItemKind::VisitorPost => "visitor_post",
        ItemKind::Mention => "mention",
        ItemKind::DirectMessage => "direct_message",
        ItemKind::Review => "review",
    }
}

/// Every item kind. A new kind must be added here (and to `kind_str`) for visibility
/// filters to see it.
pub const ITEM_KINDS: &[ItemKind] = &[
    ItemKind::Comment,
    ItemKind::VisitorPost,
    ItemKind::Mention,
    ItemKind::DirectMessage,
    ItemKind::Review,
];

/// The `kind` column values of tickets with this visibility (may be empty).
pub fn kinds_with(visibility: Visibility) -> Vec<&'static str> {
    let public = visibility == Visibility::Public;
    ITEM_KINDS
        .iter()
        .filter(|k| k.is_public() == public)
        .map(|k| kind_str(*k))
        .collect()
}

/// Append `WHERE …` for `filter`, the order (`updated_at DESC, id DESC`) and the limit to
/// a query over `tickets`. Every value is a bind parameter.
pub fn push_ticket_filter<DB>(qb: &mut QueryBuilder<DB>, filter: &Filter, limit: i64)
where
    DB: Database,
    String: for<'a> Encode<'a, DB> + Type<DB>,
    i64: for<'a> Encode<'a, DB> + Type<DB>,
{
    /// `AND column IN (…)`, or a false condition for an empty list.
    fn any_of<DB>(qb: &mut QueryBuilder<DB>, column: &str, values: Vec<String>)
    where
        DB: Database,
        String: for<'a> Encode<'a, DB> + Type<DB>,
    {
        if values.is_empty() {
            qb.push(" AND 1 = 0");
            return;
        }
        qb.push(format_args!(" AND {column} IN ("));
        let mut list = qb.separated(", ");
        for v in values {
            list.push_bind(v);
        }
        list.push_unseparated(")");
    }

    qb.push(" WHERE 1 = 1");
    if !filter.statuses.is_empty() {
        let statuses = filter.statuses.iter().map(|s| s.as_str().to_string());
        any_of(qb, "status", statuses.collect());
    }
    match &filter.assignee {
        None => {}
        Some(AssigneeMatch::Nobody) => {
            qb.push(" AND assignee IS NULL");
        }
        Some(AssigneeMatch::Anyone) => {
            qb.push(" AND assignee IS NOT NULL");
        }
        Some(AssigneeMatch::AnyOf(keys)) => any_of(qb, "assignee", keys.clone()),
    }
    if let Some(network) = filter.network {
        qb.push(" AND network = ")
            .push_bind(network.as_str().to_string());
    }
    if let Some(account) = &filter.account {
        qb.push(" AND account = ").push_bind(account.to_string());
    }
    if let Some(visibility) = filter.visibility {
        let kinds = kinds_with(visibility).into_iter().map(str::to_string);
        any_of(qb, "kind", kinds.collect());
    }
    if let Some(route) = &filter.route {
        push_route(qb, route);
    }
    qb.push(" ORDER BY updated_at DESC, id DESC LIMIT ")
        .push_bind(limit.max(0));
}

/// `AND …` keeping the tickets a channel's route may admit, on the plain columns: a configured
/// account, and a routing rule sending it here (no earlier rule certainly matching), or no rule
/// certainly matching and the account's own channel here. Exact unless a rule has a keyword
/// (the first text is not a column, and SQL's case folding is not Rust's): such a rule counts
/// as "may match" and "may not", and [`find_routed`] decides those tickets in Rust.
fn push_route<DB>(qb: &mut QueryBuilder<DB>, route: &RouteMatch)
where
    DB: Database,
    String: for<'a> Encode<'a, DB> + Type<DB>,
{
    /// `(network = ? AND kind = ?)`, or `(1 = 1)` without conditions.
    fn conditions<DB>(qb: &mut QueryBuilder<DB>, rule: &RouteRule)
    where
        DB: Database,
        String: for<'a> Encode<'a, DB> + Type<DB>,
    {
        qb.push("(1 = 1");
        if let Some(network) = rule.network {
            qb.push(" AND network = ")
                .push_bind(network.as_str().to_string());
        }
        if let Some(kind) = rule.kind {
            qb.push(" AND kind = ")
                .push_bind(kind_str(kind).to_string());
        }
        qb.push(")");
    }
    /// `AND NOT (…)` for each rule that certainly matches when its conditions hold.
    fn none_certain<DB>(qb: &mut QueryBuilder<DB>, rules: &[RouteRule])
    where
        DB: Database,
        String: for<'a> Encode<'a, DB> + Type<DB>,
    {
        for rule in rules.iter().filter(|r| r.keyword.is_none()) {
            qb.push(" AND NOT ");
            conditions(qb, rule);
        }
    }
    /// `(network = ? AND account = ?) OR …` over `accounts`, or `1 = 0`.
    fn accounts<'r, DB>(qb: &mut QueryBuilder<DB>, accounts: impl Iterator<Item = &'r RouteAccount>)
    where
        DB: Database,
        String: for<'a> Encode<'a, DB> + Type<DB>,
    {
        qb.push("(1 = 0");
        for a in accounts {
            qb.push(" OR (network = ")
                .push_bind(a.network.as_str().to_string())
                .push(" AND account = ")
                .push_bind(a.account.to_string())
                .push(")");
        }
        qb.push(")");
    }

    qb.push(" AND ");
    accounts(qb, route.accounts.iter());
    qb.push(" AND ((1 = 0)");
    for (i, rule) in route.rules.iter().enumerate().filter(|(_, r)| r.here) {
        qb.push(" OR (");
        conditions(qb, rule);
        none_certain(qb, &route.rules[..i]);
        qb.push(")");
    }
    qb.push(" OR (");
    accounts(qb, route.accounts.iter().filter(|a| a.here));
    none_certain(qb, &route.rules);
    qb.push("))");
}

/// Runs a ticket query (`fetch(limit)`: `push_ticket_filter` with that limit) and, for a filter
/// confined to a channel, keeps only the tickets its route admits. The SQL is exact unless a
/// routing rule has a keyword; then it may return tickets that are not routed here, and the
/// query is repeated with a larger limit until `limit` tickets are kept or none are left.
pub async fn find_routed<F, Fut>(filter: &Filter, limit: i64, fetch: F) -> Result<Vec<Ticket>>
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Ticket>>>,
{
    let limit = limit.max(0);
    let Some(route) = &filter.route else {
        return fetch(limit).await;
    };
    let mut asked = limit;
    loop {
        let rows = fetch(asked).await?;
        let exhausted = (rows.len() as i64) < asked;
        let mut kept: Vec<Ticket> = rows
            .into_iter()
            .filter(|t| route.admits(&t.state))
            .collect();
        if exhausted || kept.len() as i64 >= limit {
            kept.truncate(limit as usize);
            return Ok(kept);
        }
        asked = asked.saturating_mul(4);
    }
}

/// What makes two saved-reply names "the same": compared and sorted as this key, computed
/// here (not by the database) so both backends agree, also beyond ASCII.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// An import's rows with names that differ only by case merged into one (the last row
/// wins, in the position of the first).
pub fn merge_import_rows(rows: &[(String, String)]) -> Vec<(&str, &str)> {
    let mut merged: Vec<(&str, &str)> = Vec::with_capacity(rows.len());
    let mut index = std::collections::HashMap::new();
    for (name, body) in rows {
        match index.entry(name_key(name)) {
            std::collections::hash_map::Entry::Occupied(e) => {
                merged[*e.get()] = (name.as_str(), body.as_str());
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(merged.len());
                merged.push((name.as_str(), body.as_str()));
            }
        }
    }
    merged
}

/// Tag tokens upserted per statement (two bind parameters each, far below the limits).
pub const TOKENS_PER_STATEMENT: usize = 500;

/// The distinct tokens, sorted.
pub fn distinct_tokens(tokens: &[String]) -> Vec<&str> {
    let set: std::collections::BTreeSet<&str> = tokens.iter().map(String::as_str).collect();
    set.into_iter().collect()
}

pub fn role_str(role: ChatRole) -> &'static str {
    match role {
        ChatRole::Card => "card",
        ChatRole::ThreadMessage => "thread_message",
    }
}

pub fn ticket(id: i64, version: i64, state: String) -> Result<Ticket> {
    Ok(Ticket {
        id: TicketId(id),
        version,
        state: from_json(&state, &format!("ticket {id} state"))?,
    })
}

/// A `messages` row with its timestamp already decoded.
pub struct RawMessage {
    pub key: String,
    pub ticket_id: i64,
    pub kind: String,
    pub network_item_id: Option<String>,
    pub teammate: Option<String>,
    pub chat: Option<String>,
    pub text: String,
    pub delivery: Option<String>,
    pub edited: bool,
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
}

impl RawMessage {
    pub fn into_message(self) -> Result<Message> {
        let what = |field: &str| format!("message {} {field}", self.key);
        Ok(Message {
            kind: MessageKind::parse(&self.kind)
                .ok_or_else(|| StoreError::Corrupt(what(&format!("kind {:?}", self.kind))))?,
            teammate: opt_from_json(self.teammate.clone(), &what("teammate"))?,
            chat: opt_from_json(self.chat.clone(), &what("chat"))?,
            delivery: opt_from_json(self.delivery.clone(), &what("delivery"))?,
            key: MessageKey(self.key),
            ticket_id: TicketId(self.ticket_id),
            network_item_id: self.network_item_id.map(NetworkItemId),
            text: self.text,
            edited: self.edited,
            deleted: self.deleted,
            created_at: self.created_at,
        })
    }
}

pub fn history_entry(at: DateTime<Utc>, actor: String, detail: String) -> Result<HistoryEntry> {
    Ok(HistoryEntry {
        at,
        actor: from_json(&actor, "history actor")?,
        what: from_json(&detail, "history detail")?,
    })
}

/// An outbox row's plain columns, as both backends read them.
pub struct JobColumns {
    pub id: i64,
    pub ticket: i64,
    pub lane: String,
    pub effect: String,
    pub attempts: i32,
    pub claim: i64,
    pub last_error: Option<String>,
}

pub fn job(cols: JobColumns, created_at: DateTime<Utc>, budget_from: DateTime<Utc>) -> Result<Job> {
    let JobColumns {
        id,
        ticket,
        lane,
        effect,
        attempts,
        claim,
        last_error,
    } = cols;
    Ok(Job {
        id,
        ticket: TicketId(ticket),
        lane,
        effect: from_json(&effect, &format!("job {id} effect"))?,
        attempts,
        created_at,
        budget_from,
        claim,
        last_error,
    })
}

pub fn failed_job(
    id: i64,
    ticket: i64,
    effect: String,
    attempts: i32,
    last_error: Option<String>,
) -> Result<FailedJob> {
    Ok(FailedJob {
        id,
        ticket: TicketId(ticket),
        effect: from_json(&effect, &format!("job {id} effect"))?,
        attempts,
        last_error: last_error.unwrap_or_default(),
    })
}

pub fn chat_ref(
    surface: String,
    workspace: String,
    channel: String,
    message: String,
) -> Result<ChatRef> {
    Ok(ChatRef {
        surface: surface
            .parse::<Surface>()
            .map_err(|e| StoreError::Corrupt(format!("chat link: {e}")))?,
        workspace,
        channel,
        message,
    })
}
