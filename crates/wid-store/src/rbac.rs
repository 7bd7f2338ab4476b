//! Role assignments.

use crate::records::RoleAssignment;
use crate::{Store, StoreError};

type Row = (String, String, String, String, String, String);

fn row(r: Row) -> RoleAssignment {
    RoleAssignment {
        name: r.0,
        subscription_id: r.1,
        scope: r.2,
        role_definition_id: r.3,
        principal_id: r.4,
        principal_type: r.5,
    }
}

impl Store {
    /// Stores an assignment; `StoreError::Conflict` when the name, or the same principal,
    /// role and scope, exist.
    pub async fn insert_role_assignment(
        &self,
        a: &RoleAssignment,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO role_assignments (name, subscription_id, scope, scope_key, role_definition_id, principal_id, principal_type, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(a.name.to_ascii_lowercase())
        .bind(&a.subscription_id)
        .bind(&a.scope)
        .bind(a.scope.trim_end_matches('/').to_ascii_lowercase())
        .bind(a.role_definition_id.to_ascii_lowercase())
        .bind(a.principal_id.to_ascii_lowercase())
        .bind(&a.principal_type)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One assignment by name.
    pub async fn get_role_assignment(
        &self,
        name: &str,
    ) -> Result<Option<RoleAssignment>, StoreError> {
        let r: Option<Row> = sqlx::query_as(
            "SELECT name, subscription_id, scope, role_definition_id, principal_id, principal_type FROM role_assignments WHERE name = $1",
        )
        .bind(name.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(row))
    }

    /// The assignment of `principal` with `role` at exactly `scope`, if any.
    pub async fn find_role_assignment(
        &self,
        scope: &str,
        role: &str,
        principal: &str,
    ) -> Result<Option<RoleAssignment>, StoreError> {
        let r: Option<Row> = sqlx::query_as(
            "SELECT name, subscription_id, scope, role_definition_id, principal_id, principal_type FROM role_assignments \
             WHERE scope_key = $1 AND role_definition_id = $2 AND principal_id = $3",
        )
        .bind(scope.trim_end_matches('/').to_ascii_lowercase())
        .bind(role.to_ascii_lowercase())
        .bind(principal.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(row))
    }

    /// The assignments in a subscription, optionally of one principal, ordered by name.
    pub async fn list_role_assignments(
        &self,
        sub: &str,
        principal: Option<&str>,
    ) -> Result<Vec<RoleAssignment>, StoreError> {
        let rows: Vec<Row> = match principal {
            Some(p) => {
                sqlx::query_as(
                    "SELECT name, subscription_id, scope, role_definition_id, principal_id, principal_type FROM role_assignments \
                     WHERE subscription_id = $1 AND principal_id = $2 ORDER BY name",
                )
                .bind(sub)
                .bind(p.to_ascii_lowercase())
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query_as(
                    "SELECT name, subscription_id, scope, role_definition_id, principal_id, principal_type FROM role_assignments \
                     WHERE subscription_id = $1 ORDER BY name",
                )
                .bind(sub)
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows.into_iter().map(row).collect())
    }

    /// Deletes an assignment; returns whether it existed.
    pub async fn delete_role_assignment(&self, name: &str) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM role_assignments WHERE name = $1")
            .bind(name.to_ascii_lowercase())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// Whether a principal (a managed identity or an application) exists in the tenant.
    pub async fn principal_exists(
        &self,
        tenant_id: &str,
        principal_id: &str,
    ) -> Result<bool, StoreError> {
        let p = principal_id.to_ascii_lowercase();
        let a: Option<(String,)> = sqlx::query_as(
            "SELECT principal_id FROM identities WHERE principal_id = $1 AND tenant_id = $2",
        )
        .bind(&p)
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        if a.is_some() {
            return Ok(true);
        }
        let b: Option<(String,)> = sqlx::query_as(
            "SELECT principal_id FROM applications WHERE principal_id = $1 AND tenant_id = $2",
        )
        .bind(&p)
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(b.is_some())
    }

    /// The principal id of an application by client id.
    pub async fn application_principal(
        &self,
        client_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let r: Option<(String,)> =
            sqlx::query_as("SELECT principal_id FROM applications WHERE client_id = $1")
                .bind(client_id.to_ascii_lowercase())
                .fetch_optional(&self.pool)
                .await?;
        Ok(r.map(|r| r.0))
    }
}
