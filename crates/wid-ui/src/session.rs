//! Sessions: made by signing in with the admin key, held in memory by the hash of their id,
//! carried by a `Secure; HttpOnly; SameSite=Strict` cookie, ending at a fixed time.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::UiState;
use crate::error::UiError;
use crate::form::FormData;

/// The session cookie's name.
pub const COOKIE: &str = "wid_session";
/// The cookie that carries the sign-in form's CSRF token before there is a session.
pub const PRE_COOKIE: &str = "wid_signin";
/// The name of the CSRF field in every form.
pub const CSRF_FIELD: &str = "csrf";

/// One signed-in session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The token every form of this session carries.
    pub csrf: String,
    /// When it ends (unix seconds).
    pub expires: i64,
}

/// The live sessions, by SHA-256 of their cookie value.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Starts a session; returns the cookie value and the session.
    pub fn create(&self, now: i64, lifetime: i64) -> (String, Session) {
        let id = wid_jose::random_b64url(32);
        let s = Session {
            csrf: wid_jose::random_b64url(32),
            expires: now + lifetime,
        };
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, v| v.expires > now);
        map.insert(wid_jose::sha256_hex(id.as_bytes()), s.clone());
        (id, s)
    }

    /// The session for a cookie value, if it exists and has not ended.
    pub fn get(&self, id: &str, now: i64) -> Option<Session> {
        let key = wid_jose::sha256_hex(id.as_bytes());
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&key) {
            Some(s) if s.expires > now => Some(s.clone()),
            Some(_) => {
                map.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        let key = wid_jose::sha256_hex(id.as_bytes());
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
    }
}

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value with the session cookie's attributes.
pub fn set_cookie(name: &str, value: &str, max_age: i64) -> String {
    format!("{name}={value}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=Strict")
}

/// Compares two strings in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A request from a signed-in user. Without a live session the request is answered with a
/// redirect to the sign-in page.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The cookie value.
    pub id: String,
    /// The session.
    pub session: Session,
}

impl Signed {
    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, form: &FormData) -> Result<(), UiError> {
        match form.get(CSRF_FIELD) {
            Some(t) if same(t, &self.session.csrf) => Ok(()),
            Some(_) => Err(UiError::Csrf(
                "the form's security token is not this session's",
            )),
            None => Err(UiError::Csrf("the form has no security token")),
        }
    }
}

impl FromRequestParts<UiState> for Signed {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, s: &UiState) -> Result<Self, Self::Rejection> {
        let id = cookie(&parts.headers, COOKIE).ok_or(UiError::SignIn)?;
        let session = s.inner.sessions.get(&id, s.now()).ok_or(UiError::SignIn)?;
        Ok(Signed { id, session })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_at_their_time_and_on_removal() {
        let s = Sessions::default();
        let (id, sess) = s.create(1000, 60);
        assert_eq!(sess.expires, 1060);
        assert!(s.get(&id, 1059).is_some());
        assert!(s.get(&id, 1060).is_none());
        let (id2, _) = s.create(2000, 60);
        s.remove(&id2);
        assert!(s.get(&id2, 2001).is_none());
        assert!(s.get("forged", 0).is_none());
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert("cookie", "a=1; wid_session=xyz; b=2".parse().unwrap());
        assert_eq!(cookie(&h, COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
