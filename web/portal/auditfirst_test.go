package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker/web/internal/webtest"
)

// A store that cannot write (read-only, disk full): the sign-in is
// refused with 503 and a page that says so, no session is stored and no
// session cookie set; readiness says not ready.
func TestSignInRefusedWhenStoreCannotWrite(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	ev.SP.Result.InResponseTo = "" // unsolicited, as from an IdP tile
	ev.SessionStore.ReadOnly = true
	rec := ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {"x"}})
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "cannot save anything right now") {
		t.Fatalf("ACS with a read-only store: %d\n%s", rec.Code, rec.Body)
	}
	if len(ev.SessionStore.M) != 0 {
		t.Fatalf("%d sessions stored", len(ev.SessionStore.M))
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == "arrive" || (c.Value != "" && strings.Contains(strings.ToLower(c.Name), "session")) {
			t.Errorf("cookie %s set for a refused sign-in", c.Name)
		}
	}
	if r := ev.Do(t, http.MethodGet, "/readyz", nil); r.Code != http.StatusServiceUnavailable || !strings.Contains(r.Body.String(), `"store":"read_only"`) {
		t.Errorf("readyz with a read-only store: %d %s", r.Code, r.Body)
	}
	ev.SessionStore.ReadOnly = false
	ev.SignIn(t) // and it works again without a restart
}

// A signed-in person opening a role while the audit log cannot write: 503
// with a page that says why, and no redirect to AWS.
func TestRoleRefusedWithoutAuditRecord(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	csrf, grants := ev.SignIn(t)
	var dev string
	for _, g := range grants {
		if strings.HasPrefix(g, webtest.DevRole) {
			dev = g
		}
	}
	ev.Audit.ReadOnly = true
	rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {dev}})
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Location") != "" || strings.Contains(rec.Body.String(), "SigninToken") {
		t.Fatalf("role with no audit record: %d %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if !strings.Contains(rec.Body.String(), "audit log") {
		t.Errorf("the page does not say why:\n%s", rec.Body)
	}
	ev.Audit.ReadOnly = false
	if rec := ev.Do(t, http.MethodPost, "/console", url.Values{"csrf_token": {csrf}, "grant": {dev}}); rec.Code != http.StatusFound {
		t.Fatalf("with the audit log back: %d", rec.Code)
	}
}
