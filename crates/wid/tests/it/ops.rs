//! Operating wid: `/healthz`, `/readyz`, `/metrics`, JSON log lines with correlation ids and
//! no secrets, and the graceful shutdown that leaves the load balancer's pool first.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use crate::common::{JWT_BEARER, SCOPE_ARM, TestCloud};

fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let c = TestCloud::start().await;
    let (s, _, v) = c.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((s, v.as_str()), (200, Some("ok")));
    let (s, _, _) = c.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(s, 200);

    // One exchange that succeeds, one refused with AADSTS700016 (unknown application).
    c.admin_token().await;
    let (s, v) = c
        .exchange(
            "00000000-0000-0000-0000-000000000001",
            &c.sa_token("ns", "sa"),
            SCOPE_ARM,
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["error_codes"][0], 700016);
    let t = c.admin_token().await;
    let (s, _, v) = c
        .call(
            Method::GET,
            &format!("/subscriptions/{}?api-version=2022-12-01", c.sub),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");

    let (s, headers, body) = c.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(s, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .contains("openmetrics")
    );
    let text = body.as_str().unwrap();
    assert_eq!(
        metric(
            text,
            r#"wid_token_exchanges_total{result="success",code="0"}"#
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        metric(
            text,
            r#"wid_token_exchanges_total{result="error",code="700016"}"#
        ),
        1.0
    );
    assert_eq!(
        metric(text, "wid_token_exchange_duration_seconds_count"),
        2.0
    );
    assert_eq!(
        metric(
            text,
            r#"wid_http_requests_total{route="arm",method="GET",status="200"}"#
        ),
        1.0
    );
    assert!(metric(text, r#"wid_db_pool_connections{state="idle"}"#) >= 1.0);
    assert!(text.contains("wid_issuer_metadata_fetches_total"));
    assert!(metric(text, r#"wid_issuer_metadata_fetches_total{state="ok"}"#) >= 0.0);
    // No label carries a path, a tenant or a client id.
    assert!(!text.contains(&c.tenant) && !text.contains(&c.sub));

    // Draining: not ready, still alive.
    c.server.as_ref().unwrap().observe.drain();
    let (s, _, v) = c.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(s, 503, "{v}");
    let (s, _, _) = c.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(s, 200);
    c.stop().await;
}

#[tokio::test]
async fn json_logs_and_sigterm_drains_before_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let log = dir.path().join("up.log");
    let mut up = crate::cli_session::Up::spawn(
        Command::new(env!("CARGO_BIN_EXE_wid"))
            .args(["up", "--listen", "127.0.0.1:0"])
            .env("WID_HOME", &home)
            .env("WID_LOG", "info")
            .env("WID_LOG_FORMAT", "json")
            .env("WID_DRAIN_SECONDS", "2")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap()),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let endpoint = loop {
        if let Ok(b) = std::fs::read(home.join("server.json"))
            && let Ok(v) = serde_json::from_slice::<Value>(&b)
        {
            break v["endpoint"].as_str().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "wid up did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let ca = std::fs::read(home.join("ca.pem")).unwrap();
    let http = wid::client::http_client(Some(&ca), "ca.pem").unwrap();
    let admin: Value =
        serde_json::from_slice(&std::fs::read(home.join("admin.json")).unwrap()).unwrap();
    let secret = admin["client_secret"].as_str().unwrap().to_string();
    let resp = http
        .post(format!(
            "{endpoint}/{}/oauth2/v2.0/token",
            admin["tenant_id"].as_str().unwrap()
        ))
        .header("client-request-id", "corr-7f3a-test")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", admin["client_id"].as_str().unwrap()),
            ("client_secret", &secret),
            ("scope", SCOPE_ARM),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let token: Value = resp.json().await.unwrap();
    let access = token["access_token"].as_str().unwrap().to_string();
    // A refused assertion: its text must not reach the log either.
    let assertion = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJsZWFrIn0.c2lnbmF0dXJl";
    let _ = http
        .post(format!(
            "{endpoint}/{}/oauth2/v2.0/token",
            admin["tenant_id"].as_str().unwrap()
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", admin["client_id"].as_str().unwrap()),
            ("client_assertion", assertion),
            ("client_assertion_type", JWT_BEARER),
            ("scope", SCOPE_ARM),
        ])
        .send()
        .await
        .unwrap();

    // SIGTERM: /readyz turns 503 while requests are still served, then the process exits.
    let pid = up.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let term = Instant::now();
    loop {
        let r = http.get(format!("{endpoint}/readyz")).send().await.unwrap();
        if r.status() == 503 {
            break;
        }
        assert!(term.elapsed() < Duration::from_secs(2), "not draining");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let healthz = http
        .get(format!("{endpoint}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(healthz.status(), 200, "alive while draining");
    let status = loop {
        if let Some(s) = up.try_wait() {
            break s;
        }
        assert!(
            term.elapsed() < Duration::from_secs(20),
            "wid up did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    assert!(
        term.elapsed() >= Duration::from_secs(2),
        "stopped before the drain time"
    );

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let token_line = lines
        .iter()
        .find(|l| l["message"] == "request" && l["correlation_id"] == "corr-7f3a-test")
        .unwrap_or_else(|| panic!("no request line with the correlation id: {text}"));
    assert_eq!(token_line["route"], "token");
    assert_eq!(token_line["status"], 200);
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "request" && l["path"] == "/readyz" && l["status"] == 503)
    );
    for needle in [secret.as_str(), access.as_str(), assertion, "c2lnbmF0dXJl"] {
        assert!(!text.contains(needle), "a secret reached the log");
    }
}

#[tokio::test]
async fn readiness_follows_the_database() {
    let db = crate::replicas::PgDb::create().await;
    let c = TestCloud::start_with(crate::common::Options {
        database_url: Some(db.url.clone()),
        ..Default::default()
    })
    .await;
    let (s, _, _) = c.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(s, 200);
    // The database goes away (its connections are terminated): not ready, still alive.
    db.drop_db().await;
    let (s, _, v) = c.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(s, 503, "{v}");
    assert!(v.as_str().unwrap_or("").contains("database"), "{v}");
    let (s, _, _) = c.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(s, 200);
    c.stop().await;
}

#[tokio::test]
async fn the_certificate_names_the_public_host_and_every_tls_name() {
    use wid::server::{ServerOptions, start};
    use wid_model::{Clock, ManualClock, SystemClock};
    let dir = tempfile::tempdir().unwrap();
    let home = wid::home::Home::at(dir.path().join("home"));
    let clock = ManualClock::new(SystemClock.now());
    // First start: the default names only.
    let first = start(
        ServerOptions::new(home.clone(), "127.0.0.1:0".parse().unwrap()),
        clock.clone() as std::sync::Arc<dyn Clock>,
    )
    .await
    .unwrap();
    first.shutdown().await;
    let before = std::fs::read(home.server_cert()).unwrap();
    // Behind a Service: the public URL's host and another name clients use.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut opts = ServerOptions::new(home.clone(), format!("127.0.0.1:{port}").parse().unwrap());
    opts.public_url = Some(format!("https://wid.wid.svc.cluster.local:{port}"));
    opts.tls_names = vec!["wid.example.internal".into()];
    let server = start(opts.clone(), clock.clone() as std::sync::Arc<dyn Clock>)
        .await
        .unwrap();
    let after = std::fs::read(home.server_cert()).unwrap();
    assert_ne!(before, after, "issued again for the new names");
    let ca = reqwest::Certificate::from_pem(&std::fs::read(home.ca_cert()).unwrap()).unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    for name in [
        "wid.wid.svc.cluster.local",
        "wid.example.internal",
        "localhost",
    ] {
        // The name resolves to loopback for this client only; TLS checks it against the
        // certificate, which the unchanged CA signed.
        let http = reqwest::Client::builder()
            .tls_certs_only([ca.clone()])
            .resolve(name, addr)
            .build()
            .unwrap();
        let r = http
            .get(format!("https://{name}:{port}/healthz"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(r.status(), 200, "{name}");
    }
    let http = reqwest::Client::builder()
        .tls_certs_only([ca])
        .resolve("not-named.example", addr)
        .build()
        .unwrap();
    assert!(
        http.get(format!("https://not-named.example:{port}/healthz"))
            .send()
            .await
            .is_err(),
        "a name the certificate lacks is refused by TLS"
    );
    server.shutdown().await;
    // A restart with the same names keeps the certificate.
    let again = start(opts, clock as std::sync::Arc<dyn Clock>)
        .await
        .unwrap();
    again.shutdown().await;
    assert_eq!(std::fs::read(home.server_cert()).unwrap(), after);
}

#[test]
fn without_the_ca_key_a_missing_name_is_an_error_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let home = wid::home::Home::at(dir.path().join("home"));
    home.ensure().unwrap();
    std::fs::remove_file(home.root().join("ca-key.pem")).unwrap();
    let e = home
        .ensure_names(&["wid.wid.svc.cluster.local".into()])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("not valid for wid.wid.svc.cluster.local") && e.contains("hint: "),
        "{e}"
    );
    assert!(home.ensure_names(&["127.0.0.1".into()]).unwrap().is_empty());
}
