//! The command line: `wid up`, `wid agent`, `wid identity ...`, `wid group ...`, `wid issuer ...`,
//! `wid env`, `wid doctor`, `wid account`. Flag names follow `az` for cloud resources.

mod account;
mod ad;
mod ad_sp;
mod agent;
mod connections;
mod deployment;
mod doctor;
mod env;
mod group;
mod identity;
mod issuer;
mod role;
mod token;
mod up;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use wid_model::{Clock, CloudProfile, SystemClock};

use crate::client::{ClientError, CredentialKind, WidClient, local_endpoint};
use crate::home::Home;
use crate::output::Format;

/// wid: a Microsoft Entra workload identity for Airflow, and a local stand-in for Entra ID,
/// Azure Resource Manager and a Kubernetes service-account issuer.
#[derive(Debug, Parser)]
#[command(name = "wid", version, about, long_about = None)]
pub struct Cli {
    /// The wid server (local cloud only).
    #[arg(long, global = true, env = "WID_ENDPOINT")]
    pub endpoint: Option<String>,
    /// A CA certificate to trust for the local cloud (default: $WID_HOME/ca.pem).
    #[arg(long, global = true, env = "WID_CA_FILE")]
    pub ca_file: Option<String>,
    /// The cloud: local (the stand-in), AzureCloud, AzureUSGovernment, AzureChinaCloud, or
    /// any cloud registered in the Azure CLI (`az cloud register`), whose endpoints
    /// `az cloud show` gives.
    #[arg(long, global = true, env = "WID_CLOUD", default_value = "local")]
    pub cloud: String,
    /// The subscription, an id or a name (default: the local default; for other clouds
    /// AZURE_SUBSCRIPTION_ID, else the Azure CLI's default when it signs wid in).
    #[arg(long, global = true)]
    pub subscription: Option<String>,
    /// The one credential to sign in with on a cloud other than local (default: the first
    /// that has an identity, in this order: env, workload-identity, managed-identity,
    /// azure-cli).
    #[arg(long, global = true, env = "WID_CREDENTIAL", value_enum)]
    pub credential: Option<CredentialKind>,
    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the stand-in cloud (HTTPS) on its embedded SQLite database.
    Up(up::UpArgs),
    /// Serve this pod's workload identity to its task processes (the managed identity
    /// protocol on loopback): one token exchange per identity and scope, however many
    /// processes ask.
    Agent(agent::AgentArgs),
    /// Manage user-assigned managed identities and their federated credentials.
    #[command(subcommand)]
    Identity(identity::IdentityCommand),
    /// Manage resource groups.
    #[command(subcommand)]
    Group(group::GroupCommand),
    /// The Kubernetes service-account issuer: its URL, projected tokens, key rotation.
    #[command(subcommand)]
    Issuer(issuer::IssuerCommand),
    /// Print the environment that points Azure SDKs at the local stand-in (and, with
    /// --namespace/--service-account/--client-id, what the workload identity webhook injects).
    Env(env::EnvArgs),
    /// Airflow deployments and the identity assigned to them.
    #[command(subcommand)]
    Deployment(deployment::DeploymentCommand),
    /// Role-based access in the stand-in ARM, as `az role`.
    #[command(subcommand)]
    Role(role::RoleCommand),
    /// Manage Airflow connections, as `airflow connections`.
    #[command(subcommand)]
    Connections(connections::ConnectionsCommand),
    /// Get an access token through the Azure credential chain (workload identity first).
    Token(token::TokenArgs),
    /// Diagnose a workload identity connection: name the first cause and its fix.
    Doctor(doctor::DoctorArgs),
    /// Who wid acts as on the cloud, as `az account`.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Applications in the directory (Microsoft Graph), as `az ad`: register your own API as
    /// a resource principal; service principals with a certificate.
    #[command(subcommand)]
    Ad(ad::AdCommand),
}

/// A CLI failure: printed to stderr, exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// From the client.
    #[error(transparent)]
    Client(Box<ClientError>),
    /// From the server start.
    #[error(transparent)]
    Server(Box<crate::server::ServerError>),
    /// Anything else, already explained.
    #[error("{0}")]
    Message(String),
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        CliError::Client(Box::new(e))
    }
}

impl From<crate::server::ServerError> for CliError {
    fn from(e: crate::server::ServerError) -> Self {
        CliError::Server(Box::new(e))
    }
}

/// Global settings every command reads.
#[derive(Debug, Clone)]
pub struct Context {
    /// The data directory.
    pub home: Home,
    /// The cloud profile.
    pub cloud: &'static CloudProfile,
    /// `--endpoint`.
    pub endpoint: Option<String>,
    /// `--ca-file`.
    pub ca_file: Option<String>,
    /// `--subscription`.
    pub subscription: Option<String>,
    /// `--credential`.
    pub credential: Option<CredentialKind>,
    /// `--output`.
    pub output: Format,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

impl Context {
    /// The local endpoint.
    pub fn endpoint(&self) -> String {
        local_endpoint(&self.home, self.endpoint.as_deref())
    }

    /// An authenticated client for the chosen cloud: the local administrator, or the
    /// operator's credential chain (which signs in here, to learn the subscription).
    pub async fn client(&self) -> Result<WidClient, ClientError> {
        if self.cloud.name == "local" {
            if let Some(k) = self.credential {
                return Err(ClientError::Config(format!(
                    "--credential {} is for clouds other than local: locally wid acts as the administrator in $WID_HOME/admin.json\nhint: to act as another identity against `wid up`, register it in the Azure CLI and name it: az cloud register -n wid --endpoint-resource-manager {}; then wid --cloud wid --credential {} ...",
                    k.flag(),
                    self.endpoint(),
                    k.flag()
                )));
            }
            Ok(WidClient::local(
                &self.home,
                &self.endpoint(),
                self.ca_file.as_deref(),
                self.clock.clone(),
            )?
            .with_subscription(self.subscription.as_deref()))
        } else {
            WidClient::cloud(
                self.cloud,
                self.subscription.as_deref(),
                self.credential,
                self.clock.clone(),
            )
            .await
        }
    }
}

/// The profile of a built-in cloud, else of a cloud registered in the Azure CLI.
async fn resolve_cloud(name: &str) -> Result<&'static CloudProfile, String> {
    if let Some(c) = CloudProfile::by_name(name) {
        return Ok(c);
    }
    let cli = wid_credential::AzureCliCredential::new(None, Arc::new(SystemClock));
    match cli.cloud_show(name).await {
        Ok(c) => Ok(crate::cloud::registered(c)),
        Err(wid_credential::CredentialError::Unavailable { reason, .. }) => Err(format!(
            "unknown cloud '{name}': it is not built in ({}), and the Azure CLI, where it could be registered, is not available: {reason}",
            CloudProfile::names().join(", ")
        )),
        Err(e) => Err(format!(
            "unknown cloud '{name}': it is not built in ({}): {e}",
            CloudProfile::names().join(", ")
        )),
    }
}

/// Runs the command line and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cloud = match runtime.block_on(resolve_cloud(&cli.cloud)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let ctx = Context {
        home: Home::from_env(),
        cloud,
        endpoint: cli.endpoint.clone(),
        ca_file: cli.ca_file.clone(),
        subscription: cli.subscription.clone(),
        credential: cli.credential,
        output: cli.output,
        clock: Arc::new(SystemClock),
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Up(a) => up::run(&ctx, a).await,
            Command::Agent(a) => agent::run(&ctx, a).await,
            Command::Identity(c) => identity::run(&ctx, c).await,
            Command::Group(c) => group::run(&ctx, c).await,
            Command::Issuer(c) => issuer::run(&ctx, c).await,
            Command::Env(a) => env::run(&ctx, a).await,
            Command::Token(a) => token::run(&ctx, a).await,
            Command::Connections(c) => connections::run(&ctx, c).await,
            Command::Role(c) => role::run(&ctx, c).await,
            Command::Deployment(c) => deployment::run(&ctx, c).await,
            Command::Doctor(a) => doctor::run(&ctx, a).await,
            Command::Account(c) => account::run(&ctx, c).await,
            Command::Ad(c) => ad::run(&ctx, c).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;

    #[test]
    fn parsed_arguments_never_show_a_secret_in_debug() {
        let cli = Cli::try_parse_from([
            "wid",
            "connections",
            "add",
            "pg",
            "--conn-type",
            "postgres",
            "--conn-password",
            "hunter2",
            "--conn-extra",
            r#"{"sas_token": "s3cr3t"}"#,
        ])
        .unwrap();
        let shown = format!("{cli:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cr3t"),
            "{shown}"
        );
        assert!(shown.contains("conn_password: Some([redacted])"), "{shown}");
        let cli = Cli::try_parse_from([
            "wid",
            "connections",
            "add",
            "pg",
            "--conn-uri",
            "postgres://u:hunter2@h/db",
        ])
        .unwrap();
        assert!(!format!("{cli:?}").contains("hunter2"));
    }
}
