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

/// The value the API shows in place of a secret.
pub const MASK: &str = "***";

fn restore(new: &Value, stored: &Value) -> Value {
    match (new, stored) {
        (Value::Object(n), Value::Object(st)) => {
            let mut out = pyjson::Object::new();
            for (k, v) in n.iter() {
                let kept = match (v, st.get(k)) {
                    (Value::Str(m), Some(old)) if m == MASK && is_sensitive(k) => old.clone(),
                    (v, Some(old)) => restore(v, old),
                    (v, None) => v.clone(),
                };
                out.insert(k, kept);
            }
            Value::Object(out)
        }
        (Value::Array(n), Value::Array(st)) => Value::Array(
            n.iter()
                .enumerate()
                .map(|(i, v)| st.get(i).map_or_else(|| v.clone(), |old| restore(v, old)))
                .collect(),
        ),
        (n, _) => n.clone(),
    }
}

/// `new` extra with every `"***"` under a sensitive key replaced by the stored value at the same
/// place: what a client read from the API (masked) and sent back keeps the secrets it could not
/// see, as Airflow's connection form keeps them. A key the stored extra does not have stays
/// `"***"`; text that is not JSON (on either side) is returned as sent.
pub fn restore_extra(new: &str, stored: &str) -> String {
    if !new.contains(MASK) {
        return new.to_string();
    }
    match (pyjson::loads(new), pyjson::loads(stored)) {
        (Ok(n), Ok(st)) => pyjson::dumps(&restore(&n, &st)),
        _ => new.to_string(),
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

    #[test]
    fn masked_values_sent_back_keep_the_stored_secrets() {
        let stored = r#"{"tenantId": "t", "client_secret": "s3cr3t", "nested": {"api_key": "k", "n": [{"token": "x"}]}}"#;
        let sent = redact_extra(stored).replace("\"t\"", "\"t2\"");
        assert_eq!(
            restore_extra(&sent, stored),
            r#"{"tenantId": "t2", "client_secret": "s3cr3t", "nested": {"api_key": "k", "n": [{"token": "x"}]}}"#
        );
        // A changed secret is taken; a mask under a key that is not sensitive is a value.
        assert_eq!(
            restore_extra(r#"{"client_secret": "new", "note": "***"}"#, stored),
            r#"{"client_secret": "new", "note": "***"}"#
        );
        // A mask with nothing stored behind it stays; text that is not JSON is kept as sent.
        assert_eq!(
            restore_extra(r#"{"password": "***"}"#, "{}"),
            r#"{"password": "***"}"#
        );
        assert_eq!(restore_extra("not json ***", stored), "not json ***");
    }
}
