//! The credential against a live server: a cached token lookup through
//! `WorkloadIdentityCredential::get_token`, and a full exchange over HTTPS (a fresh
//! credential each time: read the token file, POST, parse).
//!
//! Run with `cargo bench -p wid --bench credential`. `benches/python/credential_bench.py`
//! measures the same two things in Python azure-identity.

use std::future::Future;
use std::time::Duration;

mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use wid::home::Home;
use wid_credential::{Pipeline, WorkloadIdentityCredential};

fn bench(c: &mut Criterion) {
    let common::Fixture {
        rt,
        dir,
        server,
        identity,
    } = common::fixture();
    let state = server.state.clone();
    let file = dir.path().join("token");
    std::fs::write(
        &file,
        wid_cloud::issuer::mint(&state, "airflow", "airflow-worker", &[], 3600, None)
            .unwrap()
            .0
            .into_exposed(),
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
    // The same lookup without the executor: what the hot path costs inside a running task.
    c.bench_function("credential_cached_token_sync", |b| {
        b.iter(|| cred.cached_token(&scope).unwrap())
    });
    // The async path as a task sees it: the future polled once, with no executor around it
    // (a cached token is ready on the first poll).
    c.bench_function("credential_cached_get_token_one_poll", |b| {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        b.iter(|| {
            let mut f = std::pin::pin!(cred.get_token(&scope));
            match f.as_mut().poll(&mut cx) {
                std::task::Poll::Ready(t) => t.unwrap(),
                std::task::Poll::Pending => panic!("a cached token is ready on the first poll"),
            }
        })
    });
    // The executor alone, to read the two numbers above.
    c.bench_function("runtime_block_on_noop", |b| {
        b.iter(|| local.block_on(async { 1 }))
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
