package adminauth

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/ratelimit"
)

// Admins decides who is an admin (admins.Service; a nil *admins.Service
// means admin is disabled).
type Admins interface {
	Enabled() bool
	IsAdmin(id *broker.Identity) (bool, string)
	Authenticate(ctx context.Context, token string, from broker.Actor) (*admins.Caller, error)
	RefuseScope(ctx context.Context, who broker.Actor, scope string) error
	RequiresMFA() bool
}

var _ Admins = (*admins.Service)(nil)

// Config configures the guard.
type Config struct {
	Frame  *web.Frame
	Admins Admins
	// Providers are the upstream IdPs a stale or single-factor admin
	// session is sent back to.
	Providers *web.Providers
	// TokenLimit bounds how often one client may present an API token;
	// nil = no limit.
	TokenLimit *ratelimit.Limiter
}

// Guard decides who may use the admin pages and the API.
type Guard struct {
	*web.Frame
	admins     Admins
	providers  *web.Providers
	tokenLimit *ratelimit.Limiter
}

// New returns a guard.
func New(cfg Config) *Guard {
	return &Guard{Frame: cfg.Frame, admins: cfg.Admins, providers: cfg.Providers, tokenLimit: cfg.TokenLimit}
}

// Admin is the authenticated administrator of one request.
type Admin struct {
	admins.Actor        // who ("provider/subject" or "token:NAME") and from where
	CSRF         string // "" for token requests
	Identity     *broker.Identity
	ViaToken     bool
	// Scopes are what an API token may do (admins.Scope…); nil for a
	// browser session, which may do everything.
	Scopes []string
}

// Allows reports whether the admin may do what scope names: a browser
// session of an admin allows everything, a token only its scopes.
func (a *Admin) Allows(scope string) bool {
	return a != nil && (!a.ViaToken || slices.Contains(a.Scopes, scope))
}

const adminKey = "broker.admin"

// Of returns the administrator Require authenticated.
func Of(c echo.Context) *Admin {
	a, _ := c.Get(adminKey).(*Admin)
	return a
}

var errAdminSignIn = broker.Errorf(broker.EUNAUTHORIZED, "admin_sign_in", "Sign in to use the admin pages.")

// IsAdmin reports whether a verified identity satisfies the admin condition.
func (g *Guard) IsAdmin(id *broker.Identity) bool {
	ok, _ := g.admins.IsAdmin(id)
	return ok
}

// Require authenticates every admin page and API request: an admin
// API token (Authorization: Bearer, API only) or a browser session whose
// identity satisfies the admin condition now. State-changing requests from
// a session need its CSRF token (form field or X-CSRF-Token header).
func (g *Guard) Require(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ctx := r.Context()
		api := strings.HasPrefix(r.URL.Path, "/api/")
		if !g.admins.Enabled() {
			return admins.ErrDisabled
		}
		meta := admins.Actor{RequestID: web.RequestID(c), RemoteAddr: c.RealIP(), UserAgent: r.UserAgent()}
		if authz := r.Header.Get("Authorization"); authz != "" {
			if !api {
				return broker.Errorf(broker.EFORBIDDEN, "token_not_for_pages", "API tokens work only for /api/v1.")
			}
			if err := ratelimit.Check(c, g.tokenLimit, "api_token"); err != nil {
				return err
			}
			tok, ok := strings.CutPrefix(authz, "Bearer ")
			if !ok {
				return admins.ErrTokenMalformed
			}
			caller, err := g.admins.Authenticate(ctx, tok, meta)
			if err != nil {
				return err
			}
			c.Set(adminKey, &Admin{Actor: caller.Actor, ViaToken: true, Scopes: caller.Token.Scopes})
			return next(c)
		}
		cur, ok := g.Current(c)
		if !ok {
			if !api && r.Method == http.MethodGet {
				return c.Redirect(http.StatusSeeOther, "/?admin=1")
			}
			return errAdminSignIn
		}
		data, b := cur.Session, cur.Browser
		// Attributes older than reauth_after are confirmed with the IdP
		// first: someone removed from the admin group there loses admin
		// access at this check, not at the end of their session.
		if cur.Stale {
			return g.signInAgain(c, api, &data.Identity, false)
		}
		if ok, why := g.admins.IsAdmin(&data.Identity); !ok {
			g.Log().WarnContext(ctx, "admin request refused", "request_id", web.RequestID(c), "provider", data.Identity.Provider,
				"subject", data.Identity.Subject, "path", r.URL.Path, "why", why)
			return admins.ErrNotAdmin
		}
		if g.admins.RequiresMFA() && !data.Identity.MFA {
			return g.signInAgain(c, api, &data.Identity, true)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := g.checkCSRF(c, b); err != nil {
				return err
			}
		}
		meta.ID, meta.Name = data.Identity.Provider+"/"+data.Identity.Subject, web.DisplayName(&data.Identity)
		c.Set(adminKey, &Admin{Actor: meta, CSRF: b.CSRF, Identity: &data.Identity})
		return next(c)
	}
}

// Errors of a session that must sign in again before admin access.
var (
	errReauth = broker.Errorf(broker.EUNAUTHORIZED, "reauth_required",
		"Your sign-in must be confirmed with your identity provider again before admin access. Reload the page in your browser.")
	errNeedsMFA = broker.Errorf(broker.EFORBIDDEN, "admin_mfa_required",
		"The admin pages need a sign-in with multi-factor authentication. Open an admin page in your browser to sign in with MFA.")
)

// signInAgain sends a page request through the person's IdP (silently
// where it can: OIDC prompt=none; a SAML IdP with a session answers
// without a page) and back to the same page; with mfa, asking for a
// multi-factor sign-in. API and form requests get the error instead.
func (g *Guard) signInAgain(c echo.Context, api bool, id *broker.Identity, mfa bool) error {
	r := c.Request()
	g.Log().InfoContext(r.Context(), "admin session sent to sign in again", "request_id", web.RequestID(c),
		"provider", id.Provider, "subject", id.Subject, "mfa", mfa)
	p, ok := g.providers.Get(id.Provider)
	if api || r.Method != http.MethodGet || !ok {
		if mfa {
			return errNeedsMFA
		}
		return errReauth
	}
	q := url.Values{"return": {r.URL.RequestURI()}}
	switch {
	case mfa:
		q.Set("mfa", "1")
	case p.OIDC != nil:
		q.Set("prompt", "none")
	}
	return c.Redirect(http.StatusSeeOther, p.LoginPath()+"?"+q.Encode())
}

// Scope returns middleware, for routes behind Require, that lets through
// only an admin whose Admin.Allows(scope); a token without it gets 403
// with reason api_token_scope naming the scope, and the refusal is
// audited.
func (g *Guard) Scope(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			a := Of(c)
			if a == nil {
				return errAdminSignIn // Require did not run: fail closed
			}
			if !a.Allows(scope) {
				return g.admins.RefuseScope(c.Request().Context(), a.Actor, scope)
			}
			return next(c)
		}
	}
}

func (g *Guard) checkCSRF(c echo.Context, b web.Browser) error {
	r := c.Request()
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return broker.Errorf(broker.EFORBIDDEN, "csrf_cross_site", "This request was sent from another site.")
	}
	// Origin is "null" for forms under Referrer-Policy: no-referrer; the
	// token and Sec-Fetch-Site still decide.
	if o := r.Header.Get("Origin"); o != "" && o != "null" && o != g.Origin() {
		return broker.Errorf(broker.EFORBIDDEN, "csrf_origin", "This request was sent from another site.")
	}
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		ct := r.Header.Get("Content-Type")
		if strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") {
			if err := web.ParseForm(r); err != nil {
				return err
			}
			tok = r.PostFormValue("csrf_token")
		}
	}
	if !web.TokensEqual(b.CSRF, tok) {
		return broker.Errorf(broker.EFORBIDDEN, "csrf_token", "Your form expired or was not sent from this portal. Reload the page and try again.")
	}
	return nil
}
