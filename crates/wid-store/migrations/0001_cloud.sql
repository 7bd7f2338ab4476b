-- The stand-in cloud: directory, subscriptions, resource groups, identities and their
-- federated credentials, applications with secrets, and signing keys.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. ARM names are case-insensitive,
-- so every name has a lower-cased key column that the primary keys use.
CREATE TABLE meta (
    k TEXT PRIMARY KEY,
    v TEXT NOT NULL
);
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    display_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE resource_groups (
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id),
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    location TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, name_key)
);
CREATE TABLE identities (
    principal_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    subscription_id TEXT NOT NULL,
    rg_key TEXT NOT NULL,
    rg_name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    location TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (subscription_id, rg_key, name_key)
);
CREATE TABLE federated_credentials (
    identity_principal_id TEXT NOT NULL REFERENCES identities(principal_id),
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    audience TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (identity_principal_id, name_key),
    UNIQUE (identity_principal_id, issuer, subject)
);
CREATE TABLE applications (
    client_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    principal_id TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT,
    expires_at BIGINT
);
CREATE INDEX federated_credentials_issuer ON federated_credentials (issuer);
