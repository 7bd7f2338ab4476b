//! The web UI's Connections list with 1,000 stored connections, rendered server-side: the
//! session check, the in-process call to `/api/v2/connections` (store query, Fernet decryption
//! of each row's extra, JSON), and the HTML, through the same router `wid up` serves (no TLS).
//! Target: under 20 ms per page.
//!
//! Run with `cargo bench -p wid --bench ui`.

use std::time::Duration;

mod common;

use axum::body::Body;
use axum::http::{Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;
use wid_model::Clock;
use wid_model::connection::Connection;

async fn send(router: &axum::Router, req: Request<Body>) -> (u16, Vec<String>, String) {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let cookies = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| {
            v.to_str()
                .ok()
                .map(|s| s.split(';').next().unwrap_or("").to_string())
        })
        .collect();
    let body = axum::body::to_bytes(resp.into_body(), 16 << 20)
        .await
        .unwrap();
    (status, cookies, String::from_utf8_lossy(&body).into_owned())
}

fn bench(c: &mut Criterion) {
    let f = common::fixture();
    let _federated = &f.identity;
    let router = f.server.router.clone();
    let home = wid::home::Home::at(f.dir.path().join("home"));
    let keys = wid_store::FernetKeys::parse(
        wid::server::fernet_config(&home, false)
            .unwrap()
            .expose_str(),
    )
    .unwrap();
    let state = f.server.state.clone();
    let key = std::fs::read_to_string(home.root().join("api-key")).unwrap();
    let session = f.rt.block_on(async {
        let now = wid_model::SystemClock.now();
        for i in 0..1000 {
            let mut conn = Connection::new("azure").with_id(format!("conn_{i:04}"));
            conn.description = Some(format!("connection number {i}"));
            conn.host = Some(format!("h{i}.example"));
            conn.extra = Some(format!(
                r#"{{"managed_identity_client_id": "{}", "workload_identity_tenant_id": "{}"}}"#,
                wid_model::ids::new_guid(),
                state.defaults.tenant_id
            )
            .into());
            state
                .store
                .insert_connection(&conn, &keys, now)
                .await
                .unwrap();
        }
        let (_, cookies, page) = send(
            &router,
            Request::get("/signin").body(Body::empty()).unwrap(),
        )
        .await;
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let form =
            serde_urlencoded::to_string([("csrf", csrf.as_str()), ("key", key.trim())]).unwrap();
        let (status, cookies, _) = send(
            &router,
            Request::post("/signin")
                .header(header::COOKIE, cookies.join("; "))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
        assert_eq!(status, 303);
        cookies
            .into_iter()
            .find(|c| c.starts_with("wid_session="))
            .unwrap()
    });
    let get = |path: &str| {
        let (status, _, body) = f.rt.block_on(send(
            &router,
            Request::get(path)
                .header(header::COOKIE, &session)
                .body(Body::empty())
                .unwrap(),
        ));
        assert_eq!(status, 200);
        body
    };
    assert!(get("/connections").contains("1–50 of 1000"));
    for (name, path) in [
        ("ui_connections_list_1000", "/connections"),
        (
            "ui_connections_list_1000_last_page_by_description_desc",
            "/connections?sort=-description&page=20",
        ),
        ("ui_connections_list_1000_search", "/connections?q=conn_09"),
    ] {
        c.bench_function(name, |b| b.iter(|| get(path)));
    }
    f.rt.block_on(f.server.shutdown());
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
