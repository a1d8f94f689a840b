package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/oidc"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/adminauth"
)

// Rules is the rule set in force on this instance (ruleset.Source).
type Rules interface {
	State() *ruleset.State
}

// RuleAdmin changes and simulates rules (ruleset.Admin): every change is
// checked against the whole rule set, version-checked, recorded and
// audited there.
type RuleAdmin interface {
	Rule(ctx context.Context, name string) (ruleset.Rule, error)
	History(ctx context.Context, name string) ([]ruleset.Change, error)
	Accounts(ctx context.Context) ([]mapping.Account, error)
	Create(ctx context.Context, who broker.Actor, r mapping.Rule) (ruleset.Rule, error)
	Update(ctx context.Context, who broker.Actor, r mapping.Rule, version int64) (ruleset.Rule, bool, error)
	Delete(ctx context.Context, who broker.Actor, name string, version int64) error
	ReplaceAll(ctx context.Context, who broker.Actor, rules []mapping.Rule, accounts []mapping.Account, revision int64, allowEmpty bool) (*ruleset.Snapshot, error)
	Simulate(ctx context.Context, rules []mapping.Rule, id *broker.Identity) (ruleset.Simulation, error)
	RecentIdentity(ctx context.Context, provider, subject string) (*broker.Identity, error)

	ShortLinks(ctx context.Context) ([]ruleset.ShortLink, error)
	ShortLink(ctx context.Context, name string) (ruleset.ShortLink, error)
	SaveShortLink(ctx context.Context, who broker.Actor, l ruleset.ShortLink) (ruleset.ShortLink, error)
	DeleteShortLink(ctx context.Context, who broker.Actor, name string) error
}

// AuditLog reads the audit log (admins.Service).
type AuditLog interface {
	Audit(ctx context.Context, f admins.AuditFilter) ([]admins.AuditEvent, error)
}

var (
	_ Rules     = (*ruleset.Source)(nil)
	_ RuleAdmin = (*ruleset.Admin)(nil)
	_ AuditLog  = (*admins.Service)(nil)
)

// Config configures the API.
type Config struct {
	Guard *adminauth.Guard
	// Rules is the rule set in force on this instance (GET /rules).
	Rules Rules
	// Admin is every change and simulation.
	Admin RuleAdmin
	Audit AuditLog
	// Sessions lists and ends people's portal sessions.
	Sessions Sessions
	// Apps is the registry of apps of the OpenID Provider
	// (*apps.Registry); nil: no provider, every /apps route is 404.
	Apps AppRegistry
	Log  *slog.Logger
}

// Handler serves the JSON API under /api/v1.
type Handler struct {
	cfg Config
	log *slog.Logger
}

// New builds the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Guard == nil || cfg.Rules == nil || cfg.Admin == nil || cfg.Audit == nil || cfg.Sessions == nil {
		return nil, errors.New("api: Guard, Rules, Admin, Audit and Sessions are required")
	}
	h := &Handler{cfg: cfg, log: cfg.Log}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// Log is the handler's logger.
func (h *Handler) Log() *slog.Logger { return h.log }

// Route is one API route and the token scope it needs.
type Route struct {
	Method, Path string // Path is under /api/v1
	Scope        string // admins.Scope…
}

// Routes lists every API route with the scope a token needs for it
// (simulate only reads: rules:read).
func Routes() []Route {
	rs := routeTable(&Handler{})
	out := make([]Route, len(rs))
	for i, r := range rs {
		out[i] = r.Route
	}
	return out
}

type route struct {
	Route
	handle echo.HandlerFunc
}

func routeTable(h *Handler) []route {
	return []route{
		{Route{http.MethodGet, "/rules", admins.ScopeRulesRead}, h.apiRules},
		{Route{http.MethodPut, "/rules", admins.ScopeRulesWrite}, h.apiReplaceRules},
		{Route{http.MethodPost, "/rules", admins.ScopeRulesWrite}, h.apiCreateRule},
		{Route{http.MethodGet, "/rules/:name", admins.ScopeRulesRead}, h.apiRule},
		{Route{http.MethodPut, "/rules/:name", admins.ScopeRulesWrite}, h.apiUpdateRule},
		{Route{http.MethodDelete, "/rules/:name", admins.ScopeRulesWrite}, h.apiDeleteRule},
		{Route{http.MethodGet, "/rules/:name/history", admins.ScopeRulesRead}, h.apiRuleHistory},
		{Route{http.MethodPost, "/simulate", admins.ScopeRulesRead}, h.apiSimulate},
		{Route{http.MethodGet, "/audit", admins.ScopeAuditRead}, h.apiAudit},
		{Route{http.MethodGet, "/accounts", admins.ScopeAccountsRead}, h.apiAccounts},
		{Route{http.MethodGet, "/sessions", admins.ScopeSessionsRead}, h.apiSessions},
		{Route{http.MethodDelete, "/sessions", admins.ScopeSessionsWrite}, h.apiEndSessions},
		{Route{http.MethodDelete, "/sessions/:handle", admins.ScopeSessionsWrite}, h.apiEndSession},
		{Route{http.MethodGet, "/links", admins.ScopeLinksRead}, h.apiLinks},
		{Route{http.MethodGet, "/links/:name", admins.ScopeLinksRead}, h.apiLink},
		{Route{http.MethodPut, "/links/:name", admins.ScopeLinksWrite}, h.apiPutLink},
		{Route{http.MethodDelete, "/links/:name", admins.ScopeLinksWrite}, h.apiDeleteLink},
		{Route{http.MethodGet, "/apps", admins.ScopeAppsRead}, h.apiApps},
		{Route{http.MethodPut, "/apps", admins.ScopeAppsWrite}, h.apiApplyApps},
		{Route{http.MethodPost, "/apps", admins.ScopeAppsWrite}, h.apiCreateApp},
		{Route{http.MethodGet, "/apps/export", admins.ScopeAppsRead}, h.apiExportApps},
		{Route{http.MethodGet, "/apps/:id", admins.ScopeAppsRead}, h.apiApp},
		{Route{http.MethodPut, "/apps/:id", admins.ScopeAppsWrite}, h.apiUpdateApp},
		{Route{http.MethodDelete, "/apps/:id", admins.ScopeAppsWrite}, h.apiDeleteApp},
		{Route{http.MethodPost, "/apps/:id/secret", admins.ScopeAppsWrite}, h.apiRotateAppSecret},
	}
}

// Mount adds the API routes, each behind the guard and the scope it needs.
func (h *Handler) Mount(e *echo.Echo) {
	api := e.Group("/api/v1", h.cfg.Guard.Require)
	for _, r := range routeTable(h) {
		api.Add(r.Method, r.Path, r.handle, h.cfg.Guard.Scope(r.Scope))
	}
}

// apiRule is a rule as the API shows it.
type apiRule struct {
	mapping.Rule
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

func toAPIRule(r ruleset.Rule) apiRule {
	return apiRule{Rule: r.Rule, Version: r.Version, UpdatedAt: r.UpdatedAt, UpdatedBy: r.UpdatedBy}
}

// apiError is a JSON error with per-rule problems.
type apiError struct {
	Error     string       `json:"error"`
	Reason    string       `json:"reason"`
	Message   string       `json:"message"`
	Problems  []apiProblem `json:"problems,omitempty"`
	RequestID string       `json:"request_id"`
}

type apiProblem struct {
	Rule   string `json:"rule,omitempty"`
	Index  int    `json:"index"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// rulesRefused answers a change the rule set refused because it would not
// compile: 422 with every problem located by rule, index and field.
func (h *Handler) rulesRefused(c echo.Context, err error) error {
	ps := ruleset.ProblemsOf(err)
	if ps == nil {
		return err
	}
	out := apiError{Error: broker.EINVALID, Reason: broker.ErrorReason(err), Message: "The rules do not compile; nothing was saved.", RequestID: web.RequestID(c)}
	for _, p := range ps {
		out.Problems = append(out.Problems, apiProblem{Rule: p.Rule, Index: p.Index, Field: p.Field, Reason: p.Reason})
	}
	h.Log().InfoContext(c.Request().Context(), "api rules refused", "request_id", web.RequestID(c), "reason", out.Reason, "problems", len(out.Problems))
	return web.WriteJSON(c, http.StatusUnprocessableEntity, out)
}

// actor is the administrator of this request as the audit log records it.
func actor(c echo.Context) broker.Actor { return adminauth.Of(c).Actor }

// readJSON decodes a JSON body strictly (web.ReadJSON).
func readJSON(c echo.Context, v any) error { return web.ReadJSON(c, v) }

func (h *Handler) apiRules(c echo.Context) error {
	st := h.cfg.Rules.State()
	out := struct {
		Revision int64             `json:"revision"`
		Rules    []apiRule         `json:"rules"`
		Accounts []mapping.Account `json:"accounts"`
		Error    string            `json:"compile_error,omitempty"`
	}{Revision: st.Revision, Rules: []apiRule{}, Accounts: st.Accounts}
	if out.Accounts == nil {
		out.Accounts = []mapping.Account{}
	}
	for _, r := range st.Rules {
		out.Rules = append(out.Rules, toAPIRule(r))
	}
	if st.CompileErr != nil {
		out.Error = st.CompileErr.Error()
	}
	return web.WriteJSON(c, http.StatusOK, out)
}

func (h *Handler) apiRule(c echo.Context) error {
	r, err := h.cfg.Admin.Rule(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return web.WriteJSON(c, http.StatusOK, toAPIRule(r))
}

// apiReplaceRules replaces the whole rule set (what `broker rules apply`
// does against the store): body {"revision": n, "rules": [...]}; revision
// is optional and, when given, must be current. No rules at all ({} or
// "rules": []) is refused (400 rules_empty) unless "allow_empty": true.
func (h *Handler) apiReplaceRules(c echo.Context) error {
	var in struct {
		Revision   *int64         `json:"revision"`
		Rules      []mapping.Rule `json:"rules"`
		AllowEmpty bool           `json:"allow_empty"`
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	expected := int64(-1)
	if in.Revision != nil {
		expected = *in.Revision
	}
	if _, err := h.cfg.Admin.ReplaceAll(c.Request().Context(), actor(c), in.Rules, nil, expected, in.AllowEmpty); err != nil {
		return h.rulesRefused(c, err)
	}
	return h.apiRules(c)
}

type apiRuleIn struct {
	Rule    mapping.Rule `json:"rule"`
	Version int64        `json:"version"`
}

func (h *Handler) apiCreateRule(c echo.Context) error {
	var in mapping.Rule
	if err := readJSON(c, &in); err != nil {
		return err
	}
	saved, err := h.cfg.Admin.Create(c.Request().Context(), actor(c), in)
	if err != nil {
		return h.rulesRefused(c, err)
	}
	return web.WriteJSON(c, http.StatusCreated, toAPIRule(saved))
}

// apiUpdateRule: body {"rule": {...}, "version": n} where n is the version
// the change was made from. A rule sent unchanged keeps its version.
func (h *Handler) apiUpdateRule(c echo.Context) error {
	var in apiRuleIn
	if err := readJSON(c, &in); err != nil {
		return err
	}
	name := c.Param("name")
	if in.Rule.Name == "" {
		in.Rule.Name = name
	}
	if in.Rule.Name != name {
		return broker.Errorf(broker.EINVALID, "rule_rename", "The rule's name must match the URL; to rename, create the new rule and delete the old one.")
	}
	saved, _, err := h.cfg.Admin.Update(c.Request().Context(), actor(c), in.Rule, in.Version)
	if err != nil {
		return h.rulesRefused(c, err)
	}
	return web.WriteJSON(c, http.StatusOK, toAPIRule(saved))
}

func (h *Handler) apiDeleteRule(c echo.Context) error {
	name := c.Param("name")
	v, err := strconv.ParseInt(c.QueryParam("version"), 10, 64)
	if err != nil || v <= 0 {
		return broker.Errorf(broker.EINVALID, "version_required", "Send ?version=N, the version you mean to delete.")
	}
	if err := h.cfg.Admin.Delete(c.Request().Context(), actor(c), name, v); err != nil {
		return h.rulesRefused(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *Handler) apiRuleHistory(c echo.Context) error {
	hist, err := h.cfg.Admin.History(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	type change struct {
		ID      int64           `json:"id"`
		Version int64           `json:"version"`
		Action  string          `json:"action"`
		Actor   string          `json:"actor"`
		Time    time.Time       `json:"time"`
		Rule    json.RawMessage `json:"rule,omitempty"`
	}
	out := []change{}
	for _, ch := range hist {
		out = append(out, change{ID: ch.ID, Version: ch.Version, Action: ch.Action, Actor: ch.Actor, Time: ch.Time, Rule: ch.Rule})
	}
	return web.WriteJSON(c, http.StatusOK, out)
}

// apiSimulate evaluates the live rules, or candidate rules, for an
// identity from a recent sign-in, a pasted SAML response or claims, or
// explicit attributes.
func (h *Handler) apiSimulate(c echo.Context) error {
	var in struct {
		Provider     string              `json:"provider"`
		Subject      string              `json:"subject"` // with provider: a recent sign-in
		SAMLResponse string              `json:"saml_response"`
		Claims       json.RawMessage     `json:"claims"`
		Attributes   map[string][]string `json:"attributes"`
		Rules        []mapping.Rule      `json:"rules"` // candidate rules; default the live ones
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	var id *broker.Identity
	var err error
	unverified := true
	switch {
	case in.SAMLResponse != "":
		id, err = saml.ParseUnverified(in.Provider, in.SAMLResponse)
	case len(in.Claims) > 0:
		id, err = oidc.ParseUnverifiedClaims(in.Provider, string(in.Claims))
	case in.Attributes != nil:
		id = &broker.Identity{Provider: in.Provider, Subject: in.Subject, Attributes: in.Attributes}
	case in.Subject != "":
		unverified = false
		id, err = h.cfg.Admin.RecentIdentity(c.Request().Context(), in.Provider, in.Subject)
	default:
		err = broker.Errorf(broker.EINVALID, "simulate_input", "Send provider and subject (a recent sign-in), saml_response, claims or attributes.")
	}
	if err != nil {
		return err
	}
	sim, err := h.cfg.Admin.Simulate(c.Request().Context(), in.Rules, id)
	if err != nil {
		return h.rulesRefused(c, err)
	}
	res := simulationOf(sim)
	res.Unverified = unverified
	return web.WriteJSON(c, http.StatusOK, res)
}

// simulation is a simulation as the API shows it.
type simulation struct {
	Provider   string              `json:"provider"`
	Subject    string              `json:"subject"`
	Attributes map[string][]string `json:"attributes"`
	Roles      []simRole           `json:"roles"`
	Trace      []simTrace          `json:"trace"`
	Unverified bool                `json:"unverified,omitempty"`
}

// simTrace is one rule's outcome as the API shows it (mapping.RuleTrace
// in snake_case, like every other /api/v1 answer; Reason is the engine's
// form, for tools).
type simTrace struct {
	Rule    string   `json:"rule"`
	Effect  string   `json:"effect"`
	Outcome string   `json:"outcome"`
	Reason  string   `json:"reason"`
	Grants  []string `json:"grants,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

type simRole struct {
	RoleARN         string `json:"role_arn"`
	Account         string `json:"account"`
	Label           string `json:"label,omitempty"`
	Mode            string `json:"mode"`
	Duration        string `json:"duration,omitempty"`
	ConsoleDuration string `json:"console_duration,omitempty"`
	Rule            string `json:"rule,omitempty"`
}

func simulationOf(sim ruleset.Simulation) simulation {
	id := sim.Identity
	res := simulation{Provider: id.Provider, Subject: id.Subject, Attributes: id.Attributes, Trace: []simTrace{}, Roles: []simRole{}}
	if res.Attributes == nil {
		res.Attributes = map[string][]string{}
	}
	for _, t := range sim.Trace {
		res.Trace = append(res.Trace, simTrace{Rule: t.Rule, Effect: t.Effect, Outcome: string(t.Outcome), Reason: t.Reason, Grants: t.Grants, Notes: t.Notes})
	}
	for _, g := range sim.Grants {
		r := simRole{RoleARN: g.RoleARN, Account: g.AccountID, Label: g.Label, Mode: string(g.Mode), Rule: g.Rule}
		if g.CredentialDuration > 0 {
			r.Duration = web.ShortDuration(g.CredentialDuration)
		}
		if g.ConsoleDuration > 0 {
			r.ConsoleDuration = web.ShortDuration(g.ConsoleDuration)
		}
		res.Roles = append(res.Roles, r)
	}
	return res
}

func (h *Handler) apiAudit(c echo.Context) error {
	sf, err := admins.ParseAuditQuery(c.QueryParams()).Filter()
	if err != nil {
		return err
	}
	evs, err := h.cfg.Audit.Audit(c.Request().Context(), sf)
	if err != nil {
		return err
	}
	out := struct {
		Events []auditEventJSON `json:"events"`
		Next   int64            `json:"next_before,omitempty"`
	}{Events: make([]auditEventJSON, 0, len(evs))}
	for _, e := range evs {
		out.Events = append(out.Events, auditEventJSON{ID: e.ID, Time: e.Time, RequestID: e.RequestID, Event: e.Event,
			Result: e.Result, Reason: e.Reason, Message: e.Message, Provider: e.Provider, Subject: e.Subject,
			RoleARN: e.RoleARN, SessionName: e.SessionName, RemoteAddr: e.RemoteAddr, UserAgent: e.UserAgent, Details: e.Details})
	}
	if len(evs) == sf.Limit {
		out.Next = evs[len(evs)-1].ID
	}
	return web.WriteJSON(c, http.StatusOK, out)
}

// auditEventJSON is an audit event as the API writes it: snake_case names,
// like every other /api/v1 answer.
type auditEventJSON struct {
	ID          int64             `json:"id"`
	Time        time.Time         `json:"time"`
	RequestID   string            `json:"request_id,omitempty"`
	Event       string            `json:"event"`
	Result      string            `json:"result"`
	Reason      string            `json:"reason,omitempty"`
	Message     string            `json:"message,omitempty"`
	Provider    string            `json:"provider,omitempty"`
	Subject     string            `json:"subject,omitempty"`
	RoleARN     string            `json:"role_arn,omitempty"`
	SessionName string            `json:"session_name,omitempty"`
	RemoteAddr  string            `json:"remote_addr,omitempty"`
	UserAgent   string            `json:"user_agent,omitempty"`
	Details     map[string]string `json:"details,omitempty"`
}

func (h *Handler) apiAccounts(c echo.Context) error {
	a, err := h.cfg.Admin.Accounts(c.Request().Context())
	if err != nil {
		return err
	}
	if a == nil {
		a = []mapping.Account{}
	}
	return web.WriteJSON(c, http.StatusOK, a)
}
