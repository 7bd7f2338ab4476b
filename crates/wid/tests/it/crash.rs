//! Crashes lose nothing: `wid up` as a process takes 1,000 concurrent writes (identities,
//! federated credentials, role assignments, connections) through ARM and the API, is killed
//! with SIGKILL at a moment drawn at random while they are in flight, and restarted on the same
//! data. Every write it acknowledged is there, and nothing is half-written: every identity has
//! its principal, one identity's credentials stay within 20 with unique subjects, every
//! connection decrypts. On SQLite and on PostgreSQL.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;
use wid_credential::{ClientSecretCredential, Secret};
use wid_model::Clock;

const WID: &str = env!("CARGO_BIN_EXE_wid");
const API: &str = "2023-01-31";

/// `wid up` as a process; killed with SIGKILL when dropped.
struct Up(Child);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn up(home: &Path, database_url: Option<&str>) -> (Up, String) {
    let _ = std::fs::remove_file(home.join("server.json"));
    let mut cmd = Command::new(WID);
    cmd.args(["up", "--listen", "127.0.0.1:0", "--fic-write-ms", "0"])
        .env("WID_HOME", home)
        .env("WID_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    let child = Up(cmd.spawn().expect("spawn wid up"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(b) = std::fs::read(home.join("server.json"))
            && let Ok(v) = serde_json::from_slice::<Value>(&b)
        {
            return (child, v["endpoint"].as_str().unwrap().to_string());
        }
        assert!(Instant::now() < deadline, "wid up did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The administrator's clients of one running server.
#[derive(Clone)]
struct Admin {
    http: reqwest::Client,
    endpoint: String,
    arm_token: String,
    api_key: String,
    sub: String,
}

impl Admin {
    async fn new(home: &Path, endpoint: &str) -> Admin {
        let ca = std::fs::read(home.join("ca.pem")).unwrap();
        let http = wid::client::http_client(Some(&ca), "ca.pem").unwrap();
        let admin: Value =
            serde_json::from_slice(&std::fs::read(home.join("admin.json")).unwrap()).unwrap();
        let s = |k: &str| admin[k].as_str().unwrap().to_string();
        let arm_token = ClientSecretCredential::new(
            endpoint,
            &s("tenant_id"),
            &s("client_id"),
            Secret::new(s("client_secret")),
            http.clone(),
        )
        .get_token(
            "https://management.azure.com/.default",
            wid_model::SystemClock.now(),
        )
        .await
        .expect("admin token")
        .token
        .expose_str()
        .to_string();
        let api_key = std::fs::read_to_string(home.join("api-key"))
            .unwrap()
            .trim()
            .to_string();
        let subs: Value = http
            .get(format!("{endpoint}/subscriptions?api-version=2022-12-01"))
            .bearer_auth(&arm_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let sub = subs["value"][0]["subscriptionId"]
            .as_str()
            .unwrap()
            .to_string();
        Admin {
            http,
            endpoint: endpoint.to_string(),
            arm_token,
            api_key,
            sub,
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        arm: bool,
        body: Option<&Value>,
    ) -> Option<(u16, Value)> {
        let token = if arm { &self.arm_token } else { &self.api_key };
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.endpoint))
            .bearer_auth(token)
            .timeout(Duration::from_secs(20));
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb.send().await.ok()?;
        let status = resp.status().as_u16();
        let v = resp.json().await.unwrap_or(Value::Null);
        Some((status, v))
    }

    fn identity(&self, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/rg-airflow/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
            self.sub
        )
    }
}

/// What the server acknowledged.
#[derive(Default, Debug)]
struct Acked {
    identities: Vec<String>,
    credentials: Vec<String>,
    assignments: Vec<String>,
    connections: Vec<String>,
}

const ROLES: [&str; 4] = [
    "acdd72a7-3385-48ef-bd42-f606fba81ae7", // Reader
    "b24988ac-6180-42a0-ab88-20f7382dd24c", // Contributor
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe", // Storage Blob Data Contributor
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", // Storage Blob Data Reader
];

async fn write(a: &Admin, i: usize, principal: &str, acked: &Mutex<Acked>) {
    match i % 4 {
        0 => {
            let name = format!("mi-{i}");
            if let Some((s, _)) = a
                .send(
                    Method::PUT,
                    &format!("{}?api-version={API}", a.identity(&name)),
                    true,
                    Some(&json!({"location": "eastus"})),
                )
                .await
                && (s == 200 || s == 201)
            {
                acked.lock().unwrap().identities.push(name);
            }
        }
        1 => {
            let name = format!("f-{i}");
            let body = json!({"properties": {"issuer": "https://issuer.example/", "subject": format!("system:serviceaccount:crash:sa-{i}"), "audiences": ["api://AzureADTokenExchange"]}});
            if let Some((201, _)) = a
                .send(
                    Method::PUT,
                    &format!(
                        "{}/federatedIdentityCredentials/{name}?api-version={API}",
                        a.identity("mi-fics")
                    ),
                    true,
                    Some(&body),
                )
                .await
            {
                acked.lock().unwrap().credentials.push(name);
            }
        }
        2 => {
            let name = wid_model::ids::new_guid();
            let role = ROLES[(i / 4) % ROLES.len()];
            let body = json!({"properties": {"roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role}", a.sub), "principalId": principal, "principalType": "ServicePrincipal"}});
            if let Some((201, _)) = a
                .send(Method::PUT, &format!("/subscriptions/{}/resourceGroups/rg-airflow/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=2022-04-01", a.sub), true, Some(&body))
                .await
            {
                acked.lock().unwrap().assignments.push(name);
            }
        }
        _ => {
            let id = format!("c_{i}");
            let body = json!({"connection_id": id, "conn_type": "postgres", "host": "db", "login": "u", "password": format!("pw-{i}"), "extra": json!({"sslkey": format!("k-{i}")}).to_string()});
            if let Some((201, _)) = a
                .send(Method::POST, "/api/v2/connections", false, Some(&body))
                .await
            {
                acked.lock().unwrap().connections.push(id);
            }
        }
    }
}

async fn crash_and_restart(database_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (server, endpoint) = up(&home, database_url);
    let a = Admin::new(&home, &endpoint).await;
    // The identity that takes credentials and role assignments, before the storm.
    let (s, v) = a
        .send(
            Method::PUT,
            &format!("{}?api-version={API}", a.identity("mi-fics")),
            true,
            Some(&json!({"location": "eastus"})),
        )
        .await
        .unwrap();
    assert!(s == 201 || s == 200, "{v}");
    let principal = v["properties"]["principalId"].as_str().unwrap().to_string();

    // 1,000 writes, 32 at a time; SIGKILL at a random moment while they are in flight.
    let acked = Arc::new(Mutex::new(Acked::default()));
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    // The moment: once a number of writes drawn from 50..400 has been acknowledged, so the
    // kill always lands while others are in flight.
    let kill_at = 50 + (seed % 350) as usize;
    eprintln!("crash test: SIGKILL after {kill_at} acknowledged writes");
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..32 {
        let (a, acked, next, principal) =
            (a.clone(), acked.clone(), next.clone(), principal.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= 1000 {
                    break;
                }
                write(&a, i, &principal, &acked).await;
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = {
            let a = acked.lock().unwrap();
            a.identities.len() + a.credentials.len() + a.assignments.len() + a.connections.len()
        };
        if done >= kill_at || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(server); // SIGKILL, then reap
    for w in workers {
        w.await.unwrap();
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let issued = next.load(std::sync::atomic::Ordering::SeqCst).min(1000);
    eprintln!(
        "crash test: {issued} writes started, acknowledged {} identities, {} credentials, {} role assignments, {} connections",
        acked.identities.len(),
        acked.credentials.len(),
        acked.assignments.len(),
        acked.connections.len()
    );

    // Restart on the same data: every acknowledged write is there, none half-written.
    let (_server, endpoint) = up(&home, database_url);
    let a = Admin::new(&home, &endpoint).await;
    for name in &acked.identities {
        let (s, v) = a
            .send(
                Method::GET,
                &format!("{}?api-version={API}", a.identity(name)),
                true,
                None,
            )
            .await
            .unwrap();
        assert_eq!(s, 200, "acknowledged identity {name} is gone: {v}");
    }
    let (s, listed) = a
        .send(Method::GET, &format!("/subscriptions/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version={API}", a.sub), true, None)
        .await
        .unwrap();
    assert_eq!(s, 200, "{listed}");
    for i in listed["value"].as_array().unwrap() {
        let p = &i["properties"];
        assert!(
            p["principalId"].as_str().is_some_and(|v| !v.is_empty())
                && p["clientId"].as_str().is_some_and(|v| !v.is_empty()),
            "an identity without its principal: {i}"
        );
    }
    let (s, fics) = a
        .send(
            Method::GET,
            &format!(
                "{}/federatedIdentityCredentials?api-version={API}",
                a.identity("mi-fics")
            ),
            true,
            None,
        )
        .await
        .unwrap();
    assert_eq!(s, 200, "{fics}");
    let fics = fics["value"].as_array().unwrap().clone();
    assert!(
        fics.len() <= 20,
        "{} credentials on one identity",
        fics.len()
    );
    let mut subjects: Vec<&str> = fics
        .iter()
        .map(|f| f["properties"]["subject"].as_str().unwrap())
        .collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), fics.len(), "duplicate subjects");
    for name in &acked.credentials {
        assert!(
            fics.iter().any(|f| f["name"] == name.as_str()),
            "acknowledged credential {name} is gone"
        );
    }
    let (s, ras) = a
        .send(Method::GET, &format!("/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=principalId%20eq%20'{principal}'", a.sub), true, None)
        .await
        .unwrap();
    assert_eq!(s, 200, "{ras}");
    for name in &acked.assignments {
        assert!(
            ras["value"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["name"] == name.as_str()),
            "acknowledged role assignment {name} is gone"
        );
    }
    // Every stored connection decrypts, with the password it was written with.
    let (s, exported) = a
        .send(Method::GET, "/api/v2/connections:export", false, None)
        .await
        .unwrap();
    assert_eq!(s, 200, "every connection decrypts: {exported}");
    let conns = exported["connections"].as_array().unwrap();
    for id in &acked.connections {
        let c = conns
            .iter()
            .find(|c| c["connection_id"] == id.as_str())
            .unwrap_or_else(|| panic!("acknowledged connection {id} is gone"));
        assert_eq!(c["password"], format!("pw-{}", &id[2..]), "{c}");
    }
    for c in conns {
        let id = c["connection_id"].as_str().unwrap();
        assert_eq!(
            c["password"],
            format!("pw-{}", &id[2..]),
            "half-written connection: {c}"
        );
    }
}

#[tokio::test]
async fn a_killed_server_on_sqlite_loses_no_acknowledged_write() {
    crash_and_restart(None).await;
}

#[tokio::test]
async fn a_killed_server_on_postgres_loses_no_acknowledged_write() {
    let admin_url = std::env::var("WID_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL is required at {admin_url} (set WID_TEST_POSTGRES): {e}")
        });
    let db = format!("wid_crash_{}", wid_model::ids::new_guid().replace('-', ""));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let base = admin_url.rsplit_once('/').unwrap().0.to_string();
    crash_and_restart(Some(&format!("{base}/{db}"))).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {db} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}
