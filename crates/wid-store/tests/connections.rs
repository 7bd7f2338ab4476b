//! Connections in the store. Every test body runs twice, on SQLite (a temporary file) and on
//! PostgreSQL (a fresh database `wid_test_<random>` on `WID_TEST_POSTGRES`, by default
//! `postgres://postgres@127.0.0.1:5432/postgres`, dropped afterwards). An unreachable
//! PostgreSQL fails the tests.

#[macro_use]
mod support;

use std::path::PathBuf;
use support::{Db, Engine, NOW};

use std::time::{Duration, Instant};

use wid_model::connection::Connection;

use wid_store::{FernetError, FernetKeys, KeyProblem, ListQuery, OrderBy, Store, StoreError};

on_both_engines!(
    round_trip_keeps_every_field,
    none_and_empty_strings_stay_apart,
    a_one_megabyte_extra_round_trips,
    insert_conflicts_on_an_existing_id,
    put_creates_then_replaces,
    list_pages_orders_and_filters,
    delete_removes_one,
    restart_loses_nothing,
    no_plaintext_secret_is_stored,
    rotation_re_encrypts_with_the_first_key,
    wrong_keys_name_the_connection,
    a_read_only_database_refuses_writes_and_keeps_data,
    hostile_ids_are_stored_literally,
    a_connection_needs_an_id_and_a_type,
    counts_and_deep_pages_follow_writes,
);

fn keys(config: &str) -> FernetKeys {
    FernetKeys::parse(config).unwrap()
}

fn new_keys() -> (String, FernetKeys) {
    let k = FernetKeys::generate_key().into_exposed();
    let keys = keys(&k);
    (k, keys)
}

fn full(conn_id: &str) -> Connection {
    Connection {
        conn_id: Some(conn_id.into()),
        conn_type: Some("azure".into()),
        description: Some("Déscription\nwith 'quotes', \"dq\", \\ and 密码 🔑".into()),
        host: Some("https://management.example:443/path?x=1".into()),
        schema: Some("schéma".into()),
        login: Some("00000000-0000-0000-0000-000000000001".into()),
        password: Some("p@ss:wörd/✓ 🔑 '\"\\ \0 end".into()),
        port: Some(65535),
        extra: Some(
            r#"{"managed_identity_client_id": "c", "ü": [1, 2.5, null], "s": "\u0000"}"#.into(),
        ),
    }
}

fn ids(list: &[Connection]) -> Vec<&str> {
    list.iter().map(|c| c.conn_id.as_deref().unwrap()).collect()
}

async fn round_trip_keeps_every_field(db: Db) {
    let store = db.open().await;
    let (_, k) = new_keys();
    for (i, id) in ["rt", "rt-ünï-🔑"].into_iter().enumerate() {
        let mut c = full(id);
        c.port = Some([65535, -7][i]);
        store.insert_connection(&c, &k, NOW).await.unwrap();
        assert_eq!(store.get_connection(id, &k).await.unwrap(), Some(c));
    }
    assert_eq!(store.get_connection("RT", &k).await.unwrap(), None);
    assert_eq!(store.get_connection("missing", &k).await.unwrap(), None);
    let (list, total) = store
        .list_connections(&k, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(total, 2);
    assert_eq!(list[0], full("rt"));
}

async fn none_and_empty_strings_stay_apart(db: Db) {
    let store = db.open().await;
    let (_, k) = new_keys();
    let none = Connection::new("generic").with_id("none");
    let empty = Connection {
        conn_id: Some("empty".into()),
        conn_type: Some(String::new()),
        description: Some(String::new()),
        host: Some(String::new()),
        schema: Some(String::new()),
        login: Some(String::new()),
        password: Some(String::new().into()),
        port: Some(0),
        extra: Some(String::new().into()),
    };
    store.insert_connection(&none, &k, NOW).await.unwrap();
    store.insert_connection(&empty, &k, NOW).await.unwrap();
    assert_eq!(store.get_connection("none", &k).await.unwrap(), Some(none));
    assert_eq!(
        store.get_connection("empty", &k).await.unwrap(),
        Some(empty)
    );
    assert_eq!(db.raw("none").await, (None, None, 0, 0));
    // Even an empty password is stored as a token.
    let (password, extra, 1, 1) = db.raw("empty").await else {
        panic!("flags not set")
    };
    assert!(password.unwrap().starts_with("gAAAAA"));
    assert!(extra.unwrap().starts_with("gAAAAA"));
}

async fn a_one_megabyte_extra_round_trips(db: Db) {
    let store = db.open().await;
    let (_, k) = new_keys();
    let mut c = full("big");
    c.extra = Some(
        format!(
            "{{\"blob\": \"{}\"}}",
            "é\\\" 0123456789abcdef".repeat(1 << 16)
        )
        .into(),
    );
    assert!(c.extra_str().unwrap().len() > 1 << 20);
    store.insert_connection(&c, &k, NOW).await.unwrap();
    assert_eq!(
        store.get_connection("big", &k).await.unwrap(),
        Some(c.clone())
    );
    c.extra = Some(c.extra_str().unwrap().replace('é', "è").into());
    assert!(!store.put_connection(&c, &k, NOW + 1).await.unwrap());
    assert_eq!(store.get_connection("big", &k).await.unwrap(), Some(c));
}

async fn insert_conflicts_on_an_existing_id(db: Db) {
    let store = db.open().await;
    let (_, k) = new_keys();
    let first = full("dup");
    store.insert_connection(&first, &k, NOW).await.unwrap();
    let mut second = full("dup");
    second.password = Some("other".into());
    let err = store
        .insert_connection(&second, &k, NOW + 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(err.to_string().contains("`dup`"), "{err}");
    assert!(!err.to_string().contains("other"), "{err}");
    assert_eq!(store.get_connection("dup", &k).await.unwrap(), Some(first));
    // Ids are case-sensitive, as in Airflow.
    store
        .insert_connection(&full("DUP"), &k, NOW)
        .await
        .unwrap();
}

async fn put_creates_then_replaces(db: Db) {
    let store = db.open().await;
    let (_, k) = new_keys();
    let a = full("a");
    assert!(store.put_connection(&a, &k, NOW).await.unwrap());
    store
        .insert_connection(&Connection::new("http").with_id("b"), &k, NOW + 1)
        .await
        .unwrap();
    assert_eq!(store.get_connection("a", &k).await.unwrap(), Some(a));
    let replaced = Connection {
        description: Some("new".into()),
        port: None,
        ..Connection::new("generic").with_id("a")
    };
    assert!(!store.put_connection(&replaced, &k, NOW + 5).await.unwrap());
    assert_eq!(
        store.get_connection("a", &k).await.unwrap(),
        Some(replaced.clone())
    );
    // Every field was replaced: no old password or extra is left behind.
    assert_eq!(db.raw("a").await, (None, None, 0, 0));
    // The creation time stays: `a` still comes first in insertion order.
    let (list, total) = store
        .list_connections(&k, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!((ids(&list), total), (vec!["a", "b"], 2));
    assert_eq!(list[0], replaced);
}

/// Six connections whose every ordering differs.
async fn seed_list(store: &Store, k: &FernetKeys) {
    // id, type, description, host, port, created
    type Seed<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Option<i64>,
        i64,
    );
    let rows: [Seed; 6] = [
        ("alpha", "azure", Some("d-b"), Some("h2"), Some(3), NOW + 1),
        ("bravo", "http", None, Some("h1"), None, NOW),
        ("charlie", "azure", Some("d-a"), None, Some(1), NOW + 2),
        (
            "delta_1",
            "generic",
            Some("d-c"),
            Some("h3"),
            Some(2),
            NOW + 2,
        ),
        ("echo_ABC", "generic", None, Some("h1"), Some(10), NOW + 3),
        ("foxtrot%x", "http", Some("d-d"), None, Some(-5), NOW + 4),
    ];
    for (id, t, d, h, p, at) in rows {
        let c = Connection {
            description: d.map(String::from),
            host: h.map(String::from),
            port: p,
            password: Some(format!("pw-{id}").into()),
            ..Connection::new(t).with_id(id)
        };
        store.insert_connection(&c, k, at).await.unwrap();
    }
}

async fn list_pages_orders_and_filters(db: Db) {
    let store = db.open().await;
    let (_, k) = new_keys();
    seed_list(&store, &k).await;
    let list = |q: ListQuery| {
        let store = store.clone();
        let k = k.clone();
        async move {
            let (page, total) = store.list_connections(&k, &q).await.unwrap();
            for c in &page {
                let id = c.conn_id.as_deref().unwrap();
                assert_eq!(c.password_str(), Some(format!("pw-{id}").as_str()));
            }
            (
                page.iter()
                    .map(|c| c.conn_id.clone().unwrap())
                    .collect::<Vec<_>>(),
                total,
            )
        }
    };
    let all = |order_by, descending| ListQuery {
        order_by,
        descending,
        ..ListQuery::default()
    };

    let orders: [(OrderBy, [&str; 6]); 6] = [
        (
            OrderBy::Id,
            [
                "bravo",
                "alpha",
                "charlie",
                "delta_1",
                "echo_ABC",
                "foxtrot%x",
            ],
        ),
        (
            OrderBy::ConnId,
            [
                "alpha",
                "bravo",
                "charlie",
                "delta_1",
                "echo_ABC",
                "foxtrot%x",
            ],
        ),
        (
            OrderBy::ConnType,
            [
                "alpha",
                "charlie",
                "delta_1",
                "echo_ABC",
                "bravo",
                "foxtrot%x",
            ],
        ),
        (
            OrderBy::Description,
            [
                "charlie",
                "alpha",
                "delta_1",
                "foxtrot%x",
                "bravo",
                "echo_ABC",
            ],
        ),
        (
            OrderBy::Host,
            [
                "bravo",
                "echo_ABC",
                "alpha",
                "delta_1",
                "charlie",
                "foxtrot%x",
            ],
        ),
        (
            OrderBy::Port,
            [
                "foxtrot%x",
                "charlie",
                "delta_1",
                "alpha",
                "echo_ABC",
                "bravo",
            ],
        ),
    ];
    for (order_by, expected) in orders {
        let (got, total) = list(all(order_by, false)).await;
        assert_eq!(
            (got.clone(), total),
            (expected.map(String::from).to_vec(), 6),
            "{order_by:?}"
        );
        let (mut desc, _) = list(all(order_by, true)).await;
        desc.reverse();
        assert_eq!(desc, got, "{order_by:?} descending");
    }

    // Pages.
    let page = |limit, offset| ListQuery {
        limit,
        offset,
        ..ListQuery::default()
    };
    assert_eq!(
        list(page(2, 0)).await,
        (vec!["bravo".into(), "alpha".into()], 6)
    );
    assert_eq!(
        list(page(2, 2)).await,
        (vec!["charlie".into(), "delta_1".into()], 6)
    );
    assert_eq!(
        list(page(4, 4)).await,
        (vec!["echo_ABC".into(), "foxtrot%x".into()], 6)
    );
    assert_eq!(list(page(2, 6)).await, (vec![], 6));
    assert_eq!(list(page(0, 0)).await, (vec![], 6));
    for (limit, offset) in [(-1, 0), (1, -1)] {
        let err = store
            .list_connections(&k, &page(limit, offset))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }

    // Patterns: LIKE, case-insensitive, anywhere in the id, `|` for either.
    let cases: &[(&str, &[&str])] = &[
        ("ALP", &["alpha"]),
        ("abc", &["echo_ABC"]),
        ("a_p", &["alpha"]),
        ("a_", &["alpha", "bravo", "charlie", "delta_1", "echo_ABC"]),
        ("a\\_", &["delta_1"]),
        ("o\\_A", &["echo_ABC"]),
        ("a%o", &["bravo"]),
        ("t\\%", &["foxtrot%x"]),
        ("alp|BRAV", &["alpha", "bravo"]),
        (" alp | | brav ", &["alpha", "bravo"]),
        (
            "~",
            &[
                "alpha",
                "bravo",
                "charlie",
                "delta_1",
                "echo_ABC",
                "foxtrot%x",
            ],
        ),
        (
            "%",
            &[
                "alpha",
                "bravo",
                "charlie",
                "delta_1",
                "echo_ABC",
                "foxtrot%x",
            ],
        ),
        ("zzz", &[]),
        ("x\\", &[]),
        ("' OR 1=1 --", &[]),
    ];
    for (pattern, expected) in cases {
        let q = ListQuery {
            conn_id_pattern: Some(pattern.to_string()),
            ..all(OrderBy::ConnId, false)
        };
        let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        let n = expected.len() as i64;
        assert_eq!(list(q).await, (expected, n), "pattern {pattern:?}");
    }
    // The total counts every match, not the page.
    let q = ListQuery {
        limit: 2,
        offset: 1,
        conn_id_pattern: Some("a_".into()),
        ..all(OrderBy::ConnId, true)
    };
    assert_eq!(list(q).await, (vec!["delta_1".into(), "charlie".into()], 5));
    let q = ListQuery {
        conn_id_pattern: Some("a|".repeat(100)),
        ..ListQuery::default()
    };
    assert!(matches!(
        store.list_connections(&k, &q).await,
        Err(StoreError::Invalid(_))
    ));
}

/// Waits until `store`'s first page reports `total` (at once on SQLite, where the writer is
/// this process; within 2 s on PostgreSQL, where another store's writes arrive through
/// `NOTIFY`), and returns how many reads it took.
async fn until_total(store: &Store, k: &FernetKeys, q: &ListQuery, total: i64) -> usize {
    let start = Instant::now();
    let mut reads = 0;
    loop {
        let (_, n) = store.list_connections(k, q).await.unwrap();
        reads += 1;
        if n == total {
            return reads;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "total_entries stayed {n}, expected {total}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn counts_and_deep_pages_follow_writes(db: Db) {
    let reader = db.open().await;
    // On PostgreSQL the writes come from another store (another replica); on SQLite, which
    // is one process, from the same one.
    let other = match db.engine {
        Engine::Postgres => Some(db.open().await),
        Engine::Sqlite => None,
    };
    let writer = other.as_ref().unwrap_or(&reader);
    let (_, k) = new_keys();
    let name = |i: i64| format!("c{i:04}");
    for i in 0..250 {
        let mut c = full(&name(i));
        c.password = Some(format!("p{i}").into());
        reader.insert_connection(&c, &k, NOW + i).await.unwrap();
    }
    let deep = ListQuery {
        offset: 200,
        ..ListQuery::default()
    };
    let filtered = ListQuery {
        conn_id_pattern: Some("c01%".into()),
        ..ListQuery::default()
    };
    // Twice each: the second answers from the cached counts.
    for _ in 0..2 {
        let (page, total) = reader.list_connections(&k, &deep).await.unwrap();
        assert_eq!(total, 250);
        let want: Vec<String> = (200..250).map(name).collect();
        assert_eq!(ids(&page), want);
        assert_eq!(
            page[0].password.as_ref().map(|p| p.expose_str()),
            Some("p200")
        );
        assert_eq!(reader.list_connections(&k, &filtered).await.unwrap().1, 100);
    }
    // Through the writer: one created, two deleted (one of them on the deep page).
    writer
        .insert_connection(&full("c0100x"), &k, NOW + 1000)
        .await
        .unwrap();
    assert!(writer.delete_connection(&name(5)).await.unwrap());
    assert!(writer.delete_connection(&name(210)).await.unwrap());
    let reads = until_total(&reader, &k, &deep, 249).await;
    if db.engine == Engine::Sqlite {
        assert_eq!(reads, 1, "on SQLite a write is seen by the next read");
    }
    let (page, _) = reader.list_connections(&k, &deep).await.unwrap();
    let want: Vec<String> = (201..250)
        .filter(|i| *i != 210)
        .map(name)
        .chain(["c0100x".to_string()])
        .collect();
    assert_eq!(ids(&page), want);
    until_total(&reader, &k, &filtered, 101).await;
    // Pages after a remembered start, in each order by immutable keys and both directions.
    for (order_by, descending) in [
        (OrderBy::Id, false),
        (OrderBy::Id, true),
        (OrderBy::ConnId, false),
        (OrderBy::ConnId, true),
    ] {
        let all = ListQuery {
            limit: 1000,
            order_by,
            descending,
            ..ListQuery::default()
        };
        let (every, _) = reader.list_connections(&k, &all).await.unwrap();
        for offset in [120, 130, 120, 125, 248, 249, 300] {
            let q = ListQuery {
                limit: 10,
                offset,
                order_by,
                descending,
                ..ListQuery::default()
            };
            let (page, total) = reader.list_connections(&k, &q).await.unwrap();
            assert_eq!(total, 249);
            let want: Vec<&str> = ids(&every)
                .into_iter()
                .skip(offset as usize)
                .take(10)
                .collect();
            assert_eq!(
                ids(&page),
                want,
                "{order_by:?} desc={descending} offset={offset}"
            );
        }
    }
    // An update moves nothing; the count stays right.
    writer
        .put_connection(&full(&name(7)), &k, NOW)
        .await
        .unwrap();
    until_total(&reader, &k, &deep, 249).await;
    assert_eq!(reader.list_connections(&k, &filtered).await.unwrap().1, 101);
}

async fn delete_removes_one(db: Db) {
    let store = db.open().await;
    let (_, k) = new_keys();
    store.insert_connection(&full("a"), &k, NOW).await.unwrap();
    store.insert_connection(&full("b"), &k, NOW).await.unwrap();
    assert!(store.delete_connection("a").await.unwrap());
    assert_eq!(store.get_connection("a", &k).await.unwrap(), None);
    assert!(!store.delete_connection("a").await.unwrap());
    assert!(!store.delete_connection("B").await.unwrap());
    assert_eq!(
        store.get_connection("b", &k).await.unwrap(),
        Some(full("b"))
    );
    // The id is free again.
    store.insert_connection(&full("a"), &k, NOW).await.unwrap();
}

async fn restart_loses_nothing(db: Db) {
    let (key, k) = new_keys();
    let store = db.open().await;
    seed_list(&store, &k).await;
    store
        .insert_connection(&full("full"), &k, NOW + 9)
        .await
        .unwrap();
    let before = store
        .list_connections(&k, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(before.1, 7);
    store.close().await;
    drop(store);

    let store = db.open().await;
    let k = keys(&key);
    assert_eq!(
        store
            .list_connections(&k, &ListQuery::default())
            .await
            .unwrap(),
        before
    );
    assert_eq!(
        store.get_connection("full", &k).await.unwrap(),
        Some(full("full"))
    );
    store.close().await;
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

async fn no_plaintext_secret_is_stored(db: Db) {
    const PASSWORD: &str = "hunter2-PLAINTEXT-PASSWORD-7f3a9c";
    const EXTRA_SECRET: &str = "EXTRA-SECRET-VALUE-51d2e8";
    const HOST: &str = "visible-host-marker-9b1c";
    let store = db.open().await;
    let (_, k) = new_keys();
    let c = Connection {
        host: Some(HOST.into()),
        password: Some(PASSWORD.into()),
        extra: Some(format!("{{\"client_secret\": \"{EXTRA_SECRET}\"}}").into()),
        ..Connection::new("azure").with_id("secret")
    };
    store.insert_connection(&c, &k, NOW).await.unwrap();
    // The replace path too.
    let c2 = Connection {
        conn_id: Some("secret2".into()),
        ..c.clone()
    };
    assert!(store.put_connection(&c2, &k, NOW).await.unwrap());
    assert!(!store.put_connection(&c2, &k, NOW + 1).await.unwrap());

    for id in ["secret", "secret2"] {
        let (password, extra, is_encrypted, is_extra_encrypted) = db.raw(id).await;
        let (password, extra) = (password.unwrap(), extra.unwrap());
        assert_eq!((is_encrypted, is_extra_encrypted), (1, 1));
        for token in [&password, &extra] {
            assert!(token.starts_with("gAAAAA"), "{token}");
            assert!(!token.contains(PASSWORD) && !token.contains(EXTRA_SECRET));
        }
        assert_eq!(
            k.decrypt(&password).as_ref().map(|s| s.expose_str()),
            Ok(PASSWORD)
        );
        assert_eq!(k.decrypt(&extra), Ok(c.extra.clone().unwrap()));
    }

    if db.engine == Engine::Sqlite {
        let path = db.path.as_ref().unwrap();
        let files = |path: &PathBuf| {
            let mut bytes = std::fs::read(path).unwrap();
            for suffix in ["-wal", "-journal"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                if let Ok(more) = std::fs::read(&p) {
                    bytes.extend(more);
                }
            }
            bytes
        };
        // While open (the rows are in the WAL), then after close (checkpointed into the file).
        let open = files(path);
        store.close().await;
        let closed = files(path);
        for bytes in [open, closed] {
            assert!(contains(&bytes, HOST), "the scan must see what is stored");
            assert!(
                !contains(&bytes, PASSWORD),
                "a plaintext password is on disk"
            );
            assert!(
                !contains(&bytes, EXTRA_SECRET),
                "a plaintext extra is on disk"
            );
        }
    }
}

async fn rotation_re_encrypts_with_the_first_key(db: Db) {
    let store = db.open().await;
    let (a, keys_a) = new_keys();
    let (b, keys_b) = new_keys();
    let both = full("both");
    let pw_only = Connection {
        password: Some("only-pw".into()),
        ..Connection::new("http").with_id("pw-only")
    };
    let plain = Connection::new("http").with_id("plain");
    for c in [&both, &pw_only, &plain] {
        store.insert_connection(c, &keys_a, NOW).await.unwrap();
    }
    let before = db.raw("both").await;

    assert_eq!(
        store
            .rotate_fernet_key(&keys(&format!("{b},{a}")))
            .await
            .unwrap(),
        wid_store::FernetRotation {
            connections: 2,
            signing_keys: 0
        }
    );

    let after = db.raw("both").await;
    assert_ne!(after.0, before.0);
    assert_ne!(after.1, before.1);
    assert_eq!((after.2, after.3), (1, 1));
    assert_eq!(
        store.get_connection("both", &keys_b).await.unwrap(),
        Some(both.clone())
    );
    assert_eq!(
        store.get_connection("pw-only", &keys_b).await.unwrap(),
        Some(pw_only)
    );
    assert_eq!(
        store.get_connection("plain", &keys_b).await.unwrap(),
        Some(plain)
    );
    assert!(matches!(
        store.get_connection("both", &keys_a).await,
        Err(StoreError::Decrypt { .. })
    ));

    // All or nothing: `zzz` (key A only) fails after `both` and `pw-only` (key B) rotated.
    store
        .insert_connection(&full("zzz"), &keys_a, NOW)
        .await
        .unwrap();
    let (c, _) = new_keys();
    let err = store
        .rotate_fernet_key(&keys(&format!("{c},{b}")))
        .await
        .unwrap_err();
    match &err {
        StoreError::Decrypt { conn_id, field, .. } => {
            assert_eq!((conn_id.as_str(), *field), ("zzz", "password"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        db.raw("both").await,
        after,
        "a failed rotation changed a row"
    );
    assert_eq!(
        store.get_connection("both", &keys_b).await.unwrap(),
        Some(both)
    );
}

async fn wrong_keys_name_the_connection(db: Db) {
    let store = db.open().await;
    let (_, keys_a) = new_keys();
    let (_, keys_b) = new_keys();
    store
        .insert_connection(&full("mine"), &keys_a, NOW)
        .await
        .unwrap();
    let extra_only = Connection {
        extra: Some("{\"x\": 1}".into()),
        ..Connection::new("http").with_id("extra-only")
    };
    store
        .insert_connection(&extra_only, &keys_a, NOW)
        .await
        .unwrap();
    for (id, field) in [("mine", "password"), ("extra-only", "extra")] {
        let err = store.get_connection(id, &keys_b).await.unwrap_err();
        let StoreError::Decrypt {
            conn_id,
            field: f,
            source,
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!((conn_id.as_str(), *f), (id, field));
        assert_eq!(*source, FernetError::WrongKey { count: 1 });
        let msg = err.to_string();
        assert!(msg.contains(&format!("`{id}`")), "{msg}");
        assert!(
            msg.contains(
                "the value was encrypted with a key that is not in the configured fernet keys"
            ),
            "{msg}"
        );
        assert!(!msg.contains("p@ss") && !format!("{err:?}").contains("p@ss"));
    }
    assert!(matches!(
        store.list_connections(&keys_b, &ListQuery::default()).await,
        Err(StoreError::Decrypt { .. })
    ));
    assert!(store.get_connection("mine", &keys_a).await.is_ok());
}

async fn a_read_only_database_refuses_writes_and_keeps_data(db: Db) {
    let (_, k) = new_keys();
    let store = db.open().await;
    store
        .insert_connection(&full("kept"), &k, NOW)
        .await
        .unwrap();
    store.close().await;
    drop(store);

    let url = db.set_read_only(true).await;
    let store = Store::connect(&url, NOW)
        .await
        .unwrap_or_else(|e| panic!("a read-only database must still open for reading: {e}"));
    assert_eq!(
        store.get_connection("kept", &k).await.unwrap(),
        Some(full("kept"))
    );
    let errors = [
        store
            .insert_connection(&full("new"), &k, NOW)
            .await
            .unwrap_err(),
        store
            .put_connection(&full("new"), &k, NOW)
            .await
            .unwrap_err(),
        store
            .put_connection(&full("kept"), &k, NOW)
            .await
            .unwrap_err(),
        store.delete_connection("kept").await.unwrap_err(),
        store.rotate_fernet_key(&k).await.unwrap_err(),
    ];
    for err in errors {
        assert!(matches!(err, StoreError::ReadOnly(_)), "{err:?}");
        assert!(err.to_string().contains("read-only"), "{err}");
        assert!(err.to_string().contains("hint:"), "{err}");
    }
    store.close().await;
    drop(store);

    db.set_read_only(false).await;
    let store = db.open().await;
    assert_eq!(
        store.get_connection("kept", &k).await.unwrap(),
        Some(full("kept"))
    );
    assert_eq!(store.get_connection("new", &k).await.unwrap(), None);
    store
        .insert_connection(&full("new"), &k, NOW)
        .await
        .unwrap();
    store.close().await;
}

async fn hostile_ids_are_stored_literally(db: Db) {
    let store = db.open().await;
    let (_, k) = new_keys();
    let hostile = [
        "'; DROP TABLE connections; --",
        "../../etc/passwd",
        "Robert'); DELETE FROM connections; --",
        "a%b_c\\d",
        "\"quoted\"",
        "名前 / with space",
        "$1",
    ];
    for id in hostile {
        store
            .insert_connection(&full(id), &k, NOW)
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
    }
    for id in hostile {
        assert_eq!(
            store.get_connection(id, &k).await.unwrap(),
            Some(full(id)),
            "{id}"
        );
    }
    let (list, total) = store
        .list_connections(&k, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(total, hostile.len() as i64);
    let mut got = ids(&list);
    got.sort();
    let mut want = hostile.to_vec();
    want.sort();
    assert_eq!(got, want);
    let q = ListQuery {
        conn_id_pattern: Some("'; drop".into()),
        ..ListQuery::default()
    };
    let (list, total) = store.list_connections(&k, &q).await.unwrap();
    assert_eq!((ids(&list), total), (vec![hostile[0]], 1));
    assert!(store.delete_connection(hostile[0]).await.unwrap());
    assert!(store.delete_connection("../../etc/passwd").await.unwrap());
    assert_eq!(
        store
            .list_connections(&k, &ListQuery::default())
            .await
            .unwrap()
            .1,
        hostile.len() as i64 - 2
    );
}

async fn a_connection_needs_an_id_and_a_type(db: Db) {
    let store = db.open().await;
    let (_, k) = new_keys();
    let no_id = Connection::new("http");
    let no_type = Connection {
        conn_id: Some("x".into()),
        ..Connection::default()
    };
    for c in [&no_id, &no_type] {
        assert!(matches!(
            store.insert_connection(c, &k, NOW).await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            store.put_connection(c, &k, NOW).await,
            Err(StoreError::Invalid(_))
        ));
    }
    assert_eq!(
        store
            .list_connections(&k, &ListQuery::default())
            .await
            .unwrap()
            .1,
        0
    );
}

#[test]
fn invalid_fernet_keys_are_named_by_position() {
    use base64::Engine;
    let good = FernetKeys::generate_key().into_exposed();
    let short = base64::engine::general_purpose::URL_SAFE.encode([7u8; 16]);
    let hint =
        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'";
    let cases: Vec<(String, FernetError)> = vec![
        ("".into(), FernetError::NoKeys),
        (" \n ".into(), FernetError::NoKeys),
        (
            "not base64!!".into(),
            FernetError::InvalidKey {
                position: 1,
                count: 1,
                problem: KeyProblem::InvalidCharacter { position: 4 },
            },
        ),
        (
            short.clone(),
            FernetError::InvalidKey {
                position: 1,
                count: 1,
                problem: KeyProblem::WrongLength { bytes: 16 },
            },
        ),
        (
            format!("{good},{short},{good}"),
            FernetError::InvalidKey {
                position: 2,
                count: 3,
                problem: KeyProblem::WrongLength { bytes: 16 },
            },
        ),
        (
            format!("{good},"),
            FernetError::InvalidKey {
                position: 2,
                count: 2,
                problem: KeyProblem::Empty,
            },
        ),
    ];
    for (config, expected) in &cases {
        let err = FernetKeys::parse(config).unwrap_err();
        assert_eq!(&err, expected, "{config:?}");
        let msg = err.to_string();
        assert!(msg.contains(hint), "{msg}");
        assert!(
            msg.contains("wid connections rotate-fernet-key --generate"),
            "{msg}"
        );
        if let FernetError::InvalidKey {
            position, count, ..
        } = expected
        {
            assert!(msg.contains(&format!("key {position} of {count}")), "{msg}");
        }
        for part in config.split(',').filter(|p| p.len() > 8) {
            assert!(!msg.contains(part), "the message shows key material: {msg}");
        }
    }
    // A key cut short by a character: 43 base64 characters without padding decode to 32
    // bytes only when complete, so one missing character is a length problem.
    let cut = &good[..42];
    let err = FernetKeys::parse(&format!("{good},{good},{cut}")).unwrap_err();
    assert!(
        matches!(
            err,
            FernetError::InvalidKey {
                position: 3,
                count: 3,
                problem: KeyProblem::InvalidLength { .. } | KeyProblem::WrongLength { .. }
            }
        ),
        "{err:?}"
    );

    // Accepted as Python accepts them: spaces around commas, no padding, standard alphabet.
    let standard = base64::engine::general_purpose::STANDARD.encode([0xfbu8; 32]);
    assert!(standard.contains('+') || standard.contains('/'));
    let k = FernetKeys::parse(&format!(" {good} ,\t{} , {standard}", &good[..43])).unwrap();
    assert_eq!(k.key_count(), 3);
}
