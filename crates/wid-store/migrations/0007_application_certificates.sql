-- Certificates of applications (Entra's keyCredentials): a client assertion whose `x5t` names
-- one is verified with its public key, kept as a JWK. The thumbprint is the base64url SHA-1 of
-- the certificate's DER encoding, as `x5t` carries it.
CREATE TABLE application_certificates (
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    thumbprint TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, client_id, thumbprint)
);
