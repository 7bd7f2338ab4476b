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
}

const MSI: &str = "microsoft.managedidentity";
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

#[cfg(test)]
mod tests {
    use super::*;

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
