//! The UI's client of wid's public routes, in process: a request goes through the same
//! router the network reaches (`tower::ServiceExt::oneshot`), so the UI sees exactly what the
//! API, ARM, the token service and the issuer answer, and keeps no rule of its own.

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::Value;
use tower::ServiceExt;
use wid_model::secret::Secret;

use crate::UiState;
use crate::error::UiError;

/// Largest response body the UI reads, bytes.
pub const MAX_RESPONSE: usize = 8 * 1024 * 1024;
/// ARM's API version for managed identities and federated credentials.
pub const MSI_API: &str = "2023-01-31";
/// ARM's API version for role assignments.
pub const AUTHZ_API: &str = "2022-04-01";
/// The scope of ARM tokens.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// The client assertion type of a federated credential.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An answer of one of wid's routes.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body as JSON (`Null` when empty or not JSON).
    pub json: Value,
    /// The raw body.
    pub bytes: Vec<u8>,
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error text of any of the wire shapes: Airflow's `detail`, ARM's
    /// `error.message`, Kubernetes' `message`, OAuth's `error_description`.
    pub fn detail(&self) -> String {
        let v = &self.json;
        if let Some(s) = v["detail"].as_str() {
            return s.to_string();
        }
        if let Some(items) = v["detail"].as_array() {
            return items
                .iter()
                .map(|i| {
                    let loc: Vec<String> = i["loc"]
                        .as_array()
                        .map(|l| {
                            l.iter()
                                .map(|x| x.as_str().map(String::from).unwrap_or(x.to_string()))
                                .collect()
                        })
                        .unwrap_or_default();
                    format!("{}: {}", loc.join("."), i["msg"].as_str().unwrap_or(""))
                })
                .collect::<Vec<_>>()
                .join("; ");
        }
        if let Some(m) = v["error"]["message"].as_str() {
            return format!("{}: {m}", v["error"]["code"].as_str().unwrap_or("Error"));
        }
        if let Some(m) = v["error_description"].as_str() {
            return m.to_string();
        }
        if let Some(m) = v["message"].as_str() {
            return m.to_string();
        }
        String::from_utf8_lossy(&self.bytes[..self.bytes.len().min(300)]).into_owned()
    }

    /// This reply as an error of `doing`, unless it succeeded.
    pub fn or_fail(self, doing: impl Into<String>) -> Result<Reply, UiError> {
        if self.ok() {
            Ok(self)
        } else {
            Err(UiError::Backend {
                doing: doing.into(),
                status: self.status,
                detail: self.detail(),
            })
        }
    }
}

/// A request body.
#[derive(Debug)]
pub enum Payload<'a> {
    /// No body.
    None,
    /// JSON.
    Json(&'a Value),
    /// A form.
    Form(&'a [(&'a str, &'a str)]),
}

/// Percent-encodes one path segment or query value.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl UiState {
    /// Sends one request through wid's router.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        payload: Payload<'_>,
    ) -> Result<Reply, UiError> {
        let mut b = Request::builder().method(method.clone()).uri(path);
        if let Some(t) = bearer {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = match payload {
            Payload::None => Body::empty(),
            Payload::Json(v) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(v).unwrap_or_default())
            }
            Payload::Form(f) => {
                b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(serde_urlencoded::to_string(f).unwrap_or_default())
            }
        };
        let req = b.body(body).map_err(|e| UiError::Backend {
            doing: format!("{method} {}", path.split('?').next().unwrap_or("")),
            status: 400,
            detail: e.to_string(),
        })?;
        let Ok(resp) = self.inner.routes.clone().oneshot(req).await;
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), MAX_RESPONSE)
            .await
            .map_err(|e| UiError::Backend {
                doing: format!("{method} {}", path.split('?').next().unwrap_or("")),
                status,
                detail: format!("the answer could not be read: {e}"),
            })?
            .to_vec();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            json,
            bytes,
        })
    }

    /// Calls `/api/v2/...` as the administrator.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, UiError> {
        let key = self.inner.config.admin_key.clone();
        let payload = body.map(Payload::Json).unwrap_or(Payload::None);
        self.call(method, path, Some(key.expose_str()), payload)
            .await
    }

    /// Calls ARM (or the issuer) with the administrator application's ARM token.
    pub async fn arm(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, UiError> {
        let token = self.arm_token().await?;
        let payload = body.map(Payload::Json).unwrap_or(Payload::None);
        self.call(method, path, Some(token.expose_str()), payload)
            .await
    }

    /// The administrator application's ARM token from the token service, cached until five
    /// minutes before it expires.
    async fn arm_token(&self) -> Result<Secret, UiError> {
        let now = self.now();
        if let Some((t, exp)) = self
            .inner
            .arm_token
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            && now < exp - 300
        {
            return Ok(t);
        }
        let app = &self.inner.config.admin_app;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.expose_str()),
            ("scope", ARM_SCOPE),
        ];
        let r = self
            .call(
                Method::POST,
                &format!("/{}/oauth2/v2.0/token", enc(&app.tenant_id)),
                None,
                Payload::Form(&form),
            )
            .await?
            .or_fail("getting the administrator's ARM token")?;
        let token: Secret = r.json["access_token"]
            .as_str()
            .ok_or_else(|| UiError::Backend {
                doing: "getting the administrator's ARM token".into(),
                status: r.status,
                detail: "the answer has no access_token".into(),
            })?
            .into();
        let exp = now + r.json["expires_in"].as_i64().unwrap_or(3600);
        *self
            .inner
            .arm_token
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((token.clone(), exp));
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_of_every_wire_shape() {
        let r = |v: Value| Reply {
            status: 400,
            json: v,
            bytes: Vec::new(),
        };
        assert_eq!(r(serde_json::json!({"detail": "nope"})).detail(), "nope");
        assert_eq!(
            r(serde_json::json!({"detail": [{"loc": ["body", "extra"], "msg": "bad"}]})).detail(),
            "body.extra: bad"
        );
        assert_eq!(
            r(serde_json::json!({"error": {"code": "C", "message": "m"}})).detail(),
            "C: m"
        );
        assert_eq!(enc("a b/c"), "a%20b%2Fc");
    }
}
