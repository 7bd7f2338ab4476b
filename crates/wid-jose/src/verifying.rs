//! RS256 verification keys, parsed once.
//!
//! Verifying with a JWK straight from its `n` and `e` rebuilds the RSA key on every call:
//! two base64 decodings, the key object, and its Montgomery context (a 4096-by-2048-bit
//! reduction). A [`VerifyingKey`] does that once, when the JWKS is read; each verification
//! is then the public-exponent operation and the digest, what `openssl speed` counts.

use std::fmt;

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};

use crate::jwt::{JoseError, b64url_decode};

/// The longest RS256 signature accepted: an 8192-bit modulus (RFC 7518 allows 2048 and up;
/// aws-lc verifies up to 8192).
const MAX_SIGNATURE: usize = 8192 / 8;

/// An RSA public key ready to verify RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signatures of
/// 2048 to 8192 bits, with the key id it was published under.
///
/// Shared between threads: verification does not change it.
#[derive(Clone)]
pub struct VerifyingKey {
    kid: Option<String>,
    key: ParsedPublicKey,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// Parses an RSA JWK (`kty` `RSA`, base64url `n` and `e`). Other key types, undecodable
    /// or inconsistent components are [`JoseError::Key`].
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, JoseError> {
        let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
            return Err(JoseError::Key("not an RSA key".into()));
        };
        let n = b64url_decode(&rsa.n).map_err(|_| JoseError::Key("n is not base64url".into()))?;
        let e = b64url_decode(&rsa.e).map_err(|_| JoseError::Key("e is not base64url".into()))?;
        let key = RsaPublicKeyComponents { n: &n, e: &e }
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .map_err(|e| JoseError::Key(format!("not a usable RSA public key: {e}")))?;
        Ok(Self {
            kid: jwk.common.key_id.clone(),
            key,
        })
    }

    /// The `kid` the key was published under, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Checks the base64url RS256 `signature` of `signing_input` (a JWS's
    /// `header.claims`). Anything but a valid signature by this key is
    /// [`JoseError::BadSignature`].
    pub fn verify(&self, signing_input: &[u8], signature_b64: &str) -> Result<(), JoseError> {
        let mut sig = [0u8; MAX_SIGNATURE];
        let len = URL_SAFE_NO_PAD
            .decode_slice(signature_b64.trim_end_matches('='), &mut sig)
            .map_err(|_| JoseError::BadSignature)?;
        self.key
            .verify_sig(signing_input, &sig[..len])
            .map_err(|_| JoseError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SigningKey, UnverifiedJwt, b64url};

    #[test]
    fn a_parsed_key_verifies_what_its_pair_signed_and_nothing_else() {
        let k = SigningKey::generate().unwrap();
        let v = VerifyingKey::from_jwk(k.public_jwk()).unwrap();
        assert_eq!(v.kid(), Some(k.kid()));
        let t = k.sign_jwt(&serde_json::json!({"sub": "a"}), &[]).unwrap();
        let j = UnverifiedJwt::parse(&t).unwrap();
        j.verify_with(&v).unwrap();
        // The same key, verified again: nothing in it was used up.
        j.verify_with(&v).unwrap();
        let other = VerifyingKey::from_jwk(SigningKey::generate().unwrap().public_jwk()).unwrap();
        assert_eq!(j.verify_with(&other), Err(JoseError::BadSignature));
        let (input, sig) = t.rsplit_once('.').unwrap();
        assert_eq!(v.verify(b"e30.e30", sig), Err(JoseError::BadSignature));
        // A signature longer than any key's, or not base64url, is a bad signature, not a panic.
        let huge = b64url(&[7u8; MAX_SIGNATURE + 1]);
        assert_eq!(
            v.verify(input.as_bytes(), &huge),
            Err(JoseError::BadSignature)
        );
        assert_eq!(
            v.verify(input.as_bytes(), "!!"),
            Err(JoseError::BadSignature)
        );
        assert_eq!(v.verify(input.as_bytes(), ""), Err(JoseError::BadSignature));
        let AlgorithmParameters::RSA(rsa) = &k.public_jwk().algorithm else {
            panic!("an RSA key");
        };
        assert!(!format!("{v:?}").contains(&rsa.n));
    }

    #[test]
    fn keys_that_cannot_verify_rs256_are_refused_when_parsed() {
        let k = SigningKey::generate().unwrap();
        let mut bad_n = k.public_jwk().clone();
        if let AlgorithmParameters::RSA(r) = &mut bad_n.algorithm {
            r.n = "!!".into();
        }
        assert!(matches!(
            VerifyingKey::from_jwk(&bad_n),
            Err(JoseError::Key(_))
        ));
        let ec: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": "ec",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
        }))
        .unwrap();
        assert_eq!(
            VerifyingKey::from_jwk(&ec).unwrap_err(),
            JoseError::Key("not an RSA key".into())
        );
    }
}
