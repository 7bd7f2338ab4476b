//! `wid doctor`: diagnoses a workload identity connection from where it runs (a pod, or a
//! shell after `eval "$(wid env ...)"`) and names the first cause with its fix.
//!
//! A client like `wid token`: it uses `wid-credential` and the wire only, never the stand-in
//! cloud's internals, so the same code runs against real Azure with `--cloud`. The checks
//! run in groups, in order (connection, pod environment, projected token, issuer, identity,
//! exchange, permissions); those that need the network run concurrently, each within
//! `--timeout`, so an endpoint that hangs is named and the run still ends in time.

mod connection;
mod environment;
mod exchange;
mod federation;
mod identity;
mod issuer;
mod net;
mod permissions;
mod report;
mod token;

use std::time::{Duration, Instant};

use clap::Args;

use super::{CliError, Context};
use crate::output::Format;
pub use report::{Check, Report, Status};

/// Flags of `wid doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The connection id, as DAGs name it.
    #[arg(long, default_value = "azure_default")]
    conn_id: String,
    /// Take the connection from this deployment's link (overrides applied), and the expected
    /// subject from --component.
    #[arg(long, requires = "component")]
    deployment: Option<String>,
    /// The deployment's component this pod runs (scheduler, worker, api-server, ...).
    #[arg(long, requires = "deployment")]
    component: Option<String>,
    /// The scope of the test exchange (default: the cloud's resource manager).
    #[arg(long)]
    scope: Option<String>,
    /// Seconds each endpoint may take before doctor reports it as hung; the whole run ends
    /// within 1.25 times this.
    #[arg(long, default_value_t = 2.0)]
    timeout: f64,
}

fn http_client(ctx: &Context) -> Result<reqwest::Client, CliError> {
    if ctx.cloud.name == "local" {
        let ca_path = ctx
            .ca_file
            .clone()
            .unwrap_or_else(|| ctx.home.ca_cert().display().to_string());
        if let Ok(ca) = std::fs::read(&ca_path) {
            return Ok(crate::client::http_client(Some(&ca), &ca_path)?);
        }
    }
    wid_credential::Pipeline::default_http().map_err(|e| CliError::Message(e.to_string()))
}

/// Runs every check and returns the report.
pub async fn diagnose(ctx: &Context, a: &DoctorArgs) -> Result<Report, CliError> {
    let started = Instant::now();
    let timeout = Duration::from_secs_f64(a.timeout.clamp(0.1, 120.0));
    let http = http_client(ctx)?;
    let net = net::Net::new(http.clone(), timeout);
    let endpoint = ctx.endpoint();
    let pod = environment::PodEnv::from_process();
    let conn = connection::check(
        ctx,
        &a.conn_id,
        a.deployment.as_deref(),
        a.component.as_deref(),
        &pod,
        net.budget(),
    )
    .await;
    let env = environment::check(ctx.cloud, &endpoint, &pod, &conn.fields);
    let expected = conn
        .component
        .as_ref()
        .map(|c| (c.name.as_str(), c.subject.as_str()));
    let tok = token::check(
        ctx.cloud,
        env.token_file.as_ref(),
        expected,
        ctx.clock.now(),
    );
    let scope = a
        .scope
        .clone()
        .unwrap_or_else(|| format!("{}/.default", ctx.cloud.arm_resource));
    // The operator's sign-in (on a cloud other than local, the credential chain, which may
    // run the Azure CLI) is bounded like every network check.
    let sign_in_budget = net.budget();
    let operator = match tokio::time::timeout(sign_in_budget, ctx.client()).await {
        Ok(r) => r.map_err(|e| e.to_string().lines().next().unwrap_or("").to_string()),
        Err(_) => Err(format!(
            "signing in did not finish within {:.1} s (raise --timeout)",
            sign_in_budget.as_secs_f64()
        )),
    };

    // The network checks, concurrently, each bounded.
    let clock = ctx.clock.clone();
    let skew = token::clock_skew(&net, &env.authority, env.tenant_id.as_deref(), || {
        clock.now()
    });
    let iss = issuer::check(&net, tok.projected.as_ref());
    let ident = identity::check(
        operator.as_ref().map_err(String::as_str),
        env.client_id.as_deref(),
        env.tenant_id.as_deref(),
        tok.projected.as_ref(),
        conn.component.as_ref(),
        net.budget(),
    );
    let exchange_budget = net.budget();
    let pipeline = exchange::bounded(http.clone(), ctx.clock.clone(), exchange_budget);
    let exch = async {
        match (&env.client_id, &env.tenant_id, &env.token_file) {
            (Some(client_id), Some(tenant_id), Some(file)) => Ok(exchange::check(
                pipeline,
                exchange::Request {
                    client_id,
                    tenant_id,
                    token_file: &file.path,
                    authority: &env.authority,
                    scope: &scope,
                },
                exchange_budget,
            )
            .await),
            (None, _, _) => {
                Err("no client id: neither the connection nor AZURE_CLIENT_ID sets one")
            }
            (_, None, _) => Err("no tenant: neither the connection nor AZURE_TENANT_ID sets one"),
            _ => Err("no readable token file (environment.token_file)"),
        }
    };
    let (skew, iss, ident, exch) = tokio::join!(skew, iss, ident, exch);

    let arm = if ctx.cloud.name == "local" {
        endpoint.clone()
    } else {
        ctx.cloud.resource_manager.to_string()
    };
    let arm_scope = format!("{}/.default", ctx.cloud.arm_resource);
    let (exchange_check, credential) = match exch {
        Ok(o) => (o.check, o.token.and(o.credential)),
        Err(why) => (Check::skipped("exchange.token", why), None),
    };
    let perms = permissions::check(
        &net,
        permissions::Inputs {
            subscription_id: conn.fields.subscription_id.as_deref(),
            credential: credential.as_ref(),
            arm: &arm,
            arm_scope: &arm_scope,
            identity: ident.identity.as_ref(),
            operator: operator.as_ref().ok(),
        },
        net.budget(),
    )
    .await;

    let mut checks = conn.checks;
    let mut env_checks = env.checks;
    if let Some(i) = &ident.identity {
        for c in &mut env_checks {
            environment::refine_consistency(c, &a.conn_id, &i.client_id, &i.tenant_id);
        }
    }
    checks.extend(env_checks);
    checks.extend(tok.checks);
    checks.push(skew);
    checks.extend(iss);
    checks.extend(ident.checks);
    checks.push(exchange_check);
    checks.push(perms);
    let mut report = Report {
        conn_id: a.conn_id.clone(),
        cloud: ctx.cloud.name.to_string(),
        checks,
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    report.sort();
    Ok(report)
}

/// Runs `wid doctor`: prints the report; exits non-zero when a check failed.
pub async fn run(ctx: &Context, a: DoctorArgs) -> Result<(), CliError> {
    let report = diagnose(ctx, &a).await?;
    match ctx.output {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report.to_json()).unwrap_or_default()
        ),
        Format::Table => print!("{}", report.to_text()),
    }
    match report.cause() {
        Some(c) => {
            let n = report
                .checks
                .iter()
                .filter(|c| c.status == Status::Failed)
                .count();
            Err(CliError::Message(format!(
                "doctor: {n} check(s) failed; first cause: {}: {}\nhint: {}",
                c.id,
                c.summary,
                c.fix.as_deref().unwrap_or("see above")
            )))
        }
        None => Ok(()),
    }
}
