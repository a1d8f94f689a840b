-- Admin API tokens expire, carry scopes and name their creator apart
-- (issue 10). Tokens created before this migration never expired and could
-- do everything: they get an expiry of the migration time + 90 days (never
-- unlimited) and every scope that existed then (rules, audit and accounts,
-- read and write). Their creator was recorded as "provider/subject"
-- (provider ids hold no slash), split here into provider and subject.
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN creator_provider TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN creator_subject TEXT NOT NULL DEFAULT '';
UPDATE api_tokens SET
    expires_at = (CAST(strftime('%s', 'now') AS INTEGER) + 90 * 86400) * 1000000000,
    scopes = 'rules:read rules:write audit:read accounts:read accounts:write';
UPDATE api_tokens SET
    creator_provider = substr(created_by, 1, instr(created_by, '/') - 1),
    creator_subject = substr(created_by, instr(created_by, '/') + 1)
WHERE instr(created_by, '/') > 1;
