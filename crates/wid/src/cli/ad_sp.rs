//! `wid ad sp create`, the stand-in's `az ad sp create-for-rbac --cert`: registers a service
//! principal with a certificate on the local token service (whose Microsoft Graph takes no
//! `keyCredentials`), so that `AZURE_CLIENT_CERTIFICATE_PATH` signs in as it. Only the certificate's thumbprint and
//! public key leave this process; the private key stays in the file.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::json;

use super::{CliError, Context};
use crate::output::print_item;

/// `wid ad sp ...`
#[derive(Debug, Subcommand)]
pub enum SpCommand {
    /// Register a service principal with a certificate (local cloud only).
    Create(SpCreate),
}

/// Flags of `wid ad sp create`.
#[derive(Debug, Args)]
pub struct SpCreate {
    /// The display name.
    #[arg(long, short = 'n')]
    name: String,
    /// A PEM file with the certificate and its PKCS#8 private key (what
    /// AZURE_CLIENT_CERTIFICATE_PATH will name).
    #[arg(long)]
    cert_file: std::path::PathBuf,
}

/// Runs `wid ad sp ...`.
pub async fn run(ctx: &Context, cmd: SpCommand) -> Result<(), CliError> {
    let SpCommand::Create(a) = cmd;
    if ctx.cloud.name != "local" {
        return Err(CliError::Message(format!(
            "wid ad sp create registers on the local stand-in only; on {} use: az ad sp create-for-rbac --name {} --cert @{}",
            ctx.cloud.name,
            a.name,
            a.cert_file.display()
        )));
    }
    let client = ctx.client().await?;
    let cert = wid_credential::ClientCertificateCredential::from_pem_file(
        &client.target.authority,
        &client.target.tenant_id,
        "",
        &a.cert_file,
        wid_credential::Pipeline::new(client.http.clone()),
    )
    .map_err(|e| CliError::Message(e.to_string()))?;
    let body = json!({
        "displayName": a.name,
        "certificate": {"x5t": cert.x5t(), "publicKey": cert.public_jwk()},
    });
    let (_, v) = client
        .send(
            &client.target.authority,
            Method::POST,
            "/_wid/applications",
            &[],
            Some(&body),
        )
        .await?;
    print_item(
        ctx.output,
        &v,
        &[
            ("App ID (AZURE_CLIENT_ID)", "appId"),
            ("Object ID (--assignee)", "id"),
            ("Display name", "displayName"),
            ("Tenant (AZURE_TENANT_ID)", "tenant"),
        ],
    );
    if ctx.output == crate::output::Format::Table {
        eprintln!(
            "sign in as it: AZURE_TENANT_ID={} AZURE_CLIENT_ID={} AZURE_CLIENT_CERTIFICATE_PATH={}; give it a role with wid role assignment create --assignee {} --role <role> --scope <scope>",
            v["tenant"].as_str().unwrap_or_default(),
            v["appId"].as_str().unwrap_or_default(),
            a.cert_file.display(),
            v["id"].as_str().unwrap_or_default()
        );
    }
    Ok(())
}
