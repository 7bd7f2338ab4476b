//! IMDS's own error bodies: `{"error": ..., "error_description": ...}`, 400 for requests it
//! refuses (clients treat a 400 as "no such managed identity here").

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why the managed identity endpoint refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImdsError {
    /// No `Metadata: true` header (IMDS refuses requests a browser or a proxy could forge).
    #[error("Required metadata header not specified")]
    MissingMetadataHeader,
    /// No `api-version`.
    #[error("Required query variable 'api-version' is missing")]
    MissingApiVersion,
    /// An `api-version` IMDS does not have.
    #[error("Invalid api-version '{0}'")]
    UnsupportedApiVersion(String),
    /// No `resource`.
    #[error("Required audience parameter not specified")]
    MissingResource,
    /// A parameter given twice, or more than one of `client_id`, `object_id`, `msi_res_id`.
    #[error("Only one of client_id, object_id or msi_res_id may be given, once: {0}")]
    ConflictingIdentityParameters(String),
    /// No identity matches (or the host has none).
    #[error("Identity not found")]
    IdentityNotFound,
    /// Several identities and none named.
    #[error(
        "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request"
    )]
    MultipleIdentities,
    /// The token service refused the token (e.g. AADSTS500011 for an unknown resource);
    /// IMDS passes Entra's error on.
    #[error("{0}")]
    Entra(wid_model::aadsts::Aadsts),
    /// The store or the signer failed.
    #[error("Failed to retrieve token from the Active directory.")]
    Internal,
}

impl ImdsError {
    fn status(&self) -> StatusCode {
        match self {
            ImdsError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error(&self) -> &'static str {
        match self {
            ImdsError::Internal => "unknown",
            ImdsError::Entra(a) => a.error(),
            _ => "invalid_request",
        }
    }
}

impl IntoResponse for ImdsError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "error": self.error(),
            "error_description": self.to_string(),
        });
        if matches!(
            self,
            ImdsError::MissingApiVersion | ImdsError::UnsupportedApiVersion(_)
        ) {
            body["newest-versions"] = json!(&super::API_VERSIONS[..3]);
        }
        if let ImdsError::Entra(a) = &self {
            body["error_codes"] = json!([a.code()]);
        }
        (self.status(), Json(body)).into_response()
    }
}
