package adminauth

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/web"
)

// TokenPrefix starts every admin API token.
const TokenPrefix = "brk_"

// Tokens looks up admin API tokens by their SHA-256 (store.TokenStore).
type Tokens interface {
	APITokenByHash(ctx context.Context, hash []byte) (*store.APIToken, error)
}

// Config configures the guard.
type Config struct {
	Frame *web.Frame
	// Matcher decides who is an admin, on every admin request, from the
	// verified sign-in; nil means nobody (every admin request gets 403).
	Matcher *mapping.Matcher
	Tokens  Tokens
}

// Guard decides who may use the admin pages and the API.
type Guard struct {
	*web.Frame
	cfg Config
}

// New returns a guard.
func New(cfg Config) *Guard { return &Guard{Frame: cfg.Frame, cfg: cfg} }

// Admin is the authenticated administrator of one request.
type Admin struct {
	Actor    string // "provider/subject" or "token:name"
	Name     string // for display
	CSRF     string // "" for token requests
	Identity *broker.Identity
	ViaToken bool
}

const adminKey = "broker.admin"

// Of returns the administrator Require authenticated.
func Of(c echo.Context) *Admin {
	a, _ := c.Get(adminKey).(*Admin)
	return a
}

var (
	errAdminForbidden = broker.Errorf(broker.EFORBIDDEN, "not_admin", "You are signed in, but you are not a broker administrator.")
	errAdminSignIn    = broker.Errorf(broker.EUNAUTHORIZED, "admin_sign_in", "Sign in to use the admin pages.")
	errAdminOff       = broker.Errorf(broker.EFORBIDDEN, "admin_disabled", "The admin pages are disabled: no admin condition is configured.")
)

// IsAdmin reports whether a verified identity satisfies the admin condition.
func (g *Guard) IsAdmin(id *broker.Identity) bool {
	if g == nil || g.cfg.Matcher == nil || id == nil {
		return false
	}
	ok, _ := g.cfg.Matcher.Match(id)
	return ok
}

// Require authenticates every admin page and API request: an admin
// API token (Authorization: Bearer, API only) or a browser session whose
// identity satisfies the admin condition now. State-changing requests from
// a session need its CSRF token (form field or X-CSRF-Token header).
func (g *Guard) Require(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		cfg := g.cfg
		r := c.Request()
		ctx := r.Context()
		api := strings.HasPrefix(r.URL.Path, "/api/")
		if cfg.Matcher == nil {
			return errAdminOff
		}
		if authz := r.Header.Get("Authorization"); authz != "" {
			if !api {
				return broker.Errorf(broker.EFORBIDDEN, "token_not_for_pages", "API tokens work only for /api/v1.")
			}
			tok, ok := strings.CutPrefix(authz, "Bearer ")
			if !ok || !strings.HasPrefix(tok, TokenPrefix) || len(tok) > 200 {
				return broker.Errorf(broker.EUNAUTHORIZED, "api_token_malformed", "Send an admin API token as Authorization: Bearer brk_….")
			}
			sum := sha256.Sum256([]byte(tok))
			t, err := cfg.Tokens.APITokenByHash(ctx, sum[:])
			if err != nil {
				if broker.ErrorCode(err) == broker.ENOTFOUND {
					return broker.Errorf(broker.EUNAUTHORIZED, "api_token_unknown", "The API token is not valid (revoked, or never created).")
				}
				return err
			}
			c.Set(adminKey, &Admin{Actor: "token:" + t.Name, Name: "API token " + t.Name, ViaToken: true})
			return next(c)
		}
		cur, ok := g.Current(c)
		if !ok {
			if !api && r.Method == http.MethodGet {
				return c.Redirect(http.StatusSeeOther, "/?admin=1")
			}
			return errAdminSignIn
		}
		data, b := cur.Data, cur.Browser
		if ok, why := cfg.Matcher.Match(&data.Identity); !ok {
			g.Log().WarnContext(ctx, "admin request refused", "request_id", web.RequestID(c), "provider", data.Identity.Provider,
				"subject", data.Identity.Subject, "path", r.URL.Path, "why", why)
			return errAdminForbidden
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := g.checkCSRF(c, b); err != nil {
				return err
			}
		}
		c.Set(adminKey, &Admin{
			Actor: data.Identity.Provider + "/" + data.Identity.Subject, Name: web.DisplayName(&data.Identity),
			CSRF: b.CSRF, Identity: &data.Identity,
		})
		return next(c)
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
