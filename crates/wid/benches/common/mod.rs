//! Shared set-up of the benches: a live server on 127.0.0.1:0 in a temporary data directory,
//! with an identity `bench-mi` federated for system:serviceaccount:airflow:airflow-worker.

use std::sync::Arc;
use std::time::Duration;

use wid::home::Home;
use wid::server::{RunningServer, ServerOptions, start};
use wid_model::{Clock, SystemClock};
use wid_store::{FederatedCredential, Identity};

/// The running server and what the benches need from it.
pub struct Fixture {
    /// The runtime the server runs on.
    pub rt: tokio::runtime::Runtime,
    /// The data directory (removed on drop).
    pub dir: tempfile::TempDir,
    /// The server.
    pub server: RunningServer,
    /// The federated identity.
    pub identity: Identity,
}

/// Starts the server and creates the identity and its federated credential.
pub fn fixture() -> Fixture {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut opts = ServerOptions::new(
        Home::at(dir.path().join("home")),
        "127.0.0.1:0".parse().unwrap(),
    );
    opts.fic_write_hold = Duration::ZERO;
    let server = rt
        .block_on(start(opts, Arc::new(SystemClock) as Arc<dyn Clock>))
        .unwrap();
    let state = server.state.clone();
    let now = SystemClock.now();
    let identity = Identity {
        principal_id: wid_model::ids::new_guid(),
        client_id: wid_model::ids::new_guid(),
        tenant_id: state.defaults.tenant_id.clone(),
        subscription_id: state.defaults.subscription_id.clone(),
        resource_group: "rg-airflow".into(),
        name: "bench-mi".into(),
        location: "eastus".into(),
        tags: "{}".into(),
    };
    rt.block_on(async {
        state.store.insert_identity(&identity, now).await.unwrap();
        state
            .store
            .upsert_fic(&FederatedCredential {
                identity_principal_id: identity.principal_id.clone(),
                name: "bench".into(),
                issuer: state.config.issuer_url(),
                subject: "system:serviceaccount:airflow:airflow-worker".into(),
                audience: "api://AzureADTokenExchange".into(),
                created_at: now,
            })
            .await
            .unwrap();
    });
    Fixture {
        rt,
        dir,
        server,
        identity,
    }
}
