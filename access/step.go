package access

import (
	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/sts"
)

// StepKind is what to do after a failed Assume.
type StepKind int

const (
	// StepNone: nothing the broker can do by itself; show the error.
	StepNone StepKind = iota
	// StepRefresh: renew the upstream ID token with Session.RefreshToken
	// at the person's OIDC provider, apply the answer with
	// Session.Refreshed (or Session.RefreshFailed), store the session,
	// retry Assume once if the refresh worked, and ask NextStep again with
	// the latest error.
	StepRefresh
	// StepSignInAgain: send the browser through the person's IdP again
	// for a fresh upstream credential, then retry the same grant and
	// destination.
	StepSignInAgain
)

// Step is the next step after a failed Assume.
type Step struct {
	Kind StepKind
	// Silent (StepSignInAgain only): the provider signs in with OIDC, so
	// ask it not to show a page (prompt=none); it falls back to the
	// interactive sign-in when the OP needs the person.
	Silent bool
	// Fresh (StepSignInAgain only): the IdP must authenticate the person
	// anew (SAML ForceAuthn, OIDC prompt=login), not answer from its own
	// session: the role wants a recent sign-in (max_auth_age).
	Fresh bool
}

// Provider says which sign-in protocols the person's identity provider
// (Session.Identity.Provider) offers on this broker. The zero value is a
// provider that is not configured here.
type Provider struct {
	SAML, OIDC bool
}

// NextStep says what to do after Assume failed with err for sess, whose
// identity provider offers p. Only an EEXPIRED error about the upstream
// credential or the sign-in's age has a step other than StepNone:
//
//	reason                                       identity  step
//	ReasonAuthTooOld (the rule's max_auth_age)   any       StepSignInAgain, Fresh, if p.SAML or p.OIDC
//	ReasonUpstreamTokenExpired,                  OIDC      StepRefresh, if the session has a refresh
//	  sts.ReasonExpiredToken,                              token, p.OIDC, and no refresh was applied
//	  sts.ReasonDurationRefused                            to sess yet; else as below
//	ReasonUpstreamUsed, ReasonUpstreamExpired,   SAML      StepSignInAgain if p.SAML (Silent if p.OIDC)
//	  ReasonUpstreamMissing, sts.ReasonExpiredToken,
//	  sts.ReasonDurationRefused
//	ReasonUpstreamTokenExpired,                  OIDC      StepSignInAgain, Silent, if p.OIDC
//	  sts.ReasonDurationRefused
//	anything else                                          StepNone
//
// After a refresh the OP refused (Session.RefreshFailed), NextStep with the
// same error gives the sign-in step. A caller that has just come back from
// signing in again should show the error rather than loop.
func NextStep(sess *Session, err error, p Provider) Step {
	if sess == nil || broker.ErrorCode(err) != broker.EEXPIRED {
		return Step{}
	}
	protocol := sess.Identity.Protocol
	reason := broker.ErrorReason(err)
	if reason == ReasonAuthTooOld && (p.SAML || p.OIDC) {
		return Step{Kind: StepSignInAgain, Fresh: true}
	}
	if protocol == broker.ProtocolOIDC && p.OIDC && sess.refreshToken != "" && !sess.refreshed &&
		(reason == ReasonUpstreamTokenExpired || reason == sts.ReasonExpiredToken || reason == sts.ReasonDurationRefused) {
		return Step{Kind: StepRefresh}
	}
	switch reason {
	case ReasonUpstreamUsed, ReasonUpstreamExpired, ReasonUpstreamMissing, sts.ReasonExpiredToken, sts.ReasonDurationRefused:
		if p.SAML && protocol == broker.ProtocolSAML {
			return Step{Kind: StepSignInAgain, Silent: p.OIDC}
		}
		if reason == sts.ReasonDurationRefused && p.OIDC && protocol == broker.ProtocolOIDC {
			return Step{Kind: StepSignInAgain, Silent: true}
		}
	case ReasonUpstreamTokenExpired:
		if p.OIDC && protocol == broker.ProtocolOIDC {
			return Step{Kind: StepSignInAgain, Silent: true}
		}
	}
	return Step{}
}
