CREATE TABLE write_check (
    id         INTEGER PRIMARY KEY,
    checked_at BIGINT  NOT NULL
);
