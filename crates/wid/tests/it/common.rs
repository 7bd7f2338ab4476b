//! Test helpers: a live server with a manual clock, and clients for it.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use wid::home::Home;
use wid::server::{RunningServer, ServerOptions, start};
use wid_credential::{ClientSecretCredential, Secret};
use wid_jose::{SigningKey, b64url};
use wid_model::{Clock, ManualClock, SystemClock};

pub const SCOPE_ARM: &str = "https://management.azure.com/.default";
pub const API: &str = "2023-01-31";
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A running server on 127.0.0.1:0 with its own data directory and a manual clock.
pub struct TestCloud {
    pub server: Option<RunningServer>,
    pub home: Home,
    pub dir: Option<tempfile::TempDir>,
    pub http: reqwest::Client,
    pub endpoint: String,
    pub clock: Arc<ManualClock>,
    pub tenant: String,
    pub sub: String,
    admin_token: tokio::sync::OnceCell<String>,
}

pub struct Options {
    pub fic_write_hold: Duration,
    pub oidc_timeout: Duration,
    pub database_url: Option<String>,
    pub key_refresh: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            fic_write_hold: Duration::ZERO,
            oidc_timeout: Duration::from_secs(5),
            database_url: None,
            key_refresh: Duration::from_secs(5),
        }
    }
}

impl TestCloud {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(o: Options) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = Home::at(dir.path().join("home"));
        let clock = ManualClock::new(SystemClock.now());
        Self::start_in(home, Some(dir), clock, o).await
    }

    /// Starts (again) on an existing data directory.
    pub async fn start_in(
        home: Home,
        dir: Option<tempfile::TempDir>,
        clock: Arc<ManualClock>,
        o: Options,
    ) -> Self {
        let mut opts = ServerOptions::new(home.clone(), "127.0.0.1:0".parse().unwrap());
        opts.fic_write_hold = o.fic_write_hold;
        opts.oidc_fetch_timeout = o.oidc_timeout;
        opts.database_url = o.database_url;
        opts.key_refresh = o.key_refresh;
        // Connection tests inside the server sign in at this wid, never at Azure's public cloud.
        opts.connection_test_authority = Some("self".into());
        let server = start(opts, clock.clone() as Arc<dyn Clock>)
            .await
            .expect("server starts");
        let ca = std::fs::read(home.ca_cert()).expect("ca");
        let http = wid::client::http_client(Some(&ca), "ca.pem").expect("client");
        let endpoint = server.endpoint.clone();
        let tenant = server.state.defaults.tenant_id.clone();
        let sub = server.state.defaults.subscription_id.clone();
        TestCloud {
            server: Some(server),
            home,
            dir,
            http,
            endpoint,
            clock,
            tenant,
            sub,
            admin_token: Default::default(),
        }
    }

    pub fn state(&self) -> &wid_cloud::CloudState {
        &self.server.as_ref().unwrap().state
    }

    pub fn issuer(&self) -> String {
        self.state().config.issuer_url()
    }

    /// Stops the server, keeping the data directory.
    pub async fn stop(mut self) -> (Home, Option<tempfile::TempDir>, Arc<ManualClock>) {
        self.server.take().unwrap().shutdown().await;
        (self.home.clone(), self.dir.take(), self.clock.clone())
    }

    /// An ARM token for the local administrator (client secret from admin.json).
    pub async fn admin_token(&self) -> String {
        self.admin_token
            .get_or_init(|| async {
                let admin = self.home.admin().expect("admin.json");
                let c = ClientSecretCredential::new(
                    &self.endpoint,
                    &admin.tenant_id,
                    &admin.client_id,
                    Secret::new(admin.client_secret.expose_str()),
                    self.http.clone(),
                );
                c.get_token(SCOPE_ARM, self.clock.now())
                    .await
                    .expect("admin token")
                    .token
                    .expose_str()
                    .to_string()
            })
            .await
            .clone()
    }

    /// A token for `scope` for the local administrator (its client secret), as the raw
    /// token response: status and JSON.
    pub async fn admin_token_for(&self, scope: &str) -> (u16, Value) {
        let admin = self.home.admin().expect("admin.json");
        let t = admin.tenant_id.clone();
        self.token_form(
            &t,
            false,
            &[
                ("client_id", &admin.client_id),
                ("client_secret", admin.client_secret.expose_str()),
                ("grant_type", "client_credentials"),
                ("scope", scope),
            ],
        )
        .await
    }

    /// Registers an application with identifier URIs through Graph as the administrator;
    /// returns Graph's status and body.
    pub async fn register_app(&self, name: &str, uris: &[&str]) -> (u16, Value) {
        let (s, v) = self
            .admin_token_for("https://graph.microsoft.com/.default")
            .await;
        assert_eq!(s, 200, "graph token: {v}");
        let (s, _, v) = self
            .call(
                reqwest::Method::POST,
                "/v1.0/applications",
                v["access_token"].as_str(),
                Some(&json!({"displayName": name, "identifierUris": uris})),
            )
            .await;
        (s, v)
    }

    /// A raw HTTPS request with an optional bearer token; returns status, headers and JSON.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut rb = self
            .http
            .request(method, format!("{}{}", self.endpoint, path_and_query));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, headers, v)
    }

    /// ARM as the administrator.
    pub async fn arm(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let t = self.admin_token().await;
        let sep = if path.contains('?') { '&' } else { '?' };
        let (s, _, v) = self
            .call(
                method,
                &format!("{path}{sep}api-version={API}"),
                Some(&t),
                body,
            )
            .await;
        (s, v)
    }

    pub fn identity_path(&self, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/rg-airflow/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
            self.sub
        )
    }

    /// Creates an identity in rg-airflow; returns (client id, principal id).
    pub async fn create_identity(&self, name: &str) -> (String, String) {
        let (s, v) = self
            .arm(
                reqwest::Method::PUT,
                &self.identity_path(name),
                Some(&json!({"location": "eastus"})),
            )
            .await;
        assert!(s == 201 || s == 200, "create identity: {s} {v}");
        (
            v["properties"]["clientId"].as_str().unwrap().into(),
            v["properties"]["principalId"].as_str().unwrap().into(),
        )
    }

    pub async fn put_fic(
        &self,
        identity: &str,
        name: &str,
        issuer: &str,
        subject: &str,
        audiences: &[&str],
    ) -> (u16, Value) {
        let body =
            json!({"properties": {"issuer": issuer, "subject": subject, "audiences": audiences}});
        self.arm(
            reqwest::Method::PUT,
            &format!(
                "{}/federatedIdentityCredentials/{name}",
                self.identity_path(identity)
            ),
            Some(&body),
        )
        .await
    }

    /// Gives `principal_id` the built-in role `role` (its name, e.g. "Reader") at `scope`, as
    /// the administrator.
    pub async fn assign_role(&self, role: &str, principal_id: &str, scope: &str) {
        let role_id = wid_model::rbac::RoleDefinition::find(role)
            .unwrap_or_else(|| panic!("no built-in role {role}"))
            .arm_id(&self.sub);
        let token = self.admin_token().await;
        let (s, _, v) = self
            .call(
                reqwest::Method::PUT,
                &format!(
                    "{scope}/providers/Microsoft.Authorization/roleAssignments/{}?api-version=2022-04-01",
                    wid_model::ids::new_guid()
                ),
                Some(&token),
                Some(&json!({"properties": {"roleDefinitionId": role_id, "principalId": principal_id, "principalType": "ServicePrincipal"}})),
            )
            .await;
        assert_eq!(s, 201, "assign {role} at {scope}: {v}");
    }

    /// An identity with one federated credential for system:serviceaccount:NS:SA on the local issuer.
    pub async fn federated_identity(&self, name: &str, ns: &str, sa: &str) -> String {
        let (client_id, _) = self.create_identity(name).await;
        let (s, v) = self
            .put_fic(
                name,
                &format!("{name}-{sa}"),
                &self.issuer(),
                &format!("system:serviceaccount:{ns}:{sa}"),
                &["api://AzureADTokenExchange"],
            )
            .await;
        assert_eq!(s, 201, "{v}");
        client_id
    }

    /// A projected service-account token from the local issuer.
    pub fn sa_token(&self, ns: &str, sa: &str) -> String {
        wid_cloud::issuer::mint(self.state(), ns, sa, &[], 3600, None)
            .expect("mint")
            .0
            .into_exposed()
    }

    /// POSTs a form to a token endpoint of `tenant`; returns status and JSON.
    pub async fn token_form(&self, tenant: &str, v1: bool, form: &[(&str, &str)]) -> (u16, Value) {
        let path = if v1 {
            "oauth2/token"
        } else {
            "oauth2/v2.0/token"
        };
        let resp = self
            .http
            .post(format!("{}/{tenant}/{path}", self.endpoint))
            .form(form)
            .send()
            .await
            .expect("token request");
        let s = resp.status().as_u16();
        (s, resp.json().await.unwrap_or(Value::Null))
    }

    /// The workload identity exchange as azure-identity sends it.
    pub async fn exchange(&self, client_id: &str, assertion: &str, scope: &str) -> (u16, Value) {
        let t = self.tenant.clone();
        self.token_form(
            &t,
            false,
            &[
                ("client_assertion", assertion),
                ("client_assertion_type", JWT_BEARER),
                ("client_id", client_id),
                ("grant_type", "client_credentials"),
                ("scope", scope),
            ],
        )
        .await
    }
}

/// Asserts an AADSTS error: status, `error`, code, and that the description contains every
/// `needle`.
#[track_caller]
pub fn assert_aadsts(resp: &(u16, Value), status: u16, error: &str, code: u64, needles: &[&str]) {
    let (s, v) = resp;
    assert_eq!(*s, status, "status for {v}");
    assert_eq!(v["error"], error, "error for {v}");
    assert_eq!(v["error_codes"][0].as_u64(), Some(code), "code for {v}");
    let d = v["error_description"].as_str().unwrap_or_default();
    assert!(d.starts_with(&format!("AADSTS{code}: ")), "{d}");
    for n in needles {
        assert!(d.contains(n), "'{n}' not in: {d}");
    }
    for k in ["timestamp", "trace_id", "correlation_id"] {
        assert!(v[k].is_string(), "{k} missing in {v}");
    }
    assert!(
        d.contains("Trace ID: ") && d.contains("Correlation ID: ") && d.contains("Timestamp: "),
        "{d}"
    );
}

/// Signs arbitrary claims with an arbitrary key and header fields.
pub fn sign_with(key: &SigningKey, claims: &Value, kid: Option<&str>) -> String {
    let token = key.sign_jwt(claims, &[]).unwrap();
    match kid {
        None => token,
        Some(kid) => {
            // Re-sign with a header naming another kid.
            let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
            let input = format!(
                "{}.{}",
                b64url(header.to_string().as_bytes()),
                b64url(claims.to_string().as_bytes())
            );
            let sig = key.sign_raw(input.as_bytes()).unwrap();
            format!("{input}.{}", b64url(&sig))
        }
    }
}

/// A JWT with any header, unsigned-style (`sig` as given).
pub fn raw_jwt(header: &Value, claims: &Value, sig: &str) -> String {
    format!(
        "{}.{}.{sig}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    )
}

/// Claims like the local issuer's, for forging.
pub fn sa_claims(iss: &str, sub: &str, now: i64) -> Value {
    json!({"iss": iss, "sub": sub, "aud": ["api://AzureADTokenExchange"], "iat": now, "nbf": now, "exp": now + 3600})
}

/// Decodes a JWT's claims without verifying.
pub fn claims_of(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&wid_jose::b64url_decode(part).unwrap()).unwrap()
}
