package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/storetest"
)

// postgresDSN returns BROKER_TEST_POSTGRES_DSN, or skips the test (fails it
// when BROKER_REQUIRE_POSTGRES=1, as in CI).
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("BROKER_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("BROKER_REQUIRE_POSTGRES") == "1" {
			t.Fatal("BROKER_REQUIRE_POSTGRES=1 but BROKER_TEST_POSTGRES_DSN is not set")
		}
		t.Skip("set BROKER_TEST_POSTGRES_DSN (e.g. postgres://broker:broker@127.0.0.1:5432/broker) to run against PostgreSQL")
	}
	return dsn
}

// freshSchema creates an empty schema and returns a DSN that uses it, so
// every test starts from an empty database and tests can run in parallel.
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "brokertest_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema (is PostgreSQL running at %s?): %v", redactDSN(dsn), err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", dsn)
		if err != nil {
			return
		}
		defer admin.Close()
		_, _ = admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	return WithSearchPath(dsn, schema)
}

func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "@"); i > 0 && strings.Contains(dsn, "://") {
		return dsn[:strings.Index(dsn, "://")+3] + "…" + dsn[i:]
	}
	return "(the DSN)"
}

func TestConformancePostgres(t *testing.T) {
	dsn := postgresDSN(t)
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
		db, err := Open(context.Background(), Config{Driver: "postgres", DSN: freshSchema(t, dsn), Keys: [][]byte{key(1)}, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

// Several instances starting at once on one PostgreSQL migrate it once.
func TestPostgresConcurrentMigrate(t *testing.T) {
	dsn := freshSchema(t, postgresDSN(t))
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
	var n int
	if err := db.db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d migrations recorded (%v), want 2", n, err)
	}
}
