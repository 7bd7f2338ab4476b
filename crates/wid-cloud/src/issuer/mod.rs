//! The Kubernetes service-account issuer, as AKS's OIDC issuer and the kubelet play it:
//! discovery and JWKS under `/issuer/`, and the TokenRequest API that mints projected
//! service-account tokens.

mod discovery;
mod keys;
mod token_request;

use axum::Router;
use axum::routing::{get, post};

use crate::state::CloudState;

pub use token_request::{MAX_EXPIRATION, MIN_EXPIRATION, admin_only, mint};

/// Routes under `/issuer/`.
pub fn router() -> Router<CloudState> {
    Router::new()
        .route(
            "/issuer/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/issuer/openid/v1/jwks", get(discovery::jwks))
        .route(
            "/issuer/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
            post(token_request::create),
        )
        .route("/issuer/keys/rotate", post(keys::rotate))
}
