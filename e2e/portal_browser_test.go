package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/ruleset"
	"github.com/broker-dev/broker/store"
)

// seedScale gives group engineering n more roles on a running dev stack:
// two per account (Administrator and ReadOnly) in n/2 accounts aliased
// team-NNN and labelled "Team NNN", as web/portal's newScaleEnv does.
func seedScale(t *testing.T, st *devstack.Stack, n int) {
	t.Helper()
	ctx := context.Background()
	db := st.App.Store
	set, err := db.Rules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var named []store.NamedRule
	for _, r := range set.Rules {
		named = append(named, store.NamedRule{Name: r.Name, Rule: r.Rule})
	}
	when := mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "engineering"}}}
	for i := range n / 2 {
		alias := fmt.Sprintf("team-%03d", i)
		if err := db.PutAccount(ctx, store.Account{ID: fmt.Sprintf("%012d", 100000000000+i), Alias: alias, Label: fmt.Sprintf("Team %03d", i)}, "test"); err != nil {
			t.Fatal(err)
		}
		admin := mapping.Rule{Name: alias + "-admin", When: when, Grant: mapping.GrantSpec{Account: alias, Role: "Admin", Label: "Administrator",
			Duration: mapping.Duration(8 * time.Hour)}}
		ro := mapping.Rule{Name: alias + "-ro", When: when, Grant: mapping.GrantSpec{Account: alias, Role: "ReadOnly", Label: "Read only"}}
		named = append(named, store.NamedRule{Name: admin.Name, Rule: ruleset.Encode(admin)}, store.NamedRule{Name: ro.Name, Rule: ruleset.Encode(ro)})
	}
	rev, err := db.RulesRevision(ctx) // accounts count as rule changes
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ReplaceRules(ctx, named, rev, "test"); err != nil {
		t.Fatal(err)
	}
	if err := st.App.Rules.Reload(ctx); err != nil {
		t.Fatal(err)
	}
}

// The portal at 1,000 roles in Debian's chromium (e2e/browser/portal.mjs):
// typing a search finds the role and hides the others without a reload; a
// pin survives signing out and in, at the top; axe-core finds no serious
// or critical violation; a 375 px wide phone needs no horizontal scroll.
// It reports how long the page takes to load and the search to answer.
func TestPortalAtScaleInBrowser(t *testing.T) {
	node, chromium := browserDeps(t)
	st := startStack(t)
	seedScale(t, st, 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const roleARN = "arn:aws:iam::100000000373:role/ReadOnly"
	cmd := exec.CommandContext(ctx, node, "portal.mjs")
	cmd.Dir = "browser"
	cmd.Env = append(os.Environ(),
		"BROKER_URL="+st.BrokerURL, "CHROMIUM="+chromium,
		"TARGET_USER=alice", "TARGET_PASSWORD="+password(t, st, "alice"),
		"MIN_ROLES=1000", "QUERY=team-373 read", "ROLE_ARN="+roleARN,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("browser:\n%s", out)
	if err != nil {
		t.Fatalf("browser scenario failed: %v", err)
	}
	// The pin went through the store, as alice's.
	favs, err := st.App.Store.Favourites(context.Background(), "demo", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(favs) != 1 || !strings.HasPrefix(favs[0], roleARN+"|") {
		t.Fatalf("alice's favourites %q, want the pinned %s", favs, roleARN)
	}
}
