//! Several `wid up` replicas on one PostgreSQL database, in process, each on its own port:
//! one bootstrap when they start at once on an empty database, key rotation through one
//! seen by all, and federated credential writes serialized in the database.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use sqlx::Connection;
use wid_cloud::keys::Purpose;
use wid_model::{Clock, ManualClock, SystemClock};

use crate::common::{Options, SCOPE_ARM, TestCloud};

/// A fresh database on the test PostgreSQL; dropped by [`PgDb::drop_db`].
pub struct PgDb {
    pub url: String,
    admin_url: String,
    name: String,
}

impl PgDb {
    pub async fn create() -> Self {
        let admin_url = std::env::var("WID_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL is required at {admin_url} (set WID_TEST_POSTGRES): {e}")
            });
        let name = format!("wid_test_{}", wid_model::ids::new_guid().replace('-', ""));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let base = admin_url.rsplit_once('/').unwrap().0.to_string();
        PgDb {
            url: format!("{base}/{name}"),
            admin_url,
            name,
        }
    }

    /// A value to move out of a struct that owns the real one (it drops nothing).
    pub fn placeholder() -> Self {
        PgDb {
            url: String::new(),
            admin_url: String::new(),
            name: String::new(),
        }
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&mut c)
            .await
            .unwrap();
        n
    }

    pub async fn drop_db(self) {
        let mut admin = sqlx::PgConnection::connect(&self.admin_url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut admin)
        .await
        .unwrap();
    }
}

/// `n` replicas sharing one data directory (CA, certificate, admin.json: what a Secret
/// gives every pod) and one clock, started one after the other.
async fn replicas(db: &PgDb, n: usize, o: impl Fn(usize) -> Options) -> Vec<TestCloud> {
    let first = TestCloud::start_with(Options {
        database_url: Some(db.url.clone()),
        ..o(0)
    })
    .await;
    let mut all = vec![];
    for i in 1..n {
        all.push(
            TestCloud::start_in(
                first.home.clone(),
                None,
                first.clock.clone(),
                Options {
                    database_url: Some(db.url.clone()),
                    ..o(i)
                },
            )
            .await,
        );
    }
    all.insert(0, first);
    all
}

/// Runs the futures as concurrent tasks and returns their outputs in order.
async fn all<T, F>(futs: impl Iterator<Item = F>) -> Vec<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = T> + Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

async fn stop_all(rs: Vec<TestCloud>) {
    for r in rs {
        r.stop().await;
    }
}

#[tokio::test]
async fn replicas_starting_at_once_bootstrap_exactly_once() {
    let db = PgDb::create().await;
    let clock = ManualClock::new(SystemClock.now());
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    // The replicas share the Fernet key (one Secret, as in deploy/kubernetes): signing keys
    // are stored under it.
    let fernet = wid_store::FernetKeys::generate_key().into_exposed();
    let starts = dirs.iter().map(|d| {
        std::fs::create_dir_all(d.path().join("home")).unwrap();
        std::fs::write(d.path().join("home/fernet.key"), &fernet).unwrap();
        let home = wid::home::Home::at(d.path().join("home"));
        TestCloud::start_in(
            home,
            None,
            clock.clone(),
            Options {
                database_url: Some(db.url.clone()),
                ..Default::default()
            },
        )
    });
    let starts: Vec<_> = starts.collect();
    let rs = all(starts.into_iter()).await;
    let tenants: HashSet<_> = rs.iter().map(|r| r.tenant.clone()).collect();
    let subs: HashSet<_> = rs.iter().map(|r| r.sub.clone()).collect();
    assert_eq!(tenants.len(), 1, "{tenants:?}");
    assert_eq!(subs.len(), 1, "{subs:?}");
    let creators = rs
        .iter()
        .filter(|r| r.state().defaults.new_admin_secret.is_some())
        .count();
    assert_eq!(creators, 1, "exactly one replica created the administrator");
    assert_eq!(db.count("SELECT COUNT(*) FROM tenants").await, 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM subscriptions").await, 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM applications").await, 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM role_assignments").await, 1);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM signing_keys WHERE retired_at IS NULL")
            .await,
        2,
        "one active key per purpose"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM schema_migrations").await,
        wid_store_migrations() as i64
    );
    stop_all(rs).await;
    drop(dirs);
    db.drop_db().await;
}

fn wid_store_migrations() -> usize {
    std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../wid-store/migrations"
    ))
    .unwrap()
    .count()
}

#[tokio::test]
async fn key_rotation_through_one_replica_is_used_by_all() {
    let db = PgDb::create().await;
    // A and B reload only on demand (an unknown kid, a JWKS request); C also every 200 ms.
    let rs = replicas(&db, 3, |i| Options {
        key_refresh: if i == 2 {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(3600)
        },
        ..Default::default()
    })
    .await;
    let (a, b, c) = (&rs[0], &rs[1], &rs[2]);
    let old_sts = b.state().keys.active(Purpose::Sts).kid().to_string();
    let t = a.admin_token().await;
    for purpose in ["sts", "issuer"] {
        let (s, _, v) = a
            .call(
                Method::POST,
                &format!("/issuer/keys/rotate?purpose={purpose}"),
                Some(&t),
                None,
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let rotated = Instant::now();
    let new_sts = a.state().keys.active(Purpose::Sts).kid().to_string();
    let new_iss = a.state().keys.active(Purpose::Issuer).kid().to_string();
    assert_ne!(new_sts, old_sts);
    let now = a.clock.now();
    assert!(b.state().keys.find(Purpose::Sts, &new_sts, now).is_none());

    // A token naming the new kid for another tenant does not make B read the store.
    let foreign = crate::common::raw_jwt(
        &serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": new_sts}),
        &serde_json::json!({"tid": "00000000-0000-0000-0000-00000000dead", "iss": "https://sts.windows.net/00000000-0000-0000-0000-00000000dead/"}),
        "c2ln",
    );
    let sub_path = format!("/subscriptions/{}?api-version=2022-12-01", b.sub);
    let (s, _, _) = b.call(Method::GET, &sub_path, Some(&foreign), None).await;
    assert_eq!(s, 401);
    assert!(b.state().keys.find(Purpose::Sts, &new_sts, now).is_none());

    // A token signed by A's new key: B has never seen the kid and reloads at once.
    let fresh = a.admin_token_for(SCOPE_ARM).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(crate::common::claims_of(&fresh)["tid"], a.tenant.as_str());
    let (s, _, v) = b.call(Method::GET, &sub_path, Some(&fresh), None).await;
    assert_eq!(s, 200, "B accepts A's new key: {v}");
    assert_eq!(b.state().keys.active(Purpose::Sts).kid(), new_sts);

    // C reloads on its own within its refresh interval. A reload sets one purpose's keys
    // after the other (each from its own query), so wait for both: seeing the new issuer
    // key while the STS key is still the old one is a reload half done, not a failure.
    while c.state().keys.active(Purpose::Issuer).kid() != new_iss
        || c.state().keys.active(Purpose::Sts).kid() != new_sts
    {
        assert!(
            rotated.elapsed() < Duration::from_secs(5),
            "C did not pick up the rotation"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Every replica's JWKS publishes the new keys and the retired ones.
    for r in &rs {
        let (_, _, jwks) = r
            .call(
                Method::GET,
                &format!("/{}/discovery/v2.0/keys", r.tenant),
                None,
                None,
            )
            .await;
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert!(
            kids.contains(&new_sts.as_str()) && kids.contains(&old_sts.as_str()),
            "{kids:?}"
        );
    }

    // Tokens signed by each replica work on every other: a projected token minted by X
    // (its issuer's new key) exchanged at Y, and Y's access token used at ARM on Z.
    let (client_id, principal) = a.create_identity("id-replicas").await;
    a.assign_role("Reader", &principal, &format!("/subscriptions/{}", a.sub))
        .await;
    for (i, x) in rs.iter().enumerate() {
        let (s, v) = a
            .put_fic(
                "id-replicas",
                &format!("fic-{i}"),
                &x.issuer(),
                &format!("system:serviceaccount:ns:sa{i}"),
                &["api://AzureADTokenExchange"],
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    for (i, x) in rs.iter().enumerate() {
        let assertion = x.sa_token("ns", &format!("sa{i}"));
        let header = wid_jose::UnverifiedJwt::parse(&assertion).unwrap();
        assert_eq!(header.kid(), Some(new_iss.as_str()));
        for y in &rs {
            let (s, v) = y.exchange(&client_id, &assertion, SCOPE_ARM).await;
            assert_eq!(s, 200, "{v}");
            let access = v["access_token"].as_str().unwrap();
            for z in &rs {
                let (s, _, v) = z.call(Method::GET, &sub_path, Some(access), None).await;
                assert_eq!(s, 200, "{v}");
            }
        }
    }
    stop_all(rs).await;
    db.drop_db().await;
}

#[tokio::test]
async fn concurrent_writes_through_two_replicas_get_arms_409() {
    let db = PgDb::create().await;
    let rs = replicas(&db, 2, |_| Options {
        fic_write_hold: Duration::from_millis(500),
        ..Default::default()
    })
    .await;
    rs[0].create_identity("id-409").await;
    let iss = rs[0].issuer();
    let (r0, r1) = tokio::join!(
        rs[0].put_fic(
            "id-409",
            "one",
            &iss,
            "sub-one",
            &["api://AzureADTokenExchange"]
        ),
        rs[1].put_fic(
            "id-409",
            "two",
            &iss,
            "sub-two",
            &["api://AzureADTokenExchange"]
        ),
    );
    let mut statuses = [r0.0, r1.0];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{r0:?} {r1:?}");
    let conflict = if r0.0 == 409 { &r0.1 } else { &r1.1 };
    assert_eq!(
        conflict["error"]["code"],
        "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"
    );
    stop_all(rs).await;
    db.drop_db().await;
}

#[tokio::test]
async fn concurrent_writes_through_three_replicas_end_as_one_arm() {
    let db = PgDb::create().await;
    let rs = Arc::new(
        replicas(&db, 3, |_| Options {
            fic_write_hold: Duration::from_millis(5),
            ..Default::default()
        })
        .await,
    );
    let (_, principal) = rs[0].create_identity("id-many").await;
    let iss = rs[0].issuer();
    // 40 names over 25 subjects: 15 writes repeat another's issuer+subject.
    let writes = (0..40).map(|i| {
        let rs = rs.clone();
        let iss = iss.clone();
        async move {
            let r = &rs[i % 3];
            let mut conflicts = 0;
            loop {
                let (s, v) = r
                    .put_fic(
                        "id-many",
                        &format!("fic-{i:02}"),
                        &iss,
                        &format!("subject-{}", i % 25),
                        &["api://AzureADTokenExchange"],
                    )
                    .await;
                if s != 409 {
                    return (s, v, conflicts);
                }
                conflicts += 1;
                // The client's retry policy for ARM's 409.
                tokio::time::sleep(Duration::from_millis(10 + (i as u64 % 7) * 3)).await;
            }
        }
    });
    let results = all(writes).await;
    let created = results.iter().filter(|r| r.0 == 201).count();
    let refused: Vec<_> = results.iter().filter(|r| r.0 != 201).collect();
    assert_eq!(created, 20, "{results:?}");
    for (s, v, _) in &refused {
        assert_eq!(*s, 400, "{v}");
    }
    let conflicts: usize = results.iter().map(|r| r.2).sum();
    assert!(conflicts > 0, "concurrent writes met no 409");
    let rows = db
        .count(&format!(
            "SELECT COUNT(*) FROM federated_credentials WHERE identity_principal_id = '{principal}'"
        ))
        .await;
    assert_eq!(rows, 20);
    let distinct = db
        .count(&format!(
            "SELECT COUNT(DISTINCT issuer || ' ' || subject) FROM federated_credentials WHERE identity_principal_id = '{principal}'"
        ))
        .await;
    assert_eq!(distinct, 20);

    // At the limit: identities with 19 credentials each get three simultaneous writes, one
    // through each replica. One ARM creates exactly one; the others see 409 or the limit.
    for n in 0..6 {
        let name = format!("id-limit-{n}");
        let (_, principal) = rs[0].create_identity(&name).await;
        for k in 0..19 {
            let (s, v) = rs[k % 3]
                .put_fic(
                    &name,
                    &format!("pre-{k}"),
                    &iss,
                    &format!("pre-{k}"),
                    &["api://AzureADTokenExchange"],
                )
                .await;
            assert_eq!(s, 201, "{v}");
        }
        let race = (0..3).map(|r| {
            let (rs, iss, name) = (rs.clone(), iss.clone(), name.clone());
            async move {
                rs[r]
                    .put_fic(
                        &name,
                        &format!("last-{r}"),
                        &iss,
                        &format!("last-{r}"),
                        &["api://AzureADTokenExchange"],
                    )
                    .await
                    .0
            }
        });
        let statuses = all(race).await;
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "{statuses:?}"
        );
        let rows = db
            .count(&format!(
                "SELECT COUNT(*) FROM federated_credentials WHERE identity_principal_id = '{principal}'"
            ))
            .await;
        assert_eq!(rows, 20, "{statuses:?}");
    }
    Arc::try_unwrap(rs).ok().map(stop_all).unwrap().await;
    db.drop_db().await;
}

async fn api_key_call(
    r: &TestCloud,
    m: Method,
    path: &str,
    body: Option<&serde_json::Value>,
) -> (u16, serde_json::Value) {
    let k = std::fs::read_to_string(r.home.root().join("api-key")).unwrap();
    let (s, _, v) = r.call(m, path, Some(k.trim()), body).await;
    (s, v)
}

async fn exported_password(r: &TestCloud, id: &str) -> Option<String> {
    let (s, v) = api_key_call(r, Method::GET, "/api/v2/connections:export", None).await;
    if s != 200 {
        return None;
    }
    v["connections"]
        .as_array()?
        .iter()
        .find(|c| c["connection_id"] == id)
        .and_then(|c| c["password"].as_str().map(String::from))
}

#[tokio::test]
async fn fernet_rotation_is_picked_up_by_running_replicas() {
    let db = PgDb::create().await;
    let rs = replicas(&db, 2, |_| Options {
        key_refresh: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let (s, v) = api_key_call(
        &rs[0],
        Method::POST,
        "/api/v2/connections",
        Some(&serde_json::json!({"connection_id": "before", "conn_type": "wasb", "password": "p-before"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let old_only = wid::server::fernet_config(&rs[0].home, false).unwrap();

    // What `wid connections rotate-fernet-key --generate` does, while both replicas run.
    let text = wid::server::fernet_config(&rs[0].home, true).unwrap();
    let keys = wid_store::FernetKeys::parse(text.expose_str()).unwrap();
    let new_only =
        wid_store::FernetKeys::parse(text.expose_str().split(',').next().unwrap()).unwrap();
    let store = wid_store::Store::connect(&db.url, rs[0].clock.now())
        .await
        .unwrap();
    let rotation = store.rotate_fernet_key(&keys).await.unwrap();
    assert_eq!(rotation.connections, 1);
    assert!(rotation.signing_keys >= 2, "{rotation:?}");
    let rotated = Instant::now();

    // The rows are now under the new key only; each replica reads them once it uses the
    // new configuration, without a restart.
    for r in &rs {
        while exported_password(r, "before").await.as_deref() != Some("p-before") {
            assert!(
                rotated.elapsed() < Duration::from_secs(5),
                "a replica did not pick up the new Fernet key"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // New writes through either replica are encrypted with the new key.
    let (s, v) = api_key_call(
        &rs[1],
        Method::POST,
        "/api/v2/connections",
        Some(&serde_json::json!({"connection_id": "after", "conn_type": "wasb", "password": "p-after"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let (token,): (String,) =
        sqlx::query_as("SELECT password FROM connections WHERE conn_id = 'after'")
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert_eq!(new_only.decrypt(&token).unwrap().expose_str(), "p-after");
    let old = wid_store::FernetKeys::parse(old_only.expose_str()).unwrap();
    assert!(old.decrypt(&token).is_err());
    store.close().await;
    stop_all(rs).await;
    db.drop_db().await;
}

#[tokio::test]
async fn signing_out_through_one_replica_ends_the_session_on_every_replica() {
    use crate::ui_support::UiClient;
    let db = PgDb::create().await;
    let rs = replicas(&db, 2, |_| Options::default()).await;
    let a = UiClient::signed_in(&rs[0]).await;
    // The same browser, its next request answered by the other replica.
    let mut b = UiClient::new(&rs[1]);
    b.cookie = a.cookie.clone();
    b.csrf = a.csrf.clone();
    assert_eq!(
        b.get("/connections").await.status,
        200,
        "replica b accepts the session"
    );
    let out = a.post("/signout", &[]).await;
    assert_eq!((out.status, out.location.as_str()), (303, "/signin"));
    let after = b.get("/connections").await;
    assert_eq!(
        (after.status, after.location.as_str()),
        (303, "/signin"),
        "replica b sends the signed-out session back to sign-in"
    );
    let refused = b
        .post(
            "/connection/add",
            &[("conn_id", "x"), ("conn_type", "http"), ("action", "save")],
        )
        .await;
    assert_eq!(refused.location, "/signin", "and changes nothing");
    assert_eq!(
        db.count("SELECT COUNT(*) FROM ended_sessions").await,
        1,
        "one record, until the session would have expired"
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM connections").await, 0);
    stop_all(rs).await;
    db.drop_db().await;
}

#[tokio::test]
async fn unknown_key_ids_read_the_store_at_most_once_a_second() {
    let db = PgDb::create().await;
    // No periodic refresh: only unknown key ids make B read the store.
    let rs = replicas(&db, 2, |_| Options {
        key_refresh: Duration::from_secs(3600),
        ..Default::default()
    })
    .await;
    let (a, b) = (&rs[0], &rs[1]);
    let sub_path = format!("/subscriptions/{}?api-version=2022-12-01", b.sub);
    // A token of B's own tenant naming a made-up kid: B reads the store once, finds nothing.
    let forged = crate::common::raw_jwt(
        &serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "made-up"}),
        &serde_json::json!({"tid": b.tenant, "iss": format!("https://sts.windows.net/{}/", b.tenant)}),
        "c2ln",
    );
    let (s, _, _) = b.call(Method::GET, &sub_path, Some(&forged), None).await;
    assert_eq!(s, 401);
    // A rotates; within the same second, B does not read the store again for a new kid.
    let t = a.admin_token().await;
    let (s, _, v) = a
        .call(
            Method::POST,
            "/issuer/keys/rotate?purpose=sts",
            Some(&t),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let new_sts = a.state().keys.active(Purpose::Sts).kid().to_string();
    let fresh = a.admin_token_for(SCOPE_ARM).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _, _) = b.call(Method::GET, &sub_path, Some(&fresh), None).await;
    assert_eq!(
        s, 401,
        "a second unknown kid within the interval is not looked up"
    );
    assert!(
        b.state()
            .keys
            .find(Purpose::Sts, &new_sts, b.clock.now())
            .is_none()
    );
    // A second later (on the injected clock) the next unknown kid reads the store at once.
    b.clock.advance(1);
    let (s, _, v) = b.call(Method::GET, &sub_path, Some(&fresh), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(b.state().keys.active(Purpose::Sts).kid(), new_sts);
    stop_all(rs).await;
    db.drop_db().await;
}

/// Waits until `r` grants the exchange (`granted`) or refuses it, for at most `bound`;
/// returns how long it took.
async fn until_exchange(
    r: &TestCloud,
    client_id: &str,
    assertion: &str,
    granted: bool,
    bound: Duration,
) -> Duration {
    let start = Instant::now();
    loop {
        let (s, v) = r.exchange(client_id, assertion, SCOPE_ARM).await;
        if (s == 200) == granted {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < bound,
            "still {s} after {bound:?} (granted wanted: {granted}): {v}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn credential_writes_through_one_replica_reach_the_others_cache() {
    // The token service caches identities and their federated credentials; a write through
    // one replica reaches the other's cache through PostgreSQL's NOTIFY.
    const BOUND: Duration = Duration::from_secs(2);
    let db = PgDb::create().await;
    let rs = replicas(&db, 2, |_| Options::default()).await;
    let (a, b) = (&rs[0], &rs[1]);
    let client_id = a.federated_identity("id-cached", "ns", "one").await;
    // Each replica's issuer is its own URL: `one` is A's, `two` will be B's.
    let one = a.sa_token("ns", "one");
    let two = b.sa_token("ns", "two");
    // B reads the identity with its one credential, and answers from its cache after that.
    for _ in 0..3 {
        let (s, v) = b.exchange(&client_id, &one, SCOPE_ARM).await;
        assert_eq!(s, 200, "{v}");
    }
    let (s, v) = b.exchange(&client_id, &two, SCOPE_ARM).await;
    assert_eq!(v["error_codes"][0], 700211, "{s} {v}");

    // A credential created through A works through B.
    let (s, v) = a
        .put_fic(
            "id-cached",
            "two",
            &b.issuer(),
            "system:serviceaccount:ns:two",
            &["api://AzureADTokenExchange"],
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let created = until_exchange(b, &client_id, &two, true, BOUND).await;

    // A credential deleted through A stops working through B.
    let (s, v) = a
        .arm(
            Method::DELETE,
            &format!(
                "{}/federatedIdentityCredentials/id-cached-one",
                a.identity_path("id-cached")
            ),
            None,
        )
        .await;
    assert!(s == 200 || s == 204, "{s} {v}");
    let deleted = until_exchange(b, &client_id, &one, false, BOUND).await;
    eprintln!("seen by the other replica: created after {created:?}, deleted after {deleted:?}");
    // The identity deleted through A: B refuses its client id.
    let (s, v) = a
        .arm(Method::DELETE, &a.identity_path("id-cached"), None)
        .await;
    assert!(s == 200 || s == 204, "{s} {v}");
    until_exchange(b, &client_id, &two, false, BOUND).await;
    let (_, v) = b.exchange(&client_id, &two, SCOPE_ARM).await;
    assert_eq!(v["error_codes"][0], 700016, "{v}");
    stop_all(rs).await;
    db.drop_db().await;
}
