package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver for PostgreSQL
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver, pure Go

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// Config configures Open.
type Config struct {
	// Driver is "sqlite" (default) or "postgres".
	Driver string
	// DSN is the SQLite file path (its directory is created, 0700; the file
	// is 0600) or ":memory:", or a PostgreSQL URL or key=value string.
	DSN string
	// Keys encrypt session data at rest (AES-256-GCM, 32 bytes each):
	// Keys[0] encrypts, all decrypt.
	Keys   [][]byte
	Now    func() time.Time
	Logger *slog.Logger
}

// DB is a store.Store on a SQL database.
type DB struct {
	// db takes every write. On a SQLite file it is one connection:
	// writers queue for it in Go, each handed it the moment the one before
	// commits, instead of meeting SQLITE_BUSY and sleeping in SQLite's
	// busy handler (1 ms, 2 ms, ... up to 100 ms a try): at 8 concurrent
	// sign-ins that polling was the tail (p99 170 ms, max 0.8 s over HTTP;
	// 50 ms and 80 ms with the queue).
	db *sql.DB
	// rdb takes reads that are not part of a write: on a SQLite file a
	// pool of query_only connections (WAL: readers do not wait for the
	// writer, so an admin's slow audit search stalls no sign-in); else db.
	rdb    *sql.DB
	d      dialect
	seal   *sealer
	now    func() time.Time
	log    *slog.Logger
	driver string
	// path is the SQLite file ("" for PostgreSQL and SQLite in memory).
	path string
	// batch bounds the rows one purge statement deletes (purgeBatch).
	batch int
	// hotStmts are the statements of every sign-in and role assumption
	// (CompleteSignIn's, the audit append, the replay record), prepared
	// once at Open (prepareHot): SQLite spent a third of the sign-in's
	// write preparing them again each time. A transaction takes them with
	// Tx.StmtContext, which prepares each on a connection once and reuses
	// it there (a new connection, after PostgreSQL comes back, prepares
	// afresh).
	hotStmts map[string]*sql.Stmt
	// signIns commits SQLite sign-ins in groups (CompleteSignIn).
	signIns signInQueue
	// minFree is the free disk CheckWrite wants for a SQLite file (MinFreeDisk).
	minFree int64
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) and migrates the database.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	seal, err := newSealer(cfg.Keys)
	if err != nil {
		return nil, err
	}
	s := &DB{seal: seal, now: cfg.Now, log: cfg.Logger, driver: cfg.Driver, batch: purgeBatch, minFree: MinFreeDisk}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	switch cfg.Driver {
	case "", "sqlite":
		s.driver = "sqlite"
		s.d = sqliteDialect{}
		if s.db, s.rdb, err = openSQLite(cfg.DSN); err != nil {
			return nil, err
		}
		if !strings.Contains(cfg.DSN, ":memory:") {
			s.path = cfg.DSN
		}
	case "postgres":
		s.d = postgresDialect{}
		if s.db, err = openPostgres(cfg.DSN); err != nil {
			return nil, err
		}
		s.rdb = s.db
	default:
		return nil, fmt.Errorf("sqlstore: unknown driver %q", cfg.Driver)
	}
	if err := s.migrateRetrying(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if s.path != "" {
		if err := s.useIncrementalVacuum(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	if err := s.prepareHot(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// migrateRetrying migrates, retrying while SQLite reports the file busy: a
// connection that switches a fresh file to WAL while another process opens
// it gets SQLITE_BUSY at once, without waiting out busy_timeout.
func (s *DB) migrateRetrying(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		err := s.Migrate(ctx)
		if err == nil || s.d.name() != "sqlite" || attempt == 50 || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			return err
		}
		s.log.Debug("store busy while migrating; retrying", "attempt", attempt+1)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(20+attempt*10) * time.Millisecond):
		}
	}
}

func openPostgres(dsn string) (*sql.DB, error) {
	if dsn == "" {
		return nil, errors.New("sqlstore: the PostgreSQL DSN is empty")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// walSizeLimit is the size SQLite truncates its write-ahead log to after
// a checkpoint (PRAGMA journal_size_limit).
const walSizeLimit = 4 << 20

// openSQLite opens the writer (DB.db) and the readers (DB.rdb; the
// writer itself in memory, where each connection is its own database).
func openSQLite(path string) (w, r *sql.DB, err error) {
	if path == "" {
		return nil, nil, errors.New("sqlstore: the SQLite DSN (file path) is empty")
	}
	memory := strings.Contains(path, ":memory:")
	if !memory {
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, nil, fmt.Errorf("sqlstore: create %s: %w", dir, err)
			}
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
		}
		f.Close()
	}
	dsn := "file:" + path + "?_busy_timeout=10000&_foreign_keys=1&_txlock=immediate"
	if !memory {
		// auto_vacuum takes effect on a new file only (older files are
		// switched once by useIncrementalVacuum); journal_size_limit
		// truncates the WAL back to this size whenever a checkpoint
		// resets it, so a burst of writes does not leave a large file.
		dsn += "&_auto_vacuum=INCREMENTAL&_journal_mode=WAL&_synchronous=NORMAL&_pragma=journal_size_limit(" + strconv.Itoa(walSizeLimit) + ")"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: %w", err)
	}
	db.SetMaxOpenConns(1) // the one writer (in memory: each connection would be its own database)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if memory {
		return db, db, nil
	}
	rdb, err := sql.Open("sqlite", "file:"+path+"?_busy_timeout=10000&_foreign_keys=1&_pragma=query_only(1)")
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("sqlstore: %w", err)
	}
	rdb.SetMaxOpenConns(4)
	rdb.SetConnMaxIdleTime(5 * time.Minute)
	return db, rdb, nil
}

// Close closes the database.
func (s *DB) Close() error {
	for _, st := range s.hotStmts {
		st.Close()
	}
	if s.rdb != nil && s.rdb != s.db {
		s.rdb.Close()
	}
	return s.db.Close()
}

// Ping checks the database answers.
func (s *DB) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return s.fail(err, "ping")
	}
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return s.fail(err, "ping")
	}
	return nil
}

// fail wraps a database error: unreachable, down, read-only, full or
// locked (the database cannot do it now; retry later) → EUNAVAILABLE,
// with the precise reason where the dialect knows it; else EINTERNAL.
func (s *DB) fail(err error, op string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return broker.Wrap(fmt.Errorf("sqlstore: %s: %w", op, err), broker.EUNAVAILABLE, "store_timeout", "The broker's database did not answer in time. Try again.")
	}
	if reason := s.d.unavailable(err); reason != "" {
		return broker.Wrap(fmt.Errorf("sqlstore: %s: %w", op, err), broker.EUNAVAILABLE, reason,
			"The broker cannot save anything right now, so it does nothing it could not record. Try again in a few minutes; if it lasts, tell your administrator.")
	}
	if errors.Is(err, sql.ErrConnDone) || unavailable(err) {
		return broker.Wrap(fmt.Errorf("sqlstore: %s: %w", op, err), broker.EUNAVAILABLE, "store_unavailable", "The broker's database is unavailable. Try again later.")
	}
	return broker.Wrap(fmt.Errorf("sqlstore: %s: %w", op, err), broker.EINTERNAL, "store_error", "")
}

// Reasons of a database that cannot write or cannot be reached (EUNAVAILABLE).
const (
	ReasonStoreReadOnly    = "store_read_only"
	ReasonStoreFull        = "store_full"
	ReasonStoreUnavailable = "store_unavailable"
)

func ns(t time.Time) int64 { return t.UTC().UnixNano() }

func fromNS(n int64) time.Time { return time.Unix(0, n).UTC() }
