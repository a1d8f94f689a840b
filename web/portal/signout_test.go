package portal_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// Signing out at an IdP without single logout says what ended (the
// portal) and what did not (the IdP's session, the console sessions).
func TestSignOutSaysWhatItDidNotEnd(t *testing.T) {
	ev := webtest.NewEnv(t, "https://aws.example.com")
	csrf, _ := ev.SignIn(t)
	rec := ev.Do(t, http.MethodPost, "/logout", url.Values{"csrf_token": {csrf}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d", rec.Code)
	}
	page := html.UnescapeString(ev.Do(t, http.MethodGet, "/", nil).Body.String())
	for _, want := range []string{
		"You are signed out of the portal.",
		"You are still signed in at Okta, which gives the broker no way to sign you out there",
		"sign out at Okta too or close the browser",
		"AWS console sessions you opened last until they expire",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page after sign-out lacks %q", want)
		}
	}
}

// The sign-in page offers a fresh sign-in at each IdP ("not you?"):
// the login route with fresh=1 (ForceAuthn / prompt=login).
func TestSignInOffersSwitchUser(t *testing.T) {
	ev := webtest.NewEnv(t, "https://aws.example.com")
	page := ev.Do(t, http.MethodGet, "/", nil).Body.String()
	want := `<a class="switch-user" href="/saml/okta/login?fresh=1" data-switch-provider="okta">Not you? Sign in as someone else at Okta</a>`
	if !strings.Contains(page, want) {
		t.Fatalf("sign-in page lacks %s\n%s", want, page)
	}
	rec := ev.Do(t, http.MethodGet, "/saml/okta/login?fresh=1", nil)
	if rec.Code != http.StatusFound || !ev.SP.LastLogin.ForceAuthn {
		t.Fatalf("the switch-user link did not force a fresh sign-in: %d", rec.Code)
	}
}

// Opening a second pass-through role spends a used SAML Response: the
// portal goes back through the IdP, and the audit log records no failure.
func TestUsedAssertionRoundTripIsNotAFailure(t *testing.T) {
	ev := webtest.NewEnv(t, "https://aws.example.com")
	csrf, grants := ev.SignIn(t)
	var pt string
	for _, g := range grants {
		if g = html.UnescapeString(g); strings.HasPrefix(g, webtest.AdmRole+"|") {
			pt = g
		}
	}
	if pt == "" {
		t.Fatalf("no pass-through grant among %q", grants)
	}
	if rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {pt}}); rec.Code != http.StatusFound {
		t.Fatalf("first opening: %d %s", rec.Code, rec.Body)
	}
	rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {pt}})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "/saml/okta/login?") {
		t.Fatalf("second opening: %d, want the page that signs in again\n%s", rec.Code, rec.Body)
	}
	for _, e := range ev.Audit.Events {
		if e.Result == store.ResultFailure {
			t.Errorf("audit failure for the expected round trip: %+v", e)
		}
	}
}
