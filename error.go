package broker

import (
	"errors"
	"fmt"
)

// Error codes. They are stable strings: the web layer maps them to HTTP
// statuses and the audit log records them.
const (
	EINVALID      = "invalid"      // malformed or unacceptable input
	EUNAUTHORIZED = "unauthorized" // not signed in, or the credential did not verify
	EFORBIDDEN    = "forbidden"    // signed in, but not allowed (role not granted, not an admin)
	ENOTFOUND     = "not_found"    // unknown provider, role, session
	ECONFLICT     = "conflict"     // concurrent modification
	EEXPIRED      = "expired"      // the upstream credential or session has expired: sign in again
	EREPLAY       = "replay"       // the credential was already used
	ETOOLARGE     = "too_large"    // request body or field over its limit
	ETOOMANY      = "too_many"     // too many requests from one client: wait and retry
	EUPSTREAM     = "upstream"     // an IdP or AWS could not be reached or answered with an error
	EUNAVAILABLE  = "unavailable"  // a dependency is temporarily unavailable: retry later
	EINTERNAL     = "internal"     // a bug or an unexpected failure
)

// Error is the error type every package returns at the domain edge.
//
// Message is safe to show to the person at the browser: it never holds
// secrets, assertions, tokens or internal details. Err is the private cause,
// for the log only. Reason is a short, stable machine-readable reason
// (e.g. "signature_invalid", "audience_mismatch") recorded in the audit log.
type Error struct {
	Code    string
	Reason  string
	Message string
	Err     error
}

// Error implements error. It includes the private cause, so it must only
// reach logs, never a response body; use ErrorMessage for the user.
func (e *Error) Error() string {
	s := e.Code
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the private cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code, reason and user-facing message.
func Errorf(code, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error carrying err as its private cause.
func Wrap(err error, code, reason, message string) *Error {
	return &Error{Code: code, Reason: reason, Message: message, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorReason returns the reason of the first *Error in err's chain, or
// "internal" for any other non-nil error.
func ErrorReason(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Reason != "" {
		return e.Reason
	}
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of the first *Error in err's
// chain, or a generic message that reveals nothing for any other error.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "Something went wrong on our side. Try again; if it keeps happening, contact your administrator with the request id."
}
