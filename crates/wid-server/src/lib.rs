//! wid's connections server: Airflow 3's `/api/v2/connections` (list, get, post, patch with
//! `update_mask`, delete, bulk, test) over the store, the administrator's export, every request authenticated, and the
//! OpenAPI document that describes it.
//!
//! Invariants:
//! - It never imports the stand-in cloud: tokens of the stand-in token service are verified
//!   the way any resource verifies Entra tokens, with the tenant's JWKS fetched over HTTPS.
//! - A password leaves the server only through `GET /api/v2/connections:export`
//!   ([`connection_export`]), which only the administrator may call, and through
//!   `GET /api/v2/deployments/{name}/secrets/connections/{conn_id}` ([`deployment_secrets`]),
//!   to the administrator or the identity assigned to that deployment; every other route
//!   answers `"***"` and redacts sensitive keys of `extra` as Airflow's secrets masker does.
//! - Handlers parse and map; storage, validation and testing live in service functions.

pub mod auth;
pub mod body;
pub mod body_limit;
pub mod connection_export;
pub mod connections;
pub mod deployment_secrets;
pub mod deployments;
pub mod error;
pub mod openapi;
pub mod tester;

use std::sync::Arc;

use axum::Router;
use wid_model::Clock;
use wid_store::{LiveFernetKeys, Store};

pub use auth::{ApiAuth, StsVerifier};
pub use error::ApiError;

/// What the handlers share: one reference count to clone (axum clones the state for every
/// request; cloning each field would touch a counter per field, shared by every core).
#[derive(Clone)]
pub struct ApiState(Arc<ApiShared>);

impl ApiState {
    /// The state of `shared`.
    pub fn new(shared: ApiShared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for ApiState {
    type Target = ApiShared;
    fn deref(&self) -> &ApiShared {
        &self.0
    }
}

/// The contents of [`ApiState`].
pub struct ApiShared {
    /// The database.
    pub store: Store,
    /// Fernet keys for `password` and `extra` (replaced when the configuration changes).
    pub keys: Arc<LiveFernetKeys>,
    /// Who may call.
    pub auth: Arc<ApiAuth>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The HTTP client for testing connections (trusts the local CA).
    pub http: reqwest::Client,
    /// The authority host for connection tests; `None`: AZURE_AUTHORITY_HOST, then the public
    /// cloud.
    pub test_authority: Option<String>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for ApiShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// The API router: `/api/v2/connections...` and `/api/v2/openapi.json`.
pub fn app(state: ApiState) -> Router {
    Router::new()
        .merge(connections::router())
        .merge(connection_export::router())
        .merge(deployments::router())
        .merge(deployment_secrets::router())
        .merge(openapi::router())
        .layer(axum::middleware::from_fn(body_limit::limit))
        .with_state(state)
}
