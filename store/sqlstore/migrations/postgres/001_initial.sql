CREATE TABLE replay (
    namespace  TEXT   NOT NULL,
    key        TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE INDEX replay_expires ON replay (expires_at);

CREATE TABLE sessions (
    id         TEXT   PRIMARY KEY,
    subject    TEXT   NOT NULL,
    provider   TEXT   NOT NULL,
    data       BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE audit (
    id           BIGSERIAL PRIMARY KEY,
    time         BIGINT NOT NULL,
    request_id   TEXT   NOT NULL DEFAULT '',
    event        TEXT   NOT NULL,
    result       TEXT   NOT NULL,
    reason       TEXT   NOT NULL DEFAULT '',
    message      TEXT   NOT NULL DEFAULT '',
    provider     TEXT   NOT NULL DEFAULT '',
    subject      TEXT   NOT NULL DEFAULT '',
    role_arn     TEXT   NOT NULL DEFAULT '',
    session_name TEXT   NOT NULL DEFAULT '',
    remote_addr  TEXT   NOT NULL DEFAULT '',
    user_agent   TEXT   NOT NULL DEFAULT '',
    details      TEXT   NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_time ON audit (time);
CREATE INDEX audit_subject ON audit (subject, id);
CREATE INDEX audit_event ON audit (event, id);
CREATE INDEX audit_role ON audit (role_arn, id)
