CREATE TABLE idp_metadata (
    provider   TEXT    PRIMARY KEY,
    source     TEXT    NOT NULL,
    xml        BYTEA   NOT NULL,
    fetched_at BIGINT  NOT NULL
);
