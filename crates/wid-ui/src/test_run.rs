//! Testing a connection from the form. Without a service account it is the API's
//! `POST /api/v2/connections/test` (the server's own environment, as Airflow's Test button).
//! As a deployment component (`NAMESPACE/SERVICE_ACCOUNT`) it walks the seed's path over
//! wid's public routes: the issuer mints the component's projected token, the token service
//! exchanges it for the connection's managed identity, and ARM reads the subscription. The
//! page shows the access token's claims, never the token; a refusal is explained with its
//! AADSTS code and the fix.

use axum::http::Method;
use serde_json::{Value, json};
use wid_credential::TokenError;
use wid_model::connection::Connection;
use wid_model::connection::registry;

use crate::UiState;
use crate::backend::{ARM_SCOPE, JWT_BEARER, Payload, enc};
use crate::connection_form::body;
use crate::error::UiError;

/// What a test found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It worked.
    Success {
        /// What was done, in a sentence.
        message: String,
        /// The access token's claims (name, value), when the UI did the exchange itself.
        claims: Vec<(String, String)>,
    },
    /// It did not.
    Failure {
        /// What failed, with the server's words.
        message: String,
        /// What to do about it.
        remedy: Option<String>,
    },
}

fn fail(message: impl Into<String>, remedy: Option<String>) -> Outcome {
    Outcome::Failure {
        message: message.into(),
        remedy,
    }
}

/// The claims of a JWT's payload, without verifying it (the UI shows them, it does not
/// trust them).
pub fn claims(token: &str) -> Vec<(String, String)> {
    let payload = token.split('.').nth(1).unwrap_or("");
    let Ok(bytes) = wid_jose::b64url_decode(payload) else {
        return Vec::new();
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => m
            .into_iter()
            .map(|(k, v)| {
                let shown = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, shown)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Tests `conn`, as `test_as` (`NAMESPACE/SERVICE_ACCOUNT`) when it is not empty.
pub async fn run(s: &UiState, conn: &Connection, test_as: &str) -> Result<Outcome, UiError> {
    if test_as.is_empty() {
        let r = s
            .api(Method::POST, "/api/v2/connections/test", Some(&body(conn)))
            .await?;
        if !r.ok() {
            return Ok(fail(r.detail(), None));
        }
        let message = r.json["message"].as_str().unwrap_or("").to_string();
        return Ok(if r.json["status"].as_bool() == Some(true) {
            Outcome::Success {
                message,
                claims: Vec::new(),
            }
        } else {
            fail(message, None)
        });
    }
    let Some((ns, sa)) = test_as.split_once('/') else {
        return Ok(fail(
            format!("'{test_as}' is not NAMESPACE/SERVICE_ACCOUNT"),
            Some(
                "write the component's namespace and service account, e.g. airflow/airflow-worker"
                    .into(),
            ),
        ));
    };
    let Some(azure) =
        registry::lookup("azure").filter(|_| conn.conn_type.as_deref() == Some("azure"))
    else {
        return Ok(fail(
            "only azure connections can be tested as a component",
            None,
        ));
    };
    let field = |n: &str| azure.field_value(conn, n).ok().flatten().map(|(v, _)| v);
    let (Some(client_id), Some(tenant)) = (
        field("managed_identity_client_id"),
        field("workload_identity_tenant_id"),
    ) else {
        return Ok(fail(
            "a component uses the connection's managed identity only when both Managed Identity Client ID and Workload Identity Tenant ID are set",
            Some("fill in both workload identity fields".into()),
        ));
    };
    let minted = s
        .arm(
            Method::POST,
            &format!(
                "/issuer/api/v1/namespaces/{}/serviceaccounts/{}/token",
                enc(ns),
                enc(sa)
            ),
            Some(&json!({"spec": {}})),
        )
        .await?;
    if !minted.ok() {
        return Ok(fail(
            format!(
                "the issuer did not mint a token for {test_as}: {}",
                minted.detail()
            ),
            None,
        ));
    }
    let assertion = minted.json["status"]["token"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let presented = claims(&assertion);
    let claim = |k: &str| {
        presented
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id.as_str()),
        ("scope", ARM_SCOPE),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    let r = s
        .call(
            Method::POST,
            &format!("/{}/oauth2/v2.0/token", enc(&tenant)),
            None,
            Payload::Form(&form),
        )
        .await?;
    if !r.ok() {
        let e = TokenError::from_body(r.status, &r.bytes)
            .with_context("client_id", client_id.clone())
            .with_context("tenant_id", tenant.clone())
            .with_context("assertion_iss", claim("iss"))
            .with_context("assertion_sub", claim("sub"))
            .with_context("assertion_aud", claim("aud"));
        return Ok(fail(
            format!(
                "Connection failed as {test_as}: the token service refused the exchange (HTTP {}). {}",
                e.status, e.message
            ),
            Some(e.remedy()),
        ));
    }
    let token = r.json["access_token"].as_str().unwrap_or("");
    let got = claims(token);
    let mut message = format!(
        "Connection success! {test_as} exchanged its projected token for an ARM token of managed identity {client_id}"
    );
    if let Some(sub) = field("subscriptionId") {
        let read = s
            .call(
                Method::GET,
                &format!("/subscriptions/{}?api-version=2022-12-01", enc(&sub)),
                Some(token),
                Payload::None,
            )
            .await?;
        if !read.ok() {
            return Ok(fail(
                format!(
                    "the token works, but reading subscription {sub} failed (HTTP {}): {}",
                    read.status,
                    read.detail()
                ),
                Some("give the identity a role on the subscription or a resource group in it, or correct the Subscription ID".into()),
            ));
        }
        message.push_str(&format!(
            " and read subscription {sub} ('{}')",
            read.json["displayName"].as_str().unwrap_or("")
        ));
    }
    Ok(Outcome::Success {
        message,
        claims: got,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_read_from_the_payload_only() {
        let payload = wid_jose::b64url(br#"{"aud":"x","exp":5}"#);
        let c = claims(&format!("h.{payload}.sig"));
        assert_eq!(
            c,
            vec![("aud".into(), "x".into()), ("exp".into(), "5".into())]
        );
        assert!(claims("garbage").is_empty());
    }
}
