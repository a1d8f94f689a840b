package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

var errSessionNotFound = broker.Errorf(broker.ENOTFOUND, "session_not_found", "Your session has ended. Sign in again.")

func sessionAAD(id string) string { return "broker session\x00" + id }

// CreateSession implements store.Store.
func (s *DB) CreateSession(ctx context.Context, sess *store.Session) error {
	if sess.ID == "" {
		return broker.Errorf(broker.EINVALID, "session_id_empty", "")
	}
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = s.now()
	}
	_, err := s.db.ExecContext(ctx, s.d.rebind(`INSERT INTO sessions (id, subject, provider, data, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`),
		sess.ID, sess.Subject, sess.Provider, s.seal.seal(sess.Data, sessionAAD(sess.ID)), ns(sess.CreatedAt), ns(sess.ExpiresAt))
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
	var out store.Session
	var blob []byte
	var created, expires int64
	err := s.db.QueryRowContext(ctx, s.d.rebind(`SELECT id, subject, provider, data, created_at, expires_at FROM sessions WHERE id = ? AND expires_at > ?`), id, ns(s.now())).
		Scan(&out.ID, &out.Subject, &out.Provider, &blob, &created, &expires)
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
	out.CreatedAt, out.ExpiresAt = fromNS(created), fromNS(expires)
	return &out, nil
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

// DeleteSession implements store.Store.
func (s *DB) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.d.rebind(`DELETE FROM sessions WHERE id = ?`), id); err != nil {
		return s.fail(err, "delete session")
	}
	return nil
}
