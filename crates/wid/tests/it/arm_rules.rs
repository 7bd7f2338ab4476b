//! ARM over HTTPS: identities and federated credentials, their status codes, bodies, rules
//! and errors, and bearer-token authentication.

use reqwest::Method;
use serde_json::json;
use wid_model::Clock;

use crate::common::*;

const AUD: &[&str] = &["api://AzureADTokenExchange"];

#[tokio::test]
async fn identity_lifecycle() {
    let c = TestCloud::start().await;
    let p = c.identity_path("airflow-mi");
    let (s, created) = c
        .arm(
            Method::PUT,
            &p,
            Some(&json!({"location": "eastus", "tags": {"team": "data"}})),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(
        created["type"],
        "Microsoft.ManagedIdentity/userAssignedIdentities"
    );
    assert_eq!(
        created["id"],
        format!(
            "/subscriptions/{}/resourcegroups/rg-airflow/providers/Microsoft.ManagedIdentity/userAssignedIdentities/airflow-mi",
            c.sub
        )
    );
    assert_eq!(created["properties"]["tenantId"], c.tenant);
    assert!(wid_model::ids::is_guid(
        created["properties"]["clientId"].as_str().unwrap()
    ));
    // PUT again: 200, same ids (idempotent).
    let (s, again) = c
        .arm(Method::PUT, &p, Some(&json!({"location": "eastus"})))
        .await;
    assert_eq!(s, 200);
    assert_eq!(again["properties"], created["properties"]);
    // Case-insensitive path segments and names.
    let upper = p
        .replace("resourceGroups", "RESOURCEGROUPS")
        .replace("airflow-mi", "AIRFLOW-MI");
    let (s, got) = c.arm(Method::GET, &upper, None).await;
    assert_eq!((s, got["name"].as_str()), (200, Some("airflow-mi")));
    // Lists: by group and by subscription.
    c.create_identity("second-mi").await;
    let (s, l) = c.arm(Method::GET, &format!("/subscriptions/{}/resourceGroups/rg-airflow/providers/Microsoft.ManagedIdentity/userAssignedIdentities", c.sub), None).await;
    assert_eq!((s, l["value"].as_array().unwrap().len()), (200, 2));
    let (s, l) = c
        .arm(
            Method::GET,
            &format!(
                "/subscriptions/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
                c.sub
            ),
            None,
        )
        .await;
    assert_eq!((s, l["value"].as_array().unwrap().len()), (200, 2));
    // Newer api-versions add isolationScope.
    let t = c.admin_token().await;
    let (_, _, v) = c
        .call(
            Method::GET,
            &format!("{p}?api-version=2024-11-30"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(v["properties"]["isolationScope"], "None");
    // Location is required; a different location for an existing name is refused.
    let (s, v) = c
        .arm(Method::PUT, &c.identity_path("no-loc"), Some(&json!({})))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("LocationRequired"))
    );
    let (s, v) = c
        .arm(Method::PUT, &p, Some(&json!({"location": "westus"})))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("InvalidResourceLocation"))
    );
    // Bad names, bad JSON.
    let (s, v) = c
        .arm(
            Method::PUT,
            &c.identity_path("a"),
            Some(&json!({"location": "eastus"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("InvalidResourceName"))
    );
    let resp = c
        .http
        .put(format!(
            "{}{}?api-version={API}",
            c.endpoint,
            c.identity_path("jsonless")
        ))
        .bearer_auth(&t)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "InvalidRequestContent");
    // Delete: 200 then 204; the FICs go with it.
    c.put_fic(
        "airflow-mi",
        "fic-a",
        &c.issuer(),
        "system:serviceaccount:a:b",
        AUD,
    )
    .await;
    let (s, _) = c.arm(Method::DELETE, &p, None).await;
    assert_eq!(s, 200);
    let (s, _) = c.arm(Method::DELETE, &p, None).await;
    assert_eq!(s, 204);
    let (s, v) = c.arm(Method::GET, &p, None).await;
    assert_eq!(s, 404);
    assert_eq!(v["error"]["code"], "ResourceNotFound");
    assert!(v["error"]["message"].as_str().unwrap().contains("'Microsoft.ManagedIdentity/userAssignedIdentities/airflow-mi' under resource group 'rg-airflow' was not found"));
    // A missing resource group or subscription.
    let (s, v) = c
        .arm(
            Method::PUT,
            &c.identity_path("x-mi").replace("rg-airflow", "rg-missing"),
            Some(&json!({"location": "eastus"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("ResourceGroupNotFound"))
    );
    let (s, v) = c
        .arm(
            Method::GET,
            &c.identity_path("x-mi")
                .replace(&c.sub, "00000000-0000-0000-0000-000000000000"),
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("SubscriptionNotFound"))
    );
}

#[tokio::test]
async fn federated_credential_rules() {
    let c = TestCloud::start().await;
    c.create_identity("mi-rules").await;
    let iss = c.issuer();
    let fic = |n: &str| {
        format!(
            "{}/federatedIdentityCredentials/{n}",
            c.identity_path("mi-rules")
        )
    };

    let (s, v) = c
        .put_fic(
            "mi-rules",
            "airflow-worker",
            &iss,
            "system:serviceaccount:airflow:airflow-worker",
            AUD,
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        v["type"],
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"
    );
    assert_eq!(v["properties"]["audiences"], json!(AUD));
    // Update of the same name: 200.
    let (s, _) = c
        .put_fic(
            "mi-rules",
            "airflow-worker",
            &iss,
            "system:serviceaccount:airflow:airflow-worker",
            AUD,
        )
        .await;
    assert_eq!(s, 200);
    let (s, got) = c.arm(Method::GET, &fic("airflow-worker"), None).await;
    assert_eq!(
        (s, got["properties"]["issuer"].as_str()),
        (200, Some(iss.as_str()))
    );

    // Name regex.
    for bad in ["ab", "-lead", "has space", "semi;colon"] {
        let (s, v) = c
            .put_fic("mi-rules", &bad.replace(' ', "%20"), &iss, "s", AUD)
            .await;
        assert_eq!(s, 400, "{bad}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("is invalid"),
            "{v}"
        );
    }
    // Exactly one audience.
    for auds in [&[][..], &["a", "b"][..]] {
        let (s, v) = c.put_fic("mi-rules", "two-aud", &iss, "s", auds).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (
                400,
                Some("InvalidFederatedIdentityCredentialsAudienceLength")
            ),
            "{v}"
        );
    }
    // Required fields, empty properties, https issuer, 600 characters.
    let (s, v) = c
        .arm(
            Method::PUT,
            &fic("no-subject"),
            Some(&json!({"properties": {"issuer": iss, "audiences": AUD}})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("must specify 'issuer', 'subject' and 'audience'")
    );
    let (s, v) = c
        .arm(Method::PUT, &fic("empty"), Some(&json!({"properties": {}})))
        .await;
    assert_eq!(
        (s, v["error"]["message"].as_str()),
        (
            400,
            Some("Federated Identity Credential from HTTP body has empty properties")
        )
    );
    let (s, v) = c
        .put_fic("mi-rules", "plain-http", "http://issuer.example/", "s", AUD)
        .await;
    assert_eq!(s, 400);
    assert!(v["error"]["message"].as_str().unwrap().contains("https"));
    let long = "s".repeat(601);
    let (s, v) = c.put_fic("mi-rules", "too-long", &iss, &long, AUD).await;
    assert_eq!(s, 400);
    assert!(v["error"]["message"].as_str().unwrap().contains("601"));
    // Issuer + subject unique per identity, whatever the name.
    let (s, v) = c
        .put_fic(
            "mi-rules",
            "other-name",
            &iss,
            "system:serviceaccount:airflow:airflow-worker",
            AUD,
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Issuer and subject combination already exists"),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("airflow-worker"),
        "names the existing credential: {v}"
    );
    // The parent must exist.
    let (s, v) = c.put_fic("ghost", "f1x", &iss, "s", AUD).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("ParentResourceNotFound"))
    );
    // api-versions before 2022-01-31-preview have no FICs.
    let t = c.admin_token().await;
    let (s, _, v) = c
        .call(
            Method::GET,
            &format!("{}?api-version=2018-11-30", fic("airflow-worker")),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("NoRegisteredProviderFound"))
    );
    let (s, _, v) = c
        .call(Method::GET, &fic("airflow-worker"), Some(&t), None)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("MissingApiVersionParameter"))
    );
    // Delete: 200, then 204.
    assert_eq!(
        c.arm(Method::DELETE, &fic("airflow-worker"), None).await.0,
        200
    );
    assert_eq!(
        c.arm(Method::DELETE, &fic("airflow-worker"), None).await.0,
        204
    );
    assert_eq!(
        c.arm(Method::GET, &fic("airflow-worker"), None).await.0,
        404
    );
}

#[tokio::test]
async fn twenty_credentials_then_refusal_and_paging() {
    let c = TestCloud::start().await;
    c.create_identity("mi20").await;
    let iss = c.issuer();
    for i in 0..20 {
        let (s, v) = c
            .put_fic(
                "mi20",
                &format!("fic-{i:02}"),
                &iss,
                &format!("system:serviceaccount:ns:sa{i}"),
                AUD,
            )
            .await;
        assert_eq!(s, 201, "{i}: {v}");
    }
    let (s, v) = c
        .put_fic("mi20", "fic-20", &iss, "system:serviceaccount:ns:sa20", AUD)
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("it has 20, and the maximum is 20"),
        "{v}"
    );
    // Updating one of the 20 is still allowed.
    assert_eq!(
        c.put_fic(
            "mi20",
            "fic-05",
            &iss,
            "system:serviceaccount:ns:sa5-new",
            AUD
        )
        .await
        .0,
        200
    );
    // $top pages with nextLink until the end.
    let list = format!("{}/federatedIdentityCredentials", c.identity_path("mi20"));
    let (s, page) = c.arm(Method::GET, &format!("{list}?$top=7"), None).await;
    assert_eq!(s, 200);
    let mut names: Vec<String> = page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 7);
    let mut next = page["nextLink"].as_str().map(String::from);
    let t = c.admin_token().await;
    while let Some(link) = next {
        let resp = c.http.get(&link).bearer_auth(&t).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let p: serde_json::Value = resp.json().await.unwrap();
        names.extend(
            p["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap().to_string()),
        );
        next = p["nextLink"].as_str().map(String::from);
    }
    let expected: Vec<String> = (0..20).map(|i| format!("fic-{i:02}")).collect();
    assert_eq!(names, expected);
    for bad in ["0", "-1", "x"] {
        let (s, _) = c
            .arm(Method::GET, &format!("{list}?$top={bad}"), None)
            .await;
        assert_eq!(s, 400, "$top={bad}");
    }
}

#[tokio::test]
async fn concurrent_writes_on_one_identity_get_409() {
    // The first write holds its identity for 3 s; the second is sent once the first is seen
    // holding it (no race on a sleep), so it must meet the hold.
    let c = TestCloud::start_with(Options {
        fic_write_hold: std::time::Duration::from_secs(3),
        ..Default::default()
    })
    .await;
    let (_, principal) = c.create_identity("mi-busy").await;
    let iss = c.issuer();
    let (a, b) = tokio::join!(
        c.put_fic("mi-busy", "first", &iss, "system:serviceaccount:n:a", AUD),
        async {
            let lock = c.state().fic_lock(&principal);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while lock.try_lock().is_ok() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the first write never held the identity"
                );
                tokio::task::yield_now().await;
            }
            c.put_fic("mi-busy", "second", &iss, "system:serviceaccount:n:b", AUD)
                .await
        }
    );
    assert_eq!(a.0, 201, "{}", a.1);
    assert_eq!(b.0, 409, "{}", b.1);
    assert_eq!(
        b.1["error"]["code"],
        "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"
    );
    let msg = b.1["error"]["message"].as_str().unwrap();
    assert!(msg.contains(&format!("/subscriptions/{}/resourcegroups/rg-airflow/providers/microsoft.managedidentity/userassignedidentities/mi-busy", c.sub)), "{msg}");
    // Writes on another identity are not held up, and after the first finishes the retry works.
    c.create_identity("mi-free").await;
    assert_eq!(
        c.put_fic("mi-busy", "second", &iss, "system:serviceaccount:n:b", AUD)
            .await
            .0,
        201
    );
}

#[tokio::test]
async fn bearer_token_rules() {
    let c = TestCloud::start().await;
    let p = format!("{}?api-version={API}", c.identity_path("any"));
    // No header.
    let (s, h, v) = c.call(Method::GET, &p, None, None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("AuthenticationFailed"))
    );
    assert!(h.get("www-authenticate").is_some());
    assert_eq!(
        v["error"]["message"],
        "Authentication failed. The 'Authorization' header is missing."
    );
    // Garbage, and a token signed by an unknown key.
    let (s, _, v) = c.call(Method::GET, &p, Some("garbage"), None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("InvalidAuthenticationToken"))
    );
    let forged_key = wid_jose::SigningKey::generate().unwrap();
    let forged = forged_key
        .sign_jwt(&claims_of(&c.admin_token().await), &[])
        .unwrap();
    let (s, _, v) = c.call(Method::GET, &p, Some(&forged), None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("InvalidAuthenticationToken"))
    );
    // A token for another audience.
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
                ("scope", "https://storage.azure.com/.default"),
            ],
        )
        .await;
    assert_eq!(s, 200);
    let (s, _, v) = c
        .call(
            Method::GET,
            &p,
            Some(tok["access_token"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("InvalidAuthenticationTokenAudience"))
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'https://storage.azure.com'")
    );
    // Expired: move the clock past exp plus skew.
    let admin_tok = c.admin_token().await;
    c.clock.advance(86_400 + 600);
    let (s, _, v) = c.call(Method::GET, &p, Some(&admin_tok), None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("ExpiredAuthenticationToken"))
    );
    let _ = c.clock.now();
}

#[tokio::test]
async fn resource_groups_and_subscriptions() {
    let c = TestCloud::start().await;
    let t = c.admin_token().await;
    let (s, _, v) = c
        .call(
            Method::GET,
            "/subscriptions?api-version=2022-12-01",
            Some(&t),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["value"][0]["subscriptionId"], c.sub);
    assert_eq!(v["value"][0]["tenantId"], c.tenant);
    let g = format!(
        "/subscriptions/{}/resourcegroups/rg-data?api-version=2022-09-01",
        c.sub
    );
    let (s, _, v) = c
        .call(
            Method::PUT,
            &g,
            Some(&t),
            Some(&json!({"location": "westeurope"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        v["id"],
        format!("/subscriptions/{}/resourceGroups/rg-data", c.sub)
    );
    let (s, _, _) = c
        .call(
            Method::PUT,
            &g,
            Some(&t),
            Some(&json!({"location": "westeurope"})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _, v) = c
        .call(
            Method::GET,
            &format!(
                "/subscriptions/{}/resourcegroups?api-version=2022-09-01",
                c.sub
            ),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let names: Vec<&str> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["rg-airflow", "rg-data"]);
    let (s, _, v) = c
        .call(
            Method::GET,
            &format!(
                "/subscriptions/{}/resourcegroups/nope?api-version=2022-09-01",
                c.sub
            ),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"]["message"].as_str()),
        (404, Some("Resource group 'nope' could not be found."))
    );
    // Delete takes the group's identities with it.
    let g = format!(
        "/subscriptions/{}/resourcegroups/rg-data?api-version=2022-09-01",
        c.sub
    );
    let mi = format!(
        "/subscriptions/{}/resourceGroups/rg-data/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gone?api-version={API}",
        c.sub
    );
    assert_eq!(
        c.call(
            Method::PUT,
            &mi,
            Some(&t),
            Some(&json!({"location": "westeurope"}))
        )
        .await
        .0,
        201
    );
    assert_eq!(c.call(Method::DELETE, &g, Some(&t), None).await.0, 200);
    assert_eq!(c.call(Method::GET, &g, Some(&t), None).await.0, 404);
    let (s, _, v) = c.call(Method::GET, &mi, Some(&t), None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("ResourceGroupNotFound"))
    );
    assert_eq!(c.call(Method::DELETE, &g, Some(&t), None).await.0, 404);
}

#[tokio::test]
async fn role_assignments_give_exactly_the_identitys_permissions() {
    let c = TestCloud::start().await;
    let t = c.admin_token().await;
    for rg in ["rg-data", "rg-secret"] {
        let (s, _, _) = c
            .call(
                Method::PUT,
                &format!(
                    "/subscriptions/{}/resourcegroups/{rg}?api-version=2022-09-01",
                    c.sub
                ),
                Some(&t),
                Some(&json!({"location": "eastus"})),
            )
            .await;
        assert_eq!(s, 201);
    }
    let client_id = c
        .federated_identity("mi-rbac", "airflow", "airflow-worker")
        .await;
    let (_, ident) = c.arm(Method::GET, &c.identity_path("mi-rbac"), None).await;
    let principal = ident["properties"]["principalId"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, tok) = c
        .exchange(
            &client_id,
            &c.sa_token("airflow", "airflow-worker"),
            SCOPE_ARM,
        )
        .await;
    assert_eq!(s, 200);
    let wi = tok["access_token"].as_str().unwrap().to_string();
    let rg = |name: &str| {
        format!(
            "/subscriptions/{}/resourcegroups/{name}?api-version=2022-09-01",
            c.sub
        )
    };

    // No role yet: ARM's 403, naming the client, the action and the scope.
    let (s, _, v) = c.call(Method::GET, &rg("rg-data"), Some(&wi), None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("AuthorizationFailed"))
    );
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(&principal)
            && msg.contains("Microsoft.Resources/subscriptions/resourceGroups/read")
            && msg.contains("/resourceGroups/rg-data"),
        "{msg}"
    );

    // Reader on rg-data.
    let ra = |name: &str, scope: &str, role: &str, p: &str| {
        (
            format!(
                "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=2022-04-01"
            ),
            json!({"properties": {"roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role}", c.sub), "principalId": p, "principalType": "ServicePrincipal"}}),
        )
    };
    let rg_scope = format!("/subscriptions/{}/resourceGroups/rg-data", c.sub);
    let reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
    let name = wid_model::ids::new_guid();
    let (path, body) = ra(&name, &rg_scope, reader, &principal);
    let (s, _, v) = c.call(Method::PUT, &path, Some(&t), Some(&body)).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["type"], "Microsoft.Authorization/roleAssignments");
    assert_eq!(v["properties"]["scope"], rg_scope);
    // The same principal, role and scope again: 409 RoleAssignmentExists.
    let (path2, body2) = ra(&wid_model::ids::new_guid(), &rg_scope, reader, &principal);
    let (s, _, v) = c.call(Method::PUT, &path2, Some(&t), Some(&body2)).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("RoleAssignmentExists"))
    );
    // A principal that does not exist, a name that is not a GUID, an unknown role.
    let ghost = wid_model::ids::new_guid();
    let (path3, body3) = ra(&wid_model::ids::new_guid(), &rg_scope, reader, &ghost);
    let (s, _, v) = c.call(Method::PUT, &path3, Some(&t), Some(&body3)).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("PrincipalNotFound"))
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&ghost.replace('-', ""))
    );
    let (path4, body4) = ra("not-a-guid", &rg_scope, reader, &principal);
    let (s, _, v) = c.call(Method::PUT, &path4, Some(&t), Some(&body4)).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("InvalidRoleAssignmentId"))
    );
    let (path5, body5) = ra(
        &wid_model::ids::new_guid(),
        &rg_scope,
        "00000000-0000-0000-0000-000000000000",
        &principal,
    );
    let (s, _, v) = c.call(Method::PUT, &path5, Some(&t), Some(&body5)).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("RoleDefinitionDoesNotExist"))
    );

    // The identity reads rg-data, not rg-secret; lists show only what it may read; Reader
    // cannot write, nor assign roles.
    let (s, _, _) = c.call(Method::GET, &rg("rg-data"), Some(&wi), None).await;
    assert_eq!(s, 200);
    let (s, _, v) = c.call(Method::GET, &rg("rg-secret"), Some(&wi), None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("AuthorizationFailed"))
    );
    let (s, _, v) = c
        .call(
            Method::GET,
            &format!(
                "/subscriptions/{}/resourcegroups?api-version=2022-09-01",
                c.sub
            ),
            Some(&wi),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let names: Vec<&str> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["rg-data"]);
    let (s, _, v) = c
        .call(Method::PUT, &format!("{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/sneaky?api-version=2023-01-31", rg_scope), Some(&wi), Some(&json!({"location": "eastus"})))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("AuthorizationFailed"))
    );
    let (path6, body6) = ra(
        &wid_model::ids::new_guid(),
        &format!("/subscriptions/{}", c.sub),
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        &principal,
    );
    let (s, _, _) = c.call(Method::PUT, &path6, Some(&wi), Some(&body6)).await;
    assert_eq!(s, 403, "a Reader cannot make itself Owner");
    // Inheritance: Reader at the subscription reaches every group.
    let sub_reader = wid_model::ids::new_guid();
    let (path7, body7) = ra(
        &sub_reader,
        &format!("/subscriptions/{}", c.sub),
        reader,
        &principal,
    );
    assert_eq!(
        c.call(Method::PUT, &path7, Some(&t), Some(&body7)).await.0,
        201
    );
    assert_eq!(
        c.call(Method::GET, &rg("rg-secret"), Some(&wi), None)
            .await
            .0,
        200
    );
    // Listing assignments; deleting takes the access away again.
    let (s, _, v) = c.call(Method::GET, &format!("/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=principalId%20eq%20'{principal}'", c.sub), Some(&t), None).await;
    assert_eq!((s, v["value"].as_array().unwrap().len()), (200, 2));
    for n in [&name, &sub_reader] {
        let scope = if n == &name {
            rg_scope.clone()
        } else {
            format!("/subscriptions/{}", c.sub)
        };
        let (s, _, _) = c.call(Method::DELETE, &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{n}?api-version=2022-04-01"), Some(&t), None).await;
        assert_eq!(s, 200);
    }
    assert_eq!(
        c.call(Method::GET, &rg("rg-data"), Some(&wi), None).await.0,
        403
    );
    // Role definitions.
    let (s, _, v) = c.call(Method::GET, &format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&$filter=roleName%20eq%20'Reader'", c.sub), Some(&t), None).await;
    assert_eq!((s, v["value"][0]["name"].as_str()), (200, Some(reader)));
}

#[tokio::test]
async fn api_versions_are_checked_per_resource_type_with_arms_texts() {
    let c = TestCloud::start().await;
    let t = c.admin_token().await;
    c.create_identity("mi-versions").await;
    let sub = format!("/subscriptions/{}", c.sub);
    let rg = format!("{sub}/resourcegroups/rg-airflow");
    let identity = c.identity_path("mi-versions");
    let cases: [(&str, &str, &str, &str, &str); 7] = [
        // (path, a version it serves, one it does not, code, text)
        (
            &sub,
            "2022-12-01",
            "2099-01-01",
            "InvalidApiVersionParameter",
            "The api-version '2099-01-01' is invalid. The supported versions are '2025-04-01,2024-11-01,",
        ),
        (
            &rg,
            "2022-09-01",
            "2023-01-31",
            "InvalidApiVersionParameter",
            "The api-version '2023-01-31' is invalid. The supported versions are '",
        ),
        (
            &identity,
            "2018-11-30",
            "2022-09-01",
            "NoRegisteredProviderFound",
            "No registered resource provider found for location 'eastus' and API version '2022-09-01' for type 'userAssignedIdentities'. The supported api-versions are '2015-08-31-preview, 2018-11-30,",
        ),
        (
            &format!("{identity}/federatedIdentityCredentials"),
            "2023-01-31",
            "2018-11-30",
            "NoRegisteredProviderFound",
            "for type 'userAssignedIdentities/federatedIdentityCredentials'. The supported api-versions are '2022-01-31-preview,",
        ),
        (
            &format!("{rg}/providers/Microsoft.Authorization/roleAssignments"),
            "2022-04-01",
            "2023-01-31",
            "NoRegisteredProviderFound",
            "No registered resource provider found for location 'global' and API version '2023-01-31' for type 'roleAssignments'.",
        ),
        (
            &format!("{sub}/providers/Microsoft.Authorization/roleDefinitions"),
            "2022-04-01",
            "2022-09-01",
            "NoRegisteredProviderFound",
            "for type 'roleDefinitions'. The supported api-versions are '",
        ),
        (
            &format!("{sub}/resourcegroups"),
            "2021-04-01",
            "2021-04-01-preview",
            "InvalidApiVersionParameter",
            "The api-version '2021-04-01-preview' is invalid.",
        ),
    ];
    for (path, good, bad, code, text) in cases {
        let (s, _, v) = c
            .call(
                Method::GET,
                &format!("{path}?api-version={good}"),
                Some(&t),
                None,
            )
            .await;
        assert_eq!(s, 200, "{path} at {good}: {v}");
        let (s, _, v) = c
            .call(
                Method::GET,
                &format!("{path}?api-version={bad}"),
                Some(&t),
                None,
            )
            .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (400, Some(code)),
            "{path} at {bad}: {v}"
        );
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(text), "{path} at {bad}: {message}");
    }
    // A PUT is routed by the location in its body.
    let (s, _, v) = c
        .call(
            Method::PUT,
            &format!("{}?api-version=2099-01-01", c.identity_path("mi-westeu")),
            Some(&t),
            Some(&json!({"location": "westeurope"})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("for location 'westeurope' and API version '2099-01-01'"),
        "{v}"
    );
}
