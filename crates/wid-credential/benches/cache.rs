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
    let _ = Pipeline::new(reqwest::Client::new());
}

criterion_group!(benches, bench);
criterion_main!(benches);
