//! The README session under `WID_LOG=trace`, scanned for secrets.
//!
//! `wid up` runs as a process with every log line going to a file (text format, then, after a
//! restart on the same data, `WID_LOG_FORMAT=json`). The session: an identity and its
//! federated credential, connections added with a password and a secret in `extra` (flags and
//! a URI), get/list in text and JSON, export to a file, the connection test, `wid env` and
//! `wid token`; API calls (the token service, ARM, the connections API) with their error
//! cases; the web UI's sign-in, connection list and edit page. Everything it saw (every log
//! line, every CLI output, every response body, every page) is searched for every secret it
//! used, in clear, percent-encoded and JSON-escaped: the passwords, extra's secret values,
//! the client assertion, the access tokens, the admin key and client secret, the Fernet key
//! and the session cookie. The places whose purpose is to hand a secret out are not searched
//! (`wid token`'s output, the export file and the UI's export download, the token service's
//! answer, the sign-in's `Set-Cookie`): what they hand out is a secret searched for everywhere else. Then the
//! database file, its WAL and shared memory, as raw bytes, must hold no private key (PEM or
//! DER) and no password in clear.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::cli_session::{Up, exports, var};

const WID: &str = env!("CARGO_BIN_EXE_wid");

/// Secrets the session types in.
const PASSWORD: &str = "Pw-7xQ!scan+s3cr3t/1";
const URI_PASSWORD: &str = "uri-Pw:9@scan#s3cr3t";
const API_PASSWORD: &str = "api-Pw-scan-s3cr3t-3";
const EXTRA_SECRET: &str = "sv=2026-01-01&sig=ExtraScanS3cr3t%2Bsig";
const EXTRA_TOKEN: &str = "extra-token-scan-s3cr3t-4";
const ERROR_PASSWORD: &str = "err-Pw-scan-s3cr3t-5";
const ERROR_EXTRA: &str = "err-extra-scan-s3cr3t-6";
const WRONG_CLIENT_SECRET: &str = "wrong~client~secret~scan~7";

/// Where something was seen, and what.
struct Seen {
    place: String,
    bytes: Vec<u8>,
}

/// A secret found where it must not be.
#[derive(Debug, PartialEq, Eq)]
struct Leak {
    place: String,
    secret: String,
    offset: usize,
}

/// The forms a secret may take on its way out: as is, percent-encoded (URIs, forms) and
/// JSON-escaped. Forms shorter than 8 bytes are not searched (they would match by chance).
fn forms(secret: &str) -> Vec<String> {
    let json = serde_json::to_string(secret).unwrap();
    let mut out = vec![
        secret.to_string(),
        wid_model::connection::quote::quote(secret),
        wid_model::connection::quote::quote_plus(secret),
        json[1..json.len() - 1].to_string(),
    ];
    out.sort();
    out.dedup();
    out.retain(|f| f.len() >= 8);
    out
}

/// Every place where a named secret appears in any of its forms.
fn scan(seen: &[Seen], secrets: &[(String, String)]) -> Vec<Leak> {
    let mut leaks = Vec::new();
    for s in seen {
        for (name, secret) in secrets {
            for form in forms(secret) {
                if let Some(offset) = find(&s.bytes, form.as_bytes()) {
                    leaks.push(Leak {
                        place: s.place.clone(),
                        secret: name.clone(),
                        offset,
                    });
                }
            }
        }
    }
    leaks
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn the_scanner_finds_a_planted_secret_in_every_form() {
    let secret = "planted s3cr3t/+value".to_string();
    let secrets = vec![("planted".to_string(), secret.clone())];
    let line = |text: String| Seen {
        place: "log".into(),
        bytes: format!("2026-12-03T12:00:00Z INFO wid: {text} done\n").into_bytes(),
    };
    for text in [
        secret.clone(),
        wid_model::connection::quote::quote(&secret),
        wid_model::connection::quote::quote_plus(&secret),
        serde_json::to_string(&json!({ "k": secret })).unwrap(),
    ] {
        let leaks = scan(&[line(text.clone())], &secrets);
        assert_eq!(leaks.len(), 1, "{text}: {leaks:?}");
        assert_eq!(leaks[0].secret, "planted");
    }
    let mut blob = vec![0u8; 4096];
    blob[1000..1000 + secret.len()].copy_from_slice(secret.as_bytes());
    let leaks = scan(
        &[Seen {
            place: "wid.db".into(),
            bytes: blob,
        }],
        &secrets,
    );
    assert_eq!(
        leaks,
        [Leak {
            place: "wid.db".into(),
            secret: "planted".into(),
            offset: 1000
        }]
    );
    assert!(scan(&[line("nothing to see".into())], &secrets).is_empty());
}

/// The session's record: what it saw, and the secrets it met.
#[derive(Default)]
struct Session {
    seen: Vec<Seen>,
    secrets: Vec<(String, String)>,
}

impl Session {
    fn saw(&mut self, place: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.seen.push(Seen {
            place: place.into(),
            bytes: bytes.into(),
        });
    }

    fn secret(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let value = value.into();
        assert!(!value.is_empty());
        self.secrets.push((name.into(), value));
    }

    /// Runs `wid ARGS` (with `WID_LOG=trace`), records its stdout and stderr, and returns it.
    fn wid(&mut self, home: &Path, args: &[&str], env: &[(String, String)]) -> Output {
        let out = Command::new(WID)
            .args(args)
            .env("WID_HOME", home)
            .env("WID_LOG", "trace")
            .env_remove("WID_ENDPOINT")
            .env_remove("WID_CLOUD")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("run wid");
        // Named by the command, not its arguments (which hold the secrets).
        let place = format!(
            "#{} wid {}",
            self.seen.len(),
            args.iter().take(3).copied().collect::<Vec<_>>().join(" ")
        );
        self.saw(format!("{place} (stdout)"), out.stdout.clone());
        self.saw(format!("{place} (stderr)"), out.stderr.clone());
        out
    }

    /// [`Session::wid`], which must succeed; its stdout.
    #[track_caller]
    fn ok(&mut self, home: &Path, args: &[&str]) -> String {
        let out = self.wid(home, args, &[]);
        assert!(
            out.status.success(),
            "wid {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// `wid up` with every log line (stdout and stderr) going to `log`.
fn start(home: &Path, log: &Path, json_format: bool) -> (Up, String) {
    let _ = std::fs::remove_file(home.join("server.json"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut cmd = Command::new(WID);
    cmd.args(["up", "--listen", "127.0.0.1:0"])
        .env("WID_HOME", home)
        .env("WID_LOG", "trace")
        .env("WID_LOG_COLOR", "never")
        .stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file));
    if json_format {
        cmd.env("WID_LOG_FORMAT", "json");
    } else {
        cmd.env_remove("WID_LOG_FORMAT");
    }
    let up = Up::spawn(&mut cmd);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(b) = std::fs::read(home.join("server.json"))
            && let Ok(v) = serde_json::from_slice::<Value>(&b)
        {
            return (up, v["endpoint"].as_str().unwrap().to_string());
        }
        assert!(Instant::now() < deadline, "wid up did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An HTTPS client trusting wid's CA, following no redirects.
fn http(home: &Path) -> reqwest::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(home.join("ca.pem")).unwrap()).unwrap();
    reqwest::Client::builder()
        .tls_certs_merge([ca])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Sends a request and records its answer (status, headers but `Set-Cookie` when `cookie` is
/// sanctioned, body) under `place`.
async fn send(
    s: &mut Session,
    place: &str,
    rb: reqwest::RequestBuilder,
    record_set_cookie: bool,
) -> (u16, reqwest::header::HeaderMap, String) {
    let r = rb.send().await.expect(place);
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.text().await.unwrap();
    let shown_headers: String = headers
        .iter()
        .filter(|(k, _)| record_set_cookie || *k != reqwest::header::SET_COOKIE)
        .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
        .collect();
    s.saw(format!("{place} (headers)"), shown_headers);
    s.saw(format!("{place} (body)"), body.clone());
    (status, headers, body)
}

fn set_cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
}

fn csrf_of(page: &str) -> String {
    let at = page.find(r#"name="csrf""#).expect("a csrf field");
    let rest = &page[at..];
    let v = &rest[rest.find("value=\"").unwrap() + 7..];
    v[..v.find('"').unwrap()].to_string()
}

/// The CLI half of the README session, against the text-format server.
fn cli_session(s: &mut Session, dir: &Path, home: &Path) -> (String, String) {
    s.ok(
        home,
        &[
            "identity",
            "create",
            "--name",
            "airflow-mi",
            "--resource-group",
            "rg-airflow",
        ],
    );
    let ident: Value = serde_json::from_str(&s.ok(
        home,
        &[
            "identity",
            "show",
            "--name",
            "airflow-mi",
            "--resource-group",
            "rg-airflow",
            "--output",
            "json",
        ],
    ))
    .unwrap();
    let client_id = ident["clientId"].as_str().unwrap().to_string();
    let tenant_id = ident["tenantId"].as_str().unwrap().to_string();
    let issuer = s.ok(home, &["issuer", "url"]).trim().to_string();
    s.ok(
        home,
        &[
            "identity",
            "federated-credential",
            "create",
            "--name",
            "airflow-worker",
            "--identity-name",
            "airflow-mi",
            "--resource-group",
            "rg-airflow",
            "--issuer",
            &issuer,
            "--subject",
            "system:serviceaccount:airflow:airflow-worker",
        ],
    );

    let extra = json!({
        "managed_identity_client_id": client_id,
        "workload_identity_tenant_id": tenant_id,
        "sas_token": EXTRA_SECRET,
    })
    .to_string();
    s.ok(
        home,
        &[
            "connections",
            "add",
            "azure_wi",
            "--conn-type",
            "azure",
            "--conn-extra",
            &extra,
        ],
    );
    let extra = json!({"sslmode": "require", "nested": {"access_token": EXTRA_TOKEN}}).to_string();
    s.ok(
        home,
        &[
            "connections",
            "add",
            "warehouse",
            "--conn-type",
            "postgres",
            "--conn-host",
            "db.example",
            "--conn-login",
            "airflow",
            "--conn-password",
            PASSWORD,
            "--conn-extra",
            &extra,
        ],
    );
    let uri = format!(
        "wasb://user:{}@account.blob.core.windows.net/?sas_token={}",
        wid_model::connection::quote::quote(URI_PASSWORD),
        wid_model::connection::quote::quote(EXTRA_SECRET)
    );
    s.ok(home, &["connections", "add", "blob", "--conn-uri", &uri]);
    for args in [
        &["connections", "get", "azure_wi"][..],
        &["connections", "get", "azure_wi", "--output", "json"],
        &["connections", "get", "warehouse"],
        &["connections", "get", "warehouse", "--output", "json"],
        &["connections", "get", "blob", "--output", "json"],
        &["connections", "list"],
        &["connections", "list", "--output", "json"],
    ] {
        s.ok(home, args);
    }
    // The export file holds the secrets by design (mode 0600); what the command says does not.
    let export = dir.join("conns.json");
    s.ok(home, &["connections", "export", export.to_str().unwrap()]);
    let exported = std::fs::read_to_string(&export).unwrap();
    assert!(exported.contains(PASSWORD), "the export keeps the password");
    s.ok(
        home,
        &[
            "connections",
            "test",
            "azure_wi",
            "--as",
            "airflow/airflow-worker",
        ],
    );
    // An error case: a connection id that does not exist, and an invalid extra.
    let out = s.wid(home, &["connections", "get", "nope"], &[]);
    assert!(!out.status.success());
    let bad_extra = format!(r#"{{"token": "{ERROR_EXTRA}""#);
    let out = s.wid(
        home,
        &[
            "connections",
            "add",
            "bad",
            "--conn-type",
            "azure",
            "--conn-password",
            ERROR_PASSWORD,
            "--conn-extra",
            &bad_extra,
        ],
        &[],
    );
    assert!(!out.status.success(), "an invalid extra is refused");

    // Tokens, as a pod gets them.
    let env_out = s.ok(
        home,
        &[
            "env",
            "--namespace",
            "airflow",
            "--service-account",
            "airflow-worker",
            "--client-id",
            &client_id,
        ],
    );
    let env = exports(&env_out);
    let token_file = var(&env, "AZURE_FEDERATED_TOKEN_FILE");
    let assertion = std::fs::read_to_string(&token_file).unwrap();
    s.secret("client assertion (projected token)", assertion.trim());
    // `wid token` prints the access token: its purpose, so its stdout is not searched; the
    // token is searched for everywhere else.
    for (i, args) in [
        &["token", "--scope", "https://management.azure.com/.default"][..],
        &[
            "token",
            "--scope",
            "https://storage.azure.com/.default",
            "--output",
            "json",
        ],
    ]
    .iter()
    .enumerate()
    {
        let out = Command::new(WID)
            .args(*args)
            .env("WID_HOME", home)
            .env("WID_LOG", "trace")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        s.saw(format!("wid {} (stderr)", args.join(" ")), out.stderr);
        let stdout = String::from_utf8(out.stdout).unwrap();
        let token = if i == 0 {
            stdout.trim().to_string()
        } else {
            serde_json::from_str::<Value>(&stdout).unwrap()["accessToken"]
                .as_str()
                .unwrap()
                .to_string()
        };
        s.secret(format!("access token from wid token #{i}"), token);
    }
    (client_id, assertion.trim().to_string())
}

/// API calls and the web UI, against the JSON-format server.
async fn api_and_ui(s: &mut Session, home: &Path, endpoint: &str, assertion: &str) {
    let client = http(home);
    let admin: Value =
        serde_json::from_slice(&std::fs::read(home.join("admin.json")).unwrap()).unwrap();
    let tenant = admin["tenant_id"].as_str().unwrap();
    let admin_id = admin["client_id"].as_str().unwrap();
    let admin_secret = admin["client_secret"].as_str().unwrap();
    let api_key = std::fs::read_to_string(home.join("api-key"))
        .unwrap()
        .trim()
        .to_string();
    let token_url = format!("{endpoint}/{tenant}/oauth2/v2.0/token");

    // The token service hands out a token: its answer is not searched, the token is.
    let r = client
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", admin_id),
            ("client_secret", admin_secret),
            ("scope", "https://management.azure.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let arm_token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    s.secret("access token from the token service", arm_token.clone());
    let (st, _, _) = send(
        s,
        "GET /subscriptions",
        client
            .get(format!("{endpoint}/subscriptions?api-version=2022-12-01"))
            .bearer_auth(&arm_token),
        true,
    )
    .await;
    assert_eq!(st, 200);
    // Error cases: a wrong client secret, an assertion for another client, a tampered token.
    let (st, _, _) = send(
        s,
        "POST token (wrong secret)",
        client.post(&token_url).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", admin_id),
            ("client_secret", WRONG_CLIENT_SECRET),
            ("scope", "https://management.azure.com/.default"),
        ]),
        true,
    )
    .await;
    assert_eq!(st, 401);
    let (st, _, _) = send(
        s,
        "POST token (assertion for another client)",
        client.post(&token_url).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", wid_model::ids::new_guid().as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
            ("scope", "https://management.azure.com/.default"),
        ]),
        true,
    )
    .await;
    assert!(st >= 400, "{st}");
    let (st, _, _) = send(
        s,
        "GET /subscriptions (tampered token)",
        client
            .get(format!("{endpoint}/subscriptions?api-version=2022-12-01"))
            .bearer_auth(format!("{arm_token}x")),
        true,
    )
    .await;
    assert_eq!(st, 401);

    // The connections API: reads mask; errors do not echo secrets.
    let api = |m: reqwest::Method, path: &str| {
        client
            .request(m, format!("{endpoint}{path}"))
            .bearer_auth(&api_key)
    };
    for path in [
        "/api/v2/connections",
        "/api/v2/connections/azure_wi",
        "/api/v2/connections/warehouse",
        "/api/v2/connections/blob",
    ] {
        let (st, _, _) = send(
            s,
            &format!("GET {path}"),
            api(reqwest::Method::GET, path),
            true,
        )
        .await;
        assert_eq!(st, 200, "{path}");
    }
    let (st, _, _) = send(
        s,
        "POST /api/v2/connections",
        api(reqwest::Method::POST, "/api/v2/connections").json(&json!({
            "connection_id": "from_api", "conn_type": "generic", "password": API_PASSWORD,
            "extra": json!({"secret": EXTRA_SECRET}).to_string(),
        })),
        true,
    )
    .await;
    assert_eq!(st, 201);
    let (st, _, _) = send(
        s,
        "PATCH /api/v2/connections/from_api",
        api(reqwest::Method::PATCH, "/api/v2/connections/from_api").json(&json!({
            "connection_id": "from_api", "conn_type": "generic", "password": API_PASSWORD,
            "description": "patched",
        })),
        true,
    )
    .await;
    assert_eq!(st, 200);
    for (place, body) in [
        (
            "POST (no connection_id)",
            json!({"conn_type": "generic", "password": ERROR_PASSWORD, "extra": json!({"k": ERROR_EXTRA}).to_string()}),
        ),
        (
            "POST (extra not JSON)",
            json!({"connection_id": "bad", "conn_type": "generic", "password": ERROR_PASSWORD, "extra": format!("{{\"token\": \"{ERROR_EXTRA}\"")}),
        ),
        (
            "POST (password not a string)",
            json!({"connection_id": "bad", "conn_type": "generic", "password": [ERROR_PASSWORD]}),
        ),
        (
            "POST (unknown secret field)",
            json!({"connection_id": "bad", "conn_type": "generic", "client_secret": ERROR_PASSWORD}),
        ),
    ] {
        let (st, _, _) = send(
            s,
            place,
            api(reqwest::Method::POST, "/api/v2/connections").json(&body),
            true,
        )
        .await;
        assert_eq!(st, 422, "{place}");
    }
    let (st, _, _) = send(
        s,
        "GET /api/v2/connections (wrong key)",
        client
            .get(format!("{endpoint}/api/v2/connections"))
            .bearer_auth(format!("{api_key}x")),
        true,
    )
    .await;
    assert_eq!(st, 401);

    // The web UI: sign in, the list, an edit page.
    let (st, headers, page) = send(
        s,
        "GET /signin",
        client.get(format!("{endpoint}/signin")),
        true,
    )
    .await;
    assert_eq!(st, 200);
    let pre = set_cookie(&headers, "wid_signin").expect("the sign-in cookie");
    let csrf = csrf_of(&page);
    let (st, headers, _) = send(
        s,
        "POST /signin",
        client
            .post(format!("{endpoint}/signin"))
            .header(reqwest::header::COOKIE, format!("wid_signin={pre}"))
            .form(&[("csrf", csrf.as_str()), ("key", api_key.as_str())]),
        false,
    )
    .await;
    assert_eq!(st, 303);
    let session = set_cookie(&headers, "wid_session").expect("a session cookie");
    s.secret("session cookie", session.clone());
    let (st, _, _) = send(
        s,
        "POST /signin (wrong key)",
        client
            .post(format!("{endpoint}/signin"))
            .header(reqwest::header::COOKIE, format!("wid_signin={pre}"))
            .form(&[("csrf", csrf.as_str()), ("key", WRONG_CLIENT_SECRET)]),
        true,
    )
    .await;
    assert_eq!(st, 401);
    for path in [
        "/connections",
        "/connections/azure_wi",
        "/connections/warehouse",
        "/connections/blob",
        "/connections/from_api",
        "/identities",
    ] {
        let (st, _, page) = send(
            s,
            &format!("UI {path}"),
            client
                .get(format!("{endpoint}{path}"))
                .header(reqwest::header::COOKIE, format!("wid_session={session}")),
            true,
        )
        .await;
        assert_eq!(st, 200, "{path}: {page}");
    }
    // The export download carries the secrets by design (as the CLI's export file): fetched,
    // not searched.
    let r = client
        .get(format!("{endpoint}/connection/export?format=json"))
        .header(reqwest::header::COOKIE, format!("wid_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains(API_PASSWORD));
}

/// The private keys the database holds, decrypted with the Fernet key: PEM text, DER bytes.
async fn signing_keys(home: &Path, fernet: &str) -> Vec<(String, Vec<u8>)> {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", home.join("wid.db").display());
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT kid, private_pem, is_encrypted FROM signing_keys")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    conn.close().await.ok();
    let keys = wid_store::FernetKeys::parse(fernet).unwrap();
    assert!(rows.len() >= 2, "issuer and token service keys");
    rows.into_iter()
        .map(|(kid, stored, flag)| {
            assert_eq!(flag, 1, "key {kid} is stored encrypted");
            let pem = keys.decrypt(&stored).unwrap().into_exposed();
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap();
            (pem, der)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_session_under_trace_logs_shows_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let log = dir.path().join("wid-up.log");
    let mut s = Session::default();
    for (name, value) in [
        ("password", PASSWORD),
        ("URI password", URI_PASSWORD),
        ("API password", API_PASSWORD),
        ("extra sas_token", EXTRA_SECRET),
        ("extra access_token", EXTRA_TOKEN),
        ("password of a refused request", ERROR_PASSWORD),
        ("extra of a refused request", ERROR_EXTRA),
        ("a wrong client secret", WRONG_CLIENT_SECRET),
    ] {
        s.secret(name, value);
    }

    let (up, _) = start(&home, &log, false);
    let home2 = home.clone();
    let dir_path: PathBuf = dir.path().to_path_buf();
    let (mut s, (_client_id, assertion)) = tokio::task::spawn_blocking(move || {
        let r = cli_session(&mut s, &dir_path, &home2);
        (s, r)
    })
    .await
    .unwrap();
    drop(up);

    // Again on the same data, with JSON logs: the keys are read back from the store.
    let (up, endpoint) = start(&home, &log, true);
    api_and_ui(&mut s, &home, &endpoint, &assertion).await;

    let admin: Value =
        serde_json::from_slice(&std::fs::read(home.join("admin.json")).unwrap()).unwrap();
    s.secret(
        "admin client secret",
        admin["client_secret"].as_str().unwrap(),
    );
    let api_key = std::fs::read_to_string(home.join("api-key")).unwrap();
    s.secret("admin key", api_key.trim());
    let fernet = std::fs::read_to_string(home.join("fernet.key")).unwrap();
    s.secret("Fernet key", fernet.trim());

    // The database as it is on disk while the server runs, then after a SIGKILL (the WAL is
    // not checkpointed).
    let db_files = ["wid.db", "wid.db-wal", "wid.db-shm"];
    let mut on_disk = Vec::new();
    for f in db_files {
        if let Ok(bytes) = std::fs::read(home.join(f)) {
            on_disk.push(Seen {
                place: format!("{f} (running)"),
                bytes,
            });
        }
    }
    drop(up);
    for f in db_files {
        if let Ok(bytes) = std::fs::read(home.join(f)) {
            on_disk.push(Seen {
                place: format!("{f} (killed)"),
                bytes,
            });
        }
    }
    assert!(
        on_disk.iter().any(|d| d.place.starts_with("wid.db-wal")),
        "WAL mode"
    );

    let logged = std::fs::read_to_string(&log).unwrap();
    let lines = logged.lines().count();
    assert!(lines > 1000, "trace logging is on: {lines} lines");
    assert!(
        logged
            .lines()
            .any(|l| l.starts_with('{') && l.contains("\"level\":\"TRACE\"")),
        "the second run logs JSON"
    );
    s.saw("wid up's log", logged.clone());

    let leaks = scan(&s.seen, &s.secrets);
    assert!(
        leaks.is_empty(),
        "secrets seen ({} places searched): {leaks:#?}",
        s.seen.len()
    );
    println!(
        "searched {} places ({} bytes, {lines} log lines) for {} secrets",
        s.seen.len(),
        s.seen.iter().map(|x| x.bytes.len()).sum::<usize>(),
        s.secrets.len()
    );

    // On disk: no private key (PEM or DER, nor a line of its base64) and no password in clear.
    let keys = signing_keys(&home, fernet.trim()).await;
    let mut disk_secrets: Vec<(String, String)> = s
        .secrets
        .iter()
        .filter(|(name, _)| !name.contains("wrong") && !name.contains("refused"))
        .cloned()
        .collect();
    for (i, (pem, _)) in keys.iter().enumerate() {
        for line in pem.lines().filter(|l| !l.starts_with("-----")).take(3) {
            disk_secrets.push((format!("signing key {i} (PEM line)"), line.to_string()));
        }
    }
    let leaks = scan(&on_disk, &disk_secrets);
    assert!(
        leaks.is_empty(),
        "secrets in the database files: {leaks:#?}"
    );
    for d in &on_disk {
        assert!(
            find(&d.bytes, b"PRIVATE KEY").is_none(),
            "{}: a PEM private key",
            d.place
        );
        for (i, (_, der)) in keys.iter().enumerate() {
            // A private key's DER: any 32 bytes of its body (past the fixed header).
            for window in der[32..].chunks(32).take(8) {
                assert!(
                    find(&d.bytes, window).is_none(),
                    "{}: DER of signing key {i}",
                    d.place
                );
            }
        }
    }
}
