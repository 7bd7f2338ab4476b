//! The provisioning path sends ARM exactly the requests real ARM takes (paths, api-versions,
//! bodies as in `shared/reference/entra-protocol.md`): the same code runs against Azure.

use std::process::Command;
use std::sync::atomic::Ordering;

use serde_json::Value;

use crate::common::*;

fn wid(c: &TestCloud, args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_wid"))
        .args(args)
        .env("WID_HOME", c.home.root())
        .env_remove("WID_ENDPOINT")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn is_guid(s: &str) -> bool {
    wid_model::ids::is_guid(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_requests_have_arms_real_shapes() {
    let c = TestCloud::start().await;
    c.state().metrics.record_arm.store(true, Ordering::SeqCst);
    let sub = c.sub.clone();
    let cc = &c;
    tokio::task::block_in_place(|| {
        wid(
            cc,
            &["identity", "create", "-n", "airflow-mi", "-g", "rg-airflow"],
        );
        wid(
            cc,
            &[
                "deployment",
                "create",
                "prod",
                "--namespace",
                "airflow-prod",
                "--airflow-version",
                "3",
            ],
        );
        wid(
            cc,
            &[
                "deployment",
                "assign-identity",
                "prod",
                "--identity-name",
                "airflow-mi",
                "-g",
                "rg-airflow",
            ],
        );
        let ident: Value = serde_json::from_str(&wid(
            cc,
            &[
                "identity",
                "show",
                "-n",
                "airflow-mi",
                "-g",
                "rg-airflow",
                "-o",
                "json",
            ],
        ))
        .unwrap();
        let principal = ident["principalId"].as_str().unwrap().to_string();
        wid(
            cc,
            &[
                "role",
                "assignment",
                "create",
                "--assignee",
                &principal,
                "--role",
                "Reader",
                "--scope",
                &format!("/subscriptions/{sub}/resourceGroups/rg-airflow"),
            ],
        );
    });
    let log = c.state().metrics.arm_requests.lock().unwrap().clone();
    let puts: Vec<_> = log.iter().filter(|r| r.method == "PUT").collect();

    // az identity create: PUT .../userAssignedIdentities/{name} with {"location", "tags"}.
    let identity = puts
        .iter()
        .find(|r| r.path.ends_with("/userAssignedIdentities/airflow-mi"))
        .expect("identity PUT");
    assert_eq!(
        identity.path,
        format!(
            "/subscriptions/{sub}/resourceGroups/rg-airflow/providers/Microsoft.ManagedIdentity/userAssignedIdentities/airflow-mi"
        )
    );
    assert_eq!(identity.query, "api-version=2023-01-31");
    let body: Value = serde_json::from_str(&identity.body).unwrap();
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, vec!["location", "tags"]);

    // az identity federated-credential create: PUT .../federatedIdentityCredentials/{name}
    // with {"properties": {"audiences": [one], "issuer", "subject"}}, five of them, one at a time.
    let fics: Vec<_> = puts
        .iter()
        .filter(|r| r.path.contains("/federatedIdentityCredentials/"))
        .collect();
    assert_eq!(fics.len(), 5);
    for f in &fics {
        let prefix = format!(
            "/subscriptions/{sub}/resourceGroups/rg-airflow/providers/Microsoft.ManagedIdentity/userAssignedIdentities/airflow-mi/federatedIdentityCredentials/prod-"
        );
        assert!(f.path.starts_with(&prefix), "{}", f.path);
        assert_eq!(f.query, "api-version=2023-01-31");
        let b: Value = serde_json::from_str(&f.body).unwrap();
        assert_eq!(b.as_object().unwrap().len(), 1, "{b}");
        let p = b["properties"].as_object().unwrap();
        let mut keys: Vec<&String> = p.keys().collect();
        keys.sort();
        assert_eq!(keys, vec!["audiences", "issuer", "subject"]);
        assert_eq!(
            b["properties"]["audiences"],
            serde_json::json!(["api://AzureADTokenExchange"])
        );
        assert_eq!(b["properties"]["issuer"], c.issuer());
        assert!(
            b["properties"]["subject"]
                .as_str()
                .unwrap()
                .starts_with("system:serviceaccount:airflow-prod:airflow-")
        );
    }

    // az role assignment create: PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{guid}
    // ?api-version=2022-04-01 with roleDefinitionId, principalId, principalType.
    let ra = puts
        .iter()
        .find(|r| r.path.contains("/roleAssignments/"))
        .expect("role assignment PUT");
    let (scope, name) = ra
        .path
        .rsplit_once("/providers/Microsoft.Authorization/roleAssignments/")
        .unwrap();
    assert_eq!(
        scope,
        format!("/subscriptions/{sub}/resourceGroups/rg-airflow")
    );
    assert!(is_guid(name), "{name}");
    assert_eq!(ra.query, "api-version=2022-04-01");
    let b: Value = serde_json::from_str(&ra.body).unwrap();
    assert_eq!(
        b["properties"]["roleDefinitionId"],
        format!(
            "/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
        )
    );
    assert_eq!(b["properties"]["principalType"], "ServicePrincipal");
    assert!(b["properties"]["principalId"].is_string());
}
