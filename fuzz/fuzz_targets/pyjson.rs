//! Python-compatible JSON (`wid_model::connection::pyjson`): any text is read as `json.loads`
//! reads it, without a panic. Properties: what was read writes back (`json.dumps`) to text that
//! reads to the same value (a fixpoint after one write); any string written with `dumps_str`
//! reads back as itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wid_model::connection::pyjson::{self, Value};

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
    let written = pyjson::dumps_str(&text);
    assert!(written.is_ascii(), "{written:?}");
    assert_eq!(
        pyjson::loads(&written),
        Ok(Value::Str(text.to_string())),
        "{written:?}"
    );
});
