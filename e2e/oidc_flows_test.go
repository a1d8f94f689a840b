package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/devidp"
	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/mapping"
	"github.com/broker-dev/broker/store"
)

var (
	sandboxWebDeveloper = "arn:aws:iam::" + devstack.SandboxAccount + ":role/WebDeveloper"
	prodWebReadOnly     = "arn:aws:iam::" + devstack.ProductionAccount + ":role/WebReadOnly"
)

// signInOIDC signs in through the demo OP's real login form and returns
// the broker page the browser lands on.
func signInOIDC(t *testing.T, st *devstack.Stack, user string) (*browser, *page) {
	t.Helper()
	b := newBrowser(t)
	signin := b.get(st.BrokerURL + "/")
	if !strings.Contains(signin.Body, "/oidc/demo-oidc/login") {
		t.Fatalf("sign-in page does not offer the OIDC provider:\n%s", clip(signin.Body))
	}
	form := b.get(st.BrokerURL + "/oidc/demo-oidc/login")
	if form.Status != http.StatusOK || !strings.HasPrefix(form.URL.String(), st.OPURL) {
		t.Fatalf("expected the OP's login form, got %d at %s", form.Status, form.URL)
	}
	action, fields := form.form(t, formWithID("login"))
	fields.Set("username", user)
	fields.Set("password", password(t, st, user))
	return b, b.post(action, fields)
}

// clock is a settable clock for the broker.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// keepUsing moves the clock on by d while the person keeps using the
// portal (a page view every 55 minutes), so the session outlives its
// ID token without going idle (server.session_idle, 1 h).
func keepUsing(b *browser, st *devstack.Stack, c *clock, d time.Duration) {
	b.t.Helper()
	for step := 55 * time.Minute; d > 0; d -= step {
		c.advance(min(step, d))
		if p := b.get(st.BrokerURL + "/"); p.Status != http.StatusOK {
			b.t.Fatalf("portal after %s more: status %d", min(step, d), p.Status)
		}
	}
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// Pass-through web identity: the OP's own ID token goes to
// AssumeRoleWithWebIdentity; the session name comes from the email claim.
func TestOIDCPassThroughWebIdentity(t *testing.T) {
	st := startStack(t)
	b, portal := signInOIDC(t, st, "bob")
	if got := portal.text("user"); got != "Bob Builder" {
		t.Errorf("portal user %q", got)
	}
	action, form := roleForm(t, portal, sandboxWebDeveloper)
	cp := readConsole(t, st, b, b.post(action, form))
	if cp.Role != "WebDeveloper" || cp.SessionName != "bob@example.com" {
		t.Errorf("console shows %+v", cp)
	}
	assertExpiry(t, cp.Expiry, 2*time.Hour)
	auditHas(t, st, store.AuditFilter{Subject: devidp.SubjectOf("bob"), Event: "signin", Provider: "demo-oidc", Result: store.ResultSuccess}, "")
}

// A pass-through web identity role granted after the person signed in:
// the session kept no ID token (no role used it then), so opening the new
// role renews it with the refresh token, without a trip through the OP,
// and the OP's fresh token goes to AssumeRoleWithWebIdentity.
func TestOIDCPassThroughGrantedAfterSignIn(t *testing.T) {
	st := startStackWith(t, devstack.Options{Configure: func(c *config.Config) {
		c.Rules = slices.DeleteFunc(c.Rules, func(r mapping.Rule) bool { return r.Name == "oidc-engineers-web" })
	}})
	b, portal := signInOIDC(t, st, "bob")
	if slices.Contains(portal.roleARNs(), sandboxWebDeveloper) {
		t.Fatalf("the portal lists %s before the rule exists", sandboxWebDeveloper)
	}
	token := adminToken(t, st.App.Store, "rules", "rules:read", "rules:write")
	rule := `{"name":"oidc-engineers-web","providers":["demo-oidc"],"when":{"all":[{"attribute":"groups","equals":"engineering"}]},` +
		`"grant":{"account":"sandbox","role":"WebDeveloper","mode":"pass-through","downstream":"web-identity"}}`
	if code, body := apiCall(t, http.MethodPost, st.BrokerURL+"/api/v1/rules", token, rule); code != http.StatusCreated {
		t.Fatalf("create the rule: %d %s", code, body)
	}
	b.hops = nil
	action, form := roleForm(t, b.get(st.BrokerURL+"/"), sandboxWebDeveloper)
	p := b.post(action, form)
	for _, h := range b.hops {
		if strings.Contains(h.Location, st.OPURL) || strings.Contains(h.Location, "prompt=none") {
			t.Errorf("went back to the OP instead of refreshing: %+v", b.hops)
		}
	}
	if cp := readConsole(t, st, b, p); cp.Role != "WebDeveloper" || cp.SessionName != "bob@example.com" {
		t.Errorf("console shows %+v", cp)
	}
}

// An OIDC user reaches a SAML role (the broker mints the assertion) and a
// SAML user a web identity role (the broker mints the ID token).
func TestAnyUpstreamToAnyDownstream(t *testing.T) {
	st := startStack(t)
	b, portal := signInOIDC(t, st, "bob")
	action, form := roleForm(t, portal, sandboxDeveloper)
	cp := readConsole(t, st, b, b.post(action, form))
	if cp.Role != "Developer" || cp.SessionName != "bob@example.com" {
		t.Errorf("OIDC user on a SAML role: %+v", cp)
	}

	b, portal = signInSP(t, st, "demo", "alice")
	action, form = roleForm(t, portal, prodWebReadOnly)
	cp = readConsole(t, st, b, b.post(action, form))
	if cp.Account != devstack.ProductionAccount || cp.Role != "WebReadOnly" || cp.SessionName != "alice@example.com" {
		t.Errorf("SAML user on a web identity role: %+v", cp)
	}
	assertExpiry(t, cp.Expiry, time.Hour)
}

// After the first ID token expires, the broker renews it with the refresh
// token it keeps server-side, with no trip through the OP.
func TestOIDCRefreshAfterExpiry(t *testing.T) {
	c := &clock{}
	st := startStackWith(t, devstack.Options{Now: c.now})
	b, portal := signInOIDC(t, st, "bob")
	keepUsing(b, st, c, 110*time.Minute) // the demo OP's ID tokens last 1 h
	action, form := roleForm(t, portal, sandboxWebDeveloper)
	p := b.post(action, form)
	for _, h := range b.hops {
		if strings.Contains(h.Location, st.OPURL) || strings.Contains(h.Location, "meta-refresh") {
			t.Errorf("went back to the OP instead of refreshing: %+v", b.hops)
		}
	}
	if cp := readConsole(t, st, b, p); cp.Role != "WebDeveloper" {
		t.Errorf("console shows %+v", cp)
	}
}

// Without a refresh token, an expired ID token is renewed by a silent
// sign-in (prompt=none) that the OP answers from its session.
func TestOIDCSilentReauthentication(t *testing.T) {
	c := &clock{}
	st := startStackWith(t, devstack.Options{Now: c.now, NoRefreshTokens: true})
	b, portal := signInOIDC(t, st, "bob")
	keepUsing(b, st, c, 110*time.Minute) // the demo OP's ID tokens last 1 h
	action, form := roleForm(t, portal, sandboxWebDeveloper)
	p := b.post(action, form)
	if !strings.Contains(fmt.Sprint(b.hops), "prompt=none") {
		t.Errorf("no silent re-authentication: %+v", b.hops)
	}
	if cp := readConsole(t, st, b, p); cp.Role != "WebDeveloper" || cp.SessionName != "bob@example.com" {
		t.Errorf("console shows %+v", cp)
	}
}
