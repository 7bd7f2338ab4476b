//! The request size limit of the API, answered in Airflow's shape: a body over
//! [`MAX_BODY`] gets 413 `{"detail": ...}`, and is read on and discarded (up to
//! [`DRAIN_LIMIT`] bytes and [`DRAIN_TIME`]) so that a client still sending reads the answer
//! rather than a reset connection.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::error::ApiError;

/// Largest request body, bytes (a 1 MB `extra` fits).
pub const MAX_BODY: usize = 2 * 1024 * 1024;
/// Most bytes read and discarded after the limit before the connection is given up.
pub const DRAIN_LIMIT: usize = 16 * 1024 * 1024;
/// Longest time spent discarding an oversized body.
pub const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Middleware: buffers the body up to [`MAX_BODY`], or answers 413.
pub async fn limit(request: Request, next: Next) -> Response {
    let (parts, mut body) = request.into_parts();
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return ApiError::bad_request("The request body could not be read.").into_response();
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if buf.len() + data.len() > MAX_BODY {
            let seen = buf.len() + data.len();
            let drained = tokio::time::timeout(DRAIN_TIME, drain(&mut body, seen))
                .await
                .unwrap_or(false);
            let mut resp = ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("The request body is larger than {MAX_BODY} bytes."),
            )
            .into_response();
            if !drained {
                resp.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            return resp;
        }
        buf.extend_from_slice(&data);
    }
    next.run(Request::from_parts(parts, Body::from(buf))).await
}

/// Reads and discards the rest of `body`; true when it ended within [`DRAIN_LIMIT`].
async fn drain(body: &mut Body, mut seen: usize) -> bool {
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return false };
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen > DRAIN_LIMIT {
                return false;
            }
        }
    }
    true
}
