//! One leader where one is needed: two replicas (two stores on one database) run a leased
//! task; exactly one runs it at a time, and when the leader stops (dies: it no longer renews),
//! the other takes over within the lease's time. On SQLite and on Postgres.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use switchboard::store::DynStore;
use switchboard::workers::leader::lead;
use tokio::sync::watch;

/// How many copies of the task run now, the most that ever ran at once, and who runs it.
#[derive(Default)]
struct Seen {
    now: AtomicUsize,
    most: AtomicUsize,
    starts: std::sync::Mutex<Vec<&'static str>>,
}

fn replica(
    store: DynStore,
    who: &'static str,
    seen: Arc<Seen>,
    ttl: Duration,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = watch::channel(false);
    let handle = tokio::spawn(async move {
        lead(store, "gateway", who, ttl, rx, move |mut stop| {
            let seen = seen.clone();
            async move {
                let n = seen.now.fetch_add(1, Ordering::SeqCst) + 1;
                seen.most.fetch_max(n, Ordering::SeqCst);
                seen.starts.lock().expect("lock").push(who);
                let _ = stop.changed().await;
                seen.now.fetch_sub(1, Ordering::SeqCst);
            }
        })
        .await;
    });
    (tx, handle)
}

async fn wait_for(what: &str, deadline: Duration, check: impl Fn() -> bool) {
    let until = Instant::now() + deadline;
    while !check() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn failover(a: DynStore, b: DynStore) {
    let ttl = Duration::from_millis(600);
    let seen = Arc::new(Seen::default());
    let (stop_a, run_a) = replica(a, "a", seen.clone(), ttl);
    wait_for("a to lead", Duration::from_secs(5), || {
        seen.now.load(Ordering::SeqCst) == 1
    })
    .await;
    let (stop_b, run_b) = replica(b, "b", seen.clone(), ttl);
    // Several renewals: b never runs it beside a.
    tokio::time::sleep(ttl * 3).await;
    assert_eq!(*seen.starts.lock().unwrap(), ["a"]);

    // a dies: its process stops without releasing anything.
    run_a.abort();
    let _ = run_a.await;
    let died = Instant::now();
    wait_for("b to take over", Duration::from_secs(5), || {
        seen.starts.lock().unwrap().len() == 2
    })
    .await;
    assert!(died.elapsed() < ttl * 3, "took {:?}", died.elapsed());
    assert_eq!(*seen.starts.lock().unwrap(), ["a", "b"]);
    let _ = stop_a.send(true);
    let _ = stop_b.send(true);
    let _ = run_b.await;
}

async fn one_at_a_time(a: DynStore, b: DynStore) {
    let ttl = Duration::from_millis(400);
    let seen = Arc::new(Seen::default());
    let (stop_a, run_a) = replica(a, "a", seen.clone(), ttl);
    let (stop_b, run_b) = replica(b, "b", seen.clone(), ttl);
    tokio::time::sleep(ttl * 4).await;
    assert_eq!(seen.most.load(Ordering::SeqCst), 1, "never two at once");
    // A clean stop of the leader: its task is stopped, then the other takes over.
    let leader = seen.starts.lock().unwrap()[0];
    let (stop_leader, stop_other) = if leader == "a" {
        (&stop_a, &stop_b)
    } else {
        (&stop_b, &stop_a)
    };
    let _ = stop_leader.send(true);
    let stopped = Instant::now();
    wait_for("the other to take over", Duration::from_secs(5), || {
        seen.starts.lock().unwrap().len() == 2
    })
    .await;
    // Released at a clean stop: taken within one renewal period, not after the lease's end.
    assert!(stopped.elapsed() < ttl, "took {:?}", stopped.elapsed());
    assert_eq!(seen.most.load(Ordering::SeqCst), 1, "never two at once");
    let _ = stop_other.send(true);
    let _ = run_a.await;
    let _ = run_b.await;
    assert_eq!(seen.now.load(Ordering::SeqCst), 0);
}

async fn sqlite_pair() -> (DynStore, DynStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let a = switchboard::store::connect(&url).await.expect("connect");
    a.migrate().await.expect("migrate");
    let b = switchboard::store::connect(&url).await.expect("connect");
    (a, b, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_gateway_lease_fails_over_and_never_runs_twice() {
    let (a, b, _dir) = sqlite_pair().await;
    failover(a, b).await;
    let (a, b, _dir) = sqlite_pair().await;
    one_at_a_time(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_gateway_lease_fails_over_and_never_runs_twice() {
    for scenario in 0..2 {
        let Some(db) = support::pg::database().await else {
            return;
        };
        let a = switchboard::store::connect(&db.url).await.expect("connect");
        a.migrate().await.expect("migrate");
        let b = switchboard::store::connect(&db.url).await.expect("connect");
        if scenario == 0 {
            failover(a, b).await;
        } else {
            one_at_a_time(a, b).await;
        }
        db.drop_database().await;
    }
}

/// A task that keeps ending by itself (a refused login) is restarted with a growing wait, not
/// every renewal period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_keeps_failing_is_restarted_with_backoff() {
    let (a, _b, _dir) = sqlite_pair().await;
    let ttl = Duration::from_millis(150);
    let starts = Arc::new(AtomicUsize::new(0));
    let (stop, rx) = watch::channel(false);
    let counted = starts.clone();
    let run = tokio::spawn(async move {
        lead(a, "gateway", "a", ttl, rx, move |_stop| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        })
        .await;
    });
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("stops at shutdown")
        .expect("no panic");
    // Without backoff it would start every 50 ms (about 60 times).
    let n = starts.load(Ordering::SeqCst);
    assert!((2..=8).contains(&n), "{n} starts");
}
