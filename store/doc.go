// Package store declares what the broker persists and the contract every
// backend meets; sqlstore implements it on SQLite (embedded default) and
// storetest is the conformance suite each backend must pass.
//
//	web/access ──> Store ──> sqlstore ──> SQLite file (one process) / PostgreSQL (several, later)
//	   replay cache   Remember(namespace, key, expires)   atomic, never evicted before expiry
//	   sessions       Create/Get/Update/DeleteSession    Data encrypted at rest (AES-256-GCM)
//	   audit log      AppendAudit / ListAudit            append-only, keyset pagination
//
// Nothing that matters lives in one process's memory, so any number of
// broker instances can share a store.
package store
