//! The pages, one module per resource, and the headers every answer carries.

pub mod connections;
pub mod deployments;
pub mod identities;
pub mod signin;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{Redirect, Response};
use axum::routing::{get, post};

use crate::UiState;
use crate::form::MAX_FORM;

/// The content security policy: only this origin's own style and script, no inline script,
/// no frames. A `<script>` that got into a page could not run even if it were not escaped.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The UI's routes.
pub fn router() -> Router<UiState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/connections") }))
        .route("/_ui/app.css", get(crate::assets::css))
        .route("/_ui/app.js", get(crate::assets::js))
        .route("/signin", get(signin::form).post(signin::submit))
        .route("/signout", post(signin::signout))
        .route("/connections", get(connections::list))
        .route("/connection/export", get(connections::export))
        .route(
            "/connection/add",
            get(connections::add_form).post(connections::add),
        )
        .route(
            "/connections/{conn_id}",
            get(connections::edit_form).post(connections::edit),
        )
        .route(
            "/connections/{conn_id}/delete",
            get(connections::confirm_delete).post(connections::delete),
        )
        .route("/identities", get(identities::list))
        .route(
            "/identities/{rg}/{name}/federated-credentials",
            post(identities::add_credential),
        )
        .route(
            "/identities/{rg}/{name}/federated-credentials/{fic}/delete",
            get(identities::confirm_delete_credential).post(identities::delete_credential),
        )
        .route(
            "/identities/{rg}/{name}/role-assignments",
            post(identities::add_role),
        )
        .route(
            "/identities/role-assignments/delete",
            post(identities::delete_role),
        )
        .route("/deployments", get(deployments::list))
        .route("/deployments/{name}/assign", post(deployments::assign))
        .route("/deployments/{name}/connections", post(deployments::link))
        .route(
            "/deployments/{name}/connections/{conn_id}/delete",
            post(deployments::unlink),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM))
        .layer(axum::middleware::from_fn(headers))
}

/// Security and caching headers on every page.
async fn headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}
