//! wid's storage: one SQL schema on SQLite (the embedded default) and PostgreSQL, through
//! one SQL layer (`sqlx`'s `Any` driver) and one set of migrations.
//!
//! Invariants:
//! - Every statement here is portable SQL with `$n` placeholders in order of first use; no
//!   engine-specific branch exists outside [`Store::connect`].
//! - ARM names are case-insensitive: rows keep the name as given and a lower-cased key that
//!   uniqueness and lookups use.

mod error;
mod migrate;
mod records;
mod store;

pub use error::StoreError;
pub use records::*;
pub use store::Store;
