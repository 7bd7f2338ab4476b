//! The JSON form: `Connection.from_json()` and `Connection.as_json()`.
//!
//! `as_json()` writes `conn_type, description, host, login, password, schema, port` (each only
//! when not `None`) and then `extra` as an object (only when it is a non-empty object), with
//! Python's `json.dumps` defaults. `from_json()` accepts `extra` as an object or as JSON text,
//! normalises `conn_type` as URIs do, and turns `port` into an integer as `int()` does
//! (`"5432"`, `5432.9` and `true` are accepted; `0` and `""` mean no port).
//!
//! wid is stricter than Airflow in one place: Airflow stores whatever JSON type it is given for
//! `host`, `login`, ..., wid requires strings (or `null`), since the other forms then write
//! them as strings anyway or fail.

use super::pyjson::{self, JsonTextError, Object, Value};
use super::pystr::{PyInt, py_int, py_repr};
use super::uri::normalize_conn_type;
use super::{Connection, ExtraError, UriError, UriFlavor, preview};
use crate::secret::Secret;

/// The keys `from_json` knows besides the popped `extra`, `conn_type` and `port`.
const STRING_KEYS: [&str; 7] = [
    "description",
    "host",
    "login",
    "password",
    "schema",
    "uri",
    "team_name",
];

/// Why a JSON value is not a connection.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsonFormError {
    /// Not JSON.
    #[error(
        "connection JSON is not valid JSON: {0}; write an object such as {{\"conn_type\": \"azure\", \"extra\": {{...}}}}"
    )]
    Json(#[from] JsonTextError),
    /// JSON, but not an object.
    #[error(
        "connection JSON must be an object, not a {type_name}: {}; write {{\"conn_type\": ..., \"extra\": {{...}}}}",
        preview(text)
    )]
    NotAnObject {
        /// Python's name of the type found.
        type_name: &'static str,
        /// The text.
        text: String,
    },
    /// `conn_type` is not a string.
    #[error("connection JSON: `conn_type` must be a string, not {value}; e.g. \"azure\"")]
    ConnTypeNotString {
        /// The value, as JSON.
        value: String,
    },
    /// A field other than `extra` and `port` is not a string or null.
    #[error(
        "connection JSON: `{field}` must be a string or null, not {}; quote it",
        if field == "password" { "a value not shown here (it is the password)".to_string() } else { preview(value) }
    )]
    FieldNotString {
        /// The key.
        field: String,
        /// The value, as JSON.
        value: String,
    },
    /// `port` is a string or NaN that `int()` refuses.
    #[error("connection JSON: `port` must be an integer, not {repr}; write e.g. 5432")]
    PortNotInteger {
        /// Python's `repr` of the value.
        repr: String,
    },
    /// `port` is a list or an object.
    #[error("connection JSON: `port` must be an integer, not a {type_name}; write e.g. 5432")]
    PortWrongType {
        /// Python's name of the type found.
        type_name: &'static str,
    },
    /// `port` is infinite.
    #[error("connection JSON: `port` must be an integer, not {value}; write e.g. 5432")]
    PortInfinite {
        /// `Infinity` or `-Infinity`.
        value: &'static str,
    },
    /// `port` does not fit in 64 bits (Airflow would accept it and fail at the database).
    #[error("connection JSON: `port` {value} is out of range; a port is 0-65535")]
    PortTooLarge {
        /// The value, as JSON.
        value: String,
    },
    /// A key that `Connection()` has no parameter for.
    #[error(
        "connection JSON: unknown key `{key}`; the keys are conn_type, description, host, login, password, schema, port, extra (or uri)"
    )]
    UnexpectedKey {
        /// The key.
        key: String,
    },
    /// `conn_id` inside the JSON; the id comes from outside (the variable name, the CLI argument).
    #[error(
        "connection JSON: `conn_id` must not be inside the JSON; the id is given separately (variable name, CLI argument)"
    )]
    ConnIdKey,
    /// `uri` together with individual fields.
    #[error(
        "connection JSON: `uri` cannot be combined with individual fields (`{field}`); give either the URI or the fields"
    )]
    UriAndFields {
        /// The first field found beside `uri`.
        field: String,
    },
    /// The `uri` inside the JSON is invalid.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// `extra` is not a JSON object.
    #[error(transparent)]
    Extra(#[from] ExtraError),
}

impl JsonFormError {
    /// The message of the exception Airflow raises for the same input, or `None` where Airflow
    /// accepts what wid refuses.
    pub fn airflow_message(&self, flavor: UriFlavor) -> Option<String> {
        Some(match self {
            JsonFormError::Json(e) => e.to_string(),
            JsonFormError::NotAnObject { type_name: "list", .. } => "pop expected at most 1 argument, got 2".into(),
            JsonFormError::NotAnObject { type_name, .. } => format!("'{type_name}' object has no attribute 'pop'"),
            JsonFormError::ConnTypeNotString { .. } | JsonFormError::FieldNotString { .. } | JsonFormError::PortTooLarge { .. } => {
                return None;
            }
            JsonFormError::PortNotInteger { repr } => format!("Expected integer value for `port`, but got {repr} instead."),
            JsonFormError::PortWrongType { type_name } => {
                format!("int() argument must be a string, a bytes-like object or a real number, not '{type_name}'")
            }
            JsonFormError::PortInfinite { .. } => "cannot convert float infinity to integer".into(),
            JsonFormError::UnexpectedKey { key } => match flavor {
                UriFlavor::Core => format!("__init__() got an unexpected keyword argument '{key}'"),
                UriFlavor::TaskSdk => format!("Connection.__attrs_init__() got an unexpected keyword argument '{key}'"),
            },
            JsonFormError::ConnIdKey => match flavor {
                UriFlavor::Core => "airflow.models.connection.Connection() got multiple values for keyword argument 'conn_id'".into(),
                UriFlavor::TaskSdk => "airflow.sdk.definitions.connection.Connection() got multiple values for keyword argument 'conn_id'".into(),
            },
            JsonFormError::UriAndFields { .. } => match flavor {
                UriFlavor::Core => "You must create an object using the URI or individual values (conn_type, host, login, password, schema, port or extra).You can't mix these two ways to create this object.".into(),
                UriFlavor::TaskSdk => "You must create an object using the URI or individual values (conn_type, host, login, password, schema, port or extra). You can't mix these two ways to create this object.".into(),
            },
            JsonFormError::Uri(e) => e.airflow_message(flavor),
            JsonFormError::Extra(e) => e.airflow_message(),
        })
    }
}

/// `int(port)` as `from_json` applies it to a truthy value.
fn port_of(value: &Value) -> Result<i64, JsonFormError> {
    match value {
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Int(digits) => digits.parse().map_err(|_| JsonFormError::PortTooLarge {
            value: digits.clone(),
        }),
        Value::Float(f) if f.is_nan() => Err(JsonFormError::PortNotInteger { repr: "nan".into() }),
        Value::Float(f) if f.is_infinite() => Err(JsonFormError::PortInfinite {
            value: if *f > 0.0 { "Infinity" } else { "-Infinity" },
        }),
        Value::Float(f) => {
            let t = f.trunc();
            if (-9.2e18..9.2e18).contains(&t) {
                Ok(t as i64)
            } else {
                Err(JsonFormError::PortTooLarge {
                    value: pyjson::dumps(value),
                })
            }
        }
        Value::Str(s) => match py_int(s) {
            PyInt::Value(v) => Ok(v),
            PyInt::TooLarge => Err(JsonFormError::PortTooLarge { value: s.clone() }),
            PyInt::Invalid => Err(JsonFormError::PortNotInteger { repr: py_repr(s) }),
        },
        Value::Array(_) | Value::Object(_) | Value::Null => Err(JsonFormError::PortWrongType {
            type_name: value.py_type_name(),
        }),
    }
}

fn string_field(kwargs: &Object, field: &str) -> Result<Option<String>, JsonFormError> {
    match kwargs.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.clone())),
        Some(other) => Err(JsonFormError::FieldNotString {
            field: field.to_string(),
            value: pyjson::dumps(other),
        }),
    }
}

impl Connection {
    /// `Connection.from_json(value)` of Airflow's model ([`UriFlavor::Core`]); `conn_id` is left
    /// unset.
    pub fn from_json(value: &str) -> Result<Connection, JsonFormError> {
        Self::from_json_with(value, UriFlavor::Core)
    }

    /// `Connection.from_json(value)` of the chosen `Connection` class.
    pub fn from_json_with(value: &str, flavor: UriFlavor) -> Result<Connection, JsonFormError> {
        let parsed = pyjson::loads(value)?;
        let Value::Object(mut kwargs) = parsed else {
            return Err(JsonFormError::NotAnObject {
                type_name: parsed.py_type_name(),
                text: value.to_string(),
            });
        };
        let extra = match kwargs.remove("extra") {
            Some(Value::Str(s)) if !s.is_empty() => Some(s),
            Some(v) if v.is_truthy() => Some(pyjson::dumps(&v)),
            _ => None,
        };
        let conn_type = match kwargs.remove("conn_type") {
            Some(Value::Str(s)) if !s.is_empty() => Some(normalize_conn_type(&s)),
            Some(v) if v.is_truthy() => {
                return Err(JsonFormError::ConnTypeNotString {
                    value: pyjson::dumps(&v),
                });
            }
            _ => None,
        };
        let port = match kwargs.remove("port") {
            Some(v) if v.is_truthy() => Some(port_of(&v)?),
            _ => None,
        };
        for (key, _) in kwargs.iter() {
            let known =
                STRING_KEYS.contains(&key) && !(key == "team_name" && flavor == UriFlavor::TaskSdk);
            if key == "conn_id" {
                return Err(JsonFormError::ConnIdKey);
            }
            if !known {
                return Err(JsonFormError::UnexpectedKey {
                    key: key.to_string(),
                });
            }
        }
        let uri = match kwargs.get("uri") {
            None | Some(Value::Null) => None,
            Some(Value::Str(s)) => Some(s.clone()),
            Some(other) => {
                return Err(JsonFormError::FieldNotString {
                    field: "uri".into(),
                    value: pyjson::dumps(other),
                });
            }
        };
        let description = string_field(&kwargs, "description")?;
        let host = string_field(&kwargs, "host")?;
        let login = string_field(&kwargs, "login")?;
        let password = string_field(&kwargs, "password")?;
        let schema = string_field(&kwargs, "schema")?;
        string_field(&kwargs, "team_name")?;

        let uri_mode = match flavor {
            UriFlavor::Core => uri.as_deref().is_some_and(|u| !u.is_empty()),
            UriFlavor::TaskSdk => uri.is_some(),
        };
        if uri_mode {
            let beside = match flavor {
                UriFlavor::Core => [
                    ("conn_type", conn_type.is_some()),
                    ("host", host.as_deref().is_some_and(|s| !s.is_empty())),
                    ("login", login.as_deref().is_some_and(|s| !s.is_empty())),
                    (
                        "password",
                        password.as_deref().is_some_and(|s| !s.is_empty()),
                    ),
                    ("schema", schema.as_deref().is_some_and(|s| !s.is_empty())),
                    ("port", port.is_some_and(|p| p != 0)),
                    ("extra", extra.is_some()),
                ]
                .into_iter()
                .find(|(_, set)| *set)
                .map(|(field, _)| field.to_string()),
                UriFlavor::TaskSdk => kwargs
                    .iter()
                    .map(|(key, _)| key)
                    .find(|key| *key != "uri")
                    .map(str::to_string)
                    .or_else(|| conn_type.as_ref().map(|_| "conn_type".to_string()))
                    .or_else(|| port.map(|_| "port".to_string()))
                    .or_else(|| extra.as_ref().map(|_| "extra".to_string())),
            };
            if let Some(field) = beside {
                return Err(JsonFormError::UriAndFields { field });
            }
            let mut conn = Connection::from_uri_with(uri.as_deref().unwrap_or(""), flavor)?;
            if flavor == UriFlavor::Core {
                conn.description = description;
            }
            return Ok(conn);
        }
        let conn = Connection {
            conn_id: None,
            conn_type,
            description,
            host,
            schema,
            login,
            password: match flavor {
                UriFlavor::Core => password.filter(|p| !p.is_empty()).map(Secret::from),
                UriFlavor::TaskSdk => password.map(Secret::from),
            },
            port,
            extra: extra.map(Secret::from),
        };
        if flavor == UriFlavor::Core {
            conn.validate_extra()?;
        }
        Ok(conn)
    }

    /// `as_json()`: the JSON form Airflow writes (without the id).
    ///
    /// Fails only when `extra` is set but not a JSON object, which Airflow's model never holds.
    pub fn to_json(&self) -> Result<String, ExtraError> {
        let mut out = Object::new();
        let fields = [
            ("conn_type", self.conn_type.as_deref()),
            ("description", self.description.as_deref()),
            ("host", self.host.as_deref()),
            ("login", self.login.as_deref()),
            ("password", self.effective_password()),
            ("schema", self.schema.as_deref()),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                out.insert(key, Value::Str(value.to_string()));
            }
        }
        if let Some(port) = self.port {
            out.insert("port", Value::Int(port.to_string()));
        }
        if let Some(extra) = self.extra_object()?.filter(|o| !o.is_empty()) {
            out.insert("extra", Value::Object(extra));
        }
        Ok(pyjson::dumps(&Value::Object(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_and_extra_as_object() {
        let mut c = Connection::new("azure");
        c.extra = Some(r#"{"subscriptionId":"S","managed_identity_client_id":"X"}"#.into());
        c.port = Some(1);
        c.schema = Some(String::new());
        c.login = Some("l".into());
        c.description = Some("d é".into());
        assert_eq!(
            c.to_json().unwrap(),
            r#"{"conn_type": "azure", "description": "d \u00e9", "login": "l", "schema": "", "port": 1, "extra": {"subscriptionId": "S", "managed_identity_client_id": "X"}}"#
        );
        let back = Connection::from_json(&c.to_json().unwrap()).unwrap();
        assert_eq!(
            back.extra_str(),
            Some(r#"{"subscriptionId": "S", "managed_identity_client_id": "X"}"#)
        );
        assert_eq!(back.port, Some(1));
    }

    #[test]
    fn ports_as_int_does() {
        let port = |v: &str| {
            Connection::from_json(&format!(r#"{{"conn_type": "x", "port": {v}}}"#)).map(|c| c.port)
        };
        assert_eq!(port("\"5432\""), Ok(Some(5432)));
        assert_eq!(port("5432.9"), Ok(Some(5432)));
        assert_eq!(port("true"), Ok(Some(1)));
        assert_eq!(port("0"), Ok(None));
        assert_eq!(port("\"\""), Ok(None));
        let err = port("\"abc\"").unwrap_err();
        assert_eq!(
            err.airflow_message(UriFlavor::Core).as_deref(),
            Some("Expected integer value for `port`, but got 'abc' instead.")
        );
        assert!(err.to_string().contains("'abc'"), "{err}");
        assert!(matches!(
            port("[1]"),
            Err(JsonFormError::PortWrongType { type_name: "list" })
        ));
        assert!(matches!(
            port("1e400"),
            Err(JsonFormError::PortInfinite { .. })
        ));
        assert!(matches!(
            port("99999999999999999999"),
            Err(JsonFormError::PortTooLarge { .. })
        ));
    }

    #[test]
    fn invalid_json_and_shapes() {
        assert!(matches!(
            Connection::from_json("{not json"),
            Err(JsonFormError::Json(_))
        ));
        let err = Connection::from_json("[1, 2]").unwrap_err();
        assert_eq!(
            err.airflow_message(UriFlavor::Core).as_deref(),
            Some("pop expected at most 1 argument, got 2")
        );
        assert!(matches!(
            Connection::from_json(r#"{"extra": "not json"}"#),
            Err(JsonFormError::Extra(ExtraError::NotJson { .. }))
        ));
        assert!(matches!(
            Connection::from_json(r#"{"extra": [1]}"#),
            Err(JsonFormError::Extra(ExtraError::NotAnObject { .. }))
        ));
        assert!(matches!(
            Connection::from_json(r#"{"host": 5}"#),
            Err(JsonFormError::FieldNotString { .. })
        ));
        assert!(matches!(
            Connection::from_json(r#"{"conn_id": "x"}"#),
            Err(JsonFormError::ConnIdKey)
        ));
        assert!(matches!(
            Connection::from_json(r#"{"id": 1}"#),
            Err(JsonFormError::UnexpectedKey { .. })
        ));
    }

    #[test]
    fn uri_inside_json() {
        let c = Connection::from_json(r#"{"uri": "postgres://u:p@h:1/s", "description": "kept"}"#)
            .unwrap();
        assert_eq!(
            (c.conn_type.as_deref(), c.description.as_deref()),
            (Some("postgres"), Some("kept"))
        );
        assert!(matches!(
            Connection::from_json(r#"{"uri": "postgres://h", "host": "other"}"#),
            Err(JsonFormError::UriAndFields { .. })
        ));
        assert!(matches!(
            Connection::from_json_with(
                r#"{"uri": "postgres://h", "description": "x"}"#,
                UriFlavor::TaskSdk
            ),
            Err(JsonFormError::UriAndFields { .. })
        ));
    }
}
