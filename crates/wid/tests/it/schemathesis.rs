//! schemathesis (PyPI) against the served OpenAPI document of the connections API: generated
//! requests, hostile ones included, never get a server error, and every response matches
//! the document.

use crate::common::*;

#[tokio::test]
async fn schemathesis_finds_no_server_error() {
    let c = TestCloud::start().await;
    let key = std::fs::read_to_string(c.home.root().join("api-key"))
        .unwrap()
        .trim()
        .to_string();
    let st = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/st");
    assert!(
        st.exists(),
        "schemathesis is needed: run ./scripts/test (it installs requirements-test.txt into .venv)"
    );
    let out = tokio::process::Command::new(st)
        .args(["run", &format!("{}/api/v2/openapi.json", c.endpoint)])
        .args(["--tls-verify", c.home.ca_cert().to_str().unwrap()])
        .args(["-H", &format!("Authorization: Bearer {key}")])
        .args(["--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"])
        .args(["-n", "25", "--seed", "20261127", "--no-color"])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis failed:\n{text}");
    assert!(text.contains(" passed"), "{text}");
}
