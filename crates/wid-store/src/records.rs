//! Rows as plain structs.

use wid_model::secret::Secret;

/// A directory (Entra tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Tenant id (GUID).
    pub id: String,
    /// Display name.
    pub display_name: String,
}

/// A subscription, owned by a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Subscription id (GUID).
    pub id: String,
    /// The tenant it trusts.
    pub tenant_id: String,
    /// Display name.
    pub display_name: String,
}

/// A resource group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceGroup {
    /// Subscription id.
    pub subscription_id: String,
    /// Name as created.
    pub name: String,
    /// Azure region.
    pub location: String,
    /// Tags as a JSON object text.
    pub tags: String,
}

/// A user-assigned managed identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Object id of its service principal.
    pub principal_id: String,
    /// Client (application) id.
    pub client_id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Subscription id.
    pub subscription_id: String,
    /// Resource group name as created.
    pub resource_group: String,
    /// Name as created.
    pub name: String,
    /// Azure region.
    pub location: String,
    /// Tags as a JSON object text.
    pub tags: String,
}

/// A federated identity credential of an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedCredential {
    /// The identity it belongs to.
    pub identity_principal_id: String,
    /// Name as created.
    pub name: String,
    /// Issuer URL.
    pub issuer: String,
    /// Subject.
    pub subject: String,
    /// The one audience.
    pub audience: String,
    /// Creation time (Unix seconds).
    pub created_at: i64,
}

/// An application registration with a client secret (wid's local administrator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// Client id.
    pub client_id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Object id of its service principal.
    pub principal_id: String,
    /// Display name.
    pub display_name: String,
    /// SHA-256 (hex) of the client secret; the secret itself is never stored.
    pub secret_sha256: String,
}

/// A stored signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// Key id.
    pub kid: String,
    /// `issuer` or `sts`.
    pub purpose: String,
    /// PKCS#8 PEM (in the database, a Fernet token of it).
    pub private_pem: Secret,
    /// Creation time.
    pub created_at: i64,
    /// When it stopped signing, if it has.
    pub retired_at: Option<i64>,
    /// When it leaves the JWKS, if retired.
    pub expires_at: Option<i64>,
}

/// A role assignment: a principal has a role at a scope and below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignment {
    /// The assignment's name (a GUID).
    pub name: String,
    /// The subscription the scope is in.
    pub subscription_id: String,
    /// `/subscriptions/{s}` or `/subscriptions/{s}/resourceGroups/{rg}`, as given.
    pub scope: String,
    /// The role definition's GUID.
    pub role_definition_id: String,
    /// The principal's object id.
    pub principal_id: String,
    /// `ServicePrincipal`, `User` or `Group`.
    pub principal_type: String,
}

/// An application registered as a resource principal for a user's own API, with its
/// identifier URIs (Microsoft Graph's `application`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceApp {
    /// Application (client) id.
    pub app_id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Object id of the application.
    pub object_id: String,
    /// Display name.
    pub display_name: String,
    /// Identifier URIs as given, in order.
    pub identifier_uris: Vec<String>,
    /// Unix time of creation.
    pub created_at: i64,
}
