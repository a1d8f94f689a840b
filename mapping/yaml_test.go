package mapping

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestMarshalYAMLReadsBack: strings yaml.v3's default encoder writes as
// literal blocks it cannot read back (leading line breaks in a nested
// field) survive MarshalYAML → decodeRules; the ones it cannot write
// readably at all are refused with an error, never written.
func TestMarshalYAMLReadsBack(t *testing.T) {
	for _, s := range []string{"\n\n\n\n\n\ng", "\nx", " \nx", "x\r\ny", "two\nlines\n", "plain", "\n", "\n\n", "\tx\ny", "  \tx\n"} {
		g := Group{All: []Condition{{Attribute: s, Equals: s}, {Any: []Condition{{Attribute: "g", Prefix: s}}}}}
		rules := []Rule{{Name: "a", Description: s, When: g,
			Grant: GrantSpec{Account: "sandbox", Role: "R", Label: s, Description: s, SessionTags: map[string]string{"t": s, s: "v"}}}}
		b, err := MarshalYAML(rules)
		if err != nil {
			if !strings.Contains(err.Error(), "cannot be written as YAML") {
				t.Fatalf("%q: %v", s, err)
			}
			t.Logf("%q refused: %v", s, err)
			continue
		}
		var back []Rule
		if err := decodeRules(string(b), false, &back); err != nil {
			t.Fatalf("%q: does not read back: %v\n%s", s, err, b)
		}
		if !sameRules(rules, back) {
			t.Fatalf("%q: read back as %+v", s, back)
		}
	}
	for _, s := range []string{"\nx", "\n\n\n\n\n\ng", " \nx"} {
		if _, err := MarshalYAML([]Rule{{Name: "a", Description: s, Always: true}}); err != nil {
			t.Errorf("%q: refused, want written: %v", s, err)
		}
	}
	// What it guards against: the default encoder on the same rule.
	plain, _ := yaml.Marshal([]Rule{{Name: "a", Description: "\nx", Always: true}})
	var back []Rule
	if err := decodeRules(string(plain), false, &back); err == nil && back[0].Description == "\nx" {
		t.Log("yaml.v3's default encoder now reads back leading line breaks")
	}
}
