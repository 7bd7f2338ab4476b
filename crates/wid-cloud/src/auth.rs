//! Bearer tokens issued by the stand-in token service, as the resources (ARM, wid's own
//! admin endpoints) check them.

use axum::http::HeaderMap;
use wid_jose::UnverifiedJwt;

use crate::keys::Purpose;
use crate::state::CloudState;

/// Who is calling, from a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `tid`.
    pub tenant_id: String,
    /// `oid`: the principal id.
    pub object_id: String,
    /// `appid`: the client id.
    pub app_id: String,
    /// `aud`.
    pub audience: String,
    /// `xms_mirid` when the caller is a managed identity.
    pub managed_identity_id: Option<String>,
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header.
    Missing,
    /// Not `Bearer <jwt>`, not a JWT, unknown key, bad signature or wrong issuer.
    Invalid(&'static str),
    /// `exp` has passed.
    Expired {
        /// `exp`.
        expires: i64,
        /// The server's time.
        now: i64,
    },
}

/// Reads and verifies the bearer token of a request. The audience is left to the caller.
pub async fn verify_bearer(state: &CloudState, headers: &HeaderMap) -> Result<Caller, AuthError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Err(AuthError::Missing);
    };
    let value = value
        .to_str()
        .map_err(|_| AuthError::Invalid("header is not ASCII"))?;
    let token = match value.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
        _ => return Err(AuthError::Invalid("not a Bearer token")),
    };
    let jwt = UnverifiedJwt::parse(token).map_err(|_| AuthError::Invalid("not a JWT"))?;
    if jwt.alg() != Some("RS256") {
        return Err(AuthError::Invalid("not RS256"));
    }
    let now = state.clock.now();
    let kid = jwt.kid().ok_or(AuthError::Invalid("unknown signing key"))?;
    // A key another replica created is loaded at once, but only for a token that claims
    // this wid's own tenant: other tokens never make it read the store.
    let key = match state.keys.find(Purpose::Sts, kid, now) {
        Some(k) => Some(k),
        None if jwt.str_claim("tid") == Some(state.defaults.tenant_id.as_str()) => {
            state
                .keys
                .find_or_reload(&state.store, Purpose::Sts, kid, state.clock.now_millis())
                .await
        }
        None => None,
    }
    .ok_or(AuthError::Invalid("unknown signing key"))?;
    jwt.verify_with(key.verifying_key())
        .map_err(|_| AuthError::Invalid("bad signature"))?;
    let tid = jwt.str_claim("tid").ok_or(AuthError::Invalid("no tid"))?;
    if jwt.str_claim("iss") != Some(format!("https://sts.windows.net/{tid}/").as_str()) {
        return Err(AuthError::Invalid("wrong issuer"));
    }
    let exp = jwt.time_claim("exp").ok_or(AuthError::Invalid("no exp"))?;
    if now >= exp + state.config.clock_skew {
        return Err(AuthError::Expired { expires: exp, now });
    }
    if jwt
        .time_claim("nbf")
        .is_some_and(|nbf| nbf > now + state.config.clock_skew)
    {
        return Err(AuthError::Invalid("not yet valid"));
    }
    Ok(Caller {
        tenant_id: tid.to_string(),
        object_id: jwt.str_claim("oid").unwrap_or_default().to_string(),
        app_id: jwt.str_claim("appid").unwrap_or_default().to_string(),
        audience: jwt
            .audiences()
            .first()
            .map(|s| s.to_string())
            .unwrap_or_default(),
        managed_identity_id: jwt.str_claim("xms_mirid").map(String::from),
    })
}
