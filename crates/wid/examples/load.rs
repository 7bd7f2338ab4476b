//! Load script: token exchanges over HTTPS against a live `wid up`.
//!
//! ```text
//! wid up &                                   # or with --listen 127.0.0.1:0
//! cargo run --release -p wid --example load -- [REQUESTS] [CONCURRENCY] [tokens|connections]
//! ```
//!
//! `connections` measures `GET /api/v2/connections/{id}` (the connection lookup) instead of
//! token exchanges, with the administrator API key; `pages:OFFSET` measures
//! `GET /api/v2/connections?limit=100&offset=OFFSET` after creating connections until there
//! are 20,000 (`load_page_00000` ...).
//!
//! With `WID_LOAD_WRK=FILE` it writes a `wrk` script for the same request to FILE (mode
//! 0600: it holds the API key or an assertion) after the set-up, so that an outside load
//! generator measures the same thing: `wrk -t2 -c16 -d10s -s FILE https://127.0.0.1:8443`.
//!
//! It finds the server through WID_HOME (server.json, ca.pem, admin.json), creates an
//! identity `load-mi` with a federated credential for system:serviceaccount:load:worker,
//! mints one projected token, then sends REQUESTS (default 2000, at most 100000) token
//! requests from CONCURRENCY (default 16) tasks, for at most 120 s, and prints tokens per
//! second and latency percentiles. Traffic goes only to the local endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wid::home::Home;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let requests: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000)
        .min(100_000);
    let concurrency: usize = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(16)
        .clamp(1, 256);
    let mode = args
        .get(3)
        .map(String::as_str)
        .unwrap_or("tokens")
        .to_string();
    let home = Home::from_env();
    let endpoint =
        wid::client::local_endpoint(&home, std::env::var("WID_ENDPOINT").ok().as_deref());
    assert!(
        endpoint.starts_with("https://127.")
            || endpoint.starts_with("https://localhost")
            || endpoint.starts_with("https://[::1]"),
        "the load script only targets a local wid ({endpoint})"
    );
    let ca = std::fs::read(home.ca_cert()).expect("ca.pem: run wid up first");
    let http = wid::client::http_client(Some(&ca), "ca.pem").unwrap();
    let admin = home.admin().expect("admin.json");
    let form = [
        ("client_id", admin.client_id.as_str()),
        ("client_secret", admin.client_secret.expose_str()),
        ("grant_type", "client_credentials"),
        ("scope", "https://management.azure.com/.default"),
    ];
    let t: Value = http
        .post(format!("{endpoint}/{}/oauth2/v2.0/token", admin.tenant_id))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tok = t["access_token"].as_str().unwrap().to_string();
    let ident = format!(
        "{endpoint}/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/load-mi",
        admin.subscription_id, admin.resource_group
    );
    let v: Value = http
        .put(format!("{ident}?api-version=2023-01-31"))
        .bearer_auth(&tok)
        .json(&json!({"location": "eastus"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = v["properties"]["clientId"].as_str().unwrap().to_string();
    let issuer: Value = http
        .get(format!(
            "{endpoint}/issuer/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fic = json!({"properties": {"issuer": issuer["issuer"], "subject": "system:serviceaccount:load:worker", "audiences": ["api://AzureADTokenExchange"]}});
    let r = http
        .put(format!(
            "{ident}/federatedIdentityCredentials/load-worker?api-version=2023-01-31"
        ))
        .bearer_auth(&tok)
        .json(&fic)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let sa: Value = http
        .post(format!(
            "{endpoint}/issuer/api/v1/namespaces/load/serviceaccounts/worker/token"
        ))
        .bearer_auth(&tok)
        .json(&json!({"spec": {"expirationSeconds": 3600}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let assertion = sa["status"]["token"].as_str().unwrap().to_string();
    let url = format!("{endpoint}/{}/oauth2/v2.0/token", admin.tenant_id);
    let body = serde_urlencoded::to_string([
        ("client_assertion", assertion.as_str()),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_id", client_id.as_str()),
        ("grant_type", "client_credentials"),
        ("scope", "https://management.azure.com/.default"),
    ])
    .unwrap();

    let api_key = std::fs::read_to_string(home.root().join("api-key"))
        .unwrap_or_default()
        .trim()
        .to_string();
    let page_offset = mode
        .strip_prefix("pages:")
        .map(|o| o.parse::<u64>().expect("pages:OFFSET"));
    if page_offset.is_some() {
        seed_pages(&http, &endpoint, &api_key, 20_000).await;
    }
    let request_path = match (mode.as_str(), page_offset) {
        (_, Some(offset)) => format!("/api/v2/connections?limit=100&offset={offset}"),
        ("connections", _) => "/api/v2/connections/load_azure".to_string(),
        _ => format!("/{}/oauth2/v2.0/token", admin.tenant_id),
    };
    if let Ok(file) = std::env::var("WID_LOAD_WRK") {
        let script = if mode == "tokens" {
            format!(
                "wrk.method = \"POST\"\nwrk.path = {:?}\nwrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\nwrk.body = {:?}\n",
                request_path, body
            )
        } else {
            format!(
                "wrk.method = \"GET\"\nwrk.path = {:?}\nwrk.headers[\"Authorization\"] = \"Bearer {api_key}\"\n",
                request_path
            )
        };
        home.write(std::path::Path::new(&file), script.as_bytes(), true)
            .expect("write the wrk script");
    }
    if mode == "connections" {
        let conn = json!({"connection_id": "load_azure", "conn_type": "azure", "extra": format!("{{\"managed_identity_client_id\": \"{client_id}\", \"workload_identity_tenant_id\": \"{}\"}}", admin.tenant_id)});
        let _ = http
            .post(format!("{endpoint}/api/v2/connections"))
            .bearer_auth(&api_key)
            .json(&conn)
            .send()
            .await;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(120);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, url, body, next) = (http.clone(), url.clone(), body.clone(), next.clone());
        let (mode, api_key, conn_url) = (
            mode.clone(),
            api_key.clone(),
            format!("{endpoint}{request_path}"),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            while next.fetch_add(1, Ordering::Relaxed) < requests && Instant::now() < deadline {
                let t0 = Instant::now();
                let r = if mode != "tokens" {
                    http.get(&conn_url).bearer_auth(&api_key).send().await
                } else {
                    http.post(&url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body.clone())
                        .send()
                        .await
                };
                match r {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t0.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        lat.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{mode}: {} requests in {:.2}s with {concurrency} concurrent clients: {:.0} requests/s; p50 {:.2} ms, p99 {:.2} ms; {errors} errors",
        lat.len(),
        elapsed.as_secs_f64(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0
    );
}

/// Creates connections `load_page_NNNNN` until there are `n` of them (16 at a time).
async fn seed_pages(http: &reqwest::Client, endpoint: &str, api_key: &str, n: usize) {
    let v: Value = http
        .get(format!("{endpoint}/api/v2/connections?limit=1"))
        .bearer_auth(api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let have = v["total_entries"].as_u64().unwrap_or(0) as usize;
    let next = Arc::new(AtomicUsize::new(have));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (http, url, key, next) = (
            http.clone(),
            format!("{endpoint}/api/v2/connections"),
            api_key.to_string(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                let c = json!({"connection_id": format!("load_page_{i:05}"), "conn_type": "wasb", "password": format!("p{i}")});
                let r = http.post(&url).bearer_auth(&key).json(&c).send().await.unwrap();
                assert!(
                    r.status().is_success() || r.status().as_u16() == 409,
                    "{}",
                    r.text().await.unwrap_or_default()
                );
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}
