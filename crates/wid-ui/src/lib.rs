//! wid's web UI: the pages the seed sends its user to (Airflow's **Admin > Connections**, the
//! portal's managed identity page, the Environment Manager's deployments), rendered on the
//! server with maud.
//!
//! Invariants:
//! - The UI is a client of wid's public routes, as the Azure portal is a client of ARM: every
//!   read and write goes through `/api/v2/...`, `/subscriptions/...`, the token service or the
//!   issuer, in process through the router ([`backend`]). It imports neither the stand-in
//!   cloud nor the connections server, so no rule lives in two places.
//! - Every page needs a session made by signing in with the admin key; every form carries the
//!   session's CSRF token; a missing or forged one is refused with 403 and changes nothing.
//! - Nothing secret is rendered: passwords are never shown (an empty field keeps the stored
//!   one), tokens are shown as their claims only.
//! - Assets are embedded in the binary; nothing is fetched from elsewhere.

pub mod assets;
pub mod backend;
pub mod connection_form;
pub mod error;
pub mod form;
pub mod layout;
pub mod routes;
pub mod session;
pub mod test_run;

use std::sync::{Arc, Mutex};

use axum::Router;
use wid_model::Clock;
use wid_model::secret::Secret;

pub use error::UiError;
pub use session::{EndedSessions, Sessions};

/// The local administrator application, whose client secret gets the UI an ARM token.
#[derive(Debug, Clone)]
pub struct AdminApp {
    /// Its tenant.
    pub tenant_id: String,
    /// Its client id.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: Secret,
}

/// What the UI needs to know about the environment it serves.
#[derive(Clone)]
pub struct UiConfig {
    /// The administrator key (`$WID_HOME/api-key`): what a user signs in with, and what the
    /// UI presents to `/api/v2`.
    pub admin_key: Secret,
    /// The administrator application, for ARM and the issuer.
    pub admin_app: AdminApp,
    /// The default subscription.
    pub subscription_id: String,
    /// The default resource group.
    pub resource_group: String,
    /// The issuer URL (for the federated credential form's default).
    pub issuer_url: String,
    /// How long a session lasts, seconds.
    pub session_lifetime: i64,
    /// `AIRFLOW_CONN_*` variables of the server's environment (name, value), shown read-only.
    pub env_connections: Vec<(String, Secret)>,
    /// Where sign-outs are recorded for every replica (the database); `None`: this process only.
    pub ended_sessions: Option<Arc<dyn session::EndedSessions>>,
}

impl std::fmt::Debug for UiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiConfig")
            .field("admin_app", &self.admin_app)
            .field("subscription_id", &self.subscription_id)
            .finish_non_exhaustive()
    }
}

/// Default session lifetime: 8 hours.
pub const SESSION_LIFETIME: i64 = 8 * 3600;

/// The UI's shared state.
#[derive(Clone)]
pub struct UiState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) routes: Router,
    pub(crate) config: UiConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) sessions: Sessions,
    pub(crate) arm_token: Mutex<Option<(Secret, i64)>>,
}

impl std::fmt::Debug for UiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiState")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl UiState {
    /// A UI over `routes` (wid's public routes, without the UI itself).
    pub fn new(routes: Router, config: UiConfig, clock: Arc<dyn Clock>) -> Self {
        let sessions =
            Sessions::new(config.admin_key.expose_str()).with_shared(config.ended_sessions.clone());
        UiState {
            inner: Arc::new(Inner {
                routes,
                config,
                clock,
                sessions,
                arm_token: Mutex::new(None),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &UiConfig {
        &self.inner.config
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }
}

/// The UI router: pages under `/` and assets under `/_ui/`.
pub fn app(state: UiState) -> Router {
    routes::router().with_state(state)
}
