package ruleset

import (
	"context"
	"testing"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
)

// Replacing the rules with none at all is refused unless the caller says
// so; said so, it is a change like any other (history, audit, reload).
func TestReplaceAllRefusesAnEmptySetUnlessAllowed(t *testing.T) {
	ctx := context.Background()
	e := seeded(t)
	rev := e.revision(t)
	for name, tc := range map[string]struct {
		rules    []mapping.Rule
		accounts []mapping.Account
		revision int64
	}{
		"nil rules":               {nil, nil, rev},
		"empty list":              {[]mapping.Rule{}, nil, rev},
		"no rules, with accounts": {nil, accounts, rev},
		"no revision check":       {[]mapping.Rule{}, nil, -1},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.admin.ReplaceAll(ctx, ann, tc.rules, tc.accounts, tc.revision, false)
			if broker.ErrorCode(err) != broker.EINVALID || broker.ErrorReason(err) != ReasonRulesEmpty || broker.ErrorMessage(err) == "" {
				t.Fatalf("err %v (%s), want EINVALID %s with a message", err, broker.ErrorReason(err), ReasonRulesEmpty)
			}
			if ProblemsOf(err) != nil {
				t.Errorf("an empty set is not a compile problem: %v", ProblemsOf(err))
			}
		})
	}
	if e.revision(t) != rev || len(e.src.State().Rules) != 1 || len(e.audit(t, EventRulesReplaced)) != 0 {
		t.Fatalf("a refused empty set changed something: revision %d (was %d), %d rules", e.revision(t), rev, len(e.src.State().Rules))
	}

	snap, err := e.admin.ReplaceAll(ctx, ann, nil, nil, rev, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Rules) != 0 || len(e.src.State().Rules) != 0 || snap.Revision != rev+1 {
		t.Fatalf("after an allowed empty set: %+v, in force %d rules", snap, len(e.src.State().Rules))
	}
	evs := e.audit(t, EventRulesReplaced)
	if len(evs) != 1 || evs[0].Subject != ann.ID || evs[0].Message != "0 rules" {
		t.Fatalf("audit %+v", evs)
	}
	if h, _ := e.db.RuleHistory(ctx, "devs"); len(h) == 0 || h[0].Action != "delete" || h[0].Actor != ann.ID {
		t.Fatalf("history of the removed rule %+v", h)
	}
}
