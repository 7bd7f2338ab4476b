//! A small forward-only migration runner over the `Any` driver. Each migration is a list of
//! `;`-separated statements applied in one transaction and recorded in `schema_migrations`.

use sqlx::AnyPool;

use crate::StoreError;

/// The migrations, in order.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_cloud.sql")),
    (2, include_str!("../migrations/0002_connections.sql")),
    (3, include_str!("../migrations/0003_rbac.sql")),
    (4, include_str!("../migrations/0004_deployments.sql")),
    (5, include_str!("../migrations/0005_links.sql")),
    (6, include_str!("../migrations/0006_resource_apps.sql")),
    (
        7,
        include_str!("../migrations/0007_application_certificates.sql"),
    ),
    (
        8,
        include_str!("../migrations/0008_signing_keys_encrypted.sql"),
    ),
    (10, include_str!("../migrations/0010_ended_sessions.sql")),
];

/// Applies the migrations that have not run yet.
pub async fn run(pool: &AnyPool, now: i64) -> Result<(), StoreError> {
    // Up to date already: write nothing, so a read-only database (file mode, replica) opens.
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    let applied: Result<(Option<i64>,), sqlx::Error> =
        sqlx::query_as("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(pool)
            .await;
    if let Ok((Some(v),)) = applied
        && v >= latest
    {
        return Ok(());
    }
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        .execute(pool)
        .await?;
    for (version, sql) in MIGRATIONS {
        let done: Option<(i64,)> =
            sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(*version)
                .fetch_optional(pool)
                .await?;
        if done.is_some() {
            continue;
        }
        let mut tx = pool.begin().await?;
        for stmt in statements(sql) {
            // The statements are this crate's own migration files, not input.
            sqlx::query(sqlx::AssertSqlSafe(stmt))
                .execute(&mut *tx)
                .await
                .map_err(|source| StoreError::Migration {
                    version: *version,
                    source,
                })?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(*version)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}

fn statements(sql: &str) -> Vec<String> {
    let without_comments: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    without_comments
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}
