//! `POST`, `GET /v1.0/applications` and `DELETE /v1.0/applications/{id}`: applications
//! registered as resource principals, with their identifier URIs.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use wid_model::resources::{first_party, is_valid_identifier_uri, resource_key};
use wid_store::{ResourceApp, StoreError};

use super::MAX_BODY;
use super::error::GraphError;
use crate::body::{BodyError, close_unless_drained, read_capped};
use crate::state::CloudState;

/// The properties of an application that wid keeps; any other is refused, as Graph refuses
/// a property its type does not have.
const PROPERTIES: [&str; 3] = ["displayName", "identifierUris", "signInAudience"];

/// A request to register an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterApplication {
    /// `displayName`.
    pub display_name: String,
    /// `identifierUris`.
    pub identifier_uris: Vec<String>,
}

impl RegisterApplication {
    /// From a Graph request body.
    pub fn from_json(v: &Value) -> Result<Self, GraphError> {
        let Some(obj) = v.as_object() else {
            return Err(GraphError::bad_request(
                "Invalid request body: expected a JSON object.",
            ));
        };
        if let Some(k) = obj.keys().find(|k| !PROPERTIES.contains(&k.as_str())) {
            return Err(GraphError::bad_request(format!(
                "Property '{k}' does not exist on type 'Microsoft.DirectoryServices.Application'."
            )));
        }
        let display_name = match obj.get("displayName") {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 256 => s.clone(),
            _ => return Err(GraphError::invalid_property("displayName")),
        };
        // wid's directory is one organisation: only single-tenant applications.
        match obj.get("signInAudience") {
            None | Some(Value::Null) => {}
            Some(Value::String(a)) if a == "AzureADMyOrg" => {}
            Some(_) => return Err(GraphError::invalid_property("signInAudience")),
        }
        let identifier_uris = match obj.get("identifierUris") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|u| u.as_str().map(String::from))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| GraphError::invalid_property("identifierUris"))?,
            Some(_) => return Err(GraphError::invalid_property("identifierUris")),
        };
        Ok(Self {
            display_name,
            identifier_uris,
        })
    }
}

/// Registers an application in `tenant_id`: identifier URIs must be `api://...` or
/// `https://...` and free in the tenant (a first-party resource's URI is taken).
pub async fn register_application(
    s: &CloudState,
    tenant_id: &str,
    req: RegisterApplication,
) -> Result<ResourceApp, GraphError> {
    let mut keys = Vec::new();
    for uri in &req.identifier_uris {
        if !is_valid_identifier_uri(uri) {
            return Err(GraphError::invalid_property("identifierUris"));
        }
        let key = resource_key(uri);
        if keys.contains(&key) || first_party(uri).is_some() {
            return Err(taken());
        }
        keys.push(key);
    }
    let app = ResourceApp {
        app_id: wid_model::ids::new_guid(),
        tenant_id: tenant_id.to_string(),
        object_id: wid_model::ids::new_guid(),
        display_name: req.display_name,
        identifier_uris: req.identifier_uris,
        created_at: s.clock.now(),
    };
    match s.store.insert_resource_app(&app).await {
        Ok(()) => Ok(app),
        Err(StoreError::Conflict(_)) => Err(taken()),
        Err(e) => {
            tracing::error!(error = %e, "store failed registering an application");
            Err(GraphError::unavailable())
        }
    }
}

fn taken() -> GraphError {
    GraphError::bad_request(
        "Another object with the same value for property identifierUris already exists.",
    )
}

fn to_json(base: &str, app: &ResourceApp) -> Value {
    json!({
        "@odata.context": format!("{base}/v1.0/$metadata#applications/$entity"),
        "id": app.object_id,
        "appId": app.app_id,
        "displayName": app.display_name,
        "identifierUris": app.identifier_uris,
        "signInAudience": "AzureADMyOrg",
        "createdDateTime": wid_model::time_fmt::rfc3339(app.created_at),
    })
}

/// `POST /v1.0/applications`: the local administrator registers an application.
pub async fn create(State(s): State<CloudState>, headers: HeaderMap, body: Body) -> Response {
    let caller = match super::authenticate(&s, &headers).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let bytes = match read_capped(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            let drained = matches!(e, BodyError::TooLarge { drained: true, .. });
            let mut resp = GraphError::too_large().into_response();
            close_unless_drained(&mut resp, drained);
            return resp;
        }
    };
    if caller.app_id != s.defaults.admin_client_id {
        return GraphError::denied().into_response();
    }
    let parsed = serde_json::from_slice::<Value>(&bytes)
        .map_err(|e| GraphError::bad_request(format!("Invalid request body: {e}.")))
        .and_then(|v| RegisterApplication::from_json(&v));
    let req = match parsed {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match register_application(&s, &caller.tenant_id, req).await {
        Ok(app) => {
            let base = crate::sts::authority_base(&s, &headers);
            (StatusCode::CREATED, Json(to_json(&base, &app))).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// `DELETE /v1.0/applications/{id}`: the local administrator deletes an application by its
/// object id; its identifier URIs are no longer resources.
pub async fn remove(
    State(s): State<CloudState>,
    segments: crate::path::Segments,
    headers: HeaderMap,
) -> Response {
    let id = segments.get(0);
    let caller = match super::authenticate(&s, &headers).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if caller.app_id != s.defaults.admin_client_id {
        return GraphError::denied().into_response();
    }
    match s.store.delete_resource_app(&caller.tenant_id, &id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => GraphError::not_found(&id).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "store failed deleting an application");
            GraphError::unavailable().into_response()
        }
    }
}

/// `GET /v1.0/applications`: the applications registered in the caller's tenant.
pub async fn list(State(s): State<CloudState>, headers: HeaderMap) -> Response {
    let caller = match super::authenticate(&s, &headers).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    match s.store.list_resource_apps(&caller.tenant_id).await {
        Ok(apps) => {
            let base = crate::sts::authority_base(&s, &headers);
            let value: Vec<Value> = apps
                .iter()
                .map(|a| {
                    let mut v = to_json(&base, a);
                    if let Some(o) = v.as_object_mut() {
                        o.remove("@odata.context");
                    }
                    v
                })
                .collect();
            let mut out = Map::new();
            out.insert(
                "@odata.context".into(),
                format!("{base}/v1.0/$metadata#applications").into(),
            );
            out.insert("value".into(), value.into());
            Json(Value::Object(out)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "store failed listing applications");
            GraphError::unavailable().into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies() {
        let r = RegisterApplication::from_json(
            &json!({"displayName": "orders", "identifierUris": ["api://orders"]}),
        )
        .unwrap();
        assert_eq!(r.identifier_uris, ["api://orders"]);
        let e =
            RegisterApplication::from_json(&json!({"displayName": "x", "web": {}})).unwrap_err();
        assert_eq!(
            e.message,
            "Property 'web' does not exist on type 'Microsoft.DirectoryServices.Application'."
        );
        let e = RegisterApplication::from_json(&json!({"identifierUris": []})).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid value specified for property 'displayName' of resource 'Application'."
        );
        let e = RegisterApplication::from_json(&json!({"displayName": "x", "identifierUris": [1]}))
            .unwrap_err();
        assert_eq!(e.code, "Request_BadRequest");
        assert!(
            RegisterApplication::from_json(
                &json!({"displayName": "x", "signInAudience": "AzureADMyOrg"})
            )
            .is_ok()
        );
        let e = RegisterApplication::from_json(
            &json!({"displayName": "x", "signInAudience": "AzureADMultipleOrgs"}),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "Invalid value specified for property 'signInAudience' of resource 'Application'."
        );
    }
}
