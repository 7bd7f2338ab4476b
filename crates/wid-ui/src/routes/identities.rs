//! Identities, as the Azure portal shows a user-assigned managed identity: Properties with
//! copy buttons, federated credentials (list, add, delete, the limit of 20 shown), role
//! assignments. Everything is read from and written to ARM.

use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value, json};
use wid_model::federated::MAX_FICS_PER_IDENTITY;

use crate::UiState;
use crate::backend::{AUTHZ_API, MSI_API, enc};
use crate::error::UiError;
use crate::form::FormData;
use crate::layout::{self, Section};
use crate::session::{CSRF_FIELD, Signed};

/// The audience of federated credentials in the public cloud.
pub const DEFAULT_AUDIENCE: &str = "api://AzureADTokenExchange";

fn identity_path(s: &UiState, rg: &str, name: &str) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
        enc(&s.config().subscription_id),
        enc(rg),
        enc(name)
    )
}

fn rg_of(id: &str) -> String {
    let parts: Vec<&str> = id.split('/').collect();
    parts
        .iter()
        .position(|p| p.eq_ignore_ascii_case("resourceGroups"))
        .and_then(|i| parts.get(i + 1))
        .map(|s| s.to_string())
        .unwrap_or_default()
}

fn copy_row(label: &str, value: &str) -> Markup {
    html! {
        dt { (label) }
        dd { span.mono { (value) } button.copy type="button" data-copy=(value) hidden aria-label=(format!("Copy {label}")) { "Copy" } }
    }
}

async fn page(
    s: &UiState,
    signed: &Signed,
    notice: Option<String>,
    problem: Option<String>,
) -> Result<Markup, UiError> {
    let sub = &s.config().subscription_id;
    let ids = s
        .arm(
            Method::GET,
            &format!("/subscriptions/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version={MSI_API}", enc(sub)),
            None,
        )
        .await?
        .or_fail("listing managed identities")?;
    let roles = s
        .arm(Method::GET, &format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions?api-version={AUTHZ_API}", enc(sub)), None)
        .await?;
    let role_name = |id: &str| -> String {
        roles.json["value"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| {
                r["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id))
                    || r["name"].as_str().is_some_and(|n| id.ends_with(n))
            })
            .and_then(|r| r["properties"]["roleName"].as_str())
            .unwrap_or(id)
            .to_string()
    };
    let role_choices: Vec<(String, String)> = roles.json["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some((
                r["id"].as_str()?.to_string(),
                r["properties"]["roleName"].as_str()?.to_string(),
            ))
        })
        .collect();
    let assignments = s
        .arm(Method::GET, &format!("/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments?api-version={AUTHZ_API}", enc(sub)), None)
        .await?;
    let mut cards = Vec::new();
    for i in ids.json["value"].as_array().into_iter().flatten() {
        let name = i["name"].as_str().unwrap_or("").to_string();
        let rg = rg_of(i["id"].as_str().unwrap_or(""));
        let p = &i["properties"];
        let principal = p["principalId"].as_str().unwrap_or("").to_string();
        let fics = s
            .arm(
                Method::GET,
                &format!(
                    "{}/federatedIdentityCredentials?api-version={MSI_API}",
                    identity_path(s, &rg, &name)
                ),
                None,
            )
            .await?;
        let fics: Vec<Value> = fics.json["value"].as_array().cloned().unwrap_or_default();
        let mine: Vec<&Value> = assignments.json["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["properties"]["principalId"].as_str() == Some(principal.as_str()))
            .collect();
        let slug = format!("{rg}-{name}");
        let base = format!("/identities/{}/{}", enc(&rg), enc(&name));
        cards.push(html! {
            section.card id=(format!("id-{slug}")) aria-labelledby=(format!("h-{slug}")) {
                h2 id=(format!("h-{slug}")) { (name) }
                h3.skip { "Properties" }
                dl.props {
                    (copy_row("Name", &name))
                    (copy_row("Client ID", p["clientId"].as_str().unwrap_or("")))
                    (copy_row("Tenant ID", p["tenantId"].as_str().unwrap_or("")))
                    (copy_row("Resource group", &rg))
                    (copy_row("Principal ID", &principal))
                }
                h3 { "Federated credentials " span.badge { (fics.len()) " of " (MAX_FICS_PER_IDENTITY) } }
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Issuer" } th scope="col" { "Subject" } th scope="col" { "Audience" } th scope="col" { span.skip { "Actions" } } } }
                    tbody {
                        @for f in &fics {
                            @let fname = f["name"].as_str().unwrap_or("");
                            tr {
                                td.mono { (fname) }
                                td.mono { (f["properties"]["issuer"].as_str().unwrap_or("")) }
                                td.mono { (f["properties"]["subject"].as_str().unwrap_or("")) }
                                td.mono { (f["properties"]["audiences"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
                                td.actions { @if signed.session.admin {
                                    a.button href=(format!("{base}/federated-credentials/{}/delete", enc(fname))) aria-label=(format!("Delete federated credential {fname}")) { "Delete" }
                                } }
                            }
                        }
                        @if fics.is_empty() { tr { td colspan="5" .muted { "No federated credentials: no workload can sign in as this identity yet." } } }
                    }
                } }
                @if signed.session.admin { details open[fics.is_empty()] {
                    summary { "Add federated credential" }
                    form method="post" action=(format!("{base}/federated-credentials")) {
                        input type="hidden" name=(CSRF_FIELD) value=(signed.session.csrf);
                        div.field { label for=(format!("fic-name-{slug}")) { "Name" } input id=(format!("fic-name-{slug}")) type="text" name="name" required maxlength="120" placeholder="airflow-worker"; }
                        div.field { label for=(format!("fic-issuer-{slug}")) { "Issuer" } input id=(format!("fic-issuer-{slug}")) type="text" name="issuer" required maxlength="600" value=(s.config().issuer_url); }
                        div.field { label for=(format!("fic-subject-{slug}")) { "Subject" } input id=(format!("fic-subject-{slug}")) type="text" name="subject" required maxlength="600" placeholder="system:serviceaccount:airflow:airflow-worker"; }
                        div.field { label for=(format!("fic-aud-{slug}")) { "Audience" } input id=(format!("fic-aud-{slug}")) type="text" name="audience" required maxlength="600" value=(DEFAULT_AUDIENCE); }
                        p.help { "As " code { "az identity federated-credential create" } ": at most " (MAX_FICS_PER_IDENTITY) " per identity." }
                        div.buttons { button.primary type="submit" { "Add" } }
                    }
                } }
                h3 { "Role assignments" }
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Role" } th scope="col" { "Scope" } th scope="col" { span.skip { "Actions" } } } }
                    tbody {
                        @for a in &mine {
                            @let role = role_name(a["properties"]["roleDefinitionId"].as_str().unwrap_or(""));
                            tr {
                                td { (role) }
                                td.mono { (a["properties"]["scope"].as_str().unwrap_or("")) }
                                td.actions { @if signed.session.admin {
                                    form.inline method="post" action="/identities/role-assignments/delete" {
                                        input type="hidden" name=(CSRF_FIELD) value=(signed.session.csrf);
                                        input type="hidden" name="assignment" value=(a["id"].as_str().unwrap_or(""));
                                        button type="submit" aria-label=(format!("Remove role {role}")) { "Remove" }
                                    }
                                } }
                            }
                        }
                        @if mine.is_empty() { tr { td colspan="3" .muted { "No role assignments: a token of this identity is refused everywhere." } } }
                    }
                } }
                @if signed.session.admin { details {
                    summary { "Add role assignment" }
                    form method="post" action=(format!("{base}/role-assignments")) {
                        input type="hidden" name=(CSRF_FIELD) value=(signed.session.csrf);
                        div.field {
                            label for=(format!("role-{slug}")) { "Role" }
                            select id=(format!("role-{slug}")) name="role" {
                                @for (id, rname) in &role_choices { option value=(id) selected[rname == "Reader"] { (rname) } }
                            }
                        }
                        div.field {
                            label for=(format!("scope-{slug}")) { "Scope" }
                            input id=(format!("scope-{slug}")) type="text" name="scope" required maxlength="600" value=(format!("/subscriptions/{sub}/resourceGroups/{rg}"));
                        }
                        div.buttons { button.primary type="submit" { "Add" } }
                    }
                } }
            }
        });
    }
    Ok(layout::page(
        "Identities",
        Section::Identities,
        signed,
        html! {
            h1 { "Managed identities" }
            p.lead { "User-assigned managed identities in subscription " span.mono { (sub) } "." }
            @if let Some(n) = notice { p.notice.ok role="status" { (n) } }
            @if let Some(p) = problem { p.error role="alert" { (p) } }
            @if cards.is_empty() { p.muted { "No identities yet. Create one with " code { "wid identity create --name airflow-mi --resource-group " (s.config().resource_group) } "." } }
            @for c in cards { (c) }
        },
    ))
}

/// `GET /identities`.
pub async fn list(
    State(s): State<UiState>,
    signed: Signed,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let p = FormData::parse(raw.as_deref().unwrap_or("").as_bytes()).unwrap_or_default();
    let notice = p
        .get("added")
        .map(|n| format!("Added federated credential {n}."))
        .or_else(|| {
            p.get("deleted")
                .map(|n| format!("Deleted federated credential {n}."))
        });
    Ok(page(&s, &signed, notice, None).await?.into_response())
}

/// `POST /identities/{rg}/{name}/federated-credentials`.
pub async fn add_credential(
    State(s): State<UiState>,
    signed: Signed,
    Path((rg, name)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let d = FormData::parse(&body)?;
    signed.check_write(&d)?;
    let fic = d.text("name");
    let req = json!({"properties": {"issuer": d.text("issuer"), "subject": d.text("subject"), "audiences": [d.text("audience")]}});
    let r = s
        .arm(
            Method::PUT,
            &format!(
                "{}/federatedIdentityCredentials/{}?api-version={MSI_API}",
                identity_path(&s, &rg, &name),
                enc(&fic)
            ),
            Some(&req),
        )
        .await?;
    if r.ok() {
        return Ok(Redirect::to(&format!("/identities?added={}", enc(&fic))).into_response());
    }
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
    let problem = format!(
        "Federated credential '{fic}' of {name} was not added (HTTP {}): {}",
        r.status,
        r.detail()
    );
    Ok((status, page(&s, &signed, None, Some(problem)).await?).into_response())
}

/// `GET /identities/{rg}/{name}/federated-credentials/{fic}/delete`: the confirmation, naming
/// the subject that will no longer sign in.
pub async fn confirm_delete_credential(
    State(s): State<UiState>,
    signed: Signed,
    Path((rg, name, fic)): Path<(String, String, String)>,
) -> Result<Response, UiError> {
    if !signed.session.admin {
        return Err(UiError::ReadOnly);
    }
    let r = s
        .arm(
            Method::GET,
            &format!(
                "{}/federatedIdentityCredentials/{}?api-version={MSI_API}",
                identity_path(&s, &rg, &name),
                enc(&fic)
            ),
            None,
        )
        .await?;
    if r.status == 404 {
        return Err(UiError::NotFound(format!(
            "identity {name} has no federated credential '{fic}'"
        )));
    }
    let r = r.or_fail(format!("reading federated credential {fic}"))?;
    let subject = r.json["properties"]["subject"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let action = format!(
        "/identities/{}/{}/federated-credentials/{}/delete",
        enc(&rg),
        enc(&name),
        enc(&fic)
    );
    let content = html! {
        h1 { "Delete federated credential " (fic) "?" }
        p { "Workloads that sign in as " code { (subject) } " will no longer get tokens for " (name) " (AADSTS70021). This cannot be undone." }
        form method="post" action=(action) {
            input type="hidden" name=(CSRF_FIELD) value=(signed.session.csrf);
            div.buttons {
                button.danger type="submit" { "Delete" }
                a.button href="/identities" { "Cancel" }
            }
        }
    };
    Ok(layout::page(
        "Delete federated credential",
        Section::Identities,
        &signed,
        content,
    )
    .into_response())
}

/// `POST /identities/{rg}/{name}/federated-credentials/{fic}/delete`.
pub async fn delete_credential(
    State(s): State<UiState>,
    signed: Signed,
    Path((rg, name, fic)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    signed.check_write(&FormData::parse(&body)?)?;
    s.arm(
        Method::DELETE,
        &format!(
            "{}/federatedIdentityCredentials/{}?api-version={MSI_API}",
            identity_path(&s, &rg, &name),
            enc(&fic)
        ),
        None,
    )
    .await?
    .or_fail(format!("deleting federated credential {fic}"))?;
    Ok(Redirect::to(&format!("/identities?deleted={}", enc(&fic))).into_response())
}

/// `POST /identities/{rg}/{name}/role-assignments`: gives the identity's principal a role at
/// a scope (`az role assignment create`).
pub async fn add_role(
    State(s): State<UiState>,
    signed: Signed,
    Path((rg, name)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let d = FormData::parse(&body)?;
    signed.check_write(&d)?;
    let identity = s
        .arm(
            Method::GET,
            &format!("{}?api-version={MSI_API}", identity_path(&s, &rg, &name)),
            None,
        )
        .await?;
    if identity.status == 404 {
        return Err(UiError::NotFound(format!(
            "there is no identity '{name}' in resource group '{rg}'"
        )));
    }
    let identity = identity.or_fail(format!("reading identity {name}"))?;
    let principal = identity.json["properties"]["principalId"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let scope = d.text("scope");
    if !scope.starts_with("/subscriptions/") {
        let problem =
            format!("The scope '{scope}' is not an ARM scope: it starts with /subscriptions/<id>");
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&s, &signed, None, Some(problem)).await?,
        )
            .into_response());
    }
    let req = json!({"properties": {"roleDefinitionId": d.text("role"), "principalId": principal, "principalType": "ServicePrincipal"}});
    let r = s
        .arm(
            Method::PUT,
            &format!(
                "{}/providers/Microsoft.Authorization/roleAssignments/{}?api-version={AUTHZ_API}",
                scope.trim_end_matches('/'),
                wid_model::ids::new_guid()
            ),
            Some(&req),
        )
        .await?;
    if !r.ok() {
        let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
        let problem = format!(
            "The role assignment for {name} was not added (HTTP {}): {}",
            r.status,
            r.detail()
        );
        return Ok((status, page(&s, &signed, None, Some(problem)).await?).into_response());
    }
    Ok(Redirect::to(&format!(
        "/identities?done={}",
        enc(&format!("Added a role assignment for {name} at {scope}."))
    ))
    .into_response())
}

/// `POST /identities/role-assignments/delete`: removes one role assignment by its ARM id.
pub async fn delete_role(
    State(s): State<UiState>,
    signed: Signed,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let d = FormData::parse(&body)?;
    signed.check_write(&d)?;
    let id = d.text("assignment");
    let lower = id.to_ascii_lowercase();
    if !lower.starts_with("/subscriptions/")
        || !lower.contains("/providers/microsoft.authorization/roleassignments/")
        || id.contains('?')
    {
        return Err(UiError::BadRequest(format!(
            "'{}' is not a role assignment id",
            id.chars().take(200).collect::<String>()
        )));
    }
    s.arm(
        Method::DELETE,
        &format!("{id}?api-version={AUTHZ_API}"),
        None,
    )
    .await?
    .or_fail("removing the role assignment")?;
    Ok(Redirect::to(&format!(
        "/identities?done={}",
        enc("Removed a role assignment.")
    ))
    .into_response())
}
