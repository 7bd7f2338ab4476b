//! `Microsoft.ManagedIdentity/userAssignedIdentities`: PUT, PATCH, GET, LIST by resource
//! group and by subscription, DELETE.

use axum::Json;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use wid_model::arm_path::identity_id;
use wid_model::federated::validate_identity_name;
use wid_model::ids::new_guid;
use wid_store::Identity;

use super::resource_groups::require_group;
use super::{ArmError, ArmRequest, subscription_of};
use crate::state::CloudState;

/// The identity as ARM returns it for `api_version`.
pub fn identity_json(i: &Identity, api_version: &str) -> Value {
    let tags: Value = serde_json::from_str(&i.tags).unwrap_or_else(|_| json!({}));
    let mut props =
        json!({"tenantId": i.tenant_id, "principalId": i.principal_id, "clientId": i.client_id});
    if api_version >= "2024-11-30" && !api_version.starts_with("2015") {
        props["isolationScope"] = "None".into();
    }
    json!({
        "id": identity_id(&i.subscription_id, &i.resource_group, &i.name),
        "name": i.name,
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "location": i.location,
        "tags": tags,
        "properties": props,
    })
}

/// The error ARM gives for a missing identity.
pub fn identity_not_found(rg: &str, name: &str) -> ArmError {
    ArmError::not_found(
        "ResourceNotFound",
        format!(
            "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

/// `GET` the identities of a subscription or of one resource group.
pub async fn list(
    s: &CloudState,
    req: &ArmRequest,
    sub: &str,
    rg: Option<&str>,
) -> Result<Response, ArmError> {
    if req.method != Method::GET {
        return Err(ArmError::method_not_allowed(&req.method));
    }
    let sub_row = subscription_of(s, req, sub).await?;
    if let Some(rg) = rg {
        require_group(s, &sub_row.id, rg).await?;
    }
    let ids: Vec<Identity> = s
        .store
        .list_identities(&sub_row.id, rg)
        .await
        .map_err(ArmError::internal)?
        .into_iter()
        .filter(|i| {
            req.access.allows(
                "Microsoft.ManagedIdentity/userAssignedIdentities/read",
                &identity_id(&i.subscription_id, &i.resource_group, &i.name),
            )
        })
        .collect();
    let value: Vec<Value> = ids
        .iter()
        .map(|i| identity_json(i, &req.api_version))
        .collect();
    Ok(Json(json!({"value": value})).into_response())
}

#[derive(Debug, Deserialize)]
struct IdentityBody {
    location: Option<String>,
    #[serde(default)]
    tags: Option<serde_json::Map<String, Value>>,
}

/// `PUT|PATCH|GET|DELETE` one identity.
pub async fn one(
    s: &CloudState,
    req: &ArmRequest,
    sub: &str,
    rg: &str,
    name: &str,
) -> Result<Response, ArmError> {
    let sub_row = subscription_of(s, req, sub).await?;
    let group = require_group(s, &sub_row.id, rg).await?;
    let existing = s
        .store
        .get_identity(&sub_row.id, &group.name, name)
        .await
        .map_err(ArmError::internal)?;
    match req.method {
        Method::GET => {
            let i = existing.ok_or_else(|| identity_not_found(&group.name, name))?;
            Ok(Json(identity_json(&i, &req.api_version)).into_response())
        }
        Method::PUT => {
            validate_identity_name(name)?;
            let body: IdentityBody = req.json()?;
            let Some(location) = body.location.filter(|l| !l.is_empty()) else {
                return Err(ArmError::bad_request(
                    "LocationRequired",
                    "The location property is required for this definition.",
                ));
            };
            let tags = Value::Object(body.tags.unwrap_or_default()).to_string();
            if let Some(mut i) = existing {
                if !i.location.eq_ignore_ascii_case(&location) {
                    return Err(ArmError::bad_request(
                        "InvalidResourceLocation",
                        format!(
                            "The resource '{}' already exists in location '{}' in resource group '{}'. A resource with the same name cannot be created in location '{location}'. Please select a new resource name.",
                            i.name, i.location, group.name
                        ),
                    ));
                }
                s.store
                    .update_identity_tags(&i.principal_id, &tags)
                    .await
                    .map_err(ArmError::internal)?;
                i.tags = tags;
                return Ok(Json(identity_json(&i, &req.api_version)).into_response());
            }
            let i = Identity {
                principal_id: new_guid(),
                client_id: new_guid(),
                tenant_id: sub_row.tenant_id.clone(),
                subscription_id: sub_row.id.clone(),
                resource_group: group.name.clone(),
                name: name.to_string(),
                location,
                tags,
            };
            match s.store.insert_identity(&i, s.clock.now()).await {
                Ok(()) => {}
                // Lost a race with a concurrent create of the same name: answer as an update.
                Err(wid_store::StoreError::Conflict(_)) => {
                    let i = s
                        .store
                        .get_identity(&sub_row.id, &group.name, name)
                        .await
                        .map_err(ArmError::internal)?;
                    let i = i.ok_or_else(|| identity_not_found(&group.name, name))?;
                    return Ok(Json(identity_json(&i, &req.api_version)).into_response());
                }
                Err(e) => return Err(ArmError::internal(e)),
            }
            let mut resp = (
                StatusCode::CREATED,
                Json(identity_json(&i, &req.api_version)),
            )
                .into_response();
            let loc = format!(
                "{}{}?api-version={}",
                req.base,
                identity_id(&i.subscription_id, &i.resource_group, &i.name),
                req.api_version
            );
            if let Ok(v) = HeaderValue::from_str(&loc) {
                resp.headers_mut().insert("location", v);
            }
            Ok(resp)
        }
        Method::PATCH => {
            let mut i = existing.ok_or_else(|| identity_not_found(&group.name, name))?;
            let body: IdentityBody = req.json()?;
            if let Some(tags) = body.tags {
                i.tags = Value::Object(tags).to_string();
                s.store
                    .update_identity_tags(&i.principal_id, &i.tags)
                    .await
                    .map_err(ArmError::internal)?;
            }
            Ok(Json(identity_json(&i, &req.api_version)).into_response())
        }
        Method::DELETE => match existing {
            Some(i) => {
                s.store
                    .delete_identity(&i.principal_id)
                    .await
                    .map_err(ArmError::internal)?;
                Ok(StatusCode::OK.into_response())
            }
            None => Ok(StatusCode::NO_CONTENT.into_response()),
        },
        _ => Err(ArmError::method_not_allowed(&req.method)),
    }
}
