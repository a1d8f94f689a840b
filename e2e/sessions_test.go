package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/devidp"
	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/store"
)

// A portal session ends when the IdP's does: a sign-in whose
// AuthnStatement says SessionNotOnOrAfter is over then, however active the
// person is, and long before the broker's own 8 h.
func TestSessionEndsAtSessionNotOnOrAfter(t *testing.T) {
	c := &clock{}
	st := startStackWith(t, devstack.Options{Now: c.now})
	end := c.now().Add(100 * time.Minute).Truncate(time.Second)
	resp, err := st.IdP.IssueResponse(devidp.IssueOptions{
		SPEntityID: st.BrokerURL + "/saml/demo/metadata", Username: "alice", SessionNotOnOrAfter: end,
	})
	if err != nil {
		t.Fatal(err)
	}
	// A tile at the IdP: its Response, posted to the ACS.
	b := newBrowser(t)
	portalOf(t, b.post(st.BrokerURL+"/saml/demo/acs", url.Values{"SAMLResponse": {resp}}), "Alice Admin")

	sessions, err := st.App.Store.ListSessions(context.Background(), store.SessionFilter{Provider: "demo", Subject: "alice"})
	if err != nil || len(sessions) != 1 {
		t.Fatalf("alice's sessions: %v %+v", err, sessions)
	}
	if got := sessions[0].ExpiresAt; got.Sub(end).Abs() > time.Second {
		t.Errorf("stored session ends at %s, want the IdP's SessionNotOnOrAfter %s", got, end)
	}

	// Active all along (never idle for the 1 h of server.session_idle).
	for _, step := range []time.Duration{50 * time.Minute, 45 * time.Minute} {
		c.advance(step)
		portalOf(t, b.get(st.BrokerURL+"/"), "Alice Admin")
	}
	c.advance(10 * time.Minute) // 105 min: 5 past SessionNotOnOrAfter, 10 since the last page
	if flash := signedOut(t, st, b.get(st.BrokerURL+"/")); strings.Contains(flash, "without activity") {
		t.Errorf("signed out as idle (%q), but the person was active: the IdP's session end should have ended it", flash)
	}
	// Nothing went wrong on the way: one sign-in, no failure, no idle end.
	for _, e := range auditOf(t, st, "demo", "alice") {
		if e.Result != store.ResultSuccess || (e.Event == "logout" && e.Reason == "idle") {
			t.Errorf("unexpected audit record %s %s reason %q", e.Event, e.Result, e.Reason)
		}
	}
	auditHas(t, st, store.AuditFilter{Subject: "alice", Event: "signin", Result: store.ResultSuccess}, "")
}

// A session unused for server.session_idle (1 h) is over; the next page
// says why. Someone active every 50 minutes stays signed in past that
// hour, up to the absolute lifetime (server.session_lifetime, 8 h).
func TestIdleSessionEnds(t *testing.T) {
	c := &clock{}
	st := startStackWith(t, devstack.Options{Now: c.now})

	t.Run("idle", func(t *testing.T) {
		b, portal := signInSP(t, st, "demo", "alice")
		portalOf(t, portal, "Alice Admin")
		c.advance(61 * time.Minute)
		flash := signedOut(t, st, b.get(st.BrokerURL+"/"))
		if !strings.Contains(flash, "without activity") || !strings.Contains(flash, "1 hour") {
			t.Errorf("sign-in page after an idle hour says %q, want why the person was signed out", flash)
		}
		e := auditLogout(t, st, "demo", "alice", "idle", "")
		if e.Details["idle"] != "1h0m0s" {
			t.Errorf("idle logout record details %v", e.Details)
		}
		// The message is shown once; the session stays ended.
		if flash := signedOut(t, st, b.get(st.BrokerURL+"/")); flash != "" {
			t.Errorf("second page still shows %q", flash)
		}
	})

	t.Run("active until the lifetime", func(t *testing.T) {
		b, _ := signInSP(t, st, "demo", "carol") // one role: straight to the console
		portalOf(t, b.get(st.BrokerURL+"/"), "Carol Counter")
		var elapsed time.Duration
		for elapsed+50*time.Minute < 8*time.Hour {
			c.advance(50 * time.Minute)
			elapsed += 50 * time.Minute
			if p := b.get(st.BrokerURL + "/"); p.text("user") != "Carol Counter" {
				t.Fatalf("signed out after %s of activity (a page every 50 min):\n%s", elapsed, clip(p.Body))
			}
		}
		c.advance(50 * time.Minute) // past 8 h since the sign-in, 50 min since the last page
		if flash := signedOut(t, st, b.get(st.BrokerURL+"/")); strings.Contains(flash, "without activity") {
			t.Errorf("ended at the lifetime but told %q", flash)
		}
	})
}

// Someone removed from the admin group at the IdP keeps /admin only until
// their attributes are older than server.reauth_after (1 h): the next
// admin page goes through the IdP (silently: the IdP still has a session)
// and ends in 403 not_admin.
func TestRemovedAdminLosesAdminAtReauth(t *testing.T) {
	c := &clock{}
	logs := &logBuffer{}
	st := startStackWith(t, devstack.Options{Now: c.now, Logger: logs.logger()})
	b, portal := signInSP(t, st, "demo", "alice")
	if portal.text("admin-link") == "" {
		t.Fatal("alice's portal has no Admin link")
	}
	if p := b.get(st.BrokerURL + "/admin/rules"); p.Status != http.StatusOK {
		t.Fatalf("admin before: %d\n%s", p.Status, clip(p.Body))
	}

	removeFromGroup(t, st, "alice", "broker-admins")
	c.advance(30 * time.Minute)
	b.trail = nil
	if p := b.get(st.BrokerURL + "/admin/rules"); p.Status != http.StatusOK {
		t.Fatalf("admin before reauth_after: %d (the attributes are 30 min old; the broker should not ask yet)", p.Status)
	}
	if visited(b.trail, st.IDPURL) {
		t.Errorf("went to the IdP before reauth_after: %+v", b.trail)
	}

	c.advance(31 * time.Minute) // 61 min since the sign-in, 31 since the last page
	b.trail = nil
	p := b.get(st.BrokerURL + "/admin/rules")
	if !p.hasForm("saml-post") || p.hasForm("login") {
		t.Fatalf("expected the IdP to answer from its session (auto-post, no login form); got %d at %s:\n%s", p.Status, p.URL, clip(p.Body))
	}
	p = settle(t, b, p)
	if !visited(b.trail, st.BrokerURL+"/saml/demo/login?") || !visited(b.trail, st.IDPURL+"/saml/sso") {
		t.Errorf("no trip through the IdP: %+v", b.trail)
	}
	if p.Status != http.StatusForbidden || p.URL.Path != "/admin/rules" || !strings.Contains(p.text("error-message"), "not a broker administrator") {
		t.Fatalf("after reauth_after: %d at %s, message %q", p.Status, p.URL, p.text("error-message"))
	}
	if !strings.Contains(logs.String(), "reason=not_admin") {
		t.Error("the log has no refusal with reason not_admin")
	}
	// Still signed in, with the roles the IdP now gives, and no Admin link.
	portal = b.get(st.BrokerURL + "/")
	portalOf(t, portal, "Alice Admin")
	if portal.text("admin-link") != "" {
		t.Error("the portal still shows the Admin link")
	}
}

// The same for a role: alice removed from aws-admins at the IdP can still
// open sandbox Administrator before reauth_after; after it, the request
// for the role goes through the IdP and is refused.
func TestRemovedGroupLosesRoleAtReauth(t *testing.T) {
	c := &clock{}
	st := startStackWith(t, devstack.Options{Now: c.now})
	b, portal := signInSP(t, st, "demo", "alice")
	action, form := roleForm(t, portal, sandboxAdmin)

	removeFromGroup(t, st, "alice", "aws-admins")
	c.advance(30 * time.Minute)
	if cp := readConsole(t, st, b, b.post(action, form)); cp.Role != "Admin" {
		t.Fatalf("before reauth_after: console shows %+v", cp)
	}

	c.advance(31 * time.Minute)
	b.trail = nil
	p := settle(t, b, b.post(action, form))
	if !visited(b.trail, st.IDPURL+"/saml/sso") {
		t.Errorf("the role request did not go through the IdP: %+v", b.trail)
	}
	if visited(b.trail, st.AWSURL) {
		t.Fatalf("reached AWS: %+v", b.trail)
	}
	if p.Status != http.StatusForbidden || !strings.Contains(p.text("error-message"), "do not have access to this role") {
		t.Fatalf("after reauth_after: %d at %s, message %q\n%s", p.Status, p.URL, p.text("error-message"), clip(p.Body))
	}
	auditHas(t, st, store.AuditFilter{Subject: "alice", Event: "role_assumed", Result: store.ResultFailure}, "role_not_granted")
	portal = b.get(st.BrokerURL + "/")
	portalOf(t, portal, "Alice Admin")
	for _, arn := range portal.roleARNs() {
		if arn == sandboxAdmin {
			t.Error("the portal still lists sandbox Administrator")
		}
	}
}
