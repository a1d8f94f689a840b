package web

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/oidc"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/store"
)

// SAMLProvider is what the web layer needs of a SAML service provider
// (saml.ServiceProvider).
type SAMLProvider interface {
	Metadata() ([]byte, error)
	LoginRedirect(relayState string) (redirectURL, requestID string, err error)
	ParseResponse(ctx context.Context, in saml.ACSInput) (*saml.Result, error)
	Ready() error
}

// OIDCProvider is what the web layer needs of an OpenID Connect relying
// party (oidc.Provider).
type OIDCProvider interface {
	Ready() error
	AuthURL(ctx context.Context, state, nonce, verifier, prompt string) (string, error)
	Exchange(ctx context.Context, code, verifier, nonce string) (*oidc.Result, error)
	Refresh(ctx context.Context, refreshToken, subject string) (*oidc.Result, error)
}

// Provider is one upstream IdP as the portal lists it: SAML or OIDC.
type Provider struct {
	ID    string
	Label string
	SAML  SAMLProvider
	OIDC  OIDCProvider
}

// Ready reports whether the provider can be used now.
func (p Provider) Ready() error {
	if p.OIDC != nil {
		return p.OIDC.Ready()
	}
	return p.SAML.Ready()
}

// loginPath is where sign-in with this provider starts.
func (p Provider) loginPath() string {
	if p.OIDC != nil {
		return "/oidc/" + url.PathEscape(p.ID) + "/login"
	}
	return "/saml/" + url.PathEscape(p.ID) + "/login"
}

// Sessions is the server-side session storage (store.Store).
type Sessions interface {
	CreateSession(ctx context.Context, s *store.Session) error
	GetSession(ctx context.Context, id string) (*store.Session, error)
	UpdateSession(ctx context.Context, id string, data []byte, expires time.Time) error
	DeleteSession(ctx context.Context, id string) error
	Ping(ctx context.Context) error
}

// Replay is the store's replay cache (store.Store).
type Replay interface {
	Remember(ctx context.Context, namespace, key string, expires time.Time) error
}

// Config configures the web server.
type Config struct {
	// ExternalURL is the broker's public base URL (no trailing slash).
	ExternalURL string
	Title       string
	Providers   []Provider
	Access      *access.Service
	Sessions    Sessions
	// IDPMetadata returns the broker's own SAML IdP metadata; nil = 404.
	IDPMetadata func() ([]byte, error)
	// OIDCDiscovery and OIDCJWKS publish the broker's own OIDC issuer; nil = 404.
	OIDCDiscovery func() ([]byte, error)
	OIDCJWKS      func() ([]byte, error)
	// Replay makes OIDC state values single use across instances.
	Replay Replay
	// SessionKeys sign and encrypt cookies (first signs, all verify).
	SessionKeys     [][]byte
	SessionLifetime time.Duration
	MaxBodyBytes    int64
	TrustedProxies  []*net.IPNet
	// AutoSelectSingleRole opens the console at once for a single role.
	AutoSelectSingleRole bool
	// FormActionOrigins are origins a form post may redirect to (the AWS
	// sign-in endpoints): CSP form-action covers redirects after a POST.
	FormActionOrigins []string
	// Admin enables the admin UI and API; nil = off (every admin request 403).
	Admin *AdminConfig
	// SignIns records each sign-in's verified attributes for the simulator
	// and impact preview; nil = not recorded.
	SignIns store.SignInStore
	Logger  *slog.Logger
	Now     func() time.Time
}

// Server serves the broker's web UI and protocol endpoints.
type Server struct {
	cfg       Config
	e         *echo.Echo
	base      *url.URL
	secure    bool
	providers map[string]Provider
	order     []string
	sessStore *sessions.CookieStore
	reqStore  *sessions.CookieStore
	oidcStore *sessions.CookieStore
	tmpl      *template.Template
	log       *slog.Logger
	now       func() time.Time
	csp       string
}

// New builds the server and its routes.
func New(cfg Config) (*Server, error) {
	base, err := url.Parse(cfg.ExternalURL)
	if err != nil || base.Host == "" {
		return nil, errors.New("web: ExternalURL must be an absolute URL")
	}
	if cfg.Access == nil || cfg.Sessions == nil {
		return nil, errors.New("web: Access and Sessions are required")
	}
	if len(cfg.SessionKeys) == 0 {
		return nil, errors.New("web: at least one session key is required")
	}
	if cfg.SessionLifetime == 0 {
		cfg.SessionLifetime = 8 * time.Hour
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 512 << 10
	}
	if cfg.Title == "" {
		cfg.Title = "AWS sign-in"
	}
	s := &Server{cfg: cfg, base: base, secure: base.Scheme == "https", providers: map[string]Provider{}, log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, p := range cfg.Providers {
		if _, dup := s.providers[p.ID]; dup {
			return nil, errors.New("web: duplicate provider " + p.ID)
		}
		s.providers[p.ID] = p
		s.order = append(s.order, p.ID)
	}
	sort.SliceStable(s.order, func(i, j int) bool { return s.providers[s.order[i]].Label < s.providers[s.order[j]].Label })
	if a := cfg.Admin; a != nil && (a.Rules == nil || a.Store == nil) {
		return nil, errors.New("web: Admin needs Rules and Store")
	}
	if cfg.Replay == nil {
		return nil, errors.New("web: Replay is required")
	}
	if s.sessStore, s.reqStore, s.oidcStore, err = cookieStores(cfg.SessionKeys, s.secure, cfg.SessionLifetime); err != nil {
		return nil, err
	}
	if s.tmpl, err = parseTemplates(); err != nil {
		return nil, err
	}
	s.csp = contentSecurityPolicy(cfg.FormActionOrigins)
	s.e = s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.e.ServeHTTP(w, r) }

// Echo exposes the echo instance (tests, extra routes).
func (s *Server) Echo() *echo.Echo { return s.e }

func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = ipExtractor(s.cfg.TrustedProxies)
	e.Use(s.recoverer, s.requestID, s.accessLog, s.securityHeaders, s.bodyLimit)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/static/*", staticHandler())

	e.GET("/", s.index)
	e.POST("/console", s.console, s.requireCSRF)
	e.GET("/continue", s.continueTo)
	e.POST("/logout", s.logout, s.requireCSRF)

	e.GET("/saml/:provider/metadata", s.samlMetadata)
	e.GET("/saml/:provider/login", s.samlLogin)
	e.POST("/saml/:provider/acs", s.samlACS)
	e.GET("/idp/saml/metadata", s.idpMetadata)
	e.GET("/oidc/:provider/login", s.oidcLogin)
	e.GET("/oidc/:provider/callback", s.oidcCallback)
	e.GET("/.well-known/openid-configuration", s.oidcDiscovery)
	e.GET("/idp/oidc/jwks", s.oidcJWKS)
	s.adminRoutes(e)
	return e
}

// url returns the absolute external URL for path.
func (s *Server) url(path string) string {
	u := *s.base
	u.Path = u.Path + path
	return u.String()
}

func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
