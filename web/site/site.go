package site

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/metrics"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/admin"
	"github.com/broker-dev/broker/web/adminauth"
	"github.com/broker-dev/broker/web/api"
	webapps "github.com/broker-dev/broker/web/apps"
	"github.com/broker-dev/broker/web/meta"
	"github.com/broker-dev/broker/web/portal"
	"github.com/broker-dev/broker/web/ratelimit"
)

// AdminConfig enables the admin UI (/admin) and API (/api/v1).
type AdminConfig struct {
	// Admins says who is an admin (nil matcher: nobody), holds the API
	// tokens and reads the audit log.
	Admins *admins.Service
	// Rules is the rule set in force on this instance; Admin changes it.
	Rules *ruleset.Source
	Admin *ruleset.Admin
}

// Config configures the whole web surface.
type Config struct {
	// ExternalURL is the broker's public base URL (no trailing slash).
	ExternalURL string
	Title       string
	Providers   []web.Provider
	Access      *access.Service
	// Sessions is the portal session lifecycle (server-side sessions,
	// sign-in and sign-out records, one-time OIDC states).
	Sessions *access.Sessions
	// AppBearers checks apps' access tokens for the credentials API
	// (*apps.Provider); nil: no credentials API.
	AppBearers webapps.Bearers
	// Health is what readiness checks answers (the store).
	Health meta.Pinger
	// IDPMetadata returns the broker's own SAML IdP metadata; nil = 404.
	IDPMetadata func() ([]byte, error)
	// IDPMetadataValidUntil is that metadata's validUntil, the expiry IAM
	// records (shown on the admin accounts page); IDPMetadataWarning says
	// when it is near or past (/readyz warnings). Zero / nil: not shown.
	IDPMetadataValidUntil time.Time
	IDPMetadataWarning    func() string
	// AWSWarning says when AWS is failing (/readyz warnings, still 200);
	// Draining makes /readyz answer 503 (shutdown). nil: no check.
	AWSWarning func() string
	Draining   func() bool
	// OIDCDiscovery and OIDCJWKS publish the broker's own OIDC issuer; nil = 404.
	OIDCDiscovery func() ([]byte, error)
	OIDCJWKS      func() ([]byte, error)
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
	// SignInLimit and APITokenLimit bound how often one client address may
	// sign in and present an API token (zero PerMinute: no limit).
	SignInLimit, APITokenLimit ratelimit.Limit
	// Apps is the OpenID Provider for apps (*apps.Provider): its endpoints
	// under /oauth and the login bridge /apps/login; nil = off (404).
	// Pass its Discovery as OIDCDiscovery: one document for IAM and apps.
	Apps webapps.Provider
	// Personal keeps people's favourite roles and reads their own audit
	// events for the portal (the store); nil = no favourites, recently
	// used roles or list of today's console sessions.
	Personal portal.Personal
	// Admin enables the admin UI and API; nil = off (every admin request 403).
	Admin *AdminConfig
	// Metrics counts rate-limit refusals; with MetricsOnSite, /metrics is
	// served here too (else on its own listener, or not at all).
	Metrics       *metrics.Metrics
	MetricsOnSite bool
	Logger        *slog.Logger
	Now           func() time.Time
}

// Site is the broker's HTTP handler.
type Site struct {
	cfg Config
	e   *echo.Echo
}

// New builds the frame and mounts every audience on it.
func New(cfg Config) (*Site, error) {
	if cfg.Access == nil || cfg.Sessions == nil || cfg.Health == nil {
		return nil, errors.New("web: Access, Sessions and Health are required")
	}
	if a := cfg.Admin; a != nil && (a.Admins == nil || a.Rules == nil || a.Admin == nil) {
		return nil, errors.New("web: Admin needs Admins, Rules and Admin")
	}
	frame, err := web.New(web.Config{
		ExternalURL: cfg.ExternalURL, Title: cfg.Title, Sessions: cfg.Sessions,
		SessionKeys: cfg.SessionKeys, SessionLifetime: cfg.SessionLifetime, MaxBodyBytes: cfg.MaxBodyBytes,
		TrustedProxies: cfg.TrustedProxies, FormActionOrigins: cfg.FormActionOrigins, Logger: cfg.Logger, Now: cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	providers, err := web.NewProviders(cfg.Providers)
	if err != nil {
		return nil, err
	}
	var adminSvc *admins.Service
	if cfg.Admin != nil {
		adminSvc = cfg.Admin.Admins
	}
	guard := adminauth.New(adminauth.Config{Frame: frame, Admins: adminSvc, Providers: providers, TokenLimit: limiter(cfg.APITokenLimit, cfg.Now, cfg.Metrics)})
	p, err := portal.New(portal.Config{
		Frame: frame, Providers: providers, Access: cfg.Access, Sessions: cfg.Sessions,
		IsAdmin: guard.IsAdmin, AutoSelectSingleRole: cfg.AutoSelectSingleRole,
		SignInLimit: limiter(cfg.SignInLimit, cfg.Now, cfg.Metrics), Accounts: accountsOf(cfg.Admin), ShortLinks: shortLinksOf(cfg.Admin),
		Personal: cfg.Personal,
	})
	if err != nil {
		return nil, err
	}
	m, err := meta.New(meta.Config{
		Providers: providers, Store: cfg.Health, IDPMetadata: cfg.IDPMetadata, IDPMetadataWarning: cfg.IDPMetadataWarning,
		AWSWarning: cfg.AWSWarning, Draining: cfg.Draining, OIDCDiscovery: cfg.OIDCDiscovery, OIDCJWKS: cfg.OIDCJWKS, Logger: frame.Log(),
	})
	if err != nil {
		return nil, err
	}
	e := frame.Echo()
	m.Mount(e)
	if cfg.MetricsOnSite && cfg.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(cfg.Metrics.Handler()))
	}
	p.Mount(e)
	// The API's description, public like meta's documents.
	api.MountDocument(e)
	if cfg.Apps != nil {
		ah, err := webapps.New(webapps.Config{Frame: frame, Providers: providers, OP: cfg.Apps, SignInLimit: limiter(cfg.SignInLimit, cfg.Now, cfg.Metrics),
			DeviceLimit: limiter(webapps.DeviceLimit, cfg.Now, cfg.Metrics), Credentials: cfg.Access, Bearers: cfg.AppBearers})
		if err != nil {
			return nil, err
		}
		ah.Mount(e)
	}
	if cfg.Admin == nil {
		// Every admin and API route answers 403 (admin disabled), not 404.
		e.Any("/admin", guard.Require(notReached))
		e.Any("/admin/*", guard.Require(notReached))
		e.Any("/api/v1/*", guard.Require(notReached))
		return &Site{cfg: cfg, e: e}, nil
	}
	adminCfg := admin.Config{
		Frame: frame, Guard: guard, Providers: providers, Rules: cfg.Admin.Rules, Admin: cfg.Admin.Admin, Admins: adminSvc,
		Sessions: cfg.Sessions, IDPMetadataValidUntil: cfg.IDPMetadataValidUntil,
	}
	apiCfg := api.Config{Guard: guard, Rules: cfg.Admin.Rules, Admin: cfg.Admin.Admin, Audit: adminSvc, Sessions: cfg.Sessions, Log: frame.Log()}
	if cfg.Apps != nil {
		// The apps registered by admins (nil interfaces when off: 404).
		reg := cfg.Apps.Registry()
		adminCfg.Apps, apiCfg.Apps = reg, reg
	}
	ah, err := admin.New(adminCfg)
	if err != nil {
		return nil, err
	}
	ah.Mount(e)
	apih, err := api.New(apiCfg)
	if err != nil {
		return nil, err
	}
	apih.Mount(e)
	return &Site{cfg: cfg, e: e}, nil
}

// limiter is a per-client limiter counting its refusals in m, or nil
// when the limit is off.
func limiter(l ratelimit.Limit, now func() time.Time, m *metrics.Metrics) *ratelimit.Limiter {
	if l.Off() {
		return nil
	}
	return ratelimit.New(l, 0, now).Counting(m)
}

func notReached(echo.Context) error { return errors.New("site: admin is disabled") }

// ServeHTTP implements http.Handler.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.e.ServeHTTP(w, r) }

// Echo exposes the echo instance (tests, extra routes).
func (s *Site) Echo() *echo.Echo { return s.e }

// accountsOf is the configured account list of the rule set in force on
// this instance (aliases for /go links); nil without a rule set.
func accountsOf(a *AdminConfig) func() []mapping.Account {
	if a == nil {
		return nil
	}
	src := a.Rules
	return func() []mapping.Account { return src.State().Accounts }
}

// shortLinksOf finds the short links /go/NAME in the store (ruleset.Admin);
// nil without admin: every /go/NAME is 404.
func shortLinksOf(a *AdminConfig) portal.ShortLinks {
	if a == nil {
		return nil
	}
	return a.Admin
}
