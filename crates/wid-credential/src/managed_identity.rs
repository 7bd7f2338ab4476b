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
        /// Where the host came from: the default, or AZURE_POD_IDENTITY_AUTHORITY_HOST.
        from_env: bool,
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
            _ => {
                let env = EnvVars::get(EnvVars::AZURE_POD_IDENTITY_AUTHORITY_HOST)
                    .filter(|h| !h.is_empty());
                Source::Imds {
                    from_env: env.is_some(),
                    host: env
                        .unwrap_or_else(|| IMDS_DEFAULT.into())
                        .trim_end_matches('/')
                        .to_string(),
                }
            }
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
            Source::Imds { host, from_env } => format!(
                "IMDS at {host} ({})",
                if *from_env {
                    "from AZURE_POD_IDENTITY_AUTHORITY_HOST"
                } else {
                    "the default; AZURE_POD_IDENTITY_AUTHORITY_HOST is not set"
                }
            ),
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
            Source::Imds { host, .. } => {
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
                    vec![("X-IDENTITY-HEADER", header.expose_str().to_string())],
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
        // A probe answered by something that is not IMDS (a firewall's or proxy's page, a
        // captive portal) means there is no managed identity endpoint here, as azure-identity
        // concludes when IMDS's answer is not its JSON.
        if probing && !imds_shaped(&resp.body) {
            return Err(CredentialError::Unavailable {
                credential: "ManagedIdentityCredential",
                reason: format!(
                    "{} answered HTTP {} with a body that is not IMDS's ('{}'): something else (a firewall or proxy) answers at that address, so this host has no managed identity endpoint",
                    self.describe(),
                    resp.status,
                    snippet(&resp.body),
                ),
            });
        }
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
            return Err(CredentialError::ManagedIdentity {
                endpoint: self.describe(),
                status: resp.status,
                error: Box::new(TokenError::from_body(resp.status, &resp.body)),
            });
        }
        crate::oauth::parse_token_response(&url, &resp.body, self.pipeline.clock.now())
    }
}

/// Whether a body is IMDS's JSON: an object with a token or an OAuth error.
fn imds_shaped(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| {
        v.get("access_token").is_some_and(|t| t.is_string())
            || v.get("error").is_some_and(|e| e.is_string())
    })
}

/// The start of a body, as text, for an explanation.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(120)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_imds_from_other_answers() {
        assert!(imds_shaped(br#"{"access_token":"x","expires_on":"1"}"#));
        assert!(imds_shaped(
            br#"{"error":"invalid_request","error_description":"Identity not found"}"#
        ));
        assert!(!imds_shaped(b"resolve_deny: denied destination"));
        assert!(!imds_shaped(b"<html><body>Access denied</body></html>"));
        assert!(!imds_shaped(br#"{"message":"forbidden"}"#));
        assert_eq!(snippet(b"a\n  b\tc"), "a b c");
    }
}
