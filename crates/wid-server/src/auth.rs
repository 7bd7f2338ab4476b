//! Who may call the API: the administrator key created on first start, or an access token
//! from the stand-in token service for the wid API audience, verified with the tenant's
//! JWKS fetched over HTTPS (as any resource verifies Entra tokens).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use wid_jose::{UnverifiedJwt, VerifyingKey};

use crate::error::ApiError;

/// The audience of tokens for wid's API.
pub const API_AUDIENCE: &str = "api://wid";

/// Verifies tokens of one tenant's token service.
#[derive(Debug)]
pub struct StsVerifier {
    authority: String,
    tenant_id: String,
    http: reqwest::Client,
    /// The tenant's keys, each parsed once, and when they were fetched.
    keys: Mutex<(Vec<Arc<VerifyingKey>>, i64)>,
}

impl StsVerifier {
    /// A verifier for `{authority}/{tenant_id}`.
    pub fn new(authority: &str, tenant_id: &str, http: reqwest::Client) -> Self {
        Self {
            authority: authority.trim_end_matches('/').into(),
            tenant_id: tenant_id.into(),
            http,
            keys: Mutex::new((Vec::new(), 0)),
        }
    }

    async fn key(&self, kid: &str, now: i64) -> Option<Arc<VerifyingKey>> {
        let find = |keys: &[Arc<VerifyingKey>]| keys.iter().find(|k| k.kid() == Some(kid)).cloned();
        {
            let g = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(k) = find(&g.0) {
                return Some(k);
            }
            if now - g.1 < 10 {
                return None;
            }
        }
        let url = format!("{}/{}/discovery/v2.0/keys", self.authority, self.tenant_id);
        let resp = self
            .http
            .get(&url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        let body = wid_credential::read_capped(resp, 256 * 1024).await.ok()?;
        let set: wid_jose::JwkSet = serde_json::from_slice(&body).ok()?;
        // Keys that cannot verify RS256 are left out: a token naming one is unknown.
        let keys: Vec<Arc<VerifyingKey>> = set
            .keys
            .iter()
            .filter_map(|k| VerifyingKey::from_jwk(k).ok().map(Arc::new))
            .collect();
        let found = find(&keys);
        *self.keys.lock().unwrap_or_else(|e| e.into_inner()) = (keys, now);
        found
    }

    /// Checks signature, issuer, audience and expiry; returns the caller it names.
    pub async fn verify(&self, token: &str, now: i64) -> Result<Caller, &'static str> {
        let jwt = UnverifiedJwt::parse(token).map_err(|_| "not a JWT")?;
        if jwt.alg() != Some("RS256") {
            return Err("not RS256");
        }
        let key = self
            .key(jwt.kid().unwrap_or(""), now)
            .await
            .ok_or("unknown signing key")?;
        jwt.verify_with(&key).map_err(|_| "bad signature")?;
        if jwt.str_claim("iss")
            != Some(format!("https://sts.windows.net/{}/", self.tenant_id).as_str())
        {
            return Err("issued by another tenant");
        }
        if !jwt.audiences().contains(&API_AUDIENCE) {
            return Err("issued for another audience");
        }
        if jwt.time_claim("exp").is_none_or(|e| now >= e) {
            return Err("expired");
        }
        Ok(Caller::Principal {
            oid: jwt.str_claim("oid").unwrap_or("").to_string(),
            appid: jwt
                .str_claim("appid")
                .or_else(|| jwt.str_claim("azp"))
                .unwrap_or("")
                .to_string(),
        })
    }
}

/// Who called the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The local administrator (the key in `$WID_HOME/api-key`).
    Admin,
    /// A principal with a token for `api://wid`.
    Principal {
        /// The token's `oid` claim: the principal's object id (a managed identity's
        /// `principalId`).
        oid: String,
        /// The token's `appid` claim (v1; `azp` in v2): the client id (a managed identity's
        /// `clientId`).
        appid: String,
    },
}

/// The API's authentication settings.
#[derive(Debug)]
pub struct ApiAuth {
    /// SHA-256 (hex) of the administrator key.
    pub admin_key_sha256: String,
    /// Token verification, when a token service is configured.
    pub sts: Option<StsVerifier>,
}

impl ApiAuth {
    /// Authenticates a request; returns who called (`admin`, or the token's `oid`).
    pub async fn check(&self, headers: &HeaderMap, now: i64) -> Result<String, ApiError> {
        Ok(match self.caller(headers, now).await? {
            Caller::Admin => "admin".into(),
            Caller::Principal { oid, .. } => oid,
        })
    }

    /// Authenticates a request and lets only the administrator through: 403 for a valid
    /// token of any other principal (routes that return secrets).
    pub async fn require_admin(
        &self,
        headers: &HeaderMap,
        now: i64,
        route: &str,
    ) -> Result<(), ApiError> {
        self.require_admin_for(headers, now, |oid| format!(
            "{route} returns passwords and secret extras in clear, so only the administrator may call it; the caller is principal `{oid}`, authenticated with a token. Call it with the admin key in $WID_HOME/api-key (as `wid connections export` does), or read the masked `GET /api/v2/connections`."
        ))
        .await
    }

    /// Authenticates a request and lets only the administrator through; a valid token of any
    /// other principal gets 403 with `why(oid)` as its detail.
    pub async fn require_admin_for(
        &self,
        headers: &HeaderMap,
        now: i64,
        why: impl FnOnce(&str) -> String,
    ) -> Result<(), ApiError> {
        match self.caller(headers, now).await? {
            Caller::Admin => Ok(()),
            Caller::Principal { oid, .. } => Err(ApiError::forbidden(why(&oid))),
        }
    }

    /// Authenticates a request; returns who called.
    pub async fn caller(&self, headers: &HeaderMap, now: i64) -> Result<Caller, ApiError> {
        let Some(v) = headers.get(axum::http::header::AUTHORIZATION) else {
            return Err(ApiError::unauthorized(
                "Not authenticated: send `Authorization: Bearer <token>` (the admin key in $WID_HOME/api-key, or a token for api://wid)",
            ));
        };
        let token = v
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .ok_or_else(|| {
                ApiError::unauthorized("Invalid authorization header: use `Bearer <token>`")
            })?;
        if wid_jose::sha256_hex(token.as_bytes()) == self.admin_key_sha256 {
            return Ok(Caller::Admin);
        }
        match &self.sts {
            Some(v) if token.contains('.') => v
                .verify(token, now)
                .await
                .map_err(|why| ApiError::unauthorized(format!("Invalid token: {why}"))),
            _ => Err(ApiError::unauthorized("Invalid token")),
        }
    }
}
