//! A service principal with a certificate: a client assertion signed with the certificate's
//! private key (RS256, `x5t` naming the certificate), posted to
//! `{authority}/{tenant}/oauth2/v2.0/token` as MSAL does. The PEM file holds the certificate
//! and its PKCS#8 private key (`AZURE_CLIENT_CERTIFICATE_PATH`, as azure-identity reads it).

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use serde_json::json;
use wid_jose::SigningKey;

use crate::cache::TokenCache;
use crate::pipeline::Pipeline;
use crate::secret::Secret;
use crate::{AccessToken, CredentialError, TokenRequestOptions, resolve_tenant};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long a client assertion is valid, in seconds (MSAL's 10 minutes).
pub const ASSERTION_LIFETIME: i64 = 600;

/// A service principal with a certificate.
#[derive(Clone)]
pub struct ClientCertificateCredential {
    authority: String,
    tenant_id: String,
    client_id: String,
    key: Arc<SigningKey>,
    x5t: String,
    allowed_tenants: Vec<String>,
    pipeline: Pipeline,
    cache: Arc<TokenCache>,
}

impl std::fmt::Debug for ClientCertificateCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificateCredential")
            .field("authority", &self.authority)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("x5t", &self.x5t)
            .finish()
    }
}

/// The base64 body of the first PEM block labelled `label`.
fn pem_block(pem: &str, label: &str) -> Option<String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let i = pem.find(&begin)? + begin.len();
    let j = pem[i..].find(&end)? + i;
    Some(pem[i..j].chars().filter(|c| !c.is_whitespace()).collect())
}

impl ClientCertificateCredential {
    /// From a PEM file holding the certificate and its private key.
    pub fn from_pem_file(
        authority: &str,
        tenant_id: &str,
        client_id: &str,
        path: &Path,
        pipeline: Pipeline,
    ) -> Result<Self, CredentialError> {
        let pem = std::fs::read_to_string(path).map_err(|e| {
            CredentialError::Config(format!(
                "cannot read the certificate file {}: {e}\nhint: AZURE_CLIENT_CERTIFICATE_PATH must name a PEM file with the certificate and its private key",
                path.display()
            ))
        })?;
        Self::from_pem(authority, tenant_id, client_id, &pem, pipeline).map_err(|e| match e {
            CredentialError::Config(m) => {
                CredentialError::Config(format!("{}: {m}", path.display()))
            }
            e => e,
        })
    }

    /// From PEM text holding `CERTIFICATE` and `PRIVATE KEY` (PKCS#8) blocks.
    pub fn from_pem(
        authority: &str,
        tenant_id: &str,
        client_id: &str,
        pem: &str,
        pipeline: Pipeline,
    ) -> Result<Self, CredentialError> {
        let cert = pem_block(pem, "CERTIFICATE").ok_or_else(|| {
            CredentialError::Config(
                "no certificate (-----BEGIN CERTIFICATE-----) in the PEM\nhint: put the certificate and its private key in one PEM file, as `az ad sp create-for-rbac --create-cert` writes it".into(),
            )
        })?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(cert)
            .map_err(|e| {
                CredentialError::Config(format!("the certificate is not base64 PEM: {e}"))
            })?;
        let key = match pem_block(pem, "PRIVATE KEY") {
            Some(b64) => {
                let mut block = String::from("-----BEGIN PRIVATE KEY-----\n");
                for chunk in b64.as_bytes().chunks(64) {
                    block.push_str(&String::from_utf8_lossy(chunk));
                    block.push('\n');
                }
                block.push_str("-----END PRIVATE KEY-----\n");
                SigningKey::from_pem(&block).map_err(|e| {
                    CredentialError::Config(format!("the private key is not an RSA key: {e}"))
                })?
            }
            None if pem.contains("-----BEGIN RSA PRIVATE KEY-----") => {
                return Err(CredentialError::Config(
                    "the private key is PKCS#1 (BEGIN RSA PRIVATE KEY)\nhint: convert it to PKCS#8: openssl pkcs8 -topk8 -nocrypt -in key.pem".into(),
                ));
            }
            None if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") => {
                return Err(CredentialError::Config(
                    "the private key is encrypted\nhint: decrypt it: openssl pkcs8 -in key.pem -nocrypt".into(),
                ));
            }
            None => {
                return Err(CredentialError::Config(
                    "no private key (-----BEGIN PRIVATE KEY-----) in the PEM\nhint: put the certificate and its private key in one PEM file".into(),
                ));
            }
        };
        Ok(Self {
            authority: authority.trim_end_matches('/').to_string(),
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            key: Arc::new(key),
            x5t: wid_jose::x5t(&der),
            allowed_tenants: Vec::new(),
            pipeline,
            cache: Arc::new(TokenCache::new()),
        })
    }

    /// Allows per-call tenants.
    pub fn with_allowed_tenants(mut self, tenants: Vec<String>) -> Self {
        self.allowed_tenants = tenants;
        self
    }

    /// The certificate's thumbprint as the assertion's `x5t` carries it.
    pub fn x5t(&self) -> &str {
        &self.x5t
    }

    /// The certificate's public key, as a JWK (to register the certificate).
    pub fn public_jwk(&self) -> &wid_jose::Jwk {
        self.key.public_jwk()
    }

    /// The token endpoint it posts to.
    pub fn token_endpoint(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.authority, self.tenant_id)
    }

    /// A client assertion for the token endpoint `audience`, issued at `now`: `iss` and
    /// `sub` are the client id, valid for [`ASSERTION_LIFETIME`] seconds.
    pub fn client_assertion(&self, audience: &str, now: i64) -> Result<Secret, CredentialError> {
        let claims = json!({
            "aud": audience,
            "iss": self.client_id,
            "sub": self.client_id,
            "jti": wid_model::ids::new_guid(),
            "iat": now,
            "nbf": now,
            "exp": now + ASSERTION_LIFETIME,
        });
        self.key
            .sign_jwt(&claims, &[("x5t", &self.x5t)])
            .map(Secret::new)
            .map_err(|e| CredentialError::Config(format!("cannot sign the client assertion: {e}")))
    }

    /// Gets a token for `scopes`.
    pub async fn get_token_with(
        &self,
        scopes: &[&str],
        opts: &TokenRequestOptions,
    ) -> Result<AccessToken, CredentialError> {
        let tenant = resolve_tenant(
            &self.tenant_id,
            opts.tenant_id.as_deref(),
            &self.allowed_tenants,
        )?;
        let scope = scopes.join(" ");
        let key = format!("{tenant}\n{scope}");
        let clock = self.pipeline.clock.clone();
        self.cache
            .get_or_fetch(
                &key,
                || clock.now(),
                || async {
                    let url = format!("{}/{tenant}/oauth2/v2.0/token", self.authority);
                    let assertion = self.client_assertion(&url, self.pipeline.clock.now())?;
                    let form = [
                        ("client_assertion", assertion.expose_str()),
                        ("client_assertion_type", JWT_BEARER),
                        ("client_id", self.client_id.as_str()),
                        ("grant_type", "client_credentials"),
                        ("scope", scope.as_str()),
                    ];
                    crate::oauth::post_form(&self.pipeline, &url, &form)
                        .await
                        .map_err(|e| match e {
                            CredentialError::Token(t) => CredentialError::Token(Box::new(
                                t.with_context("client_id", self.client_id.clone())
                                    .with_context("tenant_id", tenant.clone())
                                    .with_context("x5t", self.x5t.clone()),
                            )),
                            e => e,
                        })
                },
            )
            .await
    }
}

/// A self-signed certificate for `key`, as PEM: for tests of certificate credentials.
#[cfg(test)]
pub(crate) fn test_certificate_pem(key: &SigningKey) -> (String, Vec<u8>) {
    let pair =
        rcgen::KeyPair::from_pem(key.private_pem().expose_str()).expect("an RSA key rcgen can use");
    let params = rcgen::CertificateParams::new(vec!["deployer".to_string()]).expect("params");
    let cert = params.self_signed(&pair).expect("self-signed");
    (
        format!("{}{}", cert.pem(), key.private_pem().expose_str()),
        cert.der().to_vec(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assertion_names_the_certificate_and_verifies_with_its_key() {
        let key = SigningKey::generate().unwrap();
        let (pem, der) = test_certificate_pem(&key);
        let c = ClientCertificateCredential::from_pem(
            "https://login.example/",
            "tenant-1",
            "client-1",
            &pem,
            Pipeline::new(reqwest::Client::new()),
        )
        .unwrap();
        assert_eq!(
            c.token_endpoint(),
            "https://login.example/tenant-1/oauth2/v2.0/token"
        );
        let assertion = c
            .client_assertion(&c.token_endpoint(), 1_700_000_000)
            .unwrap();
        let jwt = wid_jose::UnverifiedJwt::parse(assertion.expose_str()).unwrap();
        assert_eq!(jwt.alg(), Some("RS256"));
        assert_eq!(jwt.header["x5t"], wid_jose::x5t(&der).as_str());
        assert_eq!(c.x5t(), wid_jose::x5t(&der));
        assert_eq!(jwt.str_claim("iss"), Some("client-1"));
        assert_eq!(jwt.str_claim("sub"), Some("client-1"));
        assert_eq!(
            jwt.audiences(),
            ["https://login.example/tenant-1/oauth2/v2.0/token"]
        );
        assert_eq!(jwt.time_claim("nbf"), Some(1_700_000_000));
        assert_eq!(jwt.time_claim("exp"), Some(1_700_000_600));
        assert!(jwt.str_claim("jti").is_some_and(wid_model::ids::is_guid));
        jwt.verify(key.public_jwk()).unwrap();
        let other = SigningKey::generate().unwrap();
        assert!(jwt.verify(other.public_jwk()).is_err());
        assert!(!format!("{c:?}").contains("PRIVATE"), "Debug shows no key");
    }

    #[test]
    fn pem_without_what_it_needs_is_explained() {
        let p = || Pipeline::new(reqwest::Client::new());
        let key = SigningKey::generate().unwrap();
        let (pem, _) = test_certificate_pem(&key);
        let cert_only = pem[..pem.find("-----BEGIN PRIVATE KEY-----").unwrap()].to_string();
        let e = ClientCertificateCredential::from_pem("https://a", "t", "c", &cert_only, p())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no private key"), "{e}");
        let e = ClientCertificateCredential::from_pem(
            "https://a",
            "t",
            "c",
            key.private_pem().expose_str(),
            p(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("no certificate"), "{e}");
        let pkcs1 = format!(
            "{cert_only}-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
        );
        let e = ClientCertificateCredential::from_pem("https://a", "t", "c", &pkcs1, p())
            .unwrap_err()
            .to_string();
        assert!(e.contains("openssl pkcs8 -topk8"), "{e}");
    }
}
