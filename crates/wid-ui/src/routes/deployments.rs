//! Deployments, as the Environment Manager shows them: each deployment's components and the
//! subject each runs as, the identity assigned, a mark per component saying whether a
//! federated credential of that identity matches it, assigning an identity, and the linked
//! connections with their per-deployment overrides.
//!
//! Assigning plans with the model's rules (`wid_model::deployment::plan`: reuse a credential
//! with the same issuer and subject, the 20 limit), writes the credentials through ARM, and
//! records the assignment through `/api/v2/deployments`, as `wid deployment assign-identity`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Map, Value, json};
use wid_model::connection::env::{env_var_name_unchecked, to_env_value};
use wid_model::connection::{Connection, EnvFormat};
use wid_model::deployment::{Deployment, ExistingCredential, plan};

use crate::UiState;
use crate::backend::{MSI_API, enc};
use crate::error::UiError;
use crate::form::FormData;
use crate::layout::{self, Section};
use crate::routes::identities::DEFAULT_AUDIENCE;
use crate::session::{CSRF_FIELD, Signed};

fn identities_path(s: &UiState) -> String {
    format!(
        "/subscriptions/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version={MSI_API}",
        enc(&s.config().subscription_id)
    )
}

fn identity_path(s: &UiState, rg: &str, name: &str) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
        enc(&s.config().subscription_id),
        enc(rg),
        enc(name)
    )
}

async fn fics_of(s: &UiState, rg: &str, name: &str) -> Result<Vec<Value>, UiError> {
    Ok(s.arm(
        Method::GET,
        &format!(
            "{}/federatedIdentityCredentials?api-version={MSI_API}",
            identity_path(s, rg, name)
        ),
        None,
    )
    .await?
    .json["value"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// Overrides as `key=value` lines.
fn overrides_text(o: &Value) -> String {
    o.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    format!(
                        "{k}={}",
                        v.as_str().map(String::from).unwrap_or(v.to_string())
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// The `AIRFLOW_CONN_<ID>='<uri>'` lines a deployment's Airflow gets for its linked
/// connections (overrides applied by the API), in Airflow's URI form. The API never reveals
/// passwords or secret Extra values, so those show as `***`; the second value says whether any
/// did.
pub fn env_lines(links: &[Value]) -> (String, bool) {
    let mut redacted = false;
    let lines: Vec<String> = links
        .iter()
        .map(|l| {
            let t = |k: &str| l[k].as_str().map(String::from);
            let c = Connection {
                conn_id: t("connection_id"),
                conn_type: t("conn_type"),
                description: t("description"),
                host: t("host"),
                schema: t("schema"),
                login: t("login"),
                password: t("password").map(Into::into),
                port: l["port"].as_i64(),
                extra: t("extra").map(Into::into),
            };
            redacted |=
                c.password.is_some() || c.extra_str().is_some_and(|e| e.contains("\"***\""));
            let id = c.conn_id.clone().unwrap_or_default();
            match to_env_value(&c, EnvFormat::Uri) {
                Ok(v) => format!(
                    "{}='{}'",
                    env_var_name_unchecked(&id),
                    v.replace('\'', "'\\''")
                ),
                Err(e) => format!("# {id}: {e}"),
            }
        })
        .collect();
    (lines.join("\n"), redacted)
}

/// Reads `key=value` lines; a line without `=` is an error naming it.
pub fn parse_overrides(text: &str) -> Result<Map<String, Value>, String> {
    let mut m = Map::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(format!("line {}: '{line}' is not key=value", i + 1));
        };
        let k = k.trim();
        if k.is_empty() {
            return Err(format!("line {}: the key is empty", i + 1));
        }
        m.insert(k.to_string(), Value::String(v.trim().to_string()));
    }
    Ok(m)
}

async fn page(
    s: &UiState,
    signed: &Signed,
    notice: Option<String>,
    problem: Option<String>,
) -> Result<Markup, UiError> {
    let r = s
        .api(Method::GET, "/api/v2/deployments", None)
        .await?
        .or_fail("listing deployments")?;
    let identities: Vec<(String, String)> =
        s.arm(Method::GET, &identities_path(s), None).await?.json["value"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                let id = i["id"].as_str().unwrap_or("");
                let rg = id
                    .split('/')
                    .skip_while(|p| !p.eq_ignore_ascii_case("resourceGroups"))
                    .nth(1)
                    .unwrap_or("")
                    .to_string();
                (rg, i["name"].as_str().unwrap_or("").to_string())
            })
            .collect();
    let conns = s
        .api(Method::GET, "/api/v2/connections?limit=100", None)
        .await?;
    let conn_ids: Vec<String> = conns.json["connections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["connection_id"].as_str().map(String::from))
        .collect();
    let mut cards = Vec::new();
    for d in r.json["deployments"].as_array().into_iter().flatten() {
        let name = d["name"].as_str().unwrap_or("").to_string();
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
        let fics = match identity {
            Some(i) => fics_of(s, &rg, i).await?,
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
                &format!("/api/v2/deployments/{}/connections", enc(&name)),
                None,
            )
            .await?;
        let links: Vec<Value> = linked.json["connections"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let base = format!("/deployments/{}", enc(&name));
        let slug: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        cards.push(html! {
            section.card id=(format!("dep-{slug}")) aria-labelledby=(format!("d-{slug}")) {
                h2 id=(format!("d-{slug}")) { (name) }
                dl.props {
                    dt { "Namespace" } dd.mono { (d["deployment"]["namespace"].as_str().unwrap_or("")) }
                    dt { "Airflow" } dd { (d["deployment"]["airflow_version"]) }
                    dt { "Identity" } dd { @if let Some(i) = identity { span.mono { (i) } " (resource group " (rg) ")" } @else { span.muted { "none assigned" } } }
                }
                @if signed.session.admin { form.bar method="post" action=(format!("{base}/assign")) {
                    input type="hidden" name=(CSRF_FIELD) value=(signed.session.csrf);
                    div.field.grow {
                        label for=(format!("assign-{slug}")) { "Assign identity" }
                        select id=(format!("assign-{slug}")) name="identity" {
                            @for (irg, iname) in &identities {
                                option value=(format!("{irg}/{iname}")) selected[Some(iname.as_str()) == identity] { (iname) " (" (irg) ")" }
                            }
                        }
                    }
                    button.primary type="submit" { "Assign" }
                } }
                p.help { "Creates one federated credential per component that lacks one (as " code { "wid deployment assign-identity" } "), within the identity's limit of 20." }
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
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Connection" } th scope="col" { "Overrides" } th scope="col" { span.skip { "Actions" } } } }
                    tbody {
                        @for l in &links {
                            @let cid = l["connection_id"].as_str().unwrap_or("");
                            tr {
                                td.mono { (cid) }
                                td.mono { @let o = overrides_text(&l["overrides"]); @if o.is_empty() { span.muted { "none" } } @else { (o) } }
                                td.actions { @if signed.session.admin {
                                    form.inline method="post" action=(format!("{base}/connections/{}/delete", enc(cid))) {
                                        input type="hidden" name=(CSRF_FIELD) value=(signed.session.csrf);
                                        button type="submit" aria-label=(format!("Unlink {cid}")) { "Unlink" }
                                    }
                                } }
                            }
                        }
                        @if links.is_empty() { tr { td colspan="3" .muted { "No linked connections." } } }
                    }
                } }
                @if !links.is_empty() {
                    @let (lines, redacted) = env_lines(&links);
                    details {
                        summary { "AIRFLOW_CONN_* lines for this deployment" }
                        pre.mono { (lines) }
                        @if redacted { p.help { "Values shown as *** are secrets the API never reveals; " code { "wid connections export --deployment" } " prints the same." } }
                    }
                }
                @if signed.session.admin { details {
                    summary { "Link a connection (or change its overrides)" }
                    form method="post" action=(format!("{base}/connections")) {
                        input type="hidden" name=(CSRF_FIELD) value=(signed.session.csrf);
                        div.field {
                            label for=(format!("link-{slug}")) { "Connection" }
                            select id=(format!("link-{slug}")) name="connection_id" {
                                @for cid in &conn_ids { option value=(cid) { (cid) } }
                            }
                        }
                        div.field {
                            label for=(format!("overrides-{slug}")) { "Overrides for this deployment" }
                            textarea id=(format!("overrides-{slug}")) name="overrides" rows="3" placeholder="subscriptionId=00000000-0000-0000-0000-000000000000" aria-describedby=(format!("overrides-help-{slug}")) {}
                            p.help id=(format!("overrides-help-{slug}")) { "One " code { "key=value" } " per line: host, login, schema, port, description or conn_type replace the field; any other key sets an Extra key." }
                        }
                        div.buttons { button.primary type="submit" { "Link" } }
                    }
                } }
            }
        });
    }
    Ok(layout::page(
        "Deployments",
        Section::Deployments,
        signed,
        html! {
            h1 { "Deployments" }
            p.lead { "Airflow deployments, the identity each runs as, and whether each component can sign in." }
            @if let Some(n) = notice { p.notice.ok role="status" { (n) } }
            @if let Some(p) = problem { p.error role="alert" { (p) } }
            @if cards.is_empty() { p.muted { "No deployments yet. Create one with " code { "wid deployment create" } "." } }
            @for c in cards { (c) }
        },
    ))
}

/// `GET /deployments`.
pub async fn list(
    State(s): State<UiState>,
    signed: Signed,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let p = FormData::parse(raw.as_deref().unwrap_or("").as_bytes()).unwrap_or_default();
    let notice = p.get("done").map(String::from);
    Ok(page(&s, &signed, notice, None).await?.into_response())
}

async fn refused(
    s: &UiState,
    signed: &Signed,
    status: u16,
    problem: String,
) -> Result<Response, UiError> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    Ok((status, page(s, signed, None, Some(problem)).await?).into_response())
}

fn done(message: &str) -> Response {
    Redirect::to(&format!("/deployments?done={}", enc(message))).into_response()
}

/// `POST /deployments/{name}/assign`.
pub async fn assign(
    State(s): State<UiState>,
    signed: Signed,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let f = FormData::parse(&body)?;
    signed.check_write(&f)?;
    let Some((rg, identity)) = f.get("identity").and_then(|i| i.split_once('/')) else {
        return refused(&s, &signed, 400, "choose an identity".into()).await;
    };
    let dep = s
        .api(
            Method::GET,
            &format!("/api/v2/deployments/{}", enc(&name)),
            None,
        )
        .await?;
    if dep.status == 404 {
        return Err(UiError::NotFound(format!(
            "there is no deployment '{name}'"
        )));
    }
    let dep = dep.or_fail(format!("reading deployment {name}"))?;
    let d: Deployment =
        serde_json::from_value(dep.json["deployment"].clone()).map_err(|e| UiError::Backend {
            doing: format!("reading deployment {name}"),
            status: 200,
            detail: e.to_string(),
        })?;
    let idp = identity_path(&s, rg, identity);
    let found = s
        .arm(Method::GET, &format!("{idp}?api-version={MSI_API}"), None)
        .await?;
    if !found.ok() {
        return refused(
            &s,
            &signed,
            found.status,
            format!("identity {identity}: {}", found.detail()),
        )
        .await;
    }
    let issuer = s.config().issuer_url.clone();
    let existing: Vec<ExistingCredential> = fics_of(&s, rg, identity)
        .await?
        .iter()
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
        .collect();
    let p = match plan(&d, &issuer, &existing) {
        Ok(p) => p,
        Err(e) => {
            return refused(
                &s,
                &signed,
                409,
                format!("Deployment {name} was not assigned: {e}"),
            )
            .await;
        }
    };
    let mut created: Vec<String> = dep.json["assignment"]["created"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(String::from))
        .filter(|n| existing.iter().any(|e| &e.name == n))
        .collect();
    for (fic, _component, subject) in &p.create {
        let req = json!({"properties": {"audiences": [DEFAULT_AUDIENCE], "issuer": issuer, "subject": subject}});
        let r = s
            .arm(
                Method::PUT,
                &format!(
                    "{idp}/federatedIdentityCredentials/{}?api-version={MSI_API}",
                    enc(fic)
                ),
                Some(&req),
            )
            .await?;
        if !r.ok() {
            return refused(&s, &signed, r.status, format!("creating federated credential {fic} failed (HTTP {}): {}; the credentials made so far stay, assigning again continues", r.status, r.detail())).await;
        }
        created.push(fic.clone());
    }
    let record = json!({"identity_id": idp, "identity_name": identity, "resource_group": rg, "issuer": issuer, "created": created});
    s.api(
        Method::PUT,
        &format!("/api/v2/deployments/{}/assignment", enc(&name)),
        Some(&record),
    )
    .await?
    .or_fail(format!("recording the assignment of {name}"))?;
    Ok(done(&format!(
        "Assigned {identity} to {name}: {} federated credential(s) created, {} already in place.",
        p.create.len(),
        p.reuse.len()
    )))
}

/// `POST /deployments/{name}/connections`: link, or change a link's overrides.
pub async fn link(
    State(s): State<UiState>,
    signed: Signed,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let f = FormData::parse(&body)?;
    signed.check_write(&f)?;
    let cid = f.text("connection_id");
    let overrides = match parse_overrides(f.get("overrides").unwrap_or("")) {
        Ok(o) => o,
        Err(e) => {
            return refused(
                &s,
                &signed,
                422,
                format!("The overrides were not saved: {e}"),
            )
            .await;
        }
    };
    let r = s
        .api(
            Method::PUT,
            &format!(
                "/api/v2/deployments/{}/connections/{}",
                enc(&name),
                enc(&cid)
            ),
            Some(&json!({"overrides": overrides})),
        )
        .await?;
    if !r.ok() {
        return refused(
            &s,
            &signed,
            r.status,
            format!("Linking {cid} failed (HTTP {}): {}", r.status, r.detail()),
        )
        .await;
    }
    Ok(done(&format!("Linked {cid} to {name}.")))
}

/// `POST /deployments/{name}/connections/{conn_id}/delete`.
pub async fn unlink(
    State(s): State<UiState>,
    signed: Signed,
    Path((name, cid)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    signed.check_write(&FormData::parse(&body)?)?;
    let r = s
        .api(
            Method::DELETE,
            &format!(
                "/api/v2/deployments/{}/connections/{}",
                enc(&name),
                enc(&cid)
            ),
            None,
        )
        .await?;
    if !r.ok() {
        return refused(
            &s,
            &signed,
            r.status,
            format!("Unlinking {cid} failed (HTTP {}): {}", r.status, r.detail()),
        )
        .await;
    }
    Ok(done(&format!("Unlinked {cid} from {name}.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lines_are_airflow_conn_variables() {
        let (text, redacted) = env_lines(&[
            json!({"connection_id": "azure_wi", "conn_type": "azure", "extra": "{\"subscriptionId\": \"s\"}"}),
        ]);
        assert!(
            text.starts_with("AIRFLOW_CONN_AZURE_WI='azure://"),
            "{text}"
        );
        assert!(text.contains("subscriptionId=s") && !redacted, "{text}");
        let (_, redacted) =
            env_lines(&[json!({"connection_id": "x", "conn_type": "azure", "password": "***"})]);
        assert!(redacted);
    }

    #[test]
    fn overrides_are_key_value_lines() {
        let o = parse_overrides("subscriptionId = abc\n\nhost=h=1\n").unwrap();
        assert_eq!(o["subscriptionId"], "abc");
        assert_eq!(o["host"], "h=1");
        assert!(parse_overrides("nonsense").unwrap_err().contains("line 1"));
        assert!(parse_overrides("=x").is_err());
        assert_eq!(overrides_text(&json!({"a": "b", "n": 1})), "a=b\nn=1");
    }
}
