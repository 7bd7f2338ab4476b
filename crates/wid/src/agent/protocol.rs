//! The wire of App Service's managed identity endpoint (api-version 2019-08-01), the form of
//! `ManagedIdentityCredential` that azure-identity (through MSAL) picks when `IDENTITY_ENDPOINT`
//! and `IDENTITY_HEADER` are set:
//!
//! - request: `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=R[&client_id=C |
//!   &mi_res_id=ID | &object_id=O]` with the header `X-IDENTITY-HEADER: {IDENTITY_HEADER}`;
//! - answer: `{"access_token", "expires_on" (Unix seconds, as a string), "resource",
//!   "token_type": "Bearer", "client_id"}`;
//! - refusal: `{"statusCode": N, "message": "...", "correlationId": GUID}` with status N, the
//!   shape App Service answers (MSAL reads `statusCode` and `message` into its error).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The header that carries the secret.
pub const HEADER: &str = "x-identity-header";
/// The one api-version served.
pub const API_VERSION: &str = "2019-08-01";
/// The path the agent serves the protocol at (as App Service and Container Apps do).
pub const TOKEN_PATH: &str = "/msi/token";
/// Longest resource accepted (Entra's identifier URIs are at most 255 characters; a GUID is 36).
const MAX_RESOURCE: usize = 512;

/// Which identity a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// None named: the agent's own (`AZURE_CLIENT_ID`).
    Default,
    /// `client_id`.
    ClientId(String),
    /// `mi_res_id`: an ARM resource id.
    ResourceId(String),
    /// `object_id`: a principal id.
    ObjectId(String),
}

/// A parsed token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenQuery {
    /// The resource, as given.
    pub resource: String,
    /// The identity asked for.
    pub selector: Selector,
}

impl TokenQuery {
    /// The `/.default` scope of the resource: one trailing slash dropped, so that
    /// `https://management.azure.com/` and `https://management.azure.com` share one token.
    pub fn scope(&self) -> String {
        let r = self.resource.strip_suffix('/').unwrap_or(&self.resource);
        format!("{r}/.default")
    }
}

/// Why a request is refused, each with the protocol's status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// No `X-IDENTITY-HEADER`.
    #[error(
        "the request has no X-IDENTITY-HEADER header. hint: send the value of IDENTITY_HEADER that `wid env --agent` prints (azure-identity's ManagedIdentityCredential does so when IDENTITY_ENDPOINT and IDENTITY_HEADER are set)"
    )]
    MissingHeader,
    /// A header that is not this start's secret.
    #[error(
        "the X-IDENTITY-HEADER header does not match this agent's secret; the agent draws a new one at every start. hint: read IDENTITY_HEADER again from the agent's state file (`wid env --agent`), and restart processes that kept the old value"
    )]
    WrongHeader,
    /// No or another api-version.
    #[error(
        "api-version must be {API_VERSION} (given: {0}). hint: the agent speaks App Service's managed identity protocol of {API_VERSION}, as azure-identity sends it"
    )]
    ApiVersion(String),
    /// A parameter given twice.
    #[error("the query parameter '{0}' is given more than once")]
    Duplicate(String),
    /// No resource.
    #[error(
        "the query parameter 'resource' is missing or empty. hint: name the resource the token is for, e.g. resource=https://management.azure.com"
    )]
    MissingResource,
    /// A resource that is neither an absolute URI nor an application id.
    #[error(
        "the resource '{0}' is malformed: give an absolute URI (https://management.azure.com, api://my-api) or an application id (a GUID), without spaces, query, fragment or a /.default suffix"
    )]
    MalformedResource(String),
    /// More than one of client_id, mi_res_id and object_id.
    #[error("give at most one of client_id, mi_res_id and object_id")]
    ConflictingIdentity,
    /// An identity this agent does not hold.
    #[error(
        "Unable to load the proper Managed Identity. {detail} hint: this agent holds the identities with client id {held}; start it with --allow-client-id for another identity federated with the same service account"
    )]
    UnknownIdentity {
        /// What was asked for, and why it is not held.
        detail: String,
        /// The client ids the agent holds.
        held: String,
    },
    /// The token service refused the exchange.
    #[error("the token service refused the exchange for client id {client_id}: {detail}")]
    Refused {
        /// The identity.
        client_id: String,
        /// The credential's explanation (AADSTS code, values, remedy).
        detail: String,
    },
    /// Another path than the protocol's.
    #[error("not found: the agent serves tokens at {0}")]
    NotFound(&'static str),
    /// The token service could not be reached, or failed.
    #[error("the token exchange for client id {client_id} failed: {detail}")]
    Upstream {
        /// The identity.
        client_id: String,
        /// What failed.
        detail: String,
    },
}

impl ProtocolError {
    /// The HTTP status App Service answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingHeader | Self::WrongHeader => StatusCode::UNAUTHORIZED,
            Self::Upstream { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// The refusal body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    status_code: u16,
    message: String,
    correlation_id: String,
}

impl IntoResponse for ProtocolError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ErrorBody {
            status_code: status.as_u16(),
            message: self.to_string(),
            correlation_id: wid_model::ids::new_guid(),
        };
        let mut r = (status, Json(body)).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        r
    }
}

/// The success body.
#[derive(Serialize)]
pub struct TokenBody {
    /// The bearer token.
    pub access_token: String,
    /// Unix expiry, as a string (App Service's form).
    pub expires_on: String,
    /// The resource, as asked.
    pub resource: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// The identity's client id.
    pub client_id: String,
}

impl std::fmt::Debug for TokenBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBody")
            .field("access_token", &"<redacted>")
            .field("expires_on", &self.expires_on)
            .field("resource", &self.resource)
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// Parses the query of a token request (the header is checked before).
pub fn parse(query: Option<&str>) -> Result<TokenQuery, ProtocolError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    let one = |name: &str| -> Result<Option<String>, ProtocolError> {
        let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        match (values.next(), values.next()) {
            (Some(_), Some(_)) => Err(ProtocolError::Duplicate(name.to_string())),
            (v, _) => Ok(v.filter(|v| !v.is_empty()).cloned()),
        }
    };
    match one("api-version")? {
        Some(v) if v == API_VERSION => {}
        Some(v) => return Err(ProtocolError::ApiVersion(format!("'{v}'"))),
        None => return Err(ProtocolError::ApiVersion("none".into())),
    }
    let resource = one("resource")?.ok_or(ProtocolError::MissingResource)?;
    if !well_formed_resource(&resource) {
        return Err(ProtocolError::MalformedResource(printable(&resource)));
    }
    let mut named = Vec::new();
    if let Some(v) = one("client_id")? {
        named.push(Selector::ClientId(v));
    }
    if let Some(v) = one("mi_res_id")? {
        named.push(Selector::ResourceId(v));
    }
    if let Some(v) = one("object_id")? {
        named.push(Selector::ObjectId(v));
    }
    let selector = match named.len() {
        0 => Selector::Default,
        1 => named.remove(0),
        _ => return Err(ProtocolError::ConflictingIdentity),
    };
    Ok(TokenQuery { resource, selector })
}

/// Whether `resource` names a resource the way Entra parses one: an absolute URI
/// (`scheme://host...`) or an application id, with nothing that would change the scope it
/// becomes (a space would add a second scope).
fn well_formed_resource(resource: &str) -> bool {
    if resource.len() > MAX_RESOURCE
        || resource
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#')
    {
        return false;
    }
    let trimmed = resource.strip_suffix('/').unwrap_or(resource);
    if trimmed.ends_with("/.default") {
        return false;
    }
    wid_model::ids::is_guid(trimmed)
        || (trimmed.contains("://")
            && wid_model::resources::is_well_formed_scope(&format!("{trimmed}/.default")))
}

/// A value for an error message: at most 100 characters, control characters escaped.
fn printable(s: &str) -> String {
    let mut out: String = s.chars().take(100).flat_map(char::escape_debug).collect();
    if s.chars().count() > 100 {
        out.push_str("...");
    }
    out
}

/// Compares the presented header with the secret in time independent of where they differ.
pub fn header_matches(presented: &[u8], secret: &[u8]) -> bool {
    if presented.len() != secret.len() {
        return false;
    }
    presented
        .iter()
        .zip(secret)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Result<TokenQuery, ProtocolError> {
        parse(Some(s))
    }

    #[test]
    fn query_rules() {
        let ok =
            q("api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com%2F").unwrap();
        assert_eq!(ok.resource, "https://management.azure.com/");
        assert_eq!(ok.scope(), "https://management.azure.com/.default");
        assert_eq!(ok.selector, Selector::Default);
        let ok = q("api-version=2019-08-01&resource=api://wid&client_id=abc").unwrap();
        assert_eq!(ok.selector, Selector::ClientId("abc".into()));
        assert_eq!(ok.scope(), "api://wid/.default");
        let guid = "797f4846-ba00-4fd7-ba43-dac1f8f63013";
        assert_eq!(
            q(&format!("api-version=2019-08-01&resource={guid}"))
                .unwrap()
                .scope(),
            format!("{guid}/.default")
        );
        assert_eq!(
            q("resource=https://x").unwrap_err(),
            ProtocolError::ApiVersion("none".into())
        );
        assert_eq!(
            q("api-version=2017-09-01&resource=https://x").unwrap_err(),
            ProtocolError::ApiVersion("'2017-09-01'".into())
        );
        assert_eq!(
            q("api-version=2019-08-01").unwrap_err(),
            ProtocolError::MissingResource
        );
        assert_eq!(
            q("api-version=2019-08-01&resource=").unwrap_err(),
            ProtocolError::MissingResource
        );
        assert_eq!(
            q("api-version=2019-08-01&resource=https://x&resource=https://y").unwrap_err(),
            ProtocolError::Duplicate("resource".into())
        );
        assert_eq!(
            q("api-version=2019-08-01&resource=https://x&client_id=a&object_id=b").unwrap_err(),
            ProtocolError::ConflictingIdentity
        );
        for bad in [
            "management",
            "https://",
            "https://x/.default",
            "https://x%20https://y",
            "https://x?a=b",
            "https://x%0a",
            "://x",
            "1https://x",
        ] {
            assert!(
                matches!(
                    q(&format!("api-version=2019-08-01&resource={bad}")),
                    Err(ProtocolError::MalformedResource(_))
                ),
                "{bad}"
            );
        }
        let long = "a".repeat(600);
        let e = q(&format!("api-version=2019-08-01&resource=https://{long}")).unwrap_err();
        assert!(e.to_string().contains("..."), "{e}");
    }

    #[test]
    fn statuses_and_header_comparison() {
        assert_eq!(ProtocolError::MissingHeader.status(), 401);
        assert_eq!(ProtocolError::WrongHeader.status(), 401);
        assert_eq!(ProtocolError::MissingResource.status(), 400);
        assert!(header_matches(b"abc", b"abc"));
        assert!(!header_matches(b"abd", b"abc"));
        assert!(!header_matches(b"ab", b"abc"));
    }

    #[test]
    fn token_body_debug_redacts() {
        let b = TokenBody {
            access_token: "eyJsecret".into(),
            expires_on: "1".into(),
            resource: "r".into(),
            token_type: "Bearer",
            client_id: "c".into(),
        };
        assert!(!format!("{b:?}").contains("eyJsecret"));
    }
}
