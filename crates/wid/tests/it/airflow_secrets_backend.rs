//! The Airflow secrets backend (`integrations/airflow`, `wid_airflow.secrets.WidSecretsBackend`)
//! with real Airflow 3.3.2 and its Azure provider (`.venv-airflow-run`, made by
//! `./scripts/test` from `scripts/requirements-airflow-run.txt`).
//!
//! `backend_unit_tests`: the package's own pytest suite (`integrations/airflow/tests`), which
//! starts this build's `wid up` on a loopback port and sets it up with the `wid` command line:
//! the pod's workload identity reads its deployment's connections with overrides, caching,
//! fall-through, another identity's 403, wid down or hung, a token near expiry.

use std::path::{Path, PathBuf};
use std::process::Command;

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
