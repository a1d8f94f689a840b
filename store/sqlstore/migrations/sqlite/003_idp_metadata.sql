CREATE TABLE idp_metadata (
    provider   TEXT    PRIMARY KEY,
    source     TEXT    NOT NULL,
    xml        BLOB    NOT NULL,
    fetched_at INTEGER NOT NULL
);
