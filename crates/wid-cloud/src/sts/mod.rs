//! The token service, as Microsoft Entra ID plays it: instance and tenant discovery, JWKS,
//! and the v2 (`scope`) and v1 (`resource`) token endpoints, with federated credential
//! validation and real AADSTS errors.

mod assertion;
mod discovery;
mod error;
mod exchange;
mod form;
mod token;

use axum::Router;
use axum::routing::{get, post};

use crate::state::CloudState;

pub use error::{AadstsCode, StsError};
pub use exchange::{
    ACCESS_TOKEN_LIFETIME, Endpoint, IssuedToken, TokenParams, TokenSubject, exchange,
    resolve_resource, resource_of_scope, sign_access_token,
};
pub use token::{authority_of as authority_base, correlation_of};

/// Largest token request body accepted, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// Routes of the token service.
pub fn router() -> Router<CloudState> {
    Router::new()
        .route("/common/discovery/instance", get(discovery::instance))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::openid_configuration_v2),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(discovery::openid_configuration_v1),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::keys))
        .route("/{tenant}/discovery/keys", get(discovery::keys))
        .route("/{tenant}/oauth2/v2.0/token", post(token::token_v2))
        .route("/{tenant}/oauth2/token", post(token::token_v1))
}
