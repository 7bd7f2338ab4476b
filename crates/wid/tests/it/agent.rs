//! `wid agent`: the managed identity protocol over real HTTP (refusals in App Service's shape,
//! tokens with their claims), one exchange for 50 unmodified Python processes and one more
//! after the refresh point, `wid env --agent`, and the binary started once.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use wid::agent::{AgentConfig, AgentEnv, RunningAgent};
use wid_credential::Pipeline;
use wid_model::Clock;

use crate::cli_session::{exports, python};
use crate::common::*;

const WID: &str = env!("CARGO_BIN_EXE_wid");
const ARM: &str = "https://management.azure.com";

/// Writes the projected token as the kubelet does, with a new mtime so a rewrite is seen.
fn write_token(file: &Path, token: &str) {
    static BUMP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    wid::home::write_atomic(file, token.as_bytes(), true).unwrap();
    let f = std::fs::File::options().write(true).open(file).unwrap();
    let bump = BUMP.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    f.set_modified(std::time::SystemTime::now() + Duration::from_secs(bump))
        .unwrap();
}

/// A pod: an identity federated with airflow:airflow-worker, its token file, and the agent
/// in-process on the cloud's manual clock.
struct Pod {
    client_id: String,
    token_file: PathBuf,
    state_file: PathBuf,
    agent: RunningAgent,
    _dir: tempfile::TempDir,
}

async fn pod(c: &TestCloud, name: &str, allowed: Vec<String>) -> Pod {
    let client_id = c
        .federated_identity(name, "airflow", "airflow-worker")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("azure-identity-token");
    write_token(&token_file, &c.sa_token("airflow", "airflow-worker"));
    let state_file = dir.path().join("run/agent.env");
    let mut pipeline = Pipeline::new(c.http.clone());
    pipeline.clock = c.clock.clone();
    let agent = wid::agent::start(
        AgentConfig {
            client_id: client_id.clone(),
            allowed_client_ids: allowed,
            tenant_id: c.tenant.clone(),
            token_file: token_file.clone(),
            authority: Some(c.endpoint.clone()),
            listen: "127.0.0.1:0".parse().unwrap(),
            state_file: Some(state_file.clone()),
        },
        pipeline,
    )
    .await
    .expect("agent starts");
    Pod {
        client_id,
        token_file,
        state_file,
        agent,
        _dir: dir,
    }
}

/// Token requests that reached the token service, from `wid up`'s statistics.
async fn exchanges(c: &TestCloud) -> u64 {
    let v: Value = c
        .http
        .get(format!("{}/_wid/stats", c.endpoint))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["token_requests"].as_u64().expect("token_requests")
}

/// GETs the agent's endpoint with `query` and, if given, the header.
async fn ask(env: &AgentEnv, header: Option<&str>, query: &str) -> (u16, Value) {
    let mut rb = reqwest::Client::new().get(format!("{}?{query}", env.endpoint));
    if let Some(h) = header {
        rb = rb.header("X-IDENTITY-HEADER", h);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(ct.starts_with("application/json"), "{ct}");
    (status, resp.json().await.unwrap())
}

/// Asserts App Service's refusal shape: status, `statusCode`, a correlation id, and the
/// message's needles.
#[track_caller]
fn assert_refused(r: &(u16, Value), status: u16, needles: &[&str]) {
    assert_eq!(r.0, status, "{}", r.1);
    assert_eq!(r.1["statusCode"], status, "{}", r.1);
    assert!(
        wid_model::ids::is_guid(r.1["correlationId"].as_str().unwrap_or_default()),
        "{}",
        r.1
    );
    let message = r.1["message"].as_str().unwrap_or_default();
    for n in needles {
        assert!(message.contains(n), "{n:?} not in {message}");
    }
    assert!(r.1.get("access_token").is_none());
}

/// Verifies an access token with the tenant's published keys and returns its claims.
async fn verified(c: &TestCloud, token: &str) -> Value {
    let jwks: Value = c
        .http
        .get(format!("{}/{}/discovery/v2.0/keys", c.endpoint, c.tenant))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = wid_jose::UnverifiedJwt::parse(token).expect("a JWT");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"].as_str() == jwt.kid())
        .expect("the token's kid is published");
    let key: wid_jose::Jwk = serde_json::from_value(key.clone()).unwrap();
    jwt.verify(&key).expect("signature verifies");
    claims_of(token)
}

#[tokio::test]
async fn protocol_refusals_and_tokens() {
    let c = TestCloud::start().await;
    // A second identity the agent is configured for, with no federated credential: its
    // exchange is refused by the token service.
    let (unfederated, _) = c.create_identity("mi-agent-unfederated").await;
    let p = pod(&c, "mi-agent", vec![unfederated.clone()]).await;
    let env = &p.agent.env;
    let secret = env.header.expose_str().to_string();
    let q = format!("api-version=2019-08-01&resource={ARM}");
    assert_eq!(AgentEnv::read(&p.state_file).unwrap(), *env);
    let before = exchanges(&c).await;

    // Refusals, before any exchange.
    assert_refused(&ask(env, None, &q).await, 401, &["no X-IDENTITY-HEADER"]);
    assert_refused(
        &ask(env, Some("not-the-secret"), &q).await,
        401,
        &["does not match", "wid env --agent"],
    );
    // The secret with its last character changed (to one it is not).
    let last = if secret.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &secret[..secret.len() - 1]);
    assert_ne!(wrong, secret);
    assert_refused(&ask(env, Some(&wrong), &q).await, 401, &["does not match"]);
    assert_refused(
        &ask(
            env,
            Some(&secret),
            &format!("{q}&client_id=00000000-0000-0000-0000-000000000001"),
        )
        .await,
        400,
        &[
            "Unable to load the proper Managed Identity",
            "00000000-0000-0000-0000-000000000001",
            p.client_id.as_str(),
            "--allow-client-id",
        ],
    );
    assert_refused(
        &ask(
            env,
            Some(&secret),
            &format!("{q}&object_id={}", p.client_id),
        )
        .await,
        400,
        &["not by object_id", "client_id"],
    );
    assert_refused(
        &ask(env, Some(&secret), "api-version=2019-08-01").await,
        400,
        &["'resource' is missing"],
    );
    for bad in [
        "management.azure.com",
        "https%3A%2F%2Fmanagement.azure.com%20https%3A%2F%2Fvault.azure.net",
        "https%3A%2F%2Fmanagement.azure.com%2F.default",
    ] {
        assert_refused(
            &ask(
                env,
                Some(&secret),
                &format!("api-version=2019-08-01&resource={bad}"),
            )
            .await,
            400,
            &["is malformed"],
        );
    }
    assert_refused(
        &ask(
            env,
            Some(&secret),
            &format!("api-version=2017-09-01&resource={ARM}"),
        )
        .await,
        400,
        &["api-version must be 2019-08-01"],
    );
    let other = reqwest::get(format!(
        "http://{}/metadata/identity/oauth2/token",
        p.agent.addr
    ))
    .await
    .unwrap();
    assert_eq!(other.status(), 404);
    assert_eq!(
        exchanges(&c).await,
        before,
        "no refusal reached the token service"
    );

    // The token, as the protocol answers it, for the identity asked for.
    let (s, v) = ask(
        env,
        Some(&secret),
        &format!("{q}&client_id={}", p.client_id),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["resource"], ARM);
    assert_eq!(v["client_id"], p.client_id.as_str());
    let token = v["access_token"].as_str().unwrap().to_string();
    let claims = verified(&c, &token).await;
    assert_eq!(claims["aud"], ARM);
    assert_eq!(claims["appid"], p.client_id.as_str());
    assert_eq!(claims["tid"], c.tenant.as_str());
    assert_eq!(claims["idtyp"], "app");
    // expires_on is the client's view (now + expires_in); Entra's `exp` is one second later.
    let expires_on: i64 = v["expires_on"].as_str().unwrap().parse().unwrap();
    assert!(
        (0..=1).contains(&(claims["exp"].as_i64().unwrap() - expires_on)),
        "{claims} {expires_on}"
    );
    assert!(expires_on > c.clock.now() + 3600);
    assert_eq!(exchanges(&c).await, before + 1);

    // No client id: the agent's own identity. A trailing slash: the same scope. One token.
    let (s, v) = ask(env, Some(&secret), &q).await;
    assert_eq!((s, v["access_token"].as_str()), (200, Some(token.as_str())));
    let (s, v) = ask(
        env,
        Some(&secret),
        &format!("{q}/&client_id={}", p.client_id.to_uppercase()),
    )
    .await;
    assert_eq!((s, v["access_token"].as_str()), (200, Some(token.as_str())));
    assert_eq!(v["resource"], format!("{ARM}/"));
    assert_eq!(exchanges(&c).await, before + 1);

    // Another scope is another token.
    let (s, v) = ask(
        env,
        Some(&secret),
        "api-version=2019-08-01&resource=https://storage.azure.com",
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        verified(&c, v["access_token"].as_str().unwrap()).await["aud"],
        "https://storage.azure.com"
    );
    assert_eq!(exchanges(&c).await, before + 2);

    // The allowed identity without a federated credential: the token service's refusal,
    // explained, in the protocol's shape.
    let r = ask(env, Some(&secret), &format!("{q}&client_id={unfederated}")).await;
    assert_refused(
        &r,
        400,
        &["refused the exchange", unfederated.as_str(), "AADSTS70021"],
    );

    // Stopping removes the state file.
    let state = p.state_file.clone();
    p.agent.shutdown().await;
    assert!(!state.exists());
}

/// Runs `n` Python processes at once, each as an Airflow task asking for an ARM token with
/// only the agent's variables set; returns their tokens.
async fn task_processes(n: usize, env: &AgentEnv, client_id: &str, tenant: &str) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/agent_client.py");
    let mut children = Vec::new();
    for _ in 0..n {
        let mut cmd = tokio::process::Command::new(python());
        cmd.arg(&script)
            .env("IDENTITY_ENDPOINT", &env.endpoint)
            .env("IDENTITY_HEADER", env.header.expose_str())
            .env("WID_TEST_CLIENT_ID", client_id)
            .env("WID_TEST_TENANT_ID", tenant)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for k in [
            "AZURE_CLIENT_ID",
            "AZURE_TENANT_ID",
            "AZURE_FEDERATED_TOKEN_FILE",
            "AZURE_AUTHORITY_HOST",
            "AZURE_CLIENT_SECRET",
            "AZURE_CLIENT_CERTIFICATE_PATH",
            "AZURE_TOKEN_CREDENTIALS",
            "IDENTITY_SERVER_THUMBPRINT",
            "IMDS_ENDPOINT",
            "MSI_ENDPOINT",
            "MSI_SECRET",
        ] {
            cmd.env_remove(k);
        }
        children.push(cmd.spawn().expect("run python"));
    }
    let mut tokens = Vec::new();
    for child in children {
        let out = child.wait_with_output().await.unwrap();
        assert!(
            out.status.success(),
            "python failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        tokens.push(v["token"].as_str().unwrap().to_string());
    }
    tokens
}

#[tokio::test]
async fn fifty_task_processes_one_exchange_per_refresh() {
    let c = TestCloud::start().await;
    let p = pod(&c, "mi-agent-fifty", vec![]).await;
    let env = p.agent.env.clone();

    // Cold: 50 processes at once, one exchange; every process holds a valid token.
    let t0 = c.clock.now();
    let before = exchanges(&c).await;
    let first = task_processes(50, &env, &p.client_id, &c.tenant).await;
    assert_eq!(
        exchanges(&c).await - before,
        1,
        "one exchange for 50 processes"
    );
    let claims = verified(&c, &first[0]).await;
    assert_eq!(claims["aud"], ARM);
    assert_eq!(claims["appid"], p.client_id.as_str());
    assert!(first.iter().all(|t| *t == first[0]), "one token for all");
    for t in &first {
        verified(&c, t).await;
    }

    // Just before the refresh point (half the token's lifetime from the exchange, as
    // azure-identity's cache computes it for tokens of two hours or more): still the cached
    // token.
    let secret = env.header.expose_str().to_string();
    let q = format!("api-version=2019-08-01&resource={ARM}");
    let (s, v) = ask(&env, Some(&secret), &q).await;
    assert_eq!(
        (s, v["access_token"].as_str()),
        (200, Some(first[0].as_str()))
    );
    let expires_on: i64 = v["expires_on"].as_str().unwrap().parse().unwrap();
    let refresh_on = t0 + (expires_on - t0) / 2;
    c.clock.set(refresh_on - 1);
    let (s, v) = ask(&env, Some(&secret), &q).await;
    assert_eq!(
        (s, v["access_token"].as_str()),
        (200, Some(first[0].as_str()))
    );
    assert_eq!(exchanges(&c).await - before, 1);

    // Past it (the kubelet has rewritten the projected token meanwhile): 50 processes, one
    // more exchange. The first caller past the refresh point refreshes; callers that arrive
    // while that exchange is in flight get the cached token, still valid for half its life
    // (as azure-identity's cache serves it); every later one gets the new token.
    c.clock.set(refresh_on);
    write_token(&p.token_file, &c.sa_token("airflow", "airflow-worker"));
    let second = task_processes(50, &env, &p.client_id, &c.tenant).await;
    assert_eq!(
        exchanges(&c).await - before,
        2,
        "one more exchange after the refresh point"
    );
    let (s, v) = ask(&env, Some(&secret), &q).await;
    assert_eq!(s, 200);
    let renewed = v["access_token"].as_str().unwrap().to_string();
    assert_ne!(renewed, first[0]);
    let claims = verified(&c, &renewed).await;
    assert_eq!(claims["appid"], p.client_id.as_str());
    assert!(claims["exp"].as_i64().unwrap() > expires_on + 3600);
    let fresh = second.iter().filter(|t| **t == renewed).count();
    assert!(fresh >= 1, "the refreshing caller got the new token");
    for t in &second {
        assert!(
            *t == renewed || *t == first[0],
            "one of the agent's two tokens"
        );
        let exp = verified(&c, t).await["exp"].as_i64().unwrap();
        assert!(exp > c.clock.now() + 3600, "valid for hours yet");
    }
    eprintln!(
        "after the refresh point: {fresh} of 50 processes got the new token, the rest the cached one"
    );
    p.agent.shutdown().await;
}

#[tokio::test]
async fn wid_env_agent_prints_the_two_variables() {
    let c = TestCloud::start().await;
    let p = pod(&c, "mi-agent-env", vec![]).await;
    let home = c.home.root().to_path_buf();
    let state = p.state_file.display().to_string();

    let run = |args: &[&str], state_env: Option<&str>| {
        let mut cmd = Command::new(WID);
        cmd.args(args)
            .env("WID_HOME", &home)
            .env_remove("WID_ENDPOINT")
            .env_remove("WID_CLOUD")
            .env_remove("WID_AGENT_STATE");
        if let Some(s) = state_env {
            cmd.env("WID_AGENT_STATE", s);
        }
        cmd.output().unwrap()
    };
    for out in [
        run(&["env", "--agent", "--agent-state", &state], None),
        run(&["env", "--agent"], Some(&state)),
    ] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let vars = exports(&text);
        assert_eq!(
            vars,
            vec![
                (
                    "IDENTITY_ENDPOINT".to_string(),
                    p.agent.env.endpoint.clone()
                ),
                (
                    "IDENTITY_HEADER".to_string(),
                    p.agent.env.header.expose_str().to_string()
                ),
            ],
            "{text}"
        );
        assert!(
            !text.contains("export AZURE_FEDERATED_TOKEN_FILE"),
            "{text}"
        );
        assert!(text.contains("skip-containers"), "{text}");
    }
    let out = run(&["env", "--agent", "-o", "json"], Some(&state));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["IDENTITY_ENDPOINT"], p.agent.env.endpoint.as_str());
    assert_eq!(v.as_object().unwrap().len(), 2);

    // No agent: the error says where it looked and what to start.
    let missing = home.join("no-agent.env");
    let out = run(&["env", "--agent"], Some(&missing.display().to_string()));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&missing.display().to_string()) && err.contains("start `wid agent` first"),
        "{err}"
    );
    // --agent prints the agent's variables alone.
    let out = run(&["env", "--agent", "--client-id", "x"], Some(&state));
    assert_eq!(out.status.code(), Some(2));
    p.agent.shutdown().await;
}

#[tokio::test]
async fn the_binary_serves_and_stops_on_sigterm() {
    let c = TestCloud::start().await;
    let client_id = c
        .federated_identity("mi-agent-bin", "airflow", "airflow-worker")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("azure-identity-token");
    write_token(&token_file, &c.sa_token("airflow", "airflow-worker"));
    let state = dir.path().join("agent.env");
    let log = dir.path().join("agent.log");
    let mut child = Command::new(WID)
        .args(["agent", "--state-file"])
        .arg(&state)
        .arg("--ca-file")
        .arg(c.home.ca_cert())
        .env("WID_HOME", c.home.root())
        .env("AZURE_CLIENT_ID", &client_id)
        .env("AZURE_TENANT_ID", &c.tenant)
        .env("AZURE_FEDERATED_TOKEN_FILE", &token_file)
        .env("AZURE_AUTHORITY_HOST", &c.endpoint)
        .env_remove("WID_AGENT_STATE")
        .env_remove("WID_AGENT_LISTEN")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let env = loop {
        if let Ok(env) = AgentEnv::read(&state) {
            break env;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no state file: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let q = format!("api-version=2019-08-01&resource={ARM}");
    assert_refused(&ask(&env, None, &q).await, 401, &["X-IDENTITY-HEADER"]);
    let (s, v) = ask(&env, Some(env.header.expose_str()), &q).await;
    assert_eq!(s, 200, "{v}");
    let token = v["access_token"].as_str().unwrap().to_string();
    assert_eq!(verified(&c, &token).await["appid"], client_id.as_str());

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "wid agent did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    assert!(!state.exists(), "the state file is removed on stop");
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(
        stderr.contains(&format!("wid agent listens on {}", env.endpoint))
            && stderr.contains(&format!(
                "eval \"$(wid env --agent --agent-state {})\"",
                state.display()
            )),
        "{stderr}"
    );
    assert!(stderr.contains("token served"), "{stderr}");
    assert!(!stderr.contains(&token), "the log holds no token");
    assert!(
        !stderr.contains(env.header.expose_str()),
        "the log holds no header"
    );
}
