//! Check group 1, the connection: where Airflow finds it (a deployment's link with its
//! overrides, an `AIRFLOW_CONN_*` variable, the store), its type, the two workload identity
//! fields, and its cloud.

use reqwest::Method;
use serde_json::Value;
use wid_model::CloudProfile;
use wid_model::connection::env::{env_var_name_unchecked, from_env_value};
use wid_model::connection::registry::{AZURE, RegistryError, Warning};
use wid_model::connection::{Connection, UriFlavor};

use super::report::Check;
use crate::cli::Context;

const MI: &str = "managed_identity_client_id";
const WT: &str = "workload_identity_tenant_id";

/// A component of a deployment, and the subject its pods run as.
#[derive(Debug, Clone)]
pub struct Component {
    /// The deployment.
    pub deployment: String,
    /// The component (`worker`, ...).
    pub name: String,
    /// `system:serviceaccount:<namespace>:<service account>`.
    pub subject: String,
}

/// What the connection gives the credential, as Airflow's provider reads it.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    /// `managed_identity_client_id`.
    pub client_id: Option<String>,
    /// `workload_identity_tenant_id`.
    pub tenant_id: Option<String>,
    /// `subscriptionId`.
    pub subscription_id: Option<String>,
}

impl Fields {
    /// Whether Airflow passes the two fields to DefaultAzureCredential (only when both are set).
    pub fn both(&self) -> bool {
        self.client_id.is_some() && self.tenant_id.is_some()
    }
}

/// The outcome of group 1.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The checks.
    pub checks: Vec<Check>,
    /// The connection's fields (empty when it was not found).
    pub fields: Fields,
    /// Whether the connection was found.
    pub found: bool,
    /// The component, with `--deployment` and `--component`.
    pub component: Option<Component>,
}

fn extra_str(conn: &Connection, key: &str) -> Option<String> {
    let extra = conn.extra_object().ok()??;
    match extra.get(key)? {
        wid_model::connection::pyjson::Value::Str(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn add_command(conn_id: &str, client_id: Option<&str>, tenant_id: Option<&str>) -> String {
    format!(
        "wid connections add {conn_id} --conn-type azure --conn-extra '{{\"{MI}\": \"{}\", \"{WT}\": \"{}\"}}'",
        client_id.unwrap_or("<managed identity client id>"),
        tenant_id.unwrap_or("<tenant id>")
    )
}

async fn api_get(
    ctx: &Context,
    path: &str,
    timeout: std::time::Duration,
) -> Result<(u16, Value), String> {
    match tokio::time::timeout(
        timeout,
        crate::cli::connections::api_call(ctx, Method::GET, path, None),
    )
    .await
    {
        Err(_) => Err(format!(
            "{}{path} did not answer within {:.1} s (it hung)",
            ctx.endpoint(),
            timeout.as_secs_f64()
        )),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(r)) => Ok(r),
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Finds the connection and checks it.
pub async fn check(
    ctx: &Context,
    conn_id: &str,
    deployment: Option<&str>,
    component: Option<&str>,
    pod: &super::environment::PodEnv,
    timeout: std::time::Duration,
) -> Outcome {
    let mut out = Outcome::default();
    const ID: &str = "connection.found";
    let found: Result<(Connection, Check), Check> = match deployment {
        Some(dep) => from_deployment(ctx, conn_id, dep, component, timeout, &mut out).await,
        None => from_env_or_store(ctx, conn_id, pod, timeout).await,
    };
    let conn = match found {
        Ok((conn, check)) => {
            out.checks.push(check);
            out.found = true;
            conn
        }
        Err(check) => {
            out.checks.push(check);
            for id in ["connection.type", "connection.fields", "connection.cloud"] {
                out.checks
                    .push(Check::skipped(id, format!("no connection ({ID} failed)")));
            }
            return out;
        }
    };
    check_connection(ctx.cloud, conn_id, &conn, pod, &mut out);
    out
}

async fn from_env_or_store(
    ctx: &Context,
    conn_id: &str,
    pod: &super::environment::PodEnv,
    timeout: std::time::Duration,
) -> Result<(Connection, Check), Check> {
    const ID: &str = "connection.found";
    let var = env_var_name_unchecked(conn_id);
    if let Some(value) = std::env::var(&var).ok().filter(|v| !v.trim().is_empty()) {
        return match from_env_value(conn_id, &value, UriFlavor::Core) {
            Ok(mut c) => {
                c.conn_id = Some(conn_id.into());
                Ok((
                    c,
                    Check::passed(ID, format!("environment variable {var}"))
                        .with("source", format!("environment variable {var}")),
                ))
            }
            Err(e) => Err(Check::failed(
                ID,
                format!(
                    "{var} is set but Airflow cannot read it: {}",
                    without_value(&e.to_string(), &value)
                ),
                format!("set {var} to a connection URI (`wid connections get {conn_id} -o json` shows one) or Airflow's JSON form"),
            )
            .with("source", format!("environment variable {var}"))),
        };
    }
    let path = format!("/api/v2/connections/{}", enc(conn_id));
    let fix = add_command(conn_id, pod.client_id.as_deref(), pod.tenant_id.as_deref());
    match api_get(ctx, &path, timeout).await {
        Ok((200, v)) => {
            let mut c = crate::cli::connections::connection_of(&v);
            c.conn_id = Some(conn_id.into());
            // The API never returns the password; doctor has no use for it.
            c.password = None;
            Ok((
                c,
                Check::passed(ID, format!("the store ({})", ctx.endpoint()))
                    .with("source", format!("store {}{path}", ctx.endpoint()))
                    .with("not set", var),
            ))
        }
        Ok((404, _)) => Err(Check::failed(
            ID,
            format!("no connection '{conn_id}': {var} is not set and the store has none"),
            fix,
        )
        .with("environment variable", format!("{var} not set"))
        .with("store", format!("{}{path}: 404", ctx.endpoint()))),
        Ok((s, v)) => Err(Check::failed(
            ID,
            format!("{var} is not set and the store answered HTTP {s}"),
            format!("check the API key (WID_API_KEY or $WID_HOME/api-key); or set {var}"),
        )
        .with("store", format!("{}{path}: {s} {}", ctx.endpoint(), v["detail"]))),
        Err(e) => Err(Check::failed(
            ID,
            format!("{var} is not set and the store cannot be read"),
            format!("set {var} in the pod (as Airflow reads it), or point WID_ENDPOINT/WID_HOME at the wid server; to create it: {fix}"),
        )
        .with("environment variable", format!("{var} not set"))
        .with("store", e)),
    }
}

/// An error text with the variable's value taken out: wid-model's errors quote the value,
/// and a connection URI may hold a password.
fn without_value(message: &str, value: &str) -> String {
    let mut out = message.replace(&format!("{value:?}"), "<the value>");
    if let Some((cut, _)) = value.char_indices().nth(200) {
        out = out.replace(&format!("{:?}", &value[..cut]), "<the value>");
    }
    out
}

async fn from_deployment(
    ctx: &Context,
    conn_id: &str,
    dep: &str,
    component: Option<&str>,
    timeout: std::time::Duration,
    out: &mut Outcome,
) -> Result<(Connection, Check), Check> {
    const ID: &str = "connection.found";
    let path = format!("/api/v2/deployments/{}", enc(dep));
    let d = match api_get(ctx, &path, timeout).await {
        Ok((200, v)) => v,
        Ok((s, v)) => {
            return Err(Check::failed(
                ID,
                format!("deployment '{dep}' cannot be read (HTTP {s})"),
                format!("create it: `wid deployment create {dep} --namespace <namespace>`; list them: `wid deployment list`"),
            )
            .with("deployment", format!("{}{path}: {s} {}", ctx.endpoint(), v["detail"])));
        }
        Err(e) => {
            return Err(Check::failed(
                ID,
                format!("deployment '{dep}' cannot be read"),
                "point WID_ENDPOINT/WID_HOME at the wid server that holds the deployment",
            )
            .with("deployment", e));
        }
    };
    if let Some(name) = component {
        let comps = d["components"].as_array().cloned().unwrap_or_default();
        match comps.iter().find(|c| c["name"] == name) {
            Some(c) => {
                out.component = Some(Component {
                    deployment: dep.into(),
                    name: name.into(),
                    subject: c["subject"].as_str().unwrap_or("").into(),
                })
            }
            None => {
                let names: Vec<&str> = comps.iter().filter_map(|c| c["name"].as_str()).collect();
                return Err(Check::failed(
                    ID,
                    format!("deployment '{dep}' has no component '{name}'"),
                    format!("use one of: {}", names.join(", ")),
                ));
            }
        }
    }
    let lpath = format!("{path}/connections");
    let links = match api_get(ctx, &lpath, timeout).await {
        Ok((200, v)) => v["connections"].as_array().cloned().unwrap_or_default(),
        Ok((s, v)) => {
            return Err(Check::failed(
                ID,
                format!("the links of deployment '{dep}' cannot be read (HTTP {s})"),
                "check the API key (WID_API_KEY or $WID_HOME/api-key)",
            )
            .with(
                "links",
                format!("{}{lpath}: {s} {}", ctx.endpoint(), v["detail"]),
            ));
        }
        Err(e) => {
            return Err(Check::failed(
                ID,
                format!("the links of deployment '{dep}' cannot be read"),
                "point WID_ENDPOINT/WID_HOME at the wid server that holds the deployment",
            )
            .with("links", e));
        }
    };
    let Some(link) = links.iter().find(|c| c["connection_id"] == conn_id) else {
        let ids: Vec<&str> = links
            .iter()
            .filter_map(|c| c["connection_id"].as_str())
            .collect();
        return Err(Check::failed(
            ID,
            format!("connection '{conn_id}' is not linked to deployment '{dep}'"),
            format!("wid connections link {conn_id} --deployment {dep}"),
        )
        .with(
            "linked",
            if ids.is_empty() {
                "(none)".into()
            } else {
                ids.join(", ")
            },
        ));
    };
    let mut c = crate::cli::connections::connection_of(link);
    c.conn_id = Some(conn_id.into());
    c.password = None;
    let overrides = link["overrides"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().map_or(v.to_string(), String::from)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "(none)".into());
    Ok((
        c,
        Check::passed(ID, format!("linked to deployment '{dep}'"))
            .with("source", format!("deployment {dep} link"))
            .with("overrides", overrides),
    ))
}

fn check_connection(
    cloud: &'static CloudProfile,
    conn_id: &str,
    conn: &Connection,
    pod: &super::environment::PodEnv,
    out: &mut Outcome,
) {
    let v = AZURE.validate(conn);
    out.checks.push(type_check(conn_id, conn, pod, &v));
    let (fields, check) = fields_check(conn_id, conn, pod, &v);
    out.checks.push(check);
    out.checks.push(cloud_check(cloud, conn_id, conn));
    out.fields = fields;
}

/// `connection.type`.
fn type_check(
    conn_id: &str,
    conn: &Connection,
    pod: &super::environment::PodEnv,
    v: &wid_model::connection::Validation,
) -> Check {
    match v
        .errors
        .iter()
        .find(|e| matches!(e, RegistryError::WrongType { .. }))
    {
        Some(e) => Check::failed(
            "connection.type",
            e.to_string(),
            format!(
                "recreate it with --conn-type azure: `wid connections delete {conn_id}` then {}",
                add_command(conn_id, pod.client_id.as_deref(), pod.tenant_id.as_deref())
            ),
        )
        .with(
            "conn_type",
            conn.conn_type.clone().unwrap_or_else(|| "(unset)".into()),
        ),
        None => Check::passed("connection.type", "azure").with("conn_type", "azure"),
    }
}

/// `connection.fields`: the two workload identity fields as the provider reads them.
fn fields_check(
    conn_id: &str,
    conn: &Connection,
    pod: &super::environment::PodEnv,
    v: &wid_model::connection::Validation,
) -> (Fields, Check) {
    let fields = Fields {
        client_id: extra_str(conn, MI),
        tenant_id: extra_str(conn, WT),
        subscription_id: extra_str(conn, "subscriptionId"),
    };
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not set)".into());
    let mut check = None;
    let other_errors: Vec<String> = v
        .errors
        .iter()
        .filter(|e| !matches!(e, RegistryError::WrongType { .. }))
        .map(ToString::to_string)
        .collect();
    if let Some(e) = other_errors.first() {
        check = Some(Check::failed(
            "connection.fields",
            e.clone(),
            "copy the ids from `wid identity show` (or `az identity show`): Client ID and Tenant ID",
        ));
    }
    for w in &v.warnings {
        if check.is_some() {
            break;
        }
        check = match w {
            Warning::PartialWorkloadIdentity { missing, .. } => {
                let value = if *missing == WT {
                    pod.tenant_id.clone()
                } else {
                    pod.client_id.clone()
                };
                let env = if *missing == WT {
                    "AZURE_TENANT_ID"
                } else {
                    "AZURE_CLIENT_ID"
                };
                Some(Check::failed(
                    "connection.fields",
                    format!(
                        "only one of the two workload identity fields is set: Airflow ignores it and falls back to a bare DefaultAzureCredential(); {missing} is missing"
                    ),
                    format!(
                        "set {missing} to {} in the extra of connection {conn_id}",
                        value.map_or(
                            format!("the identity's value (the pod's {env})"),
                            |v| format!("\"{v}\"")
                        )
                    ),
                ))
            }
            Warning::ClientSecretWins { .. } => Some(Check::failed(
                "connection.fields",
                w.to_string(),
                format!(
                    "remove login and password from connection {conn_id}: a workload identity needs no secret"
                ),
            )),
            Warning::LegacyKey { field, .. } if [MI, WT].contains(field) => Some(Check::failed(
                "connection.fields",
                w.to_string(),
                format!("store `{field}` unprefixed in the extra of connection {conn_id}"),
            )),
            Warning::ConflictingKeys { .. } => Some(Check::warned(
                "connection.fields",
                w.to_string(),
                "remove the legacy extra__azure__ keys",
            )),
            _ => None,
        };
    }
    let check = check.unwrap_or_else(|| {
        if fields.both() {
            Check::passed("connection.fields", "managed_identity_client_id and workload_identity_tenant_id are set, GUID-shaped")
        } else {
            Check::warned(
                "connection.fields",
                "neither managed_identity_client_id nor workload_identity_tenant_id is set: Airflow uses a bare DefaultAzureCredential() with whatever identity the pod's environment offers",
                format!("set both in the extra of connection {conn_id}, e.g. {}", add_command(conn_id, pod.client_id.as_deref(), pod.tenant_id.as_deref())),
            )
        }
    });
    let check = check
        .with(MI, show(&fields.client_id))
        .with(WT, show(&fields.tenant_id))
        .with("subscriptionId", show(&fields.subscription_id));
    (fields, check)
}

/// `connection.cloud`: `cloud_environment` against `--cloud`.
fn cloud_check(cloud: &'static CloudProfile, conn_id: &str, conn: &Connection) -> Check {
    let env = extra_str(conn, "cloud_environment");
    let wanted = match cloud.name {
        "local" | "AzureCloud" => "AzurePublicCloud",
        other => other,
    };
    let c = match env.as_deref() {
        None if wanted == "AzurePublicCloud" => Check::passed(
            "connection.cloud",
            "the public cloud (cloud_environment not set)",
        ),
        None => Check::warned(
            "connection.cloud",
            format!(
                "cloud_environment is not set, so the provider uses the public cloud; --cloud is {}",
                cloud.name
            ),
            format!("set cloud_environment to \"{wanted}\" in the extra of connection {conn_id}"),
        ),
        Some(e) if e == wanted => Check::passed("connection.cloud", e.to_string()),
        Some(e) if wid_model::connection::registry::AZURE_CLOUD_ENVIRONMENTS.contains(&e) => {
            Check::failed(
                "connection.cloud",
                format!(
                    "cloud_environment is {e}, but doctor checks --cloud {}",
                    cloud.name
                ),
                format!(
                    "set cloud_environment to \"{wanted}\" in connection {conn_id}, or run doctor with the connection's cloud"
                ),
            )
        }
        Some(e) => Check::warned(
            "connection.cloud",
            format!(
                "cloud_environment '{e}' is unknown to Airflow, which uses AzurePublicCloud instead"
            ),
            format!("set cloud_environment to \"{wanted}\""),
        ),
    };
    c.with("cloud", cloud.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_never_quotes_the_value() {
        let v = "azure://u:pw@h:99999/";
        assert_eq!(
            without_value(&format!("bad URI {v:?}: port"), v),
            "bad URI <the value>: port"
        );
        let long = format!("azure://u:pw@h/?x={}", "a".repeat(300));
        let cut = long.char_indices().nth(200).unwrap().0;
        let msg = format!("bad URI {:?}... (320 bytes)", &long[..cut]);
        assert!(!without_value(&msg, &long).contains("pw"));
    }
}
