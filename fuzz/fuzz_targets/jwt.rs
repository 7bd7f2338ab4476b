//! JWT parsing (`wid_jose::UnverifiedJwt`), as the token service reads a client assertion and
//! ARM and the API read a bearer token: any text is parsed, its claims read and its signature
//! checked against a fixed RSA key without a panic. Properties: base64url round-trips, and a
//! token rebuilt from the parsed header and claims parses to the same objects.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wid_jose::{Jwk, UnverifiedJwt, b64url, b64url_decode};

const N: &str = "tfTmEf5RR6CUIozyWqUQd0Jg9Qq8X3zi-16blula0R01CYiAzSdRAcn89pkQ5othIELWZANzAsI8_tSqufkLC4_Zr5O92SD8_ap1WPEbHyheuxD9tiX7GVOBkFik1trQZ8uzv32sWgWEX-ZhKbYhkejkX2lYWARlFJIAfml6DhgNpLitiR-h7LWypahLpepW9ZJP5NI-J-ZXnXgSXM5PAvN2L_jrGG-iOgKgEgEOdF78_7T4z7_uwNjDL4oT5h4HgVYlQQRCtmztEFVphYvziCRHfPC01JM0sZ3MH-u_-K3cZ5aoTGmAsiy-9ERz3cFdFWfWF9M0Wm0Nw2nHj_trNw";

/// A fixed RSA public key (the modulus of a 2048-bit key that signs nothing), so that verification runs its
/// whole path without generating a key per run.
fn jwk() -> &'static Jwk {
    static JWK: OnceLock<Jwk> = OnceLock::new();
    JWK.get_or_init(|| {
        serde_json::from_value(serde_json::json!({
            "kty": "RSA",
            "use": "sig",
            "kid": "fuzz",
            "alg": "RS256",
            "e": "AQAB",
            "n": N,
        }))
        .expect("a valid RSA JWK")
    })
}

fuzz_target!(|data: &[u8]| {
    assert_eq!(b64url_decode(&b64url(data)).as_deref(), Ok(data));
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(jwt) = UnverifiedJwt::parse(text) else {
        return;
    };
    let _ = (
        jwt.alg(),
        jwt.kid(),
        jwt.str_claim("iss"),
        jwt.str_claim("sub"),
    );
    let _ = (
        jwt.time_claim("exp"),
        jwt.time_claim("nbf"),
        jwt.audiences(),
    );
    assert!(
        jwt.verify(jwk()).is_err(),
        "a fuzzed token verified: {text:?}"
    );
    let header = serde_json::to_vec(&jwt.header).expect("a JSON object serialises");
    let claims = serde_json::to_vec(&jwt.claims).expect("a JSON object serialises");
    let rebuilt = format!("{}.{}.sig", b64url(&header), b64url(&claims));
    if let Ok(again) = UnverifiedJwt::parse(&rebuilt) {
        assert_eq!(again.header, jwt.header);
        assert_eq!(again.claims, jwt.claims);
    } else {
        assert!(rebuilt.len() > 16 * 1024, "{text:?} -> {rebuilt:?}");
    }
});
