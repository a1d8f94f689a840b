package store

import (
	"context"
	"time"
)

// Store is everything the broker persists. Implementations are safe for
// concurrent use and may be shared by several broker instances.
//
// Errors are *broker.Error: ENOTFOUND, ECONFLICT, EREPLAY as documented per
// method, EUNAVAILABLE when the database cannot be reached or cannot write
// (read-only, disk full) and EINTERNAL for other failures (the cause in
// Err, never SQL or data in Message).
type Store interface {
	// Remember records key under namespace until expires (the replay cache:
	// SAML assertion IDs, OIDC states). It returns an error with code
	// EREPLAY if the key is recorded and not yet expired; an
	// expired record is replaced. Entries are never evicted before they
	// expire. The check and the write are one atomic statement.
	Remember(ctx context.Context, namespace, key string, expires time.Time) error

	// CreateSession stores a new server-side session; ECONFLICT if the ID exists.
	CreateSession(ctx context.Context, s *Session) error
	// GetSession returns a live session; ENOTFOUND if absent or expired.
	GetSession(ctx context.Context, id string) (*Session, error)
	// UpdateSession replaces a live session's data and expiry; ENOTFOUND if absent or expired.
	UpdateSession(ctx context.Context, id string, data []byte, expires time.Time) error
	// DeleteSession removes a session; deleting a missing one is not an error.
	DeleteSession(ctx context.Context, id string) error
	// TouchSession sets a live session's LastSeenAt to at (the idle
	// timeout counts from it); ENOTFOUND if absent or expired.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// ListSessions returns the live (unexpired) sessions matching f,
	// newest first (by CreatedAt), at most f.Limit (default 100, at most
	// 1000). The sessions come without Data: a list never decrypts.
	ListSessions(ctx context.Context, f SessionFilter) ([]Session, error)
	// DeleteSessions deletes every live session matching f (f.Limit does
	// not apply: all of them go) and returns the deleted sessions, without
	// Data, newest first. A filter with neither Provider nor Subject is
	// refused with EINVALID, so no caller ends everyone's session by
	// accident.
	DeleteSessions(ctx context.Context, f SessionFilter) ([]Session, error)

	// AppendAudit appends an event, setting e.ID and, if zero, e.Time.
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// ListAudit returns events matching f, newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)

	RuleStore
	TokenStore
	SignInStore
	SignInWriter
	MetadataStore
	AppStore
	ShortLinkStore
	FavouriteStore

	// Purge deletes what has outlived its use: replay entries, sessions
	// and the OpenID Provider's auth requests, device authorizations and tokens past their
	// expiry, and audit events and sign-ins older than r keeps them. It says how many rows it deleted. Large deletes go in batches,
	// so sign-ins are not held up behind them.
	Purge(ctx context.Context, r Retention) (int64, error)
	// Compact gives the space of deleted rows back to the file system where
	// the backend needs it: SQLite checkpoints and truncates its
	// write-ahead log and runs an incremental vacuum in steps; PostgreSQL
	// does nothing (its autovacuum reuses the space). The data is unchanged.
	Compact(ctx context.Context) error
	// Ping checks the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// Retention is how long Purge keeps the rows that only grow; a zero field
// keeps them forever. Sessions and replay entries go at their expiry.
type Retention struct {
	// Audit: audit events at least this old are deleted.
	Audit time.Duration
	// SignIns: a person's latest sign-in (for the simulator and the impact
	// preview) at least this old is deleted.
	SignIns time.Duration
}

// Session is the server-side half of a browser session.
type Session struct {
	ID        string // random, at least 128 bits, chosen by the caller; a bearer secret, never shown
	Subject   string // who, for admin views (not secret)
	Provider  string
	Data      []byte // secret: encrypted at rest
	CreatedAt time.Time
	ExpiresAt time.Time
	// LastSeenAt is the last time the session was used (TouchSession);
	// CreateSession sets it to CreatedAt when zero. Zero for a session
	// stored before the column existed.
	LastSeenAt time.Time
	// UpstreamSession is the IdP's session the sign-in belongs to (SAML
	// SessionIndex, OIDC sid), "" if none: single logout finds sessions by
	// it. Not secret.
	UpstreamSession string
	// RemoteAddr and UserAgent are where the session started, for the
	// list of a person's sessions.
	RemoteAddr, UserAgent string
}

// SessionFilter selects live sessions (ListSessions, DeleteSessions).
// Empty fields match every session.
type SessionFilter struct {
	Provider, Subject string
	// UpstreamSession matches the IdP's session (SAML SessionIndex, OIDC sid).
	UpstreamSession string
	// ID matches one session; Except leaves one session out (the caller's
	// own, for "sign out everywhere else").
	ID, Except string
	// Limit bounds ListSessions: default 100, at most 1000.
	Limit int
}

// Audit results.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// AuditEvent is one entry of the audit log: who did what, when, from
// where, with which result and why. It never holds secrets.
type AuditEvent struct {
	ID          int64
	Time        time.Time
	RequestID   string
	Event       string // "signin", "role_assumed", "console_url_issued", "logout", ...
	Result      string // ResultSuccess or ResultFailure
	Reason      string // stable reason code on failure
	Message     string // human text, no secrets
	Provider    string
	Subject     string
	RoleARN     string
	SessionName string
	RemoteAddr  string
	UserAgent   string
	Details     map[string]string
}

// AuditFilter selects audit events. Empty fields match everything.
type AuditFilter struct {
	Subject, Event, Result, RoleARN, Provider string
	// SubjectContains and RoleContains match a case-insensitive substring
	// (the admin UI's search boxes).
	SubjectContains, RoleContains string
	Since, Until                  time.Time
	Limit                         int   // default 100, at most 1000
	Before                        int64 // only IDs below this (keyset pagination)
	// Brief reads only ID, Time, Event, Result, Provider, Subject, RoleARN
	// and Details (the portal's history of a person: fewer columns to
	// fetch per row); the other fields are left empty.
	Brief bool
}
