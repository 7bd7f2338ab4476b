//! The Azure SDK for JavaScript (`@azure/identity` on MSAL Node, `@azure/arm-resources`),
//! unmodified, against the real server: workload identity and DefaultAzureCredential tokens,
//! and an ARM list through the SDK's pipeline that shows role-based access applied. The npm
//! packages are installed into `crates/wid/tests/js/node_modules` by `scripts/test`.

use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

#[tokio::test]
async fn javascript_sdk_gets_tokens_and_lists_only_what_its_role_allows() {
    let dir = js_dir();
    assert!(
        dir.join("node_modules/@azure/identity").exists(),
        "the JavaScript SDK is needed: run ./scripts/test (it runs `npm ci` in {})",
        dir.display()
    );
    let c = TestCloud::start().await;
    let t = c.admin_token().await;
    let (s, _, v) = c
        .call(
            Method::PUT,
            &format!(
                "/subscriptions/{}/resourcegroups/rg-other?api-version=2022-09-01",
                c.sub
            ),
            Some(&t),
            Some(&json!({"location": "eastus"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let client_id = c
        .federated_identity("mi-js", "airflow", "airflow-worker")
        .await;
    let (_, ident) = c.arm(Method::GET, &c.identity_path("mi-js"), None).await;
    let principal = ident["properties"]["principalId"].as_str().unwrap();
    // Reader on rg-airflow only.
    let scope = format!("/subscriptions/{}/resourceGroups/rg-airflow", c.sub);
    c.assign_role("Reader", principal, &scope).await;

    let tmp = tempfile::tempdir().unwrap();
    let token_file = tmp.path().join("azure-identity-token");
    std::fs::write(&token_file, c.sa_token("airflow", "airflow-worker")).unwrap();
    let out = tokio::process::Command::new("node")
        .arg(dir.join("clients.mjs"))
        .current_dir(&dir)
        .env_remove("AZURE_CLIENT_SECRET")
        .env("AZURE_AUTHORITY_HOST", &c.endpoint)
        .env("AZURE_CLIENT_ID", &client_id)
        .env("AZURE_TENANT_ID", &c.tenant)
        .env("AZURE_FEDERATED_TOKEN_FILE", &token_file)
        .env("AZURE_SUBSCRIPTION_ID", &c.sub)
        .env("NODE_EXTRA_CA_CERTS", c.home.ca_cert())
        .env("WID_ENDPOINT", &c.endpoint)
        .env("WID_TEST_FORBIDDEN_GROUP", "rg-other")
        .output()
        .await
        .expect("node runs (Debian's nodejs)");
    assert!(
        out.status.success(),
        "node failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (which, aud) in [
        ("workload_identity", "https://management.azure.com"),
        ("default_azure_credential", "https://storage.azure.com"),
    ] {
        let claims = &v[which]["claims"];
        assert_eq!(claims["aud"], aud, "{which}: {claims}");
        assert_eq!(claims["appid"], client_id.as_str(), "{which}");
        assert_eq!(claims["oid"], principal, "{which}");
        assert_eq!(claims["tid"], c.tenant.as_str(), "{which}");
        // MSAL's expiry (ms) is its own clock plus expires_in: within seconds of `exp`.
        let exp = v[which]["expires_on"].as_i64().unwrap() / 1000;
        let skew = (exp - claims["exp"].as_i64().unwrap()).abs();
        assert!(
            skew <= 5,
            "{which}: expiresOn {exp} vs exp {}",
            claims["exp"]
        );
    }
    assert_eq!(v["resource_groups"], json!(["rg-airflow"]), "{v}");
    assert_eq!(
        v["forbidden"],
        json!({"status": 403, "code": "AuthorizationFailed"}),
        "{v}"
    );
}
