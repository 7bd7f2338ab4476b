//! Airflow's connection model and its text forms, byte for byte as Airflow writes them.
//!
//! [`Connection`] has the fields of `airflow.models.connection.Connection`. Its codecs are:
//! - [`uri`]: `Connection(uri=...)` and `get_uri()`;
//! - [`json`]: `Connection.from_json()` and `as_json()`;
//! - [`env`]: the `AIRFLOW_CONN_<ID>` variables, whose value is either form;
//! - [`export`]: the files `airflow connections export` writes (json, yaml via [`pyyaml`], env);
//! - [`conn_id`]: the rules a connection id must follow;
//! - [`registry`]: connection types (`azure` first), their form fields and checks.
//!
//! Airflow has two `Connection` classes that read URIs differently: the model used by the API
//! server, scheduler and CLI, and the Task SDK's, used by tasks on workers. [`UriFlavor`]
//! picks one. `crates/wid-model/tests/airflow_fixture.rs` checks every codec against what
//! Airflow itself produced (`scripts/airflow_fixture.py`).

pub mod conn_id;
pub mod env;
pub mod export;
pub mod json;
pub mod pyjson;
pub mod pystr;
pub mod pyyaml;
pub mod quote;
pub mod redact;
pub mod registry;
pub mod uri;
pub mod urlsplit;

pub use conn_id::{ConnIdError, validate_conn_id};
pub use env::{EnvError, EnvFormat, env_var_name};
pub use json::JsonFormError;
pub use registry::{ConnectionType, RegistryError, Validation};
pub use uri::UriError;

use crate::secret::Secret;
use pyjson::{JsonTextError, Object, Value};

/// An Airflow connection.
///
/// Fields are `None` where Airflow has `None`; an empty string is kept as such, because Airflow
/// tells the two apart (a URI always gives a `host` and a `schema`, possibly empty). The one
/// exception is Airflow's own: the model ignores an empty password (`set_password` skips falsy
/// values), so the core codecs treat `Some("")` as `None`.
///
/// `Debug` shows everything but the password and the extra (which may hold keys and tokens):
/// both are [`Secret`]s, so a connection can be logged or put in an error.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Connection {
    /// The connection id (`None` for a connection read from a URI or JSON alone).
    pub conn_id: Option<String>,
    /// The connection type, e.g. `azure`.
    pub conn_type: Option<String>,
    /// Free text; not part of the URI form.
    pub description: Option<String>,
    /// Host, possibly with a protocol (`https://host`).
    pub host: Option<String>,
    /// Schema (database name, path).
    pub schema: Option<String>,
    /// Login (for `azure`, the client id).
    pub login: Option<String>,
    /// Password (for `azure`, the client secret).
    pub password: Option<Secret>,
    /// Port. Airflow stores any integer here; only URIs limit it to 0-65535.
    pub port: Option<i64>,
    /// Extra fields, as the raw JSON text Airflow stores (an object when valid).
    pub extra: Option<Secret>,
}

/// Which of Airflow's two `Connection` classes to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UriFlavor {
    /// `airflow.models.connection.Connection`: API server, scheduler, CLI, UI. Query values are
    /// JSON-decoded (`?timeout=30` gives the number 30), `extra` must be a JSON object, and an
    /// empty password is dropped.
    #[default]
    Core,
    /// `airflow.sdk.Connection`: what tasks see. Query values stay strings, `extra` is not
    /// checked, and an empty password is kept.
    TaskSdk,
}

/// Why a connection's `extra` is not usable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExtraError {
    /// Not JSON at all.
    #[error(
        "extra of connection {} is not JSON ({source}; {len} bytes, not shown: an extra may hold secrets); write a JSON object such as {{\"key\": \"value\"}}",
        display_id(conn_id)
    )]
    NotJson {
        /// The connection id, if known.
        conn_id: Option<String>,
        /// The length of the offending text; the text itself is never kept in an error.
        len: usize,
        /// What the JSON reader said.
        source: JsonTextError,
    },
    /// JSON, but not an object.
    #[error(
        "extra of connection {} is JSON but not an object ({len} bytes, not shown: an extra may hold secrets); Airflow requires a JSON object (a Python dict), e.g. {{\"key\": \"value\"}}",
        display_id(conn_id)
    )]
    NotAnObject {
        /// The connection id, if known.
        conn_id: Option<String>,
        /// The length of the offending text; the text itself is never kept in an error.
        len: usize,
    },
}

impl ExtraError {
    /// The message Airflow's `ValueError` carries for the same input.
    ///
    /// Airflow checks `extra` before it assigns the id, so its messages always say `None`.
    pub fn airflow_message(&self) -> String {
        match self {
            ExtraError::NotJson { source, .. } if !source.is_decode_error() => source.to_string(),
            ExtraError::NotJson { .. } => "Encountered non-JSON in `extra` field for connection None.".into(),
            ExtraError::NotAnObject { .. } => "Encountered JSON value in `extra` which does not parse as a dictionary in connection None. The `extra` field must contain a JSON representation of a Python dict.".into(),
        }
    }
}

fn display_id(conn_id: &Option<String>) -> String {
    match conn_id {
        Some(id) => format!("`{id}`"),
        None => "(no id)".into(),
    }
}

/// At most 200 characters of `text`, for messages about a possibly huge value.
pub(crate) fn preview(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}... ({} bytes)", &text[..cut], text.len()),
        None => format!("{text:?}"),
    }
}

impl Connection {
    /// A connection of type `conn_type` with nothing else set.
    pub fn new(conn_type: impl Into<String>) -> Self {
        Connection {
            conn_type: Some(conn_type.into()),
            ..Connection::default()
        }
    }

    /// Sets the id.
    pub fn with_id(mut self, conn_id: impl Into<String>) -> Self {
        self.conn_id = Some(conn_id.into());
        self
    }

    /// The password as Airflow's model holds it: an empty one is none.
    pub fn effective_password(&self) -> Option<&str> {
        self.password_str().filter(|p| !p.is_empty())
    }

    /// The password as stored (possibly empty), exposed for the codec or store that writes it.
    pub fn password_str(&self) -> Option<&str> {
        self.password.as_ref().map(|p| p.expose_str())
    }

    /// `extra` as stored, exposed for the codec or store that writes it.
    pub fn extra_str(&self) -> Option<&str> {
        self.extra.as_ref().map(|e| e.expose_str())
    }

    /// `extra` parsed: `Ok(None)` when absent or empty, the object when valid.
    pub fn extra_object(&self) -> Result<Option<Object>, ExtraError> {
        match self.extra_str() {
            None | Some("") => Ok(None),
            Some(text) => parse_extra(text, self.conn_id.as_deref()).map(Some),
        }
    }

    /// Airflow's `_validate_extra`: `extra`, when set, must be a JSON object.
    pub fn validate_extra(&self) -> Result<(), ExtraError> {
        self.extra_object().map(|_| ())
    }

    /// Replaces `extra` with `object`, written as Airflow's `json.dumps` writes it.
    pub fn set_extra_object(&mut self, object: &Object) {
        self.extra = Some(pyjson::dumps(&Value::Object(object.clone())).into());
    }
}

/// `json.loads(text)` that must give an object.
pub(crate) fn parse_extra(text: &str, conn_id: Option<&str>) -> Result<Object, ExtraError> {
    match pyjson::loads(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ExtraError::NotAnObject {
            conn_id: conn_id.map(str::to_string),
            len: text.len(),
        }),
        Err(source) => Err(ExtraError::NotJson {
            conn_id: conn_id.map(str::to_string),
            len: text.len(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_and_errors_keep_secrets_out() {
        let c = Connection {
            conn_id: Some("pg".into()),
            password: Some("hunter2".into()),
            extra: Some(r#"{"sas_token": "sv=s3cr3t"}"#.into()),
            ..Connection::new("postgres")
        };
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cr3t"),
            "{shown}"
        );
        assert!(
            shown.contains(r#"password: Some([redacted])"#)
                && shown.contains(r#"extra: Some([redacted])"#),
            "{shown}"
        );
        let e = parse_extra(r#"{"key": "sv=s3cr3t""#, Some("pg")).unwrap_err();
        assert!(
            !e.to_string().contains("s3cr3t") && !format!("{e:?}").contains("s3cr3t"),
            "{e}"
        );
        assert!(e.to_string().contains("19 bytes, not shown"), "{e}");
        let e = parse_extra(r#"["s3cr3t"]"#, None).unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    use super::*;

    #[test]
    fn extra_must_be_an_object() {
        let mut c = Connection::new("azure").with_id("a");
        assert_eq!(c.extra_object(), Ok(None));
        c.extra = Some(String::new().into());
        assert_eq!(c.extra_object(), Ok(None));
        c.extra = Some("[1]".into());
        let err = c.validate_extra().unwrap_err();
        assert!(matches!(err, ExtraError::NotAnObject { .. }));
        assert!(
            err.to_string().contains("`a`")
                && err.to_string().contains("3 bytes, not shown")
                && !err.to_string().contains("[1]"),
            "{err}"
        );
        c.extra = Some("{not json}".into());
        let err = c.validate_extra().unwrap_err();
        assert_eq!(
            err.airflow_message(),
            "Encountered non-JSON in `extra` field for connection None."
        );
        assert!(
            !err.to_string().contains("{not json}") && err.to_string().contains("10 bytes"),
            "{err}"
        );
    }

    #[test]
    fn a_huge_invalid_extra_gives_a_short_message() {
        let mut c = Connection::new("azure");
        c.extra = Some(format!("{{\"k\": \"{}\"", "x".repeat(1 << 20)).into());
        let err = c.validate_extra().unwrap_err();
        assert!(
            err.to_string().len() < 1000,
            "{} bytes",
            err.to_string().len()
        );
        assert!(err.to_string().contains("1048584 bytes"), "{err}");
    }

    #[test]
    fn a_one_megabyte_extra_round_trips() {
        let mut object = Object::new();
        object.insert("blob", Value::Str("é\"\\ ".repeat(1 << 18)));
        let mut c = Connection::new("generic");
        c.set_extra_object(&object);
        assert!(c.extra_str().unwrap().len() > 1 << 20);
        assert_eq!(c.extra_object().unwrap().unwrap(), object);
    }

    #[test]
    fn empty_password_is_none_for_airflow() {
        let mut c = Connection::new("x");
        c.password = Some(String::new().into());
        assert_eq!(c.effective_password(), None);
        c.password = Some("p".into());
        assert_eq!(c.effective_password(), Some("p"));
    }
}
