//! Errors in FastAPI's shape, as Airflow 3's API returns them: `{"detail": ...}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An API error: status and `detail` (a string, or a list for 422).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// `detail`.
    pub detail: Value,
}

impl ApiError {
    /// Any status with a text detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: Value::String(detail.into()),
        }
    }
    /// 400.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }
    /// 404 for a connection.
    pub fn not_found(conn_id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("The Connection with connection_id: `{conn_id}` was not found"),
        )
    }
    /// 409 for a duplicate id, in Airflow's shape.
    pub fn conflict(conn_id: &str) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            detail: json!({
                "reason": "Unique constraint violation",
                "statement": "hidden",
                "orig_error": "hidden",
                "message": format!("A connection with connection_id `{conn_id}` already exists. Use PATCH to change it, or delete it first."),
            }),
        }
    }
    /// 422 with one pydantic-style item.
    pub fn unprocessable(kind: &str, loc: &[&str], msg: impl Into<String>, input: Value) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: json!([{"type": kind, "loc": loc, "msg": msg.into(), "input": input}]),
        }
    }
    /// 401.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }
    /// 403.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }
    /// 500 for a store failure; the detail goes to the log only.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "connections API failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error; see the wid server log.",
        )
    }
}

impl From<wid_store::StoreError> for ApiError {
    fn from(e: wid_store::StoreError) -> Self {
        match e {
            wid_store::StoreError::ReadOnly(m) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "The database is read-only ({m}); nothing was changed. Give wid write access to its data directory."
                ),
            ),
            // What the request asked for cannot be done (a pattern of too many terms, a
            // connection without a type): the caller's to fix, so a 400 that says why.
            wid_store::StoreError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, m),
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(json!({"detail": self.detail}))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert("www-authenticate", HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
