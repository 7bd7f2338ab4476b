//! Airflow connections in their text forms (`wid_model::connection`): any text is read as a
//! URI, as the JSON form and as an `AIRFLOW_CONN_*` value, by both of Airflow's `Connection`
//! classes, without a panic. Properties (Airflow's model, where the writers must succeed):
//! - a URI read and written back reads to the same connection in every field but `extra`, and
//!   from then on exactly the same (Airflow JSON-decodes query values, so `?a=%221%22` reads
//!   as the string "1", is written `?a=1` and reads back as the number 1; that is Airflow's own
//!   behaviour, one step, and then stable);
//! - the JSON form written back reads to the same connection, `extra` compared as JSON;
//! - a variable's value written back reads to the same connection;
//! - `Debug` and `redacted_uri` never show a password, nor `Debug` an extra.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wid_model::connection::env::{EnvFormat, from_env_value, to_env_value};
use wid_model::connection::pystr::py_strip;
use wid_model::connection::registry::AZURE;
use wid_model::connection::uri::redacted_uri;
use wid_model::connection::{Connection, UriFlavor};
use wid_model::secret::Secret;

/// The connection as a URI can say it: `extra` left out (Airflow rewrites it, see above), the
/// host in lower case (`urlsplit` lower-cases it, and `%4F` reads as `O`), an empty text as none (a URI always has a host and a schema, and `get_uri` writes no `@` for
/// an empty login nor a scheme for an empty type) and port 0 as no port (`get_uri` skips a
/// falsy port).
fn uri_view(conn: &Connection) -> Connection {
    let text = |field: &Option<String>| field.clone().filter(|s| !s.is_empty());
    Connection {
        conn_id: conn.conn_id.clone(),
        conn_type: text(&conn.conn_type),
        description: text(&conn.description),
        host: text(&conn.host).map(|h| h.to_lowercase()),
        schema: text(&conn.schema),
        login: text(&conn.login),
        password: conn.password.clone().filter(|s| !s.expose_str().is_empty()),
        port: conn.port.filter(|p| *p != 0),
        extra: None,
    }
}

/// Whether Airflow's `get_uri` writes `conn` as a URI that reads back as it (wid reads and
/// writes as Airflow does, checked against Airflow 3.3.2). Not when the host's protocol is the
/// type as written (`a-b://a-b://h`): `<type>://` is then written twice, and reading replaces
/// every `<type>://`.
fn uri_goes_round(conn: &Connection) -> bool {
    let scheme = conn
        .conn_type
        .as_deref()
        .unwrap_or("")
        .to_lowercase()
        .replace('_', "-");
    !conn
        .host
        .as_deref()
        .and_then(|h| h.split_once("://"))
        .is_some_and(|(protocol, _)| protocol == scheme)
}

/// The connection with `extra` as `json.dumps(json.loads(extra))` (`None` for `{}`).
fn canonical_extra(conn: &Connection) -> Connection {
    let mut canonical = conn.clone();
    match conn.extra_object() {
        Ok(Some(object)) if !object.is_empty() => canonical.set_extra_object(&object),
        Ok(_) => canonical.extra = None,
        Err(_) => {}
    }
    canonical
}

/// Secrets never shown: `Debug` is the same whatever the password and the extra (of the same
/// lengths), and `redacted_uri` the same whatever a non-empty password. (Comparing outputs
/// rather than searching them for the secret: a password may also be in the host, or in an
/// extra value, which `redacted_uri` shows.)
fn check_redaction(conn: &Connection) {
    let other = |s: &Secret| Some(Secret::from("x".repeat(s.expose_str().len())));
    let masked = Connection {
        password: conn.password.as_ref().and_then(other),
        extra: conn.extra.as_ref().and_then(other),
        ..conn.clone()
    };
    assert_eq!(format!("{conn:?}"), format!("{masked:?}"));
    if conn
        .password
        .as_ref()
        .is_some_and(|p| !p.expose_str().is_empty())
    {
        let masked = Connection {
            password: Some("another password".into()),
            ..conn.clone()
        };
        assert_eq!(redacted_uri(conn), redacted_uri(&masked));
    }
}

fn check_uri(text: &str) {
    let Ok(first) = Connection::from_uri(text) else {
        return;
    };
    check_redaction(&first);
    let written = first
        .to_uri()
        .unwrap_or_else(|e| panic!("{text:?} read, not written: {e}"));
    let second = Connection::from_uri(&written)
        .unwrap_or_else(|e| panic!("{text:?} wrote {written:?}, which reads as: {e}"));
    // An empty URI reads as nothing at all (`if uri:`), which is written as `//`.
    if !text.is_empty() && uri_goes_round(&first) {
        assert_eq!(
            uri_view(&second),
            uri_view(&first),
            "{text:?} -> {written:?}"
        );
    }
    let rewritten = second
        .to_uri()
        .expect("a connection read from a URI writes");
    let third = Connection::from_uri(&rewritten).expect("a written URI reads");
    assert_eq!(third, second, "{text:?} -> {written:?} -> {rewritten:?}");
    let _ = AZURE.validate(&first);
}

fn check_json(text: &str) {
    let Ok(first) = Connection::from_json(text) else {
        return;
    };
    check_redaction(&first);
    let written = first
        .to_json()
        .unwrap_or_else(|e| panic!("{text:?} read, not written: {e}"));
    let second = Connection::from_json(&written)
        .unwrap_or_else(|e| panic!("{text:?} wrote {written:?}, which reads as: {e}"));
    assert_eq!(second, json_read_back(&first), "{text:?} -> {written:?}");
}

/// What the JSON form of `conn` reads back as: `extra` canonical, and an empty type and port
/// 0 as none (`from_json` drops a falsy `conn_type` and `port`, as Airflow's does).
fn json_read_back(conn: &Connection) -> Connection {
    Connection {
        conn_type: conn.conn_type.clone().filter(|t| !t.is_empty()),
        port: conn.port.filter(|p| *p != 0),
        ..canonical_extra(conn)
    }
}

fn check_env(text: &str) {
    for flavor in [UriFlavor::Core, UriFlavor::TaskSdk] {
        let Ok(conn) = from_env_value("fuzz", text, flavor) else {
            continue;
        };
        assert_eq!(conn.conn_id.as_deref(), Some("fuzz"));
        if flavor != UriFlavor::Core {
            continue;
        }
        // A connection from the JSON form may hold what no URI can say (a port over 65535, a
        // host with a protocol that is its type), as in Airflow: only URIs go round as URIs.
        let formats: &[EnvFormat] = if py_strip(text).starts_with('{') {
            &[EnvFormat::Json]
        } else {
            &[EnvFormat::Uri, EnvFormat::Json]
        };
        for format in formats.iter().copied() {
            let value =
                to_env_value(&conn, format).expect("a connection read from a variable writes");
            let again = from_env_value("fuzz", &value, flavor)
                .unwrap_or_else(|e| panic!("{text:?} wrote {value:?}, which reads as: {e}"));
            match format {
                EnvFormat::Uri if !uri_goes_round(&conn) => {}
                EnvFormat::Uri => {
                    assert_eq!(uri_view(&again), uri_view(&conn), "{value:?}")
                }
                EnvFormat::Json => assert_eq!(again, json_read_back(&conn), "{value:?}"),
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for flavor in [UriFlavor::Core, UriFlavor::TaskSdk] {
        match Connection::from_uri_with(&text, flavor) {
            Ok(conn) => {
                let _ = conn.to_uri_with(UriFlavor::TaskSdk);
                let _ = conn.to_json();
            }
            Err(error) => {
                let _ = (error.to_string(), error.airflow_message(flavor));
            }
        }
        match Connection::from_json_with(&text, flavor) {
            Ok(conn) => {
                let _ = conn.to_uri_with(flavor);
            }
            Err(error) => {
                let _ = (error.to_string(), error.airflow_message(flavor));
            }
        }
        if let Err(error) = from_env_value("fuzz", &text, flavor) {
            let _ = (error.to_string(), error.airflow_message(flavor));
        }
    }
    check_uri(&text);
    check_json(&text);
    check_env(&text);
});
