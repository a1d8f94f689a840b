package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/store"
)

func ruleNames(set store.RuleSet) []string {
	var out []string
	for _, r := range set.Rules {
		out = append(out, r.Name)
	}
	return out
}

func mustRules(t *testing.T, s store.Store) store.RuleSet {
	t.Helper()
	set, err := s.Rules(context.Background())
	if err != nil {
		t.Fatalf("Rules: %v", err)
	}
	return set
}

func testRulesVersioned(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if set := mustRules(t, s); set.Revision != 0 || len(set.Rules) != 0 {
		t.Fatalf("empty store has %+v", set)
	}
	r1, err := s.PutRule(ctx, "admins", []byte(`{"v":1}`), 0, "alice", "")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if r1.Version != 1 || r1.Position != 0 {
		t.Fatalf("created %+v, want version 1 at position 0", r1)
	}
	wantCode(t, func() error { _, err := s.PutRule(ctx, "admins", []byte(`{}`), 0, "bob", ""); return err }(), broker.ECONFLICT)
	wantCode(t, func() error { _, err := s.PutRule(ctx, "ghost", []byte(`{}`), 3, "bob", ""); return err }(), broker.ENOTFOUND)

	clock.Advance(time.Minute)
	r2, err := s.PutRule(ctx, "admins", []byte(`{"v":2}`), 1, "bob", "update")
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if r2.Version != 2 {
		t.Fatalf("updated version %d, want 2", r2.Version)
	}
	// A second admin who also opened version 1 is refused; nothing is lost.
	_, err = s.PutRule(ctx, "admins", []byte(`{"v":"stale"}`), 1, "carol", "update")
	wantCode(t, err, broker.ECONFLICT)
	if broker.ErrorMessage(err) == "" {
		t.Fatal("conflict has no message for the admin")
	}
	set := mustRules(t, s)
	if len(set.Rules) != 1 || string(set.Rules[0].Rule) != `{"v":2}` || set.Rules[0].UpdatedBy != "bob" || !set.Rules[0].UpdatedAt.Equal(clock.Now()) {
		t.Fatalf("after conflict: %+v", set.Rules)
	}
	if set.Revision != 2 {
		t.Fatalf("revision %d after two saves, want 2", set.Revision)
	}

	// Revert to version 1 is a new version with the old body.
	h, err := s.RuleHistory(ctx, "admins")
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].Version != 2 || h[1].Version != 1 || h[1].Action != "create" || h[0].Actor != "bob" || h[1].Actor != "alice" {
		t.Fatalf("history %+v", h)
	}
	r3, err := s.PutRule(ctx, "admins", h[1].Rule, 2, "alice", "revert to 1")
	if err != nil {
		t.Fatal(err)
	}
	if r3.Version != 3 || string(mustRules(t, s).Rules[0].Rule) != `{"v":1}` {
		t.Fatalf("revert: %+v", r3)
	}
	h, _ = s.RuleHistory(ctx, "admins")
	if len(h) != 3 || h[0].Action != "revert to 1" {
		t.Fatalf("history after revert %+v", h)
	}

	wantCode(t, s.DeleteRule(ctx, "admins", 2, "bob"), broker.ECONFLICT)
	wantCode(t, s.DeleteRule(ctx, "nope", 1, "bob"), broker.ENOTFOUND)
	if err := s.DeleteRule(ctx, "admins", 3, "bob"); err != nil {
		t.Fatal(err)
	}
	h, _ = s.RuleHistory(ctx, "admins")
	if len(h) != 4 || h[0].Action != "delete" || h[0].Rule != nil {
		t.Fatalf("history after delete %+v", h)
	}
	del, err := s.DeletedRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(del) != 1 || del[0].Name != "admins" || del[0].Actor != "bob" {
		t.Fatalf("deleted rules %+v", del)
	}
	// The deleted rule can be restored from its history, and is then no
	// longer listed as deleted.
	if _, err := s.PutRule(ctx, "admins", h[1].Rule, 0, "bob", "restore"); err != nil {
		t.Fatal(err)
	}
	if del, _ := s.DeletedRules(ctx); len(del) != 0 {
		t.Fatalf("restored rule still listed as deleted: %+v", del)
	}
	if rev, _ := s.RulesRevision(ctx); rev != 5 {
		t.Fatalf("revision %d, want 5", rev)
	}
}

func testRulesConcurrentSaves(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	if _, err := s.PutRule(ctx, "r", []byte(`{}`), 0, "a", ""); err != nil {
		t.Fatal(err)
	}
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.PutRule(ctx, "r", []byte(fmt.Sprintf(`{"n":%d}`, i)), 1, fmt.Sprint("admin", i), "update")
			switch broker.ErrorCode(err) {
			case "":
				wins.Add(1)
			case broker.ECONFLICT:
				conflicts.Add(1)
			default:
				t.Errorf("PutRule: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != 7 {
		t.Fatalf("%d wins, %d conflicts; want 1 and 7", wins.Load(), conflicts.Load())
	}
	if h, _ := s.RuleHistory(ctx, "r"); len(h) != 2 {
		t.Fatalf("history has %d entries, want 2", len(h))
	}
}

func testRulesOrder(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	for _, n := range []string{"a", "b", "c"} {
		if _, err := s.PutRule(ctx, n, []byte(`{"name":"`+n+`"}`), 0, "x", ""); err != nil {
			t.Fatal(err)
		}
	}
	set := mustRules(t, s)
	if got := fmt.Sprint(ruleNames(set)); got != "[a b c]" {
		t.Fatalf("order %s", got)
	}
	wantCode(t, s.ReorderRules(ctx, []string{"c", "a"}, set.Revision, "x"), broker.EINVALID)
	wantCode(t, s.ReorderRules(ctx, []string{"c", "a", "a"}, set.Revision, "x"), broker.EINVALID)
	wantCode(t, s.ReorderRules(ctx, []string{"c", "a", "b"}, set.Revision-1, "x"), broker.ECONFLICT)
	if err := s.ReorderRules(ctx, []string{"c", "a", "b"}, set.Revision, "x"); err != nil {
		t.Fatal(err)
	}
	set2 := mustRules(t, s)
	if got := fmt.Sprint(ruleNames(set2)); got != "[c a b]" || set2.Revision != set.Revision+1 {
		t.Fatalf("after reorder %s rev %d", got, set2.Revision)
	}
	// A new rule goes last.
	if _, err := s.PutRule(ctx, "d", []byte(`{}`), 0, "x", ""); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ruleNames(mustRules(t, s))); got != "[c a b d]" {
		t.Fatalf("after create %s", got)
	}

	// Replace: b changes, a is deleted, e is created, order as given.
	set3, err := s.ReplaceRules(ctx, []store.NamedRule{
		{Name: "e", Rule: []byte(`{"name":"e"}`)},
		{Name: "b", Rule: []byte(`{"name":"b2"}`)},
		{Name: "c", Rule: []byte(`{"name":"c"}`)},
		{Name: "d", Rule: []byte(`{}`)},
	}, -1, "git")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ruleNames(set3)); got != "[e b c d]" {
		t.Fatalf("after replace %s", got)
	}
	for _, r := range set3.Rules {
		want := map[string]int64{"e": 1, "b": 2, "c": 1, "d": 1}[r.Name]
		if r.Version != want {
			t.Errorf("rule %s version %d, want %d", r.Name, r.Version, want)
		}
	}
	if h, _ := s.RuleHistory(ctx, "a"); len(h) == 0 || h[0].Action != "delete" || h[0].Actor != "git" {
		t.Fatalf("a's history %+v", h)
	}
	// Replacing with the same set changes nothing, not even the revision.
	set4, err := s.ReplaceRules(ctx, []store.NamedRule{
		{Name: "e", Rule: []byte(`{"name":"e"}`)}, {Name: "b", Rule: []byte(`{"name":"b2"}`)},
		{Name: "c", Rule: []byte(`{"name":"c"}`)}, {Name: "d", Rule: []byte(`{}`)},
	}, set3.Revision, "git")
	if err != nil {
		t.Fatal(err)
	}
	if set4.Revision != set3.Revision {
		t.Fatalf("no-op replace moved revision %d → %d", set3.Revision, set4.Revision)
	}
	_, err = s.ReplaceRules(ctx, []store.NamedRule{{Name: "x", Rule: []byte(`{}`)}}, set3.Revision-1, "git")
	wantCode(t, err, broker.ECONFLICT)
	_, err = s.ReplaceRules(ctx, []store.NamedRule{{Name: "x", Rule: []byte(`{}`)}, {Name: "x", Rule: []byte(`{}`)}}, -1, "git")
	wantCode(t, err, broker.EINVALID)
	if got := fmt.Sprint(ruleNames(mustRules(t, s))); got != "[e b c d]" {
		t.Fatalf("refused replace changed the rules: %s", got)
	}
}

func testAccounts(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	rev0, _ := s.RulesRevision(ctx)
	if err := s.PutAccount(ctx, store.Account{ID: "111122223333", Alias: "sandbox", Label: "Sandbox"}, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAccount(ctx, store.Account{ID: "444455556666", Alias: "prod"}, "alice"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.PutAccount(ctx, store.Account{ID: "777788889999", Alias: "prod"}, "alice"), broker.ECONFLICT)
	wantCode(t, s.PutAccount(ctx, store.Account{ID: "12345", Alias: "x"}, "alice"), broker.EINVALID)
	wantCode(t, s.PutAccount(ctx, store.Account{ID: "777788889999", Alias: "123456789012"}, "alice"), broker.EINVALID)
	if err := s.PutAccount(ctx, store.Account{ID: "444455556666", Alias: "production", Label: "Prod"}, "alice"); err != nil {
		t.Fatal(err)
	}
	accts, err := s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(accts); got != "[{111122223333 sandbox Sandbox} {444455556666 production Prod}]" {
		t.Fatalf("accounts %s", got)
	}
	if rev, _ := s.RulesRevision(ctx); rev != rev0+3 {
		t.Fatalf("account changes moved the revision %d → %d, want +3 (instances must reload aliases)", rev0, rev)
	}
	if err := s.DeleteAccount(ctx, "111122223333", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctx, "111122223333", "alice"); err != nil {
		t.Fatalf("deleting a missing account: %v", err)
	}
	if accts, _ := s.Accounts(ctx); len(accts) != 1 {
		t.Fatalf("after delete %v", accts)
	}
}

func testAPITokens(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	secret := "brk_secret-token-value"
	h := sha256.Sum256([]byte(secret))
	expires := clock.Now().Add(90 * 24 * time.Hour)
	tok := &store.APIToken{ID: "tok1", Name: "ci", Hash: h[:], CreatedBy: "okta/alice@example.com",
		CreatorProvider: "okta", CreatorSubject: "alice@example.com", Scopes: []string{"rules:read", "audit:read"}, ExpiresAt: expires}
	if err := s.CreateAPIToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	valid := func(id string, h byte) *store.APIToken {
		return &store.APIToken{ID: id, Name: id, Hash: bytes.Repeat([]byte{h}, 32), Scopes: []string{"rules:read"}, ExpiresAt: expires}
	}
	wantCode(t, s.CreateAPIToken(ctx, valid("tok1", 1)), broker.ECONFLICT)
	short := valid("tok2", 2)
	short.Hash = []byte{1}
	wantCode(t, s.CreateAPIToken(ctx, short), broker.EINVALID)
	noExpiry := valid("tok3", 3)
	noExpiry.ExpiresAt = time.Time{}
	wantCode(t, s.CreateAPIToken(ctx, noExpiry), broker.EINVALID)
	for _, scopes := range [][]string{nil, {}, {""}, {"rules:read rules:write"}} {
		noScope := valid("tok4", 4)
		noScope.Scopes = scopes
		wantCode(t, s.CreateAPIToken(ctx, noScope), broker.EINVALID)
	}
	clock.Advance(2 * time.Minute)
	got, err := s.APITokenByHash(ctx, h[:])
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "tok1" || got.Name != "ci" || got.CreatedBy != "okta/alice@example.com" || got.CreatorProvider != "okta" ||
		got.CreatorSubject != "alice@example.com" || fmt.Sprint(got.Scopes) != "[rules:read audit:read]" || !got.ExpiresAt.Equal(expires) {
		t.Fatalf("found %+v", got)
	}
	other := sha256.Sum256([]byte("brk_wrong"))
	_, err = s.APITokenByHash(ctx, other[:])
	wantCode(t, err, broker.ENOTFOUND)
	// An expired token is still found (the caller refuses it with its own
	// reason) and still listed, until it is revoked.
	clock.Advance(91 * 24 * time.Hour)
	if got, err := s.APITokenByHash(ctx, h[:]); err != nil || !got.ExpiresAt.Before(clock.Now()) {
		t.Fatalf("expired token: %+v %v", got, err)
	}
	list, err := s.APITokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !list[0].LastUsedAt.Equal(clock.Now()) || list[0].Hash != nil || !list[0].ExpiresAt.Equal(expires) ||
		fmt.Sprint(list[0].Scopes) != "[rules:read audit:read]" || list[0].CreatorSubject != "alice@example.com" {
		t.Fatalf("tokens %+v (last use, expiry and scopes must be kept; hashes never listed)", list)
	}
	if err := s.CreateAPIToken(ctx, valid("tok5", 5)); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.APITokens(ctx); len(list) != 2 || !list[1].LastUsedAt.IsZero() || list[1].CreatorProvider != "" {
		t.Fatalf("a token never used: %+v", list)
	}
	if err := s.DeleteAPIToken(ctx, "tok1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.APITokenByHash(ctx, h[:])
	wantCode(t, err, broker.ENOTFOUND)
}

func testSignIns(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	for i, who := range []string{"alice", "bob", "alice"} {
		id := []byte(fmt.Sprintf(`{"subject":%q,"n":%d}`, who, i))
		if err := s.RecordSignIn(ctx, &store.SignIn{Provider: "okta", Subject: who, Identity: id}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
	}
	if err := s.RecordSignIn(ctx, &store.SignIn{Provider: "entra", Subject: "alice", Identity: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	list, err := s.RecentSignIns(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range list {
		got = append(got, in.Provider+"/"+in.Subject+" "+string(in.Identity))
	}
	want := `[entra/alice {} okta/alice {"subject":"alice","n":2} okta/bob {"subject":"bob","n":1}]`
	if fmt.Sprint(got) != want {
		t.Fatalf("recent sign-ins\n got %s\nwant %s", fmt.Sprint(got), want)
	}
	if list, _ := s.RecentSignIns(ctx, 1); len(list) != 1 {
		t.Fatalf("limit 1 gave %d", len(list))
	}
	// One person's latest sign-in, by provider and subject.
	if in, err := s.SignIn(ctx, "okta", "alice"); err != nil || string(in.Identity) != `{"subject":"alice","n":2}` || in.Provider != "okta" || in.Subject != "alice" {
		t.Fatalf("SignIn(okta, alice) = %+v, %v", in, err)
	}
	for _, who := range [][2]string{{"okta", "carol"}, {"github", "alice"}, {"okta", "Alice"}} {
		_, err := s.SignIn(ctx, who[0], who[1])
		wantCode(t, err, broker.ENOTFOUND)
	}
	const retention = 90 * 24 * time.Hour
	clock.Advance(retention - 2*time.Minute) // bob's sign-in is now exactly the retention old
	if _, err := s.Purge(ctx, store.Retention{SignIns: retention}); err != nil {
		t.Fatal(err)
	}
	list, _ = s.RecentSignIns(ctx, 10)
	if len(list) != 2 {
		t.Fatalf("after purge %d sign-ins, want the 2 newer than the retention", len(list))
	}
	_, err = s.SignIn(ctx, "okta", "bob")
	wantCode(t, err, broker.ENOTFOUND) // purged
}
