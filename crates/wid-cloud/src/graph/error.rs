//! Microsoft Graph's error body: `{"error":{"code","message","innerError":{...}}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A Graph error with Graph's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error.code`, e.g. `Request_BadRequest`.
    pub code: &'static str,
    /// `error.message`.
    pub message: String,
}

impl GraphError {
    /// 400 `Request_BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "Request_BadRequest",
            message: message.into(),
        }
    }

    /// 400 for an invalid property value, in Graph's words.
    pub fn invalid_property(property: &str) -> Self {
        Self::bad_request(format!(
            "Invalid value specified for property '{property}' of resource 'Application'."
        ))
    }

    /// 401 `InvalidAuthenticationToken`.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "InvalidAuthenticationToken",
            message: message.into(),
        }
    }

    /// 403 `Authorization_RequestDenied`.
    pub fn denied() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "Authorization_RequestDenied",
            message: "Insufficient privileges to complete the operation.".into(),
        }
    }

    /// 404 `Request_ResourceNotFound`, in Graph's words.
    pub fn not_found(id: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "Request_ResourceNotFound",
            message: format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        }
    }

    /// 503 when the store failed.
    pub fn unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "serviceNotAvailable",
            message: "The service is temporarily unavailable. Retry the request.".into(),
        }
    }

    /// 413 for a body over [`super::MAX_BODY`].
    pub fn too_large() -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "Request_EntityTooLarge",
            message: format!("The request body is larger than {} bytes.", super::MAX_BODY),
        }
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let request_id = wid_model::ids::new_guid();
        (
            self.status,
            Json(json!({"error": {
                "code": self.code,
                "message": self.message,
                "innerError": {"request-id": request_id, "client-request-id": request_id},
            }})),
        )
            .into_response()
    }
}
