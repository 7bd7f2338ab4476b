-- Web UI sessions that were signed out before their end. A session is a signed cookie that any
-- replica accepts; signing out records the SHA-256 of its nonce here until the cookie would
-- have expired, so that every replica refuses it.
CREATE TABLE ended_sessions (
    nonce_sha256 TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX ended_sessions_expires ON ended_sessions (expires_at)
