package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// The write of an accepted sign-in, in one transaction, and the readiness
// write check.

const (
	rememberSQL = `INSERT INTO replay (namespace, key, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (namespace, key) DO UPDATE SET expires_at = excluded.expires_at
		WHERE replay.expires_at <= ?`
	createSessionSQL = `INSERT INTO sessions (id, subject, provider, data, created_at, expires_at, last_seen_at, upstream_session, remote_addr, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	upsertSignInSQL = `INSERT INTO signins (provider, subject, time, identity) VALUES (?, ?, ?, ?)
		ON CONFLICT (provider, subject) DO UPDATE SET time = excluded.time, identity = excluded.identity`
	endSessionSQL  = `DELETE FROM sessions WHERE id = ?`
	appendAuditSQL = `INSERT INTO audit (time, request_id, event, result, reason, message, provider, subject, role_arn, session_name, remote_addr, user_agent, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
)

// prepareHot prepares the hot write path's statements (DB.hotStmts).
func (s *DB) prepareHot(ctx context.Context) error {
	s.hotStmts = map[string]*sql.Stmt{}
	for _, q := range []string{rememberSQL, endSessionSQL, createSessionSQL, upsertSignInSQL, appendAuditSQL} {
		st, err := s.db.PrepareContext(ctx, s.d.rebind(q))
		if err != nil {
			return fmt.Errorf("sqlstore: prepare the sign-in and audit writes: %w", err)
		}
		s.hotStmts[q] = st
	}
	return nil
}

// stmt is q, prepared at Open, in tx.
func (s *DB) stmt(ctx context.Context, tx *sql.Tx, q string) *sql.Stmt {
	return tx.StmtContext(ctx, s.hotStmts[q])
}

// errReplay is the EREPLAY of a one-time value recorded and unexpired.
func errReplay() error {
	return broker.Errorf(broker.EREPLAY, "replay", "This sign-in response was already used. Sign in again.")
}

// CompleteSignIn implements store.Store: every value is sealed and encoded
// first, then one transaction runs five statements at most.
func (s *DB) CompleteSignIn(ctx context.Context, w *store.SignInWrite) error {
	if w == nil || w.Session == nil || w.Session.ID == "" || w.Audit == nil {
		return broker.Errorf(broker.EINVALID, "signin_write_incomplete", "")
	}
	now := s.now()
	sess := w.Session
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = now
	}
	if sess.LastSeenAt.IsZero() {
		sess.LastSeenAt = sess.CreatedAt
	}
	sessionArgs := []any{sess.ID, sess.Subject, sess.Provider, s.seal.seal(sess.Data, sessionAAD(sess.ID)), ns(sess.CreatedAt), ns(sess.ExpiresAt),
		ns(sess.LastSeenAt), sess.UpstreamSession, clip(sess.RemoteAddr, 100), clip(sess.UserAgent, 500)}
	var signInArgs []any
	if in := w.SignIn; in != nil {
		if in.Time.IsZero() {
			in.Time = now
		}
		signInArgs = []any{in.Provider, in.Subject, ns(in.Time), s.seal.seal(in.Identity, signInAAD(in.Provider, in.Subject))}
	}
	auditArgs := s.auditArgs(w.Audit)

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err, "complete sign-in")
	}
	defer tx.Rollback()
	if r := w.Replay; r.Namespace != "" {
		res, err := s.stmt(ctx, tx, rememberSQL).ExecContext(ctx, r.Namespace, r.Key, ns(r.Expires), ns(now))
		if err != nil {
			return s.fail(err, "complete sign-in: replay")
		}
		if n, err := res.RowsAffected(); err != nil {
			return s.fail(err, "complete sign-in: replay")
		} else if n == 0 {
			return errReplay()
		}
	}
	if w.Replaces != "" {
		if _, err := s.stmt(ctx, tx, endSessionSQL).ExecContext(ctx, w.Replaces); err != nil {
			return s.fail(err, "complete sign-in: end the previous session")
		}
	}
	if _, err := s.stmt(ctx, tx, createSessionSQL).ExecContext(ctx, sessionArgs...); s.d.isUniqueViolation(err) {
		return broker.Errorf(broker.ECONFLICT, "session_exists", "")
	} else if err != nil {
		return s.fail(err, "complete sign-in: session")
	}
	if signInArgs != nil {
		if _, err := s.stmt(ctx, tx, upsertSignInSQL).ExecContext(ctx, signInArgs...); err != nil {
			return s.fail(err, "complete sign-in: sign-in record")
		}
	}
	var id int64
	if err := s.stmt(ctx, tx, appendAuditSQL).QueryRowContext(ctx, auditArgs...).Scan(&id); err != nil {
		return s.fail(err, "complete sign-in: audit")
	}
	if err := tx.Commit(); err != nil {
		return s.fail(err, "complete sign-in: commit")
	}
	w.Audit.ID = id
	return nil
}

// auditArgs are the arguments of appendAuditSQL for e, setting e.Time if zero.
func (s *DB) auditArgs(e *store.AuditEvent) []any {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	details := []byte("{}")
	if len(e.Details) > 0 {
		details, _ = json.Marshal(e.Details)
	}
	return []any{ns(e.Time), e.RequestID, e.Event, e.Result, e.Reason, clip(e.Message, 1000), e.Provider, e.Subject, e.RoleARN, e.SessionName,
		e.RemoteAddr, clip(e.UserAgent, 500), string(details)}
}

// CheckWrite implements store.Store: one row of write_check, upserted and
// committed, so that a read-only database (PostgreSQL's
// default_transaction_read_only, a read-only SQLite file) or a full disk
// fails it as it would fail a sign-in; for a SQLite file, the disk must
// also have MinFreeDisk free (checkFreeDisk: the upsert alone fits in
// pages the file already has).
func (s *DB) CheckWrite(ctx context.Context) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO write_check (id, checked_at) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`), ns(s.now()))
		return err
	})
	if err != nil {
		return s.fail(err, "check write")
	}
	return s.checkFreeDisk()
}

// inTx runs fn in a transaction and commits it.
func (s *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
