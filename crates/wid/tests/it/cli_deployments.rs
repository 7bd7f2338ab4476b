//! `wid deployment` as a user runs it: an Airflow 3 deployment gets one federated credential
//! per component on one identity, idempotently, within the 20-credential limit, safely from
//! two processes at once, and a component's token has exactly the identity's permissions.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::cli_session::{exports, identity_json, ok, start_up, var, wid};

fn fics(home: &Path, identity: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(&ok(wid(
        home,
        &[
            "identity",
            "federated-credential",
            "list",
            "--identity-name",
            identity,
            "-g",
            "rg-airflow",
            "-o",
            "json",
        ],
    )))
    .unwrap()
    .as_array()
    .unwrap()
    .clone()
}

#[test]
fn assign_identity_to_an_airflow_3_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (_up, _) = start_up(&home);
    let issuer = ok(wid(&home, &["issuer", "url"])).trim().to_string();
    ok(wid(
        &home,
        &["identity", "create", "-n", "airflow-mi", "-g", "rg-airflow"],
    ));

    let shown = ok(wid(
        &home,
        &[
            "deployment",
            "create",
            "prod",
            "--namespace",
            "airflow-prod",
            "--airflow-version",
            "3",
        ],
    ));
    for c in [
        "scheduler",
        "triggerer",
        "worker",
        "dag-processor",
        "api-server",
    ] {
        assert!(
            shown.contains(&format!("system:serviceaccount:airflow-prod:airflow-{c}")),
            "{shown}"
        );
    }
    let o = wid(
        &home,
        &[
            "deployment",
            "create",
            "prod",
            "--namespace",
            "airflow-prod",
        ],
    );
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("already exists"));

    // A credential for the worker already exists under another name: it is reused.
    ok(wid(
        &home,
        &[
            "identity",
            "federated-credential",
            "create",
            "-n",
            "hand-made",
            "--identity-name",
            "airflow-mi",
            "-g",
            "rg-airflow",
            "--issuer",
            &issuer,
            "--subject",
            "system:serviceaccount:airflow-prod:airflow-worker",
        ],
    ));

    // Dry run: the plan, and nothing written.
    let o = wid(
        &home,
        &[
            "deployment",
            "assign-identity",
            "prod",
            "--identity-name",
            "airflow-mi",
            "-g",
            "rg-airflow",
            "--dry-run",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("= worker: already federated by credential 'hand-made'")
            && err.contains("+ scheduler: create 'prod-scheduler'"),
        "{err}"
    );
    assert_eq!(fics(&home, "airflow-mi").len(), 1);

    let out = ok(wid(
        &home,
        &[
            "deployment",
            "assign-identity",
            "prod",
            "--identity-name",
            "airflow-mi",
            "-g",
            "rg-airflow",
        ],
    ));
    assert!(out.contains("Created 4 federated credential(s)"), "{out}");
    let names: Vec<String> = fics(&home, "airflow-mi")
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");
    // A second run writes nothing.
    let out = ok(wid(
        &home,
        &[
            "deployment",
            "assign-identity",
            "prod",
            "--identity-name",
            "airflow-mi",
            "-g",
            "rg-airflow",
        ],
    ));
    assert!(out.contains("Nothing to do: all 5 components"), "{out}");
    // A credential deleted behind wid's back is re-created on the next run.
    ok(wid(
        &home,
        &[
            "identity",
            "federated-credential",
            "delete",
            "-n",
            "prod-triggerer",
            "--identity-name",
            "airflow-mi",
            "-g",
            "rg-airflow",
        ],
    ));
    let out = ok(wid(
        &home,
        &[
            "deployment",
            "assign-identity",
            "prod",
            "--identity-name",
            "airflow-mi",
            "-g",
            "rg-airflow",
        ],
    ));
    assert!(out.contains("Created 1 federated credential(s)"), "{out}");

    // A component's token reads the group where the identity is Reader, and only that.
    ok(wid(&home, &["group", "create", "-n", "rg-data"]));
    ok(wid(&home, &["group", "create", "-n", "rg-other"]));
    let ident = identity_json(&home, "airflow-mi");
    let admin: Value =
        serde_json::from_slice(&std::fs::read(home.join("admin.json")).unwrap()).unwrap();
    let sub = admin["subscription_id"].as_str().unwrap();
    ok(wid(
        &home,
        &[
            "role",
            "assignment",
            "create",
            "--assignee",
            ident["principalId"].as_str().unwrap(),
            "--role",
            "Reader",
            "--scope",
            &format!("/subscriptions/{sub}/resourceGroups/rg-data"),
        ],
    ));
    // A connection defined once, linked to the deployment with an override, as the Astro
    // Environment Manager does; export shows what this deployment's Airflow sees.
    let client = ident["clientId"].as_str().unwrap();
    let tenant = ident["tenantId"].as_str().unwrap();
    let extra = format!(
        r#"{{"managed_identity_client_id": "{client}", "workload_identity_tenant_id": "{tenant}", "subscriptionId": "{sub}"}}"#
    );
    ok(wid(
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
    let other_sub = "44444444-4444-4444-4444-444444444444";
    let out = ok(wid(
        &home,
        &[
            "connections",
            "link",
            "azure_wi",
            "--deployment",
            "prod",
            "--override",
            &format!("subscriptionId={other_sub}"),
        ],
    ));
    assert!(
        out.contains("Linked connection azure_wi to deployment prod"),
        "{out}"
    );
    // A connection with secrets, linked too: the deployment's lines carry the real password
    // and the unmasked extra, not "***".
    ok(wid(
        &home,
        &[
            "connections",
            "add",
            "pg_prod",
            "--conn-uri",
            "postgres://etl:p%40ss%2Fw%3Ard@db.internal:5432/sales?api_token=t0k%2Ben",
        ],
    ));
    ok(wid(
        &home,
        &["connections", "link", "pg_prod", "--deployment", "prod"],
    ));
    let pg_line =
        "pg_prod=postgres://etl:p%40ss%2Fw%3Ard@db.internal:5432/sales?api_token=t0k%2Ben";
    let env_file = dir.path().join("prod.env");
    ok(wid(
        &home,
        &[
            "connections",
            "export",
            env_file.to_str().unwrap(),
            "--deployment",
            "prod",
        ],
    ));
    let text = std::fs::read_to_string(&env_file).unwrap();
    assert_eq!(
        text,
        format!(
            "azure_wi=azure:///?managed_identity_client_id={client}&workload_identity_tenant_id={tenant}&subscriptionId={other_sub}\n{pg_line}\n"
        )
    );
    // The pod environment of the worker: identity, token file, the linked connection.
    let pod = ok(wid(
        &home,
        &["env", "--deployment", "prod", "--component", "worker"],
    ));
    let envs = exports(&pod);
    let get = |k: &str| var(&envs, k);
    assert_eq!(get("AZURE_CLIENT_ID"), client);
    assert!(get("AIRFLOW_CONN_AZURE_WI").contains(other_sub), "{pod}");
    assert_eq!(
        format!("pg_prod={}", get("AIRFLOW_CONN_PG_PROD")),
        pg_line,
        "{pod}"
    );
    // `get` keeps masking.
    let got: Value = serde_json::from_str(&ok(wid(
        &home,
        &["connections", "get", "pg_prod", "-o", "json"],
    )))
    .unwrap();
    assert_eq!(got["password"], "***");
    assert_eq!(got["extra"], r#"{"api_token": "***"}"#);
    assert!(
        pod.contains("system:serviceaccount:airflow-prod:airflow-worker"),
        "{pod}"
    );
    // Python azure-identity as that component's client.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/workload_identity.py");
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let out = Command::new(py)
        .arg(&script)
        .env_clear()
        .envs(envs.clone())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["workload_identity"]["claims"]["appid"], client);
    assert_eq!(
        v["default_azure_credential"]["claims"]["oid"],
        ident["principalId"]
    );

    // Every component, through the exported connection: the credential built from the
    // connection's fields and the component's projected token lists exactly the group where
    // the identity is Reader, and gets ARM's 403 on another.
    for component in [
        "scheduler",
        "triggerer",
        "worker",
        "dag-processor",
        "api-server",
    ] {
        let pod = ok(wid(
            &home,
            &["env", "--deployment", "prod", "--component", component],
        ));
        let envs = exports(&pod);
        let get = |k: &str| var(&envs, k);
        let conn =
            wid_model::connection::Connection::from_uri(&get("AIRFLOW_CONN_AZURE_WI")).unwrap();
        let azure = wid_model::connection::registry::lookup("azure").unwrap();
        let field = |n: &str| azure.field_value(&conn, n).unwrap().unwrap().0;
        let o = Command::new(env!("CARGO_BIN_EXE_wid"))
            .args([
                "token",
                "-o",
                "json",
                "--client-id",
                &field("managed_identity_client_id"),
                "--tenant-id",
                &field("workload_identity_tenant_id"),
            ])
            .env_clear()
            .envs(envs.clone())
            .output()
            .unwrap();
        let tok: Value = serde_json::from_str(&ok(o)).unwrap();
        assert_eq!(
            tok["credential"], "WorkloadIdentityCredential",
            "{component}"
        );
        let token = tok["accessToken"].as_str().unwrap().to_string();
        let curl = |path: &str| {
            let url = format!("{}{path}", get("AZURE_AUTHORITY_HOST"));
            let out = Command::new("curl")
                .args([
                    "-s",
                    "-w",
                    "\n%{http_code}",
                    "--cacert",
                    home.join("ca.pem").to_str().unwrap(),
                    "-H",
                    &format!("Authorization: Bearer {token}"),
                    &url,
                ])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let (body, code) = text.rsplit_once('\n').unwrap();
            (code.to_string(), body.to_string())
        };
        let (code, body) = curl(&format!(
            "/subscriptions/{sub}/resourcegroups?api-version=2022-09-01"
        ));
        assert_eq!(code, "200", "{component}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let names: Vec<&str> = v["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["rg-data"], "{component}");
        let (code, body) = curl(&format!(
            "/subscriptions/{sub}/resourcegroups/rg-other?api-version=2022-09-01"
        ));
        assert_eq!(code, "403", "{component}: {body}");
        assert!(body.contains("AuthorizationFailed"), "{body}");
    }

    // Unassign removes exactly what assign created, not the hand-made credential.
    let out = ok(wid(&home, &["deployment", "unassign-identity", "prod"]));
    assert!(out.contains("Removed 4 federated credential(s)"), "{out}");
    let left: Vec<String> = fics(&home, "airflow-mi")
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, vec!["hand-made"]);
}

#[test]
fn limit_refusal_and_concurrent_assign() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (_up, _) = start_up(&home);
    let issuer = ok(wid(&home, &["issuer", "url"])).trim().to_string();
    ok(wid(
        &home,
        &["identity", "create", "-n", "full-mi", "-g", "rg-airflow"],
    ));
    for i in 0..17 {
        ok(wid(
            &home,
            &[
                "identity",
                "federated-credential",
                "create",
                "-n",
                &format!("other-{i:02}"),
                "--identity-name",
                "full-mi",
                "-g",
                "rg-airflow",
                "--issuer",
                &issuer,
                "--subject",
                &format!("system:serviceaccount:x:sa{i}"),
            ],
        ));
    }
    ok(wid(
        &home,
        &[
            "deployment",
            "create",
            "big",
            "--namespace",
            "big",
            "--airflow-version",
            "3",
        ],
    ));
    let o = wid(
        &home,
        &[
            "deployment",
            "assign-identity",
            "big",
            "--identity-name",
            "full-mi",
            "-g",
            "rg-airflow",
        ],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "has 17 federated credentials and this deployment needs 5 more, over the limit of 20"
        ),
        "{err}"
    );
    assert_eq!(fics(&home, "full-mi").len(), 17, "refused before any write");

    // Two processes assign the same deployment to one identity at once: both finish, and the
    // identity ends with exactly one credential per component.
    ok(wid(
        &home,
        &["identity", "create", "-n", "shared-mi", "-g", "rg-airflow"],
    ));
    ok(wid(
        &home,
        &[
            "deployment",
            "create",
            "twin",
            "--namespace",
            "twin",
            "--airflow-version",
            "2",
            "--with-kpo",
        ],
    ));
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_wid"))
            .args([
                "deployment",
                "assign-identity",
                "twin",
                "--identity-name",
                "shared-mi",
                "-g",
                "rg-airflow",
            ])
            .env("WID_HOME", &home)
            .env_remove("WID_ENDPOINT")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let mut subjects: Vec<String> = fics(&home, "shared-mi")
        .iter()
        .map(|f| f["subject"].as_str().unwrap().to_string())
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        ["kpo", "scheduler", "triggerer", "worker"]
            .iter()
            .map(|c| format!("system:serviceaccount:twin:airflow-{c}"))
            .collect::<Vec<_>>()
    );
}
