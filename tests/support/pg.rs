//! A fresh Postgres database per test, for scenarios that need several replicas on one
//! database. The URL comes from `SWITCHBOARD_TEST_POSTGRES_URL`; in CI a missing URL fails
//! the test instead of skipping it.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

pub struct TestDb {
    /// The new database's URL.
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDb {
    pub async fn drop_database(self) {
        if let Ok(mut admin) = sqlx::PgConnection::connect(&self.admin_url).await {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut admin)
                .await;
            let _ = admin.close().await;
        }
    }
}

/// A new, empty database (migrated by whoever opens it first), or `None` to skip outside CI.
pub async fn database() -> Option<TestDb> {
    let Ok(admin_url) = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "SWITCHBOARD_TEST_POSTGRES_URL is not set: Postgres scenarios must run in CI \
             (e.g. postgres://postgres@127.0.0.1:5432/test)"
        );
        eprintln!("skipping a Postgres scenario: SWITCHBOARD_TEST_POSTGRES_URL is not set");
        return None;
    };
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "sb_e2e_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to SWITCHBOARD_TEST_POSTGRES_URL");
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    admin.close().await.expect("close admin connection");
    let mut url = url::Url::parse(&admin_url).expect("valid Postgres URL");
    url.set_path(&format!("/{name}"));
    Some(TestDb {
        url: url.to_string(),
        admin_url,
        name,
    })
}
