package devapp

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Scopes the demo app asks the broker for.
var Scopes = []string{gooidc.ScopeOpenID, "profile", "email", "groups", gooidc.ScopeOfflineAccess, "aws:roles", "aws:credentials"}

// Config configures the demo app.
type Config struct {
	// BrokerURL is the broker's issuer (discovery at
	// BrokerURL/.well-known/openid-configuration).
	BrokerURL string
	// ClientID and ClientSecret are the app's registration at the broker.
	ClientID, ClientSecret string
	// BaseURL is where this app is reached (http://127.0.0.1:8084); its
	// /callback is the registered redirect URI and / the post-logout one.
	BaseURL string
	// AWSEndpoint is the STS endpoint for GetCallerIdentity ("" = AWS's
	// own); AWSRegion signs the call (default us-east-1).
	AWSEndpoint, AWSRegion string
	HTTPClient             *http.Client     // nil: a client with a 10 s timeout
	Logger                 *slog.Logger     // nil: discard
	Now                    func() time.Time // nil: time.Now
}

// App is the demo app, an http.Handler.
type App struct {
	cfg   Config
	base  *url.URL
	log   *slog.Logger
	now   func() time.Time
	mux   *http.ServeMux
	pages *template.Template

	sessions *sessions

	mu   sync.Mutex
	prov *gooidc.Provider // discovered on first use
}

// New checks cfg and returns the app. The broker need not be running yet:
// discovery happens on the first sign-in.
func New(cfg Config) (*App, error) {
	if cfg.BrokerURL == "" || cfg.ClientID == "" || cfg.BaseURL == "" {
		return nil, errors.New("devapp: BrokerURL, ClientID and BaseURL are required")
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("devapp: BaseURL %q must be an absolute http(s) URL", cfg.BaseURL)
	}
	a := &App{cfg: cfg, base: base, log: cfg.Logger, now: cfg.Now}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.cfg.HTTPClient == nil {
		a.cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if a.cfg.AWSRegion == "" {
		a.cfg.AWSRegion = "us-east-1"
	}
	a.sessions = newSessions(a.now)
	if a.pages, err = template.New("").Parse(pagesHTML); err != nil {
		return nil, fmt.Errorf("devapp: templates: %w", err)
	}
	a.mux = http.NewServeMux()
	a.mux.HandleFunc("GET /{$}", a.index)
	a.mux.HandleFunc("GET /login", a.login)
	a.mux.HandleFunc("GET /callback", a.callback)
	a.mux.HandleFunc("POST /credentials", a.credentials)
	a.mux.HandleFunc("POST /logout", a.logout)
	return a, nil
}

// ServeHTTP serves the app's routes with security headers on every answer.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' "+a.cfg.BrokerURL+"; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	a.mux.ServeHTTP(w, r)
}

// ctx carries the app's HTTP client to go-oidc and x/oauth2.
func (a *App) ctx(ctx context.Context) context.Context {
	ctx = gooidc.ClientContext(ctx, a.cfg.HTTPClient)
	return context.WithValue(ctx, oauth2.HTTPClient, a.cfg.HTTPClient)
}

// provider is the broker's discovery, fetched once it answers.
func (a *App) provider(ctx context.Context) (*gooidc.Provider, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.prov != nil {
		return a.prov, nil
	}
	p, err := gooidc.NewProvider(a.ctx(ctx), a.cfg.BrokerURL)
	if err != nil {
		return nil, err
	}
	a.prov = p
	return p, nil
}

func (a *App) oauth2Config(p *gooidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: a.cfg.ClientID, ClientSecret: a.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: a.url("/callback"), Scopes: Scopes}
}

// url is the absolute URL of path on this app.
func (a *App) url(path string) string {
	u := *a.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	return u.String()
}

func (a *App) secure() bool { return a.base.Scheme == "https" }
