//! `wid ad app create|list|delete`, as `az ad app`: register a user's own API as a resource
//! principal (an application with identifier URIs) through Microsoft Graph, so the token
//! service issues tokens for `api://<name>/.default`.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use super::{CliError, Context};
use crate::output::{print_item, print_list};

const COLUMNS: [(&str, &str); 3] = [
    ("DisplayName", "displayName"),
    ("AppId", "appId"),
    ("IdentifierUris", "identifierUris"),
];

/// `wid ad ...`
#[derive(Debug, Subcommand)]
pub enum AdCommand {
    /// Applications: register a user's own API as a resource principal.
    #[command(subcommand)]
    App(AppCommand),
    /// Service principals with a certificate (`ad_sp.rs`).
    #[command(subcommand)]
    Sp(super::ad_sp::SpCommand),
}

/// `wid ad app ...`
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an application with identifier URIs (`api://...`).
    Create(AppCreate),
    /// List the applications registered in the tenant.
    List,
    /// Delete an application (by application id or object id); its identifier URIs stop
    /// being resources.
    Delete(AppId),
}

/// Names an application.
#[derive(Debug, Args)]
pub struct AppId {
    /// The application (client) id or the object id.
    #[arg(long)]
    id: String,
}

/// Flags of `wid ad app create`.
#[derive(Debug, Args)]
pub struct AppCreate {
    /// The display name.
    #[arg(long)]
    display_name: String,
    /// Identifier URIs, space-separated, e.g. `api://orders`.
    #[arg(long, num_args = 1..)]
    identifier_uris: Vec<String>,
}

/// Runs `wid ad ...`.
pub async fn run(ctx: &Context, cmd: AdCommand) -> Result<(), CliError> {
    let cmd = match cmd {
        AdCommand::Sp(c) => return super::ad_sp::run(ctx, c).await,
        AdCommand::App(c) => c,
    };
    let client = ctx.client().await?;
    match cmd {
        AppCommand::Create(a) => {
            let body = json!({"displayName": a.display_name, "identifierUris": a.identifier_uris});
            let (_, v) = client
                .graph(Method::POST, "/v1.0/applications", Some(&body))
                .await?;
            print_item(ctx.output, &v, &COLUMNS);
        }
        AppCommand::List => {
            let (_, v) = client
                .graph(Method::GET, "/v1.0/applications", None)
                .await?;
            let rows: Vec<Value> = v["value"].as_array().cloned().unwrap_or_default();
            print_list(ctx.output, &rows, &COLUMNS);
        }
        AppCommand::Delete(a) => {
            // As `az ad app delete --id`: an application id is resolved to the object id.
            let (_, v) = client
                .graph(Method::GET, "/v1.0/applications", None)
                .await?;
            let wanted = a.id.to_ascii_lowercase();
            let object_id = v["value"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|app| app["appId"] == wanted.as_str() || app["id"] == wanted.as_str())
                .and_then(|app| app["id"].as_str())
                .ok_or_else(|| {
                    CliError::Message(format!(
                        "no application with id '{}' in the tenant (`wid ad app list` shows them)",
                        a.id
                    ))
                })?
                .to_string();
            client
                .graph(
                    Method::DELETE,
                    &format!("/v1.0/applications/{object_id}"),
                    None,
                )
                .await?;
            eprintln!("deleted application '{}'", a.id);
        }
    }
    Ok(())
}
