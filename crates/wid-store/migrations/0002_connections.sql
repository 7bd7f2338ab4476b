-- Airflow connections (airflow.models.connection.Connection). password and extra hold Fernet
-- tokens made with [core] fernet_key; is_encrypted and is_extra_encrypted say so, as in
-- Airflow (0 or 1). schema is a reserved word in places, hence schema_name. created_at orders
-- the rows by insertion, as Airflow's integer id does.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL.
CREATE TABLE connections (
    conn_id TEXT PRIMARY KEY,
    conn_type TEXT NOT NULL,
    description TEXT,
    host TEXT,
    schema_name TEXT,
    login TEXT,
    password TEXT,
    port BIGINT,
    extra TEXT,
    is_encrypted BIGINT NOT NULL,
    is_extra_encrypted BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX connections_created_at ON connections (created_at, conn_id);
