package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/sqlstore/sqltest"
	"github.com/broker-dev/broker/store/storetest"
)

// postgresSchema returns a DSN for a fresh schema, or skips the test.
func postgresSchema(t *testing.T) string {
	t.Helper()
	dsn := sqltest.PostgresSchema(t)
	if dsn == "" {
		t.Skip("set BROKER_TEST_POSTGRES_DSN (e.g. postgres://broker:broker@127.0.0.1:5432/broker) to run against PostgreSQL")
	}
	return dsn
}

func TestConformancePostgres(t *testing.T) {
	postgresSchema(t) // skip early without a server
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
		db, err := Open(context.Background(), Config{Driver: "postgres", DSN: postgresSchema(t), Keys: [][]byte{key(1)}, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

// Several instances starting at once on one PostgreSQL migrate it once.
func TestPostgresConcurrentMigrate(t *testing.T) {
	dsn := postgresSchema(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := Open(context.Background(), Config{Driver: "postgres", DSN: dsn, Keys: [][]byte{key(1)}})
			if err != nil {
				errs <- err
				return
			}
			db.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Open: %v", err)
	}
	db, err := Open(context.Background(), Config{Driver: "postgres", DSN: dsn, Keys: [][]byte{key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	files, err := fs.ReadDir(migrations, "migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(files) {
		t.Fatalf("%d migrations recorded (%v), want each of the %d applied once", n, err, len(files))
	}
}

// DiskUsage measures the store's own tables on PostgreSQL.
func TestPostgresDiskUsage(t *testing.T) {
	db, err := Open(context.Background(), Config{Driver: "postgres", DSN: postgresSchema(t), Keys: [][]byte{key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.DiskUsage(context.Background())
	if err != nil || u.DB <= 0 || u.WAL != 0 {
		t.Fatalf("DiskUsage = %+v, %v", u, err)
	}
}

// Two instances on one PostgreSQL: while one holds the purge lock, the
// other's round purges nothing; once it is free, a round purges it all.
// Rounds running together never both purge the same rows twice nor fail.
func TestPostgresPurgeOneInstanceAtATime(t *testing.T) {
	dsn := postgresSchema(t)
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a, err := Open(ctx, Config{Driver: "postgres", DSN: dsn, Keys: [][]byte{key(1)}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, Config{Driver: "postgres", DSN: dsn, Keys: [][]byte{key(1)}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const rows = 40
	for i := range rows {
		if err := a.AppendAudit(ctx, &store.AuditEvent{Event: "signin", Result: store.ResultSuccess, Subject: fmt.Sprint("p", i)}); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	now = now.Add(48 * time.Hour)
	mu.Unlock()
	keep := store.Retention{Audit: 24 * time.Hour}

	// Instance A is purging (it holds the lock).
	held, err := a.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got bool
	if err := held.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, purgeLock).Scan(&got); err != nil || !got {
		t.Fatalf("take the purge lock: %t %v", got, err)
	}
	if n, err := b.Purge(ctx, keep); err != nil || n != 0 {
		t.Fatalf("B purged %d (%v) while A held the lock", n, err)
	}
	if evs, _ := b.ListAudit(ctx, store.AuditFilter{Limit: 1000}); len(evs) != rows {
		t.Fatalf("%d audit rows left, want %d untouched", len(evs), rows)
	}
	if _, err := held.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, purgeLock); err != nil {
		t.Fatal(err)
	}
	held.Close()

	// Both instances' rounds at once: all purged, each row once.
	var total atomic.Int64
	var wg sync.WaitGroup
	for _, db := range []*DB{a, b, a, b} {
		wg.Go(func() {
			n, err := db.Purge(ctx, keep)
			if err != nil {
				t.Error(err)
			}
			total.Add(n)
		})
	}
	wg.Wait()
	if total.Load() != rows {
		t.Errorf("the rounds purged %d rows together, want %d", total.Load(), rows)
	}
	if evs, _ := a.ListAudit(ctx, store.AuditFilter{Limit: 1000}); len(evs) != 0 {
		t.Errorf("%d audit rows left after purging", len(evs))
	}
	// The lock is free again after the rounds.
	if n, err := a.Purge(ctx, keep); err != nil || n != 0 {
		t.Errorf("a later round: %d %v", n, err)
	}
	var free bool
	if err := a.db.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, purgeLock).Scan(&free); err != nil || !free {
		t.Errorf("the purge lock is still held after the rounds: %t %v", free, err)
	}
}
