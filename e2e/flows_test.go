package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/store"
)

var (
	sandboxDeveloper = "arn:aws:iam::" + devstack.SandboxAccount + ":role/Developer"
	sandboxAdmin     = "arn:aws:iam::" + devstack.SandboxAccount + ":role/Admin"
	prodReadOnly     = "arn:aws:iam::" + devstack.ProductionAccount + ":role/ReadOnly"
	prodBilling      = "arn:aws:iam::" + devstack.ProductionAccount + ":role/Billing"
)

// Broker-issued, SP-initiated: alice's roles come from the broker's rules,
// which the demo IdP knows nothing about.
func TestSAMLBrokerIssuedSPInitiated(t *testing.T) {
	st := startStack(t)
	b, portal := signInSP(t, st, "demo", "alice")

	for _, want := range []string{"Sandbox", "Production", "Developer", "Administrator", "Read-only"} {
		if !strings.Contains(portal.Body, want) {
			t.Errorf("portal lacks %q", want)
		}
	}
	if got := portal.text("user"); got != "Alice Admin" {
		t.Errorf("portal user = %q", got)
	}

	action, form := roleForm(t, portal, sandboxDeveloper)
	cp := readConsole(t, st, b, b.post(action, form))
	if cp.Account != devstack.SandboxAccount || cp.Role != "Developer" {
		t.Errorf("console shows %s/%s", cp.Account, cp.Role)
	}
	if cp.SessionName != "alice@example.com" {
		t.Errorf("session name = %q", cp.SessionName)
	}
	assertExpiry(t, cp.Expiry, 8*time.Hour) // the rule's console_duration
	if cp.Issuer != st.BrokerURL+"/" {
		t.Errorf("issuer link = %q, want the portal", cp.Issuer)
	}
	if !strings.HasPrefix(cp.Destination, "https://eu-west-1.console.aws.amazon.com/") {
		t.Errorf("destination = %q, want the default region's console", cp.Destination)
	}
	auditHas(t, st, store.AuditFilter{Subject: "alice", Event: "role_assumed", Result: store.ResultSuccess}, "")
}

// The Admin rule asks for 4 h but the role allows 1 h: the session is
// shortened and the portal says so.
func TestSAMLDurationClampedIsReported(t *testing.T) {
	st := startStack(t)
	b, portal := signInSP(t, st, "demo", "alice")
	action, form := roleForm(t, portal, sandboxAdmin)
	cp := readConsole(t, st, b, b.post(action, form))
	if cp.Role != "Admin" {
		t.Fatalf("role = %q", cp.Role)
	}
	assertExpiry(t, cp.Expiry, 2*time.Hour)
	back := b.get(st.BrokerURL + "/")
	if flash := back.text("flash"); !strings.Contains(flash, "1 h") {
		t.Errorf("portal does not tell the session was shortened; flash = %q", flash)
	}
}

// IdP-initiated (a tile in the IdP's app list), broker-issued.
func TestSAMLBrokerIssuedIdPInitiated(t *testing.T) {
	st := startStack(t)
	b := newBrowser(t)
	loginForm := b.get(st.IDPURL + "/saml/idp-initiated?sp=" + st.BrokerURL + "/saml/demo/metadata")
	// carol's group aws-444455556666-Billing maps through the regex rule;
	// it is her only role, so the broker offers it, and opens it once she
	// confirms (an IdP-initiated sign-in never opens a role by itself).
	cp := readConsole(t, st, b, confirmRole(t, b, loginAtIdP(t, b, st, loginForm, "carol")))
	if cp.Account != devstack.ProductionAccount || cp.Role != "Billing" || cp.SessionName != "carol@example.com" {
		t.Errorf("console shows %+v", cp)
	}
	assertExpiry(t, cp.Expiry, 4*time.Hour)
}

// Pass-through, SP-initiated: the IdP's AWS app asserts the roles; the
// broker forwards the Response unchanged. A second role needs a fresh
// assertion, which the broker obtains silently through the IdP session.
func TestSAMLPassThroughSPInitiated(t *testing.T) {
	st := startStack(t)
	b, portal := signInSP(t, st, "demo-aws", "alice")
	if strings.Contains(portal.Body, "role/Developer") {
		t.Errorf("pass-through portal lists a role the IdP did not assert")
	}
	action, form := roleForm(t, portal, prodReadOnly)
	cp := readConsole(t, st, b, b.post(action, form))
	if cp.Account != devstack.ProductionAccount || cp.Role != "ReadOnly" || cp.SessionName != "alice@example.com" {
		t.Errorf("console shows %+v", cp)
	}
	assertExpiry(t, cp.Expiry, 3*time.Hour)

	// Second role: the first assertion was used; the broker goes back to
	// the IdP, which still has a session, and lands on the console.
	portal = b.get(st.BrokerURL + "/")
	action, form = roleForm(t, portal, sandboxAdmin)
	p := b.post(action, form)
	if !strings.Contains(fmt.Sprint(b.hops), "meta-refresh:"+st.BrokerURL+"/saml/demo-aws/login") {
		t.Errorf("no silent re-authentication through the IdP: %+v", b.hops)
	}
	if p.Status == http.StatusOK && strings.HasPrefix(p.URL.String(), st.IDPURL) && strings.Contains(p.Body, `id="saml-post"`) {
		p = postSAML(t, b, p) // the IdP's auto-post page, submitted by its script in a real browser
	}
	cp = readConsole(t, st, b, p)
	if cp.Account != devstack.SandboxAccount || cp.Role != "Admin" {
		t.Errorf("second role: console shows %+v", cp)
	}
}

// Pass-through, IdP-initiated.
func TestSAMLPassThroughIdPInitiated(t *testing.T) {
	st := startStack(t)
	b := newBrowser(t)
	portal := loginAtIdP(t, b, st, b.get(st.IDPURL+"/saml/idp-initiated?sp="+st.BrokerURL+"/saml/demo-aws/metadata"), "bob")
	// bob has one asserted role: auto-selected, and opened once he confirms.
	cp := readConsole(t, st, b, confirmRole(t, b, portal))
	if cp.Role != "Developer" || cp.SessionName != "bob@example.com" {
		t.Errorf("console shows %+v", cp)
	}
}

// confirmRole checks that p is the page asking before a role opens, and
// presses its button.
func confirmRole(t *testing.T, b *browser, p *page) *page {
	t.Helper()
	if p.Status != http.StatusOK || p.URL.Path != "/open" || p.text("confirm-role-h") == "" {
		t.Fatalf("expected the role confirmation page, got %d at %s:\n%s", p.Status, p.URL, clip(p.Body))
	}
	action, form := p.form(t, formWithID("confirm-form"))
	return b.post(action, form)
}
