package admin

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/adminauth"
)

// Config configures the admin pages.
type Config struct {
	Frame     *web.Frame
	Guard     *adminauth.Guard
	Providers *web.Providers
	// Rules is the rule set in force on this instance (what the pages show).
	Rules *ruleset.Source
	// Admin is every change, check, simulation and impact preview.
	Admin  *ruleset.Admin
	Admins *admins.Service
}

// Handler serves the admin pages under /admin.
type Handler struct {
	*web.Frame
	cfg Config
}

// New builds the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Frame == nil || cfg.Guard == nil || cfg.Providers == nil || cfg.Rules == nil || cfg.Admin == nil || cfg.Admins == nil {
		return nil, errors.New("admin: Frame, Guard, Providers, Rules, Admin and Admins are required")
	}
	return &Handler{Frame: cfg.Frame, cfg: cfg}, nil
}

// Mount adds the admin routes, each behind the guard.
func (h *Handler) Mount(e *echo.Echo) {
	g := e.Group("/admin", h.cfg.Guard.Require)
	g.GET("", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/admin/rules") })
	g.GET("/rules", h.adminRules)
	g.GET("/rules/new", h.adminRuleNew)
	g.POST("/rules/new", h.adminRuleSubmit)
	g.GET("/rules/:name", h.adminRuleEdit)
	g.POST("/rules/:name", h.adminRuleSubmit)
	g.POST("/rules/:name/toggle", h.adminRuleToggle)
	g.POST("/rules/:name/delete", h.adminRuleDelete)
	g.POST("/rules/:name/move", h.adminRuleMove)
	g.GET("/rules/:name/history", h.adminRuleHistory)
	g.POST("/rules/:name/revert", h.adminRuleRevert)
	g.GET("/simulate", h.adminSimulate)
	g.POST("/simulate", h.adminSimulate)
	g.GET("/audit", h.adminAudit)
	g.GET("/accounts", h.adminAccounts)
	g.POST("/accounts", h.adminAccountSave)
	g.POST("/accounts/:id/delete", h.adminAccountDelete)
	g.GET("/tokens", h.adminTokens)
	g.POST("/tokens", h.adminTokenCreate)
	g.POST("/tokens/:id/delete", h.adminTokenDelete)
}

// adminPage is the data of every admin page.
type adminPage struct {
	web.Page
	Nav  string
	Data any
}

func (h *Handler) adminPage(c echo.Context, title, nav string, data any) adminPage {
	a := adminauth.Of(c)
	pd := h.Page(c, title)
	pd.SignedIn, pd.User, pd.CSRF, pd.IsAdmin = true, a.Name, a.CSRF, true
	return adminPage{Page: pd, Nav: nav, Data: data}
}

func (h *Handler) renderAdmin(c echo.Context, status int, name string, p adminPage) error {
	return h.Render(c, status, name, p)
}

// flashRedirect sets a one-time message and redirects (post/redirect/get).
func (h *Handler) flashRedirect(c echo.Context, msg, to string) error {
	if err := h.SetFlash(c, msg); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, to)
}

func (h *Handler) adminFlash(c echo.Context) string {
	return h.TakeFlash(c, h.LoadBrowser(c.Request()))
}
