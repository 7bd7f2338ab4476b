//! The report: checks with stable ids, each passed, warned, failed or skipped, with its
//! evidence and fix; rendered as text (default) or JSON (`--output json`).

use serde::Serialize;
use serde_json::{Value, json};

/// Every check doctor runs, in order: `(id, group number, title)`. The ids are stable (the
/// JSON output and the README name them); new checks get new ids.
pub const CHECKS: [(&str, u8, &str); 18] = [
    ("connection.found", 1, "the connection exists"),
    ("connection.type", 1, "its type is azure"),
    (
        "connection.fields",
        1,
        "both workload identity fields, GUID-shaped",
    ),
    ("connection.cloud", 1, "its cloud"),
    ("environment.variables", 2, "the webhook's variables"),
    (
        "environment.consistency",
        2,
        "the variables agree with the connection",
    ),
    ("environment.token_file", 2, "the token file is readable"),
    ("token.decode", 3, "the projected token decodes"),
    ("token.claims", 3, "iss, sub and aud"),
    ("token.lifetime", 3, "iat, exp, age and rotation"),
    (
        "token.clock_skew",
        3,
        "this clock against the token service's",
    ),
    ("issuer.discovery", 4, "the issuer's discovery document"),
    ("issuer.issuer_match", 4, "the document's issuer equals iss"),
    ("issuer.jwks", 4, "the signing key is in the JWKS"),
    ("identity.exists", 5, "the managed identity exists"),
    (
        "identity.federated_credential",
        5,
        "a federated credential matches the token",
    ),
    ("exchange.token", 6, "the token exchange"),
    ("permissions.read", 7, "what the identity may read"),
];

/// The titles of the check groups, by number.
pub const GROUPS: [&str; 7] = [
    "connection",
    "pod environment",
    "projected token",
    "issuer",
    "identity",
    "exchange",
    "permissions",
];

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// As it should be.
    Passed,
    /// Works, but probably not as meant.
    Warned,
    /// Broken: the fix says what to do.
    Failed,
    /// Not run: what it needs is missing or broken (the reason says which check).
    Skipped,
}

impl Status {
    fn tag(self) -> &'static str {
        match self {
            Status::Passed => "[pass]",
            Status::Warned => "[warn]",
            Status::Failed => "[FAIL]",
            Status::Skipped => "[skip]",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone)]
pub struct Check {
    /// A stable id from [`CHECKS`].
    pub id: &'static str,
    /// The outcome.
    pub status: Status,
    /// One line: what was found.
    pub summary: String,
    /// The values behind it (never a secret).
    pub evidence: Vec<(String, String)>,
    /// What to do, as a command or a value, for a failure or a warning.
    pub fix: Option<String>,
    /// How long it took, for checks that went over the network.
    pub elapsed_ms: Option<u64>,
}

impl Check {
    fn new(id: &'static str, status: Status, summary: impl Into<String>) -> Self {
        debug_assert!(CHECKS.iter().any(|(i, _, _)| *i == id), "unknown id {id}");
        Check {
            id,
            status,
            summary: summary.into(),
            evidence: Vec::new(),
            fix: None,
            elapsed_ms: None,
        }
    }

    /// A passed check.
    pub fn passed(id: &'static str, summary: impl Into<String>) -> Self {
        Self::new(id, Status::Passed, summary)
    }

    /// A warning, with its fix.
    pub fn warned(id: &'static str, summary: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(id, Status::Warned, summary).fix(fix)
    }

    /// A failure, with its fix.
    pub fn failed(id: &'static str, summary: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(id, Status::Failed, summary).fix(fix)
    }

    /// A check not run, and why.
    pub fn skipped(id: &'static str, reason: impl Into<String>) -> Self {
        Self::new(id, Status::Skipped, reason)
    }

    /// Adds a piece of evidence.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.evidence.push((key.into(), value.into()));
        self
    }

    /// Sets the fix.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// Records the time taken.
    pub fn timed(mut self, started: std::time::Instant) -> Self {
        self.elapsed_ms = Some(started.elapsed().as_millis() as u64);
        self
    }

    fn group(&self) -> u8 {
        CHECKS
            .iter()
            .find(|(i, _, _)| *i == self.id)
            .map_or(0, |(_, g, _)| *g)
    }

    fn title(&self) -> &'static str {
        CHECKS
            .iter()
            .find(|(i, _, _)| *i == self.id)
            .map_or("", |(_, _, t)| *t)
    }
}

/// The whole diagnosis.
#[derive(Debug, Clone)]
pub struct Report {
    /// The connection id diagnosed.
    pub conn_id: String,
    /// The cloud profile's name.
    pub cloud: String,
    /// The checks, in [`CHECKS`] order.
    pub checks: Vec<Check>,
    /// Wall time of the whole run.
    pub elapsed_ms: u64,
}

impl Report {
    /// Puts the checks in their documented order.
    pub fn sort(&mut self) {
        let rank = |id: &str| CHECKS.iter().position(|(i, _, _)| *i == id).unwrap_or(99);
        self.checks.sort_by_key(|c| rank(c.id));
    }

    /// The first failed check: the cause to fix first.
    pub fn cause(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.status == Status::Failed)
    }

    /// failed if any check failed, else warned if any warned, else passed.
    pub fn status(&self) -> Status {
        if self.cause().is_some() {
            Status::Failed
        } else if self.checks.iter().any(|c| c.status == Status::Warned) {
            Status::Warned
        } else {
            Status::Passed
        }
    }

    /// The JSON form (schema in the README, "wid doctor").
    pub fn to_json(&self) -> Value {
        let checks: Vec<Value> = self
            .checks
            .iter()
            .map(|c| {
                let evidence: serde_json::Map<String, Value> = c
                    .evidence
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                json!({
                    "id": c.id,
                    "group": GROUPS.get(usize::from(c.group()).saturating_sub(1)).copied().unwrap_or(""),
                    "title": c.title(),
                    "status": c.status,
                    "summary": c.summary,
                    "evidence": evidence,
                    "fix": c.fix,
                    "elapsed_ms": c.elapsed_ms,
                })
            })
            .collect();
        json!({
            "conn_id": self.conn_id,
            "cloud": self.cloud,
            "status": self.status(),
            "cause": self.cause().map(|c| json!({"check": c.id, "summary": c.summary, "fix": c.fix})),
            "checks": checks,
            "elapsed_ms": self.elapsed_ms,
        })
    }

    /// The text form: one block per group, then the first cause and its fix.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "wid doctor: connection {}, cloud {}\n",
            self.conn_id, self.cloud
        );
        let mut group = 0;
        for c in &self.checks {
            if c.group() != group {
                group = c.group();
                let name = GROUPS
                    .get(usize::from(group).saturating_sub(1))
                    .unwrap_or(&"");
                out.push_str(&format!("\n{group} {name}\n"));
            }
            let time = c
                .elapsed_ms
                .map(|ms| format!(" ({ms} ms)"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {} {}: {}{time}\n",
                c.status.tag(),
                c.id,
                c.summary
            ));
            let width = c.evidence.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            for (k, v) in &c.evidence {
                out.push_str(&format!("         {k:<width$}  {v}\n"));
            }
            if let Some(f) = &c.fix
                && c.status != Status::Passed
            {
                out.push_str(&format!("         fix: {f}\n"));
            }
        }
        match self.cause() {
            Some(c) => out.push_str(&format!(
                "\nFirst cause: {}: {}\nfix: {}\n",
                c.id,
                c.summary,
                c.fix.as_deref().unwrap_or("see above")
            )),
            None if self.status() == Status::Warned => {
                out.push_str("\nNo check failed; see the warnings above.\n")
            }
            None => out.push_str("\nEvery check passed.\n"),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_is_the_cause_whatever_the_order_of_arrival() {
        let mut r = Report {
            conn_id: "c".into(),
            cloud: "local".into(),
            checks: vec![
                Check::failed("exchange.token", "AADSTS700211", "fix b"),
                Check::passed("connection.found", "ok").with("source", "env"),
                Check::failed("issuer.jwks", "kid missing", "fix a"),
                Check::warned("token.lifetime", "old", "rotate"),
            ],
            elapsed_ms: 1,
        };
        r.sort();
        assert_eq!(r.cause().map(|c| c.id), Some("issuer.jwks"));
        assert_eq!(r.status(), Status::Failed);
        let text = r.to_text();
        assert!(
            text.contains("First cause: issuer.jwks: kid missing\nfix: fix a"),
            "{text}"
        );
        assert!(
            text.find("connection.found") < text.find("exchange.token"),
            "{text}"
        );
        let j = r.to_json();
        assert_eq!(j["cause"]["check"], "issuer.jwks");
        assert_eq!(j["checks"][0]["group"], "connection");
        assert_eq!(j["checks"][0]["evidence"]["source"], "env");
        r.checks.retain(|c| c.status != Status::Failed);
        assert_eq!(r.status(), Status::Warned);
    }

    #[test]
    fn ids_are_unique() {
        for (i, (id, _, _)) in CHECKS.iter().enumerate() {
            assert!(!CHECKS[i + 1..].iter().any(|(o, _, _)| o == id), "{id}");
        }
    }
}
