package mapping

import (
	"testing"

	"github.com/broker-dev/broker"
)

// TestTracePlain: every trace step has a sentence in the admin's words
// next to the engine's reason, for each kind of condition, the indexed
// equals fast path, nested groups, disabled and out-of-scope rules.
func TestTracePlain(t *testing.T) {
	g := GrantSpec{Account: "111122223333", Role: "Dev"}
	eq := func(a, v string) Condition { return Condition{Attribute: a, Equals: v} }
	rules := []Rule{
		{Name: "indexed", When: Group{All: []Condition{eq("groups", "engineering")}}, Grant: g},
		{Name: "absent-attr", When: Group{All: []Condition{eq("department", "ops")}}, Grant: g},
		{Name: "prefix", When: Group{All: []Condition{{Attribute: "email", Prefix: "admin"}}}, Grant: g},
		{Name: "nested", When: Group{All: []Condition{{Attribute: "email", Exists: true}, {Any: []Condition{{Attribute: "groups", Glob: "ops-*"}, {Attribute: "groups", Regex: "^sre$"}}}}}, Grant: g},
		{Name: "case", When: Group{All: []Condition{{Attribute: "email", Exists: true}, {Attribute: "groups", Equals: "Admins", IgnoreCase: true}}}, Grant: g},
		{Name: "not", When: Group{All: []Condition{{Attribute: "email", Exists: true}, {Attribute: "groups", NotEquals: "dev"}}}, Grant: g},
		{Name: "off", Disabled: true, Always: true, Grant: g},
		{Name: "scoped", Providers: []string{"okta"}, Always: true, Grant: g},
		{Name: "hit", When: Group{All: []Condition{eq("groups", "dev")}}, Grant: g},
	}
	e, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := e.Evaluate(&broker.Identity{Provider: "kc", Attributes: map[string][]string{"groups": {"dev"}, "email": {"bob@example.com"}}})
	want := map[string]string{
		"indexed":     "groups has no value equal to engineering",
		"absent-attr": "the sign-in has no department attribute",
		"prefix":      "email has no value starting with admin",
		"nested":      "none of the alternatives holds",
		"case":        "groups has no value equal to admins (in any case)",
		"not":         "groups has a value equal to dev",
		"off":         "the rule is disabled",
		"scoped":      "the rule is only for other identity providers than kc",
		"hit":         "",
	}
	for _, tr := range d.Trace() {
		if tr.Plain != want[tr.Rule] {
			t.Errorf("rule %s: plain %q, want %q (reason %q)", tr.Rule, tr.Plain, want[tr.Rule], tr.Reason)
		}
		if tr.Outcome == NotMatched && tr.Reason == tr.Plain {
			t.Errorf("rule %s: the engine's reason was replaced: %q", tr.Rule, tr.Reason)
		}
	}
}
