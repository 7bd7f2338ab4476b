//! The stand-in cloud: a Kubernetes service-account issuer, Microsoft Entra's token service
//! and the identity part of Azure Resource Manager, each an axum router over one shared
//! [`CloudState`].
//!
//! Invariants:
//! - Handlers are thin: they parse the wire, call a service function, and map its typed
//!   error to the wire shape of the system they play (AADSTS JSON for `sts`, ARM's
//!   `{"error":{"code","message"}}` for `arm`, Kubernetes `Status` for `issuer`).
//! - The token service fetches an issuer's discovery document and JWKS only for issuers that
//!   a federated credential names, never for an arbitrary `iss`.
//! - Time comes from the injected [`wid_model::Clock`]; nothing here reads the system clock.

pub mod applications;
pub mod arm;
pub mod auth;
pub mod body;
pub mod bootstrap;
pub mod directory;
pub mod faults;
pub mod graph;
pub mod imds;
pub mod issuer;
pub mod keys;
pub mod oidc;
pub mod path;
pub mod state;
pub mod sts;

use axum::Router;

pub use state::{CloudConfig, CloudState};

/// The whole stand-in cloud as one router: `/issuer/...`, `/{tenant}/...` (sts),
/// `/common/discovery/instance`, `/subscriptions/...` (arm),
/// `/metadata/identity/oauth2/token` (the managed identity endpoint, IMDS) and
/// `/v1.0/applications` (Microsoft Graph's application registrations).
pub fn app(state: CloudState) -> Router {
    Router::new()
        .merge(issuer::router())
        .merge(sts::router())
        .merge(arm::router())
        .merge(imds::router())
        .merge(graph::router())
        .merge(faults::router())
        .merge(applications::router())
        .with_state(state)
}
