package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/broker-dev/broker/store"
)

// fill appends n audit events of about 1 KiB each at t, in one statement.
func fill(t *testing.T, db *DB, n int, at time.Time) {
	t.Helper()
	_, err := db.db.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO audit (time, event, result, reason, remote_addr, user_agent)
		SELECT ?, 'signin', 'failure', 'signature_invalid', '192.0.2.1', hex(randomblob(500)) FROM seq`, n, ns(at))
	if err != nil {
		t.Fatal(err)
	}
}

// A flood of audit rows, purged: Compact gives the file's space back and
// truncates the write-ahead log.
func TestCompactShrinksFileAndWAL(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	db := open(t, filepath.Join(t.TempDir(), "broker.db"), func() time.Time { return now }, key(1))
	empty, err := db.DiskUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, db, 4000, now.Add(-time.Hour))
	flooded, err := db.DiskUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if flooded.DB+flooded.WAL < 4<<20 {
		t.Fatalf("the flood took only %+v", flooded)
	}
	if n, err := db.Purge(ctx, store.Retention{Audit: time.Minute}); err != nil || n != 4000 {
		t.Fatalf("Purge = %d, %v", n, err)
	}
	if err := db.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := db.DiskUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("empty %+v, flooded %+v, purged and compacted %+v", empty, flooded, after)
	if after.WAL != 0 || after.Free != 0 || after.DB > empty.DB+(1<<20) {
		t.Fatalf("after Compact %+v; want no WAL, no free pages and about the empty size %d", after, empty.DB)
	}
}

// A large purge goes in batches and deletes every row it should.
func TestPurgeAuditInBatches(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	db := open(t, ":memory:", func() time.Time { return now }, key(1))
	db.batch = 7
	fill(t, db, 50, now.Add(-2*time.Hour))
	fill(t, db, 3, now)
	n, err := db.Purge(ctx, store.Retention{Audit: time.Hour})
	if err != nil || n != 50 {
		t.Fatalf("Purge = %d, %v; want 50", n, err)
	}
	if evs, _ := db.ListAudit(ctx, store.AuditFilter{}); len(evs) != 3 {
		t.Fatalf("%d events left, want 3", len(evs))
	}
}

// A new file uses incremental auto-vacuum; a file made before it did is
// switched once at Open, keeping its data.
func TestIncrementalAutoVacuum(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mode := func(db *sql.DB) int {
		t.Helper()
		var m int
		if err := db.QueryRow(`PRAGMA auto_vacuum`).Scan(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	fresh := open(t, filepath.Join(dir, "new.db"), nil, key(1))
	if m := mode(fresh.db); m != autoVacuumIncremental {
		t.Fatalf("new file: auto_vacuum %d", m)
	}

	path := filepath.Join(dir, "old.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE keep (v TEXT); INSERT INTO keep VALUES ('still here')`); err != nil {
		t.Fatal(err)
	}
	if m := mode(raw); m != 0 {
		t.Fatalf("old file: auto_vacuum %d, want 0 (none)", m)
	}
	raw.Close()
	old := open(t, path, nil, key(1))
	if m := mode(old.db); m != autoVacuumIncremental {
		t.Fatalf("old file after Open: auto_vacuum %d", m)
	}
	var v string
	if err := old.db.QueryRowContext(ctx, `SELECT v FROM keep`).Scan(&v); err != nil || v != "still here" {
		t.Fatalf("data after the switch: %q, %v", v, err)
	}
}
