//! The files `airflow connections export` writes, shared by `wid connections export` and the
//! web UI: JSON and YAML map each connection id to its fields; `.env` has one
//! `<conn_id>=<value>` line per connection (a URI, or Airflow's JSON form).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::env::{EnvFormat, to_env_value};
use super::{Connection, ExtraError};

/// The JSON/YAML document: `{conn_id: {conn_type, description, login, password, host, port,
/// schema, extra}}`, ordered by id.
pub fn export_document(conns: &[Connection]) -> BTreeMap<String, Value> {
    conns
        .iter()
        .map(|c| {
            (
                c.conn_id.clone().unwrap_or_default(),
                json!({
                    "conn_type": c.conn_type, "description": c.description, "login": c.login,
                    "password": c.password, "host": c.host, "port": c.port, "schema": c.schema,
                    "extra": c.extra,
                }),
            )
        })
        .collect()
}

/// The `.env` text: `<conn_id>=<value>` lines.
pub fn export_env(conns: &[Connection], format: EnvFormat) -> Result<String, ExtraError> {
    let mut lines = Vec::with_capacity(conns.len());
    for c in conns {
        lines.push(format!(
            "{}={}",
            c.conn_id.clone().unwrap_or_default(),
            to_env_value(c, format)?
        ));
    }
    Ok(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_map_ids_to_fields_and_env_files_have_one_line_each() {
        let mut a = Connection::new("azure").with_id("b_conn");
        a.extra = Some(r#"{"subscriptionId": "s"}"#.into());
        let c = Connection::new("http").with_id("a_conn");
        let doc = export_document(&[a.clone(), c.clone()]);
        assert_eq!(doc.keys().collect::<Vec<_>>(), vec!["a_conn", "b_conn"]);
        assert_eq!(doc["b_conn"]["conn_type"], "azure");
        assert_eq!(doc["b_conn"]["port"], Value::Null);
        let env = export_env(&[a, c], EnvFormat::Uri).unwrap();
        assert_eq!(env.lines().count(), 2);
        assert!(env.starts_with("b_conn=azure://"), "{env}");
    }
}
