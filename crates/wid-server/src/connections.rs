//! `/api/v2/connections`: list, get, create, update (with `update_mask`), delete, bulk, test.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use wid_model::connection::Connection;
use wid_store::{ListQuery, OrderBy, StoreError};

use crate::ApiState;
use crate::body::{FIELDS, parse_body, response, response_body};
use crate::error::ApiError;
use crate::tester::{TokenSource, test_connection};
use wid_model::connection::redact::{MASK, restore_extra};

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size.
pub const MAX_LIMIT: i64 = 100;
pub use crate::body_limit::MAX_BODY;

/// The routes.
pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/v2/connections", get(list).post(create).patch(bulk))
        .route("/api/v2/connections/test", post(test))
        .route(
            "/api/v2/connections/{connection_id}",
            get(one).patch(update).delete(delete),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
}

fn query_pairs(q: &Option<String>) -> Vec<(String, String)> {
    q.as_deref()
        .map(|q| serde_urlencoded::from_str(q).unwrap_or_default())
        .unwrap_or_default()
}

fn json_body(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::unprocessable(
            "json_invalid",
            &["body"],
            format!("JSON decode error: {e}"),
            Value::Null,
        )
    })
}

async fn auth(s: &ApiState, h: &HeaderMap) -> Result<String, ApiError> {
    s.auth.check(h, s.clock.now()).await
}

fn conflict_or(e: StoreError, id: &str) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::conflict(id),
        other => other.into(),
    }
}

async fn list(
    State(s): State<ApiState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    auth(&s, &headers).await?;
    let mut lq = ListQuery {
        limit: DEFAULT_LIMIT,
        offset: 0,
        order_by: OrderBy::Id,
        descending: false,
        conn_id_pattern: None,
    };
    for (k, v) in query_pairs(&q) {
        let int = |name: &str| {
            v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ApiError::unprocessable(
                    "greater_than_equal",
                    &["query", name],
                    "Input should be a valid integer greater than or equal to 0",
                    json!(v),
                )
            })
        };
        match k.as_str() {
            "limit" => lq.limit = int("limit")?.min(MAX_LIMIT),
            "offset" => lq.offset = int("offset")?,
            "connection_id_pattern" => lq.conn_id_pattern = Some(v.clone()),
            "order_by" => {
                let (desc, field) = v
                    .strip_prefix('-')
                    .map(|f| (true, f))
                    .unwrap_or((false, v.as_str()));
                lq.descending = desc;
                lq.order_by = match field {
                    "connection_id" | "conn_id" => OrderBy::ConnId,
                    "conn_type" => OrderBy::ConnType,
                    "description" => OrderBy::Description,
                    "host" => OrderBy::Host,
                    "port" => OrderBy::Port,
                    "id" => OrderBy::Id,
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "Ordering with '{other}' is disallowed or the attribute does not exist on the model"
                        )));
                    }
                };
            }
            _ => {}
        }
    }
    let (rows, total) = s.store.list_connections(&s.keys.current(), &lq).await?;
    Ok(Json(json!({"connections": rows.iter().map(response_body).collect::<Vec<_>>(), "total_entries": total})).into_response())
}

async fn one(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    auth(&s, &headers).await?;
    let c = s
        .store
        .get_connection(&id, &s.keys.current())
        .await?
        .ok_or_else(|| ApiError::not_found(&id))?;
    Ok(Json(response_body(&c)).into_response())
}

async fn create(
    State(s): State<ApiState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    auth(&s, &headers).await?;
    let c = parse_body(&json_body(&body)?)?;
    let id = c.conn_id.clone().unwrap_or_default();
    s.store
        .insert_connection(&c, &s.keys.current(), s.clock.now())
        .await
        .map_err(|e| conflict_or(e, &id))?;
    Ok((StatusCode::CREATED, Json(response(&c))).into_response())
}

/// Applies `body` onto `existing`, only the fields in `mask` (all when empty).
pub fn apply(
    existing: &Connection,
    body: &Connection,
    mask: &[String],
) -> Result<Connection, ApiError> {
    for f in mask {
        if !FIELDS.contains(&f.as_str()) || f == "connection_id" {
            return Err(ApiError::bad_request(format!(
                "'{f}' is unknown or cannot be updated."
            )));
        }
    }
    let all = mask.is_empty();
    let has = |f: &str| all || mask.iter().any(|m| m == f);
    let mut out = existing.clone();
    if has("conn_type") {
        out.conn_type = body.conn_type.clone();
    }
    if has("description") {
        out.description = body.description.clone();
    }
    if has("host") {
        out.host = body.host.clone();
    }
    if has("login") {
        out.login = body.login.clone();
    }
    if has("schema") {
        out.schema = body.schema.clone();
    }
    if has("port") {
        out.port = body.port;
    }
    if has("password") && body.password.as_ref().map(|p| p.expose_str()) != Some(MASK) {
        out.password = body.password.clone();
    }
    if has("extra") {
        out.extra = match (&body.extra, &existing.extra) {
            (Some(new), Some(old)) => {
                Some(restore_extra(new.expose_str(), old.expose_str()).into())
            }
            (new, _) => new.clone(),
        };
    }
    Ok(out)
}

async fn update(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    auth(&s, &headers).await?;
    let b = parse_body(&json_body(&body)?)?;
    if b.conn_id.as_deref() != Some(id.as_str()) {
        return Err(ApiError::bad_request(
            "The connection_id in the request body does not match the URL parameter",
        ));
    }
    let mask: Vec<String> = query_pairs(&q)
        .into_iter()
        .filter(|(k, _)| k == "update_mask")
        .map(|(_, v)| v)
        .collect();
    let existing = s
        .store
        .get_connection(&id, &s.keys.current())
        .await?
        .ok_or_else(|| ApiError::not_found(&id))?;
    let merged = apply(&existing, &b, &mask)?;
    s.store
        .put_connection(&merged, &s.keys.current(), s.clock.now())
        .await?;
    Ok(Json(response(&merged)).into_response())
}

async fn delete(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    auth(&s, &headers).await?;
    if s.store.delete_connection(&id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(&id))
    }
}

async fn test(
    State(s): State<ApiState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    auth(&s, &headers).await?;
    let mut c = parse_body(&json_body(&body)?)?;
    // As Airflow's main branch does, the body is laid over the stored connection of the same id:
    // a password left out (or sent back as "***") and masked extra values are the stored ones,
    // so an edit form can test what it cannot see. They never leave the server.
    if let Some(id) = c.conn_id.clone().filter(|id| !id.is_empty())
        && let Some(stored) = s.store.get_connection(&id, &s.keys.current()).await?
    {
        if matches!(
            c.password.as_ref().map(|p| p.expose_str()),
            None | Some("") | Some(MASK)
        ) {
            c.password = stored.password.clone();
        }
        if let (Some(new), Some(old)) = (&c.extra, &stored.extra) {
            c.extra = Some(restore_extra(new.expose_str(), old.expose_str()).into());
        }
    }
    let source = TokenSource::Environment {
        authority: s.test_authority.clone(),
    };
    let outcome = test_connection(&c, &source, s.http.clone()).await;
    Ok(Json(outcome).into_response())
}

#[derive(Default)]
struct Outcome {
    success: Vec<String>,
    errors: Vec<Value>,
}

impl Outcome {
    fn err(&mut self, status: u16, msg: String) {
        self.errors
            .push(json!({"error": msg, "status_code": status}));
    }
    fn json(&self) -> Value {
        json!({"success": self.success, "errors": self.errors})
    }
}

async fn bulk(
    State(s): State<ApiState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    auth(&s, &headers).await?;
    let v = json_body(&body)?;
    let Some(actions) = v.get("actions").and_then(Value::as_array) else {
        return Err(ApiError::unprocessable(
            "missing",
            &["body", "actions"],
            "Field required",
            v.clone(),
        ));
    };
    let mut create = Outcome::default();
    let mut upd = Outcome::default();
    let mut del = Outcome::default();
    let now = s.clock.now();
    for a in actions {
        let kind = a.get("action").and_then(Value::as_str).unwrap_or("");
        let entities = a
            .get("entities")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        match kind {
            "create" => {
                let on_exist = a
                    .get("action_on_existence")
                    .and_then(Value::as_str)
                    .unwrap_or("fail");
                for e in &entities {
                    let c = parse_body(e)?;
                    let id = c.conn_id.clone().unwrap_or_default();
                    let exists = s
                        .store
                        .get_connection(&id, &s.keys.current())
                        .await?
                        .is_some();
                    match (exists, on_exist) {
                        (true, "skip") => {}
                        (true, "overwrite") | (false, _) => {
                            s.store.put_connection(&c, &s.keys.current(), now).await?;
                            create.success.push(id);
                        }
                        (true, _) => create.err(409, format!("The connections with these connection_ids: {{'{id}'}} already exist.")),
                    }
                }
            }
            "update" => {
                let on_missing = a
                    .get("action_on_non_existence")
                    .and_then(Value::as_str)
                    .unwrap_or("fail");
                let mask: Vec<String> = a
                    .get("update_mask")
                    .and_then(Value::as_array)
                    .map(|m| {
                        m.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                for e in &entities {
                    let b = parse_body(e)?;
                    let id = b.conn_id.clone().unwrap_or_default();
                    match s.store.get_connection(&id, &s.keys.current()).await? {
                        Some(existing) => {
                            let merged = apply(&existing, &b, &mask)?;
                            s.store.put_connection(&merged, &s.keys.current(), now).await?;
                            upd.success.push(id);
                        }
                        None if on_missing == "skip" => {}
                        None => upd.err(404, format!("The connections with these connection_ids: {{'{id}'}} were not found.")),
                    }
                }
            }
            "delete" => {
                let on_missing = a
                    .get("action_on_non_existence")
                    .and_then(Value::as_str)
                    .unwrap_or("fail");
                for e in &entities {
                    let id = e
                        .as_str()
                        .map(String::from)
                        .or_else(|| {
                            e.get("connection_id")
                                .and_then(Value::as_str)
                                .map(String::from)
                        })
                        .unwrap_or_default();
                    if s.store.delete_connection(&id).await? {
                        del.success.push(id);
                    } else if on_missing != "skip" {
                        del.err(404, format!("The connections with these connection_ids: {{'{id}'}} were not found."));
                    }
                }
            }
            other => {
                return Err(ApiError::unprocessable(
                    "union_tag_invalid",
                    &["body", "actions"],
                    format!(
                        "Input tag '{other}' found using 'action' does not match any of the expected tags: 'create', 'update', 'delete'"
                    ),
                    a.clone(),
                ));
            }
        }
    }
    Ok(
        Json(json!({"create": create.json(), "update": upd.json(), "delete": del.json()}))
            .into_response(),
    )
}
