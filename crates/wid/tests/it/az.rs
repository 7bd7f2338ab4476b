//! The real Azure CLI (PyPI `azure-cli`, in `.venv-az`) for the tests that drive it: its own
//! config directory, trusting wid's CA, telemetry off, and its first-run version check
//! answered from the config directory, so that it stays on loopback. Shared by `az_cli.rs`
//! (the CLI as a client of wid) and `operator.rs` (wid signing in through the CLI).

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

use crate::common::*;

/// The Azure CLI in `.venv-az`.
pub fn az_bin() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let az = root.join(".venv-az/bin/az");
    assert!(
        az.exists(),
        "the Azure CLI is needed: run ./scripts/test (it creates .venv-az from requirements-az.txt)"
    );
    az
}

/// An `az` with its own config directory, trusting wid's CA, telemetry off.
pub struct Az {
    /// The `az` program.
    pub bin: PathBuf,
    /// `AZURE_CONFIG_DIR`.
    pub config: tempfile::TempDir,
    /// wid's CA, as `REQUESTS_CA_BUNDLE`.
    pub ca: PathBuf,
}

impl Az {
    pub async fn new(ca: &Path) -> Az {
        let bin = az_bin();
        let config = tempfile::tempdir().unwrap();
        // The CLI's first run asks its blob store for the latest versions unless it already
        // knows them: say it is up to date, so that it stays on loopback.
        let python = bin.with_file_name("python");
        let version = tokio::process::Command::new(&python)
            .args([
                "-c",
                "from azure.cli.core import __version__; print(__version__)",
            ])
            .output()
            .await
            .unwrap();
        let version = String::from_utf8(version.stdout)
            .unwrap()
            .trim()
            .to_string();
        assert!(!version.is_empty(), "azure-cli's version");
        let now = time::OffsetDateTime::now_utc();
        std::fs::write(
            config.path().join("versionCheck.json"),
            json!({
                "versions": {"core": {"local": version, "pypi": version}},
                "update_time": format!(
                    "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.000000",
                    now.year(), u8::from(now.month()), now.day(), now.hour(), now.minute(), now.second()
                ),
            })
            .to_string(),
        )
        .unwrap();
        Az {
            bin,
            config,
            ca: ca.to_path_buf(),
        }
    }

    /// The variables every process that runs this `az` needs (the CLI, or wid running it).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AZURE_CONFIG_DIR", self.config.path().display().to_string()),
            ("REQUESTS_CA_BUNDLE", self.ca.display().to_string()),
            ("AZURE_CORE_COLLECT_TELEMETRY", "false".into()),
            ("AZURE_CORE_SURVEY_MESSAGE", "false".into()),
            ("AZURE_CORE_NO_COLOR", "true".into()),
        ]
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        tokio::process::Command::new(&self.bin)
            .args(args)
            .envs(self.env())
            .env_remove("AZURE_CLIENT_ID")
            .env_remove("AZURE_TENANT_ID")
            .env_remove("AZURE_CLIENT_SECRET")
            .output()
            .await
            .expect("run az")
    }

    pub async fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args).await;
        assert!(
            o.status.success(),
            "az {args:?} failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    pub async fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&a).await).unwrap()
    }

    /// `az cloud register -n NAME` with wid as the resource manager (endpoints discovered
    /// through `/metadata/endpoints`), without making it active.
    pub async fn register(&self, c: &TestCloud, name: &str) {
        self.ok(&[
            "cloud",
            "register",
            "-n",
            name,
            "--endpoint-resource-manager",
            &c.endpoint,
        ])
        .await;
    }

    /// Registers wid as cloud `wid`, makes it active, and signs in as the identity
    /// `client_id` with a federated token, as a pipeline does.
    pub async fn login_to_wid(&self, c: &TestCloud, client_id: &str, token: &str) -> Value {
        self.register(c, "wid").await;
        self.ok(&["cloud", "set", "-n", "wid"]).await;
        self.ok(&["config", "set", "core.instance_discovery=false"])
            .await;
        self.json(&[
            "login",
            "--service-principal",
            "-u",
            client_id,
            "-t",
            &c.tenant,
            "--federated-token",
            token,
        ])
        .await
    }
}

/// An identity that signs in as `system:serviceaccount:ci:<name>`: (client id, principal id).
pub async fn federated_operator(c: &TestCloud, name: &str) -> (String, String) {
    let (client_id, principal_id) = c.create_identity(name).await;
    let (s, v) = c
        .put_fic(
            name,
            &format!("{name}-ci"),
            &c.issuer(),
            &format!("system:serviceaccount:ci:{name}"),
            &["api://AzureADTokenExchange"],
        )
        .await;
    assert_eq!(s, 201, "{v}");
    (client_id, principal_id)
}
