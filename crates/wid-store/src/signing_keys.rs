//! Signing keys (`signing_keys`): the private half is stored as a Fernet token made with the
//! same keys as connection secrets ([`FernetKeys`]); rows from before migration 8 are
//! plaintext until [`Store::encrypt_plaintext_keys`] converts them.
//!
//! A row is read by its own flag, so a replica still on a plaintext row, or one whose key
//! list has the new key first and the old one after, reads every row; a key list that holds
//! none of the row's keys is [`StoreError::KeyDecrypt`], with the fix.

use sqlx::Row;
use sqlx::any::AnyRow;
use wid_model::secret::Secret;

use crate::{FernetKeys, Store, StoreError, StoredKey};

const COLUMNS: &str = "kid, purpose, private_pem, created_at, retired_at, expires_at, is_encrypted";

fn key_from_row(row: &AnyRow, fernet: &FernetKeys) -> Result<StoredKey, StoreError> {
    let kid: String = row.try_get(0)?;
    let stored: String = row.try_get(2)?;
    let is_encrypted: i64 = row.try_get(6)?;
    let private_pem = if is_encrypted != 0 {
        fernet
            .decrypt(&stored)
            .map_err(|source| StoreError::KeyDecrypt {
                kid: kid.clone(),
                source,
            })?
    } else {
        Secret::from(stored)
    };
    Ok(StoredKey {
        kid,
        purpose: row.try_get(1)?,
        private_pem,
        created_at: row.try_get(3)?,
        retired_at: row.try_get(4)?,
        expires_at: row.try_get(5)?,
    })
}

async fn insert<'c, E>(executor: E, k: &StoredKey, fernet: &FernetKeys) -> Result<(), StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO signing_keys (kid, purpose, private_pem, created_at, retired_at, expires_at, is_encrypted) \
         VALUES ($1, $2, $3, $4, $5, $6, 1)",
    )
    .bind(&k.kid)
    .bind(&k.purpose)
    .bind(fernet.encrypt(k.private_pem.expose_str()))
    .bind(k.created_at)
    .bind(k.retired_at)
    .bind(k.expires_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// Re-encrypts every signing key with the first Fernet key (a plaintext one too), within
/// `tx`; the number of rows written.
pub(crate) async fn rotate_keys_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    fernet: &FernetKeys,
) -> Result<usize, StoreError> {
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT kid, private_pem, is_encrypted FROM signing_keys ORDER BY kid")
            .fetch_all(&mut **tx)
            .await?;
    let mut changed = 0;
    for (kid, stored, is_encrypted) in rows {
        let token = if is_encrypted != 0 {
            fernet
                .rotate(&stored)
                .map_err(|source| StoreError::KeyDecrypt {
                    kid: kid.clone(),
                    source,
                })?
        } else {
            fernet.encrypt(Secret::from(stored).expose_str())
        };
        sqlx::query("UPDATE signing_keys SET private_pem = $1, is_encrypted = 1 WHERE kid = $2")
            .bind(token)
            .bind(&kid)
            .execute(&mut **tx)
            .await?;
        changed += 1;
    }
    Ok(changed)
}

impl Store {
    /// Stores a new signing key, its private half encrypted with the first Fernet key.
    pub async fn insert_key(&self, k: &StoredKey, fernet: &FernetKeys) -> Result<(), StoreError> {
        insert(&self.pool, k, fernet).await
    }

    /// Keys of a purpose that are still published (not expired at `now`), newest first,
    /// decrypted.
    pub async fn list_keys(
        &self,
        purpose: &str,
        now: i64,
        fernet: &FernetKeys,
    ) -> Result<Vec<StoredKey>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM signing_keys \
             WHERE purpose = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY created_at DESC, kid"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(purpose)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| key_from_row(r, fernet)).collect()
    }

    /// Retires the active keys of a purpose and stores `new` (encrypted) as the active one,
    /// atomically.
    pub async fn rotate_key(
        &self,
        new: &StoredKey,
        retired_at: i64,
        expires_at: i64,
        fernet: &FernetKeys,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE signing_keys SET retired_at = $1, expires_at = $2 WHERE purpose = $3 AND retired_at IS NULL")
            .bind(retired_at)
            .bind(expires_at)
            .bind(&new.purpose)
            .execute(&mut *tx)
            .await?;
        insert(&mut *tx, new, fernet).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Encrypts the signing keys still stored in plaintext (written before migration 8), in
    /// one transaction; the number converted. Run at start, under the start-up lock, before
    /// any key is read.
    pub async fn encrypt_plaintext_keys(&self, fernet: &FernetKeys) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT kid, private_pem FROM signing_keys WHERE is_encrypted = 0 ORDER BY kid",
        )
        .fetch_all(&mut *tx)
        .await?;
        let count = rows.len();
        for (kid, pem) in rows {
            let pem = Secret::from(pem);
            sqlx::query(
                "UPDATE signing_keys SET private_pem = $1, is_encrypted = 1 WHERE kid = $2 AND is_encrypted = 0",
            )
            .bind(fernet.encrypt(pem.expose_str()))
            .bind(&kid)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        if count > 0 {
            tracing::info!(count, "encrypted signing keys stored in plaintext");
        }
        Ok(count)
    }
}
