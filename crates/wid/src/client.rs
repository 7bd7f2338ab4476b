//! The HTTPS client of the CLI: finds the server (or the real cloud), trusts its CA, gets an
//! ARM token as the local administrator (or, for any other cloud, through the operator's
//! chain: environment, workload identity, managed identity, the Azure CLI's sign-in), and
//! turns ARM error bodies into errors with a remedy.

use std::sync::Arc;

use reqwest::Method;
use serde_json::Value;
use wid_credential::{
    AzureCliCredential, ChainOptions, ClientSecretCredential, CredentialError,
    DefaultAzureCredential, LinkAttempt, OnlyCredential, Pipeline, Secret,
};
use wid_model::rbac::RoleDefinition;
use wid_model::{Clock, CloudProfile};

use crate::home::{Home, HomeError};

/// The endpoint used when nothing else says where the server is.
pub const DEFAULT_ENDPOINT: &str = "https://127.0.0.1:8443";

/// What can go wrong talking to the server or the cloud.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The data directory failed (CA or admin file missing).
    #[error(transparent)]
    Home(#[from] HomeError),
    /// The CA file is not a certificate.
    #[error("{path} is not a PEM certificate: {detail}")]
    BadCa {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// A token could not be had.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// The server could not be reached.
    #[error(
        "cannot reach {url}: {detail}\nhint: is `wid up` running? The CLI looks for it at --endpoint, WID_ENDPOINT, then $WID_HOME/server.json, then {DEFAULT_ENDPOINT}"
    )]
    Unreachable {
        /// The URL.
        url: String,
        /// The transport error.
        detail: String,
    },
    /// ARM answered with an error.
    #[error("{method} {url} failed with HTTP {status} {code}: {message}{hint}")]
    Arm {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// ARM's error code.
        code: String,
        /// ARM's message.
        message: String,
        /// `\nhint: ...` or empty.
        hint: String,
    },
    /// Configuration for a real cloud is missing.
    #[error("{0}")]
    Config(String),
}

/// The remedy for an ARM error: for `AuthorizationFailed`, the role that would grant the
/// action at the scope; else a fixed hint per code.
fn arm_hint(code: &str, message: &str, local: bool) -> String {
    if code == "AuthorizationFailed"
        && let Some(h) = authorization_hint(message)
    {
        return h;
    }
    if !local && matches!(code, "InvalidAuthenticationToken" | "AuthenticationFailed") {
        return "\nhint: the token was refused: check --cloud against where the credential signs in (`wid account show`)".into();
    }
    fixed_hint(code).to_string()
}

/// The text between `start` and the next `'` in `s`.
fn quoted<'a>(s: &'a str, start: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find('\'')? + i;
    Some(&s[i..j])
}

/// ARM's `AuthorizationFailed` names the principal, the action and the scope: say which
/// built-in role grants that action, and the command that assigns it on the resource group
/// (or the scope itself, when it is above one).
pub fn authorization_hint(message: &str) -> Option<String> {
    let principal = quoted(message, "with object id '")?;
    let action = quoted(message, "perform action '")?;
    let scope = quoted(message, "over scope '")?;
    let role = least_privileged_role(action)?;
    let lower = scope.to_ascii_lowercase();
    let at = match lower.find("/resourcegroups/") {
        Some(i) => {
            let rest = &scope[i + "/resourcegroups/".len()..];
            let group = rest.split('/').next().unwrap_or(rest);
            format!("{}/resourceGroups/{group}", &scope[..i])
        }
        None => scope.to_string(),
    };
    Some(format!(
        "\nhint: {principal} needs a role that allows {action} at {scope} or above it; the least built-in one is {role}. Someone who may assign roles there (Owner, User Access Administrator) grants it with: wid role assignment create --assignee {principal} --role '{role}' --scope {at} (or az role assignment create --assignee-object-id {principal} --assignee-principal-type ServicePrincipal --role '{role}' --scope {at})",
        role = role.name
    ))
}

/// The built-in role with the fewest permissions that allows `action`: Reader for reads;
/// else the role with the fewest wildcard patterns, then the fewest actions, then the most
/// exclusions (so Managed Identity Contributor before Contributor before Owner).
pub fn least_privileged_role(action: &str) -> Option<&'static RoleDefinition> {
    let reader = RoleDefinition::find("Reader");
    if action.to_ascii_lowercase().ends_with("/read") && reader.is_some_and(|r| r.allows(action)) {
        return reader;
    }
    wid_model::rbac::BUILT_IN_ROLES
        .iter()
        .filter(|r| r.allows(action))
        .min_by_key(|r| {
            (
                r.actions.iter().filter(|a| a.contains('*')).count(),
                r.actions.len(),
                std::cmp::Reverse(r.not_actions.len()),
            )
        })
}

fn fixed_hint(code: &str) -> &'static str {
    match code {
        "ResourceGroupNotFound" => {
            "\nhint: create it first: `wid group create --name <rg> --location eastus`"
        }
        "ParentResourceNotFound" | "ResourceNotFound" => {
            "\nhint: check the names with `wid identity list` and `wid identity federated-credential list`"
        }
        "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity" => {
            "\nhint: write federated credentials of one identity one at a time; retry this command"
        }
        "InvalidFederatedIdentityCredentialsAudienceLength" => {
            "\nhint: pass exactly one --audiences value (default api://AzureADTokenExchange)"
        }
        "InvalidAuthenticationToken" | "AuthenticationFailed" | "ExpiredAuthenticationToken" => {
            "\nhint: the CLI authenticates as the local administrator from $WID_HOME/admin.json; check WID_HOME points at the server's data directory"
        }
        _ => "",
    }
}

/// Which credential of the operator's chain to use (`--credential`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CredentialKind {
    /// A service principal from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET.
    Env,
    /// A federated token: AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE.
    WorkloadIdentity,
    /// The host's managed identity (IMDS, App Service); AZURE_CLIENT_ID picks a user-assigned one.
    ManagedIdentity,
    /// The Azure CLI's sign-in (`az login`).
    AzureCli,
}

impl CredentialKind {
    /// The name of the chain's link.
    pub fn credential(self) -> &'static str {
        match self {
            CredentialKind::Env => "EnvironmentCredential",
            CredentialKind::WorkloadIdentity => "WorkloadIdentityCredential",
            CredentialKind::ManagedIdentity => "ManagedIdentityCredential",
            CredentialKind::AzureCli => "AzureCliCredential",
        }
    }

    /// The value `--credential` takes.
    pub fn flag(self) -> &'static str {
        match self {
            CredentialKind::Env => "env",
            CredentialKind::WorkloadIdentity => "workload-identity",
            CredentialKind::ManagedIdentity => "managed-identity",
            CredentialKind::AzureCli => "azure-cli",
        }
    }

    /// The kind of a chain link's name.
    pub fn of(credential: &str) -> Option<CredentialKind> {
        [
            CredentialKind::Env,
            CredentialKind::WorkloadIdentity,
            CredentialKind::ManagedIdentity,
            CredentialKind::AzureCli,
        ]
        .into_iter()
        .find(|k| k.credential() == credential)
    }
}

/// What no link of the operator's chain could offer, and how to sign in.
const OPERATOR_HINT: &str = "\nhint: sign in as operators do: `az login` (wid uses the Azure CLI's sign-in, its active cloud and subscription); in a pipeline, a federated token (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE) or a service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET); pick one with --credential env|workload-identity|managed-identity|azure-cli";

/// How the client gets its ARM tokens.
#[derive(Debug, Clone)]
enum Auth {
    /// The local administrator of `admin.json`.
    Admin(ClientSecretCredential),
    /// The operator's chain, and the Azure CLI link of it (for its account).
    Operator {
        chain: DefaultAzureCredential,
        cli: AzureCliCredential,
    },
}

/// What one link of the chain did, as `wid account show` prints it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChainStep {
    /// The credential's name.
    pub credential: String,
    /// `used`, `skipped`, `failed` or `not tried`.
    pub outcome: String,
    /// Why.
    pub reason: String,
}

impl From<LinkAttempt> for ChainStep {
    fn from(a: LinkAttempt) -> Self {
        ChainStep {
            credential: a.credential.to_string(),
            outcome: a.outcome.to_string(),
            reason: a.reason,
        }
    }
}

/// Who the client acts as, as `wid account show` prints it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// The cloud's name.
    pub cloud: String,
    /// Its resource manager.
    pub resource_manager: String,
    /// `--credential`'s value for the credential that gave the token (`admin` locally).
    pub credential: String,
    /// The credential's name (`AzureCliCredential`, ...).
    pub credential_name: String,
    /// The client id (`appid`) the token was issued to.
    pub client_id: String,
    /// The principal (object) id, which role assignments name.
    pub principal_id: String,
    /// A user's name, or the managed identity's resource id, when the token says.
    pub name: Option<String>,
    /// `user`, `servicePrincipal` or `managedIdentity`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The tenant.
    pub tenant_id: String,
    /// The subscription.
    pub subscription_id: String,
    /// Where the subscription came from.
    pub subscription_from: String,
    /// What each link of the chain did.
    pub chain: Vec<ChainStep>,
}

/// Where the CLI talks to: the local stand-in or a real cloud.
#[derive(Debug, Clone)]
pub struct Target {
    /// The cloud profile.
    pub cloud: &'static CloudProfile,
    /// The authority (`https://host[:port]`).
    pub authority: String,
    /// The resource manager base URL.
    pub arm: String,
    /// The tenant.
    pub tenant_id: String,
    /// The subscription.
    pub subscription_id: String,
    /// Where the subscription came from (`--subscription`, `AZURE_SUBSCRIPTION_ID`, ...).
    pub subscription_from: String,
}

/// An authenticated client.
#[derive(Debug, Clone)]
pub struct WidClient {
    /// Where it talks to.
    pub target: Target,
    /// The HTTP client, trusting the local CA when the cloud is local.
    pub http: reqwest::Client,
    auth: Auth,
    token: Arc<tokio::sync::Mutex<Option<Secret>>>,
    clock: Arc<dyn Clock>,
}

/// Resolves the local endpoint: explicit value, else `server.json`, else the default.
pub fn local_endpoint(home: &Home, explicit: Option<&str>) -> String {
    explicit
        .map(String::from)
        .or_else(|| home.server().map(|s| s.endpoint))
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// An HTTP client that trusts `ca_pem` on top of the system roots.
pub fn http_client(ca_pem: Option<&[u8]>, ca_path: &str) -> Result<reqwest::Client, ClientError> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut b = reqwest::Client::builder().connect_timeout(std::time::Duration::from_secs(10));
    if let Some(pem) = ca_pem {
        let cert = reqwest::Certificate::from_pem(pem).map_err(|e| ClientError::BadCa {
            path: ca_path.into(),
            detail: e.to_string(),
        })?;
        b = b.tls_certs_merge([cert]);
    }
    b.build()
        .map_err(|e| ClientError::Config(format!("cannot build the HTTP client: {e}")))
}

impl WidClient {
    /// A client for the local stand-in, as the administrator in `admin.json`.
    pub fn local(
        home: &Home,
        endpoint: &str,
        ca_file: Option<&str>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ClientError> {
        let ca_path = ca_file
            .map(String::from)
            .unwrap_or_else(|| home.ca_cert().display().to_string());
        let ca = home.read(std::path::Path::new(&ca_path))?;
        let http = http_client(Some(&ca), &ca_path)?;
        let admin = home.admin()?;
        let target = Target {
            cloud: &wid_model::cloud::LOCAL,
            authority: endpoint.to_string(),
            arm: endpoint.to_string(),
            tenant_id: admin.tenant_id.clone(),
            subscription_id: admin.subscription_id.clone(),
            subscription_from: "the local default".into(),
        };
        let credential = ClientSecretCredential::new(
            endpoint,
            &admin.tenant_id,
            &admin.client_id,
            Secret::new(admin.client_secret.expose_str()),
            http.clone(),
        );
        Ok(Self {
            target,
            http,
            auth: Auth::Admin(credential),
            token: Arc::new(tokio::sync::Mutex::new(None)),
            clock,
        })
    }

    /// A client for any cloud but the local one, signed in through the operator's chain
    /// (environment service principal, workload identity, managed identity, the Azure CLI),
    /// or the one credential `only` names. It gets its first token here, then the
    /// subscription: `subscription` (an id or a name), else AZURE_SUBSCRIPTION_ID, else the
    /// Azure CLI's default when the CLI gave the token, else the only one the identity sees.
    pub async fn cloud(
        cloud: &'static CloudProfile,
        subscription: Option<&str>,
        only: Option<CredentialKind>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ClientError> {
        let http = Pipeline::default_http()?;
        let cli = AzureCliCredential::new(Some(cloud.name), clock.clone());
        let chain = DefaultAzureCredential::new(
            ChainOptions {
                authority: Some(cloud.authority_host.to_string()),
                azure_cli: Some(cli.clone()),
                only: only.map(|k| OnlyCredential {
                    credential: k.credential(),
                    by: format!("--credential {}", k.flag()),
                }),
                no_identity_hint: Some(OPERATOR_HINT.into()),
                ..Default::default()
            },
            Pipeline::new(http.clone()),
        )?;
        let mut client = Self {
            target: Target {
                cloud,
                authority: cloud.authority_host.to_string(),
                arm: cloud.resource_manager.to_string(),
                tenant_id: String::new(),
                subscription_id: String::new(),
                subscription_from: String::new(),
            },
            http,
            auth: Auth::Operator { chain, cli },
            token: Arc::new(tokio::sync::Mutex::new(None)),
            clock,
        };
        let token = client.arm_token(false).await?;
        let claims = wid_credential::jwt_claims(token.expose_str()).unwrap_or(Value::Null);
        client.target.tenant_id = claims["tid"].as_str().unwrap_or_default().to_string();
        let (id, from) = client.resolve_subscription(subscription).await?;
        client.target.subscription_id = id;
        client.target.subscription_from = from;
        Ok(client)
    }

    async fn resolve_subscription(
        &self,
        explicit: Option<&str>,
    ) -> Result<(String, String), ClientError> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        if let Some(s) = explicit {
            if wid_model::ids::is_guid(s) {
                return Ok((s.to_string(), "--subscription".into()));
            }
            let all = self.subscriptions().await?;
            let found = all.iter().find(|v| {
                v["displayName"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(s))
            });
            return match found.and_then(|v| v["subscriptionId"].as_str()) {
                Some(id) => Ok((id.to_string(), format!("--subscription '{s}'"))),
                None => Err(ClientError::Config(format!(
                    "no subscription named '{s}' is visible to this identity; it sees: {}\nhint: pass the subscription's id, or ask for a role in it",
                    names(&all)
                ))),
            };
        }
        if let Some(s) = var("AZURE_SUBSCRIPTION_ID") {
            return Ok((s, "AZURE_SUBSCRIPTION_ID".into()));
        }
        if let Auth::Operator { chain, cli } = &self.auth
            && chain.selected() == Some(CredentialKind::AzureCli.credential())
        {
            let a = cli.account().await?;
            return Ok((a.subscription_id, "the Azure CLI's default".into()));
        }
        let all = self.subscriptions().await?;
        match all.as_slice() {
            [one] => Ok((
                one["subscriptionId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                "the only one this identity sees".into(),
            )),
            _ => Err(ClientError::Config(format!(
                "which subscription? this identity sees {}: {}\nhint: pass --subscription (an id or a name) or set AZURE_SUBSCRIPTION_ID",
                all.len(),
                names(&all)
            ))),
        }
    }

    /// The subscriptions the identity sees (`GET /subscriptions`).
    async fn subscriptions(&self) -> Result<Vec<Value>, ClientError> {
        self.arm_list("/subscriptions", "2022-12-01", None).await
    }

    /// Who the client acts as: the token's claims, the credential that gave it, the chain.
    pub async fn account(&self) -> Result<Account, ClientError> {
        let token = self.arm_token(false).await?;
        let claims = wid_credential::jwt_claims(token.expose_str()).unwrap_or(Value::Null);
        let claim = |k: &str| claims[k].as_str().map(String::from);
        let (credential, credential_name, chain) = match &self.auth {
            Auth::Admin(_) => (
                "admin".to_string(),
                "the local administrator ($WID_HOME/admin.json)".to_string(),
                Vec::new(),
            ),
            Auth::Operator { chain, .. } => {
                let name = chain.selected().unwrap_or_default();
                (
                    CredentialKind::of(name)
                        .map(|k| k.flag().to_string())
                        .unwrap_or_default(),
                    name.to_string(),
                    chain.report().into_iter().map(ChainStep::from).collect(),
                )
            }
        };
        let mirid = claim("xms_mirid");
        let user = claim("upn").or_else(|| claim("unique_name"));
        let kind = if user.is_some() {
            "user"
        } else if mirid.is_some() {
            "managedIdentity"
        } else {
            "servicePrincipal"
        };
        Ok(Account {
            cloud: self.target.cloud.name.to_string(),
            resource_manager: self.target.arm.clone(),
            credential,
            credential_name,
            client_id: claim("appid").unwrap_or_default(),
            principal_id: claim("oid").unwrap_or_default(),
            name: user.or(mirid),
            kind: kind.into(),
            tenant_id: claim("tid").unwrap_or_else(|| self.target.tenant_id.clone()),
            subscription_id: self.target.subscription_id.clone(),
            subscription_from: self.target.subscription_from.clone(),
            chain,
        })
    }

    /// Overrides the subscription.
    pub fn with_subscription(mut self, sub: Option<&str>) -> Self {
        if let Some(s) = sub {
            self.target.subscription_id = s.to_string();
        }
        self
    }

    /// The ARM token: the one in hand, or (when `fresh`, or none yet) a new one.
    async fn arm_token(&self, fresh: bool) -> Result<Secret, ClientError> {
        let mut held = self.token.lock().await;
        if let Some(t) = held.as_ref()
            && !fresh
        {
            return Ok(t.clone());
        }
        let scope = format!("{}/.default", self.target.cloud.arm_resource);
        let t = match &self.auth {
            Auth::Admin(c) => c.get_token(&scope, self.clock.now()).await?,
            Auth::Operator { chain, .. } => chain.get_token(&[&scope]).await?,
        };
        *held = Some(t.token.clone());
        Ok(t.token)
    }

    /// Sends an authenticated request to `{base}{path}` and returns status and JSON body
    /// (`Null` when empty); an ARM error body becomes [`ClientError::Arm`].
    pub async fn send(
        &self,
        base: &str,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<(u16, Value), ClientError> {
        match self
            .send_once(base, method.clone(), path, query, body, false)
            .await
        {
            // The token expired by ARM's clock: ask the credential again, once (the Azure CLI
            // may hand out a newer one); a second refusal is the error.
            Err(ClientError::Arm {
                status: 401,
                ref code,
                ..
            }) if code == "ExpiredAuthenticationToken"
                && matches!(self.auth, Auth::Operator { .. }) =>
            {
                tracing::info!("ARM found the token expired; asking the credential again once");
                self.send_once(base, method, path, query, body, true).await
            }
            r => r,
        }
    }

    async fn send_once(
        &self,
        base: &str,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        fresh_token: bool,
    ) -> Result<(u16, Value), ClientError> {
        let token = self.arm_token(fresh_token).await?;
        let result = self
            .send_with(&token, base, method, path, query, body)
            .await;
        match result {
            Err(ClientError::Arm {
                method,
                url,
                status,
                code,
                message,
                hint,
            }) if fresh_token && code == "ExpiredAuthenticationToken" => Err(ClientError::Arm {
                hint: format!(
                    "\nhint: the credential was asked again once and its new token is expired too by ARM's clock: check this machine's clock; for the Azure CLI, sign in again (`az account clear && az login`){hint}"
                ),
                method,
                url,
                status,
                code,
                message,
            }),
            r => r,
        }
    }

    /// The Microsoft Graph endpoint of the target: the wid endpoint for the local cloud.
    pub fn graph_endpoint(&self) -> String {
        match self.target.cloud.name {
            "AzureCloud" => "https://graph.microsoft.com".into(),
            "AzureUSGovernment" => "https://graph.microsoft.us".into(),
            "AzureChinaCloud" => "https://microsoftgraph.chinacloudapi.cn".into(),
            // The stand-in, and a cloud registered in the Azure CLI from wid's
            // /metadata/endpoints, serve Graph where they serve ARM.
            _ => self.target.arm.clone(),
        }
    }

    /// A Microsoft Graph request (`path` such as `/v1.0/applications`) with a token for
    /// Graph; errors in Graph's `{"error":{"code","message"}}` shape as for ARM.
    pub async fn graph(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ClientError> {
        let scope = format!("{}/.default", wid_model::resources::GRAPH_RESOURCE);
        let token = match &self.auth {
            Auth::Admin(c) => c.get_token(&scope, self.clock.now()).await?,
            Auth::Operator { chain, .. } => chain.get_token(&[&scope]).await?,
        }
        .token;
        let base = self.graph_endpoint();
        self.send_with(&token, &base, method, path, &[], body).await
    }

    async fn send_with(
        &self,
        token: &Secret,
        base: &str,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<(u16, Value), ClientError> {
        let url = format!("{base}{path}");
        let mut rb = self
            .http
            .request(method.clone(), &url)
            .query(query)
            .bearer_auth(token.expose_str());
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb.send().await.map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            detail: wid_credential_chain(&e),
        })?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            detail: e.to_string(),
        })?;
        let value: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if status >= 400 {
            let code = value
                .pointer("/error/code")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let message = value
                .pointer("/error/message")
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| {
                    String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned()
                });
            let hint = arm_hint(&code, &message, self.target.cloud.name == "local");
            return Err(ClientError::Arm {
                method: method.to_string(),
                url,
                status,
                hint,
                code,
                message,
            });
        }
        Ok((status, value))
    }

    /// An ARM request to the target's resource manager.
    pub async fn arm(
        &self,
        method: Method,
        path: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ClientError> {
        self.send(
            &self.target.arm,
            method,
            path,
            &[("api-version", api_version)],
            body,
        )
        .await
    }

    /// An ARM GET that follows `nextLink` and gathers every `value`.
    pub async fn arm_list(
        &self,
        path: &str,
        api_version: &str,
        top: Option<usize>,
    ) -> Result<Vec<Value>, ClientError> {
        let mut out = Vec::new();
        let top_s = top.map(|t| t.to_string());
        let mut query: Vec<(&str, &str)> = vec![("api-version", api_version)];
        if let Some(t) = &top_s {
            query.push(("$top", t));
        }
        let (_, mut page) = self
            .send(&self.target.arm, Method::GET, path, &query, None)
            .await?;
        loop {
            if let Some(v) = page.get("value").and_then(Value::as_array) {
                out.extend(v.iter().cloned());
            }
            let Some(next) = page
                .get("nextLink")
                .and_then(Value::as_str)
                .map(String::from)
            else {
                break;
            };
            let (_, p) = self.send(&next, Method::GET, "", &[], None).await?;
            page = p;
        }
        Ok(out)
    }

    /// The admin's bearer token, for wid's own admin endpoints.
    pub async fn bearer(&self) -> Result<String, ClientError> {
        Ok(self.arm_token(false).await?.expose_str().to_string())
    }
}

fn names(subscriptions: &[Value]) -> String {
    if subscriptions.is_empty() {
        return "none (it has no role in any)".into();
    }
    subscriptions
        .iter()
        .map(|v| {
            format!(
                "'{}' ({})",
                v["displayName"].as_str().unwrap_or(""),
                v["subscriptionId"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn wid_credential_chain(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_role_that_grants_an_action() {
        let role = |a: &str| least_privileged_role(a).map(|r| r.name);
        let mi = "Microsoft.ManagedIdentity/userAssignedIdentities";
        assert_eq!(
            role(&format!("{mi}/federatedIdentityCredentials/write")),
            Some("Managed Identity Contributor")
        );
        assert_eq!(
            role(&format!("{mi}/write")),
            Some("Managed Identity Contributor")
        );
        assert_eq!(role(&format!("{mi}/read")), Some("Reader"));
        assert_eq!(
            role("Microsoft.Resources/subscriptions/resourceGroups/write"),
            Some("Contributor")
        );
        assert_eq!(
            role("Microsoft.Authorization/roleAssignments/write"),
            Some("Owner")
        );
    }

    #[test]
    fn a_403_names_the_role_and_the_resource_group_to_assign_it_on() {
        let message = "The client 'p1' with object id 'p1' does not have authorization to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/write' over scope '/subscriptions/s1/resourcegroups/rg-data/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi' or the scope is invalid. If access was recently granted, please refresh your credentials.";
        let hint = arm_hint("AuthorizationFailed", message, false);
        assert!(
            hint.contains("the least built-in one is Managed Identity Contributor")
                && hint.contains("wid role assignment create --assignee p1 --role 'Managed Identity Contributor' --scope /subscriptions/s1/resourceGroups/rg-data "),
            "{hint}"
        );
        // At subscription scope, the scope itself.
        let message = message.replace(
            "/subscriptions/s1/resourcegroups/rg-data/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi",
            "/subscriptions/s1",
        );
        let hint = arm_hint("AuthorizationFailed", &message, false);
        assert!(hint.contains("--scope /subscriptions/s1 "), "{hint}");
        // A message that is not ARM's shape keeps the plain hint.
        assert_eq!(arm_hint("AuthorizationFailed", "denied", false), "");
    }
}
