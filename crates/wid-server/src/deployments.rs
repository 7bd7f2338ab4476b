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
    s.auth.check(&h, s.clock.now()).await?;
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
