package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// CreateAPIToken implements store.TokenStore. Scopes are kept as one
// space-separated column.
func (s *DB) CreateAPIToken(ctx context.Context, t *store.APIToken) error {
	if t.ID == "" || len(t.Hash) != 32 || t.ExpiresAt.IsZero() || !validScopes(t.Scopes) {
		return broker.Errorf(broker.EINVALID, "api_token_invalid", "")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.now()
	}
	_, err := s.db.ExecContext(ctx, s.d.rebind(`INSERT INTO api_tokens (id, name, hash, created_by, creator_provider, creator_subject, scopes, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		t.ID, t.Name, t.Hash, t.CreatedBy, t.CreatorProvider, t.CreatorSubject, strings.Join(t.Scopes, " "), ns(t.CreatedAt), ns(t.ExpiresAt))
	if s.d.isUniqueViolation(err) {
		return broker.Errorf(broker.ECONFLICT, "api_token_exists", "")
	}
	if err != nil {
		return s.fail(err, "create api token")
	}
	return nil
}

// validScopes: at least one, each a word without spaces.
func validScopes(scopes []string) bool {
	for _, sc := range scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\r\n") {
			return false
		}
	}
	return len(scopes) > 0
}

const apiTokenColumns = `id, name, created_by, creator_provider, creator_subject, scopes, created_at, expires_at, last_used_at`

// scanAPIToken reads the apiTokenColumns of one row.
func scanAPIToken(row interface{ Scan(...any) error }) (*store.APIToken, int64, error) {
	var t store.APIToken
	var scopes string
	var created, expires, used int64
	if err := row.Scan(&t.ID, &t.Name, &t.CreatedBy, &t.CreatorProvider, &t.CreatorSubject, &scopes, &created, &expires, &used); err != nil {
		return nil, 0, err
	}
	t.Scopes = strings.Fields(scopes)
	t.CreatedAt, t.ExpiresAt = fromNS(created), fromNS(expires)
	if used > 0 {
		t.LastUsedAt = fromNS(used)
	}
	return &t, used, nil
}

// APITokens implements store.TokenStore.
func (s *DB) APITokens(ctx context.Context) ([]store.APIToken, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, s.fail(err, "list api tokens")
	}
	defer rows.Close()
	var out []store.APIToken
	for rows.Next() {
		t, _, err := scanAPIToken(rows)
		if err != nil {
			return nil, s.fail(err, "list api tokens")
		}
		out = append(out, *t)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list api tokens")
	}
	return out, nil
}

// APITokenByHash implements store.TokenStore.
func (s *DB) APITokenByHash(ctx context.Context, hash []byte) (*store.APIToken, error) {
	t, used, err := scanAPIToken(s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT `+apiTokenColumns+` FROM api_tokens WHERE hash = ?`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, broker.Errorf(broker.ENOTFOUND, "api_token_unknown", "The API token is not valid.")
	}
	if err != nil {
		return nil, s.fail(err, "find api token")
	}
	now := s.now()
	t.LastUsedAt = now
	// Record use at most once a minute: no write per API call.
	if now.Sub(fromNS(used)) > time.Minute {
		if _, err := s.db.ExecContext(ctx, s.d.rebind(`UPDATE api_tokens SET last_used_at = ? WHERE id = ?`), ns(now), t.ID); err != nil {
			return nil, s.fail(err, "find api token")
		}
	}
	return t, nil
}

// DeleteAPIToken implements store.TokenStore.
func (s *DB) DeleteAPIToken(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.d.rebind(`DELETE FROM api_tokens WHERE id = ?`), id); err != nil {
		return s.fail(err, "delete api token")
	}
	return nil
}

func signInAAD(provider, subject string) string {
	return "broker signin\x00" + provider + "\x00" + subject
}

// RecordSignIn implements store.SignInStore.
func (s *DB) RecordSignIn(ctx context.Context, in *store.SignIn) error {
	if in.Time.IsZero() {
		in.Time = s.now()
	}
	blob := s.seal.seal(in.Identity, signInAAD(in.Provider, in.Subject))
	res, err := s.db.ExecContext(ctx, s.d.rebind(`UPDATE signins SET time = ?, identity = ? WHERE provider = ? AND subject = ?`),
		ns(in.Time), blob, in.Provider, in.Subject)
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			_, err = s.db.ExecContext(ctx, s.d.rebind(`INSERT INTO signins (provider, subject, time, identity) VALUES (?, ?, ?, ?)`),
				in.Provider, in.Subject, ns(in.Time), blob)
			if s.d.isUniqueViolation(err) { // a concurrent first sign-in won
				_, err = s.db.ExecContext(ctx, s.d.rebind(`UPDATE signins SET time = ?, identity = ? WHERE provider = ? AND subject = ?`),
					ns(in.Time), blob, in.Provider, in.Subject)
			}
		}
	}
	if err != nil {
		return s.fail(err, "record sign-in")
	}
	return nil
}

// SignIn implements store.SignInStore. A row that does not decrypt (a
// rotated-out key) is as good as absent: ENOTFOUND.
func (s *DB) SignIn(ctx context.Context, provider, subject string) (*store.SignIn, error) {
	in := store.SignIn{Provider: provider, Subject: subject}
	var t int64
	var blob []byte
	err := s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT time, identity FROM signins WHERE provider = ? AND subject = ?`), provider, subject).Scan(&t, &blob)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errSignInUnknown
	}
	if err != nil {
		return nil, s.fail(err, "find sign-in")
	}
	in.Time = fromNS(t)
	if in.Identity, err = s.seal.open(blob, signInAAD(provider, subject)); err != nil {
		s.log.WarnContext(ctx, "a sign-in record does not decrypt with the configured keys", "provider", provider, "subject", subject)
		return nil, errSignInUnknown
	}
	return &in, nil
}

var errSignInUnknown = broker.Errorf(broker.ENOTFOUND, "signin_unknown", "No sign-in of that person is kept.")

// RecentSignIns implements store.SignInStore. Rows that do not decrypt
// (a rotated-out key) are skipped.
func (s *DB) RecentSignIns(ctx context.Context, limit int) ([]store.SignIn, error) {
	if limit <= 0 || limit > 5000 {
		limit = 5000
	}
	rows, err := s.rdb.QueryContext(ctx, s.d.rebind(`SELECT provider, subject, time, identity FROM signins ORDER BY time DESC, provider, subject LIMIT ?`), limit)
	if err != nil {
		return nil, s.fail(err, "recent sign-ins")
	}
	defer rows.Close()
	var out []store.SignIn
	for rows.Next() {
		var in store.SignIn
		var t int64
		var blob []byte
		if err := rows.Scan(&in.Provider, &in.Subject, &t, &blob); err != nil {
			return nil, s.fail(err, "recent sign-ins")
		}
		in.Time = fromNS(t)
		if in.Identity, err = s.seal.open(blob, signInAAD(in.Provider, in.Subject)); err != nil {
			continue
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "recent sign-ins")
	}
	return out, nil
}
