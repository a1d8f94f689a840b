package e2e

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/mapping"
)

// missingProvider is an IAM SAML provider the production account of the
// local AWS does not have: a role granted through it is refused by AWS
// for a reason of the account's setup.
const missingProvider = "arn:aws:iam::" + devstack.ProductionAccount + ":saml-provider/broker-finance"

// TestAdminViewsInBrowser runs, in Debian's chromium against one dev
// stack, the setup-error page (a role AWS refuses because its account
// lacks the SAML provider: the words, the administrator's block with the
// trust statement, no "Sign in again", the signed-in header, 502) and the
// rule editor's results (the simulation in view after Simulate, and kept
// in view with the impact), with axe-core failing on any serious or
// critical violation on each page.
func TestAdminViewsInBrowser(t *testing.T) {
	node, chromium := browserDeps(t)
	readOnly := "arn:aws:iam::" + devstack.ProductionAccount + ":role/ReadOnly"
	st := startStackWith(t, devstack.Options{Configure: func(c *config.Config) {
		c.Rules = append(c.Rules, mapping.Rule{Name: "finance-readonly-new-idp", Providers: []string{"demo"},
			When:  mapping.Group{All: []mapping.Condition{{Attribute: "groups", Equals: "finance"}}},
			Grant: mapping.GrantSpec{Account: "production", Role: "ReadOnly", Label: "Read-only", Provider: missingProvider}})
	}})
	run := func(t *testing.T, script string, vars ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, script)
		cmd.Dir = "browser"
		cmd.Env = append(os.Environ(), append([]string{"BROKER_URL=" + st.BrokerURL, "CHROMIUM=" + chromium}, vars...)...)
		out, err := cmd.CombinedOutput()
		t.Logf("browser:\n%s", out)
		if err != nil {
			t.Fatalf("browser scenario %s failed: %v", script, err)
		}
	}
	t.Run("setup error page", func(t *testing.T) {
		run(t, "setuperror.mjs", "TARGET_USER=carol", "TARGET_PASSWORD="+password(t, st, "carol"), "TARGET_NAME=Carol Counter",
			"ROLE_ARN="+readOnly, "PROVIDER_ARN="+missingProvider)
	})
	t.Run("rule editor results in view", func(t *testing.T) {
		run(t, "ruleeditor.mjs", "ADMIN_USER=alice", "ADMIN_PASSWORD="+password(t, st, "alice"), "RULE=engineers-sandbox")
	})
}
