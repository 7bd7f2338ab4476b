//! Helpers for the web UI's tests: a signed-in session over the live server's router
//! (`oneshot`, fast), and reading forms out of pages.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::TestCloud;

/// An answer: status, `Location`, `Set-Cookie` values, body text.
pub struct Page {
    pub status: u16,
    pub location: String,
    pub cookies: Vec<String>,
    pub body: String,
}

/// The value of `name="NAME" value="..."` in a page (the first form field of that name).
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let i = html.find(&needle)? + needle.len();
    let j = html[i..].find('"')? + i;
    Some(html[i..j].to_string())
}

/// A browser-less client of the UI through the server's router.
pub struct UiClient {
    pub router: Router,
    pub cookie: String,
    pub csrf: String,
}

impl UiClient {
    pub fn new(c: &TestCloud) -> Self {
        UiClient {
            router: c.server.as_ref().expect("running").router.clone(),
            cookie: String::new(),
            csrf: String::new(),
        }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        cookie: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Page {
        let mut b = Request::builder().method(method).uri(path);
        if !cookie.is_empty() {
            b = b.header(header::COOKIE, cookie);
        }
        let body = match form {
            Some(f) => {
                b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(serde_urlencoded::to_string(f).unwrap())
            }
            None => Body::empty(),
        };
        let resp = self
            .router
            .clone()
            .oneshot(b.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let cookies = resp
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect();
        let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
            .await
            .unwrap();
        Page {
            status,
            location,
            cookies,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send("GET", path, &self.cookie.clone(), None).await
    }

    /// Posts a form with this session's cookie; `csrf` is added unless the form has one.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let mut f: Vec<(&str, &str)> = form.to_vec();
        if !f.iter().any(|(k, _)| *k == "csrf") {
            f.push(("csrf", &self.csrf));
        }
        self.send("POST", path, &self.cookie.clone(), Some(&f))
            .await
    }

    /// Signs in with `key`; returns the answer to the sign-in post.
    pub async fn sign_in_with(&mut self, key: &str) -> Page {
        let form = self.send("GET", "/signin", "", None).await;
        assert_eq!(form.status, 200);
        let pre = form
            .cookies
            .iter()
            .find(|c| c.starts_with("wid_signin="))
            .expect("sign-in cookie")
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let csrf = input_value(&form.body, "csrf").expect("csrf in the sign-in form");
        let r = self
            .send(
                "POST",
                "/signin",
                &pre,
                Some(&[("csrf", &csrf), ("key", key)]),
            )
            .await;
        if let Some(c) = r.cookies.iter().find(|c| c.starts_with("wid_session=")) {
            self.cookie = c.split(';').next().unwrap().to_string();
            let page = self.get("/connections").await;
            self.csrf = input_value(&page.body, "csrf").unwrap_or_default();
        }
        r
    }

    pub async fn signed_in(c: &TestCloud) -> Self {
        let mut ui = UiClient::new(c);
        let key = admin_key(c);
        let r = ui.sign_in_with(&key).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(!ui.csrf.is_empty());
        ui
    }
}

pub fn admin_key(c: &TestCloud) -> String {
    std::fs::read_to_string(c.home.root().join("api-key"))
        .unwrap()
        .trim()
        .to_string()
}

/// Calls `/api/v2` with the admin key over HTTPS.
pub async fn api(
    c: &TestCloud,
    m: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let (s, _, v) = c.call(m, path, Some(&admin_key(c)), body).await;
    (s, v)
}

/// Stores `n` azure connections `conn_0000...` through the API's bulk route.
pub async fn bulk_connections(c: &TestCloud, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let entities: Vec<Value> = chunk
            .iter()
            .map(|i| json!({"connection_id": format!("conn_{i:04}"), "conn_type": "azure", "description": format!("connection number {i}"), "host": format!("h{i}.example")}))
            .collect();
        let (s, v) = api(
            c,
            reqwest::Method::PATCH,
            "/api/v2/connections",
            Some(&json!({"actions": [{"action": "create", "entities": entities}]})),
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
}
