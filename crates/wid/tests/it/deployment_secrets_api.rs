//! `GET /api/v2/deployments/{name}/secrets/connections/{conn_id}` over HTTPS, with tokens a
//! deployment's pods really get (a projected service-account token exchanged for `api://wid`):
//! the identity assigned to a deployment reads its linked connections with overrides and
//! secrets, another identity gets 403, a deployment sharing the identity shares its reach,
//! the administrator reads all, and only the administrator writes what grants reach.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

fn key(c: &TestCloud) -> String {
    std::fs::read_to_string(c.home.root().join("api-key"))
        .unwrap()
        .trim()
        .to_string()
}

async fn admin(c: &TestCloud, m: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
    let k = key(c);
    let (s, _, v) = c.call(m, path, Some(&k), body).await;
    (s, v)
}

fn secret(deployment: &str, conn_id: &str) -> String {
    format!("/api/v2/deployments/{deployment}/secrets/connections/{conn_id}")
}

/// A deployment in namespace `ns`, assigned identity `identity` (client id, principal id) as
/// `wid deployment assign-identity` records it.
async fn deployment(c: &TestCloud, name: &str, ns: &str, identity: &str, ids: &(String, String)) {
    let (s, v) = admin(
        c,
        Method::POST,
        "/api/v2/deployments",
        Some(&json!({"name": name, "namespace": ns, "airflow_version": 3})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let record = json!({"identity_id": c.identity_path(identity), "identity_name": identity, "resource_group": "rg-airflow", "principal_id": ids.1, "client_id": ids.0, "issuer": c.issuer(), "created": []});
    let (s, v) = admin(
        c,
        Method::PUT,
        &format!("/api/v2/deployments/{name}/assignment"),
        Some(&record),
    )
    .await;
    assert_eq!(s, 204, "{v}");
}

/// The token a pod of `ns`'s worker gets for `api://wid` through `client_id`'s federation.
async fn worker_token(c: &TestCloud, client_id: &str, ns: &str) -> String {
    let sa = c.sa_token(ns, "airflow-worker");
    let (s, v) = c.exchange(client_id, &sa, "api://wid/.default").await;
    assert_eq!(s, 200, "{v}");
    v["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_deployments_identity_reads_its_linked_connections_and_nothing_else() {
    let c = TestCloud::start().await;
    // One connection, linked to prod and to staging (another subscriptionId), not to other.
    let (s, v) = admin(
        &c,
        Method::POST,
        "/api/v2/connections",
        Some(&json!({"connection_id": "azure_wi", "conn_type": "azure", "password": "pw:/+=", "extra": "{\"managed_identity_client_id\": \"c\", \"workload_identity_tenant_id\": \"t\", \"subscriptionId\": \"sub-base\"}"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, _) = admin(
        &c,
        Method::POST,
        "/api/v2/connections",
        Some(&json!({"connection_id": "unlinked", "conn_type": "http", "password": "other"})),
    )
    .await;
    assert_eq!(s, 201);

    // prod and staging share identity airflow-mi; other has its own.
    let shared = c.create_identity("airflow-mi").await;
    let own = c.create_identity("other-mi").await;
    for (identity, ns) in [
        ("airflow-mi", "airflow-prod"),
        ("airflow-mi", "airflow-staging"),
        ("other-mi", "airflow-other"),
    ] {
        let (s, v) = c
            .put_fic(
                identity,
                &format!("{ns}-worker"),
                &c.issuer(),
                &format!("system:serviceaccount:{ns}:airflow-worker"),
                &["api://AzureADTokenExchange"],
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    deployment(&c, "prod", "airflow-prod", "airflow-mi", &shared).await;
    deployment(&c, "staging", "airflow-staging", "airflow-mi", &shared).await;
    deployment(&c, "other", "airflow-other", "other-mi", &own).await;
    for (d, sub) in [("prod", "sub-prod"), ("staging", "sub-staging")] {
        let (s, v) = admin(
            &c,
            Method::PUT,
            &format!("/api/v2/deployments/{d}/connections/azure_wi"),
            Some(&json!({"overrides": {"subscriptionId": sub}})),
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }

    // prod's worker: prod's connection, prod's override, the password in clear, not cached.
    let prod = worker_token(&c, &shared.0, "airflow-prod").await;
    let (s, h, v) = c
        .call(Method::GET, &secret("prod", "azure_wi"), Some(&prod), None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(v["connection_id"], "azure_wi");
    assert_eq!(v["conn_type"], "azure");
    assert_eq!(v["password"], "pw:/+=");
    let extra: Value = serde_json::from_str(v["extra"].as_str().unwrap()).unwrap();
    assert_eq!(extra["subscriptionId"], "sub-prod");
    assert_eq!(extra["managed_identity_client_id"], "c");

    // The same identity reaches staging too (it is assigned to both), with staging's override.
    let (s, _, v) = c
        .call(
            Method::GET,
            &secret("staging", "azure_wi"),
            Some(&prod),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let extra: Value = serde_json::from_str(v["extra"].as_str().unwrap()).unwrap();
    assert_eq!(extra["subscriptionId"], "sub-staging");

    // A connection that exists but is not linked: 404, so Airflow looks elsewhere.
    let (s, _, v) = c
        .call(Method::GET, &secret("prod", "unlinked"), Some(&prod), None)
        .await;
    assert_eq!(s, 404, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("not linked"), "{v}");
    assert!(!v.to_string().contains("other\""), "{v}");

    // Another identity: 403 naming its ids and the deployment, no secret; the same for a
    // deployment that does not exist (no probing of names).
    let other = worker_token(&c, &own.0, "airflow-other").await;
    for d in ["prod", "nope"] {
        let (s, _, v) = c
            .call(Method::GET, &secret(d, "azure_wi"), Some(&other), None)
            .await;
        assert_eq!(s, 403, "{v}");
        let detail = v["detail"].as_str().unwrap();
        assert!(
            detail.contains(&own.0)
                && detail.contains(&own.1)
                && detail.contains(&format!("deployment `{d}`"))
                && detail.contains("assign-identity"),
            "{detail}"
        );
        assert!(!v.to_string().contains("pw:/+="), "{v}");
    }
    // ... while it reads its own deployment (nothing linked there: 404).
    let (s, _, _) = c
        .call(
            Method::GET,
            &secret("other", "azure_wi"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(s, 404);

    // A principal that is no deployment's identity (the admin application's token) gets 403.
    let (s, tok) = c.admin_token_for("api://wid/.default").await;
    assert_eq!(s, 200, "{tok}");
    let app = tok["access_token"].as_str().unwrap().to_string();
    let (s, _, _) = c
        .call(Method::GET, &secret("prod", "azure_wi"), Some(&app), None)
        .await;
    assert_eq!(s, 403);

    // Only the administrator writes what grants reach: assignments and links.
    let (s, _, v) = c
        .call(
            Method::PUT,
            "/api/v2/deployments/prod/assignment",
            Some(&other),
            Some(&json!({"principal_id": own.1, "client_id": own.0})),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("administrator"));
    let (s, _, v) = c
        .call(
            Method::PUT,
            "/api/v2/deployments/other/connections/azure_wi",
            Some(&other),
            Some(&json!({})),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    let (s, _, _) = c
        .call(Method::GET, &secret("prod", "azure_wi"), Some(&other), None)
        .await;
    assert_eq!(s, 403);

    // The administrator reads any deployment's; 404 for an unknown deployment; no token: 401.
    let (s, v) = admin(&c, Method::GET, &secret("staging", "azure_wi"), None).await;
    assert_eq!((s, &v["password"]), (200, &json!("pw:/+=")), "{v}");
    let (s, v) = admin(&c, Method::GET, &secret("nope", "azure_wi"), None).await;
    assert_eq!(s, 404, "{v}");
    let (s, _, _) = c
        .call(Method::GET, &secret("prod", "azure_wi"), None, None)
        .await;
    assert_eq!(s, 401);

    // Unassigning prod takes its reach away at once.
    let (s, _) = admin(
        &c,
        Method::PUT,
        "/api/v2/deployments/prod/assignment",
        Some(&Value::Null),
    )
    .await;
    assert_eq!(s, 204);
    let (s, _, _) = c
        .call(Method::GET, &secret("prod", "azure_wi"), Some(&prod), None)
        .await;
    assert_eq!(s, 403);
}
