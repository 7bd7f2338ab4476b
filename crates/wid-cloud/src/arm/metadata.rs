//! `GET /metadata/endpoints`: ARM's cloud metadata document, which `az cloud register
//! --endpoint-resource-manager`, Terraform's `metadata_host` and the Go SDK read to learn a
//! cloud's login endpoint, ARM audiences and resource ids. `api-version=2022-09-01` answers the
//! one cloud served here as an object; the older versions answer a list of clouds.
//!
//! wid serves the control plane (login, ARM) itself, and names itself for Microsoft Graph too,
//! so that a client that calls Graph (the az CLI resolving `--assignee`) is served by wid's
//! Graph (`graph/`) instead of leaving for graph.microsoft.com; tokens for wid's own URL are
//! Graph tokens. The other resource ids are the real first-party
//! ones, since tokens for them come from wid's token service, and the DNS suffixes are the
//! public cloud's, since wid plays no data plane (local stand-ins such as Azurite are reached
//! through connection strings, not suffixes).

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wid_model::cloud::ARM_AUDIENCES;

use super::ArmError;
use crate::state::CloudState;

/// The versions of the document: the object shape first, then the list shape.
pub const API_VERSIONS: [&str; 4] = ["2022-09-01", "2020-06-01", "2019-05-01", "2018-01-01"];

/// The cloud's name in the document.
pub const CLOUD_NAME: &str = "wid";

/// The document for the cloud at `base` (`https://host:port`).
pub fn document(base: &str) -> Value {
    let base = format!("{}/", base.trim_end_matches('/'));
    json!({
        "portal": base,
        "authentication": {
            "loginEndpoint": base,
            "audiences": [ARM_AUDIENCES[0], ARM_AUDIENCES[2]],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "media": "https://rest.media.azure.net",
        "graphAudience": base,
        "graph": base,
        "name": CLOUD_NAME,
        "suffixes": {
            "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
            "acrLoginServer": "azurecr.io",
            "sqlServerHostname": "database.windows.net",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "keyVaultDns": "vault.azure.net",
            "storage": "core.windows.net",
            "azureFrontDoorEndpointSuffix": "azurefd.net",
            "storageSyncEndpointSuffix": "afs.azure.net",
            "mhsmDns": "managedhsm.azure.net",
            "mysqlServerEndpoint": "mysql.database.azure.com",
            "postgresqlServerEndpoint": "postgres.database.azure.com",
            "mariadbServerEndpoint": "mariadb.database.azure.com",
            "synapseAnalytics": "dev.azuresynapse.net",
            "attestationEndpoint": "attest.azure.net",
        },
        "batch": "https://batch.core.windows.net/",
        "resourceManager": base,
        "vmImageAliasDoc": "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/main/arm-compute/quickstart-templates/aliases.json",
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "sqlManagement": "https://management.core.windows.net:8443/",
        "microsoftGraphResourceId": base,
        "appInsightsResourceId": "https://api.applicationinsights.io",
        "appInsightsTelemetryChannelResourceId": "https://dc.applicationinsights.azure.com/v2/track",
        "attestationResourceId": "https://attest.azure.net",
        "synapseAnalyticsResourceId": "https://dev.azuresynapse.net",
        "logAnalyticsResourceId": "https://api.loganalytics.io",
        "ossrDbmsResourceId": "https://ossrdbms-aad.database.windows.net",
    })
}

/// The handler. It needs no token, as ARM's does not.
pub async fn endpoints(
    State(s): State<CloudState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let Some(version) = pairs
        .into_iter()
        .find(|(k, _)| k == "api-version")
        .map(|(_, v)| v)
    else {
        return ArmError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
        .into_response();
    };
    let doc = document(&crate::sts::authority_base(&s, &headers));
    match version.as_str() {
        "2022-09-01" => Json(doc).into_response(),
        v if API_VERSIONS.contains(&v) => Json(json!([doc])).into_response(),
        v => ArmError::bad_request(
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{v}' is invalid. The supported versions are '{}'.",
                API_VERSIONS.join(",")
            ),
        )
        .into_response(),
    }
}
