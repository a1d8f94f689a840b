package api

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/admin"
	"github.com/broker-dev/broker/web/adminauth"
)

// Store is what the API needs from the store.
type Store interface {
	store.RuleStore
}

// Config configures the API.
type Config struct {
	Guard  *adminauth.Guard
	Rules  *ruleset.Source
	Store  Store
	Admins *admins.Service
	Admin  *admin.Handler
	Log    *slog.Logger
}

// Handler serves the JSON API under /api/v1.
type Handler struct {
	cfg Config
	log *slog.Logger
}

// New builds the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Guard == nil || cfg.Rules == nil || cfg.Store == nil || cfg.Admin == nil || cfg.Admins == nil {
		return nil, errors.New("api: Guard, Rules, Store, Admins and Admin are required")
	}
	h := &Handler{cfg: cfg, log: cfg.Log}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// Log is the handler's logger.
func (h *Handler) Log() *slog.Logger { return h.log }

// Mount adds the API routes, each behind the guard.
func (h *Handler) Mount(e *echo.Echo) {
	api := e.Group("/api/v1", h.cfg.Guard.Require)
	api.GET("/rules", h.apiRules)
	api.PUT("/rules", h.apiReplaceRules)
	api.POST("/rules", h.apiCreateRule)
	api.GET("/rules/:name", h.apiRule)
	api.PUT("/rules/:name", h.apiUpdateRule)
	api.DELETE("/rules/:name", h.apiDeleteRule)
	api.GET("/rules/:name/history", h.apiRuleHistory)
	api.POST("/simulate", h.apiSimulate)
	api.GET("/audit", h.apiAudit)
	api.GET("/accounts", h.apiAccounts)
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
	Error     string         `json:"error"`
	Reason    string         `json:"reason"`
	Message   string         `json:"message"`
	Problems  []apiProblem   `json:"problems,omitempty"`
	RequestID string         `json:"request_id"`
	Current   map[string]any `json:"current,omitempty"`
}

type apiProblem struct {
	Rule   string `json:"rule,omitempty"`
	Index  int    `json:"index"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (h *Handler) apiCompileError(c echo.Context, err error) error {
	var ces mapping.CompileErrors
	if !errors.As(err, &ces) {
		return err
	}
	out := apiError{Error: broker.EINVALID, Reason: "rules_invalid", Message: "The rules do not compile; nothing was saved.", RequestID: web.RequestID(c)}
	for _, ce := range ces {
		out.Problems = append(out.Problems, apiProblem{Rule: ce.Rule, Index: ce.Index, Field: ce.Field, Reason: ce.Reason})
	}
	h.Log().InfoContext(c.Request().Context(), "api rules refused", "request_id", web.RequestID(c), "problems", len(out.Problems))
	return web.WriteJSON(c, http.StatusUnprocessableEntity, out)
}

// readJSON decodes a JSON body strictly (unknown fields are errors).
func readJSON(c echo.Context, v any) error {
	r := c.Request()
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if broker.ErrorCode(err) == broker.ETOOLARGE {
			return web.ErrBodyTooLarge
		}
		return broker.Wrap(err, broker.EINVALID, "json_invalid", "The request body is not valid JSON for this endpoint: "+err.Error())
	}
	if dec.More() {
		return broker.Errorf(broker.EINVALID, "json_invalid", "The request body has data after the JSON value.")
	}
	_, _ = io.Copy(io.Discard, r.Body)
	return nil
}

func (h *Handler) apiRules(c echo.Context) error {
	st := h.cfg.Rules.State()
	out := struct {
		Revision int64             `json:"revision"`
		Rules    []apiRule         `json:"rules"`
		Accounts []mapping.Account `json:"accounts"`
		Error    string            `json:"compile_error,omitempty"`
	}{Revision: st.Revision, Rules: []apiRule{}, Accounts: st.Accounts}
	for _, r := range st.Rules {
		out.Rules = append(out.Rules, toAPIRule(r))
	}
	if st.CompileErr != nil {
		out.Error = st.CompileErr.Error()
	}
	return web.WriteJSON(c, http.StatusOK, out)
}

func (h *Handler) apiRule(c echo.Context) error {
	r, ok := h.cfg.Admin.FindRule(c.Param("name"))
	if !ok {
		return admin.ErrRuleNotFound(c.Param("name"))
	}
	return web.WriteJSON(c, http.StatusOK, toAPIRule(r))
}

// apiReplaceRules replaces the whole rule set (what `broker rules apply`
// does against the store): body {"revision": n, "rules": [...]}; revision
// is optional and, when given, must be current.
func (h *Handler) apiReplaceRules(c echo.Context) error {
	var in struct {
		Revision *int64         `json:"revision"`
		Rules    []mapping.Rule `json:"rules"`
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	st := h.cfg.Rules.State()
	if _, err := mapping.Compile(in.Rules, h.cfg.Rules.Options(st.Accounts)); err != nil {
		return h.apiCompileError(c, err)
	}
	named := make([]store.NamedRule, len(in.Rules))
	for i, r := range in.Rules {
		named[i] = store.NamedRule{Name: r.Name, Rule: ruleset.Encode(r)}
	}
	expected := int64(-1)
	if in.Revision != nil {
		expected = *in.Revision
	}
	if _, err := h.cfg.Store.ReplaceRules(c.Request().Context(), named, expected, adminauth.Of(c).ID); err != nil {
		return err
	}
	h.cfg.Admin.AfterRuleChange(c, "rules_replaced", "", strconv.Itoa(len(in.Rules))+" rules")
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
	if _, dup := h.cfg.Admin.FindRule(in.Name); dup {
		return broker.Errorf(broker.ECONFLICT, "rule_exists", "A rule named %q already exists.", in.Name)
	}
	return h.apiPut(c, "", in, 0, "create", http.StatusCreated)
}

// apiUpdateRule: body {"rule": {...}, "version": n} where n is the version
// the change was made from.
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
	if in.Version <= 0 {
		return broker.Errorf(broker.EINVALID, "version_required", "Send the version your change is based on (GET the rule first).")
	}
	return h.apiPut(c, name, in.Rule, in.Version, "update", http.StatusOK)
}

func (h *Handler) apiPut(c echo.Context, replace string, rule mapping.Rule, version int64, action string, status int) error {
	st := h.cfg.Rules.State()
	if _, err := mapping.Compile(admin.Candidate(st.Rules, replace, &rule), h.cfg.Rules.Options(st.Accounts)); err != nil {
		return h.apiCompileError(c, err)
	}
	saved, err := h.cfg.Store.PutRule(c.Request().Context(), rule.Name, ruleset.Encode(rule), version, adminauth.Of(c).ID, action)
	if err != nil {
		return err
	}
	h.cfg.Admin.AfterRuleChange(c, "rule_saved", rule.Name, action+" version "+strconv.FormatInt(saved.Version, 10))
	return web.WriteJSON(c, status, apiRule{Rule: rule, Version: saved.Version, UpdatedAt: saved.UpdatedAt, UpdatedBy: saved.UpdatedBy})
}

func (h *Handler) apiDeleteRule(c echo.Context) error {
	name := c.Param("name")
	v, err := strconv.ParseInt(c.QueryParam("version"), 10, 64)
	if err != nil || v <= 0 {
		return broker.Errorf(broker.EINVALID, "version_required", "Send ?version=N, the version you mean to delete.")
	}
	if err := h.cfg.Store.DeleteRule(c.Request().Context(), name, v, adminauth.Of(c).ID); err != nil {
		return err
	}
	h.cfg.Admin.AfterRuleChange(c, "rule_deleted", name, "delete")
	return c.NoContent(http.StatusNoContent)
}

func (h *Handler) apiRuleHistory(c echo.Context) error {
	hist, err := h.cfg.Store.RuleHistory(c.Request().Context(), c.Param("name"))
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
	if len(out) == 0 {
		return admin.ErrRuleNotFound(c.Param("name"))
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
		id, err = admin.IdentityFromClaims(in.Provider, string(in.Claims))
	case in.Attributes != nil:
		id = &broker.Identity{Provider: in.Provider, Subject: in.Subject, Attributes: in.Attributes}
	case in.Subject != "":
		unverified = false
		id, err = h.cfg.Admin.SignInIdentity(c, in.Provider+"/"+in.Subject)
	default:
		err = broker.Errorf(broker.EINVALID, "simulate_input", "Send provider and subject (a recent sign-in), saml_response, claims or attributes.")
	}
	if err != nil {
		return err
	}
	eng := h.cfg.Rules.Engine()
	if in.Rules != nil {
		if eng, err = mapping.Compile(in.Rules, h.cfg.Rules.Options(h.cfg.Admin.LiveAccounts())); err != nil {
			return h.apiCompileError(c, err)
		}
	}
	res := admin.Simulate(eng, id)
	res.Unverified = unverified
	if res.Roles == nil {
		res.Roles = []admin.SimGrant{}
	}
	return web.WriteJSON(c, http.StatusOK, res)
}

func (h *Handler) apiAudit(c echo.Context) error {
	_, sf, err := admin.AuditFilter(c)
	if err != nil {
		return err
	}
	evs, err := h.cfg.Admins.Audit(c.Request().Context(), sf)
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []store.AuditEvent{}
	}
	out := struct {
		Events []store.AuditEvent `json:"events"`
		Next   int64              `json:"next_before,omitempty"`
	}{Events: evs}
	if len(evs) == sf.Limit {
		out.Next = evs[len(evs)-1].ID
	}
	return web.WriteJSON(c, http.StatusOK, out)
}

func (h *Handler) apiAccounts(c echo.Context) error {
	a := h.cfg.Admin.LiveAccounts()
	if a == nil {
		a = []mapping.Account{}
	}
	return web.WriteJSON(c, http.StatusOK, a)
}
