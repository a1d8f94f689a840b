ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN upstream_session TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN remote_addr TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_person ON sessions (provider, subject);
CREATE INDEX sessions_upstream ON sessions (provider, upstream_session);
