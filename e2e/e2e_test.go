// Package e2e runs the whole dev stack in-process on free ports and drives
// it like a browser: the demo IdP's real login form, real signed SAML,
// real STS and federation calls to the local AWS stand-in.
package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/store"
)

func startStack(t *testing.T) *devstack.Stack {
	t.Helper()
	return startStackWith(t, devstack.Options{})
}

func startStackWith(t *testing.T, o devstack.Options) *devstack.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o.DataDir = t.TempDir()
	st, err := devstack.Start(ctx, o)
	if err != nil {
		t.Fatalf("start dev stack: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

func password(t *testing.T, st *devstack.Stack, user string) string {
	t.Helper()
	for _, u := range st.Users {
		if u.Username == user {
			return u.Password
		}
	}
	t.Fatalf("no demo user %s", user)
	return ""
}

// loginAtIdP fills in the demo IdP's login form on p, then submits the
// auto-post form carrying the SAMLResponse to the broker's ACS.
func loginAtIdP(t *testing.T, b *browser, st *devstack.Stack, p *page, user string) *page {
	t.Helper()
	if p.Status != http.StatusOK || !strings.HasPrefix(p.URL.String(), st.IDPURL) {
		t.Fatalf("expected the IdP login form, got %d at %s:\n%s", p.Status, p.URL, clip(p.Body))
	}
	action, form := p.form(t, formWithID("login"))
	form.Set("username", user)
	form.Set("password", password(t, st, user))
	return postSAML(t, b, b.post(action, form))
}

// postSAML submits the IdP's auto-post form (what its script does).
func postSAML(t *testing.T, b *browser, p *page) *page {
	t.Helper()
	action, form := p.form(t, formWithID("saml-post"))
	if form.Get("SAMLResponse") == "" {
		t.Fatalf("auto-post form has no SAMLResponse")
	}
	return b.post(action, form)
}

func signInSP(t *testing.T, st *devstack.Stack, provider, user string) (*browser, *page) {
	t.Helper()
	b := newBrowser(t)
	signin := b.get(st.BrokerURL + "/")
	if signin.Status != http.StatusOK || !strings.Contains(signin.Body, "/saml/"+provider+"/login") {
		t.Fatalf("sign-in page does not offer %s: %d\n%s", provider, signin.Status, clip(signin.Body))
	}
	portal := loginAtIdP(t, b, st, b.get(st.BrokerURL+"/saml/"+provider+"/login"), user)
	return b, portal
}

// roleForm finds the portal form for a role ARN and returns its values.
func roleForm(t testing.TB, portal *page, roleARN string) (string, url.Values) {
	t.Helper()
	if portal.Status != http.StatusOK {
		t.Fatalf("portal: status %d\n%s", portal.Status, clip(portal.Body))
	}
	var key string
	for _, k := range portal.all("value") {
		if strings.HasPrefix(k, roleARN+"|") {
			key = k
		}
	}
	if key == "" {
		t.Fatalf("portal does not list %s; roles: %v", roleARN, portal.roleARNs())
	}
	return portal.press(t, "grant", key)
}

type consolePage struct {
	Account, Role, SessionName, Destination, Issuer string
	Expiry                                          time.Time
}

func readConsole(t *testing.T, st *devstack.Stack, b *browser, p *page) consolePage {
	t.Helper()
	if p.Status != http.StatusOK || !strings.HasPrefix(p.URL.String(), st.AWSURL+"/console") {
		t.Fatalf("expected the local console page, got %d at %s:\n%s", p.Status, p.URL, clip(p.Body))
	}
	// The console login URL must have reached the browser only as a 302.
	sawLogin := false
	for _, h := range b.hops {
		if strings.Contains(h.Location, "Action=login") {
			sawLogin = true
			if h.Status != http.StatusFound {
				t.Errorf("console login URL delivered with status %d, want 302", h.Status)
			}
		}
	}
	if !sawLogin {
		t.Errorf("no 302 to the federation login URL in %+v", b.hops)
	}
	exp, err := time.Parse(time.RFC3339, p.text("session-expiry"))
	if err != nil {
		t.Fatalf("session expiry %q: %v", p.text("session-expiry"), err)
	}
	return consolePage{
		Account: p.text("account"), Role: p.text("role"), SessionName: p.text("session-name"),
		Destination: p.text("destination"), Issuer: p.attrOf("issuer", "href"), Expiry: exp,
	}
}

func assertExpiry(t *testing.T, got time.Time, want time.Duration) {
	t.Helper()
	d := time.Until(got)
	if d < want-2*time.Minute || d > want+time.Minute {
		t.Errorf("console session ends in %s, want about %s", d.Round(time.Second), want)
	}
}

func auditHas(t *testing.T, st *devstack.Stack, f store.AuditFilter, reason string) store.AuditEvent {
	t.Helper()
	evs, err := st.App.Store.ListAudit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Reason == reason {
			return e
		}
	}
	t.Fatalf("no audit record %+v with reason %q; have %+v", f, reason, evs)
	return store.AuditEvent{}
}
