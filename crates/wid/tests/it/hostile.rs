//! Hostile input never gets a 500 or takes the server down.

use reqwest::Method;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn malformed_assertions_are_4xx() {
    let c = TestCloud::start().await;
    let client_id = c
        .federated_identity("mi-h", "airflow", "airflow-worker")
        .await;
    let good = c.sa_token("airflow", "airflow-worker");
    let parts: Vec<&str> = good.split('.').collect();
    let cases = vec![
        String::new(),
        ".".into(),
        "..".into(),
        "a.b.c".into(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[2]),
        format!("{good}\n"),
        format!(" {good}"),
        format!("{}.{}.{}", parts[0], "bm90IGpzb24", parts[2]),
        format!("{}.{}.{}", "W10", parts[1], parts[2]),
        format!(
            "{}.{}.{}",
            parts[0],
            wid_jose::b64url(br#"{"iss":5,"sub":[]}"#),
            parts[2]
        ),
        format!(
            "{}.{}.{}",
            parts[0],
            wid_jose::b64url(
                br#"{"iss":"https://x/","sub":"s","aud":"a","iat":"soon","exp":"later"}"#
            ),
            parts[2]
        ),
        "é.ü.ß".into(),
        "A".repeat(20_000),
        raw_jwt(
            &json!({"alg": "RS256"}),
            &json!({"iss": c.issuer(), "sub": "s", "aud": ["api://AzureADTokenExchange"], "iat": 1, "exp": i64::MAX}),
            "AAAA",
        ),
        raw_jwt(
            &json!({"alg": "RS256", "kid": 7}),
            &json!({"iss": c.issuer(), "sub": "s", "aud": [], "iat": 1, "exp": 2}),
            "AAAA",
        ),
    ];
    for (i, a) in cases.iter().enumerate() {
        let (s, v) = c.exchange(&client_id, a, SCOPE_ARM).await;
        assert!((400..500).contains(&s), "case {i}: {s} {v}");
        assert!(
            v["error_codes"][0].is_u64(),
            "case {i}: an AADSTS code: {v}"
        );
        assert!(
            v["error"].is_string() && v["correlation_id"].is_string(),
            "case {i}: {v}"
        );
    }
    // Still serving.
    assert_eq!(c.exchange(&client_id, &good, SCOPE_ARM).await.0, 200);
}

#[tokio::test]
async fn bodies_sizes_encodings_and_paths() {
    let c = TestCloud::start().await;
    let client_id = c
        .federated_identity("mi-b", "airflow", "airflow-worker")
        .await;
    let good = c.sa_token("airflow", "airflow-worker");
    let t = c.tenant.clone();
    let url = format!("{}/{t}/oauth2/v2.0/token", c.endpoint);

    // Unknown form fields are ignored, as Entra ignores them.
    let (s, v) = c
        .token_form(
            &t,
            false,
            &[
                ("client_assertion", &good),
                ("client_assertion_type", JWT_BEARER),
                ("client_id", &client_id),
                ("grant_type", "client_credentials"),
                ("scope", SCOPE_ARM),
                ("client_info", "1"),
                ("x-anything", "y"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{v}");

    // A huge body: 413, not 500.
    let huge = format!(
        "grant_type=client_credentials&pad={}",
        "A".repeat(2 * 1024 * 1024)
    );
    let resp = c
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);

    // Non-UTF-8 bytes, raw and percent-encoded.
    for body in [
        b"grant_type=client_\xff\xfe&client_id=\xc3\x28".to_vec(),
        b"grant_type=%FF%FE&client_id=%C3%28&scope=%E0%80".to_vec(),
    ] {
        let resp = c
            .http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let s = resp.status().as_u16();
        assert!((400..500).contains(&s), "{s}");
    }
    // A JSON body instead of a form.
    let resp = c
        .http
        .post(&url)
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);

    // ARM: huge body, binary body, odd paths.
    let tok = c.admin_token().await;
    let p = format!("{}{}?api-version={API}", c.endpoint, c.identity_path("big"));
    let resp = c
        .http
        .put(&p)
        .bearer_auth(&tok)
        .body(vec![b'{'; 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    let resp = c
        .http
        .put(&p)
        .bearer_auth(&tok)
        .body(vec![0xffu8, 0x00, 0x12])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    for path in [
        "/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/z?api-version=1",
        "/subscriptions//resourceGroups?api-version=1",
        "/subscriptions/%00/resourcegroups?api-version=2022-09-01",
        "/subscriptions/x?api-version=not-a-date",
        "/subscriptions/'; DROP TABLE identities; --?api-version=2022-09-01",
    ] {
        let (s, _, v) = c.call(Method::GET, path, Some(&tok), None).await;
        assert!((400..500).contains(&s), "{path}: {s} {v}");
    }
    // The issuer's TokenRequest with garbage.
    let (s, _, _) = c
        .call(
            Method::POST,
            "/issuer/api/v1/namespaces/airflow/serviceaccounts/x/token",
            Some(&tok),
            Some(&json!({"spec": {"expirationSeconds": "soon"}})),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _, _) = c
        .call(
            Method::POST,
            "/issuer/api/v1/namespaces/Bad_NS/serviceaccounts/x/token",
            Some(&tok),
            None,
        )
        .await;
    assert_eq!(s, 400);
    let (s, _, _) = c
        .call(
            Method::POST,
            "/issuer/api/v1/namespaces/airflow/serviceaccounts/x/token",
            Some(&tok),
            Some(&json!({"spec": {"expirationSeconds": 60}})),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _, _) = c
        .call(
            Method::POST,
            "/issuer/api/v1/namespaces/airflow/serviceaccounts/x/token",
            None,
            None,
        )
        .await;
    assert_eq!(s, 401);
    // Everything still works.
    assert_eq!(c.exchange(&client_id, &good, SCOPE_ARM).await.0, 200);
}
