//! Errors that explain: the AADSTS code, the values the server named, what the client
//! presented, and what to do.

use serde::Deserialize;

/// An error answer of the token service, with the facts around it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
    /// Values quoted in the message: `issuer`, `subject`, `audience`, `client_id`, `tenant`,
    /// `current_time`, `valid_from`, `expiry`.
    pub named: Vec<(&'static str, String)>,
    /// What the client knows: `client_id`, `tenant_id`, `token_file`, `token_file_age`,
    /// the presented assertion's `iss`, `sub`, `aud`, `exp`, and the local time.
    pub context: Vec<(&'static str, String)>,
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

/// The text between `start` and the next `end` in `s`.
fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

impl TokenError {
    /// Reads an error body; a body that is not AADSTS JSON is kept as text.
    pub fn from_body(status: u16, body: &[u8]) -> Self {
        let Ok(b) = serde_json::from_slice::<Body>(body) else {
            return TokenError {
                status,
                error: "unexpected_response".into(),
                message: String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned(),
                ..Default::default()
            };
        };
        let message = b
            .error_description
            .split(" Trace ID:")
            .next()
            .unwrap_or("")
            .split("\r\nTrace ID:")
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let mut named = Vec::new();
        let patterns: [(&str, &str, &str); 13] = [
            ("issuer", "Assertion Issuer: '", "'"),
            ("subject", "Assertion Subject: '", "'"),
            ("audience", "Assertion Audience: '", "'"),
            ("issuer", "presented assertion issuer '", "'"),
            ("subject", "presented assertion subject '", "'"),
            ("audience", "presented assertion audience '", "'"),
            ("client_id", "Application with identifier '", "'"),
            ("tenant", "in the directory '", "'"),
            ("tenant", "Tenant '", "'"),
            ("current_time", "Current time: ", ","),
            ("valid_from", "assertion valid from ", ","),
            ("expiry", "expiry time of assertion ", "."),
            (
                "resource",
                "The resource principal named ",
                " was not found",
            ),
        ];
        for (k, start, end) in patterns {
            if let Some(v) = between(&message, start, end)
                && !named.iter().any(|(n, _)| *n == k)
            {
                named.push((k, v.to_string()));
            }
        }
        TokenError {
            status,
            error: b.error,
            code: b.error_codes.first().copied(),
            message,
            correlation_id: b.correlation_id,
            named,
            context: Vec::new(),
        }
    }

    /// A value the server named.
    pub fn named(&self, k: &str) -> Option<&str> {
        self.named
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.as_str())
    }

    /// A value the client added.
    pub fn context(&self, k: &str) -> Option<&str> {
        self.context
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.as_str())
    }

    /// Adds what the client knows.
    pub fn with_context(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.context.push((k, v.into()));
        self
    }

    /// What to do about it, with the values filled in.
    pub fn remedy(&self) -> String {
        let ctx = |k| self.context(k).unwrap_or("?");
        let list_fics = "`wid identity federated-credential list --identity-name <identity> --resource-group <rg>` (or `az identity federated-credential list`)";
        match self.code {
            Some(70021 | 700211 | 700212 | 700213 | 7002138) => {
                let mut s = format!(
                    "the token presented issuer '{}', subject '{}', audience '{}'; one federated credential of identity {} must have exactly these values. List them with {list_fics}.",
                    self.named("issuer").unwrap_or(ctx("assertion_iss")),
                    self.named("subject").unwrap_or(ctx("assertion_sub")),
                    self.named("audience").unwrap_or(ctx("assertion_aud")),
                    ctx("client_id"),
                );
                if self.code == Some(700211) {
                    s.push_str(" Issuers compare exactly: check the trailing slash (AKS issuers end in '/', GitHub's does not).");
                }
                if self.code == Some(7002138) {
                    s.push_str(" Subjects compare case-sensitively.");
                }
                if self.code == Some(700212) {
                    s.push_str(" The audience is api://AzureADTokenExchange in the public cloud (api://AzureADTokenExchangeUSGov, api://AzureADTokenExchangeChina in sovereign clouds).");
                }
                s
            }
            Some(700024) => format!(
                "the service-account token in {} is {} old and expires at {}; the server's time is {} and this machine's is {}. The kubelet rewrites the file at 80% of its lifetime: check that it does (locally: `wid issuer token --write FILE`), and that the clocks agree.",
                ctx("token_file"),
                ctx("token_file_age"),
                self.named("expiry").unwrap_or("?"),
                self.named("current_time").unwrap_or("?"),
                ctx("local_time"),
            ),
            Some(700016) => format!(
                "no identity has client id '{}' in tenant '{}': use the managed identity's Client ID (not its Principal ID) and its tenant (`wid identity show` or `az identity show` print both).",
                self.named("client_id").unwrap_or(ctx("client_id")),
                self.named("tenant").unwrap_or(ctx("tenant_id")),
            ),
            Some(90002) => format!(
                "tenant '{}' does not exist in this cloud: check AZURE_TENANT_ID / workload_identity_tenant_id and AZURE_AUTHORITY_HOST (--cloud).",
                self.named("tenant").unwrap_or(ctx("tenant_id"))
            ),
            Some(7000215) => "the client secret is wrong: use the secret's value, not its id; for the local administrator it is in $WID_HOME/admin.json".into(),
            Some(50166) => "the issuer's discovery document and JWKS must be reachable by Entra over HTTPS at <issuer>/.well-known/openid-configuration, and the document's `issuer` must be exactly the token's `iss` (trailing slash included)".into(),
            Some(500011) => format!(
                "no resource '{}' exists in the tenant: check the scope (e.g. https://management.azure.com/.default, https://storage.azure.com/.default); for your own API, register it first (`wid ad app create --display-name NAME --identifier-uris api://NAME`, or `az ad app create`)",
                self.named("resource").unwrap_or("?")
            ),
            Some(70011) => "the scope must be `<resource URI>/.default` (https://... or api://...) or `<application id>/.default`".into(),
            Some(9000411 | 9002313) => "send each parameter once and exactly one client credential (a client_assertion, a client_secret, or HTTP Basic), with a body under 64 KiB".into(),
            Some(7000272 | 700027) => "the token's signing key is not in the issuer's JWKS: if the issuer rotated keys, wait for its metadata to update, or mint a new token".into(),
            Some(50027 | 5002730) => format!("the file {} must hold one RS256 JWT exactly as the kubelet writes it (no trailing newline)", ctx("token_file")),
            _ => "see the message above".into(),
        }
    }
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (HTTP {}, {}", self.message, self.status, self.error)?;
        if let Some(c) = &self.correlation_id {
            write!(f, ", correlation id {c}")?;
        }
        write!(f, ")\nhint: {}", self.remedy())
    }
}

/// What can go wrong getting a token.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The token service answered with an error.
    #[error("the token service refused the request: {0}")]
    Token(Box<TokenError>),
    /// The service could not be reached, after retries.
    #[error(
        "cannot reach {url} after {attempts} attempt(s): {detail}\nhint: check the authority (AZURE_AUTHORITY_HOST, --cloud) and the network; for the local stand-in, is `wid up` running?"
    )]
    Unreachable {
        /// The URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last transport error.
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
    /// The credential is not configured in this environment (a chain skips it).
    #[error("{credential} is unavailable: {reason}")]
    Unavailable {
        /// The credential's name.
        credential: &'static str,
        /// Why.
        reason: String,
    },
    /// The projected token file could not be read.
    #[error(
        "cannot read the federated token file {path}: {detail}\nhint: AZURE_FEDERATED_TOKEN_FILE must name the projected service-account token (the workload identity webhook mounts it; locally: `wid issuer token --write FILE`)"
    )]
    TokenFile {
        /// The file.
        path: String,
        /// The OS error.
        detail: String,
    },
    /// A per-call tenant that the credential does not allow.
    #[error(
        "tenant '{requested}' is not allowed: the credential is configured for '{configured}'\nhint: add it to additionally_allowed_tenants (or '*')"
    )]
    TenantNotAllowed {
        /// The requested tenant.
        requested: String,
        /// The configured tenant.
        configured: String,
    },
    /// The managed identity endpoint (IMDS, App Service) answered with an error.
    #[error(
        "{endpoint} answered HTTP {status}: {error}\nhint: the host's managed identity endpoint refused; check that the identity is assigned to this host (VM, node pool, App Service) and that client_id names it"
    )]
    ManagedIdentity {
        /// The endpoint, and where its address came from.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// The answer.
        error: Box<TokenError>,
    },
    /// A configured link of a chain failed: the chain stops there (it never falls through to
    /// the next link), so the error names the link, its endpoint and why earlier links were
    /// skipped.
    #[error(
        "DefaultAzureCredential: {credential} ({endpoint}) failed; the chain stops there.\n{}{error}",
        skipped_lines(skipped)
    )]
    Link {
        /// The link that failed.
        credential: &'static str,
        /// The endpoint it called.
        endpoint: String,
        /// The links before it that were skipped, with why.
        skipped: Vec<crate::LinkAttempt>,
        /// Its error.
        error: Box<CredentialError>,
    },
    /// No link of a chain could get a token: each is listed with why, then what to set.
    #[error("DefaultAzureCredential failed to retrieve a token:\n{0}")]
    Chain(String),
    /// The Azure CLI failed in a way that is not "not signed in".
    #[error(
        "`{command}` failed: {detail}\nhint: run the same command yourself to see the Azure CLI's own message; `az login` signs in again"
    )]
    AzureCli {
        /// The command, without its output.
        command: String,
        /// What went wrong.
        detail: String,
    },
    /// The Azure CLI is signed in to another cloud than the one asked for: no token is asked
    /// of it, so none goes to the wrong cloud.
    #[error(
        "the Azure CLI is signed in to cloud '{cli_cloud}' (as {user}), not to '{wanted}': wid asked it for no token\nhint: sign the CLI in to {wanted}: `az cloud set --name {wanted} && az login`, or run wid with --cloud {cli_cloud}"
    )]
    AzureCliOtherCloud {
        /// The CLI's active cloud.
        cli_cloud: String,
        /// The cloud asked for (`--cloud`).
        wanted: String,
        /// Who the CLI is signed in as.
        user: String,
    },
    /// The Azure CLI returned an expired token, twice.
    #[error(
        "the Azure CLI returned a token for {resource} that expired at {expires_on} (this machine's time is {now}), and again when asked once more\nhint: check this machine's clock; else sign in again: `az account clear && az login`"
    )]
    AzureCliExpired {
        /// The resource.
        resource: String,
        /// When the second token expired (Unix time).
        expires_on: i64,
        /// The local time (Unix time).
        now: i64,
    },
    /// Bad configuration.
    #[error("{0}")]
    Config(String),
}

impl CredentialError {
    /// The AADSTS code, when the token service refused.
    pub fn aadsts(&self) -> Option<u32> {
        match self {
            CredentialError::Token(t) => t.code,
            CredentialError::Link { error, .. } => error.aadsts(),
            _ => None,
        }
    }

    /// The error itself, without the chain's wrapping.
    pub fn root(&self) -> &CredentialError {
        match self {
            CredentialError::Link { error, .. } => error.root(),
            e => e,
        }
    }
}

fn skipped_lines(skipped: &[crate::LinkAttempt]) -> String {
    skipped
        .iter()
        .map(|a| format!("  skipped {}: {}\n", a.credential, a.reason))
        .collect()
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
    fn reads_aadsts_body_and_named_values() {
        let body = br#"{"error":"invalid_request","error_description":"AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: 'https://i/'. Assertion Subject: 'system:serviceaccount:a:b'. Assertion Audience: 'api://AzureADTokenExchange'. https://docs Trace ID: t Correlation ID: c Timestamp: 2025-01-01 00:00:00Z","error_codes":[70021],"correlation_id":"c"}"#;
        let e = TokenError::from_body(400, body).with_context("client_id", "cid");
        assert_eq!(e.code, Some(70021));
        assert_eq!(e.named("issuer"), Some("https://i/"));
        assert_eq!(e.named("subject"), Some("system:serviceaccount:a:b"));
        let shown = e.to_string();
        assert!(
            shown.contains("federated-credential list") && shown.contains("identity cid"),
            "{shown}"
        );
        let raw = TokenError::from_body(502, b"bad gateway");
        assert_eq!(raw.message, "bad gateway");
    }

    #[test]
    fn names_the_missing_resource() {
        let body = br#"{"error":"invalid_resource","error_description":"AADSTS500011: The resource principal named api://orders was not found in the tenant named t. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant. Trace ID: x Correlation ID: c Timestamp: 2025-01-01 00:00:00Z","error_codes":[500011]}"#;
        let e = TokenError::from_body(400, body);
        assert_eq!(e.named("resource"), Some("api://orders"));
        let shown = e.to_string();
        assert!(
            shown.contains("no resource 'api://orders' exists")
                && shown.contains("wid ad app create"),
            "{shown}"
        );
    }
}
