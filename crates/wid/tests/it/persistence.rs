//! Restarts lose nothing, on SQLite and on PostgreSQL.

use reqwest::Method;
use sqlx::Connection;

use crate::common::*;

async fn round_trip(opts: impl Fn() -> Options) {
    let c = TestCloud::start_with(opts()).await;
    let client_id = c
        .federated_identity("mi-keep", "airflow", "airflow-worker")
        .await;
    let issuer_kid = c
        .state()
        .keys
        .active(wid_cloud::keys::Purpose::Issuer)
        .kid()
        .to_string();
    let old_token = c.sa_token("airflow", "airflow-worker");
    let tenant = c.tenant.clone();
    // A registered API; a second registration whose last URI is taken is refused whole.
    let (s, v) = c.register_app("keep", &["api://keep"]).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = c.register_app("half", &["api://half", "api://keep"]).await;
    assert_eq!(s, 400, "{v}");
    let (home, dir, clock) = c.stop().await;

    let c = TestCloud::start_in(home, dir, clock, opts()).await;
    assert_eq!(c.tenant, tenant);
    assert_eq!(
        c.state()
            .keys
            .active(wid_cloud::keys::Purpose::Issuer)
            .kid(),
        issuer_kid,
        "keys survive a restart"
    );
    let (s, v) = c
        .arm(
            Method::GET,
            &format!(
                "{}/federatedIdentityCredentials",
                c.identity_path("mi-keep")
            ),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["value"].as_array().unwrap().len(), 1);
    // A token minted before the restart still works; the issuer URL changed with the port, so
    // point the credential at the new one first.
    let (s, _) = c
        .put_fic(
            "mi-keep",
            "mi-keep-airflow-worker",
            &c.issuer(),
            "system:serviceaccount:airflow:airflow-worker",
            &["api://AzureADTokenExchange"],
        )
        .await;
    assert_eq!(s, 200);
    let fresh = c.sa_token("airflow", "airflow-worker");
    assert_eq!(c.exchange(&client_id, &fresh, SCOPE_ARM).await.0, 200);
    assert_eq!(claims_of(&old_token)["sub"], claims_of(&fresh)["sub"]);
    assert_eq!(c.admin_token_for("api://keep/.default").await.0, 200);
    let (s, v) = c.admin_token_for("api://half/.default").await;
    assert_eq!(
        (s, &v["error_codes"][0]),
        (400, &serde_json::json!(500011)),
        "{v}"
    );
    c.stop().await;
}

#[tokio::test]
async fn sqlite_restart_keeps_everything() {
    round_trip(Options::default).await;
}

#[tokio::test]
async fn postgres_restart_keeps_everything() {
    let admin_url = std::env::var("WID_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL is required at {admin_url} (set WID_TEST_POSTGRES): {e}")
        });
    let db = format!("wid_test_{}", wid_model::ids::new_guid().replace('-', ""));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let base = admin_url.rsplit_once('/').unwrap().0.to_string();
    let url = format!("{base}/{db}");
    round_trip(|| Options {
        database_url: Some(url.clone()),
        ..Default::default()
    })
    .await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {db} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}

/// Signing keys are stored under the Fernet keys: a restart with a key list that lacks the
/// key they were written with fails with the key named and the fix (no panic); with the new
/// key first and the old one after it starts and signs with the same keys; after
/// `rotate_fernet_key` the new key alone reads them.
#[tokio::test]
async fn signing_keys_follow_the_fernet_keys() {
    let c = TestCloud::start().await;
    let kid = c
        .state()
        .keys
        .active(wid_cloud::keys::Purpose::Sts)
        .kid()
        .to_string();
    let (home, dir, clock) = c.stop().await;
    let file = home.root().join("fernet.key");
    let old = std::fs::read_to_string(&file).unwrap().trim().to_string();
    let new = wid_store::FernetKeys::generate_key().into_exposed();

    std::fs::write(&file, &new).unwrap();
    let mut opts = wid::server::ServerOptions::new(home.clone(), "127.0.0.1:0".parse().unwrap());
    opts.fic_write_hold = std::time::Duration::ZERO;
    let err = match wid::server::start(opts, clock.clone() as std::sync::Arc<dyn wid_model::Clock>)
        .await
    {
        Ok(_) => panic!("started with a Fernet key that did not encrypt its signing keys"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("cannot decrypt signing key") && err.contains("hint:"),
        "{err}"
    );
    assert!(
        !err.contains(&old[..20]) && !err.contains(&new[..20]),
        "{err}"
    );

    std::fs::write(&file, format!("{new},{old}")).unwrap();
    let c = TestCloud::start_in(home, dir, clock, Options::default()).await;
    assert_eq!(
        c.state().keys.active(wid_cloud::keys::Purpose::Sts).kid(),
        kid
    );
    let rotation = c
        .state()
        .store
        .rotate_fernet_key(&wid_store::FernetKeys::parse(&format!("{new},{old}")).unwrap())
        .await
        .unwrap();
    assert!(rotation.signing_keys >= 2, "{rotation:?}");
    let (home, dir, clock) = c.stop().await;
    std::fs::write(&file, &new).unwrap();
    let c = TestCloud::start_in(home, dir, clock, Options::default()).await;
    assert_eq!(
        c.state().keys.active(wid_cloud::keys::Purpose::Sts).kid(),
        kid
    );
    let _ = c.stop().await;
}
