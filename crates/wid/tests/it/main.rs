//! wid's integration tests: one binary (so it links once), the real server on an ephemeral
//! port, real HTTPS, real SQLite (and PostgreSQL where named), an injected clock.

mod common;

mod arm_rules;
mod cli_connections;
mod cli_deployments;
mod cli_session;
mod connections_api;
mod credential;
mod hostile;
mod issuer;
mod managed_identity;
mod persistence;
mod provisioning_shapes;
mod schemathesis;
mod sts_errors;
mod ui_browser;
mod ui_pages;
mod ui_support;
mod webdriver;
