//! `wid account show`, as `az account show`: who wid acts as on the cloud (the client id and
//! principal id its token was issued to), the cloud, the tenant, the subscription and where it
//! came from, and the credential of the chain that signed it in (with what the others did).

use clap::Subcommand;

use super::{CliError, Context};
use crate::output::{Format, fields};

/// `wid account ...`
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Who wid acts as: the identity, cloud, tenant, subscription and credential.
    Show,
}

const COLUMNS: [(&str, &str); 9] = [
    ("Acts as", "actsAs"),
    ("Type", "type"),
    ("Principal ID", "principalId"),
    ("Cloud", "cloud"),
    ("Resource manager", "resourceManager"),
    ("Tenant ID", "tenantId"),
    ("Subscription", "subscription"),
    ("Subscription from", "subscriptionFrom"),
    ("Credential", "credentialShown"),
];

/// Runs `wid account ...`.
pub async fn run(ctx: &Context, cmd: AccountCommand) -> Result<(), CliError> {
    match cmd {
        AccountCommand::Show => show(ctx).await,
    }
}

async fn show(ctx: &Context) -> Result<(), CliError> {
    let client = ctx.client().await?;
    let account = client.account().await?;
    // The name, from the subscriptions the identity sees (reading the subscription itself
    // needs a role at its scope, which a deployer with a resource group's role has not).
    let sub_name = client
        .arm_list("/subscriptions", "2022-12-01", None)
        .await?
        .iter()
        .find(|v| {
            v["subscriptionId"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(&account.subscription_id))
        })
        .and_then(|v| v["displayName"].as_str().map(String::from))
        .unwrap_or_default();
    let mut item = serde_json::to_value(&account)
        .map_err(|e| CliError::Message(format!("cannot show the account: {e}")))?;
    item["subscriptionName"] = sub_name.clone().into();
    match ctx.output {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&item).unwrap_or_default()
        ),
        Format::Table => {
            let mut shown = item.clone();
            shown["actsAs"] = match &account.name {
                Some(n) => format!("{} ({n})", account.client_id),
                None => account.client_id.clone(),
            }
            .into();
            shown["subscription"] = format!("{sub_name} ({})", account.subscription_id).into();
            shown["credentialShown"] = if account.credential == "admin" {
                account.credential_name.clone()
            } else {
                format!("{} ({})", account.credential, account.credential_name)
            }
            .into();
            println!("{}", fields(&shown, &COLUMNS));
            if !account.chain.is_empty() {
                println!("Chain:");
                for a in &account.chain {
                    println!("  {}: {} ({})", a.credential, a.outcome, a.reason);
                }
            }
        }
    }
    Ok(())
}
