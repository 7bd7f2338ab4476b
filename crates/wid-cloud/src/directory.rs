//! What the token service reads on every exchange and what changes rarely, cached: tenants,
//! and the principal a client id names (an identity with its federated credentials, or an
//! application).
//!
//! Entries are tagged with the store's [`Topic::Directory`] generation read before the store
//! was, and used only while it is unchanged and for at most [`MAX_CACHE_AGE`] seconds. The
//! generation moves on every committed write to those tables, this replica's or (on
//! PostgreSQL, through `LISTEN`/`NOTIFY`) another's, so a deleted federated credential stops
//! working everywhere once its deletion is heard. Only what exists is cached: unknown tenants
//! and client ids are read again every time, so guessing ids cannot fill memory.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use wid_store::{
    Application, FederatedCredential, Identity, MAX_CACHE_AGE, Store, StoreError, Tenant, Topic,
};

use crate::sts::TokenSubject;

/// The principal a client id names in a tenant.
#[derive(Debug)]
pub enum Principal {
    /// A managed identity, its federated credentials (ordered by name), and how its tokens
    /// describe it.
    Identity {
        /// The identity.
        identity: Identity,
        /// Its federated credentials.
        credentials: Vec<FederatedCredential>,
        /// Its token subject (`oid`, `appid`, `xms_mirid`), built once.
        subject: TokenSubject,
    },
    /// An application registration (client secret or certificate).
    Application(Application),
}

#[derive(Debug)]
struct Entry<T> {
    value: Arc<T>,
    loaded_at: i64,
}

impl<T> Entry<T> {
    fn fresh(&self, now: i64) -> Option<Arc<T>> {
        (now - self.loaded_at < MAX_CACHE_AGE && now >= self.loaded_at).then(|| self.value.clone())
    }
}

#[derive(Debug, Default)]
struct Maps {
    /// The generation every entry was read under.
    generation: u64,
    tenants: HashMap<String, Entry<Tenant>>,
    /// By tenant id, then by lower-case client id.
    principals: HashMap<String, HashMap<String, Entry<Principal>>>,
}

/// The cache; one per [`crate::CloudState`].
#[derive(Debug, Default)]
pub struct Directory {
    maps: RwLock<Maps>,
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

impl Directory {
    fn read<T>(
        &self,
        generation: Option<u64>,
        get: impl FnOnce(&Maps) -> Option<Arc<T>>,
    ) -> Option<Arc<T>> {
        let generation = generation?;
        let maps = self.maps.read().unwrap_or_else(|e| e.into_inner());
        if maps.generation != generation {
            return None;
        }
        get(&maps)
    }

    fn write(&self, generation: Option<u64>, put: impl FnOnce(&mut Maps)) {
        let Some(generation) = generation else { return };
        let mut maps = self.maps.write().unwrap_or_else(|e| e.into_inner());
        if maps.generation != generation {
            // Entries of another generation are never used again: drop them all. A reader
            // that saw an older generation than the map's must not put its stale value in.
            if generation < maps.generation {
                return;
            }
            *maps = Maps {
                generation,
                ..Maps::default()
            };
        }
        put(&mut maps);
    }

    /// A tenant by id (case-insensitive), `None` when it does not exist.
    pub async fn tenant(
        &self,
        store: &Store,
        id: &str,
        now: i64,
    ) -> Result<Option<Arc<Tenant>>, StoreError> {
        let generation = store.generation(Topic::Directory);
        let key = lower(id);
        if let Some(t) = self.read(generation, |m| m.tenants.get(key.as_ref())?.fresh(now)) {
            return Ok(Some(t));
        }
        let Some(tenant) = store.get_tenant(id).await? else {
            return Ok(None);
        };
        let tenant = Arc::new(tenant);
        self.write(generation, |m| {
            m.tenants.insert(
                key.into_owned(),
                Entry {
                    value: tenant.clone(),
                    loaded_at: now,
                },
            );
        });
        Ok(Some(tenant))
    }

    /// The identity or application `client_id` (case-insensitive) names in the tenant.
    pub async fn principal(
        &self,
        store: &Store,
        tenant_id: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Option<Arc<Principal>>, StoreError> {
        let generation = store.generation(Topic::Directory);
        let key = lower(client_id);
        if let Some(p) = self.read(generation, |m| {
            m.principals.get(tenant_id)?.get(key.as_ref())?.fresh(now)
        }) {
            return Ok(Some(p));
        }
        let principal = match store
            .find_identity_by_client_id(tenant_id, client_id)
            .await?
        {
            Some(identity) => {
                let credentials = store.list_fics(&identity.principal_id).await?;
                let subject = TokenSubject::managed_identity(&identity);
                Principal::Identity {
                    identity,
                    credentials,
                    subject,
                }
            }
            None => match store.find_application(tenant_id, client_id).await? {
                Some(a) => Principal::Application(a),
                None => return Ok(None),
            },
        };
        let principal = Arc::new(principal);
        self.write(generation, |m| {
            m.principals
                .entry(tenant_id.to_string())
                .or_default()
                .insert(
                    key.into_owned(),
                    Entry {
                        value: principal.clone(),
                        loaded_at: now,
                    },
                );
        });
        Ok(Some(principal))
    }
}
