//! `GET /api/v2/deployments/{name}/secrets/connections/{conn_id}`: one connection as deployment
//! `name`'s Airflow reads it at run time (the link's overrides applied, password and `extra` in
//! clear). This is what the secrets backend (`integrations/airflow`, `wid_airflow`) calls from
//! the deployment's scheduler, workers and task processes.
//!
//! Authorization by identity, as Azure authorizes by the role assignments of a token's
//! principal: a token's identity (its `oid`, or its `appid`) may read the connections linked to
//! the deployments that identity is assigned to (the `principal_id`/`client_id` that
//! `wid deployment assign-identity` records), and nothing else; the administrator may read all.
//! Two deployments assigned one identity therefore share its reach. A principal outside a
//! deployment gets 403 whether or not the deployment exists (as ARM answers
//! `AuthorizationFailed` for a scope the caller may not read); an authorized caller gets 404
//! for a connection not linked to the deployment, so the backend falls through to Airflow's
//! other sources.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use wid_model::connection::Connection;

use crate::ApiState;
use crate::auth::Caller;
use crate::body::secret_response;
use crate::deployments::materialize;
use crate::error::ApiError;

/// The route's path.
pub const PATH: &str = "/api/v2/deployments/{name}/secrets/connections/{conn_id}";

/// The route.
pub fn router() -> Router<ApiState> {
    Router::new().route(PATH, get(read))
}

/// Whether the identity of a token (`oid`, `appid`) is the identity recorded in a deployment's
/// assignment (`principal_id`, `client_id`). Empty values never match.
pub fn assigned_to(assignment: Option<&Value>, oid: &str, appid: &str) -> bool {
    let Some(a) = assignment else {
        return false;
    };
    let same = |field: &str, claim: &str| {
        !claim.is_empty()
            && a[field]
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case(claim))
    };
    same("principal_id", oid) || same("client_id", appid)
}

fn refused(caller_oid: &str, appid: &str, deployment: &str, conn_id: &str) -> ApiError {
    ApiError::forbidden(format!(
        "The client '{appid}' with object id '{caller_oid}' does not have authorization to read connection `{conn_id}` of deployment `{deployment}`: a token's identity may read only the connections linked to deployments that identity is assigned to, and `{deployment}` is not assigned this identity (or does not exist). Assign it with `wid deployment assign-identity {deployment} --identity-name <identity> -g <resource group>`, or run this component with the identity that deployment is assigned."
    ))
}

/// Connection `conn_id` as deployment `deployment` sees it, if `caller` may read it: the
/// administrator always; a principal when the deployment is assigned its identity. 403
/// otherwise; 404 for an unknown deployment (administrator only) or a connection not linked.
pub async fn deployment_connection(
    s: &ApiState,
    caller: &Caller,
    deployment: &str,
    conn_id: &str,
) -> Result<Connection, ApiError> {
    let found = s.store.get_deployment(deployment).await?;
    match caller {
        Caller::Admin => {
            if found.is_none() {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("The Deployment `{deployment}` was not found"),
                ));
            }
        }
        Caller::Principal { oid, appid } => {
            let assignment = found
                .as_ref()
                .and_then(|(_, a)| a.as_deref())
                .and_then(|a| serde_json::from_str::<Value>(a).ok());
            if !assigned_to(assignment.as_ref(), oid, appid) {
                return Err(refused(oid, appid, deployment, conn_id));
            }
        }
    }
    let not_linked = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "The Connection with connection_id: `{conn_id}` is not linked to deployment `{deployment}`"
            ),
        )
    };
    let overrides = s
        .store
        .list_links(deployment)
        .await?
        .into_iter()
        .find(|(id, _)| id == conn_id)
        .map(|(_, o)| o)
        .ok_or_else(not_linked)?;
    let c = s
        .store
        .get_connection(conn_id, &s.keys.current())
        .await?
        .ok_or_else(not_linked)?;
    let o: serde_json::Map<String, Value> = serde_json::from_str(&overrides).unwrap_or_default();
    Ok(materialize(&c, &o))
}

async fn read(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Path((name, conn_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let caller = s.auth.caller(&headers, s.clock.now()).await?;
    let c = deployment_connection(&s, &caller, &name, &conn_id).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(secret_response(&c)),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_identity_matches_by_object_id_or_client_id_never_by_empty_values() {
        let a = json!({"principal_id": "P-1", "client_id": "c-1"});
        assert!(assigned_to(Some(&a), "p-1", ""));
        assert!(assigned_to(Some(&a), "", "C-1"));
        assert!(!assigned_to(Some(&a), "p-2", "c-2"));
        assert!(!assigned_to(Some(&json!({})), "", ""));
        assert!(!assigned_to(None, "p-1", "c-1"));
    }
}
