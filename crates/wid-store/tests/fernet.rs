//! Fernet interoperability with Python `cryptography` (what Airflow uses): wid decrypts and
//! rotates the tokens in `fixtures/fernet_vectors.json`, made by `scripts/fernet_vectors.py`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use wid_store::{FernetError, FernetKeys};

const VECTORS: &str = include_str!("fixtures/fernet_vectors.json");

struct Vector {
    fernet_key: String,
    plaintext: String,
    timestamp: u64,
    token: String,
    note: String,
}

fn vectors() -> Vec<Vector> {
    let doc: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    let s = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap().to_string();
    let list: Vec<Vector> = doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Vector {
            fernet_key: s(v, "fernet_key"),
            plaintext: s(v, "plaintext"),
            timestamp: v["timestamp"].as_u64().unwrap(),
            token: s(v, "token"),
            note: s(v, "note"),
        })
        .collect();
    assert!(list.len() >= 11, "the fixture lost vectors");
    list
}

/// The timestamp a token carries (bytes 1..9, big-endian).
fn timestamp(token: &str) -> u64 {
    let data = URL_SAFE.decode(token).unwrap();
    u64::from_be_bytes(data[1..9].try_into().unwrap())
}

#[test]
fn decrypts_every_python_token() {
    for v in vectors() {
        let keys = FernetKeys::parse(&v.fernet_key)
            .unwrap_or_else(|e| panic!("{}: the key setting is refused: {e}", v.note));
        assert_eq!(
            keys.decrypt(&v.token).as_ref().map(|s| s.expose_str()),
            Ok(v.plaintext.as_str()),
            "{}",
            v.note
        );
        assert_eq!(timestamp(&v.token), v.timestamp, "{}", v.note);
    }
}

#[test]
fn rotation_keeps_the_timestamp_and_uses_the_first_key() {
    let new_key = FernetKeys::generate_key().into_exposed();
    for v in vectors() {
        let keys = FernetKeys::parse(&format!("{new_key},{}", v.fernet_key)).unwrap();
        let rotated = keys.rotate(&v.token).unwrap();
        assert_ne!(rotated, v.token, "{}", v.note);
        assert_eq!(timestamp(&rotated), v.timestamp, "{}", v.note);
        let only_new = FernetKeys::parse(&new_key).unwrap();
        assert_eq!(
            only_new.decrypt(&rotated).as_ref().map(|s| s.expose_str()),
            Ok(v.plaintext.as_str()),
            "{}",
            v.note
        );
        // The old keys alone no longer read it.
        let only_old = FernetKeys::parse(&v.fernet_key).unwrap();
        assert!(matches!(
            only_old.decrypt(&rotated),
            Err(FernetError::WrongKey { .. })
        ));
    }
}

#[test]
fn a_token_of_another_key_or_altered_is_refused() {
    let v = &vectors()[0];
    let other = FernetKeys::parse(&FernetKeys::generate_key().into_exposed()).unwrap();
    let err = other.decrypt(&v.token).unwrap_err();
    assert_eq!(err, FernetError::WrongKey { count: 1 });
    assert!(
        err.to_string().contains(
            "the value was encrypted with a key that is not in the configured fernet keys"
        ),
        "{err}"
    );
    assert!(!err.to_string().contains(&v.plaintext), "{err}");

    let keys = FernetKeys::parse(&v.fernet_key).unwrap();
    let mut data = URL_SAFE.decode(&v.token).unwrap();
    for i in [0usize, 5, 20, 40, data.len() - 1] {
        let mut altered = data.clone();
        altered[i] ^= 1;
        assert!(
            keys.decrypt(&URL_SAFE.encode(&altered)).is_err(),
            "byte {i} altered"
        );
    }
    data.truncate(data.len() - 16);
    assert!(keys.decrypt(&URL_SAFE.encode(&data)).is_err());
}

#[test]
fn wid_tokens_are_fernet_tokens() {
    let key = FernetKeys::generate_key().into_exposed();
    assert_eq!(key.len(), 44);
    assert_eq!(URL_SAFE.decode(&key).unwrap().len(), 32);
    let keys = FernetKeys::parse(&key).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for text in ["", "s3cr3t", "pässwörd ✓ 🔑", &"x".repeat(100_000)] {
        let token = keys.encrypt(text);
        assert!(token.starts_with("gAAAAA"), "{token}");
        let data = URL_SAFE.decode(&token).unwrap();
        assert_eq!(data[0], 0x80);
        // Header, whole AES blocks with at least one byte of padding, HMAC.
        assert_eq!(data.len(), 1 + 8 + 16 + (text.len() / 16 + 1) * 16 + 32);
        assert!(timestamp(&token).abs_diff(now) < 60);
        assert_eq!(
            keys.decrypt(&token).as_ref().map(|s| s.expose_str()),
            Ok(text)
        );
        assert_ne!(keys.encrypt(text), token, "the IV must be random");
    }
}

#[test]
fn the_first_key_encrypts_and_all_decrypt() {
    let (a, b) = (
        FernetKeys::generate_key().into_exposed(),
        FernetKeys::generate_key().into_exposed(),
    );
    let ab = FernetKeys::parse(&format!("{a}, {b}")).unwrap();
    assert_eq!(ab.key_count(), 2);
    let token = ab.encrypt("x");
    assert_eq!(
        FernetKeys::parse(&a)
            .unwrap()
            .decrypt(&token)
            .as_ref()
            .map(|s| s.expose_str()),
        Ok("x")
    );
    assert!(FernetKeys::parse(&b).unwrap().decrypt(&token).is_err());
    let by_b = FernetKeys::parse(&b).unwrap().encrypt("y");
    assert_eq!(ab.decrypt(&by_b).as_ref().map(|s| s.expose_str()), Ok("y"));
}
