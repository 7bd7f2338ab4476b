//! Thousands of generated requests, most of them malformed, to every system `wid up` plays
//! (ARM, the token service, IMDS, Graph, the issuer, the connections API, the cloud metadata
//! document), through the server's router without a socket (`oneshot`): none is answered with
//! a 5xx, and every refusal is in the shape of the system it went to. The generator is seeded,
//! so a failure names the seed and the request, and replays.

use axum::body::Body;
use axum::http::{Request, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::*;

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    /// A string of awkward characters.
    fn junk(&mut self) -> String {
        const PARTS: [&str; 16] = [
            "a", "Z", "0", "-", "_", ".", "%", "%2F", "%00", "é", "💥", "'", "\"", "..", "~", "%ZZ",
        ];
        let n = 1 + self.below(12);
        (0..n).map(|_| *self.pick(&PARTS)).collect()
    }
    fn maybe_case(&mut self, s: &str) -> String {
        if self.chance(30) {
            s.chars()
                .map(|c| {
                    if self.chance(50) {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect()
        } else {
            s.to_string()
        }
    }
}

/// Which system a path belongs to, for the shape of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum System {
    Arm,
    Sts,
    Imds,
    Graph,
    Api,
    Other,
}

struct Ctx {
    sub: String,
    tenant: String,
    arm_token: String,
    api_key: String,
}

fn segment(r: &mut Rng, real: &str) -> String {
    match r.below(4) {
        0 => r.junk(),
        1 => wid_model::ids::new_guid(),
        _ => real.to_string(),
    }
}

fn path(r: &mut Rng, c: &Ctx) -> (System, String) {
    let sub = segment(r, &c.sub);
    let rg = segment(r, "rg-airflow");
    let mi = segment(r, "mi-gen");
    let tenant = segment(r, &c.tenant);
    let arm_tail = [
        String::new(),
        format!("/{sub}"),
        format!("/{sub}/resourcegroups"),
        format!("/{sub}/resourceGroups/{rg}"),
        format!("/{sub}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"),
        format!(
            "/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{mi}"
        ),
        format!(
            "/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{mi}/federatedIdentityCredentials/{}",
            segment(r, "fic-gen")
        ),
        format!(
            "/{sub}/resourceGroups/{rg}/providers/Microsoft.Authorization/roleAssignments/{}",
            segment(r, &wid_model::ids::new_guid())
        ),
        format!(
            "/{sub}/providers/Microsoft.Authorization/roleDefinitions/{}",
            segment(r, "acdd72a7-3385-48ef-bd42-f606fba81ae7")
        ),
        format!("/{sub}/{}/{}", r.junk(), r.junk()),
    ];
    let choice = r.below(8);
    let (system, p) = match choice {
        0 | 1 => (System::Arm, format!("/subscriptions{}", r.pick(&arm_tail))),
        2 => (
            System::Sts,
            format!(
                "/{tenant}/{}",
                r.pick(&["oauth2/v2.0/token", "oauth2/token"])
            ),
        ),
        3 => (
            System::Other,
            format!(
                "/{tenant}/{}",
                r.pick(&[
                    "v2.0/.well-known/openid-configuration",
                    ".well-known/openid-configuration",
                    "discovery/v2.0/keys",
                    "discovery/keys",
                ])
            ),
        ),
        4 => (System::Imds, "/metadata/identity/oauth2/token".to_string()),
        5 => {
            let id = segment(r, "x");
            let options = [
                "applications".to_string(),
                format!("applications/{id}"),
                "servicePrincipals".to_string(),
                format!("servicePrincipals/{id}"),
                "directoryObjects/getByIds".to_string(),
            ];
            (System::Graph, format!("/v1.0/{}", r.pick(&options)))
        }
        6 => {
            let conn = segment(r, "azure_wi");
            let dep = segment(r, "prod");
            let options = [
                "connections".to_string(),
                format!("connections/{conn}"),
                "connections/test".to_string(),
                "connections:export".to_string(),
                "deployments".to_string(),
                format!("deployments/{dep}"),
                format!("deployments/{dep}/connections"),
            ];
            (System::Api, format!("/api/v2/{}", r.pick(&options)))
        }
        _ => {
            let (ns, sa) = (r.junk(), r.junk());
            let options = [
                "/metadata/endpoints".to_string(),
                "/issuer/.well-known/openid-configuration".to_string(),
                "/issuer/openid/v1/jwks".to_string(),
                format!("/issuer/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token"),
                "/issuer/keys/rotate".to_string(),
                "/common/discovery/instance".to_string(),
            ];
            (System::Other, r.pick(&options).clone())
        }
    };
    (system, r.maybe_case(&p))
}

fn query(r: &mut Rng) -> String {
    let keys = [
        "api-version",
        "resource",
        "client_id",
        "object_id",
        "msi_res_id",
        "$filter",
        "limit",
        "offset",
        "order_by",
        "connection_id_pattern",
        "purpose",
        "deployment",
        r"$top",
    ];
    let values = [
        "2023-01-31",
        "2022-09-01",
        "2022-04-01",
        "2018-02-01",
        "2022-12-01",
        "2099-01-01",
        "",
        "-1",
        "999999999999999999999",
        "https://management.azure.com/",
        "principalId eq 'x'",
        "a|b|%|%%",
    ];
    let n = r.below(4);
    let mut parts = Vec::new();
    for _ in 0..n {
        let k = *r.pick(&keys);
        let v = if r.chance(25) {
            r.junk()
        } else {
            r.pick(&values).to_string()
        };
        parts.push(format!("{k}={v}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

fn json_value(r: &mut Rng, depth: u32) -> Value {
    match r.below(if depth > 3 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(r.chance(50)),
        2 => json!(r.next() as i64),
        3 => json!(r.junk()),
        4 => json!(r.pick(&[
            "eastus",
            "api://AzureADTokenExchange",
            "azure",
            "https://x/",
            "***"
        ])),
        5 => Value::Array((0..r.below(4)).map(|_| json_value(r, depth + 1)).collect()),
        _ => {
            let keys = [
                "location",
                "properties",
                "issuer",
                "subject",
                "audiences",
                "connection_id",
                "conn_type",
                "password",
                "extra",
                "port",
                "roleDefinitionId",
                "principalId",
                "ids",
                "identifierUris",
                "displayName",
                "actions",
            ];
            let mut o = serde_json::Map::new();
            for _ in 0..r.below(5) {
                let k = if r.chance(20) {
                    r.junk()
                } else {
                    r.pick(&keys).to_string()
                };
                o.insert(k, json_value(r, depth + 1));
            }
            Value::Object(o)
        }
    }
}

fn body(r: &mut Rng, system: System) -> (Option<&'static str>, Vec<u8>) {
    match r.below(6) {
        0 => (None, Vec::new()),
        1 => (
            Some("application/json"),
            (0..r.below(64)).map(|_| r.next() as u8).collect(),
        ),
        2 if system == System::Sts => {
            let keys = [
                "grant_type",
                "client_id",
                "scope",
                "resource",
                "client_assertion",
                "client_assertion_type",
                "client_secret",
            ];
            let mut pairs = Vec::new();
            for _ in 0..r.below(9) {
                let k = *r.pick(&keys);
                let v = match r.below(4) {
                    0 => r.junk(),
                    1 => "client_credentials".to_string(),
                    2 => "https://management.azure.com/.default".to_string(),
                    _ => "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln".to_string(),
                };
                pairs.push((k, v));
            }
            (
                Some("application/x-www-form-urlencoded"),
                serde_urlencoded::to_string(&pairs).unwrap().into_bytes(),
            )
        }
        3 => (Some("application/json"), vec![b'{'; 100 + r.below(300_000)]),
        _ => (
            Some("application/json"),
            serde_json::to_vec(&json_value(r, 0)).unwrap(),
        ),
    }
}

/// Whether a refusal is in the shape of its system.
fn shaped(system: System, v: &Value) -> bool {
    match system {
        System::Arm => v["error"]["code"].is_string() && v["error"]["message"].is_string(),
        System::Sts => v["error"].is_string() && v["error_codes"].is_array(),
        System::Imds => v["error"].is_string(),
        System::Graph => v["error"]["code"].is_string() && v["error"]["message"].is_string(),
        System::Api => !v["detail"].is_null(),
        System::Other => true,
    }
}

#[tokio::test]
async fn generated_requests_never_get_a_server_error() {
    let c = TestCloud::start().await;
    c.federated_identity("mi-gen", "airflow", "airflow-worker")
        .await;
    let ctx = Ctx {
        sub: c.sub.clone(),
        tenant: c.tenant.clone(),
        arm_token: c.admin_token().await,
        api_key: std::fs::read_to_string(c.home.root().join("api-key"))
            .unwrap()
            .trim()
            .to_string(),
    };
    let router = c.server.as_ref().unwrap().router.clone();
    let mut by_status = std::collections::BTreeMap::<u16, u32>::new();
    const SEEDS: [u64; 3] = [0x005E_ED0F_7E57, 0xC0FF_EE00_0001, 0xBAD_5EED];
    const REQUESTS: u32 = 3000;
    for (seed, n) in SEEDS
        .iter()
        .flat_map(|seed| (0..REQUESTS).map(move |n| (*seed, n)))
    {
        let mut r = Rng(seed ^ u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (system, p) = path(&mut r, &ctx);
        let uri = format!("{p}{}", query(&mut r));
        let method = *r.pick(&[
            "GET", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS",
        ]);
        let mut b = Request::builder()
            .method(method)
            .uri(&uri)
            .header(header::HOST, "127.0.0.1");
        match r.below(5) {
            0 => {}
            1 => b = b.header(header::AUTHORIZATION, format!("Bearer {}", r.junk())),
            2 => b = b.header(header::AUTHORIZATION, format!("Bearer {}", ctx.api_key)),
            _ => b = b.header(header::AUTHORIZATION, format!("Bearer {}", ctx.arm_token)),
        }
        if r.chance(50) {
            b = b.header("Metadata", *r.pick(&["true", "false", "TRUE", ""]));
        }
        let (content_type, bytes) = body(&mut r, system);
        if let Some(t) = content_type {
            b = b.header(header::CONTENT_TYPE, t);
        }
        let Ok(req) = b.body(Body::from(bytes)) else {
            continue; // a URI the HTTP layer itself refuses never reaches the server
        };
        let resp = router.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        *by_status.entry(status).or_default() += 1;
        let bytes = axum::body::to_bytes(resp.into_body(), 16 * 1024 * 1024)
            .await
            .unwrap();
        assert!(
            status < 500,
            "request {n} (seed {seed:#x}, n {n}): {method} {uri} answered {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
        );
        if status >= 400 && method != "HEAD" {
            let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            assert!(
                shaped(system, &v) || (status == 404 || status == 405) && v.is_null(),
                "request {n} (seed {seed:#x}, n {n}): {method} {uri} answered {status} outside the {system:?} shape: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
            );
        }
    }
    eprintln!(
        "statuses of {} generated requests: {by_status:?}",
        3 * REQUESTS
    );
    // The run reached past the front doors: successes and many kinds of refusal.
    assert!(
        by_status.keys().any(|s| (200..300).contains(s)),
        "{by_status:?}"
    );
    assert!(by_status.len() >= 6, "{by_status:?}");
}
