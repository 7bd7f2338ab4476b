//! `wid connections ...` as a user runs it, against `wid up` as a process.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::cli_session::{identity_json, ok, start_up, wid};

fn wid_env(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wid"));
    c.args(args)
        .env("WID_HOME", home)
        .env_remove("WID_ENDPOINT");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn add_get_list_export_import_test_delete() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (up, _endpoint) = start_up(&home);
    let _up = up;

    // The identity, federated for the worker, as in the seed.
    ok(wid(
        &home,
        &["identity", "create", "-n", "airflow-mi", "-g", "rg-airflow"],
    ));
    let ident = identity_json(&home, "airflow-mi");
    let (client, tenant) = (
        ident["clientId"].as_str().unwrap().to_string(),
        ident["tenantId"].as_str().unwrap().to_string(),
    );
    let issuer = ok(wid(&home, &["issuer", "url"])).trim().to_string();
    ok(wid(
        &home,
        &[
            "identity",
            "federated-credential",
            "create",
            "-n",
            "airflow-worker",
            "--identity-name",
            "airflow-mi",
            "-g",
            "rg-airflow",
            "--issuer",
            &issuer,
            "--subject",
            "system:serviceaccount:airflow:airflow-worker",
        ],
    ));
    let admin: Value =
        serde_json::from_slice(&std::fs::read(home.join("admin.json")).unwrap()).unwrap();
    let sub = admin["subscription_id"].as_str().unwrap().to_string();

    let extra = format!(
        r#"{{"managed_identity_client_id": "{client}", "workload_identity_tenant_id": "{tenant}", "subscriptionId": "{sub}"}}"#
    );
    let out = ok(wid(
        &home,
        &[
            "connections",
            "add",
            "azure_wi",
            "--conn-type",
            "azure",
            "--conn-extra",
            &extra,
        ],
    ));
    assert!(
        out.contains("Successfully added `conn_id`=azure_wi"),
        "{out}"
    );
    let o = wid(
        &home,
        &[
            "connections",
            "add",
            "azure_wi",
            "--conn-type",
            "azure",
            "--conn-extra",
            &extra,
        ],
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("A connection with `conn_id`=azure_wi already exists.")
    );
    // Only one of the two fields: added, with Airflow's silent fallback explained.
    let o = wid(
        &home,
        &[
            "connections",
            "add",
            "half",
            "--conn-type",
            "azure",
            "--conn-extra",
            &format!(r#"{{"managed_identity_client_id": "{client}"}}"#),
        ],
    );
    assert!(o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("workload_identity_tenant_id"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = wid(
        &home,
        &[
            "connections",
            "add",
            "bad",
            "--conn-type",
            "azure",
            "--conn-extra",
            "{not json",
        ],
    );
    assert!(!o.status.success());

    let got: Value = serde_json::from_str(&ok(wid(
        &home,
        &["connections", "get", "azure_wi", "--output", "json"],
    )))
    .unwrap();
    assert_eq!(got["conn_type"], "azure");
    assert!(
        got["source"].as_str().unwrap().starts_with("wid store"),
        "{got}"
    );
    // An AIRFLOW_CONN_ variable wins, as in Airflow, and `get` says so.
    let from_env = wid_env(
        &home,
        &["connections", "get", "azure_wi", "-o", "json"],
        &[(
            "AIRFLOW_CONN_AZURE_WI",
            "azure://?managed_identity_client_id=x",
        )],
    );
    let v: Value = serde_json::from_str(&ok(from_env)).unwrap();
    assert_eq!(v["source"], "environment variable AIRFLOW_CONN_AZURE_WI");

    let listed = ok(wid(&home, &["connections", "list"]));
    assert!(
        listed.contains("azure_wi") && listed.contains("half"),
        "{listed}"
    );

    // Export in the three formats; env lines are what Airflow reads.
    let env_file = dir.path().join("conns.env");
    ok(wid(
        &home,
        &["connections", "export", env_file.to_str().unwrap()],
    ));
    let env_text = std::fs::read_to_string(&env_file).unwrap();
    let line = env_text
        .lines()
        .find(|l| l.starts_with("azure_wi="))
        .unwrap();
    assert_eq!(
        line,
        format!(
            "azure_wi=azure:///?managed_identity_client_id={client}&workload_identity_tenant_id={tenant}&subscriptionId={sub}"
        )
    );
    let json_file = dir.path().join("conns.json");
    ok(wid(
        &home,
        &["connections", "export", json_file.to_str().unwrap()],
    ));
    let j: Value = serde_json::from_slice(&std::fs::read(&json_file).unwrap()).unwrap();
    assert_eq!(j["azure_wi"]["conn_type"], "azure");
    let yaml_file = dir.path().join("conns.yaml");
    ok(wid(
        &home,
        &["connections", "export", yaml_file.to_str().unwrap()],
    ));
    assert!(
        std::fs::read_to_string(&yaml_file)
            .unwrap()
            .contains("azure_wi:")
    );

    // Import what Airflow exports (a URI value and an object with extra_dejson), then again
    // with --overwrite.
    let airflow_export = dir.path().join("airflow.json");
    std::fs::write(
        &airflow_export,
        r#"{"from_airflow": {"conn_type": "azure", "description": null, "login": null, "password": null, "host": null, "port": null, "schema": null, "extra": "{\"subscriptionId\": \"s\"}"},
            "uri_one": "azure://?managed_identity_client_id=c&workload_identity_tenant_id=t",
            "dejson": {"conn_type": "http", "extra_dejson": {"a": 1}}}"#,
    )
    .unwrap();
    ok(wid(
        &home,
        &["connections", "import", airflow_export.to_str().unwrap()],
    ));
    let o = wid(
        &home,
        &["connections", "import", airflow_export.to_str().unwrap()],
    );
    assert!(
        !o.status.success(),
        "importing again without --overwrite fails"
    );
    ok(wid(
        &home,
        &[
            "connections",
            "import",
            airflow_export.to_str().unwrap(),
            "--overwrite",
        ],
    ));
    let u: Value = serde_json::from_str(&ok(wid(
        &home,
        &["connections", "get", "uri_one", "-o", "json"],
    )))
    .unwrap();
    assert_eq!(
        u["extra"],
        r#"{"managed_identity_client_id": "c", "workload_identity_tenant_id": "t"}"#
    );

    // Without a role the token works but ARM refuses to read the subscription, explained.
    let o = wid(
        &home,
        &[
            "connections",
            "test",
            "azure_wi",
            "--as",
            "airflow/airflow-worker",
        ],
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("AuthorizationFailed"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // Reader on the subscription, assigned by client id as `az role assignment create` allows.
    ok(wid(
        &home,
        &[
            "role",
            "assignment",
            "create",
            "--assignee",
            &client,
            "--role",
            "Reader",
            "--scope",
            &format!("/subscriptions/{sub}"),
        ],
    ));
    let listed = ok(wid(
        &home,
        &["role", "assignment", "list", "--assignee", &client],
    ));
    assert!(
        listed.contains("Reader") && listed.contains(ident["principalId"].as_str().unwrap()),
        "{listed}"
    );
    // Test: as the worker, a real token through the connection and the subscription read.
    let out = ok(wid(
        &home,
        &[
            "connections",
            "test",
            "azure_wi",
            "--as",
            "airflow/airflow-worker",
        ],
    ));
    assert!(
        out.contains("Connection success!") && out.contains(&sub),
        "{out}"
    );
    // As a service account without a federated credential: the explained failure.
    let o = wid(
        &home,
        &[
            "connections",
            "test",
            "azure_wi",
            "--as",
            "airflow/intruder",
        ],
    );
    assert!(!o.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        all.contains("AADSTS700213") && all.contains("system:serviceaccount:airflow:intruder"),
        "{all}"
    );

    // Rotate the Fernet key as Airflow's procedure does: a new key in front, re-encrypt, and
    // after a restart the server reads everything with the new key set.
    let old_key = std::fs::read_to_string(home.join("fernet.key")).unwrap();
    drop(_up);
    let out = ok(wid(
        &home,
        &["connections", "rotate-fernet-key", "--generate"],
    ));
    assert!(out.contains("Re-encrypted"), "{out}");
    let keys = std::fs::read_to_string(home.join("fernet.key")).unwrap();
    assert!(
        keys.ends_with(&format!(",{}", old_key.trim())),
        "new key first: {keys}"
    );
    let (_up, _) = start_up(&home);
    let got: Value = serde_json::from_str(&ok(wid(
        &home,
        &["connections", "get", "azure_wi", "-o", "json"],
    )))
    .unwrap();
    assert!(got["extra"].as_str().unwrap().contains(&client));

    let out = ok(wid(&home, &["connections", "delete", "azure_wi"]));
    assert!(out.contains("Successfully deleted"));
    let o = wid(&home, &["connections", "get", "azure_wi"]);
    assert!(!o.status.success());
}
