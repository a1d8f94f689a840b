package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker/saml"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// An IdP's LogoutRequest (as package saml verified it) ends the sessions
// it names: with SessionIndexes only those, without one every session of
// the NameID; never another person's. It is answered, used once, audited.
func TestIdPLogoutRequestEndsTheSessionsItNames(t *testing.T) {
	ev := webtest.NewEnv(t, "https://aws.example.com")
	ev.SP.Result.Identity.SessionIndex = "idx-phone"
	phone, _ := browser(t, ev, "alice", "alice-phone")
	ev.SP.Result.Identity.SessionIndex = "idx-laptop"
	laptop, _ := browser(t, ev, "alice", "alice-laptop")
	ev.SP.Result.Identity.SessionIndex = "idx-bob"
	bob, _ := browser(t, ev, "bob", "bob-laptop")

	logout := func(id string, indexes ...string) *http.Response {
		t.Helper()
		ev.SP.Logout = &saml.LogoutMessage{Binding: saml.BindingRedirect, RelayState: "rs",
			Request: &saml.LogoutRequestInfo{ID: id, NameID: "alice", SessionIndexes: indexes}}
		ev.Jar = nil // the IdP's redirect reaches the broker without the person's cookie here
		rec := ev.Do(t, http.MethodGet, "/saml/okta/slo?SAMLRequest=x", nil)
		return rec.Result()
	}

	// One SessionIndex: only that session.
	if res := logout("_r1", "idx-phone"); res.StatusCode != http.StatusOK {
		t.Fatalf("LogoutRequest: %d", res.StatusCode)
	}
	if ev.SP.LogoutSuccess == nil || !*ev.SP.LogoutSuccess {
		t.Fatal("the LogoutResponse does not report success")
	}
	if portalAs(t, ev, phone) || !portalAs(t, ev, laptop) || !portalAs(t, ev, bob) {
		t.Fatal("a LogoutRequest for idx-phone must end alice's phone session only")
	}

	// The same request again is refused (used once), nothing else ends.
	if res := logout("_r1", "idx-laptop"); res.StatusCode == http.StatusOK {
		t.Fatal("a replayed LogoutRequest was acted on")
	}
	if !portalAs(t, ev, laptop) {
		t.Fatal("a replayed LogoutRequest ended a session")
	}

	// No SessionIndex: every session of the NameID, never bob's.
	if res := logout("_r2"); res.StatusCode != http.StatusOK {
		t.Fatalf("LogoutRequest without SessionIndex: %d", res.StatusCode)
	}
	if portalAs(t, ev, laptop) || !portalAs(t, ev, bob) {
		t.Fatal("a LogoutRequest without SessionIndex must end all of alice's sessions and none of bob's")
	}
	var slo int
	for _, e := range auditOf(ev, "logout") {
		if e.Details["via"] == "saml_slo" {
			slo++
			if e.Subject != "alice" {
				t.Errorf("single logout audited for %q", e.Subject)
			}
		}
	}
	if slo != 2 {
		t.Errorf("%d logout events via saml_slo, want 2 (phone, then laptop)", slo)
	}
}

// The answer to a LogoutRequest the portal sent comes back as a
// LogoutResponse: the person lands signed out on the sign-in page, told
// whether the IdP confirmed.
func TestLogoutResponseLandsSignedOut(t *testing.T) {
	ev := webtest.NewEnv(t, "https://aws.example.com")
	for _, ok := range []bool{true, false} {
		ev.SP.Logout = &saml.LogoutMessage{Binding: saml.BindingRedirect,
			Response: &saml.LogoutResponseInfo{InResponseTo: "_ours", Success: ok, StatusCode: "urn:oasis:names:tc:SAML:2.0:status:Responder"}}
		rec := ev.Do(t, http.MethodGet, "/saml/okta/slo?SAMLResponse=x", nil)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
			t.Fatalf("LogoutResponse: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		page := ev.Do(t, http.MethodGet, "/", url.Values{}).Body.String()
		confirmed := strings.Contains(page, "signed out of the portal and of")
		if confirmed != ok {
			t.Errorf("success=%v: the page says confirmed=%v:\n%s", ok, confirmed, page)
		}
	}
}
