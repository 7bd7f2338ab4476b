//! Azure Resource Manager, the identity part: subscriptions, resource groups, user-assigned
//! identities and their federated identity credentials, with ARM's paths, api-versions,
//! status codes, bodies, errors and bearer-token authentication.
//!
//! ARM matches path segments case-insensitively, so one catch-all route parses the path
//! with [`wid_model::arm_path::ArmPath`] and dispatches on it.

mod access;
mod error;
mod federated_credentials;
mod identities;
pub mod metadata;
mod resource_groups;
mod role_assignments;
mod role_definitions;
mod subscriptions;

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use wid_model::arm_api::ResourceType;
use wid_model::arm_path::ArmPath;
use wid_model::cloud::ARM_AUDIENCES;

use crate::auth::{AuthError, Caller, verify_bearer};
use crate::state::CloudState;

pub use error::ArmError;

/// Largest ARM request body accepted, in bytes.
pub const MAX_BODY: usize = 256 * 1024;

/// Routes under `/subscriptions`, and the cloud metadata document.
pub fn router() -> Router<CloudState> {
    Router::new()
        .route(
            "/metadata/endpoints",
            axum::routing::get(metadata::endpoints),
        )
        .route("/subscriptions", any(dispatch))
        .route("/subscriptions/{*rest}", any(dispatch))
}

/// One ARM request, parsed and authenticated.
#[derive(Debug)]
pub struct ArmRequest {
    /// The HTTP method.
    pub method: Method,
    /// The request path as sent.
    pub path: String,
    /// `api-version`.
    pub api_version: String,
    /// All query parameters.
    pub query: HashMap<String, String>,
    /// The body.
    pub body: axum::body::Bytes,
    /// `https://host[:port]` as the client addressed us, for `nextLink` and `Location`.
    pub base: String,
    /// The verified caller.
    pub caller: Caller,
    /// The caller's role assignments in the request's subscription.
    pub access: access::Access,
}

impl ArmRequest {
    /// Parses the body as JSON, or answers ARM's `InvalidRequestContent`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ArmError> {
        let text = if self.body.is_empty() {
            &b"{}"[..]
        } else {
            &self.body[..]
        };
        serde_json::from_slice(text).map_err(|e| {
            ArmError::bad_request(
                "InvalidRequestContent",
                format!("The request content was invalid and could not be deserialized: '{e}'."),
            )
        })
    }
}

async fn authenticate(s: &CloudState, headers: &HeaderMap) -> Result<Caller, ArmError> {
    let caller = verify_bearer(s, headers).await.map_err(|e| match e {
        AuthError::Missing => ArmError::unauthorized(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ),
        AuthError::Invalid(_) => {
            ArmError::unauthorized("InvalidAuthenticationToken", "The access token is invalid.")
        }
        AuthError::Expired { expires, now } => ArmError::unauthorized(
            "ExpiredAuthenticationToken",
            format!(
                "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                wid_model::time_fmt::arm_utc(expires),
                wid_model::time_fmt::arm_utc(now)
            ),
        ),
    })?;
    if !ARM_AUDIENCES.contains(&caller.audience.as_str()) {
        let allowed = ARM_AUDIENCES
            .iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(",");
        return Err(ArmError::unauthorized(
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{}'. It should exactly match with one of the allowed audiences {allowed}.",
                caller.audience
            ),
        ));
    }
    Ok(caller)
}

fn subscription_in(p: &ArmPath) -> Option<&str> {
    use ArmPath::*;
    match p {
        Subscriptions => None,
        Subscription { sub }
        | ResourceGroups { sub }
        | ResourceGroup { sub, .. }
        | IdentitiesInSubscription { sub }
        | IdentitiesInGroup { sub, .. }
        | Identity { sub, .. }
        | FederatedCredentials { sub, .. }
        | FederatedCredential { sub, .. }
        | RoleDefinitions { sub, .. }
        | RoleAssignments { sub, .. } => Some(sub),
    }
}

/// Checks that the caller's tenant owns the subscription.
pub async fn subscription_of(
    s: &CloudState,
    req: &ArmRequest,
    sub: &str,
) -> Result<wid_store::Subscription, ArmError> {
    let found = s
        .store
        .get_subscription(sub)
        .await
        .map_err(ArmError::internal)?;
    let Some(found) = found else {
        return Err(ArmError::not_found(
            "SubscriptionNotFound",
            format!("The subscription '{sub}' could not be found."),
        ));
    };
    if found.tenant_id != req.caller.tenant_id {
        return Err(ArmError::unauthorized(
            "InvalidAuthenticationTokenTenant",
            format!(
                "The access token is from the wrong issuer 'https://sts.windows.net/{}/'. It must match the tenant 'https://sts.windows.net/{}/' associated with this subscription. Please use the authority (URL) '{}/{}' to get the token.",
                req.caller.tenant_id, found.tenant_id, req.base, found.tenant_id
            ),
        ));
    }
    Ok(found)
}

async fn dispatch(State(s): State<CloudState>, request: Request) -> Response {
    match handle(&s, request).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn handle(s: &CloudState, request: Request) -> Result<Response, ArmError> {
    let (parts, body) = request.into_parts();
    let Some(path) = ArmPath::parse(parts.uri.path()) else {
        return Err(ArmError::not_found(
            "InvalidResourceType",
            format!(
                "The resource type could not be found for the path '{}'.",
                parts.uri.path()
            ),
        ));
    };
    let caller = authenticate(s, &parts.headers).await?;
    if let Some(injected) = s.faults.take("arm") {
        return Ok(injected);
    }
    let query: HashMap<String, String> = parts
        .uri
        .query()
        .map(|q| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .unwrap_or_default()
                .into_iter()
                .collect()
        })
        .unwrap_or_default();
    let Some(api_version) = query.get("api-version").cloned() else {
        return Err(ArmError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    let body = match crate::body::read_capped(Body::new(body), MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            let drained = matches!(e, crate::body::BodyError::TooLarge { drained: true, .. });
            let mut resp = ArmError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!("The request content size exceeds the maximum of {MAX_BODY} bytes."),
            )
            .into_response();
            crate::body::close_unless_drained(&mut resp, drained);
            return Ok(resp);
        }
    };
    // ARM checks the api-version for the resource type before the provider sees the request.
    let location = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("location")
                .and_then(|l| l.as_str())
                .map(str::to_string)
        });
    let rtype = ResourceType::of(&path);
    rtype
        .check(
            &api_version,
            location.as_deref().unwrap_or(rtype.default_location()),
        )
        .map_err(|e| ArmError::bad_request(e.code, e.message))?;
    if s.metrics
        .record_arm
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        s.metrics
            .arm_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(crate::faults::ArmRecord {
                method: parts.method.to_string(),
                path: parts.uri.path().to_string(),
                query: parts.uri.query().unwrap_or("").to_string(),
                body: String::from_utf8_lossy(&body).into_owned(),
            });
    }
    let base = crate::sts::authority_base(s, &parts.headers);
    let mut req = ArmRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        api_version,
        query,
        body,
        base,
        access: access::Access {
            principal: caller.object_id.clone(),
            assignments: Vec::new(),
        },
        caller,
    };
    use ArmPath::*;
    // Authorization, as ARM does it: the subscription and the token's tenant first, then the
    // caller's role assignments against the action at the scope. Lists filter instead.
    if let Some(sub) = subscription_in(&path) {
        subscription_of(s, &req, sub).await?;
        req.access.assignments = s
            .store
            .list_role_assignments(&sub.to_ascii_lowercase(), Some(&req.caller.object_id))
            .await
            .map_err(ArmError::internal)?;
        let filtered = matches!(
            path,
            ResourceGroups { .. } | IdentitiesInSubscription { .. } | IdentitiesInGroup { .. }
        );
        if !filtered {
            let (action, scope) = path.action(req.method.as_str());
            req.access.require(&action, &scope)?;
        }
    }
    match path {
        RoleDefinitions { sub, id, .. } => {
            role_definitions::handle(s, &req, &sub, id.as_deref()).await
        }
        RoleAssignments { sub, rg, name } => {
            role_assignments::handle(s, &req, &sub, rg.as_deref(), name.as_deref()).await
        }
        Subscriptions => subscriptions::list(s, &req).await,
        Subscription { sub } => subscriptions::get(s, &req, &sub).await,
        ResourceGroups { sub } => resource_groups::list(s, &req, &sub).await,
        ResourceGroup { sub, rg } => resource_groups::one(s, &req, &sub, &rg).await,
        IdentitiesInSubscription { sub } => identities::list(s, &req, &sub, None).await,
        IdentitiesInGroup { sub, rg } => identities::list(s, &req, &sub, Some(&rg)).await,
        Identity { sub, rg, name } => identities::one(s, &req, &sub, &rg, &name).await,
        FederatedCredentials { sub, rg, identity } => {
            federated_credentials::list(s, &req, &sub, &rg, &identity).await
        }
        FederatedCredential {
            sub,
            rg,
            identity,
            name,
        } => federated_credentials::one(s, &req, &sub, &rg, &identity, &name).await,
    }
}
