//! Python-compatible JSON (`wid_model::connection::pyjson`): any text is read as `json.loads`
//! reads it, without a panic. Properties: what was read writes back (`json.dumps`) to text that
//! reads to the same value (a fixpoint after one write); any string written with `dumps_str`
//! reads back as itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wid_model::connection::pyjson::{self, INT_MAX_STR_DIGITS, Value};

/// Whether Python's value is serde_json's: same shape, strings, booleans, integers that fit 64
/// bits and object keys (a repeated key keeps its last value in both). Floats are not compared
/// (serde_json may round the last bit differently without `float_roundtrip`).
fn same(py: &Value, strict: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (py, strict) {
        (Value::Null, J::Null) => true,
        (Value::Bool(a), J::Bool(b)) => a == b,
        (Value::Str(a), J::String(b)) => a == b,
        (Value::Int(digits), J::Number(n)) if n.is_i64() || n.is_u64() => *digits == n.to_string(),
        (Value::Int(_) | Value::Float(_), J::Number(_)) => true,
        (Value::Array(a), J::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), J::Object(b)) => {
            a.len() == b.len() && b.iter().all(|(k, v)| a.get(k).is_some_and(|x| same(x, v)))
        }
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match pyjson::loads(&text) {
        Ok(value) => {
            let written = pyjson::dumps(&value);
            let again = pyjson::loads(&written)
                .unwrap_or_else(|e| panic!("{text:?} wrote {written:?}, which reads as {e}"));
            assert_eq!(pyjson::dumps(&again), written, "{text:?}");
            let _ = (value.is_truthy(), value.py_type_name());
        }
        Err(error) => {
            let _ = (error.to_string(), error.is_decode_error());
        }
    }
    if let Ok(strict) = serde_json::from_str::<serde_json::Value>(&text) {
        match pyjson::loads(&text) {
            Ok(value) => assert!(same(&value, &strict), "{text:?}: {value:?} / {strict:?}"),
            Err(error) => assert!(
                text.len() > INT_MAX_STR_DIGITS,
                "{text:?} is JSON, but Python's reader says {error}"
            ),
        }
    }
    let written = pyjson::dumps_str(&text);
    assert!(written.is_ascii(), "{written:?}");
    assert_eq!(
        pyjson::loads(&written),
        Ok(Value::Str(text.to_string())),
        "{written:?}"
    );
});
