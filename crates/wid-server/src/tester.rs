//! Testing a connection, which Airflow cannot do for `azure` (`AzureBaseHook` has no
//! `test_connection`): build the credential from the connection's fields exactly as Airflow's
//! provider does, get an ARM token, and, when `subscriptionId` is set, read the subscription.

use std::path::PathBuf;

use serde_json::Value;
use wid_credential::{
    ChainOptions, ClientSecretCredential, CredentialError, DefaultAzureCredential, Pipeline,
    Secret, WorkloadIdentityCredential,
};
use wid_model::connection::Connection;
use wid_model::connection::registry;

/// Where the credential's federated token comes from.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// The process environment, as Airflow's own processes have it (DefaultAzureCredential).
    Environment {
        /// The authority host in place of AZURE_AUTHORITY_HOST (`wid up
        /// --connection-test-authority`).
        authority: Option<String>,
    },
    /// A projected token file and the authority, for `wid connections test --as NS/SA`.
    File {
        /// The token file.
        path: PathBuf,
        /// The authority host.
        authority: String,
    },
}

/// The result, in Airflow's `{status, message}` shape.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TestOutcome {
    /// Success.
    pub status: bool,
    /// What happened.
    pub message: String,
}

fn fail(message: String) -> TestOutcome {
    TestOutcome {
        status: false,
        message,
    }
}

/// Where a test without a token file ran, and how to test as a component instead.
fn in_server_hint(conn_id: &str) -> String {
    format!(
        "The test ran in the wid server's own process, which has no pod environment. Test the connection as a deployment component instead: `wid connections test {conn_id} --as NAMESPACE/SERVICE_ACCOUNT`; or start `wid up` from a shell where eval \"$(wid env --namespace NAMESPACE --service-account SERVICE_ACCOUNT --client-id CLIENT_ID)\" has run."
    )
}

/// ARM's base URL for an authority: the public cloud's, or the stand-in's own host.
pub fn arm_for(authority: &str) -> String {
    let a = authority.trim_end_matches('/');
    match a {
        "https://login.microsoftonline.com" => "https://management.azure.com".into(),
        "https://login.microsoftonline.us" => "https://management.usgovcloudapi.net".into(),
        "https://login.chinacloudapi.cn" => "https://management.chinacloudapi.cn".into(),
        local => local.into(),
    }
}

/// Tests `conn`.
pub async fn test_connection(
    conn: &Connection,
    source: &TokenSource,
    http: reqwest::Client,
) -> TestOutcome {
    let Some(ty) = conn.conn_type.as_deref() else {
        return fail("the connection has no conn_type".into());
    };
    if ty != "azure" {
        return fail(format!(
            "wid tests connections of type 'azure'; '{ty}' has no test here"
        ));
    }
    let Some(azure) = registry::lookup("azure") else {
        return fail("no azure connection type".into());
    };
    let field = |name: &str| {
        azure
            .field_value(conn, name)
            .ok()
            .flatten()
            .map(|(v, _)| v)
            .filter(|v| !v.is_empty())
    };
    let mi_client = field("managed_identity_client_id");
    let wi_tenant = field("workload_identity_tenant_id");
    let tenant = field("tenantId");
    let subscription = field("subscriptionId");
    let validation = azure.validate(conn);
    let warnings: Vec<String> = validation.warnings.iter().map(|w| w.to_string()).collect();
    if !validation.is_ok() {
        let errs: Vec<String> = validation.errors.iter().map(|e| e.to_string()).collect();
        return fail(format!("Connection failed!\n{}", errs.join("\n")));
    }
    let scope = "https://management.azure.com/.default";
    let mut pipeline = Pipeline::new(http.clone());
    pipeline.retry.max_total = std::time::Duration::from_secs(20);
    let (token, how, authority) = match source {
        TokenSource::File { path, authority } => {
            let (Some(c), Some(t)) = (&mi_client, &wi_tenant) else {
                return fail("Connection failed!\nset both managed_identity_client_id and workload_identity_tenant_id: Airflow passes them to DefaultAzureCredential only when both are set".into());
            };
            let cred = match WorkloadIdentityCredential::new(
                Some(c),
                Some(t),
                Some(path),
                Some(authority),
                pipeline,
            ) {
                Ok(c) => c,
                Err(e) => return fail(format!("Connection failed!\n{e}")),
            };
            (
                cred.get_token(&[scope]).await,
                "WorkloadIdentityCredential".to_string(),
                authority.clone(),
            )
        }
        TokenSource::Environment { authority } => {
            let authority = authority
                .clone()
                .or_else(|| std::env::var("AZURE_AUTHORITY_HOST").ok())
                .unwrap_or_else(|| "https://login.microsoftonline.com".into());
            if let (Some(login), Some(password), Some(tenant)) =
                (&conn.login, &conn.password, &tenant)
            {
                let cred = ClientSecretCredential::with_pipeline(
                    &authority,
                    tenant,
                    login,
                    Secret::new(password.expose_str()),
                    pipeline,
                );
                (
                    cred.get_token(scope, 0).await,
                    "ClientSecretCredential".to_string(),
                    authority,
                )
            } else {
                let mut opts = ChainOptions {
                    authority: Some(authority.clone()),
                    ..Default::default()
                };
                if let (Some(c), Some(t)) = (&mi_client, &wi_tenant) {
                    opts.managed_identity_client_id = Some(c.clone());
                    opts.workload_identity_tenant_id = Some(t.clone());
                    opts.additionally_allowed_tenants = vec![t.clone()];
                }
                match DefaultAzureCredential::new(opts, pipeline) {
                    Ok(dac) => {
                        let r = dac.get_token(&[scope]).await.map_err(|e| match e {
                            CredentialError::Chain(text) => CredentialError::Chain(format!(
                                "{text}\n{}",
                                in_server_hint(conn.conn_id.as_deref().unwrap_or("<conn_id>"))
                            )),
                            e => e,
                        });
                        (
                            r,
                            format!(
                                "DefaultAzureCredential ({})",
                                dac.selected().unwrap_or("no link")
                            ),
                            authority,
                        )
                    }
                    Err(e) => return fail(format!("Connection failed!\n{e}")),
                }
            }
        }
    };
    let token = match token {
        Ok(t) => t,
        Err(e) => return fail(format!("Connection failed!\n{e}")),
    };
    let mut message = format!("Connection success! {how} got an ARM token");
    if let Some(sub) = subscription {
        let url = format!(
            "{}/subscriptions/{sub}?api-version=2022-12-01",
            arm_for(&authority)
        );
        match http
            .get(&url)
            .bearer_auth(token.token.expose_str())
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => {
                let v: Value = r.json().await.unwrap_or(Value::Null);
                message.push_str(&format!(
                    " and read subscription {sub} ('{}')",
                    v["displayName"].as_str().unwrap_or("")
                ));
            }
            Ok(r) => {
                let status = r.status().as_u16();
                let v: Value = r.json().await.unwrap_or(Value::Null);
                return fail(format!(
                    "Connection failed!\nthe token works, but reading subscription {sub} failed: HTTP {status} {} {}",
                    v["error"]["code"].as_str().unwrap_or(""),
                    v["error"]["message"].as_str().unwrap_or("")
                ));
            }
            Err(e) => return fail(format!("Connection failed!\ncannot reach {url}: {e}")),
        }
    }
    if !warnings.is_empty() {
        message.push_str(&format!("\nwarnings:\n{}", warnings.join("\n")));
    }
    TestOutcome {
        status: true,
        message,
    }
}
