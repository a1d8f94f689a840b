package e2e

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/store"
)

// In Debian's chromium, with the demo app registered as a third-party
// client: the demo app's sign-in as alice through the broker and the demo
// IdP stops at the broker's consent screen (the app, its client id, alice,
// each scope in words); Allow brings her back to the app with her name and
// roles; a role's console button (a /go link from the app's origin) lands
// on the broker's confirmation page, whose button opens the local console;
// a second sign-in skips the screen; revoking on /apps/consents makes the
// app ask again (e2e/browser/apps.mjs).
func TestAppSignInWithConsentInBrowser(t *testing.T) {
	node, chromium := browserDeps(t)
	st := startStackWith(t, devstack.Options{Configure: func(c *config.Config) {
		for i := range c.Apps.Clients {
			if c.Apps.Clients[i].ID == devstack.DemoAppID {
				c.Apps.Clients[i].FirstParty = false
			}
		}
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "apps.mjs")
	cmd.Dir = "browser"
	cmd.Env = append(os.Environ(),
		"BROKER_URL="+st.BrokerURL, "AWS_URL="+st.AWSURL, "APP_URL="+st.AppURL, "CHROMIUM="+chromium,
		"USER_NAME_LOGIN=alice", "USER_PASSWORD="+password(t, st, "alice"), "USER_DISPLAY_NAME=Alice Admin",
		"CLIENT_ID="+devstack.DemoAppID, "ROLE_ARN="+sandboxDeveloper,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("browser:\n%s", out)
	if err != nil {
		t.Fatalf("browser scenario failed: %v", err)
	}

	// The audit log holds the consent and its revocation, for alice and the demo app.
	events, err := st.App.Store.ListAudit(context.Background(), store.AuditFilter{Subject: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range events {
		if e.Details["client"] == devstack.DemoAppID {
			seen[e.Event]++
		}
	}
	if seen["app_consent_granted"] != 1 || seen["app_consent_revoked"] != 1 || seen["app_signin"] < 2 {
		t.Errorf("audit for the demo app: %v", seen)
	}
}
