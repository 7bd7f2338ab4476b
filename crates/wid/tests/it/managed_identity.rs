//! ManagedIdentityCredential and the chain's fall-through, through `wid token` and Python
//! azure-identity. wid's own stand-in IMDS (`/metadata/identity/oauth2/token`) serves real
//! tokens for its identities; a small HTTP server plays App Service's identity endpoint, and
//! the answers IMDS never gives (a firewall's page) that clients still meet.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::common::*;
use wid_model::Clock;

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

/// `wid token` with only the variables given (no workload identity), against the stand-in.
async fn wid_token_at(c: &TestCloud, imds: &str, extra: &[&str]) -> (bool, Value, String) {
    wid_token(
        &[
            ("AZURE_POD_IDENTITY_AUTHORITY_HOST", imds.to_string()),
            ("SSL_CERT_FILE", c.home.ca_cert().display().to_string()),
        ],
        extra,
    )
    .await
}

fn imds_url(c: &TestCloud, query: &str) -> String {
    format!("{}/metadata/identity/oauth2/token?{query}", c.endpoint)
}

async fn imds_get(c: &TestCloud, query: &str, metadata: bool) -> (u16, Value) {
    let mut rb = c.http.get(imds_url(c, query));
    if metadata {
        rb = rb.header("Metadata", "true");
    }
    let r = rb.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[track_caller]
fn assert_imds_error(resp: &(u16, Value), status: u16, description: &str) {
    assert_eq!(resp.0, status, "{}", resp.1);
    assert_eq!(resp.1["error"], "invalid_request", "{}", resp.1);
    assert!(
        resp.1["error_description"]
            .as_str()
            .unwrap_or("")
            .contains(description),
        "{}",
        resp.1
    );
}

#[tokio::test]
async fn stand_in_imds_keeps_imds_rules() {
    let c = TestCloud::start().await;
    const Q: &str = "api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F";
    // No identity yet: IMDS's own 400.
    assert_imds_error(&imds_get(&c, Q, true).await, 400, "Identity not found");
    let (client_a, principal_a) = c.create_identity("mi-a").await;

    // The header rule, the required parameters, IMDS's api-versions.
    assert_imds_error(
        &imds_get(&c, Q, false).await,
        400,
        "Required metadata header not specified",
    );
    assert_imds_error(
        &imds_get(&c, "resource=https%3A%2F%2Fmanagement.azure.com%2F", true).await,
        400,
        "api-version",
    );
    let bad_version = imds_get(&c, "api-version=2099-01-01&resource=x", true).await;
    assert_imds_error(&bad_version, 400, "Invalid api-version '2099-01-01'");
    assert!(
        bad_version.1["newest-versions"].is_array(),
        "{}",
        bad_version.1
    );
    assert_imds_error(
        &imds_get(&c, "api-version=2018-02-01", true).await,
        400,
        "Required audience parameter not specified",
    );
    assert_imds_error(
        &imds_get(
            &c,
            &format!("{Q}&client_id={client_a}&object_id={principal_a}"),
            true,
        )
        .await,
        400,
        "Only one of client_id, object_id or msi_res_id",
    );

    // One identity: it is the host's, with or without naming it.
    let (s, v) = imds_get(&c, Q, true).await;
    assert_eq!(s, 200, "{v}");
    for k in [
        "access_token",
        "client_id",
        "expires_in",
        "expires_on",
        "ext_expires_in",
        "not_before",
        "resource",
        "token_type",
    ] {
        assert!(v[k].is_string(), "{k} is a string in IMDS's answer: {v}");
    }
    assert_eq!(v["client_id"], client_a.as_str());
    assert_eq!(v["resource"], "https://management.azure.com/");
    let claims = claims_of(v["access_token"].as_str().unwrap());
    assert_eq!(claims["appid"], client_a.as_str());
    assert_eq!(claims["oid"], principal_a.as_str());
    assert_eq!(claims["aud"], "https://management.azure.com");
    assert_eq!(claims["tid"], c.tenant.as_str());
    assert!(
        claims["xms_mirid"]
            .as_str()
            .unwrap()
            .ends_with("/userAssignedIdentities/mi-a")
    );
    let expires_on: i64 = v["expires_on"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_on, claims["exp"].as_i64().unwrap());

    // Two identities: IMDS wants to be told which; client_id, object_id and msi_res_id pick.
    let (client_b, principal_b) = c.create_identity("mi-b").await;
    assert_imds_error(
        &imds_get(&c, Q, true).await,
        400,
        "Multiple user assigned identities exist",
    );
    let res_id = format!(
        "/subscriptions/{}/resourceGroups/rg-airflow/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi-b",
        c.sub
    );
    for selector in [
        format!("client_id={client_b}"),
        format!("object_id={principal_b}"),
        format!("msi_res_id={}", urlencoding(&res_id)),
    ] {
        let (s, v) = imds_get(&c, &format!("{Q}&{selector}"), true).await;
        assert_eq!(s, 200, "{selector}: {v}");
        assert_eq!(v["client_id"], client_b.as_str(), "{selector}");
    }
    assert_imds_error(
        &imds_get(
            &c,
            &format!("{Q}&client_id=00000000-0000-0000-0000-000000000001"),
            true,
        )
        .await,
        400,
        "Identity not found",
    );

    // The token is accepted by the stand-in ARM as the identity (which has no role yet).
    let (s, v) = imds_get(&c, &format!("{Q}&client_id={client_b}"), true).await;
    assert_eq!(s, 200);
    let r = c
        .http
        .get(format!(
            "{}/subscriptions/{}?api-version=2022-12-01",
            c.endpoint, c.sub
        ))
        .bearer_auth(v["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AuthorizationFailed", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&principal_b),
        "{body}"
    );
}

fn urlencoding(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_string()
}

#[tokio::test]
async fn managed_identity_clients_get_tokens_from_the_stand_in_imds() {
    let c = TestCloud::start().await;
    let (client_id, principal_id) = c.create_identity("mi-vm").await;
    let _other = c.create_identity("mi-other").await;

    // wid's own chain: no workload identity variables, so ManagedIdentityCredential, at wid.
    let (ok, v, err) = wid_token_at(&c, &c.endpoint, &["--client-id", &client_id]).await;
    assert!(ok, "{err}");
    assert_eq!(v["credential"], "ManagedIdentityCredential");
    assert_eq!(v["claims"]["appid"], client_id.as_str());
    assert_eq!(v["claims"]["oid"], principal_id.as_str());

    // The unmodified Python azure-identity, as on a VM: ManagedIdentityCredential and the
    // DefaultAzureCredential that Airflow's provider builds without workload identity.
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/managed_identity.py");
    let out = tokio::process::Command::new(crate::cli_session::python())
        .arg(&script)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", &c.endpoint)
        .env("REQUESTS_CA_BUNDLE", c.home.ca_cert())
        .env("WID_TEST_CLIENT_ID", &client_id)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (which, aud) in [
        ("managed_identity", "https://management.azure.com"),
        ("default_azure_credential", "https://storage.azure.com"),
    ] {
        let claims = &v[which]["claims"];
        assert_eq!(claims["aud"], aud, "{which}: {claims}");
        assert_eq!(claims["appid"], client_id.as_str(), "{which}");
        assert_eq!(claims["oid"], principal_id.as_str(), "{which}");
        assert!(v[which]["expires_on"].as_i64().unwrap() > c.clock.now() + 3600);
    }
}

/// A loopback server that answers every request as a firewall does: 403, plain text.
async fn firewall(status: StatusCode, body: &'static str) -> String {
    let app = axum::Router::new().fallback(move || async move { (status, body) });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[track_caller]
fn assert_explains_no_identity(err: &str, endpoint: &str) {
    for needle in [
        "DefaultAzureCredential failed to retrieve a token",
        "EnvironmentCredential: skipped (AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) are not all set)",
        "WorkloadIdentityCredential: skipped",
        "AZURE_FEDERATED_TOKEN_FILE",
        "ManagedIdentityCredential: skipped",
        &format!("IMDS at {endpoint} (from AZURE_POD_IDENTITY_AUTHORITY_HOST)"),
        "hint: this process has no identity",
        "wid env --namespace NAMESPACE --service-account SERVICE_ACCOUNT --client-id CLIENT_ID",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert!(!err.contains("token service refused"), "{err}");
}

#[tokio::test]
async fn unreachable_imds_is_named_with_the_links_before_it_and_the_fix() {
    let c = TestCloud::start().await;
    // A port nothing listens on: bind one, then close it.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let (ok, _, err) = wid_token_at(&c, &closed, &[]).await;
    assert!(!ok);
    assert_explains_no_identity(&err, &closed);
    assert!(err.contains("no response from IMDS"), "{err}");
}

#[tokio::test]
async fn a_firewall_answering_for_imds_is_not_taken_for_the_token_service() {
    let c = TestCloud::start().await;
    for (status, body) in [
        (StatusCode::FORBIDDEN, "resolve_deny: denied destination"),
        (
            StatusCode::OK,
            "<html><body>Welcome to the proxy</body></html>",
        ),
    ] {
        let url = firewall(status, body).await;
        let (ok, _, err) = wid_token_at(&c, &url, &[]).await;
        assert!(!ok, "{body}");
        assert_explains_no_identity(&err, &url);
        assert!(
            err.contains(&format!("answered HTTP {}", status.as_u16()))
                && err.contains("is not IMDS's")
                && err.contains(body.split_whitespace().next().unwrap()),
            "{err}"
        );
    }
}
