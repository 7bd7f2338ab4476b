//! `GET /issuer/.well-known/openid-configuration` and `GET /issuer/openid/v1/jwks`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::keys::Purpose;
use crate::state::CloudState;

/// The discovery document, exactly the fields an AKS issuer serves.
pub async fn openid_configuration(State(s): State<CloudState>) -> Json<Value> {
    let iss = s.config.issuer_url();
    Json(json!({
        "issuer": iss,
        "jwks_uri": format!("{iss}openid/v1/jwks"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

/// The issuer's public keys, retired ones included until their tokens have expired.
pub async fn jwks(State(s): State<CloudState>) -> Json<wid_jose::JwkSet> {
    s.refresh_keys().await;
    Json(s.keys.jwks(Purpose::Issuer, s.clock.now()))
}
