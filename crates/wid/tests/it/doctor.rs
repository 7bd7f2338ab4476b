//! `wid doctor` as a user runs it: the real server on an ephemeral port, the `wid` binary in a
//! pod-like environment (the webhook's variables, a token file, an `AIRFLOW_CONN_*` variable),
//! one broken thing per test, and doctor naming that cause first, with its fix, over HTTPS.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use wid_model::Clock;

use crate::common::{TestCloud, sa_claims, sign_with};

const WID: &str = env!("CARGO_BIN_EXE_wid");
const NS: &str = "airflow";
const SA: &str = "airflow-worker";
const CONN: &str = "AIRFLOW_CONN_AZURE_WI";

/// A pod of a healthy setup: an identity with a credential for airflow:airflow-worker, a
/// Reader role on rg-airflow, a fresh token file, the webhook's variables and the connection.
struct Pod {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    client_id: String,
    principal_id: String,
    token_file: PathBuf,
}

impl Pod {
    fn set(&mut self, k: &str, v: &str) {
        self.env.retain(|(n, _)| n != k);
        self.env.push((k.into(), v.into()));
    }

    fn unset(&mut self, k: &str) {
        self.env.retain(|(n, _)| n != k);
    }

    fn connection(&mut self, extra: Value) {
        let v = json!({"conn_type": "azure", "extra": extra}).to_string();
        self.set(CONN, &v);
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    json: Value,
    elapsed: Duration,
}

impl Run {
    fn cause(&self) -> &str {
        self.json["cause"]["check"].as_str().unwrap_or("")
    }

    fn check(&self, id: &str) -> &Value {
        self.json["checks"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["id"] == id))
            .unwrap_or(&Value::Null)
    }

    /// Asserts the first failure, that its summary and fix say what they must, and a non-zero exit.
    #[track_caller]
    fn assert_cause(&self, id: &str, summary: &[&str], fix: &[&str]) {
        assert_ne!(self.code, 0, "doctor must fail: {}", self.stdout);
        assert_eq!(self.cause(), id, "{}", self.stdout);
        let s = self.json["cause"]["summary"].as_str().unwrap_or("");
        let f = self.json["cause"]["fix"].as_str().unwrap_or("");
        for n in summary {
            assert!(s.contains(n), "summary lacks '{n}': {s}");
        }
        for n in fix {
            assert!(f.contains(n), "fix lacks '{n}': {f}");
        }
        assert!(
            self.stderr.contains(&format!("first cause: {id}")),
            "{}",
            self.stderr
        );
    }
}

/// `wid doctor ARGS` in the pod's environment only: nothing of the test's own `AZURE_*`,
/// `AIRFLOW_CONN_*` or `WID_*` leaks in, and IMDS is a closed loopback port.
fn doctor_command(cloud: &TestCloud, pod: &Pod, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(WID);
    cmd.arg("doctor").args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("AZURE_") || k.starts_with("AIRFLOW_CONN_") || k.starts_with("WID_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("WID_HOME", cloud.home.root())
        .env("WID_ENDPOINT", &cloud.endpoint)
        .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9");
    for (k, v) in &pod.env {
        cmd.env(k, v);
    }
    cmd
}

async fn doctor(cloud: &TestCloud, pod: &Pod, args: &[&str]) -> Run {
    let started = Instant::now();
    let out = doctor_command(cloud, pod, args)
        .args(["--output", "json"])
        .output()
        .await
        .expect("run wid doctor");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stdout,
        elapsed: started.elapsed(),
    }
}

/// The same run in text form (what a user reads): exit code, stdout and stderr.
async fn doctor_text(cloud: &TestCloud, pod: &Pod, args: &[&str]) -> (i32, String) {
    let out = doctor_command(cloud, pod, args)
        .output()
        .await
        .expect("run wid doctor");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

async fn assign_reader(cloud: &TestCloud, principal_id: &str) {
    let scope = format!("/subscriptions/{}/resourceGroups/rg-airflow", cloud.sub);
    cloud.assign_role("Reader", principal_id, &scope).await;
}

/// The healthy pod; `fic` overrides the credential's (issuer, subject, audience).
async fn pod_with(cloud: &TestCloud, fic: Option<(&str, &str, &str)>, reader: bool) -> Pod {
    let (client_id, principal_id) = cloud.create_identity("airflow-mi").await;
    let issuer = cloud.issuer();
    let subject = format!("system:serviceaccount:{NS}:{SA}");
    let (i, s, a) = fic.unwrap_or((&issuer, &subject, "api://AzureADTokenExchange"));
    let (st, v) = cloud.put_fic("airflow-mi", SA, i, s, &[a]).await;
    assert_eq!(st, 201, "{v}");
    if reader {
        assign_reader(cloud, &principal_id).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("azure-identity-token");
    std::fs::write(&token_file, cloud.sa_token(NS, SA)).unwrap();
    let mut pod = Pod {
        dir,
        env: Vec::new(),
        client_id: client_id.clone(),
        principal_id,
        token_file: token_file.clone(),
    };
    pod.set("AZURE_CLIENT_ID", &client_id);
    pod.set("AZURE_TENANT_ID", &cloud.tenant);
    pod.set(
        "AZURE_FEDERATED_TOKEN_FILE",
        &token_file.display().to_string(),
    );
    pod.set("AZURE_AUTHORITY_HOST", &cloud.endpoint);
    pod.connection(json!({
        "managed_identity_client_id": client_id,
        "workload_identity_tenant_id": cloud.tenant,
        "subscriptionId": cloud.sub,
    }));
    pod
}

async fn healthy(cloud: &TestCloud) -> Pod {
    pod_with(cloud, None, true).await
}

const ARGS: [&str; 2] = ["--conn-id", "azure_wi"];

#[tokio::test]
async fn healthy_setup_passes_every_check() {
    let cloud = TestCloud::start().await;
    let pod = healthy(&cloud).await;
    let r = doctor(&cloud, &pod, &ARGS).await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["status"], "passed", "{}", r.stdout);
    assert!(r.json["cause"].is_null());
    let checks = r.json["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 18);
    for c in checks {
        assert_eq!(c["status"], "passed", "{c}");
    }
    assert_eq!(
        r.check("connection.found")["evidence"]["source"],
        format!("environment variable {CONN}")
    );
    assert_eq!(
        r.check("identity.federated_credential")["evidence"]["credential"],
        SA
    );
    assert_eq!(
        r.check("exchange.token")["evidence"]["oid"],
        pod.principal_id.as_str()
    );
    assert_eq!(
        r.check("permissions.read")["evidence"]["readable resource groups"],
        "rg-airflow"
    );
    let (code, text) = doctor_text(&cloud, &pod, &ARGS).await;
    assert_eq!(code, 0);
    assert!(text.contains("Every check passed."), "{text}");
    assert!(text.contains("[pass] token.claims"), "{text}");
}

#[tokio::test]
async fn issuer_without_its_trailing_slash() {
    let cloud = TestCloud::start().await;
    let issuer = cloud.issuer();
    let bare = issuer.trim_end_matches('/').to_string();
    let subject = format!("system:serviceaccount:{NS}:{SA}");
    let pod = pod_with(
        &cloud,
        Some((&bare, &subject, "api://AzureADTokenExchange")),
        true,
    )
    .await;
    let r = doctor(&cloud, &pod, &ARGS).await;
    r.assert_cause(
        "identity.federated_credential",
        &["trailing slash", "AADSTS700211"],
        &[
            "wid identity federated-credential create --name airflow-worker",
            &format!("--issuer '{issuer}'"),
        ],
    );
    let ev = &r.check("identity.federated_credential")["evidence"];
    assert_eq!(ev["token issuer"], issuer.as_str());
    assert_eq!(ev["'airflow-worker' issuer"], bare.as_str());
    assert!(
        r.check("exchange.token")["summary"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS700211"),
        "{}",
        r.stdout
    );
}

#[tokio::test]
async fn subject_in_another_case() {
    let cloud = TestCloud::start().await;
    let issuer = cloud.issuer();
    let pod = pod_with(
        &cloud,
        Some((
            &issuer,
            "system:serviceaccount:airflow:Airflow-Worker",
            "api://AzureADTokenExchange",
        )),
        true,
    )
    .await;
    let r = doctor(&cloud, &pod, &ARGS).await;
    r.assert_cause(
        "identity.federated_credential",
        &["only in case", "case-sensitively", "AADSTS7002138"],
        &[
            "--name airflow-worker",
            "--subject 'system:serviceaccount:airflow:airflow-worker'",
        ],
    );
    assert_eq!(r.check("exchange.token")["status"], "failed");
}

#[tokio::test]
async fn audience_of_another_cloud() {
    let cloud = TestCloud::start().await;
    let issuer = cloud.issuer();
    let subject = format!("system:serviceaccount:{NS}:{SA}");
    let pod = pod_with(
        &cloud,
        Some((&issuer, &subject, "api://AzureADTokenExchangeUSGov")),
        true,
    )
    .await;
    let r = doctor(&cloud, &pod, &ARGS).await;
    r.assert_cause(
        "identity.federated_credential",
        &[
            "AzureUSGovernment's token exchange audience",
            "AADSTS700212",
        ],
        &[
            "--name airflow-worker",
            "--audiences 'api://AzureADTokenExchange'",
        ],
    );
}

#[tokio::test]
async fn token_file_missing() {
    let cloud = TestCloud::start().await;
    let mut pod = healthy(&cloud).await;
    let gone = pod.dir.path().join("nothing-here");
    pod.set("AZURE_FEDERATED_TOKEN_FILE", &gone.display().to_string());
    let r = doctor(&cloud, &pod, &ARGS).await;
    r.assert_cause(
        "environment.token_file",
        &["does not exist"],
        &["wid issuer token", &format!("--write {}", gone.display())],
    );
    assert_eq!(r.check("token.decode")["status"], "skipped");
    assert_eq!(r.check("exchange.token")["status"], "skipped");
}

#[tokio::test]
async fn token_file_unreadable() {
    let cloud = TestCloud::start().await;
    let mut pod = healthy(&cloud).await;
    // A directory where the file should be: no user can read it as a token.
    let dir = pod.dir.path().join("tokens");
    std::fs::create_dir(&dir).unwrap();
    pod.set("AZURE_FEDERATED_TOKEN_FILE", &dir.display().to_string());
    let r = doctor(&cloud, &pod, &ARGS).await;
    r.assert_cause(
        "environment.token_file",
        &["is a directory"],
        &["AZURE_FEDERATED_TOKEN_FILE", "azure-identity-token"],
    );

    // Mode 0000: unreadable for anyone but root (root reads it anyway, so only then is the
    // cause the same).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pod.token_file, std::fs::Permissions::from_mode(0o000)).unwrap();
    pod.set(
        "AZURE_FEDERATED_TOKEN_FILE",
        &pod.token_file.display().to_string(),
    );
    if std::fs::read(&pod.token_file).is_err() {
        let r = doctor(&cloud, &pod, &ARGS).await;
        r.assert_cause(
            "environment.token_file",
            &["not readable by this user"],
            &["fsGroup"],
        );
    }
}

#[tokio::test]
async fn token_file_stale() {
    let cloud = TestCloud::start().await;
    let mut pod = healthy(&cloud).await;
    // The kubelet stopped rewriting the file 4000 s ago: its token expired 400 s ago.
    let now = cloud.clock.now();
    cloud.clock.set(now - 4000);
    let old = cloud.sa_token(NS, SA);
    cloud.clock.set(now);
    std::fs::write(&pod.token_file, &old).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&pod.token_file)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(4000))
        .unwrap();
    pod.set(
        "AZURE_FEDERATED_TOKEN_FILE",
        &pod.token_file.display().to_string(),
    );
    let r = doctor(&cloud, &pod, &ARGS).await;
    r.assert_cause(
        "token.lifetime",
        &["expired", "nothing rotates it", "AADSTS700024"],
        &["80%", "--write"],
    );
    let ev = &r.check("token.lifetime")["evidence"];
    assert_eq!(ev["kubelet rewrites at"], "2880 s (80%)");
    let written = ev["file written"].as_str().unwrap();
    assert!(written.starts_with("40"), "{written}");
    assert!(
        r.check("exchange.token")["summary"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS700024"),
        "{}",
        r.stdout
    );
}

#[tokio::test]
async fn webhook_variable_missing() {
    let cloud = TestCloud::start().await;
    let mut pod = healthy(&cloud).await;
    pod.unset("AZURE_FEDERATED_TOKEN_FILE");
    let r = doctor(&cloud, &pod, &ARGS).await;
    r.assert_cause(
        "environment.variables",
        &["AZURE_FEDERATED_TOKEN_FILE not set", "webhook"],
        &["azure.workload.identity/use: \"true\"", "wid env"],
    );
}

#[tokio::test]
async fn tenant_differs_from_the_connection() {
    let cloud = TestCloud::start().await;
    let mut pod = healthy(&cloud).await;
    let wrong = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    pod.set("AZURE_TENANT_ID", wrong);
    let r = doctor(&cloud, &pod, &ARGS).await;
    r.assert_cause(
        "environment.consistency",
        &["tenant differs", wrong, &cloud.tenant],
        &[
            "AZURE_TENANT_ID",
            "azure.workload.identity/tenant-id",
            &cloud.tenant,
        ],
    );
    // The other way round: the connection is wrong, the environment right.
    pod.set("AZURE_TENANT_ID", &cloud.tenant.clone());
    pod.connection(
        json!({"managed_identity_client_id": pod.client_id, "workload_identity_tenant_id": wrong}),
    );
    let r = doctor(&cloud, &pod, &ARGS).await;
    r.assert_cause(
        "environment.consistency",
        &["tenant differs"],
        &[&format!(
            "set workload_identity_tenant_id to \"{}\"",
            cloud.tenant
        )],
    );
}

/// A TCP listener that accepts connections and never answers.
async fn hanging_listener() -> (u16, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    (port, task)
}

#[tokio::test]
async fn issuer_that_hangs_is_named_within_three_seconds() {
    let cloud = TestCloud::start().await;
    let (port, _hang) = hanging_listener().await;
    let iss = format!("https://127.0.0.1:{port}/");
    let subject = format!("system:serviceaccount:{NS}:{SA}");
    // The identity federates the hanging issuer, so the token service waits on it too.
    let pod = pod_with(
        &cloud,
        Some((&iss, &subject, "api://AzureADTokenExchange")),
        true,
    )
    .await;
    let key = wid_jose::SigningKey::generate().unwrap();
    let token = sign_with(
        &key,
        &sa_claims(&iss, &subject, cloud.clock.now()),
        Some("k1"),
    );
    std::fs::write(&pod.token_file, token).unwrap();
    let r = doctor(&cloud, &pod, &ARGS).await;
    assert!(r.elapsed < Duration::from_secs(3), "took {:?}", r.elapsed);
    r.assert_cause(
        "issuer.discovery",
        &[
            &format!("https://127.0.0.1:{port}/.well-known/openid-configuration did not answer"),
            "hung",
        ],
        &["AADSTS50166"],
    );
}

#[tokio::test]
async fn token_service_that_hangs_is_named_within_three_seconds() {
    let cloud = TestCloud::start().await;
    let (port, _hang) = hanging_listener().await;
    let mut pod = healthy(&cloud).await;
    pod.set("AZURE_AUTHORITY_HOST", &format!("https://127.0.0.1:{port}"));
    let r = doctor(&cloud, &pod, &ARGS).await;
    assert!(r.elapsed < Duration::from_secs(3), "took {:?}", r.elapsed);
    r.assert_cause(
        "environment.variables",
        &[&format!("AZURE_AUTHORITY_HOST is https://127.0.0.1:{port}")],
        &[&format!("export AZURE_AUTHORITY_HOST={}", cloud.endpoint)],
    );
    let hung = format!(
        "https://127.0.0.1:{port}/{}/oauth2/v2.0/token did not answer",
        cloud.tenant
    );
    let ex = r.check("exchange.token")["summary"].as_str().unwrap_or("");
    assert!(ex.contains(&hung), "{ex}");
    assert!(
        r.check("token.clock_skew")["summary"]
            .as_str()
            .unwrap()
            .contains("hung")
    );
}

#[tokio::test]
async fn key_not_in_the_jwks() {
    let cloud = TestCloud::start().await;
    let pod = healthy(&cloud).await;
    let stranger = wid_jose::SigningKey::generate().unwrap();
    let subject = format!("system:serviceaccount:{NS}:{SA}");
    let token = sign_with(
        &stranger,
        &sa_claims(&cloud.issuer(), &subject, cloud.clock.now()),
        Some("rotated-out-key"),
    );
    std::fs::write(&pod.token_file, token).unwrap();
    let r = doctor(&cloud, &pod, &ARGS).await;
    r.assert_cause(
        "issuer.jwks",
        &[
            "kid rotated-out-key is not in the issuer's JWKS",
            "AADSTS7000272",
        ],
        &["recreate the pod"],
    );
    assert_eq!(r.check("issuer.discovery")["status"], "passed");
    assert_eq!(r.check("identity.federated_credential")["status"], "passed");
}

async fn cli(cloud: &TestCloud, args: &[&str]) -> String {
    let out = tokio::process::Command::new(WID)
        .args(args)
        .env("WID_HOME", cloud.home.root())
        .env("WID_ENDPOINT", &cloud.endpoint)
        .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")
        .env_remove("WID_CLOUD")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "wid {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn component_without_a_credential() {
    let cloud = TestCloud::start().await;
    let (client_id, principal_id) = cloud.create_identity("airflow-mi").await;
    assign_reader(&cloud, &principal_id).await;
    cli(
        &cloud,
        &[
            "deployment",
            "create",
            "prod",
            "--namespace",
            "airflow-prod",
            "--airflow-version",
            "3",
        ],
    )
    .await;
    cli(
        &cloud,
        &[
            "deployment",
            "assign-identity",
            "prod",
            "--identity-name",
            "airflow-mi",
            "-g",
            "rg-airflow",
        ],
    )
    .await;
    let extra = json!({"managed_identity_client_id": client_id, "workload_identity_tenant_id": cloud.tenant}).to_string();
    cli(
        &cloud,
        &[
            "connections",
            "add",
            "azure_wi",
            "--conn-type",
            "azure",
            "--conn-extra",
            &extra,
        ],
    )
    .await;
    cli(
        &cloud,
        &[
            "connections",
            "link",
            "azure_wi",
            "--deployment",
            "prod",
            "--override",
            &format!("subscriptionId={}", cloud.sub),
        ],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    let env = cli(
        &cloud,
        &[
            "env",
            "--deployment",
            "prod",
            "--component",
            "worker",
            "--token-file",
            &file.display().to_string(),
        ],
    )
    .await;
    let mut pod = Pod {
        env: crate::cli_session::exports(&env)
            .into_iter()
            .filter(|(k, _)| k.starts_with("AZURE_"))
            .collect(),
        dir,
        client_id,
        principal_id,
        token_file: file,
    };
    pod.unset(CONN);
    // Healthy first: the link is found, with its override.
    let r = doctor(
        &cloud,
        &pod,
        &[
            "--conn-id",
            "azure_wi",
            "--deployment",
            "prod",
            "--component",
            "worker",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(
        r.check("connection.found")["evidence"]["overrides"],
        format!("subscriptionId={}", cloud.sub)
    );
    // Then the worker's credential goes.
    cli(
        &cloud,
        &[
            "identity",
            "federated-credential",
            "delete",
            "-n",
            "prod-worker",
            "--identity-name",
            "airflow-mi",
            "-g",
            "rg-airflow",
        ],
    )
    .await;
    let r = doctor(
        &cloud,
        &pod,
        &[
            "--conn-id",
            "azure_wi",
            "--deployment",
            "prod",
            "--component",
            "worker",
        ],
    )
    .await;
    r.assert_cause(
        "identity.federated_credential",
        &["no credential federates this component", "AADSTS700213"],
        &["wid deployment assign-identity prod --identity-name airflow-mi --resource-group rg-airflow"],
    );
    // A pod running as another component's service account is named as such.
    let r = doctor(
        &cloud,
        &pod,
        &[
            "--conn-id",
            "azure_wi",
            "--deployment",
            "prod",
            "--component",
            "scheduler",
        ],
    )
    .await;
    r.assert_cause(
        "token.claims",
        &["component scheduler runs as 'system:serviceaccount:airflow-prod:airflow-scheduler'"],
        &["serviceAccountName: airflow-scheduler"],
    );
}

#[tokio::test]
async fn only_one_of_the_two_fields() {
    let cloud = TestCloud::start().await;
    let mut pod = healthy(&cloud).await;
    pod.connection(
        json!({"managed_identity_client_id": pod.client_id, "subscriptionId": cloud.sub}),
    );
    let r = doctor(&cloud, &pod, &ARGS).await;
    r.assert_cause(
        "connection.fields",
        &[
            "only one of the two",
            "bare DefaultAzureCredential()",
            "workload_identity_tenant_id is missing",
        ],
        &[&format!(
            "set workload_identity_tenant_id to \"{}\"",
            cloud.tenant
        )],
    );
}

#[tokio::test]
async fn no_role_assignment() {
    let cloud = TestCloud::start().await;
    let issuer = cloud.issuer();
    let subject = format!("system:serviceaccount:{NS}:{SA}");
    let pod = pod_with(
        &cloud,
        Some((&issuer, &subject, "api://AzureADTokenExchange")),
        false,
    )
    .await;
    let r = doctor(&cloud, &pod, &ARGS).await;
    r.assert_cause(
        "permissions.read",
        &["may read nothing", "AuthorizationFailed"],
        &[&format!(
            "wid role assignment create --assignee {} --role Reader",
            pod.principal_id
        )],
    );
    assert_eq!(r.check("exchange.token")["status"], "passed");
}

/// JWT-shaped text: `eyJ...` `.` `eyJ...`.
fn has_jwt(s: &str) -> bool {
    s.match_indices("eyJ").any(|(i, _)| {
        let rest = &s[i..];
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
            .collect();
        word.split('.').filter(|p| !p.is_empty()).count() >= 2
    })
}

#[tokio::test]
async fn no_secret_in_any_output() {
    let cloud = TestCloud::start().await;
    let mut pod = healthy(&cloud).await;
    let password = "hunter2-never-print-me";
    pod.set(
        CONN,
        &json!({"conn_type": "azure", "password": password, "extra": {
            "managed_identity_client_id": pod.client_id, "workload_identity_tenant_id": cloud.tenant, "subscriptionId": cloud.sub}})
        .to_string(),
    );
    let projected = std::fs::read_to_string(&pod.token_file).unwrap();
    let admin = cloud.home.admin().unwrap();
    let api_key = std::fs::read_to_string(cloud.home.root().join("api-key")).unwrap();
    let fernet = std::fs::read_to_string(cloud.home.root().join("fernet.key")).unwrap_or_default();
    let mut secrets = vec![
        projected.trim().to_string(),
        projected.trim().rsplit('.').next().unwrap().to_string(),
        admin.client_secret.expose_str().to_string(),
        api_key.trim().to_string(),
        password.to_string(),
    ];
    if !fernet.trim().is_empty() {
        secrets.push(fernet.trim().to_string());
    }
    let mut outputs = Vec::new();
    let r = doctor(&cloud, &pod, &ARGS).await;
    assert_eq!(r.code, 0, "{}", r.stdout);
    outputs.push(format!("{}{}", r.stdout, r.stderr));
    outputs.push(doctor_text(&cloud, &pod, &ARGS).await.1);
    // A failing exchange too (AADSTS text in the output).
    let issuer = cloud.issuer();
    cloud
        .put_fic(
            "airflow-mi",
            SA,
            issuer.trim_end_matches('/'),
            &format!("system:serviceaccount:{NS}:{SA}"),
            &["api://AzureADTokenExchange"],
        )
        .await;
    let r = doctor(&cloud, &pod, &ARGS).await;
    assert_ne!(r.code, 0);
    outputs.push(format!("{}{}", r.stdout, r.stderr));
    outputs.push(doctor_text(&cloud, &pod, &ARGS).await.1);
    // A connection URI Airflow cannot read: its error is shown, its password is not.
    pod.set(CONN, &format!("azure://someone:{password}@host:99999/"));
    let r = doctor(&cloud, &pod, &ARGS).await;
    r.assert_cause(
        "connection.found",
        &[CONN, "Airflow cannot read it", "someone:***@host:99999"],
        &[],
    );
    outputs.push(format!("{}{}", r.stdout, r.stderr));
    for out in &outputs {
        for s in &secrets {
            assert!(!out.contains(s.as_str()), "a secret leaked: {out}");
        }
        assert!(!has_jwt(out), "a JWT leaked: {out}");
    }
    assert!(has_jwt(&projected), "the detector must see a JWT");
}

#[test]
fn jwt_detector() {
    assert!(has_jwt("x eyJhbGc.eyJzdWIi.c2ln y"));
    assert!(!has_jwt("kid eyJabc and eyJdef"));
}

/// The README's session against `wid up` as a process: identity, credential, role, connection
/// and pod environment made with the CLI, then doctor passes every check.
#[test]
fn healthy_session_against_wid_up() {
    use crate::cli_session::{exports, identity_json, ok, start_up, wid};
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (_up, endpoint) = start_up(&home);
    ok(wid(
        &home,
        &["identity", "create", "-n", "airflow-mi", "-g", "rg-airflow"],
    ));
    let shown = identity_json(&home, "airflow-mi");
    let (client_id, tenant, principal) = (
        shown["clientId"].as_str().unwrap().to_string(),
        shown["tenantId"].as_str().unwrap().to_string(),
        shown["principalId"].as_str().unwrap().to_string(),
    );
    let sub = cloud_sub(&home);
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
    ok(wid(
        &home,
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
    ));
    let extra = json!({"managed_identity_client_id": client_id, "workload_identity_tenant_id": tenant, "subscriptionId": sub}).to_string();
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
    let env = exports(&ok(wid(
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
    )));
    let mut cmd = std::process::Command::new(WID);
    cmd.args(["doctor", "--conn-id", "azure_wi", "-o", "json"]);
    for (k, _) in std::env::vars() {
        if k.starts_with("AZURE_") || k.starts_with("AIRFLOW_CONN_") || k.starts_with("WID_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("WID_HOME", &home)
        .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")
        .envs(env);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["status"], "passed", "{stdout}");
    let found = &v["checks"][0];
    assert_eq!(found["id"], "connection.found");
    assert_eq!(
        found["evidence"]["source"],
        format!("store {endpoint}/api/v2/connections/azure_wi")
    );
}

fn cloud_sub(home: &Path) -> String {
    let admin: Value =
        serde_json::from_slice(&std::fs::read(home.join("admin.json")).unwrap()).unwrap();
    admin["subscription_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_wid_server_that_hangs_on_everything_is_named_within_three_seconds() {
    let cloud = TestCloud::start().await;
    let (port, _hang) = hanging_listener().await;
    let mut pod = healthy(&cloud).await;
    let hung = format!("https://127.0.0.1:{port}");
    pod.unset(CONN);
    pod.set("AZURE_AUTHORITY_HOST", &hung);
    // The store, ARM and the token service all behind one server that never answers.
    pod.set("WID_ENDPOINT", &hung);
    let r = doctor(&cloud, &pod, &ARGS).await;
    assert!(r.elapsed < Duration::from_secs(3), "took {:?}", r.elapsed);
    r.assert_cause(
        "connection.found",
        &["AIRFLOW_CONN_AZURE_WI is not set and the store cannot be read"],
        &["AIRFLOW_CONN_AZURE_WI"],
    );
    let store = r.check("connection.found")["evidence"]["store"]
        .as_str()
        .unwrap();
    assert!(
        store.contains(&format!(
            "{hung}/api/v2/connections/azure_wi did not answer"
        )),
        "{store}"
    );
}

#[tokio::test]
async fn a_token_past_its_rotation_warns_and_exits_zero() {
    let cloud = TestCloud::start().await;
    let pod = healthy(&cloud).await;
    // Written 3000 s ago (past the kubelet's rewrite at 2880 s), valid 600 s more.
    let now = cloud.clock.now();
    cloud.clock.set(now - 3000);
    std::fs::write(&pod.token_file, cloud.sa_token(NS, SA)).unwrap();
    cloud.clock.set(now);
    let r = doctor(
        &cloud,
        &pod,
        &[
            "--conn-id",
            "azure_wi",
            "--scope",
            "https://storage.azure.com/.default",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["status"], "warned");
    assert!(r.json["cause"].is_null());
    let lifetime = r.check("token.lifetime");
    assert_eq!(lifetime["status"], "warned", "{lifetime}");
    assert!(
        lifetime["summary"]
            .as_str()
            .unwrap()
            .contains("not being rotated")
    );
    // The exchange is for the asked scope; the permissions still read ARM.
    assert_eq!(
        r.check("exchange.token")["evidence"]["aud"],
        "https://storage.azure.com"
    );
    assert_eq!(r.check("permissions.read")["status"], "passed");
}

#[tokio::test]
async fn principal_id_in_place_of_the_client_id() {
    let cloud = TestCloud::start().await;
    let mut pod = healthy(&cloud).await;
    let principal = pod.principal_id.clone();
    pod.set("AZURE_CLIENT_ID", &principal);
    pod.connection(json!({"managed_identity_client_id": principal, "workload_identity_tenant_id": cloud.tenant}));
    let r = doctor(&cloud, &pod, &ARGS).await;
    r.assert_cause(
        "identity.exists",
        &[
            &format!("{principal} is the Principal ID of identity 'airflow-mi'"),
            "AADSTS700016",
        ],
        &[&format!("use its Client ID {}", pod.client_id)],
    );
    assert!(
        r.check("exchange.token")["summary"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS700016"),
        "{}",
        r.stdout
    );
}
