package ruleset

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/store/sqlstore"
)

// adminEnv is one instance: a store handle, its Source and its Admin.
type adminEnv struct {
	db    *sqlstore.DB
	src   *Source
	admin *Admin
}

func newAdminEnv(tb testing.TB, db *sqlstore.DB) *adminEnv {
	tb.Helper()
	src, err := New(context.Background(), Config{Store: db})
	if err != nil {
		tb.Fatal(err)
	}
	a, err := NewAdmin(AdminConfig{Store: db, Source: src})
	if err != nil {
		tb.Fatal(err)
	}
	return &adminEnv{db: db, src: src, admin: a}
}

// seeded is an instance on a fresh store holding the rule devs (sandbox/Developer).
func seeded(t *testing.T) *adminEnv {
	t.Helper()
	db := openStore(t, ":memory:")
	if ok, err := adminOn(t, db).Seed(context.Background(), []mapping.Rule{devRule("devs", "dev", "Developer")}, accounts); err != nil || !ok {
		t.Fatalf("seed: %v %v", ok, err)
	}
	return newAdminEnv(t, db)
}

func (e *adminEnv) audit(tb testing.TB, event string) []store.AuditEvent {
	tb.Helper()
	evs, err := e.db.ListAudit(context.Background(), store.AuditFilter{Event: event})
	if err != nil {
		tb.Fatal(err)
	}
	return evs
}

func (e *adminEnv) revision(tb testing.TB) int64 {
	tb.Helper()
	rev, err := e.db.RulesRevision(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return rev
}

func (e *adminEnv) version(tb testing.TB, name string) int64 {
	tb.Helper()
	r, err := e.admin.Rule(context.Background(), name)
	if err != nil {
		tb.Fatal(err)
	}
	return r.Version
}

var ann = Actor{ID: "okta/ann", RequestID: "req-1", RemoteAddr: "192.0.2.1", UserAgent: "test"}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if broker.ErrorCode(err) != code {
		tb.Fatalf("got %v, want code %s", err, code)
	}
}

// Every change: one audit event with the actor, its request and the
// event name the admin UI has always written; the stale form of it is
// ECONFLICT, saves nothing and audits nothing; this instance sees the
// change at once.
func TestAdminChangesAuditAndRefuseStale(t *testing.T) {
	ctx := context.Background()
	e := seeded(t)
	ops := devRule("ops", "ops", "Operator")
	var restored int64 // the history entry restore brings back

	tests := []struct {
		name         string
		do           func() error
		stale        func() error // the same change from an older version or revision
		event, rule  string
		msg          string
		checkApplied func(*testing.T)
	}{
		{"create", func() error { _, err := e.admin.Create(ctx, ann, ops); return err },
			func() error { _, err := e.admin.Create(ctx, ann, ops); return err },
			EventRuleSaved, "ops", "create version 1",
			func(t *testing.T) {
				if got := roles(e.src.Engine(), "ops"); len(got) != 1 {
					t.Fatalf("this instance does not grant the new rule: %v", got)
				}
			}},
		{"update", func() error {
			r := ops
			r.Grant.Role = "Admin"
			_, changed, err := e.admin.Update(ctx, ann, r, 1)
			if err == nil && !changed {
				t.Fatal("update not reported as a change")
			}
			return err
		}, func() error {
			r := ops
			r.Grant.Role = "ReadOnly"
			_, _, err := e.admin.Update(ctx, ann, r, 1)
			return err
		},
			EventRuleSaved, "ops", "update version 2",
			func(t *testing.T) {
				if got := roles(e.src.Engine(), "ops"); len(got) != 1 || !strings.HasSuffix(got[0], "role/Admin") {
					t.Fatalf("after update: %v", got)
				}
			}},
		{"disable", func() error { _, _, err := e.admin.SetEnabled(ctx, ann, "ops", false, 2); return err },
			func() error { _, _, err := e.admin.SetEnabled(ctx, ann, "ops", false, 1); return err },
			EventRuleSaved, "ops", "disable version 3",
			func(t *testing.T) {
				if got := roles(e.src.Engine(), "ops"); len(got) != 0 {
					t.Fatalf("disabled rule still grants: %v", got)
				}
			}},
		{"move", func() error {
			to, moved, err := e.admin.Move(ctx, ann, "ops", MoveTop, e.revision(t))
			if err == nil && (!moved || to != 0) {
				t.Fatalf("moved %v to %d", moved, to)
			}
			return err
		}, func() error { _, _, err := e.admin.Move(ctx, ann, "ops", MoveDown, e.revision(t)-1); return err },
			EventRulesReordered, "ops", "moved to position 1",
			func(t *testing.T) {
				if st := e.src.State(); st.Rules[0].Name != "ops" {
					t.Fatalf("order %v", st.Rules)
				}
			}},
		{"reorder", func() error { return e.admin.Reorder(ctx, ann, []string{"devs", "ops"}, e.revision(t)) },
			func() error { return e.admin.Reorder(ctx, ann, []string{"ops", "devs"}, e.revision(t)-1) },
			EventRulesReordered, "", "reordered",
			func(t *testing.T) {
				if st := e.src.State(); st.Rules[0].Name != "devs" {
					t.Fatalf("order %v", st.Rules)
				}
			}},
		{"revert", func() error {
			h, _ := e.db.RuleHistory(ctx, "ops")
			saved, from, err := e.admin.Revert(ctx, ann, "ops", h[len(h)-1].ID, e.version(t, "ops"))
			if err == nil && (from != 1 || saved.Disabled || saved.Grant.Role != "Operator") {
				t.Fatalf("reverted to %d: %+v", from, saved)
			}
			return err
		}, func() error {
			h, _ := e.db.RuleHistory(ctx, "ops")
			_, _, err := e.admin.Revert(ctx, ann, "ops", h[len(h)-1].ID, 1)
			return err
		}, EventRuleSaved, "ops", "revert to version 1 as version 4",
			func(t *testing.T) {
				if got := roles(e.src.Engine(), "ops"); len(got) != 1 || !strings.HasSuffix(got[0], "role/Operator") {
					t.Fatalf("after revert: %v", got)
				}
			}},
		{"delete", func() error { return e.admin.Delete(ctx, ann, "ops", 4) },
			func() error { return e.admin.Delete(ctx, ann, "devs", 7) },
			EventRuleDeleted, "ops", "delete",
			func(t *testing.T) {
				if got := roles(e.src.Engine(), "ops"); len(got) != 0 {
					t.Fatalf("deleted rule still grants: %v", got)
				}
			}},
		{"restore", func() error {
			h, _ := e.db.RuleHistory(ctx, "ops")
			restored = h[1].ID // the version before the delete
			_, _, err := e.admin.Restore(ctx, ann, "ops", restored)
			return err
		}, func() error { // restoring over the existing rule
			_, _, err := e.admin.Restore(ctx, ann, "ops", restored)
			return err
		}, EventRuleSaved, "ops", "revert to version 4 as version 1",
			func(t *testing.T) {
				if got := roles(e.src.Engine(), "ops"); len(got) != 1 {
					t.Fatalf("after restore: %v", got)
				}
			}},
		{"replace all", func() error {
			_, err := e.admin.ReplaceAll(ctx, ann, []mapping.Rule{devRule("devs", "dev", "Developer")}, nil, e.revision(t), false)
			return err
		}, func() error {
			_, err := e.admin.ReplaceAll(ctx, ann, []mapping.Rule{}, nil, e.revision(t)-1, true)
			return err
		}, EventRulesReplaced, "", "1 rules",
			func(t *testing.T) {
				if st := e.src.State(); len(st.Rules) != 1 || st.Rules[0].Name != "devs" {
					t.Fatalf("after replace: %v", st.Rules)
				}
			}},
		{"save account", func() error {
			return e.admin.SaveAccount(ctx, ann, mapping.Account{ID: "444455556666", Alias: "prod"})
		}, nil, // accounts have no versions; a taken alias is below
			EventAccountSaved, "", "account 444455556666 alias prod",
			func(t *testing.T) {
				if st := e.src.State(); len(st.Accounts) != 2 {
					t.Fatalf("accounts %v", st.Accounts)
				}
			}},
		{"delete account", func() error { return e.admin.DeleteAccount(ctx, ann, "444455556666") },
			nil, EventAccountDeleted, "", "account 444455556666",
			func(t *testing.T) {
				if st := e.src.State(); len(st.Accounts) != 1 {
					t.Fatalf("accounts %v", st.Accounts)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.audit(t, tt.event))
			if err := tt.do(); err != nil {
				t.Fatal(err)
			}
			evs := e.audit(t, tt.event)
			if len(evs) != before+1 {
				t.Fatalf("%d %s events, want %d", len(evs), tt.event, before+1)
			}
			ev := evs[0]
			if ev.Subject != ann.ID || ev.RequestID != ann.RequestID || ev.RemoteAddr != ann.RemoteAddr || ev.UserAgent != ann.UserAgent ||
				ev.Result != store.ResultSuccess || ev.Message != tt.msg || ev.Details["rule"] != tt.rule {
				t.Fatalf("audit event %+v", ev)
			}
			if e.src.State().Revision != e.revision(t) {
				t.Fatal("this instance did not reload after the change")
			}
			tt.checkApplied(t)
			if tt.stale == nil {
				return
			}
			rev := e.revision(t)
			wantCode(t, tt.stale(), broker.ECONFLICT)
			if e.revision(t) != rev {
				t.Fatal("a refused change moved the revision")
			}
			if n := len(e.audit(t, tt.event)); n != before+1 {
				t.Fatalf("a refused change was audited (%d events)", n)
			}
		})
	}
}

func TestAdminSaveWithoutChangeKeepsVersion(t *testing.T) {
	ctx := context.Background()
	e := seeded(t)
	saved, changed, err := e.admin.Update(ctx, ann, devRule("devs", "dev", "Developer"), 1)
	if err != nil || changed || saved.Version != 1 {
		t.Fatalf("unchanged save: %+v %v %v", saved, changed, err)
	}
	if _, changed, err := e.admin.SetEnabled(ctx, ann, "devs", true, 1); err != nil || changed {
		t.Fatalf("enable an enabled rule: %v %v", changed, err)
	}
	if e.version(t, "devs") != 1 || len(e.audit(t, EventRuleSaved)) != 0 {
		t.Fatal("an unchanged save was written or audited")
	}
	// From a stale version it is a conflict, even unchanged.
	if _, err := e.admin.Create(ctx, ann, devRule("x", "x", "X")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.admin.Update(ctx, ann, devRule("x", "x", "Y"), 1); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.admin.Update(ctx, ann, devRule("x", "x", "Y"), 1)
	wantCode(t, err, broker.ECONFLICT)
	_, _, err = e.admin.Update(ctx, ann, devRule("ghost", "x", "Y"), 1)
	wantCode(t, err, broker.ENOTFOUND)
	_, _, err = e.admin.Update(ctx, ann, devRule("x", "x", "Y"), 0)
	wantCode(t, err, broker.EINVALID)
}

// Every change checks the whole candidate set and says where each problem is.
func TestAdminRefusesSetsThatDoNotCompile(t *testing.T) {
	ctx := context.Background()
	e := seeded(t)
	bad := mapping.Rule{Name: "bad", When: mapping.Group{All: []mapping.Condition{{Attribute: "g", Equals: "x"}, {Attribute: "g", Regex: "("}}},
		Grant: mapping.GrantSpec{Account: "nowhere", Role: "X"}}
	rev := e.revision(t)
	_, err := e.admin.Create(ctx, ann, bad)
	wantCode(t, err, broker.EINVALID)
	if broker.ErrorReason(err) != ReasonRulesInvalid {
		t.Fatalf("reason %q", broker.ErrorReason(err))
	}
	ps := ProblemsOf(err)
	fields := map[string]bool{}
	for _, p := range ps {
		if p.Rule != "bad" || p.Index != 1 {
			t.Fatalf("problem %+v not located on rule bad at index 1", p)
		}
		fields[p.Field] = true
	}
	if !fields["when.all[1].regex"] || len(ps) < 2 {
		t.Fatalf("problems %+v", ps)
	}
	own, others := ps.Split("bad")
	if len(own) != len(ps) || others != nil {
		t.Fatalf("split %v / %v", own, others)
	}
	if e.revision(t) != rev || len(e.audit(t, EventRuleSaved)) != 0 {
		t.Fatal("a refused rule was saved or audited")
	}

	// Check changes nothing and reports the same.
	cand, err := e.admin.Candidate(ctx, "", &bad)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.admin.Check(ctx, cand, nil); err != nil || len(got) != len(ps) {
		t.Fatalf("Check: %v %v", got, err)
	}
	if got, _ := e.admin.Check(ctx, cand[:1], nil); got != nil {
		t.Fatalf("the stored rules do not check: %v", got)
	}

	// Removing the alias the rule uses, or renaming it, is refused, with the rule named.
	err = e.admin.DeleteAccount(ctx, ann, "111122223333")
	wantCode(t, err, broker.EINVALID)
	if broker.ErrorReason(err) != ReasonAccountsBreakRules || !strings.Contains(broker.ErrorMessage(err), "sandbox") {
		t.Fatalf("delete used account: %v", err)
	}
	err = e.admin.SaveAccount(ctx, ann, mapping.Account{ID: "111122223333", Alias: "renamed"})
	wantCode(t, err, broker.EINVALID)
	// So is an alias another account has.
	err = e.admin.SaveAccount(ctx, ann, mapping.Account{ID: "777788889999", Alias: "sandbox"})
	if c := broker.ErrorCode(err); c != broker.EINVALID && c != broker.ECONFLICT {
		t.Fatalf("taken alias: %v", err)
	}
	if n := len(e.audit(t, EventAccountSaved)); n != 0 {
		t.Fatalf("refused account saves were audited (%d)", n)
	}

	// A version that no longer fits is refused on revert.
	if err := e.admin.SaveAccount(ctx, ann, mapping.Account{ID: "444455556666", Alias: "prod"}); err != nil {
		t.Fatal(err)
	}
	r := devRule("devs", "dev", "Developer")
	r.Grant.Account = "prod"
	if _, _, err := e.admin.Update(ctx, ann, r, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.DeleteAccount(ctx, ann, "111122223333"); err != nil {
		t.Fatal(err)
	}
	h, _ := e.db.RuleHistory(ctx, "devs")
	_, _, err = e.admin.Revert(ctx, ann, "devs", h[1].ID, 2)
	wantCode(t, err, broker.EINVALID)
	if broker.ErrorReason(err) != ReasonRevertInvalid || !strings.Contains(broker.ErrorMessage(err), "sandbox") {
		t.Fatalf("revert: %v", err)
	}
}

// A change is checked against the store, not against this instance's
// snapshot, which may be behind.
func TestAdminChecksTheStoreNotTheSnapshot(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "b.db")
	if ok, err := adminOn(t, openStore(t, path)).Seed(ctx, []mapping.Rule{devRule("devs", "dev", "Developer")}, accounts); err != nil || !ok {
		t.Fatal(ok, err)
	}
	a, b := newAdminEnv(t, openStore(t, path)), newAdminEnv(t, openStore(t, path))
	// On B: a new account and a rule using it. A has not polled.
	if err := b.admin.SaveAccount(ctx, ann, mapping.Account{ID: "444455556666", Alias: "prod"}); err != nil {
		t.Fatal(err)
	}
	ops := devRule("ops", "ops", "Operator")
	ops.Grant.Account = "prod"
	if _, err := b.admin.Create(ctx, ann, ops); err != nil {
		t.Fatal(err)
	}
	if len(a.src.State().Accounts) != 1 {
		t.Fatal("A polled; the test needs it behind")
	}
	// On A: removing prod would break B's rule.
	err := a.admin.DeleteAccount(ctx, ann, "444455556666")
	wantCode(t, err, broker.EINVALID)
	// A rule named like B's is a conflict on A too.
	_, err = a.admin.Create(ctx, ann, devRule("ops", "x", "X"))
	wantCode(t, err, broker.ECONFLICT)
	// A moves a rule from what the store has; A's instance reloads.
	if _, moved, err := a.admin.Move(ctx, ann, "ops", MoveTop, b.revision(t)); err != nil || !moved {
		t.Fatalf("move on A: %v %v", moved, err)
	}
	if st := a.src.State(); len(st.Rules) != 2 || st.Rules[0].Name != "ops" {
		t.Fatalf("A after the move: %+v", st.Rules)
	}
}

// A stored rule that does not decode blocks changes that keep it, and can
// be replaced or deleted.
func TestAdminUnreadableStoredRule(t *testing.T) {
	ctx := context.Background()
	e := seeded(t)
	if _, err := e.db.PutRule(ctx, "typo", []byte(`{"name":"typo","wehn":{}}`), 0, "mallory", ""); err != nil {
		t.Fatal(err)
	}
	snap, err := e.admin.Current(ctx)
	if err != nil || len(snap.Rules) != 1 || len(snap.Unreadable) != 1 || snap.Unreadable[0].Rule != "typo" {
		t.Fatalf("snapshot %+v %v", snap, err)
	}
	_, err = e.admin.Create(ctx, ann, devRule("ops", "ops", "Operator"))
	if ps := ProblemsOf(err); len(ps) != 1 || ps[0].Rule != "typo" || ps[0].Index != 1 {
		t.Fatalf("create beside an unreadable rule: %v", err)
	}
	fixed := devRule("typo", "t", "T")
	if _, changed, err := e.admin.Update(ctx, ann, fixed, 1); err != nil || !changed {
		t.Fatalf("replacing the unreadable rule: %v", err)
	}
	if err := e.admin.Delete(ctx, ann, "typo", 2); err != nil {
		t.Fatal(err)
	}
}

// ReplaceAll with accounts counts its own account writes against the
// revision it was given; a change made in between is refused.
func TestAdminReplaceAllWithAccounts(t *testing.T) {
	ctx := context.Background()
	e := seeded(t)
	prod := []mapping.Account{{ID: "444455556666", Alias: "prod"}, {ID: "555566667777", Alias: "stage"}}
	r := devRule("devs", "dev", "Developer")
	r.Grant.Account = "prod"
	snap, err := e.admin.ReplaceAll(ctx, CLIActor("ci"), []mapping.Rule{r}, prod, e.revision(t), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Accounts) != 2 || snap.Revision != e.revision(t) || len(snap.Rules) != 1 || snap.Rules[0].Grant.Account != "prod" {
		t.Fatalf("after replace: %+v", snap)
	}
	evs := e.audit(t, EventRulesReplaced)
	if len(evs) != 1 || evs[0].Subject != "cli:ci" || evs[0].Message != "1 rules, 2 accounts" {
		t.Fatalf("audit %+v", evs)
	}
	_, err = e.admin.ReplaceAll(ctx, CLIActor("ci"), nil, accounts, snap.Revision-1, true)
	wantCode(t, err, broker.ECONFLICT)
	if a, _ := e.db.Accounts(ctx); len(a) != 2 {
		t.Fatalf("a stale replace changed the accounts: %v", a)
	}
}

// The seed writes one audit event as "seed", and two instances starting
// together on one store seed it once.
func TestSeedAuditsAndSeedsOnceWhenInstancesStartTogether(t *testing.T) {
	ctx := context.Background()
	for round := range 3 {
		path := filepath.Join(t.TempDir(), "broker.db")
		const n = 2
		admins := make([]*Admin, n)
		for i := range admins {
			a, err := NewAdmin(AdminConfig{Store: openStore(t, path)})
			if err != nil {
				t.Fatal(err)
			}
			admins[i] = a
		}
		rules := [][]mapping.Rule{
			{devRule("devs", "dev", "Developer"), devRule("ops", "ops", "Operator")},
			{devRule("other", "x", "X")},
		}
		accts := []mapping.Account{{ID: "111122223333", Alias: "sandbox"}, {ID: "444455556666", Alias: "prod"}}
		var wg sync.WaitGroup
		start := make(chan struct{})
		seededBy := make([]bool, n)
		errs := make([]error, n)
		for i := range admins {
			wg.Go(func() {
				<-start
				seededBy[i], errs[i] = admins[i].Seed(ctx, rules[i], accts)
			})
		}
		close(start)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if seededBy[0] == seededBy[1] {
			t.Fatalf("round %d: seeded by %v", round, seededBy)
		}
		winner := 0
		if seededBy[1] {
			winner = 1
		}
		db := openStore(t, path)
		set, _ := db.Rules(ctx)
		if len(set.Rules) != len(rules[winner]) {
			t.Fatalf("round %d: the store has %d rules, the winner seeded %d", round, len(set.Rules), len(rules[winner]))
		}
		for _, r := range set.Rules {
			h, _ := db.RuleHistory(ctx, r.Name)
			if len(h) != 1 || h[0].Action != "create" || h[0].Actor != SeedActor {
				t.Fatalf("round %d: history of %s: %+v", round, r.Name, h)
			}
		}
		evs, _ := db.ListAudit(ctx, store.AuditFilter{Event: EventRulesSeeded})
		if len(evs) != 1 || evs[0].Subject != SeedActor || evs[0].Message != "2 rules, 2 accounts" && evs[0].Message != "1 rules, 2 accounts" {
			t.Fatalf("round %d: seed audit %+v", round, evs)
		}
		// A restart seeds nothing and audits nothing.
		if ok, err := admins[0].Seed(ctx, rules[0], accts); ok || err != nil {
			t.Fatalf("round %d: restart seeded %v %v", round, ok, err)
		}
		if evs, _ := db.ListAudit(ctx, store.AuditFilter{Event: EventRulesSeeded}); len(evs) != 1 {
			t.Fatalf("round %d: restart audited", round)
		}
	}
}

// Seed refuses rules that do not compile and writes nothing.
func TestSeedRefusesBadRules(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, ":memory:")
	bad := devRule("devs", "dev", "Developer")
	bad.Grant.Account = "nowhere"
	_, err := adminOn(t, db).Seed(ctx, []mapping.Rule{bad}, accounts)
	if ps := ProblemsOf(err); len(ps) == 0 || ps[0].Rule != "devs" {
		t.Fatalf("seed of a bad rule: %v", err)
	}
	if rev, _ := db.RulesRevision(ctx); rev != 0 {
		t.Fatalf("a refused seed wrote (revision %d)", rev)
	}
}

func recordSignIn(tb testing.TB, db *sqlstore.DB, subject string, groups ...string) {
	tb.Helper()
	b, _ := json.Marshal(broker.Identity{Provider: "okta", Subject: subject, Attributes: map[string][]string{"groups": groups}})
	if err := db.RecordSignIn(context.Background(), &store.SignIn{Provider: "okta", Subject: subject, Identity: b}); err != nil {
		tb.Fatal(err)
	}
}

func TestAdminSimulateAndImpactPreview(t *testing.T) {
	ctx := context.Background()
	e := seeded(t)
	recordSignIn(t, e.db, "bob", "dev")
	recordSignIn(t, e.db, "carol", "ops")

	bob, err := e.admin.RecentIdentity(ctx, "okta", "bob")
	if err != nil || bob.Subject != "bob" {
		t.Fatalf("recent identity: %+v %v", bob, err)
	}
	_, err = e.admin.RecentIdentity(ctx, "okta", "nobody")
	wantCode(t, err, broker.ENOTFOUND)

	sim, err := e.admin.Simulate(ctx, nil, bob)
	if err != nil || len(sim.Grants) != 1 || sim.Grants[0].RoleARN != "arn:aws:iam::111122223333:role/Developer" || len(sim.Trace) != 1 || sim.Identity != bob {
		t.Fatalf("simulate in force: %+v %v", sim, err)
	}
	ops := devRule("ops", "ops", "Operator")
	cand, err := e.admin.Candidate(ctx, "", &ops)
	if err != nil || len(cand) != 2 {
		t.Fatalf("candidate %v %v", cand, err)
	}
	carol, _ := e.admin.RecentIdentity(ctx, "okta", "carol")
	if sim, err := e.admin.Simulate(ctx, cand, carol); err != nil || len(sim.Grants) != 1 || sim.Grants[0].Rule != "ops" {
		t.Fatalf("simulate candidate: %+v %v", sim, err)
	}
	bad := devRule("bad", "x", "X")
	bad.Grant.Account = "nowhere"
	if _, err := e.admin.Simulate(ctx, []mapping.Rule{bad}, carol); ProblemsOf(err) == nil || broker.ErrorCode(err) != broker.EINVALID {
		t.Fatalf("simulate bad candidate: %v", err)
	}

	// Adding ops and dropping devs: carol gains, bob loses.
	without, err := e.admin.Candidate(ctx, "devs", nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.admin.ImpactPreview(ctx, nil, append(without, ops), 0)
	if err != nil || rep.Checked != 2 || len(rep.Changed) != 2 {
		t.Fatalf("impact %+v %v", rep, err)
	}
	for _, row := range rep.Changed {
		switch row.Identity.Subject {
		case "carol":
			if len(row.Gained) != 1 || !strings.HasSuffix(row.Gained[0].RoleARN, "role/Operator") || len(row.Lost) != 0 {
				t.Fatalf("carol %+v", row)
			}
		case "bob":
			if len(row.Lost) != 1 || !strings.HasSuffix(row.Lost[0].RoleARN, "role/Developer") || len(row.Gained) != 0 {
				t.Fatalf("bob %+v", row)
			}
		default:
			t.Fatalf("row %+v", row)
		}
	}
	if rep, err := e.admin.ImpactPreview(ctx, nil, nil, 1); err != nil || rep.Checked != 1 || len(rep.Changed) != 0 {
		t.Fatalf("no change: %+v %v", rep, err)
	}
	if len(e.audit(t, "")) != 1 { // the seed's only: previews change nothing
		t.Fatalf("previews wrote audit events: %+v", e.audit(t, ""))
	}
}

func TestCheckAndProblems(t *testing.T) {
	if ps := Check([]mapping.Rule{devRule("devs", "dev", "Developer")}, mapping.Options{Accounts: accounts}); ps != nil {
		t.Fatalf("good rules: %v", ps)
	}
	bad := devRule("devs", "dev", "Developer")
	bad.When.All[0].Regex, bad.When.All[0].Equals = "(", ""
	nameless := devRule("", "x", "X")
	ps := Check([]mapping.Rule{devRule("ok", "x", "X"), bad, nameless}, mapping.Options{Accounts: []mapping.Account{{ID: "12", Alias: "a"}}})
	var acct, regex, name bool
	for _, p := range ps {
		switch {
		case p.Index == -1 && p.Field == "accounts[0].id":
			acct = true
		case p.Rule == "devs" && p.Index == 1 && p.Field == "when.all[0].regex":
			regex = true
			if !strings.HasPrefix(p.Error(), "rule devs: when.all[0].regex: ") {
				t.Errorf("Error() = %q", p.Error())
			}
		case p.Rule == "" && p.Index == 2 && p.Field == "name":
			name = true
			if !strings.HasPrefix(p.Error(), "rule #3: name: ") {
				t.Errorf("Error() = %q", p.Error())
			}
		}
	}
	if !acct || !regex || !name {
		t.Fatalf("problems %+v", ps)
	}
	own, others := ps.Split("devs")
	if len(own)+len(others) != len(ps) || len(own) < 2 { // devs' regex and the nameless rule's name
		t.Fatalf("split %v / %v", own, others)
	}
	if s := ps.Summary("devs"); !strings.Contains(s, "; ") || !strings.Contains(s, "accounts[0].id") {
		t.Fatalf("summary %q", s)
	}
	if len(ProblemsOf(broker.Wrap(ps, broker.EINVALID, "x", "y"))) != len(ps) || len(ProblemsOf(ps)) != len(ps) || ProblemsOf(errors.New("x")) != nil {
		t.Fatal("ProblemsOf does not find wrapped problems")
	}
}
