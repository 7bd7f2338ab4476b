//! `POST /issuer/keys/rotate?purpose=issuer|sts`: key rotation, for the administrator.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::token_request::{admin_only, k8s_status};
use crate::keys::Purpose;
use crate::state::CloudState;

/// Query of the rotation request.
#[derive(Debug, Deserialize)]
pub struct RotateQuery {
    /// `issuer` (default) or `sts`.
    #[serde(default)]
    purpose: Option<String>,
}

/// Rotates a signing key and returns the new and published key ids.
pub async fn rotate(
    State(s): State<CloudState>,
    headers: HeaderMap,
    Query(q): Query<RotateQuery>,
) -> Response {
    if let Err(r) = admin_only(&s, &headers).await {
        return r;
    }
    let purpose = match q.purpose.as_deref().unwrap_or("issuer") {
        "issuer" => Purpose::Issuer,
        "sts" => Purpose::Sts,
        other => {
            return k8s_status(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("unknown key purpose '{other}': use issuer or sts"),
            );
        }
    };
    let now = s.clock.now();
    match s.keys.rotate(&s.store, purpose, now).await {
        Ok(kid) => {
            let published: Vec<String> = s
                .keys
                .jwks(purpose, now)
                .keys
                .into_iter()
                .filter_map(|k| k.common.key_id)
                .collect();
            Json(json!({"active_kid": kid, "published_kids": published, "retired_keys_expire_at": now + purpose.retention()}))
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "key rotation failed");
            k8s_status(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "key rotation failed; see the server log",
            )
        }
    }
}
