//! `GET /api/v2/connections:export`: the stored connections with their secrets (real
//! passwords, `extra` unmasked), for the administrator only: what `airflow connections
//! export` reads from the metadata database with the Fernet key. `?deployment=NAME` gives that
//! deployment's linked connections with their overrides applied instead.
//!
//! The path is outside `/api/v2/connections/{connection_id}`: a connection id is letters,
//! digits, `_`, `.` and `-`, so no id can name this route. Identity tokens get 403; the masked
//! routes (`GET /api/v2/connections...`, `/api/v2/deployments/{name}/connections`) are
//! unchanged.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use wid_model::connection::Connection;
use wid_store::{ListQuery, OrderBy};

use crate::ApiState;
use crate::body::secret_response;
use crate::deployments::linked_connections;
use crate::error::ApiError;

/// The route's path.
pub const PATH: &str = "/api/v2/connections:export";

/// The route.
pub fn router() -> Router<ApiState> {
    Router::new().route(PATH, get(export))
}

/// Every stored connection, or `deployment`'s linked ones with overrides applied, decrypted,
/// ordered by id (bytewise, as Airflow's `ORDER BY conn_id` on SQLite).
pub async fn export_connections(
    s: &ApiState,
    deployment: Option<&str>,
) -> Result<Vec<Connection>, ApiError> {
    let mut conns = match deployment {
        Some(name) => linked_connections(s, name)
            .await?
            .into_iter()
            .map(|(c, _)| c)
            .collect(),
        None => {
            let all = ListQuery {
                limit: i64::MAX,
                offset: 0,
                order_by: OrderBy::ConnId,
                descending: false,
                conn_id_pattern: None,
            };
            s.store.list_connections(&s.keys.current(), &all).await?.0
        }
    };
    conns.sort_by(|a, b| a.conn_id.cmp(&b.conn_id));
    Ok(conns)
}

async fn export(
    State(s): State<ApiState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    s.auth
        .require_admin(&headers, s.clock.now(), &format!("GET {PATH}"))
        .await?;
    let pairs: Vec<(String, String)> = q
        .as_deref()
        .map(|q| serde_urlencoded::from_str(q).unwrap_or_default())
        .unwrap_or_default();
    let deployment = pairs
        .into_iter()
        .find(|(k, _)| k == "deployment")
        .map(|(_, v)| v);
    let conns = export_connections(&s, deployment.as_deref()).await?;
    let items: Vec<_> = conns.iter().map(secret_response).collect();
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({"connections": items, "total_entries": items.len()})),
    )
        .into_response())
}
