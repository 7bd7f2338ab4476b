//! Airflow deployments: the components of an Airflow 2 or 3 environment, the Kubernetes
//! service account each runs as, and the plan that gives every component a federated
//! credential on one managed identity.

use serde::{Deserialize, Serialize};

use crate::federated::{MAX_FICS_PER_IDENTITY, service_account_subject};

/// A deployment's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// Its name (`prod`).
    pub name: String,
    /// The Kubernetes namespace.
    pub namespace: String,
    /// Airflow's major version, 2 or 3.
    pub airflow_version: u8,
    /// Whether task pods of the KubernetesPodOperator get the identity too.
    #[serde(default)]
    pub with_kpo: bool,
    /// Whether an Airflow 2 webserver is included.
    #[serde(default)]
    pub with_webserver: bool,
    /// Service-account names that differ from the convention, by component.
    #[serde(default)]
    pub service_accounts: Vec<(String, String)>,
}

/// One component and the subject it runs as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// `scheduler`, `worker`, ...
    pub name: String,
    /// Its Kubernetes service account.
    pub service_account: String,
    /// `system:serviceaccount:<namespace>:<service account>`.
    pub subject: String,
}

impl Deployment {
    /// The components, in a fixed order: Airflow 2 has scheduler, triggerer, worker (and
    /// webserver when asked); Airflow 3 has scheduler, triggerer, worker, dag-processor and
    /// api-server; `kpo` is the task-pod service account when asked.
    pub fn components(&self) -> Vec<Component> {
        let mut names: Vec<&str> = match self.airflow_version {
            2 => vec!["scheduler", "triggerer", "worker"],
            _ => vec![
                "scheduler",
                "triggerer",
                "worker",
                "dag-processor",
                "api-server",
            ],
        };
        if self.airflow_version == 2 && self.with_webserver {
            names.push("webserver");
        }
        if self.with_kpo {
            names.push("kpo");
        }
        names
            .into_iter()
            .map(|n| {
                let sa = self
                    .service_accounts
                    .iter()
                    .find(|(c, _)| c == n)
                    .map(|(_, sa)| sa.clone())
                    .unwrap_or_else(|| format!("airflow-{n}"));
                Component {
                    name: n.to_string(),
                    subject: service_account_subject(&self.namespace, &sa),
                    service_account: sa,
                }
            })
            .collect()
    }

    /// The name of the federated credential for a component: `<deployment>-<component>`.
    pub fn credential_name(&self, component: &str) -> String {
        format!("{}-{component}", self.name)
    }
}

/// A federated credential that exists on the identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExistingCredential {
    /// Its name.
    pub name: String,
    /// Its issuer.
    pub issuer: String,
    /// Its subject.
    pub subject: String,
}

/// What `assign-identity` will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Plan {
    /// Credentials to create: (credential name, component, subject).
    pub create: Vec<(String, String, String)>,
    /// Components already covered by an existing credential (same issuer and subject),
    /// whatever its name: (existing name, component).
    pub reuse: Vec<(String, String)>,
}

/// Why a plan cannot be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The identity would exceed its 20 federated credentials.
    #[error(
        "the identity has {existing} federated credentials and this deployment needs {needed} more, over the limit of {limit}; delete unused credentials (`wid identity federated-credential list`) or use another identity"
    )]
    TooMany {
        /// Existing credentials.
        existing: usize,
        /// New ones needed.
        needed: usize,
        /// The limit.
        limit: usize,
    },
    /// A credential with the planned name exists with another subject or issuer.
    #[error(
        "federated credential '{name}' exists with issuer '{issuer}' and subject '{subject}', not the ones component {component} needs; delete or rename it first"
    )]
    NameTaken {
        /// The name.
        name: String,
        /// The component.
        component: String,
        /// Its issuer.
        issuer: String,
        /// Its subject.
        subject: String,
    },
}

/// Plans the credentials for every component of `d` on an identity that has `existing`.
pub fn plan(
    d: &Deployment,
    issuer: &str,
    existing: &[ExistingCredential],
) -> Result<Plan, PlanError> {
    let mut p = Plan::default();
    for c in d.components() {
        if let Some(e) = existing
            .iter()
            .find(|e| e.issuer == issuer && e.subject == c.subject)
        {
            p.reuse.push((e.name.clone(), c.name.clone()));
            continue;
        }
        let name = d.credential_name(&c.name);
        if let Some(e) = existing.iter().find(|e| e.name.eq_ignore_ascii_case(&name)) {
            return Err(PlanError::NameTaken {
                name,
                component: c.name,
                issuer: e.issuer.clone(),
                subject: e.subject.clone(),
            });
        }
        p.create.push((name, c.name, c.subject));
    }
    if existing.len() + p.create.len() > MAX_FICS_PER_IDENTITY {
        return Err(PlanError::TooMany {
            existing: existing.len(),
            needed: p.create.len(),
            limit: MAX_FICS_PER_IDENTITY,
        });
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: u8) -> Deployment {
        Deployment {
            name: "prod".into(),
            namespace: "airflow-prod".into(),
            airflow_version: v,
            with_kpo: false,
            with_webserver: false,
            service_accounts: vec![],
        }
    }

    #[test]
    fn components_follow_the_version() {
        let names = |d: &Deployment| {
            d.components()
                .into_iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&d(2)), vec!["scheduler", "triggerer", "worker"]);
        assert_eq!(
            names(&d(3)),
            vec![
                "scheduler",
                "triggerer",
                "worker",
                "dag-processor",
                "api-server"
            ]
        );
        let mut k = d(3);
        k.with_kpo = true;
        k.service_accounts = vec![("worker".into(), "custom-worker".into())];
        let cs = k.components();
        assert_eq!(cs.last().unwrap().service_account, "airflow-kpo");
        assert_eq!(
            cs[2].subject,
            "system:serviceaccount:airflow-prod:custom-worker"
        );
    }

    #[test]
    fn plans_reuse_and_limits() {
        let dep = d(3);
        let existing = vec![ExistingCredential {
            name: "other-name".into(),
            issuer: "https://i/".into(),
            subject: "system:serviceaccount:airflow-prod:airflow-worker".into(),
        }];
        let p = plan(&dep, "https://i/", &existing).unwrap();
        assert_eq!(
            p.reuse,
            vec![("other-name".to_string(), "worker".to_string())]
        );
        assert_eq!(p.create.len(), 4);
        let full: Vec<ExistingCredential> = (0..17)
            .map(|i| ExistingCredential {
                name: format!("f{i}"),
                issuer: "https://x/".into(),
                subject: format!("s{i}"),
            })
            .collect();
        assert_eq!(
            plan(&dep, "https://i/", &full).unwrap_err(),
            PlanError::TooMany {
                existing: 17,
                needed: 5,
                limit: 20
            }
        );
        let taken = vec![ExistingCredential {
            name: "prod-scheduler".into(),
            issuer: "https://i/".into(),
            subject: "other".into(),
        }];
        assert!(matches!(
            plan(&dep, "https://i/", &taken),
            Err(PlanError::NameTaken { .. })
        ));
    }
}
