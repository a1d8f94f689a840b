package admin_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/web/internal/webtest"
)

var versionRe = regexp.MustCompile(`name="version" value="(\d+)"`)

func ruleFormValues(csrf, name, when, role string) url.Values {
	return url.Values{"csrf_token": {csrf}, "name": {name}, "effect": {"allow"}, "when": {when},
		"grant.account": {"sandbox"}, "grant.role": {role}, "grant.duration": {"1h"}}
}

func TestAdminCreateSimulatePreviewSave(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	// Bob signs in once (recorded for the simulator) and has no ops role.
	ev.As(t, "bob", "ops")
	csrf := ev.As(t, "ann", webtest.AdminGroup)

	// A bad regex is refused inline, on the conditions field, and nothing is saved.
	form := ruleFormValues(csrf, "ops", "all:\n  - {attribute: groups, regex: '(ops'}\n", "Operator")
	form.Set("op", "save")
	rec := ev.Do(t, "POST", "/admin/rules/new", form)
	body := rec.Body.String()
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="when-err"`) || !strings.Contains(body, `aria-invalid="true"`) {
		t.Fatalf("bad regex: %d\n%s", rec.Code, body)
	}
	if !strings.Contains(body, "(ops") {
		t.Fatal("the admin's input was not kept")
	}
	// Unknown condition keys are refused too (a typo must not widen a rule).
	form.Set("when", "all:\n  - {attribute: groups, equal: ops}\n")
	if rec := ev.Do(t, "POST", "/admin/rules/new", form); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "equal") {
		t.Fatalf("typo in conditions: %d", rec.Code)
	}

	form.Set("when", "all:\n  - {attribute: groups, equals: ops}\n")
	form.Set("signin", "okta/bob")
	form.Set("op", "simulate")
	rec = ev.Do(t, "POST", "/admin/rules/new", form)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "arn:aws:iam::"+webtest.Acct+":role/Operator") {
		t.Fatalf("simulate: %d\n%s", rec.Code, rec.Body)
	}
	form.Set("op", "preview")
	rec = ev.Do(t, "POST", "/admin/rules/new", form)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `data-subject="bob"`) || !strings.Contains(rec.Body.String(), "role/Operator") {
		t.Fatalf("impact preview: %d\n%s", rec.Code, rec.Body)
	}
	if _, ok := findRuleIn(ev.Rules, "ops"); ok {
		t.Fatal("simulate or preview saved the rule")
	}
	form.Set("op", "save")
	rec = ev.Do(t, "POST", "/admin/rules/new", form)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", rec.Code, rec.Body)
	}
	if r, ok := findRuleIn(ev.Rules, "ops"); !ok || r.UpdatedBy != "okta/ann" || r.Version != 1 {
		t.Fatalf("saved rule %+v %v", r, ok)
	}
	if !strings.Contains(ev.Do(t, "GET", "/admin/rules", nil).Body.String(), "Saved rule ops") {
		t.Error("no confirmation after save")
	}
	// Bob now gets the role in the portal.
	ev.As(t, "bob", "ops")
	if !strings.Contains(ev.Do(t, "GET", "/", nil).Body.String(), "role/Operator") {
		t.Fatal("bob's portal does not show the new role")
	}
	evs, _ := ev.DB.ListAudit(context.Background(), store.AuditFilter{Event: "rule_saved"})
	if len(evs) != 1 || evs[0].Subject != "okta/ann" {
		t.Fatalf("rule change audit %+v", evs)
	}
}

func findRuleIn(src *ruleset.Source, name string) (ruleset.Rule, bool) {
	for _, r := range src.State().Rules {
		if r.Name == name {
			return r, true
		}
	}
	return ruleset.Rule{}, false
}

func TestAdminConcurrentEditIsRefused(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	page := ev.Do(t, "GET", "/admin/rules/devs", nil).Body.String()
	m := versionRe.FindStringSubmatch(page)
	if m == nil || m[1] != "1" {
		t.Fatalf("edit page has no version 1:\n%s", page)
	}
	first := ruleFormValues(csrf, "devs", "all:\n  - {attribute: groups, equals: dev}\n", "PowerUser")
	first.Set("version", "1")
	first.Set("op", "save")
	if rec := ev.Do(t, "POST", "/admin/rules/devs", first); rec.Code != http.StatusSeeOther {
		t.Fatalf("first save: %d %s", rec.Code, rec.Body)
	}
	second := ruleFormValues(csrf, "devs", "all:\n  - {attribute: groups, equals: dev}\n", "ReadOnly")
	second.Set("version", "1")
	second.Set("op", "save")
	rec := ev.Do(t, "POST", "/admin/rules/devs", second)
	body := html.UnescapeString(rec.Body.String())
	if rec.Code != http.StatusConflict || !strings.Contains(body, "changed by someone else") || !strings.Contains(body, `value="ReadOnly"`) {
		t.Fatalf("second save: %d\n%s", rec.Code, body)
	}
	if r, _ := findRuleIn(ev.Rules, "devs"); r.Grant.Role != "PowerUser" || r.Version != 2 {
		t.Fatalf("the first save was lost: %+v", r)
	}

	// History shows both versions with a diff, and revert brings v1 back as v3.
	hist := html.UnescapeString(ev.Do(t, "GET", "/admin/rules/devs/history", nil).Body.String())
	if !strings.Contains(hist, `class="ddel">-   role: Developer`) || !strings.Contains(hist, `class="dadd">+   role: PowerUser`) {
		t.Fatalf("history has no diff:\n%s", hist)
	}
	h, _ := ev.DB.RuleHistory(context.Background(), "devs")
	rec = ev.Do(t, "POST", "/admin/rules/devs/revert", url.Values{"csrf_token": {csrf}, "change": {fmtInt(h[1].ID)}, "version": {"2"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("revert: %d %s", rec.Code, rec.Body)
	}
	if r, _ := findRuleIn(ev.Rules, "devs"); r.Grant.Role != "Developer" || r.Version != 3 {
		t.Fatalf("after revert: %+v", r)
	}
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

func TestAdminReorderToggleDeleteAccounts(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	form := ruleFormValues(csrf, "second", "all:\n  - {attribute: groups, equals: x}\n", "X")
	form.Set("op", "save")
	if rec := ev.Do(t, "POST", "/admin/rules/new", form); rec.Code != http.StatusSeeOther {
		t.Fatalf("create: %d", rec.Code)
	}
	rev := ev.Rules.State().Revision
	// A stale revision is refused.
	if rec := ev.Do(t, "POST", "/admin/rules/second/move", url.Values{"csrf_token": {csrf}, "dir": {"up"}, "revision": {fmtInt(rev - 1)}}); rec.Code != http.StatusConflict {
		t.Fatalf("stale move: %d", rec.Code)
	}
	if rec := ev.Do(t, "POST", "/admin/rules/second/move", url.Values{"csrf_token": {csrf}, "dir": {"up"}, "revision": {fmtInt(rev)}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("move: %d %s", rec.Code, rec.Body)
	}
	if st := ev.Rules.State(); st.Rules[0].Name != "second" {
		t.Fatalf("order %v", st.Rules)
	}
	// Disabling first shows who would lose what, and changes nothing.
	ev.As(t, "bob", "dev")
	csrf = ev.As(t, "ann", webtest.AdminGroup)
	rec := ev.Do(t, "POST", "/admin/rules/devs/toggle", url.Values{"csrf_token": {csrf}, "version": {"1"}})
	if body := rec.Body.String(); rec.Code != http.StatusOK || !strings.Contains(body, `data-subject="bob"`) || !strings.Contains(body, "role/Developer") {
		t.Fatalf("toggle preview: %d\n%s", rec.Code, body)
	}
	if r, _ := findRuleIn(ev.Rules, "devs"); r.Disabled || r.Version != 1 {
		t.Fatal("the preview changed the rule")
	}
	if rec := ev.Do(t, "POST", "/admin/rules/devs/toggle", url.Values{"csrf_token": {csrf}, "version": {"1"}, "confirm": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("toggle: %d", rec.Code)
	}
	if r, _ := findRuleIn(ev.Rules, "devs"); !r.Disabled {
		t.Fatal("not disabled")
	}
	// The account alias is used by rules: removing it is refused.
	rec = ev.Do(t, "POST", "/admin/accounts/"+webtest.Acct+"/delete", url.Values{"csrf_token": {csrf}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(html.UnescapeString(rec.Body.String()), "sandbox") {
		t.Fatalf("delete used account: %d %s", rec.Code, rec.Body)
	}
	// Adding one works; a duplicate alias is refused with a message.
	if rec := ev.Do(t, "POST", "/admin/accounts", url.Values{"csrf_token": {csrf}, "id": {"444455556666"}, "alias": {"prod"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("add account: %d %s", rec.Code, rec.Body)
	}
	rec = ev.Do(t, "POST", "/admin/accounts", url.Values{"csrf_token": {csrf}, "id": {"777788889999"}, "alias": {"prod"}})
	if rec.Code != http.StatusConflict && rec.Code != http.StatusBadRequest {
		t.Fatalf("duplicate alias: %d", rec.Code)
	}
	if rec := ev.Do(t, "POST", "/admin/rules/devs/delete", url.Values{"csrf_token": {csrf}, "version": {"2"}}); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `id="confirm"`) {
		t.Fatalf("delete preview: %d", rec.Code)
	}
	if _, ok := findRuleIn(ev.Rules, "devs"); !ok {
		t.Fatal("the delete preview deleted the rule")
	}
	if rec := ev.Do(t, "POST", "/admin/rules/devs/delete", url.Values{"csrf_token": {csrf}, "version": {"2"}, "confirm": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if _, ok := findRuleIn(ev.Rules, "devs"); ok {
		t.Fatal("not deleted")
	}
	if !strings.Contains(ev.Do(t, "GET", "/admin/rules", nil).Body.String(), `<a href="/admin/rules/devs/history">devs</a>`) {
		t.Fatal("the deleted rule is not listed for restoring")
	}
	// Restore it from its history page.
	hist := ev.Do(t, "GET", "/admin/rules/devs/history", nil).Body.String()
	if !strings.Contains(hist, "Restore this version") {
		t.Fatalf("history of a deleted rule offers no restore:\n%s", hist)
	}
	h, _ := ev.DB.RuleHistory(context.Background(), "devs")
	if rec := ev.Do(t, "POST", "/admin/rules/devs/revert", url.Values{"csrf_token": {csrf}, "change": {fmtInt(h[2].ID)}, "version": {"0"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("restore: %d %s", rec.Code, rec.Body)
	}
	if r, ok := findRuleIn(ev.Rules, "devs"); !ok || r.Disabled || r.Grant.Role != "Developer" {
		t.Fatalf("restored %+v %v", r, ok)
	}
}

func TestAdminSimulatorAndAudit(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	ev.As(t, "bob", "dev")
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	rec := ev.Do(t, "POST", "/admin/simulate", url.Values{"csrf_token": {csrf}, "source": {"signin"}, "signin": {"okta/bob"}})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "role/Developer") || !strings.Contains(rec.Body.String(), `id="sim-trace"`) {
		t.Fatalf("simulate sign-in: %d\n%s", rec.Code, rec.Body)
	}
	rec = ev.Do(t, "POST", "/admin/simulate", url.Values{"csrf_token": {csrf}, "source": {"claims"}, "provider": {"okta"}, "claims": {`{"sub":"z","groups":"nope"}`}})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `id="sim-no-roles"`) || !strings.Contains(rec.Body.String(), "signature was not checked") {
		t.Fatalf("simulate claims: %d\n%s", rec.Code, rec.Body)
	}
	rec = ev.Do(t, "POST", "/admin/simulate", url.Values{"csrf_token": {csrf}, "source": {"saml"}, "provider": {"okta"}, "saml": {"<!DOCTYPE x><Response/>"}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "DTD") {
		t.Fatalf("simulate DTD: %d", rec.Code)
	}
	// Audit page filters and CSV export.
	rec = ev.Do(t, "GET", "/admin/audit?user=bob&event=signin", nil)
	// Each person, named PROVIDER/SUBJECT, links to their sessions; the
	// event filter is a choice list.
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `<td class="user"><a href="/admin/sessions?provider=okta&amp;subject=bob" title="Sessions of this person">okta/bob</a>`) ||
		strings.Contains(rec.Body.String(), ">okta/ann</a>") || !strings.Contains(rec.Body.String(), `<select id="f-event" name="event"><option value="">any</option><option selected>signin</option>`) {
		t.Fatalf("audit filter: %d\n%s", rec.Code, rec.Body)
	}
	rec = ev.Do(t, "GET", "/admin/audit?event=signin&format=csv", nil)
	csv, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") || strings.Count(string(csv), "\n") != 3 || !strings.HasPrefix(string(csv), "id,time,event,result,reason,user,role_arn,") || !strings.Contains(string(csv), ",okta/bob,") {
		t.Fatalf("csv: %d\n%s", rec.Code, csv)
	}
	if rec := ev.Do(t, "GET", "/admin/audit?since=yesterday", nil); rec.Code != http.StatusBadRequest {
		t.Fatalf("bad time: %d", rec.Code)
	}
}

func TestAdminSaveWithoutChangeKeepsVersion(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	r, _ := findRuleIn(ev.Rules, "devs")
	form := url.Values{"csrf_token": {csrf}, "op": {"save"}}
	for k, v := range map[string]string{"name": "devs", "when": "all:\n  - {attribute: groups, equals: dev}\n", "grant.account": "sandbox", "grant.role": "Developer", "grant.label": "Developer", "version": "1"} {
		form.Set(k, v)
	}
	rec := ev.Do(t, "POST", "/admin/rules/devs", form)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", rec.Code, rec.Body)
	}
	if r2, _ := findRuleIn(ev.Rules, "devs"); r2.Version != r.Version {
		t.Fatalf("an unchanged save made version %d", r2.Version)
	}
	if !strings.Contains(ev.Do(t, "GET", "/admin/rules", nil).Body.String(), "unchanged") {
		t.Fatal("no message for an unchanged save")
	}
}

func TestAdminConditionRows(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	// The seeded rule is flat: its edit page shows rows, not YAML.
	page := ev.Do(t, "GET", "/admin/rules/devs", nil).Body.String()
	if !strings.Contains(page, `id="cond-0-attribute" name="cond.attribute" value="groups"`) || !strings.Contains(page, `id="cond-0-value" name="cond.value" value="dev"`) || strings.Contains(page, `id="when"`) {
		t.Fatalf("edit page of a flat rule:\n%s", page)
	}
	base := func(op string) url.Values {
		return url.Values{"csrf_token": {csrf}, "name": {"ops"}, "when_mode": {"rows"}, "match": {"any"}, "op": {op},
			"cond.attribute": {"groups", "", "email"}, "cond.op": {"regex", "equals", "suffix"},
			"cond.value": {"(ops", "", "@ops.example.com"}, "cond.case": {"", "", "ignore"},
			"grant.account": {"sandbox"}, "grant.role": {"Operator"}}
	}
	// An error in the first row is shown on that row.
	rec := ev.Do(t, "POST", "/admin/rules/new", base("save"))
	body := rec.Body.String()
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="cond-0-err"`) || !strings.Contains(body, `aria-describedby="cond-0-err"`) {
		t.Fatalf("row error: %d\n%s", rec.Code, body)
	}
	// The blank middle row is dropped; the third row becomes the second and
	// an error in it would be reported there.
	form := base("save")
	form["cond.value"][0] = "^ops$"
	form["cond.op"][2] = "regex"
	form["cond.value"][2] = "[unclosed"
	rec = ev.Do(t, "POST", "/admin/rules/new", form)
	if body := rec.Body.String(); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="cond-1-err"`) || strings.Contains(body, `id="cond-0-err"`) {
		t.Fatalf("second-row error: %d\n%s", rec.Code, body)
	}
	form = base("save")
	form["cond.value"][0] = "^ops$"
	if rec := ev.Do(t, "POST", "/admin/rules/new", form); rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", rec.Code, rec.Body)
	}
	r, _ := findRuleIn(ev.Rules, "ops")
	if len(r.When.Any) != 2 || r.When.Any[0].Regex != "^ops$" || r.When.Any[1].Suffix != "@ops.example.com" || !r.When.Any[1].IgnoreCase || len(r.When.All) != 0 {
		t.Fatalf("saved conditions %+v", r.When)
	}
	// Add a row; switch to YAML and back.
	rec = ev.Do(t, "POST", "/admin/rules/ops", base("add-row"))
	if !strings.Contains(rec.Body.String(), `id="cond-3-attribute"`) || !strings.Contains(rec.Body.String(), `<option value="any" selected>`) {
		t.Fatalf("add row: %d (a fourth row, match any kept)", rec.Code)
	}
	rec = ev.Do(t, "POST", "/admin/rules/ops", base("to-yaml"))
	if body := html.UnescapeString(rec.Body.String()); rec.Code != 200 || !strings.Contains(body, "any:") || !strings.Contains(body, "regex: (ops") || !strings.Contains(body, `name="when_mode" value="yaml"`) {
		t.Fatalf("to yaml: %d\n%s", rec.Code, body)
	}
	nested := url.Values{"csrf_token": {csrf}, "when_mode": {"yaml"}, "op": {"to-rows"}, "grant.account": {"sandbox"}, "grant.role": {"Operator"},
		"when": {"all:\n  - any:\n      - {attribute: groups, equals: a}\n      - {attribute: groups, equals: b}\n"}}
	if rec := ev.Do(t, "POST", "/admin/rules/ops", nested); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "only YAML") {
		t.Fatalf("nested to rows: %d", rec.Code)
	}
	nested.Set("op", "save")
	nested.Set("version", "1")
	if rec := ev.Do(t, "POST", "/admin/rules/ops", nested); rec.Code != http.StatusSeeOther {
		t.Fatalf("save nested: %d %s", rec.Code, rec.Body)
	}
	// A nested rule opens in YAML.
	if page := ev.Do(t, "GET", "/admin/rules/ops", nil).Body.String(); !strings.Contains(page, `id="when"`) || strings.Contains(page, `id="cond-0-attribute"`) {
		t.Fatal("a nested rule does not open in YAML")
	}
}
