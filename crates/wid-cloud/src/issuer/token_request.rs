//! `POST /issuer/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token`: the Kubernetes
//! TokenRequest API, which is how the kubelet gets the projected token it writes into a pod.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use wid_model::federated::{service_account_subject, validate_k8s_name};
use wid_model::secret::Secret;
use wid_model::time_fmt::rfc3339;

use crate::auth::verify_bearer;
use crate::keys::Purpose;
use crate::state::CloudState;

/// Shortest allowed lifetime, as the workload identity webhook allows.
pub const MIN_EXPIRATION: i64 = 3600;
/// Longest allowed lifetime.
pub const MAX_EXPIRATION: i64 = 86_400;
const DEFAULT_AUDIENCE: &str = "api://AzureADTokenExchange";

/// The TokenRequest body (`authentication.k8s.io/v1`); every field optional.
#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    #[serde(default)]
    spec: TokenRequestSpec,
}

/// `spec` of a TokenRequest.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequestSpec {
    #[serde(default)]
    audiences: Vec<String>,
    #[serde(default)]
    expiration_seconds: Option<i64>,
    #[serde(default)]
    bound_object_ref: Option<BoundObjectRef>,
}

/// The pod a token is bound to.
#[derive(Debug, Default, Deserialize, Clone)]
pub struct BoundObjectRef {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    uid: String,
}

/// A Kubernetes `Status` error body.
pub fn k8s_status(code: StatusCode, reason: &str, message: &str) -> Response {
    (
        code,
        Json(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code.as_u16(),
        })),
    )
        .into_response()
}

/// Lets through only wid's administrator application (its token from the stand-in STS).
pub async fn admin_only(s: &CloudState, headers: &HeaderMap) -> Result<(), Response> {
    let caller = verify_bearer(s, headers).await.map_err(|e| {
        k8s_status(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            &format!("Unauthorized: {e:?}; send a bearer token of the wid administrator"),
        )
    })?;
    // Only a token meant for wid itself (ARM, as the CLI asks for, or wid's API) is an
    // administrator's credential here; the same principal's token for Storage is not.
    let audience = caller.audience.as_str();
    if !wid_model::cloud::ARM_AUDIENCES.contains(&audience) && audience != "api://wid" {
        return Err(k8s_status(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            &format!(
                "Unauthorized: the token's audience '{audience}' is not wid's; send a token for https://management.azure.com/ (what `wid` gets) or api://wid"
            ),
        ));
    }
    // The administrator application of bootstrap, not any application: service principals
    // with certificates are applications too, and get no administration.
    if caller
        .app_id
        .eq_ignore_ascii_case(&s.defaults.admin_client_id)
        && caller.tenant_id.eq_ignore_ascii_case(&s.defaults.tenant_id)
    {
        return Ok(());
    }
    Err(k8s_status(
        StatusCode::FORBIDDEN,
        "Forbidden",
        &format!(
            "principal '{}' is not the wid administrator and cannot request service-account tokens",
            caller.object_id
        ),
    ))
}

/// A stable uid for a service account, derived from its namespace and name.
fn sa_uid(namespace: &str, sa: &str) -> String {
    let h = wid_jose::sha256_hex(format!("serviceaccount:{namespace}:{sa}").as_bytes());
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Mints a projected service-account token: the claims the kubelet's token has.
pub fn mint(
    s: &CloudState,
    namespace: &str,
    service_account: &str,
    audiences: &[String],
    lifetime: i64,
    pod: Option<(&str, &str)>,
) -> Result<(Secret, i64), String> {
    validate_k8s_name("namespace", namespace)?;
    validate_k8s_name("service account", service_account)?;
    if !(MIN_EXPIRATION..=MAX_EXPIRATION).contains(&lifetime) {
        return Err(format!(
            "expirationSeconds {lifetime} is out of range: the workload identity webhook allows {MIN_EXPIRATION} to {MAX_EXPIRATION} seconds"
        ));
    }
    let now = s.clock.now();
    let exp = now + lifetime;
    let mut k8s = json!({
        "namespace": namespace,
        "serviceaccount": {"name": service_account, "uid": sa_uid(namespace, service_account)},
    });
    if let Some((name, uid)) = pod {
        k8s["pod"] = json!({"name": name, "uid": uid});
    }
    let aud: Vec<String> = if audiences.is_empty() {
        vec![DEFAULT_AUDIENCE.into()]
    } else {
        audiences.to_vec()
    };
    let claims = json!({
        "aud": aud,
        "exp": exp,
        "iat": now,
        "iss": s.config.issuer_url(),
        "jti": wid_model::ids::new_guid(),
        "kubernetes.io": k8s,
        "nbf": now,
        "sub": service_account_subject(namespace, service_account),
    });
    let token = s
        .keys
        .active(Purpose::Issuer)
        .sign_jwt(&claims, &[])
        .map_err(|e| e.to_string())?;
    Ok((Secret::from(token), exp))
}

/// Handles a TokenRequest.
pub async fn create(
    State(s): State<CloudState>,
    segments: crate::path::Segments,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (namespace, service_account) = (segments.get(0), segments.get(1));
    if let Err(r) = admin_only(&s, &headers).await {
        return r;
    }
    let req: TokenRequest = if body.is_empty() {
        TokenRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return k8s_status(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!("the TokenRequest body is not valid: {e}"),
                );
            }
        }
    };
    let lifetime = req.spec.expiration_seconds.unwrap_or(MIN_EXPIRATION);
    let pod = req
        .spec
        .bound_object_ref
        .clone()
        .filter(|b| b.kind == "Pod" && !b.name.is_empty());
    let pod_ref = pod.as_ref().map(|p| (p.name.as_str(), p.uid.as_str()));
    match mint(
        &s,
        &namespace,
        &service_account,
        &req.spec.audiences,
        lifetime,
        pod_ref,
    ) {
        Ok((token, exp)) => {
            let aud: Vec<String> = if req.spec.audiences.is_empty() {
                vec![DEFAULT_AUDIENCE.into()]
            } else {
                req.spec.audiences.clone()
            };
            let body: Value = json!({
                "kind": "TokenRequest",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": service_account, "namespace": namespace},
                "spec": {"audiences": aud, "expirationSeconds": lifetime, "boundObjectRef": null},
                "status": {"token": token.expose_str(), "expirationTimestamp": rfc3339(exp)},
            });
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Err(msg) => k8s_status(StatusCode::BAD_REQUEST, "BadRequest", &msg),
    }
}
