//! Background work off the request path: the inbox processor turns committed inbound events
//! into ticket decisions; the outbox worker performs their effects. Both use the database as
//! their queue, so a crash loses nothing and several replicas can share one Postgres.

pub mod accounts;
pub mod apply;
pub mod autoassign;
pub mod autoclose;
pub mod directory;
pub mod erase;
pub mod inbox;
pub mod leader;
pub mod outbox;
pub mod poll;
pub mod profiles;
pub mod refresh;
pub mod retention;
pub mod saved;
pub mod sla;
pub mod storm;
pub mod suggestions;
pub mod tokens;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::accounts::Account;
use crate::chat::discord::DiscordClient;
use crate::chat::slack::SlackClient;
use crate::config::Config;
use crate::core::filter::Filter;
use crate::core::{Assignee, CardAction, ChatRef, NetworkChange, Teammate, TicketId};
use crate::store::DynStore;

/// An inbound event as committed to the inbox (its `payload` column, JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum InboxEvent {
    /// A change on a network (new comment, edit, removal).
    Network { change: NetworkChange },
    /// A teammate clicked a card control (permission already checked by the handler).
    CardAction {
        teammate: Teammate,
        /// The raw `action_id`, parsed by the processor (a bad one is noted, not retried).
        action_id: String,
        /// The button's value (a suggested tag).
        #[serde(default)]
        value: Option<String>,
        /// What a picker selected (a user id, a team name).
        #[serde(default)]
        selected: Vec<String>,
    },
    /// A teammate edited one of their chat messages.
    MessageEdited {
        teammate: Teammate,
        message: ChatRef,
        text: String,
    },
    /// A chat message was deleted.
    MessageDeleted { message: ChatRef },
    /// A reply sent from the Reply modal (permission already checked by the handler).
    ModalReply {
        teammate: Teammate,
        ticket: TicketId,
        /// The modal's view id: unique per submission, so it keys the reply.
        view_id: String,
        text: String,
    },
    /// The Reply modal was opened / closed without sending.
    ReplyModal {
        teammate: Teammate,
        ticket: TicketId,
        open: bool,
    },
    /// An assignment with a note, from the `assign` command (permission already checked).
    Assign {
        teammate: Teammate,
        ticket: TicketId,
        assignee: Option<Assignee>,
        note: Option<String>,
    },
    /// Tags chosen in the tags editor.
    TagsSubmitted {
        teammate: Teammate,
        ticket: TicketId,
        tags: Vec<String>,
    },
    /// A bulk action over a filter (permission already checked by the handler).
    Bulk {
        teammate: Teammate,
        action: CardAction,
        filter: Filter,
        /// Where the result is reported (Slack).
        response_url: Option<String>,
        /// The Discord interaction token: the result is a follow-up message.
        #[serde(default)]
        discord_token: Option<String>,
        /// The tag a "tag all" adds (`CardAction::AcceptTag`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<String>,
        /// Only the tickets whose comment contains this word ("hide all containing").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keyword: Option<String>,
        /// Who an "assign all to…" assigns (`CardAction::AssignPerson` / `AssignTeam`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assignee: Option<Assignee>,
    },
    /// An admin asked to erase the customer of `ticket` (admin permission and the channel's
    /// access already checked by the handler): every ticket of that customer on its network.
    Erase {
        teammate: Teammate,
        /// The ticket the command named (its lane).
        ticket: TicketId,
        network: crate::core::Network,
        customer: crate::core::CustomerId,
    },
    /// A teammate wrote in a thread; if the thread is a card's, it is a reply or a note.
    ThreadMessage {
        teammate: Teammate,
        thread: ChatRef,
        message: ChatRef,
        text: String,
        /// The author's Discord role ids (permissions); empty on Slack.
        #[serde(default)]
        roles: Vec<String>,
    },
}

impl InboxEvent {
    /// The inbox lane of this event: events of one lane are applied in the order they were
    /// acknowledged, even while an earlier one is being retried. One lane per ticket (clicks,
    /// modals, assignments, and, see [`InboxEvent::to_row_in_thread`], the messages in its
    /// card's thread with their edits and deletions), per chat message (a message outside any
    /// known card thread: its edits and deletion still follow it, so a deletion in the undo
    /// window can never overtake its reply), per conversation (new customer items) and per
    /// network item (its edits and removals). `None`: orders with nothing (receipts, bulk
    /// actions).
    pub fn lane(&self) -> Option<String> {
        let ticket = |t: &TicketId| Some(ticket_lane(*t));
        let chat = |m: &ChatRef| Some(format!("chat:{}", crate::core::MessageKey::from_chat(m)));
        match self {
            InboxEvent::Network { change } => match change {
                NetworkChange::New { item } => Some(format!("conv:{}", item.conversation_key())),
                NetworkChange::Edited {
                    network, item_id, ..
                }
                | NetworkChange::Removed {
                    network, item_id, ..
                } => Some(format!(
                    "item:{}",
                    crate::core::MessageKey::inbound(*network, item_id)
                )),
                NetworkChange::Receipt { .. } => None,
            },
            InboxEvent::CardAction { action_id, .. } => action_id
                .parse::<crate::core::ActionId>()
                .ok()
                .and_then(|id| ticket(&id.ticket)),
            InboxEvent::MessageEdited { message, .. }
            | InboxEvent::MessageDeleted { message }
            | InboxEvent::ThreadMessage { message, .. } => chat(message),
            InboxEvent::ModalReply { ticket: t, .. }
            | InboxEvent::ReplyModal { ticket: t, .. }
            | InboxEvent::Assign { ticket: t, .. }
            | InboxEvent::TagsSubmitted { ticket: t, .. }
            | InboxEvent::Erase { ticket: t, .. } => ticket(t),
            InboxEvent::Bulk { .. } => None,
        }
    }

    /// A thread message, an edit or a deletion: the events the server moves to the lane of
    /// the ticket whose card thread they happened in ([`InboxEvent::to_row_in_thread`]).
    pub fn is_chat_message(&self) -> bool {
        matches!(
            self,
            InboxEvent::ThreadMessage { .. }
                | InboxEvent::MessageEdited { .. }
                | InboxEvent::MessageDeleted { .. }
        )
    }

    /// The inbox row of a chat message event that happened in the thread of `ticket`'s card:
    /// it goes in the ticket's lane, so a reply typed in the thread and a click on the card
    /// are applied in the order they were acknowledged. Other events (or `None`: not a card
    /// thread) keep their own lane.
    pub fn to_row_in_thread(
        &self,
        source: &str,
        dedupe_key: impl Into<String>,
        ticket: Option<TicketId>,
    ) -> serde_json::Result<crate::store::NewInbox> {
        let mut row = self.to_row(source, dedupe_key)?;
        if let (Some(t), true) = (ticket, self.is_chat_message()) {
            row.lane = Some(ticket_lane(t));
        }
        Ok(row)
    }

    /// The inbox row that commits this event, keyed by the platform's own id.
    pub fn to_row(
        &self,
        source: &str,
        dedupe_key: impl Into<String>,
    ) -> serde_json::Result<crate::store::NewInbox> {
        Ok(crate::store::NewInbox {
            source: source.into(),
            dedupe_key: dedupe_key.into(),
            payload: serde_json::to_string(self)?,
            lane: self.lane(),
        })
    }
}

/// The inbox lane of everything that happens to one ticket in chat.
pub fn ticket_lane(ticket: TicketId) -> String {
    format!("ticket:{ticket}")
}

/// What the workers share.
pub struct Services {
    pub store: DynStore,
    pub config: Arc<Config>,
    pub slack: SlackClient,
    /// Present when `[discord]` is configured.
    pub discord: Option<DiscordClient>,
    /// The network connectors (the only way workers reach a network).
    pub networks: crate::networks::Networks,
    /// Woken by the HTTP handlers after committing inbox rows.
    pub wake_inbox: Notify,
    /// Woken after committing decisions that created jobs.
    pub wake_outbox: Notify,
    /// Group-commits inbound events (see `server::inbox_writer`).
    pub inbox: crate::server::inbox_writer::InboxWriter,
    /// Chat-workspace names and user groups, cached.
    pub directory: directory::Directory,
    /// The saved-reply search index, cached by revision.
    pub saved: saved::SavedReplies,
    /// The tag-suggestion model, cached for a few seconds.
    pub suggestions: suggestions::TagSuggestions,
    /// Access tokens of connected accounts (present when a credentials key is configured).
    pub tokens: Option<Arc<dyn crate::networks::TokenSource>>,
    /// For OAuth token calls: the configured deadlines, and no redirects (a 307 from a token
    /// endpoint would resend the client secret elsewhere).
    pub oauth_http: reqwest::Client,
    /// Accounts connected at run time, as of the last [`Services::reload_accounts`].
    pub connected: std::sync::RwLock<Vec<Account>>,
    /// This service's metrics (`GET /metrics`).
    pub metrics: crate::telemetry::Metrics,
}

impl Services {
    /// The account a ticket belongs to: declared in the configuration, or connected at run
    /// time (its record as of the last [`Services::reload_accounts`]).
    pub fn account(&self, network: crate::core::Network, id: &str) -> Option<Account> {
        if let Some(a) = self.config.account(network, id) {
            return Some(a);
        }
        let connected = self.connected.read().unwrap_or_else(|p| p.into_inner());
        connected
            .iter()
            .find(|a| a.network == network && a.id.as_str() == id)
            .cloned()
    }

    /// [`Services::account`], re-reading the connected accounts once when it is not known
    /// here: another replica may have connected it since this one last looked.
    pub async fn account_fresh(
        &self,
        network: crate::core::Network,
        id: &str,
    ) -> anyhow::Result<Option<Account>> {
        if let Some(a) = self.account(network, id) {
            return Ok(Some(a));
        }
        if !self.networks.is_polled(network) {
            return Ok(None);
        }
        self.reload_accounts().await?;
        Ok(self.account(network, id))
    }

    /// The accounts connected at run time.
    pub fn connected_accounts(&self) -> Vec<Account> {
        self.connected
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// What the ticket's network allows for its kind of item.
    pub fn capabilities(&self, ticket: &crate::core::TicketState) -> crate::core::Capabilities {
        self.networks.capabilities(ticket.network, ticket.kind)
    }

    /// Re-read the connected accounts (after a connect or disconnect, and periodically).
    pub async fn reload_accounts(&self) -> anyhow::Result<()> {
        let records = self
            .store
            .accounts()
            .await?
            .iter()
            .map(Account::from)
            .collect();
        *self.connected.write().unwrap_or_else(|p| p.into_inner()) = records;
        Ok(())
    }
}

/// How long an item may be in flight before a pressed pool stops counting it against its one
/// slot: a stalled call (up to `http.timeout_secs`) must not hold back every other lane
/// while a burst is being acknowledged. Items usually take a few ms.
pub const PRESSED_STALLED_AFTER: Duration = Duration::from_secs(1);

/// What a [`run_pool`] loop works with.
pub(crate) struct Pool<'a, P> {
    /// For the logs.
    pub name: &'static str,
    /// Notified when there may be work.
    pub wake: &'a Notify,
    /// Longest wait for work without a wake-up.
    pub poll: Duration,
    /// Items in flight at most.
    pub capacity: usize,
    /// Whether acknowledgements are queueing (then one item at a time).
    pub pressed: P,
    /// While pressed, an item in flight this long no longer takes the one slot.
    pub stalled_after: Duration,
}

/// The loop shared by the queue workers: keep up to `capacity` claimed items in flight, each
/// in its own task, and claim more as soon as a slot frees, so one slow item (a stalled call)
/// never holds back the others; ordering within a lane comes from the claim query. When idle,
/// wait for a wake-up, the poll interval or a finished task. On shutdown, stop claiming and
/// wait for the items in flight; the caller bounds that wait and abandons what is left (its
/// claims expire and any worker takes the items again). While `pressed()` (acknowledgements
/// queueing, see `InboxWriter::pressed`) the pool claims only when none of its items has been
/// in flight for less than `stalled_after`: it keeps going, one item at a time, and leaves the
/// CPU to the acknowledgements, and a stalled call still does not hold back the other lanes.
pub(crate) async fn run_pool<T, P, C, CF, W, WF>(
    pool: Pool<'_, P>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    mut claim: C,
    work: W,
) where
    T: Send + 'static,
    P: Fn() -> bool,
    C: FnMut(usize) -> CF,
    CF: std::future::Future<Output = anyhow::Result<Vec<T>>>,
    W: Fn(T) -> WF,
    WF: std::future::Future<Output = ()> + Send + 'static,
{
    let Pool {
        name,
        wake,
        poll,
        capacity,
        pressed,
        stalled_after,
    } = pool;
    let capacity = capacity.max(1);
    let mut running = tokio::task::JoinSet::new();
    // Items in flight for less than `stalled_after`.
    let fresh = Arc::new(AtomicUsize::new(0));
    loop {
        if *shutdown.borrow() {
            break;
        }
        // Every finished task leaves before counting: a claim then takes as many rows as have
        // finished (one claim, one commit), not one row per turn.
        while running.try_join_next().is_some() {}
        let mut free = capacity.saturating_sub(running.len());
        if pressed() {
            // One slot, taken by any item not yet stalled.
            free = if fresh.load(Ordering::SeqCst) > 0 {
                0
            } else {
                free.min(1)
            };
        }
        let mut claimed = 0;
        if free > 0 {
            match claim(free).await {
                Ok(items) => {
                    for item in items {
                        claimed += 1;
                        running.spawn(fresh_while(work(item), Fresh::new(&fresh), stalled_after));
                    }
                }
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), worker = name, "cannot claim work")
                }
            }
        }
        if claimed > 0 && running.len() < capacity {
            continue;
        }
        tokio::select! {
            Some(_) = running.join_next(), if !running.is_empty() => {}
            _ = wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => {}
        }
    }
    while running.join_next().await.is_some() {}
}

/// Counts one item as fresh until dropped.
struct Fresh(Arc<AtomicUsize>);

impl Fresh {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count.clone())
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Run `work`, counted as fresh for at most `stalled_after`.
async fn fresh_while<F: std::future::Future<Output = ()>>(
    work: F,
    fresh: Fresh,
    stalled_after: Duration,
) {
    tokio::pin!(work);
    tokio::select! {
        () = &mut work => return,
        () = tokio::time::sleep(stalled_after) => {}
    }
    drop(fresh);
    work.await;
}

/// Exponential backoff for `attempt` (1-based), capped, with ±20 % jitter so a crowd of
/// failures does not retry in lockstep. `floor` (a Retry-After) wins when longer.
pub fn backoff(attempt: i32, base: Duration, cap: Duration, floor: Option<Duration>) -> Duration {
    let exp = attempt.clamp(1, 30) as u32 - 1;
    let raw = base.saturating_mul(2u32.saturating_pow(exp)).min(cap);
    // Cheap jitter without a RNG dependency: the clock's sub-second nanos.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let jitter = 0.8 + 0.4 * (f64::from(nanos % 1000) / 1000.0);
    let jittered = raw.mul_f64(jitter);
    match floor {
        Some(f) if f > jittered => f,
        _ => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::AtomicBool;

    /// Counts the pool's items in flight and the most seen at once.
    #[derive(Default)]
    struct Flight {
        now: AtomicUsize,
        peak: AtomicUsize,
        done: AtomicUsize,
    }

    /// A pool of 4 that polls every 5 ms.
    fn test_pool<P>(wake: &Notify, pressed: P, stalled_after: Duration) -> Pool<'_, P> {
        Pool {
            name: "test",
            wake,
            poll: Duration::from_millis(5),
            capacity: 4,
            pressed,
            stalled_after,
        }
    }

    /// Up to `free` of the items `left` of `total`, numbered 0, 1, … from the first handed out.
    fn take(left: &AtomicUsize, total: usize, free: usize) -> Vec<usize> {
        let mut items = Vec::new();
        while items.len() < free && left.load(Ordering::SeqCst) > 0 {
            items.push(total - left.fetch_sub(1, Ordering::SeqCst));
        }
        items
    }

    #[tokio::test]
    async fn a_stalled_item_does_not_hold_back_a_pressed_pool() {
        // Item 0 stalls for 400 ms; items 1–3 take 5 ms each. Pressed throughout.
        let left = AtomicUsize::new(4);
        let finished = Arc::new(std::sync::Mutex::new(Vec::new()));
        let wake = Notify::new();
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let pool = run_pool(
            test_pool(&wake, || true, Duration::from_millis(30)),
            shutdown,
            |free| {
                let items = take(&left, 4, free);
                async move { Ok(items) }
            },
            |item: usize| {
                let finished = finished.clone();
                async move {
                    let took = if item == 0 { 400 } else { 5 };
                    tokio::time::sleep(Duration::from_millis(took)).await;
                    finished.lock().expect("lock").push(item);
                }
            },
        );
        let drive = async {
            while finished.lock().expect("lock").len() < 4 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let _ = stop.send(true);
        };
        tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(pool, drive) })
            .await
            .expect("the pool finished its items and stopped");
        assert_eq!(
            *finished.lock().expect("lock"),
            vec![1, 2, 3, 0],
            "the others went past the stalled item"
        );
    }

    #[tokio::test]
    async fn a_pressed_pool_takes_one_item_at_a_time_and_resumes_after() {
        let pressed = AtomicBool::new(true);
        let flight = Arc::new(Flight::default());
        let left = AtomicUsize::new(12);
        let wake = Notify::new();
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let pool = run_pool(
            test_pool(
                &wake,
                || pressed.load(Ordering::SeqCst),
                Duration::from_secs(10),
            ),
            shutdown,
            |free| {
                let items = take(&left, 12, free);
                async move { Ok(items) }
            },
            |_: usize| {
                let f = flight.clone();
                async move {
                    let now = f.now.fetch_add(1, Ordering::SeqCst) + 1;
                    f.peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    f.now.fetch_sub(1, Ordering::SeqCst);
                    f.done.fetch_add(1, Ordering::SeqCst);
                }
            },
        );
        let drive = async {
            let wait_done = |n: usize| {
                let f = flight.clone();
                async move {
                    while f.done.load(Ordering::SeqCst) < n {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                }
            };
            wait_done(4).await;
            assert_eq!(
                flight.peak.load(Ordering::SeqCst),
                1,
                "one at a time while pressed"
            );
            pressed.store(false, Ordering::SeqCst);
            wait_done(12).await;
            assert!(
                flight.peak.load(Ordering::SeqCst) >= 3,
                "the whole capacity once released: {}",
                flight.peak.load(Ordering::SeqCst)
            );
            let _ = stop.send(true);
        };
        tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(pool, drive) })
            .await
            .expect("the pool finished its items and stopped");
    }

    #[test]
    fn backoff_doubles_caps_and_honours_retry_after() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        for (attempt, lo, hi) in [
            (1, 0.8, 1.2),
            (2, 1.6, 2.4),
            (4, 6.4, 9.6),
            (20, 48.0, 72.0),
        ] {
            let d = backoff(attempt, base, cap, None).as_secs_f64();
            assert!((lo..=hi).contains(&d), "attempt {attempt}: {d}");
        }
        let d = backoff(1, base, cap, Some(Duration::from_secs(30)));
        assert_eq!(d, Duration::from_secs(30));
    }

    #[test]
    fn thread_events_join_their_ticket_lane_and_nothing_else_moves() {
        use crate::core::{ChatRef, ChatUserId, Surface, Teammate};
        let at = |m: &str| ChatRef {
            surface: Surface::Slack,
            workspace: "T1".into(),
            channel: "C1".into(),
            message: m.into(),
        };
        let me = Teammate {
            surface: Surface::Slack,
            id: ChatUserId::new("U1"),
        };
        let reply = InboxEvent::ThreadMessage {
            teammate: me.clone(),
            thread: at("1.1"),
            message: at("2.2"),
            text: "hi".into(),
            roles: vec![],
        };
        let lane = |e: &InboxEvent, t| e.to_row_in_thread("slack", "k", t).unwrap().lane;
        let t7 = Some(TicketId(7));
        assert_eq!(lane(&reply, t7), Some("ticket:7".into()));
        // Outside a card thread a message keeps its own lane, shared with its deletion.
        let deleted = InboxEvent::MessageDeleted { message: at("2.2") };
        assert_eq!(lane(&reply, None), lane(&deleted, None));
        assert_eq!(lane(&deleted, t7), Some("ticket:7".into()));
        let click = InboxEvent::CardAction {
            teammate: me,
            action_id: "sb1:close:7".into(),
            value: None,
            selected: vec![],
        };
        assert_eq!(lane(&click, None), Some("ticket:7".into()));
        // Only chat messages move: a bulk action keeps no lane whatever it is given.
        let bulk = InboxEvent::Bulk {
            teammate: Teammate {
                surface: Surface::Slack,
                id: ChatUserId::new("U1"),
            },
            action: CardAction::Close,
            filter: Filter::default(),
            response_url: None,
            discord_token: None,
            tag: None,
            keyword: None,
            assignee: None,
        };
        assert_eq!(lane(&bulk, t7), None);
    }
}
