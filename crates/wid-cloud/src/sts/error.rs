//! The AADSTS error body on the wire.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use wid_model::aadsts::Aadsts;
use wid_model::time_fmt::aadsts_timestamp;

/// An AADSTS error with the request's trace and correlation ids and the time.
#[derive(Debug)]
pub struct StsError {
    /// The error.
    pub error: Aadsts,
    /// The authority (`https://host:port`) for `error_uri`.
    pub authority: String,
    /// The correlation id (the client's `client-request-id`, else new).
    pub correlation_id: String,
    /// Unix time of the failure.
    pub now: i64,
}

impl IntoResponse for StsError {
    fn into_response(self) -> Response {
        let trace_id = wid_model::ids::new_guid();
        let ts = aadsts_timestamp(self.now);
        let code = self.error.code();
        let description = format!(
            "{} Trace ID: {trace_id} Correlation ID: {} Timestamp: {ts}",
            self.error.message(),
            self.correlation_id
        );
        tracing::info!(code, error = self.error.error(), correlation_id = %self.correlation_id, "token request refused");
        let body = json!({
            "error": self.error.error(),
            "error_description": description,
            "error_codes": [code],
            "timestamp": ts,
            "trace_id": trace_id,
            "correlation_id": self.correlation_id,
            "error_uri": format!("{}/error?code={code}", self.authority),
        });
        let status = StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut resp = (status, Json(body)).into_response();
        resp.extensions_mut().insert(AadstsCode(code));
        let h = resp.headers_mut();
        h.insert(
            "cache-control",
            HeaderValue::from_static("no-store, no-cache"),
        );
        if let Ok(v) = HeaderValue::from_str(&trace_id) {
            h.insert("x-ms-request-id", v);
        }
        resp
    }
}

/// The AADSTS code of a refused token request, as a response extension: what the request
/// metrics count exchanges by (the body is not read again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AadstsCode(pub u32);
