//! `wid identity create|show|list|delete` and `wid identity federated-credential
//! create|show|list|delete`, with `az`'s flag names and JSON shapes.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use super::{CliError, Context};
use crate::output::{print_item, print_list};

/// The api-version wid uses for identities and their credentials.
pub const API_VERSION: &str = "2023-01-31";

/// `wid identity ...`
#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Create a user-assigned managed identity (idempotent, as `az identity create`).
    Create(IdentityCreate),
    /// Show an identity: Name, Client ID, Tenant ID, Resource group, Principal ID.
    Show(IdentityRef),
    /// List identities, in one resource group or the whole subscription.
    List(IdentityList),
    /// Delete an identity and its federated credentials.
    Delete(IdentityRef),
    /// Manage the federated identity credentials of an identity.
    #[command(subcommand, name = "federated-credential")]
    FederatedCredential(FicCommand),
}

/// Names one identity.
#[derive(Debug, Args)]
pub struct IdentityRef {
    /// The identity's name.
    #[arg(long, short = 'n')]
    pub name: String,
    /// The resource group.
    #[arg(long, short = 'g')]
    pub resource_group: String,
}

/// Flags of `wid identity create`.
#[derive(Debug, Args)]
pub struct IdentityCreate {
    #[command(flatten)]
    id: IdentityRef,
    /// Region (default: the resource group's).
    #[arg(long, short = 'l')]
    location: Option<String>,
    /// Tags as KEY=VALUE.
    #[arg(long, num_args = 0..)]
    tags: Vec<String>,
}

/// Flags of `wid identity list`.
#[derive(Debug, Args)]
pub struct IdentityList {
    /// Only this resource group.
    #[arg(long, short = 'g')]
    resource_group: Option<String>,
}

/// `wid identity federated-credential ...`
#[derive(Debug, Subcommand)]
pub enum FicCommand {
    /// Create or update a federated identity credential.
    Create(FicCreate),
    /// Show one credential.
    Show(FicRef),
    /// List the credentials of an identity.
    List(FicList),
    /// Delete a credential.
    Delete(FicRef),
}

/// Names one credential.
#[derive(Debug, Args)]
pub struct FicRef {
    /// The credential's name.
    #[arg(long, short = 'n')]
    name: String,
    /// The identity's name.
    #[arg(long)]
    identity_name: String,
    /// The resource group.
    #[arg(long, short = 'g')]
    resource_group: String,
}

/// Flags of `wid identity federated-credential create`.
#[derive(Debug, Args)]
pub struct FicCreate {
    #[command(flatten)]
    r: FicRef,
    /// The issuer URL, exactly as tokens carry it (for the local issuer: `wid issuer url`).
    #[arg(long)]
    issuer: String,
    /// The subject, e.g. system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT.
    #[arg(long)]
    subject: String,
    /// The audience (exactly one; default: the cloud's token exchange audience).
    #[arg(long, num_args = 1..)]
    audiences: Vec<String>,
}

/// Flags of `wid identity federated-credential list`.
#[derive(Debug, Args)]
pub struct FicList {
    /// The identity's name.
    #[arg(long)]
    identity_name: String,
    /// The resource group.
    #[arg(long, short = 'g')]
    resource_group: String,
    /// Page size asked of ARM (all pages are read).
    #[arg(long)]
    top: Option<usize>,
}

const IDENTITY_FIELDS: [(&str, &str); 7] = [
    ("Name", "name"),
    ("Client ID", "clientId"),
    ("Tenant ID", "tenantId"),
    ("Resource group", "resourceGroup"),
    ("Principal ID", "principalId"),
    ("Location", "location"),
    ("ID", "id"),
];
const IDENTITY_COLUMNS: [(&str, &str); 5] = [
    ("Name", "name"),
    ("ResourceGroup", "resourceGroup"),
    ("Location", "location"),
    ("ClientId", "clientId"),
    ("PrincipalId", "principalId"),
];
const FIC_FIELDS: [(&str, &str); 5] = [
    ("Name", "name"),
    ("Issuer", "issuer"),
    ("Subject", "subject"),
    ("Audiences", "audiences"),
    ("ID", "id"),
];
const FIC_COLUMNS: [(&str, &str); 4] = [
    ("Name", "name"),
    ("Issuer", "issuer"),
    ("Subject", "subject"),
    ("Audiences", "audiences"),
];

fn resource_group_of(id: &str) -> String {
    let segs: Vec<&str> = id.split('/').collect();
    segs.iter()
        .position(|s| s.eq_ignore_ascii_case("resourcegroups"))
        .and_then(|i| segs.get(i + 1))
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// Flattens an identity as `az identity show` does.
pub fn flatten_identity(v: &Value) -> Value {
    let id = v["id"].as_str().unwrap_or_default();
    json!({
        "clientId": v["properties"]["clientId"],
        "id": id,
        "location": v["location"],
        "name": v["name"],
        "principalId": v["properties"]["principalId"],
        "resourceGroup": resource_group_of(id),
        "tags": v["tags"],
        "tenantId": v["properties"]["tenantId"],
        "type": v["type"],
    })
}

/// Flattens a federated credential as `az identity federated-credential show` does.
pub fn flatten_fic(v: &Value) -> Value {
    let id = v["id"].as_str().unwrap_or_default();
    json!({
        "audiences": v["properties"]["audiences"],
        "id": id,
        "issuer": v["properties"]["issuer"],
        "name": v["name"],
        "resourceGroup": resource_group_of(id),
        "subject": v["properties"]["subject"],
        "type": v["type"],
    })
}

fn identity_path(sub: &str, rg: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    )
}

fn check_name(kind: &str, v: &str) -> Result<(), CliError> {
    if v.is_empty() || v.contains(['/', '?', '#', '%']) {
        return Err(CliError::Message(format!(
            "invalid {kind} '{v}': it must not be empty or contain '/', '?', '#' or '%'"
        )));
    }
    Ok(())
}

fn parse_tags(tags: &[String]) -> Result<serde_json::Map<String, Value>, CliError> {
    let mut m = serde_json::Map::new();
    for t in tags {
        let (k, v) = t.split_once('=').unwrap_or((t.as_str(), ""));
        if k.is_empty() {
            return Err(CliError::Message(format!(
                "invalid tag '{t}': use KEY=VALUE"
            )));
        }
        m.insert(k.to_string(), Value::String(v.to_string()));
    }
    Ok(m)
}

/// Runs `wid identity ...`.
pub async fn run(ctx: &Context, cmd: IdentityCommand) -> Result<(), CliError> {
    let client = ctx.client().await?;
    let sub = client.target.subscription_id.clone();
    match cmd {
        IdentityCommand::Create(a) => {
            check_name("resource group", &a.id.resource_group)?;
            check_name("identity name", &a.id.name)?;
            let location = match a.location {
                Some(l) => l,
                None => {
                    let (_, g) = client
                        .arm(
                            Method::GET,
                            &format!(
                                "/subscriptions/{sub}/resourcegroups/{}",
                                a.id.resource_group
                            ),
                            "2022-09-01",
                            None,
                        )
                        .await?;
                    g["location"].as_str().unwrap_or("eastus").to_string()
                }
            };
            let body = json!({"location": location, "tags": parse_tags(&a.tags)?});
            let (_, v) = client
                .arm(
                    Method::PUT,
                    &identity_path(&sub, &a.id.resource_group, &a.id.name),
                    API_VERSION,
                    Some(&body),
                )
                .await?;
            print_item(ctx.output, &flatten_identity(&v), &IDENTITY_FIELDS);
        }
        IdentityCommand::Show(a) => {
            check_name("resource group", &a.resource_group)?;
            check_name("identity name", &a.name)?;
            let (_, v) = client
                .arm(
                    Method::GET,
                    &identity_path(&sub, &a.resource_group, &a.name),
                    API_VERSION,
                    None,
                )
                .await?;
            print_item(ctx.output, &flatten_identity(&v), &IDENTITY_FIELDS);
        }
        IdentityCommand::List(a) => {
            let path = match &a.resource_group {
                Some(rg) => {
                    check_name("resource group", rg)?;
                    format!(
                        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
                    )
                }
                None => format!(
                    "/subscriptions/{sub}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
                ),
            };
            let rows: Vec<Value> = client
                .arm_list(&path, API_VERSION, None)
                .await?
                .iter()
                .map(flatten_identity)
                .collect();
            print_list(ctx.output, &rows, &IDENTITY_COLUMNS);
        }
        IdentityCommand::Delete(a) => {
            check_name("resource group", &a.resource_group)?;
            check_name("identity name", &a.name)?;
            let (status, _) = client
                .arm(
                    Method::DELETE,
                    &identity_path(&sub, &a.resource_group, &a.name),
                    API_VERSION,
                    None,
                )
                .await?;
            if status == 204 {
                eprintln!(
                    "identity '{}' does not exist in resource group '{}'; nothing to delete",
                    a.name, a.resource_group
                );
            } else {
                eprintln!(
                    "deleted identity '{}' and its federated credentials",
                    a.name
                );
            }
        }
        IdentityCommand::FederatedCredential(c) => run_fic(ctx, &client, &sub, c).await?,
    }
    Ok(())
}

async fn run_fic(
    ctx: &Context,
    client: &crate::client::WidClient,
    sub: &str,
    cmd: FicCommand,
) -> Result<(), CliError> {
    let path = |r: &FicRef| -> Result<String, CliError> {
        check_name("resource group", &r.resource_group)?;
        check_name("identity name", &r.identity_name)?;
        check_name("credential name", &r.name)?;
        Ok(format!(
            "{}/federatedIdentityCredentials/{}",
            identity_path(sub, &r.resource_group, &r.identity_name),
            r.name
        ))
    };
    match cmd {
        FicCommand::Create(a) => {
            let audiences = if a.audiences.is_empty() {
                vec![ctx.cloud.token_exchange_audience.to_string()]
            } else {
                a.audiences.clone()
            };
            let body = json!({"properties": {"audiences": audiences, "issuer": a.issuer, "subject": a.subject}});
            let (_, v) = client
                .arm(Method::PUT, &path(&a.r)?, API_VERSION, Some(&body))
                .await?;
            print_item(ctx.output, &flatten_fic(&v), &FIC_FIELDS);
        }
        FicCommand::Show(r) => {
            let (_, v) = client
                .arm(Method::GET, &path(&r)?, API_VERSION, None)
                .await?;
            print_item(ctx.output, &flatten_fic(&v), &FIC_FIELDS);
        }
        FicCommand::List(a) => {
            check_name("resource group", &a.resource_group)?;
            check_name("identity name", &a.identity_name)?;
            let p = format!(
                "{}/federatedIdentityCredentials",
                identity_path(sub, &a.resource_group, &a.identity_name)
            );
            let rows: Vec<Value> = client
                .arm_list(&p, API_VERSION, a.top)
                .await?
                .iter()
                .map(flatten_fic)
                .collect();
            print_list(ctx.output, &rows, &FIC_COLUMNS);
        }
        FicCommand::Delete(r) => {
            let (status, _) = client
                .arm(Method::DELETE, &path(&r)?, API_VERSION, None)
                .await?;
            if status == 204 {
                eprintln!(
                    "federated credential '{}' does not exist; nothing to delete",
                    r.name
                );
            } else {
                eprintln!("deleted federated credential '{}'", r.name);
            }
        }
    }
    Ok(())
}
