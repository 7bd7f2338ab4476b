//! Raw RS256 sign and verify rates of the crypto library (aws-lc-rs, through wid-jose):
//! the upper bound for the token service's exchange rate.
//!
//! Run with `cargo bench -p wid-jose --bench rs256`.

use criterion::{Criterion, criterion_group, criterion_main};
use wid_jose::{SigningKey, UnverifiedJwt};

fn rs256(c: &mut Criterion) {
    let key = SigningKey::generate().expect("key");
    let claims = serde_json::json!({"iss":"https://127.0.0.1:8443/issuer/","sub":"system:serviceaccount:airflow:airflow-worker","aud":["api://AzureADTokenExchange"],"iat":1,"exp":2});
    c.bench_function("rs256_sign_jwt", |b| {
        b.iter(|| key.sign_jwt(&claims, &[]).expect("sign"))
    });
    let token = key.sign_jwt(&claims, &[]).expect("sign");
    c.bench_function("rs256_verify_jwt", |b| {
        b.iter(|| {
            UnverifiedJwt::parse(&token)
                .expect("parse")
                .verify(key.public_jwk())
                .expect("verify")
        })
    });
    // The key parsed once, as the token service holds an issuer's keys.
    let parsed = key.verifying_key();
    c.bench_function("rs256_verify_jwt_parsed_key", |b| {
        b.iter(|| {
            UnverifiedJwt::parse(&token)
                .expect("parse")
                .verify_with(parsed)
                .expect("verify")
        })
    });
}

criterion_group!(benches, rs256);
criterion_main!(benches);
