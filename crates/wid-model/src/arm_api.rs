//! The api-versions ARM serves for each resource type wid plays, in one table, and ARM's
//! refusal of any other: `InvalidApiVersionParameter` from Microsoft.Resources (subscriptions,
//! resource groups), `NoRegisteredProviderFound` from the resource providers behind it.

use crate::arm_path::ArmPath;

/// A resource type of the stand-in ARM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    /// `Microsoft.Resources/subscriptions`.
    Subscriptions,
    /// `Microsoft.Resources/resourceGroups`.
    ResourceGroups,
    /// `Microsoft.ManagedIdentity/userAssignedIdentities`.
    UserAssignedIdentities,
    /// `Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials`.
    FederatedIdentityCredentials,
    /// `Microsoft.Authorization/roleAssignments`.
    RoleAssignments,
    /// `Microsoft.Authorization/roleDefinitions`.
    RoleDefinitions,
}

/// Microsoft.Resources' versions, newest first, as ARM lists them in its error.
const RESOURCES: &[&str] = &[
    "2025-04-01",
    "2024-11-01",
    "2024-07-01",
    "2024-03-01",
    "2023-07-01",
    "2023-07-01-preview",
    "2023-03-01-preview",
    "2022-12-01",
    "2022-11-01-preview",
    "2022-09-01",
    "2022-06-01",
    "2022-05-01",
    "2022-03-01-preview",
    "2022-01-01",
    "2021-04-01",
    "2021-01-01",
    "2020-10-01",
    "2020-09-01",
    "2020-08-01",
    "2020-07-01",
    "2020-06-01",
    "2020-05-01",
    "2020-01-01",
    "2019-11-01",
    "2019-10-01",
    "2019-09-01",
    "2019-08-01",
    "2019-07-01",
    "2019-06-01",
    "2019-05-10",
    "2019-05-01",
    "2019-03-01",
    "2018-11-01",
    "2018-09-01",
    "2018-08-01",
    "2018-07-01",
    "2018-06-01",
    "2018-05-01",
    "2018-02-01",
    "2018-01-01",
    "2017-12-01",
    "2017-08-01",
    "2017-06-01",
    "2017-05-10",
    "2017-05-01",
    "2017-03-01",
    "2016-09-01",
    "2016-07-01",
    "2016-06-01",
    "2016-02-01",
    "2015-11-01",
    "2015-01-01",
    "2014-04-01-preview",
    "2014-04-01",
    "2014-01-01",
    "2013-03-01",
    "2014-02-26",
    "2014-04",
];

const IDENTITIES: &[&str] = &[
    "2015-08-31-preview",
    "2018-11-30",
    "2021-09-30-preview",
    "2022-01-31-preview",
    "2023-01-31",
    "2023-07-31-preview",
    "2024-11-30",
    "2025-01-31-preview",
    "2025-05-31-preview",
    "2026-04-30",
    "2026-05-31",
];

const FEDERATED_CREDENTIALS: &[&str] = &[
    "2022-01-31-preview",
    "2023-01-31",
    "2023-07-31-preview",
    "2024-11-30",
    "2025-01-31-preview",
    "2025-05-31-preview",
    "2026-04-30",
    "2026-05-31",
];

const ROLE_ASSIGNMENTS: &[&str] = &[
    "2014-04-01-preview",
    "2014-07-01-preview",
    "2014-10-01-preview",
    "2015-05-01-preview",
    "2015-06-01",
    "2015-07-01",
    "2016-07-01",
    "2017-05-01",
    "2017-09-01",
    "2017-10-01-preview",
    "2018-01-01-preview",
    "2018-07-01",
    "2018-09-01-preview",
    "2018-12-01-preview",
    "2019-04-01-preview",
    "2020-03-01-preview",
    "2020-04-01-preview",
    "2020-08-01-preview",
    "2020-10-01-preview",
    "2021-04-01-preview",
    "2022-01-01-preview",
    "2022-04-01",
    "2022-05-01-preview",
];

const ROLE_DEFINITIONS: &[&str] = &[
    "2014-04-01-preview",
    "2014-07-01-preview",
    "2014-10-01-preview",
    "2015-05-01-preview",
    "2015-06-01",
    "2015-07-01",
    "2016-07-01",
    "2017-05-01",
    "2017-09-01",
    "2018-01-01-preview",
    "2018-07-01",
    "2022-04-01",
    "2022-05-01-preview",
];

/// The locations ARM names in `NoRegisteredProviderFound` (the regions wid's resources use).
pub const LOCATIONS: &str = "eastus, eastus2, westus, westus2, centralus, northeurope, westeurope, uksouth, southeastasia, australiaeast";

/// An api-version ARM does not serve for a resource type, with ARM's code and text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UnsupportedApiVersion {
    /// `InvalidApiVersionParameter` or `NoRegisteredProviderFound`.
    pub code: &'static str,
    /// ARM's message, listing the supported versions.
    pub message: String,
}

impl ResourceType {
    /// The type of the resource (or collection) a path names.
    pub fn of(path: &ArmPath) -> ResourceType {
        use ArmPath::*;
        match path {
            Subscriptions | Subscription { .. } => ResourceType::Subscriptions,
            ResourceGroups { .. } | ResourceGroup { .. } => ResourceType::ResourceGroups,
            IdentitiesInSubscription { .. } | IdentitiesInGroup { .. } | Identity { .. } => {
                ResourceType::UserAssignedIdentities
            }
            FederatedCredentials { .. } | FederatedCredential { .. } => {
                ResourceType::FederatedIdentityCredentials
            }
            RoleAssignments { .. } => ResourceType::RoleAssignments,
            RoleDefinitions { .. } => ResourceType::RoleDefinitions,
        }
    }

    /// The type's name as ARM writes it in `NoRegisteredProviderFound`.
    pub fn name(self) -> &'static str {
        match self {
            ResourceType::Subscriptions => "subscriptions",
            ResourceType::ResourceGroups => "resourceGroups",
            ResourceType::UserAssignedIdentities => "userAssignedIdentities",
            ResourceType::FederatedIdentityCredentials => {
                "userAssignedIdentities/federatedIdentityCredentials"
            }
            ResourceType::RoleAssignments => "roleAssignments",
            ResourceType::RoleDefinitions => "roleDefinitions",
        }
    }

    /// The api-versions ARM serves for the type.
    pub fn api_versions(self) -> &'static [&'static str] {
        match self {
            ResourceType::Subscriptions | ResourceType::ResourceGroups => RESOURCES,
            ResourceType::UserAssignedIdentities => IDENTITIES,
            ResourceType::FederatedIdentityCredentials => FEDERATED_CREDENTIALS,
            ResourceType::RoleAssignments => ROLE_ASSIGNMENTS,
            ResourceType::RoleDefinitions => ROLE_DEFINITIONS,
        }
    }

    /// Checks `version`, as ARM does before routing to the resource provider. `location` is
    /// where the request is routed (the resource's region, `global` for authorization).
    pub fn check(self, version: &str, location: &str) -> Result<(), UnsupportedApiVersion> {
        let supported = self.api_versions();
        if supported.contains(&version) {
            return Ok(());
        }
        Err(match self {
            ResourceType::Subscriptions | ResourceType::ResourceGroups => UnsupportedApiVersion {
                code: "InvalidApiVersionParameter",
                message: format!(
                    "The api-version '{version}' is invalid. The supported versions are '{}'.",
                    supported.join(",")
                ),
            },
            _ => UnsupportedApiVersion {
                code: "NoRegisteredProviderFound",
                message: format!(
                    "No registered resource provider found for location '{location}' and API version '{version}' for type '{}'. The supported api-versions are '{}'. The supported locations are '{LOCATIONS}'.",
                    self.name(),
                    supported.join(", ")
                ),
            },
        })
    }

    /// Where ARM routes a request for the type when the body names no location.
    pub fn default_location(self) -> &'static str {
        match self {
            ResourceType::RoleAssignments | ResourceType::RoleDefinitions => "global",
            _ => "eastus",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_has_its_versions_and_arms_error() {
        let rg = ArmPath::parse("/subscriptions/s/resourceGroups/rg").unwrap();
        assert_eq!(ResourceType::of(&rg), ResourceType::ResourceGroups);
        assert!(
            ResourceType::ResourceGroups
                .check("2022-09-01", "eastus")
                .is_ok()
        );
        let e = ResourceType::ResourceGroups
            .check("2099-01-01", "eastus")
            .unwrap_err();
        assert_eq!(e.code, "InvalidApiVersionParameter");
        assert!(
            e.message.starts_with(
                "The api-version '2099-01-01' is invalid. The supported versions are '2025-04-01,"
            ),
            "{e}"
        );
        let fic = ArmPath::parse("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i/federatedIdentityCredentials/f").unwrap();
        assert_eq!(
            ResourceType::of(&fic),
            ResourceType::FederatedIdentityCredentials
        );
        let e = ResourceType::FederatedIdentityCredentials
            .check("2018-11-30", "westeurope")
            .unwrap_err();
        assert_eq!(e.code, "NoRegisteredProviderFound");
        assert!(e.message.starts_with("No registered resource provider found for location 'westeurope' and API version '2018-11-30' for type 'userAssignedIdentities/federatedIdentityCredentials'. The supported api-versions are '2022-01-31-preview, 2023-01-31,"), "{e}");
        assert!(
            ResourceType::UserAssignedIdentities
                .check("2018-11-30", "eastus")
                .is_ok()
        );
        assert!(
            ResourceType::RoleAssignments
                .check("2022-04-01", "global")
                .is_ok()
        );
        assert!(
            ResourceType::RoleAssignments
                .check("2023-01-31", "global")
                .is_err()
        );
        assert!(
            ResourceType::RoleDefinitions
                .check("2022-04-01", "global")
                .is_ok()
        );
    }
}
