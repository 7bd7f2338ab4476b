//! The Fernet decoder (`wid_store::FernetKeys`): any text is read as a `fernet_key` setting and
//! as a stored token under fixed keys, without a panic and with errors of bounded length
//! (they never echo a key). Properties: every input encrypts and decrypts back to itself; `rotate` keeps the
//! plaintext.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wid_store::FernetKeys;

/// Two keys, as after a rotation: the first encrypts, both decrypt. The second is the key of
/// Python's tokens in `crates/wid-store/tests/fixtures/fernet_vectors.json`, which seed the
/// corpus, so mutations start from tokens that decrypt.
const KEYS: &str =
    "t8dX1gGvC-9zXbYt2o1bVkVtr6ZJcJ0QmB3q9yHq1kM=,JTA7RlFcZ3J9iJOeqbS_ytXg6_YBDBciLThDTllkb3o=";

fn keys() -> &'static FernetKeys {
    static KEYS_PARSED: OnceLock<FernetKeys> = OnceLock::new();
    KEYS_PARSED.get_or_init(|| FernetKeys::parse(KEYS).expect("valid fixed keys"))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match FernetKeys::parse(&text) {
        Ok(parsed) => assert!(parsed.key_count() >= 1),
        // The error's fields are positions and counts only; its text is bounded whatever the
        // input, so no part of a key can be in it.
        Err(error) => assert!(error.to_string().len() < 600, "{error}"),
    }
    let keys = keys();
    match keys.decrypt(&text) {
        Ok(plaintext) => {
            let rotated = keys.rotate(&text).expect("a token that decrypts rotates");
            let again = keys.decrypt(&rotated).expect("a rotated token decrypts");
            assert_eq!(again.expose_str(), plaintext.expose_str());
        }
        Err(error) => {
            let _ = error.to_string();
            assert!(keys.rotate(&text).is_err());
        }
    }
    let token = keys.encrypt(&text);
    let own = keys.decrypt(&token).expect("own token");
    assert_eq!(own.expose_str(), &*text);
    let rotated = keys
        .decrypt(&keys.rotate(&token).expect("own token"))
        .expect("own token, rotated");
    assert_eq!(rotated.expose_str(), &*text);
});
