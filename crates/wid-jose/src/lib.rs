//! Keys, JWKS, and RS256 JSON Web Tokens for wid.
//!
//! A thin layer: RSA keys are generated and used for signing through `aws-lc-rs` (the same
//! crypto provider as rustls), JWK types and signature verification come from
//! `jsonwebtoken`, verification from `aws-lc-rs`. What this crate adds is the shape wid needs:
//! a [`SigningKey`] that keeps its parsed key pair for fast signing, a [`VerifyingKey`]
//! parsed once per published key for fast verification, an [`UnverifiedJwt`] that separates parsing (where
//! Entra reports AADSTS50027) from verification (where it reports 700027/7000272), and
//! RFC 7638 key ids.

mod jwt;
mod key;
mod verifying;

pub use jsonwebtoken::jwk::{Jwk, JwkSet};
pub use jwt::{JoseError, UnverifiedJwt, b64url, b64url_decode, verify_rs256};
pub use key::SigningKey;
pub use verifying::VerifyingKey;

/// SHA-256 of `data`, as lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref())
}

/// `bytes` as lower-case hex: one allocation, no formatting machinery (every API request
/// hashes its bearer key through [`sha256_hex`]).
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    hex
}

/// A certificate's `x5t`: the base64url SHA-1 thumbprint of its DER encoding, as Entra names
/// the certificate that signed a client assertion.
pub fn x5t(certificate_der: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        certificate_der,
    );
    b64url(d.as_ref())
}

/// `n` random bytes from the system's secure random source, base64url-encoded.
pub fn random_b64url(n: usize) -> String {
    let mut buf = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut buf).expect("system random source");
    b64url(&buf)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_hex_is_the_lower_case_digest() {
        // FIPS 180-2's examples.
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            super::sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }
}
