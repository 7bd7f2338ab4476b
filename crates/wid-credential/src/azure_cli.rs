//! The Azure CLI's sign-in, as azure-identity's AzureCliCredential uses it: `az account
//! get-access-token --resource <resource> -o json`, run as a subprocess, so whatever `az login`
//! did (a user, a service principal, a federated token in a pipeline) is what the caller acts
//! as. The CLI's own settings apply: `AZURE_CONFIG_DIR`, its active cloud, tenant and
//! subscription.
//!
//! Two things go beyond azure-identity: a CLI signed in to another cloud than the caller's is
//! refused before any token is asked for (so a token never leaves for the wrong cloud), and a
//! token the CLI hands out already expired is asked for again, once.

use std::ffi::OsString;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use wid_model::Clock;

use crate::secret::Secret;
use crate::{AccessToken, CredentialError, scope_to_resource};

/// The credential's name, as in azure-identity.
pub const NAME: &str = "AzureCliCredential";

/// How long one `az` run may take (azure-identity allows 10 s; the CLI's start alone is
/// about 2 s on a small machine).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The account the CLI is signed in with (`az account show`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliAccount {
    /// The CLI's active cloud (`environmentName`).
    pub cloud: String,
    /// The tenant.
    pub tenant_id: String,
    /// The default subscription's id.
    pub subscription_id: String,
    /// The default subscription's name.
    pub subscription_name: String,
    /// Who is signed in: a user's name or a service principal's client id.
    pub user_name: String,
    /// `user` or `servicePrincipal`.
    pub user_type: String,
}

/// A cloud registered in the CLI (`az cloud show`): its endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliCloud {
    /// The name (`AzureCloud`, or one from `az cloud register`).
    pub name: String,
    /// The token service (`endpoints.activeDirectory`), without a trailing slash.
    pub authority_host: String,
    /// Azure Resource Manager (`endpoints.resourceManager`), without a trailing slash.
    pub resource_manager: String,
    /// ARM's token audience (`endpoints.activeDirectoryResourceId`).
    pub arm_resource: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountJson {
    #[serde(default)]
    environment_name: String,
    #[serde(default)]
    tenant_id: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    user: Option<UserJson>,
}

#[derive(Deserialize)]
struct UserJson {
    #[serde(default)]
    name: String,
    #[serde(default, rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct TokenJson {
    #[serde(rename = "accessToken")]
    #[serde(with = "wid_model::secret::exposed")]
    access_token: wid_model::Secret,
    #[serde(default)]
    expires_on: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloudJson {
    name: String,
    endpoints: CloudEndpoints,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloudEndpoints {
    #[serde(default)]
    active_directory: Option<String>,
    #[serde(default)]
    resource_manager: Option<String>,
    #[serde(default)]
    active_directory_resource_id: Option<String>,
}

/// The Azure CLI's sign-in.
#[derive(Clone)]
pub struct AzureCliCredential {
    program: OsString,
    cloud: Option<String>,
    timeout: Duration,
    clock: Arc<dyn Clock>,
    account: Arc<tokio::sync::OnceCell<CliAccount>>,
}

impl std::fmt::Debug for AzureCliCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureCliCredential")
            .field("program", &self.program)
            .field("cloud", &self.cloud)
            .finish()
    }
}

/// What one `az` run returned.
struct Run {
    stdout: Vec<u8>,
}

impl AzureCliCredential {
    /// The `az` on `PATH`. `cloud` is the cloud the caller targets: a CLI whose active cloud
    /// is another is refused (`None` accepts any).
    pub fn new(cloud: Option<&str>, clock: Arc<dyn Clock>) -> Self {
        Self {
            program: OsString::from("az"),
            cloud: cloud.map(String::from),
            timeout: DEFAULT_TIMEOUT,
            clock,
            account: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// Runs another program in place of `az` on `PATH`.
    pub fn with_program(mut self, program: impl Into<OsString>) -> Self {
        self.program = program.into();
        self
    }

    /// What it runs, for reports.
    pub fn describe(&self) -> String {
        format!(
            "`{} account get-access-token`",
            self.program.to_string_lossy()
        )
    }

    async fn run(&self, args: &[&str]) -> Result<Run, CredentialError> {
        let shown = format!("az {}", args.join(" "));
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let output = match tokio::time::timeout(self.timeout, cmd.output()).await {
            Err(_) => {
                return Err(CredentialError::AzureCli {
                    command: shown,
                    detail: format!("it did not finish within {} s", self.timeout.as_secs()),
                });
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CredentialError::Unavailable {
                    credential: NAME,
                    reason: format!(
                        "the Azure CLI ({}) is not installed or not on PATH; install it (https://aka.ms/azure-cli) and run `az login`, or pick another credential with --credential",
                        self.program.to_string_lossy()
                    ),
                });
            }
            Ok(Err(e)) => {
                return Err(CredentialError::AzureCli {
                    command: shown,
                    detail: format!("it could not be started: {e}"),
                });
            }
            Ok(Ok(o)) => o,
        };
        if output.status.success() {
            return Ok(Run {
                stdout: output.stdout,
            });
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.trim();
        let first = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        if stderr.contains("az login") || stderr.contains("az account set") {
            return Err(CredentialError::Unavailable {
                credential: NAME,
                reason: format!("the Azure CLI is not signed in ({first}); run `az login`"),
            });
        }
        Err(CredentialError::AzureCli {
            command: shown,
            detail: format!(
                "it exited with {}: {}",
                output.status,
                &stderr[..stderr.len().min(600)]
            ),
        })
    }

    fn parse<T: serde::de::DeserializeOwned>(
        command: &str,
        run: &Run,
    ) -> Result<T, CredentialError> {
        serde_json::from_slice(&run.stdout).map_err(|e| CredentialError::AzureCli {
            command: command.into(),
            detail: format!("its output is not the JSON it documents ({e})"),
        })
    }

    /// The account the CLI is signed in with, checked against the caller's cloud; `az account
    /// show` runs once per credential.
    pub async fn account(&self) -> Result<CliAccount, CredentialError> {
        self.account
            .get_or_try_init(|| async {
                let run = self.run(&["account", "show", "-o", "json"]).await?;
                let a: AccountJson = Self::parse("az account show", &run)?;
                let user = a.user.unwrap_or(UserJson {
                    name: String::new(),
                    kind: String::new(),
                });
                let account = CliAccount {
                    cloud: a.environment_name,
                    tenant_id: a.tenant_id,
                    subscription_id: a.id,
                    subscription_name: a.name,
                    user_name: user.name,
                    user_type: user.kind,
                };
                if let Some(wanted) = &self.cloud
                    && !account.cloud.eq_ignore_ascii_case(wanted)
                {
                    return Err(CredentialError::AzureCliOtherCloud {
                        cli_cloud: account.cloud.clone(),
                        wanted: wanted.clone(),
                        user: account.user_name.clone(),
                    });
                }
                Ok(account)
            })
            .await
            .cloned()
    }

    /// Gets a token for `scopes` (one resource's `/.default`) from the CLI. A token that has
    /// already expired is asked for once more; a second one is an error.
    pub async fn get_token(&self, scopes: &[&str]) -> Result<AccessToken, CredentialError> {
        let [scope] = scopes else {
            return Err(CredentialError::Config(format!(
                "the Azure CLI gives a token for one resource at a time, not {scopes:?}"
            )));
        };
        let resource = scope_to_resource(scope);
        self.account().await?;
        let token = self.ask(resource).await?;
        if token.expires_on > self.clock.now() {
            return Ok(token);
        }
        tracing::info!(
            expires_on = token.expires_on,
            "the Azure CLI returned an expired token; asking it again once"
        );
        let again = self.ask(resource).await?;
        let now = self.clock.now();
        if again.expires_on > now {
            return Ok(again);
        }
        Err(CredentialError::AzureCliExpired {
            resource: resource.to_string(),
            expires_on: again.expires_on,
            now,
        })
    }

    async fn ask(&self, resource: &str) -> Result<AccessToken, CredentialError> {
        let run = self
            .run(&[
                "account",
                "get-access-token",
                "--resource",
                resource,
                "-o",
                "json",
            ])
            .await?;
        let t: TokenJson = Self::parse("az account get-access-token", &run)?;
        let expires_on = match &t.expires_on {
            Some(serde_json::Value::Number(n)) => n.as_i64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| CredentialError::AzureCli {
            command: "az account get-access-token".into(),
            detail:
                "its output has no expires_on: azure-cli 2.54 or later is needed (`az upgrade`)"
                    .into(),
        })?;
        Ok(AccessToken {
            token: Secret::new(t.access_token.expose_str()),
            expires_on,
        })
    }

    /// A cloud registered in the CLI, by name (`az cloud show -n NAME`): how a cloud that is
    /// not built in (Azure Stack, a sovereign cloud, wid itself) is named on the command line.
    pub async fn cloud_show(&self, name: &str) -> Result<CliCloud, CredentialError> {
        let run = match self.run(&["cloud", "show", "-n", name, "-o", "json"]).await {
            Ok(r) => r,
            Err(CredentialError::AzureCli { detail, .. }) if detail.contains("not registered") => {
                return Err(CredentialError::Config(format!(
                    "no cloud named '{name}' is registered in the Azure CLI\nhint: list them with `az cloud list -o table`; register one with `az cloud register -n {name} --endpoint-resource-manager https://<resource manager>`"
                )));
            }
            Err(e) => return Err(e),
        };
        let c: CloudJson = Self::parse("az cloud show", &run)?;
        let missing = |what: &str| {
            CredentialError::Config(format!(
                "the Azure CLI's cloud '{}' has no {what} endpoint\nhint: `az cloud update -n {} --endpoint-{}`",
                c.name,
                c.name,
                if what == "activeDirectory" {
                    "active-directory"
                } else {
                    "resource-manager"
                }
            ))
        };
        let trim = |s: &str| s.trim_end_matches('/').to_string();
        let authority_host = c
            .endpoints
            .active_directory
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(trim)
            .ok_or_else(|| missing("activeDirectory"))?;
        let resource_manager = c
            .endpoints
            .resource_manager
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(trim)
            .ok_or_else(|| missing("resourceManager"))?;
        let arm_resource = c
            .endpoints
            .active_directory_resource_id
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("{resource_manager}/"));
        Ok(CliCloud {
            name: c.name.clone(),
            authority_host,
            resource_manager,
            arm_resource,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_cli_makes_the_credential_unavailable() {
        let c = AzureCliCredential::new(None, Arc::new(wid_model::SystemClock))
            .with_program("/nonexistent/az-is-not-here");
        let e = c
            .get_token(&["https://management.azure.com/.default"])
            .await
            .unwrap_err();
        match e {
            CredentialError::Unavailable { credential, reason } => {
                assert_eq!(credential, NAME);
                assert!(reason.contains("not installed or not on PATH"), "{reason}");
            }
            e => panic!("{e}"),
        }
    }

    #[tokio::test]
    async fn two_scopes_are_refused() {
        let c = AzureCliCredential::new(None, Arc::new(wid_model::SystemClock));
        let e = c
            .get_token(&["a/.default", "b/.default"])
            .await
            .unwrap_err();
        assert!(e.to_string().contains("one resource at a time"), "{e}");
    }
}
