//! Check group 6, the exchange: a real token request with the projected token, as Airflow's
//! credential sends it (wid-credential's WorkloadIdentityCredential, no retries, bounded),
//! and the AADSTS code explained.

use std::path::Path;
use std::time::{Duration, Instant};

use wid_credential::{
    AccessToken, CredentialError, Pipeline, RetryPolicy, WorkloadIdentityCredential,
};

use super::report::Check;

/// What the exchange needs.
pub struct Request<'a> {
    /// The client id Airflow uses.
    pub client_id: &'a str,
    /// The tenant Airflow uses.
    pub tenant_id: &'a str,
    /// The token file.
    pub token_file: &'a Path,
    /// The authority.
    pub authority: &'a str,
    /// The scope.
    pub scope: &'a str,
}

/// The outcome of group 6.
pub struct Outcome {
    /// `exchange.token`.
    pub check: Check,
    /// The credential, to get an ARM token for the permissions check.
    pub credential: Option<WorkloadIdentityCredential>,
    /// The access token, when the exchange succeeded.
    pub token: Option<AccessToken>,
}

/// A pipeline that tries once, within `timeout`.
pub fn bounded(
    http: reqwest::Client,
    clock: std::sync::Arc<dyn wid_model::Clock>,
    timeout: Duration,
) -> Pipeline {
    let mut p = Pipeline::new(http);
    p.clock = clock;
    p.retry = RetryPolicy {
        max_retries: 0,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
        max_total: timeout,
        attempt_timeout: timeout,
    };
    p
}

/// Runs group 6.
pub async fn check(pipeline: Pipeline, r: Request<'_>, timeout: Duration) -> Outcome {
    const ID: &str = "exchange.token";
    let started = Instant::now();
    let url = format!(
        "{}/{}/oauth2/v2.0/token",
        r.authority.trim_end_matches('/'),
        r.tenant_id
    );
    let cred = match WorkloadIdentityCredential::new(
        Some(r.client_id),
        Some(r.tenant_id),
        Some(r.token_file),
        Some(r.authority),
        pipeline,
    ) {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                check: Check::failed(ID, e.to_string(), "fix the values the earlier checks name"),
                credential: None,
                token: None,
            };
        }
    };
    let result = tokio::time::timeout(timeout, cred.get_token(&[r.scope])).await;
    let check = match &result {
        Err(_) => Check::failed(
            ID,
            format!(
                "{url} did not answer within {:.1} s (it hung)",
                timeout.as_secs_f64()
            ),
            "check AZURE_AUTHORITY_HOST and the network path from the pod to the token service",
        ),
        Ok(Ok(t)) => {
            let claims = wid_credential::jwt_claims(t.token.expose_str()).unwrap_or_default();
            let c = |k: &str| {
                claims[k]
                    .as_str()
                    .map_or_else(|| claims[k].to_string(), String::from)
            };
            Check::passed(
                ID,
                format!("an access token for {} (token not shown)", r.scope),
            )
            .with("expires_on", wid_model::time_fmt::rfc3339(t.expires_on))
            .with("aud", c("aud"))
            .with("appid", c("appid"))
            .with("oid", c("oid"))
            .with("tid", c("tid"))
        }
        Ok(Err(CredentialError::Token(t))) => {
            let code = t
                .code
                .map_or_else(|| t.error.clone(), |c| format!("AADSTS{c}"));
            let first = t.message.split(". ").next().unwrap_or(&t.message);
            let summary = if first.starts_with(&code) {
                first.to_string()
            } else {
                format!("{code}: {first}")
            };
            let mut c = Check::failed(ID, summary, format!("{} (README: \"{code}\")", t.remedy()))
                .with("HTTP status", t.status.to_string())
                .with("error", t.error.clone())
                .with("message", t.message.clone());
            if let Some(id) = &t.correlation_id {
                c = c.with("correlation id", id.clone());
            }
            c
        }
        Ok(Err(CredentialError::Unreachable { url, detail, .. })) => {
            let hung = detail.contains("timed out")
                || detail.contains("timeout")
                || detail.contains("deadline");
            Check::failed(
                ID,
                if hung {
                    format!(
                        "{url} did not answer within {:.1} s (it hung)",
                        timeout.as_secs_f64()
                    )
                } else {
                    format!("cannot reach {url}: {detail}")
                },
                "check AZURE_AUTHORITY_HOST and the network path from the pod to the token service",
            )
        }
        Ok(Err(e)) => Check::failed(ID, e.to_string(), "fix the values the earlier checks name"),
    };
    let token = match result {
        Ok(Ok(t)) => Some(t),
        _ => None,
    };
    Outcome {
        check: check
            .with("url", url)
            .with("client_id", r.client_id)
            .timed(started),
        credential: Some(cred),
        token,
    }
}
