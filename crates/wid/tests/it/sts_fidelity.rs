//! Where the token service keeps Entra's strict rules (issue 10), each seen by the client's
//! own library where one exists: resource principals (AADSTS500011, AADSTS70011) and
//! registering one (`wid ad app create`, Graph's `POST /v1.0/applications`), the discovery
//! document's `issuer` (OIDC Discovery §4.3, AADSTS50166), RFC 6749's duplicate parameters
//! and client authentication methods, and oversized requests answered in each system's shape.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use wid_cloud::keys::Purpose;
use wid_model::Clock;

use crate::cli_session::{ok, python};
use crate::common::*;

/// Runs `tests/python/token_errors.py` with `args`, as a pod with the workload identity
/// webhook would (client id, tenant, token file, authority, CA bundle); returns its JSON.
async fn py(c: &TestCloud, args: &[&str], env: &[(&str, &str)]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/token_errors.py");
    let mut cmd = Command::new(python());
    cmd.arg(&script)
        .args(args)
        .env("AZURE_AUTHORITY_HOST", &c.endpoint)
        .env("AZURE_TENANT_ID", &c.tenant)
        .env("REQUESTS_CA_BUNDLE", c.home.ca_cert())
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run python"))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Writes `token` to a file in the test's data directory; returns its path.
fn token_file(c: &TestCloud, name: &str, token: &str) -> String {
    let p = c.home.root().join(name);
    std::fs::write(&p, token).unwrap();
    p.to_string_lossy().into_owned()
}

/// The exact AADSTS500011 text for `resource` in the test tenant.
fn not_found_text(resource: &str, tenant: &str) -> String {
    format!(
        "AADSTS500011: The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
    )
}

#[tokio::test]
async fn first_party_resources_in_every_form_and_aadsts500011_for_the_rest() {
    let c = TestCloud::start().await;
    let client_id = c.federated_identity("mi-res", "airflow", "worker").await;
    let a = c.sa_token("airflow", "worker");

    // Every first-party resource a DAG reaches, in its v2 forms (trailing slashes as the SDKs
    // send them), gets a token whose audience is the resource as asked.
    for scope in [
        "https://management.azure.com/.default",
        "https://management.azure.com//.default",
        "https://management.core.windows.net//.default",
        "https://storage.azure.com/.default",
        "https://myaccount.blob.core.windows.net/.default",
        "https://myaccount.dfs.core.windows.net/.default",
        "https://vault.azure.net/.default",
        "https://graph.microsoft.com/.default",
        "00000003-0000-0000-c000-000000000000/.default",
        "https://database.windows.net//.default",
        "https://servicebus.azure.net/.default",
        "https://eventhubs.azure.net/.default",
        "https://cosmos.azure.com/.default",
        "https://myaccount.documents.azure.com/.default",
        "https://mycluster.westeurope.kusto.windows.net/.default",
        "https://api.loganalytics.io/.default",
        "https://monitor.azure.com//.default",
        "https://containerregistry.azure.net/.default",
        "api://wid/.default",
        // Scopes Airflow's providers ask for beyond these: Databricks (by application id),
        // Batch, Synapse, Power BI and Fabric, PostgreSQL with Entra authentication.
        "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default",
        "https://batch.core.windows.net//.default",
        "https://dev.azuresynapse.net/.default",
        "https://analysis.windows.net/powerbi/api/.default",
        "https://api.fabric.microsoft.com/.default",
        "https://ossrdbms-aad.database.windows.net/.default",
    ] {
        let (s, v) = c.exchange(&client_id, &a, scope).await;
        assert_eq!(s, 200, "{scope}: {v}");
        let aud = claims_of(v["access_token"].as_str().unwrap())["aud"].clone();
        assert_eq!(aud, scope.strip_suffix("/.default").unwrap(), "{scope}");
    }
    // v1 `resource`, with and without the slash.
    let t = c.tenant.clone();
    for resource in [
        "https://vault.azure.net",
        "https://management.core.windows.net/",
    ] {
        let (s, v) = c
            .token_form(
                &t,
                true,
                &[
                    ("client_assertion", &a),
                    ("client_assertion_type", JWT_BEARER),
                    ("client_id", &client_id),
                    ("grant_type", "client_credentials"),
                    ("resource", resource),
                ],
            )
            .await;
        assert_eq!(s, 200, "{resource}: {v}");
    }

    // Anything else: 400 invalid_resource, Entra's text naming the resource and tenant.
    let r = c
        .exchange(&client_id, &a, "https://nothing.example.test/.default")
        .await;
    assert_aadsts(
        &r,
        400,
        "invalid_resource",
        500011,
        &[&not_found_text("https://nothing.example.test", &c.tenant)],
    );
    let r = c
        .token_form(
            &t,
            true,
            &[
                ("client_assertion", &a),
                ("client_assertion_type", JWT_BEARER),
                ("client_id", &client_id),
                ("grant_type", "client_credentials"),
                ("resource", "api://orders"),
            ],
        )
        .await;
    assert_aadsts(
        &r,
        400,
        "invalid_resource",
        500011,
        &[&not_found_text("api://orders", &c.tenant)],
    );
    // A host that only ends like Storage's is not Storage.
    let r = c
        .exchange(
            &client_id,
            &a,
            "https://blob.core.windows.net.evil.test/.default",
        )
        .await;
    assert_aadsts(&r, 400, "invalid_resource", 500011, &[]);

    // Malformed scopes: AADSTS70011 with the scope as sent.
    for scope in ["/.default", "management.azure.com/.default"] {
        let r = c.exchange(&client_id, &a, scope).await;
        assert_aadsts(
            &r,
            400,
            "invalid_scope",
            70011,
            &[&format!(
                "AADSTS70011: The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid. The scope format is invalid. Scope must be in a valid URI form <https://example/scope> or a valid Guid <guid/scope>."
            )],
        );
    }

    // azure-identity's view: a ClientAuthenticationError carrying Entra's body.
    let file = token_file(&c, "token", &a);
    let env = [
        ("AZURE_CLIENT_ID", client_id.as_str()),
        ("AZURE_FEDERATED_TOKEN_FILE", file.as_str()),
    ];
    let ok_v = py(&c, &["wi", "https://storage.azure.com/.default"], &env).await;
    assert_eq!(ok_v["aud"], "https://storage.azure.com", "{ok_v}");
    let v = py(&c, &["wi", "https://nothing.example.test/.default"], &env).await;
    assert_eq!(v["error"], "ClientAuthenticationError", "{v}");
    assert_eq!(v["status"], 400, "{v}");
    assert_eq!(v["body"]["error"], "invalid_resource");
    assert_eq!(v["body"]["error_codes"], json!([500011]));
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains(&not_found_text("https://nothing.example.test", &c.tenant)),
        "{v}"
    );
    let v = py(&c, &["wi", "management.azure.com/.default"], &env).await;
    assert_eq!(v["status"], 400, "{v}");
    assert_eq!(v["body"]["error"], "invalid_scope");
    assert_eq!(v["body"]["error_codes"], json!([70011]));
}

#[tokio::test]
async fn imds_refuses_an_unknown_resource_with_entras_error() {
    let c = TestCloud::start().await;
    c.create_identity("mi-imds").await;
    let (s, _, v) = c
        .call(
            reqwest::Method::GET,
            "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fnothing.example.test%2F",
            None,
            None,
        )
        .await;
    // Without the Metadata header IMDS refuses first; with it, Entra's answer comes through.
    assert_eq!(s, 400, "{v}");
    let resp = c
        .http
        .get(format!(
            "{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fnothing.example.test%2F",
            c.endpoint
        ))
        .header("Metadata", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"], "invalid_resource", "{v}");
    assert_eq!(v["error_codes"], json!([500011]));
    assert_eq!(
        v["error_description"],
        not_found_text("https://nothing.example.test/", &c.tenant)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_api_becomes_a_resource_by_uri_and_app_id_and_survives_a_restart() {
    let c = TestCloud::start().await;
    let client_id = c.federated_identity("mi-api", "airflow", "worker").await;
    let a = c.sa_token("airflow", "worker");
    let r = c.exchange(&client_id, &a, "api://orders/.default").await;
    assert_aadsts(&r, 400, "invalid_resource", 500011, &["api://orders"]);

    // The CLI, as `az ad app create`.
    let home = c.home.root().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        ok(crate::cli_session::wid(
            &home,
            &[
                "ad",
                "app",
                "create",
                "--display-name",
                "orders",
                "--identifier-uris",
                "api://orders",
                "https://orders.contoso.test",
                "-o",
                "json",
            ],
        ))
    })
    .await
    .unwrap();
    let app: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(app["displayName"], "orders");
    assert_eq!(
        app["identifierUris"],
        json!(["api://orders", "https://orders.contoso.test"])
    );
    let app_id = app["appId"].as_str().unwrap().to_string();
    assert!(wid_model::ids::is_guid(&app_id), "{app}");

    for scope in [
        "api://orders/.default",
        "API://Orders//.default",
        "https://orders.contoso.test/.default",
        &format!("{app_id}/.default"),
    ] {
        let (s, v) = c.exchange(&client_id, &a, scope).await;
        assert_eq!(s, 200, "{scope}: {v}");
    }

    // Graph's rules: a URI is taken once per tenant (first-party ones included), unknown
    // properties are refused, and only the administrator registers.
    let graph_token = admin_graph_token(&c).await;
    let post = |body: Value, token: String| {
        let c = &c;
        async move {
            c.call(
                reqwest::Method::POST,
                "/v1.0/applications",
                Some(&token),
                Some(&body),
            )
            .await
        }
    };
    let taken = "Another object with the same value for property identifierUris already exists.";
    for uri in ["api://ORDERS/", "https://vault.azure.net/"] {
        let (s, _, v) = post(
            json!({"displayName": "again", "identifierUris": [uri]}),
            graph_token.clone(),
        )
        .await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["error"]["code"], "Request_BadRequest");
        assert_eq!(v["error"]["message"], taken);
    }
    let (s, _, v) = post(
        json!({"displayName": "x", "identifierUris": ["http://insecure"]}),
        graph_token.clone(),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["error"]["message"],
        "Invalid value specified for property 'identifierUris' of resource 'Application'."
    );
    let (s, _, v) = post(json!({"displayName": "x", "web": {}}), graph_token.clone()).await;
    assert_eq!(s, 400, "{v}");
    // An ARM token is not a Graph token.
    let (s, _, v) = post(json!({"displayName": "x"}), c.admin_token().await).await;
    assert_eq!(s, 401, "{v}");
    assert_eq!(
        v["error"]["message"],
        "Access token validation failure. Invalid audience."
    );
    // A managed identity may get a Graph token, but not register applications.
    let (s, t) = c
        .exchange(&client_id, &a, "https://graph.microsoft.com/.default")
        .await;
    assert_eq!(s, 200);
    let (s, _, v) = post(
        json!({"displayName": "mine", "identifierUris": ["api://mine"]}),
        t["access_token"].as_str().unwrap().to_string(),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"]["code"], "Authorization_RequestDenied");

    // Persisted: after a restart on the same data directory (a new port, so a new issuer
    // URL) it is still a resource, here for the administrator's client secret.
    let (home, dir, clock) = c.stop().await;
    let c = TestCloud::start_in(home, dir, clock, Options::default()).await;
    let (s, v) = c.admin_token_for("api://orders/.default").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        claims_of(v["access_token"].as_str().unwrap())["aud"],
        "api://orders"
    );
    let home = c.home.root().to_path_buf();
    let listed = tokio::task::spawn_blocking(move || {
        ok(crate::cli_session::wid(
            &home,
            &["ad", "app", "list", "-o", "json"],
        ))
    })
    .await
    .unwrap();
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["appId"], app_id.as_str());

    // Deleted, by application id as `az ad app delete --id`: no longer a resource, and a
    // second delete of the same object is Graph's 404.
    let object_id = listed[0]["id"].as_str().unwrap().to_string();
    let home = c.home.root().to_path_buf();
    let id = app_id.clone();
    tokio::task::spawn_blocking(move || {
        ok(crate::cli_session::wid(
            &home,
            &["ad", "app", "delete", "--id", &id],
        ))
    })
    .await
    .unwrap();
    let (s, v) = c.admin_token_for("api://orders/.default").await;
    assert_eq!((s, &v["error_codes"][0]), (400, &json!(500011)), "{v}");
    let (s, _, v) = c
        .call(
            reqwest::Method::DELETE,
            &format!("/v1.0/applications/{object_id}"),
            Some(&admin_graph_token(&c).await),
            None,
        )
        .await;
    assert_eq!(s, 404, "{v}");
    assert_eq!(v["error"]["code"], "Request_ResourceNotFound");
}

/// A Microsoft Graph token for the local administrator.
async fn admin_graph_token(c: &TestCloud) -> String {
    let (s, v) = c
        .admin_token_for("https://graph.microsoft.com/.default")
        .await;
    assert_eq!(s, 200, "{v}");
    v["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_discovery_document_whose_issuer_is_not_the_iss_fails_the_exchange() {
    let c = TestCloud::start().await;
    // The issuer without its trailing slash: `{iss}/.well-known/openid-configuration` is the
    // same document, whose `issuer` has the slash, so it is not the `iss` that led to it.
    let with_slash = c.issuer();
    let without = with_slash.trim_end_matches('/').to_string();
    assert_ne!(with_slash, without);
    let (client_id, _) = c.create_identity("mi-iss").await;
    let (s, v) = c
        .put_fic(
            "mi-iss",
            "no-slash",
            &without,
            "system:serviceaccount:airflow:worker",
            &["api://AzureADTokenExchange"],
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let now = c.clock.now();
    let claims = json!({
        "aud": ["api://AzureADTokenExchange"],
        "iss": without,
        "sub": "system:serviceaccount:airflow:worker",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
    });
    let token = c
        .state()
        .keys
        .active(Purpose::Issuer)
        .sign_jwt(&claims, &[])
        .unwrap();
    let r = c.exchange(&client_id, &token, SCOPE_ARM).await;
    assert_aadsts(
        &r,
        400,
        "invalid_request",
        50166,
        &["AADSTS50166: Request to External OIDC endpoint failed."],
    );

    // The same identity with the exact issuer succeeds, so the refusal is the mismatch.
    let (s, v) = c
        .put_fic(
            "mi-iss",
            "with-slash",
            &with_slash,
            "system:serviceaccount:airflow:worker",
            &["api://AzureADTokenExchange"],
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = c
        .exchange(&client_id, &c.sa_token("airflow", "worker"), SCOPE_ARM)
        .await;
    assert_eq!(s, 200, "{v}");

    // azure-identity's view of the mismatch.
    let file = token_file(&c, "no-slash-token", &token);
    let v = py(
        &c,
        &["wi", SCOPE_ARM],
        &[
            ("AZURE_CLIENT_ID", client_id.as_str()),
            ("AZURE_FEDERATED_TOKEN_FILE", file.as_str()),
        ],
    )
    .await;
    assert_eq!(v["error"], "ClientAuthenticationError", "{v}");
    assert_eq!(v["status"], 400);
    assert_eq!(v["body"]["error_codes"], json!([50166]));
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("AADSTS50166: Request to External OIDC endpoint failed."),
        "{v}"
    );
}

#[tokio::test]
async fn duplicate_parameters_and_several_client_authentication_methods_are_invalid_request() {
    let c = TestCloud::start().await;
    let client_id = c.federated_identity("mi-dup", "airflow", "worker").await;
    let a = c.sa_token("airflow", "worker");
    let admin = c.home.admin().unwrap();
    let url = format!("{}/{}/oauth2/v2.0/token", c.endpoint, c.tenant);
    let send = |body: String, basic: Option<(String, String)>| {
        let (http, url) = (c.http.clone(), url.clone());
        async move {
            let mut rb = http
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
            if let Some((u, p)) = basic {
                rb = rb.basic_auth(u, Some(p));
            }
            let resp = rb.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let form = |pairs: &[(&str, &str)]| serde_urlencoded::to_string(pairs).unwrap();
    let exchange = [
        ("client_assertion", a.as_str()),
        ("client_assertion_type", JWT_BEARER),
        ("client_id", client_id.as_str()),
        ("grant_type", "client_credentials"),
        ("scope", SCOPE_ARM),
    ];

    // The same parameter twice, even with the same value: AADSTS9000411, before anything else.
    for (name, extra) in [
        ("scope", ("scope", SCOPE_ARM)),
        (
            "client_id",
            ("client_id", "00000000-0000-0000-0000-000000000000"),
        ),
        ("grant_type", ("grant_type", "client_credentials")),
    ] {
        let mut pairs = exchange.to_vec();
        pairs.push(extra);
        let r = send(form(&pairs), None).await;
        assert_aadsts(
            &r,
            400,
            "invalid_request",
            9000411,
            &[&format!(
                "AADSTS9000411: The request is not properly formatted. The parameter '{name}' is duplicated."
            )],
        );
    }
    // An empty value counts as absent (RFC 6749 §3.2), and unknown parameters are ignored.
    let mut pairs = exchange.to_vec();
    pairs.extend([("scope", ""), ("client_info", "1"), ("client_info", "1")]);
    let (s, v) = send(form(&pairs), None).await;
    assert_eq!(s, 200, "{v}");

    // Two client authentication methods (RFC 6749 §2.3).
    let text = "AADSTS9002313: Invalid request. Request is malformed or invalid.";
    let mut pairs = exchange.to_vec();
    pairs.push(("client_secret", "not-a-secret"));
    let r = send(form(&pairs), None).await;
    assert_aadsts(
        &r,
        400,
        "invalid_request",
        9002313,
        &[text, "(private_key_jwt, client_secret_post)"],
    );
    let r = send(
        form(&exchange),
        Some((client_id.clone(), "not-a-secret".into())),
    )
    .await;
    assert_aadsts(
        &r,
        400,
        "invalid_request",
        9002313,
        &[text, "(private_key_jwt, client_secret_basic)"],
    );
    let r = send(
        form(&[
            ("client_id", admin.client_id.as_str()),
            ("client_secret", admin.client_secret.expose_str()),
            ("grant_type", "client_credentials"),
            ("scope", SCOPE_ARM),
        ]),
        Some((
            admin.client_id.clone(),
            admin.client_secret.expose_str().to_string(),
        )),
    )
    .await;
    assert_aadsts(
        &r,
        400,
        "invalid_request",
        9002313,
        &["(client_secret_post, client_secret_basic)"],
    );
    // HTTP Basic alone is one method, and it works (client_secret_basic is advertised).
    let (s, v) = send(
        form(&[("grant_type", "client_credentials"), ("scope", SCOPE_ARM)]),
        Some((
            admin.client_id.clone(),
            admin.client_secret.expose_str().to_string(),
        )),
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // MSAL Python, given a client secret and an assertion as extra data, sends both.
    let file = token_file(&c, "token", &a);
    let v = py(
        &c,
        &["msal-two-methods", &admin.client_id, SCOPE_ARM],
        &[
            ("WID_CLIENT_SECRET", admin.client_secret.expose_str()),
            ("AZURE_FEDERATED_TOKEN_FILE", file.as_str()),
        ],
    )
    .await;
    assert_eq!(v["error"], "invalid_request", "{v}");
    assert_eq!(v["error_codes"], json!([9002313]));
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{text} The request presents more than one client authentication method (private_key_jwt, client_secret_post)")),
        "{v}"
    );
}

#[tokio::test]
async fn oversized_requests_get_an_answer_in_each_systems_shape() {
    let c = TestCloud::start().await;
    let client_id = c.federated_identity("mi-big", "airflow", "worker").await;

    // azure-identity posting a 1 MiB assertion (a token file gone wrong): it reads Entra's
    // 413 error, not a reset connection.
    let file = token_file(&c, "huge-token", &"A".repeat(1024 * 1024));
    let v = py(
        &c,
        &["wi", SCOPE_ARM],
        &[
            ("AZURE_CLIENT_ID", client_id.as_str()),
            ("AZURE_FEDERATED_TOKEN_FILE", file.as_str()),
        ],
    )
    .await;
    assert_eq!(v["error"], "ClientAuthenticationError", "{v}");
    assert_eq!(v["status"], 413, "{v}");
    let body = &v["body"];
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_codes"], json!([9002313]));
    assert!(
        body["error_description"].as_str().unwrap().starts_with(
            "AADSTS9002313: Invalid request. Request is malformed or invalid. The request body is larger than 65536 bytes."
        ),
        "{body}"
    );
    for k in ["timestamp", "trace_id", "correlation_id"] {
        assert!(body[k].is_string(), "{k}: {body}");
    }

    // The same with `requests`, and a keep-alive connection that survives it.
    let url = format!("{}/{}/oauth2/v2.0/token", c.endpoint, c.tenant);
    let v = py(&c, &["post", &url, "3000000"], &[]).await;
    assert_eq!(v["status"], 413, "{v}");
    assert_eq!(v["body"]["error_codes"], json!([9002313]));

    // The connections API: Airflow's {"detail": ...}.
    let key = std::fs::read_to_string(c.home.root().join("api-key")).unwrap();
    let auth = format!("Authorization=Bearer {}", key.trim());
    let v = py(
        &c,
        &[
            "post",
            &format!("{}/api/v2/connections", c.endpoint),
            "3000000",
            &auth,
        ],
        &[],
    )
    .await;
    assert_eq!(v["status"], 413, "{v}");
    assert_eq!(
        v["body"],
        json!({"detail": "The request body is larger than 2097152 bytes."})
    );

    // ARM: {"error":{"code","message"}}.
    let tok = c.admin_token().await;
    let v = py(
        &c,
        &[
            "put",
            &format!("{}{}?api-version={API}", c.endpoint, c.identity_path("big")),
            "1000000",
            &format!("Authorization=Bearer {tok}"),
        ],
        &[],
    )
    .await;
    assert_eq!(v["status"], 413, "{v}");
    assert_eq!(v["body"]["error"]["code"], "RequestEntityTooLarge");
    assert_eq!(
        v["body"]["error"]["message"],
        "The request content size exceeds the maximum of 262144 bytes."
    );

    // Under the limits nothing changed: the server still answers on the same port.
    let (s, v) = c
        .exchange(&client_id, &c.sa_token("airflow", "worker"), SCOPE_ARM)
        .await;
    assert_eq!(s, 200, "{v}");
}

/// An OIDC issuer of its own on a loopback port (HTTPS with the test server's certificate,
/// which the token service trusts): under `/good` a discovery document that names its own
/// issuer, under `/mixup` one that names `/good` (the document of another issuer). Its JWKS
/// holds `key` and an EC key under the kid `ec-key`, which cannot verify RS256.
async fn loopback_issuer(
    c: &TestCloud,
    key: &wid_jose::SigningKey,
) -> (String, axum_server::Handle<std::net::SocketAddr>) {
    use axum::Json;
    use axum::extract::State;
    use axum::routing::get;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let jwks = json!({"keys": [key.public_jwk(), {
        "kty": "EC", "crv": "P-256", "kid": "ec-key", "use": "sig",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    }]});
    let doc = |b: &str, issuer: String| {
        json!({
            "issuer": issuer,
            "jwks_uri": format!("{b}/jwks"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })
    };
    let good = doc(&base, format!("{base}/good"));
    let mixup = doc(&base, format!("{base}/good"));
    let app = axum::Router::new()
        .route(
            "/good/.well-known/openid-configuration",
            get(|State(v): State<(Value, Value, Value)>| async move { Json(v.0) }),
        )
        .route(
            "/mixup/.well-known/openid-configuration",
            get(|State(v): State<(Value, Value, Value)>| async move { Json(v.1) }),
        )
        .route(
            "/jwks",
            get(|State(v): State<(Value, Value, Value)>| async move { Json(v.2) }),
        )
        .with_state((good, mixup, jwks));
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(
        c.home.server_cert(),
        c.home.server_key(),
    )
    .await
    .unwrap();
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener, tls)
        .unwrap()
        .handle(handle.clone());
    tokio::spawn(async move { server.serve(app.into_make_service()).await });
    (base, handle)
}

#[tokio::test]
async fn another_issuers_discovery_document_is_not_trusted() {
    let c = TestCloud::start().await;
    let key = wid_jose::SigningKey::generate().unwrap();
    let (base, handle) = loopback_issuer(&c, &key).await;
    let (client_id, _) = c.create_identity("mi-mixup").await;
    let sub = "system:serviceaccount:airflow:worker";
    let now = c.clock.now();
    let token_from = |iss: &str| {
        key.sign_jwt(
            &json!({"aud": ["api://AzureADTokenExchange"], "iss": iss, "sub": sub, "iat": now, "nbf": now, "exp": now + 3600}),
            &[],
        )
        .unwrap()
    };
    for (name, iss) in [
        ("good", format!("{base}/good")),
        ("mixup", format!("{base}/mixup")),
    ] {
        let (s, v) = c
            .put_fic("mi-mixup", name, &iss, sub, &["api://AzureADTokenExchange"])
            .await;
        assert_eq!(s, 201, "{v}");
    }
    // The mix-up first (nothing is cached yet): its document is the good issuer's, whose
    // key would verify the token, and still the exchange fails.
    let r = c
        .exchange(&client_id, &token_from(&format!("{base}/mixup")), SCOPE_ARM)
        .await;
    assert_aadsts(
        &r,
        400,
        "invalid_request",
        50166,
        &["AADSTS50166: Request to External OIDC endpoint failed."],
    );
    // The issuer whose document names itself, with the same key, gets its token.
    let (s, v) = c
        .exchange(&client_id, &token_from(&format!("{base}/good")), SCOPE_ARM)
        .await;
    assert_eq!(s, 200, "{v}");
    // A kid the issuer publishes, but for a key that cannot verify RS256 (from the cache
    // the exchange above filled): an invalid signature, as at Entra, not an unknown key.
    let ec_kid = key
        .sign_jwt(
            &json!({"aud": ["api://AzureADTokenExchange"], "iss": format!("{base}/good"), "sub": sub, "iat": now, "nbf": now, "exp": now + 3600}),
            &[("kid", "ec-key")],
        )
        .unwrap();
    let r = c.exchange(&client_id, &ec_kid, SCOPE_ARM).await;
    assert_aadsts(
        &r,
        401,
        "invalid_client",
        700027,
        &["failed signature validation"],
    );
    handle.shutdown();
}
