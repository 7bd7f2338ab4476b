//! Connection ids.
//!
//! Airflow's CLI (`connections add`, `import`) and REST API accept an id only if
//! `validate_key(conn_id, max_length=200)` passes: at most 200 characters, matching
//! `^[\w.-]+$` (`\w` being Python's Unicode word characters), and no `..`. The model itself is
//! laxer ([`sanitize_conn_id`]: `^[\w#!()\-.:/\\]{1,}$`, 250 characters).
//!
//! wid applies `validate_key` with one deliberate difference: Python's `$` also matches before
//! a final newline, so Airflow accepts `"abc\n"`; wid does not.

use super::preview;
use super::pystr::{is_py_word_char, py_repr};

/// The longest id the CLI and the REST API accept.
pub const CONN_ID_MAX_LEN: usize = 200;

/// The longest id the model keeps (`CONN_ID_MAX_LEN` in `models/connection.py`).
pub const STORED_CONN_ID_MAX_LEN: usize = 250;

/// Why a connection id is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnIdError {
    /// Longer than [`CONN_ID_MAX_LEN`] characters.
    #[error(
        "connection id {} has {chars} characters; Airflow allows at most {max}: choose a shorter id",
        preview(conn_id)
    )]
    TooLong {
        /// The id.
        conn_id: String,
        /// Its length in characters.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// A character other than a letter, digit, `_`, `.` or `-` (or an empty id).
    #[error("connection id {} {}; use only letters, digits, `_`, `.` and `-` (e.g. azure_default)", py_repr(conn_id), describe(*character))]
    InvalidCharacter {
        /// The id.
        conn_id: String,
        /// The first character that is not allowed (`None` for an empty id).
        character: Option<char>,
    },
    /// Contains `..`.
    #[error(
        "connection id {} contains `..`, which Airflow refuses (path traversal); use single dots",
        py_repr(conn_id)
    )]
    ConsecutiveDots {
        /// The id.
        conn_id: String,
    },
}

fn describe(character: Option<char>) -> String {
    match character {
        None => "is empty".into(),
        Some(c) => format!("contains {c:?} (U+{:04X})", c as u32),
    }
}

impl ConnIdError {
    /// The message of Airflow's `AirflowException` for the same id, or `None` where Airflow
    /// accepts it (an id ending in one newline).
    pub fn airflow_message(&self) -> Option<String> {
        match self {
            ConnIdError::TooLong { conn_id, max, .. } => Some(format!(
                "The key: {conn_id} has to be less than {max} characters"
            )),
            ConnIdError::InvalidCharacter { conn_id, .. } if key_regex_matches(conn_id) => conn_id
                .contains("..")
                .then(|| {
                    ConnIdError::ConsecutiveDots {
                        conn_id: conn_id.clone(),
                    }
                    .airflow_message()
                })
                .flatten(),
            ConnIdError::InvalidCharacter { conn_id, .. } => Some(format!(
                "The key {} has to be made of alphanumeric characters, dashes, dots and underscores exclusively",
                py_repr(conn_id)
            )),
            ConnIdError::ConsecutiveDots { conn_id } => Some(format!(
                "The key {} must not contain consecutive dots ('..') to prevent path traversal",
                py_repr(conn_id)
            )),
        }
    }
}

fn is_key_char(c: char) -> bool {
    is_py_word_char(c) || c == '.' || c == '-'
}

/// Python's `re.match(r"^[\w.-]+$", id)`, trailing-newline quirk included.
fn key_regex_matches(conn_id: &str) -> bool {
    let body = conn_id.strip_suffix('\n').unwrap_or(conn_id);
    !body.is_empty() && body.chars().all(is_key_char)
}

/// Airflow's `validate_key(conn_id, max_length=200)`, without its trailing-newline quirk.
pub fn validate_conn_id(conn_id: &str) -> Result<(), ConnIdError> {
    let chars = conn_id.chars().count();
    if chars > CONN_ID_MAX_LEN {
        return Err(ConnIdError::TooLong {
            conn_id: conn_id.to_string(),
            chars,
            max: CONN_ID_MAX_LEN,
        });
    }
    if conn_id.is_empty() {
        return Err(ConnIdError::InvalidCharacter {
            conn_id: String::new(),
            character: None,
        });
    }
    if let Some(bad) = conn_id.chars().find(|c| !is_key_char(*c)) {
        return Err(ConnIdError::InvalidCharacter {
            conn_id: conn_id.to_string(),
            character: Some(bad),
        });
    }
    if conn_id.contains("..") {
        return Err(ConnIdError::ConsecutiveDots {
            conn_id: conn_id.to_string(),
        });
    }
    Ok(())
}

/// Airflow's `sanitize_conn_id`: the id the model stores, or `None` when it stores none.
///
/// For an id ending in one newline this is the id without it, as in Airflow.
pub fn sanitize_conn_id(conn_id: &str) -> Option<&str> {
    if conn_id.chars().count() > STORED_CONN_ID_MAX_LEN {
        return None;
    }
    let allowed = |c: char| is_py_word_char(c) || "#!()-.:/\\".contains(c);
    let body = conn_id.strip_suffix('\n').unwrap_or(conn_id);
    (!body.is_empty() && body.chars().all(allowed)).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted() {
        for id in [
            "azure_default",
            "my.conn-id_1",
            "a",
            ".",
            "-",
            "_",
            "café",
            "日本",
            "\u{b2}",
            &"A".repeat(200),
        ] {
            assert_eq!(validate_conn_id(id), Ok(()), "{id:?}");
        }
    }

    #[test]
    fn refused_with_airflow_words() {
        let msg = |id: &str| validate_conn_id(id).unwrap_err().airflow_message();
        assert_eq!(
            msg("x'; DROP TABLE connection;--").as_deref(),
            Some(
                "The key \"x'; DROP TABLE connection;--\" has to be made of alphanumeric characters, dashes, dots and underscores exclusively"
            )
        );
        assert_eq!(
            msg("../etc/passwd").as_deref(),
            Some(
                "The key '../etc/passwd' has to be made of alphanumeric characters, dashes, dots and underscores exclusively"
            )
        );
        assert_eq!(
            msg("a..b").as_deref(),
            Some(
                "The key 'a..b' must not contain consecutive dots ('..') to prevent path traversal"
            )
        );
        assert_eq!(
            msg(&"A".repeat(201)),
            Some(format!(
                "The key: {} has to be less than 200 characters",
                "A".repeat(201)
            ))
        );
        for id in [
            "", "a b", "a/b", "a\\b", "a:b", "a;b", "a\nb", "\nabc", "e\u{301}", "😀", "a%2Fb",
            "a\u{0}b",
        ] {
            assert!(validate_conn_id(id).is_err(), "{id:?}");
        }
    }

    #[test]
    fn trailing_newline_is_refused_although_airflow_takes_it() {
        let err = validate_conn_id("abc\n").unwrap_err();
        assert_eq!(err.airflow_message(), None);
        assert!(err.to_string().contains("'\\n'"), "{err}");
        assert_eq!(sanitize_conn_id("abc\n"), Some("abc"));
    }

    #[test]
    fn messages_show_the_id_and_a_remedy() {
        let err = validate_conn_id("a/b").unwrap_err();
        assert_eq!(
            err.to_string(),
            "connection id 'a/b' contains '/' (U+002F); use only letters, digits, `_`, `.` and `-` (e.g. azure_default)"
        );
        let long = "x".repeat(10_000);
        assert!(validate_conn_id(&long).unwrap_err().to_string().len() < 400);
    }

    #[test]
    fn the_model_is_laxer() {
        assert_eq!(sanitize_conn_id("a/b:c#(d)!"), Some("a/b:c#(d)!"));
        assert_eq!(sanitize_conn_id("a b"), None);
        assert_eq!(sanitize_conn_id(""), None);
        assert_eq!(sanitize_conn_id(&"a".repeat(251)), None);
    }
}
