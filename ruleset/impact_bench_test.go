package ruleset

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/sqlstore"
)

// BenchmarkImpactPreview: the rule editor's "Preview impact" as an admin
// clicks it, on a SQLite store holding 1,000 rules and the 1,000 recent
// sign-ins it checks (20 groups each): read the rules, compile the
// candidate set, evaluate before and after for everyone.
func BenchmarkImpactPreview(b *testing.B) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Config{DSN: ":memory:", Keys: [][]byte{bytes.Repeat([]byte{4}, 32)}})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var rules []mapping.Rule
	for i := 0; i < 1000; i++ {
		rules = append(rules, mapping.Rule{Name: fmt.Sprintf("r%d", i),
			When:  mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: fmt.Sprintf("team-%d", i)}}},
			Grant: mapping.GrantSpec{Account: "111122223333", Role: fmt.Sprintf("Role%d", i%50)}})
	}
	env := newAdminEnv(b, db)
	if _, err := env.admin.ReplaceAll(ctx, Actor{ID: "bench"}, rules, nil, -1, false); err != nil {
		b.Fatal(err)
	}
	for u := 0; u < DefaultImpactSignIns; u++ {
		var groups []string
		for g := 0; g < 20; g++ {
			groups = append(groups, fmt.Sprintf("team-%d", (u*7+g*13)%1500))
		}
		id, _ := json.Marshal(broker.Identity{Provider: "okta", Subject: fmt.Sprint("user", u), Attributes: map[string][]string{"groups": groups}})
		if err := db.RecordSignIn(ctx, &store.SignIn{Provider: "okta", Subject: fmt.Sprint("user", u), Identity: id}); err != nil {
			b.Fatal(err)
		}
	}
	after := append(append([]mapping.Rule(nil), rules...), mapping.Rule{Name: "new",
		When:  mapping.Group{All: []mapping.Condition{{Attribute: "groups", Prefix: "team-1"}}},
		Grant: mapping.GrantSpec{Account: "111122223333", Role: "New"}})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := env.admin.ImpactPreview(ctx, nil, after, 0)
		if err != nil || rep.Checked != DefaultImpactSignIns || len(rep.Changed) == 0 {
			b.Fatalf("%d checked, %d changed, %v", rep.Checked, len(rep.Changed), err)
		}
	}
}
