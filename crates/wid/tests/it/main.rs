//! wid's integration tests: one binary (so it links once), the real server on an ephemeral
//! port, real HTTPS, real SQLite (and PostgreSQL where named), an injected clock.

mod common;

mod agent;
mod airflow_export;
mod airflow_secrets_backend;
mod arm_rules;
mod az;
mod az_cli;
mod cli_connections;
mod cli_deployments;
mod cli_env;
mod cli_session;
mod connections_api;
mod connections_export_api;
mod crash;
mod credential;
mod deployment_secrets_api;
mod doctor;
mod generated_requests;
mod hostile;
mod issuer;
mod js_sdk;
mod managed_identity;
mod operator;
mod ops;
mod persistence;
mod provisioning_shapes;
mod replicas;
mod replicas_haproxy;
mod schemathesis;
mod secrets_scan;
mod sts_errors;
mod sts_fidelity;
mod ui_browser;
mod ui_pages;
mod ui_support;
mod webdriver;
