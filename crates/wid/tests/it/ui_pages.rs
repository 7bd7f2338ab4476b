//! The web UI through the live server's router (`oneshot`): sign-in and sessions, CSRF,
//! Admin > Connections (add, list, search, sort, paging, edit, delete), Test as a component,
//! and hostile input that is shown as text and changes nothing.

use reqwest::Method;
use serde_json::Value;
use wid::server::fernet_config;
use wid_store::FernetKeys;

use crate::common::TestCloud;
use crate::ui_support::{UiClient, api, bulk_connections, input_value};

const G1: &str = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";

async fn stored_password(c: &TestCloud, id: &str) -> Option<String> {
    let keys = FernetKeys::parse(fernet_config(&c.home, false).unwrap().expose_str()).unwrap();
    c.state()
        .store
        .get_connection(id, &keys)
        .await
        .unwrap()
        .and_then(|c| c.password)
        .map(wid_model::Secret::into_exposed)
}

async fn count(c: &TestCloud) -> i64 {
    let (_, v) = api(c, Method::GET, "/api/v2/connections", None).await;
    v["total_entries"].as_i64().unwrap()
}

fn azure_form<'a>(id: &'a str, client: &'a str, tenant: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("conn_id", id),
        ("conn_type", "azure"),
        ("extra__azure__managed_identity_client_id", client),
        ("extra__azure__workload_identity_tenant_id", tenant),
        ("action", "save"),
    ]
}

#[tokio::test]
async fn pages_need_a_session_that_expires() {
    let c = TestCloud::start().await;
    let mut ui = UiClient::new(&c);
    for path in [
        "/connections",
        "/connection/add",
        "/identities",
        "/deployments",
        "/connections/azure_default",
    ] {
        let r = ui.get(path).await;
        assert_eq!((r.status, r.location.as_str()), (303, "/signin"), "{path}");
    }
    ui.cookie = "wid_session=forged".into();
    assert_eq!(ui.get("/connections").await.location, "/signin");
    let wrong = ui.sign_in_with("widk_wrong").await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.body.contains("not the admin key")
            && wrong.cookies.iter().all(|c| !c.starts_with("wid_session="))
    );
    let key = crate::ui_support::admin_key(&c);
    let ok = ui.sign_in_with(&key).await;
    assert_eq!((ok.status, ok.location.as_str()), (303, "/connections"));
    let cookie = ok
        .cookies
        .iter()
        .find(|c| c.starts_with("wid_session="))
        .unwrap();
    for attr in [
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Max-Age=28800",
        "Path=/",
    ] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!ok.body.contains(&key) && !cookie.contains(&key));
    let page = ui.get("/connections").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<h1>Connections</h1>"));
    c.clock.advance(wid_ui::SESSION_LIFETIME + 1);
    let stale = ui.get("/connections").await;
    assert_eq!((stale.status, stale.location.as_str()), (303, "/signin"));
}

#[tokio::test]
async fn sign_in_and_out_need_their_csrf_token() {
    let c = TestCloud::start().await;
    let ui = UiClient::new(&c);
    let key = crate::ui_support::admin_key(&c);
    let r = ui.send("POST", "/signin", "", Some(&[("key", &key)])).await;
    assert_eq!(r.status, 403);
    let r = ui
        .send(
            "POST",
            "/signin",
            "wid_signin=abc",
            Some(&[("key", &key), ("csrf", "abd")]),
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.cookies.iter().all(|c| !c.starts_with("wid_session=")));
    let mut ui = UiClient::signed_in(&c).await;
    let forged = ui.post("/signout", &[("csrf", "forged")]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        ui.get("/connections").await.status,
        200,
        "a forged sign-out ends nothing"
    );
    let out = ui.post("/signout", &[]).await;
    assert_eq!((out.status, out.location.as_str()), (303, "/signin"));
    assert_eq!(ui.get("/connections").await.location, "/signin");
    ui.csrf.clear();
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused_and_change_nothing() {
    let c = TestCloud::start().await;
    let ui = UiClient::signed_in(&c).await;
    let mut form = azure_form("azure_default", G1, G1);
    let missing = ui
        .send("POST", "/connection/add", &ui.cookie, Some(&form))
        .await;
    assert_eq!(missing.status, 403);
    assert!(missing.body.contains("no security token"));
    form.push(("csrf", "forged"));
    assert_eq!(ui.post("/connection/add", &form).await.status, 403);
    assert_eq!(count(&c).await, 0);
    assert_eq!(
        ui.post("/connection/add", &azure_form("azure_default", G1, G1))
            .await
            .status,
        303
    );
    for path in [
        "/connections/azure_default/delete",
        "/connections/azure_default",
    ] {
        let r = ui
            .post(
                path,
                &[
                    ("csrf", "forged"),
                    ("conn_type", "azure"),
                    ("action", "save"),
                ],
            )
            .await;
        assert_eq!(r.status, 403, "{path}");
    }
    let (s, v) = api(&c, Method::GET, "/api/v2/connections/azure_default", None).await;
    assert_eq!(s, 200);
    assert!(
        v["extra"].as_str().unwrap().contains(G1),
        "the forged edit changed nothing: {v}"
    );
}

#[tokio::test]
async fn add_list_edit_keep_the_password_and_delete() {
    let c = TestCloud::start().await;
    let ui = UiClient::signed_in(&c).await;
    let add = ui.get("/connection/add?conn_type=azure").await;
    let body = &add.body;
    let mi = body.find("Managed Identity Client ID").unwrap();
    let wi = body.find("Workload Identity Tenant ID").unwrap();
    let more = body.find("<summary>More options</summary>").unwrap();
    let sub = body.find("Azure Subscription ID").unwrap();
    assert!(
        mi < wi && wi < more && more < sub,
        "the workload identity fields come first, the rest under More options"
    );
    assert!(body.contains(r#"<label for="extra__azure__managed_identity_client_id">"#));
    assert!(
        body.contains("subscriptionId (token credentials auth)") && body.contains("Azure Secret")
    );
    let mut form = azure_form("azure_default", G1, &c.tenant);
    form.extend([
        ("extra__azure__subscriptionId", c.sub.as_str()),
        ("login", G1),
        ("password", "s3cret-value"),
        ("description", "the seed's connection"),
        ("extra", r#"{"use_azure_identity_object": true}"#),
    ]);
    let saved = ui.post("/connection/add", &form).await;
    assert_eq!(
        (saved.status, saved.location.as_str()),
        (303, "/connections?saved=azure_default"),
        "{}",
        saved.body
    );
    let (_, v) = api(&c, Method::GET, "/api/v2/connections/azure_default", None).await;
    let extra: Value = serde_json::from_str(v["extra"].as_str().unwrap()).unwrap();
    assert_eq!(extra["managed_identity_client_id"], G1);
    assert_eq!(extra["workload_identity_tenant_id"], c.tenant.as_str());
    assert_eq!(extra["subscriptionId"], c.sub.as_str());
    assert_eq!(extra["use_azure_identity_object"], true);
    let list = ui.get("/connections?saved=azure_default").await;
    assert!(list.body.contains("Saved connection azure_default."));
    assert!(list.body.contains("the seed's connection"));
    let edit = ui.get("/connections/azure_default").await;
    assert_eq!(edit.status, 200);
    assert!(
        !edit.body.contains("s3cret-value") && !edit.body.contains("***"),
        "no password in the page"
    );
    assert_eq!(
        input_value(&edit.body, "extra__azure__managed_identity_client_id").as_deref(),
        Some(G1)
    );
    let mut change = azure_form("azure_default", G1, &c.tenant);
    change.extend([
        ("login", G1),
        ("description", "changed"),
        ("extra__azure__subscriptionId", c.sub.as_str()),
    ]);
    let r = ui.post("/connections/azure_default", &change).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        stored_password(&c, "azure_default").await.as_deref(),
        Some("s3cret-value"),
        "an empty password field keeps the stored one"
    );
    change.push(("password", "new-secret"));
    ui.post("/connections/azure_default", &change).await;
    assert_eq!(
        stored_password(&c, "azure_default").await.as_deref(),
        Some("new-secret")
    );
    let copy = ui.get("/connection/add?from=azure_default").await;
    assert_eq!(copy.status, 200);
    assert_eq!(
        input_value(&copy.body, "conn_id").as_deref(),
        Some("azure_default_copy1")
    );
    assert_eq!(
        input_value(&copy.body, "extra__azure__subscriptionId").as_deref(),
        Some(c.sub.as_str())
    );
    assert!(copy.body.contains("password is not copied") && !copy.body.contains("new-secret"));
    assert_eq!(ui.get("/connection/add?from=no_such").await.status, 404);
    assert_eq!(ui.get("/connection/add?from=bad%20id").await.status, 400);
    let dup = ui
        .post("/connection/add", &azure_form("azure_default", G1, G1))
        .await;
    assert_eq!(dup.status, 409);
    assert!(dup.body.contains("already exists"));
    let confirm = ui.get("/connections/azure_default/delete").await;
    assert!(confirm.body.contains("Delete connection azure_default?"));
    let gone = ui.post("/connections/azure_default/delete", &[]).await;
    assert_eq!(
        (gone.status, gone.location.as_str()),
        (303, "/connections?deleted=azure_default")
    );
    assert_eq!(count(&c).await, 0);
    assert_eq!(ui.get("/connections/azure_default").await.status, 404);
}

#[tokio::test]
async fn the_list_searches_sorts_and_pages() {
    let c = TestCloud::start().await;
    bulk_connections(&c, 120).await;
    let ui = UiClient::signed_in(&c).await;
    let p1 = ui.get("/connections").await;
    assert!(p1.body.contains("1–50 of 120"), "{}", p1.body);
    assert!(p1.body.contains(">conn_0000<") && !p1.body.contains(">conn_0050<"));
    assert!(p1.body.contains(r#"href="/connections?page=2""#));
    let p3 = ui.get("/connections?page=3").await;
    assert!(p3.body.contains("101–120 of 120") && p3.body.contains(">conn_0119<"));
    let desc = ui.get("/connections?sort=-connection_id").await;
    assert!(desc.body.find(">conn_0119<").unwrap() < desc.body.find(">conn_0118<").unwrap());
    assert!(desc.body.contains(r#"aria-sort="descending""#));
    let found = ui.get("/connections?q=007").await;
    assert!(
        found.body.contains("1–11 of 11"),
        "conn_0007 and conn_0070..79"
    );
    let none = ui.get("/connections?q=nothing-like-this").await;
    assert!(none.body.contains("No connection id contains"));
    let junk = ui.get("/connections?sort=password&page=-4").await;
    assert_eq!(
        junk.status, 200,
        "an unknown sort and page fall back to the defaults"
    );
    assert!(junk.body.contains("1–50 of 120"));
}

#[tokio::test]
async fn hostile_input_is_shown_as_text_and_changes_nothing() {
    let c = TestCloud::start().await;
    let ui = UiClient::signed_in(&c).await;
    let mut f = azure_form("xss", G1, G1);
    f.push(("description", "<script>alert(1)</script>"));
    assert_eq!(ui.post("/connection/add", &f).await.status, 303);
    let list = ui.get("/connections").await;
    assert!(
        list.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            && !list.body.contains("<script>alert")
    );
    type Case = (Vec<(&'static str, String)>, &'static str, &'static str);
    let cases: Vec<Case> = vec![
        (
            vec![("description", "d".repeat(6000))],
            "description-error",
            "at most this field holds is 5000",
        ),
        (vec![("extra", "{not json".into())], "extra-error", ""),
        (vec![("extra", "[1, 2]".into())], "extra-error", ""),
        (vec![("conn_id", "bad id/<b>".into())], "conn_id-error", ""),
        (
            vec![(
                "extra__azure__managed_identity_client_id",
                "<img src=x onerror=alert(1)>".into(),
            )],
            "extra__azure__managed_identity_client_id-error",
            "GUID",
        ),
        (
            vec![("extra", r#"{"api_token": "***"}"#.into())],
            "extra-error",
            "type the value again",
        ),
    ];
    for (fields, error_id, needle) in cases {
        let mut form: Vec<(&str, String)> = vec![
            ("conn_id", "hostile".into()),
            ("conn_type", "azure".into()),
            ("action", "save".into()),
        ];
        for (k, v) in &fields {
            form.retain(|(fk, _)| fk != k);
            form.push((k, v.clone()));
        }
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = ui.post("/connection/add", &pairs).await;
        assert_eq!(r.status, 422, "{fields:?}");
        assert!(
            r.body.contains(&format!("id=\"{error_id}\"")),
            "{fields:?}: no message beside the field"
        );
        assert!(
            r.body.contains(
                needle
                    .replace(
                        "at most this field holds is",
                        "the most this field holds is"
                    )
                    .as_str()
            ),
            "{fields:?}"
        );
        assert!(
            !r.body.contains("<img src=x") && !r.body.contains("<b>"),
            "shown as text"
        );
    }
    assert_eq!(
        count(&c).await,
        1,
        "only the first, valid, connection was stored"
    );
    let one = ui
        .post(
            "/connection/add",
            &[
                ("conn_id", "half"),
                ("conn_type", "azure"),
                ("extra__azure__managed_identity_client_id", G1),
                ("action", "test"),
            ],
        )
        .await;
    assert!(
        one.body
            .contains("only `managed_identity_client_id` is set"),
        "the one-of-two warning is shown"
    );
    for bad in [
        "/connections/bad%20id!",
        "/connections/a..b",
        "/connections/%3Cscript%3E/delete",
    ] {
        let r = ui.get(bad).await;
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.body.contains("is not a connection id") && !r.body.contains("<script>"));
    }
    let huge = "x".repeat(300 * 1024);
    let r = ui
        .post(
            "/connection/add",
            &[("conn_id", "big"), ("conn_type", "azure"), ("extra", &huge)],
        )
        .await;
    assert!(r.status == 413 || r.status == 400, "{}", r.status);
    assert_eq!(count(&c).await, 1);
}

#[tokio::test]
async fn test_as_a_component_shows_claims_or_the_explained_refusal() {
    let c = TestCloud::start().await;
    let client_id = c
        .federated_identity("airflow-mi", "airflow", "airflow-worker")
        .await;
    let (other, _) = c.create_identity("unfederated-mi").await;
    let ui = UiClient::signed_in(&c).await;
    let mut f = azure_form("azure_default", &client_id, &c.tenant);
    f.retain(|(k, _)| *k != "action");
    f.extend([("action", "test"), ("test_as", "airflow/airflow-worker")]);
    let ok = ui.post("/connection/add", &f).await;
    assert_eq!(ok.status, 200);
    assert!(
        ok.body.contains("Test passed") && ok.body.contains("Claims of the access token"),
        "{}",
        ok.body
    );
    assert!(ok.body.contains(&client_id) && ok.body.contains("https://management.azure.com"));
    assert!(!ok.body.contains("eyJ"), "no token in the page");
    assert_eq!(count(&c).await, 0, "Test does not save");
    let mut f = azure_form("azure_other", &other, &c.tenant);
    f.retain(|(k, _)| *k != "action");
    f.extend([("action", "test"), ("test_as", "airflow/airflow-worker")]);
    let refused = ui.post("/connection/add", &f).await;
    assert!(
        refused.body.contains("Test failed") && refused.body.contains("AADSTS70021"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("Fix:")
            && refused
                .body
                .contains("system:serviceaccount:airflow:airflow-worker")
    );
    assert!(!refused.body.contains("eyJ"));
}

#[tokio::test]
async fn deployments_assign_an_identity_and_link_with_overrides() {
    let c = TestCloud::start().await;
    c.federated_identity("airflow-mi", "airflow", "airflow-worker")
        .await;
    let (s, v) = api(
        &c,
        Method::POST,
        "/api/v2/deployments",
        Some(&serde_json::json!({"name": "prod", "namespace": "airflow", "airflow_version": 2})),
    )
    .await;
    assert!((200..300).contains(&s), "{v}");
    let ui = UiClient::signed_in(&c).await;
    let before = ui.get("/deployments").await;
    assert_eq!(before.body.matches("✗ missing").count(), 3);
    let forged = ui
        .post(
            "/deployments/prod/assign",
            &[("csrf", "x"), ("identity", "rg-airflow/airflow-mi")],
        )
        .await;
    assert_eq!(forged.status, 403);
    let missing = ui
        .post(
            "/deployments/prod/assign",
            &[("identity", "rg-airflow/no-such-mi")],
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert!(missing.body.contains("no-such-mi"));
    let r = ui
        .post(
            "/deployments/prod/assign",
            &[("identity", "rg-airflow/airflow-mi")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let after = ui.get(&r.location).await;
    assert!(
        after
            .body
            .contains("2 federated credential(s) created, 1 already in place"),
        "{}",
        after.body
    );
    assert_eq!(after.body.matches("✓ matches").count(), 3);
    let (_, v) = api(&c, Method::GET, "/api/v2/deployments/prod", None).await;
    assert_eq!(v["assignment"]["identity_name"], "airflow-mi");
    assert_eq!(v["assignment"]["created"].as_array().unwrap().len(), 2);
    let again = ui
        .post(
            "/deployments/prod/assign",
            &[("identity", "rg-airflow/airflow-mi")],
        )
        .await;
    assert!(
        ui.get(&again.location)
            .await
            .body
            .contains("0 federated credential(s) created, 3 already in place")
    );

    assert_eq!(
        ui.post("/connection/add", &azure_form("azure_default", G1, G1))
            .await
            .status,
        303
    );
    let bad = ui
        .post(
            "/deployments/prod/connections",
            &[
                ("connection_id", "azure_default"),
                ("overrides", "no equals sign"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("is not key=value"));
    let r = ui
        .post(
            "/deployments/prod/connections",
            &[
                ("connection_id", "azure_default"),
                ("overrides", "subscriptionId=abc"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let (_, v) = api(
        &c,
        Method::GET,
        "/api/v2/deployments/prod/connections",
        None,
    )
    .await;
    assert_eq!(v["connections"][0]["overrides"]["subscriptionId"], "abc");
    assert!(
        v["connections"][0]["extra"]
            .as_str()
            .unwrap()
            .contains("abc")
    );
    let page = ui.get("/deployments").await;
    let line = page
        .body
        .split("AIRFLOW_CONN_AZURE_DEFAULT=&#39;")
        .nth(1)
        .or_else(|| page.body.split("AIRFLOW_CONN_AZURE_DEFAULT='").nth(1))
        .expect("the deployment's AIRFLOW_CONN_ line")
        .split('\n')
        .next()
        .unwrap();
    assert!(
        line.starts_with("azure://") && line.contains("subscriptionId=abc"),
        "{line}"
    );
    let r = ui
        .post("/deployments/prod/connections/azure_default/delete", &[])
        .await;
    assert_eq!(r.status, 303);
    let (_, v) = api(
        &c,
        Method::GET,
        "/api/v2/deployments/prod/connections",
        None,
    )
    .await;
    assert_eq!(v["total_entries"], 0);
}

#[tokio::test]
async fn identities_show_properties_and_manage_credentials_and_roles() {
    let c = TestCloud::start().await;
    let (client_id, principal) = c.create_identity("airflow-mi").await;
    let ui = UiClient::signed_in(&c).await;
    let page = ui.get("/identities").await;
    assert_eq!(page.status, 200);
    for v in [
        client_id.as_str(),
        principal.as_str(),
        c.tenant.as_str(),
        "rg-airflow",
    ] {
        assert!(
            page.body.contains(&format!("data-copy=\"{v}\"")),
            "a copy button for {v}"
        );
    }
    assert!(page.body.contains("0 of 20"));
    let fic = [
        ("name", "airflow-worker"),
        ("issuer", "https://issuer.example/"),
        ("subject", "system:serviceaccount:airflow:airflow-worker"),
        ("audience", "api://AzureADTokenExchange"),
    ];
    let mut forged = fic.to_vec();
    forged.push(("csrf", "nope"));
    assert_eq!(
        ui.post(
            "/identities/rg-airflow/airflow-mi/federated-credentials",
            &forged
        )
        .await
        .status,
        403
    );
    let r = ui
        .post(
            "/identities/rg-airflow/airflow-mi/federated-credentials",
            &fic,
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = ui.get(&r.location).await;
    assert!(
        page.body.contains("1 of 20")
            && page
                .body
                .contains("Added federated credential airflow-worker")
    );
    let dup = ui
        .post(
            "/identities/rg-airflow/airflow-mi/federated-credentials",
            &[
                ("name", "another"),
                ("issuer", "https://issuer.example/"),
                ("subject", "system:serviceaccount:airflow:airflow-worker"),
                ("audience", "api://AzureADTokenExchange"),
            ],
        )
        .await;
    assert_eq!(
        dup.status, 400,
        "ARM refuses a second credential with the same issuer and subject"
    );
    assert!(dup.body.contains("was not added") && dup.body.contains("role=\"alert\""));
    let bad_name = ui
        .post(
            "/identities/rg-airflow/airflow-mi/federated-credentials",
            &[
                ("name", "<b>x</b>"),
                ("issuer", "https://i/"),
                ("subject", "s"),
                ("audience", "a"),
            ],
        )
        .await;
    assert_eq!(bad_name.status, 400);
    assert!(bad_name.body.contains("&lt;b&gt;x&lt;/b&gt;") && !bad_name.body.contains("<b>x</b>"));

    let reader = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
        c.sub
    );
    let scope = format!("/subscriptions/{}/resourceGroups/rg-airflow", c.sub);
    let r = ui
        .post(
            "/identities/rg-airflow/airflow-mi/role-assignments",
            &[("role", &reader), ("scope", &scope)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = ui.get("/identities").await;
    assert!(page.body.contains("<td>Reader</td>"), "{}", page.body);
    let id = page
        .body
        .split("name=\"assignment\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let bad = ui
        .post(
            "/identities/role-assignments/delete",
            &[("assignment", "/subscriptions/x/resourceGroups/y")],
        )
        .await;
    assert_eq!(bad.status, 400);
    let r = ui
        .post(
            "/identities/role-assignments/delete",
            &[("assignment", &id)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(!ui.get("/identities").await.body.contains("<td>Reader</td>"));
    // Deleting a credential asks first, naming the subject that will stop signing in; the
    // list links to that page, and nothing is deleted until it is confirmed.
    let confirm = "/identities/rg-airflow/airflow-mi/federated-credentials/airflow-worker/delete";
    assert!(
        ui.get("/identities")
            .await
            .body
            .contains(&format!("href=\"{confirm}\""))
    );
    let page = ui.get(confirm).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("Delete federated credential airflow-worker?")
            && page
                .body
                .contains("system:serviceaccount:airflow:airflow-worker"),
        "{}",
        page.body
    );
    assert!(ui.get("/identities").await.body.contains("1 of 20"));
    assert_eq!(
        ui.get("/identities/rg-airflow/airflow-mi/federated-credentials/nope/delete")
            .await
            .status,
        404
    );
    let r = ui.post(confirm, &[]).await;
    assert_eq!(r.status, 303);
    assert!(ui.get("/identities").await.body.contains("0 of 20"));
}

#[test]
fn wid_up_prints_the_ui_address_and_where_the_admin_key_is() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wid"))
        .args(["up", "--listen", "127.0.0.1:0"])
        .env("WID_HOME", &home)
        .env("WID_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let endpoint = lines
        .next()
        .unwrap()
        .unwrap()
        .trim_start_matches("wid is up at ")
        .to_string();
    let ui = lines
        .map_while(Result::ok)
        .find(|l| l.contains("web UI"))
        .unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(ui.contains(&format!("{endpoint}/")), "{ui}");
    assert!(
        ui.contains(&home.join("api-key").display().to_string()),
        "{ui}"
    );
    let key = std::fs::read_to_string(home.join("api-key")).unwrap();
    assert!(!ui.contains(key.trim()), "the key itself is not printed");
}

#[tokio::test]
async fn an_access_token_for_the_api_gives_read_only_pages() {
    let c = TestCloud::start().await;
    let admin_ui = UiClient::signed_in(&c).await;
    assert_eq!(
        admin_ui
            .post("/connection/add", &azure_form("azure_default", G1, G1))
            .await
            .status,
        303
    );
    c.create_identity("airflow-mi").await;
    let admin = c.home.admin().unwrap();
    let t = c.tenant.clone();
    let (s, tok) = c
        .token_form(
            &t,
            false,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &admin.client_id),
                ("client_secret", admin.client_secret.expose_str()),
                ("scope", "api://wid/.default"),
            ],
        )
        .await;
    assert_eq!(s, 200);
    let token = tok["access_token"].as_str().unwrap();
    let mut ui = UiClient::new(&c);
    let refused = ui.sign_in_with("a.b.c").await;
    assert_eq!(refused.status, 401);
    assert!(refused.body.contains("refused it as an access token"));
    let arm = c.admin_token().await;
    let wrong_audience = ui.sign_in_with(&arm).await;
    assert_eq!(
        wrong_audience.status, 401,
        "an ARM token is not a token for api://wid"
    );
    let ok = ui.sign_in_with(token).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let list = ui.get("/connections").await;
    assert!(list.body.contains("read-only") && list.body.contains(">azure_default<"));
    assert!(!list.body.contains("+ Add connection") && !list.body.contains("/delete"));
    let view = ui.get("/connections/azure_default").await;
    assert!(
        view.body.contains("<fieldset class=\"plain\" disabled>")
            && !view.body.contains("value=\"save\"")
    );
    assert_eq!(ui.get("/connection/add").await.status, 403);
    assert_eq!(
        ui.get("/connections/azure_default/delete").await.status,
        403
    );
    for (path, form) in [
        ("/connection/add", azure_form("other", G1, G1)),
        (
            "/connections/azure_default",
            azure_form("azure_default", G1, "11111111-1111-1111-1111-111111111111"),
        ),
        ("/connections/azure_default/delete", vec![]),
        (
            "/identities/rg-airflow/airflow-mi/federated-credentials",
            vec![
                ("name", "x1"),
                ("issuer", "https://i/"),
                ("subject", "s"),
                ("audience", "a"),
            ],
        ),
    ] {
        let r = ui.post(path, &form).await;
        assert_eq!(r.status, 403, "{path}");
        assert!(r.body.contains("read-only"), "{path}");
    }
    assert_eq!(count(&c).await, 1);
    let (_, v) = api(&c, Method::GET, "/api/v2/connections/azure_default", None).await;
    assert!(
        !v["extra"].as_str().unwrap().contains("11111111"),
        "nothing changed"
    );
    let ids = ui.get("/identities").await;
    assert_eq!(ids.status, 200);
    assert!(
        !ids.body.contains("Add federated credential") && !ids.body.contains("Add role assignment")
    );
    assert_eq!(ui.get("/deployments").await.status, 200);
    let exp = crate::common::claims_of(token)["exp"].as_i64().unwrap();
    c.clock.set(exp);
    assert_eq!(
        ui.get("/connections").await.location,
        "/signin",
        "the session ends with the token"
    );
}

#[tokio::test]
async fn export_writes_what_wid_connections_export_writes() {
    let c = TestCloud::start().await;
    bulk_connections(&c, 120).await;
    let ui = UiClient::signed_in(&c).await;
    let json = ui.get("/connection/export?format=json").await;
    assert_eq!(json.status, 200);
    let doc: Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(
        doc.as_object().unwrap().len(),
        120,
        "every page of the list"
    );
    assert_eq!(doc["conn_0119"]["host"], "h119.example");
    let env = ui.get("/connection/export?format=env").await;
    assert_eq!(env.body.lines().count(), 120);
    assert!(
        env.body.starts_with("conn_0000=azure://"),
        "{}",
        &env.body[..60]
    );
    let yaml = ui.get("/connection/export?format=yaml").await;
    assert!(yaml.body.contains("conn_0042:") && yaml.body.contains("host: h42.example"));
    let bad = ui.get("/connection/export?format=%3Cscript%3E").await;
    assert_eq!(bad.status, 400);
    assert!(!bad.body.contains("<script>"));
    // The CLI writes the same document.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.json");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_wid"))
        .args([
            "connections",
            "export",
            file.to_str().unwrap(),
            "--endpoint",
            &c.endpoint,
        ])
        .env("WID_HOME", c.home.root())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(cli, doc);
}

/// A client-secret (service principal) connection whose secret is the local administrator's.
fn sp_form<'a>(
    id: &'a str,
    client: &'a str,
    secret: &'a str,
    tenant: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("conn_id", id),
        ("conn_type", "azure"),
        ("login", client),
        ("password", secret),
        ("extra__azure__tenantId", tenant),
        ("action", "save"),
    ]
}

#[tokio::test]
async fn test_on_the_edit_page_uses_the_stored_password_it_cannot_show() {
    let c = TestCloud::start().await;
    let admin = c.home.admin().unwrap();
    let secret = admin.client_secret.expose_str().to_string();
    let ui = UiClient::signed_in(&c).await;
    let saved = ui
        .post(
            "/connection/add",
            &sp_form("azure_sp", &admin.client_id, &secret, &c.tenant),
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    // The edit form, as the page sends it: the password field empty, and Test pressed.
    let mut form = sp_form("azure_sp", &admin.client_id, "", &c.tenant);
    form.retain(|(k, _)| *k != "action");
    form.push(("action", "test"));
    let r = ui.post("/connections/azure_sp", &form).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("Connection success! ClientSecretCredential got an ARM token"),
        "the stored password was used:\n{}",
        r.body
    );
    assert!(
        !r.body.contains(&secret),
        "the secret never reaches the page"
    );
    // A password typed into the form is the one tested: a wrong one fails with the service's
    // answer, and nothing is stored.
    let mut wrong = sp_form("azure_sp", &admin.client_id, "not-the-secret", &c.tenant);
    wrong.retain(|(k, _)| *k != "action");
    wrong.push(("action", "test"));
    let r = ui.post("/connections/azure_sp", &wrong).await;
    assert!(
        r.body.contains("Connection failed") && r.body.contains("AADSTS7000215"),
        "{}",
        r.body
    );
    assert_eq!(
        stored_password(&c, "azure_sp").await.as_deref(),
        Some(secret.as_str())
    );
    // The API does the same for a body that leaves the password out or sends back "***",
    // and a new connection id has nothing stored to fall back on.
    for (id, password) in [
        ("azure_sp", None),
        ("azure_sp", Some("***")),
        ("azure_new", None),
    ] {
        let mut body = serde_json::json!({
            "connection_id": id,
            "conn_type": "azure",
            "login": admin.client_id,
            "extra": serde_json::json!({"tenantId": c.tenant}).to_string(),
        });
        if let Some(p) = password {
            body["password"] = p.into();
        }
        let (s, v) = api(&c, Method::POST, "/api/v2/connections/test", Some(&body)).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], id == "azure_sp", "{id} {password:?}: {v}");
    }
}

#[tokio::test]
async fn masked_extra_values_sent_back_keep_the_stored_secrets() {
    let c = TestCloud::start().await;
    let body = serde_json::json!({
        "connection_id": "with_secret",
        "conn_type": "azure",
        "password": "pw-1",
        "extra": r#"{"tenantId": "t", "client_secret": "s3cr3t-extra"}"#,
    });
    let (s, _) = api(&c, Method::POST, "/api/v2/connections", Some(&body)).await;
    assert_eq!(s, 201);
    // What a client reads (masked) and sends back with one field changed.
    let (_, got) = api(&c, Method::GET, "/api/v2/connections/with_secret", None).await;
    assert_eq!(got["password"], "***");
    let mut back = got.clone();
    back["extra"] = got["extra"]
        .as_str()
        .unwrap()
        .replace(r#""t""#, r#""t2""#)
        .into();
    let (s, v) = api(
        &c,
        Method::PATCH,
        "/api/v2/connections/with_secret",
        Some(&back),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let keys = FernetKeys::parse(fernet_config(&c.home, false).unwrap().expose_str()).unwrap();
    let stored = c
        .state()
        .store
        .get_connection("with_secret", &keys)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.password.as_ref().map(|p| p.expose_str()),
        Some("pw-1"),
        "\"***\" is not a password"
    );
    assert_eq!(
        stored.extra.as_ref().map(|p| p.expose_str()),
        Some(r#"{"tenantId": "t2", "client_secret": "s3cr3t-extra"}"#)
    );
}
