package ruleset

import (
	"bytes"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
)

// FuzzDecode reads a fuzzed stored rule (the store's JSON, also what the
// admin pages and the API show and take back). Invariants: no panic;
// Decode → Encode → Decode is a fixed point (the second encoding is the
// first, byte for byte, so sameRule holds); a rule read from a store row
// takes the row's name; checking it reports problems located at that rule
// with a reason, or compiles to an engine that evaluates without panicking.
func FuzzDecode(f *testing.F) {
	r := devRule("devs", "dev", "Developer")
	r.Grant.Duration = mapping.Duration(2 * time.Hour)
	f.Add(Encode(r))
	f.Add(Encode(mapping.Rule{Name: "all", Always: true, Effect: "deny", Providers: []string{"okta"}, Grant: mapping.GrantSpec{Account: "sandbox", Role: "Adm*"}}))
	f.Add(Encode(mapping.Rule{Name: "pt", When: mapping.Group{Any: []mapping.Condition{{Attribute: "g", Regex: "^(?P<t>.+)$"}, {All: []mapping.Condition{{Attribute: "h", Absent: true}}}}},
		Grant: mapping.GrantSpec{Mode: "pass-through", Role: "${t}-*", SessionTags: map[string]string{"team": "${t}"}, ConsoleDuration: mapping.Duration(time.Hour)}}))
	for _, s := range []string{
		`{"name":"x","wehn":{}}`,
		`{"name":"d","grant":{"duration":5400,"console_duration":"90m"}}`,
		`{"name":"d","grant":{"duration":1.5}}`,
		`{"name":"n","disabled":true,"when":{"all":[{"attribute":"a","equals":"\u00e9\ud800"}]},"grant":{"account":"111122223333","role":"R"}}`,
		`{"name":"t","when":{"all":[{"attribute":"a","exists":true}]},"grant":{"account":"sandbox","role":"R"}} trailing`,
		`{"session_tags":null,"providers":[]}`,
		`null`, `[]`, `{`,
	} {
		f.Add([]byte(s))
	}
	opts := mapping.Options{Accounts: accounts}
	id := &broker.Identity{Provider: "okta", Subject: "alice", Attributes: map[string][]string{"groups": {"dev"}, "g": {"eng"}, "a": {"é"}}}

	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			return
		}
		enc := Encode(r)
		r2, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(r)): %v\n%s", err, enc)
		}
		if enc2 := Encode(r2); !bytes.Equal(enc, enc2) || !sameRule(r, r2) {
			t.Fatalf("round trip is not a fixed point:\n%s\n%s", enc, enc2)
		}
		st, err := fromStored(store.StoredRule{Name: "row-name", Rule: b, Version: 3})
		if err != nil || st.Name != "row-name" || st.Version != 3 {
			t.Fatalf("from a store row: %+v %v", st.Rule, err)
		}
		eng, ps := compile([]mapping.Rule{r}, opts)
		if (eng == nil) == (ps == nil) {
			t.Fatalf("engine %v with problems %v", eng != nil, ps)
		}
		for _, p := range ps {
			if p.Reason == "" || p.Index != 0 || p.Rule != r.Name {
				t.Fatalf("problem not located at the rule or without a reason: %+v", p)
			}
		}
		if eng != nil {
			simulate(eng, id)
		}
	})
}
