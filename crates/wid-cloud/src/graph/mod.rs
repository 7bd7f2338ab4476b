//! Microsoft Graph, the part wid plays: registering applications with identifier URIs, so a
//! user's own API becomes a resource principal the token service issues tokens for
//! (`POST /v1.0/applications`, as `az ad app create` sends it), listing them, and deleting
//! one by its object id.

mod applications;
mod error;

use axum::Router;
use axum::routing::{delete, get};

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
}
