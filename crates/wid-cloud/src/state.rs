//! The state every handler shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wid_model::Clock;
use wid_store::{LiveFernetKeys, Store};

use crate::keys::KeyRing;
use crate::oidc::OidcCache;

/// Settings of the stand-in cloud.
#[derive(Debug, Clone)]
pub struct CloudConfig {
    /// The public base URL, `https://127.0.0.1:8443`, without a trailing slash. The issuer
    /// URL is this plus `/issuer/`.
    pub public_url: String,
    /// Bound on one fetch of an external issuer's discovery document or JWKS.
    pub oidc_fetch_timeout: Duration,
    /// How long a federated credential write holds its identity, as ARM's slow writes do;
    /// a second write on the same identity in that window gets 409.
    pub fic_write_hold: Duration,
    /// Tolerated clock skew for assertion time checks, in seconds.
    pub clock_skew: i64,
    /// Extra CA certificates (PEM) to trust when fetching issuers, e.g. wid's own CA.
    pub extra_roots_pem: Vec<Vec<u8>>,
    /// How often signing keys are read again from the store, so that a rotation through
    /// another replica is used here within this bound (a JWKS request, or a token with an
    /// unknown key id, reloads at once).
    pub key_refresh: Duration,
}

impl CloudConfig {
    /// Defaults for a given public URL.
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_string(),
            oidc_fetch_timeout: Duration::from_secs(10),
            fic_write_hold: Duration::from_millis(100),
            clock_skew: 300,
            extra_roots_pem: Vec::new(),
            key_refresh: Duration::from_secs(5),
        }
    }

    /// The issuer URL, with its trailing slash as AKS issuers have.
    pub fn issuer_url(&self) -> String {
        format!("{}/issuer/", self.public_url)
    }
}

/// Shared state: store, clock, keys, caches. Cheap to clone.
#[derive(Clone, Debug)]
pub struct CloudState(pub Arc<Inner>);

/// The contents of [`CloudState`].
#[derive(Debug)]
pub struct Inner {
    /// The database.
    pub store: Store,
    /// The injected clock.
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub config: CloudConfig,
    /// Signing keys of the issuer (`issuer`) and of the token service (`sts`).
    pub keys: KeyRing,
    /// Discovery documents and JWKS of federated issuers.
    pub oidc: OidcCache,
    /// Tenants and principals as the token service reads them, cached.
    pub directory: crate::directory::Directory,
    /// Per-identity locks that model ARM's refusal of concurrent credential writes in this
    /// process; across replicas, the store's [`wid_store::FicWrite`] serializes them.
    pub fic_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The tenant, subscription and administrator created on first start.
    pub defaults: crate::bootstrap::Defaults,
    /// Counters (token requests served), for tests and `/_wid/stats`.
    pub metrics: crate::faults::Metrics,
    /// Injected failures (throttling, outages) for testing clients' retries.
    pub faults: crate::faults::Faults,
}

impl std::ops::Deref for CloudState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Errors while building the state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] wid_store::StoreError),
    /// A key failed.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client for issuer discovery: {0}")]
    Http(String),
}

impl CloudState {
    /// Loads (or, on first start, creates) keys and defaults, and builds the state. Signing
    /// keys are stored encrypted with `fernet`, the connections' Fernet keys.
    pub async fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        config: CloudConfig,
        fernet: Arc<LiveFernetKeys>,
    ) -> Result<Self, StateError> {
        // Replicas starting at once on an empty database bootstrap one after the other: the
        // first creates the defaults and keys, the others read them.
        let lock = store.start_lock().await?;
        let defaults = crate::bootstrap::ensure_defaults(&store, clock.now()).await?;
        crate::bootstrap::ensure_admin_owner(&store, &defaults, clock.now()).await?;
        // Keys from before migration 8 are encrypted before any is read.
        store.encrypt_plaintext_keys(&fernet.current()).await?;
        let keys = KeyRing::load(&store, fernet, clock.now()).await?;
        lock.release().await?;
        let oidc = OidcCache::new(&config).map_err(StateError::Http)?;
        let refresh = config.key_refresh;
        let state = CloudState(Arc::new(Inner {
            store,
            clock,
            config,
            keys,
            oidc,
            directory: Default::default(),
            fic_locks: Mutex::new(HashMap::new()),
            defaults,
            metrics: Default::default(),
            faults: Default::default(),
        }));
        state.spawn_key_refresh(refresh);
        Ok(state)
    }

    /// Reloads the signing keys every `every` while the state lives (the task holds only a
    /// weak reference). Outside a tokio runtime (none in some unit tests), nothing runs.
    fn spawn_key_refresh(&self, every: Duration) {
        if every.is_zero() || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let weak = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                CloudState(inner).refresh_keys().await;
            }
        });
    }

    /// Reads the signing keys from the store again (another replica may have rotated); a
    /// failure is logged and the keys in memory stay in use.
    pub async fn refresh_keys(&self) {
        if let Err(e) = self.keys.reload(&self.store, self.clock.now()).await {
            tracing::warn!(error = %e, "cannot reload signing keys");
        }
    }

    /// The lock for credential writes on one identity.
    pub fn fic_lock(&self, principal_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.fic_locks.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(principal_id.to_string()).or_default().clone()
    }
}
