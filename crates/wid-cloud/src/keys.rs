//! Signing keys of the issuer and of the token service, with rotation: a rotated key stops
//! signing at once and stays in the JWKS until every token it signed has expired.
//!
//! The store is the truth; the ring is this process's copy. With several replicas on one
//! database, a rotation by one reaches the others through [`KeyRing::reload`]: run every
//! [`crate::CloudConfig::key_refresh`], before serving a JWKS, and at once when a token
//! names a key id this process does not know.

use std::sync::{Arc, RwLock};

use wid_jose::{JoseError, JwkSet, SigningKey};
use wid_store::{LiveFernetKeys, Store, StoreError, StoredKey};

/// The two key purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The service-account issuer (projected tokens live at most 24 h).
    Issuer,
    /// The token service (access tokens live 86700 s from `iat`).
    Sts,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Issuer => "issuer",
            Purpose::Sts => "sts",
        }
    }
    /// How long a retired key stays published: the longest life of a token it signed.
    pub fn retention(self) -> i64 {
        match self {
            Purpose::Issuer => 86_400,
            Purpose::Sts => 86_700 + 300,
        }
    }
}

/// Errors of key handling.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The key material failed.
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// The blocking pool that generates keys failed (a panic or a shutdown).
    #[error("key generation did not finish: {0}")]
    Generation(String),
}

/// Generates an RSA key on tokio's blocking pool: it takes tens of milliseconds of CPU, which
/// would stall every request sharing the executor thread.
async fn generate() -> Result<SigningKey, KeyError> {
    tokio::task::spawn_blocking(SigningKey::generate)
        .await
        .map_err(|e| KeyError::Generation(e.to_string()))?
        .map_err(KeyError::from)
}

#[derive(Debug)]
struct Published {
    key: Arc<SigningKey>,
    expires_at: Option<i64>,
}

#[derive(Debug)]
struct Set {
    active: Arc<SigningKey>,
    published: Vec<Published>,
}

/// The keys of both purposes, in memory, backed by the store.
#[derive(Debug)]
pub struct KeyRing {
    issuer: RwLock<Set>,
    sts: RwLock<Set>,
    /// Coalesces reloads: a reload waits for one in progress and then finds its key.
    reloading: tokio::sync::Mutex<()>,
    /// When an unknown key id last made this replica read the store (milliseconds, on the
    /// injected clock): at most one such read per [`MISS_RELOAD_INTERVAL_MS`].
    last_miss_reload_ms: std::sync::atomic::AtomicI64,
    /// The Fernet keys the private halves are stored under (the connections' keys).
    fernet: Arc<LiveFernetKeys>,
}

/// The least time between two reloads caused by unknown key ids: a flood of tokens naming
/// made-up `kid`s costs the database one read per interval, while a key another replica
/// created is still found at once (or by the periodic refresh).
pub const MISS_RELOAD_INTERVAL_MS: i64 = 1000;

/// Rebuilds a purpose's set from the store's rows, reusing the parsed keys of `old`.
fn rebuild(old: &Set, rows: Vec<StoredKey>) -> Result<Option<Set>, KeyError> {
    let mut published = Vec::new();
    let mut active = None;
    for r in rows {
        let key = match old.published.iter().find(|p| p.key.kid() == r.kid) {
            Some(p) => p.key.clone(),
            None => Arc::new(SigningKey::from_pem(r.private_pem.expose_str())?),
        };
        if r.retired_at.is_none() && active.is_none() {
            active = Some(key.clone());
        }
        published.push(Published {
            key,
            expires_at: r.expires_at,
        });
    }
    Ok(active.map(|active| Set { active, published }))
}

async fn load_set(
    store: &Store,
    fernet: &LiveFernetKeys,
    purpose: Purpose,
    now: i64,
) -> Result<Set, KeyError> {
    let mut rows = store
        .list_keys(purpose.as_str(), now, &fernet.current())
        .await?;
    if !rows.iter().any(|r| r.retired_at.is_none()) {
        let k = generate().await?;
        let row = StoredKey {
            kid: k.kid().to_string(),
            purpose: purpose.as_str().into(),
            private_pem: k.private_pem().clone(),
            created_at: now,
            retired_at: None,
            expires_at: None,
        };
        store.insert_key(&row, &fernet.current()).await?;
        rows.insert(0, row);
    }
    let mut published = Vec::new();
    let mut active = None;
    for r in rows {
        let key = Arc::new(SigningKey::from_pem(r.private_pem.expose_str())?);
        if r.retired_at.is_none() && active.is_none() {
            active = Some(key.clone());
        }
        published.push(Published {
            key,
            expires_at: r.expires_at,
        });
    }
    let active = active.ok_or_else(|| JoseError::Key("no active key".into()))?;
    Ok(Set { active, published })
}

impl KeyRing {
    /// Loads both purposes' keys, creating an active key where there is none. The private
    /// halves are stored encrypted with `fernet`.
    pub async fn load(
        store: &Store,
        fernet: Arc<LiveFernetKeys>,
        now: i64,
    ) -> Result<Self, KeyError> {
        Ok(Self {
            issuer: RwLock::new(load_set(store, &fernet, Purpose::Issuer, now).await?),
            sts: RwLock::new(load_set(store, &fernet, Purpose::Sts, now).await?),
            reloading: tokio::sync::Mutex::new(()),
            last_miss_reload_ms: std::sync::atomic::AtomicI64::new(i64::MIN),
            fernet,
        })
    }

    /// Reads both purposes' keys from the store again: another replica may have rotated.
    /// Keys already parsed are reused; a purpose without an active key in the store (which
    /// bootstrap prevents) keeps its current set.
    pub async fn reload(&self, store: &Store, now: i64) -> Result<(), KeyError> {
        let _one = self.reloading.lock().await;
        self.reload_locked(store, now).await
    }

    async fn reload_locked(&self, store: &Store, now: i64) -> Result<(), KeyError> {
        for p in [Purpose::Issuer, Purpose::Sts] {
            let rows = store
                .list_keys(p.as_str(), now, &self.fernet.current())
                .await?;
            let next = {
                let cur = self.set(p).read().unwrap_or_else(|e| e.into_inner());
                rebuild(&cur, rows)?
            };
            if let Some(next) = next {
                *self.set(p).write().unwrap_or_else(|e| e.into_inner()) = next;
            }
        }
        Ok(())
    }

    /// [`KeyRing::find`], and when the key id is unknown, a reload from the store first (a
    /// key another replica created). Concurrent misses share one reload, and misses read the
    /// store at most once per [`MISS_RELOAD_INTERVAL_MS`] (`now_ms` is the injected clock's
    /// milliseconds).
    pub async fn find_or_reload(
        &self,
        store: &Store,
        p: Purpose,
        kid: &str,
        now_ms: i64,
    ) -> Option<Arc<SigningKey>> {
        use std::sync::atomic::Ordering;
        let now = now_ms.div_euclid(1000);
        if let Some(k) = self.find(p, kid, now) {
            return Some(k);
        }
        let _one = self.reloading.lock().await;
        if let Some(k) = self.find(p, kid, now) {
            return Some(k);
        }
        let last = self.last_miss_reload_ms.load(Ordering::SeqCst);
        if last != i64::MIN && now_ms.saturating_sub(last) < MISS_RELOAD_INTERVAL_MS {
            tracing::debug!(
                kid,
                "unknown key id; the store was read less than a second ago"
            );
            return None;
        }
        self.last_miss_reload_ms.store(now_ms, Ordering::SeqCst);
        if let Err(e) = self.reload_locked(store, now).await {
            tracing::warn!(error = %e, "cannot reload signing keys");
        }
        self.find(p, kid, now)
    }

    fn set(&self, p: Purpose) -> &RwLock<Set> {
        match p {
            Purpose::Issuer => &self.issuer,
            Purpose::Sts => &self.sts,
        }
    }

    /// The key that signs new tokens.
    pub fn active(&self, p: Purpose) -> Arc<SigningKey> {
        self.set(p)
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .active
            .clone()
    }

    /// A published key by id (active or retired and unexpired at `now`).
    pub fn find(&self, p: Purpose, kid: &str, now: i64) -> Option<Arc<SigningKey>> {
        let set = self.set(p).read().unwrap_or_else(|e| e.into_inner());
        set.published
            .iter()
            .find(|k| k.key.kid() == kid && k.expires_at.is_none_or(|e| e > now))
            .map(|k| k.key.clone())
    }

    /// The JWKS: every key not expired at `now`.
    pub fn jwks(&self, p: Purpose, now: i64) -> JwkSet {
        let set = self.set(p).read().unwrap_or_else(|e| e.into_inner());
        JwkSet {
            keys: set
                .published
                .iter()
                .filter(|k| k.expires_at.is_none_or(|e| e > now))
                .map(|k| k.key.public_jwk().clone())
                .collect(),
        }
    }

    /// Replaces the active key with a new one; the old one stays published for
    /// [`Purpose::retention`] seconds. Returns the new key id.
    pub async fn rotate(&self, store: &Store, p: Purpose, now: i64) -> Result<String, KeyError> {
        let k = Arc::new(generate().await?);
        let expires_at = now + p.retention();
        store
            .rotate_key(
                &StoredKey {
                    kid: k.kid().to_string(),
                    purpose: p.as_str().into(),
                    private_pem: k.private_pem().clone(),
                    created_at: now,
                    retired_at: None,
                    expires_at: None,
                },
                now,
                expires_at,
                &self.fernet.current(),
            )
            .await?;
        let mut set = self.set(p).write().unwrap_or_else(|e| e.into_inner());
        let old = set.active.kid().to_string();
        for pk in set.published.iter_mut() {
            if pk.key.kid() == old {
                pk.expires_at = Some(expires_at);
            }
        }
        set.published
            .retain(|k| k.expires_at.is_none_or(|e| e > now));
        set.published.insert(
            0,
            Published {
                key: k.clone(),
                expires_at: None,
            },
        );
        set.active = k.clone();
        Ok(k.kid().to_string())
    }
}
