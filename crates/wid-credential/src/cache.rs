//! The token cache, with azure-identity's refresh rules and single flight.
//!
//! - A token is *required* when there is none or it has expired.
//! - A refresh is *recommended* when its `refresh_on` has passed (the server's `refresh_in`,
//!   or half the lifetime for tokens of two hours or more) or it expires within 5 minutes;
//!   refresh attempts are at most one per 30 seconds per key.
//! - When a recommended refresh fails, the still-valid token is served.
//! - Concurrent callers for one key share one exchange.
//!
//! A lookup is a hash of the key's parts (tenant, then scopes: no string is built), a probe
//! of one snapshot of every key's token that readers load through [`ArcSwap`] (no lock, no
//! shared counter: readers on several cores do not contend), and one reference count for
//! the token handed out. Writers (a new key, a new token) copy the snapshot and swap it.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::secret::Secret;
use crate::{AccessToken, CredentialError};

/// Refresh when a token expires within this many seconds.
pub const REFRESH_OFFSET: i64 = 300;
/// At most one refresh attempt per key in this many seconds.
pub const REFRESH_RETRY_DELAY: i64 = 30;

/// A cached token and when to refresh it.
#[derive(Clone)]
pub struct CachedToken {
    /// The token.
    pub token: Secret,
    /// Unix expiry.
    pub expires_on: i64,
    /// Unix time after which a refresh is recommended.
    pub refresh_on: i64,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("expires_on", &self.expires_on)
            .field("refresh_on", &self.refresh_on)
            .finish()
    }
}

impl CachedToken {
    /// A cache entry for a token received at `now` with optional `refresh_in`.
    pub fn new(token: AccessToken, now: i64, refresh_in: Option<i64>) -> Self {
        let lifetime = token.expires_on - now;
        let refresh_on = match refresh_in {
            Some(r) if r > 0 => now + r,
            _ if lifetime >= 7200 => now + lifetime / 2,
            _ => token.expires_on,
        };
        Self {
            token: token.token,
            expires_on: token.expires_on,
            refresh_on,
        }
    }

    fn access(&self) -> AccessToken {
        AccessToken {
            token: self.token.clone(),
            expires_on: self.expires_on,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Status {
    Fresh,
    Recommended,
    Required,
}

/// What a key keeps besides its token: the refresh bookkeeping and the single flight.
#[derive(Debug)]
struct Slot {
    /// The key as given: tenant and scopes joined by `\n`.
    key: Box<str>,
    last_attempt: AtomicI64,
    flight: tokio::sync::Mutex<()>,
}

impl Slot {
    fn status_of(&self, cur: Option<&CachedToken>, now: i64) -> Status {
        match cur {
            None => Status::Required,
            Some(t) if now >= t.expires_on => Status::Required,
            Some(_) if now - self.last_attempt.load(Ordering::Relaxed) < REFRESH_RETRY_DELAY => {
                Status::Fresh
            }
            Some(t) if now >= t.refresh_on || t.expires_on - now <= REFRESH_OFFSET => {
                Status::Recommended
            }
            Some(_) => Status::Fresh,
        }
    }
}

/// A key's slot and its current token, as one snapshot of the cache holds them.
#[derive(Debug, Clone)]
struct Entry {
    slot: Arc<Slot>,
    token: Option<CachedToken>,
}

impl Entry {
    /// The token if it needs no refresh at `now`: one reference count.
    fn fresh(&self, now: i64) -> Option<AccessToken> {
        match self.slot.status_of(self.token.as_ref(), now) {
            Status::Fresh => self.token.as_ref().map(CachedToken::access),
            _ => None,
        }
    }
}

/// Passes a `u64` key (already a hash) through as its own hash.
#[derive(Debug, Default)]
struct KeyHash(u64);

impl Hasher for KeyHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in for completeness.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Entries by the hash of their key; a bucket holds more than one entry only on a collision.
type Slots = HashMap<u64, Box<[Entry]>, BuildHasherDefault<KeyHash>>;

/// The hash of a key from its parts (tenant, then each scope), equal to the hash of the
/// same key given as one `\n`-joined string.
fn hash_parts<'a>(parts: impl Iterator<Item = &'a str>) -> u64 {
    const STATE: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x7769_6463);
    let mut h = STATE.build_hasher();
    for p in parts {
        h.write(p.as_bytes());
        h.write_u8(0xff);
    }
    h.finish()
}

/// Whether `key` is `tenant` and `scopes` joined by `\n`, compared without joining them.
fn key_is(key: &str, tenant: &str, scopes: &[&str]) -> bool {
    let Some(mut rest) = key.strip_prefix(tenant) else {
        return false;
    };
    for s in scopes {
        match rest.strip_prefix('\n').and_then(|r| r.strip_prefix(s)) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

/// The entry of `key` (`\n`-joined) in one snapshot.
fn entry_in<'s>(slots: &'s Slots, key: &str) -> Option<&'s Entry> {
    slots
        .get(&hash_parts(key.split('\n')))?
        .iter()
        .find(|e| &*e.slot.key == key)
}

/// Tokens by key (tenant, client, scopes).
///
/// Readers load one snapshot of every key's token ([`ArcSwap`]); writers (a new key, a new
/// token, a cleared one: rare, at most one per key per refresh) copy the snapshot, change
/// it and swap it in, one at a time.
#[derive(Debug, Default)]
pub struct TokenCache {
    slots: ArcSwap<Slots>,
    /// Serializes writers (readers never take it).
    writing: Mutex<()>,
}

impl TokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn find(&self, key: &str) -> Option<Entry> {
        entry_in(&self.slots.load(), key).cloned()
    }

    /// The entry of `key`, created (without a token) when there is none.
    fn entry(&self, key: &str) -> Entry {
        if let Some(e) = self.find(key) {
            return e;
        }
        let _writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = self.find(key) {
            return e;
        }
        let entry = Entry {
            slot: Arc::new(Slot {
                key: key.into(),
                last_attempt: AtomicI64::new(0),
                flight: tokio::sync::Mutex::new(()),
            }),
            token: None,
        };
        let mut slots = Slots::clone(&self.slots.load());
        let bucket = slots.entry(hash_parts(key.split('\n'))).or_default();
        *bucket = bucket.iter().cloned().chain([entry.clone()]).collect();
        self.slots.store(Arc::new(slots));
        entry
    }

    /// Sets (or clears) the token of `slot`'s key in a new snapshot.
    fn set(&self, slot: &Arc<Slot>, token: Option<CachedToken>) {
        let _writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let mut slots = Slots::clone(&self.slots.load());
        let hash = hash_parts(slot.key.split('\n'));
        if let Some(bucket) = slots.get_mut(&hash)
            && let Some(e) = bucket.iter_mut().find(|e| Arc::ptr_eq(&e.slot, slot))
        {
            e.token = token;
            self.slots.store(Arc::new(slots));
        }
    }

    /// The cached token for `key` if it needs no refresh at `now` (read in place: one
    /// reference count, for the token).
    pub fn peek(&self, key: &str, now: i64) -> Option<AccessToken> {
        entry_in(&self.slots.load(), key)?.fresh(now)
    }

    /// The cached token for the key made of `tenant` and `scopes` (as `get_or_fetch`'s key
    /// `tenant\nscope\n...`), if it needs no refresh at `now`: the hot path, which builds
    /// no string, takes no lock and touches one shared counter (the token's).
    pub fn peek_scopes(&self, tenant: &str, scopes: &[&str], now: i64) -> Option<AccessToken> {
        let hash = hash_parts(std::iter::once(tenant).chain(scopes.iter().copied()));
        self.slots
            .load()
            .get(&hash)?
            .iter()
            .find(|e| key_is(&e.slot.key, tenant, scopes))?
            .fresh(now)
    }

    /// Drops the token of `key` (e.g. after the server rejected it).
    pub fn clear(&self, key: &str) {
        if let Some(e) = self.find(key) {
            self.set(&e.slot, None);
        }
    }

    /// The token for `key`: cached, or fetched by `fetch` (which returns the token and the
    /// server's `refresh_in`). `now` is read again after waiting for another caller's fetch.
    pub async fn get_or_fetch<F, Fut>(
        &self,
        key: &str,
        now: impl Fn() -> i64,
        fetch: F,
    ) -> Result<AccessToken, CredentialError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(AccessToken, Option<i64>), CredentialError>>,
    {
        if let Some(t) = self.peek(key, now()) {
            return Ok(t);
        }
        let slot = self.entry(key).slot;
        let _flight = slot.flight.lock().await;
        let t0 = now();
        // Another caller may have fetched while this one waited: read the snapshot again.
        let cur = self.find(key).and_then(|e| e.token);
        let status = slot.status_of(cur.as_ref(), t0);
        if let (Status::Fresh, Some(t)) = (&status, &cur) {
            return Ok(t.access());
        }
        slot.last_attempt.store(t0, Ordering::Relaxed);
        match fetch().await {
            Ok((token, refresh_in)) => {
                let entry = CachedToken::new(token, t0, refresh_in);
                let out = entry.access();
                self.set(&slot, Some(entry));
                Ok(out)
            }
            Err(e) => match (status, cur) {
                (Status::Recommended, Some(t)) if now() < t.expires_on => {
                    tracing::warn!(error = %e, "early token refresh failed; serving the cached token until it expires");
                    Ok(t.access())
                }
                _ => Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn tok(exp: i64) -> AccessToken {
        AccessToken {
            token: Secret::new(format!("t{exp}")),
            expires_on: exp,
        }
    }

    #[test]
    fn refresh_on_rules() {
        assert_eq!(
            CachedToken::new(tok(1000 + 86_399), 1000, None).refresh_on,
            1000 + 86_399 / 2
        );
        assert_eq!(
            CachedToken::new(tok(1000 + 3600), 1000, None).refresh_on,
            1000 + 3600
        );
        assert_eq!(
            CachedToken::new(tok(1000 + 3600), 1000, Some(600)).refresh_on,
            1600
        );
    }

    #[tokio::test]
    async fn caches_refreshes_and_keeps_old_token_on_failed_early_refresh() {
        let c = TokenCache::new();
        let calls = AtomicUsize::new(0);
        let fetch = |exp: i64| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move { Ok((tok(exp), None)) }
        };
        let t = c.get_or_fetch("k", || 0, || fetch(86_399)).await.unwrap();
        assert_eq!(t.expires_on, 86_399);
        // Fresh: no fetch.
        c.get_or_fetch("k", || 100, || fetch(1)).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(c.peek("k", 100).is_some());
        // Past half-life: recommended refresh; a failure serves the old token.
        let t = c
            .get_or_fetch(
                "k",
                || 50_000,
                || async { Err(CredentialError::Config("down".into())) },
            )
            .await
            .unwrap();
        assert_eq!(t.expires_on, 86_399);
        // Within 30 s of that attempt no new attempt is made.
        c.get_or_fetch("k", || 50_010, || fetch(2)).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Later the refresh happens.
        let t = c
            .get_or_fetch("k", || 50_100, || fetch(200_000))
            .await
            .unwrap();
        assert_eq!(t.expires_on, 200_000);
        // Expired and failing: the error surfaces.
        let e = c
            .get_or_fetch(
                "k",
                || 300_000,
                || async { Err(CredentialError::Config("down".into())) },
            )
            .await;
        assert!(e.is_err());
    }

    #[tokio::test]
    async fn a_key_in_parts_finds_the_joined_key_and_nothing_else() {
        let c = TokenCache::new();
        c.get_or_fetch("t\na\nb", || 0, || async { Ok((tok(86_399), None)) })
            .await
            .unwrap();
        assert_eq!(
            c.peek_scopes("t", &["a", "b"], 10).unwrap().expires_on,
            86_399
        );
        for (tenant, scopes) in [
            ("t", &["ab"][..]),
            ("t", &["a"][..]),
            ("t", &["a", "b", ""][..]),
            ("u", &["a", "b"][..]),
        ] {
            assert!(
                c.peek_scopes(tenant, scopes, 10).is_none(),
                "{tenant:?} {scopes:?}"
            );
        }
        assert!(key_is("t\na\nb", "t", &["a", "b"]));
        assert!(!key_is("t\na\nb", "t", &["a", "bc"]));
        // Past its expiry it is not served.
        assert!(c.peek_scopes("t", &["a", "b"], 86_399).is_none());
        c.clear("t\na\nb");
        assert!(c.peek_scopes("t", &["a", "b"], 10).is_none());
    }

    #[test]
    fn a_cached_token_is_ready_on_the_first_poll_and_shares_its_text() {
        let c = TokenCache::new();
        let first = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(c.get_or_fetch("t\ns", || 0, || async { Ok((tok(86_399), None)) }))
            .unwrap();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut f = std::pin::pin!(c.get_or_fetch(
            "t\ns",
            || 10,
            || async { Err(CredentialError::Config("no fetch on a hit".into())) },
        ));
        let std::task::Poll::Ready(hit) = f.as_mut().poll(&mut cx) else {
            panic!("a cached token must be ready on the first poll");
        };
        let hit = hit.unwrap();
        let peeked = c.peek_scopes("t", &["s"], 10).unwrap();
        // Handed out by reference count, not copied.
        assert!(Arc::ptr_eq(hit.token.expose(), first.token.expose()));
        assert!(Arc::ptr_eq(peeked.token.expose(), first.token.expose()));
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let c = Arc::new(TokenCache::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (c, calls) = (c.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                c.get_or_fetch(
                    "k",
                    || 0,
                    || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        Ok((tok(86_399), None))
                    },
                )
                .await
                .unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().expires_on, 86_399);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
