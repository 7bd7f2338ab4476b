//! The token service over HTTPS: success shapes, and every AADSTS error with its code,
//! status, `error` and message values.

use serde_json::json;
use wid_jose::SigningKey;
use wid_model::Clock;

use crate::common::*;

#[tokio::test]
async fn v2_and_v1_success_shapes_and_claims() {
    let c = TestCloud::start().await;
    let client_id = c
        .federated_identity("mi-ok", "airflow", "airflow-worker")
        .await;
    let a = c.sa_token("airflow", "airflow-worker");
    let (s, v) = c.exchange(&client_id, &a, SCOPE_ARM).await;
    assert_eq!(s, 200, "{v}");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 86399, "integers on v2");
    assert_eq!(v["ext_expires_in"], 86399);
    let claims = claims_of(v["access_token"].as_str().unwrap());
    let (_, ident) = c
        .arm(reqwest::Method::GET, &c.identity_path("mi-ok"), None)
        .await;
    let principal = ident["properties"]["principalId"].as_str().unwrap();
    assert_eq!(claims["aud"], "https://management.azure.com");
    assert_eq!(
        claims["iss"],
        format!("https://sts.windows.net/{}/", c.tenant)
    );
    assert_eq!(claims["appid"], client_id);
    assert_eq!(claims["oid"], principal);
    assert_eq!(claims["sub"], principal);
    assert_eq!(claims["tid"], c.tenant);
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(
        claims["xms_mirid"],
        format!(
            "/subscriptions/{}/resourcegroups/rg-airflow/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi-ok",
            c.sub
        )
    );
    let now = c.clock.now();
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        86_700
    );
    assert!(claims["exp"].as_i64().unwrap() >= now + 86_399);

    // v1: resource instead of scope, and every value a string.
    let t = c.tenant.clone();
    let (s, v) = c
        .token_form(
            &t,
            true,
            &[
                ("client_assertion", &a),
                ("client_assertion_type", JWT_BEARER),
                ("client_id", &client_id),
                ("grant_type", "client_credentials"),
                ("resource", "https://storage.azure.com/"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{v}");
    for k in ["expires_in", "ext_expires_in", "expires_on", "not_before"] {
        assert!(v[k].is_string(), "{k} should be a string on v1: {v}");
    }
    assert_eq!(v["resource"], "https://storage.azure.com/");
    assert_eq!(
        claims_of(v["access_token"].as_str().unwrap())["aud"],
        "https://storage.azure.com/"
    );
}

#[tokio::test]
async fn request_level_errors() {
    let c = TestCloud::start().await;
    let client_id = c
        .federated_identity("mi-req", "airflow", "airflow-worker")
        .await;
    let a = c.sa_token("airflow", "airflow-worker");
    let t = c.tenant.clone();

    // 90002: unknown tenant, GUID or domain.
    let bogus = wid_model::ids::new_guid();
    let r = c
        .token_form(&bogus, false, &[("grant_type", "client_credentials")])
        .await;
    assert_aadsts(
        &r,
        400,
        "invalid_tenant",
        90002,
        &[&format!("Tenant '{bogus}' not found")],
    );
    let r = c.token_form("contoso.onmicrosoft.com", false, &[]).await;
    assert_aadsts(
        &r,
        400,
        "invalid_tenant",
        90002,
        &["Tenant 'contoso.onmicrosoft.com' not found"],
    );

    // 900144: missing parameters, named.
    let r = c.token_form(&t, false, &[("client_id", &client_id)]).await;
    assert_aadsts(&r, 400, "invalid_request", 900144, &["'grant_type'"]);
    let r = c
        .token_form(&t, false, &[("grant_type", "client_credentials")])
        .await;
    assert_aadsts(&r, 400, "invalid_request", 900144, &["'client_id'"]);
    let r = c
        .token_form(
            &t,
            false,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
            ],
        )
        .await;
    assert_aadsts(&r, 400, "invalid_request", 900144, &["'scope'"]);
    let r = c
        .token_form(
            &t,
            true,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
            ],
        )
        .await;
    assert_aadsts(&r, 400, "invalid_request", 900144, &["'resource'"]);
    let r = c
        .token_form(
            &t,
            false,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("scope", SCOPE_ARM),
                ("client_assertion", &a),
            ],
        )
        .await;
    assert_aadsts(
        &r,
        400,
        "invalid_request",
        900144,
        &["'client_assertion_type'"],
    );

    // 70003: another grant.
    let r = c
        .token_form(
            &t,
            false,
            &[("grant_type", "password"), ("client_id", &client_id)],
        )
        .await;
    assert_aadsts(&r, 400, "unsupported_grant_type", 70003, &["'password'"]);

    // 1002012: scope without /.default.
    let r = c
        .token_form(
            &t,
            false,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("scope", "https://management.azure.com/user_impersonation"),
            ],
        )
        .await;
    assert_aadsts(
        &r,
        400,
        "invalid_scope",
        1002012,
        &[
            "scope https://management.azure.com/user_impersonation is not valid",
            "/.default",
        ],
    );

    // 901002: resource on v2.
    let r = c
        .token_form(
            &t,
            false,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("resource", "https://management.azure.com/"),
            ],
        )
        .await;
    assert_aadsts(
        &r,
        400,
        "invalid_request",
        901002,
        &["'resource' request parameter isn't supported"],
    );

    // 7000218: no credential at all.
    let r = c
        .token_form(
            &t,
            false,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("scope", SCOPE_ARM),
            ],
        )
        .await;
    assert_aadsts(
        &r,
        401,
        "invalid_client",
        7000218,
        &["'client_assertion' or 'client_secret'"],
    );

    // 700016: unknown client id, in the message with the tenant.
    let unknown = wid_model::ids::new_guid();
    let r = c.exchange(&unknown, &a, SCOPE_ARM).await;
    assert_aadsts(
        &r,
        400,
        "unauthorized_client",
        700016,
        &[&format!(
            "Application with identifier '{unknown}' was not found in the directory '{t}'"
        )],
    );

    // 7000215: wrong administrator secret.
    let admin = c.home.admin().unwrap();
    let r = c
        .token_form(
            &t,
            false,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &admin.client_id),
                ("scope", SCOPE_ARM),
                ("client_secret", "nope"),
            ],
        )
        .await;
    assert_aadsts(&r, 401, "invalid_client", 7000215, &[&admin.client_id]);

    // The correlation id echoes the client's client-request-id, as Entra does.
    let cid = wid_model::ids::new_guid();
    let resp = c
        .http
        .post(format!("{}/{t}/oauth2/v2.0/token", c.endpoint))
        .header("client-request-id", &cid)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["correlation_id"], cid);
}

#[tokio::test]
async fn assertion_errors() {
    let c = TestCloud::start().await;
    let client_id = c
        .federated_identity("mi-fic", "airflow", "airflow-worker")
        .await;
    let iss = c.issuer();
    let now = c.clock.now();
    let issuer_key = c.state().keys.active(wid_cloud::keys::Purpose::Issuer);

    // 50027: not a JWT.
    let r = c.exchange(&client_id, "not-a-jwt", SCOPE_ARM).await;
    assert_aadsts(
        &r,
        400,
        "invalid_request",
        50027,
        &["JWT token is invalid or malformed."],
    );

    // 5002730: alg none and HS256.
    let claims = sa_claims(&iss, "system:serviceaccount:airflow:airflow-worker", now);
    for alg in ["none", "HS256"] {
        let t = raw_jwt(&json!({"alg": alg, "typ": "JWT"}), &claims, "c2ln");
        let r = c.exchange(&client_id, &t, SCOPE_ARM).await;
        assert_aadsts(
            &r,
            400,
            "invalid_request",
            5002730,
            &["Unsupported key for the signing algorithm"],
        );
    }

    // 700222: an Entra-issued token as the assertion.
    let t = sign_with(
        &issuer_key,
        &sa_claims(&format!("https://sts.windows.net/{}/", c.tenant), "x", now),
        None,
    );
    let r = c.exchange(&client_id, &t, SCOPE_ARM).await;
    assert_aadsts(
        &r,
        400,
        "invalid_request",
        700222,
        &["AAD-issued tokens may not be used for federated identity flows."],
    );

    // 70023: no iat; lifetime over 25 hours.
    let mut no_iat = claims.clone();
    no_iat.as_object_mut().unwrap().remove("iat");
    let r = c
        .exchange(
            &client_id,
            &sign_with(&issuer_key, &no_iat, None),
            SCOPE_ARM,
        )
        .await;
    assert_aadsts(
        &r,
        400,
        "invalid_request",
        70023,
        &[
            "lifetime of less than or equal to 1.01:00:00",
            "Token issued at 0",
            &format!("Token expires on {}", now + 3600),
        ],
    );
    let mut long = claims.clone();
    long["exp"] = json!(now + 25 * 3600 + 1);
    let r = c
        .exchange(&client_id, &sign_with(&issuer_key, &long, None), SCOPE_ARM)
        .await;
    assert_aadsts(
        &r,
        400,
        "invalid_request",
        70023,
        &[&format!("Token issued at {now}")],
    );

    // 700024: not yet valid.
    let mut future = claims.clone();
    future["nbf"] = json!(now + 3000);
    future["iat"] = json!(now + 3000);
    future["exp"] = json!(now + 6000);
    let r = c
        .exchange(
            &client_id,
            &sign_with(&issuer_key, &future, None),
            SCOPE_ARM,
        )
        .await;
    assert_aadsts(
        &r,
        401,
        "invalid_client",
        700024,
        &[
            "not within its valid time range",
            &wid_model::time_fmt::aadsts_instant(now + 3000),
        ],
    );

    // 700211: the issuer without its trailing slash matches nothing.
    let no_slash = sa_claims(
        iss.trim_end_matches('/'),
        "system:serviceaccount:airflow:airflow-worker",
        now,
    );
    let r = c
        .exchange(
            &client_id,
            &sign_with(&issuer_key, &no_slash, None),
            SCOPE_ARM,
        )
        .await;
    assert_aadsts(
        &r,
        401,
        "invalid_client",
        700211,
        &[&format!(
            "presented assertion issuer '{}'",
            iss.trim_end_matches('/')
        )],
    );

    // 7000272: a kid the issuer does not publish.
    let stranger = SigningKey::generate().unwrap();
    let r = c
        .exchange(&client_id, &sign_with(&stranger, &claims, None), SCOPE_ARM)
        .await;
    assert_aadsts(&r, 401, "invalid_client", 7000272, &[stranger.kid(), &iss]);

    // 700027: the issuer's kid, but signed by another key.
    let r = c
        .exchange(
            &client_id,
            &sign_with(&stranger, &claims, Some(issuer_key.kid())),
            SCOPE_ARM,
        )
        .await;
    assert_aadsts(
        &r,
        401,
        "invalid_client",
        700027,
        &["failed signature validation"],
    );

    // 7002138: subject differs only in case; 700213: another subject.
    let upper = sa_claims(&iss, "system:serviceaccount:airflow:Airflow-Worker", now);
    let r = c
        .exchange(&client_id, &sign_with(&issuer_key, &upper, None), SCOPE_ARM)
        .await;
    assert_aadsts(
        &r,
        401,
        "invalid_client",
        7002138,
        &[
            "subject 'system:serviceaccount:airflow:Airflow-Worker'",
            "case-insensitive",
        ],
    );
    let other = c.sa_token("airflow", "airflow-scheduler");
    let r = c.exchange(&client_id, &other, SCOPE_ARM).await;
    assert_aadsts(
        &r,
        401,
        "invalid_client",
        700213,
        &["presented assertion subject 'system:serviceaccount:airflow:airflow-scheduler'"],
    );

    // 700212: issuer and subject match, audience does not.
    let aud = wid_cloud::issuer::mint(
        c.state(),
        "airflow",
        "airflow-worker",
        &["my.audience".into()],
        3600,
        None,
    )
    .unwrap()
    .0;
    let r = c.exchange(&client_id, aud.expose_str(), SCOPE_ARM).await;
    assert_aadsts(
        &r,
        401,
        "invalid_client",
        700212,
        &["presented assertion audience 'my.audience'"],
    );

    // 70021: an identity without any federated credential.
    let (bare, _) = c.create_identity("mi-bare").await;
    let a = c.sa_token("airflow", "airflow-worker");
    let r = c.exchange(&bare, &a, SCOPE_ARM).await;
    assert_aadsts(
        &r,
        400,
        "invalid_request",
        70021,
        &[
            &format!("Assertion Issuer: '{iss}'"),
            "Assertion Subject: 'system:serviceaccount:airflow:airflow-worker'",
            "Assertion Audience: 'api://AzureADTokenExchange'",
        ],
    );

    // A client secret for a managed identity is refused.
    let t = c.tenant.clone();
    let r = c
        .token_form(
            &t,
            false,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("scope", SCOPE_ARM),
                ("client_secret", "x"),
            ],
        )
        .await;
    assert_eq!(r.0, 401, "{}", r.1);
}

#[tokio::test]
async fn expired_assertion_is_700024_after_time_moves() {
    let c = TestCloud::start().await;
    let client_id = c
        .federated_identity("mi-exp", "airflow", "airflow-worker")
        .await;
    let a = c.sa_token("airflow", "airflow-worker");
    let claims = claims_of(&a);
    assert_eq!(c.exchange(&client_id, &a, SCOPE_ARM).await.0, 200);
    // Within the 5-minute skew it still works; past it, Entra's message names the times.
    c.clock.advance(3600 + 299);
    assert_eq!(c.exchange(&client_id, &a, SCOPE_ARM).await.0, 200);
    c.clock.advance(2);
    let now = c.clock.now();
    let r = c.exchange(&client_id, &a, SCOPE_ARM).await;
    assert_aadsts(
        &r,
        401,
        "invalid_client",
        700024,
        &[
            &format!("Current time: {}", wid_model::time_fmt::aadsts_instant(now)),
            &format!(
                "assertion valid from {}",
                wid_model::time_fmt::aadsts_instant(claims["nbf"].as_i64().unwrap())
            ),
            &format!(
                "expiry time of assertion {}",
                wid_model::time_fmt::aadsts_instant(claims["exp"].as_i64().unwrap())
            ),
        ],
    );
}

#[tokio::test]
async fn unreachable_issuer_is_50166_within_bounded_time() {
    // An issuer that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            conns.push(s);
        }
    });
    let c = TestCloud::start_with(Options {
        oidc_timeout: std::time::Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let (client_id, _) = c.create_identity("mi-far").await;
    for (name, iss) in [
        ("silent", format!("https://127.0.0.1:{port}/")),
        ("refused", "https://127.0.0.1:1/".to_string()),
    ] {
        let (s, v) = c
            .put_fic(
                "mi-far",
                name,
                &iss,
                "system:serviceaccount:a:b",
                &["api://AzureADTokenExchange"],
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let key = c.state().keys.active(wid_cloud::keys::Purpose::Issuer);
        let t = sign_with(
            &key,
            &sa_claims(&iss, "system:serviceaccount:a:b", c.clock.now()),
            None,
        );
        let started = std::time::Instant::now();
        let r = c.exchange(&client_id, &t, SCOPE_ARM).await;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{name}: took {:?}",
            started.elapsed()
        );
        assert_aadsts(
            &r,
            400,
            "invalid_request",
            50166,
            &["Request to External OIDC endpoint failed."],
        );
    }
    hold.abort();
}

#[tokio::test]
async fn discovery_documents() {
    let c = TestCloud::start().await;
    let t = c.tenant.clone();
    let (s, _, v) = c
        .call(
            reqwest::Method::GET,
            &format!("/{t}/v2.0/.well-known/openid-configuration"),
            None,
            None,
        )
        .await;
    assert_eq!(s, 200);
    // The issuer shares scheme and host with the authority (MSAL Go checks this).
    assert_eq!(v["issuer"], format!("{}/{t}/v2.0", c.endpoint));
    assert_eq!(
        v["token_endpoint"],
        format!("{}/{t}/oauth2/v2.0/token", c.endpoint)
    );
    let jwks_uri = v["jwks_uri"]
        .as_str()
        .unwrap()
        .trim_start_matches(&c.endpoint)
        .to_string();
    let (s, _, jwks) = c.call(reqwest::Method::GET, &jwks_uri, None, None).await;
    assert_eq!(s, 200);
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert_eq!(
        jwks["keys"][0]["kid"],
        c.state().keys.active(wid_cloud::keys::Purpose::Sts).kid()
    );

    let (s, _, v) = c
        .call(
            reqwest::Method::GET,
            "/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration",
            None,
            None,
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(v["error_codes"][0], 90002);

    let host = c.endpoint.trim_start_matches("https://");
    let (s, _, v) = c
        .call(reqwest::Method::GET, &format!("/common/discovery/instance?api-version=1.1&authorization_endpoint=https://{host}/{t}/oauth2/v2.0/authorize"), None, None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["tenant_discovery_endpoint"],
        format!("{}/{t}/v2.0/.well-known/openid-configuration", c.endpoint)
    );
    let (s, _, v) = c
        .call(reqwest::Method::GET, "/common/discovery/instance?api-version=1.1&authorization_endpoint=https://evil.example/x/oauth2/v2.0/authorize", None, None)
        .await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_instance")));
}
