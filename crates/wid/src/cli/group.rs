//! `wid group create|show|list`, as `az group`.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use super::{CliError, Context};
use crate::output::{print_item, print_list};

const API_VERSION: &str = "2022-09-01";
const COLUMNS: [(&str, &str); 3] = [("Name", "name"), ("Location", "location"), ("ID", "id")];

/// `wid group ...`
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create or update a resource group.
    Create(GroupCreate),
    /// Show a resource group.
    Show(GroupName),
    /// List resource groups.
    List,
    /// Delete a resource group and everything in it.
    Delete(GroupName),
}

/// Names a group.
#[derive(Debug, Args)]
pub struct GroupName {
    /// The resource group.
    #[arg(long, short = 'n', alias = "resource-group", short_alias = 'g')]
    name: String,
}

/// Flags of `wid group create`.
#[derive(Debug, Args)]
pub struct GroupCreate {
    #[command(flatten)]
    g: GroupName,
    /// Region.
    #[arg(long, short = 'l', default_value = "eastus")]
    location: String,
}

/// Runs `wid group ...`.
pub async fn run(ctx: &Context, cmd: GroupCommand) -> Result<(), CliError> {
    let client = ctx.client().await?;
    let sub = client.target.subscription_id.clone();
    let path = |n: &str| -> Result<String, CliError> {
        if n.is_empty() || n.contains(['/', '?', '#', '%']) {
            return Err(CliError::Message(format!(
                "invalid resource group name '{n}'"
            )));
        }
        Ok(format!("/subscriptions/{sub}/resourcegroups/{n}"))
    };
    match cmd {
        GroupCommand::Create(a) => {
            let (_, v) = client
                .arm(
                    Method::PUT,
                    &path(&a.g.name)?,
                    API_VERSION,
                    Some(&json!({"location": a.location})),
                )
                .await?;
            print_item(ctx.output, &v, &COLUMNS);
        }
        GroupCommand::Show(a) => {
            let (_, v) = client
                .arm(Method::GET, &path(&a.name)?, API_VERSION, None)
                .await?;
            print_item(ctx.output, &v, &COLUMNS);
        }
        GroupCommand::Delete(a) => {
            client
                .arm(Method::DELETE, &path(&a.name)?, API_VERSION, None)
                .await?;
            eprintln!("deleted resource group '{}' and everything in it", a.name);
        }
        GroupCommand::List => {
            let rows: Vec<Value> = client
                .arm_list(
                    &format!("/subscriptions/{sub}/resourcegroups"),
                    API_VERSION,
                    None,
                )
                .await?;
            print_list(ctx.output, &rows, &COLUMNS);
        }
    }
    Ok(())
}
