package web

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/store"
)

// AdminStore is what the admin UI and API need from the store.
type AdminStore interface {
	store.RuleStore
	store.TokenStore
	store.SignInStore
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
}

// AdminConfig enables the admin UI (/admin) and API (/api/v1).
type AdminConfig struct {
	// Matcher decides who is an admin, on every admin request, from the
	// verified sign-in; nil means nobody (every admin request gets 403).
	Matcher *mapping.Matcher
	Rules   *ruleset.Source
	Store   AdminStore
}

// admin is the authenticated administrator of one request.
type admin struct {
	Actor    string // "provider/subject" or "token:name"
	Name     string // for display
	CSRF     string // "" for token requests
	Identity *broker.Identity
	ViaToken bool
}

const adminKey = "broker.admin"

func adminOf(c echo.Context) *admin {
	a, _ := c.Get(adminKey).(*admin)
	return a
}

var (
	errAdminForbidden = broker.Errorf(broker.EFORBIDDEN, "not_admin", "You are signed in, but you are not a broker administrator.")
	errAdminSignIn    = broker.Errorf(broker.EUNAUTHORIZED, "admin_sign_in", "Sign in to use the admin pages.")
	errAdminOff       = broker.Errorf(broker.EFORBIDDEN, "admin_disabled", "The admin pages are disabled: no admin condition is configured.")
)

// isAdmin reports whether a verified identity satisfies the admin condition.
func (s *Server) isAdmin(id *broker.Identity) bool {
	a := s.cfg.Admin
	if a == nil || a.Matcher == nil || id == nil {
		return false
	}
	ok, _ := a.Matcher.Match(id)
	return ok
}

// requireAdmin authenticates every admin page and API request: an admin
// API token (Authorization: Bearer, API only) or a browser session whose
// identity satisfies the admin condition now. State-changing requests from
// a session need its CSRF token (form field or X-CSRF-Token header).
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		cfg := s.cfg.Admin
		r := c.Request()
		ctx := r.Context()
		api := strings.HasPrefix(r.URL.Path, "/api/")
		if cfg == nil || cfg.Matcher == nil {
			return errAdminOff
		}
		if authz := r.Header.Get("Authorization"); authz != "" {
			if !api {
				return broker.Errorf(broker.EFORBIDDEN, "token_not_for_pages", "API tokens work only for /api/v1.")
			}
			tok, ok := strings.CutPrefix(authz, "Bearer ")
			if !ok || !strings.HasPrefix(tok, apiTokenPrefix) || len(tok) > 200 {
				return broker.Errorf(broker.EUNAUTHORIZED, "api_token_malformed", "Send an admin API token as Authorization: Bearer brk_….")
			}
			sum := sha256.Sum256([]byte(tok))
			t, err := cfg.Store.APITokenByHash(ctx, sum[:])
			if err != nil {
				if broker.ErrorCode(err) == broker.ENOTFOUND {
					return broker.Errorf(broker.EUNAUTHORIZED, "api_token_unknown", "The API token is not valid (revoked, or never created).")
				}
				return err
			}
			c.Set(adminKey, &admin{Actor: "token:" + t.Name, Name: "API token " + t.Name, ViaToken: true})
			return next(c)
		}
		_, data, b, ok := s.current(c)
		if !ok {
			if !api && r.Method == http.MethodGet {
				return c.Redirect(http.StatusSeeOther, "/?admin=1")
			}
			return errAdminSignIn
		}
		if ok, why := cfg.Matcher.Match(&data.Identity); !ok {
			s.log.WarnContext(ctx, "admin request refused", "request_id", requestIDOf(c), "provider", data.Identity.Provider,
				"subject", data.Identity.Subject, "path", r.URL.Path, "why", why)
			return errAdminForbidden
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := s.checkAdminCSRF(c, b); err != nil {
				return err
			}
		}
		c.Set(adminKey, &admin{
			Actor: data.Identity.Provider + "/" + data.Identity.Subject, Name: displayName(&data.Identity),
			CSRF: b.CSRF, Identity: &data.Identity,
		})
		return next(c)
	}
}

func (s *Server) checkAdminCSRF(c echo.Context, b browserSession) error {
	r := c.Request()
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return broker.Errorf(broker.EFORBIDDEN, "csrf_cross_site", "This request was sent from another site.")
	}
	// Origin is "null" for forms under Referrer-Policy: no-referrer; the
	// token and Sec-Fetch-Site still decide.
	if o := r.Header.Get("Origin"); o != "" && o != "null" && o != s.origin() {
		return broker.Errorf(broker.EFORBIDDEN, "csrf_origin", "This request was sent from another site.")
	}
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		ct := r.Header.Get("Content-Type")
		if strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") {
			if err := parseForm(r); err != nil {
				return err
			}
			tok = r.PostFormValue("csrf_token")
		}
	}
	if !tokensEqual(b.CSRF, tok) {
		return broker.Errorf(broker.EFORBIDDEN, "csrf_token", "Your form expired or was not sent from this portal. Reload the page and try again.")
	}
	return nil
}

// adminPage is the data of every admin page.
type adminPage struct {
	pageData
	Nav  string
	Data any
}

func (s *Server) adminPage(c echo.Context, title, nav string, data any) adminPage {
	a := adminOf(c)
	pd := s.page(c, title)
	pd.SignedIn, pd.User, pd.CSRF, pd.IsAdmin = true, a.Name, a.CSRF, true
	return adminPage{pageData: pd, Nav: nav, Data: data}
}

func (s *Server) renderAdmin(c echo.Context, status int, name string, p adminPage) error {
	var buf strings.Builder
	if err := s.tmpl.ExecuteTemplate(&buf, name, p); err != nil {
		return err
	}
	return c.HTMLBlob(status, []byte(buf.String()))
}

// flashRedirect sets a one-time message and redirects (post/redirect/get).
func (s *Server) flashRedirect(c echo.Context, msg, to string) error {
	sess, b := s.loadBrowser(c.Request())
	if b.ID != "" {
		b.Flash = msg
		if err := s.saveBrowser(c.Response(), c.Request(), sess, b); err != nil {
			return err
		}
	}
	return c.Redirect(http.StatusSeeOther, to)
}

func (s *Server) adminFlash(c echo.Context) string {
	_, b := s.loadBrowser(c.Request())
	return s.takeFlash(c, b)
}

func writeJSON(c echo.Context, status int, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return c.JSONBlob(status, b)
}

func (s *Server) adminRoutes(e *echo.Echo) {
	g := e.Group("/admin", s.requireAdmin)
	g.GET("", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/admin/rules") })
	g.GET("/rules", s.adminRules)
	g.GET("/rules/new", s.adminRuleNew)
	g.POST("/rules/new", s.adminRuleSubmit)
	g.GET("/rules/:name", s.adminRuleEdit)
	g.POST("/rules/:name", s.adminRuleSubmit)
	g.POST("/rules/:name/toggle", s.adminRuleToggle)
	g.POST("/rules/:name/delete", s.adminRuleDelete)
	g.POST("/rules/:name/move", s.adminRuleMove)
	g.GET("/rules/:name/history", s.adminRuleHistory)
	g.POST("/rules/:name/revert", s.adminRuleRevert)
	g.GET("/simulate", s.adminSimulate)
	g.POST("/simulate", s.adminSimulate)
	g.GET("/audit", s.adminAudit)
	g.GET("/accounts", s.adminAccounts)
	g.POST("/accounts", s.adminAccountSave)
	g.POST("/accounts/:id/delete", s.adminAccountDelete)
	g.GET("/tokens", s.adminTokens)
	g.POST("/tokens", s.adminTokenCreate)
	g.POST("/tokens/:id/delete", s.adminTokenDelete)

	api := e.Group("/api/v1", s.requireAdmin)
	api.GET("/rules", s.apiRules)
	api.PUT("/rules", s.apiReplaceRules)
	api.POST("/rules", s.apiCreateRule)
	api.GET("/rules/:name", s.apiRule)
	api.PUT("/rules/:name", s.apiUpdateRule)
	api.DELETE("/rules/:name", s.apiDeleteRule)
	api.GET("/rules/:name/history", s.apiRuleHistory)
	api.POST("/simulate", s.apiSimulate)
	api.GET("/audit", s.apiAudit)
	api.GET("/accounts", s.apiAccounts)
}
