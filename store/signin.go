package store

import (
	"context"
	"time"
)

// SignInStore's companion for the write an accepted sign-in makes: one
// short transaction (store.Store.CompleteSignIn).

// SignInWrite is everything an accepted sign-in writes, committed together
// or not at all.
type SignInWrite struct {
	// Replay burns the sign-in's one-time value (a SAML assertion ID, an
	// OIDC state) as Remember does; a zero Namespace burns nothing.
	Replay ReplayEntry
	// Replaces is the browser's previous session, deleted ("" for none;
	// a missing one is not an error).
	Replaces string
	// Session is the new session (required), as for CreateSession.
	Session *Session
	// SignIn, when set, becomes the person's latest sign-in, as for
	// RecordSignIn.
	SignIn *SignIn
	// Audit is the sign-in's audit record (required), as for AppendAudit.
	Audit *AuditEvent
}

// ReplayEntry is a one-time value kept until Expires (Remember).
type ReplayEntry struct {
	Namespace, Key string
	Expires        time.Time
}

// SignInWriter is the write of an accepted sign-in and the readiness check
// that the database accepts writes at all.
type SignInWriter interface {
	// CompleteSignIn writes w in one transaction: the replay entry first,
	// then the previous session's deletion, the session, the sign-in and
	// the audit event (its ID and, if zero, Time set as AppendAudit does).
	// Everything is encrypted and encoded before the transaction begins,
	// so the write lock is held for the statements only. Errors: EREPLAY
	// (Reason "replay") when the replay entry is recorded and unexpired,
	// ECONFLICT when the session ID exists, EINVALID when Session or Audit
	// is missing: in each case nothing at all is written. EUNAVAILABLE
	// when the database cannot write (unreachable, read-only, disk full).
	CompleteSignIn(ctx context.Context, w *SignInWrite) error
	// CheckWrite commits a tiny write (one row of its own table) to show
	// the database accepts writes, for readiness: EUNAVAILABLE when it is
	// unreachable, read-only or full.
	CheckWrite(ctx context.Context) error
}
