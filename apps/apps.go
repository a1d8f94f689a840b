package apps

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
)

// Scopes a client may be allowed.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeGroups        = "groups"
	ScopeOfflineAccess = "offline_access"
	ScopeAWSRoles      = "aws:roles"
)

// KnownScopes are the scopes a client may be allowed.
var KnownScopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeGroups, ScopeOfflineAccess, ScopeAWSRoles, ScopeAWSCredentials}

// Default token lifetimes.
const (
	DefaultAccessTokenLifetime  = 5 * time.Minute
	DefaultIDTokenLifetime      = 5 * time.Minute
	DefaultRefreshTokenLifetime = 8 * time.Hour
	authRequestLifetime         = 10 * time.Minute
)

// Paths of the OP's endpoints, relative to the issuer.
const (
	PathAuthorize  = "/oauth/authorize"
	PathCallback   = "/oauth/authorize/callback"
	PathToken      = "/oauth/token"
	PathUserinfo   = "/oauth/userinfo"
	PathRevoke     = "/oauth/revoke"
	PathIntrospect = "/oauth/introspect"
	PathEndSession = "/oauth/end_session"
)

// Reasons of the errors this package returns.
const (
	ReasonRequestNotFound = "app_auth_request_not_found"
	ReasonNotAllowed      = "app_not_allowed"
	// ReasonSubjectTooLong: the person's sub, PROVIDER:SUBJECT, would be
	// longer than OpenID Connect allows (checkSubject).
	ReasonSubjectTooLong = "app_subject_too_long"
)

// Client is an app registered with the broker, as the provider uses it.
type Client struct {
	ID, Name string
	// SecretHash is the SHA-256 of the secret a confidential client
	// authenticates with (client_secret_basic or client_secret_post),
	// HashSecret; empty: a public client, which must use PKCE (S256) and
	// whose loopback redirect URIs match on any port (RFC 8252).
	SecretHash   string
	RedirectURIs []string
	// PostLogoutRedirectURIs are where /oauth/end_session may send the browser.
	PostLogoutRedirectURIs []string
	// Scopes the client may ask for (KnownScopes).
	Scopes                                                     []string
	AccessTokenLifetime, IDTokenLifetime, RefreshTokenLifetime time.Duration
	// When says who may use the app (the rules' condition syntax); nil: everyone signed in.
	When *mapping.Matcher
	// FirstParty apps (the organisation's own) get no consent screen;
	// others ask the person once which scopes they may have (consent.go).
	FirstParty bool
	// Device allows the device authorization grant (RFC 8628): the app
	// shows a code the person enters at the broker's /device page.
	Device bool
	// Source says where the app is registered (SourceConfig, SourceBuiltIn,
	// SourceAdmin); Version is a registered app's version in the store.
	Source  string
	Version int64
	// spec is the registration the client was built from (ClientFromSpec).
	spec ClientSpec
}

// Where an app is registered.
const (
	SourceConfig  = "config"   // the config file's apps.clients
	SourceBuiltIn = "built-in" // the broker's own CLI (apps.cli)
	SourceAdmin   = "admin"    // the store: admin UI, JSON API, broker clients apply
)

// Public reports whether the client has no secret.
func (c *Client) Public() bool { return c.SecretHash == "" }

// checkSecret reports, in constant time, whether secret is the client's.
func (c *Client) checkSecret(secret string) bool {
	return !c.Public() && subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(c.SecretHash)) == 1
}

// defaults fills the token lifetimes a client leaves at zero.
func (c *Client) defaults() {
	if c.AccessTokenLifetime == 0 {
		c.AccessTokenLifetime = DefaultAccessTokenLifetime
	}
	if c.IDTokenLifetime == 0 {
		c.IDTokenLifetime = DefaultIDTokenLifetime
	}
	if c.RefreshTokenLifetime == 0 {
		c.RefreshTokenLifetime = DefaultRefreshTokenLifetime
	}
}

// ClientFromSpec builds a client from a registration (the config file's,
// with its secret, nil for a public app): defaults applied, condition
// compiled. It does not Check the spec.
func ClientFromSpec(spec ClientSpec, secret []byte, source string) (Client, error) {
	h := ""
	if len(secret) > 0 {
		h = HashSecret(string(secret))
	}
	c, err := spec.client(h)
	if err != nil {
		return Client{}, err
	}
	c.Source = source
	return *c, nil
}

// Decider evaluates the rules for a person (access.Service).
type Decider interface {
	Decide(id *broker.Identity) mapping.Decision
}

// Auditor appends to the audit log (access.Service).
type Auditor interface {
	Audit(ctx context.Context, ev *store.AuditEvent)
}

// Config configures New.
type Config struct {
	// Issuer is the broker's external URL (no trailing slash): the
	// issuer of the OP's tokens, the same as the web-identity issuer.
	Issuer string
	// JWKSURL is where the keys are published (web/meta); default Issuer + "/idp/oidc/jwks".
	JWKSURL string
	// Signing is the broker's OIDC issuer key (issuer.OIDCConfig.Signing);
	// tokens carry the same kid, so there is one JWKS.
	Signing *rsa.PrivateKey
	KeyID   string
	Clients []Client
	Store   store.AppStore
	Rules   Decider
	Audit   Auditor
	// LoginPath is the bridge's route; the auth request id is appended as ?id=.
	LoginPath string
	// CodeKey encrypts authorization codes (32 bytes; the store keeps their hashes).
	CodeKey []byte
	// DeviceLifetime is how long a device code and its user code live
	// (default 10 minutes); DevicePollInterval the minimum time between a
	// device's polls, whole seconds (default 5 s).
	DeviceLifetime, DevicePollInterval time.Duration
	Logger                             *slog.Logger
	Now                                func() time.Time
}

// Provider is the OpenID Provider for apps.
type Provider struct {
	cfg     Config
	clients map[string]*Client // configured and built-in apps
	cache   clientCache        // compiled registered apps
	op      *op.Provider
	st      *storage
	log     *slog.Logger
	now     func() time.Time
}

// New validates cfg and builds the provider.
func New(cfg Config) (*Provider, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" {
		return nil, errors.New("apps: Issuer must be an absolute URL")
	}
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	if cfg.JWKSURL == "" {
		cfg.JWKSURL = cfg.Issuer + "/idp/oidc/jwks"
	}
	if cfg.Signing == nil || cfg.KeyID == "" || cfg.Store == nil || cfg.Rules == nil || cfg.Audit == nil || cfg.LoginPath == "" {
		return nil, errors.New("apps: Signing, KeyID, Store, Rules, Audit and LoginPath are required")
	}
	if len(cfg.CodeKey) != 32 {
		return nil, errors.New("apps: CodeKey must be 32 bytes")
	}
	if cfg.DeviceLifetime == 0 {
		cfg.DeviceLifetime = DefaultDeviceLifetime
	}
	if cfg.DevicePollInterval == 0 {
		cfg.DevicePollInterval = DefaultDevicePollInterval
	}
	if cfg.DevicePollInterval < time.Second || cfg.DevicePollInterval%time.Second != 0 || cfg.DeviceLifetime < cfg.DevicePollInterval {
		return nil, errors.New("apps: DevicePollInterval must be whole seconds, and DeviceLifetime longer")
	}
	p := &Provider{cfg: cfg, clients: map[string]*Client{}, log: cfg.Logger, now: cfg.Now}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	for i := range cfg.Clients {
		c := cfg.Clients[i]
		if c.ID == "" || len(c.RedirectURIs) == 0 {
			return nil, fmt.Errorf("apps: client %q needs an id and a redirect URI", c.ID)
		}
		if _, dup := p.clients[c.ID]; dup {
			return nil, fmt.Errorf("apps: duplicate client %q", c.ID)
		}
		for _, s := range c.Scopes {
			if !slices.Contains(KnownScopes, s) {
				return nil, fmt.Errorf("apps: client %q: unknown scope %q", c.ID, s)
			}
		}
		c.defaults()
		if c.Source == "" {
			c.Source = SourceConfig
		}
		p.clients[c.ID] = &c
	}
	p.st = &storage{p: p}
	var key [32]byte
	copy(key[:], cfg.CodeKey)
	opCfg := &op.Config{
		CryptoKey:             key,
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		SupportedScopes:       KnownScopes,
		SupportedClaims:       []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash", "c_hash", "amr", "email", "name", "groups", ClaimAWSRoles},
		DeviceAuthorization: op.DeviceAuthorizationConfig{Lifetime: cfg.DeviceLifetime, PollInterval: cfg.DevicePollInterval,
			UserFormPath: DevicePath, UserCode: op.UserCodeBase20},
	}
	var opts []op.Option
	opts = append(opts,
		op.WithCustomAuthEndpoint(op.NewEndpoint(PathAuthorize)),
		op.WithCustomTokenEndpoint(op.NewEndpoint(PathToken)),
		op.WithCustomUserinfoEndpoint(op.NewEndpoint(PathUserinfo)),
		op.WithCustomRevocationEndpoint(op.NewEndpoint(PathRevoke)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(PathIntrospect)),
		op.WithCustomEndSessionEndpoint(op.NewEndpoint(PathEndSession)),
		op.WithCustomDeviceAuthorizationEndpoint(op.NewEndpoint(PathDeviceAuthorization)),
		op.WithCustomKeysEndpoint(op.NewEndpointWithURL("/idp/oidc/jwks", cfg.JWKSURL)),
		op.WithAccessTokenVerifierOpts(op.WithSupportedAccessTokenSigningAlgorithms("RS256")),
		op.WithIDTokenHintVerifierOpts(op.WithSupportedIDTokenHintSigningAlgorithms("RS256")),
	)
	if u.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	p.op, err = op.NewOpenIDProvider(cfg.Issuer, opCfg, p.st, opts...)
	if err != nil {
		return nil, fmt.Errorf("apps: %w", err)
	}
	return p, nil
}

// Handler serves the OP's endpoints (PathAuthorize and the others).
//
// In front of zitadel's token endpoint it checks a code exchange's client
// authentication and PKCE verifier without redeeming the code: zitadel
// redeems the code (Storage.AuthRequestByCode) before it authenticates
// the client, so a failed exchange (a wrong secret, a wrong verifier)
// would use the code up and the app could not retry with the right one.
// Only an exchange that passes both checks reaches zitadel, which redeems
// the code once and checks again.
func (p *Provider) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == PathToken {
			if r.FormValue("grant_type") == string(oidc.GrantTypeDeviceCode) {
				p.deviceToken(w, r)
				return
			}
			if err := p.precheckCodeExchange(r); err != nil {
				op.RequestError(w, r, err, p.log)
				return
			}
		}
		if r.Method == http.MethodPost && r.URL.Path == PathDeviceAuthorization {
			if err := p.precheckDeviceAuthorization(r); err != nil {
				op.RequestError(w, r, err, p.log)
				return
			}
		}
		p.op.ServeHTTP(w, r)
	})
}

// precheckCodeExchange authenticates the client of an authorization code
// exchange and checks its PKCE verifier against the auth request the code
// names, without redeeming the code. A code it cannot resolve (unknown,
// expired, already redeemed) goes on to zitadel, whose redemption
// recognizes a replay and revokes its grant.
func (p *Provider) precheckCodeExchange(r *http.Request) error {
	if r.FormValue("grant_type") != string(oidc.GrantTypeCode) {
		return nil
	}
	req, err := op.ParseAccessTokenRequest(r, p.op.Decoder())
	if err != nil || req.Code == "" || req.ClientAssertionType != "" {
		return nil // zitadel answers these
	}
	id, err := p.op.Crypto().Decrypt(req.Code)
	if err != nil || id == "" {
		return nil
	}
	ar, err := p.cfg.Store.GetAppAuthRequest(r.Context(), id)
	if err != nil {
		return nil
	}
	c, ok := p.client(r.Context(), req.ClientID)
	if !ok {
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	if !c.Public() && !c.checkSecret(req.ClientSecret) {
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	var challenge *oidc.CodeChallenge
	if ar.CodeChallenge != "" {
		challenge = &oidc.CodeChallenge{Challenge: ar.CodeChallenge, Method: oidc.CodeChallengeMethod(ar.CodeChallengeMethod)}
	}
	return op.AuthorizeCodeChallenge(req.CodeVerifier, challenge)
}

// Discovery returns the OpenID Provider metadata: the OP's endpoints with
// the issuer and jwks_uri of the broker's web-identity issuer, so that one
// document serves apps and stays valid for IAM (which reads only issuer
// and jwks_uri). base is that issuer's own document; its claims are kept.
func (p *Provider) Discovery(base func() ([]byte, error)) func() ([]byte, error) {
	return func() ([]byte, error) {
		ctx := op.ContextWithIssuer(context.Background(), p.cfg.Issuer)
		d := op.CreateDiscoveryConfig(ctx, p.op, p.st)
		d.Issuer, d.JwksURI = p.cfg.Issuer, p.cfg.JWKSURL
		d.CheckSessionIframe, d.DeviceAuthorizationEndpoint = "", p.cfg.Issuer+PathDeviceAuthorization
		d.CodeChallengeMethodsSupported = []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256}
		d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeDeviceCode}
		d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
		d.IDTokenSigningAlgValuesSupported = []string{"RS256"}
		if base != nil {
			raw, err := base()
			if err != nil {
				return nil, err
			}
			var b struct {
				Issuer  string   `json:"issuer"`
				JWKS    string   `json:"jwks_uri"`
				Claims  []string `json:"claims_supported"`
				Subject []string `json:"subject_types_supported"`
			}
			if err := json.Unmarshal(raw, &b); err != nil {
				return nil, fmt.Errorf("apps: issuer discovery: %w", err)
			}
			if b.Issuer != "" {
				d.Issuer = b.Issuer
			}
			if b.JWKS != "" {
				d.JwksURI = b.JWKS
			}
			for _, c := range b.Claims {
				if !slices.Contains(d.ClaimsSupported, c) {
					d.ClaimsSupported = append(d.ClaimsSupported, c)
				}
			}
		}
		return json.MarshalIndent(d, "", "  ")
	}
}

// Request is what the login bridge needs of an auth request in flight.
type Request struct {
	ID         string
	ClientID   string
	ClientName string
	CreatedAt  time.Time
	// PromptLogin: prompt=login; MaxAge: the max_age asked for (nil: none).
	PromptLogin, PromptNone bool
	MaxAge                  *time.Duration
}

// AuthTimeSkew is how far behind the broker's clock an IdP's may be when
// its authentication instant is compared with the broker's times.
const AuthTimeSkew = 2 * time.Minute

// AuthTime is when the person last authenticated, as far as the broker
// knows: the IdP's authentication instant when it said (SAML AuthnInstant,
// OIDC auth_time), never later than when the broker verified the sign-in
// (verifiedAt). It is the ID token's auth_time.
func AuthTime(verifiedAt, idpAuth time.Time) time.Time {
	if !idpAuth.IsZero() && idpAuth.Before(verifiedAt) {
		return idpAuth
	}
	return verifiedAt
}

// FreshEnough reports whether a sign-in the broker verified at verifiedAt,
// for which the IdP gave the authentication instant idpAuth (zero: not
// said), satisfies the request's prompt=login and max_age at now.
//
// A sign-in verified after the app asked is the fresh sign-in those ask
// for (max_age=0 included, which would otherwise never be met), unless the
// IdP says the person authenticated earlier than the request allows: it
// reused its own session despite ForceAuthn / prompt=login (IdPIgnoredFresh).
// An earlier sign-in satisfies max_age by its AuthTime, never prompt=login.
func (r *Request) FreshEnough(verifiedAt, idpAuth, now time.Time) bool {
	if verifiedAt.IsZero() {
		return false
	}
	if !verifiedAt.Before(r.CreatedAt) {
		return !r.IdPIgnoredFresh(verifiedAt, idpAuth, now)
	}
	if r.PromptLogin {
		return false
	}
	if r.MaxAge != nil && now.Sub(AuthTime(verifiedAt, idpAuth)) > *r.MaxAge {
		return false
	}
	return true
}

// IdPIgnoredFresh reports whether a sign-in verified after the request
// (verifiedAt) still carries an IdP authentication too old for it: the IdP
// did not ask the person again. Sending them round once more would loop;
// the bridge answers the app login_required instead.
func (r *Request) IdPIgnoredFresh(verifiedAt, idpAuth, now time.Time) bool {
	if verifiedAt.Before(r.CreatedAt) || idpAuth.IsZero() {
		return false
	}
	if r.PromptLogin && idpAuth.Before(r.CreatedAt.Add(-AuthTimeSkew)) {
		return true
	}
	return r.MaxAge != nil && now.Sub(idpAuth) > *r.MaxAge+AuthTimeSkew
}

// Request returns the auth request in flight with this id: ENOTFOUND
// (ReasonRequestNotFound) if absent, expired or used.
func (p *Provider) Request(ctx context.Context, id string) (*Request, error) {
	r, err := p.cfg.Store.GetAppAuthRequest(ctx, id)
	if err != nil {
		if broker.ErrorCode(err) == broker.ENOTFOUND {
			return nil, broker.Errorf(broker.ENOTFOUND, ReasonRequestNotFound, "This sign-in request has expired or was already used. Go back to the app and sign in again.")
		}
		return nil, err
	}
	out := &Request{ID: r.ID, ClientID: r.ClientID, CreatedAt: r.CreatedAt, MaxAge: r.MaxAge,
		PromptLogin: slices.Contains(r.Prompt, oidc.PromptLogin), PromptNone: slices.Contains(r.Prompt, oidc.PromptNone)}
	if c, ok := p.client(ctx, r.ClientID); ok {
		out.ClientName = c.Name
	}
	return out, nil
}

// Meta describes the browser request, for the audit log.
type Meta struct {
	RequestID, RemoteAddr, UserAgent string
}

// Complete finishes the auth request id for the signed-in person, whose
// identity the broker verified at authTime. It returns the URL to send
// the browser to: the OP's callback, which answers the app with a code.
// A person the client's When refuses gets EFORBIDDEN (ReasonNotAllowed),
// and one whose sub would be too long EFORBIDDEN (ReasonSubjectTooLong),
// both audited; send the browser to the app with Deny.
func (p *Provider) Complete(ctx context.Context, id string, person *broker.Identity, authTime time.Time, m Meta) (string, error) {
	r, err := p.cfg.Store.GetAppAuthRequest(ctx, id)
	if err != nil {
		return "", err
	}
	c, ok := p.client(ctx, r.ClientID)
	if !ok {
		return "", broker.Errorf(broker.ENOTFOUND, "app_client_unknown", "This app is no longer registered with the broker.")
	}
	// refuse audits a refused sign-in (err's reason, message for the log
	// reader) and returns err.
	refuse := func(err error, message string) (string, error) {
		p.cfg.Audit.Audit(ctx, &store.AuditEvent{RequestID: m.RequestID, Event: "app_signin", Result: store.ResultFailure,
			Reason: broker.ErrorReason(err), Message: message,
			Provider: person.Provider, Subject: person.Subject, RemoteAddr: m.RemoteAddr, UserAgent: m.UserAgent,
			Details: map[string]string{"client": c.ID}})
		return "", err
	}
	if c.When != nil {
		if ok, why := c.When.Match(person); !ok {
			return refuse(broker.Errorf(broker.EFORBIDDEN, ReasonNotAllowed, "You may not use %s.", clientLabel(c)),
				"the app's condition refused the person: "+why)
		}
	}
	if err := checkSubject(person); err != nil {
		return refuse(err, subjectTooLongAudit)
	}
	raw, err := jsonIdentity(person)
	if err != nil {
		return "", err
	}
	r.Provider, r.Subject, r.Identity, r.AuthTime, r.Done = person.Provider, person.Subject, raw, authTime, true
	r.AMR = amrOf(person)
	if err := p.cfg.Store.UpdateAppAuthRequest(ctx, r); err != nil {
		return "", err
	}
	p.cfg.Audit.Audit(ctx, &store.AuditEvent{RequestID: m.RequestID, Event: "app_signin", Result: store.ResultSuccess,
		Provider: person.Provider, Subject: person.Subject, RemoteAddr: m.RemoteAddr, UserAgent: m.UserAgent,
		Details: map[string]string{"client": c.ID, "scopes": strings.Join(r.Scopes, " ")}})
	return op.AuthCallbackURL(p.op)(op.ContextWithIssuer(ctx, p.cfg.Issuer), id), nil
}

// answerError sends the OAuth error e to the app of auth request id at its
// (validated) redirect URI and ends the request; an unknown or used id
// gets a plain 400 page, never a redirect.
func (p *Provider) answerError(w http.ResponseWriter, r *http.Request, id string, e *oidc.Error) {
	ctx := op.ContextWithIssuer(r.Context(), p.cfg.Issuer)
	req, err := p.st.AuthRequestByID(ctx, id)
	if err != nil {
		http.Error(w, "This sign-in request has expired or was already used. Go back to the app and sign in again.", http.StatusBadRequest)
		return
	}
	_ = p.cfg.Store.DeleteAppAuthRequest(ctx, id)
	op.AuthRequestError(w, r.WithContext(ctx), req, e, p.op)
}

// Deny answers the app of auth request id with the OAuth error
// access_denied at its (validated) redirect URI and ends the request.
func (p *Provider) Deny(w http.ResponseWriter, r *http.Request, id, description string) {
	p.answerError(w, r, id, oidc.ErrAccessDenied().WithDescription("%s", description))
}

// LoginRequired answers the app of auth request id with the OAuth error
// login_required (a prompt=none request and nobody signed in, or a
// sign-in too old for it) and ends the request.
func (p *Provider) LoginRequired(w http.ResponseWriter, r *http.Request, id string) {
	p.LoginRequiredBecause(w, r, id, "the person is not signed in to the broker")
}

// LoginRequiredBecause answers login_required with this description.
func (p *Provider) LoginRequiredBecause(w http.ResponseWriter, r *http.Request, id, description string) {
	p.answerError(w, r, id, oidc.ErrLoginRequired().WithDescription("%s", description))
}

func clientLabel(c *Client) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// newSecret returns 256 random bits, base64url.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret is the SHA-256 of a client secret (base64url, no padding),
// as the store keeps it. A client secret is 256 random bits (the broker
// generates them; a config file's must be 32+ characters), so a fast hash
// is enough: there is nothing to guess.
func HashSecret(secret string) string { return hash(secret) }

// hash is the SHA-256 of a secret, as the store keeps it.
func hash(secret string) string {
	s := sha256.Sum256([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// Now is the provider's clock.
func (p *Provider) Now() time.Time { return p.now() }
