//! `wid agent`: serve the pod's workload identity to its task processes through the managed
//! identity protocol, one token exchange per identity and scope (see [`crate::agent`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use wid_credential::Pipeline;

use super::up::{LogColor, LogFormat};
use super::{CliError, Context};
use crate::agent::{AgentConfig, state_file};

/// Flags of `wid agent`. The identity comes from the variables the workload identity webhook
/// injects; a flag overrides its variable.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The identity's client id (the one requests get when they name none).
    #[arg(long, env = "AZURE_CLIENT_ID")]
    client_id: Option<String>,
    /// The tenant.
    #[arg(long, env = "AZURE_TENANT_ID")]
    tenant_id: Option<String>,
    /// The projected service-account token the kubelet keeps fresh.
    #[arg(long, env = "AZURE_FEDERATED_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// The authority host (default: https://login.microsoftonline.com).
    #[arg(long, env = "AZURE_AUTHORITY_HOST")]
    authority_host: Option<String>,
    /// Another identity federated with the same service account that callers may name with
    /// `client_id` (repeatable); any other client id is refused.
    #[arg(long = "allow-client-id", value_name = "CLIENT_ID")]
    allowed_client_ids: Vec<String>,
    /// Where to listen: a loopback address (port 0 picks a free one; the state file names it).
    #[arg(long, env = "WID_AGENT_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where to write IDENTITY_ENDPOINT and IDENTITY_HEADER (mode 0600), for the worker
    /// (default: $WID_AGENT_STATE, else agent.env in the data directory).
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Log format: text, or json.
    #[arg(long, env = "WID_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// Runs the agent until SIGINT or SIGTERM.
pub async fn run(ctx: &Context, a: AgentArgs) -> Result<(), CliError> {
    let mut missing = Vec::new();
    if a.client_id.is_none() {
        missing.push("--client-id (AZURE_CLIENT_ID)");
    }
    if a.tenant_id.is_none() {
        missing.push("--tenant-id (AZURE_TENANT_ID)");
    }
    if a.token_file.is_none() {
        missing.push("--token-file (AZURE_FEDERATED_TOKEN_FILE)");
    }
    if !missing.is_empty() {
        return Err(CliError::Message(format!(
            "wid agent needs {}\nhint: the workload identity webhook injects these variables into the agent's container when the pod is labelled azure.workload.identity/use: \"true\" and the container is not in azure.workload.identity/skip-containers; locally: eval \"$(wid env --namespace NS --service-account SA --client-id ID)\"",
            missing.join(", ")
        )));
    }
    super::up::init_logging(a.log_format, LogColor::Auto);
    let http = match &ctx.ca_file {
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| CliError::Message(format!("cannot read --ca-file {path}: {e}")))?;
            crate::client::http_client(Some(&pem), path)?
        }
        None => Pipeline::default_http().map_err(|e| CliError::Message(e.to_string()))?,
    };
    let mut pipeline = Pipeline::new(http);
    pipeline.clock = ctx.clock.clone();
    let state_path = state_file::resolve(a.state_file.as_deref(), &ctx.home);
    let config = AgentConfig {
        client_id: a.client_id.unwrap_or_default(),
        allowed_client_ids: a.allowed_client_ids,
        tenant_id: a.tenant_id.unwrap_or_default(),
        token_file: a.token_file.unwrap_or_default(),
        authority: a.authority_host,
        listen: a.listen,
        state_file: Some(state_path.clone()),
    };
    let shown = config.clone();
    let running = crate::agent::start(config, pipeline)
        .await
        .map_err(|e| CliError::Message(e.to_string()))?;
    let mut identities = shown.client_id.clone();
    for c in &shown.allowed_client_ids {
        identities.push_str(", ");
        identities.push_str(c);
    }
    eprintln!(
        "wid agent listens on {} (loopback only)\n\n  identity     {identities} (tenant {})\n  token file   {}\n  authority    {}\n  state file   {} (IDENTITY_ENDPOINT, IDENTITY_HEADER; mode 0600)\n\nIn the worker container: eval \"$(wid env --agent --agent-state {})\"  (or: . {})\nnothing else: no AZURE_FEDERATED_TOKEN_FILE there, so DefaultAzureCredential reaches this agent through ManagedIdentityCredential.\nStop with Ctrl-C or SIGTERM.",
        running.env.endpoint,
        shown.tenant_id,
        shown.token_file.display(),
        shown
            .authority
            .as_deref()
            .unwrap_or("https://login.microsoftonline.com"),
        state_path.display(),
        state_path.display(),
        state_path.display(),
    );
    super::up::shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}
