package portal_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/broker-dev/broker/web/internal/webtest"
)

// A sign-in that asked for MFA and came back without it is refused with a
// page saying so (no loop back to the IdP), audited with the verified
// subject, and the browser's session is not replaced.
func TestMFASignInWithoutMFARefused(t *testing.T) {
	ev := webtest.NewEnv(t, "https://aws.example.com")
	if rec := ev.Do(t, http.MethodGet, "/saml/okta/login?mfa=1", nil); rec.Code != http.StatusFound {
		t.Fatalf("login: %d", rec.Code)
	}
	ev.SP.Result.InResponseTo = "id-a" // ev.SP.Result.Identity.MFA is false
	rec := ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}})
	if rec.Code != http.StatusForbidden {
		t.Fatalf("ACS after an MFA request answered without MFA: %d, want 403\n%s", rec.Code, rec.Body)
	}
	if page := ev.Do(t, http.MethodGet, "/", nil); webtest.CSRFRe.MatchString(page.Body.String()) {
		t.Error("the refused sign-in left the browser signed in")
	}
	var found bool
	for _, e := range auditOf(ev, "signin") {
		if e.Reason == "mfa_not_asserted" {
			found = true
			if e.Subject != ev.SP.Result.Identity.Subject || e.Result != "failure" {
				t.Errorf("audit %+v: want a failure naming the verified subject %q", e, ev.SP.Result.Identity.Subject)
			}
		}
	}
	if !found {
		t.Error("no signin failure with reason mfa_not_asserted in the audit log")
	}

	// With MFA asserted the same flow signs in.
	ev.SP.Result.Identity.MFA = true
	if rec := ev.Do(t, http.MethodGet, "/saml/okta/login?mfa=1", nil); rec.Code != http.StatusFound {
		t.Fatalf("login: %d", rec.Code)
	}
	ev.SP.Result.InResponseTo = "id-aa"
	if rec := ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("ACS with MFA: %d\n%s", rec.Code, rec.Body)
	}
}

// return= on the login routes lands on a page of this site after sign-in,
// never on another origin.
func TestLoginReturnIsLocalOnly(t *testing.T) {
	for _, tc := range []struct{ ret, want string }{
		{"/admin/rules?q=x", "/admin/rules?q=x"},
		{"//evil.example/x", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"admin", "/"},
	} {
		ev := webtest.NewEnv(t, "https://aws.example.com")
		if rec := ev.Do(t, http.MethodGet, "/saml/okta/login?return="+url.QueryEscape(tc.ret), nil); rec.Code != http.StatusFound {
			t.Fatalf("login: %d", rec.Code)
		}
		ev.SP.Result.InResponseTo = "id-a"
		rec := ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}})
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != tc.want {
			t.Errorf("return=%q: %d %q, want 303 to %q", tc.ret, rec.Code, rec.Header().Get("Location"), tc.want)
		}
	}
}
