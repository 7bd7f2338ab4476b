//! The Rust credential against a live server over HTTPS: caching, single flight, token file
//! rotation, explained errors, retries on 429 with Retry-After, bounded failure.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wid_credential::{CredentialError, Pipeline, RetryPolicy, Sleeper, WorkloadIdentityCredential};
use wid_model::Clock;

use crate::common::*;

/// Records the waits instead of sleeping.
#[derive(Debug, Default)]
struct RecordingSleeper(Mutex<Vec<Duration>>);

impl Sleeper for RecordingSleeper {
    fn sleep(
        &self,
        d: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        self.0.lock().unwrap().push(d);
        Box::pin(async {})
    }
}

fn pipeline(c: &TestCloud, sleeper: Arc<RecordingSleeper>) -> Pipeline {
    let mut p = Pipeline::new(c.http.clone());
    p.clock = c.clock.clone();
    p.sleeper = sleeper;
    p
}

fn requests(c: &TestCloud) -> u64 {
    c.state().metrics.token_requests.load(Ordering::SeqCst)
}

fn credential(
    c: &TestCloud,
    client_id: &str,
    file: &Path,
    sleeper: Arc<RecordingSleeper>,
) -> WorkloadIdentityCredential {
    WorkloadIdentityCredential::new(
        Some(client_id),
        Some(&c.tenant),
        Some(file),
        Some(&c.endpoint),
        pipeline(c, sleeper),
    )
    .unwrap()
}

/// Writes a token file and moves its mtime forward so a rewrite within the same second is seen.
fn write_token(file: &Path, token: &str) {
    static BUMP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    wid::home::write_atomic(file, token.as_bytes(), true).unwrap();
    let f = std::fs::File::options().write(true).open(file).unwrap();
    let t = std::time::SystemTime::now() + Duration::from_secs(BUMP.fetch_add(1, Ordering::SeqCst));
    f.set_modified(t).unwrap();
}

#[tokio::test]
async fn caches_per_resource_and_single_flight() {
    let c = TestCloud::start().await;
    let client_id = c
        .federated_identity("mi-cache", "airflow", "airflow-worker")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    write_token(&file, &c.sa_token("airflow", "airflow-worker"));
    let cred = Arc::new(credential(&c, &client_id, &file, Default::default()));

    // 50 concurrent callers on a cold cache: one exchange.
    let before = requests(&c);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let cred = cred.clone();
        tasks.push(tokio::spawn(async move {
            cred.get_token(&["https://management.azure.com/.default"])
                .await
                .unwrap()
        }));
    }
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap().token.expose_str().to_string());
    }
    assert_eq!(requests(&c) - before, 1, "50 callers, one exchange");
    assert!(tokens.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(claims_of(&tokens[0])["aud"], "https://management.azure.com");

    // A second resource: a second exchange; then both cached (no request at all).
    let storage = cred
        .get_token(&["https://storage.azure.com/.default"])
        .await
        .unwrap();
    assert_eq!(
        claims_of(storage.token.expose_str())["aud"],
        "https://storage.azure.com"
    );
    assert_eq!(requests(&c) - before, 2);
    for _ in 0..10 {
        cred.get_token(&["https://management.azure.com/.default"])
            .await
            .unwrap();
        cred.get_token(&["https://storage.azure.com/.default"])
            .await
            .unwrap();
    }
    assert_eq!(requests(&c) - before, 2, "cached calls make no request");

    // Past half of the 24 h lifetime a refresh is made, once.
    c.clock.advance(86_399 / 2 + 1);
    cred.get_token(&["https://management.azure.com/.default"])
        .await
        .unwrap_err_or_ok();
    assert_eq!(requests(&c) - before, 3);
}

trait Ignore {
    fn unwrap_err_or_ok(self);
}
impl<T, E> Ignore for Result<T, E> {
    fn unwrap_err_or_ok(self) {}
}

#[tokio::test]
async fn rotated_token_file_is_picked_up_and_stale_file_is_explained() {
    let c = TestCloud::start().await;
    let client_id = c
        .federated_identity("mi-rotate", "airflow", "airflow-worker")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azure-identity-token");
    write_token(&file, &c.sa_token("airflow", "airflow-worker"));
    let cred = credential(&c, &client_id, &file, Default::default());
    cred.get_token(&["https://management.azure.com/.default"])
        .await
        .unwrap();

    // The token in the file expires; the kubelet does not rotate it (stale): 700024, explained.
    c.clock.advance(3600 + 400);
    let e = cred
        .get_token(&["https://vault.azure.net/.default"])
        .await
        .unwrap_err();
    assert_eq!(e.aadsts(), Some(700024));
    let shown = e.to_string();
    for needle in [
        "AADSTS700024",
        &format!("the service-account token in {}", file.display()),
        "old and expires at",
        "the server's time is",
        "this machine's is",
        "wid issuer token --write",
    ] {
        assert!(shown.contains(needle), "'{needle}' missing in:\n{shown}");
    }
    // The kubelet rotates the file: the next call reads it and succeeds.
    write_token(&file, &c.sa_token("airflow", "airflow-worker"));
    let t = cred
        .get_token(&["https://vault.azure.net/.default"])
        .await
        .unwrap();
    assert_eq!(
        claims_of(t.token.expose_str())["aud"],
        "https://vault.azure.net"
    );

    // Rotated mid-run, before the 10-minute re-read: the new file is used at once (mtime).
    let other = c.sa_token("airflow", "airflow-worker");
    write_token(&file, &other);
    // Break the credential of the old subject so only the fresh file can succeed: point the
    // file at another service account that has no credential, then back.
    write_token(&file, &c.sa_token("airflow", "intruder"));
    let e = cred
        .get_token(&["https://graph.microsoft.com/.default"])
        .await
        .unwrap_err();
    assert_eq!(e.aadsts(), Some(700213), "the rotated file was read: {e}");
    write_token(&file, &other);
    cred.get_token(&["https://graph.microsoft.com/.default"])
        .await
        .unwrap();
}

#[tokio::test]
async fn retries_429_honouring_retry_after() {
    let c = TestCloud::start().await;
    let client_id = c
        .federated_identity("mi-429", "airflow", "airflow-worker")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    write_token(&file, &c.sa_token("airflow", "airflow-worker"));
    let sleeper = Arc::new(RecordingSleeper::default());
    let cred = credential(&c, &client_id, &file, sleeper.clone());
    c.state().faults.add(wid_cloud::faults::Fault {
        target: "token".into(),
        status: 429,
        retry_after: Some(7),
        count: 2,
    });
    let before = requests(&c);
    cred.get_token(&["https://management.azure.com/.default"])
        .await
        .unwrap();
    assert_eq!(
        requests(&c) - before,
        3,
        "two throttled attempts and one success"
    );
    assert_eq!(
        *sleeper.0.lock().unwrap(),
        vec![Duration::from_secs(7), Duration::from_secs(7)]
    );

    // 503 without Retry-After: exponential back-off.
    c.state().faults.add(wid_cloud::faults::Fault {
        target: "token".into(),
        status: 503,
        retry_after: None,
        count: 2,
    });
    sleeper.0.lock().unwrap().clear();
    cred.get_token(&["https://storage.azure.com/.default"])
        .await
        .unwrap();
    assert_eq!(
        *sleeper.0.lock().unwrap(),
        vec![Duration::from_millis(800), Duration::from_millis(1600)]
    );

    // Throttled beyond the retry budget: the 429 surfaces.
    c.state().faults.add(wid_cloud::faults::Fault {
        target: "token".into(),
        status: 429,
        retry_after: Some(1),
        count: 10,
    });
    let e = cred
        .get_token(&["https://vault.azure.net/.default"])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("HTTP 429"), "{e}");
}

#[tokio::test]
async fn unreachable_authority_fails_within_bounded_time() {
    let c = TestCloud::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    write_token(&file, &c.sa_token("airflow", "airflow-worker"));
    // A port nobody listens on, and one that accepts but never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut v = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            v.push(s);
        }
    });
    for authority in [
        "https://127.0.0.1:1".to_string(),
        format!("https://127.0.0.1:{silent_port}"),
    ] {
        let sleeper = Arc::new(RecordingSleeper::default());
        let mut p = pipeline(&c, sleeper.clone());
        p.retry = RetryPolicy {
            attempt_timeout: Duration::from_millis(500),
            max_total: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        let cred = WorkloadIdentityCredential::new(
            Some("cid"),
            Some(&c.tenant),
            Some(&file),
            Some(&authority),
            p,
        )
        .unwrap();
        let started = Instant::now();
        let e = cred
            .get_token(&["https://management.azure.com/.default"])
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{authority}: {:?}",
            started.elapsed()
        );
        let shown = e.to_string();
        assert!(
            matches!(e, CredentialError::Unreachable { attempts: 4, .. }),
            "{shown}"
        );
        assert!(
            shown.contains(&format!(
                "cannot reach {authority}/{}/oauth2/v2.0/token after 4 attempt(s)",
                c.tenant
            )),
            "{shown}"
        );
        assert!(shown.contains("hint:"), "{shown}");
        assert_eq!(sleeper.0.lock().unwrap().len(), 3);
    }
    hold.abort();
}

#[tokio::test]
async fn explained_errors_carry_values_and_remedy() {
    let c = TestCloud::start().await;
    let client_id = c
        .federated_identity("mi-explain", "airflow", "airflow-worker")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    let iss = c.issuer();
    let key = c.state().keys.active(wid_cloud::keys::Purpose::Issuer);
    let now = c.clock.now();
    let fic_list = "wid identity federated-credential list";

    let cases: Vec<(u32, String, String, Vec<String>)> = vec![
        // (code, client id, token, needles)
        (
            700213,
            client_id.clone(),
            c.sa_token("airflow", "scheduler"),
            vec![
                "subject 'system:serviceaccount:airflow:scheduler'".into(),
                fic_list.into(),
                format!("issuer '{iss}'"),
            ],
        ),
        (
            700211,
            client_id.clone(),
            sign_with(
                &key,
                &sa_claims(
                    iss.trim_end_matches('/'),
                    "system:serviceaccount:airflow:airflow-worker",
                    now,
                ),
                None,
            ),
            vec![
                format!("issuer '{}'", iss.trim_end_matches('/')),
                "trailing slash".into(),
                fic_list.into(),
            ],
        ),
        (
            700212,
            client_id.clone(),
            wid_cloud::issuer::mint(
                c.state(),
                "airflow",
                "airflow-worker",
                &["api://wrong".into()],
                3600,
                None,
            )
            .unwrap()
            .0
            .into_exposed(),
            vec![
                "audience 'api://wrong'".into(),
                "api://AzureADTokenExchange".into(),
            ],
        ),
        (
            700016,
            "11111111-2222-3333-4444-555555555555".into(),
            c.sa_token("airflow", "airflow-worker"),
            vec![
                "client id '11111111-2222-3333-4444-555555555555'".into(),
                "Principal ID".into(),
            ],
        ),
    ];
    for (code, cid, token, needles) in cases {
        write_token(&file, &token);
        let cred = credential(&c, &cid, &file, Default::default());
        let e = cred
            .get_token(&["https://management.azure.com/.default"])
            .await
            .unwrap_err();
        assert_eq!(e.aadsts(), Some(code), "{e}");
        let shown = e.to_string();
        for n in &needles {
            assert!(
                shown.contains(n.as_str()),
                "{code}: '{n}' missing in:\n{shown}"
            );
        }
    }
    // 70021: an identity without credentials names all three values.
    let (bare, _) = c.create_identity("mi-bare-x").await;
    write_token(&file, &c.sa_token("airflow", "airflow-worker"));
    let e = credential(&c, &bare, &file, Default::default())
        .get_token(&["https://management.azure.com/.default"])
        .await
        .unwrap_err();
    assert_eq!(e.aadsts(), Some(70021));
    let shown = e.to_string();
    for n in [
        format!("issuer '{iss}'"),
        "subject 'system:serviceaccount:airflow:airflow-worker'".into(),
        "audience 'api://AzureADTokenExchange'".into(),
        format!("identity {bare}"),
        fic_list.into(),
    ] {
        assert!(shown.contains(&n), "'{n}' missing in:\n{shown}");
    }
    // 90002: a tenant that does not exist.
    let cred = WorkloadIdentityCredential::new(
        Some(&client_id),
        Some("00000000-0000-0000-0000-00000000abcd"),
        Some(&file),
        Some(&c.endpoint),
        pipeline(&c, Default::default()),
    )
    .unwrap();
    let e = cred
        .get_token(&["https://management.azure.com/.default"])
        .await
        .unwrap_err();
    assert_eq!(e.aadsts(), Some(90002));
    assert!(
        e.to_string()
            .contains("tenant '00000000-0000-0000-0000-00000000abcd' does not exist")
            && e.to_string().contains("AZURE_AUTHORITY_HOST"),
        "{e}"
    );
    // A secret never shows in Debug output.
    assert!(!format!("{cred:?}").contains(&token_text(&file)));
}

fn token_text(file: &Path) -> String {
    std::fs::read_to_string(file).unwrap()
}

#[tokio::test]
async fn per_call_tenant_needs_additionally_allowed_tenants() {
    let c = TestCloud::start().await;
    let client_id = c
        .federated_identity("mi-tenant", "airflow", "airflow-worker")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    write_token(&file, &c.sa_token("airflow", "airflow-worker"));
    let cred = credential(&c, &client_id, &file, Default::default());
    let other = wid_credential::TokenRequestOptions {
        tenant_id: Some("99999999-0000-0000-0000-000000000000".into()),
    };
    let e = cred
        .get_token_with(&["https://management.azure.com/.default"], &other)
        .await
        .unwrap_err();
    assert!(matches!(e, CredentialError::TenantNotAllowed { .. }), "{e}");
    let same = wid_credential::TokenRequestOptions {
        tenant_id: Some(c.tenant.clone()),
    };
    cred.get_token_with(&["https://management.azure.com/.default"], &same)
        .await
        .unwrap();
}

/// A token endpoint that answers 2 MiB, with and without a length: the credential refuses it
/// as it streams in, with the reason, and never holds it all.
#[tokio::test]
async fn an_oversized_token_answer_is_refused_while_it_streams() {
    for chunked in [false, true] {
        let app = axum::Router::new().fallback(move || async move {
            let big = vec![b'x'; 2 * 1024 * 1024];
            if chunked {
                let stream = futures_like_chunks(big);
                axum::response::Response::new(axum::body::Body::from_stream(stream))
            } else {
                axum::response::Response::new(axum::body::Body::from(big))
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let mut pipeline = wid_credential::Pipeline::new(reqwest::Client::new());
        pipeline.retry.max_retries = 0;
        let e = pipeline
            .send(&url, |h| h.get(&url))
            .await
            .expect_err("refused");
        let shown = e.to_string();
        assert!(
            shown.contains("more than the 1048576"),
            "chunked={chunked}: {shown}"
        );
    }
}

/// A body in 64 KiB chunks, without a Content-Length.
fn futures_like_chunks(
    data: Vec<u8>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::iter(
        data.chunks(64 * 1024)
            .map(|c| Ok(c.to_vec()))
            .collect::<Vec<_>>(),
    )
}
