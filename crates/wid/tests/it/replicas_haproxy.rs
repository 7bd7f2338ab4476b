//! Three `wid up` processes on one PostgreSQL behind HAProxy (Debian's, started here with its
//! own configuration, TCP passthrough, health checks on `/readyz`): token exchanges through
//! the load balancer, by wid's workload identity credential and by the unmodified Python
//! azure-identity in their own processes, each with its own retry policy, while one replica
//! is killed with SIGKILL and another is stopped with SIGTERM and started again: no client
//! sees a failure and no acknowledged ARM write is lost. Key rotation through one replica
//! process is used and published by the others.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wid_credential::{ClientSecretCredential, Pipeline, Secret, WorkloadIdentityCredential};

use crate::common::SCOPE_ARM;
use crate::replicas::PgDb;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn haproxy_bin() -> PathBuf {
    ["/usr/sbin/haproxy", "/usr/bin/haproxy"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("haproxy is required (apt-get install haproxy)")
}

fn replica(home: &Path, port: u16, db: &str, public: &str) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_wid"))
            .args(["up", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", db, "--public-url", public])
            .env("WID_HOME", home)
            .env("WID_LOG", "warn")
            .env("WID_KEY_REFRESH_MS", "500")
            .env("WID_DRAIN_SECONDS", "1")
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn wid up"),
    )
}

async fn wait_ready(http: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(format!("{url}/readyz")).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(Instant::now() < deadline, "{url} did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends a request that must get an answer, and reads its JSON body.
trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::RequestBuilder {
    async fn json_value(self) -> Value {
        self.send().await.unwrap().json().await.unwrap()
    }
}

/// An ARM request with a client's retry policy for transport errors and 5xx.
async fn arm_put(http: &reqwest::Client, url: &str, token: &str, body: &Value) -> Option<u16> {
    for attempt in 0..6u64 {
        match http.put(url).bearer_auth(token).json(body).send().await {
            Ok(r) if r.status().as_u16() < 500 => return Some(r.status().as_u16()),
            _ => tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await,
        }
    }
    None
}

/// `n` replicas behind HAProxy, with an identity federated with the shared issuer and a
/// projected token for it.
struct Cluster {
    db: PgDb,
    home: PathBuf,
    public: String,
    ports: Vec<u16>,
    procs: Vec<Option<Proc>>,
    _haproxy: Proc,
    http: reqwest::Client,
    tenant: String,
    client_id: String,
    token_file: PathBuf,
    arm_token: String,
    rg: String,
    /// Last: removed after the processes that use it have been killed.
    _dir: tempfile::TempDir,
}

async fn cluster(n: usize) -> Cluster {
    let db = PgDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let lb = free_port();
    let public = format!("https://127.0.0.1:{lb}");
    let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
    let mut procs: Vec<Option<Proc>> = vec![Some(replica(&home, ports[0], &db.url, &public))];
    // The first start creates the data directory (CA, keys files); wait before sharing it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !home.join("admin.json").exists() || !home.join("ca.pem").exists() {
        assert!(Instant::now() < deadline, "first replica did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ca = std::fs::read(home.join("ca.pem")).unwrap();
    let http = wid::client::http_client(Some(&ca), "ca.pem").unwrap();
    wait_ready(&http, &format!("https://127.0.0.1:{}", ports[0])).await;
    for &p in &ports[1..] {
        procs.push(Some(replica(&home, p, &db.url, &public)));
    }
    for &p in &ports {
        wait_ready(&http, &format!("https://127.0.0.1:{p}")).await;
    }

    let cfg = dir.path().join("haproxy.cfg");
    let servers: String = ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("  server r{i} 127.0.0.1:{p}\n"))
        .collect();
    std::fs::write(
        &cfg,
        format!(
            "global\n  maxconn 1000\n\
             defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n  retries 3\n  option redispatch\n\
             frontend fe\n  bind 127.0.0.1:{lb}\n  default_backend be\n\
             backend be\n  balance roundrobin\n  option httpchk GET /readyz\n  http-check expect status 200\n\
             \x20 default-server check check-ssl verify none inter 200ms fall 2 rise 2\n{servers}"
        ),
    )
    .unwrap();
    let haproxy = Proc(
        Command::new(haproxy_bin())
            .args(["-db", "-f"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn haproxy"),
    );
    wait_ready(&http, &public).await;

    // Set-up through the load balancer: an identity federated with the (shared) issuer.
    let admin: Value =
        serde_json::from_slice(&std::fs::read(home.join("admin.json")).unwrap()).unwrap();
    let tenant = admin["tenant_id"].as_str().unwrap().to_string();
    let sub = admin["subscription_id"].as_str().unwrap().to_string();
    let arm_token = ClientSecretCredential::new(
        &public,
        &tenant,
        admin["client_id"].as_str().unwrap(),
        Secret::new(admin["client_secret"].as_str().unwrap().to_string()),
        http.clone(),
    )
    .get_token(SCOPE_ARM, 0)
    .await
    .unwrap()
    .token
    .expose_str()
    .to_string();
    let rg = format!("{public}/subscriptions/{sub}/resourceGroups/rg-airflow");
    let id_url =
        format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/airflow-mi");
    let r: Value = http
        .put(format!("{id_url}?api-version=2023-01-31"))
        .bearer_auth(&arm_token)
        .json(&json!({"location": "eastus"}))
        .json_value()
        .await;
    let client_id = r["properties"]["clientId"].as_str().unwrap().to_string();
    let s = arm_put(
        &http,
        &format!("{id_url}/federatedIdentityCredentials/airflow?api-version=2023-01-31"),
        &arm_token,
        &json!({"properties": {"issuer": format!("{public}/issuer/"), "subject": "system:serviceaccount:airflow:worker", "audiences": ["api://AzureADTokenExchange"]}}),
    )
    .await;
    assert_eq!(s, Some(201));
    let tr: Value = http
        .post(format!(
            "{public}/issuer/api/v1/namespaces/airflow/serviceaccounts/worker/token"
        ))
        .bearer_auth(&arm_token)
        .json(&json!({"spec": {"audiences": ["api://AzureADTokenExchange"], "expirationSeconds": 3600}}))
        .json_value()
        .await;
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, tr["status"]["token"].as_str().unwrap()).unwrap();

    Cluster {
        db,
        home,
        public,
        ports,
        procs,
        _haproxy: haproxy,
        http,
        tenant,
        client_id,
        token_file,
        arm_token,
        rg,
        _dir: dir,
    }
}

/// Runs `workers` clients exchanging tokens (a new credential each time, so no cache) until
/// `stop`; returns the successes and every failure a client saw.
fn exchange_load(
    c: &Cluster,
    workers: usize,
    stop: &Arc<AtomicBool>,
) -> (Arc<AtomicU64>, Vec<tokio::task::JoinHandle<Vec<String>>>) {
    let ok = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for _ in 0..workers {
        let (stop, ok, http) = (stop.clone(), ok.clone(), c.http.clone());
        let (client_id, tenant, public, token_file) = (
            c.client_id.clone(),
            c.tenant.clone(),
            c.public.clone(),
            c.token_file.clone(),
        );
        handles.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let cred = WorkloadIdentityCredential::new(
                    Some(&client_id),
                    Some(&tenant),
                    Some(&token_file),
                    Some(&public),
                    Pipeline::new(http.clone()),
                )
                .unwrap();
                match cred.get_token(&[SCOPE_ARM]).await {
                    Ok(_) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => failures.push(e.to_string()),
                }
            }
            failures
        }));
    }
    (ok, handles)
}

/// `n` Python processes running `tests/python/exchange_loop.py` through the load balancer
/// until `stop_file` exists.
fn python_load(c: &Cluster, n: usize, stop_file: &Path) -> Vec<Child> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/exchange_loop.py");
    (0..n)
        .map(|_| {
            Command::new(crate::cli_session::python())
                .arg(&script)
                .arg(stop_file)
                .env("AZURE_CLIENT_ID", &c.client_id)
                .env("AZURE_TENANT_ID", &c.tenant)
                .env("AZURE_FEDERATED_TOKEN_FILE", &c.token_file)
                .env("AZURE_AUTHORITY_HOST", &c.public)
                .env("REQUESTS_CA_BUNDLE", c.home.join("ca.pem"))
                .env_remove("HTTPS_PROXY")
                .env_remove("https_proxy")
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn python")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_behind_haproxy_survive_a_kill_and_a_restart() {
    let mut c = cluster(3).await;
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, workers) = exchange_load(&c, 3, &stop);
    let stop_file = c.home.join("stop-python");
    let pythons = python_load(&c, 2, &stop_file);
    let writer = {
        let (stop, http, rg, arm_token) = (
            stop.clone(),
            c.http.clone(),
            c.rg.clone(),
            c.arm_token.clone(),
        );
        tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let name = format!("w-{n}");
                n += 1;
                let url = format!(
                    "{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}?api-version=2023-01-31"
                );
                if let Some(s) =
                    arm_put(&http, &url, &arm_token, &json!({"location": "eastus"})).await
                    && (s == 200 || s == 201)
                {
                    acked.push(name);
                }
            }
            acked
        })
    };

    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // SIGKILL one replica: its connections break mid-request.
    c.procs[1].take();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Stop another gracefully (it drains, then stops) and start it again on its port.
    let pid = c.procs[2].as_ref().unwrap().0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let _ = tokio::task::spawn_blocking({
        let mut p = c.procs[2].take().unwrap();
        move || {
            // Its own exit after the drain; dropping it then kills nothing.
            p.0.wait()
        }
    })
    .await;
    c.procs[2] = Some(replica(&c.home, c.ports[2], &c.db.url, &c.public));
    wait_ready(&c.http, &format!("https://127.0.0.1:{}", c.ports[2])).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    std::fs::write(&stop_file, b"stop").unwrap();
    let elapsed = start.elapsed();

    let mut failures = Vec::new();
    for w in workers {
        failures.extend(w.await.unwrap());
    }
    let mut python_ok = 0;
    for p in pythons {
        let out = tokio::task::spawn_blocking(move || p.wait_with_output().unwrap())
            .await
            .unwrap();
        assert!(out.status.success(), "python exited with {}", out.status);
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
        python_ok += v["ok"].as_u64().unwrap();
        for f in v["failures"].as_array().unwrap() {
            failures.push(format!("azure-identity: {f}"));
        }
    }
    assert!(python_ok > 0, "the Python clients exchanged nothing");
    eprintln!("haproxy load: azure-identity clients made {python_ok} exchanges");
    let acked = writer.await.unwrap();
    let exchanges = ok.load(Ordering::Relaxed);
    eprintln!(
        "haproxy load: {exchanges} exchanges in {:.1} s ({:.0}/s) with a SIGKILL and a restart; {} writes acknowledged",
        elapsed.as_secs_f64(),
        exchanges as f64 / elapsed.as_secs_f64(),
        acked.len()
    );
    assert!(failures.is_empty(), "clients saw failures: {failures:?}");
    assert!(exchanges > 0 && !acked.is_empty());

    // Every acknowledged write is there, read through the load balancer.
    let list: Value = c
        .http
        .get(format!(
            "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2023-01-31",
            c.rg
        ))
        .bearer_auth(&c.arm_token)
        .json_value()
        .await;
    let names: std::collections::HashSet<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for a in &acked {
        assert!(names.contains(a.as_str()), "acknowledged write {a} is lost");
    }
    let db = std::mem::replace(&mut c.db, PgDb::placeholder());
    drop(c);
    db.drop_db().await;
}

/// Exchanges per second through HAProxy with 1, 2 and 3 replicas (no faults). A measurement,
/// not a check: `scripts/load-replicas` runs it and prints the figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: scripts/load-replicas"]
async fn haproxy_throughput_with_1_2_3_replicas() {
    let secs: u64 = std::env::var("WID_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let workers: usize = std::env::var("WID_LOAD_CLIENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    for n in 1..=3 {
        let mut c = cluster(n).await;
        let stop = Arc::new(AtomicBool::new(false));
        let (ok, handles) = exchange_load(&c, workers, &stop);
        let start = Instant::now();
        tokio::time::sleep(Duration::from_secs(secs)).await;
        stop.store(true, Ordering::Relaxed);
        let elapsed = start.elapsed();
        let mut failures = 0;
        for h in handles {
            failures += h.await.unwrap().len();
        }
        let done = ok.load(Ordering::Relaxed);
        println!(
            "replicas={n} clients={workers} exchanges={done} seconds={:.1} per_second={:.0} failures={failures}",
            elapsed.as_secs_f64(),
            done as f64 / elapsed.as_secs_f64()
        );
        let db = std::mem::replace(&mut c.db, PgDb::placeholder());
        drop(c);
        db.drop_db().await;
    }
}

/// The `kid` in a JWT's header.
fn kid_of(token: &str) -> String {
    wid_jose::UnverifiedJwt::parse(token)
        .unwrap()
        .kid()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_through_one_replica_process_is_used_by_every_other() {
    let mut c = cluster(3).await;
    let direct: Vec<String> = c
        .ports
        .iter()
        .map(|p| format!("https://127.0.0.1:{p}"))
        .collect();
    // Reader on the subscription, so that each access token can read it on every replica.
    let admin: Value =
        serde_json::from_slice(&std::fs::read(c.home.join("admin.json")).unwrap()).unwrap();
    let sub = admin["subscription_id"].as_str().unwrap().to_string();
    let id_url = format!(
        "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/airflow-mi?api-version=2023-01-31",
        c.rg
    );
    let identity: Value = c
        .http
        .get(&id_url)
        .bearer_auth(&c.arm_token)
        .json_value()
        .await;
    let principal = identity["properties"]["principalId"].as_str().unwrap();
    let reader = wid_model::rbac::RoleDefinition::find("Reader")
        .unwrap()
        .arm_id(&sub);
    let s = arm_put(
        &c.http,
        &format!(
            "{}/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{}?api-version=2022-04-01",
            c.public,
            wid_model::ids::new_guid()
        ),
        &c.arm_token,
        &json!({"properties": {"roleDefinitionId": reader, "principalId": principal, "principalType": "ServicePrincipal"}}),
    )
    .await;
    assert_eq!(s, Some(201));

    // Rotate both keys through the first replica's own port.
    let mut new_kid = std::collections::HashMap::new();
    let mut old_kid = std::collections::HashMap::new();
    for purpose in ["issuer", "sts"] {
        let r = c
            .http
            .post(format!(
                "{}/issuer/keys/rotate?purpose={purpose}",
                direct[0]
            ))
            .bearer_auth(&c.arm_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        new_kid.insert(purpose, v["active_kid"].as_str().unwrap().to_string());
        let published: Vec<String> = v["published_kids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        old_kid.insert(purpose, published);
    }
    let rotated = Instant::now();

    // Each replica signs with the new keys within its refresh interval (500 ms here).
    let sub_url = |base: &str| format!("{base}/subscriptions/{sub}?api-version=2022-12-01");
    let mut minted = Vec::new();
    for base in &direct {
        loop {
            let tr: Value = c
                .http
                .post(format!(
                    "{base}/issuer/api/v1/namespaces/airflow/serviceaccounts/worker/token"
                ))
                .bearer_auth(&c.arm_token)
                .json(&json!({"spec": {"audiences": ["api://AzureADTokenExchange"]}}))
                .json_value()
                .await;
            let token = tr["status"]["token"].as_str().unwrap().to_string();
            if kid_of(&token) == new_kid["issuer"] {
                minted.push(token);
                break;
            }
            assert!(
                rotated.elapsed() < Duration::from_secs(5),
                "{base} still signs with the old issuer key"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // A projected token minted by X is exchanged at Y, and Y's access token is accepted by
    // ARM on Z: nine exchanges, twenty-seven reads.
    for (x, assertion) in minted.iter().enumerate() {
        for y in &direct {
            let r = c
                .http
                .post(format!("{y}/{}/oauth2/v2.0/token", c.tenant))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", c.client_id.as_str()),
                    ("scope", SCOPE_ARM),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let status = r.status();
            let v: Value = r.json().await.unwrap();
            assert_eq!(status, 200, "minted by replica {x}, exchanged at {y}: {v}");
            let access = v["access_token"].as_str().unwrap();
            assert_eq!(kid_of(access), new_kid["sts"], "{y} signs with the new key");
            for z in &direct {
                let r = c
                    .http
                    .get(sub_url(z))
                    .bearer_auth(access)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200, "a token from {y} read at {z}");
            }
        }
    }
    // Every replica publishes the new keys and keeps the retired ones.
    for base in &direct {
        for (purpose, path) in [
            ("sts", format!("{base}/{}/discovery/v2.0/keys", c.tenant)),
            ("issuer", format!("{base}/issuer/openid/v1/jwks")),
        ] {
            let jwks: Value = c.http.get(&path).json_value().await;
            let kids: Vec<&str> = jwks["keys"]
                .as_array()
                .unwrap_or_else(|| panic!("{path}: {jwks}"))
                .iter()
                .map(|k| k["kid"].as_str().unwrap())
                .collect();
            for k in &old_kid[purpose] {
                assert!(kids.contains(&k.as_str()), "{path} lacks {k}: {kids:?}");
            }
        }
    }
    let db = std::mem::replace(&mut c.db, PgDb::placeholder());
    drop(c);
    db.drop_db().await;
}
