//! `{scope}/providers/Microsoft.Authorization/roleAssignments[/{name}]` at subscription and
//! resource-group scope: PUT (GUID names), GET, LIST, DELETE, with ARM's shapes and errors.

use axum::Json;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wid_model::arm_path::resource_group_id;
use wid_model::ids::is_guid;
use wid_model::rbac::{RoleDefinition, scope_covers};
use wid_store::RoleAssignment;

use super::resource_groups::require_group;
use super::{ArmError, ArmRequest};
use crate::state::CloudState;

fn assignment_json(a: &RoleAssignment) -> Value {
    json!({
        "properties": {
            "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}", a.subscription_id, a.role_definition_id),
            "principalId": a.principal_id,
            "principalType": a.principal_type,
            "scope": a.scope,
        },
        "id": format!("{}/providers/Microsoft.Authorization/roleAssignments/{}", a.scope, a.name),
        "type": "Microsoft.Authorization/roleAssignments",
        "name": a.name,
    })
}

fn not_found(name: &str) -> ArmError {
    ArmError::not_found(
        "RoleAssignmentNotFound",
        format!("The role assignment '{name}' is not found."),
    )
}

/// Routes one role assignment request.
pub async fn handle(
    s: &CloudState,
    req: &ArmRequest,
    sub: &str,
    rg: Option<&str>,
    name: Option<&str>,
) -> Result<Response, ArmError> {
    let scope = match rg {
        Some(rg) => {
            let g = require_group(s, sub, rg).await?;
            resource_group_id(&g.subscription_id, &g.name)
        }
        None => format!("/subscriptions/{}", sub.to_ascii_lowercase()),
    };
    let sub = sub.to_ascii_lowercase();
    match (name, &req.method) {
        (None, &Method::GET) => {
            let filter = req.query.get("$filter").cloned().unwrap_or_default();
            let principal = filter
                .split_once("principalId eq '")
                .map(|(_, r)| r.trim_end_matches('\'').to_string());
            let at_scope = filter.contains("atScope()");
            let all = s
                .store
                .list_role_assignments(&sub, principal.as_deref())
                .await
                .map_err(ArmError::internal)?;
            let value: Vec<Value> = all
                .iter()
                .filter(|a| {
                    scope_covers(&a.scope, &scope) || (!at_scope && scope_covers(&scope, &a.scope))
                })
                .map(assignment_json)
                .collect();
            Ok(Json(json!({"value": value})).into_response())
        }
        (Some(name), &Method::GET) => {
            let a = s
                .store
                .get_role_assignment(name)
                .await
                .map_err(ArmError::internal)?
                .ok_or_else(|| not_found(name))?;
            Ok(Json(assignment_json(&a)).into_response())
        }
        (Some(name), &Method::DELETE) => match s
            .store
            .get_role_assignment(name)
            .await
            .map_err(ArmError::internal)?
        {
            Some(a) => {
                s.store
                    .delete_role_assignment(name)
                    .await
                    .map_err(ArmError::internal)?;
                Ok(Json(assignment_json(&a)).into_response())
            }
            None => Ok(StatusCode::NO_CONTENT.into_response()),
        },
        (Some(name), &Method::PUT) => put(s, req, &sub, &scope, name).await,
        _ => Err(ArmError::method_not_allowed(&req.method)),
    }
}

async fn put(
    s: &CloudState,
    req: &ArmRequest,
    sub: &str,
    scope: &str,
    name: &str,
) -> Result<Response, ArmError> {
    if !is_guid(name) {
        return Err(ArmError::bad_request(
            "InvalidRoleAssignmentId",
            format!(
                "The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."
            ),
        ));
    }
    let body: Value = req.json()?;
    let p = &body["properties"];
    let (Some(role_id), Some(principal)) =
        (p["roleDefinitionId"].as_str(), p["principalId"].as_str())
    else {
        return Err(ArmError::bad_request(
            "InvalidRequestContent",
            "The request content was invalid: properties.roleDefinitionId and properties.principalId are required.",
        ));
    };
    let role = RoleDefinition::find(role_id).ok_or_else(|| {
        ArmError::bad_request(
            "RoleDefinitionDoesNotExist",
            format!("The specified role definition with ID '{role_id}' does not exist."),
        )
    })?;
    let tenant = req.caller.tenant_id.clone();
    if !s
        .store
        .principal_exists(&tenant, principal)
        .await
        .map_err(ArmError::internal)?
    {
        return Err(ArmError::bad_request(
            "PrincipalNotFound",
            format!(
                "Principal {} does not exist in the directory {tenant}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
                principal.replace('-', "")
            ),
        ));
    }
    if s.store
        .find_role_assignment(scope, role.id, principal)
        .await
        .map_err(ArmError::internal)?
        .is_some()
    {
        return Err(ArmError::conflict(
            "RoleAssignmentExists",
            "The role assignment already exists.",
        ));
    }
    if s.store
        .get_role_assignment(name)
        .await
        .map_err(ArmError::internal)?
        .is_some()
    {
        return Err(ArmError::bad_request(
            "RoleAssignmentUpdateNotPermitted",
            "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
        ));
    }
    let a = RoleAssignment {
        name: name.to_ascii_lowercase(),
        subscription_id: sub.to_string(),
        scope: scope.to_string(),
        role_definition_id: role.id.to_string(),
        principal_id: principal.to_ascii_lowercase(),
        principal_type: p["principalType"]
            .as_str()
            .unwrap_or("ServicePrincipal")
            .to_string(),
    };
    s.store
        .insert_role_assignment(&a, s.clock.now())
        .await
        .map_err(|e| match e {
            wid_store::StoreError::Conflict(_) => ArmError::conflict(
                "RoleAssignmentExists",
                "The role assignment already exists.",
            ),
            e => ArmError::internal(e),
        })?;
    Ok((StatusCode::CREATED, Json(assignment_json(&a))).into_response())
}
