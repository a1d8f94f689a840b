package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migrate applies the embedded migrations not yet applied, each in its own
// transaction. It is idempotent and safe when several processes start at
// once: the version row is inserted in the same transaction as the schema
// change, and a concurrent duplicate makes that transaction fail and retry.
//
// Versions are the files' numeric prefixes, applied in ascending order;
// gaps are allowed (a change may land its 005 before another's 004), and
// each version is applied once whatever the order it arrived in, so
// migrations must not depend on a later-numbered one. Two files with the
// same version are an error.
func (s *DB) Migrate(ctx context.Context) error {
	return s.migrate(ctx, migrations, "migrations/"+s.d.name(), 0)
}

// migration is one file of a migrations directory.
type migration struct {
	version int
	name    string
}

// listMigrations reads dir's migrations in ascending version order.
func listMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	var out []migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlstore: migration %s has no positive numeric prefix", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("sqlstore: migrations %s and %s have the same version %d", other, name, v)
		}
		seen[v] = name
		out = append(out, migration{version: v, name: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate applies the migrations of dir in fsys up to version upTo (0: all).
func (s *DB) migrate(ctx context.Context, fsys fs.FS, dir string, upTo int) error {
	if err := s.createMigrationsTable(ctx); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	list, err := listMigrations(fsys, dir)
	if err != nil {
		return err
	}
	for _, m := range list {
		if upTo > 0 && m.version > upTo {
			break
		}
		body, err := fs.ReadFile(fsys, dir+"/"+m.name)
		if err != nil {
			return err
		}
		if err := s.apply(ctx, m.version, m.name, string(body)); err != nil {
			return err
		}
	}
	return nil
}

func (s *DB) createMigrationsTable(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.lockMigrations(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	return tx.Commit()
}

// lockMigrations makes instances starting together on one PostgreSQL take
// turns (SQLite's immediate transactions already serialize writers).
func (s *DB) lockMigrations(ctx context.Context, tx *sql.Tx) error {
	if s.d.name() != "postgres" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7253211)`)
	return err
}

func (s *DB) apply(ctx context.Context, version int, name, body string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", name, err)
	}
	defer tx.Rollback()
	if err := s.lockMigrations(ctx, tx); err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", name, err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version).Scan(&n); err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", name, err)
	}
	if n > 0 {
		return nil
	}
	for _, stmt := range strings.Split(body, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqlstore: migrate %s: %w", name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`), version, name, ns(s.now())); err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", name, err)
	}
	s.log.Info("applied migration", "name", name)
	return nil
}

// SchemaVersion returns the newest applied migration.
func (s *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, s.fail(err, "schema version")
	}
	return int(v.Int64), nil
}
