//! Fetching and caching the discovery documents and JWKS of federated issuers, as Entra does
//! when it validates a client assertion.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use wid_jose::{Jwk, VerifyingKey};
use wid_model::aadsts::Aadsts;

use crate::state::CloudConfig;

/// A JWKS refetch for an unknown `kid` happens at most this often per issuer (seconds).
pub const MIN_REFETCH_INTERVAL: i64 = 10;
/// A cached JWKS is used at most this long (seconds) before it is fetched again.
pub const CACHE_TTL: i64 = 24 * 3600;

/// One issuer's keys as fetched.
#[derive(Debug)]
struct Entry {
    keys: Vec<IssuerKey>,
    fetched_at: i64,
}

/// A key of an issuer's JWKS, parsed once for verification. A key that cannot verify RS256
/// (another type, a broken modulus) is kept under its `kid` as unusable, so that an
/// assertion naming it fails its signature check, as it does at Entra.
#[derive(Debug)]
struct IssuerKey {
    kid: Option<String>,
    parsed: Option<Arc<VerifyingKey>>,
}

/// Issuer metadata cache.
#[derive(Debug)]
pub struct OidcCache {
    http: reqwest::Client,
    entries: Mutex<HashMap<String, Arc<Entry>>>,
    /// Metadata fetches (discovery and JWKS) that succeeded, for `/metrics`.
    pub fetches_ok: std::sync::atomic::AtomicU64,
    /// Metadata fetches that failed (AADSTS50166), for `/metrics`.
    pub fetches_failed: std::sync::atomic::AtomicU64,
}

impl OidcCache {
    /// A cache whose HTTP client trusts the system roots plus the configured extra roots,
    /// and gives up after the configured timeout.
    pub fn new(config: &CloudConfig) -> Result<Self, String> {
        let mut roots = Vec::new();
        for pem in &config.extra_roots_pem {
            roots.push(reqwest::Certificate::from_pem(pem).map_err(|e| e.to_string())?);
        }
        let http = reqwest::Client::builder()
            .tls_certs_merge(roots)
            .timeout(config.oidc_fetch_timeout)
            .connect_timeout(config.oidc_fetch_timeout)
            .redirect(reqwest::redirect::Policy::limited(3))
            .https_only(true)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            http,
            entries: Mutex::new(HashMap::new()),
            fetches_ok: Default::default(),
            fetches_failed: Default::default(),
        })
    }

    fn cached(&self, issuer: &str) -> Option<Arc<Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(issuer)
            .cloned()
    }

    /// The key `kid` of `issuer`, parsed: from the cache, or fetched (again) when unknown.
    /// A key published under `kid` that cannot verify RS256 is AADSTS700027 (invalid
    /// signature).
    pub async fn key(
        &self,
        issuer: &str,
        kid: &str,
        now: i64,
    ) -> Result<Arc<VerifyingKey>, Aadsts> {
        let cached = self.cached(issuer);
        if let Some(e) = &cached
            && now - e.fetched_at < CACHE_TTL
        {
            if let Some(k) = find(&e.keys, kid) {
                return k;
            }
            if now - e.fetched_at < MIN_REFETCH_INTERVAL {
                return Err(Aadsts::SigningKeyNotFound {
                    kid: kid.into(),
                    issuer: issuer.into(),
                });
            }
        }
        let fetched = self.fetch(issuer).await;
        let counter = match fetched {
            Ok(_) => &self.fetches_ok,
            Err(_) => &self.fetches_failed,
        };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let keys: Vec<_> = fetched?
            .iter()
            .map(|jwk| IssuerKey {
                kid: jwk.common.key_id.clone(),
                parsed: VerifyingKey::from_jwk(jwk).ok().map(Arc::new),
            })
            .collect();
        let found = find(&keys, kid);
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                issuer.to_string(),
                Arc::new(Entry {
                    keys,
                    fetched_at: now,
                }),
            );
        found.unwrap_or_else(|| {
            Err(Aadsts::SigningKeyNotFound {
                kid: kid.into(),
                issuer: issuer.into(),
            })
        })
    }

    async fn fetch(&self, issuer: &str) -> Result<Vec<Jwk>, Aadsts> {
        let fail = |detail: String| {
            tracing::warn!(issuer, %detail, "AADSTS50166: external OIDC endpoint failed");
            Aadsts::ExternalOidcEndpointFailed { detail }
        };
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let doc: Value = self.get_json(&discovery_url).await.map_err(fail)?;
        // OpenID Connect Discovery 1.0 §4.3: the document's issuer must be identical to the
        // issuer URL it was fetched for, byte for byte, or the metadata is not used.
        match doc.get("issuer").and_then(Value::as_str) {
            Some(found) if found == issuer => {}
            found => {
                return Err(fail(format!(
                    "{discovery_url} names issuer {} but was fetched for {issuer:?}",
                    found.map_or("(none)".to_string(), |f| format!("{f:?}"))
                )));
            }
        }
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| fail(format!("{discovery_url} has no jwks_uri")))?;
        let jwks: Value = self.get_json(jwks_uri).await.map_err(fail)?;
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| fail(format!("{jwks_uri} has no keys array")))?;
        // Keys of unsupported types are skipped, as Entra does, rather than failing the set.
        Ok(keys
            .iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .collect())
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", resp.status()));
        }
        // Read at most 1 MiB, refusing a larger body as it streams in (or by its length).
        const LIMIT: usize = 1024 * 1024;
        let mut resp = resp;
        if resp.content_length().is_some_and(|n| n > LIMIT as u64) {
            return Err(format!("GET {url}: body larger than 1 MiB"));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| format!("GET {url}: {e}"))? {
            if bytes.len() + chunk.len() > LIMIT {
                return Err(format!("GET {url}: body larger than 1 MiB"));
            }
            bytes.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("GET {url}: not JSON: {e}"))
    }
}

/// The key published as `kid`: `None` when there is none, an error when it is unusable.
fn find(keys: &[IssuerKey], kid: &str) -> Option<Result<Arc<VerifyingKey>, Aadsts>> {
    let key = keys.iter().find(|k| k.kid.as_deref() == Some(kid))?;
    Some(key.parsed.clone().ok_or(Aadsts::InvalidSignature))
}
