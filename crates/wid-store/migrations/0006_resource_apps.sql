-- Applications registered in wid as resource principals for users' own APIs (Microsoft
-- Graph's `applications` with `identifierUris`). Identifier URIs are unique per tenant,
-- looked up by a key: lower-cased, without one trailing slash.
CREATE TABLE resource_apps (
    app_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    object_id TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE identifier_uris (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    uri_key TEXT NOT NULL,
    uri TEXT NOT NULL,
    app_id TEXT NOT NULL REFERENCES resource_apps(app_id),
    position BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, uri_key)
);
