package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/broker-dev/broker/web/internal/webtest"
	"github.com/broker-dev/broker/web/ratelimit"
)

// TestSignInRoutesAreRateLimited: one client flooding the ACS gets 429 with
// Retry-After once its burst is spent, on the ACS and the login routes
// alike; another client is not affected.
func TestSignInRoutesAreRateLimited(t *testing.T) {
	ev := webtest.NewEnv(t, "http://localhost:8080")
	cfg := ev.Config
	cfg.SignInLimit = ratelimit.Limit{PerMinute: 30, Burst: 5}
	ev.Rebuild(t, cfg)
	post := func(addr string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, "/saml/okta/acs", strings.NewReader(url.Values{"SAMLResponse": {"bm90IHhtbA=="}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = addr + ":50000"
		return ev.Send(req).Result()
	}
	ev.SP.Err = webtest.ErrString("bad response")
	for i := 0; i < 5; i++ {
		if res := post("192.0.2.50"); res.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	res := post("192.0.2.50")
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "2" {
		t.Fatalf("after the burst: %d, Retry-After %q; want 429 and 2 (one token every 2 s)", res.StatusCode, res.Header.Get("Retry-After"))
	}
	req, _ := http.NewRequest(http.MethodGet, "/saml/okta/login", nil)
	req.RemoteAddr = "192.0.2.50:50001"
	if rec := ev.Send(req); rec.Code != http.StatusTooManyRequests {
		t.Errorf("login route from the same client: %d, want 429", rec.Code)
	}
	if res := post("192.0.2.51"); res.StatusCode == http.StatusTooManyRequests {
		t.Error("another client was refused")
	}
	// The person sees why and what to do; the audit log is not flooded by
	// refused requests (they never reach the sign-in).
	before := len(ev.Audit.Events)
	for i := 0; i < 20; i++ {
		post("192.0.2.50")
	}
	if after := len(ev.Audit.Events); after != before {
		t.Errorf("refused requests wrote %d audit events", after-before)
	}
}
