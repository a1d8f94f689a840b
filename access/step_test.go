package access

import (
	"errors"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/sts"
)

func expiredErr(reason string) error {
	return broker.Errorf(broker.EEXPIRED, reason, "sign in again")
}

func oidcSession(refreshToken string) *Session {
	return NewOIDCSession(broker.Identity{Provider: "kc", Protocol: broker.ProtocolOIDC, Subject: "bob"},
		"id-token-1", time.Now().Add(-time.Minute), refreshToken)
}

func samlSession() *Session {
	return &Session{Identity: broker.Identity{Provider: "okta", Protocol: broker.ProtocolSAML, Subject: "alice"}, samlResponse: upstreamXML, used: true}
}

func TestNextStep(t *testing.T) {
	samlIdP, oidcOP, both := Provider{SAML: true}, Provider{OIDC: true}, Provider{SAML: true, OIDC: true}
	none := Step{}
	refresh := Step{Kind: StepRefresh}
	signIn := Step{Kind: StepSignInAgain}
	silent := Step{Kind: StepSignInAgain, Silent: true}
	tests := []struct {
		name string
		sess *Session
		err  error
		p    Provider
		want Step
	}{
		// SAML: a fresh assertion from the IdP.
		{"saml used", samlSession(), expiredErr(ReasonUpstreamUsed), samlIdP, signIn},
		{"saml assertion expired", samlSession(), expiredErr(ReasonUpstreamExpired), samlIdP, signIn},
		{"saml no response kept", samlSession(), expiredErr(ReasonUpstreamMissing), samlIdP, signIn},
		{"saml sts expired token", samlSession(), expiredErr(sts.ReasonExpiredToken), samlIdP, signIn},
		{"saml provider also OIDC: silent", samlSession(), expiredErr(ReasonUpstreamUsed), both, silent},
		{"saml provider not configured", samlSession(), expiredErr(ReasonUpstreamUsed), Provider{}, none},
		{"saml identity, provider only OIDC", samlSession(), expiredErr(ReasonUpstreamUsed), oidcOP, none},
		{"saml upstream token expired", samlSession(), expiredErr(ReasonUpstreamTokenExpired), samlIdP, none},
		{"saml upstream token expired, provider both", samlSession(), expiredErr(ReasonUpstreamTokenExpired), both, none},
		// OIDC with a refresh token: refresh first.
		{"oidc token expired, refresh token", oidcSession("rt-1"), expiredErr(ReasonUpstreamTokenExpired), oidcOP, refresh},
		{"oidc sts expired token, refresh token", oidcSession("rt-1"), expiredErr(sts.ReasonExpiredToken), oidcOP, refresh},
		{"oidc refresh token, provider not configured", oidcSession("rt-1"), expiredErr(ReasonUpstreamTokenExpired), Provider{}, none},
		{"oidc refresh token, provider only SAML", oidcSession("rt-1"), expiredErr(ReasonUpstreamTokenExpired), samlIdP, none},
		{"oidc refresh token, sts expired, provider only SAML", oidcSession("rt-1"), expiredErr(sts.ReasonExpiredToken), samlIdP, none},
		// OIDC without a refresh token: silent sign-in, for an expired token only.
		{"oidc token expired", oidcSession(""), expiredErr(ReasonUpstreamTokenExpired), oidcOP, silent},
		{"oidc sts expired token", oidcSession(""), expiredErr(sts.ReasonExpiredToken), oidcOP, none},
		{"oidc no ID token", oidcSession(""), expiredErr(ReasonUpstreamMissing), oidcOP, none},
		{"oidc used", oidcSession("rt-1"), expiredErr(ReasonUpstreamUsed), oidcOP, none},
		{"oidc no ID token, provider both", oidcSession(""), expiredErr(ReasonUpstreamMissing), both, none},
		// Anything else: show the error.
		{"other expired reason", oidcSession("rt-1"), expiredErr("token_expired"), oidcOP, none},
		{"other expired reason saml", samlSession(), expiredErr("assertion_expired"), samlIdP, none},
		{"right reason, wrong code", samlSession(), broker.Errorf(broker.EFORBIDDEN, ReasonUpstreamUsed, "x"), samlIdP, none},
		{"right reason, wrong code oidc", oidcSession("rt-1"), broker.Errorf(broker.EUNAUTHORIZED, sts.ReasonExpiredToken, "x"), oidcOP, none},
		{"sts access denied", samlSession(), broker.Errorf(broker.EFORBIDDEN, "sts_access_denied", "x"), samlIdP, none},
		{"plain error", samlSession(), errors.New("boom"), samlIdP, none},
		{"no error", samlSession(), nil, samlIdP, none},
		{"no session", nil, expiredErr(ReasonUpstreamUsed), samlIdP, none},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NextStep(tt.sess, tt.err, tt.p); got != tt.want {
				t.Errorf("NextStep = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNextStepAfterRefresh(t *testing.T) {
	op := Provider{OIDC: true}
	tests := []struct {
		name  string
		first error // the error that asked for the refresh
		ok    bool  // the OP renewed the token
		after error // the error Assume then returned (refresh failed: first)
		want  Step
	}{
		{"refresh failed, token expired: sign in silently", expiredErr(ReasonUpstreamTokenExpired), false, nil, Step{Kind: StepSignInAgain, Silent: true}},
		{"refresh failed, sts expired token: show the error", expiredErr(sts.ReasonExpiredToken), false, nil, Step{}},
		{"refreshed, assumed", expiredErr(ReasonUpstreamTokenExpired), true, nil, Step{}},
		{"refreshed, sts still says expired: no second refresh", expiredErr(sts.ReasonExpiredToken), true, expiredErr(sts.ReasonExpiredToken), Step{}},
		{"refreshed, token expired again: sign in silently", expiredErr(ReasonUpstreamTokenExpired), true, expiredErr(ReasonUpstreamTokenExpired), Step{Kind: StepSignInAgain, Silent: true}},
		{"refreshed, other failure", expiredErr(ReasonUpstreamTokenExpired), true, broker.Errorf(broker.EFORBIDDEN, "sts_access_denied", "x"), Step{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess := oidcSession("rt-1")
			if got := NextStep(sess, tt.first, op); got.Kind != StepRefresh {
				t.Fatalf("first step %+v, want StepRefresh", got)
			}
			err := tt.first
			if tt.ok {
				exp := time.Now().Add(time.Hour)
				sess.Refreshed("id-token-2", exp, "rt-2")
				if sess.idToken != "id-token-2" || !sess.idTokenExpires.Equal(exp) || !sess.Identity.Expires.Equal(exp) || sess.RefreshToken() != "rt-2" {
					t.Fatalf("refresh not applied: %+v", sess)
				}
				err = tt.after
			} else {
				sess.RefreshFailed()
				if sess.RefreshToken() != "" || sess.idToken != "id-token-1" {
					t.Fatalf("refresh failure: refresh token %q, id token %q", sess.RefreshToken(), sess.idToken)
				}
			}
			if got := NextStep(sess, err, op); got != tt.want {
				t.Errorf("step after refresh = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestNextStepMatchesWeb plays the retry flow web ran before NextStep
// existed (web/assume.go: canRefresh, refreshUpstream, reauthProvider,
// reauthPage) against the flow on NextStep, for every combination of
// protocol, refresh token, provider, error, refresh result and retry error.
func TestNextStepMatchesWeb(t *testing.T) {
	type result struct {
		refreshes      int
		reauth, silent bool
		err            error
	}
	type provider struct{ exists, saml, oidc bool }
	// before: web's code, transcribed.
	before := func(protocol, rt string, p provider, err error, refreshOK bool, retryErr error) result {
		var r result
		canRefresh := protocol == broker.ProtocolOIDC && rt != "" && broker.ErrorCode(err) == broker.EEXPIRED &&
			(broker.ErrorReason(err) == ReasonUpstreamTokenExpired || broker.ErrorReason(err) == sts.ReasonExpiredToken)
		if err != nil && canRefresh && p.exists && p.oidc {
			r.refreshes++
			if refreshOK {
				err = retryErr
			}
		}
		r.err = err
		if err == nil || broker.ErrorCode(err) != broker.EEXPIRED || !p.exists {
			return r
		}
		switch broker.ErrorReason(err) {
		case ReasonUpstreamUsed, ReasonUpstreamExpired, ReasonUpstreamMissing, sts.ReasonExpiredToken:
			r.reauth = p.saml && protocol == broker.ProtocolSAML
		case ReasonUpstreamTokenExpired:
			r.reauth = p.oidc && protocol == broker.ProtocolOIDC
		}
		r.silent = r.reauth && p.oidc
		return r
	}
	after := func(t *testing.T, protocol, rt string, p provider, err error, refreshOK bool, retryErr error) result {
		var r result
		sess := &Session{Identity: broker.Identity{Protocol: protocol, Subject: "x"}, refreshToken: rt}
		var caps Provider
		if p.exists {
			caps = Provider{SAML: p.saml, OIDC: p.oidc}
		}
		step := NextStep(sess, err, caps)
		if step.Kind == StepRefresh {
			r.refreshes++
			if refreshOK {
				sess.Refreshed("new", time.Now().Add(time.Hour), "rt-2")
				err = retryErr
			} else {
				sess.RefreshFailed()
			}
			step = NextStep(sess, err, caps)
			if step.Kind == StepRefresh {
				t.Error("NextStep asked for a second refresh")
			}
		}
		r.err = err
		if err != nil && step.Kind == StepSignInAgain {
			r.reauth, r.silent = true, step.Silent
		}
		return r
	}
	var errs []error
	for _, reason := range []string{ReasonUpstreamUsed, ReasonUpstreamExpired, ReasonUpstreamMissing, ReasonUpstreamTokenExpired,
		sts.ReasonExpiredToken, "token_expired", "sts_access_denied"} {
		errs = append(errs, expiredErr(reason), broker.Errorf(broker.EFORBIDDEN, reason, "x"))
	}
	errs = append(errs, errors.New("plain"))
	n := 0
	for _, protocol := range []string{broker.ProtocolSAML, broker.ProtocolOIDC} {
		for _, rt := range []string{"", "rt-1"} {
			for pi := range 8 {
				p := provider{exists: pi&1 != 0, saml: pi&2 != 0, oidc: pi&4 != 0}
				for _, err := range errs {
					for _, refreshOK := range []bool{false, true} {
						for _, retryErr := range append([]error{nil}, errs...) {
							n++
							want := before(protocol, rt, p, err, refreshOK, retryErr)
							got := after(t, protocol, rt, p, err, refreshOK, retryErr)
							if got != want {
								t.Fatalf("%s rt=%q %+v err=%v refreshOK=%v retry=%v: got %+v, want %+v",
									protocol, rt, p, err, refreshOK, retryErr, got, want)
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d combinations", n)
}
