// Package sqlstore implements store.Store on SQL databases through
// database/sql: SQLite with the pure-Go modernc.org/sqlite driver (the
// default) and PostgreSQL with pgx. A small dialect value hides their
// differences (placeholders, row locks, unique-violation errors).
//
//	Open(Driver, DSN, Keys)
//	  ──> sqlite:   file 0600 in a 0700 directory; WAL (truncated to 4 MiB
//	                at each reset), busy timeout, immediate transactions (one
//	                writer at a time), incremental auto-vacuum
//	      postgres: connection pool
//	  ──> migrate   embedded per-dialect SQL files, each in one transaction
//	                with its version row; idempotent; PostgreSQL instances
//	                starting together take turns on an advisory lock
//	  ──> sqlite file made without incremental auto-vacuum: one VACUUM, once
//	  ──> DB{Remember, sessions, audit, rules and accounts, API tokens, sign-ins,
//	         Purge(Retention), Compact, DiskUsage}
//
// Upkeep (upkeep.go): Purge deletes expired rows and those past their
// retention in batches; Compact frees SQLite's free pages in steps
// (incremental_vacuum) and checkpoints the WAL with TRUNCATE, so the file
// and the WAL shrink back after a burst of writes; on PostgreSQL it does
// nothing (autovacuum reuses the space of deleted rows). On PostgreSQL a
// Purge runs only while it holds an advisory lock (pg_try_advisory_lock):
// of several instances' rounds at once, one purges, the others skip.
//
// Errors (unavailable.go): a database that cannot serve now (down,
// restarting, failing over, read-only, full, locked) is EUNAVAILABLE, a
// fault in a query or the data EINTERNAL.
//
// Secrets at rest (session data, sign-ins) are sealed with AES-256-GCM:
// Keys[0] encrypts, every key decrypts, and the row's identity is the
// additional data, so a value copied to another row does not open. Rule
// changes run in one transaction that locks the rules_meta row, so the
// revision counts every change made by any instance.
package sqlstore
