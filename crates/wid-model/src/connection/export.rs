//! `airflow connections export`: the files it writes, byte for byte.
//!
//! Airflow 3.3.2 (`cli/commands/connection_command.py`, `_format_connections`) orders the
//! connections by `conn_id` and writes:
//! - `.json`: `json.dumps({conn_id: _connection_to_dict(c)}, indent=2)`, no final newline;
//! - `.yaml`: `yaml.dump({conn_id: _connection_to_dict(c)})` (PyYAML's defaults, see
//!   [`super::pyyaml`]);
//! - `.env`: one `conn_id=<value>\n` line per connection, the value `get_uri()` or, with
//!   `--serialization-format json`, `json.dumps(_connection_to_dict(c))`.
//!
//! `_connection_to_dict` holds `conn_type, description, login, password, host, port, schema,
//! extra` in that order, `extra` as the stored text. These files hold the secrets in clear.

use std::fmt::Write as _;

use super::pyjson::dumps_str;
use super::pyyaml;
use super::{Connection, EnvFormat, ExtraError};

/// The format of an export file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// `.json`.
    Json,
    /// `.yaml`.
    Yaml,
    /// `.env`, values in the given form.
    Env(EnvFormat),
}

/// One field of `_connection_to_dict`: text, an integer or `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DictValue<'a> {
    /// A string.
    Str(&'a str),
    /// An integer (the port).
    Int(i64),
    /// `None`.
    None,
}

/// `_connection_to_dict(conn)`: the eight fields in Airflow's order.
///
/// The password is the one Airflow's model holds: an empty password is `None` there, since
/// `set_password` ignores falsy values.
pub fn connection_dict(c: &Connection) -> [(&'static str, DictValue<'_>); 8] {
    fn s(v: Option<&str>) -> DictValue<'_> {
        v.map_or(DictValue::None, DictValue::Str)
    }
    [
        ("conn_type", s(c.conn_type.as_deref())),
        ("description", s(c.description.as_deref())),
        ("login", s(c.login.as_deref())),
        ("password", s(c.effective_password())),
        ("host", s(c.host.as_deref())),
        ("port", c.port.map_or(DictValue::None, DictValue::Int)),
        ("schema", s(c.schema.as_deref())),
        ("extra", s(c.extra_str())),
    ]
}

fn json_scalar(v: DictValue<'_>) -> String {
    match v {
        DictValue::Str(s) => dumps_str(s),
        DictValue::Int(n) => n.to_string(),
        DictValue::None => "null".into(),
    }
}

/// `json.dumps(_connection_to_dict(c))`: one line, Python's default separators.
pub fn connection_dict_json(c: &Connection) -> String {
    let fields: Vec<String> = connection_dict(c)
        .iter()
        .map(|(k, v)| format!("{}: {}", dumps_str(k), json_scalar(*v)))
        .collect();
    format!("{{{}}}", fields.join(", "))
}

fn sorted(conns: &[Connection]) -> Vec<&Connection> {
    let mut out: Vec<&Connection> = conns.iter().collect();
    // SQLite's default collation, which Airflow's `ORDER BY conn_id` uses, compares bytes.
    out.sort_by(|a, b| a.conn_id.cmp(&b.conn_id));
    out
}

/// The file `airflow connections export` writes for these connections.
///
/// Fails only for the URI form of a connection whose `extra` is not a JSON object, which
/// Airflow's model never holds.
pub fn export_text(conns: &[Connection], format: ExportFormat) -> Result<String, ExtraError> {
    let conns = sorted(conns);
    let id = |c: &Connection| c.conn_id.clone().unwrap_or_default();
    Ok(match format {
        ExportFormat::Env(form) => {
            let mut out = String::new();
            for c in conns {
                let value = match form {
                    EnvFormat::Uri => c.to_uri()?,
                    EnvFormat::Json => connection_dict_json(c),
                };
                let _ = writeln!(out, "{}={value}", id(c));
            }
            out
        }
        ExportFormat::Json => {
            if conns.is_empty() {
                return Ok("{}".into());
            }
            let blocks: Vec<String> = conns
                .iter()
                .map(|c| {
                    let fields: Vec<String> = connection_dict(c)
                        .iter()
                        .map(|(k, v)| format!("    {}: {}", dumps_str(k), json_scalar(*v)))
                        .collect();
                    format!("  {}: {{\n{}\n  }}", dumps_str(&id(c)), fields.join(",\n"))
                })
                .collect();
            format!("{{\n{}\n}}", blocks.join(",\n"))
        }
        ExportFormat::Yaml => {
            let entries: Vec<(String, Vec<(&str, DictValue<'_>)>)> = conns
                .iter()
                .map(|c| (id(c), connection_dict(c).to_vec()))
                .collect();
            pyyaml::dump_connections(&entries)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg() -> Connection {
        Connection {
            conn_id: Some("pg".into()),
            conn_type: Some("postgres".into()),
            description: Some("base de données".into()),
            host: Some("db.example".into()),
            login: Some("user".into()),
            password: Some("p@ss".into()),
            port: Some(5432),
            schema: Some("app".into()),
            extra: Some(r#"{"sslmode": "require"}"#.into()),
        }
    }

    #[test]
    fn json_is_python_indent_2_with_ascii_escapes() {
        let mut empty = Connection::new("http").with_id("a");
        empty.password = Some(String::new().into());
        let text = export_text(&[pg(), empty], ExportFormat::Json).unwrap();
        assert_eq!(
            text,
            "{\n  \"a\": {\n    \"conn_type\": \"http\",\n    \"description\": null,\n    \"login\": null,\n    \"password\": null,\n    \"host\": null,\n    \"port\": null,\n    \"schema\": null,\n    \"extra\": null\n  },\n  \"pg\": {\n    \"conn_type\": \"postgres\",\n    \"description\": \"base de donn\\u00e9es\",\n    \"login\": \"user\",\n    \"password\": \"p@ss\",\n    \"host\": \"db.example\",\n    \"port\": 5432,\n    \"schema\": \"app\",\n    \"extra\": \"{\\\"sslmode\\\": \\\"require\\\"}\"\n  }\n}"
        );
        assert_eq!(export_text(&[], ExportFormat::Json).unwrap(), "{}");
    }

    #[test]
    fn env_lines_end_in_newlines_in_both_forms() {
        let uri = export_text(&[pg()], ExportFormat::Env(EnvFormat::Uri)).unwrap();
        assert_eq!(
            uri,
            "pg=postgres://user:p%40ss@db.example:5432/app?sslmode=require\n"
        );
        let json = export_text(&[pg()], ExportFormat::Env(EnvFormat::Json)).unwrap();
        assert_eq!(
            json,
            "pg={\"conn_type\": \"postgres\", \"description\": \"base de donn\\u00e9es\", \"login\": \"user\", \"password\": \"p@ss\", \"host\": \"db.example\", \"port\": 5432, \"schema\": \"app\", \"extra\": \"{\\\"sslmode\\\": \\\"require\\\"}\"}\n"
        );
        assert_eq!(
            export_text(&[], ExportFormat::Env(EnvFormat::Uri)).unwrap(),
            ""
        );
    }
}
