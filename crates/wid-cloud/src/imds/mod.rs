//! The instance metadata service's managed identity endpoint, as an Azure VM or AKS node serves
//! it at `http://169.254.169.254`: `GET /metadata/identity/oauth2/token`. SDKs reach it here when
//! `AZURE_POD_IDENTITY_AUTHORITY_HOST` names wid (`wid env --imds`), so
//! `ManagedIdentityCredential` is tested against wid like every other client.
//!
//! The "host" whose identities it serves is wid itself: every user-assigned identity of the
//! default subscription is assigned to it. A request names one with `client_id`, `object_id`
//! or `msi_res_id`; without one, IMDS answers with the only identity, and refuses when there
//! are none or several, as a VM without a system-assigned identity does.

mod error;
mod token;

use axum::Router;
use axum::routing::get;

use crate::state::CloudState;

pub use error::ImdsError;

/// The api-versions the identity endpoint accepts (IMDS's published versions).
pub const API_VERSIONS: [&str; 12] = [
    "2025-04-07",
    "2024-03-15",
    "2023-07-01",
    "2021-12-13",
    "2021-11-15",
    "2021-05-01",
    "2021-02-01",
    "2020-09-01",
    "2019-11-01",
    "2019-08-01",
    "2018-02-01",
    "2017-09-01",
];

/// Routes of the managed identity endpoint.
pub fn router() -> Router<CloudState> {
    Router::new().route("/metadata/identity/oauth2/token", get(token::token))
}
