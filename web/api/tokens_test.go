package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/broker-dev/broker/admins"
	"github.com/broker-dev/broker/store"
	"github.com/broker-dev/broker/web/api"
	"github.com/broker-dev/broker/web/internal/webtest"
)

// refusal reads a JSON error's reason and message.
func refusal(t *testing.T, rec *httptest.ResponseRecorder) (reason, message string) {
	t.Helper()
	var body struct{ Reason, Message string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("not a JSON error: %d %s", rec.Code, rec.Body)
	}
	return body.Reason, body.Message
}

// storedToken stores a token created by okta/ann (whose latest sign-in
// the env recorded) with scopes and an expiry, and returns its secret.
func storedToken(t *testing.T, ev *webtest.AdminEnv, id string, scopes []string, expires time.Time) string {
	t.Helper()
	secret := admins.TokenPrefix + "test-" + id + "-0123456789abcdef"
	sum := sha256.Sum256([]byte(secret))
	if err := ev.DB.CreateAPIToken(context.Background(), &store.APIToken{ID: id, Name: id, Hash: sum[:], CreatedBy: "okta/ann",
		CreatorProvider: "okta", CreatorSubject: "ann", Scopes: scopes, ExpiresAt: expires}); err != nil {
		t.Fatal(err)
	}
	return secret
}

func TestExpiredTokenRefused(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	ev.As(t, "ann", webtest.AdminGroup)
	ev.Jar = nil
	live := storedToken(t, ev, "live", admins.Scopes(), time.Now().Add(time.Hour))
	expired := storedToken(t, ev, "old", admins.Scopes(), time.Now().Add(-time.Minute))
	if rec := ev.API(t, "GET", "/api/v1/rules", "", "Authorization", "Bearer "+live); rec.Code != http.StatusOK {
		t.Fatalf("live token: %d %s", rec.Code, rec.Body)
	}
	rec := ev.API(t, "GET", "/api/v1/rules", "", "Authorization", "Bearer "+expired)
	reason, msg := refusal(t, rec)
	if rec.Code != http.StatusUnauthorized || reason != "api_token_expired" || !strings.Contains(msg, "expired at") || !strings.Contains(msg, "create a new one") {
		t.Fatalf("expired token: %d %s %q", rec.Code, reason, msg)
	}
	evs, _ := ev.DB.ListAudit(context.Background(), store.AuditFilter{Event: "api_token_refused"})
	if len(evs) != 1 || evs[0].Reason != "api_token_expired" || evs[0].Subject != "token:old" || strings.Contains(evs[0].Message, expired) {
		t.Fatalf("audit %+v", evs)
	}
}

func TestOutOfScopeTokenRefused(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	tok := createToken(t, ev, csrf, "reader", "rules:read")
	ev.Jar = nil
	bearer := []string{"Authorization", "Bearer " + tok}
	if rec := ev.API(t, "GET", "/api/v1/rules", "", bearer...); rec.Code != http.StatusOK {
		t.Fatalf("in scope GET rules: %d %s", rec.Code, rec.Body)
	}
	if rec := ev.API(t, "POST", "/api/v1/simulate", `{"provider":"okta","attributes":{"groups":["dev"]}}`, bearer...); rec.Code != http.StatusOK {
		t.Fatalf("simulate is read-only (rules:read): %d %s", rec.Code, rec.Body)
	}
	rec := ev.API(t, "PUT", "/api/v1/rules", `{"rules":[],"allow_empty":true}`, bearer...)
	reason, msg := refusal(t, rec)
	if rec.Code != http.StatusForbidden || reason != "api_token_scope" || !strings.Contains(msg, "rules:write") {
		t.Fatalf("rules:read token PUT rules: %d %s %q", rec.Code, reason, msg)
	}
	if len(ev.Rules.State().Rules) != 1 {
		t.Fatal("an out-of-scope request changed the rules")
	}
	if rec := ev.API(t, "GET", "/api/v1/audit", "", bearer...); rec.Code != http.StatusForbidden {
		t.Fatalf("rules:read token GET audit: %d", rec.Code)
	}
	evs, _ := ev.DB.ListAudit(context.Background(), store.AuditFilter{Event: "api_token_refused"})
	if len(evs) != 2 || evs[1].Reason != "api_token_scope" || evs[1].Details["scope"] != "rules:write" || evs[1].Subject != "token:reader" {
		t.Fatalf("audit %+v", evs)
	}
}

// Every API route needs its scope: a token with every other scope is
// refused with 403 api_token_scope naming it.
func TestEveryAPIRouteNeedsItsScope(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	ev.As(t, "ann", webtest.AdminGroup)
	ev.Jar = nil
	routes := api.Routes()
	if len(routes) < len(webtest.AdminRoutes)/4 {
		t.Fatalf("only %d routes", len(routes))
	}
	for i, r := range routes {
		if !admins.IsScope(r.Scope) {
			t.Fatalf("%s %s needs unknown scope %q", r.Method, r.Path, r.Scope)
		}
		others := slices.DeleteFunc(admins.Scopes(), func(sc string) bool { return sc == r.Scope })
		tok := storedToken(t, ev, "t"+string(rune('a'+i)), others, time.Now().Add(time.Hour))
		path := "/api/v1" + strings.NewReplacer(":name", "devs", ":handle", "x").Replace(r.Path)
		rec := ev.API(t, r.Method, path, "", "Authorization", "Bearer "+tok)
		if reason, msg := refusal(t, rec); rec.Code != http.StatusForbidden || reason != "api_token_scope" || !strings.Contains(msg, r.Scope) {
			t.Errorf("%s %s without %s: %d %s %q", r.Method, path, r.Scope, rec.Code, reason, msg)
		}
	}
}

// A token stops working the moment its creator's latest sign-in no longer
// meets the admin condition, and works again when it does.
func TestOrphanedTokenRefused(t *testing.T) {
	ev := webtest.NewAdminEnv(t)
	csrf := ev.As(t, "ann", webtest.AdminGroup)
	tok := createToken(t, ev, csrf, "ci", "rules:read")
	bearer := []string{"Authorization", "Bearer " + tok}
	ev.Jar = nil
	if rec := ev.API(t, "GET", "/api/v1/rules", "", bearer...); rec.Code != http.StatusOK {
		t.Fatalf("creator an admin: %d %s", rec.Code, rec.Body)
	}
	// Ann signs in again, removed from the admin group at the IdP.
	ev.As(t, "ann", "dev")
	ev.Jar = nil
	rec := ev.API(t, "GET", "/api/v1/rules", "", bearer...)
	reason, msg := refusal(t, rec)
	if rec.Code != http.StatusUnauthorized || reason != "api_token_orphaned" || !strings.Contains(msg, "no longer a broker administrator") {
		t.Fatalf("creator no longer an admin: %d %s %q", rec.Code, reason, msg)
	}
	// Someone else signing in changes nothing; Ann back in the group does.
	ev.As(t, "bob", webtest.AdminGroup)
	ev.Jar = nil
	if rec := ev.API(t, "GET", "/api/v1/rules", "", bearer...); rec.Code != http.StatusUnauthorized {
		t.Fatalf("another admin signed in: %d", rec.Code)
	}
	ev.As(t, "ann", webtest.AdminGroup)
	ev.Jar = nil
	if rec := ev.API(t, "GET", "/api/v1/rules", "", bearer...); rec.Code != http.StatusOK {
		t.Fatalf("creator an admin again: %d %s", rec.Code, rec.Body)
	}
}
