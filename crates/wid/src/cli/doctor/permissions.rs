//! Check group 7, the permissions: with `subscriptionId` set, what the identity's own ARM
//! token may read there (resource groups), and its role assignments; a failure when it may
//! read nothing, with the role assignment to create.

use std::time::{Duration, Instant};

use serde_json::Value;
use wid_credential::WorkloadIdentityCredential;
use wid_model::rbac::RoleDefinition;

use super::identity::Identity;
use super::net::Net;
use super::report::Check;

const ID: &str = "permissions.read";

/// What group 7 needs.
pub struct Inputs<'a> {
    /// The connection's `subscriptionId`.
    pub subscription_id: Option<&'a str>,
    /// The credential of the exchange, when it succeeded.
    pub credential: Option<&'a WorkloadIdentityCredential>,
    /// ARM's base URL.
    pub arm: &'a str,
    /// The scope for an ARM token.
    pub arm_scope: &'a str,
    /// The identity, when the operator found it.
    pub identity: Option<&'a Identity>,
    /// The operator's client, to list role assignments when the identity may not.
    pub operator: Option<&'a crate::client::WidClient>,
}

/// Runs group 7 within `timeout`.
pub async fn check(net: &Net, i: Inputs<'_>, timeout: Duration) -> Check {
    let Some(sub) = i.subscription_id else {
        return Check::skipped(
            ID,
            "the connection has no subscriptionId: nothing to check against",
        );
    };
    let Some(cred) = i.credential else {
        return Check::skipped(ID, "no access token (exchange.token failed)");
    };
    let started = Instant::now();
    match tokio::time::timeout(timeout, run(net, &i, sub, cred)).await {
        Ok(c) => c.with("subscriptionId", sub).timed(started),
        Err(_) => Check::failed(
            ID,
            format!(
                "ARM ({}) did not answer within {:.1} s (it hung)",
                i.arm,
                timeout.as_secs_f64()
            ),
            "check the network path from the pod to ARM",
        )
        .timed(started),
    }
}

fn role_name(id: &str) -> String {
    RoleDefinition::find(id).map_or_else(
        || id.rsplit('/').next().unwrap_or(id).to_string(),
        |r| r.name.to_string(),
    )
}

async fn run(net: &Net, i: &Inputs<'_>, sub: &str, cred: &WorkloadIdentityCredential) -> Check {
    let token = match cred.get_token(&[i.arm_scope]).await {
        Ok(t) => t,
        Err(e) => {
            return Check::failed(
                ID,
                format!(
                    "no ARM token: {}",
                    e.to_string().lines().next().unwrap_or("")
                ),
                "see exchange.token",
            );
        }
    };
    let bearer = token.token.expose_str();
    let groups_url = format!(
        "{}/subscriptions/{sub}/resourcegroups?api-version=2022-09-01",
        i.arm
    );
    let groups: Vec<String> = match net.get(&groups_url, Some(bearer)).await {
        Err(e) => return Check::failed(ID, e.to_string(), "check the network path to ARM"),
        Ok(a) if a.status == 200 => a.json["value"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|g| g["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        Ok(_) => Vec::new(),
    };
    let oid = wid_credential::jwt_claims(bearer)
        .and_then(|c| c["oid"].as_str().map(String::from))
        .or_else(|| i.identity.map(|x| x.principal_id.clone()))
        .unwrap_or_default();
    let filter = format!("principalId eq '{oid}'");
    let ra_path = format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments");
    let ra_url = format!(
        "{}{ra_path}?api-version=2022-04-01&$filter={}",
        i.arm,
        filter.replace(' ', "%20").replace('\'', "%27")
    );
    let mut assignments: Option<Vec<Value>> = match net.get(&ra_url, Some(bearer)).await {
        Ok(a) if a.status == 200 => a.json["value"].as_array().cloned(),
        _ => None,
    };
    if assignments.is_none()
        && let Some(op) = i.operator
        && let Ok((200, v)) = op
            .send(
                &op.target.arm,
                reqwest::Method::GET,
                &ra_path,
                &[("api-version", "2022-04-01"), ("$filter", &filter)],
                None,
            )
            .await
    {
        assignments = v["value"].as_array().cloned();
    }
    let shown: Vec<String> = assignments
        .iter()
        .flatten()
        .filter(|a| {
            a["properties"]["principalId"]
                .as_str()
                .is_none_or(|p| p.eq_ignore_ascii_case(&oid))
        })
        .map(|a| {
            format!(
                "{} at {}",
                role_name(a["properties"]["roleDefinitionId"].as_str().unwrap_or("")),
                a["properties"]["scope"].as_str().unwrap_or("?")
            )
        })
        .collect();
    let evidence = |c: Check| {
        c.with("principal id", oid.clone())
            .with(
                "readable resource groups",
                if groups.is_empty() {
                    "(none)".into()
                } else {
                    groups.join(", ")
                },
            )
            .with(
                "role assignments",
                match &assignments {
                    None => "(cannot be listed)".to_string(),
                    Some(_) if shown.is_empty() => "(none)".to_string(),
                    Some(_) => shown.join("; "),
                },
            )
    };
    let fix = format!(
        "wid role assignment create --assignee {oid} --role Reader --scope /subscriptions/{sub}/resourceGroups/<resource group> (or the role your DAGs need, e.g. Storage Blob Data Reader)"
    );
    if groups.is_empty() && shown.is_empty() {
        evidence(Check::failed(
            ID,
            format!(
                "the identity may read nothing in subscription {sub}: no role assignment there, so every call through this connection gets 403 AuthorizationFailed"
            ),
            fix,
        ))
    } else if groups.is_empty() {
        evidence(Check::warned(
            ID,
            "the identity has role assignments but may list no resource group; check they are at the scope your DAGs use",
            fix,
        ))
    } else {
        evidence(Check::passed(
            ID,
            format!("may read {} resource group(s)", groups.len()),
        ))
    }
}
