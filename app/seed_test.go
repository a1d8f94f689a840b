package app

import (
	"context"
	"sync"
	"testing"

	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/store"
)

// Two brokers starting together on one empty store: the config file's
// rules are seeded once, through the rule-administration service, with
// one audit event as "seed".
func TestSeedOnceWithAnAuditEventWhenTwoInstancesStart(t *testing.T) {
	cfg := testConfigAfterProviders(t, `accounts:
  - {id: "111122223333", alias: sandbox}
  - {id: "444455556666", alias: prod}
rules:
  - {name: devs, when: {all: [{attribute: groups, equals: dev}]}, grant: {account: sandbox, role: Developer}}
  - {name: ops, when: {all: [{attribute: groups, equals: ops}]}, grant: {account: prod, role: Operator}}
`)
	apps := make([]*App, 2)
	errs := make([]error, 2)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range apps {
		wg.Go(func() {
			<-start
			apps[i], errs[i] = New(context.Background(), cfg, Options{})
		})
	}
	close(start)
	wg.Wait()
	for i, a := range apps {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		defer a.Close()
	}
	ctx := context.Background()
	evs, err := apps[0].Store.ListAudit(ctx, store.AuditFilter{Event: ruleset.EventRulesSeeded})
	if err != nil || len(evs) != 1 || evs[0].Subject != ruleset.SeedActor || evs[0].Message != "2 rules, 2 accounts" {
		t.Fatalf("seed audit: %+v %v", evs, err)
	}
	for _, name := range []string{"devs", "ops"} {
		h, _ := apps[1].Store.RuleHistory(ctx, name)
		if len(h) != 1 || h[0].Actor != ruleset.SeedActor {
			t.Fatalf("history of %s: %+v", name, h)
		}
	}
	for i, a := range apps {
		if err := a.Rules.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if st := a.Rules.State(); len(st.Rules) != 2 || st.CompileErr != nil {
			t.Fatalf("instance %d: %+v", i, st)
		}
	}
}
