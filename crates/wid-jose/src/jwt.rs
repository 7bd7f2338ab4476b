//! Compact JWT parsing and RS256 verification.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use serde_json::{Map, Value};

use crate::VerifyingKey;

/// What can go wrong with keys and tokens.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoseError {
    /// The token is not three base64url parts of JSON objects.
    #[error("malformed JWT: {0}")]
    Malformed(&'static str),
    /// The key can't be used (wrong type, bad encoding).
    #[error("key error: {0}")]
    Key(String),
    /// The signature does not verify.
    #[error("signature verification failed")]
    BadSignature,
}

/// base64url without padding.
pub fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Decodes base64url, with or without padding.
pub fn b64url_decode(s: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| JoseError::Malformed("not base64url"))
}

/// A JWT split and decoded, its signature not yet checked.
#[derive(Debug, Clone)]
pub struct UnverifiedJwt<'a> {
    /// The header object.
    pub header: Map<String, Value>,
    /// The claims object.
    pub claims: Map<String, Value>,
    signing_input: &'a str,
    signature: &'a str,
}

impl<'a> UnverifiedJwt<'a> {
    /// Splits and decodes a compact JWS. Fails on anything but three non-empty parts whose
    /// first two are JSON objects.
    pub fn parse(token: &'a str) -> Result<Self, JoseError> {
        if token.len() > 16 * 1024 {
            return Err(JoseError::Malformed("longer than 16 KiB"));
        }
        let mut parts = token.splitn(4, '.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed("not three dot-separated parts"));
        };
        if h.is_empty() || c.is_empty() {
            return Err(JoseError::Malformed("empty header or claims"));
        }
        if s.is_empty()
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(JoseError::Malformed(
                "the signature is not base64url (a trailing newline?)",
            ));
        }
        let header = decode_object(h)?;
        let claims = decode_object(c)?;
        Ok(Self {
            header,
            claims,
            signing_input: &token[..h.len() + 1 + c.len()],
            signature: s,
        })
    }

    /// `alg` of the header.
    pub fn alg(&self) -> Option<&str> {
        self.header.get("alg").and_then(Value::as_str)
    }

    /// `kid` of the header.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// A string claim.
    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A numeric-date claim, accepting integers and floats.
    pub fn time_claim(&self, name: &str) -> Option<i64> {
        let v = self.claims.get(name)?;
        v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
    }

    /// `aud` as a list: a string becomes a one-element list.
    pub fn audiences(&self) -> Vec<&str> {
        match self.claims.get("aud") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// Checks the RS256 signature with `jwk` (parsed for this one call; a key used again
    /// is cheaper as a [`VerifyingKey`], see [`UnverifiedJwt::verify_with`]).
    pub fn verify(&self, jwk: &Jwk) -> Result<(), JoseError> {
        verify_rs256(self.signing_input, self.signature, jwk)
    }

    /// Checks the RS256 signature with a parsed key.
    pub fn verify_with(&self, key: &VerifyingKey) -> Result<(), JoseError> {
        key.verify(self.signing_input.as_bytes(), self.signature)
    }
}

fn decode_object(part: &str) -> Result<Map<String, Value>, JoseError> {
    let bytes = b64url_decode(part)?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(JoseError::Malformed("not a JSON object")),
    }
}

/// Verifies an RS256 signature over `signing_input` with an RSA JWK.
pub fn verify_rs256(signing_input: &str, signature_b64: &str, jwk: &Jwk) -> Result<(), JoseError> {
    VerifyingKey::from_jwk(jwk)?.verify(signing_input.as_bytes(), signature_b64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigningKey;

    #[test]
    fn sign_then_verify_and_tamper() {
        let k = SigningKey::generate().unwrap();
        let t = k
            .sign_jwt(
                &serde_json::json!({"sub":"a","aud":["x"]}),
                &[("x5t", "abc")],
            )
            .unwrap();
        let j = UnverifiedJwt::parse(&t).unwrap();
        assert_eq!(j.alg(), Some("RS256"));
        assert_eq!(j.kid(), Some(k.kid()));
        assert_eq!(j.header.get("x5t").unwrap(), "abc");
        assert_eq!(j.audiences(), vec!["x"]);
        j.verify(k.public_jwk()).unwrap();
        let other = SigningKey::generate().unwrap();
        assert_eq!(j.verify(other.public_jwk()), Err(JoseError::BadSignature));
        // Tamper with the claims: the signature must fail.
        let parts: Vec<&str> = t.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], b64url(br#"{"sub":"b"}"#), parts[2]);
        assert_eq!(
            UnverifiedJwt::parse(&forged)
                .unwrap()
                .verify(k.public_jwk()),
            Err(JoseError::BadSignature)
        );
    }

    #[test]
    fn pem_round_trip_keeps_kid() {
        let k = SigningKey::generate().unwrap();
        let again = SigningKey::from_pem(k.private_pem().expose_str()).unwrap();
        assert_eq!(k.kid(), again.kid());
        assert!(!format!("{k:?}").contains("PRIVATE"));
        assert!(
            SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .is_err()
        );
    }

    #[test]
    fn malformed_tokens() {
        for bad in [
            "",
            "a",
            "a.b",
            "a.b.c.d",
            "!!.e30.x",
            "e30.!!.x",
            "W10.e30.x",
            ".e30.x",
        ] {
            assert!(UnverifiedJwt::parse(bad).is_err(), "{bad}");
        }
        assert!(UnverifiedJwt::parse("e30.e30.").is_err());
        assert!(UnverifiedJwt::parse("e30.e30.abc\n").is_err());
        assert!(UnverifiedJwt::parse("e30.e30.abc").is_ok());
        let long = "a".repeat(20000);
        assert!(UnverifiedJwt::parse(&long).is_err());
    }
}
