-- Signing keys' private halves are stored as Fernet tokens, with the same keys as connection
-- secrets (`fernet_key`). Rows written before this migration are plaintext PEM
-- (`is_encrypted = 0`); `Store::encrypt_plaintext_keys`, which the server runs at start under
-- the start-up lock before it reads any key (and `rotate-fernet-key` runs too), encrypts them.
ALTER TABLE signing_keys ADD COLUMN is_encrypted BIGINT NOT NULL DEFAULT 0;
