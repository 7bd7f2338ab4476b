//! Validation of a federated client assertion against an identity's federated credentials,
//! in Entra's order: shape, algorithm, issuer origin, lifetime, time window, issuer match,
//! signature (with the issuer's JWKS), subject, audience.

use wid_jose::UnverifiedJwt;
use wid_model::aadsts::Aadsts;
use wid_store::FederatedCredential;

use crate::state::CloudState;

/// Longest accepted assertion lifetime, `exp - iat`: 25 hours ("1.01:00:00").
pub const MAX_ASSERTION_LIFETIME: i64 = 25 * 3600;

/// Checks `assertion` against `fics`; on success returns the matching credential.
pub async fn validate_assertion<'f>(
    s: &CloudState,
    assertion: &str,
    fics: &'f [FederatedCredential],
    now: i64,
) -> Result<&'f FederatedCredential, Aadsts> {
    let jwt = UnverifiedJwt::parse(assertion).map_err(|_| Aadsts::MalformedJwt)?;
    let (Some(iss), Some(sub)) = (jwt.str_claim("iss"), jwt.str_claim("sub")) else {
        return Err(Aadsts::MalformedJwt);
    };
    let auds = jwt.audiences();
    if auds.is_empty() {
        return Err(Aadsts::MalformedJwt);
    }
    if jwt.alg() != Some("RS256") {
        return Err(Aadsts::UnsupportedSigningAlgorithm);
    }
    if Aadsts::is_aad_issuer(iss) {
        return Err(Aadsts::AadIssuedAssertion);
    }
    let exp = jwt.time_claim("exp").ok_or(Aadsts::MalformedJwt)?;
    let iat = jwt.time_claim("iat");
    match iat {
        Some(iat) if exp - iat <= MAX_ASSERTION_LIFETIME => {}
        _ => {
            return Err(Aadsts::AssertionLifetime {
                issued_at: iat.unwrap_or(0),
                expires: exp,
            });
        }
    }
    let nbf = jwt.time_claim("nbf").unwrap_or(0);
    let skew = s.config.clock_skew;
    if now + skew < nbf || now - skew >= exp {
        return Err(Aadsts::AssertionTimeRange {
            now,
            not_before: nbf,
            expires: exp,
        });
    }
    if fics.is_empty() {
        return Err(Aadsts::NoMatchingFederatedRecord {
            issuer: iss.into(),
            subject: sub.into(),
            audience: auds[0].into(),
        });
    }
    let by_issuer: Vec<&FederatedCredential> = fics.iter().filter(|f| f.issuer == iss).collect();
    if by_issuer.is_empty() {
        return Err(Aadsts::NoMatchingIssuer { issuer: iss.into() });
    }
    // Only now, for an issuer that a credential names, is the issuer's metadata fetched.
    let kid = jwt.kid().unwrap_or("");
    let key = s.oidc.key(iss, kid, now).await?;
    jwt.verify_with(&key)
        .map_err(|_| Aadsts::InvalidSignature)?;
    let by_subject: Vec<&FederatedCredential> = by_issuer
        .iter()
        .copied()
        .filter(|f| f.subject == sub)
        .collect();
    if by_subject.is_empty() {
        if by_issuer
            .iter()
            .any(|f| f.subject.eq_ignore_ascii_case(sub))
        {
            return Err(Aadsts::SubjectCaseMismatch {
                subject: sub.into(),
            });
        }
        return Err(Aadsts::NoMatchingSubject {
            subject: sub.into(),
        });
    }
    by_subject
        .into_iter()
        .find(|f| auds.contains(&f.audience.as_str()))
        .ok_or_else(|| Aadsts::NoMatchingAudience {
            audience: auds[0].into(),
        })
}

/// Checks an application's own client assertion (a certificate credential, as MSAL signs
/// it): RS256, `iss` and `sub` the client id, `aud` this tenant's token endpoint, within its
/// time window, signed by the certificate its `x5t` names, which must be registered on the
/// application.
pub async fn validate_certificate_assertion(
    s: &CloudState,
    tenant_id: &str,
    client_id: &str,
    assertion: &str,
    now: i64,
) -> Result<(), Aadsts> {
    let jwt = UnverifiedJwt::parse(assertion).map_err(|_| Aadsts::MalformedJwt)?;
    if jwt.alg() != Some("RS256") {
        return Err(Aadsts::UnsupportedSigningAlgorithm);
    }
    let own = |c: &str| {
        jwt.str_claim(c)
            .is_some_and(|v| v.eq_ignore_ascii_case(client_id))
    };
    let endpoint = |a: &&str| {
        let a = a.trim_end_matches('/');
        [
            format!("/{tenant_id}/oauth2/v2.0/token"),
            format!("/{tenant_id}/oauth2/token"),
        ]
        .iter()
        .any(|e| a.len() > e.len() && a[a.len() - e.len()..].eq_ignore_ascii_case(e))
    };
    if !own("iss") || !own("sub") || !jwt.audiences().iter().any(endpoint) {
        return Err(Aadsts::MalformedJwt);
    }
    let exp = jwt.time_claim("exp").ok_or(Aadsts::MalformedJwt)?;
    let nbf = jwt.time_claim("nbf").unwrap_or(0);
    let skew = s.config.clock_skew;
    if now + skew < nbf || now - skew >= exp {
        return Err(Aadsts::AssertionTimeRange {
            now,
            not_before: nbf,
            expires: exp,
        });
    }
    let x5t = jwt
        .header
        .get("x5t")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    let not_found = || Aadsts::CertificateNotFound {
        thumbprint: wid_jose::b64url_decode(x5t)
            .map(|d| d.iter().map(|b| format!("{b:02X}")).collect())
            .unwrap_or_else(|_| x5t.to_string()),
        client_id: client_id.to_string(),
    };
    let jwk = match s
        .store
        .find_application_certificate(tenant_id, client_id, x5t)
        .await
    {
        Ok(Some(j)) => j,
        Ok(None) => return Err(not_found()),
        Err(e) => {
            tracing::error!(error = %e, "store failed during token exchange");
            return Err(Aadsts::TransientError);
        }
    };
    let jwk: wid_jose::Jwk = serde_json::from_str(&jwk).map_err(|e| {
        tracing::error!(error = %e, "a stored certificate key is not a JWK");
        Aadsts::TransientError
    })?;
    jwt.verify(&jwk).map_err(|_| Aadsts::InvalidSignature)
}
