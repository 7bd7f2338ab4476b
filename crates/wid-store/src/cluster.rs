//! Coordination between replicas that share one PostgreSQL database: a cluster-wide lock for
//! start-up (migrations, bootstrap) and the serialization of federated credential writes to
//! one identity. On SQLite (one process) both are no-ops: the process's own locks suffice.
//!
//! PostgreSQL advisory locks are used, keyed in namespaces of their own so that they never
//! meet another application's locks: a session lock held on one pooled connection for
//! start-up, and a transaction lock (`pg_try_advisory_xact_lock`) for a credential write,
//! released by the commit or rollback that ends the write.

use sqlx::Any;
use sqlx::pool::PoolConnection;

use crate::records::FederatedCredential;
use crate::store::{FicRow, fic_cols, fic_from_row};
use crate::{Store, StoreError};

/// The advisory lock key of start-up (migrations and bootstrap): "wid\0start".
const START_LOCK: i64 = 0x7769_6400_7374_6172;
/// The namespace of credential write locks (the first key of the two-key form).
const FIC_NAMESPACE: i32 = 0x7769_6401;

/// The cluster-wide start-up lock; [`StartLock::release`] gives it back. Dropped without a
/// release (an error path), its connection is closed, which ends the session and its lock.
#[derive(Debug)]
pub struct StartLock {
    conn: Option<PoolConnection<Any>>,
}

impl StartLock {
    /// Releases the lock and returns the connection to the pool.
    pub async fn release(mut self) -> Result<(), StoreError> {
        if let Some(mut c) = self.conn.take() {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(START_LOCK)
                .execute(&mut *c)
                .await?;
        }
        Ok(())
    }
}

impl Drop for StartLock {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            // Closing the session releases its advisory locks.
            drop(c.detach());
        }
    }
}

pub(crate) async fn start_lock(
    pool: &sqlx::AnyPool,
    engine: &str,
) -> Result<StartLock, StoreError> {
    if engine != "postgres" {
        return Ok(StartLock { conn: None });
    }
    let mut c = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(START_LOCK)
        .execute(&mut *c)
        .await?;
    Ok(StartLock { conn: Some(c) })
}

/// One serialized write to one identity's federated credentials: a transaction that holds
/// the identity's write lock (on PostgreSQL) until [`FicWrite::commit`], or until it is
/// dropped (rolled back).
#[derive(Debug)]
pub struct FicWrite {
    tx: sqlx::Transaction<'static, Any>,
    principal_id: String,
    store: Store,
}

impl Store {
    /// Takes the cluster-wide start-up lock (waiting for another replica's start-up to end).
    pub async fn start_lock(&self) -> Result<StartLock, StoreError> {
        start_lock(&self.pool, self.engine()).await
    }

    /// Begins a write to the federated credentials of `principal_id`; `None` when another
    /// write to the same identity holds it (on any replica): ARM's 409.
    pub async fn begin_fic_write(
        &self,
        principal_id: &str,
    ) -> Result<Option<FicWrite>, StoreError> {
        let mut tx = self.pool.begin().await?;
        if self.engine() == "postgres" {
            let (got,): (bool,) =
                sqlx::query_as("SELECT pg_try_advisory_xact_lock($1, hashtext($2))")
                    .bind(FIC_NAMESPACE)
                    .bind(principal_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if !got {
                tx.rollback().await?;
                return Ok(None);
            }
        }
        Ok(Some(FicWrite {
            tx,
            principal_id: principal_id.to_string(),
            store: self.clone(),
        }))
    }
}

impl FicWrite {
    /// The identity's credentials, ordered by name, as this write sees them.
    pub async fn list(&mut self) -> Result<Vec<FederatedCredential>, StoreError> {
        let rows: Vec<FicRow> = sqlx::query_as(concat!(
            "SELECT ",
            fic_cols!(),
            " FROM federated_credentials WHERE identity_principal_id = $1 ORDER BY name_key"
        ))
        .bind(&self.principal_id)
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(rows.into_iter().map(fic_from_row).collect())
    }

    /// Creates or replaces a credential by name; true when created.
    pub async fn upsert(&mut self, f: &FederatedCredential) -> Result<bool, StoreError> {
        crate::store::upsert_fic_on(&mut self.tx, f).await
    }

    /// Deletes a credential by name; true when it existed.
    pub async fn delete(&mut self, name: &str) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "DELETE FROM federated_credentials WHERE identity_principal_id = $1 AND name_key = $2",
        )
        .bind(&self.principal_id)
        .bind(name.to_lowercase())
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Commits the write and releases the identity.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        self.store.changed(crate::changes::Topic::Directory).await;
        Ok(())
    }
}
