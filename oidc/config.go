package oidc

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/metrics"
)

// Client authentication methods at the token endpoint.
const (
	AuthBasic = "client_secret_basic"
	AuthPost  = "client_secret_post"
	AuthNone  = "none" // public client: PKCE only
)

// Config configures one upstream OpenID Provider.
type Config struct {
	ID           string // provider id (logs, errors)
	Issuer       string // must equal the issuer in the OP's discovery document
	ClientID     string
	ClientSecret string
	AuthMethod   string // default client_secret_basic with a secret, none without
	RedirectURL  string // the broker's callback for this provider
	Scopes       []string
	// OfflineAccess asks for a refresh token (scope offline_access), kept
	// server-side to get a fresh ID token when the first one has expired.
	OfflineAccess bool
	// UseUserinfo merges the userinfo claims (only when its sub matches).
	UseUserinfo bool
	// SessionNameClaims are tried in order for the RoleSessionName of
	// pass-through web identity; default email, preferred_username, sub.
	SessionNameClaims []string
	// SigningAlgorithms is the ID token allow-list (default
	// DefaultSigningAlgorithms: IAM's, RS/ES 256..512).
	SigningAlgorithms []string
	ClockSkew         time.Duration // default 60s
	// MFAValues are the acr and amr values that mean a multi-factor
	// sign-in (Identity.MFA); default broker.DefaultOIDCMFAValues.
	MFAValues []string
	// MFARequest are the acr_values an AuthRequest with MFA set sends; when
	// empty, such a request sends prompt=login and the OP's own policy
	// decides.
	MFARequest []string
	// DiscoveryRetry is the pause between discovery attempts (default 15s).
	DiscoveryRetry time.Duration
	HTTPClient     *http.Client
	// Metrics records when discovery succeeded and each failed attempt
	// (nil: not recorded).
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	Now     func() time.Time
}

// DefaultSigningAlgorithms are the algorithms IAM accepts on a web
// identity token (RS256/384/512, ES256/384/512; docs/DOMAIN.md §4), so an
// ID token the broker accepts can also go to AssumeRoleWithWebIdentity
// (pass-through). Asymmetric only: an HMAC "key" from a JWKS would be
// public, and "none" is no signature at all. An OP that signs with
// PS256/384/512 needs them listed in its provider's id_token_algorithms
// and can then serve broker-issued roles only.
var DefaultSigningAlgorithms = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}

func (c *Config) setDefaults() error {
	if c.ID == "" {
		return errors.New("oidc: ID is required")
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("oidc: %s: issuer %q must be an absolute URL without query or fragment", c.ID, c.Issuer)
	}
	if c.ClientID == "" {
		return fmt.Errorf("oidc: %s: client id is required", c.ID)
	}
	if ru, err := url.Parse(c.RedirectURL); err != nil || ru.Host == "" {
		return fmt.Errorf("oidc: %s: redirect URL must be absolute", c.ID)
	}
	switch c.AuthMethod {
	case "":
		c.AuthMethod = AuthBasic
		if c.ClientSecret == "" {
			c.AuthMethod = AuthNone
		}
	case AuthBasic, AuthPost:
		if c.ClientSecret == "" {
			return fmt.Errorf("oidc: %s: %s needs a client secret", c.ID, c.AuthMethod)
		}
	case AuthNone:
		if c.ClientSecret != "" {
			return fmt.Errorf("oidc: %s: a public client has no secret", c.ID)
		}
	default:
		return fmt.Errorf("oidc: %s: unknown client authentication %q", c.ID, c.AuthMethod)
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"openid", "email", "profile"}
	}
	if len(c.SessionNameClaims) == 0 {
		c.SessionNameClaims = []string{"email", "preferred_username", "sub"}
	}
	for _, alg := range c.SigningAlgorithms {
		if alg == "none" || strings.HasPrefix(alg, "HS") {
			return fmt.Errorf("oidc: %s: signing algorithm %q is not allowed", c.ID, alg)
		}
	}
	if len(c.SigningAlgorithms) == 0 {
		c.SigningAlgorithms = DefaultSigningAlgorithms
	}
	if len(c.MFAValues) == 0 {
		c.MFAValues = broker.DefaultOIDCMFAValues
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = 60 * time.Second
	}
	if c.DiscoveryRetry == 0 {
		c.DiscoveryRetry = 15 * time.Second
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}
