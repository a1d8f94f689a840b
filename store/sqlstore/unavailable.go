package sqlstore

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// unavailable reports whether err says the database cannot be used right
// now (down, restarting, failing over, refusing connections, read-only,
// out of disk, locked), as opposed to a fault in a query or in the data:
// such an error is EUNAVAILABLE (503, try again later), never EINTERNAL.
func unavailable(err error) bool {
	var ce *pgconn.ConnectError
	var pe *pgconn.PgError
	var ne net.Error
	var se *sqlite.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), pgconn.Timeout(err), pgconn.SafeToRetry(err):
		return true
	case errors.As(err, &pe):
		return pgUnavailable(pe.Code)
	case errors.As(err, &se):
		return sqliteUnavailable(se.Code())
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	}
	// pgx reports a connection it closed itself in words only.
	return strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "conn busy")
}

// pgUnavailable: the SQLSTATEs of a server that cannot serve now.
func pgUnavailable(code string) bool {
	switch code {
	case "57P01", "57P02", "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
		"53300", "53100", "53200", // too_many_connections, disk_full, out_of_memory
		"25006": // read_only_sql_transaction (a standby after fail-over)
		return true
	}
	return strings.HasPrefix(code, "08") // connection exception
}

// sqliteUnavailable: the SQLite primary result codes of a file that cannot
// be written now (busy past busy_timeout, locked, disk full, read-only,
// I/O error), as opposed to a bad statement or a constraint.
func sqliteUnavailable(code int) bool {
	switch code & 0xff {
	case 5, 6, 8, 10, 13: // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL
		return true
	}
	return false
}
