// Package sqlstore implements store.Store on SQL databases: SQLite through
// the pure-Go modernc.org/sqlite driver today; PostgreSQL plugs into the
// same dialect seam.
//
//	Open ──> driver + DSN (WAL, busy timeout, immediate transactions)
//	     ──> migrate (embedded, versioned, one transaction each, idempotent)
//	     ──> DB{Remember, sessions (AES-256-GCM, session id as AAD), audit}
package sqlstore
