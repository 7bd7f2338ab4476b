//! A cached token lookup: `WorkloadIdentityCredential::get_token` when the cache holds a
//! fresh token (no I/O). Run with `cargo bench -p wid-credential --bench cache`.

use criterion::{Criterion, criterion_group, criterion_main};
use wid_credential::{AccessToken, Pipeline, Secret, TokenCache};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let cache = TokenCache::new();
    let key = "tenant\nhttps://management.azure.com/.default";
    rt.block_on(cache.get_or_fetch(
        key,
        || 1_000,
        || async {
            Ok((
                AccessToken {
                    token: Secret::new("t".repeat(1500)),
                    expires_on: 1_000 + 86_399,
                },
                None,
            ))
        },
    ))
    .unwrap();
    c.bench_function("token_cache_hit", |b| {
        b.iter(|| {
            rt.block_on(cache.get_or_fetch(
                key,
                || 2_000,
                || async { unreachable!("cache hit expected") },
            ))
            .unwrap()
        })
    });
    // The same future polled once without an executor: what awaiting a hit costs in a task.
    c.bench_function("token_cache_hit_one_poll", |b| {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        b.iter(|| {
            let mut f = std::pin::pin!(cache.get_or_fetch(
                key,
                || 2_000,
                || async { unreachable!("cache hit expected") },
            ));
            match std::future::Future::poll(f.as_mut(), &mut cx) {
                std::task::Poll::Ready(t) => t.unwrap(),
                std::task::Poll::Pending => panic!("a hit is ready on the first poll"),
            }
        })
    });
    // The synchronous lookup `cached_token` does: tenant and scopes as given, no key built.
    let scopes = ["https://management.azure.com/.default"];
    c.bench_function("token_cache_peek_scopes", |b| {
        b.iter(|| cache.peek_scopes("tenant", &scopes, 2_000).unwrap())
    });
    // The same with every other core reading the same key at once: readers do not contend.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cache = std::sync::Arc::new(cache);
    let others: Vec<_> = (1..std::thread::available_parallelism().map_or(2, |n| n.get()))
        .map(|_| {
            let (cache, stop) = (cache.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::black_box(cache.peek_scopes("tenant", &scopes, 2_000));
                }
            })
        })
        .collect();
    c.bench_function("token_cache_peek_scopes_contended", |b| {
        b.iter(|| cache.peek_scopes("tenant", &scopes, 2_000).unwrap())
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in others {
        t.join().unwrap();
    }
    let _ = Pipeline::new(reqwest::Client::new());
}

criterion_group!(benches, bench);
criterion_main!(benches);
