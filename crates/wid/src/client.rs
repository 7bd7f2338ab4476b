//! The HTTPS client of the CLI: finds the server (or the real cloud), trusts its CA, gets an
//! ARM token as the local administrator (or from the environment, for a real cloud), and
//! turns ARM error bodies into errors with a remedy.

use std::sync::Arc;

use reqwest::Method;
use serde_json::Value;
use tokio::sync::OnceCell;
use wid_credential::{ClientSecretCredential, CredentialError, Secret};
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

fn arm_hint(code: &str) -> &'static str {
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
}

/// An authenticated client.
#[derive(Debug, Clone)]
pub struct WidClient {
    /// Where it talks to.
    pub target: Target,
    /// The HTTP client, trusting the local CA when the cloud is local.
    pub http: reqwest::Client,
    credential: ClientSecretCredential,
    token: Arc<OnceCell<Secret>>,
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
        };
        let credential = ClientSecretCredential::new(
            endpoint,
            &admin.tenant_id,
            &admin.client_id,
            Secret::new(admin.client_secret),
            http.clone(),
        );
        Ok(Self {
            target,
            http,
            credential,
            token: Arc::new(OnceCell::new()),
            clock,
        })
    }

    /// A client for a real cloud, from AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET
    /// and AZURE_SUBSCRIPTION_ID (or `--subscription`).
    pub fn cloud(
        cloud: &'static CloudProfile,
        subscription: Option<&str>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ClientError> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        let (Some(tenant), Some(client), Some(secret)) = (
            var("AZURE_TENANT_ID"),
            var("AZURE_CLIENT_ID"),
            var("AZURE_CLIENT_SECRET"),
        ) else {
            return Err(ClientError::Config(format!(
                "--cloud {} needs a service principal: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
                cloud.name
            )));
        };
        let Some(sub) = subscription
            .map(String::from)
            .or_else(|| var("AZURE_SUBSCRIPTION_ID"))
        else {
            return Err(ClientError::Config(
                "set --subscription or AZURE_SUBSCRIPTION_ID".into(),
            ));
        };
        let http = http_client(None, "")?;
        let target = Target {
            cloud,
            authority: cloud.authority_host.to_string(),
            arm: cloud.resource_manager.to_string(),
            tenant_id: tenant.clone(),
            subscription_id: sub,
        };
        let credential = ClientSecretCredential::new(
            cloud.authority_host,
            &tenant,
            &client,
            Secret::new(secret),
            http.clone(),
        );
        Ok(Self {
            target,
            http,
            credential,
            token: Arc::new(OnceCell::new()),
            clock,
        })
    }

    /// Overrides the subscription.
    pub fn with_subscription(mut self, sub: Option<&str>) -> Self {
        if let Some(s) = sub {
            self.target.subscription_id = s.to_string();
        }
        self
    }

    async fn arm_token(&self) -> Result<&Secret, ClientError> {
        let scope = format!("{}/.default", self.target.cloud.arm_resource);
        self.token
            .get_or_try_init(|| async {
                let t = self.credential.get_token(&scope, self.clock.now()).await?;
                Ok::<_, ClientError>(t.token)
            })
            .await
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
        let token = self.arm_token().await?;
        self.send_with(token, base, method, path, query, body).await
    }

    /// The Microsoft Graph endpoint of the target: the wid endpoint for the local cloud.
    pub fn graph_endpoint(&self) -> String {
        match self.target.cloud.name {
            "local" => self.target.arm.clone(),
            "AzureUSGovernment" => "https://graph.microsoft.us".into(),
            "AzureChinaCloud" => "https://microsoftgraph.chinacloudapi.cn".into(),
            _ => "https://graph.microsoft.com".into(),
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
        let token = self
            .credential
            .get_token(&scope, self.clock.now())
            .await?
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
            .bearer_auth(token.expose());
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
            return Err(ClientError::Arm {
                method: method.to_string(),
                url,
                status,
                hint: arm_hint(&code).into(),
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
        Ok(self.arm_token().await?.expose().to_string())
    }
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
