package site_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker/web/api"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// Routing across the audiences mounted together: the portal's, meta's and
// the frame's answers to unknown providers, routes and unconfigured issuers.
func TestUnknownProviderAndRoutes(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	for _, tc := range []struct {
		method, path string
		status       int
		reason       string
	}{
		{http.MethodGet, "/saml/nope/login", http.StatusNotFound, "provider_unknown"},
		{http.MethodPost, "/saml/nope/acs", http.StatusNotFound, "provider_unknown"},
		{http.MethodGet, "/no/such/page", http.StatusNotFound, "route_not_found"},
		{http.MethodGet, "/idp/saml/metadata", http.StatusNotFound, "issuer_not_configured"},
		{http.MethodPost, "/console", http.StatusForbidden, "csrf_token"},
		{http.MethodPost, "/logout", http.StatusForbidden, "csrf_token"},
	} {
		// The reason is for the log and JSON clients, not the page.
		rec := ev.Do(t, tc.method, tc.path, url.Values{})
		if rec.Code != tc.status || strings.Contains(rec.Body.String(), tc.reason) || !strings.Contains(rec.Body.String(), `id="error-action"`) {
			t.Errorf("%s %s: %d, want %d, a what-to-do line and no reason code\n%s", tc.method, tc.path, rec.Code, tc.status, rec.Body)
		}
		var body map[string]string
		rec = ev.Do(t, tc.method, tc.path, url.Values{}, "Accept", "application/json")
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != tc.status || body["reason"] != tc.reason {
			t.Errorf("%s %s as JSON: %d %s, want %d with %s", tc.method, tc.path, rec.Code, rec.Body, tc.status, tc.reason)
		}
	}
	rec := ev.Do(t, http.MethodGet, "/saml/okta/metadata", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/samlmetadata+xml" {
		t.Errorf("SP metadata: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}

// Every admin route the server registers is in webtest.AdminRoutes, so a new
// route cannot escape the refusal tests that walk it (web/adminauth).
func TestAdminRoutesListIsComplete(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	listed := map[string]bool{}
	for _, r := range webtest.AdminRoutes {
		listed[r.Method+" "+strings.SplitN(r.Path, "?", 2)[0]] = true
	}
	param := strings.NewReplacer(":name", "devs", ":id", "x", ":handle", "x")
	for _, r := range ev.Site.Echo().Routes() {
		if (!strings.HasPrefix(r.Path, "/admin") && !strings.HasPrefix(r.Path, "/api/")) || r.Method == "echo_route_not_found" {
			continue // the groups' catch-alls answer 404 only after requireAdmin
		}
		if r.Path == api.DocumentPath {
			continue // public: the API's description (TestOpenAPIDocument)
		}
		p := param.Replace(r.Path)
		if strings.HasPrefix(r.Path, "/admin/accounts/:id") {
			p = strings.Replace(r.Path, ":id", webtest.Acct, 1)
		}
		if !listed[r.Method+" "+p] {
			t.Errorf("route %s %s is not in webtest.AdminRoutes", r.Method, r.Path)
		}
	}
}
