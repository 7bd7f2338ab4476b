//! Applications registered as resource principals, and their identifier URIs.

use wid_model::resources::resource_key;

use crate::records::ResourceApp;
use crate::{Store, StoreError};

type Row = (String, String, String, String, i64);

impl Store {
    /// Registers `app` with its identifier URIs in one transaction;
    /// `StoreError::Conflict` when a URI (compared by its key) is taken in the tenant.
    pub async fn insert_resource_app(&self, app: &ResourceApp) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO resource_apps (app_id, tenant_id, object_id, display_name, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&app.app_id)
        .bind(&app.tenant_id)
        .bind(&app.object_id)
        .bind(&app.display_name)
        .bind(app.created_at)
        .execute(&mut *tx)
        .await?;
        for (i, uri) in app.identifier_uris.iter().enumerate() {
            sqlx::query(
                "INSERT INTO identifier_uris (tenant_id, uri_key, uri, app_id, position) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&app.tenant_id)
            .bind(resource_key(uri))
            .bind(uri)
            .bind(&app.app_id)
            .bind(i as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The registered application that `resource` names in `tenant_id`: by identifier URI
    /// (ASCII case and one trailing slash ignored) or by application id.
    pub async fn find_resource_app(
        &self,
        tenant_id: &str,
        resource: &str,
    ) -> Result<Option<ResourceApp>, StoreError> {
        let key = resource_key(resource);
        let r: Option<Row> = sqlx::query_as(
            "SELECT a.app_id, a.tenant_id, a.object_id, a.display_name, a.created_at FROM resource_apps a \
             WHERE a.tenant_id = $1 AND (a.app_id = $2 OR a.app_id IN (SELECT u.app_id FROM identifier_uris u WHERE u.tenant_id = $1 AND u.uri_key = $2))",
        )
        .bind(tenant_id)
        .bind(&key)
        .fetch_optional(&self.pool)
        .await?;
        match r {
            Some(r) => Ok(Some(self.with_uris(r).await?)),
            None => Ok(None),
        }
    }

    /// The registered applications of `tenant_id`, oldest first.
    pub async fn list_resource_apps(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<ResourceApp>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT app_id, tenant_id, object_id, display_name, created_at FROM resource_apps WHERE tenant_id = $1 ORDER BY created_at, app_id",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.with_uris(r).await?);
        }
        Ok(out)
    }

    /// Deletes the application with object id `object_id` in `tenant_id`, with its
    /// identifier URIs; false when there is none.
    pub async fn delete_resource_app(
        &self,
        tenant_id: &str,
        object_id: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let found: Option<(String,)> = sqlx::query_as(
            "SELECT app_id FROM resource_apps WHERE tenant_id = $1 AND object_id = $2",
        )
        .bind(tenant_id)
        .bind(object_id.to_ascii_lowercase())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((app_id,)) = found else {
            return Ok(false);
        };
        sqlx::query("DELETE FROM identifier_uris WHERE app_id = $1")
            .bind(&app_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM resource_apps WHERE app_id = $1")
            .bind(&app_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn with_uris(&self, r: Row) -> Result<ResourceApp, StoreError> {
        let uris: Vec<(String,)> =
            sqlx::query_as("SELECT uri FROM identifier_uris WHERE app_id = $1 ORDER BY position")
                .bind(&r.0)
                .fetch_all(&self.pool)
                .await?;
        Ok(ResourceApp {
            app_id: r.0,
            tenant_id: r.1,
            object_id: r.2,
            display_name: r.3,
            identifier_uris: uris.into_iter().map(|u| u.0).collect(),
            created_at: r.4,
        })
    }
}
