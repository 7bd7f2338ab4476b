//! `/api/v2/deployments` (wid's own resource): Airflow deployments and the identity assigned
//! to them. `GET` list, `POST` create, `GET`/`DELETE` one, `PUT .../assignment` to record
//! what assign-identity created.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{Value, json};
use wid_model::deployment::Deployment;

use crate::ApiState;
use crate::error::ApiError;

/// The routes.
pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/v2/deployments", get(list).post(create))
        .route("/api/v2/deployments/{name}", get(one).delete(delete))
        .route("/api/v2/deployments/{name}/assignment", put(assign))
        .route("/api/v2/deployments/{name}/connections", get(linked))
        .route(
            "/api/v2/deployments/{name}/connections/{conn_id}",
            put(link).delete(unlink),
        )
}

fn view(name: &str, spec: &str, assignment: Option<&str>) -> Value {
    let d: Value = serde_json::from_str(spec).unwrap_or(Value::Null);
    let components = serde_json::from_str::<Deployment>(spec)
        .map(|d| d.components())
        .unwrap_or_default();
    json!({
        "name": name,
        "deployment": d,
        "components": components,
        "assignment": assignment.and_then(|a| serde_json::from_str::<Value>(a).ok()),
    })
}

async fn list(State(s): State<ApiState>, h: HeaderMap) -> Result<Response, ApiError> {
    s.auth.check(&h, s.clock.now()).await?;
    let rows = s.store.list_deployments().await?;
    let v: Vec<Value> = rows
        .iter()
        .map(|(n, sp, a)| view(n, sp, a.as_deref()))
        .collect();
    Ok(Json(json!({"deployments": v, "total_entries": v.len()})).into_response())
}

async fn create(
    State(s): State<ApiState>,
    h: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    s.auth.check(&h, s.clock.now()).await?;
    let d: Deployment = serde_json::from_slice(&body).map_err(|e| {
        ApiError::unprocessable(
            "value_error",
            &["body"],
            format!("not a deployment: {e}"),
            Value::Null,
        )
    })?;
    if wid_model::connection::validate_conn_id(&d.name).is_err() {
        return Err(ApiError::unprocessable(
            "string_pattern_mismatch",
            &["body", "name"],
            "a deployment name is letters, digits, '.', '_' and '-'",
            json!(d.name),
        ));
    }
    if !(2..=3).contains(&d.airflow_version) {
        return Err(ApiError::unprocessable(
            "value_error",
            &["body", "airflow_version"],
            "airflow_version is 2 or 3",
            json!(d.airflow_version),
        ));
    }
    if let Err(e) = wid_model::federated::validate_k8s_name("namespace", &d.namespace) {
        return Err(ApiError::unprocessable(
            "value_error",
            &["body", "namespace"],
            e,
            json!(d.namespace),
        ));
    }
    for (_, sa) in &d.service_accounts {
        if let Err(e) = wid_model::federated::validate_k8s_name("service account", sa) {
            return Err(ApiError::unprocessable(
                "value_error",
                &["body", "service_accounts"],
                e,
                json!(sa),
            ));
        }
    }
    let spec = serde_json::to_string(&d).unwrap_or_default();
    s.store
        .insert_deployment(&d.name, &spec, s.clock.now())
        .await
        .map_err(|e| match e {
            wid_store::StoreError::Conflict(_) => ApiError::new(
                StatusCode::CONFLICT,
                format!("A deployment named `{}` already exists.", d.name),
            ),
            e => e.into(),
        })?;
    Ok((StatusCode::CREATED, Json(view(&d.name, &spec, None))).into_response())
}

fn missing(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("The Deployment `{name}` was not found"),
    )
}

async fn one(
    State(s): State<ApiState>,
    h: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    s.auth.check(&h, s.clock.now()).await?;
    let (spec, a) = s
        .store
        .get_deployment(&name)
        .await?
        .ok_or_else(|| missing(&name))?;
    Ok(Json(view(&name, &spec, a.as_deref())).into_response())
}

async fn delete(
    State(s): State<ApiState>,
    h: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    s.auth.check(&h, s.clock.now()).await?;
    if s.store.delete_deployment(&name).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(missing(&name))
    }
}

async fn assign(
    State(s): State<ApiState>,
    h: HeaderMap,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    s.auth
        .require_admin_for(&h, s.clock.now(), |oid| grants_reach(oid, "an assignment"))
        .await?;
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::unprocessable("json_invalid", &["body"], e.to_string(), Value::Null)
    })?;
    let text = if v.is_null() {
        None
    } else {
        Some(v.to_string())
    };
    if !s
        .store
        .set_deployment_assignment(&name, text.as_deref())
        .await?
    {
        return Err(missing(&name));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The 403 for a principal that writes what decides which secrets an identity may read.
fn grants_reach(oid: &str, what: &str) -> String {
    format!(
        "Writing {what} decides which connections (with their secrets) an identity may read through `GET /api/v2/deployments/{{name}}/secrets/connections/{{conn_id}}`, so only the administrator may write it; the caller is principal `{oid}`, authenticated with a token. Use the admin key in $WID_HOME/api-key (as `wid deployment` does)."
    )
}

/// Applies a link's overrides: standard fields (`host`, `login`, `schema`, `port`,
/// `description`, `conn_type`) replace the field, any other key sets an `extra` key.
pub fn materialize(
    c: &wid_model::connection::Connection,
    overrides: &serde_json::Map<String, Value>,
) -> wid_model::connection::Connection {
    use wid_model::connection::pyjson;
    let mut out = c.clone();
    let mut extra = out.extra_object().ok().flatten().unwrap_or_default();
    let mut extra_changed = false;
    for (k, v) in overrides {
        let text = v
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| v.to_string());
        match k.as_str() {
            "host" => out.host = Some(text),
            "login" => out.login = Some(text),
            "schema" => out.schema = Some(text),
            "description" => out.description = Some(text),
            "conn_type" => out.conn_type = Some(text),
            "port" => out.port = text.parse().ok(),
            _ => {
                let pv = pyjson::loads(&v.to_string()).unwrap_or(pyjson::Value::Str(text));
                extra.insert(k.clone(), pv);
                extra_changed = true;
            }
        }
    }
    if extra_changed {
        out.set_extra_object(&extra);
    }
    out
}

async fn link(
    State(s): State<ApiState>,
    h: HeaderMap,
    Path((name, conn_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    s.auth
        .require_admin_for(&h, s.clock.now(), |oid| grants_reach(oid, "a link"))
        .await?;
    s.store
        .get_deployment(&name)
        .await?
        .ok_or_else(|| missing(&name))?;
    s.store
        .get_connection(&conn_id, &s.keys.current())
        .await?
        .ok_or_else(|| ApiError::not_found(&conn_id))?;
    let v: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::unprocessable("json_invalid", &["body"], e.to_string(), Value::Null)
        })?
    };
    let overrides = v.get("overrides").cloned().unwrap_or_else(|| json!({}));
    if !overrides.is_object() {
        return Err(ApiError::unprocessable(
            "dict_type",
            &["body", "overrides"],
            "Input should be a valid dictionary",
            overrides,
        ));
    }
    s.store
        .put_link(&conn_id, &name, &overrides.to_string(), s.clock.now())
        .await?;
    Ok(
        Json(json!({"connection_id": conn_id, "deployment": name, "overrides": overrides}))
            .into_response(),
    )
}

async fn unlink(
    State(s): State<ApiState>,
    h: HeaderMap,
    Path((name, conn_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    s.auth.check(&h, s.clock.now()).await?;
    if s.store.delete_link(&conn_id, &name).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(&conn_id))
    }
}

/// What the deployment's Airflow sees: every linked connection with its overrides applied.
async fn linked(
    State(s): State<ApiState>,
    h: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    s.auth.check(&h, s.clock.now()).await?;
    let mut out = Vec::new();
    for (c, o) in linked_connections(&s, &name).await? {
        let mut v = crate::body::response(&c);
        v["overrides"] = Value::Object(o);
        out.push(v);
    }
    Ok(Json(json!({"connections": out, "total_entries": out.len()})).into_response())
}

/// The connections linked to deployment `name`, each with its link's overrides applied (and
/// the overrides), decrypted: what that deployment's Airflow sees. 404 for an unknown
/// deployment.
pub async fn linked_connections(
    s: &ApiState,
    name: &str,
) -> Result<
    Vec<(
        wid_model::connection::Connection,
        serde_json::Map<String, Value>,
    )>,
    ApiError,
> {
    s.store
        .get_deployment(name)
        .await?
        .ok_or_else(|| missing(name))?;
    let mut out = Vec::new();
    for (conn_id, overrides) in s.store.list_links(name).await? {
        let Some(c) = s.store.get_connection(&conn_id, &s.keys.current()).await? else {
            continue;
        };
        let o: serde_json::Map<String, Value> =
            serde_json::from_str(&overrides).unwrap_or_default();
        out.push((materialize(&c, &o), o));
    }
    Ok(out)
}
