package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/store"
)

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

func (s *Server) apiCompileError(c echo.Context, err error) error {
	var ces mapping.CompileErrors
	if !errors.As(err, &ces) {
		return err
	}
	out := apiError{Error: broker.EINVALID, Reason: "rules_invalid", Message: "The rules do not compile; nothing was saved.", RequestID: requestIDOf(c)}
	for _, ce := range ces {
		out.Problems = append(out.Problems, apiProblem{Rule: ce.Rule, Index: ce.Index, Field: ce.Field, Reason: ce.Reason})
	}
	s.log.InfoContext(c.Request().Context(), "api rules refused", "request_id", requestIDOf(c), "problems", len(out.Problems))
	return writeJSON(c, http.StatusUnprocessableEntity, out)
}

// readJSON decodes a JSON body strictly (unknown fields are errors).
func readJSON(c echo.Context, v any) error {
	r := c.Request()
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if broker.ErrorCode(err) == broker.ETOOLARGE {
			return errBodyTooLarge
		}
		return broker.Wrap(err, broker.EINVALID, "json_invalid", "The request body is not valid JSON for this endpoint: "+err.Error())
	}
	if dec.More() {
		return broker.Errorf(broker.EINVALID, "json_invalid", "The request body has data after the JSON value.")
	}
	_, _ = io.Copy(io.Discard, r.Body)
	return nil
}

func (s *Server) apiRules(c echo.Context) error {
	st := s.cfg.Admin.Rules.State()
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
	return writeJSON(c, http.StatusOK, out)
}

func (s *Server) apiRule(c echo.Context) error {
	r, ok := s.findRule(c.Param("name"))
	if !ok {
		return errRuleNotFound(c.Param("name"))
	}
	return writeJSON(c, http.StatusOK, toAPIRule(r))
}

// apiReplaceRules replaces the whole rule set (what `broker rules apply`
// does against the store): body {"revision": n, "rules": [...]}; revision
// is optional and, when given, must be current.
func (s *Server) apiReplaceRules(c echo.Context) error {
	var in struct {
		Revision *int64         `json:"revision"`
		Rules    []mapping.Rule `json:"rules"`
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	st := s.cfg.Admin.Rules.State()
	if _, err := mapping.Compile(in.Rules, s.cfg.Admin.Rules.Options(st.Accounts)); err != nil {
		return s.apiCompileError(c, err)
	}
	named := make([]store.NamedRule, len(in.Rules))
	for i, r := range in.Rules {
		named[i] = store.NamedRule{Name: r.Name, Rule: ruleset.Encode(r)}
	}
	expected := int64(-1)
	if in.Revision != nil {
		expected = *in.Revision
	}
	if _, err := s.cfg.Admin.Store.ReplaceRules(c.Request().Context(), named, expected, adminOf(c).Actor); err != nil {
		return err
	}
	s.afterRuleChange(c, "rules_replaced", "", strconv.Itoa(len(in.Rules))+" rules")
	return s.apiRules(c)
}

type apiRuleIn struct {
	Rule    mapping.Rule `json:"rule"`
	Version int64        `json:"version"`
}

func (s *Server) apiCreateRule(c echo.Context) error {
	var in mapping.Rule
	if err := readJSON(c, &in); err != nil {
		return err
	}
	if _, dup := s.findRule(in.Name); dup {
		return broker.Errorf(broker.ECONFLICT, "rule_exists", "A rule named %q already exists.", in.Name)
	}
	return s.apiPut(c, "", in, 0, "create", http.StatusCreated)
}

// apiUpdateRule: body {"rule": {...}, "version": n} where n is the version
// the change was made from.
func (s *Server) apiUpdateRule(c echo.Context) error {
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
	return s.apiPut(c, name, in.Rule, in.Version, "update", http.StatusOK)
}

func (s *Server) apiPut(c echo.Context, replace string, rule mapping.Rule, version int64, action string, status int) error {
	st := s.cfg.Admin.Rules.State()
	if _, err := mapping.Compile(candidate(st.Rules, replace, &rule), s.cfg.Admin.Rules.Options(st.Accounts)); err != nil {
		return s.apiCompileError(c, err)
	}
	saved, err := s.cfg.Admin.Store.PutRule(c.Request().Context(), rule.Name, ruleset.Encode(rule), version, adminOf(c).Actor, action)
	if err != nil {
		return err
	}
	s.afterRuleChange(c, "rule_saved", rule.Name, action+" version "+strconv.FormatInt(saved.Version, 10))
	return writeJSON(c, status, apiRule{Rule: rule, Version: saved.Version, UpdatedAt: saved.UpdatedAt, UpdatedBy: saved.UpdatedBy})
}

func (s *Server) apiDeleteRule(c echo.Context) error {
	name := c.Param("name")
	v, err := strconv.ParseInt(c.QueryParam("version"), 10, 64)
	if err != nil || v <= 0 {
		return broker.Errorf(broker.EINVALID, "version_required", "Send ?version=N, the version you mean to delete.")
	}
	if err := s.cfg.Admin.Store.DeleteRule(c.Request().Context(), name, v, adminOf(c).Actor); err != nil {
		return err
	}
	s.afterRuleChange(c, "rule_deleted", name, "delete")
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) apiRuleHistory(c echo.Context) error {
	h, err := s.cfg.Admin.Store.RuleHistory(c.Request().Context(), c.Param("name"))
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
	for _, ch := range h {
		out = append(out, change{ID: ch.ID, Version: ch.Version, Action: ch.Action, Actor: ch.Actor, Time: ch.Time, Rule: ch.Rule})
	}
	if len(out) == 0 {
		return errRuleNotFound(c.Param("name"))
	}
	return writeJSON(c, http.StatusOK, out)
}

// apiSimulate evaluates the live rules, or candidate rules, for an
// identity from a recent sign-in, a pasted SAML response or claims, or
// explicit attributes.
func (s *Server) apiSimulate(c echo.Context) error {
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
		id, err = identityFromClaims(in.Provider, string(in.Claims))
	case in.Attributes != nil:
		id = &broker.Identity{Provider: in.Provider, Subject: in.Subject, Attributes: in.Attributes}
	case in.Subject != "":
		unverified = false
		id, err = s.signInIdentity(c, in.Provider+"/"+in.Subject)
	default:
		err = broker.Errorf(broker.EINVALID, "simulate_input", "Send provider and subject (a recent sign-in), saml_response, claims or attributes.")
	}
	if err != nil {
		return err
	}
	eng := s.cfg.Admin.Rules.Engine()
	if in.Rules != nil {
		if eng, err = mapping.Compile(in.Rules, s.cfg.Admin.Rules.Options(s.liveAccounts())); err != nil {
			return s.apiCompileError(c, err)
		}
	}
	res := simulate(eng, id)
	res.Unverified = unverified
	if res.Roles == nil {
		res.Roles = []simGrant{}
	}
	return writeJSON(c, http.StatusOK, res)
}

func (s *Server) apiAudit(c echo.Context) error {
	_, sf, err := auditFilter(c)
	if err != nil {
		return err
	}
	evs, err := s.cfg.Admin.Store.ListAudit(c.Request().Context(), sf)
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
	return writeJSON(c, http.StatusOK, out)
}

func (s *Server) apiAccounts(c echo.Context) error {
	a := s.liveAccounts()
	if a == nil {
		a = []mapping.Account{}
	}
	return writeJSON(c, http.StatusOK, a)
}
