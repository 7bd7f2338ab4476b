//! Airflow-compatible Fernet encryption of connection passwords and extras.
//!
//! Airflow's `[core] fernet_key` is a comma-separated list of Fernet keys; Airflow builds a
//! `MultiFernet` from it: the first key encrypts, every key decrypts, and `rotate` re-encrypts
//! a token with the first key. [`FernetKeys`] does the same, and its tokens are the Fernet
//! spec's (version `0x80`, timestamp, IV, AES-128-CBC, HMAC-SHA256), so Python `cryptography`
//! reads them and wid reads Python's (`tests/fixtures/fernet_vectors.json`).
//!
//! The cryptography is the `fernet` crate on RustCrypto. Parsing of keys and tokens is done
//! here first, so that errors can say which key is wrong and why, and so that decryption
//! follows Python's rules: without a TTL the token's timestamp is not checked (the `fernet`
//! crate alone would refuse a token stamped more than 60 s in the future), and `rotate` keeps
//! the token's timestamp as `MultiFernet.rotate` does.
//!
//! Leniency matches Python's where it matters: a key may use the standard base64 alphabet
//! (`+`, `/`) as well as the url-safe one, and its `=` padding may be missing. Unlike Python,
//! characters outside the alphabet are refused rather than silently dropped.

use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE};
use wid_model::secret::Secret;

/// How to make a key, for error messages.
const GENERATE_HINT: &str = "hint: generate a key with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'` or `wid connections rotate-fernet-key --generate`";

/// Size of a Fernet key once decoded: 16 bytes of HMAC key, then 16 bytes of AES key.
const KEY_BYTES: usize = 32;
/// Version byte, timestamp, IV.
const HEADER_BYTES: usize = 1 + 8 + 16;
/// HMAC-SHA256.
const MAC_BYTES: usize = 32;
/// AES block.
const BLOCK_BYTES: usize = 16;

/// Why one configured key is unusable. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    /// Nothing between two commas (or before the first, or after the last).
    #[error("is empty (check for a stray comma)")]
    Empty,
    /// A character outside the base64 alphabet.
    #[error("is not url-safe base64: invalid character at position {position}")]
    InvalidCharacter {
        /// 1-based byte position in the key, after trimming whitespace.
        position: usize,
    },
    /// A length no base64 text has, or misplaced `=` padding.
    #[error("is not url-safe base64: {length} characters is not a possible base64 length")]
    InvalidLength {
        /// Its length in bytes, after trimming whitespace.
        length: usize,
    },
    /// Valid base64 of the wrong number of bytes.
    #[error("decodes to {bytes} bytes; a Fernet key is {KEY_BYTES} bytes")]
    WrongLength {
        /// The decoded length.
        bytes: usize,
    },
}

/// A Fernet key or token problem, with what to do about it. Never carries key material or
/// plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FernetError {
    /// The setting holds no key at all.
    #[error(
        "no Fernet key is configured (fernet_key is empty); connections' passwords and extras are always stored encrypted, so a key is required\n{GENERATE_HINT}"
    )]
    NoKeys,
    /// One of the configured keys is unusable.
    #[error(
        "fernet key {position} of {count} {problem}; a Fernet key is 32 random bytes in url-safe base64 (44 characters ending in '=')\n{GENERATE_HINT}"
    )]
    InvalidKey {
        /// 1-based position of the key in the comma-separated list.
        position: usize,
        /// How many keys the list has.
        count: usize,
        /// What is wrong with it.
        problem: KeyProblem,
    },
    /// The stored value is not a Fernet token at all.
    #[error(
        "the value is not a Fernet token ({reason}); it may have been stored without encryption or damaged"
    )]
    NotAToken {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No configured key authenticates the token.
    #[error(
        "the value was encrypted with a key that is not in the configured fernet keys ({count} tried), or it was altered\nhint: after changing keys, list the new key first and the old one after it (fernet_key=NEW,OLD), run `wid connections rotate-fernet-key`, and only then drop the old key"
    )]
    WrongKey {
        /// How many keys were tried.
        count: usize,
    },
    /// The token decrypted, but not to UTF-8 text.
    #[error("the decrypted value is not UTF-8 text")]
    NotUtf8,
}

/// Airflow-compatible Fernet keys: `fernet_key` config format, comma-separated, the first
/// encrypts, all decrypt (MultiFernet).
///
/// `Debug` prints only the number of keys, never key material. The keys are zeroed in memory
/// when dropped.
#[derive(Clone)]
pub struct FernetKeys {
    /// The key that encrypts.
    first: ::fernet::Fernet,
    /// The keys that only decrypt, in configured order.
    others: Vec<::fernet::Fernet>,
}

impl std::fmt::Debug for FernetKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FernetKeys")
            .field("keys", &self.key_count())
            .finish_non_exhaustive()
    }
}

/// Base64 as Python's `urlsafe_b64decode` takes it, except for dropped characters: padding
/// optional, and non-zero trailing bits allowed.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes url-safe or standard base64 (`+` and `/` read as `-` and `_`, as Python does).
fn decode_b64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let urlsafe: String = text
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    LENIENT.decode(urlsafe)
}

fn parse_key(text: &str) -> Result<::fernet::Fernet, KeyProblem> {
    if text.is_empty() {
        return Err(KeyProblem::Empty);
    }
    let bytes = decode_b64(text).map_err(|e| match e {
        base64::DecodeError::InvalidByte(offset, _)
        | base64::DecodeError::InvalidLastSymbol(offset, _) => KeyProblem::InvalidCharacter {
            position: offset + 1,
        },
        base64::DecodeError::InvalidLength(_) | base64::DecodeError::InvalidPadding => {
            KeyProblem::InvalidLength { length: text.len() }
        }
    })?;
    if bytes.len() != KEY_BYTES {
        return Err(KeyProblem::WrongLength { bytes: bytes.len() });
    }
    // The canonical form, which the `fernet` crate accepts for any 32 bytes.
    ::fernet::Fernet::new(&URL_SAFE.encode(&bytes))
        .ok_or(KeyProblem::WrongLength { bytes: bytes.len() })
}

/// A token's timestamp and its canonical text, after the structural checks Python makes.
fn parse_token(token: &str) -> Result<(u64, String), FernetError> {
    let data = decode_b64(token.trim()).map_err(|_| FernetError::NotAToken {
        reason: "not base64",
    })?;
    if data.first() != Some(&0x80) {
        return Err(FernetError::NotAToken {
            reason: "it does not start with the Fernet version byte 0x80",
        });
    }
    let ciphertext_len = data.len().saturating_sub(HEADER_BYTES + MAC_BYTES);
    if data.len() < HEADER_BYTES + BLOCK_BYTES + MAC_BYTES || ciphertext_len % BLOCK_BYTES != 0 {
        return Err(FernetError::NotAToken {
            reason: "its length is not that of a Fernet token",
        });
    }
    let timestamp = data
        .get(1..9)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
        .ok_or(FernetError::NotAToken {
            reason: "its length is not that of a Fernet token",
        })?;
    Ok((timestamp, URL_SAFE.encode(&data)))
}

impl FernetKeys {
    /// Parses Airflow's `fernet_key` setting: comma-separated keys, each the url-safe base64 of
    /// 32 bytes as Python cryptography's `Fernet.generate_key()` writes it. Whitespace around
    /// commas is ignored. An empty setting is an error (wid never stores these values in
    /// plaintext), and so is any unusable key, named by its position.
    pub fn parse(config: &str) -> Result<FernetKeys, FernetError> {
        if config.trim().is_empty() {
            return Err(FernetError::NoKeys);
        }
        let parts: Vec<&str> = config.split(',').map(str::trim).collect();
        let count = parts.len();
        let mut keys = Vec::with_capacity(count);
        for (i, part) in parts.iter().enumerate() {
            let key = parse_key(part).map_err(|problem| FernetError::InvalidKey {
                position: i + 1,
                count,
                problem,
            })?;
            keys.push(key);
        }
        let mut keys = keys.into_iter();
        let first = keys.next().ok_or(FernetError::NoKeys)?;
        Ok(FernetKeys {
            first,
            others: keys.collect(),
        })
    }

    /// A new random key, in the format [`FernetKeys::parse`] and Python cryptography take.
    pub fn generate_key() -> Secret {
        Secret::new(::fernet::Fernet::generate_key())
    }

    /// How many keys are configured (at least one).
    pub fn key_count(&self) -> usize {
        1 + self.others.len()
    }

    /// Encrypts `plaintext` with the first key into a Fernet token (url-safe base64 text,
    /// starting `gAAAAA`), which Python cryptography decrypts.
    pub fn encrypt(&self, plaintext: &str) -> String {
        self.first.encrypt(plaintext.as_bytes())
    }

    /// Decrypts a token with whichever configured key made it.
    pub fn decrypt(&self, token: &str) -> Result<Secret, FernetError> {
        let (_, plaintext) = self.decrypt_bytes(token)?;
        let plaintext = Secret::<Vec<u8>>::new(plaintext);
        std::str::from_utf8(plaintext.expose())
            .map(Secret::from)
            .map_err(|_| FernetError::NotUtf8)
    }

    /// Decrypts a token with any configured key and re-encrypts it with the first, keeping its
    /// timestamp (Python's `MultiFernet.rotate`).
    pub fn rotate(&self, token: &str) -> Result<String, FernetError> {
        let (timestamp, plaintext) = self.decrypt_bytes(token)?;
        Ok(self.first.encrypt_at_time(&plaintext, timestamp))
    }

    /// The token's timestamp and plaintext bytes.
    fn decrypt_bytes(&self, token: &str) -> Result<(u64, Vec<u8>), FernetError> {
        let (timestamp, canonical) = parse_token(token)?;
        // Verify "as of" the token's own time: Python checks no timestamp without a TTL, and
        // the crate's clock-skew check (`now + 60 < timestamp`) then never fires.
        let as_of = timestamp.min(u64::MAX - 60);
        std::iter::once(&self.first)
            .chain(self.others.iter())
            .find_map(|key| key.decrypt_at_time(&canonical, None, as_of).ok())
            .map(|plaintext| (timestamp, plaintext))
            .ok_or(FernetError::WrongKey {
                count: self.key_count(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_only_the_count() {
        let k1 = FernetKeys::generate_key().into_exposed();
        let k2 = FernetKeys::generate_key().into_exposed();
        let keys = FernetKeys::parse(&format!("{k1},{k2}")).unwrap();
        let debug = format!("{keys:?}");
        assert_eq!(debug, "FernetKeys { keys: 2, .. }");
        assert!(!debug.contains(&k1[..10]) && !debug.contains(&k2[..10]));
    }

    #[test]
    fn errors_never_contain_key_material() {
        let secret = "SECRETSECRETSECRETSECRETSECRETSECRETSECRE!";
        let err = FernetKeys::parse(&format!(
            "{},{secret}",
            FernetKeys::generate_key().expose_str()
        ))
        .unwrap_err()
        .to_string();
        assert!(!err.contains("SECRET"), "{err}");
        assert!(err.contains("key 2 of 2"), "{err}");
        assert!(err.contains("position 42"), "{err}");
    }

    #[test]
    fn timestamp_overflow_does_not_panic() {
        let keys = FernetKeys::parse(FernetKeys::generate_key().expose_str()).unwrap();
        let mut data = vec![0x80];
        data.extend_from_slice(&u64::MAX.to_be_bytes());
        data.extend_from_slice(&[0u8; 16 + 16 + 32]);
        let token = URL_SAFE.encode(&data);
        assert_eq!(
            keys.decrypt(&token),
            Err(FernetError::WrongKey { count: 1 })
        );
    }

    #[test]
    fn tokens_of_the_wrong_shape_are_not_tokens() {
        let keys = FernetKeys::parse(FernetKeys::generate_key().expose_str()).unwrap();
        for bad in [
            "",
            "plaintext password",
            "gAAAAA",
            &URL_SAFE.encode([0x81u8; 73]),
            &URL_SAFE.encode([0x80u8; 74]),
        ] {
            assert!(
                matches!(keys.decrypt(bad), Err(FernetError::NotAToken { .. })),
                "{bad:?}: {:?}",
                keys.decrypt(bad)
            );
        }
    }
}

/// The Fernet keys in use, replaceable while the server runs (a rotation picked up without
/// a restart). Readers take the current set; a replacement affects the next read.
#[derive(Debug)]
pub struct LiveFernetKeys {
    current: std::sync::RwLock<std::sync::Arc<FernetKeys>>,
}

impl LiveFernetKeys {
    /// Starts with `keys`.
    pub fn new(keys: FernetKeys) -> Self {
        Self {
            current: std::sync::RwLock::new(std::sync::Arc::new(keys)),
        }
    }

    /// The keys to use now.
    pub fn current(&self) -> std::sync::Arc<FernetKeys> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the keys.
    pub fn replace(&self, keys: FernetKeys) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(keys);
    }
}
