//! What reading connections remembers between requests: the stored rows by id (still
//! encrypted: a hit decrypts, as a read from the database does), the total per filter, and
//! where pages started. All hold for one generation of [`Topic::Connections`] (no
//! connection written since, on any replica) and at most [`MAX_CACHE_AGE`] seconds; then
//! they are dropped whole.
//!
//! [`Topic::Connections`]: crate::Topic::Connections

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::MAX_CACHE_AGE;
use crate::connections::StoredRow;

/// The most values kept (filters counted, page starts); reaching it drops them all.
const MAX_ENTRIES: usize = 4096;

/// The sort key of a row in an order by immutable unique keys.
#[derive(Debug, Clone)]
pub(crate) struct SeekKey {
    /// `created_at` (used by the `id` order).
    pub(crate) created_at: i64,
    /// `conn_id`.
    pub(crate) conn_id: String,
}

/// Values valid for one generation.
#[derive(Debug)]
struct Generation<T> {
    generation: u64,
    since: Instant,
    entries: usize,
    values: T,
}

/// Readers share the lock (a connection read takes it on every request); writers, rare,
/// take it alone.
#[derive(Debug)]
struct Cache<T> {
    inner: RwLock<Option<Generation<T>>>,
}

impl<T: Default> Default for Cache<T> {
    fn default() -> Self {
        Cache {
            inner: RwLock::new(None),
        }
    }
}

impl<T: Default> Cache<T> {
    /// Reads the values of `generation`, if they are the ones held and young enough.
    fn read<R>(&self, generation: Option<u64>, f: impl FnOnce(&T) -> Option<R>) -> Option<R> {
        let generation = generation?;
        let held = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let g = held.as_ref()?;
        let young = g.since.elapsed() < Duration::from_secs(MAX_CACHE_AGE as u64);
        if g.generation == generation && young {
            f(&g.values)
        } else {
            None
        }
    }

    /// Adds one value read under `generation` (nothing when that generation is already
    /// past: the value may be stale).
    fn write(&self, generation: Option<u64>, f: impl FnOnce(&mut T)) {
        let Some(generation) = generation else { return };
        let mut held = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let reset = match held.as_ref() {
            Some(g) if generation < g.generation => return,
            Some(g) => {
                g.generation != generation
                    || g.since.elapsed() >= Duration::from_secs(MAX_CACHE_AGE as u64)
                    || g.entries >= MAX_ENTRIES
            }
            None => true,
        };
        if reset {
            *held = Some(Generation {
                generation,
                since: Instant::now(),
                entries: 0,
                values: T::default(),
            });
        }
        if let Some(g) = held.as_mut() {
            g.entries += 1;
            f(&mut g.values);
        }
    }
}

/// Counts of connections by filter (`""` for all).
#[derive(Debug, Default)]
pub(crate) struct CountCache(Cache<HashMap<String, i64>>);

impl CountCache {
    pub(crate) fn get(&self, generation: Option<u64>, filter: &str) -> Option<i64> {
        self.0.read(generation, |m| m.get(filter).copied())
    }

    pub(crate) fn put(&self, generation: Option<u64>, filter: String, count: i64) {
        self.0.write(generation, |m| {
            m.insert(filter, count);
        });
    }
}

/// By query (order, direction, filter): the key of the row at an offset.
#[derive(Debug, Default)]
pub(crate) struct SeekCache(Cache<HashMap<String, BTreeMap<i64, SeekKey>>>);

impl SeekCache {
    /// The largest remembered offset at or before `offset`, and the key of its row.
    pub(crate) fn nearest(
        &self,
        generation: Option<u64>,
        query: &str,
        offset: i64,
    ) -> Option<(i64, SeekKey)> {
        self.0.read(generation, |m| {
            m.get(query)?
                .range(..=offset)
                .next_back()
                .map(|(at, k)| (*at, k.clone()))
        })
    }

    /// Remembers that the row at `offset` of `query` has `key`.
    pub(crate) fn put(&self, generation: Option<u64>, query: String, offset: i64, key: SeekKey) {
        self.0.write(generation, |m| {
            m.entry(query).or_default().insert(offset, key);
        });
    }
}

/// Stored rows by connection id.
#[derive(Debug, Default)]
pub(crate) struct RowCache(Cache<HashMap<String, Arc<StoredRow>>>);

impl RowCache {
    pub(crate) fn get(&self, generation: Option<u64>, conn_id: &str) -> Option<Arc<StoredRow>> {
        self.0.read(generation, |m| m.get(conn_id).cloned())
    }

    pub(crate) fn put(&self, generation: Option<u64>, row: Arc<StoredRow>) {
        self.0.write(generation, |m| {
            m.insert(row.conn_id.clone(), row);
        });
    }
}
