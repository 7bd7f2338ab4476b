//! The credential against a live server: a cached token lookup through
//! `WorkloadIdentityCredential::get_token`, and a full exchange over HTTPS (a fresh
//! credential each time: read the token file, POST, parse).
//!
//! Run with `cargo bench -p wid --bench credential`. `benches/python/credential_bench.py`
//! measures the same two things in Python azure-identity.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use wid::home::Home;
use wid::server::{ServerOptions, start};
use wid_credential::{Pipeline, WorkloadIdentityCredential};
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
    let file = dir.path().join("token");
    std::fs::write(
        &file,
        wid_cloud::issuer::mint(&state, "airflow", "airflow-worker", &[], 3600, None)
            .unwrap()
            .0,
    )
    .unwrap();
    let home = Home::at(dir.path().join("home"));
    let http =
        wid::client::http_client(Some(&std::fs::read(home.ca_cert()).unwrap()), "ca.pem").unwrap();
    let make = || {
        WorkloadIdentityCredential::new(
            Some(&identity.client_id),
            Some(&state.defaults.tenant_id),
            Some(&file),
            Some(&server.endpoint),
            Pipeline::new(http.clone()),
        )
        .unwrap()
    };
    let scope = ["https://management.azure.com/.default"];
    let cred = make();
    rt.block_on(cred.get_token(&scope)).unwrap();
    // A cached lookup needs no I/O: poll it on a current-thread runtime, as code inside a
    // task awaits it, rather than paying the cross-thread wake-up of the server's runtime.
    let local = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    c.bench_function("credential_cached_get_token", |b| {
        b.iter(|| local.block_on(cred.get_token(&scope)).unwrap())
    });
    c.bench_function("credential_full_exchange_https", |b| {
        b.iter(|| rt.block_on(make().get_token(&scope)).unwrap())
    });
    rt.block_on(server.shutdown());
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(6));
    targets = bench
}
criterion_main!(benches);
