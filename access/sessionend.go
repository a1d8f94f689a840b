package access

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

// How sessions end before their expiry: unused for too long (Load), at
// the person's or an administrator's request (EndHandle, EndAll), or when
// the IdP's session ends (EndUpstream). An ended session is deleted; its
// next request fails in Load with ENOTFOUND.

// maxListed bounds the sessions of one person that List shows and
// EndHandle searches.
const maxListed = 1000

// SessionInfo is one of a person's live sessions, as lists show it. It
// holds nothing secret: Handle names the session, never its id.
type SessionInfo struct {
	// Handle is Handle(id): stable, public, and no use as a credential.
	Handle                           string
	Provider, Subject                string
	CreatedAt, LastSeenAt, ExpiresAt time.Time
	// RemoteAddr and UserAgent are where the session started.
	RemoteAddr, UserAgent string
	// Current is for the caller to set: the session of the request
	// (compare Handle with Handle(the browser's session id)).
	Current bool
}

// Handle is the public name of the session id: base64url of the first 12
// bytes of SHA-256("broker session handle\x00" + id). The id itself is a
// bearer secret and is never shown; the handle cannot be turned back
// into it.
func Handle(id string) string {
	sum := sha256.Sum256([]byte("broker session handle\x00" + id))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// List returns the live sessions of one person, newest first. provider
// and subject are both required (EINVALID); store errors pass through.
// Sessions already past the idle timeout are left out.
func (s *Sessions) List(ctx context.Context, provider, subject string) ([]SessionInfo, error) {
	sts, err := s.personSessions(ctx, provider, subject)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]SessionInfo, 0, len(sts))
	for i := range sts {
		st := &sts[i]
		if s.idle(st, now) {
			continue
		}
		out = append(out, SessionInfo{
			Handle: Handle(st.ID), Provider: st.Provider, Subject: st.Subject,
			CreatedAt: st.CreatedAt, LastSeenAt: st.LastSeenAt, ExpiresAt: st.ExpiresAt,
			RemoteAddr: st.RemoteAddr, UserAgent: st.UserAgent,
		})
	}
	return out, nil
}

// EndHandle ends one session of a person, named by its Handle: the
// person's own "sign out that device", or an administrator's. ENOTFOUND
// (ReasonSessionNotFound) when the person has no such live session,
// EINVALID without provider or subject. It is audited as
// "session_ended" with the person as Provider/Subject, and Details by
// (by.ID) and handle; the request fields come from by.
func (s *Sessions) EndHandle(ctx context.Context, provider, subject, handle string, by broker.Actor) error {
	sts, err := s.personSessions(ctx, provider, subject)
	if err != nil {
		return err
	}
	var id string
	for i := range sts {
		if handle != "" && Handle(sts[i].ID) == handle {
			id = sts[i].ID
			break
		}
	}
	var gone []store.Session
	if id != "" {
		if gone, err = s.cfg.Store.DeleteSessions(ctx, store.SessionFilter{Provider: provider, Subject: subject, ID: id}); err != nil {
			return err
		}
	}
	if len(gone) == 0 {
		return broker.Errorf(broker.ENOTFOUND, ReasonSessionNotFound, "That session has already ended.")
	}
	s.cfg.Access.Audit(ctx, &store.AuditEvent{
		RequestID: by.RequestID, Event: "session_ended", Result: store.ResultSuccess,
		Provider: provider, Subject: subject, RemoteAddr: by.RemoteAddr, UserAgent: by.UserAgent,
		Details: map[string]string{"by": by.ID, "handle": handle},
	})
	s.log.InfoContext(ctx, "session ended", "request_id", by.RequestID, "provider", provider, "subject", subject, "by", by.ID)
	return nil
}

// EndAll ends every live session of a person but except (the caller's own
// session id to keep, "" for none): "sign out everywhere" and an
// administrator's "end all sessions". With SessionsConfig.AppTokens it
// first revokes every access and refresh token apps hold for the person
// (the command line's too: its next refresh fails with invalid_grant).
// It returns how many sessions ended and writes one audit event
// "sessions_ended" (Details count, by, app_tokens: how many app tokens
// were revoked, and kept: the handle of except, when given), also when
// none were live. EINVALID without provider or subject; a store error
// (of either step) is returned and nothing is audited.
func (s *Sessions) EndAll(ctx context.Context, provider, subject string, by broker.Actor, except string) (int, error) {
	if provider == "" || subject == "" {
		return 0, errNoPerson()
	}
	var revoked int64
	if s.cfg.AppTokens != nil {
		// Tokens first: a failure here leaves the sessions for a retry
		// that ends both, rather than sessions gone and apps still in.
		var err error
		if revoked, err = s.cfg.AppTokens.RevokePersonAppTokens(ctx, provider, subject); err != nil {
			return 0, err
		}
	}
	gone, err := s.cfg.Store.DeleteSessions(ctx, store.SessionFilter{Provider: provider, Subject: subject, Except: except})
	if err != nil {
		return 0, err
	}
	details := map[string]string{"count": strconv.Itoa(len(gone)), "by": by.ID}
	if s.cfg.AppTokens != nil {
		details["app_tokens"] = strconv.FormatInt(revoked, 10)
	}
	if except != "" {
		details["kept"] = Handle(except)
	}
	s.cfg.Access.Audit(ctx, &store.AuditEvent{
		RequestID: by.RequestID, Event: "sessions_ended", Result: store.ResultSuccess,
		Provider: provider, Subject: subject, RemoteAddr: by.RemoteAddr, UserAgent: by.UserAgent, Details: details,
	})
	s.log.InfoContext(ctx, "sessions ended", "request_id", by.RequestID, "provider", provider, "subject", subject,
		"by", by.ID, "count", len(gone), "app_tokens", revoked)
	return len(gone), nil
}

// EndUpstream ends the sessions the IdP's logout names (SAML single
// logout, OIDC back-channel logout): the sessions of provider matching
// subject and upstreamSession (the SAML SessionIndex or OIDC sid the
// session started with); either may be "" to match any, not both, and
// provider is required (EINVALID). via says how the logout came
// ("saml_slo", "oidc_backchannel", ...). It returns how many ended and
// audits each as "logout" (reason ReasonUpstreamLogout, Details via and
// handle) with meta's request fields.
func (s *Sessions) EndUpstream(ctx context.Context, provider, subject, upstreamSession, via string, meta Meta) (int, error) {
	if provider == "" || (subject == "" && upstreamSession == "") {
		return 0, broker.Errorf(broker.EINVALID, "logout_target_missing", "The logout request names no session.")
	}
	gone, err := s.cfg.Store.DeleteSessions(ctx, store.SessionFilter{Provider: provider, Subject: subject, UpstreamSession: upstreamSession})
	if err != nil {
		return 0, err
	}
	for _, st := range gone {
		s.cfg.Access.Audit(ctx, &store.AuditEvent{
			RequestID: meta.RequestID, Event: "logout", Result: store.ResultSuccess, Reason: ReasonUpstreamLogout,
			Provider: st.Provider, Subject: st.Subject, RemoteAddr: meta.RemoteAddr, UserAgent: meta.UserAgent,
			Details: map[string]string{"via": via, "handle": Handle(st.ID)},
		})
	}
	s.log.InfoContext(ctx, "upstream logout", "request_id", meta.RequestID, "provider", provider, "subject", subject,
		"via", via, "ended", len(gone))
	return len(gone), nil
}

// personSessions returns a person's live sessions (at most maxListed).
func (s *Sessions) personSessions(ctx context.Context, provider, subject string) ([]store.Session, error) {
	if provider == "" || subject == "" {
		return nil, errNoPerson()
	}
	return s.cfg.Store.ListSessions(ctx, store.SessionFilter{Provider: provider, Subject: subject, Limit: maxListed})
}

func errNoPerson() error {
	return broker.Errorf(broker.EINVALID, "session_owner_missing", "Name the person (provider and subject) whose sessions these are.")
}

// idle reports whether st went unused for Idle. A session stored before
// last use was recorded (zero LastSeenAt) is not idle: Load records it.
func (s *Sessions) idle(st *store.Session, now time.Time) bool {
	return !st.LastSeenAt.IsZero() && !now.Before(st.LastSeenAt.Add(s.cfg.Idle))
}

// endIdle ends an idle session and returns the error Load reports. Only
// the instance that deleted it audits, so a race writes one record.
func (s *Sessions) endIdle(ctx context.Context, st *store.Session, now time.Time) error {
	gone, err := s.cfg.Store.DeleteSessions(ctx, store.SessionFilter{Provider: st.Provider, Subject: st.Subject, ID: st.ID})
	if err != nil {
		s.log.WarnContext(ctx, "end idle session", "provider", st.Provider, "subject", st.Subject, "err", err)
	}
	if len(gone) > 0 {
		s.cfg.Access.Audit(ctx, &store.AuditEvent{
			Event: "logout", Result: store.ResultSuccess, Reason: "idle", Provider: st.Provider, Subject: st.Subject,
			Details: map[string]string{
				"handle": Handle(st.ID), "idle": s.cfg.Idle.String(),
				"last_seen": st.LastSeenAt.UTC().Format(time.RFC3339), "ended_at": now.UTC().Format(time.RFC3339),
			},
		})
		s.log.InfoContext(ctx, "session ended: idle", "provider", st.Provider, "subject", st.Subject, "idle", s.cfg.Idle)
	}
	return broker.Errorf(broker.ENOTFOUND, ReasonSessionIdle, "%s", s.idleMessage)
}

// touch records that st is in use, when it was last recorded s.touchEvery
// ago or more. A session gone meanwhile is ENOTFOUND; other failures are
// logged only (the request goes on).
func (s *Sessions) touch(ctx context.Context, st *store.Session, now time.Time) error {
	if !st.LastSeenAt.IsZero() && now.Sub(st.LastSeenAt) < s.touchEvery {
		return nil
	}
	err := s.cfg.Store.TouchSession(ctx, st.ID, now)
	if broker.ErrorCode(err) == broker.ENOTFOUND {
		return err
	}
	if err != nil {
		s.log.WarnContext(ctx, "record session use", "provider", st.Provider, "subject", st.Subject, "err", err)
	}
	return nil
}

// refuseEnded audits and returns the refusal of a sign-in whose IdP
// session had already ended.
func (s *Sessions) refuseEnded(ctx context.Context, sess *Session, now time.Time, meta Meta) error {
	id := &sess.Identity
	err := broker.Errorf(broker.EEXPIRED, ReasonSessionNotOnOrAfter,
		"Your session at the identity provider has already ended. Sign in again.")
	s.cfg.Access.Audit(ctx, &store.AuditEvent{
		RequestID: meta.RequestID, Event: "signin", Result: store.ResultFailure, Reason: err.Reason, Message: err.Message,
		Provider: id.Provider, Subject: id.Subject, RemoteAddr: meta.RemoteAddr, UserAgent: meta.UserAgent,
		Details: map[string]string{"not_after": sess.notAfter.UTC().Format(time.RFC3339), "now": now.UTC().Format(time.RFC3339)},
	})
	return err
}

// spell writes d for people: "1 hour", "30 minutes", "1h30m0s".
func spell(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.FormatInt(n, 10) + " " + unit + "s"
	}
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0 && d < time.Hour:
		return plural(int64(d/time.Minute), "minute")
	}
	return d.String()
}
