//! The seed's steps in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) against the live server over HTTPS. Sign in, Connections, `+`, Azure,
//! the two workload identity fields and the subscription under More options, Save, the list,
//! Test as a component whose federated credential exists (claims), then as one whose identity
//! has none (AADSTS70021 explained); Identities (add a federated credential; the 21st refused
//! with ARM's message); Deployments (marks per component). axe-core runs in the page on every
//! screen: no serious or critical violations.
//!
//! These run when `WID_BROWSER_TESTS=1` (`scripts/test` and `.ci/run` set it); then a missing
//! browser, driver or axe-core fails them. With `WID_SCREENSHOT_DIR` set they also write
//! 1280x800 screenshots there (`scripts/ui-screenshots`).

use std::path::PathBuf;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::TestCloud;
use crate::ui_support::{admin_key, api};
use crate::webdriver::Browser;

fn enabled() -> bool {
    match std::env::var("WID_BROWSER_TESTS").as_deref() {
        Ok("1") => true,
        _ => {
            eprintln!("browser tests are off: set WID_BROWSER_TESTS=1 (scripts/test does)");
            false
        }
    }
}

fn axe_source() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/browser/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&p).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): run scripts/browser-deps (npm install in tests/browser)",
            p.display()
        )
    })
}

/// Runs axe-core in the current page; fails on serious or critical violations.
async fn axe(b: &Browser, src: &str, page: &str) {
    b.execute(&format!("{src}\n;return true;"), json!([])).await;
    let v = b
        .execute_async(
            "var done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']}).then(function (r) {
               done(r.violations.map(function (v) {
                 return {id: v.id, impact: v.impact, help: v.help,
                         nodes: v.nodes.slice(0, 5).map(function (n) { return n.target.join(' '); })};
               }));
             }).catch(function (e) { done({error: String(e)}); });",
            json!([]),
        )
        .await;
    assert!(v.get("error").is_none(), "axe failed on {page}: {v}");
    let bad: Vec<&Value> = v
        .as_array()
        .expect("violations")
        .iter()
        .filter(|x| matches!(x["impact"].as_str(), Some("serious" | "critical")))
        .collect();
    assert!(
        bad.is_empty(),
        "accessibility violations on {page}: {bad:#?}"
    );
}

async fn shot(b: &Browser, name: &str) {
    if let Ok(dir) = std::env::var("WID_SCREENSHOT_DIR") {
        let png = b.screenshot().await;
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), png).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_steps_in_a_browser() {
    if !enabled() {
        return;
    }
    let axe_src = axe_source();
    let c = TestCloud::start().await;
    let (client_id, principal) = c.create_identity("airflow-mi").await;
    let worker = "system:serviceaccount:airflow:airflow-worker";
    let (s, v) = c
        .put_fic(
            "airflow-mi",
            "prod-worker",
            &c.issuer(),
            worker,
            &["api://AzureADTokenExchange"],
        )
        .await;
    assert_eq!(s, 201, "{v}");
    // Reader on the subscription, so that Test can read it with the identity's token.
    let reader = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
        c.sub
    );
    let admin = c.admin_token().await;
    let (s, _, v) = c
        .call(
            Method::PUT,
            &format!("/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments/{}?api-version=2022-04-01", c.sub, wid_model::ids::new_guid()),
            Some(&admin),
            Some(&json!({"properties": {"roleDefinitionId": reader, "principalId": principal, "principalType": "ServicePrincipal"}})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (unfederated, _) = c.create_identity("unfederated-mi").await;
    let (s, v) = api(
        &c,
        Method::POST,
        "/api/v2/deployments",
        Some(&json!({"name": "prod", "namespace": "airflow", "airflow_version": 3})),
    )
    .await;
    assert!(s == 201 || s == 200, "{v}");
    let e = c.endpoint.clone();
    let b = Browser::start().await;

    // Sign in.
    b.goto(&format!("{e}/")).await;
    let url = b.wait_url("/signin").await;
    assert!(url.ends_with("/signin"), "{url}");
    axe(&b, &axe_src, "sign-in").await;
    shot(&b, "signin").await;
    b.fill("#key", "not-the-key").await;
    b.click_through("button[type=submit]").await;
    assert!(
        b.wait_text("#key-error", "not the admin key")
            .await
            .contains("not the admin key")
    );
    b.fill("#key", &admin_key(&c)).await;
    b.click_through("button[type=submit]").await;
    assert!(b.wait_url("/connections").await.ends_with("/connections"));
    axe(&b, &axe_src, "connections (empty)").await;

    // +, Azure, the two fields, the subscription under More options, Save.
    b.click_through("a[href='/connection/add']").await;
    b.click("#conn_type_choice option[value=azure]").await;
    b.click_through("form.bar button[type=submit]").await;
    b.fill("#conn_id", "azure_default").await;
    b.fill(
        "#description",
        "Airflow's Azure connection, as the managed identity airflow-mi",
    )
    .await;
    b.fill("#extra__azure__managed_identity_client_id", &client_id)
        .await;
    b.fill("#extra__azure__workload_identity_tenant_id", &c.tenant)
        .await;
    assert!(
        !b.displayed("#extra__azure__subscriptionId").await,
        "hidden until More options"
    );
    b.click("details summary").await;
    assert!(b.displayed("#extra__azure__subscriptionId").await);
    b.fill("#extra__azure__subscriptionId", &c.sub).await;
    axe(&b, &axe_src, "add connection").await;
    shot(&b, "connection-add").await;
    b.click_through("button[value=save]").await;
    let url = b.wait_url("/connections?saved=azure_default").await;
    assert!(
        url.ends_with("/connections?saved=azure_default"),
        "{url}: {}",
        b.text("main").await
    );
    assert!(b.text("table").await.contains("azure_default"));
    axe(&b, &axe_src, "connections").await;

    // Test it as the worker, whose federated credential exists.
    b.click_through("a[href='/connections/azure_default']")
        .await;
    b.fill("#test_as", "airflow/airflow-worker").await;
    b.click_through("button[value=test]").await;
    let result = b.wait_text("#test-result", "Test").await;
    assert!(
        result.contains("Test passed") && result.contains(&client_id) && result.contains(&c.sub),
        "{result}"
    );
    assert!(
        !b.source().await.contains("eyJ"),
        "the token is never shown"
    );
    axe(&b, &axe_src, "test passed").await;
    shot(&b, "connection-test").await;

    // A connection whose identity has no federated credential for the subject.
    b.goto(&format!("{e}/connection/add?conn_type=azure")).await;
    b.fill("#conn_id", "azure_unfederated").await;
    b.fill(
        "#description",
        "An identity without a federated credential for the worker",
    )
    .await;
    b.fill("#extra__azure__managed_identity_client_id", &unfederated)
        .await;
    b.fill("#extra__azure__workload_identity_tenant_id", &c.tenant)
        .await;
    b.click_through("button[value=save]").await;
    b.wait_url("/connections?saved=azure_unfederated").await;
    b.click_through("a[href='/connections/azure_unfederated']")
        .await;
    b.fill("#test_as", "airflow/airflow-worker").await;
    b.click_through("button[value=test]").await;
    let result = b.wait_text("#test-result", "Test").await;
    assert!(
        result.contains("Test failed") && result.contains("AADSTS70021") && result.contains("Fix:"),
        "{result}"
    );
    axe(&b, &axe_src, "test failed").await;
    shot(&b, "connection-test-failed").await;
    b.goto(&format!("{e}/connections")).await;
    shot(&b, "connections").await;

    // Identities: add a federated credential and see it.
    b.goto(&format!("{e}/identities")).await;
    axe(&b, &axe_src, "identities").await;
    let slug = "rg-airflow-airflow-mi";
    b.click(&format!("#id-{slug} details summary")).await;
    b.fill(&format!("#fic-name-{slug}"), "airflow-scheduler")
        .await;
    b.fill(
        &format!("#fic-subject-{slug}"),
        "system:serviceaccount:airflow:airflow-scheduler",
    )
    .await;
    b.click_through(&format!("#id-{slug} details button[type=submit]"))
        .await;
    assert!(
        b.wait_text("p.notice.ok", "Added")
            .await
            .contains("Added federated credential airflow-scheduler")
    );
    assert!(b.text(&format!("#id-{slug}")).await.contains("2 of 20"));
    shot(&b, "identities").await;

    // Deployments: nothing assigned yet; assign airflow-mi and every mark turns green (the
    // worker's and scheduler's credentials are reused); link a connection with an override.
    b.goto(&format!("{e}/deployments")).await;
    let table = b.text("section.card table").await;
    assert!(!table.contains("matches"), "{table}");
    b.click("#assign-prod option[value='rg-airflow/airflow-mi']")
        .await;
    b.click_through("#dep-prod form.bar button[type=submit]")
        .await;
    let notice = b.wait_text("p.notice.ok", "Assigned").await;
    assert!(
        notice.contains("3 federated credential(s) created, 2 already in place"),
        "{notice}"
    );
    let table = b.text("section.card table").await;
    assert!(
        !table.contains("missing") && table.matches("matches").count() == 5,
        "{table}"
    );
    b.click("#dep-prod details summary").await;
    b.click("#link-prod option[value=azure_default]").await;
    b.fill(
        "#overrides-prod",
        "subscriptionId=00000000-0000-0000-0000-000000000001",
    )
    .await;
    b.click_through("#dep-prod details button[type=submit]")
        .await;
    assert!(
        b.wait_text("p.notice.ok", "Linked")
            .await
            .contains("Linked azure_default to prod")
    );
    let card = b.text("#dep-prod").await;
    assert!(
        card.contains("subscriptionId=00000000-0000-0000-0000-000000000001"),
        "{card}"
    );
    axe(&b, &axe_src, "deployments").await;
    shot(&b, "deployments").await;

    // The identity's limit: with 20 credentials, the 21st is refused with ARM's message.
    for i in 0..15 {
        let (s, v) = c
            .put_fic(
                "airflow-mi",
                &format!("extra-{i}"),
                &c.issuer(),
                &format!("system:serviceaccount:other:sa-{i}"),
                &["api://AzureADTokenExchange"],
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    b.goto(&format!("{e}/identities")).await;
    assert!(b.text(&format!("#id-{slug}")).await.contains("20 of 20"));
    b.click(&format!("#id-{slug} details summary")).await;
    b.fill(&format!("#fic-name-{slug}"), "one-too-many").await;
    b.fill(
        &format!("#fic-subject-{slug}"),
        "system:serviceaccount:airflow:one-too-many",
    )
    .await;
    b.click_through(&format!("#id-{slug} details button[type=submit]"))
        .await;
    let alert = b.wait_text("p.error", "Too many").await;
    assert!(
        alert.contains("Too many Federated Identity Credentials")
            && alert.contains("maximum is 20"),
        "{alert}"
    );

    // On a phone: the list keeps its id, type, source and actions, and nothing overflows.
    b.viewport(390, 844, true).await;
    b.goto(&format!("{e}/connections")).await;
    let overflow = b
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            json!([]),
        )
        .await;
    assert_eq!(overflow, json!(0), "the page is wider than a phone");
    assert!(b.displayed("a[href='/connections/azure_default']").await);
    axe(&b, &axe_src, "connections on a phone").await;
    shot(&b, "connections-phone").await;
    b.close().await;
}
