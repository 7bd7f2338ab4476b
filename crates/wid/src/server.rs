//! `wid up`: one HTTPS process that hosts the stand-in cloud.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use wid_cloud::{CloudConfig, CloudState};
use wid_model::Clock;
use wid_model::secret::Secret;
use wid_store::Store;

use crate::home::{AdminFile, Home, HomeError, ServerFile};
use crate::observe::{Observe, OpsState};

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The data directory.
    pub home: Home,
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The database URL; `None` is the SQLite file in the data directory.
    pub database_url: Option<String>,
    /// The public base URL; `None` is `https://<listen address>`.
    pub public_url: Option<String>,
    /// How long a federated credential write holds its identity.
    pub fic_write_hold: Duration,
    /// Bound on fetching an external issuer's metadata.
    pub oidc_fetch_timeout: Duration,
    /// How often signing keys are read again from the database and the Fernet configuration
    /// from its file (another replica, or an operator, may have rotated them).
    pub key_refresh: Duration,
    /// Host names or IP addresses the server certificate must name besides localhost,
    /// 127.0.0.1, ::1 and the public URL's host (`--tls-name`).
    pub tls_names: Vec<String>,
    /// The authority host for connection tests run inside the server (`POST
    /// /api/v2/connections/test`, the web UI's Test): a URL, or `self` for this wid. `None`:
    /// the process's AZURE_AUTHORITY_HOST, then Azure's public cloud.
    pub connection_test_authority: Option<String>,
}

impl ServerOptions {
    /// Defaults for a data directory and listen address.
    pub fn new(home: Home, listen: SocketAddr) -> Self {
        Self {
            home,
            listen,
            database_url: None,
            public_url: None,
            fic_write_hold: Duration::from_millis(100),
            oidc_fetch_timeout: Duration::from_secs(10),
            key_refresh: Duration::from_secs(5),
            connection_test_authority: None,
            tls_names: Vec::new(),
        }
    }
}

/// Errors while starting.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The data directory failed.
    #[error(transparent)]
    Home(#[from] HomeError),
    /// The port could not be bound.
    #[error(
        "cannot listen on {addr}: {source}\nhint: another process (perhaps another `wid up`) uses the port; pick another with --listen or WID_LISTEN"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] wid_store::StoreError),
    /// Building the cloud state failed.
    #[error("cannot start the stand-in cloud: {0}")]
    State(#[from] wid_cloud::state::StateError),
    /// The Fernet keys are not usable.
    #[error("the Fernet key configuration is not usable: {0}")]
    Fernet(String),
    /// TLS set-up failed.
    #[error(
        "cannot load the TLS certificate: {0}\nhint: remove server.pem and server-key.pem from WID_HOME to have them recreated"
    )]
    Tls(String),
}

/// A server that is running.
#[derive(Debug)]
pub struct RunningServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// `https://127.0.0.1:PORT` (or the public URL).
    pub endpoint: String,
    /// The shared state, for tests.
    pub state: CloudState,
    /// The router being served, for in-process tests (`tower::ServiceExt::oneshot`).
    pub router: Router,
    /// Metrics and readiness.
    pub observe: Arc<Observe>,
    handle: Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Leaves the load balancer's pool, then stops: `/readyz` answers 503 for `drain` (the
    /// time the load balancer needs to notice), then requests in flight finish (up to
    /// 10 s) and new connections are refused.
    pub async fn drain_and_shutdown(self, drain: Duration) {
        self.observe.drain();
        if !drain.is_zero() {
            tracing::info!(
                seconds = drain.as_secs_f64(),
                "draining: /readyz answers 503"
            );
            tokio::time::sleep(drain).await;
        }
        self.shutdown().await;
    }

    /// Asks the server to stop, lets in-flight requests finish (up to 10 s) and waits.
    pub async fn shutdown(self) {
        self.handle.graceful_shutdown(Some(Duration::from_secs(10)));
        let _ = self.task.await;
        self.state.store.close().await;
    }
}

/// The router of `wid up`: the stand-in cloud, the connections API, the operational routes
/// (`/healthz`, `/readyz`, `/metrics`) and, when configured, the web UI under `/` (a client
/// of the other routes, which it reaches in process), with request metrics and logging.
pub fn app(
    state: CloudState,
    api: wid_server::ApiState,
    ui: Option<wid_ui::UiConfig>,
    observe: Arc<Observe>,
) -> Router {
    let clock = state.clock.clone();
    let ops = OpsState {
        cloud: state.clone(),
        observe,
    };
    let routes = wid_cloud::app(state)
        .merge(wid_server::app(api))
        .route("/healthz", get(|| async { "ok" }))
        .merge(
            Router::new()
                .route("/readyz", get(crate::observe::readyz))
                .route("/metrics", get(crate::observe::metrics))
                .with_state(ops.clone()),
        );
    let routes = match ui {
        Some(config) => routes
            .clone()
            .merge(wid_ui::app(wid_ui::UiState::new(routes, config, clock))),
        None => routes,
    };
    routes.layer(axum::middleware::from_fn_with_state(
        ops,
        crate::observe::track,
    ))
}

/// The Fernet key configuration: `WID_FERNET_KEY`, else `AIRFLOW__CORE__FERNET_KEY` (the same
/// format as Airflow's `fernet_key`), else the file `WID_FERNET_KEY_FILE` names (a mounted
/// Kubernetes Secret), else `$WID_HOME/fernet.key`, created with a new key on first use.
/// `generate` puts a new key in front of the file's keys (for rotation). A running server
/// reads the files again every `key_refresh`, so a rotation needs no restart.
pub fn fernet_config(home: &Home, generate: bool) -> Result<Secret, HomeError> {
    for var in ["WID_FERNET_KEY", "AIRFLOW__CORE__FERNET_KEY"] {
        if let Ok(v) = std::env::var(var)
            && !v.trim().is_empty()
        {
            return Ok(Secret::from(v));
        }
    }
    let path = match std::env::var_os("WID_FERNET_KEY_FILE") {
        Some(p) if !p.is_empty() => std::path::PathBuf::from(p),
        _ => home.root().join("fernet.key"),
    };
    let current: Secret = match std::fs::read_to_string(&path) {
        Ok(s) => Secret::from(s).map(|s| s.trim().to_string()),
        Err(_) => Secret::default(),
    };
    let next = match (current.expose().is_empty(), generate) {
        (true, _) => wid_store::FernetKeys::generate_key(),
        (false, true) => Secret::from(format!(
            "{},{}",
            wid_store::FernetKeys::generate_key().expose_str(),
            current.expose_str()
        )),
        (false, false) => return Ok(current),
    };
    home.write(&path, next.expose().as_bytes(), true)?;
    Ok(next)
}

/// Reads the Fernet configuration again every `every` while the server runs and uses it
/// when it changed (`wid connections rotate-fernet-key`, or a Secret updated by the
/// kubelet). An unusable configuration is logged and the keys in use stay.
fn spawn_fernet_refresh(
    home: Home,
    mut text: Secret,
    keys: &Arc<wid_store::LiveFernetKeys>,
    every: Duration,
) {
    if every.is_zero() {
        return;
    }
    let weak = Arc::downgrade(keys);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(keys) = weak.upgrade() else { return };
            let Ok(next) = fernet_config(&home, false) else {
                continue;
            };
            if next == text {
                continue;
            }
            match wid_store::FernetKeys::parse(next.expose_str()) {
                Ok(k) => {
                    tracing::info!(keys = k.key_count(), "Fernet keys changed; using them");
                    keys.replace(k);
                    text = next;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the new Fernet key configuration is not usable; keeping the keys in use")
                }
            }
        }
    });
}

/// The administrator API key in `$WID_HOME/api-key`, created on first start.
pub fn api_key(home: &Home) -> Result<Secret, HomeError> {
    let path = home.root().join("api-key");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let key: Secret = Secret::from(s).map(|s| s.trim().to_string());
        if !key.expose().is_empty() {
            return Ok(key);
        }
    }
    let key: Secret = Secret::new(format!("widk_{}", wid_jose::random_b64url(32)));
    home.write(&path, key.expose().as_bytes(), true)?;
    Ok(key)
}

/// Creates the data directory if needed, opens the database, and starts serving HTTPS.
pub async fn start(
    opts: ServerOptions,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer, ServerError> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let home = &opts.home;
    home.ensure()?;
    let listener =
        std::net::TcpListener::bind(opts.listen).map_err(|source| ServerError::Bind {
            addr: opts.listen,
            source,
        })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| ServerError::Bind {
            addr: opts.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: opts.listen,
        source,
    })?;
    let endpoint = opts.public_url.clone().unwrap_or_else(|| match addr {
        SocketAddr::V4(a) => format!("https://{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("https://[{}]:{}", a.ip(), a.port()),
    });
    // The certificate names what clients connect to: the public URL's host and --tls-name.
    let mut names = opts.tls_names.clone();
    if let Some(host) = reqwest::Url::parse(&endpoint)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_string()))
    {
        names.insert(0, host);
    }
    let added = home.ensure_names(&names)?;
    if !added.is_empty() {
        tracing::info!(names = %added.join(", "), "issued the server certificate again, for new names");
    }
    let db_url = opts
        .database_url
        .clone()
        .unwrap_or_else(|| home.database_url());
    let store = Store::connect(&db_url, clock.now()).await?;
    let mut config = CloudConfig::new(endpoint.clone());
    config.fic_write_hold = opts.fic_write_hold;
    config.oidc_fetch_timeout = opts.oidc_fetch_timeout;
    config.key_refresh = opts.key_refresh;
    let ca = home.read(&home.ca_cert())?;
    config.extra_roots_pem = vec![ca.clone()];
    let fernet_text = fernet_config(home, false)?;
    let keys = wid_store::FernetKeys::parse(fernet_text.expose_str())
        .map_err(|e| ServerError::Fernet(e.to_string()))?;
    let keys = Arc::new(wid_store::LiveFernetKeys::new(keys));
    spawn_fernet_refresh(home.clone(), fernet_text, &keys, opts.key_refresh);
    let state = CloudState::new(store, clock, config, keys.clone()).await?;
    if let Some(secret) = &state.defaults.new_admin_secret {
        let admin = AdminFile {
            tenant_id: state.defaults.tenant_id.clone(),
            subscription_id: state.defaults.subscription_id.clone(),
            resource_group: state.defaults.resource_group.clone(),
            client_id: state.defaults.admin_client_id.clone(),
            client_secret: secret.clone(),
        };
        let json = serde_json::to_vec_pretty(&admin).unwrap_or_default();
        home.write(&home.admin_file(), &json, true)?;
    }
    let tls = RustlsConfig::from_pem_file(home.server_cert(), home.server_key())
        .await
        .map_err(|e| ServerError::Tls(e.to_string()))?;
    let handle = Handle::new();
    // TCP_NODELAY: without it, Nagle's algorithm and the client's delayed ACK stall each new
    // TLS handshake and response by ~40 ms.
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls)
        .acceptor(axum_server::accept::NoDelayAcceptor::new());
    let server = axum_server::from_tcp(listener)
        .map_err(|source| ServerError::Bind { addr, source })?
        .acceptor(acceptor)
        .handle(handle.clone());
    let http = crate::client::http_client(Some(&ca), "ca.pem")
        .map_err(|e| ServerError::Tls(e.to_string()))?;
    let admin_key = api_key(home)?;
    let api_state = wid_server::ApiState::new(wid_server::ApiShared {
        store: state.store.clone(),
        keys,
        auth: Arc::new(wid_server::ApiAuth {
            admin_key_sha256: wid_jose::sha256_hex(admin_key.expose().as_bytes()),
            sts: Some(wid_server::StsVerifier::new(
                &endpoint,
                &state.defaults.tenant_id,
                http.clone(),
            )),
        }),
        clock: state.clock.clone(),
        http,
        test_authority: match opts.connection_test_authority.as_deref() {
            Some("self") => Some(endpoint.clone()),
            other => other.map(String::from),
        },
    });
    let ui = ui_config(home, &state, admin_key);
    let observe = Arc::new(Observe::default());
    let router = app(state.clone(), api_state, ui, observe.clone());
    let served = router.clone();
    let task = tokio::spawn(async move { server.serve(served.into_make_service()).await });
    let info = ServerFile {
        endpoint: endpoint.clone(),
        pid: std::process::id(),
    };
    home.write(
        &home.server_file(),
        &serde_json::to_vec_pretty(&info).unwrap_or_default(),
        false,
    )?;
    Ok(RunningServer {
        addr,
        endpoint,
        state,
        router,
        observe,
        handle,
        task,
    })
}

/// The web UI's configuration: the admin key users sign in with, the administrator
/// application (from `admin.json`) whose ARM token the UI uses, and this process's
/// `AIRFLOW_CONN_*` variables. Without `admin.json` the UI is not served.
fn ui_config(home: &Home, state: &CloudState, admin_key: Secret) -> Option<wid_ui::UiConfig> {
    let admin = match home.admin() {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!("the web UI is off: {e}");
            return None;
        }
    };
    let mut env_connections: Vec<(String, Secret)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("AIRFLOW_CONN_"))
        .map(|(k, v)| (k, Secret::from(v)))
        .collect();
    env_connections.sort_by(|a, b| a.0.cmp(&b.0));
    Some(wid_ui::UiConfig {
        admin_key,
        admin_app: wid_ui::AdminApp {
            tenant_id: admin.tenant_id,
            client_id: admin.client_id,
            client_secret: admin.client_secret,
        },
        subscription_id: state.defaults.subscription_id.clone(),
        resource_group: state.defaults.resource_group.clone(),
        issuer_url: state.config.issuer_url(),
        session_lifetime: wid_ui::SESSION_LIFETIME,
        env_connections,
        ended_sessions: Some(Arc::new(StoreSessions(state.store.clone()))),
    })
}

/// Signed-out web UI sessions in the database, which every replica reads.
struct StoreSessions(wid_store::Store);

impl wid_ui::EndedSessions for StoreSessions {
    fn end(
        &self,
        nonce_sha256: String,
        expires: i64,
        now: i64,
    ) -> wid_ui::session::BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.0
                .end_session(&nonce_sha256, expires, now)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn is_ended(
        &self,
        nonce_sha256: String,
    ) -> wid_ui::session::BoxFuture<'_, Result<bool, String>> {
        Box::pin(async move {
            self.0
                .session_ended(&nonce_sha256)
                .await
                .map_err(|e| e.to_string())
        })
    }
}
