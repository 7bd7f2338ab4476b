//! wid's storage: one SQL schema on SQLite (the embedded default) and PostgreSQL, through
//! one SQL layer (`sqlx`'s `Any` driver) and one set of migrations.
//!
//! Invariants:
//! - Every statement here is portable SQL with `$n` placeholders in order of first use; no
//!   engine-specific branch exists outside [`Store::connect`] and `cluster.rs` (advisory locks,
//!   which only PostgreSQL, shared by several replicas, needs).
//! - ARM names are case-insensitive: rows keep the name as given and a lower-cased key that
//!   uniqueness and lookups use.
//! - Connection passwords and extras reach the database only as Fernet tokens
//!   ([`FernetKeys`]), readable by Airflow with the same `fernet_key`; so do signing keys'
//!   private halves (`signing_keys.rs`).

mod changes;
mod cluster;
mod connection_cache;
mod connections;
mod deployments;
mod error;
mod fernet;
mod migrate;
mod rbac;
mod records;
mod resource_apps;
mod sessions;
mod signing_keys;
mod store;

pub use crate::fernet::{FernetError, FernetKeys, KeyProblem, LiveFernetKeys};
pub use changes::{MAX_CACHE_AGE, Topic};
pub use cluster::{FicWrite, StartLock};
pub use connections::{FernetRotation, ListQuery, MAX_PATTERN_TERMS, OrderBy};
pub use error::StoreError;
pub use records::*;
pub use store::Store;
