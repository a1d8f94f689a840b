package access

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
)

// SessionStore is the server-side session storage (store.Store).
type SessionStore interface {
	CreateSession(ctx context.Context, s *store.Session) error
	GetSession(ctx context.Context, id string) (*store.Session, error)
	UpdateSession(ctx context.Context, id string, data []byte, expires time.Time) error
	DeleteSession(ctx context.Context, id string) error
	TouchSession(ctx context.Context, id string, at time.Time) error
	ListSessions(ctx context.Context, f store.SessionFilter) ([]store.Session, error)
	DeleteSessions(ctx context.Context, f store.SessionFilter) ([]store.Session, error)
	// CompleteSignIn writes an accepted sign-in in one transaction
	// (store.SignInWriter).
	CompleteSignIn(ctx context.Context, w *store.SignInWrite) error
}

// AppTokenRevoker revokes every access and refresh token apps hold for
// one person (store.ClientStore) and says how many were live.
type AppTokenRevoker interface {
	RevokePersonAppTokens(ctx context.Context, provider, subject string) (int64, error)
}

// ReplayCache makes one-time values single use across instances (store.Store).
type ReplayCache interface {
	Remember(ctx context.Context, namespace, key string, expires time.Time) error
}

// SessionsConfig configures Sessions.
type SessionsConfig struct {
	Store SessionStore
	// Access decides the roles counted in the sign-in's audit record and
	// writes the audit records.
	Access *Service
	// RecordSignIns keeps each person's latest verified attributes (for
	// the rule simulator and the impact preview) with the sign-in's write.
	RecordSignIns bool
	Replay        ReplayCache
	// AppTokens revokes a person's app tokens when EndAll ends all their
	// sessions, so an app (the command line) cannot refresh its way past
	// it; nil = apps' tokens are left alone (no OpenID Provider for apps).
	AppTokens AppTokenRevoker
	// Lifetime is a session's absolute lifetime (default 8 h); an upstream
	// cap (Session.CapAt) ends it earlier.
	Lifetime time.Duration
	// Idle ends a session unused for this long (default 1 h). Use is
	// recorded at most once a minute (a quarter of Idle when that is
	// shorter), so a session may end up to that much sooner than Idle
	// after its last use.
	Idle time.Duration
	// ReauthAfter is how old a session's verified attributes may be before
	// Stale says to ask the IdP again (default 1 h).
	ReauthAfter time.Duration
	// FailureWindow is how long repeated failed sign-ins (same client
	// address, provider and reason) are counted into one audit event
	// after the first (default DefaultFailureWindow).
	FailureWindow time.Duration
	// FailureKeys bounds the windows open at once (default
	// DefaultFailureKeys); beyond it failures are counted together.
	FailureKeys int
	Logger      *slog.Logger
	Now         func() time.Time
}

// Sessions is the portal session lifecycle: a session starts at a verified
// sign-in (replacing the browser's previous one, with a new id: no session
// fixation), is loaded and saved while the person picks roles, and ends at
// sign-out. Every start, failed sign-in and end is audited; repeated
// failed sign-ins are counted into one event a window (failures.go). The
// browser holds only the session id; the Session (and its upstream
// credential) lives in the store, encrypted at rest. Sessions is safe for
// concurrent use.
type Sessions struct {
	cfg   SessionsConfig
	log   *slog.Logger
	now   func() time.Time
	fails *failures
	// idleMessage is the text of ReasonSessionIdle, made once.
	idleMessage string
	// touchEvery is how often Load records that a session is in use:
	// a page view is not a store write each time.
	touchEvery time.Duration
}

// Reasons of the session lifecycle, for callers to branch on.
const (
	// ReasonSessionIdle (ENOTFOUND, from Load): the session went unused for
	// SessionsConfig.Idle and has ended.
	ReasonSessionIdle = "session_idle"
	// ReasonSessionNotOnOrAfter (EEXPIRED, from Start): the IdP's session
	// had already ended (the cap is in the past).
	ReasonSessionNotOnOrAfter = "session_not_on_or_after"
	// ReasonSessionNotFound (ENOTFOUND, from EndHandle): no such session of
	// that person (ended already, or never theirs).
	ReasonSessionNotFound = "session_not_found"
	// ReasonUpstreamLogout is the audit reason of a session ended by the
	// IdP's logout (EndUpstream).
	ReasonUpstreamLogout = "upstream_logout"
)

// touchEvery is how often Load records that a session is in use, at most
// (a quarter of SessionsConfig.Idle when that is shorter).
const touchEvery = time.Minute

// NewSessions returns the session lifecycle; Store, Access and Replay are required.
func NewSessions(cfg SessionsConfig) (*Sessions, error) {
	if cfg.Store == nil || cfg.Access == nil || cfg.Replay == nil {
		return nil, errors.New("access: Sessions needs Store, Access and Replay")
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = 8 * time.Hour
	}
	if cfg.Idle <= 0 {
		cfg.Idle = time.Hour
	}
	if cfg.ReauthAfter <= 0 {
		cfg.ReauthAfter = time.Hour
	}
	if cfg.FailureWindow <= 0 {
		cfg.FailureWindow = DefaultFailureWindow
	}
	if cfg.FailureKeys <= 0 {
		cfg.FailureKeys = DefaultFailureKeys
	}
	s := &Sessions{cfg: cfg, log: cfg.Logger, now: cfg.Now, fails: newFailures(cfg.FailureWindow, cfg.FailureKeys),
		idleMessage: "You were signed out after " + spell(cfg.Idle) + " without activity. Sign in again.",
		touchEvery:  min(touchEvery, cfg.Idle/4)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Start stores a new session for a verified sign-in and returns its id and
// the roles the rules give the person now. replaces is the browser's
// previous session id ("" if none); it is ended with the same write.
//
// Everything the sign-in writes — its one-time value (WithOneTime), the
// previous session's end, the session, the sign-in record
// (RecordSignIns) and the "signin" audit record — is one transaction
// (SessionStore.CompleteSignIn): no session without its audit record. A
// one-time value used before refuses the sign-in (the WithOneTime
// refusal, audited as a failed sign-in with its subject) and writes
// nothing; a store that cannot write refuses it with its EUNAVAILABLE
// error, logged with the request id. The session keeps the upstream SAML
// Response or ID token only when the rules give a pass-through role that
// uses it (Session.KeepUpstreamFor).
//
// The session ends at now+Lifetime or at its upstream cap
// (Session.NotAfter), whichever is first; a cap already past is refused
// with EEXPIRED, ReasonSessionNotOnOrAfter (audited as a failed sign-in,
// the previous session kept). A zero VerifiedAt becomes now. The stored
// session records the IdP's session (Identity.SessionIndex) for single
// logout, and meta's address and user agent for the list of sessions.
func (s *Sessions) Start(ctx context.Context, sess *Session, replaces string, meta Meta) (string, mapping.Decision, error) {
	id := &sess.Identity
	now := s.now()
	if na := sess.notAfter; !na.IsZero() && !na.After(now) {
		return "", mapping.Decision{}, s.refuseEnded(ctx, sess, now, meta)
	}
	if sess.verifiedAt.IsZero() {
		sess.verifiedAt = now
	}
	decision := s.cfg.Access.Decide(id)
	sess.KeepUpstreamFor(decision)
	w, err := s.signInWrite(sess, replaces, now, meta, len(decision.Grants))
	if err != nil {
		return "", mapping.Decision{}, err
	}
	if err := s.cfg.Store.CompleteSignIn(ctx, w); err != nil {
		if broker.ErrorCode(err) != broker.EREPLAY {
			s.cfg.Access.cfg.Metrics.AuditWriteFailed(w.Audit.Event)
		}
		return "", mapping.Decision{}, s.startFailed(ctx, sess, err, meta)
	}
	s.cfg.Access.count(w.Audit) // written with the sign-in: the metrics agree with it
	s.log.InfoContext(ctx, "signed in", "request_id", meta.RequestID, "provider", id.Provider,
		"subject", id.Subject, "roles", len(decision.Grants))
	return w.Session.ID, decision, nil
}

// signInWrite is everything Start writes for sess, under a new session id.
func (s *Sessions) signInWrite(sess *Session, replaces string, now time.Time, meta Meta, roles int) (*store.SignInWrite, error) {
	id := &sess.Identity
	data, err := sess.MarshalBinary()
	if err != nil {
		return nil, err
	}
	w := &store.SignInWrite{
		Replaces: replaces,
		Session: &store.Session{
			ID: newSessionID(), Subject: id.Subject, Provider: id.Provider, Data: data,
			CreatedAt: now, LastSeenAt: now, ExpiresAt: sess.capped(now.Add(s.cfg.Lifetime)),
			UpstreamSession: id.SessionIndex, RemoteAddr: meta.RemoteAddr, UserAgent: meta.UserAgent,
		},
		Audit: &store.AuditEvent{
			Time: now, RequestID: meta.RequestID, Event: "signin", Result: store.ResultSuccess,
			Provider: id.Provider, Subject: id.Subject, RemoteAddr: meta.RemoteAddr, UserAgent: meta.UserAgent,
			Details: map[string]string{"roles": strconv.Itoa(roles)},
		},
	}
	if o := sess.once; o != nil {
		w.Replay = store.ReplayEntry{Namespace: o.namespace, Key: o.key, Expires: o.expires}
	}
	if s.cfg.RecordSignIns {
		// The verified attributes; no credentials (the Identity holds none).
		b, err := json.Marshal(id)
		if err != nil {
			return nil, fmt.Errorf("access: encode sign-in: %w", err)
		}
		w.SignIn = &store.SignIn{Time: now, Provider: id.Provider, Subject: id.Subject, Identity: b}
	}
	return w, nil
}

// startFailed turns a failed sign-in write into Start's error: a replay
// is the one-time value's refusal, audited as a failed sign-in of the
// verified subject; anything else is logged with the request id (the
// audit record could not be written either).
func (s *Sessions) startFailed(ctx context.Context, sess *Session, err error, meta Meta) error {
	id := &sess.Identity
	if broker.ErrorCode(err) == broker.EREPLAY {
		refusal := err
		if sess.once != nil && sess.once.refusal != nil {
			refusal = sess.once.refusal
		}
		s.Failed(ctx, id.Provider, verifiedRefusal{refusal, id.Subject}, meta)
		return refusal
	}
	s.log.ErrorContext(ctx, "sign-in refused: its session and audit record could not be written", "request_id", meta.RequestID,
		"provider", id.Provider, "subject", id.Subject, "reason", broker.ErrorReason(err), "err", err)
	return err
}

// verifiedRefusal is a refusal of a sign-in whose credential verified:
// the audit record names its subject.
type verifiedRefusal struct {
	err     error
	subject string
}

func (e verifiedRefusal) Error() string           { return e.err.Error() }
func (e verifiedRefusal) Unwrap() error           { return e.err }
func (e verifiedRefusal) VerifiedSubject() string { return e.subject }

// What a protocol package's refusal may carry beyond its reason, read
// from the error chain with errors.As (saml.RefusedError and
// oidc.RefusedError have both): the subject of a credential whose
// signature verified ("" before one did), and details for the audit
// record (an IdP's status or error code).
type (
	verifiedSubject interface{ VerifiedSubject() string }
	auditDetails    interface{ AuditDetails() map[string]string }
)

// Failed audits a sign-in that was refused: with its subject when the
// refusal came after the upstream credential's signature verified (replay,
// expired, audience, …), and the details the refusal gives. The first of
// its client address, provider and reason in a window is audited as it
// is, the rest of the window counted into one event (Details count,
// window, since) written when the window has closed: at the next failed
// sign-in after it, or at FlushFailures.
func (s *Sessions) Failed(ctx context.Context, provider string, err error, meta Meta) {
	ev := &store.AuditEvent{
		RequestID: meta.RequestID, Event: "signin", Result: store.ResultFailure,
		Reason: broker.ErrorReason(err), Message: broker.ErrorMessage(err), Provider: provider,
		RemoteAddr: meta.RemoteAddr, UserAgent: meta.UserAgent,
	}
	var vs verifiedSubject
	if errors.As(err, &vs) {
		ev.Subject = vs.VerifiedSubject()
	}
	var ad auditDetails
	if errors.As(err, &ad) {
		ev.Details = ad.AuditDetails()
	}
	audit, due := s.fails.record(s.now, ev)
	for i := range due {
		s.cfg.Access.Audit(ctx, &due[i])
	}
	if audit {
		s.cfg.Access.Audit(ctx, ev)
	}
}

// Load returns a live session; ENOTFOUND when it is absent, expired or
// ended (EndAll, EndHandle, EndUpstream). A session unused for Idle is
// ended here (deleted, audited "logout" with reason "idle") and Load
// returns ENOTFOUND with ReasonSessionIdle and a message saying so.
// Otherwise the use is recorded (TouchSession), at most once a minute.
func (s *Sessions) Load(ctx context.Context, id string) (*Session, error) {
	st, err := s.cfg.Store.GetSession(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if s.idle(st, now) {
		return nil, s.endIdle(ctx, st, now)
	}
	var sess Session
	if err := sess.UnmarshalBinary(st.Data); err != nil {
		return nil, broker.Wrap(err, broker.EINTERNAL, "session_undecodable", "")
	}
	if sess.dropExpiredUpstream(now) {
		// The upstream Response or ID token is past its use: it leaves the
		// store now.
		if err := s.save(ctx, id, &sess, st.ExpiresAt); err != nil {
			return nil, err
		}
	}
	if err := s.touch(ctx, st, now); err != nil {
		return nil, err
	}
	return &sess, nil
}

// Save writes a session back, keeping its expiry, or ending it sooner
// when the session was capped (Session.CapAt) since it was stored.
func (s *Sessions) Save(ctx context.Context, id string, sess *Session) error {
	st, err := s.cfg.Store.GetSession(ctx, id)
	if err != nil {
		return err
	}
	sess.dropExpiredUpstream(s.now())
	return s.save(ctx, id, sess, st.ExpiresAt)
}

// save writes sess back with its expiry (or its cap, when sooner).
func (s *Sessions) save(ctx context.Context, id string, sess *Session, expires time.Time) error {
	data, err := sess.MarshalBinary()
	if err != nil {
		return err
	}
	return s.cfg.Store.UpdateSession(ctx, id, data, sess.capped(expires))
}

// Stale reports whether sess's attributes are too old to grant a role or
// admin access on: verified ReauthAfter ago or longer, or at an unknown
// time. The caller then sends the person through the IdP again (silently
// where the protocol allows) and starts a fresh session.
func (s *Sessions) Stale(sess *Session) bool {
	return sess.verifiedAt.IsZero() || !s.now().Before(sess.verifiedAt.Add(s.cfg.ReauthAfter))
}

// End ends a session (sign-out) and audits it; ending one that is already
// gone is not an error.
func (s *Sessions) End(ctx context.Context, id string, meta Meta) error {
	if st, err := s.cfg.Store.GetSession(ctx, id); err == nil {
		s.cfg.Access.Audit(ctx, &store.AuditEvent{
			RequestID: meta.RequestID, Event: "logout", Result: store.ResultSuccess,
			Provider: st.Provider, Subject: st.Subject, RemoteAddr: meta.RemoteAddr, UserAgent: meta.UserAgent,
		})
	}
	return s.cfg.Store.DeleteSession(ctx, id)
}

// UseOnce records a one-time value (an OIDC state) until expires; EREPLAY
// if it was used before, on any instance.
func (s *Sessions) UseOnce(ctx context.Context, namespace, key string, expires time.Time) error {
	return s.cfg.Replay.Remember(ctx, namespace, key, expires)
}

// newSessionID returns 256 random bits.
func newSessionID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("access: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
