-- The device authorization grant (RFC 8628) of the OpenID Provider for
-- apps (issue 11): the device code and the user code are stored as
-- SHA-256 hashes only, the scopes and the approving person's identity are
-- encrypted in data. status: pending, approved, denied, consumed.
CREATE TABLE device_authorizations (
    id          TEXT   PRIMARY KEY,
    device_hash TEXT   NOT NULL UNIQUE,
    user_hash   TEXT   NOT NULL UNIQUE,
    client_id   TEXT   NOT NULL,
    status      TEXT   NOT NULL DEFAULT 'pending',
    interval_ns BIGINT NOT NULL,
    polled_at   BIGINT NOT NULL,
    slow_down   BIGINT NOT NULL DEFAULT 0,
    failures    BIGINT NOT NULL DEFAULT 0,
    provider    TEXT   NOT NULL DEFAULT '',
    subject     TEXT   NOT NULL DEFAULT '',
    data        BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX device_authorizations_expires ON device_authorizations (expires_at)
