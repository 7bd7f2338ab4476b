//! `POST /_wid/applications` (administrator only): registers a service principal with a
//! certificate, as `az ad sp create-for-rbac --cert` does through Microsoft Graph's
//! `keyCredentials`, which the stand-in does not take. The body carries the certificate's
//! `x5t` thumbprint and its public key as a JWK (never a private key); the answer names the
//! new application the way Graph does (`appId`, `id`, `displayName`), with its tenant.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use crate::state::CloudState;

/// Routes under `/_wid/applications`.
pub fn router() -> Router<CloudState> {
    Router::new().route("/_wid/applications", post(create))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewApplication {
    display_name: String,
    certificate: NewCertificate,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewCertificate {
    x5t: String,
    public_key: serde_json::Value,
}

fn bad(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": {"code": "Request_BadRequest", "message": message}})),
    )
        .into_response()
}

/// Checks the request: a name, a 20-byte base64url thumbprint, an RSA public JWK.
fn validate(body: &[u8]) -> Result<(NewApplication, String), String> {
    let a: NewApplication =
        serde_json::from_slice(body).map_err(|e| format!("not an application: {e}"))?;
    let name = a.display_name.trim();
    if name.is_empty() || name.len() > 120 {
        return Err("displayName must be 1 to 120 characters".into());
    }
    match wid_jose::b64url_decode(&a.certificate.x5t) {
        Ok(d) if d.len() == 20 => {}
        _ => {
            return Err(format!(
                "certificate.x5t '{}' is not a base64url SHA-1 thumbprint",
                a.certificate.x5t
            ));
        }
    }
    let key = &a.certificate.public_key;
    if key.get("d").is_some() {
        return Err("certificate.publicKey holds a private key: send the public key only".into());
    }
    let rsa = key["kty"] == "RSA" && key["n"].is_string() && key["e"].is_string();
    if !rsa {
        return Err("certificate.publicKey must be an RSA public JWK (kty, n, e)".into());
    }
    let jwk: wid_jose::Jwk = serde_json::from_value(key.clone())
        .map_err(|e| format!("certificate.publicKey is not a JWK: {e}"))?;
    let jwk = serde_json::to_string(&jwk).map_err(|e| e.to_string())?;
    Ok((a, jwk))
}

async fn create(
    State(s): State<CloudState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = crate::issuer::admin_only(&s, &headers).await {
        return r;
    }
    let (a, jwk) = match validate(&body) {
        Ok(v) => v,
        Err(m) => return bad(m),
    };
    let app = wid_store::Application {
        client_id: wid_model::ids::new_guid(),
        tenant_id: s.defaults.tenant_id.clone(),
        principal_id: wid_model::ids::new_guid(),
        display_name: a.display_name.trim().to_string(),
        // No secret: the hash of nothing matches no secret.
        secret_sha256: String::new(),
    };
    let now = s.clock.now();
    let stored = async {
        s.store.insert_application(&app, now).await?;
        s.store
            .add_application_certificate(
                &app.tenant_id,
                &app.client_id,
                &a.certificate.x5t,
                &jwk,
                now,
            )
            .await
    };
    if let Err(e) = stored.await {
        tracing::error!(error = %e, "storing an application failed");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": {"code": "Service_Unavailable", "message": "the store is unavailable; retry"}})),
        )
            .into_response();
    }
    (
        StatusCode::CREATED,
        Json(json!({
            "appId": app.client_id,
            "id": app.principal_id,
            "displayName": app.display_name,
            "tenant": app.tenant_id,
            "keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "x5t": a.certificate.x5t}],
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_named_rsa_public_key_with_a_thumbprint_is_accepted() {
        let key = wid_jose::SigningKey::generate().unwrap();
        let x5t = wid_jose::b64url(&[7u8; 20]);
        let body = |name: &str, x5t: &str, jwk: serde_json::Value| {
            json!({"displayName": name, "certificate": {"x5t": x5t, "publicKey": jwk}}).to_string()
        };
        let public = serde_json::to_value(key.public_jwk()).unwrap();
        assert!(validate(body("sp", &x5t, public.clone()).as_bytes()).is_ok());
        let e = validate(body("", &x5t, public.clone()).as_bytes())
            .err()
            .unwrap();
        assert!(e.contains("displayName"), "{e}");
        let e = validate(body("sp", "short", public.clone()).as_bytes())
            .err()
            .unwrap();
        assert!(e.contains("thumbprint"), "{e}");
        let mut private = public.clone();
        private["d"] = "secret".into();
        let e = validate(body("sp", &x5t, private).as_bytes())
            .err()
            .unwrap();
        assert!(
            e.contains("public key only") || e.contains("not a JWK"),
            "{e}"
        );
        assert!(
            !e.contains("secret"),
            "the error does not echo key material: {e}"
        );
    }
}
