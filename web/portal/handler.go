package portal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/ratelimit"
)

// Access is the access use case (access.Service).
type Access interface {
	Decide(id *broker.Identity) mapping.Decision
	Assume(ctx context.Context, in access.AssumeInput) (*access.Outcome, error)
}

// Sessions is the portal session lifecycle (access.Sessions).
type Sessions interface {
	Start(ctx context.Context, sess *access.Session, replaces string, meta access.Meta) (string, mapping.Decision, error)
	Failed(ctx context.Context, provider string, err error, meta access.Meta)
	End(ctx context.Context, id string, meta access.Meta) error
	// UseOnce makes an OIDC state single use across instances (EREPLAY).
	UseOnce(ctx context.Context, namespace, key string, expires time.Time) error
	// List and EndAll are a person's own sessions (/sessions): theirs
	// live, and "sign out everywhere".
	List(ctx context.Context, provider, subject string) ([]access.SessionInfo, error)
	EndAll(ctx context.Context, provider, subject string, by broker.Actor, except string) (int, error)
	// EndUpstream ends the sessions an IdP's logout names.
	EndUpstream(ctx context.Context, provider, subject, upstreamSession, via string, meta access.Meta) (int, error)
}

var _ Sessions = (*access.Sessions)(nil)

// Config configures the portal.
type Config struct {
	Frame     *web.Frame
	Providers *web.Providers
	Access    Access
	Sessions  Sessions
	// IsAdmin says whether to show the Admin link; nil = never.
	IsAdmin func(*broker.Identity) bool
	// AutoSelectSingleRole opens the console at once for a single role.
	AutoSelectSingleRole bool
	// Accounts lists the configured AWS accounts (id, alias, label): /go
	// links name an account by its alias, and the portal's "Copy link"
	// uses it. nil = account ids and the grants' labels only.
	Accounts func() []mapping.Account
	// ShortLinks finds the admin-defined short links /go/NAME; nil = none
	// (every /go/NAME is 404).
	ShortLinks ShortLinks
	// Personal keeps the person's favourite roles and reads their own
	// audit events (recently used roles, today's console sessions, what
	// AWS allowed last time); nil = none of those.
	Personal Personal
	// SignInLimit bounds how often one client may start or finish a
	// sign-in (login routes, SAML ACS, OIDC callback); nil = no limit.
	SignInLimit *ratelimit.Limiter
}

// Handler serves the sign-in page, the portal and the upstream sign-in
// flows (SAML and OIDC).
type Handler struct {
	*web.Frame
	cfg          Config
	reqCookie    *web.Cookie
	oidcCookie   *web.Cookie
	logoutCookie *web.Cookie
	arriveCookie *web.Cookie
	// cards keeps the portal's rendered role cards (cards.go).
	cards fragments
}

const (
	// requestCookie tracks SAML requests this browser started. It must reach
	// the ACS on the IdP's cross-site POST, so on https it is SameSite=None.
	requestCookie = "broker_saml_requests"
	oidcCookie    = "broker_oidc_requests"
	logoutCookie  = "broker_saml_logouts"
	// arriveCookie carries an unsolicited sign-in from the ACS to /arrive.
	arriveCookie = "broker_arrival"
	maxPending   = 5
	pendingTTL   = 10 * time.Minute
)

// New builds the portal handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Frame == nil || cfg.Providers == nil || cfg.Access == nil || cfg.Sessions == nil {
		return nil, errors.New("portal: Frame, Providers, Access and Sessions are required")
	}
	h := &Handler{Frame: cfg.Frame, cfg: cfg}
	sameSite := http.SameSiteLaxMode
	if h.Secure() {
		sameSite = http.SameSiteNoneMode
	}
	var err error
	if h.reqCookie, err = h.NewCookieStore(web.CookieOptions{Name: requestCookie, Path: "/saml/", MaxAge: pendingTTL, SameSite: sameSite}); err != nil {
		return nil, err
	}
	// Logout requests this browser sent to a SAML IdP, matched when its
	// LogoutResponse comes back (by POST, cross-site, like the ACS).
	if h.logoutCookie, err = h.NewCookieStore(web.CookieOptions{Name: logoutCookie, Path: "/saml/", MaxAge: pendingTTL, SameSite: sameSite}); err != nil {
		return nil, err
	}
	// The OIDC callback is a top-level GET: SameSite=Lax cookies arrive.
	if h.oidcCookie, err = h.NewCookieStore(web.CookieOptions{Name: oidcCookie, Path: "/oidc/", MaxAge: pendingTTL, SameSite: http.SameSiteLaxMode}); err != nil {
		return nil, err
	}
	// Set on the IdP's cross-site POST (a top-level navigation may set a
	// Lax cookie), read on the same-site GET /arrive that follows.
	if h.arriveCookie, err = h.NewCookieStore(web.CookieOptions{Name: arriveCookie, Path: "/arrive", MaxAge: switchTTL, SameSite: http.SameSiteLaxMode}); err != nil {
		return nil, err
	}
	return h, nil
}

// Mount adds the portal's routes.
func (h *Handler) Mount(e *echo.Echo) {
	e.GET("/", h.index)
	e.POST("/console", h.console, h.RequireCSRF)
	e.POST("/favourites", h.favourite, h.RequireCSRF)
	e.GET("/continue", h.continueTo)
	e.GET("/open", h.open)
	e.GET("/go", h.goTo)
	e.GET("/go/:name", h.goShort)
	e.GET("/arrive", h.arrive)
	e.GET("/switch", h.switchPage)
	e.POST("/switch", h.switchChoice, h.RequireCSRF)
	e.POST("/logout", h.logout, h.RequireCSRF)
	e.GET("/sessions", h.sessions)
	e.POST("/sessions/end-others", h.endOthers, h.RequireCSRF)
	e.POST("/sessions/end-all", h.endAll, h.RequireCSRF)
	limit := ratelimit.Middleware(h.cfg.SignInLimit, "signin")
	e.GET("/saml/:provider/login", h.samlLogin, limit)
	e.POST("/saml/:provider/acs", h.samlACS, limit)
	e.GET("/oidc/:provider/login", h.oidcLogin, limit)
	e.GET("/oidc/:provider/callback", h.oidcCallback, limit)
	e.GET("/saml/:provider/slo", h.samlSLO, limit)
	e.POST("/saml/:provider/slo", h.samlSLO, limit)
	e.POST("/oidc/:provider/backchannel-logout", h.oidcBackchannelLogout, limit)
}

// pendingRequest is a sign-in this browser started: a SAML AuthnRequest
// (ID) or an OIDC authorization request (ID = state, with nonce and PKCE
// verifier).
type pendingRequest struct {
	ID       string    `json:"id"`
	Nonce    string    `json:"n,omitempty"`
	Verifier string    `json:"v,omitempty"`
	Silent   bool      `json:"s,omitempty"`
	Provider string    `json:"p"`
	Relay    string    `json:"r"`
	Expires  time.Time `json:"e"`
	// Continue: what to do after sign-in (open this role, land here).
	Grant       string `json:"g,omitempty"`
	Destination string `json:"d,omitempty"`
	// Confirm: the role is opened only after the person confirms it (the
	// link came from another site, or the sign-in was IdP-initiated).
	Confirm bool `json:"c,omitempty"`
	// Return is a page of this site to land on after sign-in (an admin
	// page that sent the person to sign in again); local paths only.
	Return string `json:"rt,omitempty"`
	// MFA: the sign-in asked the IdP for multi-factor authentication.
	MFA bool `json:"m,omitempty"`
	// Fresh: the sign-in asked the IdP to authenticate the person again
	// (an app's prompt=login or max_age).
	Fresh bool `json:"f,omitempty"`
}

// localReturn accepts a path of this site ("/admin/rules?x=1"), never
// another origin ("//evil", "/\evil" with a backslash, "https://…"), at most 2000 bytes.
func localReturn(v string) string {
	if len(v) > 2000 || !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.HasPrefix(v, "/\\") ||
		strings.ContainsAny(v, "\r\n\t\\") {
		return ""
	}
	return v
}

func (h *Handler) loadPending(r *http.Request, jar *web.Cookie) []pendingRequest {
	var list []pendingRequest
	if raw := jar.Get(r)["p"]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &list)
	}
	now := h.Now()
	live := list[:0]
	for _, p := range list {
		if now.Before(p.Expires) {
			live = append(live, p)
		}
	}
	return live
}

func (h *Handler) savePending(w http.ResponseWriter, r *http.Request, jar *web.Cookie, list []pendingRequest) error {
	if len(list) > maxPending {
		list = list[len(list)-maxPending:]
	}
	v := ""
	if len(list) > 0 {
		b, _ := json.Marshal(list)
		v = string(b)
	}
	return jar.Put(w, r, map[string]string{"p": v})
}

// continuation is the role to open once the browser comes back to
// /continue after sign-in: single use, tied to the sign-in by a token.
type continuation struct {
	Token       string `json:"t"`
	Grant       string `json:"g"`
	Destination string `json:"d,omitempty"`
}

func (n continuation) encode() string {
	b, _ := json.Marshal(n)
	return string(b)
}

func decodeContinuation(s string) (continuation, bool) {
	var n continuation
	if s == "" || json.Unmarshal([]byte(s), &n) != nil || n.Token == "" || n.Grant == "" {
		return continuation{}, false
	}
	return n, true
}

// provider returns the provider named in the path, of the wanted protocol.
func (h *Handler) provider(c echo.Context, wantSAML bool) (web.Provider, error) {
	p, ok := h.cfg.Providers.Get(c.Param("provider"))
	if !ok || (wantSAML && p.SAML == nil) || (!wantSAML && p.OIDC == nil) {
		return web.Provider{}, broker.Errorf(broker.ENOTFOUND, "provider_unknown", "There is no identity provider with this name.")
	}
	return p, nil
}

// meta is the request as the audit log records it.
func meta(c echo.Context) access.Meta {
	return access.Meta{RequestID: web.RequestID(c), RemoteAddr: c.RealIP(), UserAgent: c.Request().UserAgent()}
}
