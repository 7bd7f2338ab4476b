//! `wid agent`: one token exchange per pod, however many task processes.
//!
//! The agent holds the pod's workload identity (the variables the webhook injects:
//! `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`,
//! `AZURE_AUTHORITY_HOST`) and serves, on loopback only, App Service's managed identity
//! protocol ([`protocol`]), which azure-identity's `ManagedIdentityCredential` speaks when
//! `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set. Every task process of the worker then
//! asks the agent instead of exchanging its own token: the agent keeps one token per identity
//! and scope in `wid-credential`'s cache (refreshed at its `refresh_on` or 5 minutes before
//! expiry, one exchange for concurrent callers, the old token served while an early refresh
//! fails).
//!
//! The header secret is drawn from the OS's random source at every start; the agent writes
//! it, with its address, to a state file ([`state_file`]) for the worker to read.

pub mod protocol;
pub mod state_file;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use wid_credential::{CredentialError, Pipeline, Secret, WorkloadIdentityCredential};

use protocol::{ProtocolError, Selector, TokenBody, TokenQuery};
pub use state_file::AgentEnv;

/// What the agent acts as, and where it listens.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The identity requests get when they name none (`AZURE_CLIENT_ID`).
    pub client_id: String,
    /// Further identities federated with the same service account that callers may name
    /// with `client_id`.
    pub allowed_client_ids: Vec<String>,
    /// The tenant (`AZURE_TENANT_ID`).
    pub tenant_id: String,
    /// The projected service-account token (`AZURE_FEDERATED_TOKEN_FILE`).
    pub token_file: PathBuf,
    /// The authority host (`AZURE_AUTHORITY_HOST`); `None` is Entra's public cloud.
    pub authority: Option<String>,
    /// Where to listen: a loopback address (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Where to write the state file, if anywhere.
    pub state_file: Option<PathBuf>,
}

/// Why the agent cannot start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A listen address others could reach.
    #[error(
        "--listen {0} is not a loopback address: the agent hands out tokens to whoever knows its header, so it serves this pod alone\nhint: use 127.0.0.1:PORT (or [::1]:PORT)"
    )]
    NotLoopback(SocketAddr),
    /// The credential's configuration.
    #[error("{0}")]
    Credential(#[from] CredentialError),
    /// Binding failed.
    #[error("cannot listen on {addr}: {detail}\nhint: pick another port with --listen")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        detail: String,
    },
    /// The OS random source failed.
    #[error("cannot draw the header secret from the OS random source: {0}")]
    Random(String),
    /// The state file could not be written.
    #[error(
        "cannot write the state file {path}: {detail}\nhint: the directory must be writable by the agent (in a pod: the shared emptyDir)"
    )]
    StateFile {
        /// The file.
        path: String,
        /// The OS error.
        detail: String,
    },
}

/// The agent's state: the header secret and one credential per identity.
struct Agent {
    header: Secret,
    /// The default identity first.
    identities: Vec<WorkloadIdentityCredential>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("header", &self.header)
            .field("identities", &self.identities)
            .finish()
    }
}

/// Draws a header secret: 32 bytes from the OS's random source, as hex.
fn new_header() -> Result<Secret, AgentError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AgentError::Random(e.to_string()))?;
    Ok(Secret::new(wid_jose::hex(&bytes)))
}

impl Agent {
    fn new(config: &AgentConfig, pipeline: &Pipeline) -> Result<Self, AgentError> {
        let mut ids = vec![config.client_id.clone()];
        for c in &config.allowed_client_ids {
            if !ids.iter().any(|i| i.eq_ignore_ascii_case(c)) {
                ids.push(c.clone());
            }
        }
        let identities = ids
            .iter()
            .map(|id| {
                WorkloadIdentityCredential::new(
                    Some(id),
                    Some(&config.tenant_id),
                    Some(&config.token_file),
                    config.authority.as_deref(),
                    pipeline.clone(),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            header: new_header()?,
            identities,
        })
    }

    fn client_ids(&self) -> String {
        self.identities
            .iter()
            .map(|c| c.client_id())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn select(&self, selector: &Selector) -> Result<&WorkloadIdentityCredential, ProtocolError> {
        let unknown = |detail: String| ProtocolError::UnknownIdentity {
            detail,
            held: self.client_ids(),
        };
        match selector {
            Selector::Default => self
                .identities
                .first()
                .ok_or_else(|| unknown("The agent holds no identity.".into())),
            Selector::ClientId(c) => self
                .identities
                .iter()
                .find(|i| i.client_id().eq_ignore_ascii_case(c))
                .ok_or_else(|| unknown(format!("The agent does not hold client id '{c}'."))),
            Selector::ResourceId(_) => Err(unknown(
                "The agent knows its identities by client id, not by mi_res_id; ask with client_id (Airflow: managed_identity_client_id).".into(),
            )),
            Selector::ObjectId(_) => Err(unknown(
                "The agent knows its identities by client id, not by object_id; ask with client_id (Airflow: managed_identity_client_id).".into(),
            )),
        }
    }

    /// Checks the header, parses the query, and gets the token (cached, or one exchange).
    async fn issue(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<(TokenQuery, TokenBody), ProtocolError> {
        let presented = headers
            .get(protocol::HEADER)
            .ok_or(ProtocolError::MissingHeader)?;
        if !protocol::header_matches(presented.as_bytes(), self.header.expose().as_bytes()) {
            return Err(ProtocolError::WrongHeader);
        }
        let q = protocol::parse(query)?;
        let credential = self.select(&q.selector)?;
        let scope = q.scope();
        let token = credential
            .get_token(&[scope.as_str()])
            .await
            .map_err(|e| exchange_error(credential.client_id(), e))?;
        let body = TokenBody {
            access_token: token.token.expose().to_string(),
            expires_on: token.expires_on.to_string(),
            resource: q.resource.clone(),
            token_type: "Bearer",
            client_id: credential.client_id().to_string(),
        };
        Ok((q, body))
    }
}

/// A failed exchange in the protocol's terms: a refusal by the token service is the caller's
/// 400 (retrying will not help); anything else (unreachable, 5xx, the token file) a 500.
fn exchange_error(client_id: &str, e: CredentialError) -> ProtocolError {
    let detail = e.to_string();
    let client_id = client_id.to_string();
    match e {
        CredentialError::Token(t) if (400..500).contains(&t.status) => {
            ProtocolError::Refused { client_id, detail }
        }
        _ => ProtocolError::Upstream { client_id, detail },
    }
}

async fn token(
    State(agent): State<Arc<Agent>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let started = Instant::now();
    match agent.issue(&headers, query.as_deref()).await {
        Ok((q, body)) => {
            tracing::info!(
                resource = %q.resource,
                client_id = %body.client_id,
                expires_on = %body.expires_on,
                latency_us = started.elapsed().as_micros() as u64,
                "token served"
            );
            axum::Json(body).into_response()
        }
        Err(e) => {
            tracing::warn!(status = e.status().as_u16(), error = %e, "token request refused");
            e.into_response()
        }
    }
}

async fn not_found() -> Response {
    ProtocolError::NotFound(protocol::TOKEN_PATH).into_response()
}

/// The agent's routes: the protocol at [`protocol::TOKEN_PATH`], `/healthz` (no header, no
/// token: for a probe), and the protocol's 404 elsewhere.
fn router(agent: Arc<Agent>) -> Router {
    Router::new()
        .route(protocol::TOKEN_PATH, get(token))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(not_found)
        .with_state(agent)
}

/// A running agent.
#[derive(Debug)]
pub struct RunningAgent {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// What clients set: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`.
    pub env: AgentEnv,
    state_file: Option<PathBuf>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningAgent {
    /// Stops serving (requests in flight finish) and removes the state file.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        if let Some(p) = &self.state_file {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Starts the agent: checks the configuration, binds on loopback, draws the header secret,
/// writes the state file and serves until [`RunningAgent::shutdown`]. The pipeline carries
/// the HTTP client (its trust roots), the retry policy and the clock.
pub async fn start(config: AgentConfig, pipeline: Pipeline) -> Result<RunningAgent, AgentError> {
    if !config.listen.ip().is_loopback() {
        return Err(AgentError::NotLoopback(config.listen));
    }
    let agent = Arc::new(Agent::new(&config, &pipeline)?);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| AgentError::Bind {
            addr: config.listen,
            detail: e.to_string(),
        })?;
    let addr = listener.local_addr().map_err(|e| AgentError::Bind {
        addr: config.listen,
        detail: e.to_string(),
    })?;
    let env = AgentEnv {
        endpoint: format!("http://{addr}{}", protocol::TOKEN_PATH),
        header: agent.header.clone(),
    };
    if let Some(path) = &config.state_file {
        env.write(path).map_err(|e| AgentError::StateFile {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
    }
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(agent);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the agent stopped serving");
        }
    });
    Ok(RunningAgent {
        addr,
        env,
        state_file: config.state_file,
        shutdown: Some(tx),
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_random_and_long() {
        let a = new_header().unwrap();
        let b = new_header().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 64);
        assert!(a.expose().bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[tokio::test]
    async fn refuses_to_listen_beyond_loopback() {
        let config = AgentConfig {
            client_id: "c".into(),
            allowed_client_ids: vec![],
            tenant_id: "t".into(),
            token_file: "/nonexistent".into(),
            authority: None,
            listen: "0.0.0.0:0".parse().unwrap(),
            state_file: None,
        };
        let e = start(config, Pipeline::new(reqwest::Client::new()))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not a loopback address"), "{e}");
    }
}
