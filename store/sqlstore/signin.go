package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

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
// first, then one transaction runs five statements at most. On SQLite,
// sign-ins that arrive while another's is being written are committed
// together, in one transaction (group commit, signInQueue); each still
// returns only once its own write is committed.
func (s *DB) CompleteSignIn(ctx context.Context, w *store.SignInWrite) error {
	if w == nil || w.Session == nil || w.Session.ID == "" || w.Audit == nil {
		return broker.Errorf(broker.EINVALID, "signin_write_incomplete", "")
	}
	p := s.prepareSignIn(w)
	var err error
	if s.d.name() == "sqlite" {
		err = s.signIns.write(ctx, s, p)
	} else {
		err = s.commitAlone(ctx, s.db, p)
	}
	if err != nil {
		return err
	}
	w.Audit.ID = p.id
	return nil
}

// preparedSignIn is a sign-in's write, sealed and encoded, and then its
// outcome.
type preparedSignIn struct {
	w                      *store.SignInWrite
	now                    int64
	session, signIn, audit []any
	id                     int64 // the audit event's, once written
	err                    error
	// wake gets one value: when the write is done (err and id are set), or
	// when its writer is to lead the next group (signInQueue).
	wake chan struct{}
	done bool
}

func (s *DB) prepareSignIn(w *store.SignInWrite) *preparedSignIn {
	now := s.now()
	sess := w.Session
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = now
	}
	if sess.LastSeenAt.IsZero() {
		sess.LastSeenAt = sess.CreatedAt
	}
	p := &preparedSignIn{w: w, now: ns(now), audit: s.auditArgs(w.Audit)}
	p.session = []any{sess.ID, sess.Subject, sess.Provider, s.seal.seal(sess.Data, sessionAAD(sess.ID)), ns(sess.CreatedAt), ns(sess.ExpiresAt),
		ns(sess.LastSeenAt), sess.UpstreamSession, clip(sess.RemoteAddr, 100), clip(sess.UserAgent, 500)}
	if in := w.SignIn; in != nil {
		if in.Time.IsZero() {
			in.Time = now
		}
		p.signIn = []any{in.Provider, in.Subject, ns(in.Time), s.seal.seal(in.Identity, signInAAD(in.Provider, in.Subject))}
	}
	return p
}

// applySignIn runs p's statements in tx and sets p.id. Its error is the
// sign-in's: EREPLAY (nothing written), ECONFLICT session_exists, or the
// store's failure.
func (s *DB) applySignIn(ctx context.Context, tx *sql.Tx, p *preparedSignIn) error {
	w := p.w
	if r := w.Replay; r.Namespace != "" {
		res, err := s.stmt(ctx, tx, rememberSQL).ExecContext(ctx, r.Namespace, r.Key, ns(r.Expires), p.now)
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
	if _, err := s.stmt(ctx, tx, createSessionSQL).ExecContext(ctx, p.session...); s.d.isUniqueViolation(err) {
		return broker.Errorf(broker.ECONFLICT, "session_exists", "")
	} else if err != nil {
		return s.fail(err, "complete sign-in: session")
	}
	if p.signIn != nil {
		if _, err := s.stmt(ctx, tx, upsertSignInSQL).ExecContext(ctx, p.signIn...); err != nil {
			return s.fail(err, "complete sign-in: sign-in record")
		}
	}
	id, err := s.insertAudit(ctx, s.stmt(ctx, tx, appendAuditSQL), p.audit)
	if err != nil {
		return s.fail(err, "complete sign-in: audit")
	}
	p.id = id
	return nil
}

// maxGroup bounds the sign-ins one transaction commits together.
const maxGroup = 64

// writerWait bounds a group's wait for the writer connection (as long as
// SQLite's own busy timeout, _busy_timeout in openSQLite); signInQueue.wait
// overrides it in tests.
const writerWait = 10 * time.Second

// signInQueue commits SQLite sign-ins in groups (the writer queue of
// LevelDB and RocksDB). A sign-in joins the queue; the one at its head
// leads: it takes the writer connection, then every sign-in queued by
// then (maxGroup at most) into one transaction, commits it, hands each
// its outcome and wakes the next head. At one sign-in at a time the group
// is that one, written as before; at several, one commit (its WAL frames
// for the pages they share, its locks, its syscalls) serves them all, and
// none waits for more than the group ahead of it and its own.
type signInQueue struct {
	// wait is writerWait, unless set.
	wait time.Duration
	mu   sync.Mutex
	q    []*preparedSignIn
	// groups and grouped count the transactions tried and the sign-ins in
	// them (grouped/groups is the mean group size).
	groups, grouped atomic.Int64
}

func (g *signInQueue) write(ctx context.Context, s *DB, p *preparedSignIn) error {
	p.wake = make(chan struct{}, 1)
	g.mu.Lock()
	g.q = append(g.q, p)
	lead := len(g.q) == 1
	g.mu.Unlock()
	if !lead {
		// The wait is a group ahead and this one's, each at most maxGroup
		// short writes; a request that ends meanwhile still has its
		// sign-in written (or refused) as if it had stayed.
		<-p.wake
		g.mu.Lock()
		done := p.done
		g.mu.Unlock()
		if done {
			return p.err
		}
	}
	// p leads: it is g.q[0].
	wait := g.wait
	if wait == 0 {
		wait = writerWait
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
	conn, err := s.db.Conn(cctx)
	cancel()
	g.mu.Lock()
	group := slices.Clone(g.q[:min(len(g.q), maxGroup)])
	g.mu.Unlock()
	// Whatever happens below (a panic included), the group leaves the
	// queue with an outcome each, and the next head is woken.
	defer func() {
		r := recover()
		g.mu.Lock()
		g.q = slices.Delete(g.q, 0, len(group))
		for _, q := range group {
			if r != nil && q.err == nil {
				q.err = broker.Errorf(broker.EINTERNAL, "store_error", "")
			}
			if q != p {
				q.done = true
				q.wake <- struct{}{}
			}
		}
		if len(g.q) > 0 {
			g.q[0].wake <- struct{}{}
		}
		g.mu.Unlock()
		if r != nil {
			panic(r)
		}
	}()
	if err != nil {
		err = s.fail(err, "complete sign-in")
		for _, q := range group {
			q.err = err
		}
		return p.err
	}
	defer conn.Close()
	s.commitGroup(s.d.stmtContext(ctx), conn, group)
	return p.err
}

// commitGroup writes group on conn: a group of one in its own
// transaction; a larger one in one transaction, where a sign-in refused
// as a replay (it has written nothing) is left out; if that transaction
// fails in any other way, each sign-in again in its own, so that each
// gets its own outcome.
func (s *DB) commitGroup(ctx context.Context, conn *sql.Conn, group []*preparedSignIn) {
	if len(group) > 1 {
		s.signIns.groups.Add(1)
		s.signIns.grouped.Add(int64(len(group)))
		if s.commitTogether(ctx, conn, group) == nil {
			return
		}
	}
	for _, p := range group {
		p.id = 0
		p.err = s.commitAlone(ctx, conn, p)
		s.signIns.groups.Add(1)
		s.signIns.grouped.Add(1)
	}
}

// txBeginner is a *sql.DB or a *sql.Conn.
type txBeginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// commitAlone writes p in a transaction of its own begun on b.
func (s *DB) commitAlone(ctx context.Context, b txBeginner, p *preparedSignIn) error {
	tx, err := b.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err, "complete sign-in")
	}
	defer tx.Rollback()
	if err := s.applySignIn(ctx, tx, p); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.fail(err, "complete sign-in: commit")
	}
	return nil
}

func (s *DB) commitTogether(ctx context.Context, conn *sql.Conn, group []*preparedSignIn) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, p := range group {
		p.err = s.applySignIn(ctx, tx, p)
		if p.err != nil && broker.ErrorCode(p.err) != broker.EREPLAY {
			return p.err
		}
	}
	return tx.Commit()
}

// insertAudit runs appendAuditSQL, prepared as st, and returns the new
// event's id: on SQLite its rowid (an Exec: a query's rows, in a
// transaction, would start a goroutine in database/sql to watch the
// context), elsewhere the id it returns.
func (s *DB) insertAudit(ctx context.Context, st *sql.Stmt, args []any) (int64, error) {
	if s.d.name() == "sqlite" {
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	var id int64
	err := st.QueryRowContext(ctx, args...).Scan(&id)
	return id, err
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
