-- Admin-defined short links /go/NAME (issue 11, deep links): a name for
-- a /go link's parameters: routing data like the account aliases (not
-- secret), with empty strings for the parameters a link leaves out.
CREATE TABLE short_links (
    name        TEXT    PRIMARY KEY,
    account     TEXT    NOT NULL DEFAULT '',
    role        TEXT    NOT NULL,
    destination TEXT    NOT NULL DEFAULT '',
    region      TEXT    NOT NULL DEFAULT '',
    via         TEXT    NOT NULL DEFAULT '',
    description TEXT    NOT NULL DEFAULT '',
    updated_by  TEXT    NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL
)
