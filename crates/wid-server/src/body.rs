//! Request and response bodies of `/api/v2/connections`, checked as Airflow's pydantic
//! models check them (`ConnectionBody` forbids unknown fields; 422 items name the field).

use serde_json::{Map, Value, json};
use wid_model::connection::{Connection, validate_conn_id};
use wid_model::secret::{REDACTED, Secret};

use crate::error::ApiError;
use wid_model::connection::redact::{is_sensitive, redact_extra};

/// The fields of `ConnectionBody`, in Airflow's order.
pub const FIELDS: [&str; 10] = [
    "connection_id",
    "conn_type",
    "description",
    "host",
    "login",
    "schema",
    "port",
    "password",
    "extra",
    "team_name",
];

fn opt_str(m: &Map<String, Value>, k: &str) -> Result<Option<String>, ApiError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ApiError::unprocessable(
            "string_type",
            &["body", k],
            "Input should be a valid string",
            masked_field(k, other),
        )),
    }
}

/// A field's value as a 422 may echo it (pydantic's `input`): never the password, the extra
/// or a field whose name Airflow's masker calls sensitive.
fn masked_field(k: &str, v: &Value) -> Value {
    if k == "extra" || is_sensitive(k) {
        json!(REDACTED)
    } else {
        v.clone()
    }
}

/// A whole body as a 422 may echo it, with its password and extra masked.
fn masked_body(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), masked_field(k, v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Parses a `ConnectionBody` JSON value into a connection.
pub fn parse_body(v: &Value) -> Result<Connection, ApiError> {
    let Some(m) = v.as_object() else {
        return Err(ApiError::unprocessable(
            "model_attributes_type",
            &["body"],
            "Input should be a valid dictionary or object to extract fields from",
            v.clone(),
        ));
    };
    if let Some(k) = m.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(ApiError::unprocessable(
            "extra_forbidden",
            &["body", k],
            "Extra inputs are not permitted",
            masked_field(k, &m[k]),
        ));
    }
    let id = match m.get("connection_id") {
        None => {
            return Err(ApiError::unprocessable(
                "missing",
                &["body", "connection_id"],
                "Field required",
                masked_body(v),
            ));
        }
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(ApiError::unprocessable(
                "string_type",
                &["body", "connection_id"],
                "Input should be a valid string",
                other.clone(),
            ));
        }
    };
    if let Err(e) = validate_conn_id(&id) {
        return Err(ApiError::unprocessable(
            "string_pattern_mismatch",
            &["body", "connection_id"],
            format!(
                "String should match pattern '^[\\w.-]+$' and have at most 200 characters: {e}"
            ),
            json!(id),
        ));
    }
    let conn_type = match opt_str(m, "conn_type")? {
        Some(t) => t,
        None => {
            return Err(ApiError::unprocessable(
                "missing",
                &["body", "conn_type"],
                "Field required",
                masked_body(v),
            ));
        }
    };
    let port = match m.get("port") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.is_i64() => n.as_i64(),
        Some(other) => {
            return Err(ApiError::unprocessable(
                "int_type",
                &["body", "port"],
                "Input should be a valid integer",
                other.clone(),
            ));
        }
    };
    let extra = match opt_str(m, "extra")? {
        Some(e) if e.is_empty() => Some(Secret::from("{}")),
        other => other.map(Secret::from),
    };
    let conn = Connection {
        conn_id: Some(id),
        conn_type: Some(conn_type),
        description: opt_str(m, "description")?,
        host: opt_str(m, "host")?,
        schema: opt_str(m, "schema")?,
        login: opt_str(m, "login")?,
        password: opt_str(m, "password")?.map(Secret::from),
        port,
        extra,
    };
    if conn.extra.is_some()
        && let Err(err) = conn.validate_extra()
    {
        // Unlike pydantic, the input is not echoed: an extra may hold secrets.
        return Err(ApiError::unprocessable(
            "value_error",
            &["body", "extra"],
            format!("Value error, {err}"),
            json!(REDACTED),
        ));
    }
    Ok(conn)
}

/// A connection as the API returns it: password `"***"`, sensitive extra keys redacted.
pub fn response(c: &Connection) -> Value {
    serde_json::to_value(response_body(c)).unwrap_or(Value::Null)
}

/// [`response`] ready to serialize, without building a [`Value`] first (the single read
/// and the list pages): the same JSON text, keys in the same (sorted) order.
pub fn response_body(c: &Connection) -> ConnectionBody<'_> {
    ConnectionBody {
        conn_type: c.conn_type.as_deref(),
        connection_id: c.conn_id.as_deref(),
        description: c.description.as_deref(),
        extra: c.extra_str().map(redact_extra),
        host: c.host.as_deref(),
        login: c.login.as_deref(),
        password: c.password.as_ref().map(|_| "***"),
        port: c.port,
        schema: c.schema.as_deref(),
        team_name: None,
    }
}

/// A connection as the API returns it, borrowed from the stored one; fields in the sorted
/// order `serde_json`'s maps write, so both ways give the same text. The password and
/// `extra` are what the route may show: masked for every route but the export.
#[derive(Debug, serde::Serialize)]
pub struct ConnectionBody<'a> {
    conn_type: Option<&'a str>,
    connection_id: Option<&'a str>,
    description: Option<&'a str>,
    extra: Option<String>,
    host: Option<&'a str>,
    login: Option<&'a str>,
    password: Option<&'a str>,
    port: Option<i64>,
    schema: Option<&'a str>,
    team_name: Option<&'a str>,
}

/// A connection with its secrets, for the administrator's export route only: the real
/// password and `extra` unmasked, in the same shape as [`response`].
pub fn secret_response(c: &Connection) -> Value {
    let body = ConnectionBody {
        password: c.password_str(),
        extra: c.extra_str().map(str::to_string),
        ..response_body(c)
    };
    serde_json::to_value(body).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The API's connection shape as a `json!` map, as the routes built it before
    /// [`ConnectionBody`]: the reference the borrowed body must match.
    fn shaped(c: &Connection, password: Option<&str>, extra: Option<String>) -> Value {
        json!({
            "connection_id": c.conn_id,
            "conn_type": c.conn_type,
            "description": c.description,
            "host": c.host,
            "login": c.login,
            "schema": c.schema,
            "port": c.port,
            "password": password,
            "extra": extra,
            "team_name": null,
        })
    }

    #[test]
    fn the_borrowed_body_writes_what_the_value_writes() {
        let full = Connection {
            conn_id: Some("azure_default".into()),
            conn_type: Some("azure".into()),
            description: Some("a \"quoted\" description\n".into()),
            host: Some("h".into()),
            schema: Some("s".into()),
            login: Some("l".into()),
            password: Some(Secret::from("hunter2")),
            port: Some(443),
            extra: Some(Secret::from(
                r#"{"managed_identity_client_id": "c", "client_secret": "x"}"#,
            )),
        };
        for c in [full, Connection::default()] {
            let via_value = serde_json::to_string(&shaped(
                &c,
                c.password.as_ref().map(|_| "***"),
                c.extra_str().map(redact_extra),
            ))
            .unwrap();
            let direct = serde_json::to_string(&response_body(&c)).unwrap();
            assert_eq!(direct, via_value);
            assert!(!direct.contains("hunter2") && !direct.contains("\"x\""));
            assert_eq!(
                response(&c),
                serde_json::from_str::<Value>(&via_value).unwrap()
            );
            assert_eq!(
                secret_response(&c),
                shaped(&c, c.password_str(), c.extra_str().map(str::to_string))
            );
        }
    }
}
