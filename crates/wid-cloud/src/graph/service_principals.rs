//! The service principals of the tenant, as Microsoft Graph lists them: what `az role
//! assignment create|list --assignee` and `az ad sp show` look up to turn a client id into the
//! principal id that role assignments name. wid's principals are its managed identities and
//! its applications (the local administrator).
//!
//! `GET /v1.0/servicePrincipals?$filter=...` (`servicePrincipalNames/any(c:c eq '<id>')`,
//! `appId eq '<id>'`, `displayName eq '<name>'`), `GET /v1.0/servicePrincipals/{id}` (object id),
//! and `POST /v1.0/directoryObjects/getByIds`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::GraphError;
use crate::state::CloudState;

/// One service principal, as Graph describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Principal {
    object_id: String,
    app_id: String,
    display_name: String,
    kind: &'static str,
    /// For a managed identity, its ARM resource id (a service principal name, as in Entra).
    resource_id: Option<String>,
}

impl Principal {
    fn names(&self) -> Vec<String> {
        let mut names = vec![self.app_id.clone()];
        names.extend(self.resource_id.clone());
        names
    }

    fn to_json(&self) -> Value {
        json!({
            "@odata.type": "#microsoft.graph.servicePrincipal",
            "id": self.object_id,
            "appId": self.app_id,
            "displayName": self.display_name,
            "servicePrincipalType": self.kind,
            "servicePrincipalNames": self.names(),
            "accountEnabled": true,
        })
    }
}

/// Every principal of the caller's tenant.
async fn principals(s: &CloudState, tenant: &str) -> Result<Vec<Principal>, GraphError> {
    let failed = |e: wid_store::StoreError| {
        tracing::error!(error = %e, "store failed listing service principals");
        GraphError::unavailable()
    };
    let mut out: Vec<Principal> = s
        .store
        .list_identities(&s.defaults.subscription_id, None)
        .await
        .map_err(failed)?
        .into_iter()
        .filter(|i| i.tenant_id == tenant)
        .map(|i| Principal {
            resource_id: Some(format!(
                "/subscriptions/{}/resourcegroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
                i.subscription_id, i.resource_group, i.name
            )),
            object_id: i.principal_id,
            app_id: i.client_id,
            display_name: i.name,
            kind: "ManagedIdentity",
        })
        .collect();
    if let Some(admin) = s
        .store
        .find_application(tenant, &s.defaults.admin_client_id)
        .await
        .map_err(failed)?
    {
        out.push(Principal {
            object_id: admin.principal_id,
            app_id: admin.client_id,
            display_name: admin.display_name,
            kind: "Application",
            resource_id: None,
        });
    }
    Ok(out)
}

/// A `$filter` wid understands: one equality, as the az CLI sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Filter {
    Name(String),
    AppId(String),
    DisplayName(String),
}

fn quoted(s: &str) -> Option<String> {
    let inner = s.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

fn parse_filter(f: &str) -> Result<Filter, GraphError> {
    let f = f.trim();
    let lower = f.to_ascii_lowercase();
    let unsupported = || {
        GraphError::bad_request(format!(
            "Unsupported or invalid query filter clause specified: '{f}'. wid's Graph filters service principals by servicePrincipalNames/any(c:c eq '<id>'), appId eq '<id>' or displayName eq '<name>'."
        ))
    };
    if lower.starts_with("serviceprincipalnames/any(") && f.ends_with(')') {
        let inner = &f["servicePrincipalNames/any(".len()..f.len() - 1];
        let (_, value) = inner.split_once(" eq ").ok_or_else(unsupported)?;
        return quoted(value).map(Filter::Name).ok_or_else(unsupported);
    }
    let (field, value) = f.split_once(" eq ").ok_or_else(unsupported)?;
    let value = quoted(value).ok_or_else(unsupported)?;
    match field.trim() {
        "appId" => Ok(Filter::AppId(value)),
        "displayName" => Ok(Filter::DisplayName(value)),
        _ => Err(unsupported()),
    }
}

impl Filter {
    fn matches(&self, p: &Principal) -> bool {
        match self {
            Filter::Name(n) => p.names().iter().any(|x| x.eq_ignore_ascii_case(n)),
            Filter::AppId(a) => p.app_id.eq_ignore_ascii_case(a),
            Filter::DisplayName(d) => p.display_name == *d,
        }
    }
}

/// The `$filter` of a list: at most one, as OData allows.
fn filter_of(raw: Option<&str>) -> Result<Option<Filter>, GraphError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| GraphError::bad_request(format!("Invalid query string: {e}")))?;
    let mut filters = pairs.iter().filter(|(k, _)| k == "$filter").map(|(_, v)| v);
    match (filters.next(), filters.next()) {
        (Some(_), Some(_)) => Err(GraphError::bad_request(
            "Query option '$filter' was specified more than once, it must be specified at most once.",
        )),
        (Some(f), None) => parse_filter(f).map(Some),
        (None, _) => Ok(None),
    }
}

fn base(s: &CloudState, headers: &HeaderMap) -> String {
    crate::sts::authority_base(s, headers)
}

/// `GET /v1.0/servicePrincipals`.
pub async fn list(
    State(s): State<CloudState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let run = async {
        let caller = super::authenticate(&s, &headers).await?;
        let filter = filter_of(raw.as_deref())?;
        let value: Vec<Value> = principals(&s, &caller.tenant_id)
            .await?
            .iter()
            .filter(|p| filter.as_ref().is_none_or(|f| f.matches(p)))
            .map(Principal::to_json)
            .collect();
        Ok::<_, GraphError>(Json(json!({
            "@odata.context": format!("{}/v1.0/$metadata#servicePrincipals", base(&s, &headers)),
            "value": value,
        })))
    };
    match run.await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /v1.0/servicePrincipals/{id}` by object id.
pub async fn one(
    State(s): State<CloudState>,
    headers: HeaderMap,
    segments: crate::path::Segments,
) -> Response {
    let id = segments.get(0);
    let run = async {
        let caller = super::authenticate(&s, &headers).await?;
        principals(&s, &caller.tenant_id)
            .await?
            .into_iter()
            .find(|p| p.object_id.eq_ignore_ascii_case(&id))
            .map(|p| Json(p.to_json()))
            .ok_or_else(|| GraphError::not_found(&id))
    };
    match run.await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    }
}

/// The body of `getByIds`.
#[derive(Debug, Deserialize)]
pub struct ByIds {
    ids: Vec<String>,
}

/// `POST /v1.0/directoryObjects/getByIds`: the objects among `ids` that exist (users and
/// groups never do here).
pub async fn by_ids(
    State(s): State<CloudState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let run = async {
        let caller = super::authenticate(&s, &headers).await?;
        let body: ByIds = serde_json::from_slice(&body)
            .map_err(|e| GraphError::bad_request(format!("Invalid request body: {e}")))?;
        let all = principals(&s, &caller.tenant_id).await?;
        let value: Vec<Value> = body
            .ids
            .iter()
            .filter_map(|id| all.iter().find(|p| p.object_id.eq_ignore_ascii_case(id)))
            .map(Principal::to_json)
            .collect();
        Ok::<_, GraphError>(Json(json!({
            "@odata.context": format!("{}/v1.0/$metadata#directoryObjects", base(&s, &headers)),
            "value": value,
        })))
    };
    match run.await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_as_the_az_cli_sends_them() {
        assert_eq!(
            parse_filter("servicePrincipalNames/any(c:c eq 'abc')").unwrap(),
            Filter::Name("abc".into())
        );
        assert_eq!(
            parse_filter("appId eq 'x'").unwrap(),
            Filter::AppId("x".into())
        );
        assert_eq!(
            parse_filter("displayName eq 'it''s'").unwrap(),
            Filter::DisplayName("it's".into())
        );
        assert!(parse_filter("startswith(displayName,'a')").is_err());
        assert!(parse_filter("appId eq x").is_err());
    }
}
