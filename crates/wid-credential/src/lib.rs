//! The client side of wid: getting Entra access tokens over HTTPS, against the stand-in or
//! real Azure alike. It speaks only the wire protocol; it imports neither the stand-in
//! cloud nor the connections server.
//!
//! This first part has [`ClientSecretCredential`] (wid's CLI uses it as the local
//! administrator) and the typed, explained token error. Workload identity, caching and the
//! chain come with the credential issue.

mod error;
mod secret;

use std::time::Duration;

use serde::Deserialize;

pub use error::{CredentialError, TokenError};
pub use secret::Secret;

/// An access token and when it expires.
#[derive(Clone)]
pub struct AccessToken {
    /// The bearer token.
    pub token: Secret,
    /// Unix expiry time.
    pub expires_on: i64,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &self.token)
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// A client id and secret in a tenant, exchanged at `{authority}/{tenant}/oauth2/v2.0/token`.
#[derive(Debug, Clone)]
pub struct ClientSecretCredential {
    authority: String,
    tenant_id: String,
    client_id: String,
    secret: Secret,
    http: reqwest::Client,
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
        Self {
            authority: authority.trim_end_matches('/').to_string(),
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            secret,
            http,
        }
    }

    /// Gets a token for `scope` (e.g. `https://management.azure.com/.default`).
    pub async fn get_token(&self, scope: &str, now: i64) -> Result<AccessToken, CredentialError> {
        let url = format!("{}/{}/oauth2/v2.0/token", self.authority, self.tenant_id);
        let form = [
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.expose()),
            ("grant_type", "client_credentials"),
            ("scope", scope),
        ];
        post_token(&self.http, &url, &form, now).await
    }
}

/// Posts a token request and reads the answer into a token or an explained error.
pub async fn post_token(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
    now: i64,
) -> Result<AccessToken, CredentialError> {
    let resp = http
        .post(url)
        .form(form)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| CredentialError::Unreachable {
            url: url.to_string(),
            detail: error::chain(&e),
        })?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| CredentialError::Unreachable {
            url: url.to_string(),
            detail: e.to_string(),
        })?;
    if !status.is_success() {
        return Err(CredentialError::Token(TokenError::from_body(
            status.as_u16(),
            &body,
        )));
    }
    let parsed: TokenResponse =
        serde_json::from_slice(&body).map_err(|e| CredentialError::UnexpectedResponse {
            url: url.to_string(),
            detail: e.to_string(),
        })?;
    let expires_in = match parsed.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(serde_json::Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    };
    Ok(AccessToken {
        token: Secret::new(parsed.access_token),
        expires_on: now + expires_in,
    })
}
