//! `/subscriptions/{s}/resourcegroups[/{rg}]` (Microsoft.Resources): GET, PUT, LIST.

use axum::Json;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use wid_model::arm_path::resource_group_id;
use wid_model::federated::validate_resource_group_name;
use wid_store::ResourceGroup;

use super::{ArmError, ArmRequest, subscription_of};
use crate::state::CloudState;

fn group_json(g: &ResourceGroup) -> Value {
    let tags: Value = serde_json::from_str(&g.tags).unwrap_or_else(|_| json!({}));
    json!({
        "id": resource_group_id(&g.subscription_id, &g.name),
        "name": g.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": g.location,
        "tags": tags,
        "properties": {"provisioningState": "Succeeded"},
    })
}

/// The error ARM gives for a resource group that does not exist.
pub fn group_not_found(rg: &str) -> ArmError {
    ArmError::not_found(
        "ResourceGroupNotFound",
        format!("Resource group '{rg}' could not be found."),
    )
}

/// Finds a resource group or answers `ResourceGroupNotFound`.
pub async fn require_group(s: &CloudState, sub: &str, rg: &str) -> Result<ResourceGroup, ArmError> {
    s.store
        .get_resource_group(sub, rg)
        .await
        .map_err(ArmError::internal)?
        .ok_or_else(|| group_not_found(rg))
}

/// `GET /subscriptions/{s}/resourcegroups`.
pub async fn list(s: &CloudState, req: &ArmRequest, sub: &str) -> Result<Response, ArmError> {
    if req.method != Method::GET {
        return Err(ArmError::method_not_allowed(&req.method));
    }
    subscription_of(s, req, sub).await?;
    let groups: Vec<ResourceGroup> = s
        .store
        .list_resource_groups(sub)
        .await
        .map_err(ArmError::internal)?
        .into_iter()
        .filter(|g| {
            req.access.allows(
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                &resource_group_id(&g.subscription_id, &g.name),
            )
        })
        .collect();
    Ok(Json(json!({"value": groups.iter().map(group_json).collect::<Vec<_>>()})).into_response())
}

#[derive(Debug, Deserialize)]
struct GroupBody {
    location: Option<String>,
    #[serde(default)]
    tags: Option<serde_json::Map<String, Value>>,
}

/// `GET|PUT /subscriptions/{s}/resourcegroups/{rg}`.
pub async fn one(
    s: &CloudState,
    req: &ArmRequest,
    sub: &str,
    rg: &str,
) -> Result<Response, ArmError> {
    let sub_row = subscription_of(s, req, sub).await?;
    match req.method {
        Method::GET | Method::HEAD => {
            let g = require_group(s, &sub_row.id, rg).await?;
            Ok(Json(group_json(&g)).into_response())
        }
        Method::PUT => {
            validate_resource_group_name(rg)?;
            let body: GroupBody = req.json()?;
            let Some(location) = body.location.filter(|l| !l.is_empty()) else {
                return Err(ArmError::bad_request(
                    "LocationRequired",
                    "The location property is required for this definition.",
                ));
            };
            let existing = s
                .store
                .get_resource_group(&sub_row.id, rg)
                .await
                .map_err(ArmError::internal)?;
            if let Some(e) = &existing
                && !e.location.eq_ignore_ascii_case(&location)
            {
                return Err(ArmError::conflict(
                    "InvalidResourceGroupLocation",
                    format!(
                        "Invalid resource group location '{location}'. The Resource group already exists in location '{}'.",
                        e.location
                    ),
                ));
            }
            let g = ResourceGroup {
                subscription_id: sub_row.id.clone(),
                name: existing
                    .as_ref()
                    .map(|e| e.name.clone())
                    .unwrap_or_else(|| rg.to_string()),
                location: existing
                    .as_ref()
                    .map(|e| e.location.clone())
                    .unwrap_or(location),
                tags: Value::Object(body.tags.unwrap_or_default()).to_string(),
            };
            let created = s
                .store
                .upsert_resource_group(&g, s.clock.now())
                .await
                .map_err(ArmError::internal)?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((status, Json(group_json(&g))).into_response())
        }
        Method::DELETE => {
            // ARM deletes the group and everything in it; the stand-in finishes at once (200)
            // where ARM answers 202 and finishes later.
            let g = require_group(s, &sub_row.id, rg).await?;
            let n = s
                .store
                .delete_resource_group(&sub_row.id, &g.name)
                .await
                .map_err(ArmError::internal)?;
            tracing::info!(group = %g.name, identities = n, "deleted resource group");
            Ok(StatusCode::OK.into_response())
        }
        _ => Err(ArmError::method_not_allowed(&req.method)),
    }
}
