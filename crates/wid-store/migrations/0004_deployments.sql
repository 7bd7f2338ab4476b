-- Airflow deployments (their settings as JSON) and the federated credentials that
-- assign-identity created for them, so that unassign-identity removes exactly those.
CREATE TABLE deployments (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    assignment TEXT,
    created_at BIGINT NOT NULL
);
