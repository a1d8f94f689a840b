package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

var errSessionNotFound = broker.Errorf(broker.ENOTFOUND, "session_not_found", "Your session has ended. Sign in again.")

func sessionAAD(id string) string { return "broker session\x00" + id }

// sessionColumns are the columns of a session without its data, in the
// order scanSession reads them.
const sessionColumns = `id, subject, provider, created_at, expires_at, last_seen_at, upstream_session, remote_addr, user_agent`

// CreateSession implements store.Store.
func (s *DB) CreateSession(ctx context.Context, sess *store.Session) error {
	if sess.ID == "" {
		return broker.Errorf(broker.EINVALID, "session_id_empty", "")
	}
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = s.now()
	}
	if sess.LastSeenAt.IsZero() {
		sess.LastSeenAt = sess.CreatedAt
	}
	_, err := s.hotStmts[createSessionSQL].ExecContext(ctx,
		sess.ID, sess.Subject, sess.Provider, s.seal.seal(sess.Data, sessionAAD(sess.ID)), ns(sess.CreatedAt), ns(sess.ExpiresAt),
		ns(sess.LastSeenAt), sess.UpstreamSession, clip(sess.RemoteAddr, 100), clip(sess.UserAgent, 500))
	if s.d.isUniqueViolation(err) {
		return broker.Errorf(broker.ECONFLICT, "session_exists", "")
	}
	if err != nil {
		return s.fail(err, "create session")
	}
	return nil
}

// GetSession implements store.Store.
func (s *DB) GetSession(ctx context.Context, id string) (*store.Session, error) {
	var blob []byte
	row := s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT `+sessionColumns+`, data FROM sessions WHERE id = ? AND expires_at > ?`), id, ns(s.now()))
	out, err := scanSession(row, &blob)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errSessionNotFound
	}
	if err != nil {
		return nil, s.fail(err, "get session")
	}
	out.Data, err = s.seal.open(blob, sessionAAD(id))
	if err != nil {
		return nil, broker.Wrap(fmt.Errorf("session %.8s…: %w", id, err), broker.EINTERNAL, "decrypt_failed", "")
	}
	return &out, nil
}

// scanSession reads sessionColumns, then extra (the data, when selected).
func scanSession(row interface{ Scan(...any) error }, extra ...any) (store.Session, error) {
	var out store.Session
	var created, expires, seen int64
	dest := append([]any{&out.ID, &out.Subject, &out.Provider, &created, &expires, &seen, &out.UpstreamSession, &out.RemoteAddr, &out.UserAgent}, extra...)
	if err := row.Scan(dest...); err != nil {
		return out, err
	}
	out.CreatedAt, out.ExpiresAt = fromNS(created), fromNS(expires)
	if seen != 0 {
		out.LastSeenAt = fromNS(seen)
	}
	return out, nil
}

// UpdateSession implements store.Store.
func (s *DB) UpdateSession(ctx context.Context, id string, data []byte, expires time.Time) error {
	res, err := s.db.ExecContext(ctx, s.d.rebind(`UPDATE sessions SET data = ?, expires_at = ? WHERE id = ? AND expires_at > ?`),
		s.seal.seal(data, sessionAAD(id)), ns(expires), id, ns(s.now()))
	if err != nil {
		return s.fail(err, "update session")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errSessionNotFound
	}
	return nil
}

// TouchSession implements store.Store.
func (s *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.d.rebind(`UPDATE sessions SET last_seen_at = ? WHERE id = ? AND expires_at > ?`), ns(at), id, ns(s.now()))
	if err != nil {
		return s.fail(err, "touch session")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errSessionNotFound
	}
	return nil
}

// DeleteSession implements store.Store.
func (s *DB) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.d.rebind(`DELETE FROM sessions WHERE id = ?`), id); err != nil {
		return s.fail(err, "delete session")
	}
	return nil
}

// sessionWhere is the WHERE clause of live sessions matching f, and its arguments.
func (s *DB) sessionWhere(f store.SessionFilter) (string, []any) {
	where := []string{"expires_at > ?"}
	args := []any{ns(s.now())}
	for _, c := range [...]struct{ cond, v string }{
		{"provider = ?", f.Provider}, {"subject = ?", f.Subject}, {"upstream_session = ?", f.UpstreamSession},
		{"id = ?", f.ID}, {"id <> ?", f.Except},
	} {
		if c.v != "" {
			where = append(where, c.cond)
			args = append(args, c.v)
		}
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// ListSessions implements store.Store.
func (s *DB) ListSessions(ctx context.Context, f store.SessionFilter) ([]store.Session, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	where, args := s.sessionWhere(f)
	rows, err := s.rdb.QueryContext(ctx, s.d.rebind(`SELECT `+sessionColumns+` FROM sessions`+where+` ORDER BY created_at DESC, id DESC LIMIT ?`), append(args, limit)...)
	if err != nil {
		return nil, s.fail(err, "list sessions")
	}
	return s.collectSessions(rows, "list sessions")
}

// DeleteSessions implements store.Store.
func (s *DB) DeleteSessions(ctx context.Context, f store.SessionFilter) ([]store.Session, error) {
	if f.Provider == "" && f.Subject == "" {
		return nil, broker.Errorf(broker.EINVALID, "session_filter_too_broad", "Name whose sessions to end.")
	}
	where, args := s.sessionWhere(f)
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`DELETE FROM sessions`+where+` RETURNING `+sessionColumns), args...)
	if err != nil {
		return nil, s.fail(err, "delete sessions")
	}
	out, err := s.collectSessions(rows, "delete sessions")
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// collectSessions reads sessions (without data) and closes rows.
func (s *DB) collectSessions(rows *sql.Rows, op string) ([]store.Session, error) {
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, s.fail(err, op)
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, op)
	}
	return out, nil
}
