// Package sqltest gives tests an empty PostgreSQL schema of their own on the
// server named by BROKER_TEST_POSTGRES_DSN.
package sqltest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// PostgresSchema creates an empty schema, dropped when the test ends, and
// returns a DSN that uses it; "" when BROKER_TEST_POSTGRES_DSN is not set
// (the test fails instead when BROKER_REQUIRE_POSTGRES=1, as in CI).
func PostgresSchema(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("BROKER_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("BROKER_REQUIRE_POSTGRES") == "1" {
			t.Fatal("BROKER_REQUIRE_POSTGRES=1 but BROKER_TEST_POSTGRES_DSN is not set")
		}
		return ""
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "brokertest_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema (is PostgreSQL running at %s?): %v", redact(dsn), err)
	}
	t.Cleanup(func() {
		if admin, err := sql.Open("pgx", dsn); err == nil {
			_, _ = admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			admin.Close()
		}
	})
	return withSearchPath(dsn, schema)
}

// redact hides the credentials of a URL DSN.
func redact(dsn string) string {
	if i, j := strings.Index(dsn, "://"), strings.LastIndex(dsn, "@"); i > 0 && j > i {
		return dsn[:i+3] + "…" + dsn[j:]
	}
	return "(the DSN)"
}

// withSearchPath returns a PostgreSQL DSN (URL or key=value form) that
// uses schema (pgx passes unknown parameters to the server).
func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "search_path=" + schema
	}
	return dsn + " search_path=" + schema
}
