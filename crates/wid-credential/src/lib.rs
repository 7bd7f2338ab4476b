//! The client side of wid: Microsoft Entra access tokens over HTTPS, against the stand-in or
//! real Azure alike. It speaks only the wire protocol; it imports neither the stand-in cloud
//! nor the connections server, so what passes against `wid up` passes against Entra.
//!
//! - [`WorkloadIdentityCredential`]: a projected service-account token exchanged for an
//!   access token (federated `client_assertion`), with the token file re-read when it may
//!   have been rotated.
//! - [`ClientSecretCredential`], [`ClientCertificateCredential`] (an RS256 client assertion
//!   with `x5t`), [`ManagedIdentityCredential`] (IMDS and App Service).
//! - [`DefaultAzureCredential`]: azure-identity's chain (environment, workload identity,
//!   managed identity) with Airflow's `managed_identity_client_id` /
//!   `workload_identity_tenant_id`, reporting which link it used and why others were skipped;
//!   with [`AzureCliCredential`] (the CLI's `az login`) as a last link for operators.
//! - [`TokenCache`]: refresh ahead of expiry by azure-identity's rules, keep serving the old
//!   token when an early refresh fails, and one exchange for many concurrent callers.
//! - [`Pipeline`]: retries on 429, 5xx and timeouts, honouring `Retry-After`, within a bounded
//!   total time; the clock and the sleeper are injected.
//! - Errors that explain ([`CredentialError`], [`TokenError`]): the AADSTS code, the values the
//!   server named, and a remedy.

mod azure_cli;
mod cache;
mod chain;
mod client_certificate;
mod client_secret;
mod env;
mod error;
mod managed_identity;
mod oauth;
mod pipeline;
mod secret;
mod workload_identity;

pub use azure_cli::{AzureCliCredential, CliAccount, CliCloud};
pub use cache::{CachedToken, TokenCache};
pub use chain::{ChainOptions, DefaultAzureCredential, LinkAttempt, OnlyCredential};
pub use client_certificate::ClientCertificateCredential;
pub use client_secret::ClientSecretCredential;
pub use env::EnvVars;
pub use error::{CredentialError, TokenError, chain as error_chain};
pub use managed_identity::ManagedIdentityCredential;
pub use pipeline::{MAX_RESPONSE, Pipeline, RetryPolicy, Sleeper, TokioSleeper, read_capped};
pub use secret::Secret;
pub use workload_identity::WorkloadIdentityCredential;

/// An access token and when it expires.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The bearer token.
    pub token: Secret,
    /// Unix expiry time.
    pub expires_on: i64,
}

/// Per-call options.
#[derive(Debug, Clone, Default)]
pub struct TokenRequestOptions {
    /// Ask for a token in another tenant; allowed only if the credential lists it in its
    /// additionally allowed tenants (or `*`).
    pub tenant_id: Option<String>,
}

/// Picks the tenant of a request: the configured one, or a per-call one that is allowed.
pub fn resolve_tenant(
    configured: &str,
    requested: Option<&str>,
    allowed: &[String],
) -> Result<String, CredentialError> {
    match requested {
        None => Ok(configured.to_string()),
        Some(t) if t.eq_ignore_ascii_case(configured) => Ok(configured.to_string()),
        Some(t)
            if allowed
                .iter()
                .any(|a| a == "*" || a.eq_ignore_ascii_case(t)) =>
        {
            Ok(t.to_string())
        }
        Some(t) => Err(CredentialError::TenantNotAllowed {
            requested: t.to_string(),
            configured: configured.to_string(),
        }),
    }
}

/// The resource of a `/.default` scope (`https://management.azure.com/.default` →
/// `https://management.azure.com`), for protocols that take a resource.
pub fn scope_to_resource(scope: &str) -> &str {
    scope.strip_suffix("/.default").unwrap_or(scope)
}

/// The claims of a JWT, undecoded signature; for display (`wid token --output json`).
pub fn jwt_claims(token: &str) -> Option<serde_json::Value> {
    use base64::Engine;
    let part = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants() {
        assert_eq!(resolve_tenant("a", None, &[]).unwrap(), "a");
        assert_eq!(resolve_tenant("a", Some("A"), &[]).unwrap(), "a");
        assert_eq!(resolve_tenant("a", Some("b"), &["b".into()]).unwrap(), "b");
        assert_eq!(resolve_tenant("a", Some("c"), &["*".into()]).unwrap(), "c");
        let e = resolve_tenant("a", Some("c"), &["b".into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'c'") && e.contains("additionally_allowed_tenants"),
            "{e}"
        );
        assert_eq!(scope_to_resource("https://x/.default"), "https://x");
    }
}
