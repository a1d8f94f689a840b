package sqlstore

import (
	"embed"
	"strconv"
	"strings"
)

//go:embed migrations
var migrations embed.FS

// dialect is what differs between SQL databases.
type dialect interface {
	name() string
	// rebind turns ? placeholders into the dialect's.
	rebind(q string) string
	isUniqueViolation(err error) bool
}

type sqliteDialect struct{}

func (sqliteDialect) name() string           { return "sqlite" }
func (sqliteDialect) rebind(q string) string { return q }
func (sqliteDialect) isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
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
