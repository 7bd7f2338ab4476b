//! Signing in with the admin key (`$WID_HOME/api-key`, as Airflow's simple auth manager
//! uses a generated password), and signing out.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use crate::UiState;
use crate::error::UiError;
use crate::form::FormData;
use crate::layout;
use crate::session::{COOKIE, CSRF_FIELD, PRE_COOKIE, Signed, cookie, same, set_cookie};

/// How long the sign-in form stays valid, seconds.
const PRE_LIFETIME: i64 = 1800;

fn page(csrf: &str, error: Option<&str>) -> Markup {
    layout::bare(
        "Sign in",
        html! {
            div.signin {
                h1 { "Sign in to wid" }
                form method="post" action="/signin" {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                    label for="key" { "Admin key" }
                    @if let Some(e) = error {
                        input #key type="password" name="key" autocomplete="current-password" required autofocus aria-invalid="true" aria-describedby="key-help key-error";
                        p.field-error #key-error role="alert" { (e) }
                    } @else {
                        input #key type="password" name="key" autocomplete="current-password" required autofocus aria-describedby="key-help";
                    }
                    p.help #key-help {
                        "The key is in " code { "$WID_HOME/api-key" } " (" code { "wid up" } " prints where)."
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
        && s.inner.sessions.get(&id, s.now()).is_some()
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
    let given = wid_jose::sha256_hex(f.get("key").unwrap_or("").trim().as_bytes());
    let want = wid_jose::sha256_hex(s.config().admin_key.as_bytes());
    if !same(&given, &want) {
        return Ok(with_pre_cookie(
            StatusCode::UNAUTHORIZED,
            Some("That is not the admin key. Copy it from $WID_HOME/api-key."),
        ));
    }
    let lifetime = s.config().session_lifetime;
    let (id, _) = s.inner.sessions.create(s.now(), lifetime);
    let mut resp = Redirect::to("/connections").into_response();
    let h = resp.headers_mut();
    if let Ok(v) = set_cookie(COOKIE, &id, lifetime).parse() {
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
    s.inner.sessions.remove(&signed.id, s.now());
    Ok((
        [(header::SET_COOKIE, set_cookie(COOKIE, "", 0))],
        Redirect::to("/signin"),
    )
        .into_response())
}
