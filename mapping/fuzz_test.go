package mapping

import (
	"testing"

	"github.com/broker-dev/broker"
	"go.yaml.in/yaml/v3"
)

// FuzzEvaluate compiles fuzzed rules and evaluates them against a fuzzed
// identity: neither step may panic, and evaluation must be deterministic.
func FuzzEvaluate(f *testing.F) {
	f.Add(`[{name: a, when: {all: [{attribute: g, regex: '^(x+)$'}]}, grant: {account: sandbox, role: 'R${1}'}}]`, "g", "xxx")
	f.Add(`[{name: a, always: true, grant: {mode: pass-through, role: '*'}}]`, "g", "v")
	f.Add(`[{name: a, when: {any: [{attribute: g, glob: '[a-'}]}, grant: {account: sandbox, role: A}}]`, "g", "a")
	f.Add(`[{name: a, when: {all: [{attribute: g, equals: v}]}, grant: {account: '${attr:g}', role: '${attr:h}', session_tags: {t: '${attr:g}'}}}]`, "g", "111122223333")
	f.Fuzz(func(t *testing.T, src, attr, value string) {
		var rules []Rule
		if yaml.Unmarshal([]byte(src), &rules) != nil {
			return
		}
		e, err := Compile(rules, testOpts)
		if err != nil {
			return
		}
		id := &broker.Identity{Provider: "okta", Attributes: map[string][]string{attr: {value, value + "x"}, "h": {value}},
			Roles: []broker.RolePair{{RoleARN: "arn:aws:iam::111122223333:role/" + "R", ProviderARN: "arn:aws:iam::111122223333:saml-provider/P"}}}
		a, b := e.Evaluate(id), e.Evaluate(id)
		if len(a.Grants) != len(b.Grants) || len(a.Trace()) != len(rules) {
			t.Fatalf("nondeterministic or incomplete decision")
		}
	})
}
