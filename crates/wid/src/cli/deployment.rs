//! `wid deployment create|show|list|delete|assign-identity|unassign-identity`: one managed
//! identity for a whole Airflow environment, one federated credential per component,
//! through ARM (the stand-in or real Azure, the same requests).

use std::time::Duration;

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};
use wid_model::deployment::{Deployment, ExistingCredential, plan};

use super::{CliError, Context};
use crate::client::{ClientError, WidClient};
use crate::output::{print_item, print_list};

const API: &str = super::identity::API_VERSION;

/// `wid deployment ...`
#[derive(Debug, Subcommand)]
pub enum DeploymentCommand {
    /// Define an Airflow deployment.
    Create(CreateArgs),
    /// Show a deployment: its components and the subject each runs as.
    Show(NameArg),
    /// List deployments.
    List,
    /// Delete a deployment (its credentials stay; unassign first).
    Delete(NameArg),
    /// Give every component a federated credential on a managed identity.
    AssignIdentity(AssignArgs),
    /// Remove exactly the credentials assign-identity created.
    UnassignIdentity(NameArg),
}

/// A deployment name.
#[derive(Debug, Args)]
pub struct NameArg {
    /// The deployment.
    name: String,
}

/// Flags of `create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The deployment's name.
    name: String,
    /// Its Kubernetes namespace.
    #[arg(long)]
    namespace: String,
    /// Airflow's major version.
    #[arg(long, value_parser = ["2", "3"], default_value = "3")]
    airflow_version: String,
    /// Add the KubernetesPodOperator task-pod service account (airflow-kpo).
    #[arg(long)]
    with_kpo: bool,
    /// Add the webserver (Airflow 2).
    #[arg(long)]
    with_webserver: bool,
    /// A service account other than airflow-<component>: COMPONENT=NAME (repeatable).
    #[arg(long = "service-account", value_name = "COMPONENT=NAME")]
    service_accounts: Vec<String>,
}

/// Flags of `assign-identity`.
#[derive(Debug, Args)]
pub struct AssignArgs {
    /// The deployment.
    name: String,
    /// The managed identity.
    #[arg(long)]
    identity_name: String,
    /// Its resource group.
    #[arg(long, short = 'g')]
    resource_group: String,
    /// The cluster's OIDC issuer (default: wid's issuer).
    #[arg(long)]
    issuer: Option<String>,
    /// Print the plan and change nothing.
    #[arg(long)]
    dry_run: bool,
}

async fn api(
    ctx: &Context,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), CliError> {
    super::connections::api_call(ctx, method, path, body).await
}

fn detail(v: &Value) -> String {
    v["detail"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| v["detail"].to_string())
}

async fn load(ctx: &Context, name: &str) -> Result<(Deployment, Value), CliError> {
    let (s, v) = api(
        ctx,
        Method::GET,
        &format!("/api/v2/deployments/{name}"),
        None,
    )
    .await?;
    if s != 200 {
        return Err(CliError::Message(detail(&v)));
    }
    let d: Deployment = serde_json::from_value(v["deployment"].clone())
        .map_err(|e| CliError::Message(e.to_string()))?;
    Ok((d, v))
}

/// PUT or DELETE with retries on ARM's 409 (concurrent writes) and 429, honouring
/// Retry-After, at most 8 attempts.
async fn write_with_retry(
    client: &WidClient,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), ClientError> {
    let mut delay = Duration::from_millis(250);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match client.arm(method.clone(), path, API, body).await {
            Err(ClientError::Arm { status, .. })
                if (status == 409 || status == 429) && attempt < 8 =>
            {
                eprintln!(
                    "  ARM answered {status}; retrying in {} ms",
                    delay.as_millis()
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(8));
            }
            other => return other,
        }
    }
}

fn existing_of(list: &[Value]) -> Vec<ExistingCredential> {
    list.iter()
        .map(|f| ExistingCredential {
            name: f["name"].as_str().unwrap_or_default().into(),
            issuer: f["properties"]["issuer"]
                .as_str()
                .unwrap_or_default()
                .into(),
            subject: f["properties"]["subject"]
                .as_str()
                .unwrap_or_default()
                .into(),
        })
        .collect()
}

/// Runs `wid deployment ...`.
pub async fn run(ctx: &Context, cmd: DeploymentCommand) -> Result<(), CliError> {
    match cmd {
        DeploymentCommand::Create(a) => {
            let mut sas = Vec::new();
            for s in &a.service_accounts {
                let (c, n) = s.split_once('=').ok_or_else(|| {
                    CliError::Message(format!("--service-account takes COMPONENT=NAME, got '{s}'"))
                })?;
                sas.push((c.to_string(), n.to_string()));
            }
            let d = Deployment {
                name: a.name.clone(),
                namespace: a.namespace.clone(),
                airflow_version: a.airflow_version.parse().unwrap_or(3),
                with_kpo: a.with_kpo,
                with_webserver: a.with_webserver,
                service_accounts: sas,
            };
            let (s, v) = api(
                ctx,
                Method::POST,
                "/api/v2/deployments",
                Some(&serde_json::to_value(&d).unwrap_or_default()),
            )
            .await?;
            if s != 201 {
                return Err(CliError::Message(format!(
                    "creating deployment {} failed (HTTP {s}): {}",
                    a.name,
                    detail(&v)
                )));
            }
            print_list(
                ctx.output,
                v["components"].as_array().map(Vec::as_slice).unwrap_or(&[]),
                &COMPONENT_COLUMNS,
            );
        }
        DeploymentCommand::Show(a) => {
            let (_, v) = load(ctx, &a.name).await?;
            match ctx.output {
                crate::output::Format::Json => {
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default())
                }
                crate::output::Format::Table => {
                    println!(
                        "Deployment {} (namespace {}, Airflow {})",
                        a.name,
                        v["deployment"]["namespace"].as_str().unwrap_or(""),
                        v["deployment"]["airflow_version"]
                    );
                    print_list(
                        ctx.output,
                        v["components"].as_array().map(Vec::as_slice).unwrap_or(&[]),
                        &COMPONENT_COLUMNS,
                    );
                    if let Some(asg) = v["assignment"].as_object() {
                        println!(
                            "Identity: {} (resource group {})",
                            asg.get("identity_name")
                                .and_then(Value::as_str)
                                .unwrap_or(""),
                            asg.get("resource_group")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                        );
                    }
                }
            }
        }
        DeploymentCommand::List => {
            let (_, v) = api(ctx, Method::GET, "/api/v2/deployments", None).await?;
            let rows: Vec<Value> = v["deployments"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|d| json!({"name": d["name"], "namespace": d["deployment"]["namespace"], "airflow": d["deployment"]["airflow_version"], "identity": d["assignment"]["identity_name"]}))
                .collect();
            print_list(
                ctx.output,
                &rows,
                &[
                    ("Name", "name"),
                    ("Namespace", "namespace"),
                    ("Airflow", "airflow"),
                    ("Identity", "identity"),
                ],
            );
        }
        DeploymentCommand::Delete(a) => {
            let (s, v) = api(
                ctx,
                Method::DELETE,
                &format!("/api/v2/deployments/{}", a.name),
                None,
            )
            .await?;
            if s != 204 {
                return Err(CliError::Message(detail(&v)));
            }
            eprintln!("deleted deployment {}", a.name);
        }
        DeploymentCommand::AssignIdentity(a) => assign(ctx, a).await?,
        DeploymentCommand::UnassignIdentity(a) => {
            let (d, v) = load(ctx, &a.name).await?;
            let Some(asg) = v["assignment"].as_object().cloned() else {
                eprintln!(
                    "deployment {} has no identity assigned; nothing to do",
                    d.name
                );
                return Ok(());
            };
            let client = ctx.client().await?;
            let base = asg
                .get("identity_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let created: Vec<String> = asg
                .get("created")
                .and_then(Value::as_array)
                .map(|c| {
                    c.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            for (i, name) in created.iter().enumerate() {
                eprintln!(
                    "[{}/{}] deleting federated credential {name}",
                    i + 1,
                    created.len()
                );
                write_with_retry(
                    &client,
                    Method::DELETE,
                    &format!("{base}/federatedIdentityCredentials/{name}"),
                    None,
                )
                .await?;
            }
            api(
                ctx,
                Method::PUT,
                &format!("/api/v2/deployments/{}/assignment", d.name),
                Some(&Value::Null),
            )
            .await?;
            println!(
                "Removed {} federated credential(s) of deployment {}.",
                created.len(),
                d.name
            );
        }
    }
    Ok(())
}

const COMPONENT_COLUMNS: [(&str, &str); 3] = [
    ("Component", "name"),
    ("Service account", "service_account"),
    ("Subject", "subject"),
];

async fn assign(ctx: &Context, a: AssignArgs) -> Result<(), CliError> {
    let (d, v) = load(ctx, &a.name).await?;
    let client = ctx.client().await?;
    let sub = client.target.subscription_id.clone();
    let identity_path = format!(
        "/subscriptions/{sub}/resourceGroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
        a.resource_group, a.identity_name
    );
    let (_, identity) = client.arm(Method::GET, &identity_path, API, None).await?;
    let issuer = match &a.issuer {
        Some(i) => i.clone(),
        None => super::issuer::issuer_url(ctx).await?,
    };
    let fics = format!("{identity_path}/federatedIdentityCredentials");
    let existing = existing_of(&client.arm_list(&fics, API, None).await?);
    let p = plan(&d, &issuer, &existing).map_err(|e| CliError::Message(e.to_string()))?;
    for (name, component) in &p.reuse {
        eprintln!("= {component}: already federated by credential '{name}'");
    }
    for (name, component, subject) in &p.create {
        eprintln!("+ {component}: create '{name}' for {subject}");
    }
    if a.dry_run {
        println!(
            "Plan for deployment {}: {} to create, {} already in place (dry run: nothing changed).",
            d.name,
            p.create.len(),
            p.reuse.len()
        );
        return Ok(());
    }
    let previous: Vec<String> = v["assignment"]["created"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let mut created: Vec<String> = previous
        .into_iter()
        .filter(|n| existing.iter().any(|e| &e.name == n) || p.create.iter().any(|c| &c.0 == n))
        .collect();
    let audience = ctx.cloud.token_exchange_audience;
    for (i, (name, component, subject)) in p.create.iter().enumerate() {
        eprintln!(
            "[{}/{}] {component}: creating federated credential {name}",
            i + 1,
            p.create.len()
        );
        let body =
            json!({"properties": {"audiences": [audience], "issuer": issuer, "subject": subject}});
        match write_with_retry(&client, Method::PUT, &format!("{fics}/{name}"), Some(&body)).await {
            Ok(_) => {
                if !created.contains(name) {
                    created.push(name.clone());
                }
            }
            // Another writer federated the same subject under another name meanwhile.
            Err(ClientError::Arm {
                status: 400,
                message,
                ..
            }) if message.contains("Issuer and subject combination already exists") => {
                eprintln!("  {component}: already federated by another credential; reusing it");
            }
            Err(e) => return Err(e.into()),
        }
    }
    // The identity's principal and client ids: a token naming either (`oid`, `appid`) may read
    // this deployment's linked connections through the secrets route.
    let record = json!({"identity_id": identity_path, "identity_name": a.identity_name, "resource_group": a.resource_group, "principal_id": identity["properties"]["principalId"], "client_id": identity["properties"]["clientId"], "issuer": issuer, "created": created});
    let (s, v) = api(
        ctx,
        Method::PUT,
        &format!("/api/v2/deployments/{}/assignment", d.name),
        Some(&record),
    )
    .await?;
    if s != 204 {
        return Err(CliError::Message(format!(
            "recording the assignment failed: {}",
            detail(&v)
        )));
    }
    if p.create.is_empty() {
        println!(
            "Nothing to do: all {} components of deployment {} are already federated on {}.",
            p.reuse.len(),
            d.name,
            a.identity_name
        );
    } else {
        println!(
            "Created {} federated credential(s) for deployment {} on {} ({} already in place).",
            p.create.len(),
            d.name,
            a.identity_name,
            p.reuse.len()
        );
    }
    print_item(
        ctx.output,
        &json!({"deployment": d.name, "identity": a.identity_name, "created": p.create.len(), "reused": p.reuse.len()}),
        &[
            ("Deployment", "deployment"),
            ("Identity", "identity"),
            ("Created", "created"),
            ("Reused", "reused"),
        ],
    );
    Ok(())
}
