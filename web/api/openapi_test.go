package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/web/api"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// The OpenAPI document (openapi.json) against the API: served without
// authentication, valid as OpenAPI 3.1, naming exactly the routes the
// site registers (TestOpenAPIDocumentsEveryRoute) and exactly the
// properties the answers hold (TestOpenAPIAnswersMatch; the API for apps
// in web/apps).

func TestOpenAPIDocumentServed(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	rec := ev.Do(t, http.MethodGet, api.DocumentPath, nil) // no session, no token
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" ||
		rec.Header().Get("Cache-Control") != "public, max-age=3600" || !bytes.Equal(rec.Body.Bytes(), api.Document()) {
		t.Fatalf("GET %s: %d %q %q", api.DocumentPath, rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"))
	}
	doc := webtest.ParseOpenAPI(t, rec.Body.Bytes())
	for _, p := range doc.Lint() {
		t.Error(p)
	}
	// Without the admin API too: the document also describes the API for apps.
	cfg := ev.Config
	cfg.Admin = nil
	ev.Rebuild(t, cfg)
	if rec := ev.Do(t, http.MethodGet, api.DocumentPath, nil); rec.Code != http.StatusOK {
		t.Errorf("admin off: %d", rec.Code)
	}
	if rec := ev.Do(t, http.MethodGet, "/api/v1/rules", nil); rec.Code != http.StatusForbidden {
		t.Errorf("admin off: the rules answered %d", rec.Code)
	}
}

// TestOpenAPILintCatches: the lint finds a broken $ref, a 3.0 version
// and an undeclared path parameter (so a clean lint means something).
func TestOpenAPILintCatches(t *testing.T) {
	bad := strings.NewReplacer(`"openapi": "3.1.0"`, `"openapi": "3.0.3"`,
		`"#/components/schemas/Ended"`, `"#/components/schemas/Endd"`,
		`"parameters": [{ "$ref": "#/components/parameters/AppID" }],`, ``).Replace(string(api.Document()))
	got := strings.Join(webtest.ParseOpenAPI(t, []byte(bad)).Lint(), "\n")
	for _, want := range []string{`openapi is "3.0.3"`, "$ref #/components/schemas/Endd does not resolve", "path parameter id is not declared"} {
		if !strings.Contains(got, want) {
			t.Errorf("lint did not say %q:\n%s", want, got)
		}
	}
}

// Every route the site registers under /api/v1 (with the admin API and
// the API for apps on) is in the document with its method, and every
// documented operation is registered; each admin operation names the
// token scope its route needs (api.Routes).
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	ev := appsEnv(t)
	doc := webtest.ParseOpenAPI(t, api.Document())
	registered := map[string]bool{}
	for _, r := range ev.Site.Echo().Routes() {
		if !strings.HasPrefix(r.Path, webtest.APIPrefix+"/") || r.Method == "echo_route_not_found" {
			continue // the group's catch-alls: 404 after the guard
		}
		registered[r.Method+" "+webtest.DocPath(r.Path)] = true
	}
	if len(registered) < 29 {
		t.Fatalf("only %d routes under /api/v1: %v", len(registered), registered)
	}
	documented := doc.Operations()
	for op := range registered {
		if !slices.Contains(documented, op) {
			t.Errorf("route %s is not in the OpenAPI document", op)
		}
	}
	for _, op := range documented {
		if !registered[op] {
			t.Errorf("the OpenAPI document has %s, which is not a route", op)
		}
	}
	for _, r := range api.Routes() {
		op := doc.Operation(r.Method, webtest.DocPath(r.Path))
		sec, _ := op["security"].([]any)
		want := []any{map[string]any{"adminToken": []any{r.Scope}}, map[string]any{"adminSession": []any{}}}
		if len(sec) != 2 || !equalJSON(sec[0], want[0]) || !equalJSON(sec[1], want[1]) {
			t.Errorf("%s %s: security %v, want the token scope %s or a session", r.Method, r.Path, sec, r.Scope)
		}
	}
}

func equalJSON(a, b any) bool {
	return strings.TrimSpace(fmtJSON(a)) == strings.TrimSpace(fmtJSON(b))
}

// TestOpenAPIAnswersMatch sends one request per admin route, and some
// refusals, and checks each answer's status and JSON property names
// against the document (webtest.OpenAPI.Check): no undocumented
// property, every required one present. Every GET and the main writes
// must be among them.
func TestOpenAPIAnswersMatch(t *testing.T) {
	ev := appsEnv(t)
	ev.As(t, "ann", webtest.AdminGroup)
	ev.AsBrowser(t, "carol-laptop", "carol", "dev") // a session to list, a sign-in to simulate
	ev.Jar = nil
	tok := []string{"Authorization", "Bearer " + storedToken(t, ev, "all", admins.Scopes(), time.Now().Add(time.Hour))}
	doc := webtest.ParseOpenAPI(t, api.Document())
	call := func(method, route, target, body string, status int) *httptest.ResponseRecorder {
		t.Helper()
		rec := ev.API(t, method, target, body, tok...)
		if rec.Code != status {
			t.Errorf("%s %s: %d, want %d: %s", method, target, rec.Code, status, rec.Body)
		}
		doc.Check(t, method, route, rec)
		return rec
	}
	const rule = `{"name":"ops","description":"Operators","max_auth_age":"8h","when":{"any":[{"attribute":"groups","equals":"ops"},{"all":[{"attribute":"dept","prefix":"it"}]}]},
		"grant":{"account":"sandbox","role":"Operator","duration":"2h","session_tags":{"team":"ops"}}}`

	// Rules.
	call("GET", "/api/v1/rules", "/api/v1/rules", "", 200)
	call("POST", "/api/v1/rules", "/api/v1/rules", rule, 201)
	call("GET", "/api/v1/rules/:name", "/api/v1/rules/ops", "", 200)
	call("PUT", "/api/v1/rules/:name", "/api/v1/rules/ops", `{"version":1,"rule":`+strings.Replace(rule, `"2h"`, `"3h"`, 1)+`}`, 200)
	call("GET", "/api/v1/rules/:name/history", "/api/v1/rules/ops/history", "", 200)
	call("POST", "/api/v1/simulate", "/api/v1/simulate", `{"provider":"okta","subject":"carol"}`, 200)
	call("POST", "/api/v1/simulate", "/api/v1/simulate", `{"provider":"okta","attributes":{"groups":["ops"]}}`, 200)
	call("DELETE", "/api/v1/rules/:name", "/api/v1/rules/ops?version=2", "", 204)
	call("GET", "/api/v1/rules/:name/history", "/api/v1/rules/ops/history", "", 200) // with the delete (no rule)
	rec := call("GET", "/api/v1/rules", "/api/v1/rules", "", 200)
	revision := strings.TrimSpace(strings.SplitN(strings.SplitN(rec.Body.String(), `"revision":`, 2)[1], ",", 2)[0])
	call("PUT", "/api/v1/rules", "/api/v1/rules", `{"revision":`+revision+`,"rules":[`+rule+`]}`, 200)
	// Refusals: the error shapes.
	call("GET", "/api/v1/rules/:name", "/api/v1/rules/nope", "", 404)
	call("POST", "/api/v1/rules", "/api/v1/rules", `{"name":"bad","when":{"all":[{"attribute":"g","regex":"("}]},"grant":{"account":"sandbox","role":"X"}}`, 422)
	call("PUT", "/api/v1/rules/:name", "/api/v1/rules/ops", `{"version":7,"rule":`+rule+`}`, 409)
	call("DELETE", "/api/v1/rules/:name", "/api/v1/rules/ops", "", 400)
	call("POST", "/api/v1/simulate", "/api/v1/simulate", `{"provider":"okta","bogus":1}`, 400)

	// Audit, accounts, sessions.
	call("GET", "/api/v1/audit", "/api/v1/audit", "", 200)
	call("GET", "/api/v1/audit", "/api/v1/audit?limit=1", "", 200) // with next_before
	call("GET", "/api/v1/audit", "/api/v1/audit?result=maybe", "", 400)
	call("GET", "/api/v1/accounts", "/api/v1/accounts", "", 200)
	rec = call("GET", "/api/v1/sessions", "/api/v1/sessions?provider=okta&subject=carol", "", 200)
	handle := strings.SplitN(strings.SplitN(rec.Body.String(), `"handle": "`, 2)[1], `"`, 2)[0]
	call("GET", "/api/v1/sessions", "/api/v1/sessions", "", 400)
	call("DELETE", "/api/v1/sessions/:handle", "/api/v1/sessions/"+handle+"?provider=okta&subject=carol", "", 204)
	call("DELETE", "/api/v1/sessions/:handle", "/api/v1/sessions/"+handle+"?provider=okta&subject=carol", "", 404)
	call("DELETE", "/api/v1/sessions", "/api/v1/sessions?provider=okta&subject=ann", "", 200)

	// Short links.
	call("PUT", "/api/v1/links/:name", "/api/v1/links/ops", `{"account":"sandbox","role":"Operator","destination":"https://console.aws.amazon.com/s3/home","region":"eu-west-1","description":"Ops"}`, 200)
	call("GET", "/api/v1/links", "/api/v1/links", "", 200)
	call("GET", "/api/v1/links/:name", "/api/v1/links/ops", "", 200)
	call("DELETE", "/api/v1/links/:name", "/api/v1/links/ops", "", 204)
	call("GET", "/api/v1/links/:name", "/api/v1/links/ops", "", 404)

	// Apps.
	call("POST", "/api/v1/apps", "/api/v1/apps", wikiSpec, 201)
	call("GET", "/api/v1/apps", "/api/v1/apps", "", 200)
	call("GET", "/api/v1/apps/:id", "/api/v1/apps/wiki", "", 200)
	call("GET", "/api/v1/apps/:id", "/api/v1/apps/grafana", "", 200)
	call("PUT", "/api/v1/apps/:id", "/api/v1/apps/wiki", `{"version":1,"app":`+wikiSpec+`}`, 200)
	call("POST", "/api/v1/apps/:id/secret", "/api/v1/apps/wiki/secret", `{"version":2}`, 200)
	rec = call("GET", "/api/v1/apps/export", "/api/v1/apps/export", "", 200)
	call("PUT", "/api/v1/apps", "/api/v1/apps", `{"dry_run":true,`+strings.TrimPrefix(rec.Body.String(), "{"), 200)
	call("POST", "/api/v1/apps", "/api/v1/apps", `{"id":"bad id","redirect_uris":[]}`, 422)
	call("PUT", "/api/v1/apps/:id", "/api/v1/apps/grafana", `{"version":1,"app":{"id":"grafana","redirect_uris":["https://g.example.com/cb"]}}`, 409)
	call("DELETE", "/api/v1/apps/:id", "/api/v1/apps/wiki?version=3", "", 204)

	// Every GET, and the main writes, were checked.
	for _, op := range doc.Operations() {
		method, path, _ := strings.Cut(op, " ")
		if slices.Contains([]string{"/roles", "/credentials", "/console", "/openapi.json"}, path) {
			continue // the API for apps: web/apps; the document itself: above
		}
		if !doc.Checked(op) {
			t.Errorf("no answer of %s was checked", op)
		}
		_ = method
	}
}

// TestOpenAPICheckCatches: the check finds an undocumented property, a
// missing required one, a wrong type and an undocumented status.
func TestOpenAPICheckCatches(t *testing.T) {
	doc := webtest.ParseOpenAPI(t, api.Document())
	for name, tc := range map[string]struct {
		status int
		body   string
		want   string
	}{
		"extra":    {200, `[{"id":"111122223333","Alias":"x"}]`, `property "Alias" is not in the document`},
		"missing":  {200, `[{"alias":"x"}]`, `required property "id" is missing`},
		"type":     {200, `[{"id":111122223333}]`, `$[0].id: integer, documented [string]`},
		"status":   {418, `{}`, `answered 418`},
		"no array": {200, `{"id":"1"}`, `$: object, documented [array]`},
	} {
		ft := &fakeTB{TB: t}
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(tc.status)
		rec.WriteString(tc.body)
		if tc.status == 418 {
			// No default for this one: a path whose operation lists only 200.
			doc.Check(ft, "GET", "/api/v1/openapi.json", rec)
		} else {
			doc.Check(ft, "GET", "/api/v1/accounts", rec)
		}
		if !strings.Contains(ft.errs.String(), tc.want) {
			t.Errorf("%s: the check said %q, want %q", name, ft.errs.String(), tc.want)
		}
	}
}

// fakeTB records errors instead of failing.
type fakeTB struct {
	testing.TB
	errs strings.Builder
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	fmt.Fprintf(&f.errs, format+"\n", args...)
}

func fmtJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
