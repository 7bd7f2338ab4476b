//! Airflow's secrets masker, as the API and the CLI apply it to `extra`: values under
//! sensitive keys become `"***"`, at any depth.

use super::pyjson::{self, Value};

/// Key fragments Airflow treats as sensitive (`DEFAULT_SENSITIVE_FIELDS`).
pub const SENSITIVE: [&str; 12] = [
    "access_token",
    "api_key",
    "apikey",
    "authorization",
    "passphrase",
    "passwd",
    "password",
    "private_key",
    "secret",
    "token",
    "keyfile_dict",
    "service_account",
];

/// Whether a key names a secret.
pub fn is_sensitive(key: &str) -> bool {
    let k = key.to_lowercase();
    SENSITIVE.iter().any(|s| k.contains(s))
}

fn redact(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut out = pyjson::Object::new();
            for (k, v) in o.iter() {
                let nv = if is_sensitive(k) && !matches!(v, Value::Null) {
                    Value::Str("***".into())
                } else {
                    redact(v)
                };
                out.insert(k, nv);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// `extra` with sensitive values replaced; text that is not JSON is returned as is (Airflow
/// returns it unchanged too).
pub fn redact_extra(extra: &str) -> String {
    match pyjson::loads(extra) {
        Ok(v) => pyjson::dumps(&redact(&v)),
        Err(_) => extra.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_nested_sensitive_keys() {
        let out = redact_extra(
            r#"{"tenantId": "t", "client_secret": "s", "nested": {"api_key": "k", "n": [{"token": "x"}]}}"#,
        );
        assert_eq!(
            out,
            r#"{"tenantId": "t", "client_secret": "***", "nested": {"api_key": "***", "n": [{"token": "***"}]}}"#
        );
        assert_eq!(redact_extra("not json"), "not json");
        assert!(!is_sensitive("managed_identity_client_id"));
    }
}
