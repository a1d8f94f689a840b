CREATE TABLE rules (
    name       TEXT    PRIMARY KEY,
    position   BIGINT  NOT NULL,
    rule       TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    updated_by TEXT    NOT NULL
);

CREATE TABLE rule_changes (
    id      BIGSERIAL PRIMARY KEY,
    name    TEXT    NOT NULL,
    version BIGINT  NOT NULL,
    action  TEXT    NOT NULL,
    rule    TEXT,
    actor   TEXT    NOT NULL,
    time    BIGINT  NOT NULL
);
CREATE INDEX rule_changes_name ON rule_changes (name, id);

CREATE TABLE rules_meta (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision BIGINT  NOT NULL
);
INSERT INTO rules_meta (id, revision) VALUES (1, 0);

CREATE TABLE accounts (
    id    TEXT PRIMARY KEY,
    alias TEXT NOT NULL DEFAULT '',
    label TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX accounts_alias ON accounts (alias) WHERE alias <> '';

CREATE TABLE api_tokens (
    id           TEXT    PRIMARY KEY,
    name         TEXT    NOT NULL,
    hash         BYTEA    NOT NULL UNIQUE,
    created_by   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE signins (
    provider TEXT    NOT NULL,
    subject  TEXT    NOT NULL,
    time     BIGINT  NOT NULL,
    identity BYTEA    NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX signins_time ON signins (time);
