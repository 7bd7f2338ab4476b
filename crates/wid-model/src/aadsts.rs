//! The AADSTS catalogue: every error that the stand-in token service returns, with the real
//! code, OAuth `error` value, HTTP status and message text of Microsoft Entra ID.
//!
//! Texts follow `shared/reference/entra-protocol.md` (observed responses). Each variant
//! carries the values that the message names, so the wire text and the client-side
//! explanation are built from the same facts.

use crate::time_fmt::aadsts_instant;

const WIF_DOC: &str = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation";
const WIF_DOC_OLD: &str =
    "https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation";

/// An error of the Entra token service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aadsts {
    /// 70021: no federated credential at all matches (the identity has none, or none of the
    /// three values match).
    NoMatchingFederatedRecord {
        /// `iss` of the assertion.
        issuer: String,
        /// `sub` of the assertion.
        subject: String,
        /// `aud` of the assertion (first value).
        audience: String,
    },
    /// 700211: no federated credential has the assertion's issuer.
    NoMatchingIssuer {
        /// `iss` of the assertion.
        issuer: String,
    },
    /// 700212: issuer and subject match, the audience does not.
    NoMatchingAudience {
        /// `aud` of the assertion.
        audience: String,
    },
    /// 700213: the issuer matches, no credential has the subject.
    NoMatchingSubject {
        /// `sub` of the assertion.
        subject: String,
    },
    /// 7002138: the subject matches only when case is ignored.
    SubjectCaseMismatch {
        /// `sub` of the assertion.
        subject: String,
    },
    /// 700024: the assertion is outside its validity window.
    AssertionTimeRange {
        /// The server's time.
        now: i64,
        /// `nbf` (0 if absent).
        not_before: i64,
        /// `exp`.
        expires: i64,
    },
    /// 70023: `iat` missing or the lifetime exceeds 25 hours.
    AssertionLifetime {
        /// `iat` (0 if absent).
        issued_at: i64,
        /// `exp`.
        expires: i64,
    },
    /// 50166: the issuer's discovery document or JWKS could not be fetched.
    ExternalOidcEndpointFailed {
        /// What went wrong, kept for logs; not part of the wire message.
        detail: String,
    },
    /// 7000272: the assertion's `kid` is not in the issuer's JWKS.
    SigningKeyNotFound {
        /// The `kid` of the assertion header.
        kid: String,
        /// The issuer whose metadata was searched.
        issuer: String,
    },
    /// 700027: the signature does not verify with the key the `kid` names.
    InvalidSignature,
    /// 700027: an application's client assertion names (`x5t`) a certificate the application
    /// does not have.
    CertificateNotFound {
        /// The certificate's SHA-1 thumbprint, upper-case hex, as Entra prints it.
        thumbprint: String,
        /// The application's client id.
        client_id: String,
    },
    /// 50027: not a JWT, or a JWT without the claims a client assertion needs.
    MalformedJwt,
    /// 5002730: the assertion is not signed with RS256.
    UnsupportedSigningAlgorithm,
    /// 700222: Entra-issued tokens can't be used as federated assertions.
    AadIssuedAssertion,
    /// 700016: no application or managed identity with this client id in the tenant.
    ApplicationNotFound {
        /// The `client_id` sent.
        client_id: String,
        /// The tenant of the request path.
        tenant: String,
    },
    /// 90002: the tenant in the path does not exist.
    TenantNotFound {
        /// The tenant of the request path.
        tenant: String,
    },
    /// 1002012: a client-credentials scope without `/.default`.
    ScopeNotDefault {
        /// The scope sent.
        scope: String,
    },
    /// 28000: scopes for more than one resource.
    ScopeMultipleResources,
    /// 901002: `resource` sent to the v2 endpoint.
    ResourceNotSupportedOnV2,
    /// 900144: a required body parameter is missing.
    MissingParameter {
        /// The parameter's name.
        name: &'static str,
    },
    /// 7000218: neither `client_assertion` nor `client_secret`.
    MissingClientCredential,
    /// 7000215: wrong client secret.
    InvalidClientSecret {
        /// The client id the secret was presented for.
        client_id: String,
    },
    /// 70003: a grant type other than `client_credentials`.
    UnsupportedGrantType {
        /// The grant type sent.
        grant_type: String,
    },
    /// 700023 (invalid_request): `client_assertion_type` is not jwt-bearer.
    InvalidClientAssertionType {
        /// The value sent.
        value: String,
    },
    /// 90033: the service failed for a moment (its store did not answer); retry.
    TransientError,
    /// 7000112: a client secret was sent for a managed identity, which has none.
    ManagedIdentitySecretNotAllowed {
        /// The client id.
        client_id: String,
    },
    /// 500011: no resource principal with this identifier URI or application id in the
    /// tenant.
    ResourceNotFound {
        /// The resource as requested (`scope` without `/.default`, or `resource`).
        resource: String,
        /// The tenant of the request path.
        tenant: String,
    },
    /// 70011: a `scope` value that is neither an absolute URI nor `<GUID>/<permission>`.
    InvalidScope {
        /// The `scope` parameter as sent.
        scope: String,
    },
    /// 9000411: a parameter given more than once (RFC 6749 §3.2).
    DuplicateParameter {
        /// The parameter's name.
        name: String,
    },
    /// 9002313 (invalid_request): more than one client authentication method in one request
    /// (RFC 6749 §2.3), e.g. `client_secret` beside `client_assertion`, or HTTP Basic beside
    /// either.
    MultipleClientAuthentication {
        /// The methods presented, in the request's order of checking.
        methods: Vec<&'static str>,
    },
    /// 9002313 with HTTP 413: the request body is over the token service's size limit.
    RequestTooLarge {
        /// The limit, bytes.
        limit: usize,
    },
}

/// The value of `client_assertion_type` for a JWT client assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Issuers of Entra-issued tokens, refused as federated assertion issuers (700222).
pub const AAD_ISSUER_HOSTS: [&str; 4] = [
    "login.microsoftonline.com",
    "login.windows.net",
    "login.microsoft.com",
    "sts.windows.net",
];

impl Aadsts {
    /// The numeric AADSTS code.
    pub fn code(&self) -> u32 {
        use Aadsts::*;
        match self {
            NoMatchingFederatedRecord { .. } => 70021,
            NoMatchingIssuer { .. } => 700211,
            NoMatchingAudience { .. } => 700212,
            NoMatchingSubject { .. } => 700213,
            SubjectCaseMismatch { .. } => 7002138,
            AssertionTimeRange { .. } => 700024,
            AssertionLifetime { .. } => 70023,
            ExternalOidcEndpointFailed { .. } => 50166,
            SigningKeyNotFound { .. } => 7000272,
            InvalidSignature | CertificateNotFound { .. } => 700027,
            MalformedJwt => 50027,
            UnsupportedSigningAlgorithm => 5002730,
            AadIssuedAssertion => 700222,
            ApplicationNotFound { .. } => 700016,
            TenantNotFound { .. } => 90002,
            ScopeNotDefault { .. } => 1002012,
            ScopeMultipleResources => 28000,
            ResourceNotSupportedOnV2 => 901002,
            MissingParameter { .. } => 900144,
            MissingClientCredential => 7000218,
            InvalidClientSecret { .. } => 7000215,
            UnsupportedGrantType { .. } => 70003,
            InvalidClientAssertionType { .. } => 700023,
            TransientError => 90033,
            ManagedIdentitySecretNotAllowed { .. } => 7000112,
            ResourceNotFound { .. } => 500011,
            InvalidScope { .. } => 70011,
            DuplicateParameter { .. } => 9000411,
            MultipleClientAuthentication { .. } | RequestTooLarge { .. } => 9002313,
        }
    }

    /// The OAuth `error` value.
    pub fn error(&self) -> &'static str {
        use Aadsts::*;
        match self {
            NoMatchingIssuer { .. }
            | NoMatchingAudience { .. }
            | NoMatchingSubject { .. }
            | SubjectCaseMismatch { .. }
            | AssertionTimeRange { .. }
            | SigningKeyNotFound { .. }
            | InvalidSignature
            | CertificateNotFound { .. }
            | MissingClientCredential
            | InvalidClientSecret { .. }
            | ManagedIdentitySecretNotAllowed { .. } => "invalid_client",
            ApplicationNotFound { .. } => "unauthorized_client",
            TenantNotFound { .. } => "invalid_tenant",
            ScopeNotDefault { .. } | ScopeMultipleResources | InvalidScope { .. } => {
                "invalid_scope"
            }
            ResourceNotFound { .. } => "invalid_resource",
            UnsupportedGrantType { .. } => "unsupported_grant_type",
            TransientError => "temporarily_unavailable",
            NoMatchingFederatedRecord { .. }
            | AssertionLifetime { .. }
            | ExternalOidcEndpointFailed { .. }
            | MalformedJwt
            | UnsupportedSigningAlgorithm
            | AadIssuedAssertion
            | ResourceNotSupportedOnV2
            | MissingParameter { .. }
            | InvalidClientAssertionType { .. }
            | DuplicateParameter { .. }
            | MultipleClientAuthentication { .. }
            | RequestTooLarge { .. } => "invalid_request",
        }
    }

    /// The HTTP status: 401 for `invalid_client`, 503 for a transient error, 413 for an
    /// oversized request, 400 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Aadsts::TransientError => return 503,
            Aadsts::RequestTooLarge { .. } => return 413,
            _ => {}
        }
        if self.error() == "invalid_client" {
            401
        } else {
            400
        }
    }

    /// The message as Entra writes it, starting with `AADSTS<code>: `.
    pub fn message(&self) -> String {
        use Aadsts::*;
        let body = match self {
            NoMatchingFederatedRecord { issuer, subject, audience } => format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{audience}'. {WIF_DOC_OLD}"
            ),
            NoMatchingIssuer { issuer } => format!(
                "No matching federated identity record found for presented assertion issuer '{issuer}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. {WIF_DOC_OLD}"
            ),
            NoMatchingAudience { audience } => format!(
                "No matching federated identity record found for presented assertion audience '{audience}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. {WIF_DOC_OLD}"
            ),
            NoMatchingSubject { subject } => format!(
                "No matching federated identity record found for presented assertion subject '{subject}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. {WIF_DOC}"
            ),
            SubjectCaseMismatch { subject } => format!(
                "No matching federated identity record found for presented assertion subject '{subject}'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. See documentation at: {WIF_DOC}. See breaking change notification and remediation at: https://learn.microsoft.com/en-us/entra/identity-platform/reference-breaking-changes#august-2024."
            ),
            AssertionTimeRange { now, not_before, expires } => format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials",
                aadsts_instant(*now),
                aadsts_instant(*not_before),
                aadsts_instant(*expires)
            ),
            AssertionLifetime { issued_at, expires } => format!(
                "External OIDC Provider token must have a lifetime of less than or equal to 1.01:00:00. Token issued at {issued_at}. Token expires on {expires}."
            ),
            ExternalOidcEndpointFailed { .. } => "Request to External OIDC endpoint failed.".to_string(),
            SigningKeyNotFound { kid, issuer } => format!(
                "The certificate with identifier {kid} used to sign the federated credential could not be found in the metadata of identity provider {issuer}. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token."
            ),
            InvalidSignature => "Client assertion failed signature validation.".to_string(),
            CertificateNotFound { thumbprint, client_id } => format!(
                "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{client_id}'.]"
            ),
            MalformedJwt => "JWT token is invalid or malformed.".to_string(),
            UnsupportedSigningAlgorithm => {
                "Invalid JWT token. Unsupported key for the signing algorithm.".to_string()
            }
            AadIssuedAssertion => {
                "AAD-issued tokens may not be used for federated identity flows.".to_string()
            }
            ApplicationNotFound { client_id, tenant } => format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
            TenantNotFound { tenant } => format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
            ScopeNotDefault { scope } => format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
            ScopeMultipleResources => "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope values must all be for the same resource.".to_string(),
            ResourceNotSupportedOnV2 => "The 'resource' request parameter isn't supported.".to_string(),
            MissingParameter { name } => {
                format!("The request body must contain the following parameter: '{name}'.")
            }
            MissingClientCredential => "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".to_string(),
            InvalidClientSecret { client_id } => format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
            UnsupportedGrantType { grant_type } => {
                format!("The app requested an unsupported grant type '{grant_type}'.")
            }
            InvalidClientAssertionType { value } => format!(
                "Client assertion type '{value}' is not supported. The client_assertion_type must be '{JWT_BEARER}'."
            ),
            ManagedIdentitySecretNotAllowed { client_id } => format!(
                "Client '{client_id}' is a managed identity and has no client secret. Present a federated client assertion instead."
            ),
            TransientError => "A transient error has occurred. Please try again.".to_string(),
            ResourceNotFound { resource, tenant } => format!(
                "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
            InvalidScope { scope } => format!(
                "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid. The scope format is invalid. Scope must be in a valid URI form <https://example/scope> or a valid Guid <guid/scope>."
            ),
            DuplicateParameter { name } => format!(
                "The request is not properly formatted. The parameter '{name}' is duplicated."
            ),
            MultipleClientAuthentication { methods } => format!(
                "Invalid request. Request is malformed or invalid. The request presents more than one client authentication method ({}); send exactly one.",
                methods.join(", ")
            ),
            RequestTooLarge { limit } => format!(
                "Invalid request. Request is malformed or invalid. The request body is larger than {limit} bytes."
            ),
        };
        format!("AADSTS{}: {}", self.code(), body)
    }

    /// What a user should do about it, in plain words; used by wid's own clients.
    pub fn remedy(&self) -> &'static str {
        use Aadsts::*;
        match self {
            NoMatchingFederatedRecord { .. }
            | NoMatchingIssuer { .. }
            | NoMatchingSubject { .. }
            | NoMatchingAudience { .. } => {
                "compare the presented issuer, subject and audience with the identity's federated credentials (`wid identity federated-credential list --identity-name <name> --resource-group <rg>`); the issuer must match exactly, trailing slash included"
            }
            SubjectCaseMismatch { .. } => {
                "subjects are compared case-sensitively: re-create the federated credential with the subject exactly as the token carries it"
            }
            AssertionTimeRange { .. } => {
                "the projected service-account token is expired or not yet valid: make sure the token file is rewritten before it expires (`wid issuer token --write FILE`) and that the clocks agree"
            }
            AssertionLifetime { .. } => {
                "the issuer must put `iat` in its tokens and keep their lifetime at or under 25 hours"
            }
            ExternalOidcEndpointFailed { .. } => {
                "the issuer's discovery document and JWKS must be reachable over HTTPS at <issuer>/.well-known/openid-configuration"
            }
            SigningKeyNotFound { .. } | InvalidSignature => {
                "the token must be signed by a key published in the issuer's JWKS; if the issuer rotated its keys, publish the new key"
            }
            CertificateNotFound { .. } => {
                "sign the client assertion with a certificate registered on the application (AZURE_CLIENT_CERTIFICATE_PATH names its PEM file); compare the thumbprint with the application's certificates"
            }
            MalformedJwt | UnsupportedSigningAlgorithm | AadIssuedAssertion => {
                "the client assertion must be an RS256 JWT from the Kubernetes service-account issuer (the file named by AZURE_FEDERATED_TOKEN_FILE)"
            }
            ApplicationNotFound { .. } => {
                "check the client id (the managed identity's Client ID, not its Principal ID) and that the tenant is the identity's tenant"
            }
            TenantNotFound { .. } => {
                "check the tenant id and the cloud (`--cloud`, AZURE_AUTHORITY_HOST)"
            }
            ScopeNotDefault { .. }
            | ScopeMultipleResources
            | ResourceNotSupportedOnV2
            | InvalidScope { .. } => {
                "ask for one resource's `/.default` scope, e.g. https://management.azure.com/.default"
            }
            ResourceNotFound { .. } => {
                "check the resource URI (e.g. https://management.azure.com/.default, https://storage.azure.com/.default); for your own API, register it first (`wid ad app create --display-name NAME --identifier-uris api://NAME`)"
            }
            DuplicateParameter { .. } | MultipleClientAuthentication { .. } => {
                "send each parameter once, and exactly one client credential: a client_assertion, a client_secret or HTTP Basic"
            }
            RequestTooLarge { .. } => {
                "the token request is too large: check the client assertion (the file named by AZURE_FEDERATED_TOKEN_FILE) holds one service-account token"
            }
            MissingParameter { .. }
            | MissingClientCredential
            | InvalidClientAssertionType { .. }
            | UnsupportedGrantType { .. } => {
                "send a client_credentials request with client_id, scope and a jwt-bearer client_assertion"
            }
            InvalidClientSecret { .. } | ManagedIdentitySecretNotAllowed { .. } => {
                "check the client secret value (not its id)"
            }
            TransientError => {
                "retry; if it persists, see the wid server log (its database may be unavailable)"
            }
        }
    }

    /// Whether `host` is one of Entra's own token issuers.
    pub fn is_aad_issuer(issuer: &str) -> bool {
        let rest = issuer.strip_prefix("https://").unwrap_or(issuer);
        let host = rest
            .split(['/', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        AAD_ISSUER_HOSTS.contains(&host.as_str())
    }
}

impl std::fmt::Display for Aadsts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Aadsts {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_client_is_401_everything_else_400() {
        assert_eq!(Aadsts::InvalidSignature.status(), 401);
        assert_eq!(Aadsts::MalformedJwt.status(), 400);
        assert_eq!(Aadsts::TransientError.status(), 503);
        assert_eq!(Aadsts::TransientError.error(), "temporarily_unavailable");
        assert!(
            Aadsts::TransientError
                .message()
                .starts_with("AADSTS90033: ")
        );
        assert_eq!(
            Aadsts::TenantNotFound { tenant: "x".into() }.error(),
            "invalid_tenant"
        );
    }

    #[test]
    fn time_range_message_is_entras() {
        let m = Aadsts::AssertionTimeRange {
            now: 1712358114,
            not_before: 0,
            expires: 1712357441,
        }
        .message();
        assert_eq!(
            m,
            "AADSTS700024: Client assertion is not within its valid time range. Current time: 2024-04-05T23:01:54.0000000Z, assertion valid from 1970-01-01T00:00:00.0000000Z, expiry time of assertion 2024-04-05T22:50:41.0000000Z. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials"
        );
    }

    #[test]
    fn aad_issuers_are_recognised() {
        assert!(Aadsts::is_aad_issuer("https://sts.windows.net/abc/"));
        assert!(Aadsts::is_aad_issuer(
            "https://login.microsoftonline.com/t/v2.0"
        ));
        assert!(!Aadsts::is_aad_issuer(
            "https://eastus.oic.prod-aks.azure.com/t/u/"
        ));
    }
}
