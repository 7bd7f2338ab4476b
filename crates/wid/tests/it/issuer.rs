//! The service-account issuer: discovery, JWKS, TokenRequest, and key rotation that keeps old
//! keys published until their tokens expire.

use reqwest::Method;
use serde_json::json;
use wid_model::Clock;

use crate::common::*;

#[tokio::test]
async fn discovery_jwks_and_token_claims() {
    let c = TestCloud::start().await;
    let iss = c.issuer();
    assert!(iss.ends_with("/issuer/"), "{iss}");
    let (s, _, d) = c
        .call(
            Method::GET,
            "/issuer/.well-known/openid-configuration",
            None,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(d["issuer"], iss);
    assert_eq!(d["jwks_uri"], format!("{iss}openid/v1/jwks"));
    assert_eq!(d["id_token_signing_alg_values_supported"], json!(["RS256"]));
    let (_, _, jwks) = c
        .call(Method::GET, "/issuer/openid/v1/jwks", None, None)
        .await;
    assert_eq!(jwks["keys"][0]["use"], "sig");
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
    assert_eq!(jwks["keys"][0]["e"], "AQAB");

    let tok = c.admin_token().await;
    let (s, _, v) = c
        .call(
            Method::POST,
            "/issuer/api/v1/namespaces/airflow/serviceaccounts/airflow-worker/token",
            Some(&tok),
            Some(&json!({"spec": {"expirationSeconds": 7200, "boundObjectRef": {"kind": "Pod", "name": "worker-0", "uid": "u-1"}}})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["kind"], "TokenRequest");
    let token = v["status"]["token"].as_str().unwrap();
    let claims = claims_of(token);
    let now = c.clock.now();
    assert_eq!(claims["iss"], iss);
    assert_eq!(
        claims["sub"],
        "system:serviceaccount:airflow:airflow-worker"
    );
    assert_eq!(claims["aud"], json!(["api://AzureADTokenExchange"]));
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["nbf"], now);
    assert_eq!(claims["exp"], now + 7200);
    assert_eq!(claims["kubernetes.io"]["namespace"], "airflow");
    assert_eq!(
        claims["kubernetes.io"]["serviceaccount"]["name"],
        "airflow-worker"
    );
    assert_eq!(claims["kubernetes.io"]["pod"]["name"], "worker-0");
    assert_eq!(
        v["status"]["expirationTimestamp"],
        wid_model::time_fmt::rfc3339(now + 7200)
    );
    // The token verifies with the published JWKS.
    let jwt = wid_jose::UnverifiedJwt::parse(token).unwrap();
    let key: wid_jose::Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
    jwt.verify(&key).unwrap();
    // Lifetimes outside 3600..=86400 are refused.
    for bad in [3599, 86_401] {
        let (s, _, v) = c
            .call(
                Method::POST,
                "/issuer/api/v1/namespaces/airflow/serviceaccounts/a/token",
                Some(&tok),
                Some(&json!({"spec": {"expirationSeconds": bad}})),
            )
            .await;
        assert_eq!(s, 400, "{v}");
        assert!(
            v["message"].as_str().unwrap().contains("3600 to 86400"),
            "{v}"
        );
    }
}

#[tokio::test]
async fn rotation_keeps_old_key_until_its_tokens_expire() {
    let c = TestCloud::start().await;
    let client_id = c
        .federated_identity("mi-rot", "airflow", "airflow-worker")
        .await;
    let old_token = c.sa_token("airflow", "airflow-worker");
    assert_eq!(c.exchange(&client_id, &old_token, SCOPE_ARM).await.0, 200);
    let old_kid = wid_jose::UnverifiedJwt::parse(&old_token)
        .unwrap()
        .kid()
        .unwrap()
        .to_string();

    // The administrator's token for another resource is not a credential for wid.
    let admin = c.home.admin().unwrap();
    let storage = wid_credential::ClientSecretCredential::new(
        &c.endpoint,
        &admin.tenant_id,
        &admin.client_id,
        wid_credential::Secret::new(admin.client_secret.expose_str()),
        c.http.clone(),
    )
    .get_token("https://storage.azure.com/.default", c.clock.now())
    .await
    .unwrap();
    let (s, _, v) = c
        .call(
            Method::POST,
            "/issuer/keys/rotate?purpose=issuer",
            Some(storage.token.expose_str()),
            None,
        )
        .await;
    assert_eq!(s, 401, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("audience 'https://storage.azure.com' is not wid's"),
        "{v}"
    );

    let tok = c.admin_token().await;
    let (s, _, v) = c
        .call(
            Method::POST,
            "/issuer/keys/rotate?purpose=issuer",
            Some(&tok),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let new_kid = v["active_kid"].as_str().unwrap().to_string();
    assert_ne!(new_kid, old_kid);
    let (_, _, jwks) = c
        .call(Method::GET, "/issuer/openid/v1/jwks", None, None)
        .await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()),
        "{kids:?}"
    );

    // New tokens carry the new kid. The token service cached the old JWKS a moment ago, so
    // it refetches only after its minimum interval; then the new key verifies.
    let new_token = c.sa_token("airflow", "airflow-worker");
    assert_eq!(
        wid_jose::UnverifiedJwt::parse(&new_token).unwrap().kid(),
        Some(new_kid.as_str())
    );
    let r = c.exchange(&client_id, &new_token, SCOPE_ARM).await;
    assert_aadsts(&r, 401, "invalid_client", 7000272, &[&new_kid]);
    c.clock.advance(wid_cloud::oidc::MIN_REFETCH_INTERVAL + 1);
    assert_eq!(c.exchange(&client_id, &new_token, SCOPE_ARM).await.0, 200);
    // The old token still verifies while it is valid.
    assert_eq!(c.exchange(&client_id, &old_token, SCOPE_ARM).await.0, 200);

    // After the retention (the longest token life), the old key leaves the JWKS.
    c.clock.advance(86_400);
    let (_, _, jwks) = c
        .call(Method::GET, "/issuer/openid/v1/jwks", None, None)
        .await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, vec![new_kid.as_str()]);

    // Rotation is for the administrator only: a managed identity's token is refused.
    let (_, wi) = c
        .exchange(
            &client_id,
            &c.sa_token("airflow", "airflow-worker"),
            SCOPE_ARM,
        )
        .await;
    let (s, _, _) = c
        .call(
            Method::POST,
            "/issuer/keys/rotate",
            Some(wi["access_token"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn sts_key_rotation_keeps_issued_tokens_valid_for_arm() {
    let c = TestCloud::start().await;
    let before = c.admin_token().await;
    let tok = before.clone();
    let (s, _, _) = c
        .call(
            Method::POST,
            "/issuer/keys/rotate?purpose=sts",
            Some(&tok),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, _, _) = c
        .call(
            Method::GET,
            &format!("/subscriptions/{}?api-version=2022-09-01", c.sub),
            Some(&before),
            None,
        )
        .await;
    assert_eq!(
        s, 200,
        "a token signed by the retired key is still accepted"
    );
}
