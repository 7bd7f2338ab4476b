//! What the store's tests share: a test database on SQLite (a temporary file) or PostgreSQL (a
//! fresh database `wid_test_<random>` on `WID_TEST_POSTGRES`, by default
//! `postgres://postgres@127.0.0.1:5432/postgres`, dropped afterwards), and
//! `on_both_engines!`, which declares each test body once per engine.

#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;

use sqlx::Connection as _;
use wid_store::Store;

/// The time the tests run at.
pub const NOW: i64 = 1_700_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// One test database.
pub struct Db {
    pub engine: Engine,
    pub url: String,
    /// SQLite: the database file.
    pub path: Option<PathBuf>,
    /// PostgreSQL: the administration URL and the database name.
    pub pg: Option<(String, String)>,
    pub _dir: Option<tempfile::TempDir>,
}

impl Db {
    pub async fn open(&self) -> Store {
        Store::connect(&self.url, NOW)
            .await
            .unwrap_or_else(|e| panic!("open {}: {e}", self.url))
    }

    /// Makes the database read-only (or writable again) for new connections; returns the URL
    /// to open it with.
    pub async fn set_read_only(&self, read_only: bool) -> String {
        match self.engine {
            Engine::Sqlite => {
                use std::os::unix::fs::PermissionsExt;
                let path = self.path.as_ref().unwrap();
                let mode = if read_only { 0o444 } else { 0o644 };
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
                if read_only && std::fs::OpenOptions::new().write(true).open(path).is_ok() {
                    // Root writes to a 0444 file anyway: ask SQLite to open it read-only.
                    format!("{}?mode=ro", self.url)
                } else {
                    self.url.clone()
                }
            }
            Engine::Postgres => {
                let (admin_url, name) = self.pg.as_ref().unwrap();
                let mut admin = sqlx::PgConnection::connect(admin_url).await.unwrap();
                let sql = if read_only {
                    format!("ALTER DATABASE {name} SET default_transaction_read_only = on")
                } else {
                    format!("ALTER DATABASE {name} RESET default_transaction_read_only")
                };
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                admin.close().await.ok();
                self.url.clone()
            }
        }
    }

    /// The stored row as it is in the database: password, extra and their flags.
    pub async fn raw(&self, conn_id: &str) -> (Option<String>, Option<String>, i64, i64) {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url).await.unwrap();
        let row = sqlx::query_as(
            "SELECT password, extra, is_encrypted, is_extra_encrypted FROM connections WHERE conn_id = $1",
        )
        .bind(conn_id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        conn.close().await.ok();
        row
    }
}

pub async fn run_sqlite<F, Fut>(body: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wid.db");
    body(Db {
        engine: Engine::Sqlite,
        url: format!("sqlite://{}", path.display()),
        path: Some(path),
        pg: None,
        _dir: Some(dir),
    })
    .await;
}

pub async fn run_postgres<F, Fut>(body: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin_url = std::env::var("WID_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL is required at {admin_url} (set WID_TEST_POSTGRES): {e}")
        });
    let name = format!("wid_test_{}", wid_model::ids::new_guid().replace('-', ""));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let base = admin_url.rsplit_once('/').unwrap().0.to_string();
    let db = Db {
        engine: Engine::Postgres,
        url: format!("{base}/{name}"),
        path: None,
        pg: Some((admin_url.clone(), name.clone())),
        _dir: None,
    };
    // Run the body as its own task so that the database is dropped even when it panics.
    let outcome = tokio::spawn(body(db)).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.ok();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Declares each test body once per engine.
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { crate::support::run_sqlite(crate::$name).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { crate::support::run_postgres(crate::$name).await })*
        }
    };
}
