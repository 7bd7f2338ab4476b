//! What can go wrong in a page, and how each is shown: the facts, and what to do.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use crate::layout;

/// An error a page answers with.
#[derive(Debug)]
pub enum UiError {
    /// No session, or it ended: back to sign-in.
    SignIn,
    /// A form without this session's CSRF token.
    Csrf(&'static str),
    /// A change asked for in a read-only session.
    ReadOnly,
    /// A request the UI cannot read.
    BadRequest(String),
    /// Nothing by that name.
    NotFound(String),
    /// The shared record of signed-out sessions could not be read.
    Sessions(String),
    /// One of wid's own routes answered with an error the page cannot show in place.
    Backend {
        /// What the page was doing.
        doing: String,
        /// The route's status.
        status: u16,
        /// The route's message.
        detail: String,
    },
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UiError::SignIn => write!(f, "sign in first"),
            UiError::Csrf(why) => write!(
                f,
                "{why}; the request was refused and nothing changed. Reload the page and submit the form again"
            ),
            UiError::ReadOnly => write!(
                f,
                "this session is read-only (signed in with an access token); nothing changed. Sign in with the admin key to make changes"
            ),
            UiError::Sessions(why) => write!(
                f,
                "cannot check the session: the database that records signed-out sessions did not answer ({why}); nothing changed. Try again when /readyz answers 200"
            ),
            UiError::BadRequest(m) => write!(f, "{m}"),
            UiError::NotFound(m) => write!(f, "{m}"),
            UiError::Backend {
                doing,
                status,
                detail,
            } => write!(f, "{doing} failed (HTTP {status}): {detail}"),
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status = match &self {
            UiError::SignIn => return Redirect::to("/signin").into_response(),
            UiError::Csrf(_) | UiError::ReadOnly => StatusCode::FORBIDDEN,
            UiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            UiError::NotFound(_) => StatusCode::NOT_FOUND,
            UiError::Backend { .. } => StatusCode::BAD_GATEWAY,
            UiError::Sessions(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        let title = match status {
            StatusCode::FORBIDDEN => "Refused",
            StatusCode::NOT_FOUND => "Not found",
            _ => "Something went wrong",
        };
        let body = html! {
            h1 { (title) }
            p.error role="alert" { (self.to_string()) }
            p { a href="/connections" { "Back to Connections" } }
        };
        (status, layout::bare(title, body)).into_response()
    }
}

impl std::error::Error for UiError {}

impl From<crate::session::SessionStoreError> for UiError {
    fn from(e: crate::session::SessionStoreError) -> Self {
        UiError::Sessions(e.0)
    }
}
