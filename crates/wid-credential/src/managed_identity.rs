//! Managed identity through the instance metadata service (IMDS) or App Service's identity
//! endpoint, with the query parameters and headers the SDKs send.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cache::TokenCache;
use crate::env::EnvVars;
use crate::pipeline::{Pipeline, RetryPolicy};
use crate::{AccessToken, CredentialError, TokenError};

const IMDS_DEFAULT: &str = "http://169.254.169.254";

#[derive(Debug, Clone)]
enum Source {
    Imds {
        host: String,
    },
    AppService {
        endpoint: String,
        header: crate::Secret,
    },
}

/// A managed identity of the host (VM, node, App Service).
#[derive(Debug, Clone)]
pub struct ManagedIdentityCredential {
    source: Source,
    client_id: Option<String>,
    pipeline: Pipeline,
    cache: Arc<TokenCache>,
    probed: Arc<AtomicBool>,
}

impl ManagedIdentityCredential {
    /// From the environment: App Service when IDENTITY_ENDPOINT and IDENTITY_HEADER are set,
    /// else IMDS (at AZURE_POD_IDENTITY_AUTHORITY_HOST or 169.254.169.254).
    /// `client_id` picks a user-assigned identity.
    pub fn new(client_id: Option<&str>, pipeline: Pipeline) -> Self {
        let source = match (
            EnvVars::get(EnvVars::IDENTITY_ENDPOINT),
            EnvVars::get(EnvVars::IDENTITY_HEADER),
        ) {
            (Some(endpoint), Some(header)) => Source::AppService {
                endpoint,
                header: crate::Secret::new(header),
            },
            _ => Source::Imds {
                host: EnvVars::get(EnvVars::AZURE_POD_IDENTITY_AUTHORITY_HOST)
                    .unwrap_or_else(|| IMDS_DEFAULT.into())
                    .trim_end_matches('/')
                    .to_string(),
            },
        };
        Self {
            source,
            client_id: client_id.map(String::from),
            pipeline,
            cache: Arc::new(TokenCache::new()),
            probed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Which endpoint it uses, for reports.
    pub fn describe(&self) -> String {
        match &self.source {
            Source::Imds { host } => format!("IMDS at {host}"),
            Source::AppService { endpoint, .. } => {
                format!("App Service identity endpoint {endpoint}")
            }
        }
    }

    /// Gets a token for one `/.default` scope.
    pub async fn get_token(&self, scopes: &[&str]) -> Result<AccessToken, CredentialError> {
        let [scope] = scopes else {
            return Err(CredentialError::Config(
                "ManagedIdentityCredential takes exactly one scope".into(),
            ));
        };
        let resource = crate::scope_to_resource(scope).to_string();
        let clock = self.pipeline.clock.clone();
        self.cache
            .get_or_fetch(&resource, || clock.now(), || self.fetch(&resource))
            .await
    }

    async fn fetch(&self, resource: &str) -> Result<(AccessToken, Option<i64>), CredentialError> {
        type Pairs = Vec<(&'static str, String)>;
        let (url, query, headers): (String, Pairs, Pairs) = match &self.source {
            Source::Imds { host } => {
                let mut q = vec![
                    ("api-version", "2018-02-01".to_string()),
                    ("resource", resource.to_string()),
                ];
                if let Some(c) = &self.client_id {
                    q.push(("client_id", c.clone()));
                }
                (
                    format!("{host}/metadata/identity/oauth2/token"),
                    q,
                    vec![("Metadata", "true".into())],
                )
            }
            Source::AppService { endpoint, header } => {
                let mut q = vec![
                    ("api-version", "2019-08-01".to_string()),
                    ("resource", resource.to_string()),
                ];
                if let Some(c) = &self.client_id {
                    q.push(("client_id", c.clone()));
                }
                (
                    endpoint.clone(),
                    q,
                    vec![("X-IDENTITY-HEADER", header.expose().to_string())],
                )
            }
        };
        // The first IMDS call is a quick probe: an absent IMDS makes the credential
        // unavailable within a second instead of retrying for a minute.
        let probing =
            matches!(self.source, Source::Imds { .. }) && !self.probed.load(Ordering::Relaxed);
        let pipeline = if probing {
            let mut p = self.pipeline.clone();
            p.retry = RetryPolicy {
                max_retries: 0,
                attempt_timeout: Duration::from_secs(1),
                ..p.retry.clone()
            };
            p
        } else {
            self.pipeline.clone()
        };
        let resp = pipeline
            .send(&url, |http| {
                let mut rb = http.get(&url).query(&query);
                for (k, v) in &headers {
                    rb = rb.header(*k, v);
                }
                rb
            })
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(CredentialError::Unreachable { detail, .. }) if probing => {
                return Err(CredentialError::Unavailable {
                    credential: "ManagedIdentityCredential",
                    reason: format!("no response from {} ({detail})", self.describe()),
                });
            }
            Err(e) => return Err(e),
        };
        self.probed.store(true, Ordering::Relaxed);
        if resp.status == 400 && matches!(self.source, Source::Imds { .. }) {
            let t = TokenError::from_body(resp.status, &resp.body);
            return Err(CredentialError::Unavailable {
                credential: "ManagedIdentityCredential",
                reason: format!(
                    "{} answered 400: {}{}",
                    self.describe(),
                    t.message,
                    self.client_id
                        .as_ref()
                        .map(|c| format!(" (client id {c})"))
                        .unwrap_or_default()
                ),
            });
        }
        if !(200..300).contains(&resp.status) {
            return Err(CredentialError::Token(Box::new(TokenError::from_body(
                resp.status,
                &resp.body,
            ))));
        }
        crate::oauth::parse_token_response(&url, &resp.body, self.pipeline.clock.now())
    }
}
