//! Change generations: what lets a replica cache rows that change rarely (tenants,
//! identities, federated credentials, applications) and the connection count, and still see
//! every write, its own or another replica's.
//!
//! Each [`Topic`] has a generation, a counter that moves on every committed write to its
//! tables. A cache tags what it read with the generation it saw *before* reading and uses it
//! only while the generation is unchanged, so a write that commits during the read also
//! discards it.
//!
//! - SQLite is one process: the store's own writes move the counter, exactly.
//! - PostgreSQL may have several replicas: after each commit the writer sends `NOTIFY
//!   wid_changes, '<topic>'`, and every replica listens on a connection of its own
//!   (`LISTEN wid_changes`) and moves its counter when one arrives. While that connection is
//!   down, [`Store::generation`] is `None` (nothing may be cached); when it is back, every
//!   counter moves, since notifications sent meanwhile are lost.
//! - A connection that died without the listener noticing (a silent network partition) would
//!   miss notifications: callers also bound an entry's age ([`MAX_CACHE_AGE`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::{Store, StoreError};

/// The PostgreSQL channel replicas notify and listen on.
pub const CHANNEL: &str = "wid_changes";

/// The longest a cached value is used (seconds) even when no change was heard: the bound on
/// staleness if a replica's listening connection dies silently.
pub const MAX_CACHE_AGE: i64 = 30;

/// How long the listener waits before connecting again after losing its connection.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// What changed: each topic has its own generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Tenants, identities, federated credentials, applications and their certificates: what
    /// the token service reads on every exchange.
    Directory,
    /// Connections (their number, for `total_entries`).
    Connections,
}

impl Topic {
    const ALL: [Topic; 2] = [Topic::Directory, Topic::Connections];

    fn index(self) -> usize {
        match self {
            Topic::Directory => 0,
            Topic::Connections => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Topic::Directory => "directory",
            Topic::Connections => "connections",
        }
    }

    fn from_name(name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// The generations of one store, shared by its clones.
#[derive(Debug)]
pub(crate) struct Changes {
    counters: [AtomicU64; 2],
    /// Whether changes of other processes are heard (always on SQLite; on PostgreSQL while
    /// the listener's connection is up).
    live: AtomicBool,
    listener: std::sync::Mutex<Option<tokio::task::AbortHandle>>,
}

impl Changes {
    pub(crate) fn new(live: bool) -> Arc<Self> {
        Arc::new(Changes {
            counters: Default::default(),
            live: AtomicBool::new(live),
            listener: std::sync::Mutex::new(None),
        })
    }

    fn bump(&self, topic: Topic) {
        self.counters[topic.index()].fetch_add(1, Ordering::AcqRel);
    }

    fn bump_all(&self) {
        for t in Topic::ALL {
            self.bump(t);
        }
    }

    fn set_live(&self, live: bool) {
        // Moving the counters on both edges discards whatever was read around the gap.
        self.bump_all();
        self.live.store(live, Ordering::Release);
        self.bump_all();
    }

    pub(crate) fn stop(&self) {
        if let Some(h) = self
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            h.abort();
        }
        self.live.store(false, Ordering::Release);
    }

    /// Listens on PostgreSQL for other replicas' changes, for as long as the store lives.
    pub(crate) fn spawn_listener(self: &Arc<Self>, url: String) {
        let weak = Arc::downgrade(self);
        let task = tokio::spawn(async move {
            loop {
                if weak.strong_count() == 0 {
                    return;
                }
                let listener = async {
                    let mut l = sqlx::postgres::PgListener::connect(&url).await?;
                    l.listen(CHANNEL).await?;
                    Ok::<_, sqlx::Error>(l)
                }
                .await;
                let mut listener = match listener {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for other replicas' changes; caches are off until it works");
                        tokio::time::sleep(RECONNECT_DELAY).await;
                        continue;
                    }
                };
                {
                    let Some(changes) = weak.upgrade() else {
                        return;
                    };
                    changes.set_live(true);
                }
                loop {
                    // `try_recv` gives `None` when the connection was lost.
                    let next = listener.try_recv().await;
                    let Some(changes) = weak.upgrade() else {
                        return;
                    };
                    match next {
                        Ok(Some(n)) => match Topic::from_name(n.payload()) {
                            Some(t) => changes.bump(t),
                            None => changes.bump_all(),
                        },
                        Ok(None) | Err(_) => {
                            tracing::warn!(
                                "lost the connection that hears other replicas' changes; caches are off until it is back"
                            );
                            changes.set_live(false);
                            break;
                        }
                    }
                }
                tokio::time::sleep(RECONNECT_DELAY).await;
            }
        });
        *self.listener.lock().unwrap_or_else(|e| e.into_inner()) = Some(task.abort_handle());
    }
}

impl Drop for Changes {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Store {
    /// The generation of `topic`: a value cached under it is current while this returns the
    /// same value. `None` when other replicas' changes cannot be heard right now (PostgreSQL
    /// listener down): then nothing may be cached.
    pub fn generation(&self, topic: Topic) -> Option<u64> {
        let c = &self.changes;
        let g = c.counters[topic.index()].load(Ordering::Acquire);
        c.live.load(Ordering::Acquire).then_some(g)
    }

    /// Records a committed write to `topic`'s tables: moves this process's generation and, on
    /// PostgreSQL, tells the other replicas. A failed notification is logged, not returned:
    /// the write itself succeeded, and the other replicas' caches expire within
    /// [`MAX_CACHE_AGE`].
    pub(crate) async fn changed(&self, topic: Topic) {
        self.changes.bump(topic);
        if self.engine() != "postgres" {
            return;
        }
        // Fixed text: the topic names are constants.
        let sql = format!("NOTIFY {CHANNEL}, '{}'", topic.name());
        if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&self.pool)
            .await
        {
            let e = StoreError::from(e);
            tracing::warn!(error = %e, topic = topic.name(), "could not tell other replicas of a change; their caches catch up within {MAX_CACHE_AGE} s");
        }
    }
}
