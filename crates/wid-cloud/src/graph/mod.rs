//! Microsoft Graph, the part wid plays: registering applications with identifier URIs, so a
//! user's own API becomes a resource principal the token service issues tokens for
//! (`POST /v1.0/applications`, as `az ad app create` sends it), listing them, and deleting
//! one by its object id; and the tenant's service principals (managed identities and
//! applications), which clients look up to turn a client id into a principal id.

mod applications;
mod error;
mod service_principals;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{delete, get, post};
use wid_model::resources::GRAPH_AUDIENCES;

use crate::auth::{AuthError, Caller, verify_bearer};
use crate::state::CloudState;

pub use applications::{RegisterApplication, register_application};
pub use error::GraphError;

/// Largest Graph request body accepted, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// Routes of Graph.
pub fn router() -> Router<CloudState> {
    Router::new()
        .route(
            "/v1.0/applications",
            get(applications::list).post(applications::create),
        )
        .route("/v1.0/applications/{id}", delete(applications::remove))
        .route("/v1.0/servicePrincipals", get(service_principals::list))
        .route("/v1.0/servicePrincipals/{id}", get(service_principals::one))
        .route(
            "/v1.0/directoryObjects/getByIds",
            post(service_principals::by_ids),
        )
}

/// The caller of a Graph request: a valid token for Graph, which is Microsoft's Graph
/// audience or wid's own URL (`/metadata/endpoints` names wid as the cloud's Graph endpoint).
pub(crate) async fn authenticate(
    s: &CloudState,
    headers: &HeaderMap,
) -> Result<Caller, GraphError> {
    let caller = verify_bearer(s, headers).await.map_err(|e| match e {
        AuthError::Missing => GraphError::unauthenticated("Access token is empty."),
        AuthError::Invalid(_) | AuthError::Expired { .. } => {
            GraphError::unauthenticated("Access token validation failure.")
        }
    })?;
    let audience = caller.audience.as_str();
    if !GRAPH_AUDIENCES.contains(&audience) && !is_own_url(s, audience) {
        return Err(GraphError::unauthenticated(
            "Access token validation failure. Invalid audience.",
        ));
    }
    Ok(caller)
}

/// Whether `resource` is wid's own public URL, which plays Microsoft Graph's resource id for
/// clients that learned their endpoints from `/metadata/endpoints`.
pub fn is_own_url(s: &CloudState, resource: &str) -> bool {
    resource.trim_end_matches('/') == s.config.public_url.trim_end_matches('/')
}
