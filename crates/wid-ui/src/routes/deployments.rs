//! Deployments, as the Environment Manager shows them: each deployment's components and the
//! subject each runs as, the identity assigned, a mark per component saying whether a
//! federated credential of that identity matches it, and the linked connections.

use axum::extract::State;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde_json::Value;

use crate::UiState;
use crate::backend::{MSI_API, enc};
use crate::error::UiError;
use crate::layout::{self, Section};
use crate::session::Signed;

/// `GET /deployments`.
pub async fn list(State(s): State<UiState>, signed: Signed) -> Result<Response, UiError> {
    let r = s
        .api(Method::GET, "/api/v2/deployments", None)
        .await?
        .or_fail("listing deployments")?;
    let mut cards = Vec::new();
    for d in r.json["deployments"].as_array().into_iter().flatten() {
        let name = d["name"].as_str().unwrap_or("");
        let asg = &d["assignment"];
        let identity = asg["identity_name"].as_str();
        let rg = asg["resource_group"]
            .as_str()
            .unwrap_or(&s.config().resource_group)
            .to_string();
        let issuer = asg["issuer"]
            .as_str()
            .unwrap_or(&s.config().issuer_url)
            .to_string();
        let fics: Vec<Value> = match identity {
            Some(i) => s
                .arm(
                    Method::GET,
                    &format!(
                        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}/federatedIdentityCredentials?api-version={MSI_API}",
                        enc(&s.config().subscription_id), enc(&rg), enc(i)
                    ),
                    None,
                )
                .await?
                .json["value"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let federated = |subject: &str| {
            fics.iter().any(|f| {
                f["properties"]["subject"].as_str() == Some(subject)
                    && f["properties"]["issuer"].as_str() == Some(issuer.as_str())
            })
        };
        let linked = s
            .api(
                Method::GET,
                &format!("/api/v2/deployments/{}/connections", enc(name)),
                None,
            )
            .await?;
        let links: Vec<Value> = linked.json["connections"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        cards.push(html! {
            section.card aria-labelledby=(format!("d-{name}")) {
                h2 id=(format!("d-{name}")) { (name) }
                dl.props {
                    dt { "Namespace" } dd.mono { (d["deployment"]["namespace"].as_str().unwrap_or("")) }
                    dt { "Airflow" } dd { (d["deployment"]["airflow_version"]) }
                    dt { "Identity" } dd { @if let Some(i) = identity { span.mono { (i) } " (resource group " (rg) ")" } @else { span.muted { "none assigned: run " code { "wid deployment assign-identity" } } } }
                }
                h3 { "Components" }
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Component" } th scope="col" { "Service account" } th scope="col" { "Subject" } th scope="col" { "Federated credential" } } }
                    tbody {
                        @for c in d["components"].as_array().into_iter().flatten() {
                            @let subject = c["subject"].as_str().unwrap_or("");
                            tr {
                                td { (c["name"].as_str().unwrap_or("")) }
                                td.mono { (c["service_account"].as_str().unwrap_or("")) }
                                td.mono { (subject) }
                                td { @if federated(subject) { span.badge.ok { "✓ matches" } } @else { span.badge.missing { "✗ missing" } } }
                            }
                        }
                    }
                } }
                h3 { "Linked connections" }
                @if links.is_empty() { p.muted { "None." } } @else {
                    ul { @for l in &links { li.mono { (l["connection_id"].as_str().or(l["conn_id"].as_str()).unwrap_or("")) } } }
                }
            }
        });
    }
    Ok(layout::page(
        "Deployments",
        Section::Deployments,
        &signed,
        html! {
            h1 { "Deployments" }
            p.lead { "Airflow deployments, the identity each runs as, and whether each component can sign in." }
            @if cards.is_empty() { p.muted { "No deployments yet. Create one with " code { "wid deployment create" } "." } }
            @for c in cards { (c) }
        },
    )
    .into_response())
}
