//! `wid issuer url|token|rotate-keys`: the local service-account issuer, as the kubelet
//! uses it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::{CliError, Context};
use crate::client::ClientError;
use crate::home::write_atomic;

/// `wid issuer ...`
#[derive(Debug, Subcommand)]
pub enum IssuerCommand {
    /// Print the issuer URL (use it as --issuer of a federated credential).
    Url,
    /// Mint a projected service-account token, or keep a token file fresh with --write.
    Token(TokenArgs),
    /// Rotate a signing key; the old key stays in the JWKS until its tokens expire.
    RotateKeys(RotateArgs),
}

/// Flags of `wid issuer token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The Kubernetes namespace.
    #[arg(long)]
    namespace: String,
    /// The service account.
    #[arg(long)]
    service_account: String,
    /// Token lifetime in seconds (3600 to 86400).
    #[arg(long, default_value_t = 3600)]
    lifetime: i64,
    /// Audience (default api://AzureADTokenExchange).
    #[arg(long)]
    audience: Vec<String>,
    /// Bind the token to a pod of this name.
    #[arg(long)]
    pod: Option<String>,
    /// Keep FILE fresh: write a token, rewrite it atomically at 80% of its lifetime, until
    /// interrupted (what the kubelet does for AZURE_FEDERATED_TOKEN_FILE).
    #[arg(long, value_name = "FILE")]
    write: Option<PathBuf>,
}

/// Flags of `wid issuer rotate-keys`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Which key: issuer (service-account tokens) or sts (access tokens).
    #[arg(long, default_value = "issuer", value_parser = ["issuer", "sts"])]
    purpose: String,
}

/// When the kubelet rewrites a token: at 80% of its lifetime.
pub fn refresh_after(lifetime: i64) -> Duration {
    Duration::from_secs((lifetime.max(0) as u64) * 8 / 10)
}

/// Fetches the issuer URL from the discovery document.
pub async fn issuer_url(ctx: &Context) -> Result<String, CliError> {
    let endpoint = ctx.endpoint();
    let ca_path = ctx
        .ca_file
        .clone()
        .unwrap_or_else(|| ctx.home.ca_cert().display().to_string());
    let ca = ctx
        .home
        .read(std::path::Path::new(&ca_path))
        .map_err(ClientError::from)?;
    let http = crate::client::http_client(Some(&ca), &ca_path)?;
    let url = format!("{endpoint}/issuer/.well-known/openid-configuration");
    let v: Value = http
        .get(&url)
        .send()
        .await
        .map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            detail: e.to_string(),
        })?
        .json()
        .await
        .map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            detail: e.to_string(),
        })?;
    v["issuer"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| CliError::Message(format!("{url} has no issuer")))
}

async fn request_token(
    ctx: &Context,
    client: &crate::client::WidClient,
    a: &TokenArgs,
) -> Result<(String, String), CliError> {
    let mut spec = json!({"expirationSeconds": a.lifetime});
    if !a.audience.is_empty() {
        spec["audiences"] = json!(a.audience);
    }
    if let Some(p) = &a.pod {
        spec["boundObjectRef"] = json!({"kind": "Pod", "apiVersion": "v1", "name": p, "uid": wid_model::ids::new_guid()});
    }
    let body =
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec});
    let url = format!(
        "{}/issuer/api/v1/namespaces/{}/serviceaccounts/{}/token",
        ctx.endpoint(),
        urlencode(&a.namespace),
        urlencode(&a.service_account)
    );
    let resp = client
        .http
        .post(&url)
        .bearer_auth(client.bearer().await?)
        .json(&body)
        .send()
        .await
        .map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            detail: e.to_string(),
        })?;
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(CliError::Message(format!(
            "the issuer refused the token request (HTTP {}): {}",
            status.as_u16(),
            v["message"].as_str().unwrap_or("no message")
        )));
    }
    let token = v["status"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let exp = v["status"]["expirationTimestamp"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok((token, exp))
}

/// Mints a token for `ns`/`sa` (3600 s) and writes it atomically to `file` (0600, parent
/// directories created); returns its expiry timestamp.
pub async fn write_token_file(
    ctx: &Context,
    ns: &str,
    sa: &str,
    file: &std::path::Path,
) -> Result<String, CliError> {
    let client = ctx.client().await?;
    let a = TokenArgs {
        namespace: ns.to_string(),
        service_account: sa.to_string(),
        lifetime: 3600,
        audience: Vec::new(),
        pod: None,
        write: None,
    };
    let (token, exp) = request_token(ctx, &client, &a).await?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::Message(format!("cannot create {}: {e}", dir.display())))?;
    }
    write_atomic(file, token.as_bytes(), true)
        .map_err(|e| CliError::Message(format!("cannot write {}: {e}", file.display())))?;
    Ok(exp)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Runs `wid issuer ...`.
pub async fn run(ctx: &Context, cmd: IssuerCommand) -> Result<(), CliError> {
    match cmd {
        IssuerCommand::Url => println!("{}", issuer_url(ctx).await?),
        IssuerCommand::Token(a) => {
            let client = ctx.client().await?;
            match &a.write {
                None => {
                    let (token, _) = request_token(ctx, &client, &a).await?;
                    // Like the kubelet's file, no trailing newline when redirected: SDKs
                    // read the file verbatim.
                    use std::io::{IsTerminal, Write};
                    let mut out = std::io::stdout();
                    if out.is_terminal() {
                        println!("{token}");
                    } else {
                        let _ = out.write_all(token.as_bytes()).and_then(|_| out.flush());
                    }
                }
                Some(file) => {
                    let mut backoff = Duration::from_secs(2);
                    loop {
                        let wait = match request_token(ctx, &client, &a).await {
                            Ok((token, exp)) => {
                                write_atomic(file, token.as_bytes(), true).map_err(|e| {
                                    CliError::Message(format!(
                                        "cannot write {}: {e}",
                                        file.display()
                                    ))
                                })?;
                                let next = refresh_after(a.lifetime);
                                eprintln!(
                                    "wrote {} for system:serviceaccount:{}:{} (expires {exp}); next refresh in {}s",
                                    file.display(),
                                    a.namespace,
                                    a.service_account,
                                    next.as_secs()
                                );
                                backoff = Duration::from_secs(2);
                                next
                            }
                            Err(e) => {
                                eprintln!(
                                    "warning: token refresh failed, retrying in {}s: {e}",
                                    backoff.as_secs()
                                );
                                let w = backoff;
                                backoff = (backoff * 2).min(Duration::from_secs(60));
                                w
                            }
                        };
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {},
                            _ = tokio::signal::ctrl_c() => return Ok(()),
                        }
                    }
                }
            }
        }
        IssuerCommand::RotateKeys(a) => {
            let client = ctx.client().await?;
            let url = format!(
                "{}/issuer/keys/rotate?purpose={}",
                ctx.endpoint(),
                a.purpose
            );
            let resp = client
                .http
                .post(&url)
                .bearer_auth(client.bearer().await?)
                .send()
                .await
                .map_err(|e| ClientError::Unreachable {
                    url: url.clone(),
                    detail: e.to_string(),
                })?;
            let status = resp.status();
            let v: Value = resp.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                return Err(CliError::Message(format!(
                    "key rotation failed (HTTP {}): {}",
                    status.as_u16(),
                    v["message"]
                )));
            }
            match ctx.output {
                crate::output::Format::Json => {
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default())
                }
                crate::output::Format::Table => {
                    println!(
                        "active key:     {}",
                        v["active_kid"].as_str().unwrap_or_default()
                    );
                    println!("published keys: {}", v["published_kids"]);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_at_eighty_percent() {
        assert_eq!(refresh_after(3600), Duration::from_secs(2880));
        assert_eq!(refresh_after(86_400), Duration::from_secs(69_120));
        assert_eq!(urlencode("a b/c"), "a%20b%2Fc");
    }
}
