//! Matching a projected token against federated identity credentials as Entra does (issuer,
//! subject and audience compared exactly), and, when none matches, the nearest miss and
//! what makes it miss: a trailing slash, case, another cloud's audience, another namespace
//! or service account.

use wid_model::cloud::ALL;

/// What the token presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `aud` (a string or every entry of an array).
    pub audiences: Vec<String>,
}

/// A federated identity credential as ARM returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fic {
    /// Its name.
    pub name: String,
    /// `properties.issuer`.
    pub issuer: String,
    /// `properties.subject`.
    pub subject: String,
    /// `properties.audiences`.
    pub audiences: Vec<String>,
}

impl Fic {
    /// Reads an ARM federated credential resource.
    pub fn from_arm(v: &serde_json::Value) -> Self {
        let s = |p: &str| {
            v.pointer(p)
                .and_then(|x| x.as_str())
                .unwrap_or("")
                .to_string()
        };
        Fic {
            name: s("/name"),
            issuer: s("/properties/issuer"),
            subject: s("/properties/subject"),
            audiences: v
                .pointer("/properties/audiences")
                .and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// How one field of a credential compares with the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// Byte for byte equal.
    Exact,
    /// Equal but for a trailing slash.
    TrailingSlash,
    /// Equal but for letter case.
    Case,
    /// The credential's audience is the token exchange audience of another cloud.
    OtherCloudAudience {
        /// That cloud.
        cloud: &'static str,
    },
    /// Both are service-account subjects of the same service account in other namespaces.
    Namespace {
        /// The token's namespace.
        token: String,
        /// The credential's namespace.
        credential: String,
    },
    /// Both are service-account subjects in one namespace, of other service accounts.
    ServiceAccount {
        /// The token's service account.
        token: String,
        /// The credential's service account.
        credential: String,
    },
    /// Simply different.
    Different,
}

impl Field {
    fn score(&self) -> u32 {
        match self {
            Field::Exact => 4,
            Field::TrailingSlash | Field::Case | Field::OtherCloudAudience { .. } => 3,
            Field::Namespace { .. } | Field::ServiceAccount { .. } => 2,
            Field::Different => 0,
        }
    }
}

/// One credential compared with the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The credential.
    pub fic: Fic,
    /// Issuer against `iss`.
    pub issuer: Field,
    /// Subject against `sub`.
    pub subject: Field,
    /// Audience against `aud`.
    pub audience: Field,
}

/// `system:serviceaccount:<ns>:<sa>` split.
pub fn service_account(subject: &str) -> Option<(&str, &str)> {
    let rest = subject.strip_prefix("system:serviceaccount:")?;
    let (ns, sa) = rest.split_once(':')?;
    (!ns.is_empty() && !sa.is_empty() && !sa.contains(':')).then_some((ns, sa))
}

fn compare_text(token: &str, fic: &str) -> Field {
    if token == fic {
        Field::Exact
    } else if token.trim_end_matches('/') == fic.trim_end_matches('/') {
        Field::TrailingSlash
    } else if token.eq_ignore_ascii_case(fic) {
        Field::Case
    } else {
        Field::Different
    }
}

fn compare_subject(token: &str, fic: &str) -> Field {
    match compare_text(token, fic) {
        Field::Different => {}
        other => return other,
    }
    match (service_account(token), service_account(fic)) {
        (Some((tn, ts)), Some((fn_, fs))) if ts == fs => Field::Namespace {
            token: tn.into(),
            credential: fn_.into(),
        },
        (Some((tn, ts)), Some((fn_, fs))) if tn == fn_ => Field::ServiceAccount {
            token: ts.into(),
            credential: fs.into(),
        },
        _ => Field::Different,
    }
}

fn compare_audience(token: &[String], fic: &[String]) -> Field {
    if fic.iter().any(|a| token.contains(a)) {
        return Field::Exact;
    }
    for a in fic {
        if let Some(c) = ALL
            .iter()
            .filter(|c| c.name != "local")
            .find(|c| c.token_exchange_audience == a && !token.iter().any(|t| t == a))
            && token
                .iter()
                .any(|t| ALL.iter().any(|o| o.token_exchange_audience == t))
        {
            return Field::OtherCloudAudience { cloud: c.name };
        }
        if token.iter().any(|t| t.eq_ignore_ascii_case(a)) {
            return Field::Case;
        }
        if token
            .iter()
            .any(|t| t.trim_end_matches('/') == a.trim_end_matches('/'))
        {
            return Field::TrailingSlash;
        }
    }
    Field::Different
}

/// Compares one credential with the token.
pub fn compare(p: &Presented, fic: &Fic) -> Comparison {
    Comparison {
        issuer: compare_text(&p.issuer, &fic.issuer),
        subject: compare_subject(&p.subject, &fic.subject),
        audience: compare_audience(&p.audiences, &fic.audiences),
        fic: fic.clone(),
    }
}

impl Comparison {
    /// Whether Entra accepts the token through this credential.
    pub fn matches(&self) -> bool {
        self.issuer == Field::Exact && self.subject == Field::Exact && self.audience == Field::Exact
    }

    fn score(&self) -> u32 {
        self.issuer.score() + self.subject.score() + self.audience.score()
    }

    /// Whether fixing this credential in place is right: it differs by a slip (slash, case,
    /// audience), not by being meant for another namespace or service account.
    pub fn is_slip(&self) -> bool {
        [&self.issuer, &self.subject, &self.audience]
            .iter()
            .all(|f| {
                matches!(
                    f,
                    Field::Exact
                        | Field::TrailingSlash
                        | Field::Case
                        | Field::OtherCloudAudience { .. }
                )
            })
            && !self.matches()
    }

    /// Why it misses, one phrase per field that differs, with the AADSTS code Entra answers.
    pub fn reasons(&self, p: &Presented) -> Vec<String> {
        let mut out = Vec::new();
        match &self.issuer {
            Field::Exact => {}
            Field::TrailingSlash => out.push(format!(
                "the issuer differs only by a trailing slash ('{}' in the credential, '{}' in the token); Entra compares issuers byte for byte (AADSTS700211)",
                self.fic.issuer, p.issuer
            )),
            Field::Case => out.push(format!(
                "the issuer differs in case ('{}' against '{}'; AADSTS700211)",
                self.fic.issuer, p.issuer
            )),
            _ => out.push(format!(
                "the issuer is '{}', the token's is '{}' (AADSTS700211)",
                self.fic.issuer, p.issuer
            )),
        }
        match &self.subject {
            Field::Exact => {}
            Field::Case => out.push(format!(
                "the subject differs only in case ('{}' in the credential, '{}' in the token); Entra compares subjects case-sensitively (AADSTS7002138)",
                self.fic.subject, p.subject
            )),
            Field::Namespace { token, credential } => out.push(format!(
                "the credential is for namespace '{credential}', the token for namespace '{token}' (AADSTS700213)"
            )),
            Field::ServiceAccount { token, credential } => out.push(format!(
                "the credential is for service account '{credential}', the token for '{token}': no credential federates this component (AADSTS700213)"
            )),
            _ => out.push(format!(
                "the subject is '{}', the token's is '{}' (AADSTS700213)",
                self.fic.subject, p.subject
            )),
        }
        match &self.audience {
            Field::Exact => {}
            Field::OtherCloudAudience { cloud } => out.push(format!(
                "the audience '{}' is {cloud}'s token exchange audience; the token carries '{}' (AADSTS700212)",
                self.fic.audiences.join(","),
                p.audiences.join(",")
            )),
            _ => out.push(format!(
                "the audience is '{}', the token's is '{}' (AADSTS700212)",
                self.fic.audiences.join(","),
                p.audiences.join(",")
            )),
        }
        out
    }
}

/// The matching credential, or else the nearest miss (most fields equal or nearly so).
pub fn nearest(p: &Presented, fics: &[Fic]) -> Option<Comparison> {
    let all: Vec<Comparison> = fics.iter().map(|f| compare(p, f)).collect();
    if let Some(m) = all.iter().find(|c| c.matches()) {
        return Some(m.clone());
    }
    all.into_iter().max_by_key(Comparison::score)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> Presented {
        Presented {
            issuer: "https://i.example/issuer/".into(),
            subject: "system:serviceaccount:airflow:airflow-worker".into(),
            audiences: vec!["api://AzureADTokenExchange".into()],
        }
    }

    fn fic(name: &str, issuer: &str, subject: &str, aud: &str) -> Fic {
        Fic {
            name: name.into(),
            issuer: issuer.into(),
            subject: subject.into(),
            audiences: vec![aud.into()],
        }
    }

    const ISS: &str = "https://i.example/issuer/";
    const SUB: &str = "system:serviceaccount:airflow:airflow-worker";
    const AUD: &str = "api://AzureADTokenExchange";

    #[test]
    fn an_exact_credential_wins_over_near_ones() {
        let fics = [
            fic("near", "https://i.example/issuer", SUB, AUD),
            fic("exact", ISS, SUB, AUD),
        ];
        let c = nearest(&token(), &fics).unwrap();
        assert!(c.matches());
        assert_eq!(c.fic.name, "exact");
        assert!(c.reasons(&token()).is_empty());
    }

    #[test]
    fn names_each_kind_of_near_miss() {
        let p = token();
        let slash = compare(&p, &fic("a", "https://i.example/issuer", SUB, AUD));
        assert_eq!(slash.issuer, Field::TrailingSlash);
        assert!(slash.is_slip());
        assert!(slash.reasons(&p)[0].contains("trailing slash"));

        let case = compare(
            &p,
            &fic(
                "b",
                ISS,
                "system:serviceaccount:airflow:Airflow-Worker",
                AUD,
            ),
        );
        assert_eq!(case.subject, Field::Case);
        assert!(case.reasons(&p)[0].contains("AADSTS7002138"));

        let gov = compare(&p, &fic("c", ISS, SUB, "api://AzureADTokenExchangeUSGov"));
        assert_eq!(
            gov.audience,
            Field::OtherCloudAudience {
                cloud: "AzureUSGovernment"
            }
        );
        assert!(gov.reasons(&p)[0].contains("AzureUSGovernment's"));
        let mut gov_token = token();
        gov_token.audiences = vec!["api://AzureADTokenExchangeUSGov".into()];
        let public = compare(&gov_token, &fic("g", ISS, SUB, AUD));
        assert_eq!(
            public.audience,
            Field::OtherCloudAudience {
                cloud: "AzureCloud"
            }
        );

        let ns = compare(
            &p,
            &fic(
                "d",
                ISS,
                "system:serviceaccount:airflow-prod:airflow-worker",
                AUD,
            ),
        );
        assert_eq!(
            ns.subject,
            Field::Namespace {
                token: "airflow".into(),
                credential: "airflow-prod".into()
            }
        );
        assert!(!ns.is_slip());

        let sa = compare(
            &p,
            &fic(
                "e",
                ISS,
                "system:serviceaccount:airflow:airflow-scheduler",
                AUD,
            ),
        );
        assert!(matches!(sa.subject, Field::ServiceAccount { .. }));
        assert!(!sa.is_slip());

        let other = compare(&p, &fic("f", "https://other/", "x", "y"));
        assert_eq!(other.reasons(&p).len(), 3);
    }

    #[test]
    fn the_nearest_miss_is_the_closest_credential() {
        let fics = [
            fic(
                "far",
                "https://elsewhere/",
                "system:serviceaccount:x:y",
                AUD,
            ),
            fic(
                "scheduler",
                ISS,
                "system:serviceaccount:airflow:airflow-scheduler",
                AUD,
            ),
            fic("slash", "https://i.example/issuer", SUB, AUD),
        ];
        assert_eq!(nearest(&token(), &fics).unwrap().fic.name, "slash");
        assert_eq!(nearest(&token(), &fics[..2]).unwrap().fic.name, "scheduler");
        assert!(nearest(&token(), &[]).is_none());
    }

    #[test]
    fn reads_arm_credentials_and_subjects() {
        let v = serde_json::json!({"name": "n", "properties": {"issuer": ISS, "subject": SUB, "audiences": [AUD]}});
        assert_eq!(Fic::from_arm(&v), fic("n", ISS, SUB, AUD));
        assert_eq!(service_account(SUB), Some(("airflow", "airflow-worker")));
        assert_eq!(service_account("repo:x/y:ref"), None);
        assert_eq!(Fic::from_arm(&serde_json::json!(null)).audiences.len(), 0);
    }
}
