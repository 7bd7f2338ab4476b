-- Role assignments of the stand-in ARM: a principal has a role at a scope
-- (a subscription or a resource group) and everything below it.
CREATE TABLE role_assignments (
    name TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    scope_key TEXT NOT NULL,
    role_definition_id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    principal_type TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (scope_key, role_definition_id, principal_id)
);
CREATE INDEX role_assignments_principal ON role_assignments (principal_id);
CREATE INDEX role_assignments_subscription ON role_assignments (subscription_id);
