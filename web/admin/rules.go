package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/web"
	"github.com/broker-dev/broker/web/adminauth"
)

type ruleRow struct {
	Pos                       int
	Name, Description, Effect string
	Enabled                   bool
	When, Grant               string
	Version                   int64
	UpdatedBy, UpdatedAgo     string
	UpdatedAt                 time.Time
	First, Last               bool
}

type rulesPage struct {
	Deleted    []ruleset.Change
	Q          string
	Rows       []ruleRow
	Total      int
	Matches    int // rules that match Q (all of them without one)
	After      int // the page starts after this position (keyset); 0: the first page
	Next       int // position to continue after; 0: this is the last page
	Revision   int64
	CompileErr string
	Flash      string
}

// whenSummary is a one-line rendering of a rule's conditions.
func whenSummary(r mapping.Rule) string {
	if r.Always {
		return "everyone"
	}
	var parts []string
	for _, c := range r.When.All {
		parts = append(parts, condSummary(c))
	}
	if len(r.When.Any) > 0 {
		var any []string
		for _, c := range r.When.Any {
			any = append(any, condSummary(c))
		}
		parts = append(parts, "any of ("+strings.Join(any, "; ")+")")
	}
	s := strings.Join(parts, " and ")
	if len(r.Providers) > 0 {
		s += " [from " + strings.Join(r.Providers, ", ") + "]"
	}
	return s
}

func condSummary(c mapping.Condition) string {
	if len(c.All) > 0 || len(c.Any) > 0 {
		return whenSummary(mapping.Rule{When: mapping.Group{All: c.All, Any: c.Any}})
	}
	op, v := condOp(c)
	switch op {
	case "equals":
		op = "="
	case "not_equals":
		op = "≠"
	}
	s := c.Attribute + " " + op
	if v != "" {
		s += ` "` + v + `"` // as typed: no Go escaping of regex backslashes
	}
	if c.IgnoreCase {
		s += " (any case)"
	}
	return s
}

func grantSummary(r mapping.Rule) string {
	g := r.Grant
	if r.Effect == "deny" {
		if g.Account == "" && g.Role == "" {
			return "deny every role"
		}
		return "deny " + orStar(g.Account) + " / " + orStar(g.Role)
	}
	s := orStar(g.Account) + " / " + orStar(g.Role)
	if g.Mode != "" {
		s += " (" + g.Mode + ")"
	}
	return s
}

func orStar(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

// ruleRowOf is the rules page's row of the rule at position pos (from 1)
// of n.
func ruleRowOf(r ruleset.Rule, pos, n int, now time.Time) ruleRow {
	row := ruleRow{Pos: pos, Name: r.Name, Description: r.Description, Effect: r.Effect, Enabled: !r.Disabled,
		When: whenSummary(r.Rule), Grant: grantSummary(r.Rule), Version: r.Version, UpdatedBy: r.UpdatedBy,
		UpdatedAt: r.UpdatedAt, UpdatedAgo: ago(r.UpdatedAt, now), First: pos == 1, Last: pos == n}
	if row.Effect == "" {
		row.Effect = "allow"
	}
	return row
}

// rulesPageSize is how many rules the rules page lists at once.
const rulesPageSize = 100

// adminRules lists the rules in order, a page at a time: keyset pages by
// position (?after=N: the rules after position N that match the search),
// so a page is the same whatever was filtered before it.
func (h *Handler) adminRules(c echo.Context) error {
	st := h.cfg.Rules.State()
	q := web.BoundedParam(c.QueryParam("q"), 200)
	lq := strings.ToLower(q)
	after, _ := strconv.Atoi(c.QueryParam("after"))
	p := rulesPage{Q: q, Total: len(st.Rules), Revision: st.Revision, Flash: h.adminFlash(c), After: max(after, 0)}
	del, err := h.cfg.Admin.Deleted(c.Request().Context())
	if err != nil {
		return err
	}
	p.Deleted = del
	if st.CompileErr != nil {
		p.CompileErr = st.CompileErr.Error()
	}
	now := h.Now()
	for i, r := range st.Rules {
		pos := i + 1
		var row ruleRow
		if lq != "" {
			// A search reads every rule's summary.
			row = ruleRowOf(r, pos, len(st.Rules), now)
			if !strings.Contains(strings.ToLower(strings.Join([]string{row.Name, row.Description, row.When, row.Grant, r.Grant.Label}, "\n")), lq) {
				continue
			}
		}
		p.Matches++
		switch {
		case pos <= p.After:
		case len(p.Rows) == rulesPageSize:
			if p.Next == 0 {
				p.Next = p.Rows[len(p.Rows)-1].Pos
			}
		case lq != "":
			p.Rows = append(p.Rows, row)
		default:
			p.Rows = append(p.Rows, ruleRowOf(r, pos, len(st.Rules), now))
		}
	}
	return h.renderAdmin(c, http.StatusOK, "admin_rules.html", h.adminPage(c, "Role mapping rules", "rules", p))
}

type signInOpt struct {
	Key, Label string
}

type editPage struct {
	New      bool
	Form     ruleForm
	Errors   fieldErrors
	Problem  string // a message for the whole form (conflict, store error)
	Impact   *impactReport
	Sim      *simResult
	SignIns  []signInOpt
	SignIn   string
	Accounts []mapping.Account
	Saved    bool
	Ops      []struct{ Value, Label string }
}

func (p editPage) Err(field string) []string { return p.Errors[field] }

func (h *Handler) signInOptions(c echo.Context) []signInOpt {
	ins, err := h.cfg.Admin.RecentSignIns(c.Request().Context(), 200)
	if err != nil {
		h.Log().WarnContext(c.Request().Context(), "list recent sign-ins", "err", err)
		return nil
	}
	now := h.Now()
	var out []signInOpt
	for _, in := range ins {
		label := in.Provider + "/" + in.Subject
		if n := web.DisplayName(in.Identity); n != in.Subject {
			label = n + " (" + label + ")"
		}
		out = append(out, signInOpt{Key: in.Provider + "/" + in.Subject, Label: label + " · " + ago(in.Time, now)})
	}
	return out
}

// signInIdentity finds a recent sign-in by its option key.
func (h *Handler) signInIdentity(c echo.Context, key string) (*broker.Identity, error) {
	provider, subject, ok := strings.Cut(key, "/") // provider ids have no "/"
	if !ok {
		return nil, broker.Errorf(broker.EINVALID, "signin_unknown", "Pick a recent sign-in.")
	}
	return h.cfg.Admin.RecentIdentity(c.Request().Context(), provider, subject)
}

// findRule finds a rule in the rules this instance has in force (for
// showing it; every change re-reads the store).
func (h *Handler) findRule(name string) (ruleset.Rule, bool) {
	for _, r := range h.cfg.Rules.State().Rules {
		if r.Name == name {
			return r, true
		}
	}
	return ruleset.Rule{}, false
}

func errRuleNotFound(name string) error {
	return broker.Errorf(broker.ENOTFOUND, "rule_not_found", "There is no rule named %q (it may have just been deleted).", name)
}

// liveAccounts are the account aliases in force on this instance.
func (h *Handler) liveAccounts() []mapping.Account { return h.cfg.Rules.State().Accounts }

// actor is the administrator of this request as the audit log records it.
func actor(c echo.Context) broker.Actor { return adminauth.Of(c).Actor }

func (h *Handler) adminRuleNew(c echo.Context) error {
	p := editPage{New: true, Form: ruleForm{WhenMode: "rows", Match: "all", Rows: []condRow{{Attribute: "groups", Op: "equals"}}}, SignIns: h.signInOptions(c), Accounts: h.liveAccounts(), Ops: condOps}
	return h.renderAdmin(c, http.StatusOK, "admin_rule_edit.html", h.adminPage(c, "New rule", "rules", p))
}

func (h *Handler) adminRuleEdit(c echo.Context) error {
	name := c.Param("name")
	r, ok := h.findRule(name)
	if !ok {
		return errRuleNotFound(name)
	}
	p := editPage{Form: formFromRule(r.Rule, r.Version), SignIns: h.signInOptions(c), Accounts: h.liveAccounts(), Ops: condOps}
	return h.renderAdmin(c, http.StatusOK, "admin_rule_edit.html", h.adminPage(c, "Edit rule "+name, "rules", p))
}

// edit is one submission of the rule editor.
type edit struct {
	c        echo.Context
	existing string // the rule edited; "" when creating
	title    string
	form     ruleForm
	rule     mapping.Rule
	errs     fieldErrors
	page     editPage
}

// render shows the editor again with what was submitted.
func (h *Handler) renderEdit(e *edit, status int) error {
	e.page.Form, e.page.Errors = e.form, e.errs
	return h.renderAdmin(e.c, status, "admin_rule_edit.html", h.adminPage(e.c, e.title, "rules", e.page))
}

// adminRuleSubmit handles the editor's buttons. Three change nothing and
// check nothing yet (add a condition row, switch between rows and YAML);
// the other three check the whole candidate rule set first: simulate,
// preview impact, save. Nothing is stored until save, and save re-checks
// the whole rule set and the version the admin started from.
func (h *Handler) adminRuleSubmit(c echo.Context) error {
	if err := web.ParseForm(c.Request()); err != nil {
		return err
	}
	e := h.newEdit(c)
	switch op := c.Request().PostFormValue("op"); op {
	case "add-row", "to-yaml", "to-rows":
		return h.reshape(e, op)
	case "simulate", "preview", "save":
		cand, ok, err := h.checkEdit(e)
		if err != nil {
			return err
		}
		if !ok {
			e.page.Problem = "The rule has problems; nothing was saved. See the fields marked below."
			return h.renderEdit(e, http.StatusUnprocessableEntity)
		}
		if op == "save" {
			return h.saveEdit(e)
		}
		// Simulation and impact sit side by side: the one asked for is
		// computed, and the other, if it was on the page, is computed
		// again for the same candidate rules rather than dropped.
		r := c.Request()
		return h.resultsEdit(e, cand, op == "simulate" || r.PostFormValue("keep_sim") == "1",
			op == "preview" || r.PostFormValue("keep_impact") == "1")
	}
	return broker.Errorf(broker.EINVALID, "op_unknown", "Unknown action.")
}

// newEdit reads the submitted form into a rule, noting what is wrong with
// its fields.
func (h *Handler) newEdit(c echo.Context) *edit {
	e := &edit{c: c, existing: c.Param("name"), form: formFromRequest(c.Request()), title: "New rule"}
	if e.existing != "" {
		e.form.Name = e.existing // renaming is delete + create
		e.title = "Edit rule " + e.existing
	}
	e.page = editPage{New: e.existing == "", SignIns: h.signInOptions(c), Accounts: h.liveAccounts(),
		SignIn: c.Request().PostFormValue("signin"), Ops: condOps}
	e.rule, e.errs = e.form.toRule()
	return e
}

// reshape adds a condition row or switches the conditions editor between
// rows and YAML.
func (h *Handler) reshape(e *edit, op string) error {
	f := &e.form
	switch op {
	case "add-row":
		f.Rows = append(withBlankRow(f.Rows), condRow{Op: "equals"})
	case "to-yaml":
		f.WhenMode, f.When = "yaml", whenYAML(e.rule.When)
	case "to-rows":
		if len(e.errs["when"]) > 0 {
			return h.renderEdit(e, http.StatusUnprocessableEntity)
		}
		rows, match, ok := rowsOf(e.rule.When)
		if !ok {
			e.errs.add("when", "These conditions nest groups (or mix all and any), which only YAML can show.")
			return h.renderEdit(e, http.StatusUnprocessableEntity)
		}
		f.WhenMode, f.Match, f.Rows, f.When = "rows", match, withBlankRow(rows), ""
	}
	e.errs = nil
	return h.renderEdit(e, http.StatusOK)
}

// checkEdit checks the rule's name and the whole rule set with the rule in
// place (ruleset.Admin), and puts every problem on its field or condition
// row. It returns the candidate rule set and whether it is fine.
func (h *Handler) checkEdit(e *edit) ([]mapping.Rule, bool, error) {
	f := &e.form
	if f.WhenMode == "rows" {
		f.Rows = withBlankRow(f.Rows)
		// withBlankRow drops blank rows: recompute the row of each condition.
		_, f.rowIdx = groupOf(f.Rows, f.Match)
	}
	if e.existing == "" {
		if !ruleNameRe.MatchString(f.Name) {
			e.errs.add("name", "A name is 1 to 64 letters, digits, '_', '.' or '-'.")
		} else if _, dup := h.findRule(f.Name); dup {
			e.errs.add("name", fmt.Sprintf("A rule named %q already exists.", f.Name))
		}
	}
	if len(e.errs) > 0 {
		return nil, false, nil
	}
	ctx := e.c.Request().Context()
	cand, err := h.cfg.Admin.Candidate(ctx, e.existing, &e.rule)
	if err != nil {
		return nil, false, err
	}
	ps, err := h.cfg.Admin.Check(ctx, cand, nil)
	if err != nil {
		return nil, false, err
	}
	problemFields(ps, e.rule.Name, e.errs, f.rowIdx)
	return cand, len(e.errs) == 0, nil
}

// resultsEdit shows what the candidate rules give a recent sign-in
// (sim), who of the recent sign-ins would gain or lose a role (impact),
// or both.
func (h *Handler) resultsEdit(e *edit, cand []mapping.Rule, sim, impact bool) error {
	ctx := e.c.Request().Context()
	if impact {
		imp, err := h.cfg.Admin.ImpactPreview(ctx, nil, cand, 0)
		if err != nil {
			return err
		}
		rep := impactReportOf(imp)
		e.page.Impact = &rep
	}
	if !sim {
		return h.renderEdit(e, http.StatusOK)
	}
	id, err := h.signInIdentity(e.c, e.page.SignIn)
	if err == nil {
		var s ruleset.Simulation
		if s, err = h.cfg.Admin.Simulate(ctx, cand, id); err == nil {
			res := simResultOf(s)
			e.page.Sim = &res
			return h.renderEdit(e, http.StatusOK)
		}
	}
	e.page.Problem = broker.ErrorMessage(err)
	return h.renderEdit(e, web.StatusOf(broker.ErrorCode(err)))
}

// saveEdit creates or updates the rule from the version the admin started
// from; a conflict or a rule set that changed meanwhile shows the editor
// again with the reason.
func (h *Handler) saveEdit(e *edit) error {
	ctx, name := e.c.Request().Context(), e.rule.Name
	var saved ruleset.Rule
	var err error
	changed := true
	if e.existing == "" {
		saved, err = h.cfg.Admin.Create(ctx, actor(e.c), e.rule)
	} else {
		saved, changed, err = h.cfg.Admin.Update(ctx, actor(e.c), e.rule, e.form.Version)
	}
	switch {
	case err == nil && !changed:
		return h.flashRedirect(e.c, fmt.Sprintf("Rule %s is unchanged; nothing to save.", name), "/admin/rules")
	case err == nil:
		return h.flashRedirect(e.c, fmt.Sprintf("Saved rule %s (version %d).", name, saved.Version), "/admin/rules")
	case ruleset.ProblemsOf(err) != nil:
		// The rules changed since the check and no longer fit.
		problemFields(ruleset.ProblemsOf(err), name, e.errs, e.form.rowIdx)
		e.page.Problem = "The rule has problems; nothing was saved. See the fields marked below."
		return h.renderEdit(e, http.StatusUnprocessableEntity)
	case broker.ErrorCode(err) == broker.ECONFLICT || broker.ErrorCode(err) == broker.ENOTFOUND:
		e.page.Problem = broker.ErrorMessage(err)
		return h.renderEdit(e, web.StatusOf(broker.ErrorCode(err)))
	}
	return err
}

func formVersion(c echo.Context) int64 {
	v, _ := strconv.ParseInt(c.Request().PostFormValue("version"), 10, 64)
	return v
}

type confirmPage struct {
	Action, Verb, Name, Question string
	Version                      int64
	Impact                       impactReport
	Danger                       bool
}

// confirmChange shows who gains or loses which role if a rule is disabled,
// enabled or deleted, and asks to confirm; nothing changes until then.
func (h *Handler) confirmChange(c echo.Context, p confirmPage, replace string, rule *mapping.Rule) error {
	ctx := c.Request().Context()
	after, err := h.cfg.Admin.Candidate(ctx, replace, rule)
	if err != nil {
		return err
	}
	imp, err := h.cfg.Admin.ImpactPreview(ctx, nil, after, 0)
	if err != nil {
		if ps := ruleset.ProblemsOf(err); ps != nil {
			return broker.Wrap(err, broker.EINVALID, "change_invalid", "The rules would not compile after this change: "+ps.Error())
		}
		return err
	}
	p.Impact = impactReportOf(imp)
	return h.renderAdmin(c, http.StatusOK, "admin_confirm.html", h.adminPage(c, p.Verb+" rule "+p.Name, "rules", p))
}

func confirmed(c echo.Context) bool { return c.Request().PostFormValue("confirm") == "1" }

func (h *Handler) adminRuleToggle(c echo.Context) error {
	name := c.Param("name")
	r, ok := h.findRule(name)
	if !ok {
		return errRuleNotFound(name)
	}
	rule := r.Rule
	rule.Disabled = !rule.Disabled
	action, verb := "enable", "Enable"
	if rule.Disabled {
		action, verb = "disable", "Disable"
	}
	if !confirmed(c) {
		return h.confirmChange(c, confirmPage{Action: "/admin/rules/" + name + "/toggle", Verb: verb, Name: name, Version: formVersion(c),
			Question: verb + " rule " + name + "?"}, name, &rule)
	}
	if _, _, err := h.cfg.Admin.SetEnabled(c.Request().Context(), actor(c), name, !rule.Disabled, formVersion(c)); err != nil {
		return err
	}
	return h.flashRedirect(c, fmt.Sprintf("Rule %s %sd.", name, action), "/admin/rules")
}

func (h *Handler) adminRuleDelete(c echo.Context) error {
	name := c.Param("name")
	if !confirmed(c) {
		if _, ok := h.findRule(name); !ok {
			return errRuleNotFound(name)
		}
		return h.confirmChange(c, confirmPage{Action: "/admin/rules/" + name + "/delete", Verb: "Delete", Name: name, Version: formVersion(c), Danger: true,
			Question: "Delete rule " + name + "? Its history is kept: any version can be restored."}, name, nil)
	}
	if err := h.cfg.Admin.Delete(c.Request().Context(), actor(c), name, formVersion(c)); err != nil {
		return err
	}
	return h.flashRedirect(c, fmt.Sprintf("Deleted rule %s. Its history keeps every version: open it to restore one.", name), "/admin/rules/"+name+"/history")
}

func (h *Handler) adminRuleMove(c echo.Context) error {
	name := c.Param("name")
	rev, _ := strconv.ParseInt(c.Request().PostFormValue("revision"), 10, 64)
	to, moved, err := h.cfg.Admin.Move(c.Request().Context(), actor(c), name, c.Request().PostFormValue("dir"), rev)
	if err != nil {
		return err
	}
	if !moved {
		return c.Redirect(http.StatusSeeOther, "/admin/rules")
	}
	return h.flashRedirect(c, fmt.Sprintf("Moved rule %s to position %d.", name, to+1), "/admin/rules#rule-"+name)
}

type historyEntry struct {
	ruleset.Change
	Ago    string
	YAML   string
	Diff   []diffLine
	Latest bool
}

type historyPage struct {
	Name    string
	Current int64 // current version, 0 if deleted
	Entries []historyEntry
	Flash   string
}

func ruleYAML(b []byte) string {
	if b == nil {
		return ""
	}
	r, err := ruleset.Decode(b)
	if err != nil {
		return string(b)
	}
	y, err := mapping.MarshalYAML(r)
	if err != nil {
		y, _ = yaml.Marshal(r)
	}
	return string(y)
}

func (h *Handler) adminRuleHistory(c echo.Context) error {
	name := c.Param("name")
	hist, err := h.cfg.Admin.History(c.Request().Context(), name)
	if err != nil {
		return err
	}
	p := historyPage{Name: name, Flash: h.adminFlash(c)}
	if r, ok := h.findRule(name); ok {
		p.Current = r.Version
	}
	now := h.Now()
	for i, ch := range hist {
		e := historyEntry{Change: ch, Ago: ago(ch.Time, now), YAML: ruleYAML(ch.Rule), Latest: i == 0}
		prev := ""
		if i+1 < len(hist) {
			prev = ruleYAML(hist[i+1].Rule)
		}
		e.Diff = lineDiff(prev, e.YAML)
		if !changed(e.Diff) {
			e.Diff = nil // a reorder, or a restore of the same content
		}
		p.Entries = append(p.Entries, e)
	}
	return h.renderAdmin(c, http.StatusOK, "admin_history.html", h.adminPage(c, "History of "+name, "rules", p))
}

func (h *Handler) adminRuleRevert(c echo.Context) error {
	name := c.Param("name")
	changeID, _ := strconv.ParseInt(c.Request().PostFormValue("change"), 10, 64)
	// version 0 restores a deleted rule
	saved, from, err := h.cfg.Admin.Revert(c.Request().Context(), actor(c), name, changeID, formVersion(c))
	if err != nil {
		return err
	}
	return h.flashRedirect(c, fmt.Sprintf("Rule %s is back to version %d (saved as version %d).", name, from, saved.Version), "/admin/rules/"+name+"/history")
}

// diffLine is one line of a unified line diff.
type diffLine struct {
	Op   string // " ", "+", "-"
	Text string
}

// lineDiff is a longest-common-subsequence line diff (rules are short).
func lineDiff(a, b string) []diffLine {
	al, bl := splitLines(a), splitLines(b)
	if len(al)*len(bl) > 250000 {
		var out []diffLine
		for _, l := range al {
			out = append(out, diffLine{"-", l})
		}
		for _, l := range bl {
			out = append(out, diffLine{"+", l})
		}
		return out
	}
	n, m := len(al), len(bl)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if al[i] == bl[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []diffLine
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case al[i] == bl[j]:
			out = append(out, diffLine{" ", al[i]})
			i, j = i+1, j+1
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, diffLine{"-", al[i]})
			i++
		default:
			out = append(out, diffLine{"+", bl[j]})
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, diffLine{"-", al[i]})
	}
	for ; j < m; j++ {
		out = append(out, diffLine{"+", bl[j]})
	}
	return out
}

func changed(d []diffLine) bool {
	for _, l := range d {
		if l.Op != " " {
			return true
		}
	}
	return false
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
