//! `wid up`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use super::{CliError, Context};
use crate::server::{ServerOptions, start};

/// Flags of `wid up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "WID_LISTEN", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Database URL: sqlite://PATH or postgres://USER@HOST:PORT/DB (default: SQLite in WID_HOME).
    #[arg(long, env = "WID_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The public base URL, when clients reach wid by another name than the listen address.
    #[arg(long, env = "WID_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// How long a federated credential write holds its identity, in milliseconds (ARM
    /// refuses concurrent writes on one identity with 409).
    #[arg(long, env = "WID_FIC_WRITE_MS", default_value_t = 100)]
    pub fic_write_ms: u64,
    /// Bound on fetching a federated issuer's discovery document or JWKS, in seconds.
    #[arg(long, env = "WID_OIDC_TIMEOUT", default_value_t = 10)]
    pub oidc_timeout: u64,
    /// Colour in log lines: auto (only when the log goes to a terminal and NO_COLOR is not
    /// set), always, never.
    #[arg(long, env = "WID_LOG_COLOR", value_enum, default_value_t = LogColor::Auto)]
    pub log_color: LogColor,
    /// Log format: text, or json (one JSON object per line, for log collectors).
    #[arg(long, env = "WID_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// On SIGTERM, how long `/readyz` answers 503 before the server stops accepting
    /// connections, in seconds: the time a load balancer (a Kubernetes Service) needs to
    /// take this replica out of its pool. Requests in flight then finish (up to 10 s).
    #[arg(long, env = "WID_DRAIN_SECONDS", default_value_t = 0)]
    pub drain_seconds: u64,
    /// How often signing keys and the Fernet configuration are read again, in
    /// milliseconds (other replicas, or an operator, may rotate them).
    #[arg(long, env = "WID_KEY_REFRESH_MS", default_value_t = 5000)]
    pub key_refresh_ms: u64,
    /// The authority host for connection tests run inside the server (the API's
    /// `/connections/test` and the web UI's Test button): `self` for this wid, or a URL.
    /// Default: AZURE_AUTHORITY_HOST, then Azure's public cloud.
    #[arg(long, env = "WID_CONNECTION_TEST_AUTHORITY")]
    pub connection_test_authority: Option<String>,
    /// Another host name or IP address the server certificate must name (repeatable; the
    /// public URL's host is added on its own). A certificate that lacks one is issued again
    /// by the local CA.
    #[arg(long = "tls-name", env = "WID_TLS_NAMES", value_delimiter = ',')]
    pub tls_names: Vec<String>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// When log lines carry terminal colour codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogColor {
    /// When standard error is a terminal and NO_COLOR is unset or empty.
    Auto,
    /// Always (e.g. under a process manager that renders colour).
    Always,
    /// Never.
    Never,
}

impl LogColor {
    /// Whether to colour, given whether stderr is a terminal and the value of NO_COLOR.
    pub fn enabled(self, terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
        match self {
            LogColor::Always => true,
            LogColor::Never => false,
            LogColor::Auto => terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }
}

/// Starts the server and serves until SIGINT or SIGTERM.
pub async fn run(ctx: &Context, a: UpArgs) -> Result<(), CliError> {
    init_logging(a.log_format, a.log_color);
    let mut opts = ServerOptions::new(ctx.home.clone(), a.listen);
    opts.database_url = a.database_url;
    opts.public_url = a.public_url;
    opts.fic_write_hold = Duration::from_millis(a.fic_write_ms);
    opts.oidc_fetch_timeout = Duration::from_secs(a.oidc_timeout.max(1));
    opts.key_refresh = Duration::from_millis(a.key_refresh_ms.max(100));
    opts.connection_test_authority = a.connection_test_authority;
    opts.tls_names = a.tls_names;
    let server = start(opts, ctx.clock.clone()).await?;
    let d = &server.state.defaults;
    let e = &server.endpoint;
    println!("wid is up at {e}");
    println!();
    println!("  data directory   {}", ctx.home.root().display());
    println!("  database         {}", server.state.store.engine());
    println!(
        "  CA certificate   {}   (trust it: eval \"$(wid env)\")",
        ctx.home.ca_cert().display()
    );
    println!("  tenant           {}", d.tenant_id);
    println!("  subscription     {}", d.subscription_id);
    println!("  resource group   {}", d.resource_group);
    println!("  authority        {e}   (AZURE_AUTHORITY_HOST)");
    println!("  token endpoint   {e}/{}/oauth2/v2.0/token", d.tenant_id);
    println!("  issuer           {}", server.state.config.issuer_url());
    println!("  resource manager {e}/subscriptions/{}", d.subscription_id);
    println!(
        "  admin            {} (secret in {})",
        d.admin_client_id,
        ctx.home.admin_file().display()
    );
    match ctx.home.admin() {
        Ok(_) => println!(
            "  web UI           {e}/   (sign in with the admin key in {})",
            ctx.home.root().join("api-key").display()
        ),
        Err(err) => println!("  web UI           off: {err}"),
    }
    println!();
    println!(
        "Next: wid identity create --name airflow-mi --resource-group {}",
        d.resource_group
    );
    println!("Stop with Ctrl-C.");
    shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = std::fs::remove_file(ctx.home.server_file());
    server
        .drain_and_shutdown(Duration::from_secs(a.drain_seconds))
        .await;
    Ok(())
}

/// Logs to stderr in `format`, filtered by `WID_LOG` (default `info`).
///
/// Each line is written where it happens, one write per line. A writer thread of its own
/// (`tracing-appender`) was measured and left out: on two cores, a third thread to wake per
/// request line took the single connection read's p99 from 1.7 ms to 2.5–4.3 ms.
pub(super) fn init_logging(format: LogFormat, color: LogColor) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WID_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    match format {
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(color.enabled(
                std::io::IsTerminal::is_terminal(&std::io::stderr()),
                std::env::var_os("NO_COLOR").as_deref(),
            ))
            .init(),
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::LogColor;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_unless_asked() {
        assert!(LogColor::Auto.enabled(true, None));
        assert!(!LogColor::Auto.enabled(false, None));
        assert!(!LogColor::Auto.enabled(true, Some(OsStr::new("1"))));
        assert!(LogColor::Auto.enabled(true, Some(OsStr::new(""))));
        assert!(LogColor::Always.enabled(false, Some(OsStr::new("1"))));
        assert!(!LogColor::Never.enabled(true, None));
    }
}
