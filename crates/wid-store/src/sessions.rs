//! Signed-out web UI sessions, shared by every replica on the database until they expire.

use crate::{Store, StoreError};

impl Store {
    /// Records the session whose nonce hashes to `nonce_sha256` as ended until `expires_at`,
    /// and forgets sessions that ended before `now` (their cookies are refused on their own).
    pub async fn end_session(
        &self,
        nonce_sha256: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM ended_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO ended_sessions (nonce_sha256, expires_at) VALUES ($1, $2) ON CONFLICT (nonce_sha256) DO NOTHING",
        )
        .bind(nonce_sha256)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the session whose nonce hashes to `nonce_sha256` was signed out.
    pub async fn session_ended(&self, nonce_sha256: &str) -> Result<bool, StoreError> {
        let r: Option<(i64,)> =
            sqlx::query_as("SELECT expires_at FROM ended_sessions WHERE nonce_sha256 = $1")
                .bind(nonce_sha256)
                .fetch_optional(&self.pool)
                .await?;
        Ok(r.is_some())
    }
}
