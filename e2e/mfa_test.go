package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/broker-dev/broker/config"
	"github.com/broker-dev/broker/devstack"
	"github.com/broker-dev/broker/store"
)

var prodAdmin = "arn:aws:iam::" + devstack.ProductionAccount + ":role/Admin"

// lacksMFARole checks a portal without a multi-factor sign-in: no
// "Administrator (MFA)", and the offer to sign in with MFA. It returns
// the offer's link.
func lacksMFARole(t *testing.T, portal *page, loginPath string) string {
	t.Helper()
	if strings.Contains(portal.Body, "Administrator (MFA)") || slices.Contains(portal.roleARNs(), prodAdmin) {
		t.Error("the portal lists production Administrator (MFA) without a multi-factor sign-in")
	}
	link := portal.attrOf("mfa-login", "href")
	if link != loginPath+"?mfa=1" {
		t.Fatalf("the portal does not offer a sign-in with MFA (#mfa-login href %q):\n%s", link, clip(portal.Body))
	}
	return link
}

// opensMFARole checks the portal after a multi-factor sign-in and opens
// production Administrator (MFA) on the local console.
func opensMFARole(t *testing.T, st *devstack.Stack, b *browser, portal *page) {
	t.Helper()
	portalOf(t, portal, "Alice Admin")
	if !strings.Contains(portal.Body, "Administrator (MFA)") {
		t.Fatalf("the portal lacks Administrator (MFA) after a multi-factor sign-in; roles %v", portal.roleARNs())
	}
	if portal.text("mfa-login") != "" {
		t.Error("the portal still offers a sign-in with MFA")
	}
	action, form := roleForm(t, portal, prodAdmin)
	cp := readConsole(t, st, b, b.post(action, form))
	if cp.Account != devstack.ProductionAccount || cp.Role != "Admin" || cp.SessionName != "alice@example.com" {
		t.Errorf("console shows %+v", cp)
	}
	// "alice" at the SAML IdP, devidp.SubjectOf("alice") at the OP.
	auditHas(t, st, store.AuditFilter{SubjectContains: "alice", Event: "role_assumed", Result: store.ResultSuccess}, "")
}

// A rule with require_mfa hides its role until the IdP asserts MFA; the
// portal offers the sign-in with MFA, and the demo IdP then insists on
// the one-time code.
func TestMFARuleSAML(t *testing.T) {
	st := startStack(t)
	b, portal := signInSP(t, st, "demo", "alice") // password only
	portalOf(t, portal, "Alice Admin")
	link := lacksMFARole(t, portal, "/saml/demo/login")

	p := b.get(st.BrokerURL + link)
	if p.text("otp-required") == "" {
		t.Fatalf("the IdP's form does not ask for the one-time code:\n%s", clip(p.Body))
	}
	p = submitIdPLogin(t, b, st, p, "alice", "") // without it: asked again
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.text("login-error"), "one-time code") {
		t.Fatalf("the IdP took a sign-in without the code the broker asked for: %d\n%s", p.Status, clip(p.Body))
	}
	opensMFARole(t, st, b, settle(t, b, submitIdPLogin(t, b, st, p, "alice", demoUser(t, st, "alice").OTP)))
}

// The same with the demo OP: alice skips her optional code at sign-in;
// the sign-in with MFA asks for it (acr_values) and it is required then.
func TestMFARuleOIDC(t *testing.T) {
	st := startStack(t)
	b := newBrowser(t)
	portal := opLogin(t, b, st, b.get(st.BrokerURL+"/oidc/demo-oidc/login"), "alice", "")
	portalOf(t, portal, "Alice Admin")
	link := lacksMFARole(t, portal, "/oidc/demo-oidc/login")

	b.trail = nil
	p := opLogin(t, b, st, b.get(st.BrokerURL+link), "alice", "")
	if !visited(b.trail, st.OPURL+"/authorize?") || !strings.Contains(b.trail[0].Location, "acr_values=") {
		t.Errorf("the sign-in with MFA did not ask the OP for it: %+v", b.trail)
	}
	if p.Status != http.StatusUnauthorized || !p.hasForm("otp-form") || p.text("otp-error") == "" {
		t.Fatalf("the OP took a sign-in without the code the broker asked for: %d at %s\n%s", p.Status, p.URL, clip(p.Body))
	}
	action, form := p.form(t, formWithID("otp-form"))
	form.Set("otp", demoUser(t, st, "alice").OTP)
	opensMFARole(t, st, b, b.post(action, form))
}

// opLogin signs in at the demo OP's login form on p (it must ask: no
// silent answer from its session), then gives otp at its code step.
func opLogin(t *testing.T, b *browser, st *devstack.Stack, p *page, user, otp string) *page {
	t.Helper()
	if !strings.HasPrefix(p.URL.String(), st.OPURL) || !p.hasForm("login") {
		t.Fatalf("expected the OP's login form, got %d at %s:\n%s", p.Status, p.URL, clip(p.Body))
	}
	action, form := p.form(t, formWithID("login"))
	form.Set("username", user)
	form.Set("password", password(t, st, user))
	p = b.post(action, form)
	if !p.hasForm("otp-form") {
		t.Fatalf("expected the OP's one-time code step, got %d at %s:\n%s", p.Status, p.URL, clip(p.Body))
	}
	action, form = p.form(t, formWithID("otp-form"))
	form.Set("otp", otp)
	return b.post(action, form)
}

// Someone without a second factor who is asked for MFA gets a clear
// refusal page from the broker, not a loop back to the IdP.
func TestMFAWithoutSecondFactorRefused(t *testing.T) {
	st := startStack(t)

	t.Run("SAML", func(t *testing.T) {
		b := newBrowser(t)
		p := submitIdPLogin(t, b, st, b.get(st.BrokerURL+"/saml/demo/login?mfa=1"), "bob", "")
		b.trail = nil
		p = settle(t, b, p)
		refusedClearly(t, st, b, p)
		auditHas(t, st, store.AuditFilter{Provider: "demo", Event: "signin", Result: store.ResultFailure}, "status_not_success")
	})
	t.Run("OIDC", func(t *testing.T) {
		b := newBrowser(t)
		p := b.get(st.BrokerURL + "/oidc/demo-oidc/login?mfa=1")
		action, form := p.form(t, formWithID("login"))
		form.Set("username", "bob")
		form.Set("password", password(t, st, "bob"))
		b.trail = nil
		refusedClearly(t, st, b, b.post(action, form))
		auditHas(t, st, store.AuditFilter{Provider: "demo-oidc", Event: "signin", Result: store.ResultFailure}, "unmet_authentication_requirements")
	})
}

func refusedClearly(t *testing.T, st *devstack.Stack, b *browser, p *page) {
	t.Helper()
	if p.Status != http.StatusForbidden || !strings.HasPrefix(p.URL.String(), st.BrokerURL) || p.text("error-action") == "" {
		t.Fatalf("expected the broker's refusal page, got %d at %s:\n%s", p.Status, p.URL, clip(p.Body))
	}
	if msg := p.text("error-message"); !strings.Contains(msg, "identity provider") {
		t.Errorf("refusal message %q does not say who must act", msg)
	}
	if p.metaRefresh() != "" || len(b.trail) > 6 {
		t.Errorf("the refusal moves on by itself or loops: %+v", b.trail)
	}
}

// With admin.require_mfa, an admin signed in with a password only is sent
// to the sign-in with MFA when they open /admin, and gets in with the
// code; the API refuses her session with 403 admin_mfa_required.
func TestAdminRequireMFA(t *testing.T) {
	st := startStackWith(t, devstack.Options{Configure: func(c *config.Config) { c.Admin.RequireMFA = true }})
	b, portal := signInSP(t, st, "demo", "alice")
	portalOf(t, portal, "Alice Admin")

	// The API with the session cookie: refused, with the reason.
	code, body := b.getJSON(st.BrokerURL + "/api/v1/rules")
	var res struct{ Reason string }
	_ = json.Unmarshal([]byte(body), &res)
	if code != http.StatusForbidden || res.Reason != "admin_mfa_required" {
		t.Fatalf("API without MFA: %d %s", code, body)
	}

	b.trail = nil
	p := b.get(st.BrokerURL + "/admin/rules")
	if !visited(b.trail, st.BrokerURL+"/saml/demo/login?mfa=1") || p.text("otp-required") == "" {
		t.Fatalf("/admin did not send alice to the sign-in with MFA: %+v\n%s", b.trail, clip(p.Body))
	}
	p = settle(t, b, submitIdPLogin(t, b, st, p, "alice", demoUser(t, st, "alice").OTP))
	if p.Status != http.StatusOK || p.URL.Path != "/admin/rules" {
		t.Fatalf("after the sign-in with MFA: %d at %s\n%s", p.Status, p.URL, clip(p.Body))
	}
	if code, body := b.getJSON(st.BrokerURL + "/api/v1/rules"); code != http.StatusOK {
		t.Errorf("API with an MFA session: %d %s", code, body)
	}
}

// getJSON is a GET with the browser's cookies, as a script on the page
// would send it.
func (b *browser) getJSON(u string) (int, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body)
}
