//! Workload identity federation: the projected service-account token in
//! `AZURE_FEDERATED_TOKEN_FILE` is posted as `client_assertion`, exactly the form fields
//! azure-identity sends.
//!
//! The token file is re-read when it may have been rotated: every 10 minutes (as the SDKs
//! do), when its modification time changes, when the assertion in memory is within a minute
//! of its `exp` (so a stale assertion is never sent when a fresh one is on disk), and once
//! more after the server answers AADSTS700024.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::cache::TokenCache;
use crate::env::EnvVars;
use crate::pipeline::Pipeline;
use crate::secret::Secret;
use crate::{AccessToken, CredentialError, TokenError, TokenRequestOptions, resolve_tenant};

/// Re-read the file at least this often (seconds), as azure-identity and azidentity do.
pub const REREAD_INTERVAL: i64 = 600;
/// Re-read when the assertion in memory expires within this many seconds.
pub const EXPIRY_MARGIN: i64 = 60;
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Clone)]
struct Assertion {
    jwt: Secret,
    exp: i64,
    iss: String,
    sub: String,
    aud: String,
    read_at: i64,
    mtime: Option<SystemTime>,
}

/// A managed identity (or app) reached through a federated service-account token.
#[derive(Clone)]
pub struct WorkloadIdentityCredential {
    authority: String,
    tenant_id: String,
    client_id: String,
    token_file: PathBuf,
    allowed_tenants: Vec<String>,
    pipeline: Pipeline,
    cache: Arc<TokenCache>,
    assertion: Arc<Mutex<Option<Assertion>>>,
}

impl std::fmt::Debug for WorkloadIdentityCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkloadIdentityCredential")
            .field("authority", &self.authority)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("token_file", &self.token_file)
            .finish()
    }
}

/// Checks an authority host the way the SDKs do: https only; a bare host gets `https://`.
pub fn normalize_authority(authority: &str) -> Result<String, CredentialError> {
    let a = authority.trim().trim_end_matches('/');
    if a.starts_with("https://") {
        Ok(a.to_string())
    } else if a.contains("://") {
        Err(CredentialError::Config(format!(
            "'{authority}' is an invalid authority. The value must be a TLS protected (https) URL."
        )))
    } else if a.is_empty() {
        Err(CredentialError::Config(
            "the authority host is empty".into(),
        ))
    } else {
        Ok(format!("https://{a}"))
    }
}

impl WorkloadIdentityCredential {
    /// A credential from explicit values; `None` falls back to the environment
    /// (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST).
    pub fn new(
        client_id: Option<&str>,
        tenant_id: Option<&str>,
        token_file: Option<&Path>,
        authority: Option<&str>,
        pipeline: Pipeline,
    ) -> Result<Self, CredentialError> {
        let client_id = client_id
            .map(String::from)
            .or_else(|| EnvVars::get(EnvVars::AZURE_CLIENT_ID));
        let tenant_id = tenant_id
            .map(String::from)
            .or_else(|| EnvVars::get(EnvVars::AZURE_TENANT_ID));
        let token_file = token_file
            .map(Path::to_path_buf)
            .or_else(|| EnvVars::get(EnvVars::AZURE_FEDERATED_TOKEN_FILE).map(PathBuf::from));
        let mut missing = Vec::new();
        if client_id.is_none() {
            missing.push("client_id (AZURE_CLIENT_ID)");
        }
        if tenant_id.is_none() {
            missing.push("tenant_id (AZURE_TENANT_ID)");
        }
        if token_file.is_none() {
            missing.push("token_file_path (AZURE_FEDERATED_TOKEN_FILE)");
        }
        if !missing.is_empty() {
            return Err(CredentialError::Unavailable {
                credential: "WorkloadIdentityCredential",
                reason: format!(
                    "missing {}; the workload identity webhook injects these into pods labelled azure.workload.identity/use: \"true\" (locally: eval \"$(wid env --namespace NS --service-account SA --client-id ID)\")",
                    missing.join(", ")
                ),
            });
        }
        let authority = match authority
            .map(String::from)
            .or_else(|| EnvVars::get(EnvVars::AZURE_AUTHORITY_HOST))
        {
            Some(a) => normalize_authority(&a)?,
            None => "https://login.microsoftonline.com".into(),
        };
        Ok(Self {
            authority,
            tenant_id: tenant_id.unwrap_or_default(),
            client_id: client_id.unwrap_or_default(),
            token_file: token_file.unwrap_or_default(),
            allowed_tenants: Vec::new(),
            pipeline,
            cache: Arc::new(TokenCache::new()),
            assertion: Arc::new(Mutex::new(None)),
        })
    }

    /// Allows per-call tenants (`*` for any).
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

    /// The tenant id.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The authority.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The token file.
    pub fn token_file(&self) -> &Path {
        &self.token_file
    }

    /// Gets a token for `scopes` (all of one resource, `.../.default`).
    pub async fn get_token(&self, scopes: &[&str]) -> Result<AccessToken, CredentialError> {
        self.get_token_with(scopes, &TokenRequestOptions::default())
            .await
    }

    /// Gets a token with per-call options.
    pub async fn get_token_with(
        &self,
        scopes: &[&str],
        opts: &TokenRequestOptions,
    ) -> Result<AccessToken, CredentialError> {
        if opts.tenant_id.is_none()
            && let Some(t) = self.cached_token(scopes)
        {
            return Ok(t);
        }
        let tenant = if opts.tenant_id.is_none() {
            std::borrow::Cow::Borrowed(self.tenant_id.as_str())
        } else {
            std::borrow::Cow::Owned(resolve_tenant(
                &self.tenant_id,
                opts.tenant_id.as_deref(),
                &self.allowed_tenants,
            )?)
        };
        let mut key = String::with_capacity(tenant.len() + 64);
        key.push_str(&tenant);
        for s in scopes {
            key.push('\n');
            key.push_str(s);
        }
        let clock = &self.pipeline.clock;
        self.cache
            .get_or_fetch(&key, || clock.now(), || self.exchange(&tenant, scopes))
            .await
    }

    /// The cached token for `scopes` in the configured tenant, if it needs no refresh: no I/O,
    /// no await, no allocation, no lock.
    pub fn cached_token(&self, scopes: &[&str]) -> Option<AccessToken> {
        self.cache
            .peek_scopes(&self.tenant_id, scopes, self.pipeline.clock.now())
    }

    /// Reads the token file (off the executor: tokio's file operations run on its blocking
    /// pool), unless the copy read before is still good.
    async fn read_assertion(&self, force: bool) -> Result<Assertion, CredentialError> {
        let now = self.pipeline.clock.now();
        let mtime = tokio::fs::metadata(&self.token_file)
            .await
            .and_then(|m| m.modified())
            .ok();
        if !force {
            let slot = self.assertion.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(a) = slot.as_ref()
                && now - a.read_at < REREAD_INTERVAL
                && a.exp - now > EXPIRY_MARGIN
                && a.mtime == mtime
            {
                return Ok(a.clone());
            }
        }
        let text = tokio::fs::read_to_string(&self.token_file)
            .await
            .map_err(|e| CredentialError::TokenFile {
                path: self.token_file.display().to_string(),
                detail: e.to_string(),
            })?;
        let jwt = text.trim().to_string();
        if jwt.is_empty() {
            return Err(CredentialError::TokenFile {
                path: self.token_file.display().to_string(),
                detail: "the file is empty".into(),
            });
        }
        let claims = crate::jwt_claims(&jwt).unwrap_or_default();
        let s = |k: &str| {
            claims
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let aud = match claims.get("aud") {
            Some(serde_json::Value::Array(a)) => a
                .first()
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
            Some(serde_json::Value::String(v)) => v.clone(),
            _ => String::new(),
        };
        let a = Assertion {
            jwt: Secret::new(jwt),
            exp: claims.get("exp").and_then(|v| v.as_i64()).unwrap_or(0),
            iss: s("iss"),
            sub: s("sub"),
            aud,
            read_at: now,
            mtime,
        };
        *self.assertion.lock().unwrap_or_else(|e| e.into_inner()) = Some(a.clone());
        Ok(a)
    }

    async fn post(
        &self,
        tenant: &str,
        scope: &str,
        a: &Assertion,
    ) -> Result<(AccessToken, Option<i64>), CredentialError> {
        let url = format!("{}/{tenant}/oauth2/v2.0/token", self.authority);
        let form = [
            ("client_assertion", a.jwt.expose_str()),
            ("client_assertion_type", JWT_BEARER),
            ("client_id", self.client_id.as_str()),
            ("grant_type", "client_credentials"),
            ("scope", scope),
        ];
        crate::oauth::post_form(&self.pipeline, &url, &form).await
    }

    async fn exchange(
        &self,
        tenant: &str,
        scopes: &[&str],
    ) -> Result<(AccessToken, Option<i64>), CredentialError> {
        let scope = scopes.join(" ");
        let a = self.read_assertion(false).await?;
        let first = self.post(tenant, &scope, &a).await;
        let (result, a) = match first {
            Err(CredentialError::Token(t)) if t.code == Some(700024) => {
                // The file may have been rotated since it was read: read it again and retry once.
                let fresh = self.read_assertion(true).await?;
                if fresh.jwt != a.jwt {
                    tracing::info!(file = %self.token_file.display(), "retrying with the rotated token file after AADSTS700024");
                    (self.post(tenant, &scope, &fresh).await, fresh)
                } else {
                    (Err(CredentialError::Token(t)), fresh)
                }
            }
            other => (other, a),
        };
        result.map_err(|e| self.explain(e, tenant, &a))
    }

    fn explain(&self, e: CredentialError, tenant: &str, a: &Assertion) -> CredentialError {
        let CredentialError::Token(t) = e else {
            return e;
        };
        let now = self.pipeline.clock.now();
        let age = a
            .mtime
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .map(|d| format!("{}s", d.as_secs()))
            .unwrap_or_else(|| "?".into());
        CredentialError::Token(Box::new(
            t.with_context("client_id", self.client_id.clone())
                .with_context("tenant_id", tenant.to_string())
                .with_context("token_file", self.token_file.display().to_string())
                .with_context("token_file_age", age)
                .with_context("assertion_iss", a.iss.clone())
                .with_context("assertion_sub", a.sub.clone())
                .with_context("assertion_aud", a.aud.clone())
                .with_context("assertion_exp", wid_model::time_fmt::aadsts_instant(a.exp))
                .with_context("local_time", wid_model::time_fmt::aadsts_instant(now)),
        ))
    }
}

impl From<TokenError> for CredentialError {
    fn from(t: TokenError) -> Self {
        CredentialError::Token(Box::new(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_rules() {
        assert_eq!(normalize_authority("https://h:1/").unwrap(), "https://h:1");
        assert_eq!(
            normalize_authority("localhost:8443").unwrap(),
            "https://localhost:8443"
        );
        assert!(
            normalize_authority("http://h")
                .unwrap_err()
                .to_string()
                .contains("TLS protected (https)")
        );
    }

    #[test]
    fn missing_values_are_named() {
        let p = Pipeline::new(reqwest::Client::new());
        let e = WorkloadIdentityCredential::new(Some("c"), Some("t"), None, None, p);
        // AZURE_FEDERATED_TOKEN_FILE may be set in the environment running the tests.
        if std::env::var_os("AZURE_FEDERATED_TOKEN_FILE").is_none() {
            assert!(
                e.unwrap_err()
                    .to_string()
                    .contains("AZURE_FEDERATED_TOKEN_FILE")
            );
        }
    }
}
