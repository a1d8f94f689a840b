package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/broker-dev/broker"
)

// LogoutSupport is what the OP's discovery document says about logout.
type LogoutSupport struct {
	// EndSessionEndpoint is the OP's RP-initiated logout endpoint, "" when
	// it has none.
	EndSessionEndpoint string
	// Backchannel and BackchannelSession: the OP sends back-channel logout
	// tokens, and they carry sid.
	Backchannel, BackchannelSession bool
}

// logoutSupport reads the logout metadata of a discovery document. An
// end_session_endpoint that is not an absolute http(s) URL fails
// discovery: the broker would send browsers to it.
func logoutSupport(op *gooidc.Provider) (LogoutSupport, error) {
	var md struct {
		EndSession         string `json:"end_session_endpoint"`
		Backchannel        bool   `json:"backchannel_logout_supported"`
		BackchannelSession bool   `json:"backchannel_logout_session_supported"`
	}
	if err := op.Claims(&md); err != nil {
		return LogoutSupport{}, fmt.Errorf("reading logout metadata: %w", err)
	}
	if md.EndSession != "" {
		u, err := url.Parse(md.EndSession)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Fragment != "" {
			return LogoutSupport{}, fmt.Errorf("end_session_endpoint %q is not an absolute http(s) URL", md.EndSession)
		}
	}
	return LogoutSupport{EndSessionEndpoint: md.EndSession, Backchannel: md.Backchannel, BackchannelSession: md.BackchannelSession}, nil
}

// Logout returns what the OP supports for logout. Errors: EUNAVAILABLE
// before discovery has succeeded.
func (p *Provider) Logout(ctx context.Context) (LogoutSupport, error) {
	if _, err := p.discover(ctx, false); err != nil {
		return LogoutSupport{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logout, nil
}

// EndSessionURL is where to send the browser to end the person's session
// at the OP (OpenID Connect RP-Initiated Logout 1.0): the OP's
// end_session_endpoint with client_id, and id_token_hint,
// post_logout_redirect_uri and state when given (the URI must be
// registered at the OP for this client). It is "" and nil when the OP has
// no end_session_endpoint. Errors: EUNAVAILABLE before discovery.
func (p *Provider) EndSessionURL(ctx context.Context, idTokenHint, postLogoutRedirectURI, state string) (string, error) {
	ls, err := p.Logout(ctx)
	if err != nil || ls.EndSessionEndpoint == "" {
		return "", err
	}
	u, _ := url.Parse(ls.EndSessionEndpoint) // checked at discovery
	q := u.Query()
	q.Set("client_id", p.cfg.ClientID)
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	if postLogoutRedirectURI != "" {
		q.Set("post_logout_redirect_uri", postLogoutRedirectURI)
		if state != "" {
			q.Set("state", state)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Back-channel logout token limits and names.
const (
	// MaxLogoutTokenSize bounds the raw logout token VerifyLogoutToken reads.
	MaxLogoutTokenSize = 16 << 10
	// LogoutTokenMaxAge is how long after its iat a logout token without
	// exp is accepted (plus the clock skew).
	LogoutTokenMaxAge = 5 * time.Minute
	// BackchannelLogoutEvent is the member of the events claim that makes
	// a JWT a back-channel logout token.
	BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"
)

// Reasons of a refused logout token (besides the signature reasons it
// shares with ID tokens: signature_invalid, algorithm_not_allowed,
// issuer_mismatch, audience_mismatch, jwks_unavailable).
const (
	ReasonLogoutTokenMissing  = "logout_token_missing"
	ReasonLogoutTokenTooLarge = "logout_token_too_large"
	ReasonLogoutTokenInvalid  = "logout_token_invalid"   // claims not as the spec says (types)
	ReasonLogoutTypInvalid    = "logout_typ_invalid"     // typ header neither logout+jwt nor JWT
	ReasonLogoutEventMissing  = "logout_event_missing"   // events lacks the back-channel logout member, or it is not an object
	ReasonLogoutNonce         = "logout_nonce_present"   // a nonce claim: an ID token replayed as a logout token
	ReasonLogoutJTIMissing    = "logout_jti_missing"     // no jti to burn
	ReasonLogoutSubjectless   = "logout_sub_sid_missing" // neither sub nor sid
	ReasonLogoutIATMissing    = "logout_iat_missing"
	ReasonLogoutIssuedFuture  = "logout_issued_in_future"
	ReasonLogoutExpired       = "logout_token_expired" // exp passed, or no exp and iat older than LogoutTokenMaxAge
)

const msgLogoutRefused = "The logout token was refused: it is not a valid back-channel logout token from this identity provider for the broker. An administrator must check the identity provider's back-channel logout settings for the broker."

// logoutFail is a logout token refusal.
func (p *Provider) logoutFail(code, reason string, cause error) error {
	msg := msgLogoutRefused
	switch code {
	case broker.EUPSTREAM:
		msg = "The logout token could not be checked: the broker could not fetch the identity provider's signing keys. The identity provider may retry."
	case broker.EUNAVAILABLE:
		msg = "The logout token could not be checked: the identity provider's discovery document could not be read. The identity provider may retry."
	}
	return p.refusal(code, reason, msg, cause)
}

// LogoutToken is a verified back-channel logout token. Sessions to end
// are those of this provider with SID as their SessionIndex, or, when SID
// is "", all those of Subject.
type LogoutToken struct {
	Subject, SID, JTI string
	IssuedAt          time.Time
	// Expires is the token's exp, or IssuedAt + LogoutTokenMaxAge when it
	// has none: burn JTI in the replay cache until then.
	Expires time.Time
}

// logoutClaims are the logout token's claims, typed as the spec says; a
// claim of another JSON type fails to decode.
type logoutClaims struct {
	Sub    *string                    `json:"sub"`
	SID    *string                    `json:"sid"`
	JTI    *string                    `json:"jti"`
	IAT    json.RawMessage            `json:"iat"`
	Exp    json.RawMessage            `json:"exp"`
	Events map[string]json.RawMessage `json:"events"`
	// nonce is whether the claim is there at all, whatever its value.
	nonce bool
}

// VerifyLogoutToken verifies a back-channel logout token (OpenID Connect
// Back-Channel Logout 1.0, 2.6): signed by a key of the OP's JWKS with an
// allowed algorithm (as ID tokens), iss, aud containing the client id, typ
// logout+jwt or JWT when present, iat present and not in the future
// beyond the skew, exp not passed (or, without exp, iat within
// LogoutTokenMaxAge), jti, the back-channel logout event as a JSON object,
// sub or sid, and no nonce. The caller burns JTI until Expires.
//
// Errors are *broker.Error: EUNAUTHORIZED with the reasons above (and
// signature_invalid, algorithm_not_allowed, issuer_mismatch,
// audience_mismatch); EUPSTREAM jwks_unavailable; EUNAVAILABLE before
// discovery.
func (p *Provider) VerifyLogoutToken(ctx context.Context, raw string) (*LogoutToken, error) {
	switch {
	case raw == "":
		return nil, p.logoutFail(broker.EUNAUTHORIZED, ReasonLogoutTokenMissing, errors.New("no logout_token"))
	case len(raw) > MaxLogoutTokenSize:
		return nil, p.logoutFail(broker.EUNAUTHORIZED, ReasonLogoutTokenTooLarge, fmt.Errorf("logout token of %d bytes", len(raw)))
	}
	if _, err := p.discover(ctx, false); err != nil {
		return nil, p.logoutFail(broker.EUNAVAILABLE, "discovery_failed", err)
	}
	p.mu.Lock()
	v := p.verifier
	p.mu.Unlock()
	// The ID token verifier: same JWKS, algorithm allow-list, iss and aud
	// checks; its expiry check is off (ours follows), and it reads no nonce.
	tok, err := v.Verify(p.httpContext(ctx), raw)
	if err != nil {
		code, reason := classifyVerify(err)
		if reason == "id_token_invalid" {
			reason = ReasonLogoutTokenInvalid
		}
		return nil, p.logoutFail(code, reason, fmt.Errorf("logout token: %w", err))
	}
	if err := checkLogoutTyp(raw); err != nil {
		return nil, p.logoutFail(broker.EUNAUTHORIZED, ReasonLogoutTypInvalid, err)
	}
	var c logoutClaims
	var all map[string]json.RawMessage
	if err := tok.Claims(&c); err != nil {
		return nil, p.logoutFail(broker.EUNAUTHORIZED, ReasonLogoutTokenInvalid, fmt.Errorf("logout token claims: %w", err))
	}
	if err := tok.Claims(&all); err != nil {
		return nil, p.logoutFail(broker.EUNAUTHORIZED, ReasonLogoutTokenInvalid, fmt.Errorf("logout token claims: %w", err))
	}
	for k := range all {
		// JSON decoding matches field names in any case, JWT claim names
		// are case-sensitive (RFC 7519 4): "Aud" is not "aud".
		if l := strings.ToLower(k); l != k && slices.Contains(logoutClaimNames, l) {
			return nil, p.logoutFail(broker.EUNAUTHORIZED, ReasonLogoutTokenInvalid, fmt.Errorf("logout token: claim %.20q is not %q (claim names are case-sensitive)", k, l))
		}
	}
	_, c.nonce = all["nonce"]
	return p.checkLogoutClaims(&c)
}

// logoutClaimNames are the claims a logout token is judged by.
var logoutClaimNames = []string{"iss", "aud", "sub", "sid", "jti", "iat", "exp", "nbf", "events", "nonce"}

// checkLogoutTyp: the (signed) header's typ, when present, is logout+jwt
// or JWT, with or without application/, in any case (RFC 7515 4.1.9).
func checkLogoutTyp(raw string) error {
	b, err := base64.RawURLEncoding.DecodeString(raw[:strings.IndexByte(raw, '.')])
	if err != nil {
		return fmt.Errorf("logout token header: %w", err)
	}
	var h struct {
		Typ *string `json:"typ"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("logout token header: %w", err)
	}
	if h.Typ == nil {
		return nil
	}
	switch strings.TrimPrefix(strings.ToLower(*h.Typ), "application/") {
	case "logout+jwt", "jwt":
		return nil
	}
	return fmt.Errorf("logout token typ %q", printable(*h.Typ, 40))
}

func (p *Provider) checkLogoutClaims(c *logoutClaims) (*LogoutToken, error) {
	bad := func(reason, format string, args ...any) (*LogoutToken, error) {
		return nil, p.logoutFail(broker.EUNAUTHORIZED, reason, fmt.Errorf(format, args...))
	}
	now, skew := p.cfg.Now(), p.cfg.ClockSkew
	if c.nonce {
		return bad(ReasonLogoutNonce, "the logout token has a nonce claim")
	}
	ev, ok := c.Events[BackchannelLogoutEvent]
	if !ok || !isJSONObject(ev) {
		return bad(ReasonLogoutEventMissing, "events has no %s object", BackchannelLogoutEvent)
	}
	if c.JTI == nil || *c.JTI == "" {
		return bad(ReasonLogoutJTIMissing, "the logout token has no jti")
	}
	t := &LogoutToken{JTI: *c.JTI}
	if c.Sub != nil {
		t.Subject = *c.Sub
	}
	if c.SID != nil {
		t.SID = *c.SID
	}
	if t.Subject == "" && t.SID == "" {
		return bad(ReasonLogoutSubjectless, "the logout token has neither sub nor sid")
	}
	iat, ok := unixTime(c.IAT)
	if !ok {
		return bad(ReasonLogoutIATMissing, "the logout token has no usable iat")
	}
	t.IssuedAt = iat
	if iat.After(now.Add(skew)) {
		return bad(ReasonLogoutIssuedFuture, "iat %s is in the future", iat.UTC().Format(time.RFC3339))
	}
	if c.Exp != nil && string(c.Exp) != "null" {
		exp, ok := unixTime(c.Exp)
		if !ok {
			return bad(ReasonLogoutTokenInvalid, "exp is not a usable time")
		}
		if !now.Before(exp.Add(skew)) {
			return bad(ReasonLogoutExpired, "the logout token expired at %s", exp.UTC().Format(time.RFC3339))
		}
		t.Expires = exp
	} else {
		t.Expires = iat.Add(LogoutTokenMaxAge)
		if !now.Before(t.Expires.Add(skew)) {
			return bad(ReasonLogoutExpired, "the logout token has no exp and was issued at %s", iat.UTC().Format(time.RFC3339))
		}
	}
	return t, nil
}

// unixTime reads a NumericDate: a JSON number of seconds (possibly
// fractional) within years 1970..9999; not a string.
func unixTime(raw json.RawMessage) (time.Time, bool) {
	var n json.Number
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &n) != nil || n == "" {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || !(f >= 0) || f > 253402300799 {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

func isJSONObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return len(raw) > 0 && json.Unmarshal(raw, &m) == nil && m != nil
}
