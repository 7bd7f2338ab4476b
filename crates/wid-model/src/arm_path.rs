//! Parsing ARM resource paths. ARM matches its fixed segments (`resourceGroups`,
//! `providers`, the namespace and the type) case-insensitively, so routing goes through here
//! rather than through a case-sensitive router.

/// The ARM resources that the stand-in serves, by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArmPath {
    /// `/subscriptions`
    Subscriptions,
    /// `/subscriptions/{s}`
    Subscription {
        /// Subscription id.
        sub: String,
    },
    /// `/subscriptions/{s}/resourcegroups`
    ResourceGroups {
        /// Subscription id.
        sub: String,
    },
    /// `/subscriptions/{s}/resourcegroups/{rg}`
    ResourceGroup {
        /// Subscription id.
        sub: String,
        /// Resource group name.
        rg: String,
    },
    /// `/subscriptions/{s}/providers/Microsoft.ManagedIdentity/userAssignedIdentities`
    IdentitiesInSubscription {
        /// Subscription id.
        sub: String,
    },
    /// `.../resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities`
    IdentitiesInGroup {
        /// Subscription id.
        sub: String,
        /// Resource group name.
        rg: String,
    },
    /// `.../userAssignedIdentities/{name}`
    Identity {
        /// Subscription id.
        sub: String,
        /// Resource group name.
        rg: String,
        /// Identity name.
        name: String,
    },
    /// `.../userAssignedIdentities/{name}/federatedIdentityCredentials`
    FederatedCredentials {
        /// Subscription id.
        sub: String,
        /// Resource group name.
        rg: String,
        /// Identity name.
        identity: String,
    },
    /// `.../userAssignedIdentities/{name}/federatedIdentityCredentials/{fic}`
    FederatedCredential {
        /// Subscription id.
        sub: String,
        /// Resource group name.
        rg: String,
        /// Identity name.
        identity: String,
        /// Credential name.
        name: String,
    },
    /// `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions[/{id}]`
    RoleDefinitions {
        /// Subscription id.
        sub: String,
        /// The resource group, when listed at a resource group's scope (as `az role
        /// assignment create --scope <group>` does to resolve `--role`).
        rg: Option<String>,
        /// One role definition's GUID.
        id: Option<String>,
    },
    /// `{scope}/providers/Microsoft.Authorization/roleAssignments[/{name}]`, the scope a
    /// subscription or a resource group.
    RoleAssignments {
        /// Subscription id.
        sub: String,
        /// Resource group, for a resource-group scope.
        rg: Option<String>,
        /// One assignment's name.
        name: Option<String>,
    },
}

const MSI: &str = "microsoft.managedidentity";
const AUTHZ: &str = "microsoft.authorization";
const UAMI: &str = "userassignedidentities";
const FIC: &str = "federatedidentitycredentials";

impl ArmPath {
    /// Parses a request path (without query). Returns `None` for paths the stand-in does not
    /// serve.
    pub fn parse(path: &str) -> Option<ArmPath> {
        let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        if segs.iter().any(|s| s.is_empty()) {
            return None;
        }
        let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
        let l: Vec<&str> = lower.iter().map(String::as_str).collect();
        let s = |i: usize| segs[i].to_string();
        use ArmPath::*;
        Some(match l.as_slice() {
            ["subscriptions"] => Subscriptions,
            ["subscriptions", _] => Subscription { sub: s(1) },
            ["subscriptions", _, "resourcegroups"] => ResourceGroups { sub: s(1) },
            ["subscriptions", _, "resourcegroups", _] => ResourceGroup {
                sub: s(1),
                rg: s(3),
            },
            ["subscriptions", _, "providers", MSI, UAMI] => IdentitiesInSubscription { sub: s(1) },
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                MSI,
                UAMI,
            ] => IdentitiesInGroup {
                sub: s(1),
                rg: s(3),
            },
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                MSI,
                UAMI,
                _,
            ] => Identity {
                sub: s(1),
                rg: s(3),
                name: s(7),
            },
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                MSI,
                UAMI,
                _,
                FIC,
            ] => FederatedCredentials {
                sub: s(1),
                rg: s(3),
                identity: s(7),
            },
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                MSI,
                UAMI,
                _,
                FIC,
                _,
            ] => FederatedCredential {
                sub: s(1),
                rg: s(3),
                identity: s(7),
                name: s(9),
            },
            ["subscriptions", _, "providers", AUTHZ, "roledefinitions"] => RoleDefinitions {
                sub: s(1),
                rg: None,
                id: None,
            },
            ["subscriptions", _, "providers", AUTHZ, "roledefinitions", _] => RoleDefinitions {
                sub: s(1),
                rg: None,
                id: Some(s(5)),
            },
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                AUTHZ,
                "roledefinitions",
            ] => RoleDefinitions {
                sub: s(1),
                rg: Some(s(3)),
                id: None,
            },
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                AUTHZ,
                "roledefinitions",
                _,
            ] => RoleDefinitions {
                sub: s(1),
                rg: Some(s(3)),
                id: Some(s(7)),
            },
            ["subscriptions", _, "providers", AUTHZ, "roleassignments"] => RoleAssignments {
                sub: s(1),
                rg: None,
                name: None,
            },
            ["subscriptions", _, "providers", AUTHZ, "roleassignments", _] => RoleAssignments {
                sub: s(1),
                rg: None,
                name: Some(s(5)),
            },
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                AUTHZ,
                "roleassignments",
            ] => RoleAssignments {
                sub: s(1),
                rg: Some(s(3)),
                name: None,
            },
            [
                "subscriptions",
                _,
                "resourcegroups",
                _,
                "providers",
                AUTHZ,
                "roleassignments",
                _,
            ] => RoleAssignments {
                sub: s(1),
                rg: Some(s(3)),
                name: Some(s(7)),
            },
            _ => return None,
        })
    }
}

/// The ARM id of a user-assigned identity, with `resourcegroups` in lower case as ARM
/// writes it in this resource type.
pub fn identity_id(sub: &str, rg: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    )
}

/// The ARM id of a federated identity credential.
pub fn fic_id(sub: &str, rg: &str, identity: &str, name: &str) -> String {
    format!(
        "{}/federatedIdentityCredentials/{name}",
        identity_id(sub, rg, identity)
    )
}

/// The ARM id of a resource group.
pub fn resource_group_id(sub: &str, rg: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}")
}

impl ArmPath {
    /// The action ARM authorizes for `method` on this path, and the scope it checks it at.
    pub fn action(&self, method: &str) -> (String, String) {
        use ArmPath::*;
        let verb = match method {
            "GET" | "HEAD" => "read",
            "DELETE" => "delete",
            _ => "write",
        };
        match self {
            Subscriptions => ("Microsoft.Resources/subscriptions/read".into(), "/".into()),
            Subscription { sub } => ("Microsoft.Resources/subscriptions/read".into(), format!("/subscriptions/{sub}")),
            ResourceGroups { sub } => {
                ("Microsoft.Resources/subscriptions/resourceGroups/read".into(), format!("/subscriptions/{sub}"))
            }
            ResourceGroup { sub, rg } => (
                format!("Microsoft.Resources/subscriptions/resourceGroups/{verb}"),
                resource_group_id(sub, rg),
            ),
            IdentitiesInSubscription { sub } => {
                ("Microsoft.ManagedIdentity/userAssignedIdentities/read".into(), format!("/subscriptions/{sub}"))
            }
            IdentitiesInGroup { sub, rg } => {
                ("Microsoft.ManagedIdentity/userAssignedIdentities/read".into(), resource_group_id(sub, rg))
            }
            Identity { sub, rg, name } => (
                format!("Microsoft.ManagedIdentity/userAssignedIdentities/{verb}"),
                identity_id(sub, rg, name),
            ),
            FederatedCredentials { sub, rg, identity } => (
                "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read".into(),
                identity_id(sub, rg, identity),
            ),
            FederatedCredential { sub, rg, identity, name } => (
                format!("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/{verb}"),
                fic_id(sub, rg, identity, name),
            ),
            RoleDefinitions { sub, rg, .. } => (
                "Microsoft.Authorization/roleDefinitions/read".into(),
                match rg {
                    Some(rg) => resource_group_id(sub, rg),
                    None => format!("/subscriptions/{sub}"),
                },
            ),
            RoleAssignments { sub, rg, .. } => (
                format!("Microsoft.Authorization/roleAssignments/{verb}"),
                match rg {
                    Some(rg) => resource_group_id(sub, rg),
                    None => format!("/subscriptions/{sub}"),
                },
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_paths_and_actions() {
        let p = ArmPath::parse("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/g").unwrap();
        assert_eq!(
            p,
            ArmPath::RoleAssignments {
                sub: "s".into(),
                rg: Some("rg".into()),
                name: Some("g".into())
            }
        );
        assert_eq!(
            p.action("PUT"),
            (
                "Microsoft.Authorization/roleAssignments/write".into(),
                "/subscriptions/s/resourceGroups/rg".into()
            )
        );
        let g = ArmPath::parse("/subscriptions/s/resourcegroups/rg").unwrap();
        assert_eq!(
            g.action("GET").0,
            "Microsoft.Resources/subscriptions/resourceGroups/read"
        );
        assert!(
            ArmPath::parse("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions")
                .is_some()
        );
        let at_group = ArmPath::parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleDefinitions",
        )
        .unwrap();
        assert_eq!(
            at_group.action("GET"),
            (
                "Microsoft.Authorization/roleDefinitions/read".to_string(),
                "/subscriptions/s/resourceGroups/rg".to_string()
            )
        );
    }

    #[test]
    fn parses_case_insensitively() {
        assert_eq!(
            ArmPath::parse(
                "/subscriptions/s1/resourcegroups/RG/providers/microsoft.managedidentity/USERASSIGNEDIDENTITIES/mi/federatedIdentityCredentials/f1"
            ),
            Some(ArmPath::FederatedCredential {
                sub: "s1".into(),
                rg: "RG".into(),
                identity: "mi".into(),
                name: "f1".into()
            })
        );
        assert_eq!(
            ArmPath::parse(
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
            ),
            Some(ArmPath::IdentitiesInGroup {
                sub: "s1".into(),
                rg: "rg".into()
            })
        );
        assert_eq!(
            ArmPath::parse("/subscriptions"),
            Some(ArmPath::Subscriptions)
        );
        assert_eq!(
            ArmPath::parse("/subscriptions/s1/"),
            Some(ArmPath::Subscription { sub: "s1".into() })
        );
        assert_eq!(ArmPath::parse("/subscriptions//resourcegroups"), None);
        assert_eq!(
            ArmPath::parse("/subscriptions/s/providers/Microsoft.Storage/storageAccounts"),
            None
        );
    }

    #[test]
    fn ids() {
        assert_eq!(
            fic_id("s", "rg", "mi", "f"),
            "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi/federatedIdentityCredentials/f"
        );
    }
}
