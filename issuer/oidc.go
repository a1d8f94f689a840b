package issuer

import (
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/broker-dev/broker"
)

// OIDCConfig configures the broker's OpenID Connect issuer toward AWS
// (AssumeRoleWithWebIdentity). AWS fetches the discovery document at
// Issuer + "/.well-known/openid-configuration" and the keys at JWKSURL.
type OIDCConfig struct {
	Issuer  string // the broker's external URL, e.g. https://broker.example.com
	JWKSURL string // default Issuer + "/idp/oidc/jwks"
	Signing *rsa.PrivateKey
	// Previous keys stay in the JWKS until every token they signed has
	// expired: RetiredAt + TokenLifetime (forever when RetiredAt is zero).
	Previous      []RetiredKey
	TokenLifetime time.Duration // default 5m
	Now           func() time.Time
	Logger        *slog.Logger
}

// RetiredKey is a signing key no longer used, still published.
type RetiredKey struct {
	Public    *rsa.PublicKey
	RetiredAt time.Time
}

// OIDC mints short-lived ID tokens for AWS.
type OIDC struct {
	cfg    OIDCConfig
	now    func() time.Time
	kid    string
	signer jose.Signer
}

// NewOIDC validates cfg and returns the issuer.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("issuer: OIDC Issuer must be an absolute URL without query or fragment")
	}
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	if cfg.JWKSURL == "" {
		cfg.JWKSURL = cfg.Issuer + "/idp/oidc/jwks"
	}
	if cfg.Signing == nil || cfg.Signing.N.BitLen() < MinRSABits {
		return nil, fmt.Errorf("issuer: an RSA signing key of at least %d bits is required", MinRSABits)
	}
	if cfg.TokenLifetime == 0 {
		cfg.TokenLifetime = 5 * time.Minute
	}
	if cfg.TokenLifetime < time.Minute || cfg.TokenLifetime > time.Hour {
		return nil, errors.New("issuer: TokenLifetime must be between 1m and 1h")
	}
	o := &OIDC{cfg: cfg, now: cfg.Now, kid: KeyID(&cfg.Signing.PublicKey)}
	if o.now == nil {
		o.now = time.Now
	}
	o.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: cfg.Signing, KeyID: o.kid, Algorithm: string(jose.RS256)}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	return o, nil
}

// KeyID is the key's RFC 7638 thumbprint (SHA-256, base64url), used as kid.
func KeyID(pub *rsa.PublicKey) string {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// Issuer returns the issuer URL.
func (o *OIDC) Issuer() string { return o.cfg.Issuer }

// Discovery returns the OpenID Provider metadata AWS reads.
func (o *OIDC) Discovery() ([]byte, error) {
	return json.MarshalIndent(map[string]any{
		"issuer":                                o.cfg.Issuer,
		"jwks_uri":                              o.cfg.JWKSURL,
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "https://aws.amazon.com/tags", "https://aws.amazon.com/source_identity"},
	}, "", "  ")
}

// JWKS returns the public keys: the current one and the retired ones whose
// tokens may still be valid.
func (o *OIDC) JWKS() ([]byte, error) {
	keys := []jose.JSONWebKey{{Key: &o.cfg.Signing.PublicKey, KeyID: o.kid, Algorithm: string(jose.RS256), Use: "sig"}}
	now := o.now()
	for _, p := range o.cfg.Previous {
		if p.Public == nil || (!p.RetiredAt.IsZero() && now.After(p.RetiredAt.Add(o.cfg.TokenLifetime))) {
			continue
		}
		keys = append(keys, jose.JSONWebKey{Key: p.Public, KeyID: KeyID(p.Public), Algorithm: string(jose.RS256), Use: "sig"})
	}
	return json.MarshalIndent(jose.JSONWebKeySet{Keys: keys}, "", "  ")
}

// OIDCRequest says what to put in one ID token.
type OIDCRequest struct {
	Subject           string
	Audience          string // the client id registered with the IAM OIDC provider
	PrincipalTags     map[string]string
	TransitiveTagKeys []string
	SourceIdentity    string
	AuthTime          time.Time
	Email             string // optional claim, for trust policies and CloudTrail readers
}

// IssuedToken is a minted ID token.
type IssuedToken struct {
	Token   string
	Expires time.Time
}

// Mint signs a short-lived ID token. Invalid requests (empty subject or
// audience, AWS tag and source identity limits) are refused with a
// *broker.Error of code EINVALID before anything is signed.
func (o *OIDC) Mint(ctx context.Context, req OIDCRequest) (IssuedToken, error) {
	if req.Subject == "" || len(req.Subject) > 255 {
		return IssuedToken{}, invalid("subject_invalid", "the subject is empty or longer than 255 characters")
	}
	if req.Audience == "" {
		return IssuedToken{}, invalid("audience_missing", "no token audience is configured for this role")
	}
	if err := broker.ValidateSessionTags(req.PrincipalTags, req.TransitiveTagKeys); err != nil {
		return IssuedToken{}, invalid("tag_limit", "%v", err)
	}
	if req.SourceIdentity != "" && !broker.RoleSessionNameRe.MatchString(req.SourceIdentity) {
		return IssuedToken{}, invalid("source_identity_invalid", "the source identity %q is not 2..64 of A-Z a-z 0-9 _ + = , . @ -", req.SourceIdentity)
	}
	if err := ctx.Err(); err != nil {
		return IssuedToken{}, err
	}
	now := o.now().UTC().Truncate(time.Second)
	exp := now.Add(o.cfg.TokenLifetime)
	claims := map[string]any{
		"iss": o.cfg.Issuer, "sub": req.Subject, "aud": req.Audience,
		"iat": now.Unix(), "nbf": now.Add(-30 * time.Second).Unix(), "exp": exp.Unix(), "jti": newID()[1:],
	}
	if !req.AuthTime.IsZero() {
		claims["auth_time"] = req.AuthTime.Unix()
	}
	if req.Email != "" {
		claims["email"] = req.Email
	}
	if len(req.PrincipalTags) > 0 {
		pt := map[string][]string{}
		for k, v := range req.PrincipalTags {
			pt[k] = []string{v}
		}
		tags := map[string]any{"principal_tags": pt}
		if len(req.TransitiveTagKeys) > 0 {
			tags["transitive_tag_keys"] = req.TransitiveTagKeys
		}
		claims["https://aws.amazon.com/tags"] = tags
	}
	if req.SourceIdentity != "" {
		claims["https://aws.amazon.com/source_identity"] = req.SourceIdentity
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return IssuedToken{}, fmt.Errorf("issuer: token claims: %w", err)
	}
	jws, err := o.signer.Sign(payload)
	if err != nil {
		return IssuedToken{}, fmt.Errorf("issuer: sign token: %w", err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		return IssuedToken{}, fmt.Errorf("issuer: serialize token: %w", err)
	}
	return IssuedToken{Token: tok, Expires: exp}, nil
}
