//! wid's connection codecs against what Airflow's own `Connection` classes produced.
//!
//! The fixture is written by `scripts/airflow_fixture.py` (and checked by
//! `scripts/check-airflow-fixture`). Every test gathers all mismatches and fails with the list.

use serde_json::Value as J;
use wid_model::connection::conn_id::sanitize_conn_id;
use wid_model::connection::env::{env_var_name_unchecked, from_env_value};
use wid_model::connection::pystr::{SPACE_RANGES, WORD_RANGES};
use wid_model::connection::urlsplit::NFKC_NETLOC_FORBIDDEN;
use wid_model::connection::{Connection, UriFlavor, validate_conn_id};

const FIXTURE: &str = include_str!("fixtures/airflow_connections.json");

const FIELDS: [&str; 8] = [
    "conn_type",
    "description",
    "host",
    "login",
    "password",
    "schema",
    "port",
    "extra",
];

fn fixture() -> J {
    serde_json::from_str(FIXTURE).expect("the fixture is JSON")
}

fn list<'a>(fx: &'a J, key: &str) -> &'a Vec<J> {
    fx[key]
        .as_array()
        .unwrap_or_else(|| panic!("fixture has no list `{key}`"))
}

fn text(v: &J, key: &str) -> Option<String> {
    v.get(key).and_then(J::as_str).map(str::to_string)
}

/// A connection with the fields of a fixture object.
fn connection(fields: &J) -> Connection {
    Connection {
        conn_id: None,
        conn_type: text(fields, "conn_type"),
        description: text(fields, "description"),
        host: text(fields, "host"),
        schema: text(fields, "schema"),
        login: text(fields, "login"),
        password: text(fields, "password").map(Into::into),
        port: fields.get("port").and_then(J::as_i64),
        extra: text(fields, "extra").map(Into::into),
    }
}

/// The fields of a connection as the fixture writes them.
fn fields(c: &Connection) -> J {
    let s = |v: &Option<String>| v.as_ref().map_or(J::Null, |s| J::String(s.clone()));
    serde_json::json!({
        "conn_type": s(&c.conn_type),
        "description": s(&c.description),
        "host": s(&c.host),
        "login": s(&c.login),
        "password": c.password_str().map_or(J::Null, J::from),
        "schema": s(&c.schema),
        "port": c.port.map_or(J::Null, J::from),
        "extra": c.extra_str().map_or(J::Null, J::from),
    })
}

/// Compares a wid result with an Airflow `{"ok": fields}` / `{"error": {...}}` result.
fn compare<E>(
    what: &str,
    airflow: &J,
    wid: Result<Connection, E>,
    message: impl Fn(&E) -> Option<String>,
    failures: &mut Vec<String>,
) {
    match (airflow.get("ok"), airflow.get("error"), wid) {
        (Some(want), _, Ok(got)) => {
            let got = fields(&got);
            for field in FIELDS {
                if got[field] != want[field] {
                    failures.push(format!(
                        "{what}: {field}: wid {} != Airflow {}",
                        got[field], want[field]
                    ));
                }
            }
        }
        (Some(want), _, Err(e)) => {
            failures.push(format!(
                "{what}: wid refused ({:?}) what Airflow accepted: {want}",
                message(&e)
            ));
        }
        (None, Some(error), Ok(got)) => {
            failures.push(format!(
                "{what}: wid accepted ({}) what Airflow refused: {error}",
                fields(&got)
            ));
        }
        (None, Some(error), Err(e)) => {
            let want = error["message"].as_str().unwrap_or_default();
            match message(&e) {
                Some(got) if got == want => {}
                got => failures.push(format!(
                    "{what}: error message wid {got:?} != Airflow {want:?}"
                )),
            }
        }
        (None, None, _) => failures.push(format!(
            "{what}: the fixture has neither ok nor error: {airflow}"
        )),
    }
}

fn finish(test: &str, failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{test}: {} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_fixture_is_complete() {
    let fx = fixture();
    assert!(
        fx["airflow_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "{}",
        fx["airflow_version"]
    );
    assert!(list(&fx, "connections").len() >= 45);
    assert!(list(&fx, "uris").len() >= 40);
    assert!(!list(&fx, "json_inputs").is_empty());
    assert!(!list(&fx, "env_values").is_empty());
    assert!(!list(&fx, "conn_ids").is_empty());
    assert!(FIXTURE.ends_with("}\n"));
}

#[test]
fn get_uri_is_airflows() {
    let fx = fixture();
    let mut failures = Vec::new();
    for entry in list(&fx, "connections") {
        let id = entry["conn_id"].as_str().unwrap_or("?");
        let Some(want) = entry["uri"].as_str() else {
            continue;
        };
        let conn = connection(&entry["input"]);
        match conn.to_uri() {
            Ok(got) if got == want => {}
            got => failures.push(format!(
                "{id}: core get_uri: wid {got:?} != Airflow {want:?}"
            )),
        }
        let want_sdk = entry
            .get("sdk_uri")
            .map_or(Some(want), |r| r["ok"].as_str());
        let got_sdk = conn.to_uri_with(UriFlavor::TaskSdk).ok();
        if got_sdk.as_deref() != want_sdk {
            failures.push(format!(
                "{id}: sdk get_uri: wid {got_sdk:?} != Airflow {want_sdk:?}"
            ));
        }
    }
    finish("get_uri", failures);
}

#[test]
fn as_json_is_airflows() {
    let fx = fixture();
    let mut failures = Vec::new();
    for entry in list(&fx, "connections") {
        let id = entry["conn_id"].as_str().unwrap_or("?");
        let Some(want) = entry["json"].as_str() else {
            continue;
        };
        match connection(&entry["input"]).to_json() {
            Ok(got) if got == want => {}
            got => failures.push(format!("{id}: as_json: wid {got:?} != Airflow {want:?}")),
        }
    }
    finish("as_json", failures);
}

#[test]
fn invalid_extras_are_refused_where_airflow_refuses_them() {
    let fx = fixture();
    let mut failures = Vec::new();
    let mut seen = 0;
    for entry in list(&fx, "connections") {
        let id = entry["conn_id"].as_str().unwrap_or("?");
        let result = connection(&entry["input"]).validate_extra();
        match (entry.get("construct_error"), result) {
            (None, Ok(())) => {}
            (None, Err(e)) => {
                failures.push(format!("{id}: wid refused the extra Airflow accepted: {e}"))
            }
            (Some(error), Ok(())) => failures.push(format!(
                "{id}: wid accepted the extra Airflow refused: {error}"
            )),
            (Some(error), Err(e)) => {
                seen += 1;
                if Some(e.airflow_message().as_str()) != error["message"].as_str() {
                    failures.push(format!(
                        "{id}: {:?} != {}",
                        e.airflow_message(),
                        error["message"]
                    ));
                }
            }
        }
    }
    assert!(seen >= 2, "the fixture should hold invalid extras");
    finish("construct", failures);
}

#[test]
fn airflows_uris_parse_back_to_airflows_fields() {
    let fx = fixture();
    let mut failures = Vec::new();
    for entry in list(&fx, "connections") {
        let id = entry["conn_id"].as_str().unwrap_or("?");
        let Some(uri) = entry["uri"].as_str() else {
            continue;
        };
        for (flavor, key) in [
            (UriFlavor::Core, "parsed"),
            (UriFlavor::TaskSdk, "sdk_parsed"),
        ] {
            let what = format!("{id} ({key} of {uri})");
            compare(
                &what,
                &entry[key],
                Connection::from_uri_with(uri, flavor),
                |e| Some(e.airflow_message(flavor)),
                &mut failures,
            );
        }
        if let Some(json) = entry["json"].as_str() {
            let what = format!("{id} (from_json of {json})");
            compare(
                &what,
                &entry["json_parsed"],
                Connection::from_json(json),
                |e| e.airflow_message(UriFlavor::Core),
                &mut failures,
            );
        }
    }
    finish("parse back", failures);
}

#[test]
fn uris_parse_as_airflow_parses_them() {
    let fx = fixture();
    let mut failures = Vec::new();
    for entry in list(&fx, "uris") {
        let uri = entry["uri"].as_str().unwrap_or_default();
        for (flavor, key) in [(UriFlavor::Core, "core"), (UriFlavor::TaskSdk, "sdk")] {
            let what = format!("{key} {uri:?}");
            compare(
                &what,
                &entry[key],
                Connection::from_uri_with(uri, flavor),
                |e| Some(e.airflow_message(flavor)),
                &mut failures,
            );
        }
    }
    finish("uris", failures);
}

#[test]
fn json_inputs_parse_as_airflow_parses_them() {
    let fx = fixture();
    let mut failures = Vec::new();
    for entry in list(&fx, "json_inputs") {
        let value = entry["value"].as_str().unwrap_or_default();
        for (flavor, key) in [(UriFlavor::Core, "core"), (UriFlavor::TaskSdk, "sdk")] {
            let what = format!("{key} from_json {value:?}");
            compare(
                &what,
                &entry[key],
                Connection::from_json_with(value, flavor),
                |e| e.airflow_message(flavor),
                &mut failures,
            );
        }
    }
    finish("json inputs", failures);
}

#[test]
fn environment_values_read_as_airflow_reads_them() {
    let fx = fixture();
    let mut failures = Vec::new();
    for entry in list(&fx, "env_values") {
        let value = entry["value"].as_str().unwrap_or_default();
        for (flavor, key) in [(UriFlavor::Core, "core"), (UriFlavor::TaskSdk, "sdk")] {
            let what = format!("{key} env value {value:?}");
            // Airflow's fields do not include the id; compare without it.
            let got = from_env_value("env_input", value, flavor).map(|mut c| {
                assert_eq!(c.conn_id.as_deref(), Some("env_input"));
                c.conn_id = None;
                c
            });
            compare(
                &what,
                &entry[key],
                got,
                |e| e.airflow_message(flavor),
                &mut failures,
            );
        }
    }
    finish("env values", failures);
}

/// Ids Airflow's `validate_key` accepts and wid refuses on purpose: one trailing newline,
/// which Python's `$` lets through.
fn deliberately_stricter(conn_id: &str) -> bool {
    conn_id.ends_with('\n') && !conn_id.ends_with("\n\n")
}

#[test]
fn conn_ids_follow_airflows_rules() {
    let fx = fixture();
    let mut failures = Vec::new();
    let mut stricter = 0;
    for entry in list(&fx, "conn_ids") {
        let id = entry["conn_id"].as_str().unwrap_or_default();
        let wid = validate_conn_id(id);
        match (
            &entry["validate_key"].get("ok"),
            &entry["validate_key"]["error"]["message"],
            &wid,
        ) {
            (Some(_), _, Ok(())) => {}
            (Some(_), _, Err(e)) if deliberately_stricter(id) => {
                stricter += 1;
                if e.airflow_message().is_some() {
                    failures.push(format!(
                        "{id:?}: a deliberate refusal must not claim Airflow's words"
                    ));
                }
            }
            (Some(_), _, Err(e)) => {
                failures.push(format!("{id:?}: wid refused what Airflow accepts: {e}"))
            }
            (None, want, Ok(())) => {
                failures.push(format!("{id:?}: wid accepted what Airflow refuses: {want}"))
            }
            (None, want, Err(e)) => {
                if e.airflow_message().as_deref() != want.as_str() {
                    failures.push(format!("{id:?}: {:?} != {want}", e.airflow_message()));
                }
                if !e.to_string().contains("connection id") {
                    failures.push(format!("{id:?}: wid's message lacks context: {e}"));
                }
            }
        }
        let sanitized = sanitize_conn_id(id);
        if sanitized != entry["sanitize_conn_id"].as_str() {
            failures.push(format!(
                "{id:?}: sanitize_conn_id wid {sanitized:?} != Airflow {}",
                entry["sanitize_conn_id"]
            ));
        }
        let name = env_var_name_unchecked(id);
        if Some(name.as_str()) != entry["env_var"].as_str() {
            failures.push(format!(
                "{id:?}: variable wid {name:?} != Airflow {}",
                entry["env_var"]
            ));
        }
    }
    assert!(
        stricter >= 1,
        "the fixture should hold an id ending in a newline"
    );
    finish("conn ids", failures);
}

fn ranges(fx: &J, key: &str) -> Vec<(u32, u32)> {
    list(&fx["python_tables"], key)
        .iter()
        .map(|r| {
            let (lo, hi) = r
                .as_str()
                .and_then(|r| r.split_once('-'))
                .expect("XXXX-YYYY");
            (
                u32::from_str_radix(lo, 16).expect("hex"),
                u32::from_str_radix(hi, 16).expect("hex"),
            )
        })
        .collect()
}

#[test]
fn embedded_unicode_tables_are_pythons() {
    let fx = fixture();
    assert_eq!(ranges(&fx, "word_ranges"), WORD_RANGES, "re's \\w");
    assert_eq!(ranges(&fx, "space_ranges"), SPACE_RANGES, "str.isspace");
    assert_eq!(
        ranges(&fx, "nfkc_netloc_forbidden"),
        NFKC_NETLOC_FORBIDDEN,
        "_checknetloc"
    );
}
