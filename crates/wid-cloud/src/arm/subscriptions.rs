//! `GET /subscriptions` and `GET /subscriptions/{s}` (Microsoft.Resources).

use axum::Json;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{ArmError, ArmRequest, subscription_of};
use crate::state::CloudState;

fn subscription_json(s: &wid_store::Subscription) -> Value {
    json!({
        "id": format!("/subscriptions/{}", s.id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": s.id,
        "tenantId": s.tenant_id,
        "displayName": s.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
    })
}

/// `GET /subscriptions`: the subscriptions of the caller's tenant.
pub async fn list(s: &CloudState, req: &ArmRequest) -> Result<Response, ArmError> {
    if req.method != Method::GET {
        return Err(ArmError::method_not_allowed(&req.method));
    }
    let mut subs = Vec::new();
    for sub in s
        .store
        .list_subscriptions(&req.caller.tenant_id)
        .await
        .map_err(ArmError::internal)?
    {
        let mine = s
            .store
            .list_role_assignments(&sub.id, Some(&req.caller.object_id))
            .await
            .map_err(ArmError::internal)?;
        if !mine.is_empty() {
            subs.push(sub);
        }
    }
    let value: Vec<Value> = subs.iter().map(subscription_json).collect();
    let n = value.len();
    Ok(Json(json!({"value": value, "count": {"type": "Total", "value": n}})).into_response())
}

/// `GET /subscriptions/{s}`.
pub async fn get(s: &CloudState, req: &ArmRequest, sub: &str) -> Result<Response, ArmError> {
    if req.method != Method::GET {
        return Err(ArmError::method_not_allowed(&req.method));
    }
    let found = subscription_of(s, req, sub).await?;
    Ok(Json(subscription_json(&found)).into_response())
}
