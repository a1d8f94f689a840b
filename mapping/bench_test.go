package mapping

import (
	"fmt"
	"testing"

	"github.com/broker-dev/broker"
)

// benchRules builds n rules shaped like real configurations: mostly
// "group X → role" (equals), some prefix/glob/regex rules, a few any-groups
// and deny rules.
func benchRules(n int) []Rule {
	rules := make([]Rule, 0, n)
	for i := 0; i < n; i++ {
		r := Rule{Name: fmt.Sprintf("rule-%05d", i), Grant: GrantSpec{Account: sandbox, Role: fmt.Sprintf("Role%d", i%500)}}
		switch {
		case i%100 < 85:
			r.When.All = []Condition{{Attribute: "groups", Equals: fmt.Sprintf("group-%d", i)}}
		case i%100 < 90:
			r.When.All = []Condition{{Attribute: "groups", Prefix: fmt.Sprintf("team-%d-", i)}}
		case i%100 < 94:
			r.When.All = []Condition{{Attribute: "department", Glob: fmt.Sprintf("dept-%d-*", i)}}
		case i%100 < 97:
			r.When.All = []Condition{{Attribute: "groups", Regex: fmt.Sprintf(`^aws-%d-(?P<role>[A-Za-z]+)$`, i)}}
			r.Grant.Role = "${role}"
		case i%100 < 99:
			r.When.Any = []Condition{{Attribute: "title", Equals: fmt.Sprintf("title-%d", i)}, {Attribute: "email", Suffix: fmt.Sprintf("@sub%d.example.com", i)}}
		default:
			r.Effect = "deny"
			r.When.All = []Condition{{Attribute: "type", Equals: fmt.Sprintf("contractor-%d", i)}}
			r.Grant = GrantSpec{Account: prod}
		}
		rules = append(rules, r)
	}
	return rules
}

// benchIdentity has 200 attribute values: 150 groups, 50 others; about 30 of
// the groups hit rules.
func benchIdentity() *broker.Identity {
	attrs := map[string][]string{}
	for i := 0; i < 150; i++ {
		g := fmt.Sprintf("unrelated-%d", i)
		if i%5 == 0 {
			g = fmt.Sprintf("group-%d", i*61)
		}
		attrs["groups"] = append(attrs["groups"], g)
	}
	attrs["groups"] = append(attrs["groups"], "aws-9195-Admin", "team-1285-x")
	for i := 0; i < 46; i++ {
		attrs[fmt.Sprintf("attr-%d", i)] = []string{fmt.Sprintf("v-%d", i)}
	}
	attrs["department"] = []string{"dept-9091-ops"}
	attrs["email"] = []string{"alice@example.com"}
	return &broker.Identity{Provider: "okta", Subject: "alice", Attributes: attrs}
}

func TestBenchTableIsMeaningful(t *testing.T) {
	e, err := Compile(benchRules(10000), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	d := e.Evaluate(benchIdentity())
	if len(d.Trace()) != 10000 || len(d.Grants) < 10 {
		t.Fatalf("bench identity gets %d grants, trace %d: the benchmark would not exercise matching", len(d.Grants), len(d.Trace()))
	}
}

func BenchmarkEvaluate10kRules(b *testing.B) {
	e, err := Compile(benchRules(10000), testOpts)
	if err != nil {
		b.Fatal(err)
	}
	id := benchIdentity()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = e.Evaluate(id)
	}
}

func BenchmarkCompile10kRules(b *testing.B) {
	rules := benchRules(10000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Compile(rules, testOpts); err != nil {
			b.Fatal(err)
		}
	}
}
