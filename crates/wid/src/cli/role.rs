//! `wid role assignment create|list|delete` and `wid role definition list`, as `az role`.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use super::{CliError, Context};
use crate::client::WidClient;
use crate::output::{print_item, print_list};

const API_VERSION: &str = "2022-04-01";

/// `wid role ...`
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Role assignments.
    #[command(subcommand)]
    Assignment(AssignmentCommand),
    /// Role definitions.
    #[command(subcommand)]
    Definition(DefinitionCommand),
}

/// `wid role assignment ...`
#[derive(Debug, Subcommand)]
pub enum AssignmentCommand {
    /// Assign a role to a principal at a scope.
    Create(CreateArgs),
    /// List assignments at a scope (default: the subscription), optionally of one principal.
    List(ListArgs),
    /// Delete an assignment by id, or by assignee, role and scope.
    Delete(DeleteArgs),
}

/// `wid role definition ...`
#[derive(Debug, Subcommand)]
pub enum DefinitionCommand {
    /// List the built-in roles.
    List,
}

/// Flags of `create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The principal: an object (principal) id, or a managed identity's client id.
    #[arg(long)]
    assignee: String,
    /// Role name (Reader, Contributor, Owner, Storage Blob Data Reader, ...) or GUID.
    #[arg(long)]
    role: String,
    /// `/subscriptions/{s}` or `/subscriptions/{s}/resourceGroups/{rg}`.
    #[arg(long)]
    scope: String,
}

/// Flags of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this principal (object id or client id).
    #[arg(long)]
    assignee: Option<String>,
    /// The scope (default: the subscription).
    #[arg(long)]
    scope: Option<String>,
}

/// Flags of `delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Assignment ids.
    #[arg(long, num_args = 1..)]
    ids: Vec<String>,
    /// With --role and --scope: the principal.
    #[arg(long)]
    assignee: Option<String>,
    /// With --assignee and --scope: the role.
    #[arg(long)]
    role: Option<String>,
    /// With --assignee and --role: the scope.
    #[arg(long)]
    scope: Option<String>,
}

const COLUMNS: [(&str, &str); 4] = [
    ("Principal", "principalId"),
    ("Role", "roleDefinitionName"),
    ("Scope", "scope"),
    ("Name", "name"),
];

/// The principal id of an assignee: an identity's client id is resolved to its principal id.
async fn principal_of(client: &WidClient, assignee: &str) -> Result<String, CliError> {
    let sub = &client.target.subscription_id;
    let ids = client
        .arm_list(
            &format!(
                "/subscriptions/{sub}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
            ),
            "2023-01-31",
            None,
        )
        .await?;
    for i in ids {
        if i["properties"]["clientId"]
            .as_str()
            .is_some_and(|c| c.eq_ignore_ascii_case(assignee))
        {
            return Ok(i["properties"]["principalId"]
                .as_str()
                .unwrap_or(assignee)
                .to_string());
        }
    }
    Ok(assignee.to_string())
}

fn flatten(a: &Value) -> Value {
    let def = a["properties"]["roleDefinitionId"]
        .as_str()
        .unwrap_or_default();
    let name = wid_model::rbac::RoleDefinition::find(def)
        .map(|r| r.name)
        .unwrap_or("");
    json!({
        "id": a["id"], "name": a["name"], "principalId": a["properties"]["principalId"], "principalType": a["properties"]["principalType"],
        "roleDefinitionId": def, "roleDefinitionName": name, "scope": a["properties"]["scope"],
    })
}

fn check_scope(scope: &str) -> Result<(), CliError> {
    match wid_model::arm_path::ArmPath::parse(scope) {
        Some(
            wid_model::arm_path::ArmPath::Subscription { .. }
            | wid_model::arm_path::ArmPath::ResourceGroup { .. },
        ) => Ok(()),
        _ => Err(CliError::Message(format!(
            "invalid --scope '{scope}': use /subscriptions/<subscription id> or /subscriptions/<subscription id>/resourceGroups/<name>"
        ))),
    }
}

/// Runs `wid role ...`.
pub async fn run(ctx: &Context, cmd: RoleCommand) -> Result<(), CliError> {
    let client = ctx.client().await?;
    let sub = client.target.subscription_id.clone();
    match cmd {
        RoleCommand::Definition(DefinitionCommand::List) => {
            let rows: Vec<Value> = client
                .arm_list(&format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions"), API_VERSION, None)
                .await?
                .iter()
                .map(|d| json!({"roleName": d["properties"]["roleName"], "name": d["name"], "description": d["properties"]["description"]}))
                .collect();
            print_list(
                ctx.output,
                &rows,
                &[
                    ("Name", "roleName"),
                    ("Id", "name"),
                    ("Description", "description"),
                ],
            );
        }
        RoleCommand::Assignment(AssignmentCommand::Create(a)) => {
            check_scope(&a.scope)?;
            let role = wid_model::rbac::RoleDefinition::find(&a.role).ok_or_else(|| {
                let names: Vec<&str> = wid_model::rbac::BUILT_IN_ROLES
                    .iter()
                    .map(|r| r.name)
                    .collect();
                CliError::Message(format!(
                    "Role '{}' doesn't exist. Known roles: {}",
                    a.role,
                    names.join(", ")
                ))
            })?;
            let principal = principal_of(&client, &a.assignee).await?;
            let body = json!({"properties": {"roleDefinitionId": role.arm_id(&sub), "principalId": principal, "principalType": "ServicePrincipal"}});
            let path = format!(
                "{}/providers/Microsoft.Authorization/roleAssignments/{}",
                a.scope.trim_end_matches('/'),
                wid_model::ids::new_guid()
            );
            let (_, v) = client
                .arm(Method::PUT, &path, API_VERSION, Some(&body))
                .await?;
            print_item(
                ctx.output,
                &flatten(&v),
                &[
                    ("Principal", "principalId"),
                    ("Role", "roleDefinitionName"),
                    ("Scope", "scope"),
                    ("ID", "id"),
                ],
            );
        }
        RoleCommand::Assignment(AssignmentCommand::List(a)) => {
            let scope = a
                .scope
                .clone()
                .unwrap_or_else(|| format!("/subscriptions/{sub}"));
            check_scope(&scope)?;
            let mut path = format!(
                "{}/providers/Microsoft.Authorization/roleAssignments",
                scope.trim_end_matches('/')
            );
            if let Some(who) = &a.assignee {
                let p = principal_of(&client, who).await?;
                path.push_str(&format!("?$filter=principalId%20eq%20'{p}'"));
            }
            let (_, v) = client
                .send(
                    &client.target.arm,
                    Method::GET,
                    &path,
                    &[("api-version", API_VERSION)],
                    None,
                )
                .await?;
            let rows: Vec<Value> = v["value"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(flatten)
                .collect();
            print_list(ctx.output, &rows, &COLUMNS);
        }
        RoleCommand::Assignment(AssignmentCommand::Delete(a)) => {
            let mut ids = a.ids.clone();
            if let (Some(who), Some(role), Some(scope)) = (&a.assignee, &a.role, &a.scope) {
                check_scope(scope)?;
                let p = principal_of(&client, who).await?;
                let role = wid_model::rbac::RoleDefinition::find(role)
                    .ok_or_else(|| CliError::Message(format!("Role '{role}' doesn't exist.")))?;
                let (_, v) = client
                    .send(
                        &client.target.arm,
                        Method::GET,
                        &format!(
                            "{}/providers/Microsoft.Authorization/roleAssignments",
                            scope.trim_end_matches('/')
                        ),
                        &[
                            ("api-version", API_VERSION),
                            ("$filter", &format!("principalId eq '{p}'")),
                        ],
                        None,
                    )
                    .await?;
                for x in v["value"].as_array().cloned().unwrap_or_default() {
                    if x["properties"]["roleDefinitionId"]
                        .as_str()
                        .is_some_and(|d| d.ends_with(role.id))
                        && x["properties"]["scope"]
                            .as_str()
                            .is_some_and(|s| s.eq_ignore_ascii_case(scope.trim_end_matches('/')))
                    {
                        ids.push(x["id"].as_str().unwrap_or_default().to_string());
                    }
                }
            }
            if ids.is_empty() {
                return Err(CliError::Message(
                    "no matching role assignment: pass --ids, or --assignee, --role and --scope"
                        .into(),
                ));
            }
            for id in ids {
                client.arm(Method::DELETE, &id, API_VERSION, None).await?;
                eprintln!("deleted {id}");
            }
        }
    }
    Ok(())
}
