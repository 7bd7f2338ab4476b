//! Azure role-based access control, as ARM applies it: built-in role definitions (real ids
//! and permissions), action matching with wildcards, and scope inheritance.

/// A built-in role definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleDefinition {
    /// The role's GUID, the same in every subscription.
    pub id: &'static str,
    /// Its name, as `--role` takes it.
    pub name: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// Control-plane actions it allows.
    pub actions: &'static [&'static str],
    /// Control-plane actions it excludes.
    pub not_actions: &'static [&'static str],
    /// Data-plane actions it allows.
    pub data_actions: &'static [&'static str],
}

/// The built-in roles wid knows.
pub const BUILT_IN_ROLES: [RoleDefinition; 8] = [
    RoleDefinition {
        id: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        name: "Owner",
        description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
        actions: &["*"],
        not_actions: &[],
        data_actions: &[],
    },
    RoleDefinition {
        id: "b24988ac-6180-42a0-ab88-20f7382dd24c",
        name: "Contributor",
        description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.",
        actions: &["*"],
        not_actions: &[
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ],
        data_actions: &[],
    },
    RoleDefinition {
        id: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        name: "Reader",
        description: "View all resources, but does not allow you to make any changes.",
        actions: &["*/read"],
        not_actions: &[],
        data_actions: &[],
    },
    RoleDefinition {
        id: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        name: "Storage Blob Data Owner",
        description: "Provides full access to Azure Storage blob containers and data, including assigning POSIX access control.",
        actions: &["Microsoft.Storage/storageAccounts/blobServices/containers/*"],
        not_actions: &[],
        data_actions: &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],
    },
    RoleDefinition {
        id: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        name: "Storage Blob Data Contributor",
        description: "Read, write, and delete Azure Storage containers and blobs.",
        actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/write",
        ],
        not_actions: &[],
        data_actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
        ],
    },
    RoleDefinition {
        id: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        name: "Storage Blob Data Reader",
        description: "Read and list Azure Storage containers and blobs.",
        actions: &["Microsoft.Storage/storageAccounts/blobServices/containers/read"],
        not_actions: &[],
        data_actions: &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
    },
    RoleDefinition {
        id: "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59",
        name: "Managed Identity Contributor",
        description: "Create, Read, Update, and Delete User Assigned Identity",
        actions: &[
            "Microsoft.ManagedIdentity/userAssignedIdentities/read",
            "Microsoft.ManagedIdentity/userAssignedIdentities/write",
            "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
            "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
            "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
            "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ],
        not_actions: &[],
        data_actions: &[],
    },
    RoleDefinition {
        id: "f1a07417-d97a-45cb-824c-7a7467783830",
        name: "Managed Identity Operator",
        description: "Read and Assign User Assigned Identity",
        actions: &[
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ],
        not_actions: &[],
        data_actions: &[],
    },
];

impl RoleDefinition {
    /// Finds a role by name (case-insensitive), GUID, or full role definition id.
    pub fn find(role: &str) -> Option<&'static RoleDefinition> {
        let guid = role.rsplit('/').next().unwrap_or(role);
        BUILT_IN_ROLES
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(role) || r.id.eq_ignore_ascii_case(guid))
    }

    /// The role definition's ARM id in a subscription.
    pub fn arm_id(&self, sub: &str) -> String {
        format!(
            "/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{}",
            self.id
        )
    }

    /// Whether the role allows the control-plane `action`.
    pub fn allows(&self, action: &str) -> bool {
        self.actions.iter().any(|p| action_matches(p, action))
            && !self.not_actions.iter().any(|p| action_matches(p, action))
    }
}

/// Matches an action against a permission pattern: case-insensitive, `*` matching any run of
/// characters (`*`, `*/read`, `Microsoft.Authorization/*/Write`).
pub fn action_matches(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match p.split_first() {
            None => a.is_empty(),
            Some((b'*', rest)) => (0..=a.len()).any(|i| go(rest, &a[i..])),
            Some((c, rest)) => {
                a.first().is_some_and(|x| x.eq_ignore_ascii_case(c)) && go(rest, &a[1..])
            }
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

/// Whether an assignment at `scope` covers `resource` (itself or anything below it).
pub fn scope_covers(scope: &str, resource: &str) -> bool {
    let s = scope.trim_end_matches('/').to_ascii_lowercase();
    let r = resource.trim_end_matches('/').to_ascii_lowercase();
    r == s || (r.starts_with(&s) && r.as_bytes().get(s.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_actions() {
        let reader = RoleDefinition::find("reader").unwrap();
        assert!(reader.allows("Microsoft.Resources/subscriptions/resourceGroups/read"));
        assert!(!reader.allows("Microsoft.ManagedIdentity/userAssignedIdentities/write"));
        let contrib = RoleDefinition::find("b24988ac-6180-42a0-ab88-20f7382dd24c").unwrap();
        assert!(contrib.allows("Microsoft.ManagedIdentity/userAssignedIdentities/write"));
        assert!(!contrib.allows("Microsoft.Authorization/roleAssignments/write"));
        assert!(
            RoleDefinition::find("Owner")
                .unwrap()
                .allows("Microsoft.Authorization/roleAssignments/write")
        );
        assert!(RoleDefinition::find("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7").is_some());
        assert!(RoleDefinition::find("Superuser").is_none());
    }

    #[test]
    fn scopes() {
        assert!(scope_covers(
            "/subscriptions/S",
            "/subscriptions/s/resourceGroups/rg"
        ));
        assert!(scope_covers(
            "/subscriptions/s/resourceGroups/rg",
            "/subscriptions/s/resourcegroups/RG/providers/x/y"
        ));
        assert!(!scope_covers(
            "/subscriptions/s/resourceGroups/rg",
            "/subscriptions/s/resourceGroups/rg2"
        ));
        assert!(!scope_covers(
            "/subscriptions/s/resourceGroups/rg",
            "/subscriptions/s"
        ));
    }
}
