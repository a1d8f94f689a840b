package web_test

// The frame's middleware, seen through the whole site.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker/web/internal/webtest"
)

func TestSecurityHeaders(t *testing.T) {
	ev := webtest.NewEnv(t, "https://aws.example.com")
	rec := ev.Do(t, http.MethodGet, "/", nil)
	h := rec.Header()
	for k, want := range map[string]string{
		"Cache-Control":             "no-store",
		"Referrer-Policy":           "no-referrer",
		"X-Frame-Options":           "DENY",
		"X-Content-Type-Options":    "nosniff",
		"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
	} {
		if h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want)
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, part := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "script-src 'self'"} {
		if !strings.Contains(csp, part) {
			t.Errorf("CSP %q lacks %q", csp, part)
		}
	}
	if h.Get("X-Request-Id") == "" || !strings.Contains(rec.Body.String(), h.Get("X-Request-Id")) {
		t.Error("request id missing from header or page")
	}
}

func TestBodyLimit(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	rec := ev.Do(t, http.MethodPost, "/saml/okta/acs", url.Values{"SAMLResponse": {strings.Repeat("A", 70<<10)}})
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", rec.Code)
	}
}
