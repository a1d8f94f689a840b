package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
)

// signInsOnly is a Store that only lists sign-ins.
type signInsOnly struct {
	Store
	ins []store.SignIn
}

func (s signInsOnly) RecentSignIns(context.Context, int) ([]store.SignIn, error) { return s.ins, nil }

// BenchmarkImpactPreview: the editor's "Preview impact" over the 1,000
// recent sign-ins it checks, each with 20 groups, against 1,000 rules.
func BenchmarkImpactPreview(b *testing.B) {
	var rules []mapping.Rule
	for i := 0; i < 1000; i++ {
		rules = append(rules, mapping.Rule{Name: fmt.Sprintf("r%d", i),
			When:  mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: fmt.Sprintf("team-%d", i)}}},
			Grant: mapping.GrantSpec{Account: "111122223333", Role: fmt.Sprintf("Role%d", i%50)}})
	}
	before, err := mapping.Compile(rules, mapping.Options{})
	if err != nil {
		b.Fatal(err)
	}
	after, err := mapping.Compile(append(rules, mapping.Rule{Name: "new",
		When:  mapping.Group{All: []mapping.Condition{{Attribute: "groups", Prefix: "team-1"}}},
		Grant: mapping.GrantSpec{Account: "111122223333", Role: "New"}}), mapping.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var ins []store.SignIn
	for u := 0; u < impactSignIns; u++ {
		var groups []string
		for g := 0; g < 20; g++ {
			groups = append(groups, fmt.Sprintf("team-%d", (u*7+g*13)%1500))
		}
		id, _ := json.Marshal(broker.Identity{Provider: "okta", Subject: fmt.Sprint("user", u), Attributes: map[string][]string{"groups": groups}})
		ins = append(ins, store.SignIn{Provider: "okta", Subject: fmt.Sprint("user", u), Identity: id})
	}
	s := &Handler{cfg: Config{Store: signInsOnly{ins: ins}}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := s.impact(context.Background(), before, after)
		if err != nil || rep.Checked != impactSignIns || len(rep.Changed) == 0 {
			b.Fatalf("%+v %v", rep.Checked, err)
		}
	}
}
