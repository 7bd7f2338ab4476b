//! Check group 4, the issuer, fetched as Entra fetches it: the discovery document at
//! `{iss}/.well-known/openid-configuration` and its `jwks_uri` over HTTPS within the
//! deadline, the document's `issuer` equal to `iss` byte for byte, the token's `kid` among
//! the published keys.

use std::time::Instant;

use super::net::Net;
use super::report::Check;
use super::token::Projected;

/// Runs group 4.
pub async fn check(net: &Net, p: Option<&Projected>) -> Vec<Check> {
    let Some(p) = p.filter(|p| p.iss.starts_with("https://")) else {
        return ["issuer.discovery", "issuer.issuer_match", "issuer.jwks"]
            .into_iter()
            .map(|id| Check::skipped(id, "no HTTPS issuer to fetch (see token checks)"))
            .collect();
    };
    let (ns, sa) =
        super::federation::service_account(&p.sub).unwrap_or(("<namespace>", "<service account>"));
    let started = Instant::now();
    let url = format!(
        "{}/.well-known/openid-configuration",
        p.iss.trim_end_matches('/')
    );
    let fix_reach = "Entra must fetch the issuer's discovery document and JWKS over public HTTPS: check that the issuer URL serves them (AKS: `az aks update --enable-oidc-issuer`; a self-hosted issuer: its storage and firewall); AADSTS50166 otherwise";
    let skip_rest = |why: &str| {
        vec![
            Check::skipped("issuer.issuer_match", why.to_string()),
            Check::skipped("issuer.jwks", why.to_string()),
        ]
    };
    let doc = match net.get(&url, None).await {
        Err(e) => {
            let mut out = vec![
                Check::failed("issuer.discovery", e.to_string(), fix_reach)
                    .with("url", url)
                    .timed(started),
            ];
            out.extend(skip_rest("no discovery document"));
            return out;
        }
        Ok(a) if a.status != 200 || !a.json.is_object() => {
            let mut out = vec![
                Check::failed(
                    "issuer.discovery",
                    format!(
                        "{url} answered HTTP {} without a discovery document",
                        a.status
                    ),
                    fix_reach,
                )
                .with("url", url)
                .with("answer", a.text)
                .timed(started),
            ];
            out.extend(skip_rest("no discovery document"));
            return out;
        }
        Ok(a) => a,
    };
    let mut out = vec![
        Check::passed(
            "issuer.discovery",
            format!("HTTP {}, a discovery document", doc.status),
        )
        .with("url", url.clone())
        .timed(started),
    ];
    let issuer = doc.json["issuer"].as_str().unwrap_or("");
    out.push(if issuer == p.iss {
        Check::passed("issuer.issuer_match", "the document's issuer equals iss byte for byte").with("issuer", issuer)
    } else {
        Check::failed(
            "issuer.issuer_match",
            format!("the document says issuer '{issuer}', the token says iss '{}'; Entra requires them equal byte for byte", p.iss),
            "make the API server's --service-account-issuer exactly the URL the discovery document names (trailing slash included), and federate that same value",
        )
        .with("document issuer", issuer)
        .with("token iss", p.iss.clone())
    });
    let started = Instant::now();
    let Some(jwks_uri) = doc.json["jwks_uri"].as_str() else {
        out.push(Check::failed(
            "issuer.jwks",
            "the discovery document has no jwks_uri",
            "publish jwks_uri in the discovery document",
        ));
        return out;
    };
    let jwks = match net.get(jwks_uri, None).await {
        Err(e) => {
            out.push(
                Check::failed("issuer.jwks", e.to_string(), fix_reach)
                    .with("url", jwks_uri)
                    .timed(started),
            );
            return out;
        }
        Ok(a) if a.status != 200 => {
            out.push(
                Check::failed(
                    "issuer.jwks",
                    format!("{jwks_uri} answered HTTP {}", a.status),
                    fix_reach,
                )
                .with("url", jwks_uri)
                .with("answer", a.text)
                .timed(started),
            );
            return out;
        }
        Ok(a) => a,
    };
    let kids: Vec<String> = jwks.json["keys"]
        .as_array()
        .map(|ks| {
            ks.iter()
                .filter_map(|k| k["kid"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let shown = if kids.is_empty() {
        "(none)".to_string()
    } else {
        kids.join(", ")
    };
    out.push(match &p.kid {
        Some(kid) if kids.contains(kid) => Check::passed("issuer.jwks", format!("kid {kid} is published"))
            .with("url", jwks_uri)
            .with("kids", shown)
            .timed(started),
        Some(kid) => Check::failed(
            "issuer.jwks",
            format!("the token's kid {kid} is not in the issuer's JWKS: the token was signed by a key the issuer does not publish (AADSTS7000272)"),
            format!("the token comes from another cluster or a signing key that was rotated out: recreate the pod so the kubelet writes a token signed with a published key (locally: wid issuer token --namespace {ns} --service-account {sa} --write FILE); if the issuer rotated keys, keep the old key in the JWKS until its tokens expire"),
        )
        .with("url", jwks_uri)
        .with("token kid", kid.clone())
        .with("kids", shown)
        .timed(started),
        None => Check::warned(
            "issuer.jwks",
            "the token has no kid; Entra must try every key",
            "sign service-account tokens with a kid in the header",
        )
        .with("kids", shown)
        .timed(started),
    });
    out
}
