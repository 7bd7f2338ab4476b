//! `GET /api/v2/connections:export` over HTTPS: the administrator gets the secrets (all
//! connections, or a deployment's with overrides), a token of any other principal gets 403,
//! and every masked route still masks.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

const EXPORT: &str = "/api/v2/connections:export";

fn key(c: &TestCloud) -> String {
    std::fs::read_to_string(c.home.root().join("api-key"))
        .unwrap()
        .trim()
        .to_string()
}

async fn api(c: &TestCloud, m: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
    let k = key(c);
    let (s, _, v) = c.call(m, path, Some(&k), body).await;
    (s, v)
}

const EXTRA: &str = r#"{"sas_token": "sv=2022-11-02&sig=a%2Bb%3D", "account_name": "acct", "nested": {"client_secret": "deep"}}"#;

#[tokio::test]
async fn only_the_administrator_reads_secrets_and_masked_routes_stay_masked() {
    let c = TestCloud::start().await;
    for (id, password) in [("wasb_sp", "key==/+"), ("export", "p@ss:/?#%&=+ w")] {
        let (s, v) = api(
            &c,
            Method::POST,
            "/api/v2/connections",
            Some(&json!({"connection_id": id, "conn_type": "wasb", "login": "acct", "password": password, "extra": EXTRA})),
        )
        .await;
        assert_eq!(s, 201, "{v}");
    }

    // The administrator: real passwords, extra as stored, ordered by id, not cached.
    let (s, headers, v) = c.call(Method::GET, EXPORT, Some(&key(&c)), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(v["total_entries"], 2);
    let conns = v["connections"].as_array().unwrap();
    assert_eq!(conns[0]["connection_id"], "export");
    assert_eq!(conns[0]["password"], "p@ss:/?#%&=+ w");
    assert_eq!(conns[1]["connection_id"], "wasb_sp");
    assert_eq!(conns[1]["password"], "key==/+");
    assert_eq!(conns[1]["extra"], EXTRA);

    // A connection named `export` is still reached at its own path, masked.
    let (s, v) = api(&c, Method::GET, "/api/v2/connections/export", None).await;
    assert_eq!((s, &v["password"]), (200, &json!("***")), "{v}");
    let (s, v) = api(&c, Method::GET, "/api/v2/connections/wasb_sp", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["password"], "***");
    let extra: Value = serde_json::from_str(v["extra"].as_str().unwrap()).unwrap();
    assert_eq!(extra["sas_token"], "***");
    assert_eq!(extra["nested"]["client_secret"], "***");
    assert_eq!(extra["account_name"], "acct");
    let (s, v) = api(&c, Method::GET, "/api/v2/connections", None).await;
    assert_eq!(s, 200);
    for item in v["connections"].as_array().unwrap() {
        assert_eq!(item["password"], "***", "{item}");
        assert!(
            item["extra"]
                .as_str()
                .unwrap()
                .contains("\"sas_token\": \"***\"")
        );
    }

    // A token for api://wid authenticates, but is not the administrator: 403, explained.
    let admin = c.home.admin().unwrap();
    let tenant = c.tenant.clone();
    let (s, tok) = c
        .token_form(
            &tenant,
            false,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &admin.client_id),
                ("client_secret", admin.client_secret.expose_str()),
                ("scope", "api://wid/.default"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{tok}");
    let token = tok["access_token"].as_str().unwrap();
    let (s, _, v) = c.call(Method::GET, EXPORT, Some(token), None).await;
    assert_eq!(s, 403, "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains("only the administrator") && detail.contains("$WID_HOME/api-key"),
        "{detail}"
    );
    assert!(!v.to_string().contains("key==/+"), "{v}");
    let (s, _, v) = c
        .call(
            Method::GET,
            &format!("{EXPORT}?deployment=prod"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(s, 403, "{v}");
    // The same token still reads the masked routes.
    let (s, _, v) = c
        .call(
            Method::GET,
            "/api/v2/connections/wasb_sp",
            Some(token),
            None,
        )
        .await;
    assert_eq!((s, &v["password"]), (200, &json!("***")));
    // No credentials at all: 401.
    let (s, _, _) = c.call(Method::GET, EXPORT, None, None).await;
    assert_eq!(s, 401);

    // A deployment: only its linked connections, overrides applied, secrets in clear; the
    // deployment's masked route keeps masking.
    let (s, v) = api(
        &c,
        Method::POST,
        "/api/v2/deployments",
        Some(&json!({"name": "prod", "namespace": "airflow-prod", "airflow_version": 3})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = api(
        &c,
        Method::PUT,
        "/api/v2/deployments/prod/connections/wasb_sp",
        Some(&json!({"overrides": {"host": "prod.blob", "account_name": "prodacct"}})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = api(&c, Method::GET, &format!("{EXPORT}?deployment=prod"), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total_entries"], 1);
    let one = &v["connections"][0];
    assert_eq!(one["connection_id"], "wasb_sp");
    assert_eq!(one["password"], "key==/+");
    assert_eq!(one["host"], "prod.blob");
    let extra: Value = serde_json::from_str(one["extra"].as_str().unwrap()).unwrap();
    assert_eq!(extra["account_name"], "prodacct");
    assert_eq!(extra["sas_token"], "sv=2022-11-02&sig=a%2Bb%3D");
    let (s, v) = api(
        &c,
        Method::GET,
        "/api/v2/deployments/prod/connections",
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["connections"][0]["password"], "***");
    assert!(
        v["connections"][0]["extra"]
            .as_str()
            .unwrap()
            .contains("\"sas_token\": \"***\"")
    );
    let (s, v) = api(&c, Method::GET, &format!("{EXPORT}?deployment=nope"), None).await;
    assert_eq!(s, 404, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("nope"), "{v}");
}
