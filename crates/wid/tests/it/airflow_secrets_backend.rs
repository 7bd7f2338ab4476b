//! The Airflow secrets backend (`integrations/airflow`, `wid_airflow.secrets.WidSecretsBackend`)
//! with real Airflow 3.3.2 and its Azure provider (`.venv-airflow-run`, made by
//! `./scripts/test` from `scripts/requirements-airflow-run.txt`).
//!
//! `backend_unit_tests`: the package's own pytest suite (`integrations/airflow/tests`), which
//! starts this build's `wid up` on a loopback port and sets it up with the `wid` command line:
//! the pod's workload identity reads its deployment's connections with overrides, caching,
//! fall-through, another identity's 403, wid down or hung, a token near expiry.
//!
//! `dags_run_through_the_backend`: `airflow dags test` of `integrations/airflow/tests/dags/
//! azure_through_wid.py` (SQLite in a temporary AIRFLOW_HOME, offline), the backend configured
//! with `AIRFLOW__SECRETS__BACKEND`/`_KWARGS` and the pod environment that `wid env
//! --deployment D --component worker` prints (its `AIRFLOW_CONN_*` lines left out, so the
//! connection can only come from the backend):
//! - prod: the task reads `azure_wi`, gets a token through the provider's own credential and
//!   lists, through `azure-mgmt-resource`, exactly the resource group its identity is Reader on;
//!   with the same credential it writes and reads a blob in Azurite (npm `azurite`, from
//!   `crates/wid/tests/azurite`, `--oauth basic` over HTTPS with wid's certificate, telemetry
//!   off); an id wid does not hold falls through to `AIRFLOW_CONN_LOCAL_ONLY`;
//! - staging (same identity, same connection, another `subscriptionId` override): sees it;
//! - a worker of `other` (another identity) configured for prod: refused, the run fails, and
//!   the task's error is wid's 403 naming the identity and the deployment.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::cli_session::{exports, identity_json, ok, start_up, wid};

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Python of `.venv-airflow-run`.
pub fn airflow_run_python() -> PathBuf {
    let p = repo().join(".venv-airflow-run/bin/python");
    assert!(
        p.exists(),
        "Airflow 3.3.2 with the Azure provider is needed in .venv-airflow-run: run ./scripts/test (it creates it from scripts/requirements-airflow-run.txt)"
    );
    p
}

#[test]
fn backend_unit_tests() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(airflow_run_python())
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--color=no"])
        .arg(repo().join("integrations/airflow/tests"))
        .current_dir(repo().join("integrations/airflow"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("AIRFLOW_HOME", dir.path().join("airflow"))
        .env("AIRFLOW__CORE__HOSTNAME_CALLABLE", "socket.gethostname")
        .env("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        .env("SCARF_ANALYTICS", "false")
        .env("DO_NOT_TRACK", "true")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env(
            "PYTHONPATH",
            format!(
                "{}:{}",
                repo().join("integrations/airflow/src").display(),
                repo().join("integrations/airflow/tests").display()
            ),
        )
        .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")
        .env("WID_BIN", env!("CARGO_BIN_EXE_wid"))
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "pytest failed:\n{text}");
    assert!(text.contains(" passed"), "{text}");
    assert!(!text.contains("skipped"), "{text}");
}

/// One `airflow dags test azure_through_wid` as a component of `component_of` configured for
/// deployment `backend_for`: the run's output and what each task recorded.
fn dags_test(
    home: &Path,
    airflow_home: &Path,
    azurite: &str,
    component_of: &str,
    backend_for: &str,
) -> (Output, Option<Value>, Option<Value>, Option<Value>) {
    let pod = ok(wid(
        home,
        &["env", "--deployment", component_of, "--component", "worker"],
    ));
    let results = airflow_home.join(format!("results-{component_of}-{backend_for}"));
    let mut cmd = Command::new(repo().join(".venv-airflow-run/bin/airflow"));
    cmd.args(["dags", "test", "azure_through_wid"]);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", airflow_home)
        .env("AIRFLOW_HOME", airflow_home);
    for (k, v) in exports(&pod) {
        if !k.starts_with("AIRFLOW_CONN_") {
            cmd.env(k, v);
        }
    }
    let endpoint = std::fs::read_to_string(home.join("server.json")).unwrap();
    let endpoint: Value = serde_json::from_str(&endpoint).unwrap();
    let out = cmd
        .env(
            "AIRFLOW__SECRETS__BACKEND",
            "wid_airflow.secrets.WidSecretsBackend",
        )
        .env(
            "AIRFLOW__SECRETS__BACKEND_KWARGS",
            serde_json::json!({"endpoint": endpoint["endpoint"], "deployment": backend_for})
                .to_string(),
        )
        .env("AIRFLOW_CONN_LOCAL_ONLY", "http://local.example")
        .env("WID_DAG_RESULTS", &results)
        .env("WID_DAG_RUN_NAME", format!("{component_of}-{backend_for}"))
        .env("AZURITE_BLOB_URL", azurite)
        .envs(airflow_offline(airflow_home))
        .output()
        .unwrap();
    let read = |task: &str| {
        std::fs::read(results.join(format!("{task}.json")))
            .ok()
            .map(|b| serde_json::from_slice::<Value>(&b).unwrap())
    };
    (
        out,
        read("list_resource_groups"),
        read("blob_round_trip"),
        read("fall_through"),
    )
}

/// Airflow offline in `airflow_home`: SQLite, no examples, no DNS, no telemetry; the DAGs of
/// `integrations/airflow/tests/dags`, the backend from the working tree.
fn airflow_offline(airflow_home: &Path) -> Vec<(String, String)> {
    [
        (
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            format!("sqlite:///{}", airflow_home.join("airflow.db").display()),
        ),
        (
            "AIRFLOW__CORE__DAGS_FOLDER",
            repo()
                .join("integrations/airflow/tests/dags")
                .display()
                .to_string(),
        ),
        ("AIRFLOW__CORE__LOAD_EXAMPLES", "False".into()),
        // The default (getfqdn) may ask DNS; the tests stay on loopback.
        (
            "AIRFLOW__CORE__HOSTNAME_CALLABLE",
            "socket.gethostname".into(),
        ),
        ("SCARF_ANALYTICS", "false".into()),
        ("DO_NOT_TRACK", "true".into()),
        ("PYTHONDONTWRITEBYTECODE", "1".into()),
        (
            "PYTHONPATH",
            repo()
                .join("integrations/airflow/src")
                .display()
                .to_string(),
        ),
        (
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            "http://127.0.0.1:9".into(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Azurite's blob service on a free loopback port, HTTPS with wid's own certificate (which
/// wid's CA bundle, in the pod environment, trusts), accepting bearer tokens (`--oauth
/// basic`: issuer, audience and expiry checked), telemetry off; killed on drop.
struct Azurite {
    child: std::process::Child,
    url: String,
}

impl Azurite {
    fn start(home: &Path, dir: &Path) -> Azurite {
        let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/azurite/node_modules/.bin/azurite-blob");
        assert!(
            bin.exists(),
            "Azurite is needed: run ./scripts/test (npm ci in crates/wid/tests/azurite)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .args(["--oauth", "basic", "--cert"])
            .arg(home.join("server.pem"))
            .arg("--key")
            .arg(home.join("server-key.pem"))
            .args([
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--inMemoryPersistence",
                "--silent",
            ])
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start azurite");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "azurite did not listen"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Azurite {
            child,
            url: format!("https://127.0.0.1:{port}/devstoreaccount1"),
        }
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn dags_run_through_the_backend() {
    let python = airflow_run_python();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (_up, _) = start_up(&home);
    let admin: Value =
        serde_json::from_slice(&std::fs::read(home.join("admin.json")).unwrap()).unwrap();
    let sub = admin["subscription_id"].as_str().unwrap().to_string();
    for ident in ["airflow-mi", "other-mi"] {
        ok(wid(
            &home,
            &["identity", "create", "-n", ident, "-g", "rg-airflow"],
        ));
    }
    for g in ["rg-data", "rg-other"] {
        ok(wid(&home, &["group", "create", "-n", g]));
    }
    let mi = identity_json(&home, "airflow-mi");
    ok(wid(
        &home,
        &[
            "role",
            "assignment",
            "create",
            "--assignee",
            mi["principalId"].as_str().unwrap(),
            "--role",
            "Reader",
            "--scope",
            &format!("/subscriptions/{sub}/resourceGroups/rg-data"),
        ],
    ));
    for (d, ns, ident) in [
        ("prod", "airflow-prod", "airflow-mi"),
        ("staging", "airflow-staging", "airflow-mi"),
        ("other", "airflow-other", "other-mi"),
    ] {
        ok(wid(
            &home,
            &[
                "deployment",
                "create",
                d,
                "--namespace",
                ns,
                "--airflow-version",
                "3",
            ],
        ));
        ok(wid(
            &home,
            &[
                "deployment",
                "assign-identity",
                d,
                "--identity-name",
                ident,
                "-g",
                "rg-airflow",
            ],
        ));
    }
    let extra = format!(
        r#"{{"managed_identity_client_id": "{}", "workload_identity_tenant_id": "{}"}}"#,
        mi["clientId"].as_str().unwrap(),
        mi["tenantId"].as_str().unwrap()
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
    let staging_sub = "55555555-5555-5555-5555-555555555555";
    for (d, s) in [("prod", sub.as_str()), ("staging", staging_sub)] {
        ok(wid(
            &home,
            &[
                "connections",
                "link",
                "azure_wi",
                "--deployment",
                d,
                "--override",
                &format!("subscriptionId={s}"),
            ],
        ));
    }

    let azurite = Azurite::start(&home, dir.path());

    // One Airflow metadata database for the three runs.
    let airflow_home = dir.path().join("airflow");
    std::fs::create_dir_all(&airflow_home).unwrap();
    let out = Command::new(&python)
        .args(["-m", "airflow", "db", "migrate"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &airflow_home)
        .env("AIRFLOW_HOME", &airflow_home)
        .envs(airflow_offline(&airflow_home))
        .output()
        .unwrap();
    assert!(out.status.success(), "airflow db migrate: {}", text(&out));

    // prod: exactly the group its identity may read; local_only from Airflow's next source.
    let (out, groups, blob, fell) = dags_test(&home, &airflow_home, &azurite.url, "prod", "prod");
    assert!(out.status.success(), "prod run failed:\n{}", text(&out));
    assert_eq!(
        groups,
        Some(serde_json::json!({"groups": ["rg-data"], "subscription": sub})),
        "{}",
        text(&out)
    );
    assert_eq!(
        blob,
        Some(
            serde_json::json!({"blob": "prod-prod.txt", "read": "written by prod-prod through wid"})
        ),
        "{}",
        text(&out)
    );
    assert_eq!(fell, Some(serde_json::json!({"host": "local.example"})));

    // staging: the same connection with staging's override (a subscription the stand-in does
    // not have, so ARM says so).
    let (out, groups, blob, _) =
        dags_test(&home, &airflow_home, &azurite.url, "staging", "staging");
    assert!(out.status.success(), "staging run failed:\n{}", text(&out));
    assert_eq!(
        groups,
        Some(serde_json::json!({"error": "SubscriptionNotFound", "subscription": staging_sub})),
        "{}",
        text(&out)
    );
    assert_eq!(
        blob.unwrap()["read"],
        "written by staging-staging through wid"
    );

    // A worker of `other` (identity other-mi) pointed at prod: refused, and the task says why.
    let (out, groups, blob, fell) = dags_test(&home, &airflow_home, &azurite.url, "other", "prod");
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    // wid's refusal is authoritative: no task got any connection, not even `local_only`.
    assert_eq!((groups, blob, fell), (None, None, None), "{log}");
    let other = identity_json(&home, "other-mi");
    assert!(
        log.contains(
            "WidAccessDenied: wid refused to give connection `azure_wi` of deployment `prod`"
        ) && log.contains("HTTP 403")
            && log.contains(&format!(
                "The client '{}' with object id '{}' does not have authorization",
                other["clientId"].as_str().unwrap(),
                other["principalId"].as_str().unwrap()
            )),
        "{log}"
    );
}
