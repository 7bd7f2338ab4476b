//! First start: a default tenant, subscription and resource group, and a local
//! administrator application whose client secret lets wid's own CLI call ARM.

use wid_model::ids::new_guid;
use wid_model::secret::Secret;
use wid_store::{Application, ResourceGroup, Store, StoreError, Subscription, Tenant};

/// The resource group created on first start.
pub const DEFAULT_RESOURCE_GROUP: &str = "rg-airflow";
/// The region of default resources.
pub const DEFAULT_LOCATION: &str = "eastus";

/// What first start created; later starts read it back.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// The default tenant id.
    pub tenant_id: String,
    /// The default subscription id.
    pub subscription_id: String,
    /// The default resource group.
    pub resource_group: String,
    /// The administrator application's client id.
    pub admin_client_id: String,
    /// The administrator's client secret, present only on the start that created it
    /// (the store keeps only its hash). Handle as a secret.
    pub new_admin_secret: Option<Secret>,
}

/// Creates the defaults if the store has none, else reads them.
pub async fn ensure_defaults(store: &Store, now: i64) -> Result<Defaults, StoreError> {
    if let (Some(t), Some(s), Some(a)) = (
        store.get_meta("default_tenant").await?,
        store.get_meta("default_subscription").await?,
        store.get_meta("admin_client_id").await?,
    ) {
        return Ok(Defaults {
            tenant_id: t,
            subscription_id: s,
            resource_group: DEFAULT_RESOURCE_GROUP.into(),
            admin_client_id: a,
            new_admin_secret: None,
        });
    }
    let tenant_id = new_guid();
    let subscription_id = new_guid();
    let admin_client_id = new_guid();
    let secret: Secret = Secret::new(format!("wid~{}", wid_jose::random_b64url(30)));
    store
        .insert_tenant(
            &Tenant {
                id: tenant_id.clone(),
                display_name: "wid local".into(),
            },
            now,
        )
        .await?;
    store
        .insert_subscription(
            &Subscription {
                id: subscription_id.clone(),
                tenant_id: tenant_id.clone(),
                display_name: "wid local subscription".into(),
            },
            now,
        )
        .await?;
    store
        .upsert_resource_group(
            &ResourceGroup {
                subscription_id: subscription_id.clone(),
                name: DEFAULT_RESOURCE_GROUP.into(),
                location: DEFAULT_LOCATION.into(),
                tags: "{}".into(),
            },
            now,
        )
        .await?;
    store
        .insert_application(
            &Application {
                client_id: admin_client_id.clone(),
                tenant_id: tenant_id.clone(),
                principal_id: new_guid(),
                display_name: "wid-admin".into(),
                secret_sha256: wid_jose::sha256_hex(secret.expose().as_bytes()),
            },
            now,
        )
        .await?;
    store.set_meta("default_tenant", &tenant_id).await?;
    store
        .set_meta("default_subscription", &subscription_id)
        .await?;
    store.set_meta("admin_client_id", &admin_client_id).await?;
    Ok(Defaults {
        tenant_id,
        subscription_id,
        resource_group: DEFAULT_RESOURCE_GROUP.into(),
        admin_client_id,
        new_admin_secret: Some(secret),
    })
}

/// Gives the local administrator the Owner role on the default subscription, once (also on
/// data directories created before role assignments existed).
pub async fn ensure_admin_owner(store: &Store, d: &Defaults, now: i64) -> Result<(), StoreError> {
    let Some(principal) = store.application_principal(&d.admin_client_id).await? else {
        return Ok(());
    };
    let scope = format!("/subscriptions/{}", d.subscription_id);
    let owner = wid_model::rbac::RoleDefinition::find("Owner")
        .map(|r| r.id)
        .unwrap_or_default();
    if store
        .find_role_assignment(&scope, owner, &principal)
        .await?
        .is_some()
    {
        return Ok(());
    }
    store
        .insert_role_assignment(
            &wid_store::RoleAssignment {
                name: new_guid(),
                subscription_id: d.subscription_id.clone(),
                scope,
                role_definition_id: owner.to_string(),
                principal_id: principal,
                principal_type: "ServicePrincipal".into(),
            },
            now,
        )
        .await
}
