//! Saved-reply search benchmark: 10,000 realistic replies (~300 characters each).
//!
//! Reports p50/p99 of (1) `SearchIndex::search` alone over 1–3-word queries, and (2) the
//! lookup path as the service does it, on SQLite and on Postgres: `saved_replies_revision()`
//! then a search of the cached index, rebuilt only when the revision changed. Also reports the
//! import of the 10,000 replies through the store and the index build.
//!
//! `cargo bench --bench saved_replies` (env: BENCH_REPLIES, BENCH_QUERIES,
//! SWITCHBOARD_TEST_POSTGRES_URL for the Postgres run).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use switchboard::core::saved_reply::{SavedReply, SavedReplyId, SearchIndex};
use switchboard::core::text::count;
use switchboard::store::{self, DynStore};

const LIMIT: usize = 20;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator (xorshift64*), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const TOPICS: &[&str] = &[
    "Refund",
    "Shipping",
    "Delivery delay",
    "Order status",
    "Return label",
    "Damaged item",
    "Wrong size",
    "Subscription",
    "Billing",
    "Discount code",
    "Store hours",
    "Café menu",
    "Allergens",
    "Gift card",
    "Wholesale",
    "Complaint",
    "Thank you",
    "Account login",
    "Privacy",
    "Job application",
];
const VARIANTS: &[&str] = &[
    "policy",
    "apology",
    "follow-up",
    "escalation",
    "FAQ",
    "short",
    "long",
    "weekend",
    "holiday",
    "VIP",
    "first contact",
    "reminder",
];
const OPENERS: &[&str] = &[
    "Hi {author_name}, thanks for reaching out to {account_name}!",
    "Hello {author_name}, we're sorry to hear about this.",
    "Thanks for your message, {author_name}.",
    "Hi {author_name}, {agent_name} here from the {account_name} team.",
];
const SENTENCES: &[&str] = &[
    "Refunds are processed within 5 business days once we receive the item.",
    "You can track your parcel with the link in your confirmation e-mail.",
    "Deliveries are running a little late this week because of the holidays.",
    "Please send us your order number in a private message so we can look into it.",
    "We've passed your feedback on to the café manager.",
    "Our stores are open from 8 am to 6 pm, Monday to Saturday.",
    "Gift cards never expire and can be used online or in store.",
    "If the item arrived damaged, a photo helps us replace it faster.",
    "Your subscription can be paused or cancelled at any time from your account.",
    "Discount codes can't be combined, but we'll apply the better one for you.",
    "All our pastries may contain nuts, milk and gluten.",
    "Returns are free within 30 days with the prepaid label.",
];
const CLOSERS: &[&str] = &[
    "Have a lovely day!",
    "Let us know if there's anything else we can do.",
    "— {agent_name}",
    "Talk soon, the {account_name} team.",
];
const QUERIES: &[&str] = &[
    "refund",
    "ref",
    "ship",
    "delivery delay",
    "order status",
    "damaged photo",
    "gift card",
    "café",
    "sub pause",
    "return label free",
    "discount",
    "hours saturday",
    "allergens nuts",
    "vip",
    "thank",
    "wrong size apology",
    "complaint escalation",
    "track parcel link",
    "zzz",
    "billing holiday",
];

fn replies(n: usize) -> Vec<(String, String)> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|i| {
            let name = format!("{} – {} {}", rng.pick(TOPICS), rng.pick(VARIANTS), i + 1);
            let mut body = rng.pick(OPENERS).to_string();
            while body.chars().count() < 260 {
                body.push(' ');
                body.push_str(rng.pick(SENTENCES));
            }
            body.push(' ');
            body.push_str(rng.pick(CLOSERS));
            (name, body)
        })
        .collect()
}

struct Stats {
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Stats {
        p50: at(0.50),
        p99: at(0.99),
        max: *samples.last().expect("samples"),
    }
}

fn show(what: &str, s: &Stats) {
    println!(
        "{what}: p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3,
        s.max.as_secs_f64() * 1e3
    );
}

fn index_only(rows: &[(String, String)], queries: usize) {
    let now = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).expect("time");
    let replies: Vec<SavedReply> = rows
        .iter()
        .enumerate()
        .map(|(i, (name, body))| SavedReply {
            id: SavedReplyId(i as i64 + 1),
            name: name.clone(),
            body: body.clone(),
            updated_by: "bench".into(),
            updated_at: now,
        })
        .collect();
    let start = Instant::now();
    let index = SearchIndex::new(replies);
    let build = start.elapsed();
    let mut samples = Vec::with_capacity(queries);
    let mut found = 0usize;
    for i in 0..queries {
        let q = QUERIES[i % QUERIES.len()];
        let start = Instant::now();
        let hits = black_box(index.search(black_box(q), LIMIT));
        samples.push(start.elapsed());
        found += hits.len();
    }
    println!(
        "saved-reply index build ({} replies): {:.1} ms",
        count(rows.len()),
        build.as_secs_f64() * 1e3
    );
    show(
        &format!(
            "saved-reply search ({} replies, index only, {} queries, {:.1} hits/query)",
            count(rows.len()),
            count(queries),
            found as f64 / queries as f64
        ),
        &stats(samples),
    );
}

/// The service's cache: the index of one revision.
struct Cache {
    current: Option<(i64, Arc<SearchIndex>)>,
    rebuilds: usize,
}

impl Cache {
    async fn index(&mut self, store: &DynStore) -> Arc<SearchIndex> {
        let revision = store.saved_replies_revision().await.expect("revision");
        if let Some((r, index)) = &self.current
            && *r == revision
        {
            return index.clone();
        }
        let index = Arc::new(SearchIndex::new(
            store.saved_replies().await.expect("replies"),
        ));
        self.current = Some((revision, index.clone()));
        self.rebuilds += 1;
        index
    }
}

async fn end_to_end(store: DynStore, rows: &[(String, String)], queries: usize) {
    let backend = store.backend();
    store.migrate().await.expect("migrate");
    let start = Instant::now();
    let counts = store
        .import_saved_replies(rows, "bench", Utc::now())
        .await
        .expect("import");
    println!(
        "saved-reply import ({}, {} replies, one transaction): {:.0} ms ({} created)",
        backend,
        count(rows.len()),
        start.elapsed().as_secs_f64() * 1e3,
        counts.created
    );
    let mut cache = Cache {
        current: None,
        rebuilds: 0,
    };
    let start = Instant::now();
    cache.index(&store).await;
    println!(
        "saved-reply first lookup ({backend}: load {} replies + build index): {:.1} ms",
        count(rows.len()),
        start.elapsed().as_secs_f64() * 1e3
    );
    let mut samples = Vec::with_capacity(queries);
    for i in 0..queries {
        let q = QUERIES[i % QUERIES.len()];
        let start = Instant::now();
        let index = cache.index(&store).await;
        black_box(index.search(q, LIMIT).len());
        samples.push(start.elapsed());
    }
    show(
        &format!(
            "saved-reply lookup ({backend}, {} replies, revision check + search, {} queries)",
            count(rows.len()),
            count(queries)
        ),
        &stats(samples),
    );
    // A change elsewhere: the next lookup rebuilds.
    store
        .create_saved_reply("Bench new", "New reply", "bench", Utc::now())
        .await
        .expect("create")
        .expect("name free");
    let start = Instant::now();
    let index = cache.index(&store).await;
    assert_eq!(index.len(), rows.len() + 1);
    println!(
        "saved-reply lookup after a change ({backend}: reload + rebuild): {:.1} ms ({} rebuilds in all)",
        start.elapsed().as_secs_f64() * 1e3,
        cache.rebuilds
    );
}

#[tokio::main]
async fn main() {
    let n = env_num("BENCH_REPLIES", 10_000);
    let queries = env_num("BENCH_QUERIES", 2_000);
    let rows = replies(n);
    let avg = rows.iter().map(|(_, b)| b.chars().count()).sum::<usize>() / n.max(1);
    println!("{} saved replies, body ~{avg} characters", count(n));
    index_only(&rows, queries);

    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    match store::connect(&url).await {
        Ok(store) => end_to_end(store, &rows, queries).await,
        Err(e) => println!("SQLite: cannot connect: {e}"),
    }

    if let Ok(base) = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL") {
        let db = format!("sb_bench_sr_{}", std::process::id());
        match postgres_db(&base, &db).await {
            Ok(url) => {
                let store = store::connect(&url).await.expect("connect");
                end_to_end(store, &rows, queries).await;
                drop_postgres_db(&base, &db).await;
            }
            Err(e) => println!("Postgres: cannot create {db}: {e}"),
        }
    } else {
        println!("Postgres: skipped (set SWITCHBOARD_TEST_POSTGRES_URL)");
    }
}

/// Create a fresh database next to the one `base` names; returns its URL.
async fn postgres_db(base: &str, db: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(base).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut conn)
        .await?;
    let mut url = url::Url::parse(base)?;
    url.set_path(&format!("/{db}"));
    Ok(url.to_string())
}

async fn drop_postgres_db(base: &str, db: &str) {
    use sqlx::Connection;
    if let Ok(mut conn) = sqlx::PgConnection::connect(base).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}
