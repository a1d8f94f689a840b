package web

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
)

// Sessions loads and saves the server-side half of browser sessions
// (access.Sessions).
type Sessions interface {
	Load(ctx context.Context, id string) (*access.Session, error)
	Save(ctx context.Context, id string, sess *access.Session) error
	// Stale reports whether the session's attributes are older than
	// server.reauth_after: ask the IdP again before granting anything.
	Stale(sess *access.Session) bool
}

// Config configures the frame every audience's handlers run in.
type Config struct {
	// ExternalURL is the broker's public base URL (no trailing slash).
	ExternalURL string
	Title       string
	// Sessions holds the server-side half of browser sessions.
	Sessions Sessions
	// SessionLifetime is how long the session cookie lasts (the server-side
	// session's lifetime is the access.Sessions'; keep them equal).
	// SessionKeys sign and encrypt cookies (first signs, all verify).
	SessionKeys     [][]byte
	SessionLifetime time.Duration
	MaxBodyBytes    int64
	TrustedProxies  []*net.IPNet
	// FormActionOrigins are origins a form post may redirect to (the AWS
	// sign-in endpoints): CSP form-action covers redirects after a POST.
	FormActionOrigins []string
	Logger            *slog.Logger
	Now               func() time.Time
}

// Frame is what the portal, the admin pages, the API and the protocol
// endpoints share: the external URL, the browser-session cookie and the
// server-side session it points to, CSRF checks, templates, the error page
// and the middleware chain. Each audience embeds it in its own handler type.
type Frame struct {
	cfg       Config
	base      *url.URL
	secure    bool
	sessStore *Cookie
	keys      [][]byte
	tmpl      *template.Template
	log       *slog.Logger
	now       func() time.Time
	csp       string
}

// New builds the frame.
func New(cfg Config) (*Frame, error) {
	base, err := url.Parse(cfg.ExternalURL)
	if err != nil || base.Host == "" {
		return nil, errors.New("web: ExternalURL must be an absolute URL")
	}
	if cfg.Sessions == nil {
		return nil, errors.New("web: Sessions is required")
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
	f := &Frame{cfg: cfg, base: base, secure: base.Scheme == "https", keys: cfg.SessionKeys, log: cfg.Logger, now: cfg.Now}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	f.log = slog.New(LogHandler(f.log.Handler()))
	if f.now == nil {
		f.now = time.Now
	}
	if f.sessStore, err = f.NewCookieStore(CookieOptions{Name: sessionCookieName(f.secure), Path: "/", MaxAge: cfg.SessionLifetime, SameSite: http.SameSiteLaxMode}); err != nil {
		return nil, err
	}
	if f.tmpl, err = parseTemplates(); err != nil {
		return nil, err
	}
	f.csp = contentSecurityPolicy(cfg.FormActionOrigins)
	return f, nil
}

// Echo returns a new echo instance with the frame's error page and
// middleware (recovery, request id, access log, security headers, body
// limit) and the static files. Audiences add their routes to it.
func (f *Frame) Echo() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = f.handleError
	e.IPExtractor = ipExtractor(f.cfg.TrustedProxies)
	e.Use(f.recoverer, f.requestID, f.accessLog, f.securityHeaders, f.bodyLimit)
	e.GET("/static/*", staticHandler())
	return e
}

// Log is the frame's logger.
func (f *Frame) Log() *slog.Logger { return f.log }

// Now is the frame's clock.
func (f *Frame) Now() time.Time { return f.now() }

// Title is the product title shown on every page.
func (f *Frame) Title() string { return f.cfg.Title }

// Secure reports whether the broker is served over https.
func (f *Frame) Secure() bool { return f.secure }

// URL returns the absolute external URL for path.
func (f *Frame) URL(path string) string {
	u := *f.base
	u.Path = u.Path + path
	return u.String()
}

// Origin is the scheme and host of the external URL.
func (f *Frame) Origin() string { return f.base.Scheme + "://" + f.base.Host }

// NotSignedIn is the error for a request that needs a portal session.
var NotSignedIn = broker.Errorf(broker.EUNAUTHORIZED, "not_signed_in", "Your portal session has ended. Sign in again.")

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
