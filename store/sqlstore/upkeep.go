package sqlstore

import (
	"context"
	"database/sql/driver"
	"os"
	"strconv"
	"time"

	"github.com/broker-dev/broker/store"
)

// Upkeep: deleting what has outlived its use (Purge) and giving the space
// back to the file system (Compact), and measuring it (DiskUsage).

// purgeBatch bounds the rows one DELETE statement removes, so a purge of a
// large backlog holds the SQLite write lock for short turns only.
const purgeBatch = 5000

// compactStep bounds the pages one incremental-vacuum statement frees
// (16 MiB of 4 KiB pages), for the same reason.
const compactStep = 4096

// purgeLock is the PostgreSQL advisory lock key one instance holds while
// it purges (the migrations' is 7253211).
const purgeLock = 7253212

// Purge implements store.Store. On PostgreSQL one instance purges at a
// time: a round that finds another instance holding the purge lock
// (pg_try_advisory_lock) purges nothing and returns 0; that instance's
// round does the work. SQLite has one writer anyway.
func (s *DB) Purge(ctx context.Context, r store.Retention) (int64, error) {
	if s.d.name() != "postgres" {
		return s.purge(ctx, r)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, s.fail(err, "purge lock")
	}
	defer conn.Close()
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, purgeLock).Scan(&got); err != nil {
		return 0, s.fail(err, "purge lock")
	}
	if !got {
		s.log.DebugContext(ctx, "purge: another instance is purging; skipped this round")
		return 0, nil
	}
	defer func() {
		// A session lock: released here, or with the connection if that fails.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, purgeLock); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return s.purge(ctx, r)
}

// purge deletes what has expired or outlived r.
func (s *DB) purge(ctx context.Context, r store.Retention) (int64, error) {
	now := s.now()
	var total int64
	for _, q := range []struct {
		sql string
		arg int64
	}{{`DELETE FROM replay WHERE expires_at <= ?`, ns(now)}, {`DELETE FROM sessions WHERE expires_at <= ?`, ns(now)},
		{`DELETE FROM app_auth_requests WHERE expires_at <= ?`, ns(now)}, {`DELETE FROM app_access_tokens WHERE expires_at <= ?`, ns(now)},
		{`DELETE FROM app_refresh_tokens WHERE expires_at <= ?`, ns(now)}, {`DELETE FROM device_authorizations WHERE expires_at <= ?`, ns(now)}} {
		n, err := s.exec(ctx, "purge", q.sql, q.arg)
		total += n
		if err != nil {
			return total, err
		}
	}
	if r.SignIns > 0 {
		n, err := s.exec(ctx, "purge", `DELETE FROM signins WHERE time <= ?`, ns(now.Add(-r.SignIns)))
		total += n
		if err != nil {
			return total, err
		}
	}
	if r.Audit > 0 {
		n, err := s.purgeAudit(ctx, ns(now.Add(-r.Audit)))
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// purgeAudit deletes the audit events at or before cutoff, oldest first,
// in batches of s.batch rows.
func (s *DB) purgeAudit(ctx context.Context, cutoff int64) (int64, error) {
	var total int64
	for {
		n, err := s.exec(ctx, "purge audit", `DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE time <= ? ORDER BY id LIMIT ?)`, cutoff, s.batch)
		total += n
		if err != nil || n < int64(s.batch) {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, s.fail(err, "purge audit")
		}
	}
}

// exec runs one statement and says how many rows it changed.
func (s *DB) exec(ctx context.Context, op, q string, args ...any) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.d.rebind(q), args...)
	if err != nil {
		return 0, s.fail(err, op)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Compact implements store.Store. On a SQLite file it frees the pages of
// deleted rows in steps of compactStep pages (each its own write, so
// sign-ins interleave) and then checkpoints the write-ahead log and
// truncates it to zero bytes. A checkpoint that readers keep from
// finishing is not an error: the next Compact finishes it.
func (s *DB) Compact(ctx context.Context) error {
	if s.path == "" {
		return nil // PostgreSQL (autovacuum) or SQLite in memory
	}
	for before := int64(-1); ; {
		var free int64
		if err := s.db.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&free); err != nil {
			return s.fail(err, "compact")
		}
		if free == 0 || free == before { // done, or nothing to gain (auto_vacuum off)
			break
		}
		if err := s.incrementalVacuum(ctx, min(free, compactStep)); err != nil {
			return err
		}
		before = free
	}
	var busy, logFrames, checkpointed int64
	if err := s.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed); err != nil {
		return s.fail(err, "compact: checkpoint")
	}
	if busy != 0 {
		s.log.DebugContext(ctx, "store checkpoint did not finish; readers were active", "wal_frames", logFrames, "checkpointed", checkpointed)
	}
	return nil
}

// incrementalVacuum frees up to pages free pages. SQLite frees one page
// per step of the statement, so the rows are read to the end.
func (s *DB) incrementalVacuum(ctx context.Context, pages int64) error {
	rows, err := s.db.QueryContext(ctx, `PRAGMA incremental_vacuum(`+strconv.FormatInt(pages, 10)+`)`)
	if err != nil {
		return s.fail(err, "compact: incremental vacuum")
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return s.fail(err, "compact: incremental vacuum")
	}
	if err := rows.Close(); err != nil {
		return s.fail(err, "compact: incremental vacuum")
	}
	return nil
}

// Usage is the disk space the store takes, in bytes.
type Usage struct {
	// DB is the database: the SQLite file, or the PostgreSQL tables and
	// indexes of the store's schema.
	DB int64
	// WAL is the SQLite write-ahead log file (0 for PostgreSQL).
	WAL int64
	// Free is the part of DB on SQLite's free list, which Compact gives back.
	Free int64
}

// DiskUsage measures the disk space the store takes now.
func (s *DB) DiskUsage(ctx context.Context) (Usage, error) {
	var u Usage
	if s.d.name() == "postgres" {
		err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relkind = 'r'`).Scan(&u.DB)
		if err != nil {
			return u, s.fail(err, "disk usage")
		}
		return u, nil
	}
	var pageSize, pages, free int64
	for _, p := range []struct {
		q string
		v *int64
	}{{`PRAGMA page_size`, &pageSize}, {`PRAGMA page_count`, &pages}, {`PRAGMA freelist_count`, &free}} {
		if err := s.db.QueryRowContext(ctx, p.q).Scan(p.v); err != nil {
			return u, s.fail(err, "disk usage")
		}
	}
	u.DB, u.Free = pages*pageSize, free*pageSize
	if s.path != "" {
		if st, err := os.Stat(s.path); err == nil {
			u.DB = st.Size()
		}
		if st, err := os.Stat(s.path + "-wal"); err == nil {
			u.WAL = st.Size()
		}
	}
	return u, nil
}

// useIncrementalVacuum switches a SQLite file made before auto_vacuum was
// set (new files get it from the DSN) to incremental auto-vacuum: SQLite
// changes the mode only by rewriting the file, so this runs one VACUUM,
// once, and says so in the log.
func (s *DB) useIncrementalVacuum(ctx context.Context) error {
	var mode int
	if err := s.db.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return s.fail(err, "auto_vacuum")
	}
	if mode == autoVacuumIncremental {
		return nil
	}
	start := time.Now()
	c, err := s.db.Conn(ctx)
	if err != nil {
		return s.fail(err, "auto_vacuum")
	}
	defer c.Close()
	for _, q := range []string{`PRAGMA auto_vacuum = INCREMENTAL`, `VACUUM`} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			return s.fail(err, "switch to incremental auto_vacuum")
		}
	}
	s.log.Info("switched the SQLite file to incremental auto-vacuum (one VACUUM)", "path", s.path, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// autoVacuumIncremental is PRAGMA auto_vacuum's value for INCREMENTAL.
const autoVacuumIncremental = 2
