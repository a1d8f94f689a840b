package sqlstore

import (
	"context"
	"io/fs"
	"sync"
	"testing"

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
