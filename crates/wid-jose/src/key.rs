//! RSA signing keys.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde::Serialize;
use wid_model::secret::Secret;

use crate::VerifyingKey;
use crate::jwt::{JoseError, b64url};

/// An RS256 signing key: the parsed key pair, its PKCS#8 PEM and its public JWK.
///
/// `Debug` shows only the key id: the private key never reaches a log.
pub struct SigningKey {
    kid: String,
    pair: KeyPair,
    pem: Secret,
    jwk: Jwk,
    verifying: VerifyingKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("private_key", &self.pem)
            .finish()
    }
}

impl SigningKey {
    /// A new RSA-2048 key.
    pub fn generate() -> Result<Self, JoseError> {
        let pair = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| JoseError::Key("RSA key generation failed".into()))?;
        let der = pair
            .as_der()
            .map_err(|_| JoseError::Key("PKCS#8 encoding failed".into()))?;
        let pem: Secret = Secret::new(to_pem(der.as_ref()));
        Self::from_pem(pem.expose_str())
    }

    /// Loads a key from PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self, JoseError> {
        let der = from_pem(pem)?;
        let pair = KeyPair::from_pkcs8(&der)
            .map_err(|e| JoseError::Key(format!("not an RSA PKCS#8 key: {e}")))?;
        let enc =
            EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| JoseError::Key(e.to_string()))?;
        let mut jwk = Jwk::from_encoding_key(&enc, Algorithm::RS256)
            .map_err(|e| JoseError::Key(e.to_string()))?;
        let kid = thumbprint(&jwk);
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
        let verifying = VerifyingKey::from_jwk(&jwk)?;
        Ok(Self {
            kid,
            pair,
            pem: Secret::from(pem),
            jwk,
            verifying,
        })
    }

    /// The key id: the RFC 7638 SHA-256 thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key as PKCS#8 PEM, for storage.
    pub fn private_pem(&self) -> &Secret {
        &self.pem
    }

    /// The public key as a JWK (`kty`, `use`, `alg`, `kid`, `n`, `e`).
    pub fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// The public key, parsed for verifying what this key signed.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }

    /// Signs `message` with RSASSA-PKCS1-v1_5 SHA-256 and returns the signature bytes.
    pub fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.pair
            .sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
            .map_err(|_| JoseError::Key("RSA signing failed".into()))?;
        Ok(sig)
    }

    /// Signs `claims` as a compact JWT with header `{"typ":"JWT","alg":"RS256","kid":..}` plus
    /// `extra_header` fields (e.g. `x5t`).
    pub fn sign_jwt<C: Serialize>(
        &self,
        claims: &C,
        extra_header: &[(&str, &str)],
    ) -> Result<String, JoseError> {
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), "JWT".into());
        header.insert("alg".into(), "RS256".into());
        header.insert("kid".into(), self.kid.clone().into());
        for (k, v) in extra_header {
            header.insert((*k).into(), (*v).into());
        }
        let h = serde_json::to_vec(&header).map_err(|e| JoseError::Key(e.to_string()))?;
        let c = serde_json::to_vec(claims).map_err(|e| JoseError::Key(e.to_string()))?;
        let mut out = String::with_capacity(h.len() * 2 + c.len() * 2 + 400);
        out.push_str(&b64url(&h));
        out.push('.');
        out.push_str(&b64url(&c));
        let sig = self.sign_raw(out.as_bytes())?;
        out.push('.');
        out.push_str(&b64url(&sig));
        Ok(out)
    }
}

fn to_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

fn from_pem(pem: &str) -> Result<Vec<u8>, JoseError> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    if !pem.contains("-----BEGIN PRIVATE KEY-----") {
        return Err(JoseError::Key(
            "expected a PKCS#8 PEM (BEGIN PRIVATE KEY)".into(),
        ));
    }
    STANDARD
        .decode(body)
        .map_err(|e| JoseError::Key(format!("PEM body is not base64: {e}")))
}

/// RFC 7638 thumbprint of an RSA JWK.
fn thumbprint(jwk: &Jwk) -> String {
    if let jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) = &jwk.algorithm {
        let canonical = format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, rsa.e, rsa.n);
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        b64url(d.as_ref())
    } else {
        String::new()
    }
}
