//! DefaultAzureCredential: azure-identity's chain, as Airflow's Azure provider builds it.
//!
//! Order: EnvironmentCredential (a client secret or certificate from the environment), then
//! WorkloadIdentityCredential, then ManagedIdentityCredential, then (when the caller asks for
//! it, as wid's own ARM client does) AzureCliCredential. A link that is not configured
//! is skipped with the reason; a link that is configured and fails with an authentication
//! error stops the chain (so a misconfigured workload identity never falls through to
//! probing IMDS); the first link that returns a token is used from then on.

use std::sync::{Arc, Mutex};

use crate::azure_cli::AzureCliCredential;
use crate::client_certificate::ClientCertificateCredential;
use crate::client_secret::ClientSecretCredential;
use crate::env::EnvVars;
use crate::managed_identity::ManagedIdentityCredential;
use crate::pipeline::Pipeline;
use crate::secret::Secret;
use crate::workload_identity::{WorkloadIdentityCredential, normalize_authority};
use crate::{AccessToken, CredentialError, TokenRequestOptions};

/// Options, named as azure-identity's keyword arguments.
#[derive(Debug, Clone, Default)]
pub struct ChainOptions {
    /// `managed_identity_client_id` (Airflow's connection field): the client id for
    /// managed identity and, by default, for workload identity.
    pub managed_identity_client_id: Option<String>,
    /// `workload_identity_client_id`; defaults to `managed_identity_client_id`.
    pub workload_identity_client_id: Option<String>,
    /// `workload_identity_tenant_id` (Airflow's connection field).
    pub workload_identity_tenant_id: Option<String>,
    /// `additionally_allowed_tenants`.
    pub additionally_allowed_tenants: Vec<String>,
    /// The authority host; defaults to AZURE_AUTHORITY_HOST, then the public cloud.
    pub authority: Option<String>,
    /// The Azure CLI's sign-in, as the chain's last link. Airflow's chain leaves it out (a
    /// pod has no CLI); an operator's chain has it.
    pub azure_cli: Option<AzureCliCredential>,
    /// One credential picked by name, in place of AZURE_TOKEN_CREDENTIALS.
    pub only: Option<OnlyCredential>,
    /// What to say when no link has an identity; defaults to the pod's remedy.
    pub no_identity_hint: Option<String>,
}

/// One credential of the chain, picked by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlyCredential {
    /// The credential's name (`AzureCliCredential`, ...).
    pub credential: &'static str,
    /// Who picked it, for skip reasons (`--credential azure-cli`).
    pub by: String,
}

/// What happened to one link of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkAttempt {
    /// The credential's name.
    pub credential: &'static str,
    /// `used`, `skipped` or `failed`.
    pub outcome: &'static str,
    /// Why.
    pub reason: String,
}

#[derive(Debug, Clone)]
enum Link {
    Environment(ClientSecretCredential),
    EnvironmentCertificate(ClientCertificateCredential),
    Workload(WorkloadIdentityCredential),
    Managed(ManagedIdentityCredential),
    AzureCli(AzureCliCredential),
}

impl Link {
    fn name(&self) -> &'static str {
        match self {
            Link::Environment(_) | Link::EnvironmentCertificate(_) => "EnvironmentCredential",
            Link::Workload(_) => "WorkloadIdentityCredential",
            Link::Managed(_) => "ManagedIdentityCredential",
            Link::AzureCli(_) => crate::azure_cli::NAME,
        }
    }

    /// The endpoint the link calls, for errors.
    fn endpoint(&self) -> String {
        match self {
            Link::Environment(c) => c.token_endpoint(),
            Link::EnvironmentCertificate(c) => c.token_endpoint(),
            Link::Workload(c) => c.token_endpoint(),
            Link::Managed(c) => c.describe(),
            Link::AzureCli(c) => c.describe(),
        }
    }

    async fn get_token(
        &self,
        scopes: &[&str],
        opts: &TokenRequestOptions,
    ) -> Result<AccessToken, CredentialError> {
        match self {
            Link::Environment(c) => c.get_token_with(scopes, opts).await,
            Link::EnvironmentCertificate(c) => c.get_token_with(scopes, opts).await,
            Link::Workload(c) => c.get_token_with(scopes, opts).await,
            Link::Managed(c) => c.get_token(scopes).await,
            Link::AzureCli(c) => c.get_token(scopes).await,
        }
    }
}

/// The chain.
#[derive(Debug, Clone)]
pub struct DefaultAzureCredential {
    links: Vec<Link>,
    construction: Vec<LinkAttempt>,
    selected: Arc<Mutex<Option<usize>>>,
    report: Arc<Mutex<Vec<LinkAttempt>>>,
    no_identity_hint: String,
}

/// The chain's order, as azure-identity's DefaultAzureCredential has it.
const ORDER: [&str; 8] = [
    "EnvironmentCredential",
    "WorkloadIdentityCredential",
    "ManagedIdentityCredential",
    "SharedTokenCacheCredential",
    "VisualStudioCodeCredential",
    "AzureCliCredential",
    "AzurePowerShellCredential",
    "AzureDeveloperCliCredential",
];

fn order(report: &mut [LinkAttempt]) {
    report.sort_by_key(|a| {
        ORDER
            .iter()
            .position(|n| *n == a.credential)
            .unwrap_or(ORDER.len())
    });
}

const NOT_IN_WID: [&str; 5] = [
    "SharedTokenCacheCredential",
    "VisualStudioCodeCredential",
    "AzureCliCredential",
    "AzurePowerShellCredential",
    "AzureDeveloperCliCredential",
];

impl DefaultAzureCredential {
    /// Builds the chain from options and the environment.
    pub fn new(opts: ChainOptions, pipeline: Pipeline) -> Result<Self, CredentialError> {
        let from_env =
            EnvVars::get(EnvVars::AZURE_TOKEN_CREDENTIALS).map(|v| v.to_ascii_lowercase());
        let wanted = |name: &str| match (&opts.only, from_env.as_deref()) {
            (Some(o), _) => o.credential == name,
            (None, None | Some("prod")) => true,
            (None, Some("dev")) => false,
            (None, Some(n)) => n.eq_ignore_ascii_case(name),
        };
        let excluded = match &opts.only {
            Some(o) => format!("excluded by {}", o.by),
            None => "excluded by AZURE_TOKEN_CREDENTIALS".to_string(),
        };
        let authority = match opts
            .authority
            .clone()
            .or_else(|| EnvVars::get(EnvVars::AZURE_AUTHORITY_HOST))
        {
            Some(a) => normalize_authority(&a)?,
            None => "https://login.microsoftonline.com".into(),
        };
        let mut links = Vec::new();
        let mut construction = Vec::new();
        let skip = |c: &'static str, reason: String| LinkAttempt {
            credential: c,
            outcome: "skipped",
            reason,
        };

        if !wanted("EnvironmentCredential") {
            construction.push(skip("EnvironmentCredential", excluded.clone()));
        } else {
            match (
                EnvVars::get(EnvVars::AZURE_TENANT_ID),
                EnvVars::get(EnvVars::AZURE_CLIENT_ID),
                EnvVars::get(EnvVars::AZURE_CLIENT_SECRET),
                EnvVars::get(EnvVars::AZURE_CLIENT_CERTIFICATE_PATH),
            ) {
                (Some(t), Some(c), None, Some(path)) => links.push(Link::EnvironmentCertificate(
                    ClientCertificateCredential::from_pem_file(
                        &authority,
                        &t,
                        &c,
                        std::path::Path::new(&path),
                        pipeline.clone(),
                    )?
                    .with_allowed_tenants(opts.additionally_allowed_tenants.clone()),
                )),
                (Some(t), Some(c), Some(s), _) => links.push(Link::Environment(
                    ClientSecretCredential::with_pipeline(
                        &authority,
                        &t,
                        &c,
                        Secret::new(s),
                        pipeline.clone(),
                    )
                    .with_allowed_tenants(opts.additionally_allowed_tenants.clone()),
                )),
                _ => construction.push(skip(
                    "EnvironmentCredential",
                    "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) are not all set"
                        .into(),
                )),
            }
        }

        if !wanted("WorkloadIdentityCredential") {
            construction.push(skip("WorkloadIdentityCredential", excluded.clone()));
        } else {
            let client = opts
                .workload_identity_client_id
                .as_deref()
                .or(opts.managed_identity_client_id.as_deref());
            let tenant = opts.workload_identity_tenant_id.as_deref();
            match WorkloadIdentityCredential::new(
                client,
                tenant,
                None,
                Some(&authority),
                pipeline.clone(),
            ) {
                Ok(c) => links.push(Link::Workload(
                    c.with_allowed_tenants(opts.additionally_allowed_tenants.clone()),
                )),
                Err(CredentialError::Unavailable { reason, .. }) => {
                    construction.push(skip("WorkloadIdentityCredential", reason))
                }
                Err(e) => return Err(e),
            }
        }

        if !wanted("ManagedIdentityCredential") {
            construction.push(skip("ManagedIdentityCredential", excluded.clone()));
        } else {
            let client = opts
                .managed_identity_client_id
                .clone()
                .or_else(|| EnvVars::get(EnvVars::AZURE_CLIENT_ID));
            links.push(Link::Managed(ManagedIdentityCredential::new(
                client.as_deref(),
                pipeline.clone(),
            )));
        }
        for n in NOT_IN_WID {
            if n == crate::azure_cli::NAME
                && let Some(cli) = &opts.azure_cli
            {
                if wanted(n) {
                    links.push(Link::AzureCli(cli.clone()));
                } else {
                    construction.push(skip(n, excluded.clone()));
                }
                continue;
            }
            if opts.azure_cli.is_some() {
                // An operator's chain is its four links; the others are not listed.
                continue;
            }
            construction.push(skip(
                n,
                "developer-tool credentials are not part of wid's chain".into(),
            ));
        }
        Ok(Self {
            links,
            construction,
            selected: Arc::new(Mutex::new(None)),
            report: Arc::new(Mutex::new(Vec::new())),
            no_identity_hint: opts
                .no_identity_hint
                .clone()
                .unwrap_or_else(|| NO_IDENTITY_HINT.to_string()),
        })
    }

    /// Completes a report: links after `from` were not tried (`why`), construction skips are
    /// added, and the whole is put in the chain's order.
    fn finish(&self, mut report: Vec<LinkAttempt>, from: usize, why: &str) {
        for later in &self.links[from..] {
            report.push(LinkAttempt {
                credential: later.name(),
                outcome: "not tried",
                reason: why.to_string(),
            });
        }
        report.extend(self.construction.iter().cloned());
        order(&mut report);
        *self.report.lock().unwrap_or_else(|e| e.into_inner()) = report;
    }

    /// The link that returned the last token.
    pub fn selected(&self) -> Option<&'static str> {
        self.selected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|i| self.links[i].name())
    }

    /// What each link did in the last call (and which were skipped at construction).
    pub fn report(&self) -> Vec<LinkAttempt> {
        self.report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Gets a token: the remembered link, or the first that works.
    pub async fn get_token(&self, scopes: &[&str]) -> Result<AccessToken, CredentialError> {
        self.get_token_with(scopes, &TokenRequestOptions::default())
            .await
    }

    /// Gets a token with per-call options.
    pub async fn get_token_with(
        &self,
        scopes: &[&str],
        opts: &TokenRequestOptions,
    ) -> Result<AccessToken, CredentialError> {
        let selected = *self.selected.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = selected {
            return self.links[i].get_token(scopes, opts).await;
        }
        let mut report: Vec<LinkAttempt> = Vec::new();
        for (i, link) in self.links.iter().enumerate() {
            match link.get_token(scopes, opts).await {
                Ok(t) => {
                    report.push(LinkAttempt {
                        credential: link.name(),
                        outcome: "used",
                        reason: "returned a token".into(),
                    });
                    let why = format!("{} returned a token first", link.name());
                    self.finish(report, i + 1, &why);
                    *self.selected.lock().unwrap_or_else(|e| e.into_inner()) = Some(i);
                    return Ok(t);
                }
                Err(CredentialError::Unavailable { reason, .. }) => {
                    report.push(LinkAttempt {
                        credential: link.name(),
                        outcome: "skipped",
                        reason,
                    });
                }
                Err(e) => {
                    let mut skipped: Vec<LinkAttempt> = report
                        .iter()
                        .chain(self.construction.iter())
                        .filter(|a| {
                            a.outcome == "skipped"
                                && a.reason
                                    != "developer-tool credentials are not part of wid's chain"
                        })
                        .cloned()
                        .collect();
                    order(&mut skipped);
                    skipped.retain(|a| {
                        ORDER.iter().position(|n| *n == a.credential)
                            < ORDER.iter().position(|n| *n == link.name())
                    });
                    report.push(LinkAttempt {
                        credential: link.name(),
                        outcome: "failed",
                        reason: e.to_string(),
                    });
                    let why = format!(
                        "{} is configured and failed; the chain stops there",
                        link.name()
                    );
                    self.finish(report, i + 1, &why);
                    return Err(CredentialError::Link {
                        credential: link.name(),
                        endpoint: link.endpoint(),
                        skipped,
                        error: Box::new(e),
                    });
                }
            }
        }
        report.extend(self.construction.iter().cloned());
        order(&mut report);
        let mut text = report
            .iter()
            .map(|a| format!("  {}: {} ({})", a.credential, a.outcome, a.reason))
            .collect::<Vec<_>>()
            .join("\n");
        text.push_str(&self.no_identity_hint);
        *self.report.lock().unwrap_or_else(|e| e.into_inner()) = report;
        Err(CredentialError::Chain(text))
    }
}

/// What to do when no link of the chain has an identity to offer.
const NO_IDENTITY_HINT: &str = "\nhint: this process has no identity. For workload identity, set what the webhook injects into a pod: AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE (locally: eval \"$(wid env --namespace NAMESPACE --service-account SERVICE_ACCOUNT --client-id CLIENT_ID)\"). For a managed identity, run where one is assigned, or point AZURE_POD_IDENTITY_AUTHORITY_HOST at wid's stand-in IMDS (eval \"$(wid env --imds)\").";
