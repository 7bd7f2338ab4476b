//! The README session, as a new user runs it: `wid up` as a process on an ephemeral port,
//! the CLI creating an identity and three federated credentials, a projected token, `wid env`,
//! and the unmodified Python azure-identity client getting a token whose claims are checked.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const WID: &str = env!("CARGO_BIN_EXE_wid");

pub struct Up {
    child: Child,
}

impl Up {
    /// Spawns a `wid up` process that is killed when dropped.
    pub fn spawn(cmd: &mut Command) -> Self {
        Up {
            child: cmd.spawn().expect("spawn wid up"),
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, if the process has exited.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("wait")
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wid(home: &Path, args: &[&str]) -> Output {
    Command::new(WID)
        .args(args)
        .env("WID_HOME", home)
        .env_remove("WID_ENDPOINT")
        .env_remove("WID_CLOUD")
        .output()
        .expect("run wid")
}

#[track_caller]
pub fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "wid failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8(o.stdout).expect("utf-8")
}

pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("WID_PYTHON") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = root.join(".venv/bin/python");
    assert!(
        venv.exists(),
        "Python with azure-identity is needed: run `.ci/run` once (it creates .venv), or `python3 -m venv .venv && .venv/bin/pip install -r requirements-test.txt`, or set WID_PYTHON"
    );
    venv
}

/// The `export K=V` lines of `wid env`, unquoted; other lines (comments) are skipped.
pub fn exports(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

/// One variable of [`exports`], empty when absent.
pub fn var(envs: &[(String, String)], k: &str) -> String {
    envs.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// `wid identity show -n NAME -g rg-airflow -o json`.
pub fn identity_json(home: &Path, name: &str) -> Value {
    serde_json::from_str(&ok(wid(
        home,
        &[
            "identity",
            "show",
            "-n",
            name,
            "-g",
            "rg-airflow",
            "-o",
            "json",
        ],
    )))
    .unwrap()
}

pub fn start_up(home: &Path) -> (Up, String) {
    // A server killed earlier leaves its server.json behind.
    let _ = std::fs::remove_file(home.join("server.json"));
    let child = Command::new(WID)
        .args(["up", "--listen", "127.0.0.1:0"])
        .env("WID_HOME", home)
        .env("WID_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn wid up");
    let up = Up { child };
    let deadline = Instant::now() + Duration::from_secs(60);
    let server_file = home.join("server.json");
    loop {
        if let Ok(b) = std::fs::read(&server_file)
            && let Ok(v) = serde_json::from_slice::<Value>(&b)
        {
            return (up, v["endpoint"].as_str().unwrap().to_string());
        }
        assert!(Instant::now() < deadline, "wid up did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn readme_session_with_python_azure_identity() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (mut up, endpoint) = start_up(&home);

    ok(wid(
        &home,
        &[
            "identity",
            "create",
            "--name",
            "airflow-mi",
            "--resource-group",
            "rg-airflow",
        ],
    ));
    let shown = ok(wid(
        &home,
        &[
            "identity",
            "show",
            "--name",
            "airflow-mi",
            "--resource-group",
            "rg-airflow",
        ],
    ));
    for label in [
        "Name:",
        "Client ID:",
        "Tenant ID:",
        "Resource group:",
        "Principal ID:",
    ] {
        assert!(shown.contains(label), "{label} missing in:\n{shown}");
    }
    let ident: Value = serde_json::from_str(&ok(wid(
        &home,
        &[
            "identity",
            "show",
            "--name",
            "airflow-mi",
            "--resource-group",
            "rg-airflow",
            "--output",
            "json",
        ],
    )))
    .unwrap();
    let client_id = ident["clientId"].as_str().unwrap().to_string();
    let tenant_id = ident["tenantId"].as_str().unwrap().to_string();
    let principal_id = ident["principalId"].as_str().unwrap().to_string();

    let issuer = ok(wid(&home, &["issuer", "url"])).trim().to_string();
    assert_eq!(issuer, format!("{endpoint}/issuer/"));
    for workload in ["scheduler", "triggerer", "worker"] {
        ok(wid(
            &home,
            &[
                "identity",
                "federated-credential",
                "create",
                "--name",
                &format!("airflow-{workload}"),
                "--identity-name",
                "airflow-mi",
                "--resource-group",
                "rg-airflow",
                "--issuer",
                &issuer,
                "--subject",
                &format!("system:serviceaccount:airflow:airflow-{workload}"),
            ],
        ));
    }
    let listed: Value = serde_json::from_str(&ok(wid(
        &home,
        &[
            "identity",
            "federated-credential",
            "list",
            "--identity-name",
            "airflow-mi",
            "--resource-group",
            "rg-airflow",
            "-o",
            "json",
            "--top",
            "2",
        ],
    )))
    .unwrap();
    assert_eq!(
        listed.as_array().unwrap().len(),
        3,
        "all pages read: {listed}"
    );
    assert_eq!(listed[0]["audiences"][0], "api://AzureADTokenExchange");

    let token_file = dir.path().join("sa-token");
    let token = ok(wid(
        &home,
        &[
            "issuer",
            "token",
            "--namespace",
            "airflow",
            "--service-account",
            "airflow-worker",
        ],
    ));
    assert!(
        !token.ends_with('\n'),
        "redirected tokens have no trailing newline, like the kubelet's"
    );
    std::fs::write(&token_file, &token).unwrap();

    // eval "$(wid env)"
    let env_out = ok(wid(&home, &["env"]));
    assert!(
        env_out.lines().all(|l| l.starts_with("export ")),
        "{env_out}"
    );
    let env = exports(&env_out);
    let get = |k: &str| var(&env, k);
    assert_eq!(get("AZURE_AUTHORITY_HOST"), endpoint);
    assert!(
        std::fs::read_to_string(get("REQUESTS_CA_BUNDLE"))
            .unwrap()
            .contains("wid local CA")
    );

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/workload_identity.py");
    let out = Command::new(python())
        .arg(&script)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AZURE_CLIENT_ID", &client_id)
        .env("AZURE_TENANT_ID", &tenant_id)
        .env("AZURE_FEDERATED_TOKEN_FILE", &token_file)
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("IDENTITY_ENDPOINT")
        .env_remove("MSI_ENDPOINT")
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (which, aud) in [
        ("workload_identity", "https://management.azure.com"),
        ("default_azure_credential", "https://storage.azure.com"),
    ] {
        let c = &v[which]["claims"];
        assert_eq!(c["aud"], aud, "{which}: {c}");
        assert_eq!(c["appid"], client_id.as_str());
        assert_eq!(c["oid"], principal_id.as_str());
        assert_eq!(c["tid"], tenant_id.as_str());
        assert_eq!(c["iss"], format!("https://sts.windows.net/{tenant_id}/"));
        assert_eq!(c["idtyp"], "app");
        assert!(
            c["xms_mirid"]
                .as_str()
                .unwrap()
                .ends_with("/userAssignedIdentities/airflow-mi")
        );
        let exp = v[which]["expires_on"].as_i64().unwrap();
        assert!(
            exp > c["iat"].as_i64().unwrap() + 86_000,
            "{which}: expires_on {exp}"
        );
    }

    // MSAL-based ClientSecretCredential (tenant discovery, then the token endpoint) as the
    // local administrator.
    let admin: Value =
        serde_json::from_slice(&std::fs::read(home.join("admin.json")).unwrap()).unwrap();
    let out = Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/client_secret.py"))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("WID_TENANT", admin["tenant_id"].as_str().unwrap())
        .env("WID_CLIENT_ID", admin["client_id"].as_str().unwrap())
        .env(
            "WID_CLIENT_SECRET",
            admin["client_secret"].as_str().unwrap(),
        )
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "MSAL client secret failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["appid"], admin["client_id"]);
    assert_eq!(c["aud"], "https://management.azure.com");

    // `wid env` as the webhook would set a pod up, then `wid token` through the chain.
    let pod_env = ok(wid(
        &home,
        &[
            "env",
            "--namespace",
            "airflow",
            "--service-account",
            "airflow-worker",
            "--client-id",
            &client_id,
        ],
    ));
    let pod = exports(&pod_env);
    assert!(
        pod_env.contains(
            "wid issuer token --namespace airflow --service-account airflow-worker --write"
        ),
        "{pod_env}"
    );
    let names: Vec<&str> = pod.iter().map(|(k, _)| k.as_str()).collect();
    for n in [
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_FEDERATED_TOKEN_FILE",
        "AZURE_AUTHORITY_HOST",
        "SSL_CERT_FILE",
        "REQUESTS_CA_BUNDLE",
    ] {
        assert!(names.contains(&n), "{n} missing in {pod_env}");
    }
    let o = Command::new(WID)
        .args([
            "token",
            "--scope",
            "https://storage.azure.com/.default",
            "--output",
            "json",
        ])
        .env_clear()
        .envs(pod.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("PATH", std::env::var("PATH").unwrap())
        .output()
        .unwrap();
    let tok: Value = serde_json::from_str(&ok(o)).unwrap();
    assert_eq!(tok["credential"], "WorkloadIdentityCredential");
    assert_eq!(tok["claims"]["aud"], "https://storage.azure.com");
    assert_eq!(tok["claims"]["appid"], client_id.as_str());
    let chain: Vec<(String, String)> = tok["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["credential"].as_str().unwrap().to_string(),
                l["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        chain[0],
        ("EnvironmentCredential".to_string(), "skipped".to_string()),
        "{chain:?}"
    );
    assert_eq!(
        chain[1],
        ("WorkloadIdentityCredential".to_string(), "used".to_string()),
        "{chain:?}"
    );
    assert_eq!(
        chain[2],
        (
            "ManagedIdentityCredential".to_string(),
            "not tried".to_string()
        ),
        "{chain:?}"
    );
    let raw = Command::new(WID)
        .args(["token", "--output", "raw"])
        .env_clear()
        .envs(pod.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    let raw = ok(raw);
    assert_eq!(raw.trim().split('.').count(), 3, "{raw}");
    // A wrong client id: the error names it and the remedy, on stderr, exit 1.
    let o = Command::new(WID)
        .args([
            "token",
            "--client-id",
            "00000000-0000-0000-0000-000000000009",
        ])
        .env_clear()
        .envs(pod.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("AADSTS700016")
            && err.contains("00000000-0000-0000-0000-000000000009")
            && err.contains("hint:"),
        "{err}"
    );

    // Errors go to stderr with a non-zero exit, naming the values and a hint.
    let o = wid(
        &home,
        &[
            "identity",
            "show",
            "--name",
            "nope",
            "--resource-group",
            "rg-airflow",
        ],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("ResourceNotFound") && err.contains("nope") && err.contains("hint:"),
        "{err}"
    );
    let o = wid(
        &home,
        &[
            "identity",
            "federated-credential",
            "create",
            "--name",
            "x",
            "--identity-name",
            "airflow-mi",
            "-g",
            "rg-airflow",
            "--issuer",
            &issuer,
            "--subject",
            "s",
        ],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("'x' is invalid"));

    // SIGTERM shuts down gracefully and removes server.json.
    let pid = up.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = up.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "wid up did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert!(!home.join("server.json").exists());

    // A second start reuses the data directory: same tenant, same identity.
    let (_up2, _endpoint2) = start_up(&home);
    let again: Value = serde_json::from_str(&ok(wid(
        &home,
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
    )))
    .unwrap();
    assert_eq!(again["clientId"], client_id.as_str());
    assert_eq!(again["tenantId"], tenant_id.as_str());
}

#[test]
fn issuer_token_write_keeps_the_file_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (_up, _) = start_up(&home);
    let file = dir.path().join("tokens/azure-identity-token");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let mut writer = Up {
        child: Command::new(WID)
            .args([
                "issuer",
                "token",
                "--namespace",
                "airflow",
                "--service-account",
                "airflow-worker",
                "--write",
            ])
            .arg(&file)
            .env("WID_HOME", &home)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !file.exists() {
        assert!(Instant::now() < deadline, "token file not written");
        assert!(
            writer.child.try_wait().unwrap().is_none(),
            "writer exited early"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let token = std::fs::read_to_string(&file).unwrap();
    let claims: Value =
        serde_json::from_slice(&wid_jose::b64url_decode(token.split('.').nth(1).unwrap()).unwrap())
            .unwrap();
    assert_eq!(
        claims["sub"],
        "system:serviceaccount:airflow:airflow-worker"
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Still running: it sleeps until 80% of the lifetime (checked in the unit test of the schedule).
    assert!(writer.child.try_wait().unwrap().is_none());
}

#[test]
fn unusable_fernet_key_stops_wid_up_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let o = Command::new(WID)
        .args(["up", "--listen", "127.0.0.1:0"])
        .env("WID_HOME", &home)
        .env("WID_FERNET_KEY", "not-a-fernet-key")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("Fernet key configuration is not usable") && err.contains("key 1"),
        "{err}"
    );
    assert!(
        !err.contains("not-a-fernet-key"),
        "the key itself is never printed: {err}"
    );
    assert!(err.contains("hint:"), "{err}");
}

/// Starts `wid up` with its log (WID_LOG=info) going to a file, makes one request, stops it,
/// and returns the log.
fn up_log(extra_env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let log = dir.path().join("up.log");
    let mut cmd = Command::new(WID);
    cmd.args(["up", "--listen", "127.0.0.1:0"])
        .env("WID_HOME", &home)
        .env("WID_LOG", "info")
        .env_remove("NO_COLOR")
        .env_remove("WID_LOG_COLOR")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let up = Up {
        child: cmd.spawn().expect("spawn wid up"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let endpoint = loop {
        if let Ok(b) = std::fs::read(home.join("server.json"))
            && let Ok(v) = serde_json::from_slice::<Value>(&b)
        {
            break v["endpoint"].as_str().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "wid up did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    // One request, so that a request line is logged.
    let o = wid(&home, &["identity", "list", "--endpoint", &endpoint]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    drop(up);
    std::fs::read_to_string(&log).unwrap()
}

#[test]
fn logs_carry_colour_codes_only_on_a_terminal_or_when_asked() {
    let plain = up_log(&[]);
    assert!(
        plain.contains("request"),
        "a request line is logged: {plain}"
    );
    assert!(
        !plain.contains('\x1b'),
        "no colour codes in a file: {plain:?}"
    );
    let forced = up_log(&[("WID_LOG_COLOR", "always")]);
    assert!(
        forced.contains("\x1b["),
        "WID_LOG_COLOR=always colours: {forced:?}"
    );
    let no_color = up_log(&[("NO_COLOR", "1"), ("WID_LOG_COLOR", "never")]);
    assert!(!no_color.contains('\x1b'), "{no_color:?}");
}
