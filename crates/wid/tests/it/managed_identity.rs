//! ManagedIdentityCredential and the chain's fall-through, through `wid token`. IMDS and
//! App Service's identity endpoint cannot run here, so a small HTTP server plays them,
//! checking the requests exactly as IMDS does (Metadata header, api-version, resource).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::common::*;

const WID: &str = env!("CARGO_BIN_EXE_wid");

#[derive(Clone, Default)]
struct Hits(Arc<AtomicUsize>);

async fn imds(
    State(h): State<Hits>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> axum::response::Response {
    h.0.fetch_add(1, Ordering::SeqCst);
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}))).into_response();
    }
    let app_service = headers.get("x-identity-header").is_some();
    let _ = app_service;
    token_for(&q)
}

async fn app_service(
    State(h): State<Hits>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> axum::response::Response {
    h.0.fetch_add(1, Ordering::SeqCst);
    if headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok())
        != Some("s3cret")
        || q.get("api-version").map(String::as_str) != Some("2019-08-01")
    {
        return (StatusCode::UNAUTHORIZED, "bad header").into_response();
    }
    token_for(&q)
}

fn token_for(q: &std::collections::HashMap<String, String>) -> axum::response::Response {
    if q.get("client_id").map(String::as_str) == Some("unknown-client") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_request", "error_description": "Identity not found"})),
        )
            .into_response();
    }
    let claims = json!({"aud": q.get("resource"), "appid": q.get("client_id"), "api-version": q.get("api-version")});
    let token = raw_jwt(&json!({"alg": "RS256"}), &claims, "c2ln");
    Json(json!({"access_token": token, "refresh_token": "", "expires_in": "86399", "expires_on": "1900000000", "not_before": "1800000000", "resource": q.get("resource"), "token_type": "Bearer"})).into_response()
}

use axum::Json;

async fn stub() -> (String, Hits) {
    let hits = Hits::default();
    let app = axum::Router::new()
        .route("/metadata/identity/oauth2/token", axum::routing::get(imds))
        .route("/msi/token", axum::routing::get(app_service))
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

async fn wid_token(envs: &[(&str, String)], extra: &[&str]) -> (bool, Value, String) {
    let mut cmd = tokio::process::Command::new(WID);
    cmd.args(["token", "--output", "json"])
        .args(extra)
        .env_clear();
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let o = cmd.output().await.unwrap();
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (
        o.status.success(),
        v,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[tokio::test]
async fn imds_and_app_service_and_chain_order() {
    let (url, hits) = stub().await;
    // No workload identity variables: the chain skips WI (saying why) and uses IMDS.
    let (ok, v, err) = wid_token(
        &[
            ("AZURE_POD_IDENTITY_AUTHORITY_HOST", url.clone()),
            ("AZURE_CLIENT_ID", "mi-client".into()),
        ],
        &[],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(v["credential"], "ManagedIdentityCredential");
    assert_eq!(v["claims"]["aud"], "https://management.azure.com");
    assert_eq!(v["claims"]["appid"], "mi-client");
    assert_eq!(v["claims"]["api-version"], "2018-02-01");
    assert_eq!(v["expires_on"], 1_900_000_000);
    let chain = v["chain"].as_array().unwrap();
    let wi = chain
        .iter()
        .find(|l| l["credential"] == "WorkloadIdentityCredential")
        .unwrap();
    assert_eq!(wi["outcome"], "skipped");
    assert!(
        wi["reason"]
            .as_str()
            .unwrap()
            .contains("AZURE_FEDERATED_TOKEN_FILE"),
        "{wi}"
    );
    assert_eq!(hits.0.load(Ordering::SeqCst), 1);

    // IMDS's 400 "Identity not found" makes the chain fail with every link's reason.
    let (ok, _, err) = wid_token(
        &[("AZURE_POD_IDENTITY_AUTHORITY_HOST", url.clone())],
        &["--client-id", "unknown-client"],
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains("DefaultAzureCredential failed")
            && err.contains("Identity not found")
            && err.contains("unknown-client"),
        "{err}"
    );

    // No IMDS at all: unavailable within about a second, not a minute of retries.
    let started = std::time::Instant::now();
    let (ok, _, err) = wid_token(
        &[(
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            "http://127.0.0.1:1".into(),
        )],
        &[],
    )
    .await;
    assert!(!ok);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.contains("ManagedIdentityCredential: skipped") && err.contains("no response from IMDS"),
        "{err}"
    );

    // App Service: IDENTITY_ENDPOINT and IDENTITY_HEADER.
    let (ok, v, err) = wid_token(
        &[
            ("IDENTITY_ENDPOINT", format!("{url}/msi/token")),
            ("IDENTITY_HEADER", "s3cret".into()),
        ],
        &["--scope", "https://vault.azure.net/.default"],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(v["claims"]["aud"], "https://vault.azure.net");
    assert_eq!(v["claims"]["api-version"], "2019-08-01");
}

#[tokio::test]
async fn configured_workload_identity_never_probes_imds() {
    let c = TestCloud::start().await;
    let client_id = c
        .federated_identity("mi-noprobe", "airflow", "airflow-worker")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, c.sa_token("airflow", "airflow-worker")).unwrap();
    let (url, hits) = stub().await;
    let bundle = c.home.ca_cert().display().to_string();
    let envs = vec![
        ("AZURE_AUTHORITY_HOST", c.endpoint.clone()),
        ("AZURE_TENANT_ID", c.tenant.clone()),
        ("AZURE_FEDERATED_TOKEN_FILE", file.display().to_string()),
        ("SSL_CERT_FILE", bundle),
        ("AZURE_POD_IDENTITY_AUTHORITY_HOST", url),
    ];
    let (ok, v, err) = wid_token(
        &envs,
        &["--client-id", &client_id, "--tenant-id", &c.tenant],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(v["credential"], "WorkloadIdentityCredential");
    // A wrong client id fails in workload identity and stops the chain there.
    let (ok, _, err) = wid_token(
        &envs,
        &["--client-id", "22222222-2222-2222-2222-222222222222"],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("AADSTS700016"), "{err}");
    assert_eq!(hits.0.load(Ordering::SeqCst), 0, "IMDS was never called");
}
