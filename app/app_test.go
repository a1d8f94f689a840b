package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The broker starts while an OpenID Provider is down, says so on /readyz,
// and stays ready through its other IdPs.
func TestStartsWhileAnOPIsDown(t *testing.T) {
	cfg := testConfigAfterProviders(t, `  - {id: down-op, type: oidc, issuer: "http://127.0.0.1:1", client_id: broker}
rules:
  - {name: r, always: true, grant: {account: "111122223333", role: R}}
`)
	start := time.Now()
	a, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatalf("the broker did not start with an OP down: %v", err)
	}
	defer a.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("start-up took %s with an OP down", d)
	}
	rec := httptest.NewRecorder()
	a.Web.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var body struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusOK || body.Checks["provider:down-op"] != "unavailable" || body.Checks["provider:saml-idp"] != "ok" || body.Checks["store"] != "ok" {
		t.Fatalf("readyz %d %s", rec.Code, rec.Body)
	}
	// Its sign-in link answers with a clear 503, not a hang or a crash.
	rec = httptest.NewRecorder()
	a.Web.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/oidc/down-op/login", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("login with the OP down: %d", rec.Code)
	}
}
