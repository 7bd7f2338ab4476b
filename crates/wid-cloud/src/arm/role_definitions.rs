//! `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions[/{id}]`: the
//! built-in roles.

use axum::Json;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wid_model::rbac::{BUILT_IN_ROLES, RoleDefinition};

use super::{ArmError, ArmRequest};
use crate::state::CloudState;

fn definition_json(r: &RoleDefinition, sub: &str) -> Value {
    json!({
        "id": r.arm_id(sub),
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": r.id,
        "properties": {
            "roleName": r.name,
            "type": "BuiltInRole",
            "description": r.description,
            "assignableScopes": ["/"],
            "permissions": [{"actions": r.actions, "notActions": r.not_actions, "dataActions": r.data_actions, "notDataActions": []}],
        },
    })
}

/// GET one or all role definitions (`$filter=roleName eq 'Reader'` supported).
pub async fn handle(
    _s: &CloudState,
    req: &ArmRequest,
    sub: &str,
    id: Option<&str>,
) -> Result<Response, ArmError> {
    if req.method != Method::GET {
        return Err(ArmError::method_not_allowed(&req.method));
    }
    if let Some(id) = id {
        let r = BUILT_IN_ROLES
            .iter()
            .find(|r| r.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| {
                ArmError::not_found(
                    "RoleDefinitionDoesNotExist",
                    format!("The specified role definition with ID '{id}' does not exist."),
                )
            })?;
        return Ok(Json(definition_json(r, sub)).into_response());
    }
    let wanted = req
        .query
        .get("$filter")
        .and_then(|f| f.split_once("roleName eq '"))
        .map(|(_, rest)| rest.trim_end_matches('\'').to_string());
    let value: Vec<Value> = BUILT_IN_ROLES
        .iter()
        .filter(|r| {
            wanted
                .as_ref()
                .is_none_or(|w| r.name.eq_ignore_ascii_case(w))
        })
        .map(|r| definition_json(r, sub))
        .collect();
    Ok(Json(json!({"value": value})).into_response())
}
