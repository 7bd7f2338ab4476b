//! The environment variables the credentials read: the same names the Azure SDKs read.

/// Every environment variable wid's credentials read.
pub struct EnvVars;

impl EnvVars {
    /// The client id of the identity (the workload identity webhook injects it).
    pub const AZURE_CLIENT_ID: &'static str = "AZURE_CLIENT_ID";
    /// The tenant id.
    pub const AZURE_TENANT_ID: &'static str = "AZURE_TENANT_ID";
    /// The projected service-account token file.
    pub const AZURE_FEDERATED_TOKEN_FILE: &'static str = "AZURE_FEDERATED_TOKEN_FILE";
    /// The authority host, `https://login.microsoftonline.com/` by default.
    pub const AZURE_AUTHORITY_HOST: &'static str = "AZURE_AUTHORITY_HOST";
    /// A client secret (EnvironmentCredential).
    pub const AZURE_CLIENT_SECRET: &'static str = "AZURE_CLIENT_SECRET";
    /// A PEM file with a certificate and its private key (EnvironmentCredential).
    pub const AZURE_CLIENT_CERTIFICATE_PATH: &'static str = "AZURE_CLIENT_CERTIFICATE_PATH";
    /// Extra tenants, `;`-separated (as azidentity reads it).
    pub const AZURE_ADDITIONALLY_ALLOWED_TENANTS: &'static str =
        "AZURE_ADDITIONALLY_ALLOWED_TENANTS";
    /// App Service managed identity endpoint.
    pub const IDENTITY_ENDPOINT: &'static str = "IDENTITY_ENDPOINT";
    /// App Service managed identity header.
    pub const IDENTITY_HEADER: &'static str = "IDENTITY_HEADER";
    /// Overrides the IMDS host (as azure-identity's pod identity setting does).
    pub const AZURE_POD_IDENTITY_AUTHORITY_HOST: &'static str = "AZURE_POD_IDENTITY_AUTHORITY_HOST";
    /// Narrows the chain: `prod`, `dev`, or one credential's name.
    pub const AZURE_TOKEN_CREDENTIALS: &'static str = "AZURE_TOKEN_CREDENTIALS";

    /// A non-empty variable.
    pub fn get(name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}
