//! `POST /{tenant}/oauth2/v2.0/token` and `POST /{tenant}/oauth2/token`: thin handlers that
//! read the form and hand it to [`super::exchange`].

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use wid_model::aadsts::Aadsts;

use super::MAX_BODY;
use super::error::StsError;
use super::exchange::{Endpoint, TokenParams, exchange};
use crate::body::{BodyError, close_unless_drained, read_capped};
use crate::state::CloudState;

/// `https://host[:port]` as the client addressed us, falling back to the public URL.
pub fn authority_of(s: &CloudState, headers: &HeaderMap) -> String {
    headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b".-:[]".contains(&c))
        })
        .map(|h| format!("https://{h}"))
        .unwrap_or_else(|| s.config.public_url.clone())
}

/// The client's `client-request-id` (echoed by Entra as the correlation id), else a new id.
pub fn correlation_of(headers: &HeaderMap) -> String {
    headers
        .get("client-request-id")
        .or_else(|| headers.get("x-ms-client-request-id"))
        .and_then(|h| h.to_str().ok())
        .filter(|v| wid_model::ids::is_guid(v))
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(wid_model::ids::new_guid)
}

async fn handle(
    s: CloudState,
    tenant: String,
    headers: HeaderMap,
    body: Body,
    endpoint: Endpoint,
) -> Response {
    let authority = authority_of(&s, &headers);
    let correlation_id = correlation_of(&headers);
    s.metrics
        .token_requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Some(resp) = s.faults.take("token") {
        return resp;
    }
    let refuse = |error: Aadsts| {
        StsError {
            error,
            authority: authority.clone(),
            correlation_id: correlation_id.clone(),
            now: s.clock.now(),
        }
        .into_response()
    };
    let bytes = match read_capped(body, MAX_BODY).await {
        Ok(b) => b,
        Err(BodyError::TooLarge { limit, drained }) => {
            let mut resp = refuse(Aadsts::RequestTooLarge { limit });
            close_unless_drained(&mut resp, drained);
            return resp;
        }
        // The client stopped sending: what arrived is no request, as if the body were empty.
        Err(BodyError::Broken) => return refuse(Aadsts::MissingParameter { name: "grant_type" }),
    };
    let authorization = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let params = match TokenParams::from_request(&bytes, authorization) {
        Ok(p) => p,
        Err(e) => return refuse(e),
    };
    match exchange(&s, &tenant, endpoint, &params).await {
        Ok(issued) => {
            let body = match endpoint {
                Endpoint::V2 => json!({
                    "token_type": "Bearer",
                    "expires_in": issued.expires_in,
                    "ext_expires_in": issued.expires_in,
                    "access_token": issued.access_token.expose_str(),
                }),
                Endpoint::V1 => json!({
                    "token_type": "Bearer",
                    "expires_in": issued.expires_in.to_string(),
                    "ext_expires_in": issued.expires_in.to_string(),
                    "expires_on": issued.expires_on.to_string(),
                    "not_before": issued.not_before.to_string(),
                    "resource": issued.resource,
                    "access_token": issued.access_token.expose_str(),
                }),
            };
            let mut resp = Json(body).into_response();
            resp.headers_mut().insert(
                "cache-control",
                HeaderValue::from_static("no-store, no-cache"),
            );
            if let Ok(v) = HeaderValue::from_str(&correlation_id) {
                resp.headers_mut().insert("client-request-id", v);
            }
            resp
        }
        Err(error) => StsError {
            error,
            authority,
            correlation_id,
            now: s.clock.now(),
        }
        .into_response(),
    }
}

/// The v2 endpoint (`scope`).
pub async fn token_v2(
    State(s): State<CloudState>,
    segments: crate::path::Segments,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let tenant = segments.get(0);
    handle(s, tenant, headers, body, Endpoint::V2).await
}

/// The v1 endpoint (`resource`).
pub async fn token_v1(
    State(s): State<CloudState>,
    segments: crate::path::Segments,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let tenant = segments.get(0);
    handle(s, tenant, headers, body, Endpoint::V1).await
}
