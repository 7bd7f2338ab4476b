-- Connections linked to deployments, with per-deployment overrides of fields (JSON object).
CREATE TABLE connection_links (
    conn_id TEXT NOT NULL,
    deployment TEXT NOT NULL,
    overrides TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (conn_id, deployment)
);
