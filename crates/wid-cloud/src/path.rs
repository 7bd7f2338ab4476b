//! Path parameters that never fail to extract: percent-decoded, with invalid UTF-8 replaced.
//! axum's `Path` answers a parameter such as `%FF` with its own plain-text 400, outside the
//! shape of the system the request went to; with [`Segments`] the handler sees the value and
//! answers as its system does (an unknown tenant is AADSTS90002, an unknown identity is ARM's
//! 404, a missing Graph object is Graph's 404).

use std::convert::Infallible;

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;

/// The route's parameters, in the order of the route's template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segments(pub Vec<String>);

impl Segments {
    /// The `i`th parameter, or an empty string.
    pub fn get(&self, i: usize) -> String {
        self.0.get(i).cloned().unwrap_or_default()
    }
}

/// Reads the parameters of `template` (`/{tenant}/oauth2/v2.0/token`) out of `path`.
pub fn params(template: &str, path: &str) -> Vec<String> {
    template
        .split('/')
        .zip(path.split('/'))
        .filter(|(t, _)| t.starts_with('{') && t.ends_with('}'))
        .map(|(_, raw)| {
            percent_encoding::percent_decode_str(raw)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

impl<S: Send + Sync> FromRequestParts<S> for Segments {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        let template = parts
            .extensions
            .get::<MatchedPath>()
            .map(|m| m.as_str().to_string())
            .unwrap_or_default();
        Ok(Segments(params(&template, parts.uri.path())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_replaces_what_is_not_utf8() {
        assert_eq!(
            params("/{tenant}/oauth2/v2.0/token", "/abc%20d/oauth2/v2.0/token"),
            ["abc d"]
        );
        assert_eq!(
            params("/{tenant}/oauth2/token", "/__%a0'/oauth2/token"),
            ["__\u{fffd}'"]
        );
        assert_eq!(
            params(
                "/issuer/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token",
                "/issuer/api/v1/namespaces/a/serviceaccounts/%FF/token"
            ),
            ["a", "\u{fffd}"]
        );
    }
}
