//! Signing keys at rest: their private halves are Fernet tokens made with the connections'
//! keys; rows from before migration 8 are converted; `rotate_fernet_key` re-encrypts them;
//! a key list without the row's key is an error that names the key and the fix. Every test
//! body runs on SQLite and on PostgreSQL.

#[macro_use]
mod support;

use sqlx::Connection as _;
use support::{Db, Engine, NOW};
use wid_model::secret::Secret;
use wid_store::{FernetKeys, FernetRotation, Store, StoreError, StoredKey};

/// Stands for a PKCS#8 PEM: the store neither parses nor needs a real key.
const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7secretbody\n-----END PRIVATE KEY-----\n";

on_both_engines!(
    keys_are_stored_as_fernet_tokens,
    rows_from_before_migration_8_are_encrypted,
    rotation_re_encrypts_signing_keys,
);

fn new_key() -> String {
    FernetKeys::generate_key().into_exposed()
}

fn keys(config: &str) -> FernetKeys {
    FernetKeys::parse(config).unwrap()
}

fn stored(kid: &str, pem: &str) -> StoredKey {
    StoredKey {
        kid: kid.into(),
        purpose: "sts".into(),
        private_pem: Secret::from(pem),
        created_at: NOW,
        retired_at: None,
        expires_at: None,
    }
}

/// The row as the database holds it: the stored text and its flag.
async fn raw(db: &Db, kid: &str) -> (String, i64) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let row = sqlx::query_as("SELECT private_pem, is_encrypted FROM signing_keys WHERE kid = $1")
        .bind(kid)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.ok();
    row
}

async fn keys_are_stored_as_fernet_tokens(db: Db) {
    let store = db.open().await;
    let k = keys(&new_key());
    store.insert_key(&stored("k1", PEM), &k).await.unwrap();
    let (text, flag) = raw(&db, "k1").await;
    assert_eq!(flag, 1);
    assert!(text.starts_with("gAAAAA"), "{text}");
    assert!(!text.contains("PRIVATE KEY") && !text.contains("MIIE"));
    let back = store.list_keys("sts", NOW, &k).await.unwrap();
    assert_eq!(back, vec![stored("k1", PEM)]);
    // A rotation's new key is encrypted too.
    let second = StoredKey {
        created_at: NOW + 1,
        ..stored("k2", "second")
    };
    store
        .rotate_key(&second, NOW + 1, NOW + 10, &k)
        .await
        .unwrap();
    let (text, flag) = raw(&db, "k2").await;
    assert!(flag == 1 && text.starts_with("gAAAAA"));
    let listed = store.list_keys("sts", NOW, &k).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|k| k.private_pem.expose_str())
            .collect::<Vec<_>>(),
        ["second", PEM]
    );
    store.close().await;
}

/// Builds the schema of migrations 1 to 7 (what an older wid left), stores a plaintext key
/// as it did, then opens the store, which applies migration 8.
async fn rows_from_before_migration_8_are_encrypted(db: Db) {
    sqlx::any::install_default_drivers();
    {
        let url = match db.engine {
            Engine::Sqlite => format!("{}?mode=rwc", db.url),
            Engine::Postgres => db.url.clone(),
        };
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
            .execute(&mut conn)
            .await
            .unwrap();
        for (version, sql) in OLD_MIGRATIONS.iter().enumerate() {
            for stmt in sql
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                sqlx::query(sqlx::AssertSqlSafe(stmt.to_string()))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("migration {}: {e}", version + 1));
            }
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(version as i64 + 1)
                .bind(NOW)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        sqlx::query("INSERT INTO signing_keys (kid, purpose, private_pem, created_at, retired_at, expires_at) VALUES ('old', 'issuer', $1, $2, NULL, NULL)")
            .bind(PEM)
            .bind(NOW)
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.ok();
    }
    let store = db.open().await;
    assert_eq!(raw(&db, "old").await, (PEM.to_string(), 0));
    let k = keys(&new_key());
    // Read by its flag until converted, so a replica mid-upgrade still works.
    assert_eq!(
        store.list_keys("issuer", NOW, &k).await.unwrap()[0]
            .private_pem
            .expose_str(),
        PEM
    );
    assert_eq!(store.encrypt_plaintext_keys(&k).await.unwrap(), 1);
    assert_eq!(store.encrypt_plaintext_keys(&k).await.unwrap(), 0);
    let (text, flag) = raw(&db, "old").await;
    assert!(flag == 1 && text.starts_with("gAAAAA") && !text.contains("PRIVATE"));
    assert_eq!(
        store.list_keys("issuer", NOW, &k).await.unwrap()[0]
            .private_pem
            .expose_str(),
        PEM
    );
    store.close().await;
}

async fn rotation_re_encrypts_signing_keys(db: Db) {
    let store: Store = db.open().await;
    let (a, b) = (new_key(), new_key());
    store
        .insert_key(&stored("k1", PEM), &keys(&a))
        .await
        .unwrap();
    let before = raw(&db, "k1").await.0;
    assert_eq!(
        store
            .rotate_fernet_key(&keys(&format!("{b},{a}")))
            .await
            .unwrap(),
        FernetRotation {
            connections: 0,
            signing_keys: 1
        }
    );
    let after = raw(&db, "k1").await.0;
    assert_ne!(after, before);
    // The new key alone reads it; so do both lists, in either order (a replica that has
    // not dropped the old key yet, or one that lists the new key after the old).
    for config in [b.clone(), format!("{b},{a}"), format!("{a},{b}")] {
        let listed = store.list_keys("sts", NOW, &keys(&config)).await.unwrap();
        assert_eq!(listed[0].private_pem.expose_str(), PEM);
    }
    // The old key alone no longer does: an error that names the key and the fix, and
    // holds no key material.
    let err = store.list_keys("sts", NOW, &keys(&a)).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::KeyDecrypt { kid, .. } if kid == "k1"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("`k1`") && text.contains("hint:"), "{text}");
    assert!(!text.contains(&a[..20]) && !text.contains(&b[..20]) && !text.contains("MIIE"));
    store.close().await;
}

/// The migration files before signing keys were encrypted.
const OLD_MIGRATIONS: [&str; 7] = [
    include_str!("../migrations/0001_cloud.sql"),
    include_str!("../migrations/0002_connections.sql"),
    include_str!("../migrations/0003_rbac.sql"),
    include_str!("../migrations/0004_deployments.sql"),
    include_str!("../migrations/0005_links.sql"),
    include_str!("../migrations/0006_resource_apps.sql"),
    include_str!("../migrations/0007_application_certificates.sql"),
];
