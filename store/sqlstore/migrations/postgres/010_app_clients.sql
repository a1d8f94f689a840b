-- Apps (OAuth clients) admins register with the OpenID Provider in the
-- admin UI, the JSON API or `broker clients apply` (apps in the config file
-- are not stored). spec is the registration as encoded by package apps
-- (redirect URIs, scopes, ...): not secret, stored plain. A confidential
-- app's secret is kept only as its SHA-256 hash. version counts changes:
-- an update or delete names the version it read and changes nothing if
-- the row moved on.
CREATE TABLE app_clients (
    id          TEXT   PRIMARY KEY,
    spec        BYTEA  NOT NULL,
    secret_hash TEXT   NOT NULL DEFAULT '',
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    created_by  TEXT   NOT NULL DEFAULT '',
    updated_by  TEXT   NOT NULL DEFAULT ''
);
-- Revoking every token of one person (all apps) and forgetting every
-- consent to a deleted app: the existing indexes lead with client_id, or
-- provider for consents.
CREATE INDEX app_access_tokens_subject ON app_access_tokens (provider, subject);
CREATE INDEX app_refresh_tokens_subject ON app_refresh_tokens (provider, subject);
CREATE INDEX app_consents_client ON app_consents (client_id)
