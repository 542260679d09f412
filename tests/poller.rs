//! The poll worker against a scripted connector and token source, on the real stores: the
//! cursor and the rows are committed together (a crash re-polls, nothing is doubled), one
//! replica polls an account at a time, a refused token is refreshed once, a dead one stops
//! polling, and quota exhaustion waits for the reset.

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use switchboard::core::quota::QuotaPlan;
use switchboard::core::{
    AccountId, Capabilities, Customer, CustomerId, InboundItem, ItemKind, Moderation, Network,
    NetworkChange, NetworkEnvelope, NetworkItemId, Surface, Ticket,
};
use switchboard::networks::{
    Call, Connector, ConnectorError, Login, PollBatch, PolledConnector, TokenError, TokenSource,
};
use switchboard::store::{ConnectedAccount, DynStore, NewAccount};
use switchboard::workers::poll::{PollSettings, Poller, Round};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).expect("valid")
}

fn at(s: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(s)
}

fn settings() -> PollSettings {
    PollSettings {
        lease: Duration::from_secs(60),
        min_interval: Duration::from_secs(30),
        failure_backoff: Duration::from_secs(120),
    }
}

fn comment(account: &str, id: &str) -> NetworkEnvelope {
    NetworkEnvelope {
        dedupe_key: format!("youtube:comment:{id}"),
        change: NetworkChange::New {
            item: InboundItem {
                network: Network::Youtube,
                account: AccountId::new(account),
                item_id: NetworkItemId::new(id),
                kind: ItemKind::Comment,
                post_id: NetworkItemId::new("video1"),
                customer: Customer {
                    id: CustomerId::new(format!("UCfan-{id}")),
                    name: Some("Fan".into()),
                },
                text: format!("comment {id}"),
                created_at: t0(),
                permalink: None,
                attachments: vec![],
                context: Default::default(),
            },
        },
    }
}

fn to_row(e: &NetworkEnvelope) -> switchboard::store::NewInbox {
    switchboard::workers::InboxEvent::Network {
        change: e.change.clone(),
    }
    .to_row("youtube", e.dedupe_key.clone())
    .expect("serialises")
}

type Answer = Result<PollBatch, ConnectorError>;

/// A connector that answers from a script and records what it was asked.
#[derive(Default)]
struct Scripted {
    answers: Mutex<VecDeque<Answer>>,
    /// (account record id, token, cursor) per call.
    calls: Mutex<Vec<(i64, String, Option<String>)>>,
    /// Answered when the script is empty: no changes, cursor kept.
    idle_cursor: String,
    /// The network's daily budget, if it has one.
    plan: Option<QuotaPlan>,
}

impl Scripted {
    fn new(answers: Vec<Answer>) -> Arc<Self> {
        Arc::new(Self {
            answers: Mutex::new(answers.into()),
            calls: Mutex::default(),
            idle_cursor: "idle".into(),
            plan: None,
        })
    }

    fn budgeted(plan: QuotaPlan, answers: Vec<Answer>) -> Arc<Self> {
        Arc::new(Self {
            answers: Mutex::new(answers.into()),
            calls: Mutex::default(),
            idle_cursor: "idle".into(),
            plan: Some(plan),
        })
    }
    fn calls(&self) -> Vec<(i64, String, Option<String>)> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl Connector for Scripted {
    fn network(&self) -> Network {
        Network::Youtube
    }

    fn capabilities(&self, _kind: ItemKind) -> Capabilities {
        Capabilities::NONE
    }

    async fn reply(
        &self,
        _call: Call<'_>,
        _ticket: &Ticket,
        _reply_to: &NetworkItemId,
        _text: &str,
    ) -> Result<NetworkItemId, ConnectorError> {
        Err(ConnectorError::Permanent(
            switchboard::core::FailureReason::NotSupported,
        ))
    }

    async fn moderate(
        &self,
        _call: Call<'_>,
        _ticket: &Ticket,
        _action: Moderation,
        _item: &NetworkItemId,
    ) -> Result<(), ConnectorError> {
        Err(ConnectorError::Permanent(
            switchboard::core::FailureReason::NotSupported,
        ))
    }
}

#[async_trait]
impl PolledConnector for Scripted {
    fn login(&self) -> Login {
        Login {
            provider: "google",
            scopes: &[switchboard::oauth::SCOPE_YOUTUBE],
        }
    }

    fn units_per_poll(&self) -> u32 {
        3
    }

    fn quota_plan(&self) -> Option<QuotaPlan> {
        self.plan
    }

    fn quota_reset(&self, _now: DateTime<Utc>) -> DateTime<Utc> {
        t0() + chrono::Duration::days(1)
    }
    async fn identify(
        &self,
        _token: &SecretString,
    ) -> Result<Vec<(String, String)>, ConnectorError> {
        Ok(vec![])
    }

    async fn poll(
        &self,
        account: &ConnectedAccount,
        token: &SecretString,
        cursor: Option<&str>,
        _now: DateTime<Utc>,
    ) -> Result<PollBatch, ConnectorError> {
        self.calls.lock().unwrap().push((
            account.id,
            token.expose_secret().to_string(),
            cursor.map(str::to_string),
        ));
        // Let other pollers run between the call and its commit.
        tokio::task::yield_now().await;
        self.answers.lock().unwrap().pop_front().unwrap_or_else(|| {
            Ok(PollBatch {
                envelopes: vec![],
                cursor: self.idle_cursor.clone(),
                units: 3,
            })
        })
    }
}

/// Tokens from a script too; records whether a refresh was forced.
struct Tokens {
    answers: Mutex<VecDeque<Result<String, TokenError>>>,
    forced: Mutex<Vec<bool>>,
}

impl Tokens {
    fn new(answers: Vec<Result<&str, TokenError>>) -> Arc<Self> {
        Arc::new(Self {
            answers: Mutex::new(answers.into_iter().map(|a| a.map(str::to_string)).collect()),
            forced: Mutex::default(),
        })
    }
}

#[async_trait]
impl TokenSource for Tokens {
    async fn access_token(
        &self,
        _account: &ConnectedAccount,
        force_refresh: bool,
    ) -> Result<SecretString, TokenError> {
        self.forced.lock().unwrap().push(force_refresh);
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Ok("tok".into()))
            .map(SecretString::from)
    }
}

async fn sqlite() -> DynStore {
    let store = switchboard::store::connect("sqlite::memory:")
        .await
        .expect("sqlite");
    store.migrate().await.expect("migrate");
    store
}

async fn connect(store: &DynStore, id: &str) -> ConnectedAccount {
    store
        .connect_account(
            &NewAccount {
                network: Network::Youtube,
                account_id: AccountId::new(id),
                name: "Acme".into(),
                surface: Surface::Slack,
                channel: "C1".into(),
                credentials: b"sealed".to_vec(),
                connected_by: None,
            },
            t0(),
        )
        .await
        .expect("connect")
}

fn batch(envelopes: Vec<NetworkEnvelope>, cursor: &str) -> Answer {
    Ok(PollBatch {
        envelopes,
        cursor: cursor.into(),
        units: 3,
    })
}

#[tokio::test]
async fn rows_and_cursor_are_committed_together_and_a_crash_repolls_without_doubles() {
    let store = sqlite().await;
    let a = connect(&store, "UC1").await;
    let connector = Scripted::new(vec![
        batch(vec![comment("UC1", "c1"), comment("UC1", "c2")], "mark-2"),
        // The same window again (the previous poll's commit was lost), then one more.
        batch(
            vec![
                comment("UC1", "c1"),
                comment("UC1", "c2"),
                comment("UC1", "c3"),
            ],
            "mark-3",
        ),
    ]);
    let poller = Poller::new(vec![connector.clone()], Tokens::new(vec![]), settings());
    // A poller claims the account, fetches, and dies before committing.
    let (_, lost) = store
        .claim_poll(t0(), chrono::Duration::seconds(60))
        .await
        .unwrap()
        .expect("due");
    assert_eq!(poller.round(&store, at(1)).await.unwrap(), Round::Idle);
    // Its lease runs out: this poller takes the account over from the start.
    assert_eq!(
        poller.round(&store, at(60)).await.unwrap(),
        Round::Polled {
            account: a.id,
            rows: 2
        }
    );
    assert_eq!(store.count_inbox().await.unwrap(), 2);
    // The dead poller's late commit (if it ever came back) records nothing.
    let late = switchboard::store::PollOutcome {
        rows: vec![to_row(&comment("UC1", "late"))],
        cursor: Some("stale".into()),
        next_poll_at: at(1),
        error: None,
    };
    assert!(!store.finish_poll(lost, &late, at(61)).await.unwrap());
    assert_eq!(store.count_inbox().await.unwrap(), 2);
    let now = store.account(a.id).await.unwrap().unwrap();
    assert_eq!(now.cursor.as_deref(), Some("mark-2"));
    // No quota plan: the next poll is the minimum interval away.
    assert_eq!(now.next_poll_at, at(90));
    assert_eq!(poller.round(&store, at(89)).await.unwrap(), Round::Idle);
    // The next poll overlaps the last: only the new comment is added.
    assert_eq!(
        poller.round(&store, at(90)).await.unwrap(),
        Round::Polled {
            account: a.id,
            rows: 3
        }
    );
    assert_eq!(store.count_inbox().await.unwrap(), 3);
    let cursors: Vec<_> = connector.calls().into_iter().map(|c| c.2).collect();
    assert_eq!(cursors, vec![None, Some("mark-2".to_string())]);
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_a_dead_one_stops_polling() {
    let store = sqlite().await;
    let a = connect(&store, "UC1").await;
    let connector = Scripted::new(vec![
        Err(ConnectorError::Unauthorized),
        batch(vec![comment("UC1", "c1")], "m1"),
    ]);
    let tokens = Tokens::new(vec![Ok("old"), Ok("new")]);
    let poller = Poller::new(vec![connector.clone()], tokens.clone(), settings());
    assert_eq!(
        poller.round(&store, t0()).await.unwrap(),
        Round::Polled {
            account: a.id,
            rows: 1
        }
    );
    let used: Vec<_> = connector.calls().into_iter().map(|c| c.1).collect();
    assert_eq!(used, ["old", "new"]);
    assert_eq!(*tokens.forced.lock().unwrap(), [false, true]);

    // Next time the refresh is refused as dead: unhealthy, and never polled again.
    let tokens = Tokens::new(vec![Err(TokenError::Dead("invalid_grant".into()))]);
    let poller = Poller::new(vec![connector.clone()], tokens, settings());
    assert_eq!(
        poller.round(&store, at(30)).await.unwrap(),
        Round::Unhealthy {
            account: a.id,
            reason: "invalid_grant".into()
        }
    );
    let now = store.account(a.id).await.unwrap().unwrap();
    assert_eq!(now.unhealthy.as_deref(), Some("invalid_grant"));
    assert_eq!(now.cursor.as_deref(), Some("m1"), "the cursor survives");
    assert_eq!(poller.round(&store, at(3_600)).await.unwrap(), Round::Idle);
    assert_eq!(connector.calls().len(), 2);
}

#[tokio::test]
async fn quota_exhaustion_waits_for_the_reset_and_outages_back_off() {
    let store = sqlite().await;
    let a = connect(&store, "UC1").await;
    let connector = Scripted::new(vec![
        Err(ConnectorError::Exhausted {
            until: at(7_200),
            reason: "quotaExceeded".into(),
        }),
        Err(ConnectorError::Transient {
            retry_after: None,
            reason: "HTTP 503".into(),
        }),
    ]);
    let poller = Poller::new(vec![connector], Tokens::new(vec![]), settings());
    assert!(matches!(
        poller.round(&store, t0()).await.unwrap(),
        Round::Failed { .. }
    ));
    let now = store.account(a.id).await.unwrap().unwrap();
    assert_eq!(
        (now.next_poll_at, now.last_error.as_deref()),
        (at(7_200), Some("quotaExceeded"))
    );
    assert_eq!(poller.round(&store, at(7_199)).await.unwrap(), Round::Idle);
    assert!(matches!(
        poller.round(&store, at(7_200)).await.unwrap(),
        Round::Failed { .. }
    ));
    let now = store.account(a.id).await.unwrap().unwrap();
    assert_eq!(now.next_poll_at, at(7_320), "the failure backoff");
    // A good poll clears the error.
    poller.round(&store, at(7_320)).await.unwrap();
    let now = store.account(a.id).await.unwrap().unwrap();
    assert_eq!(now.last_error, None);
}

/// The quota is one budget for every replica and every call: units spent elsewhere (replies
/// and moderation by the outbox, another replica's polls) slow this replica's polls, and
/// once only the replies' reserve is left the next poll waits for the reset.
#[tokio::test]
async fn polls_are_scheduled_by_the_quota_every_replica_spends() {
    let store = sqlite().await;
    let a = connect(&store, "UC1").await;
    let plan = QuotaPlan {
        daily_units: 100,
        reply_reserve_units: 40,
        min_interval: Duration::from_secs(1),
    };
    let reset = t0() + chrono::Duration::days(1);
    let poller = Poller::new(
        vec![Scripted::budgeted(plan, vec![])],
        Tokens::new(vec![]),
        settings(),
    );
    // A fresh day: 60 units for polls; after this poll's 3, 19 rounds of 3 spread over the
    // day.
    poller.round(&store, t0()).await.unwrap();
    let first = store.account(a.id).await.unwrap().unwrap().next_poll_at;
    let gap = (first - t0()).as_seconds_f64();
    assert!((gap - 86_400.0 / 19.0).abs() < 0.01, "{gap}");
    // Replies spent 55 units meanwhile (the outbox charges the same ledger).
    assert_eq!(
        store
            .charge_quota(Network::Youtube, reset, 55, first)
            .await
            .unwrap(),
        58
    );
    poller.round(&store, first).await.unwrap();
    let next = store.account(a.id).await.unwrap().unwrap().next_poll_at;
    assert_eq!(next, reset, "only the reserve is left: wait for the reset");
}

/// A failed poll is billed too: its failing call counts; a quota refusal does not.
#[tokio::test]
async fn failed_polls_count_their_failing_call() {
    let store = sqlite().await;
    connect(&store, "UC1").await;
    let plan = QuotaPlan {
        daily_units: 100,
        reply_reserve_units: 40,
        min_interval: Duration::from_secs(1),
    };
    let reset = t0() + chrono::Duration::days(1);
    let answers = vec![
        Err(ConnectorError::Transient {
            retry_after: None,
            reason: "HTTP 503".into(),
        }),
        Err(ConnectorError::Exhausted {
            until: at(600),
            reason: "quotaExceeded".into(),
        }),
    ];
    let poller = Poller::new(
        vec![Scripted::budgeted(plan, answers)],
        Tokens::new(vec![]),
        settings(),
    );
    let spent = |now| {
        let store = store.clone();
        async move {
            store
                .charge_quota(Network::Youtube, reset, 0, now)
                .await
                .unwrap()
        }
    };
    poller.round(&store, t0()).await.unwrap();
    assert_eq!(spent(t0()).await, 1);
    poller.round(&store, at(120)).await.unwrap();
    assert_eq!(spent(at(120)).await, 1, "a quota refusal is free");
}

/// Two services on one Postgres: every due account is polled exactly once per round of
/// both pollers, never by both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_poll_each_account_once() {
    let Some(db) = support::pg::database().await else {
        return;
    };
    let store = switchboard::store::connect(&db.url).await.expect("pg");
    store.migrate().await.expect("migrate");
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(connect(&store, &format!("UC{i}")).await.id);
    }
    let one = Scripted::new(vec![]);
    let two = Scripted::new(vec![]);
    let replicas = [
        Arc::new(Poller::new(
            vec![one.clone()],
            Tokens::new(vec![]),
            settings(),
        )),
        Arc::new(Poller::new(
            vec![two.clone()],
            Tokens::new(vec![]),
            settings(),
        )),
    ];
    let mut tasks = Vec::new();
    for poller in replicas {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            while poller.round(&store, at(1)).await.unwrap() != Round::Idle {}
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut polled: Vec<i64> = one
        .calls()
        .into_iter()
        .chain(two.calls())
        .map(|c| c.0)
        .collect();
    polled.sort_unstable();
    assert_eq!(polled, ids);
    drop(store);
    db.drop_database().await;
}
