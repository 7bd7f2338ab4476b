//! Sessions: made by signing in with the admin key, carried by a signed cookie (any replica
//! sharing the admin key accepts it), `Secure; HttpOnly; SameSite=Strict`, ending at a fixed time.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use wid_model::secret::Secret;

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
    /// Signed in with the admin key (else with a token for `api://wid`: read-only).
    pub admin: bool,
}

/// Sessions as signed cookies: `<expires>.<nonce>.<mac>`, the MAC an HMAC-SHA256 under a key
/// derived from the admin key. Any replica sharing the admin key accepts them, so nothing a
/// replica holds is needed by another; rotating the admin key ends every session. The CSRF
/// token is an HMAC of the nonce. Signing out records the cookie as ended until it expires
/// (in this process: behind several replicas the cookie is also cleared in the browser).
pub struct Sessions {
    key: aws_lc_rs::hmac::Key,
    ended: Mutex<HashMap<String, i64>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl Sessions {
    /// Sessions signed with a key derived from `admin_key`.
    pub fn new(admin_key: &str) -> Self {
        let seed = wid_jose::sha256_hex(format!("wid-ui session v1\0{admin_key}").as_bytes());
        Sessions {
            key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, seed.as_bytes()),
            ended: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self, data: &str) -> String {
        wid_jose::b64url(aws_lc_rs::hmac::sign(&self.key, data.as_bytes()).as_ref())
    }

    /// Starts a session ending at `expires`; returns the cookie value (the session id, a
    /// secret) and the session.
    pub fn create(&self, expires: i64, admin: bool) -> (Secret, Session) {
        let nonce = wid_jose::random_b64url(24);
        let role = if admin { "a" } else { "r" };
        let body = format!("{expires}.{role}.{nonce}");
        let id = Secret::from(format!("{body}.{}", self.mac(&body)));
        let csrf = self.mac(&format!("csrf.{nonce}"));
        (
            id,
            Session {
                csrf,
                expires,
                admin,
            },
        )
    }

    /// The session for a cookie value, if its MAC is right, it has not expired and it was
    /// not signed out.
    pub fn get(&self, id: &str, now: i64) -> Option<Session> {
        let (body, mac) = id.rsplit_once('.')?;
        let mut parts = body.splitn(3, '.');
        let (expires, role, nonce) = (parts.next()?, parts.next()?, parts.next()?);
        let expires: i64 = expires.parse().ok()?;
        if !same(mac, &self.mac(body)) || expires <= now {
            return None;
        }
        let ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        if ended.contains_key(nonce) {
            return None;
        }
        Some(Session {
            csrf: self.mac(&format!("csrf.{nonce}")),
            expires,
            admin: role == "a",
        })
    }

    /// Ends a session.
    pub fn remove(&self, id: &str, now: i64) {
        let Some((body, _)) = id.rsplit_once('.') else {
            return;
        };
        let mut parts = body.splitn(3, '.');
        let (Some(expires), Some(_), Some(nonce)) = (parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        let mut ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        ended.retain(|_, exp| *exp > now);
        ended.insert(nonce.to_string(), expires.parse().unwrap_or(now));
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
    /// Refuses a change: a form whose CSRF token is not this session's, or any change in a
    /// read-only session.
    pub fn check_write(&self, form: &FormData) -> Result<(), UiError> {
        self.check_csrf(form)?;
        if !self.session.admin {
            return Err(UiError::ReadOnly);
        }
        Ok(())
    }

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
        let s = Sessions::new("widk_a");
        let (id, sess) = s.create(1060, true);
        assert_eq!(s.get(id.expose_str(), 1059).unwrap().csrf, sess.csrf);
        assert!(s.get(id.expose_str(), 1059).unwrap().admin);
        assert!(s.get(id.expose_str(), 1060).is_none());
        let (id2, _) = s.create(2060, false);
        assert!(!s.get(id2.expose_str(), 2000).unwrap().admin);
        s.remove(id2.expose_str(), 2000);
        assert!(s.get(id2.expose_str(), 2001).is_none());
        assert!(s.get("forged", 0).is_none());
        assert!(s.get("9999999999.nonce.mac", 0).is_none());
    }

    #[test]
    fn a_session_is_bound_to_the_admin_key_and_its_mac() {
        let (id, sess) = Sessions::new("widk_a").create(1060, false);
        let replica = Sessions::new("widk_a");
        assert_eq!(
            replica.get(id.expose_str(), 1001).unwrap().csrf,
            sess.csrf,
            "another replica accepts it"
        );
        assert!(
            Sessions::new("widk_b").get(id.expose_str(), 1001).is_none(),
            "a new admin key ends it"
        );
        let (_, nonce_mac) = id.expose_str().split_once('.').unwrap();
        let longer = format!("99999999999.{nonce_mac}");
        assert!(
            replica.get(&longer, 1001).is_none(),
            "the expiry cannot be extended"
        );
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
