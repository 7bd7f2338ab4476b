//! `wid connections add|get|list|delete|export|import|test|rotate-fernet-key`, mirroring
//! `airflow connections`: the same flags, formats and messages, over wid's
//! `/api/v2/connections`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::{Value, json};
use wid_model::connection::env::{env_var_name_unchecked, from_env_value};
use wid_model::connection::export::{ExportFormat, export_text};
use wid_model::connection::{Connection, EnvFormat, UriFlavor};
use wid_model::secret::Secret;
use wid_server::tester::{TokenSource, test_connection};

use super::{CliError, Context};
use crate::client::ClientError;
use crate::output::{Format, print_item, print_list};

/// `wid connections ...`
#[derive(Debug, Subcommand)]
pub enum ConnectionsCommand {
    /// Add a connection.
    Add(AddArgs),
    /// Show a connection and where it comes from (environment variable or store).
    Get(IdArg),
    /// List the stored connections.
    List,
    /// Delete a stored connection.
    Delete(IdArg),
    /// Export the stored connections with their secrets to FILE (`-` for standard output),
    /// as `airflow connections export` does; the file is created with mode 0600.
    Export(ExportArgs),
    /// Import connections from a .json, .yaml/.yml or .env file.
    Import(ImportArgs),
    /// Test a connection: for azure, get an ARM token through it and read the subscription.
    Test(TestArgs),
    /// Re-encrypt every stored password and extra with the first Fernet key.
    RotateFernetKey(RotateArgs),
    /// Link a connection to a deployment, with per-deployment overrides of its fields.
    Link(LinkArgs),
    /// Remove a connection's link to a deployment.
    Unlink(LinkArgs),
}

/// Flags of `link` and `unlink`.
#[derive(Debug, Args)]
pub struct LinkArgs {
    /// The connection id.
    conn_id: String,
    /// The deployment.
    #[arg(long)]
    deployment: String,
    /// FIELD=VALUE: a standard field (host, login, schema, port, description) or an extra key
    /// (subscriptionId, ...) that differs in this deployment. Repeatable.
    #[arg(long = "override", value_name = "FIELD=VALUE")]
    overrides: Vec<String>,
}

/// One connection id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// The connection id.
    conn_id: String,
}

/// Flags of `add`, as `airflow connections add`. The URI, JSON, password and extra may hold
/// secrets: they are [`Secret`]s, so `Debug` redacts them.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The connection id.
    conn_id: String,
    /// The connection as a URI.
    #[arg(long, conflicts_with_all = ["conn_json", "conn_type", "conn_host", "conn_login", "conn_password", "conn_schema", "conn_port", "conn_extra", "conn_description"])]
    conn_uri: Option<Secret>,
    /// The connection as JSON.
    #[arg(long, conflicts_with_all = ["conn_type", "conn_host", "conn_login", "conn_password", "conn_schema", "conn_port", "conn_extra", "conn_description"])]
    conn_json: Option<Secret>,
    /// The type (`azure`).
    #[arg(long)]
    conn_type: Option<String>,
    /// Description.
    #[arg(long)]
    conn_description: Option<String>,
    /// Host.
    #[arg(long)]
    conn_host: Option<String>,
    /// Login.
    #[arg(long)]
    conn_login: Option<String>,
    /// Password.
    #[arg(long)]
    conn_password: Option<Secret>,
    /// Schema.
    #[arg(long)]
    conn_schema: Option<String>,
    /// Port.
    #[arg(long)]
    conn_port: Option<i64>,
    /// Extra, a JSON object.
    #[arg(long)]
    conn_extra: Option<Secret>,
}

/// File formats of export and import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// `{conn_id: {...}}`, indent 2.
    Json,
    /// The same as YAML.
    Yaml,
    /// `conn_id=<uri or json>` lines.
    Env,
}

/// Flags of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The file (`-` for standard output); its extension picks the format.
    file: PathBuf,
    /// Force a format.
    #[arg(long)]
    file_format: Option<FileFormat>,
    /// Export what this deployment's Airflow sees: its linked connections, overrides applied.
    #[arg(long)]
    deployment: Option<String>,
    /// For env files: the value form (default uri).
    #[arg(long, value_parser = ["uri", "json"])]
    serialization_format: Option<String>,
}

/// Flags of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file.
    file: PathBuf,
    /// Replace connections that exist.
    #[arg(long)]
    overwrite: bool,
}

/// Flags of `test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The connection id.
    conn_id: String,
    /// Act as this Kubernetes service account (NAMESPACE/SERVICE_ACCOUNT): mint its projected
    /// token from the local issuer and exchange it through the connection.
    #[arg(long = "as", value_name = "NAMESPACE/SERVICE_ACCOUNT")]
    as_sa: Option<String>,
}

/// Flags of `rotate-fernet-key`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Put a new key in front of the configured keys ($WID_HOME/fernet.key) first.
    #[arg(long)]
    generate: bool,
    /// The database (default: SQLite in WID_HOME).
    #[arg(long, env = "WID_DATABASE_URL")]
    database_url: Option<String>,
}

const COLUMNS: [(&str, &str); 4] = [
    ("conn_id", "connection_id"),
    ("conn_type", "conn_type"),
    ("description", "description"),
    ("host", "host"),
];
const FIELDS: [(&str, &str); 10] = [
    ("conn_id", "connection_id"),
    ("conn_type", "conn_type"),
    ("description", "description"),
    ("host", "host"),
    ("schema", "schema"),
    ("login", "login"),
    ("password", "password"),
    ("port", "port"),
    ("extra", "extra"),
    ("source", "source"),
];

fn api_key(ctx: &Context) -> Result<Secret, CliError> {
    if let Ok(k) = std::env::var("WID_API_KEY")
        && !k.is_empty()
    {
        return Ok(Secret::from(k));
    }
    let p = ctx.home.root().join("api-key");
    let b = Secret::<Vec<u8>>::new(ctx.home.read(&p).map_err(ClientError::from)?);
    Ok(Secret::from(String::from_utf8_lossy(b.expose()).trim()))
}

/// An authenticated call to wid's own API (`/api/v2/...`) with the administrator key.
pub async fn api_call(
    ctx: &Context,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), CliError> {
    api(ctx, method, path, body).await
}

async fn api(
    ctx: &Context,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), CliError> {
    let ca_path = ctx
        .ca_file
        .clone()
        .unwrap_or_else(|| ctx.home.ca_cert().display().to_string());
    let ca = ctx
        .home
        .read(Path::new(&ca_path))
        .map_err(ClientError::from)?;
    let http = crate::client::http_client(Some(&ca), &ca_path)?;
    let url = format!("{}{path}", ctx.endpoint());
    let mut rb = http
        .request(method, &url)
        .bearer_auth(api_key(ctx)?.expose_str());
    if let Some(b) = body {
        rb = rb.json(b);
    }
    let resp = rb.send().await.map_err(|e| ClientError::Unreachable {
        url: url.clone(),
        detail: e.to_string(),
    })?;
    let status = resp.status().as_u16();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    Ok((status, v))
}

fn detail(v: &Value) -> String {
    match &v["detail"] {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| format!("{}: {}", i["loc"], i["msg"].as_str().unwrap_or("")))
            .collect::<Vec<_>>()
            .join("; "),
        Value::Object(o) => o
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        other => other.to_string(),
    }
}

/// The API body of a connection.
pub fn body_of(c: &Connection) -> Value {
    json!({
        "connection_id": c.conn_id, "conn_type": c.conn_type.clone().unwrap_or_default(), "description": c.description,
        "host": c.host, "login": c.login, "schema": c.schema, "port": c.port, "password": c.password_str(), "extra": c.extra_str(),
    })
}

fn from_api(v: &Value) -> Connection {
    let s = |k: &str| v[k].as_str().map(String::from);
    Connection {
        conn_id: s("connection_id"),
        conn_type: s("conn_type"),
        description: s("description"),
        host: s("host"),
        schema: s("schema"),
        login: s("login"),
        password: s("password").map(Secret::from),
        port: v["port"].as_i64(),
        extra: s("extra").map(Secret::from),
    }
}

fn build(a: &AddArgs) -> Result<Connection, CliError> {
    let mut c = if let Some(uri) = &a.conn_uri {
        Connection::from_uri(uri.expose_str())
            .map_err(|e| CliError::Message(format!("invalid --conn-uri: {e}")))?
    } else if let Some(j) = &a.conn_json {
        Connection::from_json(j.expose_str())
            .map_err(|e| CliError::Message(format!("invalid --conn-json: {e}")))?
    } else {
        let Some(t) = &a.conn_type else {
            return Err(CliError::Message(
                "Must supply either conn-uri or conn-json if not supplying conn-type".into(),
            ));
        };
        Connection {
            conn_type: Some(t.clone()),
            description: a.conn_description.clone(),
            host: a.conn_host.clone(),
            schema: a.conn_schema.clone(),
            login: a.conn_login.clone(),
            password: a.conn_password.clone(),
            port: a.conn_port,
            extra: a.conn_extra.clone(),
            conn_id: None,
        }
    };
    c.conn_id = Some(a.conn_id.clone());
    wid_model::connection::validate_conn_id(&a.conn_id)
        .map_err(|e| CliError::Message(e.to_string()))?;
    c.validate_extra()
        .map_err(|e| CliError::Message(e.to_string()))?;
    Ok(c)
}

fn warn_azure(c: &Connection) {
    if c.conn_type.as_deref() == Some("azure")
        && let Some(t) = wid_model::connection::registry::lookup("azure")
    {
        let v = t.validate(c);
        for w in &v.warnings {
            eprintln!("warning: {w}");
        }
        for e in &v.errors {
            eprintln!("warning: {e}");
        }
    }
}

async fn all_stored(ctx: &Context) -> Result<Vec<Value>, CliError> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let (s, v) = api(
            ctx,
            Method::GET,
            &format!("/api/v2/connections?limit=100&offset={offset}&order_by=connection_id"),
            None,
        )
        .await?;
        if s != 200 {
            return Err(CliError::Message(format!(
                "listing connections failed (HTTP {s}): {}",
                detail(&v)
            )));
        }
        let page = v["connections"].as_array().cloned().unwrap_or_default();
        let n = page.len();
        out.extend(page);
        offset += n;
        if n < 100 {
            break;
        }
    }
    Ok(out)
}

/// The connections with their secrets (real passwords, `extra` unmasked), from the
/// administrator-only `GET /api/v2/connections:export`: every stored one, or with
/// `deployment` what that deployment's Airflow sees (its links, overrides applied).
pub async fn with_secrets(
    ctx: &Context,
    deployment: Option<&str>,
) -> Result<Vec<Connection>, CliError> {
    let path = match deployment {
        Some(d) => format!(
            "{}?deployment={}",
            wid_server::connection_export::PATH,
            urlenc(d)
        ),
        None => wid_server::connection_export::PATH.to_string(),
    };
    let (s, v) = api(ctx, Method::GET, &path, None).await?;
    if s != 200 {
        let what = deployment.map_or("the connections".to_string(), |d| {
            format!("the connections of deployment {d}")
        });
        return Err(CliError::Message(format!(
            "reading {what} with their secrets failed (HTTP {s} from GET {path}): {}",
            detail(&v)
        )));
    }
    Ok(v["connections"]
        .as_array()
        .map(|a| a.iter().map(from_api).collect())
        .unwrap_or_default())
}

/// A connection from its API form.
pub fn connection_of(v: &Value) -> Connection {
    from_api(v)
}

fn format_of(file: &Path, forced: Option<FileFormat>) -> Result<FileFormat, CliError> {
    if let Some(f) = forced {
        return Ok(f);
    }
    match file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => Ok(FileFormat::Json),
        Some("yaml" | "yml") => Ok(FileFormat::Yaml),
        Some("env") => Ok(FileFormat::Env),
        _ if file == Path::new("-") => Ok(FileFormat::Json),
        other => Err(CliError::Message(format!(
            "Unsupported file format. The file must have the extension .env or .json or .yaml (got {:?})",
            other.unwrap_or("")
        ))),
    }
}

fn parse_import(file: &Path, text: &str) -> Result<Vec<Connection>, CliError> {
    let entries: Vec<(String, Value)> = match format_of(file, None)? {
        FileFormat::Json => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m.into_iter().collect(),
            Ok(_) => {
                return Err(CliError::Message(format!(
                    "{}: expected a JSON object of connections",
                    file.display()
                )));
            }
            Err(e) => {
                return Err(CliError::Message(format!(
                    "{}: not valid JSON: {e}",
                    file.display()
                )));
            }
        },
        FileFormat::Yaml => {
            let v: Value = serde_yaml_ng::from_str(text).map_err(|e| {
                CliError::Message(format!("{}: not valid YAML: {e}", file.display()))
            })?;
            match v {
                Value::Object(m) => m.into_iter().collect(),
                _ => {
                    return Err(CliError::Message(format!(
                        "{}: expected a mapping of connections",
                        file.display()
                    )));
                }
            }
        }
        FileFormat::Env => text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap_or((l, ""));
                (k.trim().to_string(), Value::String(v.trim().to_string()))
            })
            .collect(),
    };
    let mut out = Vec::new();
    for (id, v) in entries {
        wid_model::connection::validate_conn_id(&id)
            .map_err(|e| CliError::Message(format!("{}: {e}", file.display())))?;
        let mut c = match v {
            Value::String(s) => from_env_value(&id, &s, UriFlavor::Core)
                .map_err(|e| CliError::Message(format!("{id}: {e}")))?,
            Value::Object(mut m) => {
                if let Some(x) = m.remove("extra_dejson") {
                    m.insert("extra".into(), x);
                }
                m.remove("conn_id");
                Connection::from_json(&Value::Object(m).to_string())
                    .map_err(|e| CliError::Message(format!("{id}: {e}")))?
            }
            other => {
                return Err(CliError::Message(format!(
                    "{id}: expected a URI string or an object, got {other}"
                )));
            }
        };
        c.conn_id = Some(id);
        out.push(c);
    }
    Ok(out)
}

/// Runs `wid connections ...`.
pub async fn run(ctx: &Context, cmd: ConnectionsCommand) -> Result<(), CliError> {
    match cmd {
        ConnectionsCommand::Add(a) => {
            let c = build(&a)?;
            warn_azure(&c);
            let (s, v) = api(ctx, Method::POST, "/api/v2/connections", Some(&body_of(&c))).await?;
            match s {
                201 => println!(
                    "Successfully added `conn_id`={} : {}",
                    a.conn_id,
                    wid_model::connection::uri::redacted_uri(&c)
                ),
                409 => {
                    return Err(CliError::Message(format!(
                        "A connection with `conn_id`={} already exists.",
                        a.conn_id
                    )));
                }
                _ => {
                    return Err(CliError::Message(format!(
                        "adding {} failed (HTTP {s}): {}",
                        a.conn_id,
                        detail(&v)
                    )));
                }
            }
        }
        ConnectionsCommand::Get(a) => {
            let var = env_var_name_unchecked(&a.conn_id);
            let (mut item, source) = match std::env::var(&var).ok().filter(|v| !v.trim().is_empty())
            {
                Some(value) => {
                    let mut c = from_env_value(&a.conn_id, &value, UriFlavor::Core)
                        .map_err(|e| CliError::Message(format!("{var}: {e}")))?;
                    c.conn_id = Some(a.conn_id.clone());
                    (
                        wid_server::body::response(&c),
                        format!("environment variable {var}"),
                    )
                }
                None => {
                    let (s, v) = api(
                        ctx,
                        Method::GET,
                        &format!("/api/v2/connections/{}", urlenc(&a.conn_id)),
                        None,
                    )
                    .await?;
                    if s != 200 {
                        return Err(CliError::Message(format!(
                            "{} (looked in {var} and the wid store)",
                            detail(&v)
                        )));
                    }
                    (v, format!("wid store ({})", ctx.endpoint()))
                }
            };
            item["source"] = source.into();
            print_item(ctx.output, &item, &FIELDS);
        }
        ConnectionsCommand::List => {
            let rows = all_stored(ctx).await?;
            print_list(ctx.output, &rows, &COLUMNS);
        }
        ConnectionsCommand::Delete(a) => {
            let (s, v) = api(
                ctx,
                Method::DELETE,
                &format!("/api/v2/connections/{}", urlenc(&a.conn_id)),
                None,
            )
            .await?;
            match s {
                204 => println!(
                    "Successfully deleted connection with `conn_id`={}",
                    a.conn_id
                ),
                404 => {
                    return Err(CliError::Message(format!(
                        "Did not find a connection with `conn_id`={}",
                        a.conn_id
                    )));
                }
                _ => {
                    return Err(CliError::Message(format!(
                        "deleting failed (HTTP {s}): {}",
                        detail(&v)
                    )));
                }
            }
        }
        ConnectionsCommand::Export(a) => export(ctx, &a).await?,
        ConnectionsCommand::Import(a) => {
            let text = std::fs::read_to_string(&a.file)
                .map_err(|e| CliError::Message(format!("cannot read {}: {e}", a.file.display())))?;
            let conns = parse_import(&a.file, &text)?;
            let mut failed = 0;
            for c in conns {
                let id = c.conn_id.clone().unwrap_or_default();
                let (s, v) =
                    api(ctx, Method::POST, "/api/v2/connections", Some(&body_of(&c))).await?;
                match (s, a.overwrite) {
                    (201, _) => println!("Imported connection {id}"),
                    (409, true) => {
                        let (s2, v2) = api(
                            ctx,
                            Method::PATCH,
                            &format!("/api/v2/connections/{}", urlenc(&id)),
                            Some(&body_of(&c)),
                        )
                        .await?;
                        if s2 == 200 {
                            println!("Imported connection {id} (overwrote the existing one)");
                        } else {
                            failed += 1;
                            eprintln!("Could not import connection {id}: {}", detail(&v2));
                        }
                    }
                    (409, false) => {
                        failed += 1;
                        eprintln!(
                            "Could not import connection {id}: connection already exists (use --overwrite)."
                        );
                    }
                    _ => {
                        failed += 1;
                        eprintln!("Could not import connection {id}: {}", detail(&v));
                    }
                }
            }
            if failed > 0 {
                return Err(CliError::Message(format!(
                    "{failed} connection(s) were not imported"
                )));
            }
        }
        ConnectionsCommand::Test(a) => {
            let var = env_var_name_unchecked(&a.conn_id);
            let conn = match std::env::var(&var).ok().filter(|v| !v.trim().is_empty()) {
                Some(value) => from_env_value(&a.conn_id, &value, UriFlavor::Core)
                    .map_err(|e| CliError::Message(format!("{var}: {e}")))?,
                None => {
                    let (s, v) = api(
                        ctx,
                        Method::GET,
                        &format!("/api/v2/connections/{}", urlenc(&a.conn_id)),
                        None,
                    )
                    .await?;
                    if s != 200 {
                        return Err(CliError::Message(detail(&v)));
                    }
                    from_api(&v)
                }
            };
            let outcome = match &a.as_sa {
                Some(sa) => {
                    let (ns, name) = sa.split_once('/').ok_or_else(|| {
                        CliError::Message(format!(
                            "--as takes NAMESPACE/SERVICE_ACCOUNT, got '{sa}'"
                        ))
                    })?;
                    let dir = std::env::temp_dir().join(format!("wid-test-{}", std::process::id()));
                    let file = dir.join("azure-identity-token");
                    super::issuer::write_token_file(ctx, ns, name, &file).await?;
                    let ca = std::fs::read(ctx.home.ca_cert())
                        .map_err(|e| CliError::Message(e.to_string()))?;
                    let http = crate::client::http_client(Some(&ca), "ca.pem")?;
                    let out = test_connection(
                        &conn,
                        &TokenSource::File {
                            path: file,
                            authority: ctx.endpoint(),
                        },
                        http,
                    )
                    .await;
                    let _ = std::fs::remove_dir_all(&dir);
                    out
                }
                None => {
                    let (s, v) = api(
                        ctx,
                        Method::POST,
                        "/api/v2/connections/test",
                        Some(&body_of(&conn)),
                    )
                    .await?;
                    if s != 200 {
                        return Err(CliError::Message(detail(&v)));
                    }
                    wid_server::tester::TestOutcome {
                        status: v["status"].as_bool().unwrap_or(false),
                        message: v["message"].as_str().unwrap_or("").into(),
                    }
                }
            };
            if ctx.output == Format::Json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&outcome).unwrap_or_default()
                );
            } else {
                println!("{}", outcome.message);
            }
            if !outcome.status {
                return Err(CliError::Message(format!(
                    "connection {} failed its test",
                    a.conn_id
                )));
            }
        }
        ConnectionsCommand::Link(a) => {
            let mut o = serde_json::Map::new();
            for kv in &a.overrides {
                let (k, v) = kv.split_once('=').ok_or_else(|| {
                    CliError::Message(format!("--override takes FIELD=VALUE, got '{kv}'"))
                })?;
                o.insert(k.to_string(), Value::String(v.to_string()));
            }
            let (s, v) = api(
                ctx,
                Method::PUT,
                &format!(
                    "/api/v2/deployments/{}/connections/{}",
                    urlenc(&a.deployment),
                    urlenc(&a.conn_id)
                ),
                Some(&json!({"overrides": o})),
            )
            .await?;
            if s != 200 {
                return Err(CliError::Message(format!(
                    "linking failed (HTTP {s}): {}",
                    detail(&v)
                )));
            }
            println!(
                "Linked connection {} to deployment {}{}",
                a.conn_id,
                a.deployment,
                if o.is_empty() {
                    String::new()
                } else {
                    format!(" with overrides {}", Value::Object(o))
                }
            );
        }
        ConnectionsCommand::Unlink(a) => {
            let (s, v) = api(
                ctx,
                Method::DELETE,
                &format!(
                    "/api/v2/deployments/{}/connections/{}",
                    urlenc(&a.deployment),
                    urlenc(&a.conn_id)
                ),
                None,
            )
            .await?;
            if s != 204 {
                return Err(CliError::Message(detail(&v)));
            }
            println!(
                "Unlinked connection {} from deployment {}",
                a.conn_id, a.deployment
            );
        }
        ConnectionsCommand::RotateFernetKey(a) => {
            let keys_text = crate::server::fernet_config(&ctx.home, a.generate)
                .map_err(|e| CliError::Message(e.to_string()))?;
            let keys = wid_store::FernetKeys::parse(keys_text.expose_str())
                .map_err(|e| CliError::Message(e.to_string()))?;
            let url = a.database_url.unwrap_or_else(|| ctx.home.database_url());
            let store = wid_store::Store::connect(&url, ctx.clock.now())
                .await
                .map_err(|e| CliError::Message(e.to_string()))?;
            let n = store
                .rotate_fernet_key(&keys)
                .await
                .map_err(|e| CliError::Message(e.to_string()))?;
            println!(
                "Re-encrypted {} connection(s) and {} signing key(s) with the first Fernet key.",
                n.connections, n.signing_keys
            );
            if a.generate {
                eprintln!(
                    "note: a running `wid up` reading $WID_HOME/fernet.key or WID_FERNET_KEY_FILE encrypts with the new key within 5 s (one set in WID_FERNET_KEY needs a restart); drop the old key from the configuration once every replica uses the new one"
                );
            }
        }
    }
    Ok(())
}

/// `wid connections export`: what `airflow connections export` writes, secrets included.
async fn export(ctx: &Context, a: &ExportArgs) -> Result<(), CliError> {
    let to_stdout = a.file == Path::new("-");
    let fmt = format_of(&a.file, a.file_format)?;
    let form = match (fmt, a.serialization_format.as_deref()) {
        (FileFormat::Env, Some("json")) => EnvFormat::Json,
        (FileFormat::Env, _) => EnvFormat::Uri,
        (_, Some(_)) => {
            return Err(CliError::Message(
                "Option `--serialization-format` may only be used with file type `env`.".into(),
            ));
        }
        (_, None) => EnvFormat::Uri,
    };
    let format = match fmt {
        FileFormat::Json => ExportFormat::Json,
        FileFormat::Yaml => ExportFormat::Yaml,
        FileFormat::Env => ExportFormat::Env(form),
    };
    let conns = with_secrets(ctx, a.deployment.as_deref()).await?;
    let text = export_text(&conns, format).map_err(|e| CliError::Message(e.to_string()))?;
    let n = conns.len();
    let secrets =
        "passwords and secret extras in clear text, as `airflow connections export` writes them";
    if to_stdout {
        print!("{text}");
        eprintln!("\n{n} Connections successfully exported.");
        eprintln!(
            "warning: the output holds the connections' {secrets}; do not keep it in logs or files others can read."
        );
    } else {
        crate::home::write_atomic(&a.file, text.as_bytes(), true).map_err(|e| {
            CliError::Message(format!(
                "cannot write {}: {e}; check that its directory exists and is writable",
                a.file.display()
            ))
        })?;
        println!(
            "{n} Connections successfully exported to {}.",
            a.file.display()
        );
        eprintln!(
            "warning: {} holds the connections' {secrets}; it was created with mode 0600 (only you can read it). Keep it private and delete it once imported.",
            a.file.display()
        );
    }
    Ok(())
}

fn urlenc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
