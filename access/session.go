package access

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
)

// Session is a signed-in person's state between requests: the verified
// identity and the credential the upstream IdP issued, kept server-side for
// pass-through role assumptions. The caller stores it as opaque bytes
// (MarshalBinary, UnmarshalBinary); the credential changes only through
// Assume and the methods below, so its lifecycle lives here.
//
// The credential fields are unexported: json.Marshal of a Session shows the
// identity only, and slog (LogValue) the provider and subject, never a token
// or an assertion.
type Session struct {
	Identity broker.Identity

	// samlResponse is the Response exactly as the IdP posted it, decoded
	// (base64 only when it goes to STS, samlpath.go); nil when none is
	// kept (OIDC sign-in, or no AWS roles in the assertion).
	samlResponse []byte
	// used is true once the Response was presented to STS: AWS refuses an
	// assertion it has already seen, so a second pass-through needs a fresh one.
	used bool
	// idToken is the upstream OP's raw ID token and idTokenExpires its exp.
	// Unlike a SAML assertion, AWS accepts it until it expires.
	idToken        string
	idTokenExpires time.Time
	// refreshToken renews the ID token; "" when the OP issued none or a
	// refresh failed.
	refreshToken string

	// refreshed is true once Refreshed was applied to this value (it is not
	// stored): NextStep never asks for a second refresh in one attempt.
	refreshed bool

	// verifiedAt is when the broker last verified the identity's
	// attributes with the IdP (the sign-in); zero means unknown (a session
	// stored before it was recorded), which Sessions.Stale treats as stale.
	verifiedAt time.Time
	// notAfter is the upstream cap on the session (SAML
	// SessionNotOnOrAfter, the OP's refresh lifetime); zero for none.
	notAfter time.Time

	// once is the sign-in's one-time value, burned in Sessions.Start's
	// transaction (not stored with the session).
	once *oneTime
}

// oneTime is a value a sign-in may use once (WithOneTime).
type oneTime struct {
	namespace, key string
	expires        time.Time
	refusal        error
}

// WithOneTime makes the sign-in single use: Sessions.Start records key
// under namespace until expires in the same transaction as the session and
// its audit record (a SAML assertion ID, an OIDC state), and refuses the
// sign-in with refusal (nil: an EREPLAY "replay" error), audited as a
// failed sign-in, when the key was recorded before, on any instance.
func WithOneTime(namespace, key string, expires time.Time, refusal error) SessionOption {
	return func(s *Session) {
		s.once = &oneTime{namespace: namespace, key: key, expires: expires, refusal: refusal}
	}
}

// SessionOption sets an optional property of a new Session.
type SessionOption func(*Session)

// WithVerifiedAt says when the identity was verified (the caller's clock).
// Without it, Sessions.Start records its own now.
func WithVerifiedAt(t time.Time) SessionOption {
	return func(s *Session) { s.verifiedAt = t }
}

// NewSAMLSession is the session of a SAML sign-in. responseXML is the
// decoded Response exactly as received (kept as given, not copied: the
// caller must not change it); it is kept for pass-through only
// when the assertion names AWS roles (id.Roles), from which pass-through
// grants are made, and then only while it can be used: Sessions.Start
// drops it unless the rules give a pass-through role, and it is dropped
// once spent on STS or past the assertion's expiry (id.Expires). The
// session is capped at the assertion's SessionNotOnOrAfter
// (id.SessionNotOnOrAfter) when the IdP set one.
func NewSAMLSession(id broker.Identity, responseXML []byte, opts ...SessionOption) *Session {
	s := &Session{Identity: id}
	if len(id.Roles) > 0 {
		s.samlResponse = responseXML
	}
	s.CapAt(id.SessionNotOnOrAfter)
	for _, o := range opts {
		o(s)
	}
	return s
}

// NewOIDCSession is the session of an OIDC sign-in: the raw ID token, its
// expiry and the refresh token ("" when the OP issued none). Cap it with
// CapAt when the OP limits the session (refresh_expires_in).
func NewOIDCSession(id broker.Identity, idToken string, expires time.Time, refreshToken string, opts ...SessionOption) *Session {
	s := &Session{Identity: id, idToken: idToken, idTokenExpires: expires, refreshToken: refreshToken}
	for _, o := range opts {
		o(s)
	}
	return s
}

// VerifiedAt is when the broker last verified the identity with the IdP;
// zero when unknown (treated as stale by Sessions.Stale).
func (s *Session) VerifiedAt() time.Time { return s.verifiedAt }

// NotAfter is the upstream cap on the session, zero for none.
func (s *Session) NotAfter() time.Time { return s.notAfter }

// CapAt caps the session at t: the earliest cap wins, a zero t changes
// nothing. Sessions.Start and Sessions.Save end the stored session by then.
func (s *Session) CapAt(t time.Time) {
	if !t.IsZero() && (s.notAfter.IsZero() || t.Before(s.notAfter)) {
		s.notAfter = t
	}
}

// RefreshToken is the token to renew the upstream ID token with, "" when
// there is none.
func (s *Session) RefreshToken() string { return s.refreshToken }

// Refreshed applies a successful refresh: the new ID token and its expiry
// (also the identity's Expires) and the refresh token the OP returned (it
// may have rotated). Store the session afterwards.
func (s *Session) Refreshed(idToken string, expires time.Time, refreshToken string) {
	s.idToken, s.idTokenExpires, s.refreshToken = idToken, expires, refreshToken
	s.Identity.Expires = expires
	s.refreshed = true
}

// Reverified applies an identity the IdP has just verified again for the
// same person (the claims of a refreshed ID token): the rules and the
// admin condition decide on it from now on, and the reauth_after clock
// starts again at at. Store the session afterwards.
func (s *Session) Reverified(id broker.Identity, at time.Time) {
	if id.Subject != s.Identity.Subject || id.Provider != s.Identity.Provider {
		return // never another person: oidc.Refresh refuses a changed sub
	}
	s.Identity, s.verifiedAt = id, at
}

// RefreshFailed drops the refresh token after the OP refused it, so the
// next step is to sign in again. Store the session afterwards.
func (s *Session) RefreshFailed() { s.refreshToken = "" }

// spend marks the upstream SAML Response used after an Assume that
// presented it to STS (out.UsedUpstream): AWS will not take it again,
// whatever the outcome. An EINVALID error leaves it unmarked: the request
// was refused as malformed, mostly by sts's own checks before any call to
// AWS. It reports whether the session changed.
func (s *Session) spend(out *Outcome, err error) bool {
	if out == nil || !out.UsedUpstream || broker.ErrorCode(err) == broker.EINVALID {
		return false
	}
	s.used = true
	s.samlResponse = nil // AWS will not take it again: no reason to keep it
	return true
}

// KeepUpstreamFor drops the upstream credentials d does not use: the SAML
// Response unless one of d's grants is pass-through by SAML, the upstream
// OP's ID token unless one is pass-through by web identity. Those are
// their only uses (the ID token is a bearer credential AWS accepts until
// it expires): broker-issued sessions hold neither. The refresh token is
// kept, to verify the person again without a browser trip. A pass-through
// role granted later asks for a fresh sign-in (SAML, ReasonUpstreamMissing)
// or a refresh (OIDC, ReasonUpstreamTokenExpired). Sessions.Start applies
// it; apply it again after Refreshed, with the decision on the refreshed
// identity.
func (s *Session) KeepUpstreamFor(d mapping.Decision) {
	var saml, webIdentity bool
	for _, g := range d.Grants {
		if g.Mode != broker.ModePassThrough {
			continue
		}
		switch g.Downstream {
		case broker.DownstreamSAML, "":
			saml = true
		case broker.DownstreamWebIdentity:
			webIdentity = true
		}
	}
	if !saml {
		s.samlResponse = nil
	}
	if !webIdentity {
		s.idToken, s.idTokenExpires = "", time.Time{}
	}
}

// dropExpiredUpstream drops the upstream SAML Response once the assertion
// has expired, and the upstream ID token once it has (AWS would refuse
// either); it reports whether the session changed.
func (s *Session) dropExpiredUpstream(now time.Time) bool {
	changed := false
	if len(s.samlResponse) > 0 && !s.Identity.Expires.IsZero() && !now.Before(s.Identity.Expires) {
		s.samlResponse = nil
		changed = true
	}
	if s.idToken != "" && !s.idTokenExpires.IsZero() && !now.Before(s.idTokenExpires) {
		s.idToken, s.idTokenExpires = "", time.Time{}
		changed = true
	}
	return changed
}

// capped is t, or the session's cap when that comes first.
func (s *Session) capped(t time.Time) time.Time {
	if !s.notAfter.IsZero() && s.notAfter.Before(t) {
		return s.notAfter
	}
	return t
}

// LogValue implements slog.LogValuer: who, never the credential.
func (s *Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("provider", s.Identity.Provider), slog.String("subject", s.Identity.Subject))
}

// sessionWire is the stored form. Its JSON names are those sessions have
// been stored with since the first release: sessions in the store survive
// an upgrade. Fields added later are optional (omitzero), so older
// sessions decode with them zero.
type sessionWire struct {
	Identity       broker.Identity `json:"identity"`
	SAMLResponse   []byte          `json:"saml_response,omitempty"` // base64, as when it was a string of it
	Used           bool            `json:"used,omitempty"`
	IDToken        string          `json:"id_token,omitempty"`
	IDTokenExpires time.Time       `json:"id_token_expires,omitzero"`
	RefreshToken   string          `json:"refresh_token,omitempty"`
	VerifiedAt     time.Time       `json:"verified_at,omitzero"`
	NotAfter       time.Time       `json:"not_after,omitzero"`
}

// MarshalBinary encodes the session for the server-side session store. The
// bytes hold secrets (assertion, tokens): store them encrypted, never log them.
func (s *Session) MarshalBinary() ([]byte, error) {
	b, err := json.Marshal(sessionWire{
		Identity: s.Identity, SAMLResponse: s.samlResponse, Used: s.used,
		IDToken: s.idToken, IDTokenExpires: s.idTokenExpires, RefreshToken: s.refreshToken,
		VerifiedAt: s.verifiedAt, NotAfter: s.notAfter,
	})
	if err != nil {
		return nil, fmt.Errorf("access: encode session: %w", err)
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote, replacing s.
func (s *Session) UnmarshalBinary(b []byte) error {
	var w sessionWire
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("access: decode session: %w", err)
	}
	*s = Session{
		Identity: w.Identity, samlResponse: w.SAMLResponse, used: w.Used,
		idToken: w.IDToken, idTokenExpires: w.IDTokenExpires, refreshToken: w.RefreshToken,
		verifiedAt: w.VerifiedAt, notAfter: w.NotAfter,
	}
	return nil
}
