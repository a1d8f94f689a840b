package sqlstore

import (
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
}

type sqliteDialect struct{}

func (sqliteDialect) name() string           { return "sqlite" }
func (sqliteDialect) rebind(q string) string { return q }
func (sqliteDialect) forUpdate() string      { return "" }
func (sqliteDialect) isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

type postgresDialect struct{}

func (postgresDialect) name() string           { return "postgres" }
func (postgresDialect) rebind(q string) string { return dollarRebind(q) }
func (postgresDialect) forUpdate() string      { return " FOR UPDATE" }
func (postgresDialect) isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
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
