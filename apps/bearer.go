package apps

import (
	"context"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/broker-dev/broker"
)

// ScopeAWSCredentials lets an app's access token ask the broker's
// credentials API for AWS credentials for the person.
const ScopeAWSCredentials = "aws:credentials"

// Bearer is an app's access token presented to the broker's own API: the
// app, the person as they signed in to it, and what it may do.
type Bearer struct {
	ClientID string
	Identity broker.Identity
	Scopes   []string
	Expires  time.Time
}

// Allows reports whether the token carries scope.
func (b *Bearer) Allows(scope string) bool { return slices.Contains(b.Scopes, scope) }

// Reasons VerifyBearer reports (EUNAUTHORIZED).
const (
	ReasonBearerMissing = "access_token_missing"
	ReasonBearerInvalid = "access_token_invalid"
	ReasonBearerExpired = "access_token_expired"
	ReasonBearerRevoked = "access_token_revoked"
)

// bearerLeeway is the clock difference tolerated on iat, nbf and exp.
const bearerLeeway = 30 * time.Second

// maxBearer bounds what is parsed from an Authorization header.
const maxBearer = 8 << 10

// VerifyBearer checks an access token this provider issued: its
// signature (the broker's issuer key, RS256 only), issuer, audience (the
// broker), expiry, and that the store still has it (not revoked, not
// expired); it returns the token's app, person and scopes.
func (p *Provider) VerifyBearer(ctx context.Context, raw string) (*Bearer, error) {
	if raw == "" {
		return nil, broker.Errorf(broker.EUNAUTHORIZED, ReasonBearerMissing, "Send the app's access token as Authorization: Bearer ….")
	}
	invalid := func(cause error) error {
		return broker.Wrap(cause, broker.EUNAUTHORIZED, ReasonBearerInvalid, "The access token is not one the broker issued, or it was altered.")
	}
	if len(raw) > maxBearer {
		return nil, invalid(nil)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, invalid(err)
	}
	var claims jwt.Claims
	if err := tok.Claims(&p.cfg.Signing.PublicKey, &claims); err != nil {
		return nil, invalid(err)
	}
	now := p.now()
	// A little leeway: zitadel stamps iat/nbf with the wall clock, and
	// instances' clocks differ slightly.
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: p.cfg.Issuer, AnyAudience: jwt.Audience{p.cfg.Issuer}, Time: now}, bearerLeeway); err != nil {
		if claims.Expiry != nil && !now.Before(claims.Expiry.Time()) {
			return nil, broker.Wrap(err, broker.EEXPIRED, ReasonBearerExpired, "The access token has expired: the app must refresh it.")
		}
		return nil, invalid(err)
	}
	t, err := p.cfg.Store.GetAppAccessToken(ctx, claims.ID)
	if err != nil {
		if broker.ErrorCode(err) == broker.ENOTFOUND {
			return nil, broker.Wrap(err, broker.EUNAUTHORIZED, ReasonBearerRevoked, "The access token was revoked or has expired: the app must sign the person in again.")
		}
		return nil, err
	}
	id, scopes, err := identityOf(ctx, t)
	if err != nil {
		return nil, err
	}
	if subject(t.Provider, t.Subject) != claims.Subject {
		return nil, invalid(nil)
	}
	return &Bearer{ClientID: t.ClientID, Identity: *id, Scopes: scopes, Expires: t.ExpiresAt}, nil
}
