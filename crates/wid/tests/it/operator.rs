//! The operator's seat: wid's own ARM calls on a cloud other than `local` sign in as operators
//! already are, through the chain environment service principal, workload identity, managed
//! identity, then the Azure CLI's sign-in (`--credential` picks one). The "real cloud" is wid
//! itself, registered in the real Azure CLI (`az cloud register`) and named with `--cloud`;
//! the CLI signs in as a deployer identity with a federated token, as a pipeline does.
//!
//! Everything stays on loopback: IMDS is a closed loopback port (`.cargo/config.toml`), and
//! where `--cloud AzureCloud` is named, no link of the chain has anything that would leave.

use std::path::{Path, PathBuf};
use std::process::Output;

use reqwest::Method;
use serde_json::{Value, json};

use crate::az::{Az, az_bin, federated_operator};
use crate::common::*;

const WID: &str = env!("CARGO_BIN_EXE_wid");

/// Runs `wid` as an operator would: the CLI's settings from `az`, wid's CA trusted through
/// `SSL_CERT_FILE`, the local server (for the deployments API) through `WID_HOME` and
/// `WID_ENDPOINT`, and `PATH` holding `az` only when `az_dir` is given.
struct Operator<'a> {
    c: &'a TestCloud,
    az: Option<&'a Az>,
    /// A directory with an `az` that logs each call and runs the real CLI.
    az_dir: Option<PathBuf>,
    env: Vec<(String, String)>,
}

impl<'a> Operator<'a> {
    fn new(c: &'a TestCloud, az: Option<&'a Az>, az_dir: Option<&Path>) -> Self {
        Operator {
            c,
            az,
            az_dir: az_dir.map(Path::to_path_buf),
            env: Vec::new(),
        }
    }

    fn with_env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    async fn run(&self, args: &[&str]) -> Output {
        // Without `az_dir`, PATH names only a directory that does not exist: no `az` is
        // found, even on a machine that has one installed.
        let path = match &self.az_dir {
            Some(d) => format!("{}:/usr/bin:/bin", d.display()),
            None => "/nonexistent/wid-test-no-az".into(),
        };
        let mut cmd = tokio::process::Command::new(WID);
        cmd.args(args)
            .env("PATH", path)
            .env("WID_HOME", self.c.home.root())
            .env("WID_ENDPOINT", &self.c.endpoint)
            .env("SSL_CERT_FILE", self.c.home.ca_cert());
        for k in [
            "WID_CLOUD",
            "WID_CREDENTIAL",
            "AZURE_CLIENT_ID",
            "AZURE_TENANT_ID",
            "AZURE_CLIENT_SECRET",
            "AZURE_CLIENT_CERTIFICATE_PATH",
            "AZURE_FEDERATED_TOKEN_FILE",
            "AZURE_AUTHORITY_HOST",
            "AZURE_SUBSCRIPTION_ID",
            "AZURE_TOKEN_CREDENTIALS",
            "IDENTITY_ENDPOINT",
            "IDENTITY_HEADER",
        ] {
            cmd.env_remove(k);
        }
        if let Some(az) = self.az {
            cmd.envs(az.env());
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd.output().await.expect("run wid")
    }

    async fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args).await;
        assert!(
            o.status.success(),
            "wid {args:?} failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    async fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args).await;
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    async fn err(&self, args: &[&str]) -> String {
        let o = self.run(args).await;
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!o.status.success(), "wid {args:?} succeeded:\n{err}");
        err
    }
}

/// A directory holding an `az` that appends its arguments to `calls` and runs the real CLI:
/// the CLI itself answers, and the test can count how often wid asked it.
fn logging_az(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("az");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            dir.join("calls").display(),
            az_bin().display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn calls(dir: &Path, needle: &str) -> usize {
    std::fs::read_to_string(dir.join("calls"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

/// The chain's report in `wid account show -o json`: (credential, outcome, reason).
fn chain(v: &Value) -> Vec<(String, String, String)> {
    v["chain"]
        .as_array()
        .unwrap_or_else(|| panic!("no chain in {v}"))
        .iter()
        .map(|l| {
            (
                l["credential"].as_str().unwrap().to_string(),
                l["outcome"].as_str().unwrap().to_string(),
                l["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn fic_subjects(v: &Value) -> Vec<String> {
    let mut s: Vec<String> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["subject"].as_str().unwrap().to_string())
        .collect();
    s.sort();
    s
}

#[tokio::test]
async fn the_azure_cli_signs_wid_in_as_the_deployer_with_its_permissions_only() {
    let c = TestCloud::start().await;
    let az = Az::new(&c.home.ca_cert()).await;
    let dir = tempfile::tempdir().unwrap();
    let az_dir = logging_az(dir.path());

    // The deployer may manage identities in rg-airflow, and nothing else. rg-data has an
    // identity too, on which it has no role.
    let (deployer, deployer_principal) = federated_operator(&c, "deployer").await;
    let rg = format!("/subscriptions/{}/resourceGroups/rg-airflow", c.sub);
    c.assign_role("Managed Identity Contributor", &deployer_principal, &rg)
        .await;
    c.create_identity("airflow-mi").await;
    let admin_token = c.admin_token().await;
    let (s, _, v) = c
        .call(
            Method::PUT,
            &format!(
                "/subscriptions/{}/resourcegroups/rg-data?api-version=2022-09-01",
                c.sub
            ),
            Some(&admin_token),
            Some(&json!({"location": "eastus"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let data_mi = format!(
        "/subscriptions/{}/resourceGroups/rg-data/providers/Microsoft.ManagedIdentity/userAssignedIdentities/data-mi",
        c.sub
    );
    let (s, v) = c
        .arm(Method::PUT, &data_mi, Some(&json!({"location": "eastus"})))
        .await;
    assert_eq!(s, 201, "{v}");

    // An Airflow 3 deployment, recorded by the local administrator.
    let admin = Operator::new(&c, None, None);
    admin
        .ok(&[
            "deployment",
            "create",
            "prod",
            "--namespace",
            "airflow-prod",
            "--airflow-version",
            "3",
        ])
        .await;

    // The operator signs the CLI in, as they already do.
    let accounts = az
        .login_to_wid(&c, &deployer, &c.sa_token("ci", "deployer"))
        .await;
    assert_eq!(accounts[0]["cloudName"], "wid", "{accounts}");
    let op = Operator::new(&c, Some(&az), Some(&az_dir));

    // --credential azure-cli: the deployment's federated credentials, as the deployer.
    let out = op
        .ok(&[
            "--cloud",
            "wid",
            "--credential",
            "azure-cli",
            "deployment",
            "assign-identity",
            "prod",
            "--identity-name",
            "airflow-mi",
            "--resource-group",
            "rg-airflow",
            "--issuer",
            &c.issuer(),
        ])
        .await;
    assert!(out.contains("Created 5 federated credential(s)"), "{out}");
    let (_, fics) = c
        .arm(
            Method::GET,
            &format!(
                "{}/federatedIdentityCredentials",
                c.identity_path("airflow-mi")
            ),
            None,
        )
        .await;
    assert_eq!(
        fic_subjects(&fics),
        [
            "system:serviceaccount:airflow-prod:airflow-api-server",
            "system:serviceaccount:airflow-prod:airflow-dag-processor",
            "system:serviceaccount:airflow-prod:airflow-scheduler",
            "system:serviceaccount:airflow-prod:airflow-triggerer",
            "system:serviceaccount:airflow-prod:airflow-worker",
        ]
    );

    // The chain, with nothing else configured, reaches the CLI: the same, for another
    // deployment.
    admin
        .ok(&[
            "deployment",
            "create",
            "stage",
            "--namespace",
            "airflow-stage",
            "--airflow-version",
            "2",
        ])
        .await;
    let out = op
        .ok(&[
            "--cloud",
            "wid",
            "deployment",
            "assign-identity",
            "stage",
            "--identity-name",
            "airflow-mi",
            "--resource-group",
            "rg-airflow",
            "--issuer",
            &c.issuer(),
        ])
        .await;
    assert!(out.contains("Created 3 federated credential(s)"), "{out}");

    // account show says who wid acts as, and how each link of the chain fared.
    let v = op
        .json(&["--cloud", "wid", "account", "show", "-o", "json"])
        .await;
    assert_eq!(v["clientId"], deployer.as_str(), "{v}");
    assert_eq!(v["principalId"], deployer_principal.as_str(), "{v}");
    assert_eq!(v["type"], "managedIdentity", "{v}");
    assert_eq!(v["cloud"], "wid", "{v}");
    assert_eq!(v["resourceManager"], c.endpoint.as_str(), "{v}");
    assert_eq!(v["tenantId"], c.tenant.as_str(), "{v}");
    assert_eq!(v["subscriptionId"], c.sub.as_str(), "{v}");
    assert_eq!(v["subscriptionFrom"], "the Azure CLI's default", "{v}");
    assert_eq!(v["credential"], "azure-cli", "{v}");
    assert_eq!(v["credentialName"], "AzureCliCredential", "{v}");
    let links = chain(&v);
    let order: Vec<(&str, &str)> = links
        .iter()
        .take(4)
        .map(|(c, o, _)| (c.as_str(), o.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("EnvironmentCredential", "skipped"),
            ("WorkloadIdentityCredential", "skipped"),
            ("ManagedIdentityCredential", "skipped"),
            ("AzureCliCredential", "used"),
        ],
        "{v}"
    );
    assert!(links[0].2.contains("AZURE_CLIENT_SECRET"), "{links:?}");
    assert!(
        links[1].2.contains("AZURE_FEDERATED_TOKEN_FILE"),
        "{links:?}"
    );
    assert!(links[2].2.contains("127.0.0.1:9"), "{links:?}");
    let table = op.ok(&["--cloud", "wid", "account", "show"]).await;
    for needle in [
        deployer.as_str(),
        c.tenant.as_str(),
        c.sub.as_str(),
        "azure-cli (AzureCliCredential)",
        "Cloud:",
    ] {
        assert!(table.contains(needle), "'{needle}' not in:\n{table}");
    }

    // A resource group the deployer has no role on: 403, with the role that would grant it.
    let err = op
        .err(&[
            "--cloud",
            "wid",
            "identity",
            "federated-credential",
            "create",
            "--name",
            "sneaky",
            "--identity-name",
            "data-mi",
            "--resource-group",
            "rg-data",
            "--issuer",
            &c.issuer(),
            "--subject",
            "system:serviceaccount:evil:sa",
        ])
        .await;
    for needle in [
        "HTTP 403 AuthorizationFailed",
        deployer_principal.as_str(),
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
        "the least built-in one is Managed Identity Contributor",
        &format!(
            "wid role assignment create --assignee {deployer_principal} --role 'Managed Identity Contributor' --scope /subscriptions/{}/resourceGroups/rg-data",
            c.sub
        ),
    ] {
        assert!(err.contains(needle), "'{needle}' not in:\n{err}");
    }
    let (_, none) = c
        .arm(
            Method::GET,
            &format!("{data_mi}/federatedIdentityCredentials"),
            None,
        )
        .await;
    assert_eq!(none["value"], json!([]), "nothing was written: {none}");

    // A CLI signed in to another cloud than --cloud is refused before any token is asked.
    az.register(&c, "wid2").await;
    let before = calls(dir.path(), "get-access-token");
    for cloud in ["wid2", "AzureCloud"] {
        let err = op.err(&["--cloud", cloud, "account", "show"]).await;
        assert!(
            err.contains(&format!(
                "the Azure CLI is signed in to cloud 'wid' (as {deployer}), not to '{cloud}': wid asked it for no token"
            )) && err.contains(&format!("az cloud set --name {cloud} && az login")),
            "{err}"
        );
    }
    assert_eq!(
        calls(dir.path(), "get-access-token"),
        before,
        "no token was asked of the CLI for another cloud"
    );

    // ARM refuses one token as expired: wid asks the CLI again, once, and goes on.
    c.state().faults.add(wid_cloud::faults::Fault {
        target: "arm".into(),
        status: 401,
        retry_after: None,
        count: 1,
    });
    let before = calls(dir.path(), "get-access-token");
    let listed = op
        .json(&[
            "--cloud",
            "wid",
            "--credential",
            "azure-cli",
            "identity",
            "federated-credential",
            "list",
            "--identity-name",
            "airflow-mi",
            "--resource-group",
            "rg-airflow",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(listed.as_array().map(Vec::len), Some(8), "{listed}");
    assert_eq!(
        calls(dir.path(), "get-access-token") - before,
        2,
        "the CLI was asked once more after ARM's 401"
    );

    // A token that ARM finds expired (its clock is a day on; the CLI's cache does not
    // know): the CLI is asked again, once, and then the error says what to check.
    c.clock.advance(25 * 3600);
    let before = calls(dir.path(), "get-access-token");
    let err = op
        .err(&[
            "--cloud",
            "wid",
            "identity",
            "federated-credential",
            "list",
            "--identity-name",
            "airflow-mi",
            "--resource-group",
            "rg-airflow",
        ])
        .await;
    assert!(
        err.contains("ExpiredAuthenticationToken")
            && err.contains("asked again once")
            && err.contains("check this machine's clock"),
        "{err}"
    );
    assert_eq!(
        calls(dir.path(), "get-access-token") - before,
        2,
        "the CLI was asked twice: once, then once again"
    );
}

#[tokio::test]
async fn a_pipelines_federated_token_is_the_operators_credential() {
    let c = TestCloud::start().await;
    let az = Az::new(&c.home.ca_cert()).await;
    az.register(&c, "wid").await;
    let (deployer, deployer_principal) = federated_operator(&c, "deployer").await;
    let rg = format!("/subscriptions/{}/resourceGroups/rg-airflow", c.sub);
    c.assign_role("Managed Identity Contributor", &deployer_principal, &rg)
        .await;
    c.federated_identity("airflow-mi", "airflow", "airflow-worker")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("azure-identity-token");
    std::fs::write(&token_file, c.sa_token("ci", "deployer")).unwrap();
    let token_file = token_file.display().to_string();
    let admin = c.admin_token().await;
    let (_, _, sub) = c
        .call(
            Method::GET,
            &format!("/subscriptions/{}?api-version=2022-12-01", c.sub),
            Some(&admin),
            None,
        )
        .await;
    let sub_name = sub["displayName"].as_str().unwrap().to_string();

    // What a pipeline's federated sign-in sets, and no CLI on PATH.
    let op = Operator::new(&c, Some(&az), None)
        .with_env("AZURE_CLIENT_ID", &deployer)
        .with_env("AZURE_TENANT_ID", &c.tenant)
        .with_env("AZURE_FEDERATED_TOKEN_FILE", &token_file);
    // `--cloud wid` is read from the CLI's clouds: give this run the CLI, signed in to nothing.
    let op = Operator {
        az_dir: Some(az_bin().parent().unwrap().to_path_buf()),
        ..op
    };
    let listed = op
        .json(&[
            "--cloud",
            "wid",
            "identity",
            "federated-credential",
            "list",
            "--identity-name",
            "airflow-mi",
            "--resource-group",
            "rg-airflow",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(
        listed[0]["subject"], "system:serviceaccount:airflow:airflow-worker",
        "{listed}"
    );

    let v = op
        .json(&[
            "--cloud",
            "wid",
            "--subscription",
            &sub_name,
            "account",
            "show",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(v["clientId"], deployer.as_str(), "{v}");
    assert_eq!(v["credential"], "workload-identity", "{v}");
    assert_eq!(v["subscriptionId"], c.sub.as_str(), "{v}");
    assert_eq!(
        v["subscriptionFrom"],
        format!("--subscription '{sub_name}'"),
        "{v}"
    );
    let links = chain(&v);
    let order: Vec<(&str, &str)> = links
        .iter()
        .take(4)
        .map(|(c, o, _)| (c.as_str(), o.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("EnvironmentCredential", "skipped"),
            ("WorkloadIdentityCredential", "used"),
            ("ManagedIdentityCredential", "not tried"),
            ("AzureCliCredential", "not tried"),
        ],
        "{v}"
    );
    // Without --subscription, the one subscription the identity sees.
    let v = op
        .json(&["--cloud", "wid", "account", "show", "-o", "json"])
        .await;
    assert_eq!(v["subscriptionId"], c.sub.as_str(), "{v}");
    assert_eq!(v["subscriptionFrom"], "the only one this identity sees");

    // --credential azure-cli: the others are excluded, and the CLI is not signed in.
    let err = op
        .err(&[
            "--cloud",
            "wid",
            "--credential",
            "azure-cli",
            "account",
            "show",
        ])
        .await;
    for needle in [
        "WorkloadIdentityCredential: skipped (excluded by --credential azure-cli)",
        "EnvironmentCredential: skipped (excluded by --credential azure-cli)",
        "AzureCliCredential: skipped (the Azure CLI is not signed in",
        "run `az login`",
    ] {
        assert!(err.contains(needle), "'{needle}' not in:\n{err}");
    }

    // A configured service principal comes first, and its failure stops the chain there:
    // workload identity is not tried behind it.
    let op = op.with_env("AZURE_CLIENT_SECRET", "not-the-secret");
    let err = op.err(&["--cloud", "wid", "account", "show"]).await;
    assert!(
        err.contains("EnvironmentCredential (")
            && err.contains("failed; the chain stops there")
            && !err.contains("WorkloadIdentityCredential"),
        "{err}"
    );
}

#[tokio::test]
async fn with_nothing_to_sign_in_with_the_chain_names_each_link_and_why() {
    let c = TestCloud::start().await;
    // No CLI on PATH, no variables: every link is skipped, each with its reason, in order.
    let op = Operator::new(&c, None, None);
    let err = op.err(&["--cloud", "AzureCloud", "account", "show"]).await;
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("  ")).collect();
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l.trim().split(':').next().unwrap())
        .take(4)
        .collect();
    assert_eq!(
        names,
        [
            "EnvironmentCredential",
            "WorkloadIdentityCredential",
            "ManagedIdentityCredential",
            "AzureCliCredential"
        ],
        "{err}"
    );
    for needle in [
        "EnvironmentCredential: skipped (AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) are not all set)",
        "WorkloadIdentityCredential: skipped (missing client_id (AZURE_CLIENT_ID)",
        "ManagedIdentityCredential: skipped (",
        "AzureCliCredential: skipped (the Azure CLI (az) is not installed or not on PATH",
        "hint: sign in as operators do: `az login`",
    ] {
        assert!(err.contains(needle), "'{needle}' not in:\n{err}");
    }

    // The CLI picked, and missing.
    let err = op
        .err(&[
            "--cloud",
            "AzureCloud",
            "--credential",
            "azure-cli",
            "account",
            "show",
        ])
        .await;
    assert!(
        err.contains(
            "AzureCliCredential: skipped (the Azure CLI (az) is not installed or not on PATH"
        ) && err
            .contains("ManagedIdentityCredential: skipped (excluded by --credential azure-cli)"),
        "{err}"
    );

    // A cloud that is neither built in nor registered, with no CLI to ask.
    let err = op.err(&["--cloud", "wid", "account", "show"]).await;
    assert!(
        err.contains("unknown cloud 'wid'") && err.contains("not installed or not on PATH"),
        "{err}"
    );

    // Locally, wid is the administrator: --credential is refused with the way to do it.
    let err = op
        .err(&["--credential", "azure-cli", "group", "list"])
        .await;
    assert!(
        err.contains("az cloud register -n wid --endpoint-resource-manager"),
        "{err}"
    );
}

/// A service principal with a certificate, registered on the stand-in by the local
/// administrator with `wid ad sp create`: (client id, principal id, the PEM file with its
/// certificate and private key).
async fn certificate_principal(c: &TestCloud, dir: &Path, name: &str) -> (String, String, PathBuf) {
    let key = wid_jose::SigningKey::generate().unwrap();
    let (pem, _) = certificate_pem(&key, name);
    let path = dir.join(format!("{name}.pem"));
    std::fs::write(&path, pem).unwrap();
    let v = Operator::new(c, None, None)
        .json(&[
            "ad",
            "sp",
            "create",
            "--name",
            name,
            "--cert-file",
            &path.display().to_string(),
            "-o",
            "json",
        ])
        .await;
    assert_eq!(v["displayName"], name, "{v}");
    assert_eq!(v["tenant"], c.tenant.as_str(), "{v}");
    assert!(
        !v.to_string().contains("PRIVATE"),
        "no key material in the answer: {v}"
    );
    (
        v["appId"].as_str().unwrap().to_string(),
        v["id"].as_str().unwrap().to_string(),
        path,
    )
}

/// A self-signed certificate for `key`, with the key, as one PEM; and the certificate's DER.
fn certificate_pem(key: &wid_jose::SigningKey, name: &str) -> (String, Vec<u8>) {
    let pair = rcgen::KeyPair::from_pem(key.private_pem().expose_str()).unwrap();
    let cert = rcgen::CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .self_signed(&pair)
        .unwrap();
    (
        format!("{}{}", cert.pem(), key.private_pem().expose_str()),
        cert.der().to_vec(),
    )
}

#[tokio::test]
async fn a_certificate_service_principal_is_the_operators_credential() {
    let c = TestCloud::start().await;
    let az = Az::new(&c.home.ca_cert()).await;
    az.register(&c, "wid").await;
    let dir = tempfile::tempdir().unwrap();
    let (client_id, principal_id, pem) = certificate_principal(&c, dir.path(), "deployer-sp").await;
    let rg = format!("/subscriptions/{}/resourceGroups/rg-airflow", c.sub);
    c.assign_role("Managed Identity Contributor", &principal_id, &rg)
        .await;
    c.create_identity("airflow-mi").await;

    let op = Operator {
        az_dir: Some(az_bin().parent().unwrap().to_path_buf()),
        ..Operator::new(&c, Some(&az), None)
    }
    .with_env("AZURE_TENANT_ID", &c.tenant)
    .with_env("AZURE_CLIENT_ID", &client_id)
    .with_env("AZURE_CLIENT_CERTIFICATE_PATH", &pem.display().to_string());
    let created = op
        .json(&[
            "--cloud",
            "wid",
            "identity",
            "federated-credential",
            "create",
            "--name",
            "airflow-worker",
            "--identity-name",
            "airflow-mi",
            "--resource-group",
            "rg-airflow",
            "--issuer",
            &c.issuer(),
            "--subject",
            "system:serviceaccount:airflow:airflow-worker",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(created["name"], "airflow-worker", "{created}");
    let v = op
        .json(&[
            "--cloud",
            "wid",
            "--credential",
            "env",
            "account",
            "show",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(v["clientId"], client_id.as_str(), "{v}");
    assert_eq!(v["principalId"], principal_id.as_str(), "{v}");
    assert_eq!(v["type"], "servicePrincipal", "{v}");
    assert_eq!(v["credential"], "env", "{v}");
    assert_eq!(v["credentialName"], "EnvironmentCredential", "{v}");

    // An application is not the administrator: its token gets no administration of wid.
    let cert = wid_credential::ClientCertificateCredential::from_pem_file(
        &c.endpoint,
        &c.tenant,
        &client_id,
        &pem,
        wid_credential::Pipeline::new(c.http.clone()),
    )
    .unwrap();
    let token = cert
        .get_token_with(&[SCOPE_ARM], &Default::default())
        .await
        .unwrap();
    let (s, _, v) = c
        .call(
            Method::POST,
            "/_wid/faults",
            Some(token.token.expose_str()),
            Some(&json!({"target": "token", "status": 503, "count": 1})),
        )
        .await;
    assert_eq!(s, 403, "{v}");

    // A certificate the application does not have: Entra's AADSTS700027, and the chain stops.
    let stranger = wid_jose::SigningKey::generate().unwrap();
    let (other_pem, other_der) = certificate_pem(&stranger, "stranger");
    let other = dir.path().join("stranger.pem");
    std::fs::write(&other, other_pem).unwrap();
    let op = op.with_env(
        "AZURE_CLIENT_CERTIFICATE_PATH",
        &other.display().to_string(),
    );
    let err = op.err(&["--cloud", "wid", "account", "show"]).await;
    let hex: String = wid_jose::b64url_decode(&wid_jose::x5t(&other_der))
        .unwrap()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<String>();
    for needle in [
        "EnvironmentCredential (",
        "failed; the chain stops there",
        "AADSTS700027: Client assertion contains an invalid signature. [Reason - The key was not found.",
        hex.as_str(),
        client_id.as_str(),
    ] {
        assert!(err.contains(needle), "'{needle}' not in:\n{err}");
    }
    assert!(!err.contains("PRIVATE KEY"), "{err}");
}
