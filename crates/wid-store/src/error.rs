//! Storage errors, with the facts and the remedy.

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened.
    #[error(
        "cannot open the database at {url}: {source}\nhint: check that the path is writable and, for PostgreSQL, that the server is running and the URL is right (postgres://user@host:5432/db)"
    )]
    Open {
        /// The URL, with any password removed.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The database is read-only.
    #[error(
        "the database is read-only: {0}\nhint: wid needs write access to its data directory (WID_HOME) or database"
    )]
    ReadOnly(String),
    /// A unique constraint refused the write.
    #[error("already exists: {0}")]
    Conflict(String),
    /// A migration failed.
    #[error("migration {version} failed: {source}")]
    Migration {
        /// The migration number.
        version: i64,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A stored password or extra could not be decrypted with the configured Fernet keys.
    #[error("cannot decrypt the {field} of connection `{conn_id}`: {source}")]
    Decrypt {
        /// The connection whose value failed.
        conn_id: String,
        /// `password` or `extra`.
        field: &'static str,
        /// Why (never holds key material or plaintext).
        #[source]
        source: crate::FernetError,
    },
    /// A stored signing key could not be decrypted with the configured Fernet keys.
    #[error(
        "cannot decrypt signing key `{kid}`: {source}\nhint: signing keys are encrypted with the same fernet_key as connections (WID_FERNET_KEY, WID_FERNET_KEY_FILE or $WID_HOME/fernet.key); give this replica the key list the others use"
    )]
    KeyDecrypt {
        /// The key id.
        kid: String,
        /// Why (never holds key material or plaintext).
        #[source]
        source: crate::FernetError,
    },
    /// The request cannot be carried out as given (e.g. a connection without an id).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            let msg = db.message().to_string();
            if db.is_unique_violation() {
                return StoreError::Conflict(msg);
            }
            if msg.contains("readonly") || msg.contains("read-only") {
                return StoreError::ReadOnly(msg);
            }
        }
        StoreError::Database(e)
    }
}

/// A database URL with its password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
        && let Some((user, _)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_password() {
        assert_eq!(
            super::redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            super::redact_url("sqlite:///tmp/x.db"),
            "sqlite:///tmp/x.db"
        );
    }
}
