//! The connection form: Airflow's fields for a connection type (from the model's registry),
//! read from an API answer or a posted form, checked field by field, and turned into the
//! API's `ConnectionBody`.
//!
//! The custom fields of a type (for `azure`: the workload identity pair, the subscription,
//! the service principal's tenant, the cloud) are stored in `extra`; the Extra text area
//! shows the other keys, and saving writes both, as Airflow's form does.

use serde_json::{Value, json};
use wid_model::connection::pyjson::{self, Object};
use wid_model::connection::registry::{self, ConnectionType, RegistryError, StandardField};
use wid_model::connection::{Connection, validate_conn_id};
use wid_model::secret::Secret;

use crate::form::FormData;

/// The form name of a custom field: Airflow's `extra__<type>__<name>`.
pub fn field_input(ty: &ConnectionType, name: &str) -> String {
    ty.legacy_key(name)
}

/// Longest value of each standard field, characters: Airflow's columns (`conn_id`
/// VARCHAR(250) checked to 200 by the API, `host`/`schema`/`conn_type` VARCHAR(500),
/// `description` TEXT(5000)); login, password and custom fields are TEXT, bounded here at
/// 2,000, and Extra at 64 KiB, so a page never carries megabytes.
pub fn max_len(field: &str) -> usize {
    match field {
        "conn_id" => 200,
        "conn_type" | "host" | "schema" => 500,
        "description" => 5000,
        "extra" => 65_536,
        _ => 2000,
    }
}

/// The form's values.
#[derive(Debug, Clone, Default)]
pub struct ConnForm {
    /// `connection_id`.
    pub conn_id: String,
    /// `conn_type`.
    pub conn_type: String,
    /// `description`.
    pub description: String,
    /// `host`.
    pub host: String,
    /// `schema`.
    pub schema: String,
    /// `login`.
    pub login: String,
    /// `password` as typed; empty keeps the stored one when editing.
    pub password: Secret,
    /// `port` as typed.
    pub port: String,
    /// The type's custom fields, (name, value), in the registry's order.
    pub custom: Vec<(String, String)>,
    /// The other keys of `extra`, as JSON text.
    pub extra: String,
    /// Run the test as this `NAMESPACE/SERVICE_ACCOUNT`.
    pub test_as: String,
}

/// What is wrong or doubtful, by field.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// (field, message): the form is not saved while any exists.
    pub errors: Vec<(String, String)>,
    /// Messages for what Airflow accepts but will not use as it seems.
    pub warnings: Vec<String>,
}

impl Checked {
    /// The error for `field`, if any.
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

impl ConnForm {
    /// An empty form for `conn_type`.
    pub fn new(conn_type: &str) -> Self {
        let mut f = ConnForm {
            conn_type: conn_type.to_string(),
            ..Default::default()
        };
        if let Some(ty) = registry::lookup(conn_type) {
            f.custom = ty
                .extra_fields
                .iter()
                .map(|x| (x.name.to_string(), String::new()))
                .collect();
        }
        f
    }

    /// The form for a connection as the API returns it. The password is never put in the
    /// form: the API shows it as `***`, and an empty field keeps it.
    pub fn from_api(v: &Value) -> Self {
        let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
        let mut f = ConnForm::new(&s("conn_type"));
        f.conn_id = s("connection_id");
        f.description = s("description");
        f.host = s("host");
        f.schema = s("schema");
        f.login = s("login");
        f.port = v["port"]
            .as_i64()
            .map(|p| p.to_string())
            .unwrap_or_default();
        let extra = s("extra");
        let conn = Connection {
            extra: Some(Secret::from(extra.as_str())).filter(|e| !e.expose().is_empty()),
            ..Default::default()
        };
        match (registry::lookup(&f.conn_type), conn.extra_object()) {
            (Some(_), Ok(Some(mut obj))) => {
                for (name, value) in f.custom.iter_mut() {
                    if let Some(pyjson::Value::Str(x)) = obj.get(name) {
                        *value = x.clone();
                        obj.remove(name);
                    } else if obj
                        .get(name)
                        .is_some_and(|x| matches!(x, pyjson::Value::Null))
                    {
                        obj.remove(name);
                    }
                }
                f.extra = pretty(&obj);
            }
            _ => f.extra = extra,
        }
        f
    }

    /// The form as posted.
    pub fn from_form(d: &FormData) -> Self {
        let conn_type = d.text("conn_type");
        let mut f = ConnForm::new(&conn_type);
        f.conn_id = d.text("conn_id");
        f.description = d.get("description").unwrap_or("").to_string();
        f.host = d.text("host");
        f.schema = d.text("schema");
        f.login = d.text("login");
        f.password = Secret::from(d.get("password").unwrap_or(""));
        f.port = d.text("port");
        f.extra = d.get("extra").unwrap_or("").trim().to_string();
        f.test_as = d.text("test_as");
        if let Some(ty) = registry::lookup(&conn_type) {
            for (name, value) in f.custom.iter_mut() {
                *value = d.text(&field_input(ty, name));
            }
        }
        f
    }

    /// The value of custom field `name`.
    pub fn custom(&self, name: &str) -> &str {
        self.custom
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Checks the form and builds the connection; `editing` names the stored connection, whose
    /// id cannot change.
    pub fn to_connection(&self) -> (Option<Connection>, Checked) {
        let mut c = Checked::default();
        let mut too_long = |field: &str, value: &str| {
            let n = value.chars().count();
            if n > max_len(field) {
                c.errors.push((
                    field.to_string(),
                    format!(
                        "{n} characters; the most this field holds is {}",
                        max_len(field)
                    ),
                ));
                true
            } else {
                false
            }
        };
        for (field, value) in [
            ("conn_id", &self.conn_id),
            ("conn_type", &self.conn_type),
            ("description", &self.description),
            ("host", &self.host),
            ("schema", &self.schema),
            ("login", &self.login),
            ("password", self.password.expose()),
            ("port", &self.port),
            ("extra", &self.extra),
        ] {
            too_long(field, value);
        }
        for (name, value) in &self.custom {
            too_long(name, value);
        }
        if c.errors.iter().all(|(f, _)| f != "conn_id")
            && let Err(e) = validate_conn_id(&self.conn_id)
        {
            c.errors.push(("conn_id".into(), e.to_string()));
        }
        if self.conn_type.is_empty() {
            c.errors
                .push(("conn_type".into(), "choose a connection type".into()));
        }
        let port = match self.port.as_str() {
            "" => None,
            p => match p.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    c.errors
                        .push(("port".into(), format!("'{p}' is not a whole number")));
                    None
                }
            },
        };
        let mut conn = Connection {
            conn_id: Some(self.conn_id.clone()),
            conn_type: Some(self.conn_type.clone()),
            description: Some(self.description.clone()).filter(|s| !s.is_empty()),
            host: Some(self.host.clone()).filter(|s| !s.is_empty()),
            schema: Some(self.schema.clone()).filter(|s| !s.is_empty()),
            login: Some(self.login.clone()).filter(|s| !s.is_empty()),
            password: Some(self.password.clone()).filter(|s| !s.expose().is_empty()),
            port,
            extra: Some(Secret::from(if self.extra.is_empty() {
                "{}"
            } else {
                self.extra.as_str()
            })),
        };
        if c.error("extra").is_none() {
            match conn.extra_object() {
                Err(e) => c.errors.push(("extra".into(), e.to_string())),
                Ok(obj) => {
                    let obj = obj.unwrap_or_default();
                    if let Some((k, _)) = obj
                        .iter()
                        .find(|(_, v)| matches!(v, pyjson::Value::Str(s) if s == "***"))
                    {
                        c.errors.push((
                            "extra".into(),
                            format!(
                                "`{k}` is \"***\": the API does not reveal secret values of Extra; type the value again, or remove the key"
                            ),
                        ));
                    }
                }
            }
        }
        if !c.errors.is_empty() {
            return (None, c);
        }
        if let Some(ty) = registry::lookup(&self.conn_type) {
            // An empty field leaves Extra as typed: a key written in Extra by hand is kept.
            for (name, value) in self.custom.iter().filter(|(_, v)| !v.is_empty()) {
                if let Err(e) = ty.set_field(&mut conn, name, Some(value.as_str())) {
                    c.errors.push((name.clone(), e.to_string()));
                }
            }
            let v = ty.validate(&conn);
            for e in v.errors {
                let field = match &e {
                    RegistryError::NotAGuid { field, .. }
                    | RegistryError::NotAString { field, .. } => field.clone(),
                    RegistryError::Extra(_) => "extra".into(),
                    RegistryError::WrongType { .. } => "conn_type".into(),
                    RegistryError::UnknownField { .. } => "extra".into(),
                };
                c.errors.push((field, e.to_string()));
            }
            c.warnings = v.warnings.iter().map(|w| w.to_string()).collect();
        }
        if c.errors.is_empty() {
            (Some(conn), c)
        } else {
            (None, c)
        }
    }
}

/// Extra as indented JSON text for the text area (`{}` shows as empty).
fn pretty(obj: &Object) -> String {
    if obj.is_empty() {
        return String::new();
    }
    let compact = pyjson::dumps(&pyjson::Value::Object(obj.clone()));
    serde_json::from_str::<Value>(&compact)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .filter(|_| !compact.contains("NaN") && !compact.contains("Infinity"))
        .unwrap_or(compact)
}

/// The API's `ConnectionBody` for a connection.
pub fn body(conn: &Connection) -> Value {
    let mut v = json!({
        "connection_id": conn.conn_id,
        "conn_type": conn.conn_type,
        "description": conn.description,
        "host": conn.host,
        "schema": conn.schema,
        "login": conn.login,
        "port": conn.port,
        "extra": conn.extra_str(),
    });
    if let Some(p) = conn.effective_password() {
        v["password"] = json!(p);
    }
    v
}

/// The `update_mask` for an edit: every field, and `password` only when one was typed (an
/// empty password field keeps the stored one, as in Airflow's form).
pub fn update_mask(conn: &Connection) -> Vec<&'static str> {
    let mut m = vec![
        "conn_type",
        "description",
        "host",
        "schema",
        "login",
        "port",
        "extra",
    ];
    if conn.effective_password().is_some() {
        m.push("password");
    }
    m
}

/// The label of a standard field for a type (its relabeling, else Airflow's).
pub fn label(ty: Option<&ConnectionType>, field: StandardField) -> &'static str {
    ty.and_then(|t| t.label(field)).unwrap_or(match field {
        StandardField::Description => "Description",
        StandardField::Host => "Host",
        StandardField::Schema => "Schema",
        StandardField::Login => "Login",
        StandardField::Password => "Password",
        StandardField::Port => "Port",
        StandardField::Extra => "Extra",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: &str = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";

    fn posted(pairs: &[(&str, &str)]) -> FormData {
        FormData::parse(serde_urlencoded::to_string(pairs).unwrap().as_bytes()).unwrap()
    }

    #[test]
    fn azure_fields_go_into_extra_beside_its_other_keys() {
        let f = ConnForm::from_form(&posted(&[
            ("conn_id", "azure_default"),
            ("conn_type", "azure"),
            ("extra__azure__managed_identity_client_id", G),
            ("extra__azure__workload_identity_tenant_id", G),
            ("extra", r#"{"use_azure_identity_object": true}"#),
        ]));
        let (conn, checked) = f.to_connection();
        assert!(checked.errors.is_empty(), "{checked:?}");
        let extra = conn.unwrap().extra.unwrap().into_exposed();
        assert!(
            extra.contains("use_azure_identity_object") && extra.contains(G),
            "{extra}"
        );
        let back = ConnForm::from_api(
            &json!({"connection_id": "azure_default", "conn_type": "azure", "extra": extra}),
        );
        assert_eq!(back.custom("managed_identity_client_id"), G);
        assert!(!back.extra.contains(G) && back.extra.contains("use_azure_identity_object"));
    }

    #[test]
    fn a_key_typed_in_extra_survives_an_empty_field() {
        let f = ConnForm::from_form(&posted(&[
            ("conn_id", "a"),
            ("conn_type", "azure"),
            ("extra__azure__workload_identity_tenant_id", G),
            (
                "extra",
                &format!(r#"{{"managed_identity_client_id": "{G}"}}"#),
            ),
        ]));
        let (conn, c) = f.to_connection();
        let extra = conn.unwrap().extra.unwrap().into_exposed();
        assert!(
            extra.contains("managed_identity_client_id")
                && extra.contains("workload_identity_tenant_id"),
            "{extra}"
        );
        assert!(c.warnings.is_empty(), "{c:?}");
    }

    #[test]
    fn bad_values_are_named_by_field_and_nothing_is_built() {
        let f = ConnForm::from_form(&posted(&[
            ("conn_id", "bad id!"),
            ("conn_type", "azure"),
            ("extra__azure__managed_identity_client_id", "not-a-guid"),
            ("extra", "{not json"),
            ("port", "x"),
        ]));
        let (conn, c) = f.to_connection();
        assert!(conn.is_none());
        assert!(
            c.error("conn_id").is_some() && c.error("extra").is_some() && c.error("port").is_some()
        );
        let f = ConnForm::from_form(&posted(&[
            ("conn_id", "ok"),
            ("conn_type", "azure"),
            ("extra__azure__managed_identity_client_id", "not-a-guid"),
        ]));
        let (_, c) = f.to_connection();
        assert!(
            c.error("managed_identity_client_id")
                .unwrap()
                .contains("GUID")
        );
        let long = "x".repeat(6000);
        let f = ConnForm::from_form(&posted(&[
            ("conn_id", "ok"),
            ("conn_type", "azure"),
            ("description", &long),
        ]));
        assert!(
            f.to_connection()
                .1
                .error("description")
                .unwrap()
                .contains("5000")
        );
    }

    #[test]
    fn one_workload_identity_field_alone_is_a_warning() {
        let f = ConnForm::from_form(&posted(&[
            ("conn_id", "a"),
            ("conn_type", "azure"),
            ("extra__azure__managed_identity_client_id", G),
        ]));
        let (conn, c) = f.to_connection();
        assert!(conn.is_some());
        assert!(
            c.warnings
                .iter()
                .any(|w| w.contains("workload_identity_tenant_id")),
            "{c:?}"
        );
    }

    #[test]
    fn an_empty_password_is_left_out_of_the_update() {
        let (conn, _) = ConnForm::from_form(&posted(&[("conn_id", "a"), ("conn_type", "azure")]))
            .to_connection();
        let conn = conn.unwrap();
        assert!(!update_mask(&conn).contains(&"password") && body(&conn).get("password").is_none());
    }
}
