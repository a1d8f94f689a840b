package e2e

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/devidp"
	"github.com/broker-dev/broker/store"
)

// Each negative case ends on a clear error page with the right status
// (the reason code is not on it) and leaves an audit record with the
// precise reason, naming the person only when the response's signature
// verified.
func TestSAMLRejections(t *testing.T) {
	st := startStack(t)
	sp := st.BrokerURL + "/saml/demo/metadata"
	acs := st.BrokerURL + "/saml/demo/acs"
	issue := func(o devidp.IssueOptions) string {
		t.Helper()
		o.SPEntityID, o.Username = sp, "alice"
		r, err := st.IdP.IssueResponse(o)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tamper := func(b64 string) string {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Replace(string(raw), "alice@example.com", "mallory@example.com", 1)
		if s == string(raw) {
			t.Fatal("nothing to tamper with")
		}
		return base64.StdEncoding.EncodeToString([]byte(s))
	}
	valid := issue(devidp.IssueOptions{})

	cases := []struct {
		name     string
		response string
		status   int
		reason   string
		subject  string
	}{
		{"tampered signature", tamper(issue(devidp.IssueOptions{})), http.StatusUnauthorized, "signature_invalid", ""},
		{"wrong audience", issue(devidp.IssueOptions{Audience: "https://someone-else.example.com"}), http.StatusUnauthorized, "audience_mismatch", "alice"},
		{"expired response", issue(devidp.IssueOptions{Now: time.Now().Add(-2 * time.Hour)}), http.StatusUnauthorized, "assertion_expired", "alice"},
		{"first use of a response", valid, http.StatusOK, "", ""},
		{"replayed response", valid, http.StatusUnauthorized, "replay", "alice"},
		{"not base64", "%%%not-base64", http.StatusBadRequest, "malformed_response", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t)
			p := b.post(acs, url.Values{"SAMLResponse": {tc.response}})
			if p.Status != tc.status {
				t.Fatalf("status %d, want %d:\n%s", p.Status, tc.status, clip(p.Body))
			}
			if tc.reason == "" {
				return
			}
			if strings.Contains(p.Body, tc.reason) || p.text("error-action") == "" {
				t.Errorf("error page shows the reason %q or lacks what to do:\n%s", tc.reason, clip(p.Body))
			}
			if msg := p.text("error-message"); msg == "" || strings.Contains(msg, "<") {
				t.Errorf("error message %q is not a clear, safe sentence", msg)
			}
			e := auditHas(t, st, store.AuditFilter{Event: "signin", Result: store.ResultFailure, Provider: "demo"}, tc.reason)
			if e.Subject != tc.subject {
				t.Errorf("audited subject %q, want %q", e.Subject, tc.subject)
			}
		})
	}

	t.Run("oversized body", func(t *testing.T) {
		b := newBrowser(t)
		p := b.post(acs, url.Values{"SAMLResponse": {strings.Repeat("A", 2<<20)}})
		if p.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", p.Status)
		}
	})
}

func TestRoleNotGrantedAndBadDestination(t *testing.T) {
	st := startStack(t)

	// alice's portal offers the sandbox Admin role; bob must not be able to
	// use that form even though he can read its values.
	_, alicePortal := signInSP(t, st, "demo", "alice")
	_, adminForm := roleForm(t, alicePortal, sandboxAdmin)

	bob, _ := signInSP(t, st, "demo", "bob") // one role: straight to the console
	action, form := roleForm(t, bob.get(st.BrokerURL+"/"), sandboxDeveloper)
	form.Set("grant", adminForm.Get("grant"))
	p := bob.post(action, form)
	if p.Status != http.StatusForbidden || !strings.Contains(p.text("error-message"), "do not have access to this role") {
		t.Fatalf("role not granted: status %d message %q", p.Status, p.text("error-message"))
	}
	auditHas(t, st, store.AuditFilter{Subject: "bob", Event: "role_assumed", Result: store.ResultFailure}, "role_not_granted")

	_, form = roleForm(t, bob.get(st.BrokerURL+"/"), sandboxDeveloper)
	form.Set("destination", "https://evil.example.com/console")
	p = bob.post(action, form)
	if p.Status != http.StatusBadRequest || p.text("error-message") == "" || strings.Contains(p.Body, "destination_not_allowed") {
		t.Fatalf("bad destination: status %d message %q\n%s", p.Status, p.text("error-message"), clip(p.Body))
	}
	for _, h := range bob.hops {
		if strings.Contains(h.Location, "evil.example.com") {
			t.Fatalf("redirected toward the bad destination: %+v", h)
		}
	}
	auditHas(t, st, store.AuditFilter{Subject: "bob", Event: "role_assumed", Result: store.ResultFailure}, "destination_not_allowed")

	// CSRF: the same form without the token is refused.
	form.Del("csrf_token")
	form.Del("destination")
	if p := bob.post(action, form); p.Status != http.StatusForbidden || !strings.Contains(p.text("error-message"), "form expired") {
		t.Fatalf("missing CSRF token: status %d message %q", p.Status, p.text("error-message"))
	}
}
