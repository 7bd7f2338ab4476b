//! Secrets by type: [`Secret<T>`] holds a value that must never be printed, logged or
//! rendered (client secrets, client assertions, access tokens, passwords, a connection's
//! `extra`, Fernet keys, private keys, the admin key, session ids).
//!
//! `Debug` and `Display` print `[redacted]`, with no hint of the length; [`Secret::expose`]
//! is the one way to read the value, so every place that sends or stores a secret names
//! itself with that call. The value is zeroed in memory when dropped ([`Wipe`]).
//!
//! `Secret` is deliberately not `Serialize`/`Deserialize`: a wire format or file that carries
//! a secret opts in field by field with `#[serde(with = "wid_model::secret::exposed")]` (or
//! [`exposed_option`]), so no struct can put one on the wire by deriving.
//!
//! ```
//! use wid_model::secret::Secret;
//!
//! let password = Secret::from("hunter2");
//! assert_eq!(format!("{password} {password:?}"), "[redacted] [redacted]");
//! assert_eq!(password.expose(), "hunter2");
//! ```

use std::sync::Arc;

use zeroize::Zeroize;

/// What `Debug` and `Display` print for every secret.
pub const REDACTED: &str = "[redacted]";

/// A value that never prints. See the module documentation.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T: Wipe = String>(T);

/// A secret shared by reference count: handing a cached access token out costs a count,
/// not a copy. Zeroed when the last holder drops it.
pub type SharedSecret = Secret<Arc<str>>;

impl<T: Wipe> Secret<T> {
    /// Wraps a value.
    pub fn new(value: impl Into<T>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send, store or compare it.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// The value, moved out (what is left behind is empty and dropped as usual).
    pub fn into_exposed(mut self) -> T
    where
        T: Default,
    {
        std::mem::take(&mut self.0)
    }

    /// A secret derived from this one (the derived value is a secret too).
    pub fn map<U: Wipe>(&self, f: impl FnOnce(&T) -> U) -> Secret<U> {
        Secret(f(&self.0))
    }
}

impl Secret<String> {
    /// The value as text.
    pub fn expose_str(&self) -> &str {
        &self.0
    }
}

impl SharedSecret {
    /// The value as text.
    pub fn expose_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl<T: Wipe> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T: Wipe> std::fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T: Wipe> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.wipe();
    }
}

/// Values a [`Secret`] can hold: they can overwrite themselves with zeros.
pub trait Wipe {
    /// Overwrites the value's memory with zeros (a shared value: only when no other holder is
    /// left).
    fn wipe(&mut self);
}

impl Wipe for String {
    fn wipe(&mut self) {
        self.zeroize();
    }
}

impl Wipe for Vec<u8> {
    fn wipe(&mut self) {
        self.zeroize();
    }
}

impl Wipe for Arc<str> {
    fn wipe(&mut self) {
        // A plain load first: a copy handed out of a cache is dropped often, and
        // `get_mut` alone would write the shared counters on every drop. With no weak
        // references (none are made), a count of one cannot rise behind this holder.
        if Arc::strong_count(self) == 1
            && let Some(text) = Arc::get_mut(self)
        {
            text.zeroize();
        }
    }
}

/// `#[serde(with = "wid_model::secret::exposed")]`: the field is written and read in clear,
/// for the wire formats and files that must carry it.
pub mod exposed {
    use super::{Secret, Wipe};

    /// Writes the value in clear.
    pub fn serialize<T, S>(secret: &Secret<T>, serializer: S) -> Result<S::Ok, S::Error>
    where
        T: Wipe + serde::Serialize,
        S: serde::Serializer,
    {
        secret.expose().serialize(serializer)
    }

    /// Reads the value.
    pub fn deserialize<'de, T, D>(deserializer: D) -> Result<Secret<T>, D::Error>
    where
        T: Wipe + serde::Deserialize<'de>,
        D: serde::Deserializer<'de>,
    {
        T::deserialize(deserializer).map(Secret)
    }
}

/// `#[serde(with = "wid_model::secret::exposed_option")]`: [`exposed`] for an optional field.
pub mod exposed_option {
    use super::{Secret, Wipe};
    use serde::{Deserialize, Serialize};

    /// Writes the value in clear, or `null`.
    pub fn serialize<T, S>(secret: &Option<Secret<T>>, serializer: S) -> Result<S::Ok, S::Error>
    where
        T: Wipe + serde::Serialize,
        S: serde::Serializer,
    {
        secret.as_ref().map(Secret::expose).serialize(serializer)
    }

    /// Reads the value, or `None` for `null`.
    pub fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<Secret<T>>, D::Error>
    where
        T: Wipe + serde::Deserialize<'de>,
        D: serde::Deserializer<'de>,
    {
        Option::<T>::deserialize(deserializer).map(|v| v.map(Secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_nor_hints_at_the_length() {
        let short = Secret::from("a");
        let long = Secret::from("a much longer secret value");
        for s in [&short, &long] {
            assert_eq!(format!("{s}"), "[redacted]");
            assert_eq!(format!("{s:?}"), "[redacted]");
            assert_eq!(format!("{s:#?}"), "[redacted]");
        }
        assert_eq!(format!("{:?}", Some(&long)), "Some([redacted])");
        assert_eq!(long.expose(), "a much longer secret value");
    }

    #[test]
    fn shared_secrets_clone_the_count_and_read_the_same() {
        let a = SharedSecret::new("token");
        let b = a.clone();
        assert!(Arc::ptr_eq(a.expose(), b.expose()));
        drop(a);
        assert_eq!(&**b.expose(), "token");
    }

    #[test]
    fn wipe_zeroes_what_it_can() {
        let mut s = String::from("hunter2");
        s.wipe();
        assert!(s.is_empty());
        let mut shared: Arc<str> = Arc::from("hunter2");
        let other = shared.clone();
        shared.wipe();
        assert_eq!(
            &*other, "hunter2",
            "a shared value is left to its last holder"
        );
        drop(other);
        shared.wipe();
        assert_eq!(&*shared, "\0\0\0\0\0\0\0");
    }

    #[test]
    fn serde_only_where_named() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct File {
            #[serde(with = "exposed")]
            key: Secret,
            #[serde(with = "exposed_option", default)]
            other: Option<Secret>,
        }
        let f: File = serde_json::from_str(r#"{"key":"k1","other":null}"#).unwrap();
        assert_eq!(f.key.expose(), "k1");
        assert!(f.other.is_none());
        let text = serde_json::to_string(&File {
            key: "k2".into(),
            other: Some("k3".into()),
        })
        .unwrap();
        assert_eq!(text, r#"{"key":"k2","other":"k3"}"#);
    }
}
