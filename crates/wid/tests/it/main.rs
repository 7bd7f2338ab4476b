//! wid's integration tests: one binary (so it links once), the real server on an ephemeral
//! port, real HTTPS, real SQLite (and PostgreSQL where named), an injected clock.

mod common;

mod airflow_export;
mod arm_rules;
mod az_cli;
mod cli_connections;
mod cli_deployments;
mod cli_env;
mod cli_session;
mod connections_api;
mod connections_export_api;
mod credential;
mod doctor;
mod hostile;
mod issuer;
mod js_sdk;
mod managed_identity;
mod ops;
mod persistence;
mod provisioning_shapes;
mod replicas;
mod replicas_haproxy;
mod schemathesis;
mod sts_errors;
mod sts_fidelity;
mod ui_browser;
mod ui_pages;
mod ui_support;
mod webdriver;
