package apps_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/broker-dev/broker/access"
	"github.com/broker-dev/broker/web/api"
	webapps "github.com/broker-dev/broker/web/apps"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// TestOpenAPIAnswersMatch: the API for apps answers exactly what the
// OpenAPI document (web/api's openapi.json) lists for each route and
// status, successes and refusals (webtest.OpenAPI.Check: no undocumented
// property, every required one present, the documented types).
func TestOpenAPIAnswersMatch(t *testing.T) {
	ev, _, _ := newEnvWith(t, func(ev *webtest.Env) *access.Service { return ev.NewAccess(t, rolesEngine(t)) })
	ev.SignIn(t)
	both, _ := appTokens(t, ev, "openid aws:roles aws:credentials")
	rolesOnly, _ := appTokens(t, ev, "openid aws:roles")
	doc := webtest.ParseOpenAPI(t, api.Document())
	for _, tc := range []struct {
		method, path, token, body string
		status                    int
	}{
		{http.MethodGet, webapps.RolesPath, both, "", http.StatusOK},
		{http.MethodPost, webapps.CredentialsPath, both, `{"account":"sandbox","role":"Developer","duration":"1h"}`, http.StatusOK},
		{http.MethodPost, webapps.CredentialsPath, both, `{"account":"sandbox","role":"Developer","duration":36000}`, http.StatusOK},
		{http.MethodPost, webapps.ConsolePath, both, `{"account":"sandbox","role":"Developer","destination":"s3","region":"eu-west-1"}`, http.StatusOK},
		{http.MethodGet, webapps.RolesPath, "", "", http.StatusUnauthorized},
		{http.MethodPost, webapps.CredentialsPath, rolesOnly, `{"account":"sandbox","role":"Developer"}`, http.StatusForbidden},
		{http.MethodPost, webapps.CredentialsPath, both, `{"account":"sandbox","role":"Operator"}`, http.StatusForbidden},
		{http.MethodPost, webapps.CredentialsPath, both, `{"account":"sandbox","role":"Developer","bogus":1}`, http.StatusBadRequest},
		{http.MethodPost, webapps.ConsolePath, both, `{"account":"sandbox","role":"Admin"}`, http.StatusForbidden},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		var hdr []string
		if tc.token != "" {
			hdr = []string{"Authorization", "Bearer " + tc.token}
		}
		rec := ev.Send(req, hdr...)
		if rec.Code != tc.status {
			t.Errorf("%s %s %s: %d, want %d: %s", tc.method, tc.path, tc.body, rec.Code, tc.status, rec.Body)
		}
		doc.Check(t, tc.method, tc.path, rec)
	}
	for _, op := range []string{"GET /roles", "POST /credentials", "POST /console"} {
		if !doc.Checked(op) {
			t.Errorf("%s was not checked", op)
		}
	}
}
