//! The Azure CLI itself (PyPI `azure-cli`, in `.venv-az`) against the real server: `az cloud
//! register` with endpoint discovery (`/metadata/endpoints`), `az login --service-principal
//! --federated-token`, the seed's `az identity federated-credential create` loop as the seed
//! writes it, `az identity show`, `az role assignment create` and `list`, and a write refused
//! for an identity without permission. The CLI's own network habits are kept on loopback: its
//! telemetry is off and its first-run version check is answered from the config directory.

use reqwest::Method;
use serde_json::json;

use crate::az::{Az, federated_operator as operator};
use crate::common::*;

#[tokio::test]
async fn the_azure_cli_registers_wid_signs_in_and_runs_the_seed() {
    let c = TestCloud::start().await;
    let az = Az::new(&c.home.ca_cert()).await;

    // The operator: Owner of the subscription, signing in with a federated token.
    let (deployer, deployer_principal) = operator(&c, "deployer").await;
    let subscription = format!("/subscriptions/{}", c.sub);
    c.assign_role("Owner", &deployer_principal, &subscription)
        .await;

    // Endpoint discovery through /metadata/endpoints.
    az.ok(&[
        "cloud",
        "register",
        "-n",
        "wid",
        "--endpoint-resource-manager",
        &c.endpoint,
    ])
    .await;
    let cloud = az.json(&["cloud", "show", "-n", "wid"]).await;
    assert_eq!(
        cloud["endpoints"]["activeDirectory"],
        format!("{}/", c.endpoint)
    );
    assert_eq!(cloud["endpoints"]["resourceManager"], c.endpoint);
    assert_eq!(
        cloud["endpoints"]["activeDirectoryResourceId"],
        "https://management.core.windows.net/"
    );
    az.ok(&["cloud", "set", "-n", "wid"]).await;
    az.ok(&["config", "set", "core.instance_discovery=false"])
        .await;

    let token = c.sa_token("ci", "deployer");
    let accounts = az
        .json(&[
            "login",
            "--service-principal",
            "-u",
            &deployer,
            "-t",
            &c.tenant,
            "--federated-token",
            &token,
        ])
        .await;
    assert_eq!(accounts[0]["id"], c.sub.as_str(), "{accounts}");
    assert_eq!(accounts[0]["cloudName"], "wid");
    assert_eq!(accounts[0]["user"]["type"], "servicePrincipal");
    let access = az.json(&["account", "get-access-token"]).await;
    let claims = claims_of(access["accessToken"].as_str().unwrap());
    assert_eq!(claims["appid"], deployer.as_str());
    assert_eq!(claims["aud"], "https://management.core.windows.net/");

    // The seed's steps: the identity, then its federated credentials in the seed's loop.
    az.ok(&["identity", "create", "-g", "rg-airflow", "-n", "airflow-mi"])
        .await;
    let issuer = c.issuer();
    let seed = format!(
        r#"workloads=( scheduler triggerer worker )
for workload in "${{workloads[@]}}"; do
    az identity federated-credential create --name airflow-$workload --identity-name airflow-mi --resource-group rg-airflow --issuer {issuer} --subject system:serviceaccount:airflow:airflow-$workload
done
az identity federated-credential create --name airflow --identity-name airflow-mi --resource-group rg-airflow --issuer {issuer} --subject system:serviceaccount:airflow:airflow-api-server"#
    );
    let path = format!(
        "{}:{}",
        az.bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = tokio::process::Command::new("bash")
        .args(["-e", "-c", &seed])
        .env("PATH", path)
        .env("AZURE_CONFIG_DIR", az.config.path())
        .env("REQUESTS_CA_BUNDLE", &az.ca)
        .env("AZURE_CORE_COLLECT_TELEMETRY", "false")
        .env("AZURE_CORE_SURVEY_MESSAGE", "false")
        .env("AZURE_CORE_OUTPUT", "none")
        .output()
        .await
        .unwrap();
    assert!(
        o.status.success(),
        "the seed's loop: {}",
        String::from_utf8_lossy(&o.stderr)
    );

    // The portal's Properties, through az identity show.
    let shown = az
        .json(&["identity", "show", "-g", "rg-airflow", "-n", "airflow-mi"])
        .await;
    let (_, ident) = c
        .arm(Method::GET, &c.identity_path("airflow-mi"), None)
        .await;
    assert_eq!(shown["name"], "airflow-mi");
    assert_eq!(shown["resourceGroup"], "rg-airflow");
    assert_eq!(shown["tenantId"], c.tenant.as_str());
    assert_eq!(shown["clientId"], ident["properties"]["clientId"]);
    assert_eq!(shown["principalId"], ident["properties"]["principalId"]);
    let fics = az
        .json(&[
            "identity",
            "federated-credential",
            "list",
            "--identity-name",
            "airflow-mi",
            "-g",
            "rg-airflow",
        ])
        .await;
    let mut subjects: Vec<&str> = fics
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["subject"].as_str().unwrap())
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "system:serviceaccount:airflow:airflow-api-server",
            "system:serviceaccount:airflow:airflow-scheduler",
            "system:serviceaccount:airflow:airflow-triggerer",
            "system:serviceaccount:airflow:airflow-worker",
        ]
    );
    for f in fics.as_array().unwrap() {
        assert_eq!(f["issuer"], issuer.as_str());
        assert_eq!(f["audiences"], json!(["api://AzureADTokenExchange"]));
    }

    // Role assignments: Reader on the resource group for the new identity, named by its
    // client id as users do (az resolves it through Microsoft Graph, which wid serves), then
    // the list by assignee (az fills the principal's name through Graph too).
    let mi_principal = shown["principalId"].as_str().unwrap();
    let mi_client = shown["clientId"].as_str().unwrap();
    let scope = format!("/subscriptions/{}/resourceGroups/rg-airflow", c.sub);
    let ra = az
        .json(&[
            "role",
            "assignment",
            "create",
            "--assignee",
            mi_client,
            "--role",
            "Reader",
            "--scope",
            &scope,
        ])
        .await;
    assert_eq!(ra["principalId"], mi_principal);
    assert!(
        ra["roleDefinitionId"]
            .as_str()
            .unwrap()
            .ends_with("acdd72a7-3385-48ef-bd42-f606fba81ae7"),
        "{ra}"
    );
    let listed = az
        .json(&[
            "role",
            "assignment",
            "list",
            "--assignee",
            mi_client,
            "--scope",
            &scope,
        ])
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["principalId"], mi_principal, "{listed}");
    assert_eq!(listed[0]["roleDefinitionName"], "Reader", "{listed}");
    assert_eq!(listed[0]["principalName"], mi_client, "{listed}");
    assert_eq!(listed[0]["scope"], scope.as_str(), "{listed}");
    // The object-id form needs no lookup at all.
    let by_object = az
        .json(&[
            "role",
            "assignment",
            "list",
            "--assignee",
            mi_principal,
            "--scope",
            &scope,
            "--fill-principal-name",
            "false",
        ])
        .await;
    assert_eq!(by_object.as_array().unwrap().len(), 1, "{by_object}");

    // An identity that may only read signs in, and its write is refused with ARM's error.
    let (stranger, stranger_principal) = operator(&c, "stranger").await;
    c.assign_role("Reader", &stranger_principal, &subscription)
        .await;
    az.ok(&["logout"]).await;
    az.ok(&[
        "login",
        "--service-principal",
        "-u",
        &stranger,
        "-t",
        &c.tenant,
        "--federated-token",
        &c.sa_token("ci", "stranger"),
    ])
    .await;
    let o = az
        .run(&[
            "identity",
            "federated-credential",
            "create",
            "--name",
            "sneaky",
            "--identity-name",
            "airflow-mi",
            "--resource-group",
            "rg-airflow",
            "--issuer",
            &issuer,
            "--subject",
            "system:serviceaccount:evil:sa",
        ])
        .await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "the write was refused");
    assert!(
        err.contains("AuthorizationFailed")
            && err.contains(&stranger_principal)
            && err.contains("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write"),
        "{err}"
    );
    let (_, after) = c
        .arm(
            Method::GET,
            &format!(
                "{}/federatedIdentityCredentials",
                c.identity_path("airflow-mi")
            ),
            None,
        )
        .await;
    assert_eq!(
        after["value"].as_array().unwrap().len(),
        4,
        "nothing was written: {after}"
    );
}
