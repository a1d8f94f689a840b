package access

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/issuer"
	"github.com/broker-dev/broker/partition"
	"github.com/broker-dev/broker/sts"
)

// assumeSAML obtains the SAML credential for the grant (the upstream
// Response or a freshly minted one) and calls AssumeRoleWithSAML.
func (s *Service) assumeSAML(ctx context.Context, sess *Session, out *Outcome) (*sts.Result, error) {
	g := out.Grant
	id := &sess.Identity
	input := sts.SAMLInput{
		RoleARN:      g.RoleARN,
		PrincipalARN: g.ProviderARN,
		Duration:     g.CredentialDuration,
		Policy:       g.SessionPolicy,
		PolicyARNs:   g.PolicyARNs,
	}
	switch g.Mode {
	case broker.ModePassThrough:
		// Used and expired first: a spent or expired Response is dropped
		// from the session, and the person is told why.
		if sess.used {
			return nil, broker.Errorf(broker.EEXPIRED, ReasonUpstreamUsed,
				"AWS accepts each sign-in from your identity provider once: sign in again to open another role.")
		}
		if !id.Expires.IsZero() && !s.now().Before(id.Expires) {
			return nil, broker.Errorf(broker.EEXPIRED, ReasonUpstreamExpired,
				"Your identity provider's assertion has expired: sign in again.")
		}
		if len(sess.samlResponse) == 0 {
			return nil, broker.Errorf(broker.EEXPIRED, ReasonUpstreamMissing,
				"This role needs a fresh sign-in with your identity provider.")
		}
		input.Assertion = base64.StdEncoding.EncodeToString(sess.samlResponse)
		input.AssertionMaxDuration = id.SessionDuration
		input.SessionNotOnOrAfter = id.SessionNotOnOrAfter
		out.SessionName = id.RoleSessionName
		out.UsedUpstream = true
	case broker.ModeBrokerIssued:
		if s.cfg.SAMLIssuer == nil {
			return nil, broker.Errorf(broker.EINVALID, ReasonIssuerDisabled,
				"This role is set up for broker-issued sign-in, but the broker's SAML identity provider is not configured. Contact your administrator.")
		}
		out.SessionName = SessionName(g, id)
		req := issuer.SAMLRequest{
			Subject:           id.Subject,
			Role:              broker.RolePair{RoleARN: g.RoleARN, ProviderARN: g.ProviderARN},
			RoleSessionName:   out.SessionName,
			SessionDuration:   issuedSessionDuration(g),
			Recipient:         samlRecipient(g),
			PrincipalTags:     g.SessionTags,
			TransitiveTagKeys: g.TransitiveTagKeys,
			SourceIdentity:    g.SourceIdentity,
			AuthnInstant:      id.AuthnInstant,
		}
		issued, err := s.cfg.SAMLIssuer.Issue(ctx, req)
		if err != nil {
			return nil, err
		}
		input.Assertion = issued.Base64
		// A retry after AWS refused the duration gets its own assertion (a
		// new ID), never this one again.
		input.Reissue = func(ctx context.Context, d time.Duration) (string, error) {
			r := req
			r.SessionDuration = d
			again, err := s.cfg.SAMLIssuer.Issue(ctx, r)
			return again.Base64, err
		}
	default:
		return nil, broker.Errorf(broker.EINVALID, "mode_unknown", "This role has an unknown sign-in mode %q. Contact your administrator.", g.Mode)
	}
	return s.cfg.STS.AssumeRoleWithSAML(ctx, input)
}

// SessionName is the RoleSessionName the broker uses for a broker-issued
// credential: the rule's session_name if it set one, else the identity's
// email, else its subject, sanitized to AWS's rules.
func SessionName(g broker.Grant, id *broker.Identity) string {
	for _, c := range []string{g.SessionName, id.First("email"), id.First("mail"), id.Subject} {
		if n := broker.SanitizeRoleSessionName(c); n != "" {
			return n
		}
	}
	return "broker-session"
}

// issuedSessionDuration is the SessionDuration attribute of a broker-issued
// assertion: it caps the credentials AWS will issue, so it must cover the
// requested credential duration.
func issuedSessionDuration(g broker.Grant) time.Duration {
	d := g.CredentialDuration
	if d == 0 {
		d = time.Hour
	}
	if d < 15*time.Minute {
		d = 15 * time.Minute
	}
	if d > 12*time.Hour {
		d = 12 * time.Hour
	}
	return d
}

// samlRecipient is the AWS SAML endpoint of the role's partition.
func samlRecipient(g broker.Grant) string {
	a, err := broker.ParseARN(g.RoleARN)
	if err != nil {
		return partition.Default().SAMLEndpoint()
	}
	p, _ := partition.Lookup(a.Partition)
	return p.SAMLEndpoint()
}
