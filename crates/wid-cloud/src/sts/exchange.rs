//! The token exchange as a service function: from the request's parameters to an issued
//! access token or an AADSTS error. Checks run in Entra's order: tenant, grant, client id,
//! scope, credential presence, client lookup, then the credential itself.

use wid_model::aadsts::{Aadsts, JWT_BEARER};
use wid_model::resources::{first_party, is_well_formed_scope};
use wid_model::secret::Secret;

use super::assertion::{validate_assertion, validate_certificate_assertion};
use crate::directory::Principal;
use crate::keys::Purpose;
use crate::state::CloudState;

/// Lifetime reported in `expires_in` for managed identity tokens.
pub const ACCESS_TOKEN_LIFETIME: i64 = 86_399;
/// Entra back-dates `iat` and `nbf` by five minutes.
const BACKDATE: i64 = 300;

/// Which token endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/oauth2/v2.0/token`, takes `scope`.
    V2,
    /// `/oauth2/token`, takes `resource`.
    V1,
}

/// The form fields the exchange reads. Unknown fields are ignored, as Entra ignores them.
#[derive(Debug, Default, Clone)]
pub struct TokenParams {
    /// `grant_type`.
    pub grant_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `resource`.
    pub resource: Option<String>,
    /// `client_assertion` (secret).
    pub client_assertion: Option<Secret>,
    /// `client_assertion_type`.
    pub client_assertion_type: Option<String>,
    /// `client_secret` (secret).
    pub client_secret: Option<Secret>,
    /// The secret of HTTP Basic client authentication (secret).
    pub basic_secret: Option<Secret>,
}

/// The parameters the token endpoint reads, by name; the rest are ignored (RFC 6749 §3.2).
const KNOWN_PARAMS: [&str; 7] = [
    "grant_type",
    "client_id",
    "scope",
    "resource",
    "client_assertion",
    "client_assertion_type",
    "client_secret",
];

impl TokenParams {
    /// From decoded form pairs. Empty values count as absent (RFC 6749 §3.2); a parameter the
    /// endpoint reads given twice is AADSTS9000411. Only the parameters read are copied.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Result<Self, Aadsts>
    where
        K: AsRef<str>,
        V: AsRef<str> + Into<String>,
    {
        let mut p = TokenParams::default();
        for (k, v) in pairs {
            let name = k.as_ref();
            if v.as_ref().is_empty() || !KNOWN_PARAMS.contains(&name) {
                continue;
            }
            let taken = match name {
                "grant_type" => put(&mut p.grant_type, v.into()),
                "client_id" => put(&mut p.client_id, v.into()),
                "scope" => put(&mut p.scope, v.into()),
                "resource" => put(&mut p.resource, v.into()),
                "client_assertion" => put(&mut p.client_assertion, Secret::from(v.into())),
                "client_assertion_type" => put(&mut p.client_assertion_type, v.into()),
                _ => put(&mut p.client_secret, Secret::from(v.into())),
            };
            if !taken {
                return Err(Aadsts::DuplicateParameter {
                    name: name.to_string(),
                });
            }
        }
        Ok(p)
    }

    /// The parameters of a token request: its `application/x-www-form-urlencoded` body and its
    /// `Authorization` header, if any. This is everything the token endpoint reads from the
    /// request before the exchange; it never fails on the encoding (non-UTF-8 bytes become
    /// U+FFFD), only with the AADSTS errors of [`TokenParams::from_pairs`] and
    /// [`TokenParams::with_authorization`].
    pub fn from_request(body: &[u8], authorization: Option<&str>) -> Result<Self, Aadsts> {
        Self::from_pairs(super::form::pairs(body))?.with_authorization(authorization)
    }

    /// Adds HTTP Basic client authentication (`client_secret_basic`, RFC 6749 §2.3.1) from
    /// an `Authorization` header value. Other schemes and undecodable values are ignored, as
    /// if absent. A `client_id` in the body that differs from Basic's is given twice.
    pub fn with_authorization(mut self, authorization: Option<&str>) -> Result<Self, Aadsts> {
        let Some((id, secret)) = authorization.and_then(basic_credentials) else {
            return Ok(self);
        };
        match &self.client_id {
            Some(body_id) if !body_id.eq_ignore_ascii_case(&id) => {
                return Err(Aadsts::DuplicateParameter {
                    name: "client_id".into(),
                });
            }
            Some(_) => {}
            None => self.client_id = Some(id),
        }
        self.basic_secret = Some(Secret::from(secret));
        Ok(self)
    }

    /// The client authentication methods this request presents, in RFC 6749's names.
    fn auth_methods(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        if self.client_assertion.is_some() {
            m.push("private_key_jwt");
        }
        if self.client_secret.is_some() {
            m.push("client_secret_post");
        }
        if self.basic_secret.is_some() {
            m.push("client_secret_basic");
        }
        m
    }

    /// The client secret, from the body or HTTP Basic (at most one is present once
    /// [`exchange`] has checked the methods).
    fn secret(&self) -> Option<&Secret> {
        self.client_secret.as_ref().or(self.basic_secret.as_ref())
    }
}

/// Fills an empty slot; false when the parameter was given already.
fn put<T>(slot: &mut Option<T>, value: T) -> bool {
    if slot.is_some() {
        return false;
    }
    *slot = Some(value);
    true
}

/// `(client_id, client_secret)` of `Basic base64(urlencode(id):urlencode(secret))`.
fn basic_credentials(value: &str) -> Option<(String, String)> {
    use base64::Engine;
    let (scheme, b64) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| -> String { form_urlencoded_decode(s) };
    let (id, secret) = (decode(id), decode(secret));
    (!id.is_empty() && !secret.is_empty()).then_some((id, secret))
}

/// `application/x-www-form-urlencoded` decoding of one value (`+` is a space).
fn form_urlencoded_decode(s: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
        .ok()
        .and_then(|mut v| v.pop())
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// A successful exchange.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The signed access token.
    pub access_token: Secret,
    /// Seconds until expiry as reported (86399).
    pub expires_in: i64,
    /// Unix expiry.
    pub expires_on: i64,
    /// Unix `nbf`.
    pub not_before: i64,
    /// The resource (audience).
    pub resource: String,
}

const RESERVED_SCOPES: [&str; 4] = ["openid", "profile", "offline_access", "email"];

/// The resource of a client-credentials `scope`: one `<resource>/.default`, reserved OIDC
/// scopes ignored.
pub fn resource_of_scope(scope: &str) -> Result<String, Aadsts> {
    let scopes: Vec<&str> = scope
        .split(' ')
        .filter(|s| !s.is_empty() && !RESERVED_SCOPES.contains(s))
        .collect();
    if scopes.iter().any(|s| !is_well_formed_scope(s)) {
        return Err(Aadsts::InvalidScope {
            scope: scope.to_string(),
        });
    }
    let mut resources = Vec::new();
    for sc in &scopes {
        match sc.strip_suffix("/.default") {
            Some(r) if !r.is_empty() => resources.push(r),
            _ => {
                return Err(Aadsts::ScopeNotDefault {
                    scope: (*sc).to_string(),
                });
            }
        }
    }
    resources.dedup();
    match resources.as_slice() {
        [] => Err(Aadsts::MissingParameter { name: "scope" }),
        [r] => Ok((*r).to_string()),
        _ => Err(Aadsts::ScopeMultipleResources),
    }
}

/// Runs one token exchange.
pub async fn exchange(
    s: &CloudState,
    tenant: &str,
    endpoint: Endpoint,
    p: &TokenParams,
) -> Result<IssuedToken, Aadsts> {
    let store_failed = |e: wid_store::StoreError| {
        tracing::error!(error = %e, "store failed during token exchange");
        Aadsts::TransientError
    };
    let now = s.clock.now();
    let tenant = match s.directory.tenant(&s.store, tenant, now).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return Err(Aadsts::TenantNotFound {
                tenant: tenant.into(),
            });
        }
        Err(e) => return Err(store_failed(e)),
    };
    let grant = p
        .grant_type
        .as_deref()
        .ok_or(Aadsts::MissingParameter { name: "grant_type" })?;
    if grant != "client_credentials" {
        return Err(Aadsts::UnsupportedGrantType {
            grant_type: grant.into(),
        });
    }
    let client_id = p
        .client_id
        .as_deref()
        .ok_or(Aadsts::MissingParameter { name: "client_id" })?;
    let resource = match endpoint {
        Endpoint::V2 => match (&p.scope, &p.resource) {
            (Some(scope), _) => resource_of_scope(scope)?,
            (None, Some(_)) => return Err(Aadsts::ResourceNotSupportedOnV2),
            (None, None) => return Err(Aadsts::MissingParameter { name: "scope" }),
        },
        Endpoint::V1 => match (&p.resource, &p.scope) {
            (Some(r), _) => r.clone(),
            (None, Some(scope)) => resource_of_scope(scope)?,
            (None, None) => return Err(Aadsts::MissingParameter { name: "resource" }),
        },
    };
    let methods = p.auth_methods();
    match methods.len() {
        0 => return Err(Aadsts::MissingClientCredential),
        1 => {}
        _ => return Err(Aadsts::MultipleClientAuthentication { methods }),
    }
    let principal = match s
        .directory
        .principal(&s.store, &tenant.id, client_id, now)
        .await
    {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Err(Aadsts::ApplicationNotFound {
                client_id: client_id.into(),
                tenant: tenant.id.clone(),
            });
        }
        Err(e) => return Err(store_failed(e)),
    };
    match (&*principal, &p.client_assertion, p.secret()) {
        (_, Some(assertion), _) => {
            let t = p
                .client_assertion_type
                .as_deref()
                .ok_or(Aadsts::MissingParameter {
                    name: "client_assertion_type",
                })?;
            if t != JWT_BEARER {
                return Err(Aadsts::InvalidClientAssertionType { value: t.into() });
            }
            match &*principal {
                Principal::Identity { credentials, .. } => {
                    validate_assertion(s, assertion.expose_str(), credentials, now).await?;
                }
                Principal::Application(a) => {
                    validate_certificate_assertion(
                        s,
                        &tenant.id,
                        &a.client_id,
                        assertion.expose_str(),
                        now,
                    )
                    .await?;
                }
            }
        }
        (Principal::Identity { identity, .. }, None, Some(_)) => {
            return Err(Aadsts::ManagedIdentitySecretNotAllowed {
                client_id: identity.client_id.clone(),
            });
        }
        (Principal::Application(a), None, Some(secret)) => {
            if wid_jose::sha256_hex(secret.expose().as_bytes()) != a.secret_sha256 {
                return Err(Aadsts::InvalidClientSecret {
                    client_id: a.client_id.clone(),
                });
            }
        }
        (_, None, None) => return Err(Aadsts::MissingClientCredential),
    }
    resolve_resource(s, &tenant.id, &resource).await?;
    let application_subject;
    let subject = match &*principal {
        Principal::Identity { subject, .. } => subject,
        Principal::Application(a) => {
            application_subject = TokenSubject {
                object_id: a.principal_id.clone(),
                app_id: a.client_id.clone(),
                mirid: None,
                // 1 for a client secret, 2 for a certificate.
                appidacr: if p.client_assertion.is_some() {
                    "2"
                } else {
                    "1"
                },
            };
            &application_subject
        }
    };
    sign_access_token(s, &tenant.id, subject, resource, now)
}

/// Checks that `resource` names a resource principal in the tenant: a first-party resource
/// of Microsoft, an application registered in wid (by identifier URI or application id), or
/// an application with a client secret (by its client id). Else AADSTS500011.
pub async fn resolve_resource(
    s: &CloudState,
    tenant_id: &str,
    resource: &str,
) -> Result<(), Aadsts> {
    if first_party(resource).is_some() || crate::graph::is_own_url(s, resource) {
        return Ok(());
    }
    let store_failed = |e: wid_store::StoreError| {
        tracing::error!(error = %e, "store failed during token exchange");
        Aadsts::TransientError
    };
    if s.store
        .find_resource_app(tenant_id, resource)
        .await
        .map_err(store_failed)?
        .is_some()
    {
        return Ok(());
    }
    if wid_model::ids::is_guid(resource)
        && s.store
            .find_application(tenant_id, resource)
            .await
            .map_err(store_failed)?
            .is_some()
    {
        return Ok(());
    }
    Err(Aadsts::ResourceNotFound {
        resource: resource.to_string(),
        tenant: tenant_id.to_string(),
    })
}

/// Who an access token is issued to.
#[derive(Debug, Clone)]
pub struct TokenSubject {
    /// `oid` and `sub`: the service principal's object id.
    pub object_id: String,
    /// `appid`: the client id.
    pub app_id: String,
    /// `xms_mirid`: a managed identity's ARM resource id.
    pub mirid: Option<String>,
    /// `appidacr`: `1` for a client secret, `2` for a certificate, assertion or managed identity.
    pub appidacr: &'static str,
}

impl TokenSubject {
    /// A user-assigned managed identity, as Entra describes it in the tokens it gets.
    pub fn managed_identity(i: &wid_store::Identity) -> Self {
        TokenSubject {
            object_id: i.principal_id.clone(),
            app_id: i.client_id.clone(),
            mirid: Some(format!(
                "/subscriptions/{}/resourcegroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
                i.subscription_id, i.resource_group, i.name
            )),
            appidacr: "2",
        }
    }
}

/// The claims of an access token, in the order Entra's tokens list them (alphabetical, as a
/// `serde_json` object writes them), borrowed: serialized once, straight into the token.
#[derive(serde::Serialize)]
struct AccessClaims<'a> {
    aio: &'a str,
    appid: &'a str,
    appidacr: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    idp: &'a str,
    idtyp: &'a str,
    iss: &'a str,
    nbf: i64,
    oid: &'a str,
    rh: RhClaim<'a>,
    sub: &'a str,
    tid: &'a str,
    uti: &'a str,
    ver: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    xms_mirid: Option<&'a str>,
}

/// `rh`: `0.` + random + `.`, written without building the string.
struct RhClaim<'a>(&'a str);

impl serde::Serialize for RhClaim<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("0.{}.", self.0))
    }
}

/// Signs an access token for `resource`, issued by the tenant's token service to `subject`:
/// the one place tokens are made, for the token endpoint and the managed identity endpoint.
pub fn sign_access_token(
    s: &CloudState,
    tenant_id: &str,
    subject: &TokenSubject,
    resource: String,
    now: i64,
) -> Result<IssuedToken, Aadsts> {
    let iat = now - BACKDATE;
    let exp = now + ACCESS_TOKEN_LIFETIME + 1;
    let iss = format!("https://sts.windows.net/{tenant_id}/");
    let (aio, rh, uti) = (
        wid_jose::random_b64url(48),
        wid_jose::random_b64url(32),
        wid_jose::random_b64url(16),
    );
    let claims = AccessClaims {
        aio: &aio,
        appid: &subject.app_id,
        appidacr: subject.appidacr,
        aud: &resource,
        exp,
        iat,
        idp: &iss,
        idtyp: "app",
        iss: &iss,
        nbf: iat,
        oid: &subject.object_id,
        rh: RhClaim(&rh),
        sub: &subject.object_id,
        tid: tenant_id,
        uti: &uti,
        ver: "1.0",
        xms_mirid: subject.mirid.as_deref(),
    };
    let key = s.keys.active(Purpose::Sts);
    let access_token = key.sign_jwt(&claims, &[("x5t", key.kid())]).map_err(|e| {
        tracing::error!(error = %e, "signing failed");
        Aadsts::TransientError
    })?;
    Ok(IssuedToken {
        access_token: Secret::from(access_token),
        expires_in: ACCESS_TOKEN_LIFETIME,
        expires_on: exp,
        not_before: iat,
        resource,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert_eq!(
            resource_of_scope("https://management.azure.com/.default").unwrap(),
            "https://management.azure.com"
        );
        assert_eq!(
            resource_of_scope("https://management.azure.com//.default").unwrap(),
            "https://management.azure.com/"
        );
        assert_eq!(
            resource_of_scope("openid https://x/.default offline_access").unwrap(),
            "https://x"
        );
        assert_eq!(
            resource_of_scope("https://x/user.read").unwrap_err().code(),
            1002012
        );
        assert_eq!(resource_of_scope("/.default").unwrap_err().code(), 70011);
        assert_eq!(
            resource_of_scope("management.azure.com/.default")
                .unwrap_err()
                .code(),
            70011
        );
        assert_eq!(
            resource_of_scope("https://x/.default https://y/.default")
                .unwrap_err()
                .code(),
            28000
        );
        assert_eq!(resource_of_scope("openid").unwrap_err().code(), 900144);
    }

    #[test]
    fn params_redact_and_refuse_duplicates() {
        let p = TokenParams::from_pairs(vec![
            ("client_assertion", "SECRET-JWT"),
            ("client_id", "a"),
            ("client_id", ""),
            ("unknown", "x"),
            ("unknown", "y"),
        ])
        .unwrap();
        assert_eq!(p.client_id.as_deref(), Some("a"));
        assert!(!format!("{p:?}").contains("SECRET"));
        let e = TokenParams::from_pairs(vec![("scope", "a"), ("scope", "a")]).unwrap_err();
        assert_eq!(
            e,
            Aadsts::DuplicateParameter {
                name: "scope".into()
            }
        );
    }

    #[test]
    fn request_decoding_is_lossy_and_reads_the_header() {
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode("app:s%2Bc");
        let p = TokenParams::from_request(
            b"grant_type=client_credentials&scope=a%FFb+c&unknown=%",
            Some(&format!("Basic {basic}")),
        )
        .unwrap();
        assert_eq!(p.grant_type.as_deref(), Some("client_credentials"));
        assert_eq!(p.scope.as_deref(), Some("a\u{fffd}b c"));
        assert_eq!(p.client_id.as_deref(), Some("app"));
        assert_eq!(p.basic_secret.as_ref().map(|s| s.expose_str()), Some("s+c"));
        let p = TokenParams::from_request(b"\xff\xfe=\x00&&=&grant_type", None).unwrap();
        assert!(p.grant_type.is_none() && p.auth_methods().is_empty());
        let e = TokenParams::from_request(b"client_id=a&client_id=b", None).unwrap_err();
        assert_eq!(e.code(), 9000411);
    }

    #[test]
    fn basic_authentication() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode("app%3A1:s%2Bc+ret");
        let p = TokenParams::default()
            .with_authorization(Some(&format!("Basic {b64}")))
            .unwrap();
        assert_eq!(p.client_id.as_deref(), Some("app:1"));
        assert_eq!(
            p.basic_secret.as_ref().map(|s| s.expose_str()),
            Some("s+c ret")
        );
        assert_eq!(p.auth_methods(), ["client_secret_basic"]);
        let p = TokenParams::default()
            .with_authorization(Some("Bearer x"))
            .unwrap();
        assert!(p.auth_methods().is_empty());
        let other = TokenParams {
            client_id: Some("b".into()),
            ..Default::default()
        };
        let b64 = base64::engine::general_purpose::STANDARD.encode("a:s");
        assert_eq!(
            other
                .with_authorization(Some(&format!("Basic {b64}")))
                .unwrap_err()
                .code(),
            9000411
        );
    }
}
