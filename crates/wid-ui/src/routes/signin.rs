//! Signing in with the admin key (`$WID_HOME/api-key`, as Airflow's simple auth manager
//! uses a generated password), and signing out.

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use crate::UiState;
use crate::backend::Payload;
use crate::error::UiError;
use crate::form::FormData;
use crate::layout;
use crate::session::{COOKIE, CSRF_FIELD, PRE_COOKIE, Signed, cookie, same, set_cookie};
use crate::test_run::claims;

/// How long the sign-in form stays valid, seconds.
const PRE_LIFETIME: i64 = 1800;
/// Longest access token accepted at sign-in, bytes.
const MAX_TOKEN: usize = 16 * 1024;

fn page(csrf: &str, error: Option<&str>) -> Markup {
    layout::bare(
        "Sign in",
        html! {
            div.signin {
                h1 { "Sign in to wid" }
                form method="post" action="/signin" {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                    label for="key" { "Admin key or access token" }
                    @if let Some(e) = error {
                        input #key type="password" name="key" autocomplete="current-password" required autofocus aria-invalid="true" aria-describedby="key-help key-error";
                        p.field-error #key-error role="alert" { (e) }
                    } @else {
                        input #key type="password" name="key" autocomplete="current-password" required autofocus aria-describedby="key-help";
                    }
                    p.help #key-help {
                        "The admin key is in " code { "$WID_HOME/api-key" } " (" code { "wid up" } " prints where). An access token for " code { "api://wid" } " gives read-only pages."
                    }
                    div.buttons { button.primary type="submit" { "Sign in" } }
                }
            }
        },
    )
}

fn with_pre_cookie(status: StatusCode, error: Option<&str>) -> Response {
    let csrf = wid_jose::random_b64url(24);
    (
        status,
        [(
            header::SET_COOKIE,
            set_cookie(PRE_COOKIE, &csrf, PRE_LIFETIME),
        )],
        page(&csrf, error),
    )
        .into_response()
}

/// `GET /signin`.
pub async fn form(State(s): State<UiState>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie(&headers, COOKIE)
        && matches!(s.inner.sessions.get(&id, s.now()).await, Ok(Some(_)))
    {
        return Redirect::to("/connections").into_response();
    }
    with_pre_cookie(StatusCode::OK, None)
}

/// `POST /signin`.
pub async fn submit(
    State(s): State<UiState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let f = FormData::parse(&body)?;
    match (cookie(&headers, PRE_COOKIE), f.get(CSRF_FIELD)) {
        (Some(c), Some(t)) if same(&c, t) => {}
        (_, None) => return Err(UiError::Csrf("the sign-in form has no security token")),
        _ => {
            return Err(UiError::Csrf(
                "the sign-in form's security token does not match this browser's",
            ));
        }
    }
    let key = f.get("key").unwrap_or("").trim();
    let now = s.now();
    let lifetime = s.config().session_lifetime;
    let given = wid_jose::sha256_hex(key.as_bytes());
    let want = wid_jose::sha256_hex(s.config().admin_key.expose().as_bytes());
    let (expires, admin) = if same(&given, &want) {
        (now + lifetime, true)
    } else if key.contains('.') && key.len() <= MAX_TOKEN {
        // An access token for api://wid: the API decides whether it is valid; the session
        // is read-only and ends when the token does.
        let r = s
            .call(
                Method::GET,
                "/api/v2/connections?limit=1",
                Some(key),
                Payload::None,
            )
            .await?;
        if !r.ok() {
            let msg = format!(
                "That is not the admin key, and the API refused it as an access token: {}",
                r.detail()
            );
            return Ok(with_pre_cookie(StatusCode::UNAUTHORIZED, Some(&msg)));
        }
        let exp = claims(key)
            .into_iter()
            .find(|(k, _)| k == "exp")
            .and_then(|(_, v)| v.parse::<i64>().ok())
            .unwrap_or(now);
        (exp.min(now + lifetime), false)
    } else {
        return Ok(with_pre_cookie(
            StatusCode::UNAUTHORIZED,
            Some(
                "That is not the admin key. Copy it from $WID_HOME/api-key, or paste an access token for api://wid for read-only pages.",
            ),
        ));
    };
    let (id, _) = s.inner.sessions.create(expires, admin);
    let lifetime = expires - now;
    let mut resp = Redirect::to("/connections").into_response();
    let h = resp.headers_mut();
    if let Ok(v) = set_cookie(COOKIE, id.expose_str(), lifetime).parse() {
        h.append(header::SET_COOKIE, v);
    }
    if let Ok(v) = set_cookie(PRE_COOKIE, "", 0).parse() {
        h.append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `POST /signout`.
pub async fn signout(
    State(s): State<UiState>,
    signed: Signed,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    signed.check_csrf(&FormData::parse(&body)?)?;
    s.inner.sessions.remove(&signed.id, s.now()).await?;
    Ok((
        [(header::SET_COOKIE, set_cookie(COOKIE, "", 0))],
        Redirect::to("/signin"),
    )
        .into_response())
}
