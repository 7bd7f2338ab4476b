//! `POST /{tenant}/oauth2/v2.0/token` and `POST /{tenant}/oauth2/token`: thin handlers that
//! read the form and hand it to [`super::exchange`].

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use wid_model::aadsts::Aadsts;

use super::MAX_BODY;
use super::error::StsError;
use super::exchange::{Endpoint, IssuedToken, TokenParams, exchange};
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
            let mut resp = (
                [(
                    axum::http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                success_body(endpoint, &issued),
            )
                .into_response();
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

/// The body of an issued token, in Entra's field order. The v2 body is written straight
/// into one buffer: its only string of any length is the access token, a compact JWS
/// (base64url and dots) with nothing to escape. The v1 body (strings for numbers, and the
/// resource, which may need escaping) goes through serde_json.
fn success_body(endpoint: Endpoint, issued: &IssuedToken) -> Vec<u8> {
    let token = issued.access_token.expose_str();
    let plain = is_jws_text(token.as_bytes());
    let body = match endpoint {
        Endpoint::V2 if plain => {
            let expires_in = issued.expires_in.to_string();
            let mut body = Vec::with_capacity(token.len() + 96);
            body.extend_from_slice(br#"{"token_type":"Bearer","expires_in":"#);
            body.extend_from_slice(expires_in.as_bytes());
            body.extend_from_slice(br#","ext_expires_in":"#);
            body.extend_from_slice(expires_in.as_bytes());
            body.extend_from_slice(br#","access_token":""#);
            body.extend_from_slice(token.as_bytes());
            body.extend_from_slice(br#""}"#);
            Ok(body)
        }
        Endpoint::V2 => serde_json::to_vec(&V2Body {
            token_type: "Bearer",
            expires_in: issued.expires_in,
            ext_expires_in: issued.expires_in,
            access_token: token,
        }),
        Endpoint::V1 => serde_json::to_vec(&V1Body {
            token_type: "Bearer",
            expires_in: issued.expires_in.to_string(),
            ext_expires_in: issued.expires_in.to_string(),
            expires_on: issued.expires_on.to_string(),
            not_before: issued.not_before.to_string(),
            resource: &issued.resource,
            access_token: token,
        }),
    };
    body.unwrap_or_default()
}

/// Whether `text` holds only base64url characters and dots (a compact JWS), so that it can
/// stand in a JSON string as it is. Branch-free over the bytes, so it compiles to vector
/// compares (a per-byte early exit cost more than the JSON escaping it saves).
fn is_jws_text(text: &[u8]) -> bool {
    text.iter().fold(true, |ok, &b| {
        ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_') | (b == b'.'))
    })
}

/// The v2 success body, in Entra's order.
#[derive(serde::Serialize)]
struct V2Body<'a> {
    token_type: &'static str,
    expires_in: i64,
    ext_expires_in: i64,
    access_token: &'a str,
}

/// The v1 success body, in Entra's order: numbers as strings, as the v1 endpoint sends them.
#[derive(serde::Serialize)]
struct V1Body<'a> {
    token_type: &'static str,
    expires_in: String,
    ext_expires_in: String,
    expires_on: String,
    not_before: String,
    resource: &'a str,
    access_token: &'a str,
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

#[cfg(test)]
mod tests {
    use super::*;
    use wid_model::secret::Secret;

    fn issued(token: &str) -> IssuedToken {
        IssuedToken {
            access_token: Secret::from(token.to_string()),
            expires_in: 86_399,
            expires_on: 1_800_086_399,
            not_before: 1_799_999_700,
            resource: "https://management.azure.com/\"q\"".into(),
        }
    }

    #[test]
    fn the_written_v2_body_is_the_json_serde_writes() {
        let jws = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_0";
        let written = success_body(Endpoint::V2, &issued(jws));
        let i = issued(jws);
        let serde = serde_json::to_vec(&V2Body {
            token_type: "Bearer",
            expires_in: i.expires_in,
            ext_expires_in: i.expires_in,
            access_token: jws,
        })
        .unwrap();
        assert_eq!(
            String::from_utf8(written).unwrap(),
            String::from_utf8(serde).unwrap()
        );
        assert!(is_jws_text(jws.as_bytes()));
        for odd in ["a\"b", "a\\b", "a\nb", "a b", "a+b", "a/b", "a=b", "\u{e9}"] {
            assert!(!is_jws_text(odd.as_bytes()), "{odd:?}");
        }
        // A token with a character JSON must escape (never issued) still makes valid JSON.
        let odd = success_body(Endpoint::V2, &issued("a\"b\\c"));
        let v: serde_json::Value = serde_json::from_slice(&odd).unwrap();
        assert_eq!(v["access_token"], "a\"b\\c");
        assert_eq!(v["expires_in"], 86_399);
    }

    #[test]
    fn the_v1_body_has_string_numbers_and_an_escaped_resource() {
        let body = success_body(Endpoint::V1, &issued("x.y.z"));
        let text = String::from_utf8(body).unwrap();
        assert!(
            text.starts_with(r#"{"token_type":"Bearer","expires_in":"86399","#),
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["resource"], "https://management.azure.com/\"q\"");
        assert_eq!(v["expires_on"], "1800086399");
        assert_eq!(v["not_before"], "1799999700");
    }
}
