//! The rules Azure applies to user-assigned managed identities and their federated identity
//! credentials (FICs): names, required fields, lengths, the single audience, https issuers,
//! and the limit of 20 credentials per identity.

use serde::{Deserialize, Serialize};

/// At most this many federated credentials per identity.
pub const MAX_FICS_PER_IDENTITY: usize = 20;
/// Issuer, subject and audience are at most this long.
pub const MAX_FIELD_LEN: usize = 600;

/// The properties of a federated identity credential as ARM carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FicProperties {
    /// The token issuer URL, compared exactly with the assertion's `iss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The subject, compared exactly (case-sensitively) with the assertion's `sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Exactly one audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
}

/// A federated credential that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidFic {
    /// Issuer URL.
    pub issuer: String,
    /// Subject.
    pub subject: String,
    /// The one audience.
    pub audience: String,
}

/// A rule that a request broke, with ARM's error code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct RuleError {
    /// ARM error code, e.g. `BadRequest`.
    pub code: &'static str,
    /// ARM error message.
    pub message: String,
}

fn bad(code: &'static str, message: impl Into<String>) -> RuleError {
    RuleError {
        code,
        message: message.into(),
    }
}

/// 3 to `max` ASCII letters, digits, `-` and `_`, starting with a letter or digit: the
/// shape of managed identity and federated credential names.
fn is_arm_name(name: &str, max: usize) -> bool {
    let b = name.as_bytes();
    (3..=max).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
}

/// Checks a federated credential name against `^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$`.
pub fn validate_fic_name(name: &str) -> Result<(), RuleError> {
    if is_arm_name(name, 120) {
        Ok(())
    } else {
        Err(bad(
            "BadRequest",
            format!(
                "Federated Identity Credential name '{name}' is invalid. The name must be 3 to 120 characters, start with a letter or a number, and contain only letters, numbers, hyphens and underscores."
            ),
        ))
    }
}

/// Checks a user-assigned identity name: 3 to 128 characters, starting with a letter or
/// number, then letters, numbers, hyphens and underscores.
pub fn validate_identity_name(name: &str) -> Result<(), RuleError> {
    if is_arm_name(name, 128) {
        Ok(())
    } else {
        Err(bad(
            "InvalidResourceName",
            format!(
                "Resource name {name} is invalid. The name can be between 3 and 128 characters long and can contain only letters, numbers, hyphens and underscores, and must start with a letter or a number."
            ),
        ))
    }
}

/// Checks a resource group name: 1 to 90 characters of letters, digits, `_`, `(`, `)`, `-`
/// and `.`, not ending in `.`.
pub fn validate_resource_group_name(name: &str) -> Result<(), RuleError> {
    let ok = (1..=90).contains(&name.chars().count())
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "_()-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(bad(
            "InvalidResourceGroup",
            format!(
                "The provided resource group name '{name}' has these invalid characters: the name can only include alphanumeric, underscore, parentheses, hyphen, period (except at end), and Unicode characters that match the allowed characters, and be 1 to 90 characters long."
            ),
        ))
    }
}

/// Applies the body rules to a FIC `PUT`.
pub fn validate_fic(props: Option<&FicProperties>) -> Result<ValidFic, RuleError> {
    let Some(p) = props else {
        return Err(bad(
            "BadRequest",
            "Federated Identity Credential from HTTP body has empty properties",
        ));
    };
    let (Some(issuer), Some(subject), Some(audiences)) = (&p.issuer, &p.subject, &p.audiences)
    else {
        return Err(bad(
            "BadRequest",
            "The request format was unexpected. Federated Identity Credential must specify 'issuer', 'subject' and 'audience'.",
        ));
    };
    if audiences.len() != 1 {
        return Err(bad(
            "InvalidFederatedIdentityCredentialsAudienceLength",
            format!(
                "Federated identity credentials must have exactly 1 audience. {} were given.",
                audiences.len()
            ),
        ));
    }
    let audience = &audiences[0];
    for (field, value) in [
        ("issuer", issuer),
        ("subject", subject),
        ("audience", audience),
    ] {
        if value.trim().is_empty() {
            return Err(bad(
                "BadRequest",
                "The request format was unexpected. Federated Identity Credential must specify 'issuer', 'subject' and 'audience'.",
            ));
        }
        if value.chars().count() > MAX_FIELD_LEN {
            return Err(bad(
                "BadRequest",
                format!(
                    "Federated Identity Credential {field} is {} characters long; the maximum is {MAX_FIELD_LEN}.",
                    value.chars().count()
                ),
            ));
        }
    }
    if !issuer.starts_with("https://") || issuer.len() <= "https://".len() {
        return Err(bad(
            "BadRequest",
            format!(
                "Federated Identity Credential issuer '{issuer}' is invalid. The issuer must be a URL with the https scheme."
            ),
        ));
    }
    Ok(ValidFic {
        issuer: issuer.clone(),
        subject: subject.clone(),
        audience: audience.clone(),
    })
}

/// The error when an identity already has [`MAX_FICS_PER_IDENTITY`] credentials.
pub fn too_many_fics(identity_id: &str, existing: usize) -> RuleError {
    bad(
        "BadRequest",
        format!(
            "Too many Federated Identity Credentials for the managed identity '{identity_id}': it has {existing}, and the maximum is {MAX_FICS_PER_IDENTITY}. Delete credentials that are no longer needed, or use another managed identity."
        ),
    )
}

/// The error when issuer and subject are already used by another credential.
pub fn duplicate_issuer_subject(existing_name: &str) -> RuleError {
    bad(
        "BadRequest",
        format!(
            "Issuer and subject combination already exists for this Managed Identity. It is used by the Federated Identity Credential '{existing_name}'."
        ),
    )
}

/// Kubernetes service-account subject: `system:serviceaccount:<namespace>:<name>`.
pub fn service_account_subject(namespace: &str, service_account: &str) -> String {
    format!("system:serviceaccount:{namespace}:{service_account}")
}

/// Checks a Kubernetes namespace or service-account name (a DNS-1123 label or subdomain).
pub fn validate_k8s_name(kind: &str, name: &str) -> Result<(), String> {
    let ok = (1..=253).contains(&name.len())
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid {kind} '{name}': a lowercase RFC 1123 name must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(i: &str, s: &str, a: &[&str]) -> FicProperties {
        FicProperties {
            issuer: Some(i.into()),
            subject: Some(s.into()),
            audiences: Some(a.iter().map(|x| x.to_string()).collect()),
        }
    }

    #[test]
    fn names() {
        assert!(validate_fic_name("airflow-worker").is_ok());
        assert!(validate_fic_name("a_b").is_ok());
        assert!(validate_fic_name("ab").is_err());
        assert!(validate_fic_name("-abc").is_err());
        assert!(validate_fic_name("abc!").is_err());
        assert!(validate_fic_name(&"a".repeat(120)).is_ok());
        assert!(validate_fic_name(&"a".repeat(121)).is_err());
        assert!(validate_identity_name("airflow-mi").is_ok());
        assert!(validate_identity_name("a/b").is_err());
        assert!(validate_resource_group_name("rg-airflow").is_ok());
        assert!(validate_resource_group_name("rg.").is_err());
        assert!(validate_resource_group_name("rg;drop").is_err());
    }

    #[test]
    fn fic_rules() {
        let ok = validate_fic(Some(&props(
            "https://x/",
            "s",
            &["api://AzureADTokenExchange"],
        )))
        .unwrap();
        assert_eq!(ok.audience, "api://AzureADTokenExchange");
        assert_eq!(
            validate_fic(None).unwrap_err().message,
            "Federated Identity Credential from HTTP body has empty properties"
        );
        assert_eq!(
            validate_fic(Some(&props("https://x/", "s", &[])))
                .unwrap_err()
                .code,
            "InvalidFederatedIdentityCredentialsAudienceLength"
        );
        assert_eq!(
            validate_fic(Some(&props("https://x/", "s", &["a", "b"])))
                .unwrap_err()
                .code,
            "InvalidFederatedIdentityCredentialsAudienceLength"
        );
        assert!(
            validate_fic(Some(&props("http://x/", "s", &["a"])))
                .unwrap_err()
                .message
                .contains("https")
        );
        let long = "s".repeat(601);
        assert!(
            validate_fic(Some(&props("https://x/", &long, &["a"])))
                .unwrap_err()
                .message
                .contains("601")
        );
        let missing = FicProperties {
            issuer: Some("https://x".into()),
            ..Default::default()
        };
        assert!(
            validate_fic(Some(&missing))
                .unwrap_err()
                .message
                .contains("must specify")
        );
    }

    #[test]
    fn k8s_names() {
        assert!(validate_k8s_name("namespace", "airflow").is_ok());
        assert!(validate_k8s_name("namespace", "Airflow").is_err());
        assert!(validate_k8s_name("namespace", "a:b").is_err());
        assert_eq!(
            service_account_subject("airflow", "airflow-worker"),
            "system:serviceaccount:airflow:airflow-worker"
        );
    }
}
