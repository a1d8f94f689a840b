-- Consents people gave third-party apps of the OpenID Provider (issue 11):
-- one row per person and client, the scopes granted (beyond openid) as a
-- space-separated list. Revoking a consent deletes its row.
CREATE TABLE app_consents (
    provider   TEXT   NOT NULL,
    subject    TEXT   NOT NULL,
    client_id  TEXT   NOT NULL,
    scopes     TEXT   NOT NULL,
    granted_at BIGINT  NOT NULL,
    PRIMARY KEY (provider, subject, client_id)
)
