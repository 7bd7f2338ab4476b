//! Instance discovery, tenant OIDC discovery and the token service's JWKS.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use wid_model::aadsts::Aadsts;

use super::error::StsError;
use super::token::{authority_of, correlation_of};
use crate::keys::Purpose;
use crate::state::CloudState;

const CLAIMS: [&str; 16] = [
    "sub",
    "iss",
    "cloud_instance_name",
    "cloud_instance_host_name",
    "cloud_graph_host_name",
    "msgraph_host",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "acr",
    "nonce",
    "preferred_username",
    "name",
    "tid",
    "ver",
];

/// Resolves a path tenant for discovery: a known tenant id, or `common`/`organizations`/
/// `consumers`, which discovery answers with the `{tenantid}` placeholder as Entra does.
async fn discovery_tenant(s: &CloudState, tenant: &str) -> Result<String, Aadsts> {
    if ["common", "organizations", "consumers"].contains(&tenant.to_ascii_lowercase().as_str()) {
        return Ok("{tenantid}".into());
    }
    match s.store.get_tenant(tenant).await {
        Ok(Some(t)) => Ok(t.id),
        _ => Err(Aadsts::TenantNotFound {
            tenant: tenant.into(),
        }),
    }
}

fn err(s: &CloudState, headers: &HeaderMap, error: Aadsts) -> Response {
    StsError {
        error,
        authority: authority_of(s, headers),
        correlation_id: correlation_of(headers),
        now: s.clock.now(),
    }
    .into_response()
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub async fn openid_configuration_v2(
    State(s): State<CloudState>,
    segments: crate::path::Segments,
    headers: HeaderMap,
) -> Response {
    let tenant = segments.get(0);
    let tid = match discovery_tenant(&s, &tenant).await {
        Ok(t) => t,
        Err(e) => return err(&s, &headers, e),
    };
    let a = authority_of(&s, &headers);
    let host = a.trim_start_matches("https://").to_string();
    let path_tenant = if tid == "{tenantid}" {
        tenant.clone()
    } else {
        tid.clone()
    };
    Json(json!({
        "token_endpoint": format!("{a}/{path_tenant}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{a}/{path_tenant}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{a}/{tid}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": format!("{a}/{path_tenant}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{a}/{path_tenant}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{a}/{path_tenant}/oauth2/v2.0/logout"),
        "claims_supported": CLAIMS,
        "kerberos_endpoint": format!("{a}/{path_tenant}/kerberos"),
        "tenant_region_scope": "NA",
        "cloud_instance_name": host,
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }))
    .into_response()
}

/// `GET /{tenant}/.well-known/openid-configuration` (v1).
pub async fn openid_configuration_v1(
    State(s): State<CloudState>,
    segments: crate::path::Segments,
    headers: HeaderMap,
) -> Response {
    let tenant = segments.get(0);
    let tid = match discovery_tenant(&s, &tenant).await {
        Ok(t) => t,
        Err(e) => return err(&s, &headers, e),
    };
    let a = authority_of(&s, &headers);
    let path_tenant = if tid == "{tenantid}" {
        tenant.clone()
    } else {
        tid.clone()
    };
    Json(json!({
        "token_endpoint": format!("{a}/{path_tenant}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{a}/{path_tenant}/discovery/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "scopes_supported": ["openid"],
        "issuer": format!("https://sts.windows.net/{tid}/"),
        "authorization_endpoint": format!("{a}/{path_tenant}/oauth2/authorize"),
        "claims_supported": CLAIMS,
    }))
    .into_response()
}

/// `GET /{tenant}/discovery/v2.0/keys` and `/{tenant}/discovery/keys`.
pub async fn keys(State(s): State<CloudState>) -> Json<wid_jose::JwkSet> {
    s.refresh_keys().await;
    let mut set = s.keys.jwks(Purpose::Sts, s.clock.now());
    for k in &mut set.keys {
        // Entra publishes x5t equal to kid.
        k.common.x509_sha1_fingerprint = k.common.key_id.clone();
    }
    Json(set)
}

/// Query of instance discovery.
#[derive(Debug, Deserialize)]
pub struct InstanceQuery {
    #[serde(default)]
    authorization_endpoint: Option<String>,
}

/// `GET /common/discovery/instance`.
pub async fn instance(
    State(s): State<CloudState>,
    headers: HeaderMap,
    Query(q): Query<InstanceQuery>,
) -> Response {
    let a = authority_of(&s, &headers);
    let host = a.trim_start_matches("https://").to_string();
    let mut tenant = "common".to_string();
    if let Some(ep) = &q.authorization_endpoint {
        let rest = ep.strip_prefix("https://").unwrap_or(ep);
        let mut parts = rest.split('/');
        let ep_host = parts.next().unwrap_or("");
        if !ep_host.eq_ignore_ascii_case(&host) {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({
                    "error": "invalid_instance",
                    "error_description": format!("AADSTS50049: Unknown or invalid instance. The authority host '{ep_host}' is not served here; this stand-in serves '{host}'."),
                    "error_codes": [50049],
                })),
            )
                .into_response();
        }
        if let Some(t) = parts.next().filter(|t| !t.is_empty()) {
            tenant = t.to_string();
        }
    }
    Json(json!({
        "tenant_discovery_endpoint": format!("{a}/{tenant}/v2.0/.well-known/openid-configuration"),
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }))
    .into_response()
}
