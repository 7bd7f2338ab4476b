//! `GET /metadata/identity/oauth2/token`: a token for one of the host's managed identities.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::ImdsError;
use crate::state::CloudState;
use crate::sts::{TokenSubject, sign_access_token};

/// Which identity a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Selector {
    Only,
    ClientId(String),
    ObjectId(String),
    ResourceId(String),
}

/// The parsed query: api-version, resource and the identity.
#[derive(Debug)]
struct TokenQuery {
    resource: String,
    selector: Selector,
}

fn parse(query: Option<&str>) -> Result<TokenQuery, ImdsError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    let one = |name: &str| -> Result<Option<String>, ImdsError> {
        let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        match (values.next(), values.next()) {
            (Some(_), Some(_)) => Err(ImdsError::ConflictingIdentityParameters(format!(
                "'{name}' is given twice"
            ))),
            (v, _) => Ok(v.filter(|v| !v.is_empty()).cloned()),
        }
    };
    let version = one("api-version")?.ok_or(ImdsError::MissingApiVersion)?;
    if !super::API_VERSIONS.contains(&version.as_str()) {
        return Err(ImdsError::UnsupportedApiVersion(version));
    }
    let resource = one("resource")?.ok_or(ImdsError::MissingResource)?;
    let mut named = Vec::new();
    if let Some(v) = one("client_id")? {
        named.push(Selector::ClientId(v));
    }
    if let Some(v) = one("object_id")? {
        named.push(Selector::ObjectId(v));
    }
    if let Some(v) = one("msi_res_id")? {
        named.push(Selector::ResourceId(v));
    }
    let selector = match named.len() {
        0 => Selector::Only,
        1 => named.remove(0),
        _ => {
            return Err(ImdsError::ConflictingIdentityParameters(
                "more than one is given".into(),
            ));
        }
    };
    Ok(TokenQuery { resource, selector })
}

fn resource_id(i: &wid_store::Identity) -> String {
    format!(
        "/subscriptions/{}/resourcegroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
        i.subscription_id, i.resource_group, i.name
    )
}

/// Picks the identity a request names among the host's.
fn select(
    identities: Vec<wid_store::Identity>,
    selector: &Selector,
) -> Result<wid_store::Identity, ImdsError> {
    let mut matching: Vec<wid_store::Identity> = identities
        .into_iter()
        .filter(|i| match selector {
            Selector::Only => true,
            Selector::ClientId(c) => i.client_id.eq_ignore_ascii_case(c),
            Selector::ObjectId(o) => i.principal_id.eq_ignore_ascii_case(o),
            Selector::ResourceId(r) => resource_id(i).eq_ignore_ascii_case(r.trim_end_matches('/')),
        })
        .collect();
    match matching.len() {
        0 => Err(ImdsError::IdentityNotFound),
        1 => Ok(matching.remove(0)),
        _ => Err(ImdsError::MultipleIdentities),
    }
}

/// The handler: checks the header and query, finds the identity, signs its token.
pub async fn token(
    State(s): State<CloudState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match issue(&s, &headers, query.as_deref()).await {
        Ok(body) => Json(body).into_response(),
        Err(e) => {
            tracing::info!(error = %e, "managed identity token request refused");
            e.into_response()
        }
    }
}

async fn issue(
    s: &CloudState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<serde_json::Value, ImdsError> {
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        return Err(ImdsError::MissingMetadataHeader);
    }
    let q = parse(query)?;
    let identities = s
        .store
        .list_identities(&s.defaults.subscription_id, None)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "store failed during a managed identity token request");
            ImdsError::Internal
        })?;
    let identity = select(identities, &q.selector)?;
    let now = s.clock.now();
    let resource = q.resource.clone();
    crate::sts::resolve_resource(s, &identity.tenant_id, &resource)
        .await
        .map_err(|e| match e {
            wid_model::aadsts::Aadsts::TransientError => ImdsError::Internal,
            e => ImdsError::Entra(e),
        })?;
    let issued = sign_access_token(
        s,
        &identity.tenant_id,
        &TokenSubject::managed_identity(&identity),
        resource.trim_end_matches('/').to_string(),
        now,
    )
    .map_err(|_| ImdsError::Internal)?;
    let expires_in = (issued.expires_on - now).to_string();
    Ok(json!({
        "access_token": issued.access_token.expose_str(),
        "client_id": identity.client_id,
        "expires_in": expires_in,
        "expires_on": issued.expires_on.to_string(),
        "ext_expires_in": expires_in,
        "not_before": issued.not_before.to_string(),
        "resource": resource,
        "token_type": "Bearer",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(name: &str, client: &str, principal: &str) -> wid_store::Identity {
        wid_store::Identity {
            principal_id: principal.into(),
            client_id: client.into(),
            tenant_id: "t".into(),
            subscription_id: "s".into(),
            resource_group: "rg-Airflow".into(),
            name: name.into(),
            location: "eastus".into(),
            tags: "{}".into(),
        }
    }

    #[test]
    fn query_rules() {
        let ok = parse(Some("api-version=2018-02-01&resource=https%3A%2F%2Fx%2F")).unwrap();
        assert_eq!(ok.resource, "https://x/");
        assert_eq!(ok.selector, Selector::Only);
        assert_eq!(
            parse(Some("resource=x")).unwrap_err(),
            ImdsError::MissingApiVersion
        );
        assert_eq!(
            parse(Some("api-version=2099-01-01&resource=x")).unwrap_err(),
            ImdsError::UnsupportedApiVersion("2099-01-01".into())
        );
        assert_eq!(
            parse(Some("api-version=2018-02-01")).unwrap_err(),
            ImdsError::MissingResource
        );
        assert!(matches!(
            parse(Some(
                "api-version=2018-02-01&resource=x&client_id=a&object_id=b"
            )),
            Err(ImdsError::ConflictingIdentityParameters(_))
        ));
        assert!(matches!(
            parse(Some("api-version=2018-02-01&resource=x&resource=y")),
            Err(ImdsError::ConflictingIdentityParameters(_))
        ));
        assert_eq!(parse(None).unwrap_err(), ImdsError::MissingApiVersion);
    }

    #[test]
    fn selection() {
        let all = || vec![identity("a", "C1", "P1"), identity("b", "c2", "p2")];
        assert_eq!(
            select(all(), &Selector::ClientId("c1".into()))
                .unwrap()
                .name,
            "a"
        );
        assert_eq!(
            select(all(), &Selector::ObjectId("P2".into()))
                .unwrap()
                .name,
            "b"
        );
        let rid = "/subscriptions/s/resourceGroups/rg-airflow/providers/Microsoft.ManagedIdentity/userAssignedIdentities/B";
        assert_eq!(
            select(all(), &Selector::ResourceId(rid.into()))
                .unwrap()
                .name,
            "b"
        );
        assert_eq!(
            select(all(), &Selector::Only).unwrap_err(),
            ImdsError::MultipleIdentities
        );
        assert_eq!(
            select(vec![identity("a", "c", "p")], &Selector::Only)
                .unwrap()
                .name,
            "a"
        );
        assert_eq!(
            select(vec![], &Selector::Only).unwrap_err(),
            ImdsError::IdentityNotFound
        );
        assert_eq!(
            select(all(), &Selector::ClientId("nope".into())).unwrap_err(),
            ImdsError::IdentityNotFound
        );
    }
}
