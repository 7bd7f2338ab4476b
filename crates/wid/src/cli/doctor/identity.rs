//! Check group 5, the identity, as the operator sees it in ARM (the local administrator, or
//! a service principal with `--cloud`): the managed identity with this client id exists in
//! this tenant, and one of its federated credentials matches the token, or else the nearest
//! miss, field by field.

use std::time::{Duration, Instant};

use super::connection::Component;
use super::federation::{Fic, Presented, nearest};
use super::report::Check;
use super::token::Projected;
use crate::cli::identity::API_VERSION;
use crate::client::WidClient;

/// The managed identity found.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Its name.
    pub name: String,
    /// Its resource group.
    pub resource_group: String,
    /// Its principal (object) id.
    pub principal_id: String,
    /// Its client id.
    pub client_id: String,
    /// Its tenant.
    pub tenant_id: String,
}

/// The outcome of group 5.
pub struct Outcome {
    /// `identity.exists`, `identity.federated_credential`.
    pub checks: Vec<Check>,
    /// The identity, when found.
    pub identity: Option<Identity>,
}

fn skipped(why: &str) -> Outcome {
    Outcome {
        checks: vec![
            Check::skipped("identity.exists", why.to_string()),
            Check::skipped("identity.federated_credential", why.to_string()),
        ],
        identity: None,
    }
}

/// Runs group 5 within `timeout`.
pub async fn check(
    operator: Result<&WidClient, &str>,
    client_id: Option<&str>,
    tenant_id: Option<&str>,
    token: Option<&Projected>,
    component: Option<&Component>,
    timeout: Duration,
) -> Outcome {
    let Some(client_id) = client_id else {
        return skipped("no client id (connection or AZURE_CLIENT_ID)");
    };
    let client = match operator {
        Ok(c) => c,
        Err(e) => {
            return skipped(&format!("ARM not checked: no operator credential ({e})"));
        }
    };
    let started = Instant::now();
    let arm = client.target.arm.clone();
    match tokio::time::timeout(
        timeout,
        run(client, client_id, tenant_id, token, component, started),
    )
    .await
    {
        Ok(o) => o,
        Err(_) => {
            let why = format!(
                "ARM ({arm}) did not answer within {:.1} s (it hung)",
                timeout.as_secs_f64()
            );
            Outcome {
                checks: vec![
                    Check::warned(
                        "identity.exists",
                        why.clone(),
                        "check the network path to ARM; doctor's other checks do not need it",
                    )
                    .timed(started),
                    Check::skipped("identity.federated_credential", why),
                ],
                identity: None,
            }
        }
    }
}

async fn run(
    client: &WidClient,
    client_id: &str,
    tenant_id: Option<&str>,
    token: Option<&Projected>,
    component: Option<&Component>,
    started: Instant,
) -> Outcome {
    let sub = client.target.subscription_id.clone();
    let path =
        format!("/subscriptions/{sub}/providers/Microsoft.ManagedIdentity/userAssignedIdentities");
    let all = match client.arm_list(&path, API_VERSION, None).await {
        Ok(v) => v,
        Err(e) => {
            return Outcome {
                checks: vec![
                    Check::warned(
                        "identity.exists",
                        format!("the identities of subscription {sub} cannot be listed: {}", e.to_string().lines().next().unwrap_or("")),
                        "give the operator Reader (or Managed Identity Operator) on the subscription, or pass --subscription with the identity's",
                    )
                    .timed(started),
                    Check::skipped("identity.federated_credential", "the identity was not found"),
                ],
                identity: None,
            };
        }
    };
    let prop =
        |v: &serde_json::Value, k: &str| v["properties"][k].as_str().unwrap_or("").to_string();
    let Some(found) = all
        .iter()
        .find(|i| prop(i, "clientId").eq_ignore_ascii_case(client_id))
    else {
        let by_principal = all
            .iter()
            .find(|i| prop(i, "principalId").eq_ignore_ascii_case(client_id));
        let check = match by_principal {
            Some(i) => Check::failed(
                "identity.exists",
                format!(
                    "{client_id} is the Principal ID of identity '{}', not its Client ID (AADSTS700016 follows)",
                    i["name"].as_str().unwrap_or("")
                ),
                format!(
                    "use its Client ID {} as managed_identity_client_id (and in the service account's azure.workload.identity/client-id)",
                    prop(i, "clientId")
                ),
            ),
            None => Check::failed(
                "identity.exists",
                format!(
                    "no managed identity has client id {client_id} in subscription {sub} (AADSTS700016 follows)"
                ),
                "copy the Client ID from `wid identity list -o table` (or `az identity list`); if the identity is in another subscription, pass --subscription",
            ),
        };
        return Outcome {
            checks: vec![
                check
                    .with("subscription", sub)
                    .with("identities", all.len().to_string())
                    .timed(started),
                Check::skipped(
                    "identity.federated_credential",
                    "the identity was not found",
                ),
            ],
            identity: None,
        };
    };
    let id = found["id"].as_str().unwrap_or("").to_string();
    let identity = Identity {
        name: found["name"].as_str().unwrap_or("").to_string(),
        resource_group: id.split('/').nth(4).unwrap_or("").to_string(),
        principal_id: prop(found, "principalId"),
        client_id: prop(found, "clientId"),
        tenant_id: prop(found, "tenantId"),
    };
    let its_tenant = prop(found, "tenantId");
    let exists = match tenant_id {
        Some(t) if !t.eq_ignore_ascii_case(&its_tenant) => Check::failed(
            "identity.exists",
            format!(
                "identity '{}' is in tenant {its_tenant}, but the credential asks tenant {t}",
                identity.name
            ),
            format!("set workload_identity_tenant_id (and AZURE_TENANT_ID) to {its_tenant}"),
        ),
        _ => Check::passed(
            "identity.exists",
            format!(
                "'{}' in resource group {}",
                identity.name, identity.resource_group
            ),
        ),
    }
    .with("name", identity.name.clone())
    .with("resource group", identity.resource_group.clone())
    .with("principal id", identity.principal_id.clone())
    .with("tenant id", its_tenant)
    .timed(started);
    let Some(token) = token else {
        return Outcome {
            checks: vec![
                exists,
                Check::skipped(
                    "identity.federated_credential",
                    "no decoded token to match (see token checks)",
                ),
            ],
            identity: Some(identity),
        };
    };
    let started = Instant::now();
    let fics = match client
        .arm_list(
            &format!("{id}/federatedIdentityCredentials"),
            API_VERSION,
            None,
        )
        .await
    {
        Ok(v) => v.iter().map(Fic::from_arm).collect::<Vec<_>>(),
        Err(e) => {
            return Outcome {
                checks: vec![
                    exists,
                    Check::warned(
                        "identity.federated_credential",
                        format!(
                            "the federated credentials cannot be listed: {}",
                            e.to_string().lines().next().unwrap_or("")
                        ),
                        "give the operator Managed Identity Operator on the identity",
                    )
                    .timed(started),
                ],
                identity: Some(identity),
            };
        }
    };
    let presented = Presented {
        issuer: token.iss.clone(),
        subject: token.sub.clone(),
        audiences: token.aud.clone(),
    };
    let fic = fic_check(&identity, &presented, &fics, component).timed(started);
    Outcome {
        checks: vec![exists, fic],
        identity: Some(identity),
    }
}

fn create_command(identity: &Identity, name: &str, p: &Presented) -> String {
    format!(
        "wid identity federated-credential create --name {name} --identity-name {} --resource-group {} --issuer '{}' --subject '{}' --audiences '{}'",
        identity.name,
        identity.resource_group,
        p.issuer,
        p.subject,
        p.audiences
            .first()
            .map_or("api://AzureADTokenExchange", String::as_str)
    )
}

fn fic_check(
    identity: &Identity,
    p: &Presented,
    fics: &[Fic],
    component: Option<&Component>,
) -> Check {
    const ID: &str = "identity.federated_credential";
    let new_name = |p: &Presented| {
        let sa = super::federation::service_account(&p.subject).map_or("workload", |(_, sa)| sa);
        sa.to_string()
    };
    let Some(best) = nearest(p, fics) else {
        let fix = match component {
            Some(c) => format!(
                "wid deployment assign-identity {} --identity-name {} --resource-group {}",
                c.deployment, identity.name, identity.resource_group
            ),
            None => create_command(identity, &new_name(p), p),
        };
        return Check::failed(
            ID,
            format!(
                "identity '{}' has no federated credential: nothing federates {} (AADSTS70021)",
                identity.name, p.subject
            ),
            fix,
        );
    };
    if best.matches() {
        return Check::passed(
            ID,
            format!(
                "credential '{}' matches issuer, subject and audience",
                best.fic.name
            ),
        )
        .with("credential", best.fic.name.clone());
    }
    let reasons = best.reasons(p);
    let fix = if best.is_slip() {
        create_command(identity, &best.fic.name, p)
    } else {
        match component {
            Some(c) => format!(
                "wid deployment assign-identity {} --identity-name {} --resource-group {} (it creates the credential component {} needs)",
                c.deployment, identity.name, identity.resource_group, c.name
            ),
            None => create_command(identity, &new_name(p), p),
        }
    };
    Check::failed(
        ID,
        format!(
            "no federated credential of '{}' matches the token; nearest is '{}': {}",
            identity.name,
            best.fic.name,
            reasons.join("; ")
        ),
        fix,
    )
    .with("token issuer", p.issuer.clone())
    .with(
        format!("'{}' issuer", best.fic.name),
        best.fic.issuer.clone(),
    )
    .with("token subject", p.subject.clone())
    .with(
        format!("'{}' subject", best.fic.name),
        best.fic.subject.clone(),
    )
    .with("token audience", p.audiences.join(","))
    .with(
        format!("'{}' audience", best.fic.name),
        best.fic.audiences.join(","),
    )
    .with(
        "credentials",
        fics.iter()
            .map(|f| f.name.clone())
            .collect::<Vec<_>>()
            .join(", "),
    )
}
