//! A client id and secret, exchanged at `{authority}/{tenant}/oauth2/v2.0/token`.

use std::sync::Arc;

use crate::cache::TokenCache;
use crate::pipeline::Pipeline;
use crate::secret::Secret;
use crate::{AccessToken, CredentialError, TokenRequestOptions, resolve_tenant};

/// A service principal with a client secret.
#[derive(Debug, Clone)]
pub struct ClientSecretCredential {
    authority: String,
    tenant_id: String,
    client_id: String,
    secret: Secret,
    allowed_tenants: Vec<String>,
    pipeline: Pipeline,
    cache: Arc<TokenCache>,
}

impl ClientSecretCredential {
    /// A credential. `authority` is `https://host[:port]`; `http` carries the trust roots.
    pub fn new(
        authority: &str,
        tenant_id: &str,
        client_id: &str,
        secret: Secret,
        http: reqwest::Client,
    ) -> Self {
        Self::with_pipeline(authority, tenant_id, client_id, secret, Pipeline::new(http))
    }

    /// A credential over a given pipeline (clock, sleeper, retries).
    pub fn with_pipeline(
        authority: &str,
        tenant_id: &str,
        client_id: &str,
        secret: Secret,
        pipeline: Pipeline,
    ) -> Self {
        Self {
            authority: authority.trim_end_matches('/').to_string(),
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            secret,
            allowed_tenants: Vec::new(),
            pipeline,
            cache: Arc::new(TokenCache::new()),
        }
    }

    /// Allows per-call tenants.
    pub fn with_allowed_tenants(mut self, tenants: Vec<String>) -> Self {
        self.allowed_tenants = tenants;
        self
    }

    /// The token endpoint it posts to.
    pub fn token_endpoint(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.authority, self.tenant_id)
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Gets a token for `scope` (e.g. `https://management.azure.com/.default`); `now` is
    /// ignored in favour of the pipeline's clock and kept for compatibility.
    pub async fn get_token(&self, scope: &str, _now: i64) -> Result<AccessToken, CredentialError> {
        self.get_token_with(&[scope], &TokenRequestOptions::default())
            .await
    }

    /// Gets a token for `scopes`.
    pub async fn get_token_with(
        &self,
        scopes: &[&str],
        opts: &TokenRequestOptions,
    ) -> Result<AccessToken, CredentialError> {
        let tenant = resolve_tenant(
            &self.tenant_id,
            opts.tenant_id.as_deref(),
            &self.allowed_tenants,
        )?;
        let scope = scopes.join(" ");
        let key = format!("{tenant}\n{scope}");
        let clock = self.pipeline.clock.clone();
        self.cache
            .get_or_fetch(
                &key,
                || clock.now(),
                || async {
                    let url = format!("{}/{tenant}/oauth2/v2.0/token", self.authority);
                    let form = [
                        ("client_id", self.client_id.as_str()),
                        ("client_secret", self.secret.expose_str()),
                        ("grant_type", "client_credentials"),
                        ("scope", scope.as_str()),
                    ];
                    crate::oauth::post_form(&self.pipeline, &url, &form)
                        .await
                        .map_err(|e| match e {
                            CredentialError::Token(t) => CredentialError::Token(Box::new(
                                t.with_context("client_id", self.client_id.clone())
                                    .with_context("tenant_id", tenant.clone()),
                            )),
                            e => e,
                        })
                },
            )
            .await
    }
}
