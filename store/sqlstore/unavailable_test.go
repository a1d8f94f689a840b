package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/broker-dev/broker"
)

// A database that cannot serve now is EUNAVAILABLE (503, try again), a
// fault in a query or the data EINTERNAL.
func TestFailClassifiesOutages(t *testing.T) {
	s := &DB{d: postgresDialect{}}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"admin shutdown (pg_terminate_backend, restart)", &pgconn.PgError{Code: "57P01"}, broker.EUNAVAILABLE},
		{"cannot connect now (starting)", &pgconn.PgError{Code: "57P03"}, broker.EUNAVAILABLE},
		{"connection failure", &pgconn.PgError{Code: "08006"}, broker.EUNAVAILABLE},
		{"read-only standby after fail-over", &pgconn.PgError{Code: "25006"}, broker.EUNAVAILABLE},
		{"disk full", &pgconn.PgError{Code: "53100"}, broker.EUNAVAILABLE},
		{"connect refused", fmt.Errorf("x: %w", &pgconn.ConnectError{}), broker.EUNAVAILABLE},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), broker.EUNAVAILABLE},
		{"pool closed conn", sql.ErrConnDone, broker.EUNAVAILABLE},
		{"timeout", context.DeadlineExceeded, broker.EUNAVAILABLE},
		{"syntax error", &pgconn.PgError{Code: "42601"}, broker.EINTERNAL},
		{"not null violation", &pgconn.PgError{Code: "23502"}, broker.EINTERNAL},
		{"anything else", errors.New("boom"), broker.EINTERNAL},
	} {
		if got := broker.ErrorCode(s.fail(tt.err, "op")); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// SQLite busy past busy_timeout, or its disk full, is EUNAVAILABLE too.
func TestFailClassifiesSQLiteOutages(t *testing.T) {
	for code, want := range map[int]bool{5: true, 6: true, 8: true, 10: true, 13: true, 1: false, 19: false, 2067: false, 261: true} {
		if got := sqliteUnavailable(code); got != want {
			t.Errorf("SQLite result code %d: unavailable %t, want %t", code, got, want)
		}
	}
}
