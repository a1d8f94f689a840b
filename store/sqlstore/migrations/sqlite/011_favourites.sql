-- A person's favourite roles in the portal (issue 14): pinned grant keys
-- per person (provider, subject). Not secret: the rules decide, at each
-- request, whether the person still has the role.
CREATE TABLE favourites (
    provider   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    grant_key  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (provider, subject, grant_key)
)
