//! ARM's error body: `{"error":{"code","message"}}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An ARM error with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmError {
    /// HTTP status.
    pub status: StatusCode,
    /// ARM error code.
    pub code: String,
    /// ARM error message.
    pub message: String,
}

impl ArmError {
    /// Any status.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }
    /// 400.
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// 401 (with `WWW-Authenticate`).
    pub fn unauthorized(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }
    /// 404.
    pub fn not_found(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
    /// 409.
    pub fn conflict(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    /// 405 for a method the resource does not support.
    pub fn method_not_allowed(method: &axum::http::Method) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("The requested resource does not support http method '{method}'."),
        )
    }
    /// 500 for a store failure; the detail goes to the log, not to the client.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "ARM request failed in the store");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Encountered internal server error. See the wid server log.",
        )
    }
}

impl From<wid_model::federated::RuleError> for ArmError {
    fn from(e: wid_model::federated::RuleError) -> Self {
        ArmError::bad_request(e.code, e.message)
    }
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            let v = format!(
                "Bearer authorization_uri=\"https://login.windows.net/\", error=\"invalid_token\", error_description=\"{}\"",
                self.message.replace('"', "'")
            );
            if let Ok(v) = HeaderValue::from_str(&v) {
                resp.headers_mut().insert("www-authenticate", v);
            }
        }
        resp
    }
}
