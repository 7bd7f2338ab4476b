//! Token errors that explain: the AADSTS code, the server's message, and what to do.

use serde::Deserialize;

/// An error answer of the token service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    /// HTTP status.
    pub status: u16,
    /// OAuth `error`.
    pub error: String,
    /// The first AADSTS code, if any.
    pub code: Option<u32>,
    /// `error_description` up to the trace id.
    pub message: String,
    /// `correlation_id`.
    pub correlation_id: Option<String>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<u32>,
    #[serde(default)]
    correlation_id: Option<String>,
}

impl TokenError {
    /// Reads an error body; a body that is not AADSTS JSON is kept as text.
    pub fn from_body(status: u16, body: &[u8]) -> Self {
        match serde_json::from_slice::<Body>(body) {
            Ok(b) => {
                let message = b
                    .error_description
                    .split(" Trace ID:")
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                let message = message
                    .split("\r\nTrace ID:")
                    .next()
                    .unwrap_or("")
                    .to_string();
                TokenError {
                    status,
                    error: b.error,
                    code: b.error_codes.first().copied(),
                    message,
                    correlation_id: b.correlation_id,
                }
            }
            Err(_) => TokenError {
                status,
                error: "unexpected_response".into(),
                code: None,
                message: String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned(),
                correlation_id: None,
            },
        }
    }

    /// What to do about it.
    pub fn remedy(&self) -> &'static str {
        match self.code {
            Some(70021 | 700211 | 700212 | 700213) => {
                "compare the presented issuer, subject and audience with the identity's federated credentials (`wid identity federated-credential list --identity-name <name> --resource-group <rg>`); the issuer must match exactly, trailing slash included"
            }
            Some(7002138) => {
                "subjects are compared case-sensitively: re-create the federated credential with the subject exactly as the token carries it"
            }
            Some(700024) => {
                "the projected token is expired or not yet valid: keep the token file fresh (`wid issuer token --write FILE`) and check the clocks"
            }
            Some(700016) => {
                "check the client id (the identity's Client ID, not its Principal ID) and the tenant"
            }
            Some(90002) => "check the tenant id and the cloud (`--cloud`, AZURE_AUTHORITY_HOST)",
            Some(7000215) => {
                "the client secret is wrong: check the value (not the secret id); for the local administrator it is in $WID_HOME/admin.json"
            }
            Some(50166) => {
                "the issuer's discovery document or JWKS could not be fetched: it must be reachable over HTTPS"
            }
            _ => "see the message above",
        }
    }
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (HTTP {}, {})", self.message, self.status, self.error)?;
        if let Some(c) = &self.correlation_id {
            write!(f, ", correlation id {c}")?;
        }
        write!(f, "\nhint: {}", self.remedy())
    }
}

/// What can go wrong getting a token.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The token service answered with an error.
    #[error("the token service refused the request: {0}")]
    Token(TokenError),
    /// The token service could not be reached.
    #[error(
        "cannot reach the token service at {url}: {detail}\nhint: is `wid up` running, and does WID_ENDPOINT / AZURE_AUTHORITY_HOST point at it?"
    )]
    Unreachable {
        /// The URL.
        url: String,
        /// The transport error.
        detail: String,
    },
    /// The answer was not a token response.
    #[error("unexpected response from {url}: {detail}")]
    UnexpectedResponse {
        /// The URL.
        url: String,
        /// What was wrong.
        detail: String,
    },
}

/// An error and its sources, joined.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_aadsts_body() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS700213: No matching federated identity record found for presented assertion subject 'system:serviceaccount:a:b'. Check ... Trace ID: t Correlation ID: c Timestamp: 2025-01-01 00:00:00Z","error_codes":[700213],"correlation_id":"c"}"#;
        let e = TokenError::from_body(401, body);
        assert_eq!(e.code, Some(700213));
        assert!(e.message.ends_with("Check ..."), "{}", e.message);
        let shown = e.to_string();
        assert!(
            shown.contains("system:serviceaccount:a:b")
                && shown.contains("federated-credential list"),
            "{shown}"
        );
        let raw = TokenError::from_body(502, b"bad gateway");
        assert_eq!(raw.message, "bad gateway");
    }
}
