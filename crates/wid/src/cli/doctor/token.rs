//! Check group 3, the projected token: it decodes (claims only, the signature is never
//! shown), its `iss`, `sub` and `aud` suit this cloud and component, its age against the
//! file's and the kubelet's 80% rotation, and this clock against the token service's.

use std::time::{Instant, SystemTime};

use serde_json::Value;
use wid_model::CloudProfile;

use super::environment::TokenFile;
use super::net::{Net, http_date};
use super::report::Check;

/// What the projected token says (claims, no signature).
#[derive(Debug, Clone, Default)]
pub struct Projected {
    /// Header `alg`.
    pub alg: String,
    /// Header `kid`.
    pub kid: Option<String>,
    /// `iss`.
    pub iss: String,
    /// `sub`.
    pub sub: String,
    /// `aud`, as a list.
    pub aud: Vec<String>,
    /// `iat`.
    pub iat: Option<i64>,
    /// `exp`.
    pub exp: Option<i64>,
}

fn decode_part(part: &str) -> Option<Value> {
    let bytes = wid_jose::b64url_decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Decodes a JWT's header and claims, without verifying.
pub fn decode(jwt: &str) -> Result<Projected, String> {
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return Err(format!(
            "not a JWT: {} dot-separated part(s), a JWT has 3",
            parts.len()
        ));
    }
    let header = decode_part(parts[0]).ok_or("the header is not base64url JSON")?;
    let claims = decode_part(parts[1]).ok_or("the claims are not base64url JSON")?;
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or("").to_string();
    Ok(Projected {
        alg: s(&header, "alg"),
        kid: header["kid"].as_str().map(String::from),
        iss: s(&claims, "iss"),
        sub: s(&claims, "sub"),
        aud: match &claims["aud"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        },
        iat: claims["iat"].as_i64(),
        exp: claims["exp"].as_i64(),
    })
}

/// The outcome of the offline part of group 3.
pub struct Outcome {
    /// `token.decode`, `token.claims`, `token.lifetime`.
    pub checks: Vec<Check>,
    /// The decoded token.
    pub projected: Option<Projected>,
}

fn ts(unix: i64) -> String {
    format!("{unix} ({})", wid_model::time_fmt::rfc3339(unix))
}

/// Runs the offline checks of group 3 at `now`.
pub fn check(
    cloud: &'static CloudProfile,
    file: Option<&TokenFile>,
    expected_subject: Option<(&str, &str)>,
    now: i64,
) -> Outcome {
    let Some(file) = file else {
        return Outcome {
            checks: ["token.decode", "token.claims", "token.lifetime"]
                .into_iter()
                .map(|id| Check::skipped(id, "no readable token file (environment.token_file)"))
                .collect(),
            projected: None,
        };
    };
    let p = match decode(file.jwt.expose_str()) {
        Ok(p) => p,
        Err(e) => {
            return Outcome {
                checks: vec![
                    Check::failed(
                        "token.decode",
                        format!("{} does not hold a JWT: {e}", file.path.display()),
                        "the file must hold exactly the projected service-account token the kubelet writes; do not copy or edit it",
                    ),
                    Check::skipped("token.claims", "the token does not decode"),
                    Check::skipped("token.lifetime", "the token does not decode"),
                ],
                projected: None,
            };
        }
    };
    let mut checks = Vec::new();
    let decode = if p.alg != "RS256" {
        Check::failed(
            "token.decode",
            format!(
                "the token is signed with {}; Entra accepts only RS256",
                if p.alg.is_empty() { "no alg" } else { &p.alg }
            ),
            "configure the issuer to sign service-account tokens with an RSA key (RS256)",
        )
    } else {
        Check::passed(
            "token.decode",
            "a JWT signed with RS256 (signature not shown)",
        )
    };
    checks.push(
        decode
            .with("alg", p.alg.clone())
            .with("kid", p.kid.clone().unwrap_or_else(|| "(none)".into())),
    );

    // iss, sub, aud.
    let aud_wanted = cloud.token_exchange_audience;
    let claims = if !p.iss.starts_with("https://") {
        let incluster = p.iss.contains("kubernetes.default.svc");
        Check::failed(
            "token.claims",
            format!(
                "iss '{}' is not a public HTTPS issuer; Entra must fetch its discovery document",
                p.iss
            ),
            if incluster {
                "the cluster uses its in-cluster issuer: enable the OIDC issuer (`az aks update --enable-oidc-issuer`) and federate the URL `az aks show --query oidcIssuerProfile.issuerUrl` prints".to_string()
            } else {
                "set the API server's --service-account-issuer to the public HTTPS URL that serves its discovery document".to_string()
            },
        )
    } else if p.iss.contains("kubernetes.default.svc") {
        Check::failed(
            "token.claims",
            format!(
                "iss '{}' is the in-cluster issuer, which Entra cannot reach",
                p.iss
            ),
            "enable the OIDC issuer (`az aks update --enable-oidc-issuer`) and federate the URL `az aks show --query oidcIssuerProfile.issuerUrl` prints",
        )
    } else if !p.aud.iter().any(|a| a == aud_wanted) {
        let other = wid_model::cloud::ALL
            .iter()
            .filter(|c| c.name != "local")
            .find(|c| p.aud.iter().any(|a| a == c.token_exchange_audience))
            .map(|c| format!(", the audience of {}", c.name))
            .unwrap_or_default();
        Check::failed(
            "token.claims",
            format!(
                "aud is '{}'{other}; --cloud {} expects '{aud_wanted}'",
                p.aud.join(","),
                cloud.name
            ),
            format!(
                "project the token with audience {aud_wanted} (the webhook's --audience / the serviceAccountToken volume's audience), or run doctor with the cloud the pod is in"
            ),
        )
    } else if super::federation::service_account(&p.sub).is_none() {
        Check::failed(
            "token.claims",
            format!(
                "sub '{}' is not a service-account subject (system:serviceaccount:<namespace>:<name>)",
                p.sub
            ),
            "AZURE_FEDERATED_TOKEN_FILE must name the projected service-account token",
        )
    } else {
        match expected_subject {
            Some((component, subject)) if subject != p.sub => Check::failed(
                "token.claims",
                format!(
                    "the token is for '{}', but component {component} runs as '{subject}'",
                    p.sub
                ),
                format!(
                    "run the pod as the component's service account (serviceAccountName: {}), or doctor with the right --component",
                    subject.rsplit(':').next().unwrap_or(subject)
                ),
            ),
            _ => Check::passed(
                "token.claims",
                "an HTTPS issuer, a service-account subject, this cloud's audience",
            ),
        }
    };
    let mut claims = claims
        .with("iss", p.iss.clone())
        .with("sub", p.sub.clone())
        .with("aud", p.aud.join(","));
    if let Some((c, s)) = expected_subject {
        claims = claims.with(format!("{c} runs as"), s);
    }
    checks.push(claims);

    // iat, exp, age.
    checks.push(lifetime(&p, file, now));
    Outcome {
        checks,
        projected: Some(p),
    }
}

fn lifetime(p: &Projected, file: &TokenFile, now: i64) -> Check {
    let (Some(iat), Some(exp)) = (p.iat, p.exp) else {
        return Check::failed(
            "token.lifetime",
            "the token lacks iat or exp; Entra requires both (AADSTS70023)",
            "use the projected service-account token the kubelet writes",
        );
    };
    let life = exp - iat;
    let age = now - iat;
    let file_age = file
        .mtime
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .map(|d| d.as_secs() as i64);
    let rotate_at = life * 8 / 10;
    let show_file_age = file_age.map_or("?".into(), |a| format!("{a} s"));
    let written = |c: Check| {
        c.with("iat", ts(iat))
            .with("exp", ts(exp))
            .with("lifetime", format!("{life} s"))
            .with("age", format!("{age} s"))
            .with("file written", format!("{show_file_age} ago"))
            .with("kubelet rewrites at", format!("{rotate_at} s (80%)"))
    };
    let path = file.path.display();
    let (ns, sa) =
        super::federation::service_account(&p.sub).unwrap_or(("<namespace>", "<service account>"));
    let rotate_fix = format!(
        "the kubelet rewrites {path} at 80% of the token's lifetime; mount the projected volume (do not copy the file) and recreate the pod; locally: wid issuer token --namespace {ns} --service-account {sa} --write {path}"
    );
    if life > 86_400 + 3_600 {
        return written(Check::failed(
            "token.lifetime",
            format!("the token lives {life} s; Entra accepts at most 25 hours (AADSTS70023)"),
            "set the projected token's expirationSeconds to at most 86400",
        ));
    }
    if exp <= now {
        return written(Check::failed(
            "token.lifetime",
            format!(
                "the token expired {} s ago; the file was last written {show_file_age} ago, so nothing rotates it (AADSTS700024)",
                now - exp
            ),
            rotate_fix,
        ));
    }
    if iat > now + 300 {
        return written(Check::failed(
            "token.lifetime",
            format!(
                "the token was issued {} s in the future: this clock is behind the cluster's",
                iat - now
            ),
            "synchronise the clocks (NTP)",
        ));
    }
    if age > rotate_at + 60 {
        return written(Check::warned(
            "token.lifetime",
            format!(
                "the token is {age} s old, past the kubelet's rewrite at {rotate_at} s: the file is not being rotated; it expires in {} s",
                exp - now
            ),
            rotate_fix,
        ));
    }
    written(Check::passed(
        "token.lifetime",
        format!("valid for {} s more", exp - now),
    ))
}

/// `token.clock_skew`: this clock against the `Date` of the token service.
pub async fn clock_skew(
    net: &Net,
    authority: &str,
    tenant: Option<&str>,
    now: impl Fn() -> i64,
) -> Check {
    const ID: &str = "token.clock_skew";
    let started = Instant::now();
    let url = format!(
        "{}/{}/v2.0/.well-known/openid-configuration",
        authority.trim_end_matches('/'),
        tenant.unwrap_or("organizations")
    );
    match net.get(&url, None).await {
        Err(e) => Check::failed(
            ID,
            format!("the token service did not answer: {e}"),
            format!(
                "check AZURE_AUTHORITY_HOST ({authority}) and the network path from the pod to it"
            ),
        )
        .with("url", url)
        .timed(started),
        Ok(a) => {
            let local = now();
            let Some(server) = a
                .headers
                .get("date")
                .and_then(|d| d.to_str().ok())
                .and_then(http_date)
            else {
                return Check::warned(ID, "the token service sent no Date header", "none needed")
                    .with("url", url)
                    .timed(started);
            };
            let skew = local - server;
            let c = if skew.abs() > 300 {
                Check::failed(
                    ID,
                    format!(
                        "this clock is {skew} s off the token service's; Entra rejects assertions outside their time window (AADSTS700024)"
                    ),
                    "synchronise this machine's clock (NTP)",
                )
            } else if skew.abs() > 60 {
                Check::warned(
                    ID,
                    format!("this clock is {skew} s off the token service's"),
                    "synchronise this machine's clock (NTP)",
                )
            } else {
                Check::passed(ID, format!("{skew} s off the token service's clock"))
            };
            c.with("url", url)
                .with("local time", wid_model::time_fmt::rfc3339(local))
                .with("token service Date", wid_model::time_fmt::rfc3339(server))
                .timed(started)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wid_model::cloud::{AZURE_CLOUD, AZURE_US_GOVERNMENT};

    fn file(claims: &str) -> TokenFile {
        let b = |v: &str| wid_jose::b64url(v.as_bytes());
        TokenFile {
            path: "/t".into(),
            jwt: wid_credential::Secret::new(format!(
                "{}.{}.sig",
                b(r#"{"alg":"RS256","kid":"k"}"#),
                b(claims)
            )),
            mtime: Some(SystemTime::now()),
        }
    }

    fn status(o: &Outcome, id: &str) -> (super::super::report::Status, String) {
        let c = o.checks.iter().find(|c| c.id == id).unwrap();
        (c.status, c.summary.clone())
    }

    #[test]
    fn judges_claims_for_the_cloud_and_component() {
        use super::super::report::Status;
        let f = file(
            r#"{"iss":"https://i/","sub":"system:serviceaccount:a:b","aud":["api://AzureADTokenExchange"],"iat":1000,"exp":4600}"#,
        );
        let o = check(&AZURE_CLOUD, Some(&f), None, 1100);
        assert_eq!(status(&o, "token.claims").0, Status::Passed);
        assert_eq!(status(&o, "token.lifetime").0, Status::Passed);
        let (st, why) = status(
            &check(&AZURE_US_GOVERNMENT, Some(&f), None, 1100),
            "token.claims",
        );
        assert_eq!(st, Status::Failed);
        assert!(
            why.contains("the audience of AzureCloud")
                && why.contains("api://AzureADTokenExchangeUSGov"),
            "{why}"
        );
        let (st, why) = status(
            &check(
                &AZURE_CLOUD,
                Some(&f),
                Some(("worker", "system:serviceaccount:a:w")),
                1100,
            ),
            "token.claims",
        );
        assert_eq!(st, Status::Failed);
        assert!(why.contains("component worker runs as"), "{why}");
        // Past the kubelet's 80% rewrite, not yet expired: a warning; expired: a failure.
        assert_eq!(
            status(
                &check(&AZURE_CLOUD, Some(&f), None, 1000 + 3000),
                "token.lifetime"
            )
            .0,
            Status::Warned
        );
        assert_eq!(
            status(&check(&AZURE_CLOUD, Some(&f), None, 4600), "token.lifetime").0,
            Status::Failed
        );
        let incluster = file(
            r#"{"iss":"https://kubernetes.default.svc.cluster.local","sub":"system:serviceaccount:a:b","aud":"api://AzureADTokenExchange","iat":1,"exp":2}"#,
        );
        let (st, why) = status(
            &check(&AZURE_CLOUD, Some(&incluster), None, 1),
            "token.claims",
        );
        assert_eq!(st, Status::Failed);
        assert!(why.contains("in-cluster"), "{why}");
        let long = file(
            r#"{"iss":"https://i/","sub":"system:serviceaccount:a:b","aud":"api://AzureADTokenExchange","iat":0,"exp":200000}"#,
        );
        assert!(
            status(&check(&AZURE_CLOUD, Some(&long), None, 1), "token.lifetime")
                .1
                .contains("AADSTS70023")
        );
    }

    /// A loopback HTTP server that answers once with this `Date`.
    async fn dated_server(date: &'static str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move {
            if let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf).await;
                let r = format!(
                    "HTTP/1.1 400 Bad Request\r\ndate: {date}\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
                );
                let _ = s.write_all(r.as_bytes()).await;
            }
        });
        url
    }

    #[tokio::test]
    async fn clock_skew_against_the_token_services_date() {
        use super::super::report::Status;
        let net = Net::new(reqwest::Client::new(), std::time::Duration::from_secs(2));
        let date = "Thu, 03 Dec 2026 07:31:48 GMT";
        let server = 1_796_283_108;
        let url = dated_server(date).await;
        let c = clock_skew(&net, &url, Some("t"), || server + 10).await;
        assert_eq!(c.status, Status::Passed, "{c:?}");
        let url = dated_server(date).await;
        let c = clock_skew(&net, &url, Some("t"), || server + 120).await;
        assert_eq!(c.status, Status::Warned, "{c:?}");
        let url = dated_server(date).await;
        let c = clock_skew(&net, &url, Some("t"), || server - 900).await;
        assert_eq!(c.status, Status::Failed, "{c:?}");
        assert!(
            c.summary.contains("-900 s off") && c.summary.contains("AADSTS700024"),
            "{}",
            c.summary
        );
    }

    #[test]
    fn decodes_claims_and_rejects_garbage() {
        let b = |v: &str| wid_jose::b64url(v.as_bytes());
        let jwt = format!(
            "{}.{}.sig",
            b(r#"{"alg":"RS256","kid":"k1"}"#),
            b(
                r#"{"iss":"https://i/","sub":"system:serviceaccount:a:b","aud":["x"],"iat":1,"exp":2}"#
            )
        );
        let p = decode(&jwt).unwrap();
        assert_eq!(
            (p.kid.as_deref(), p.aud.clone(), p.exp),
            (Some("k1"), vec!["x".to_string()], Some(2))
        );
        assert!(decode("a.b").unwrap_err().contains("2 dot-separated"));
        assert!(decode("!.!.!").unwrap_err().contains("header"));
    }
}
