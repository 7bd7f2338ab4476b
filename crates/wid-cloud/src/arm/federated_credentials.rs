//! `.../userAssignedIdentities/{name}/federatedIdentityCredentials[/{fic}]`: PUT, GET, LIST
//! with `$top`/`$skiptoken`, DELETE, with ARM's rules and its refusal of concurrent writes
//! on one identity.

use axum::Json;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wid_model::arm_path::{fic_id, identity_id};
use wid_model::federated::{
    FicProperties, MAX_FICS_PER_IDENTITY, duplicate_issuer_subject, too_many_fics, validate_fic,
    validate_fic_name,
};
use wid_store::{FederatedCredential, FicWrite, Identity};

use super::resource_groups::require_group;
use super::{ArmError, ArmRequest, subscription_of};
use crate::state::CloudState;

const TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials";

fn fic_json(i: &Identity, f: &FederatedCredential) -> Value {
    json!({
        "id": fic_id(&i.subscription_id, &i.resource_group, &i.name, &f.name),
        "name": f.name,
        "type": TYPE,
        "properties": {"issuer": f.issuer, "subject": f.subject, "audiences": [f.audience]},
    })
}

async fn parent(
    s: &CloudState,
    req: &ArmRequest,
    sub: &str,
    rg: &str,
    identity: &str,
) -> Result<Identity, ArmError> {
    let sub_row = subscription_of(s, req, sub).await?;
    let group = require_group(s, &sub_row.id, rg).await?;
    s.store.get_identity(&sub_row.id, &group.name, identity).await.map_err(ArmError::internal)?.ok_or_else(|| {
        ArmError::not_found(
            "ParentResourceNotFound",
            format!(
                "Failed to perform '{}' on resource(s) of type 'userAssignedIdentities/federatedIdentityCredentials', because the parent resource '{}' could not be found.",
                if req.method == Method::GET { "read" } else { "write" },
                identity_id(sub, rg, identity)
            ),
        )
    })
}

/// `GET .../federatedIdentityCredentials?$top=N&$skiptoken=T`.
pub async fn list(
    s: &CloudState,
    req: &ArmRequest,
    sub: &str,
    rg: &str,
    identity: &str,
) -> Result<Response, ArmError> {
    if req.method != Method::GET {
        return Err(ArmError::method_not_allowed(&req.method));
    }
    let i = parent(s, req, sub, rg, identity).await?;
    let top = match req.query.get("$top") {
        None => None,
        Some(t) => match t.parse::<usize>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                return Err(ArmError::bad_request(
                    "BadRequest",
                    format!(
                        "The value '{t}' of the query parameter '$top' is invalid: it must be an integer of at least 1."
                    ),
                ));
            }
        },
    };
    let after = match req.query.get("$skiptoken") {
        None => None,
        Some(t) => Some(
            wid_jose::b64url_decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    ArmError::bad_request(
                        "BadRequest",
                        format!("The value '{t}' of the query parameter '$skiptoken' is invalid."),
                    )
                })?,
        ),
    };
    let all = s
        .store
        .list_fics(&i.principal_id)
        .await
        .map_err(ArmError::internal)?;
    let rest: Vec<&FederatedCredential> = all
        .iter()
        .filter(|f| after.as_ref().is_none_or(|a| f.name.to_lowercase() > *a))
        .collect();
    let page: Vec<&FederatedCredential> = match top {
        Some(n) => rest.iter().take(n).copied().collect(),
        None => rest.clone(),
    };
    let mut body = json!({"value": page.iter().map(|f| fic_json(&i, f)).collect::<Vec<_>>()});
    if let (Some(n), Some(last)) = (top, page.last())
        && rest.len() > n
    {
        let token = wid_jose::b64url(last.name.to_lowercase().as_bytes());
        body["nextLink"] = format!(
            "{}{}?api-version={}&$top={n}&$skiptoken={token}",
            req.base, req.path, req.api_version
        )
        .into();
    }
    Ok(Json(body).into_response())
}

/// `PUT|GET|DELETE` one federated credential.
pub async fn one(
    s: &CloudState,
    req: &ArmRequest,
    sub: &str,
    rg: &str,
    identity: &str,
    name: &str,
) -> Result<Response, ArmError> {
    let i = parent(s, req, sub, rg, identity).await?;
    match req.method {
        Method::GET => {
            let f = s
                .store
                .get_fic(&i.principal_id, name)
                .await
                .map_err(ArmError::internal)?;
            let f = f.ok_or_else(|| {
                ArmError::not_found(
                    "ResourceNotFound",
                    format!(
                        "The Resource '{TYPE}/{}/{name}' under resource group '{}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
                        i.name, i.resource_group
                    ),
                )
            })?;
            Ok(Json(fic_json(&i, &f)).into_response())
        }
        Method::PUT => put(s, req, &i, name).await,
        Method::DELETE => {
            let (_guard, mut w) = begin_write(s, &i).await?;
            let existed = w.delete(name).await.map_err(ArmError::internal)?;
            finish(s, w).await?;
            Ok(if existed {
                StatusCode::OK
            } else {
                StatusCode::NO_CONTENT
            }
            .into_response())
        }
        _ => Err(ArmError::method_not_allowed(&req.method)),
    }
}

/// Takes the identity for one credential write: this process's lock, then the store's
/// (which serializes writes through every replica on one PostgreSQL). Either one held by
/// another write is ARM's 409.
async fn begin_write(
    s: &CloudState,
    i: &Identity,
) -> Result<(tokio::sync::OwnedMutexGuard<()>, FicWrite), ArmError> {
    let guard = s
        .fic_lock(&i.principal_id)
        .try_lock_owned()
        .map_err(|_| concurrent(i))?;
    let w = s
        .store
        .begin_fic_write(&i.principal_id)
        .await
        .map_err(ArmError::internal)?
        .ok_or_else(|| concurrent(i))?;
    Ok((guard, w))
}

/// Ends a write: on PostgreSQL the identity stays taken for the write's hold (other
/// replicas see ARM's slow write); on SQLite the transaction commits first, so that the
/// one database writer is not held, and this process's lock covers the hold.
async fn finish(s: &CloudState, w: FicWrite) -> Result<(), ArmError> {
    if s.store.engine() == "postgres" {
        hold(s).await;
        w.commit().await.map_err(ArmError::internal)
    } else {
        w.commit().await.map_err(ArmError::internal)?;
        hold(s).await;
        Ok(())
    }
}

fn concurrent(i: &Identity) -> ArmError {
    {
        ArmError::conflict(
            "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
            format!(
                "Too many Federated Identity Credentials are written concurrently for the managed identity '{}'. Concurrent Federated Identity Credentials writes under the same managed identity are not supported.",
                identity_id(&i.subscription_id, &i.resource_group, &i.name).to_lowercase()
            ),
        )
    }
}

async fn hold(s: &CloudState) {
    if !s.config.fic_write_hold.is_zero() {
        tokio::time::sleep(s.config.fic_write_hold).await;
    }
}

async fn put(
    s: &CloudState,
    req: &ArmRequest,
    i: &Identity,
    name: &str,
) -> Result<Response, ArmError> {
    validate_fic_name(name)?;
    let body: Value = req.json()?;
    let props: Option<FicProperties> = match body.get("properties") {
        Some(Value::Object(m)) if !m.is_empty() => Some(
            serde_json::from_value(Value::Object(m.clone())).map_err(|e| {
                ArmError::bad_request(
                    "InvalidRequestContent",
                    format!(
                        "The request content was invalid and could not be deserialized: '{e}'."
                    ),
                )
            })?,
        ),
        _ => None,
    };
    let valid = validate_fic(props.as_ref())?;
    let (_guard, mut w) = begin_write(s, i).await?;
    let existing = w.list().await.map_err(ArmError::internal)?;
    let same_name = existing.iter().find(|f| f.name.eq_ignore_ascii_case(name));
    if let Some(other) = existing.iter().find(|f| {
        !f.name.eq_ignore_ascii_case(name) && f.issuer == valid.issuer && f.subject == valid.subject
    }) {
        return Err(duplicate_issuer_subject(&other.name).into());
    }
    if same_name.is_none() && existing.len() >= MAX_FICS_PER_IDENTITY {
        let id = identity_id(&i.subscription_id, &i.resource_group, &i.name);
        return Err(too_many_fics(&id, existing.len()).into());
    }
    let f = FederatedCredential {
        identity_principal_id: i.principal_id.clone(),
        name: same_name
            .map(|f| f.name.clone())
            .unwrap_or_else(|| name.to_string()),
        issuer: valid.issuer,
        subject: valid.subject,
        audience: valid.audience,
        created_at: s.clock.now(),
    };
    let created = w.upsert(&f).await.map_err(|e| match e {
        wid_store::StoreError::Conflict(_) => duplicate_issuer_subject("another credential").into(),
        e => ArmError::internal(e),
    })?;
    finish(s, w).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut resp = (status, Json(fic_json(i, &f))).into_response();
    if created {
        let loc = format!("{}{}?api-version={}", req.base, req.path, req.api_version);
        if let Ok(v) = HeaderValue::from_str(&loc) {
            resp.headers_mut().insert("location", v);
        }
    }
    Ok(resp)
}
