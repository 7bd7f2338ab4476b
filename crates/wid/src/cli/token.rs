//! `wid token`: an access token through the same chain Airflow's Azure provider builds
//! (DefaultAzureCredential with managed_identity_client_id / workload_identity_tenant_id),
//! from the variables the workload identity webhook injects.

use clap::Args;
use serde_json::json;
use wid_credential::{ChainOptions, DefaultAzureCredential, Pipeline};

use super::{CliError, Context};
use crate::output::Format;

/// Flags of `wid token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The scope, `<resource>/.default`.
    #[arg(long, default_value = "https://management.azure.com/.default")]
    scope: String,
    /// The managed identity's client id (default AZURE_CLIENT_ID).
    #[arg(long)]
    client_id: Option<String>,
    /// The workload identity tenant (default AZURE_TENANT_ID).
    #[arg(long)]
    tenant_id: Option<String>,
}

/// The authority: AZURE_AUTHORITY_HOST when set (as the webhook injects it), else the
/// cloud's (`--cloud`); `None` lets the credential use its default.
pub fn authority_for(cloud: &wid_model::CloudProfile, env: Option<&str>) -> Option<String> {
    match env.filter(|v| !v.is_empty()) {
        Some(v) => Some(v.to_string()),
        None if !cloud.authority_host.is_empty() => Some(cloud.authority_host.to_string()),
        None => None,
    }
}

/// Runs `wid token`.
pub async fn run(ctx: &Context, a: TokenArgs) -> Result<(), CliError> {
    let mut http = Pipeline::default_http().map_err(|e| CliError::Message(e.to_string()))?;
    if ctx.cloud.name == "local"
        && std::env::var_os("SSL_CERT_FILE").is_none()
        && ctx.home.ca_cert().exists()
    {
        let ca = std::fs::read(ctx.home.ca_cert()).map_err(|e| CliError::Message(e.to_string()))?;
        http = crate::client::http_client(Some(&ca), &ctx.home.ca_cert().display().to_string())?;
    }
    let mut pipeline = Pipeline::new(http);
    pipeline.clock = ctx.clock.clone();
    let opts = ChainOptions {
        authority: authority_for(
            ctx.cloud,
            std::env::var("AZURE_AUTHORITY_HOST").ok().as_deref(),
        ),
        managed_identity_client_id: a.client_id.clone(),
        workload_identity_tenant_id: a.tenant_id.clone(),
        additionally_allowed_tenants: a.tenant_id.iter().cloned().collect(),
        ..Default::default()
    };
    let cred = DefaultAzureCredential::new(opts, pipeline)
        .map_err(|e| CliError::Message(e.to_string()))?;
    let token = cred
        .get_token(&[a.scope.as_str()])
        .await
        .map_err(|e| CliError::Message(e.to_string()))?;
    match ctx.output {
        Format::Table => {
            use std::io::Write;
            let mut out = std::io::stdout();
            let _ = writeln!(out, "{}", token.token.expose_str());
        }
        Format::Json => {
            let report: Vec<_> = cred
                .report()
                .iter()
                .map(|l| json!({"credential": l.credential, "outcome": l.outcome, "reason": l.reason}))
                .collect();
            let v = json!({
                "accessToken": token.token.expose_str(),
                "expires_on": token.expires_on,
                "tokenType": "Bearer",
                "credential": cred.selected(),
                "claims": wid_credential::jwt_claims(token.token.expose_str()),
                "chain": report,
            });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wid_model::cloud::{AZURE_CHINA_CLOUD, AZURE_US_GOVERNMENT, LOCAL};

    #[test]
    fn authority_follows_the_cloud_unless_the_environment_says() {
        assert_eq!(
            authority_for(&AZURE_CHINA_CLOUD, None).as_deref(),
            Some("https://login.chinacloudapi.cn")
        );
        assert_eq!(
            authority_for(&AZURE_US_GOVERNMENT, None).as_deref(),
            Some("https://login.microsoftonline.us")
        );
        assert_eq!(
            authority_for(&AZURE_CHINA_CLOUD, Some("https://127.0.0.1:8443")).as_deref(),
            Some("https://127.0.0.1:8443")
        );
        assert_eq!(authority_for(&LOCAL, None), None);
        assert_eq!(
            AZURE_CHINA_CLOUD.token_exchange_audience,
            "api://AzureADTokenExchangeChina"
        );
    }
}
