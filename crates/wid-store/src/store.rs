//! The store: every query wid runs.

use std::str::FromStr;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use crate::changes::Topic;
use crate::error::redact_url;
use crate::records::*;
use crate::{StoreError, migrate};

/// A handle on the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    engine: &'static str,
    pub(crate) changes: std::sync::Arc<crate::changes::Changes>,
    pub(crate) counts: std::sync::Arc<crate::connection_cache::CountCache>,
    pub(crate) seeks: std::sync::Arc<crate::connection_cache::SeekCache>,
    pub(crate) rows: std::sync::Arc<crate::connection_cache::RowCache>,
}

type IdentityRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);
macro_rules! identity_cols {
    () => {
        "principal_id, client_id, tenant_id, subscription_id, rg_name, name, location, tags"
    };
}

fn identity(r: IdentityRow) -> Identity {
    Identity {
        principal_id: r.0,
        client_id: r.1,
        tenant_id: r.2,
        subscription_id: r.3,
        resource_group: r.4,
        name: r.5,
        location: r.6,
        tags: r.7,
    }
}

pub(crate) type FicRow = (String, String, String, String, String, i64);
macro_rules! fic_cols {
    () => {
        "identity_principal_id, name, issuer, subject, audience, created_at"
    };
}
pub(crate) use fic_cols;

pub(crate) fn fic_from_row(r: FicRow) -> FederatedCredential {
    fic(r)
}

fn fic(r: FicRow) -> FederatedCredential {
    FederatedCredential {
        identity_principal_id: r.0,
        name: r.1,
        issuer: r.2,
        subject: r.3,
        audience: r.4,
        created_at: r.5,
    }
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies migrations.
    ///
    /// `url` is `sqlite://PATH` (created if missing) or `postgres://...`.
    pub async fn connect(url: &str, now: i64) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let open_err = |source| StoreError::Open {
            url: redact_url(url),
            source,
        };
        let (pool, engine) = if url.starts_with("sqlite:") {
            // Validate the URL and create the file (and WAL mode, which persists in the file)
            // with the SQLite driver, then open the pool through the Any driver.
            let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .map_err(open_err)?
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
            let first = sqlx::ConnectOptions::connect(&opts)
                .await
                .map_err(open_err)?;
            sqlx::Connection::close(first).await.ok();
            let pool = AnyPoolOptions::new()
                .max_connections(8)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 5000")
                            .execute(&mut *conn)
                            .await?;
                        // Freed space is zeroed: a secret overwritten (a plaintext key
                        // encrypted, a connection deleted) leaves no copy in the file.
                        sqlx::query("PRAGMA secure_delete = ON")
                            .execute(&mut *conn)
                            .await?;
                        Ok(())
                    })
                })
                .connect(url)
                .await
                .map_err(open_err)?;
            (pool, "sqlite")
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .connect(url)
                .await
                .map_err(open_err)?;
            (pool, "postgres")
        } else {
            return Err(StoreError::Open {
                url: redact_url(url),
                source: sqlx::Error::Configuration(
                    "the URL must start with sqlite:// or postgres://".into(),
                ),
            });
        };
        // Replicas starting at once on an empty database migrate one after the other.
        let lock = crate::cluster::start_lock(&pool, engine).await?;
        migrate::run(&pool, now).await?;
        lock.release().await?;
        let changes = crate::changes::Changes::new(engine == "sqlite");
        if engine == "postgres" {
            changes.spawn_listener(url.to_string());
        }
        Ok(Store {
            pool,
            engine,
            changes,
            counts: Default::default(),
            seeks: Default::default(),
            rows: Default::default(),
        })
    }

    /// `sqlite` or `postgres`.
    pub fn engine(&self) -> &'static str {
        self.engine
    }

    /// The pool's open connections and, of those, the idle ones (for `/metrics`).
    pub fn pool_stats(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// Whether the database answers and its migrations are all applied (for `/readyz`).
    pub async fn ready(&self) -> Result<bool, StoreError> {
        let (v,): (Option<i64>,) = sqlx::query_as("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&self.pool)
            .await?;
        Ok(v == migrate::MIGRATIONS.last().map(|m| m.0))
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.changes.stop();
        self.pool.close().await;
    }

    // ---- meta ----

    /// Reads a bootstrap value.
    pub async fn get_meta(&self, k: &str) -> Result<Option<String>, StoreError> {
        let r: Option<(String,)> = sqlx::query_as("SELECT v FROM meta WHERE k = $1")
            .bind(k)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.map(|r| r.0))
    }

    /// Writes a bootstrap value (insert only; an existing key is an error).
    pub async fn set_meta(&self, k: &str, v: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO meta (k, v) VALUES ($1, $2)")
            .bind(k)
            .bind(v)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- tenants and subscriptions ----

    /// Creates a tenant.
    pub async fn insert_tenant(&self, t: &Tenant, now: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO tenants (id, display_name, created_at) VALUES ($1, $2, $3)")
            .bind(&t.id)
            .bind(&t.display_name)
            .bind(now)
            .execute(&self.pool)
            .await?;
        self.changed(Topic::Directory).await;
        Ok(())
    }

    /// Finds a tenant by id (case-insensitive GUID).
    pub async fn get_tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        let r: Option<(String, String)> =
            sqlx::query_as("SELECT id, display_name FROM tenants WHERE id = $1")
                .bind(id.to_ascii_lowercase())
                .fetch_optional(&self.pool)
                .await?;
        Ok(r.map(|(id, display_name)| Tenant { id, display_name }))
    }

    /// Creates a subscription.
    pub async fn insert_subscription(&self, s: &Subscription, now: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO subscriptions (id, tenant_id, display_name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&s.id)
            .bind(&s.tenant_id)
            .bind(&s.display_name)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Finds a subscription by id (case-insensitive GUID).
    pub async fn get_subscription(&self, id: &str) -> Result<Option<Subscription>, StoreError> {
        let r: Option<(String, String, String)> =
            sqlx::query_as("SELECT id, tenant_id, display_name FROM subscriptions WHERE id = $1")
                .bind(id.to_ascii_lowercase())
                .fetch_optional(&self.pool)
                .await?;
        Ok(r.map(|(id, tenant_id, display_name)| Subscription {
            id,
            tenant_id,
            display_name,
        }))
    }

    /// The subscriptions of a tenant.
    pub async fn list_subscriptions(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<Subscription>, StoreError> {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT id, tenant_id, display_name FROM subscriptions WHERE tenant_id = $1 ORDER BY id")
                .bind(tenant_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, tenant_id, display_name)| Subscription {
                id,
                tenant_id,
                display_name,
            })
            .collect())
    }

    // ---- resource groups ----

    /// Creates or updates a resource group; returns true when it was created.
    pub async fn upsert_resource_group(
        &self,
        g: &ResourceGroup,
        now: i64,
    ) -> Result<bool, StoreError> {
        let key = g.name.to_lowercase();
        let updated = sqlx::query(
            "UPDATE resource_groups SET tags = $1 WHERE subscription_id = $2 AND name_key = $3",
        )
        .bind(&g.tags)
        .bind(&g.subscription_id)
        .bind(&key)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if updated > 0 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO resource_groups (subscription_id, name_key, name, location, tags, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&g.subscription_id)
            .bind(&key)
            .bind(&g.name)
            .bind(&g.location)
            .bind(&g.tags)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(true)
    }

    /// Finds a resource group by name, case-insensitively.
    pub async fn get_resource_group(
        &self,
        sub: &str,
        name: &str,
    ) -> Result<Option<ResourceGroup>, StoreError> {
        let r: Option<(String, String, String, String)> = sqlx::query_as(
            "SELECT subscription_id, name, location, tags FROM resource_groups WHERE subscription_id = $1 AND name_key = $2",
        )
        .bind(sub)
        .bind(name.to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            r.map(|(subscription_id, name, location, tags)| ResourceGroup {
                subscription_id,
                name,
                location,
                tags,
            }),
        )
    }

    /// The resource groups of a subscription.
    pub async fn list_resource_groups(&self, sub: &str) -> Result<Vec<ResourceGroup>, StoreError> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT subscription_id, name, location, tags FROM resource_groups WHERE subscription_id = $1 ORDER BY name_key",
        )
        .bind(sub)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(subscription_id, name, location, tags)| ResourceGroup {
                subscription_id,
                name,
                location,
                tags,
            })
            .collect())
    }

    /// Deletes a resource group with its identities, their federated credentials and the
    /// role assignments at or below it; returns how many identities went with it.
    pub async fn delete_resource_group(&self, sub: &str, name: &str) -> Result<u64, StoreError> {
        let key = name.to_lowercase();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM federated_credentials WHERE identity_principal_id IN \
             (SELECT principal_id FROM identities WHERE subscription_id = $1 AND rg_key = $2)",
        )
        .bind(sub)
        .bind(&key)
        .execute(&mut *tx)
        .await?;
        let n = sqlx::query("DELETE FROM identities WHERE subscription_id = $1 AND rg_key = $2")
            .bind(sub)
            .bind(&key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let scope = format!("/subscriptions/{sub}/resourcegroups/{key}");
        sqlx::query("DELETE FROM role_assignments WHERE scope_key = $1 OR scope_key LIKE $2")
            .bind(&scope)
            .bind(format!("{scope}/%"))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM resource_groups WHERE subscription_id = $1 AND name_key = $2")
            .bind(sub)
            .bind(&key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.changed(Topic::Directory).await;
        Ok(n)
    }

    // ---- identities ----

    /// Creates an identity.
    pub async fn insert_identity(&self, i: &Identity, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO identities (principal_id, client_id, tenant_id, subscription_id, rg_key, rg_name, name_key, name, location, tags, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&i.principal_id)
        .bind(&i.client_id)
        .bind(&i.tenant_id)
        .bind(&i.subscription_id)
        .bind(i.resource_group.to_lowercase())
        .bind(&i.resource_group)
        .bind(i.name.to_lowercase())
        .bind(&i.name)
        .bind(&i.location)
        .bind(&i.tags)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.changed(Topic::Directory).await;
        Ok(())
    }

    /// Updates an identity's tags.
    pub async fn update_identity_tags(
        &self,
        principal_id: &str,
        tags: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE identities SET tags = $1 WHERE principal_id = $2")
            .bind(tags)
            .bind(principal_id)
            .execute(&self.pool)
            .await?;
        self.changed(Topic::Directory).await;
        Ok(())
    }

    /// Finds an identity by subscription, resource group and name (case-insensitive).
    pub async fn get_identity(
        &self,
        sub: &str,
        rg: &str,
        name: &str,
    ) -> Result<Option<Identity>, StoreError> {
        let r: Option<IdentityRow> = sqlx::query_as(concat!(
            "SELECT ",
            identity_cols!(),
            " FROM identities WHERE subscription_id = $1 AND rg_key = $2 AND name_key = $3"
        ))
        .bind(sub)
        .bind(rg.to_lowercase())
        .bind(name.to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(identity))
    }

    /// Finds an identity by client id within a tenant.
    pub async fn find_identity_by_client_id(
        &self,
        tenant_id: &str,
        client_id: &str,
    ) -> Result<Option<Identity>, StoreError> {
        let r: Option<IdentityRow> = sqlx::query_as(concat!(
            "SELECT ",
            identity_cols!(),
            " FROM identities WHERE client_id = $1 AND tenant_id = $2"
        ))
        .bind(client_id.to_ascii_lowercase())
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(identity))
    }

    /// Identities of a subscription, optionally of one resource group, ordered by name.
    pub async fn list_identities(
        &self,
        sub: &str,
        rg: Option<&str>,
    ) -> Result<Vec<Identity>, StoreError> {
        let rows: Vec<IdentityRow> =
            match rg {
                Some(rg) => sqlx::query_as(concat!(
                    "SELECT ",
                    identity_cols!(),
                    " FROM identities WHERE subscription_id = $1 AND rg_key = $2 ORDER BY name_key"
                ))
                .bind(sub)
                .bind(rg.to_lowercase())
                .fetch_all(&self.pool)
                .await?,
                None => {
                    sqlx::query_as(concat!(
                        "SELECT ",
                        identity_cols!(),
                        " FROM identities WHERE subscription_id = $1 ORDER BY rg_key, name_key"
                    ))
                    .bind(sub)
                    .fetch_all(&self.pool)
                    .await?
                }
            };
        Ok(rows.into_iter().map(identity).collect())
    }

    /// Deletes an identity and its federated credentials; returns whether it existed.
    pub async fn delete_identity(&self, principal_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM federated_credentials WHERE identity_principal_id = $1")
            .bind(principal_id)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM identities WHERE principal_id = $1")
            .bind(principal_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        self.changed(Topic::Directory).await;
        Ok(n > 0)
    }

    // ---- federated credentials ----

    /// The federated credentials of an identity, ordered by name.
    pub async fn list_fics(
        &self,
        principal_id: &str,
    ) -> Result<Vec<FederatedCredential>, StoreError> {
        let rows: Vec<FicRow> = sqlx::query_as(concat!(
            "SELECT ",
            fic_cols!(),
            " FROM federated_credentials WHERE identity_principal_id = $1 ORDER BY name_key"
        ))
        .bind(principal_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(fic).collect())
    }

    /// One federated credential by name (case-insensitive).
    pub async fn get_fic(
        &self,
        principal_id: &str,
        name: &str,
    ) -> Result<Option<FederatedCredential>, StoreError> {
        let r: Option<FicRow> = sqlx::query_as(concat!(
            "SELECT ",
            fic_cols!(),
            " FROM federated_credentials WHERE identity_principal_id = $1 AND name_key = $2"
        ))
        .bind(principal_id)
        .bind(name.to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(fic))
    }

    /// Creates or replaces a federated credential by name; returns true when created.
    pub async fn upsert_fic(&self, f: &FederatedCredential) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let created = upsert_fic_on(&mut tx, f).await?;
        tx.commit().await?;
        self.changed(Topic::Directory).await;
        Ok(created)
    }

    /// Deletes a federated credential; returns whether it existed.
    pub async fn delete_fic(&self, principal_id: &str, name: &str) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "DELETE FROM federated_credentials WHERE identity_principal_id = $1 AND name_key = $2",
        )
        .bind(principal_id)
        .bind(name.to_lowercase())
        .execute(&self.pool)
        .await?
        .rows_affected();
        self.changed(Topic::Directory).await;
        Ok(n > 0)
    }

    /// Whether any federated credential names `issuer` (so the token service may fetch it).
    pub async fn issuer_is_federated(&self, issuer: &str) -> Result<bool, StoreError> {
        let r: Option<(String,)> =
            sqlx::query_as("SELECT issuer FROM federated_credentials WHERE issuer = $1 LIMIT 1")
                .bind(issuer)
                .fetch_optional(&self.pool)
                .await?;
        Ok(r.is_some())
    }

    // ---- applications ----

    /// Registers an application with a client secret hash.
    pub async fn insert_application(&self, a: &Application, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO applications (client_id, tenant_id, principal_id, display_name, secret_sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&a.client_id)
        .bind(&a.tenant_id)
        .bind(&a.principal_id)
        .bind(&a.display_name)
        .bind(&a.secret_sha256)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.changed(Topic::Directory).await;
        Ok(())
    }

    /// Registers a certificate of an application: its `x5t` thumbprint and public key (JWK
    /// JSON). Registering the same thumbprint again replaces the key.
    pub async fn add_application_certificate(
        &self,
        tenant_id: &str,
        client_id: &str,
        thumbprint: &str,
        public_jwk: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM application_certificates WHERE tenant_id = $1 AND client_id = $2 AND thumbprint = $3",
        )
        .bind(tenant_id)
        .bind(client_id.to_ascii_lowercase())
        .bind(thumbprint)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO application_certificates (tenant_id, client_id, thumbprint, public_jwk, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant_id)
        .bind(client_id.to_ascii_lowercase())
        .bind(thumbprint)
        .bind(public_jwk)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.changed(Topic::Directory).await;
        Ok(())
    }

    /// The public key (JWK JSON) of an application's certificate, by its `x5t` thumbprint.
    pub async fn find_application_certificate(
        &self,
        tenant_id: &str,
        client_id: &str,
        thumbprint: &str,
    ) -> Result<Option<String>, StoreError> {
        let r: Option<(String,)> = sqlx::query_as(
            "SELECT public_jwk FROM application_certificates WHERE tenant_id = $1 AND client_id = $2 AND thumbprint = $3",
        )
        .bind(tenant_id)
        .bind(client_id.to_ascii_lowercase())
        .bind(thumbprint)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(|r| r.0))
    }

    /// Finds an application by client id within a tenant.
    pub async fn find_application(
        &self,
        tenant_id: &str,
        client_id: &str,
    ) -> Result<Option<Application>, StoreError> {
        let r: Option<(String, String, String, String, String)> = sqlx::query_as(
            "SELECT client_id, tenant_id, principal_id, display_name, secret_sha256 FROM applications WHERE client_id = $1 AND tenant_id = $2",
        )
        .bind(client_id.to_ascii_lowercase())
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(|r| Application {
            client_id: r.0,
            tenant_id: r.1,
            principal_id: r.2,
            display_name: r.3,
            secret_sha256: r.4,
        }))
    }
}

/// Creates or replaces a federated credential by name within a transaction; true when created.
pub(crate) async fn upsert_fic_on(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    f: &FederatedCredential,
) -> Result<bool, StoreError> {
    let key = f.name.to_lowercase();
    let updated = sqlx::query(
        "UPDATE federated_credentials SET issuer = $1, subject = $2, audience = $3 WHERE identity_principal_id = $4 AND name_key = $5",
    )
    .bind(&f.issuer)
    .bind(&f.subject)
    .bind(&f.audience)
    .bind(&f.identity_principal_id)
    .bind(&key)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated == 0 {
        sqlx::query(
            "INSERT INTO federated_credentials (identity_principal_id, name_key, name, issuer, subject, audience, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&f.identity_principal_id)
        .bind(&key)
        .bind(&f.name)
        .bind(&f.issuer)
        .bind(&f.subject)
        .bind(&f.audience)
        .bind(f.created_at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(updated == 0)
}
