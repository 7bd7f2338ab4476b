//! `wid env`: the environment that points Azure SDKs at the local stand-in, as shell
//! `export` lines (`eval "$(wid env)"`); with `--cloud AzureCloud|AzureUSGovernment|
//! AzureChinaCloud`, what the workload identity webhook injects on that cloud, with nothing
//! local (no data directory needed). With `--agent`, what a worker container sets to reach
//! `wid agent`.

mod sdk;

use std::path::{Path, PathBuf};

use clap::Args;
use wid_model::CloudProfile;

use super::{CliError, Context};
use crate::home::write_atomic;
use sdk::Sdk;

/// Where the workload identity webhook mounts the projected token in a pod.
pub const WEBHOOK_TOKEN_FILE: &str = "/var/run/secrets/azure/tokens/azure-identity-token";

/// Flags of `wid env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The pod environment of a component of this deployment (with --component): the
    /// identity assigned to it, a fresh token file for the component's service account,
    /// WID_DEPLOYMENT (for the secrets backend wid_airflow) and its linked connections as
    /// AIRFLOW_CONN_* variables.
    #[arg(long, requires = "component", conflicts_with_all = ["namespace", "client_id"])]
    deployment: Option<String>,
    /// The component (scheduler, worker, api-server, ...), with --deployment.
    #[arg(long, requires = "deployment")]
    component: Option<String>,
    /// Mint a projected token for this namespace's service account into a token file, as
    /// the kubelet does, and print AZURE_FEDERATED_TOKEN_FILE.
    #[arg(long, requires = "service_account")]
    namespace: Option<String>,
    /// The service account (with --namespace).
    #[arg(long, requires = "namespace")]
    service_account: Option<String>,
    /// Also print AZURE_CLIENT_ID (a managed identity's client id).
    #[arg(long)]
    client_id: Option<String>,
    /// Also print AZURE_TENANT_ID (default: the local default tenant, when --client-id is set).
    #[arg(long)]
    tenant_id: Option<String>,
    /// Also print AZURE_FEDERATED_TOKEN_FILE.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Also print AZURE_POD_IDENTITY_AUTHORITY_HOST, which points ManagedIdentityCredential
    /// (IMDS) at wid's stand-in (local cloud only).
    #[arg(long)]
    imds: bool,
    /// Also print what this SDK needs to use wid: its CA, instance discovery off (as
    /// variables, and code to change as comments).
    #[arg(long, value_enum)]
    sdk: Option<Sdk>,
    /// What a worker container sets to reach `wid agent` (IDENTITY_ENDPOINT and
    /// IDENTITY_HEADER, read from the agent's state file) and nothing else: no token file, so
    /// DefaultAzureCredential reaches the agent through its managed identity link.
    #[arg(long, conflicts_with_all = ["deployment", "namespace", "client_id", "tenant_id", "token_file", "imds", "sdk"])]
    agent: bool,
    /// The agent's state file (default: $WID_AGENT_STATE, else agent.env in the data
    /// directory), with --agent.
    #[arg(long, requires = "agent")]
    agent_state: Option<PathBuf>,
}

/// The variables to export, and comment lines to print after them.
#[derive(Debug, Default)]
struct EnvOutput {
    vars: Vec<(String, String)>,
    notes: Vec<String>,
}

impl EnvOutput {
    fn var(&mut self, k: &str, v: impl Into<String>) {
        self.vars.push((k.to_string(), v.into()));
    }

    fn extend(&mut self, setup: sdk::SdkSetup) {
        self.vars.extend(setup.vars);
        self.notes
            .extend(setup.notes.into_iter().map(|n| format!("# {n}")));
    }
}

/// A real cloud: what the webhook injects there, from flags alone.
fn cloud_env(cloud: &CloudProfile, a: &EnvArgs) -> Result<EnvOutput, CliError> {
    let name = cloud.name;
    if a.deployment.is_some() {
        return Err(CliError::Message(format!(
            "--deployment reads a deployment from the local wid server; with --cloud {name} give --client-id, --tenant-id and --namespace/--service-account instead"
        )));
    }
    if a.imds {
        return Err(CliError::Message(format!(
            "--imds points SDKs at wid's stand-in IMDS; on {name} a host with a managed identity serves IMDS itself at 169.254.169.254, so there is nothing to set (drop --imds, or use --cloud local)"
        )));
    }
    let mut out = EnvOutput::default();
    // The webhook injects the authority host with its trailing slash.
    out.var("AZURE_AUTHORITY_HOST", format!("{}/", cloud.authority_host));
    match (&a.client_id, &a.tenant_id) {
        (Some(_), None) => {
            return Err(CliError::Message(format!(
                "--client-id needs --tenant-id with --cloud {name}: give the managed identity's Tenant ID (`wid identity show --cloud {name}` or `az identity show` print it)"
            )));
        }
        (Some(c), Some(t)) => {
            out.var("AZURE_CLIENT_ID", c.clone());
            out.var("AZURE_TENANT_ID", t.clone());
        }
        (None, Some(t)) => out.var("AZURE_TENANT_ID", t.clone()),
        (None, None) => {}
    }
    let webhook = a.client_id.is_some() || a.namespace.is_some();
    match &a.token_file {
        Some(f) => out.var("AZURE_FEDERATED_TOKEN_FILE", f.display().to_string()),
        None if webhook => out.var("AZURE_FEDERATED_TOKEN_FILE", WEBHOOK_TOKEN_FILE),
        None => {}
    }
    if let (Some(ns), Some(sa)) = (&a.namespace, &a.service_account) {
        out.notes.push(format!(
            "# in the pod, the kubelet writes a token for system:serviceaccount:{ns}:{sa} to AZURE_FEDERATED_TOKEN_FILE; the identity's federated credential needs --issuer <the cluster's OIDC issuer URL> --subject system:serviceaccount:{ns}:{sa} --audience {}",
            cloud.token_exchange_audience
        ));
    }
    if let Some(s) = a.sdk {
        out.extend(sdk::cloud(s, name));
    }
    Ok(out)
}

const SYSTEM_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// Writes `$WID_HOME/ca-bundle.pem`: the system roots plus wid's CA, so that pointing
/// SSL_CERT_FILE / REQUESTS_CA_BUNDLE at it keeps every other HTTPS site working.
pub fn ca_bundle(ctx: &Context) -> Result<PathBuf, CliError> {
    let ca = ctx
        .home
        .read(&ctx.home.ca_cert())
        .map_err(crate::client::ClientError::from)?;
    let mut bundle = SYSTEM_BUNDLES
        .iter()
        .find_map(|p| std::fs::read(Path::new(p)).ok())
        .unwrap_or_default();
    if !bundle.ends_with(b"\n") && !bundle.is_empty() {
        bundle.push(b'\n');
    }
    bundle.extend_from_slice(b"# wid local CA\n");
    bundle.extend_from_slice(&ca);
    let path = ctx.home.root().join("ca-bundle.pem");
    write_atomic(&path, &bundle, false)
        .map_err(|e| CliError::Message(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

fn shell_quote(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/:._-".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `--agent`: the two variables of the agent's state file, on any cloud.
fn agent_env(ctx: &Context, a: &EnvArgs) -> Result<EnvOutput, CliError> {
    let path = crate::agent::state_file::resolve(a.agent_state.as_deref(), &ctx.home);
    let env = crate::agent::AgentEnv::read(&path).map_err(|e| CliError::Message(e.to_string()))?;
    let mut out = EnvOutput::default();
    out.var("IDENTITY_ENDPOINT", env.endpoint);
    out.var("IDENTITY_HEADER", env.header.expose_str());
    out.notes.push(format!(
        "# from {}; set no AZURE_FEDERATED_TOKEN_FILE in this container (the webhook's azure.workload.identity/skip-containers keeps it out): with it, DefaultAzureCredential exchanges the token itself instead of asking the agent",
        path.display()
    ));
    Ok(out)
}

/// Runs `wid env`.
pub async fn run(ctx: &Context, a: EnvArgs) -> Result<(), CliError> {
    let out = if a.agent {
        agent_env(ctx, &a)?
    } else if ctx.cloud.name == "local" {
        local_env(ctx, a).await?
    } else {
        cloud_env(ctx.cloud, &a)?
    };
    match ctx.output {
        crate::output::Format::Json => {
            let m: serde_json::Map<String, serde_json::Value> =
                out.vars.into_iter().map(|(k, v)| (k, v.into())).collect();
            println!("{}", serde_json::to_string_pretty(&m).unwrap_or_default());
        }
        crate::output::Format::Table => {
            for (k, v) in out.vars {
                println!("export {k}={}", shell_quote(&v));
            }
            for n in out.notes {
                println!("{n}");
            }
        }
    }
    Ok(())
}

/// The local stand-in: its authority, CA bundle and endpoint, and what the flags add.
async fn local_env(ctx: &Context, a: EnvArgs) -> Result<EnvOutput, CliError> {
    let mut a = a;
    let mut conn_vars: Vec<(String, String)> = Vec::new();
    if let (Some(dep), Some(component)) = (a.deployment.clone(), a.component.clone()) {
        let (s, v) = super::connections::api_call(
            ctx,
            reqwest::Method::GET,
            &format!("/api/v2/deployments/{dep}"),
            None,
        )
        .await?;
        if s != 200 {
            return Err(CliError::Message(format!(
                "deployment {dep}: {}",
                v["detail"]
            )));
        }
        let comp = v["components"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == component.as_str()).cloned())
            .ok_or_else(|| CliError::Message(format!("deployment {dep} has no component '{component}' (see `wid deployment show {dep}`)")))?;
        let identity_id = v["assignment"]["identity_id"].as_str().ok_or_else(|| {
            CliError::Message(format!("deployment {dep} has no identity: run `wid deployment assign-identity {dep} --identity-name <name> --resource-group <rg>`"))
        })?;
        let client = ctx.client().await?;
        let (_, ident) = client
            .arm(
                reqwest::Method::GET,
                identity_id,
                super::identity::API_VERSION,
                None,
            )
            .await?;
        a.client_id = ident["properties"]["clientId"].as_str().map(String::from);
        a.tenant_id = ident["properties"]["tenantId"].as_str().map(String::from);
        a.namespace = v["deployment"]["namespace"].as_str().map(String::from);
        a.service_account = comp["service_account"].as_str().map(String::from);
        // The deployment wid's Airflow secrets backend (wid_airflow) serves, when its
        // backend_kwargs do not name one.
        conn_vars.push(("WID_DEPLOYMENT".into(), dep.clone()));
        // With their secrets: the pod's Airflow needs the real passwords.
        for conn in super::connections::with_secrets(ctx, Some(&dep)).await? {
            let id = conn.conn_id.clone().unwrap_or_default();
            let value = conn
                .to_uri()
                .map_err(|e| CliError::Message(e.to_string()))?;
            conn_vars.push((
                wid_model::connection::env::env_var_name_unchecked(&id),
                value,
            ));
        }
    }
    let bundle = ca_bundle(ctx)?;
    let bundle = bundle.display().to_string();
    let mut vars: Vec<(&str, String)> = vec![
        ("AZURE_AUTHORITY_HOST", ctx.endpoint()),
        ("SSL_CERT_FILE", bundle.clone()),
        ("REQUESTS_CA_BUNDLE", bundle),
        ("WID_ENDPOINT", ctx.endpoint()),
    ];
    if let Some(c) = &a.client_id {
        vars.push(("AZURE_CLIENT_ID", c.clone()));
        let tenant = match &a.tenant_id {
            Some(t) => t.clone(),
            None => {
                ctx.home
                    .admin()
                    .map_err(crate::client::ClientError::from)?
                    .tenant_id
            }
        };
        vars.push(("AZURE_TENANT_ID", tenant));
    } else if let Some(t) = &a.tenant_id {
        vars.push(("AZURE_TENANT_ID", t.clone()));
    }
    let mut notes = Vec::new();
    if let (Some(ns), Some(sa)) = (&a.namespace, &a.service_account) {
        let file = a.token_file.clone().unwrap_or_else(|| {
            ctx.home
                .root()
                .join("tokens")
                .join(ns)
                .join(sa)
                .join("azure-identity-token")
        });
        let exp = super::issuer::write_token_file(ctx, ns, sa, &file).await?;
        notes.push(format!(
            "# {} holds a token for system:serviceaccount:{ns}:{sa} until {exp}; keep it fresh as the kubelet does:\n#   wid issuer token --namespace {ns} --service-account {sa} --write {} &",
            file.display(),
            file.display()
        ));
        vars.push(("AZURE_FEDERATED_TOKEN_FILE", file.display().to_string()));
    } else if let Some(f) = &a.token_file {
        vars.push(("AZURE_FEDERATED_TOKEN_FILE", f.display().to_string()));
    }
    if a.imds {
        vars.push(("AZURE_POD_IDENTITY_AUTHORITY_HOST", ctx.endpoint()));
    }
    let mut out = EnvOutput {
        vars: vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        notes,
    };
    out.vars.extend(conn_vars);
    if let Some(s) = a.sdk {
        out.extend(sdk::local(s, &ctx.home.ca_cert(), ctx.home.root()));
    }
    Ok(out)
}
