package sqlstore

import (
	"context"
	"embed"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

//go:embed migrations
var migrations embed.FS

// dialect is what differs between SQL databases.
type dialect interface {
	name() string
	// rebind turns ? placeholders into the dialect's.
	rebind(q string) string
	isUniqueViolation(err error) bool
	// forUpdate is the row-lock suffix for SELECT (empty for SQLite).
	forUpdate() string
	// unavailable is the reason (ReasonStore*) when err says the database
	// cannot write or cannot be reached now, "" for any other error.
	unavailable(err error) string
	// stmtContext is the context a short statement of the sign-in's write
	// runs with (DB.stmtCtx).
	stmtContext(ctx context.Context) context.Context
}

type sqliteDialect struct{}

func (sqliteDialect) name() string           { return "sqlite" }
func (sqliteDialect) rebind(q string) string { return q }
func (sqliteDialect) forUpdate() string      { return "" }

// stmtContext drops ctx's cancellation: for each statement (BEGIN and
// COMMIT included) run with a context that can end, modernc.org/sqlite
// starts a goroutine to watch it and ends it after, two thread wake-ups
// each. The sign-in's write is a few statements of microseconds each on
// the one writer connection, held by no one else once had: the wait for
// that connection (DB.Conn) still ends with ctx.
func (sqliteDialect) stmtContext(ctx context.Context) context.Context {
	return context.WithoutCancel(ctx)
}
func (sqliteDialect) isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// SQLite's primary result codes (the low byte of an extended code).
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteFull     = 13
	sqliteCantOpen = 14
)

func (sqliteDialect) unavailable(err error) string {
	var ce interface{ Code() int }
	if !errors.As(err, &ce) {
		return ""
	}
	switch ce.Code() & 0xff {
	case sqliteReadOnly:
		return ReasonStoreReadOnly
	case sqliteFull:
		return ReasonStoreFull
	case sqliteBusy, sqliteLocked, sqliteIOErr, sqliteCantOpen:
		return ReasonStoreUnavailable
	}
	return ""
}

type postgresDialect struct{}

func (postgresDialect) name() string           { return "postgres" }
func (postgresDialect) rebind(q string) string { return dollarRebind(q) }
func (postgresDialect) forUpdate() string      { return " FOR UPDATE" }

// stmtContext keeps ctx: over the network a statement can hang.
func (postgresDialect) stmtContext(ctx context.Context) context.Context { return ctx }
func (postgresDialect) isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func (postgresDialect) unavailable(err error) string {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return ReasonStoreUnavailable
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return ""
	}
	switch {
	case pe.Code == "25006": // read_only_sql_transaction (a standby, default_transaction_read_only)
		return ReasonStoreReadOnly
	case pe.Code == "53100": // disk_full
		return ReasonStoreFull
	case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"), // connection exception, insufficient resources
		pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // admin shutdown, crash shutdown, cannot connect now
		return ReasonStoreUnavailable
	}
	return ""
}

// dollarRebind rewrites ? as $1, $2, ... (PostgreSQL).
func dollarRebind(q string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
