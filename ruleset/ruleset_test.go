package ruleset

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store/sqlstore"
)

func openStore(t *testing.T, path string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{DSN: path, Keys: [][]byte{bytes.Repeat([]byte{7}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func devRule(name, group, role string) mapping.Rule {
	return mapping.Rule{Name: name, When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: group}}},
		Grant: mapping.GrantSpec{Account: "sandbox", Role: role}}
}

var accounts = []mapping.Account{{ID: "111122223333", Alias: "sandbox"}}

func roles(e *mapping.Engine, groups ...string) []string {
	d := e.Evaluate(&broker.Identity{Provider: "okta", Attributes: map[string][]string{"groups": groups}})
	var out []string
	for _, g := range d.Grants {
		out = append(out, g.RoleARN)
	}
	return out
}

// adminOn is the rule-administration service on a store, without a Source.
func adminOn(t *testing.T, db AdminStore) *Admin {
	t.Helper()
	a, err := NewAdmin(AdminConfig{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// apply replaces every rule and the accounts (nil: keep them), without a
// revision check, as `broker rules apply` run from git would, and returns
// the new revision.
func apply(t *testing.T, db AdminStore, rules []mapping.Rule, accounts []mapping.Account) (int64, error) {
	t.Helper()
	snap, err := adminOn(t, db).ReplaceAll(context.Background(), Actor{ID: "cli:git"}, rules, accounts, -1, false)
	if err != nil {
		return 0, err
	}
	return snap.Revision, nil
}

func TestSeedOnceAndShareAcrossInstances(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "broker.db")
	a, b := openStore(t, path), openStore(t, path)

	seeded, err := adminOn(t, a).Seed(ctx, []mapping.Rule{devRule("devs", "dev", "Developer")}, accounts)
	if err != nil || !seeded {
		t.Fatalf("first seed: %v %v", seeded, err)
	}
	// A second instance (or a restart) does not seed again: the store is the truth.
	if seeded, err := adminOn(t, b).Seed(ctx, []mapping.Rule{devRule("other", "x", "X")}, accounts); err != nil || seeded {
		t.Fatalf("second seed: %v %v", seeded, err)
	}
	srcA, err := New(ctx, Config{Store: a})
	if err != nil {
		t.Fatal(err)
	}
	srcB, err := New(ctx, Config{Store: b})
	if err != nil {
		t.Fatal(err)
	}
	if got := roles(srcB.Engine(), "dev"); len(got) != 1 || got[0] != "arn:aws:iam::111122223333:role/Developer" {
		t.Fatalf("instance B grants %v", got)
	}

	// Instance A saves a rule; B's poller picks it up.
	if _, err := a.PutRule(ctx, "ops", Encode(devRule("ops", "ops", "Admin")), 0, "alice", "create"); err != nil {
		t.Fatal(err)
	}
	if err := srcA.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := roles(srcA.Engine(), "ops"); len(got) != 1 {
		t.Fatalf("instance A after save: %v", got)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go srcB.Run(runCtx, 20*time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for len(roles(srcB.Engine(), "ops")) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("instance B never loaded the rule saved on A")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := srcB.State(); st.Revision != srcA.State().Revision || len(st.Rules) != 2 || st.Rules[1].UpdatedBy != "alice" || st.Rules[1].Version != 1 {
		t.Fatalf("B state %+v", st)
	}
}

func TestBrokenStoredRulesFailClosed(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, filepath.Join(t.TempDir(), "b.db"))
	deny := mapping.Rule{Name: "no-contractors", Effect: "deny", When: mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "contractors"}}}}
	if _, err := apply(t, db, []mapping.Rule{devRule("devs", "dev", "Developer"), deny}, accounts); err != nil {
		t.Fatal(err)
	}
	src, err := New(ctx, Config{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	if got := roles(src.Engine(), "dev", "contractors"); len(got) != 0 {
		t.Fatalf("deny rule not in force: %v", got)
	}
	// Someone writes a rule the engine cannot compile straight into the store.
	if _, err := db.PutRule(ctx, "bad", []byte(`{"name":"bad","when":{"all":[{"attribute":"g","regex":"("}]},"grant":{"account":"sandbox","role":"X"}}`), 0, "mallory", ""); err != nil {
		t.Fatal(err)
	}
	if err := src.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	st := src.State()
	if st.CompileErr == nil {
		t.Fatal("compile error not reported")
	}
	if got := roles(st.Engine, "dev", "contractors"); len(got) != 0 {
		t.Fatalf("the deny rule was dropped with the bad rule: %v", got)
	}
	if got := roles(st.Engine, "dev"); len(got) != 1 {
		t.Fatalf("previous rules not kept: %v", got)
	}

	// A fresh instance with no previous engine grants nothing.
	src2, err := New(ctx, Config{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	if src2.State().CompileErr == nil || len(roles(src2.Engine(), "dev")) != 0 {
		t.Fatal("a fresh instance with broken rules must fail closed")
	}
}

func TestReplaceAllWithoutRevision(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, filepath.Join(t.TempDir(), "b.db"))
	rev1, err := apply(t, db, []mapping.Rule{devRule("devs", "dev", "Developer")}, accounts)
	if err != nil {
		t.Fatal(err)
	}
	// Rules that do not compile are refused and nothing changes.
	_, err = apply(t, db, []mapping.Rule{devRule("devs", "dev", "Developer"), devRule("x", "x", "X")},
		[]mapping.Account{{ID: "444455556666", Alias: "prod"}})
	if err == nil {
		t.Fatal("rules naming a removed alias were applied")
	}
	if rev, _ := db.RulesRevision(ctx); rev != rev1 {
		t.Fatalf("a refused apply moved the revision %d → %d", rev1, rev)
	}
	// Moving to a new account and alias in one apply.
	newAccts := []mapping.Account{{ID: "444455556666", Alias: "prod"}}
	r := devRule("devs", "dev", "Developer")
	r.Grant.Account = "prod"
	if _, err := apply(t, db, []mapping.Rule{r}, newAccts); err != nil {
		t.Fatal(err)
	}
	src, _ := New(ctx, Config{Store: db})
	if got := roles(src.Engine(), "dev"); len(got) != 1 || got[0] != "arn:aws:iam::444455556666:role/Developer" {
		t.Fatalf("after apply: %v", got)
	}
	if a, _ := db.Accounts(ctx); len(a) != 1 || a[0].ID != "444455556666" {
		t.Fatalf("accounts %v", a)
	}
	// nil accounts keeps the store's.
	if _, err := apply(t, db, []mapping.Rule{r}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeRejectsUnknownFields(t *testing.T) {
	if _, err := Decode([]byte(`{"name":"x","wehn":{}}`)); err == nil {
		t.Fatal("a misspelt field was accepted")
	}
	r := devRule("devs", "dev", "Developer")
	r.Grant.Duration = mapping.Duration(2 * time.Hour)
	got, err := Decode(Encode(r))
	if err != nil || got.Grant.Duration != r.Grant.Duration || got.When.All[0].Equals != "dev" {
		t.Fatalf("round trip: %+v %v", got, err)
	}
}
