//! One full token exchange inside the token service: find the identity, verify the
//! projected token's RS256 signature with the issuer's (cached) JWKS, match the federated
//! credential, and sign the access token. No HTTP around it; the load example measures
//! that.
//!
//! Run with `cargo bench -p wid --bench exchange`.

use std::time::Duration;

mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use wid_cloud::sts::{Endpoint, TokenParams, exchange};

fn bench(c: &mut Criterion) {
    let common::Fixture {
        rt,
        dir: _dir,
        server,
        identity,
    } = common::fixture();
    let state = server.state.clone();
    let (assertion, _) =
        wid_cloud::issuer::mint(&state, "airflow", "airflow-worker", &[], 3600, None).unwrap();
    let params = TokenParams::from_pairs(vec![
        ("client_assertion", assertion.into_exposed()),
        (
            "client_assertion_type",
            wid_model::aadsts::JWT_BEARER.into(),
        ),
        ("client_id", identity.client_id.clone()),
        ("grant_type", "client_credentials".into()),
        ("scope", "https://management.azure.com/.default".into()),
    ])
    .expect("no duplicate parameters");
    let tenant = state.defaults.tenant_id.clone();
    // Warm the issuer metadata cache (one HTTPS fetch of discovery + JWKS).
    rt.block_on(exchange(&state, &tenant, Endpoint::V2, &params))
        .unwrap();
    c.bench_function("sts_exchange_full", |b| {
        b.iter(|| {
            rt.block_on(exchange(&state, &tenant, Endpoint::V2, &params))
                .unwrap()
        })
    });
    rt.block_on(server.shutdown());
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(8));
    targets = bench
}
criterion_main!(benches);
