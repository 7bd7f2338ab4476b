//! Authorization: the caller's role assignments against the action and scope of a request.

use wid_model::rbac::{RoleDefinition, scope_covers};
use wid_store::RoleAssignment;

use super::ArmError;

/// The caller's role assignments in the request's subscription.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The caller's object id.
    pub principal: String,
    /// Its assignments.
    pub assignments: Vec<RoleAssignment>,
}

impl Access {
    /// Whether some assignment allows `action` on `resource`.
    pub fn allows(&self, action: &str, resource: &str) -> bool {
        self.assignments.iter().any(|a| {
            scope_covers(&a.scope, resource)
                && RoleDefinition::find(&a.role_definition_id).is_some_and(|r| r.allows(action))
        })
    }

    /// `allows`, or ARM's 403 `AuthorizationFailed`.
    pub fn require(&self, action: &str, scope: &str) -> Result<(), ArmError> {
        if self.allows(action, scope) {
            return Ok(());
        }
        Err(ArmError::new(
            axum::http::StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            format!(
                "The client '{p}' with object id '{p}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
                p = self.principal
            ),
        ))
    }
}
