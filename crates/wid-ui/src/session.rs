//! Sessions: made by signing in with the admin key, carried by a signed cookie (any replica
//! sharing the admin key accepts it), `Secure; HttpOnly; SameSite=Strict`, ending at a fixed time.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

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

/// A boxed future, for the object-safe [`EndedSessions`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where signed-out sessions are recorded so that every replica refuses them: the database
/// that the replicas share (`wid up` implements it over its store). Sessions are identified by
/// the SHA-256 of their nonce, never by the cookie.
pub trait EndedSessions: Send + Sync {
    /// Records a session as ended until `expires`.
    fn end(
        &self,
        nonce_sha256: String,
        expires: i64,
        now: i64,
    ) -> BoxFuture<'_, Result<(), String>>;
    /// Whether a session was ended.
    fn is_ended(&self, nonce_sha256: String) -> BoxFuture<'_, Result<bool, String>>;
}

/// The parts of a session cookie, `<expires>.<role>.<nonce>.<mac>`, not yet verified.
struct Cookie<'a> {
    /// What the MAC covers: `<expires>.<role>.<nonce>`.
    body: &'a str,
    mac: &'a str,
    expires: i64,
    role: &'a str,
    nonce: &'a str,
}

impl<'a> Cookie<'a> {
    fn parse(id: &'a str) -> Option<Self> {
        let (body, mac) = id.rsplit_once('.')?;
        let mut parts = body.splitn(3, '.');
        let (expires, role, nonce) = (parts.next()?, parts.next()?, parts.next()?);
        Some(Cookie {
            body,
            mac,
            expires: expires.parse().ok()?,
            role,
            nonce,
        })
    }
}

/// Sessions as signed cookies: `<expires>.<nonce>.<mac>`, the MAC an HMAC-SHA256 under a key
/// derived from the admin key. Any replica sharing the admin key accepts them, so nothing a
/// replica holds is needed by another; rotating the admin key ends every session. The CSRF
/// token is an HMAC of the nonce. Signing out records the cookie as ended until it expires, in
/// this process and, when configured, in the shared [`EndedSessions`] every replica reads.
pub struct Sessions {
    key: aws_lc_rs::hmac::Key,
    ended: Mutex<HashMap<String, i64>>,
    shared: Option<Arc<dyn EndedSessions>>,
}

/// Why a session could not be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStoreError(pub String);

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
            shared: None,
        }
    }

    /// The same, recording sign-outs in `shared` too (every replica reads it).
    pub fn with_shared(mut self, shared: Option<Arc<dyn EndedSessions>>) -> Self {
        self.shared = shared;
        self
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

    /// The session for a cookie value and its nonce, if its MAC is right, it has not expired
    /// and this process did not sign it out (the shared record is not read).
    fn verify<'a>(&self, id: &'a str, now: i64) -> Option<(Session, &'a str)> {
        let c = Cookie::parse(id)?;
        if !same(c.mac, &self.mac(c.body)) || c.expires <= now {
            return None;
        }
        let ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        if ended.contains_key(c.nonce) {
            return None;
        }
        let session = Session {
            csrf: self.mac(&format!("csrf.{}", c.nonce)),
            expires: c.expires,
            admin: c.role == "a",
        };
        Some((session, c.nonce))
    }

    /// The session for a cookie value, if its MAC is right, it has not expired and it was
    /// not signed out, here or on another replica. An error when the shared record cannot be
    /// read (the session is then neither accepted nor sent back to sign-in).
    pub async fn get(&self, id: &str, now: i64) -> Result<Option<Session>, SessionStoreError> {
        let Some((session, nonce)) = self.verify(id, now) else {
            return Ok(None);
        };
        if let Some(shared) = &self.shared {
            let ended = shared
                .is_ended(wid_jose::sha256_hex(nonce.as_bytes()))
                .await
                .map_err(SessionStoreError)?;
            if ended {
                return Ok(None);
            }
        }
        Ok(Some(session))
    }

    /// Ends a session, here and in the shared record.
    pub async fn remove(&self, id: &str, now: i64) -> Result<(), SessionStoreError> {
        // Only a session this key signed is recorded: a forged cookie writes nothing.
        let Some(Cookie { nonce, expires, .. }) =
            Cookie::parse(id).filter(|c| same(c.mac, &self.mac(c.body)))
        else {
            return Ok(());
        };
        {
            let mut ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
            ended.retain(|_, exp| *exp > now);
            ended.insert(nonce.to_string(), expires);
        }
        if let Some(shared) = &self.shared {
            shared
                .end(wid_jose::sha256_hex(nonce.as_bytes()), expires, now)
                .await
                .map_err(SessionStoreError)?;
        }
        Ok(())
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
        let session = s
            .inner
            .sessions
            .get(&id, s.now())
            .await
            .map_err(UiError::from)?
            .ok_or(UiError::SignIn)?;
        Ok(Signed { id, session })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sessions_end_at_their_time_and_on_removal() {
        let s = Sessions::new("widk_a");
        let get = |id: &str, now| {
            let id = id.to_string();
            let s = &s;
            async move { s.get(&id, now).await.unwrap() }
        };
        let (id, sess) = s.create(1060, true);
        let id = id.expose_str().to_string();
        assert_eq!(get(&id, 1059).await.unwrap().csrf, sess.csrf);
        assert!(get(&id, 1059).await.unwrap().admin);
        assert!(get(&id, 1060).await.is_none());
        let (id2, _) = s.create(2060, false);
        let id2 = id2.expose_str().to_string();
        assert!(!get(&id2, 2000).await.unwrap().admin);
        s.remove(&id2, 2000).await.unwrap();
        assert!(get(&id2, 2001).await.is_none());
        assert!(get("forged", 0).await.is_none());
        assert!(get("9999999999.nonce.mac", 0).await.is_none());
    }

    /// The shared record, in memory (`wid up` keeps it in the database).
    #[derive(Default)]
    struct Shared(Mutex<HashMap<String, i64>>, std::sync::atomic::AtomicBool);

    impl EndedSessions for Shared {
        fn end(&self, n: String, expires: i64, _now: i64) -> BoxFuture<'_, Result<(), String>> {
            self.0.lock().unwrap().insert(n, expires);
            Box::pin(async { Ok(()) })
        }
        fn is_ended(&self, n: String) -> BoxFuture<'_, Result<bool, String>> {
            let down = self.1.load(std::sync::atomic::Ordering::SeqCst);
            let r = if down {
                Err("database unreachable".to_string())
            } else {
                Ok(self.0.lock().unwrap().contains_key(&n))
            };
            Box::pin(async move { r })
        }
    }

    #[tokio::test]
    async fn signing_out_on_one_replica_ends_the_session_on_all() {
        let shared = Arc::new(Shared::default());
        let a = Sessions::new("widk_a").with_shared(Some(shared.clone()));
        let b = Sessions::new("widk_a").with_shared(Some(shared.clone()));
        let (id, _) = a.create(1060, true);
        let id = id.expose_str().to_string();
        assert!(b.get(&id, 1001).await.unwrap().is_some());
        a.remove(&id, 1002).await.unwrap();
        assert!(
            b.get(&id, 1003).await.unwrap().is_none(),
            "replica b refuses it"
        );
        let nonce = id.split('.').nth(2).unwrap();
        assert!(
            shared
                .0
                .lock()
                .unwrap()
                .keys()
                .all(|k| k != nonce && k.len() == 64),
            "only the nonce's hash is recorded"
        );
        let (other, _) = a.create(1060, true);
        let other = other.expose_str().to_string();
        shared.1.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(
            b.get(&other, 1003).await.is_err(),
            "an unreadable record is an error"
        );
    }

    #[tokio::test]
    async fn a_session_is_bound_to_the_admin_key_and_its_mac() {
        let (id, sess) = Sessions::new("widk_a").create(1060, false);
        let id = id.expose_str().to_string();
        let replica = Sessions::new("widk_a");
        assert_eq!(
            replica.get(&id, 1001).await.unwrap().unwrap().csrf,
            sess.csrf,
            "another replica accepts it"
        );
        assert!(
            Sessions::new("widk_b")
                .get(&id, 1001)
                .await
                .unwrap()
                .is_none(),
            "a new admin key ends it"
        );
        let (_, nonce_mac) = id.split_once('.').unwrap();
        let longer = format!("99999999999.{nonce_mac}");
        assert!(
            replica.get(&longer, 1001).await.unwrap().is_none(),
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
