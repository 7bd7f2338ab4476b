//! One full token exchange inside the token service: find the identity, verify the
//! projected token's RS256 signature with the issuer's (cached) JWKS, match the federated
//! credential, and sign the access token. No HTTP around it; the load example measures
//! that.
//!
//! Run with `cargo bench -p wid --bench exchange`.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use wid::home::Home;
use wid::server::{ServerOptions, start};
use wid_cloud::sts::{Endpoint, TokenParams, exchange};
use wid_model::{Clock, SystemClock};
use wid_store::{FederatedCredential, Identity};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut opts = ServerOptions::new(
        Home::at(dir.path().join("home")),
        "127.0.0.1:0".parse().unwrap(),
    );
    opts.fic_write_hold = Duration::ZERO;
    let server = rt
        .block_on(start(opts, Arc::new(SystemClock) as Arc<dyn Clock>))
        .unwrap();
    let state = server.state.clone();
    let now = SystemClock.now();
    let identity = Identity {
        principal_id: wid_model::ids::new_guid(),
        client_id: wid_model::ids::new_guid(),
        tenant_id: state.defaults.tenant_id.clone(),
        subscription_id: state.defaults.subscription_id.clone(),
        resource_group: "rg-airflow".into(),
        name: "bench-mi".into(),
        location: "eastus".into(),
        tags: "{}".into(),
    };
    rt.block_on(async {
        state.store.insert_identity(&identity, now).await.unwrap();
        state
            .store
            .upsert_fic(&FederatedCredential {
                identity_principal_id: identity.principal_id.clone(),
                name: "bench".into(),
                issuer: state.config.issuer_url(),
                subject: "system:serviceaccount:airflow:airflow-worker".into(),
                audience: "api://AzureADTokenExchange".into(),
                created_at: now,
            })
            .await
            .unwrap();
    });
    let (assertion, _) =
        wid_cloud::issuer::mint(&state, "airflow", "airflow-worker", &[], 3600, None).unwrap();
    let params = TokenParams::from_pairs(vec![
        ("client_assertion".into(), assertion),
        (
            "client_assertion_type".into(),
            wid_model::aadsts::JWT_BEARER.into(),
        ),
        ("client_id".into(), identity.client_id.clone()),
        ("grant_type".into(), "client_credentials".into()),
        (
            "scope".into(),
            "https://management.azure.com/.default".into(),
        ),
    ]);
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
