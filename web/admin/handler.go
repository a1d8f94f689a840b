package admin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/adminauth"
)

// Rules is the rule set in force on this instance (ruleset.Source).
type Rules interface {
	State() *ruleset.State
}

// RuleAdmin changes, checks and simulates rules and accounts
// (ruleset.Admin): every change is checked against the whole rule set,
// version-checked, recorded and audited there.
type RuleAdmin interface {
	Candidate(ctx context.Context, replace string, rule *mapping.Rule) ([]mapping.Rule, error)
	Check(ctx context.Context, rules []mapping.Rule, accounts []mapping.Account) (ruleset.Problems, error)
	Simulate(ctx context.Context, rules []mapping.Rule, id *broker.Identity) (ruleset.Simulation, error)
	ImpactPreview(ctx context.Context, before, after []mapping.Rule, signIns int) (ruleset.Impact, error)
	RecentSignIns(ctx context.Context, limit int) ([]ruleset.RecentSignIn, error)
	RecentIdentity(ctx context.Context, provider, subject string) (*broker.Identity, error)

	Create(ctx context.Context, who broker.Actor, r mapping.Rule) (ruleset.Rule, error)
	Update(ctx context.Context, who broker.Actor, r mapping.Rule, version int64) (ruleset.Rule, bool, error)
	SetEnabled(ctx context.Context, who broker.Actor, name string, enabled bool, version int64) (ruleset.Rule, bool, error)
	Delete(ctx context.Context, who broker.Actor, name string, version int64) error
	Move(ctx context.Context, who broker.Actor, name, dir string, revision int64) (int, bool, error)
	Revert(ctx context.Context, who broker.Actor, name string, changeID, version int64) (ruleset.Rule, int64, error)
	History(ctx context.Context, name string) ([]ruleset.Change, error)
	Deleted(ctx context.Context) ([]ruleset.Change, error)

	Accounts(ctx context.Context) ([]mapping.Account, error)
	SaveAccount(ctx context.Context, who broker.Actor, acct mapping.Account) error
	DeleteAccount(ctx context.Context, who broker.Actor, id string) error

	ShortLinkAdmin
}

// Admins keeps the admin API tokens and reads the audit log (admins.Service).
type Admins interface {
	Tokens(ctx context.Context) ([]admins.Token, error)
	CreateToken(ctx context.Context, by broker.Actor, creator *broker.Identity, req admins.TokenRequest) (string, *admins.Token, error)
	Lifetimes() (def, maxLifetime time.Duration)
	RevokeToken(ctx context.Context, by broker.Actor, id string) error
	Audit(ctx context.Context, f admins.AuditFilter) ([]admins.AuditEvent, error)
}

var (
	_ Rules     = (*ruleset.Source)(nil)
	_ RuleAdmin = (*ruleset.Admin)(nil)
	_ Admins    = (*admins.Service)(nil)
)

// Config configures the admin pages.
type Config struct {
	Frame     *web.Frame
	Guard     *adminauth.Guard
	Providers *web.Providers
	// Rules is the rule set in force on this instance (what the pages show).
	Rules Rules
	// Admin is every change, check, simulation and impact preview.
	Admin  RuleAdmin
	Admins Admins
	// Sessions lists and ends people's portal sessions.
	Sessions Sessions
	// Apps is the registry of apps of the OpenID Provider
	// (*apps.Registry); nil: no provider, the apps pages are 404.
	Apps AppRegistry
	// IDPMetadataValidUntil is the validUntil of the broker's SAML IdP
	// metadata (/idp/saml/metadata), which IAM records as the SAML
	// provider's expiry; the accounts page shows it. Zero: the broker is no
	// SAML IdP.
	IDPMetadataValidUntil time.Time
}

// Handler serves the admin pages under /admin.
type Handler struct {
	*web.Frame
	cfg Config
}

// New builds the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Frame == nil || cfg.Guard == nil || cfg.Providers == nil || cfg.Rules == nil || cfg.Admin == nil || cfg.Admins == nil || cfg.Sessions == nil {
		return nil, errors.New("admin: Frame, Guard, Providers, Rules, Admin, Admins and Sessions are required")
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
	g.GET("/links", h.adminLinks)
	g.POST("/links", h.adminLinkSave)
	g.POST("/links/:name/delete", h.adminLinkDelete)
	g.GET("/tokens", h.adminTokens)
	g.POST("/tokens", h.adminTokenCreate)
	g.POST("/tokens/:id/delete", h.adminTokenDelete)
	g.GET("/apps", h.adminApps)
	g.GET("/apps/new", h.adminAppNew)
	g.POST("/apps/new", h.adminAppSubmit)
	g.GET("/apps/:id", h.adminAppEdit)
	g.POST("/apps/:id", h.adminAppSubmit)
	g.POST("/apps/:id/secret", h.adminAppRotate)
	g.POST("/apps/:id/delete", h.adminAppDelete)
	g.GET("/sessions", h.adminSessions)
	g.POST("/sessions/end", h.adminSessionEnd)
	g.POST("/sessions/end-all", h.adminSessionEndAll)
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
