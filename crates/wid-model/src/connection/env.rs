//! Connections in environment variables: `AIRFLOW_CONN_<ID>`.
//!
//! Airflow looks a connection up as `os.environ.get("AIRFLOW_CONN_" + conn_id.upper())`. The
//! value is stripped (Python's `str.strip()`); if it then starts with `{` it is the JSON form,
//! otherwise a URI.

use super::conn_id::{ConnIdError, validate_conn_id};
use super::pystr::py_strip;
use super::{Connection, ExtraError, JsonFormError, UriError, UriFlavor};

/// The prefix of a connection variable.
pub const CONN_ENV_PREFIX: &str = "AIRFLOW_CONN_";

/// How to write a connection into a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnvFormat {
    /// `get_uri()`; what Airflow itself writes (the REST `test` endpoint does).
    #[default]
    Uri,
    /// `as_json()`; keeps `extra` values' JSON types in every Airflow component.
    Json,
}

/// Why a variable's value is not a connection.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnvError {
    /// Empty or only whitespace.
    #[error(
        "connection variable {name} is empty; set it to a URI (azure:///?...) or to JSON ({{\"conn_type\": \"azure\", ...}})"
    )]
    Empty {
        /// The variable name.
        name: String,
    },
    /// JSON form, invalid.
    #[error("connection variable {name}: {source}")]
    Json {
        /// The variable name.
        name: String,
        /// Why.
        source: Box<JsonFormError>,
    },
    /// URI form, invalid.
    #[error("connection variable {name}: {source}")]
    Uri {
        /// The variable name.
        name: String,
        /// Why.
        source: Box<UriError>,
    },
}

impl EnvError {
    /// The message of the exception Airflow raises for the same value, or `None` where Airflow
    /// accepts what wid refuses.
    pub fn airflow_message(&self, flavor: UriFlavor) -> Option<String> {
        match self {
            EnvError::Empty { .. } => Some("string index out of range".into()),
            EnvError::Json { source, .. } => source.airflow_message(flavor),
            EnvError::Uri { source, .. } => Some(source.airflow_message(flavor)),
        }
    }
}

/// `AIRFLOW_CONN_` + the id upper-cased, for an id that passes [`validate_conn_id`].
pub fn env_var_name(conn_id: &str) -> Result<String, ConnIdError> {
    validate_conn_id(conn_id)?;
    Ok(env_var_name_unchecked(conn_id))
}

/// The variable Airflow reads for `conn_id`, whatever the id (`str.upper()` is Unicode-aware:
/// `straße` gives `STRASSE`).
pub fn env_var_name_unchecked(conn_id: &str) -> String {
    format!("{CONN_ENV_PREFIX}{}", conn_id.to_uppercase())
}

/// The value to put in the variable.
pub fn to_env_value(conn: &Connection, format: EnvFormat) -> Result<String, ExtraError> {
    match format {
        EnvFormat::Uri => conn.to_uri(),
        EnvFormat::Json => conn.to_json(),
    }
}

/// `deserialize_connection(conn_id, value)`: the connection a variable's value describes.
pub fn from_env_value(
    conn_id: &str,
    value: &str,
    flavor: UriFlavor,
) -> Result<Connection, EnvError> {
    let name = env_var_name_unchecked(conn_id);
    let value = py_strip(value);
    let mut conn = if value.is_empty() {
        return Err(EnvError::Empty { name });
    } else if value.starts_with('{') {
        Connection::from_json_with(value, flavor).map_err(|source| EnvError::Json {
            name,
            source: Box::new(source),
        })?
    } else {
        Connection::from_uri_with(value, flavor).map_err(|source| EnvError::Uri {
            name,
            source: Box::new(source),
        })?
    };
    conn.conn_id = Some(conn_id.to_string());
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            env_var_name("azure_default").unwrap(),
            "AIRFLOW_CONN_AZURE_DEFAULT"
        );
        assert_eq!(
            env_var_name("my.conn-id").unwrap(),
            "AIRFLOW_CONN_MY.CONN-ID"
        );
        assert_eq!(env_var_name("straße").unwrap(), "AIRFLOW_CONN_STRASSE");
        assert!(env_var_name("x'; DROP TABLE connection;--").is_err());
        assert!(env_var_name("../etc/passwd").is_err());
        assert!(env_var_name("a b").is_err());
        assert!(env_var_name("").is_err());
    }

    #[test]
    fn values() {
        let c = from_env_value("a", "  azure:///?k=v \n", UriFlavor::Core).unwrap();
        assert_eq!(
            (c.conn_id.as_deref(), c.extra_str()),
            (Some("a"), Some(r#"{"k": "v"}"#))
        );
        let c = from_env_value(
            "a",
            "\u{1c}{\"conn_type\": \"azure\"}\u{3000}",
            UriFlavor::Core,
        )
        .unwrap();
        assert_eq!(c.conn_type.as_deref(), Some("azure"));
        let err = from_env_value("a", " \t ", UriFlavor::Core).unwrap_err();
        assert!(err.to_string().contains("AIRFLOW_CONN_A"), "{err}");
        assert!(matches!(
            from_env_value("a", "a://b://c://d", UriFlavor::Core),
            Err(EnvError::Uri { .. })
        ));
        assert!(matches!(
            from_env_value("a", "{\"port\": \"x\"}", UriFlavor::Core),
            Err(EnvError::Json { .. })
        ));
    }

    #[test]
    fn round_trip_both_formats() {
        let mut c = Connection::new("azure").with_id("azure_default");
        c.extra = Some(
            r#"{"managed_identity_client_id": "X", "workload_identity_tenant_id": "T", "n": 1}"#
                .into(),
        );
        for format in [EnvFormat::Uri, EnvFormat::Json] {
            let value = to_env_value(&c, format).unwrap();
            let back = from_env_value("azure_default", &value, UriFlavor::Core).unwrap();
            assert_eq!(back.extra, c.extra, "{format:?}");
        }
    }
}
