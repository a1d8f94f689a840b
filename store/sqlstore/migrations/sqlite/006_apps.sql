-- The broker as an OpenID Provider for apps (issue 11): authorization
-- requests in flight and their codes, access tokens, refresh tokens.
-- Codes and refresh tokens are stored as SHA-256 hashes only, the rest of
-- a request and the person's identity are encrypted in data. A grant is
-- everything that descends from one code (its auth request id): a replayed
-- code or a reused refresh token revokes the grant.
CREATE TABLE app_auth_requests (
    id         TEXT   PRIMARY KEY,
    client_id  TEXT  NOT NULL,
    code_hash  TEXT   UNIQUE,
    redeemed   INTEGER NOT NULL DEFAULT 0,
    done       INTEGER NOT NULL DEFAULT 0,
    provider   TEXT  NOT NULL DEFAULT '',
    subject    TEXT  NOT NULL DEFAULT '',
    data       BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX app_auth_requests_expires ON app_auth_requests (expires_at);
CREATE TABLE app_access_tokens (
    id         TEXT   PRIMARY KEY,
    grant_id   TEXT  NOT NULL,
    client_id  TEXT  NOT NULL,
    provider   TEXT  NOT NULL,
    subject    TEXT  NOT NULL,
    data       BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX app_access_tokens_grant ON app_access_tokens (grant_id);
CREATE INDEX app_access_tokens_person ON app_access_tokens (client_id, provider, subject);
CREATE INDEX app_access_tokens_expires ON app_access_tokens (expires_at);
CREATE TABLE app_refresh_tokens (
    hash       TEXT   PRIMARY KEY,
    grant_id   TEXT  NOT NULL,
    client_id  TEXT  NOT NULL,
    provider   TEXT  NOT NULL,
    subject    TEXT  NOT NULL,
    data       BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated    INTEGER NOT NULL DEFAULT 0,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX app_refresh_tokens_grant ON app_refresh_tokens (grant_id);
CREATE INDEX app_refresh_tokens_person ON app_refresh_tokens (client_id, provider, subject);
CREATE INDEX app_refresh_tokens_expires ON app_refresh_tokens (expires_at)
