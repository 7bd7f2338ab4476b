//! `application/x-www-form-urlencoded` bodies, read without losing repeated or unknown keys.

use crate::error::UiError;

/// Largest form body the UI accepts, bytes.
pub const MAX_FORM: usize = 256 * 1024;

/// A decoded form.
#[derive(Debug, Clone, Default)]
pub struct FormData {
    pairs: Vec<(String, String)>,
}

impl FormData {
    /// Decodes a body.
    pub fn parse(body: &[u8]) -> Result<Self, UiError> {
        if body.len() > MAX_FORM {
            return Err(UiError::BadRequest(format!(
                "the form is {} bytes; the most the UI accepts is {MAX_FORM}",
                body.len()
            )));
        }
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .map(|pairs| FormData { pairs })
            .map_err(|e| UiError::BadRequest(format!("the form could not be read: {e}")))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, trimmed, or empty.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").trim().to_string()
    }
}
