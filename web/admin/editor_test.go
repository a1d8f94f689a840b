package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/broker-dev/broker/web/internal/webtest"
)

// TestRuleEditorResultsSideBySide: simulating, then previewing the
// impact, keeps the simulation on the page next to the impact (and the
// other way round); the results are a focused landmark the form's
// submission scrolls to; the trace speaks the admin's language.
func TestRuleEditorResultsSideBySide(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	ev.As(t, "bob", "ops")
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	form := ruleFormValues(csrf, "eng", "all:\n  - {attribute: groups, equals: engineering}\n", "Operator")
	form.Set("signin", "okta/bob")

	form.Set("op", "simulate")
	rec := ev.Do(t, http.MethodPost, "/admin/rules/new", form)
	body := rec.Body.String()
	for _, want := range []string{
		`id="op-simulate" formaction="/admin/rules/new#results"`,
		`id="op-preview" formaction="/admin/rules/new#results"`,
		`<div class="editor has-results">`,
		`id="results" role="region" aria-label="Results" tabindex="-1" autofocus`,
		`id="sim-result"`,
		`<td>eng</td><td>did not match</td><td>groups has no value equal to engineering`,
		`name="keep_sim" value="1"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("simulate: page lacks %s", want)
		}
	}
	// Save leaves without #results: the list it lands on has none.
	if strings.Contains(body, ` action="/admin/rules/new#results"`) {
		t.Error("the form's own action carries #results: a save would land on /admin/rules#results")
	}
	if rec.Code != http.StatusOK || strings.Contains(body, `id="impact"`) || strings.Contains(body, `when.all[0]`) {
		t.Fatalf("simulate: %d, shows the impact unasked or the engine's path:\n%s", rec.Code, body)
	}

	form.Set("op", "preview")
	form.Set("keep_sim", "1")
	body = ev.Do(t, http.MethodPost, "/admin/rules/new", form).Body.String()
	if !strings.Contains(body, `id="impact"`) || !strings.Contains(body, `id="sim-result"`) {
		t.Fatalf("preview after simulate does not show both:\n%s", body)
	}

	form.Del("keep_sim")
	form.Set("keep_impact", "1")
	form.Set("op", "simulate")
	body = ev.Do(t, http.MethodPost, "/admin/rules/new", form).Body.String()
	if !strings.Contains(body, `id="impact"`) || !strings.Contains(body, `id="sim-result"`) {
		t.Fatalf("simulate after preview does not show both:\n%s", body)
	}

	// Without either, the form stands alone.
	form.Del("keep_impact")
	form.Set("op", "add-row")
	if body = ev.Do(t, http.MethodPost, "/admin/rules/new", form).Body.String(); strings.Contains(body, `id="results"`) || !strings.Contains(body, `<div class="editor">`) {
		t.Fatalf("reshaping shows results:\n%s", body)
	}
}
