//! Test support that a local stand-in can offer and the real cloud cannot: counters of
//! token requests, and injected failures (Entra throttling with `Retry-After`, outages; ARM
//! refusing a token as expired), so that clients' caching and retries are tested over the
//! wire.
//!
//! `GET /_wid/stats` and `POST /_wid/faults` (administrator only).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::state::CloudState;

/// Counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Requests that reached a token endpoint.
    pub token_requests: AtomicU64,
    /// When set, ARM requests are recorded in `arm_requests` (tests check their shapes).
    pub record_arm: std::sync::atomic::AtomicBool,
    /// Recorded ARM requests (method, path, query, body), when `record_arm` is set. Bodies of
    /// ARM requests carry no secrets.
    pub arm_requests: Mutex<Vec<ArmRecord>>,
}

/// One recorded ARM request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmRecord {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string.
    pub query: String,
    /// The body.
    pub body: String,
}

/// One injected failure.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Fault {
    /// Which endpoint: `token` (the token service), or `arm` (an authenticated ARM request;
    /// a 401 is ARM's `ExpiredAuthenticationToken`).
    pub target: String,
    /// The HTTP status to answer (429, 500, 503...).
    pub status: u16,
    /// `Retry-After` in seconds, if any.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// How many requests it answers.
    pub count: u32,
}

/// Pending failures.
#[derive(Debug, Default)]
pub struct Faults {
    /// Whether any failure is pending: the token endpoint checks this without locking.
    armed: std::sync::atomic::AtomicBool,
    pending: Mutex<Vec<Fault>>,
}

impl Faults {
    /// Adds a failure.
    pub fn add(&self, f: Fault) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(f);
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Answers a request to `target` with a pending failure, if one is due.
    pub fn take(&self, target: &str) -> Option<Response> {
        if !self.armed.load(Ordering::Relaxed) {
            return None;
        }
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let i = p.iter().position(|f| f.target == target && f.count > 0)?;
        let f = p[i].clone();
        p[i].count -= 1;
        if p[i].count == 0 {
            p.remove(i);
        }
        if p.is_empty() {
            self.armed.store(false, Ordering::SeqCst);
        }
        drop(p);
        let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        if f.target == "arm" {
            let (code, message) = if f.status == 401 {
                (
                    "ExpiredAuthenticationToken",
                    "The access token has expired. Acquire a new one and retry.",
                )
            } else {
                (
                    "ServiceUnavailable",
                    "The service is temporarily unavailable. Please try again later.",
                )
            };
            return Some(
                (
                    status,
                    Json(json!({"error": {"code": code, "message": message}})),
                )
                    .into_response(),
            );
        }
        let (error, text) = if f.status == 429 {
            (
                "temporarily_unavailable",
                "AADSTS50196: The server terminated an operation because it encountered a client request loop. Please contact your app vendor.",
            )
        } else {
            (
                "temporarily_unavailable",
                "AADSTS90033: A transient error has occurred. Please try again.",
            )
        };
        let mut resp = (
            status,
            Json(json!({"error": error, "error_description": text})),
        )
            .into_response();
        if let Some(s) = f.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            resp.headers_mut().insert("retry-after", v);
        }
        Some(resp)
    }
}

/// Routes under `/_wid/`.
pub fn router() -> Router<CloudState> {
    Router::new()
        .route("/_wid/stats", get(stats))
        .route("/_wid/faults", post(add_fault))
}

async fn stats(State(s): State<CloudState>) -> Json<serde_json::Value> {
    Json(json!({"token_requests": s.metrics.token_requests.load(Ordering::Relaxed)}))
}

async fn add_fault(
    State(s): State<CloudState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = crate::issuer::admin_only(&s, &headers).await {
        return r;
    }
    match serde_json::from_slice::<Fault>(&body) {
        Ok(f)
            if (f.target == "token" || f.target == "arm")
                && (400..600).contains(&f.status)
                && f.count <= 1000 =>
        {
            s.faults.add(f.clone());
            (StatusCode::CREATED, Json(f)).into_response()
        }
        Ok(_) => (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": "target must be 'token' or 'arm', status 400-599, count at most 1000"}),
            ),
        )
            .into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("not a fault: {e}")})),
        )
            .into_response(),
    }
}
