//! `/api/v2/connections` over HTTPS: every endpoint and error, authentication, redaction,
//! bulk, paging, hostile input.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

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

fn azure(id: &str) -> Value {
    json!({
        "connection_id": id,
        "conn_type": "azure",
        "description": "workload identity",
        "login": null,
        "password": "s3cr3t-value",
        "extra": "{\"managed_identity_client_id\": \"11111111-1111-1111-1111-111111111111\", \"workload_identity_tenant_id\": \"22222222-2222-2222-2222-222222222222\", \"subscriptionId\": \"33333333-3333-3333-3333-333333333333\", \"client_secret\": \"hidden\"}"
    })
}

#[tokio::test]
async fn crud_redaction_and_errors() {
    let c = TestCloud::start().await;
    let (s, v) = api(
        &c,
        Method::POST,
        "/api/v2/connections",
        Some(&azure("azure_wi")),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["password"], "***");
    assert!(
        v["extra"]
            .as_str()
            .unwrap()
            .contains("\"client_secret\": \"***\""),
        "{v}"
    );
    assert!(
        v["extra"]
            .as_str()
            .unwrap()
            .contains("11111111-1111-1111-1111-111111111111")
    );
    let (s, v) = api(&c, Method::GET, "/api/v2/connections/azure_wi", None).await;
    assert_eq!((s, v["conn_type"].as_str()), (200, Some("azure")));
    assert!(!v.to_string().contains("s3cr3t-value") && !v.to_string().contains("hidden"));
    // 409 on a duplicate.
    let (s, v) = api(
        &c,
        Method::POST,
        "/api/v2/connections",
        Some(&azure("azure_wi")),
    )
    .await;
    assert_eq!(s, 409);
    assert_eq!(v["detail"]["reason"], "Unique constraint violation");
    // 404 text.
    let (s, v) = api(&c, Method::GET, "/api/v2/connections/nope", None).await;
    assert_eq!(
        (s, v["detail"].as_str()),
        (
            404,
            Some("The Connection with connection_id: `nope` was not found")
        )
    );
    // PATCH with update_mask changes only the named field.
    let mut b = azure("azure_wi");
    b["description"] = "changed".into();
    b["host"] = "should-not-apply".into();
    let (s, v) = api(
        &c,
        Method::PATCH,
        "/api/v2/connections/azure_wi?update_mask=description",
        Some(&b),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["description"].as_str(), v["host"].as_str()),
        (Some("changed"), None)
    );
    // Id mismatch and a bad mask.
    let (s, v) = api(
        &c,
        Method::PATCH,
        "/api/v2/connections/azure_wi",
        Some(&azure("other")),
    )
    .await;
    assert_eq!(
        (s, v["detail"].as_str()),
        (
            400,
            Some("The connection_id in the request body does not match the URL parameter")
        )
    );
    let (s, v) = api(
        &c,
        Method::PATCH,
        "/api/v2/connections/azure_wi?update_mask=bogus",
        Some(&b),
    )
    .await;
    assert_eq!(
        (s, v["detail"].as_str()),
        (400, Some("'bogus' is unknown or cannot be updated."))
    );
    let (s, _) = api(
        &c,
        Method::PATCH,
        "/api/v2/connections/missing",
        Some(&azure("missing")),
    )
    .await;
    assert_eq!(s, 404);
    // 422s: missing field, unknown field, bad id, extra not an object, bad port.
    for (body, kind, field) in [
        (json!({"connection_id": "x"}), "missing", "conn_type"),
        (
            json!({"connection_id": "x", "conn_type": "azure", "colour": "blue"}),
            "extra_forbidden",
            "colour",
        ),
        (
            json!({"connection_id": "'; DROP TABLE connections; --", "conn_type": "azure"}),
            "string_pattern_mismatch",
            "connection_id",
        ),
        (
            json!({"connection_id": "../../etc/passwd", "conn_type": "azure"}),
            "string_pattern_mismatch",
            "connection_id",
        ),
        (
            json!({"connection_id": "x", "conn_type": "azure", "extra": "{not json"}),
            "value_error",
            "extra",
        ),
        (
            json!({"connection_id": "x", "conn_type": "azure", "extra": "[1, 2]"}),
            "value_error",
            "extra",
        ),
        (
            json!({"connection_id": "x", "conn_type": "azure", "port": "eighty"}),
            "int_type",
            "port",
        ),
    ] {
        let (s, v) = api(&c, Method::POST, "/api/v2/connections", Some(&body)).await;
        assert_eq!(s, 422, "{body}: {v}");
        assert_eq!(v["detail"][0]["type"], kind, "{v}");
        assert_eq!(v["detail"][0]["loc"][1], field, "{v}");
    }
    let resp = c
        .http
        .post(format!("{}/api/v2/connections", c.endpoint))
        .bearer_auth(key(&c))
        .body("{broken")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    // DELETE 204 then 404.
    assert_eq!(
        api(&c, Method::DELETE, "/api/v2/connections/azure_wi", None)
            .await
            .0,
        204
    );
    assert_eq!(
        api(&c, Method::DELETE, "/api/v2/connections/azure_wi", None)
            .await
            .0,
        404
    );
    // The OpenAPI document is served.
    let (s, _, doc) = c
        .call(Method::GET, "/api/v2/openapi.json", None, None)
        .await;
    assert_eq!((s, doc["openapi"].as_str()), (200, Some("3.0.3")));
}

#[tokio::test]
async fn authentication() {
    let c = TestCloud::start().await;
    let (s, h, v) = c.call(Method::GET, "/api/v2/connections", None, None).await;
    assert_eq!(s, 401);
    assert!(h.get("www-authenticate").is_some());
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .starts_with("Not authenticated")
    );
    let (s, _, _) = c
        .call(Method::GET, "/api/v2/connections", Some("wrong-key"), None)
        .await;
    assert_eq!(s, 401);
    // An ARM token of the administrator is for another audience.
    let arm = c.admin_token().await;
    let (s, _, v) = c
        .call(Method::GET, "/api/v2/connections", Some(&arm), None)
        .await;
    assert_eq!(
        (s, v["detail"].as_str()),
        (401, Some("Invalid token: issued for another audience"))
    );
    // A token for api://wid from the stand-in token service is accepted.
    let admin = c.home.admin().unwrap();
    let t = c.tenant.clone();
    let (s, tok) = c
        .token_form(
            &t,
            false,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &admin.client_id),
                ("client_secret", admin.client_secret.expose_str()),
                ("scope", "api://wid/.default"),
            ],
        )
        .await;
    assert_eq!(s, 200);
    let (s, _, v) = c
        .call(
            Method::GET,
            "/api/v2/connections",
            Some(tok["access_token"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // Expired.
    c.clock.advance(90_000);
    let (s, _, _) = c
        .call(
            Method::GET,
            "/api/v2/connections",
            Some(tok["access_token"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn listing_bulk_and_big_extras() {
    let c = TestCloud::start().await;
    for (i, id) in ["b_conn", "a_conn", "c_conn", "azure_x"].iter().enumerate() {
        let mut b = azure(id);
        b["port"] = json!(i as i64);
        b["conn_type"] = if i == 3 {
            "azure".into()
        } else {
            "http".into()
        };
        assert_eq!(
            api(&c, Method::POST, "/api/v2/connections", Some(&b))
                .await
                .0,
            201
        );
    }
    let ids = |v: &Value| {
        v["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["connection_id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (_, v) = api(
        &c,
        Method::GET,
        "/api/v2/connections?order_by=connection_id",
        None,
    )
    .await;
    assert_eq!(ids(&v), vec!["a_conn", "azure_x", "b_conn", "c_conn"]);
    assert_eq!(v["total_entries"], 4);
    let (_, v) = api(
        &c,
        Method::GET,
        "/api/v2/connections?order_by=-connection_id&limit=2&offset=1",
        None,
    )
    .await;
    assert_eq!(ids(&v), vec!["b_conn", "azure_x"]);
    assert_eq!(v["total_entries"], 4);
    let (_, v) = api(
        &c,
        Method::GET,
        "/api/v2/connections?connection_id_pattern=%25_CONN",
        None,
    )
    .await;
    assert_eq!(ids(&v).len(), 3, "{v}");
    assert_eq!(
        api(
            &c,
            Method::GET,
            "/api/v2/connections?order_by=password",
            None
        )
        .await
        .0,
        400
    );
    assert_eq!(
        api(&c, Method::GET, "/api/v2/connections?limit=-1", None)
            .await
            .0,
        422
    );

    let bulk = json!({"actions": [
        {"action": "create", "entities": [azure("a_conn"), azure("d_conn")], "action_on_existence": "fail"},
        {"action": "update", "entities": [{"connection_id": "b_conn", "conn_type": "http", "host": "new-host"}, {"connection_id": "zz", "conn_type": "x"}], "update_mask": ["host"]},
        {"action": "delete", "entities": ["c_conn", "ghost"], "action_on_non_existence": "skip"}
    ]});
    let (s, v) = api(&c, Method::PATCH, "/api/v2/connections", Some(&bulk)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["create"]["success"], json!(["d_conn"]));
    assert_eq!(v["create"]["errors"][0]["status_code"], 409);
    assert_eq!(v["update"]["success"], json!(["b_conn"]));
    assert_eq!(v["update"]["errors"][0]["status_code"], 404);
    assert_eq!(v["delete"]["success"], json!(["c_conn"]));
    assert!(v["delete"]["errors"].as_array().unwrap().is_empty());
    let (_, b) = api(&c, Method::GET, "/api/v2/connections/b_conn", None).await;
    assert_eq!(b["host"], "new-host");

    // A 1 MB extra goes in and comes back whole.
    let big = "x".repeat(1024 * 1024);
    let mut b = azure("big_extra");
    b["extra"] = json!({"blob": big}).to_string().into();
    let (s, _) = api(&c, Method::POST, "/api/v2/connections", Some(&b)).await;
    assert_eq!(s, 201);
    let (s, v) = api(&c, Method::GET, "/api/v2/connections/big_extra", None).await;
    assert_eq!(s, 200);
    assert!(v["extra"].as_str().unwrap().len() > 1024 * 1024);
    // A pattern of more alternatives than the store takes is the caller's mistake: a 400 that
    // says why, never a 500.
    let pattern = vec!["a"; 65].join("|");
    let (s, v) = api(
        &c,
        Method::GET,
        &format!("/api/v2/connections?connection_id_pattern={pattern}"),
        None,
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("65 `|`-separated terms; at most 64"),
        "{v}"
    );
    // The test endpoint answers in Airflow's shape; here the server has no workload identity.
    let (s, v) = api(
        &c,
        Method::POST,
        "/api/v2/connections/test",
        Some(&azure("t")),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], false);
    let message = v["message"].as_str().unwrap();
    assert!(message.starts_with("Connection failed!"), "{v}");
    // The managed identity endpoint is loopback in every test process (.cargo/config.toml),
    // and the message says which link tried what, why the others were skipped, and the fix.
    let imds = std::env::var("AZURE_POD_IDENTITY_AUTHORITY_HOST").unwrap();
    assert!(imds.starts_with("http://127.0.0.1:"), "{imds}");
    for needle in [
        "WorkloadIdentityCredential: skipped",
        "ManagedIdentityCredential: skipped",
        &format!("IMDS at {imds} (from AZURE_POD_IDENTITY_AUTHORITY_HOST)"),
        "wid connections test t --as NAMESPACE/SERVICE_ACCOUNT",
        "wid env --namespace",
    ] {
        assert!(
            message.contains(needle),
            "missing {needle:?} in:\n{message}"
        );
    }
}
