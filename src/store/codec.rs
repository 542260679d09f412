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
    qb.push(" WHERE 1 = 1");
    push_ticket_conditions(qb, filter);
    qb.push(" ORDER BY updated_at DESC, id DESC LIMIT ")
        .push_bind(limit.max(0));
}

/// Append `AND …` for every set field of `filter`, on the plain `tickets` columns (status,
/// assignee, network, account, kind: names no other table of a join may share).
pub fn push_ticket_conditions<DB>(qb: &mut QueryBuilder<DB>, filter: &Filter)
where
    DB: Database,
    String: for<'a> Encode<'a, DB> + Type<DB>,
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

    if !filter.statuses.is_empty() {
        let statuses = filter.statuses.iter().map(|s| s.as_str().to_string());
        any_of(qb, "status", statuses.collect());
    }
    if let Some(storm) = filter.storm {
        // An integer, written out: nothing to escape.
        qb.push(format_args!(
            " AND id IN (SELECT ticket_id FROM storm_members WHERE storm_id = {storm})"
        ));
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

// ---- team statistics --------------------------------------------------------------------------
//
// Both backends run the same statements, built here; only the time values' encoding (SQLite:
// microseconds, Postgres: TIMESTAMPTZ) and the tag query (JSON functions) differ. History
// `actor` and `detail` are TEXT written by `to_json`, so equal values are equal strings: the
// statements compare and group them as strings and Rust decodes the few distinct ones.

/// `LIKE` pattern of a teammate actor (`Actor::Teammate` as `to_json` writes it; a unit test
/// holds the two together). System and customer actors never match.
pub const TEAMMATE_ACTOR: &str = r#"{"type":"teammate",%"#;

/// The `detail` texts of a change of status to closed (from any status).
pub fn closed_details() -> Result<Vec<String>> {
    use crate::core::{HistoryKind, Status};
    [Status::Unread, Status::Read, Status::Closed]
        .into_iter()
        .map(|from| {
            to_json(&HistoryKind::StatusChanged {
                from,
                to: Status::Closed,
            })
        })
        .collect()
}

/// Which tickets statistics cover: a ticket filter (network, team, the channel's route) and,
/// when the route has keyword rules (which SQL cannot decide), the ids Rust admitted.
pub struct StatsScope<'a> {
    pub filter: &'a Filter,
    pub ids: Option<Vec<i64>>,
}

impl StatsScope<'_> {
    /// Whether the route must be decided in Rust first ([`stats_candidates`]).
    pub fn needs_ids(filter: &Filter) -> bool {
        filter
            .route
            .as_ref()
            .is_some_and(|r| r.rules.iter().any(|rule| rule.keyword.is_some()))
    }

    fn push<DB>(&self, qb: &mut QueryBuilder<DB>)
    where
        DB: Database,
        String: for<'a> Encode<'a, DB> + Type<DB>,
    {
        push_ticket_conditions(qb, self.filter);
        if let Some(ids) = &self.ids {
            if ids.is_empty() {
                qb.push(" AND 1 = 0");
            } else {
                // Ids read from the database, never typed by anyone: written as literals so a
                // long list needs no bind parameters (both backends cap those).
                qb.push(" AND tickets.id IN (");
                let list: Vec<String> = ids.iter().map(i64::to_string).collect();
                qb.push(list.join(","));
                qb.push(")");
            }
        }
    }
}

/// `SELECT tickets.id, tickets.state` of the tickets the filter's SQL admits (a superset when
/// the route has keyword rules) with history in `[from, to)`: the route decides them in Rust.
pub fn stats_candidates<DB, T>(filter: &Filter, from: T, to: T) -> QueryBuilder<DB>
where
    DB: Database,
    String: for<'a> Encode<'a, DB> + Type<DB>,
    T: for<'a> Encode<'a, DB> + Type<DB> + Send + 'static,
{
    let mut qb = QueryBuilder::new(
        "SELECT tickets.id AS id, tickets.state AS state FROM tickets WHERE EXISTS \
         (SELECT 1 FROM ticket_history h WHERE h.ticket_id = tickets.id AND h.at >= ",
    );
    qb.push_bind(from)
        .push(" AND h.at < ")
        .push_bind(to)
        .push(")");
    push_ticket_conditions(&mut qb, filter);
    qb
}

/// The tickets opened in `[from, to)` with their first teammate reply (time and actor) and
/// their first close: columns `network, kind, opened_at, reply_at, reply_actor, closed_at`.
pub fn stats_opened<DB, T>(scope: &StatsScope<'_>, from: T, to: T) -> Result<QueryBuilder<DB>>
where
    DB: Database,
    String: for<'a> Encode<'a, DB> + Type<DB>,
    T: for<'a> Encode<'a, DB> + Type<DB> + Send + 'static,
{
    let first_reply = |qb: &mut QueryBuilder<DB>, column: &str| {
        qb.push(format_args!(
            "(SELECT r.{column} FROM ticket_history r WHERE r.ticket_id = o.ticket_id \
             AND r.code = 'reply_delivered' AND r.actor LIKE "
        ))
        .push_bind(TEAMMATE_ACTOR.to_string())
        .push(" ORDER BY r.at, r.id LIMIT 1)");
    };
    let mut qb = QueryBuilder::new(
        "SELECT tickets.network AS network, tickets.kind AS kind, o.at AS opened_at, ",
    );
    first_reply(&mut qb, "at");
    qb.push(" AS reply_at, ");
    first_reply(&mut qb, "actor");
    qb.push(
        " AS reply_actor, (SELECT MIN(c.at) FROM ticket_history c WHERE c.ticket_id = o.ticket_id \
         AND c.code = 'status_changed' AND c.detail IN (",
    );
    push_list(&mut qb, closed_details()?);
    qb.push(
        ")) AS closed_at FROM ticket_history o JOIN tickets ON tickets.id = o.ticket_id \
         WHERE o.code = 'opened' AND o.at >= ",
    );
    qb.push_bind(from).push(" AND o.at < ").push_bind(to);
    scope.push(&mut qb);
    Ok(qb)
}

/// Counts of the entries in `[from, to)` that statistics count, grouped: columns `code`,
/// `who` (the actor of teammate replies and closes, else empty), `what` (the detail of SLA
/// results, else empty), `n` (entries) and `tickets` (distinct tickets).
pub fn stats_events<DB, T>(scope: &StatsScope<'_>, from: T, to: T) -> Result<QueryBuilder<DB>>
where
    DB: Database,
    String: for<'a> Encode<'a, DB> + Type<DB>,
    T: for<'a> Encode<'a, DB> + Type<DB> + Send + 'static,
{
    let mut qb = QueryBuilder::new(
        "SELECT h.code AS code, \
         CASE WHEN h.code IN ('reply_delivered', 'status_changed') THEN h.actor ELSE '' END AS who, \
         CASE WHEN h.code IN ('sla_met', 'sla_breached') THEN h.detail ELSE '' END AS what, \
         COUNT(*) AS n, COUNT(DISTINCT h.ticket_id) AS tickets \
         FROM ticket_history h JOIN tickets ON tickets.id = h.ticket_id \
         WHERE h.code IN ('sla_met', 'sla_breached', 'auto_closed', 'reply_delivered', 'status_changed') \
         AND h.at >= ",
    );
    qb.push_bind(from).push(" AND h.at < ").push_bind(to);
    qb.push(" AND (h.code IN ('sla_met', 'sla_breached', 'auto_closed') OR (h.code = 'reply_delivered' AND h.actor LIKE ")
        .push_bind(TEAMMATE_ACTOR.to_string())
        .push(") OR (h.code = 'status_changed' AND h.actor LIKE ")
        .push_bind(TEAMMATE_ACTOR.to_string())
        .push(" AND h.detail IN (");
    push_list(&mut qb, closed_details()?);
    qb.push(")))");
    scope.push(&mut qb);
    qb.push(" GROUP BY 1, 2, 3");
    Ok(qb)
}

/// How a backend lists a ticket's current tags as rows of `value`, joined to `tickets`.
pub enum TagsFrom {
    /// `, json_each(tickets.state, '$.tags') tag`
    Sqlite,
    /// `CROSS JOIN LATERAL jsonb_array_elements_text(…) AS tag(value)`
    Postgres,
}

/// The current tags of the tickets opened in `[from, to)`, with how many carry each: columns
/// `tag`, `n`. All of them (few): Rust orders and cuts them, so the backends' collations never
/// decide ties.
pub fn stats_tags<DB, T>(
    scope: &StatsScope<'_>,
    from: T,
    to: T,
    dialect: TagsFrom,
) -> QueryBuilder<DB>
where
    DB: Database,
    String: for<'a> Encode<'a, DB> + Type<DB>,
    T: for<'a> Encode<'a, DB> + Type<DB> + Send + 'static,
{
    let mut qb = QueryBuilder::new(
        "SELECT tag.value AS tag, COUNT(DISTINCT tickets.id) AS n \
         FROM ticket_history o JOIN tickets ON tickets.id = o.ticket_id",
    );
    qb.push(match dialect {
        TagsFrom::Sqlite => ", json_each(tickets.state, '$.tags') tag",
        TagsFrom::Postgres => {
            " CROSS JOIN LATERAL jsonb_array_elements_text(tickets.state::jsonb -> 'tags') AS tag(value)"
        }
    });
    qb.push(" WHERE o.code = 'opened' AND o.at >= ");
    qb.push_bind(from).push(" AND o.at < ").push_bind(to);
    scope.push(&mut qb);
    qb.push(" GROUP BY tag.value");
    qb
}

fn push_list<DB>(qb: &mut QueryBuilder<DB>, values: Vec<String>)
where
    DB: Database,
    String: for<'a> Encode<'a, DB> + Type<DB>,
{
    let mut list = qb.separated(", ");
    for v in values {
        list.push_bind(v);
    }
}

/// One grouped row of [`stats_events`], decoded into `raw`.
pub fn add_stats_event(
    raw: &mut crate::core::stats::StatsRaw,
    code: &str,
    who: &str,
    what: &str,
    n: i64,
    tickets: i64,
) -> Result<()> {
    use crate::core::{Actor, HistoryKind};
    let teammate = || -> Result<crate::core::Teammate> {
        match from_json::<Actor>(who, "history actor")? {
            Actor::Teammate(t) => Ok(t),
            other => Err(StoreError::Corrupt(format!(
                "a teammate's entry has actor {other:?}"
            ))),
        }
    };
    let (n, tickets) = (n.max(0) as u64, tickets.max(0) as u64);
    match code {
        "reply_delivered" => raw.replies.push((teammate()?, n)),
        "status_changed" => raw.closed.push((teammate()?, tickets)),
        "auto_closed" => raw.auto_closed += n,
        "sla_met" | "sla_breached" => match from_json::<HistoryKind>(what, "history detail")? {
            HistoryKind::SlaMet { target } => raw.sla.push((target, true, n)),
            HistoryKind::SlaBreached { target } => raw.sla.push((target, false, n)),
            other => {
                return Err(StoreError::Corrupt(format!(
                    "an SLA entry has detail {other:?}"
                )));
            }
        },
        other => return Err(StoreError::Corrupt(format!("unexpected code {other:?}"))),
    }
    Ok(())
}

/// One row of [`stats_opened`], decoded.
pub fn opened_ticket(
    network: &str,
    kind: &str,
    opened_at: DateTime<Utc>,
    reply: Option<(DateTime<Utc>, String)>,
    closed_at: Option<DateTime<Utc>>,
) -> Result<crate::core::stats::OpenedTicket> {
    use crate::core::{Actor, Network};
    let network = network
        .parse::<Network>()
        .map_err(|_| StoreError::Corrupt(format!("ticket network {network:?}")))?;
    let kind = ITEM_KINDS
        .iter()
        .copied()
        .find(|k| kind_str(*k) == kind)
        .ok_or_else(|| StoreError::Corrupt(format!("ticket kind {kind:?}")))?;
    let first_response = match reply {
        Some((at, actor)) => match from_json::<Actor>(&actor, "history actor")? {
            Actor::Teammate(t) => Some((at, t)),
            other => {
                return Err(StoreError::Corrupt(format!(
                    "a teammate's reply has actor {other:?}"
                )));
            }
        },
        None => None,
    };
    Ok(crate::core::stats::OpenedTicket {
        network,
        kind,
        opened_at,
        first_response,
        resolved_at: closed_at,
    })
}

// ---- storm mode ---------------------------------------------------------------------------

/// One storm message as the card shows it, from its member row, message text and ticket state.
pub fn storm_line(
    seq: i64,
    ticket: i64,
    at: DateTime<Utc>,
    text: String,
    deleted: bool,
    state: String,
) -> Result<crate::core::storm::StormLine> {
    let t = self::ticket(ticket, 0, state)?;
    Ok(crate::core::storm::StormLine {
        seq,
        ticket: t.id,
        author: t.state.customer_name(),
        // Removed on the network: not the team's to show any more.
        text: if deleted { String::new() } else { text },
        at,
        status: t.state.status,
        answered: t.state.last_reply_at.is_some(),
    })
}

/// The effects a storm's end queues: its card's final edit and its last thread batch.
pub fn storm_end_effects(storm: i64) -> [crate::core::Effect; 2] {
    use crate::core::Effect;
    [Effect::StormCard { storm }, Effect::StormThread { storm }]
}

#[cfg(test)]
mod stats_tests {
    use super::*;
    use crate::core::{Actor, ChatUserId, Surface, Teammate};

    #[test]
    fn the_teammate_pattern_matches_teammates_only() {
        let like = |s: &str| s.starts_with(TEAMMATE_ACTOR.trim_end_matches('%'));
        let teammate = Actor::Teammate(Teammate {
            surface: Surface::Discord,
            id: ChatUserId::new("42"),
        });
        assert!(like(&to_json(&teammate).unwrap()));
        assert!(!like(&to_json(&Actor::System).unwrap()));
        let customer = Actor::Customer(crate::core::CustomerId::new("teammate"));
        assert!(!like(&to_json(&customer).unwrap()));
        // `_` and `%` are LIKE wildcards: the pattern must hold none but the final `%`.
        assert!(!TEAMMATE_ACTOR.trim_end_matches('%').contains(['_', '%']));
    }

    #[test]
    fn closed_details_are_the_entries_decide_writes() {
        let details = closed_details().unwrap();
        assert_eq!(details.len(), 3);
        assert!(
            details
                .contains(&r#"{"kind":"status_changed","from":"read","to":"closed"}"#.to_string())
        );
    }
}
