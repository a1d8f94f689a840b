package sqlstore

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// unmigrated opens a database the way Open does, without migrating it.
func unmigrated(t *testing.T, driver, dsn string) *DB {
	t.Helper()
	seal, err := newSealer([][]byte{key(1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &DB{seal: seal, now: time.Now, log: slog.New(slog.DiscardHandler), driver: driver, batch: purgeBatch}
	if driver == "postgres" {
		s.d = postgresDialect{}
		s.db, err = openPostgres(dsn)
		s.rdb = s.db
	} else {
		s.d = sqliteDialect{}
		s.db, s.rdb, err = openSQLite(dsn)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Tokens created before migration 005 never expired and could do
// everything: they get an expiry 90 days after the migration (never
// unlimited), the scopes that existed (rules, audit, accounts; read and
// write) and their creator split into provider and subject.
func TestMigrationGivesOldTokensAnExpiryAndScopes(t *testing.T) {
	backends := map[string]func(t *testing.T) (string, string){
		"sqlite": func(t *testing.T) (string, string) { return "sqlite", filepath.Join(t.TempDir(), "old.db") },
		"postgres": func(t *testing.T) (string, string) {
			return "postgres", postgresSchema(t)
		},
	}
	for name, backend := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			driver, dsn := backend(t)
			db := unmigrated(t, driver, dsn)
			if err := db.migrate(ctx, migrations, "migrations/"+db.d.name(), 3); err != nil {
				t.Fatal(err)
			}
			if v, _ := db.SchemaVersion(ctx); v != 3 {
				t.Fatalf("schema version %d before the upgrade, want 3", v)
			}
			for _, old := range []struct{ id, by string }{{"t1", "okta/alice@example.com"}, {"t2", "entra/x/y"}, {"t3", "seed"}} {
				sum := sha256.Sum256([]byte("brk_" + old.id))
				if _, err := db.db.ExecContext(ctx, db.d.rebind(`INSERT INTO api_tokens (id, name, hash, created_by, created_at) VALUES (?, ?, ?, ?, ?)`),
					old.id, "old "+old.id, sum[:], old.by, ns(time.Now().Add(-400*24*time.Hour))); err != nil {
					t.Fatal(err)
				}
			}
			before := time.Now().Truncate(time.Second)
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			toks, err := db.APITokens(ctx)
			if err != nil || len(toks) != 3 {
				t.Fatalf("after the upgrade: %+v %v", toks, err)
			}
			got := map[string]string{}
			for _, tok := range toks {
				if tok.ExpiresAt.Before(before.Add(90*24*time.Hour)) || tok.ExpiresAt.After(after.Add(90*24*time.Hour)) {
					t.Errorf("%s expires %v, want the migration time + 90 days (%v..%v)", tok.ID, tok.ExpiresAt, before.Add(90*24*time.Hour), after.Add(90*24*time.Hour))
				}
				got[tok.ID] = fmt.Sprintf("%s|%s|%s", tok.CreatorProvider, tok.CreatorSubject, strings.Join(tok.Scopes, " "))
			}
			all := "rules:read rules:write audit:read accounts:read accounts:write"
			want := map[string]string{"t1": "okta|alice@example.com|" + all, "t2": "entra|x/y|" + all, "t3": "||" + all}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("upgraded tokens\n got %v\nwant %v", got, want)
			}
		})
	}
}

// Versions may have gaps and arrive out of order (another change's 004
// merged after this one's 005 was applied); each is applied once. Two files
// with one version are refused.
func TestMigrateVersionGapsAndDuplicates(t *testing.T) {
	ctx := context.Background()
	db := unmigrated(t, "sqlite", filepath.Join(t.TempDir(), "gaps.db"))
	fsys := fstest.MapFS{
		"m/001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER);")},
		"m/005_e.sql": {Data: []byte("CREATE TABLE e (x INTEGER);")},
	}
	if err := db.migrate(ctx, fsys, "m", 0); err != nil {
		t.Fatal(err)
	}
	fsys["m/004_d.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE d (x INTEGER);")}
	for i := 0; i < 2; i++ {
		if err := db.migrate(ctx, fsys, "m", 0); err != nil {
			t.Fatalf("run %d with 004 arriving after 005: %v", i+1, err)
		}
	}
	var n int
	if err := db.db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d migrations recorded (%v), want 3", n, err)
	}
	if _, err := db.db.Exec(`INSERT INTO d (x) VALUES (1)`); err != nil {
		t.Fatalf("004 not applied: %v", err)
	}
	if v, _ := db.SchemaVersion(ctx); v != 5 {
		t.Fatalf("schema version %d, want 5", v)
	}
	fsys["m/004_other.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE o (x INTEGER);")}
	if err := db.migrate(ctx, fsys, "m", 0); err == nil || !strings.Contains(err.Error(), "same version 4") {
		t.Fatalf("duplicate version: %v", err)
	}
}
