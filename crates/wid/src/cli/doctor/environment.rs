//! Check group 2, the pod's environment: the four variables the workload identity webhook
//! injects, their agreement with the connection, and the token file readable by this user.

use std::path::PathBuf;
use std::time::SystemTime;

use wid_credential::Secret;
use wid_model::CloudProfile;

use super::connection::Fields;
use super::report::Check;

/// The webhook's variables, as this process sees them (empty counts as unset).
#[derive(Debug, Clone, Default)]
pub struct PodEnv {
    /// `AZURE_CLIENT_ID`.
    pub client_id: Option<String>,
    /// `AZURE_TENANT_ID`.
    pub tenant_id: Option<String>,
    /// `AZURE_FEDERATED_TOKEN_FILE`.
    pub token_file: Option<PathBuf>,
    /// `AZURE_AUTHORITY_HOST`.
    pub authority_host: Option<String>,
}

impl PodEnv {
    /// Reads the process environment.
    pub fn from_process() -> Self {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        PodEnv {
            client_id: var("AZURE_CLIENT_ID"),
            tenant_id: var("AZURE_TENANT_ID"),
            token_file: var("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from),
            authority_host: var("AZURE_AUTHORITY_HOST"),
        }
    }
}

/// The projected token file, read.
pub struct TokenFile {
    /// Its path.
    pub path: PathBuf,
    /// Its content, trimmed (a secret: never printed).
    pub jwt: Secret,
    /// Its modification time.
    pub mtime: Option<SystemTime>,
}

/// The outcome of group 2.
pub struct Outcome {
    /// The checks.
    pub checks: Vec<Check>,
    /// The token file, when readable.
    pub token_file: Option<TokenFile>,
    /// The authority the SDK would use.
    pub authority: String,
    /// The client id Airflow's credential uses (connection, else environment).
    pub client_id: Option<String>,
    /// The tenant Airflow's credential uses (connection, else environment).
    pub tenant_id: Option<String>,
}

const WEBHOOK_FIX: &str = "label the pod template azure.workload.identity/use: \"true\", annotate its service account azure.workload.identity/client-id: <client id>, and recreate the pod (the webhook mutates pods only at creation)";

fn local_fix(ctx_endpoint: &str, client_id: Option<&str>) -> String {
    format!(
        "locally: eval \"$(wid env --endpoint {ctx_endpoint} --namespace <namespace> --service-account <service account> --client-id {})\"",
        client_id.unwrap_or("<client id>")
    )
}

/// Runs group 2.
pub fn check(cloud: &'static CloudProfile, endpoint: &str, pod: &PodEnv, conn: &Fields) -> Outcome {
    let local = cloud.name == "local";
    let expected_authority = if local {
        endpoint.to_string()
    } else {
        cloud.authority_host.to_string()
    };
    let authority = pod
        .authority_host
        .as_deref()
        .map(normalize_authority)
        .unwrap_or_else(|| expected_authority.clone());
    let mut token_file = None;
    let checks = vec![
        variables(cloud, endpoint, pod, conn, &authority, &expected_authority),
        consistency(pod, conn),
        token_file_check(local, pod, &mut token_file),
    ];
    Outcome {
        checks,
        token_file,
        authority,
        client_id: if conn.both() {
            conn.client_id.clone()
        } else {
            pod.client_id.clone()
        },
        tenant_id: if conn.both() {
            conn.tenant_id.clone()
        } else {
            pod.tenant_id.clone()
        },
    }
}

/// `environment.variables`: all four set, the authority this cloud's.
fn variables(
    cloud: &'static CloudProfile,
    endpoint: &str,
    pod: &PodEnv,
    conn: &Fields,
    authority: &str,
    expected_authority: &str,
) -> Check {
    const ID: &str = "environment.variables";
    let local = cloud.name == "local";
    let fix_env = if local {
        format!(
            "{}; in a pod: {WEBHOOK_FIX}",
            local_fix(
                endpoint,
                conn.client_id.as_deref().or(pod.client_id.as_deref()),
            )
        )
    } else {
        WEBHOOK_FIX.to_string()
    };
    let show = |v: Option<String>| v.unwrap_or_else(|| "(not set)".into());
    let missing: Vec<&str> = [
        ("AZURE_CLIENT_ID", pod.client_id.is_none()),
        ("AZURE_TENANT_ID", pod.tenant_id.is_none()),
        ("AZURE_FEDERATED_TOKEN_FILE", pod.token_file.is_none()),
    ]
    .into_iter()
    .filter_map(|(n, m)| m.then_some(n))
    .collect();
    let check = if pod.token_file.is_none()
        || (!conn.both() && (pod.client_id.is_none() || pod.tenant_id.is_none()))
    {
        Check::failed(
            ID,
            format!(
                "{} not set: the workload identity webhook did not mutate this pod",
                missing.join(", ")
            ),
            fix_env,
        )
    } else if !missing.is_empty() {
        Check::warned(
            ID,
            format!(
                "{} not set (the connection supplies the value, but the webhook sets all four: was this pod mutated?)",
                missing.join(", ")
            ),
            fix_env,
        )
    } else {
        match &pod.authority_host {
            None if local => Check::failed(
                ID,
                "AZURE_AUTHORITY_HOST is not set: SDKs would ask login.microsoftonline.com, not the stand-in",
                format!("export AZURE_AUTHORITY_HOST={endpoint} (eval \"$(wid env)\" prints it)"),
            ),
            None => Check::warned(
                ID,
                format!(
                    "AZURE_AUTHORITY_HOST is not set; SDKs default to {}",
                    cloud.authority_host
                ),
                format!(
                    "the webhook sets it; export AZURE_AUTHORITY_HOST={}/",
                    cloud.authority_host
                ),
            ),
            Some(_) if authority != expected_authority.trim_end_matches('/') => {
                let other = wid_model::cloud::ALL
                    .iter()
                    .find(|c| !c.authority_host.is_empty() && c.authority_host == authority)
                    .map(|c| format!(" ({}'s)", c.name))
                    .unwrap_or_default();
                Check::failed(
                    ID,
                    format!(
                        "AZURE_AUTHORITY_HOST is {authority}{other}, but --cloud {} uses {expected_authority}",
                        cloud.name
                    ),
                    format!(
                        "export AZURE_AUTHORITY_HOST={expected_authority}, or run doctor with the cloud the pod is in"
                    ),
                )
            }
            Some(_) => Check::passed(ID, "all four are set"),
        }
    };
    check
        .with("AZURE_CLIENT_ID", show(pod.client_id.clone()))
        .with("AZURE_TENANT_ID", show(pod.tenant_id.clone()))
        .with(
            "AZURE_FEDERATED_TOKEN_FILE",
            show(pod.token_file.as_ref().map(|p| p.display().to_string())),
        )
        .with("AZURE_AUTHORITY_HOST", show(pod.authority_host.clone()))
}

/// `environment.consistency`: the variables against the connection's two fields.
fn consistency(pod: &PodEnv, conn: &Fields) -> Check {
    const ID: &str = "environment.consistency";
    if !conn.both() {
        return Check::skipped(
            ID,
            "the connection does not set both workload identity fields; Airflow uses the environment's values",
        );
    }
    let pairs = [
        (
            "client id",
            "AZURE_CLIENT_ID",
            &pod.client_id,
            "managed_identity_client_id",
            &conn.client_id,
            "client-id",
        ),
        (
            "tenant",
            "AZURE_TENANT_ID",
            &pod.tenant_id,
            "workload_identity_tenant_id",
            &conn.tenant_id,
            "tenant-id",
        ),
    ];
    let diffs: Vec<_> = pairs
        .into_iter()
        .filter_map(|(what, env, ev, field, cv, annotation)| match (ev, cv) {
            (Some(e), Some(c)) if !e.eq_ignore_ascii_case(c) => {
                Some((what, env, e.clone(), field, c.clone(), annotation))
            }
            _ => None,
        })
        .collect();
    let Some((what, env, ev, field, cv, annotation)) = diffs.first() else {
        return Check::passed(
            ID,
            "AZURE_CLIENT_ID and AZURE_TENANT_ID agree with the connection",
        );
    };
    let mut c = Check::failed(
        ID,
        format!(
            "the {what} differs: {env} is {ev}, the connection's {field} is {cv}; Airflow uses the connection's, the webhook injected the service account's"
        ),
        format!(
            "set {field} to \"{ev}\" in the connection if {ev} is the identity's {what} (`wid identity show` prints it), else fix the service account's annotation azure.workload.identity/{annotation}"
        ),
    );
    for (_, env, ev, field, cv, _) in &diffs {
        c = c.with(*env, ev.clone()).with(*field, cv.clone());
    }
    c
}

/// `environment.token_file`: the file exists and this user can read it.
fn token_file_check(local: bool, pod: &PodEnv, out: &mut Option<TokenFile>) -> Check {
    const ID: &str = "environment.token_file";
    let Some(path) = &pod.token_file else {
        return Check::skipped(ID, "AZURE_FEDERATED_TOKEN_FILE is not set");
    };
    let shown = path.display().to_string();
    let kubelet = if local {
        format!(
            "keep it written as the kubelet does: wid issuer token --namespace <namespace> --service-account <service account> --write {shown}"
        )
    } else {
        "check the pod's projected volume azure-identity-token (mounted at /var/run/secrets/azure/tokens by the webhook); recreate the pod".to_string()
    };
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Check::failed(ID, format!("{shown} does not exist"), kubelet).with("path", shown)
        }
        Err(e) => Check::failed(ID, format!("{shown} cannot be examined: {e}"), kubelet)
            .with("path", shown),
        Ok(meta) => read_token_file(path, &meta, &kubelet, out),
    }
}

/// The authority as the SDKs read it: trimmed, no trailing slash, `https://` when bare.
fn normalize_authority(a: &str) -> String {
    let a = a.trim().trim_end_matches('/');
    if a.contains("://") {
        a.to_string()
    } else {
        format!("https://{a}")
    }
}

fn my_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The file's mode and owner, as `ls -ln` shows them.
#[cfg(unix)]
fn ownership(meta: &std::fs::Metadata) -> (String, String) {
    use std::os::unix::fs::MetadataExt;
    (
        format!("{:04o}", meta.mode() & 0o7777),
        format!("uid {} gid {}", meta.uid(), meta.gid()),
    )
}

/// Elsewhere only whether it is read-only.
#[cfg(not(unix))]
fn ownership(meta: &std::fs::Metadata) -> (String, String) {
    let mode = if meta.permissions().readonly() {
        "read-only"
    } else {
        "read-write"
    };
    (mode.to_string(), "?".to_string())
}

fn read_token_file(
    path: &std::path::Path,
    meta: &std::fs::Metadata,
    kubelet: &str,
    out: &mut Option<TokenFile>,
) -> Check {
    let shown = path.display().to_string();
    let (mode, owner) = ownership(meta);
    let me = my_uid().map_or("?".into(), |u| format!("uid {u}"));
    let evidence = |c: Check| {
        c.with("path", shown.clone())
            .with("mode", mode.clone())
            .with("owner", owner.clone())
            .with("this process", me.clone())
    };
    if meta.is_dir() {
        return evidence(Check::failed(
            "environment.token_file",
            format!("{shown} is a directory, not the token file"),
            format!(
                "point AZURE_FEDERATED_TOKEN_FILE at the file inside it (the webhook's is .../azure-identity-token); {kubelet}"
            ),
        ));
    }
    match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => evidence(Check::failed(
            "environment.token_file",
            format!("{shown} is not readable by this user: {e}"),
            "run the container as the file's owner, or set the pod's securityContext.fsGroup so that the projected token is group-readable (Kubernetes 1.19+ projects it 0600 for the pod's user)",
        )),
        Err(e) => evidence(Check::failed(
            "environment.token_file",
            format!("{shown} cannot be read: {e}"),
            kubelet.to_string(),
        )),
        Ok(text) if text.trim().is_empty() => evidence(Check::failed(
            "environment.token_file",
            format!("{shown} is empty"),
            kubelet.to_string(),
        )),
        Ok(text) => {
            let mtime = meta.modified().ok();
            let age = mtime
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .map_or("?".into(), |d| format!("{} s", d.as_secs()));
            *out = Some(TokenFile {
                path: path.to_path_buf(),
                jwt: Secret::new(text.trim().to_string()),
                mtime,
            });
            evidence(Check::passed(
                "environment.token_file",
                format!("readable, {} bytes, written {age} ago", text.len()),
            ))
        }
    }
}

/// Once ARM has shown the identity, says which side of a failed `environment.consistency`
/// is wrong: the connection's field or the variable the webhook injected.
pub fn refine_consistency(check: &mut Check, conn_id: &str, client_id: &str, tenant_id: &str) {
    if check.id != "environment.consistency" || check.status != super::report::Status::Failed {
        return;
    }
    let get = |k: &str| {
        check
            .evidence
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let pairs = [
        (
            "AZURE_TENANT_ID",
            "workload_identity_tenant_id",
            "tenant-id",
            tenant_id,
        ),
        (
            "AZURE_CLIENT_ID",
            "managed_identity_client_id",
            "client-id",
            client_id,
        ),
    ];
    for (env, field, annotation, truth) in pairs {
        let (Some(ev), Some(cv)) = (get(env), get(field)) else {
            continue;
        };
        let fix = if cv.eq_ignore_ascii_case(truth) {
            format!(
                "the identity's {} is {truth}, as the connection says: {env} ({ev}) is wrong; set the service account's annotation azure.workload.identity/{annotation}: \"{truth}\" (or the webhook's default) and recreate the pod",
                annotation.trim_end_matches("-id")
            )
        } else if ev.eq_ignore_ascii_case(truth) {
            format!(
                "set {field} to \"{truth}\" in the extra of connection {conn_id}: that is the identity's {}",
                annotation.trim_end_matches("-id")
            )
        } else {
            continue;
        };
        check.fix = Some(fix);
        check.evidence.push((
            format!("identity's {}", annotation.trim_end_matches("-id")),
            truth.to_string(),
        ));
        return;
    }
}
