package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/store/sqlstore/sqltest"
)

// browserDeps finds node, chromium and the npm packages of e2e/browser, or
// skips (fails when BROKER_REQUIRE_BROWSER=1, as in CI).
func browserDeps(t *testing.T) (node, chromium string) {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("BROKER_REQUIRE_BROWSER") == "1" {
			t.Fatalf("BROKER_REQUIRE_BROWSER=1 but %s", what)
		}
		t.Skipf("browser test skipped: %s (run .ci/run, or install chromium and `npm ci --prefix e2e/browser`)", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		for _, c := range []string{"chromium", "chromium-browser"} {
			if p, err := exec.LookPath(c); err == nil {
				chromium = p
				break
			}
		}
	}
	if chromium == "" {
		missing("chromium is not installed")
	}
	if _, err := os.Stat(filepath.Join("browser", "node_modules", "playwright-core")); err != nil {
		missing("e2e/browser/node_modules is missing")
	}
	return node, chromium
}

// An admin, in Debian's chromium, creates a rule, simulates it, previews
// its impact and saves it; the affected user then signs in and sees the
// new role. Runs on PostgreSQL when BROKER_TEST_POSTGRES_DSN is set.
func TestAdminCreatesRuleInBrowser(t *testing.T) {
	node, chromium := browserDeps(t)
	st := startStackWith(t, devstack.Options{PostgresDSN: sqltest.PostgresSchema(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "admin.mjs")
	cmd.Dir = "browser"
	cmd.Env = append(os.Environ(),
		"BROKER_URL="+st.BrokerURL, "CHROMIUM="+chromium,
		"ADMIN_USER=alice", "ADMIN_PASSWORD="+password(t, st, "alice"),
		"TARGET_USER=carol", "TARGET_PASSWORD="+password(t, st, "carol"),
		"ROLE_ARN=arn:aws:iam::"+devstack.ProductionAccount+":role/ReadOnly",
	)
	out, err := cmd.CombinedOutput()
	t.Logf("browser:\n%s", out)
	if err != nil {
		t.Fatalf("browser scenario failed: %v", err)
	}
	// The save really went through the store, attributed to the admin.
	set, err := st.App.Store.Rules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range set.Rules {
		if r.Name == "finance-readonly" {
			found = strings.HasPrefix(r.UpdatedBy, "demo/") && r.Version == 1
		}
	}
	if !found {
		t.Fatalf("rule not in the store: %+v", set.Rules)
	}
}
