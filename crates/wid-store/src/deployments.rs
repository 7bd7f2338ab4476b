//! Deployments: a name, its settings (JSON) and what assign-identity created (JSON).

use crate::{Store, StoreError};

impl Store {
    /// Creates a deployment; `StoreError::Conflict` if the name exists.
    pub async fn insert_deployment(
        &self,
        name: &str,
        spec: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO deployments (name, spec, assignment, created_at) VALUES ($1, $2, NULL, $3)")
            .bind(name)
            .bind(spec)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A deployment's settings and assignment.
    pub async fn get_deployment(
        &self,
        name: &str,
    ) -> Result<Option<(String, Option<String>)>, StoreError> {
        let r: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT spec, assignment FROM deployments WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(r)
    }

    /// All deployments, by name: (name, spec, assignment).
    pub async fn list_deployments(
        &self,
    ) -> Result<Vec<(String, String, Option<String>)>, StoreError> {
        let r: Vec<(String, String, Option<String>)> =
            sqlx::query_as("SELECT name, spec, assignment FROM deployments ORDER BY name")
                .fetch_all(&self.pool)
                .await?;
        Ok(r)
    }

    /// Records (or clears, with `None`) what assign-identity created.
    pub async fn set_deployment_assignment(
        &self,
        name: &str,
        assignment: Option<&str>,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE deployments SET assignment = $1 WHERE name = $2")
            .bind(assignment)
            .bind(name)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// Deletes a deployment; returns whether it existed.
    pub async fn delete_deployment(&self, name: &str) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM deployments WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// Links a connection to a deployment with overrides (JSON object text), replacing an
    /// existing link.
    pub async fn put_link(
        &self,
        conn_id: &str,
        deployment: &str,
        overrides: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM connection_links WHERE conn_id = $1 AND deployment = $2")
            .bind(conn_id)
            .bind(deployment)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO connection_links (conn_id, deployment, overrides, created_at) VALUES ($1, $2, $3, $4)")
            .bind(conn_id)
            .bind(deployment)
            .bind(overrides)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a link; returns whether it existed.
    pub async fn delete_link(&self, conn_id: &str, deployment: &str) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM connection_links WHERE conn_id = $1 AND deployment = $2")
            .bind(conn_id)
            .bind(deployment)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// The links of a deployment: (conn_id, overrides), by conn_id.
    pub async fn list_links(&self, deployment: &str) -> Result<Vec<(String, String)>, StoreError> {
        let r: Vec<(String, String)> = sqlx::query_as("SELECT conn_id, overrides FROM connection_links WHERE deployment = $1 ORDER BY conn_id")
            .bind(deployment)
            .fetch_all(&self.pool)
            .await?;
        Ok(r)
    }
}
