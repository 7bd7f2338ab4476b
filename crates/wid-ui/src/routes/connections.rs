//! Admin > Connections: the list (search, sort, paging), add, edit, test and delete, over
//! `/api/v2/connections`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::Value;
use wid_model::connection::export::{ExportFormat, export_text};
use wid_model::connection::registry::{self, ConnectionType, StandardField};
use wid_model::connection::{
    Connection, EnvFormat, UriFlavor, env::from_env_value, validate_conn_id,
};

use crate::UiState;
use crate::backend::enc;
use crate::connection_form::{Checked, ConnForm, body, field_input, label, max_len, update_mask};
use crate::error::UiError;
use crate::form::FormData;
use crate::layout::{self, Section};
use crate::session::{CSRF_FIELD, Signed};
use crate::test_run::{self, Outcome};

/// Rows per page.
pub const PAGE_SIZE: i64 = 50;

/// The columns the list sorts by: (API `order_by`, heading).
const COLUMNS: [(&str, &str); 4] = [
    ("connection_id", "Connection ID"),
    ("conn_type", "Type"),
    ("description", "Description"),
    ("host", "Host"),
];

fn query(q: &Option<String>) -> FormData {
    FormData::parse(q.as_deref().unwrap_or("").as_bytes()).unwrap_or_default()
}

fn list_url(q: &str, sort: &str, page: i64) -> String {
    let mut parts = Vec::new();
    if !q.is_empty() {
        parts.push(format!("q={}", enc(q)));
    }
    if !sort.is_empty() && sort != "connection_id" {
        parts.push(format!("sort={}", enc(sort)));
    }
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() {
        "/connections".into()
    } else {
        format!("/connections?{}", parts.join("&"))
    }
}

/// A row of the list.
struct Row {
    id: String,
    conn_type: String,
    description: String,
    host: String,
    source: Option<String>,
}

fn env_rows(s: &UiState, q: &str) -> Vec<Row> {
    s.config()
        .env_connections
        .iter()
        .filter_map(|(var, value)| {
            let id = var.strip_prefix("AIRFLOW_CONN_")?.to_lowercase();
            if !q.is_empty() && !id.contains(&q.to_lowercase()) {
                return None;
            }
            let c = from_env_value(&id, value.expose_str(), UriFlavor::Core).ok();
            Some(Row {
                id,
                conn_type: c
                    .as_ref()
                    .and_then(|c| c.conn_type.clone())
                    .unwrap_or_default(),
                description: c
                    .as_ref()
                    .and_then(|c| c.description.clone())
                    .unwrap_or_default(),
                host: c.as_ref().and_then(|c| c.host.clone()).unwrap_or_default(),
                source: Some(var.clone()),
            })
        })
        .collect()
}

/// `GET /connections`.
pub async fn list(
    State(s): State<UiState>,
    signed: Signed,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let p = query(&raw);
    let q = p.text("q");
    let sort = p.text("sort");
    let sort = if COLUMNS
        .iter()
        .any(|(c, _)| *c == sort.trim_start_matches('-'))
    {
        sort
    } else {
        "connection_id".to_string()
    };
    let page = p
        .text("page")
        .parse::<i64>()
        .unwrap_or(1)
        .clamp(1, 1_000_000);
    let mut path = format!(
        "/api/v2/connections?limit={PAGE_SIZE}&offset={}&order_by={}",
        (page - 1) * PAGE_SIZE,
        enc(&sort)
    );
    if !q.is_empty() {
        path.push_str(&format!("&connection_id_pattern={}", enc(&q)));
    }
    let r = s.api(Method::GET, &path, None).await?;
    let (mut rows, total, problem) = if r.ok() {
        let rows: Vec<Row> = r.json["connections"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        let t = |k: &str| c[k].as_str().unwrap_or("").to_string();
                        Row {
                            id: t("connection_id"),
                            conn_type: t("conn_type"),
                            description: t("description"),
                            host: t("host"),
                            source: None,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        (rows, r.json["total_entries"].as_i64().unwrap_or(0), None)
    } else {
        (Vec::new(), 0, Some(r.detail()))
    };
    if page == 1 {
        rows.extend(env_rows(&s, &q));
    }
    let notice = p
        .get("saved")
        .map(|id| format!("Saved connection {id}."))
        .or_else(|| {
            p.get("deleted")
                .map(|id| format!("Deleted connection {id}."))
        });
    let first = (page - 1) * PAGE_SIZE + 1;
    let last = ((page - 1) * PAGE_SIZE + PAGE_SIZE).min(total);
    let content = html! {
        h1 { "Connections" }
        p.lead { "Airflow connections in wid's store, and this server's " code { "AIRFLOW_CONN_*" } " variables (read-only)." }
        @if let Some(n) = notice { p.notice.ok role="status" { (n) } }
        @if let Some(e) = problem { p.error role="alert" { (e) } }
        div.bar {
            form.grow role="search" method="get" action="/connections" {
                label for="q" { "Search by connection id" }
                div.bar {
                    input #q.grow type="search" name="q" value=(q) maxlength="200";
                    @if sort != "connection_id" { input type="hidden" name="sort" value=(sort); }
                    button type="submit" { "Search" }
                }
            }
            @if signed.session.admin {
                a.button.primary href="/connection/add" title="Add a connection" { "+ Add connection" }
            }
        }
        p.muted {
            "Export: "
            a href="/connection/export?format=json" download="connections.json" { "JSON" } " · "
            a href="/connection/export?format=yaml" download="connections.yaml" { "YAML" } " · "
            a href="/connection/export?format=env" download="connections.env" { ".env" }
            " (as " code { "wid connections export" } "; passwords show as ***)"
        }
        div.table-wrap {
            table {
                caption.skip { "Connections" }
                thead { tr {
                    @for (col, heading) in COLUMNS {
                        @let (aria, next, mark) = if sort == col {
                            ("ascending", format!("-{col}"), " ▲")
                        } else if sort == format!("-{col}") {
                            ("descending", col.to_string(), " ▼")
                        } else {
                            ("none", col.to_string(), "")
                        };
                        th scope="col" aria-sort=(aria) class=[if col == "description" || col == "host" { Some("hide-narrow") } else { None }] {
                            a href=(list_url(&q, &next, 1)) { (heading) (mark) }
                        }
                    }
                    th scope="col" { "Source" }
                    th scope="col" { span.skip { "Actions" } }
                } }
                tbody {
                    @for row in &rows {
                        tr {
                            td.mono {
                                @if row.source.is_none() {
                                    a href=(format!("/connections/{}", enc(&row.id))) { (row.id) }
                                } @else { (row.id) }
                            }
                            td { (row.conn_type) }
                            td.hide-narrow { (row.description) }
                            td.mono.hide-narrow { (row.host) }
                            td { @if let Some(v) = &row.source { code { (v) } } @else { "store" } }
                            td.actions {
                                @if row.source.is_none() && !signed.session.admin {
                                    a href=(format!("/connections/{}", enc(&row.id))) aria-label=(format!("View {}", row.id)) { "View" }
                                } @else if row.source.is_none() {
                                    a href=(format!("/connections/{}", enc(&row.id))) aria-label=(format!("Edit {}", row.id)) { "Edit" }
                                    " · "
                                    span.hide-narrow {
                                        a href=(format!("/connection/add?from={}", enc(&row.id))) aria-label=(format!("Duplicate {}", row.id)) { "Duplicate" }
                                        " · "
                                    }
                                    a href=(format!("/connections/{}/delete", enc(&row.id))) aria-label=(format!("Delete {}", row.id)) { "Delete" }
                                } @else { span.muted { "read-only" } }
                            }
                        }
                    }
                    @if rows.is_empty() {
                        tr { td colspan="6" .muted { @if q.is_empty() { "No connections yet. Add one with + Add connection." } @else { "No connection id contains '" (q) "'." } } }
                    }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if total > 0 { span { (first) "–" (last) " of " (total) } }
            @if page > 1 { a href=(list_url(&q, &sort, page - 1)) rel="prev" { "Previous" } }
            @if last < total { a href=(list_url(&q, &sort, page + 1)) rel="next" { "Next" } }
        }
    };
    Ok(layout::page("Connections", Section::Connections, &signed, content).into_response())
}

/// Where a form posts, and what it edits.
#[derive(Clone, Copy)]
enum Mode<'a> {
    Add,
    Edit(&'a str),
}

fn field(
    id: &str,
    name: &str,
    label_text: &str,
    value: &str,
    placeholder: Option<&str>,
    help: Option<Markup>,
    error: Option<&str>,
) -> Markup {
    let help_id = format!("{id}-help");
    let err_id = format!("{id}-error");
    let described: Vec<&str> = [
        help.as_ref().map(|_| help_id.as_str()),
        error.map(|_| err_id.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let kind = if name == "password" {
        "password"
    } else {
        "text"
    };
    html! {
        div.field {
            label for=(id) { (label_text) }
            input id=(id) type=(kind) name=(name) value=(value) placeholder=[placeholder]
                maxlength=(max_len(name.rsplit("__").next().unwrap_or(name)))
                autocomplete=(if kind == "password" { "new-password" } else { "off" })
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[if described.is_empty() { None } else { Some(described.join(" ")) }];
            @if let Some(h) = help { p.help id=(help_id) { (h) } }
            @if let Some(e) = error { p.field-error id=(err_id) { (e) } }
        }
    }
}

fn custom_field(
    ty: &ConnectionType,
    f: &ConnForm,
    c: &Checked,
    name: &str,
    help: Option<Markup>,
) -> Markup {
    let Some(x) = ty.extra_field(name) else {
        return html! {};
    };
    let input = field_input(ty, name);
    field(
        &input,
        &input,
        x.label,
        f.custom(name),
        ty.placeholder(name),
        help,
        c.error(name),
    )
}

fn type_options(current: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = registry::connection_types()
        .iter()
        .map(|t| {
            (
                t.conn_type.to_string(),
                format!("{} ({})", t.hook_name, t.conn_type),
            )
        })
        .collect();
    v.push(("generic".into(), "Generic (generic)".into()));
    if !current.is_empty() && !v.iter().any(|(t, _)| t == current) {
        v.push((current.to_string(), current.to_string()));
    }
    v
}

async fn components(s: &UiState) -> Vec<(String, String)> {
    let Ok(r) = s.api(Method::GET, "/api/v2/deployments", None).await else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for d in r.json["deployments"].as_array().into_iter().flatten() {
        let ns = d["deployment"]["namespace"].as_str().unwrap_or("");
        for c in d["components"].as_array().into_iter().flatten() {
            out.push((
                format!("{ns}/{}", c["service_account"].as_str().unwrap_or("")),
                format!(
                    "{} {}",
                    d["name"].as_str().unwrap_or(""),
                    c["name"].as_str().unwrap_or("")
                ),
            ));
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    signed: &Signed,
    mode: Mode<'_>,
    f: &ConnForm,
    c: &Checked,
    outcome: Option<&Outcome>,
    problem: Option<&str>,
    comps: &[(String, String)],
) -> Markup {
    let ty = registry::lookup(&f.conn_type);
    let (title, action) = match mode {
        Mode::Add => ("Add connection".to_string(), "/connection/add".to_string()),
        Mode::Edit(id) => (
            format!("Edit connection {id}"),
            format!("/connections/{}", enc(id)),
        ),
    };
    let editing = matches!(mode, Mode::Edit(_));
    let content = html! {
        p { a href="/connections" { "← Connections" } }
        h1 { (title) }
        @if let Some(p) = problem { p.error role="alert" { (p) } }
        section #test-result aria-live="polite" {
            @match outcome {
                Some(Outcome::Success { message, claims }) => {
                    div.notice.ok {
                        h2 { "Test passed" }
                        pre { (message) }
                        @if !claims.is_empty() {
                            p { "Claims of the access token (the token itself is not shown):" }
                            dl.props { @for (k, v) in claims { dt { (k) } dd.mono { (v) } } }
                        }
                    }
                }
                Some(Outcome::Failure { message, remedy }) => {
                    div.notice.error role="alert" {
                        h2 { "Test failed" }
                        pre { (message) }
                        @if let Some(r) = remedy { p { strong { "Fix: " } (r) } }
                    }
                }
                None => {}
            }
        }
        @if !editing {
            form.bar method="get" action="/connection/add" {
                div.field.grow {
                    label for="conn_type_choice" { "Connection type" }
                    select #conn_type_choice name="conn_type" {
                        @for (t, l) in type_options(&f.conn_type) {
                            option value=(t) selected[t == f.conn_type] { (l) }
                        }
                    }
                }
                button type="submit" { "Choose" }
            }
        }
        form method="post" action=(action) {
            input type="hidden" name=(CSRF_FIELD) value=(signed.session.csrf);
            fieldset.plain disabled[!signed.session.admin] {
            @if editing {
                div.field {
                    label for="conn_id" { "Connection Id" }
                    input #conn_id type="text" name="conn_id" value=(f.conn_id) readonly;
                }
                div.field {
                    label for="conn_type" { "Connection Type" }
                    select #conn_type name="conn_type" {
                        @for (t, l) in type_options(&f.conn_type) {
                            option value=(t) selected[t == f.conn_type] { (l) }
                        }
                    }
                }
            } @else {
                input type="hidden" name="conn_type" value=(f.conn_type);
                (field("conn_id", "conn_id", "Connection Id", &f.conn_id, Some(ty.map(|t| t.default_conn_name).unwrap_or("my_connection")), Some(html! { "Letters, digits, " code { "_" } ", " code { "." } " and " code { "-" } "; at most 200 characters." }), c.error("conn_id")))
                @if let Some(e) = c.error("conn_type") { p.field-error { (e) } }
            }
            (field("description", "description", "Description", &f.description, None, None, c.error("description")))
            @match ty {
                Some(t) if t.conn_type == "azure" => {
                    fieldset {
                        legend { "Workload identity" }
                        (custom_field(t, f, c, "managed_identity_client_id", Some(html! { "The managed identity's " strong { "Client ID" } " (its Properties page), not its Principal ID." })))
                        (custom_field(t, f, c, "workload_identity_tenant_id", Some(html! { "The identity's " strong { "Tenant ID" } ". Set both fields: Airflow uses the identity only when both are set." })))
                        @for w in &c.warnings { p.field-warning role="status" { (w) } }
                    }
                    @let more = ["subscriptionId", "tenantId", "cloud_environment", "login", "password"];
                    @let open = more.iter().any(|n| c.error(n).is_some()) || !f.custom("subscriptionId").is_empty() || !f.custom("tenantId").is_empty() || !f.login.is_empty() || !f.custom("cloud_environment").is_empty();
                    details open[open] {
                        summary { "More options" }
                        (custom_field(t, f, c, "subscriptionId", Some(html! { "Optional: the subscription hooks use by default; Test reads it." })))
                        p.help { "Service principal (client secret) authentication, used instead of the managed identity when Client ID, Secret and Tenant ID are all set:" }
                        (field("login", "login", label(ty, StandardField::Login), &f.login, t.placeholder("login"), None, c.error("login")))
                        (field("password", "password", label(ty, StandardField::Password), "", Some(if editing { "unchanged: leave empty to keep the stored secret" } else { t.placeholder("password").unwrap_or("") }), None, c.error("password")))
                        (custom_field(t, f, c, "tenantId", None))
                        (custom_field(t, f, c, "cloud_environment", None))
                    }
                }
                _ => {
                    @if !editing && ty.is_none() && f.conn_type != "generic" {
                        (field("conn_type", "conn_type", "Connection Type", &f.conn_type, None, None, c.error("conn_type")))
                    }
                    (field("host", "host", "Host", &f.host, None, None, c.error("host")))
                    (field("schema", "schema", "Schema", &f.schema, None, None, c.error("schema")))
                    (field("login", "login", "Login", &f.login, None, None, c.error("login")))
                    (field("password", "password", "Password", "", if editing { Some("unchanged: leave empty to keep the stored password") } else { None }, None, c.error("password")))
                    (field("port", "port", "Port", &f.port, None, None, c.error("port")))
                    @for w in &c.warnings { p.field-warning role="status" { (w) } }
                }
            }
            div.field {
                label for="extra" { "Extra" }
                textarea #extra name="extra" rows="6" placeholder=[ty.and_then(|t| t.placeholder("extra"))]
                    aria-invalid=[c.error("extra").map(|_| "true")]
                    aria-describedby=(if c.error("extra").is_some() { "extra-help extra-error" } else { "extra-help" }) { (f.extra) }
                p.help #extra-help { "A JSON object. The fields above are stored in Extra too; put only other keys here." }
                @if let Some(e) = c.error("extra") { p.field-error #extra-error { (e) } }
            }
            div.field {
                label for="test_as" { "Test as service account (optional)" }
                input #test_as type="text" name="test_as" value=(f.test_as) list="components" placeholder="airflow/airflow-worker" aria-describedby="test_as-help" maxlength="300";
                datalist #components { @for (v, l) in comps { option value=(v) { (l) } } }
                p.help #test_as-help { code { "NAMESPACE/SERVICE_ACCOUNT" } " of a deployment component: Test mints its projected token and exchanges it as the pod would. Empty: Test uses the server's own environment." }
            }
            }
            div.buttons {
                @if signed.session.admin {
                    button.primary type="submit" name="action" value="save" { "Save" }
                    button type="submit" name="action" value="test" { "Test" }
                    a.button href="/connections" { "Cancel" }
                } @else {
                    p.muted { "Read-only: sign in with the admin key to change or test connections." }
                }
            }
        }
    };
    layout::page(&title, Section::Connections, signed, content)
}

/// `GET /connection/add`.
pub async fn add_form(
    State(s): State<UiState>,
    signed: Signed,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    if !signed.session.admin {
        return Err(UiError::ReadOnly);
    }
    let p = query(&raw);
    let from = p.text("from");
    let mut notice = None;
    let f = if from.is_empty() {
        let t = p.text("conn_type");
        let t = if t.is_empty() { "azure".to_string() } else { t };
        if t.chars().count() > max_len("conn_type") {
            return Err(UiError::BadRequest(
                "the connection type is too long".into(),
            ));
        }
        ConnForm::new(&t)
    } else {
        // Duplicate, as Airflow's list action: every field but the password, under a new id.
        checked_conn_id(&from)?;
        let r = s
            .api(
                Method::GET,
                &format!("/api/v2/connections/{}", enc(&from)),
                None,
            )
            .await?;
        if r.status == 404 {
            return Err(UiError::NotFound(format!(
                "there is no connection '{from}'"
            )));
        }
        let mut f = ConnForm::from_api(&r.or_fail(format!("reading connection {from}"))?.json);
        f.conn_id = format!("{from}_copy1");
        notice = Some(format!(
            "A copy of {from}. Its password is not copied (the API never reveals it): type it again if it has one."
        ));
        f
    };
    let comps = components(&s).await;
    let checked = Checked {
        errors: Vec::new(),
        warnings: notice.into_iter().collect(),
    };
    Ok(form_page(&signed, Mode::Add, &f, &checked, None, None, &comps).into_response())
}

fn checked_conn_id(id: &str) -> Result<(), UiError> {
    validate_conn_id(id).map_err(|e| {
        UiError::BadRequest(format!(
            "'{}' is not a connection id: {e}",
            id.chars().take(80).collect::<String>()
        ))
    })
}

/// Maps the API's 422 items onto the form's fields.
fn api_errors(v: &Value) -> Checked {
    let mut c = Checked::default();
    for i in v["detail"].as_array().into_iter().flatten() {
        let loc = i["loc"]
            .as_array()
            .and_then(|l| l.get(1))
            .and_then(Value::as_str)
            .unwrap_or("extra");
        let field = if loc == "connection_id" {
            "conn_id"
        } else {
            loc
        };
        c.errors.push((
            field.to_string(),
            i["msg"].as_str().unwrap_or("invalid").to_string(),
        ));
    }
    c
}

async fn save_or_test(
    s: &UiState,
    signed: &Signed,
    mode: Mode<'_>,
    body_bytes: &[u8],
) -> Result<Response, UiError> {
    let d = FormData::parse(body_bytes)?;
    signed.check_write(&d)?;
    let mut f = ConnForm::from_form(&d);
    if let Mode::Edit(id) = mode {
        f.conn_id = id.to_string();
    }
    let (conn, checked) = f.to_connection();
    let comps = components(s).await;
    let again = |c: &Checked, o: Option<&Outcome>, p: Option<&str>, status: StatusCode| {
        (status, form_page(signed, mode, &f, c, o, p, &comps)).into_response()
    };
    let Some(conn) = conn else {
        return Ok(again(
            &checked,
            None,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    };
    if d.get("action") == Some("test") {
        let outcome = test_run::run(s, &conn, &f.test_as).await?;
        return Ok(again(&checked, Some(&outcome), None, StatusCode::OK));
    }
    let r = match mode {
        Mode::Add => {
            s.api(Method::POST, "/api/v2/connections", Some(&body(&conn)))
                .await?
        }
        Mode::Edit(id) => {
            let mask: Vec<String> = update_mask(&conn)
                .iter()
                .map(|m| format!("update_mask={m}"))
                .collect();
            s.api(
                Method::PATCH,
                &format!("/api/v2/connections/{}?{}", enc(id), mask.join("&")),
                Some(&body(&conn)),
            )
            .await?
        }
    };
    match r.status {
        200 | 201 => {
            Ok(Redirect::to(&format!("/connections?saved={}", enc(&f.conn_id))).into_response())
        }
        409 => {
            let mut c = checked.clone();
            c.errors.push((
                "conn_id".into(),
                format!(
                    "a connection with id '{}' already exists; choose another id or edit that one",
                    f.conn_id
                ),
            ));
            Ok(again(&c, None, None, StatusCode::CONFLICT))
        }
        422 => Ok(again(
            &api_errors(&r.json),
            None,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        404 => Err(UiError::NotFound(format!(
            "connection '{}' no longer exists",
            f.conn_id
        ))),
        _ => Ok(again(
            &checked,
            None,
            Some(&format!(
                "Saving failed (HTTP {}): {}",
                r.status,
                r.detail()
            )),
            StatusCode::BAD_GATEWAY,
        )),
    }
}

/// `POST /connection/add`: Save or Test.
pub async fn add(
    State(s): State<UiState>,
    signed: Signed,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    save_or_test(&s, &signed, Mode::Add, &body).await
}

/// `GET /connections/{conn_id}`.
pub async fn edit_form(
    State(s): State<UiState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    checked_conn_id(&id)?;
    let r = s
        .api(
            Method::GET,
            &format!("/api/v2/connections/{}", enc(&id)),
            None,
        )
        .await?;
    if r.status == 404 {
        return Err(UiError::NotFound(format!("there is no connection '{id}'")));
    }
    let r = r.or_fail(format!("reading connection {id}"))?;
    let f = ConnForm::from_api(&r.json);
    let (_, checked) = f.to_connection();
    let comps = components(&s).await;
    Ok(form_page(
        &signed,
        Mode::Edit(&id),
        &f,
        &Checked {
            errors: Vec::new(),
            warnings: checked.warnings,
        },
        None,
        None,
        &comps,
    )
    .into_response())
}

/// `POST /connections/{conn_id}`: Save or Test.
pub async fn edit(
    State(s): State<UiState>,
    signed: Signed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    checked_conn_id(&id)?;
    save_or_test(&s, &signed, Mode::Edit(&id), &body).await
}

/// `GET /connections/{conn_id}/delete`: the confirmation.
pub async fn confirm_delete(
    State(_s): State<UiState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    checked_conn_id(&id)?;
    if !signed.session.admin {
        return Err(UiError::ReadOnly);
    }
    let content = html! {
        h1 { "Delete connection " (id) "?" }
        p { "DAGs that use " code { (id) } " will fail to find it. This cannot be undone." }
        form method="post" action=(format!("/connections/{}/delete", enc(&id))) {
            input type="hidden" name=(CSRF_FIELD) value=(signed.session.csrf);
            div.buttons {
                button.danger type="submit" { "Delete" }
                a.button href="/connections" { "Cancel" }
            }
        }
    };
    Ok(layout::page("Delete connection", Section::Connections, &signed, content).into_response())
}

/// `POST /connections/{conn_id}/delete`.
pub async fn delete(
    State(s): State<UiState>,
    signed: Signed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    signed.check_write(&FormData::parse(&body)?)?;
    checked_conn_id(&id)?;
    let r = s
        .api(
            Method::DELETE,
            &format!("/api/v2/connections/{}", enc(&id)),
            None,
        )
        .await?;
    if r.status == 404 {
        return Err(UiError::NotFound(format!("there is no connection '{id}'")));
    }
    r.or_fail(format!("deleting connection {id}"))?;
    Ok(Redirect::to(&format!("/connections?deleted={}", enc(&id))).into_response())
}

/// Every stored connection with its secrets, from the administrator's export route: what an
/// export file must hold (an administrator's session only).
async fn with_secrets(s: &UiState) -> Result<Vec<Connection>, UiError> {
    let r = s
        .api(Method::GET, wid_server_export_path(), None)
        .await?
        .or_fail("exporting connections")?;
    Ok(r.json["connections"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let t = |k: &str| c[k].as_str().map(String::from);
            Connection {
                conn_id: t("connection_id"),
                conn_type: t("conn_type"),
                description: t("description"),
                host: t("host"),
                schema: t("schema"),
                login: t("login"),
                password: t("password").map(Into::into),
                port: c["port"].as_i64(),
                extra: t("extra").map(Into::into),
            }
        })
        .collect())
}

/// The administrator's export route (kept in step with `wid_server::connection_export::PATH`
/// by the router test that downloads an export).
fn wid_server_export_path() -> &'static str {
    "/api/v2/connections:export"
}

/// `GET /connection/export?format=json|yaml|env`: the file `wid connections export` (and
/// `airflow connections export`) writes, byte for byte, as a download. It holds passwords and
/// secret Extra values in clear, as Airflow's does, so only an administrator's session gets it.
pub async fn export(
    State(s): State<UiState>,
    signed: Signed,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    if !signed.session.admin {
        return Err(UiError::ReadOnly);
    }
    let p = query(&raw);
    let (format, ext, mime) = match p.text("format").as_str() {
        "" | "json" => (ExportFormat::Json, "json", "application/json"),
        "yaml" => (ExportFormat::Yaml, "yaml", "application/yaml"),
        "env" => (
            ExportFormat::Env(EnvFormat::Uri),
            "env",
            "text/plain; charset=utf-8",
        ),
        other => {
            return Err(UiError::BadRequest(format!(
                "'{}' is not an export format: use json, yaml or env",
                other.chars().take(40).collect::<String>()
            )));
        }
    };
    let conns = with_secrets(&s).await?;
    let text = export_text(&conns, format)
        .map_err(|e| UiError::BadRequest(format!("the export could not be written: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"connections.{ext}\""),
            ),
        ],
        text,
    )
        .into_response())
}
