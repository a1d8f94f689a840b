package access

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/sts"
)

// assumeWebIdentity obtains the ID token for the grant (the upstream OP's,
// or one the broker mints) and calls AssumeRoleWithWebIdentity.
func (s *Service) assumeWebIdentity(ctx context.Context, sess *Session, out *Outcome) (*sts.Result, error) {
	g := out.Grant
	id := &sess.Identity
	input := sts.WebIdentityInput{RoleARN: g.RoleARN, Duration: g.CredentialDuration, Policy: g.SessionPolicy, PolicyARNs: g.PolicyARNs}
	switch g.Mode {
	case broker.ModePassThrough:
		if sess.idToken == "" {
			if id.Protocol == broker.ProtocolOIDC {
				// Not kept: no pass-through role when the person signed
				// in, or past its expiry (Session.KeepUpstreamFor). A
				// refresh, or a silent sign-in, gets a fresh one (NextStep).
				return nil, broker.Errorf(broker.EEXPIRED, ReasonUpstreamTokenExpired,
					"This role needs a current token from your identity provider: sign in again.")
			}
			return nil, broker.Errorf(broker.EEXPIRED, ReasonUpstreamMissing,
				"This role needs a sign-in with an OpenID Connect provider: sign in with one to use it.")
		}
		if !s.now().Before(sess.idTokenExpires) {
			return nil, broker.Errorf(broker.EEXPIRED, ReasonUpstreamTokenExpired,
				"Your identity provider's token has expired: sign in again.")
		}
		input.Token = sess.idToken
		input.TokenExpires = sess.idTokenExpires
		out.SessionName = id.RoleSessionName
		if out.SessionName == "" {
			out.SessionName = SessionName(broker.Grant{}, id)
		}
	case broker.ModeBrokerIssued:
		if s.cfg.OIDCIssuer == nil {
			return nil, broker.Errorf(broker.EINVALID, ReasonIssuerDisabled,
				"This role is set up for broker-issued web identity, but the broker's OpenID Connect issuer is not configured. Contact your administrator.")
		}
		out.SessionName = SessionName(g, id)
		sub, err := CheckTokenSubject(id)
		if err != nil {
			return nil, err
		}
		req := issuer.OIDCRequest{
			Subject:           sub,
			Audience:          g.Audience,
			PrincipalTags:     g.SessionTags,
			TransitiveTagKeys: g.TransitiveTagKeys,
			SourceIdentity:    g.SourceIdentity,
			AuthTime:          id.AuthnInstant,
			Email:             id.First("email"),
		}
		tok, err := s.cfg.OIDCIssuer.Mint(ctx, req)
		if err != nil {
			return nil, err
		}
		input.Token, input.TokenExpires = tok.Token, tok.Expires
		// A retry after AWS refused the duration gets its own token (a new
		// jti), never this one again.
		input.Reissue = func(ctx context.Context) (string, time.Time, error) {
			again, err := s.cfg.OIDCIssuer.Mint(ctx, req)
			return again.Token, again.Expires, err
		}
	default:
		return nil, broker.Errorf(broker.EINVALID, "mode_unknown", "This role has an unknown sign-in mode %q. Contact your administrator.", g.Mode)
	}
	input.RoleSessionName = out.SessionName
	return s.cfg.STS.AssumeRoleWithWebIdentity(ctx, input)
}

// TokenSubject is the sub of a broker-issued ID token: the upstream
// provider id and the person's subject there ("okta:alice"), so that two
// IdPs' users with the same name can never be confused in a trust policy.
// CheckTokenSubject says whether STS can take it.
func TokenSubject(id *broker.Identity) string {
	return id.Provider + ":" + id.Subject
}

// The length STS documents for a web identity token's subject
// (SubjectFromWebIdentityToken: 6 to 255 characters).
const (
	minTokenSubject = 6
	maxTokenSubject = 255
)

// ReasonSubjectLength: the identity's PROVIDER:SUBJECT is outside the 6–255
// characters STS takes as a web identity token's sub. Code broker.EINVALID.
const ReasonSubjectLength = "token_subject_length"

// CheckTokenSubject returns TokenSubject(id), or an EINVALID
// ReasonSubjectLength error, before any call to STS, when it is outside
// 6–255 characters.
//
// A short one is refused rather than padded: any padding ("a:b" to
// "a:b___") yields a string that another person's genuine subject can
// have ("b___" at provider "a"), since an OIDC sub may hold any
// character, and it would also make trust policies test a value the
// administrator never sees anywhere else. Refusing keeps every sub stable
// and unique; a provider id of a few more letters fixes it.
func CheckTokenSubject(id *broker.Identity) (string, error) {
	sub := TokenSubject(id)
	switch n := utf8.RuneCountInString(sub); {
	case n > maxTokenSubject:
		return "", broker.Errorf(broker.EINVALID, ReasonSubjectLength,
			"Your identity at %q is too long for AWS: the broker sends it as %q plus your %d-character subject there, and AWS accepts at most %d characters. Contact your administrator.",
			id.Provider, id.Provider+":", utf8.RuneCountInString(id.Subject), maxTokenSubject)
	case n < minTokenSubject:
		return "", broker.Errorf(broker.EINVALID, ReasonSubjectLength,
			"Your identity %q is too short for AWS, which needs at least %d characters in a web identity subject. Ask your administrator to give the identity provider %q a longer id.",
			sub, minTokenSubject, id.Provider)
	}
	return sub, nil
}
