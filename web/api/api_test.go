package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/broker-dev/broker/web/internal/webtest"
	"github.com/broker-dev/broker/web/ratelimit"
)

func TestAdminAPIWithTokens(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	tok := createToken(t, ev, csrf, "ci", "rules:read", "rules:write", "audit:read")
	if strings.Contains(ev.Do(t, "GET", "/admin/tokens", nil).Body.String(), tok) {
		t.Fatal("the token is shown twice")
	}
	ev.Jar = nil // the token alone, no session
	bearer := []string{"Authorization", "Bearer " + tok}

	rec := ev.API(t, "GET", "/api/v1/rules", "", bearer...)
	var got struct {
		Revision int64
		Rules    []struct {
			Name    string
			Version int64
		}
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &got) != nil || len(got.Rules) != 1 || got.Rules[0].Name != "devs" {
		t.Fatalf("GET rules: %d %s", rec.Code, rec.Body)
	}
	if rec := ev.API(t, "GET", "/admin/rules", "", bearer...); rec.Code != http.StatusForbidden {
		t.Fatalf("token on a page: %d", rec.Code)
	}
	// Bad rules: 422 with the rule, field and reason.
	rec = ev.API(t, "POST", "/api/v1/rules", `{"name":"bad","when":{"all":[{"attribute":"g","regex":"("}]},"grant":{"account":"sandbox","role":"X"}}`, bearer...)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"field": "when.all[0].regex"`) {
		t.Fatalf("bad rule: %d %s", rec.Code, rec.Body)
	}
	rec = ev.API(t, "POST", "/api/v1/rules", `{"name":"ops","when":{"all":[{"attribute":"groups","equals":"ops"}]},"grant":{"account":"sandbox","role":"Operator"}}`, bearer...)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	// Update from a stale version: 409, nothing lost.
	rec = ev.API(t, "PUT", "/api/v1/rules/devs", `{"version": 7, "rule": {"when":{"all":[{"attribute":"groups","equals":"dev"}]},"grant":{"account":"sandbox","role":"Y"}}}`, bearer...)
	if rec.Code != http.StatusConflict {
		t.Fatalf("stale update: %d %s", rec.Code, rec.Body)
	}
	// Simulate with claims and with candidate rules.
	rec = ev.API(t, "POST", "/api/v1/simulate", `{"provider":"okta","claims":{"sub":"x","groups":["ops","dev"]}}`, bearer...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "role/Operator") || !strings.Contains(rec.Body.String(), "role/Developer") {
		t.Fatalf("simulate: %d %s", rec.Code, rec.Body)
	}
	rec = ev.API(t, "POST", "/api/v1/simulate", `{"provider":"okta","attributes":{"groups":["ops"]},"rules":[]}`, bearer...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"roles": []`) {
		t.Fatalf("simulate candidate: %d %s", rec.Code, rec.Body)
	}
	rec = ev.API(t, "POST", "/api/v1/simulate", `{"provider":"okta","attributes":{},"bogus":1}`, bearer...)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("unknown field: %d", rec.Code)
	}
	// Audit as JSON, filtered.
	rec = ev.API(t, "GET", "/api/v1/audit?event=rule_saved", "", bearer...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"subject": "token:ci"`) {
		t.Fatalf("audit: %d %s", rec.Code, rec.Body)
	}
	// snake_case names, as every /api/v1 answer.
	var audit struct{ Events []map[string]any }
	if err := json.Unmarshal(rec.Body.Bytes(), &audit); err != nil || len(audit.Events) == 0 {
		t.Fatalf("audit: %v %s", err, rec.Body)
	}
	for k := range audit.Events[0] {
		if k != strings.ToLower(k) {
			t.Errorf("audit event key %q is not snake_case", k)
		}
	}
	for _, k := range []string{"id", "time", "event", "result", "subject"} {
		if _, ok := audit.Events[0][k]; !ok {
			t.Errorf("audit event lacks %q: %v", k, audit.Events[0])
		}
	}
	// Revoked: 401.
	ev.As(t, "ann", webtest.AdminGroup)
	toks, _ := ev.DB.APITokens(context.Background())
	csrf = ev.As(t, "ann", webtest.AdminGroup)
	ev.Do(t, "POST", "/admin/tokens/"+toks[0].ID+"/delete", url.Values{"csrf_token": {csrf}})
	if rec := ev.API(t, "GET", "/api/v1/rules", "", bearer...); rec.Code != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", rec.Code)
	}
	if rec := ev.API(t, "GET", "/api/v1/rules", "", "Authorization", "Bearer nope"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("malformed token: %d", rec.Code)
	}
}

// createToken creates a token through the admin page with scopes and the
// default lifetime, and returns its secret.
func createToken(t *testing.T, ev *webtest.AdminEnv, csrf, name string, scopes ...string) string {
	t.Helper()
	rec := ev.Do(t, "POST", "/admin/tokens", url.Values{"csrf_token": {csrf}, "name": {name}, "scope": scopes})
	tok := regexp.MustCompile(`id="token-value">(brk_[^<]+)<`).FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusCreated || tok == nil {
		t.Fatalf("create token: %d\n%s", rec.Code, rec.Body)
	}
	return tok[1]
}

func TestAdminAPIWithSessionNeedsCSRFHeader(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	body := `{"rules":[],"allow_empty":true}`
	if rec := ev.API(t, "PUT", "/api/v1/rules", body); rec.Code != http.StatusForbidden {
		t.Fatalf("no header: %d", rec.Code)
	}
	// Emptying the rules needs saying so (issue 9).
	if rec := ev.API(t, "PUT", "/api/v1/rules", `{"rules":[]}`, "X-CSRF-Token", csrf); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "rules_empty") {
		t.Fatalf("empty without allow_empty: %d %s", rec.Code, rec.Body)
	}
	rec := ev.API(t, "PUT", "/api/v1/rules", body, "X-CSRF-Token", csrf)
	if rec.Code != http.StatusOK {
		t.Fatalf("with header: %d %s", rec.Code, rec.Body)
	}
	if len(ev.Rules.State().Rules) != 0 {
		t.Fatal("rules not replaced")
	}
}

// TestAPITokenAttemptsAreRateLimited: a client guessing tokens gets 429
// with Retry-After once its burst is spent; the limit counts attempts
// with a token only, so an admin session is not slowed by it.
func TestAPITokenAttemptsAreRateLimited(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	cfg := ev.Config
	cfg.APITokenLimit = ratelimit.Limit{PerMinute: 6, Burst: 2}
	ev.Rebuild(t, cfg)
	guess := []string{"Authorization", "Bearer brk_guess"}
	for i := 0; i < 2; i++ {
		if rec := ev.API(t, "GET", "/api/v1/rules", "", guess...); rec.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i+1, rec.Code)
		}
	}
	rec := ev.API(t, "GET", "/api/v1/rules", "", guess...)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "10" {
		t.Fatalf("3rd guess: %d, Retry-After %q; want 429 and 10", rec.Code, rec.Header().Get("Retry-After"))
	}
	var body struct{ Reason string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Reason != "rate_limited_api_token" {
		t.Errorf("body %s", rec.Body)
	}
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	for i := 0; i < 5; i++ {
		if rec := ev.API(t, "GET", "/api/v1/rules", "", "X-CSRF-Token", csrf); rec.Code != http.StatusOK {
			t.Fatalf("admin session request %d: %d", i+1, rec.Code)
		}
	}
}
