package access

import (
	"context"

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
		tok, err := s.cfg.OIDCIssuer.Mint(ctx, issuer.OIDCRequest{
			Subject:           TokenSubject(id),
			Audience:          g.Audience,
			PrincipalTags:     g.SessionTags,
			TransitiveTagKeys: g.TransitiveTagKeys,
			SourceIdentity:    g.SourceIdentity,
			AuthTime:          id.AuthnInstant,
			Email:             id.First("email"),
		})
		if err != nil {
			return nil, err
		}
		input.Token, input.TokenExpires = tok.Token, tok.Expires
	default:
		return nil, broker.Errorf(broker.EINVALID, "mode_unknown", "This role has an unknown sign-in mode %q. Contact your administrator.", g.Mode)
	}
	input.RoleSessionName = out.SessionName
	return s.cfg.STS.AssumeRoleWithWebIdentity(ctx, input)
}

// TokenSubject is the sub of a broker-issued ID token: the upstream
// provider id and the person's subject there ("okta:alice"), so that two
// IdPs' users with the same name can never be confused in a trust policy.
func TokenSubject(id *broker.Identity) string {
	return id.Provider + ":" + id.Subject
}
